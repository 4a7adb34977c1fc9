/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset_eval.c — evaluating chains against a packet, as nf_tables does:
 * nf_hook_slow() walks a hook's base chains by priority, nft_do_chain()
 * walks a chain's rules with a jump stack, each expression either matches
 * or "breaks" (NFT_BREAK: the rule does not match).
 *
 * A key a packet does not have never matches, not even with != : `tcp
 * dport != 22` does not match a UDP packet (nft adds a `meta l4proto tcp`
 * dependency), `ct mark 1` does not match a packet without an entry.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include "ctsim/core/helper.h"
#include "ctsim/hooks/ruleset.h"

#define RS_JUMP_STACK	16	/* NFT_JUMP_STACK_SIZE */

uint32_t rs_ct_state_bit(const struct ct_skb *skb)
{
	if (skb->untracked || skb->ctinfo == CT_INFO_UNTRACKED)
		return 64;	/* NF_CT_STATE_UNTRACKED_BIT */
	if (!skb->ct)
		return 1;	/* NF_CT_STATE_INVALID_BIT */
	switch (skb->ctinfo) {
	case CT_INFO_ESTABLISHED:
	case CT_INFO_ESTABLISHED_REPLY:
		return 2;
	case CT_INFO_RELATED:
	case CT_INFO_RELATED_REPLY:
		return 4;
	case CT_INFO_NEW:
		return 8;
	default:
		return 1;
	}
}

/* What the packet has for @key: a number, an address (4 or 16 bytes) or
 * a string. false = the packet has no such field (NFT_BREAK). */
struct keyval {
	uint64_t num;
	const union ct_addr *addr;
	const char *str;
};

static bool l4_ok(const struct ct_pkt *p, uint8_t proto)
{
	return p->l4proto == proto && !p->l4_truncated && !p->is_fragment;
}

static bool fetch(const struct ct_skb *skb, enum rs_key key, struct keyval *kv)
{
	const struct ct_pkt *p = &skb->pkt;
	const struct conn *ct = skb->ct;

	memset(kv, 0, sizeof(*kv));
	switch (key) {
	case RS_K_IP_SADDR: kv->addr = &p->src; return p->family == AF_INET;
	case RS_K_IP_DADDR: kv->addr = &p->dst; return p->family == AF_INET;
	case RS_K_IP6_SADDR: kv->addr = &p->src; return p->family == AF_INET6;
	case RS_K_IP6_DADDR: kv->addr = &p->dst; return p->family == AF_INET6;
	case RS_K_META_L4PROTO: kv->num = p->l4proto; return true;
	case RS_K_META_NFPROTO: kv->num = p->family; return true;
	case RS_K_META_MARK: kv->num = p->mark; return true;
	/* ctsim resolves iif/oif by name when the packet is evaluated (nft
	 * resolves the name to an index once, at load time). */
	case RS_K_META_IIF: case RS_K_META_IIFNAME: kv->str = p->iifname; return p->iifname[0] != 0;
	case RS_K_META_OIF: case RS_K_META_OIFNAME: kv->str = p->oifname; return p->oifname[0] != 0;
	case RS_K_TCP_SPORT: kv->num = p->sport; return l4_ok(p, 6);
	case RS_K_TCP_DPORT: kv->num = p->dport; return l4_ok(p, 6);
	case RS_K_TCP_FLAGS: kv->num = p->tcp_flags; return l4_ok(p, 6);
	case RS_K_UDP_SPORT: kv->num = p->sport; return l4_ok(p, 17);
	case RS_K_UDP_DPORT: kv->num = p->dport; return l4_ok(p, 17);
	case RS_K_ICMP_TYPE: kv->num = p->icmp_type; return p->family == AF_INET && l4_ok(p, 1);
	case RS_K_ICMPV6_TYPE: kv->num = p->icmp_type; return p->family == AF_INET6 && l4_ok(p, 58);
	case RS_K_CT_STATE: kv->num = rs_ct_state_bit(skb); return true;
	case RS_K_CT_STATUS: if (!ct) return false; kv->num = ct->status; return true;
	case RS_K_CT_DIRECTION:
		if (!ct) return false;
		kv->num = skb->ctinfo >= CT_INFO_ESTABLISHED_REPLY;	/* CTINFO2DIR() */
		return true;
	case RS_K_CT_MARK: if (!ct) return false; kv->num = ct->mark; return true;
	case RS_K_CT_ZONE:
		if (!ct) return false;
		kv->num = ct_zone_id(&ct->zone, skb->ctinfo >= CT_INFO_ESTABLISHED_REPLY ? CT_DIR_REPLY : CT_DIR_ORIG);
		return true;
	case RS_K_CT_HELPER:
		if (!ct || !ct_helper_name(ct)[0])
			return false;
		kv->str = ct_helper_name(ct);
		return true;
	case RS_K_CT_TIMEOUT:	/* only set (the parser refuses a match) */
	case RS_K_MAX: break;
	}
	return false;
}

