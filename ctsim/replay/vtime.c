/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vtime.c — the core on virtual time (see vtime.h). */
#include "ctsim/replay/vtime.h"

void ct_vtime_init(struct ct_vtime *v, struct ct_table *t, struct ct_clock *c, uint64_t start)
{
	v->table = t;
	v->clock = c;
	v->last = start;
	ct_table_tick(t);
	v->gc_next = ct_clock_now(c) + CT_VTIME_GC_TICK_NS;
}

/* Set the clock to monotonic time @mono (never backwards) and take the
 * reading for the next step, as the daemon's loop does. */
static void clock_to(struct ct_vtime *v, uint64_t mono)
{
	uint64_t now = ct_clock_now(v->clock);

	if (mono > now)
		ct_clock_advance(v->clock, mono - now);
	ct_table_tick(v->table);
}

void ct_vtime_advance(struct ct_vtime *v, uint64_t at)
{
	uint32_t per_slice = v->table->nbuckets / CT_VTIME_GC_SLICES + 1;
	uint64_t target, step = CT_VTIME_GC_TICK_NS;

	if (at <= v->last) {
		ct_table_tick(v->table);
		return;
	}
	target = ct_clock_now(v->clock) + (at - v->last);
	v->last = at;
	if (v->gc_next <= target &&
	    (target - v->gc_next) / CT_VTIME_GC_TICK_NS > CT_VTIME_GC_MAX_SLICES_PER_GAP)
		step = (target - v->gc_next) / CT_VTIME_GC_MAX_SLICES_PER_GAP;
	if (v->table->settings->gc_pacing == CT_GC_PACING_KERNEL) {
		/* gc_worker(): whole passes (virtual time does not move during
		 * one), next_run apart; a long gap gets at most
		 * CT_VTIME_GC_MAX_SLICES_PER_GAP of them */
		uint64_t min_step = (target > v->gc_next ? target - v->gc_next : 0) /
				    CT_VTIME_GC_MAX_SLICES_PER_GAP;

		if (v->table->gc_kick) {	/* a pass within a second */
			uint64_t soon = ct_clock_now(v->clock) + CT_VTIME_GC_SLICES * CT_VTIME_GC_TICK_NS;

			v->table->gc_kick = false;
			if (v->gc_next > soon)
				v->gc_next = soon;
		}

		while (v->gc_next <= target) {
			uint64_t next;

			clock_to(v, v->gc_next);
			ct_table_gc(v->table, v->table->nbuckets - v->table->gc_bucket);
			next = v->table->gc_next_run ? v->table->gc_next_run : CT_VTIME_GC_TICK_NS;
			v->gc_next += next > min_step ? next : min_step;
		}
		clock_to(v, target);
		return;
	}
	while (v->gc_next <= target) {
		if (v->table->count == 0) {
			/* Nothing to reap: skip the idle ticks. */
			v->gc_next = target + CT_VTIME_GC_TICK_NS;
			break;
		}
		clock_to(v, v->gc_next);
		ct_table_gc(v->table, per_slice);
		v->gc_next += step;
	}
	clock_to(v, target);
}
