/* SPDX-License-Identifier: GPL-2.0-or-later */
/* router_nat.h — the NAT rows of the hook ladder (router.c's private part). */
#ifndef CTSIM_ROUTER_NAT_H
#define CTSIM_ROUTER_NAT_H

#include "ctsim/hooks/router.h"

/**
 * router_nat_row - nf_nat_ipv4_fn()/nf_nat_ipv6_fn() -> nf_nat_inet_fn()
 * at a NAT row (dstnat at prerouting/output, srcnat at postrouting/input),
 * after the row's chains ran: on a connection's first packet, bind the
 * entry to the first NAT statement of this row that matched
 * (r->last.nat[@first..]) or to the null binding when the ruleset has a
 * nat chain for the packet's family (the kernel's NAT hooks exist then);
 * then rewrite the packet as the binding says, or translate an ICMP error.
 * Returns CT_ACCEPT or CT_DROP (r->last.why set).
 */
int router_nat_row(struct router *r, const struct router_row *row, struct ct_skb *skb,
		   unsigned first_nat);

#endif
