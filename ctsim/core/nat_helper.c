// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nat_helper.c — payload mangling and expectations for NAT helpers
 * (net/netfilter/nf_nat_helper.c). See nat_helper.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "ctsim/core/csum.h"
#include "ctsim/core/nat.h"
#include "ctsim/core/nat_helper.h"
#include "ctsim/core/packet.h"
#include "ctsim/core/seqadj.h"

#define IP_MAXPACKET_LEN 65535

/* nf_nat_csum_recalc() without offload: the TCP/UDP checksum (at @at in
 * the L4 header) from scratch over the pseudo-header and the segment; a
 * UDP sum of 0 is sent as 0xffff (CSUM_MANGLED_0). */
static void l4_csum_recalc(struct ct_pkt *p, uint8_t proto, size_t at)
{
	const size_t alen = p->family == AF_INET ? 4 : 16;
	uint8_t *th = p->data + p->l4off;
	size_t seglen = p->len - p->l4off;
	uint32_t sum = 0;
	uint16_t c;

	th[at] = th[at + 1] = 0;
	sum = ct_csum_add(sum, p->src.b, alen);
	sum = ct_csum_add(sum, p->dst.b, alen);
	sum += proto + (uint32_t)seglen;
	sum = ct_csum_add(sum, th, seglen);
	c = ct_csum_fold(sum);
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	th[at] = (uint8_t)(c >> 8);
	th[at + 1] = (uint8_t)c;
}

/* mangle_contents(): the IP length follows the new payload; IPv4's header
 * checksum is recomputed (ip_send_check()). */
static void ip_len_update(struct ct_pkt *p)
{
	uint8_t *ip = p->data;

	if (p->family == AF_INET) {
		size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
		uint16_t c;

		ip[2] = (uint8_t)(p->len >> 8);
		ip[3] = (uint8_t)p->len;
		ip[10] = ip[11] = 0;
		c = ct_csum_fold(ct_csum_add(0, ip, ihl));
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
	} else {
		size_t pl = p->len - 40;

		ip[4] = (uint8_t)(pl >> 8);
		ip[5] = (uint8_t)pl;
	}
}

/* mangle_contents(): @rep replaces @match_len bytes at @match_off of the
 * payload starting at @dataoff; the IP length follows. */
static bool mangle_contents(struct ct_pkt *p, size_t dataoff, size_t match_off,
			    size_t match_len, const char *rep, size_t rep_len)
{
	size_t start = dataoff + match_off, end = start + match_len, newlen;

	if (p->l4_truncated || end > p->len || end < start)
		return false;
	newlen = p->len - match_len + rep_len;
	if (newlen > IP_MAXPACKET_LEN)
		return false;
	if (rep_len > match_len && !p->grown) {
		/* enlarge_skb(): the caller's buffer may be exactly the packet */
		uint8_t *b = malloc(IP_MAXPACKET_LEN);

		if (!b)
			return false;
		memcpy(b, p->data, p->len);
		p->data = p->grown = b;
	}
	memmove(p->data + start + rep_len, p->data + end, p->len - end);
	memcpy(p->data + start, rep, rep_len);
	p->len = newlen;
	p->l4len = (uint16_t)(newlen - p->l4off);
	ip_len_update(p);
	return true;
}

bool ct_nat_mangle_tcp_packet(struct ct_pkt *p, struct conn *ct, enum ct_dir dir,
			      size_t match_off, size_t match_len, const char *rep,
			      size_t rep_len)
{
	if (p->l4proto != IPPROTO_TCP ||
	    !mangle_contents(p, (size_t)p->l4off + p->tcp_doff, match_off, match_len, rep, rep_len))
		return false;
	l4_csum_recalc(p, IPPROTO_TCP, 16);
	if (rep_len != match_len)
		ct_seqadj_set(ct, dir, p->tcp_seq, (int32_t)rep_len - (int32_t)match_len);
	return true;
}

/* get_random_u32_below(): deterministic per table, like the NAT core's. */
static uint32_t random_below(struct ct_table *t, uint32_t n)
{
	static uint64_t s;

	if (!s)
		s = (uint64_t)t->seed * 0x9e3779b97f4a7c15ull | 1;
	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return (uint32_t)(((s * 0x2545f4914f6cdd1dull) >> 32) % n);
}

bool ct_nat_mangle_udp_packet(struct ct_pkt *p, size_t match_off, size_t match_len,
			      const char *rep, size_t rep_len)
{
	uint8_t *uh;

	if (p->l4proto != IPPROTO_UDP ||
	    !mangle_contents(p, (size_t)p->l4off + 8, match_off, match_len, rep, rep_len))
		return false;
	uh = p->data + p->l4off;
	uh[4] = (uint8_t)(p->l4len >> 8);
	uh[5] = (uint8_t)p->l4len;
	if (uh[6] || uh[7])	/* a zero checksum stays zero */
		l4_csum_recalc(p, IPPROTO_UDP, 6);
	return true;
}

uint16_t ct_nat_exp_find_port(struct ct_table *t, struct ct_expect *exp, uint16_t port)
{
	const int max_attempts = 128;
	const uint16_t min = port;
	int range = 65535 - port, left = range < max_attempts ? range : max_attempts;

	for (;;) {
		int res;

		exp->tuple.dport = port;
		res = ct_expect_related(t, exp, 0, false);
		if (res == 0)
			return port;
		if (res != -EBUSY || --left < 0 || range == 0)
			return 0;
		port = (uint16_t)(min + random_below(t, (uint32_t)range));
	}
}

void ct_nat_follow_master(struct ct_table *t, struct conn *ct, const struct ct_expect *exp)
{
	const struct conn *m = ct->ext ? ct->ext->master_ct : NULL;
	const struct ct_tuple *mt;
	struct ct_nat_range range;

	if (!m)
		m = exp->master;
	mt = &m->th[!exp->dir].tuple;
	/* change the source to where the master sends to */
	memset(&range, 0, sizeof(range));
	range.flags = CT_NAT_RANGE_MAP_IPS;
	range.min_addr = range.max_addr = mt->dst;
	ct_nat_setup(t, ct, &range, CT_NAT_MANIP_SRC);
	/* the destination: where the master comes from, at the expected port */
	range.flags = CT_NAT_RANGE_MAP_IPS | CT_NAT_RANGE_PROTO_SPECIFIED;
	range.min_proto = range.max_proto = exp->saved_proto;
	range.min_addr = range.max_addr = mt->src;
	ct_nat_setup(t, ct, &range, CT_NAT_MANIP_DST);
}
