/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_expect.c — the expectation table (ctsim/core/expect.c) and the helpers
 * (helpers/ftp.c, helpers/tftp.c) on a virtual clock: create, match, evict
 * at max_expected, expire, removal with the master; FTP payload parsing
 * (PORT, EPRT, 227, 229, split commands, hostile input) and TFTP.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "ctsim/core/expect.h"
#include "ctsim/core/helper.h"
#include "ctsim/core/pipeline.h"
#define CT_HARNESS_FIXTURE
#include "harness.h"

static int expect_udp(struct fixture *f, struct conn *m, const char *src, const char *dst,
		      uint16_t dport)
{
	struct ct_expect e;
	union ct_addr s = h_addr(src), d = h_addr(dst);

	ct_expect_init(&e, m, 0, m->th[0].tuple.l3num, &s, &d, IPPROTO_UDP, NULL, &dport);
	return ct_expect_related(&f->h.table, &e, 0, false);
}

/* ---------------------------------------------------------------------- */
/* Packets                                                                 */

#define CL "10.0.0.1"
#define SV "10.0.0.2"

/* ---------------------------------------------------------------------- */
/* The table                                                               */

static void test_create_match_consume(void **state)
{
	struct fixture *f = *state;
	struct conn *m = master(f, CL, SV, IPPROTO_UDP, 1234, 69, "tftp"), *d;
	struct h_packet p = h_udp(SV, CL, 3333, 1234, "x", 1);

	assert_int_equal(expect_udp(f, m, SV, CL, 1234), 0);
	assert_int_equal(nexp(f), 1);
	assert_int_equal(f->exp_new, 1);
	assert_int_equal(f->h.table.stats.exp.create, 1);
	/* the server answers from a new port: RELATED, master set, consumed */
	assert_string_equal(run(f, p, NULL, &d), "related");
	assert_non_null(d = ct_table_find(&f->h.table, &(struct ct_tuple){ .src = h_addr(SV), .dst = h_addr(CL),
			    .sport = 3333, .dport = 1234, .l3num = AF_INET, .l4num = IPPROTO_UDP },
			    NULL, CT_DIR_ORIG, NULL));
	assert_true(d->status & CT_S_EXPECTED);
	assert_ptr_equal(d->ext->master_ct, m);
	assert_int_equal(m->use, 2);		/* the table's + ct->master */
	assert_int_equal(nexp(f), 0);
	assert_int_equal(f->exp_destroy, 1);
	assert_int_equal(f->h.table.stats.exp.new, 1);
	/* the data entry goes: the master is back to use=1 */
	ct_table_delete(&f->h.table, d, 0, false);
	assert_int_equal(m->use, 1);
}

static void test_no_helper_and_clash(void **state)
{
	struct fixture *f = *state;
	struct conn *plain = master(f, CL, SV, IPPROTO_UDP, 1000, 69, NULL);
	struct conn *m1 = master(f, CL, SV, IPPROTO_UDP, 1001, 69, "tftp");
	struct conn *m2 = master(f, CL, SV, IPPROTO_UDP, 1002, 69, "tftp");

	assert_int_equal(expect_udp(f, plain, SV, CL, 5000), -ESHUTDOWN);
	assert_int_equal(expect_udp(f, m1, SV, CL, 5000), 0);
	/* the same expectation again from the same master replaces it */
	assert_int_equal(expect_udp(f, m1, SV, CL, 5000), 0);
	assert_int_equal(nexp(f), 1);
	/* from another master it clashes */
	assert_int_equal(expect_udp(f, m2, SV, CL, 5000), -EBUSY);
	/* nf_conntrack_expect_max */
	f->h.settings.expect_max = 1;
	assert_int_equal(expect_udp(f, m2, SV, CL, 5001), -EMFILE);
}

static void test_max_expected_evicts_oldest(void **state)
{
	struct fixture *f = *state;
	struct conn *m = master(f, CL, SV, IPPROTO_UDP, 1234, 69, "tftp");

	assert_int_equal(expect_udp(f, m, SV, CL, 5000), 0);
	assert_int_equal(expect_udp(f, m, SV, CL, 5001), 0);	/* tftp: max 1 */
	assert_int_equal(nexp(f), 1);
	assert_int_equal(f->h.table.expect->head->tuple.dport, 5001);
	assert_int_equal(f->exp_destroy, 1);
}

