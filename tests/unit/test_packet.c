// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_packet.c — packet parsing, tuples, checksums, ICMP errors, defrag,
 * pcap in and out. Packets are built with ct_pkt_build() (or by hand where
 * they must be malformed), so no binary vectors are needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctsim/core/defrag.h"
#include "ctsim/core/packet.h"
#include "ctsim/replay/pcap_io.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif
#ifndef IPPROTO_DCCP
#define IPPROTO_DCCP 33
#endif

static union ct_addr A4, B4, A6, B6;

static void addrs(void)
{
	memset(&A4, 0, sizeof(A4));
	memset(&B4, 0, sizeof(B4));
	inet_pton(AF_INET, "10.0.0.1", &A4.ip);
	inet_pton(AF_INET, "10.0.0.2", &B4.ip);
	inet_pton(AF_INET6, "2001:db8::1", A6.b);
	inet_pton(AF_INET6, "2001:db8::2", B6.b);
}

static int setup(void **state)
{
	(void)state;
	addrs();
	return 0;
}

static void wr16(uint8_t *b, uint16_t v) { b[0] = (uint8_t)(v >> 8); b[1] = (uint8_t)v; }

/* Recompute the IPv4 header checksum after editing the header by hand. */
static void fix_ip_csum(uint8_t *b)
{
	size_t ihl = (size_t)(b[0] & 15) * 4, i;
	uint32_t s = 0;

	if (ihl < 20)
		ihl = 20;
	b[10] = b[11] = 0;
	for (i = 0; i < ihl; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	wr16(b + 10, (uint16_t)~s);
}

static size_t tcp_hdr(uint8_t *l4, uint16_t sp, uint16_t dp, uint8_t flags, size_t payload)
{
	memset(l4, 0, 20 + payload);
	wr16(l4, sp);
	wr16(l4 + 2, dp);
	l4[4] = 0x11;	/* seq 0x11000000 */
	l4[12] = 5 << 4;
	l4[13] = flags;
	wr16(l4 + 14, 65535);
	return 20 + payload;
}

static size_t udp_hdr(uint8_t *l4, uint16_t sp, uint16_t dp, size_t payload)
{
	memset(l4, 0xab, 8 + payload);
	wr16(l4, sp);
	wr16(l4 + 2, dp);
	wr16(l4 + 4, (uint16_t)(8 + payload));
	return 8 + payload;
}

static size_t icmp_echo(uint8_t *l4, uint8_t type, uint16_t id)
{
	memset(l4, 0, 16);
	l4[0] = type;
	wr16(l4 + 4, id);
	wr16(l4 + 6, 1);
	return 16;
}

static struct ct_pkt mk(uint8_t *buf, size_t cap, uint8_t fam, uint8_t proto, const void *l4,
			size_t l4len)
{
	struct ct_pkt p;
	int n;

	memset(&p, 0, sizeof(p));
	n = ct_pkt_build(buf, cap, fam, fam == AF_INET ? &A4 : &A6, fam == AF_INET ? &B4 : &B6,
			 proto, l4, l4len);
	assert_true(n > 0);
	p.data = buf;
	p.len = (size_t)n;
	return p;
}

static void parse_ok(struct ct_pkt *p)
{
	const char *why = NULL;

	assert_int_equal(ct_pkt_parse(p, &why), 0);
	assert_null(why);
}

static void parse_fails(struct ct_pkt *p, const char *reason)
{
	const char *why = NULL;

	assert_int_equal(ct_pkt_parse(p, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

/* ---------------------------------------------------------------------- */

static void test_tcp4(void **state)
{
	uint8_t buf[128], l4[64];
	size_t n = tcp_hdr(l4, 40000, 80, CT_TCP_SYN, 5);
	struct ct_pkt p = mk(buf, sizeof(buf), AF_INET, IPPROTO_TCP, l4, n);
	struct ct_tuple t;

	(void)state;
	parse_ok(&p);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.l4proto, IPPROTO_TCP);
	assert_int_equal(p.l4off, 20);
	assert_int_equal(p.l4len, 25);
	assert_int_equal(p.ttl, 64);
	assert_false(p.is_fragment);
	assert_false(p.l4_truncated);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 80);
	assert_int_equal(p.tcp_flags, CT_TCP_SYN);
	assert_int_equal(p.tcp_doff, 20);
	assert_int_equal(p.tcp_seq, 0x11000000);
	assert_int_equal(p.tcp_win, 65535);
	assert_true(ct_pkt_l4_csum_ok(&p));
	assert_true(ct_pkt_get_tuple(&p, &t));
	assert_int_equal(t.l3num, AF_INET);
	assert_int_equal(t.l4num, IPPROTO_TCP);
	assert_memory_equal(&t.src, &A4, sizeof(A4));
	assert_memory_equal(&t.dst, &B4, sizeof(B4));
	assert_int_equal(t.sport, 40000);
	assert_int_equal(t.dport, 80);
	assert_int_equal(t.icmp_type, 0);

	/* one payload bit flipped: checksum bad */
	buf[p.len - 1] ^= 1;
	assert_false(ct_pkt_l4_csum_ok(&p));
}

static void test_tcp6_trim(void **state)
{
	uint8_t buf[128], l4[64];
	size_t n = tcp_hdr(l4, 1, 2, CT_TCP_ACK | CT_TCP_FIN, 0);
	struct ct_pkt p = mk(buf, sizeof(buf), AF_INET6, IPPROTO_TCP, l4, n);
	struct ct_tuple t;

	(void)state;
	p.len += 10;	/* link-layer padding beyond the IP length is trimmed */
	parse_ok(&p);
	assert_int_equal(p.len, 60);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.l4off, 40);
	assert_int_equal(p.tcp_flags, CT_TCP_ACK | CT_TCP_FIN);
	assert_true(ct_pkt_l4_csum_ok(&p));
	assert_true(ct_pkt_get_tuple(&p, &t));
	assert_memory_equal(&t.src, &A6, 16);
	assert_int_equal(t.l3num, AF_INET6);
}

static void test_udp(void **state)
{
	uint8_t buf[128], l4[64];
	size_t n = udp_hdr(l4, 5353, 53, 12);
	struct ct_pkt p;
	struct ct_tuple t;
	int fam;

	(void)state;
	for (fam = 0; fam < 2; fam++) {
		p = mk(buf, sizeof(buf), fam ? AF_INET6 : AF_INET, IPPROTO_UDP, l4, n);
		parse_ok(&p);
		assert_int_equal(p.sport, 5353);
		assert_int_equal(p.dport, 53);
		assert_true(ct_pkt_l4_csum_ok(&p));
		assert_true(ct_pkt_get_tuple(&p, &t));
		assert_int_equal(t.sport, 5353);
		assert_int_equal(t.dport, 53);
		assert_int_equal(t.l4num, IPPROTO_UDP);
		/* a zero checksum: fine over IPv4, bad over IPv6 */
		buf[p.l4off + 6] = buf[p.l4off + 7] = 0;
		assert_int_equal(ct_pkt_l4_csum_ok(&p), !fam);
	}
}

static void test_udplite(void **state)
{
	uint8_t buf[128], l4[64];
	size_t n = udp_hdr(l4, 7, 9, 20);
	struct ct_pkt p;

	(void)state;
	wr16(l4 + 4, 8);	/* checksum coverage: the header only */
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_UDPLITE, l4, n);
	parse_ok(&p);
	assert_int_equal(p.sport, 7);
	assert_true(ct_pkt_l4_csum_ok(&p));
	buf[p.len - 1] ^= 0xff;	/* outside the coverage: still fine */
	assert_true(ct_pkt_l4_csum_ok(&p));
	buf[p.l4off + 1] ^= 0xff;	/* inside: bad */
	assert_false(ct_pkt_l4_csum_ok(&p));
	buf[p.l4off + 1] ^= 0xff;
	wr16(buf + p.l4off + 4, 4);	/* coverage below 8: bad */
	assert_false(ct_pkt_l4_csum_ok(&p));
	wr16(buf + p.l4off + 4, 200);	/* coverage past the end: bad */
	assert_false(ct_pkt_l4_csum_ok(&p));
}

