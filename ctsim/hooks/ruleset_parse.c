/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset_parse.c — the nft-subset ruleset language's grammar: tokens
 * (ruleset_lex.c) -> tables, chains, rules (ruleset.h), nft's parser_bison.y
 * role; the checks after it are in ruleset_check.c, the printer in
 * ruleset_print.c.
 *
 * How to read this file:
 *   1. the lexer (ruleset_lex.c) turns the text into tokens (words,
 *      strings, punctuation, newlines — newlines separate rules as in nft)
 *      and expands `define`d variables;
 *   2. the parser walks the tokens: file -> table -> chain / ct helper ->
 *      rule -> match | statement. What each match accepts is one row of
 *      key_table[] (ruleset_names.c, with the symbol tables); statements
 *      are the branches of parse_rule_elem() (verdicts, counter, log,
 *      limit, ct/meta set, nat, reject ...);
 *   3. rs_check_table() (ruleset_check.c) resolves jump targets and helper objects, detects
 *      jump loops (the kernel's nft_chain_validate() -ELOOP);
 *   4. rs_build_hooks() sorts base chains by priority for the evaluator.
 * Any error: everything is freed, NULL returned (nft loads a file in one
 * transaction: all or nothing).
 *
 * Error messages follow nft's where nft has a clear one ("conflicting
 * protocols specified: ip vs. ip6", "Statement after terminal statement has
 * no effect", "you cannot set chain policy twice"), and are more specific
 * where nft only says "syntax error" or forwards a kernel errno.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "ctsim/core/helper.h"
#include "ctsim/core/settings.h"
#include "ctsim/hooks/ruleset_int.h"

/* ---------------------------------------------------------------------- */
/* Error recovery and names                                                */

/* Skip to the end of the current statement: the next separator or a '}'
 * of this level (not consumed); nested braces are skipped whole. */
static void skip_stmt(struct parser *p)
{
	int depth = 0;

	for (;;) {
		struct tok *t = peek(p);

		if (t->t == T_EOF)
			return;
		if (depth == 0 && (is_sep(t) || t->t == T_RBRACE))
			return;
		if (t->t == T_LBRACE)
			depth++;
		else if (t->t == T_RBRACE)
			depth--;
		next(p);
	}
}

/* Skip a whole block whose '{' was consumed, including its '}'. */
static void skip_block(struct parser *p)
{
	int depth = 1;

	while (depth > 0 && peek(p)->t != T_EOF) {
		struct tok *t = next(p);

		if (t->t == T_LBRACE)
			depth++;
		else if (t->t == T_RBRACE)
			depth--;
	}
}

/* nft terminates every line of a block with a newline or ';' — even the
 * last one before '}' ("syntax error, unexpected '}', expecting newline or
 * semicolon" in nft 1.0.6). */
static bool expect_sep(struct parser *p)
{
	struct tok *t = peek(p);
	char buf[64];

	if (is_sep(t) || t->t == T_EOF) {
		next(p);
		return true;
	}
	err_tok(p, t, "expected ';' or newline, got %s", rs_tok_desc(t, buf, sizeof(buf)));
	return false;
}

/* Words nft's grammar reserves: not usable as table, chain or object names. */
static const char *const reserved[] = {
	"accept", "drop", "reject", "return", "jump", "goto", "continue", "queue",
	"counter", "log", "limit", "ct", "meta", "ip", "ip6", "inet", "tcp", "udp",
	"icmp", "icmpv6", "sctp", "type", "hook", "policy", "priority", "table",
	"chain", "mark", "snat", "dnat", "masquerade", "redirect", "notrack", "fwd",
	"flush", "define", "set", "map", "iif", "oif", "iifname", "oifname", "helper",
	"zone", "to", "with", "prefix", NULL,
};

/* The kernel's NFT_NAME_MAXLEN is 256 with the NUL: a longer table, chain or
 * object name is refused with ERANGE. nft's parser refuses a table name over
 * 256 characters itself, with its own words; both are matched. */
#define RS_NAME_MAXLEN 256

static bool name_too_long(struct parser *p, const struct tok *t, const char *what)
{
	size_t len = strlen(t->s);

	if (len < RS_NAME_MAXLEN)
		return false;
	if (len > RS_NAME_MAXLEN && !strcmp(what, "table"))
		err_tok(p, t, "name too long, %d characters maximum allowed", RS_NAME_MAXLEN);
	else
		err_tok(p, t, "Could not process rule: Numerical result out of range "
			"(a %s name has at most %d characters)", what, RS_NAME_MAXLEN - 1);
	return true;
}

static char *parse_name(struct parser *p, const char *what)
{
	struct tok *t = peek(p);
	char buf[64];

	if (t->t == T_STRING && what[0] == 'h') {	/* ct helper "name" is fine */
		if (name_too_long(p, t, what))
			return NULL;
		next(p);
		return xstrdup(t->s);
	}
	if (t->t != T_WORD || !(isalpha((unsigned char)t->s[0]) || t->s[0] == '_')) {
		err_tok(p, t, "expected a %s name, got %s", what, rs_tok_desc(t, buf, sizeof(buf)));
		return NULL;
	}
	for (size_t i = 0; reserved[i]; i++)
		if (!strcmp(t->s, reserved[i])) {
			err_tok(p, t, "\"%s\" is a keyword and cannot be a %s name", t->s, what);
			return NULL;
		}
	if (name_too_long(p, t, what))
		return NULL;
	next(p);
	return xstrdup(t->s);
}

/* ---------------------------------------------------------------------- */
/* Values (the symbol and key tables: ruleset_names.c)                     */

static const struct sym log_level_syms[] = {
	{ "emerg", 0 }, { "alert", 1 }, { "crit", 2 }, { "err", 3 }, { "warn", 4 },
	{ "notice", 5 }, { "info", 6 }, { "debug", 7 }, { "audit", 8 }, { NULL, 0 },
};

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && *end == 0;
}

/* A number or symbol of @kd's type, from the word @s (part of @t). */
static bool parse_scalar(struct parser *p, const struct keydesc *kd, const struct tok *t,
			 const char *s, uint64_t *v)
{
	const struct sym *sy = rs_sym_find(kd->syms, s);
	char list[600];

	if (sy) {
		*v = sy->v;
		return true;
	}
	if (parse_u64(s, v)) {
		if (*v > kd->max) {
			if (!strcmp(kd->unit, "port"))
				err_tok(p, t, "port %s out of range (0-65535)", s);
			else
				err_tok(p, t, "%s %s out of range (0-%" PRIu64 ")", kd->unit, s, kd->max);
			return false;
		}
		return true;
	}
	if (kd->syms) {
		rs_sym_list(kd->syms, list, sizeof(list));
		err_tok(p, t, "unknown %s \"%s\" (expected a number or one of: %s)", kd->unit, s, list);
	} else {
		err_tok(p, t, "expected a %s number, got \"%s\"", kd->unit, s);
	}
	return false;
}

static void addr_mask(union ct_addr *a, int plen, int bits, bool high)
{
	for (int i = 0; i < bits / 8; i++) {
		int keep = plen - 8 * i;
		uint8_t m = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		a->b[i] = high ? (uint8_t)(a->b[i] | ~m) : (uint8_t)(a->b[i] & m);
	}
}

static bool parse_addr1(const char *s, bool v6, union ct_addr *a)
{
	memset(a, 0, sizeof(*a));
	return inet_pton(v6 ? AF_INET6 : AF_INET, s, a->b) == 1;
}

/* One value of @kd's type from token @t into @v. */
static bool parse_value(struct parser *p, const struct keydesc *kd, const struct tok *t,
			struct rs_value *v)
{
	char buf[128];

