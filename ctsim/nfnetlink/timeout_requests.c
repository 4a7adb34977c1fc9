// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * timeout_requests.c — the cttimeout subsystem (NFNL_SUBSYS_CTNETLINK_TIMEOUT,
 * nfnetlink_cttimeout.c: `nfct timeout ...`) on the server's table of named
 * policies (ctsim/core/timeout_policy.h), and the cthelper subsystem
 * (nfnetlink_cthelper.c: `nfct helper ...`) as a kernel with no userspace
 * helpers answers it.
 *
 *   TIMEOUT_NEW          create; EEXIST with NLM_F_EXCL; an existing name:
 *                        NLM_F_REPLACE re-parses its values (same l3/l4 or
 *                        EINVAL), else EBUSY; an untracked protocol EOPNOTSUPP
 *   TIMEOUT_GET          dump all; or one by CTA_TIMEOUT_NAME (ENOENT)
 *   TIMEOUT_DELETE       by name (ENOENT, EBUSY while used); no name: every
 *                        unused one, always 0
 *   TIMEOUT_DEFAULT_SET  change the namespace defaults (the sysctls)
 *   TIMEOUT_DEFAULT_GET  the namespace defaults of one protocol
 *
 * The messages are the kernel's byte for byte (ctnl_timeout_fill_info():
 * NAME, L3PROTO, L4PROTO, USE, then the DATA nest of every attribute of the
 * protocol; flags NLM_F_MULTI because the requester has a port id).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter/nfnetlink_cttimeout.h>
#include <linux/netfilter/nfnetlink_cthelper.h>
#include "proto/ctnl.h"
#include "ctsim/core/timeout_policy.h"
#include "ctsim/nfnetlink/server.h"

#define NLA_TYPE(a)	((a)->nla_type & NLA_TYPE_MASK)

/* The request's top-level attributes after nla_parse_deprecated() with
 * cttimeout_nla_policy (CTA_TIMEOUT_MAX = CTA_TIMEOUT_PAD). */
struct to_req {
	const char *name;
	const struct nlattr *data;
	uint16_t l3num;
	uint8_t l4num;
	bool has_l3, has_l4;
};

/* validate_nla() for cttimeout_nla_policy: NAME an NLA_NUL_STRING of at
 * most 31 bytes (EINVAL without a NUL in the first 32, ERANGE if longer),
 * L3PROTO u16 and L4PROTO u8 (ERANGE when short), DATA nested (0 or at
 * least a header). Attributes past the policy are ignored, as is a short
 * tail (the deprecated parser only warns). */
static int parse_req(const struct nlmsghdr *nlh, struct to_req *r)
{
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));

	memset(r, 0, sizeof(*r));
	while (off + NLA_HDRLEN <= nlh->nlmsg_len) {
		const struct nlattr *a = (const void *)((const char *)nlh + off);
		const char *p = (const char *)a + NLA_HDRLEN;
		size_t len;

		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > nlh->nlmsg_len)
			break;
		len = a->nla_len - NLA_HDRLEN;
		switch (NLA_TYPE(a)) {
		case CTA_TIMEOUT_NAME: {
			size_t min = len < CT_TIMEOUT_NAME_MAX ? len : CT_TIMEOUT_NAME_MAX;

			if (!min || !memchr(p, '\0', min))
				return -EINVAL;
			if (len - (p[len - 1] == '\0') > CT_TIMEOUT_NAME_MAX - 1)
				return -ERANGE;
			r->name = p;
			break;
		}
		case CTA_TIMEOUT_L3PROTO:
			if (len < 2)
				return -ERANGE;
			r->l3num = (uint16_t)(((uint8_t)p[0] << 8) | (uint8_t)p[1]);
			r->has_l3 = true;
			break;
		case CTA_TIMEOUT_L4PROTO:
			if (len < 1)
				return -ERANGE;
			r->l4num = (uint8_t)p[0];
			r->has_l4 = true;
			break;
		case CTA_TIMEOUT_DATA:
			if (len && len < NLA_HDRLEN)
				return -ERANGE;
			r->data = a;
			break;
		default:
			break;
		}
		off += NLA_ALIGN(a->nla_len);
	}
	return 0;
}

