/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * router.h — the hook ladder: what happens to a packet between arriving on
 * an interface and leaving by another, in the kernel's order
 * (ip_rcv() -> PREROUTING -> routing -> FORWARD | INPUT -> ... -> POSTROUTING).
 *
 * Each hook is a list of rows sorted by priority, as the kernel's
 * nf_hook_entries: a row runs the ruleset's base chains of a priority band,
 * or conntrack itself (nf_conntrack_in() at -200, confirmation last at
 * INT_MAX). The table (router_ladder(), printed by router_ladder_print()):
 *
 *   hook         row        prio      runs
 *   prerouting   raw        -300      chains below -200 (notrack, ct zone/helper templates)
 *                conntrack  -200      nf_conntrack_in()
 *                mangle     -150      chains -200..-101 (ct state known from here on)
 *                dstnat     -100      chains -100..-1: type nat prerouting (DNAT, redirect)
 *                filter     0         chains from 0 on
 *   routing:     a destination of ctsim's own -> INPUT, else the interface
 *                whose subnet holds it -> FORWARD (TTL decremented first)
 *   input        filter     0         chains below 100
 *                srcnat     100       chains from 100 on: type nat input (SNAT)
 *                confirm    INT_MAX   __nf_conntrack_confirm()
 *   forward      filter     0         every chain (no conntrack, no NAT hook here)
 *   output       raw, conntrack, mangle, dstnat, filter as in prerouting
 *   postrouting  filter     0         chains below 100
 *                srcnat     100       chains from 100 on: type nat postrouting (SNAT, masquerade)
 *                confirm    INT_MAX   __nf_conntrack_confirm()
 *
 * ctsim answers ICMP echo delivered to it; the answer runs OUTPUT and
 * POSTROUTING like any locally generated packet.
 *
 * NAT rows record the NAT statements that matched (r->last.nat[]) and apply
 * them (router_nat.c: the binding on a connection's first packet, the
 * packet rewrite on every packet; docs/nat.md).
 *
 * The router does no I/O: packets come in through router_receive() and
 * leave through the xmit callback, so the lab (TUN), replay (pcap) and the
 * scenario runner share it.
 */
#ifndef CTSIM_ROUTER_H
#define CTSIM_ROUTER_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include "ctsim/core/pipeline.h"
#include "ctsim/hooks/ruleset.h"

struct ct_defrag;

#define ROUTER_MAX_IFS 8

struct router_if {
	char name[16];
	union ct_addr addr4, addr6;	/* ctsim's own addresses on the link */
	union ct_addr net4, net6;	/* the link's subnets (masked) */
	uint8_t plen4, plen6;
	bool has4, has6;
};

struct router_stats {
	uint64_t rx, tx, local_in, local_out;
	uint64_t bad_l3;		/* dropped before conntrack (ip_rcv) */
	uint64_t no_route, ttl_exceeded, ruleset_drop, conntrack_drop, frag_held;
};

/* ---------------------------------------------------------------------- */
/* The ladder as a table                                                   */

/* What a row of the ladder runs. */
enum router_step {
	ROUTER_STEP_RULES,	/* the base chains whose priority is in [prio_min, prio_max] */
	ROUTER_STEP_NAT,	/* the same, at a NAT priority: type nat chains live here,
				 * then NAT binds and rewrites (nf_nat_inet_fn()) */
	ROUTER_STEP_CONNTRACK,	/* nf_conntrack_in(): find or create the packet's entry */
	ROUTER_STEP_CONFIRM,	/* __nf_conntrack_confirm(): a new entry enters the table */
};

/* One row: one entry of the hook's nf_hook_entries. */
struct router_row {
	enum ct_hook hook;
	int prio;		/* its place in the hook (NF_IP_PRI_*) */
	const char *name;	/* "raw", "conntrack", "mangle", "dstnat", "filter", "srcnat", "confirm" */
	enum router_step step;
	int prio_min, prio_max;	/* RULES, NAT: the band of chain priorities the row runs */
	const char *why;	/* the reason for the row (printed by router_ladder_print()) */
};

/**
 * router_ladder - the ladder's rows, grouped by hook (enum ct_hook order)
 * and sorted by priority within a hook; *@n receives their number. The
 * bands of a hook's RULES/NAT rows cover every priority exactly once, so
 * every base chain runs in exactly one row, in priority order.
 */
const struct router_row *router_ladder(size_t *n);

/**
 * router_ladder_print - print the table (hook, row, priority, what runs,
 * why) to @f, one row per line, for teaching and `explain`-style output.
 */
