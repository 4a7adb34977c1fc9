/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * track_tcp.h — the public face of the TCP tracker (ctsim/core/track_tcp.c): the
 * per-direction flags the kernel keeps (IP_CT_TCP_FLAG_*, uapi
 * nf_conntrack_tcp.h), the INVALID/IGNORE reasons in the kernel's log
 * wording, and a teaching view of the transition table (`ctsim explain
 * tcp`): every cell with its reason.
 */
#ifndef CTSIM_PROTO_TCP_H
#define CTSIM_PROTO_TCP_H

#include <stdint.h>
#include <stdio.h>
#include "ctsim/core/table.h"

/* conn_tcp.flags[dir] (struct ip_ct_tcp_state.flags) */
#define CT_TCP_F_WINDOW_SCALE		0x01	/* this side sent the window scale option */
#define CT_TCP_F_SACK_PERM		0x02	/* this side sent SACK permitted */
#define CT_TCP_F_CLOSE_INIT		0x04	/* this side's FIN started the close (FIN_WAIT) */
#define CT_TCP_F_BE_LIBERAL		0x08	/* window checks never fail for this sender */
#define CT_TCP_F_DATA_UNACKNOWLEDGED	0x10	/* this side sent data not yet ACKed */
#define CT_TCP_F_MAXACK_SET		0x20	/* td_maxack is valid */
/* conn_tcp.last_flags only */
#define CT_TCP_F_EXP_CHALLENGE_ACK	0x40	/* a SYN in LAST_ACK was let through */
#define CT_TCP_F_SIMULTANEOUS_OPEN	0x80	/* SYN_SENT2 was seen */

/* Why a TCP packet was INVALID or IGNOREd: the kernel's
 * nf_ct_l4proto_log_invalid() texts (numbers left out). */
#define CT_TCP_INV_TRUNCATED	"truncated packet"
#define CT_TCP_INV_CSUM		"bad checksum"
#define CT_TCP_INV_FLAGS	"invalid tcp flag combination"
#define CT_TCP_INV_SEQ_OVER	"SEQ is over upper bound (over the window of the receiver)"
#define CT_TCP_INV_ACK_OVER	"ACK is over upper bound (ACKed data not seen yet)"
#define CT_TCP_IGN_SEQ_UNDER	"SEQ is under lower bound (already ACKed data retransmitted)"
#define CT_TCP_IGN_ACK_UNDER	"ignored ACK under lower bound (possible overly delayed)"
#define CT_TCP_IGN_OVERSHOT	"bytes more than expected (receiver window overshot)"
#define CT_TCP_INV_RST		"invalid rst"
#define CT_TCP_IGN_CHALLENGE	"challenge-ack ignored"

/* get_conntrack_index(): the flag class a packet falls in. */
enum ct_tcp_index {
	CT_TCP_IDX_SYN, CT_TCP_IDX_SYNACK, CT_TCP_IDX_FIN, CT_TCP_IDX_ACK,
	CT_TCP_IDX_RST, CT_TCP_IDX_NONE, CT_TCP_IDX_MAX
};

/* Pseudo-states of the table (beyond the real ones, enum ct_tcp_state). */
#define CT_TCP_S_INVALID	CT_TCP_MAX
#define CT_TCP_S_IGNORE		(CT_TCP_MAX + 1)

/** ct_tcp_cell_state_name - "ESTABLISHED", ... (tcp_conntrack_names[]);
 *  "INVALID"/"IGNORE" for the pseudo-states. */
const char *ct_tcp_cell_state_name(unsigned state);
/** ct_tcp_index_name - "syn", "synack", "fin", "ack", "rst", "none". */
const char *ct_tcp_index_name(enum ct_tcp_index index);
/** ct_tcp_flags_index - get_conntrack_index() for a flag byte (CT_TCP_*). */
enum ct_tcp_index ct_tcp_flags_index(uint8_t tcp_flags);

/**
 * ct_tcp_transition - one cell of tcp_conntracks[dir][index][state]:
 * returns the next state (maybe CT_TCP_S_INVALID / CT_TCP_S_IGNORE) and
 * sets @why to the reason kept beside it. @state must be < CT_TCP_MAX.
 */
unsigned ct_tcp_transition(enum ct_dir dir, enum ct_tcp_index index, unsigned state,
			   const char **why);

/**
 * ct_tcp_print_table - the whole table, one line per cell:
 *   "ESTABLISHED --fin/orig--> FIN_WAIT: FIN from the originator: the close starts"
 * (the teaching view; `ctsim explain tcp`).
 */
void ct_tcp_print_table(FILE *out);

/**
 * ct_tcp_can_early_drop - tcp_can_early_drop(): is @ct's TCP state a
 * closing one (FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE), whose
 * sequence data may be stale and which the GC may kill when the table is
 * nearly full (core/overflow.c)?
 */
bool ct_tcp_can_early_drop(const struct conn *ct);

#endif
