/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * packet_notation.c — the packet notation of scenario files compiled into
 * packet bytes (packet_notation.h has the contract and the grammar's
 * outline; docs/scenarios.md the whole of it).
 *
 * A statement is read word by word through the language's helpers
 * (sc_is(), sc_tok_num(), sc_need_host() ... in scenario_words.c), which
 * also locate the errors; the layer-4 header and payload are laid out here
 * and ct_pkt_build() adds the IP header and the checksums. Flows are
 * followed across statements (struct pn_state): a TCP segment without
 * seq/ack gets the next values its sender's stack would use, an SCTP
 * packet without a tag the one its peer announced in INIT/INIT-ACK.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/ctnl.h"
#include "ctsim/core/packet.h"
#include "ctsim/core/csum.h"
#include "ctsim/scenario/packet_notation.h"
#include "ctsim/scenario/scenario_words.h"

/* ---------------------------------------------------------------------- */
/* Packets                                                                 */

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static struct pn_flowdir *flow(struct sc_line *x, uint8_t family, uint8_t proto, const union ct_addr *s,
			    const union ct_addr *d, uint16_t sp, uint16_t dp, bool create)
{
	for (unsigned i = 0; i < x->pn->nflows; i++) {
		struct pn_flowdir *f = &x->pn->flows[i];

		if (f->family == family && f->proto == proto && f->sport == sp && f->dport == dp &&
		    !memcmp(&f->src, s, sizeof(*s)) && !memcmp(&f->dst, d, sizeof(*d)))
			return f;
	}
	if (!create || x->pn->nflows == sizeof(x->pn->flows) / sizeof(x->pn->flows[0]))
		return NULL;
	x->pn->flows[x->pn->nflows] = (struct pn_flowdir){ .family = family, .proto = proto, .src = *s,
						.dst = *d, .sport = sp, .dport = dp };
	return &x->pn->flows[x->pn->nflows++];
}

static uint32_t *sctp_tag(struct sc_line *x, const union ct_addr *a, uint16_t port, bool create)
{
	for (unsigned i = 0; i < x->pn->ntags; i++)
		if (x->pn->tags[i].port == port && !memcmp(&x->pn->tags[i].addr, a, sizeof(*a)))
			return &x->pn->tags[i].tag;
	if (!create || x->pn->ntags == sizeof(x->pn->tags) / sizeof(x->pn->tags[0]))
		return NULL;
	x->pn->tags[x->pn->ntags] = (struct pn_sctp_tag){ .addr = *a, .port = port };
	return &x->pn->tags[x->pn->ntags++].tag;
}

/* What a packet specification parses into, before the IP header. */
struct pspec {
	uint8_t family;
	const struct sc_host *src, *dst;
	union ct_addr saddr, daddr;
	uint8_t proto;
	uint8_t l4[PN_L4_MAX];
	size_t l4len;
	bool raw;		/* l4[] is the whole L3 packet */
};

static bool parse_l4(struct sc_line *x, unsigned *ip, struct pspec *ps, bool quoting);

/* "SRC > DST [ip6] PROTO ..." from token *ip; @quoting: the inner packet of
 * an ICMP error (its flow state is read, not advanced). */
static bool parse_pspec(struct sc_line *x, unsigned *ip, struct pspec *ps, bool quoting,
			const struct sc_host *dflt_src, const struct sc_host *dflt_dst, uint8_t dflt_family)
{
	unsigned i = *ip;

	memset(ps, 0, offsetof(struct pspec, l4));
	ps->l4len = 0;
	if (sc_find_host(x, i) && sc_is(x, i + 1, ">")) {
		ps->src = sc_find_host(x, i);
		if (!(ps->dst = sc_need_host(x, i + 2)))
			return false;
		i += 3;
	} else if (dflt_src) {
		ps->src = dflt_src;
		ps->dst = dflt_dst;
	} else {
		sc_need_host(x, i);
		return false;
	}
	/* IPv4 unless asked, or the hosts have IPv6 addresses only */
	ps->family = dflt_family ? dflt_family : AF_INET;
	if (sc_is(x, i, "ip6")) {
		ps->family = AF_INET6;
		i++;
	} else if (sc_is(x, i, "ip") || sc_is(x, i, "ip4")) {
		ps->family = AF_INET;
		i++;
	} else if (sc_is(x, i, "icmpv6") || (!dflt_family && (!ps->src->has4 || !ps->dst->has4))) {
		ps->family = AF_INET6;
	}
	if (!sc_host_addr(x, *ip, ps->src, ps->family, &ps->saddr) ||
	    !sc_host_addr(x, *ip, ps->dst, ps->family, &ps->daddr))
		return false;
	*ip = i;
	return parse_l4(x, ip, ps, quoting);
}

