/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_offline.c — unit tests of the offline core (ctsim/replay/harness.[ch])
 * through harness.h: a TCP three-way handshake fed from ct-c0 (client) and
 * ct-s0 (server) makes one ESTABLISHED [ASSURED] entry, as on a kernel
 * forwarding between two interfaces; `conntrack -E` lines are captured
 * (NEW, UPDATE, DESTROY); moving time past the entry's timeout reaps it
 * (gc_worker() / the dump walk of ctnetlink_dump_table()) with a DESTROY
 * event; ct_offline_start() fails with -ENOSPC, leaving nothing to undo,
 * when the event subscribers cannot be added; ct_offline_fini() is harmless
 * on a harness that never started or failed to start (ASan checks leaks).
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
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "ctsim/core/packet.h"
#include "ctsim/replay/harness.h"

#define SEC CT_NSEC_PER_SEC
#define WALL0 (1700000000ull * SEC)

static void w16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void w32(uint8_t *b, uint32_t v)
{
	w16(b, (uint16_t)(v >> 16));
	w16(b + 2, (uint16_t)v);
}

static union ct_addr a4(const char *s)
{
	union ct_addr a;

	memset(&a, 0, sizeof(a));
	assert_int_equal(inet_pton(AF_INET, s, &a.ip), 1);
	return a;
}

#define CLIENT "10.0.0.1"
#define SERVER "10.0.1.1"
#define CPORT 40000
#define SPORT 80

/* One TCP segment (no options, no payload) into the harness on @iif at
 * caller time @at (the harness's time base is wall time here). */
static int segment(struct ct_offline *h, int iif, uint8_t flags, uint32_t seq, uint32_t ack,
		   uint64_t at)
{
	const bool from_client = iif == CT_OFFLINE_CLIENT;
	union ct_addr c = a4(CLIENT), s = a4(SERVER);
	uint8_t l4[20], buf[128];
	int n;

	memset(l4, 0, sizeof(l4));
	w16(l4, from_client ? CPORT : SPORT);
	w16(l4 + 2, from_client ? SPORT : CPORT);
	w32(l4 + 4, seq);
	w32(l4 + 8, ack);
	l4[12] = 5 << 4;
	l4[13] = flags;
	w16(l4 + 14, 64240);
	n = ct_pkt_build(buf, sizeof(buf), AF_INET, from_client ? &c : &s, from_client ? &s : &c,
			 IPPROTO_TCP, l4, sizeof(l4));
	assert_true(n > 0);
	ct_offline_advance(h, at);
	return ct_offline_receive(h, iif, buf, (size_t)n, at);
}

static struct conn *find(struct ct_offline *h)
{
	struct ct_tuple t;

	memset(&t, 0, sizeof(t));
	t.src = a4(CLIENT);
	t.dst = a4(SERVER);
	t.sport = CPORT;
	t.dport = SPORT;
	t.l3num = AF_INET;
	t.l4num = IPPROTO_TCP;
	return ct_table_find(&h->table, &t, NULL, CT_DIR_ORIG, NULL);
}

/* Everything written to @f so far, as a string the caller frees. */
static char *slurp(FILE *f)
{
	long n;
	char *s;

	fflush(f);
	n = ftell(f);
	assert_true(n >= 0);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	rewind(f);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	return s;
}

