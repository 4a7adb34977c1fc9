/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conntrack.c — ctctl's verbs on the conntrack table: list get add update
 * delete flush count stats monitor.
 *
 * Each verb parses its keywords (parse.c), describes one ctnetlink request
 * for the codec (proto/ctnl.h) and hands it to ctctl_request() (request.c),
 * whose callback prints the answer (proto/ctnl_print.c). The requests are
 * those conntrack 1.4.7 sends for the same job (see
 * shared/reference/ctnetlink-compat.md §4), so ctsim and the kernel see the
 * same thing from ctctl as from conntrack.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "ctctl/ctctl.h"
#include "proto/ctsim_wire.h"

#define CT_MSG(m)	CTNL_MSG(NFNL_SUBSYS_CTNETLINK, m)

/* Does @ct match the client-side part of the selector @s? */
static bool ct_matches(const struct ctctl_spec *s, const struct ctnl_ct *ct)
{
	const struct ct_tuple *o = &ct->orig.t, *r = &ct->reply.t;
	size_t alen = o->l3num == AF_INET6 ? 16 : 4;
	bool icmp = o->l4num == IPPROTO_ICMP || o->l4num == IPPROTO_ICMPV6;

	if (s->family && o->l3num != s->family)
		return false;
	if ((s->have & KWB(KW_PROTO)) && o->l4num != s->l4num)
		return false;
	if ((s->have & KWB(KW_SRC)) && memcmp(&o->src, &s->src, alen))
		return false;
	if ((s->have & KWB(KW_DST)) && memcmp(&o->dst, &s->dst, alen))
		return false;
	if ((s->have & KWB(KW_RSRC)) && memcmp(&r->src, &s->rsrc, alen))
		return false;
	if ((s->have & KWB(KW_RDST)) && memcmp(&r->dst, &s->rdst, alen))
		return false;
	if (!icmp) {
		if ((s->have & KWB(KW_SPORT)) && o->sport != s->sport)
			return false;
		if ((s->have & KWB(KW_DPORT)) && o->dport != s->dport)
			return false;
		if ((s->have & KWB(KW_RSPORT)) && r->sport != s->rsport)
			return false;
		if ((s->have & KWB(KW_RDPORT)) && r->dport != s->rdport)
			return false;
	} else {
		if ((s->have & KWB(KW_TYPE)) && o->icmp_type != s->icmp_type)
			return false;
		if ((s->have & KWB(KW_CODE)) && o->icmp_code != s->icmp_code)
			return false;
		if ((s->have & KWB(KW_ICMPID)) && o->sport != s->icmp_id)
			return false;
	}
	if (s->have & KWB(KW_ZONE)) {
		bool z = ((ct->present & CTNL_HAS(CTA_ZONE)) && ct->zone == s->zone) ||
			 ((ct->orig.present & CT_TF_ZONE) && ct->orig.zone == s->zone) ||
			 ((ct->reply.present & CT_TF_ZONE) && ct->reply.zone == s->zone);
		if (!z && !(s->zone == 0 && !(ct->present & CTNL_HAS(CTA_ZONE)) &&
			    !(ct->orig.present & CT_TF_ZONE) && !(ct->reply.present & CT_TF_ZONE)))
			return false;
	}
	if (s->have & KWB(KW_STATE)) {
		uint8_t st;

		if (ct->protoinfo == CTA_PROTOINFO_TCP)
			st = ct->tcp.state;
		else if (ct->protoinfo == CTA_PROTOINFO_SCTP)
			st = ct->sctp.state;
		else
			return false;
		if (st != s->state)
			return false;
	}
	if ((s->have & KWB(KW_MARK)) && (ct->mark & s->mark_mask) != s->mark)
		return false;
	if ((s->have & KWB(KW_STATUS)) && (ct->status & s->status) != s->status)
		return false;
	if ((s->have & KWB(KW_ID)) && ct->id != s->id)
		return false;
	return true;
}

