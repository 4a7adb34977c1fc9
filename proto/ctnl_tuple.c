/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctnl_tuple.c — tuple nests (CTA_TUPLE_ORIG/REPLY/MASTER, CTA_EXPECT_*):
 *   { CTA_TUPLE_IP { V4_SRC, V4_DST | V6_SRC, V6_DST },
 *     CTA_TUPLE_PROTO { NUM, l4 fields },
 *     [CTA_TUPLE_ZONE] }
 * as ctnetlink_dump_tuples() writes them and ctnetlink_parse_tuple() reads
 * them.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>

#include "proto/ctnl.h"
#include "proto/ctnl_attr.h"


/* attr_table() without reporting which attribute broke (tuples report
 * the whole nest). */
static int tuple_table(const void *data, size_t len, const struct nlattr **tb, unsigned max)
{
	const struct nlattr *bad;

	return attr_table(data, len, tb, max, &bad);
}

/* Payload length check of the kernel's nla policies: too short -> ERANGE. */
static bool short_attr(const struct nlattr *a, size_t need)
{
	return a && mnl_attr_get_payload_len(a) < need;
}

static uint16_t get_be16(const struct nlattr *a)
{
	uint16_t v;

	memcpy(&v, mnl_attr_get_payload(a), sizeof(v));
	return ntohs(v);
}

/* ctnetlink_parse_tuple_ip(): the address family follows from the attributes. */
static int parse_ip(const struct nlattr *nest, struct ctnl_tuple *tuple)
{
	const struct nlattr *tb[CTA_IP_MAX + 1];
	struct ct_tuple *t = &tuple->t;

	if (tuple_table(mnl_attr_get_payload(nest),
		       mnl_attr_get_payload_len(nest), tb, CTA_IP_MAX) < 0)
		return -EINVAL;
	if (short_attr(tb[CTA_IP_V4_SRC], 4) || short_attr(tb[CTA_IP_V4_DST], 4) ||
	    short_attr(tb[CTA_IP_V6_SRC], 16) || short_attr(tb[CTA_IP_V6_DST], 16))
		return -ERANGE;

	if (tb[CTA_IP_V4_SRC] || tb[CTA_IP_V4_DST])
		t->l3num = AF_INET;
	else if (tb[CTA_IP_V6_SRC] || tb[CTA_IP_V6_DST])
		t->l3num = AF_INET6;

	if (t->l3num == AF_INET) {
		if (tb[CTA_IP_V4_SRC]) {
			memcpy(&t->src.ip, mnl_attr_get_payload(tb[CTA_IP_V4_SRC]), 4);
			tuple->present |= CT_TF_IP_SRC;
		}
		if (tb[CTA_IP_V4_DST]) {
			memcpy(&t->dst.ip, mnl_attr_get_payload(tb[CTA_IP_V4_DST]), 4);
			tuple->present |= CT_TF_IP_DST;
		}
	} else if (t->l3num == AF_INET6) {
		if (tb[CTA_IP_V6_SRC]) {
			memcpy(t->src.ip6, mnl_attr_get_payload(tb[CTA_IP_V6_SRC]), 16);
			tuple->present |= CT_TF_IP_SRC;
		}
		if (tb[CTA_IP_V6_DST]) {
			memcpy(t->dst.ip6, mnl_attr_get_payload(tb[CTA_IP_V6_DST]), 16);
			tuple->present |= CT_TF_IP_DST;
		}
	}
	return 0;
}

/*
 * ctnetlink_parse_tuple_proto(): NUM, then whatever l4 fields are there.
 * The fields are decoded by attribute, not by protocol, so that a tuple is
 * read back exactly as sent; ICMPv6 fields share the ICMP slots.
 */