static const struct { const char *name; uint8_t type, code; bool error; bool v6; } icmp_names[] = {
	{ "echo-request", 8, 0, false, false },	{ "echo-reply", 0, 0, false, false },
	{ "net-unreachable", 3, 0, true, false }, { "host-unreachable", 3, 1, true, false },
	{ "prot-unreachable", 3, 2, true, false }, { "port-unreachable", 3, 3, true, false },
	{ "frag-needed", 3, 4, true, false },	{ "admin-prohibited", 3, 13, true, false },
	{ "source-quench", 4, 0, true, false },	{ "redirect", 5, 1, true, false },
	{ "ttl-exceeded", 11, 0, true, false },	{ "time-exceeded", 11, 0, true, false },
	{ "parameter-problem", 12, 0, true, false },
	{ "timestamp-request", 13, 0, false, false }, { "timestamp-reply", 14, 0, false, false },
	{ "info-request", 15, 0, false, false }, { "info-reply", 16, 0, false, false },
	{ "echo-request", 128, 0, false, true }, { "echo-reply", 129, 0, false, true },
	{ "no-route", 1, 0, true, true },	{ "admin-prohibited", 1, 1, true, true },
	{ "addr-unreachable", 1, 3, true, true }, { "port-unreachable", 1, 4, true, true },
	{ "packet-too-big", 2, 0, true, true },	{ "time-exceeded", 3, 0, true, true },
	{ "ttl-exceeded", 3, 0, true, true },	{ "parameter-problem", 4, 0, true, true },
	{ "router-solicitation", 133, 0, false, true }, { "router-advertisement", 134, 0, false, true },
	{ "neighbour-solicitation", 135, 0, false, true }, { "neighbor-solicitation", 135, 0, false, true },
	{ "neighbour-advertisement", 136, 0, false, true }, { "neighbor-advertisement", 136, 0, false, true },
	{ "nd-redirect", 137, 0, true, true },
};

