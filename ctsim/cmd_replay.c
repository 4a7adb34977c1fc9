/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_replay.c — `ctsim replay FILE.pcap`: the tracking pipeline driven by a
 * capture file on a virtual clock, no root, no TUN, no daemon.
 *
 * Every packet enters the router on ct-c0 and, with forward_all, is
 * forwarded to ct-s0 (prerouting -> forward -> postrouting), whichever host
 * sent it: the capture is taken to be traffic that crossed a router. The
 * clock follows the packets' timestamps, and the GC runs on it as the
 * daemon's timer runs on the real one, so entries expire during gaps as
 * they would on a kernel that saw the same traffic live.
 *
 * At the end the table is printed as `conntrack -L -o extended` would print
 * it at the last packet's time; the options add the event log (-E), the
 * statistics (-S), the expectation table (-L expect) and the ruleset with
 * its counters (nft list ruleset). docs/replay.md is the user's guide.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proto/ctnl_print.h"
#include "ctsim/cmd.h"
#include "ctsim/nfnetlink/conn_export.h"
#include "ctsim/core/expect.h"
#include "ctsim/replay/pcap_io.h"
#include "ctsim/hooks/router.h"
#include "ctsim/hooks/ruleset.h"
#include "ctsim/replay/vtime.h"
#include "helpers/helpers.h"


/* A fixed seed: the same capture gives the same ids and the same listing
 * order on every run. */
#define REPLAY_SEED	0x63747369u

/* Packets read ahead of the one being fed (see run()). */
#define RP_AHEAD	2
#define RP_RING		(RP_AHEAD + 1)

struct replay {
	/* options */
	const char *path, *ruleset_path;
	bool want_expect, want_events, want_stats, want_counters, json;

	/* the core, as the daemon builds it */
	struct ct_settings settings;
	struct ct_clock clock;
	struct ct_events events;
	struct ct_table table;
	struct ct_core core;
	struct router router;
	struct ruleset *rs;

	/* time */
	bool started;
	struct ct_vtime vt;	/* the clock follows the packets' timestamps */

	/* output */
	struct ctnl_print_opts print;
	unsigned events_shown;
	uint64_t packets, dropped, bad, truncated;

	/* Read-ahead (see run()): writable copies of the packet being fed
	 * (the router edits it) and of the RP_AHEAD after it. */
	struct rp_slot {
		struct ct_pcap_rec rec;	/* rec.l3 points into buf */
		uint8_t *buf;
		size_t cap;
		bool oom;		/* no room for the copy */
		bool hinted;		/* hint() step 1 done */
		bool have_hash;		/* ... and the tuple could be guessed */
		uint32_t hash;
	} ring[RP_RING];
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ctsim replay FILE.pcap [ OPTIONS ]\n"
		"OPTIONS := { --ruleset FILE            the hook chain (default: the built-in firewall)\n"
		"             --set NAME=VALUE          a sysctl, e.g. nf_conntrack_acct=1 (repeatable)\n"
		"             --events                  also the event log, as conntrack -E\n"
		"             --stats                   also the counters, as conntrack -S\n"
		"             --expectations            also the expectation table, as conntrack -L expect\n"
		"             --counters                also the ruleset with its counters, as nft list ruleset\n"
		"             -j | --json               one JSON object with all of it\n"
		"             -p | --pretty             indented JSON\n"
		"             -h | --help }\n"
		"Packets are forwarded ct-c0 -> ct-s0 on a clock that follows their timestamps;\n"
		"see docs/replay.md.\n");
}

/* ---------------------------------------------------------------------- */
/* Time                                                                    */

/* Advance to the packet time @wall (ct_vtime_advance(): GC slices in the
 * gap run at their own times; time never goes backwards). */
static void advance_to(struct replay *rp, uint64_t wall)
{
	ct_vtime_advance(&rp->vt, wall);
	rp->print.now_ns = ct_clock_wall(&rp->clock);
}

/* ---------------------------------------------------------------------- */
/* Events: what `conntrack -E` would have printed, started before the replay */

static void on_event(void *arg, const struct ct_event *ev)
{
	struct replay *rp = arg;
	struct ctnl_ct o;

	ctnl_ct_from_event(&rp->table, ev, &o);
	ctnl_print_ct(&o, ctnl_event_kind(ev->mask), ev->portid);
	rp->events_shown++;
}

/* ---------------------------------------------------------------------- */
/* Set-up and the packet loop                                              */