static int parse_proto(const struct nlattr *nest, struct ctnl_tuple *tuple)
{
	const struct nlattr *tb[CTA_PROTO_MAX + 1];
	struct ct_tuple *t = &tuple->t;

	if (tuple_table(mnl_attr_get_payload(nest),
		       mnl_attr_get_payload_len(nest), tb, CTA_PROTO_MAX) < 0)
		return -EINVAL;
	if (short_attr(tb[CTA_PROTO_NUM], 1) ||
	    short_attr(tb[CTA_PROTO_SRC_PORT], 2) ||
	    short_attr(tb[CTA_PROTO_DST_PORT], 2) ||
	    short_attr(tb[CTA_PROTO_ICMP_ID], 2) ||
	    short_attr(tb[CTA_PROTO_ICMP_TYPE], 1) ||
	    short_attr(tb[CTA_PROTO_ICMP_CODE], 1) ||
	    short_attr(tb[CTA_PROTO_ICMPV6_ID], 2) ||
	    short_attr(tb[CTA_PROTO_ICMPV6_TYPE], 1) ||
	    short_attr(tb[CTA_PROTO_ICMPV6_CODE], 1))
		return -ERANGE;

	if (tb[CTA_PROTO_NUM]) {
		t->l4num = mnl_attr_get_u8(tb[CTA_PROTO_NUM]);
		tuple->present |= CT_TF_PROTO_NUM;
	}
	if (tb[CTA_PROTO_SRC_PORT]) {
		t->sport = get_be16(tb[CTA_PROTO_SRC_PORT]);
		tuple->present |= CT_TF_SPORT;
	}
	if (tb[CTA_PROTO_DST_PORT]) {
		t->dport = get_be16(tb[CTA_PROTO_DST_PORT]);
		tuple->present |= CT_TF_DPORT;
	}
	if (tb[CTA_PROTO_ICMP_ID]) {
		t->sport = get_be16(tb[CTA_PROTO_ICMP_ID]);
		tuple->present |= CT_TF_ICMP_ID;
	}
	if (tb[CTA_PROTO_ICMP_TYPE]) {
		t->icmp_type = mnl_attr_get_u8(tb[CTA_PROTO_ICMP_TYPE]);
		tuple->present |= CT_TF_ICMP_TYPE;
	}
	if (tb[CTA_PROTO_ICMP_CODE]) {
		t->icmp_code = mnl_attr_get_u8(tb[CTA_PROTO_ICMP_CODE]);
		tuple->present |= CT_TF_ICMP_CODE;
	}
	if (tb[CTA_PROTO_ICMPV6_ID]) {
		t->sport = get_be16(tb[CTA_PROTO_ICMPV6_ID]);
		tuple->present |= CT_TF_ICMPV6_ID;
	}
	if (tb[CTA_PROTO_ICMPV6_TYPE]) {
		t->icmp_type = mnl_attr_get_u8(tb[CTA_PROTO_ICMPV6_TYPE]);
		tuple->present |= CT_TF_ICMPV6_TYPE;
	}
	if (tb[CTA_PROTO_ICMPV6_CODE]) {
		t->icmp_code = mnl_attr_get_u8(tb[CTA_PROTO_ICMPV6_CODE]);
		tuple->present |= CT_TF_ICMPV6_CODE;
	}
	return 0;
}

/**
 * ctnl_tuple_parse - decode one tuple nest (ctnetlink_parse_tuple())
 * @attr:   the nest (NLA_F_NESTED set or not)
 * @family: nfgen_family of the message; the tuple's l3num when the nest
 *          carries no address
 * @tuple:  output, zeroed first; .present tells which fields were there
 *
 * Returns 0, -EINVAL for broken structure, -ERANGE for a too-short field.
 */
int ctnl_tuple_parse(const struct nlattr *attr, uint8_t family,
		     struct ctnl_tuple *tuple)
{
	const struct nlattr *tb[CTA_TUPLE_MAX + 1];
	int err;