/* Is @nlh a conntrack object (CT_NEW / CT_DELETE of the ct subsystem)? */
static bool is_ct_msg(const struct nlmsghdr *nlh)
{
	return CTNL_SUBSYS(nlh->nlmsg_type) == NFNL_SUBSYS_CTNETLINK &&
	       (CTNL_MSGTYPE(nlh->nlmsg_type) == IPCTNL_MSG_CT_NEW ||
		CTNL_MSGTYPE(nlh->nlmsg_type) == IPCTNL_MSG_CT_DELETE);
}

/* ---- list ---------------------------------------------------------------- */

struct list_state {
	const struct ctctl_spec *spec;
	unsigned shown;
	bool print;
	struct ctnl_ct found;	/* delete id: the entry with that id */
	bool have_found;
};

static int list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct list_state *st = data;
	struct ctnl_ct ct;

	if (!is_ct_msg(nlh) || ctnl_ct_parse(nlh, &ct, NULL) < 0)
		return 0;
	if (!ct_matches(st->spec, &ct))
		return 0;
	st->shown++;
	if (st->print) {
		ctnl_print_ct(&ct, CTNL_EV_NONE, 0);
	} else if (!st->have_found) {
		st->found = ct;
		st->have_found = true;
	}
	return 0;
}

/* Dump the table with the kernel-side filters of @s (family, mark, status,
 * as conntrack 1.4.7 does) and hand every entry to list_cb. Returns >= 0,
 * or -1 after printing the failure. */
static int dump_table(const struct ctctl_args *a, struct ctctl_spec *s, struct list_state *st)
{
	struct ctnl_ct f = { 0 };
	struct ctctl_req req = { CT_MSG(IPCTNL_MSG_CT_GET), NLM_F_DUMP, s->family, 0,
				 .ct = &f, .cb = list_cb, .data = st };

	if (s->have & KWB(KW_MARK)) {
		f.present |= CTNL_HAS(CTA_MARK) | CTNL_HAS(CTA_MARK_MASK);
		f.mark = s->mark;
		f.mark_mask = s->mark_mask;
	}
	if ((s->have & KWB(KW_STATUS)) && s->status) {
		f.present |= CTNL_HAS(CTA_STATUS) | CTNL_HAS(CTA_STATUS_MASK);
		f.status = f.status_mask = s->status;
	}
	return ctctl_request(a, &req);
}

int ctctl_ct_list(struct ctctl_args *a)
{
	struct ctctl_spec s;
	struct list_state st = { .spec = &s, .print = true };
	int r;

	if ((r = ctctl_parse_words(a, KWS_TUPLE | KWB(KW_MARK) | KWB(KW_STATE) | KWB(KW_STATUS) | KWB(KW_ID),
			     NULL, &s)) != CTCTL_OK)
		return r;
	if (a->i < a->argc)
		return ctctl_usage_error(a, a->i, "unexpected word \"%s\"", a->argv[a->i]);
	/* Connect first: nothing (not even JSON's "[") is printed when ctsim
	 * is not there. */
	if (!ctctl_conn(a))
		return CTCTL_FAIL;
	ctnl_print_begin_list();
	r = dump_table(a, &s, &st);
	ctnl_print_end_list();
	fflush(stdout);
	if (r < 0)
		return CTCTL_FAIL;
	if (!ctctl_opts.print.json)
		fprintf(stderr, "%u flow entries have been shown.\n", st.shown);
	return CTCTL_OK;
}

/* ---- get ----------------------------------------------------------------- */

static int print_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ctnl_ct ct;

	(void)data;
	if (is_ct_msg(nlh) && ctnl_ct_parse(nlh, &ct, NULL) == 0)
		ctnl_print_ct(&ct, CTNL_EV_NONE, 0);
	return 0;
}