void router_ladder_print(FILE *f);

/* ---------------------------------------------------------------------- */
/* The router                                                              */

#define ROUTER_MAX_NAT	4

/* A NAT statement that matched (the first of its row is applied). */
struct router_nat {
	const struct router_row *row;	/* where: its hook and row ("dstnat", "srcnat") */
	const struct rs_chain *chain;	/* the chain holding the rule (maybe a jump target) */
	const struct rs_rule *rule;
	struct rs_nat nat;		/* snat/dnat/masquerade/redirect and its range */
};

/* What became of one packet, for traces and tests. */
struct router_trace {
	const char *verdict;		/* "forwarded", "delivered", "dropped" */
	const char *why;		/* the reason of a drop */
	enum ct_hook hook;		/* where it was decided */
	const char *ct_state;		/* ct state as rules saw it */
	const char *invalid_reason;	/* why conntrack called it invalid (kernel wording) */
	char helper[80];		/* what a conntrack helper did with it ("" nothing) */
	unsigned nnat;			/* NAT statements that matched, in ladder order (at */
	struct router_nat nat[ROUTER_MAX_NAT];	/* most ROUTER_MAX_NAT; also those of an answer
					 * ctsim sent for this packet: echo reply) */
};
/* router_receive() resets only the fields before nat[] (nnat covers it):
 * new fields go before it. */
_Static_assert(offsetof(struct router_trace, nat) + sizeof(((struct router_trace *)0)->nat) ==
	       sizeof(struct router_trace), "struct router_trace: nat[] must stay last");

/*
 * One traced step of a packet: exactly one of
 *   @hook   a row of the ladder starts working on the packet (@row: which
 *           hook, row and priority; rows with nothing to run are skipped,
 *           as the kernel has no hook entry for them);
 *   @rule   a ruleset step (`nft monitor trace`: rule, return, policy);
 *   @text   one of conntrack's own steps (@kind, core/trace.h), kernel wording;
 *   @end    the packet's fate: r->last (verdict, why) is final.
 * @id numbers the packet (1, 2, ... per router: nft's "trace id"); a packet
 * ctsim sends in answer (reject, echo reply) gets an id of its own. @row is
 * the ladder row at work (NULL at the end), @skb the packet as it is now.
 */
struct router_trace_step {
	uint32_t id;
	const struct router_row *row;
	const struct ct_skb *skb;
	const struct rs_trace_ev *rule;
	enum ct_trace_kind kind;
	const char *text;
	bool hook;
	bool end;
	const struct router_trace *last;	/* @end: r->last */
};

/*
 * router_trace_fn - receives every traced step, in order. Packets are
 * traced when meta nftrace is set on them (from the rule that sets it on,
 * as nft), or all of them when r->trace_all is set. Formatting is the
 * caller's (router_trace_format()).
 */
typedef void (*router_trace_fn)(void *ctx, const struct router_trace_step *st);

typedef void (*router_xmit_fn)(void *arg, int oif, const uint8_t *pkt, size_t len);

/* router_log_fn - a `log` statement's line (nf_log_syslog format, no
 * newline), for every packet that meets one, traced or not: where the
 * kernel writes to the kernel log. */
typedef void (*router_log_fn)(void *ctx, const char *line);

struct router {
	struct ct_core *core;
	struct ruleset *rs;		/* NULL: accept everything */
	struct router_if ifs[ROUTER_MAX_IFS];
	unsigned nif;
	bool forward_all;		/* replay: no routing; everything is forwarded iif 0 -> oif 1 */
	router_xmit_fn xmit;
	void *xmit_arg;
	struct ct_defrag *defrag;
	struct router_stats stats;
	struct router_trace last;
	router_trace_fn trace;		/* optional (NULL: none), set by the caller */
	void *trace_ctx;
	bool trace_all;			/* trace every packet, not only nftrace ones */
	router_log_fn log;		/* optional: `log` statements' lines */
	void *log_ctx;
	uint32_t trace_ids;		/* the last trace id given */
	int answer_oif;			/* private: with forward_all, where the router's own
					 * answers leave (the answered packet's iif), -1 none */
	bool hold_next;			/* the next packet to reach POSTROUTING's confirm row
					 * stops there, "in flight" (router_release()) */
	struct router_held *held;	/* private: that packet, or NULL */

