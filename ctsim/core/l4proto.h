/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * l4proto.h — private to the pipeline and its protocol trackers: the ops
 * table each tracker registers (the kernel's struct nf_conntrack_l4proto),
 * the per-packet context they work on, and the helpers they share
 * (nf_ct_refresh_acct(), nf_conntrack_event_cache()).
 *
 * Adding a protocol: write track_foo.c with a `const struct ct_l4proto
 * ct_l4proto_foo`, declare it below and add a row to l4protos[] in
 * pipeline.c.
 *
 * Callback order for a packet that has an entry (nf_conntrack_handle_packet()
 * and the kernel's per-protocol *_packet() functions):
 *   error()  header, length and checksum checks       -> INVALID
 *   new()    only while the entry is unconfirmed:
 *            may this packet create an entry?        -> INVALID
 *   packet() the state machine, timeouts, ASSURED    -> ACCEPT / INVALID / REPEAT
 * Each returns a reason string (kernel wording) when it refuses.
 */
#ifndef CTSIM_L4PROTO_H
#define CTSIM_L4PROTO_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include "ctsim/core/pipeline.h"

/* What packet() returns (the sign convention of the kernel's handlers). */
enum ct_l4_verdict {
	CT_L4_ACCEPT,	/* > 0 in the kernel: NF_ACCEPT */
	CT_L4_INVALID,	/* -NF_ACCEPT: detach the entry, invalid++ */
	CT_L4_REPEAT,	/* -NF_REPEAT: the old entry was killed, look up again (TCP reopen) */
	CT_L4_DROP,	/* NF_DROP (0, so also "invalid"): invalid++, drop++, packet dropped */
};

/* One packet as a tracker sees it (skb + nf_hook_state + direction). */
struct ct_l4_ctx {
	struct ct_core *core;
	struct ct_skb *skb;
	enum ct_hook hook;
	enum ct_dir dir;		/* CTINFO2DIR(ctinfo) */
};

struct ct_l4proto {
	const char *name;		/* as conntrack -L prints it */
	uint8_t l4num;			/* IPPROTO_* (0 = generic, any other protocol) */
	bool allow_clash;		/* clash at confirm may be resolved (2.12) */

	/* Reply tuple from the original one (nf_ct_invert_tuple()); NULL
	 * swaps addresses and ports. Returns false if not invertible. */
	bool (*invert_tuple)(struct ct_tuple *reply, const struct ct_tuple *orig);
	/* Header sanity (tcp_error(), udp_error(), sctp_error() ...): NULL or
	 * the INVALID reason. */
	const char *(*error)(const struct ct_l4_ctx *x);
	/* First packet of an unconfirmed entry: initialise the protocol state
	 * (tcp_new(), sctp_new() ...); NULL or the INVALID reason. */
	const char *(*new)(struct ct_l4_ctx *x, struct conn *ct);
	/* Every packet with an entry (*_packet()): state, timeout, ASSURED. */
	enum ct_l4_verdict (*packet)(struct ct_l4_ctx *x, struct conn *ct, const char **reason);
	/* No timeout() or can_early_drop() slot: nothing calls them. Each
	 * tracker applies its state's timeout in packet(), and ctsim's
	 * early_drop() (table.c) never drops ASSURED entries, so it has no
	 * use for nf_conntrack_l4proto's can_early_drop() (yet: the pressure
	 * policies may bring it back with a caller). */
};

extern const struct ct_l4proto ct_l4proto_tcp;
extern const struct ct_l4proto ct_l4proto_udp;
extern const struct ct_l4proto ct_l4proto_udplite;
extern const struct ct_l4proto ct_l4proto_icmp;
extern const struct ct_l4proto ct_l4proto_icmpv6;
extern const struct ct_l4proto ct_l4proto_gre;
extern const struct ct_l4proto ct_l4proto_sctp;
extern const struct ct_l4proto ct_l4proto_generic;

/** ct_l4proto_find - the tracker for @l3num/@l4num (nf_ct_l4proto_find()):
 *  ICMP only for IPv4, ICMPv6 only for IPv6, generic for anything else. */
const struct ct_l4proto *ct_l4proto_find(uint8_t l3num, uint8_t l4num);

/** ct_l4_invert_tuple - nf_ct_invert_tuple() with @l4's rules. */
bool ct_l4_invert_tuple(const struct ct_l4proto *l4, struct ct_tuple *reply,
			const struct ct_tuple *orig);

/**
 * ct_l4_refresh - nf_ct_refresh_acct(): count the packet (acct extension,
 * bytes = IP total length) and set the timeout to @secs from now, unless
 * FIXED_TIMEOUT. An unconfirmed entry keeps its timeout relative until
 * ct_confirm(), as in the kernel.
 */
void ct_l4_refresh(struct ct_l4_ctx *x, struct conn *ct, uint32_t secs);
/** ct_l4_acct - nf_ct_acct_update(): count the packet only. */
void ct_l4_acct(struct ct_l4_ctx *x, struct conn *ct);
/** ct_l4_kill - nf_ct_kill_acct(): count, then delete the entry now. */
void ct_l4_kill(struct ct_l4_ctx *x, struct conn *ct);
/** ct_l4_event - nf_conntrack_event_cache(): remember @bits (CT_EV()) for
 *  delivery when the packet has passed the confirm hook. */
void ct_l4_event(struct ct_l4_ctx *x, struct conn *ct, uint32_t bits);
/** ct_l4_set_assured - set ASSURED once, caching IPCT_ASSURED. */
void ct_l4_set_assured(struct ct_l4_ctx *x, struct conn *ct);
/** ct_l4_checksum_wanted - nf_conntrack_checksum=1 and PREROUTING: the
 *  only place the kernel verifies L4 checksums. */
bool ct_l4_checksum_wanted(const struct ct_l4_ctx *x);

/**
 * ct_icmp_error - nf_conntrack_handle_icmp(): run before any lookup for
 * ICMP/ICMPv6 packets. Returns 1 to continue with the normal lookup, 0 when
 * the packet was handled (skb->ct set to the RELATED entry, or UNTRACKED),
 * -1 when it is INVALID (error++, skb->invalid_reason set).
 */
int ct_icmp_error(struct ct_l4_ctx *x);

/* Helpers shared by the ICMP error path. */
bool ct_icmp_invert_tuple(struct ct_tuple *reply, const struct ct_tuple *orig);
bool ct_icmpv6_invert_tuple(struct ct_tuple *reply, const struct ct_tuple *orig);

/* ---------------------------------------------------------------------- */
/* INVALID reasons: kernel wording (nf_l4proto_log_invalid() messages),     */
/* exposed to the tracer through skb->invalid_reason.                      */

#define CT_INV_FRAGMENT		"fragment: defrag did not run"
#define CT_INV_NO_L4		"can't find L4 header"
#define CT_INV_NO_TUPLE		"can't get tuple"
#define CT_INV_NOT_INVERTIBLE	"can't invert tuple"
#define CT_INV_SHORT		"short packet"
#define CT_INV_TRUNCATED	"truncated/malformed packet"
#define CT_INV_BAD_CSUM		"bad checksum"
/* ICMP / ICMPv6 (nf_conntrack_icmpv4_error(), nf_conntrack_inet_error()) */
#define CT_INV_ICMP_BAD_CSUM	"bad hw icmp checksum"
#define CT_INV_ICMPV6_BAD_CSUM	"ICMPv6 checksum failed"
#define CT_INV_ICMP_TYPE	"invalid icmp type"
#define CT_INV_ICMP_INNER	"failed to get inner tuple"
#define CT_INV_ICMP_NO_CT	"no conntrack for the embedded packet"
#define CT_INV_ICMP_OUTER_DST	"outer daddr != inner"
#define CT_INV_ICMP_NEW		"can't create new conn with this type"
/* UDP-Lite (udplite_error()) */
#define CT_INV_UDPLITE_COV	"invalid checksum coverage"
#define CT_INV_UDPLITE_NOCSUM	"checksum missing"
/* TCP (tcp_error(), tcp_new(), nf_conntrack_tcp_packet()) */
#define CT_INV_TCP_FLAGS	"invalid tcp flag combination"
#define CT_INV_TCP_NEW		"invalid new: packet cannot open a connection"
/* SCTP (sctp_error(), do_basic_checks(), nf_conntrack_sctp_packet()) */
#define CT_INV_SCTP_SHORT	"nf_ct_sctp: short packet"
#define CT_INV_SCTP_CRC		"nf_ct_sctp: bad CRC"
#define CT_INV_SCTP_CHUNKS	"do_basic_checks failed"
#define CT_INV_SCTP_OOTB	"out of the blue ABORT/SHUTDOWN_COMPLETE/COOKIE_ACK"
#define CT_INV_SCTP_NEW		"invalid new"
#define CT_INV_SCTP_VTAG	"verification tag check failed"

#endif
