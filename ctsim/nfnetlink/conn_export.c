/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conn_export.c — table entry -> struct ctnl_ct, as ctnetlink fills dump
 * objects and events (net/netfilter/nf_conntrack_netlink.c). Shared by the
 * ctnetlink server (ct_requests.c) and `ctsim replay`.
 */
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include "proto/ctnl_print.h"
#include "ctsim/nfnetlink/conn_export.h"
#include "ctsim/core/expect.h"
#include "ctsim/core/helper.h"
#include "ctsim/core/packet.h"

enum fill_kind { FILL_DUMP, FILL_EVENT };

/* Which l4 fields a tuple of this protocol must carry
 * (the l4proto's nlattr_to_tuple()). */
uint32_t export_tuple_l4_fields(uint8_t l4num)
{
	if (ct_tuple_has_ports(l4num))
		return CT_TF_SPORT | CT_TF_DPORT;
	switch (l4num) {
	case IPPROTO_ICMP:
		return CT_TF_ICMP_TYPE | CT_TF_ICMP_CODE | CT_TF_ICMP_ID;
	case IPPROTO_ICMPV6:
		return CT_TF_ICMPV6_TYPE | CT_TF_ICMPV6_CODE | CT_TF_ICMPV6_ID;
	default:
		return 0;
	}
}

static void put_tuple(struct ctnl_tuple *out, const struct conn *c, enum ct_dir dir)
{
	memset(out, 0, sizeof(*out));
	out->t = c->th[dir].tuple;
	out->present = CT_TF_IP_SRC | CT_TF_IP_DST | CT_TF_PROTO_NUM |
		       export_tuple_l4_fields(out->t.l4num);
	/* ctnetlink_dump_tuples() + the directional zone (ctnetlink_dump_zone_id()). */
	if (c->zone.id && c->zone.dir == (dir == CT_DIR_ORIG ? CT_ZONE_DIR_ORIG : CT_ZONE_DIR_REPLY)) {
		out->present |= CT_TF_ZONE;
		out->zone = c->zone.id;
	}
}

static void put_protoinfo(struct ctnl_ct *o, const struct conn *c, bool destroy)
{
	uint8_t l4 = c->th[CT_DIR_ORIG].tuple.l4num;

	/* Only trackers with to_nlattr(): TCP and SCTP (no DCCP on 6.18). */
	if (l4 == IPPROTO_TCP) {
		o->present |= CTNL_HAS(CTA_PROTOINFO);
		o->protoinfo = CTA_PROTOINFO_TCP;
		o->tcp.state = c->proto.tcp.state;
		o->tcp.present = 1u << CTA_PROTOINFO_TCP_STATE;
		if (destroy)
			return;		/* tcp_to_nlattr(): only the state on destroy */
		o->tcp.wscale_orig = c->proto.tcp.wscale[0];
		o->tcp.wscale_reply = c->proto.tcp.wscale[1];
		o->tcp.flags_orig = c->proto.tcp.flags[0];
		o->tcp.flags_reply = c->proto.tcp.flags[1];
		o->tcp.present |= 1u << CTA_PROTOINFO_TCP_WSCALE_ORIGINAL |
				  1u << CTA_PROTOINFO_TCP_WSCALE_REPLY |
				  1u << CTA_PROTOINFO_TCP_FLAGS_ORIGINAL |
				  1u << CTA_PROTOINFO_TCP_FLAGS_REPLY;
	} else if (l4 == IPPROTO_SCTP) {
		o->present |= CTNL_HAS(CTA_PROTOINFO);
		o->protoinfo = CTA_PROTOINFO_SCTP;
		o->sctp.state = c->proto.sctp.state;
		o->sctp.present = 1u << CTA_PROTOINFO_SCTP_STATE;
		if (destroy)
			return;
		o->sctp.vtag_orig = c->proto.sctp.vtag[0];
		o->sctp.vtag_reply = c->proto.sctp.vtag[1];
		o->sctp.present |= 1u << CTA_PROTOINFO_SCTP_VTAG_ORIGINAL |
				   1u << CTA_PROTOINFO_SCTP_VTAG_REPLY;
	}
}

