/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_conntrack.c — ctctl's verbs on the conntrack table, and the verb
 * table (ctctl_cmds[]) that the parser, the completion and `help` share.
 *
 * Each verb parses its keywords (parse.c), builds one ctnetlink request with
 * the codec (proto/ctnl.h), sends it over the client library
 * (proto/ctnl_client.h) and prints the answer (proto/ctnl_print.c). The
 * requests are those conntrack 1.4.7 sends for the same job (see
 * shared/reference/ctnetlink-compat.md §4), so ctsim and the kernel see the
 * same thing from ctctl as from conntrack.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "ctctl/ctctl.h"
#include "proto/ctnl_client.h"
#include "proto/ctsim_wire.h"

/* Request buffer: a conntrack request is a few hundred bytes. */
#define REQ_SIZE	4096

/* The connection shared by the verbs (kept open across shell commands). */
static struct ctnl_client *conn;

/* Connect on first use. Prints the error and returns NULL on failure. */
static struct ctnl_client *get_conn(const struct ctctl_args *a)
{
	const char *path = ctctl_opts.socket;

	if (conn)
		return conn;
	conn = ctnl_client_open(path, 0);
	if (!conn) {
		int err = errno;

		if (!path)
			path = getenv(CTSIM_SOCKET_ENV);
		if (!path || !*path)
			path = CTSIM_DEFAULT_SOCKET;
		fprintf(stderr, "ctctl: %s%s%s: cannot connect to ctsim at %s: %s (%s)%s\n",
			a->where ? a->where : "", a->where ? ": " : "", a->argv[0],
			path, strerror(err), strerrorname_np(err) ? strerrorname_np(err) : "?",
			err == ENOENT || err == ECONNREFUSED ? "; is ctsim running?" : "");
	}
	return conn;
}

void ctctl_disconnect(void)
{
	ctnl_client_close(conn);
	conn = NULL;
}

/* Send @nlh and collect the answer; a broken connection is dropped so that
 * the next shell command reconnects. */
static int do_request(struct nlmsghdr *nlh, ctnl_client_cb cb, void *data)
{
	int r = ctnl_client_request(conn, nlh, cb, data);

	if (r == -ECONNRESET || r == -EPIPE)
		ctctl_disconnect();
	return r;
}

/* Start a conntrack-subsystem request in @buf. */
static struct nlmsghdr *start_req(void *buf, uint8_t msg, uint16_t flags,
				  uint8_t family, uint8_t version)
{
	return ctnl_msg_start(buf, REQ_SIZE, CTNL_MSG(NFNL_SUBSYS_CTNETLINK, msg),
			      (uint16_t)(NLM_F_REQUEST | flags), ctnl_client_seq(conn), 0,
			      family, version, 0);
}

/* Parse the keywords, also accepting `-o LIST` between them (list, get,
 * monitor). @extra: further bare words to stop at. */
static int parse_words(struct ctctl_args *a, uint32_t allowed,
		       const char *const *extra, struct ctctl_spec *s)
{
	const char *stops[8] = { "-o", "--output" };
	size_t n = 2;

	for (; extra && *extra && n < 7; extra++)
		stops[n++] = *extra;
	stops[n] = NULL;
	memset(s, 0, sizeof(*s));
	for (;;) {
		int r = ctctl_parse_spec(a, allowed, stops, s);
		int flags;

		if (r != CTCTL_OK || a->i >= a->argc)
			return r;
		if (strcmp(a->argv[a->i], "-o") && strcmp(a->argv[a->i], "--output"))
			return CTCTL_OK;	/* a verb's own word */
		if (a->i + 1 >= a->argc)
			return ctctl_usage_error(a, a->argc, "\"-o\" needs a list (extended,id,timestamp,ktimestamp)");
		flags = ctnl_print_parse_output(a->argv[a->i + 1]);
		if (flags < 0)
			return ctctl_usage_error(a, a->i + 1, "unknown output format \"%s\"", a->argv[a->i + 1]);
		ctctl_opts.print.out |= (unsigned)flags;
		a->i += 2;
	}
}

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
 * as conntrack 1.4.7 does) and hand every entry to list_cb. */
static int dump_table(struct ctctl_spec *s, struct list_state *st)
{
	static uint8_t buf[REQ_SIZE];
	struct ctnl_ct f = { 0 };
	struct nlmsghdr *nlh = start_req(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, s->family, 0);

	if (s->have & KWB(KW_MARK)) {
		f.present |= CTNL_HAS(CTA_MARK) | CTNL_HAS(CTA_MARK_MASK);
		f.mark = s->mark;
		f.mark_mask = s->mark_mask;
	}
	if ((s->have & KWB(KW_STATUS)) && s->status) {
		f.present |= CTNL_HAS(CTA_STATUS) | CTNL_HAS(CTA_STATUS_MASK);
		f.status = f.status_mask = s->status;
	}
	if (ctnl_ct_put(nlh, REQ_SIZE, &f, CTNL_LAYOUT_REQUEST) < 0)
		return -EMSGSIZE;
	return do_request(nlh, list_cb, st);
}