	memset(tuple, 0, sizeof(*tuple));
	tuple->t.l3num = family;
	if (tuple_table(mnl_attr_get_payload(attr),
		       mnl_attr_get_payload_len(attr), tb, CTA_TUPLE_MAX) < 0)
		return -EINVAL;
	if (short_attr(tb[CTA_TUPLE_ZONE], 2))
		return -ERANGE;
	/* a non-empty nest must at least hold an attribute header */
	if ((tb[CTA_TUPLE_IP] && mnl_attr_get_payload_len(tb[CTA_TUPLE_IP]) &&
	     short_attr(tb[CTA_TUPLE_IP], sizeof(struct nlattr))) ||
	    (tb[CTA_TUPLE_PROTO] && mnl_attr_get_payload_len(tb[CTA_TUPLE_PROTO]) &&
	     short_attr(tb[CTA_TUPLE_PROTO], sizeof(struct nlattr))))
		return -ERANGE;

	if (tb[CTA_TUPLE_IP] && (err = parse_ip(tb[CTA_TUPLE_IP], tuple)) < 0)
		return err;
	if (tb[CTA_TUPLE_PROTO] &&
	    (err = parse_proto(tb[CTA_TUPLE_PROTO], tuple)) < 0)
		return err;
	if (tb[CTA_TUPLE_ZONE]) {
		tuple->zone = get_be16(tb[CTA_TUPLE_ZONE]);
		tuple->present |= CT_TF_ZONE;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */

/*
 * Which fields to write: the .present bits, or - when none of the tuple's
 * own fields is marked (a tuple built by the daemon from a table entry) -
 * every field the protocol has, as ctnetlink_dump_tuples() does.
 */
static uint32_t fields_to_put(const struct ctnl_tuple *tuple)
{
	uint32_t f = tuple->present & ~(uint32_t)CT_TF_ZONE;

	if (f == 0)
		f = CT_TF_ALL & ~(uint32_t)CT_TF_ZONE;
	return f;
}

static bool put_be16(struct nlmsghdr *nlh, size_t cap, uint16_t type, uint16_t v)
{
	return put_u16(nlh, cap, type, htons(v));
}

/* ipv4_tuple_to_nlattr() / ipv6_tuple_to_nlattr() */
static bool put_ip(struct nlmsghdr *nlh, size_t cap, const struct ct_tuple *t,
		   uint32_t f)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, cap, CTA_TUPLE_IP);

	if (nest == NULL)
		return false;
	if (t->l3num == AF_INET6) {
		if ((f & CT_TF_IP_SRC) &&
		    !put(nlh, cap, CTA_IP_V6_SRC, 16, t->src.ip6))
			return false;
		if ((f & CT_TF_IP_DST) &&
		    !put(nlh, cap, CTA_IP_V6_DST, 16, t->dst.ip6))
			return false;
	} else if (t->l3num == AF_INET) {
		if ((f & CT_TF_IP_SRC) &&
		    !put(nlh, cap, CTA_IP_V4_SRC, 4, &t->src.ip))
			return false;
		if ((f & CT_TF_IP_DST) &&
		    !put(nlh, cap, CTA_IP_V4_DST, 4, &t->dst.ip))
			return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/*
 * ICMP and ICMPv6 fields: the kernel writes id, type, code
 * (icmp_tuple_to_nlattr()); libnetfilter_conntrack writes code, type, id
 * (__build_tuple_proto()), which the REQUEST layout reproduces.
 * @f uses the ICMP bit positions.
 */
static bool put_icmp(struct nlmsghdr *nlh, size_t cap, const struct ct_tuple *t,
		     uint32_t f, bool request, uint32_t id_bit,
		     uint16_t id_type, uint16_t type_type, uint16_t code_type)
{
	bool id = f & id_bit;
	bool type = f & CT_TF_ICMP_TYPE;
	bool code = f & CT_TF_ICMP_CODE;

	if (request)
		return (!code || put_u8(nlh, cap, code_type, t->icmp_code)) &&
		       (!type || put_u8(nlh, cap, type_type, t->icmp_type)) &&
		       (!id || put_be16(nlh, cap, id_type, t->sport));
	return (!id || put_be16(nlh, cap, id_type, t->sport)) &&
	       (!type || put_u8(nlh, cap, type_type, t->icmp_type)) &&
	       (!code || put_u8(nlh, cap, code_type, t->icmp_code));
}

/*
 * ctnetlink_dump_tuples_proto(): NUM, then l4proto->tuple_to_nlattr():
 * ports for the port-based protocols (GRE keys are ports here), id/type/code
 * for ICMP and ICMPv6, nothing for the others.
 */
static bool put_proto(struct nlmsghdr *nlh, size_t cap, const struct ct_tuple *t,
		      uint32_t f, bool request)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, cap, CTA_TUPLE_PROTO);

