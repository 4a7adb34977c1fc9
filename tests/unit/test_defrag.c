// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_defrag.c — reassembly before tracking (ctsim/core/defrag.h):
 * fragments in order, out of order and interleaved with another datagram,
 * exact duplicates (dropped alone) and overlaps (the whole datagram
 * dropped), the queue timeout, zones as part of the key, and IPv6 (the
 * fragment header removed). Fragments are cut from datagrams built with
 * ct_pkt_build(), whose payload is a counting pattern, so a reassembly that
 * puts a byte in the wrong place fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "ctsim/core/defrag.h"
#include "ctsim/core/packet.h"

#define SEC	1000000000ull
#define PAYLOAD	100	/* UDP payload bytes: 108 of L4, three 40-byte fragments */

struct frags {
	uint8_t whole[256];	/* the datagram, before fragmentation */
	size_t whole_len;
	uint8_t f[4][160];
	size_t len[4];
	int n;
};

static void w16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static uint16_t r16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void ip4_csum(uint8_t *h)
{
	uint32_t s = 0;

	h[10] = h[11] = 0;
	for (int i = 0; i < 20; i += 2)
		s += r16(h + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	w16(h + 10, (uint16_t)~s);
}

/* A UDP datagram 10.1.0.1:1111 -> 10.2.0.2:2222 (or fd01::1 -> fd02::2)
 * whose payload bytes count up from @seed, cut into 40-byte fragments
 * with IP id (fragment id) @id. */
static void make(struct frags *fr, int family, uint16_t id, uint8_t seed)
{
	union ct_addr s, d;
	uint8_t l4[8 + PAYLOAD];
	size_t hl = family == AF_INET6 ? 40 : 20, pl, off;
	int len;

	memset(fr, 0, sizeof(*fr));
	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	if (family == AF_INET6) {
		inet_pton(AF_INET6, "fd01::1", s.b);
		inet_pton(AF_INET6, "fd02::2", d.b);
	} else {
		inet_pton(AF_INET, "10.1.0.1", &s.ip);
		inet_pton(AF_INET, "10.2.0.2", &d.ip);
	}
	w16(l4, 1111);
	w16(l4 + 2, 2222);
	w16(l4 + 4, sizeof(l4));
	w16(l4 + 6, 0);
	for (int i = 0; i < PAYLOAD; i++)
		l4[8 + i] = (uint8_t)(seed + i);
	len = ct_pkt_build(fr->whole, sizeof(fr->whole), (uint8_t)family, &s, &d, IPPROTO_UDP,
			   l4, sizeof(l4));
	assert_true(len > 0);
	fr->whole_len = (size_t)len;
	if (family == AF_INET) {
		fr->whole[6] = 0;	/* no DF */
		w16(fr->whole + 4, id);
		ip4_csum(fr->whole);
	}
	pl = fr->whole_len - hl;
	for (off = 0; off < pl; off += 40) {
		size_t k = pl - off < 40 ? pl - off : 40;
		bool more = off + k < pl;
		uint8_t *f = fr->f[fr->n];

		if (family == AF_INET) {
			memcpy(f, fr->whole, 20);
			memcpy(f + 20, fr->whole + 20 + off, k);
			w16(f + 2, (uint16_t)(20 + k));
			w16(f + 6, (uint16_t)(off / 8 | (more ? 0x2000 : 0)));
			ip4_csum(f);
			fr->len[fr->n] = 20 + k;
		} else {
			memcpy(f, fr->whole, 40);
			f[6] = 44;			/* next header: fragment */
			f[40] = IPPROTO_UDP;
			f[41] = 0;
			w16(f + 42, (uint16_t)(off | (more ? 1 : 0)));
			w16(f + 44, 0);
			w16(f + 46, id);
			memcpy(f + 48, fr->whole + 40 + off, k);
			w16(f + 4, (uint16_t)(8 + k));
			fr->len[fr->n] = 48 + k;
		}
		fr->n++;
	}
	assert_int_equal(fr->n, 3);
}

/* Feed fragment @i of @fr at @now in @zone. */
static int feed(struct ct_defrag *d, struct frags *fr, int i, uint16_t zone, uint64_t now,
		uint8_t **out, size_t *outlen, const char **why)
{
	struct ct_pkt p;
	const char *r = NULL;

	memset(&p, 0, sizeof(p));
	p.data = fr->f[i];
	p.len = fr->len[i];
	assert_int_equal(ct_pkt_parse(&p, &r), 0);
	assert_true(p.is_fragment);
	*out = NULL;
	*why = NULL;
	return ct_defrag_add(d, &p, zone, now, out, outlen, why);
}

/* The reassembled datagram carries the original payload, in order, and
 * parses as one whole (not fragmented) UDP datagram. */
static void check_whole(const struct frags *fr, int family, uint8_t *out, size_t outlen)
{
	size_t hl = family == AF_INET6 ? 40 : 20;
	struct ct_pkt p;
	const char *why = NULL;

	assert_non_null(out);
	assert_int_equal(outlen, fr->whole_len);
	assert_memory_equal(out + hl, fr->whole + hl, fr->whole_len - hl);
	if (family == AF_INET6) {
		assert_int_equal(out[6], IPPROTO_UDP);	/* fragment header gone */
		assert_int_equal(r16(out + 4), fr->whole_len - 40);
	} else {
		assert_int_equal(r16(out + 2), fr->whole_len);
		assert_int_equal(r16(out + 6) & 0x3fff, 0);	/* no MF, offset 0 */
	}
	memset(&p, 0, sizeof(p));
	p.data = out;
	p.len = outlen;
	assert_int_equal(ct_pkt_parse(&p, &why), 0);
	assert_false(p.is_fragment);
	assert_int_equal(p.l4proto, IPPROTO_UDP);
	assert_int_equal(p.sport, 1111);
	assert_int_equal(p.dport, 2222);
}

static void in_order(int family)
{
	struct ct_defrag *d = ct_defrag_new(0);
	struct ct_defrag_stats st;
	struct frags fr;
	uint8_t *out;
	size_t outlen;
	const char *why;

	make(&fr, family, 0x1234, 0);
	assert_int_equal(feed(d, &fr, 0, 0, SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_null(out);
	assert_int_equal(feed(d, &fr, 1, 0, SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	ct_defrag_get_stats(d, &st);
	assert_int_equal(st.queues, 1);
	assert_true(st.mem > 0);
	assert_int_equal(feed(d, &fr, 2, 0, SEC, &out, &outlen, &why), CT_DEFRAG_DONE);
	check_whole(&fr, family, out, outlen);
	free(out);
	ct_defrag_get_stats(d, &st);
	assert_int_equal(st.reasm_ok, 1);
	assert_int_equal(st.queues, 0);
	assert_int_equal(st.mem, 0);
	assert_null(ct_defrag_reason(d));
	ct_defrag_free(d);
}

static void test_in_order_v4(void **state)
{
	(void)state;
	in_order(AF_INET);
}

static void test_in_order_v6(void **state)
{
	(void)state;
	in_order(AF_INET6);
}

static void out_of_order(int family)
{
	struct ct_defrag *d = ct_defrag_new(0);
	struct frags a, b;
	uint8_t *out;
	size_t outlen;
	const char *why;

	/* two datagrams between the same hosts, ids differ: interleaved and
	 * each in reverse order, neither borrows the other's bytes */
	make(&a, family, 1, 0);
	make(&b, family, 2, 0x80);
	assert_int_equal(feed(d, &a, 2, 0, SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_int_equal(feed(d, &b, 2, 0, SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_int_equal(feed(d, &a, 1, 0, SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_int_equal(feed(d, &b, 0, 0, SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_int_equal(feed(d, &a, 0, 0, SEC, &out, &outlen, &why), CT_DEFRAG_DONE);
	check_whole(&a, family, out, outlen);
	free(out);
	assert_int_equal(feed(d, &b, 1, 0, SEC, &out, &outlen, &why), CT_DEFRAG_DONE);
	check_whole(&b, family, out, outlen);
	free(out);
	ct_defrag_free(d);
}

static void test_out_of_order_v4(void **state)
{
	(void)state;
	out_of_order(AF_INET);
}

static void test_out_of_order_v6(void **state)
{
	(void)state;
	out_of_order(AF_INET6);
}

static void test_duplicate_dropped_alone(void **state)
{
	struct ct_defrag *d = ct_defrag_new(0);
	struct ct_defrag_stats st;
	struct frags fr;
	uint8_t *out;
	size_t outlen;
	const char *why;

	(void)state;
	make(&fr, AF_INET, 9, 3);
	assert_int_equal(feed(d, &fr, 1, 0, SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_int_equal(feed(d, &fr, 1, 0, SEC, &out, &outlen, &why), CT_DEFRAG_DROP);
	assert_non_null(why);
	assert_string_equal(why, "duplicate fragment");
	assert_string_equal(ct_defrag_reason(d), why);
	ct_defrag_get_stats(d, &st);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.reasm_fails, 0);
	/* the datagram survives: the rest completes it */
	assert_int_equal(feed(d, &fr, 0, 0, SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_int_equal(feed(d, &fr, 2, 0, SEC, &out, &outlen, &why), CT_DEFRAG_DONE);
	check_whole(&fr, AF_INET, out, outlen);
	free(out);
	ct_defrag_free(d);
}

static void overlap(int family)
{
	struct ct_defrag *d = ct_defrag_new(0);
	struct ct_defrag_stats st;
	struct frags fr;
	uint8_t *out;
	size_t outlen;
	const char *why;

	make(&fr, family, 5, 0);
	/* fragment 1 starts 8 bytes early: it overlaps fragment 0 */
	if (family == AF_INET6) {
		w16(fr.f[1] + 42, (uint16_t)(32 | 1));
	} else {
		w16(fr.f[1] + 6, 0x2000 | 4);
		ip4_csum(fr.f[1]);
	}
	assert_int_equal(feed(d, &fr, 0, 0, SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_int_equal(feed(d, &fr, 1, 0, SEC, &out, &outlen, &why), CT_DEFRAG_DROP);
	assert_string_equal(why, "overlapping fragment");
	ct_defrag_get_stats(d, &st);
	assert_int_equal(st.overlaps, 1);
	assert_int_equal(st.reasm_fails, 1);
	assert_int_equal(st.queues, 0);	/* the whole datagram went */
	assert_int_equal(st.mem, 0);
	/* so the last fragment starts a new queue instead of completing one */
	assert_int_equal(feed(d, &fr, 2, 0, SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	ct_defrag_free(d);
}

static void test_overlap_v4(void **state)
{
	(void)state;
	overlap(AF_INET);
}

static void test_overlap_v6(void **state)
{
	(void)state;
	overlap(AF_INET6);
}

static void test_timeout(void **state)
{
	struct ct_defrag *d = ct_defrag_new(0);
	struct ct_defrag_stats st;
	struct frags a, b;
	uint8_t *out;
	size_t outlen;
	const char *why;

	(void)state;
	ct_defrag_set_timeouts(d, 2 * SEC, 5 * SEC);
	make(&a, AF_INET, 1, 0);
	make(&b, AF_INET6, 1, 0);
	assert_int_equal(feed(d, &a, 0, 0, 10 * SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_int_equal(feed(d, &b, 0, 0, 10 * SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	/* the timer starts with the first fragment and is not refreshed */
	assert_int_equal(feed(d, &a, 1, 0, 11 * SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_int_equal(ct_defrag_expire(d, 12 * SEC - 1), 0);
	assert_int_equal(ct_defrag_expire(d, 12 * SEC + 1), 1);	/* IPv4 only: 2 s */
	ct_defrag_get_stats(d, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.queues, 1);
	/* the IPv4 datagram is gone: its last fragment completes nothing */
	assert_int_equal(feed(d, &a, 2, 0, 12 * SEC + 2, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_null(out);
	/* IPv6 still within its 5 s */
	assert_int_equal(feed(d, &b, 1, 0, 14 * SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_int_equal(feed(d, &b, 2, 0, 14 * SEC, &out, &outlen, &why), CT_DEFRAG_DONE);
	check_whole(&b, AF_INET6, out, outlen);
	free(out);
	/* a queue past its time is expired by the next add as well */
	assert_int_equal(feed(d, &a, 0, 0, 100 * SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	ct_defrag_get_stats(d, &st);
	assert_int_equal(st.timeouts, 2);
	assert_int_equal(st.queues, 1);
	ct_defrag_free(d);
}

static void test_zone_is_part_of_key(void **state)
{
	struct ct_defrag *d = ct_defrag_new(0);
	struct frags fr;
	uint8_t *out;
	size_t outlen;
	const char *why;

	(void)state;
	make(&fr, AF_INET, 77, 0);
	/* the same fragments in zones 1 and 2 are two datagrams */
	assert_int_equal(feed(d, &fr, 0, 1, SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_int_equal(feed(d, &fr, 1, 2, SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_int_equal(feed(d, &fr, 2, 1, SEC, &out, &outlen, &why), CT_DEFRAG_QUEUED);
	assert_int_equal(feed(d, &fr, 1, 1, SEC, &out, &outlen, &why), CT_DEFRAG_DONE);
	check_whole(&fr, AF_INET, out, outlen);
	free(out);
	/* zone 2 still holds only fragment 1: fragment 1 again is a duplicate */
	assert_int_equal(feed(d, &fr, 1, 2, SEC, &out, &outlen, &why), CT_DEFRAG_DROP);
	ct_defrag_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_v4),
		cmocka_unit_test(test_in_order_v6),
		cmocka_unit_test(test_out_of_order_v4),
		cmocka_unit_test(test_out_of_order_v6),
		cmocka_unit_test(test_duplicate_dropped_alone),
		cmocka_unit_test(test_overlap_v4),
		cmocka_unit_test(test_overlap_v6),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_zone_is_part_of_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