static void test_icmp_echo(void **state)
{
	uint8_t buf[128], l4[64];
	struct ct_pkt p;
	struct ct_tuple t;

	(void)state;
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_ICMP, l4, icmp_echo(l4, 8, 0x1234));
	parse_ok(&p);
	assert_int_equal(p.icmp_type, 8);
	assert_int_equal(p.icmp_id, 0x1234);
	assert_true(ct_pkt_l4_csum_ok(&p));
	assert_true(ct_pkt_get_tuple(&p, &t));
	assert_int_equal(t.icmp_type, 8);
	assert_int_equal(t.icmp_code, 0);
	assert_int_equal(t.sport, 0x1234);
	assert_int_equal(t.dport, 0);
	buf[p.l4off + 9] ^= 1;
	assert_false(ct_pkt_l4_csum_ok(&p));

	p = mk(buf, sizeof(buf), AF_INET6, IPPROTO_ICMPV6, l4, icmp_echo(l4, 129, 77));
	parse_ok(&p);
	assert_int_equal(p.icmp_type, 129);
	assert_int_equal(p.icmp_id, 77);
	assert_true(ct_pkt_l4_csum_ok(&p));
	assert_true(ct_pkt_get_tuple(&p, &t));
	assert_int_equal(t.sport, 77);
	assert_int_equal(t.l4num, IPPROTO_ICMPV6);
	buf[8] ^= 1;	/* source address: covered by the pseudo-header */
	parse_ok(&p);
	assert_false(ct_pkt_l4_csum_ok(&p));

	/* an 8-byte ICMP header is enough, 7 is a short packet */
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_ICMP, l4, 7);
	parse_ok(&p);
	assert_true(p.l4_truncated);
	assert_string_equal(p.l4_reason, "short packet");
	assert_false(ct_pkt_get_tuple(&p, &t));
}

static void test_gre_sctp_dccp_generic(void **state)
{
	uint8_t buf[128], l4[64];
	struct ct_pkt p;
	struct ct_tuple t;

	(void)state;
	/* GRE version 0: keys 0 */
	memset(l4, 0, 8);
	wr16(l4 + 2, 0x0800);
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_GRE, l4, 8);
	parse_ok(&p);
	assert_int_equal(p.gre_version, 0);
	assert_true(ct_pkt_get_tuple(&p, &t));
	assert_int_equal(t.sport, 0);
	assert_int_equal(t.dport, 0);

	/* GRE version 1 (PPTP): call id as the destination key */
	l4[0] = 0x20;	/* K bit */
	l4[1] = 0x01;	/* version 1 */
	wr16(l4 + 2, 0x880b);
	wr16(l4 + 6, 0x4242);
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_GRE, l4, 8);
	parse_ok(&p);
	assert_int_equal(p.gre_version, 1);
	assert_int_equal(p.gre_key[0], 0x4242);
	assert_true(ct_pkt_get_tuple(&p, &t));
	assert_int_equal(t.dport, 0x4242);
	assert_int_equal(t.sport, 0);
	/* version 1 not carrying PPP: no tuple (gre_pkt_to_tuple()) */
	wr16(l4 + 2, 0x0800);
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_GRE, l4, 8);
	parse_ok(&p);
	assert_false(ct_pkt_get_tuple(&p, &t));

	/* SCTP: ports, vtag, CRC32c */
	memset(l4, 0, 28);
	wr16(l4, 5000);
	wr16(l4 + 2, 5001);
	l4[4] = 0xde; l4[5] = 0xad; l4[6] = 0xbe; l4[7] = 0xef;
	l4[12] = 1;	/* INIT */
	wr16(l4 + 14, 16);
	p = mk(buf, sizeof(buf), AF_INET6, IPPROTO_SCTP, l4, 28);
	parse_ok(&p);
	assert_int_equal(p.sport, 5000);
	assert_int_equal(p.sctp_vtag, 0xdeadbeef);
	assert_true(ct_pkt_l4_csum_ok(&p));
	assert_true(ct_pkt_get_tuple(&p, &t));
	assert_int_equal(t.dport, 5001);
	buf[p.len - 1] ^= 4;
	assert_false(ct_pkt_l4_csum_ok(&p));

	/* DCCP: ports */
	memset(l4, 0, 16);
	wr16(l4, 1111);
	wr16(l4 + 2, 2222);
	l4[4] = 4;
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_DCCP, l4, 16);
	parse_ok(&p);
	assert_true(ct_pkt_get_tuple(&p, &t));
	assert_int_equal(t.sport, 1111);
	assert_int_equal(t.dport, 2222);

	/* generic protocol 253: addresses and protocol only */
	p = mk(buf, sizeof(buf), AF_INET, 253, "xyz", 3);
	parse_ok(&p);
	assert_true(ct_pkt_get_tuple(&p, &t));
	assert_int_equal(t.l4num, 253);
	assert_int_equal(t.sport, 0);
	assert_true(ct_pkt_l4_csum_ok(&p));
}

