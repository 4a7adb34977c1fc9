/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * packet.h — a packet as the tracking pipeline sees it: the bytes from the
 * L3 header on, plus what parsing found (the kernel's skb with its network
 * and transport header offsets), and the metadata hooks and rules use.
 *
 * Parsing never trusts the bytes: every length is checked against the
 * buffer, and a packet the kernel would not track gets a reason string in
 * the kernel's wording (what nf_log_packet()/nf_l4proto_log_invalid() would
 * say), for the tracer and the statistics.
 */
#ifndef CTSIM_PACKET_H
#define CTSIM_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/ctnl.h"

#define CT_PKT_MAX	65535	/* IPv4 total length limit; IPv6 jumbograms are not supported */

/* TCP flag bits as in the header's byte 13. */
#define CT_TCP_FIN	0x01
#define CT_TCP_SYN	0x02
#define CT_TCP_RST	0x04
#define CT_TCP_PSH	0x08
#define CT_TCP_ACK	0x10
#define CT_TCP_URG	0x20
#define CT_TCP_ECE	0x40
#define CT_TCP_CWR	0x80

struct ct_pkt {
	/* The buffer: data[0] is the first byte of the IPv4/IPv6 header. The
	 * pipeline may rewrite bytes in place (NAT, later); it never grows. */
	uint8_t *data;
	size_t len;

	/* L3 (filled by ct_pkt_parse()) */
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t l4proto;	/* IPPROTO_*; for IPv6 after the extension headers */
	uint16_t l4off;		/* offset of the L4 header (after IPv6 ext headers) */
	uint16_t l4len;		/* bytes from l4off to the end of the L3 payload */
	union ct_addr src, dst;	/* network order */
	uint8_t ttl;		/* TTL / hop limit */
	bool is_fragment;	/* a fragment (MF set or offset != 0): defrag first */
	bool l4_truncated;	/* the L4 header is not complete (checked by trackers) */

	/* L4 (valid when !l4_truncated, for the protocols listed) */
	uint16_t sport, dport;	/* TCP, UDP, UDP-Lite, SCTP, DCCP (host order) */
	uint8_t tcp_flags;	/* CT_TCP_* */
	uint8_t tcp_doff;	/* TCP header length in bytes */
	uint32_t tcp_seq, tcp_ack;
	uint16_t tcp_win;
	uint8_t icmp_type, icmp_code;	/* ICMP and ICMPv6 */
	uint16_t icmp_id;		/* echo-like types */
	uint16_t gre_key[2];	/* GRE v1 (PPTP) call ids: [0] = the key field, [1] unused; 0 for v0 */
	uint8_t gre_version;
	uint32_t sctp_vtag;	/* SCTP verification tag */

	/* Added for the data plane (set by ct_pkt_parse()) */
	const char *l4_reason;	/* why l4_truncated is set ("short packet", "truncated packet") */
	bool untrackable;	/* with a -1 from ct_pkt_parse(): the IP header is fine but
				 * nf_ct_get_l4proto() fails (IPv6 extension chain past the
				 * end, or no next header): the kernel does not drop such a
				 * packet in ipv6_rcv(), conntrack counts it invalid */
	uint32_t frag_id;	/* fragments: IPv4 identification / IPv6 fragment header id */
	uint16_t frag_offset;	/* fragments: offset of this fragment's data, in bytes */
	bool frag_more;		/* fragments: MF (IPv4) / M (IPv6) */
	uint16_t frag_hdroff;	/* IPv6 fragments: offset of the fragment header */
	uint16_t frag_nhoff;	/* IPv6 fragments: offset of the next-header byte naming it */

	/* Metadata (set by the source and the hooks, read by rules) */
	uint32_t mark;		/* meta mark */
	int iif, oif;		/* interface indexes in ctsim's topology, 0 = none */
	char iifname[16], oifname[16];
	uint64_t tstamp_ns;	/* capture or arrival time (clock of the run) */
	bool nftrace;		/* meta nftrace set 1 */
	/* A buffer of the packet's own, when a NAT helper made it longer
	 * than the caller's (ct_nat_mangle_tcp_packet()): data points into
	 * it; freed by ct_pkt_release(). */
	uint8_t *grown;
};

