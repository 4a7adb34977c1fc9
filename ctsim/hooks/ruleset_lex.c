/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset_lex.c — the ruleset language's scanner (nft's scanner.l): the
 * text becomes tokens that know their line and columns, so every error can
 * be located nft-style (FILE:LINE:COL-COL, the line, carets under it).
 */
#include <ctype.h>
#include <stdio.h>
#include "ctsim/hooks/ruleset_int.h"

void rs_errs_add(struct rs_errors *errs, const char *file, const char *text, unsigned line,
		     unsigned c1, unsigned c2, const char *msg)
{
	struct rs_error *e;

	if (!errs)
		return;
	if (errs->n == errs->cap) {
		errs->cap = errs->cap ? 2 * errs->cap : 8;
		errs->v = xrealloc(errs->v, errs->cap * sizeof(*errs->v));
	}
	e = &errs->v[errs->n++];
	memset(e, 0, sizeof(*e));
	e->file = xstrdup(file);
	e->msg = xstrdup(msg);
	e->line = line;
	e->col_first = c1;
	e->col_last = c2 < c1 ? c1 : c2;
	if (text && line) {
		const char *s = text;
		size_t len;

		for (unsigned l = 1; l < line && s; l++) {
			s = strchr(s, '\n');
			if (s)
				s++;
		}
		if (!s)
			s = "";
		len = strcspn(s, "\n");
		e->src_line = xcalloc(len + 1, 1);
		memcpy(e->src_line, s, len);
	}
}

static const char *const rs_tok_names[] = {
	[T_EOF] = "end of file", [T_NL] = "newline", [T_SEMI] = "';'", [T_LBRACE] = "'{'",
	[T_RBRACE] = "'}'", [T_COMMA] = "','", [T_LPAREN] = "'('", [T_RPAREN] = "')'",
	[T_PIPE] = "'|'", [T_AMP] = "'&'", [T_EQ] = "'='", [T_EQEQ] = "'=='",
	[T_NEQ] = "'!='", [T_PLUS] = "'+'", [T_WORD] = "word", [T_STRING] = "string",
	[T_VAR] = "variable",
};

static void toks_push(struct toks *ts, struct tok t)
{
	if (ts->n == ts->cap) {
		ts->cap = ts->cap ? 2 * ts->cap : 256;
		ts->v = xrealloc(ts->v, ts->cap * sizeof(*ts->v));
	}
	ts->v[ts->n++] = t;
}

void rs_toks_free(struct toks *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		free(ts->v[i].s);
	free(ts->v);
	memset(ts, 0, sizeof(*ts));
}

/* Characters of a word: identifiers, numbers, addresses (1.2.3.4/8,
 * fe80::1, 1.2.3.4:80), ranges (1-1024), wildcards ("eth*" also bare). */
static bool word_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':' || c == '/' || c == '*';
}