	memset(v, 0, sizeof(*v));
	v->plen = -1;
	switch (kd->type) {
	case VT_IFNAME:
	case VT_STR:
		if (t->t != T_STRING && t->t != T_WORD) {
			err_tok(p, t, "expected a %s name, got %s", kd->unit, rs_tok_desc(t, buf, sizeof(buf)));
			return false;
		}
		if (kd->type == VT_STR && t->t != T_STRING) {
			err_tok(p, t, "%s name must be a quoted string, as in \"%s\"", kd->unit, t->s);
			return false;
		}
		if (strlen(t->s) > 15) {
			err_tok(p, t, "String exceeds maximum length of 16");	/* IFNAMSIZ, nft's words */
			return false;
		}
		v->str = xstrdup(t->s);
		return true;
	case VT_INT:
	case VT_FLAGS: {
		char *dash;

		if (t->t != T_WORD) {
			err_tok(p, t, "expected a %s, got %s", kd->unit, rs_tok_desc(t, buf, sizeof(buf)));
			return false;
		}
		snprintf(buf, sizeof(buf), "%s", t->s);
		dash = kd->type == VT_INT && !kd->syms ? strchr(buf, '-') : NULL;
		if (dash && dash != buf) {	/* range a-b (not for symbolic types: names contain '-') */
			*dash = 0;
			if (!parse_scalar(p, kd, t, buf, &v->lo) || !parse_scalar(p, kd, t, dash + 1, &v->hi))
				return false;
			if (v->lo > v->hi) {
				err_tok(p, t, "range %s is empty: %s is greater than %s", t->s, buf, dash + 1);
				return false;
			}
			return true;
		}
		if (!parse_scalar(p, kd, t, buf, &v->lo))
			return false;
		v->hi = v->lo;
		return true;
	}
	case VT_ADDR4:
	case VT_ADDR6: {
		bool v6 = kd->type == VT_ADDR6;
		int bits = v6 ? 128 : 32;
		char *slash, *dash;

		if (t->t != T_WORD) {
			err_tok(p, t, "expected an %s address, got %s", v6 ? "IPv6" : "IPv4",
				rs_tok_desc(t, buf, sizeof(buf)));
			return false;
		}
		snprintf(buf, sizeof(buf), "%s", t->s);
		slash = strchr(buf, '/');
		dash = strchr(buf, '-');
		if (slash) {
			uint64_t pl;

			*slash = 0;
			if (!parse_u64(slash + 1, &pl) || pl > (uint64_t)bits) {
				err_tok(p, t, "Prefix length %s is invalid for type of %d bits width",
					slash + 1, bits);
				return false;
			}
			v->plen = (int)pl;
		} else if (dash) {
			*dash = 0;
		}
		if (!parse_addr1(buf, v6, &v->alo)) {
			if (!v6 && strchr(buf, ':'))
				err_tok(p, t, "conflicting protocols specified: ip vs. ip6 (\"%s\" is an IPv6 address)", buf);
			else
				err_tok(p, t, "invalid %s address \"%s\"", v6 ? "IPv6" : "IPv4", buf);
			return false;
		}
		v->ahi = v->alo;
		if (slash) {
			addr_mask(&v->alo, v->plen, bits, false);	/* nft masks 10.0.0.1/8 to 10.0.0.0/8 */
			addr_mask(&v->ahi, v->plen, bits, true);
		} else if (dash) {
			if (!parse_addr1(dash + 1, v6, &v->ahi)) {
				err_tok(p, t, "invalid %s address \"%s\"", v6 ? "IPv6" : "IPv4", dash + 1);
				return false;
			}
			if (rs_addr_cmp(&v->alo, &v->ahi) > 0) {
				err_tok(p, t, "range %s is empty: the first address is greater", t->s);
				return false;
			}
		}
		return true;
	}
	}
	return false;
}

/* flag | flag | ... optionally in parentheses (the mask of `& (syn|ack)`). */
static bool parse_flag_expr(struct parser *p, const struct keydesc *kd, uint64_t *out)
{
	bool paren = false;
	uint64_t v;

	*out = 0;
	if (peek(p)->t == T_LPAREN) {
		next(p);
		paren = true;
	}
	do {
		struct tok *t = next(p);
		if (t->t != T_WORD) {
			char buf[64];
			err_tok(p, t, "expected a %s, got %s", kd->unit, rs_tok_desc(t, buf, sizeof(buf)));
			return false;
		}
		if (!parse_scalar(p, kd, t, t->s, &v))
			return false;
		*out |= v;
	} while (peek(p)->t == T_PIPE && next(p));
	if (paren) {
		struct tok *t = next(p);
		if (t->t != T_RPAREN) {
			err_tok(p, t, "expected ')'");
			return false;
		}
	}
	return true;
}

static void push_value(struct rs_match *m, const struct rs_value *v)
{
	m->vals = xrealloc(m->vals, (m->nvals + 1) * sizeof(*m->vals));
	m->vals[m->nvals++] = *v;
}

static void match_free(struct rs_match *m)
{
	for (size_t i = 0; i < m->nvals; i++)
		free(m->vals[i].str);
	free(m->vals);
}

/* After the key words: [op] value | value,value | { set } | & mask op value | value / mask */
static bool parse_match(struct parser *p, const struct keydesc *kd, struct rs_match *m)
{
	struct rs_value v;
	struct tok *t = peek(p);

	memset(m, 0, sizeof(*m));
	m->key = kd->key;
	m->op = RS_OP_EQ;
	if (t->t == T_NEQ) {
		next(p);
		m->op = RS_OP_NEQ;
	} else if (t->t == T_EQEQ) {
		next(p);
	} else if (t->t == T_AMP) {
		if (kd->type != VT_FLAGS && kd->type != VT_INT) {
			err_tok(p, t, "'&' needs a numeric or flag expression");
			return false;
		}
		next(p);
		if (!parse_flag_expr(p, kd, &m->mask))
			return false;
		t = next(p);
		if (t->t == T_EQEQ)
			m->op = RS_OP_MASK_EQ;
		else if (t->t == T_NEQ)
			m->op = RS_OP_MASK_NEQ;
		else {
			err_tok(p, t, "expected '==' or '!=' after the mask");
			return false;
		}
		memset(&v, 0, sizeof(v));
		v.plen = -1;
		if (!parse_flag_expr(p, kd, &v.lo))
			return false;
		v.hi = v.lo;
		push_value(m, &v);
		return true;
	}

	t = peek(p);
	if (t->t == T_LBRACE) {		/* anonymous set */
		next(p);
		m->set = true;
		for (;;) {
			while (peek(p)->t == T_NL || peek(p)->t == T_COMMA)
				next(p);
			t = peek(p);
			if (t->t == T_RBRACE) {
				next(p);
				break;
			}
			if (t->t == T_EOF || t->t == T_SEMI || t->t == T_LBRACE) {
				err_tok(p, t, "unterminated set: expected '}'");
				return false;
			}
			next(p);
			if (!parse_value(p, kd, t, &v))
				return false;
			push_value(m, &v);
		}
		if (m->nvals == 0) {
			err_tok(p, t, "empty set");
			return false;
		}
		return true;
	}
	if (t->t == T_NL || t->t == T_SEMI || t->t == T_RBRACE || t->t == T_EOF) {
		char buf[64];
		err_tok(p, t, "expected a %s after \"%s%s%s\", got %s", kd->unit, kd->w1 ? kd->w1 : "",
			kd->w1 ? " " : "", kd->w2, rs_tok_desc(t, buf, sizeof(buf)));
		return false;
	}
	next(p);
	if (!parse_value(p, kd, t, &v))
		return false;
	push_value(m, &v);
	if (peek(p)->t == T_COMMA) {
		if (kd->type != VT_FLAGS) {
			/* nft: "Basetype of type ... is not bitmask" */
			err_tok(p, peek(p), "a comma list needs a flag type; use a set: { a, b }");
			return false;
		}
		m->list = true;
		while (peek(p)->t == T_COMMA) {
			next(p);
			t = next(p);
			if (!parse_value(p, kd, t, &v))
				return false;
			push_value(m, &v);
		}
	}
	if (kd->type == VT_FLAGS && m->op == RS_OP_EQ && is_word(peek(p), "/")) {	/* value / mask */
		uint64_t val = 0;

		next(p);
		for (size_t i = 0; i < m->nvals; i++)
			val |= m->vals[i].lo;
		m->nvals = 1;
		m->vals[0].lo = m->vals[0].hi = val;
		m->list = false;
		m->op = RS_OP_MASK_EQ;
		do {
			t = next(p);
			if (!parse_value(p, kd, t, &v))
				return false;
			m->mask |= v.lo;
		} while (peek(p)->t == T_COMMA && next(p));
	}
	return true;
}

/* ---------------------------------------------------------------------- */
/* Statements                                                              */

struct rule_ctx {
	struct parser *p;
	struct rs_table *table;
	struct rs_chain *chain;
	struct rs_rule *rule;
	bool terminal;		/* a verdict was seen: nothing may follow */
	bool l4match;		/* a transport protocol is matched (for NAT port mappings) */
	const struct tok *first;
};

static void rule_add_stmt(struct rs_rule *r, const struct rs_stmt *s)
{
	r->stmts = xrealloc(r->stmts, (r->nstmts + 1) * sizeof(*r->stmts));
	r->stmts[r->nstmts++] = *s;
}

static bool parse_port_range(struct parser *p, const struct tok *t, const char *s,
			     uint16_t *lo, uint16_t *hi)
{
	static const struct keydesc port = { NULL, "port", 0, VT_INT, NULL, 65535, "port", 0, 0, false, false };
	struct rs_value v;
	struct tok tt = *t;

	tt.s = (char *)s;
	if (!parse_value(p, &port, &tt, &v))
		return false;
	*lo = (uint16_t)v.lo;
	*hi = (uint16_t)v.hi;
	return true;
}

