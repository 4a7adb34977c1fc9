/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * track_udp.c — UDP and UDP-Lite (nf_conntrack_proto_udp.c).
 *
 * No states: nf_conntrack_udp_timeout (30 s) per packet until the entry is
 * a "stream": a packet that arrives when a reply was already seen AND more
 * than 2 s after the entry was created gets nf_conntrack_udp_timeout_stream
 * (120 s) and sets ASSURED (one [UPDATE] event). The reply itself still
 * gets 30 s: SEEN_REPLY is only set after the tracker has run.
 */
#include <string.h>
#include "ctsim/core/l4proto.h"

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* udp_error() */
static const char *udp_error(const struct ct_l4_ctx *x)
{
	const struct ct_pkt *p = &x->skb->pkt;
	const uint8_t *h = p->data + p->l4off;
	uint16_t len;

	if (p->l4_truncated || p->l4len < 8)
		return CT_INV_SHORT;
	len = rd16(h + 4);
	if (len > p->l4len || len < 8)
		return CT_INV_TRUNCATED;
	if (rd16(h + 6) == 0)		/* packet with no checksum */
		return NULL;
	if (ct_l4_checksum_wanted(x) && !ct_pkt_l4_csum_ok(p))
		return CT_INV_BAD_CSUM;
	return NULL;
}

/* udplite_error() */
static const char *udplite_error(const struct ct_l4_ctx *x)
{
	const struct ct_pkt *p = &x->skb->pkt;
	const uint8_t *h = p->data + p->l4off;
	uint16_t cscov;

	if (p->l4_truncated || p->l4len < 8)
		return CT_INV_SHORT;
	cscov = rd16(h + 4);
	if (cscov != 0 && (cscov < 8 || cscov > p->l4len))
		return CT_INV_UDPLITE_COV;
	if (rd16(h + 6) == 0)		/* UDP-Lite mandates checksums */
		return CT_INV_UDPLITE_NOCSUM;
	if (ct_l4_checksum_wanted(x) && !ct_pkt_l4_csum_ok(p))
		return CT_INV_BAD_CSUM;
	return NULL;
}

/* nf_conntrack_udp_packet(), first packet: when the entry may become a stream */
static const char *udp_new(struct ct_l4_ctx *x, struct conn *ct)
{
	memset(&ct->proto, 0, sizeof(ct->proto));
	ct->proto.udp.stream_ts = x->core->table->now + 2 * CT_NSEC_PER_SEC;
	return NULL;
}

/* nf_conntrack_udp_packet() */
static enum ct_l4_verdict udp_packet(struct ct_l4_ctx *x, struct conn *ct, const char **reason)
{
	const struct ct_settings *s = x->core->settings;
	uint32_t status = ct->status;
	/* nf_ct_timeout_lookup(): an nft `ct timeout` policy first */
	bool policy = ct->ext && (ct->ext->has & CONN_EXT_TIMEOUT);
	uint32_t unreplied = policy ? ct->ext->timeouts[CT_TO_UDP_UNREPLIED] : s->udp_timeout;
	uint32_t replied = policy ? ct->ext->timeouts[CT_TO_UDP_REPLIED] : s->udp_timeout_stream;

	(void)reason;
	if (status & CT_S_SEEN_REPLY) {
		uint32_t secs = unreplied;
		bool stream = false;

		/* still active after two seconds? a stream */
		if ((int64_t)(x->core->table->now - ct->proto.udp.stream_ts) > 0) {
			secs = replied;
			stream = !(status & CT_S_ASSURED);
		}
		CT_TRACE(x->skb, CT_TR_TIMEOUT, "udp %u s (%s%s)", secs,
			 (int64_t)(x->core->table->now - ct->proto.udp.stream_ts) > 0
			 ? "replied, active after 2 s: a stream, udp_timeout_stream"
			 : "replied, within 2 s of the first packet: udp_timeout",
			 policy ? ", of the entry's ct timeout policy" : "");
		ct_l4_refresh(x, ct, secs);
		/* never ASSURED for NAT_CLASH (CT_S_UNTRACKED) entries */
		if (stream && !(status & CT_S_UNTRACKED))
			ct_l4_set_assured(x, ct);
	} else {
		CT_TRACE(x->skb, CT_TR_TIMEOUT, "udp %u s (no reply seen before this packet: udp_timeout%s)",
			 unreplied, policy ? ", of the entry's ct timeout policy" : "");
		ct_l4_refresh(x, ct, unreplied);
	}
	return CT_L4_ACCEPT;
}

const struct ct_l4proto ct_l4proto_udp = {
	.name = "udp",
	.l4num = IPPROTO_UDP,
	.allow_clash = true,
	.error = udp_error,
	.new = udp_new,
	.packet = udp_packet,
};

const struct ct_l4proto ct_l4proto_udplite = {
	.name = "udplite",
	.l4num = IPPROTO_UDPLITE,
	.allow_clash = true,
	.error = udplite_error,
	.new = udp_new,
	.packet = udp_packet,
};
