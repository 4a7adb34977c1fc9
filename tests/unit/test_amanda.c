/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_amanda.c — the Amanda helper (helpers/amanda.c, nf_conntrack_amanda.c):
 * the reply's "CONNECT DATA p MESG p INDEX p" line expects TCP connections
 * from the server to the client's ports (max 3, 180 s), the master is
 * refreshed to 300 s; the data connection is RELATED; the original
 * direction, malformed lines, port 0, overflowing numbers, every
 * truncation of a reply (in an exactly sized buffer) expect nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctsim/core/expect.h"
#include "ctsim/core/helper.h"
#include "ctsim/core/pipeline.h"
#define CT_HARNESS_FIXTURE
#include "harness.h"

#define SRV "10.0.0.1"		/* the Amanda server: the master's original source */
#define CLI "10.0.0.2"		/* the Amanda client, UDP 10080 */

static struct conn *am_master(struct fixture *f, const char *src, const char *dst, uint16_t sport)
{
	return h_master(&f->h, src, dst, IPPROTO_UDP, sport, 10080, "amanda");
}

/* The client's reply (reply direction of @m) carrying @s (@n bytes). */
static int reply(struct fixture *f, struct conn *m, const void *s, size_t n)
{
	const struct ct_tuple *t = &m->th[CT_DIR_REPLY].tuple;
	char a[64], b[64];

	inet_ntop(t->l3num, &t->src, a, sizeof(a));
	inet_ntop(t->l3num, &t->dst, b, sizeof(b));
	return help(f, m, CT_DIR_REPLY, h_udp(a, b, t->sport, t->dport, s, n));
}

static int reply_str(struct fixture *f, struct conn *m, const char *s)
{
	return reply(f, m, s, strlen(s));
}

static unsigned secs_left(struct fixture *f, const struct conn *c)
{
	return (unsigned)((c->expires - f->h.table.now + CT_NSEC_PER_SEC / 2) / CT_NSEC_PER_SEC);
}

/* Is TCP @src, any port -> @dst:@dport expected from @m (class 0, 180 s)? */
static void assert_expected(struct fixture *f, struct conn *m, const char *src, const char *dst,
			    uint16_t dport)
{
	struct ct_tuple t = { .src = h_addr(src), .dst = h_addr(dst), .sport = 33333, .dport = dport,
			      .l3num = strchr(src, ':') ? AF_INET6 : AF_INET, .l4num = IPPROTO_TCP };
	struct ct_expect *e = ct_expect_find(&f->h.table, &t, 0);

	assert_non_null(e);
	assert_ptr_equal(e->master, m);
	assert_int_equal(e->mask.sport, 0);
	assert_int_equal(e->tuple.dport, dport);
	assert_int_equal(e->class, 0);
	assert_int_equal(e->flags, 0);
	assert_null(e->helper);
	assert_int_equal(ct_expect_timeout_left(&f->h.table, e), 180);
	/* from the server's address only */
	t.src = h_addr(strchr(src, ':') ? "fd00::99" : "10.0.0.99");
	assert_null(ct_expect_find(&f->h.table, &t, 0));
}

#define GOOD "Amanda 2.4 REP HANDLE 000-00000000 SEQ 1\nCONNECT DATA 50000 MESG 50001 INDEX 50002\nOPTIONS features=ff;\n"

static void test_registered(void **state)
{
	const struct ct_helper *h = ct_helper_find("amanda", 0, IPPROTO_UDP);

	(void)state;
	assert_ptr_equal(h, &ct_helper_amanda);
	assert_int_equal(h->expect_class_max, 0);
	assert_int_equal(h->policy[0].max_expected, 3);
	assert_int_equal(h->policy[0].timeout, 180);
	assert_null(ct_helper_find("amanda", 0, IPPROTO_TCP));
	assert_ptr_equal(ct_helper_find("sane", 0, IPPROTO_TCP), &ct_helper_sane);
	assert_null(ct_helper_find("sane", 0, IPPROTO_UDP));
	assert_ptr_equal(ct_helper_find("netbios-ns", 0, IPPROTO_UDP), &ct_helper_netbios_ns);
	assert_ptr_equal(ct_helper_find("snmp", 0, IPPROTO_UDP), &ct_helper_snmp);
	assert_null(ct_helper_find("netbios_ns", 0, IPPROTO_UDP));	/* the alias is not a name */
}

