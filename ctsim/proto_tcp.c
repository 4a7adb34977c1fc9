/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proto_tcp.c — TCP (nf_conntrack_proto_tcp.c), MINIMAL for now: the
 * kernel's state transition table (shared reference §2.4, 6.12/6.18
 * version) as data, with a reason per cell, the flag checks, the special
 * cases that do not need sequence numbers (reopen after a close, RST before
 * a reply, SYN retransmissions, mid-stream pickup), ASSURED and timeouts.
 *
 * Not yet: window tracking (tcp_in_window(): td_end/td_maxend/td_maxwin per
 * direction, OVERSHOT, "SEQ is over upper bound" ...), retransmission and
 * unacknowledged-data timeouts, challenge ACKs, the RST sequence checks,
 * simultaneous-open details, SYN proxy. They come with the TCP issue; the
 * per-direction state will then grow in struct conn_tcp.
 */
#include <string.h>
#include "ctsim/l4proto.h"

/* IP_CT_TCP_FLAG_* (per direction, conn_tcp.flags[dir]) */
#define TCP_FLAG_CLOSE_INIT	0x04

/* get_conntrack_index() */
enum tcp_index { TCP_SYN_SET, TCP_SYNACK_SET, TCP_FIN_SET, TCP_ACK_SET, TCP_RST_SET,
		 TCP_NONE_SET, TCP_INDEX_MAX };

/* States as the table names them; sIV/sIG are pseudo-states. */
#define sNO CT_TCP_NONE
#define sSS CT_TCP_SYN_SENT
#define sSR CT_TCP_SYN_RECV
#define sES CT_TCP_ESTABLISHED
#define sFW CT_TCP_FIN_WAIT
#define sCW CT_TCP_CLOSE_WAIT
#define sLA CT_TCP_LAST_ACK
#define sTW CT_TCP_TIME_WAIT
#define sCL CT_TCP_CLOSE
#define sS2 CT_TCP_SYN_SENT2
#define sIV CT_TCP_MAX		/* INVALID */
#define sIG (CT_TCP_MAX + 1)	/* IGNORE: accept, change nothing */

struct tcp_cell {
	uint8_t next;
	const char *why;
};

#define C(s, w) { s, w }
/* frequent reasons */
#define IV_NOCONN	C(sIV, "no connection: this packet cannot open one")
#define IV_NOFLAG	C(sIV, "no SYN, FIN, ACK or RST flag")
#define RST_CLOSE	C(sCL, "RST closes the connection")

