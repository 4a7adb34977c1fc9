/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * track_icmp.c — ICMP and ICMPv6 (nf_conntrack_proto_icmp.c,
 * nf_conntrack_proto_icmpv6.c) and the error path shared by both
 * (nf_conntrack_inet_error()).
 *
 * Queries: the tuple is (type, code, id); only request types create an
 * entry (ICMP echo 8, timestamp 13, info 15, address mask 17; ICMPv6 echo
 * 128, node information 139) and the reply type is the inverse. Every
 * packet refreshes the 30 s timeout; never ASSURED; the entry is not
 * deleted by the reply (duplicate replies stay ESTABLISHED).
 *
 * Errors (dest-unreachable, time-exceeded ...): the embedded packet's tuple,
 * inverted, names the flow; the error is RELATED to it, without running
 * the flow's tracker (no timeout refresh, no SEEN_REPLY).
 */
#include <string.h>
#include "proto/ctnl.h"
#include "ctsim/core/l4proto.h"

#define NR_ICMP_TYPES	18

/* ---------------------------------------------------------------------- */
/* Tuples                                                                  */

/*
 * icmp_invert_tuple(), icmpv6_invert_tuple(): request <-> reply, other
 * types cannot be inverted. The type maps live once, in the wire layer's
 * ct_tuple_invert() (proto/ctnl_names.c), which ctctl and the ctnetlink
 * handlers use too; @o is a tuple of the tracker's protocol.
 */
bool ct_icmp_invert_tuple(struct ct_tuple *r, const struct ct_tuple *o)
{
	return ct_tuple_invert(o, r);
}

bool ct_icmpv6_invert_tuple(struct ct_tuple *r, const struct ct_tuple *o)
{
	return ct_tuple_invert(o, r);
}

/* ---------------------------------------------------------------------- */
/* Queries                                                                 */

/* nf_conntrack_icmp_packet(): the original type must be a request */
static const char *icmp_new(struct ct_l4_ctx *x, struct conn *ct)
{
	uint8_t type = ct->th[CT_DIR_ORIG].tuple.icmp_type;

	(void)x;
	if (type == 8 || type == 13 || type == 15 || type == 17)
		return NULL;
	return CT_INV_ICMP_NEW;	/* e.g. an unsolicited echo reply */
}

/* nf_conntrack_icmpv6_packet(): "invalid new with type" */
static const char *icmpv6_new(struct ct_l4_ctx *x, struct conn *ct)
{
	uint8_t type = ct->th[CT_DIR_ORIG].tuple.icmp_type;

	(void)x;
	if (type == 128 || type == 139)
		return NULL;
	return CT_INV_ICMP_NEW;
}

static uint32_t icmp_timeout(const struct ct_settings *s, const struct conn *ct)
{
	return ct->th[0].tuple.l3num == AF_INET6 ? s->icmpv6_timeout : s->icmp_timeout;
}

/* Every packet refreshes the timeout; never ASSURED. */
static enum ct_l4_verdict icmp_packet(struct ct_l4_ctx *x, struct conn *ct, const char **reason)
{
	(void)reason;
	ct_l4_refresh(x, ct, icmp_timeout(x->core->settings, ct));
	return CT_L4_ACCEPT;
}

const struct ct_l4proto ct_l4proto_icmp = {
	.name = "icmp",
	.l4num = IPPROTO_ICMP,
	.invert_tuple = ct_icmp_invert_tuple,
	.new = icmp_new,
	.packet = icmp_packet,
};

const struct ct_l4proto ct_l4proto_icmpv6 = {
	.name = "icmpv6",
	.l4num = IPPROTO_ICMPV6,
	.invert_tuple = ct_icmpv6_invert_tuple,
	.new = icmpv6_new,
	.packet = icmp_packet,
};

/* ---------------------------------------------------------------------- */
/* Errors                                                                  */

