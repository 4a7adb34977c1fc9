// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ct_timeout.c — timeout policies (ct_timeout.h). The state names are nft's
 * (src/ct.c of nftables: the timeout_protocol tables), the semantics the
 * kernel's: nft_ct_timeout_obj_eval() attaches the policy to an unconfirmed
 * entry only and refreshes it to the policy's first value at once; the
 * trackers then read nf_ct_timeout_lookup() before the per-net defaults.
 */
#include <netinet/in.h>
#include <string.h>

#include "ctsim/core/ct_timeout.h"
#include "ctsim/core/table.h"
#include "ctsim/core/trace.h"

/* nft's names, by index (TCP: enum ct_tcp_state, then retrans, unack). */
static const char *const tcp_names[CT_TO_MAX] = {
	NULL, "syn_sent", "syn_recv", "established", "fin_wait", "close_wait", "last_ack",
	"time_wait", "close", "syn_sent2", "retrans", "unack",
};
static const char *const udp_names[CT_TO_MAX] = { "unreplied", "replied" };

static const char *const *names_of(uint8_t l4proto)
{
	return l4proto == IPPROTO_TCP ? tcp_names : l4proto == IPPROTO_UDP ? udp_names : NULL;
}

int ct_timeout_state_index(uint8_t l4proto, const char *name)
{
	const char *const *n = names_of(l4proto);

	for (unsigned i = 0; n && i < CT_TO_MAX; i++)
		if (n[i] && !strcmp(n[i], name))
			return (int)i;
	return -1;
}

const char *ct_timeout_state_name(uint8_t l4proto, unsigned index)
{
	const char *const *n = names_of(l4proto);

	return n && index < CT_TO_MAX ? n[index] : NULL;
}

int ct_timeout_apply(struct ct_core *core, struct ct_skb *skb, const struct ct_timeout_obj *p)
{
	const struct ct_settings *s = core->settings;
	struct conn *ct = skb->ct;
	struct conn_ext *e;
	uint32_t v[CT_TO_MAX] = { 0 };

	if (p->l4proto != skb->pkt.l4proto)
		return CT_ACCEPT;
	if (!ct || (ct->status & (CT_S_CONFIRMED | CT_S_TEMPLATE)))
		return CT_ACCEPT;
	if (p->l4proto == IPPROTO_TCP) {
		memcpy(v, s->tcp_timeout, sizeof(s->tcp_timeout));
		v[CT_TO_TCP_RETRANS] = s->tcp_timeout_max_retrans;
		v[CT_TO_TCP_UNACK] = s->tcp_timeout_unacknowledged;
	} else {
		v[CT_TO_UDP_UNREPLIED] = s->udp_timeout;
		v[CT_TO_UDP_REPLIED] = s->udp_timeout_stream;
	}
	for (unsigned i = 0; i < CT_TO_MAX; i++)
		if (p->given & (1u << i))
			v[i] = p->values[i];
	if (p->l4proto == IPPROTO_TCP)
		v[0] = v[CT_TCP_SYN_SENT];	/* CTA_TIMEOUT_TCP_UNSPEC */
	e = conn_ext_add(ct);
	if (!e)
		return CT_DROP;
	memcpy(e->timeouts, v, sizeof(v));
	e->has |= CONN_EXT_TIMEOUT;
	/* nf_ct_refresh() (not _acct: the packet was counted by the tracker) */
	if (!(ct->status & CT_S_FIXED_TIMEOUT)) {
		conn_set_timeout(core->table, ct, v[0]);
		ct->expires -= core->table->now;	/* unconfirmed: relative */
	}
	CT_TRACE(skb, CT_TR_TIMEOUT, "ct timeout policy \"%s\" attached to entry id %u: timeout "
		 "set to %u s (the policy's first value)", p->name, ct->id, v[0]);
	return CT_ACCEPT;
}
