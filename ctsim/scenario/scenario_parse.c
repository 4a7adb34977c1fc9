/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scenario_parse.c — the scenario file format (docs/scenarios.md): one
 * statement per line, tokens separated by blanks, '#' comments, and three
 * kinds of blocks ({ ... }: an inline ruleset, an expected table, an
 * expected event log).
 *
 * Packets are turned into bytes here, once, with ct_pkt_build(): the run
 * and the pcap export then see exactly the same packets. TCP sequence
 * numbers, acknowledgements and SCTP verification tags may be left out: the
 * parser then follows each flow and fills in the next values, as the hosts'
 * stacks would.
 *
 * Errors use the ruleset's records (nft style, FILE:LINE:COL-COL, the line
 * echoed, carets under the token); the parser reports every error it finds
 * and returns NULL if there was any.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/ctnl.h"
#include "ctsim/core/packet.h"
#include "ctsim/nfnetlink/conn_export.h"
#include "ctsim/scenario/scenario.h"
#include "ctsim/core/settings.h"

#define MAX_TOKS	160
#define PKT_CAP		4096

struct tok {
	const char *s;		/* not NUL-terminated: use len */
	size_t len;
	unsigned col;		/* 1-based */
	bool quoted;		/* "..." (s/len exclude the quotes) */
};

/* One direction of a flow, for automatic TCP seq/ack. */
struct flowdir {
	uint8_t family, proto;
	union ct_addr src, dst;
	uint16_t sport, dport;
	uint32_t nxt;
};

/* A tag an SCTP endpoint announced in its INIT or INIT-ACK. */
struct sctp_tag {
	union ct_addr addr;
	uint16_t port;
	uint32_t tag;
};

struct pctx {
	const char *name;
	struct rs_errors *errs;
	struct scenario *sc;
	int nerr_start;
	/* the current line */
	const char *line;
	unsigned lineno;
	struct tok t[MAX_TOKS];
	unsigned nt;
	/* state */
	uint64_t now;
	bool started;		/* a step other than set/host/ruleset/listener was seen */
	bool have_ruleset;
	struct flowdir flows[256];
	unsigned nflows;
	struct sctp_tag tags[64];
	unsigned ntags;
};

const char *sc_side_name(enum sc_side side)
{
	return side == SC_CLIENT ? "client" : "server";
}

/* ---------------------------------------------------------------------- */
/* Errors                                                                  */

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		abort();
	return d;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = strndup(s, n);

	if (!d)
		abort();
	return d;
}

static void error_at(struct pctx *x, unsigned col_first, unsigned col_last, const char *fmt, ...)
{
	struct rs_errors *e = x->errs;
	struct rs_error *r;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;
		struct rs_error *v = realloc(e->v, cap * sizeof(*v));

		if (!v)
			abort();
		e->v = v;
		e->cap = cap;
	}
	r = &e->v[e->n++];
	r->file = xstrdup(x->name);
	r->line = x->lineno;
	r->col_first = col_first ? col_first : 1;
	r->col_last = col_last >= r->col_first ? col_last : r->col_first;
	r->msg = xstrdup(msg);
	r->src_line = xstrdup(x->line);
}

/* The errors of a ruleset file, as they are (they are located in that file). */
static void copy_errors(struct pctx *x, const struct rs_errors *from)
{
	for (size_t n = 0; n < from->n; n++) {
		const struct rs_error *r = &from->v[n];
		const char *name = x->name, *line = x->line;
		unsigned lineno = x->lineno;

		x->name = r->file;
		x->line = r->src_line ? r->src_line : "";
		x->lineno = r->line;
		error_at(x, r->col_first, r->col_last, "%s", r->msg);
		x->name = name;
		x->line = line;
		x->lineno = lineno;
	}
}

/* An error under token @i (or just past the last token when @i is beyond). */
#define tok_error(x, i, ...) \
	error_at((x), tok_col(x, i), tok_col_last(x, i), __VA_ARGS__)

static unsigned tok_col(const struct pctx *x, unsigned i)
{
	if (i < x->nt)
		return x->t[i].col - x->t[i].quoted;
	return x->nt ? x->t[x->nt - 1].col + (unsigned)x->t[x->nt - 1].len + x->t[x->nt - 1].quoted + 1
		     : 1;
}

static unsigned tok_col_last(const struct pctx *x, unsigned i)
{
	if (i < x->nt)
		return x->t[i].col + (unsigned)x->t[i].len - 1 + x->t[i].quoted;
	return tok_col(x, i);
}

/* ---------------------------------------------------------------------- */
/* Tokens                                                                  */

/* Split @line into tokens; '#' outside quotes starts a comment. Returns
 * false (with an error) for an unterminated quote or too many tokens. */
static bool tokenize(struct pctx *x)
{
	const char *p = x->line;

	x->nt = 0;
	while (*p) {
		struct tok *t;

		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (*p == '#')
			break;
		if (x->nt == MAX_TOKS) {
			error_at(x, (unsigned)(p - x->line) + 1, (unsigned)(p - x->line) + 1,
				 "too many words on one line (at most %d)", MAX_TOKS);
			return false;
		}
		t = &x->t[x->nt++];
		t->quoted = *p == '"';
		if (t->quoted) {
			const char *q = strchr(p + 1, '"');

			if (!q) {
				error_at(x, (unsigned)(p - x->line) + 1, (unsigned)strlen(x->line),
					 "unterminated string");
				return false;
			}
			t->s = p + 1;
			t->len = (size_t)(q - p - 1);
			t->col = (unsigned)(p - x->line) + 2;
			p = q + 1;
			continue;
		}
		t->s = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		t->len = (size_t)(p - t->s);
		t->col = (unsigned)(t->s - x->line) + 1;
	}
	return true;
}

static bool is(const struct pctx *x, unsigned i, const char *w)
{
	return i < x->nt && !x->t[i].quoted && x->t[i].len == strlen(w) &&
	       !memcmp(x->t[i].s, w, x->t[i].len);
}

static void tok_str(const struct pctx *x, unsigned i, char *buf, size_t cap)
{
	size_t n = i < x->nt ? x->t[i].len : 0;

	if (n >= cap)
		n = cap - 1;
	memcpy(buf, i < x->nt ? x->t[i].s : "", n);
	buf[n] = '\0';
}

/* A number (decimal or 0x hex) no larger than @max. */
static bool tok_num(struct pctx *x, unsigned i, uint64_t max, uint64_t *v, const char *what)
{
	char buf[64], *end;
	unsigned long long n;

	if (i >= x->nt) {
		tok_error(x, i, "%s: a number is missing", what);
		return false;
	}
	tok_str(x, i, buf, sizeof(buf));
	errno = 0;
	n = strtoull(buf, &end, 0);
	if (!buf[0] || *end || errno || buf[0] == '-') {
		tok_error(x, i, "%s: \"%s\" is not a number", what, buf);
		return false;
	}
	if (n > max) {
		tok_error(x, i, "%s: %s is out of range (at most %llu)", what, buf,
			  (unsigned long long)max);
		return false;
	}
	*v = n;
	return true;
}

/* "1.5", "30s", "250ms", "2m", "1h", "100us" -> ns */
static bool parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || v < 0 || !isdigit((unsigned char)s[0]))
		return false;
	if (!*end || !strcmp(end, "s"))
		v *= 1e9;
	else if (!strcmp(end, "ms"))
		v *= 1e6;
	else if (!strcmp(end, "us"))
		v *= 1e3;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		v *= 60e9;
	else if (!strcmp(end, "h"))
		v *= 3600e9;
	else
		return false;
	if (v > 1e18)
		return false;
	*ns = (uint64_t)(v + 0.5);
	return true;
}

/* ---------------------------------------------------------------------- */
/* Steps                                                                   */

static struct sc_step *add_step(struct pctx *x, enum sc_kind kind)
{
	struct scenario *sc = x->sc;
	struct sc_step *s;

