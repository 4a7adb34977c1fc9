/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * track_tcp.c — the TCP tracker (Linux 6.18 net/netfilter/
 * nf_conntrack_proto_tcp.c; shared reference §2.4; docs/tcp.md explains
 * it for students).
 *
 * A packet goes through, in this order:
 *   tcp_error()        header length, checksum (PREROUTING), flag combination
 *   tcp_new()          only for a new entry: a SYN opens, an ACK picks up a
 *                      connection in the middle (nf_conntrack_tcp_loose)
 *   tcp_packet()       nf_conntrack_tcp_packet(): the transition table
 *                      (data below, a reason per cell), then the special
 *                      cases (reopen, IGNORE and the SYN/ACK resync,
 *                      challenge ACKs, simultaneous open, RST checks), then
 *   tcp_in_window()    the window tracker: the four in-window conditions,
 *                      then the timeout, ASSURED and the events.
 *
 * Verdicts: ACCEPT (state and timeout updated), IGNORE (accepted with the
 * entry attached, nothing updated; CT_L4_ACCEPT with the reason in
 * *reason), INVALID (the entry is detached, `ct state invalid`), REPEAT
 * (the old entry was killed, look up again: a reopen).
 */
#include <string.h>
#include "ctsim/core/l4proto.h"
#include "ctsim/core/seqadj.h"
#include "ctsim/core/track_tcp.h"

/* ---------------------------------------------------------------------- */
/* The transition table                                                    */

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
#define sIV CT_TCP_S_INVALID	/* INVALID: detach, ct state invalid */
#define sIG CT_TCP_S_IGNORE	/* IGNORE: accept, change nothing */

#define TCP_SYN_SET	CT_TCP_IDX_SYN
#define TCP_SYNACK_SET	CT_TCP_IDX_SYNACK
#define TCP_FIN_SET	CT_TCP_IDX_FIN
#define TCP_ACK_SET	CT_TCP_IDX_ACK
#define TCP_RST_SET	CT_TCP_IDX_RST
#define TCP_NONE_SET	CT_TCP_IDX_NONE

struct tcp_cell {
	uint8_t next;
	const char *why;
};

#define C(s, w) { s, w }
/* frequent reasons */
#define IV_NOCONN	C(sIV, "never reached: the reply direction needs an entry")
#define IV_NOFLAG	C(sIV, "no SYN, FIN, ACK or RST flag")
#define RST_CLOSE	C(sCL, "RST closes the connection (if its sequence number is right)")
#define SYNACK_IG	C(sIG, "SYN/ACK from the responder while closing: ignored, it may answer an ignored SYN")
#define SYN_IG		C(sIG, "SYN on a connection we think is open: ignored, we may be out of sync")
#define RSYN_IV		C(sIV, "SYN from the responder on an open connection")
#define SYNACK_IV	C(sIV, "SYN/ACK from the originator outside a simultaneous open")