static void put_acct_tstamp(struct ctnl_ct *o, const struct conn *c)
{
	const struct conn_ext *x = c->ext;

	if (!x)
		return;
	if (x->has & CONN_EXT_ACCT) {	/* ctnetlink_dump_acct() */
		o->present |= CTNL_HAS(CTA_COUNTERS_ORIG) | CTNL_HAS(CTA_COUNTERS_REPLY);
		o->counters[0] = x->counters[0];
		o->counters[1] = x->counters[1];
	}
	if (x->has & CONN_EXT_TSTAMP) {	/* ctnetlink_dump_timestamp() */
		o->present |= CTNL_HAS(CTA_TIMESTAMP);
		o->ts_present = 1u << CTA_TIMESTAMP_START;
		o->ts_start = x->ts_start;
		if (x->ts_stop) {
			o->ts_present |= 1u << CTA_TIMESTAMP_STOP;
			o->ts_stop = x->ts_stop;
		}
	}
}

static void put_master(struct ctnl_ct *o, const struct conn *c)
{
	/* ctnetlink_dump_master(): only for IPS_EXPECTED entries. */
	if (!(c->status & CT_S_EXPECTED) || !c->ext || !(c->ext->has & CONN_EXT_MASTER))
		return;
	o->present |= CTNL_HAS(CTA_TUPLE_MASTER);
	memset(&o->master, 0, sizeof(o->master));
	o->master.t = c->ext->master;
	o->master.present = CT_TF_IP_SRC | CT_TF_IP_DST | CT_TF_PROTO_NUM |
			    export_tuple_l4_fields(o->master.t.l4num);
}

static void put_labels(struct ctnl_ct *o, const struct conn *c)
{
	static const uint8_t zero[16];

	/* ctnetlink_dump_labels(): only if some bit is set. */
	if (!c->ext || !(c->ext->has & CONN_EXT_LABELS) || !memcmp(c->ext->labels, zero, 16))
		return;
	o->present |= CTNL_HAS(CTA_LABELS);
	memcpy(o->labels, c->ext->labels, 16);
	o->labels_len = 16;
}

static void put_seqadj_synproxy(struct ctnl_ct *o, const struct conn *c, uint32_t evmask,
				enum fill_kind kind)
{
	const struct conn_ext *x = c->ext;

	if ((c->status & CT_S_SEQ_ADJUST) && x && (x->has & CONN_EXT_SEQADJ) &&
	    (kind == FILL_DUMP || (evmask & CT_EV(SEQADJ)))) {
		o->present |= CTNL_HAS(CTA_SEQ_ADJ_ORIG) | CTNL_HAS(CTA_SEQ_ADJ_REPLY);
		o->seqadj[0] = x->seqadj[0];
		o->seqadj[1] = x->seqadj[1];
	}
	/* Entries made through ctnetlink always carry the synproxy
	 * extension (nfct_synproxy_ext_add()), usually all zeros: a flag,
	 * and the values only when somebody set them. */
	if ((c->flags & CONN_F_SYNPROXY) && (kind == FILL_DUMP || (evmask & CT_EV(SYNPROXY)))) {
		o->present |= CTNL_HAS(CTA_SYNPROXY);
		o->synproxy_present = 1u << CTA_SYNPROXY_ISN | 1u << CTA_SYNPROXY_ITS |
				      1u << CTA_SYNPROXY_TSOFF;
		if (x && (x->has & CONN_EXT_SYNPROXY)) {
			o->synproxy_isn = x->synproxy[0];
			o->synproxy_its = x->synproxy[1];
			o->synproxy_tsoff = x->synproxy[2];
		}
	}
}

static void put_helper(struct ctnl_ct *o, const struct conn *c)
{
	if (ct_helper_name(c)[0]) {
		o->present |= CTNL_HAS(CTA_HELP);
		snprintf(o->helper, sizeof(o->helper), "%s", ct_helper_name(c));
	}
}

