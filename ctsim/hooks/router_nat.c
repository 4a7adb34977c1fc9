/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * router_nat.c — the NAT rows of the hook ladder: what the kernel's
 * nf_nat_inet_fn() does at its NAT hooks, with the rule's statement turned
 * into a range the way nft_nat_eval(), nft_masq_eval() and
 * nft_redir_eval() do. The binding and the rewrite are the core's
 * (ctsim/core/nat.c, nat_rewrite.c). See router_nat.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "ctsim/core/nat.h"
#include "ctsim/core/trace.h"
#include "ctsim/hooks/router_nat.h"

/* HOOK2MANIP(): prerouting and output change the destination. */
static enum ct_nat_manip hook_manip(enum ct_hook h)
{
	return h == CT_HOOK_PREROUTING || h == CT_HOOK_OUTPUT ? CT_NAT_MANIP_DST : CT_NAT_MANIP_SRC;
}

static enum ct_nat_manip stmt_manip(enum rs_nat_type t)
{
	return t == RS_NAT_SNAT || t == RS_NAT_MASQUERADE ? CT_NAT_MANIP_SRC : CT_NAT_MANIP_DST;
}

/* nf_nat_register_fn(): the first nat chain of a family registers the NAT
 * hooks of all four hooks of that family (inet: both), so every entry of
 * the family gets its null bindings from then on. */
static bool nat_hooks_registered(const struct ruleset *rs, uint8_t family)
{
	for (size_t i = 0; i < rs->ntables; i++) {
		const struct rs_table *t = rs->tables[i];

		if (!(t->family == RS_FAM_INET || (t->family == RS_FAM_IP && family == AF_INET) ||
		      (t->family == RS_FAM_IP6 && family == AF_INET6)))
			continue;
		for (size_t c = 0; c < t->nchains; c++)
			if (t->chains[c]->base && t->chains[c]->type == RS_CHAIN_NAT)
				return true;
	}
	return false;
}

/* Is @p an ICMP or ICMPv6 error (the kernel checks the protocol of a
 * RELATED packet: only ICMP errors are RELATED without an expectation)? */
static bool icmp_error(const struct ct_pkt *p)
{
	if (p->l4proto == IPPROTO_ICMP)
		return p->family == AF_INET && !(p->icmp_type == 0 || p->icmp_type == 8 ||
						 (p->icmp_type >= 13 && p->icmp_type <= 18));
	return p->l4proto == IPPROTO_ICMPV6 && p->family == AF_INET6 && p->icmp_type < 128;
}

/* The statement @n as a range for a packet of @skb at @hook; false when
 * the kernel would drop (masquerade or redirect without an address). */
static bool stmt_range(const struct router *r, enum ct_hook hook, const struct ct_skb *skb,
		       const struct rs_nat *n, struct ct_nat_range *range)
{
	const struct ct_pkt *p = &skb->pkt;
	const bool v4 = p->family == AF_INET;

	memset(range, 0, sizeof(*range));
	range->flags = n->flags & (CT_NAT_RANGE_PROTO_RANDOM | CT_NAT_RANGE_PERSISTENT |
				   CT_NAT_RANGE_PROTO_RANDOM_FULLY);
	if (n->port_min) {
		range->flags |= CT_NAT_RANGE_PROTO_SPECIFIED;
		range->min_proto = n->port_min;
		range->max_proto = n->port_max;
	}
	switch (n->type) {
	case RS_NAT_SNAT:
	case RS_NAT_DNAT:
		if (n->family) {
			range->flags |= CT_NAT_RANGE_MAP_IPS;
			range->min_addr = n->addr_min;
			range->max_addr = n->addr_max;
		}
		return true;
	case RS_NAT_MASQUERADE: {
		/* nf_nat_masquerade_ipv4(): the out interface's address
		 * (inet_select_addr()); none: NF_DROP */
		const struct router_if *i;

		if (p->oif < 1 || (unsigned)p->oif > r->nif)
			return false;
		i = &r->ifs[p->oif - 1];
		if (v4 ? !i->has4 : !i->has6)
			return false;
		range->flags |= CT_NAT_RANGE_MAP_IPS;
		range->min_addr = range->max_addr = v4 ? i->addr4 : i->addr6;
		return true;
	}
	case RS_NAT_REDIRECT: {
		/* nf_nat_redirect_ipv4/ipv6(): locally generated packets go
		 * to loopback, others to the address of the in interface */
		union ct_addr a;

		memset(&a, 0, sizeof(a));
		if (hook == CT_HOOK_OUTPUT) {
			if (v4)
				a.b[0] = 127, a.b[3] = 1;
			else
				a.b[15] = 1;
		} else {
			const struct router_if *i;

			if (p->iif < 1 || (unsigned)p->iif > r->nif)
				return false;
			i = &r->ifs[p->iif - 1];
			if (v4 ? !i->has4 : !i->has6)
				return false;
			a = v4 ? i->addr4 : i->addr6;
		}
		range->flags |= CT_NAT_RANGE_MAP_IPS;
		range->min_addr = range->max_addr = a;
		return true;
	}
	}
	return false;
}

/* The trace's line for a binding just made: which manip, and the reply
 * tuple it leaves (the tuple the answers will carry). */
