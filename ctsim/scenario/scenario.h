/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scenario.h — scenario files: a documented edge case, a teaching exercise
 * or a regression test as plain text (docs/scenarios.md), parsed into a list
 * of timed steps, and run through the router on a virtual clock.
 *
 * The files:
 *   scenario_words.c   the words of a line, hosts by name, located errors
 *                      (rs_errors, nft style) (scenario_words.h)
 *   packet_notation.c  packets in a tcpdump-like notation, built into bytes
 *                      (packet_notation.h)
 *   scenario_parse.c   the text: hosts, ruleset, control operations (insert
 *                      and insert expect as ctnetlink messages), expectations
 *   scenario_run.c     one run: the offline core of `ctsim replay`
 *                      (ctsim/replay/harness.h), the steps in order,
 *                      expectations checked, a readable failure
 *   cmd_scenario.c     `ctsim scenario run|check|export`: files and
 *                      directories, progress line, summary, JSON, pcap
 *
 * A parsed scenario is immutable; running it does not change it, so the
 * same struct can be run, exported and printed.
 */
#ifndef CTSIM_SCENARIO_H
#define CTSIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "proto/ctnl.h"
#include "ctsim/hooks/router.h"
#include "ctsim/hooks/ruleset.h"

#define SC_MAX_HOSTS	16
#define SC_MAX_STATS	12

enum sc_side { SC_CLIENT = 0, SC_SERVER = 1 };

struct sc_host {
	char name[32];
	union ct_addr a4, a6;
	bool has4, has6;
	enum sc_side side;
	bool router;		/* `router`: the addresses are the router's own on that
				 * side (masquerade and redirect use them) */
};

enum sc_kind {
	/* what happens */
	SC_PACKET,		/* a packet arrives from a host */
	SC_ADVANCE,		/* time passes (the clock moves at the next step anyway) */
	SC_SET,			/* a sysctl */
	SC_RULESET,		/* load a ruleset (the first one, or a reload to a new text) */
	SC_RELOAD,		/* reload the current ruleset (its counters restart) */
	SC_INSERT,		/* conntrack -I: a CT_NEW message (in pkt; e for --kernel) */
	SC_DELETE,		/* conntrack -D */
	SC_FLUSH,		/* conntrack -F */
	SC_LISTENER,		/* conntrack -E started (on) or stopped (off) */
	SC_INSERT_EXPECT,	/* an expectation from userspace: an EXP_NEW message (in pkt) */
	SC_RELEASE,		/* the packet held in flight goes on (router_release()) */
	SC_ADDR_DEL,		/* `address del HOST`: a router address goes away (ip addr del) */
	/* what must be true */
	SC_X_VERDICT, SC_X_CTINFO, SC_X_INVALID, SC_X_ENTRY, SC_X_NO_ENTRY,
	SC_X_TABLE, SC_X_EVENTS, SC_X_STATS, SC_X_COUNT,
	SC_X_EXPECTATIONS,	/* conntrack -L expect */
	SC_X_EXP_EVENTS,	/* conntrack -E expect, since the previous check */
};

/* An entry selector (insert, delete, expect entry): the original tuple,
 * with the fields to set or check. */
#define SC_F_STATE	0x01
#define SC_F_TIMEOUT	0x02
#define SC_F_STATUS	0x04
#define SC_F_MARK	0x08
#define SC_F_ZONE	0x10
#define SC_F_USE	0x20
#define SC_F_PORTS	0x40	/* ports (or ICMP id) given in the selector */
#define SC_F_LABELS	0x80

struct sc_entry {
	struct ct_tuple orig;	/* l3num, l4num, src, dst, ports / ICMP type,code,id */
	unsigned fields;	/* SC_F_* */
	char state[16];
	uint32_t timeout;
	uint32_t status_set, status_clear;	/* CT_S_* that must be set / clear */
	uint32_t mark;
	uint16_t zone;
	uint32_t use;
	uint8_t labels[16];
};

struct sc_step {
	enum sc_kind kind;
	unsigned line;		/* 1-based line in the file */
	char *text;		/* the line as written (trimmed), for messages */
	uint64_t at_ns;		/* time since the start of the scenario */

