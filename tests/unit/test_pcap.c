// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_pcap.c — capture files in and out (ctsim/replay/pcap_io.h): what
 * ct_pcap_write() writes reads back byte for byte with its nanosecond
 * timestamps; hand-written files of each supported link type (Ethernet with
 * a VLAN tag, Linux cooked SLL, BSD loopback, raw IP) yield the L3 packet
 * with the link-layer header taken off, non-IP frames skipped and counted;
 * a cut capture keeps orig_len; a truncated file and a non-pcap file fail
 * with a message naming the problem.
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
#include <sys/socket.h>
#include <unistd.h>

#include "ctsim/core/packet.h"
#include "ctsim/replay/pcap_io.h"

/* LINKTYPE_* as stored in files, and the DLT_* that libpcap reports. */
#define LT_NULL		0
#define LT_ETHERNET	1
#define LT_RAW		101
#define LT_SLL		113

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/ctsim-test-pcap-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

/* A UDP (or, with @tcp, TCP) packet 10.0.0.1 -> 10.0.0.2 or fd00::1 ->
 * fd00::2 with @n payload bytes of value @fill. */
static size_t packet(uint8_t *buf, size_t cap, int family, bool tcp, size_t n, uint8_t fill)
{
	union ct_addr s, d;
	uint8_t l4[1024];
	size_t hl = tcp ? 20 : 8;
	int len;

	assert_true(hl + n <= sizeof(l4));
	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	memset(l4, 0, sizeof(l4));
	if (family == AF_INET6) {
		inet_pton(AF_INET6, "fd00::1", s.b);
		inet_pton(AF_INET6, "fd00::2", d.b);
	} else {
		inet_pton(AF_INET, "10.0.0.1", &s.ip);
		inet_pton(AF_INET, "10.0.0.2", &d.ip);
	}
	l4[0] = 0x30; l4[1] = 0x39;	/* 12345 */
	l4[3] = 80;
	if (tcp) {
		l4[12] = 5 << 4;
		l4[13] = 0x02;	/* SYN */
	} else {
		l4[4] = (uint8_t)((hl + n) >> 8);
		l4[5] = (uint8_t)(hl + n);
	}
	memset(l4 + hl, fill, n);
	len = ct_pkt_build(buf, cap, (uint8_t)family, &s, &d, tcp ? IPPROTO_TCP : IPPROTO_UDP,
			   l4, hl + n);
	assert_true(len > 0);
	return (size_t)len;
}

/* Hand-written files: a little-endian microsecond pcap header ... */
static FILE *file_start(uint32_t linktype, uint32_t snaplen)
{
	uint32_t h[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, snaplen, linktype };
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(h, sizeof(h), 1, f), 1);
	return f;
}

/* ... and records: @l2 (the link-layer header), then @l3, cut at @caplen
 * bytes in all (0: not cut). */
static void record(FILE *f, uint32_t sec, uint32_t usec, const void *l2, size_t l2len,
		   const void *l3, size_t l3len, size_t caplen)
{
	uint32_t total = (uint32_t)(l2len + l3len);
	uint32_t incl = caplen ? (uint32_t)caplen : total;
	uint32_t r[4] = { sec, usec, incl, total };
	uint8_t buf[2048];

	memcpy(buf, l2, l2len);
	memcpy(buf + l2len, l3, l3len);
	assert_int_equal(fwrite(r, sizeof(r), 1, f), 1);
	assert_int_equal(fwrite(buf, incl, 1, f), 1);
}

static void test_write_read_back(void **state)
{
	static const uint64_t ts[3] = { 1700000000000000001ull, 1700000000123456789ull,
					1700000001999999999ull };
	uint8_t p[3][512];
	size_t len[3];
	char err[CT_PCAP_ERRLEN] = "";
	struct ct_pcap_writer *w;
	struct ct_pcap_reader *r;
	struct ct_pcap_rec rec;

	(void)state;
	len[0] = packet(p[0], sizeof(p[0]), AF_INET, false, 10, 0xaa);
	len[1] = packet(p[1], sizeof(p[1]), AF_INET6, true, 0, 0);
	len[2] = packet(p[2], sizeof(p[2]), AF_INET, true, 200, 0x55);
	w = ct_pcap_create(path, err);
	assert_non_null(w);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ct_pcap_write(w, ts[i], p[i], len[i], err), 0);
	assert_int_equal(ct_pcap_finish(w, err), 0);

	r = ct_pcap_open(path, err);
	assert_non_null(r);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ct_pcap_next(r, &rec, err), 1);
		assert_int_equal(rec.ts_ns, ts[i]);	/* nanoseconds survive */
		assert_int_equal(rec.len, len[i]);
		assert_int_equal(rec.orig_len, len[i]);
		assert_memory_equal(rec.l3, p[i], len[i]);
		assert_int_equal(rec.index, (uint64_t)i + 1);
		assert_int_equal(rec.linktype, ct_pcap_linktype(r));
	}
	assert_int_equal(ct_pcap_next(r, &rec, err), 0);
	assert_int_equal(ct_pcap_skipped(r), 0);
	ct_pcap_close(r);
}

