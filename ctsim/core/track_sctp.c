/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * track_sctp.c — SCTP (nf_conntrack_proto_sctp.c, Linux 6.18).
 *
 * The state follows the chunks a packet carries, through the table of
 * shared reference §2.7 (sctp_conntracks[dir][chunk][state]), kept here as
 * data with a reason per cell. Surprises: the first INIT makes a CLOSED
 * entry (10 s), COOKIE_WAIT only comes with the INIT_ACK; entering
 * ESTABLISHED (COOKIE_ACK) sets ASSURED; each state has its own timeout
 * (nf_conntrack_sctp_timeout_*). Verification tags are checked (RFC 4960
 * §8.5) and learnt from INIT / INIT_ACK (and HEARTBEATs, for multihoming).
 */
#include <string.h>
#include "ctsim/core/l4proto.h"

/* Chunk types (SCTP_CID_*) */
enum {
	CID_DATA = 0, CID_INIT = 1, CID_INIT_ACK = 2, CID_SACK = 3, CID_HEARTBEAT = 4,
	CID_HEARTBEAT_ACK = 5, CID_ABORT = 6, CID_SHUTDOWN = 7, CID_SHUTDOWN_ACK = 8,
	CID_ERROR = 9, CID_COOKIE_ECHO = 10, CID_COOKIE_ACK = 11, CID_SHUTDOWN_COMPLETE = 14,
};
#define CHUNK_FLAG_T			0x01	/* ABORT / SHUTDOWN_COMPLETE: T bit */
#define SCTP_FLAG_HEARTBEAT_VTAG_FAILED	0x01

/* Table rows: the chunks that move the state (sctp_new_state()). */
enum { sINIT, sINIT_ACK, sABORT, sSHUTDOWN, sSHUTDOWN_ACK, sERROR, sCOOKIE_ECHO,
       sCOOKIE_ACK, sSHUTDOWN_COMP, sHEARTBEAT, sHEARTBEAT_ACK, SCTP_ROWS };

#define sNO CT_SCTP_NONE
#define sCL CT_SCTP_CLOSED
#define sCW CT_SCTP_COOKIE_WAIT
#define sCE CT_SCTP_COOKIE_ECHOED
#define sES CT_SCTP_ESTABLISHED
#define sSS CT_SCTP_SHUTDOWN_SENT
#define sSR CT_SCTP_SHUTDOWN_RECD
#define sSA CT_SCTP_SHUTDOWN_ACK_SENT
#define sHS CT_SCTP_HEARTBEAT_SENT
#define sIV CT_SCTP_MAX

struct sctp_cell {
	uint8_t next;
	const char *why;
};

#define C(s, w) { s, w }
#define KEEP(s)		C(s, "this chunk does not change the state")
#define ABORTED		C(sCL, "ABORT closes the association")
#define IV_REPLY	C(sIV, "reply direction before any INIT was seen")
#define IV_HB		C(sIV, "only HEARTBEAT/HEARTBEAT_ACK answer a HEARTBEAT_SENT entry")

