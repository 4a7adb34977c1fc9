// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_conn_export.c — a table entry as the struct ctnl_ct that ctnetlink
 * dumps (export_ct_from_conn(), ctsim/nfnetlink/conn_export.h): tuples in
 * both directions with the layer-4 fields of their protocol, status, mark,
 * id, zone, the timeout left on the table's clock, TCP protoinfo; and the
 * event kind of an event mask. Only the public headers are used, so the
 * module's internals may change under these tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "proto/ctnl_print.h"	/* enum ctnl_event (conn_export.h uses it) */
#include "ctsim/nfnetlink/conn_export.h"

static int setup(void **state)
{
	struct ct_harness *h = calloc(1, sizeof(*h));

	if (!h || ct_harness_init(h, 64, 1000, 1) < 0)
		return -1;
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	struct ct_harness *h = *state;

	ct_harness_fini(h);
	free(h);
	return 0;
}

/* A confirmed entry @src:@sport -> @dst:@dport of @proto, 300 s left. */
static struct conn *entry(struct ct_harness *h, const char *src, const char *dst, uint8_t proto,
			  uint16_t sport, uint16_t dport)
{
	return h_master(h, src, dst, proto, sport, dport, NULL);
}

static void test_l4_fields(void **state)
{
	(void)state;
	/* ports for the port protocols, type/code/id for ICMP, nothing for
	 * a protocol conntrack only knows by number */
	assert_int_equal(export_tuple_l4_fields(IPPROTO_TCP), CT_TF_SPORT | CT_TF_DPORT);
	assert_int_equal(export_tuple_l4_fields(IPPROTO_UDP), CT_TF_SPORT | CT_TF_DPORT);
	assert_int_equal(export_tuple_l4_fields(IPPROTO_ICMP),
			 CT_TF_ICMP_TYPE | CT_TF_ICMP_CODE | CT_TF_ICMP_ID);
	assert_int_equal(export_tuple_l4_fields(IPPROTO_ICMPV6),
			 CT_TF_ICMPV6_TYPE | CT_TF_ICMPV6_CODE | CT_TF_ICMPV6_ID);
	assert_int_equal(export_tuple_l4_fields(253), 0);
}

static void test_tcp4_entry(void **state)
{
	struct ct_harness *h = *state;
	struct conn *c = entry(h, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 40000, 80);
	struct ctnl_ct o;

	c->mark = 0x2a;
	c->proto.tcp.state = CT_TCP_ESTABLISHED;
	c->status |= CT_S_ASSURED;
	h_advance(h, 10);
	memset(&o, 0x5a, sizeof(o));	/* "overwritten entirely" */
	export_ct_from_conn(&h->table, c, &o);

	/* the original direction as the packet had it */
	assert_true(o.present & CTNL_HAS(CTA_TUPLE_ORIG));
	assert_int_equal(o.orig.t.l3num, AF_INET);
	assert_int_equal(o.orig.t.l4num, IPPROTO_TCP);
	assert_int_equal(o.orig.t.src.ip, h_addr("10.0.0.1").ip);
	assert_int_equal(o.orig.t.dst.ip, h_addr("10.0.0.2").ip);
	assert_int_equal(o.orig.t.sport, 40000);
	assert_int_equal(o.orig.t.dport, 80);
	assert_int_equal(o.orig.present & (CT_TF_SPORT | CT_TF_DPORT), CT_TF_SPORT | CT_TF_DPORT);
	assert_false(o.orig.present & CT_TF_ICMP_TYPE);
	/* the reply direction is the inversion */
	assert_true(o.present & CTNL_HAS(CTA_TUPLE_REPLY));
	assert_int_equal(o.reply.t.src.ip, h_addr("10.0.0.2").ip);
	assert_int_equal(o.reply.t.dst.ip, h_addr("10.0.0.1").ip);
	assert_int_equal(o.reply.t.sport, 80);
	assert_int_equal(o.reply.t.dport, 40000);
	/* status, mark and id as the entry has them */
	assert_true(o.present & CTNL_HAS(CTA_STATUS));
	assert_int_equal(o.status, c->status);
	assert_true(o.status & CT_S_CONFIRMED);
	assert_true(o.status & CT_S_ASSURED);
	assert_true(o.present & CTNL_HAS(CTA_MARK));
	assert_int_equal(o.mark, 0x2a);
	assert_true(o.present & CTNL_HAS(CTA_ID));
	assert_int_equal(o.id, c->id);
	/* the timeout left on the table's clock: 300 s set, 10 s passed */
	assert_true(o.present & CTNL_HAS(CTA_TIMEOUT));
	assert_int_equal(o.timeout, 290);
	/* TCP carries its state */
	assert_true(o.present & CTNL_HAS(CTA_PROTOINFO));
	assert_int_equal(o.protoinfo, CTA_PROTOINFO_TCP);
	assert_int_equal(o.tcp.state, CT_TCP_ESTABLISHED);
	/* no master, no helper on a plain entry; zone 0 is not sent */
	assert_false(o.present & CTNL_HAS(CTA_TUPLE_MASTER));
	assert_false(o.present & CTNL_HAS(CTA_ZONE));
}