/* An error on part of token @t: @len bytes from byte @off of its text, as
 * nft underlines the part of an expression that is wrong. */
static void err_part(struct parser *p, const struct tok *t, size_t off, size_t len,
		     const char *msg)
{
	struct tok sub = *t;

	sub.col = t->col + (unsigned)off;
	sub.len = len ? (unsigned)len : 1;
	err_tok(p, &sub, "%s", msg);
}

/* One NAT address @s (at byte @off of token @t) of the family asked for;
 * one of the other family gets nft's resolver error. */
static bool nat_addr(struct parser *p, const struct tok *t, const char *s, size_t off, bool v6,
		     union ct_addr *a)
{
	union ct_addr other;

	if (parse_addr1(s, v6, a))
		return true;
	if (parse_addr1(s, !v6, &other))
		err_part(p, t, off, strlen(s),
			 "Could not resolve hostname: Address family for hostname not supported");
	else
		err_tok(p, t, "invalid %s address in \"%s\"", v6 ? "IPv6" : "IPv4", t->s);
	return false;
}

/* A NAT port or port range @s at byte @off of token @t; a reversed range
 * gets nft's wording, on the range. */
static bool nat_ports(struct parser *p, const struct tok *t, const char *s, size_t off,
		      uint16_t *lo, uint16_t *hi)
{
	const char *d = strchr(s, '-');

	if (d && d != s) {
		char *e1, *e2;
		unsigned long a = strtoul(s, &e1, 10), b = strtoul(d + 1, &e2, 10);

		if (e1 == d && !*e2 && d[1] && a <= 65535 && b <= 65535 && a > b) {
			err_part(p, t, off, strlen(s), "Range has zero or negative size");
			return false;
		}
	}
	return parse_port_range(p, t, s, lo, hi);
}

/* The flags after a NAT statement: random, fully-random, persistent,
 * separated by commas (nft's nf_nat_flags). */
static bool parse_nat_flags(struct parser *p, struct rs_nat *n)
{
	static const struct { const char *name; unsigned flag; } flags[] = {
		{ "random", RS_NAT_F_RANDOM },
		{ "fully-random", RS_NAT_F_FULLY_RANDOM },
		{ "persistent", RS_NAT_F_PERSISTENT },
	};

	for (;;) {
		const struct tok *t = peek(p);
		size_t i;

		for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
			if (is_word(t, flags[i].name))
				break;
		if (i == sizeof(flags) / sizeof(flags[0])) {
			if (n->flags && t->t != T_NL && t->t != T_SEMI && t->t != T_EOF &&
			    t->t != T_RBRACE) {
				err_tok(p, t, "syntax error, expected a NAT flag (random, fully-random, persistent)");
				return false;
			}
			return true;
		}
		next(p);
		n->flags |= flags[i].flag;
		if (peek(p)->t != T_COMMA)
			return true;
		next(p);
	}
}

/* snat|dnat [ip|ip6] to ADDR[-ADDR][:PORT[-PORT]] | to :PORT[-PORT],
 * masquerade [to :PORTS], redirect [to :PORTS]; then the flags */
/* `to KEY map { K : ADDR [. PORT], ... }` (nft's anonymous map in a NAT
 * statement, nft_nat with its registers loaded by nft_lookup): @t is the
 * key's first word. The values are addresses of the statement's family,
 * or ADDR . PORT concatenations (then nft lists the statement with its
 * family, `dnat ip to`). */
static bool parse_nat_map(struct rule_ctx *c, const struct tok *kw, const struct tok *t,
			  bool fam_given, bool v6, struct rs_nat *n)
{
	struct parser *p = c->p;
	const struct keydesc *kd = rs_find_key(t->s, peek(p)->s);
	struct rs_nat_map *mp = xcalloc(1, sizeof(*mp));
	const struct tok *first_val = NULL;
	struct tok *x;
	char buf[128];

	next(p);
	n->map = mp;
	mp->key.key = kd->key;
	mp->key.op = RS_OP_EQ;
	mp->key.set = true;
	if (kd->type == VT_IFNAME || kd->type == VT_STR || kd->type == VT_FLAGS) {
		err_tok(p, t, "a NAT map is keyed by an address or a number (ip daddr, tcp dport ...)");
		return false;
	}
	if (c->table->family == RS_FAM_INET && !fam_given) {
		err_tok(p, kw, "ip or ip6 must be specified with address for inet tables.");
		return false;
	}
	if (!fam_given)
		v6 = c->table->family == RS_FAM_IP6;
	if (!accept_word(p, "map")) {
		x = peek(p);
		err_tok(p, x, "syntax error, unexpected %s, expecting map", rs_tok_desc(x, buf, sizeof(buf)));
		return false;
	}
	if (peek(p)->t != T_LBRACE) {
		x = peek(p);
		err_tok(p, x, "syntax error, unexpected %s, expecting '{'", rs_tok_desc(x, buf, sizeof(buf)));
		return false;
	}
	next(p);
	for (;;) {
		struct rs_value kv;
		struct rs_nat to;
		struct tok *k, *a;

		while (peek(p)->t == T_NL)
			next(p);
		k = next(p);
		if (k->t == T_RBRACE && mp->key.nvals)
			break;
		if (k->t != T_WORD) {
			err_tok(p, k, "syntax error, unexpected %s", rs_tok_desc(k, buf, sizeof(buf)));
			return false;
		}
		if (!parse_value(p, kd, k, &kv))
			return false;
		x = next(p);
		if (!(x->t == T_WORD && !strcmp(x->s, ":"))) {
			free(kv.str);
			/* nft's parser, at the word after the key */
			err_tok(p, x, "syntax error, unexpected %s, expecting comma or '}'",
				x->t == T_WORD ? "string" : rs_tok_desc(x, buf, sizeof(buf)));
			return false;
		}
		a = next(p);
		memset(&to, 0, sizeof(to));
		to.family = v6 ? AF_INET6 : AF_INET;
		if (a->t != T_WORD || !nat_addr(p, a, a->s, 0, v6, &to.addr_min)) {
			if (a->t != T_WORD)
				err_tok(p, a, "syntax error, unexpected %s", rs_tok_desc(a, buf, sizeof(buf)));
			free(kv.str);
			return false;
		}
		to.addr_max = to.addr_min;
		if (!first_val)
			first_val = a;
		if (peek(p)->t == T_WORD && !strcmp(peek(p)->s, ".")) {
			struct tok *pt;

			next(p);
			pt = next(p);
			if (mp->key.nvals && !mp->concat) {
				/* nft types the map from this value: the first
				 * one, an address alone, is the wrong type */
				char msg[128];

				snprintf(msg, sizeof(msg), "invalid data type, expected concatenation of "
					 "(%s address, internet network service)", v6 ? "IPv6" : "IPv4");
				err_tok(p, first_val, "%s", msg);
				return false;
			}
			if (pt->t != T_WORD || !nat_ports(p, pt, pt->s, 0, &to.port_min, &to.port_max))
				return false;
			if (to.port_min != to.port_max) {
				err_tok(p, pt, "a map value is one address . one port");
				return false;
			}
			mp->concat = true;
		} else if (mp->concat) {
			err_tok(p, a, "the map's values are ADDR . PORT: this one has no port");
			return false;
		}
		mp->key.vals = xrealloc(mp->key.vals, (mp->key.nvals + 1) * sizeof(*mp->key.vals));
		mp->to = xrealloc(mp->to, (mp->key.nvals + 1) * sizeof(*mp->to));
		mp->key.vals[mp->key.nvals] = kv;
		mp->to[mp->key.nvals++] = to;
		x = next(p);
		if (x->t == T_RBRACE)
			break;
		if (x->t != T_COMMA) {
			err_tok(p, x, "syntax error, unexpected %s, expecting comma or '}'",
				rs_tok_desc(x, buf, sizeof(buf)));
			return false;
		}
	}
	/* the key compared implies its protocol (nft adds the dependency) */
	if (kd->l4)
		c->l4match = true;
	n->family = v6 ? AF_INET6 : AF_INET;
	return parse_nat_flags(p, n);
}