/* sctp_conntracks[dir][chunk][old_state], columns sNO sCL sCW sCE sES sSS sSR sSA sHS */
static const struct sctp_cell sctp_table[2][SCTP_ROWS][CT_SCTP_MAX] = {
[CT_DIR_ORIG] = {
[sINIT] = {
	C(sCL, "INIT opens: CLOSED until the INIT_ACK"),
	C(sCL, "INIT retransmitted"),
	KEEP(sCW), KEEP(sCE), KEEP(sES),
	C(sCL, "INIT after SHUTDOWN: a new association"),
	C(sCL, "INIT after SHUTDOWN: a new association"),
	KEEP(sSA),
	C(sCW, "INIT on a HEARTBEAT entry: COOKIE_WAIT"),
},
[sINIT_ACK] = {
	C(sCL, "INIT_ACK without INIT (out of the blue)"),
	KEEP(sCL), KEEP(sCW), KEEP(sCE), KEEP(sES), KEEP(sSS), KEEP(sSR), KEEP(sSA),
	C(sCL, "INIT_ACK on a HEARTBEAT entry"),
},
[sABORT] = {
	ABORTED, ABORTED, ABORTED, ABORTED, ABORTED, ABORTED, ABORTED, ABORTED, ABORTED,
},
[sSHUTDOWN] = {
	C(sCL, "SHUTDOWN out of the blue"),
	KEEP(sCL), KEEP(sCW), KEEP(sCE),
	C(sSS, "SHUTDOWN sent"),
	KEEP(sSS), KEEP(sSR), KEEP(sSA),
	C(sCL, "SHUTDOWN on a HEARTBEAT entry"),
},
[sSHUTDOWN_ACK] = {
	C(sSA, "SHUTDOWN_ACK out of the blue: expect SHUTDOWN_COMPLETE"),
	KEEP(sCL), KEEP(sCW), KEEP(sCE), KEEP(sES),
	C(sSA, "SHUTDOWN_ACK sent"),
	C(sSA, "SHUTDOWN_ACK sent"),
	KEEP(sSA),
	C(sSA, "SHUTDOWN_ACK on a HEARTBEAT entry"),
},
[sERROR] = {
	C(sCL, "ERROR out of the blue"),
	KEEP(sCL), KEEP(sCW), KEEP(sCE), KEEP(sES), KEEP(sSS), KEEP(sSR), KEEP(sSA),
	C(sCL, "ERROR on a HEARTBEAT entry"),
},
[sCOOKIE_ECHO] = {
	C(sCL, "COOKIE_ECHO out of the blue"),
	KEEP(sCL),
	C(sCE, "COOKIE_ECHO answers the INIT_ACK"),
	KEEP(sCE), KEEP(sES), KEEP(sSS), KEEP(sSR), KEEP(sSA),
	C(sCL, "COOKIE_ECHO on a HEARTBEAT entry"),
},
[sCOOKIE_ACK] = {
	C(sCL, "COOKIE_ACK out of the blue"),
	KEEP(sCL), KEEP(sCW),
	C(sES, "COOKIE_ACK: association established"),
	KEEP(sES), KEEP(sSS), KEEP(sSR), KEEP(sSA),
	C(sCL, "COOKIE_ACK on a HEARTBEAT entry"),
},
[sSHUTDOWN_COMP] = {
	C(sCL, "SHUTDOWN_COMPLETE out of the blue"),
	KEEP(sCL), KEEP(sCW), KEEP(sCE), KEEP(sES), KEEP(sSS), KEEP(sSR),
	C(sCL, "SHUTDOWN_COMPLETE: association closed"),
	C(sCL, "SHUTDOWN_COMPLETE on a HEARTBEAT entry"),
},
[sHEARTBEAT] = {
	C(sHS, "HEARTBEAT on a new path (multihoming)"),
	KEEP(sCL), KEEP(sCW), KEEP(sCE), KEEP(sES), KEEP(sSS), KEEP(sSR), KEEP(sSA),
	C(sHS, "HEARTBEAT retransmitted"),
},
[sHEARTBEAT_ACK] = {
	C(sCL, "HEARTBEAT_ACK out of the blue"),
	KEEP(sCL), KEEP(sCW), KEEP(sCE), KEEP(sES), KEEP(sSS), KEEP(sSR), KEEP(sSA),
	C(sHS, "HEARTBEAT_ACK from the side that sent the HEARTBEAT"),
},
},
[CT_DIR_REPLY] = {
[sINIT] = {
	IV_REPLY,
	KEEP(sCL), KEEP(sCW), KEEP(sCE), KEEP(sES), KEEP(sSS), KEEP(sSR), KEEP(sSA),
	IV_HB,
},
[sINIT_ACK] = {
	IV_REPLY,
	C(sCW, "INIT_ACK answers the INIT: COOKIE_WAIT"),
	KEEP(sCW), KEEP(sCE), KEEP(sES), KEEP(sSS), KEEP(sSR), KEEP(sSA),
	IV_HB,
},
[sABORT] = {
	IV_REPLY,
	ABORTED, ABORTED, ABORTED, ABORTED, ABORTED, ABORTED, ABORTED,
	IV_HB,
},
[sSHUTDOWN] = {
	IV_REPLY,
	KEEP(sCL), KEEP(sCW), KEEP(sCE),
	C(sSR, "SHUTDOWN received from the responder"),
	KEEP(sSS), KEEP(sSR), KEEP(sSA),
	IV_HB,
},
[sSHUTDOWN_ACK] = {
	IV_REPLY,
	KEEP(sCL), KEEP(sCW), KEEP(sCE), KEEP(sES),
	C(sSA, "SHUTDOWN_ACK answers the SHUTDOWN"),
	C(sSA, "SHUTDOWN_ACK sent"),
	KEEP(sSA),
	IV_HB,
},
[sERROR] = {
	IV_REPLY,
	KEEP(sCL), KEEP(sCW),
	C(sCL, "ERROR answers the COOKIE_ECHO (stale cookie)"),
	KEEP(sES), KEEP(sSS), KEEP(sSR), KEEP(sSA),
	IV_HB,
},
[sCOOKIE_ECHO] = {
	IV_REPLY,
	KEEP(sCL),
	C(sCE, "COOKIE_ECHO from the responder"),
	KEEP(sCE), KEEP(sES), KEEP(sSS), KEEP(sSR), KEEP(sSA),
	IV_HB,
},
[sCOOKIE_ACK] = {
	IV_REPLY,
	KEEP(sCL), KEEP(sCW),
	C(sES, "COOKIE_ACK: association established"),
	KEEP(sES), KEEP(sSS), KEEP(sSR), KEEP(sSA),
	IV_HB,
},
[sSHUTDOWN_COMP] = {
	IV_REPLY,
	KEEP(sCL), KEEP(sCW), KEEP(sCE), KEEP(sES), KEEP(sSS), KEEP(sSR),
	C(sCL, "SHUTDOWN_COMPLETE: association closed"),
	IV_HB,
},
[sHEARTBEAT] = {
	IV_REPLY,
	KEEP(sCL), KEEP(sCW), KEEP(sCE), KEEP(sES), KEEP(sSS), KEEP(sSR), KEEP(sSA),
	KEEP(sHS),
},
[sHEARTBEAT_ACK] = {
	IV_REPLY,
	KEEP(sCL), KEEP(sCW), KEEP(sCE), KEEP(sES), KEEP(sSS), KEEP(sSR), KEEP(sSA),
	C(sES, "HEARTBEAT_ACK answers: the secondary path is established"),
},
},
};

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* sctp_new_state()'s row for a chunk type, or -1: DATA, SACK ... do not
 * change the state. */
