/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * overflow.h — what happens when the table is full: the kernel's own rules
 * (early drop's companions: which entries the GC may kill after a
 * table-full event, the rate-limited log line) and, beyond the kernel, the
 * overflow policies ctsim can switch to (setting ctsim_overflow_policy).
 *
 * The kernel (nf_conntrack_core.c, Linux 6.18): __nf_conntrack_alloc()
 * counts the new entry; over nf_conntrack_max it calls early_drop() (in
 * table.c: the non-ASSURED entries of the first of 8 buckets that has
 * any); if that fails it raises gc_work.early_drop, logs "table full,
 * dropping packet" (ratelimited) and the packet is dropped. The GC worker,
 * seeing the flag, kills every entry gc_worker_can_early_drop() allows in
 * a netns at or above 95 % of the limit.
 *
 * The policies (the talk's candidates, issue 13) compose with that: the
 * kernel's early_drop() always runs first (so a policy never evicts more
 * than the kernel where the kernel finds room); only where the kernel
 * would drop the packet does the policy pick a victim, one entry, within
 * ctsim_overflow_scan buckets from the new tuple's bucket (by default the
 * NF_CT_EVICTION_RANGE buckets early_drop() has just walked: bounded cost). The table of policies and the reason for
 * each is in overflow.c.
 */
#ifndef CTSIM_OVERFLOW_H
#define CTSIM_OVERFLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct ct_table;
struct conn;

enum ct_overflow_policy {
	CT_OVF_KERNEL = 0,	/* Linux: early drop of non-ASSURED, then drop */
	CT_OVF_WAIT_FIRST,	/* + evict TCP in a closing state */
	CT_OVF_MIN_LIFETIME,	/* + evict an ASSURED entry idle > min lifetime */
	CT_OVF_ADAPTIVE,	/* pf: timeouts scaled down as the table fills */
	CT_OVF_NO_NAT_FIRST,	/* + evict an entry without a NAT binding */
	CT_OVF_LRU,		/* + evict the least recently used (Cilium, VPP) */
	CT_OVF_EMERGENCY,	/* Suricata: emergency timeouts until recovered */
	CT_OVF_MAX
};

/* Eviction classes, for the counters (struct ct_overflow_stats). */
enum ct_ovf_class {
	CT_OVC_TCP_OPENING,	/* SYN_SENT, SYN_RECV, SYN_SENT2, NONE */
	CT_OVC_TCP_ESTABLISHED,
	CT_OVC_TCP_CLOSING,	/* FIN_WAIT, CLOSE_WAIT, LAST_ACK, CLOSE */
	CT_OVC_TCP_TIME_WAIT,
	CT_OVC_UDP,
	CT_OVC_OTHER,
	CT_OVC_MAX
};

/* Counters of the table-full path, ctsim's own (not in conntrack -S). */
struct ct_overflow_stats {
	uint64_t full;			/* allocations that found the table full */
	uint64_t refused;		/* ... and failed: the packet was dropped */
	uint64_t early_dropped[CT_OVC_MAX];	/* by the kernel's early_drop() */
	uint64_t gc_killed[CT_OVC_MAX];	/* by the GC after a table-full event */
	uint64_t evicted[CT_OVC_MAX];	/* by the policy (beyond the kernel) */
	uint64_t evicted_assured;	/* of those, ASSURED entries (live flows) */
	uint64_t evicted_nat;		/* of those, with a NAT binding (break for good) */
	uint64_t expired_adaptive;	/* killed by adaptive/emergency timeouts */
	uint64_t emergency_entered;	/* emergency mode switched on */
	uint64_t logged, suppressed;	/* kernel log lines printed / held back by the ratelimit */
};

/* t->gc_factor_ppm of an unscaled timeout (adaptive policy: parts per million). */
#define CT_OVF_FACTOR_ONE	1000000u

/* The kernel's log lines (net_warn_ratelimited() in __nf_conntrack_alloc()
 * and __nf_ct_expect_check()). */
#define CT_TABLE_FULL_MSG	"nf_conntrack: table full, dropping packet"
#define CT_EXPECT_FULL_MSG	"nf_conntrack: expectation table full"

/** ct_overflow_policy_name - the setting's name of policy @p, NULL past the last. */
const char *ct_overflow_policy_name(uint32_t p);

