/* SPDX-License-Identifier: GPL-2.0-or-later */
/* router.c — the hook ladder (see router.h): a table of rows per hook, run
 * in priority order as nf_hook_slow() runs a hook's nf_hook_entries. */
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "ctsim/core/csum.h"
#include "ctsim/core/defrag.h"
#include "ctsim/hooks/router.h"
#include "ctsim/hooks/router_nat.h"
#include "ctsim/hooks/ruleset.h"

/* ---------------------------------------------------------------------- */
/* The ladder: one row per entry of a hook's nf_hook_entries               */

/* Kernel priorities (enum nf_ip_hook_priorities; IPv6 uses the same). */
#define PRI_RAW		(-300)	/* NF_IP_PRI_RAW */
#define PRI_CONNTRACK	(-200)	/* NF_IP_PRI_CONNTRACK */
#define PRI_MANGLE	(-150)	/* NF_IP_PRI_MANGLE */
#define PRI_NAT_DST	(-100)	/* NF_IP_PRI_NAT_DST */
#define PRI_FILTER	0	/* NF_IP_PRI_FILTER */
#define PRI_NAT_SRC	100	/* NF_IP_PRI_NAT_SRC */
#define PRI_CONFIRM	INT_MAX	/* NF_IP_PRI_CONNTRACK_CONFIRM */

/*
 * The rows, by hook, by priority. A ruleset chain at priority P runs in the
 * RULES/NAT row of its hook whose band holds P; the bands of a hook cover
 * [INT_MIN, INT_MAX] without overlap. Chains at exactly -200 run after
 * conntrack (ctsim's rule: nft would order equal priorities by
 * registration, and conntrack registers first at boot). NAT rows run
 * every chain of their band (filter chains there too, in priority order);
 * the evaluator runs type nat chains only for a new, unconfirmed entry
 * (nf_nat_inet_fn()).
 */
#define RAW_ROWS(hook, where)									\
	{ hook, PRI_RAW, "raw", ROUTER_STEP_RULES, INT_MIN, PRI_CONNTRACK - 1,			\
	  "chains before conntrack: notrack, ct zone set and ct helper set act on the "	\
	  "template the entry is created from (" where ")" },					\
	{ hook, PRI_CONNTRACK, "conntrack", ROUTER_STEP_CONNTRACK, 0, 0,			\
	  "conntrack finds or creates the entry; ct state is known from here on "		\
	  "(nf_conntrack_in)" },								\
	{ hook, PRI_MANGLE, "mangle", ROUTER_STEP_RULES, PRI_CONNTRACK, PRI_NAT_DST - 1,	\
	  "chains after conntrack and before NAT (mangle -150; chains at -200 run after "	\
	  "conntrack)" },									\
	{ hook, PRI_NAT_DST, "dstnat", ROUTER_STEP_NAT, PRI_NAT_DST, PRI_FILTER - 1,		\
	  "type nat chains: dnat and redirect of a connection's first packet, before "	\
	  "the routing decision sees the address (nf_nat_ipv4_pre_routing, "			\
	  "nf_nat_ipv4_local_fn)" },						\
	{ hook, PRI_FILTER, "filter", ROUTER_STEP_RULES, PRI_FILTER, INT_MAX,			\
	  "filter 0, security 50 and every later chain" }

#define TAIL_ROWS(hook, nat_why)								\
	{ hook, PRI_FILTER, "filter", ROUTER_STEP_RULES, INT_MIN, PRI_NAT_SRC - 1,		\
	  "every chain before source NAT (mangle, filter, security)" },			\
	{ hook, PRI_NAT_SRC, "srcnat", ROUTER_STEP_NAT, PRI_NAT_SRC, INT_MAX,			\
	  nat_why },										\
	{ hook, PRI_CONFIRM, "confirm", ROUTER_STEP_CONFIRM, 0, 0,				\
	  "a new entry enters the table, after every chain, even at INT_MAX: a drop "		\
	  "before it leaves no entry (__nf_conntrack_confirm)" }

static const struct router_row ladder[] = {
	RAW_ROWS(CT_HOOK_PREROUTING, "nf_conntrack_in at PREROUTING, after defragmentation at -400"),
	TAIL_ROWS(CT_HOOK_INPUT, "type nat input chains: snat of connections to ctsim itself "
				 "(nf_nat_ipv4_local_in)"),
	{ CT_HOOK_FORWARD, PRI_FILTER, "filter", ROUTER_STEP_RULES, INT_MIN, INT_MAX,
	  "forwarded packets: every chain; conntrack and NAT have no entry at this hook" },
	RAW_ROWS(CT_HOOK_OUTPUT, "nf_conntrack_local at OUTPUT, for packets ctsim sends"),
	TAIL_ROWS(CT_HOOK_POSTROUTING, "type nat postrouting chains: snat and masquerade, "
				       "after the output interface is known (nf_nat_ipv4_out)"),
};