static int chunk_row(uint8_t type)
{
	switch (type) {
	case CID_INIT: return sINIT;
	case CID_INIT_ACK: return sINIT_ACK;
	case CID_ABORT: return sABORT;
	case CID_SHUTDOWN: return sSHUTDOWN;
	case CID_SHUTDOWN_ACK: return sSHUTDOWN_ACK;
	case CID_ERROR: return sERROR;
	case CID_COOKIE_ECHO: return sCOOKIE_ECHO;
	case CID_COOKIE_ACK: return sCOOKIE_ACK;
	case CID_SHUTDOWN_COMPLETE: return sSHUTDOWN_COMP;
	case CID_HEARTBEAT: return sHEARTBEAT;
	case CID_HEARTBEAT_ACK: return sHEARTBEAT_ACK;
	default: return -1;
	}
}

/* for_each_sctp_chunk(): chunks start after the 12-byte common header and
 * are padded to 4 bytes; a chunk header that does not fit ends the walk. */
struct chunk_it {
	const uint8_t *l4;
	size_t len, off;
};

static const uint8_t *chunk_next(struct chunk_it *it)
{
	const uint8_t *ch;
	uint16_t clen;

	if (it->off + 4 > it->len)
		return NULL;
	ch = it->l4 + it->off;
	clen = rd16(ch + 2);
	if (clen == 0)		/* do_basic_checks() refused those */
		return NULL;
	it->off += ((size_t)clen + 3) & ~(size_t)3;
	return ch;
}

static void chunk_begin(struct chunk_it *it, const struct ct_pkt *p)
{
	it->l4 = p->data + p->l4off;
	it->len = p->l4len;
	it->off = 12;
}

/* The init_tag of an INIT or INIT_ACK chunk (sctp_inithdr), if present. */
static bool init_tag(const struct chunk_it *it, const uint8_t *ch, uint32_t *tag)
{
	if ((size_t)(ch - it->l4) + 8 > it->len)
		return false;
	*tag = rd32(ch + 4);
	return true;
}

struct chunk_map {
	uint64_t bits[4];
};

static bool has(const struct chunk_map *m, uint8_t type)
{
	return m->bits[type / 64] & (1ull << (type % 64));
}

/* do_basic_checks(): COOKIE_ECHO / COOKIE_ACK must be first, INIT,
 * INIT_ACK, SHUTDOWN_COMPLETE alone, no zero-length chunk, at least one. */
static bool basic_checks(const struct ct_pkt *p, struct chunk_map *map)
{
	const uint8_t *l4 = p->data + p->l4off;
	size_t off = 12;
	unsigned count = 0;
	bool alone = false;

	memset(map, 0, sizeof(*map));
	for (; off + 4 <= p->l4len; count++) {
		const uint8_t *ch = l4 + off;
		uint8_t type = ch[0];
		uint16_t clen = rd16(ch + 2);

		if (type == CID_INIT || type == CID_INIT_ACK || type == CID_SHUTDOWN_COMPLETE)
			alone = true;
		if (((type == CID_COOKIE_ACK || type == CID_COOKIE_ECHO || alone) && count != 0) ||
		    clen == 0)
			return false;
		map->bits[type / 64] |= 1ull << (type % 64);
		off += ((size_t)clen + 3) & ~(size_t)3;
	}
	return count != 0;
}

