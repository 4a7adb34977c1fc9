// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cmd_replay_step.c — `ctsim replay FILE --step` and `--quiz`: a capture
 * one packet at a time, for teaching.
 *
 * --step: before each packet the user types a command (next [N], back,
 * show, explain, trace, quit, help; an empty line is next); each packet
 * prints the entry it will meet (if any), its trace (nft monitor trace
 * lines and conntrack's steps, as `--trace`), then the entry after it with
 * its internals (state, status bits, timeout, the TCP windows of both
 * directions; ct_conn_describe()).
 *
 * --quiz: before each packet, a one-line summary of it and two questions:
 * the ct state the packet will get (new, established, related, invalid,
 * untracked) and, for TCP, the entry's state after it; then the answer with
 * the conntrack steps that explain it (lookup, ctinfo, tracker cell, window
 * check, INVALID reason) and the score so far.
 *
 * Stepping back is a replay from the start up to the packet before (the
 * harness is deterministic: same seed, same ruleset text, same clock), so
 * the ruleset is parsed again and the trace ids stay those of a plain run.
 * Input is read line by line from stdin (a terminal or a pipe).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/ctnl_print.h"
#include "ctsim/cmd_replay_step.h"
#include "ctsim/core/describe.h"
#include "ctsim/core/packet.h"
#include "ctsim/hooks/ruleset.h"
#include "ctsim/replay/harness.h"
#include "ctsim/replay/pcap_io.h"

/* One packet of the capture, kept for replays from the start. */
struct sp_pkt {
	uint64_t ts;
	uint8_t *data;
	size_t len;
};

struct stepper {
	const struct replay_step_cfg *cfg;
	struct sp_pkt *pkts;
	size_t npkts, pos;		/* packets fed so far */
	struct ct_offline h;
	struct ruleset *rs;
	uint8_t *buf;			/* the packet being fed (the router edits it) */
	size_t cap;

	/* What the trace callback saw of the packet being fed. */
	bool quiet;			/* replaying silently (back) */
	char *trace;			/* its trace lines */
	size_t trace_len;
	FILE *trace_fp;
	bool have_ct;
	struct ct_tuple ct_tuple;	/* the entry's original tuple */
	struct ct_zone ct_zone;
	const char *state;		/* ct state: new, established, ... */
	char why[5][600];		/* the lookup, ctinfo, tracker, failed window
					 * check and invalid steps */
	bool have_why[5];

	unsigned asked, right;		/* quiz */
};

static void trace_cb(void *ctx, const struct router_trace_step *st)
{
	struct stepper *s = ctx;
	char line[2048];

	if (!st->end && !st->rule && !st->hook && st->text && st->skb) {
		int k = -1;

		if (st->skb->ct && !s->have_ct) {
			s->have_ct = true;
			s->ct_tuple = st->skb->ct->th[CT_DIR_ORIG].tuple;
			s->ct_zone = st->skb->ct->zone;
		}
		switch (st->kind) {
		case CT_TR_LOOKUP: k = 0; break;
		case CT_TR_CTINFO:
			k = 1;
			s->state = ct_skb_state_name(st->skb);
			break;
		case CT_TR_TRACKER: k = 2; break;
		case CT_TR_WINDOW:
			if (!strncmp(st->text, "check", 5) || !strncmp(st->text, "passed", 6))
				break;
			k = 3;
			break;
		case CT_TR_INVALID: k = 4; s->state = "invalid"; break;
		default: break;
		}
		if (k >= 0 && !s->have_why[k]) {
			snprintf(s->why[k], sizeof(s->why[k]), "%s", st->text);
			s->have_why[k] = true;
		}
	}
	if (s->trace_fp) {
		/* one step may be two lines (the packet line, then the rule) */
		router_trace_format(line, sizeof(line), st, false);
		for (char *l = line, *nl; l; l = nl) {
			nl = strchr(l, '\n');
			if (nl)
				*nl++ = '\0';
			if (*l)
				fprintf(s->trace_fp, "  %s\n", l);
		}
	}
}

/* The packet's tuple for the "entry before" lookup: TCP/UDP only (ICMP
 * and the rest show no entry before; the trace's lookup step tells). */
static struct conn *entry_for(struct stepper *s, const uint8_t *pkt, size_t len)
{
	struct ct_tuple tu;
	enum ct_dir dir;

	if (!s->h.up || !ct_pkt_peek_tuple(pkt, len, &tu))
		return NULL;
	return ct_table_find(&s->h.table, &tu, NULL, CT_DIR_ORIG, &dir);
}

static void print_entry(struct stepper *s, FILE *out, const char *label, const struct conn *c)
{
	char buf[4096];

	if (!c) {
		fprintf(out, "%s: no entry\n", label);
		return;
	}
	ct_conn_describe(&s->h.table, c, buf, sizeof(buf));
	fprintf(out, "%s:\n%s", label, buf);
}

/* The packet as a one-line summary that tells nothing of conntrack. */
static void summary(const struct sp_pkt *p, char *buf, size_t n)
{
	const uint8_t *d = p->data;
	char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?";
	size_t hl;
	uint8_t proto;
	int len;

	if (p->len >= 20 && (d[0] >> 4) == 4) {
		hl = (size_t)(d[0] & 15) * 4;
		proto = d[9];
		inet_ntop(AF_INET, d + 12, src, sizeof(src));
		inet_ntop(AF_INET, d + 16, dst, sizeof(dst));
	} else if (p->len >= 40 && (d[0] >> 4) == 6) {
		hl = 40;
		proto = d[6];
		inet_ntop(AF_INET6, d + 8, src, sizeof(src));
		inet_ntop(AF_INET6, d + 24, dst, sizeof(dst));
	} else {
		snprintf(buf, n, "%zu bytes, not IPv4/IPv6", p->len);
		return;
	}
	if (proto == IPPROTO_TCP && p->len >= hl + 20) {
		const uint8_t *t = d + hl;
		static const char fl[] = "FSRPAUEC";
		char f[9];
		unsigned k = 0;
		size_t doff = (size_t)(t[12] >> 4) * 4;

		for (unsigned i = 0; i < 8; i++)
			if (t[13] & (1u << i))
				f[k++] = fl[i];
		f[k] = '\0';
		len = snprintf(buf, n, "TCP %s:%u > %s:%u [%s] seq=%u ack=%u win=%u len=%zu", src,
			       (t[0] << 8) | t[1], dst, (t[2] << 8) | t[3], k ? f : ".",
			       (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7],
			       (uint32_t)t[8] << 24 | (uint32_t)t[9] << 16 | (uint32_t)t[10] << 8 | t[11],
			       (t[14] << 8) | t[15], p->len > hl + doff ? p->len - hl - doff : 0);
	} else if ((proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE) && p->len >= hl + 8) {
		const uint8_t *u = d + hl;

		len = snprintf(buf, n, "%s %s:%u > %s:%u len=%zu", proto == IPPROTO_UDP ? "UDP" :
			       "UDP-Lite", src, (u[0] << 8) | u[1], dst, (u[2] << 8) | u[3],
			       p->len - hl - 8);
	} else if ((proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) && p->len >= hl + 4) {
		len = snprintf(buf, n, "%s %s > %s type %u code %u", proto == IPPROTO_ICMP ? "ICMP" :
			       "ICMPv6", src, dst, d[hl], d[hl + 1]);
	} else {
		len = snprintf(buf, n, "proto %u %s > %s", proto, src, dst);
	}
	(void)len;
}

/* Build the harness anew (at start and for back). */
static int restart(struct stepper *s)
{
	struct rs_errors errs;

	if (s->h.up)
		ct_offline_fini(&s->h);
	ruleset_free(s->rs);
	s->rs = NULL;
	ct_offline_init(&s->h);
	s->h.settings = s->cfg->settings;
	memcpy(s->h.ifs, s->cfg->ifs, sizeof(s->h.ifs));
	s->h.trace = trace_cb;
	s->h.trace_ctx = s;
	s->h.trace_all = true;
	s->h.print.out = CTNL_O_EXTENDED;
	rs_errors_init(&errs);
	s->rs = s->cfg->ruleset_path ? ruleset_parse_file(s->cfg->ruleset_path, &errs)
				     : ruleset_default();
	if (!s->rs) {
		rs_errors_print(&errs, stderr);
		rs_errors_free(&errs);
		return -1;
	}
	rs_errors_free(&errs);
	s->pos = 0;
	return 0;
}

/* Feed packet s->pos; its trace goes into s->trace (unless quiet). */
static int feed(struct stepper *s)
{
	const struct sp_pkt *p = &s->pkts[s->pos];

	if (!s->h.up && ct_offline_start(&s->h, p->ts, p->ts, REPLAY_STEP_SEED, s->rs) < 0) {
		fprintf(stderr, "ctsim replay: cannot allocate %u hash buckets\n",
			s->h.settings.buckets);
		return -1;
	}
	ct_offline_advance(&s->h, p->ts);
	if (p->len > s->cap) {
		uint8_t *b = realloc(s->buf, p->len);

		if (!b)
			return -1;
		s->buf = b;
		s->cap = p->len;
	}
	memcpy(s->buf, p->data, p->len);
	s->have_ct = false;
	s->state = NULL;
	memset(s->have_why, 0, sizeof(s->have_why));
	free(s->trace);
	s->trace = NULL;
	s->trace_len = 0;
	s->trace_fp = s->quiet ? NULL : open_memstream(&s->trace, &s->trace_len);
	ct_offline_receive(&s->h, CT_OFFLINE_CLIENT, s->buf, p->len, p->ts);
	if (s->trace_fp)
		fclose(s->trace_fp);
	s->trace_fp = NULL;
	s->pos++;
	return 0;
}

static struct conn *entry_after(struct stepper *s)
{
	enum ct_dir dir;

	if (!s->have_ct)
		return NULL;
	return ct_table_find(&s->h.table, &s->ct_tuple, &s->ct_zone, CT_DIR_ORIG, &dir);
}

static void header(struct stepper *s, FILE *out)
{
	const struct sp_pkt *p = &s->pkts[s->pos];
	char sum[256];

	summary(p, sum, sizeof(sum));
	fprintf(out, "packet %zu/%zu at +%.6f s: %s\n", s->pos + 1, s->npkts,
		(double)(p->ts - s->pkts[0].ts) / 1e9, sum);
}

/* One packet in step mode: the entry before, the trace, the entry after. */
static int step_one(struct stepper *s, FILE *out)
{
	const struct sp_pkt *p = &s->pkts[s->pos];

	header(s, out);
	print_entry(s, out, "entry before", entry_for(s, p->data, p->len));
	if (feed(s) < 0)
		return -1;
	fputs("trace:\n", out);
	if (s->trace)
		fputs(s->trace, out);
	print_entry(s, out, "entry after", entry_after(s));
	return 0;
}

/* Go back one packet: replay the ones before it silently. */
static int step_back(struct stepper *s, FILE *out)
{
	size_t target = s->pos ? s->pos - 1 : 0;

	if (restart(s) < 0)
		return -1;
	s->quiet = true;
	while (s->pos < target)
		if (feed(s) < 0)
			return -1;
	s->quiet = false;
	fprintf(out, "back: %zu packets fed; next is packet %zu\n", s->pos, s->pos + 1);
	return 0;
}

static char *trim(char *l)
{
	char *e;

	while (isspace((unsigned char)*l))
		l++;
	e = l + strlen(l);
	while (e > l && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return l;
}

/* Ask @q, read a line into @buf; false at EOF. */
static bool ask(FILE *out, const char *q, char *buf, size_t n)
{
	fputs(q, out);
	fflush(out);
	if (!fgets(buf, (int)n, stdin))
		return false;
	memmove(buf, trim(buf), strlen(trim(buf)) + 1);
	return true;
}

static const char *const quiz_states[] = { "new", "established", "related", "invalid", "untracked" };

static bool valid_state(const char *a)
{
	for (unsigned i = 0; i < sizeof(quiz_states) / sizeof(quiz_states[0]); i++)
		if (!strcasecmp(a, quiz_states[i]))
			return true;
	return false;
}

/* One packet in quiz mode. Returns 1 at EOF / quit, -1 on error. */
static int quiz_one(struct stepper *s, FILE *out)
{
	const struct sp_pkt *p = &s->pkts[s->pos];
	char a1[128], a2[128] = "";
	bool tcp = false, ok;
	struct ct_tuple tu;
	struct conn *c;

	header(s, out);
	if (ct_pkt_peek_tuple(p->data, p->len, &tu))
		tcp = tu.l4num == IPPROTO_TCP;
	for (;;) {
		if (!ask(out, "ct state (new, established, related, invalid, untracked)? ", a1,
			 sizeof(a1)))
			return 1;
		if (!strcmp(a1, "quit") || !strcmp(a1, "q"))
			return 1;
		if (valid_state(a1))
			break;
		fprintf(out, "answer one of: new established related invalid untracked (or quit)\n");
	}
	if (tcp && !ask(out, "TCP state of the entry after it (e.g. SYN_SENT, or none)? ", a2,
			sizeof(a2)))
		return 1;
	if (feed(s) < 0)
		return -1;
	ok = s->state && !strcasecmp(a1, s->state);
	s->asked++;
	s->right += ok;
	fprintf(out, "ct state: %s — %s\n", s->state ? s->state : "(none: not tracked)",
		ok ? "right" : "wrong");
	if (tcp) {
		const char *truth;

		c = entry_after(s);
		truth = c ? ct_conn_state_name(c) : "none";
		ok = !strcasecmp(a2, truth);
		s->asked++;
		s->right += ok;
		fprintf(out, "TCP state: %s — %s\n", truth, ok ? "right" : "wrong");
	}
	fputs("why:\n", out);
	for (unsigned k = 0; k < 5; k++)
		if (s->have_why[k])
			fprintf(out, "  %s\n", s->why[k]);
	fprintf(out, "score: %u/%u\n", s->right, s->asked);
	return 0;
}

static void help(FILE *out)
{
	fputs("commands: next [N] (or an empty line), back, show (conntrack -L), explain (the\n"
	      "last packet's entry), trace (the last packet's trace again), quit, help\n", out);
}

static int load(struct stepper *s, const char *path)
{
	struct ct_pcap_reader *r;
	struct ct_pcap_rec rec;
	char err[CT_PCAP_ERRLEN];
	size_t cap = 0;
	int got;

	r = ct_pcap_open(path, err);
	if (!r) {
		fprintf(stderr, "ctsim replay: %s\n", err);
		return -1;
	}
	while ((got = ct_pcap_next(r, &rec, err)) == 1) {
		struct sp_pkt *p;

		if (s->npkts == cap) {
			struct sp_pkt *n = realloc(s->pkts, (cap = cap ? cap * 2 : 64) * sizeof(*n));

			if (!n)
				goto oom;
			s->pkts = n;
		}
		p = &s->pkts[s->npkts];
		p->data = malloc(rec.len ? rec.len : 1);
		if (!p->data)
			goto oom;
		memcpy(p->data, rec.l3, rec.len);
		p->len = rec.len;
		p->ts = rec.ts_ns;
		s->npkts++;
	}
	ct_pcap_close(r);
	if (got < 0) {
		fprintf(stderr, "ctsim replay: %s\n", err);
		return -1;
	}
	return 0;
oom:
	ct_pcap_close(r);
	fprintf(stderr, "ctsim replay: out of memory\n");
	return -1;
}

int replay_step_run(const struct replay_step_cfg *cfg)
{
	static struct stepper s;	/* large */
	FILE *out = stdout;
	char line[256];
	int rc = 0;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	if (load(&s, cfg->path) < 0 || restart(&s) < 0) {
		rc = 1;
		goto done;
	}
	ctnl_print_setup(&s.h.print);
	fprintf(out, "%s: %zu packets; %s\n", cfg->path, s.npkts,
		cfg->quiz ? "quiz: predict each packet's ct state (and TCP state); quit to stop"
			  : "step mode, help for the commands");
	while (s.pos < s.npkts || !cfg->quiz) {
		char *cmd, *arg;

		if (cfg->quiz) {
			int r = quiz_one(&s, out);

			if (r < 0)
				rc = 1;
			if (r)
				break;
			continue;
		}
		if (s.pos >= s.npkts)
			fputs("(end of capture: back, show, explain or quit)\n", out);
		fprintf(out, "step %zu> ", s.pos + 1);
		fflush(out);
		if (!fgets(line, sizeof(line), stdin)) {
			fputc('\n', out);
			break;
		}
		cmd = trim(line);
		arg = cmd + strcspn(cmd, " \t");
		if (*arg)
			*arg++ = '\0';
		arg = trim(arg);
		if (!*cmd || !strcmp(cmd, "next") || !strcmp(cmd, "n")) {
			long n = *arg ? strtol(arg, NULL, 10) : 1;

			if (n < 1) {
				fprintf(out, "next: expected a count of 1 or more, not \"%s\"\n", arg);
				continue;
			}
			for (long i = 0; i < n && s.pos < s.npkts; i++)
				if (step_one(&s, out) < 0) {
					rc = 1;
					goto done;
				}
		} else if (!strcmp(cmd, "back") || !strcmp(cmd, "b")) {
			if (step_back(&s, out) < 0) {
				rc = 1;
				goto done;
			}
		} else if (!strcmp(cmd, "show") || !strcmp(cmd, "s")) {
			unsigned k = ct_offline_list(&s.h, out);

			fprintf(out, "%u flow entries have been shown.\n", k);
		} else if (!strcmp(cmd, "explain") || !strcmp(cmd, "e")) {
			if (!s.pos)
				fputs("explain: no packet fed yet\n", out);
			else
				print_entry(&s, out, "entry", entry_after(&s));
		} else if (!strcmp(cmd, "trace") || !strcmp(cmd, "t")) {
			fputs(s.trace ? s.trace : "trace: no packet fed yet\n", out);
		} else if (!strcmp(cmd, "quit") || !strcmp(cmd, "q")) {
			break;
		} else if (!strcmp(cmd, "help") || !strcmp(cmd, "h") || !strcmp(cmd, "?")) {
			help(out);
		} else {
			fprintf(out, "unknown command \"%s\"\n", cmd);
			help(out);
		}
	}
	if (cfg->quiz)
		fprintf(out, "quiz: %u of %u right\n", s.right, s.asked);
done:
	fflush(out);
	ctnl_print_setup(NULL);
	if (s.h.up)
		ct_offline_fini(&s.h);
	ruleset_free(s.rs);
	for (size_t i = 0; i < s.npkts; i++)
		free(s.pkts[i].data);
	free(s.pkts);
	free(s.buf);
	free(s.trace);
	return rc;
}