/* ctnl_timeout_parse_policy(): the DATA nest's attributes for @l4num, all
 * NLA_U32 seconds (ERANGE when short), applied over @secs (which the caller
 * filled with the namespace defaults, as the trackers' nlattr_to_obj() do).
 * @given marks the attributes present. Nothing is applied on error. */
static int parse_data(const struct nlattr *data, uint8_t l4num,
		      uint32_t secs[CT_TIMEOUT_ATTR_MAX + 1], bool given[CT_TIMEOUT_ATTR_MAX + 1])
{
	unsigned n = ct_timeout_nattrs(l4num);
	uint32_t v[CT_TIMEOUT_ATTR_MAX + 1];
	bool g[CT_TIMEOUT_ATTR_MAX + 1] = { false };
	size_t off = NLA_HDRLEN;

	memcpy(v, secs, sizeof(v));
	while (off + NLA_HDRLEN <= data->nla_len) {
		const struct nlattr *a = (const void *)((const char *)data + off);
		unsigned t = NLA_TYPE(a);
		uint32_t be;

		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > data->nla_len)
			break;
		if (t >= 1 && t <= n) {
			if (a->nla_len - NLA_HDRLEN < 4)
				return -ERANGE;
			memcpy(&be, (const char *)a + NLA_HDRLEN, 4);
			v[t] = ntohl(be);
			g[t] = true;
		}
		off += NLA_ALIGN(a->nla_len);
	}
	memcpy(secs, v, sizeof(v));
	if (given)
		memcpy(given, g, sizeof(g));
	return 0;
}

static int put_attr(struct nlmsghdr *nlh, size_t cap, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (void *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));
	size_t need = NLA_ALIGN(NLA_HDRLEN + len);

	if (NLMSG_ALIGN(nlh->nlmsg_len) + need > cap)
		return -EMSGSIZE;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)	/* a nest header has no payload (data NULL) */
		memcpy((char *)a + NLA_HDRLEN, data, len);
	memset((char *)a + NLA_HDRLEN + len, 0, need - NLA_HDRLEN - len);
	nlh->nlmsg_len = (uint32_t)(NLMSG_ALIGN(nlh->nlmsg_len) + need);
	return 0;
}

/* The DATA nest: every attribute of the protocol, big-endian seconds
 * (obj_to_nlattr()). */
static int put_data(struct nlmsghdr *nlh, size_t cap, uint8_t l4num,
		    const uint32_t secs[CT_TIMEOUT_ATTR_MAX + 1])
{
	struct nlattr *nest = (void *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));
	uint32_t start = NLMSG_ALIGN(nlh->nlmsg_len);
	unsigned n = ct_timeout_nattrs(l4num);

	if (put_attr(nlh, cap, CTA_TIMEOUT_DATA | NLA_F_NESTED, NULL, 0) < 0)
		return -EMSGSIZE;
	for (unsigned t = 1; t <= n; t++) {
		uint32_t be = htonl(secs[t]);

		if (put_attr(nlh, cap, (uint16_t)t, &be, 4) < 0)
			return -EMSGSIZE;
	}
	nest->nla_len = (uint16_t)(nlh->nlmsg_len - start);
	return 0;
}

/* ctnl_timeout_fill_info(): one TIMEOUT_NEW object; its length or 0. */
static int timeout_msg(const struct ct_timeout_policy *p, void *buf, size_t cap, uint32_t seq,
		       uint32_t portid)
{
	struct nlmsghdr *nlh;
	uint16_t l3 = htons(p->l3num);
	uint32_t use = htonl(p->refs + 1);

	nlh = ctnl_msg_start(buf, cap, CTNL_MSG(NFNL_SUBSYS_CTNETLINK_TIMEOUT, IPCTNL_MSG_TIMEOUT_NEW),
			     portid ? NLM_F_MULTI : 0, seq, portid, AF_UNSPEC, NFNETLINK_V0, 0);
	if (!nlh || put_attr(nlh, cap, CTA_TIMEOUT_NAME, p->name, strlen(p->name) + 1) < 0 ||
	    put_attr(nlh, cap, CTA_TIMEOUT_L3PROTO, &l3, 2) < 0 ||
	    put_attr(nlh, cap, CTA_TIMEOUT_L4PROTO, &p->l4num, 1) < 0 ||
	    put_attr(nlh, cap, CTA_TIMEOUT_USE, &use, 4) < 0 ||
	    put_data(nlh, cap, p->l4num, p->secs) < 0)
		return 0;
	return (int)nlh->nlmsg_len;
}