static void test_expire_and_master_death(void **state)
{
	struct fixture *f = *state;
	struct conn *m = master(f, CL, SV, IPPROTO_UDP, 1234, 69, "tftp");
	struct conn *m2 = master(f, CL, SV, IPPROTO_UDP, 1235, 69, "tftp");

	assert_int_equal(expect_udp(f, m, SV, CL, 5000), 0);
	assert_int_equal(ct_expect_timeout_left(&f->h.table, f->h.table.expect->head), 300);
	ct_clock_advance(&f->h.clock, 299 * CT_NSEC_PER_SEC);
	ct_table_tick(&f->h.table);
	ct_expect_gc(&f->h.table);
	assert_int_equal(nexp(f), 1);
	ct_clock_advance(&f->h.clock, 2 * CT_NSEC_PER_SEC);
	ct_table_tick(&f->h.table);
	ct_expect_gc(&f->h.table);
	assert_int_equal(nexp(f), 0);
	assert_int_equal(f->exp_destroy, 1);
	/* the master dies: its expectations go with it */
	assert_int_equal(expect_udp(f, m2, SV, CL, 5001), 0);
	ct_table_delete(&f->h.table, m2, 0, false);
	assert_int_equal(nexp(f), 0);
	assert_int_equal(f->h.table.stats.exp.delete, 2);
}

/* ---------------------------------------------------------------------- */
/* FTP                                                                     */

/* A control connection with the first segment of each direction seen
 * (the helper only parses data that follows a '\n' it saw). */
static struct conn *ftp_master(struct fixture *f, const char *cl, const char *sv)
{
	struct conn *m = master(f, cl, sv, IPPROTO_TCP, 40000, 21, "ftp");

	assert_int_equal(help(f, m, CT_DIR_REPLY, h_tcp(sv, cl, 21, 40000, 5000,
							   "220 hi\r\n", 8)), CT_ACCEPT);
	assert_int_equal(help(f, m, CT_DIR_ORIG, h_tcp(cl, sv, 40000, 21, 1000,
							  "USER a\r\n", 8)), CT_ACCEPT);
	return m;
}

static int ftp_cmd(struct fixture *f, struct conn *m, enum ct_dir dir, uint32_t seq,
		   const char *s)
{
	const struct ct_tuple *t = &m->th[dir].tuple;
	char a[64], b[64];

	inet_ntop(t->l3num, &t->src, a, sizeof(a));
	inet_ntop(t->l3num, &t->dst, b, sizeof(b));
	return help(f, m, dir, h_tcp(a, b, t->sport, t->dport, seq, s, strlen(s)));
}

static void assert_exp(struct fixture *f, const char *src, const char *dst, uint16_t dport)
{
	const struct ct_expect *e;
	union ct_addr s = h_addr(src), d = h_addr(dst);

	assert_int_equal(nexp(f), 1);
	e = f->h.table.expect->head;
	assert_memory_equal(&e->tuple.src, &s, sizeof(s));
	assert_memory_equal(&e->tuple.dst, &d, sizeof(d));
	assert_int_equal(e->tuple.dport, dport);
	assert_int_equal(e->tuple.sport, 0);
	assert_int_equal(e->mask.sport, 0);
	assert_int_equal(e->tuple.l4num, IPPROTO_TCP);
	assert_int_equal(ct_expect_timeout_left(&f->h.table, e), 300);
}

