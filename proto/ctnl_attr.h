/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctnl_attr.h — attribute writers shared by the codec's files (private to
 * proto/). Every put_*() appends one attribute if it fits in @cap bytes from
 * @nlh and returns false otherwise, leaving the message unchanged.
 */
#ifndef CTSIM_PROTO_CTNL_ATTR_H
#define CTSIM_PROTO_CTNL_ATTR_H

#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <libmnl/libmnl.h>

/*
 * mnl_attr_put() does not clear the alignment padding after a payload; the
 * kernel's nla_put() does, and our output must match it byte for byte.
 */
static inline bool put(struct nlmsghdr *nlh, size_t cap, uint16_t type, size_t len,
		const void *data)
{
	struct nlattr *a = mnl_nlmsg_get_payload_tail(nlh);

	if (!mnl_attr_put_check(nlh, cap, type, len, data))
		return false;
	memset((char *)mnl_attr_get_payload(a) + len, 0, MNL_ALIGN(len) - len);
	return true;
}

static inline bool put_u8(struct nlmsghdr *nlh, size_t cap, uint16_t type, uint8_t v)
{
	return put(nlh, cap, type, sizeof(v), &v);
}

/* @v is already in network order, as for mnl_attr_put_u16(). */
static inline bool put_u16(struct nlmsghdr *nlh, size_t cap, uint16_t type, uint16_t v)
{
	return put(nlh, cap, type, sizeof(v), &v);
}

static inline bool put_u32(struct nlmsghdr *nlh, size_t cap, uint16_t type, uint32_t v)
{
	return put(nlh, cap, type, sizeof(v), &v);
}

static inline bool put_u64(struct nlmsghdr *nlh, size_t cap, uint16_t type, uint64_t v)
{
	return put(nlh, cap, type, sizeof(v), &v);
}

static inline bool put_strz(struct nlmsghdr *nlh, size_t cap, uint16_t type, const char *s)
{
	return put(nlh, cap, type, strlen(s) + 1, s);
}

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * attr_table - nla_parse(): collect the attributes in [data, data + len)
 * into tb[0..max] (the last of a type wins, unknown types are skipped).
 * Returns 0, or -EINVAL with *bad pointing at an attribute whose length is
 * below 4 or runs past the end.
 */
static inline int attr_table(const void *data, size_t len, const struct nlattr **tb,
			     unsigned max, const struct nlattr **bad)
{
	const uint8_t *p = data, *end = p + len;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	while (p + sizeof(struct nlattr) <= end) {
		const struct nlattr *a = (const void *)p;
		unsigned type = a->nla_type & NLA_TYPE_MASK;

		if (a->nla_len < sizeof(*a) || a->nla_len > (size_t)(end - p)) {
			*bad = a;
			return -EINVAL;
		}
		if (type <= max)
			tb[type] = a;
		p += MNL_ALIGN(a->nla_len);
	}
	return 0;
}

#endif
