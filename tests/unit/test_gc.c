/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_gc.c — unit tests of the daemon's paced GC (ctsim/core/gc.c) on a
 * virtual clock: the interval learnt from the timeouts (gc_worker()'s
 * estimate and clamps), reaping with DESTROY events, slices that stop on
 * their budget and resume, and that a dump never shows an entry the paced
 * walker has not reached yet.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "ctsim/core/gc.h"
#include "ctsim/core/event.h"

#define SEC	CT_NSEC_PER_SEC

struct fixture {
	struct ct_settings s;
	struct ct_clock clock;
	struct ct_events ev;
	struct ct_table t;
	struct ct_gc_pace gc;
	unsigned ndestroy;
};

static void count_events(void *arg, const struct ct_event *e)
{
	struct fixture *f = arg;

	if (e->mask & CT_EV(DESTROY))
		f->ndestroy++;
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	ct_settings_init(&f.s);
	f.s.buckets = 16384;	/* 30000 entries stay under the chain limit (chaintoolong) */
	f.s.max = 100000;
	ct_clock_init_virtual(&f.clock, 1700000000ull * SEC);
	f.ev.mode = 1;	/* always deliver events */
	ct_events_subscribe(&f.ev, count_events, &f);
	assert_int_equal(ct_table_init(&f.t, &f.s, &f.clock, &f.ev, 12345), 0);
	ct_table_tick(&f.t);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ct_table_destroy(&f->t);
	return 0;
}

/* Insert a confirmed TCP entry 10.0.x.y:1000 -> 10.1.0.1:80 expiring in
 * @timeout seconds; @i makes it distinct. */
static void add(struct fixture *f, unsigned i, uint32_t timeout)
{
	static const struct ct_zone z0 = { 0, CT_ZONE_DIR_BOTH };
	struct ct_tuple o, r;
	struct conn *c;

	memset(&o, 0, sizeof(o));
	o.src.ip = htonl(0x0a000000u + i);
	o.dst.ip = htonl(0x0a010001u);
	o.sport = htons(1000);
	o.dport = htons(80);
	o.l3num = AF_INET;
	o.l4num = IPPROTO_TCP;
	assert_true(ct_tuple_invert(&o, &r));
	c = conn_alloc(&f->t, &o, &r, &z0);
	assert_non_null(c);
	conn_set_timeout(&f->t, c, timeout);
	c->status |= CT_S_CONFIRMED;
	assert_int_equal(ct_table_insert(&f->t, c), 0);
}

static void advance(struct fixture *f, uint64_t ns)
{
	ct_clock_advance(&f->clock, ns);
	ct_table_tick(&f->t);
}

/* Long timeouts (established TCP, 5 days) are clamped to 300 s, so the
 * estimate exceeds the 60 s ceiling: one pass a minute. */
static void test_long_timeouts_one_pass_a_minute(void **state)
{
	struct fixture *f = *state;
	uint64_t start = f->t.now;

	for (unsigned i = 0; i < 50; i++)
		add(f, i, 432000);
	assert_true(ct_gc_due(&f->t, &f->gc));		/* a zeroed pace starts at once */
	assert_false(ct_gc_step(&f->t, &f->gc, 1000 * SEC));
	assert_int_equal(f->gc.passes, 1);
	assert_true(f->gc.next_run - start == CT_GC_INTERVAL_MAX_NS);
	advance(f, CT_GC_INTERVAL_MAX_NS - 1);
	assert_false(ct_gc_due(&f->t, &f->gc));
	advance(f, 1);
	assert_true(ct_gc_due(&f->t, &f->gc));
	assert_int_equal(f->ndestroy, 0);
	assert_int_equal(f->t.count, 50);
}

/* Short timeouts pull the estimate down: 1000 entries at 2 s against the
 * bias of 100 at 60 s give a mean near (100*60 + 2000*2) / 2100 s (each
 * entry is met in both directions); 29000 more at 1 s bring it near the 1 s
 * floor (GC_SCAN_INTERVAL_MIN). */
static void test_short_timeouts_pull_interval_down(void **state)
{
	struct fixture *f = *state;
	uint64_t start = f->t.now, want = (100 * 60 + 2000 * 2) * SEC / 2100, got;

	for (unsigned i = 0; i < 1000; i++)
		add(f, i, 2);
	assert_false(ct_gc_step(&f->t, &f->gc, 1000 * SEC));
	got = f->gc.next_run - start;
	assert_true(got > want - SEC / 4 && got < want + SEC / 4);

	advance(f, got);
	for (unsigned i = 1000; i < 30000; i++)
		add(f, i, 1);
	assert_false(ct_gc_step(&f->t, &f->gc, 1000 * SEC));
	assert_int_equal(f->ndestroy, 1000);		/* the 2 s ones are gone */
	/* 58000 nodes at 1 s (the floor) and the bias: 1.09 s */
	want = (100 * 60 + 58000 * 1) * SEC / 58100;
	got = f->gc.next_run - f->t.now;
	assert_true(got >= CT_GC_INTERVAL_MIN_NS && got > want - SEC / 100 && got < want + SEC / 100);
}

/* Expired entries are reaped by the pass with their DESTROY events; the
 * others stay. */
static void test_reaps_expired(void **state)
{
	struct fixture *f = *state;

	for (unsigned i = 0; i < 20; i++)
		add(f, i, i < 10 ? 5 : 500);
	advance(f, 6 * SEC);
	assert_false(ct_gc_step(&f->t, &f->gc, 1000 * SEC));
	assert_int_equal(f->t.count, 10);
	assert_int_equal(f->ndestroy, 10);
}

/* A zero budget ends the slice at the first budget check (256 buckets):
 * the pass resumes where it stopped, is due at once, and ends after
 * nbuckets / 256 slices, having visited every bucket once. */
static void test_budget_slices_resume(void **state)
{
	struct fixture *f = *state;
	unsigned slices = 0;

	for (unsigned i = 0; i < 2000; i++)
		add(f, i, 5);
	advance(f, 6 * SEC);
	while (ct_gc_step(&f->t, &f->gc, 0)) {
		slices++;
		assert_int_equal(f->gc.next_bucket, slices * 256);
		assert_true(ct_gc_due(&f->t, &f->gc));
		assert_int_equal(f->gc.passes, 0);
	}
	assert_int_equal(slices + 1, f->t.nbuckets / 256);
	assert_int_equal(f->gc.passes, 1);
	assert_int_equal(f->t.count, 0);
	assert_int_equal(f->ndestroy, 2000);
}

static int count_dumped(struct ct_table *t, struct conn *c, void *arg)
{
	(void)t;
	(void)c;
	++*(unsigned *)arg;
	return 0;
}

/* Between passes an expired entry is still hashed, as in the kernel, but a
 * dump kills it instead of showing it (ctnetlink_dump_table()). */
static void test_dump_never_shows_expired(void **state)
{
	struct fixture *f = *state;
	unsigned shown = 0;

	for (unsigned i = 0; i < 20; i++)
		add(f, i, i < 10 ? 5 : 500);
	assert_false(ct_gc_step(&f->t, &f->gc, 1000 * SEC));
	advance(f, 6 * SEC);
	assert_false(ct_gc_due(&f->t, &f->gc));	/* the next pass is later */
	assert_int_equal(f->t.count, 20);
	assert_int_equal(ct_table_dump(&f->t, count_dumped, &shown), 0);
	assert_int_equal(shown, 10);
	assert_int_equal(f->ndestroy, 10);
	assert_int_equal(f->t.count, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_long_timeouts_one_pass_a_minute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_timeouts_pull_interval_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reaps_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_slices_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_never_shows_expired, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