/* ctnetlink_fill_info(): a dump or GET object. */
void export_ct_from_conn(const struct ct_table *t, const struct conn *c, struct ctnl_ct *o)
{
	memset(o, 0, sizeof(*o));
	o->family = c->th[CT_DIR_ORIG].tuple.l3num;
	o->present = CTNL_HAS(CTA_TUPLE_ORIG) | CTNL_HAS(CTA_TUPLE_REPLY) |
		     CTNL_HAS(CTA_STATUS) | CTNL_HAS(CTA_MARK) | CTNL_HAS(CTA_ID) |
		     CTNL_HAS(CTA_USE) | CTNL_HAS(CTA_TIMEOUT);
	put_tuple(&o->orig, c, CT_DIR_ORIG);
	put_tuple(&o->reply, c, CT_DIR_REPLY);
	if (c->zone.id && c->zone.dir == CT_ZONE_DIR_BOTH) {
		o->present |= CTNL_HAS(CTA_ZONE);
		o->zone = c->zone.id;
	}
	o->status = c->status;
	o->mark = c->mark;
	o->id = c->id;
	o->use = c->use;
	put_master(o, c);
	o->timeout = conn_timeout_left(t, c);
	put_protoinfo(o, c, false);
	put_acct_tstamp(o, c);
	put_helper(o, c);
	put_labels(o, c);
	put_seqadj_synproxy(o, c, 0, FILL_DUMP);
}

/* ctnetlink_conntrack_event(): the object of an event message. */
void export_ct_from_event(const struct ct_table *t, const struct ct_event *ev, struct ctnl_ct *o)
{
	const struct conn *c = ev->ct;
	bool destroy = ev->mask & CT_EV(DESTROY);

	memset(o, 0, sizeof(*o));
	o->present = CTNL_HAS(CTA_TUPLE_ORIG) | CTNL_HAS(CTA_TUPLE_REPLY) |
		     CTNL_HAS(CTA_ID) | CTNL_HAS(CTA_STATUS);
	put_tuple(&o->orig, c, CT_DIR_ORIG);
	put_tuple(&o->reply, c, CT_DIR_REPLY);
	if (c->zone.id && c->zone.dir == CT_ZONE_DIR_BOTH) {
		o->present |= CTNL_HAS(CTA_ZONE);
		o->zone = c->zone.id;
	}
	o->id = c->id;
	o->status = c->status;
	o->timeout = conn_timeout_left(t, c);
	if (destroy) {
		/* ctnetlink_dump_timeout(skip_zero): no timeout once expired. */
		if (o->timeout)
			o->present |= CTNL_HAS(CTA_TIMEOUT);
		put_acct_tstamp(o, c);
		put_protoinfo(o, c, true);
	} else {
		o->present |= CTNL_HAS(CTA_TIMEOUT);
		if (ev->mask & CT_EV(PROTOINFO))
			put_protoinfo(o, c, false);
		put_helper(o, c);
		if (ev->mask & CT_EV(LABEL))
			put_labels(o, c);
		put_master(o, c);
		put_seqadj_synproxy(o, c, ev->mask, FILL_EVENT);
	}
	/* ctnetlink_dump_mark(): present if non-zero or if the mark changed. */
	if (c->mark || (ev->mask & CT_EV(MARK))) {
		o->present |= CTNL_HAS(CTA_MARK);
		o->mark = c->mark;
	}
}

enum ctnl_event export_event_kind(uint32_t mask)
{
	if (mask & CT_EV(DESTROY))
		return CTNL_EV_DESTROY;
	if (mask & (CT_EV(NEW) | CT_EV(RELATED)))
		return CTNL_EV_NEW;
	return CTNL_EV_UPDATE;
}

/* ---------------------------------------------------------------------- */
/* Expectation -> wire object (ctnetlink_exp_dump_expect())                */

