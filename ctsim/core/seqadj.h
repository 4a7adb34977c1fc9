/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seqadj.h — TCP sequence adjustment (the kernel's nf_conntrack_seqadj.c):
 * when a helper with NAT changes the length of a TCP payload (an FTP PORT
 * whose address got longer), every later packet of that direction has its
 * sequence number moved by the difference, and every packet of the other
 * direction its acknowledgement (and SACK blocks) moved back. The offsets
 * live in the entry's seqadj extension (conn_ext.seqadj[dir]: correction
 * position, offset before and after it), which ctnetlink shows as
 * CTA_SEQ_ADJ_ORIG / CTA_SEQ_ADJ_REPLY when IPS_SEQ_ADJUST is set.
 */
#ifndef CTSIM_SEQADJ_H
#define CTSIM_SEQADJ_H

#include <stdbool.h>
#include <stdint.h>
#include "ctsim/core/table.h"

struct ct_pkt;

/**
 * ct_seqadj_set - nf_ct_seqadj_set(): the payload of the packet of @ct in
 * direction @dir starting at sequence @seq grew by @off bytes (shrank if
 * negative). Sets IPS_SEQ_ADJUST and moves the correction point to @seq
 * when no correction is pending or @seq is after the last one. @off 0: no
 * change. Returns 0, -ENOMEM when the extension cannot be allocated.
 */
int ct_seqadj_set(struct conn *ct, enum ct_dir dir, uint32_t seq, int32_t off);

/**
 * ct_seqadj_offset - nf_ct_seq_offset(): the offset that applies to
 * sequence @seq of direction @dir (0 without the extension). The TCP
 * tracker subtracts the receiver's offset from acknowledgements, which the
 * peer makes about the adjusted stream.
 */
int32_t ct_seqadj_offset(const struct conn *ct, enum ct_dir dir, uint32_t seq);

/**
 * ct_seqadj_packet - nf_ct_seq_adjust(): rewrite the TCP packet @p of @ct
 * travelling in direction @dir: its sequence number by this direction's
 * offset, its acknowledgement and SACK blocks (nf_ct_sack_adjust()) by the
 * other direction's, the TCP checksum updated incrementally. Returns false
 * when the packet must be dropped (a TCP option running past the header).
 */
bool ct_seqadj_packet(const struct conn *ct, enum ct_dir dir, struct ct_pkt *p);

#endif
