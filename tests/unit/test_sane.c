/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_sane.c — the SANE helper (helpers/sane.c, nf_conntrack_sane.c): the
 * client's 8-byte SANE_NET_START arms the master; the daemon's SUCCESS
 * reply expects the client's data connection to the announced port (max
 * 1, 300 s). Wrong lengths, other commands, error statuses, a non-zero
 * half-word, port 0, the wrong direction, packets before ESTABLISHED and
 * every truncation of request and reply (exactly sized buffers) are checked.
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

#define CL "10.0.0.1"
#define SV "10.0.0.2"

/* A TCP segment with @optlen bytes of NOP options and @plen bytes of data. */
static struct h_packet tcp_seg(const char *src, const char *dst, uint16_t sport, uint16_t dport,
			       size_t optlen, const void *payload, size_t plen)
{
	uint8_t l4[1600] = { 0 };

	assert_true(optlen % 4 == 0 && optlen <= 40 && plen <= 1500);
	h_w16(l4, sport);
	h_w16(l4 + 2, dport);
	h_w32(l4 + 4, 1000);
	h_w32(l4 + 8, 5000);
	l4[12] = (uint8_t)(((20 + optlen) / 4) << 4);
	l4[13] = CT_TCP_ACK | CT_TCP_PSH;
	h_w16(l4 + 14, 65535);
	memset(l4 + 20, 1, optlen);
	memcpy(l4 + 20 + optlen, payload, plen);
	return h_build(src, dst, IPPROTO_TCP, l4, 20 + optlen + plen);
}

/* The helper of @m on one segment in @dir with ctinfo @ci, from a heap copy
 * of exactly the packet's size (ASan sees over-reads). */
static int seg_ci(struct fixture *f, struct conn *m, enum ct_dir dir, enum ct_info ci,
		  size_t optlen, const void *s, size_t n)
{
	const struct ct_tuple *t = &m->th[dir].tuple;
	char a[64], b[64];
	struct h_packet p;
	struct ct_skb skb;
	const char *reason = NULL;
	uint8_t *buf;
	int v;

	inet_ntop(t->l3num, &t->src, a, sizeof(a));
	inet_ntop(t->l3num, &t->dst, b, sizeof(b));
	p = tcp_seg(a, b, t->sport, t->dport, optlen, s, n);
	buf = malloc(p.len);
	assert_non_null(buf);
	memcpy(buf, p.buf, p.len);
	ct_skb_init(&skb, buf, p.len);
	assert_int_equal(ct_pkt_parse(&skb.pkt, &reason), 0);
	skb.ct = m;
	skb.ctinfo = ci;
	v = ct_helper_run(&f->h.core, &skb);
	free(buf);
	return v;
}

static int seg(struct fixture *f, struct conn *m, enum ct_dir dir, const void *s, size_t n)
{
	return seg_ci(f, m, dir, dir == CT_DIR_ORIG ? CT_INFO_ESTABLISHED : CT_INFO_ESTABLISHED_REPLY,
		      0, s, n);
}

static const uint8_t START[8] = { 0, 0, 0, 7, 0, 0, 0, 0 };
static const uint8_t OTHER[8] = { 0, 0, 0, 8, 0, 0, 0, 0 };	/* SANE_NET_GET_PARAMETERS */
/* status SUCCESS, zero, port 50000, byte order, resource "" */
static const uint8_t REPLY[16] = { 0, 0, 0, 0, 0, 0, 0xc3, 0x50, 0, 0, 0x12, 0x34, 0, 0, 0, 0 };

static struct conn *sane_master(struct fixture *f, const char *cl, const char *sv, uint16_t sport)
{
	return h_master(&f->h, cl, sv, IPPROTO_TCP, sport, 6566, "sane");
}

/* Is TCP @cl, any port -> @sv:@dport expected from @m? */
static void assert_expected(struct fixture *f, struct conn *m, const char *cl, const char *sv,
			    uint16_t dport)
{
	struct ct_tuple t = { .src = h_addr(cl), .dst = h_addr(sv), .sport = 12345, .dport = dport,
			      .l3num = strchr(cl, ':') ? AF_INET6 : AF_INET, .l4num = IPPROTO_TCP };
	struct ct_expect *e = ct_expect_find(&f->h.table, &t, 0);

	assert_non_null(e);
	assert_ptr_equal(e->master, m);
	assert_int_equal(e->class, 0);
	assert_int_equal(e->mask.sport, 0);
	assert_int_equal(ct_expect_timeout_left(&f->h.table, e), 300);
	t.src = h_addr(strchr(cl, ':') ? "fd00::99" : "10.0.0.99");
	assert_null(ct_expect_find(&f->h.table, &t, 0));
}

