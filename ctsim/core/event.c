/* SPDX-License-Identifier: GPL-2.0-or-later */
/* event.c — the event bus (see event.h). */
#include <errno.h>
#include "ctsim/core/event.h"
#include "ctsim/core/table.h"

int ct_events_subscribe(struct ct_events *e, ct_event_fn fn, void *arg)
{
	if (e->nsub >= CT_EVENT_MAX_SUBSCRIBERS)
		return -ENOSPC;
	e->sub[e->nsub].fn = fn;
	e->sub[e->nsub].arg = arg;
	e->nsub++;
	return 0;
}

/* nf_ct_ecache_ext_add() with no template mask. */
bool ct_events_want(const struct ct_events *e)
{
	switch (e->mode) {
	case 1:
		return true;
	case 2:
		return e->listeners > 0;
	default:
		return false;
	}
}

/* nf_conntrack_eventmask_report(): nothing for entries without the cache. */
void ct_events_report(struct ct_events *e, struct conn *ct, uint32_t mask,
		      uint32_t portid, bool report)
{
	struct ct_event ev = { .ct = ct, .mask = mask, .portid = portid, .report = report };

	if (!e || !(ct->flags & CONN_F_ECACHE) || !mask)
		return;
	for (unsigned i = 0; i < e->nsub; i++)
		e->sub[i].fn(e->sub[i].arg, &ev);
}

int ct_events_subscribe_exp(struct ct_events *e, ct_exp_event_fn fn, void *arg)
{
	if (e->nexp_sub >= CT_EVENT_MAX_SUBSCRIBERS)
		return -ENOSPC;
	e->exp_sub[e->nexp_sub].fn = fn;
	e->exp_sub[e->nexp_sub].arg = arg;
	e->nexp_sub++;
	return 0;
}

void ct_events_report_exp(struct ct_events *e, const struct ct_expect *exp, uint32_t mask,
			  uint32_t portid, bool report)
{
	struct ct_exp_event ev = { .exp = exp, .mask = mask, .portid = portid, .report = report };

	if (!e || !mask)
		return;
	for (unsigned i = 0; i < e->nexp_sub; i++)
		e->exp_sub[i].fn(e->exp_sub[i].arg, &ev);
}