/* Put the selector's original tuple (and CTA_ZONE) into @ct. */
static bool selector_to_ct(struct ctctl_args *a, const struct ctctl_spec *s,
			   struct ctnl_ct *ct)
{
	if (!ctctl_spec_tuple(a, s, false, &ct->orig))
		return false;
	ct->present |= CTNL_HAS(CTA_TUPLE_ORIG);
	if (s->have & KWB(KW_ZONE)) {
		ct->present |= CTNL_HAS(CTA_ZONE);
		ct->zone = s->zone;
	}
	return true;
}

int ctctl_ct_get(struct ctctl_args *a)
{
	struct ctctl_spec s;
	struct ctnl_ct ct = { 0 };
	struct ctctl_req req = { CT_MSG(IPCTNL_MSG_CT_GET), NLM_F_ACK, 0, 0, .ct = &ct,
				 .cb = print_cb };
	int r;

	if ((r = ctctl_parse_words(a, KWS_TUPLE, NULL, &s)) != CTCTL_OK)
		return r;
	if (!selector_to_ct(a, &s, &ct))
		return CTCTL_USAGE;
	req.family = s.family;
	return ctctl_request(a, &req) < 0 ? CTCTL_FAIL : CTCTL_OK;
}

/* `explain TUPLE`: the entry's internals from the daemon (ctsim only):
 * state, status bits by name, timeout, TCP windows, extensions. */
int ctctl_ct_explain(struct ctctl_args *a)
{
	struct ctctl_spec s;
	struct ctnl_ct ct = { 0 };
	struct ctsim_explain ex = { 0 };
	struct ctnl_client *conn;
	const void *text;
	size_t dlen;
	int r;

	if ((r = ctctl_parse_words(a, KWS_TUPLE, NULL, &s)) != CTCTL_OK)
		return r;
	if (!selector_to_ct(a, &s, &ct))
		return CTCTL_USAGE;
	memcpy(ex.src, ct.orig.t.src.b, sizeof(ex.src));
	memcpy(ex.dst, ct.orig.t.dst.b, sizeof(ex.dst));
	ex.sport = ct.orig.t.sport;
	ex.dport = ct.orig.t.dport;
	ex.icmp_type = ct.orig.t.icmp_type;
	ex.icmp_code = ct.orig.t.icmp_code;
	ex.l3num = ct.orig.t.l3num;
	ex.l4num = ct.orig.t.l4num;
	ex.zone = (ct.present & CTNL_HAS(CTA_ZONE)) ? ct.zone : 0;
	if (!(conn = ctctl_conn(a)))
		return CTCTL_FAIL;
	r = ctnl_client_control_payload(conn, CTSIM_CTL_EXPLAIN, 0, &ex, sizeof(ex), &text, &dlen);
	if (r == -ECONNRESET || r == -EPIPE)
		ctctl_disconnect();
	if (r < 0)
		return ctctl_result(a, r) < 0 ? CTCTL_FAIL : CTCTL_OK;
	fwrite(text, 1, dlen, stdout);
	return fflush(stdout) == 0 ? CTCTL_OK : ctctl_fail(a, errno);
}

/* ---- add / update --------------------------------------------------------- */

/* Fill the changeable attributes (status, timeout, mark, protoinfo) of @ct
 * from @s. */
static void spec_to_changes(const struct ctctl_spec *s, struct ctnl_ct *ct)
{
	if (s->have & KWB(KW_TIMEOUT)) {
		ct->present |= CTNL_HAS(CTA_TIMEOUT);
		ct->timeout = s->timeout;
	}
	if (s->have & KWB(KW_MARK)) {
		ct->present |= CTNL_HAS(CTA_MARK);
		ct->mark = s->mark;
		if (s->mark_mask != 0xffffffffu) {
			ct->present |= CTNL_HAS(CTA_MARK_MASK);
			ct->mark_mask = s->mark_mask;
		}
	}
	if (s->have & KWB(KW_STATE)) {
		ct->present |= CTNL_HAS(CTA_PROTOINFO);
		if (s->l4num == IPPROTO_SCTP) {
			ct->protoinfo = CTA_PROTOINFO_SCTP;
			ct->sctp.present = 1u << CTA_PROTOINFO_SCTP_STATE;
			ct->sctp.state = s->state;
		} else {
			ct->protoinfo = CTA_PROTOINFO_TCP;
			ct->tcp.present = 1u << CTA_PROTOINFO_TCP_STATE;
			ct->tcp.state = s->state;
		}
	}
}

