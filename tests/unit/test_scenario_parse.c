// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_scenario_parse.c — the scenario language (ctsim/scenario/scenario.h)
 * through scenario_parse_string(): a good file becomes hosts and timed
 * steps with the packet bytes built; a bad one gives no scenario and
 * located errors (FILE:LINE:COL-COL, the message, the line), nft style.
 * Only the public header: the parser's internals are being reworked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctsim/scenario/scenario.h"

#define SEC	1000000000ull

static const char GOOD[] =
	"# title: a UDP exchange, then a TCP SYN\n"
	"# shows: what the parser keeps\n"
	"host c 10.66.1.2 fd66:1::2 side client\n"
	"host s 10.66.2.2 side server\n"
	"\n"
	"set nf_conntrack_udp_timeout 20\n"
	"+0     c > s udp 40000 > 53 len 12\n"
	"expect ctinfo new\n"
	"+0.5   s > c udp 53 > 40000\n"
	"expect verdict accept\n"
	"+2     c > s tcp 40001 > 80 [S] seq 100\n"
	"expect entry udp c:40000 > s:53 timeout 20\n";

static const struct sc_step *nth(const struct scenario *sc, enum sc_kind kind, unsigned n)
{
	for (size_t i = 0; i < sc->nsteps; i++)
		if (sc->steps[i].kind == kind && n-- == 0)
			return &sc->steps[i];
	return NULL;
}

static uint16_t r16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void test_good(void **state)
{
	struct rs_errors errs = { 0 };
	struct scenario *sc = scenario_parse_string("good.ct", GOOD, &errs);
	const struct sc_step *p0, *p1, *p2, *st;
	struct in_addr a;

	(void)state;
	if (!sc)
		rs_errors_print(&errs, stderr);
	assert_non_null(sc);
	assert_int_equal(errs.n, 0);
	assert_non_null(sc->title);
	assert_string_equal(sc->title, "a UDP exchange, then a TCP SYN");

	/* hosts: names, addresses, sides */
	assert_int_equal(sc->nhosts, 2);
	assert_string_equal(sc->hosts[0].name, "c");
	assert_true(sc->hosts[0].has4 && sc->hosts[0].has6);
	inet_pton(AF_INET, "10.66.1.2", &a);
	assert_int_equal(sc->hosts[0].a4.ip, a.s_addr);
	assert_int_equal(sc->hosts[0].side, SC_CLIENT);
	assert_string_equal(sc->hosts[1].name, "s");
	assert_true(sc->hosts[1].has4);
	assert_false(sc->hosts[1].has6);
	assert_int_equal(sc->hosts[1].side, SC_SERVER);
	assert_string_equal(sc_side_name(SC_CLIENT), "client");
	assert_string_equal(sc_side_name(SC_SERVER), "server");

	/* the sysctl */
	st = nth(sc, SC_SET, 0);
	assert_non_null(st);
	assert_non_null(st->value);
	assert_string_equal(st->value, "20");
	assert_non_null(strstr(st->name, "udp_timeout"));

	/* packets: built bytes, times relative to the previous step */
	p0 = nth(sc, SC_PACKET, 0);
	p1 = nth(sc, SC_PACKET, 1);
	p2 = nth(sc, SC_PACKET, 2);
	assert_non_null(p0);
	assert_non_null(p1);
	assert_non_null(p2);
	assert_null(nth(sc, SC_PACKET, 3));
	assert_int_equal(p0->line, 7);
	assert_int_equal(p0->at_ns, 0);
	assert_int_equal(p1->at_ns, SEC / 2);
	assert_int_equal(p2->at_ns, 2 * SEC + SEC / 2);
	assert_int_equal(sc->duration_ns, p2->at_ns);
	/* c > s arrives on the client side; IPv4 UDP 40000 > 53, 12 bytes of data */
	assert_int_equal(p0->side, SC_CLIENT);
	assert_int_equal(p0->len, 20 + 8 + 12);
	assert_int_equal(p0->pkt[0] >> 4, 4);
	assert_int_equal(p0->pkt[9], IPPROTO_UDP);
	assert_memory_equal(p0->pkt + 12, &sc->hosts[0].a4.ip, 4);
	assert_memory_equal(p0->pkt + 16, &sc->hosts[1].a4.ip, 4);
	assert_int_equal(r16(p0->pkt + 20), 40000);
	assert_int_equal(r16(p0->pkt + 22), 53);
	/* the reply comes from the server side */
	assert_int_equal(p1->side, SC_SERVER);
	assert_int_equal(r16(p1->pkt + 20), 53);
	/* TCP SYN with its sequence number */
	assert_int_equal(p2->pkt[9], IPPROTO_TCP);
	assert_int_equal(p2->pkt[20 + 13] & 0x3f, 0x02);
	assert_int_equal((uint32_t)r16(p2->pkt + 24) << 16 | r16(p2->pkt + 26), 100);

	/* expectations, in their order */
	st = nth(sc, SC_X_CTINFO, 0);
	assert_non_null(st);
	assert_string_equal(st->word, "new");
	assert_int_equal(st->line, 8);
	st = nth(sc, SC_X_VERDICT, 0);
	assert_non_null(st);
	assert_string_equal(st->word, "accept");
	st = nth(sc, SC_X_ENTRY, 0);
	assert_non_null(st);
	assert_int_equal(st->e.orig.l4num, IPPROTO_UDP);
	assert_int_equal(st->e.orig.sport, 40000);
	assert_int_equal(st->e.orig.dport, 53);
	assert_true(st->e.fields & SC_F_TIMEOUT);
	assert_int_equal(st->e.timeout, 20);
	scenario_free(sc);
	rs_errors_free(&errs);
}

