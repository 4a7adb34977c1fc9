/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_nat.c — unit tests of the NAT bindings (ctsim/core/nat.[ch]),
 * through nat.h only: ct_nat_setup_info() on unconfirmed entries, as
 * ctnetlink's create path calls it (ctnetlink_setup_nat(): DST first, then
 * SRC, a NULL range for the manip not asked for).
 *
 * Kernel behaviour checked (nf_nat_core.c, nf_nat_setup_info()):
 *   - SNAT rewrites the reply tuple's destination (the answers go back to
 *     the translated source), DNAT its source; the original tuple is never
 *     touched (nf_conntrack_alter_reply() only changes the reply);
 *   - IPS_SRC_NAT / IPS_DST_NAT only when the tuple changed, the matching
 *     IPS_*_NAT_DONE always, the null binding included
 *     (__nf_nat_alloc_null_binding());
 *   - without NF_NAT_RANGE_MAP_IPS the addresses stay, without
 *     NF_NAT_RANGE_PROTO_SPECIFIED the ports stay; a port inside the range
 *     stays, one outside moves into the range (nf_nat_l4proto_unique_tuple():
 *     a random start, so the tests check the class: in range);
 *   - an address range picks by jhash2 of the addresses (find_best_ips_proto()):
 *     in range, and the same for the same addresses;
 *   - a manip already bound is not bound again (nf_nat_setup_info() WARNs);
 *   - only protocols whose tuples carry ports (ct_tuple_has_ports()) get a
 *     port mapped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include "ctsim/core/event.h"
#include "ctsim/core/nat.h"
#include "ctsim/core/packet.h"
#include "ctsim/core/table.h"

#define NAT_BITS (CT_S_SRC_NAT | CT_S_DST_NAT | CT_S_SRC_NAT_DONE | CT_S_DST_NAT_DONE)

struct fixture {
	struct ct_settings s;
	struct ct_clock clock;
	struct ct_events ev;
	struct ct_table t;
	struct conn *c;		/* the entry under test, freed by teardown */
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	ct_settings_init(&f.s);
	f.s.buckets = 16;
	f.s.max = 16;
	ct_clock_init_virtual(&f.clock, 1700000000ull * CT_NSEC_PER_SEC);
	assert_int_equal(ct_table_init(&f.t, &f.s, &f.clock, &f.ev, 7), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->c)
		conn_free_unhashed(&f->t, f->c);
	ct_table_destroy(&f->t);
	return 0;
}

static union ct_addr addr(const char *s)
{
	union ct_addr a;

	memset(&a, 0, sizeof(a));
	if (strchr(s, ':'))
		assert_int_equal(inet_pton(AF_INET6, s, a.b), 1);
	else
		assert_int_equal(inet_pton(AF_INET, s, &a.ip), 1);
	return a;
}

static struct ct_tuple tuple(const char *src, const char *dst, uint8_t proto, uint16_t sport,
			     uint16_t dport)
{
	struct ct_tuple t;

	memset(&t, 0, sizeof(t));
	t.src = addr(src);
	t.dst = addr(dst);
	t.sport = sport;
	t.dport = dport;
	t.l3num = strchr(src, ':') ? AF_INET6 : AF_INET;
	t.l4num = proto;
	return t;
}

/* An unconfirmed entry for @o with the inverted reply, as conn_alloc()
 * callers build it before NAT set-up. */
static struct conn *entry(struct fixture *f, struct ct_tuple o)
{
	struct ct_tuple r;
	struct ct_zone z = { 0, CT_ZONE_DIR_BOTH };

	assert_true(ct_tuple_invert(&o, &r));
	r.l3num = o.l3num;
	r.l4num = o.l4num;
	f->c = conn_alloc(&f->t, &o, &r, &z);
	assert_non_null(f->c);
	assert_int_equal(f->c->status & NAT_BITS, 0);
	return f->c;
}

static struct ct_nat_range range(unsigned flags, const char *lo, const char *hi, uint16_t pmin,
				 uint16_t pmax)
{
	struct ct_nat_range r;

	memset(&r, 0, sizeof(r));
	r.flags = flags;
	if (lo)
		r.min_addr = addr(lo);
	if (hi)
		r.max_addr = addr(hi);
	r.min_proto = pmin;
	r.max_proto = pmax;
	return r;
}

