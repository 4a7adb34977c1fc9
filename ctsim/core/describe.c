// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * describe.c — an entry's internals as text (describe.h). The names are the
 * kernel's: IPS_* bits without the prefix (include/uapi/linux/netfilter/
 * nf_conntrack_common.h), IP_CT_TCP_FLAG_* without the prefix, and the
 * fields of struct ip_ct_tcp_state (td_end, td_maxend, td_maxwin, td_maxack,
 * td_scale) that tcp_in_window() works on.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctsim/core/describe.h"
#include "ctsim/core/ct_timeout.h"
#include "ctsim/core/helper.h"
#include "ctsim/core/packet.h"
#include "ctsim/core/track_tcp.h"

/* Bit i of ct->status: enum ip_conntrack_status's order. */
static const char *const status_names[] = {
	"EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT", "DST_NAT",
	"SEQ_ADJUST", "SRC_NAT_DONE", "DST_NAT_DONE", "DYING", "FIXED_TIMEOUT",
	"TEMPLATE", "UNTRACKED", "HELPER", "OFFLOAD", "HW_OFFLOAD",
};

/* Bit i of conn_tcp.flags[dir]: IP_CT_TCP_FLAG_* (nf_conntrack_tcp.h). */
static const char *const tcp_flag_names[] = {
	"WINDOW_SCALE", "SACK_PERM", "CLOSE_INIT", "BE_LIBERAL", "DATA_UNACKNOWLEDGED",
	"MAXACK_SET", "EXP_CHALLENGE_ACK", "SIMULTANEOUS_OPEN",
};

