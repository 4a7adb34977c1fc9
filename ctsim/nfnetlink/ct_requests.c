/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ct_requests.c — the IPCTNL_MSG_CT_* handlers: what
 * net/netfilter/nf_conntrack_netlink.c does for conntrack objects, on
 * ctsim's table. Each handler names the kernel function it emulates.
 *
 * Conversions: conn_export.c turns an entry into a struct ctnl_ct with the
 * attributes the kernel would put in a dump object or an event; the codec
 * (proto/ctnl_ct.c) lays them out on the wire.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "proto/ctnl.h"
#include "ctsim/nfnetlink/conn_export.h"
#include "ctsim/core/expect.h"
#include "ctsim/core/helper.h"
#include "ctsim/core/nat.h"
#include "ctsim/nfnetlink/server.h"

/* ---------------------------------------------------------------------- */
/* Entry -> wire object                                                    */

int ctnetlink_ct_event_msg(struct server *srv, const struct ct_event *ev, void *buf,
		      size_t cap, unsigned *group)
{
	const struct conn *c = ev->ct;
	struct ctnl_ct o;
	struct nlmsghdr *nlh;
	uint16_t type, flags = 0;
	bool destroy = ev->mask & CT_EV(DESTROY);

	/* ctnetlink_conntrack_event(): which message, which group. */
	if (destroy) {
		type = IPCTNL_MSG_CT_DELETE;
		*group = NFNLGRP_CONNTRACK_DESTROY;
	} else if (ev->mask & (CT_EV(NEW) | CT_EV(RELATED))) {
		type = IPCTNL_MSG_CT_NEW;
		flags = NLM_F_CREATE | NLM_F_EXCL;
		*group = NFNLGRP_CONNTRACK_NEW;
	} else {
		type = IPCTNL_MSG_CT_NEW;
		*group = NFNLGRP_CONNTRACK_UPDATE;
	}

	export_ct_from_event(srv->table, ev, &o);
	nlh = ctnl_msg_start(buf, cap, CTNL_MSG(NFNL_SUBSYS_CTNETLINK, type), flags, 0,
			     ev->portid, c->th[CT_DIR_ORIG].tuple.l3num, NFNETLINK_V0, 0);
	if (!nlh || ctnl_ct_put(nlh, cap, &o, CTNL_LAYOUT_EVENT) < 0)
		return 0;
	return (int)nlh->nlmsg_len;
}

/* ---------------------------------------------------------------------- */
/* Request parsing                                                         */

/**
 * req_tuple - ctnetlink_parse_tuple(): validate a tuple of a request and
 * apply its directional zone to @zone.
 * @which: CTA_TUPLE_ORIG, CTA_TUPLE_REPLY or CTA_TUPLE_MASTER
 */
static int req_tuple(uint8_t family, const struct ctnl_tuple *in, int which,
		     struct ct_tuple *out, struct ct_zone *zone)
{
	uint32_t need;
	struct ct_tuple inv;

	if (family != AF_INET && family != AF_INET6)
		return -EOPNOTSUPP;
	if (!(in->present & CT_TF_IP_SRC) || !(in->present & CT_TF_IP_DST) ||
	    in->t.l3num != family || !(in->present & CT_TF_PROTO_NUM))
		return -EINVAL;
	need = export_tuple_l4_fields(in->t.l4num);
	if ((in->present & need) != need)
		return -EINVAL;
	*out = in->t;
	out->l3num = family;
	if (!need) {
		out->sport = out->dport = 0;
		out->icmp_type = out->icmp_code = 0;
	} else if (need & (CT_TF_SPORT)) {
		out->icmp_type = out->icmp_code = 0;
	} else {
		out->dport = 0;
		/* icmp_nlattr_to_tuple(): only types with an inverse. */
		if (!ct_tuple_invert(out, &inv))
			return -EINVAL;
	}
	if (family == AF_INET) {
		memset(&out->src.ip6[1], 0, 12);
		memset(&out->dst.ip6[1], 0, 12);
	}
	/* ctnetlink_parse_tuple_zone() */
	if ((in->present & CT_TF_ZONE) && zone) {
		if (which == CTA_TUPLE_MASTER)
			return -EINVAL;
		if (zone->id != 0)
			return -EINVAL;
		zone->id = in->zone;
		zone->dir = which == CTA_TUPLE_REPLY ? CT_ZONE_DIR_REPLY : CT_ZONE_DIR_ORIG;
	}
	return 0;
}

static int parse_req(const struct nlmsghdr *nlh, struct ctnl_ct *req, struct ct_zone *zone)
{
	int err = ctnl_ct_parse(nlh, req, NULL);

	if (err)
		return err;
	/* ctnetlink_parse_zone() */
	zone->id = (req->present & CTNL_HAS(CTA_ZONE)) ? req->zone : 0;
	zone->dir = CT_ZONE_DIR_BOTH;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Changing an entry (ctnetlink_change_*)                                  */

#define UNCHANGEABLE (CT_S_SRC_NAT_DONE | CT_S_DST_NAT_DONE | CT_S_SRC_NAT | CT_S_DST_NAT | \
		      CT_S_EXPECTED | CT_S_CONFIRMED | CT_S_DYING | CT_S_SEQ_ADJUST | \
		      CT_S_TEMPLATE | CT_S_UNTRACKED | CT_S_OFFLOAD | CT_S_HW_OFFLOAD)