static int timeout_new(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	uint32_t secs[CT_TIMEOUT_ATTR_MAX + 1];
	struct ct_timeout_policy *match;
	struct to_req r;
	int err;

	(void)cl;
	if ((err = parse_req(nlh, &r)) < 0)
		return err;
	if (!r.name || !r.has_l3 || !r.has_l4 || !r.data)
		return -EINVAL;
	match = ct_timeout_find(srv->timeouts, r.name);
	if (match) {
		if (nlh->nlmsg_flags & NLM_F_EXCL)
			return -EEXIST;
		if (!(nlh->nlmsg_flags & NLM_F_REPLACE))
			return -EBUSY;
		/* "You cannot replace one timeout policy by another of
		 * different kind" (cttimeout_new_timeout()). */
		if (match->l3num != r.l3num || match->l4num != r.l4num)
			return -EINVAL;
		ct_timeout_defaults(srv->settings, r.l4num, secs);
		if ((err = parse_data(r.data, r.l4num, secs, NULL)) < 0)
			return err;
		memcpy(match->secs, secs, sizeof(secs));
		return 0;
	}
	if (!ct_timeout_nattrs(r.l4num))
		return -EOPNOTSUPP;	/* nf_ct_l4proto_find() fell back to generic */
	ct_timeout_defaults(srv->settings, r.l4num, secs);
	if ((err = parse_data(r.data, r.l4num, secs, NULL)) < 0)
		return err;
	return ct_timeout_add(srv->timeouts, r.name, r.l3num, r.l4num, secs) ? 0 : -ENOMEM;
}

/* ctnl_timeout_dump(): the list from the @d->state'th policy on. The
 * kernel resumes from the last object's pointer; an index is the same as
 * long as the list does not change between two datagrams of one dump. */
static int timeout_dump_fill(struct server *srv, struct client *cl, struct dump *d, void *buf,
			     size_t cap)
{
	uintptr_t skip = (uintptr_t)d->state, i = 0;
	size_t used = 0;

	for (struct ct_timeout_policy *p = srv->timeouts->head; p; p = p->next, i++) {
		int n;

		if (i < skip)
			continue;
		n = timeout_msg(p, (char *)buf + used, cap - used, d->seq, client_portid(cl));
		if (n <= 0) {
			if (!used)
				return -EMSGSIZE;
			break;
		}
		used += NLMSG_ALIGN((size_t)n);
		d->state = (void *)(i + 1);
	}
	return (int)used;
}

static int timeout_get(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	struct ct_timeout_policy *p;
	unsigned char buf[512];
	struct to_req r;
	int err, n;

	if ((err = parse_req(nlh, &r)) < 0)
		return err;
	if (nlh->nlmsg_flags & NLM_F_DUMP) {
		struct dump d = { .fill = timeout_dump_fill, .seq = nlh->nlmsg_seq,
				  .type = nlh->nlmsg_type };

		err = server_start_dump(srv, cl, &d);
		return err < 0 ? err : CTNL_DUMP_STARTED;
	}
	if (!r.name)
		return -EINVAL;
	p = ct_timeout_find(srv->timeouts, r.name);
	if (!p)
		return -ENOENT;
	n = timeout_msg(p, buf, sizeof(buf), nlh->nlmsg_seq, client_portid(cl));
	if (n <= 0)
		return -ENOMEM;
	server_reply(srv, cl, buf, (size_t)n);
	return 0;
}

static int timeout_delete(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	struct ct_timeout_policy *p, *next;
	struct to_req r;
	int err;

	(void)cl;
	if ((err = parse_req(nlh, &r)) < 0)
		return err;
	if (!r.name) {
		/* Every policy nobody uses; the busy ones stay, silently. */
		for (p = srv->timeouts->head; p; p = next) {
			next = p->next;
			ct_timeout_del(srv->timeouts, p);
		}
		return 0;
	}
	p = ct_timeout_find(srv->timeouts, r.name);
	return p ? ct_timeout_del(srv->timeouts, p) : -ENOENT;
}