static void assert_tuple_equal(const struct ct_tuple *a, const struct ct_tuple *b)
{
	assert_memory_equal(&a->src, &b->src, sizeof(a->src));
	assert_memory_equal(&a->dst, &b->dst, sizeof(a->dst));
	assert_int_equal(a->sport, b->sport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->icmp_type, b->icmp_type);
	assert_int_equal(a->icmp_code, b->icmp_code);
	assert_int_equal(a->l3num, b->l3num);
	assert_int_equal(a->l4num, b->l4num);
}

#define ORIG(c)  (&(c)->th[CT_DIR_ORIG].tuple)
#define REPLY(c) (&(c)->th[CT_DIR_REPLY].tuple)

/* SNAT 10.0.0.1:40000 -> 192.0.2.1:80 to 203.0.113.5, ports 1024-2048: the
 * reply goes back to 203.0.113.5 on a port of the range, the original is
 * untouched. */
static void test_snat_tcp_ip_and_port(void **state)
{
	struct fixture *f = *state;
	const struct ct_tuple o = tuple("10.0.0.1", "192.0.2.1", IPPROTO_TCP, 40000, 80);
	struct ct_tuple want = tuple("192.0.2.1", "203.0.113.5", IPPROTO_TCP, 80, 1024);
	struct conn *c = entry(f, o);
	struct ct_nat_range r = range(CT_NAT_RANGE_MAP_IPS | CT_NAT_RANGE_PROTO_SPECIFIED,
				      "203.0.113.5", "203.0.113.5", 1024, 2048);

	ct_nat_setup_info(c, &r, CT_NAT_MANIP_SRC);
	assert_in_range(REPLY(c)->dport, 1024, 2048);
	want.dport = REPLY(c)->dport;
	assert_tuple_equal(REPLY(c), &want);
	assert_tuple_equal(ORIG(c), &o);
	assert_int_equal(c->status & NAT_BITS, CT_S_SRC_NAT | CT_S_SRC_NAT_DONE);
}

/* A source port already inside the range is kept (nf_nat_l4proto_in_range()). */
static void test_snat_port_in_range_kept(void **state)
{
	struct fixture *f = *state;
	struct conn *c = entry(f, tuple("10.0.0.1", "192.0.2.1", IPPROTO_UDP, 40000, 53));
	const struct ct_tuple want = tuple("192.0.2.1", "203.0.113.5", IPPROTO_UDP, 53, 40000);
	struct ct_nat_range r = range(CT_NAT_RANGE_MAP_IPS | CT_NAT_RANGE_PROTO_SPECIFIED,
				      "203.0.113.5", "203.0.113.5", 30000, 50000);

	ct_nat_setup_info(c, &r, CT_NAT_MANIP_SRC);
	assert_tuple_equal(REPLY(c), &want);
	assert_int_equal(c->status & NAT_BITS, CT_S_SRC_NAT | CT_S_SRC_NAT_DONE);
}

/* DNAT to 10.1.1.1:8080: the reply now comes from the real server. */
static void test_dnat_tcp_ip_and_port(void **state)
{
	struct fixture *f = *state;
	const struct ct_tuple o = tuple("10.0.0.1", "192.0.2.1", IPPROTO_TCP, 40000, 80);
	const struct ct_tuple want = tuple("10.1.1.1", "10.0.0.1", IPPROTO_TCP, 8080, 40000);
	struct conn *c = entry(f, o);
	struct ct_nat_range r = range(CT_NAT_RANGE_MAP_IPS | CT_NAT_RANGE_PROTO_SPECIFIED,
				      "10.1.1.1", "10.1.1.1", 8080, 8080);

	ct_nat_setup_info(c, &r, CT_NAT_MANIP_DST);
	assert_tuple_equal(REPLY(c), &want);
	assert_tuple_equal(ORIG(c), &o);
	assert_int_equal(c->status & NAT_BITS, CT_S_DST_NAT | CT_S_DST_NAT_DONE);
}

/* An address range maps into the range, by a hash of the addresses
 * (find_best_ips_proto()): the same entry twice gets the same address. */