/* An appending writer that never overruns and always terminates. */
struct out {
	char *buf;
	size_t n, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (o->len + 1 >= o->n)
		return;
	va_start(ap, fmt);
	k = vsnprintf(o->buf + o->len, o->n - o->len, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	o->len += (size_t)k;
	if (o->len >= o->n)
		o->len = o->n - 1;
}

static const char *names(uint32_t bits, const char *const *tab, unsigned ntab, char *buf, size_t n)
{
	struct out o = { buf, n, 0 };

	buf[0] = '\0';
	for (unsigned i = 0; i < 32; i++) {
		if (!(bits & (1u << i)))
			continue;
		if (i < ntab)
			put(&o, "%s%s", o.len ? "," : "", tab[i]);
		else
			put(&o, "%sbit%u", o.len ? "," : "", i);
	}
	if (!o.len)
		put(&o, "none");
	return buf;
}

const char *ct_conn_status_names(uint32_t status, char *buf, size_t n)
{
	return names(status, status_names, sizeof(status_names) / sizeof(status_names[0]), buf, n);
}

const char *ct_conn_state_name(const struct conn *c)
{
	uint8_t l4 = c->th[CT_DIR_ORIG].tuple.l4num;

	if (l4 == IPPROTO_TCP)
		return ct_tcp_state_name(c->proto.tcp.state);
	if (l4 == IPPROTO_SCTP)
		return ct_sctp_state_name(c->proto.sctp.state);
	return "";
}

static void put_tuple(struct out *o, const char *label, const struct ct_tuple *t)
{
	char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?";

	inet_ntop(t->l3num, t->src.b, src, sizeof(src));
	inet_ntop(t->l3num, t->dst.b, dst, sizeof(dst));
	put(o, "  %s: proto %u src=%s dst=%s", label, t->l4num, src, dst);
	if (ct_tuple_has_ports(t->l4num))
		put(o, " sport=%u dport=%u", t->sport, t->dport);
	else if (t->l4num == IPPROTO_ICMP || t->l4num == IPPROTO_ICMPV6)
		put(o, " type=%u code=%u id=%u", t->icmp_type, t->icmp_code, t->sport);
	put(o, "\n");
}

/* struct ip_ct_tcp's two ip_ct_tcp_state and the last packet's record. */
static void put_tcp(struct out *o, const struct conn_tcp *tcp)
{
	static const char *const dirs[] = { "original", "reply" };
	char fl[160];

	for (unsigned d = 0; d < 2; d++) {
		const struct conn_tcp_win *w = &tcp->seen[d];

		put(o, "  window %-8s td_end=%u td_maxend=%u td_maxwin=%u td_maxack=%u td_scale=%u "
		    "flags=%s\n", dirs[d], w->td_end, w->td_maxend, w->td_maxwin, w->td_maxack,
		    tcp->wscale[d], names(tcp->flags[d], tcp_flag_names, 8, fl, sizeof(fl)));
	}
	/* the kernel's names: last_seq..last_win are only kept for an
	 * ignored SYN (tcp_packet()'s IGNORE bookkeeping) */
	put(o, "  last_dir=%s last_index=%s last_seq=%u last_ack=%u last_end=%u last_win=%u "
	    "retrans=%u\n",
	    dirs[tcp->last_dir & 1], tcp->last_index < CT_TCP_IDX_MAX ?
	    ct_tcp_index_name((enum ct_tcp_index)tcp->last_index) : "?",
	    tcp->last_seq, tcp->last_ack, tcp->last_end, tcp->last_win, tcp->retrans);
}

size_t ct_conn_describe(const struct ct_table *t, const struct conn *c, char *buf, size_t n)
{
	struct out o = { buf, n, 0 };
	const char *state = ct_conn_state_name(c);
	char st[200];

	if (!n)
		return 0;
	buf[0] = '\0';
	put(&o, "  entry id %u%s%s\n", c->id, *state ? ", state " : "", state);
	put_tuple(&o, "original", &c->th[CT_DIR_ORIG].tuple);
	put_tuple(&o, "reply   ", &c->th[CT_DIR_REPLY].tuple);
	put(&o, "  status: %s\n", ct_conn_status_names(c->status, st, sizeof(st)));
	put(&o, "  timeout: %u s left; use %u; mark %u; zone %u\n", conn_timeout_left(t, c),
	    c->use, c->mark, c->zone.id);
	switch (c->th[CT_DIR_ORIG].tuple.l4num) {
	case IPPROTO_TCP:
		put_tcp(&o, &c->proto.tcp);
		break;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		/* nf_conntrack_udp_packet(): a stream once a reply was seen and
		 * more than 2 s passed since the entry was made. */
		if ((int64_t)(t->now - c->proto.udp.stream_ts) > 0)
			put(&o, "  udp: 2 s since creation passed (a reply makes it a stream)\n");
		else
			put(&o, "  udp: %llu ms until a reply can make it a stream\n",
			    (unsigned long long)((c->proto.udp.stream_ts - t->now) / 1000000u));
		break;
	default:
		break;
	}
	if (c->ext) {
		const struct conn_ext *e = c->ext;

		if (e->helper)
			put(&o, "  ext helper: %s\n", e->helper->name);
		if (e->has & CONN_EXT_MASTER)
			put_tuple(&o, "ext master", &e->master);
		if (e->has & CONN_EXT_ACCT)
			put(&o, "  ext acct: original %llu packets %llu bytes, reply %llu packets %llu "
			    "bytes\n", (unsigned long long)e->counters[0].packets,
			    (unsigned long long)e->counters[0].bytes,
			    (unsigned long long)e->counters[1].packets,
			    (unsigned long long)e->counters[1].bytes);
		if (e->has & CONN_EXT_LABELS) {
			put(&o, "  ext labels: 0x");
			for (unsigned i = 0; i < 16; i++)
				put(&o, "%02x", e->labels[15 - i]);
			put(&o, "\n");
		}
		if (e->has & CONN_EXT_SEQADJ)
			put(&o, "  ext seqadj\n");
		if (e->has & CONN_EXT_TSTAMP)
			put(&o, "  ext tstamp\n");
		if (e->has & CONN_EXT_TIMEOUT) {
			uint8_t l4 = c->th[CT_DIR_ORIG].tuple.l4num;

			put(&o, "  ext timeout policy:");
			for (unsigned i = 0; i < CT_TO_MAX; i++)
				if (ct_timeout_state_name(l4, i))
					put(&o, " %s=%u", ct_timeout_state_name(l4, i), e->timeouts[i]);
			put(&o, "\n");
		}
	}
	return o.len;
}