const struct router_row *router_ladder(size_t *n)
{
	*n = sizeof(ladder) / sizeof(ladder[0]);
	return ladder;
}

static const char *step_name(enum router_step s)
{
	switch (s) {
	case ROUTER_STEP_RULES: return "chains";
	case ROUTER_STEP_NAT: return "chains, then NAT";
	case ROUTER_STEP_CONNTRACK: return "conntrack";
	case ROUTER_STEP_CONFIRM: return "confirm";
	}
	return "?";
}

void router_ladder_print(FILE *f)
{
	fprintf(f, "%-12s %-10s %8s  %-21s %-17s %s\n", "HOOK", "ROW", "PRIORITY", "RUNS",
		"CHAIN PRIORITIES", "WHY");
	for (size_t i = 0; i < sizeof(ladder) / sizeof(ladder[0]); i++) {
		const struct router_row *w = &ladder[i];
		char band[32] = "-", prio[16];

		if (w->step == ROUTER_STEP_RULES || w->step == ROUTER_STEP_NAT) {
			char lo[12], hi[12];

			if (w->prio_min == INT_MIN)
				snprintf(lo, sizeof(lo), "min");
			else
				snprintf(lo, sizeof(lo), "%d", w->prio_min);
			if (w->prio_max == INT_MAX)
				snprintf(hi, sizeof(hi), "max");
			else
				snprintf(hi, sizeof(hi), "%d", w->prio_max);
			snprintf(band, sizeof(band), "%s..%s", lo, hi);
		}
		if (w->prio == INT_MAX)
			snprintf(prio, sizeof(prio), "INT_MAX");
		else
			snprintf(prio, sizeof(prio), "%d", w->prio);
		fprintf(f, "%-12s %-10s %8s  %-21s %-17s %s\n", rs_hook_name(w->hook), w->name,
			prio, step_name(w->step), band, w->why);
	}
}

/* ---------------------------------------------------------------------- */
/* Setup                                                                   */

_Static_assert(sizeof(ladder) / sizeof(ladder[0]) <= 32, "rows_busy has one bit per row");

void router_init(struct router *r, struct ct_core *core, router_xmit_fn xmit, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->core = core;
	r->xmit = xmit;
	r->xmit_arg = arg;
	r->defrag = ct_defrag_new(4u << 20);
	r->answer_oif = -1;
	/* ladder[] lists each hook's rows together, in priority order */
	for (size_t i = sizeof(ladder) / sizeof(ladder[0]); i-- > 0;) {
		r->hook_first[ladder[i].hook] = (uint8_t)i;
		r->hook_rows[ladder[i].hook]++;
	}
}

/* Which rows of the ladder have a chain of @rs in their band. */
static uint32_t busy_rows(const struct ruleset *rs)
{
	uint32_t busy = 0;

	for (size_t i = 0; i < sizeof(ladder) / sizeof(ladder[0]); i++) {
		const struct router_row *row = &ladder[i];

		if (row->step != ROUTER_STEP_RULES && row->step != ROUTER_STEP_NAT)
			continue;
		for (size_t c = 0; c < rs->nhook[row->hook]; c++) {
			int prio = rs->hooks[row->hook][c]->prio;

			if (prio >= row->prio_min && prio <= row->prio_max) {
				busy |= 1u << i;
				break;
			}
		}
	}
	return busy;
}

/* A packet held before confirmation (router_release()). */
struct router_held {
	struct ct_skb skb;		/* its entry's reference included */
	int oif;
	uint8_t data[];			/* skb.pkt.data points here */
};

void router_fini(struct router *r)
{
	if (r->held) {
		ct_skb_done(r->core, &r->held->skb, true);
		free(r->held);
		r->held = NULL;
	}
	if (r->defrag)
		ct_defrag_free(r->defrag);
	r->defrag = NULL;
}

static void mask_prefix(union ct_addr *a, uint8_t plen, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++) {
		unsigned bits = plen > i * 8 ? plen - (unsigned)(i * 8) : 0;

		if (bits < 8)
			a->b[i] &= (uint8_t)(0xff00u >> bits);
	}
}

int router_add_if(struct router *r, const char *name, const union ct_addr *addr4, uint8_t plen4,
		  const union ct_addr *addr6, uint8_t plen6)
{
	struct router_if *i;

	if (r->nif == ROUTER_MAX_IFS)
		return -1;
	i = &r->ifs[r->nif];
	memset(i, 0, sizeof(*i));
	snprintf(i->name, sizeof(i->name), "%s", name);
	if (addr4) {
		i->addr4 = i->net4 = *addr4;
		i->plen4 = plen4;
		mask_prefix(&i->net4, plen4, 4);
		i->has4 = true;
	}
	if (addr6) {
		i->addr6 = i->net6 = *addr6;
		i->plen6 = plen6;
		mask_prefix(&i->net6, plen6, 16);
		i->has6 = true;
	}
	return (int)r->nif++;
}

/* ---------------------------------------------------------------------- */
/* Routing                                                                 */