/* ctnetlink_change_status(): bits can be set, never cleared, and some never touched. */
static int change_status(struct conn *c, uint32_t status)
{
	uint32_t d = c->status ^ status;

	if (d & (CT_S_EXPECTED | CT_S_CONFIRMED | CT_S_DYING))
		return -EBUSY;
	if ((d & CT_S_SEEN_REPLY) && !(status & CT_S_SEEN_REPLY))
		return -EBUSY;
	if ((d & CT_S_ASSURED) && !(status & CT_S_ASSURED))
		return -EBUSY;
	/* __nf_ct_change_status(c, status, 0) */
	c->status |= status & ~UNCHANGEABLE & 0xffff;
	return 0;
}

/* ctnetlink_change_protoinfo() -> nlattr_to_tcp() / nlattr_to_sctp(). */
static int change_protoinfo(struct conn *c, const struct ctnl_ct *req)
{
	uint8_t l4 = c->th[CT_DIR_ORIG].tuple.l4num;

	if (l4 == IPPROTO_TCP && req->protoinfo == CTA_PROTOINFO_TCP) {
		const struct ctnl_tcpinfo *p = &req->tcp;

		/* The state's bound is part of the kernel's nested policy
		 * for CTA_PROTOINFO_TCP (checked when nlattr_to_tcp()
		 * parses it): ERANGE, not EINVAL (measured on 6.18). */
		if ((p->present & (1u << CTA_PROTOINFO_TCP_STATE)) && p->state >= CT_TCP_MAX)
			return -ERANGE;
		if (p->present & (1u << CTA_PROTOINFO_TCP_STATE))
			c->proto.tcp.state = p->state;
		if (p->present & (1u << CTA_PROTOINFO_TCP_FLAGS_ORIGINAL)) {
			c->proto.tcp.flags[0] &= ~p->mask_orig;
			c->proto.tcp.flags[0] |= p->flags_orig & p->mask_orig;
		}
		if (p->present & (1u << CTA_PROTOINFO_TCP_FLAGS_REPLY)) {
			c->proto.tcp.flags[1] &= ~p->mask_reply;
			c->proto.tcp.flags[1] |= p->flags_reply & p->mask_reply;
		}
		/* Window scales only stick when both sides negotiated them
		 * (IP_CT_TCP_FLAG_WINDOW_SCALE = 0x01). */
		if ((p->present & (1u << CTA_PROTOINFO_TCP_WSCALE_ORIGINAL)) &&
		    (p->present & (1u << CTA_PROTOINFO_TCP_WSCALE_REPLY)) &&
		    (c->proto.tcp.flags[0] & 0x01) && (c->proto.tcp.flags[1] & 0x01)) {
			c->proto.tcp.wscale[0] = p->wscale_orig;
			c->proto.tcp.wscale[1] = p->wscale_reply;
		}
	} else if (l4 == IPPROTO_SCTP && req->protoinfo == CTA_PROTOINFO_SCTP) {
		const struct ctnl_sctpinfo *p = &req->sctp;
		uint32_t all = 1u << CTA_PROTOINFO_SCTP_STATE | 1u << CTA_PROTOINFO_SCTP_VTAG_ORIGINAL |
			       1u << CTA_PROTOINFO_SCTP_VTAG_REPLY;

		/* nlattr_to_sctp(): the nested policy bounds the state
		 * (ERANGE) while parsing, before the three attributes are
		 * required (EINVAL). */
		if ((p->present & (1u << CTA_PROTOINFO_SCTP_STATE)) && p->state >= CT_SCTP_MAX)
			return -ERANGE;
		if ((p->present & all) != all)
			return -EINVAL;
		c->proto.sctp.state = p->state;
		c->proto.sctp.vtag[0] = p->vtag_orig;
		c->proto.sctp.vtag[1] = p->vtag_reply;
	}
	return 0;
}

/* ctnetlink_change_mark(): new = (old & ~mask) ^ mark; no mask replaces. */
static void change_mark(struct conn *c, const struct ctnl_ct *req)
{
	uint32_t keep = (req->present & CTNL_HAS(CTA_MARK_MASK)) ? ~req->mark_mask : 0;

	c->mark = (c->mark & keep) ^ req->mark;
}

/* ctnetlink_attach_labels() -> nf_connlabels_replace(). */
static int attach_labels(struct conn *c, const struct ctnl_ct *req)
{
	uint32_t cur[4], val[4] = { 0 }, mask[4] = { 0 };
	unsigned words = req->labels_len / 4;
	bool has_mask = req->present & CTNL_HAS(CTA_LABELS_MASK);

	if (req->labels_len % 4)
		return -EINVAL;
	if (has_mask && (req->labels_mask_len == 0 || req->labels_mask_len != req->labels_len))
		return -EINVAL;
	if (!c->ext || !(c->ext->has & CONN_EXT_LABELS))
		return -ENOSPC;		/* no rule uses labels: no extension */
	if (words > 4)
		words = 4;
	memcpy(cur, c->ext->labels, 16);
	memcpy(val, req->labels, words * 4);
	if (has_mask)
		memcpy(mask, req->labels_mask, words * 4);
	for (unsigned i = 0; i < words; i++)
		cur[i] = (cur[i] & (has_mask ? ~mask[i] : 0)) ^ val[i];
	/* Words past the ones given are cleared, as the kernel does. */
	for (unsigned i = words; i < 4; i++)
		cur[i] = 0;
	memcpy(c->ext->labels, cur, 16);
	return 0;
}

static int change_seqadj(struct conn *c, const struct ctnl_ct *req)
{
	struct conn_ext *x = conn_ext_add(c);

	if (!x)
		return -ENOMEM;
	x->has |= CONN_EXT_SEQADJ;
	if (req->present & CTNL_HAS(CTA_SEQ_ADJ_ORIG))
		x->seqadj[0] = req->seqadj[0];
	if (req->present & CTNL_HAS(CTA_SEQ_ADJ_REPLY))
		x->seqadj[1] = req->seqadj[1];
	return 0;
}