static bool is_addr_key(enum rs_key k)
{
	return k <= RS_K_IP6_DADDR;
}

static bool is_flag_key(enum rs_key k)
{
	return k == RS_K_TCP_FLAGS || k == RS_K_CT_STATE || k == RS_K_CT_STATUS;
}

static bool is_str_key(enum rs_key k)
{
	return (k >= RS_K_META_IIF && k <= RS_K_META_OIFNAME) || k == RS_K_CT_HELPER ||
	       k == RS_K_CT_TIMEOUT;
}

/* "eth*" matches every name starting with "eth" (nft's wildcard). */
static bool name_match(const char *pat, const char *s)
{
	size_t n = strlen(pat);

	if (n && pat[n - 1] == '*')
		return !strncmp(pat, s, n - 1);
	return !strcmp(pat, s);
}

static bool value_match(enum rs_key k, const struct rs_value *v, const struct keyval *kv)
{
	if (is_addr_key(k)) {
		size_t len = k <= RS_K_IP_DADDR ? 4 : 16;

		return memcmp(kv->addr->b, v->alo.b, len) >= 0 && memcmp(kv->addr->b, v->ahi.b, len) <= 0;
	}
	if (is_str_key(k))
		return name_match(v->str, kv->str);
	return kv->num >= v->lo && kv->num <= v->hi;
}

static bool match_eval(const struct rs_match *m, const struct ct_skb *skb)
{
	struct keyval kv;
	bool hit = false;

	if (!fetch(skb, m->key, &kv))
		return false;
	switch (m->op) {
	case RS_OP_MASK_EQ:
		return (kv.num & m->mask) == m->vals[0].lo;
	case RS_OP_MASK_NEQ:
		return (kv.num & m->mask) != m->vals[0].lo;
	case RS_OP_EQ:
	case RS_OP_NEQ:
		break;
	}
	if (is_flag_key(m->key) && !m->set) {
		/* nft 1.0.6: `ct state new,established` = state & (new|established) != 0;
		 * `tcp flags != syn` = flags != syn, an exact comparison */
		uint64_t all = 0;

		for (size_t i = 0; i < m->nvals; i++)
			all |= m->vals[i].lo;
		return m->op == RS_OP_EQ ? (kv.num & all) != 0 : kv.num != all;
	}
	for (size_t i = 0; i < m->nvals && !hit; i++)
		hit = value_match(m->key, &m->vals[i], &kv);
	return m->op == RS_OP_EQ ? hit : !hit;
}

/* ---------------------------------------------------------------------- */
/* Statements                                                              */

/* The `log` statement (nft_log_eval() -> nf_log_packet()): the line is
 * kept in @res for the router, which hands it to its log callback and the
 * trace. */
static void log_packet(struct rs_result *res, const struct rs_stmt *s, const struct ct_skb *skb)
{
	if (res->nlogs >= RS_MAX_LOGS)
		return;
	rs_log_format(res->logs[res->nlogs++], RS_LOG_LEN, s->u.log.prefix, &skb->pkt, 0);
}

enum vcode { V_CONTINUE, V_ACCEPT, V_DROP, V_JUMP, V_GOTO, V_RETURN };

