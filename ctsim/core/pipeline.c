/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pipeline.c — what the kernel's conntrack hooks do to a packet (see
 * pipeline.h and docs/tracking.md): nf_conntrack_in() with
 * resolve_normal_ct() and init_conntrack(), nf_confirm() with
 * __nf_conntrack_confirm() and clash resolution, and the event cache
 * (nf_conntrack_event_cache(), nf_ct_deliver_cached_events()).
 *
 * References: a packet in flight holds one reference on its entry
 * (skb->ct). A new entry is unconfirmed: it lives only through that
 * reference (conn_alloc() counted it in t->count, as the kernel counts
 * unconfirmed entries) until ct_confirm() hashes it; the table then holds a
 * reference of its own. ct_skb_done() drops the packet's reference, which
 * frees an entry that was never confirmed — no event, as in the kernel.
 *
 * Events: trackers cache bits on the entry (conn.ecache, the kernel's
 * per-ct ecache); the bits are delivered as ONE event when a packet of the
 * entry has passed the confirm hook (ct_skb_done(dropped = false)). A
 * packet dropped after ct_in() leaves its bits cached for the next one,
 * as in the kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include "ctsim/core/expect.h"
#include "ctsim/core/gre_keymap.h"
#include "ctsim/core/helper.h"
#include "ctsim/core/l4proto.h"
#include "ctsim/core/nat_helper.h"
#include "ctsim/core/pipeline.h"
#include "ctsim/core/seqadj.h"

/* ---------------------------------------------------------------------- */
/* The trackers (nf_conntrack_l4proto registrations)                       */

static const struct ct_l4proto *const l4protos[] = {
	&ct_l4proto_tcp,
	&ct_l4proto_udp,
	&ct_l4proto_udplite,
	&ct_l4proto_icmp,
	&ct_l4proto_icmpv6,
	&ct_l4proto_gre,
	&ct_l4proto_sctp,
};

/* nf_ct_l4proto_find() */
const struct ct_l4proto *ct_l4proto_find(uint8_t l3num, uint8_t l4num)
{
	/* ICMP inside IPv6 (or ICMPv6 inside IPv4) is just a protocol number */
	if ((l4num == IPPROTO_ICMP && l3num != AF_INET) ||
	    (l4num == IPPROTO_ICMPV6 && l3num != AF_INET6))
		return &ct_l4proto_generic;
	for (size_t i = 0; i < sizeof(l4protos) / sizeof(l4protos[0]); i++)
		if (l4protos[i]->l4num == l4num)
			return l4protos[i];
	return &ct_l4proto_generic;
}

/* nf_ct_invert_tuple(): swap addresses, then the tracker's part. */
bool ct_l4_invert_tuple(const struct ct_l4proto *l4, struct ct_tuple *r,
			const struct ct_tuple *o)
{
	if (l4->invert_tuple)
		return l4->invert_tuple(r, o);
	memset(r, 0, sizeof(*r));
	r->src = o->dst;
	r->dst = o->src;
	r->sport = o->dport;
	r->dport = o->sport;
	r->l3num = o->l3num;
	r->l4num = o->l4num;
	return true;
}

/* ---------------------------------------------------------------------- */
/* Helpers for the trackers (l4proto.h)                                    */

/* nf_ct_acct_update() */
void ct_l4_acct(struct ct_l4_ctx *x, struct conn *ct)
{
	if (ct->ext && (ct->ext->has & CONN_EXT_ACCT)) {
		ct->ext->counters[x->dir].packets++;
		ct->ext->counters[x->dir].bytes += x->skb->pkt.len;
	}
}

/* __nf_ct_refresh_acct(): the timeout of an unconfirmed entry stays
 * relative until __nf_conntrack_confirm() adds "now". */
void ct_l4_refresh(struct ct_l4_ctx *x, struct conn *ct, uint32_t secs)
{
	struct ct_table *t = x->core->table;

	ct_l4_acct(x, ct);
	if (ct->status & CT_S_FIXED_TIMEOUT) {
		CT_TRACE(x->skb, CT_TR_TIMEOUT, "timeout not refreshed (FIXED_TIMEOUT)");
		return;
	}
	conn_set_timeout(t, ct, secs);
	if (!(ct->status & CT_S_CONFIRMED))
		ct->expires -= t->now;
	CT_TRACE(x->skb, CT_TR_TIMEOUT, "set to %u s from now", secs);	/* last: a tail call */
}

