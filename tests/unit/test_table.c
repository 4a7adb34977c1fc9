/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_table.c — unit tests of the conntrack table (ctsim/core/table.c) on a
 * virtual clock: lookups in both directions, zones, clashes, expiry, GC,
 * early drop, references and the dying list, events, the dump walk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "ctsim/core/table.h"
#include "ctsim/core/event.h"

struct fixture {
	struct ct_settings s;
	struct ct_clock clock;
	struct ct_events ev;
	struct ct_table t;
	unsigned nev, ndestroy;
};

static void count_events(void *arg, const struct ct_event *e)
{
	struct fixture *f = arg;

	f->nev++;
	if (e->mask & CT_EV(DESTROY))
		f->ndestroy++;
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	ct_settings_init(&f.s);
	f.s.buckets = 64;
	f.s.max = 100;
	ct_clock_init_virtual(&f.clock, 1700000000ull * CT_NSEC_PER_SEC);
	f.ev.mode = 1;	/* always deliver events */
	ct_events_subscribe(&f.ev, count_events, &f);
	assert_int_equal(ct_table_init(&f.t, &f.s, &f.clock, &f.ev, 12345), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ct_table_destroy(&f->t);
	return 0;
}

static struct ct_tuple tcp4(const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	struct ct_tuple t;

	memset(&t, 0, sizeof(t));
	inet_pton(AF_INET, src, &t.src.ip);
	inet_pton(AF_INET, dst, &t.dst.ip);
	t.sport = sport;
	t.dport = dport;
	t.l3num = AF_INET;
	t.l4num = IPPROTO_TCP;
	return t;
}

/* Insert a confirmed entry orig = src:sport -> dst:dport, reply inverted. */
static struct conn *add(struct fixture *f, const char *src, const char *dst, uint16_t sport,
			uint16_t dport, const struct ct_zone *zone, uint32_t timeout, int *err)
{
	struct ct_tuple o = tcp4(src, dst, sport, dport), r;
	static const struct ct_zone z0 = { 0, CT_ZONE_DIR_BOTH };
	struct conn *c;

	assert_true(ct_tuple_invert(&o, &r));
	c = conn_alloc(&f->t, &o, &r, zone ? zone : &z0);
	if (!c) {
		*err = -errno;
		return NULL;
	}
	conn_set_timeout(&f->t, c, timeout);
	c->status |= CT_S_CONFIRMED;
	*err = ct_table_insert(&f->t, c);
	if (*err) {
		conn_free_unhashed(&f->t, c);
		return NULL;
	}
	return c;
}

static void test_find_both_directions(void **state)
{
	struct fixture *f = *state;
	struct ct_tuple o = tcp4("1.1.1.1", "2.2.2.2", 10, 20), r = tcp4("2.2.2.2", "1.1.1.1", 20, 10);
	struct ct_tuple other = tcp4("1.1.1.1", "2.2.2.2", 10, 21);
	enum ct_dir dir;
	int err;
	struct conn *c = add(f, "1.1.1.1", "2.2.2.2", 10, 20, NULL, 60, &err);

	assert_non_null(c);
	assert_ptr_equal(ct_table_find(&f->t, &o, NULL, CT_DIR_ORIG, &dir), c);
	assert_int_equal(dir, CT_DIR_ORIG);
	assert_ptr_equal(ct_table_find(&f->t, &r, NULL, CT_DIR_REPLY, &dir), c);
	assert_int_equal(dir, CT_DIR_REPLY);
	assert_null(ct_table_find(&f->t, &other, NULL, CT_DIR_ORIG, NULL));
	assert_int_equal(f->t.count, 1);
	/* The table counts nothing; callers count what the kernel does. */
	assert_int_equal(f->t.stats.cpu.insert, 0);
}

static void test_clash_on_either_tuple(void **state)
{
	struct fixture *f = *state;
	int err;

	assert_non_null(add(f, "1.1.1.1", "2.2.2.2", 10, 20, NULL, 60, &err));
	/* Same orig tuple. */
	assert_null(add(f, "1.1.1.1", "2.2.2.2", 10, 20, NULL, 60, &err));
	assert_int_equal(err, -EEXIST);
	/* Orig of the new one equals the reply of the old one. */
	assert_null(add(f, "2.2.2.2", "1.1.1.1", 20, 10, NULL, 60, &err));
	assert_int_equal(err, -EEXIST);
	assert_int_equal(f->t.stats.cpu.insert_failed, 0);
	assert_int_equal(f->t.count, 1);
}

static void test_zones_coexist(void **state)
{
	struct fixture *f = *state;
	struct ct_zone z1 = { 1, CT_ZONE_DIR_BOTH }, z2 = { 2, CT_ZONE_DIR_BOTH };
	struct ct_zone zorig = { 7, CT_ZONE_DIR_ORIG };
	struct ct_tuple o = tcp4("1.1.1.1", "2.2.2.2", 10, 20), r;
	struct conn *a, *b, *c;
	int err;

	a = add(f, "1.1.1.1", "2.2.2.2", 10, 20, &z1, 60, &err);
	b = add(f, "1.1.1.1", "2.2.2.2", 10, 20, &z2, 60, &err);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_equal(ct_table_find(&f->t, &o, &z1, CT_DIR_ORIG, NULL), a);
	assert_ptr_equal(ct_table_find(&f->t, &o, &z2, CT_DIR_ORIG, NULL), b);
	assert_null(ct_table_find(&f->t, &o, NULL, CT_DIR_ORIG, NULL));
	/* A directional zone applies to its direction only: the reply tuple
	 * lives in zone 0, so it clashes with a zone-0 entry's orig. */
	c = add(f, "1.1.1.1", "2.2.2.2", 10, 20, &zorig, 60, &err);
	assert_non_null(c);
	assert_true(ct_tuple_invert(&o, &r));
	assert_ptr_equal(ct_table_find(&f->t, &r, NULL, CT_DIR_REPLY, NULL), c);
	assert_null(add(f, "2.2.2.2", "1.1.1.1", 20, 10, NULL, 60, &err));
	assert_int_equal(err, -EEXIST);
}

static void test_expiry_is_lazy(void **state)
{
	struct fixture *f = *state;
	struct ct_tuple o = tcp4("1.1.1.1", "2.2.2.2", 10, 20);
	int err;
	struct conn *c = add(f, "1.1.1.1", "2.2.2.2", 10, 20, NULL, 30, &err);

	assert_non_null(c);
	assert_int_equal(conn_timeout_left(&f->t, c), 30);
	ct_clock_advance(&f->clock, 10 * CT_NSEC_PER_SEC + 1);
	ct_table_tick(&f->t);
	assert_int_equal(conn_timeout_left(&f->t, c), 19);
	ct_clock_advance(&f->clock, 25 * CT_NSEC_PER_SEC);
	ct_table_tick(&f->t);
	/* Expired but still counted until something touches it. */
	assert_int_equal(f->t.count, 1);
	assert_int_equal(f->ndestroy, 0);
	assert_null(ct_table_find(&f->t, &o, NULL, CT_DIR_ORIG, NULL));
	assert_int_equal(f->t.count, 0);
	assert_int_equal(f->ndestroy, 1);
}

static void test_gc_reaps(void **state)
{
	struct fixture *f = *state;
	int err;

	for (int i = 0; i < 20; i++)
		assert_non_null(add(f, "10.0.0.1", "10.0.0.2", (uint16_t)(1000 + i), 80, NULL,
				    (uint32_t)(i < 10 ? 5 : 500), &err));
	ct_clock_advance(&f->clock, 6 * CT_NSEC_PER_SEC);
	ct_table_tick(&f->t);
	assert_int_equal(ct_table_gc(&f->t, f->t.nbuckets), 10);
	assert_int_equal(f->t.count, 10);
	assert_int_equal(f->ndestroy, 10);
}

static void test_table_full_early_drop(void **state)
{
	struct fixture *f = *state;
	int err, i;
	struct conn *c;

	/* Fill with ASSURED entries: nothing can be dropped -> ENOMEM. */
	for (i = 0; i < 100; i++) {
		c = add(f, "10.0.0.1", "10.0.0.2", (uint16_t)(1000 + i), 80, NULL, 500, &err);
		assert_non_null(c);
		c->status |= CT_S_ASSURED;
	}
	assert_null(add(f, "10.0.0.9", "10.0.0.2", 1, 80, NULL, 500, &err));
	assert_int_equal(err, -ENOMEM);
	assert_int_equal(f->t.count, 100);
	/* Make them droppable: the next insert evicts a bucket's worth. */
	for (uint32_t b = 0; b < f->t.nbuckets; b++)
		for (struct ct_thash *h = f->t.buckets[b]; h; h = h->next)
			conn_of(h)->status &= ~CT_S_ASSURED;
	assert_non_null(add(f, "10.0.0.9", "10.0.0.2", 1, 80, NULL, 500, &err));
	assert_true(f->t.stats.cpu.early_drop >= 1);
	assert_int_equal(f->t.count, 100 - f->t.stats.cpu.early_drop + 1);
}

static void test_refs_and_dying_list(void **state)
{
	struct fixture *f = *state;
	int err;
	struct conn *c = add(f, "1.1.1.1", "2.2.2.2", 10, 20, NULL, 60, &err);

	conn_get(c);
	assert_int_equal(c->use, 2);
	assert_true(ct_table_delete(&f->t, c, 0, false));
	assert_false(ct_table_delete(&f->t, c, 0, false));	/* already dying */
	assert_true(c->status & CT_S_DYING);
	assert_ptr_equal(f->t.dying, c);
	assert_int_equal(f->t.count, 1);	/* still allocated */
	conn_put(&f->t, c);
	assert_null(f->t.dying);
	assert_int_equal(f->t.count, 0);
	assert_int_equal(f->ndestroy, 1);
}

static void test_ids_unique(void **state)
{
	struct fixture *f = *state;
	uint32_t ids[50];
	int err;

	for (int i = 0; i < 50; i++) {
		struct conn *c = add(f, "10.1.0.1", "10.1.0.2", (uint16_t)(2000 + i), 80, NULL, 60, &err);

		assert_non_null(c);
		ids[i] = c->id;
		for (int j = 0; j < i; j++)
			assert_int_not_equal(ids[i], ids[j]);
	}
}

static void test_events_mode_auto(void **state)
{
	struct fixture *f = *state;
	int err;
	struct conn *c;

	/* nf_conntrack_events=2: no listener at creation, no events ever. */
	f->ev.mode = 2;
	f->ev.listeners = 0;
	c = add(f, "1.1.1.1", "2.2.2.2", 10, 20, NULL, 60, &err);
	f->ev.listeners = 1;
	ct_table_delete(&f->t, c, 0, false);
	assert_int_equal(f->ndestroy, 0);
	c = add(f, "1.1.1.1", "2.2.2.2", 10, 20, NULL, 60, &err);
	ct_table_delete(&f->t, c, 0, false);
	assert_int_equal(f->ndestroy, 1);
}

/* ct_dump_fn: count, and stop (returning 7) at the @stop_at-th entry. */
struct dump_count {
	unsigned n, stop_at;
	struct conn *first;
};

static int dump_count(struct ct_table *t, struct conn *c, void *arg)
{
	struct dump_count *d = arg;

	(void)t;
	if (!d->first)
		d->first = c;
	if (++d->n == d->stop_at)
		return 7;
	return 0;
}

static unsigned orig_in_bucket(const struct ct_table *t, uint32_t b)
{
	unsigned n = 0;

	for (const struct ct_thash *h = t->buckets[b]; h; h = h->next)
		n += h->dir == CT_DIR_ORIG;
	return n;
}

/* ctnetlink_dump_table(): expired entries met are killed (DESTROY), the
 * others shown; a walk stops where @fn says, and resumes at an entry, or
 * from the bucket's start when that entry went away. */
static void test_dump_reaps_and_resumes(void **state)
{
	struct fixture *f = *state;
	struct dump_count d = { 0 };
	struct conn *c, *resume;
	uint32_t b;
	int err;

	for (uint16_t p = 1; p <= 13; p++)
		assert_non_null(add(f, "1.1.1.1", "2.2.2.2", p, 80, NULL, p <= 3 ? 5 : 60, &err));
	ct_clock_advance(&f->clock, 10 * CT_NSEC_PER_SEC);
	ct_table_tick(&f->t);
	f->ndestroy = 0;
	assert_int_equal(ct_table_dump(&f->t, dump_count, &d), 0);
	assert_int_equal(d.n, 10);
	assert_int_equal(f->ndestroy, 3);
	assert_int_equal(f->t.count, 10);

	d = (struct dump_count){ .stop_at = 4 };
	assert_int_equal(ct_table_dump(&f->t, dump_count, &d), 7);
	assert_int_equal(d.n, 4);

	for (b = 0; !orig_in_bucket(&f->t, b); b++)
		;
	c = conn_of(f->t.buckets[b]);
	/* resumed at an entry still there: the walk starts with it */
	conn_get(c);
	resume = c;
	d = (struct dump_count){ 0 };
	assert_int_equal(ct_table_dump_bucket(&f->t, b, &resume, dump_count, &d), 0);
	assert_ptr_equal(d.first, c);
	assert_ptr_equal(resume, c);
	conn_put(&f->t, c);
	/* resumed at an entry that went away: its reference is dropped and
	 * the whole bucket is walked */
	conn_get(c);
	resume = c;
	assert_true(ct_table_delete(&f->t, c, 0, false));
	d = (struct dump_count){ 0 };
	assert_int_equal(ct_table_dump_bucket(&f->t, b, &resume, dump_count, &d), 0);
	assert_null(resume);
	assert_int_equal(d.n, orig_in_bucket(&f->t, b));
	assert_int_equal(f->t.count, 9);
}

static void test_settings(void **state)
{
	struct ct_settings s;
	char err[128];

	(void)state;
	ct_settings_init(&s);
	assert_int_equal(s.max, 262144);
	assert_int_equal(s.tcp_timeout[CT_TCP_ESTABLISHED], 432000);
	assert_int_equal(ct_settings_set(&s, "net.netfilter.nf_conntrack_max", "10", err, sizeof(err)), 0);
	assert_int_equal(s.max, 10);
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_events", "3", err, sizeof(err)), -2);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_nope", "3", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown setting"));
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_acct", "x1", err, sizeof(err)), -2);
	assert_int_equal(ct_settings_timeout(&s, AF_INET, IPPROTO_UDP, 0), 30);
	assert_int_equal(ct_settings_timeout(&s, AF_INET, 200, 0), 600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_find_both_directions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clash_on_either_tuple, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zones_coexist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_is_lazy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_reaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_full_early_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refs_and_dying_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_unique, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_mode_auto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_reaps_and_resumes, setup, teardown),
		cmocka_unit_test(test_settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