static void test_ipv4_malformed(void **state)
{
	uint8_t buf[128], l4[64];
	size_t n = udp_hdr(l4, 1, 2, 4);
	struct ct_pkt p;

	(void)state;
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_UDP, l4, n);
	p.len = 12;
	parse_fails(&p, "truncated IPv4 header");

	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_UDP, l4, n);
	buf[0] = 0x44;
	fix_ip_csum(buf);
	parse_fails(&p, "IPv4 header length below 20 bytes");

	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_UDP, l4, n);
	buf[0] = 0x4f;	/* 60 bytes of header in a 32-byte packet */
	parse_fails(&p, "truncated IPv4 header");

	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_UDP, l4, n);
	buf[8] = 1;	/* TTL changed, checksum not */
	parse_fails(&p, "bad IPv4 header checksum");

	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_UDP, l4, n);
	wr16(buf + 2, 100);
	fix_ip_csum(buf);
	parse_fails(&p, "IPv4 total length exceeds the packet");

	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_UDP, l4, n);
	wr16(buf + 2, 19);
	fix_ip_csum(buf);
	parse_fails(&p, "IPv4 total length below the header length");

	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_UDP, l4, n);
	buf[0] = 0x55;
	parse_fails(&p, "unknown IP version");

	p.len = 0;
	parse_fails(&p, "empty packet");
}

static void test_l4_truncated(void **state)
{
	uint8_t buf[128], l4[64];
	size_t n = tcp_hdr(l4, 1, 2, CT_TCP_SYN, 0);
	struct ct_pkt p;
	struct ct_tuple t;

	(void)state;
	l4[12] = 4 << 4;	/* doff 16 */
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_TCP, l4, n);
	parse_ok(&p);
	assert_true(p.l4_truncated);
	assert_string_equal(p.l4_reason, "truncated packet");
	assert_true(ct_pkt_get_tuple(&p, &t));	/* the ports are there */

	l4[12] = 8 << 4;	/* doff 32 > 20 bytes of segment */
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_TCP, l4, n);
	parse_ok(&p);
	assert_true(p.l4_truncated);

	p = mk(buf, sizeof(buf), AF_INET6, IPPROTO_TCP, l4, 12);
	parse_ok(&p);
	assert_true(p.l4_truncated);
	assert_string_equal(p.l4_reason, "short packet");
	assert_true(ct_pkt_get_tuple(&p, &t));
	assert_false(ct_pkt_l4_csum_ok(&p));

	n = udp_hdr(l4, 1, 2, 0);
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_UDP, l4, 6);
	parse_ok(&p);
	assert_true(p.l4_truncated);
	assert_string_equal(p.l4_reason, "short packet");
	assert_true(ct_pkt_get_tuple(&p, &t));
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_UDP, l4, 3);
	parse_ok(&p);
	assert_false(ct_pkt_get_tuple(&p, &t));
	(void)n;
}

/* An IPv6 packet with extension headers: @ext holds the chain, whose first
 * header is @first; the caller sets the last next-header byte. */
static struct ct_pkt mk6_ext(uint8_t *buf, uint8_t first, const uint8_t *ext, size_t extlen,
			     const uint8_t *l4, size_t l4len)
{
	uint8_t tmp[256];
	struct ct_pkt p;

	memcpy(tmp, ext, extlen);
	memcpy(tmp + extlen, l4, l4len);
	p = mk(buf, 512, AF_INET6, first, tmp, extlen + l4len);
	return p;
}

static void test_ipv6_ext(void **state)
{
	uint8_t buf[512], l4[64], ext[64];
	size_t n = udp_hdr(l4, 100, 200, 4);
	struct ct_pkt p;
	struct ct_tuple t;

	(void)state;
	/* hop-by-hop (8) -> destination options (16) -> AH (12+4=16) -> UDP */
	memset(ext, 0, sizeof(ext));
	ext[0] = 60;			/* HBH: next = dest opts, len 0 = 8 bytes */
	ext[8] = 51; ext[9] = 1;	/* dest opts: next = AH, 16 bytes */
	ext[24] = IPPROTO_UDP; ext[25] = 2;	/* AH: (2+2)*4 = 16 bytes */
	p = mk6_ext(buf, 0, ext, 40, l4, n);
	parse_ok(&p);
	assert_int_equal(p.l4proto, IPPROTO_UDP);
	assert_int_equal(p.l4off, 80);
	assert_int_equal(p.sport, 100);
	assert_true(ct_pkt_get_tuple(&p, &t));
	assert_int_equal(t.dport, 200);

	/* routing header claiming 2 KB: past the end */
	ext[0] = 43;
	ext[8] = IPPROTO_UDP; ext[9] = 255;
	p = mk6_ext(buf, 0, ext, 16, l4, n);
	parse_fails(&p, "truncated IPv6 extension header");
	assert_true(p.untrackable);

	/* no next header */
	p = mk(buf, sizeof(buf), AF_INET6, 59, "", 0);
	parse_fails(&p, "no upper-layer header (IPv6 no next header)");
	assert_true(p.untrackable);

	/* ESP ends the walk: an upper layer of its own */
	p = mk(buf, sizeof(buf), AF_INET6, 50, l4, 16);
	parse_ok(&p);
	assert_int_equal(p.l4proto, 50);

	/* atomic fragment (offset 0, M=0): not a fragment */
	memset(ext, 0, 8);
	ext[0] = IPPROTO_UDP;
	ext[4] = 0xaa;
	p = mk6_ext(buf, 44, ext, 8, l4, n);
	parse_ok(&p);
	assert_false(p.is_fragment);
	assert_int_equal(p.l4proto, IPPROTO_UDP);
	assert_int_equal(p.l4off, 48);

	/* first fragment (M=1): a fragment, L4 visible */
	ext[3] = 1;
	p = mk6_ext(buf, 44, ext, 8, l4, n);
	parse_ok(&p);
	assert_true(p.is_fragment);
	assert_true(p.frag_more);
	assert_int_equal(p.frag_offset, 0);
	assert_int_equal(p.frag_id, 0xaa000000u);
	assert_int_equal(p.frag_hdroff, 40);
	assert_int_equal(p.frag_nhoff, 6);
	assert_int_equal(p.sport, 100);

	/* later fragment: no L4 */
	wr16(ext + 2, 8 << 3);
	p = mk6_ext(buf, 44, ext, 8, l4, n);
	parse_ok(&p);
	assert_true(p.is_fragment);
	assert_int_equal(p.frag_offset, 64);
	assert_false(ct_pkt_get_tuple(&p, &t));

	/* payload length beyond the buffer */
	p = mk(buf, sizeof(buf), AF_INET6, IPPROTO_UDP, l4, n);
	p.len -= 1;
	parse_fails(&p, "IPv6 payload length exceeds the packet");
	p.len = 39;
	parse_fails(&p, "truncated IPv6 header");
}