/* Run @r's statements (its matches matched); @ch is the chain holding @r. */
static enum vcode rule_exec(const struct rs_chain *ch, const struct rs_rule *r, struct ct_skb *skb,
			    struct rs_result *res, const struct rs_chain **target)
{
	for (size_t i = 0; i < r->nstmts; i++) {
		struct rs_stmt *s = &r->stmts[i];

		switch (s->type) {
		case RS_S_ACCEPT: return V_ACCEPT;
		case RS_S_DROP: return V_DROP;
		case RS_S_RETURN: return V_RETURN;
		case RS_S_JUMP: *target = s->u.jump.target; return V_JUMP;
		case RS_S_GOTO: *target = s->u.jump.target; return V_GOTO;
		case RS_S_REJECT:
			res->rejected = true;
			res->reject_kind = s->u.reject.kind;
			res->reject_code = s->u.reject.code;
			return V_DROP;
		case RS_S_COUNTER:
			s->u.counter.packets++;
			s->u.counter.bytes += skb->pkt.len;
			break;
		case RS_S_LOG:
			log_packet(res, s, skb);
			break;
		case RS_S_NOTRACK:
			/* nft_notrack_eval(): only a packet without an entry yet */
			if (!skb->ct)
				skb->untracked = true;
			break;
		case RS_S_CT_MARK_SET:
			if (skb->ct && skb->ct->mark != s->u.value) {
				skb->ct->mark = s->u.value;
				skb->cached_events |= CT_EV(MARK);	/* nf_conntrack_event_cache(IPCT_MARK) */
				skb->ct->ecache |= (skb->ct->flags & CONN_F_ECACHE) ? CT_EV(MARK) : 0;
			}
			break;
		case RS_S_CT_ZONE_SET:
			/* a template for conntrack at -200; too late once there is an entry */
			if (!skb->ct) {
				skb->zone.id = (uint16_t)s->u.value;
				skb->zone.dir = CT_ZONE_DIR_BOTH;
			}
			break;
		case RS_S_CT_HELPER_SET: {
			const struct rs_helper *h = s->u.helper.obj;

			/* nft_ct_helper_obj_eval(): not on confirmed entries, only
			 * for the helper's transport protocol, and only for a family
			 * the object has a helper for (helper4 / helper6) */
			const struct ct_helper *ops;

			if (h && skb->pkt.l4proto == h->l4proto &&
			    !(skb->ct && (skb->ct->status & CT_S_CONFIRMED)) &&
			    (h->l3proto == RS_FAM_INET ||
			     (h->l3proto == RS_FAM_IP) == (skb->pkt.family == AF_INET)) &&
			    (ops = ct_helper_find(h->type, skb->pkt.family, h->l4proto)))
				skb->helper = ops;
			break;
		}
		case RS_S_CT_TIMEOUT_SET:
			/* nft_ct_timeout_obj_eval(): new entries of the policy's
			 * protocol only; no room for the extension: NF_DROP */
			if (res->core && s->u.timeout.obj &&
			    ct_timeout_apply(res->core, skb, &s->u.timeout.obj->pol) == CT_DROP)
				return V_DROP;
			break;
		case RS_S_META_MARK_SET:
			skb->pkt.mark = s->u.value;
			break;
		case RS_S_NFTRACE_SET:
			skb->pkt.nftrace = s->u.value != 0;
			break;
		case RS_S_SNAT: case RS_S_DNAT: case RS_S_MASQUERADE: case RS_S_REDIRECT: {
			struct rs_nat nat = s->u.nat;

			if (nat.map) {
				/* nft_lookup() into the anonymous map: a miss
				 * breaks the rule (NFT_BREAK), no NAT */
				const struct rs_nat_map *mp = nat.map;
				size_t i;

				for (i = 0; i < mp->key.nvals; i++) {
					struct rs_match one = mp->key;

					one.set = false;
					one.nvals = 1;
					one.vals = &mp->key.vals[i];
					if (match_eval(&one, skb))
						break;
				}
				if (i == mp->key.nvals)
					return V_CONTINUE;
				nat.family = mp->to[i].family;
				nat.addr_min = nat.addr_max = mp->to[i].addr_min;
				nat.port_min = nat.port_max = mp->to[i].port_min;
				nat.map = NULL;
			}
			/* nft_nat_inet_eval(): `dnat ip to` in an inet table does
			 * nothing to an IPv6 packet (no verdict: the rule goes on) */
			if (nat.family && nat.family != skb->pkt.family)
				break;
			if (res->nnat < RS_MAX_NAT) {
				res->nat_chain[res->nnat] = ch;
				res->nat_rule[res->nnat] = r;
				res->nat[res->nnat++] = nat;
			}
			return V_ACCEPT;	/* nf_nat_setup_info() returns NF_ACCEPT */
		}
		}
	}
	return V_CONTINUE;
}

static void trace(struct rs_result *res, const struct ct_skb *skb, enum rs_trace_kind kind,
		  const struct rs_chain *ch, const struct rs_rule *r, const char *verdict)
{
	struct rs_trace_ev ev = { kind, ch->table, ch, r, verdict, !res->traced };

	if (res->trace && (skb->pkt.nftrace || res->trace_all)) {
		res->traced = true;
		res->trace(res->trace_ctx, &ev);
	}
}

