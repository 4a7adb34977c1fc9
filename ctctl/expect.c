/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * expect.c — ctctl's verbs on the expectation table (conntrack ... expect):
 * `expect list | add | delete | flush | monitor`, one request each through
 * ctctl_request() (request.c), as conntrack 1.4.7 sends them.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctctl/ctctl.h"

#define EXP_MSG(m)	CTNL_MSG(NFNL_SUBSYS_CTNETLINK_EXP, m)

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
	struct ctctl_spec s;
	struct exp_state st = { 0 };
	struct ctctl_req req = { EXP_MSG(IPCTNL_MSG_EXP_GET), NLM_F_DUMP, 0, 0,
				 .cb = exp_list_cb, .data = &st };
	int r;

	if ((r = ctctl_parse_words(a, KWB(KW_FAMILY), NULL, &s)) != CTCTL_OK)
		return r;
	if (a->i < a->argc)
		return ctctl_usage_error(a, a->i, "unexpected word \"%s\"", a->argv[a->i]);
	if (!ctctl_conn(a))
		return CTCTL_FAIL;
	st.family = req.family = s.family;
	ctnl_print_begin_list();
	r = ctctl_request(a, &req);
	ctnl_print_end_list();
	fflush(stdout);
	if (r < 0)
		return CTCTL_FAIL;
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
	struct ctctl_spec ms, es, ks, ts;
	struct ctnl_exp e = { 0 };
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
	return ctctl_request(a, &(struct ctctl_req){ EXP_MSG(IPCTNL_MSG_EXP_NEW), NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
						     ms.family, 0, .exp = &e }) < 0 ? CTCTL_FAIL : CTCTL_OK;
}

/* `expect delete PROTO src A dst B [sport S] dport N [zone Z]`: the
 * expected tuple, as `expect list` shows it (sport defaults to 0). */
static int exp_delete(struct ctctl_args *a)
{
	struct ctctl_spec s;
	struct ctnl_exp e = { 0 };
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
	return ctctl_request(a, &(struct ctctl_req){ EXP_MSG(IPCTNL_MSG_EXP_DELETE), NLM_F_ACK,
						     s.family, 0, .exp = &e }) < 0 ? CTCTL_FAIL : CTCTL_OK;
}

/* `expect flush`: EXP_DELETE without attributes (every family). */
static int exp_flush(struct ctctl_args *a)
{
	struct ctnl_exp e = { 0 };

	if (a->i < a->argc)
		return ctctl_usage_error(a, a->i, "\"expect flush\" takes no arguments");
	return ctctl_request(a, &(struct ctctl_req){ EXP_MSG(IPCTNL_MSG_EXP_DELETE), NLM_F_ACK,
						     AF_INET, 0, .exp = &e }) < 0 ? CTCTL_FAIL : CTCTL_OK;
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
	if ((r = ctctl_parse_words(a, KWB(KW_FAMILY), NULL, &s)) != CTCTL_OK)
		return r;
	if (a->i < a->argc)
		return ctctl_usage_error(a, a->i, "unexpected word \"%s\" (events: new, destroy)",
					 a->argv[a->i]);
	if (!m.groups)
		m.groups = EXP_GRP(NFNLGRP_CONNTRACK_EXP_NEW) | EXP_GRP(NFNLGRP_CONNTRACK_EXP_DESTROY);
	m.family = s.family;

	r = ctctl_listen(a, (uint32_t)m.groups, exp_monitor_cb, &m,
			 "expect: events were lost (ENOBUFS); continuing");
	if (r < 0)
		return CTCTL_FAIL;
	if (!ctctl_opts.print.json)
		fprintf(stderr, "%u expectation events have been shown.\n", m.shown);
	return r;
}

int ctctl_expect(struct ctctl_args *a)
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