	if (nest == NULL)
		return false;
	if ((f & CT_TF_PROTO_NUM) &&
	    !put_u8(nlh, cap, CTA_PROTO_NUM, t->l4num))
		return false;

	switch (t->l4num) {
	case IPPROTO_TCP: case IPPROTO_UDP: case IPPROTO_UDPLITE:
	case IPPROTO_SCTP: case IPPROTO_DCCP: case IPPROTO_GRE:
		if ((f & CT_TF_SPORT) &&
		    !put_be16(nlh, cap, CTA_PROTO_SRC_PORT, t->sport))
			return false;
		if ((f & CT_TF_DPORT) &&
		    !put_be16(nlh, cap, CTA_PROTO_DST_PORT, t->dport))
			return false;
		break;
	case IPPROTO_ICMP:
		if (!put_icmp(nlh, cap, t, f, request, CT_TF_ICMP_ID,
			      CTA_PROTO_ICMP_ID, CTA_PROTO_ICMP_TYPE,
			      CTA_PROTO_ICMP_CODE))
			return false;
		break;
	case IPPROTO_ICMPV6:
		/* the ICMPV6 bits are the ICMP bits shifted by 3 */
		if (!put_icmp(nlh, cap, t, f >> 3, request, CT_TF_ICMP_ID,
			      CTA_PROTO_ICMPV6_ID, CTA_PROTO_ICMPV6_TYPE,
			      CTA_PROTO_ICMPV6_CODE))
			return false;
		break;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/*
 * ctnl_tuple_put_layout - ctnl_tuple_put() with the field order of @layout
 * (only ICMP/ICMPv6 differ between the kernel and libnetfilter_conntrack).
 * Internal to the codec (used by ctnl_ct.c); not declared in ctnl.h.
 */
int ctnl_tuple_put_layout(struct nlmsghdr *nlh, size_t cap, uint16_t type,
			  const struct ctnl_tuple *tuple, enum ctnl_layout layout);
int ctnl_tuple_put_layout(struct nlmsghdr *nlh, size_t cap, uint16_t type,
			  const struct ctnl_tuple *tuple, enum ctnl_layout layout)
{
	uint32_t saved = nlh->nlmsg_len;
	uint32_t f = fields_to_put(tuple);
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, cap, type);

	if (nest == NULL ||
	    !put_ip(nlh, cap, &tuple->t, f) ||
	    !put_proto(nlh, cap, &tuple->t, f, layout == CTNL_LAYOUT_REQUEST) ||
	    ((tuple->present & CT_TF_ZONE) &&
	     !put_be16(nlh, cap, CTA_TUPLE_ZONE, tuple->zone))) {
		nlh->nlmsg_len = saved;
		return -EMSGSIZE;
	}
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

/**
 * ctnl_tuple_put - append one tuple nest of attribute type @type
 * The fields written are those in tuple->present; a tuple with none of its
 * field bits set is written in full (the kernel's dump form). The zone is
 * written only with CT_TF_ZONE (ctnetlink_dump_zone_id() for a directional
 * zone). Fields are in the kernel's order (ctnetlink_dump_tuples()).
 * Returns 0, or -EMSGSIZE with the message as it was.
 */
int ctnl_tuple_put(struct nlmsghdr *nlh, size_t cap, uint16_t type,
		   const struct ctnl_tuple *tuple)
{
	return ctnl_tuple_put_layout(nlh, cap, type, tuple, CTNL_LAYOUT_DUMP);
}
