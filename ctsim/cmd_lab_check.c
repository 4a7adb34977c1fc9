/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_lab_check.c — `ctsim lab check [DIR|NN]`: did the student get there?
 *
 * A lab's `check` file says, with the words of scenario files (`expect
 * entry`, `expect events`, `expect stats`, `expect count`), what must be
 * true of the running lab once the worksheet's steps are done:
 *
 *     title Anatomy of a conntrack entry (ICMP)
 *     step ping the server once (ping -c1 server)
 *     expect event [NEW] icmp 1 30 src=client dst=server type=8 [UNREPLIED]
 *     hint  is the lab running, and did the ping go through ctsim?
 *     expect no entry icmp src=client dst=server
 *     expect stats invalid=0
 *     expect counter "ct state established" packets 1..
 *
 * The lab's programs pick their own ports and ids, so entries and events
 * are matched by *patterns* against conntrack's own text (the lines of
 * `conntrack -L`, `-L expect` and of the journal `ctsim lab start` keeps of
 * `conntrack -E`): the pattern's words must appear in the line in that
 * order, not necessarily side by side; `!WORD` says no word of the line
 * is WORD; `src=`, `dst=`, `sport=`, `dport=`, `type=`, `code=`, `id=` are
 * the original tuple's, `reply-src=` ... the reply tuple's; `KEY=HOST`
 * matches any address of the topology's HOST
 * (`ctsim-HOST`: ctsim's address on HOST's link); `*` in a word matches
 * any characters; `A..B` (or `A..`) matches a number in that range. The
 * syntax is docs/labs/README.md's.
 *
 * Every check is reported (ok / FAIL with what was found instead and the
 * hint), so a student sees how far they got.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include "proto/ctnl.h"
#include "proto/ctnl_client.h"
#include "proto/ctnl_print.h"
#include "proto/ctsim_wire.h"
#include "ctsim/cmd.h"
#include "ctsim/lab/lab.h"

#define MAXW	48	/* words of a pattern */
#define MAXPAT	24	/* lines of an `expect events { }` block */

enum ck_kind {
	CK_ENTRY, CK_NO_ENTRY, CK_EVENT, CK_NO_EVENT, CK_EVENTS, CK_EXPECTATION,
	CK_NO_EXPECTATION, CK_COUNT, CK_STATS, CK_COUNTER,
};

struct pattern {
	char *w[MAXW];
	unsigned n;
};

struct check {
	enum ck_kind kind;
	unsigned line;
	char *text;			/* the statement, as written (for the report) */
	char *step;			/* the step it belongs to (not owned) */
	char *hint;
	struct pattern pat[MAXPAT];	/* one, or the lines of a block */
	unsigned npat;
	char *stat_name[12];		/* expect stats */
	char *range[12];		/* count/stats/counter: "N", "A..B", "A.." */
	unsigned nstats;
	char *rule;			/* expect counter "TEXT" */
	char *chain;			/* ... in chain NAME */
	char *words;			/* expect stats: the copy stat_name[] and range[] point into */
};

struct checkfile {
	char *title;
	char *steps[64];
	unsigned nsteps;
	struct check *c;
	unsigned n, cap;
	unsigned errors;
};

static const char *const stat_names[] = {
	"found", "invalid", "insert", "insert_failed", "drop", "early_drop", "error",
	"search_restart", "clash_resolve", "chaintoolong",
};

/* ---- ranges and word patterns ------------------------------------------------- */

static bool is_number(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* "N", "A..B" or "A.." -> [lo, hi]; false if it is none of them. */
static bool parse_range(const char *s, unsigned long long *lo, unsigned long long *hi)
{
	const char *dots = strstr(s, "..");
	char a[32];

	if (!dots) {
		if (!is_number(s) || strlen(s) > 18)
			return false;
		*lo = *hi = strtoull(s, NULL, 10);
		return true;
	}
	if (dots == s || (size_t)(dots - s) >= sizeof(a))
		return false;
	memcpy(a, s, (size_t)(dots - s));
	a[dots - s] = '\0';
	if (!is_number(a) || strlen(a) > 18 || (dots[2] && (!is_number(dots + 2) ||
							    strlen(dots + 2) > 18)))
		return false;
	*lo = strtoull(a, NULL, 10);
	*hi = dots[2] ? strtoull(dots + 2, NULL, 10) : ~0ull;
	return *lo <= *hi;
}

static bool in_range(const char *range, unsigned long long v)
{
	unsigned long long lo, hi;

	return parse_range(range, &lo, &hi) && v >= lo && v <= hi;
}

/* '*' matches any run of characters; everything else itself. */
static bool glob(const char *p, const char *s)
{
	if (!*p)
		return !*s;
	if (*p == '*')
		return glob(p + 1, s) || (*s && glob(p, s + 1));
	return *p == *s && glob(p + 1, s + 1);
}

static const struct lab *topo;

/* @value as a host's name: does @addr belong to it? */
static bool host_value(const char *value, const char *addr)
{
	char a[INET6_ADDRSTRLEN];
	bool gw = !strncmp(value, "ctsim-", 6);
	const char *name = gw ? value + 6 : value;

	for (unsigned i = 0; topo && i < topo->n; i++) {
		const struct lab_host *h = &topo->host[i];

		if (strcmp(h->name, name) != 0)
			continue;
		if (h->has4 && !strcmp(addr, inet_ntop(AF_INET, gw ? &h->gw4 : &h->host4, a,
							 sizeof(a))))
			return true;
		if (h->has6 && !strcmp(addr, inet_ntop(AF_INET6, gw ? h->gw6.ip6 : h->host6.ip6, a,
							 sizeof(a))))
			return true;
		return false;
	}
	return false;
}

static bool value_match(const char *p, const char *v)
{
	if (strstr(p, "..") && is_number(v))
		return in_range(p, strtoull(v, NULL, 10));
	if (host_value(p, v))
		return true;
	return glob(p, v);
}

/* Keys that conntrack prints once per tuple: a pattern's `src=` means the
 * original tuple's (the key's first occurrence in the line), `reply-src=`
 * the reply tuple's (its second), as conntrack's own filter options. */
static bool tuple_key(const char *k, size_t len)
{
	static const char *const keys[] = { "src", "dst", "sport", "dport", "type", "code", "id" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i]) == len && !strncmp(k, keys[i], len))
			return true;
	return false;
}

/* @w is the line's word, @occ how many times its key occurred up to it. */
static bool word_match(const char *p, const char *w, unsigned occ)
{
	const char *pe = strchr(p, '='), *we = strchr(w, '=');

	if (pe && pe != p) {
		size_t plen = (size_t)(pe - p);
		unsigned want = 0;

		if (plen > 6 && !strncmp(p, "reply-", 6) && tuple_key(p + 6, plen - 6)) {
			p += 6, plen -= 6;
			want = 2;
		} else if (tuple_key(p, plen)) {
			want = 1;
		}
		if (!we || plen != (size_t)(we - w) || strncmp(p, w, plen) != 0)
			return false;
		if (want && occ != want)
			return false;
		return value_match(pe + 1, we + 1);
	}
	return value_match(p, w);
}

/* Split @line (modified) into words. */
static unsigned split(char *line, char **w, unsigned max)
{
	unsigned n = 0;

	for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save); t && n < max;
	     t = strtok_r(NULL, " \t\r\n", &save))
		w[n++] = t;
	return n;
}

static bool line_matches(const struct pattern *p, const char *line)
{
	char copy[2048], *w[160];
	unsigned n, at = 0;

	unsigned occ[160];

	snprintf(copy, sizeof(copy), "%s", line);
	n = split(copy, w, 160);
	/* the occurrence of each word's key: src= 1 (original), 2 (reply) */
	for (unsigned k = 0; k < n; k++) {
		const char *eq = strchr(w[k], '=');

		occ[k] = 0;
		if (!eq)
			continue;
		for (unsigned j = 0; j <= k; j++)
			if (!strncmp(w[j], w[k], (size_t)(eq - w[k]) + 1))
				occ[k]++;
	}
	for (unsigned i = 0; i < p->n; i++) {
		const char *pw = p->w[i];

		if (pw[0] == '!' && pw[1]) {
			for (unsigned k = 0; k < n; k++)
				if (word_match(pw + 1, w[k], occ[k]))
					return false;
			continue;
		}
		while (at < n && !word_match(pw, w[at], occ[at]))
			at++;
		if (at == n)
			return false;
		at++;
	}
	return true;
}

/* ---- the check file ------------------------------------------------------------- */

static void perr(struct checkfile *cf, const char *path, unsigned line, unsigned col,
		 const char *fmt, const char *arg)
{
	fprintf(stderr, "%s:%u:%u: ", path, line, col);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	cf->errors++;
}

static struct check *add_check(struct checkfile *cf)
{
	if (cf->n == cf->cap) {
		unsigned cap = cf->cap ? cf->cap * 2 : 16;
		struct check *c = realloc(cf->c, cap * sizeof(*c));

		if (!c) {
			perror("ctsim lab check");
			exit(1);
		}
		cf->c = c;
		cf->cap = cap;
	}
	memset(&cf->c[cf->n], 0, sizeof(cf->c[0]));
	cf->c[cf->n].step = cf->nsteps ? cf->steps[cf->nsteps - 1] : NULL;
	return &cf->c[cf->n++];
}

/* The words of @rest as a pattern (copied). */
static bool make_pattern(struct pattern *p, const char *rest)
{
	char *copy = strdup(rest);

	p->n = split(copy, p->w, MAXW);
	if (!p->n)
		free(copy);	/* else it is p->w[0]: @rest starts with a word */
	return p->n > 0;
}

static void free_checks(struct checkfile *cf)
{
	for (unsigned i = 0; i < cf->n; i++) {
		struct check *c = &cf->c[i];

		for (unsigned k = 0; k < c->npat; k++)
			if (c->pat[k].n)
				free(c->pat[k].w[0]);
		free(c->text);
		free(c->hint);
		free(c->rule);
		free(c->chain);
		if (c->kind == CK_STATS)
			free(c->words);
		else
			free(c->range[0]);
	}
	for (unsigned i = 0; i < cf->nsteps; i++)
		free(cf->steps[i]);
	free(cf->title);
	free(cf->c);
}


static int load_checks(struct checkfile *cf, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	unsigned lineno = 0;
	struct check *block = NULL;

	memset(cf, 0, sizeof(*cf));
	if (!f) {
		fprintf(stderr, "ctsim lab check: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s, *rest, copy[2048];
		unsigned col;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		s = line + strspn(line, " \t");
		col = (unsigned)(s - line) + 1;
		if (block) {
			if (!strcmp(s, "}")) {
				if (!block->npat)
					perr(cf, path, lineno, col, "%s", "an empty `expect events` block");
				block = NULL;
			} else if (*s && *s != '#') {
				if (block->npat == MAXPAT)
					perr(cf, path, lineno, col, "more than %s lines in a block", "24");
				else
					make_pattern(&block->pat[block->npat++], s);
			}
			continue;
		}
		if (!*s || *s == '#')
			continue;
		if (!strncmp(s, "title ", 6)) {
			free(cf->title);
			cf->title = strdup(s + 6);
			continue;
		}
		if (!strncmp(s, "step ", 5)) {
			if (cf->nsteps < 64)
				cf->steps[cf->nsteps++] = strdup(s + 5 + strspn(s + 5, " \t"));
			continue;
		}
		if (!strncmp(s, "hint ", 5)) {
			if (!cf->n)
				perr(cf, path, lineno, col, "%s", "a hint belongs to the `expect` before it");
			else
				cf->c[cf->n - 1].hint = strdup(s + 5 + strspn(s + 5, " \t"));
			continue;
		}
		if (strncmp(s, "expect ", 7) != 0) {
			snprintf(copy, sizeof(copy), "%s", s);
			copy[strcspn(copy, " \t")] = '\0';
			perr(cf, path, lineno, col, "unknown statement \"%s\" (expected title, step, "
			     "expect or hint)", copy);
			continue;
		}
		rest = s + 7 + strspn(s + 7, " \t");
		{
			static const struct { const char *word; enum ck_kind kind; } kinds[] = {
				{ "entry ", CK_ENTRY }, { "no entry ", CK_NO_ENTRY },
				{ "event ", CK_EVENT }, { "no event ", CK_NO_EVENT },
				{ "events {", CK_EVENTS }, { "expectation ", CK_EXPECTATION },
				{ "no expectation ", CK_NO_EXPECTATION }, { "count ", CK_COUNT },
				{ "stats ", CK_STATS }, { "counter ", CK_COUNTER },
			};
			struct check *c = NULL;
			const char *arg = NULL;

			for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
				size_t l = strlen(kinds[k].word);

				if (!strncmp(rest, kinds[k].word, l)) {
					c = add_check(cf);
					c->kind = kinds[k].kind;
					arg = rest + l + strspn(rest + l, " \t");
					break;
				}
			}
			if (!c) {
				snprintf(copy, sizeof(copy), "%s", rest);
				copy[strcspn(copy, " \t")] = '\0';
				perr(cf, path, lineno, (unsigned)(rest - line) + 1,
				     "unknown expectation \"%s\" (expected entry, no entry, event, no "
				     "event, events {, expectation, no expectation, count, stats or "
				     "counter)", copy);
				continue;
			}
			c->line = lineno;
			c->text = strdup(s + 7);
			switch (c->kind) {
			case CK_EVENTS:
				if (*arg)
					perr(cf, path, lineno, (unsigned)(arg - line) + 1,
					     "%s", "`expect events {` ends its line; patterns follow, one a line");
				block = c;
				break;
			case CK_COUNT:
				/* expect count RANGE [PATTERN]: entries (matching PATTERN) */
				c->range[0] = strndup(arg, strcspn(arg, " \t"));
				{
					unsigned long long lo, hi;
					const char *pat = arg + strcspn(arg, " \t");

					if (!parse_range(c->range[0], &lo, &hi))
						perr(cf, path, lineno, (unsigned)(arg - line) + 1,
						     "\"%s\" is not a number or a range A..B", c->range[0]);
					pat += strspn(pat, " \t");
					if (*pat) {
						make_pattern(&c->pat[0], pat);
						c->npat = 1;
					}
				}
				break;
			case CK_STATS: {
				char *w[12];
				char *cp = strdup(arg);
				unsigned n = split(cp, w, 12);

				c->words = cp;
				if (!n)
					perr(cf, path, lineno, (unsigned)(arg - line) + 1, "%s",
					     "expected NAME=N or NAME=A..B");
				for (unsigned i = 0; i < n; i++) {
					char *eq = strchr(w[i], '=');
					bool known = false;
					unsigned long long lo, hi;

					if (eq)
						*eq = '\0';
					for (size_t k = 0; k < sizeof(stat_names) / sizeof(stat_names[0]); k++)
						known |= !strcmp(w[i], stat_names[k]);
					if (!eq || !known || !parse_range(eq + 1, &lo, &hi)) {
						perr(cf, path, lineno, (unsigned)(strstr(s, w[i]) - line) + 1,
						     "\"%s\": expected NAME=N or NAME=A..B, NAME one of found "
						     "invalid insert insert_failed drop early_drop error "
						     "search_restart clash_resolve chaintoolong", w[i]);
						continue;
					}
					c->stat_name[c->nstats] = w[i];
					c->range[c->nstats++] = eq + 1;
				}
				break;
			}
			case CK_COUNTER: {
				const char *q = arg[0] == '"' ? strchr(arg + 1, '"') : NULL;
				const char *after = q ? q + 1 + strspn(q + 1, " \t") : NULL;
				unsigned long long lo, hi;

				if (after && !strncmp(after, "in chain ", 9)) {
					const char *nm = after + 9 + strspn(after + 9, " \t");
					size_t l = strcspn(nm, " \t");

					c->chain = strndup(nm, l);
					after = nm + l + strspn(nm + l, " \t");
				}
				if (!q || q == arg + 1 || strncmp(after, "packets ", 8) ||
				    !parse_range(after + 8 + strspn(after + 8, " \t"), &lo, &hi)) {
					perr(cf, path, lineno, (unsigned)(arg - line) + 1, "%s",
					     "expected: expect counter \"TEXT OF THE RULE\" [in chain NAME] packets N|A..B");
					break;
				}
				c->rule = strndup(arg + 1, (size_t)(q - arg - 1));
				c->range[0] = strdup(after + 8 + strspn(after + 8, " \t"));
				break;
			}
			default:
				if (!make_pattern(&c->pat[0], arg))
					perr(cf, path, lineno, (unsigned)(arg - line) + 1, "%s",
					     "expected a pattern: words of the conntrack line");
				c->npat = 1;
				break;
			}
		}
	}
	fclose(f);
	if (block)
		perr(cf, path, block->line, 1, "%s", "`expect events {` is never closed by `}`");
	if (!cf->n && !cf->errors)
		perr(cf, path, lineno ? lineno : 1, 1, "%s", "no `expect` lines: a check that cannot fail");
	return cf->errors ? -1 : 0;
}

/* ---- what the lab shows ---------------------------------------------------------- */

struct lines {
	char **l;
	unsigned n, cap;
};

static void free_lines(struct lines *ls)
{
	for (unsigned i = 0; i < ls->n; i++)
		free(ls->l[i]);
	free(ls->l);
}

static void lines_add(struct lines *ls, const char *s)
{
	if (ls->n == ls->cap) {
		ls->cap = ls->cap ? ls->cap * 2 : 64;
		ls->l = realloc(ls->l, ls->cap * sizeof(char *));
		if (!ls->l) {
			perror("ctsim lab check");
			exit(1);
		}
	}
	ls->l[ls->n++] = strdup(s);
}

/* Split a memory stream's text into lines. */
static void lines_from(struct lines *ls, char *text)
{
	for (char *save = NULL, *t = strtok_r(text, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
		lines_add(ls, t);
}

struct dump {
	bool exp;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;

	if (d->exp) {
		struct ctnl_exp e;

		if (ctnl_exp_parse(nlh, &e, NULL) == 0)
			ctnl_print_exp(&e, CTNL_EV_NONE);
	} else {
		struct ctnl_ct ct;

		if ((nlh->nlmsg_type >> 8) == NFNL_SUBSYS_CTNETLINK &&
		    ctnl_ct_parse(nlh, &ct, NULL) == 0)
			ctnl_print_ct(&ct, CTNL_EV_NONE, 0);
	}
	return 0;
}

static int stats_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ctnl_stats_cpu s, *sum = data;

	if (CTNL_MSGTYPE(nlh->nlmsg_type) != IPCTNL_MSG_CT_GET_STATS_CPU ||
	    ctnl_stats_cpu_parse(nlh, &s) < 0)
		return 0;
	sum->found += s.found;
	sum->invalid += s.invalid;
	sum->insert += s.insert;
	sum->insert_failed += s.insert_failed;
	sum->drop += s.drop;
	sum->early_drop += s.early_drop;
	sum->error += s.error;
	sum->search_restart += s.search_restart;
	sum->clash_resolve += s.clash_resolve;
	sum->chaintoolong += s.chaintoolong;
	return 0;
}

/* A dump (@type of @subsys) printed as conntrack prints it, into @out. */
static int dump_lines(struct ctnl_client *c, uint8_t subsys, uint8_t type, struct lines *out)
{
	static uint8_t buf[256];
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	struct ctnl_print_opts po = { .fp = mem };
	struct dump d = { .exp = subsys == NFNL_SUBSYS_CTNETLINK_EXP };
	struct nlmsghdr *nlh;
	int r;

	if (!mem)
		return -ENOMEM;
	ctnl_print_setup(&po);
	nlh = ctnl_msg_start(buf, sizeof(buf), CTNL_MSG(subsys, type), NLM_F_REQUEST | NLM_F_DUMP,
			     ctnl_client_seq(c), 0, AF_UNSPEC, 0, 0);
	r = ctnl_client_request(c, nlh, dump_cb, &d);
	ctnl_print_setup(NULL);
	fclose(mem);
	lines_from(out, text);
	free(text);
	return r;
}

struct observed {
	struct lines table, expect, journal;
	struct ctnl_stats_cpu stats;
	const char *ruleset;	/* the live listing with counters, or NULL */
	char journal_path[PATH_MAX];
	bool have_journal;
};

/* The packets of the first rule containing @rule (in chain @chain if not
 * NULL) of the live listing; -1: no such rule, -2: it has no counter. */
static long long counter_of(const char *ruleset, const char *chain, const char *rule,
			    char *line, size_t len)
{
	const char *from = ruleset, *to = NULL, *at, *start, *end, *pk;
	char head[128];

	if (ruleset && chain) {
		snprintf(head, sizeof(head), "chain %s {", chain);
		from = strstr(ruleset, head);
		if (!from)
			return -1;
		from += strlen(head);
		to = strstr(from, "\n\t}");	/* the chain's closing brace */
	}
	at = from ? strstr(from, rule) : NULL;
	if (!at || (to && at > to))
		return -1;
	start = at;
	while (start > ruleset && start[-1] != '\n')
		start--;
	end = strchr(at, '\n');
	if (!end)
		end = at + strlen(at);
	snprintf(line, len, "%.*s", (int)(end - start), start);
	pk = strstr(line, "counter packets ");
	if (!pk)
		return -2;
	return strtoll(pk + 16, NULL, 10);
}

/* ---- running the checks ---------------------------------------------------------- */

/* Up to 8 lines of @ls to show what there is instead of @near: the last
 * ones of the same kind (the pattern's first two words, e.g. "[UPDATE]
 * tcp", else its protocol, else its first word), else the last 8. */
static void show_lines(const char *what, const struct lines *ls, const struct pattern *near)
{
	struct pattern kinds[3];
	unsigned nk = 0;

	if (!ls->n) {
		printf("        %s is empty\n", what);
		return;
	}
	if (near && near->n >= 2 && !strchr(near->w[1], '=') && near->w[1][0] != '!') {
		kinds[nk++] = (struct pattern){ .w = { near->w[0], near->w[1] }, .n = 2 };
		kinds[nk++] = (struct pattern){ .w = { near->w[1] }, .n = 1 };
	}
	if (near && near->n >= 1 && near->w[0][0] != '!')
		kinds[nk++] = (struct pattern){ .w = { near->w[0] }, .n = 1 };
	for (unsigned k = 0; k < nk; k++) {
		unsigned idx[8], shown = 0;

		for (unsigned i = ls->n; i-- > 0 && shown < 8;)
			if (line_matches(&kinds[k], ls->l[i]))
				idx[shown++] = i;
		if (!shown)
			continue;
		printf("        %s has %u line%s; the last %u with \"", what, ls->n,
		       ls->n == 1 ? "" : "s", shown);
		for (unsigned w = 0; w < kinds[k].n; w++)
			printf("%s%s", w ? " " : "", kinds[k].w[w]);
		printf("\":\n");
		while (shown--)
			printf("          %s\n", ls->l[idx[shown]]);
		return;
	}
	printf("        %s has %u line%s%s:\n", what, ls->n, ls->n == 1 ? "" : "s",
	       ls->n > 8 ? ", the last 8" : "");
	for (unsigned i = ls->n > 8 ? ls->n - 8 : 0; i < ls->n; i++)
		printf("          %s\n", ls->l[i]);
}

static const char *find(const struct lines *ls, const struct pattern *p, unsigned from,
			unsigned *at)
{
	for (unsigned i = from; i < ls->n; i++)
		if (line_matches(p, ls->l[i])) {
			if (at)
				*at = i;
			return ls->l[i];
		}
	return NULL;
}

/* One check: true when it holds; on failure, prints why. */
static bool run_check(const struct check *c, const struct observed *o)
{
	const struct lines *ls = NULL;
	const char *what = NULL, *hit;
	char line[1024];
	unsigned at = 0;

	switch (c->kind) {
	case CK_ENTRY: case CK_NO_ENTRY:
		ls = &o->table, what = "the table (conntrack -L)";
		break;
	case CK_EVENT: case CK_NO_EVENT: case CK_EVENTS:
		ls = &o->journal, what = "the event journal (conntrack -E)";
		break;
	case CK_EXPECTATION: case CK_NO_EXPECTATION:
		ls = &o->expect, what = "the expectation table (conntrack -L expect)";
		break;
	default:
		break;
	}
	if (ls == &o->journal && !o->have_journal) {
		printf("FAIL  expect %s\n        no event journal (%s): was the lab started with "
		       "`ctsim lab start`?\n", c->text, o->journal_path);
		return false;
	}
	switch (c->kind) {
	case CK_ENTRY: case CK_EVENT: case CK_EXPECTATION:
		if ((hit = find(ls, &c->pat[0], 0, NULL))) {
			printf("ok    expect %s\n", c->text);
			return true;
		}
		printf("FAIL  expect %s\n        no line of %s matches\n", c->text, what);
		show_lines(what, ls, &c->pat[0]);
		return false;
	case CK_NO_ENTRY: case CK_NO_EVENT: case CK_NO_EXPECTATION:
		if (!(hit = find(ls, &c->pat[0], 0, NULL))) {
			printf("ok    expect %s\n", c->text);
			return true;
		}
		printf("FAIL  expect %s\n        but %s has:\n          %s\n", c->text, what, hit);
		return false;
	case CK_EVENTS:
		for (unsigned i = 0; i < c->npat; i++) {
			unsigned got;

			if (!find(ls, &c->pat[i], at, &got)) {
				printf("FAIL  expect events { ... } (line %u of the check file)\n",
				       c->line);
				if (i)
					printf("        found the first %u line%s of the block, in order\n",
					       i, i == 1 ? "" : "s");
				printf("        missing%s: ", i ? " after them" : "");
				for (unsigned w = 0; w < c->pat[i].n; w++)
					printf("%s%s", w ? " " : "", c->pat[i].w[w]);
				putchar('\n');
				show_lines(what, ls, &c->pat[i]);
				return false;
			}
			at = got + 1;
		}
		printf("ok    expect events { %u lines in order }\n", c->npat);
		return true;
	case CK_COUNT:
		for (unsigned i = 0; i < o->table.n; i++)
			if (!c->npat || line_matches(&c->pat[0], o->table.l[i]))
				at++;
		if (in_range(c->range[0], at)) {
			printf("ok    expect %s\n", c->text);
			return true;
		}
		printf("FAIL  expect %s\n        the table has %u such entr%s\n", c->text, at,
		       at == 1 ? "y" : "ies");
		show_lines("the table (conntrack -L)", &o->table, c->npat ? &c->pat[0] : NULL);
		return false;
	case CK_STATS: {
		bool ok = true;

		for (unsigned i = 0; i < c->nstats; i++) {
			const uint32_t *v = &o->stats.found;	/* the fields in stat_names order */
			size_t k = 0;

			while (strcmp(stat_names[k], c->stat_name[i]))
				k++;
			if (!in_range(c->range[i], v[k])) {
				if (ok)
					printf("FAIL  expect %s\n", c->text);
				printf("        %s=%u (conntrack -S)\n", c->stat_name[i], v[k]);
				ok = false;
			}
		}
		if (ok)
			printf("ok    expect %s\n", c->text);
		return ok;
	}
	case CK_COUNTER: {
		long long v = counter_of(o->ruleset, c->chain, c->rule, line, sizeof(line));

		if (v >= 0 && in_range(c->range[0], (unsigned long long)v)) {
			printf("ok    expect %s\n", c->text);
			return true;
		}
		printf("FAIL  expect %s\n", c->text);
		if (!o->ruleset)
			printf("        the daemon listed no ruleset (ctctl ruleset)\n");
		else if (v == -1)
			printf("        no rule of %s%s contains \"%s\" (ctctl ruleset)\n",
			       c->chain ? "chain " : "the live ruleset", c->chain ? c->chain : "",
			       c->rule);
		else if (v == -2)
			printf("        the rule has no counter: %s\n", line);
		else
			printf("        the rule counted %lld packet%s: %s\n", v, v == 1 ? "" : "s",
			       line + strspn(line, " \t"));
		return false;
	}
	}
	return false;
}

static void check_usage(FILE *out)
{
	fprintf(out, "Usage: ctsim lab check [DIR|NN] [--socket PATH]\n"
		     "  Check the running lab against DIR's check file (NN: docs/labs/NN-*;\n"
		     "  none: the lab `ctsim lab start` runs on the socket). Exit 0 when every\n"
		     "  check holds, 1 otherwise, 2 for a bad command line or check file.\n");
}

int cmd_lab_check(int argc, char **argv)
{
	const char *socket = getenv(CTSIM_SOCKET_ENV), *arg = NULL, *prefix = LAB_DEFAULT_PREFIX;
	char dir[PATH_MAX] = "", path[PATH_MAX], info[PATH_MAX], run_prefix[64] = "";
	char running[PATH_MAX] = "";
	static struct lab l;
	struct checkfile cf;
	struct observed o;
	struct ctnl_client *c;
	const void *data = NULL;
	char *ruleset = NULL;
	unsigned passed = 0, lost = 0;
	FILE *f;
	int r;

	if (!socket || !*socket)
		socket = CTSIM_DEFAULT_SOCKET;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			check_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			socket = argv[++i];
		} else if (argv[i][0] != '-' && !arg) {
			arg = argv[i];
		} else {
			fprintf(stderr, "ctsim lab check: unexpected argument \"%s\"\n", argv[i]);
			check_usage(stderr);
			return 2;
		}
	}
	if (lab_side_path(info, sizeof(info), socket, "lab") < 0 ||
	    lab_side_path(o.journal_path, sizeof(o.journal_path), socket, "journal") < 0) {
		fprintf(stderr, "ctsim lab check: socket path too long\n");
		return 2;
	}
	/* the lab that runs: its directory and namespace prefix */
	if ((f = fopen(info, "r"))) {
		if (fgets(running, sizeof(running), f)) {
			running[strcspn(running, "\n")] = '\0';
			if (!arg)
				snprintf(dir, sizeof(dir), "%s", running);
		}
		if (fgets(run_prefix, sizeof(run_prefix), f)) {
			run_prefix[strcspn(run_prefix, "\n")] = '\0';
			prefix = run_prefix;
		}
		fclose(f);
	}
	if (arg && lab_resolve_dir(arg, dir, sizeof(dir)) < 0) {
		fprintf(stderr, "ctsim lab check: %s: not a lab directory (nor a lab number under "
			"docs/labs)\n", arg);
		return 2;
	}
	if (!dir[0]) {
		fprintf(stderr, "ctsim lab check: which lab? no lab runs on %s (start one with "
			"`ctsim lab start DIR`, or name it: ctsim lab check DIR)\n", socket);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/topology", dir);
	if (access(path, F_OK) == 0) {
		char err[512];

		if (lab_load(&l, path, prefix, err, sizeof(err)) < 0) {
			fprintf(stderr, "ctsim lab check: %s\n", err);
			return 2;
		}
	} else {
		lab_default(&l, prefix);
	}
	topo = &l;
	snprintf(path, sizeof(path), "%s/check", dir);
	if (load_checks(&cf, path) < 0) {
		free_checks(&cf);
		return 2;
	}

	memset(&o.table, 0, sizeof(o.table));
	memset(&o.expect, 0, sizeof(o.expect));
	memset(&o.journal, 0, sizeof(o.journal));
	memset(&o.stats, 0, sizeof(o.stats));
	o.ruleset = NULL;
	c = ctnl_client_open(socket, 0);
	if (!c) {
		fprintf(stderr, "ctsim lab check: cannot connect to ctsim at %s: %s (is the lab "
			"running? ctsim lab start %s)\n", socket, strerror(errno), dir);
		free_checks(&cf);
		return 1;
	}
	if ((r = dump_lines(c, NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET, &o.table)) < 0 ||
	    (r = dump_lines(c, NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_GET, &o.expect)) < 0) {
		fprintf(stderr, "ctsim lab check: listing the table: %s\n", strerror(-r));
		ctnl_client_close(c);
		free_lines(&o.table);
		free_lines(&o.expect);
		free_checks(&cf);
		return 1;
	}
	{
		static uint8_t buf[256];
		struct nlmsghdr *nlh = ctnl_msg_start(buf, sizeof(buf),
			CTNL_MSG(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS_CPU),
			NLM_F_REQUEST | NLM_F_DUMP, ctnl_client_seq(c), 0, AF_UNSPEC, 0, 0);

		ctnl_client_request(c, nlh, stats_cb, &o.stats);
	}
	r = ctnl_client_control_data(c, CTSIM_CTL_RULESET, 0, 0, 0, &data);
	if (r >= 0) {
		ruleset = strndup(data, (size_t)r);
		o.ruleset = ruleset;
	}
	ctnl_client_close(c);
	if ((f = fopen(o.journal_path, "r"))) {
		char line[2048];

		o.have_journal = true;
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			if (line[0] && line[0] != '#')
				lines_add(&o.journal, line);
			else if (strstr(line, "events lost"))
				lost++;
		}
		fclose(f);
	} else {
		o.have_journal = false;
	}

	printf("lab %s\n", cf.title ? cf.title : dir);
	if (lost)
		printf("note: the event journal lost events %u time%s (ENOBUFS, a burst faster than "
		       "it could write): checks of events may miss lines\n", lost, lost == 1 ? "" : "s");
	if (running[0] && strcmp(running, dir) != 0)
		printf("note: the lab running on %s is %s, not this one\n", socket, running);
	for (unsigned i = 0; i < cf.n; i++) {
		const struct check *k = &cf.c[i];

		if (k->step && (i == 0 || cf.c[i - 1].step != k->step))
			printf("step: %s\n", k->step);
		if (run_check(k, &o))
			passed++;
		else if (k->hint)
			printf("        hint: %s\n", k->hint);
	}
	printf("%u of %u checks passed%s\n", passed, cf.n,
	       passed == cf.n ? ": well done" : "");
	r = passed == cf.n ? 0 : 1;
	free(ruleset);
	free_lines(&o.table);
	free_lines(&o.expect);
	free_lines(&o.journal);
	free_checks(&cf);
	return r;
}
