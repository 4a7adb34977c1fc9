/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * packet_notation.h — the scenario files' packet notation, a tcpdump-like
 * line turned into the bytes of one IPv4/IPv6 packet (docs/scenarios.md,
 * "Packets"):
 *
 *   SRC > DST [ip6|ip4] tcp SPORT > DPORT [S|SA|A|F|FA|R|RA|P...] [seq N] [ack N] ...
 *   SRC > DST udp SPORT > DPORT [data "..."|hex ...] [len N]
 *   SRC > DST icmp echo-request [id N] ... [quoting SRC > DST tcp ...]
 *   SRC > DST sctp ... | gre ... | proto N | raw HEX...
 *
 * Three parts, each using only the ones above it:
 *
 *   scenario_words.c   words of a line (struct sc_line, scenario_words.h):
 *                      reading them, the hosts by name, located errors
 *   packet_notation.c  the notation compiler: reads the words of a packet
 *                      statement through those helpers and builds the
 *                      packet (ct_pkt_build()), following each flow so that
 *                      TCP sequence/acknowledgement numbers and SCTP
 *                      verification tags left out get the values the hosts'
 *                      stacks would use (struct pn_state)
 *
 *   scenario_parse.c   the language: splits a line into words, declares
 *                      the hosts, hands packet statements to pn_packet()
 *
 * Packets are compiled once, at parse time: the run, the pcap export and
 * the kernel differential then see exactly the same bytes.
 */
#ifndef CTSIM_SCENARIO_PACKET_NOTATION_H
#define CTSIM_SCENARIO_PACKET_NOTATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctsim/scenario/scenario.h"
#include "ctsim/scenario/scenario_words.h"

#define PN_L4_MAX	4096	/* bytes of one packet above the IP header */
#define PN_PKT_MAX	(PN_L4_MAX + 64)	/* a whole packet, IP header included */

/* One direction of a flow, for automatic TCP seq/ack. */
struct pn_flowdir {
	uint8_t family, proto;
	union ct_addr src, dst;
	uint16_t sport, dport;
	uint32_t nxt;
};

/* A tag an SCTP endpoint announced in its INIT or INIT-ACK. */
struct pn_sctp_tag {
	union ct_addr addr;
	uint16_t port;
	uint32_t tag;
};

/* What the notation remembers from one packet to the next of a file. */
struct pn_state {
	struct pn_flowdir flows[256];
	unsigned nflows;
	struct pn_sctp_tag tags[64];
	unsigned ntags;
};

/* ---------------------------------------------------------------------- */
/* The compiler (packet_notation.c)                                        */

/**
 * pn_packet - compile the packet statement in words @i.. (to x->nt) of @x:
 * "SRC > DST [ip6|ip4] PROTO FIELDS...".
 * @out:  the packet, from its IP header on (@cap bytes; PN_PKT_MAX is enough)
 * @side: the sending host's side (which interface the packet arrives on)
 * Updates *x->pn (the flow's next sequence number, SCTP tags) as the
 * hosts' stacks would. Returns the packet's length, or -1 after one or
 * more errors were appended to x->errs (@out and @side undefined).
 */
int pn_packet(struct sc_line *x, unsigned i, uint8_t *out, size_t cap, enum sc_side *side);

#endif
