/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset_int.h — what the five parts of the ruleset language share, and
 * nothing else may use (ruleset.h is the public contract):
 *
 *   ruleset_lex.c    tokens, their locations, located error records
 *   ruleset_names.c  symbol and key tables, priority names, family and hook
 *                    names, a table's objects by name (used by the three
 *                    below, uses none of them)
 *   ruleset_parse.c  grammar -> representation (struct ruleset); calls the
 *                    checks and the printer at its end
 *   ruleset_check.c  checks after parsing (jump targets and loops, helper
 *                    objects, NAT hooks), caret printing, hook lists
 *   ruleset_print.c  the one printer: `nft list ruleset` text and the
 *                    `nft -j` JSON shape, from one walk
 *
 * The order is the one nft follows: scanner, parser, evaluate, netlink;
 * a file goes through them in one transaction (all or nothing).
 */
#ifndef CTSIM_RULESET_INT_H
#define CTSIM_RULESET_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ctsim/hooks/ruleset.h"

/* ---------------------------------------------------------------------- */
/* Allocation: one place for failure, as nft's memory_allocation_error()   */

static inline char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		abort();	/* one place for allocation failure, as nft's memory_allocation_error() */
	return d;
}

static inline void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		abort();
	return p;
}

static inline void *xrealloc(void *p, size_t sz)
{
	p = realloc(p, sz ? sz : 1);
	if (!p)
		abort();
	return p;
}

/* ---------------------------------------------------------------------- */
/* Tokens (ruleset_lex.c)                                                  */

enum tok_type {
	T_EOF, T_NL, T_SEMI, T_LBRACE, T_RBRACE, T_COMMA, T_LPAREN, T_RPAREN,
	T_PIPE, T_AMP, T_EQ, T_EQEQ, T_NEQ, T_PLUS, T_WORD, T_STRING, T_VAR,
};

struct tok {
	enum tok_type t;
	char *s;		/* T_WORD, T_STRING (without quotes), T_VAR (without $) */
	unsigned line, col, len;
};

struct toks {
	struct tok *v;
	size_t n, cap;
};

struct parser {
	const char *file;
	const char *text;
	struct rs_errors *errs;
	unsigned nerr;
	struct toks t;
	size_t pos;
	struct ruleset *rs;
	unsigned next_handle;
	size_t first_err;	/* this parse's first record in errs */
};

/**
 * rs_lex - tokenize p->text into p->t (nft's scanner): words, strings,
 * punctuation, newlines (they separate rules, as in nft); `define NAME =
 * tokens` lines are recorded and `$NAME` replaced by copies of the tokens,
 * located at the `$NAME`. Errors go to p->errs; p->t ends with T_EOF.
 */
void rs_lex(struct parser *p);
/** rs_toks_free - free every token's text and the array. */
void rs_toks_free(struct toks *ts);
/** rs_tok_desc - how error messages name @t ("\"word\"", "'{'", ...), in @buf. */
const char *rs_tok_desc(const struct tok *t, char *buf, size_t n);

/**
 * rs_errs_add - append one error record: @msg at @line, columns @c1..@c2
 * of @file; the source line is copied from @text (when @text and @line are
 * given) so that rs_errors_print() can underline it. @errs NULL: dropped.
 */
void rs_errs_add(struct rs_errors *errs, const char *file, const char *text, unsigned line,
		 unsigned c1, unsigned c2, const char *msg);
/**
 * rs_err_at - a located error of this parse (counted in p->nerr even when
 * not recorded): only the first error of a line is recorded, the rest is
 * usually a consequence of it.
 */