/* nf_ct_kill_acct() */
void ct_l4_kill(struct ct_l4_ctx *x, struct conn *ct)
{
	ct_l4_acct(x, ct);
	CT_TRACE(x->skb, CT_TR_TRACKER, "entry id %u killed now (nf_ct_kill_acct)", ct->id);
	if (ct->status & CT_S_CONFIRMED)
		ct_table_delete(x->core->table, ct, 0, false);
}

/* nf_conntrack_event_cache(): only entries with the ecache extension keep
 * bits; skb->cached_events records what this packet caused, for tracing. */
void ct_l4_event(struct ct_l4_ctx *x, struct conn *ct, uint32_t bits)
{
	x->skb->cached_events |= bits;
	if (ct->flags & CONN_F_ECACHE)
		ct->ecache |= (uint16_t)bits;
}

void ct_l4_set_assured(struct ct_l4_ctx *x, struct conn *ct)
{
	if (ct->status & CT_S_ASSURED)
		return;
	ct->status |= CT_S_ASSURED;
	CT_TRACE(x->skb, CT_TR_TRACKER, "status ASSURED set");
	ct_l4_event(x, ct, CT_EV(ASSURED));
}

bool ct_l4_checksum_wanted(const struct ct_l4_ctx *x)
{
	return x->core->settings->checksum && x->hook == CT_HOOK_PREROUTING;
}

/* ---------------------------------------------------------------------- */
/* nf_conntrack_in()                                                       */

void ct_skb_init(struct ct_skb *skb, uint8_t *data, size_t len)
{
	memset(skb, 0, sizeof(*skb));
	skb->pkt.data = data;
	skb->pkt.len = len;
	skb->zone.id = 0;
	skb->zone.dir = CT_ZONE_DIR_BOTH;
}

/* ---------------------------------------------------------------------- */
/* Trace texts (trace.h): only built for traced packets                    */

/* @t as conntrack -L prints a tuple's addresses and ports. */
static const char *trace_tuple(char *buf, size_t n, const struct ct_tuple *t)
{
	char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?";

	inet_ntop(t->l3num, t->src.b, src, sizeof(src));
	inet_ntop(t->l3num, t->dst.b, dst, sizeof(dst));
	if (ct_tuple_has_ports(t->l4num))
		snprintf(buf, n, "proto %u src=%s dst=%s sport=%u dport=%u", t->l4num, src, dst,
			 t->sport, t->dport);
	else
		snprintf(buf, n, "proto %u src=%s dst=%s", t->l4num, src, dst);
	return buf;
}

/* enum ip_conntrack_info's names, as the kernel spells them. */
static const char *ctinfo_name(enum ct_info ci)
{
	switch (ci) {
	case CT_INFO_ESTABLISHED: return "IP_CT_ESTABLISHED";
	case CT_INFO_RELATED: return "IP_CT_RELATED";
	case CT_INFO_NEW: return "IP_CT_NEW";
	case CT_INFO_ESTABLISHED_REPLY: return "IP_CT_ESTABLISHED_REPLY";
	case CT_INFO_RELATED_REPLY: return "IP_CT_RELATED_REPLY";
	case CT_INFO_UNTRACKED: return "IP_CT_UNTRACKED";
	}
	return "?";
}

static void trace_ctinfo(const struct ct_skb *skb)
{
	CT_TRACE(skb, CT_TR_CTINFO, "%s (ct state %s)", ctinfo_name(skb->ctinfo),
		 ct_skb_state_name(skb));
}

/* The event bits' names, as conntrack -E and ctnetlink call them. */
static __attribute__((cold, noinline)) void trace_events(const struct ct_skb *skb, const struct conn *ct, uint32_t bits,
			 const char *what)
{
	static const char *const names[] = {
		[CT_EV_NEW] = "new", [CT_EV_RELATED] = "related", [CT_EV_DESTROY] = "destroy",
		[CT_EV_REPLY] = "reply", [CT_EV_ASSURED] = "assured",
		[CT_EV_PROTOINFO] = "protoinfo", [CT_EV_HELPER] = "helper", [CT_EV_MARK] = "mark",
		[CT_EV_SEQADJ] = "seqadj", [CT_EV_SECMARK] = "secmark", [CT_EV_LABEL] = "label",
		[CT_EV_SYNPROXY] = "synproxy",
	};
	char buf[200];
	size_t off = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]) && off < sizeof(buf); i++)
		if (bits & (1u << i)) {
			int w = snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? "," : "",
					 names[i] ? names[i] : "?");
			off = w > 0 ? off + (size_t)w : off;
		}
	CT_TRACE(skb, CT_TR_EVENT, "events %s %s for entry id %u (%s)", buf, what, ct->id,
		 (bits & (CT_EV(NEW) | CT_EV(RELATED))) ? "[NEW]" : "[UPDATE]");
}

