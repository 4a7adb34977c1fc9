/* SPDX-License-Identifier: GPL-2.0-or-later */
/* router.c — the hook ladder (see router.h). */
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "ctsim/defrag.h"
#include "ctsim/router.h"
#include "ctsim/ruleset.h"

/* Conntrack sits at -200 in PREROUTING and OUTPUT (NF_IP_PRI_CONNTRACK);
 * ruleset chains below that run before it (raw), the others after. */
#define PRIO_CONNTRACK	(-200)

void router_init(struct router *r, struct ct_core *core, router_xmit_fn xmit, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->core = core;
	r->xmit = xmit;
	r->xmit_arg = arg;
	r->defrag = ct_defrag_new(4u << 20);
}

void router_fini(struct router *r)
{
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

static int run_rules(struct router *r, enum ct_hook hook, int lo, int hi, struct ct_skb *skb)
{
	struct rs_result res;
	int v;

	if (!r->rs)
		return CT_ACCEPT;
	res.trace = NULL;		/* no tracer yet */
	res.trace_ctx = NULL;
	res.trace_all = false;
	v = ruleset_run_hook(r->rs, hook, lo, hi, skb, &res);
	if (v == CT_DROP) {
		r->stats.ruleset_drop++;
		r->last.why = "dropped by the ruleset";
		r->last.hook = hook;
	}
	return v;
}

static int conntrack_in(struct router *r, enum ct_hook hook, struct ct_skb *skb)
{
	int v = ct_in(r->core, skb, hook);

	r->last.ct_state = ct_skb_state_name(skb);
	r->last.invalid_reason = skb->invalid_reason;
	if (v == CT_DROP) {
		r->stats.conntrack_drop++;
		r->last.why = "dropped by conntrack (table full)";
		r->last.hook = hook;
	}
	return v;
}

static int confirm(struct router *r, enum ct_hook hook, struct ct_skb *skb)
{
	int v = ct_confirm(r->core, skb);

	if (v == CT_DROP) {
		r->stats.conntrack_drop++;
		r->last.why = "dropped at confirmation (clash)";
		r->last.hook = hook;
	}
	return v;
}

static int finish(struct router *r, struct ct_skb *skb, int verdict, const char *what)
{
	ct_skb_done(r->core, skb, verdict == CT_DROP);
	r->last.verdict = verdict == CT_DROP ? "dropped" : what;
	return verdict;
}

/* POSTROUTING and out: the end of both the forward and the output path. */
static int postrouting(struct router *r, int oif, struct ct_skb *skb, const char *what)
{
	memcpy(skb->pkt.oifname, r->ifs[oif].name, sizeof(skb->pkt.oifname));
	skb->pkt.oif = oif + 1;
	if (run_rules(r, CT_HOOK_POSTROUTING, INT_MIN, INT_MAX, skb) == CT_DROP ||
	    confirm(r, CT_HOOK_POSTROUTING, skb) == CT_DROP)
		return finish(r, skb, CT_DROP, what);
	r->stats.tx++;
	if (r->xmit)
		r->xmit(r->xmit_arg, oif, skb->pkt.data, skb->pkt.len);
	return finish(r, skb, CT_ACCEPT, what);
}

/* __ip_local_out() for a packet ctsim itself sends. */
static int local_out(struct router *r, uint8_t *data, size_t len, uint64_t tstamp)
{
	struct ct_skb skb;
	const char *reason;
	int oif;

	ct_skb_init(&skb, data, len);
	if (ct_pkt_parse(&skb.pkt, &reason) < 0)
		return CT_DROP;
	skb.pkt.tstamp_ns = tstamp;
	r->stats.local_out++;
	if (run_rules(r, CT_HOOK_OUTPUT, INT_MIN, PRIO_CONNTRACK - 1, &skb) == CT_DROP ||
	    conntrack_in(r, CT_HOOK_OUTPUT, &skb) == CT_DROP ||
	    run_rules(r, CT_HOOK_OUTPUT, PRIO_CONNTRACK, INT_MAX, &skb) == CT_DROP)
		return finish(r, &skb, CT_DROP, "sent");
	oif = route(r, &skb.pkt);
	if (oif < 0) {
		r->stats.no_route++;
		r->last.why = "no route";
		return finish(r, &skb, CT_DROP, "sent");
	}
	return postrouting(r, oif, &skb, "sent");
}

/* ctsim's own services: it answers ICMP and ICMPv6 echo requests. */
static void local_deliver(struct router *r, const struct ct_pkt *p)
{
	uint8_t l4[1500], out[1600];
	int n;

	if (!((p->family == AF_INET && p->l4proto == IPPROTO_ICMP && p->icmp_type == 8) ||
	      (p->family == AF_INET6 && p->l4proto == IPPROTO_ICMPV6 && p->icmp_type == 128)) ||
	    p->l4_truncated || p->l4len > sizeof(l4))
		return;
	memcpy(l4, p->data + p->l4off, p->l4len);
	l4[0] = p->family == AF_INET ? 0 : 129;		/* echo reply */
	l4[2] = l4[3] = 0;				/* checksum: ct_pkt_build() */
	n = ct_pkt_build(out, sizeof(out), p->family, &p->dst, &p->src, p->l4proto, l4, p->l4len);
	if (n > 0)
		local_out(r, out, (size_t)n, p->tstamp_ns);
}

int router_receive(struct router *r, int iif, uint8_t *data, size_t len, uint64_t tstamp_ns)
{
	struct ct_skb skb;
	const char *reason;
	uint8_t *whole = NULL;
	size_t wholelen = 0;
	int oif, v;

	memset(&r->last, 0, sizeof(r->last));
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

	if (run_rules(r, CT_HOOK_PREROUTING, INT_MIN, PRIO_CONNTRACK - 1, &skb) == CT_DROP ||
	    conntrack_in(r, CT_HOOK_PREROUTING, &skb) == CT_DROP ||
	    run_rules(r, CT_HOOK_PREROUTING, PRIO_CONNTRACK, INT_MAX, &skb) == CT_DROP) {
		v = finish(r, &skb, CT_DROP, "");
		goto out;
	}

	if (!r->forward_all && is_local(r, &skb.pkt)) {
		struct ct_pkt copy;

		r->stats.local_in++;
		if (run_rules(r, CT_HOOK_INPUT, INT_MIN, INT_MAX, &skb) == CT_DROP ||
		    confirm(r, CT_HOOK_INPUT, &skb) == CT_DROP) {
			v = finish(r, &skb, CT_DROP, "delivered");
			goto out;
		}
		copy = skb.pkt;
		v = finish(r, &skb, CT_ACCEPT, "delivered");
		local_deliver(r, &copy);
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
		v = finish(r, &skb, CT_DROP, "");
		goto out;
	}
	memcpy(skb.pkt.oifname, r->ifs[oif].name, sizeof(skb.pkt.oifname));
	skb.pkt.oif = oif + 1;
	if (run_rules(r, CT_HOOK_FORWARD, INT_MIN, INT_MAX, &skb) == CT_DROP) {
		v = finish(r, &skb, CT_DROP, "");
		goto out;
	}
	v = postrouting(r, oif, &skb, "forwarded");
out:
	free(whole);
	return v;
}