static int setup(struct replay *rp, uint64_t first_wall)
{
	ct_clock_init_virtual(&rp->clock, first_wall);
	rp->events.mode = rp->settings.events;
	/* As if `conntrack -E` had been listening from the start: with
	 * nf_conntrack_events=2 entries then carry the event cache. */
	if (rp->want_events)
		rp->events.listeners = 1;
	if (ct_table_init(&rp->table, &rp->settings, &rp->clock, &rp->events, REPLAY_SEED) < 0) {
		fprintf(stderr, "ctsim replay: cannot allocate %u hash buckets\n",
			rp->settings.buckets);
		return -1;
	}
	ct_vtime_init(&rp->vt, &rp->table, &rp->clock, first_wall);
	if (rp->want_events && ct_events_subscribe(&rp->events, on_event, rp) < 0)
		return -1;
	rp->core = (struct ct_core){ .table = &rp->table, .settings = &rp->settings,
				     .events = &rp->events, .clock = &rp->clock };
	router_init(&rp->router, &rp->core, NULL, NULL);
	router_add_if(&rp->router, "ct-c0", NULL, 0, NULL, 0);
	router_add_if(&rp->router, "ct-s0", NULL, 0, NULL, 0);
	rp->router.forward_all = true;
	rp->router.rs = rp->rs;
	rp->print.now_ns = first_wall;
	rp->started = true;
	return 0;
}

/* Copy a record out of the reader's buffer (which the next read reuses)
 * into @s. On failure @s is marked, to be reported when its turn comes. */
static void slot_store(struct rp_slot *s, const struct ct_pcap_rec *rec)
{
	s->rec = *rec;
	s->oom = false;
	s->hinted = false;
	s->have_hash = false;
	if (rec->len > s->cap) {
		size_t cap = rec->len > 65536 ? rec->len : 65536;
		uint8_t *b = realloc(s->buf, cap);

		if (!b) {
			s->oom = true;
			return;
		}
		s->buf = b;
		s->cap = cap;
	}
	/* A record cut by the capture's snap length goes in as it is: the
	 * IP layer finds it shorter than its header says and drops it,
	 * which is all a router could do with such a packet. */
	memcpy(s->buf, rec->l3, rec->len);
	s->rec.l3 = s->buf;
}

/* Hints for a packet that comes soon: step 1 computes the hash of its
 * (guessed) tuple and prefetches the bucket, step 2, one packet later,
 * the entry. Zone 0 is a guess too: a ruleset that sets zones only makes
 * the hint useless, never the result different (ct_table_prefetch()). */
static void hint(struct replay *rp, struct rp_slot *s, bool entry)
{
	struct ct_tuple tu;

	if (!rp->started || s->oom)
		return;
	if (!s->hinted) {
		s->hinted = true;
		if (ct_pkt_peek_tuple(s->buf, s->rec.len, &tu)) {
			s->hash = ct_table_prefetch(&rp->table, &tu, 0);
			s->have_hash = true;
		}
		return;
	}
	if (entry && s->have_hash)
		ct_table_prefetch_entry(&rp->table, s->hash);
}

static int feed(struct replay *rp, struct rp_slot *s)
{
	const struct ct_pcap_rec *rec = &s->rec;

	if (!rp->started && setup(rp, rec->ts_ns) < 0)
		return -1;
	advance_to(rp, rec->ts_ns);
	if (s->oom)
		return -1;
	rp->packets++;
	rp->truncated += rec->len < rec->orig_len;
	if (router_receive(&rp->router, 0, s->buf, rec->len, rec->ts_ns) == CT_DROP)
		rp->dropped++;
	return 0;
}

/*
 * Read the whole file. 0, or 1 after an error message (what was replayed
 * up to the error still counts and is printed).
 *
 * Packets are fed one at a time, in order, but read RP_AHEAD ahead: while
 * packet N is fed, N+1's entry and N+2's bucket are being prefetched (see
 * hint()), which hides most of the cache misses of the lookups. A read
 * error or end of file ahead is acted on only once the packets before it
 * have been fed, so the output is that of a loop without read-ahead.
 */
