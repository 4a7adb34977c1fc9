/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exp_requests.c — the IPCTNL_MSG_EXP_* handlers (ctnetlink_*_expect() in
 * nf_conntrack_netlink.c) on the expectation table (expect.h), and the
 * expectation event messages (ctnetlink_expect_event()).
 *
 *   EXP_GET dump        all expectations of the request's family (0 = all);
 *                       with CTA_EXPECT_MASTER only that master's
 *   EXP_GET             by CTA_EXPECT_TUPLE, else CTA_EXPECT_MASTER (which
 *                       conntrack -G expect fills with the EXPECTED tuple)
 *   EXP_DELETE          by tuple; else every expectation whose master's
 *                       helper has CTA_EXPECT_HELP_NAME; else flush
 *   EXP_NEW             create (master must exist: ENOENT; must have a
 *                       helper: EOPNOTSUPP), or EEXIST / change timeout
 *   EXP_GET_STATS_CPU   the per-CPU statistics (ct_requests.c)
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "proto/ctnl.h"
#include "ctsim/nfnetlink/conn_export.h"
#include "ctsim/core/expect.h"
#include "ctsim/core/helper.h"
#include "ctsim/nfnetlink/server.h"

/* Expectation -> wire object: export_exp_from_expect() in conn_export.c. */

/* ctnetlink_exp_fill_info(): one EXP_NEW object at @buf; its length or 0. */
static int exp_msg(const struct ct_table *t, const struct ct_expect *e, void *buf, size_t cap,
		   uint16_t type, uint16_t flags, uint32_t seq, uint32_t portid)
{
	struct ctnl_exp o;
	struct nlmsghdr *nlh;

	export_exp_from_expect(t, e, &o);
	nlh = ctnl_msg_start(buf, cap, CTNL_MSG(NFNL_SUBSYS_CTNETLINK_EXP, type), flags, seq,
			     portid, o.family, NFNETLINK_V0, 0);
	if (!nlh || ctnl_exp_put(nlh, cap, &o) < 0)
		return 0;
	return (int)nlh->nlmsg_len;
}