static void test_connect(void **state)
{
	struct fixture *f = *state;
	struct conn *m = am_master(f, SRV, CLI, 850);

	assert_int_equal(reply_str(f, m, GOOD), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 3);
	assert_int_equal(f->exp_new, 3);
	assert_expected(f, m, SRV, CLI, 50000);
	assert_expected(f, m, SRV, CLI, 50001);
	assert_expected(f, m, SRV, CLI, 50002);
	assert_int_equal(secs_left(f, m), 300);	/* master_timeout */
	/* the same reply again replaces them (same master and class) */
	assert_int_equal(reply_str(f, m, GOOD), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 3);
	/* a fourth port evicts the oldest (max_expected 3) */
	assert_int_equal(reply_str(f, m, "CONNECT INDEX 50003\n"), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 3);
	assert_expected(f, m, SRV, CLI, 50003);
}

static void test_original_direction_ignored(void **state)
{
	struct fixture *f = *state;
	struct conn *m = am_master(f, SRV, CLI, 851);

	h_advance(&f->h, 1);
	assert_int_equal(help(f, m, CT_DIR_ORIG, h_udp(SRV, CLI, 851, 10080, GOOD, strlen(GOOD))),
			 CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 0);
	assert_int_equal(secs_left(f, m), 299);	/* not refreshed */
	/* an empty reply refreshes the master but expects nothing */
	assert_int_equal(reply(f, m, "", 0), CT_ACCEPT);
	assert_int_equal(secs_left(f, m), 300);
	assert_int_equal(h_nexp(&f->h), 0);
}

static void test_parse_rules(void **state)
{
	struct fixture *f = *state;
	struct conn *m;

	/* CONNECT on the first line; keywords in any order; MESG missing */
	m = am_master(f, SRV, CLI, 852);
	assert_int_equal(reply_str(f, m, "CONNECT INDEX 6002 DATA 6000\n"), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 2);
	assert_expected(f, m, SRV, CLI, 6000);
	assert_expected(f, m, SRV, CLI, 6002);
	/* a bad MESG stops the loop: DATA kept, INDEX not read */
	m = am_master(f, SRV, CLI, 853);
	assert_int_equal(reply_str(f, m, "x\nCONNECT DATA 6100 MESG none INDEX 6102\n"), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 3);
	assert_expected(f, m, SRV, CLI, 6100);
	/* at most five characters: 123456 is 12345; 65535 is fine */
	m = am_master(f, SRV, CLI, 854);
	assert_int_equal(reply_str(f, m, "CONNECT DATA 123456 MESG 65535\r\n"), CT_ACCEPT);
	assert_expected(f, m, SRV, CLI, 12345);
	assert_expected(f, m, SRV, CLI, 65535);
	/* leading zeros */
	m = am_master(f, SRV, CLI, 855);
	assert_int_equal(reply_str(f, m, "CONNECT DATA 00080\n"), CT_ACCEPT);
	assert_expected(f, m, SRV, CLI, 80);
	/* the number ends at the newline: "DATA 12\n345" is 12 */
	m = am_master(f, SRV, CLI, 856);
	assert_int_equal(reply_str(f, m, "CONNECT DATA 12\n345"), CT_ACCEPT);
	assert_expected(f, m, SRV, CLI, 12);
	assert_int_equal(f->h.table.expect->helper_errors, 0);
}

static void test_hostile(void **state)
{
	static const char *const bad[] = {
		"CONNECT DATA 50000 MESG 50001 INDEX 50002",	/* no newline */
		"CONNECT DATA 0 MESG 50001 INDEX 50002\n",	/* port 0 stops */
		"CONNECT DATA x50000\n",
		"CONNECT DATA  50000\n",			/* blank: no number */
		"CONNECT DATA -5\n",
		"CONNECT DATA +5\n",
		"DATA 50000\nCONNECT OPTIONS\nMESG 50001\n",	/* outside the line */
		"connect DATA 50000\n",
		"CONNECT data 50000\n",
		"CONNECT DATA\n 50000\n",
		"CONNECT \n",
		"CONNECT",
		"CONNECT DATA 70000\n",				/* hardening: the kernel wraps to 4464 */
		"CONNECT DATA 65536\n",				/* the kernel: 0, stop */
		"CONNECT DATA 99999 MESG 50001\n",
		"\n\n\n\n",
		"CONNECT DATA ",
		"CONNECT DATA 5",				/* no newline */
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct conn *m = am_master(f, SRV, CLI, (uint16_t)(900 + i));

		assert_int_equal(reply_str(f, m, bad[i]), CT_ACCEPT);
		if (h_nexp(&f->h)) {
			print_error("expected something from \"%s\"\n", bad[i]);
			fail();
		}
	}
	assert_int_equal(f->h.table.expect ? f->h.table.expect->helper_errors : 0, 3);
	/* NULs are ordinary bytes: CONNECT after one is still found */
	{
		static const char nul[] = "Amanda\0REP\nCONNECT DATA 7000\n";
		struct conn *m = am_master(f, SRV, CLI, 999);

		assert_int_equal(reply(f, m, nul, sizeof(nul) - 1), CT_ACCEPT);
		assert_expected(f, m, SRV, CLI, 7000);
	}
}

