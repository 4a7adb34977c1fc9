/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_overflow.c — the table-full path (ctsim/core/overflow.c): the
 * kernel's refusal with its ratelimited log line, the GC's early-drop mode,
 * the chain limit, and which entry each overflow policy evicts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "ctsim/core/event.h"
#include "ctsim/core/table.h"

struct fixture {
	struct ct_settings s;
	struct ct_clock clock;
	struct ct_events ev;
	struct ct_table t;
	unsigned nlog, nsuppressed_lines;
	char last[128];
};

static void log_line(void *arg, const char *line)
{
	struct fixture *f = arg;

	f->nlog++;
	if (strstr(line, "callbacks suppressed"))
		f->nsuppressed_lines++;
	snprintf(f->last, sizeof(f->last), "%s", line);
}

static struct fixture fx;

static int setup_with(void **state, uint32_t max, uint32_t buckets)
{
	memset(&fx, 0, sizeof(fx));
	ct_settings_init(&fx.s);
	fx.s.buckets = buckets;
	fx.s.max = max;
	fx.s.overflow_scan = 0;		/* policies scan the whole (small) table */
	ct_clock_init_virtual(&fx.clock, 1700000000ull * CT_NSEC_PER_SEC);
	assert_int_equal(ct_table_init(&fx.t, &fx.s, &fx.clock, &fx.ev, 4242), 0);
	fx.t.log = log_line;
	fx.t.log_arg = &fx;
	*state = &fx;
	return 0;
}

static int setup(void **state) { return setup_with(state, 4, 4); }
static int setup_one_bucket(void **state) { return setup_with(state, 1000, 1); }
static int setup_gc(void **state) { return setup_with(state, 100, 16); }
static int setup_big(void **state) { return setup_with(state, 10000, 1024); }

static int teardown(void **state)
{
	struct fixture *f = *state;

	ct_table_destroy(&f->t);
	return 0;
}

static void advance(struct fixture *f, unsigned secs)
{
	ct_clock_advance(&f->clock, (uint64_t)secs * CT_NSEC_PER_SEC);
	ct_table_tick(&f->t);
}

static struct ct_tuple tuple(uint8_t l4, uint16_t sport)
{
	struct ct_tuple t;

	memset(&t, 0, sizeof(t));
	inet_pton(AF_INET, "10.0.0.1", &t.src.ip);
	inet_pton(AF_INET, "10.0.0.2", &t.dst.ip);
	t.sport = sport;
	t.dport = 80;
	t.l3num = AF_INET;
	t.l4num = l4;
	return t;
}

/* A confirmed entry with the timeout its state gets from the settings (as a
 * packet would set it now), or NULL if the table refused it. */
static struct conn *add(struct fixture *f, uint8_t l4, uint16_t sport, uint8_t state, uint32_t status)
{
	struct ct_tuple o = tuple(l4, sport), r;
	struct ct_zone z = { 0, CT_ZONE_DIR_BOTH };
	struct conn *c;

	assert_true(ct_tuple_invert(&o, &r));
	c = conn_alloc(&f->t, &o, &r, &z);
	if (!c)
		return NULL;
	if (l4 == IPPROTO_TCP)
		c->proto.tcp.state = state;
	else if (l4 == IPPROTO_SCTP)
		c->proto.sctp.state = state;
	c->status |= CT_S_CONFIRMED | status;
	conn_set_timeout(&f->t, c, l4 == IPPROTO_UDP && (status & CT_S_ASSURED) ?
			 f->s.udp_timeout_stream : ct_settings_timeout(&f->s, AF_INET, l4, state));
	assert_int_equal(ct_table_insert(&f->t, c), 0);
	return c;
}

static bool present(struct fixture *f, uint8_t l4, uint16_t sport)
{
	struct ct_tuple o = tuple(l4, sport);

	return ct_table_find(&f->t, &o, NULL, CT_DIR_ORIG, NULL) != NULL;
}

