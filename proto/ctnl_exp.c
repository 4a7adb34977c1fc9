/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctnl_exp.c — expectation objects (NFNL_SUBSYS_CTNETLINK_EXP):
 * decoding (ctnetlink_new_expect() / exp_nla_policy) and encoding in the
 * kernel's order (ctnetlink_exp_dump_expect()).
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>

#include "proto/ctnl.h"
#include "proto/ctnl_attr.h"



static int fail(const struct nlmsghdr *nlh, int *bad_off, const void *at, int err)
{
	if (bad_off && at)
		*bad_off = (int)((const char *)at - (const char *)nlh);
	return err;
}


static uint32_t get32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, mnl_attr_get_payload(a), sizeof(v));
	return ntohl(v);
}

/* NLA_NUL_STRING: NUL inside the payload (EINVAL), fits @size (ERANGE). */
static int get_str(const struct nlattr *a, char *dst, size_t size)
{
	const char *s = mnl_attr_get_payload(a);
	const char *nul = memchr(s, '\0', mnl_attr_get_payload_len(a));

	if (nul == NULL)
		return -EINVAL;
	if ((size_t)(nul - s) >= size)
		return -ERANGE;
	memcpy(dst, s, (size_t)(nul - s) + 1);
	return 0;
}

/**
 * ctnl_exp_parse - decode an expectation message
 * @nlh: a complete message; @exp: output, zeroed first; @bad_off: as in
 * ctnl_ct_parse(). Returns 0, -EINVAL or -ERANGE.
 */
int ctnl_exp_parse(const struct nlmsghdr *nlh, struct ctnl_exp *exp, int *bad_off)
{
	/* minimum payload sizes; 0xff = nest */
	static const uint8_t pol[CTA_EXPECT_MAX + 1] = {
		[CTA_EXPECT_MASTER] = 0xff, [CTA_EXPECT_TUPLE] = 0xff,
		[CTA_EXPECT_MASK] = 0xff, [CTA_EXPECT_TIMEOUT] = 4,
		[CTA_EXPECT_ID] = 4, [CTA_EXPECT_ZONE] = 2,
		[CTA_EXPECT_FLAGS] = 4, [CTA_EXPECT_CLASS] = 4,
		[CTA_EXPECT_NAT] = 0xff,
	};
	const struct nlattr *tb[CTA_EXPECT_MAX + 1];
	const struct nlattr *bad = NULL;
	const struct nfgenmsg *nfg;
	int err;

	memset(exp, 0, sizeof(*exp));
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*nfg))
		return fail(nlh, bad_off, nlh, -EINVAL);
	nfg = mnl_nlmsg_get_payload(nlh);
	exp->family = nfg->nfgen_family;
	exp->version = nfg->version;
	exp->res_id = ntohs(nfg->res_id);

	if (attr_table(mnl_nlmsg_get_payload_offset(nlh, sizeof(*nfg)),
		       nlh->nlmsg_len - MNL_NLMSG_HDRLEN - MNL_ALIGN(sizeof(*nfg)),
		       tb, CTA_EXPECT_MAX, &bad) < 0)
		return fail(nlh, bad_off, bad, -EINVAL);

	for (unsigned i = 1; i <= CTA_EXPECT_MAX; i++) {
		uint16_t len;

		if (tb[i] == NULL)
			continue;
		exp->present |= CTNL_HAS(i);
		len = mnl_attr_get_payload_len(tb[i]);
		if (pol[i] == 0xff ? (len && len < sizeof(struct nlattr)) : len < pol[i])
			return fail(nlh, bad_off, tb[i], -ERANGE);
	}

	if (tb[CTA_EXPECT_TUPLE] &&
	    (err = ctnl_tuple_parse(tb[CTA_EXPECT_TUPLE], exp->family, &exp->tuple)) < 0)
		return fail(nlh, bad_off, tb[CTA_EXPECT_TUPLE], err);
	if (tb[CTA_EXPECT_MASK] &&
	    (err = ctnl_tuple_parse(tb[CTA_EXPECT_MASK], exp->family, &exp->mask)) < 0)
		return fail(nlh, bad_off, tb[CTA_EXPECT_MASK], err);
	if (tb[CTA_EXPECT_MASTER] &&
	    (err = ctnl_tuple_parse(tb[CTA_EXPECT_MASTER], exp->family, &exp->master)) < 0)
		return fail(nlh, bad_off, tb[CTA_EXPECT_MASTER], err);
	if (tb[CTA_EXPECT_TIMEOUT])
		exp->timeout = get32(tb[CTA_EXPECT_TIMEOUT]);
	if (tb[CTA_EXPECT_ID])
		exp->id = get32(tb[CTA_EXPECT_ID]);
	if (tb[CTA_EXPECT_ZONE]) {
		uint16_t z;

		memcpy(&z, mnl_attr_get_payload(tb[CTA_EXPECT_ZONE]), sizeof(z));
		exp->zone = ntohs(z);
	}
	if (tb[CTA_EXPECT_FLAGS])
		exp->flags = get32(tb[CTA_EXPECT_FLAGS]);
	if (tb[CTA_EXPECT_CLASS])
		exp->class = get32(tb[CTA_EXPECT_CLASS]);
	if (tb[CTA_EXPECT_HELP_NAME] &&
	    (err = get_str(tb[CTA_EXPECT_HELP_NAME], exp->helper, sizeof(exp->helper))) < 0)
		return fail(nlh, bad_off, tb[CTA_EXPECT_HELP_NAME], err);
	if (tb[CTA_EXPECT_FN] &&
	    (err = get_str(tb[CTA_EXPECT_FN], exp->fn, sizeof(exp->fn))) < 0)
		return fail(nlh, bad_off, tb[CTA_EXPECT_FN], err);

	if (tb[CTA_EXPECT_NAT]) {	/* ctnetlink_parse_expect_nat() */
		const struct nlattr *n[CTA_EXPECT_NAT_MAX + 1];
		const struct nlattr *nat = tb[CTA_EXPECT_NAT];

		if (attr_table(mnl_attr_get_payload(nat), mnl_attr_get_payload_len(nat),
			       n, CTA_EXPECT_NAT_MAX, &bad) < 0)
			return fail(nlh, bad_off, bad, -EINVAL);
		if (n[CTA_EXPECT_NAT_DIR]) {
			if (mnl_attr_get_payload_len(n[CTA_EXPECT_NAT_DIR]) < 4)
				return fail(nlh, bad_off, n[CTA_EXPECT_NAT_DIR], -ERANGE);
			exp->nat_present |= 1u << CTA_EXPECT_NAT_DIR;
			exp->nat_dir = get32(n[CTA_EXPECT_NAT_DIR]);
		}
		if (n[CTA_EXPECT_NAT_TUPLE]) {
			err = ctnl_tuple_parse(n[CTA_EXPECT_NAT_TUPLE], exp->family,
					       &exp->nat_tuple);
			if (err < 0)
				return fail(nlh, bad_off, n[CTA_EXPECT_NAT_TUPLE], err);
			exp->nat_present |= 1u << CTA_EXPECT_NAT_TUPLE;
		}
	}
	return 0;
}