int ctnetlink_exp_event_msg(struct server *srv, const struct ct_exp_event *ev, void *buf,
		       size_t cap, unsigned *group)
{
	/* ctnetlink_expect_event() */
	if (ev->mask & CT_EXPEV(DESTROY)) {
		*group = NFNLGRP_CONNTRACK_EXP_DESTROY;
		return exp_msg(srv->table, ev->exp, buf, cap, IPCTNL_MSG_EXP_DELETE, 0, 0,
			       ev->portid);
	}
	if (ev->mask & CT_EXPEV(NEW)) {
		*group = NFNLGRP_CONNTRACK_EXP_NEW;
		return exp_msg(srv->table, ev->exp, buf, cap, IPCTNL_MSG_EXP_NEW,
			       NLM_F_CREATE | NLM_F_EXCL, 0, ev->portid);
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Requests                                                                */

/* ctnetlink_parse_tuple() for expectation requests. */
static int exp_tuple(uint8_t family, const struct ctnl_tuple *in, struct ct_tuple *out)
{
	uint32_t need;

	if (family != AF_INET && family != AF_INET6)
		return -EOPNOTSUPP;
	if (!(in->present & CT_TF_IP_SRC) || !(in->present & CT_TF_IP_DST) ||
	    !(in->present & CT_TF_PROTO_NUM))
		return -EINVAL;
	need = export_tuple_l4_fields(in->t.l4num);
	if ((in->present & need) != need)
		return -EINVAL;
	*out = in->t;
	out->l3num = family;
	if (!(need & CT_TF_SPORT))
		out->sport = out->dport = 0;
	if (!(need & (CT_TF_ICMP_TYPE | CT_TF_ICMPV6_TYPE)))
		out->icmp_type = out->icmp_code = 0;
	if (family == AF_INET) {
		memset(&out->src.ip6[1], 0, 12);
		memset(&out->dst.ip6[1], 0, 12);
	}
	return 0;
}

/* The dump cursor: the id of the last expectation sent. */
struct exp_dump {
	uint8_t family;
	bool started;
	uint32_t last_id;
	bool by_master;
	uint32_t master_id;
};

/* ctnetlink_exp_dump_table() / ctnetlink_exp_ct_dump_table() */
static int exp_fill(struct server *srv, struct client *cl, struct dump *d, void *vbuf, size_t cap)
{
	struct exp_dump *st = d->state;
	struct ct_table *t = srv->table;
	unsigned char *buf = vbuf;
	const struct ct_expect *e;
	size_t used = 0;

	ct_table_tick(t);
	ct_expect_gc(t);
	if (!t->expect)
		return 0;
	e = t->expect->head;
	if (st->started) {	/* resume after the last one sent */
		while (e && e->id != st->last_id)
			e = e->next;
		if (!e)
			return 0;
		e = e->next;
	}
	for (; e; e = e->next) {
		int n;

		if (st->family && e->tuple.l3num != st->family)
			continue;
		if (st->by_master && e->master->id != st->master_id)
			continue;
		n = exp_msg(t, e, buf + used, cap - used, IPCTNL_MSG_EXP_NEW, NLM_F_MULTI | d->flags,
			    d->seq, client_portid(cl));
		if (!n)
			break;	/* full: this one goes in the next datagram */
		used += NLMSG_ALIGN((size_t)n);
		st->started = true;
		st->last_id = e->id;
	}
	return (int)used;
}

static void exp_dump_done(struct server *srv, struct dump *d)
{
	(void)srv;
	free(d->state);
}

static int start_dump(struct server *srv, struct client *cl, const struct nlmsghdr *nlh,
		      const struct ctnl_exp *req)
{
	struct dump d = { .fill = exp_fill, .done = exp_dump_done, .seq = nlh->nlmsg_seq,
			  .type = nlh->nlmsg_type };
	struct exp_dump *st = calloc(1, sizeof(*st));
	int err;

	if (!st)
		return -ENOMEM;
	st->family = req->family;
	if (req->present & CTNL_HAS(CTA_EXPECT_MASTER)) {
		/* ctnetlink_dump_exp_ct(): one master's expectations */
		struct ct_zone zone = { req->zone, CT_ZONE_DIR_BOTH };
		struct ct_tuple mt;
		struct conn *m;

		if ((err = exp_tuple(req->family, &req->master, &mt)) ||
		    (err = -ENOENT, !(m = ct_table_find(srv->table, &mt, &zone, CT_DIR_ORIG, NULL)))) {
			free(st);
			return err;
		}
		st->by_master = true;
		st->master_id = m->id;
		st->family = 0;
	}
	d.state = st;
	err = server_start_dump(srv, cl, &d);
	if (err) {
		free(st);
		return err;
	}
	return CTNL_DUMP_STARTED;
}

/* The expectation a GET or DELETE names (nf_ct_expect_find_get()). */
static int find_req(struct server *srv, const struct ctnl_exp *req, uint64_t which,
		    struct ct_expect **out)
{
	const struct ctnl_tuple *in = which == CTNL_HAS(CTA_EXPECT_TUPLE) ? &req->tuple : &req->master;
	struct ct_tuple tu;
	struct ct_expect *e;
	int err;

	if ((err = exp_tuple(req->family, in, &tu)))
		return err;
	e = ct_expect_find(srv->table, &tu, req->zone);
	if (!e)
		return -ENOENT;
	if ((req->present & CTNL_HAS(CTA_EXPECT_ID)) && req->id != e->id)
		return -ENOENT;
	*out = e;
	return 0;
}

/* ctnetlink_get_expect() */
static int exp_get(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	unsigned char buf[CTNL_GOODSIZE];
	struct ctnl_exp req;
	struct ct_expect *e;
	int n, err = ctnl_exp_parse(nlh, &req, NULL);

	if (err)
		return err;
	ct_table_tick(srv->table);
	if (nlh->nlmsg_flags & NLM_F_DUMP)
		return start_dump(srv, cl, nlh, &req);
	if (req.present & CTNL_HAS(CTA_EXPECT_TUPLE))
		err = find_req(srv, &req, CTNL_HAS(CTA_EXPECT_TUPLE), &e);
	else if (req.present & CTNL_HAS(CTA_EXPECT_MASTER))
		err = find_req(srv, &req, CTNL_HAS(CTA_EXPECT_MASTER), &e);
	else
		return -EINVAL;
	if (err)
		return err;
	n = exp_msg(srv->table, e, buf, sizeof(buf), IPCTNL_MSG_EXP_NEW,
		    client_portid(cl) ? NLM_F_MULTI : 0, nlh->nlmsg_seq, client_portid(cl));
	if (!n)
		return -ENOMEM;
	server_reply(srv, cl, buf, (size_t)n);
	return 0;
}

/* ctnetlink_del_expect() */
static int exp_delete(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	struct ct_table *t = srv->table;
	bool report = nlh->nlmsg_flags & NLM_F_ECHO;
	struct ct_expect *e, *next;
	struct ctnl_exp req;
	int err = ctnl_exp_parse(nlh, &req, NULL);

	if (err)
		return err;
	ct_table_tick(t);
	if (req.present & CTNL_HAS(CTA_EXPECT_TUPLE)) {
		if ((err = find_req(srv, &req, CTNL_HAS(CTA_EXPECT_TUPLE), &e)))
			return err;
		ct_expect_unlink(t, e, client_portid(cl), report);
		return 0;
	}
	if (!t->expect)
		return 0;
	/* nf_ct_expect_iterate_net(): expect_iter_name, or expect_iter_all
	 * (the flush ignores the family) */
	for (e = t->expect->head; e; e = next) {
		next = e->next;
		if ((req.present & CTNL_HAS(CTA_EXPECT_HELP_NAME)) &&
		    (!e->master->ext || strcmp(ct_helper_name(e->master), req.helper) != 0))
			continue;
		ct_expect_unlink(t, e, client_portid(cl), report);
	}
	return 0;
}

/* ctnetlink_alloc_expect() + nf_ct_expect_related_report() */
static int create_expect(struct ct_table *t, uint32_t portid, const struct nlmsghdr *nlh,
			 const struct ctnl_exp *req, const struct ct_tuple *tuple)
{
	struct ct_zone zone = { req->zone, CT_ZONE_DIR_BOTH };
	const struct ct_helper *helper = NULL;
	struct ct_tuple mask, mt;
	struct ct_expect exp;
	struct conn *m;
	int err;

	/* the mask: only its addresses and source port matter (and its
	 * protocol number tells which port attributes it may carry) */
	if (!(req->mask.present & CT_TF_IP_SRC) || !(req->mask.present & CT_TF_IP_DST) ||
	    !(req->mask.present & CT_TF_PROTO_NUM))
		return -EINVAL;
	mask = req->mask.t;
	if ((err = exp_tuple(req->family, &req->master, &mt)))
		return err;
	if (!(m = ct_table_find(t, &mt, &zone, CT_DIR_ORIG, NULL)))
		return -ENOENT;
	if (req->present & CTNL_HAS(CTA_EXPECT_HELP_NAME)) {
		helper = ct_helper_find(req->helper, m->th[CT_DIR_ORIG].tuple.l3num,
					m->th[CT_DIR_ORIG].tuple.l4num);
		if (!helper)
			return -EOPNOTSUPP;
	}
	/* "such conntrack hasn't got any helper, abort" */
	if (!ct_helper_name(m)[0])
		return -EOPNOTSUPP;
	if ((req->present & CTNL_HAS(CTA_EXPECT_CLASS)) && helper &&
	    req->class > helper->expect_class_max)
		return -EINVAL;
	memset(&exp, 0, sizeof(exp));
	exp.master = m;
	exp.helper = helper;
	exp.tuple = *tuple;
	exp.mask.l3num = tuple->l3num;
	exp.mask.l4num = tuple->l4num;
	exp.mask.src = mask.src;
	if (tuple->l3num == AF_INET)
		memset(&exp.mask.src.ip6[1], 0, 12);
	exp.mask.sport = (req->mask.present & (CT_TF_SPORT | CT_TF_ICMP_ID | CT_TF_ICMPV6_ID)) ?
			 mask.sport : 0;
	if (req->present & CTNL_HAS(CTA_EXPECT_FLAGS))
		exp.flags = req->flags & ~(uint32_t)CT_EXP_F_USERSPACE;
	if (req->present & CTNL_HAS(CTA_EXPECT_CLASS) && helper)
		exp.class = req->class;
	/* nf_ct_helper_expectfn_find_by_name(): the one registered with NAT */
	if (req->present & CTNL_HAS(CTA_EXPECT_FN)) {
		if (strcmp(req->fn, "nat-follow-master") != 0)
			return -EINVAL;
		exp.follow_master = true;
	}
	/* ctnetlink_parse_expect_nat(): both parts, a whole tuple */
	if (req->present & CTNL_HAS(CTA_EXPECT_NAT)) {
		struct ct_tuple nt;

		if (!(req->nat_present & (1u << CTA_EXPECT_NAT_DIR)) ||
		    !(req->nat_present & (1u << CTA_EXPECT_NAT_TUPLE)))
			return -EINVAL;
		if ((err = exp_tuple(m->th[CT_DIR_ORIG].tuple.l3num, &req->nat_tuple, &nt)))
			return err;
		exp.saved_addr = nt.src;
		exp.saved_proto = nt.sport;
		exp.dir = req->nat_dir;
	}
	exp.timeout = req->timeout;
	err = ct_expect_related(t, &exp, portid, nlh->nlmsg_flags & NLM_F_ECHO);
	return err;
}

/* ctnetlink_new_expect() */
int ctnetlink_exp_new(struct ct_table *t, const struct nlmsghdr *nlh, uint32_t portid)
{
	struct ctnl_exp req;
	struct ct_tuple tuple;
	struct ct_expect *e;
	int err = ctnl_exp_parse(nlh, &req, NULL);

	if (err)
		return err;
	if (!(req.present & CTNL_HAS(CTA_EXPECT_TUPLE)) || !(req.present & CTNL_HAS(CTA_EXPECT_MASK)) ||
	    !(req.present & CTNL_HAS(CTA_EXPECT_MASTER)))
		return -EINVAL;
	if ((err = exp_tuple(req.family, &req.tuple, &tuple)))
		return err;
	ct_table_tick(t);
	e = ct_expect_find(t, &tuple, req.zone);
	if (!e) {
		if (!(nlh->nlmsg_flags & NLM_F_CREATE))
			return -ENOENT;
		return create_expect(t, portid, nlh, &req, &tuple);
	}
	if (nlh->nlmsg_flags & NLM_F_EXCL)
		return -EEXIST;
	/* ctnetlink_change_expect(): only the timeout can change */
	if (req.present & CTNL_HAS(CTA_EXPECT_TIMEOUT))
		e->expires = t->now + (uint64_t)req.timeout * CT_NSEC_PER_SEC;
	return 0;
}

static int exp_new(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	return ctnetlink_exp_new(srv->table, nlh, client_portid(cl));
}

static int exp_get_stats_cpu(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	return ctnetlink_start_stats_cpu_dump(srv, cl, nlh);
}

const ctnetlink_handler ctnetlink_exp_handlers[IPCTNL_MSG_EXP_MAX] = {
	[IPCTNL_MSG_EXP_NEW]		= exp_new,
	[IPCTNL_MSG_EXP_GET]		= exp_get,
	[IPCTNL_MSG_EXP_DELETE]		= exp_delete,
	[IPCTNL_MSG_EXP_GET_STATS_CPU]	= exp_get_stats_cpu,
};
