/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctnl_stats.c — statistics messages:
 *   CT_GET_STATS_CPU  -> one message per CPU (res_id = cpu), CTA_STATS_*
 *                        (ctnetlink_ct_stat_cpu_fill_info())
 *   EXP_GET_STATS_CPU -> CTA_STATS_EXP_* (ctnetlink_exp_stat_fill_info())
 *   CT_GET_STATS      -> CTA_STATS_GLOBAL_* (ctnetlink_stat_ct_fill_info())
 * All counters are be32. The caller starts the message (ctnl_msg_start())
 * and these functions add or read the attributes.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>

#include "proto/ctnl.h"
#include "proto/ctnl_attr.h"



/* An attribute type and where its value lives in a stats struct. */
struct field {
	uint16_t type;
	size_t off;
};

/* Kernel order; the obsolete counters (SEARCHED, NEW, ...) are not sent. */
static const struct field cpu_fields[] = {
	{ CTA_STATS_FOUND,		offsetof(struct ctnl_stats_cpu, found) },
	{ CTA_STATS_INVALID,		offsetof(struct ctnl_stats_cpu, invalid) },
	{ CTA_STATS_INSERT,		offsetof(struct ctnl_stats_cpu, insert) },
	{ CTA_STATS_INSERT_FAILED,	offsetof(struct ctnl_stats_cpu, insert_failed) },
	{ CTA_STATS_DROP,		offsetof(struct ctnl_stats_cpu, drop) },
	{ CTA_STATS_EARLY_DROP,		offsetof(struct ctnl_stats_cpu, early_drop) },
	{ CTA_STATS_ERROR,		offsetof(struct ctnl_stats_cpu, error) },
	{ CTA_STATS_SEARCH_RESTART,	offsetof(struct ctnl_stats_cpu, search_restart) },
	{ CTA_STATS_CLASH_RESOLVE,	offsetof(struct ctnl_stats_cpu, clash_resolve) },
	{ CTA_STATS_CHAIN_TOOLONG,	offsetof(struct ctnl_stats_cpu, chaintoolong) },
};

static const struct field exp_fields[] = {
	{ CTA_STATS_EXP_NEW,	offsetof(struct ctnl_stats_exp, new) },
	{ CTA_STATS_EXP_CREATE,	offsetof(struct ctnl_stats_exp, create) },
	{ CTA_STATS_EXP_DELETE,	offsetof(struct ctnl_stats_exp, delete) },
};

static const struct field global_fields[] = {
	{ CTA_STATS_GLOBAL_ENTRIES,	offsetof(struct ctnl_stats_global, entries) },
	{ CTA_STATS_GLOBAL_MAX_ENTRIES,	offsetof(struct ctnl_stats_global, max_entries) },
};

/* Append the be32 counters of @s; -EMSGSIZE leaves the message as it was. */
static int put_fields(struct nlmsghdr *nlh, size_t cap, const void *s,
		      const struct field *f, size_t n)
{
	uint32_t saved = nlh->nlmsg_len;

	for (size_t i = 0; i < n; i++) {
		uint32_t v;

		memcpy(&v, (const char *)s + f[i].off, sizeof(v));
		if (!put_u32(nlh, cap, f[i].type, htonl(v))) {
			nlh->nlmsg_len = saved;
			return -EMSGSIZE;
		}
	}
	return 0;
}

/*
 * Read the counters of a stats message: unknown attributes are skipped,
 * a broken one is -EINVAL, a short counter -ERANGE. @s is zeroed first.
 */
static int parse_fields(const struct nlmsghdr *nlh, void *s, size_t size,
			const struct field *f, size_t n)
{
	const uint8_t *p, *end;

	memset(s, 0, size);
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg))
		return -EINVAL;
	p = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg));
	end = (const uint8_t *)nlh + nlh->nlmsg_len;

	while (p + sizeof(struct nlattr) <= end) {
		const struct nlattr *a = (const void *)p;
		unsigned type = a->nla_type & NLA_TYPE_MASK;

		if (a->nla_len < sizeof(*a) || a->nla_len > (size_t)(end - p))
			return -EINVAL;
		for (size_t i = 0; i < n; i++) {
			uint32_t v;

			if (f[i].type != type)
				continue;
			if (mnl_attr_get_payload_len(a) < sizeof(v))
				return -ERANGE;
			memcpy(&v, mnl_attr_get_payload(a), sizeof(v));
			v = ntohl(v);
			memcpy((char *)s + f[i].off, &v, sizeof(v));
		}
		p += MNL_ALIGN(a->nla_len);
	}
	return 0;
}

/** ctnl_stats_cpu_put - append CTA_STATS_* of one CPU; 0 or -EMSGSIZE. */
int ctnl_stats_cpu_put(struct nlmsghdr *nlh, size_t cap, const struct ctnl_stats_cpu *s)
{
	return put_fields(nlh, cap, s, cpu_fields, ARRAY_SIZE(cpu_fields));
}

/** ctnl_stats_cpu_parse - read CTA_STATS_*; 0, -EINVAL or -ERANGE. */
int ctnl_stats_cpu_parse(const struct nlmsghdr *nlh, struct ctnl_stats_cpu *s)
{
	return parse_fields(nlh, s, sizeof(*s), cpu_fields, ARRAY_SIZE(cpu_fields));
}

/** ctnl_stats_exp_put - append CTA_STATS_EXP_*; 0 or -EMSGSIZE. */
int ctnl_stats_exp_put(struct nlmsghdr *nlh, size_t cap, const struct ctnl_stats_exp *s)
{
	return put_fields(nlh, cap, s, exp_fields, ARRAY_SIZE(exp_fields));
}

/** ctnl_stats_exp_parse - read CTA_STATS_EXP_*; 0, -EINVAL or -ERANGE. */
int ctnl_stats_exp_parse(const struct nlmsghdr *nlh, struct ctnl_stats_exp *s)
{
	return parse_fields(nlh, s, sizeof(*s), exp_fields, ARRAY_SIZE(exp_fields));
}

/** ctnl_stats_global_put - append ENTRIES, MAX_ENTRIES; 0 or -EMSGSIZE. */
int ctnl_stats_global_put(struct nlmsghdr *nlh, size_t cap,
			  const struct ctnl_stats_global *s)
{
	return put_fields(nlh, cap, s, global_fields, ARRAY_SIZE(global_fields));
}

/** ctnl_stats_global_parse - read CTA_STATS_GLOBAL_*; 0, -EINVAL or -ERANGE. */
int ctnl_stats_global_parse(const struct nlmsghdr *nlh, struct ctnl_stats_global *s)
{
	return parse_fields(nlh, s, sizeof(*s), global_fields,
			    ARRAY_SIZE(global_fields));
}