static void test_dnat_address_range_first(void **state)
{
	struct fixture *f = *state;
	struct conn *c = entry(f, tuple("10.0.0.1", "192.0.2.1", IPPROTO_TCP, 40000, 80));
	struct ct_tuple want = tuple("10.1.1.1", "10.0.0.1", IPPROTO_TCP, 80, 40000);
	struct ct_nat_range r = range(CT_NAT_RANGE_MAP_IPS, "10.1.1.1", "10.1.1.9", 0, 0);
	union ct_addr first;

	ct_nat_setup_info(c, &r, CT_NAT_MANIP_DST);
	assert_in_range(ntohl(REPLY(c)->src.ip), ntohl(addr("10.1.1.1").ip), ntohl(addr("10.1.1.9").ip));
	first = REPLY(c)->src;
	want.src = first;
	assert_tuple_equal(REPLY(c), &want);
	conn_free_unhashed(&f->t, c);
	c = f->c = entry(f, tuple("10.0.0.1", "192.0.2.1", IPPROTO_TCP, 40000, 80));
	ct_nat_setup_info(c, &r, CT_NAT_MANIP_DST);
	assert_memory_equal(&REPLY(c)->src, &first, sizeof(first));
	assert_int_equal(c->status & NAT_BITS, CT_S_DST_NAT | CT_S_DST_NAT_DONE);
}

/* ctnetlink_setup_nat(): DNAT then SNAT on one entry; the second binding
 * starts from the tuple the first one left (nf_ct_invert_tuple() of the
 * current reply), so both show in the reply. */
static void test_dnat_then_snat(void **state)
{
	struct fixture *f = *state;
	const struct ct_tuple o = tuple("10.0.0.1", "192.0.2.1", IPPROTO_TCP, 40000, 80);
	const struct ct_tuple want = tuple("10.1.1.1", "203.0.113.5", IPPROTO_TCP, 8080, 1024);
	struct conn *c = entry(f, o);
	struct ct_nat_range d = range(CT_NAT_RANGE_MAP_IPS | CT_NAT_RANGE_PROTO_SPECIFIED,
				      "10.1.1.1", "10.1.1.1", 8080, 8080);
	struct ct_nat_range s = range(CT_NAT_RANGE_MAP_IPS | CT_NAT_RANGE_PROTO_SPECIFIED,
				      "203.0.113.5", "203.0.113.5", 1024, 1024);

	ct_nat_setup_info(c, &d, CT_NAT_MANIP_DST);
	ct_nat_setup_info(c, &s, CT_NAT_MANIP_SRC);
	assert_tuple_equal(REPLY(c), &want);
	assert_tuple_equal(ORIG(c), &o);
	assert_int_equal(c->status & NAT_BITS, NAT_BITS);
}

/* The null binding (range NULL) and a range with neither flag change
 * nothing but still mark the manip done; the other manip's bits stay clear. */
static void test_null_binding(void **state)
{
	struct fixture *f = *state;
	struct conn *c = entry(f, tuple("10.0.0.1", "192.0.2.1", IPPROTO_TCP, 40000, 80));
	const struct ct_tuple before = *REPLY(c);
	/* addresses and ports given, but not flagged: ignored */
	struct ct_nat_range r = range(0, "203.0.113.5", "203.0.113.5", 1, 1);

	ct_nat_setup_info(c, NULL, CT_NAT_MANIP_DST);
	assert_tuple_equal(REPLY(c), &before);
	assert_int_equal(c->status & NAT_BITS, CT_S_DST_NAT_DONE);
	ct_nat_setup_info(c, &r, CT_NAT_MANIP_SRC);
	assert_tuple_equal(REPLY(c), &before);
	assert_int_equal(c->status & NAT_BITS, CT_S_DST_NAT_DONE | CT_S_SRC_NAT_DONE);
}

/* MAP_IPS alone leaves the ports, even if min_proto/max_proto are filled in. */
static void test_map_ips_only_keeps_port(void **state)
{
	struct fixture *f = *state;
	struct conn *c = entry(f, tuple("10.0.0.1", "192.0.2.1", IPPROTO_TCP, 40000, 80));
	const struct ct_tuple want = tuple("192.0.2.1", "203.0.113.5", IPPROTO_TCP, 80, 40000);
	struct ct_nat_range r = range(CT_NAT_RANGE_MAP_IPS, "203.0.113.5", NULL, 1, 1);

	ct_nat_setup_info(c, &r, CT_NAT_MANIP_SRC);
	assert_tuple_equal(REPLY(c), &want);
	assert_int_equal(c->status & NAT_BITS, CT_S_SRC_NAT | CT_S_SRC_NAT_DONE);
}