static int check_state_proto(struct ctctl_args *a, const struct ctctl_spec *s)
{
	if ((s->have & KWB(KW_STATE)) && s->l4num != IPPROTO_TCP && s->l4num != IPPROTO_SCTP)
		return ctctl_usage_error(a, s->at[KW_STATE], "\"state\" needs tcp or sctp");
	return CTCTL_OK;
}

int ctctl_ct_add(struct ctctl_args *a)
{
	struct ctctl_spec s;
	struct ctnl_ct ct = { 0 };
	struct ctctl_req req = { CT_MSG(IPCTNL_MSG_CT_NEW), NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 0, 0, .ct = &ct };
	int r;

	if ((r = ctctl_parse_words(a, KWS_TUPLE | KWB(KW_STATE) | KWB(KW_TIMEOUT) | KWB(KW_MARK) |
				KWB(KW_STATUS), NULL, &s)) != CTCTL_OK)
		return r;
	if ((r = check_state_proto(a, &s)) != CTCTL_OK)
		return r;
	if (!selector_to_ct(a, &s, &ct) || !ctctl_spec_tuple(a, &s, true, &ct.reply))
		return CTCTL_USAGE;
	if (!(s.have & KWB(KW_TIMEOUT)))
		return ctctl_usage_error(a, a->argc, "\"timeout\" is needed to add an entry");
	ct.present |= CTNL_HAS(CTA_TUPLE_REPLY) | CTNL_HAS(CTA_STATUS);
	ct.status = s.status | CT_S_CONFIRMED;	/* as conntrack -I */
	spec_to_changes(&s, &ct);
	req.family = s.family;
	return ctctl_request(a, &req) < 0 ? CTCTL_FAIL : CTCTL_OK;
}

int ctctl_ct_update(struct ctctl_args *a)
{
	struct ctctl_spec s;
	struct ctnl_ct ct = { 0 };
	struct ctctl_req req = { CT_MSG(IPCTNL_MSG_CT_NEW), NLM_F_ACK, 0, 0, .ct = &ct };
	int r;

	if ((r = ctctl_parse_words(a, KWS_TUPLE | KWB(KW_STATE) | KWB(KW_TIMEOUT) | KWB(KW_MARK) |
				KWB(KW_STATUS), NULL, &s)) != CTCTL_OK)
		return r;
	if ((r = check_state_proto(a, &s)) != CTCTL_OK)
		return r;
	if (!selector_to_ct(a, &s, &ct))
		return CTCTL_USAGE;
	if (!(s.have & (KWB(KW_STATE) | KWB(KW_TIMEOUT) | KWB(KW_MARK) | KWB(KW_STATUS))))
		return ctctl_usage_error(a, a->argc, "nothing to update (mark, timeout, status or state)");
	if (s.have & KWB(KW_STATUS)) {
		/* Bits can only be added (clearing SEEN_REPLY/ASSURED or
		 * touching CONFIRMED is EBUSY): keep CONFIRMED, as the entry is. */
		ct.present |= CTNL_HAS(CTA_STATUS);
		ct.status = s.status | CT_S_CONFIRMED;
	}
	spec_to_changes(&s, &ct);
	req.family = s.family;
	return ctctl_request(a, &req) < 0 ? CTCTL_FAIL : CTCTL_OK;
}