static void test_ftp_port_and_pasv(void **state)
{
	struct fixture *f = *state;
	struct conn *m = ftp_master(f, CL, SV);

	/* active: the server connects to the client */
	assert_int_equal(ftp_cmd(f, m, CT_DIR_ORIG, 1008, "PORT 10,0,0,1,4,1\r\n"), CT_ACCEPT);
	assert_exp(f, SV, CL, 1025);
	/* passive: the client connects to the server; max 1 evicts the PORT one */
	assert_int_equal(ftp_cmd(f, m, CT_DIR_REPLY, 5008,
				 "227 Entering Passive Mode (10,0,0,2,189,119).\r\n"), CT_ACCEPT);
	assert_exp(f, CL, SV, 48503);
	/* EPSV: the port only */
	assert_int_equal(ftp_cmd(f, m, CT_DIR_REPLY, 5008 + 47,
				 "229 Entering Extended Passive Mode (|||6446|)\r\n"), CT_ACCEPT);
	assert_exp(f, CL, SV, 6446);
	/* EPRT, IPv4 */
	assert_int_equal(ftp_cmd(f, m, CT_DIR_ORIG, 1008 + 19, "EPRT |1|10.0.0.1|6275|\r\n"),
			 CT_ACCEPT);
	assert_exp(f, SV, CL, 6275);
	assert_int_equal(f->h.table.expect->helper_errors, 0);
}

static void test_ftp_ipv6(void **state)
{
	struct fixture *f = *state;
	struct conn *m = ftp_master(f, "fd00::1", "fd00::2");

	assert_int_equal(ftp_cmd(f, m, CT_DIR_ORIG, 1008, "EPRT |2|fd00::1|6275|\r\n"), CT_ACCEPT);
	assert_exp(f, "fd00::2", "fd00::1", 6275);
	assert_int_equal(ftp_cmd(f, m, CT_DIR_REPLY, 5008, "229 ok (|||7000|)\r\n"), CT_ACCEPT);
	assert_exp(f, "fd00::1", "fd00::2", 7000);
}

static void test_ftp_split_commands(void **state)
{
	struct fixture *f = *state;
	struct conn *m = ftp_master(f, CL, SV);

	/* a prefix of the pattern, or the command without its terminator:
	 * dropped ("partial matching"), the sender retransmits it whole */
	assert_int_equal(ftp_cmd(f, m, CT_DIR_ORIG, 1008, "PO"), CT_DROP);
	assert_int_equal(ftp_cmd(f, m, CT_DIR_ORIG, 1008, "PORT 10,0,0,1,4"), CT_DROP);
	assert_int_equal(ftp_cmd(f, m, CT_DIR_ORIG, 1008, "PORT"), CT_DROP);
	assert_int_equal(nexp(f), 0);
	assert_int_equal(ftp_cmd(f, m, CT_DIR_ORIG, 1008, "port 10,0,0,1,4,1\r\n"), CT_ACCEPT);
	assert_exp(f, SV, CL, 1025);
	/* a command in the middle of a segment, or not after a newline, is not seen */
	assert_int_equal(ftp_cmd(f, m, CT_DIR_ORIG, 1027, "NOOP\r\nPORT 10,0,0,1,4,2\r\n"),
			 CT_ACCEPT);
	assert_int_equal(ftp_cmd(f, m, CT_DIR_ORIG, 9999, "PORT 10,0,0,1,4,3\r\n"), CT_ACCEPT);
	assert_exp(f, SV, CL, 1025);
}