static int cmd_list(struct ctctl_args *a)
{
	struct ctctl_spec s;
	struct list_state st = { .spec = &s, .print = true };
	int r;

	if ((r = parse_words(a, KWS_TUPLE | KWB(KW_MARK) | KWB(KW_STATE) | KWB(KW_STATUS) | KWB(KW_ID),
			     NULL, &s)) != CTCTL_OK)
		return r;
	if (a->i < a->argc)
		return ctctl_usage_error(a, a->i, "unexpected word \"%s\"", a->argv[a->i]);
	if (!get_conn(a))
		return CTCTL_FAIL;
	ctnl_print_begin_list();
	r = dump_table(&s, &st);
	ctnl_print_end_list();
	fflush(stdout);
	if (r < 0)
		return ctctl_fail(a, -r);
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

static int cmd_get(struct ctctl_args *a)
{
	static uint8_t buf[REQ_SIZE];
	struct ctctl_spec s;
	struct ctnl_ct ct = { 0 };
	struct nlmsghdr *nlh;
	int r;

	if ((r = parse_words(a, KWS_TUPLE, NULL, &s)) != CTCTL_OK)
		return r;
	if (!selector_to_ct(a, &s, &ct))
		return CTCTL_USAGE;
	if (!get_conn(a))
		return CTCTL_FAIL;
	nlh = start_req(buf, IPCTNL_MSG_CT_GET, NLM_F_ACK, s.family, 0);
	if (ctnl_ct_put(nlh, REQ_SIZE, &ct, CTNL_LAYOUT_REQUEST) < 0)
		return ctctl_fail(a, EMSGSIZE);
	r = do_request(nlh, print_cb, NULL);
	fflush(stdout);
	return r < 0 ? ctctl_fail(a, -r) : CTCTL_OK;
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

static int cmd_add(struct ctctl_args *a)
{
	static uint8_t buf[REQ_SIZE];
	struct ctctl_spec s;
	struct ctnl_ct ct = { 0 };
	struct nlmsghdr *nlh;
	int r;

	if ((r = parse_words(a, KWS_TUPLE | KWB(KW_STATE) | KWB(KW_TIMEOUT) | KWB(KW_MARK) |
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
	if (!get_conn(a))
		return CTCTL_FAIL;
	nlh = start_req(buf, IPCTNL_MSG_CT_NEW, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, s.family, 0);
	if (ctnl_ct_put(nlh, REQ_SIZE, &ct, CTNL_LAYOUT_REQUEST) < 0)
		return ctctl_fail(a, EMSGSIZE);
	r = do_request(nlh, NULL, NULL);
	return r < 0 ? ctctl_fail(a, -r) : CTCTL_OK;
}

static int cmd_update(struct ctctl_args *a)
{
	static uint8_t buf[REQ_SIZE];
	struct ctctl_spec s;
	struct ctnl_ct ct = { 0 };
	struct nlmsghdr *nlh;
	int r;

	if ((r = parse_words(a, KWS_TUPLE | KWB(KW_STATE) | KWB(KW_TIMEOUT) | KWB(KW_MARK) |
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
	if (!get_conn(a))
		return CTCTL_FAIL;
	nlh = start_req(buf, IPCTNL_MSG_CT_NEW, NLM_F_ACK, s.family, 0);
	if (ctnl_ct_put(nlh, REQ_SIZE, &ct, CTNL_LAYOUT_REQUEST) < 0)
		return ctctl_fail(a, EMSGSIZE);
	r = do_request(nlh, NULL, NULL);
	return r < 0 ? ctctl_fail(a, -r) : CTCTL_OK;
}

/* ---- delete / flush ------------------------------------------------------- */

static int cmd_delete(struct ctctl_args *a)
{
	static uint8_t buf[REQ_SIZE];
	struct ctctl_spec s;
	struct ctnl_ct ct = { 0 };
	struct nlmsghdr *nlh;
	int r;

	if ((r = parse_words(a, KWS_TUPLE | KWB(KW_ID), NULL, &s)) != CTCTL_OK)
		return r;
	if (a->argc == 1)
		return ctctl_usage_error(a, 1, "which entry? give a selector or \"id N\" (\"flush\" empties the table)");
	if (s.have == KWB(KW_ID)) {
		/* By id alone: find the entry's tuple, then delete tuple + id. */
		struct list_state st = { .spec = &s };
		struct ctctl_spec all = { 0 };

		if (!get_conn(a))
			return CTCTL_FAIL;
		st.spec = &s;
		r = dump_table(&all, &st);
		if (r < 0)
			return ctctl_fail(a, -r);
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
	if (!get_conn(a))
		return CTCTL_FAIL;
	nlh = start_req(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, s.family, 0);
	if (ctnl_ct_put(nlh, REQ_SIZE, &ct, CTNL_LAYOUT_REQUEST) < 0)
		return ctctl_fail(a, EMSGSIZE);
	r = do_request(nlh, NULL, NULL);
	return r < 0 ? ctctl_fail(a, -r) : CTCTL_OK;
}

static int cmd_flush(struct ctctl_args *a)
{
	static uint8_t buf[REQ_SIZE];
	struct ctctl_spec s;
	struct ctnl_ct f = { 0 };
	struct nlmsghdr *nlh;
	int r;

	if ((r = parse_words(a, KWB(KW_FAMILY) | KWB(KW_MARK), NULL, &s)) != CTCTL_OK)
		return r;
	if (!get_conn(a))
		return CTCTL_FAIL;
	/* nfgen version 0 flushes every family; version 1 honours the family. */
	nlh = start_req(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, s.family, s.family ? 1 : 0);
	if (s.have & KWB(KW_MARK)) {
		f.present |= CTNL_HAS(CTA_MARK) | CTNL_HAS(CTA_MARK_MASK);
		f.mark = s.mark;
		f.mark_mask = s.mark_mask;
	}
	if (ctnl_ct_put(nlh, REQ_SIZE, &f, CTNL_LAYOUT_REQUEST) < 0)
		return ctctl_fail(a, EMSGSIZE);
	r = do_request(nlh, NULL, NULL);
	return r < 0 ? ctctl_fail(a, -r) : CTCTL_OK;
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

static int cmd_count(struct ctctl_args *a)
{
	static uint8_t buf[REQ_SIZE];
	struct ctnl_stats_global g = { 0 };
	struct nlmsghdr *nlh;
	int r;

	if (a->argc > 1)
		return ctctl_usage_error(a, 1, "\"count\" takes no arguments");
	if (!get_conn(a))
		return CTCTL_FAIL;
	nlh = start_req(buf, IPCTNL_MSG_CT_GET_STATS, 0, AF_UNSPEC, 0);
	r = do_request(nlh, count_cb, &g);
	if (r < 0)
		return ctctl_fail(a, -r);
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

static int cmd_stats(struct ctctl_args *a)
{
	static uint8_t buf[REQ_SIZE];
	struct nlmsghdr *nlh;
	int r;

	if (a->argc > 1)
		return ctctl_usage_error(a, 1, "\"stats\" takes no arguments");
	if (!get_conn(a))
		return CTCTL_FAIL;
	nlh = start_req(buf, IPCTNL_MSG_CT_GET_STATS_CPU, NLM_F_DUMP, AF_UNSPEC, 0);
	ctnl_print_begin_list();
	r = do_request(nlh, stats_cb, NULL);
	ctnl_print_end_list();
	fflush(stdout);
	return r < 0 ? ctctl_fail(a, -r) : CTCTL_OK;
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

static void on_interrupt(int sig)
{
	(void)sig;
	ctctl_interrupted = 1;
}

static const char *const monitor_words[] = { "new", "update", "destroy", "all", NULL };

static int cmd_monitor(struct ctctl_args *a)
{
	struct ctctl_spec s;
	struct monitor_state m = { .spec = &s, .groups = 0 };
	struct sigaction sa = { .sa_handler = on_interrupt }, old_int, old_term;
	struct ctnl_client *ev;
	int r;

	/* Event kinds come first: `monitor new,destroy` or `monitor new destroy`. */
	while (a->i < a->argc && (r = ctctl_parse_events(a->argv[a->i])) > 0) {
		m.groups |= r;
		a->i++;
	}
	if ((r = parse_words(a, KWS_TUPLE | KWB(KW_MARK) | KWB(KW_STATE) | KWB(KW_STATUS),
			     NULL, &s)) != CTCTL_OK)
		return r;
	if (!m.groups)
		m.groups = 7;

	ev = ctnl_client_open(ctctl_opts.socket, (uint32_t)m.groups);
	if (!ev) {
		if (!get_conn(a))	/* prints the connection error */
			return CTCTL_FAIL;
		return ctctl_fail(a, errno);
	}

	ctctl_interrupted = 0;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: poll() must return */
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	r = CTCTL_OK;
	while (!ctctl_interrupted) {
		int n = ctnl_client_recv_events(ev, -1, monitor_cb, &m);

		if (n == -EINTR)
			continue;
		if (n == -ENOBUFS) {
			fprintf(stderr, "ctctl: monitor: events were lost (ENOBUFS), "
				"the listener was too slow; continuing\n");
			continue;
		}
		if (n == -ECONNRESET)
			break;	/* ctsim went away: end of the stream */
		if (n < 0) {
			r = ctctl_fail(a, -n);
			break;
		}
	}

	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	ctctl_interrupted = 0;
	ctnl_client_close(ev);
	fflush(stdout);
	if (!ctctl_opts.print.json)
		fprintf(stderr, "%u flow events have been shown.\n", m.shown);
	return r;
}

/* ---- expect ---------------------------------------------------------------- */

/* ctctl's requests on the expectation table (conntrack ... expect). */

static struct nlmsghdr *start_exp_req(void *buf, uint8_t msg, uint16_t flags, uint8_t family)
{
	return ctnl_msg_start(buf, REQ_SIZE, CTNL_MSG(NFNL_SUBSYS_CTNETLINK_EXP, msg),
			      (uint16_t)(NLM_F_REQUEST | flags), ctnl_client_seq(conn), 0,
			      family, 0, 0);
}

static bool is_exp_msg(const struct nlmsghdr *nlh)
{
	return CTNL_SUBSYS(nlh->nlmsg_type) == NFNL_SUBSYS_CTNETLINK_EXP &&
	       (CTNL_MSGTYPE(nlh->nlmsg_type) == IPCTNL_MSG_EXP_NEW ||
		CTNL_MSGTYPE(nlh->nlmsg_type) == IPCTNL_MSG_EXP_DELETE);
}

struct exp_state {
	uint8_t family;		/* 0: both */
	unsigned shown;
	int groups;		/* monitor */
};

static int exp_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct exp_state *st = data;
	struct ctnl_exp e;

	if (!is_exp_msg(nlh) || ctnl_exp_parse(nlh, &e, NULL) < 0)
		return 0;
	if (st->family && e.tuple.t.l3num && e.tuple.t.l3num != st->family)
		return 0;
	st->shown++;
	ctnl_print_exp(&e, CTNL_EV_NONE);
	return 0;
}

/* `expect list [family F] [-o extended]`: both families unless told
 * (conntrack -L expect asks AF_INET only). */
static int exp_list(struct ctctl_args *a)
{
	static uint8_t buf[REQ_SIZE];
	struct ctctl_spec s;
	struct exp_state st = { 0 };
	struct nlmsghdr *nlh;
	int r;

	if ((r = parse_words(a, KWB(KW_FAMILY), NULL, &s)) != CTCTL_OK)
		return r;
	if (a->i < a->argc)
		return ctctl_usage_error(a, a->i, "unexpected word \"%s\"", a->argv[a->i]);
	if (!get_conn(a))
		return CTCTL_FAIL;
	st.family = s.family;
	nlh = start_exp_req(buf, IPCTNL_MSG_EXP_GET, NLM_F_DUMP, s.family);
	ctnl_print_begin_list();
	r = do_request(nlh, exp_list_cb, &st);
	ctnl_print_end_list();
	fflush(stdout);
	if (r < 0)
		return ctctl_fail(a, -r);
	if (!ctctl_opts.print.json)
		fprintf(stderr, "%u expectations have been shown.\n", st.shown);
	return CTCTL_OK;
}

/* The port attributes a tuple of @l4num carries (ICMP is refused above). */
static uint32_t l4_fields(uint8_t l4num)
{
	switch (l4num) {
	case IPPROTO_TCP: case IPPROTO_UDP: case IPPROTO_UDPLITE:
	case IPPROTO_SCTP: case IPPROTO_DCCP: case IPPROTO_GRE:
		return CT_TF_SPORT | CT_TF_DPORT;
	default:
		return 0;
	}
}

static void exp_tuple_fields(struct ctnl_tuple *t)
{
	t->present = CT_TF_IP_SRC | CT_TF_IP_DST | CT_TF_PROTO_NUM | l4_fields(t->t.l4num);
}

#define EXP_KWS	(KWB(KW_PROTO) | KWB(KW_SRC) | KWB(KW_DST) | KWB(KW_SPORT) | KWB(KW_DPORT) | \
		 KWB(KW_TIMEOUT))

/*
 * `expect add master SELECTOR expect [PROTO] [src A] [dst B] [sport S] dport N
 *  [mask [src A] [dst B] [sport S]] [timeout S]`
 * The expected tuple defaults to the master's reply direction (source: the
 * master's destination, destination: its source, as an FTP PORT makes the
 * server connect back), protocol the master's; the mask to exact addresses
 * and any source port (exact if "sport" is given).
 */
static int exp_add(struct ctctl_args *a)
{
	static const char *const to_expect[] = { "expect", NULL };
	static const char *const to_mask[] = { "mask", "timeout", NULL };
	static const char *const to_end[] = { "timeout", NULL };
	static uint8_t buf[REQ_SIZE];
	struct ctctl_spec ms, es, ks, ts;
	struct ctnl_exp e = { 0 };
	struct nlmsghdr *nlh;
	size_t alen;
	int r;

	if (a->i >= a->argc || strcmp(a->argv[a->i], "master"))
		return ctctl_usage_error(a, a->i, "\"expect add\" starts with \"master SELECTOR\"");
	a->i++;
	memset(&ms, 0, sizeof(ms));
	if ((r = ctctl_parse_spec(a, KWS_TUPLE & ~(KWB(KW_RSRC) | KWB(KW_RDST) | KWB(KW_RSPORT) |
						      KWB(KW_RDPORT) | KWB(KW_FAMILY)),
				  to_expect, &ms)) != CTCTL_OK)
		return r;
	if (!ctctl_spec_tuple(a, &ms, false, &e.master))
		return CTCTL_USAGE;
	if (a->i >= a->argc)
		return ctctl_usage_error(a, a->i, "\"expect PROTO dport PORT\" is needed after the master");
	a->i++;
	memset(&es, 0, sizeof(es));
	if ((r = ctctl_parse_spec(a, EXP_KWS & ~KWB(KW_TIMEOUT), to_mask, &es)) != CTCTL_OK)
		return r;
	memset(&ks, 0, sizeof(ks));
	if (a->i < a->argc && !strcmp(a->argv[a->i], "mask")) {
		a->i++;
		if ((r = ctctl_parse_spec(a, KWB(KW_SRC) | KWB(KW_DST) | KWB(KW_SPORT), to_end, &ks)) != CTCTL_OK)
			return r;
	}
	memset(&ts, 0, sizeof(ts));
	if ((r = ctctl_parse_spec(a, KWB(KW_TIMEOUT), NULL, &ts)) != CTCTL_OK)
		return r;

	if (es.family && es.family != ms.family)
		return ctctl_usage_error(a, es.at[es.have & KWB(KW_SRC) ? KW_SRC : KW_DST],
					 "the expectation's family differs from the master's");
	if (ks.family && ks.family != ms.family)
		return ctctl_usage_error(a, ks.at[ks.have & KWB(KW_SRC) ? KW_SRC : KW_DST],
					 "the mask's family differs from the master's");
	if (ms.l4num == IPPROTO_ICMP || ms.l4num == IPPROTO_ICMPV6)
		return ctctl_usage_error(a, ms.at[KW_PROTO], "the master must be a TCP/UDP-like connection");
	e.tuple.t.l3num = ms.family;
	e.tuple.t.l4num = (es.have & KWB(KW_PROTO)) ? es.l4num : ms.l4num;
	if (e.tuple.t.l4num == IPPROTO_ICMP || e.tuple.t.l4num == IPPROTO_ICMPV6)
		return ctctl_usage_error(a, es.at[KW_PROTO], "ICMP expectations are not supported");
	e.tuple.t.src = (es.have & KWB(KW_SRC)) ? es.src : ms.dst;
	e.tuple.t.dst = (es.have & KWB(KW_DST)) ? es.dst : ms.src;
	if (!(es.have & KWB(KW_DPORT)) && l4_fields(e.tuple.t.l4num))
		return ctctl_usage_error(a, a->argc, "\"dport\" of the expected connection is needed");
	e.tuple.t.sport = es.sport;
	e.tuple.t.dport = es.dport;
	exp_tuple_fields(&e.tuple);

	alen = ms.family == AF_INET6 ? 16 : 4;
	e.mask.t.l3num = ms.family;
	e.mask.t.l4num = e.tuple.t.l4num;
	if (ks.have & KWB(KW_SRC))
		e.mask.t.src = ks.src;
	else
		memset(&e.mask.t.src, 0xff, alen);
	if (ks.have & KWB(KW_DST))
		e.mask.t.dst = ks.dst;
	else
		memset(&e.mask.t.dst, 0xff, alen);
	e.mask.t.sport = (ks.have & KWB(KW_SPORT)) ? ks.sport :
			 (es.have & KWB(KW_SPORT)) ? 0xffff : 0;
	e.mask.t.dport = 0xffff;
	exp_tuple_fields(&e.mask);

	e.present = CTNL_HAS(CTA_EXPECT_TUPLE) | CTNL_HAS(CTA_EXPECT_MASK) |
		    CTNL_HAS(CTA_EXPECT_MASTER) | CTNL_HAS(CTA_EXPECT_TIMEOUT);
	e.timeout = (ts.have & KWB(KW_TIMEOUT)) ? ts.timeout : 300;
	if (ms.have & KWB(KW_ZONE)) {
		e.present |= CTNL_HAS(CTA_EXPECT_ZONE);
		e.zone = ms.zone;
	}
	if (!get_conn(a))
		return CTCTL_FAIL;
	nlh = start_exp_req(buf, IPCTNL_MSG_EXP_NEW, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, ms.family);
	if (ctnl_exp_put(nlh, REQ_SIZE, &e) < 0)
		return ctctl_fail(a, EMSGSIZE);
	r = do_request(nlh, NULL, NULL);
	return r < 0 ? ctctl_fail(a, -r) : CTCTL_OK;
}

/* `expect delete PROTO src A dst B [sport S] dport N [zone Z]`: the
 * expected tuple, as `expect list` shows it (sport defaults to 0). */
static int exp_delete(struct ctctl_args *a)
{
	static uint8_t buf[REQ_SIZE];
	struct ctctl_spec s;
	struct ctnl_exp e = { 0 };
	struct nlmsghdr *nlh;
	int r;

	memset(&s, 0, sizeof(s));
	if ((r = ctctl_parse_spec(a, KWB(KW_PROTO) | KWB(KW_SRC) | KWB(KW_DST) | KWB(KW_SPORT) |
				  KWB(KW_DPORT) | KWB(KW_ZONE), NULL, &s)) != CTCTL_OK)
		return r;
	if (!(s.have & KWB(KW_SPORT))) {
		s.have |= KWB(KW_SPORT);
		s.sport = 0;
	}
	if (s.l4num == IPPROTO_ICMP || s.l4num == IPPROTO_ICMPV6)
		return ctctl_usage_error(a, s.at[KW_PROTO], "ICMP expectations are not supported");
	if (!ctctl_spec_tuple(a, &s, false, &e.tuple))
		return CTCTL_USAGE;
	e.present = CTNL_HAS(CTA_EXPECT_TUPLE);
	if (s.have & KWB(KW_ZONE)) {
		e.present |= CTNL_HAS(CTA_EXPECT_ZONE);
		e.zone = s.zone;
	}
	if (!get_conn(a))
		return CTCTL_FAIL;
	nlh = start_exp_req(buf, IPCTNL_MSG_EXP_DELETE, NLM_F_ACK, s.family);
	if (ctnl_exp_put(nlh, REQ_SIZE, &e) < 0)
		return ctctl_fail(a, EMSGSIZE);
	r = do_request(nlh, NULL, NULL);
	return r < 0 ? ctctl_fail(a, -r) : CTCTL_OK;
}

/* `expect flush`: EXP_DELETE without attributes (every family). */
static int exp_flush(struct ctctl_args *a)
{
	static uint8_t buf[REQ_SIZE];
	struct ctnl_exp e = { 0 };
	struct nlmsghdr *nlh;
	int r;

	if (a->i < a->argc)
		return ctctl_usage_error(a, a->i, "\"expect flush\" takes no arguments");
	if (!get_conn(a))
		return CTCTL_FAIL;
	nlh = start_exp_req(buf, IPCTNL_MSG_EXP_DELETE, NLM_F_ACK, AF_INET);
	if (ctnl_exp_put(nlh, REQ_SIZE, &e) < 0)
		return ctctl_fail(a, EMSGSIZE);
	r = do_request(nlh, NULL, NULL);
	return r < 0 ? ctctl_fail(a, -r) : CTCTL_OK;
}

#define EXP_GRP(g)	(1 << ((g) - 1))

static int exp_monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	struct exp_state *m = data;
	struct ctnl_exp e;
	enum ctnl_event ev;
	int group;

	if (!is_exp_msg(nlh) || ctnl_exp_parse(nlh, &e, NULL) < 0)
		return 0;
	if (CTNL_MSGTYPE(nlh->nlmsg_type) == IPCTNL_MSG_EXP_DELETE)
		ev = CTNL_EV_DESTROY, group = NFNLGRP_CONNTRACK_EXP_DESTROY;
	else
		ev = CTNL_EV_NEW, group = NFNLGRP_CONNTRACK_EXP_NEW;
	if (!(m->groups & EXP_GRP(group)))
		return 0;
	if (m->family && e.tuple.t.l3num && e.tuple.t.l3num != m->family)
		return 0;
	m->shown++;
	ctnl_print_exp(&e, ev);
	fflush(stdout);
	return 0;
}

/* `expect monitor [new|destroy[,...]] [family F]`: as conntrack -E expect. */
static int exp_monitor(struct ctctl_args *a)
{
	struct ctctl_spec s;
	struct exp_state m = { 0 };
	struct sigaction sa = { .sa_handler = on_interrupt }, old_int, old_term;
	struct ctnl_client *ev;
	int r;

	while (a->i < a->argc) {
		char w[64], *tok, *save = NULL;
		int g = 0;

		if (strlen(a->argv[a->i]) >= sizeof(w))
			break;
		strcpy(w, a->argv[a->i]);
		for (tok = strtok_r(w, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (!strcmp(tok, "new"))
				g |= EXP_GRP(NFNLGRP_CONNTRACK_EXP_NEW);
			else if (!strcmp(tok, "destroy"))
				g |= EXP_GRP(NFNLGRP_CONNTRACK_EXP_DESTROY);
			else if (!strcmp(tok, "all"))
				g |= EXP_GRP(NFNLGRP_CONNTRACK_EXP_NEW) | EXP_GRP(NFNLGRP_CONNTRACK_EXP_DESTROY);
			else {
				g = 0;
				break;
			}
		}
		if (!g)
			break;
		m.groups |= g;
		a->i++;
	}
	if ((r = parse_words(a, KWB(KW_FAMILY), NULL, &s)) != CTCTL_OK)
		return r;
	if (a->i < a->argc)
		return ctctl_usage_error(a, a->i, "unexpected word \"%s\" (events: new, destroy)",
					 a->argv[a->i]);
	if (!m.groups)
		m.groups = EXP_GRP(NFNLGRP_CONNTRACK_EXP_NEW) | EXP_GRP(NFNLGRP_CONNTRACK_EXP_DESTROY);
	m.family = s.family;

	ev = ctnl_client_open(ctctl_opts.socket, (uint32_t)m.groups);
	if (!ev) {
		if (!get_conn(a))
			return CTCTL_FAIL;
		return ctctl_fail(a, errno);
	}
	ctctl_interrupted = 0;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	r = CTCTL_OK;
	while (!ctctl_interrupted) {
		int n = ctnl_client_recv_events(ev, -1, exp_monitor_cb, &m);

		if (n == -EINTR)
			continue;
		if (n == -ENOBUFS) {
			fprintf(stderr, "ctctl: expect: events were lost (ENOBUFS); continuing\n");
			continue;
		}
		if (n == -ECONNRESET)
			break;
		if (n < 0) {
			r = ctctl_fail(a, -n);
			break;
		}
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	ctctl_interrupted = 0;
	ctnl_client_close(ev);
	fflush(stdout);
	if (!ctctl_opts.print.json)
		fprintf(stderr, "%u expectation events have been shown.\n", m.shown);
	return r;
}

static const char *const expect_words[] = {
	"list", "add", "delete", "flush", "monitor", "master", "expect", "mask", "new", "destroy", NULL
};

static int cmd_expect(struct ctctl_args *a)
{
	static const struct { const char *name; int (*fn)(struct ctctl_args *); } subs[] = {
		{ "list", exp_list }, { "ls", exp_list }, { "show", exp_list },
		{ "add", exp_add }, { "delete", exp_delete }, { "del", exp_delete },
		{ "flush", exp_flush }, { "monitor", exp_monitor },
	};

	if (a->argc < 2)
		return ctctl_usage_error(a, 1, "which? list, add, delete, flush or monitor");
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(a->argv[1], subs[i].name)) {
			a->i = 2;
			return subs[i].fn(a);
		}
	return ctctl_usage_error(a, 1, "unknown \"expect %s\": list, add, delete, flush or monitor",
				 a->argv[1]);
}

/* ---- the verb table -------------------------------------------------------- */

#define SELECTOR "PROTO src ADDR dst ADDR [sport PORT dport PORT | type N code N id N] [zone N]"

/* "30", "30s", "1.5s", "2m", "1h", "1d", "250ms" -> nanoseconds; -1 if bad. */
static long long parse_duration(const char *s)
{
	static const struct { const char *unit; double ns; } units[] = {
		{ "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 }, { "d", 86400e9 },
		{ "", 1e9 },
	};
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0 || v > 1e9)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0)
			return (long long)(v * units[i].ns);
	return -1;
}

/* `advance DURATION`: ctsim's time warp (not a kernel feature). */
static int cmd_advance(struct ctctl_args *a)
{
	long long ns;
	int r;

	if (a->argc != 2)
		return ctctl_usage_error(a, a->argc > 2 ? 2 : 1,
					 "\"advance\" takes one DURATION (e.g. 30s, 2m, 1h)");
	ns = parse_duration(a->argv[1]);
	if (ns < 0)
		return ctctl_usage_error(a, 1, "\"%s\" is not a duration (e.g. 30s, 2m, 1h, 500ms)",
					 a->argv[1]);
	if (!get_conn(a))
		return CTCTL_FAIL;
	r = ctnl_client_control(conn, CTSIM_CTL_ADVANCE, (uint32_t)(ns / 1000000000LL),
				(uint32_t)(ns % 1000000000LL));
	return r < 0 ? ctctl_fail(a, -r) : CTCTL_OK;
}

/* `reload`: the daemon's ruleset file again (as SIGHUP). */
static int cmd_reload(struct ctctl_args *a)
{
	int r;

	if (a->argc > 1)
		return ctctl_usage_error(a, 1, "\"reload\" takes no arguments");
	if (!get_conn(a))
		return CTCTL_FAIL;
	r = ctnl_client_control(conn, CTSIM_CTL_RELOAD, 0, 0);
	return r < 0 ? ctctl_fail(a, -r) : CTCTL_OK;
}

/* `ruleset [ list | reset ]`: the daemon's live ruleset with its counters,
 * as `nft list ruleset` (-j: `nft -j list ruleset`); reset lists, then
 * zeroes the counters in the same step, as `nft reset rules` does. */
static const char *const ruleset_words[] = { "list", "reset", NULL };

static int cmd_ruleset(struct ctctl_args *a)
{
	uint16_t flags = ctctl_opts.print.json ? CTSIM_RULESET_JSON : 0;
	const void *text;
	const char *why = NULL;
	int r;

	if (a->argc > 2)
		return ctctl_usage_error(a, 2, "\"ruleset\" takes one word: list or reset");
	if (a->argc == 2 && !strcmp(a->argv[1], "reset"))
		flags |= CTSIM_RULESET_RESET;
	else if (a->argc == 2 && strcmp(a->argv[1], "list"))
		return ctctl_usage_error(a, 1, "unknown \"ruleset %s\": list or reset", a->argv[1]);
	if (!get_conn(a))
		return CTCTL_FAIL;
	r = ctnl_client_control_data(conn, CTSIM_CTL_RULESET, flags, 0, 0, &text);
	if (r == -ECONNRESET || r == -EPIPE)
		ctctl_disconnect();
	if (r >= 0) {
		fwrite(text, 1, (size_t)r, stdout);
		return fflush(stdout) == 0 ? CTCTL_OK : ctctl_fail(a, errno);
	}
	/* The errors this operation gets mean something more precise than
	 * ctctl_fail()'s ctnetlink wording. */
	switch (-r) {
	case EOPNOTSUPP:
		why = "this ctsim has no ruleset (it was started without --lab)";
		break;
	case EMSGSIZE:
		why = "the listing is larger than one reply datagram (64 KiB)";
		break;
	case EINVAL:
		why = "the daemon does not know this request (older ctsim?)";
		break;
	}
	if (!why)
		return ctctl_fail(a, -r);
	fprintf(stderr, "ctctl: %s%s%s: %s (%s)\n", a->where ? a->where : "", a->where ? ": " : "",
		a->argv[0], why, strerrorname_np(-r));
	return CTCTL_FAIL;
}

const struct ctctl_cmd ctctl_cmds[] = {
	{ "list", { "ls", "show", NULL }, cmd_list,
	  KWS_TUPLE | KWB(KW_MARK) | KWB(KW_STATE) | KWB(KW_STATUS) | KWB(KW_ID), NULL,
	  "[ FILTER ] [ -o extended,id,ktimestamp ]\n"
	  "FILTER := [ PROTO ] [ src ADDR ] [ dst ADDR ] [ sport PORT ] [ dport PORT ]\n"
	  "          [ reply-src ADDR ] [ reply-dst ADDR ] [ mark N[/M] ] [ zone N ]\n"
	  "          [ state STATE ] [ family { ipv4 | ipv6 } ] [ status BITS ] [ id N ]",
	  "list conntrack entries (like conntrack -L)", false },
	{ "get", { NULL }, cmd_get, KWS_TUPLE, NULL,
	  SELECTOR,
	  "show one entry (like conntrack -G)", false },
	{ "add", { NULL }, cmd_add,
	  KWS_TUPLE | KWB(KW_STATE) | KWB(KW_TIMEOUT) | KWB(KW_MARK) | KWB(KW_STATUS), NULL,
	  SELECTOR " timeout SECS\n"
	  "      [ state STATE ] [ mark N ] [ status BITS ]\n"
	  "      [ reply-src ADDR ] [ reply-dst ADDR ] [ reply-sport PORT ] [ reply-dport PORT ]\n"
	  "PROTO := { tcp | udp | udplite | sctp | dccp | gre | icmp | icmpv6 | proto N }",
	  "create an entry (like conntrack -I)", false },
	{ "update", { NULL }, cmd_update,
	  KWS_TUPLE | KWB(KW_STATE) | KWB(KW_TIMEOUT) | KWB(KW_MARK) | KWB(KW_STATUS), NULL,
	  SELECTOR " [ mark N[/M] ] [ timeout SECS ] [ status BITS ] [ state STATE ]",
	  "change an entry (like conntrack -U)", false },
	{ "delete", { "del", NULL }, cmd_delete, KWS_TUPLE | KWB(KW_ID), NULL,
	  "{ " SELECTOR " | id N }",
	  "delete one entry (like conntrack -D)", false },
	{ "flush", { NULL }, cmd_flush, KWB(KW_FAMILY) | KWB(KW_MARK), NULL,
	  "[ family { ipv4 | ipv6 } ] [ mark N[/M] ]",
	  "delete all entries (like conntrack -F)", false },
	{ "count", { NULL }, cmd_count, 0, NULL, "",
	  "print the number of entries (like conntrack -C)", false },
	{ "stats", { NULL }, cmd_stats, 0, NULL, "",
	  "print the per-CPU statistics (like conntrack -S)", false },
	{ "monitor", { NULL }, cmd_monitor,
	  KWS_TUPLE | KWB(KW_MARK) | KWB(KW_STATE) | KWB(KW_STATUS), monitor_words,
	  "[ EVENTS ] [ FILTER ] [ -o extended,id,timestamp ]\n"
	  "EVENTS := { new | update | destroy }[,...]   (default: all)",
	  "print events until Ctrl-C (like conntrack -E)", false },
	{ "expect", { NULL }, cmd_expect,
	  KWB(KW_PROTO) | KWB(KW_SRC) | KWB(KW_DST) | KWB(KW_SPORT) | KWB(KW_DPORT) |
	  KWB(KW_TIMEOUT) | KWB(KW_ZONE) | KWB(KW_FAMILY), expect_words,
	  "{ list [ family F ] | flush\n"
	  "         | add master SELECTOR expect [ PROTO ] [ src ADDR ] [ dst ADDR ] [ sport PORT ] dport PORT\n"
	  "               [ mask [ src ADDR ] [ dst ADDR ] [ sport PORT ] ] [ timeout SECS ]\n"
	  "         | delete PROTO src ADDR dst ADDR [ sport PORT ] dport PORT [ zone N ]\n"
	  "         | monitor [ { new | destroy }[,...] ] [ family F ] }\n"
	  "expected tuple default: the master's reply direction (src = master dst, dst = master src),\n"
	  "any source port; mask default: exact addresses and dport",
	  "the expectation table (like conntrack -L/-I/-D/-F/-E expect)", false },
	{ "advance", { "warp", NULL }, cmd_advance, 0, NULL, "DURATION   (e.g. 30s, 2m, 1h, 500ms)",
	  "move ctsim's clock forward: watch timeouts expire now (ctsim only)", false },
	{ "reload", { NULL }, cmd_reload, 0, NULL, "",
	  "reload the daemon's ruleset file, as SIGHUP (ctsim only)", false },
	{ "ruleset", { NULL }, cmd_ruleset, 0, ruleset_words,
	  "[ list | reset ]\n"
	  "list:  the live ruleset with its counters (the default; -j: as nft -j list ruleset)\n"
	  "reset: the same listing, then every counter zeroed at once (as nft reset rules)",
	  "show the daemon's ruleset and rule counters, as nft list ruleset (ctsim only)", false },
	{ "help", { NULL }, ctctl_cmd_help, 0, NULL, "[ VERB ]",
	  "show the verbs, or one verb's syntax", false },
	{ "quit", { "exit", NULL }, ctctl_cmd_quit, 0, NULL, "",
	  "leave the shell", true },
	{ NULL, { NULL }, NULL, 0, NULL, NULL, NULL, false },
};

const struct ctctl_cmd *ctctl_cmd_find(const char *name)
{
	for (const struct ctctl_cmd *c = ctctl_cmds; c->name; c++) {
		if (!strcmp(c->name, name))
			return c;
		for (int i = 0; c->alias[i]; i++)
			if (!strcmp(c->alias[i], name))
				return c;
	}
	return NULL;
}