/* sctp_error() and do_basic_checks() */
static const char *sctp_error(const struct ct_l4_ctx *x)
{
	const struct ct_pkt *p = &x->skb->pkt;
	struct chunk_map map;

	if (p->l4_truncated || p->l4len < 12)
		return CT_INV_SCTP_SHORT;
	if (ct_l4_checksum_wanted(x) && !ct_pkt_l4_csum_ok(p))
		return CT_INV_SCTP_CRC;
	if (!basic_checks(p, &map))
		return CT_INV_SCTP_CHUNKS;
	return NULL;
}

/* sctp_new(): may this packet create an entry? Learns the first vtags. */
static const char *sctp_new(struct ct_l4_ctx *x, struct conn *ct)
{
	const struct ct_pkt *p = &x->skb->pkt;
	struct conn_sctp *sctp = &ct->proto.sctp;
	struct chunk_map map;
	struct chunk_it it;
	const uint8_t *ch;

	basic_checks(p, &map);
	/* Out of the blue packets with these chunks are discarded (Sec 8.4) */
	if (has(&map, CID_ABORT) || has(&map, CID_SHUTDOWN_COMPLETE) || has(&map, CID_COOKIE_ACK))
		return CT_INV_SCTP_OOTB;

	memset(&ct->proto, 0, sizeof(ct->proto));
	chunk_begin(&it, p);
	while ((ch = chunk_next(&it))) {
		int row = chunk_row(ch[0]);
		uint8_t next = row < 0 ? sNO : sctp_table[CT_DIR_ORIG][row][sNO].next;

		if (next == sNO || next == sIV)
			return CT_INV_SCTP_NEW;
		if (ch[0] == CID_INIT) {
			uint32_t tag;

			if (p->sctp_vtag != 0)		/* Sec 8.5.1 (A) */
				return CT_INV_SCTP_NEW;
			if (!init_tag(&it, ch, &tag))
				return CT_INV_SCTP_NEW;
			sctp->vtag[CT_DIR_REPLY] = tag;
		} else if (ch[0] == CID_HEARTBEAT) {
			sctp->vtag[CT_DIR_ORIG] = p->sctp_vtag;	/* a secondary path */
		} else {
			/* SHUTDOWN_ACK out of the blue: the answer (SHUTDOWN_COMPLETE
			 * or ABORT, Sec 8.4 (5), (8)) carries this vtag */
			sctp->vtag[CT_DIR_REPLY] = p->sctp_vtag;
		}
		sctp->state = sNO;
	}
	return NULL;
}

/* ABORT and SHUTDOWN_COMPLETE: own vtag, or the peer's with the T bit (Sec 8.5.1 B, C) */
static bool vtag_by_t_bit(const struct conn_sctp *sctp, const uint8_t *ch, uint32_t vtag,
			  enum ct_dir dir)
{
	return (ch[1] & CHUNK_FLAG_T) ? vtag == sctp->vtag[!dir] : vtag == sctp->vtag[dir];
}

/* nf_conntrack_sctp_packet() */
static enum ct_l4_verdict sctp_packet(struct ct_l4_ctx *x, struct conn *ct, const char **reason)
{
	const struct ct_pkt *p = &x->skb->pkt;
	struct conn_sctp *sctp = &ct->proto.sctp;
	enum ct_dir dir = x->dir;
	uint32_t vtag = p->sctp_vtag;
	uint8_t old = sctp->state, next = sctp->state;
	bool ignore = false;
	struct chunk_map map;
	struct chunk_it it;
	const uint8_t *ch;

	basic_checks(p, &map);
	/* Verification tag (Sec 8.5), except for the chunks of Sec 8.5.1 */
	if (!has(&map, CID_INIT) && !has(&map, CID_SHUTDOWN_COMPLETE) &&
	    !has(&map, CID_COOKIE_ECHO) && !has(&map, CID_ABORT) &&
	    !has(&map, CID_SHUTDOWN_ACK) && !has(&map, CID_HEARTBEAT) &&
	    !has(&map, CID_HEARTBEAT_ACK) && vtag != sctp->vtag[dir]) {
		*reason = CT_INV_SCTP_VTAG;
		return CT_L4_INVALID;
	}

