// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * packet.c — L3/L4 parsing and validation, tuples from packets.
 *
 * What the kernel does before and at the start of conntrack, in order:
 *   ip_rcv_core() / ipv6_rcv()     header sanity, trim the skb to the IP length
 *   ipv6_skip_exthdr()             find the upper-layer header behind IPv6 options
 *   nf_ct_get_tuple()              the tuple (ports, ICMP type/code/id, GRE keys)
 *   nf_checksum()                  the L4 checksum, checked by the trackers
 * Every read is bounds-checked against p->len; nothing here trusts a length
 * field before comparing it with the bytes we actually have.
 */
#include "ctsim/core/packet.h"
#include "ctsim/core/csum.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef IPPROTO_DCCP
#define IPPROTO_DCCP	33
#endif
#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE	136
#endif
#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP	132
#endif
#define NEXTHDR_HOP	0
#define NEXTHDR_ROUTING	43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH	51
#define NEXTHDR_NONE	59
#define NEXTHDR_DEST	60

#define IPV4_HLEN	20
#define IPV6_HLEN	40
#define GRE_PROTO_PPP	0x880b

static uint16_t rd16(const uint8_t *b) { return (uint16_t)(b[0] << 8 | b[1]); }
static uint32_t rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static void wr16(uint8_t *b, uint16_t v) { b[0] = (uint8_t)(v >> 8); b[1] = (uint8_t)v; }

/* ---------------------------------------------------------------------- */
/* Checksums (the arithmetic is in csum.h)                                 */

/* The pseudo-header of TCP/UDP/UDP-Lite/ICMPv6 (RFC 793, RFC 8200 §8.1). */
static uint32_t csum_pseudo(const struct ct_pkt *p, uint8_t proto, uint32_t l4len)
{
	uint32_t sum = 0;

	if (p->family == AF_INET) {
		sum = ct_csum_add(sum, p->src.b, 4);
		sum = ct_csum_add(sum, p->dst.b, 4);
	} else {
		sum = ct_csum_add(sum, p->src.b, 16);
		sum = ct_csum_add(sum, p->dst.b, 16);
	}
	return sum + proto + (l4len >> 16) + (l4len & 0xffff);
}

/* The SCTP checksum, CRC32c (RFC 9260 App. B), over @l4 with its checksum
 * field taken as zero; stored in the header little-endian, as
 * sctp_compute_cksum() produces it. */
static uint32_t sctp_csum(const uint8_t *l4, size_t len)
{
	static const uint8_t zero[4];
	size_t head = len < 8 ? len : 8, csum = len < 12 ? len - head : 4;
	uint32_t crc = CT_CRC32C_INIT;

	crc = ct_crc32c_update(crc, l4, head);
	crc = ct_crc32c_update(crc, zero, csum);
	return ~ct_crc32c_update(crc, l4 + head + csum, len - head - csum);
}

/* ---------------------------------------------------------------------- */
/* L4                                                                      */

static bool icmp_echo_like(uint8_t family, uint8_t type)
{
	if (family == AF_INET)
		return type == 0 || type == 8 || (type >= 13 && type <= 18);
	return type == 128 || type == 129 || type == 139 || type == 140;
}

static void l4_short(struct ct_pkt *p, const char *why)
{
	p->l4_truncated = true;
	p->l4_reason = why;
}

/* Read the L4 header fields at p->l4off. Sets l4_truncated when the header
 * is incomplete; the trackers turn that into INVALID with l4_reason, as
 * tcp_error()/udp_error()/icmp_error() would. */