static bool put32(struct nlmsghdr *nlh, size_t cap, uint16_t type, uint32_t v)
{
	return put_u32(nlh, cap, type, htonl(v));
}

static bool put_attr(struct nlmsghdr *nlh, size_t cap, const struct ctnl_exp *e,
		     uint16_t type)
{
	struct nlattr *nest;

	switch (type) {
	case CTA_EXPECT_TUPLE:
		return ctnl_tuple_put(nlh, cap, type, &e->tuple) == 0;
	case CTA_EXPECT_MASK:
		return ctnl_tuple_put(nlh, cap, type, &e->mask) == 0;
	case CTA_EXPECT_MASTER:
		return ctnl_tuple_put(nlh, cap, type, &e->master) == 0;
	case CTA_EXPECT_TIMEOUT:	return put32(nlh, cap, type, e->timeout);
	case CTA_EXPECT_ID:		return put32(nlh, cap, type, e->id);
	case CTA_EXPECT_FLAGS:		return put32(nlh, cap, type, e->flags);
	case CTA_EXPECT_CLASS:		return put32(nlh, cap, type, e->class);
	case CTA_EXPECT_ZONE:
		return put_u16(nlh, cap, type, htons(e->zone));
	case CTA_EXPECT_HELP_NAME:
		return put_strz(nlh, cap, type, e->helper);
	case CTA_EXPECT_FN:
		return put_strz(nlh, cap, type, e->fn);
	case CTA_EXPECT_NAT:
		if (!(nest = mnl_attr_nest_start_check(nlh, cap, type)))
			return false;
		if ((e->nat_present & (1u << CTA_EXPECT_NAT_DIR)) &&
		    !put32(nlh, cap, CTA_EXPECT_NAT_DIR, e->nat_dir))
			return false;
		if ((e->nat_present & (1u << CTA_EXPECT_NAT_TUPLE)) &&
		    ctnl_tuple_put(nlh, cap, CTA_EXPECT_NAT_TUPLE, &e->nat_tuple) < 0)
			return false;
		mnl_attr_nest_end(nlh, nest);
		return true;
	}
	return true;
}

/**
 * ctnl_exp_put - append an expectation's attributes (present bits only) in
 * ctnetlink_exp_dump_expect() order: TUPLE, MASK, MASTER, [ZONE], [NAT],
 * TIMEOUT, ID, FLAGS, CLASS, [HELP_NAME], [FN].
 * Returns 0 or -EMSGSIZE (message unchanged).
 */
int ctnl_exp_put(struct nlmsghdr *nlh, size_t cap, const struct ctnl_exp *exp)
{
	static const uint16_t order[] = {
		CTA_EXPECT_TUPLE, CTA_EXPECT_MASK, CTA_EXPECT_MASTER,
		CTA_EXPECT_ZONE, CTA_EXPECT_NAT, CTA_EXPECT_TIMEOUT, CTA_EXPECT_ID,
		CTA_EXPECT_FLAGS, CTA_EXPECT_CLASS, CTA_EXPECT_HELP_NAME,
		CTA_EXPECT_FN,
	};
	uint32_t saved = nlh->nlmsg_len;

	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		if (!(exp->present & CTNL_HAS(order[i])))
			continue;
		if (!put_attr(nlh, cap, exp, order[i])) {
			nlh->nlmsg_len = saved;
			return -EMSGSIZE;
		}
	}
	return 0;
}
