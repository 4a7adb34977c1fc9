/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * defrag.h — IPv4 and IPv6 reassembly before tracking, as the kernel's
 * nf_defrag_ipv4 (ip_defrag() with a conntrack "user") and nf_defrag_ipv6
 * (nf_ct_frag6_gather()) do: conntrack never sees a fragment, only whole
 * datagrams.
 *
 * A datagram's fragments are queued under (family, source, destination,
 * id, protocol for IPv4, zone). The queue's timer starts with its first
 * fragment and is not refreshed (inet_frag_alloc()); when it fires the
 * queue is dropped silently (ip_expire() sends no ICMP for defrag users).
 * Overlapping fragments drop the whole datagram (RFC 5722 for IPv6; IPv4
 * since the 2018 FragmentSmack fix); a fragment that repeats bytes already
 * held is dropped alone. While the memory in use is above the limit every
 * fragment is dropped (inet_frag_find() refuses to work above
 * ipfrag_high_thresh), until timeouts free memory.
 *
 * No I/O and no clock of its own: the caller passes now_ns.
 */
#ifndef CTSIM_DEFRAG_H
#define CTSIM_DEFRAG_H

#include <stddef.h>
#include <stdint.h>
#include "ctsim/core/packet.h"

#define CT_DEFRAG_MEM_DEFAULT	(4u << 20)	/* ipfrag_high_thresh, nf_conntrack_frag6_high_thresh */
#define CT_DEFRAG_V4_TIMEOUT_NS	(30ull * 1000000000ull)	/* ipfrag_time */
#define CT_DEFRAG_V6_TIMEOUT_NS	(60ull * 1000000000ull)	/* nf_conntrack_frag6_timeout */

struct ct_defrag;

enum ct_defrag_verdict {
	CT_DEFRAG_QUEUED = 0,	/* kept; the datagram is not complete yet */
	CT_DEFRAG_DONE = 1,	/* *out holds the whole datagram */
	CT_DEFRAG_DROP = -1,	/* the fragment (and perhaps its datagram) is gone: *reason */
};

struct ct_defrag_stats {
	unsigned queues;		/* datagrams being reassembled */
	size_t mem;			/* bytes held (fragment bytes + per-fragment overhead) */
	uint64_t reasm_ok;		/* datagrams completed */
	uint64_t reasm_fails;		/* datagrams given up (overlap, oversize, inconsistent) */
	uint64_t overlaps;		/* of which because of overlapping fragments */
	uint64_t timeouts;		/* datagrams expired incomplete */
	uint64_t dropped;		/* single fragments dropped (duplicate, memory, malformed) */
};

/**
 * ct_defrag_new - an empty reassembly table
 * @mem_limit: the memory budget in bytes (0 = CT_DEFRAG_MEM_DEFAULT)
 * Timeouts start at CT_DEFRAG_V4_TIMEOUT_NS / CT_DEFRAG_V6_TIMEOUT_NS.
 * Returns NULL if out of memory.
 */
struct ct_defrag *ct_defrag_new(size_t mem_limit);

/** ct_defrag_set_timeouts - change the per-family timeouts (ns, > 0) */
void ct_defrag_set_timeouts(struct ct_defrag *d, uint64_t v4_ns, uint64_t v6_ns);

/** ct_defrag_free - free the table and every queued fragment */
void ct_defrag_free(struct ct_defrag *d);

/**
 * ct_defrag_add - queue a fragment
 * @frag: a packet ct_pkt_parse() accepted with is_fragment set; its bytes
 *        are copied, the caller keeps ownership
 * @zone: the conntrack zone (part of the key, as IP_DEFRAG_CONNTRACK_IN + zone)
 * @now_ns: the current time; queues older than their timeout are expired first
 * @out, @outlen: on CT_DEFRAG_DONE, a malloc'd buffer with the reassembled
 *        datagram (IP header first, lengths and IPv4 checksum fixed, the
 *        IPv6 fragment header removed); the caller frees it and parses it
 * @reason: on CT_DEFRAG_DROP, a static string saying why (may be NULL)
 *
 * Returns an enum ct_defrag_verdict.
 */
int ct_defrag_add(struct ct_defrag *d, const struct ct_pkt *frag, uint16_t zone,
		  uint64_t now_ns, uint8_t **out, size_t *outlen, const char **reason);

/** ct_defrag_reason - why the last fragment was dropped (NULL if it was not) */
const char *ct_defrag_reason(const struct ct_defrag *d);

/**
 * ct_defrag_expire - drop the queues whose timeout has passed at @now_ns
 * Returns how many datagrams were dropped.
 */
unsigned ct_defrag_expire(struct ct_defrag *d, uint64_t now_ns);

/** ct_defrag_get_stats - a copy of the counters */
void ct_defrag_get_stats(const struct ct_defrag *d, struct ct_defrag_stats *st);

#endif
