/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_irc.c — the IRC helper (helpers/irc.c, nf_conntrack_irc.c): DCC
 * SEND/CHAT in the client's PRIVMSG lines create an expectation to the
 * client's address; the server's lines, forged addresses, malformed and
 * hostile input create nothing; max 8 DCC channels per master.
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

/* ---------------------------------------------------------------------- */
/* Packets                                                                 */

#define CL "10.0.0.1"
#define SV "10.0.0.2"

/* ---------------------------------------------------------------------- */
#define CL "10.0.0.1"		/* 167772161 */
#define SV "10.0.0.2"
#define CL_NUM "167772161"

static struct conn *irc_master(struct fixture *f)
{
	return master(f, CL, SV, IPPROTO_TCP, 40000, 6667, "irc");
}

/* One segment of @m in direction @dir with payload @s. */
static int irc_send(struct fixture *f, struct conn *m, enum ct_dir dir, const char *s, size_t n)
{
	const struct ct_tuple *t = &m->th[dir].tuple;
	char a[64], b[64];

	inet_ntop(t->l3num, &t->src, a, sizeof(a));
	inet_ntop(t->l3num, &t->dst, b, sizeof(b));
	return help(f, m, dir, h_tcp(a, b, t->sport, t->dport, 1000, s, n));
}

static int irc_line(struct fixture *f, struct conn *m, const char *s)
{
	return irc_send(f, m, CT_DIR_ORIG, s, strlen(s));
}

/* The newest expectation: TCP from anywhere, any port, to the client. */
static void assert_dcc(struct fixture *f, uint16_t dport)
{
	const struct ct_expect *e = f->h.table.expect->head;
	union ct_addr any, cl = h_addr(CL);

	memset(&any, 0, sizeof(any));
	assert_non_null(e);
	assert_memory_equal(&e->tuple.src, &any, sizeof(any));
	assert_memory_equal(&e->mask.src, &any, sizeof(any));
	assert_memory_equal(&e->tuple.dst, &cl, sizeof(cl));
	assert_int_equal(e->tuple.dport, dport);
	assert_int_equal(e->tuple.sport, 0);
	assert_int_equal(e->mask.sport, 0);
	assert_int_equal(e->tuple.l4num, IPPROTO_TCP);
	assert_int_equal(e->class, 0);
	assert_int_equal(ct_expect_timeout_left(&f->h.table, e), 300);
}

static void test_irc_registered(void **state)
{
	const struct ct_helper *h = ct_helper_find("irc", 0, IPPROTO_TCP);

	(void)state;
	assert_non_null(h);
	assert_ptr_equal(h, &ct_helper_irc);
	assert_int_equal(h->policy[0].max_expected, 8);
	assert_int_equal(h->policy[0].timeout, 300);
	assert_null(ct_helper_find("irc", 0, IPPROTO_UDP));
}

