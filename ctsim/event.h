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

#define CT_EVENT_MAX_SUBSCRIBERS 8

struct ct_events {
	struct { ct_event_fn fn; void *arg; } sub[CT_EVENT_MAX_SUBSCRIBERS];
	unsigned nsub;
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

#endif