static void test_start(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sane_master(f, CL, SV, 45000);
	const struct ct_helper *h = ct_helper_find("sane", 0, IPPROTO_TCP);

	assert_int_equal(h->policy[0].max_expected, 1);
	assert_int_equal(h->policy[0].timeout, 300);
	assert_int_equal(seg(f, m, CT_DIR_ORIG, START, 8), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 0);
	assert_int_equal(seg(f, m, CT_DIR_REPLY, REPLY, sizeof(REPLY)), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 1);
	assert_expected(f, m, CL, SV, 50000);
	/* the state went back to NORMAL: the same reply again expects nothing new */
	ct_expect_remove_master(&f->h.table, m, 0, false);
	assert_int_equal(seg(f, m, CT_DIR_REPLY, REPLY, sizeof(REPLY)), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 0);
	/* a reply of exactly 8 bytes is enough; max 1: the newer evicts */
	assert_int_equal(seg(f, m, CT_DIR_ORIG, START, 8), CT_ACCEPT);
	assert_int_equal(seg(f, m, CT_DIR_REPLY, REPLY, 8), CT_ACCEPT);
	assert_int_equal(seg(f, m, CT_DIR_ORIG, START, 8), CT_ACCEPT);
	{
		uint8_t r[8] = { 0, 0, 0, 0, 0, 0, 0xc3, 0x51 };

		assert_int_equal(seg(f, m, CT_DIR_REPLY, r, 8), CT_ACCEPT);
	}
	assert_int_equal(h_nexp(&f->h), 1);
	assert_expected(f, m, CL, SV, 50001);
	/* TCP options before the data are skipped (th->doff) */
	ct_expect_remove_master(&f->h.table, m, 0, false);
	assert_int_equal(seg_ci(f, m, CT_DIR_ORIG, CT_INFO_ESTABLISHED, 12, START, 8), CT_ACCEPT);
	assert_int_equal(seg_ci(f, m, CT_DIR_REPLY, CT_INFO_ESTABLISHED_REPLY, 40, REPLY, 16),
			 CT_ACCEPT);
	assert_expected(f, m, CL, SV, 50000);
}

static void test_state_rules(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sane_master(f, CL, SV, 45001);
	uint8_t nine[9] = { 0, 0, 0, 7 };

	/* a reply without a START */
	assert_int_equal(seg(f, m, CT_DIR_REPLY, REPLY, 16), CT_ACCEPT);
	/* START of 9 bytes, and split in 4 + 4 */
	assert_int_equal(seg(f, m, CT_DIR_ORIG, nine, 9), CT_ACCEPT);
	assert_int_equal(seg(f, m, CT_DIR_REPLY, REPLY, 16), CT_ACCEPT);
	assert_int_equal(seg(f, m, CT_DIR_ORIG, START, 4), CT_ACCEPT);
	assert_int_equal(seg(f, m, CT_DIR_ORIG, START + 4, 4), CT_ACCEPT);
	assert_int_equal(seg(f, m, CT_DIR_REPLY, REPLY, 16), CT_ACCEPT);
	/* START then another command: disarmed */
	assert_int_equal(seg(f, m, CT_DIR_ORIG, START, 8), CT_ACCEPT);
	assert_int_equal(seg(f, m, CT_DIR_ORIG, OTHER, 8), CT_ACCEPT);
	assert_int_equal(seg(f, m, CT_DIR_REPLY, REPLY, 16), CT_ACCEPT);
	/* START then a request of another length: still armed */
	assert_int_equal(seg(f, m, CT_DIR_ORIG, START, 8), CT_ACCEPT);
	assert_int_equal(seg(f, m, CT_DIR_ORIG, nine, 9), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 0);
	/* a segment without data does not disarm either */
	assert_int_equal(seg(f, m, CT_DIR_REPLY, "", 0), CT_ACCEPT);
	assert_int_equal(seg(f, m, CT_DIR_REPLY, REPLY, 16), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 1);
	/* the daemon sends a START: the reply direction is never a command */
	ct_expect_remove_master(&f->h.table, m, 0, false);
	assert_int_equal(seg(f, m, CT_DIR_REPLY, START, 8), CT_ACCEPT);
	assert_int_equal(seg(f, m, CT_DIR_ORIG, REPLY, 16), CT_ACCEPT);
	assert_int_equal(seg(f, m, CT_DIR_REPLY, REPLY, 16), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 0);
	/* not ESTABLISHED (a NEW or RELATED packet): not looked at */
	assert_int_equal(seg_ci(f, m, CT_DIR_ORIG, CT_INFO_NEW, 0, START, 8), CT_ACCEPT);
	assert_int_equal(seg_ci(f, m, CT_DIR_ORIG, CT_INFO_RELATED, 0, START, 8), CT_ACCEPT);
	assert_int_equal(seg(f, m, CT_DIR_REPLY, REPLY, 16), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 0);
}