/* PROTO_SPECIFIED alone leaves the addresses (a port-only redirect). */
static void test_proto_only_keeps_address(void **state)
{
	struct fixture *f = *state;
	struct conn *c = entry(f, tuple("10.0.0.1", "192.0.2.1", IPPROTO_TCP, 40000, 80));
	const struct ct_tuple want = tuple("192.0.2.1", "10.0.0.1", IPPROTO_TCP, 3128, 40000);
	struct ct_nat_range r = range(CT_NAT_RANGE_PROTO_SPECIFIED, "10.9.9.9", "10.9.9.9",
				      3128, 3128);

	ct_nat_setup_info(c, &r, CT_NAT_MANIP_DST);
	assert_tuple_equal(REPLY(c), &want);
	assert_int_equal(c->status & NAT_BITS, CT_S_DST_NAT | CT_S_DST_NAT_DONE);
}

/* A mapping onto what the tuple already is changes nothing: *_NAT_DONE
 * without *_NAT (the kernel sets IPS_SRC_NAT only if the tuple changed). */
static void test_identity_mapping_not_flagged(void **state)
{
	struct fixture *f = *state;
	struct conn *c = entry(f, tuple("10.0.0.1", "192.0.2.1", IPPROTO_TCP, 40000, 80));
	const struct ct_tuple before = *REPLY(c);
	struct ct_nat_range r = range(CT_NAT_RANGE_MAP_IPS | CT_NAT_RANGE_PROTO_SPECIFIED,
				      "10.0.0.1", "10.0.0.1", 40000, 40000);

	ct_nat_setup_info(c, &r, CT_NAT_MANIP_SRC);
	assert_tuple_equal(REPLY(c), &before);
	assert_int_equal(c->status & NAT_BITS, CT_S_SRC_NAT_DONE);
}

/* Every protocol ct_tuple_has_ports() names gets its port mapped. */
static void test_port_protocols_mapped(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE,
					  IPPROTO_SCTP, IPPROTO_DCCP, IPPROTO_GRE };
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		struct ct_tuple want = tuple("192.0.2.1", "10.0.0.1", protos[i], 80, 5000);
		struct ct_nat_range r = range(CT_NAT_RANGE_PROTO_SPECIFIED, NULL, NULL, 5000, 5001);
		struct conn *c;

		assert_true(ct_tuple_has_ports(protos[i]));
		c = entry(f, tuple("10.0.0.1", "192.0.2.1", protos[i], 40000, 80));
		ct_nat_setup_info(c, &r, CT_NAT_MANIP_SRC);
		if (protos[i] == IPPROTO_GRE) {
			/* GRE keys are mapped only for a PPTP call (an entry
			 * with a master): nf_nat_l4proto_unique_tuple() */
			want.dport = 40000;
			assert_tuple_equal(REPLY(c), &want);
			assert_int_equal(c->status & NAT_BITS, CT_S_SRC_NAT_DONE);
		} else {
			assert_in_range(REPLY(c)->dport, 5000, 5001);
			want.dport = REPLY(c)->dport;
			assert_tuple_equal(REPLY(c), &want);
			assert_int_equal(c->status & NAT_BITS, CT_S_SRC_NAT | CT_S_SRC_NAT_DONE);
		}
		conn_free_unhashed(&f->t, c);
		f->c = NULL;
	}
}

/* A protocol without ports (here ESP, the generic tracker) keeps its zero
 * "ports" under PROTO_SPECIFIED: port 0 is outside 1000-2000, so a mapping
 * would show. The address part still applies. */