/* No entry for this packet: ct state invalid, invalid++, ACCEPT. */
static int not_tracked(struct ct_core *core, struct ct_skb *skb, const char *reason)
{
	core->table->stats.cpu.invalid++;
	skb->ct = NULL;
	skb->invalid_reason = reason;
	CT_TRACE(skb, CT_TR_INVALID, "%s", reason ? reason : "?");
	return CT_ACCEPT;
}

/* Extensions and template fields of a new entry (init_conntrack():
 * nf_ct_acct_ext_add(), nf_ct_tstamp_ext_add(), nf_ct_labels_ext_add(),
 * __nf_ct_try_assign_helper()). */
static int init_extensions(struct ct_core *core, struct ct_skb *skb, struct conn *ct,
			   bool expected)
{
	const struct ct_settings *s = core->settings;
	bool helper = skb->helper && !expected;	/* no template helper for expected entries */
	struct conn_ext *x;

	if (!s->acct && !s->timestamp && !s->labels_used && !helper)
		return 0;
	if (!(x = conn_ext_add(ct)))
		return -ENOMEM;
	x->has |= (s->acct ? CONN_EXT_ACCT : 0) | (s->timestamp ? CONN_EXT_TSTAMP : 0) |
		  (s->labels_used ? CONN_EXT_LABELS : 0);
	if (helper) {
		/* __nf_ct_try_assign_helper(): `ct helper set` / -j CT
		 * --helper; the helper runs in ct_confirm() (helper.h). */
		x->helper = skb->helper;
		x->has |= CONN_EXT_HELPER;
		ct->status |= CT_S_HELPER;
	}
	return 0;
}

/* init_conntrack(): an unconfirmed entry for @tuple, or NULL with *drop
 * set when the table is full (early drop failed). */
static struct conn *init_conntrack(struct ct_core *core, struct ct_skb *skb,
				   const struct ct_l4proto *l4, const struct ct_tuple *tuple,
				   bool *drop, const char **reason)
{
	struct ct_table *t = core->table;
	struct ct_tuple reply;
	struct ct_expect exp;
	bool expected;
	struct conn *ct;
	uint32_t early;

	*drop = false;
	if (!ct_l4_invert_tuple(l4, &reply, tuple)) {
		*reason = CT_INV_NOT_INVERTIBLE;
		return NULL;
	}
	early = t->stats.cpu.early_drop;
	ct = conn_alloc(t, tuple, &reply, &skb->zone);	/* early_drop() inside */
	if (t->stats.cpu.early_drop != early)
		CT_TRACE(skb, CT_TR_CONFIRM, "table full: early drop freed an entry that was not assured (early_drop)");
	if (!ct) {
		*drop = true;
		return NULL;
	}
	/* nf_ct_find_expectation(): "Welcome, Mr. Bond. We've been
	 * expecting you..." — EXPECTED, ct->master (referenced), the
	 * master's mark and secmark, the expectation's helper if any. */
	expected = ct_expect_match(t, tuple, ct_zone_id(&skb->zone, CT_DIR_ORIG), &exp);
	if (init_extensions(core, skb, ct, expected) ||
	    (expected && !conn_ext_add(ct))) {
		conn_free_unhashed(t, ct);
		*drop = true;
		return NULL;
	}
	if (expected) {
		struct conn *m = exp.master;

		ct->status |= CT_S_EXPECTED;
		conn_get(m);
		ct->ext->master_ct = m;
		ct->ext->master = m->th[CT_DIR_ORIG].tuple;
		ct->ext->master_zone = m->zone.id;
		ct->ext->has |= CONN_EXT_MASTER;
		ct->mark = m->mark;
		if (m->ext)
			ct->ext->secmark = m->ext->secmark;
		if (exp.helper) {
			/* help->helper = exp->helper (ct_helper_of() resolves
			 * one of another protocol by name) */
			ct->ext->helper = exp.helper;
			ct->ext->has |= CONN_EXT_HELPER;
		}
		/* init_conntrack(): exp->expectfn(ct, exp), here only ever
		 * nf_nat_follow_master() (PPTP's runs from the GRE tracker) */
		if (exp.follow_master)
			ct_nat_follow_master(t, ct, &exp);
		t->stats.exp.new++;
	}
	return ct;
}