/** ct_pkt_release - free @p's own buffer if it has one (p->grown); @p's
 *  data must not be used afterwards. */
void ct_pkt_release(struct ct_pkt *p);

/**
 * ct_pkt_parse - parse and validate the L3 header and locate L4
 * @p: p->data/p->len set by the caller; the rest is filled in
 * @reason: on failure, set to a static string saying why (kernel wording)
 *
 * Checks version, IHL/header length, total length against the buffer (a
 * buffer longer than the IP length is trimmed, as the kernel trims the
 * skb), the IPv4 header checksum, and walks IPv6 extension headers
 * (hop-by-hop, routing, fragment, destination options, AH; ESP and
 * no-next-header end the walk) as ipv6_skip_exthdr() does. Then reads the
 * L4 header fields of TCP, UDP, UDP-Lite, ICMP, ICMPv6, GRE, SCTP, DCCP,
 * setting l4_truncated if the header is incomplete.
 *
 * Returns 0, or -1 when the packet is not even a valid IP packet (the
 * kernel drops those before conntrack, in ip_rcv()/ipv6_rcv()).
 */
int ct_pkt_parse(struct ct_pkt *p, const char **reason);

/**
 * ct_pkt_l4_csum_ok - verify the TCP/UDP/UDP-Lite/ICMP/ICMPv6 checksum
 * (nf_checksum()); a zero UDP checksum over IPv4 is valid. Other protocols:
 * true.
 */
bool ct_pkt_l4_csum_ok(const struct ct_pkt *p);

/**
 * ct_pkt_get_tuple - the packet's tuple (nf_ct_get_tuple()): addresses,
 * protocol, ports or ICMP type/code/id, GRE keys; generic protocols get
 * addresses and protocol only. Returns false if the L4 header needed for
 * the tuple is truncated.
 */
bool ct_pkt_get_tuple(const struct ct_pkt *p, struct ct_tuple *t);

/**
 * ct_tuple_has_ports - does a tuple of IP protocol @l4num carry a source
 * and destination port (GRE: the keys) — TCP, UDP, UDP-Lite, SCTP, DCCP,
 * GRE? The set nf_ct_get_tuple_ports() reads, ctnetlink puts
 * CTA_PROTO_SRC_PORT for and NAT may map (nf_nat_l4proto_unique_tuple()).
 */
bool ct_tuple_has_ports(uint8_t l4num);

/**
 * ct_pkt_peek_tuple - a guess at the tuple of the raw IP packet @l3 (@len
 * bytes), without parsing or checking it: IPv4 (not fragmented) or IPv6
 * (no extension headers) carrying TCP or UDP. Equal to what
 * ct_pkt_get_tuple() gives for such a packet once it is parsed; false for
 * anything else. Only for hints (ct_table_prefetch()): never decide on it.
 */
bool ct_pkt_peek_tuple(const uint8_t *l3, size_t len, struct ct_tuple *t);

/**
 * ct_pkt_icmp_inner - for an ICMP/ICMPv6 error, parse the embedded packet
 * (the header and at least the first 8 bytes of its L4 header) into @inner,
 * whose data points into @p's buffer. Returns 0, or -1 with @reason.
 */
int ct_pkt_icmp_inner(const struct ct_pkt *p, struct ct_pkt *inner, const char **reason);

/**
 * ct_pkt_build - a well-formed packet for tests and scenario files: writes
 * an IPv4/IPv6 header (checksum filled) followed by @l4 (whose checksum, for
 * TCP/UDP/ICMP/ICMPv6, is filled in here) into @buf. Returns the length, or
 * -1 if it does not fit.
 */
int ct_pkt_build(uint8_t *buf, size_t cap, uint8_t family, const union ct_addr *src,
		 const union ct_addr *dst, uint8_t l4proto, const void *l4, size_t l4len);

#endif