	/* Derived, private: each hook's rows in router_ladder() (first, count),
	 * and which RULES/NAT rows have a chain of r->rs in their band (bit =
	 * row index), recomputed when r->rs (its serial) changes. An empty row
	 * costs nothing, as a hook with no registered entry costs nothing in
	 * the kernel. */
	uint8_t hook_first[CT_HOOK_MAX], hook_rows[CT_HOOK_MAX];
	uint64_t rows_serial;		/* 0: not computed (serials start at 1) */
	uint32_t rows_busy;
};

/**
 * router_init - an empty router on @core (no ruleset: everything is
 * accepted; no tracer); packets leave through @xmit(@arg, ...), which may
 * be NULL. Add interfaces with router_add_if().
 */
void router_init(struct router *r, struct ct_core *core, router_xmit_fn xmit, void *arg);
/** router_fini - free what router_init() allocated (the defragmenter). */
void router_fini(struct router *r);
/** router_add_if - interface @name, ctsim's addresses and prefix lengths
 *  (@addr4/@addr6 may be NULL). Returns its index, or -1 when full. */
int router_add_if(struct router *r, const char *name, const union ct_addr *addr4, uint8_t plen4,
		  const union ct_addr *addr6, uint8_t plen6);

/**
 * router_receive - one packet arrived on interface @iif (L3 bytes).
 * @data may be rewritten in place (TTL, and NAT later). Returns the
 * verdict: CT_ACCEPT if it was forwarded or delivered, CT_DROP otherwise;
 * r->last says more (reset here: verdict, reason, NAT statements met).
 * Each hook runs its rows of router_ladder() in order, until a drop.
 */
int router_receive(struct router *r, int iif, uint8_t *data, size_t len, uint64_t tstamp_ns);

/**
 * router_addr_del - ctsim's @family address on interface @ifidx (0-based)
 * goes away (`ip addr del`): the interface has none of that family from now
 * on, and the masquerade entries bound to it are deleted, with their
 * [DESTROY] events: those whose masquerade took its address from this
 * interface and whose reply tuple goes to the address removed
 * (nf_nat_masquerade.c: masq_inet_event() / masq_inet6_event(), inet_cmp()).
 * Returns the number of entries deleted, or -1 when the interface has no
 * such address.
 */
int router_addr_del(struct router *r, unsigned ifidx, uint8_t family);

/**
 * router_release - a packet held "in flight" (r->hold_next was set when it
 * came in: it went through every row of its path up to POSTROUTING's
 * confirm row, NAT included, and stopped there, its entry unconfirmed, as
 * on a CPU about to run __nf_conntrack_confirm() while another packet of
 * the flow runs on a second CPU) goes on: confirmation (where a packet of
 * the same flow confirmed meanwhile makes it a clash, nf_ct_resolve_clash())
 * and out. Two packets can be in flight together this way, deterministically.
 * r->last describes the released packet. Returns its verdict (CT_ACCEPT /
 * CT_DROP), or -1 when nothing is held.
 */
int router_release(struct router *r);

/**
 * router_trace_format - one step as one line into @buf (@n bytes, always
 * NUL-terminated, no newline), in the shape of `nft monitor trace`:
 *   trace id ID FAMILY TABLE CHAIN packet: iif "ct-c0" oif "ct-s0" ip saddr ...
 *   trace id ID FAMILY TABLE CHAIN rule RULE (verdict V)
 *   trace id ID FAMILY TABLE CHAIN verdict continue
 *   trace id ID FAMILY TABLE CHAIN policy P
 * (a rule step whose .first is set gives the packet line first, so two
 * lines, separated by a newline), conntrack's steps as
 *   trace id ID conntrack HOOK KIND: TEXT
 * a `log` statement's line as
 *   trace id ID log HOOK: LINE
 * a row of the ladder as
 *   trace id ID hook HOOK ROW PRIORITY        (e.g. "hook prerouting conntrack -200")
 * and the end as
 *   trace id ID ctsim VERDICT[: WHY]
 * With @json, one JSON object per step instead ({"id", "type": "packet" |
 * "rule" | "return" | "policy" | "conntrack" | "end", ...}; a rule step with
 * .first gives the packet object, a newline, and the rule object).
 * Returns the length written (cut at @n - 1).
 */
size_t router_trace_format(char *buf, size_t n, const struct router_trace_step *st, bool json);

/**
 * router_trace_file - a router_trace_fn printing each step with
 * router_trace_format() as text lines to the FILE * @ctx (flushed per
 * packet end).
 */
void router_trace_file(void *ctx, const struct router_trace_step *st);
/** router_trace_file_json - the same as JSON lines. */
void router_trace_file_json(void *ctx, const struct router_trace_step *st);

#endif
