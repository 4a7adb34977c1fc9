/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_broadcast.c — the netbios-ns and snmp helpers (helpers/broadcast.c,
 * nf_conntrack_broadcast.c): through ctsim (no sockets) they create
 * nothing and leave the timeout alone; ct_broadcast_help() with a locally
 * generated broadcast creates the PERMANENT subnet-wide expectation the
 * kernel creates (checked on 6.18 by hand: see docs/helpers.md), refreshes
 * the master, and the answer from any host of the subnet is RELATED.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "ctsim/core/expect.h"
#include "ctsim/core/helper.h"
#include "ctsim/core/pipeline.h"
#define CT_HARNESS_FIXTURE
#include "harness.h"

#define ME	"10.77.2.1"
#define BCAST	"10.77.2.255"

static struct h_packet udp(const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	uint8_t l4[8 + 5] = { 0 };

	h_w16(l4, sport);
	h_w16(l4 + 2, dport);
	h_w16(l4 + 4, sizeof(l4));
	memcpy(l4 + 8, "query", 5);
	return h_build(src, dst, IPPROTO_UDP, l4, sizeof(l4));
}

static unsigned secs_left(struct fixture *f, const struct conn *c)
{
	return (unsigned)((c->expires - f->h.table.now + CT_NSEC_PER_SEC / 2) / CT_NSEC_PER_SEC);
}

/* ct_broadcast_help() (or, with @rt NULL, the registered helper) on the
 * original-direction packet of @m. */
static int bhelp(struct fixture *f, struct conn *m, enum ct_dir dir, const struct ct_bcast_route *rt,
		 uint16_t port, unsigned timeout)
{
	const struct ct_tuple *t = &m->th[dir].tuple;
	char a[64], b[64];
	struct h_packet p;
	struct ct_skb skb;
	struct ct_helper_ctx x;
	const char *reason = NULL;

	inet_ntop(t->l3num, &t->src, a, sizeof(a));
	inet_ntop(t->l3num, &t->dst, b, sizeof(b));
	p = udp(a, b, t->sport, t->dport);
	ct_skb_init(&skb, p.buf, p.len);
	assert_int_equal(ct_pkt_parse(&skb.pkt, &reason), 0);
	skb.ct = m;
	skb.ctinfo = dir == CT_DIR_ORIG ? CT_INFO_ESTABLISHED : CT_INFO_ESTABLISHED_REPLY;
	if (!rt)
		return ct_helper_run(&f->h.core, &skb);
	x = (struct ct_helper_ctx){ .core = &f->h.core, .skb = &skb, .ct = m, .ctinfo = skb.ctinfo,
				    .dir = dir };
	return ct_broadcast_help(&x, rt, port, timeout);
}

/* The output device's addresses: another subnet, a secondary address with
 * the destination's broadcast (skipped), then the primary one. */
static void ifa_init(struct ct_bcast_ifa *ifa)
{
	memset(ifa, 0, 3 * sizeof(*ifa));
	ifa[0].broadcast = h_addr("10.77.9.255").ip;		/* another subnet */
	ifa[0].mask = htonl(0xffffff00);
	ifa[1].broadcast = h_addr(BCAST).ip;			/* secondary: skipped */
	ifa[1].mask = htonl(0xffff0000);
	ifa[1].secondary = true;
	ifa[2].broadcast = h_addr(BCAST).ip;
	ifa[2].mask = htonl(0xffffff00);
}

static void test_registered_helpers_create_nothing(void **state)
{
	struct fixture *f = *state;
	const struct ct_helper *nb = ct_helper_find("netbios-ns", 0, IPPROTO_UDP);
	const struct ct_helper *sn = ct_helper_find("snmp", 0, IPPROTO_UDP);
	struct conn *m1 = h_master(&f->h, ME, BCAST, IPPROTO_UDP, 40001, 137, "netbios-ns");
	struct conn *m2 = h_master(&f->h, ME, BCAST, IPPROTO_UDP, 40002, 161, "snmp");

	assert_non_null(nb);
	assert_non_null(sn);
	assert_int_equal(nb->policy[0].max_expected, 1);
	assert_int_equal(nb->policy[0].timeout, 3);
	assert_int_equal(sn->policy[0].max_expected, 1);
	assert_int_equal(sn->policy[0].timeout, 30);
	/* forwarded / replayed packets have no socket */
	assert_int_equal(bhelp(f, m1, CT_DIR_ORIG, NULL, 0, 0), CT_ACCEPT);
	assert_int_equal(bhelp(f, m2, CT_DIR_ORIG, NULL, 0, 0), CT_ACCEPT);
	assert_int_equal(bhelp(f, m1, CT_DIR_REPLY, NULL, 0, 0), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 0);
	assert_int_equal(secs_left(f, m1), 300);	/* not refreshed */
	assert_int_equal(secs_left(f, m2), 300);
}

