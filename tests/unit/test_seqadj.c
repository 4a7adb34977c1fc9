/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_seqadj.c — unit tests of the NAT helpers' payload mangling and the
 * sequence adjustment (ctsim/core/nat_helper.c, seqadj.c).
 *
 * Kernel behaviour checked:
 *   - __nf_nat_mangle_tcp_packet(): the bytes replaced, the IP length and
 *     header checksum and the TCP checksum valid afterwards, a longer
 *     packet moved to a buffer of its own; a length change recorded with
 *     nf_ct_seqadj_set() at the packet's sequence number (IPS_SEQ_ADJUST;
 *     correction_pos = seq, offset_before = 0, offset_after = delta), a
 *     change of the same length recorded nowhere;
 *   - nf_ct_seqadj_set(): a second change at a sequence after the
 *     correction point moves it (offsets accumulate), one at or before it
 *     (a retransmission) does not;
 *   - nf_ct_seq_adjust(): a packet after the correction point leaves with
 *     seq + offset_after, one at or before it with offset_before; the other
 *     direction's ack and SACK edges move back; checksums stay valid; a
 *     TCP option running past the header drops the packet;
 *   - nf_ct_seq_offset(): the offset for a sequence number.
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
#include "ctsim/core/nat_helper.h"
#include "ctsim/core/packet.h"
#include "ctsim/core/seqadj.h"
#include "ctsim/core/table.h"

struct fixture {
	struct ct_settings s;
	struct ct_clock clock;
	struct ct_events ev;
	struct ct_table t;
	struct conn *c;
};