static void parse_l4(struct ct_pkt *p)
{
	const uint8_t *h = p->data + p->l4off;
	size_t n = p->l4len;

	switch (p->l4proto) {
	case IPPROTO_TCP:
		/* tcp_error(): no 20-byte header is a "short packet"; a data
		 * offset below 20 or beyond the segment a "truncated packet" */
		if (n < 20) {
			l4_short(p, "short packet");
			break;
		}
		p->sport = rd16(h);
		p->dport = rd16(h + 2);
		p->tcp_seq = rd32(h + 4);
		p->tcp_ack = rd32(h + 8);
		p->tcp_doff = (uint8_t)((h[12] >> 4) * 4);
		p->tcp_flags = h[13];
		p->tcp_win = rd16(h + 14);
		if (p->tcp_doff < 20 || p->tcp_doff > n)
			l4_short(p, "truncated packet");
		break;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		if (n < 8) {
			l4_short(p, "short packet");	/* udp_error() */
			break;
		}
		p->sport = rd16(h);
		p->dport = rd16(h + 2);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* icmp_error() and icmpv6_error() need the 8-byte header */
		if ((p->l4proto == IPPROTO_ICMP) != (p->family == AF_INET)) {
			/* ICMP in IPv6 or ICMPv6 in IPv4: a generic protocol */
			break;
		}
		if (n < 8) {
			l4_short(p, "short packet");
			break;
		}
		p->icmp_type = h[0];
		p->icmp_code = h[1];
		if (icmp_echo_like(p->family, h[0]))
			p->icmp_id = rd16(h + 4);
		break;
	case IPPROTO_GRE:
		if (n < 4) {
			l4_short(p, "short packet");
			break;
		}
		p->gre_version = h[1] & 0x07;
		if (p->gre_version == 1) {
			/* PPTP (RFC 2637): the call id is bytes 6-7 */
			if (n < 8) {
				l4_short(p, "short packet");
				break;
			}
			p->gre_key[0] = rd16(h + 6);
		}
		break;
	case IPPROTO_SCTP:
		/* sctp_error(): the 12-byte common header */
		if (n < 12) {
			l4_short(p, "short packet");
			break;
		}
		p->sport = rd16(h);
		p->dport = rd16(h + 2);
		p->sctp_vtag = rd32(h + 4);
		break;
	case IPPROTO_DCCP:
		/* dccp_error(): the 12-byte generic header */
		if (n < 12) {
			l4_short(p, "short packet");
			break;
		}
		p->sport = rd16(h);
		p->dport = rd16(h + 2);
		break;
	default:
		break;
	}
}

/* ---------------------------------------------------------------------- */
/* L3                                                                      */

static int parse_ipv4(struct ct_pkt *p, const char **reason)
{
	const uint8_t *h = p->data;
	size_t ihl, tot;
	uint16_t frag;

	/* ip_rcv_core(): the checks below, in its order */
	if (p->len < IPV4_HLEN) {
		*reason = "truncated IPv4 header";
		return -1;
	}
	ihl = (size_t)(h[0] & 0x0f) * 4;
	if (ihl < IPV4_HLEN) {
		*reason = "IPv4 header length below 20 bytes";
		return -1;
	}
	if (ihl > p->len) {
		*reason = "truncated IPv4 header";
		return -1;
	}
	if (ct_csum_fold(ct_csum_add(0, h, ihl)) != 0) {
		*reason = "bad IPv4 header checksum";
		return -1;
	}
	tot = rd16(h + 2);
	if (tot > p->len) {
		*reason = "IPv4 total length exceeds the packet";
		return -1;
	}
	if (tot < ihl) {
		*reason = "IPv4 total length below the header length";
		return -1;
	}
	p->len = tot;	/* pskb_trim_rcsum(): drop link-layer padding */

	p->family = AF_INET;
	p->ttl = h[8];
	p->l4proto = h[9];
	memset(&p->src, 0, sizeof(p->src));
	memset(&p->dst, 0, sizeof(p->dst));
	memcpy(&p->src.ip, h + 12, 4);
	memcpy(&p->dst.ip, h + 16, 4);
	p->l4off = (uint16_t)ihl;
	p->l4len = (uint16_t)(tot - ihl);

	frag = rd16(h + 6);
	p->frag_id = rd16(h + 4);
	p->frag_offset = (uint16_t)((frag & 0x1fff) * 8);
	p->frag_more = (frag & 0x2000) != 0;
	p->is_fragment = p->frag_more || p->frag_offset != 0;	/* ip_is_fragment() */

	if (p->frag_offset != 0)
		l4_short(p, "fragment");	/* no L4 header in a non-first fragment */
	else
		parse_l4(p);
	return 0;
}

static bool ipv6_ext_hdr(uint8_t nh)
{
	return nh == NEXTHDR_HOP || nh == NEXTHDR_ROUTING || nh == NEXTHDR_FRAGMENT ||
	       nh == NEXTHDR_AUTH || nh == NEXTHDR_NONE || nh == NEXTHDR_DEST;
}

/*
 * ipv6_skip_exthdr(): walk the extension headers from @start, where @nh
 * names the first one. On success *@nhp is the upper-layer protocol (or
 * NEXTHDR_FRAGMENT at a non-first fragment, where the walk must stop) and the
 * offset of its header is returned; -1 if the chain runs past @len, -2 if it
 * ends in "no next header". @fp, if given, receives the fragment header details.
 */
