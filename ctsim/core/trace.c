/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace.c — conntrack's steps handed to the packet's tracer (trace.h).
 */
#include <stdio.h>
#include "ctsim/core/pipeline.h"
#include "ctsim/core/trace.h"

static const char *const kind_names[CT_TR_MAX] = {
	[CT_TR_LOOKUP] = "lookup", [CT_TR_CTINFO] = "ctinfo", [CT_TR_TRACKER] = "tracker",
	[CT_TR_WINDOW] = "window", [CT_TR_TIMEOUT] = "timeout", [CT_TR_INVALID] = "invalid",
	[CT_TR_HELPER] = "helper", [CT_TR_CONFIRM] = "confirm", [CT_TR_EVENT] = "event",
	[CT_TR_LOG] = "log", [CT_TR_NAT] = "nat",
};

const char *ct_trace_kind_name(enum ct_trace_kind kind)
{
	return (unsigned)kind < CT_TR_MAX ? kind_names[kind] : "?";
}

void ct_trace_step(const struct ct_skb *skb, enum ct_trace_kind kind, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (!skb->tracer || !skb->tracer->step)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	skb->tracer->step(skb->tracer->ctx, kind, text);
}