static bool icmp_is_err(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* ICMPv6 types that never get an entry (noct_valid_new[]): MLD query,
 * report and done, router and neighbour solicitation/advertisement, MLDv2
 * report, multicast router advertisement and solicitation. */
static bool icmpv6_untracked(uint8_t type)
{
	return (type >= 130 && type <= 136) || type == 143 || type == 151 || type == 152;
}

static int error_out(struct ct_l4_ctx *x, const char *reason)
{
	x->core->table->stats.cpu.error++;
	x->skb->ct = NULL;
	x->skb->invalid_reason = reason;
	return -1;
}

/* nf_conntrack_inet_error(): which flow is the error about? */
static int inet_error(struct ct_l4_ctx *x)
{
	struct ct_skb *skb = x->skb;
	struct ct_table *t = x->core->table;
	const struct ct_l4proto *l4;
	struct ct_tuple orig, inner;
	const char *reason = NULL;
	enum ct_dir dir = CT_DIR_ORIG;
	struct ct_pkt ip;
	struct conn *ct;
	size_t alen = skb->pkt.family == AF_INET ? 4 : 16;

	if (ct_pkt_icmp_inner(&skb->pkt, &ip, &reason) < 0 || !ct_pkt_get_tuple(&ip, &orig))
		return error_out(x, CT_INV_ICMP_INNER);
	l4 = ct_l4proto_find(ip.family, ip.l4proto);
	if (!ct_l4_invert_tuple(l4, &inner, &orig))
		return error_out(x, CT_INV_ICMP_INNER);
	/* The inverted tuple is a reply-direction tuple: its zone id first */
	ct = ct_table_find(t, &inner, &skb->zone, CT_DIR_REPLY, &dir);
	if (!ct && ct_zone_id(&skb->zone, CT_DIR_ORIG) != ct_zone_id(&skb->zone, CT_DIR_REPLY))
		ct = ct_table_find(t, &inner, &skb->zone, CT_DIR_ORIG, &dir);
	if (!ct)
		return error_out(x, CT_INV_ICMP_NO_CT);
	/* The outer destination must be where that direction goes: else a
	 * host could make any packet RELATED by quoting someone's flow. */
	if (memcmp(&skb->pkt.dst, &ct->th[dir].tuple.dst, alen))
		return error_out(x, CT_INV_ICMP_OUTER_DST);
	conn_get(ct);
	skb->ct = ct;
	skb->ctinfo = dir == CT_DIR_REPLY ? CT_INFO_RELATED_REPLY : CT_INFO_RELATED;
	return 0;
}

/* nf_conntrack_handle_icmp(): nf_conntrack_icmpv4_error() and
 * nf_conntrack_icmpv6_error(); every refusal counts `error`, not `invalid`. */
int ct_icmp_error(struct ct_l4_ctx *x)
{
	const struct ct_pkt *p = &x->skb->pkt;

	if (p->l4_truncated)
		return error_out(x, CT_INV_SHORT);
	if (p->family == AF_INET) {
		if (ct_l4_checksum_wanted(x) && !ct_pkt_l4_csum_ok(p))
			return error_out(x, CT_INV_ICMP_BAD_CSUM);
		/* RFC 1122 3.2.2: unknown types must be silently discarded */
		if (p->icmp_type > NR_ICMP_TYPES)
			return error_out(x, CT_INV_ICMP_TYPE);
		if (!icmp_is_err(p->icmp_type))
			return 1;
	} else {
		if (ct_l4_checksum_wanted(x) && !ct_pkt_l4_csum_ok(p))
			return error_out(x, CT_INV_ICMPV6_BAD_CSUM);
		if (icmpv6_untracked(p->icmp_type)) {
			x->skb->ct = NULL;
			x->skb->untracked = true;
			x->skb->ctinfo = CT_INFO_UNTRACKED;
			return 0;
		}
		/* Not emulated: ND redirect (137) checks; it is not an error
		 * here and, not invertible, ends up INVALID. */
		if (p->icmp_type >= 128)
			return 1;
	}
	return inet_error(x);
}