/* tcp_conntracks[dir][index][old_state] */
static const struct tcp_cell tcp_table[2][TCP_INDEX_MAX][CT_TCP_MAX] = {
[CT_DIR_ORIG] = {
[TCP_SYN_SET] = {
	C(sSS, "SYN opens a connection"),
	C(sSS, "SYN retransmitted"),
	C(sIG, "SYN in SYN_RECV: ignored, the SYN/ACK may have been lost"),
	C(sIG, "SYN on an established connection: ignored"),
	C(sIG, "SYN while closing: ignored"),
	C(sIG, "SYN while closing: ignored"),
	C(sIG, "SYN in LAST_ACK: ignored (may trigger a challenge ACK)"),
	C(sSS, "SYN in TIME_WAIT reopens the connection"),
	C(sSS, "SYN after CLOSE reopens the connection"),
	C(sS2, "SYN retransmitted in a simultaneous open"),
},
[TCP_SYNACK_SET] = {
	C(sIV, "SYN/ACK without a SYN"),
	C(sIV, "SYN/ACK from the side that sent the SYN"),
	C(sSR, "SYN/ACK retransmitted in a simultaneous open"),
	C(sIV, "SYN/ACK on an established connection"),
	C(sIV, "SYN/ACK while closing"),
	C(sIV, "SYN/ACK while closing"),
	C(sIV, "SYN/ACK while closing"),
	C(sIV, "SYN/ACK in TIME_WAIT"),
	C(sIV, "SYN/ACK after CLOSE"),
	C(sSR, "SYN/ACK in a simultaneous open"),
},
[TCP_FIN_SET] = {
	C(sIV, "FIN without a connection"),
	C(sIV, "FIN before the SYN/ACK"),
	C(sFW, "FIN during the handshake"),
	C(sFW, "FIN: the close starts"),
	C(sLA, "second FIN"),
	C(sLA, "FIN after the first FIN was acknowledged"),
	C(sLA, "FIN retransmitted"),
	C(sTW, "FIN in TIME_WAIT"),
	C(sCL, "FIN after CLOSE"),
	C(sIV, "FIN in a simultaneous open"),
},
[TCP_ACK_SET] = {
	C(sES, "ACK picks up an established connection (nf_conntrack_tcp_loose)"),
	C(sIV, "ACK without SYN/ACK from the side that sent the SYN"),
	C(sES, "ACK completes the handshake"),
	C(sES, "ACK on an established connection"),
	C(sCW, "ACK of the first FIN"),
	C(sCW, "ACK while half-closed"),
	C(sTW, "last ACK"),
	C(sTW, "ACK in TIME_WAIT"),
	C(sCL, "ACK after CLOSE"),
	C(sIV, "ACK in a simultaneous open before the SYN/ACK"),
},
[TCP_RST_SET] = {
	C(sIV, "RST without a connection"),
	RST_CLOSE, RST_CLOSE, RST_CLOSE, RST_CLOSE, RST_CLOSE,
	RST_CLOSE, RST_CLOSE, RST_CLOSE, RST_CLOSE,
},
[TCP_NONE_SET] = {
	IV_NOFLAG, IV_NOFLAG, IV_NOFLAG, IV_NOFLAG, IV_NOFLAG,
	IV_NOFLAG, IV_NOFLAG, IV_NOFLAG, IV_NOFLAG, IV_NOFLAG,
},
},
[CT_DIR_REPLY] = {
[TCP_SYN_SET] = {
	IV_NOCONN,
	C(sS2, "SYN in reply to a SYN: simultaneous open"),
	C(sIV, "SYN from the responder in SYN_RECV"),
	C(sIV, "SYN from the responder on an established connection"),
	C(sIV, "SYN from the responder while closing"),
	C(sIV, "SYN from the responder while closing"),
	C(sIV, "SYN from the responder while closing"),
	C(sSS, "SYN from the responder reopens from TIME_WAIT"),
	C(sIV, "SYN from the responder after CLOSE"),
	C(sS2, "SYN retransmitted in a simultaneous open"),
},
[TCP_SYNACK_SET] = {
	IV_NOCONN,
	C(sSR, "SYN/ACK answers the SYN"),
	C(sIG, "SYN/ACK retransmitted: ignored"),
	C(sIG, "SYN/ACK on an established connection: ignored"),
	C(sIG, "SYN/ACK while closing: ignored"),
	C(sIG, "SYN/ACK while closing: ignored"),
	C(sIG, "SYN/ACK while closing: ignored"),
	C(sIG, "SYN/ACK in TIME_WAIT: ignored"),
	C(sIG, "SYN/ACK after CLOSE: ignored"),
	C(sSR, "SYN/ACK in a simultaneous open"),
},
[TCP_FIN_SET] = {
	IV_NOCONN,
	C(sIV, "FIN from the responder before its SYN/ACK"),
	C(sFW, "FIN during the handshake"),
	C(sFW, "FIN: the close starts"),
	C(sLA, "second FIN"),
	C(sLA, "FIN after the first FIN was acknowledged"),
	C(sLA, "FIN retransmitted"),
	C(sTW, "FIN in TIME_WAIT"),
	C(sCL, "FIN after CLOSE"),
	C(sIV, "FIN in a simultaneous open"),
},
[TCP_ACK_SET] = {
	IV_NOCONN,
	C(sIG, "ACK from the responder in SYN_SENT: ignored (challenge ACK?)"),
	C(sSR, "ACK from the responder in SYN_RECV"),
	C(sES, "ACK on an established connection"),
	C(sCW, "ACK of the first FIN"),
	C(sCW, "ACK while half-closed"),
	C(sTW, "last ACK"),
	C(sTW, "ACK in TIME_WAIT"),
	C(sCL, "ACK after CLOSE"),
	C(sIG, "ACK in a simultaneous open: ignored"),
},
[TCP_RST_SET] = {
	IV_NOCONN,
	RST_CLOSE, RST_CLOSE, RST_CLOSE, RST_CLOSE, RST_CLOSE,
	RST_CLOSE, RST_CLOSE, RST_CLOSE, RST_CLOSE,
},
[TCP_NONE_SET] = {
	IV_NOFLAG, IV_NOFLAG, IV_NOFLAG, IV_NOFLAG, IV_NOFLAG,
	IV_NOFLAG, IV_NOFLAG, IV_NOFLAG, IV_NOFLAG, IV_NOFLAG,
},
},
};

/* get_conntrack_index() */
static enum tcp_index tcp_index(uint8_t flags)
{
	if (flags & CT_TCP_RST)
		return TCP_RST_SET;
	if (flags & CT_TCP_SYN)
		return (flags & CT_TCP_ACK) ? TCP_SYNACK_SET : TCP_SYN_SET;
	if (flags & CT_TCP_FIN)
		return TCP_FIN_SET;
	if (flags & CT_TCP_ACK)
		return TCP_ACK_SET;
	return TCP_NONE_SET;
}

/* tcp_valid_flags[]: flags without PSH, ECE and CWR */
static bool tcp_flags_valid(uint8_t flags)
{
	switch (flags & ~(CT_TCP_PSH | CT_TCP_ECE | CT_TCP_CWR)) {
	case CT_TCP_SYN:
	case CT_TCP_SYN | CT_TCP_URG:
	case CT_TCP_SYN | CT_TCP_ACK:
	case CT_TCP_RST:
	case CT_TCP_RST | CT_TCP_ACK:
	case CT_TCP_FIN | CT_TCP_ACK:
	case CT_TCP_FIN | CT_TCP_ACK | CT_TCP_URG:
	case CT_TCP_ACK:
	case CT_TCP_ACK | CT_TCP_URG:
		return true;
	default:
		return false;
	}
}