static void trace_binding(const struct ct_skb *skb, const struct conn *ct, enum ct_nat_manip manip,
			  bool null)
{
	const struct ct_tuple *t = &ct->th[CT_DIR_REPLY].tuple;
	char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?", ports[32] = "";

	inet_ntop(t->l3num, t->src.b, src, sizeof(src));
	inet_ntop(t->l3num, t->dst.b, dst, sizeof(dst));
	if (ct_tuple_has_ports(t->l4num))
		snprintf(ports, sizeof(ports), " sport=%u dport=%u", t->sport, t->dport);
	ct_trace_step(skb, CT_TR_NAT, "%s%s binding (nf_nat_setup_info): reply src=%s dst=%s%s%s",
		      null ? "null " : "", manip == CT_NAT_MANIP_SRC ? "SNAT" : "DNAT", src, dst,
		      ports, null ? " (no nat rule matched)" :
		      (ct->status & (manip == CT_NAT_MANIP_SRC ? CT_S_SRC_NAT : CT_S_DST_NAT)) ?
		      "" : " (unchanged: the original tuple was free)");
}

int router_nat_row(struct router *r, const struct router_row *row, struct ct_skb *skb,
		   unsigned first_nat)
{
	const enum ct_nat_manip manip = hook_manip(row->hook);
	struct conn *ct = skb->ct;
	enum ct_dir dir;

	if (!ct || skb->untracked)
		return CT_ACCEPT;
	dir = skb->ctinfo >= CT_INFO_ESTABLISHED_REPLY ? CT_DIR_REPLY : CT_DIR_ORIG;
	/* the cheap way out for most packets: an established entry NAT
	 * never touched */
	if ((ct->status & CT_S_CONFIRMED) && !(ct->status & (CT_S_SRC_NAT | CT_S_DST_NAT)))
		return CT_ACCEPT;
	if ((skb->ctinfo == CT_INFO_RELATED || skb->ctinfo == CT_INFO_RELATED_REPLY) &&
	    icmp_error(&skb->pkt)) {
		/* nf_nat_ipv4_fn(): ICMP errors are translated, never bound */
		if (!ct_nat_icmp_reply_translation(ct, dir, manip, &skb->pkt)) {
			r->last.why = "dropped by NAT (ICMP error translation)";
			r->last.hook = row->hook;
			return CT_DROP;
		}
		return CT_ACCEPT;
	}
	if ((skb->ctinfo == CT_INFO_NEW || skb->ctinfo == CT_INFO_RELATED ||
	     skb->ctinfo == CT_INFO_RELATED_REPLY) && !ct_nat_initialized(ct, manip) &&
	    !(ct->status & CT_S_CONFIRMED)) {
		const struct rs_nat *n = NULL;

		if (!r->rs || !nat_hooks_registered(r->rs, skb->pkt.family))
			return CT_ACCEPT;
		for (unsigned i = first_nat; i < r->last.nnat; i++)
			if (stmt_manip(r->last.nat[i].nat.type) == manip) {
				n = &r->last.nat[i].nat;
				break;
			}
		if (n) {
			struct ct_nat_range range;

			if (!stmt_range(r, row->hook, skb, n, &range)) {
				r->last.why = n->type == RS_NAT_MASQUERADE ?
					"dropped by masquerade (no address on the out interface)" :
					"dropped by redirect (no address on the in interface)";
				r->last.hook = row->hook;
				return CT_DROP;
			}
			ct_nat_setup(r->core->table, ct, &range, manip);
			/* nf_nat_masquerade_ipv4/ipv6(): nat->masq_index */
			if (n->type == RS_NAT_MASQUERADE)
				ct->masq_if = (uint8_t)skb->pkt.oif;
		} else {
			ct_nat_null_binding(r->core->table, ct, manip);
		}
		if (skb->tracer)
			trace_binding(skb, ct, manip, !n);
	}
	ct_nat_packet(ct, dir, manip, &skb->pkt);
	return CT_ACCEPT;
}

/* What masq_inet_event() looks for: inet_cmp(). */
struct masq_gone {
	uint8_t ifidx;		/* 1-based, as conn.masq_if */
	uint8_t family;
	union ct_addr addr;
	int deleted;
};

static void masq_gone_one(struct ct_table *t, struct conn *c, void *arg)
{
	struct masq_gone *g = arg;
	const struct ct_tuple *rt = &c->th[CT_DIR_REPLY].tuple;

	/* device_cmp(): a masquerade binding made on this interface; then the
	 * reply tuple's destination is the address that went away */
	if (c->masq_if != g->ifidx || rt->l3num != g->family ||
	    memcmp(&rt->dst, &g->addr, sizeof(g->addr)))
		return;
	if (ct_table_delete(t, c, 0, false))
		g->deleted++;
}

int router_addr_del(struct router *r, unsigned ifidx, uint8_t family)
{
	struct router_if *i;
	struct masq_gone g;

	if (ifidx >= r->nif)
		return -1;
	i = &r->ifs[ifidx];
	memset(&g, 0, sizeof(g));
	g.ifidx = (uint8_t)(ifidx + 1);
	g.family = family;
	if (family == AF_INET && i->has4) {
		g.addr = i->addr4;
		i->has4 = false;
	} else if (family == AF_INET6 && i->has6) {
		g.addr = i->addr6;
		i->has6 = false;
	} else {
		return -1;
	}
	/* nf_nat_masq_schedule() -> nf_ct_iterate_cleanup_net() (a work item
	 * on the kernel, run at once here) */
	ct_table_for_each(r->core->table, masq_gone_one, &g);
	return g.deleted;
}