static int timeout_default_set(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	uint32_t secs[CT_TIMEOUT_ATTR_MAX + 1];
	bool given[CT_TIMEOUT_ATTR_MAX + 1];
	struct to_req r;
	int err;

	(void)cl;
	if ((err = parse_req(nlh, &r)) < 0)
		return err;
	if (!r.has_l3 || !r.has_l4 || !r.data)
		return -EINVAL;
	if (!ct_timeout_nattrs(r.l4num))
		return -EOPNOTSUPP;
	ct_timeout_defaults(srv->settings, r.l4num, secs);
	if ((err = parse_data(r.data, r.l4num, secs, given)) < 0)
		return err;
	for (unsigned t = 1; t <= CT_TIMEOUT_ATTR_MAX; t++)
		if (given[t])
			ct_timeout_set_default(srv->settings, r.l4num, t, secs[t]);
	return 0;
}

static int timeout_default_get(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	uint32_t secs[CT_TIMEOUT_ATTR_MAX + 1];
	unsigned char buf[512];
	struct nlmsghdr *out;
	struct to_req r;
	uint16_t l3;
	int err;

	if ((err = parse_req(nlh, &r)) < 0)
		return err;
	if (!r.has_l3 || !r.has_l4)
		return -EINVAL;
	if (!ct_timeout_nattrs(r.l4num))
		return -EOPNOTSUPP;
	ct_timeout_defaults(srv->settings, r.l4num, secs);
	l3 = htons(r.l3num);
	/* cttimeout_default_fill_info(): answered as DEFAULT_SET. */
	out = ctnl_msg_start(buf, sizeof(buf),
			     CTNL_MSG(NFNL_SUBSYS_CTNETLINK_TIMEOUT, IPCTNL_MSG_TIMEOUT_DEFAULT_SET),
			     client_portid(cl) ? NLM_F_MULTI : 0, nlh->nlmsg_seq, client_portid(cl),
			     AF_UNSPEC, NFNETLINK_V0, 0);
	if (!out || put_attr(out, sizeof(buf), CTA_TIMEOUT_L3PROTO, &l3, 2) < 0 ||
	    put_attr(out, sizeof(buf), CTA_TIMEOUT_L4PROTO, &r.l4num, 1) < 0 ||
	    put_data(out, sizeof(buf), r.l4num, secs) < 0)
		return -ENOMEM;
	server_reply(srv, cl, buf, out->nlmsg_len);
	return 0;
}

const ctnetlink_handler ctnetlink_timeout_handlers[IPCTNL_MSG_TIMEOUT_MAX] = {
	[IPCTNL_MSG_TIMEOUT_NEW] = timeout_new,
	[IPCTNL_MSG_TIMEOUT_GET] = timeout_get,
	[IPCTNL_MSG_TIMEOUT_DELETE] = timeout_delete,
	[IPCTNL_MSG_TIMEOUT_DEFAULT_SET] = timeout_default_set,
	[IPCTNL_MSG_TIMEOUT_DEFAULT_GET] = timeout_default_get,
};

/* ---------------------------------------------------------------------- */
/* cthelper: ctsim's helpers are all "in-kernel" ones, which the kernel's
 * nfnl_cthelper_dump_table() skips (only NF_CT_HELPER_F_USERSPACE helpers
 * are listed); userspace helpers need NFQUEUE, which ctsim has not. */

static int helper_new(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	(void)srv; (void)cl; (void)nlh;
	return -EOPNOTSUPP;	/* ctsim: no userspace helpers (no NFQUEUE) */
}

static int helper_get(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	if (nlh->nlmsg_flags & NLM_F_DUMP) {
		struct dump d = { .fill = dump_fill_empty, .seq = nlh->nlmsg_seq,
				  .type = nlh->nlmsg_type };
		int err = server_start_dump(srv, cl, &d);

		return err < 0 ? err : CTNL_DUMP_STARTED;
	}
	return -ENOENT;		/* nfnl_cthelper_get(): no userspace helper matches */
}

static int helper_del(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	(void)srv; (void)cl; (void)nlh;
	return -ENOENT;		/* nfnl_cthelper_del(): nothing found */
}

const ctnetlink_handler ctnetlink_helper_handlers[NFNL_MSG_CTHELPER_MAX] = {
	[NFNL_MSG_CTHELPER_NEW] = helper_new,
	[NFNL_MSG_CTHELPER_GET] = helper_get,
	[NFNL_MSG_CTHELPER_DEL] = helper_del,
};