static void test_ipv4_fragment_flags(void **state)
{
	uint8_t buf[128], l4[64];
	size_t n = udp_hdr(l4, 1, 2, 8);
	struct ct_pkt p;
	struct ct_tuple t;

	(void)state;
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_UDP, l4, n);
	wr16(buf + 6, 0x2000);	/* MF */
	fix_ip_csum(buf);
	parse_ok(&p);
	assert_true(p.is_fragment);
	assert_int_equal(p.sport, 1);
	wr16(buf + 6, 3);	/* offset 24 */
	fix_ip_csum(buf);
	parse_ok(&p);
	assert_true(p.is_fragment);
	assert_int_equal(p.frag_offset, 24);
	assert_false(ct_pkt_get_tuple(&p, &t));
	wr16(buf + 6, 0x4000);	/* DF only */
	fix_ip_csum(buf);
	parse_ok(&p);
	assert_false(p.is_fragment);
}

static void test_icmp_error_inner(void **state)
{
	uint8_t inner[128], ibuf[128], l4[160], buf[256], u[64];
	size_t n = udp_hdr(u, 33333, 53, 20);
	int ilen;
	struct ct_pkt p, in;
	struct ct_tuple t;
	const char *why;

	(void)state;
	/* the datagram B4 -> A4 that the error is about; keep 28 bytes of it */
	ilen = ct_pkt_build(inner, sizeof(inner), AF_INET, &B4, &A4, IPPROTO_UDP, u, n);
	assert_true(ilen > 28);
	memset(l4, 0, 8);
	l4[0] = 3;	/* port unreachable */
	l4[1] = 3;
	memcpy(l4 + 8, inner, 28);
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_ICMP, l4, 36);
	parse_ok(&p);
	assert_true(ct_pkt_l4_csum_ok(&p));
	assert_int_equal(ct_pkt_icmp_inner(&p, &in, &why), 0);
	assert_int_equal(in.family, AF_INET);
	assert_int_equal(in.l4proto, IPPROTO_UDP);
	assert_int_equal(in.sport, 33333);
	assert_int_equal(in.dport, 53);
	assert_true(ct_pkt_get_tuple(&in, &t));
	assert_memory_equal(&t.src, &B4, 4);
	assert_memory_equal(&t.dst, &A4, 4);
	assert_int_equal(t.sport, 33333);
	assert_int_equal(t.dport, 53);
	assert_ptr_equal(in.data, buf + 28);

	/* an echo is not an error */
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_ICMP, l4, icmp_echo(l4, 8, 1));
	parse_ok(&p);
	assert_int_equal(ct_pkt_icmp_inner(&p, &in, &why), -1);

	/* inner TCP cut after 8 bytes: fine, the ports are there */
	n = tcp_hdr(u, 2000, 443, CT_TCP_SYN, 0);
	ilen = ct_pkt_build(inner, sizeof(inner), AF_INET, &B4, &A4, IPPROTO_TCP, u, n);
	memset(l4, 0, 8);
	l4[0] = 11;
	memcpy(l4 + 8, inner, 28);
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_ICMP, l4, 36);
	parse_ok(&p);
	assert_int_equal(ct_pkt_icmp_inner(&p, &in, &why), 0);
	assert_true(in.l4_truncated);
	assert_int_equal(in.sport, 2000);
	assert_int_equal(in.dport, 443);
	/* only 3 bytes of inner L4: no tuple */
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_ICMP, l4, 8 + 23);
	parse_ok(&p);
	assert_int_equal(ct_pkt_icmp_inner(&p, &in, &why), -1);
	assert_string_equal(why, "truncated inner L4 header");
	/* inner IP header cut */
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_ICMP, l4, 8 + 12);
	parse_ok(&p);
	assert_int_equal(ct_pkt_icmp_inner(&p, &in, &why), -1);
	assert_string_equal(why, "truncated inner IPv4 header");

	/* inner ICMP echo inside an ICMP error */
	ilen = ct_pkt_build(inner, sizeof(inner), AF_INET, &A4, &B4, IPPROTO_ICMP, u,
			    icmp_echo(u, 8, 999));
	memset(l4, 0, 8);
	l4[0] = 3;
	l4[1] = 1;
	memcpy(l4 + 8, inner, (size_t)ilen);
	p = mk(buf, sizeof(buf), AF_INET, IPPROTO_ICMP, l4, 8 + (size_t)ilen);
	parse_ok(&p);
	assert_int_equal(ct_pkt_icmp_inner(&p, &in, &why), 0);
	assert_true(ct_pkt_get_tuple(&in, &t));
	assert_int_equal(t.icmp_type, 8);
	assert_int_equal(t.sport, 999);

	/* ICMPv6 packet too big (type 2) about a UDP datagram */
	n = udp_hdr(u, 4444, 5555, 0);
	ilen = ct_pkt_build(ibuf, sizeof(ibuf), AF_INET6, &B6, &A6, IPPROTO_UDP, u, n);
	memset(l4, 0, 8);
	l4[0] = 2;
	wr16(ibuf + 4, 1200);	/* inner payload length larger than what is quoted */
	memcpy(l4 + 8, ibuf, (size_t)ilen);
	p = mk(buf, sizeof(buf), AF_INET6, IPPROTO_ICMPV6, l4, 8 + (size_t)ilen);
	parse_ok(&p);
	assert_true(ct_pkt_l4_csum_ok(&p));
	assert_int_equal(ct_pkt_icmp_inner(&p, &in, &why), 0);
	assert_int_equal(in.family, AF_INET6);
	assert_true(ct_pkt_get_tuple(&in, &t));
	assert_memory_equal(&t.src, &B6, 16);
	assert_int_equal(t.sport, 4444);
	assert_int_equal(t.dport, 5555);
}

