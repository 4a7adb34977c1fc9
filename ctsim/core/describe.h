/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * describe.h — one conntrack entry's internals as text: what `conntrack -L`
 * does not show (the status bits by name, the TCP window data of both
 * directions as struct ip_ct_tcp_state holds them, the last packet the
 * tracker recorded, the extensions). Used by the step and quiz modes
 * (`ctsim replay --step`). No I/O: the text goes into the caller's buffer.
 */
#ifndef CTSIM_DESCRIBE_H
#define CTSIM_DESCRIBE_H

#include <stddef.h>
#include "ctsim/core/table.h"

/**
 * ct_conn_status_names - the IPS_* bits of @status by name, comma
 * separated ("SEEN_REPLY,ASSURED,CONFIRMED"), "none" for 0, into @buf (@n
 * bytes, always terminated). Returns @buf.
 */
const char *ct_conn_status_names(uint32_t status, char *buf, size_t n);

/**
 * ct_conn_state_name - the protocol state of @c as conntrack -L prints it
 * ("ESTABLISHED", "SYN_SENT2" for TCP, SCTP's names), "" for protocols
 * without states.
 */
const char *ct_conn_state_name(const struct conn *c);

/**
 * ct_conn_describe - the internals of entry @c of table @t, as lines
 * ("  " indented, each ended by '\n') into @buf (@n bytes, always
 * terminated; cut when too small): id, tuples, protocol state, status
 * bits, timeout left (as conntrack -L computes it), use, mark, zone; TCP:
 * per direction td_end, td_maxend, td_maxwin, td_maxack, the window scale
 * and the IP_CT_TCP_FLAG_* flags, then the last packet recorded (its
 * direction, flag class, seq/ack/end/win) and the retransmission count;
 * UDP: when the entry counts as a stream; the extensions present (helper,
 * master, labels, counters, timestamps). Returns the length written.
 */
size_t ct_conn_describe(const struct ct_table *t, const struct conn *c, char *buf, size_t n);

#endif