/** ct_overflow_policy_reason - one line: what policy @p does and why. */
const char *ct_overflow_policy_reason(uint32_t p);

/** ct_overflow_policies_print - the policy table, one "name: reason" line each. */
void ct_overflow_policies_print(FILE *out);

/** ct_ovf_class_name - "tcp-established", ... for class @c. */
const char *ct_ovf_class_name(enum ct_ovf_class c);

/** ct_ovf_class_of - the eviction class of @c. */
enum ct_ovf_class ct_ovf_class_of(const struct conn *c);

/**
 * ct_can_early_drop - gc_worker_can_early_drop(): may the GC kill @c after
 * a table-full event? Every non-ASSURED entry; an ASSURED one only if its
 * tracker's can_early_drop() says so (TCP FIN_WAIT, CLOSE_WAIT, LAST_ACK,
 * TIME_WAIT, CLOSE: tcp_can_early_drop(); SCTP SHUTDOWN_SENT,
 * SHUTDOWN_RECD, SHUTDOWN_ACK_SENT: sctp_can_early_drop()). The kernel's
 * early_drop() at allocation does not ask the trackers.
 */
bool ct_can_early_drop(const struct conn *c);

/**
 * ct_overflow_full - the table is full and the kernel's early_drop() found
 * nothing around @hash (the new tuple's hash). Raises the GC's early-drop
 * flag and lets the policy try to evict one entry. Returns the number of
 * entries the policy freed (0: the caller drops the packet, and calls
 * ct_overflow_refused()).
 */
unsigned ct_overflow_full(struct ct_table *t, uint32_t hash);

/**
 * ct_overflow_refused - count the refusal and emit the kernel's log line,
 * rate-limited as net_ratelimit() (10 lines per 5 s, then a "N callbacks
 * suppressed" note with the next line), through t->log if set.
 */
void ct_overflow_refused(struct ct_table *t);

/**
 * ct_kernel_log_ratelimited - a net_warn_ratelimited() line of the kernel
 * (@line without the newline) through t->log, under the one ratelimit all
 * of them share (net_ratelimit(): 10 per 5 s). Counted in t->ovf.
 */
void ct_kernel_log_ratelimited(struct ct_table *t, const char *line);

/**
 * ct_overflow_gc_begin - at the start of one GC step: the kernel's
 * nf_conntrack_max95 (non-zero while the early-drop flag is raised) and the
 * policy's own state (adaptive factor, emergency mode). Returns true if
 * ct_overflow_gc_kill() must be asked about live entries in this step.
 */
bool ct_overflow_gc_begin(struct ct_table *t);

/**
 * ct_overflow_gc_kill - during a step for which ct_overflow_gc_begin()
 * returned true: should the GC kill the live, confirmed entry @c? Counts
 * the kill in t->ovf.
 */
bool ct_overflow_gc_kill(struct ct_table *t, const struct conn *c);

/** ct_overflow_gc_pass_done - a full GC pass ended: the kernel clears its early-drop flag. */
void ct_overflow_gc_pass_done(struct ct_table *t);

/**
 * ct_overflow_last_used - when @c last saw a packet (clock ns), derived from
 * its expiry and the timeout its state gets from the settings (ctsim keeps
 * no timestamp per entry; exact unless a timeout policy, the retrans or
 * unacknowledged timeout, or a ctnetlink update set another timeout).
 */
uint64_t ct_overflow_last_used(const struct ct_table *t, const struct conn *c);

/**
 * ct_chain_hist - the chain lengths of the hash: hist[k] = buckets holding
 * k nodes (k < nhist - 1), hist[nhist - 1] = buckets holding more; *longest
 * the longest chain. Nodes, not entries: each entry has two.
 */
void ct_chain_hist(const struct ct_table *t, uint32_t *hist, unsigned nhist, uint32_t *longest);

/**
 * ct_overflow_report - the table-full part of ctsim's own view of the
 * table (`ctctl table`, CTSIM_PROC_TABLE, after the size and chain lines
 * the server prints): the policy's line and, where non-zero, what the
 * table-full path did:
 * refusals and log lines, per eviction class what early_drop(), the GC's
 * kill mode and the policy removed, and the entries the adaptive or
 * emergency timeouts expired early. Nothing in the kernel shows
 * this (no netlink message carries a histogram).
 */
void ct_overflow_report(const struct ct_table *t, FILE *out);

#endif