/* ---------------------------------------------------------------------- */
/* Robustness: random mutations of valid packets never crash               */

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void test_fuzz(void **state)
{
	uint8_t seeds[12][256];
	size_t seedlen[12];
	uint8_t l4[200], ext[64];
	int ns = 0, i, k;
	struct ct_defrag *d = ct_defrag_new(64 << 10);
	uint64_t now = 0;
	unsigned parsed = 0, inner = 0, frags = 0, whole = 0;

	(void)state;
	assert_non_null(d);
#define SEED(fam, proto, l4p, len) do { \
		int r_ = ct_pkt_build(seeds[ns], 256, fam, fam == AF_INET ? &A4 : &A6, \
				      fam == AF_INET ? &B4 : &B6, proto, l4p, len); \
		assert_true(r_ > 0); seedlen[ns++] = (size_t)r_; } while (0)
	SEED(AF_INET, IPPROTO_TCP, l4, tcp_hdr(l4, 1, 2, CT_TCP_SYN, 10));
	SEED(AF_INET6, IPPROTO_TCP, l4, tcp_hdr(l4, 1, 2, CT_TCP_SYN, 10));
	SEED(AF_INET, IPPROTO_UDP, l4, udp_hdr(l4, 1, 2, 10));
	SEED(AF_INET6, IPPROTO_UDPLITE, l4, udp_hdr(l4, 1, 2, 10));
	SEED(AF_INET, IPPROTO_ICMP, l4, icmp_echo(l4, 8, 3));
	SEED(AF_INET6, IPPROTO_ICMPV6, l4, icmp_echo(l4, 128, 3));
	/* ICMP errors quoting a datagram */
	memset(l4, 0, 8);
	l4[0] = 3;
	memcpy(l4 + 8, seeds[2], seedlen[2]);
	SEED(AF_INET, IPPROTO_ICMP, l4, 8 + seedlen[2]);
	l4[0] = 1;
	memcpy(l4 + 8, seeds[1], seedlen[1]);
	SEED(AF_INET6, IPPROTO_ICMPV6, l4, 8 + seedlen[1]);
	/* IPv6 with a header chain, and an IPv6 first fragment */
	memset(ext, 0, sizeof(ext));
	ext[0] = 60; ext[8] = 44; ext[9] = 0; ext[16] = IPPROTO_UDP; ext[19] = 1;
	memcpy(l4, ext, 24);
	udp_hdr(l4 + 24, 1, 2, 16);
	SEED(AF_INET6, 0, l4, 24 + 24);
	memset(l4, 0, 30);
	l4[1] = 1; wr16(l4 + 2, 0x880b);
	SEED(AF_INET, IPPROTO_GRE, l4, 30);
	memset(l4, 0, 30);
	SEED(AF_INET, IPPROTO_SCTP, l4, 30);
	SEED(AF_INET, IPPROTO_DCCP, l4, 14);
#undef SEED

	for (i = 0; i < 100000; i++) {
		uint8_t *buf;
		size_t len;
		int s = (int)(rnd() % (unsigned)ns), flips = 1 + (int)(rnd() % 4);
		struct ct_pkt p, in;
		struct ct_tuple t;
		const char *why;

		len = seedlen[s];
		/* an exact-size heap copy, so ASan sees any read past the end */
		buf = malloc(len);
		assert_non_null(buf);
		memcpy(buf, seeds[s], len);
		for (k = 0; k < flips; k++) {
			size_t at = rnd() % len;

			if (rnd() % 3 == 0 && at < 48)
				buf[at] = (uint8_t)rnd();	/* headers are the interesting part */
			else
				buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
		}
		if (rnd() % 4 == 0)
			len = rnd() % (len + 1);
		if (i % 2 == 0 && (buf[0] >> 4) == 4 && len >= 20 && (size_t)(buf[0] & 15) * 4 <= len)
			fix_ip_csum(buf);	/* get past the header checksum half of the time */
		memset(&p, 0, sizeof(p));
		p.data = buf;
		p.len = len;
		if (ct_pkt_parse(&p, &why) == 0) {
			parsed++;
			assert_true(p.len <= len);
			assert_true((size_t)p.l4off + p.l4len <= p.len);
			(void)ct_pkt_get_tuple(&p, &t);
			(void)ct_pkt_l4_csum_ok(&p);
			if (ct_pkt_icmp_inner(&p, &in, &why) == 0) {
				inner++;
				assert_true(in.data + in.len <= p.data + p.len);
				assert_true((size_t)in.l4off + in.l4len <= in.len);
				(void)ct_pkt_get_tuple(&in, &t);
			}
			if (p.is_fragment) {
				uint8_t *out = NULL;
				size_t outlen;

				frags++;
				if (ct_defrag_add(d, &p, 0, now, &out, &outlen, &why) ==
				    CT_DEFRAG_DONE) {
					struct ct_pkt w = { .data = out, .len = outlen };

					whole++;
					(void)ct_pkt_parse(&w, &why);
					free(out);
				}
			}
		} else {
			assert_non_null(why);
		}
		free(buf);
		now += 1000000;	/* 1 ms: the defrag queues time out along the way */
	}
	print_message("fuzz: 100000 mutants, %u parsed, %u ICMP errors with an inner packet, "
		      "%u fragments, %u reassembled\n", parsed, inner, frags, whole);
	assert_true(parsed > 10000 && inner > 100 && frags > 100);
	ct_defrag_free(d);
}