static int setup(void **state)
{
	static struct fixture f;
	struct ct_tuple o, r;
	struct ct_zone z = { 0, CT_ZONE_DIR_BOTH };

	memset(&f, 0, sizeof(f));
	ct_settings_init(&f.s);
	f.s.buckets = 16;
	f.s.max = 16;
	ct_clock_init_virtual(&f.clock, 1700000000ull * CT_NSEC_PER_SEC);
	assert_int_equal(ct_table_init(&f.t, &f.s, &f.clock, &f.ev, 7), 0);
	memset(&o, 0, sizeof(o));
	inet_pton(AF_INET, "10.0.0.1", &o.src.ip);
	inet_pton(AF_INET, "192.0.2.1", &o.dst.ip);
	o.sport = 40000;
	o.dport = 21;
	o.l3num = AF_INET;
	o.l4num = IPPROTO_TCP;
	assert_true(ct_tuple_invert(&o, &r));
	r.l3num = AF_INET;
	r.l4num = IPPROTO_TCP;
	f.c = conn_alloc(&f.t, &o, &r, &z);
	assert_non_null(f.c);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	conn_free_unhashed(&f->t, f->c);
	ct_table_destroy(&f->t);
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A TCP segment (ACK set) with @opt (a multiple of 4 bytes) and @data,
 * built exactly @cap big when @cap is 0 (the buffer holds only it). */
static size_t segment(struct ct_pkt *p, uint8_t *buf, size_t cap, bool reply, uint32_t seq,
		      uint32_t ack, const uint8_t *opt, size_t optlen, const char *data)
{
	uint8_t l4[256];
	size_t dlen = strlen(data), l4len = 20 + optlen + dlen;
	union ct_addr a, b;
	const char *why;
	int n;

	memset(l4, 0, sizeof(l4));
	l4[0] = reply ? 0 : 0x9c, l4[1] = reply ? 21 : 0x40;
	l4[2] = reply ? 0x9c : 0, l4[3] = reply ? 0x40 : 21;
	put32(l4 + 4, seq);
	put32(l4 + 8, ack);
	l4[12] = (uint8_t)((20 + optlen) / 4) << 4;
	l4[13] = 0x18;		/* PSH ACK */
	l4[14] = 0xfa;
	memcpy(l4 + 20, opt, optlen);
	memcpy(l4 + 20 + optlen, data, dlen);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	inet_pton(AF_INET, reply ? "192.0.2.1" : "10.0.0.1", &a.ip);
	inet_pton(AF_INET, reply ? "10.0.0.1" : "192.0.2.1", &b.ip);
	n = ct_pkt_build(buf, cap, AF_INET, &a, &b, IPPROTO_TCP, l4, l4len);
	assert_true(n > 0);
	memset(p, 0, sizeof(*p));
	p->data = buf;
	p->len = (size_t)n;
	assert_int_equal(ct_pkt_parse(p, &why), 0);
	assert_true(ct_pkt_l4_csum_ok(p));
	return (size_t)n;
}

/* The packet still parses (IP length, header checksum) and its TCP
 * checksum verifies. */
static void assert_valid(struct ct_pkt *p)
{
	struct ct_pkt q;
	const char *why;

	memset(&q, 0, sizeof(q));
	q.data = p->data;
	q.len = p->len;
	assert_int_equal(ct_pkt_parse(&q, &why), 0);
	assert_true(ct_pkt_l4_csum_ok(&q));
}

static void test_mangle_grows_and_records(void **state)
{
	struct fixture *f = *state;
	static const char cmd[] = "PORT 10,0,0,1,195,80\r\n";
	uint8_t buf[40 + sizeof(cmd) - 1];
	struct ct_pkt p;
	const struct ctnl_seqadj *w;

	/* the buffer is exactly the packet: growing needs a copy */
	assert_int_equal(segment(&p, buf, sizeof(buf), false, 1017, 5034, NULL, 0, cmd),
			 sizeof(buf));
	assert_true(ct_nat_mangle_tcp_packet(&p, f->c, CT_DIR_ORIG, 5, 15, "203,0,113,254,195,80",
					     20));
	assert_non_null(p.grown);
	assert_ptr_equal(p.data, p.grown);
	assert_int_equal(p.len, sizeof(buf) + 5);
	assert_memory_equal(p.data + 40, "PORT 203,0,113,254,195,80\r\n", 27);
	assert_valid(&p);
	assert_true(f->c->status & CT_S_SEQ_ADJUST);
	w = &f->c->ext->seqadj[CT_DIR_ORIG];
	assert_int_equal(w->correction_pos, 1017);
	assert_int_equal(w->offset_before, 0);
	assert_int_equal(w->offset_after, 5);
	assert_int_equal(f->c->ext->seqadj[CT_DIR_REPLY].offset_after, 0);
	ct_pkt_release(&p);
	assert_null(p.grown);
}

static void test_mangle_same_length_not_recorded(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[256];
	struct ct_pkt p;

	segment(&p, buf, sizeof(buf), false, 1017, 5034, NULL, 0, "PORT 10,0,0,1,195,80\r\n");
	assert_true(ct_nat_mangle_tcp_packet(&p, f->c, CT_DIR_ORIG, 5, 15, "10,0,0,9,195,80", 15));
	assert_null(p.grown);
	assert_memory_equal(p.data + 40, "PORT 10,0,0,9,195,80\r\n", 22);
	assert_valid(&p);
	assert_false(f->c->status & CT_S_SEQ_ADJUST);
	/* a match past the payload: nothing changes */
	assert_false(ct_nat_mangle_tcp_packet(&p, f->c, CT_DIR_ORIG, 20, 5, "x", 1));
}

static void test_seqadj_set_moves_only_forward(void **state)
{
	struct fixture *f = *state;
	const struct ctnl_seqadj *w;

	assert_int_equal(ct_seqadj_set(f->c, CT_DIR_ORIG, 1000, 2), 0);
	w = &f->c->ext->seqadj[CT_DIR_ORIG];
	/* a retransmission of the same segment: no second correction */
	assert_int_equal(ct_seqadj_set(f->c, CT_DIR_ORIG, 1000, 2), 0);
	assert_int_equal(w->correction_pos, 1000);
	assert_int_equal(w->offset_after, 2);
	/* a later command: offsets accumulate */
	assert_int_equal(ct_seqadj_set(f->c, CT_DIR_ORIG, 1100, -1), 0);
	assert_int_equal(w->correction_pos, 1100);
	assert_int_equal(w->offset_before, 2);
	assert_int_equal(w->offset_after, 1);
	assert_int_equal(ct_seqadj_offset(f->c, CT_DIR_ORIG, 1100), 2);
	assert_int_equal(ct_seqadj_offset(f->c, CT_DIR_ORIG, 1101), 1);
	assert_int_equal(ct_seqadj_offset(f->c, CT_DIR_REPLY, 1101), 0);
}

static void test_seq_adjust_packets(void **state)
{
	struct fixture *f = *state;
	/* NOP NOP SACK(10): one block, edges in the client's stream */
	uint8_t sack[12] = { 1, 1, 5, 10 }, buf[256];
	struct ct_pkt p;

	assert_int_equal(ct_seqadj_set(f->c, CT_DIR_ORIG, 1017, 2), 0);
	/* the client's next segment leaves 2 higher */
	segment(&p, buf, sizeof(buf), false, 1040, 5063, NULL, 0, "RETR f\r\n");
	assert_true(ct_seqadj_packet(f->c, CT_DIR_ORIG, &p));
	assert_int_equal(get32(p.data + 24), 1042);
	assert_int_equal(get32(p.data + 28), 5063);	/* no offset the other way */
	assert_valid(&p);
	/* the mangled segment itself (seq = correction point): offset before */
	segment(&p, buf, sizeof(buf), false, 1017, 5034, NULL, 0, "PORT\r\n");
	assert_true(ct_seqadj_packet(f->c, CT_DIR_ORIG, &p));
	assert_int_equal(get32(p.data + 24), 1017);
	/* the server's ack and SACK edges come back 2 lower */
	put32(sack + 4, 1050);
	put32(sack + 8, 1060);
	segment(&p, buf, sizeof(buf), true, 5063, 1042, sack, sizeof(sack), "");
	assert_true(ct_seqadj_packet(f->c, CT_DIR_REPLY, &p));
	assert_int_equal(get32(p.data + 24), 5063);
	assert_int_equal(get32(p.data + 28), 1040);
	assert_int_equal(get32(p.data + 44), 1048);
	assert_int_equal(get32(p.data + 48), 1058);
	assert_valid(&p);
	/* an ack not past the correction point: offset before (0) */
	segment(&p, buf, sizeof(buf), true, 5063, 1017, NULL, 0, "");
	assert_true(ct_seqadj_packet(f->c, CT_DIR_REPLY, &p));
	assert_int_equal(get32(p.data + 28), 1017);
	/* an option running past the header: dropped */
	{
		uint8_t bad[4] = { 1, 1, 5, 12 };

		segment(&p, buf, sizeof(buf), true, 5063, 1042, bad, sizeof(bad), "");
		assert_false(ct_seqadj_packet(f->c, CT_DIR_REPLY, &p));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mangle_grows_and_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mangle_same_length_not_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seqadj_set_moves_only_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_adjust_packets, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