static bool parse_nat(struct rule_ctx *c, const struct tok *kw, struct rs_stmt *s)
{
	struct parser *p = c->p;
	struct rs_nat *n = &s->u.nat;
	bool addr = !strcmp(kw->s, "snat") || !strcmp(kw->s, "dnat");
	bool v6 = false, fam_given = false;
	struct tok *t;
	char buf[128];

	n->type = !strcmp(kw->s, "snat") ? RS_NAT_SNAT : !strcmp(kw->s, "dnat") ? RS_NAT_DNAT :
		  !strcmp(kw->s, "masquerade") ? RS_NAT_MASQUERADE : RS_NAT_REDIRECT;
	if (addr && (is_word(peek(p), "ip") || is_word(peek(p), "ip6"))) {
		v6 = !strcmp(next(p)->s, "ip6");
		fam_given = true;
	}
	if (!accept_word(p, "to")) {
		if (addr) {
			err_tok(p, peek(p), "expected \"to\" after \"%s\"", kw->s);
			return false;
		}
		return parse_nat_flags(p, n);
	}
	t = next(p);
	if (t->t != T_WORD) {
		err_tok(p, t, "expected an address or :port after \"to\"");
		return false;
	}
	if (addr && peek(p)->t == T_WORD && rs_find_key(t->s, peek(p)->s))
		return parse_nat_map(c, kw, t, fam_given, v6, n);
	snprintf(buf, sizeof(buf), "%s", t->s);
	if (addr && buf[0] == ':' && fam_given) {
		/* nft: "dnat ip to :2000" is a syntax error at the colon */
		err_part(p, t, 0, 1, "syntax error, unexpected colon");
		return false;
	}
	if (!addr || buf[0] == ':') {
		/* a port only (masquerade, redirect; snat/dnat to :PORT keep
		 * the address: no NF_NAT_RANGE_MAP_IPS) */
		if (buf[0] != ':') {
			err_tok(p, t, "%s takes only a port: to :PORT", kw->s);
			return false;
		}
		if (!c->l4match) {
			err_part(p, t, 1, strlen(buf + 1),
				 "transport protocol mapping is only valid after transport protocol match");
			return false;
		}
		if (!nat_ports(p, t, buf + 1, 1, &n->port_min, &n->port_max))
			return false;
	} else {
		char *port = NULL, *dash, *slash;
		size_t alen;

		if (c->table->family == RS_FAM_INET && !fam_given) {
			rs_err_tok2(p, kw, t, "ip or ip6 must be specified with address for inet tables.");
			return false;
		}
		if (!fam_given)
			v6 = c->table->family == RS_FAM_IP6;
		if (!v6) {
			port = strchr(buf, ':');
			if (port && strchr(port + 1, ':'))
				port = NULL;	/* an IPv6 address: the family error below */
			if (port)
				*port++ = 0;
		} else if (buf[0] == '[') {
			/* [ADDR6]:PORT[-PORT] */
			char *close = strchr(buf, ']');

			if (!close || (close[1] && close[1] != ':')) {
				err_tok(p, t, "invalid IPv6 address in \"%s\"", t->s);
				return false;
			}
			*close = 0;
			memmove(buf, buf + 1, strlen(buf + 1) + 1);	/* offsets shift by one */
			if (close[1] == ':')
				port = close + 2;	/* after "]:" (its offset in the token) */
		}
		if (port && !c->l4match) {
			err_part(p, t, (size_t)(port - buf), strlen(port),
				 "transport protocol mapping is only valid after transport protocol match");
			return false;
		}
		alen = strlen(buf);
		slash = strchr(buf, '/');
		dash = slash ? NULL : strchr(buf, '-');
		if (dash)
			*dash++ = 0;
		if (slash)
			*slash++ = 0;
		n->family = v6 ? AF_INET6 : AF_INET;
		if (!nat_addr(p, t, buf, 0, v6, &n->addr_min) ||
		    (dash && !nat_addr(p, t, dash, (size_t)(dash - buf), v6, &n->addr_max)))
			return false;
		if (slash && port) {
			/* nft's lexer reads "PLEN:PORT" as one string where its
			 * grammar wants the prefix length */
			const char *pd = strchr(port, '-');

			err_part(p, t, (size_t)(slash - buf),
				 (size_t)((pd ? pd : port + strlen(port)) - slash),
				 "syntax error, unexpected string, expecting number");
			return false;
		}
		if (slash) {
			/* a prefix is the range of its addresses (nft turns it
			 * into min-max; listed back as the prefix) */
			const unsigned width = v6 ? 128 : 32;
			char *end;
			unsigned long plen = strtoul(slash, &end, 10);

			if (!*slash || *end || plen > width) {
				char msg[96];

				snprintf(msg, sizeof(msg), "Prefix length %s is invalid for type of %u bits width",
					 slash, width);
				err_part(p, t, 0, alen, msg);
				return false;
			}
			n->plen = (uint8_t)plen;
			n->addr_max = n->addr_min;
			for (unsigned i = 0; i < width / 8; i++) {
				unsigned bits = plen > i * 8 ? (unsigned)plen - i * 8 : 0;
				uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);

				n->addr_min.b[i] &= m;
				n->addr_max.b[i] |= (uint8_t)~m;
			}
		} else if (!dash) {
			n->addr_max = n->addr_min;
		}
		/* nft refuses it; taken, the NAT code would pick from an empty range */
		if (rs_addr_cmp(&n->addr_min, &n->addr_max) > 0) {
			err_part(p, t, 0, alen, "Range has zero or negative size");
			return false;
		}
		if (port && !nat_ports(p, t, port, (size_t)(port - buf), &n->port_min, &n->port_max))
			return false;
	}
	if (n->port_min && !c->l4match) {
		err_tok(p, t, "transport protocol mapping is only valid after transport protocol match");
		return false;
	}
	return parse_nat_flags(p, n);
}

static bool parse_reject(struct parser *p, struct rule_ctx *c, struct rs_stmt *s)
{
	const struct sym *tab, *sy;
	struct tok *t;
	char list[256];

	/* nft's defaults: ip -> icmp port-unreachable, ip6 -> icmpv6
	 * port-unreachable, inet -> icmpx port-unreachable */
	s->u.reject.kind = c->table->family == RS_FAM_IP ? RS_REJECT_ICMP :
			   c->table->family == RS_FAM_IP6 ? RS_REJECT_ICMPV6 : RS_REJECT_ICMPX;
	s->u.reject.code = c->table->family == RS_FAM_IP ? 3 : c->table->family == RS_FAM_IP6 ? 4 :
			   RS_ICMPX_PORT_UNREACH;
	if (!accept_word(p, "with"))
		return true;
	s->u.reject.given = true;
	t = next(p);
	if (is_word(t, "tcp")) {
		if (!accept_word(p, "reset")) {
			err_tok(p, peek(p), "expected \"reset\" after \"with tcp\"");
			return false;
		}
		s->u.reject.kind = RS_REJECT_TCP_RESET;
		s->u.reject.code = 0;
		return true;
	}
	if (is_word(t, "icmp")) {
		s->u.reject.kind = RS_REJECT_ICMP, tab = rs_icmp_code_syms;
		if (c->table->family == RS_FAM_IP6) {
			err_tok(p, t, "conflicting protocols specified: ip6 vs. ip");
			return false;
		}
	} else if (is_word(t, "icmpv6")) {
		s->u.reject.kind = RS_REJECT_ICMPV6, tab = rs_icmpv6_code_syms;
		if (c->table->family == RS_FAM_IP) {
			err_tok(p, t, "conflicting protocols specified: ip vs. ip6");
			return false;
		}
	} else if (is_word(t, "icmpx")) {
		s->u.reject.kind = RS_REJECT_ICMPX, tab = rs_icmpx_code_syms;
		if (c->table->family != RS_FAM_INET) {
			err_tok(p, t, "abstracted ICMP unreachable not supported");	/* nft's words */
			return false;
		}
	} else {
		err_tok(p, t, "expected \"icmp\", \"icmpv6\", \"icmpx\" or \"tcp reset\" after \"reject with\"");
		return false;
	}
	accept_word(p, "type");		/* `with icmp type X` (nft 1.0.6) and `with icmp X` */
	t = next(p);
	sy = t->t == T_WORD ? rs_sym_find(tab, t->s) : NULL;
	if (!sy) {
		rs_sym_list(tab, list, sizeof(list));
		err_tok(p, t, "unknown reject code \"%s\" (expected one of: %s)", t->s ? t->s : "", list);
		return false;
	}
	s->u.reject.code = (uint8_t)sy->v;
	return true;
}

/* KEY set VALUE (meta mark, meta nftrace, ct mark, ct zone, ct helper) */
static bool parse_set_stmt(struct rule_ctx *c, const struct keydesc *kd, const struct tok *kw,
			   struct rs_stmt *s)
{
	struct parser *p = c->p;
	struct tok *t = next(p);
	struct rs_value v;

