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
 *
 * The core and the packet loop are the offline harness shared with the
 * scenario runner and the fuzz targets (ctsim/replay/harness.h); this file
 * is the options and the output.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proto/ctnl_print.h"
#include "ctsim/cmd.h"
#include "ctsim/cmd_replay_step.h"
#include "ctsim/nfnetlink/conn_export.h"
#include "ctsim/core/expect.h"
#include "ctsim/hooks/ruleset.h"
#include "ctsim/replay/harness.h"
#include "ctsim/replay/pcap_io.h"
#include "ctsim/lab/lab.h"


/* A fixed seed: the same capture gives the same ids and the same listing
 * order on every run. */
#define REPLAY_SEED	0x63747369u

struct replay {
	/* options */
	const char *path, *ruleset_path, *topology_path, *output_path;
	bool want_expect, want_events, want_stats, want_counters, json;
	int trace;		/* 0 off, 1 packets with meta nftrace, 2 every packet */
	int interactive;	/* 0, 1 --step, 2 --quiz (cmd_replay_step.c) */

	struct ct_offline h;	/* the core (started at the first packet) */
	struct ruleset *rs;
	struct ct_offline_pcap_counts n;
	struct ct_pcap_writer *out;	/* --output: the packets leaving the router */
	char out_err[CT_PCAP_ERRLEN];
	bool out_failed;
};


/* The hash's chain lengths and the table-full counts, on stderr next to
 * the "N flow entries" line (ctsim's own view; conntrack -S has no such
 * thing): what a too small nf_conntrack_buckets or a flood does. */
static void print_buckets(const struct ct_table *t)
{
	uint32_t hist[9], longest;

	ct_chain_hist(t, hist, 9, &longest);
	fflush(stdout);
	fprintf(stderr, "hash: %u buckets, nodes per bucket (2 per entry):", t->nbuckets);
	for (unsigned k = 0; k < 9; k++)
		if (hist[k])
			fprintf(stderr, " %u%s:%u", k, k == 8 ? "+" : "", hist[k]);
	fprintf(stderr, "; longest chain %u\n", longest);
	if (t->ovf.full)
		fprintf(stderr, "table full: %llu times, %llu packets dropped (%llu log lines, %llu "
			"suppressed), %llu entries evicted by ctsim_overflow_policy\n",
			(unsigned long long)t->ovf.full, (unsigned long long)t->ovf.refused,
			(unsigned long long)t->ovf.logged, (unsigned long long)t->ovf.suppressed,
			(unsigned long long)(t->ovf.evicted[0] + t->ovf.evicted[1] + t->ovf.evicted[2] +
					     t->ovf.evicted[3] + t->ovf.evicted[4] + t->ovf.evicted[5]));
}

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
		"             --trace[=nftrace]         the trace of every packet (nftrace: only packets\n"
		"                                       with meta nftrace set), nft monitor trace lines\n"
		"                                       and conntrack's steps, on stdout (-j: JSON lines)\n"
		"             --topology FILE           the router's interface addresses, from a lab\n"
		"                                       topology file (default: the lab's built-in ones)\n"
		"             --output FILE.pcap        write the packets as they leave the router (NAT\n"
		"                                       applied), raw IP\n"
		"             --step                    one packet at a time: the entry before and\n"
		"                                       after, the trace (commands on stdin)\n"
		"             --quiz                    predict each packet's ct state, keep score\n"
		"             -j | --json               one JSON object with all of it\n"
		"             -p | --pretty             indented JSON\n"
		"             -h | --help }\n"
		"Packets are forwarded ct-c0 -> ct-s0 on a clock that follows their timestamps;\n"
		"see docs/replay.md.\n");
}

