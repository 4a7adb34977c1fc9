/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scenario_run.c — one scenario through the router, on a virtual clock.
 *
 * The core is the one `ctsim replay` uses (ctsim/replay/harness.h): table,
 * events, settings, a router with two interfaces, ct-c0 (the client side)
 * and ct-s0 (the server side), forwarding everything from one to the other.
 * A packet from a client-side host arrives on ct-c0, from a server-side
 * host on ct-s0. The clock starts at a fixed wall time and moves to each
 * step's time; the GC runs on it as the daemon's timer does, so entries
 * expire in gaps as on a kernel.
 *
 * A `conntrack -E` listener runs from the start (unless `listener off`),
 * and its lines are collected; `expect events` compares the lines printed
 * since the previous `expect events`. Listings and statistics are printed
 * by the shared printer (proto/ctnl_print.c) into memory and compared as
 * text, blanks collapsed, numbers within 1 (remaining timeouts), table
 * lines in any order.
 *
 * The run goes on after a failed expectation (the final table, events and
 * statistics are kept for --json and the kernel comparison); the first
 * failure is the one reported.
 */
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/ctnl_print.h"
#include "ctsim/nfnetlink/conn_export.h"
#include "ctsim/core/expect.h"
#include "ctsim/replay/harness.h"
#include "ctsim/scenario/scenario.h"

#define RUN_SEED		0x63747369u	/* fixed, as replay's: same ids every run */
#define WALL_START_NS		(1700000000ull * CT_NSEC_PER_SEC)

struct run {
	const struct scenario *sc;
	struct sc_result *res;
	FILE *log;		/* -v: a line per step */

	struct ct_offline h;	/* the core, as `ctsim replay` builds it */
	struct ruleset *rs;
	const struct sc_step *rs_step;	/* where the current ruleset came from */

	/* The conntrack -E log (h.ev_fp) and conntrack -E expect (h.xev_fp),
	 * memstreams: ev_seen is what the last expect events compared. */
	char *ev;
	size_t evlen, ev_seen;
	char *xev;
	size_t xevlen, xev_seen;

	const struct sc_step *last_pkt;
	bool check_failed;	/* the current expectation did not hold (-v) */
	int last_verdict;
	const char *last_state;	/* ct state as rules saw it, NULL: never reached conntrack */
	const char *last_why;
	FILE *trace;		/* res->trace */
	size_t trace_len;
	/* The packets the router sent for the current step, as "c:HEX" /
	 * "s:HEX" (the side they left by), comma-separated, for the trace. */
	char *out;
	size_t outlen, outcap;
	uint8_t buf[CT_PKT_MAX];
};

/* The router's xmit: remember what left, and by which side. */
static void out_packet(void *arg, int oif, const uint8_t *pkt, size_t len)
{
	struct run *r = arg;
	size_t need = r->outlen + 2 * len + 4;

	if (need > r->outcap) {
		char *n = realloc(r->out, need * 2);

		if (!n)
			return;
		r->out = n;
		r->outcap = need * 2;
	}
	if (r->outlen)
		r->out[r->outlen++] = ',';
	r->out[r->outlen++] = oif == 0 ? 'c' : 's';
	r->out[r->outlen++] = ':';
	for (size_t i = 0; i < len; i++)
		r->outlen += (size_t)sprintf(r->out + r->outlen, "%02x", pkt[i]);
	r->out[r->outlen] = 0;
}

/* ---------------------------------------------------------------------- */
/* Small strings                                                           */

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		abort();
	return d;
}

static char *fmt(const char *f, ...)
{
	char *s;
	va_list ap;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

/* Collapse runs of blanks, trim: the form lines are compared in. */
static char *norm_line(const char *l, size_t n)
{
	char *o = malloc(n + 1), *p = o;

	if (!o)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (isspace((unsigned char)l[i])) {
			if (p != o && p[-1] != ' ')
				*p++ = ' ';
		} else {
			*p++ = l[i];
		}
	}
	if (p != o && p[-1] == ' ')
		p--;
	*p = '\0';
	/* conntrack -L -o extended's "ipv4     2 " prefix is optional */
	if (!strncmp(o, "ipv4 2 ", 7) || !strncmp(o, "ipv6 10 ", 8))
		memmove(o, o + (o[3] == '4' ? 7 : 8), strlen(o + (o[3] == '4' ? 7 : 8)) + 1);
	return o;
}

