/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gc.c — the daemon's paced garbage collector (see gc.h): emulates the
 * pacing of gc_worker() in net/netfilter/nf_conntrack_core.c. Kept apart
 * from table.c's fixed-slice ct_table_gc(), which replay and time warps use.
 */
#include <time.h>
#include "ctsim/core/gc.h"
#include "ctsim/core/expect.h"

/* Read the budget clock every this many buckets (a vDSO call is cheap but
 * not free next to an empty bucket). */
#define GC_BUDGET_CHECK_EVERY	256u

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The estimate update of gc_worker(): the entry's remaining time clamped to
 * [GC_SCAN_INTERVAL_MIN, GC_SCAN_INTERVAL_CLAMP], folded into a running mean
 * over count entries. Signed: the mean moves down as well as up. */
static void fold_timeout(struct ct_gc_pace *p, uint64_t left)
{
	int64_t delta;

	if (left < CT_GC_INTERVAL_MIN_NS)
		left = CT_GC_INTERVAL_MIN_NS;
	if (left > CT_GC_CLAMP_NS)
		left = CT_GC_CLAMP_NS;
	delta = ((int64_t)left - (int64_t)p->avg_timeout) / (int64_t)++p->count;
	p->avg_timeout = (uint64_t)((int64_t)p->avg_timeout + delta);
}

bool ct_gc_step(struct ct_table *t, struct ct_gc_pace *p, uint64_t budget_ns)
{
	uint64_t end = mono_ns() + budget_ns, next, took;
	uint32_t b = p->next_bucket;

	/* Expectations have their own timers in the kernel (nf_ct_expect
	 * timeout): they are reaped at every call, not paced. */
	ct_expect_gc(t);
	if (b >= t->nbuckets)
		b = 0;			/* the table was resized under us */
	if (b == 0) {
		p->avg_timeout = CT_GC_INTERVAL_MAX_NS;	/* GC_SCAN_INTERVAL_INIT */
		p->count = CT_GC_INITIAL_COUNT;
		p->start_time = t->now;
	}
	while (b < t->nbuckets) {
		struct ct_thash *h;

		ct_table_walk_prefetch(t, b + CT_WALK_PREFETCH);
restart:
		for (h = t->buckets[b]; h; h = h->next) {
			struct conn *c = conn_of(h);

			if (conn_expired(t, c)) {
				/* nf_ct_gc_expired(); the delete may unlink
				 * h->next too (the other direction's node). */
				ct_table_delete(t, c, 0, false);
				goto restart;
			}
		}
		/* The survivors, once each (the restarts above must not
		 * count a node twice). Both directions' nodes are folded,
		 * as the kernel's hlist walk meets both tuple hashes. */
		for (h = t->buckets[b]; h; h = h->next)
			fold_timeout(p, conn_of(h)->expires - t->now);
		b++;
		if (b % GC_BUDGET_CHECK_EVERY == 0 && b < t->nbuckets &&
		    (int64_t)(mono_ns() - end) > 0) {
			/* Slice over: the kernel requeues at once (next_run 0). */
			p->next_bucket = b;
			p->next_run = t->now;
			return true;
		}
	}
	p->next_bucket = 0;
	p->passes++;
	next = p->avg_timeout;
	if (next < CT_GC_INTERVAL_MIN_NS)
		next = CT_GC_INTERVAL_MIN_NS;
	if (next > CT_GC_INTERVAL_MAX_NS)
		next = CT_GC_INTERVAL_MAX_NS;
	/* The interval counts from the pass's start (delta_time). */
	took = t->now - p->start_time;
	p->next_run = t->now + (next > took ? next - took : 1);
	return false;
}
