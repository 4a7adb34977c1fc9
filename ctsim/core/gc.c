/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gc.c — the daemon's paced garbage collector (see gc.h): emulates the
 * pacing of gc_worker() in net/netfilter/nf_conntrack_core.c. Kept apart
 * from table.c's fixed-slice ct_table_gc(), which replay and time warps use.
 */
#include <time.h>
#include "ctsim/core/gc.h"
#include "ctsim/core/expect.h"
#include "ctsim/core/overflow.h"

/* Read the budget clock every this many buckets (a vDSO call is cheap but
 * not free next to an empty bucket). */
#define GC_BUDGET_CHECK_EVERY	256u
/* Chains walked side by side (a divisor of GC_BUDGET_CHECK_EVERY). */
#define GC_LANES		16u

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

/* Prefetch a node and the entry fields around it (expires sits after both
 * nodes: wherever @h is in its entry, these lines hold it). */
static inline void prefetch_node(const struct ct_thash *h)
{
	if (h) {
		__builtin_prefetch(h);
		__builtin_prefetch((const char *)h + 64);
		__builtin_prefetch((const char *)h + 112);
	}
}

/*
 * Walk buckets [@b, @b + @n) side by side, one node of each chain in turn,
 * so that the misses of @n chains overlap instead of following one chain's
 * pointers one miss at a time (at 2M entries in 262144 buckets a chain has
 * ~15 nodes, and a pass was bound by those serial misses). Folds the live
 * nodes into the estimate; unlinks nothing. Returns true if some node was
 * expired (the caller then reaps those buckets).
 */
static bool walk_lanes(struct ct_table *t, struct ct_gc_pace *p, uint32_t b, uint32_t n)
{
	struct ct_thash *cur[GC_LANES];
	bool expired = false;
	uint32_t live = 0;

	for (uint32_t k = 0; k < n; k++) {
		cur[k] = t->buckets[b + k];
		live += cur[k] != NULL;
	}
	ct_table_walk_prefetch(t, b + n + CT_WALK_PREFETCH);
	while (live) {
		for (uint32_t k = 0; k < n; k++) {
			struct ct_thash *h = cur[k];
			struct conn *c;

			if (!h)
				continue;
			c = conn_of(h);
			cur[k] = h->next;
			prefetch_node(cur[k]);
			live -= cur[k] == NULL;
			if (conn_expired(t, c))
				expired = true;
			else	/* both directions' nodes, as the kernel's hlist walk */
				fold_timeout(p, c->expires - t->now);
		}
	}
	return expired;
}

/* Reap the expired entries of bucket @b (nf_ct_gc_expired()); the delete
 * may unlink h->next too (the other direction's node): walk again. */
static void reap_bucket(struct ct_table *t, uint32_t b)
{
	struct ct_thash *h;

restart:
	for (h = t->buckets[b]; h; h = h->next) {
		struct conn *c = conn_of(h);

		if (conn_expired(t, c)) {
			ct_table_delete(t, c, 0, false);
			goto restart;
		}
	}
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
	if (b == 0 && t->gc_bucket == 0 && ct_overflow_gc_begin(t)) {
		/* A table-full event (gc_worker()'s early-drop flag) or an
		 * overflow policy wants entries killed in this pass: that pass
		 * is table.c's, whole, with the kills, GC_SCAN_EXPIRED_MAX and
		 * the policies' intervals (overflow.c). Rare, and bounded by
		 * the table. */
		ct_table_gc(t, t->nbuckets);
		p->passes++;
		p->next_run = t->now + (t->gc_next_run ? t->gc_next_run : CT_GC_INTERVAL_MIN_NS);
		return false;
	}
	if (b == 0) {
		p->avg_timeout = CT_GC_INTERVAL_MAX_NS;	/* GC_SCAN_INTERVAL_INIT */
		p->count = CT_GC_INITIAL_COUNT;
		p->start_time = t->now;
	}
	while (b < t->nbuckets) {
		uint32_t n = t->nbuckets - b < GC_LANES ? t->nbuckets - b : GC_LANES;

		if (walk_lanes(t, p, b, n))
			for (uint32_t k = 0; k < n; k++)
				reap_bucket(t, b + k);
		b += n;
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