	switch (kd->key) {
	case RS_K_META_MARK: s->type = RS_S_META_MARK_SET; break;
	case RS_K_CT_MARK: s->type = RS_S_CT_MARK_SET; break;
	case RS_K_CT_ZONE: s->type = RS_S_CT_ZONE_SET; break;
	case RS_K_CT_HELPER: s->type = RS_S_CT_HELPER_SET; break;
	case RS_K_CT_TIMEOUT: s->type = RS_S_CT_TIMEOUT_SET; break;
	default:
		err_tok(p, kw, "\"%s %s\" cannot be set", kd->w1 ? kd->w1 : "meta", kd->w2);
		return false;
	}
	if (!parse_value(p, kd, t, &v))
		return false;
	if (s->type == RS_S_CT_HELPER_SET) {
		s->line = t->line, s->col = t->col, s->len = t->len;
		s->u.helper.name = v.str;	/* resolved by rs_check_table() */
		return true;
	}
	if (s->type == RS_S_CT_TIMEOUT_SET) {
		s->line = t->line, s->col = t->col, s->len = t->len;
		s->u.timeout.name = v.str;	/* resolved by rs_check_table() */
		return true;
	}
	if (v.lo != v.hi) {
		err_tok(p, t, "a range cannot be set");
		return false;
	}
	s->u.value = (uint32_t)v.lo;
	return true;
}

static void stmt_free(struct rs_stmt *s)
{
	switch (s->type) {
	case RS_S_JUMP: case RS_S_GOTO: free(s->u.jump.name); break;
	case RS_S_LOG: free(s->u.log.prefix); break;
	case RS_S_CT_HELPER_SET: free(s->u.helper.name); break;
	case RS_S_CT_TIMEOUT_SET: free(s->u.timeout.name); break;
	case RS_S_SNAT: case RS_S_DNAT:
		if (s->u.nat.map) {
			match_free(&s->u.nat.map->key);
			free(s->u.nat.map->to);
			free(s->u.nat.map);
		}
		break;
	default: break;
	}
}

static void rule_free(struct rs_rule *r)
{
	for (size_t i = 0; i < r->nmatches; i++)
		match_free(&r->matches[i]);
	for (size_t i = 0; i < r->nstmts; i++)
		stmt_free(&r->stmts[i]);
	free(r->matches);
	free(r->stmts);
	free(r->text);
}

/* One element of a rule: a match (KEY [op] VALUE) or a statement. */
static bool parse_rule_elem(struct rule_ctx *c)
{
	struct parser *p = c->p;
	struct tok *t = next(p);
	struct rs_stmt s;
	const struct keydesc *kd = NULL;
	bool verdict = false;
	char buf[64];

	memset(&s, 0, sizeof(s));
	if (t->t != T_WORD) {
		err_tok(p, t, "syntax error, unexpected %s", rs_tok_desc(t, buf, sizeof(buf)));
		return false;
	}
	if (c->terminal) {
		/* the whole rest of the rule is dead code, as nft says */
		struct tok *last = t;
		while (!is_sep(peek(p)) && peek(p)->t != T_RBRACE && peek(p)->t != T_EOF)
			last = next(p);
		rs_err_tok2(p, t, last, "Statement after terminal statement has no effect");
		return false;
	}

	/* verdicts and plain statements */
	if (!strcmp(t->s, "accept") || !strcmp(t->s, "drop") || !strcmp(t->s, "return")) {
		s.type = t->s[0] == 'a' ? RS_S_ACCEPT : t->s[0] == 'd' ? RS_S_DROP : RS_S_RETURN;
		verdict = true;
	} else if (!strcmp(t->s, "jump") || !strcmp(t->s, "goto")) {
		struct tok *n = peek(p);
		s.type = t->s[0] == 'j' ? RS_S_JUMP : RS_S_GOTO;
		if (n->t != T_WORD) {
			err_tok(p, n, "expected a chain name after \"%s\"", t->s);
			return false;
		}
		next(p);
		s.u.jump.name = xstrdup(n->s);
		s.line = n->line, s.col = n->col, s.len = n->len;
		verdict = true;
	} else if (!strcmp(t->s, "reject")) {
		s.type = RS_S_REJECT;
		if (!parse_reject(p, c, &s))
			return false;
		verdict = true;
	} else if (!strcmp(t->s, "counter")) {
		s.type = RS_S_COUNTER;
		if (accept_word(p, "packets")) {	/* as printed back: counter packets N bytes M */
			struct tok *a = next(p), *b;
			if (a->t != T_WORD || !parse_u64(a->s, &s.u.counter.packets) ||
			    !accept_word(p, "bytes") || (b = next(p))->t != T_WORD ||
			    !parse_u64(b->s, &s.u.counter.bytes)) {
				err_tok(p, a, "expected \"counter packets N bytes M\"");
				return false;
			}
		}
	} else if (!strcmp(t->s, "log")) {
		s.type = RS_S_LOG;
		for (;;) {
			if (accept_word(p, "prefix")) {
				struct tok *a = next(p);
				if (a->t != T_STRING && a->t != T_WORD) {	/* nft takes both */
					err_tok(p, a, "log prefix must be a string");
					return false;
				}
				if (strlen(a->s) > 127) {
					err_tok(p, a, "log prefix is too long (at most 127 characters)");
					return false;
				}
				free(s.u.log.prefix);
				s.u.log.prefix = xstrdup(a->s);
			} else if (accept_word(p, "level")) {
				struct tok *a = next(p);
				if (a->t != T_WORD || !rs_sym_find(log_level_syms, a->s)) {
					err_tok(p, a, "unknown log level");
					free(s.u.log.prefix);
					return false;
				}
			} else {
				break;
			}
		}
	} else if (!strcmp(t->s, "notrack")) {
		s.type = RS_S_NOTRACK;
	} else if (!strcmp(t->s, "snat") || !strcmp(t->s, "dnat") ||
		   !strcmp(t->s, "masquerade") || !strcmp(t->s, "redirect")) {
		s.type = t->s[0] == 's' ? RS_S_SNAT : t->s[0] == 'd' ? RS_S_DNAT :
			 t->s[0] == 'm' ? RS_S_MASQUERADE : RS_S_REDIRECT;
		if (!parse_nat(c, t, &s))
			return false;
		if (c->chain->base && c->chain->type != RS_CHAIN_NAT) {
			/* the kernel refuses the rule (nft_nat_validate():
			 * -EOPNOTSUPP), nft underlines the statement */
			rs_err_tok2(p, t, &p->t.v[p->pos - 1],
				    "Could not process rule: Operation not supported");
			return false;
		}
		verdict = true;		/* nft_nat_eval() returns a verdict */
	} else {
		/* a match or a KEY set VALUE statement */
		struct tok *t2 = peek(p);

		if (t2->t == T_WORD)
			kd = rs_find_key(t->s, t2->s);
		if (kd) {
			next(p);
		} else {
			kd = rs_find_key(NULL, t->s);
			if (!kd && t2->t == T_WORD && (!strcmp(t->s, "meta") && !strcmp(t2->s, "nftrace"))) {
				next(p);
				if (!accept_word(p, "set")) {
					err_tok(p, peek(p), "expected \"set\" after \"meta nftrace\"");
					return false;
				}
				t = next(p);
				if (t->t != T_WORD || (strcmp(t->s, "0") && strcmp(t->s, "1"))) {
					err_tok(p, t, "meta nftrace set takes 0 or 1");
					return false;
				}
				s.type = RS_S_NFTRACE_SET;
				s.u.value = t->s[0] == '1';
				rule_add_stmt(c->rule, &s);
				return true;
			}
		}
		if (!kd) {
			if (t2->t == T_WORD && (!strcmp(t->s, "ip") || !strcmp(t->s, "ip6") ||
						!strcmp(t->s, "meta") || !strcmp(t->s, "tcp") ||
						!strcmp(t->s, "udp") || !strcmp(t->s, "ct") ||
						!strcmp(t->s, "icmp") || !strcmp(t->s, "icmpv6")))
				rs_err_tok2(p, t, t2, "unknown or unsupported expression \"%s %s\"", t->s, t2->s);
			else
				err_tok(p, t, "syntax error, unexpected \"%s\"", t->s);
			return false;
		}
		if (kd->key == RS_K_CT_TIMEOUT && !is_word(peek(p), "set")) {
			char buf[64];

			/* nft's grammar: ct timeout is a statement only */
			err_tok(p, peek(p), "syntax error, unexpected %s, expecting set",
				peek(p)->t == T_STRING ? "quoted string" : peek(p)->t == T_WORD ?
				"string" : rs_tok_desc(peek(p), buf, sizeof(buf)));
			return false;
		}
		if (kd->settable && accept_word(p, "set")) {
			if (!parse_set_stmt(c, kd, t, &s))
				return false;
			if (!s.line)
				s.line = t->line, s.col = t->col, s.len = t->len;
			rule_add_stmt(c->rule, &s);
			return true;
		}
		/* nft's "conflicting protocols": ip6 in an ip table and vice versa */
		if ((kd->fam == 6 && c->table->family == RS_FAM_IP && kd->key != RS_K_ICMPV6_TYPE) ||
		    (kd->fam == 4 && c->table->family == RS_FAM_IP6 && kd->key != RS_K_ICMP_TYPE)) {
			rs_err_tok2(p, t, t2, "conflicting protocols specified: %s vs. %s",
				 rs_family_name(c->table->family), kd->fam == 6 ? "ip6" : "ip");
			return false;
		}
		struct rs_match m;
		if (!parse_match(p, kd, &m)) {
			match_free(&m);
			return false;
		}
		if (kd->l4 || kd->key == RS_K_META_L4PROTO)
			c->l4match = true;
		c->rule->matches = xrealloc(c->rule->matches, (c->rule->nmatches + 1) * sizeof(struct rs_match));
		c->rule->matches[c->rule->nmatches++] = m;
		return true;
	}
	if (verdict)
		c->terminal = true;
	if (!s.line)
		s.line = t->line, s.col = t->col, s.len = t->len;
	rule_add_stmt(c->rule, &s);
	return true;
}