/* nft_do_chain(): returns CT_ACCEPT or CT_DROP for base chain @base. */
static int chain_run(const struct rs_chain *base, struct ct_skb *skb, struct rs_result *res)
{
	struct { const struct rs_chain *chain; size_t next; } stack[RS_JUMP_STACK];
	unsigned sp = 0;
	const struct rs_chain *ch = base;
	size_t i = 0;
	char vbuf[128];

	for (;;) {
		while (i < ch->nrules) {
			const struct rs_rule *r = &ch->rules[i++];
			const struct rs_chain *target = NULL;
			bool matched = true;
			enum vcode v;

			for (size_t m = 0; m < r->nmatches && matched; m++)
				matched = match_eval(&r->matches[m], skb);
			if (!matched)
				continue;
			v = rule_exec(ch, r, skb, res, &target);
			switch (v) {
			case V_CONTINUE:
				trace(res, skb, RS_TRACE_RULE, ch, r, "continue");
				continue;
			case V_ACCEPT:
			case V_DROP:
				trace(res, skb, RS_TRACE_RULE, ch, r, v == V_ACCEPT ? "accept" : "drop");
				res->chain = ch;
				res->rule = r;
				return v == V_ACCEPT ? CT_ACCEPT : CT_DROP;
			case V_JUMP:
			case V_GOTO:
				snprintf(vbuf, sizeof(vbuf), "%s %s", v == V_JUMP ? "jump" : "goto",
					 target ? target->name : "?");
				trace(res, skb, RS_TRACE_RULE, ch, r, vbuf);
				if (!target)
					continue;
				if (v == V_JUMP) {
					if (sp == RS_JUMP_STACK) {	/* cannot happen: loops are refused at load */
						res->chain = ch;
						res->rule = r;
						return CT_DROP;
					}
					stack[sp].chain = ch;
					stack[sp++].next = i;
				}
				ch = target;
				i = 0;
				continue;
			case V_RETURN:
				trace(res, skb, RS_TRACE_RULE, ch, r, "return");
				i = ch->nrules;	/* as if the chain ended */
				break;
			}
		}
		/* end of chain (or return): Linux 6.18 sends no trace event
		 * for the end of a regular chain (jumped to or gone to) that
		 * no rule ended: `nft monitor trace` shows the caller's next
		 * rule, or the base chain's policy, right after the last
		 * matching rule (tests/test_trace.py compares) */
		if (sp > 0) {
			sp--;
			ch = stack[sp].chain;
			i = stack[sp].next;
			continue;
		}
		trace(res, skb, RS_TRACE_POLICY, base, NULL, base->policy == CT_ACCEPT ? "accept" : "drop");
		res->chain = base;
		res->rule = NULL;
		return base->policy;
	}
}

static bool family_fits(enum rs_family fam, uint8_t af)
{
	return fam == RS_FAM_INET || (fam == RS_FAM_IP && af == AF_INET) ||
	       (fam == RS_FAM_IP6 && af == AF_INET6);
}

int ruleset_run_hook(struct ruleset *rs, enum ct_hook hook, int prio_min, int prio_max,
		     struct ct_skb *skb, struct rs_result *res)
{
	/* Reset the outputs field by field: the log and NAT arrays are large
	 * (2 KiB+) and this runs several times per packet; only their first
	 * nlogs/nnat entries are ever read. */
	res->verdict = CT_ACCEPT;
	res->chain = NULL;
	res->rule = NULL;
	res->rejected = false;
	res->reject_kind = 0;
	res->reject_code = 0;
	res->nnat = 0;
	res->nlogs = 0;
	res->chains_run = 0;
	if (!rs || hook < 0 || hook >= CT_HOOK_MAX)
		return CT_ACCEPT;
	for (size_t c = 0; c < rs->nhook[hook]; c++) {
		const struct rs_chain *ch = rs->hooks[hook][c];

		if (ch->prio < prio_min)
			continue;
		if (ch->prio > prio_max)
			break;		/* rs_build_hooks() sorted them by priority */
		if (!family_fits(ch->table->family, skb->pkt.family))
			continue;
		if (ch->type == RS_CHAIN_NAT) {
			/* nf_nat_inet_fn(): nat chains see only the first packet of a
			 * connection (a new, not yet confirmed entry); never packets
			 * without an entry */
			if (!skb->ct || (skb->ct->status & CT_S_CONFIRMED) ||
			    (skb->ctinfo != CT_INFO_NEW && skb->ctinfo != CT_INFO_RELATED))
				continue;
		}
		res->chains_run++;
		res->traced = false;
		if (chain_run(ch, skb, res) == CT_DROP) {
			res->verdict = CT_DROP;
			return CT_DROP;
		}
	}
	return CT_ACCEPT;
}

size_t ruleset_hook_priorities(const struct ruleset *rs, enum ct_hook hook, int *out, size_t n)
{
	size_t k = 0;

	if (!rs || hook < 0 || hook >= CT_HOOK_MAX)
		return 0;
	for (size_t c = 0; c < rs->nhook[hook]; c++) {
		int p = rs->hooks[hook][c]->prio;

		if (c > 0 && rs->hooks[hook][c - 1]->prio == p)
			continue;	/* sorted: duplicates are adjacent */
		if (k < n)
			out[k] = p;
		k++;
	}
	return k;
}