	/* SC_PACKET; SC_INSERT, SC_INSERT_EXPECT: the netlink message (CT_NEW, EXP_NEW) */
	enum sc_side side;	/* which interface it arrives on */
	bool hold;		/* `hold HOST > ...`: it stops before confirmation */
	uint8_t *pkt;
	size_t len;
	/* SC_ADVANCE */
	uint64_t ns;
	/* SC_SET; SC_ADDR_DEL: name = the router host */
	char *name, *value;
	/* SC_RULESET (text, or NULL for the default one), blocks of expectations */
	char *block;
	unsigned block_line;	/* line of the block's first content line */
	/* expectations and SC_INSERT/DELETE */
	struct sc_entry e;
	char word[32];		/* verdict, ctinfo, on/off */
	char *str;		/* expect invalid "substring" */
	struct { char name[24]; uint64_t v; } stats[SC_MAX_STATS];
	unsigned nstats;
	uint64_t count;
};

struct scenario {
	char *path;
	char *title, *shows, *source, *waits_for, *emulator_only;
	struct sc_host hosts[SC_MAX_HOSTS];
	unsigned nhosts;
	bool listener_at_start;		/* conntrack -E runs from the start (default) */
	struct sc_step *steps;
	size_t nsteps, cap;
	uint64_t duration_ns;		/* time of the last step */
};

/**
 * scenario_parse_file - read and parse @path. Every error found is appended
 * to @errs (FILE:LINE:COL-COL: Error: ..., the line, carets; an inline
 * ruleset's errors too, at their place in the file). Returns the scenario,
 * or NULL if there was any error.
 */
struct scenario *scenario_parse_file(const char *path, struct rs_errors *errs);
/** scenario_parse_string - the same for @text, named @name in messages. */
struct scenario *scenario_parse_string(const char *name, const char *text, struct rs_errors *errs);
void scenario_free(struct scenario *sc);

/** sc_side_name - "client" or "server", as scenarios spell a host's side. */
const char *sc_side_name(enum sc_side side);

/* ---------------------------------------------------------------------- */
/* Running                                                                 */

/* One expectation that did not hold. */
struct sc_failure {
	unsigned line;		/* the expectation */
	char *expect;		/* its text */
	char *expected, *actual;	/* multi-line, for the diff */
	unsigned pkt_line;	/* the last packet before it (0: none) */
	char *pkt_text;
};

struct sc_result {
	bool ok;		/* every expectation held */
	struct sc_failure fail;	/* the first failure (the run stops there) */
	char *error;		/* a step could not run (e.g. a ruleset file vanished) */
	unsigned packets, dropped, checks;
	/* The final state, as conntrack -L / -E / -S would print it (for the
	 * kernel comparison and --json): lines separated by '\n'. */
	char *table, *events, *stats;
	char *expectations, *exp_events;	/* conntrack -L expect / -E expect */
	/* Per packet: "LINE CTINFO VERDICT" lines (ctinfo "none" if the packet
	 * never reached conntrack), for the kernel comparison. */
	char *trace;
};

/** scenario_run - run @sc from an empty table; fills @res (free with sc_result_free()). */
void scenario_run(const struct scenario *sc, struct sc_result *res, bool verbose, FILE *log);
/**
 * scenario_run_traced - scenario_run() with the packet trace (router.h)
 * handed to @trace(@ctx, ...): every packet when @all, else the packets
 * the scenario's ruleset marks with meta nftrace. @trace may be NULL.
 */
void scenario_run_traced(const struct scenario *sc, struct sc_result *res, bool verbose, FILE *log,
			 router_trace_fn trace, void *ctx, bool all);
void sc_result_free(struct sc_result *res);

/* ---------------------------------------------------------------------- */
/* Export (scenario_export.c)                                              */

/**
 * scenario_export_json - @sc as the JSON document the differential drivers
 * (kernel_scenarios.py, live_scenarios.py) replay: file, title, hosts, and
 * one object per step (packets as hex, rulesets as text, inserts and
 * deletes as conntrack(8) arguments). A new reference: json_decref() it.
 */
json_t *scenario_export_json(const struct scenario *sc);

/**
 * scenario_export_pcap - write @sc's packets to the pcap file @path, at
 * their scenario times from a fixed start (the same scenario gives the same
 * file). Returns 0, or -1 with the reason in @err (CT_PCAP_ERRLEN bytes).
 */
int scenario_export_pcap(const struct scenario *sc, const char *path, char *err);

#endif