static int ipv6_walk(const uint8_t *b, size_t len, size_t start, uint8_t nh, uint8_t *nhp,
		     struct ct_pkt *fp)
{
	size_t nhoff = 6;	/* the IPv6 header's next-header byte */

	while (ipv6_ext_hdr(nh)) {
		size_t hlen;

		if (nh == NEXTHDR_NONE)
			return -2;
		if (start + 2 > len)
			return -1;
		if (nh == NEXTHDR_FRAGMENT) {
			uint16_t off;

			if (start + 8 > len)
				return -1;
			off = rd16(b + start + 2);
			if (fp) {
				fp->frag_hdroff = (uint16_t)start;
				fp->frag_nhoff = (uint16_t)nhoff;
				fp->frag_id = rd32(b + start + 4);
				fp->frag_offset = off & 0xfff8;
				fp->frag_more = off & 1;
				/* an atomic fragment (offset 0, M=0) is not one:
				 * nf_ct_frag6_gather() lets it through as is */
				fp->is_fragment = (off & 0xfff9) != 0;
			}
			if (off & 0xfff8)
				break;	/* non-first fragment: no upper header here */
			hlen = 8;
		} else if (nh == NEXTHDR_AUTH) {
			hlen = ((size_t)b[start + 1] + 2) * 4;	/* ipv6_authlen() */
		} else {
			hlen = ((size_t)b[start + 1] + 1) * 8;	/* ipv6_optlen() */
		}
		nhoff = start;
		nh = b[start];
		start += hlen;
	}
	if (start > len)
		return -1;
	*nhp = nh;
	return (int)start;
}

static int parse_ipv6(struct ct_pkt *p, const char **reason)
{
	const uint8_t *h = p->data;
	size_t plen;
	uint8_t nh;
	int off;

	/* ipv6_rcv() */
	if (p->len < IPV6_HLEN) {
		*reason = "truncated IPv6 header";
		return -1;
	}
	plen = rd16(h + 4);
	if (plen == 0 && h[6] == NEXTHDR_HOP) {
		*reason = "IPv6 jumbograms are not supported";
		return -1;
	}
	if (plen + IPV6_HLEN > p->len) {
		*reason = "IPv6 payload length exceeds the packet";
		return -1;
	}
	p->len = plen + IPV6_HLEN;

	p->family = AF_INET6;
	p->ttl = h[7];
	memcpy(p->src.b, h + 8, 16);
	memcpy(p->dst.b, h + 24, 16);

	/* ipv6_get_l4proto(): the kernel's conntrack counts these as
	 * invalid; they are well-formed IP packets otherwise. */
	off = ipv6_walk(h, p->len, IPV6_HLEN, h[6], &nh, p);
	if (off < 0) {
		p->untrackable = true;
		*reason = off == -2 ? "no upper-layer header (IPv6 no next header)" :
				      "truncated IPv6 extension header";
		return -1;
	}
	p->l4proto = nh;
	p->l4off = (uint16_t)off;
	p->l4len = (uint16_t)(p->len - (size_t)off);
	if (p->is_fragment && p->frag_offset != 0)
		l4_short(p, "fragment");
	else
		parse_l4(p);
	return 0;
}

int ct_pkt_parse(struct ct_pkt *p, const char **reason)
{
	static const char *unused;

	if (!reason)
		reason = &unused;
	*reason = NULL;

	/* Clear what an earlier parse of the same struct may have left. */
	p->family = 0;
	p->l4proto = 0;
	p->l4off = p->l4len = 0;
	p->ttl = 0;
	p->is_fragment = p->l4_truncated = p->untrackable = false;
	p->l4_reason = NULL;
	p->sport = p->dport = 0;
	p->tcp_flags = p->tcp_doff = 0;
	p->tcp_seq = p->tcp_ack = 0;
	p->tcp_win = 0;
	p->icmp_type = p->icmp_code = 0;
	p->icmp_id = 0;
	p->gre_key[0] = p->gre_key[1] = 0;
	p->gre_version = 0;
	p->sctp_vtag = 0;
	p->frag_id = 0;
	p->frag_offset = 0;
	p->frag_more = false;
	p->frag_hdroff = p->frag_nhoff = 0;

	if (!p->data || p->len < 1) {
		*reason = "empty packet";
		return -1;
	}
	if (p->len > CT_PKT_MAX)
		p->len = CT_PKT_MAX;
	switch (p->data[0] >> 4) {
	case 4:
		return parse_ipv4(p, reason);
	case 6:
		return parse_ipv6(p, reason);
	default:
		*reason = "unknown IP version";
		return -1;
	}
}