static void test_portless_protocol_port_untouched(void **state)
{
	struct fixture *f = *state;
	struct conn *c = entry(f, tuple("10.0.0.1", "192.0.2.1", IPPROTO_ESP, 0, 0));
	const struct ct_tuple before = *REPLY(c);
	const struct ct_tuple want = tuple("192.0.2.1", "203.0.113.5", IPPROTO_ESP, 0, 0);
	struct ct_nat_range p = range(CT_NAT_RANGE_PROTO_SPECIFIED, NULL, NULL, 1000, 2000);
	struct ct_nat_range a = range(CT_NAT_RANGE_MAP_IPS | CT_NAT_RANGE_PROTO_SPECIFIED,
				      "203.0.113.5", NULL, 1000, 2000);

	assert_false(ct_tuple_has_ports(IPPROTO_ESP));
	ct_nat_setup_info(c, &p, CT_NAT_MANIP_SRC);
	assert_tuple_equal(REPLY(c), &before);
	assert_int_equal(c->status & NAT_BITS, CT_S_SRC_NAT_DONE);
	/* bound once: a second binding of the same manip changes nothing */
	ct_nat_setup_info(c, &a, CT_NAT_MANIP_SRC);
	assert_tuple_equal(REPLY(c), &before);
	conn_free_unhashed(&f->t, c);
	c = f->c = entry(f, tuple("10.0.0.1", "192.0.2.1", IPPROTO_ESP, 0, 0));
	ct_nat_setup_info(c, &a, CT_NAT_MANIP_SRC);
	assert_tuple_equal(REPLY(c), &want);
	assert_int_equal(c->status & NAT_BITS, CT_S_SRC_NAT | CT_S_SRC_NAT_DONE);
}

/* ICMP echo: SNAT maps the address; with a proto range the echo id is
 * mapped into it (l4proto_in_range() reads the id: 0x1234 is outside 1-1,
 * so it becomes 1); without one it is kept. The reply stays an echo reply. */
static void test_icmp_snat_keeps_id_and_type(void **state)
{
	struct fixture *f = *state;
	struct ct_tuple o = tuple("10.0.0.1", "192.0.2.1", IPPROTO_ICMP, 0x1234, 0);
	struct ct_tuple want = tuple("192.0.2.1", "203.0.113.5", IPPROTO_ICMP, 1, 0);
	struct ct_nat_range r = range(CT_NAT_RANGE_MAP_IPS | CT_NAT_RANGE_PROTO_SPECIFIED,
				      "203.0.113.5", NULL, 1, 1);
	struct ct_nat_range a = range(CT_NAT_RANGE_MAP_IPS, "203.0.113.5", NULL, 0, 0);
	struct conn *c;

	o.icmp_type = 8;	/* echo request */
	want.icmp_type = 0;	/* echo reply */
	c = entry(f, o);
	ct_nat_setup_info(c, &r, CT_NAT_MANIP_SRC);
	assert_tuple_equal(REPLY(c), &want);
	assert_tuple_equal(ORIG(c), &o);
	assert_int_equal(c->status & NAT_BITS, CT_S_SRC_NAT | CT_S_SRC_NAT_DONE);
	conn_free_unhashed(&f->t, c);
	c = f->c = entry(f, o);
	ct_nat_setup_info(c, &a, CT_NAT_MANIP_SRC);
	want.sport = 0x1234;
	assert_tuple_equal(REPLY(c), &want);
}

/* IPv6 DNAT: the whole 16-byte address is mapped. */
static void test_dnat_ipv6(void **state)
{
	struct fixture *f = *state;
	struct conn *c = entry(f, tuple("2001:db8::1", "2001:db8:1::80", IPPROTO_TCP, 40000, 443));
	const struct ct_tuple want = tuple("2001:db8:2::5", "2001:db8::1", IPPROTO_TCP, 8443, 40000);
	struct ct_nat_range r = range(CT_NAT_RANGE_MAP_IPS | CT_NAT_RANGE_PROTO_SPECIFIED,
				      "2001:db8:2::5", "2001:db8:2::5", 8443, 8443);

	ct_nat_setup_info(c, &r, CT_NAT_MANIP_DST);
	assert_tuple_equal(REPLY(c), &want);
	assert_int_equal(c->status & NAT_BITS, CT_S_DST_NAT | CT_S_DST_NAT_DONE);
}

/* ---------------------------------------------------------------------- */
/* The rewrite (nat_rewrite.c, nf_nat_manip_pkt())                        */

/* A packet @l4 (its checksum filled by ct_pkt_build()) from @src to @dst,
 * parsed into @p over @buf. */
