/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scenario_words.h — the words of one scenario line and the helpers that
 * read them (scenario_words.c), shared by the scenario language
 * (scenario_parse.c) and the packet notation (packet_notation.c); private
 * to ctsim/scenario/.
 */
#ifndef CTSIM_SCENARIO_SCENARIO_WORDS_H
#define CTSIM_SCENARIO_SCENARIO_WORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctsim/scenario/scenario.h"

#define SC_MAX_TOKS	160	/* words on one line */

/* One word of a line. */
struct sc_tok {
	const char *s;		/* not NUL-terminated: use len */
	size_t len;
	unsigned col;		/* 1-based */
	bool quoted;		/* "..." (s/len exclude the quotes) */
};

struct pn_state;

/*
 * A line being read, and what the lines before it set up: the hosts
 * (sc->hosts) and the flows' state (pn: the packet notation's, which
 * scenario_parse.c owns). Errors are appended to errs, located at
 * name:lineno and echoing line (nft style, as rs_errors).
 */
struct sc_line {
	const char *name;		/* the file, for messages */
	struct rs_errors *errs;
	const char *line;		/* the text of the line */
	unsigned lineno;		/* 1-based */
	struct sc_tok t[SC_MAX_TOKS];	/* its words */
	unsigned nt;			/* how many (a parser may lower it to
					 * end a clause early) */
	const struct scenario *sc;	/* hosts declared so far */
	struct pn_state *pn;		/* packet_notation.h */
};

/* ---------------------------------------------------------------------- */
/* Reading words                                                           */

/** sc_error_at - append an error at columns @col_first..@col_last of @x's line. */
void sc_error_at(struct sc_line *x, unsigned col_first, unsigned col_last, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/** sc_tok_col, sc_tok_col_last - the columns of word @i (just past the last word if beyond). */
unsigned sc_tok_col(const struct sc_line *x, unsigned i);
unsigned sc_tok_col_last(const struct sc_line *x, unsigned i);
/* An error under word @i (or just past the last word when @i is beyond). */
#define sc_tok_error(x, i, ...) \
	sc_error_at((x), sc_tok_col(x, i), sc_tok_col_last(x, i), __VA_ARGS__)
/** sc_is - is word @i the unquoted keyword @w? (false past the end) */
bool sc_is(const struct sc_line *x, unsigned i, const char *w);
/** sc_tok_str - word @i into @buf (@cap >= 1 bytes, cut to fit; "" past the end). */
void sc_tok_str(const struct sc_line *x, unsigned i, char *buf, size_t cap);
/**
 * sc_tok_num - word @i as a number (decimal or 0x hex) no larger than @max,
 * into @v. False after an error naming @what ("seq: ... is not a number").
 */
bool sc_tok_num(struct sc_line *x, unsigned i, uint64_t max, uint64_t *v, const char *what);
/** sc_find_host - the declared host named by word @i, or NULL. */
const struct sc_host *sc_find_host(const struct sc_line *x, unsigned i);
/** sc_need_host - sc_find_host(), with an error if there is none. */
const struct sc_host *sc_need_host(struct sc_line *x, unsigned i);
/**
 * sc_host_addr - @h's address of @family (AF_INET/AF_INET6) into @a; false
 * with an error under word @i if the host has none.
 */
bool sc_host_addr(struct sc_line *x, unsigned i, const struct sc_host *h, uint8_t family,
		  union ct_addr *a);

#endif