#define A (CT_S_ASSURED | CT_S_SEEN_REPLY)

/* The kernel: a table of ASSURED entries refuses, logs, raises the GC flag. */
static void test_kernel_refuses_and_logs(void **state)
{
	struct fixture *f = *state;

	for (uint16_t p = 1; p <= 4; p++)
		assert_non_null(add(f, IPPROTO_TCP, p, CT_TCP_TIME_WAIT, A));
	assert_null(add(f, IPPROTO_TCP, 100, CT_TCP_SYN_SENT, 0));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(f->t.count, 4);
	assert_int_equal(f->t.stats.cpu.early_drop, 0);
	assert_true(f->t.gc_early_drop);
	assert_int_equal(f->t.ovf.refused, 1);
	assert_int_equal(f->nlog, 1);
	assert_string_equal(f->last, CT_TABLE_FULL_MSG);
	/* early_drop() takes a non-ASSURED entry before refusing (8
	 * buckets from the new tuple's cover all 4) */
	conn_of(f->t.buckets[0] ? f->t.buckets[0] : f->t.buckets[1] ? f->t.buckets[1] :
		f->t.buckets[2] ? f->t.buckets[2] : f->t.buckets[3])->status &= ~CT_S_ASSURED;
	assert_non_null(add(f, IPPROTO_TCP, 100, CT_TCP_SYN_SENT, 0));
	assert_int_equal(f->t.stats.cpu.early_drop, 1);
	assert_int_equal(f->t.ovf.early_dropped[CT_OVC_TCP_TIME_WAIT], 1);
	assert_int_equal(f->t.ovf.refused, 1);
}

/* net_ratelimit(): 10 lines per 5 s, then "N callbacks suppressed". */
static void test_log_ratelimit(void **state)
{
	struct fixture *f = *state;

	for (uint16_t p = 1; p <= 4; p++)
		assert_non_null(add(f, IPPROTO_UDP, p, 0, A));
	for (int i = 0; i < 15; i++)
		assert_null(add(f, IPPROTO_UDP, (uint16_t)(100 + i), 0, 0));
	assert_int_equal(f->t.ovf.refused, 15);
	assert_int_equal(f->t.ovf.logged, 10);
	assert_int_equal(f->t.ovf.suppressed, 5);
	assert_int_equal(f->nlog, 10);
	advance(f, 5);
	assert_null(add(f, IPPROTO_UDP, 300, 0, 0));
	assert_int_equal(f->nsuppressed_lines, 1);
	assert_int_equal(f->nlog, 12);
	assert_string_equal(f->last, CT_TABLE_FULL_MSG);
}

/* wait-first: TIME_WAIT, then the other closing states, never ESTABLISHED. */
static void test_wait_first(void **state)
{
	struct fixture *f = *state;

	f->s.overflow_policy = CT_OVF_WAIT_FIRST;
	assert_non_null(add(f, IPPROTO_TCP, 1, CT_TCP_ESTABLISHED, A));
	advance(f, 10);
	assert_non_null(add(f, IPPROTO_TCP, 2, CT_TCP_CLOSE_WAIT, A));
	assert_non_null(add(f, IPPROTO_TCP, 3, CT_TCP_TIME_WAIT, A));
	assert_non_null(add(f, IPPROTO_UDP, 4, 0, A));
	assert_non_null(add(f, IPPROTO_TCP, 10, CT_TCP_SYN_SENT, 0));
	assert_false(present(f, IPPROTO_TCP, 3));
	assert_true(present(f, IPPROTO_TCP, 2));
	assert_int_equal(f->t.ovf.evicted[CT_OVC_TCP_TIME_WAIT], 1);
	/* the SYN_SENT entry is non-ASSURED: make everything ASSURED so the
	 * kernel's early drop finds nothing next time */
	for (unsigned b = 0; b < f->t.nbuckets; b++)
		for (struct ct_thash *h = f->t.buckets[b]; h; h = h->next)
			conn_of(h)->status |= CT_S_ASSURED;
	assert_non_null(add(f, IPPROTO_TCP, 11, CT_TCP_SYN_SENT, A));
	assert_false(present(f, IPPROTO_TCP, 2));
	assert_int_equal(f->t.ovf.evicted[CT_OVC_TCP_CLOSING], 1);
	/* now only ESTABLISHED, UDP and opening entries: refused */
	assert_null(add(f, IPPROTO_TCP, 12, CT_TCP_SYN_SENT, A));
	assert_true(present(f, IPPROTO_TCP, 1));
	assert_int_equal(f->t.stats.cpu.early_drop, 0);
}