	chunk_begin(&it, p);
	while ((ch = chunk_next(&it))) {
		int row;

		*reason = CT_INV_SCTP_VTAG;
		switch (ch[0]) {
		case CID_INIT:
			if (vtag != 0)			/* (A) */
				return CT_L4_INVALID;
			break;
		case CID_ABORT:				/* (B) */
		case CID_SHUTDOWN_COMPLETE:		/* (C) */
			if (!vtag_by_t_bit(sctp, ch, vtag, dir))
				return CT_L4_INVALID;
			break;
		case CID_COOKIE_ECHO:			/* (D): the tag from INIT_ACK */
			if (vtag != sctp->vtag[dir])
				return CT_L4_INVALID;
			break;
		case CID_COOKIE_ACK:
			sctp->init[0] = sctp->init[1] = 0;
			break;
		case CID_HEARTBEAT:
			if (sctp->vtag[dir] == 0) {
				sctp->vtag[dir] = vtag;
			} else if (vtag != sctp->vtag[dir]) {
				/* maybe a new path: remember, wait for the ACK */
				if (has(&map, CID_DATA) || ignore)
					return CT_L4_INVALID;
				sctp->flags |= SCTP_FLAG_HEARTBEAT_VTAG_FAILED;
				sctp->last_dir = (uint8_t)dir;
				ignore = true;
				continue;
			} else {
				sctp->flags &= (uint8_t)~SCTP_FLAG_HEARTBEAT_VTAG_FAILED;
			}
			break;
		case CID_HEARTBEAT_ACK:
			if (sctp->vtag[dir] == 0) {
				sctp->vtag[dir] = vtag;
			} else if (vtag != sctp->vtag[dir]) {
				if (has(&map, CID_DATA) || ignore)
					return CT_L4_INVALID;
				if (!(sctp->flags & SCTP_FLAG_HEARTBEAT_VTAG_FAILED) ||
				    sctp->last_dir == dir)
					return CT_L4_INVALID;
				sctp->flags &= (uint8_t)~SCTP_FLAG_HEARTBEAT_VTAG_FAILED;
				sctp->vtag[dir] = vtag;
				sctp->vtag[!dir] = 0;
			} else {
				sctp->flags &= (uint8_t)~SCTP_FLAG_HEARTBEAT_VTAG_FAILED;
			}
			break;
		default:
			break;
		}

		old = sctp->state;
		row = chunk_row(ch[0]);
		if (row < 0) {
			next = old;		/* DATA, SACK ...: no change */
		} else {
			const struct sctp_cell *cell = &sctp_table[dir][row][old];

			next = cell->next;
			if (next == sIV) {
				*reason = cell->why;
				return CT_L4_INVALID;
			}
		}

		if (ch[0] == CID_INIT) {
			uint32_t tag;

			if (!init_tag(&it, ch, &tag))
				return CT_L4_INVALID;
			if (sctp->init[dir] && sctp->init[!dir])
				sctp->init[!dir] = 0;
			sctp->init[dir] = 1;
			sctp->vtag[!dir] = tag;
			/* an INIT retransmission does not renew the timeout, so
			 * that port reuse cannot keep the entry alive */
			if (next == sCL && old == sCL && (ct->status & CT_S_CONFIRMED))
				ignore = true;
		} else if (ch[0] == CID_INIT_ACK) {
			uint32_t tag, seen = sctp->vtag[!dir];

			if (!init_tag(&it, ch, &tag))
				return CT_L4_INVALID;
			if (!sctp->init[!dir] && seen && seen != tag)
				return CT_L4_INVALID;
			if (sctp->init[dir] && sctp->init[!dir] && seen != tag)
				return CT_L4_INVALID;	/* INIT collision */
			sctp->vtag[!dir] = tag;
		}

		sctp->state = next;
		if (old != next) {
			ct_l4_event(x, ct, CT_EV(PROTOINFO));
			if (next == sES)
				ct_l4_set_assured(x, ct);
		}
	}
	*reason = NULL;
	if (ignore)			/* accepted, not counted, timeout not renewed */
		return CT_L4_ACCEPT;
	ct_l4_refresh(x, ct, x->core->settings->sctp_timeout[next]);
	return CT_L4_ACCEPT;
}

const struct ct_l4proto ct_l4proto_sctp = {
	.name = "sctp",
	.l4num = IPPROTO_SCTP,
	.allow_clash = false,
	.error = sctp_error,
	.new = sctp_new,
	.packet = sctp_packet,
};