static int run(struct replay *rp)
{
	char err[CT_PCAP_ERRLEN];
	struct ct_pcap_reader *r = ct_pcap_open(rp->path, err);
	struct ct_pcap_rec rec;
	unsigned head = 0, queued = 0;
	int n = 1, rc = 0;

	if (!r) {
		fprintf(stderr, "ctsim replay: %s\n", err);
		return 1;
	}
	if (rp->json && rp->want_events)
		ctnl_print_begin_list();	/* the events, collected */
	for (;;) {
		struct rp_slot *s;

		while (n > 0 && queued < RP_RING) {
			n = ct_pcap_next(r, &rec, err);
			if (n > 0)
				slot_store(&rp->ring[(head + queued++) % RP_RING], &rec);
		}
		if (!queued)
			break;
		for (unsigned i = RP_AHEAD; i >= 1; i--)
			if (i < queued)
				hint(rp, &rp->ring[(head + i) % RP_RING], i == 1);
		s = &rp->ring[head];
		if (feed(rp, s) < 0) {
			fprintf(stderr, "ctsim replay: %s: out of memory at packet %llu\n",
				rp->path, (unsigned long long)s->rec.index);
			rc = 1;
			n = 0;		/* the loop stopped here: no read error */
			break;
		}
		head = (head + 1) % RP_RING;
		queued--;
	}
	if (n < 0) {
		fprintf(stderr, "ctsim replay: %s\n", err);
		rc = 1;
	}
	rp->bad = rp->router.stats.bad_l3;
	ct_pcap_close(r);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Output                                                                  */

/* The walk of ctnetlink_dump_table(): expired entries it meets are killed
 * (with DESTROY events), the others are handed to @fn in bucket order. */
static unsigned walk_table(struct replay *rp, void (*fn)(struct ct_table *, struct conn *))
{
	struct ct_table *t = &rp->table;
	unsigned shown = 0;

	if (!rp->started)
		return 0;
	for (uint32_t b = 0; b < t->nbuckets; b++) {
		struct ct_thash *h;

		ct_table_walk_prefetch(t, b + CT_WALK_PREFETCH);
restart:
		for (h = t->buckets[b]; h; h = h->next) {
			struct conn *c = conn_of(h);

			if (h->dir != CT_DIR_ORIG)
				continue;
			if (conn_expired(t, c)) {
				ct_table_delete(t, c, 0, false);
				goto restart;
			}
			if (fn)
				fn(t, c);
			shown++;
		}
	}
	return shown;
}

/* conntrack -L -o extended: one entry. */
static void print_entry(struct ct_table *t, struct conn *c)
{
	struct ctnl_ct o;

	ctnl_ct_from_conn(t, c, &o);
	ctnl_print_ct(&o, CTNL_EV_NONE, 0);
}

/* nft list ruleset, or the nft -j list ruleset document as @top's "ruleset". */
static void print_ruleset(struct replay *rp, json_t *top)
{
	if (!rp->json) {
		ruleset_print(rp->rs, stdout, false);
		return;
	}
	json_object_set_new(top, "ruleset", ruleset_to_json(rp->rs));
}

static void set_list(json_t *top, const char *key)
{
	json_t *l = ctnl_print_take_list();

	json_object_set_new(top, key, l ? l : json_array());
}

static int output(struct replay *rp)
{
	json_t *top = rp->json ? json_object() : NULL;
	unsigned entries;

	/* The listing kills the expired entries it meets. Do that first, while
	 * the event log is still open, so their DESTROY events end the log
	 * (as they would on a terminal where conntrack -E still runs). */
	walk_table(rp, NULL);
	if (rp->json) {
		json_t *r = json_object();

		json_object_set_new(r, "file", json_string(rp->path));
		json_object_set_new(r, "packets", json_integer((json_int_t)rp->packets));
		json_object_set_new(r, "dropped", json_integer((json_int_t)rp->dropped));
		json_object_set_new(r, "malformed", json_integer((json_int_t)rp->bad));
		json_object_set_new(r, "truncated", json_integer((json_int_t)rp->truncated));
		json_object_set_new(top, "replay", r);
		if (rp->want_events)
			set_list(top, "events");
	} else if (rp->want_events) {
		fflush(stdout);
		fprintf(stderr, "%u flow events have been shown.\n", rp->events_shown);
	}

	rp->print.out = CTNL_O_EXTENDED;	/* conntrack -L -o extended */
	ctnl_print_begin_list();
	entries = walk_table(rp, print_entry);
	if (rp->json) {
		set_list(top, "conntrack");
	} else {
		fflush(stdout);
		fprintf(stderr, "%u flow entries have been shown.\n", entries);
	}

	if (rp->want_expect) {
		/* conntrack -L expect: the table's order (newest first) */
		unsigned shown = 0;

		ctnl_print_begin_list();
		if (rp->started)
			shown = ctnl_print_expectations(&rp->table);
		if (rp->json) {
			set_list(top, "expectations");
		} else {
			fflush(stdout);
			fprintf(stderr, "%u expectations have been shown.\n", shown);
		}
	}
	if (rp->want_stats) {
		ctnl_print_begin_list();
		ctnl_print_stats_cpu(0, &rp->table.stats.cpu);
		if (rp->json)
			set_list(top, "stats");
	}
	if (rp->want_counters)
		print_ruleset(rp, top);
	if (rp->json) {
		json_dumpf(top, stdout, JSON_PRESERVE_ORDER |
			   (rp->print.pretty ? JSON_INDENT(2) : JSON_COMPACT));
		fputc('\n', stdout);
		json_decref(top);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------------- */

static int parse_args(struct replay *rp, int argc, char **argv)
{
	enum { O_RULESET = 256, O_SET, O_EVENTS, O_STATS, O_EXPECT, O_COUNTERS };
	static const struct option opts[] = {
		{ "ruleset", required_argument, NULL, O_RULESET },
		{ "set", required_argument, NULL, O_SET },
		{ "events", no_argument, NULL, O_EVENTS },
		{ "stats", no_argument, NULL, O_STATS },
		{ "expectations", no_argument, NULL, O_EXPECT },
		{ "counters", no_argument, NULL, O_COUNTERS },
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[256];
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jph", opts, NULL)) != -1) {
		char *eq;

		switch (opt) {
		case O_RULESET: rp->ruleset_path = optarg; break;
		case O_EVENTS: rp->want_events = true; break;
		case O_STATS: rp->want_stats = true; break;
		case O_EXPECT: rp->want_expect = true; break;
		case O_COUNTERS: rp->want_counters = true; break;
		case 'j': rp->json = true; break;
		case 'p': rp->json = rp->print.pretty = true; break;
		case 'h': usage(stdout); return 0;
		case O_SET:
			eq = strchr(optarg, '=');
			if (!eq) {
				fprintf(stderr, "ctsim replay: --set %s: expected NAME=VALUE\n", optarg);
				return 2;
			}
			*eq = '\0';
			if (ct_settings_set(&rp->settings, optarg, eq + 1, err, sizeof(err)) < 0) {
				fprintf(stderr, "ctsim replay: --set %s=%s: %s\n", optarg, eq + 1, err);
				return 2;
			}
			*eq = '=';
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		if (optind == argc)
			fprintf(stderr, "ctsim replay: no capture file given\n");
		else
			fprintf(stderr, "ctsim replay: one capture file only (\"%s\" is extra)\n",
				argv[optind + 1]);
		usage(stderr);
		return 2;
	}
	rp->path = argv[optind];
	return -1;	/* go on */
}

int cmd_replay(int argc, char **argv)
{
	static struct replay rp;	/* large; zeroed */
	struct rs_errors errs;
	static char outbuf[1 << 20];
	int rc;

	ct_helpers_register_builtin();
	ct_settings_init(&rp.settings);
	rc = parse_args(&rp, argc, argv);
	if (rc >= 0)
		return rc;

	rs_errors_init(&errs);
	rp.rs = rp.ruleset_path ? ruleset_parse_file(rp.ruleset_path, &errs) : ruleset_default();
	if (!rp.rs) {
		rs_errors_print(&errs, stderr);
		rs_errors_free(&errs);
		if (!rp.ruleset_path)
			fprintf(stderr, "ctsim replay: out of memory\n");
		return 1;
	}
	rs_errors_free(&errs);

	/* One buffered stream for everything; a listing of 100k entries is
	 * mostly formatting, and line buffering would double its cost. */
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	rp.print.json = rp.json;
	ctnl_print_setup(&rp.print);	/* events: conntrack -E's default format */

	rc = run(&rp);
	if (output(&rp))
		rc = 1;
	if (!rp.json) {
		fprintf(stderr, "ctsim replay: %llu packets, %llu dropped (%llu malformed)\n",
			(unsigned long long)rp.packets, (unsigned long long)rp.dropped,
			(unsigned long long)rp.bad);
	}

	ctnl_print_setup(NULL);
	if (rp.started) {
		router_fini(&rp.router);
		ct_table_destroy(&rp.table);
	}
	ruleset_free(rp.rs);
	for (unsigned i = 0; i < RP_RING; i++)
		free(rp.ring[i].buf);
	return rc;
}
