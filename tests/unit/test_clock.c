/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_clock.c — unit tests of ctsim's time (ctsim/core/clock.[ch]) and of
 * the core on virtual time (ctsim/replay/vtime.[ch]), through their headers:
 *   - a virtual clock moves only by ct_clock_advance(), monotonic and wall
 *     readings together, starting at the wall time it was given;
 *   - a real clock follows CLOCK_MONOTONIC/CLOCK_REALTIME, and advancing it
 *     adds a warp offset to both readings (timeouts expire "early");
 *   - ct_vtime follows the caller's event times, never backwards, and runs
 *     the GC slices due in a gap at their own times, so an entry that
 *     expires in a gap is reaped then, with its DESTROY event, as the
 *     kernel's gc_worker() would (not at the time of the next packet).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "ctsim/core/clock.h"
#include "ctsim/core/event.h"
#include "ctsim/core/table.h"
#include "ctsim/replay/vtime.h"

#define SEC CT_NSEC_PER_SEC
#define WALL0 (1700000000ull * SEC)

static uint64_t sys_clock(clockid_t id)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(id, &ts), 0);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* struct ct_clock                                                     */

static void test_virtual_moves_only_when_told(void **state)
{
	struct ct_clock c;
	uint64_t m0;
	struct timespec nap = { 0, 2 * 1000 * 1000 };	/* 2 ms of real time */

	(void)state;
	ct_clock_init_virtual(&c, WALL0);
	assert_true(c.is_virtual);
	m0 = ct_clock_now(&c);
	assert_true(m0 > 0);	/* "expires == 0" never means "now" */
	assert_int_equal(ct_clock_wall(&c), WALL0);
	nanosleep(&nap, NULL);
	assert_int_equal(ct_clock_now(&c), m0);
	assert_int_equal(ct_clock_wall(&c), WALL0);

	ct_clock_advance(&c, 1500 * 1000 * 1000ull);
	assert_int_equal(ct_clock_now(&c), m0 + 1500000000ull);
	assert_int_equal(ct_clock_wall(&c), WALL0 + 1500000000ull);
	ct_clock_advance(&c, 0);
	assert_int_equal(ct_clock_now(&c), m0 + 1500000000ull);
	ct_clock_advance(&c, 86400 * SEC);
	assert_int_equal(ct_clock_now(&c), m0 + 1500000000ull + 86400 * SEC);
	assert_int_equal(ct_clock_wall(&c), WALL0 + 1500000000ull + 86400 * SEC);
	assert_int_equal(c.warp_ns, 0);	/* virtual time is not a warp */
}

/* Two virtual clocks are independent. */
static void test_virtual_clocks_independent(void **state)
{
	struct ct_clock a, b;

	(void)state;
	ct_clock_init_virtual(&a, WALL0);
	ct_clock_init_virtual(&b, WALL0 + 10 * SEC);
	ct_clock_advance(&a, 5 * SEC);
	assert_int_equal(ct_clock_wall(&a), WALL0 + 5 * SEC);
	assert_int_equal(ct_clock_wall(&b), WALL0 + 10 * SEC);
	assert_int_equal(ct_clock_now(&a) - ct_clock_now(&b), 5 * SEC);
}

/* A real clock reads the system's clocks; advancing it is a time warp
 * that shifts both readings by the same offset. */
static void test_real_clock_warp(void **state)
{
	struct ct_clock c;
	uint64_t before, after, mono, wall;

	(void)state;
	ct_clock_init_real(&c);
	assert_false(c.is_virtual);
	before = sys_clock(CLOCK_MONOTONIC);
	mono = ct_clock_now(&c);
	after = sys_clock(CLOCK_MONOTONIC);
	assert_true(mono >= before && mono <= after);
	before = sys_clock(CLOCK_REALTIME);
	wall = ct_clock_wall(&c);
	after = sys_clock(CLOCK_REALTIME);
	assert_true(wall >= before && wall <= after);

	ct_clock_advance(&c, 3600 * SEC);
	ct_clock_advance(&c, 60 * SEC);
	assert_int_equal(c.warp_ns, 3660 * SEC);
	before = sys_clock(CLOCK_MONOTONIC);
	mono = ct_clock_now(&c);
	after = sys_clock(CLOCK_MONOTONIC);
	assert_true(mono >= before + 3660 * SEC && mono <= after + 3660 * SEC);
	before = sys_clock(CLOCK_REALTIME);
	wall = ct_clock_wall(&c);
	after = sys_clock(CLOCK_REALTIME);
	assert_true(wall >= before + 3660 * SEC && wall <= after + 3660 * SEC);
}

/* ------------------------------------------------------------------ */
/* struct ct_vtime                                                     */

struct fixture {
	struct ct_settings s;
	struct ct_clock clock;
	struct ct_events ev;
	struct ct_table t;
	struct ct_vtime vt;
	unsigned ndestroy;
	uint64_t destroy_at;	/* clock time of the last DESTROY event */
};

