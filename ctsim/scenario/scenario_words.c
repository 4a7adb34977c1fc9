/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scenario_words.c — reading the words of one scenario line, for the
 * language (scenario_parse.c) and the packet notation (packet_notation.c)
 * alike: located errors (nft style, as rs_errors), the columns of a word,
 * keywords, strings and numbers, and the hosts declared so far by name
 * (scenario_words.h has the contract).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ctsim/scenario/scenario_words.h"

/* ---------------------------------------------------------------------- */
/* Errors                                                                  */

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		abort();
	return d;
}

void sc_error_at(struct sc_line *x, unsigned col_first, unsigned col_last, const char *fmt, ...)
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

unsigned sc_tok_col(const struct sc_line *x, unsigned i)
{
	if (i < x->nt)
		return x->t[i].col - x->t[i].quoted;
	return x->nt ? x->t[x->nt - 1].col + (unsigned)x->t[x->nt - 1].len + x->t[x->nt - 1].quoted + 1
		     : 1;
}

unsigned sc_tok_col_last(const struct sc_line *x, unsigned i)
{
	if (i < x->nt)
		return x->t[i].col + (unsigned)x->t[i].len - 1 + x->t[i].quoted;
	return sc_tok_col(x, i);
}

/* ---------------------------------------------------------------------- */
/* Words                                                                   */

bool sc_is(const struct sc_line *x, unsigned i, const char *w)
{
	return i < x->nt && !x->t[i].quoted && x->t[i].len == strlen(w) &&
	       !memcmp(x->t[i].s, w, x->t[i].len);
}

void sc_tok_str(const struct sc_line *x, unsigned i, char *buf, size_t cap)
{
	size_t n = i < x->nt ? x->t[i].len : 0;

	if (n >= cap)
		n = cap - 1;
	memcpy(buf, i < x->nt ? x->t[i].s : "", n);
	buf[n] = '\0';
}

/* A number (decimal or 0x hex) no larger than @max. */
bool sc_tok_num(struct sc_line *x, unsigned i, uint64_t max, uint64_t *v, const char *what)
{
	char buf[64], *end;
	unsigned long long n;

	if (i >= x->nt) {
		sc_tok_error(x, i, "%s: a number is missing", what);
		return false;
	}
	sc_tok_str(x, i, buf, sizeof(buf));
	errno = 0;
	n = strtoull(buf, &end, 0);
	if (!buf[0] || *end || errno || buf[0] == '-') {
		sc_tok_error(x, i, "%s: \"%s\" is not a number", what, buf);
		return false;
	}
	if (n > max) {
		sc_tok_error(x, i, "%s: %s is out of range (at most %llu)", what, buf,
			  (unsigned long long)max);
		return false;
	}
	*v = n;
	return true;
}

/* ---------------------------------------------------------------------- */
/* Hosts                                                                   */

const struct sc_host *sc_find_host(const struct sc_line *x, unsigned i)
{
	for (unsigned h = 0; h < x->sc->nhosts; h++)
		if (i < x->nt && x->t[i].len == strlen(x->sc->hosts[h].name) &&
		    !memcmp(x->t[i].s, x->sc->hosts[h].name, x->t[i].len))
			return &x->sc->hosts[h];
	return NULL;
}

const struct sc_host *sc_need_host(struct sc_line *x, unsigned i)
{
	const struct sc_host *h = sc_find_host(x, i);
	char buf[64];

	if (!h) {
		sc_tok_str(x, i, buf, sizeof(buf));
		if (i >= x->nt)
			sc_tok_error(x, i, "a host name is missing");
		else
			sc_tok_error(x, i, "unknown host \"%s\"%s", buf,
				  x->sc->nhosts ? "" : " (declare hosts first: host NAME ADDRESS)");
	}
	return h;
}

/* The address of @h for @family; an error under token @i if it has none. */
bool sc_host_addr(struct sc_line *x, unsigned i, const struct sc_host *h, uint8_t family,
		      union ct_addr *a)
{
	if (family == AF_INET6 ? !h->has6 : !h->has4) {
		sc_tok_error(x, i, "host \"%s\" has no %s address", h->name,
			  family == AF_INET6 ? "IPv6" : "IPv4");
		return false;
	}
	*a = family == AF_INET6 ? h->a6 : h->a4;
	return true;
}