struct strv {
	char **v;
	size_t n;
};

static void strv_split(struct strv *sv, const char *text)
{
	sv->v = NULL;
	sv->n = 0;
	while (text && *text) {
		const char *e = strchr(text, '\n');
		size_t n = e ? (size_t)(e - text) : strlen(text);
		char *l = norm_line(text, n);

		if (*l) {
			char **v = realloc(sv->v, (sv->n + 1) * sizeof(*v));

			if (!v)
				abort();
			sv->v = v;
			sv->v[sv->n++] = l;
		} else {
			free(l);
		}
		text = e ? e + 1 : text + n;
	}
}

static void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Two normalised lines are the same, numbers standing alone (the
 * remaining timeout) within 1. */
static bool line_eq(const char *a, const char *b)
{
	while (*a && *b) {
		size_t la = strcspn(a, " "), lb = strcspn(b, " ");
		bool num = la && lb && strspn(a, "0123456789") == la && strspn(b, "0123456789") == lb;

		if (num) {
			long long x = strtoll(a, NULL, 10), y = strtoll(b, NULL, 10);

			if (x - y > 1 || y - x > 1)
				return false;
		} else if (la != lb || memcmp(a, b, la)) {
			return false;
		}
		a += la;
		b += lb;
		if (*a != *b)
			return false;
		if (*a)
			a++, b++;
	}
	return !*a && !*b;
}

/* A line diff (LCS; the lists are short): " same", "-expected only",
 * "+actual only". Returns true if they are equal. */
static bool diff_lines(const struct strv *e, const struct strv *a, char **out)
{
	size_t n = e->n, m = a->n;
	unsigned *L = calloc((n + 1) * (m + 1), sizeof(*L));
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	bool same = n == m;

	if (!L || !f)
		abort();
#define LCS(i, j) L[(i) * (m + 1) + (j)]
	for (size_t i = n; i-- > 0;)
		for (size_t j = m; j-- > 0;)
			LCS(i, j) = line_eq(e->v[i], a->v[j]) ? LCS(i + 1, j + 1) + 1
				  : (LCS(i + 1, j) > LCS(i, j + 1) ? LCS(i + 1, j) : LCS(i, j + 1));
	same = same && LCS(0, 0) == n;
	for (size_t i = 0, j = 0; i < n || j < m;) {
		if (i < n && j < m && line_eq(e->v[i], a->v[j])) {
			fprintf(f, "  %s\n", a->v[j]);
			i++, j++;
		} else if (i < n && (j == m || LCS(i + 1, j) >= LCS(i, j + 1))) {
			fprintf(f, "- %s\n", e->v[i++]);
		} else {
			fprintf(f, "+ %s\n", a->v[j++]);
		}
	}
#undef LCS
	if (!n && !m)
		fprintf(f, "  (nothing)\n");
	fclose(f);
	free(L);
	*out = text;
	return same;
}

/* ---------------------------------------------------------------------- */
/* Listings                                                                */

/* What the shared printer writes for @what (and entry @c), as a string the
 * caller frees: listings and statistics are compared as text. */
enum printout { P_TABLE, P_EXPECTATIONS, P_ENTRY, P_STATS };

