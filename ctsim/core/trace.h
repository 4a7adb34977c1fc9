/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace.h — conntrack's own steps for a traced packet: what `nft monitor
 * trace` cannot show (the lookup, ctinfo, the tracker's transition and
 * window check, the timeout chosen, the INVALID reason, helper actions,
 * confirmation, the events). The core does no I/O: it hands each step, as
 * one short text in the kernel's wording, to a callback that the layers
 * above format (ctsim/hooks/trace_fmt.c: text or JSON lines).
 *
 * A packet is traced when its skb carries a tracer (skb->tracer != NULL,
 * set by the router for packets with meta nftrace, or all packets); an
 * untraced packet costs one pointer test per step (CT_TRACE()).
 */
#ifndef CTSIM_TRACE_H
#define CTSIM_TRACE_H

#include <stdarg.h>

struct ct_skb;

/* What a step is about (the "kind" of a JSON trace line). */
enum ct_trace_kind {
	CT_TR_LOOKUP,	/* existing entry and direction, new, expected, ICMP error */
	CT_TR_CTINFO,	/* the packet's ctinfo (and ct state) */
	CT_TR_TRACKER,	/* the L4 tracker's step (TCP: the transition cell) */
	CT_TR_WINDOW,	/* TCP window check: the values and the failed condition */
	CT_TR_TIMEOUT,	/* the timeout chosen, and why */
	CT_TR_INVALID,	/* ct state invalid: the kernel's reason */
	CT_TR_HELPER,	/* what a conntrack helper did */
	CT_TR_CONFIRM,	/* confirmation, clash, table full, early drop */
	CT_TR_EVENT,	/* the events delivered for the entry */
	CT_TR_LOG,	/* a `log` statement's line (nf_log_syslog format) */
	CT_TR_NAT,	/* the NAT binding made for a new entry (nf_nat_setup_info) */
	CT_TR_MAX
};

/**
 * ct_trace_kind_name - "lookup", "ctinfo", "tracker", "window", "timeout",
 * "invalid", "helper", "confirm", "event", "log", "nat" ("?" out of range).
 */
const char *ct_trace_kind_name(enum ct_trace_kind kind);

/* The receiver of a traced packet's steps: @text is valid during the call. */
struct ct_tracer {
	void (*step)(void *ctx, enum ct_trace_kind kind, const char *text);
	void *ctx;
};

/**
 * ct_trace_step - format one step (printf-style) and hand it to
 * skb->tracer; nothing when the skb has no tracer. Texts longer than 512
 * bytes are cut. Use CT_TRACE(), which skips the call for untraced packets.
 */
void ct_trace_step(const struct ct_skb *skb, enum ct_trace_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), cold));

#define CT_TRACE(skb, ...)						\
	do {								\
		if (__builtin_expect((skb)->tracer != NULL, 0))		\
			ct_trace_step((skb), __VA_ARGS__);		\
	} while (0)

#endif