static bool is_local(const struct router *r, const struct ct_pkt *p)
{
	for (unsigned n = 0; n < r->nif; n++) {
		const struct router_if *i = &r->ifs[n];

		if (p->family == AF_INET && i->has4 && i->addr4.ip == p->dst.ip)
			return true;
		if (p->family == AF_INET6 && i->has6 && !memcmp(i->addr6.ip6, p->dst.ip6, 16))
			return true;
	}
	return false;
}

/* fib_lookup(): the interface whose subnet holds the destination. */
static int route(const struct router *r, const struct ct_pkt *p)
{
	for (unsigned n = 0; n < r->nif; n++) {
		const struct router_if *i = &r->ifs[n];
		union ct_addr d = p->dst;

		if (p->family == AF_INET && i->has4) {
			mask_prefix(&d, i->plen4, 4);
			if (d.ip == i->net4.ip)
				return (int)n;
		} else if (p->family == AF_INET6 && i->has6) {
			mask_prefix(&d, i->plen6, 16);
			if (!memcmp(d.ip6, i->net6.ip6, 16))
				return (int)n;
		}
	}
	return -1;
}

/* ip_forward()/ip6_forward(): decrement the TTL (and fix the IPv4 header
 * checksum incrementally, RFC 1624). Returns false when it expires. */
static bool decrement_ttl(struct ct_pkt *p)
{
	if (p->family == AF_INET) {
		uint32_t sum;

		if (p->data[8] <= 1)
			return false;
		p->data[8]--;
		/* The TTL is the high byte of a 16-bit word: the sum rises by 0x0100. */
		sum = (uint32_t)((p->data[10] << 8) | p->data[11]) + 0x0100;
		sum = (sum & 0xffff) + (sum >> 16);
		p->data[10] = (uint8_t)(sum >> 8);
		p->data[11] = (uint8_t)sum;
	} else {
		if (p->data[7] <= 1)
			return false;
		p->data[7]--;
	}
	p->ttl--;
	return true;
}

/* ---------------------------------------------------------------------- */
/* The ladder                                                              */

static int local_out(struct router *r, uint8_t *data, size_t len, uint64_t tstamp,
		     const struct ct_skb *answers);
static void send_reject(struct router *r, const struct ct_skb *skb, const struct rs_result *res);

/* A packet's tracer (only when r->trace is set): conntrack's steps come
 * through .ct (skb->tracer), the ruleset's through trace_rule(); both are
 * passed on to r->trace with the packet's id and the row at work. */
struct trace_pkt {
	struct ct_tracer ct;		/* first: skb->tracer points here */
	struct router *r;
	const struct ct_skb *skb;
	const struct router_row *row;
	uint32_t id;
};

static bool traced(const struct router *r, const struct ct_skb *skb)
{
	return r->trace_all || skb->pkt.nftrace;
}

static void trace_ct_step(void *ctx, enum ct_trace_kind kind, const char *text)
{
	struct trace_pkt *tp = ctx;
	struct router_trace_step st = { .id = tp->id, .row = tp->row, .skb = tp->skb,
					.kind = kind, .text = text };

	if (traced(tp->r, tp->skb))
		tp->r->trace(tp->r->trace_ctx, &st);
}

static void trace_rule(void *ctx, const struct rs_trace_ev *ev)
{
	struct trace_pkt *tp = ctx;
	struct router_trace_step st = { .id = tp->id, .row = tp->row, .skb = tp->skb, .rule = ev };

	tp->r->trace(tp->r->trace_ctx, &st);
}

/* The row at work, for the steps to come (only rows that do something:
 * an empty row has no step to report). */
static __attribute__((cold, noinline)) void trace_hook(struct trace_pkt *tp,
							 const struct router_row *row)
{
	struct router_trace_step st = { .id = tp->id, .row = row, .skb = tp->skb, .hook = true };

	tp->row = row;
	if (traced(tp->r, tp->skb))
		tp->r->trace(tp->r->trace_ctx, &st);
}

static inline void trace_row(struct ct_skb *skb, const struct router_row *row)
{
	if (__builtin_expect(skb->tracer != NULL, 0))
		trace_hook((struct trace_pkt *)skb->tracer, row);
}

/* Start tracing @skb (parsed, on its way into the ladder). */
static __attribute__((cold, noinline)) void trace_begin(struct router *r, struct trace_pkt *tp,
							 struct ct_skb *skb)
{
	tp->ct.step = trace_ct_step;
	tp->ct.ctx = tp;
	tp->r = r;
	tp->skb = skb;
	tp->row = NULL;
	tp->id = ++r->trace_ids;
	skb->tracer = &tp->ct;
}

/* The packet's fate, once r->last is final. */
static __attribute__((cold, noinline)) void trace_end(struct router *r, struct trace_pkt *tp)
{
	struct router_trace_step st = { .id = tp->id, .skb = tp->skb, .end = true, .last = &r->last };

	if (traced(r, tp->skb))
		r->trace(r->trace_ctx, &st);
}