/* ---------------------------------------------------------------------- */
/* Defrag                                                                  */

/* Split an IPv4 datagram into fragments of @fs payload bytes (multiple of 8). */
static int frag4(const uint8_t *pkt, size_t len, size_t fs, uint8_t out[][128], size_t *olen)
{
	size_t off, n = 0, pl = len - 20;

	for (off = 0; off < pl; off += fs, n++) {
		size_t k = pl - off < fs ? pl - off : fs;

		memcpy(out[n], pkt, 20);
		memcpy(out[n] + 20, pkt + 20 + off, k);
		wr16(out[n] + 2, (uint16_t)(20 + k));
		wr16(out[n] + 4, 0x77);
		wr16(out[n] + 6, (uint16_t)((off / 8) | (off + k < pl ? 0x2000 : 0)));
		fix_ip_csum(out[n]);
		olen[n] = 20 + k;
	}
	return (int)n;
}

/* Split an IPv6 datagram (no extension headers) into fragments. */
static int frag6(const uint8_t *pkt, size_t len, size_t fs, uint8_t out[][128], size_t *olen)
{
	size_t off, n = 0, pl = len - 40;

	for (off = 0; off < pl; off += fs, n++) {
		size_t k = pl - off < fs ? pl - off : fs;
		uint8_t *f = out[n];

		memcpy(f, pkt, 40);
		f[6] = 44;
		memset(f + 40, 0, 8);
		f[40] = pkt[6];
		wr16(f + 42, (uint16_t)(off | (off + k < pl ? 1 : 0)));
		f[44] = 0x12; f[47] = 0x34;
		memcpy(f + 48, pkt + 40 + off, k);
		wr16(f + 4, (uint16_t)(8 + k));
		olen[n] = 48 + k;
	}
	return (int)n;
}

static int feed(struct ct_defrag *d, uint8_t *f, size_t len, uint64_t now, uint8_t **out,
		size_t *outlen, const char **why)
{
	struct ct_pkt p = { .data = f, .len = len };

	assert_int_equal(ct_pkt_parse(&p, why), 0);
	assert_true(p.is_fragment);
	return ct_defrag_add(d, &p, 0, now, out, outlen, why);
}

static void test_defrag(void **state)
{
	uint8_t pkt[200], l4[200], fr[8][128], *out;
	size_t flen[8], outlen, n = udp_hdr(l4, 1000, 2000, 92);
	int plen, nf, i, fam;
	const char *why;
	struct ct_defrag *d = ct_defrag_new(0);
	struct ct_defrag_stats st;

	(void)state;
	for (fam = 0; fam < 2; fam++) {
		uint8_t af = fam ? AF_INET6 : AF_INET;

		plen = ct_pkt_build(pkt, sizeof(pkt), af, fam ? &A6 : &A4, fam ? &B6 : &B4,
				    IPPROTO_UDP, l4, n);
		if (!fam)
			pkt[6] = 0;	/* no DF, so the rebuilt header is byte-identical */
		if (!fam)
			fix_ip_csum(pkt);
		nf = fam ? frag6(pkt, (size_t)plen, 40, fr, flen) : frag4(pkt, (size_t)plen, 40, fr, flen);
		assert_int_equal(nf, 3);

		/* in order */
		for (i = 0; i < nf; i++) {
			int r = feed(d, fr[i], flen[i], 1, &out, &outlen, &why);

			assert_int_equal(r, i == nf - 1 ? CT_DEFRAG_DONE : CT_DEFRAG_QUEUED);
		}
		assert_int_equal(outlen, (size_t)plen);
		if (!fam)
			wr16(out + 4, 0);	/* the id the fragments carried */
		if (!fam)
			fix_ip_csum(out);
		assert_memory_equal(out, pkt, (size_t)plen);
		{
			struct ct_pkt w = { .data = out, .len = outlen };

			parse_ok(&w);
			assert_false(w.is_fragment);
			assert_true(ct_pkt_l4_csum_ok(&w));
			assert_int_equal(w.dport, 2000);
		}
		free(out);

		/* out of order, with an exact duplicate */
		assert_int_equal(feed(d, fr[2], flen[2], 2, &out, &outlen, &why), CT_DEFRAG_QUEUED);
		assert_int_equal(feed(d, fr[0], flen[0], 2, &out, &outlen, &why), CT_DEFRAG_QUEUED);
		assert_int_equal(feed(d, fr[0], flen[0], 2, &out, &outlen, &why), CT_DEFRAG_DROP);
		assert_string_equal(why, "duplicate fragment");
		assert_int_equal(feed(d, fr[1], flen[1], 2, &out, &outlen, &why), CT_DEFRAG_DONE);
		assert_int_equal(outlen, (size_t)plen);
		free(out);

		/* timeout: the first fragment is forgotten after 30 s / 60 s */
		assert_int_equal(feed(d, fr[0], flen[0], 10, &out, &outlen, &why), CT_DEFRAG_QUEUED);
		assert_int_equal(feed(d, fr[1], flen[1], 10 + (fam ? 60 : 30) * 1000000000ull, &out,
				      &outlen, &why), CT_DEFRAG_QUEUED);
		assert_int_equal(feed(d, fr[2], flen[2], 11 + (fam ? 60 : 30) * 1000000000ull, &out,
				      &outlen, &why), CT_DEFRAG_QUEUED);
		assert_int_equal(ct_defrag_expire(d, 1000 * 1000000000ull), 1);
	}
	ct_defrag_get_stats(d, &st);
	assert_int_equal(st.reasm_ok, 4);
	assert_int_equal(st.timeouts, 4);	/* two per family: at the add, and by expire */
	assert_int_equal(st.queues, 0);
	assert_int_equal(st.mem, 0);
	ct_defrag_free(d);
}