static int change_synproxy(struct conn *c, const struct ctnl_ct *req)
{
	struct conn_ext *x;

	if (!(c->flags & CONN_F_SYNPROXY))
		return 0;	/* ctnetlink_change_synproxy(): no extension, nothing to do */
	if (!req->synproxy_isn && !req->synproxy_its && !req->synproxy_tsoff &&
	    !(c->ext && (c->ext->has & CONN_EXT_SYNPROXY)))
		return 0;	/* still all zeros: keep the entry small */
	x = conn_ext_add(c);
	if (!x)
		return -ENOMEM;
	x->has |= CONN_EXT_SYNPROXY;
	x->synproxy[0] = req->synproxy_isn;
	x->synproxy[1] = req->synproxy_its;
	x->synproxy[2] = req->synproxy_tsoff;
	return 0;
}

/* ctnetlink_change_helper() */
static int change_helper(struct ct_table *t, struct conn *c, const struct ctnl_ct *req)
{
	const struct ct_helper *h;

	/* don't change helper of sibling connections */
	if (c->status & CT_S_EXPECTED)
		return (c->ext && !strcmp(ct_helper_name(c), req->helper)) ? 0 : -EBUSY;
	if (req->helper[0] == '\0') {
		if (c->ext && c->ext->helper) {
			ct_expect_remove_master(t, c, 0, false);
			c->ext->helper = NULL;	/* the extension stays, empty */
		}
		return 0;
	}
	if (!(h = ct_helper_find(req->helper, c->th[CT_DIR_ORIG].tuple.l3num,
					c->th[CT_DIR_ORIG].tuple.l4num)))
		return -EOPNOTSUPP;
	if (c->ext && (c->ext->has & CONN_EXT_HELPER))
		return !strcmp(ct_helper_name(c), h->name) ? 0 : -EBUSY;
	return -EOPNOTSUPP;	/* "we cannot set a helper for an existing conntrack" */
}

/* ctnetlink_change_conntrack(): applied in the kernel's order; an error
 * stops there (what was applied before stays, as in the kernel). */