static void test_local_broadcast(void **state)
{
	struct fixture *f = *state;
	struct conn *m = h_master(&f->h, ME, BCAST, IPPROTO_UDP, 40004, 137, "netbios-ns");
	struct ct_bcast_ifa ifa[3];
	struct ct_bcast_route rt = { .local_socket = true, .broadcast = true, .ifa = ifa, .nifa = 3 };
	struct ct_tuple ans = { .src = h_addr("10.77.2.2"), .dst = h_addr(ME), .sport = 137,
				.dport = 40004, .l3num = AF_INET, .l4num = IPPROTO_UDP };
	const struct ct_expect *e;

	ifa_init(ifa);
	assert_int_equal(bhelp(f, m, CT_DIR_ORIG, &rt, 137, 3), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 1);
	e = f->h.table.expect->head;
	/* as `conntrack -L expect` showed on 6.18: src=10.77.2.255 dst=10.77.2.1
	 * sport=137 dport=40004 mask-src=255.255.255.0 sport=65535 PERMANENT */
	assert_int_equal(e->tuple.src.ip, h_addr(BCAST).ip);
	assert_int_equal(e->tuple.dst.ip, h_addr(ME).ip);
	assert_int_equal(e->tuple.sport, 137);
	assert_int_equal(e->tuple.dport, 40004);
	assert_int_equal(e->tuple.l4num, IPPROTO_UDP);
	assert_int_equal(e->mask.src.ip, htonl(0xffffff00));
	assert_int_equal(e->mask.sport, 0xffff);
	assert_int_equal(e->flags, CT_EXP_F_PERMANENT);
	assert_int_equal(e->class, 0);
	assert_null(e->helper);
	assert_int_equal(ct_expect_timeout_left(&f->h.table, e), 3);
	assert_int_equal(secs_left(f, m), 3);		/* nf_ct_refresh(timeout) */
	/* any host of the subnet answers from port 137 */
	assert_non_null(ct_expect_find(&f->h.table, &ans, 0));
	ans.src = h_addr("10.77.2.200");
	assert_non_null(ct_expect_find(&f->h.table, &ans, 0));
	ans.sport = 138;				/* another source port */
	assert_null(ct_expect_find(&f->h.table, &ans, 0));
	ans.sport = 137;
	ans.src = h_addr("10.77.3.2");			/* another subnet */
	assert_null(ct_expect_find(&f->h.table, &ans, 0));
	/* SNMP: the helper's port is the expected source port, whatever
	 * the destination port was */
	{
		struct conn *s = h_master(&f->h, ME, BCAST, IPPROTO_UDP, 40005, 1161, "snmp");

		assert_int_equal(bhelp(f, s, CT_DIR_ORIG, &rt, 161, 30), CT_ACCEPT);
		assert_int_equal(f->h.table.expect->head->tuple.sport, 161);
		assert_int_equal(secs_left(f, s), 30);
	}
}

static void test_conditions(void **state)
{
	struct fixture *f = *state;
	struct conn *m = h_master(&f->h, ME, BCAST, IPPROTO_UDP, 40006, 137, "netbios-ns");
	struct conn *u = h_master(&f->h, ME, "10.77.2.2", IPPROTO_UDP, 40007, 137, "netbios-ns");
	struct conn *v6 = h_master(&f->h, "fd00::1", "fd00::ff", IPPROTO_UDP, 40008, 137, "netbios-ns");
	struct ct_bcast_ifa ifa[3];
	struct ct_bcast_route rt = { .local_socket = false, .broadcast = true, .ifa = ifa, .nifa = 3 };

	ifa_init(ifa);
	/* no socket (forwarded) */
	assert_int_equal(bhelp(f, m, CT_DIR_ORIG, &rt, 137, 3), CT_ACCEPT);
	/* not a broadcast route */
	rt.local_socket = true;
	rt.broadcast = false;
	assert_int_equal(bhelp(f, m, CT_DIR_ORIG, &rt, 137, 3), CT_ACCEPT);
	/* the reply direction */
	rt.broadcast = true;
	assert_int_equal(bhelp(f, m, CT_DIR_REPLY, &rt, 137, 3), CT_ACCEPT);
	/* a destination that is no primary address's broadcast */
	assert_int_equal(bhelp(f, u, CT_DIR_ORIG, &rt, 137, 3), CT_ACCEPT);
	rt.nifa = 2;			/* only the other subnet and the secondary */
	assert_int_equal(bhelp(f, m, CT_DIR_ORIG, &rt, 137, 3), CT_ACCEPT);
	/* IPv6: the helpers are IPv4 only */
	rt.nifa = 3;
	assert_int_equal(bhelp(f, v6, CT_DIR_ORIG, &rt, 137, 3), CT_ACCEPT);
	assert_int_equal(h_nexp(&f->h), 0);
	assert_int_equal(secs_left(f, m), 300);
}

/* Through the pipeline: the answer from a subnet host is RELATED and the
 * PERMANENT expectation stays for the next answer. */
static void test_answers_related(void **state)
{
	struct fixture *f = *state;
	struct conn *m = h_master(&f->h, ME, BCAST, IPPROTO_UDP, 40009, 137, "netbios-ns");
	struct ct_bcast_ifa ifa[3];
	struct ct_bcast_route rt = { .local_socket = true, .broadcast = true, .ifa = ifa, .nifa = 3 };
	const char *from[] = { "10.77.2.2", "10.77.2.3" };

	ifa_init(ifa);
	assert_int_equal(bhelp(f, m, CT_DIR_ORIG, &rt, 137, 3), CT_ACCEPT);
	for (size_t i = 0; i < 2; i++) {
		struct h_packet p = udp(from[i], ME, 137, 40009);
		struct ct_skb skb;

		ct_skb_init(&skb, p.buf, p.len);
		assert_int_equal(ct_in(&f->h.core, &skb, CT_HOOK_PREROUTING), CT_ACCEPT);
		assert_string_equal(ct_skb_state_name(&skb), "related");
		assert_int_equal(ct_confirm(&f->h.core, &skb), CT_ACCEPT);
		assert_ptr_equal(skb.ct->ext->master_ct, m);
		ct_skb_done(&f->h.core, &skb, false);
		assert_int_equal(h_nexp(&f->h), 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registered_helpers_create_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_broadcast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conditions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answers_related, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