/* min-lifetime: only an ASSURED entry idle longer than the minimum. */
static void test_min_lifetime(void **state)
{
	struct fixture *f = *state;

	f->s.overflow_policy = CT_OVF_MIN_LIFETIME;
	f->s.overflow_min_lifetime = 60;
	assert_non_null(add(f, IPPROTO_TCP, 1, CT_TCP_ESTABLISHED, A));
	advance(f, 50);
	assert_non_null(add(f, IPPROTO_TCP, 2, CT_TCP_ESTABLISHED, A));
	assert_non_null(add(f, IPPROTO_UDP, 3, 0, A));
	assert_non_null(add(f, IPPROTO_UDP, 4, 0, A));
	assert_null(add(f, IPPROTO_UDP, 5, 0, A));	/* idle 50 s at most */
	advance(f, 20);					/* entry 1: idle 70 s */
	assert_non_null(add(f, IPPROTO_UDP, 5, 0, A));
	assert_false(present(f, IPPROTO_TCP, 1));
	assert_true(present(f, IPPROTO_TCP, 2));
	assert_int_equal(f->t.ovf.evicted_assured, 1);
	assert_null(add(f, IPPROTO_UDP, 6, 0, A));	/* the rest idle 20 s */
}

/* no-nat-first: an entry without a NAT binding, never a NATed one. */
static void test_no_nat_first(void **state)
{
	struct fixture *f = *state;

	f->s.overflow_policy = CT_OVF_NO_NAT_FIRST;
	assert_non_null(add(f, IPPROTO_TCP, 1, CT_TCP_ESTABLISHED, A | CT_S_SRC_NAT | CT_S_SRC_NAT_DONE));
	assert_non_null(add(f, IPPROTO_TCP, 2, CT_TCP_ESTABLISHED, A | CT_S_DST_NAT | CT_S_DST_NAT_DONE));
	advance(f, 5);
	assert_non_null(add(f, IPPROTO_TCP, 3, CT_TCP_ESTABLISHED, A | CT_S_SRC_NAT_DONE));
	assert_non_null(add(f, IPPROTO_TCP, 4, CT_TCP_ESTABLISHED, A));
	assert_non_null(add(f, IPPROTO_TCP, 5, CT_TCP_ESTABLISHED, A));
	assert_true(present(f, IPPROTO_TCP, 1));
	assert_true(present(f, IPPROTO_TCP, 2));
	assert_int_equal(f->t.ovf.evicted_nat, 0);
	assert_int_equal(f->t.ovf.evicted[CT_OVC_TCP_ESTABLISHED], 1);
	/* a null binding (NAT_DONE without SRC_NAT) is no binding */
	assert_true(!present(f, IPPROTO_TCP, 3) || !present(f, IPPROTO_TCP, 4));
}

