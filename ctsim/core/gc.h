/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gc.h — the daemon's paced garbage collector: gc_worker() of
 * net/netfilter/nf_conntrack_core.c (since 5.17, "revisit gc autotuning").
 *
 * The kernel does not walk the whole table every second: one pass visits
 * every bucket in slices of at most GC_SCAN_MAX_DURATION (10 ms), queued back
 * to back, and learns from the entries it meets how long their timeouts are
 * (a running mean of nf_ct_expires() clamped to [1 s, 300 s], biased by 100
 * pretend entries at 60 s). The next pass starts that long after this one
 * started, clamped to [1 s, 60 s]. An idle table of established TCP entries
 * is therefore walked once a minute, a table of short UDP timeouts about once
 * a second.
 *
 * Expired entries the pass has not reached yet stay in the table, as in the
 * kernel: lookups (____nf_conntrack_find()) and dumps (ctnetlink_dump_table())
 * kill them on sight, so no client sees one (a dump, a get, a new packet);
 * only their DESTROY event and nf_conntrack_count come later, as the kernel's.
 *
 * ctsim/replay and time warps keep using ct_table_gc() (fixed slices, full
 * passes): their output must not depend on wall-clock pacing.
 */
#ifndef CTSIM_CORE_GC_H
#define CTSIM_CORE_GC_H

#include <stdbool.h>
#include <stdint.h>
#include "ctsim/core/table.h"

/* The kernel's constants, in nanoseconds of the table's clock. */
#define CT_GC_INTERVAL_MAX_NS	(60ull * 1000000000ull)	/* GC_SCAN_INTERVAL_MAX */
#define CT_GC_INTERVAL_MIN_NS	(1ull * 1000000000ull)	/* GC_SCAN_INTERVAL_MIN */
#define CT_GC_CLAMP_NS		(300ull * 1000000000ull)	/* GC_SCAN_INTERVAL_CLAMP */
#define CT_GC_INITIAL_COUNT	100			/* GC_SCAN_INITIAL_COUNT */

/* State of the paced walker (struct conntrack_gc_work); zero it to start. */
struct ct_gc_pace {
	uint64_t next_run;	/* table clock: when the next slice is due */
	uint64_t start_time;	/* table clock: when the current pass began */
	uint64_t avg_timeout;	/* running mean of the clamped timeouts, ns */
	uint32_t count;		/* entries (plus the bias) in that mean */
	uint32_t next_bucket;	/* where the current pass resumes; 0: a new pass */
	uint64_t passes;	/* completed passes (for tests and -v) */
};

/**
 * ct_gc_due - is a slice due at the table's current reading (t->now)?
 */
static inline bool ct_gc_due(const struct ct_table *t, const struct ct_gc_pace *p)
{
	return (int64_t)(t->now - p->next_run) >= 0;
}

/**
 * ct_gc_step - one slice of gc_worker(): reap expired expectations, then
 * walk buckets from where the pass stopped, reaping expired entries (with
 * their DESTROY events) and folding the others' timeouts into the estimate,
 * until the pass ends or @budget_ns of CLOCK_MONOTONIC time is spent.
 * Sets p->next_run: now if the pass is unfinished (call again as soon as
 * pending work allows), else start of pass + estimate, at least 1 s ahead
 * of the pass start and at most 60 s.
 * Call ct_table_tick() first. Returns true if the pass is unfinished.
 */
bool ct_gc_step(struct ct_table *t, struct ct_gc_pace *p, uint64_t budget_ns);

#endif