/* resolve_normal_ct(): find or create the entry, set skb->ct and ctinfo.
 * Returns 0 (skb->ct may be NULL: untrackable, reason set) or -1 to drop. */
static int resolve_normal_ct(struct ct_core *core, struct ct_skb *skb,
			     const struct ct_l4proto *l4, const char **reason)
{
	struct ct_table *t = core->table;
	struct ct_tuple tuple;
	enum ct_dir dir = CT_DIR_ORIG;
	struct conn *ct;

	if (!ct_pkt_get_tuple(&skb->pkt, &tuple)) {
		*reason = skb->pkt.l4_reason ? skb->pkt.l4_reason : CT_INV_NO_TUPLE;
		return 0;
	}
	ct_gre_tuple_srckey(t, &skb->pkt, &tuple);	/* gre_pkt_to_tuple()'s keymap */
	/* Look up with the zone id of the original direction, then, for a
	 * directional zone, with the reply direction's. */
	ct = ct_table_find(t, &tuple, &skb->zone, CT_DIR_ORIG, &dir);
	if (!ct && ct_zone_id(&skb->zone, CT_DIR_ORIG) != ct_zone_id(&skb->zone, CT_DIR_REPLY))
		ct = ct_table_find(t, &tuple, &skb->zone, CT_DIR_REPLY, &dir);
	if (ct) {
		conn_get(ct);	/* the packet's reference */
		if (skb->tracer) {
			char tb[160];

			CT_TRACE(skb, CT_TR_LOOKUP, "%s: entry id %u, %s direction%s",
				 trace_tuple(tb, sizeof(tb), &tuple), ct->id,
				 dir == CT_DIR_REPLY ? "reply" : "original",
				 (ct->status & CT_S_CONFIRMED) ? "" : " (unconfirmed)");
		}
	} else {
		bool drop;

		ct = init_conntrack(core, skb, l4, &tuple, &drop, reason);
		if (!ct)
			return drop ? -1 : 0;
		dir = CT_DIR_ORIG;	/* conn_alloc()'s reference is the packet's */
		if (skb->tracer) {
			char tb[160], mb[160];

			if (ct->status & CT_S_EXPECTED)
				CT_TRACE(skb, CT_TR_LOOKUP,
					 "%s: no entry; expected: new entry id %u, master id %u (%s)",
					 trace_tuple(tb, sizeof(tb), &tuple), ct->id,
					 ct->ext->master_ct ? ct->ext->master_ct->id : 0,
					 trace_tuple(mb, sizeof(mb), &ct->ext->master));
			else
				CT_TRACE(skb, CT_TR_LOOKUP, "%s: no entry; new entry id %u (unconfirmed)",
					 trace_tuple(tb, sizeof(tb), &tuple), ct->id);
		}
	}
	if (dir == CT_DIR_REPLY)
		skb->ctinfo = CT_INFO_ESTABLISHED_REPLY;
	else if (ct->status & CT_S_SEEN_REPLY)	/* two-way traffic: always ESTABLISHED */
		skb->ctinfo = CT_INFO_ESTABLISHED;
	else if (ct->status & CT_S_EXPECTED)
		skb->ctinfo = CT_INFO_RELATED;
	else
		skb->ctinfo = CT_INFO_NEW;
	skb->ct = ct;
	trace_ctinfo(skb);
	return 0;
}

/* Drop the packet's reference (an unconfirmed entry is freed with it). */
static void skb_release_ct(struct ct_core *core, struct ct_skb *skb)
{
	struct conn *ct = skb->ct;

	skb->ct = NULL;
	if (ct)
		conn_put(core->table, ct);
}