/* A RULES or NAT row that has chains of r->rs (run_hook() checks): the base
 * chains of its priority band (each one nft_do_chain()). NAT statements met
 * are handed to the caller in r->last. */
static int run_rules(struct router *r, const struct router_row *row, struct ct_skb *skb)
{
	struct rs_result res;
	int v;

	trace_row(skb, row);
	res.trace = skb->tracer ? trace_rule : NULL;
	res.trace_ctx = (void *)skb->tracer;	/* its struct trace_pkt */
	res.trace_all = r->trace_all;
	res.core = r->core;
	v = ruleset_run_hook(r->rs, row->hook, row->prio_min, row->prio_max, skb, &res);
	for (unsigned i = 0; i < res.nlogs; i++) {
		if (r->log)
			r->log(r->log_ctx, res.logs[i]);
		CT_TRACE(skb, CT_TR_LOG, "%s", res.logs[i]);
	}
	for (unsigned i = 0; i < res.nnat && r->last.nnat < ROUTER_MAX_NAT; i++) {
		struct router_nat *n = &r->last.nat[r->last.nnat++];

		n->row = row;
		n->chain = res.nat_chain[i];
		n->rule = res.nat_rule[i];
		n->nat = res.nat[i];
	}
	if (v == CT_DROP) {
		struct router_trace keep;

		r->stats.ruleset_drop++;
		r->last.why = res.rejected ? "rejected by the ruleset" : "dropped by the ruleset";
		r->last.hook = row->hook;
		if (res.rejected) {
			keep = r->last;
			send_reject(r, skb, &res);
			r->last = keep;
		}
	}
	return v;
}

/* nf_l4proto_log_invalid(): with nf_conntrack_log_invalid set to the
 * packet's protocol (or 255, IPPROTO_RAW: every protocol) the kernel logs
 * an INVALID packet through the netns' logger with the default log flags:
 * "nf_ct_proto_6: REASON IN=... SEQ=... ". */
static __attribute__((cold, noinline)) void log_invalid(struct router *r, const struct ct_skb *skb)
{
	uint32_t want = r->core->settings->log_invalid;
	char msg[160], prefix[200], line[RS_LOG_LEN];

	if (!want || (want != skb->pkt.l4proto && want != 255) ||
	    !ct_invalid_log_msg(skb, msg, sizeof(msg)))
		return;
	snprintf(prefix, sizeof(prefix), "nf_ct_proto_%u: %s ", skb->pkt.l4proto, msg);
	rs_log_format(line, sizeof(line), prefix, &skb->pkt, RS_LOG_DEFAULT);
	if (r->log)
		r->log(r->log_ctx, line);
	CT_TRACE(skb, CT_TR_LOG, "%s", line);
}

static int conntrack_in(struct router *r, enum ct_hook hook, struct ct_skb *skb)
{
	int v = ct_in(r->core, skb, hook);

	r->last.ct_state = ct_skb_state_name(skb);
	r->last.invalid_reason = skb->invalid_reason;
	if (v == CT_ACCEPT && !skb->ct && !skb->untracked && skb->invalid_reason &&
	    (r->log || skb->tracer))
		log_invalid(r, skb);
	if (v == CT_DROP) {
		/* nf_conntrack_in() returned NF_DROP: the packet ends here, no
		 * rule after conntrack sees a ct state (a kernel's probe chain
		 * at -150 counts nothing) */
		r->last.ct_state = NULL;
		r->stats.conntrack_drop++;
		r->last.why = skb->invalid_reason && !strcmp(skb->invalid_reason, "table full, dropping packet")
			      ? "dropped by conntrack (table full)" : "dropped by conntrack";
		r->last.hook = hook;
	}
	return v;
}

static int confirm(struct router *r, enum ct_hook hook, struct ct_skb *skb)
{
	int v = ct_confirm(r->core, skb);

	memcpy(r->last.helper, skb->helper_note, sizeof(r->last.helper));
	if (v == CT_DROP) {
		r->stats.conntrack_drop++;
		r->last.why = skb->helper_dropped ? "dropped by the conntrack helper"
			      : skb->invalid_reason && !strcmp(skb->invalid_reason, "chain too long")
			      ? "dropped at confirmation (chain too long)"
			      : "dropped at confirmation (clash)";
		r->last.hook = hook;
	}
	return v;
}

static int finish(struct router *r, struct ct_skb *skb, int verdict, const char *what)
{
	ct_skb_done(r->core, skb, verdict == CT_DROP);
	r->last.verdict = verdict == CT_DROP ? "dropped" : what;
	if (__builtin_expect(skb->tracer != NULL, 0))
		trace_end(r, (struct trace_pkt *)skb->tracer);
	ct_pkt_release(&skb->pkt);	/* a NAT helper's longer copy, if any */
	return verdict;
}

/* run_hook()'s third answer: the packet stops before confirmation. */
#define ROUTER_HELD 2

