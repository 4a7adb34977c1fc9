/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * track_generic.c — any protocol without a tracker of its own
 * (nf_conntrack_proto_generic.c): the tuple is the addresses and the
 * protocol number, every packet refreshes nf_conntrack_generic_timeout
 * (600 s), never ASSURED. conntrack -L prints it as "unknown 253 600".
 */
#include "ctsim/core/l4proto.h"

static uint32_t generic_timeout(const struct ct_settings *s, const struct conn *ct)
{
	(void)ct;
	return s->generic_timeout;
}

/* generic_packet() */
static enum ct_l4_verdict generic_packet(struct ct_l4_ctx *x, struct conn *ct, const char **reason)
{
	(void)reason;
	ct_l4_refresh(x, ct, generic_timeout(x->core->settings, ct));
	return CT_L4_ACCEPT;
}

const struct ct_l4proto ct_l4proto_generic = {
	.name = "unknown",
	.l4num = 0,
	.allow_clash = true,
	.packet = generic_packet,
};