/* tcp_conntracks[dir][index][old_state]: the 6.12/6.18 table */
static const struct tcp_cell tcp_table[2][CT_TCP_IDX_MAX][CT_TCP_MAX] = {
[CT_DIR_ORIG] = {
/*		  sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 */
[TCP_SYN_SET] = {
	C(sSS, "SYN opens a connection"),
	C(sSS, "SYN retransmitted (the timeout is not renewed)"),
	SYN_IG, SYN_IG, SYN_IG, SYN_IG,
	C(sIG, "SYN in LAST_ACK: ignored; the answer may be a challenge ACK"),
	C(sSS, "SYN in TIME_WAIT reopens the connection (RFC 1122)"),
	C(sSS, "SYN after CLOSE reopens the connection"),
	C(sS2, "SYN retransmitted in a simultaneous open"),
},
[TCP_SYNACK_SET] = {
	C(sIV, "SYN/ACK without a connection: too late"),
	C(sIV, "SYN/ACK from the side that sent the SYN"),
	C(sSR, "SYN/ACK retransmitted in a simultaneous open"),
	SYNACK_IV, SYNACK_IV, SYNACK_IV, SYNACK_IV, SYNACK_IV, SYNACK_IV,
	C(sSR, "SYN/ACK answers the peer's SYN in a simultaneous open"),
},
[TCP_FIN_SET] = {
	C(sIV, "FIN without a connection"),
	C(sIV, "FIN before the SYN/ACK: wait for the answer first"),
	C(sFW, "FIN during the handshake: the close starts"),
	C(sFW, "FIN from the originator: the close starts"),
	C(sLA, "FIN in both directions: waiting for the last ACK"),
	C(sLA, "FIN after the first FIN was acknowledged"),
	C(sLA, "FIN retransmitted"),
	C(sTW, "FIN in TIME_WAIT"),
	C(sCL, "FIN after CLOSE"),
	C(sIV, "FIN in a simultaneous open"),
},
[TCP_ACK_SET] = {
	C(sES, "ACK without a handshake: mid-stream pickup (nf_conntrack_tcp_loose)"),
	C(sIV, "ACK before the SYN/ACK: no answer seen yet"),
	C(sES, "ACK completes the three-way handshake"),
	C(sES, "ACK on an established connection"),
	C(sCW, "ACK of the first FIN: half closed"),
	C(sCW, "ACK while half closed"),
	C(sTW, "last ACK: both FINs acknowledged"),
	C(sTW, "ACK in TIME_WAIT (retransmitted last ACK)"),
	C(sCL, "ACK after CLOSE"),
	C(sIV, "ACK in a simultaneous open before any SYN/ACK"),
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
/*		  sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 */
[TCP_SYN_SET] = {
	IV_NOCONN,
	C(sS2, "SYN in answer to a SYN: simultaneous open"),
	C(sIV, "SYN from the responder in SYN_RECV"),
	RSYN_IV, RSYN_IV, RSYN_IV, RSYN_IV,
	C(sSS, "SYN from the responder reopens from TIME_WAIT (roles switched)"),
	C(sIV, "SYN from the responder after CLOSE"),
	C(sS2, "SYN retransmitted in a simultaneous open"),
},
[TCP_SYNACK_SET] = {
	IV_NOCONN,
	C(sSR, "SYN/ACK answers the SYN"),
	C(sIG, "SYN/ACK retransmitted: ignored"),
	C(sIG, "late SYN/ACK on an established connection: ignored"),
	SYNACK_IG, SYNACK_IG, SYNACK_IG, SYNACK_IG, SYNACK_IG,
	C(sSR, "SYN/ACK in a simultaneous open"),
},
[TCP_FIN_SET] = {
	IV_NOCONN,
	C(sIV, "FIN from the responder before its SYN/ACK"),
	C(sFW, "FIN during the handshake: the close starts"),
	C(sFW, "FIN from the responder: the close starts"),
	C(sLA, "FIN in both directions: waiting for the last ACK"),
	C(sLA, "FIN after the first FIN was acknowledged"),
	C(sLA, "FIN retransmitted"),
	C(sTW, "FIN in TIME_WAIT"),
	C(sCL, "FIN after CLOSE"),
	C(sIV, "FIN in a simultaneous open"),
},
[TCP_ACK_SET] = {
	IV_NOCONN,
	C(sIG, "ACK from the responder in SYN_SENT: ignored (half-open, or a challenge ACK)"),
	C(sSR, "ACK from the responder in SYN_RECV: may answer a late SYN"),
	C(sES, "ACK on an established connection"),
	C(sCW, "ACK of the first FIN: half closed"),
	C(sCW, "ACK while half closed"),
	C(sTW, "last ACK: both FINs acknowledged"),
	C(sTW, "ACK in TIME_WAIT (retransmitted last ACK)"),
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

static const char *const tcp_state_names[CT_TCP_MAX + 2] = {
	"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT",
	"LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2", "INVALID", "IGNORE",
};

static const char *const tcp_index_names[CT_TCP_IDX_MAX] = {
	"syn", "synack", "fin", "ack", "rst", "none",
};

const char *ct_tcp_cell_state_name(unsigned state)
{
	return state < CT_TCP_MAX + 2 ? tcp_state_names[state] : "?";
}

const char *ct_tcp_index_name(enum ct_tcp_index index)
{
	return (unsigned)index < CT_TCP_IDX_MAX ? tcp_index_names[index] : "?";
}

/* get_conntrack_index() */
enum ct_tcp_index ct_tcp_flags_index(uint8_t flags)
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

unsigned ct_tcp_transition(enum ct_dir dir, enum ct_tcp_index index, unsigned state,
			   const char **why)
{
	const struct tcp_cell *c = &tcp_table[dir != CT_DIR_ORIG][index][state < CT_TCP_MAX ? state : sCL];

	if (why)
		*why = c->why;
	return c->next;
}

void ct_tcp_print_table(FILE *out)
{
	for (int d = 0; d < 2; d++)
		for (int i = 0; i < CT_TCP_IDX_MAX; i++)
			for (int s = 0; s < CT_TCP_MAX; s++) {
				const struct tcp_cell *c = &tcp_table[d][i][s];

				fprintf(out, "%s --%s/%s--> %s: %s\n", tcp_state_names[s],
					tcp_index_names[i], d ? "reply" : "orig",
					tcp_state_names[c->next], c->why);
			}
}

/* ---------------------------------------------------------------------- */
/* Sequence numbers and options                                            */

/* before()/after() of include/net/tcp.h: modulo 2^32 */
static inline bool before(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool after(uint32_t a, uint32_t b) { return before(b, a); }

#define TCP_MAX_WSCALE		14
#define MAXACKWINCONST		66000
#define MAXACKWINDOW(sender)	((sender)->td_maxwin > MAXACKWINCONST ? (sender)->td_maxwin \
								      : MAXACKWINCONST)

/* What the tracker reads from a TCP header. */
struct tcp_seg {
	uint32_t seq, ack, end;	/* end = seq + payload + SYN + FIN (segment_seq_plus_len()) */
	uint16_t win;
	uint8_t flags;
	const uint8_t *opt;	/* options, optlen bytes */
	unsigned optlen;
};

static void tcp_seg_read(const struct ct_pkt *p, struct tcp_seg *s)
{
	unsigned payload = p->l4len > p->tcp_doff ? p->l4len - p->tcp_doff : 0;

	s->seq = p->tcp_seq;
	s->ack = p->tcp_ack;
	s->win = p->tcp_win;
	s->flags = p->tcp_flags;
	s->end = s->seq + payload + !!(s->flags & CT_TCP_SYN) + !!(s->flags & CT_TCP_FIN);
	s->opt = p->data + p->l4off + 20;
	s->optlen = p->tcp_doff > 20 ? p->tcp_doff - 20u : 0;
}

/* Walk the options (the kernel's loop, shared by tcp_options() and
 * tcp_sack()): calls @fn for each kind/length-checked option until it
 * returns true. Stops at EOL, a "silly" length or a partial option. */
static void tcp_walk_options(const struct tcp_seg *s,
			     bool (*fn)(uint8_t kind, const uint8_t *val, unsigned len, void *arg),
			     void *arg)
{
	const uint8_t *ptr = s->opt;
	int length = (int)s->optlen;

	while (length > 0) {
		uint8_t kind = *ptr++;
		unsigned size;

		if (kind == 0)		/* TCPOPT_EOL */
			return;
		if (kind == 1) {	/* TCPOPT_NOP */
			length--;
			continue;
		}
		if (length < 2)
			return;
		size = *ptr++;
		if (size < 2 || (int)size > length)
			return;
		if (fn(kind, ptr, size, arg))
			return;
		ptr += size - 2;
		length -= (int)size;
	}
}

struct tcp_opts { uint8_t scale, flags; };

static bool opt_scale_sack(uint8_t kind, const uint8_t *val, unsigned len, void *arg)
{
	struct tcp_opts *o = arg;

	if (kind == 4 && len == 2) {		/* TCPOPT_SACK_PERM */
		o->flags |= CT_TCP_F_SACK_PERM;
	} else if (kind == 3 && len == 3) {	/* TCPOPT_WINDOW */
		o->scale = val[0] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : val[0];
		o->flags |= CT_TCP_F_WINDOW_SCALE;
	}
	return false;
}

/* tcp_options(): window scale (capped at 14) and SACK permitted into
 * direction @dir. Without options nothing changes; with options the old
 * scale and flags are reset first (BE_LIBERAL is kept). */
static void tcp_options(const struct tcp_seg *s, struct conn_tcp *tcp, int dir)
{
	struct tcp_opts o = { 0, 0 };

	if (!s->optlen)
		return;
	tcp_walk_options(s, opt_scale_sack, &o);
	tcp->wscale[dir] = o.scale;
	tcp->flags[dir] = (uint8_t)((tcp->flags[dir] & CT_TCP_F_BE_LIBERAL) | o.flags);
}

static bool opt_sack(uint8_t kind, const uint8_t *val, unsigned len, void *arg)
{
	uint32_t *sack = arg;

	if (kind != 5 || len < 10 || (len - 2) % 8)	/* TCPOPT_SACK, whole blocks */
		return false;
	for (unsigned i = 0; i + 8 <= len - 2; i += 8) {
		const uint8_t *r = val + i + 4;		/* the block's right edge */
		uint32_t edge = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 |
				(uint32_t)r[2] << 8 | r[3];

		if (after(edge, *sack))
			*sack = edge;
	}
	return true;	/* only the first SACK option counts */
}

/* tcp_sack(): the highest right edge of the SACK blocks, if above @sack. */
static void tcp_sack(const struct tcp_seg *s, uint32_t *sack)
{
	static const uint8_t ts_only[4] = { 1, 1, 8, 10 };	/* NOP NOP TIMESTAMP */

	if (!s->optlen)
		return;
	if (s->optlen == 12 && !memcmp(s->opt, ts_only, 4))	/* fast path */
		return;
	tcp_walk_options(s, opt_sack, sack);
}

/* ---------------------------------------------------------------------- */
/* tcp_error(), tcp_new()                                                  */

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

/* tcp_error(): not a whole header, a bad checksum (PREROUTING only), or
 * a flag combination no TCP sends. */
static const char *tcp_error(const struct ct_l4_ctx *x)
{
	const struct ct_pkt *p = &x->skb->pkt;

	if (p->l4_truncated || p->tcp_doff < 20 || p->l4len < p->tcp_doff)
		return p->l4_reason ? p->l4_reason : CT_TCP_INV_TRUNCATED;
	if (ct_l4_checksum_wanted(x) && !ct_pkt_l4_csum_ok(p))
		return CT_TCP_INV_CSUM;
	if (!tcp_flags_valid(p->tcp_flags))
		return CT_TCP_INV_FLAGS;
	return NULL;
}

/* tcp_new(): a SYN opens (SYN_SENT, seen[0] from the SYN); an ACK picks
 * up a connection in the middle if nf_conntrack_tcp_loose, with liberal
 * window checks in both directions since the scale is unknown. */
static const char *tcp_new(struct ct_l4_ctx *x, struct conn *ct)
{
	struct conn_tcp *tcp = &ct->proto.tcp;
	struct tcp_seg s;
	unsigned next = tcp_table[CT_DIR_ORIG][ct_tcp_flags_index(x->skb->pkt.tcp_flags)][sNO].next;

	if (next >= sIV || (next != sSS && !x->core->settings->tcp_loose)) {
		/* the NONE cell that refused it, as `ctsim explain tcp` prints it */
		CT_TRACE(x->skb, CT_TR_TRACKER, "tcp NONE --%s/orig--> %s: %s%s",
			 tcp_index_names[ct_tcp_flags_index(x->skb->pkt.tcp_flags)],
			 tcp_state_names[next],
			 tcp_table[CT_DIR_ORIG][ct_tcp_flags_index(x->skb->pkt.tcp_flags)][sNO].why,
			 next < sIV ? " [refused: nf_conntrack_tcp_loose=0]" : "");
		return CT_INV_TCP_NEW;
	}

	tcp_seg_read(&x->skb->pkt, &s);
	memset(tcp, 0, sizeof(*tcp));	/* state NONE: tcp_packet() moves it */
	tcp->seen[0].td_end = s.end;
	tcp->seen[0].td_maxwin = s.win ? s.win : 1;
	if (next == sSS) {
		tcp->seen[0].td_maxend = s.end;
		tcp_options(&s, tcp, 0);
	} else {
		tcp->seen[0].td_maxend = s.end + tcp->seen[0].td_maxwin;
		tcp->flags[0] = tcp->flags[1] = CT_TCP_F_SACK_PERM | CT_TCP_F_BE_LIBERAL;
	}
	tcp->last_index = TCP_NONE_SET;
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* tcp_in_window()                                                         */

enum tcp_action { TCP_ACCEPT, TCP_IGNORE, TCP_INVALID };

/* nf_tcp_log_invalid(): a failed check becomes ACCEPT (without any window
 * update) when the sender is liberal or nf_conntrack_tcp_be_liberal=1. */
static enum tcp_action tcp_fail(const struct ct_l4_ctx *x, const struct conn_tcp *tcp,
				enum ct_dir dir, enum tcp_action ret, const char *why,
				const char **reason)
{
	if ((tcp->flags[dir] & CT_TCP_F_BE_LIBERAL) || x->core->settings->tcp_be_liberal) {
		CT_TRACE(x->skb, CT_TR_WINDOW, "failed but accepted (%s): %s",
			 (tcp->flags[dir] & CT_TCP_F_BE_LIBERAL) ? "sender liberal" : "be_liberal=1", why);
		return TCP_ACCEPT;
	}
	CT_TRACE(x->skb, CT_TR_WINDOW, "failed: %s", why);
	*reason = why;
	return ret;
}

/* tcp_init_sender(): the first SYN/ACK (or a reply SYN in a simultaneous
 * open, or a SYN re-sent with a higher sequence) sets up its direction.
 * Window scaling is on only if both SYNs carried the option (RFC 1323). */
static void tcp_init_sender(struct conn_tcp *tcp, const struct tcp_seg *s, enum ct_dir dir)
{
	struct conn_tcp_win *sender = &tcp->seen[dir];

	sender->td_end = sender->td_maxend = s->end;
	sender->td_maxwin = s->win ? s->win : 1;
	tcp_options(s, tcp, dir);
	if (dir == CT_DIR_REPLY &&
	    !((tcp->flags[dir] & CT_TCP_F_WINDOW_SCALE) &&
	      (tcp->flags[!dir] & CT_TCP_F_WINDOW_SCALE)))
		tcp->wscale[0] = tcp->wscale[1] = 0;
}

/* The window trace: both directions' td_end/td_maxend/td_maxwin/scale
 * (struct ip_ct_tcp_state), before the check ("check": with the segment)
 * or after the update ("now"). Only for traced packets. */
static __attribute__((cold, noinline)) void tcp_trace_win(const struct ct_l4_ctx *x, const struct conn_tcp *tcp,
			  const struct tcp_seg *s, enum ct_dir dir, bool before_check)
{
	const struct conn_tcp_win *o = &tcp->seen[CT_DIR_ORIG], *r = &tcp->seen[CT_DIR_REPLY];
	char seg[120] = "";

	if (!x->skb->tracer)
		return;
	if (before_check)
		snprintf(seg, sizeof(seg), "seq=%u ack=%u end=%u win=%u (%s); ", s->seq, s->ack,
			 s->end, s->win, dir ? "reply" : "orig");
	CT_TRACE(x->skb, CT_TR_WINDOW,
		 "%s%sorig td_end=%u td_maxend=%u td_maxwin=%u scale=%u, "
		 "reply td_end=%u td_maxend=%u td_maxwin=%u scale=%u",
		 before_check ? "check " : "passed, now ", seg, o->td_end, o->td_maxend, o->td_maxwin,
		 tcp->wscale[0], r->td_end, r->td_maxend, r->td_maxwin, tcp->wscale[1]);
}

/*
 * tcp_in_window(): is the segment inside what the receiver may accept?
 *   I    seq  <= sender.td_maxend                      (else INVALID, or IGNORE if it just overshoots)
 *   III  sack <= receiver.td_end                       (else INVALID)
 *   II   end  >  sender.td_end - receiver.td_maxwin - 1 (else IGNORE: an old retransmission)
 *   IV   sack >  receiver.td_end - MAXACKWINDOW - 1    (else IGNORE: a very late ACK)
 * and, when it is, move the window edges.
 */
static enum tcp_action tcp_in_window(const struct ct_l4_ctx *x, struct conn *ct,
				     enum ct_dir dir, enum ct_tcp_index index,
				     const struct tcp_seg *s, const char **reason)
{
	struct conn_tcp *tcp = &ct->proto.tcp;
	struct conn_tcp_win *sender = &tcp->seen[dir], *receiver = &tcp->seen[!dir];
	uint32_t seq = s->seq, ack = s->ack, sack = s->ack, end = s->end, win = s->win, swin;
	bool syn = s->flags & CT_TCP_SYN, has_ack = s->flags & CT_TCP_ACK;
	bool rst = s->flags & CT_TCP_RST;
	bool in_recv_win;

	if (x->skb->tracer)
		tcp_trace_win(x, tcp, s, dir, true);
	if (tcp->flags[!dir] & CT_TCP_F_SACK_PERM)
		tcp_sack(s, &sack);
	/* NAT sequence adjustment (nf_ct_seq_offset()): the receiver acks
	 * the stream as a NAT helper changed it; the tracker counts in the
	 * sender's numbers */
	{
		int32_t off = ct_seqadj_offset(ct, !dir, ack - 1);

		ack -= (uint32_t)off;
		sack -= (uint32_t)off;
	}

	if (sender->td_maxwin == 0) {
		if (syn) {
			tcp_init_sender(tcp, s, dir);
			if (!has_ack)	/* a reply SYN: simultaneous open */
				return TCP_ACCEPT;
		} else {
			/* Mid-stream: this direction's history is lost, use
			 * what the packet says. */
			sender->td_end = end;
			swin = win << tcp->wscale[dir];
			sender->td_maxwin = swin ? swin : 1;
			sender->td_maxend = end + sender->td_maxwin;
			if (receiver->td_maxwin == 0)
				/* other side unseen: make III and IV pass */
				receiver->td_end = receiver->td_maxend = sack;
			else if (sack == receiver->td_end + 1)
				receiver->td_end++;	/* a keepalive's answer */
		}
	} else if (syn && after(end, sender->td_end) &&
		   (tcp->state == sSS || tcp->state == sSR)) {
		/* RFC 793: a reinitialised TCP may reuse the connection with
		 * higher sequence numbers: re-init this direction. */
		tcp_init_sender(tcp, s, dir);
		if (dir == CT_DIR_REPLY && !has_ack)
			return TCP_ACCEPT;
	}

	if (!has_ack || (rst && ack == 0))
		/* no ACK (or a broken stack's RST+ACK with ack 0): pretend OK */
		ack = sack = receiver->td_end;
	if (rst && seq == 0 && tcp->state == sSS)
		/* an RST answering a SYN */
		seq = end = sender->td_end;

	if (!before(seq, sender->td_maxend + 1)) {			/* I fails */
		uint32_t overshot = end - sender->td_maxend + 1;
		bool ack_ok = after(sack, receiver->td_end - MAXACKWINDOW(sender) - 1);

		in_recv_win = receiver->td_maxwin &&
			      after(end, sender->td_end - receiver->td_maxwin - 1);
		if (in_recv_win && ack_ok && overshot <= receiver->td_maxwin &&
		    before(sack, receiver->td_end + 1)) {
			/* a TCP sending a little more than the window allows:
			 * remember the data so its ACK will pass III */
			sender->td_end = end;
			tcp->flags[dir] |= CT_TCP_F_DATA_UNACKNOWLEDGED;
			return tcp_fail(x, tcp, dir, TCP_IGNORE, CT_TCP_IGN_OVERSHOT, reason);
		}
		return tcp_fail(x, tcp, dir, TCP_INVALID, CT_TCP_INV_SEQ_OVER, reason);
	}
	if (!before(sack, receiver->td_end + 1))			/* III */
		return tcp_fail(x, tcp, dir, TCP_INVALID, CT_TCP_INV_ACK_OVER, reason);
	in_recv_win = !receiver->td_maxwin ||
		      after(end, sender->td_end - receiver->td_maxwin - 1);
	if (!in_recv_win)						/* II */
		return tcp_fail(x, tcp, dir, TCP_IGNORE, CT_TCP_IGN_SEQ_UNDER, reason);
	if (!after(sack, receiver->td_end - MAXACKWINDOW(sender) - 1))	/* IV */
		return tcp_fail(x, tcp, dir, TCP_IGNORE, CT_TCP_IGN_ACK_UNDER, reason);

	/* In window: update the sender ... */
	if (!syn)
		win <<= tcp->wscale[dir];
	swin = win + (sack - ack);
	if (sender->td_maxwin < swin)
		sender->td_maxwin = swin;
	if (after(end, sender->td_end)) {
		sender->td_end = end;
		tcp->flags[dir] |= CT_TCP_F_DATA_UNACKNOWLEDGED;
	}
	if (has_ack) {
		if (!(tcp->flags[dir] & CT_TCP_F_MAXACK_SET)) {
			sender->td_maxack = ack;
			tcp->flags[dir] |= CT_TCP_F_MAXACK_SET;
		} else if (after(ack, sender->td_maxack)) {
			sender->td_maxack = ack;
		}
	}
	/* ... and the receiver */
	if (receiver->td_maxwin != 0 && after(end, sender->td_maxend))
		receiver->td_maxwin += end - sender->td_maxend;
	if (after(sack + win, receiver->td_maxend - 1)) {
		receiver->td_maxend = sack + win;
		if (win == 0)
			receiver->td_maxend++;
	}
	if (ack == receiver->td_end)
		tcp->flags[!dir] &= (uint8_t)~CT_TCP_F_DATA_UNACKNOWLEDGED;

	/* Retransmissions: the same ACK-class segment again */
	if (index == TCP_ACK_SET) {
		if (tcp->last_dir == dir && tcp->last_seq == seq && tcp->last_ack == ack &&
		    tcp->last_end == end && tcp->last_win == s->win) {
			if (tcp->retrans < UINT8_MAX)
				tcp->retrans++;
		} else {
			tcp->last_dir = (uint8_t)dir;
			tcp->last_seq = seq;
			tcp->last_ack = ack;
			tcp->last_end = end;
			tcp->last_win = s->win;
			tcp->retrans = 0;
		}
	}
	return TCP_ACCEPT;
}

/* nf_tcp_handle_invalid(): a FIN or RST out of window on an ASSURED entry,
 * answering a FIN/RST from the other side that was out of window too: the
 * two ends have given up, so do not keep the entry for days — lower the
 * timeout to the unacknowledged one. */
static void tcp_handle_invalid(struct ct_l4_ctx *x, struct conn *ct, enum ct_dir dir,
			       enum ct_tcp_index index)
{
	struct conn_tcp *tcp = &ct->proto.tcp;
	struct ct_table *t = x->core->table;
	uint32_t unack = ct->ext && (ct->ext->has & CONN_EXT_TIMEOUT) ?
			 ct->ext->timeouts[CT_TO_TCP_UNACK] :
			 x->core->settings->tcp_timeout_unacknowledged;
	int64_t left;

	if (!(ct->status & CT_S_ASSURED) || (ct->status & CT_S_FIXED_TIMEOUT))
		return;
	if (index != TCP_RST_SET && index != TCP_FIN_SET)
		return;
	if (tcp->last_dir != dir &&
	    (tcp->last_index == TCP_FIN_SET || tcp->last_index == TCP_RST_SET)) {
		left = (int64_t)(ct->expires - t->now);
		if (left < 120 * (int64_t)CT_NSEC_PER_SEC)
			return;
		if (left > (int64_t)unack * (int64_t)CT_NSEC_PER_SEC)
			conn_set_timeout(t, ct, unack);
	} else {
		tcp->last_index = (uint8_t)index;
		tcp->last_dir = (uint8_t)dir;
	}
}

/* ---------------------------------------------------------------------- */
/* nf_conntrack_tcp_packet()                                               */

static bool tcp_established(const struct conn *ct)	/* nf_conntrack_tcp_established() */
{
	return ct->proto.tcp.state == sES && (ct->status & CT_S_ASSURED);
}

bool ct_tcp_can_early_drop(const struct conn *ct)
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

/* The IGNORE cell: remember the packet (last_*) so that the answer to it
 * can resynchronise us or be recognised (challenge ACK, RST). */
static void tcp_record_ignored(struct conn_tcp *tcp, enum ct_dir dir, enum ct_tcp_index index,
			       unsigned old, const struct tcp_seg *s)
{
	tcp->last_index = (uint8_t)index;
	tcp->last_dir = (uint8_t)dir;
	tcp->last_seq = s->seq;
	tcp->last_end = s->end;
	tcp->last_win = s->win;

	if (index == TCP_SYN_SET && dir == CT_DIR_ORIG) {
		/* a SYN we may be out of sync for: keep its options */
		struct conn_tcp opt;

		memset(&opt, 0, sizeof(opt));
		tcp_options(s, &opt, 0);
		tcp->last_flags = 0;
		tcp->last_wscale = 0;
		if (opt.flags[0] & CT_TCP_F_WINDOW_SCALE) {
			tcp->last_flags |= CT_TCP_F_WINDOW_SCALE;
			tcp->last_wscale = opt.wscale[0];
		}
		if (opt.flags[0] & CT_TCP_F_SACK_PERM)
			tcp->last_flags |= CT_TCP_F_SACK_PERM;
		/* RFC 5961: the answer may be a challenge ACK, which in
		 * LAST_ACK would look like the last ACK */
		if (old == sLA)
			tcp->last_flags |= CT_TCP_F_EXP_CHALLENGE_ACK;
	}
	/* a reply ACK to our SYN: maybe a challenge ACK */
	if (old == sSS && index == TCP_ACK_SET && dir == CT_DIR_REPLY)
		tcp->last_ack = s->ack;
}

/* The SYN/ACK acknowledges a SYN we ignored: client and server are in
 * sync, we are not. Restart from SYN_SENT with the stored SYN values. */
static void tcp_resync(struct conn_tcp *tcp, enum ct_dir dir)
{
	int ld = tcp->last_dir;
	struct conn_tcp_win *w = &tcp->seen[ld];

	w->td_end = w->td_maxend = tcp->last_end;
	w->td_maxwin = tcp->last_win ? tcp->last_win : 1;
	tcp->wscale[ld] = tcp->last_wscale;
	tcp->last_flags &= (uint8_t)~CT_TCP_F_EXP_CHALLENGE_ACK;
	tcp->flags[ld] = tcp->last_flags;
	/* nf_ct_tcp_state_reset() of the SYN/ACK's side */
	memset(&tcp->seen[dir], 0, sizeof(tcp->seen[dir]));
	tcp->wscale[dir] = 0;
	tcp->flags[dir] &= CT_TCP_F_BE_LIBERAL;
}

/* Why tcp_packet() chose @timeout for state @next: the same rules, in the
 * same order, as its "first rule that applies" chain (keep them in step). */
static __attribute__((cold, noinline)) void tcp_trace_timeout(const struct ct_l4_ctx *x, const struct conn_tcp *tcp,
			      enum ct_tcp_index index, unsigned next, uint32_t timeout,
			      const uint32_t *timeouts, uint32_t t_retrans, uint32_t t_unack,
			      bool policy)
{
	const struct ct_settings *st = x->core->settings;
	const char *why;

	if (tcp->retrans >= st->tcp_max_retrans && timeouts[next] > t_retrans)
		why = "retransmissions >= nf_conntrack_tcp_max_retrans: timeout_max_retrans";
	else if (index == TCP_RST_SET)
		why = "RST: the CLOSE timeout";
	else if (((tcp->flags[0] | tcp->flags[1]) & CT_TCP_F_DATA_UNACKNOWLEDGED) &&
		 timeouts[next] > t_unack)
		why = "unacknowledged data: timeout_unacknowledged";
	else if (tcp->last_win == 0 && timeouts[next] > t_retrans)
		why = "zero window: timeout_max_retrans";
	else
		why = "the state's timeout";
	CT_TRACE(x->skb, CT_TR_TIMEOUT, "tcp %u s for %s (%s%s)", timeout,
		 tcp_state_names[next], why, policy ? ", of the entry's ct timeout policy" : "");
}

static enum ct_l4_verdict tcp_packet(struct ct_l4_ctx *x, struct conn *ct, const char **reason)
{
	const struct ct_settings *st = x->core->settings;
	struct conn_tcp *tcp = &ct->proto.tcp;
	const enum ct_dir dir = x->dir;
	const enum ct_tcp_index index = ct_tcp_flags_index(x->skb->pkt.tcp_flags);
	unsigned old = tcp->state < CT_TCP_MAX ? tcp->state : sCL;
	const struct tcp_cell *cell = &tcp_table[dir][index][old];
	unsigned next = cell->next;
	const uint32_t *timeouts = st->tcp_timeout;
	uint32_t t_retrans = st->tcp_timeout_max_retrans, t_unack = st->tcp_timeout_unacknowledged;
	struct tcp_seg s;
	uint32_t timeout;

	const bool traced = __builtin_expect(x->skb->tracer != NULL, 0);

	tcp_seg_read(&x->skb->pkt, &s);
	*reason = NULL;
	/* the cell, as `ctsim explain tcp` prints it */
	if (traced)
		ct_trace_step(x->skb, CT_TR_TRACKER, "tcp %s --%s/%s--> %s: %s", tcp_state_names[old],
			      tcp_index_names[index], dir ? "reply" : "orig", tcp_state_names[next],
			      cell->why);

	switch (next) {
	case sSS:
		if (old < sTW)
			break;
		/* A SYN on TIME_WAIT or CLOSE: if a FIN started the close, or
		 * our side's last packet was an RST, the client reuses the
		 * port for a new connection: kill and look up again. */
		if (((tcp->flags[0] | tcp->flags[1]) & CT_TCP_F_CLOSE_INIT) ||
		    (tcp->last_dir == dir && tcp->last_index == TCP_RST_SET)) {
			*reason = cell->why;
			return ct_table_delete(x->core->table, ct, 0, false) ? CT_L4_REPEAT
									      : CT_L4_DROP;
		}
		/* else: ignore it like a SYN on an open connection */
		/* fallthrough */
	case sIG:
		if (index == TCP_SYNACK_SET && tcp->last_index == TCP_SYN_SET &&
		    tcp->last_dir != dir && s.ack == tcp->last_end) {
			/* b) resync on the SYN/ACK answering an ignored SYN */
			old = sSS;
			next = sSR;
			tcp_resync(tcp, dir);
			break;
		}
		tcp_record_ignored(tcp, dir, index, old, &s);
		*reason = cell->why;
		return CT_L4_ACCEPT;	/* ignored: no state change, no refresh */
	case sIV:
		/* (SYN proxy keep-alive exception: no synproxy in ctsim yet) */
		*reason = cell->why;
		return CT_L4_INVALID;
	case sTW:
		/* RFC 5961: the answer to the SYN let through in LAST_ACK is a
		 * challenge ACK, not the last ACK. */
		if (old == sLA && index == TCP_ACK_SET && tcp->last_dir != dir &&
		    tcp->last_index == TCP_SYN_SET &&
		    (tcp->last_flags & CT_TCP_F_EXP_CHALLENGE_ACK)) {
			tcp->last_flags &= (uint8_t)~CT_TCP_F_EXP_CHALLENGE_ACK;
			*reason = CT_TCP_IGN_CHALLENGE;
			return CT_L4_ACCEPT;
		}
		break;
	case sS2:
		tcp->last_flags |= CT_TCP_F_SIMULTANEOUS_OPEN;
		break;
	case sSR:
		if (dir == CT_DIR_REPLY && index == TCP_ACK_SET &&
		    (tcp->last_flags & CT_TCP_F_SIMULTANEOUS_OPEN))
			next = sES;	/* the table cannot express this one */
		break;
	case sCL:
		if (index != TCP_RST_SET)
			break;
		/* Closing: the tuple may be reused already, our sequence
		 * data is stale; take the RST as it is. */
		if (ct_tcp_can_early_drop(ct))
			goto in_window;
		if ((tcp->flags[!dir] & CT_TCP_F_MAXACK_SET) && tcp->last_index != TCP_SYN_SET) {
			uint32_t seq = s.seq;

			if (seq == 0 && !tcp_established(ct))
				break;	/* most likely the answer to a SYN we let through */
			if (before(seq, tcp->seen[!dir].td_maxack) && !st->tcp_ignore_invalid_rst) {
				*reason = CT_TCP_INV_RST;
				return CT_L4_INVALID;
			}
			if (!tcp_established(ct) || seq == tcp->seen[!dir].td_maxack)
				break;	/* exactly the next expected byte */
			/* part of a train: data then RST at its end */
			if (tcp->last_index == TCP_ACK_SET && tcp->last_dir == dir &&
			    seq == tcp->last_end)
				break;
			/* inexact: stay ESTABLISHED, a challenge ACK will follow */
			next = old;
		}
		/* An RST to a SYN or ACK we let through: no window check, it
		 * may acknowledge what we did not track. An RST answering a
		 * SYN comes from the other side: Linux 6.18 checks an RST
		 * from the SYN's own side against the window (issue 17;
		 * scenarios tcp_rst_after_syn_same_side.ct and
		 * tcp_issue17_seq_[ab].ct: after a reply SYN, a reply RST
		 * with ack 0 and a far sequence is INVALID on the kernel,
		 * the same RST from the client closes). */
		if ((((ct->status & CT_S_SEEN_REPLY) && tcp->last_index == TCP_SYN_SET &&
		      tcp->last_dir != dir) ||
		     (!(ct->status & CT_S_ASSURED) && tcp->last_index == TCP_ACK_SET)) &&
		    s.ack == tcp->last_end)
			goto in_window;
		/* an RST answering the challenge ACK we let through */
		if (old == sSS && tcp->last_index == TCP_ACK_SET &&
		    tcp->last_dir == CT_DIR_REPLY && s.seq == tcp->last_ack)
			goto in_window;
		break;
	default:
		break;
	}

	switch (tcp_in_window(x, ct, dir, index, &s, reason)) {
	case TCP_IGNORE:
		return CT_L4_ACCEPT;
	case TCP_INVALID:
		tcp_handle_invalid(x, ct, dir, index);
		return CT_L4_INVALID;
	case TCP_ACCEPT:
		if (traced)
			tcp_trace_win(x, tcp, &s, dir, false);
		break;
	}
in_window:
	tcp->last_index = (uint8_t)index;
	tcp->last_dir = (uint8_t)dir;
	tcp->state = (uint8_t)next;
	if (old != next && next == sFW)
		tcp->flags[dir] |= CT_TCP_F_CLOSE_INIT;

	/* The timeout: the first rule that applies. An entry with a `ct
	 * timeout` policy uses its values (tcp_packet(): nf_ct_timeout_lookup()
	 * before the per-net defaults) */
	if (__builtin_expect(ct->ext && (ct->ext->has & CONN_EXT_TIMEOUT), 0)) {
		timeouts = ct->ext->timeouts;
		t_retrans = timeouts[CT_TO_TCP_RETRANS];
		t_unack = timeouts[CT_TO_TCP_UNACK];
	}
	if (tcp->retrans >= st->tcp_max_retrans && timeouts[next] > t_retrans)
		timeout = t_retrans;
	else if (index == TCP_RST_SET)
		timeout = timeouts[sCL];
	else if (((tcp->flags[0] | tcp->flags[1]) & CT_TCP_F_DATA_UNACKNOWLEDGED) &&
		 timeouts[next] > t_unack)
		timeout = t_unack;
	else if (tcp->last_win == 0 && timeouts[next] > t_retrans)
		timeout = t_retrans;
	else
		timeout = timeouts[next];
	if (traced)
		tcp_trace_timeout(x, tcp, index, next, timeout, timeouts, t_retrans, t_unack,
				  timeouts != st->tcp_timeout);

	if (next != old)
		ct_l4_event(x, ct, CT_EV(PROTOINFO));

	if (!(ct->status & CT_S_SEEN_REPLY)) {
		/* Only an RST came back: a refused connection, delete now */
		if (s.flags & CT_TCP_RST) {
			ct_l4_kill(x, ct);
			return CT_L4_ACCEPT;
		}
		/* A retransmitted SYN does not renew the timeout (else port
		 * reuse could keep the entry, and its NAT, alive forever) */
		if (index == TCP_SYN_SET && old == sSS)
			return CT_L4_ACCEPT;
		/* A picked-up connection gets at most the unacknowledged timeout */
		if (next == sES && timeout > t_unack)
			timeout = t_unack;
	} else if (!(ct->status & CT_S_ASSURED) && (old == sSR || old == sES) && next == sES) {
		/* the handshake's last ACK, or an answer to a picked-up connection */
		ct_l4_set_assured(x, ct);
	}
	ct_l4_refresh(x, ct, timeout);
	return CT_L4_ACCEPT;
}

const struct ct_l4proto ct_l4proto_tcp = {
	.name = "tcp",
	.l4num = IPPROTO_TCP,
	.allow_clash = false,
	.error = tcp_error,
	.new = tcp_new,
	.packet = tcp_packet,
};
