/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nat_rewrite.c — the packet side of NAT (nf_nat_proto.c): rewriting
 * addresses and ports in place with incremental checksum updates
 * (RFC 1624, the kernel's inet_proto_csum_replace*()), and the translation
 * of ICMP errors, outer header and quoted packet. See nat.h.
 */
#include <stdbool.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "proto/ctnl.h"
#include "ctsim/core/csum.h"
#include "ctsim/core/nat.h"
#include "ctsim/core/packet.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* HC' = ~(~HC + ~m + m') over the 16-bit words of a field that changes
 * from @old to @new (@n even): inet_proto_csum_replace*(). */
static void csum_replace(uint8_t *csum, const uint8_t *old, const uint8_t *new, size_t n)
{
	uint32_t s = (uint16_t)~rd16(csum);

	for (size_t i = 0; i < n; i += 2) {
		s += (uint16_t)~rd16(old + i);
		s += rd16(new + i);
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	wr16(csum, (uint16_t)~s);
}

/* A view of one IP packet inside the buffer: the outer packet, or the one
 * an ICMP error quotes. */
struct view {
	uint8_t *l3;
	uint8_t family, l4proto;
	size_t l4off, l4len;	/* L4 bytes present */
	bool inner;
};

static bool is_icmp_query(uint8_t family, uint8_t type)
{
	if (family == AF_INET6)
		return type == 128 || type == 129;
	/* icmp_manip_pkt(): echo, timestamp, info and address mask queries */
	return type == 0 || type == 8 || type == 13 || type == 14 || type == 15 ||
	       type == 16 || type == 17 || type == 18;
}

/* The L4 part of nf_nat_ipv4_manip_pkt()/nf_nat_ipv6_manip_pkt():
 * nf_nat_l4proto_manip_pkt() with the addresses changing from @oa to @na
 * (the pseudo-header) and the port (or id, key) set from @target. */
static void manip_l4(struct view *v, const struct ct_tuple *target, enum ct_nat_manip manip,
		     const uint8_t *oa, const uint8_t *na, size_t alen)
{
	uint8_t *l4 = v->l3 + v->l4off;
	const bool src = manip == CT_NAT_MANIP_SRC;
	uint16_t port = src ? target->sport : target->dport;
	uint8_t np[2], *pp;

	wr16(np, port);
	switch (v->l4proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_DCCP: {
		uint8_t *csum = NULL;

		if (v->l4len < 4)
			return;
		pp = l4 + (src ? 0 : 2);
		if (v->l4proto == IPPROTO_TCP && v->l4len >= 20)
			csum = l4 + 16;		/* tcp_manip_pkt(): a quote of 8 bytes has none */
		else if ((v->l4proto == IPPROTO_UDP || v->l4proto == IPPROTO_UDPLITE) &&
			 v->l4len >= 8)
			csum = l4 + 6;
		else if (v->l4proto == IPPROTO_DCCP && v->l4len >= 8)
			csum = l4 + 6;
		/* udp_manip_pkt(): a zero UDP checksum over IPv4 means none */
		if (csum && v->l4proto == IPPROTO_UDP && v->family == AF_INET && !rd16(csum))
			csum = NULL;
		if (csum) {
			csum_replace(csum, oa, na, alen);
			csum_replace(csum, pp, np, 2);
			if (v->l4proto != IPPROTO_TCP && v->l4proto != IPPROTO_DCCP && !rd16(csum))
				wr16(csum, 0xffff);	/* CSUM_MANGLED_0 */
		}
		memcpy(pp, np, 2);
		break;
	}
	case IPPROTO_SCTP:
		if (v->l4len < 4)
			return;
		memcpy(l4 + (src ? 0 : 2), np, 2);
		/* sctp_manip_pkt(): the CRC32c is recomputed over the packet */
		if (!v->inner && v->l4len >= 12) {
			uint32_t crc;

			memset(l4 + 8, 0, 4);
			crc = ct_crc32c(l4, v->l4len);
			l4[8] = (uint8_t)crc;
			l4[9] = (uint8_t)(crc >> 8);
			l4[10] = (uint8_t)(crc >> 16);
			l4[11] = (uint8_t)(crc >> 24);
		}
		break;
	case IPPROTO_ICMP:
		if (v->l4len < 8 || !is_icmp_query(AF_INET, l4[0]))
			return;
		wr16(np, target->sport);	/* the id: tuple->src.u.icmp.id either way */
		csum_replace(l4 + 2, l4 + 4, np, 2);
		memcpy(l4 + 4, np, 2);
		break;
	case IPPROTO_ICMPV6:
		if (v->l4len < 4)
			return;
		csum_replace(l4 + 2, oa, na, alen);	/* nf_csum_update(): pseudo-header */
		if (v->l4len >= 8 && is_icmp_query(AF_INET6, l4[0])) {
			wr16(np, target->sport);
			csum_replace(l4 + 2, l4 + 4, np, 2);
			memcpy(l4 + 4, np, 2);
		}
		break;
	case IPPROTO_GRE:
		/* gre_manip_pkt(): only PPTP (version 1) and only the
		 * destination: the call id the peer expects */
		if (v->l4len < 8 || src || (l4[1] & 7) != 1)
			return;
		memcpy(l4 + 6, np, 2);
		break;
	default:
		break;
	}
}

/* nf_nat_ipv4_manip_pkt() / nf_nat_ipv6_manip_pkt(): the source or the
 * destination of @v becomes @target's. */
static void manip_pkt(struct view *v, const struct ct_tuple *target, enum ct_nat_manip manip)
{
	const bool src = manip == CT_NAT_MANIP_SRC;
	const size_t alen = v->family == AF_INET ? 4 : 16;
	const size_t aoff = v->family == AF_INET ? (src ? 12 : 16) : (src ? 8 : 24);
	const uint8_t *na = src ? target->src.b : target->dst.b;
	uint8_t oa[16];

	memcpy(oa, v->l3 + aoff, alen);
	if (v->l4proto == IPPROTO_TCP || v->l4proto == IPPROTO_UDP ||
	    v->l4proto == IPPROTO_UDPLITE || v->l4proto == IPPROTO_DCCP ||
	    v->l4proto == IPPROTO_ICMPV6)
		manip_l4(v, target, manip, oa, na, alen);
	else
		manip_l4(v, target, manip, NULL, NULL, 0);
	if (v->family == AF_INET)
		csum_replace(v->l3 + 10, oa, na, 4);
	memcpy(v->l3 + aoff, na, alen);
}

/* nf_nat_manip_pkt(): the target is the inverse of the other direction. */
static bool target_of(const struct conn *ct, enum ct_dir dir, struct ct_tuple *target)
{
	const struct ct_tuple *other = &ct->th[!dir].tuple;

	if (!ct_tuple_invert(other, target)) {
		memset(target, 0, sizeof(*target));
		target->src = other->dst;
		target->dst = other->src;
	}
	target->l3num = other->l3num;
	target->l4num = other->l4num;
	if (other->l4num == IPPROTO_ICMP || other->l4num == IPPROTO_ICMPV6)
		target->sport = other->sport;
	return true;
}

static uint32_t statusbit(enum ct_dir dir, enum ct_nat_manip manip)
{
	uint32_t bit = manip == CT_NAT_MANIP_SRC ? CT_S_SRC_NAT : CT_S_DST_NAT;

	if (dir == CT_DIR_REPLY)	/* "Invert if this is reply dir" */
		bit = bit == CT_S_SRC_NAT ? CT_S_DST_NAT : CT_S_SRC_NAT;
	return bit;
}

/* After a rewrite: the parsed fields follow the bytes. */
static void reparse_fields(struct ct_pkt *p)
{
	const size_t alen = p->family == AF_INET ? 4 : 16;
	const uint8_t *l4 = p->data + p->l4off;

	memcpy(p->src.b, p->data + (p->family == AF_INET ? 12 : 8), alen);
	memcpy(p->dst.b, p->data + (p->family == AF_INET ? 16 : 24), alen);
	if (p->l4_truncated)
		return;
	switch (p->l4proto) {
	case IPPROTO_TCP: case IPPROTO_UDP: case IPPROTO_UDPLITE:
	case IPPROTO_SCTP: case IPPROTO_DCCP:
		p->sport = rd16(l4);
		p->dport = rd16(l4 + 2);
		break;
	case IPPROTO_ICMP: case IPPROTO_ICMPV6:
		if (p->l4len >= 8 && is_icmp_query(p->family, p->icmp_type))
			p->icmp_id = rd16(l4 + 4);
		break;
	case IPPROTO_GRE:
		if (p->l4len >= 8 && p->gre_version == 1)
			p->gre_key[0] = rd16(l4 + 6);
		break;
	default:
		break;
	}
}

bool ct_nat_packet(const struct conn *ct, enum ct_dir dir, enum ct_nat_manip manip,
		   struct ct_pkt *p)
{
	struct ct_tuple target;
	struct view v;

	if (!(ct->status & statusbit(dir, manip)))
		return false;
	target_of(ct, dir, &target);
	v.l3 = p->data;
	v.family = p->family;
	v.l4proto = p->l4proto;
	v.l4off = p->l4off;
	v.l4len = p->l4_truncated ? 0 : p->l4len;
	v.inner = false;
	manip_pkt(&v, &target, manip);
	reparse_fields(p);
	return true;
}

bool ct_nat_icmp_reply_translation(const struct conn *ct, enum ct_dir dir,
				   enum ct_nat_manip manip, struct ct_pkt *p)
{
	const bool v4 = p->family == AF_INET;
	struct ct_tuple target, other;
	struct ct_pkt inner;
	const char *why;
	struct view v;
	uint8_t *icmp = p->data + p->l4off;
	uint32_t sum;

	if (p->l4_truncated || p->l4len < 8)
		return false;
	/* a redirect is only believed about an entry NAT left alone */
	if (v4 && p->icmp_type == 5) {
		if ((ct->status & (CT_S_SRC_NAT_DONE | CT_S_DST_NAT_DONE)) !=
		    (CT_S_SRC_NAT_DONE | CT_S_DST_NAT_DONE))
			return false;
		if (ct->status & (CT_S_SRC_NAT | CT_S_DST_NAT))
			return false;
	}
	if (!(ct->status & statusbit(dir, manip)))
		return true;
	if (ct_pkt_icmp_inner(p, &inner, &why) < 0)
		return false;
	/* the quote is a packet of the other direction: the other manip,
	 * to the other direction's tuple as it is */
	other = ct->th[!dir].tuple;
	v.l3 = inner.data;
	v.family = inner.family;
	v.l4proto = inner.l4proto;
	v.l4off = inner.l4off;
	v.l4len = inner.l4len;
	v.inner = true;
	manip_pkt(&v, &other, manip == CT_NAT_MANIP_SRC ? CT_NAT_MANIP_DST : CT_NAT_MANIP_SRC);
	/* the ICMP checksum over the whole message, recomputed */
	icmp[2] = icmp[3] = 0;
	sum = ct_csum_add(0, icmp, p->l4len);
	if (!v4) {
		uint8_t ph[8] = { 0 };

		sum = ct_csum_add(sum, p->data + 8, 32);	/* source and destination */
		ph[0] = (uint8_t)(p->l4len >> 24);
		ph[1] = (uint8_t)(p->l4len >> 16);
		ph[2] = (uint8_t)(p->l4len >> 8);
		ph[3] = (uint8_t)p->l4len;
		ph[7] = IPPROTO_ICMPV6;
		sum = ct_csum_add(sum, ph, 8);
	}
	wr16(icmp + 2, ct_csum_fold(sum));
	/* the outer header: an answer to the translated packet */
	target_of(ct, dir, &target);
	v.l3 = p->data;
	v.family = p->family;
	v.l4proto = p->l4proto;
	v.l4off = p->l4off;
	v.l4len = p->l4len;
	v.inner = false;
	manip_pkt(&v, &target, manip);
	reparse_fields(p);
	return true;
}