static int change_conntrack(struct ct_table *t, struct conn *c, const struct ctnl_ct *req)
{
	int err;

	if (req->present & (CTNL_HAS(CTA_NAT_SRC) | CTNL_HAS(CTA_NAT_DST) | CTNL_HAS(CTA_TUPLE_MASTER)))
		return -EOPNOTSUPP;
	if ((req->present & CTNL_HAS(CTA_HELP)) && (err = change_helper(t, c, req)))
		return err;
	if (req->present & CTNL_HAS(CTA_TIMEOUT)) {
		conn_set_timeout(t, c, req->timeout);
		if (c->status & CT_S_DYING)
			return -ETIME;
	}
	if ((req->present & CTNL_HAS(CTA_STATUS)) && (err = change_status(c, req->status)))
		return err;
	if ((req->present & CTNL_HAS(CTA_PROTOINFO)) && (err = change_protoinfo(c, req)))
		return err;
	if (req->present & CTNL_HAS(CTA_MARK))
		change_mark(c, req);
	if ((req->present & (CTNL_HAS(CTA_SEQ_ADJ_ORIG) | CTNL_HAS(CTA_SEQ_ADJ_REPLY))) &&
	    (err = change_seqadj(c, req)))
		return err;
	if ((req->present & CTNL_HAS(CTA_SYNPROXY)) && (err = change_synproxy(c, req)))
		return err;
	if ((req->present & CTNL_HAS(CTA_LABELS)) && (err = attach_labels(c, req)))
		return err;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* NAT set-up on create (ctnetlink_setup_nat() -> nf_nat_setup_info())     */

/* CTA_NAT_SRC / CTA_NAT_DST -> struct nf_nat_range2
 * (ctnetlink_parse_nat_setup(), nfnetlink_parse_nat()): without
 * CTA_PROTONAT_PORT_MAX the range is the one port MIN. NULL for the null
 * binding. */
static const struct ct_nat_range *nat_range(const struct ctnl_nat *nat, struct ct_nat_range *r)
{
	if (!nat)
		return NULL;
	memset(r, 0, sizeof(*r));
	if (nat->present & ((1u << CTA_NAT_V4_MINIP) | (1u << CTA_NAT_V6_MINIP))) {
		r->flags |= CT_NAT_RANGE_MAP_IPS;
		r->min_addr = r->max_addr = nat->min_ip;
		if (nat->present & ((1u << CTA_NAT_V4_MAXIP) | (1u << CTA_NAT_V6_MAXIP)))
			r->max_addr = nat->max_ip;
	}
	if (nat->present & (1u << CTA_NAT_PROTO)) {
		r->flags |= CT_NAT_RANGE_PROTO_SPECIFIED;
		r->min_proto = nat->port_min;
		r->max_proto = nat->port_max ? nat->port_max : nat->port_min;
	}
	return r;
}

/* ---------------------------------------------------------------------- */
/* IPCTNL_MSG_CT_NEW                                                       */

/* ctnetlink_create_conntrack() */
static int create_conntrack(struct ct_table *t, uint32_t portid, const struct nlmsghdr *nlh,
			    const struct ctnl_ct *req, const struct ct_tuple *otuple,
			    const struct ct_tuple *rtuple, const struct ct_zone *zone)
{
	const struct ct_settings *s = t->settings;
	uint32_t events;
	struct conn_ext *x;
	struct conn *c;
	int err;

	/* nf_conntrack_alloc(): hash 0, early_drop() scans from bucket 0 */
	c = conn_alloc_hash(t, otuple, rtuple, zone, 0);
	if (!c)
		return -ENOMEM;
	err = -EINVAL;
	if (!(req->present & CTNL_HAS(CTA_TIMEOUT)))
		goto fail;
	conn_set_timeout(t, c, req->timeout);
	if ((req->present & CTNL_HAS(CTA_HELP)) && req->helper[0]) {
		/* __nf_conntrack_helper_find(); nf_ct_helper_ext_add(),
		 * IPS_HELPER "disable helper auto-assignment for this entry" */
		const struct ct_helper *h = ct_helper_find(req->helper, otuple->l3num, otuple->l4num);

		err = -EOPNOTSUPP;
		if (!h)
			goto fail;
		if ((err = ct_helper_attach(c, h)))
			goto fail;
		c->status |= CT_S_HELPER;
	}
	if (req->present & (CTNL_HAS(CTA_NAT_SRC) | CTNL_HAS(CTA_NAT_DST))) {
		struct ct_nat_range r;

		/* nfnetlink_parse_nat_setup(): the range given, else the null
		 * binding; both through get_unique_tuple() against @t */
		if (req->present & CTNL_HAS(CTA_NAT_DST))
			ct_nat_setup(t, c, nat_range(&req->nat_dst, &r), CT_NAT_MANIP_DST);
		else
			ct_nat_null_binding(t, c, CT_NAT_MANIP_DST);
		if (req->present & CTNL_HAS(CTA_NAT_SRC))
			ct_nat_setup(t, c, nat_range(&req->nat_src, &r), CT_NAT_MANIP_SRC);
		else
			ct_nat_null_binding(t, c, CT_NAT_MANIP_SRC);
	}
	/* Extensions ctnetlink adds to every entry it creates. */
	err = -ENOMEM;
	if (s->acct || s->timestamp || s->labels_used) {
		if (!(x = conn_ext_add(c)))
			goto fail;
		x->has |= (s->acct ? CONN_EXT_ACCT : 0) | (s->timestamp ? CONN_EXT_TSTAMP : 0) |
			  (s->labels_used ? CONN_EXT_LABELS : 0);
	}
	c->status |= CT_S_CONFIRMED;
	if ((req->present & CTNL_HAS(CTA_STATUS)) && (err = change_status(c, req->status)))
		goto fail;
	if ((req->present & (CTNL_HAS(CTA_SEQ_ADJ_ORIG) | CTNL_HAS(CTA_SEQ_ADJ_REPLY))) &&
	    (err = change_seqadj(c, req)))
		goto fail;
	memset(&c->proto, 0, sizeof(c->proto));
	if ((req->present & CTNL_HAS(CTA_PROTOINFO)) && (err = change_protoinfo(c, req)))
		goto fail;
	c->flags |= CONN_F_SYNPROXY;
	if ((req->present & CTNL_HAS(CTA_SYNPROXY)) && (err = change_synproxy(c, req)))
		goto fail;
	if (req->present & CTNL_HAS(CTA_MARK))
		change_mark(c, req);
	if (req->present & CTNL_HAS(CTA_TUPLE_MASTER)) {
		struct ct_tuple mt;
		struct conn *m;

		if ((err = req_tuple(req->family, &req->master, CTA_TUPLE_MASTER, &mt, NULL)))
			goto fail;
		m = ct_table_find(t, &mt, zone, CT_DIR_ORIG, NULL);
		err = -ENOENT;
		if (!m)
			goto fail;
		err = -ENOMEM;
		if (!(x = conn_ext_add(c)))
			goto fail;
		c->status |= CT_S_EXPECTED;
		conn_get(m);		/* ct->master holds a reference */
		x->master_ct = m;
		x->master = m->th[CT_DIR_ORIG].tuple;
		x->has |= CONN_EXT_MASTER;
	}
	if (c->ext && (c->ext->has & CONN_EXT_TSTAMP))
		c->ext->ts_start = ct_clock_wall(t->clock);
	err = ct_table_insert(t, c);
	if (err)
		goto fail;
	/* nf_conntrack_hash_check_insert() counts ctnetlink inserts; the
	 * packet path (__nf_conntrack_confirm()) does not, on 6.18. */
	t->stats.cpu.insert++;

	events = (c->status & CT_S_EXPECTED) ? CT_EV(RELATED) : CT_EV(NEW);
	if ((req->present & CTNL_HAS(CTA_LABELS)) && attach_labels(c, req) == 0)
		events |= CT_EV(LABEL);
	ct_events_report(t->events, c,
			 CT_EV(REPLY) | CT_EV(ASSURED) | CT_EV(HELPER) | CT_EV(PROTOINFO) |
			 CT_EV(SEQADJ) | CT_EV(MARK) | CT_EV(SYNPROXY) | events,
			 portid, nlh->nlmsg_flags & NLM_F_ECHO);
	return 0;
fail:
	conn_free_unhashed(t, c);
	return err;
}

/* ctnetlink_new_conntrack() */
int ctnetlink_ct_new(struct ct_table *t, const struct nlmsghdr *nlh, uint32_t portid)
{
	struct ctnl_ct req;
	struct ct_zone zone;
	struct ct_tuple otuple, rtuple;
	bool has_o, has_r;
	struct conn *c = NULL;
	int err;

	if ((err = parse_req(nlh, &req, &zone)))
		return err;
	has_o = req.present & CTNL_HAS(CTA_TUPLE_ORIG);
	has_r = req.present & CTNL_HAS(CTA_TUPLE_REPLY);
	if (has_o && (err = req_tuple(req.family, &req.orig, CTA_TUPLE_ORIG, &otuple, &zone)))
		return err;
	if (has_r && (err = req_tuple(req.family, &req.reply, CTA_TUPLE_REPLY, &rtuple, &zone)))
		return err;
	if (has_o)
		c = ct_table_find(t, &otuple, &zone, CT_DIR_ORIG, NULL);
	else if (has_r)
		c = ct_table_find(t, &rtuple, &zone, CT_DIR_REPLY, NULL);

	if (!c) {
		if (!(nlh->nlmsg_flags & NLM_F_CREATE))
			return -ENOENT;
		if (!has_o || !has_r || otuple.l4num != rtuple.l4num)
			return -EINVAL;
		return create_conntrack(t, portid, nlh, &req, &otuple, &rtuple, &zone);
	}
	if (nlh->nlmsg_flags & NLM_F_EXCL)
		return -EEXIST;
	err = change_conntrack(t, c, &req);
	if (err == 0)
		ct_events_report(t->events, c,
				 CT_EV(REPLY) | CT_EV(ASSURED) | CT_EV(HELPER) | CT_EV(LABEL) |
				 CT_EV(PROTOINFO) | CT_EV(SEQADJ) | CT_EV(MARK) | CT_EV(SYNPROXY),
				 portid, nlh->nlmsg_flags & NLM_F_ECHO);
	return err;
}

static int ct_new(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	return ctnetlink_ct_new(srv->table, nlh, client_portid(cl));
}

/* ---------------------------------------------------------------------- */
/* Dump filters (ctnetlink_alloc_filter(), ctnetlink_filter_match())       */

struct ct_filter {
	bool active;
	uint8_t family;
	uint32_t mark, mark_mask;
	uint32_t status, status_mask;
	bool has_zone;
	uint16_t zone;
	uint32_t orig_flags, reply_flags;
	struct ctnl_tuple orig, reply;
};

static int filter_build(const struct ctnl_ct *req, uint8_t family, struct ct_filter *f)
{
	memset(f, 0, sizeof(*f));
	/* ctnetlink_needs_filter() */
	if (!family && !(req->present & (CTNL_HAS(CTA_MARK) | CTNL_HAS(CTA_FILTER) |
					  CTNL_HAS(CTA_STATUS) | CTNL_HAS(CTA_ZONE))))
		return 0;
	f->active = true;
	f->family = family;
	if (req->present & CTNL_HAS(CTA_MARK)) {
		f->mark = req->mark;
		f->mark_mask = (req->present & CTNL_HAS(CTA_MARK_MASK)) ? req->mark_mask : 0xffffffff;
	} else if (req->present & CTNL_HAS(CTA_MARK_MASK)) {
		return -EINVAL;
	}
	if (req->present & CTNL_HAS(CTA_STATUS)) {
		f->status = req->status;
		f->status_mask = (req->present & CTNL_HAS(CTA_STATUS_MASK)) ? req->status_mask : req->status;
		if (f->status_mask == 0)
			return -EINVAL;
	} else if (req->present & CTNL_HAS(CTA_STATUS_MASK)) {
		return -EINVAL;
	}
	if (req->present & CTNL_HAS(CTA_ZONE)) {
		f->has_zone = true;
		f->zone = req->zone;
	}
	if (!(req->present & CTNL_HAS(CTA_FILTER)))
		return 0;
	f->orig_flags = req->filter_orig;
	f->reply_flags = req->filter_reply;
	/* cta_filter_nla_policy: NLA_POLICY_MASK(NLA_U32, CTA_FILTER_F_ALL) */
	if ((f->orig_flags | f->reply_flags) & ~CT_TF_ALL)
		return -EINVAL;
	if (f->orig_flags || f->reply_flags) {
		if (family != AF_INET && family != AF_INET6)
			return -EOPNOTSUPP;
	}
	for (int d = 0; d < 2; d++) {
		uint32_t fl = d ? f->reply_flags : f->orig_flags;
		const struct ctnl_tuple *src = d ? &req->reply : &req->orig;
		uint64_t has = d ? CTNL_HAS(CTA_TUPLE_REPLY) : CTNL_HAS(CTA_TUPLE_ORIG);

		if (!fl)
			continue;
		if (!(req->present & has))
			return -EINVAL;
		if ((fl & (CT_TF_SPORT | CT_TF_DPORT | CT_TF_ICMP_TYPE | CT_TF_ICMP_CODE |
			   CT_TF_ICMP_ID | CT_TF_ICMPV6_TYPE | CT_TF_ICMPV6_CODE | CT_TF_ICMPV6_ID)) &&
		    !(fl & CT_TF_PROTO_NUM))
			return -EINVAL;
		if ((src->present & fl & ~CT_TF_ZONE) != (fl & ~CT_TF_ZONE))
			return -EINVAL;
		if (d)
			f->reply = *src;
		else
			f->orig = *src;
	}
	return 0;
}

static bool tuple_match(const struct ctnl_tuple *ft, uint32_t fl, const struct conn *c,
			enum ct_dir dir)
{
	const struct ct_tuple *t = &c->th[dir].tuple;
	size_t alen = t->l3num == AF_INET ? 4 : 16;

	if ((fl & CT_TF_IP_SRC) && memcmp(&ft->t.src, &t->src, alen))
		return false;
	if ((fl & CT_TF_IP_DST) && memcmp(&ft->t.dst, &t->dst, alen))
		return false;
	if ((fl & CT_TF_PROTO_NUM) && ft->t.l4num != t->l4num)
		return false;
	if ((fl & CT_TF_SPORT) && ft->t.sport != t->sport)
		return false;
	if ((fl & CT_TF_DPORT) && ft->t.dport != t->dport)
		return false;
	if ((fl & (CT_TF_ICMP_TYPE | CT_TF_ICMPV6_TYPE)) && ft->t.icmp_type != t->icmp_type)
		return false;
	if ((fl & (CT_TF_ICMP_CODE | CT_TF_ICMPV6_CODE)) && ft->t.icmp_code != t->icmp_code)
		return false;
	if ((fl & (CT_TF_ICMP_ID | CT_TF_ICMPV6_ID)) && ft->t.sport != t->sport)
		return false;
	if ((fl & CT_TF_ZONE) && ct_zone_id(&c->zone, dir) != ft->zone)
		return false;
	return true;
}

static bool filter_match(const struct ct_filter *f, const struct conn *c)
{
	if (!f->active)
		return true;
	if (f->family && c->th[CT_DIR_ORIG].tuple.l3num != f->family)
		return false;
	if (f->has_zone && ct_zone_id(&c->zone, CT_DIR_ORIG) != f->zone &&
	    ct_zone_id(&c->zone, CT_DIR_REPLY) != f->zone)
		return false;
	if (f->orig_flags && !tuple_match(&f->orig, f->orig_flags, c, CT_DIR_ORIG))
		return false;
	if (f->reply_flags && !tuple_match(&f->reply, f->reply_flags, c, CT_DIR_REPLY))
		return false;
	if ((c->mark & f->mark_mask) != f->mark)
		return false;
	if ((c->status & f->status_mask) != f->status)
		return false;
	return true;
}

/* ---------------------------------------------------------------------- */
/* Dumps (ctnetlink_dump_table(), ctnetlink_dump_dying())                  */

struct table_dump {
	struct ct_filter filter;
	uint32_t bucket;
	struct conn *last;	/* next entry to emit (referenced) */
	bool zero;		/* IPCTNL_MSG_CT_GET_CTRZERO */
};

/* Append one object; 0, or -EMSGSIZE when the datagram is full. */
static int put_object(struct server *srv, struct client *cl, struct dump *d, const struct conn *c,
		      unsigned char *buf, size_t *used, size_t cap)
{
	struct ctnl_ct o;
	struct nlmsghdr *nlh;

	export_ct_from_conn(srv->table, c, &o);
	nlh = ctnl_msg_start(buf + *used, cap - *used, CTNL_MSG(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW),
			     NLM_F_MULTI | d->flags, d->seq, client_portid(cl), o.family,
			     NFNETLINK_V0, 0);
	if (!nlh || ctnl_ct_put(nlh, cap - *used, &o, CTNL_LAYOUT_DUMP) < 0)
		return -EMSGSIZE;
	*used += NLMSG_ALIGN(nlh->nlmsg_len);
	return 0;
}

static void zero_counters(struct conn *c)
{
	if (c->ext && (c->ext->has & CONN_EXT_ACCT))
		memset(c->ext->counters, 0, sizeof(c->ext->counters));
}

/* One datagram of a table dump: the objects from where the last one
 * stopped, through the core's dump walk (ct_table_dump_bucket(), which
 * kills the expired entries it meets, as ctnetlink_dump_table()). */
struct table_fill_ctx {
	struct server *srv;
	struct client *cl;
	struct dump *d;
	struct table_dump *st;
	unsigned char *buf;
	size_t used, cap;
};

/* ct_dump_fn: 0 to go on, 1 when the datagram is full (the dump resumes
 * at @c), -EMSGSIZE when not even @c fits in an empty one. */
static int table_fill_one(struct ct_table *t, struct conn *c, void *arg)
{
	struct table_fill_ctx *x = arg;
	struct table_dump *st = x->st;

	if (!filter_match(&st->filter, c))
		return 0;
	if (put_object(x->srv, x->cl, x->d, c, x->buf, &x->used, x->cap) < 0) {
		if (x->used == 0)
			return -EMSGSIZE;
		if (st->last != c) {
			if (st->last)
				conn_put(t, st->last);
			conn_get(c);
			st->last = c;
		}
		return 1;
	}
	if (st->zero)
		zero_counters(c);
	return 0;
}

static int table_fill(struct server *srv, struct client *cl, struct dump *d, void *vbuf, size_t cap)
{
	struct table_dump *st = d->state;
	struct ct_table *t = srv->table;
	struct table_fill_ctx x = { .srv = srv, .cl = cl, .d = d, .st = st,
				    .buf = vbuf, .used = 0, .cap = cap };

	for (; st->bucket < t->nbuckets; st->bucket++) {
		int rc = ct_table_dump_bucket(t, st->bucket, &st->last, table_fill_one, &x);

		if (rc < 0)
			return rc;
		if (rc > 0)
			return (int)x.used;
		if (st->last) {
			conn_put(t, st->last);
			st->last = NULL;
		}
	}
	return (int)x.used;
}

static void table_done(struct server *srv, struct dump *d)
{
	struct table_dump *st = d->state;

	if (st->last)
		conn_put(srv->table, st->last);
	free(st);
}

static int start_table_dump(struct server *srv, struct client *cl, const struct nlmsghdr *nlh,
			    const struct ctnl_ct *req, bool zero)
{
	struct table_dump *st = calloc(1, sizeof(*st));
	struct dump d = { .fill = table_fill, .done = table_done, .seq = nlh->nlmsg_seq,
			  .type = nlh->nlmsg_type, .state = st };
	int err;

	if (!st)
		return -ENOMEM;
	err = filter_build(req, req->family, &st->filter);
	if (err) {
		free(st);
		return err;
	}
	st->zero = zero;
	if (st->filter.active)
		d.flags = NLM_F_DUMP_FILTERED;
	err = server_start_dump(srv, cl, &d);
	if (err) {
		free(st);
		return err;
	}
	return CTNL_DUMP_STARTED;
}

struct list_dump {
	uint8_t family;
	uint32_t skip;		/* entries of the dying list already sent */
};

/* ctnetlink_dump_dying(): entries unlinked but still referenced. */
static int dying_fill(struct server *srv, struct client *cl, struct dump *d, void *vbuf, size_t cap)
{
	struct list_dump *st = d->state;
	unsigned char *buf = vbuf;
	size_t used = 0;
	uint32_t i = 0;

	for (struct conn *c = srv->table->dying; c; c = c->dying_next, i++) {
		if (i < st->skip)
			continue;
		if (st->family && c->th[CT_DIR_ORIG].tuple.l3num != st->family)
			continue;
		if (put_object(srv, cl, d, c, buf, &used, cap) < 0)
			break;
	}
	st->skip = i;
	return (int)used;
}

int dump_fill_empty(struct server *srv, struct client *cl, struct dump *d, void *buf, size_t cap)
{
	(void)srv; (void)cl; (void)d; (void)buf; (void)cap;
	return 0;
}

static void free_state(struct server *srv, struct dump *d)
{
	(void)srv;
	free(d->state);
}

/* ---------------------------------------------------------------------- */
/* IPCTNL_MSG_CT_GET / _GET_CTRZERO                                        */

/* ctnetlink_get_conntrack() */
static int get_common(struct server *srv, struct client *cl, const struct nlmsghdr *nlh, bool zero)
{
	unsigned char buf[CTNL_GOODSIZE];
	struct ctnl_ct req, o;
	struct ct_zone zone;
	struct ct_tuple tu;
	struct nlmsghdr *out;
	struct conn *c;
	int err;

	if ((err = parse_req(nlh, &req, &zone)))
		return err;
	if (nlh->nlmsg_flags & NLM_F_DUMP)
		return start_table_dump(srv, cl, nlh, &req, zero);
	if (req.present & CTNL_HAS(CTA_TUPLE_ORIG)) {
		if ((err = req_tuple(req.family, &req.orig, CTA_TUPLE_ORIG, &tu, &zone)))
			return err;
		c = ct_table_find(srv->table, &tu, &zone, CT_DIR_ORIG, NULL);
	} else if (req.present & CTNL_HAS(CTA_TUPLE_REPLY)) {
		if ((err = req_tuple(req.family, &req.reply, CTA_TUPLE_REPLY, &tu, &zone)))
			return err;
		c = ct_table_find(srv->table, &tu, &zone, CT_DIR_REPLY, NULL);
	} else {
		return -EINVAL;
	}
	if (!c)
		return -ENOENT;
	/* nf_conntrack_find_get() holds a reference while the object is
	 * filled, so a single GET shows use=2 where a dump shows use=1. */
	conn_get(c);
	export_ct_from_conn(srv->table, c, &o);
	conn_put(srv->table, c);
	/* ctnetlink_fill_info(): NLM_F_MULTI whenever the port id is set. */
	out = ctnl_msg_start(buf, sizeof(buf), CTNL_MSG(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW),
			     client_portid(cl) ? NLM_F_MULTI : 0, nlh->nlmsg_seq,
			     client_portid(cl), o.family, NFNETLINK_V0, 0);
	if (!out || ctnl_ct_put(out, sizeof(buf), &o, CTNL_LAYOUT_DUMP) < 0)
		return -ENOMEM;
	if (zero)
		zero_counters(c);
	server_reply(srv, cl, buf, out->nlmsg_len);
	return 0;
}

static int ct_get(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	return get_common(srv, cl, nlh, false);
}

static int ct_get_ctrzero(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	return get_common(srv, cl, nlh, true);
}

/* ---------------------------------------------------------------------- */
/* IPCTNL_MSG_CT_DELETE                                                    */

struct flush_arg {
	struct ct_filter filter;
	uint32_t portid;
	bool report;
};

static void flush_one(struct ct_table *t, struct conn *c, void *arg)
{
	struct flush_arg *fa = arg;

	if (filter_match(&fa->filter, c))
		ct_table_delete(t, c, fa->portid, fa->report);
}

/* ctnetlink_del_conntrack() and ctnetlink_flush_conntrack() */
static int ct_delete(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	struct ctnl_ct req;
	struct ct_zone zone;
	struct ct_tuple tu;
	struct conn *c;
	bool report = nlh->nlmsg_flags & NLM_F_ECHO;
	bool has_filter;
	int err;

	if ((err = parse_req(nlh, &req, &zone)))
		return err;
	has_filter = req.present & CTNL_HAS(CTA_FILTER);
	if ((req.present & CTNL_HAS(CTA_TUPLE_ORIG)) && !has_filter) {
		if ((err = req_tuple(req.family, &req.orig, CTA_TUPLE_ORIG, &tu, &zone)))
			return err;
		c = ct_table_find(srv->table, &tu, &zone, CT_DIR_ORIG, NULL);
	} else if ((req.present & CTNL_HAS(CTA_TUPLE_REPLY)) && !has_filter) {
		if ((err = req_tuple(req.family, &req.reply, CTA_TUPLE_REPLY, &tu, &zone)))
			return err;
		c = ct_table_find(srv->table, &tu, &zone, CT_DIR_REPLY, NULL);
	} else {
		/* Flush. Version 0 without CTA_FILTER flushes every family. */
		struct flush_arg fa = { .portid = client_portid(cl), .report = report };
		uint8_t fam = (req.version || has_filter) ? req.family : AF_UNSPEC;

		if ((err = filter_build(&req, fam, &fa.filter)))
			return err;
		ct_table_for_each(srv->table, flush_one, &fa);
		return 0;
	}
	if (!c)
		return -ENOENT;
	if ((req.present & CTNL_HAS(CTA_ID)) && req.id != c->id)
		return -ENOENT;
	ct_table_delete(srv->table, c, client_portid(cl), report);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Statistics and the other lists                                          */

struct cpu_dump {
	unsigned next;
};

/* ctnetlink_ct_stat_cpu_dump(): one message per CPU; ctsim keeps all its
 * counters on CPU 0. */
static int stats_cpu_fill(struct server *srv, struct client *cl, struct dump *d, void *vbuf, size_t cap)
{
	struct cpu_dump *st = d->state;
	unsigned char *buf = vbuf;
	size_t used = 0;
	bool exp = CTNL_SUBSYS(d->type) == NFNL_SUBSYS_CTNETLINK_EXP;

	for (; st->next < srv->ncpus; st->next++) {
		static const struct ctnl_stats_cpu zero_ct;
		static const struct ctnl_stats_exp zero_exp;
		/* -S expect answers with type 0x0103 (subsystem CTNETLINK),
		 * a kernel quirk conntrack relies on. */
		uint16_t type = exp ? CTNL_MSG(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_EXP_GET_STATS_CPU)
				    : CTNL_MSG(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS_CPU);
		struct nlmsghdr *nlh = ctnl_msg_start(buf + used, cap - used, type, NLM_F_MULTI,
						      d->seq, client_portid(cl), AF_UNSPEC,
						      NFNETLINK_V0, (uint16_t)st->next);
		int err;

		if (!nlh)
			break;
		if (exp)
			err = ctnl_stats_exp_put(nlh, cap - used,
						 st->next ? &zero_exp : &srv->table->stats.exp);
		else
			err = ctnl_stats_cpu_put(nlh, cap - used,
						 st->next ? &zero_ct : &srv->table->stats.cpu);
		if (err < 0)
			break;
		used += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	return (int)used;
}

int ctnetlink_start_stats_cpu_dump(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	struct cpu_dump *st;
	struct dump d = { .fill = stats_cpu_fill, .done = free_state, .seq = nlh->nlmsg_seq,
			  .type = nlh->nlmsg_type };
	int err;

	/* Without NLM_F_DUMP the kernel does nothing (an ACK if asked). */
	if (!(nlh->nlmsg_flags & NLM_F_DUMP))
		return 0;
	if (!(st = calloc(1, sizeof(*st))))
		return -ENOMEM;
	d.state = st;
	if ((err = server_start_dump(srv, cl, &d))) {
		free(st);
		return err;
	}
	return CTNL_DUMP_STARTED;
}

static int ct_get_stats_cpu(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	return ctnetlink_start_stats_cpu_dump(srv, cl, nlh);
}

/* ctnetlink_stat_ct(): one message, with or without NLM_F_DUMP, no DONE. */
static int ct_get_stats(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	unsigned char buf[256];
	struct ctnl_stats_global g = { .entries = srv->table->count,
				       .max_entries = srv->settings->max };
	struct nlmsghdr *out = ctnl_msg_start(buf, sizeof(buf),
					      CTNL_MSG(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS),
					      client_portid(cl) ? NLM_F_MULTI : 0, nlh->nlmsg_seq,
					      client_portid(cl), AF_UNSPEC, NFNETLINK_V0, 0);

	if (!out || ctnl_stats_global_put(out, sizeof(buf), &g) < 0)
		return -ENOMEM;
	server_reply(srv, cl, buf, out->nlmsg_len);
	return 0;
}

static int start_list_dump(struct server *srv, struct client *cl, const struct nlmsghdr *nlh,
			   bool dying)
{
	struct list_dump *st;
	struct dump d = { .fill = dying ? dying_fill : dump_fill_empty, .done = free_state,
			  .seq = nlh->nlmsg_seq, .type = nlh->nlmsg_type };
	const struct nfgenmsg *g = (const void *)((const char *)nlh + NLMSG_HDRLEN);
	int err;

	if (!(nlh->nlmsg_flags & NLM_F_DUMP))
		return -EOPNOTSUPP;
	if (!(st = calloc(1, sizeof(*st))))
		return -ENOMEM;
	st->family = g->nfgen_family;
	d.state = st;
	if ((err = server_start_dump(srv, cl, &d))) {
		free(st);
		return err;
	}
	return CTNL_DUMP_STARTED;
}

static int ct_get_dying(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	return start_list_dump(srv, cl, nlh, true);
}

/* ctnetlink_dump_unconfirmed(): always empty since Linux 6.3. */
static int ct_get_unconfirmed(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	return start_list_dump(srv, cl, nlh, false);
}

const ctnetlink_handler ctnetlink_ct_handlers[IPCTNL_MSG_MAX] = {
	[IPCTNL_MSG_CT_NEW]		= ct_new,
	[IPCTNL_MSG_CT_GET]		= ct_get,
	[IPCTNL_MSG_CT_DELETE]		= ct_delete,
	[IPCTNL_MSG_CT_GET_CTRZERO]	= ct_get_ctrzero,
	[IPCTNL_MSG_CT_GET_STATS_CPU]	= ct_get_stats_cpu,
	[IPCTNL_MSG_CT_GET_STATS]	= ct_get_stats,
	[IPCTNL_MSG_CT_GET_DYING]	= ct_get_dying,
	[IPCTNL_MSG_CT_GET_UNCONFIRMED]	= ct_get_unconfirmed,
};