static char *printed(struct run *r, enum printout what, const struct conn *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct ctnl_ct o;

	if (!f)
		abort();
	r->h.print.fp = f;
	switch (what) {
	case P_TABLE:
		/* conntrack -L: the dump kills the expired entries it meets
		 * (with DESTROY events) and prints the others */
		ct_offline_list(&r->h, f);
		break;
	case P_EXPECTATIONS:		/* conntrack -L expect */
		export_print_expectations(&r->h.table);
		break;
	case P_ENTRY:			/* one line of conntrack -L */
		export_ct_from_conn(&r->h.table, c, &o);
		ctnl_print_ct(&o, CTNL_EV_NONE, 0);
		break;
	case P_STATS:			/* conntrack -S */
		ctnl_print_stats_cpu(0, &r->h.table.stats.cpu);
		break;
	}
	fclose(f);
	if (what == P_ENTRY && len && text[len - 1] == '\n')
		text[len - 1] = '\0';
	return text;
}

static char *list_table(struct run *r)
{
	return printed(r, P_TABLE, NULL);
}

static char *list_expectations(struct run *r)
{
	return printed(r, P_EXPECTATIONS, NULL);
}

static char *entry_line(struct run *r, const struct conn *c)
{
	return printed(r, P_ENTRY, c);
}

static char *stats_line(struct run *r)
{
	return printed(r, P_STATS, NULL);
}

/* ---------------------------------------------------------------------- */
/* Entries                                                                 */

static bool entry_matches(const struct conn *c, const struct sc_entry *e)
{
	const struct ct_tuple *t = &c->th[CT_DIR_ORIG].tuple;

	if (t->l3num != e->orig.l3num || t->l4num != e->orig.l4num ||
	    memcmp(&t->src, &e->orig.src, sizeof(t->src)) ||
	    memcmp(&t->dst, &e->orig.dst, sizeof(t->dst)))
		return false;
	if (e->orig.l4num == IPPROTO_ICMP || e->orig.l4num == IPPROTO_ICMPV6) {
		if (t->icmp_type != e->orig.icmp_type)
			return false;
	}
	if ((e->fields & SC_F_PORTS) &&
	    (t->sport != e->orig.sport ||
	     (e->orig.l4num != IPPROTO_ICMP && e->orig.l4num != IPPROTO_ICMPV6 &&
	      t->dport != e->orig.dport)))
		return false;
	if ((e->fields & SC_F_ZONE) && c->zone.id != e->zone)
		return false;
	return true;
}

/* The live entries matching @e's tuple (expired ones are not shown by a
 * lookup), up to @max. */
static size_t find_entries(struct run *r, const struct sc_entry *e, struct conn **out, size_t max)
{
	struct ct_table *t = &r->h.table;
	size_t n = 0;

	for (uint32_t b = 0; b < t->nbuckets; b++)
		for (struct ct_thash *h = t->buckets[b]; h; h = h->next) {
			struct conn *c = conn_of(h);

			if (h->dir == CT_DIR_ORIG && !conn_expired(t, c) && entry_matches(c, e) && n < max)
				out[n++] = c;
		}
	return n;
}

static const char *state_of(const struct conn *c)
{
	uint8_t l4 = c->th[CT_DIR_ORIG].tuple.l4num;

	if (l4 == IPPROTO_TCP)
		return ct_tcp_state_name(c->proto.tcp.state);
	if (l4 == IPPROTO_SCTP)
		return ct_sctp_state_name(c->proto.sctp.state);
	return "";
}