/* A tuple as an expectation object carries it: all fields present. */
static void put_exp_tuple(struct ctnl_tuple *o, const struct ct_tuple *t)
{
	memset(o, 0, sizeof(*o));
	o->t = *t;
	o->present = CT_TF_IP_SRC | CT_TF_IP_DST | CT_TF_PROTO_NUM | export_tuple_l4_fields(t->l4num);
}

/* ctnetlink_exp_dump_expect() */
void export_exp_from_expect(const struct ct_table *t, const struct ct_expect *e,
			  struct ctnl_exp *o)
{
	struct ct_tuple m;
	const struct conn *master = e->master;

	memset(o, 0, sizeof(*o));
	o->family = e->tuple.l3num;
	put_exp_tuple(&o->tuple, &e->tuple);
	/* ctnetlink_exp_dump_mask(): all ones, but the source part of the
	 * mask, the family and the protocol number. */
	memset(&m, 0xff, sizeof(m));
	if (e->tuple.l3num == AF_INET)
		memset(&m.dst.ip6[1], 0, 12);
	m.src = e->mask.src;
	m.sport = e->mask.sport;
	m.l3num = e->tuple.l3num;
	m.l4num = e->tuple.l4num;
	put_exp_tuple(&o->mask, &m);
	put_exp_tuple(&o->master, &master->th[CT_DIR_ORIG].tuple);
	o->present = CTNL_HAS(CTA_EXPECT_TUPLE) | CTNL_HAS(CTA_EXPECT_MASK) |
		     CTNL_HAS(CTA_EXPECT_MASTER) | CTNL_HAS(CTA_EXPECT_TIMEOUT) |
		     CTNL_HAS(CTA_EXPECT_ID) | CTNL_HAS(CTA_EXPECT_FLAGS) |
		     CTNL_HAS(CTA_EXPECT_CLASS);
	if (master->zone.id) {
		o->present |= CTNL_HAS(CTA_EXPECT_ZONE);
		o->zone = master->zone.id;
	}
	o->timeout = ct_expect_timeout_left(t, e);
	o->id = e->id;
	o->flags = e->flags;
	o->class = e->class;
	/* the helper name is the master's helper's */
	if (ct_helper_name(master)[0]) {
		o->present |= CTNL_HAS(CTA_EXPECT_HELP_NAME);
		snprintf(o->helper, sizeof(o->helper), "%s", ct_helper_name(master));
	}
	/* CTA_EXPECT_NAT when a NAT helper saved where the connection goes
	 * back to: the direction, and a tuple with the saved address as
	 * source (any: zero), the master's protocol and the saved port */
	{
		static const union ct_addr any;

		if (memcmp(&e->saved_addr, &any, sizeof(any)) != 0 || e->saved_proto) {
			struct ct_tuple nt;

			memset(&nt, 0, sizeof(nt));
			nt.l3num = master->th[CT_DIR_ORIG].tuple.l3num;
			nt.l4num = master->th[CT_DIR_ORIG].tuple.l4num;
			nt.src = e->saved_addr;
			nt.sport = e->saved_proto;
			o->present |= CTNL_HAS(CTA_EXPECT_NAT);
			o->nat_present = (1u << CTA_EXPECT_NAT_DIR) | (1u << CTA_EXPECT_NAT_TUPLE);
			o->nat_dir = e->dir;
			put_exp_tuple(&o->nat_tuple, &nt);
		}
	}
	/* CTA_EXPECT_FN: the registered name of exp->expectfn */
	if (e->follow_master) {
		o->present |= CTNL_HAS(CTA_EXPECT_FN);
		snprintf(o->fn, sizeof(o->fn), "%s", "nat-follow-master");
	}
}

unsigned export_print_expectations(struct ct_table *t)
{
	unsigned shown = 0;

	if (!t->expect)
		return 0;
	ct_expect_gc(t);
	for (const struct ct_expect *e = t->expect->head; e; e = e->next) {
		struct ctnl_exp o;

		export_exp_from_expect(t, e, &o);
		ctnl_print_exp(&o, CTNL_EV_NONE);
		shown++;
	}
	return shown;
}
