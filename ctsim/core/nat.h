/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nat.h — the home of NAT in the core (the kernel's nf_nat_core.c and
 * struct nf_nat_range2). Today only what ctnetlink's create path needs:
 * binding an entry's reply tuple to a source or destination mapping given
 * as a range (ctnetlink_setup_nat() -> nf_nat_setup_info()). No packet is
 * rewritten yet; the NAT chains of the hook ladder will use this too.
 */
#ifndef CTSIM_NAT_H
#define CTSIM_NAT_H

#include <stdint.h>
#include "ctsim/core/table.h"

/* enum nf_nat_manip_type */
enum ct_nat_manip {
	CT_NAT_MANIP_SRC,	/* NF_NAT_MANIP_SRC: SNAT, the source of the original direction */
	CT_NAT_MANIP_DST,	/* NF_NAT_MANIP_DST: DNAT, its destination */
};

/* struct nf_nat_range2 flags (NF_NAT_RANGE_*) */
#define CT_NAT_RANGE_MAP_IPS		(1u << 0)	/* min_addr..max_addr given */
#define CT_NAT_RANGE_PROTO_SPECIFIED	(1u << 1)	/* min_proto..max_proto given */

/* struct nf_nat_range2: the addresses and ports (or ICMP ids) an entry may
 * be mapped to. Ports are in host order here (the kernel keeps them in
 * network order in union nf_conntrack_man_proto). */
struct ct_nat_range {
	unsigned flags;			/* CT_NAT_RANGE_* */
	union ct_addr min_addr, max_addr;
	uint16_t min_proto, max_proto;
};

/**
 * ct_nat_setup_info - nf_nat_setup_info() for an entry that is not yet
 * confirmed: apply the @manip mapping @range to @ct's reply tuple (a
 * mapped reply tuple is what makes the answers come back to the
 * translated address). @range NULL is the null binding
 * (__nf_nat_alloc_null_binding()): nothing changes.
 *
 * Partial, as ctsim has always done it: an address range maps to its
 * first address (find_best_ips_proto() with a range of one), a port
 * outside the range maps to its first port, no uniqueness check against
 * other entries (get_unique_tuple()). Sets IPS_SRC_NAT / IPS_DST_NAT when
 * the tuple changed and IPS_*_NAT_DONE always.
 */
void ct_nat_setup_info(struct conn *ct, const struct ct_nat_range *range,
		       enum ct_nat_manip manip);

#endif
