/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pptp.c — the PPTP helper (net/netfilter/nf_conntrack_pptp.c).
 *
 * The control connection (TCP, usually port 1723; attached by the ruleset,
 * `ct helper pptp-1723 { type "pptp" protocol tcp; }`) carries one control
 * message at the start of each segment that is read (conntrack_pptp_help()):
 *
 *   8 bytes  pptp_pkt_hdr        length (ignored), type 1 = control,
 *                                magic cookie 0x1a2b3c4d
 *   4 bytes  PptpControlHeader   message type, reserved
 *   N bytes  the message         at least pptp_msg_size[type] bytes for
 *                                types 1..15, or the packet is ignored
 *
 * Only ESTABLISHED segments (not the handshake) of an IPv4 entry are read
 * (the kernel registers the helper for AF_INET only). The client (PNS) is
 * assumed to have opened the connection: the original direction is PNS ->
 * PAC ("outbound"), the reply direction PAC -> PNS ("inbound"). The helper
 * never drops a packet; invalid transitions are only logged by the kernel
 * (pr_debug), so ctsim ignores them silently too.
 *
 * State (struct nf_ct_pptp_master): the session state sstate, the call
 * state cstate (one call per control connection: the kernel's documented
 * limitation), the PNS's and the PAC's call ids.
 *
 * A call comes up with an Outgoing-Call-Reply "connected" (result 1) whose
 * peer call id is the one the PNS's Outgoing-Call-Request announced, or an
 * Incoming-Call-Connected after Incoming-Call-Request/-Reply. Then
 * exp_gre(): two expectations, class 0, for enhanced GRE (version 1)
 *   PNS -> PAC  srckey = PNS call id, dstkey = PAC call id
 *   PAC -> PNS  srckey = PAC call id, dstkey = PNS call id
 * (exact addresses and keys: all-ones masks), and the two keymap entries
 * that give GRE v1 packets, which carry only the receiver's call id, their
 * source key (ctsim/core/gre_keymap.c). Policy: max 2 per master, 300 s.
 *
 * The first GRE packet of the call matches one expectation (RELATED); the
 * kernel's pptp_expectfn() then removes the other direction's
 * expectation — emulated by track_gre.c's new(), see there. It also sets
 * the GRE entry's timeouts to 600 s / 5 h, but the GRE tracker overwrites
 * both with its defaults on the same packet (nf_conntrack_gre_packet() on an
 * unconfirmed entry), so PPTP GRE entries live 30 s / 180 s like any GRE.
 *
 * Teardown (pptp_destroy_siblings()): on the PAC's Call-Disconnect-Notify
 * and when the control connection is deleted (the helper's destroy()):
 * the keymap entries go, and for each direction's GRE tuple either the GRE
 * entry is killed or, if none exists, the expectation is removed. The
 * PNS's Call-Clear-Request only changes cstate.
 *
 * Not emulated: NAT (nf_nat_pptp: call id translation), several messages
 * in one segment (the kernel reads only the first one, as ctsim).
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include "ctsim/core/expect.h"
#include "ctsim/core/gre_keymap.h"
#include "helpers/helpers.h"

#define PPTP_PACKET_CONTROL	1
#define PPTP_MAGIC_COOKIE	0x1a2b3c4du
#define PPTP_HDR_LEN		8	/* struct pptp_pkt_hdr */
#define PPTP_CTLH_LEN		4	/* struct PptpControlHeader */

/* PptpControlMessageType */
enum {
	PPTP_START_SESSION_REQUEST = 1,
	PPTP_START_SESSION_REPLY,
	PPTP_STOP_SESSION_REQUEST,
	PPTP_STOP_SESSION_REPLY,
	PPTP_ECHO_REQUEST,
	PPTP_ECHO_REPLY,
	PPTP_OUT_CALL_REQUEST,
	PPTP_OUT_CALL_REPLY,
	PPTP_IN_CALL_REQUEST,
	PPTP_IN_CALL_REPLY,
	PPTP_IN_CALL_CONNECT,
	PPTP_CALL_CLEAR_REQUEST,
	PPTP_CALL_DISCONNECT_NOTIFY,
	PPTP_WAN_ERROR_NOTIFY,
	PPTP_SET_LINK_INFO,
	PPTP_MSG_MAX = PPTP_SET_LINK_INFO,
};

/* Result codes that mean success. */
#define PPTP_START_OK		1
#define PPTP_STOP_OK		1
#define PPTP_OUTCALL_CONNECT	1
#define PPTP_INCALL_ACCEPT	1

/* enum pptp_ctrlsess_state: the order matters (< and > comparisons). */
enum {
	PPTP_SESSION_NONE,
	PPTP_SESSION_ERROR,
	PPTP_SESSION_STOPREQ,
	PPTP_SESSION_REQUESTED,
	PPTP_SESSION_CONFIRMED,
};

/* enum pptp_ctrlcall_state */
enum {
	PPTP_CALL_NONE,
	PPTP_CALL_ERROR,
	PPTP_CALL_OUT_REQ,
	PPTP_CALL_OUT_CONF,
	PPTP_CALL_IN_REQ,
	PPTP_CALL_IN_REP,
	PPTP_CALL_IN_CONF,
	PPTP_CALL_CLEAR_REQ,
};

/* pptp_msg_size[]: the size of each message's struct in
 * include/linux/netfilter/nf_conntrack_pptp.h. Echo request/reply have no
 * entry there (0: any length). */
static const uint16_t pptp_msg_size[PPTP_MSG_MAX + 1] = {
	[PPTP_START_SESSION_REQUEST]	= 144,
	[PPTP_START_SESSION_REPLY]	= 144,
	[PPTP_STOP_SESSION_REQUEST]	= 4,
	[PPTP_STOP_SESSION_REPLY]	= 4,
	[PPTP_OUT_CALL_REQUEST]		= 156,
	[PPTP_OUT_CALL_REPLY]		= 20,
	[PPTP_IN_CALL_REQUEST]		= 208,
	[PPTP_IN_CALL_REPLY]		= 12,
	[PPTP_IN_CALL_CONNECT]		= 16,
	[PPTP_CALL_CLEAR_REQUEST]	= 4,
	[PPTP_CALL_DISCONNECT_NOTIFY]	= 136,
	[PPTP_WAN_ERROR_NOTIFY]		= 28,
	[PPTP_SET_LINK_INFO]		= 12,
};

/* Field offsets inside the message (after the control header). */
#define OFF_SREP_RESULT		2	/* PptpStartSessionReply.resultCode */
#define OFF_STREP_RESULT	0	/* PptpStopSessionReply.resultCode */
#define OFF_OCREQ_CALLID	0	/* PptpOutCallRequest.callID */
#define OFF_OCACK_CALLID	0	/* PptpOutCallReply.callID */
#define OFF_OCACK_PEER		2	/* .peersCallID */
#define OFF_OCACK_RESULT	4	/* .resultCode */
#define OFF_ICREQ_CALLID	0	/* PptpInCallRequest.callID */
#define OFF_ICACK_CALLID	0	/* PptpInCallReply.callID */
#define OFF_ICACK_PEER		2	/* .peersCallID */
#define OFF_ICACK_RESULT	4	/* .resultCode */
#define OFF_ICCON_PEER		0	/* PptpInCallConnected.peersCallID */

/* struct nf_ct_pptp_master (the keymap pointers live in gre_keymap.c). */
struct pptp_master {
	uint8_t sstate;
	uint8_t cstate;
	uint16_t pac_call_id;	/* host order, as ctsim's tuple keys */
	uint16_t pns_call_id;
};

/* The message being handled: its bytes after the control header. The
 * kernel copies up to sizeof(union pptp_ctrl_union) bytes of them into a
 * zeroed-size buffer; every field read here lies within pptp_msg_size[]
 * of its type, which the caller checked, so reads stay inside the packet. */
struct pptp_msg {
	const uint8_t *req;
	size_t reqlen;
	uint16_t type;
};

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* nf_ct_unexpect_related() of the expectation @exp was inserted as. */
static void unexpect(struct ct_table *t, struct conn *ct, const struct ct_expect *exp)
{
	struct ct_expect *e = ct_expect_find(t, &exp->tuple, ct->zone.id);

	if (e && e->master == ct)
		ct_expect_unlink(t, e, 0, false);
}

/* exp_gre(): expect GRE in both directions, then map the source keys.
 * Failures are not reported to the caller (the kernel ignores them). */
static int exp_gre(struct ct_table *t, struct conn *ct, uint16_t callid, uint16_t peer_callid)
{
	const struct ct_tuple *o = &ct->th[CT_DIR_ORIG].tuple;
	const struct ct_tuple *r = &ct->th[CT_DIR_REPLY].tuple;
	struct ct_expect exp_orig, exp_reply;

	/* PNS -> PAC: the PNS's call id is the source key */
	ct_expect_init(&exp_orig, ct, 0, o->l3num, &o->src, &o->dst, IPPROTO_GRE, &peer_callid,
		       &callid);
	/* PAC -> PNS */
	ct_expect_init(&exp_reply, ct, 0, r->l3num, &r->src, &r->dst, IPPROTO_GRE, &callid,
		       &peer_callid);
	if (ct_expect_related(t, &exp_orig, 0, false) != 0)
		return -1;
	if (ct_expect_related(t, &exp_reply, 0, false) != 0) {
		unexpect(t, ct, &exp_orig);
		return -1;
	}
	/* nf_ct_gre_keymap_add() per direction; a different call's entries
	 * still in place refuse the new ones (-EEXIST). */
	if (ct_gre_keymap_add(t, ct, CT_DIR_ORIG, &exp_orig.tuple) != 0)
		goto unexpect_both;
	if (ct_gre_keymap_add(t, ct, CT_DIR_REPLY, &exp_reply.tuple) != 0) {
		ct_gre_keymap_destroy(t, ct);
		goto unexpect_both;
	}
	return 0;

unexpect_both:
	unexpect(t, ct, &exp_reply);
	unexpect(t, ct, &exp_orig);
	return -1;
}

/* destroy_sibling_or_exp(): kill the GRE entry of @tu, else drop the
 * expectation for it. Returns whether something was found. */
static bool destroy_sibling_or_exp(struct ct_table *t, struct conn *ct, const struct ct_tuple *tu)
{
	struct conn *sibling = ct_table_find(t, tu, &ct->zone, CT_DIR_ORIG, NULL);
	struct ct_expect *e;

	if (sibling) {
		/* the kernel zeroes its GRE timeouts, then nf_ct_kill() */
		ct_table_delete(t, sibling, 0, false);
		return true;
	}
	e = ct_expect_find(t, tu, ct->zone.id);
	if (e) {
		ct_expect_unlink(t, e, 0, false);
		return true;
	}
	return false;
}

/* pptp_destroy_siblings(): the call is over (or the control connection
 * is going away): keymap, GRE entries or expectations of both directions. */
static void pptp_destroy_siblings(struct ct_table *t, struct conn *ct)
{
	const struct pptp_master *info = ct->ext ? ct->ext->help : NULL;
	struct ct_tuple tu;

	ct_gre_keymap_destroy(t, ct);
	if (!info)
		return;
	/* original (PNS -> PAC): the control connection's addresses */
	tu = ct->th[CT_DIR_ORIG].tuple;
	tu.l4num = IPPROTO_GRE;
	tu.sport = info->pns_call_id;
	tu.dport = info->pac_call_id;
	destroy_sibling_or_exp(t, ct, &tu);
	/* reply (PAC -> PNS) */
	tu = ct->th[CT_DIR_REPLY].tuple;
	tu.l4num = IPPROTO_GRE;
	tu.sport = info->pac_call_id;
	tu.dport = info->pns_call_id;
	destroy_sibling_or_exp(t, ct, &tu);
}

/* pptp_outbound_pkt(): PNS -> PAC. */
static void pptp_outbound(struct pptp_master *info, const struct pptp_msg *m)
{
	switch (m->type) {
	case PPTP_START_SESSION_REQUEST:
		if (info->sstate != PPTP_SESSION_NONE)
			return;				/* invalid */
		info->sstate = PPTP_SESSION_REQUESTED;
		return;
	case PPTP_STOP_SESSION_REQUEST:
		info->sstate = PPTP_SESSION_STOPREQ;
		return;
	case PPTP_OUT_CALL_REQUEST:
		if (info->sstate != PPTP_SESSION_CONFIRMED)
			return;
		info->cstate = PPTP_CALL_OUT_REQ;
		info->pns_call_id = rd16(m->req + OFF_OCREQ_CALLID);
		return;
	case PPTP_IN_CALL_REPLY: {
		uint16_t cid = rd16(m->req + OFF_ICACK_CALLID);

		if (info->cstate != PPTP_CALL_IN_REQ && info->cstate != PPTP_CALL_IN_REP)
			return;
		if (rd16(m->req + OFF_ICACK_PEER) != info->pac_call_id)
			return;
		if (m->req[OFF_ICACK_RESULT] == PPTP_INCALL_ACCEPT) {
			/* part two of the three-way handshake */
			info->cstate = PPTP_CALL_IN_REP;
			info->pns_call_id = cid;
		} else {
			info->cstate = PPTP_CALL_NONE;
		}
		return;
	}
	case PPTP_CALL_CLEAR_REQUEST:
		/* the kernel only knows the last call: no call id check */
		if (info->sstate != PPTP_SESSION_CONFIRMED)
			return;
		info->cstate = PPTP_CALL_CLEAR_REQ;
		return;
	default:
		/* SET_LINK_INFO, ECHO_*: nothing; anything else: invalid */
		return;
	}
}

/* pptp_inbound_pkt(): PAC -> PNS. */
static void pptp_inbound(struct ct_table *t, struct conn *ct, struct pptp_master *info,
			 const struct pptp_msg *m)
{
	uint16_t cid, pcid;

	switch (m->type) {
	case PPTP_START_SESSION_REPLY:
		if (info->sstate < PPTP_SESSION_REQUESTED)
			return;
		info->sstate = m->req[OFF_SREP_RESULT] == PPTP_START_OK ? PPTP_SESSION_CONFIRMED
									: PPTP_SESSION_ERROR;
		return;
	case PPTP_STOP_SESSION_REPLY:
		if (info->sstate > PPTP_SESSION_STOPREQ)
			return;
		info->sstate = m->req[OFF_STREP_RESULT] == PPTP_STOP_OK ? PPTP_SESSION_NONE
									: PPTP_SESSION_ERROR;
		return;
	case PPTP_OUT_CALL_REPLY:
		if (info->sstate != PPTP_SESSION_CONFIRMED)
			return;
		if (info->cstate != PPTP_CALL_OUT_REQ && info->cstate != PPTP_CALL_OUT_CONF)
			return;
		cid = rd16(m->req + OFF_OCACK_CALLID);
		pcid = rd16(m->req + OFF_OCACK_PEER);
		if (pcid != info->pns_call_id)
			return;
		if (m->req[OFF_OCACK_RESULT] == PPTP_OUTCALL_CONNECT) {
			info->cstate = PPTP_CALL_OUT_CONF;
			info->pac_call_id = cid;
			exp_gre(t, ct, cid, pcid);
		} else {
			info->cstate = PPTP_CALL_NONE;
		}
		return;
	case PPTP_IN_CALL_REQUEST:
		if (info->sstate != PPTP_SESSION_CONFIRMED)
			return;
		info->cstate = PPTP_CALL_IN_REQ;
		info->pac_call_id = rd16(m->req + OFF_ICREQ_CALLID);
		return;
	case PPTP_IN_CALL_CONNECT:
		if (info->sstate != PPTP_SESSION_CONFIRMED)
			return;
		if (info->cstate != PPTP_CALL_IN_REP && info->cstate != PPTP_CALL_IN_CONF)
			return;
		pcid = rd16(m->req + OFF_ICCON_PEER);
		if (pcid != info->pns_call_id)
			return;
		info->cstate = PPTP_CALL_IN_CONF;
		exp_gre(t, ct, info->pac_call_id, pcid);
		return;
	case PPTP_CALL_DISCONNECT_NOTIFY:
		/* whatever call id it names: the kernel tracks one call */
		info->cstate = PPTP_CALL_NONE;
		pptp_destroy_siblings(t, ct);
		return;
	default:
		/* WAN_ERROR_NOTIFY, SET_LINK_INFO, ECHO_*: nothing; else invalid */
		return;
	}
}

/* conntrack_pptp_help() */
static int pptp_help(struct ct_helper_ctx *x)
{
	struct pptp_master *info;
	struct pptp_msg m;
	size_t datalen;
	const uint8_t *d;

	/* don't do any tracking before the TCP handshake is complete */
	if (x->ctinfo != CT_INFO_ESTABLISHED && x->ctinfo != CT_INFO_ESTABLISHED_REPLY)
		return CT_ACCEPT;
	/* nf_ct_helper_init(&pptp, AF_INET, ...): no IPv6 helper */
	if (x->ct->th[CT_DIR_ORIG].tuple.l3num != AF_INET)
		return CT_ACCEPT;
	datalen = ct_helper_payload(x, &d);
	/* the PPTP header, then a control message with the magic cookie */
	if (datalen < PPTP_HDR_LEN)
		return CT_ACCEPT;
	if (rd16(d + 2) != PPTP_PACKET_CONTROL ||
	    ((uint32_t)rd16(d + 4) << 16 | rd16(d + 6)) != PPTP_MAGIC_COOKIE)
		return CT_ACCEPT;
	if (datalen < PPTP_HDR_LEN + PPTP_CTLH_LEN)
		return CT_ACCEPT;
	m.type = rd16(d + PPTP_HDR_LEN);
	m.req = d + PPTP_HDR_LEN + PPTP_CTLH_LEN;
	m.reqlen = datalen - PPTP_HDR_LEN - PPTP_CTLH_LEN;
	/* a known message shorter than its struct: not tracked. Types 0 and
	 * > 15 go on and are "invalid" below; they read no field. */
	if (m.type > 0 && m.type <= PPTP_MSG_MAX && m.reqlen < pptp_msg_size[m.type])
		return CT_ACCEPT;
	info = ct_helper_data(x->ct, sizeof(*info));
	if (!info)
		return CT_ACCEPT;
	if (x->dir == CT_DIR_ORIG)
		pptp_outbound(info, &m);		/* PNS -> PAC */
	else
		pptp_inbound(x->core->table, x->ct, info, &m);	/* PAC -> PNS */
	return CT_ACCEPT;
}

/* pptp_expectfn() without NAT: the first GRE packet of one direction
 * removes the expectation of the other, found by inverting the matched
 * one's tuple (= @ct's reply tuple: PPTP expectations have exact masks).
 * Called by the GRE tracker's new() (ctsim/core/track_gre.c). */
static void pptp_expectfn(struct ct_table *t, struct conn *ct)
{
	struct ct_expect *other = ct_expect_find(t, &ct->th[CT_DIR_REPLY].tuple, ct->zone.id);

	if (other)
		ct_expect_unlink(t, other, 0, false);
}

/* helper->destroy = pptp_destroy_siblings: the control connection dies. */
static void pptp_destroy(struct ct_table *t, struct conn *ct)
{
	pptp_destroy_siblings(t, ct);
}

const struct ct_helper ct_helper_pptp = {
	.name = "pptp",
	.l3num = AF_INET,	/* registered for IPv4 only */
	.l4num = IPPROTO_TCP,
	.expect_class_max = 0,
	.policy = { { .max_expected = 2, .timeout = 5 * 60, .name = "pptp" } },
	.data_len = sizeof(struct pptp_master),
	.help = pptp_help,
	.destroy = pptp_destroy,
	.expectfn = pptp_expectfn,
	.what = "call set-up: GRE (version 1) both ways, keyed by call id",
	.module = "nf_conntrack_pptp",
};