static void test_bad_replies(void **state)
{
	static const uint8_t bad[][8] = {
		{ 0, 0, 0, 3, 0, 0, 0xc3, 0x50 },	/* SANE_STATUS_DEVICE_BUSY */
		{ 0x80, 0, 0, 0, 0, 0, 0xc3, 0x50 },	/* status high bit */
		{ 0, 0, 0, 0, 0, 1, 0xc3, 0x50 },	/* zero != 0 */
		{ 0, 0, 0, 0, 1, 0, 0xc3, 0x50 },
		{ 0, 0, 0, 0, 0, 0, 0, 0 },		/* port 0: hardening */
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct conn *m = sane_master(f, CL, SV, (uint16_t)(46000 + i));

		assert_int_equal(seg(f, m, CT_DIR_ORIG, START, 8), CT_ACCEPT);
		assert_int_equal(seg(f, m, CT_DIR_REPLY, bad[i], 8), CT_ACCEPT);
		assert_int_equal(h_nexp(&f->h), 0);
		/* the state is back to NORMAL after the bad reply */
		assert_int_equal(seg(f, m, CT_DIR_REPLY, REPLY, 16), CT_ACCEPT);
		assert_int_equal(h_nexp(&f->h), 0);
	}
	assert_int_equal(f->h.table.expect ? f->h.table.expect->helper_errors : 0, 1);
}

/* Every truncation of the request and of the reply (exact buffers). */
static void test_every_truncation(void **state)
{
	struct fixture *f = *state;

	for (size_t n = 0; n <= sizeof(START); n++) {
		struct conn *m = sane_master(f, CL, SV, (uint16_t)(47000 + n));

		assert_int_equal(seg(f, m, CT_DIR_ORIG, START, n), CT_ACCEPT);
		assert_int_equal(seg(f, m, CT_DIR_REPLY, REPLY, sizeof(REPLY)), CT_ACCEPT);
		assert_int_equal(ct_expect_count_master(&f->h.table, m, 0), n == 8 ? 1 : 0);
		ct_expect_remove_master(&f->h.table, m, 0, false);
	}
	for (size_t n = 0; n <= sizeof(REPLY); n++) {
		struct conn *m = sane_master(f, CL, SV, (uint16_t)(48000 + n));

		assert_int_equal(seg(f, m, CT_DIR_ORIG, START, 8), CT_ACCEPT);
		assert_int_equal(seg(f, m, CT_DIR_REPLY, REPLY, n), CT_ACCEPT);
		assert_int_equal(ct_expect_count_master(&f->h.table, m, 0), n >= 8 ? 1 : 0);
		ct_expect_remove_master(&f->h.table, m, 0, false);
	}
}

static void test_failed_insertion_drops(void **state)
{
	struct fixture *f = *state;
	struct conn *m1 = sane_master(f, CL, SV, 45010), *m2 = sane_master(f, CL, SV, 45011);

	assert_int_equal(seg(f, m1, CT_DIR_ORIG, START, 8), CT_ACCEPT);
	assert_int_equal(seg(f, m1, CT_DIR_REPLY, REPLY, 16), CT_ACCEPT);
	assert_int_equal(seg(f, m2, CT_DIR_ORIG, START, 8), CT_ACCEPT);
	/* the same tuple from another master cannot be expected: drop */
	assert_int_equal(seg(f, m2, CT_DIR_REPLY, REPLY, 16), CT_DROP);
	assert_int_equal(h_nexp(&f->h), 1);
}

static void test_ipv6(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sane_master(f, "fd00::1", "fd00::2", 45020);

	assert_int_equal(seg(f, m, CT_DIR_ORIG, START, 8), CT_ACCEPT);
	assert_int_equal(seg(f, m, CT_DIR_REPLY, REPLY, 16), CT_ACCEPT);
	assert_expected(f, m, "fd00::1", "fd00::2", 50000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_insertion_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