/* What differs between entry @c and the expectation; NULL if nothing. */
static char *entry_mismatch(struct run *r, const struct conn *c, const struct sc_entry *e)
{
	char *m = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&m, &len);
	uint32_t left = conn_timeout_left(&r->h.table, c);

	if (!f)
		abort();
	if ((e->fields & SC_F_STATE) && strcmp(state_of(c), e->state))
		fprintf(f, "state: expected %s, got %s\n", e->state, *state_of(c) ? state_of(c) : "(none)");
	if ((e->fields & SC_F_TIMEOUT) && (left > e->timeout + 1 || left + 1 < e->timeout))
		fprintf(f, "timeout: expected %u (±1), got %u\n", e->timeout, left);
	if (e->fields & SC_F_STATUS) {
		for (unsigned bit = 0; bit < 16; bit++) {
			uint32_t b = 1u << bit;
			static const char *const names[] = {
				"EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT", "DST_NAT",
				"SEQ_ADJUST", "SRC_NAT_DONE", "DST_NAT_DONE", "DYING", "FIXED_TIMEOUT",
				"TEMPLATE", "UNTRACKED", "HELPER", "OFFLOAD", "HW_OFFLOAD",
			};

			if ((e->status_set & b) && !(c->status & b))
				fprintf(f, "status: %s expected, not set\n", names[bit]);
			if ((e->status_clear & b) && (c->status & b))
				fprintf(f, "status: %s set, expected clear\n", names[bit]);
		}
	}
	if ((e->fields & SC_F_MARK) && c->mark != e->mark)
		fprintf(f, "mark: expected %u, got %u\n", e->mark, c->mark);
	if ((e->fields & SC_F_USE) && c->use != e->use)
		fprintf(f, "use: expected %u, got %u\n", e->use, c->use);
	if (e->fields & SC_F_LABELS) {
		static const uint8_t none[16];
		const uint8_t *l = c->ext && (c->ext->has & CONN_EXT_LABELS) ? c->ext->labels : none;

		if (memcmp(l, e->labels, 16))
			fprintf(f, "labels differ\n");
	}
	fclose(f);
	if (!len) {
		free(m);
		return NULL;
	}
	return m;
}

/* ---------------------------------------------------------------------- */
/* Control operations                                                      */

static void delete_one(struct ct_table *t, struct conn *c, void *arg)
{
	const struct sc_entry *e = arg;

	if (!e || entry_matches(c, e))
		ct_table_delete(t, c, 0, false);
}

/* Load the ruleset of step @s (NULL on error, with @err). */
static struct ruleset *load_ruleset(const struct run *r, const struct sc_step *s, char **err)
{
	struct rs_errors errs;
	struct ruleset *rs;

	if (s->block) {
		char *padded = malloc(strlen(s->block) + s->block_line + 1);

		if (!padded)
			abort();
		memset(padded, '\n', s->block_line - 1);
		strcpy(padded + s->block_line - 1, s->block);
		rs_errors_init(&errs);
		rs = ruleset_parse_string(r->sc->path, padded, &errs);
		free(padded);
	} else if (!strcmp(s->name, "default")) {
		return ruleset_default();
	} else {
		rs_errors_init(&errs);
		rs = ruleset_parse_file(s->name, &errs);
	}
	if (!rs) {
		*err = fmt("ruleset: %s", errs.n ? errs.v[0].msg : "out of memory");
	}
	rs_errors_free(&errs);
	return rs;
}

/* ---------------------------------------------------------------------- */
/* The run                                                                 */

static void fail(struct run *r, const struct sc_step *s, char *expected, char *actual)
{
	struct sc_failure *f = &r->res->fail;

	r->check_failed = true;
	if (!r->res->ok) {	/* only the first one is reported */
		free(expected);
		free(actual);
		return;
	}
	r->res->ok = false;
	f->line = s->line;
	f->expect = xstrdup(s->text);
	f->expected = expected;
	f->actual = actual;
	if (r->last_pkt) {
		f->pkt_line = r->last_pkt->line;
		f->pkt_text = fmt("%s (t=%.3f s, %s, ctinfo %s)", r->last_pkt->text,
				  (double)r->last_pkt->at_ns / 1e9,
				  r->last_verdict == CT_DROP ? "dropped" : "accepted",
				  r->last_state ? r->last_state : "none");
	}
}

static const char *verdict_word(int v)
{
	return v == CT_DROP ? "drop" : "accept";
}

/* The INVALID reason of the last packet, when the router reports it
 * (NULL unless conntrack called the packet invalid). */
static const char *last_invalid_reason(const struct run *r)
{
	const char *st = r->h.router.last.ct_state;

	if (!st || strcmp(st, "invalid"))
		return NULL;
	return r->h.router.last.invalid_reason;
}