	if (sc->nsteps == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 32;
		struct sc_step *v = realloc(sc->steps, cap * sizeof(*v));

		if (!v)
			abort();
		sc->steps = v;
		sc->cap = cap;
	}
	s = &sc->steps[sc->nsteps++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->line = x->lineno;
	s->at_ns = x->now;
	{
		const char *a = x->line, *b;

		while (isspace((unsigned char)*a))
			a++;
		b = a + strlen(a);
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		s->text = xstrndup(a, (size_t)(b - a));
	}
	return s;
}

static const struct sc_host *find_host(const struct pctx *x, unsigned i)
{
	for (unsigned h = 0; h < x->sc->nhosts; h++)
		if (i < x->nt && x->t[i].len == strlen(x->sc->hosts[h].name) &&
		    !memcmp(x->t[i].s, x->sc->hosts[h].name, x->t[i].len))
			return &x->sc->hosts[h];
	return NULL;
}

static const struct sc_host *need_host(struct pctx *x, unsigned i)
{
	const struct sc_host *h = find_host(x, i);
	char buf[64];

	if (!h) {
		tok_str(x, i, buf, sizeof(buf));
		if (i >= x->nt)
			tok_error(x, i, "a host name is missing");
		else
			tok_error(x, i, "unknown host \"%s\"%s", buf,
				  x->sc->nhosts ? "" : " (declare hosts first: host NAME ADDRESS)");
	}
	return h;
}

/* The address of @h for @family; an error under token @i if it has none. */
static bool host_addr(struct pctx *x, unsigned i, const struct sc_host *h, uint8_t family,
		      union ct_addr *a)
{
	if (family == AF_INET6 ? !h->has6 : !h->has4) {
		tok_error(x, i, "host \"%s\" has no %s address", h->name,
			  family == AF_INET6 ? "IPv6" : "IPv4");
		return false;
	}
	*a = family == AF_INET6 ? h->a6 : h->a4;
	return true;
}

/* ---------------------------------------------------------------------- */
/* host NAME ADDR [ADDR6] [side client|server]                             */

static void parse_host(struct pctx *x)
{
	struct scenario *sc = x->sc;
	struct sc_host h = { 0 };
	unsigned i = 2;
	bool side_given = false;

	if (x->nt < 3) {
		tok_error(x, x->nt, "usage: host NAME ADDRESS [ADDRESS6] [side client|server]");
		return;
	}
	if (x->t[1].len >= sizeof(h.name) || !isalpha((unsigned char)x->t[1].s[0])) {
		tok_error(x, 1, "a host name starts with a letter and has at most %zu characters",
			  sizeof(h.name) - 1);
		return;
	}
	tok_str(x, 1, h.name, sizeof(h.name));
	if (find_host(x, 1)) {
		tok_error(x, 1, "host \"%s\" is already declared", h.name);
		return;
	}
	for (; i < x->nt && !is(x, i, "side"); i++) {
		char buf[64];
		uint8_t tmp[16];

		tok_str(x, i, buf, sizeof(buf));
		if (inet_pton(AF_INET, buf, tmp) == 1 && !h.has4) {
			memcpy(&h.a4.ip, tmp, 4);
			h.has4 = true;
		} else if (inet_pton(AF_INET6, buf, tmp) == 1 && !h.has6) {
			memcpy(h.a6.b, tmp, 16);
			h.has6 = true;
		} else {
			tok_error(x, i, "\"%s\" is not an IPv4 or IPv6 address (one of each at most)", buf);
			return;
		}
	}
	if (is(x, i, "side")) {
		if (is(x, i + 1, "client"))
			h.side = SC_CLIENT;
		else if (is(x, i + 1, "server"))
			h.side = SC_SERVER;
		else {
			tok_error(x, i + 1, "side is \"client\" or \"server\"");
			return;
		}
		side_given = true;
		i += 2;
	}
	if (i < x->nt) {
		tok_error(x, i, "unexpected word after the host's addresses");
		return;
	}
	if (!h.has4 && !h.has6) {
		tok_error(x, 2, "host \"%s\" needs an address", h.name);
		return;
	}
	if (!side_given)	/* the first host is the client, the others servers */
		h.side = sc->nhosts == 0 ? SC_CLIENT : SC_SERVER;
	if (sc->nhosts == SC_MAX_HOSTS) {
		tok_error(x, 1, "too many hosts (at most %d)", SC_MAX_HOSTS);
		return;
	}
	sc->hosts[sc->nhosts++] = h;
}

/* ---------------------------------------------------------------------- */
/* Packets                                                                 */

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static struct flowdir *flow(struct pctx *x, uint8_t family, uint8_t proto, const union ct_addr *s,
			    const union ct_addr *d, uint16_t sp, uint16_t dp, bool create)
{
	for (unsigned i = 0; i < x->nflows; i++) {
		struct flowdir *f = &x->flows[i];

		if (f->family == family && f->proto == proto && f->sport == sp && f->dport == dp &&
		    !memcmp(&f->src, s, sizeof(*s)) && !memcmp(&f->dst, d, sizeof(*d)))
			return f;
	}
	if (!create || x->nflows == sizeof(x->flows) / sizeof(x->flows[0]))
		return NULL;
	x->flows[x->nflows] = (struct flowdir){ .family = family, .proto = proto, .src = *s,
						.dst = *d, .sport = sp, .dport = dp };
	return &x->flows[x->nflows++];
}

static uint32_t *sctp_tag(struct pctx *x, const union ct_addr *a, uint16_t port, bool create)
{
	for (unsigned i = 0; i < x->ntags; i++)
		if (x->tags[i].port == port && !memcmp(&x->tags[i].addr, a, sizeof(*a)))
			return &x->tags[i].tag;
	if (!create || x->ntags == sizeof(x->tags) / sizeof(x->tags[0]))
		return NULL;
	x->tags[x->ntags] = (struct sctp_tag){ .addr = *a, .port = port };
	return &x->tags[x->ntags++].tag;
}

/* CRC32c (Castagnoli), as SCTP's checksum (RFC 9260 appendix A). */
static uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
	}
	return ~c;
}

/* What a packet specification parses into, before the IP header. */
struct pspec {
	uint8_t family;
	const struct sc_host *src, *dst;
	union ct_addr saddr, daddr;
	uint8_t proto;
	uint8_t l4[PKT_CAP];
	size_t l4len;
	bool raw;		/* l4[] is the whole L3 packet */
};

static bool parse_l4(struct pctx *x, unsigned *ip, struct pspec *ps, bool quoting);

/* "SRC > DST [ip6] PROTO ..." from token *ip; @quoting: the inner packet of
 * an ICMP error (its flow state is read, not advanced). */
