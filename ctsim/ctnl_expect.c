/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctnl_expect.c — the IPCTNL_MSG_EXP_* handlers (ctnetlink_*_expect() in
 * nf_conntrack_netlink.c). The expectation table arrives with the helpers
 * issue; until then the table is empty and answers exactly as a kernel with
 * no expectations and no helpers does:
 *   dump -> DONE only; get/delete by tuple -> ENOENT; flush -> ACK;
 *   create -> ENOENT without the master, EOPNOTSUPP for a master without a
 *   helper (every master, for now).
 */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "proto/ctnl.h"
#include "ctsim/server.h"

/* ctnetlink_get_expect() */
static int exp_get(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	struct ctnl_exp req;
	struct dump d = { .fill = dump_fill_empty, .seq = nlh->nlmsg_seq, .type = nlh->nlmsg_type };
	int err = ctnl_exp_parse(nlh, &req, NULL);

	if (err)
		return err;
	if (nlh->nlmsg_flags & NLM_F_DUMP) {
		err = server_start_dump(srv, cl, &d);
		return err ? err : CTNL_DUMP_STARTED;
	}
	if (!(req.present & (CTNL_HAS(CTA_EXPECT_TUPLE) | CTNL_HAS(CTA_EXPECT_MASTER))))
		return -EINVAL;
	return -ENOENT;
}

/* ctnetlink_del_expect() */
static int exp_delete(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	struct ctnl_exp req;
	int err = ctnl_exp_parse(nlh, &req, NULL);

	(void)srv; (void)cl;
	if (err)
		return err;
	if (req.present & CTNL_HAS(CTA_EXPECT_TUPLE))
		return -ENOENT;
	return 0;	/* by helper name, or flush: nothing to remove */
}

/* ctnetlink_new_expect() -> ctnetlink_create_expect() */
static int exp_new(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	struct ctnl_exp req;
	struct ct_zone zone = { 0, CT_ZONE_DIR_BOTH };
	int err = ctnl_exp_parse(nlh, &req, NULL);

	(void)cl;
	if (err)
		return err;
	if (!(req.present & CTNL_HAS(CTA_EXPECT_TUPLE)) || !(req.present & CTNL_HAS(CTA_EXPECT_MASK)) ||
	    !(req.present & CTNL_HAS(CTA_EXPECT_MASTER)))
		return -EINVAL;
	if (req.family != AF_INET && req.family != AF_INET6)
		return -EOPNOTSUPP;
	if (req.present & CTNL_HAS(CTA_EXPECT_ZONE))
		zone.id = req.zone;
	if (!(nlh->nlmsg_flags & NLM_F_CREATE))
		return -ENOENT;
	req.master.t.l3num = req.family;
	if (!ct_table_find(srv->table, &req.master.t, &zone, CT_DIR_ORIG, NULL))
		return -ENOENT;
	return -EOPNOTSUPP;	/* the master has no helper */
}

static int exp_get_stats_cpu(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	return ctnl_start_stats_cpu_dump(srv, cl, nlh);
}

const ctnl_handler ctnl_exp_handlers[IPCTNL_MSG_EXP_MAX] = {
	[IPCTNL_MSG_EXP_NEW]		= exp_new,
	[IPCTNL_MSG_EXP_GET]		= exp_get,
	[IPCTNL_MSG_EXP_DELETE]		= exp_delete,
	[IPCTNL_MSG_EXP_GET_STATS_CPU]	= exp_get_stats_cpu,
};
