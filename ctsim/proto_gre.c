/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proto_gre.c — GRE (nf_conntrack_proto_gre.c). Version 0 is keyed like a
 * generic protocol (keys 0); version 1 (PPTP) carries call ids, the source
 * key coming from the PPTP helper's keymap (a later issue: 0 until then).
 *
 * Timeouts: nf_conntrack_gre_timeout (30 s) until a reply was seen, then
 * nf_conntrack_gre_timeout_stream (180 s) and ASSURED from the first packet
 * that follows the reply (SEEN_REPLY is set after the reply is handled).
 */
#include "ctsim/l4proto.h"

static uint32_t gre_timeout(const struct ct_settings *s, const struct conn *ct)
{
	return (ct->status & CT_S_SEEN_REPLY) ? s->gre_timeout_stream : s->gre_timeout;
}

/* nf_conntrack_gre_packet(). The kernel copies both timeouts into the
 * entry when it is created (so that the PPTP helper can change them);
 * ctsim reads the settings until PPTP arrives. */
static enum ct_l4_verdict gre_packet(struct ct_l4_ctx *x, struct conn *ct, const char **reason)
{
	uint32_t status = ct->status;

	(void)reason;
	ct_l4_refresh(x, ct, gre_timeout(x->core->settings, ct));
	/* never ASSURED for NAT_CLASH entries: they time out soon */
	if ((status & CT_S_SEEN_REPLY) && !(status & CT_S_UNTRACKED))
		ct_l4_set_assured(x, ct);
	return CT_L4_ACCEPT;
}

const struct ct_l4proto ct_l4proto_gre = {
	.name = "gre",
	.l4num = IPPROTO_GRE,
	.allow_clash = true,
	.packet = gre_packet,
	.timeout = gre_timeout,
};
