/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vtime.h — running the core on virtual time, as the daemon's loop runs it
 * on the real clock: the clock follows the events' times (packet
 * timestamps, scenario lines), never backwards, and the GC walker gets its
 * slices at the times the daemon's 100 ms timer would have given them, so
 * an entry that expires in a gap is reaped at that moment, with its DESTROY
 * event before the next packet's events (gc_worker() on a kernel).
 * Shared by `ctsim replay` and the scenario runner.
 */
#ifndef CTSIM_VTIME_H
#define CTSIM_VTIME_H

#include <stdint.h>
#include "ctsim/core/clock.h"
#include "ctsim/core/table.h"

/* The daemon's GC timer: a slice every 100 ms, a full pass about every second. */
#define CT_VTIME_GC_TICK_NS	(100 * 1000000ull)
#define CT_VTIME_GC_SLICES	10
/* A long gap is covered by at most this many slices, spread evenly over it:
 * the kernel's GC also slows down (up to 60 s between passes) when nothing
 * is about to expire. */
#define CT_VTIME_GC_MAX_SLICES_PER_GAP	640

struct ct_vtime {
	struct ct_table *table;
	struct ct_clock *clock;	/* a virtual clock (ct_clock_init_virtual()) */
	uint64_t last;		/* time of the latest event, in the caller's time base */
	uint64_t gc_next;	/* monotonic clock time of the next GC slice */
};

/**
 * ct_vtime_init - start driving @t/@c; @start is the first event's time in
 * the caller's time base (a packet's wall timestamp, a scenario's 0).
 */
void ct_vtime_init(struct ct_vtime *v, struct ct_table *t, struct ct_clock *c, uint64_t start);

/**
 * ct_vtime_advance - move to time @at (caller's base): run the GC slices
 * that fall before it at their own times, then set the clock to @at and
 * take the reading (ct_table_tick()). An @at not later than the previous
 * one leaves the clock where it is: time never goes backwards.
 */
void ct_vtime_advance(struct ct_vtime *v, uint64_t at);

#endif