/* nf_conntrack_handle_packet(): error(), new() while unconfirmed, packet(). */
static enum ct_l4_verdict handle_packet(struct ct_core *core, struct ct_skb *skb,
					const struct ct_l4proto *l4, enum ct_hook hook,
					const char **reason)
{
	struct conn *ct = skb->ct;
	struct ct_l4_ctx x = {
		.core = core, .skb = skb, .hook = hook,
		.dir = skb->ctinfo >= CT_INFO_ESTABLISHED_REPLY ? CT_DIR_REPLY : CT_DIR_ORIG,
	};

	*reason = NULL;
	if (l4->error && (*reason = l4->error(&x)))
		return CT_L4_INVALID;
	if (!(ct->status & CT_S_CONFIRMED) && l4->new && (*reason = l4->new(&x, ct)))
		return CT_L4_INVALID;
	return l4->packet(&x, ct, reason);
}

int ct_in(struct ct_core *core, struct ct_skb *skb, enum ct_hook hook)
{
	struct ct_l4_ctx x = { .core = core, .skb = skb, .hook = hook, .dir = CT_DIR_ORIG };
	const struct ct_l4proto *l4;
	const char *reason = NULL;
	int repeats = 0;

	/* Previously seen (loopback) or `notrack`: nothing to do. */
	if (skb->ct)
		return CT_ACCEPT;
	if (skb->untracked) {
		skb->ctinfo = CT_INFO_UNTRACKED;
		return CT_ACCEPT;
	}
	ct_table_tick(core->table);
	skb->invalid_reason = NULL;
	if (!skb->pkt.family && ct_pkt_parse(&skb->pkt, &reason) < 0) {
		/* ip_rcv()/ipv6_rcv() would have dropped it before conntrack */
		skb->invalid_reason = reason;
		return CT_DROP;
	}
	/* A sound IPv6 header whose extension chain cannot be walked:
	 * nf_ct_get_l4proto() fails, the packet goes on without an entry. */
	if (skb->pkt.untrackable)
		return not_tracked(core, skb, "truncated or bad IPv6 extension header chain");
	if (skb->pkt.is_fragment)	/* defrag (-400) should have reassembled it */
		return not_tracked(core, skb, CT_INV_FRAGMENT);

	/* ICMP errors are RELATED to the flow they quote (nf_conntrack_handle_icmp()) */
	if ((skb->pkt.l4proto == IPPROTO_ICMP && skb->pkt.family == AF_INET) ||
	    (skb->pkt.l4proto == IPPROTO_ICMPV6 && skb->pkt.family == AF_INET6)) {
		int e = ct_icmp_error(&x);

		if (e <= 0 && skb->tracer) {
			char tb[160];

			if (skb->ct) {
				CT_TRACE(skb, CT_TR_LOOKUP, "ICMP error about entry id %u (%s)", skb->ct->id,
					 trace_tuple(tb, sizeof(tb), &skb->ct->th[CT_DIR_ORIG].tuple));
				trace_ctinfo(skb);
			} else if (skb->ctinfo == CT_INFO_UNTRACKED) {
				CT_TRACE(skb, CT_TR_LOOKUP, "ICMPv6 type %u: never tracked (untracked)",
					 skb->pkt.icmp_type);
			} else {
				CT_TRACE(skb, CT_TR_INVALID, "%s (ICMP error: counted as error, not invalid)",
					 skb->invalid_reason ? skb->invalid_reason : "?");
			}
		}
		if (e <= 0)
			return CT_ACCEPT;
	}

	l4 = ct_l4proto_find(skb->pkt.family, skb->pkt.l4proto);
repeat:
	if (resolve_normal_ct(core, skb, l4, &reason) < 0) {
		core->table->stats.cpu.drop++;	/* "too stressed to deal" */
		skb->invalid_reason = "table full, dropping packet";	/* CT_TABLE_FULL_MSG */
		CT_TRACE(skb, CT_TR_CONFIRM, "nf_conntrack: table full, dropping packet (early drop found nothing)");
		return CT_DROP;
	}
	if (!skb->ct)
		return not_tracked(core, skb, reason);

	switch (handle_packet(core, skb, l4, hook, &reason)) {
	case CT_L4_ACCEPT:
		break;
	case CT_L4_REPEAT:
		/* TCP reopen: the old entry is gone, create a fresh one */
		skb_release_ct(core, skb);
		CT_TRACE(skb, CT_TR_TRACKER, "old entry killed (%s): look up again",
			 reason ? reason : "reopen");
		if (++repeats < 3)
			goto repeat;
		core->table->stats.cpu.drop++;
		return CT_DROP;
	case CT_L4_DROP:
		skb_release_ct(core, skb);
		core->table->stats.cpu.drop++;
		not_tracked(core, skb, reason ? reason : "dropped by the tracker");
		return CT_DROP;
	case CT_L4_INVALID:
		skb_release_ct(core, skb);
		return not_tracked(core, skb, reason ? reason : "invalid");
	}
	if (__builtin_expect(skb->tracer != NULL, 0) && reason)	/* ignored (TCP: IGNORE) */
		ct_trace_step(skb, CT_TR_TRACKER, "ignored (accepted, entry unchanged): %s", reason);
	if (skb->ctinfo == CT_INFO_ESTABLISHED_REPLY && !(skb->ct->status & CT_S_SEEN_REPLY)) {
		CT_TRACE(skb, CT_TR_TRACKER, "first reply: status SEEN_REPLY set");
		x.dir = CT_DIR_REPLY;
		skb->ct->status |= CT_S_SEEN_REPLY;
		ct_l4_event(&x, skb->ct, CT_EV(REPLY));
	}
	return CT_ACCEPT;
}

