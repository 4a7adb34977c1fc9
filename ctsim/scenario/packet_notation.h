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
 * Two parts, with one contract between them:
 *
 *   scenario_parse.c   the language: splits a line into words (struct
 *                      sc_line), knows the hosts, collects located errors;
 *                      the helpers below read words and report errors
 *   packet_notation.c  the notation compiler: reads the words of a packet
 *                      statement through those helpers and builds the
 *                      packet (ct_pkt_build()), following each flow so that
 *                      TCP sequence/acknowledgement numbers and SCTP
 *                      verification tags left out get the values the hosts'
 *                      stacks would use (struct pn_state)
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

#define SC_MAX_TOKS	160	/* words on one line */
#define PN_L4_MAX	4096	/* bytes of one packet above the IP header */
#define PN_PKT_MAX	(PN_L4_MAX + 64)	/* a whole packet, IP header included */

/* One word of a line. */
struct sc_tok {
	const char *s;		/* not NUL-terminated: use len */
	size_t len;
	unsigned col;		/* 1-based */
	bool quoted;		/* "..." (s/len exclude the quotes) */
};

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

/*
 * A line being read, and what the lines before it set up: the hosts
 * (sc->hosts) and the flows' state (pn). Errors are appended to errs,
 * located at name:lineno and echoing line (nft style, as rs_errors).
 */
struct sc_line {
	const char *name;		/* the file, for messages */
	struct rs_errors *errs;
	const char *line;		/* the text of the line */
	unsigned lineno;		/* 1-based */
	struct sc_tok t[SC_MAX_TOKS];	/* its words */
	unsigned nt;			/* how many (a parser may lower it to
					 * end a clause early) */
	const struct scenario *sc;	/* hosts declared so far */
	struct pn_state pn;
};

/* ---------------------------------------------------------------------- */
/* Reading words (scenario_parse.c)                                        */

/** sc_error_at - append an error at columns @col_first..@col_last of @x's line. */
void sc_error_at(struct sc_line *x, unsigned col_first, unsigned col_last, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/** sc_tok_col, sc_tok_col_last - the columns of word @i (just past the last word if beyond). */
unsigned sc_tok_col(const struct sc_line *x, unsigned i);
unsigned sc_tok_col_last(const struct sc_line *x, unsigned i);
/* An error under word @i (or just past the last word when @i is beyond). */
#define sc_tok_error(x, i, ...) \
	sc_error_at((x), sc_tok_col(x, i), sc_tok_col_last(x, i), __VA_ARGS__)
/** sc_is - is word @i the unquoted keyword @w? (false past the end) */
bool sc_is(const struct sc_line *x, unsigned i, const char *w);
/** sc_tok_str - word @i into @buf (@cap >= 1 bytes, cut to fit; "" past the end). */
void sc_tok_str(const struct sc_line *x, unsigned i, char *buf, size_t cap);
/**
 * sc_tok_num - word @i as a number (decimal or 0x hex) no larger than @max,
 * into @v. False after an error naming @what ("seq: ... is not a number").
 */
bool sc_tok_num(struct sc_line *x, unsigned i, uint64_t max, uint64_t *v, const char *what);
/** sc_find_host - the declared host named by word @i, or NULL. */
const struct sc_host *sc_find_host(const struct sc_line *x, unsigned i);
/** sc_need_host - sc_find_host(), with an error if there is none. */
const struct sc_host *sc_need_host(struct sc_line *x, unsigned i);
/**
 * sc_host_addr - @h's address of @family (AF_INET/AF_INET6) into @a; false
 * with an error under word @i if the host has none.
 */
bool sc_host_addr(struct sc_line *x, unsigned i, const struct sc_host *h, uint8_t family,
		  union ct_addr *a);

/* ---------------------------------------------------------------------- */
/* The compiler (packet_notation.c)                                        */

/**
 * pn_packet - compile the packet statement in words @i.. (to x->nt) of @x:
 * "SRC > DST [ip6|ip4] PROTO FIELDS...".
 * @out:  the packet, from its IP header on (@cap bytes; PN_PKT_MAX is enough)
 * @side: the sending host's side (which interface the packet arrives on)
 * Updates x->pn (the flow's next sequence number, SCTP tags) as the
 * hosts' stacks would. Returns the packet's length, or -1 after one or
 * more errors were appended to x->errs (@out and @side undefined).
 */
int pn_packet(struct sc_line *x, unsigned i, uint8_t *out, size_t cap, enum sc_side *side);

#endif