static void check(struct run *r, const struct sc_step *s)
{
	char *exp, *act;

	r->res->checks++;
	switch (s->kind) {
	case SC_X_VERDICT:
	case SC_X_CTINFO:
	case SC_X_INVALID:
		if (!r->last_pkt) {
			fail(r, s, xstrdup(s->text), xstrdup("no packet was sent before this expectation"));
			return;
		}
		if (s->kind == SC_X_VERDICT) {
			if (strcmp(s->word, verdict_word(r->last_verdict))) {
				const char *inv = last_invalid_reason(r);

				fail(r, s, fmt("verdict %s", s->word),
				     fmt("verdict %s%s%s%s%s%s", verdict_word(r->last_verdict),
					 r->last_why ? ": " : "", r->last_why ? r->last_why : "",
					 inv ? " (ct state invalid: " : "", inv ? inv : "",
					 inv ? ")" : ""));
			}
			return;
		}
		{
			const char *want = s->kind == SC_X_INVALID ? "invalid" : s->word;
			const char *got = r->last_state ? r->last_state : "none";

			if (strcmp(want, got)) {
				fail(r, s, fmt("ctinfo %s", want),
				     fmt("ctinfo %s%s%s", got, r->last_state ? "" :
					 " (the packet never reached conntrack: ",
					 r->last_state ? "" : r->last_why ? r->last_why : "dropped"));
				if (!r->last_state && r->res->fail.actual && r->res->fail.line == s->line) {
					char *a = fmt("%s)", r->res->fail.actual);

					free(r->res->fail.actual);
					r->res->fail.actual = a;
				}
				return;
			}
			if (s->kind == SC_X_INVALID && s->str) {
				const char *why = last_invalid_reason(r);

				if (!why)
					fail(r, s, fmt("invalid, reason containing \"%s\"", s->str),
					     xstrdup("invalid, with no reason recorded"));
				else if (!strstr(why, s->str))
					fail(r, s, fmt("invalid, reason containing \"%s\"", s->str),
					     fmt("invalid: %s", why));
			}
		}
		return;
	case SC_X_ENTRY:
	case SC_X_NO_ENTRY: {
		struct conn *found[16];
		size_t n = find_entries(r, &s->e, found, 16);
		char *why = NULL;

		if (s->kind == SC_X_NO_ENTRY) {
			if (n) {
				char *l = entry_line(r, found[0]);

				fail(r, s, xstrdup("no such entry"), l);
			}
			return;
		}
		if (!n) {
			char *t = list_table(r);

			fail(r, s, xstrdup(s->text + strlen("expect ")),
			     fmt("no such entry; the table is:\n%s", *t ? t : "(empty)\n"));
			free(t);
			return;
		}
		for (size_t k = 0; k < n; k++) {
			free(why);
			why = entry_mismatch(r, found[k], &s->e);
			if (!why)
				return;
		}
		act = entry_line(r, found[n - 1]);
		fail(r, s, xstrdup(s->text + strlen("expect ")), fmt("%s\n%s", act, why));
		free(act);
		free(why);
		return;
	}
	case SC_X_TABLE:
	case SC_X_EVENTS:
	case SC_X_EXPECTATIONS:
	case SC_X_EXP_EVENTS: {
		bool listing = s->kind == SC_X_TABLE || s->kind == SC_X_EXPECTATIONS;
		struct strv e, a;
		char *text, *d;

		if (s->kind == SC_X_TABLE) {
			text = list_table(r);
		} else if (s->kind == SC_X_EXPECTATIONS) {
			text = list_expectations(r);
		} else if (s->kind == SC_X_EVENTS) {
			fflush(r->h.ev_fp);
			text = xstrdup(r->ev ? r->ev + r->ev_seen : "");
			r->ev_seen = r->evlen;
		} else {
			fflush(r->h.xev_fp);
			text = xstrdup(r->xev ? r->xev + r->xev_seen : "");
			r->xev_seen = r->xevlen;
		}
		strv_split(&e, s->block);
		strv_split(&a, text);
		free(text);
		/* listings in any order; events in theirs */
		if (listing && e.n)
			qsort(e.v, e.n, sizeof(*e.v), cmp_str);
		if (listing && a.n)
			qsort(a.v, a.n, sizeof(*a.v), cmp_str);
		if (!diff_lines(&e, &a, &d)) {
			static const char *const what[] = {
				[SC_X_TABLE] = "the table (- expected, + actual)",
				[SC_X_EVENTS] = "the events since the last check (- expected, + actual)",
				[SC_X_EXPECTATIONS] = "the expectations (- expected, + actual)",
				[SC_X_EXP_EVENTS] = "the expectation events since the last check "
						    "(- expected, + actual)",
			};

			exp = xstrdup(what[s->kind]);
			fail(r, s, exp, d);
		} else {
			free(d);
		}
		strv_free(&e);
		strv_free(&a);
		return;
	}
	case SC_X_STATS: {
		char *line = stats_line(r), *bad = NULL;
		size_t blen = 0;
		FILE *f = open_memstream(&bad, &blen);

		if (!f)
			abort();
		for (unsigned k = 0; k < s->nstats; k++) {
			char key[40], *p;
			unsigned long long v = 0;

			snprintf(key, sizeof(key), "%s=", s->stats[k].name);
			for (p = line; (p = strstr(p, key)); p++)
				if (p == line || p[-1] == ' ' || p[-1] == '\t')
					break;
			if (p)
				v = strtoull(p + strlen(key), NULL, 10);
			if (v != s->stats[k].v)
				fprintf(f, "%s: expected %llu, got %llu\n", s->stats[k].name,
					(unsigned long long)s->stats[k].v, v);
		}
		fclose(f);
		if (blen) {
			char *n = norm_line(line, strlen(line));

			fail(r, s, xstrdup(s->text + strlen("expect ")), fmt("%s\n%s", n, bad));
			free(n);
		}
		free(bad);
		free(line);
		return;
	}
	case SC_X_COUNT:
		if (r->h.table.count != s->count)
			fail(r, s, fmt("count %llu", (unsigned long long)s->count),
			     fmt("count %u", r->h.table.count));
		return;
	default:
		return;
	}
}