/* ---------------------------------------------------------------------- */
/* Checksums, tuples, ICMP errors                                          */

bool ct_pkt_l4_csum_ok(const struct ct_pkt *p)
{
	const uint8_t *h = p->data + p->l4off;
	uint32_t n = p->l4len, cov;

	if (p->is_fragment)
		return true;	/* checked on the reassembled packet */
	switch (p->l4proto) {
	case IPPROTO_TCP:
		if (n < 20)
			return false;
		return ct_csum_fold(ct_csum_add(csum_pseudo(p, IPPROTO_TCP, n), h, n)) == 0;
	case IPPROTO_UDP:
		if (n < 8)
			return false;
		if (p->family == AF_INET && rd16(h + 6) == 0)
			return true;	/* udp_error(): "packet with no checksum" */
		return ct_csum_fold(ct_csum_add(csum_pseudo(p, IPPROTO_UDP, n), h, n)) == 0;
	case IPPROTO_UDPLITE:
		/* udplite_error(): coverage 0 means the whole datagram; a
		 * coverage below 8 or past the end, or a zero checksum, is bad */
		if (n < 8 || rd16(h + 6) == 0)
			return false;
		cov = rd16(h + 4);
		if (cov == 0)
			cov = n;
		if (cov < 8 || cov > n)
			return false;
		return ct_csum_fold(ct_csum_add(csum_pseudo(p, IPPROTO_UDPLITE, n), h, cov)) == 0;
	case IPPROTO_ICMP:
		if (p->family != AF_INET)
			return true;
		if (n < 8)
			return false;
		return ct_csum_fold(ct_csum_add(0, h, n)) == 0;
	case IPPROTO_ICMPV6:
		if (p->family != AF_INET6)
			return true;
		if (n < 8)
			return false;
		return ct_csum_fold(ct_csum_add(csum_pseudo(p, IPPROTO_ICMPV6, n), h, n)) == 0;
	case IPPROTO_SCTP: {
		/* sctp_error() checks the CRC32c too */
		uint32_t want;

		if (n < 12)
			return false;
		want = (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 |
		       (uint32_t)h[11] << 24;
		return sctp_csum(h, n) == want;
	}
	default:
		return true;
	}
}

bool ct_pkt_peek_tuple(const uint8_t *l3, size_t len, struct ct_tuple *t)
{
	const uint8_t *l4;
	size_t hlen;
	uint8_t proto;

	memset(t, 0, sizeof(*t));
	if (len < IPV4_HLEN)
		return false;
	if ((l3[0] >> 4) == 4) {
		hlen = (size_t)(l3[0] & 0x0f) * 4;
		/* not a fragment: no MF flag, offset 0 */
		if (hlen < IPV4_HLEN || (rd16(l3 + 6) & 0x3fff))
			return false;
		proto = l3[9];
		t->l3num = AF_INET;
		memcpy(&t->src.ip, l3 + 12, 4);
		memcpy(&t->dst.ip, l3 + 16, 4);
	} else if ((l3[0] >> 4) == 6 && len >= IPV6_HLEN) {
		hlen = IPV6_HLEN;
		proto = l3[6];	/* no extension headers: they are not peeked at */
		t->l3num = AF_INET6;
		memcpy(t->src.b, l3 + 8, 16);
		memcpy(t->dst.b, l3 + 24, 16);
	} else {
		return false;
	}
	if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) || len < hlen + 4)
		return false;
	l4 = l3 + hlen;
	t->l4num = proto;
	t->sport = rd16(l4);
	t->dport = rd16(l4 + 2);
	return true;
}

