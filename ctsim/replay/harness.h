/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness.h — the offline core: one conntrack table with its settings,
 * events and a virtual clock, behind a router with two interfaces, ct-c0
 * (index 0, the client side) and ct-s0 (index 1, the server side), that
 * forwards everything from one to the other (prerouting -> forward ->
 * postrouting), as the daemon's data plane would between two TUN devices.
 * No root, no TUN, no socket: packets are handed in, time is moved by the
 * caller.
 *
 * `ctsim replay` (a capture file), the scenario runner (a scenario's steps)
 * and the fuzz targets all build their core here, so the three run the very
 * same set-up; what differs is only what they feed it and what they print.
 *
 * The type is struct ct_offline (the unit tests' tests/unit/harness.h has
 * a smaller fixture of its own, without the router, named ct_harness).
 *
 * Life cycle:
 *   ct_offline_init()      zero, default settings (nf_conntrack_* sysctls)
 *   ... the caller sets h->settings, h->listening, h->capture, h->print ...
 *   ct_offline_start()     table, clock, events, router; may fail (buckets)
 *   ct_offline_advance() / ct_offline_receive() / ct_offline_list() ...
 *   ct_offline_fini()      frees what start allocated (not the ruleset)
 *
 * The event capture is what a `conntrack -E` (and `conntrack -E expect`)
 * started before the first packet would print, through the shared printer
 * (proto/ctnl_print.c) with h->print, which the caller installs with
 * ctnl_print_setup() if it wants the printer to use it.
 */
#ifndef CTSIM_REPLAY_HARNESS_H
#define CTSIM_REPLAY_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/ctnl_print.h"
#include "ctsim/core/clock.h"
#include "ctsim/core/event.h"
#include "ctsim/core/pipeline.h"
#include "ctsim/core/settings.h"
#include "ctsim/core/table.h"
#include "ctsim/hooks/router.h"
#include "ctsim/replay/vtime.h"

/* Router interface indices (router_receive()'s @iif). */
#define CT_OFFLINE_CLIENT	0	/* ct-c0 */
#define CT_OFFLINE_SERVER	1	/* ct-s0 */

/* h->capture: which event printers to subscribe at start. */
#define CT_OFFLINE_EVENTS	0x1	/* conntrack -E */
#define CT_OFFLINE_EXP_EVENTS	0x2	/* conntrack -E expect */

struct ct_offline {
	/* The core, as the daemon builds it. Set settings before start;
	 * changing them later is what a sysctl write does (set events.mode
	 * too for nf_conntrack_events, as the daemon's settings reload does). */
	struct ct_settings settings;
	struct ct_clock clock;		/* virtual */
	struct ct_events events;
	struct ct_table table;
	struct ct_core core;
	struct router router;		/* the ruleset (router.rs) is the caller's */
	struct ct_vtime vt;		/* the clock follows the caller's times */
	bool up;			/* started, not yet finished */

	/* Event capture (set before start; listening may change later with
	 * ct_offline_listen()). */
	unsigned capture;		/* CT_OFFLINE_EVENTS | CT_OFFLINE_EXP_EVENTS */
	bool listening;			/* a conntrack -E runs (events.listeners) */
	FILE *ev_fp, *xev_fp;		/* where -E / -E expect lines go; NULL:
					 * stdout, or the open JSON list */
	unsigned long events_shown;	/* -E lines printed */

	/* The printer's options (-o, JSON, now_ns kept on the virtual clock);
	 * fp is set by the harness before each print. */
	struct ctnl_print_opts print;

	/* The packet trace (set before start; copied into the router by
	 * ct_offline_start()): NULL = off (costs nothing). */
	router_trace_fn trace;
	void *trace_ctx;
	bool trace_all;			/* every packet, not only meta nftrace ones */
	/* The router's own addresses on ct-c0 ([0]) and ct-s0 ([1]), set
	 * before start (masquerade and redirect use them; none by default),
	 * and where the packets leaving the router go (xmit NULL: nowhere). */
	struct ct_offline_if {
		union ct_addr a4, a6;
		uint8_t plen4, plen6;
		bool has4, has6;
	} ifs[2];
	router_xmit_fn xmit;
	void *xmit_arg;
};

/**
 * ct_offline_init - zero @h and give it the default settings
 * (ct_settings_init()); registers the built-in helpers with the core
 * (ct_helpers_register_builtin(), idempotent), so rulesets and scenarios
 * parsed after this call may name them. Nothing else is allocated: a harness that is never
 * started needs no ct_offline_fini() (calling it is harmless).
 */
void ct_offline_init(struct ct_offline *h);

/**
 * ct_offline_start - build the core from h->settings: the virtual clock at
 * wall time @wall_start (ns since the epoch), the event mode
 * (nf_conntrack_events) and listener count (h->listening), the table with
 * hash seed @seed (fixed: the same input gives the same ids and listing
 * order on every run), the subscribers h->capture asks for, the GC on
 * virtual time (ct_vtime_init(): @time_base is the caller's time of this
 * moment, e.g. the first packet's timestamp, or 0 for a scenario), and the
 * router ct-c0 -> ct-s0 with forward_all under ruleset @rs (the caller's,
 * may be NULL: no hook chains; may be replaced later through h->router.rs).
 * Returns 0, -ENOMEM if the table's settings->buckets buckets cannot be
 * allocated, or -ENOSPC if a subscriber cannot be added; nothing to undo
 * after a failure (h->up stays false).
 */
int ct_offline_start(struct ct_offline *h, uint64_t wall_start, uint64_t time_base,
		     uint32_t seed, struct ruleset *rs);

/**
 * ct_offline_fini - free the router's state and the table (no events, as
 * ct_table_destroy()). Not the ruleset, nor the capture streams. @h may be
 * started again after ct_offline_init().
 */
void ct_offline_fini(struct ct_offline *h);

/**
 * ct_offline_advance - move time to @at, in the time base given to
 * ct_offline_start(): GC slices due in the gap run at their own times
 * (ct_vtime_advance(), gc_worker() on a kernel), so an entry that expires
 * in a gap is reaped then, with its DESTROY event; never backwards. Also
 * keeps h->print.now_ns on the virtual wall clock.
 */
void ct_offline_advance(struct ct_offline *h, uint64_t at);

/**
 * ct_offline_listen - start (@on) or stop a `conntrack -E`: events are
 * captured only while one runs, and with nf_conntrack_events=2 only entries
 * created while one runs carry the event cache (events.listeners).
 */
void ct_offline_listen(struct ct_offline *h, bool on);

/**
 * ct_offline_receive - packet @pkt of @len bytes (from the IP header)
 * arrives on interface @iif (CT_OFFLINE_CLIENT or CT_OFFLINE_SERVER) at
 * wall time @ts_ns; the router may edit it in place. Returns the verdict
 * (CT_ACCEPT or CT_DROP); h->router.last says why.
 */
int ct_offline_receive(struct ct_offline *h, int iif, uint8_t *pkt, size_t len, uint64_t ts_ns);

/**
 * ct_offline_list - `conntrack -L` with h->print's options: the dump walk
 * (ct_table_dump(): expired entries met are killed, with DESTROY events,
 * as ctnetlink_dump_table()), every live entry printed to @fp (NULL:
 * stdout, or the open JSON list). Returns the number of entries printed.
 * Nothing happens (0) before start.
 */
unsigned ct_offline_list(struct ct_offline *h, FILE *fp);

/* ---------------------------------------------------------------------- */
/* A capture file through the harness (`ctsim replay`)                     */

/* What ct_offline_replay_pcap() counted. */
struct ct_offline_pcap_counts {
	uint64_t packets;	/* fed to the router */
	uint64_t dropped;	/* verdict DROP */
	uint64_t malformed;	/* the router's bad_l3 */
	uint64_t truncated;	/* cut by the capture's snap length (fed as they are) */
};

/**
 * ct_offline_replay_pcap - every IPv4/IPv6 packet of capture file @path,
 * in order, into ct-c0, the clock following their timestamps
 * (ct_offline_advance(): entries expire in the gaps as on a kernel that saw
 * the traffic live). @h is ct_offline_init()ed and set up but not started:
 * it is started at the first packet, at its timestamp
 * (ct_offline_start(@h, ts, ts, @seed, @rs)); a capture without packets
 * leaves it unstarted.
 *
 * Packets are fed one at a time but read two ahead, to prefetch the hash
 * buckets and entries their lookups will touch; the output is that of a
 * plain loop. Errors are printed to stderr as "@who: message" (the file
 * cannot be read, a truncated record, no memory for a packet or for the
 * table); what was fed before an error stays in @h.
 * @n: filled (zeroed first). Returns 0, or 1 after an error message.
 */
int ct_offline_replay_pcap(struct ct_offline *h, const char *path, uint32_t seed,
			   struct ruleset *rs, struct ct_offline_pcap_counts *n, const char *who);

#endif