/* Every truncation of a valid reply: nothing until the line's newline is
 * in, then all three; no read past the packet (ASan). */
static void test_every_truncation(void **state)
{
	struct fixture *f = *state;
	const char *msg = GOOD;
	size_t full = strlen(msg), nl = (size_t)(strstr(msg, "INDEX 50002\n") - msg) + 11;

	for (size_t n = 0; n <= full; n++) {
		struct conn *m = am_master(f, SRV, CLI, (uint16_t)(20000 + n));
		unsigned want = n > nl ? 3 : 0;

		assert_int_equal(reply(f, m, msg, n), CT_ACCEPT);
		assert_int_equal(ct_expect_count_master(&f->h.table, m, 0), want);
		ct_expect_remove_master(&f->h.table, m, 0, false);
	}
}

static void test_failed_insertion_drops(void **state)
{
	struct fixture *f = *state;
	struct conn *m1 = am_master(f, SRV, CLI, 860), *m2 = am_master(f, SRV, CLI, 861);

	assert_int_equal(reply_str(f, m1, "CONNECT DATA 7100\n"), CT_ACCEPT);
	/* the same tuple from another master: -EALREADY, drop; the loop goes on */
	assert_int_equal(reply_str(f, m2, "CONNECT DATA 7100 MESG 7101\n"), CT_DROP);
	assert_int_equal(ct_expect_count_master(&f->h.table, m1, 0), 1);
	assert_int_equal(ct_expect_count_master(&f->h.table, m2, 0), 1);
	assert_expected(f, m2, SRV, CLI, 7101);
}

static void test_ipv6(void **state)
{
	struct fixture *f = *state;
	struct conn *m = am_master(f, "fd00::1", "fd00::2", 870);

	assert_int_equal(reply_str(f, m, GOOD), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 3);
	assert_expected(f, m, "fd00::1", "fd00::2", 50001);
}

/* Through the pipeline: the server's SYN to the DATA port is RELATED. */
static void test_data_connection_related(void **state)
{
	struct fixture *f = *state;
	struct conn *m = am_master(f, SRV, CLI, 880);
	uint8_t l4[20] = { 0 };
	struct h_packet p;
	struct ct_skb skb;
	int v;

	assert_int_equal(reply_str(f, m, GOOD), CT_ACCEPT);
	h_w16(l4, 41000);
	h_w16(l4 + 2, 50000);
	h_w32(l4 + 4, 1);
	l4[12] = 5 << 4;
	l4[13] = CT_TCP_SYN;
	h_w16(l4 + 14, 65535);
	p = h_build(SRV, CLI, IPPROTO_TCP, l4, sizeof(l4));
	ct_skb_init(&skb, p.buf, p.len);
	v = ct_in(&f->h.core, &skb, CT_HOOK_PREROUTING);
	assert_int_equal(v, CT_ACCEPT);
	assert_string_equal(ct_skb_state_name(&skb), "related");
	assert_int_equal(ct_confirm(&f->h.core, &skb), CT_ACCEPT);
	assert_non_null(skb.ct);
	assert_non_null(skb.ct->ext);
	assert_ptr_equal(skb.ct->ext->master_ct, m);
	assert_true(skb.ct->status & CT_S_EXPECTED);
	ct_skb_done(&f->h.core, &skb, false);
	assert_int_equal(h_nexp(&f->h), 2);
}

int main(void)
{
	ct_helpers_register_builtin();	/* the *_registered tests have no fixture */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registered),
		cmocka_unit_test_setup_teardown(test_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_original_direction_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_insertion_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_connection_related, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