/* ---------------------------------------------------------------------- */
/* nf_confirm()                                                            */

static bool same_tuples(const struct conn *a, const struct conn *b, bool reverse)
{
	const struct ct_tuple *bo = &b->th[reverse ? CT_DIR_REPLY : CT_DIR_ORIG].tuple;
	const struct ct_tuple *br = &b->th[reverse ? CT_DIR_ORIG : CT_DIR_REPLY].tuple;

	return !memcmp(&a->th[CT_DIR_ORIG].tuple, bo, sizeof(*bo)) &&
	       !memcmp(&a->th[CT_DIR_REPLY].tuple, br, sizeof(*br)) &&
	       a->zone.id == b->zone.id && a->zone.dir == b->zone.dir;
}

/* __nf_ct_resolve_clash(): an identical (nf_ct_match()) or exactly
 * reversed (nf_ct_match_reverse()) @winner takes the packet: our
 * accounting is merged into it and our entry freed. */
static bool merge_into(struct ct_core *core, struct ct_skb *skb, struct conn *winner)
{
	struct conn *loser = skb->ct;

	if ((winner->status & CT_S_DYING) ||
	    !(same_tuples(winner, loser, false) || same_tuples(winner, loser, true)))
		return false;
	/* nf_ct_acct_merge() */
	if (loser->ext && winner->ext && (loser->ext->has & winner->ext->has & CONN_EXT_ACCT)) {
		winner->ext->counters[CT_DIR_ORIG].packets += loser->ext->counters[CT_DIR_ORIG].packets;
		winner->ext->counters[CT_DIR_ORIG].bytes += loser->ext->counters[CT_DIR_ORIG].bytes;
	}
	conn_get(winner);
	skb_release_ct(core, skb);
	skb->ct = winner;
	CT_TRACE(skb, CT_TR_CONFIRM, "clash at confirmation resolved: the packet takes entry id %u (clash_resolve)",
		 winner->id);
	core->table->stats.cpu.clash_resolve++;
	return true;
}

/* nf_ct_resolve_clash(): @winner is already hashed with one of our tuples
 * (another packet of the flow confirmed first). Protocols without
 * allow_clash (TCP, ICMP, SCTP) drop; the others merge into an identical
 * winner, else nf_ct_resolve_clash_harder(): NAT gave the two entries
 * different reply tuples. If our reply tuple is taken too, only a merge
 * with its holder saves the packet; otherwise our entry is inserted by its
 * reply tuple only (hidden from dumps, original-direction lookups keep
 * finding the winner), with FIXED_TIMEOUT | NAT_CLASH and a 1 s timeout,
 * so that the answer to this very packet still finds its NAT binding. */