static void build(struct ct_pkt *p, uint8_t *buf, size_t cap, const char *src, const char *dst,
		  uint8_t proto, const uint8_t *l4, size_t l4len)
{
	union ct_addr a = addr(src), b = addr(dst);
	const char *why;
	int n = ct_pkt_build(buf, cap, strchr(src, ':') ? AF_INET6 : AF_INET, &a, &b, proto,
			     l4, l4len);

	assert_true(n > 0);
	memset(p, 0, sizeof(*p));
	p->data = buf;
	p->len = (size_t)n;
	assert_int_equal(ct_pkt_parse(p, &why), 0);
}

/* SNAT of a TCP segment and its answer over IPv4 and IPv6: addresses and
 * ports rewritten, the IPv4 header and TCP checksums still valid (the
 * incremental update covers the pseudo-header), the answer restored. */
static void test_rewrite_tcp_both_directions(void **state)
{
	static const char *const fam[2][3] = {
		{ "10.0.0.1", "192.0.2.1", "203.0.113.5" },
		{ "fd00::1", "2001:db8::1", "2001:db8:ff::5" },
	};
	struct fixture *f = *state;

	for (int v = 0; v < 2; v++) {
		uint8_t l4[24] = { 0x9c, 0x40, 0x00, 0x50, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x50, 0x02,
				   0xfa, 0xf0 }, buf[128], rbuf[128];
		struct ct_nat_range r = range(CT_NAT_RANGE_MAP_IPS | CT_NAT_RANGE_PROTO_SPECIFIED,
					      fam[v][2], fam[v][2], 1024, 1024);
		struct conn *c = entry(f, tuple(fam[v][0], fam[v][1], IPPROTO_TCP, 40000, 80));
		union ct_addr to = addr(fam[v][2]), cl = addr(fam[v][0]);
		struct ct_pkt p, q;

		ct_nat_setup_info(c, &r, CT_NAT_MANIP_SRC);
		build(&p, buf, sizeof(buf), fam[v][0], fam[v][1], IPPROTO_TCP, l4, 20);
		assert_true(ct_nat_packet(c, CT_DIR_ORIG, CT_NAT_MANIP_SRC, &p));
		assert_memory_equal(p.src.b, to.b, v ? 16 : 4);
		assert_int_equal(p.sport, 1024);
		assert_true(ct_pkt_l4_csum_ok(&p));
		if (!v) {
			const char *why;
			struct ct_pkt again = { .data = buf, .len = p.len };

			assert_int_equal(ct_pkt_parse(&again, &why), 0);	/* IP checksum */
		}
		/* the destination manip does nothing to this direction */
		assert_false(ct_nat_packet(c, CT_DIR_ORIG, CT_NAT_MANIP_DST, &p));
		/* the answer: to 203.0.113.5:1024, back to 10.0.0.1:40000 */
		l4[0] = 0x00; l4[1] = 0x50; l4[2] = 0x04; l4[3] = 0x00;
		build(&q, rbuf, sizeof(rbuf), fam[v][1], fam[v][2], IPPROTO_TCP, l4, 20);
		assert_true(ct_nat_packet(c, CT_DIR_REPLY, CT_NAT_MANIP_DST, &q));
		assert_memory_equal(q.dst.b, cl.b, v ? 16 : 4);
		assert_int_equal(q.dport, 40000);
		assert_true(ct_pkt_l4_csum_ok(&q));
		l4[0] = 0x9c; l4[1] = 0x40; l4[2] = 0x00; l4[3] = 0x50;
		conn_free_unhashed(&f->t, c);
		f->c = NULL;
	}
}

/* UDP over IPv4 with no checksum (0) keeps none (udp_manip_pkt()); with
 * one, it stays valid. */