static void test_defrag_overlap_and_size(void **state)
{
	uint8_t pkt[200], l4[200], fr[8][128], *out;
	size_t flen[8], outlen, n = udp_hdr(l4, 1, 2, 92);
	int plen, fam;
	const char *why;
	struct ct_defrag *d = ct_defrag_new(0);
	struct ct_defrag_stats st;

	(void)state;
	for (fam = 0; fam < 2; fam++) {
		uint8_t af = fam ? AF_INET6 : AF_INET;
		uint8_t *f;

		plen = ct_pkt_build(pkt, sizeof(pkt), af, fam ? &A6 : &A4, fam ? &B6 : &B4,
				    IPPROTO_UDP, l4, n);
		if (fam)
			frag6(pkt, (size_t)plen, 40, fr, flen);
		else
			frag4(pkt, (size_t)plen, 40, fr, flen);
		/* fragment 1 moved back by 8 bytes: overlaps fragment 0 */
		f = fr[1];
		if (fam)
			wr16(f + 42, (uint16_t)(32 | 1));
		else {
			wr16(f + 6, 0x2000 | 4);
			fix_ip_csum(f);
		}
		assert_int_equal(feed(d, fr[0], flen[0], 1, &out, &outlen, &why), CT_DEFRAG_QUEUED);
		assert_int_equal(feed(d, f, flen[1], 1, &out, &outlen, &why), CT_DEFRAG_DROP);
		assert_string_equal(why, "overlapping fragment");
		/* the whole datagram is gone: the last fragment starts a new queue */
		assert_int_equal(feed(d, fr[2], flen[2], 1, &out, &outlen, &why), CT_DEFRAG_QUEUED);
		assert_int_equal(ct_defrag_expire(d, 1000 * 1000000000ull), 1);
	}
	ct_defrag_get_stats(d, &st);
	assert_int_equal(st.overlaps, 2);

	/* too big: an IPv4 fragment whose end passes 65535 bytes */
	plen = ct_pkt_build(pkt, sizeof(pkt), AF_INET, &A4, &B4, IPPROTO_UDP, l4, 48);
	frag4(pkt, (size_t)plen, 40, fr, flen);
	wr16(fr[1] + 6, (uint16_t)(65528 / 8));
	fix_ip_csum(fr[1]);
	assert_int_equal(feed(d, fr[1], flen[1], 1, &out, &outlen, &why), CT_DEFRAG_DROP);
	assert_string_equal(why, "oversized IP packet");

	/* IPv6: a non-last fragment whose length is not a multiple of 8 */
	plen = ct_pkt_build(pkt, sizeof(pkt), AF_INET6, &A6, &B6, IPPROTO_UDP, l4, 48);
	frag6(pkt, (size_t)plen, 40, fr, flen);
	wr16(fr[0] + 4, (uint16_t)(flen[0] - 3 - 40));
	assert_int_equal(feed(d, fr[0], flen[0] - 3, 1, &out, &outlen, &why), CT_DEFRAG_DROP);
	assert_string_equal(why, "end of fragment not rounded to 8 bytes");
	ct_defrag_free(d);

	/* memory budget: with 1 KB, fragments are refused once it is used up */
	d = ct_defrag_new(1024);
	{
		int i, refused = 0;

		for (i = 0; i < 40; i++) {
			plen = ct_pkt_build(pkt, sizeof(pkt), AF_INET, &A4, &B4, IPPROTO_UDP, l4, n);
			frag4(pkt, (size_t)plen, 40, fr, flen);
			wr16(fr[0] + 4, (uint16_t)i);
			fix_ip_csum(fr[0]);
			if (feed(d, fr[0], flen[0], 1, &out, &outlen, &why) == CT_DEFRAG_DROP) {
				assert_string_equal(why, "fragment memory limit reached");
				refused++;
			}
		}
		assert_true(refused > 0);
		assert_int_equal(ct_defrag_expire(d, 31 * 1000000000ull), 40 - refused);
	}
	ct_defrag_free(d);
}

/* ---------------------------------------------------------------------- */
/* pcap                                                                    */

struct count { int n, parsed; uint64_t last_ts; };

static int count_cb(const struct ct_pcap_rec *rec, void *arg)
{
	struct count *c = arg;
	uint8_t buf[2048];
	struct ct_pkt p;
	const char *why;

	assert_true(rec->len <= sizeof(buf));
	memcpy(buf, rec->l3, rec->len);
	memset(&p, 0, sizeof(p));
	p.data = buf;
	p.len = rec->len;
	if (ct_pkt_parse(&p, &why) == 0 && ct_pkt_l4_csum_ok(&p))
		c->parsed++;
	c->n++;
	c->last_ts = rec->ts_ns;
	return 0;
}

static void test_pcap_roundtrip(void **state)
{
	char path[] = "/tmp/ctsim-test-XXXXXX";
	char err[CT_PCAP_ERRLEN];
	uint8_t buf[128], l4[64];
	struct ct_pcap_writer *w;
	struct ct_pcap_reader *r;
	struct ct_pcap_rec rec;
	struct count c = { 0 };
	int fd, i;
	FILE *f;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	w = ct_pcap_create(path, err);
	assert_non_null(w);
	for (i = 0; i < 10; i++) {
		struct ct_pkt p = mk(buf, sizeof(buf), i % 2 ? AF_INET6 : AF_INET, IPPROTO_UDP,
				     l4, udp_hdr(l4, (uint16_t)i, 53, 5));

		assert_int_equal(ct_pcap_write(w, 1700000000123456789ull + (uint64_t)i, p.data,
					       p.len, err), 0);
	}
	assert_int_equal(ct_pcap_finish(w, err), 0);

	r = ct_pcap_open(path, err);
	assert_non_null(r);
	for (i = 0; i < 10; i++) {
		assert_int_equal(ct_pcap_next(r, &rec, err), 1);
		assert_int_equal(rec.ts_ns, 1700000000123456789ull + (uint64_t)i);
		assert_int_equal(rec.len, i % 2 ? 53 : 33);
		assert_int_equal(rec.orig_len, rec.len);
		assert_int_equal(rec.index, (uint64_t)i + 1);
	}
	assert_int_equal(ct_pcap_next(r, &rec, err), 0);
	ct_pcap_close(r);
	assert_int_equal(ct_pcap_foreach(path, count_cb, &c, NULL, err), 0);
	assert_int_equal(c.n, 10);
	assert_int_equal(c.parsed, 10);

	/* cut the file in the middle of the last record */
	assert_int_equal(truncate(path, 24 + 9 * 16 + 4 * 33 + 5 * 53 - 10), 0);
	c.n = 0;
	assert_int_equal(ct_pcap_foreach(path, count_cb, &c, NULL, err), -1);
	assert_non_null(strstr(err, "truncated record at packet 10"));
	assert_non_null(strstr(err, path));
	assert_int_equal(c.n, 9);

	/* not a pcap at all */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("hello, this is not a capture file\n", f);
	fclose(f);
	assert_null(ct_pcap_open(path, err));
	assert_non_null(strstr(err, "not a pcap file"));
	unlink(path);
	assert_null(ct_pcap_open(path, err));
	assert_non_null(strstr(err, "No such file"));
}