static void parse_rule(struct parser *p, struct rs_table *tab, struct rs_chain *ch)
{
	struct rs_rule r;
	struct rule_ctx c = { .p = p, .table = tab, .chain = ch, .rule = &r, .first = peek(p) };
	unsigned nerr = p->nerr;

	memset(&r, 0, sizeof(r));
	r.line = peek(p)->line;
	while (!is_sep(peek(p)) && peek(p)->t != T_RBRACE && peek(p)->t != T_EOF) {
		if (!parse_rule_elem(&c)) {
			skip_stmt(p);
			break;
		}
	}
	if (p->nerr == nerr && !expect_sep(p))
		skip_stmt(p);
	if (p->nerr != nerr) {
		rule_free(&r);
		return;
	}
	if (ch->nrules == ch->cap) {
		ch->cap = ch->cap ? 2 * ch->cap : 8;
		ch->rules = xrealloc(ch->rules, ch->cap * sizeof(*ch->rules));
	}
	r.handle = ++p->next_handle;
	ch->rules[ch->nrules++] = r;
}

/* ---------------------------------------------------------------------- */
/* Chains, helpers, tables                                                 */

/* priority N | NAME [+|- N] */
static bool parse_priority(struct parser *p, struct rs_chain *ch)
{
	struct tok *t = next(p), *last = t;
	uint64_t u;
	long v = 0;

	if (t->t != T_WORD)
		goto bad;
	if (t->s[0] == '-' && parse_u64(t->s + 1, &u) && u <= 1000000) {
		v = -(long)u;
	} else if (parse_u64(t->s, &u) && u <= 1000000) {
		v = (long)u;
	} else {
		const struct prio_name *pn;

		for (pn = rs_prio_names; pn->name; pn++)
			if (!strcmp(pn->name, t->s))
				break;
		if (!pn->name)
			goto bad;
		v = pn->prio;
		if (peek(p)->t == T_PLUS || is_word(peek(p), "-")) {
			bool minus = peek(p)->t != T_PLUS;
			struct tok *n;

			next(p);
			n = next(p);
			if (n->t != T_WORD || !parse_u64(n->s, &u) || u > 1000000) {
				err_tok(p, n, "expected a number after \"%s %s\"", t->s, minus ? "-" : "+");
				return false;
			}
			v += minus ? -(long)u : (long)u;
			last = n;
		}
		if (!(pn->hooks & (1u << ch->hook))) {
			rs_err_tok2(p, t, last, "priority \"%s\" is not valid in the %s hook (nft: invalid priority expression value in this context)",
				 pn->name, rs_hook_name(ch->hook));
			return false;
		}
	}
	ch->prio = (int)v;
	return true;
bad:
	err_tok(p, t, "priority must be a number or one of raw, mangle, dstnat, filter, security, srcnat (optionally + or - a number)");
	return false;
}

/* type filter|nat hook HOOK priority PRIO */

/*
 * The next item of a `{ ... }` block (table, chain, ct helper): newlines
 * and ';' between items are skipped. Returns the item's first token, not
 * consumed; NULL at the block's '}' (consumed), and NULL with *@eof set
 * and an error naming the block (`missing '}' of chain "x"`) at the end
 * of the file.
 */
static struct tok *block_item(struct parser *p, const char *kind, const char *name, bool *eof)
{
	for (;;) {
		struct tok *t = peek(p);

		if (is_sep(t)) {
			next(p);
			continue;
		}
		*eof = t->t == T_EOF;
		if (t->t == T_RBRACE)
			next(p);
		else if (*eof)
			err_tok(p, t, "unexpected end of file: missing '}' of %s \"%s\"", kind, name);
		else
			return t;
		return NULL;
	}
}

static bool parse_chain_type(struct parser *p, struct rs_chain *ch, const struct tok *kw)
{
	struct tok *t = next(p), *ht;
	const struct sym *h;

	if (ch->base) {
		err_tok(p, kw, "chain \"%s\" already has a type", ch->name);
		return false;
	}
	if (is_word(t, "filter"))
		ch->type = RS_CHAIN_FILTER;
	else if (is_word(t, "nat"))
		ch->type = RS_CHAIN_NAT;
	else {
		err_tok(p, t, "unknown chain type \"%s\" (ctsim supports filter and nat)", t->s ? t->s : "");
		return false;
	}
	if (!accept_word(p, "hook")) {
		err_tok(p, peek(p), "expected \"hook\" after the chain type");
		return false;
	}
	ht = next(p);
	h = ht->t == T_WORD ? rs_sym_find(rs_hook_syms, ht->s) : NULL;
	if (!h) {
		err_tok(p, ht, "unknown hook \"%s\" (expected prerouting, input, forward, output or postrouting)",
			ht->s ? ht->s : "");
		return false;
	}
	ch->hook = (enum ct_hook)h->v;
	if (ch->type == RS_CHAIN_NAT && ch->hook == CT_HOOK_FORWARD) {
		/* the kernel's nat chain type has no forward hook (nft: Operation not supported) */
		rs_err_tok2(p, t, ht, "nat chains cannot use the forward hook");
		return false;
	}
	if (!accept_word(p, "priority")) {
		err_tok(p, peek(p), "expected \"priority\" after the hook");
		return false;
	}
	if (!parse_priority(p, ch))
		return false;
	ch->base = true;
	return true;
}

static void parse_chain(struct parser *p, struct rs_table *tab)
{
	char *name = parse_name(p, "chain");
	struct rs_chain *ch;
	bool policy_set = false, type_failed = false;
	struct tok *t;

	if (!name) {
		skip_stmt(p);
		if (peek(p)->t == T_LBRACE) {
			next(p);
			skip_block(p);
		}
		return;
	}
	ch = rs_table_find_chain(tab, name);	/* nft: a chain declared again gets more rules */
	if (ch) {
		free(name);
		policy_set = true;
	} else {
		ch = xcalloc(1, sizeof(*ch));
		ch->name = name;
		ch->table = tab;
		ch->policy = CT_ACCEPT;
		ch->line = peek(p)->line;
		tab->chains = xrealloc(tab->chains, (tab->nchains + 1) * sizeof(*tab->chains));
		tab->chains[tab->nchains++] = ch;
	}
	t = next(p);
	if (t->t != T_LBRACE) {
		err_tok(p, t, "expected '{' after the chain name");
		skip_stmt(p);
		return;
	}
	policy_set = false;
	for (;;) {
		bool eof;

		if (!(t = block_item(p, "chain", ch->name, &eof))) {
			if (eof)
				return;
			break;
		}
		if (is_word(t, "type")) {
			next(p);
			if (!parse_chain_type(p, ch, t)) {
				type_failed = true;	/* no cascade of "not a base chain" errors */
				skip_stmt(p);
			} else if (!expect_sep(p)) {
				skip_stmt(p);
			}
			continue;
		}
		if (is_word(t, "policy")) {
			struct tok *v;

			next(p);
			v = next(p);
			if (!ch->base && type_failed) {
				skip_stmt(p);
				continue;
			}
			if (!ch->base) {
				rs_err_tok2(p, t, v, "policy is only valid in base chains (with a type ... hook ... line)");
				skip_stmt(p);
				continue;
			}
			if (policy_set) {
				rs_err_tok2(p, t, v, "you cannot set chain policy twice");
				skip_stmt(p);
				continue;
			}
			if (is_word(v, "accept") || is_word(v, "drop")) {
				ch->policy = v->s[0] == 'a' ? CT_ACCEPT : CT_DROP;
				policy_set = true;
				if (!expect_sep(p))
					skip_stmt(p);
			} else {
				err_tok(p, v, "policy must be accept or drop");
				skip_stmt(p);
			}
			continue;
		}
		parse_rule(p, tab, ch);
	}
}