static bool is_icmp_error(uint8_t type, bool v6)
{
	if (v6)
		return type < 128 || type == 137;
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* icmp|icmpv6 NAME|type N [code N] [id N] [seq N] [len N] [mtu N] [gateway ADDR]
 *      [quoting [SRC > DST] PROTO ...] */
static bool parse_icmp(struct sc_line *x, unsigned *ip, struct pspec *ps)
{
	bool v6 = ps->family == AF_INET6;
	unsigned i = *ip;
	uint64_t type = 256, code = 0, id = 0, seq = 0, len = 0, mtu = 0;
	bool have_code = false;
	union ct_addr gw = { 0 };

	if (sc_is(x, i - 1, "icmp") && v6) {
		sc_tok_error(x, i - 1, "an IPv6 packet carries icmpv6, not icmp");
		return false;
	}
	if (sc_is(x, i - 1, "icmpv6") && !v6) {
		sc_tok_error(x, i - 1, "icmpv6 needs IPv6 addresses");
		return false;
	}
	ps->proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	if (sc_is(x, i, "type")) {
		if (!sc_tok_num(x, i + 1, 255, &type, "type"))
			return false;
		i += 2;
	} else {
		for (size_t n = 0; n < sizeof(icmp_names) / sizeof(icmp_names[0]); n++)
			if (icmp_names[n].v6 == v6 && sc_is(x, i, icmp_names[n].name)) {
				type = icmp_names[n].type;
				code = icmp_names[n].code;
				break;
			}
		if (type == 256) {
			char buf[64];

			sc_tok_str(x, i, buf, sizeof(buf));
			sc_tok_error(x, i, "unknown %s message \"%s\" (try echo-request, echo-reply, "
				  "port-unreachable, %s, or type N code N)", v6 ? "ICMPv6" : "ICMP",
				  buf, v6 ? "packet-too-big" : "frag-needed");
			return false;
		}
		i++;
	}
	while (i < x->nt && !sc_is(x, i, "quoting")) {
		uint64_t *dst = NULL, max = 0xffff;

		if (sc_is(x, i, "code")) { dst = &code; max = 255; have_code = true; }
		else if (sc_is(x, i, "id")) dst = &id;
		else if (sc_is(x, i, "seq")) dst = &seq;
		else if (sc_is(x, i, "len")) { dst = &len; max = 1400; }
		else if (sc_is(x, i, "mtu")) { dst = &mtu; max = v6 ? 0xffffffffu : 0xffff; }
		else if (sc_is(x, i, "gateway") && !v6) {
			char buf[64];

			sc_tok_str(x, i + 1, buf, sizeof(buf));
			if (inet_pton(AF_INET, buf, &gw.ip) != 1) {
				sc_tok_error(x, i + 1, "gateway: an IPv4 address is needed");
				return false;
			}
			i += 2;
			continue;
		} else {
			char buf[64];

			sc_tok_str(x, i, buf, sizeof(buf));
			sc_tok_error(x, i, "unknown ICMP option \"%s\" (code, id, seq, len, mtu, quoting)", buf);
			return false;
		}
		if (!sc_tok_num(x, i + 1, max, dst, x->t[i].s[0] == 'c' ? "code" : "value"))
			return false;
		i += 2;
	}
	(void)have_code;
	ps->l4[0] = (uint8_t)type;
	ps->l4[1] = (uint8_t)code;
	if (is_icmp_error((uint8_t)type, v6)) {
		struct pspec *in;

		if (!sc_is(x, i, "quoting")) {
			sc_tok_error(x, i, "an ICMP error quotes a packet: add \"quoting PROTO ...\" "
				  "(e.g. quoting udp 5000 > 53)");
			return false;
		}
		i++;
		if (v6 ? type == 2 : type == 3 && code == 4)
			put32(ps->l4 + 4, v6 ? (uint32_t)mtu : (uint32_t)mtu & 0xffff);
		if (!v6 && type == 5)
			memcpy(ps->l4 + 4, &gw.ip, 4);
		in = calloc(1, sizeof(*in));
		if (!in)
			abort();
		/* By default the quoted packet went the other way: the sender
		 * of the error is the one it could not reach. */
		if (!parse_pspec(x, &i, in, true, ps->dst, ps->src, ps->family)) {
			free(in);
			return false;
		}
		if (in->family != ps->family) {
			sc_tok_error(x, *ip, "the quoted packet must have the same IP version");
			free(in);
			return false;
		}
		{
			uint8_t *q = ps->l4 + 8;
			int n = in->raw ? (int)in->l4len
					: ct_pkt_build(q, PN_L4_MAX - 8, in->family, &in->saddr,
						       &in->daddr, in->proto, in->l4, in->l4len);

			if (in->raw && in->l4len <= PN_L4_MAX - 8)
				memcpy(q, in->l4, in->l4len);
			free(in);
			if (n < 0 || (size_t)n > PN_L4_MAX - 8) {
				sc_tok_error(x, *ip, "the quoted packet is too large");
				return false;
			}
			ps->l4len = 8 + (size_t)n;
		}
	} else {
		if (sc_is(x, i, "quoting")) {
			sc_tok_error(x, i, "only ICMP errors quote a packet");
			return false;
		}
		put16(ps->l4 + 4, (uint32_t)id);
		put16(ps->l4 + 6, (uint32_t)seq);
		memset(ps->l4 + 8, 0, len);
		ps->l4len = 8 + len;
	}
	*ip = i;
	return true;
}

/* data "TEXT": payload bytes, with \r \n \t \\ and \xHH escapes. Returns the length or -1. */
static int parse_data(struct sc_line *x, unsigned i, uint8_t *out, size_t cap)
{
	const struct sc_tok *t = &x->t[i];
	size_t n = 0;

	if (i >= x->nt || !t->quoted) {
		sc_tok_error(x, i, "data: a quoted text is expected (data \"USER anonymous\\r\\n\")");
		return -1;
	}
	for (size_t k = 0; k < t->len; k++) {
		char ch = t->s[k];

		if (ch == '\\' && k + 3 < t->len && t->s[k + 1] == 'x' &&
		    isxdigit((unsigned char)t->s[k + 2]) && isxdigit((unsigned char)t->s[k + 3])) {
			char hex[3] = { t->s[k + 2], t->s[k + 3], 0 };

			ch = (char)strtoul(hex, NULL, 16);
			k += 3;
		} else if (ch == '\\') {
			char e = k + 1 < t->len ? t->s[k + 1] : '\0';

			if (e != 'r' && e != 'n' && e != 't' && e != '\\') {
				/* \x without two hex digits, an unknown escape or a
				 * lone backslash: say so, do not guess */
				unsigned col = t->col + (unsigned)k;

				sc_error_at(x, col, col + (e ? (e == 'x' ? (unsigned)(k + 2 < t->len) +
							     (unsigned)(k + 3 < t->len) + 1 : 1) : 0),
					    "data: %s (escapes: \\r \\n \\t \\\\ \\xHH with two hex digits)",
					    e == 'x' ? "\\x needs two hex digits" :
					    e ? "unknown escape" : "a backslash ends the text");
				return -1;
			}
			ch = e == 'r' ? '\r' : e == 'n' ? '\n' : e == 't' ? '\t' : '\\';
			k++;
		}
		if (n == cap) {
			sc_tok_error(x, i, "data: too long");
			return -1;
		}
		out[n++] = (uint8_t)ch;
	}
	return (int)n;
}

/* tcp SPORT > DPORT [FLAGS] [seq N] [ack N] [win N] [len N] [urg N]
 *     [mss N] [wscale N] [sackok] [ts VAL ECR] [nop] */
static bool parse_tcp(struct sc_line *x, unsigned *ip, struct pspec *ps, uint64_t sport,
		      uint64_t dport, bool quoting)
{
	unsigned i = *ip;
	uint8_t flags = 0, opt[40];
	size_t olen = 0, doff;
	uint64_t seq = 0, ack = 0, win = 64240, len = 0, urg = 0, v, v2;
	bool have_seq = false, have_ack = false;
	uint8_t data[1400];
	int dlen = -1;
	struct pn_flowdir *f, *r;

	if (i < x->nt && x->t[i].s[0] == '[') {
		const struct sc_tok *t = &x->t[i];

		if (t->len < 2 || t->s[t->len - 1] != ']') {
			sc_tok_error(x, i, "TCP flags are written [S], [S.], [.], [P.], [F.], [R] ...");
			return false;
		}
		for (size_t k = 1; k + 1 < t->len; k++) {
			static const char letters[] = "FSRP.UEW";
			const char *l = strchr(letters, t->s[k]);

			if (!l || !t->s[k]) {
				sc_error_at(x, t->col + (unsigned)k, t->col + (unsigned)k,
					 "unknown TCP flag '%c' (S SYN, F FIN, R RST, P PSH, . ACK, "
					 "U URG, E ECE, W CWR)", t->s[k]);
				return false;
			}
			flags |= (uint8_t)(1u << (l - letters));
		}
		i++;
	}
	while (i < x->nt && !sc_is(x, i, "quoting")) {
		if (sc_is(x, i, "seq") || sc_is(x, i, "ack") || sc_is(x, i, "win") || sc_is(x, i, "len") ||
		    sc_is(x, i, "urg")) {
			char w = x->t[i].s[0];
			uint64_t max = w == 's' || w == 'a' ? 0xffffffffu : w == 'l' ? 1400 : 0xffff;

			if (!sc_tok_num(x, i + 1, max, &v, w == 's' ? "seq" : w == 'a' ? "ack" :
				     w == 'w' ? "win" : w == 'l' ? "len" : "urg"))
				return false;
			if (w == 's') { seq = v; have_seq = true; }
			else if (w == 'a') { ack = v; have_ack = true; }
			else if (w == 'w') win = v;
			else if (w == 'l') len = v;
			else urg = v;
			i += 2;
		} else if (sc_is(x, i, "mss")) {
			if (!sc_tok_num(x, i + 1, 0xffff, &v, "mss"))
				return false;
			opt[olen++] = 2; opt[olen++] = 4; put16(opt + olen, (uint32_t)v); olen += 2;
			i += 2;
		} else if (sc_is(x, i, "wscale")) {
			if (!sc_tok_num(x, i + 1, 255, &v, "wscale"))
				return false;
			opt[olen++] = 1;	/* NOP, to keep the alignment tcpdump shows */
			opt[olen++] = 3; opt[olen++] = 3; opt[olen++] = (uint8_t)v;
			i += 2;
		} else if (sc_is(x, i, "sackok")) {
			opt[olen++] = 4; opt[olen++] = 2;
			i++;
		} else if (sc_is(x, i, "ts")) {
			if (!sc_tok_num(x, i + 1, 0xffffffffu, &v, "ts") ||
			    !sc_tok_num(x, i + 2, 0xffffffffu, &v2, "ts echo"))
				return false;
			opt[olen++] = 8; opt[olen++] = 10;
			put32(opt + olen, (uint32_t)v); put32(opt + olen + 4, (uint32_t)v2);
			olen += 8;
			i += 3;
		} else if (sc_is(x, i, "nop")) {
			opt[olen++] = 1;
			i++;
		} else if (sc_is(x, i, "data")) {
			if ((dlen = parse_data(x, i + 1, data, sizeof(data))) < 0)
				return false;
			len = (uint64_t)dlen;
			i += 2;
		} else {
			char buf[64];

			sc_tok_str(x, i, buf, sizeof(buf));
			sc_tok_error(x, i, "unknown TCP field \"%s\" (flags in brackets, seq, ack, win, "
				  "len, urg, mss, wscale, sackok, ts, nop)", buf);
			return false;
		}
		if (olen > 28) {
			sc_tok_error(x, i - 1, "too many TCP options");
			return false;
		}
	}
	while (olen % 4)
		opt[olen++] = 1;
	doff = 20 + olen;

	/* Follow the flow: the next sequence number of this direction, the
	 * other direction's as the acknowledgement. */
	f = flow(x, ps->family, IPPROTO_TCP, &ps->saddr, &ps->daddr, (uint16_t)sport, (uint16_t)dport,
		 !quoting);
	r = flow(x, ps->family, IPPROTO_TCP, &ps->daddr, &ps->saddr, (uint16_t)dport, (uint16_t)sport,
		 false);
	if (!have_seq)
		seq = f && f->nxt ? f->nxt : (ps->src->side == SC_CLIENT ? 1000 : 5000);
	if (!have_ack && (flags & CT_TCP_ACK))
		ack = r ? r->nxt : 0;
	if (f && !quoting && !(flags & CT_TCP_RST))
		f->nxt = (uint32_t)(seq + len + !!(flags & CT_TCP_SYN) + !!(flags & CT_TCP_FIN));
	else if (f && !quoting && !f->nxt)
		f->nxt = (uint32_t)seq;

	memset(ps->l4, 0, doff + len);
	put16(ps->l4, (uint32_t)sport);
	put16(ps->l4 + 2, (uint32_t)dport);
	put32(ps->l4 + 4, (uint32_t)seq);
	put32(ps->l4 + 8, (uint32_t)ack);
	ps->l4[12] = (uint8_t)((doff / 4) << 4);
	ps->l4[13] = flags;
	put16(ps->l4 + 14, (uint32_t)win);
	put16(ps->l4 + 18, (uint32_t)urg);
	memcpy(ps->l4 + 20, opt, olen);
	if (dlen > 0)
		memcpy(ps->l4 + doff, data, (size_t)dlen);
	ps->l4len = doff + len;
	*ip = i;
	return true;
}

/* sctp SPORT > DPORT [vtag N] CHUNK [tag N] [tsn N] [len N] [CHUNK ...] */
static bool parse_sctp(struct sc_line *x, unsigned *ip, struct pspec *ps, uint64_t sport,
		       uint64_t dport, bool quoting)
{
	static const struct { const char *name; uint8_t type; } chunks[] = {
		{ "data", 0 }, { "init", 1 }, { "init-ack", 2 }, { "sack", 3 },
		{ "heartbeat", 4 }, { "heartbeat-ack", 5 }, { "abort", 6 }, { "shutdown", 7 },
		{ "shutdown-ack", 8 }, { "error", 9 }, { "cookie-echo", 10 }, { "cookie-ack", 11 },
		{ "shutdown-complete", 14 },
	};
	unsigned i = *ip;
	uint64_t vtag = 0, v;
	bool have_vtag = false, has_init = false;
	size_t off = 12;

	if (sc_is(x, i, "vtag")) {
		if (!sc_tok_num(x, i + 1, 0xffffffffu, &vtag, "vtag"))
			return false;
		have_vtag = true;
		i += 2;
	}
	if (i >= x->nt || sc_is(x, i, "quoting")) {
		sc_tok_error(x, i, "an SCTP packet needs a chunk (init, init-ack, cookie-echo, "
			  "cookie-ack, data, sack, heartbeat, heartbeat-ack, abort, shutdown, "
			  "shutdown-ack, shutdown-complete)");
		return false;
	}
	memset(ps->l4, 0, 12);
	while (i < x->nt && !sc_is(x, i, "quoting")) {
		int type = -1;
		uint64_t tag = 0, tsn = 1, len = 0, flags = 0;
		size_t body, clen;
		uint8_t *c;

		for (size_t n = 0; n < sizeof(chunks) / sizeof(chunks[0]); n++)
			if (sc_is(x, i, chunks[n].name))
				type = chunks[n].type;
		if (type < 0) {
			char buf[64];

			sc_tok_str(x, i, buf, sizeof(buf));
			sc_tok_error(x, i, "unknown SCTP chunk \"%s\"", buf);
			return false;
		}
		i++;
		while (sc_is(x, i, "tag") || sc_is(x, i, "tsn") || sc_is(x, i, "len") || sc_is(x, i, "flags")) {
			char w = x->t[i].s[1];
			uint64_t *d = w == 'a' ? &tag : w == 's' ? &tsn : w == 'e' ? &len : &flags;

			if (!sc_tok_num(x, i + 1, w == 'e' ? 1400 : w == 'l' ? 255 : 0xffffffffu, &v,
				     w == 'a' ? "tag" : w == 's' ? "tsn" : w == 'e' ? "len" : "flags"))
				return false;
			*d = v;
			i += 2;
		}
		switch (type) {
		case 1: case 2: body = 16 + (type == 2 ? 8 : 0); break;	/* + state cookie param */
		case 0: body = 12 + (len ? len : 4); break;
		case 3: body = 12; break;
		case 4: case 5: body = 8; break;	/* heartbeat info parameter */
		case 7: body = 4; break;
		case 10: body = 4; break;
		default: body = 0; break;
		}
		clen = 4 + body;
		if (off + ((clen + 3) & ~(size_t)3) > PN_L4_MAX) {
			sc_tok_error(x, i - 1, "the SCTP packet is too large");
			return false;
		}
		c = ps->l4 + off;
		memset(c, 0, (clen + 3) & ~(size_t)3);
		c[0] = (uint8_t)type;
		c[1] = (uint8_t)flags;
		put16(c + 2, (uint32_t)clen);
		switch (type) {
		case 1: case 2:
			put32(c + 4, (uint32_t)tag);		/* initiate tag */
			put32(c + 8, 106496);			/* a_rwnd */
			put16(c + 12, 10);			/* outbound streams */
			put16(c + 14, 65535);			/* inbound streams */
			put32(c + 16, (uint32_t)tsn);		/* initial TSN */
			if (type == 2) {
				put16(c + 20, 7);		/* state cookie */
				put16(c + 22, 8);
				put32(c + 24, 0x636f6f6b);
			}
			if (!quoting) {
				uint32_t *t = sctp_tag(x, &ps->saddr, (uint16_t)sport, true);

				if (t)
					*t = (uint32_t)tag;
			}
			has_init |= type == 1;
			break;
		case 0:
			c[1] = (uint8_t)(flags ? flags : 3);	/* B and E */
			put32(c + 4, (uint32_t)tsn);
			break;
		case 3:
			put32(c + 4, (uint32_t)tsn);		/* cumulative TSN ack */
			put32(c + 8, 106496);
			break;
		case 4: case 5:
			put16(c + 4, 1);			/* heartbeat info */
			put16(c + 6, 8);
			break;
		case 7:
			put32(c + 4, (uint32_t)tsn);
			break;
		case 10:
			put32(c + 4, 0x636f6f6b);
			break;
		}
		off += (clen + 3) & ~(size_t)3;
	}
	if (!have_vtag && !has_init) {
		uint32_t *t = sctp_tag(x, &ps->daddr, (uint16_t)dport, false);

		vtag = t ? *t : 0;
	}
	put16(ps->l4, (uint32_t)sport);
	put16(ps->l4 + 2, (uint32_t)dport);
	put32(ps->l4 + 4, (uint32_t)vtag);
	ps->l4len = off;
	{
		uint32_t crc = ct_crc32c(ps->l4, off);

		/* stored little-endian, as the RFC's reference code does */
		ps->l4[8] = (uint8_t)crc;
		ps->l4[9] = (uint8_t)(crc >> 8);
		ps->l4[10] = (uint8_t)(crc >> 16);
		ps->l4[11] = (uint8_t)(crc >> 24);
	}
	*ip = i;
	return true;
}

/* After "SRC > DST [ip6]": the protocol and its fields. */
static bool parse_l4(struct sc_line *x, unsigned *ip, struct pspec *ps, bool quoting)
{
	unsigned i = *ip;
	uint64_t sport = 0, dport = 0, v;
	char buf[64];

	if (sc_is(x, i, "tcp") || sc_is(x, i, "udp") || sc_is(x, i, "udplite") || sc_is(x, i, "sctp") ||
	    sc_is(x, i, "dccp")) {
		bool tcp = sc_is(x, i, "tcp"), sctp = sc_is(x, i, "sctp");
		uint8_t proto = tcp ? IPPROTO_TCP : sctp ? IPPROTO_SCTP :
				sc_is(x, i, "udp") ? IPPROTO_UDP : sc_is(x, i, "dccp") ? 33 : 136;

		if (!sc_tok_num(x, i + 1, 0xffff, &sport, "source port"))
			return false;
		if (!sc_is(x, i + 2, ">")) {
			sc_tok_error(x, i + 2, "expected \">\" between the ports (e.g. %s 40000 > 80)",
				  tcp ? "tcp" : "udp");
			return false;
		}
		if (!sc_tok_num(x, i + 3, 0xffff, &dport, "destination port"))
			return false;
		ps->proto = proto;
		i += 4;
		if (tcp) {
			*ip = i;
			return parse_tcp(x, ip, ps, sport, dport, quoting);
		}
		if (sctp) {
			*ip = i;
			return parse_sctp(x, ip, ps, sport, dport, quoting);
		}
		v = 0;
		if (sc_is(x, i, "len")) {
			if (!sc_tok_num(x, i + 1, 1400, &v, "len"))
				return false;
			i += 2;
		}
		memset(ps->l4, 0, 8 + v);
		if (sc_is(x, i, "data") && proto != 33) {
			int n = parse_data(x, i + 1, ps->l4 + 8, 1400);

			if (n < 0)
				return false;
			v = (uint64_t)n;
			i += 2;
		}
		put16(ps->l4, (uint32_t)sport);
		put16(ps->l4 + 2, (uint32_t)dport);
		if (proto == 33) {	/* DCCP: a Request, generic header with X=1 */
			ps->l4[4] = 5;	/* data offset: 5 words */
			ps->l4[8] = (0 << 1) | 1;
			memset(ps->l4 + 9, 0, 11);
			ps->l4len = 20 + v;
		} else {
			put16(ps->l4 + 4, (uint32_t)(proto == IPPROTO_UDP ? 8 + v : 8));
			ps->l4len = 8 + v;
		}
	} else if (sc_is(x, i, "icmp") || sc_is(x, i, "icmpv6")) {
		*ip = i + 1;
		return parse_icmp(x, ip, ps);
	} else if (sc_is(x, i, "gre")) {
		uint64_t key = 0, call = 0, len = 0;
		bool has_key = false, pptp = false;

		ps->proto = IPPROTO_GRE;
		i++;
		while (sc_is(x, i, "key") || sc_is(x, i, "pptp") || sc_is(x, i, "call") || sc_is(x, i, "len")) {
			if (sc_is(x, i, "pptp")) {
				pptp = true;
				i++;
				continue;
			}
			if (!sc_tok_num(x, i + 1, sc_is(x, i, "len") ? 1400 : sc_is(x, i, "key") ? 0xffffffffu
				     : 0xffff, sc_is(x, i, "key") ? &key : sc_is(x, i, "call") ? &call : &len,
				     "value"))
				return false;
			has_key |= sc_is(x, i, "key");
			pptp |= sc_is(x, i, "call");
			i += 2;
		}
		memset(ps->l4, 0, 12 + len);
		if (pptp) {		/* GRE version 1 (RFC 2637): key present, version 1 */
			put16(ps->l4, 0x2001);
			put16(ps->l4 + 2, 0x880b);
			put16(ps->l4 + 4, (uint32_t)len);
			put16(ps->l4 + 6, (uint32_t)call);
			ps->l4len = 8 + len;
		} else {
			put16(ps->l4, has_key ? 0x2000 : 0);
			put16(ps->l4 + 2, 0x0800);
			if (has_key)
				put32(ps->l4 + 4, (uint32_t)key);
			ps->l4len = (has_key ? 8 : 4) + len;
		}
	} else if (sc_is(x, i, "proto")) {
		uint64_t len = 8;

		if (!sc_tok_num(x, i + 1, 255, &v, "protocol number"))
			return false;
		i += 2;
		if (sc_is(x, i, "len")) {
			if (!sc_tok_num(x, i + 1, 1400, &len, "len"))
				return false;
			i += 2;
		}
		ps->proto = (uint8_t)v;
		memset(ps->l4, 0, len);
		ps->l4len = len;
	} else if (sc_is(x, i, "raw")) {
		size_t n = 0;

		i++;
		if (i >= x->nt) {
			sc_tok_error(x, i, "raw: hex bytes of the whole IP packet are missing");
			return false;
		}
		for (; i < x->nt && !sc_is(x, i, "quoting"); i++) {
			const struct sc_tok *t = &x->t[i];

			for (size_t k = 0; k < t->len; k += 2) {
				unsigned b;
				char h[3] = { t->s[k], k + 1 < t->len ? t->s[k + 1] : '\0', '\0' };

				if (!isxdigit((unsigned char)h[0]) || !isxdigit((unsigned char)h[1]) ||
				    sscanf(h, "%2x", &b) != 1) {
					sc_error_at(x, t->col + (unsigned)k, t->col + (unsigned)k + 1,
						 "raw: \"%s\" is not a hex byte (write bytes as 2 hex digits)",
						 h);
					return false;
				}
				if (n == PN_L4_MAX) {
					sc_tok_error(x, i, "raw: too many bytes");
					return false;
				}
				ps->l4[n++] = (uint8_t)b;
			}
		}
		ps->raw = true;
		ps->l4len = n;
	} else {
		sc_tok_str(x, i, buf, sizeof(buf));
		if (i >= x->nt)
			sc_tok_error(x, i, "the protocol is missing (tcp, udp, icmp, icmpv6, gre, sctp, "
				  "proto N, raw)");
		else
			sc_tok_error(x, i, "unknown protocol \"%s\" (tcp, udp, udplite, dccp, icmp, icmpv6, "
				  "gre, sctp, proto N, raw)", buf);
		return false;
	}
	*ip = i;
	return true;
}

int pn_packet(struct sc_line *x, unsigned i, uint8_t *out, size_t cap, enum sc_side *side)
{
	struct pspec *ps = calloc(1, sizeof(*ps));
	int n = -1;

	if (!ps)
		abort();
	if (!parse_pspec(x, &i, ps, false, NULL, NULL, 0))
		goto out;
	if (i < x->nt) {
		char w[64];

		sc_tok_str(x, i, w, sizeof(w));
		sc_tok_error(x, i, "unexpected \"%s\" at the end of the packet", w);
		goto out;
	}
	if (ps->raw) {
		if (ps->l4len > cap) {
			sc_tok_error(x, 0, "the packet is too large");
			goto out;
		}
		n = (int)ps->l4len;
		memcpy(out, ps->l4, ps->l4len);
	} else {
		n = ct_pkt_build(out, cap, ps->family, &ps->saddr, &ps->daddr, ps->proto,
				 ps->l4, ps->l4len);
		if (n < 0) {
			sc_tok_error(x, 0, "the packet is too large");
			n = -1;
			goto out;
		}
	}
	*side = ps->src->side;
out:
	free(ps);
	return n;
}