/* ---- delete / flush ------------------------------------------------------- */

int ctctl_ct_delete(struct ctctl_args *a)
{
	struct ctctl_spec s;
	struct ctnl_ct ct = { 0 };
	struct ctctl_req req = { CT_MSG(IPCTNL_MSG_CT_DELETE), NLM_F_ACK, 0, 0, .ct = &ct };
	int r;

	if ((r = ctctl_parse_words(a, KWS_TUPLE | KWB(KW_ID), NULL, &s)) != CTCTL_OK)
		return r;
	if (a->argc == 1)
		return ctctl_usage_error(a, 1, "which entry? give a selector or \"id N\" (\"flush\" empties the table)");
	if (s.have == KWB(KW_ID)) {
		/* By id alone: find the entry's tuple, then delete tuple + id. */
		struct list_state st = { .spec = &s };
		struct ctctl_spec all = { 0 };

		st.spec = &s;
		if (dump_table(a, &all, &st) < 0)
			return CTCTL_FAIL;
		if (!st.have_found)
			return ctctl_fail(a, ENOENT);
		ct.present = CTNL_HAS(CTA_TUPLE_ORIG);
		ct.orig = st.found.orig;
		if (st.found.present & CTNL_HAS(CTA_ZONE)) {
			ct.present |= CTNL_HAS(CTA_ZONE);
			ct.zone = st.found.zone;
		}
		s.family = st.found.orig.t.l3num;
	} else if (!selector_to_ct(a, &s, &ct)) {
		return CTCTL_USAGE;
	}
	if (s.have & KWB(KW_ID)) {
		ct.present |= CTNL_HAS(CTA_ID);
		ct.id = s.id;
	}
	req.family = s.family;
	return ctctl_request(a, &req) < 0 ? CTCTL_FAIL : CTCTL_OK;
}

int ctctl_ct_flush(struct ctctl_args *a)
{
	struct ctctl_spec s;
	struct ctnl_ct f = { 0 };
	struct ctctl_req req = { CT_MSG(IPCTNL_MSG_CT_DELETE), NLM_F_ACK, 0, 0, .ct = &f };
	int r;

	if ((r = ctctl_parse_words(a, KWB(KW_FAMILY) | KWB(KW_MARK), NULL, &s)) != CTCTL_OK)
		return r;
	/* nfgen version 0 flushes every family; version 1 honours the family. */
	req.family = s.family;
	req.version = s.family ? 1 : 0;
	if (s.have & KWB(KW_MARK)) {
		f.present |= CTNL_HAS(CTA_MARK) | CTNL_HAS(CTA_MARK_MASK);
		f.mark = s.mark;
		f.mark_mask = s.mark_mask;
	}
	return ctctl_request(a, &req) < 0 ? CTCTL_FAIL : CTCTL_OK;
}

/* ---- count / stats ------------------------------------------------------- */

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ctnl_stats_global *g = data;

	if (CTNL_SUBSYS(nlh->nlmsg_type) == NFNL_SUBSYS_CTNETLINK &&
	    CTNL_MSGTYPE(nlh->nlmsg_type) == IPCTNL_MSG_CT_GET_STATS &&
	    ctnl_stats_global_parse(nlh, g) == 0)
		return 1;	/* got it */
	return 0;
}

int ctctl_ct_count(struct ctctl_args *a)
{
	struct ctnl_stats_global g = { 0 };
	struct ctctl_req req = { CT_MSG(IPCTNL_MSG_CT_GET_STATS), 0, AF_UNSPEC, 0,
				 .cb = count_cb, .data = &g };
	int r;

	if (a->argc > 1)
		return ctctl_usage_error(a, 1, "\"count\" takes no arguments");
	r = ctctl_request(a, &req);
	if (r < 0)
		return CTCTL_FAIL;
	if (r == 0)
		return ctctl_fail(a, EPROTO);	/* no statistics message came */
	ctnl_print_count(&g);
	fflush(stdout);
	return CTCTL_OK;
}