/* nf_hook_slow(): the rows of @hook in priority order, until a drop. */
static int run_hook(struct router *r, enum ct_hook hook, struct ct_skb *skb)
{
	size_t first = r->hook_first[hook], end = first + r->hook_rows[hook];

	if (r->rs && r->rows_serial != r->rs->serial) {
		r->rows_busy = busy_rows(r->rs);
		r->rows_serial = r->rs->serial;
	}
	for (size_t i = first; i < end; i++) {
		const struct router_row *row = &ladder[i];
		int v = CT_ACCEPT;

		switch (row->step) {
		case ROUTER_STEP_RULES:
		case ROUTER_STEP_NAT: {
			unsigned first_nat = r->last.nnat;

			/* a row with no chain in its band is not called at all,
			 * as the kernel's nf_hook_entries hold only what is
			 * registered */
			if (r->rs && (r->rows_busy & (1u << i)))
				v = run_rules(r, row, skb);
			/* NAT rows: bind on the first packet, rewrite every one
			 * (router_nat.c, nf_nat_inet_fn()) */
			if (row->step == ROUTER_STEP_NAT && v != CT_DROP)
				v = router_nat_row(r, row, skb, first_nat);
			break;
		}
		case ROUTER_STEP_CONNTRACK:
			trace_row(skb, row);
			v = conntrack_in(r, hook, skb);
			break;
		case ROUTER_STEP_CONFIRM:
			if (__builtin_expect(r->hold_next, 0) && hook == CT_HOOK_POSTROUTING && !r->held)
				return ROUTER_HELD;	/* postrouting() parks it */
			trace_row(skb, row);
			v = confirm(r, hook, skb);
			break;
		}
		if (v == CT_DROP)
			return CT_DROP;
	}
	return CT_ACCEPT;
}

/* The packet stops before POSTROUTING's confirm row (r->hold_next): a
 * copy of it and of its skb (the entry's reference moves with it) waits
 * for router_release(). Its trace ends here ("held"). */
static __attribute__((cold, noinline)) int park(struct router *r, int oif, struct ct_skb *skb)
{
	struct router_held *h = malloc(sizeof(*h) + skb->pkt.len);

	if (!h)
		return finish(r, skb, CT_DROP, "");
	h->skb = *skb;
	h->oif = oif;
	memcpy(h->data, skb->pkt.data, skb->pkt.len);
	h->skb.pkt.data = h->data;
	h->skb.tracer = NULL;
	r->held = h;
	r->hold_next = false;
	r->last.verdict = "held (in flight, before confirmation)";
	if (__builtin_expect(skb->tracer != NULL, 0))
		trace_end(r, (struct trace_pkt *)skb->tracer);
	return CT_ACCEPT;
}

/* POSTROUTING and out: the end of both the forward and the output path. */
static inline __attribute__((always_inline)) int postrouting(struct router *r, int oif,
							     struct ct_skb *skb, const char *what)
{
	int v;

	memcpy(skb->pkt.oifname, r->ifs[oif].name, sizeof(skb->pkt.oifname));
	skb->pkt.oif = oif + 1;
	v = run_hook(r, CT_HOOK_POSTROUTING, skb);
	if (v == CT_DROP)
		return finish(r, skb, CT_DROP, what);
	if (__builtin_expect(v == ROUTER_HELD, 0))
		return park(r, oif, skb);
	r->stats.tx++;
	if (r->xmit)
		r->xmit(r->xmit_arg, oif, skb->pkt.data, skb->pkt.len);
	return finish(r, skb, CT_ACCEPT, what);
}

/* __ip_local_out() for a packet ctsim itself sends. @answers: the packet
 * this one answers (reject, ICMP errors), whose entry it carries, or NULL. */
static int local_out(struct router *r, uint8_t *data, size_t len, uint64_t tstamp,
		     const struct ct_skb *answers)
{
	struct conn *attach = answers ? answers->ct : NULL;
	struct ct_skb skb;
	struct trace_pkt tp;
	const char *reason;
	int oif;

	ct_skb_init(&skb, data, len);
	if (ct_pkt_parse(&skb.pkt, &reason) < 0)
		return CT_DROP;
	skb.pkt.tstamp_ns = tstamp;
	if (r->trace)
		trace_begin(r, &tp, &skb);
	if (attach) {
		/* nf_ct_attach(): the answer travels against the packet it
		 * answers, related to its entry, so conntrack leaves it alone. */
		conn_get(attach);
		skb.ct = attach;
		skb.ctinfo = answers->ctinfo >= CT_INFO_ESTABLISHED_REPLY ? CT_INFO_RELATED
									  : CT_INFO_RELATED_REPLY;
	}
	r->stats.local_out++;
	if (run_hook(r, CT_HOOK_OUTPUT, &skb) == CT_DROP)
		return finish(r, &skb, CT_DROP, "sent");
	oif = route(r, &skb.pkt);
	if (oif < 0 && r->forward_all && r->answer_oif >= 0)
		oif = r->answer_oif;	/* no routes: back where the answered packet came from */
	if (oif < 0) {
		r->stats.no_route++;
		r->last.why = "no route";
		return finish(r, &skb, CT_DROP, "sent");
	}
	return postrouting(r, oif, &skb, "sent");
}

