/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scenario_parse.c — the scenario file format (docs/scenarios.md): one
 * statement per line, tokens separated by blanks, '#' comments, and three
 * kinds of blocks ({ ... }: an inline ruleset, an expected table, an
 * expected event log).
 *
 * Packet statements are handed to the packet notation compiler
 * (packet_notation.c), which reads their words through the same
 * sc_is()/sc_tok_num()/sc_need_host() ... (scenario_words.c) and turns
 * them into bytes, once: the run and the pcap export then see exactly the
 * same packets. `insert` and `insert expect` become the ctnetlink messages
 * conntrack(8) would send, built here once too.
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
#include "ctsim/scenario/packet_notation.h"
#include "ctsim/scenario/scenario.h"
#include "ctsim/scenario/scenario_words.h"
#include "ctsim/core/settings.h"

/* The state of one file being read: the current line and what the lines
 * before it set up (l: words, hosts; scenario_words.h), the flows (pn,
 * which l.pn points to; packet_notation.h), the time reached, the
 * statements seen. */
struct pctx {
	struct sc_line l;
	struct pn_state pn;
	struct scenario *sc;	/* being built (l.sc points to it too) */
	int nerr_start;
	/* state */
	uint64_t now;
	bool started;		/* a step other than set/host/ruleset/listener was seen */
	bool have_ruleset;
	unsigned held_line;	/* line of the packet held in flight, 0: none */
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

/* The errors of a ruleset file, as they are (they are located in that file). */
static void copy_errors(struct pctx *x, const struct rs_errors *from)
{
	for (size_t n = 0; n < from->n; n++) {
		const struct rs_error *r = &from->v[n];
		const char *name = x->l.name, *line = x->l.line;
		unsigned lineno = x->l.lineno;

		x->l.name = r->file;
		x->l.line = r->src_line ? r->src_line : "";
		x->l.lineno = r->line;
		sc_error_at(&x->l, r->col_first, r->col_last, "%s", r->msg);
		x->l.name = name;
		x->l.line = line;
		x->l.lineno = lineno;
	}
}

/* ---------------------------------------------------------------------- */
/* Tokens                                                                  */

/* Split @line into tokens; '#' outside quotes starts a comment. Returns
 * false (with an error) for an unterminated quote or too many tokens. */
static bool tokenize(struct pctx *x)
{
	const char *p = x->l.line;

	x->l.nt = 0;
	while (*p) {
		struct sc_tok *t;

		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (*p == '#')
			break;
		if (x->l.nt == SC_MAX_TOKS) {
			sc_error_at(&x->l, (unsigned)(p - x->l.line) + 1, (unsigned)(p - x->l.line) + 1,
				 "too many words on one line (at most %d)", SC_MAX_TOKS);
			return false;
		}
		t = &x->l.t[x->l.nt++];
		t->quoted = *p == '"';
		if (t->quoted) {
			const char *q = strchr(p + 1, '"');

			if (!q) {
				sc_error_at(&x->l, (unsigned)(p - x->l.line) + 1, (unsigned)strlen(x->l.line),
					 "unterminated string");
				return false;
			}
			t->s = p + 1;
			t->len = (size_t)(q - p - 1);
			t->col = (unsigned)(p - x->l.line) + 2;
			p = q + 1;
			continue;
		}
		t->s = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		t->len = (size_t)(p - t->s);
		t->col = (unsigned)(t->s - x->l.line) + 1;
	}
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
	s->line = x->l.lineno;
	s->at_ns = x->now;
	{
		const char *a = x->l.line, *b;

		while (isspace((unsigned char)*a))
			a++;
		b = a + strlen(a);
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		s->text = xstrndup(a, (size_t)(b - a));
	}
	return s;
}

/* ---------------------------------------------------------------------- */
/* host NAME ADDR [ADDR6] [side client|server]                             */

static void parse_host(struct pctx *x)
{
	struct scenario *sc = x->sc;
	struct sc_host h = { 0 };
	unsigned i = 2;
	bool side_given = false;

	if (x->l.nt < 3) {
		sc_tok_error(&x->l, x->l.nt, "usage: host NAME ADDRESS [ADDRESS6] [side client|server] [router]");
		return;
	}
	if (x->l.t[1].len >= sizeof(h.name) || !isalpha((unsigned char)x->l.t[1].s[0])) {
		sc_tok_error(&x->l, 1, "a host name starts with a letter and has at most %zu characters",
			  sizeof(h.name) - 1);
		return;
	}
	sc_tok_str(&x->l, 1, h.name, sizeof(h.name));
	if (sc_find_host(&x->l, 1)) {
		sc_tok_error(&x->l, 1, "host \"%s\" is already declared", h.name);
		return;
	}
	for (; i < x->l.nt && !sc_is(&x->l, i, "side") && !sc_is(&x->l, i, "router"); i++) {
		char buf[64];
		uint8_t tmp[16];

		sc_tok_str(&x->l, i, buf, sizeof(buf));
		if (inet_pton(AF_INET, buf, tmp) == 1 && !h.has4) {
			memcpy(&h.a4.ip, tmp, 4);
			h.has4 = true;
		} else if (inet_pton(AF_INET6, buf, tmp) == 1 && !h.has6) {
			memcpy(h.a6.b, tmp, 16);
			h.has6 = true;
		} else {
			sc_tok_error(&x->l, i, "\"%s\" is not an IPv4 or IPv6 address (one of each at most)", buf);
			return;
		}
	}
	if (sc_is(&x->l, i, "side")) {
		if (sc_is(&x->l, i + 1, "client"))
			h.side = SC_CLIENT;
		else if (sc_is(&x->l, i + 1, "server"))
			h.side = SC_SERVER;
		else {
			sc_tok_error(&x->l, i + 1, "side is \"client\" or \"server\"");
			return;
		}
		side_given = true;
		i += 2;
	}
	if (sc_is(&x->l, i, "router")) {
		h.router = true;
		i++;
	}
	if (i < x->l.nt) {
		sc_tok_error(&x->l, i, "unexpected word after the host's addresses");
		return;
	}
	if (!h.has4 && !h.has6) {
		sc_tok_error(&x->l, 2, "host \"%s\" needs an address", h.name);
		return;
	}
	if (!side_given)	/* the first host is the client, the others servers */
		h.side = sc->nhosts == 0 ? SC_CLIENT : SC_SERVER;
	if (sc->nhosts == SC_MAX_HOSTS) {
		sc_tok_error(&x->l, 1, "too many hosts (at most %d)", SC_MAX_HOSTS);
		return;
	}
	sc->hosts[sc->nhosts++] = h;
}

/* ---------------------------------------------------------------------- */
/* Packets: compiled by packet_notation.c                                  */

static void parse_packet(struct pctx *x, unsigned i)
{
	uint8_t buf[PN_PKT_MAX];
	enum sc_side side;
	int n = pn_packet(&x->l, i, buf, sizeof(buf), &side);
	struct sc_step *s;

	if (n < 0)
		return;
	s = add_step(x, SC_PACKET);
	s->side = side;
	s->pkt = malloc((size_t)n ? (size_t)n : 1);
	if (!s->pkt)
		abort();
	memcpy(s->pkt, buf, (size_t)n);
	s->len = (size_t)n;
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
	const struct sc_tok *t = &x->l.t[i];
	const char *colon = i < x->l.nt ? memchr(t->s, ':', t->len) : NULL;
	struct sc_host *h = NULL;
	size_t nlen = colon ? (size_t)(colon - t->s) : (i < x->l.nt ? t->len : 0);

	for (unsigned k = 0; k < x->sc->nhosts; k++)
		if (strlen(x->sc->hosts[k].name) == nlen && !memcmp(x->sc->hosts[k].name, t->s, nlen))
			h = &x->sc->hosts[k];
	if (!h) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%.*s", (int)nlen, i < x->l.nt ? t->s : "");
		if (i >= x->l.nt)
			sc_tok_error(&x->l, i, "a host is missing (HOST or HOST:PORT)");
		else
			sc_error_at(&x->l, t->col, t->col + (unsigned)nlen - 1 + !nlen, "unknown host \"%s\"", buf);
		return false;
	}
	if (!sc_host_addr(&x->l, i, h, family, a))
		return false;
	*has_port = colon != NULL;
	if (colon) {
		char buf[16], *end;
		size_t plen = t->len - nlen - 1;
		unsigned long v;

		snprintf(buf, sizeof(buf), "%.*s", (int)plen, colon + 1);
		v = strtoul(buf, &end, 10);
		if (!plen || *end || v > 0xffff || plen > 5) {
			sc_error_at(&x->l, t->col + (unsigned)nlen + 1, t->col + (unsigned)t->len - 1,
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
	if (sc_is(&x->l, i, "ip6")) {
		family = AF_INET6;
		i++;
	} else if (sc_is(&x->l, i, "ip")) {
		i++;
	}
	if (sc_is(&x->l, i, "tcp")) e->orig.l4num = IPPROTO_TCP;
	else if (sc_is(&x->l, i, "udp")) e->orig.l4num = IPPROTO_UDP;
	else if (sc_is(&x->l, i, "udplite")) e->orig.l4num = 136;
	else if (sc_is(&x->l, i, "sctp")) e->orig.l4num = IPPROTO_SCTP;
	else if (sc_is(&x->l, i, "dccp")) e->orig.l4num = 33;
	else if (sc_is(&x->l, i, "gre")) e->orig.l4num = IPPROTO_GRE;
	else if (sc_is(&x->l, i, "icmp")) e->orig.l4num = IPPROTO_ICMP;
	else if (sc_is(&x->l, i, "icmpv6")) { e->orig.l4num = IPPROTO_ICMPV6; family = AF_INET6; }
	else if (sc_is(&x->l, i, "proto") || sc_is(&x->l, i, "unknown")) {
		if (!sc_tok_num(&x->l, i + 1, 255, &v, "protocol number"))
			return false;
		e->orig.l4num = (uint8_t)v;
		i++;
	} else {
		sc_tok_str(&x->l, i, buf, sizeof(buf));
		sc_tok_error(&x->l, i, i < x->l.nt ? "unknown protocol \"%s\" (tcp, udp, icmp, icmpv6, gre, "
			  "sctp, proto N)" : "the protocol is missing%s", buf);
		return false;
	}
	i++;
	/* a host without an IPv4 address means IPv6 */
	{
		const struct sc_host *h = NULL;
		size_t nlen = i < x->l.nt ? strcspn(x->l.t[i].s, ":") : 0;

		if (i < x->l.nt && nlen > x->l.t[i].len)
			nlen = x->l.t[i].len;
		for (unsigned k = 0; k < x->sc->nhosts; k++)
			if (i < x->l.nt && strlen(x->sc->hosts[k].name) == nlen &&
			    !memcmp(x->sc->hosts[k].name, x->l.t[i].s, nlen))
				h = &x->sc->hosts[k];
		if (h && !h->has4)
			family = AF_INET6;
	}
	e->orig.l3num = family;
	if (!parse_endpoint(x, i, family, &e->orig.src, &e->orig.sport, &hp1))
		return false;
	if (!sc_is(&x->l, i + 1, ">")) {
		sc_tok_error(&x->l, i + 1, "expected \">\" (e.g. tcp c:40000 > s:80)");
		return false;
	}
	if (!parse_endpoint(x, i + 2, family, &e->orig.dst, &e->orig.dport, &hp2))
		return false;
	if (hp1 != hp2) {
		sc_tok_error(&x->l, hp1 ? i + 2 : i, "give both ports or none");
		return false;
	}
	if (hp1 && (e->orig.l4num == IPPROTO_ICMP || e->orig.l4num == IPPROTO_ICMPV6 ||
		    e->orig.l4num == IPPROTO_GRE)) {
		sc_tok_error(&x->l, i, "%s has no ports (use id N for ICMP)",
			  e->orig.l4num == IPPROTO_GRE ? "gre" : "icmp");
		return false;
	}
	if (hp1)
		e->fields |= SC_F_PORTS;
	if (e->orig.l4num == IPPROTO_ICMP || e->orig.l4num == IPPROTO_ICMPV6)
		e->orig.icmp_type = e->orig.l4num == IPPROTO_ICMP ? 8 : 128;
	i += 3;
	while (i < x->l.nt) {
		if (sc_is(&x->l, i, "id") && (e->orig.l4num == IPPROTO_ICMP || e->orig.l4num == IPPROTO_ICMPV6)) {
			if (!sc_tok_num(&x->l, i + 1, 0xffff, &v, "id"))
				return false;
			e->orig.sport = (uint16_t)v;
			e->fields |= SC_F_PORTS;
		} else if (sc_is(&x->l, i, "type") && (e->orig.l4num == IPPROTO_ICMP ||
						 e->orig.l4num == IPPROTO_ICMPV6)) {
			if (!sc_tok_num(&x->l, i + 1, 255, &v, "type"))
				return false;
			e->orig.icmp_type = (uint8_t)v;
		} else if (!fields) {
			sc_tok_str(&x->l, i, buf, sizeof(buf));
			sc_tok_error(&x->l, i, "unexpected \"%s\" (only the tuple here)", buf);
			return false;
		} else if (sc_is(&x->l, i, "state")) {
			if (i + 1 >= x->l.nt) {
				sc_tok_error(&x->l, i + 1, "state: a state name is missing (e.g. ESTABLISHED)");
				return false;
			}
			sc_tok_str(&x->l, i + 1, e->state, sizeof(e->state));
			for (char *p = e->state; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			{
				bool known = false;

				for (uint8_t s = 0; s < CT_TCP_MAX; s++)
					known |= !strcmp(ct_tcp_state_name(s), e->state);
				for (uint8_t s = 0; s < CT_SCTP_MAX; s++)
					known |= !strcmp(ct_sctp_state_name(s), e->state);
				if (!known) {
					sc_tok_error(&x->l, i + 1, "unknown state \"%s\" (SYN_SENT, SYN_RECV, "
						  "ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, "
						  "CLOSE, or an SCTP state)", e->state);
					return false;
				}
			}
			e->fields |= SC_F_STATE;
		} else if (sc_is(&x->l, i, "timeout")) {
			if (!sc_tok_num(&x->l, i + 1, 0x7fffffff, &v, "timeout"))
				return false;
			e->timeout = (uint32_t)v;
			e->fields |= SC_F_TIMEOUT;
		} else if (sc_is(&x->l, i, "mark")) {
			if (!sc_tok_num(&x->l, i + 1, 0xffffffffu, &v, "mark"))
				return false;
			e->mark = (uint32_t)v;
			e->fields |= SC_F_MARK;
		} else if (sc_is(&x->l, i, "zone")) {
			if (!sc_tok_num(&x->l, i + 1, 0xffff, &v, "zone"))
				return false;
			e->zone = (uint16_t)v;
			e->fields |= SC_F_ZONE;
		} else if (sc_is(&x->l, i, "use")) {
			if (!sc_tok_num(&x->l, i + 1, 0xffffffffu, &v, "use"))
				return false;
			e->use = (uint32_t)v;
			e->fields |= SC_F_USE;
		} else if (sc_is(&x->l, i, "labels")) {
			char list[256], *save = NULL, *w;

			sc_tok_str(&x->l, i + 1, list, sizeof(list));
			for (w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
				char *end;
				unsigned long b = strtoul(w, &end, 10);

				if (*end || b > 127) {
					sc_tok_error(&x->l, i + 1, "labels: bit numbers 0..127, comma-separated");
					return false;
				}
				e->labels[b / 8] |= (uint8_t)(1u << (b % 8));
			}
			e->fields |= SC_F_LABELS;
		} else if (sc_is(&x->l, i, "status")) {
			char list[256], *save = NULL, *w;

			sc_tok_str(&x->l, i + 1, list, sizeof(list));
			if (i + 1 >= x->l.nt) {
				sc_tok_error(&x->l, i + 1, "status: a list of flags is missing (e.g. ASSURED,SEEN_REPLY)");
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
					sc_tok_error(&x->l, i + 1, "unknown status flag \"%s\" (ASSURED, SEEN_REPLY, "
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
			sc_tok_str(&x->l, i, buf, sizeof(buf));
			sc_tok_error(&x->l, i, "unknown entry field \"%s\" (state, timeout, status, mark, zone, "
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
	rs = ruleset_parse_string(x->l.name, padded, x->l.errs);
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

	if (sc_is(&x->l, i, "verdict")) {
		if (!(sc_is(&x->l, i + 1, "accept") || sc_is(&x->l, i + 1, "drop")) || i + 2 < x->l.nt) {
			sc_tok_error(&x->l, i + 1, "expect verdict accept|drop");
			return;
		}
		s = add_step(x, SC_X_VERDICT);
		sc_tok_str(&x->l, i + 1, s->word, sizeof(s->word));
	} else if (sc_is(&x->l, i, "ctinfo") || (sc_is(&x->l, i, "ct") && sc_is(&x->l, i + 1, "state"))) {
		unsigned w = sc_is(&x->l, i, "ct") ? i + 2 : i + 1;

		if (!(sc_is(&x->l, w, "new") || sc_is(&x->l, w, "established") || sc_is(&x->l, w, "related") ||
		      sc_is(&x->l, w, "invalid") || sc_is(&x->l, w, "untracked")) || w + 1 < x->l.nt) {
			sc_tok_error(&x->l, w, "expect ctinfo new|established|related|invalid|untracked");
			return;
		}
		s = add_step(x, SC_X_CTINFO);
		sc_tok_str(&x->l, w, s->word, sizeof(s->word));
	} else if (sc_is(&x->l, i, "invalid")) {
		if (i + 2 < x->l.nt || (i + 1 < x->l.nt && !x->l.t[i + 1].quoted)) {
			sc_tok_error(&x->l, i + 1, "expect invalid [\"part of the reason\"]");
			return;
		}
		s = add_step(x, SC_X_INVALID);
		if (i + 1 < x->l.nt)
			s->str = xstrndup(x->l.t[i + 1].s, x->l.t[i + 1].len);
	} else if (sc_is(&x->l, i, "entry") || (sc_is(&x->l, i, "no") && sc_is(&x->l, i + 1, "entry"))) {
		bool no = sc_is(&x->l, i, "no");
		struct sc_entry e;

		if (!parse_entry(x, i + 1 + no, &e, !no))
			return;
		s = add_step(x, no ? SC_X_NO_ENTRY : SC_X_ENTRY);
		s->e = e;
	} else if (sc_is(&x->l, i, "table") || sc_is(&x->l, i, "events") || sc_is(&x->l, i, "expectations") ||
		   sc_is(&x->l, i, "expect-events")) {
		/* a block of lines as conntrack prints them */
		static const struct { const char *word; enum sc_kind kind; } blocks[] = {
			{ "table", SC_X_TABLE }, { "events", SC_X_EVENTS },
			{ "expectations", SC_X_EXPECTATIONS }, { "expect-events", SC_X_EXP_EVENTS },
		};
		enum sc_kind kind = SC_X_TABLE;
		const char *word = "table";
		size_t end;

		for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++)
			if (sc_is(&x->l, i, blocks[b].word)) {
				kind = blocks[b].kind;
				word = blocks[b].word;
			}
		if (sc_is(&x->l, i + 1, "{") && sc_is(&x->l, i + 2, "}") && x->l.nt == i + 3) {
			s = add_step(x, kind);
			s->block = xstrdup("");
			return;
		}
		if (!sc_is(&x->l, i + 1, "{") || x->l.nt != i + 2) {
			sc_tok_error(&x->l, i + 1, "expect %s { ... }: the lines follow, up to a line with "
				  "just }", word);
			return;
		}
		end = block_end(L, *k, false);
		if (end == L->n) {
			sc_tok_error(&x->l, i + 1, "this block is not closed (a line with just } ends it)");
			*k = L->n;
			return;
		}
		s = add_step(x, kind);
		s->block = join(L, *k + 1, end, true);
		s->block_line = (unsigned)*k + 2;
		*k = end;
	} else if (sc_is(&x->l, i, "stats")) {
		if (i + 1 >= x->l.nt) {
			sc_tok_error(&x->l, i + 1, "expect stats NAME=VALUE ... (found, invalid, insert, "
				  "insert_failed, drop, early_drop, error, ...)");
			return;
		}
		s = add_step(x, SC_X_STATS);
		for (unsigned w = i + 1; w < x->l.nt; w++) {
			const struct sc_tok *t = &x->l.t[w];
			const char *eq = memchr(t->s, '=', t->len);
			size_t n, nlen = eq ? (size_t)(eq - t->s) : t->len;
			char *end;

			for (n = 0; n < sizeof(stats_names) / sizeof(stats_names[0]); n++)
				if (strlen(stats_names[n]) == nlen && !memcmp(stats_names[n], t->s, nlen))
					break;
			if (!eq || n == sizeof(stats_names) / sizeof(stats_names[0])) {
				sc_tok_str(&x->l, w, buf, sizeof(buf));
				sc_tok_error(&x->l, w, eq ? "unknown counter \"%.*s\" (found, invalid, insert, "
					  "insert_failed, drop, early_drop, error, search_restart, "
					  "clash_resolve, chaintoolong)" : "expected NAME=VALUE, not \"%.*s\"",
					  (int)nlen, t->s);
				s->kind = SC_FLUSH;	/* neutralised; the scenario is rejected */
				return;
			}
			sc_tok_str(&x->l, w, buf, sizeof(buf));
			v = strtoull(buf + nlen + 1, &end, 10);
			if (!buf[nlen + 1] || *end) {
				sc_tok_error(&x->l, w, "\"%s\" is not a number", buf + nlen + 1);
				return;
			}
			if (s->nstats == SC_MAX_STATS) {
				sc_tok_error(&x->l, w, "too many counters");
				return;
			}
			snprintf(s->stats[s->nstats].name, sizeof(s->stats[0].name), "%s", stats_names[n]);
			s->stats[s->nstats++].v = v;
		}
	} else if (sc_is(&x->l, i, "count")) {
		if (!sc_tok_num(&x->l, i + 1, 0xffffffffu, &v, "count"))
			return;
		if (i + 2 < x->l.nt) {
			sc_tok_error(&x->l, i + 2, "expect count N");
			return;
		}
		s = add_step(x, SC_X_COUNT);
		s->count = v;
	} else {
		sc_tok_str(&x->l, i, buf, sizeof(buf));
		sc_tok_error(&x->l, i, i < x->l.nt ? "unknown expectation \"%s\" (verdict, ctinfo, invalid, "
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
	unsigned m = i, t = 0, nt = x->l.nt;
	struct sc_entry ee, me;
	struct ctnl_exp req;
	uint64_t timeout = 300;
	uint8_t buf[512];
	struct nlmsghdr *nlh;
	struct sc_step *s;
	size_t alen;

	while (m < nt && !sc_is(&x->l, m, "master"))
		m++;
	if (m == nt) {
		sc_tok_error(&x->l, nt, "insert expect TUPLE master TUPLE [timeout N]: the master is missing");
		return;
	}
	for (t = m + 1; t < nt && !sc_is(&x->l, t, "timeout"); t++)
		;
	if (t < nt && (!sc_tok_num(&x->l, t + 1, 0xffffffffu, &timeout, "timeout") || t + 2 < nt)) {
		if (t + 2 < nt)
			sc_tok_error(&x->l, t + 2, "nothing may follow the timeout");
		return;
	}
	x->l.nt = m;		/* the expected tuple ends at "master" */
	if (!parse_entry(x, i, &ee, false)) {
		x->l.nt = nt;
		return;
	}
	x->l.nt = t;		/* the master's at "timeout" */
	if (!parse_entry(x, m + 1, &me, false)) {
		x->l.nt = nt;
		return;
	}
	x->l.nt = nt;
	if (!port_fields(ee.orig.l4num) || !port_fields(me.orig.l4num) ||
	    !(ee.fields & SC_F_PORTS) || !(me.fields & SC_F_PORTS)) {
		sc_tok_error(&x->l, port_fields(ee.orig.l4num) && (ee.fields & SC_F_PORTS) ? m + 1 : i,
			  "expectations here are for TCP/UDP-like tuples with ports "
			  "(e.g. tcp s:0 > c:50000)");
		return;
	}
	if (ee.orig.l3num != me.orig.l3num) {
		sc_tok_error(&x->l, m + 1, "the master's family differs from the expectation's");
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
		sc_tok_error(&x->l, i, "cannot build the request");
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
 * (ctnetlink_ct_new()), the daemon's own code. --kernel runs the same insert
 * with conntrack(8). Returns false after an error message.
 */
static bool build_insert(struct pctx *x, unsigned i, const struct sc_entry *e, struct sc_step *s)
{
	uint32_t l4f = CT_TF_IP_SRC | CT_TF_IP_DST | CT_TF_PROTO_NUM |
		       export_tuple_l4_fields(e->orig.l4num);
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
		sc_tok_error(&x->l, i, "cannot build the request");
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

		x->l.line = L->v[k];
		x->l.lineno = (unsigned)k + 1;
		first = x->l.line;
		while (isspace((unsigned char)*first))
			first++;
		if (*first == '#') {
			set_header(x, first);
			continue;
		}
		if (!tokenize(x) || x->l.nt == 0)
			continue;

		/* a time: +REL or @ABS */
		if (x->l.t[0].s[0] == '+' || x->l.t[0].s[0] == '@') {
			char buf[64];
			uint64_t ns;

			sc_tok_str(&x->l, 0, buf, sizeof(buf));
			if (!parse_duration(buf + 1, &ns)) {
				sc_tok_error(&x->l, 0, "bad time \"%s\" (+SECONDS after the previous step, "
					  "@SECONDS from the start; units s, ms, us, m, h)", buf);
				continue;
			}
			if (buf[0] == '@' && ns < x->now) {
				sc_tok_error(&x->l, 0, "time goes backwards: @%s is before the previous step "
					  "(%.3f s)", buf + 1, (double)x->now / 1e9);
				continue;
			}
			x->now = buf[0] == '+' ? x->now + ns : ns;
			i = 1;
			if (x->l.nt == 1) {
				sc_tok_error(&x->l, 1, "a time needs a step after it (a packet, or advance ...)");
				continue;
			}
		}

		if (sc_is(&x->l, i, "host")) {
			if (i || x->started)
				sc_tok_error(&x->l, i, "hosts are declared before the first step");
			else
				parse_host(x);
		} else if (sc_is(&x->l, i, "ruleset")) {
			struct sc_step *s;

			if (sc_is(&x->l, i + 1, "{") && x->l.nt == i + 2) {
				size_t end = block_end(L, k, true);

				if (end == L->n) {
					sc_tok_error(&x->l, i + 1, "the ruleset block is not closed");
					return;
				}
				s = add_step(x, SC_RULESET);
				s->block_line = (unsigned)k + 2;
				s->block = join(L, k + 1, end, false);
				free(check_ruleset_text(x, s->block, s->block_line));
				k = end;
			} else if (x->l.nt == i + 2) {
				char path[4096];

				s = add_step(x, SC_RULESET);
				sc_tok_str(&x->l, i + 1, path, sizeof(path));
				if (strcmp(path, "default") && strcmp(path, "none")) {
					/* relative to the scenario file */
					const char *slash = strrchr(x->l.name, '/');
					char full[8192];
					struct ruleset *rs;
					struct rs_errors e2;

					if (path[0] != '/' && slash)
						snprintf(full, sizeof(full), "%.*s/%s",
							 (int)(slash - x->l.name), x->l.name, path);
					else
						snprintf(full, sizeof(full), "%s", path);
					rs_errors_init(&e2);
					rs = ruleset_parse_file(full, &e2);
					if (!rs && e2.n && e2.v[0].line == 0)
						sc_tok_error(&x->l, i + 1, "%s", e2.v[0].msg);
					else
						copy_errors(x, &e2);
					rs_errors_free(&e2);
					ruleset_free(rs);
					s->name = xstrdup(full);
				} else {
					s->name = xstrdup(path);
				}
			} else {
				sc_tok_error(&x->l, i + 1, "ruleset { (the nft text, up to the matching }) | "
					  "ruleset FILE | ruleset default | ruleset none");
			}
			x->have_ruleset = true;
		} else if (sc_is(&x->l, i, "set")) {
			char name[128], value[128], err[256];
			int rc;

			if (x->l.nt == i + 2 && memchr(x->l.t[i + 1].s, '=', x->l.t[i + 1].len)) {
				sc_tok_str(&x->l, i + 1, name, sizeof(name));
				*strchr(name, '=') = '\0';
				snprintf(value, sizeof(value), "%s", name + strlen(name) + 1);
			} else if (x->l.nt == i + 3) {
				sc_tok_str(&x->l, i + 1, name, sizeof(name));
				sc_tok_str(&x->l, i + 2, value, sizeof(value));
			} else {
				sc_tok_error(&x->l, i + 1, "set NAME VALUE (a sysctl, e.g. set nf_conntrack_tcp_loose 0)");
				continue;
			}
			rc = ct_settings_set(&scratch, name, value, err, sizeof(err));
			if (rc < 0) {
				sc_tok_error(&x->l, rc == -1 || x->l.nt == i + 2 ? i + 1 : i + 2, "%s", err);
				continue;
			}
			/* The runner applies such a setting before the table is
			 * made (scenario_run()); later, it could only be ignored. */
			if (ct_settings_shapes_table(name) && (x->started || x->now)) {
				sc_tok_error(&x->l, i + 1, "%s shapes the table when it is created: set it "
					     "at time 0, before the first packet, advance, insert, delete "
					     "or flush", name);
				continue;
			}
			{
				struct sc_step *s = add_step(x, SC_SET);

				s->name = xstrdup(name);
				s->value = xstrdup(value);
			}
		} else if (sc_is(&x->l, i, "advance")) {
			char buf[64];
			uint64_t ns;

			sc_tok_str(&x->l, i + 1, buf, sizeof(buf));
			if (x->l.nt != i + 2 || !parse_duration(buf, &ns)) {
				sc_tok_error(&x->l, i + 1, "advance DURATION (e.g. advance 30s, advance 1.5, "
					  "advance 500ms, advance 2m)");
				continue;
			}
			x->now += ns;
			add_step(x, SC_ADVANCE)->ns = ns;
			x->started = true;
		} else if (sc_is(&x->l, i, "reload")) {
			if (x->l.nt != i + 1) {
				sc_tok_error(&x->l, i + 1, "reload takes nothing (to load another ruleset, write a "
					  "new ruleset statement)");
				continue;
			}
			add_step(x, SC_RELOAD);
		} else if (sc_is(&x->l, i, "flush")) {
			if (x->l.nt != i + 1) {
				sc_tok_error(&x->l, i + 1, "flush takes nothing");
				continue;
			}
			add_step(x, SC_FLUSH);
			x->started = true;
		} else if (sc_is(&x->l, i, "listener")) {
			if (!(sc_is(&x->l, i + 1, "on") || sc_is(&x->l, i + 1, "off")) || x->l.nt != i + 2) {
				sc_tok_error(&x->l, i + 1, "listener on|off (conntrack -E started or stopped)");
				continue;
			}
			sc_tok_str(&x->l, i + 1, add_step(x, SC_LISTENER)->word, 8);
		} else if (sc_is(&x->l, i, "insert") && sc_is(&x->l, i + 1, "expect")) {
			parse_insert_expect(x, i + 2);
			x->started = true;
		} else if (sc_is(&x->l, i, "insert") || sc_is(&x->l, i, "delete")) {
			bool ins = sc_is(&x->l, i, "insert");
			struct sc_entry e;

			if (!parse_entry(x, i + 1, &e, ins))
				continue;
			if (ins && !(e.fields & SC_F_TIMEOUT)) {
				sc_tok_error(&x->l, x->l.nt, "insert needs a timeout (timeout N), as conntrack -I");
				continue;
			}
			if (ins && e.orig.l4num == IPPROTO_TCP && !(e.fields & SC_F_STATE)) {
				sc_tok_error(&x->l, x->l.nt, "a tcp entry needs a state (state ESTABLISHED ...)");
				continue;
			}
			if (ins && (e.orig.l4num == IPPROTO_TCP || e.orig.l4num == IPPROTO_UDP ||
				    e.orig.l4num == IPPROTO_SCTP) && !(e.fields & SC_F_PORTS)) {
				sc_tok_error(&x->l, i + 3, "give the ports (HOST:PORT)");
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
		} else if (sc_is(&x->l, i, "expect")) {
			parse_expect(x, i + 1, L, &k);
		} else if (sc_find_host(&x->l, i) && sc_is(&x->l, i + 1, ">")) {
			parse_packet(x, i);
			x->started = true;
		} else if (sc_is(&x->l, i, "hold")) {
			/* two packets in flight (issue 15): this one stops
			 * before confirmation until `release` */
			size_t before = x->sc->nsteps;

			if (!(sc_find_host(&x->l, i + 1) && sc_is(&x->l, i + 2, ">"))) {
				sc_tok_error(&x->l, i + 1, "hold HOST > HOST PACKET (a packet that stops before "
					     "confirmation, in flight, until release)");
				continue;
			}
			if (x->held_line) {
				sc_tok_error(&x->l, i, "a packet is already held (line %u): release it first",
					     x->held_line);
				continue;
			}
			parse_packet(x, i + 1);
			if (x->sc->nsteps > before) {
				x->sc->steps[x->sc->nsteps - 1].hold = true;
				x->held_line = x->l.lineno;
			}
			x->started = true;
		} else if (sc_is(&x->l, i, "address") && sc_is(&x->l, i + 1, "del")) {
			const struct sc_host *h = sc_need_host(&x->l, i + 2);

			if (!h)
				continue;
			if (!h->router) {
				sc_tok_error(&x->l, i + 2, "%s is not one of the router's addresses "
					     "(host NAME ADDR side S router)", h->name);
				continue;
			}
			if (x->l.nt != i + 3) {
				sc_tok_error(&x->l, i + 3, "address del HOST takes nothing more");
				continue;
			}
			add_step(x, SC_ADDR_DEL)->name = xstrdup(h->name);
			x->started = true;
		} else if (sc_is(&x->l, i, "address")) {
			sc_tok_error(&x->l, i + 1, "address del HOST (a router address goes away, as ip addr del)");
			continue;
		} else if (sc_is(&x->l, i, "release")) {
			if (x->l.nt != i + 1) {
				sc_tok_error(&x->l, i + 1, "release takes nothing");
				continue;
			}
			if (!x->held_line) {
				sc_tok_error(&x->l, i, "release: no packet is held (hold HOST > ... first)");
				continue;
			}
			add_step(x, SC_RELEASE);
			x->held_line = 0;
			x->started = true;
		} else {
			char buf[64];

			sc_tok_str(&x->l, i, buf, sizeof(buf));
			if (sc_is(&x->l, i + 1, ">"))
				sc_tok_error(&x->l, i, "unknown host \"%s\"", buf);
			else
				sc_tok_error(&x->l, i, "unknown statement \"%s\" (host, ruleset, set, a packet "
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
	x->l.name = name;
	x->l.errs = errs;
	x->l.sc = sc;
	x->l.pn = &x->pn;
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
	if (x->held_line) {
		x->l.lineno = x->held_line;
		x->l.line = L.v[x->held_line - 1];
		sc_error_at(&x->l, 1, (unsigned)strlen(x->l.line) ? (unsigned)strlen(x->l.line) : 1,
			    "the packet held here is never released (add a release line)");
	}
	/* listener off before anything happened: conntrack -E was not started */
	for (size_t k = 0; k < sc->nsteps && sc->steps[k].kind != SC_PACKET; k++)
		if (sc->steps[k].kind == SC_LISTENER && !strcmp(sc->steps[k].word, "off"))
			sc->listener_at_start = false;
	if (!sc->nhosts && errs->n == nerr) {
		x->l.lineno = 1;
		x->l.line = L.n ? L.v[0] : "";
		sc_error_at(&x->l, 1, 1, "no hosts: declare them with host NAME ADDRESS [ADDRESS6]");
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
	if (memchr(text, '\0', len)) {
		/* Not text: everything after the first NUL would vanish unseen. */
		const char *nul = memchr(text, '\0', len), *bol = text;
		unsigned lineno = 1;
		struct sc_line l;

		for (const char *q = text; q < nul; q++)
			if (*q == '\n') {
				lineno++;
				bol = q + 1;
			}
		memset(&l, 0, sizeof(l));
		l.name = path;
		l.errs = errs;
		l.lineno = lineno;
		l.line = bol;		/* printed up to the NUL */
		sc_error_at(&l, (unsigned)(nul - bol) + 1, (unsigned)(nul - bol) + 1,
			    "a NUL byte: a scenario is text (write bytes in data \"...\" as \\x00)");
		free(text);
		return NULL;
	}
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