static void on_event(void *arg, const struct ct_event *e)
{
	struct fixture *f = arg;

	if (e->mask & CT_EV(DESTROY)) {
		f->ndestroy++;
		f->destroy_at = ct_clock_now(&f->clock);
	}
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	ct_settings_init(&f.s);
	f.s.buckets = 64;
	f.s.max = 100;
	ct_clock_init_virtual(&f.clock, WALL0);
	f.ev.mode = 1;
	assert_int_equal(ct_events_subscribe(&f.ev, on_event, &f), 0);
	assert_int_equal(ct_table_init(&f.t, &f.s, &f.clock, &f.ev, 99), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ct_table_destroy(&f->t);
	return 0;
}

/* A confirmed UDP entry 10.0.0.1:@sport -> 10.0.0.2:53 expiring in @secs. */
static struct conn *add(struct fixture *f, uint16_t sport, uint32_t secs)
{
	struct ct_tuple o, r;
	struct ct_zone z = { 0, CT_ZONE_DIR_BOTH };
	struct conn *c;

	memset(&o, 0, sizeof(o));
	inet_pton(AF_INET, "10.0.0.1", &o.src.ip);
	inet_pton(AF_INET, "10.0.0.2", &o.dst.ip);
	o.sport = sport;
	o.dport = 53;
	o.l3num = AF_INET;
	o.l4num = IPPROTO_UDP;
	assert_true(ct_tuple_invert(&o, &r));
	r.l3num = o.l3num;
	r.l4num = o.l4num;
	c = conn_alloc(&f->t, &o, &r, &z);
	assert_non_null(c);
	conn_set_timeout(&f->t, c, secs);
	assert_int_equal(ct_table_insert(&f->t, c), 0);
	c->status |= CT_S_CONFIRMED;
	return c;
}

/* The clock follows the caller's times as deltas from @start, never back. */
static void test_vtime_follows_never_backwards(void **state)
{
	struct fixture *f = *state;
	const uint64_t start = 5000 * SEC;	/* caller's base, unrelated to the clock's */
	uint64_t m0 = ct_clock_now(&f->clock);

	ct_vtime_init(&f->vt, &f->t, &f->clock, start);
	assert_int_equal(ct_clock_now(&f->clock), m0);
	assert_int_equal(f->t.now, m0);

	ct_vtime_advance(&f->vt, start + 5 * SEC);
	assert_int_equal(ct_clock_now(&f->clock), m0 + 5 * SEC);
	assert_int_equal(f->t.now, m0 + 5 * SEC);	/* reading taken */
	ct_vtime_advance(&f->vt, start + 3 * SEC);	/* earlier: ignored */
	assert_int_equal(ct_clock_now(&f->clock), m0 + 5 * SEC);
	ct_vtime_advance(&f->vt, start + 5 * SEC);	/* same time: ignored */
	assert_int_equal(ct_clock_now(&f->clock), m0 + 5 * SEC);
	/* the next step counts from the latest time, not the rejected one */
	ct_vtime_advance(&f->vt, start + 6 * SEC);
	assert_int_equal(ct_clock_now(&f->clock), m0 + 6 * SEC);
	ct_vtime_advance(&f->vt, start + 6 * SEC + 250);
	assert_int_equal(ct_clock_now(&f->clock), m0 + 6 * SEC + 250);
	assert_int_equal(ct_clock_wall(&f->clock), WALL0 + 6 * SEC + 250);
}

/* An entry that times out in a gap is reaped by a GC slice inside the gap,
 * at most a GC pass (about a second) after its expiry; one still alive
 * is kept. */
static void test_vtime_reaps_in_gap(void **state)
{
	struct fixture *f = *state;
	uint64_t m0 = ct_clock_now(&f->clock);

	ct_vtime_init(&f->vt, &f->t, &f->clock, 0);
	add(f, 1111, 10);
	add(f, 2222, 1000);
	assert_int_equal(f->t.count, 2);

	ct_vtime_advance(&f->vt, 9 * SEC);
	assert_int_equal(f->t.count, 2);
	assert_int_equal(f->ndestroy, 0);

	ct_vtime_advance(&f->vt, 100 * SEC);
	assert_int_equal(f->t.count, 1);
	assert_int_equal(f->ndestroy, 1);
	assert_true(f->destroy_at >= m0 + 10 * SEC);
	assert_true(f->destroy_at <= m0 + 10 * SEC + SEC + CT_VTIME_GC_TICK_NS);
	assert_int_equal(ct_clock_now(&f->clock), m0 + 100 * SEC);
}

/* A long gap is covered with a bounded number of slices, still reaping
 * inside the gap rather than at its end. */
static void test_vtime_long_gap(void **state)
{
	struct fixture *f = *state;
	uint64_t m0 = ct_clock_now(&f->clock);

	ct_vtime_init(&f->vt, &f->t, &f->clock, 0);
	add(f, 1111, 1000);
	add(f, 2222, 10 * 86400);
	ct_vtime_advance(&f->vt, 86400 * SEC);
	assert_int_equal(f->t.count, 1);
	assert_int_equal(f->ndestroy, 1);
	assert_true(f->destroy_at >= m0 + 1000 * SEC);
	assert_true(f->destroy_at < m0 + 43200 * SEC);
	assert_int_equal(ct_clock_now(&f->clock), m0 + 86400 * SEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_virtual_moves_only_when_told),
		cmocka_unit_test(test_virtual_clocks_independent),
		cmocka_unit_test(test_real_clock_warp),
		cmocka_unit_test_setup_teardown(test_vtime_follows_never_backwards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vtime_reaps_in_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vtime_long_gap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