bool ct_pkt_get_tuple(const struct ct_pkt *p, struct ct_tuple *t)
{
	const uint8_t *h = p->data + p->l4off;
	size_t n = p->l4len;

	memset(t, 0, sizeof(*t));
	t->src = p->src;
	t->dst = p->dst;
	t->l3num = p->family;
	t->l4num = p->l4proto;

	/* A non-first fragment carries no L4 header; nf_ct_get_l4proto()
	 * refuses it (defrag should have run first). */
	if (p->is_fragment && p->frag_offset != 0)
		return false;

	/* nf_ct_get_tuple(): how many bytes each pkt_to_tuple function needs */
	switch (p->l4proto) {
	case IPPROTO_ICMP:
		if (p->family != AF_INET)
			return true;
		/* icmp_pkt_to_tuple(): the echo id field, whatever the type */
		if (n < 8)
			return false;
		t->sport = rd16(h + 4);
		t->icmp_type = h[0];
		t->icmp_code = h[1];
		return true;
	case IPPROTO_ICMPV6:
		if (p->family != AF_INET6)
			return true;
		if (n < 8)	/* icmpv6_pkt_to_tuple() */
			return false;
		t->sport = rd16(h + 4);
		t->icmp_type = h[0];
		t->icmp_code = h[1];
		return true;
	case IPPROTO_GRE:
		/* gre_pkt_to_tuple(): anything but a complete version-1 header
		 * is keyed like generic (keys 0). Version 1 must carry PPP;
		 * its call id is the destination key, the source key comes
		 * from the PPTP helper's keymap (none here: 0). */
		if (n < 4 || (h[1] & 0x07) != 1 || n < 8)
			return true;
		if (rd16(h + 2) != GRE_PROTO_PPP)
			return false;
		t->dport = rd16(h + 6);
		return true;
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		/* nf_ct_get_tuple_ports(): only the two ports are needed */
		if (n < 4)
			return false;
		t->sport = rd16(h);
		t->dport = rd16(h + 2);
		return true;
	default:
		return true;
	}
}

bool ct_tuple_has_ports(uint8_t l4num)
{
	switch (l4num) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
	case IPPROTO_GRE:
		return true;
	default:
		return false;
	}
}

static bool icmp_is_error(const struct ct_pkt *p)
{
	if (p->family == AF_INET && p->l4proto == IPPROTO_ICMP)
		return p->icmp_type == 3 || p->icmp_type == 4 || p->icmp_type == 5 ||
		       p->icmp_type == 11 || p->icmp_type == 12;
	if (p->family == AF_INET6 && p->l4proto == IPPROTO_ICMPV6)
		return p->icmp_type < 128;
	return false;
}