static void step(struct run *r, const struct sc_step *s)
{
	char *err = NULL;

	ct_offline_advance(&r->h, s->at_ns);
	switch (s->kind) {
	case SC_PACKET:
	case SC_RELEASE:
		r->outlen = 0;
		if (s->kind == SC_RELEASE) {
			/* the held packet goes on: confirmation, then out */
			r->last_verdict = router_release(&r->h.router);
			if (r->last_verdict < 0) {
				fail(r, s, xstrdup("a packet held in flight"),
				     xstrdup("nothing held: the held packet never reached "
					     "POSTROUTING's confirmation (dropped or delivered before)"));
				r->last_verdict = CT_DROP;
			}
		} else {
			memcpy(r->buf, s->pkt, s->len);
			r->res->packets++;
			r->h.router.hold_next = s->hold;
			r->last_verdict = ct_offline_receive(&r->h, s->side == SC_CLIENT ? CT_OFFLINE_CLIENT
									 : CT_OFFLINE_SERVER, r->buf, s->len,
							     ct_clock_wall(&r->h.clock));
			r->h.router.hold_next = false;
		}
		r->res->dropped += r->last_verdict == CT_DROP;
		r->last_pkt = s;
		r->last_state = r->h.router.last.ct_state;
		r->last_why = r->h.router.last.why;
		fprintf(r->trace, "%u %s %s %s\n", s->line, r->last_state ? r->last_state : "none",
			verdict_word(r->last_verdict), r->outlen ? r->out : "-");
		if (r->log) {
			/* The ruleset drops ct state invalid, but what made the
			 * packet invalid is conntrack's reason: say both. */
			const char *inv = last_invalid_reason(r);

			fprintf(r->log, "  %8.3f  %-60s -> %s, ct state %s%s%s%s%s%s%s%s\n",
				(double)s->at_ns / 1e9, s->text, verdict_word(r->last_verdict),
				r->last_state ? r->last_state : "none", inv ? " (" : "",
				inv ? inv : "", inv ? ")" : "", r->last_why ? ": " : "",
				r->last_why ? r->last_why : "",
				r->h.router.last.helper[0] ? "; helper " : "", r->h.router.last.helper);
		}
		return;
	case SC_SET:
		ct_settings_set(&r->h.settings, s->name, s->value, NULL, 0);
		r->h.events.mode = r->h.settings.events;
		break;
	case SC_RULESET:
	case SC_RELOAD: {
		const struct sc_step *src = s->kind == SC_RULESET ? s : r->rs_step;
		struct ruleset *rs = NULL;

		if (!src)		/* reload of the built-in ruleset */
			rs = ruleset_default();
		else if (strcmp(src->name ? src->name : "", "none"))
			rs = load_ruleset(r, src, &err);
		if (err) {
			if (!r->res->error)
				r->res->error = fmt("%s:%u: %s", r->sc->path, s->line, err);
			free(err);
			r->res->ok = false;
			return;
		}
		ruleset_free(r->rs);
		r->rs = r->h.router.rs = rs;
		r->rs_step = src;
		break;
	}
	case SC_INSERT:
	case SC_INSERT_EXPECT: {
		/* the CT_NEW / EXP_NEW message through ctnetlink's own code
		 * (ct_requests.c, exp_requests.c), as conntrack -I would send it */
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)s->pkt;
		int err = s->kind == SC_INSERT ? ctnetlink_ct_new(&r->h.table, nlh, 0)
					       : ctnetlink_exp_new(&r->h.table, nlh, 0);

		if (err && r->log)
			fprintf(r->log, "  %8.3f  %s: %s\n", (double)s->at_ns / 1e9, s->text,
				strerror(-err));
		break;
	}
	case SC_DELETE:
		ct_table_for_each(&r->h.table, delete_one, (void *)&s->e);
		break;
	case SC_FLUSH:
		ct_table_for_each(&r->h.table, delete_one, NULL);
		break;
	case SC_LISTENER:
		ct_offline_listen(&r->h, !strcmp(s->word, "on"));
		break;
	case SC_ADDR_DEL:
		for (unsigned i = 0; i < r->sc->nhosts; i++) {
			const struct sc_host *x = &r->sc->hosts[i];
			unsigned ifidx = x->side == SC_CLIENT ? 0 : 1;

			if (strcmp(x->name, s->name))
				continue;
			if (x->has4)
				router_addr_del(&r->h.router, ifidx, AF_INET);
			if (x->has6)
				router_addr_del(&r->h.router, ifidx, AF_INET6);
		}
		break;
	case SC_ADVANCE:
		break;
	default:
		r->check_failed = false;
		check(r, s);
		if (r->log)
			fprintf(r->log, "  %8.3f  %-60s %s\n", (double)s->at_ns / 1e9, s->text,
				r->check_failed ? "FAILED" : "ok");
		return;
	}
	if (r->log)
		fprintf(r->log, "  %8.3f  %s\n", (double)s->at_ns / 1e9, s->text);
}