static void test_dcc_send_and_chat(void **state)
{
	struct fixture *f = *state;
	struct conn *m = irc_master(f), *d;

	assert_int_equal(irc_line(f, m, "PRIVMSG bob :\1DCC SEND file.txt " CL_NUM " 5000 1234\1\r\n"),
			 CT_ACCEPT);
	assert_int_equal(nexp(f), 1);
	assert_dcc(f, 5000);
	assert_int_equal(f->exp_new, 1);
	/* case-insensitive PRIVMSG, leading blank lines, CHAT */
	assert_int_equal(irc_line(f, m, "\r\n  privmsg bob :\1DCC CHAT chat " CL_NUM "   5001\1\n"),
			 CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	assert_dcc(f, 5001);
	/* the other kinds */
	assert_int_equal(irc_line(f, m, "PRIVMSG bob :\1DCC TSEND f " CL_NUM " 5002\1\n"), CT_ACCEPT);
	assert_int_equal(irc_line(f, m, "PRIVMSG bob :\1DCC SCHAT chat " CL_NUM " 5003\1\n"), CT_ACCEPT);
	assert_int_equal(irc_line(f, m, "PRIVMSG bob :\1DCC MOVE f " CL_NUM " 5004\1\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 5);
	/* only one expectation per packet (the first DCC that parses) */
	assert_int_equal(irc_line(f, m, "PRIVMSG bob :\1DCC SEND a " CL_NUM " 6000\1 "
				  "\1DCC SEND b " CL_NUM " 6001\1\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 6);
	assert_dcc(f, 6000);
	assert_int_equal(f->h.table.expect->helper_errors, 0);
	/* the peer connects from anywhere to the announced port: RELATED */
	assert_string_equal(run(f, h_tcp("192.0.2.7", CL, 33333, 5000, 1, "", 0), NULL, &d),
			    "related");
	assert_non_null(d);
	assert_true(d->status & CT_S_EXPECTED);
	assert_int_equal(nexp(f), 5);
}

static void test_dcc_max_channels(void **state)
{
	struct fixture *f = *state;
	struct conn *m = irc_master(f);
	char line[128];

	for (int i = 0; i < 10; i++) {
		snprintf(line, sizeof(line), "PRIVMSG bob :\1DCC SEND f " CL_NUM " %d\1\r\n", 7000 + i);
		assert_int_equal(irc_line(f, m, line), CT_ACCEPT);
	}
	assert_int_equal(nexp(f), 8);		/* the two oldest were evicted */
	assert_dcc(f, 7009);
	for (const struct ct_expect *e = f->h.table.expect->head; e; e = e->next)
		assert_true(e->tuple.dport >= 7002);
}

static void test_dcc_server_and_non_privmsg_ignored(void **state)
{
	struct fixture *f = *state;
	struct conn *m = irc_master(f);
	const char *s = ":srv PRIVMSG alice :\1DCC SEND f " CL_NUM " 5000\1\r\n";

	/* from the server (reply direction): ignored */
	assert_int_equal(irc_send(f, m, CT_DIR_REPLY, s, strlen(s)), CT_ACCEPT);
	/* NOTICE, or anything not starting with PRIVMSG */
	assert_int_equal(irc_line(f, m, "NOTICE bob :\1DCC SEND f " CL_NUM " 5000\1\r\n"), CT_ACCEPT);
	assert_int_equal(irc_line(f, m, "XPRIVMSG bob :\1DCC SEND f " CL_NUM " 5000\1\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 0);
	assert_int_equal(f->h.table.expect ? f->h.table.expect->helper_errors : 0, 0);
}

static void test_dcc_hostile(void **state)
{
	struct fixture *f = *state;
	struct conn *m = irc_master(f);
	static const char *const bad[] = {
		/* forged: not the client's address (10.0.0.9, the server's) */
		"PRIVMSG bob :\1DCC SEND f 167772169 5000\1\r\n",
		"PRIVMSG bob :\1DCC SEND f 167772162 5000\1\r\n",
		/* port 0, port out of range, address out of range */
		"PRIVMSG bob :\1DCC SEND f " CL_NUM " 0\1\r\n",
		"PRIVMSG bob :\1DCC SEND f " CL_NUM " 70000\1\r\n",
		"PRIVMSG bob :\1DCC SEND f " CL_NUM " 4294972296\1\r\n",
		"PRIVMSG bob :\1DCC SEND f 4462739457 5000\1\r\n",
		"PRIVMSG bob :\1DCC SEND f 99999999999999999999999999 5000\1\r\n",
		/* no newline in the packet */
		"PRIVMSG bob :\1DCC SEND f " CL_NUM " 5000\1",
		/* no numbers, no port, no argument */
		"PRIVMSG bob :\1DCC SEND f abc 5000\1\r\n",
		"PRIVMSG bob :\1DCC SEND f " CL_NUM "\1\r\n         ",
		"PRIVMSG bob :\1DCC SEND\1\r\n                    ",
		"PRIVMSG bob :\1DCC SENDX f " CL_NUM " 5000\1\r\n",
		"PRIVMSG bob :\1DCC FOO f " CL_NUM " 5000\1\r\n",
		"PRIVMSG bob :\1dcc send f " CL_NUM " 5000\1\r\n",
		/* too short to hold a DCC command */
		"PRIVMSG b :\1DCC SEND\n",
		"PRIVMSG",
		"",
	};
	uint8_t junk[1400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(irc_line(f, m, bad[i]), CT_ACCEPT);
		assert_int_equal(nexp(f), 0);
	}
	/* binary junk full of \1DCC prefixes and NULs */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)"\1DCC SEND \0 9\n"[i % 14];
	memcpy(junk, "PRIVMSG ", 8);
	assert_int_equal(irc_send(f, m, CT_DIR_ORIG, (const char *)junk, sizeof(junk)), CT_ACCEPT);
	/* a DCC at the very end of the packet (the parser must stop at its end) */
	memset(junk, 'A', sizeof(junk));
	memcpy(junk, "PRIVMSG ", 8);
	memcpy(junk + sizeof(junk) - 30, "\1DCC SEND f 167772161 5", 23);
	assert_int_equal(irc_send(f, m, CT_DIR_ORIG, (const char *)junk, sizeof(junk) - 7), CT_ACCEPT);
	assert_int_equal(nexp(f), 0);
	assert_true(f->h.table.expect == NULL || f->h.table.expect->helper_errors >= 5);
	/* and a good one still works afterwards */
	assert_int_equal(irc_line(f, m, "PRIVMSG bob :\1DCC SEND f " CL_NUM " 5000\1\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 1);
}

static void test_dcc_ipv6_ignored(void **state)
{
	struct fixture *f = *state;
	struct conn *m = master(f, "2001:db8::1", "2001:db8::2", IPPROTO_TCP, 40000, 6667, "irc");

	assert_int_equal(irc_line(f, m, "PRIVMSG bob :\1DCC SEND f " CL_NUM " 5000\1\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 0);
}

int main(void)
{
	ct_helpers_register_builtin();	/* the *_registered tests have no fixture */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_irc_registered),
		cmocka_unit_test_setup_teardown(test_dcc_send_and_chat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dcc_max_channels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dcc_server_and_non_privmsg_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dcc_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dcc_ipv6_ignored, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