static void test_ethernet_vlan_arp(void **state)
{
	uint8_t v4[512], v6[512], arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	uint8_t eth4[14] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00 };
	uint8_t vlan6[18] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0x00, 0x00, 0x07,
			      0x86, 0xdd };
	uint8_t etharp[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06 };
	size_t n4 = packet(v4, sizeof(v4), AF_INET, false, 4, 1);
	size_t n6 = packet(v6, sizeof(v6), AF_INET6, false, 4, 2);
	char err[CT_PCAP_ERRLEN] = "";
	struct ct_pcap_reader *r;
	struct ct_pcap_rec rec;
	FILE *f = file_start(LT_ETHERNET, 65535);

	(void)state;
	record(f, 100, 5, eth4, sizeof(eth4), v4, n4, 0);
	record(f, 101, 0, etharp, sizeof(etharp), arp, sizeof(arp), 0);
	record(f, 102, 999999, vlan6, sizeof(vlan6), v6, n6, 0);
	fclose(f);

	r = ct_pcap_open(path, err);
	assert_non_null(r);
	assert_int_equal(ct_pcap_linktype(r), LT_ETHERNET);	/* DLT_EN10MB */
	assert_int_equal(ct_pcap_next(r, &rec, err), 1);
	assert_int_equal(rec.ts_ns, 100 * 1000000000ull + 5000);	/* µs file, ns out */
	assert_int_equal(rec.len, n4);
	assert_memory_equal(rec.l3, v4, n4);
	assert_int_equal(rec.index, 1);
	assert_int_equal(ct_pcap_next(r, &rec, err), 1);	/* ARP skipped */
	assert_int_equal(rec.index, 3);
	assert_int_equal(rec.ts_ns, 102 * 1000000000ull + 999999000ull);
	assert_int_equal(rec.len, n6);
	assert_memory_equal(rec.l3, v6, n6);	/* the VLAN tag is off too */
	assert_int_equal(ct_pcap_next(r, &rec, err), 0);
	assert_int_equal(ct_pcap_skipped(r), 1);
	ct_pcap_close(r);
}

/* Linux cooked (SLL: protocol at bytes 14-15) and BSD loopback (a 4-byte
 * address family in the writer's byte order) captures. */
static void test_sll_and_loopback(void **state)
{
	uint8_t v4[512], v6[512];
	uint8_t sll[16] = { 0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00 };
	uint32_t af_inet = 2, af_inet6 = 10;
	size_t n4 = packet(v4, sizeof(v4), AF_INET, true, 0, 0);
	size_t n6 = packet(v6, sizeof(v6), AF_INET6, true, 0, 0);
	char err[CT_PCAP_ERRLEN] = "";
	struct ct_pcap_reader *r;
	struct ct_pcap_rec rec;
	FILE *f = file_start(LT_SLL, 65535);

	(void)state;
	record(f, 1, 0, sll, sizeof(sll), v4, n4, 0);
	fclose(f);
	r = ct_pcap_open(path, err);
	assert_non_null(r);
	assert_int_equal(ct_pcap_next(r, &rec, err), 1);
	assert_int_equal(rec.len, n4);
	assert_memory_equal(rec.l3, v4, n4);
	ct_pcap_close(r);

	f = file_start(LT_NULL, 65535);
	record(f, 1, 0, &af_inet, 4, v4, n4, 0);
	record(f, 2, 0, &af_inet6, 4, v6, n6, 0);
	fclose(f);
	r = ct_pcap_open(path, err);
	assert_non_null(r);
	assert_int_equal(ct_pcap_next(r, &rec, err), 1);
	assert_memory_equal(rec.l3, v4, n4);
	assert_int_equal(ct_pcap_next(r, &rec, err), 1);
	assert_int_equal(rec.len, n6);
	assert_memory_equal(rec.l3, v6, n6);
	ct_pcap_close(r);
}

/* A raw-IP file whose second record was cut by the snap length: the
 * captured bytes and the length on the wire both arrive. */
static void test_raw_snaplen(void **state)
{
	uint8_t v4[512];
	size_t n4 = packet(v4, sizeof(v4), AF_INET, false, 300, 7);
	char err[CT_PCAP_ERRLEN] = "";
	struct ct_pcap_reader *r;
	struct ct_pcap_rec rec;
	FILE *f = file_start(LT_RAW, 96);

	(void)state;
	record(f, 1, 0, "", 0, v4, 28, 0);
	record(f, 1, 1, "", 0, v4, n4, 96);
	fclose(f);
	r = ct_pcap_open(path, err);
	assert_non_null(r);
	assert_int_equal(ct_pcap_next(r, &rec, err), 1);
	assert_int_equal(rec.len, 28);
	assert_int_equal(ct_pcap_next(r, &rec, err), 1);
	assert_int_equal(rec.len, 96);
	assert_int_equal(rec.orig_len, n4);
	assert_memory_equal(rec.l3, v4, 96);
	ct_pcap_close(r);
}

static int count_cb(const struct ct_pcap_rec *rec, void *arg)
{
	(void)rec;
	++*(unsigned *)arg;
	return 0;
}

static void test_bad_files(void **state)
{
	uint8_t v4[512];
	size_t n4 = packet(v4, sizeof(v4), AF_INET, false, 100, 7);
	char err[CT_PCAP_ERRLEN] = "";
	unsigned seen = 0;
	FILE *f = file_start(LT_RAW, 65535);

	(void)state;
	record(f, 1, 0, "", 0, v4, n4, 0);
	record(f, 2, 0, "", 0, v4, n4, 0);
	fclose(f);
	/* cut the file in the middle of the second record */
	assert_int_equal(truncate(path, (off_t)(24 + 16 + n4 + 16 + 10)), 0);
	assert_int_equal(ct_pcap_foreach(path, count_cb, &seen, NULL, err), -1);
	assert_int_equal(seen, 1);
	assert_non_null(strstr(err, "truncated"));
	assert_non_null(strstr(err, path));	/* messages start with the file */

	f = fopen(path, "wb");
	assert_non_null(f);
	fputs("this is not a capture file at all, just some text\n", f);
	fclose(f);
	assert_null(ct_pcap_open(path, err));
	assert_non_null(strstr(err, "not a pcap file"));

	assert_null(ct_pcap_open("/nonexistent/ctsim.pcap", err));
	assert_true(err[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ethernet_vlan_arp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sll_and_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_snaplen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
