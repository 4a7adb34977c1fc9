/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nat_helper.h — what NAT helpers share (the kernel's nf_nat_helper.c):
 * replacing part of a TCP payload (with the sequence adjustment that keeps
 * both ends in step, seqadj.h), finding a free port for an expectation,
 * and binding an expected connection like its master. The helpers
 * themselves (helpers/ftp.c ...) decide what to write; their NAT hooks are
 * ops of struct ct_helper (helper.h).
 */
#ifndef CTSIM_NAT_HELPER_H
#define CTSIM_NAT_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ctsim/core/expect.h"
#include "ctsim/core/table.h"

struct ct_pkt;

/**
 * ct_nat_mangle_tcp_packet - nf_nat_mangle_tcp_packet(): replace
 * @match_len bytes at @match_off of the TCP payload of @p (a packet of
 * @ct in direction @dir) by @rep (@rep_len bytes). The IP length and
 * header checksum, and the TCP checksum (recomputed, as
 * nf_nat_csum_recalc() does without checksum offload) follow; @p->len and
 * @p->l4len too. A packet that grows past its buffer is moved to a buffer
 * of its own (p->grown, freed by ct_pkt_release()). A length change is
 * recorded with ct_seqadj_set() at the packet's sequence number. Returns
 * false (packet unchanged) when the match lies outside the payload or the
 * packet would exceed 65535 bytes (enlarge_skb()).
 */
bool ct_nat_mangle_tcp_packet(struct ct_pkt *p, struct conn *ct, enum ct_dir dir,
			      size_t match_off, size_t match_len, const char *rep,
			      size_t rep_len);

/**
 * ct_nat_mangle_udp_packet - nf_nat_mangle_udp_packet(): as
 * ct_nat_mangle_tcp_packet() for the UDP payload of @p: the UDP length
 * follows, the checksum is recomputed unless it was 0 (none); no sequence
 * numbers to adjust.
 */
bool ct_nat_mangle_udp_packet(struct ct_pkt *p, size_t match_off, size_t match_len,
			      const char *rep, size_t rep_len);

/**
 * ct_nat_exp_find_port - nf_nat_exp_find_port(): register @exp with its
 * destination port @port, or, when that clashes with another master's
 * expectation (-EBUSY), with random ports between @port and 65535 (128
 * attempts at most). Returns the port registered, 0 when none could be.
 */
uint16_t ct_nat_exp_find_port(struct ct_table *t, struct ct_expect *exp, uint16_t port);

/**
 * ct_nat_follow_master - nf_nat_follow_master(): @ct is a new entry that
 * matched @exp (exp->follow_master): its source is bound to the address
 * its master's direction !exp->dir sends to, its destination to the
 * address that direction comes from with port exp->saved_proto — the data
 * connection is translated the way its control connection is.
 */
void ct_nat_follow_master(struct ct_table *t, struct conn *ct, const struct ct_expect *exp);

#endif