static void test_rewrite_udp_zero_checksum(void **state)
{
	struct fixture *f = *state;
	uint8_t l4[12] = { 0x9c, 0x40, 0x00, 0x35, 0x00, 0x0c, 0, 0, 'a', 'b', 'c', 'd' };
	uint8_t buf[64];
	struct ct_nat_range r = range(CT_NAT_RANGE_MAP_IPS, "203.0.113.5", "203.0.113.5", 0, 0);
	struct conn *c = entry(f, tuple("10.0.0.1", "192.0.2.1", IPPROTO_UDP, 40000, 53));
	struct ct_pkt p;

	ct_nat_setup_info(c, &r, CT_NAT_MANIP_SRC);
	build(&p, buf, sizeof(buf), "10.0.0.1", "192.0.2.1", IPPROTO_UDP, l4, sizeof(l4));
	assert_true(ct_pkt_l4_csum_ok(&p));
	assert_true(ct_nat_packet(c, CT_DIR_ORIG, CT_NAT_MANIP_SRC, &p));
	assert_true(ct_pkt_l4_csum_ok(&p));
	buf[20 + 6] = buf[20 + 7] = 0;		/* now without a checksum */
	p.src = addr("10.0.0.1");
	memcpy(buf + 12, p.src.b, 4);
	buf[10] = buf[11] = 0;
	{
		const char *why;
		uint32_t sum = 0;

		for (int i = 0; i < 20; i += 2)
			sum += (uint32_t)(buf[i] << 8 | buf[i + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		buf[10] = (uint8_t)(~sum >> 8);
		buf[11] = (uint8_t)~sum;
		assert_int_equal(ct_pkt_parse(&p, &why), 0);
	}
	assert_true(ct_nat_packet(c, CT_DIR_ORIG, CT_NAT_MANIP_SRC, &p));
	assert_int_equal(buf[20 + 6], 0);
	assert_int_equal(buf[20 + 7], 0);
}

/* An ICMP port unreachable about a masqueraded UDP flow, from the server to
 * the masquerading address: the outer destination and the quoted source go
 * back to the client, both checksums valid. */
static void test_icmp_error_translated(void **state)
{
	struct fixture *f = *state;
	uint8_t udp[12] = { 0x9c, 0x40, 0x00, 0x35, 0x00, 0x0c, 0, 0, 'a', 'b', 'c', 'd' };
	uint8_t quote[64], l4[80] = { 3, 3 }, buf[160];
	struct ct_nat_range r = range(CT_NAT_RANGE_MAP_IPS, "203.0.113.5", "203.0.113.5", 0, 0);
	struct conn *c = entry(f, tuple("10.0.0.1", "192.0.2.1", IPPROTO_UDP, 40000, 53));
	union ct_addr me = addr("203.0.113.5"), srv = addr("192.0.2.1"), cl = addr("10.0.0.1");
	struct ct_pkt p, inner;
	const char *why;
	int n;

	ct_nat_setup_info(c, &r, CT_NAT_MANIP_SRC);
	/* the quote: the datagram as it left, 203.0.113.5:40000 > 192.0.2.1:53 */
	n = ct_pkt_build(quote, sizeof(quote), AF_INET, &me, &srv, IPPROTO_UDP, udp, sizeof(udp));
	assert_true(n > 0);
	memcpy(l4 + 8, quote, (size_t)n);
	build(&p, buf, sizeof(buf), "192.0.2.1", "203.0.113.5", IPPROTO_ICMP, l4, 8 + (size_t)n);
	assert_true(ct_nat_icmp_reply_translation(c, CT_DIR_REPLY, CT_NAT_MANIP_DST, &p));
	assert_memory_equal(p.dst.b, cl.b, 4);
	assert_memory_equal(p.src.b, srv.b, 4);
	assert_true(ct_pkt_l4_csum_ok(&p));
	assert_int_equal(ct_pkt_icmp_inner(&p, &inner, &why), 0);
	assert_memory_equal(inner.src.b, cl.b, 4);
	assert_int_equal(inner.sport, 40000);
	/* the source manip leaves a reply-direction error alone (no DST_NAT) */
	assert_true(ct_nat_icmp_reply_translation(c, CT_DIR_REPLY, CT_NAT_MANIP_SRC, &p));
	assert_memory_equal(p.dst.b, cl.b, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_snat_tcp_ip_and_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snat_port_in_range_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dnat_tcp_ip_and_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dnat_address_range_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dnat_then_snat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_binding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_ips_only_keeps_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proto_only_keeps_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_mapping_not_flagged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_protocols_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_portless_protocol_port_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_snat_keeps_id_and_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dnat_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_tcp_both_directions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_udp_zero_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_translated, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
