/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nat.c — NAT bindings of entries (nf_nat_core.c). See nat.h.
 */
#include <stdbool.h>
#include <string.h>
#include <netinet/in.h>
#include "proto/ctnl.h"
#include "ctsim/core/nat.h"
#include "ctsim/core/packet.h"

void ct_nat_setup_info(struct conn *ct, const struct ct_nat_range *range,
		       enum ct_nat_manip manip)
{
	const bool dst = manip == CT_NAT_MANIP_DST;
	struct ct_tuple *reply = &ct->th[CT_DIR_REPLY].tuple;
	struct ct_tuple cur, new;

	/* nf_ct_invert_tuple(&curr_tuple, reply): the original direction as
	 * it looks after the manipulations bound so far */
	ct_tuple_invert(reply, &cur);
	cur.l3num = reply->l3num;
	cur.l4num = reply->l4num;
	if (reply->l4num == IPPROTO_ICMP || reply->l4num == IPPROTO_ICMPV6) {
		cur.sport = reply->sport;
		cur.icmp_type = ct->th[CT_DIR_ORIG].tuple.icmp_type;
		cur.icmp_code = ct->th[CT_DIR_ORIG].tuple.icmp_code;
	}
	new = cur;
	/* get_unique_tuple() -> find_best_ips_proto(): one address */
	if (range && (range->flags & CT_NAT_RANGE_MAP_IPS)) {
		if (dst)
			new.dst = range->min_addr;
		else
			new.src = range->min_addr;
	}
	/* nf_nat_l4proto_in_range(), else the first of the range */
	if (range && (range->flags & CT_NAT_RANGE_PROTO_SPECIFIED) && ct_tuple_has_ports(new.l4num)) {
		uint16_t *p = dst ? &new.dport : &new.sport;

		if (*p < range->min_proto || *p > range->max_proto)
			*p = range->min_proto;
	}
	/* nf_conntrack_alter_reply() */
	if (memcmp(&new, &cur, sizeof(new)) != 0) {
		ct_tuple_invert(&new, reply);
		reply->l3num = new.l3num;
		reply->l4num = new.l4num;
		ct->status |= dst ? CT_S_DST_NAT : CT_S_SRC_NAT;
	}
	ct->status |= dst ? CT_S_DST_NAT_DONE : CT_S_SRC_NAT_DONE;
}