static int resolve_clash(struct ct_core *core, struct ct_skb *skb, struct conn *winner)
{
	struct ct_table *t = core->table;
	struct conn *loser = skb->ct, *other;
	const struct ct_l4proto *l4 = ct_l4proto_find(loser->th[0].tuple.l3num,
						      loser->th[0].tuple.l4num);

	if (!l4->allow_clash)
		goto drop;
	if (merge_into(core, skb, winner))
		return CT_ACCEPT;
	other = ct_table_find(t, &loser->th[CT_DIR_REPLY].tuple, &loser->zone, CT_DIR_REPLY, NULL);
	if (other) {
		if (merge_into(core, skb, other))
			return CT_ACCEPT;
		winner = other;
		goto drop;
	}
	loser->expires = t->now + CT_NSEC_PER_SEC;	/* "go away real soon" */
	loser->status |= CT_S_FIXED_TIMEOUT | CT_S_UNTRACKED;	/* IPS_NAT_CLASH */
	conn_get(loser);		/* the table's reference */
	ct_table_link_reply_only(t, loser);
	loser->status |= CT_S_CONFIRMED;
	t->stats.cpu.clash_resolve++;
	CT_TRACE(skb, CT_TR_CONFIRM, "clash at confirmation with entry id %u, NAT differs: entry id %u "
		 "enters by its reply tuple only (NAT_CLASH, 1 s, hidden from listings; clash_resolve)",
		 winner->id, loser->id);
	return CT_ACCEPT;
drop:
	t->stats.cpu.drop++;
	t->stats.cpu.insert_failed++;
	skb->invalid_reason = "insert clash";
	CT_TRACE(skb, CT_TR_CONFIRM, "clash at confirmation with entry id %u: dropped (insert_failed)",
		 winner->id);
	return CT_DROP;
}

int ct_confirm(struct ct_core *core, struct ct_skb *skb)
{
	struct ct_table *t = core->table;
	struct conn *ct = skb->ct, *other;
	struct ct_l4_ctx x = { .core = core, .skb = skb, .hook = CT_HOOK_POSTROUTING };

	/* nft_ct_helper_obj_eval() in a chain after conntrack (priority >
	 * -200): the rule filled the template but the entry already existed,
	 * unconfirmed — the kernel attaches the helper to it there. */
	if (ct && skb->helper && !(ct->status & (CT_S_CONFIRMED | CT_S_HELPER)) &&
	    !(ct->ext && ct->ext->helper) && ct_helper_attach(ct, skb->helper) == 0)
		ct->status |= CT_S_HELPER;
	/* nf_confirm(): "This is where we call the helper: as the packet
	 * goes out." Every packet of an entry with a helper, confirmed or
	 * not, either direction; the helper may drop it. */
	if (ct && ct_helper_run(core, skb) == CT_DROP) {
		CT_TRACE(skb, CT_TR_HELPER, "helper dropped the packet%s%s",
			 skb->helper_note[0] ? ": " : "", skb->helper_note);
		return CT_DROP;
	}
	if (ct && skb->helper_note[0])
		CT_TRACE(skb, CT_TR_HELPER, "%s", skb->helper_note);
	/* nf_confirm(): then nf_ct_seq_adjust() when IPS_SEQ_ADJUST is set
	 * (not for ICMP errors RELATED_REPLY, nor loopback packets) */
	if (ct && (ct->status & CT_S_SEQ_ADJUST) && skb->ctinfo != CT_INFO_RELATED_REPLY &&
	    skb->pkt.l4proto == IPPROTO_TCP && ct->th[0].tuple.l4num == IPPROTO_TCP) {
		enum ct_dir dir = skb->ctinfo >= CT_INFO_ESTABLISHED_REPLY ? CT_DIR_REPLY
									    : CT_DIR_ORIG;

		uint32_t seq = skb->pkt.tcp_seq, ack = skb->pkt.tcp_ack;

		if (!ct_seqadj_packet(ct, dir, &skb->pkt)) {
			t->stats.cpu.drop++;
			CT_TRACE(skb, CT_TR_HELPER, "dropped by sequence adjustment (nf_ct_seq_adjust())");
			return CT_DROP;
		}
		if (seq != skb->pkt.tcp_seq || ack != skb->pkt.tcp_ack)
			CT_TRACE(skb, CT_TR_HELPER, "sequence adjusted (nf_ct_seq_adjust()): seq %u -> %u, "
				 "ack %u -> %u", seq, skb->pkt.tcp_seq, ack, skb->pkt.tcp_ack);
	}

	/* Only a new entry, and only from its original direction (a REJECT
	 * reply attached in the other direction is left alone). */
	if (!ct || (ct->status & CT_S_CONFIRMED))
		return CT_ACCEPT;
	if (skb->ctinfo >= CT_INFO_ESTABLISHED_REPLY)
		return CT_ACCEPT;

	/* __nf_conntrack_confirm(): is either tuple already there? The
	 * hashes computed for the check are the ones the entry is linked
	 * with: nothing below touches the table or the tuples. */
	other = ct_table_hash_clash(t, ct);
	if (other)
		return resolve_clash(core, skb, other);
	/* ... and is either chain longer than max_chainlen (50..79)? Then
	 * chaintoolong and insert_failed, not drop, and NF_DROP. */
	if (ct_table_chain_too_long(t, ct)) {
		t->stats.cpu.insert_failed++;
		skb->invalid_reason = "chain too long";
		return CT_DROP;
	}

	ct->expires += t->now;		/* the timeout was relative until now */
	if (ct->ext && (ct->ext->has & CONN_EXT_TSTAMP))
		ct->ext->ts_start = ct_clock_wall(t->clock);
	conn_get(ct);			/* the table's reference */
	ct_table_link(t, ct);
	ct->status |= CT_S_CONFIRMED;
	CT_TRACE(skb, CT_TR_CONFIRM, "confirmed: entry id %u enters the table (timeout %llu s)",
		 ct->id, (unsigned long long)((ct->expires - t->now) / 1000000000ull));
	if (ct->status & CT_S_HELPER)
		ct_l4_event(&x, ct, CT_EV(HELPER));
	ct_l4_event(&x, ct, (ct->status & CT_S_EXPECTED) ? CT_EV(RELATED) : CT_EV(NEW));
	return CT_ACCEPT;
}