/* tcp_error() */
static const char *tcp_error(const struct ct_l4_ctx *x)
{
	const struct ct_pkt *p = &x->skb->pkt;

	if (p->l4_truncated)
		return p->l4_reason ? p->l4_reason : "truncated packet";
	if (ct_l4_checksum_wanted(x) && !ct_pkt_l4_csum_ok(p))
		return CT_INV_BAD_CSUM;
	if (!tcp_flags_valid(p->tcp_flags))
		return CT_INV_TCP_FLAGS;
	return NULL;
}

/* tcp_new(): a SYN opens; an ACK picks up a connection if tcp_loose */
static const char *tcp_new(struct ct_l4_ctx *x, struct conn *ct)
{
	uint8_t next = tcp_table[CT_DIR_ORIG][tcp_index(x->skb->pkt.tcp_flags)][sNO].next;

	if (next >= sIV)
		return CT_INV_TCP_NEW;
	if (next != sSS && !x->core->settings->tcp_loose)
		return CT_INV_TCP_NEW;
	memset(&ct->proto, 0, sizeof(ct->proto));	/* state NONE: packet() moves it */
	return NULL;
}

static uint32_t tcp_timeout(const struct ct_settings *s, const struct conn *ct)
{
	return s->tcp_timeout[ct->proto.tcp.state < CT_TCP_MAX ? ct->proto.tcp.state : CT_TCP_CLOSE];
}

/* nf_conntrack_tcp_packet(), without tcp_in_window() */
static enum ct_l4_verdict tcp_packet(struct ct_l4_ctx *x, struct conn *ct, const char **reason)
{
	const struct ct_settings *s = x->core->settings;
	struct conn_tcp *tcp = &ct->proto.tcp;
	enum tcp_index index = tcp_index(x->skb->pkt.tcp_flags);
	uint8_t old = tcp->state < CT_TCP_MAX ? tcp->state : sCL;
	const struct tcp_cell *cell = &tcp_table[x->dir][index][old];
	uint8_t next = cell->next;
	uint32_t timeout;

	if (next == sSS && old >= sTW) {
		/* Reopen: a SYN on a closed connection whose close we saw
		 * starting (CLOSE_INIT): kill it and create a fresh one. The
		 * kernel also reopens after an RST in the same direction. */
		if ((tcp->flags[0] | tcp->flags[1]) & TCP_FLAG_CLOSE_INIT) {
			*reason = cell->why;
			return ct_table_delete(x->core->table, ct, 0, false) ? CT_L4_REPEAT : CT_L4_DROP;
		}
		next = sIG;	/* else fall through to IGNORE */
	}
	if (next == sIG) {
		*reason = cell->why;
		return CT_L4_ACCEPT;	/* accepted, no state change, no refresh */
	}
	if (next == sIV) {
		*reason = cell->why;
		return CT_L4_INVALID;
	}

	tcp->state = next;
	if (next != old) {
		ct_l4_event(x, ct, CT_EV(PROTOINFO));
		if (next == sFW)
			tcp->flags[x->dir] |= TCP_FLAG_CLOSE_INIT;
	}
	timeout = s->tcp_timeout[next];

	if (!(ct->status & CT_S_SEEN_REPLY)) {
		/* An RST before any reply (a refused connection): delete now */
		if (index == TCP_RST_SET) {
			ct_l4_kill(x, ct);
			return CT_L4_ACCEPT;
		}
		/* A retransmitted SYN does not renew the timeout */
		if (index == TCP_SYN_SET && old == sSS)
			return CT_L4_ACCEPT;
		/* A picked-up connection gets at most the unacknowledged timeout */
		if (next == sES && timeout > s->tcp_timeout_unacknowledged)
			timeout = s->tcp_timeout_unacknowledged;
	} else if ((old == sSR || old == sES) && next == sES) {
		/* a valid ACK after SYN_RECV, or an answer to a picked-up connection */
		ct_l4_set_assured(x, ct);
	}
	ct_l4_refresh(x, ct, timeout);
	return CT_L4_ACCEPT;
}

/* tcp_can_early_drop() */
static bool tcp_can_early_drop(const struct conn *ct)
{
	switch (ct->proto.tcp.state) {
	case CT_TCP_FIN_WAIT:
	case CT_TCP_LAST_ACK:
	case CT_TCP_TIME_WAIT:
	case CT_TCP_CLOSE:
	case CT_TCP_CLOSE_WAIT:
		return true;
	default:
		return false;
	}
}

const struct ct_l4proto ct_l4proto_tcp = {
	.name = "tcp",
	.l4num = IPPROTO_TCP,
	.allow_clash = false,
	.error = tcp_error,
	.new = tcp_new,
	.packet = tcp_packet,
	.timeout = tcp_timeout,
	.can_early_drop = tcp_can_early_drop,
};