static bool is_icmp_error(const struct ct_pkt *p);

/* The router's stack has no sockets: a TCP segment other than a RST is
 * answered with a RST (tcp_v4_send_reset(), tcp_v6_send_reset()), a UDP
 * datagram with a port unreachable from the address it was sent to
 * (__udp4_lib_rcv() -> icmp_send(); the kernel's ICMP rate limits are not
 * emulated). The answer leaves by ctsim's OUTPUT path, where conntrack
 * finds the entry of the packet answered. */
static void closed_port(struct router *r, const struct ct_pkt *p)
{
	struct rs_result res;
	struct ct_skb skb;
	uint8_t l4[1300], out[1400];
	size_t quote;
	int n;

	if (p->l4_truncated || p->is_fragment)
		return;
	if (p->l4proto == IPPROTO_TCP) {
		memset(&res, 0, sizeof(res));
		res.reject_kind = RS_REJECT_TCP_RESET;
		memset(&skb, 0, sizeof(skb));
		skb.pkt = *p;
		send_reject(r, &skb, &res);
		return;
	}
	if (p->l4proto != IPPROTO_UDP)
		return;
	quote = p->len;
	if (p->family == AF_INET && quote > 576 - 28)
		quote = 576 - 28;
	if (p->family == AF_INET6 && quote > 1280 - 48)
		quote = 1280 - 48;
	memset(l4, 0, 8);
	l4[0] = p->family == AF_INET ? 3 : 1;		/* destination unreachable */
	l4[1] = p->family == AF_INET ? 3 : 4;		/* port unreachable */
	memcpy(l4 + 8, p->data, quote);
	n = ct_pkt_build(out, sizeof(out), p->family, &p->dst, &p->src,
			 p->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6, l4, 8 + quote);
	if (n > 0 && p->family == AF_INET) {
		/* icmp_send(): precedence "internetwork control", no DF */
		uint32_t sum;

		out[1] = 0xc0;
		out[6] = 0;
		out[10] = out[11] = 0;
		sum = ct_csum_fold(ct_csum_add(0, out, 20));
		out[10] = (uint8_t)(sum >> 8);
		out[11] = (uint8_t)sum;
	}
	if (n > 0)
		local_out(r, out, (size_t)n, p->tstamp_ns, NULL);
}

/* ctsim's own services: it answers ICMP and ICMPv6 echo requests; TCP and
 * UDP find every port closed (closed_port()). */
static void local_deliver(struct router *r, const struct ct_pkt *p)
{
	uint8_t l4[1500], out[1600];
	int n;

	if (p->l4proto == IPPROTO_TCP || p->l4proto == IPPROTO_UDP) {
		closed_port(r, p);
		return;
	}
	if (!((p->family == AF_INET && p->l4proto == IPPROTO_ICMP && p->icmp_type == 8) ||
	      (p->family == AF_INET6 && p->l4proto == IPPROTO_ICMPV6 && p->icmp_type == 128)) ||
	    p->l4_truncated || p->l4len > sizeof(l4))
		return;
	memcpy(l4, p->data + p->l4off, p->l4len);
	l4[0] = p->family == AF_INET ? 0 : 129;		/* echo reply */
	l4[2] = l4[3] = 0;				/* checksum: ct_pkt_build() */
	n = ct_pkt_build(out, sizeof(out), p->family, &p->dst, &p->src, p->l4proto, l4, p->l4len);
	if (n > 0)
		local_out(r, out, (size_t)n, p->tstamp_ns, NULL);
}

/* ICMPX codes (NFT_REJECT_ICMPX_*) -> ICMP / ICMPv6 unreachable codes. */
static uint8_t icmpx_code(uint8_t family, uint8_t x)
{
	static const uint8_t v4[] = { 0 /* net */, 3 /* port */, 1 /* host */, 13 /* admin */ };
	static const uint8_t v6[] = { 0 /* no route */, 4 /* port */, 3 /* addr */, 1 /* admin */ };

	if (x > 3)
		x = 1;
	return family == AF_INET ? v4[x] : v6[x];
}

/* Is @p an ICMP/ICMPv6 error (never answered with another one)? */
static bool is_icmp_error(const struct ct_pkt *p)
{
	if (p->family == AF_INET && p->l4proto == IPPROTO_ICMP)
		return p->icmp_type == 3 || p->icmp_type == 4 || p->icmp_type == 5 ||
		       p->icmp_type == 11 || p->icmp_type == 12;
	return p->family == AF_INET6 && p->l4proto == IPPROTO_ICMPV6 && p->icmp_type < 128;
}

/* ctsim's address on the interface the packet came in by (icmp_send()
 * answers from there). */
