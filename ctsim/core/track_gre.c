/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * track_gre.c — GRE (nf_conntrack_proto_gre.c). Version 0 is keyed like a
 * generic protocol (keys 0). Version 1 (enhanced GRE, PPTP) carries the
 * receiver's call id, the tuple's destination key; the source key comes
 * from the PPTP helper's keymap (gre_keymap.c, looked up right after
 * ct_pkt_get_tuple() by the pipeline: gre_pkt_to_tuple()).
 *
 * Timeouts: nf_conntrack_gre_timeout (30 s) until a reply was seen, then
 * nf_conntrack_gre_timeout_stream (180 s) and ASSURED from the first packet
 * that follows the reply (SEEN_REPLY is set after the reply is handled).
 * The kernel copies both into the entry on its first packet (so that a
 * helper could change them); the PPTP helper's pptp_expectfn() does set
 * 600 s / 5 h, but before that very copy, which overwrites them: the
 * settings are all an entry ever uses, so ctsim reads them directly.
 */
#include "ctsim/core/l4proto.h"
#include "ctsim/core/expect.h"
#include "ctsim/core/helper.h"

static uint32_t gre_timeout(const struct ct_settings *s, const struct conn *ct)
{
	return (ct->status & CT_S_SEEN_REPLY) ? s->gre_timeout_stream : s->gre_timeout;
}

/* init_conntrack() calls exp->expectfn() for a new entry that matched an
 * expectation; the PPTP helper's pptp_expectfn() (without NAT) removes
 * the expectation of the other direction, found by inverting the matched
 * one's tuple (= this entry's reply tuple: PPTP expectations have exact
 * masks). ctsim keeps no expectfn in expectations: a first packet of an
 * EXPECTED GRE entry whose master has the pptp helper does it here, on the
 * same packet and before anything else the tracker does. (Expectations
 * made by userspace for a pptp master have no expectfn in the kernel;
 * ctsim treats them like the helper's.) Only the pptp helper has an
 * expectfn (helpers/pptp.c). */
static const char *gre_new(struct ct_l4_ctx *x, struct conn *ct)
{
	struct ct_table *t = x->core->table;
	struct conn *m = ct->ext ? ct->ext->master_ct : NULL;
	const struct ct_helper *h;

	if (!(ct->status & CT_S_EXPECTED) || !m || !(h = ct_helper_of(m)) || !h->expectfn)
		return NULL;
	h->expectfn(t, ct);
	return NULL;
}

/* nf_conntrack_gre_packet() */
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
	.new = gre_new,
	.packet = gre_packet,
};
