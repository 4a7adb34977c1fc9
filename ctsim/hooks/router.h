/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * router.h — the hook ladder: what happens to a packet between arriving on
 * an interface and leaving by another, in the kernel's order
 * (ip_rcv() -> PREROUTING -> routing -> FORWARD | INPUT -> ... -> POSTROUTING).
 *
 *   PREROUTING:  ruleset chains below -200 (raw), nf_conntrack_in() at -200,
 *                the other chains (mangle -150, dstnat -100, filter 0 ...)
 *   routing:     a destination of ctsim's own -> INPUT, else the interface
 *                whose subnet holds it -> FORWARD (TTL decremented first)
 *   FORWARD:     ruleset chains
 *   INPUT:       ruleset chains, then confirm (last); ctsim answers ICMP
 *                echo, and the answer runs OUTPUT (conntrack at -200) and
 *                POSTROUTING like any locally generated packet
 *   POSTROUTING: ruleset chains (srcnat 100 ...), then confirm (last)
 *
 * The router does no I/O: packets come in through router_receive() and
 * leave through the xmit callback, so the lab (TUN), replay (pcap) and the
 * scenario runner share it.
 */
#ifndef CTSIM_ROUTER_H
#define CTSIM_ROUTER_H

#include <stdbool.h>
#include <stdint.h>
#include "ctsim/core/pipeline.h"

struct ruleset;
struct ct_defrag;

#define ROUTER_MAX_IFS 8

struct router_if {
	char name[16];
	union ct_addr addr4, addr6;	/* ctsim's own addresses on the link */
	union ct_addr net4, net6;	/* the link's subnets (masked) */
	uint8_t plen4, plen6;
	bool has4, has6;
};

struct router_stats {
	uint64_t rx, tx, local_in, local_out;
	uint64_t bad_l3;		/* dropped before conntrack (ip_rcv) */
	uint64_t no_route, ttl_exceeded, ruleset_drop, conntrack_drop, frag_held;
};

/* What became of one packet, for traces and tests. */
struct router_trace {
	const char *verdict;		/* "forwarded", "delivered", "dropped" */
	const char *why;		/* the reason of a drop */
	enum ct_hook hook;		/* where it was decided */
	const char *ct_state;		/* ct state as rules saw it */
	const char *invalid_reason;	/* why conntrack called it invalid (kernel wording) */
	char helper[80];		/* what a conntrack helper did with it ("" nothing) */
};

typedef void (*router_xmit_fn)(void *arg, int oif, const uint8_t *pkt, size_t len);

struct router {
	struct ct_core *core;
	struct ruleset *rs;		/* NULL: accept everything */
	struct router_if ifs[ROUTER_MAX_IFS];
	unsigned nif;
	bool forward_all;		/* replay: no routing; everything is forwarded iif 0 -> oif 1 */
	router_xmit_fn xmit;
	void *xmit_arg;
	struct ct_defrag *defrag;
	struct router_stats stats;
	struct router_trace last;
};

/** router_init - an empty router; add interfaces with router_add_if(). */
void router_init(struct router *r, struct ct_core *core, router_xmit_fn xmit, void *arg);
void router_fini(struct router *r);
/** router_add_if - interface @name, ctsim's addresses and prefix lengths
 *  (@addr4/@addr6 may be NULL). Returns its index, or -1 when full. */
int router_add_if(struct router *r, const char *name, const union ct_addr *addr4, uint8_t plen4,
		  const union ct_addr *addr6, uint8_t plen6);

/**
 * router_receive - one packet arrived on interface @iif (L3 bytes).
 * @data may be rewritten in place (TTL, and NAT later). Returns the
 * verdict: CT_ACCEPT if it was forwarded or delivered, CT_DROP otherwise;
 * r->last says more.
 */
int router_receive(struct router *r, int iif, uint8_t *data, size_t len, uint64_t tstamp_ns);

#endif
