/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctsim_wire.h — what travels on ctsim's Unix socket besides netlink.
 *
 * A client (the LD_PRELOAD shim, ctctl, a test) connects a SOCK_SEQPACKET
 * socket to the daemon. Each datagram is either
 *   - netlink: one or more nlmsghdr-framed messages, exactly the bytes a
 *     netlink socket would carry (requests up, replies and events down), or
 *   - control: a struct ctsim_ctl, recognisable because its first word is
 *     CTSIM_CTL_MAGIC, which no netlink datagram can start with (it would be
 *     an nlmsg_len of more than 1 GiB).
 *
 * Control operations carry what a netlink socket learns outside of sendmsg:
 * bind (port id and multicast groups) and SOL_NETLINK socket options. The
 * daemon answers CTSIM_CTL_BIND with CTSIM_CTL_BIND_REPLY; other requests
 * have no answer and take effect before the next datagram of that client.
 *
 * Downstream, CTSIM_CTL_ENOBUFS tells the client that events were dropped
 * because it read too slowly (the kernel's ENOBUFS on a netlink socket).
 *
 * ctsim's own operations (ADVANCE, RELOAD, RULESET) are answered by
 * CTSIM_CTL_REPLY. Only the reply to CTSIM_CTL_RULESET carries a payload:
 * the struct is followed, in the same datagram, by b bytes of text (no
 * terminating NUL) — the live ruleset as `nft list ruleset` prints it, with
 * the counters' current values, or with CTSIM_RULESET_JSON as
 * `nft -j list ruleset` does (docs/ruleset.md). One datagram, so the answer
 * is one consistent snapshot: at most CTSIM_CTL_DGRAM_MAX bytes in all; a
 * longer listing is refused with EMSGSIZE (and, with CTSIM_RULESET_RESET,
 * nothing is zeroed). CTSIM_RULESET_RESET zeroes every counter after
 * listing it, in the same step (`nft reset counters`), so no packet is
 * counted twice or lost between the listing and the reset.
 *
 * Like every request on this socket, the operations need root (the kernel's
 * CAP_NET_ADMIN): a client of another uid gets EPERM, also for RULESET,
 * because the kernel refuses a plain `nft list ruleset` without
 * CAP_NET_ADMIN too (nfnetlink_rcv() checks it for every message, reads
 * included). A daemon without a lab has no ruleset: RELOAD and RULESET get
 * ENOTSUP.
 *
 * Multicast events carry no group on this socket: the group follows from the
 * message (seq 0 and no NLM_F_MULTI; CT_NEW with NLM_F_CREATE -> NEW, CT_NEW
 * -> UPDATE, CT_DELETE -> DESTROY, EXP_NEW -> EXP_NEW, EXP_DELETE ->
 * EXP_DESTROY), see ctsim_wire_event_group().
 */
#ifndef CTSIM_PROTO_WIRE_H
#define CTSIM_PROTO_WIRE_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/types.h>
#include <unistd.h>

#define CTSIM_CTL_MAGIC		0x4d535443u	/* "CTSM" little-endian; > 1 GiB as a length */
#define CTSIM_DEFAULT_SOCKET	"/run/ctsim/ctnetlink.sock"
#define CTSIM_SOCKET_ENV	"CTSIM_SOCKET"

enum ctsim_ctl_op {
	CTSIM_CTL_BIND = 1,	/* a = port id (0 = autobind), b = groups bitmask; flags: CTSIM_BIND_* */
	CTSIM_CTL_BIND_REPLY,	/* a = port id assigned, err = 0 or a positive errno (EADDRINUSE) */
	CTSIM_CTL_SETSOCKOPT,	/* a = SOL_NETLINK option (or CTSIM_SO_*), b = value */
	CTSIM_CTL_ENOBUFS,	/* daemon -> client: events were lost */
	/* ctsim's own operations, beyond what a kernel offers (ctctl uses them):
	 * each is answered by CTSIM_CTL_REPLY with err = 0 or a positive errno. */
	CTSIM_CTL_ADVANCE,	/* time warp: a = seconds, b = nanoseconds to add to the clock */
	CTSIM_CTL_RELOAD,	/* reload the ruleset file (as SIGHUP) */
	CTSIM_CTL_REPLY,	/* a = operation answered; b = payload bytes that follow (RULESET) */
	CTSIM_CTL_RULESET,	/* list the live ruleset; flags: CTSIM_RULESET_* (others: EINVAL) */
	CTSIM_CTL_TRACE,	/* a = 1: stream this client the packet trace (flags: CTSIM_TRACE_*),
				 * a = 0: stop; answered by REPLY (ENOTSUP without a lab) */
	CTSIM_CTL_TRACE_LINE,	/* daemon -> client: one trace (or log) line, b bytes of
				 * text follow (no newline, no NUL); flags: CTSIM_TRACE_LOG
				 * for a `log` statement's line */
	CTSIM_CTL_SET,		/* a sysctl while the daemon runs: b bytes "NAME=VALUE"
				 * follow; REPLY err 0, ENOENT (unknown name), EINVAL (bad
				 * value), EROFS (read-only at run time: nf_conntrack_buckets);
				 * an error's reply carries the message as its payload */
	CTSIM_CTL_GET,		/* b bytes of a NAME follow (0: every setting); REPLY payload:
				 * "name = value" lines (ENOENT: unknown name) */
	CTSIM_CTL_PROC,		/* a = CTSIM_PROC_*: the text of a conntrack /proc file */
	CTSIM_CTL_EXPLAIN,	/* `ctctl explain TUPLE`: b bytes of a struct ctsim_explain
				 * follow; REPLY payload: the entry's internals as text
				 * (state, status bits, timeout, TCP windows, extensions);
				 * ENOENT: no such entry; EINVAL: malformed */
	CTSIM_CTL_STEP,		/* the lab's data plane held and released by hand: a =
				 * CTSIM_STEP_*, b = packets for CTSIM_STEP_NEXT; REPLY
				 * payload: text (for NEXT each packet's trace and its entry
				 * after it); root only (EPERM), ENOTSUP without a lab,
				 * EINVAL: NEXT while not paused, or an unknown a */
	CTSIM_CTL_HOLD,		/* two packets in flight: a = 1: the lab's next forwarded packet
				 * stops before confirmation (EBUSY: one is held already);
				 * a = 0: release it (ENOENT: none held); ENOTSUP without a lab */
};

/* CTSIM_CTL_EXPLAIN's payload: a tuple of either direction (the fields of
 * struct ct_tuple, proto/ctnl.h: ports and ICMP id in host order), and the
 * zone. */
struct ctsim_explain {
	uint8_t src[16], dst[16];
	uint16_t sport, dport;		/* ICMP: sport = id */
	uint8_t icmp_type, icmp_code;
	uint8_t l3num, l4num;
	uint16_t zone;
	uint16_t pad;
};

/* CTSIM_CTL_STEP's a (`ctctl pause`, `ctctl step [N]`, `ctctl resume`). */
enum ctsim_step_op {
	CTSIM_STEP_STATUS = 0,	/* paused or not, packets held */
	CTSIM_STEP_PAUSE,	/* hold every packet the hosts send from now on */
	CTSIM_STEP_NEXT,	/* release b held packets (oldest first), traced */
	CTSIM_STEP_RESUME,	/* release all held packets, stop holding */
};

/*
 * CTSIM_CTL_PROC: what the kernel shows in /proc, for the shim to serve
 * reads of those files under ctsim-exec (issue 14). Answered by
 * CTSIM_CTL_REPLY with the text as payload, to every uid: the kernel's
 * files are world-readable. Unknown a: EINVAL.
 */
enum ctsim_proc_file {
	CTSIM_PROC_COUNT = 1,	/* /proc/sys/net/netfilter/nf_conntrack_count */
	CTSIM_PROC_STAT,	/* /proc/net/stat/nf_conntrack */
	CTSIM_PROC_SETTINGS,	/* every setting, "name = value" lines (ctsim --list-settings) */
	CTSIM_PROC_TABLE,	/* ctsim's own view of the table (`ctctl table`, `ctctl stats
				 * buckets`): count/max, buckets and chain lengths, unconfirmed
				 * and dying entries, expectations per helper, the overflow
				 * policy and what the table-full path did (ct_overflow_report()) */
	CTSIM_PROC_CONNTRACK,	/* /proc/net/nf_conntrack (root only: EACCES otherwise) */
};

/* ctsim's own option for CTSIM_CTL_SETSOCKOPT (no SOL_NETLINK option has
 * this number): b = how many events the daemon may queue for this client
 * beyond what its socket holds before it calls it an overrun (ENOBUFS); the
 * default is 256, root may raise it up to CTSIM_EVENT_BACKLOG_MAX. A
 * recorder that must not lose a burst (`ctsim lab start`'s journal) asks for
 * more, as `conntrack -E -b` enlarges its socket buffer on a kernel. */
#define CTSIM_SO_EVENT_BACKLOG	0x10001
#define CTSIM_EVENT_BACKLOG_MAX	65536u

#define CTSIM_BIND_AUTO		0x1	/* a = preferred port id (the pid), daemon picks if taken */
#define CTSIM_RULESET_JSON	0x1	/* the listing as `nft -j list ruleset` */
#define CTSIM_RULESET_RESET	0x2	/* then zero the counters (`nft reset counters`) */
#define CTSIM_TRACE_ALL		0x1	/* every packet, not only those with meta nftrace set */
#define CTSIM_TRACE_JSON	0x2	/* lines as JSON objects */
#define CTSIM_TRACE_LOG		0x4	/* only the `log` statements' lines (`ctctl log`) */
#define CTSIM_TRACE_FILTER	0x8	/* b bytes of a struct ctsim_trace_filter follow: only
					 * packets matching it, either direction, nftrace or not */

/* `ctctl trace FILTER`: the fields given (CTSIM_TF_*) must equal the
 * packet's, or the packet's with source and destination swapped. */
struct ctsim_trace_filter {
	uint8_t family;		/* AF_INET / AF_INET6 (with SRC or DST) */
	uint8_t l4proto;
	uint8_t have;		/* CTSIM_TF_* */
	uint8_t pad;
	uint16_t sport, dport;	/* host order */
	uint8_t src[16], dst[16];
};
#define CTSIM_TF_PROTO	0x01
#define CTSIM_TF_SRC	0x02
#define CTSIM_TF_DST	0x04
#define CTSIM_TF_SPORT	0x08
#define CTSIM_TF_DPORT	0x10

/* Largest datagram the daemon sends for a control reply with a payload
 * (struct ctsim_ctl included): what a client must be able to receive. */
#define CTSIM_CTL_DGRAM_MAX	(64 * 1024)

struct ctsim_ctl {
	uint32_t magic;		/* CTSIM_CTL_MAGIC */
	uint16_t op;		/* enum ctsim_ctl_op */
	uint16_t flags;
	uint32_t a;
	uint32_t b;
	int32_t  err;		/* replies: 0 or a positive errno */
	uint32_t pid;		/* requests: the client's process id (for port id choice) */
};

/* Is this datagram a control message? */
static inline int ctsim_wire_is_ctl(const void *buf, size_t len)
{
	const struct ctsim_ctl *c = buf;
	return len >= sizeof(*c) && c->magic == CTSIM_CTL_MAGIC;
}

/*
 * ctsim_wire_event_group - the multicast group (1..6; 0: not an event) of a
 * datagram coming down, recovered from its header the way conntrack itself
 * tells events apart (ctnetlink_conntrack_event() and
 * ctnetlink_expect_event() choose type and flags from the group): events
 * are the only messages with seq 0 and without NLM_F_MULTI of these types.
 * Inline, header-only: the shim and ctsim-exec-guard, which link nothing of
 * libproto, use this one copy too.
 */
static inline int ctsim_wire_event_group(const void *buf, size_t len)
{
	struct nlmsghdr h;

	if (buf == NULL || ctsim_wire_is_ctl(buf, len) || len < sizeof(h))
		return 0;
	memcpy(&h, buf, sizeof(h));	/* any alignment */
	if (h.nlmsg_seq != 0 || (h.nlmsg_flags & NLM_F_MULTI))
		return 0;
	switch (h.nlmsg_type) {
	case (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW:
		return (h.nlmsg_flags & NLM_F_CREATE) ? NFNLGRP_CONNTRACK_NEW
						      : NFNLGRP_CONNTRACK_UPDATE;
	case (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE:
		return NFNLGRP_CONNTRACK_DESTROY;
	case (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_NEW:
		return (h.nlmsg_flags & NLM_F_CREATE) ? NFNLGRP_CONNTRACK_EXP_NEW
						      : NFNLGRP_CONNTRACK_EXP_UPDATE;
	case (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_DELETE:
		return NFNLGRP_CONNTRACK_EXP_DESTROY;
	default:
		return 0;
	}
}

/*
 * Who answers: a client reads the daemon's credentials once connected
 * (getsockopt SO_PEERCRED) and trusts only a daemon run by root or by its
 * own user: on a socket path in a world-writable directory (/tmp) any user
 * could have bound first and would answer with forged entries. Refused
 * connections fail with EACCES.
 */
static inline int ctsim_wire_peer_trusted(uid_t peer)
{
	return peer == 0 || peer == getuid() || peer == geteuid();
}

#endif /* CTSIM_PROTO_WIRE_H */