static void test_ftp_hostile(void **state)
{
	struct fixture *f = *state;
	struct conn *m = ftp_master(f, CL, SV);
	static char big[1400];
	uint32_t seq = 1008;
	static const char *const bad[] = {
		"PORT 300,0,0,1,4,1\r\n",		/* address byte overflow */
		"PORT 10,0,0,1,999999999999,1\r\n",	/* number overflow */
		"PORT 10,0,0,1,0,0\r\n",		/* port 0 */
		"PORT 10,0,0,1,4,1,7\r\n",		/* too many numbers */
		"PORT 10,0,0,1,4\r\n",			/* too few */
		"EPRT |1|10.0.0.1|0|\r\n",		/* port 0 */
		"EPRT |1|10.0.0.1|70000|\r\n",		/* port overflow */
		"EPRT |2|10.0.0.1|6275|\r\n",		/* wrong family */
		"EPRT 1|10.0.0.1|6275|\r\n",		/* bad delimiter */
		"EPRT |1|10.0.0.1|6275\r\n",		/* no closing delimiter */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ftp_cmd(f, m, CT_DIR_ORIG, seq, bad[i]);
	assert_int_equal(nexp(f), 0);
	assert_true(f->h.table.expect->helper_errors >= 8);
	/* an address other than the sender's: nothing unless loose */
	assert_int_equal(ftp_cmd(f, m, CT_DIR_ORIG, seq, "PORT 192,168,1,1,4,1\r\n"), CT_ACCEPT);
	assert_int_equal(ftp_cmd(f, m, CT_DIR_REPLY, 5008, "227 (192,168,1,1,4,1)\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 0);
	ct_ftp_loose = true;
	assert_int_equal(ftp_cmd(f, m, CT_DIR_ORIG, seq, "PORT 192,168,1,1,4,1\r\n"), CT_ACCEPT);
	assert_exp(f, SV, "192.168.1.1", 1025);
	ct_ftp_loose = false;
	/* an oversized line of digits and commas, and one with NULs */
	memset(big, '9', sizeof(big));
	memcpy(big, "PORT ", 5);
	for (size_t i = 6; i < sizeof(big) - 1; i += 3)
		big[i] = ',';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ftp_cmd(f, m, CT_DIR_ORIG, seq + 22, big), CT_DROP);
	/* a 227 without any digit: malformed, dropped as in the kernel */
	assert_int_equal(help(f, m, CT_DIR_REPLY, h_tcp(SV, CL, 21, 40000, 5031,
							   "227 \0\0\0\0", 8)), CT_DROP);
	assert_int_equal(nexp(f), 1);
}

/* ---------------------------------------------------------------------- */
/* TFTP                                                                    */

static void test_tftp(void **state)
{
	struct fixture *f = *state;
	static const uint8_t rrq[] = { 0, 1, 'f', 0, 'o', 'c', 't', 'e', 't', 0 };
	static const uint8_t data[] = { 0, 3, 0, 1, 'x' };
	struct conn *c, *d;

	/* the RRQ: the helper runs before confirmation and expects the reply */
	assert_string_equal(run(f, h_udp(CL, SV, 1234, 69, rrq, sizeof(rrq)), "tftp", &c), "new");
	assert_int_equal(nexp(f), 1);
	{
		const struct ct_expect *e = f->h.table.expect->head;
		union ct_addr s = h_addr(SV), dd = h_addr(CL);

		assert_memory_equal(&e->tuple.src, &s, sizeof(s));
		assert_memory_equal(&e->tuple.dst, &dd, sizeof(dd));
		assert_int_equal(e->tuple.dport, 1234);
		assert_int_equal(e->tuple.l4num, IPPROTO_UDP);
	}
	/* DATA from the server's new port is RELATED and consumes it */
	assert_string_equal(run(f, h_udp(SV, CL, 40000, 1234, data, sizeof(data)), NULL, &d),
			    "related");
	assert_int_equal(nexp(f), 0);
	/* a too-short datagram or another opcode creates nothing */
	assert_string_equal(run(f, h_udp(CL, SV, 1235, 69, "\x00", 1), "tftp", NULL), "new");
	assert_string_equal(run(f, h_udp(CL, SV, 1236, 69, data, sizeof(data)), "tftp", NULL),
			    "new");
	assert_int_equal(nexp(f), 0);
	(void)c;
}

static void test_tftp_unconfirmed_master(void **state)
{
	struct fixture *f = *state;
	static const uint8_t wrq[] = { 0, 2, 'f', 0, 'o', 'c', 't', 'e', 't', 0 };
	struct h_packet p = h_udp(CL, SV, 1234, 69, wrq, sizeof(wrq));
	struct ct_skb skb;

	/* the RRQ is dropped after the helper ran: the unconfirmed master
	 * and its expectation disappear together */
	ct_skb_init(&skb, p.buf, p.len);
	skb.helper = &ct_helper_tftp;
	assert_int_equal(ct_in(&f->h.core, &skb, CT_HOOK_PREROUTING), CT_ACCEPT);
	assert_int_equal(ct_helper_run(&f->h.core, &skb), CT_ACCEPT);
	assert_int_equal(nexp(f), 1);
	ct_skb_done(&f->h.core, &skb, true);
	assert_int_equal(nexp(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_match_consume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_helper_and_clash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_expected_evicts_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire_and_master_death, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ftp_port_and_pasv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ftp_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ftp_split_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ftp_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tftp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tftp_unconfirmed_master, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