static void test_timeout_follows_clock(void **state)
{
	struct ct_harness *h = *state;
	struct conn *c = entry(h, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1000, 53);
	struct ctnl_ct a, b;

	export_ct_from_conn(&h->table, c, &a);
	h_advance(h, 100);
	export_ct_from_conn(&h->table, c, &b);
	assert_int_equal(a.timeout, 300);
	assert_int_equal(b.timeout, 200);
	/* UDP has no protoinfo nest worth a state */
	assert_int_not_equal(b.protoinfo, CTA_PROTOINFO_TCP);
	assert_int_equal(b.orig.t.l4num, IPPROTO_UDP);
}

static void test_icmp6_entry(void **state)
{
	struct ct_harness *h = *state;
	struct ct_tuple o = { .src = h_addr("fd00::1"), .dst = h_addr("fd00::2"),
			      .l3num = AF_INET6, .l4num = IPPROTO_ICMPV6 };
	struct ct_tuple r;
	struct ct_zone z = { 7, CT_ZONE_DIR_BOTH };
	struct ctnl_ct x;
	struct conn *c;

	o.icmp_type = 128;	/* echo request, id 0x1234 */
	o.icmp_code = 0;
	o.sport = 0x1234;
	assert_true(ct_tuple_invert(&o, &r));
	r.l3num = o.l3num;
	r.l4num = o.l4num;
	c = conn_alloc(&h->table, &o, &r, &z);
	assert_non_null(c);
	conn_set_timeout(&h->table, c, 30);
	assert_int_equal(ct_table_insert(&h->table, c), 0);
	c->status |= CT_S_CONFIRMED;

	export_ct_from_conn(&h->table, c, &x);
	assert_int_equal(x.orig.t.l3num, AF_INET6);
	assert_memory_equal(x.orig.t.src.b, h_addr("fd00::1").b, 16);
	assert_memory_equal(x.reply.t.src.b, h_addr("fd00::2").b, 16);
	assert_int_equal(x.orig.t.icmp_type, 128);
	assert_int_equal(x.reply.t.icmp_type, 129);	/* the echo reply */
	assert_int_equal(x.orig.present & (CT_TF_ICMPV6_TYPE | CT_TF_ICMPV6_CODE | CT_TF_ICMPV6_ID),
			 CT_TF_ICMPV6_TYPE | CT_TF_ICMPV6_CODE | CT_TF_ICMPV6_ID);
	assert_false(x.orig.present & (CT_TF_SPORT | CT_TF_DPORT));
	/* a zone is exported */
	assert_true(x.present & CTNL_HAS(CTA_ZONE));
	assert_int_equal(x.zone, 7);
	assert_int_equal(x.timeout, 30);
}

/* The export is what the server puts on the wire: it encodes as a dump
 * object and decodes to the same tuples, status, mark, timeout. */
static void test_wire_roundtrip(void **state)
{
	struct ct_harness *h = *state;
	struct conn *c = entry(h, "192.0.2.1", "198.51.100.7", IPPROTO_TCP, 1234, 443);
	static uint8_t buf[4096];
	struct ctnl_ct o, back;
	struct nlmsghdr *nlh;

	c->mark = 7;
	c->proto.tcp.state = CT_TCP_SYN_SENT;
	export_ct_from_conn(&h->table, c, &o);
	nlh = ctnl_msg_start(buf, sizeof(buf), CTNL_MSG(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW),
			     NLM_F_MULTI, 1, 0, AF_INET, 0, 0);
	assert_non_null(nlh);
	assert_true(ctnl_ct_put(nlh, sizeof(buf), &o, CTNL_LAYOUT_DUMP) >= 0);
	assert_int_equal(ctnl_ct_parse(nlh, &back, NULL), 0);
	assert_memory_equal(&back.orig.t, &o.orig.t, sizeof(o.orig.t));
	assert_memory_equal(&back.reply.t, &o.reply.t, sizeof(o.reply.t));
	assert_int_equal(back.status, o.status);
	assert_int_equal(back.mark, 7);
	assert_int_equal(back.timeout, o.timeout);
	assert_int_equal(back.id, c->id);
	assert_int_equal(back.tcp.state, CT_TCP_SYN_SENT);
}

static void test_event_kind(void **state)
{
	(void)state;
	assert_int_equal(export_event_kind(CT_EV(NEW)), CTNL_EV_NEW);
	assert_int_equal(export_event_kind(CT_EV(RELATED)), CTNL_EV_NEW);
	assert_int_equal(export_event_kind(CT_EV(NEW) | CT_EV(PROTOINFO)), CTNL_EV_NEW);
	assert_int_equal(export_event_kind(CT_EV(DESTROY)), CTNL_EV_DESTROY);
	/* DESTROY wins over anything else in the mask */
	assert_int_equal(export_event_kind(CT_EV(DESTROY) | CT_EV(MARK)), CTNL_EV_DESTROY);
	assert_int_equal(export_event_kind(CT_EV(REPLY)), CTNL_EV_UPDATE);
	assert_int_equal(export_event_kind(CT_EV(ASSURED) | CT_EV(PROTOINFO)), CTNL_EV_UPDATE);
	assert_int_equal(export_event_kind(CT_EV(MARK)), CTNL_EV_UPDATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_l4_fields),
		cmocka_unit_test_setup_teardown(test_tcp4_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_follows_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp6_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wire_roundtrip, setup, teardown),
		cmocka_unit_test(test_event_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