/* ct helper NAME { type "ftp" protocol tcp; [l3proto ip|ip6|inet;] } */
static void parse_helper(struct parser *p, struct rs_table *tab)
{
	bool unknown = false;
	struct tok *type_tok = NULL;
	struct rs_helper *h;
	char *name = parse_name(p, "helper");
	struct tok *t;
	unsigned nerr = p->nerr;

	if (!name) {
		skip_stmt(p);
		return;
	}
	if (rs_table_find_helper(tab, name)) {
		err_tok(p, &p->t.v[p->pos - 1], "ct helper \"%s\" already exists", name);
		free(name);
		skip_stmt(p);
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->name = name;
	h->l3proto = tab->family;
	t = next(p);
	if (t->t != T_LBRACE) {
		err_tok(p, t, "expected '{' after the helper name");
		goto fail;
	}
	for (;;) {
		bool eof;

		if (!(t = block_item(p, "ct helper", h->name, &eof))) {
			if (eof)
				goto fail;
			break;
		}
		next(p);
		if (is_word(t, "type")) {
			struct tok *ty = next(p);
			const struct sym *pr;

			if (ty->t != T_STRING) {
				err_tok(p, ty, "helper type must be a quoted string, as in type \"ftp\"");
				goto skip;
			}
			free(h->type);
			h->type = xstrdup(ty->s);
			if (!accept_word(p, "protocol")) {
				err_tok(p, peek(p), "expected \"protocol tcp\" or \"protocol udp\"");
				goto skip;
			}
			t = next(p);
			pr = t->t == T_WORD ? rs_sym_find(rs_l4proto_syms, t->s) : NULL;
			if (!pr || (pr->v != 6 && pr->v != 17)) {
				err_tok(p, t, "helper protocol must be tcp or udp");
				goto skip;
			}
			h->l4proto = (uint8_t)pr->v;
			type_tok = ty;
		} else if (is_word(t, "l3proto")) {
			t = next(p);
			if (is_word(t, "ip"))
				h->l3proto = RS_FAM_IP;
			else if (is_word(t, "ip6"))
				h->l3proto = RS_FAM_IP6;
			else if (is_word(t, "inet"))
				h->l3proto = RS_FAM_INET;
			else {
				err_tok(p, t, "l3proto must be ip, ip6 or inet");
				goto skip;
			}
		} else {
			err_tok(p, t, "expected \"type\" or \"l3proto\" in a ct helper block");
			goto skip;
		}
		if (!expect_sep(p))
			goto skip;
		continue;
skip:
		skip_stmt(p);
	}
	if (!h->type && p->nerr == nerr) {
		err_tok(p, t, "ct helper \"%s\" needs a type line: type \"ftp\" protocol tcp", h->name);
		goto fail;
	}
	/* nft_ct_helper_obj_init(): the kernel refuses an object whose helper
	 * it does not have for the object's family (an inet object: for at
	 * least one of them) and protocol; nft says "Could not process rule:
	 * No such file or directory". Nothing of the object is created. */
	if (type_tok && h->l4proto &&
	    !ct_helper_find(h->type, h->l3proto == RS_FAM_IP ? AF_INET :
			    h->l3proto == RS_FAM_IP6 ? AF_INET6 : 0, h->l4proto)) {
		err_tok(p, type_tok, "Could not process rule: No such file or directory (no conntrack "
			"helper \"%s\" for %s%s; `ctsim explain helpers` lists them)", h->type,
			h->l3proto == RS_FAM_IP ? "ip " : h->l3proto == RS_FAM_IP6 ? "ip6 " : "",
			h->l4proto == 6 ? "tcp" : "udp");
		unknown = true;
	}
	if (unknown) {
		free(h->name);
		free(h->type);
		free(h);
		return;
	}
	tab->helpers = xrealloc(tab->helpers, (tab->nhelpers + 1) * sizeof(*tab->helpers));
	tab->helpers[tab->nhelpers++] = h;
	return;
fail:
	free(h->name);
	free(h->type);
	free(h);
	skip_stmt(p);
}

/* One "STATE: VALUE" of a policy block; false after an error. */
static bool parse_policy_item(struct parser *p, struct rs_timeout *to)
{
	struct tok *t = next(p), *vt;
	char state[64], *colon, *end;
	size_t n;
	int idx;
	unsigned long long v;
	bool sep_in_word;

	if (t->t != T_WORD) {
		char buf[64];

		err_tok(p, t, "syntax error, unexpected %s, expecting string", rs_tok_desc(t, buf, sizeof(buf)));
		return false;
	}
	/* ':' is a word character (IPv6 addresses): "established:" "120",
	 * "established" ":" "120", "established:120" */
	colon = strchr(t->s, ':');
	n = colon ? (size_t)(colon - t->s) : strlen(t->s);
	snprintf(state, sizeof(state), "%.*s", (int)(n < sizeof(state) ? n : sizeof(state) - 1), t->s);
	idx = ct_timeout_state_index(to->pol.l4proto, state);
	if (idx < 0) {
		rs_err_at(p, t->line, t->col, t->col + (unsigned)n - 1, "invalid state for this protocol");
		return false;
	}
	sep_in_word = colon != NULL;
	if (!sep_in_word) {
		vt = next(p);
		if (!is_word(vt, ":") && !(vt->t == T_WORD && vt->s[0] == ':')) {
			char buf[64];

			err_tok(p, vt, "syntax error, unexpected %s, expecting colon", rs_tok_desc(vt, buf, sizeof(buf)));
			return false;
		}
		colon = vt->s;
		t = vt;
	}
	if (colon[1]) {		/* the value in the same word */
		errno = 0;
		v = strtoull(colon + 1, &end, 10);
		if (*end || errno || !isdigit((unsigned char)colon[1])) {
			err_tok(p, t, "syntax error, unexpected string, expecting number");
			return false;
		}
	} else {
		vt = next(p);
		errno = 0;
		v = vt->t == T_WORD ? strtoull(vt->s, &end, 10) : 0;
		if (vt->t != T_WORD || *end || errno || !isdigit((unsigned char)vt->s[0])) {
			char buf[64];

			err_tok(p, vt, "syntax error, unexpected %s, expecting number",
				vt->t == T_WORD ? "string" : rs_tok_desc(vt, buf, sizeof(buf)));
			return false;
		}
	}
	/* nft keeps 32 bits of it (4294967296 becomes 0) */
	to->pol.values[idx] = (uint32_t)v;
	to->pol.given |= (uint16_t)(1u << idx);
	return true;
}

/* ct timeout NAME { protocol tcp|udp; [l3proto ip|ip6|inet;] [policy = { STATE: SECONDS, ... }] } */
static void parse_timeout(struct parser *p, struct rs_table *tab)
{
	struct rs_timeout *to;
	struct tok *t, *name_tok = peek(p);
	char *name = parse_name(p, "timeout");
	unsigned nerr = p->nerr;

	if (!name) {
		skip_stmt(p);
		return;
	}
	to = xcalloc(1, sizeof(*to));
	to->pol.name = name;
	to->l3proto = tab->family;	/* nft: the table's family (inet in an inet table) */
	t = next(p);
	if (t->t != T_LBRACE) {
		err_tok(p, t, "expected '{' after the timeout name");
		goto fail;
	}
	for (;;) {
		bool eof;

		if (!(t = block_item(p, "ct timeout", name, &eof))) {
			if (eof)
				goto fail;
			break;
		}
		next(p);
		if (is_word(t, "protocol")) {
			t = next(p);
			if (is_word(t, "tcp"))
				to->pol.l4proto = 6;
			else if (is_word(t, "udp"))
				to->pol.l4proto = 17;
			else {
				char buf[64];

				err_tok(p, t, "syntax error, unexpected %s, expecting udp or tcp",
					t->t == T_WORD ? "string" : rs_tok_desc(t, buf, sizeof(buf)));
				goto skip;
			}
		} else if (is_word(t, "l3proto")) {
			t = next(p);
			if (is_word(t, "ip"))
				to->l3proto = RS_FAM_IP;
			else if (is_word(t, "ip6"))
				to->l3proto = RS_FAM_IP6;
			else if (is_word(t, "inet"))
				to->l3proto = RS_FAM_INET;
			else {
				err_tok(p, t, "syntax error, unexpected string");
				goto skip;
			}
		} else if (is_word(t, "policy")) {
			t = next(p);
			if (t->t != T_EQ) {
				err_tok(p, t, "expected '=' after policy, as in policy = { established: 120 }");
				goto skip;
			}
			t = next(p);
			if (t->t != T_LBRACE) {
				err_tok(p, t, "expected '{' after policy =");
				goto skip;
			}
			while (peek(p)->t != T_RBRACE) {
				if (!parse_policy_item(p, to)) {
					skip_block(p);
					goto skip;
				}
				if (peek(p)->t == T_COMMA)
					next(p);
				else if (peek(p)->t != T_RBRACE) {
					char buf[64];

					err_tok(p, peek(p), "syntax error, unexpected %s, expecting comma or '}'",
						rs_tok_desc(peek(p), buf, sizeof(buf)));
					skip_block(p);
					goto skip;
				}
			}
			next(p);	/* '}' */
		} else {
			err_tok(p, t, "expected \"protocol\", \"l3proto\" or \"policy\" in a ct timeout block");
			goto skip;
		}
		if (!expect_sep(p))
			goto skip;
		continue;
skip:
		skip_stmt(p);
	}
	if (p->nerr != nerr)
		goto drop;
	/* nft_ct_timeout_obj_init(): no protocol, no l4proto tracker: EOPNOTSUPP */
	if (!to->pol.l4proto) {
		err_tok(p, name_tok, "Could not process rule: Operation not supported (ct timeout \"%s\" "
			"needs a protocol line: protocol tcp or protocol udp)", name);
		goto drop;
	}
	/* Declared again: nft adds an object that exists as a no-op (no
	 * NLM_F_EXCL from nft -f); the first declaration stays. */
	if (rs_table_find_timeout(tab, name))
		goto drop;
	tab->timeouts = xrealloc(tab->timeouts, (tab->ntimeouts + 1) * sizeof(*tab->timeouts));
	tab->timeouts[tab->ntimeouts++] = to;
	return;
fail:
	skip_stmt(p);
drop:
	free(name);
	free(to);
}

static void parse_table(struct parser *p)
{
	struct tok *t = next(p);
	enum rs_family fam;
	struct rs_table *tab = NULL;
	char *name;

	if (is_word(t, "ip"))
		fam = RS_FAM_IP;
	else if (is_word(t, "ip6"))
		fam = RS_FAM_IP6;
	else if (is_word(t, "inet"))
		fam = RS_FAM_INET;
	else {
		/* nft's default family is ip; ctsim asks for it to be explicit */
		err_tok(p, t, "expected a table family: ip, ip6 or inet (ctsim has no arp, bridge or netdev tables)");
		skip_stmt(p);
		return;
	}
	name = parse_name(p, "table");
	if (!name) {
		skip_stmt(p);
		return;
	}
	for (size_t i = 0; i < p->rs->ntables; i++)
		if (p->rs->tables[i]->family == fam && !strcmp(p->rs->tables[i]->name, name))
			tab = p->rs->tables[i];	/* declared again: more content */
	if (tab) {
		free(name);
	} else {
		tab = xcalloc(1, sizeof(*tab));
		tab->name = name;
		tab->family = fam;
		p->rs->tables = xrealloc(p->rs->tables, (p->rs->ntables + 1) * sizeof(*p->rs->tables));
		p->rs->tables[p->rs->ntables++] = tab;
	}
	t = next(p);
	if (t->t != T_LBRACE) {
		err_tok(p, t, "expected '{' after the table name");
		skip_stmt(p);
		return;
	}
	for (;;) {
		bool eof;

		if (!(t = block_item(p, "table", tab->name, &eof)))
			return;
		next(p);
		if (is_word(t, "chain")) {
			parse_chain(p, tab);
		} else if (is_word(t, "ct") && is_word(peek(p), "helper")) {
			next(p);
			parse_helper(p, tab);
		} else if (is_word(t, "ct") && is_word(peek(p), "timeout")) {
			next(p);
			parse_timeout(p, tab);
		} else {
			char buf[64];
			err_tok(p, t, "syntax error, unexpected %s: expected \"chain\" or \"ct helper\"",
				rs_tok_desc(t, buf, sizeof(buf)));
			skip_stmt(p);
			if (peek(p)->t == T_LBRACE) {
				next(p);
				skip_block(p);
			}
			continue;
		}
		/* nft 1.0.6 wants a newline or ';' after a block's '}' */
		if (peek(p)->t == T_RBRACE || !is_sep(peek(p))) {
			if (!expect_sep(p))
				skip_stmt(p);
		}
	}
}

void ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return;
	for (size_t t = 0; t < rs->ntables; t++) {
		struct rs_table *tab = rs->tables[t];

		for (size_t c = 0; c < tab->nchains; c++) {
			struct rs_chain *ch = tab->chains[c];

			for (size_t r = 0; r < ch->nrules; r++)
				rule_free(&ch->rules[r]);
			free(ch->rules);
			free(ch->name);
			free(ch);
		}
		for (size_t h = 0; h < tab->nhelpers; h++) {
			free(tab->helpers[h]->name);
			free(tab->helpers[h]->type);
			free(tab->helpers[h]);
		}
		free(tab->chains);
		free(tab->helpers);
		for (size_t h = 0; h < tab->ntimeouts; h++) {
			free((char *)tab->timeouts[h]->pol.name);
			free(tab->timeouts[h]);
		}
		free(tab->timeouts);
		free(tab->name);
		free(tab);
	}
	for (int h = 0; h < CT_HOOK_MAX; h++)
		free(rs->hooks[h]);
	free(rs->tables);
	free(rs->name);
	free(rs);
}