int ct_pkt_icmp_inner(const struct ct_pkt *p, struct ct_pkt *inner, const char **reason)
{
	static const char *unused;
	const uint8_t *b;
	size_t avail;
	struct ct_tuple t;

	if (!reason)
		reason = &unused;
	*reason = NULL;
	memset(inner, 0, sizeof(*inner));
	if (p->l4_truncated || !icmp_is_error(p)) {
		*reason = "not an ICMP error";
		return -1;
	}
	/* The embedded packet starts after the 8-byte ICMP header and runs
	 * to the end of the outer packet; it is truncated by design, so its
	 * own length fields are not held against the buffer. */
	inner->data = p->data + p->l4off + 8;
	avail = p->l4len - 8u;
	inner->len = avail;
	b = inner->data;
	inner->iif = p->iif;
	inner->oif = p->oif;
	inner->mark = p->mark;
	inner->tstamp_ns = p->tstamp_ns;

	if (p->family == AF_INET) {
		size_t ihl;
		uint16_t frag;

		/* ipv4_get_l4proto() on the embedded header */
		if (avail < IPV4_HLEN) {
			*reason = "truncated inner IPv4 header";
			return -1;
		}
		if ((b[0] >> 4) != 4) {
			*reason = "inner packet is not IPv4";
			return -1;
		}
		ihl = (size_t)(b[0] & 0x0f) * 4;
		if (ihl < IPV4_HLEN || ihl > avail) {
			*reason = "bad inner IPv4 header length";
			return -1;
		}
		frag = rd16(b + 6);
		if (frag & 0x1fff) {
			*reason = "inner packet is a non-first fragment";
			return -1;
		}
		inner->family = AF_INET;
		inner->ttl = b[8];
		inner->l4proto = b[9];
		memcpy(&inner->src.ip, b + 12, 4);
		memcpy(&inner->dst.ip, b + 16, 4);
		inner->l4off = (uint16_t)ihl;
		inner->l4len = (uint16_t)(avail - ihl);
		inner->frag_id = rd16(b + 4);
		inner->frag_more = (frag & 0x2000) != 0;
	} else {
		uint8_t nh;
		int off;

		/* ipv6_get_l4proto() on the embedded header */
		if (avail < IPV6_HLEN) {
			*reason = "truncated inner IPv6 header";
			return -1;
		}
		if ((b[0] >> 4) != 6) {
			*reason = "inner packet is not IPv6";
			return -1;
		}
		inner->family = AF_INET6;
		inner->ttl = b[7];
		memcpy(inner->src.b, b + 8, 16);
		memcpy(inner->dst.b, b + 24, 16);
		off = ipv6_walk(b, avail, IPV6_HLEN, b[6], &nh, NULL);
		if (off < 0 || nh == NEXTHDR_FRAGMENT) {
			*reason = "can't find proto in inner packet";
			return -1;
		}
		inner->l4proto = nh;
		inner->l4off = (uint16_t)off;
		inner->l4len = (uint16_t)(avail - (size_t)off);
	}
	parse_l4(inner);
	/* The kernel only needs what nf_ct_get_tuple() reads: the ports, or
	 * the 8-byte ICMP header. A TCP header cut after 8 bytes is normal. */
	if (!ct_pkt_get_tuple(inner, &t)) {
		*reason = "truncated inner L4 header";
		return -1;
	}
	if (inner->l4_truncated && (t.sport || t.dport)) {
		/* keep the ports of a header cut short (TCP after 8 bytes) */
		inner->sport = t.sport;
		inner->dport = t.dport;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Building                                                                */

int ct_pkt_build(uint8_t *buf, size_t cap, uint8_t family, const union ct_addr *src,
		 const union ct_addr *dst, uint8_t l4proto, const void *l4, size_t l4len)
{
	struct ct_pkt p;
	size_t hlen = family == AF_INET ? IPV4_HLEN : IPV6_HLEN;
	uint8_t *h = buf, *l;
	uint32_t n = (uint32_t)l4len;

	if ((family != AF_INET && family != AF_INET6) || hlen + l4len > cap ||
	    hlen + l4len > CT_PKT_MAX)
		return -1;
	memset(h, 0, hlen);
	if (family == AF_INET) {
		h[0] = 0x45;
		wr16(h + 2, (uint16_t)(hlen + l4len));
		h[6] = 0x40;	/* DF */
		h[8] = 64;
		h[9] = l4proto;
		memcpy(h + 12, &src->ip, 4);
		memcpy(h + 16, &dst->ip, 4);
		wr16(h + 10, ct_csum_fold(ct_csum_add(0, h, hlen)));
	} else {
		h[0] = 0x60;
		wr16(h + 4, (uint16_t)l4len);
		h[6] = l4proto;
		h[7] = 64;
		memcpy(h + 8, src->b, 16);
		memcpy(h + 24, dst->b, 16);
	}
	l = buf + hlen;
	if (l4len)
		memmove(l, l4, l4len);

	memset(&p, 0, sizeof(p));
	p.family = family;
	p.src = *src;
	p.dst = *dst;
	if (family == AF_INET) {
		memset(&p.src, 0, sizeof(p.src));
		memset(&p.dst, 0, sizeof(p.dst));
		p.src.ip = src->ip;
		p.dst.ip = dst->ip;
	}
	switch (l4proto) {
	case IPPROTO_TCP:
		if (n >= 20) {
			wr16(l + 16, 0);
			wr16(l + 16, ct_csum_fold(ct_csum_add(csum_pseudo(&p, l4proto, n), l, n)));
		}
		break;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		if (n >= 8) {
			uint32_t cov = n;

			if (l4proto == IPPROTO_UDPLITE && rd16(l + 4) >= 8 && rd16(l + 4) <= n)
				cov = rd16(l + 4);
			wr16(l + 6, 0);
			uint16_t c = ct_csum_fold(ct_csum_add(csum_pseudo(&p, l4proto, n), l, cov));
			wr16(l + 6, c ? c : 0xffff);	/* 0 means "none" in UDP */
		}
		break;
	case IPPROTO_ICMP:
		if (n >= 8 && family == AF_INET) {
			wr16(l + 2, 0);
			wr16(l + 2, ct_csum_fold(ct_csum_add(0, l, n)));
		}
		break;
	case IPPROTO_ICMPV6:
		if (n >= 8 && family == AF_INET6) {
			wr16(l + 2, 0);
			wr16(l + 2, ct_csum_fold(ct_csum_add(csum_pseudo(&p, l4proto, n), l, n)));
		}
		break;
	case IPPROTO_SCTP:
		if (n >= 12) {
			uint32_t c = sctp_csum(l, n);

			l[8] = (uint8_t)c;
			l[9] = (uint8_t)(c >> 8);
			l[10] = (uint8_t)(c >> 16);
			l[11] = (uint8_t)(c >> 24);
		}
		break;
	default:
		break;
	}
	return (int)(hlen + l4len);
}

void ct_pkt_release(struct ct_pkt *p)
{
	free(p->grown);
	p->grown = NULL;
}
