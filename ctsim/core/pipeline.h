/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pipeline.h — the tracking pipeline: what the kernel's conntrack hooks do to
 * a packet (nf_conntrack_in() at priority -200 of PREROUTING and OUTPUT,
 * nf_confirm() last in POSTROUTING and INPUT), on ctsim's table.
 *
 * A packet travels the hooks as a struct ct_skb. ct_in() finds or creates
 * its entry (new entries stay unconfirmed, referenced only by the skb), runs
 * the protocol tracker and sets ctinfo; ct_confirm() inserts a new entry in
 * the table; ct_skb_done() delivers the packet's cached events and releases
 * the skb's reference — for a dropped packet, an unconfirmed entry simply
 * disappears, with no event, as in the kernel.
 *
 * The core does no I/O: sources (TUN, pcap, scenario files) and the hook
 * ladder drive it.
 */
#ifndef CTSIM_PIPELINE_H
#define CTSIM_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include "ctsim/core/clock.h"
#include "ctsim/core/event.h"
#include "ctsim/core/packet.h"
#include "ctsim/core/settings.h"
#include "ctsim/core/table.h"
#include "ctsim/core/trace.h"

enum ct_hook {
	CT_HOOK_PREROUTING, CT_HOOK_INPUT, CT_HOOK_FORWARD, CT_HOOK_OUTPUT,
	CT_HOOK_POSTROUTING, CT_HOOK_MAX
};

/* enum ip_conntrack_info */
enum ct_info {
	CT_INFO_ESTABLISHED = 0,
	CT_INFO_RELATED = 1,
	CT_INFO_NEW = 2,
	CT_INFO_ESTABLISHED_REPLY = 3,
	CT_INFO_RELATED_REPLY = 4,
	CT_INFO_UNTRACKED = 7,
};

/* Netfilter verdicts. */
#define CT_DROP		0
#define CT_ACCEPT	1

/* Everything the pipeline works on. */
struct ct_core {
	struct ct_table *table;
	const struct ct_settings *settings;
	struct ct_events *events;
	struct ct_clock *clock;
};

/* A packet on its way through the hooks (the skb and its _nfct). */
struct ct_skb {
	struct ct_pkt pkt;
	struct conn *ct;		/* referenced entry, or NULL: invalid or untracked */
	enum ct_info ctinfo;
	bool untracked;			/* `notrack` before -200: ct state untracked */
	const char *invalid_reason;	/* set when ct state is invalid: kernel-like wording */
	struct ct_zone zone;		/* template: `ct zone set` before -200 */
	const struct ct_helper *helper;	/* template: `ct helper set` (the registered
					 * helper of the packet's family and protocol) */
	uint32_t cached_events;		/* CT_EV() bits, delivered by ct_skb_done() */
	char helper_note[80];		/* what the entry's helper did with it, for traces
					 * ("ftp: 1 expectation", "ftp: partial matching") */
	bool helper_dropped;		/* the helper returned NF_DROP */
	const struct ct_tracer *tracer;	/* non-NULL: the packet is traced (trace.h) */
};

/** ct_skb_init - an skb for @data/@len (not parsed yet), zone 0, no entry. */
void ct_skb_init(struct ct_skb *skb, uint8_t *data, size_t len);

/**
 * ct_in - nf_conntrack_in(): at PREROUTING (packets arriving) or OUTPUT
 * (packets ctsim sends itself). Parses the packet if needed, handles ICMP
 * errors (RELATED), finds or creates the entry, runs the L4 tracker.
 * Returns CT_ACCEPT or CT_DROP (table full, TCP reopen races). Counts the
 * kernel's statistics (found, invalid, error, drop, early_drop ...).
 */
int ct_in(struct ct_core *core, struct ct_skb *skb, enum ct_hook hook);

/**
 * ct_confirm - nf_confirm() at the last priority of POSTROUTING or INPUT:
 * insert an unconfirmed entry (clash handling: insert_failed, clash_resolve,
 * drop), set CONFIRMED, queue NEW or RELATED. Returns CT_ACCEPT or CT_DROP.
 */
int ct_confirm(struct ct_core *core, struct ct_skb *skb);

/**
 * ct_skb_done - the packet leaves ctsim (sent, delivered or dropped):
 * deliver its cached events (nf_ct_deliver_cached_events()) unless
 * @dropped, and release its reference; an unconfirmed entry is freed.
 */
void ct_skb_done(struct ct_core *core, struct ct_skb *skb, bool dropped);

/**
 * ct_invalid_log_msg - what the kernel's nf_l4proto_log_invalid() says
 * (after "nf_ct_proto_N: ") for @skb's INVALID reason, into @buf (@n
 * bytes): its exact message, which differs from skb->invalid_reason where
 * the kernel adds addresses ("outer daddr A != inner B") or words it
 * otherwise ("invalid new"). Returns false when the kernel logs nothing
 * for this reason (a TCP header too short to read, an ICMP type that cannot
 * open an entry, an ICMP error without an entry: pr_debug() only).
 */
bool ct_invalid_log_msg(const struct ct_skb *skb, char *buf, size_t n);

/** ct_skb_state_name - "new", "established", "related", "invalid",
 *  "untracked" as `ct state` spells them, for @skb's ctinfo (the tracer and
 *  `ct state` matching print the same words). */
const char *ct_skb_state_name(const struct ct_skb *skb);

#endif
