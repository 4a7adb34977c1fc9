/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace_fmt.c — the one formatter of a packet's trace (router.h,
 * router_trace_format()): the ruleset's steps in the words of
 * `nft monitor trace` (nft's netlink_events_trace_cb(): trace_print_hdr(),
 * trace_print_packet(), trace_print_rule(), trace_print_verdict()) and
 * conntrack's own steps (core/trace.h), as text or JSON lines.
 *
 * The packet line: the kernel dumps the network header and at most 20
 * bytes of the transport header (NFT_TRACETYPE_TRANSPORT_HSIZE) and nft
 * decodes them into the fields below, the undecoded rest as @th,OFF,LEN.
 * ctsim's interfaces are TUN devices (no link layer): no `ether` fields,
 * as the kernel gives for a tun device.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "ctsim/hooks/router.h"

#define TRACE_TH_MAX	20	/* NFT_TRACETYPE_TRANSPORT_HSIZE */

struct out {
	char *buf;
	size_t n, off;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (o->off + 1 >= o->n)
		return;
	va_start(ap, fmt);
	w = vsnprintf(o->buf + o->off, o->n - o->off, fmt, ap);
	va_end(ap);
	if (w > 0)
		o->off = o->off + (size_t)w < o->n ? o->off + (size_t)w : o->n - 1;
}

/* nft's dscp_type symbols */
static void put_dscp(struct out *o, const char *fam, unsigned dscp)
{
	static const struct { unsigned v; const char *name; } names[] = {
		{ 0, "cs0" }, { 8, "cs1" }, { 16, "cs2" }, { 24, "cs3" }, { 32, "cs4" },
		{ 40, "cs5" }, { 48, "cs6" }, { 56, "cs7" }, { 1, "lephb" }, { 10, "af11" },
		{ 12, "af12" }, { 14, "af13" }, { 18, "af21" }, { 20, "af22" }, { 22, "af23" },
		{ 26, "af31" }, { 28, "af32" }, { 30, "af33" }, { 34, "af41" }, { 36, "af42" },
		{ 38, "af43" }, { 44, "va" }, { 46, "ef" },
	};
	static const char *const ecn[] = { "not-ect", "ect1", "ect0", "ce" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].v == dscp >> 2) {
			put(o, " %s dscp %s", fam, names[i].name);
			goto ecn;
		}
	put(o, " %s dscp 0x%02x", fam, dscp >> 2);
ecn:
	put(o, " %s ecn %s", fam, ecn[dscp & 3]);
}

static const char *proto_name(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "ipv6-icmp";
	case IPPROTO_SCTP: return "sctp";
	case IPPROTO_GRE: return "gre";
	case IPPROTO_UDPLITE: return "udplite";
	default: return NULL;
	}
}