void rs_err_at(struct parser *p, unsigned line, unsigned c1, unsigned c2, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

void rs_err_at(struct parser *p, unsigned line, unsigned c1, unsigned c2, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->nerr++;
	/* one error per line: the rest is usually a consequence of the first */
	for (size_t i = p->first_err; p->errs && i < p->errs->n; i++)
		if (p->errs->v[i].line == line && !strcmp(p->errs->v[i].file, p->file))
			return;
	rs_errs_add(p->errs, p->file, p->text, line, c1, c2, msg);
}

/* Error spanning tokens @a..@b (same line, else just @a). */
void rs_err_tok2(struct parser *p, const struct tok *a, const struct tok *b, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

void rs_err_tok2(struct parser *p, const struct tok *a, const struct tok *b, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	unsigned last;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (b && b->line == a->line && b->col >= a->col)
		last = b->col + (b->len ? b->len : 1) - 1;
	else
		last = a->col + (a->len ? a->len : 1) - 1;
	rs_err_at(p, a->line, a->col, last, "%s", msg);
}

/* Tokenize @text; `define NAME = tokens...` lines are recorded and `$NAME`
 * replaced by copies of the tokens (located at the `$NAME`). */
struct define {
	char *name;
	struct tok *v;
	size_t n;
};

void rs_lex(struct parser *p)
{
	struct toks raw = { 0 };
	const char *s = p->text;
	unsigned line = 1, col = 1;

	while (*s) {
		struct tok t = { .line = line, .col = col, .len = 1 };
		const char *start = s;

		if (*s == '\\' && s[1] == '\n') {	/* line continuation */
			s += 2, line++, col = 1;
			continue;
		}
		if (*s == ' ' || *s == '\t' || *s == '\r') {
			s++, col++;
			continue;
		}
		if (*s == '#') {
			while (*s && *s != '\n')
				s++, col++;
			continue;
		}
		if (*s == '\n') {
			t.t = T_NL;
			toks_push(&raw, t);
			s++, line++, col = 1;
			continue;
		}
		if (*s == '"') {
			const char *e = strchr(s + 1, '"');
			const char *nl = strchr(s + 1, '\n');

			if (!e || (nl && nl < e)) {
				t.len = (unsigned)(nl ? nl - s : (long)strlen(s));
				rs_err_at(p, line, col, col + t.len - 1, "unterminated string");
				s += t.len, col += t.len;
				continue;
			}
			t.t = T_STRING;
			t.s = xcalloc((size_t)(e - s), 1);
			memcpy(t.s, s + 1, (size_t)(e - s - 1));
			t.len = (unsigned)(e - s + 1);
			toks_push(&raw, t);
			col += t.len, s = e + 1;
			continue;
		}
		if (*s == '!' && s[1] == '=') {
			t.t = T_NEQ, t.len = 2;
		} else if (*s == '=' && s[1] == '=') {
			t.t = T_EQEQ, t.len = 2;
		} else if (*s == '$' && word_char((unsigned char)s[1])) {
			const char *e = s + 1;

			while (word_char((unsigned char)*e))
				e++;
			t.t = T_VAR;
			t.len = (unsigned)(e - s);
			t.s = xcalloc(t.len, 1);
			memcpy(t.s, s + 1, t.len - 1);
		} else if (word_char((unsigned char)*s) || *s == '[') {
			const char *e = s;

			/* "[ADDR6]:PORT" (NAT to an IPv6 address and port) is one word */
			if (*e == '[') {
				e++;
				while (word_char((unsigned char)*e))
					e++;
				if (*e == ']')
					e++;
			}
			while (word_char((unsigned char)*e))
				e++;
			t.t = T_WORD;
			t.len = (unsigned)(e - s);
			t.s = xcalloc(t.len + 1, 1);
			memcpy(t.s, s, t.len);
		} else {
			switch (*s) {
			case ';': t.t = T_SEMI; break;
			case '{': t.t = T_LBRACE; break;
			case '}': t.t = T_RBRACE; break;
			case ',': t.t = T_COMMA; break;
			case '(': t.t = T_LPAREN; break;
			case ')': t.t = T_RPAREN; break;
			case '|': t.t = T_PIPE; break;
			case '&': t.t = T_AMP; break;
			case '=': t.t = T_EQ; break;
			case '+': t.t = T_PLUS; break;
			default:
				rs_err_at(p, line, col, col, "syntax error, unexpected character '%c'", *s);
				s++, col++;
				continue;
			}
		}
		toks_push(&raw, t);
		s = start + t.len;
		col += t.len;
	}
	toks_push(&raw, (struct tok){ .t = T_EOF, .line = line, .col = col, .len = 1 });

	/* Second pass: defines and variables. */
	struct define *defs = NULL;
	size_t ndefs = 0;
	bool line_start = true;

	for (size_t i = 0; i < raw.n; i++) {
		struct tok *t = &raw.v[i];

		if (line_start && t->t == T_WORD && !strcmp(t->s, "define")) {
			size_t j = i + 1;
			struct define d = { 0 };

			if (j + 1 >= raw.n || raw.v[j].t != T_WORD || raw.v[j + 1].t != T_EQ) {
				err_tok(p, t, "syntax error: expected `define NAME = VALUE`");
				while (j < raw.n && raw.v[j].t != T_NL && raw.v[j].t != T_SEMI && raw.v[j].t != T_EOF)
					j++;
				i = j - 1;
				continue;
			}
			d.name = xstrdup(raw.v[j].s);
			for (j += 2; j < raw.n && raw.v[j].t != T_NL && raw.v[j].t != T_SEMI &&
			     raw.v[j].t != T_EOF; j++) {
				struct tok c = raw.v[j];
				d.v = xrealloc(d.v, (d.n + 1) * sizeof(*d.v));
				c.s = c.s ? xstrdup(c.s) : NULL;
				d.v[d.n++] = c;
			}
			defs = xrealloc(defs, (ndefs + 1) * sizeof(*defs));
			defs[ndefs++] = d;
			i = j - 1;
			continue;
		}
		line_start = t->t == T_NL || t->t == T_SEMI;
		if (t->t == T_VAR) {
			struct define *d = NULL;

			for (size_t k = ndefs; k-- > 0;)
				if (!strcmp(defs[k].name, t->s)) {
					d = &defs[k];
					break;
				}
			if (!d) {
				err_tok(p, t, "unknown identifier '%s'", t->s);
				continue;
			}
			for (size_t k = 0; k < d->n; k++) {
				struct tok c = d->v[k];

				c.s = c.s ? xstrdup(c.s) : NULL;
				c.line = t->line, c.col = t->col, c.len = t->len;
				toks_push(&p->t, c);
			}
			continue;
		}
		struct tok c = *t;
		c.s = c.s ? xstrdup(c.s) : NULL;
		toks_push(&p->t, c);
	}
	for (size_t k = 0; k < ndefs; k++) {
		for (size_t j = 0; j < defs[k].n; j++)
			free(defs[k].v[j].s);
		free(defs[k].v);
		free(defs[k].name);
	}
	free(defs);
	rs_toks_free(&raw);
}

const char *rs_tok_desc(const struct tok *t, char *buf, size_t n)
{
	if (t->t == T_WORD)
		snprintf(buf, n, "\"%s\"", t->s);
	else if (t->t == T_STRING)
		snprintf(buf, n, "string \"%s\"", t->s);
	else
		snprintf(buf, n, "%s", rs_tok_names[t->t]);
	return buf;
}
