/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nat.h — NAT in the core (the kernel's nf_nat_core.c, nf_nat_proto.c and
 * struct nf_nat_range2): bindings decided once per entry, on its first
 * packet, stored in the reply tuple and the IPS_*NAT* status bits, and the
 * packet rewrite every later packet gets in both directions.
 *
 * Who calls what (the kernel's nf_nat_inet_fn() split in two layers):
 * the hook ladder (ctsim/hooks/router.c, "dstnat"/"srcnat" rows) runs the
 * type nat chains, turns the matching statement into a struct ct_nat_range
 * and calls ct_nat_setup() (or ct_nat_null_binding() when none matched),
 * then ct_nat_packet() / ct_nat_icmp_reply_translation() on every packet.
 * ctnetlink's create path calls ct_nat_setup() too (ctnetlink_setup_nat()).
 */
#ifndef CTSIM_NAT_H
#define CTSIM_NAT_H

#include <stdbool.h>
#include <stdint.h>
#include "ctsim/core/table.h"

struct ct_pkt;

/* enum nf_nat_manip_type */
enum ct_nat_manip {
	CT_NAT_MANIP_SRC,	/* NF_NAT_MANIP_SRC: SNAT, the source of the original direction */
	CT_NAT_MANIP_DST,	/* NF_NAT_MANIP_DST: DNAT, its destination */
};

/* struct nf_nat_range2 flags (NF_NAT_RANGE_*, same bit values) */
#define CT_NAT_RANGE_MAP_IPS		(1u << 0)	/* min_addr..max_addr given */
#define CT_NAT_RANGE_PROTO_SPECIFIED	(1u << 1)	/* min_proto..max_proto given */
#define CT_NAT_RANGE_PROTO_RANDOM	(1u << 2)	/* nft "random" */
#define CT_NAT_RANGE_PERSISTENT		(1u << 3)	/* nft "persistent": address by source only */
#define CT_NAT_RANGE_PROTO_RANDOM_FULLY	(1u << 4)	/* nft "fully-random" */
#define CT_NAT_RANGE_PROTO_RANDOM_ALL	(CT_NAT_RANGE_PROTO_RANDOM | CT_NAT_RANGE_PROTO_RANDOM_FULLY)

/* struct nf_nat_range2: the addresses and ports (or ICMP ids, GRE keys) an
 * entry may be mapped to. Ports are in host order here (the kernel keeps
 * them in network order in union nf_conntrack_man_proto). */
struct ct_nat_range {
	unsigned flags;			/* CT_NAT_RANGE_* */
	union ct_addr min_addr, max_addr;
	uint16_t min_proto, max_proto;
};

/** ct_nat_initialized - nf_nat_initialized(): has @ct a binding for @manip? */
static inline bool ct_nat_initialized(const struct conn *ct, enum ct_nat_manip manip)
{
	return ct->status & (manip == CT_NAT_MANIP_SRC ? CT_S_SRC_NAT_DONE : CT_S_DST_NAT_DONE);
}

/**
 * ct_nat_setup - nf_nat_setup_info(): bind the unconfirmed entry @ct for
 * @manip to a tuple chosen in @range by get_unique_tuple():
 *   1. SRC manip without a random flag: keep the original source if it is
 *      in range and its reply tuple is unused; else reuse the mapping of an
 *      earlier entry from the same source (the bysource table) if unused;
 *   2. the address: one address as is, a range by the kernel's jhash2 of
 *      the addresses (find_best_ips_proto(); PERSISTENT: the source only);
 *   3. the port/ICMP id/GRE key if already in range and unused (a range of
 *      one port is taken even when used), else a search from a random
 *      offset, 128 tries, then halving rounds (nf_nat_l4proto_unique_tuple()).
 * "Unused" is nf_nat_used_tuple(): no entry of @t holds the inverted tuple
 * in @ct's zone, except one with the same original tuple. @t NULL: no
 * entry is in use (and no bysource memory). Sets IPS_SRC_NAT/IPS_DST_NAT
 * when the tuple changed and IPS_*_NAT_DONE always. A confirmed entry or an
 * already bound manip is left alone (the kernel returns NF_ACCEPT / warns).
 */
void ct_nat_setup(struct ct_table *t, struct conn *ct, const struct ct_nat_range *range,
		  enum ct_nat_manip manip);

/**
 * ct_nat_null_binding - __nf_nat_alloc_null_binding(): a NAT hook met
 * @ct's first packet and no rule bound @manip: bind it to its own current
 * address (the ports may still move when the tuple is in use: that is how a
 * clashing source port is reallocated without any rule).
 */
void ct_nat_null_binding(struct ct_table *t, struct conn *ct, enum ct_nat_manip manip);

/**
 * ct_nat_setup_info - ct_nat_setup() without a table (no uniqueness
 * check, no bysource): kept for callers that have no table at hand; @range
 * NULL is the null binding.
 */
void ct_nat_setup_info(struct conn *ct, const struct ct_nat_range *range,
		       enum ct_nat_manip manip);

/**
 * ct_nat_packet - nf_nat_packet(): rewrite @p, a packet of @ct travelling
 * in direction @dir, at a hook of manip type @manip, if the entry's binding
 * says so (SRC manip: IPS_SRC_NAT for the original direction, IPS_DST_NAT
 * for the reply; DST manip the other way round). Addresses, ports, ICMP
 * echo ids, the PPTP GRE call id; the IPv4 header checksum and the L4
 * checksums are updated incrementally (SCTP: CRC32c recomputed). @p's
 * parsed fields (src, dst, ports, icmp_id) follow. Returns true if the
 * packet was changed.
 */
bool ct_nat_packet(const struct conn *ct, enum ct_dir dir, enum ct_nat_manip manip,
		   struct ct_pkt *p);

/**
 * ct_nat_icmp_reply_translation - nf_nat_icmp_reply_translation() and its
 * IPv6 twin: @p is an ICMP/ICMPv6 error RELATED to @ct in direction @dir.
 * If the binding applies (as ct_nat_packet()), the quoted packet is
 * rewritten as a packet of the other direction with the other manip, the
 * ICMP checksum recomputed, and the outer header made to look like an
 * answer to the translated packet. Returns false when the packet must be
 * dropped (an ICMP redirect about a NATed entry, a quote too short).
 */
bool ct_nat_icmp_reply_translation(const struct conn *ct, enum ct_dir dir,
				   enum ct_nat_manip manip, struct ct_pkt *p);

/** ct_nat_state_free - free @t's NAT memory (called by ct_table_destroy()). */
void ct_nat_state_free(struct ct_table *t);

#endif