/* A hand-written Ethernet pcap: IPv4, VLAN-tagged IPv6, ARP (skipped). */
static void test_pcap_ethernet(void **state)
{
	char path[] = "/tmp/ctsim-test-XXXXXX";
	char err[CT_PCAP_ERRLEN];
	uint8_t buf[128], l4[64], frame[200];
	/* magic, version 2.4 (two little-endian u16), zone, sigfigs, snaplen, EN10MB */
	uint32_t gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	struct ct_pcap_rec rec;
	struct ct_pcap_reader *r;
	FILE *f;
	int fd, i;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	fwrite(gh, sizeof(gh), 1, f);
	for (i = 0; i < 3; i++) {
		struct ct_pkt p = mk(buf, sizeof(buf), i == 1 ? AF_INET6 : AF_INET, IPPROTO_UDP,
				     l4, udp_hdr(l4, 1, 2, 0));
		size_t off = 12, len;
		uint32_t rh[4];

		memset(frame, 0xee, 12);
		if (i == 1) {
			wr16(frame + 12, 0x8100);
			wr16(frame + 14, 42);
			off = 16;
		}
		wr16(frame + off, i == 0 ? 0x0800 : i == 1 ? 0x86dd : 0x0806);
		memcpy(frame + off + 2, p.data, p.len);
		len = off + 2 + p.len;
		rh[0] = 100 + (uint32_t)i;
		rh[1] = 5;
		rh[2] = rh[3] = (uint32_t)len;
		fwrite(rh, sizeof(rh), 1, f);
		fwrite(frame, len, 1, f);
	}
	fclose(f);

	r = ct_pcap_open(path, err);
	assert_non_null(r);
	assert_int_equal(ct_pcap_linktype(r), 1);
	assert_int_equal(ct_pcap_next(r, &rec, err), 1);
	assert_int_equal(rec.ts_ns, 100 * 1000000000ull + 5000);
	assert_int_equal(rec.l3[0] >> 4, 4);
	assert_int_equal(rec.len, 28);
	assert_int_equal(ct_pcap_next(r, &rec, err), 1);
	assert_int_equal(rec.l3[0] >> 4, 6);
	assert_int_equal(rec.len, 48);
	assert_int_equal(ct_pcap_next(r, &rec, err), 0);
	assert_int_equal(ct_pcap_skipped(r), 1);
	ct_pcap_close(r);
	unlink(path);
}

/* The shared reference folder: CTSIM_SHARED, as for the Python tests
 * (docs/testing.md), else the path meson found at configure time and passes
 * as the test's argument (../shared next to the source tree). */
static const char *shared_dir;

/* A capture made by the benchmark generator (Ethernet, 9 packets per TCP
 * connection). A missing generator fails the test: a skip here passed
 * unnoticed wherever the shared folder was not at its old absolute path. */
static void test_pcap_generated(void **state)
{
	char gen[4096], cmd[8192], path[] = "/tmp/ctsim-gen-XXXXXX", err[CT_PCAP_ERRLEN];
	struct count c = { 0 };
	uint64_t skipped = 1;
	int fd, rc;

	(void)state;
	if (!shared_dir || !*shared_dir)
		fail_msg("no shared folder: set CTSIM_SHARED or pass it as the first argument");
	snprintf(gen, sizeof(gen), "%s/bench/gen_tcp_pcap.py", shared_dir);
	if (access(gen, R_OK) != 0)
		fail_msg("%s: %s (set CTSIM_SHARED to the shared folder)", gen, strerror(errno));
	if (access("/usr/bin/python3", X_OK) != 0)
		fail_msg("/usr/bin/python3: %s", strerror(errno));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' 1000 100 %s >/dev/null 2>&1", gen, path);
	rc = system(cmd);
	if (rc != 0) {
		unlink(path);
		fail_msg("%s failed (status %d)", cmd, rc);
	}
	assert_int_equal(ct_pcap_foreach(path, count_cb, &c, &skipped, err), 0);
	assert_int_equal(c.n, 9000);
	assert_int_equal(c.parsed, 9000);
	assert_int_equal(skipped, 0);
	unlink(path);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp4),
		cmocka_unit_test(test_tcp6_trim),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_udplite),
		cmocka_unit_test(test_icmp_echo),
		cmocka_unit_test(test_gre_sctp_dccp_generic),
		cmocka_unit_test(test_ipv4_malformed),
		cmocka_unit_test(test_l4_truncated),
		cmocka_unit_test(test_ipv6_ext),
		cmocka_unit_test(test_ipv4_fragment_flags),
		cmocka_unit_test(test_icmp_error_inner),
		cmocka_unit_test(test_defrag),
		cmocka_unit_test(test_defrag_overlap_and_size),
		cmocka_unit_test(test_pcap_roundtrip),
		cmocka_unit_test(test_pcap_ethernet),
		cmocka_unit_test(test_pcap_generated),
		cmocka_unit_test(test_fuzz),
	};

	shared_dir = getenv("CTSIM_SHARED");
	if ((!shared_dir || !*shared_dir) && argc > 1)
		shared_dir = argv[1];
	return cmocka_run_group_tests(tests, setup, NULL);
}