/* lru: the least recently used entry, whatever its state. */
static void test_lru(void **state)
{
	struct fixture *f = *state;

	f->s.overflow_policy = CT_OVF_LRU;
	assert_non_null(add(f, IPPROTO_TCP, 1, CT_TCP_TIME_WAIT, A));
	advance(f, 1);
	assert_non_null(add(f, IPPROTO_TCP, 2, CT_TCP_ESTABLISHED, A));
	advance(f, 1);
	assert_non_null(add(f, IPPROTO_UDP, 3, 0, A));
	assert_non_null(add(f, IPPROTO_UDP, 4, 0, A));
	advance(f, 1);
	assert_non_null(add(f, IPPROTO_UDP, 5, 0, A));
	assert_false(present(f, IPPROTO_TCP, 1));
	assert_non_null(add(f, IPPROTO_UDP, 6, 0, A));
	assert_false(present(f, IPPROTO_TCP, 2));
	assert_true(present(f, IPPROTO_UDP, 3));
}

/* gc_worker_can_early_drop(): non-ASSURED, TCP closing, SCTP shutdown. */
static void test_can_early_drop(void **state)
{
	static const struct { uint8_t l4, state; uint32_t status; bool can; } rows[] = {
		{ IPPROTO_TCP, CT_TCP_SYN_SENT, 0, true },
		{ IPPROTO_TCP, CT_TCP_ESTABLISHED, A, false },
		{ IPPROTO_TCP, CT_TCP_FIN_WAIT, A, true },
		{ IPPROTO_TCP, CT_TCP_CLOSE_WAIT, A, true },
		{ IPPROTO_TCP, CT_TCP_LAST_ACK, A, true },
		{ IPPROTO_TCP, CT_TCP_TIME_WAIT, A, true },
		{ IPPROTO_TCP, CT_TCP_CLOSE, A, true },
		{ IPPROTO_TCP, CT_TCP_SYN_RECV, A, false },
		{ IPPROTO_UDP, 0, A, false },
		{ IPPROTO_UDP, 0, 0, true },
		{ IPPROTO_SCTP, CT_SCTP_ESTABLISHED, A, false },
		{ IPPROTO_SCTP, CT_SCTP_SHUTDOWN_SENT, A, true },
		{ IPPROTO_SCTP, CT_SCTP_SHUTDOWN_RECD, A, true },
		{ IPPROTO_SCTP, CT_SCTP_SHUTDOWN_ACK_SENT, A, true },
		{ IPPROTO_GRE, 0, A, false },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct conn c;

		memset(&c, 0, sizeof(c));
		c.th[0].tuple = tuple(rows[i].l4, 1);
		c.status = rows[i].status;
		if (rows[i].l4 == IPPROTO_TCP)
			c.proto.tcp.state = rows[i].state;
		else
			c.proto.sctp.state = rows[i].state;
		assert_int_equal(ct_can_early_drop(&c), rows[i].can);
	}
}

/* After a refusal the GC kills what it may, down to below 95 % of max. */
static void test_gc_early_drop_mode(void **state)
{
	struct fixture *f = *state;

	for (uint16_t p = 1; p <= 90; p++)
		assert_non_null(add(f, IPPROTO_UDP, p, 0, A));
	for (uint16_t p = 101; p <= 110; p++)
		assert_non_null(add(f, IPPROTO_TCP, p, CT_TCP_LAST_ACK, A));
	assert_int_equal(ct_table_gc(&f->t, f->t.nbuckets), 0);	/* no event yet */
	assert_null(add(f, IPPROTO_UDP, 500, 0, 0));
	assert_true(f->t.gc_early_drop);
	assert_int_equal(ct_table_gc(&f->t, f->t.nbuckets), 6);
	assert_int_equal(f->t.count, 94);
	assert_int_equal(f->t.ovf.gc_killed[CT_OVC_TCP_CLOSING], 6);
	assert_false(f->t.gc_early_drop);	/* a whole pass cleared the flag */
	assert_int_equal(ct_table_gc(&f->t, f->t.nbuckets), 0);
}

/* gc_worker() stops a run after GC_SCAN_EXPIRED_MAX (256 at HZ 250)
 * expired or killed entries; the next run, a jiffy later, has next_run != 0
 * behind it: the flag is down, so one table-full event kills about 257. */