static unsigned count_str(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void handshake(struct ct_offline *h, uint64_t t0)
{
	assert_int_equal(segment(h, CT_OFFLINE_CLIENT, CT_TCP_SYN, 1000, 0, t0), CT_ACCEPT);
	assert_int_equal(h->table.count, 1);
	assert_int_equal(find(h)->proto.tcp.state, CT_TCP_SYN_SENT);
	assert_int_equal(segment(h, CT_OFFLINE_SERVER, CT_TCP_SYN | CT_TCP_ACK, 5000, 1001,
				 t0 + SEC / 100), CT_ACCEPT);
	assert_int_equal(find(h)->proto.tcp.state, CT_TCP_SYN_RECV);
	assert_int_equal(segment(h, CT_OFFLINE_CLIENT, CT_TCP_ACK, 1001, 5001, t0 + SEC / 50),
			 CT_ACCEPT);
}

/* Handshake, listing, expiry past the (shortened) established timeout. */
static void test_handshake_then_expiry(void **state)
{
	struct ct_offline h;
	FILE *ev = tmpfile(), *list = tmpfile();
	char err[128], *text;
	struct conn *c;

	(void)state;
	assert_non_null(ev);
	assert_non_null(list);
	ct_offline_init(&h);
	assert_int_equal(ct_settings_set(&h.settings, "nf_conntrack_tcp_timeout_established", "300",
					 err, sizeof(err)), 0);
	h.capture = CT_OFFLINE_EVENTS;
	h.listening = true;
	h.ev_fp = ev;
	ctnl_print_setup(&h.print);
	assert_int_equal(ct_offline_start(&h, WALL0, WALL0, 1, NULL), 0);
	assert_true(h.up);
	assert_int_equal(ct_offline_list(&h, list), 0);

	handshake(&h, WALL0);
	assert_int_equal(h.table.count, 1);
	c = find(&h);
	assert_non_null(c);
	assert_int_equal(c->proto.tcp.state, CT_TCP_ESTABLISHED);
	assert_int_equal(c->status & (CT_S_CONFIRMED | CT_S_SEEN_REPLY | CT_S_ASSURED),
			 CT_S_CONFIRMED | CT_S_SEEN_REPLY | CT_S_ASSURED);
	assert_int_equal(conn_timeout_left(&h.table, c), 300);
	/* forwarded both ways through the router: nothing dropped */
	assert_int_equal(h.router.stats.bad_l3, 0);

	/* just before the timeout: still listed, no DESTROY yet */
	ct_offline_advance(&h, WALL0 + 299 * SEC);
	assert_int_equal(ct_offline_list(&h, list), 1);
	text = slurp(list);
	assert_non_null(strstr(text, "ESTABLISHED src=10.0.0.1 dst=10.0.1.1 sport=40000 dport=80"));
	assert_non_null(strstr(text, "[ASSURED]"));
	free(text);
	text = slurp(ev);
	assert_int_equal(count_str(text, "[NEW]"), 1);
	assert_true(count_str(text, "[UPDATE]") >= 1);
	assert_int_equal(count_str(text, "[DESTROY]"), 0);
	free(text);

	/* past it: reaped, with one DESTROY event */
	ct_offline_advance(&h, WALL0 + 301 * SEC);
	assert_int_equal(ct_offline_list(&h, list), 0);
	assert_int_equal(h.table.count, 0);
	assert_null(find(&h));
	text = slurp(ev);
	assert_int_equal(count_str(text, "[DESTROY]"), 1);
	assert_int_equal(count_str(text, "[NEW]"), 1);
	assert_int_equal(h.events_shown, count_str(text, "\n"));
	free(text);

	ct_offline_fini(&h);
	assert_false(h.up);
	assert_int_equal(ct_offline_list(&h, list), 0);	/* nothing after fini */
	ctnl_print_setup(NULL);
	fclose(ev);
	fclose(list);
}

/* With the capture on but no `conntrack -E` running, nothing is printed;
 * the dump walk still reaps. */
static void test_no_listener_no_lines(void **state)
{
	struct ct_offline h;
	FILE *ev = tmpfile();
	char *text;

	(void)state;
	assert_non_null(ev);
	ct_offline_init(&h);
	h.settings.tcp_timeout[CT_TCP_ESTABLISHED] = 60;
	h.capture = CT_OFFLINE_EVENTS;
	h.listening = false;
	h.ev_fp = ev;
	ctnl_print_setup(&h.print);
	assert_int_equal(ct_offline_start(&h, WALL0, 0, 1, NULL), 0);
	handshake(&h, 0);
	assert_int_equal(h.table.count, 1);
	ct_offline_advance(&h, 61 * SEC);
	assert_int_equal(ct_offline_list(&h, ev), 0);
	assert_int_equal(h.table.count, 0);
	assert_int_equal(h.events_shown, 0);
	text = slurp(ev);
	assert_string_equal(text, "");
	free(text);
	ct_offline_fini(&h);
	ctnl_print_setup(NULL);
	fclose(ev);
}

static void nop_event(void *arg, const struct ct_event *e)
{
	(void)arg;
	(void)e;
}

/* No room for the capture's subscriber: -ENOSPC, h->up false, the table
 * freed by start itself (ASan: no leak), fini harmless, and the harness
 * can be set up again. */
static void test_start_enospc(void **state)
{
	struct ct_offline h;

	(void)state;
	ct_offline_init(&h);
	for (unsigned i = 0; i < CT_EVENT_MAX_SUBSCRIBERS; i++)
		assert_int_equal(ct_events_subscribe(&h.events, nop_event, NULL), 0);
	h.capture = CT_OFFLINE_EVENTS;
	assert_int_equal(ct_offline_start(&h, WALL0, 0, 1, NULL), -ENOSPC);
	assert_false(h.up);
	assert_int_equal(ct_offline_list(&h, NULL), 0);
	ct_offline_fini(&h);
	ct_offline_fini(&h);
	assert_false(h.up);

	/* the same for the expectation printer */
	ct_offline_init(&h);
	for (unsigned i = 0; i < CT_EVENT_MAX_SUBSCRIBERS; i++)
		assert_int_equal(ct_events_subscribe(&h.events, nop_event, NULL), 0);
	h.capture = CT_OFFLINE_EVENTS | CT_OFFLINE_EXP_EVENTS;
	assert_int_equal(ct_offline_start(&h, WALL0, 0, 1, NULL), -ENOSPC);
	assert_false(h.up);
	ct_offline_fini(&h);

	/* started again after init: works, one entry, freed by fini */
	ct_offline_init(&h);
	h.settings.buckets = 16;
	assert_int_equal(ct_offline_start(&h, WALL0, 0, 1, NULL), 0);
	assert_true(h.up);
	handshake(&h, 0);
	assert_int_equal(h.table.count, 1);
	ct_offline_fini(&h);
	assert_false(h.up);
}

/* Never started: nothing allocated, fini and list do nothing. */
static void test_fini_unstarted(void **state)
{
	struct ct_offline h;

	(void)state;
	ct_offline_init(&h);
	assert_false(h.up);
	assert_int_equal(h.settings.max, 262144);	/* default settings */
	assert_int_equal(ct_offline_list(&h, NULL), 0);
	ct_offline_fini(&h);
	assert_false(h.up);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_then_expiry),
		cmocka_unit_test(test_no_listener_no_lines),
		cmocka_unit_test(test_start_enospc),
		cmocka_unit_test(test_fini_unstarted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