static int stats_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nfgenmsg *nfg = NLMSG_DATA(nlh);
	struct ctnl_stats_cpu s;

	(void)data;
	if (CTNL_SUBSYS(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK ||
	    CTNL_MSGTYPE(nlh->nlmsg_type) != IPCTNL_MSG_CT_GET_STATS_CPU ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*nfg)) ||
	    ctnl_stats_cpu_parse(nlh, &s) < 0)
		return 0;
	ctnl_print_stats_cpu(ntohs(nfg->res_id), &s);
	return 0;
}

int ctctl_ct_stats(struct ctctl_args *a)
{
	struct ctctl_req req = { CT_MSG(IPCTNL_MSG_CT_GET_STATS_CPU), NLM_F_DUMP, AF_UNSPEC, 0,
				 .cb = stats_cb };
	int r;

	if (a->argc == 2 && !strcmp(a->argv[1], "buckets")) {
		/* the same view as `table` (ctsim only) */
		struct ctctl_args one = *a;

		one.argc = 1;
		return ctctl_ctl_table(&one);
	}
	if (a->argc > 1)
		return ctctl_usage_error(a, 1, "\"stats\" takes no arguments but \"buckets\"");
	if (!ctctl_conn(a))
		return CTCTL_FAIL;
	ctnl_print_begin_list();
	r = ctctl_request(a, &req);
	ctnl_print_end_list();
	fflush(stdout);
	return r < 0 ? CTCTL_FAIL : CTCTL_OK;
}

/* ---- monitor ------------------------------------------------------------- */

struct monitor_state {
	const struct ctctl_spec *spec;
	int groups;
	unsigned shown;
};

static int monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	struct monitor_state *m = data;
	enum ctnl_event ev;
	struct ctnl_ct ct;
	int group;

	if (!is_ct_msg(nlh) || ctnl_ct_parse(nlh, &ct, NULL) < 0)
		return 0;
	if (CTNL_MSGTYPE(nlh->nlmsg_type) == IPCTNL_MSG_CT_DELETE)
		ev = CTNL_EV_DESTROY, group = NFNLGRP_CONNTRACK_DESTROY;
	else if (nlh->nlmsg_flags & NLM_F_CREATE)
		ev = CTNL_EV_NEW, group = NFNLGRP_CONNTRACK_NEW;
	else
		ev = CTNL_EV_UPDATE, group = NFNLGRP_CONNTRACK_UPDATE;
	if (!(m->groups & (1 << (group - 1))) || !ct_matches(m->spec, &ct))
		return 0;
	m->shown++;
	ctnl_print_ct(&ct, ev, nlh->nlmsg_pid);
	fflush(stdout);
	return 0;
}

int ctctl_ct_monitor(struct ctctl_args *a)
{
	struct ctctl_spec s;
	struct monitor_state m = { .spec = &s, .groups = 0 };
	int r;

	/* Event kinds come first: `monitor new,destroy` or `monitor new destroy`. */
	while (a->i < a->argc && (r = ctctl_parse_events(a->argv[a->i])) > 0) {
		m.groups |= r;
		a->i++;
	}
	if ((r = ctctl_parse_words(a, KWS_TUPLE | KWB(KW_MARK) | KWB(KW_STATE) | KWB(KW_STATUS),
			     NULL, &s)) != CTCTL_OK)
		return r;
	if (!m.groups)
		m.groups = 7;

	r = ctctl_listen(a, (uint32_t)m.groups, monitor_cb, &m,
			 "monitor: events were lost (ENOBUFS), the listener was too slow; continuing");
	if (r < 0)
		return CTCTL_FAIL;
	if (!ctctl_opts.print.json)
		fprintf(stderr, "%u flow events have been shown.\n", m.shown);
	return r;
}