static void test_gc_kill_budget(void **state)
{
	struct fixture *f = *state;

	for (uint16_t p = 1; p <= 9000; p++)
		assert_non_null(add(f, IPPROTO_UDP, p, 0, A));
	for (uint16_t p = 10001; p <= 11000; p++)
		assert_non_null(add(f, IPPROTO_TCP, p, CT_TCP_TIME_WAIT, A));
	assert_null(add(f, IPPROTO_UDP, 30000, 0, 0));
	ct_table_gc(&f->t, f->t.nbuckets);
	assert_false(f->t.gc_early_drop);
	assert_true(f->t.count >= 10000 - 260 && f->t.count <= 10000 - 257);
	assert_true(f->t.count > 9500);	/* max95 not reached: the budget stopped it */
	ct_table_gc(&f->t, f->t.nbuckets);
	assert_true(f->t.count >= 10000 - 260);
}

/* ctsim_gc_pacing kernel: next_run from the average remaining lifetime. */
static void test_gc_next_run(void **state)
{
	struct fixture *f = *state;

	assert_non_null(add(f, IPPROTO_UDP, 1, 0, 0));	/* 30 s */
	ct_table_gc(&f->t, f->t.nbuckets);
	/* 100 phantom entries at 60 s, two nodes at 30 s: 60 - 2 * 30 / 102 */
	assert_true(f->t.gc_next_run > 59ull * CT_NSEC_PER_SEC &&
		    f->t.gc_next_run < 60ull * CT_NSEC_PER_SEC);
	for (uint16_t p = 2; p <= 90; p++)
		assert_non_null(add(f, IPPROTO_UDP, p, 0, 0));
	ct_table_gc(&f->t, f->t.nbuckets);
	assert_true(f->t.gc_next_run > 40ull * CT_NSEC_PER_SEC &&
		    f->t.gc_next_run < 50ull * CT_NSEC_PER_SEC);
	assert_string_equal(ct_gc_pacing_name(CT_GC_PACING_KERNEL), "kernel");
	assert_string_equal(ct_gc_pacing_name(CT_GC_PACING_AUTO), "auto");
	assert_null(ct_gc_pacing_name(3));
}

/* adaptive: pf's factor (end - count) / (end - start) on every timeout. */
static void test_adaptive(void **state)
{
	struct fixture *f = *state;

	f->s.overflow_policy = CT_OVF_ADAPTIVE;
	f->s.overflow_adaptive_start = 50;
	f->s.overflow_adaptive_end = 150;
	for (uint16_t p = 1; p <= 100; p++)	/* factor (150-100)/100 = 0.5 */
		assert_non_null(add(f, IPPROTO_UDP, p, 0, A));	/* 120 s -> 60 s */
	advance(f, 59);
	assert_int_equal(ct_table_gc(&f->t, f->t.nbuckets), 0);
	advance(f, 2);
	/* killed as the count falls, each at the factor of that moment: at
	 * 61 s idle an entry dies while (150 - count)/100 * 120 <= 61 */
	assert_true(ct_table_gc(&f->t, f->t.nbuckets) > 0);
	assert_true(f->t.count >= 98 && f->t.count < 100);
	assert_true(f->t.ovf.expired_adaptive > 0);
}

/* emergency: entered on a refusal; idle entries expire until recovery. */
static void test_emergency(void **state)
{
	struct fixture *f = *state;

	f->s.overflow_policy = CT_OVF_EMERGENCY;
	f->s.overflow_emergency_timeout = 10;
	f->s.overflow_emergency_recovery = 30;
	for (uint16_t p = 1; p <= 100; p++)
		assert_non_null(add(f, IPPROTO_TCP, p, CT_TCP_ESTABLISHED, A));
	advance(f, 5);
	assert_non_null(add(f, IPPROTO_TCP, 1000, CT_TCP_ESTABLISHED, A));	/* reuse */
	assert_true(f->t.emergency);
	assert_int_equal(f->t.ovf.emergency_entered, 1);
	assert_int_equal(f->t.count, 100);
	advance(f, 6);		/* the old ones idle 11 s, the new one 6 s */
	ct_table_gc(&f->t, f->t.nbuckets);
	assert_int_equal(f->t.count, 1);
	assert_true(present(f, IPPROTO_TCP, 1000));
	ct_table_gc(&f->t, f->t.nbuckets);
	assert_false(f->t.emergency);	/* 1 < 70 % of 100 */
}