/* nf_ct_deliver_cached_events() at the end of nf_confirm(), then the skb's
 * nf_conntrack_put(). */
void ct_skb_done(struct ct_core *core, struct ct_skb *skb, bool dropped)
{
	struct conn *ct = skb->ct;

	if (!ct)
		return;
	if (!dropped && (ct->status & CT_S_CONFIRMED) && !(ct->status & CT_S_DYING) &&
	    ct->ecache) {
		uint32_t bits = ct->ecache;

		ct->ecache = 0;
		if (skb->tracer)
			trace_events(skb, ct, bits, "delivered");
		ct_events_report(core->events, ct, bits, 0, false);
	} else if (skb->tracer && skb->cached_events && !dropped &&
		   (ct->status & CT_S_CONFIRMED) && !(ct->flags & CONN_F_ECACHE)) {
		/* the entry has no event cache: nobody was listening */
		trace_events(skb, ct, skb->cached_events, "not delivered: no listener");
	}
	skb_release_ct(core, skb);
}

bool ct_invalid_log_msg(const struct ct_skb *skb, char *buf, size_t n)
{
	const char *r = skb->invalid_reason;

	if (!r)
		return false;
	/* nf_conntrack_tcp_packet(): a header it cannot read is -NF_ACCEPT
	 * without a word; icmp_error_message() and the ICMP new check only
	 * pr_debug() */
	if ((skb->pkt.l4proto == IPPROTO_TCP && !strcmp(r, CT_INV_SHORT)) ||
	    !strcmp(r, CT_INV_ICMP_NEW) || !strcmp(r, CT_INV_ICMP_NO_CT))
		return false;
	if (!strcmp(r, CT_INV_TCP_NEW)) {
		snprintf(buf, n, "invalid new");	/* tcp_new() */
	} else if (!strcmp(r, CT_INV_ICMP_OUTER_DST)) {
		/* icmp_error_message(): the outer destination and the address
		 * the error should have gone to, the quoted packet's source */
		char a[INET6_ADDRSTRLEN] = "?", b[INET6_ADDRSTRLEN] = "?";
		struct ct_pkt inner;
		const char *why;

		inet_ntop(skb->pkt.family, skb->pkt.dst.b, a, sizeof(a));
		if (ct_pkt_icmp_inner(&skb->pkt, &inner, &why) == 0)
			inet_ntop(inner.family, inner.src.b, b, sizeof(b));
		snprintf(buf, n, "outer daddr %s != inner %s", a, b);
	} else if (!strncmp(r, "nf_ct_sctp: ", 12)) {
		snprintf(buf, n, "%s ", r);	/* sctp_error()'s texts end in a space */
	} else {
		snprintf(buf, n, "%s", r);
	}
	return true;
}

const char *ct_skb_state_name(const struct ct_skb *skb)
{
	if (skb->untracked || skb->ctinfo == CT_INFO_UNTRACKED)
		return "untracked";
	if (!skb->ct)
		return "invalid";
	switch (skb->ctinfo) {
	case CT_INFO_NEW:
		return "new";
	case CT_INFO_RELATED:
	case CT_INFO_RELATED_REPLY:
		return "related";
	default:
		return "established";
	}
}