/* ---------------------------------------------------------------------- */
/* Output                                                                  */

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
	if (rp->h.up)
		ct_table_dump(&rp->h.table, NULL, NULL);
	if (rp->json) {
		json_t *r = json_object();

		json_object_set_new(r, "file", json_string(rp->path));
		json_object_set_new(r, "packets", json_integer((json_int_t)rp->n.packets));
		json_object_set_new(r, "dropped", json_integer((json_int_t)rp->n.dropped));
		json_object_set_new(r, "malformed", json_integer((json_int_t)rp->n.malformed));
		json_object_set_new(r, "truncated", json_integer((json_int_t)rp->n.truncated));
		json_object_set_new(top, "replay", r);
		if (rp->want_events)
			set_list(top, "events");
	} else if (rp->want_events) {
		fflush(stdout);
		fprintf(stderr, "%u flow events have been shown.\n", (unsigned)rp->h.events_shown);
	}

	rp->h.print.out = CTNL_O_EXTENDED;	/* conntrack -L -o extended */
	ctnl_print_begin_list();
	entries = ct_offline_list(&rp->h, NULL);
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
		if (rp->h.up)
			shown = export_print_expectations(&rp->h.table);
		if (rp->json) {
			set_list(top, "expectations");
		} else {
			fflush(stdout);
			fprintf(stderr, "%u expectations have been shown.\n", shown);
		}
	}
	if (rp->want_stats) {
		ctnl_print_begin_list();
		ctnl_print_stats_cpu(0, &rp->h.table.stats.cpu);
		if (rp->json)
			set_list(top, "stats");
		else if (rp->h.up)
			print_buckets(&rp->h.table);
	}
	if (rp->want_counters)
		print_ruleset(rp, top);
	if (rp->json) {
		json_dumpf(top, stdout, JSON_PRESERVE_ORDER |
			   (rp->h.print.pretty ? JSON_INDENT(2) : JSON_COMPACT));
		fputc('\n', stdout);
		json_decref(top);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------------- */

static int parse_args(struct replay *rp, int argc, char **argv)
{
	enum { O_RULESET = 256, O_SET, O_EVENTS, O_STATS, O_EXPECT, O_COUNTERS, O_TRACE, O_TOPOLOGY,
	       O_OUTPUT, O_STEP, O_QUIZ };
	static const struct option opts[] = {
		{ "ruleset", required_argument, NULL, O_RULESET },
		{ "set", required_argument, NULL, O_SET },
		{ "events", no_argument, NULL, O_EVENTS },
		{ "stats", no_argument, NULL, O_STATS },
		{ "expectations", no_argument, NULL, O_EXPECT },
		{ "counters", no_argument, NULL, O_COUNTERS },
		{ "trace", optional_argument, NULL, O_TRACE },
		{ "topology", required_argument, NULL, O_TOPOLOGY },
		{ "output", required_argument, NULL, O_OUTPUT },
		{ "step", no_argument, NULL, O_STEP },
		{ "quiz", no_argument, NULL, O_QUIZ },
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
		case O_TRACE:
			if (optarg && strcmp(optarg, "nftrace") && strcmp(optarg, "all")) {
				fprintf(stderr, "ctsim replay: --trace=%s: expected nftrace or all\n", optarg);
				return 2;
			}
			rp->trace = optarg && !strcmp(optarg, "nftrace") ? 1 : 2;
			break;
		case O_TOPOLOGY: rp->topology_path = optarg; break;
		case O_OUTPUT: rp->output_path = optarg; break;
		case O_STEP: rp->interactive = 1; break;
		case O_QUIZ: rp->interactive = 2; break;
		case 'j': rp->json = true; break;
		case 'p': rp->json = rp->h.print.pretty = true; break;
		case 'h': usage(stdout); return 0;
		case O_SET:
			eq = strchr(optarg, '=');
			if (!eq) {
				fprintf(stderr, "ctsim replay: --set %s: expected NAME=VALUE\n", optarg);
				return 2;
			}
			*eq = '\0';
			if (ct_settings_set(&rp->h.settings, optarg, eq + 1, err, sizeof(err)) < 0) {
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
	if (rp->interactive && (rp->json || rp->trace || rp->output_path || rp->want_events ||
				rp->want_stats || rp->want_expect || rp->want_counters)) {
		fprintf(stderr, "ctsim replay: --%s takes only --ruleset, --set and --topology\n",
			rp->interactive == 1 ? "step" : "quiz");
		return 2;
	}
	return -1;	/* go on */
}

/* The router's addresses on ct-c0 and ct-s0 (masquerade, redirect): the
 * lab host of that interface name, else the first and second host. */
static int set_topology(struct replay *rp)
{
	struct lab l;
	char err[512];

	lab_default(&l, LAB_DEFAULT_PREFIX);
	if (rp->topology_path && lab_load(&l, rp->topology_path, LAB_DEFAULT_PREFIX, err,
					  sizeof(err)) < 0) {
		fprintf(stderr, "ctsim replay: %s\n", err);
		return -1;
	}
	for (unsigned i = 0; i < 2; i++) {
		const char *name = i ? "ct-s0" : "ct-c0";
		const struct lab_host *h = NULL;
		struct ct_offline_if *f = &rp->h.ifs[i];

		for (unsigned k = 0; k < l.n && !h; k++)
			if (!strcmp(l.host[k].ifname, name))
				h = &l.host[k];
		if (!h && i < l.n)
			h = &l.host[i];
		if (!h)
			continue;
		f->a4 = h->gw4;
		f->plen4 = h->plen4;
		f->has4 = h->has4;
		f->a6 = h->gw6;
		f->plen6 = h->plen6;
		f->has6 = h->has6;
	}
	return 0;
}

/* The router's xmit: a packet leaves (forwarded or sent by ctsim), at the
 * virtual time of the packet that caused it. */
static void output_packet(void *arg, int oif, const uint8_t *pkt, size_t len)
{
	struct replay *rp = arg;

	(void)oif;
	if (!rp->out || rp->out_failed)
		return;
	if (ct_pcap_write(rp->out, ct_clock_wall(&rp->h.clock), pkt, len, rp->out_err) < 0)
		rp->out_failed = true;
}

int cmd_replay(int argc, char **argv)
{
	static struct replay rp;	/* large; zeroed */
	struct rs_errors errs;
	static char outbuf[1 << 20];
	int rc;

	ct_offline_init(&rp.h);
	rc = parse_args(&rp, argc, argv);
	if (rc >= 0)
		return rc;
	/* A file that cannot be read as a capture is an error and nothing
	 * else: no empty listing and no "0 packets" summary before it (the
	 * replay itself opens it again; reading the header twice is cheap). */
	{
		char perr[CT_PCAP_ERRLEN];
		struct ct_pcap_reader *r = ct_pcap_open(rp.path, perr);

		if (!r) {
			fprintf(stderr, "ctsim replay: %s\n", perr);
			return 1;
		}
		ct_pcap_close(r);
	}

	if (set_topology(&rp) < 0)
		return 1;
	if (rp.interactive) {
		static struct replay_step_cfg cfg;

		cfg.path = rp.path;
		cfg.ruleset_path = rp.ruleset_path;
		cfg.settings = rp.h.settings;
		memcpy(cfg.ifs, rp.h.ifs, sizeof(cfg.ifs));
		cfg.quiz = rp.interactive == 2;
		return replay_step_run(&cfg);
	}
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
	if (rp.output_path) {
		rp.out = ct_pcap_create(rp.output_path, rp.out_err);
		if (!rp.out) {
			fprintf(stderr, "ctsim replay: %s\n", rp.out_err);
			ruleset_free(rp.rs);
			return 1;
		}
		rp.h.xmit = output_packet;
		rp.h.xmit_arg = &rp;
	}

	/* One buffered stream for everything; a listing of 100k entries is
	 * mostly formatting, and line buffering would double its cost. */
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	rp.h.print.json = rp.json;
	ctnl_print_setup(&rp.h.print);	/* events: conntrack -E's default format */
	/* As if `conntrack -E` had been listening from the start: with
	 * nf_conntrack_events=2 entries then carry the event cache. */
	rp.h.listening = rp.want_events;
	rp.h.capture = rp.want_events ? CT_OFFLINE_EVENTS : 0;
	if (rp.json && rp.want_events)
		ctnl_print_begin_list();	/* the events, collected */

	if (rp.trace) {
		rp.h.trace = rp.json ? router_trace_file_json : router_trace_file;
		rp.h.trace_ctx = stdout;
		rp.h.trace_all = rp.trace == 2;
	}
	rc = ct_offline_replay_pcap(&rp.h, rp.path, REPLAY_SEED, rp.rs, &rp.n, "ctsim replay");
	if (output(&rp))
		rc = 1;
	if (rp.out && (ct_pcap_finish(rp.out, rp.out_err) < 0 || rp.out_failed)) {
		fprintf(stderr, "ctsim replay: --output %s: %s\n", rp.output_path, rp.out_err);
		rc = 1;
	}
	if (!rp.json) {
		fprintf(stderr, "ctsim replay: %llu packets, %llu dropped (%llu malformed)\n",
			(unsigned long long)rp.n.packets, (unsigned long long)rp.n.dropped,
			(unsigned long long)rp.n.malformed);
	}

	ctnl_print_setup(NULL);
	ct_offline_fini(&rp.h);
	ruleset_free(rp.rs);
	return rc;
}