struct ruleset *ruleset_parse_string(const char *name, const char *text, struct rs_errors *errs)
{
	struct parser p = { .file = name ? name : "<string>", .text = text, .errs = errs,
			    .first_err = errs ? errs->n : 0 };

	p.rs = xcalloc(1, sizeof(*p.rs));
	p.rs->name = xstrdup(p.file);
	rs_lex(&p);
	for (;;) {
		struct tok *t = peek(&p);

		if (t->t == T_EOF)
			break;
		if (is_sep(t)) {
			next(&p);
			continue;
		}
		next(&p);
		if (is_word(t, "table")) {
			parse_table(&p);
			if (!is_sep(peek(&p)) && peek(&p)->t != T_EOF && !expect_sep(&p))
				skip_stmt(&p);
		} else if (is_word(t, "flush") && is_word(peek(&p), "ruleset")) {
			next(&p);	/* a file loads into an empty ruleset anyway */
			if (!expect_sep(&p))
				skip_stmt(&p);
		} else {
			char buf[64];
			err_tok(&p, t, "syntax error, unexpected %s: expected \"table\", \"define\" or \"flush ruleset\"",
				rs_tok_desc(t, buf, sizeof(buf)));
			skip_stmt(&p);
			if (peek(&p)->t == T_LBRACE) {
				next(&p);
				skip_block(&p);
			}
		}
	}
	if (!p.nerr) {
		size_t before = errs ? errs->n : 0;

		for (size_t i = 0; i < p.rs->ntables; i++)
			rs_check_table(&p, p.rs->tables[i]);
		rs_widen_semantic_errors(&p, before);
	}
	rs_toks_free(&p.t);
	if (p.nerr) {
		ruleset_free(p.rs);
		return NULL;
	}
	rs_build_hooks(p.rs);
	/* the printed text of each rule, for traces and logs */
	for (size_t t = 0; t < p.rs->ntables; t++)
		for (size_t c = 0; c < p.rs->tables[t]->nchains; c++) {
			struct rs_chain *ch = p.rs->tables[t]->chains[c];

			for (size_t r = 0; r < ch->nrules; r++) {
				char buf[2048];

				rs_rule_format(p.rs->tables[t], &ch->rules[r], false, buf, sizeof(buf));
				ch->rules[r].text = xstrdup(buf);
			}
		}
	return p.rs;
}

struct ruleset *ruleset_parse_file(const char *path, struct rs_errors *errs)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct ruleset *rs;

	char msg[600];
	const char *why;

	if (!f) {
		snprintf(msg, sizeof(msg), "Could not open file \"%s\": %s", path, strerror(errno));
		rs_errs_add(errs, path, NULL, 0, 0, 0, msg);
		return NULL;
	}
	/* A directory (a ruleset file replaced by one before a SIGHUP) would
	 * load as the empty ruleset and the firewall fail open. Only a regular
	 * file is a ruleset file ("-" reads standard input). */
	if (f != stdin && (why = ct_file_not_regular(f))) {
		snprintf(msg, sizeof(msg), "Could not open file \"%s\": %s", path, why);
		rs_errs_add(errs, path, NULL, 0, 0, 0, msg);
		fclose(f);
		return NULL;
	}
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 8192;
			buf = xrealloc(buf, cap);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = 0;
	/* a read error is not the end of the file: half a ruleset must not load */
	if (ferror(f)) {
		snprintf(msg, sizeof(msg), "Could not read file \"%s\": %s", path, strerror(errno));
		rs_errs_add(errs, path, NULL, 0, 0, 0, msg);
		if (f != stdin)
			fclose(f);
		free(buf);
		return NULL;
	}
	if (f != stdin)
		fclose(f);
	if (memchr(buf, 0, len)) {
		rs_errs_add(errs, path, NULL, 0, 0, 0, "the file contains NUL bytes: not a ruleset");
		free(buf);
		return NULL;
	}
	rs = ruleset_parse_string(strcmp(path, "-") ? path : "/dev/stdin", buf, errs);
	free(buf);
	return rs;
}