void scenario_run(const struct scenario *sc, struct sc_result *res, bool verbose, FILE *log)
{
	scenario_run_traced(sc, res, verbose, log, NULL, NULL, false);
}

void scenario_run_traced(const struct scenario *sc, struct sc_result *res, bool verbose, FILE *log,
			 router_trace_fn trace, void *ctx, bool all)
{
	struct run *r = calloc(1, sizeof(*r));
	size_t k = 0;

	if (!r)
		abort();
	memset(res, 0, sizeof(*res));
	res->ok = true;
	r->sc = sc;
	r->res = res;
	r->log = verbose ? log : NULL;
	ct_offline_init(&r->h);
	/* The settings given before anything happens shape the table
	 * (nf_conntrack_buckets): apply them before it is made. A ruleset or
	 * listener line does not touch the table, so the settings after it
	 * count too; the parser refuses a table-shaping setting after the
	 * first step that does (ct_settings_shapes_table()). The others are
	 * applied again in their place by step(), in the same order. */
	for (; k < sc->nsteps && sc->steps[k].at_ns == 0 &&
	       (sc->steps[k].kind == SC_SET || sc->steps[k].kind == SC_LISTENER ||
		sc->steps[k].kind == SC_RULESET || sc->steps[k].kind == SC_RELOAD ||
		sc->steps[k].kind >= SC_X_VERDICT); k++)
		if (sc->steps[k].kind == SC_SET)
			ct_settings_set(&r->h.settings, sc->steps[k].name, sc->steps[k].value, NULL, 0);
	k = 0;

	/* A conntrack -E and -E expect from the start (unless `listener off`),
	 * their lines collected in memory. */
	r->h.listening = sc->listener_at_start;
	r->h.capture = CT_OFFLINE_EVENTS | CT_OFFLINE_EXP_EVENTS;
	r->h.xmit = out_packet;
	r->h.xmit_arg = r;
	r->h.ev_fp = open_memstream(&r->ev, &r->evlen);
	r->h.xev_fp = open_memstream(&r->xev, &r->xevlen);
	r->trace = open_memstream(&res->trace, &r->trace_len);
	if (!r->h.ev_fp || !r->h.xev_fp || !r->trace)
		abort();
	r->rs = ruleset_default();	/* until a ruleset statement says otherwise */
	r->h.trace = trace;
	r->h.trace_ctx = ctx;
	r->h.trace_all = all;
	if (ct_offline_start(&r->h, WALL_START_NS, 0, RUN_SEED, r->rs) < 0) {
		res->ok = false;
		res->error = fmt("cannot allocate %u hash buckets", r->h.settings.buckets);
		ruleset_free(r->rs);
		fclose(r->trace);
		free(res->trace);
		res->trace = NULL;
		fclose(r->h.ev_fp);
		free(r->ev);
		fclose(r->h.xev_fp);
		free(r->xev);
		free(r);
		return;
	}
	r->h.print.fp = r->h.ev_fp;
	ctnl_print_setup(&r->h.print);
	/* `host ... router`: the router's own addresses on that side (the
	 * address masquerade picks on the way out, redirect on the way in) */
	for (unsigned i = 0; i < sc->nhosts; i++) {
		const struct sc_host *x = &sc->hosts[i];
		struct router_if *rif = &r->h.router.ifs[x->side == SC_CLIENT ? 0 : 1];

		if (!x->router)
			continue;
		if (x->has4) {
			rif->addr4 = rif->net4 = x->a4;
			rif->plen4 = 32;
			rif->has4 = true;
		}
		if (x->has6) {
			rif->addr6 = rif->net6 = x->a6;
			rif->plen6 = 128;
			rif->has6 = true;
		}
	}

	for (k = 0; k < sc->nsteps; k++)
		step(r, &sc->steps[k]);

	/* The final state: conntrack -L at the end (it reaps what expired),
	 * the whole event log, conntrack -S. */
	res->table = list_table(r);
	fflush(r->h.ev_fp);
	res->events = xstrdup(r->ev);
	res->stats = stats_line(r);
	res->expectations = list_expectations(r);
	fflush(r->h.xev_fp);
	res->exp_events = xstrdup(r->xev);

	ctnl_print_setup(NULL);
	fclose(r->trace);
	ct_offline_fini(&r->h);
	fclose(r->h.ev_fp);
	free(r->ev);
	fclose(r->h.xev_fp);
	free(r->xev);
	ruleset_free(r->rs);
	free(r->out);
	free(r);
}

void sc_result_free(struct sc_result *res)
{
	free(res->fail.expect);
	free(res->fail.expected);
	free(res->fail.actual);
	free(res->fail.pkt_text);
	free(res->error);
	free(res->table);
	free(res->events);
	free(res->stats);
	free(res->expectations);
	free(res->exp_events);
	free(res->trace);
	memset(res, 0, sizeof(*res));
}