void rs_err_at(struct parser *p, unsigned line, unsigned c1, unsigned c2, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/** rs_err_tok2 - an error spanning tokens @a..@b (same line, else just @a). */
void rs_err_tok2(struct parser *p, const struct tok *a, const struct tok *b, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define err_tok(p, a, ...) rs_err_tok2(p, a, NULL, __VA_ARGS__)

/* Token cursor of the recursive-descent parser. */
static inline struct tok *peek(struct parser *p)
{
	return &p->t.v[p->pos];
}


static inline struct tok *next(struct parser *p)
{
	struct tok *t = &p->t.v[p->pos];

	if (t->t != T_EOF)
		p->pos++;
	return t;
}

static inline bool is_word(const struct tok *t, const char *w)
{
	return t->t == T_WORD && !strcmp(t->s, w);
}

static inline bool accept_word(struct parser *p, const char *w)
{
	if (is_word(peek(p), w)) {
		next(p);
		return true;
	}
	return false;
}

static inline bool is_sep(const struct tok *t)
{
	return t->t == T_NL || t->t == T_SEMI;
}

/* ---------------------------------------------------------------------- */
/* Symbols, keys and priorities (ruleset_names.c)                          */

struct sym {
	const char *name;
	uint64_t v;
};

/** rs_sym_find - the row of the NULL-terminated table @t named @name, or NULL. */
const struct sym *rs_sym_find(const struct sym *t, const char *name);
/** rs_sym_name - the name of @v in the NULL-terminated table @t, or NULL. */
const char *rs_sym_name(const struct sym *t, uint64_t v);
/** rs_sym_list - the names of @t, ", "-separated, into @buf (@n bytes). */
void rs_sym_list(const struct sym *t, char *buf, size_t n);
/* reject with icmp / icmpv6 / icmpx: the code names */
extern const struct sym rs_icmp_code_syms[], rs_icmpv6_code_syms[], rs_icmpx_code_syms[];
/* meta l4proto values (and ct helper's protocol); hooks as nft spells them */
extern const struct sym rs_l4proto_syms[], rs_hook_syms[];

enum vtype { VT_INT, VT_FLAGS, VT_ADDR4, VT_ADDR6, VT_IFNAME, VT_STR };

/* One row per match key: how it is spelled, what values it takes, and
 * the dependencies nft adds implicitly (ip saddr implies meta nfproto
 * ipv4 in inet tables, tcp dport implies meta l4proto tcp). */
struct keydesc {
	const char *w1, *w2;	/* "ip" "saddr"; w1 NULL: unqualified meta key */
	enum rs_key key;
	enum vtype type;
	const struct sym *syms;
	uint64_t max;
	const char *unit;	/* for range errors: "port 70000 out of range" */
	uint8_t fam;		/* 4, 6 or 0 */
	uint8_t l4;		/* IPPROTO_* or 0 */
	bool settable;		/* KEY set VALUE is a statement */
	bool print_meta;	/* printed with "meta " */
};

/** rs_key_desc - the key table row printing @k (the first one spelling it). */
const struct keydesc *rs_key_desc(enum rs_key k);
/**
 * rs_find_key - the key table row spelled "@w1 @w2", or, @w1 NULL, the
 * unqualified meta key @w2; NULL if there is none.
 */
const struct keydesc *rs_find_key(const char *w1, const char *w2);

/** rs_addr_cmp - memcmp of two addresses, network order (16 bytes). */
static inline int rs_addr_cmp(const union ct_addr *a, const union ct_addr *b)
{
	return memcmp(a->b, b->b, 16);
}

struct prio_name {
	const char *name;
	int prio;
	uint32_t hooks;		/* hooks the name may be used at (nft's std_prios) */
};

#define ALL_HOOKS 0x1f
/* standard priority names, NULL-terminated */
extern const struct prio_name rs_prio_names[];

/** rs_table_find_chain - chain @name of @tab, or NULL. */
struct rs_chain *rs_table_find_chain(const struct rs_table *tab, const char *name);
/** rs_table_find_helper - ct helper object @name of @tab, or NULL. */
struct rs_helper *rs_table_find_helper(const struct rs_table *tab, const char *name);
/** rs_table_find_timeout - ct timeout object @name of @tab, or NULL. */
struct rs_timeout *rs_table_find_timeout(const struct rs_table *tab, const char *name);

/* ---------------------------------------------------------------------- */
/* Checks after parsing (ruleset_check.c)                                  */

/**
 * rs_check_table - resolve jump/goto targets and `ct helper set` objects of
 * @tab, check which NAT statement fits which hook (nft_nat_validate()) and
 * refuse jump loops (nft_chain_validate(): -ELOOP). Errors via rs_err_at().
 */
void rs_check_table(struct parser *p, struct rs_table *tab);
/**
 * rs_widen_semantic_errors - errors from @first on located at column 1..1
 * (the checks know the line only) are widened to the line's text.
 */
void rs_widen_semantic_errors(struct parser *p, size_t first);
/**
 * rs_build_hooks - rs->hooks[h]: the base chains at each hook sorted by
 * priority, declaration order kept for equal priorities (a stable sort:
 * nf_hook_entries are ordered so, registration order among equals).
 */
void rs_build_hooks(struct ruleset *rs);

/* ---------------------------------------------------------------------- */
/* Printing (ruleset_print.c)                                              */

/**
 * rs_rule_format - @r as `nft list ruleset` prints it (matches then
 * statements, one space apart), with counter values when @counters, into
 * @out (@n bytes, always terminated, truncated when too long).
 */
void rs_rule_format(const struct rs_table *tab, const struct rs_rule *r, bool counters,
		    char *out, size_t n);

#endif