/* __nf_conntrack_confirm()'s chain limit: chains up to 51 nodes always
 * pass, from 82 nodes on never. */
static void test_chain_too_long(void **state)
{
	struct fixture *f = *state;
	unsigned ok = 0;

	for (uint16_t p = 1; p <= 60; p++) {
		struct ct_tuple o = tuple(IPPROTO_UDP, p), r;
		struct ct_zone z = { 0, CT_ZONE_DIR_BOTH };
		struct conn *c;

		assert_true(ct_tuple_invert(&o, &r));
		c = conn_alloc(&f->t, &o, &r, &z);
		assert_non_null(c);
		c->status |= CT_S_CONFIRMED;
		if (ct_table_insert(&f->t, c) == 0) {
			ok++;
		} else {
			assert_true(ok >= 25);
			conn_free_unhashed(&f->t, c);
		}
	}
	assert_true(ok >= 26 && ok <= 41);
	assert_int_equal(f->t.stats.cpu.chaintoolong, 60 - ok);
}

/* Named values, located errors, the adaptive pair. */
static void test_settings(void **state)
{
	struct ct_settings s;
	char err[256];

	(void)state;
	ct_settings_init(&s);
	assert_int_equal(s.overflow_policy, CT_OVF_KERNEL);
	assert_int_equal(ct_settings_set(&s, "ctsim_overflow_policy", "wait-first", err, sizeof(err)), 0);
	assert_int_equal(s.overflow_policy, CT_OVF_WAIT_FIRST);
	assert_int_equal(ct_settings_set(&s, "ctsim_overflow_policy", "1", err, sizeof(err)), -2);
	assert_non_null(strstr(err, "is not one of kernel, wait-first"));
	assert_int_equal(s.overflow_policy, CT_OVF_WAIT_FIRST);
	assert_int_equal(ct_settings_set(&s, "ctsim_overflow_adaptive_end", "100", err, sizeof(err)), 0);
	assert_int_equal(ct_settings_set(&s, "ctsim_overflow_adaptive_start", "100", err, sizeof(err)), -2);
	assert_non_null(strstr(err, "must be below"));
	assert_int_equal(s.overflow_adaptive_start, 0);
	assert_int_equal(ct_settings_set(&s, "ctsim_overflow_emergency_recovery", "100", err, sizeof(err)), -2);
	for (uint32_t p = 0; p < CT_OVF_MAX; p++) {
		assert_non_null(ct_overflow_policy_name(p));
		assert_non_null(ct_overflow_policy_reason(p));
	}
	assert_null(ct_overflow_policy_name(CT_OVF_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kernel_refuses_and_logs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_ratelimit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_min_lifetime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_nat_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lru, setup, teardown),
		cmocka_unit_test(test_can_early_drop),
		cmocka_unit_test_setup_teardown(test_gc_early_drop_mode, setup_gc, teardown),
		cmocka_unit_test_setup_teardown(test_gc_kill_budget, setup_big, teardown),
		cmocka_unit_test_setup_teardown(test_gc_next_run, setup_gc, teardown),
		cmocka_unit_test_setup_teardown(test_adaptive, setup_gc, teardown),
		cmocka_unit_test_setup_teardown(test_emergency, setup_gc, teardown),
		cmocka_unit_test_setup_teardown(test_chain_too_long, setup_one_bucket, teardown),
		cmocka_unit_test(test_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
