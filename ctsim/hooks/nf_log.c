/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nf_log.c — the `log` statement's line, in the format of the kernel's
 * nf_log_syslog (nf_log_ip_packet() / nf_log_ip6_packet() with
 * dump_ipv4_packet(), dump_ipv6_packet() and the TCP/UDP header dumps of
 * nf_log_dump_tcp_header() / nf_log_dump_udp_header(); default log flags:
 * no TCP sequence numbers, options or UIDs):
 *
 *   PREFIXIN=ct-c0 OUT=ct-s0 MAC= SRC=10.66.1.2 DST=10.66.2.2 LEN=40 TOS=0x00
 *   PREC=0x00 TTL=63 ID=1 PROTO=TCP SPT=40000 DPT=80 WINDOW=1000 RES=0x00 SYN URGP=0
 *
 * (one line, every field followed by a space, as the kernel's). MAC= is
 * printed for packets with an input device; ctsim's devices are TUN
 * devices, which have no link-layer header, so it stays empty, as the
 * kernel prints it for a tun device. An ICMP error quotes the packet it is
 * about in brackets, once (the kernel does not recurse further).
 * tests/test_trace.py compares these lines with a kernel router's.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "ctsim/hooks/ruleset.h"

struct lbuf {
	char *buf;
	size_t n, off;
};

static void add(struct lbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct lbuf *b, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (b->off + 1 >= b->n)
		return;
	va_start(ap, fmt);
	w = vsnprintf(b->buf + b->off, b->n - b->off, fmt, ap);
	va_end(ap);
	if (w > 0)
		b->off = b->off + (size_t)w < b->n ? b->off + (size_t)w : b->n - 1;
}

static unsigned u16at(const uint8_t *p)
{
	return (unsigned)(p[0] << 8 | p[1]);
}

static void log_ip(struct lbuf *b, const uint8_t *d, size_t len, bool inner, unsigned flags);

/* "OPT (0204...) ": options as upper-case hex (IPOPT, TCPOPT log flags) */
static void log_opts(struct lbuf *b, const uint8_t *o, size_t n)
{
	add(b, "OPT (");
	for (size_t i = 0; i < n; i++)
		add(b, "%02X", o[i]);
	add(b, ") ");
}

/* nf_log_dump_tcp_header(): ports, window, reserved bits, flags, URGP */
static void log_tcp(struct lbuf *b, const uint8_t *th, size_t len, unsigned flags)
{
	static const struct { uint8_t bit; const char *name; } fl[] = {
		{ 0x80, "CWR" }, { 0x40, "ECE" }, { 0x20, "URG" }, { 0x10, "ACK" },
		{ 0x08, "PSH" }, { 0x04, "RST" }, { 0x02, "SYN" }, { 0x01, "FIN" },
	};

	add(b, "PROTO=TCP ");
	if (len < 20) {
		add(b, "INCOMPLETE [%zu bytes] ", len);
		return;
	}
	add(b, "SPT=%u DPT=%u ", u16at(th), u16at(th + 2));
	if (flags & RS_LOG_TCPSEQ)
		add(b, "SEQ=%u ACK=%u ", (unsigned)(th[4] << 24 | th[5] << 16 | th[6] << 8 | th[7]),
		    (unsigned)(th[8] << 24 | th[9] << 16 | th[10] << 8 | th[11]));
	add(b, "WINDOW=%u ", u16at(th + 14));
	add(b, "RES=0x%02x ", (unsigned)(th[12] & 0x0f) << 2);
	for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
		if (th[13] & fl[i].bit)
			add(b, "%s ", fl[i].name);
	add(b, "URGP=%u ", u16at(th + 18));
	if ((flags & RS_LOG_TCPOPT) && (th[12] >> 4) * 4u > 20 && (th[12] >> 4) * 4u <= len)
		log_opts(b, th + 20, (th[12] >> 4) * 4u - 20);
}

/* nf_log_dump_udp_header() */
static void log_udp(struct lbuf *b, uint8_t proto, const uint8_t *uh, size_t len)
{
	add(b, "PROTO=%s ", proto == IPPROTO_UDP ? "UDP" : "UDPLITE");
	if (len < 8) {
		add(b, "INCOMPLETE [%zu bytes] ", len);
		return;
	}
	add(b, "SPT=%u DPT=%u LEN=%u ", u16at(uh), u16at(uh + 2), u16at(uh + 4));
}

/* The ICMP part of dump_ipv4_packet() / dump_ipv6_packet() */
static void log_icmp(struct lbuf *b, bool v6, const uint8_t *ic, size_t len, bool inner)
{
	uint8_t type;
	bool echo, err;

	add(b, "PROTO=%s ", v6 ? "ICMPv6" : "ICMP");
	if (len < 4) {
		add(b, "INCOMPLETE [%zu bytes] ", len);
		return;
	}
	type = ic[0];
	add(b, "TYPE=%u CODE=%u ", type, ic[1]);
	echo = v6 ? (type == 128 || type == 129) : (type == 0 || type == 8);
	err = v6 ? type < 128 : (type == 3 || type == 4 || type == 5 || type == 11 || type == 12);
	if (echo || (!v6 && (type == 12 || type == 5)) || (err && !inner)) {
		if (len < 8) {
			add(b, "INCOMPLETE [%zu bytes] ", len);
			return;
		}
	}
	if (echo)
		add(b, "ID=%u SEQ=%u ", u16at(ic + 4), u16at(ic + 6));
	if (!v6 && type == 12)
		add(b, "PARAMETER=%u ", ic[4]);
	if (!v6 && type == 5) {
		char gw[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, ic + 4, gw, sizeof(gw));
		add(b, "GATEWAY=%s ", gw);
	}
	if (err && !inner && len > 8) {
		add(b, "[");
		log_ip(b, ic + 8, len - 8, true, 0);
		add(b, "] ");
	}
	if (!v6 && type == 3 && ic[1] == 4)
		add(b, "MTU=%u ", u16at(ic + 6));
	if (v6 && type == 2)
		add(b, "MTU=%u ", (unsigned)(ic[4] << 24 | ic[5] << 16 | ic[6] << 8 | ic[7]));
}

/* %pI6: eight groups of four hex digits, nothing compressed */
static void add_ip6(struct lbuf *b, const char *key, const uint8_t *a)
{
	add(b, "%s=", key);
	for (int i = 0; i < 16; i += 2)
		add(b, "%02x%02x%s", a[i], a[i + 1], i < 14 ? ":" : " ");
}

/* dump_ipv4_packet() / dump_ipv6_packet() (no extension headers: ctsim
 * logs the upper layer of an IPv6 packet without them) */
static void log_ip(struct lbuf *b, const uint8_t *d, size_t len, bool inner, unsigned flags)
{
	const uint8_t *l4;
	size_t l4len;
	uint8_t proto;
	bool v6;

	if (len < 1 || ((d[0] >> 4) != 4 && (d[0] >> 4) != 6)) {
		add(b, "TRUNCATED ");
		return;
	}
	v6 = (d[0] >> 4) == 6;
	if (!v6) {
		char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
		unsigned ihl = (d[0] & 0x0f) * 4u, frag;

		if (len < 20 || ihl < 20 || len < ihl) {
			add(b, "TRUNCATED ");
			return;
		}
		inet_ntop(AF_INET, d + 12, src, sizeof(src));
		inet_ntop(AF_INET, d + 16, dst, sizeof(dst));
		add(b, "SRC=%s DST=%s ", src, dst);
		add(b, "LEN=%u TOS=0x%02X PREC=0x%02X TTL=%u ID=%u ", u16at(d + 2), d[1] & 0x1e,
		    d[1] & 0xe0, d[8], u16at(d + 4));
		frag = u16at(d + 6);
		if (frag & 0x8000)
			add(b, "CE ");
		if (frag & 0x4000)
			add(b, "DF ");
		if (frag & 0x2000)
			add(b, "MF ");
		if ((flags & RS_LOG_IPOPT) && ihl > 20)
			log_opts(b, d + 20, ihl - 20);
		if (frag & 0x1fff) {
			add(b, "FRAG:%u ", frag & 0x1fff);
			return;	/* no transport header in a later fragment */
		}
		proto = d[9];
		l4 = d + ihl;
		l4len = len - ihl;
		if (!inner && u16at(d + 2) >= ihl && u16at(d + 2) - ihl < l4len)
			l4len = u16at(d + 2) - ihl;
	} else {
		unsigned w;

		if (len < 40) {
			add(b, "TRUNCATED ");
			return;
		}
		add_ip6(b, "SRC", d + 8);
		add_ip6(b, "DST", d + 24);
		w = (unsigned)(d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3]);
		add(b, "LEN=%u TC=%u HOPLIMIT=%u FLOWLBL=%u ", u16at(d + 4) + 40u,
		    (w & 0x0ff00000) >> 20, d[7], w & 0x000fffff);
		proto = d[6];
		l4 = d + 40;
		l4len = len - 40;
	}
	switch (proto) {
	case IPPROTO_TCP: log_tcp(b, l4, l4len, flags); break;
	case IPPROTO_UDP: case IPPROTO_UDPLITE: log_udp(b, proto, l4, l4len); break;
	case IPPROTO_ICMP: log_icmp(b, false, l4, l4len, inner); break;
	case IPPROTO_ICMPV6: log_icmp(b, true, l4, l4len, inner); break;
	default: add(b, "PROTO=%u ", proto); break;
	}
}

size_t rs_log_format(char *buf, size_t n, const char *prefix, const struct ct_pkt *p,
		     unsigned flags)
{
	struct lbuf b = { buf, n, 0 };

	if (!n)
		return 0;
	buf[0] = 0;
	/* nf_log_dump_packet_common(): the prefix, then the devices */
	add(&b, "%sIN=%s OUT=%s ", prefix ? prefix : "", p->iifname, p->oifname);
	if (p->iifname[0])
		add(&b, "MAC= ");	/* dump_mac_header(): a TUN device has no header */
	if (p->data) {
		log_ip(&b, p->data, p->len, false, flags);
	} else {
		/* a packet view without its bytes (unit tests): the parsed fields */
		char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?";

		inet_ntop(p->family, p->src.b, src, sizeof(src));
		inet_ntop(p->family, p->dst.b, dst, sizeof(dst));
		add(&b, "SRC=%s DST=%s LEN=%zu TTL=%u PROTO=%u ", src, dst, p->len, p->ttl,
		    p->l4proto);
	}
	if (p->mark)
		add(&b, "MARK=0x%x ", p->mark);
	return b.off;
}