static bool parse_pspec(struct pctx *x, unsigned *ip, struct pspec *ps, bool quoting,
			const struct sc_host *dflt_src, const struct sc_host *dflt_dst, uint8_t dflt_family)
{
	unsigned i = *ip;

	memset(ps, 0, offsetof(struct pspec, l4));
	ps->l4len = 0;
	if (find_host(x, i) && is(x, i + 1, ">")) {
		ps->src = find_host(x, i);
		if (!(ps->dst = need_host(x, i + 2)))
			return false;
		i += 3;
	} else if (dflt_src) {
		ps->src = dflt_src;
		ps->dst = dflt_dst;
	} else {
		need_host(x, i);
		return false;
	}
	/* IPv4 unless asked, or the hosts have IPv6 addresses only */
	ps->family = dflt_family ? dflt_family : AF_INET;
	if (is(x, i, "ip6")) {
		ps->family = AF_INET6;
		i++;
	} else if (is(x, i, "ip") || is(x, i, "ip4")) {
		ps->family = AF_INET;
		i++;
	} else if (is(x, i, "icmpv6") || (!dflt_family && (!ps->src->has4 || !ps->dst->has4))) {
		ps->family = AF_INET6;
	}
	if (!host_addr(x, *ip, ps->src, ps->family, &ps->saddr) ||
	    !host_addr(x, *ip, ps->dst, ps->family, &ps->daddr))
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
static bool parse_icmp(struct pctx *x, unsigned *ip, struct pspec *ps)
{
	bool v6 = ps->family == AF_INET6;
	unsigned i = *ip;
	uint64_t type = 256, code = 0, id = 0, seq = 0, len = 0, mtu = 0;
	bool have_code = false;
	union ct_addr gw = { 0 };

	if (is(x, i - 1, "icmp") && v6) {
		tok_error(x, i - 1, "an IPv6 packet carries icmpv6, not icmp");
		return false;
	}
	if (is(x, i - 1, "icmpv6") && !v6) {
		tok_error(x, i - 1, "icmpv6 needs IPv6 addresses");
		return false;
	}
	ps->proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	if (is(x, i, "type")) {
		if (!tok_num(x, i + 1, 255, &type, "type"))
			return false;
		i += 2;
	} else {
		for (size_t n = 0; n < sizeof(icmp_names) / sizeof(icmp_names[0]); n++)
			if (icmp_names[n].v6 == v6 && is(x, i, icmp_names[n].name)) {
				type = icmp_names[n].type;
				code = icmp_names[n].code;
				break;
			}
		if (type == 256) {
			char buf[64];

			tok_str(x, i, buf, sizeof(buf));
			tok_error(x, i, "unknown %s message \"%s\" (try echo-request, echo-reply, "
				  "port-unreachable, %s, or type N code N)", v6 ? "ICMPv6" : "ICMP",
				  buf, v6 ? "packet-too-big" : "frag-needed");
			return false;
		}
		i++;
	}
	while (i < x->nt && !is(x, i, "quoting")) {
		uint64_t *dst = NULL, max = 0xffff;

		if (is(x, i, "code")) { dst = &code; max = 255; have_code = true; }
		else if (is(x, i, "id")) dst = &id;
		else if (is(x, i, "seq")) dst = &seq;
		else if (is(x, i, "len")) { dst = &len; max = 1400; }
		else if (is(x, i, "mtu")) { dst = &mtu; max = v6 ? 0xffffffffu : 0xffff; }
		else if (is(x, i, "gateway") && !v6) {
			char buf[64];

			tok_str(x, i + 1, buf, sizeof(buf));
			if (inet_pton(AF_INET, buf, &gw.ip) != 1) {
				tok_error(x, i + 1, "gateway: an IPv4 address is needed");
				return false;
			}
			i += 2;
			continue;
		} else {
			char buf[64];

			tok_str(x, i, buf, sizeof(buf));
			tok_error(x, i, "unknown ICMP option \"%s\" (code, id, seq, len, mtu, quoting)", buf);
			return false;
		}
		if (!tok_num(x, i + 1, max, dst, x->t[i].s[0] == 'c' ? "code" : "value"))
			return false;
		i += 2;
	}
	(void)have_code;
	ps->l4[0] = (uint8_t)type;
	ps->l4[1] = (uint8_t)code;
	if (is_icmp_error((uint8_t)type, v6)) {
		struct pspec *in;

		if (!is(x, i, "quoting")) {
			tok_error(x, i, "an ICMP error quotes a packet: add \"quoting PROTO ...\" "
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
			tok_error(x, *ip, "the quoted packet must have the same IP version");
			free(in);
			return false;
		}
		{
			uint8_t *q = ps->l4 + 8;
			int n = in->raw ? (int)in->l4len
					: ct_pkt_build(q, PKT_CAP - 8, in->family, &in->saddr,
						       &in->daddr, in->proto, in->l4, in->l4len);

			if (in->raw && in->l4len <= PKT_CAP - 8)
				memcpy(q, in->l4, in->l4len);
			free(in);
			if (n < 0 || (size_t)n > PKT_CAP - 8) {
				tok_error(x, *ip, "the quoted packet is too large");
				return false;
			}
			ps->l4len = 8 + (size_t)n;
		}
	} else {
		if (is(x, i, "quoting")) {
			tok_error(x, i, "only ICMP errors quote a packet");
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
static int parse_data(struct pctx *x, unsigned i, uint8_t *out, size_t cap)
{
	const struct tok *t = &x->t[i];
	size_t n = 0;

	if (i >= x->nt || !t->quoted) {
		tok_error(x, i, "data: a quoted text is expected (data \"USER anonymous\\r\\n\")");
		return -1;
	}
	for (size_t k = 0; k < t->len; k++) {
		char ch = t->s[k];

		if (ch == '\\' && k + 3 < t->len && t->s[k + 1] == 'x' &&
		    isxdigit((unsigned char)t->s[k + 2]) && isxdigit((unsigned char)t->s[k + 3])) {
			char hex[3] = { t->s[k + 2], t->s[k + 3], 0 };

			ch = (char)strtoul(hex, NULL, 16);
			k += 3;
		} else if (ch == '\\' && k + 1 < t->len) {
			ch = t->s[++k];
			ch = ch == 'r' ? '\r' : ch == 'n' ? '\n' : ch == 't' ? '\t' : ch;
		}
		if (n == cap) {
			tok_error(x, i, "data: too long");
			return -1;
		}
		out[n++] = (uint8_t)ch;
	}
	return (int)n;
}

/* tcp SPORT > DPORT [FLAGS] [seq N] [ack N] [win N] [len N] [urg N]
 *     [mss N] [wscale N] [sackok] [ts VAL ECR] [nop] */
static bool parse_tcp(struct pctx *x, unsigned *ip, struct pspec *ps, uint64_t sport,
		      uint64_t dport, bool quoting)
{
	unsigned i = *ip;
	uint8_t flags = 0, opt[40];
	size_t olen = 0, doff;
	uint64_t seq = 0, ack = 0, win = 64240, len = 0, urg = 0, v, v2;
	bool have_seq = false, have_ack = false;
	uint8_t data[1400];
	int dlen = -1;
	struct flowdir *f, *r;

	if (i < x->nt && x->t[i].s[0] == '[') {
		const struct tok *t = &x->t[i];

		if (t->len < 2 || t->s[t->len - 1] != ']') {
			tok_error(x, i, "TCP flags are written [S], [S.], [.], [P.], [F.], [R] ...");
			return false;
		}
		for (size_t k = 1; k + 1 < t->len; k++) {
			static const char letters[] = "FSRP.UEW";
			const char *l = strchr(letters, t->s[k]);

			if (!l || !t->s[k]) {
				error_at(x, t->col + (unsigned)k, t->col + (unsigned)k,
					 "unknown TCP flag '%c' (S SYN, F FIN, R RST, P PSH, . ACK, "
					 "U URG, E ECE, W CWR)", t->s[k]);
				return false;
			}
			flags |= (uint8_t)(1u << (l - letters));
		}
		i++;
	}
	while (i < x->nt && !is(x, i, "quoting")) {
		if (is(x, i, "seq") || is(x, i, "ack") || is(x, i, "win") || is(x, i, "len") ||
		    is(x, i, "urg")) {
			char w = x->t[i].s[0];
			uint64_t max = w == 's' || w == 'a' ? 0xffffffffu : w == 'l' ? 1400 : 0xffff;

			if (!tok_num(x, i + 1, max, &v, w == 's' ? "seq" : w == 'a' ? "ack" :
				     w == 'w' ? "win" : w == 'l' ? "len" : "urg"))
				return false;
			if (w == 's') { seq = v; have_seq = true; }
			else if (w == 'a') { ack = v; have_ack = true; }
			else if (w == 'w') win = v;
			else if (w == 'l') len = v;
			else urg = v;
			i += 2;
		} else if (is(x, i, "mss")) {
			if (!tok_num(x, i + 1, 0xffff, &v, "mss"))
				return false;
			opt[olen++] = 2; opt[olen++] = 4; put16(opt + olen, (uint32_t)v); olen += 2;
			i += 2;
		} else if (is(x, i, "wscale")) {
			if (!tok_num(x, i + 1, 255, &v, "wscale"))
				return false;
			opt[olen++] = 1;	/* NOP, to keep the alignment tcpdump shows */
			opt[olen++] = 3; opt[olen++] = 3; opt[olen++] = (uint8_t)v;
			i += 2;
		} else if (is(x, i, "sackok")) {
			opt[olen++] = 4; opt[olen++] = 2;
			i++;
		} else if (is(x, i, "ts")) {
			if (!tok_num(x, i + 1, 0xffffffffu, &v, "ts") ||
			    !tok_num(x, i + 2, 0xffffffffu, &v2, "ts echo"))
				return false;
			opt[olen++] = 8; opt[olen++] = 10;
			put32(opt + olen, (uint32_t)v); put32(opt + olen + 4, (uint32_t)v2);
			olen += 8;
			i += 3;
		} else if (is(x, i, "nop")) {
			opt[olen++] = 1;
			i++;
		} else if (is(x, i, "data")) {
			if ((dlen = parse_data(x, i + 1, data, sizeof(data))) < 0)
				return false;
			len = (uint64_t)dlen;
			i += 2;
		} else {
			char buf[64];

			tok_str(x, i, buf, sizeof(buf));
			tok_error(x, i, "unknown TCP field \"%s\" (flags in brackets, seq, ack, win, "
				  "len, urg, mss, wscale, sackok, ts, nop)", buf);
			return false;
		}
		if (olen > 28) {
			tok_error(x, i - 1, "too many TCP options");
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
static bool parse_sctp(struct pctx *x, unsigned *ip, struct pspec *ps, uint64_t sport,
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

	if (is(x, i, "vtag")) {
		if (!tok_num(x, i + 1, 0xffffffffu, &vtag, "vtag"))
			return false;
		have_vtag = true;
		i += 2;
	}
	if (i >= x->nt || is(x, i, "quoting")) {
		tok_error(x, i, "an SCTP packet needs a chunk (init, init-ack, cookie-echo, "
			  "cookie-ack, data, sack, heartbeat, heartbeat-ack, abort, shutdown, "
			  "shutdown-ack, shutdown-complete)");
		return false;
	}
	memset(ps->l4, 0, 12);
	while (i < x->nt && !is(x, i, "quoting")) {
		int type = -1;
		uint64_t tag = 0, tsn = 1, len = 0, flags = 0;
		size_t body, clen;
		uint8_t *c;

		for (size_t n = 0; n < sizeof(chunks) / sizeof(chunks[0]); n++)
			if (is(x, i, chunks[n].name))
				type = chunks[n].type;
		if (type < 0) {
			char buf[64];

			tok_str(x, i, buf, sizeof(buf));
			tok_error(x, i, "unknown SCTP chunk \"%s\"", buf);
			return false;
		}
		i++;
		while (is(x, i, "tag") || is(x, i, "tsn") || is(x, i, "len") || is(x, i, "flags")) {
			char w = x->t[i].s[1];
			uint64_t *d = w == 'a' ? &tag : w == 's' ? &tsn : w == 'e' ? &len : &flags;

			if (!tok_num(x, i + 1, w == 'e' ? 1400 : w == 'l' ? 255 : 0xffffffffu, &v,
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
		if (off + ((clen + 3) & ~(size_t)3) > PKT_CAP) {
			tok_error(x, i - 1, "the SCTP packet is too large");
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
		uint32_t crc = crc32c(ps->l4, off);

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
static bool parse_l4(struct pctx *x, unsigned *ip, struct pspec *ps, bool quoting)
{
	unsigned i = *ip;
	uint64_t sport = 0, dport = 0, v;
	char buf[64];

	if (is(x, i, "tcp") || is(x, i, "udp") || is(x, i, "udplite") || is(x, i, "sctp") ||
	    is(x, i, "dccp")) {
		bool tcp = is(x, i, "tcp"), sctp = is(x, i, "sctp");
		uint8_t proto = tcp ? IPPROTO_TCP : sctp ? IPPROTO_SCTP :
				is(x, i, "udp") ? IPPROTO_UDP : is(x, i, "dccp") ? 33 : 136;

		if (!tok_num(x, i + 1, 0xffff, &sport, "source port"))
			return false;
		if (!is(x, i + 2, ">")) {
			tok_error(x, i + 2, "expected \">\" between the ports (e.g. %s 40000 > 80)",
				  tcp ? "tcp" : "udp");
			return false;
		}
		if (!tok_num(x, i + 3, 0xffff, &dport, "destination port"))
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
		if (is(x, i, "len")) {
			if (!tok_num(x, i + 1, 1400, &v, "len"))
				return false;
			i += 2;
		}
		memset(ps->l4, 0, 8 + v);
		if (is(x, i, "data") && proto != 33) {
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
	} else if (is(x, i, "icmp") || is(x, i, "icmpv6")) {
		*ip = i + 1;
		return parse_icmp(x, ip, ps);
	} else if (is(x, i, "gre")) {
		uint64_t key = 0, call = 0, len = 0;
		bool has_key = false, pptp = false;

		ps->proto = IPPROTO_GRE;
		i++;
		while (is(x, i, "key") || is(x, i, "pptp") || is(x, i, "call") || is(x, i, "len")) {
			if (is(x, i, "pptp")) {
				pptp = true;
				i++;
				continue;
			}
			if (!tok_num(x, i + 1, is(x, i, "len") ? 1400 : is(x, i, "key") ? 0xffffffffu
				     : 0xffff, is(x, i, "key") ? &key : is(x, i, "call") ? &call : &len,
				     "value"))
				return false;
			has_key |= is(x, i, "key");
			pptp |= is(x, i, "call");
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
	} else if (is(x, i, "proto")) {
		uint64_t len = 8;

		if (!tok_num(x, i + 1, 255, &v, "protocol number"))
			return false;
		i += 2;
		if (is(x, i, "len")) {
			if (!tok_num(x, i + 1, 1400, &len, "len"))
				return false;
			i += 2;
		}
		ps->proto = (uint8_t)v;
		memset(ps->l4, 0, len);
		ps->l4len = len;
	} else if (is(x, i, "raw")) {
		size_t n = 0;

		i++;
		if (i >= x->nt) {
			tok_error(x, i, "raw: hex bytes of the whole IP packet are missing");
			return false;
		}
		for (; i < x->nt && !is(x, i, "quoting"); i++) {
			const struct tok *t = &x->t[i];

			for (size_t k = 0; k < t->len; k += 2) {
				unsigned b;
				char h[3] = { t->s[k], k + 1 < t->len ? t->s[k + 1] : '\0', '\0' };

				if (!isxdigit((unsigned char)h[0]) || !isxdigit((unsigned char)h[1]) ||
				    sscanf(h, "%2x", &b) != 1) {
					error_at(x, t->col + (unsigned)k, t->col + (unsigned)k + 1,
						 "raw: \"%s\" is not a hex byte (write bytes as 2 hex digits)",
						 h);
					return false;
				}
				if (n == PKT_CAP) {
					tok_error(x, i, "raw: too many bytes");
					return false;
				}
				ps->l4[n++] = (uint8_t)b;
			}
		}
		ps->raw = true;
		ps->l4len = n;
	} else {
		tok_str(x, i, buf, sizeof(buf));
		if (i >= x->nt)
			tok_error(x, i, "the protocol is missing (tcp, udp, icmp, icmpv6, gre, sctp, "
				  "proto N, raw)");
		else
			tok_error(x, i, "unknown protocol \"%s\" (tcp, udp, udplite, dccp, icmp, icmpv6, "
				  "gre, sctp, proto N, raw)", buf);
		return false;
	}
	*ip = i;
	return true;
}

static void parse_packet(struct pctx *x, unsigned i)
{
	struct pspec *ps = calloc(1, sizeof(*ps));
	struct sc_step *s;
	uint8_t buf[PKT_CAP + 64];
	int n;

	if (!ps)
		abort();
	if (!parse_pspec(x, &i, ps, false, NULL, NULL, 0))
		goto out;
	if (i < x->nt) {
		char w[64];

		tok_str(x, i, w, sizeof(w));
		tok_error(x, i, "unexpected \"%s\" at the end of the packet", w);
		goto out;
	}
	if (ps->raw) {
		n = (int)ps->l4len;
		memcpy(buf, ps->l4, ps->l4len);
	} else {
		n = ct_pkt_build(buf, sizeof(buf), ps->family, &ps->saddr, &ps->daddr, ps->proto,
				 ps->l4, ps->l4len);
		if (n < 0) {
			tok_error(x, 0, "the packet is too large");
			goto out;
		}
	}
	s = add_step(x, SC_PACKET);
	s->side = ps->src->side;
	s->pkt = malloc((size_t)n ? (size_t)n : 1);
	if (!s->pkt)
		abort();
	memcpy(s->pkt, buf, (size_t)n);
	s->len = (size_t)n;
out:
	free(ps);
}

/* ---------------------------------------------------------------------- */
/* Entries: PROTO A[:PORT] > B[:PORT] [field VALUE ...]                    */

static const struct { const char *name; uint32_t bit; } status_names[] = {
	{ "EXPECTED", CT_S_EXPECTED }, { "SEEN_REPLY", CT_S_SEEN_REPLY },
	{ "ASSURED", CT_S_ASSURED }, { "CONFIRMED", CT_S_CONFIRMED },
	{ "SRC_NAT", CT_S_SRC_NAT }, { "DST_NAT", CT_S_DST_NAT },
	{ "SEQ_ADJUST", CT_S_SEQ_ADJUST }, { "SRC_NAT_DONE", CT_S_SRC_NAT_DONE },
	{ "DST_NAT_DONE", CT_S_DST_NAT_DONE }, { "DYING", CT_S_DYING },
	{ "FIXED_TIMEOUT", CT_S_FIXED_TIMEOUT }, { "TEMPLATE", CT_S_TEMPLATE },
	{ "UNTRACKED", CT_S_UNTRACKED }, { "HELPER", CT_S_HELPER }, { "OFFLOAD", CT_S_OFFLOAD },
	{ "UNREPLIED", 0 },	/* = !SEEN_REPLY, as conntrack prints it */
};

static bool parse_endpoint(struct pctx *x, unsigned i, uint8_t family, union ct_addr *a,
			   uint16_t *port, bool *has_port)
{
	const struct tok *t = &x->t[i];
	const char *colon = i < x->nt ? memchr(t->s, ':', t->len) : NULL;
	struct sc_host *h = NULL;
	size_t nlen = colon ? (size_t)(colon - t->s) : (i < x->nt ? t->len : 0);

	for (unsigned k = 0; k < x->sc->nhosts; k++)
		if (strlen(x->sc->hosts[k].name) == nlen && !memcmp(x->sc->hosts[k].name, t->s, nlen))
			h = &x->sc->hosts[k];
	if (!h) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%.*s", (int)nlen, i < x->nt ? t->s : "");
		if (i >= x->nt)
			tok_error(x, i, "a host is missing (HOST or HOST:PORT)");
		else
			error_at(x, t->col, t->col + (unsigned)nlen - 1 + !nlen, "unknown host \"%s\"", buf);
		return false;
	}
	if (!host_addr(x, i, h, family, a))
		return false;
	*has_port = colon != NULL;
	if (colon) {
		char buf[16], *end;
		size_t plen = t->len - nlen - 1;
		unsigned long v;

		snprintf(buf, sizeof(buf), "%.*s", (int)plen, colon + 1);
		v = strtoul(buf, &end, 10);
		if (!plen || *end || v > 0xffff || plen > 5) {
			error_at(x, t->col + (unsigned)nlen + 1, t->col + (unsigned)t->len - 1,
				 "\"%s\" is not a port number", buf);
			return false;
		}
		*port = (uint16_t)v;
	}
	return true;
}

static bool parse_entry(struct pctx *x, unsigned i, struct sc_entry *e, bool fields)
{
	uint8_t family = AF_INET;
	uint64_t v;
	bool hp1 = false, hp2 = false;
	char buf[64];

	memset(e, 0, sizeof(*e));
	if (is(x, i, "ip6")) {
		family = AF_INET6;
		i++;
	} else if (is(x, i, "ip")) {
		i++;
	}
	if (is(x, i, "tcp")) e->orig.l4num = IPPROTO_TCP;
	else if (is(x, i, "udp")) e->orig.l4num = IPPROTO_UDP;
	else if (is(x, i, "udplite")) e->orig.l4num = 136;
	else if (is(x, i, "sctp")) e->orig.l4num = IPPROTO_SCTP;
	else if (is(x, i, "dccp")) e->orig.l4num = 33;
	else if (is(x, i, "gre")) e->orig.l4num = IPPROTO_GRE;
	else if (is(x, i, "icmp")) e->orig.l4num = IPPROTO_ICMP;
	else if (is(x, i, "icmpv6")) { e->orig.l4num = IPPROTO_ICMPV6; family = AF_INET6; }
	else if (is(x, i, "proto") || is(x, i, "unknown")) {
		if (!tok_num(x, i + 1, 255, &v, "protocol number"))
			return false;
		e->orig.l4num = (uint8_t)v;
		i++;
	} else {
		tok_str(x, i, buf, sizeof(buf));
		tok_error(x, i, i < x->nt ? "unknown protocol \"%s\" (tcp, udp, icmp, icmpv6, gre, "
			  "sctp, proto N)" : "the protocol is missing%s", buf);
		return false;
	}
	i++;
	/* a host without an IPv4 address means IPv6 */
	{
		const struct sc_host *h = NULL;
		size_t nlen = i < x->nt ? strcspn(x->t[i].s, ":") : 0;

		if (i < x->nt && nlen > x->t[i].len)
			nlen = x->t[i].len;
		for (unsigned k = 0; k < x->sc->nhosts; k++)
			if (i < x->nt && strlen(x->sc->hosts[k].name) == nlen &&
			    !memcmp(x->sc->hosts[k].name, x->t[i].s, nlen))
				h = &x->sc->hosts[k];
		if (h && !h->has4)
			family = AF_INET6;
	}
	e->orig.l3num = family;
	if (!parse_endpoint(x, i, family, &e->orig.src, &e->orig.sport, &hp1))
		return false;
	if (!is(x, i + 1, ">")) {
		tok_error(x, i + 1, "expected \">\" (e.g. tcp c:40000 > s:80)");
		return false;
	}
	if (!parse_endpoint(x, i + 2, family, &e->orig.dst, &e->orig.dport, &hp2))
		return false;
	if (hp1 != hp2) {
		tok_error(x, hp1 ? i + 2 : i, "give both ports or none");
		return false;
	}
	if (hp1 && (e->orig.l4num == IPPROTO_ICMP || e->orig.l4num == IPPROTO_ICMPV6 ||
		    e->orig.l4num == IPPROTO_GRE)) {
		tok_error(x, i, "%s has no ports (use id N for ICMP)",
			  e->orig.l4num == IPPROTO_GRE ? "gre" : "icmp");
		return false;
	}
	if (hp1)
		e->fields |= SC_F_PORTS;
	if (e->orig.l4num == IPPROTO_ICMP || e->orig.l4num == IPPROTO_ICMPV6)
		e->orig.icmp_type = e->orig.l4num == IPPROTO_ICMP ? 8 : 128;
	i += 3;
	while (i < x->nt) {
		if (is(x, i, "id") && (e->orig.l4num == IPPROTO_ICMP || e->orig.l4num == IPPROTO_ICMPV6)) {
			if (!tok_num(x, i + 1, 0xffff, &v, "id"))
				return false;
			e->orig.sport = (uint16_t)v;
			e->fields |= SC_F_PORTS;
		} else if (is(x, i, "type") && (e->orig.l4num == IPPROTO_ICMP ||
						 e->orig.l4num == IPPROTO_ICMPV6)) {
			if (!tok_num(x, i + 1, 255, &v, "type"))
				return false;
			e->orig.icmp_type = (uint8_t)v;
		} else if (!fields) {
			tok_str(x, i, buf, sizeof(buf));
			tok_error(x, i, "unexpected \"%s\" (only the tuple here)", buf);
			return false;
		} else if (is(x, i, "state")) {
			if (i + 1 >= x->nt) {
				tok_error(x, i + 1, "state: a state name is missing (e.g. ESTABLISHED)");
				return false;
			}
			tok_str(x, i + 1, e->state, sizeof(e->state));
			for (char *p = e->state; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			{
				bool known = false;

				for (uint8_t s = 0; s < CT_TCP_MAX; s++)
					known |= !strcmp(ct_tcp_state_name(s), e->state);
				for (uint8_t s = 0; s < CT_SCTP_MAX; s++)
					known |= !strcmp(ct_sctp_state_name(s), e->state);
				if (!known) {
					tok_error(x, i + 1, "unknown state \"%s\" (SYN_SENT, SYN_RECV, "
						  "ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, "
						  "CLOSE, or an SCTP state)", e->state);
					return false;
				}
			}
			e->fields |= SC_F_STATE;
		} else if (is(x, i, "timeout")) {
			if (!tok_num(x, i + 1, 0x7fffffff, &v, "timeout"))
				return false;
			e->timeout = (uint32_t)v;
			e->fields |= SC_F_TIMEOUT;
		} else if (is(x, i, "mark")) {
			if (!tok_num(x, i + 1, 0xffffffffu, &v, "mark"))
				return false;
			e->mark = (uint32_t)v;
			e->fields |= SC_F_MARK;
		} else if (is(x, i, "zone")) {
			if (!tok_num(x, i + 1, 0xffff, &v, "zone"))
				return false;
			e->zone = (uint16_t)v;
			e->fields |= SC_F_ZONE;
		} else if (is(x, i, "use")) {
			if (!tok_num(x, i + 1, 0xffffffffu, &v, "use"))
				return false;
			e->use = (uint32_t)v;
			e->fields |= SC_F_USE;
		} else if (is(x, i, "labels")) {
			char list[256], *save = NULL, *w;

			tok_str(x, i + 1, list, sizeof(list));
			for (w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
				char *end;
				unsigned long b = strtoul(w, &end, 10);

				if (*end || b > 127) {
					tok_error(x, i + 1, "labels: bit numbers 0..127, comma-separated");
					return false;
				}
				e->labels[b / 8] |= (uint8_t)(1u << (b % 8));
			}
			e->fields |= SC_F_LABELS;
		} else if (is(x, i, "status")) {
			char list[256], *save = NULL, *w;

			tok_str(x, i + 1, list, sizeof(list));
			if (i + 1 >= x->nt) {
				tok_error(x, i + 1, "status: a list of flags is missing (e.g. ASSURED,SEEN_REPLY)");
				return false;
			}
			for (w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
				bool neg = *w == '!';
				size_t n;

				if (neg)
					w++;
				for (n = 0; n < sizeof(status_names) / sizeof(status_names[0]); n++)
					if (!strcasecmp(w, status_names[n].name))
						break;
				if (n == sizeof(status_names) / sizeof(status_names[0])) {
					tok_error(x, i + 1, "unknown status flag \"%s\" (ASSURED, SEEN_REPLY, "
						  "UNREPLIED, CONFIRMED, EXPECTED, ...; !FLAG: must be clear)", w);
					return false;
				}
				if (!status_names[n].bit)	/* UNREPLIED */
					neg = !neg;
				*(neg ? &e->status_clear : &e->status_set) |=
					status_names[n].bit ? status_names[n].bit : CT_S_SEEN_REPLY;
			}
			e->fields |= SC_F_STATUS;
		} else {
			tok_str(x, i, buf, sizeof(buf));
			tok_error(x, i, "unknown entry field \"%s\" (state, timeout, status, mark, zone, "
				  "use, labels)", buf);
			return false;
		}
		i += 2;
	}
	return true;
}

/* ---------------------------------------------------------------------- */
/* Blocks                                                                  */

struct lines {
	char **v;
	size_t n;
};

/* Collect the lines after line @from (0-based) up to a line that is just
 * "}" (for a ruleset: where the braces balance). Returns the index of the
 * closing line, or n if there is none. */
static size_t block_end(const struct lines *L, size_t from, bool balance)
{
	int depth = 1;

	for (size_t k = from + 1; k < L->n; k++) {
		const char *p = L->v[k];
		size_t len;

		while (isspace((unsigned char)*p))
			p++;
		len = strlen(p);
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		if (!balance) {
			if (len == 1 && *p == '}')
				return k;
			continue;
		}
		for (const char *q = p; *q && *q != '#'; q++) {
			if (*q == '"') {
				const char *e = strchr(q + 1, '"');

				if (!e)
					break;
				q = e;
				continue;
			}
			depth += *q == '{';
			depth -= *q == '}';
		}
		if (depth <= 0)
			return k;
	}
	return L->n;
}

static char *join(const struct lines *L, size_t a, size_t b, bool trim)
{
	size_t len = 1;
	char *s, *p;

	for (size_t k = a; k < b; k++)
		len += strlen(L->v[k]) + 1;
	s = p = malloc(len);
	if (!s)
		abort();
	*p = '\0';
	for (size_t k = a; k < b; k++) {
		const char *l = L->v[k];
		size_t n;

		if (trim) {
			while (isspace((unsigned char)*l))
				l++;
			n = strlen(l);
			while (n && isspace((unsigned char)l[n - 1]))
				n--;
			if (!n || *l == '#')
				continue;
		} else {
			n = strlen(l);
		}
		memcpy(p, l, n);
		p += n;
		*p++ = '\n';
	}
	*p = '\0';
	return s;
}

/* Parse an inline ruleset at its place in the file: the text is preceded
 * by as many empty lines as come before it, so the ruleset parser's line
 * numbers (and columns: the lines are kept as written) are the file's. */
static char *check_ruleset_text(struct pctx *x, const char *body, unsigned first_line)
{
	size_t n = strlen(body);
	char *padded = malloc(n + first_line + 1);
	struct ruleset *rs;

	if (!padded)
		abort();
	memset(padded, '\n', first_line - 1);
	memcpy(padded + first_line - 1, body, n + 1);
	rs = ruleset_parse_string(x->name, padded, x->errs);
	ruleset_free(rs);
	return padded;
}

/* ---------------------------------------------------------------------- */
/* Statements                                                              */

static const char *const stats_names[] = {
	"found", "invalid", "insert", "insert_failed", "drop", "early_drop", "error",
	"search_restart", "clash_resolve", "chaintoolong",
};

static void parse_expect(struct pctx *x, unsigned i, const struct lines *L, size_t *k)
{
	struct sc_step *s;
	char buf[64];
	uint64_t v;

	if (is(x, i, "verdict")) {
		if (!(is(x, i + 1, "accept") || is(x, i + 1, "drop")) || i + 2 < x->nt) {
			tok_error(x, i + 1, "expect verdict accept|drop");
			return;
		}
		s = add_step(x, SC_X_VERDICT);
		tok_str(x, i + 1, s->word, sizeof(s->word));
	} else if (is(x, i, "ctinfo") || (is(x, i, "ct") && is(x, i + 1, "state"))) {
		unsigned w = is(x, i, "ct") ? i + 2 : i + 1;

		if (!(is(x, w, "new") || is(x, w, "established") || is(x, w, "related") ||
		      is(x, w, "invalid") || is(x, w, "untracked")) || w + 1 < x->nt) {
			tok_error(x, w, "expect ctinfo new|established|related|invalid|untracked");
			return;
		}
		s = add_step(x, SC_X_CTINFO);
		tok_str(x, w, s->word, sizeof(s->word));
	} else if (is(x, i, "invalid")) {
		if (i + 2 < x->nt || (i + 1 < x->nt && !x->t[i + 1].quoted)) {
			tok_error(x, i + 1, "expect invalid [\"part of the reason\"]");
			return;
		}
		s = add_step(x, SC_X_INVALID);
		if (i + 1 < x->nt)
			s->str = xstrndup(x->t[i + 1].s, x->t[i + 1].len);
	} else if (is(x, i, "entry") || (is(x, i, "no") && is(x, i + 1, "entry"))) {
		bool no = is(x, i, "no");
		struct sc_entry e;

		if (!parse_entry(x, i + 1 + no, &e, !no))
			return;
		s = add_step(x, no ? SC_X_NO_ENTRY : SC_X_ENTRY);
		s->e = e;
	} else if (is(x, i, "table") || is(x, i, "events") || is(x, i, "expectations") ||
		   is(x, i, "expect-events")) {
		/* a block of lines as conntrack prints them */
		static const struct { const char *word; enum sc_kind kind; } blocks[] = {
			{ "table", SC_X_TABLE }, { "events", SC_X_EVENTS },
			{ "expectations", SC_X_EXPECTATIONS }, { "expect-events", SC_X_EXP_EVENTS },
		};
		enum sc_kind kind = SC_X_TABLE;
		const char *word = "table";
		size_t end;

		for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++)
			if (is(x, i, blocks[b].word)) {
				kind = blocks[b].kind;
				word = blocks[b].word;
			}
		if (is(x, i + 1, "{") && is(x, i + 2, "}") && x->nt == i + 3) {
			s = add_step(x, kind);
			s->block = xstrdup("");
			return;
		}
		if (!is(x, i + 1, "{") || x->nt != i + 2) {
			tok_error(x, i + 1, "expect %s { ... }: the lines follow, up to a line with "
				  "just }", word);
			return;
		}
		end = block_end(L, *k, false);
		if (end == L->n) {
			tok_error(x, i + 1, "this block is not closed (a line with just } ends it)");
			*k = L->n;
			return;
		}
		s = add_step(x, kind);
		s->block = join(L, *k + 1, end, true);
		s->block_line = (unsigned)*k + 2;
		*k = end;
	} else if (is(x, i, "stats")) {
		if (i + 1 >= x->nt) {
			tok_error(x, i + 1, "expect stats NAME=VALUE ... (found, invalid, insert, "
				  "insert_failed, drop, early_drop, error, ...)");
			return;
		}
		s = add_step(x, SC_X_STATS);
		for (unsigned w = i + 1; w < x->nt; w++) {
			const struct tok *t = &x->t[w];
			const char *eq = memchr(t->s, '=', t->len);
			size_t n, nlen = eq ? (size_t)(eq - t->s) : t->len;
			char *end;

			for (n = 0; n < sizeof(stats_names) / sizeof(stats_names[0]); n++)
				if (strlen(stats_names[n]) == nlen && !memcmp(stats_names[n], t->s, nlen))
					break;
			if (!eq || n == sizeof(stats_names) / sizeof(stats_names[0])) {
				tok_str(x, w, buf, sizeof(buf));
				tok_error(x, w, eq ? "unknown counter \"%.*s\" (found, invalid, insert, "
					  "insert_failed, drop, early_drop, error, search_restart, "
					  "clash_resolve, chaintoolong)" : "expected NAME=VALUE, not \"%.*s\"",
					  (int)nlen, t->s);
				s->kind = SC_FLUSH;	/* neutralised; the scenario is rejected */
				return;
			}
			tok_str(x, w, buf, sizeof(buf));
			v = strtoull(buf + nlen + 1, &end, 10);
			if (!buf[nlen + 1] || *end) {
				tok_error(x, w, "\"%s\" is not a number", buf + nlen + 1);
				return;
			}
			if (s->nstats == SC_MAX_STATS) {
				tok_error(x, w, "too many counters");
				return;
			}
			snprintf(s->stats[s->nstats].name, sizeof(s->stats[0].name), "%s", stats_names[n]);
			s->stats[s->nstats++].v = v;
		}
	} else if (is(x, i, "count")) {
		if (!tok_num(x, i + 1, 0xffffffffu, &v, "count"))
			return;
		if (i + 2 < x->nt) {
			tok_error(x, i + 2, "expect count N");
			return;
		}
		s = add_step(x, SC_X_COUNT);
		s->count = v;
	} else {
		tok_str(x, i, buf, sizeof(buf));
		tok_error(x, i, i < x->nt ? "unknown expectation \"%s\" (verdict, ctinfo, invalid, "
			  "entry, no entry, table, events, expectations, expect-events, stats, "
			  "count)" : "expect what?%s", buf);
	}
}

/* The ports of a tuple (CTA_PROTO_*_PORT) for the protocols that have them. */
static uint32_t port_fields(uint8_t l4num)
{
	switch (l4num) {
	case IPPROTO_TCP: case IPPROTO_UDP: case 136 /* UDP-Lite */:
	case IPPROTO_SCTP: case 33 /* DCCP */:
		return CT_TF_SPORT | CT_TF_DPORT;
	default:
		return 0;
	}
}

/*
 * insert expect PROTO A[:SPORT] > B:DPORT master PROTO C:P > D:P [timeout N]
 *
 * An expectation created from userspace, as `conntrack -I expect` or
 * `ctctl expect add` would: the IPCTNL_MSG_EXP_NEW message is built here
 * (exact addresses, exact destination port, source port exact unless it is
 * 0 or left out), and the same bytes go to ctsim's ctnetlink code and, in
 * --kernel mode, to the kernel.
 */
static void parse_insert_expect(struct pctx *x, unsigned i)
{
	unsigned m = i, t = 0, nt = x->nt;
	struct sc_entry ee, me;
	struct ctnl_exp req;
	uint64_t timeout = 300;
	uint8_t buf[512];
	struct nlmsghdr *nlh;
	struct sc_step *s;
	size_t alen;

	while (m < nt && !is(x, m, "master"))
		m++;
	if (m == nt) {
		tok_error(x, nt, "insert expect TUPLE master TUPLE [timeout N]: the master is missing");
		return;
	}
	for (t = m + 1; t < nt && !is(x, t, "timeout"); t++)
		;
	if (t < nt && (!tok_num(x, t + 1, 0xffffffffu, &timeout, "timeout") || t + 2 < nt)) {
		if (t + 2 < nt)
			tok_error(x, t + 2, "nothing may follow the timeout");
		return;
	}
	x->nt = m;		/* the expected tuple ends at "master" */
	if (!parse_entry(x, i, &ee, false)) {
		x->nt = nt;
		return;
	}
	x->nt = t;		/* the master's at "timeout" */
	if (!parse_entry(x, m + 1, &me, false)) {
		x->nt = nt;
		return;
	}
	x->nt = nt;
	if (!port_fields(ee.orig.l4num) || !port_fields(me.orig.l4num) ||
	    !(ee.fields & SC_F_PORTS) || !(me.fields & SC_F_PORTS)) {
		tok_error(x, port_fields(ee.orig.l4num) && (ee.fields & SC_F_PORTS) ? m + 1 : i,
			  "expectations here are for TCP/UDP-like tuples with ports "
			  "(e.g. tcp s:0 > c:50000)");
		return;
	}
	if (ee.orig.l3num != me.orig.l3num) {
		tok_error(x, m + 1, "the master's family differs from the expectation's");
		return;
	}
	memset(&req, 0, sizeof(req));
	req.present = CTNL_HAS(CTA_EXPECT_TUPLE) | CTNL_HAS(CTA_EXPECT_MASK) |
		      CTNL_HAS(CTA_EXPECT_MASTER) | CTNL_HAS(CTA_EXPECT_TIMEOUT);
	req.tuple.t = ee.orig;
	req.tuple.present = CT_TF_IP_SRC | CT_TF_IP_DST | CT_TF_PROTO_NUM |
			    port_fields(ee.orig.l4num);
	req.master.t = me.orig;
	req.master.present = CT_TF_IP_SRC | CT_TF_IP_DST | CT_TF_PROTO_NUM |
			     port_fields(me.orig.l4num);
	alen = ee.orig.l3num == AF_INET6 ? 16 : 4;
	req.mask.t.l3num = ee.orig.l3num;
	req.mask.t.l4num = ee.orig.l4num;
	memset(&req.mask.t.src, 0xff, alen);
	memset(&req.mask.t.dst, 0xff, alen);
	req.mask.t.sport = ee.orig.sport ? 0xffff : 0;
	req.mask.t.dport = 0xffff;
	req.mask.present = req.tuple.present;
	req.timeout = (uint32_t)timeout;
	nlh = ctnl_msg_start(buf, sizeof(buf), CTNL_MSG(NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_NEW),
			     NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 1, 0,
			     ee.orig.l3num, 0, 0);
	if (!nlh || ctnl_exp_put(nlh, sizeof(buf), &req) < 0) {
		tok_error(x, i, "cannot build the request");
		return;
	}
	s = add_step(x, SC_INSERT_EXPECT);
	s->pkt = malloc(nlh->nlmsg_len);
	if (!s->pkt)
		abort();
	memcpy(s->pkt, buf, nlh->nlmsg_len);
	s->len = nlh->nlmsg_len;
}

/*
 * insert TUPLE timeout N [state S] [status ...] [mark M] [zone Z]
 *
 * An entry created from userspace, as `conntrack -I` does: the
 * IPCTNL_MSG_CT_NEW message libnetfilter_conntrack would build (both
 * tuples, the reply one the inverse of the original, nf_ct_invert_tuple();
 * CTA_TIMEOUT; CTA_STATUS with IPS_CONFIRMED, as conntrack -I sends it;
 * the TCP or SCTP state in CTA_PROTOINFO; mark and zone when given) is
 * built here once, and the runner hands it to ctnetlink's create path
 * (ctnl_ct_new()), the daemon's own code. --kernel runs the same insert
 * with conntrack(8). Returns false after an error message.
 */
static bool build_insert(struct pctx *x, unsigned i, const struct sc_entry *e, struct sc_step *s)
{
	uint32_t l4f = CT_TF_IP_SRC | CT_TF_IP_DST | CT_TF_PROTO_NUM |
		       ctnl_tuple_l4_fields(e->orig.l4num);
	struct ctnl_ct req;
	struct nlmsghdr *nlh;
	uint8_t buf[512];

	memset(&req, 0, sizeof(req));
	req.present = CTNL_HAS(CTA_TUPLE_ORIG) | CTNL_HAS(CTA_TUPLE_REPLY) |
		      CTNL_HAS(CTA_TIMEOUT) | CTNL_HAS(CTA_STATUS);
	req.orig.t = e->orig;
	req.orig.present = l4f;
	if (!ct_tuple_invert(&e->orig, &req.reply.t)) {
		/* An ICMP type without a reply: the request goes as the tool
		 * would send it (addresses swapped, same type), and ctnetlink
		 * refuses it (-EINVAL), as the kernel does. */
		req.reply.t = e->orig;
		req.reply.t.src = e->orig.dst;
		req.reply.t.dst = e->orig.src;
	}
	req.reply.present = l4f;
	req.timeout = e->timeout;
	req.status = CT_S_CONFIRMED | e->status_set;
	if (e->fields & SC_F_MARK) {
		req.present |= CTNL_HAS(CTA_MARK);
		req.mark = e->mark;
	}
	if (e->fields & SC_F_ZONE) {
		req.present |= CTNL_HAS(CTA_ZONE);
		req.zone = e->zone;
	}
	if (e->orig.l4num == IPPROTO_TCP) {
		int st = ct_tcp_state_parse(e->state);

		if (st >= 0) {
			req.present |= CTNL_HAS(CTA_PROTOINFO);
			req.protoinfo = CTA_PROTOINFO_TCP;
			req.tcp.present = 1u << CTA_PROTOINFO_TCP_STATE;
			req.tcp.state = (uint8_t)st;
		}
	} else if (e->orig.l4num == IPPROTO_SCTP) {
		for (uint8_t st = 0; st < CT_SCTP_MAX; st++)
			if (!strcmp(ct_sctp_state_name(st), e->state)) {
				/* nlattr_to_sctp() wants the verification tags too */
				req.present |= CTNL_HAS(CTA_PROTOINFO);
				req.protoinfo = CTA_PROTOINFO_SCTP;
				req.sctp.present = 1u << CTA_PROTOINFO_SCTP_STATE |
						   1u << CTA_PROTOINFO_SCTP_VTAG_ORIGINAL |
						   1u << CTA_PROTOINFO_SCTP_VTAG_REPLY;
				req.sctp.state = st;
			}
	}
	nlh = ctnl_msg_start(buf, sizeof(buf), CTNL_MSG(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW),
			     NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 1, 0,
			     e->orig.l3num, 0, 0);
	if (!nlh || ctnl_ct_put(nlh, sizeof(buf), &req, CTNL_LAYOUT_REQUEST) < 0) {
		tok_error(x, i, "cannot build the request");
		return false;
	}
	s->pkt = malloc(nlh->nlmsg_len);
	if (!s->pkt)
		abort();
	memcpy(s->pkt, buf, nlh->nlmsg_len);
	s->len = nlh->nlmsg_len;
	return true;
}

static void set_header(struct pctx *x, const char *line)
{
	static const char *const keys[] = { "title", "shows", "source", "waits-for", "emulator-only" };
	const char *p = line + 1;

	while (*p == ' ' || *p == '\t')
		p++;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		size_t n = strlen(keys[k]);
		char **dst, *v, *e;

		if (strncmp(p, keys[k], n) || p[n] != ':')
			continue;
		v = (char *)p + n + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		e = v + strlen(v);
		while (e > v && isspace((unsigned char)e[-1]))
			e--;
		dst = k == 0 ? &x->sc->title : k == 1 ? &x->sc->shows : k == 2 ? &x->sc->source :
		      k == 3 ? &x->sc->waits_for : &x->sc->emulator_only;
		if (*dst) {	/* a continued header: append */
			char *j = malloc(strlen(*dst) + (size_t)(e - v) + 2);

			if (!j)
				abort();
			sprintf(j, "%s %.*s", *dst, (int)(e - v), v);
			free(*dst);
			*dst = j;
		} else {
			*dst = xstrndup(v, (size_t)(e - v));
		}
		return;
	}
}

static void parse_lines(struct pctx *x, struct lines *L)
{
	struct ct_settings scratch;

	ct_settings_init(&scratch);
	for (size_t k = 0; k < L->n; k++) {
		unsigned i = 0;
		const char *first;

		x->line = L->v[k];
		x->lineno = (unsigned)k + 1;
		first = x->line;
		while (isspace((unsigned char)*first))
			first++;
		if (*first == '#') {
			set_header(x, first);
			continue;
		}
		if (!tokenize(x) || x->nt == 0)
			continue;

		/* a time: +REL or @ABS */
		if (x->t[0].s[0] == '+' || x->t[0].s[0] == '@') {
			char buf[64];
			uint64_t ns;

			tok_str(x, 0, buf, sizeof(buf));
			if (!parse_duration(buf + 1, &ns)) {
				tok_error(x, 0, "bad time \"%s\" (+SECONDS after the previous step, "
					  "@SECONDS from the start; units s, ms, us, m, h)", buf);
				continue;
			}
			if (buf[0] == '@' && ns < x->now) {
				tok_error(x, 0, "time goes backwards: @%s is before the previous step "
					  "(%.3f s)", buf + 1, (double)x->now / 1e9);
				continue;
			}
			x->now = buf[0] == '+' ? x->now + ns : ns;
			i = 1;
			if (x->nt == 1) {
				tok_error(x, 1, "a time needs a step after it (a packet, or advance ...)");
				continue;
			}
		}

		if (is(x, i, "host")) {
			if (i || x->started)
				tok_error(x, i, "hosts are declared before the first step");
			else
				parse_host(x);
		} else if (is(x, i, "ruleset")) {
			struct sc_step *s;

			if (is(x, i + 1, "{") && x->nt == i + 2) {
				size_t end = block_end(L, k, true);

				if (end == L->n) {
					tok_error(x, i + 1, "the ruleset block is not closed");
					return;
				}
				s = add_step(x, SC_RULESET);
				s->block_line = (unsigned)k + 2;
				s->block = join(L, k + 1, end, false);
				free(check_ruleset_text(x, s->block, s->block_line));
				k = end;
			} else if (x->nt == i + 2) {
				char path[4096];

				s = add_step(x, SC_RULESET);
				tok_str(x, i + 1, path, sizeof(path));
				if (strcmp(path, "default") && strcmp(path, "none")) {
					/* relative to the scenario file */
					const char *slash = strrchr(x->name, '/');
					char full[8192];
					struct ruleset *rs;
					struct rs_errors e2;

					if (path[0] != '/' && slash)
						snprintf(full, sizeof(full), "%.*s/%s",
							 (int)(slash - x->name), x->name, path);
					else
						snprintf(full, sizeof(full), "%s", path);
					rs_errors_init(&e2);
					rs = ruleset_parse_file(full, &e2);
					if (!rs && e2.n && e2.v[0].line == 0)
						tok_error(x, i + 1, "%s", e2.v[0].msg);
					else
						copy_errors(x, &e2);
					rs_errors_free(&e2);
					ruleset_free(rs);
					s->name = xstrdup(full);
				} else {
					s->name = xstrdup(path);
				}
			} else {
				tok_error(x, i + 1, "ruleset { (the nft text, up to the matching }) | "
					  "ruleset FILE | ruleset default | ruleset none");
			}
			x->have_ruleset = true;
		} else if (is(x, i, "set")) {
			char name[128], value[128], err[256];
			int rc;

			if (x->nt == i + 2 && memchr(x->t[i + 1].s, '=', x->t[i + 1].len)) {
				tok_str(x, i + 1, name, sizeof(name));
				*strchr(name, '=') = '\0';
				snprintf(value, sizeof(value), "%s", name + strlen(name) + 1);
			} else if (x->nt == i + 3) {
				tok_str(x, i + 1, name, sizeof(name));
				tok_str(x, i + 2, value, sizeof(value));
			} else {
				tok_error(x, i + 1, "set NAME VALUE (a sysctl, e.g. set nf_conntrack_tcp_loose 0)");
				continue;
			}
			rc = ct_settings_set(&scratch, name, value, err, sizeof(err));
			if (rc < 0) {
				tok_error(x, rc == -1 || x->nt == i + 2 ? i + 1 : i + 2, "%s", err);
				continue;
			}
			{
				struct sc_step *s = add_step(x, SC_SET);

				s->name = xstrdup(name);
				s->value = xstrdup(value);
			}
		} else if (is(x, i, "advance")) {
			char buf[64];
			uint64_t ns;

			tok_str(x, i + 1, buf, sizeof(buf));
			if (x->nt != i + 2 || !parse_duration(buf, &ns)) {
				tok_error(x, i + 1, "advance DURATION (e.g. advance 30s, advance 1.5, "
					  "advance 500ms, advance 2m)");
				continue;
			}
			x->now += ns;
			add_step(x, SC_ADVANCE)->ns = ns;
			x->started = true;
		} else if (is(x, i, "reload")) {
			if (x->nt != i + 1) {
				tok_error(x, i + 1, "reload takes nothing (to load another ruleset, write a "
					  "new ruleset statement)");
				continue;
			}
			add_step(x, SC_RELOAD);
		} else if (is(x, i, "flush")) {
			if (x->nt != i + 1) {
				tok_error(x, i + 1, "flush takes nothing");
				continue;
			}
			add_step(x, SC_FLUSH);
			x->started = true;
		} else if (is(x, i, "listener")) {
			if (!(is(x, i + 1, "on") || is(x, i + 1, "off")) || x->nt != i + 2) {
				tok_error(x, i + 1, "listener on|off (conntrack -E started or stopped)");
				continue;
			}
			tok_str(x, i + 1, add_step(x, SC_LISTENER)->word, 8);
		} else if (is(x, i, "insert") && is(x, i + 1, "expect")) {
			parse_insert_expect(x, i + 2);
			x->started = true;
		} else if (is(x, i, "insert") || is(x, i, "delete")) {
			bool ins = is(x, i, "insert");
			struct sc_entry e;

			if (!parse_entry(x, i + 1, &e, ins))
				continue;
			if (ins && !(e.fields & SC_F_TIMEOUT)) {
				tok_error(x, x->nt, "insert needs a timeout (timeout N), as conntrack -I");
				continue;
			}
			if (ins && e.orig.l4num == IPPROTO_TCP && !(e.fields & SC_F_STATE)) {
				tok_error(x, x->nt, "a tcp entry needs a state (state ESTABLISHED ...)");
				continue;
			}
			if (ins && (e.orig.l4num == IPPROTO_TCP || e.orig.l4num == IPPROTO_UDP ||
				    e.orig.l4num == IPPROTO_SCTP) && !(e.fields & SC_F_PORTS)) {
				tok_error(x, i + 3, "give the ports (HOST:PORT)");
				continue;
			}
			if (ins) {
				struct sc_step *st = add_step(x, SC_INSERT);

				st->e = e;
				if (!build_insert(x, i, &e, st))
					continue;
			} else {
				add_step(x, SC_DELETE)->e = e;
			}
			x->started = true;
		} else if (is(x, i, "expect")) {
			parse_expect(x, i + 1, L, &k);
		} else if (find_host(x, i) && is(x, i + 1, ">")) {
			parse_packet(x, i);
			x->started = true;
		} else {
			char buf[64];

			tok_str(x, i, buf, sizeof(buf));
			if (is(x, i + 1, ">"))
				tok_error(x, i, "unknown host \"%s\"", buf);
			else
				tok_error(x, i, "unknown statement \"%s\" (host, ruleset, set, a packet "
					  "\"HOST > HOST PROTO ...\", advance, insert, delete, flush, "
					  "reload, listener, expect)", buf);
		}
	}
}

struct scenario *scenario_parse_string(const char *name, const char *text, struct rs_errors *errs)
{
	struct pctx *x = calloc(1, sizeof(*x));
	struct scenario *sc = calloc(1, sizeof(*sc));
	struct lines L = { 0 };
	size_t nerr = errs->n;
	const char *p = text;

	if (!x || !sc)
		abort();
	sc->path = xstrdup(name);
	sc->listener_at_start = true;
	x->name = name;
	x->errs = errs;
	x->sc = sc;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		/* Step over the whole line, '\r' included: a last line without
		 * '\n' that ends in '\r' would otherwise never be passed. */
		size_t next = e ? n + 1 : n;
		char **v = realloc(L.v, (L.n + 1) * sizeof(*v));

		if (!v)
			abort();
		L.v = v;
		if (n && p[n - 1] == '\r')
			n--;
		L.v[L.n++] = xstrndup(p, n);
		p += next;
	}
	parse_lines(x, &L);
	/* listener off before anything happened: conntrack -E was not started */
	for (size_t k = 0; k < sc->nsteps && sc->steps[k].kind != SC_PACKET; k++)
		if (sc->steps[k].kind == SC_LISTENER && !strcmp(sc->steps[k].word, "off"))
			sc->listener_at_start = false;
	if (!sc->nhosts && errs->n == nerr) {
		x->lineno = 1;
		x->line = L.n ? L.v[0] : "";
		error_at(x, 1, 1, "no hosts: declare them with host NAME ADDRESS [ADDRESS6]");
	}
	sc->duration_ns = x->now;
	for (size_t k = 0; k < L.n; k++)
		free(L.v[k]);
	free(L.v);
	free(x);
	if (errs->n != nerr) {
		scenario_free(sc);
		return NULL;
	}
	return sc;
}

struct scenario *scenario_parse_file(const char *path, struct rs_errors *errs)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, cap = 0;
	struct scenario *sc;

	if (!f) {
		struct rs_error *r;

		if (errs->n == errs->cap) {
			size_t c = errs->cap ? errs->cap * 2 : 8;
			struct rs_error *v = realloc(errs->v, c * sizeof(*v));

			if (!v)
				abort();
			errs->v = v;
			errs->cap = c;
		}
		r = &errs->v[errs->n++];
		memset(r, 0, sizeof(*r));
		r->file = xstrdup(path);
		{
			char msg[4200];

			snprintf(msg, sizeof(msg), "Could not open file \"%s\": %s", path, strerror(errno));
			r->msg = xstrdup(msg);
		}
		return NULL;
	}
	for (;;) {
		size_t n;

		if (len + 4096 + 1 > cap) {
			char *t = realloc(text, cap = (cap + 4096) * 2);

			if (!t)
				abort();
			text = t;
		}
		n = fread(text + len, 1, cap - len - 1, f);
		if (!n)
			break;
		len += n;
	}
	fclose(f);
	text[len] = '\0';
	sc = scenario_parse_string(path, text, errs);
	free(text);
	return sc;
}

void scenario_free(struct scenario *sc)
{
	if (!sc)
		return;
	for (size_t k = 0; k < sc->nsteps; k++) {
		struct sc_step *s = &sc->steps[k];

		free(s->text);
		free(s->pkt);
		free(s->name);
		free(s->value);
		free(s->block);
		free(s->str);
	}
	free(sc->steps);
	free(sc->path);
	free(sc->title);
	free(sc->shows);
	free(sc->source);
	free(sc->waits_for);
	free(sc->emulator_only);
	free(sc);
}