static const union ct_addr *ingress_addr(const struct router *r, const struct ct_pkt *p)
{
	const struct router_if *i;

	if (p->iif < 1 || (unsigned)p->iif > r->nif)
		return NULL;
	i = &r->ifs[p->iif - 1];
	if (p->family == AF_INET)
		return i->has4 ? &i->addr4 : NULL;
	return i->has6 ? &i->addr6 : NULL;
}

/* icmp_send() / icmpv6_send(): an ICMP (@type, @code for the packet's
 * family) answering @skb, from ctsim's address on the interface it came in
 * by, quoting as much of it as fits (576 bytes in all for IPv4, 1280 for
 * IPv6), sent by ctsim's OUTPUT path with @skb's entry attached (as
 * icmp_glue_bits() does: conntrack does not look at it again, even when
 * the entry is not confirmed). Never for an ICMP error or a later fragment. */
static void send_icmp_error(struct router *r, const struct ct_skb *skb, uint8_t type,
			    uint8_t code)
{
	const struct ct_pkt *p = &skb->pkt;
	const union ct_addr *from = ingress_addr(r, p);
	uint8_t l4[1300], out[1400];
	size_t quote;
	int n;

	if (!from || p->is_fragment || is_icmp_error(p))
		return;
	quote = p->len;
	if (p->family == AF_INET && quote > 576 - 28)
		quote = 576 - 28;
	if (p->family == AF_INET6 && quote > 1280 - 48)
		quote = 1280 - 48;
	memset(l4, 0, 8);
	l4[0] = type;
	l4[1] = code;
	memcpy(l4 + 8, p->data, quote);
	n = ct_pkt_build(out, sizeof(out), p->family, from, &p->src,
			 p->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6, l4, 8 + quote);
	if (n > 0)
		local_out(r, out, (size_t)n, p->tstamp_ns, skb);
}

/* The `reject` statement: nf_send_unreach() / nf_send_reset() (and their
 * IPv6 twins). The answer leaves by ctsim's OUTPUT path, attached to the
 * rejected packet's entry. */
static void send_reject(struct router *r, const struct ct_skb *skb, const struct rs_result *res)
{
	const struct ct_pkt *p = &skb->pkt;
	uint8_t l4[1300], out[1400];
	int n;

	if (p->is_fragment || is_icmp_error(p))
		return;		/* never answer an error or a later fragment */
	if (res->reject_kind == RS_REJECT_TCP_RESET) {
		uint32_t seq, ack;
		uint8_t flags;

		/* nf_reject_ip_tcphdr_put(): no RST for an RST; seq from the
		 * ACK if any, else ACK everything the segment occupied. */
		if (p->l4proto != IPPROTO_TCP || p->l4_truncated || (p->tcp_flags & CT_TCP_RST))
			return;
		memset(l4, 0, 20);
		if (p->tcp_flags & CT_TCP_ACK) {
			seq = p->tcp_ack;
			ack = 0;
			flags = CT_TCP_RST;
		} else {
			seq = 0;
			ack = p->tcp_seq + (p->tcp_flags & CT_TCP_SYN ? 1 : 0) +
			      (p->tcp_flags & CT_TCP_FIN ? 1 : 0) + (uint32_t)(p->l4len - p->tcp_doff);
			flags = CT_TCP_RST | CT_TCP_ACK;
		}
		l4[0] = (uint8_t)(p->dport >> 8); l4[1] = (uint8_t)p->dport;
		l4[2] = (uint8_t)(p->sport >> 8); l4[3] = (uint8_t)p->sport;
		l4[4] = (uint8_t)(seq >> 24); l4[5] = (uint8_t)(seq >> 16);
		l4[6] = (uint8_t)(seq >> 8); l4[7] = (uint8_t)seq;
		l4[8] = (uint8_t)(ack >> 24); l4[9] = (uint8_t)(ack >> 16);
		l4[10] = (uint8_t)(ack >> 8); l4[11] = (uint8_t)ack;
		l4[12] = 5 << 4;
		l4[13] = flags;
		n = ct_pkt_build(out, sizeof(out), p->family, &p->dst, &p->src, IPPROTO_TCP, l4, 20);
	} else {
		uint8_t code = res->reject_code;

		if (res->reject_kind == RS_REJECT_ICMPX)
			code = icmpx_code(p->family, code);
		/* destination unreachable */
		send_icmp_error(r, skb, p->family == AF_INET ? 3 : 1, code);
		return;
	}
	if (n > 0)
		local_out(r, out, (size_t)n, p->tstamp_ns, skb);
}