/* nft's tcp_flag_type: one flag by name, several as a number */
static void put_tcp_flags(struct out *o, uint8_t f)
{
	static const char *const names[] = { "fin", "syn", "rst", "psh", "ack", "urg", "ecn", "cwr" };

	for (int i = 0; i < 8; i++)
		if (f == (1u << i)) {
			put(o, " tcp flags == %s", names[i]);
			return;
		}
	put(o, " tcp flags == 0x%x", f);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* nft's icmp_type / icmpv6_type / icmp_code / icmpv6_code symbols */
static const char *sym(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : NULL;
}

/* The ICMP header's fields as nft decodes them: type, code, then the
 * type's own (ICMP echo: id and sequence; ICMPv6, whatever the type: its
 * 32-bit field, which nft 1.0.6 names parameter-problem — compared with
 * the kernel's trace in tests/test_trace.py).
 * Returns how many bytes were decoded. */
static size_t put_icmp(struct out *o, bool v6, const uint8_t *th, size_t thlen)
{
	static const char *const t4[] = {
		[0] = "echo-reply", [3] = "destination-unreachable", [4] = "source-quench",
		[5] = "redirect", [8] = "echo-request", [9] = "router-advertisement",
		[10] = "router-solicitation", [11] = "time-exceeded", [12] = "parameter-problem",
		[13] = "timestamp-request", [14] = "timestamp-reply", [15] = "info-request",
		[16] = "info-reply", [17] = "address-mask-request", [18] = "address-mask-reply",
	};
	static const char *const c4[] = {
		[0] = "net-unreachable", [1] = "host-unreachable", [2] = "prot-unreachable",
		[3] = "port-unreachable", [4] = "frag-needed", [9] = "net-prohibited",
		[10] = "host-prohibited", [13] = "admin-prohibited",
	};
	static const char *const t6[] = {
		[1] = "destination-unreachable", [2] = "packet-too-big", [3] = "time-exceeded",
		[4] = "parameter-problem", [128] = "echo-request", [129] = "echo-reply",
		[130] = "mld-listener-query", [131] = "mld-listener-report",
		[132] = "mld-listener-done", [133] = "nd-router-solicit", [134] = "nd-router-advert",
		[135] = "nd-neighbor-solicit", [136] = "nd-neighbor-advert", [137] = "nd-redirect",
		[138] = "router-renumbering", [141] = "ind-neighbor-solicit",
		[142] = "ind-neighbor-advert", [143] = "mld2-listener-report",
	};
	static const char *const c6[] = {
		[0] = "no-route", [1] = "admin-prohibited", [3] = "addr-unreachable",
		[4] = "port-unreachable", [5] = "policy-fail", [6] = "reject-route",
	};
	const char *fam = v6 ? "icmpv6" : "icmp";
	const char *tn = v6 ? sym(t6, sizeof(t6) / sizeof(t6[0]), th[0])
			    : sym(t4, sizeof(t4) / sizeof(t4[0]), th[0]);
	const char *cn = v6 ? sym(c6, sizeof(c6) / sizeof(c6[0]), th[1])
			    : sym(c4, sizeof(c4) / sizeof(c4[0]), th[1]);
	bool echo = v6 ? (th[0] == 128 || th[0] == 129) : (th[0] == 0 || th[0] == 8);

	if (tn)
		put(o, " %s type %s", fam, tn);
	else
		put(o, " %s type %u", fam, th[0]);
	if (cn)
		put(o, " %s code %s", fam, cn);
	else
		put(o, " %s code %u", fam, th[1]);
	if (thlen < 8)
		return 4;
	if (v6)	/* nft 1.0.6 names ICMPv6's second word so for every type, echo too */
		put(o, " icmpv6 parameter-problem %u",
		    (unsigned)th[4] << 24 | (unsigned)th[5] << 16 | (unsigned)th[6] << 8 | th[7]);
	else if (echo)
		put(o, " icmp id %u icmp sequence %u", be16(th + 4), be16(th + 6));
	else
		return 4;
	return 8;
}

/* "packet: iif ... ip ... tcp ..." (trace_print_packet()) */
static void put_packet(struct out *o, const struct ct_skb *skb)
{
	const struct ct_pkt *p = &skb->pkt;
	const uint8_t *d = p->data, *th = p->data + p->l4off;
	char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?";
	const char *pn = proto_name(p->l4proto);
	size_t thlen = p->l4len < TRACE_TH_MAX ? p->l4len : TRACE_TH_MAX, dec = 0;

	put(o, "packet:");
	if (p->iifname[0])
		put(o, " iif \"%s\"", p->iifname);
	if (p->oifname[0])
		put(o, " oif \"%s\"", p->oifname);
	if (p->mark)
		put(o, " meta mark 0x%08x", p->mark);
	inet_ntop(p->family, p->src.b, src, sizeof(src));
	inet_ntop(p->family, p->dst.b, dst, sizeof(dst));
	if (p->family == AF_INET) {
		put(o, " ip saddr %s ip daddr %s", src, dst);
		put_dscp(o, "ip", d[1]);
		put(o, " ip ttl %u ip id %u", d[8], be16(d + 4));
		if (pn)
			put(o, " ip protocol %s", pn);
		else
			put(o, " ip protocol %u", p->l4proto);
		put(o, " ip length %u", be16(d + 2));
	} else {
		put(o, " ip6 saddr %s ip6 daddr %s", src, dst);
		put_dscp(o, "ip6", (unsigned)((d[0] & 0x0f) << 4 | d[1] >> 4));
		put(o, " ip6 hoplimit %u ip6 flowlabel %u", d[7],
		    (unsigned)((d[1] & 0x0f) << 16 | d[2] << 8 | d[3]));
		if (pn)
			put(o, " ip6 nexthdr %s", pn);
		else
			put(o, " ip6 nexthdr %u", p->l4proto);
		put(o, " ip6 length %u", be16(d + 4));
	}
	if (p->is_fragment || p->l4_truncated)
		return;
	switch (p->l4proto) {
	case IPPROTO_TCP:
		if (thlen < 20)
			return;
		put(o, " tcp sport %u tcp dport %u", p->sport, p->dport);
		put_tcp_flags(o, th[13]);
		put(o, " tcp window %u", be16(th + 14));
		dec = 20;
		break;
	case IPPROTO_UDP:
		if (thlen < 8)
			return;
		put(o, " udp sport %u udp dport %u udp length %u", p->sport, p->dport, be16(th + 4));
		dec = 8;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (thlen < 4)
			return;
		dec = put_icmp(o, p->l4proto == IPPROTO_ICMPV6, th, thlen);
		break;
	default:
		return;
	}
	if (thlen > dec) {
		/* the rest of the dumped header as one number, leading zeros dropped */
		size_t i = dec;
		bool any = false;

		put(o, " @th,%zu,%zu 0x", dec * 8, (thlen - dec) * 8);
		for (; i < thlen; i++) {
			if (!any && th[i] == 0 && i + 1 < thlen)
				continue;
			put(o, any ? "%02x" : "%x", th[i]);
			any = true;
		}
	}
}

static void put_hdr(struct out *o, const struct router_trace_step *st)
{
	const struct rs_chain *ch = st->rule->chain;

	put(o, "trace id %08x %s %s %s ", st->id, rs_family_name(ch->table->family),
	    ch->table->name, ch->name);
}

static const char *hook_of(const struct router_trace_step *st)
{
	return st->row ? rs_hook_name(st->row->hook) : "-";
}

static size_t format_text(struct out *o, const struct router_trace_step *st)
{
	const struct rs_trace_ev *ev = st->rule;

	if (st->hook) {
		put(o, "trace id %08x hook %s %s %d", st->id, hook_of(st), st->row->name,
		    st->row->prio);
	} else if (st->end) {
		put(o, "trace id %08x ctsim %s", st->id,
		    st->last->verdict && st->last->verdict[0] ? st->last->verdict : "dropped");
		if (st->last->why)
			put(o, ": %s", st->last->why);
	} else if (st->text && st->kind == CT_TR_LOG) {
		put(o, "trace id %08x log %s: %s", st->id, hook_of(st), st->text);
	} else if (st->text) {
		put(o, "trace id %08x conntrack %s %s: %s", st->id, hook_of(st),
		    ct_trace_kind_name(st->kind), st->text);
	} else if (ev) {
		if (ev->first) {
			put_hdr(o, st);
			put_packet(o, st->skb);
			put(o, "\n");
		}
		put_hdr(o, st);
		switch (ev->kind) {
		case RS_TRACE_RULE:
			put(o, "rule %s (verdict %s)", ev->rule->text, ev->verdict);
			break;
		case RS_TRACE_RETURN:
			put(o, "verdict continue");
			break;
		case RS_TRACE_POLICY:
			put(o, "policy %s", ev->verdict);
			break;
		}
	}
	return o->off;
}

static json_t *packet_json(const struct router_trace_step *st)
{
	char buf[1024];
	struct out o = { buf, sizeof(buf), 0 };

	buf[0] = 0;
	put_packet(&o, st->skb);
	return json_string(buf + strlen("packet: "));
}

static size_t format_json(struct out *o, const struct router_trace_step *st)
{
	const struct rs_trace_ev *ev = st->rule;
	json_t *obj = json_object();
	char *s;

	if (!obj)
		return 0;
	json_object_set_new(obj, "id", json_integer(st->id));
	if (st->hook) {
		json_object_set_new(obj, "type", json_string("hook"));
		json_object_set_new(obj, "hook", json_string(hook_of(st)));
		json_object_set_new(obj, "row", json_string(st->row->name));
		json_object_set_new(obj, "priority", json_integer(st->row->prio));
	} else if (st->end) {
		json_object_set_new(obj, "type", json_string("end"));
		json_object_set_new(obj, "verdict", json_string(st->last->verdict && st->last->verdict[0]
								? st->last->verdict : "dropped"));
		if (st->last->why)
			json_object_set_new(obj, "why", json_string(st->last->why));
	} else if (st->text) {
		json_object_set_new(obj, "type", json_string(st->kind == CT_TR_LOG ? "log" : "conntrack"));
		json_object_set_new(obj, "hook", json_string(hook_of(st)));
		json_object_set_new(obj, "kind", json_string(ct_trace_kind_name(st->kind)));
		json_object_set_new(obj, "text", json_string(st->text));
	} else if (ev) {
		static const char *const kinds[] = { "rule", "return", "policy" };

		json_object_set_new(obj, "family", json_string(rs_family_name(ev->table->family)));
		json_object_set_new(obj, "table", json_string(ev->table->name));
		json_object_set_new(obj, "chain", json_string(ev->chain->name));
		if (ev->first) {
			json_t *pk = json_deep_copy(obj);

			json_object_set_new(pk, "type", json_string("packet"));
			json_object_set_new(pk, "packet", packet_json(st));
			if ((s = json_dumps(pk, JSON_COMPACT))) {
				put(o, "%s\n", s);
				free(s);
			}
			json_decref(pk);
		}
		json_object_set_new(obj, "type", json_string(kinds[ev->kind]));
		if (ev->kind == RS_TRACE_RULE) {
			json_object_set_new(obj, "rule", json_string(ev->rule->text));
			json_object_set_new(obj, "handle", json_integer(ev->rule->handle));
		}
		json_object_set_new(obj, "verdict", json_string(ev->kind == RS_TRACE_RETURN ? "continue"
									       : ev->verdict));
	}
	if ((s = json_dumps(obj, JSON_COMPACT))) {
		put(o, "%s", s);
		free(s);
	}
	json_decref(obj);
	return o->off;
}

size_t router_trace_format(char *buf, size_t n, const struct router_trace_step *st, bool json)
{
	struct out o = { buf, n, 0 };

	if (!n)
		return 0;
	buf[0] = 0;
	return json ? format_json(&o, st) : format_text(&o, st);
}

static void trace_file(FILE *f, const struct router_trace_step *st, bool json)
{
	char buf[4096];

	router_trace_format(buf, sizeof(buf), st, json);
	fprintf(f, "%s\n", buf);
	if (st->end)
		fflush(f);
}

void router_trace_file(void *ctx, const struct router_trace_step *st)
{
	trace_file(ctx, st, false);
}

void router_trace_file_json(void *ctx, const struct router_trace_step *st)
{
	trace_file(ctx, st, true);
}