/* One bad line: no scenario, and one error located on the offending word. */
static void expect_error(const char *text, unsigned line, unsigned first, unsigned last,
			 const char *msg_part)
{
	struct rs_errors errs = { 0 };
	struct scenario *sc = scenario_parse_string("bad.ct", text, &errs);

	assert_null(sc);
	assert_true(errs.n >= 1);
	assert_string_equal(errs.v[0].file, "bad.ct");
	assert_int_equal(errs.v[0].line, line);
	assert_int_equal(errs.v[0].col_first, first);
	assert_int_equal(errs.v[0].col_last, last);
	if (!strstr(errs.v[0].msg, msg_part))
		fail_msg("\"%s\" does not contain \"%s\"", errs.v[0].msg, msg_part);
	/* the source line is kept for the caret display */
	assert_non_null(errs.v[0].src_line);
	assert_true(strlen(errs.v[0].src_line) >= last);
	rs_errors_free(&errs);
	assert_int_equal(errs.n, 0);
}

static void test_bad_input(void **state)
{
	(void)state;
	expect_error("host c 10.0.0.1\nhost s 10.0.0.2\n+0 c > x udp 1 > 2\n",
		     3, 8, 8, "unknown host \"x\"");
	expect_error("host c 10.0.0.1\nhost s 10.0.0.2\n+0 c > s udp 1 - 2\n",
		     3, 16, 16, "expected \">\" between the ports");
	expect_error("host c 10.0.0.1\nhost s 10.0.0.2\nc > s tcp 1 > 2 [SX]\n",
		     3, 19, 19, "unknown TCP flag 'X'");
	expect_error("host c 10.0.0.1\nhost s 10.0.0.2\n@2 c > s udp 1 > 2\n@1 c > s udp 1 > 2\n",
		     4, 1, 2, "time goes backwards");
	expect_error("host c 10.0.0.1\nhost s 10.0.0.2\nexpect colour blue\n",
		     3, 8, 13, "unknown expectation \"colour\"");
}

/* Every error of a file is reported, not only the first. */
static void test_errors_accumulate(void **state)
{
	struct rs_errors errs = { 0 };
	struct scenario *sc = scenario_parse_string(
		"two.ct", "host c 10.0.0.1\nhost s 10.0.0.2\n+0 c > x udp 1 > 2\n"
			  "expect colour blue\n", &errs);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_null(sc);
	assert_int_equal(errs.n, 2);
	assert_int_equal(errs.v[0].line, 3);
	assert_int_equal(errs.v[1].line, 4);
	/* printed nft style: FILE:LINE:COL-COL: Error: MSG, the line, carets */
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	rs_errors_print(&errs, f);
	fclose(f);
	assert_non_null(strstr(buf, "two.ct:3:8-8: Error: unknown host \"x\"\n"
				    "+0 c > x udp 1 > 2\n       ^\n"));
	assert_non_null(strstr(buf, "two.ct:4:8-13: Error: unknown expectation \"colour\""));
	free(buf);
	rs_errors_free(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_errors_accumulate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