int router_release(struct router *r)
{
	struct router_held *h = r->held;
	int v;

	if (!h)
		return -1;
	r->held = NULL;
	memset(&r->last, 0, sizeof(r->last));
	r->last.ct_state = ct_skb_state_name(&h->skb);
	/* the rest of POSTROUTING: its confirm row, then out */
	if (confirm(r, CT_HOOK_POSTROUTING, &h->skb) == CT_DROP) {
		v = finish(r, &h->skb, CT_DROP, "forwarded");
	} else {
		r->stats.tx++;
		if (r->xmit)
			r->xmit(r->xmit_arg, h->oif, h->skb.pkt.data, h->skb.pkt.len);
		v = finish(r, &h->skb, CT_ACCEPT, "forwarded");
	}
	free(h);
	return v;
}

int router_receive(struct router *r, int iif, uint8_t *data, size_t len, uint64_t tstamp_ns)
{
	struct ct_skb skb;
	struct trace_pkt tp;
	const char *reason;
	uint8_t *whole = NULL;
	size_t wholelen = 0;
	int oif, v;

	/* Only what precedes nat[]: nnat says how much of it is valid, and
	 * clearing the whole array per packet cost replay ~5 % (issue 16). */
	memset(&r->last, 0, offsetof(struct router_trace, nat));
	r->stats.rx++;
	ct_skb_init(&skb, data, len);
	/* ip_rcv()/ipv6_rcv(): a broken IP header never reaches netfilter;
	 * a broken IPv6 extension chain does, and conntrack calls it invalid. */
	if (ct_pkt_parse(&skb.pkt, &reason) < 0 && !skb.pkt.untrackable) {
		r->stats.bad_l3++;
		r->last.verdict = "dropped";
		r->last.why = reason;
		return CT_DROP;
	}
	/* Defragmentation (priority -400) happens before conntrack. */
	if (skb.pkt.is_fragment && r->defrag) {
		int d = ct_defrag_add(r->defrag, &skb.pkt, 0, tstamp_ns, &whole, &wholelen, &reason);

		if (d != CT_DEFRAG_DONE) {
			r->stats.frag_held += d == CT_DEFRAG_QUEUED;
			r->last.verdict = d == CT_DEFRAG_QUEUED ? "held (fragment)" : "dropped";
			r->last.why = d == CT_DEFRAG_QUEUED ? NULL : reason;
			return d == CT_DEFRAG_QUEUED ? CT_ACCEPT : CT_DROP;
		}
		ct_skb_init(&skb, whole, wholelen);
		if (ct_pkt_parse(&skb.pkt, &reason) < 0) {
			free(whole);
			r->stats.bad_l3++;
			r->last.verdict = "dropped";
			r->last.why = reason;
			return CT_DROP;
		}
	}
	skb.pkt.tstamp_ns = tstamp_ns;
	skb.pkt.iif = iif + 1;
	memcpy(skb.pkt.iifname, r->ifs[iif].name, sizeof(skb.pkt.iifname));
	if (r->trace)
		trace_begin(r, &tp, &skb);

	if (run_hook(r, CT_HOOK_PREROUTING, &skb) == CT_DROP) {
		v = finish(r, &skb, CT_DROP, "");
		goto out;
	}

	/* forward_all (replay, scenarios) still delivers what is addressed
	 * to the router's own addresses, when it has any (masquerade and
	 * redirect need them) */
	if (is_local(r, &skb.pkt)) {
		struct ct_pkt copy;

		r->stats.local_in++;
		if (run_hook(r, CT_HOOK_INPUT, &skb) == CT_DROP) {
			v = finish(r, &skb, CT_DROP, "delivered");
			goto out;
		}
		copy = skb.pkt;
		v = finish(r, &skb, CT_ACCEPT, "delivered");
		{
			/* what the answer's path sets in r->last is not this
			 * packet's: keep its own */
			struct router_trace keep = r->last;

			r->answer_oif = iif;
			local_deliver(r, &copy);
			r->answer_oif = -1;
			keep.nnat = r->last.nnat;
			memcpy(keep.nat, r->last.nat, sizeof(keep.nat));
			r->last = keep;
		}
		goto out;
	}

	oif = r->forward_all ? (iif == 0 ? 1 : 0) : route(r, &skb.pkt);
	if (oif < 0 || (unsigned)oif >= r->nif) {
		r->stats.no_route++;
		r->last.why = "no route";
		v = finish(r, &skb, CT_DROP, "");
		goto out;
	}
	if (!r->forward_all && !decrement_ttl(&skb.pkt)) {
		r->stats.ttl_exceeded++;
		r->last.why = "TTL exceeded";
		/* ip_forward()/ip6_forward(): time exceeded in transit */
		send_icmp_error(r, &skb, skb.pkt.family == AF_INET ? 11 : 3, 0);
		v = finish(r, &skb, CT_DROP, "");
		goto out;
	}
	memcpy(skb.pkt.oifname, r->ifs[oif].name, sizeof(skb.pkt.oifname));
	skb.pkt.oif = oif + 1;
	if (run_hook(r, CT_HOOK_FORWARD, &skb) == CT_DROP) {
		v = finish(r, &skb, CT_DROP, "");
		goto out;
	}
	v = postrouting(r, oif, &skb, "forwarded");
out:
	free(whole);
	return v;
}
