/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * event.h — the event bus (nf_conntrack_ecache.c). The single source of
 * change notifications: the ctnetlink server's multicast groups, and later
 * ctctl views, the tracer and scenario expectations, subscribe here.
 *
 * Whether an entry produces events at all is decided when it is created,
 * as the kernel's nf_ct_ecache_ext_add() does with nf_conntrack_events:
 * 1 always, 0 never, 2 (default) only if a ctnetlink listener exists then.
 */
#ifndef CTSIM_EVENT_H
#define CTSIM_EVENT_H

#include <stdbool.h>
#include <stdint.h>

struct conn;

/* enum ip_conntrack_events, bit numbers as in the kernel. */
enum ct_event_bit {
	CT_EV_NEW, CT_EV_RELATED, CT_EV_DESTROY, CT_EV_REPLY, CT_EV_ASSURED,
	CT_EV_PROTOINFO, CT_EV_HELPER, CT_EV_MARK, CT_EV_SEQADJ, CT_EV_SECMARK,
	CT_EV_LABEL, CT_EV_SYNPROXY,
};
#define CT_EV(bit) (1u << CT_EV_##bit)

struct ct_event {
	struct conn *ct;
	uint32_t mask;		/* CT_EV(...) bits */
	uint32_t portid;	/* netlink port id of the originator, 0 for packets */
	bool report;		/* the originator asked for an echo (NLM_F_ECHO) */
};

typedef void (*ct_event_fn)(void *arg, const struct ct_event *ev);

/* Expectation events (enum ip_conntrack_expect_events): NEW and DESTROY,
 * multicast to NFNLGRP_CONNTRACK_EXP_NEW / _EXP_DESTROY. A separate
 * subscriber list, so conntrack subscribers never see them. */
struct ct_expect;
enum ct_exp_event_bit { CT_EXPEV_NEW, CT_EXPEV_DESTROY };
#define CT_EXPEV(bit) (1u << CT_EXPEV_##bit)

struct ct_exp_event {
	const struct ct_expect *exp;	/* alive during the callback */
	uint32_t mask;			/* CT_EXPEV(...) bits */
	uint32_t portid;		/* originator, 0 for packets */
	bool report;
};

typedef void (*ct_exp_event_fn)(void *arg, const struct ct_exp_event *ev);

#define CT_EVENT_MAX_SUBSCRIBERS 8

struct ct_events {
	struct { ct_event_fn fn; void *arg; } sub[CT_EVENT_MAX_SUBSCRIBERS];
	unsigned nsub;
	struct { ct_exp_event_fn fn; void *arg; } exp_sub[CT_EVENT_MAX_SUBSCRIBERS];
	unsigned nexp_sub;
	unsigned listeners;	/* ctnetlink sockets bound to a conntrack group */
	uint32_t mode;		/* nf_conntrack_events */
};

/** ct_events_subscribe - add a subscriber; returns 0 or -ENOSPC. */
int ct_events_subscribe(struct ct_events *e, ct_event_fn fn, void *arg);
/** ct_events_want - should a new entry carry the event cache? */
bool ct_events_want(const struct ct_events *e);
/** ct_events_report - deliver @mask for @ct if it carries the event cache. */
void ct_events_report(struct ct_events *e, struct conn *ct, uint32_t mask,
		      uint32_t portid, bool report);

/** ct_events_subscribe_exp - add an expectation-event subscriber; 0 or -ENOSPC. */
int ct_events_subscribe_exp(struct ct_events *e, ct_exp_event_fn fn, void *arg);
/**
 * ct_events_report_exp - nf_ct_expect_event_report(): deliver @mask for
 * @exp. The kernel sends them only when the master carries the event
 * cache; ctsim always sends them (allowed by ctnetlink-compat.md §6).
 */
void ct_events_report_exp(struct ct_events *e, const struct ct_expect *exp, uint32_t mask,
			  uint32_t portid, bool report);

#endif
