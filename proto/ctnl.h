/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctnl.h — the nfnetlink_conntrack codec: conntrack objects, expectation
 * objects, statistics and dump filters, decoded into plain C structs and
 * encoded back, byte for byte as the kernel's ctnetlink does
 * (net/netfilter/nf_conntrack_netlink.c).
 *
 * Shared by the daemon (ctsim/), the CLI (ctctl/) and the tests. Built on
 * libmnl. Conventions, as in libmnl:
 *   - functions returning int return 0 on success and a negative errno on
 *     failure (the value the kernel would put in NLMSG_ERROR);
 *   - encoders write into a caller buffer and never past its end: they return
 *     -EMSGSIZE when the object does not fit, leaving the message as it was
 *     (so a dump can close the datagram and put the object in the next one);
 *   - decoders skip unknown attributes (as the kernel and libmnl do) and
 *     reject malformed ones: a length that runs past its container or is
 *     shorter than the attribute's type needs -> -EINVAL for nests and
 *     structure errors, -ERANGE for a policy (size) violation, as the kernel's
 *     nla_parse with the ctnetlink policies.
 *
 * Byte order in the structs: addresses are kept in network order (as on the
 * wire, ready for inet_ntop); every other number is in host order.
 */
#ifndef CTSIM_PROTO_CTNL_H
#define CTSIM_PROTO_CTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

/* ---------------------------------------------------------------------- */
/* Message types and flags not in every uapi header                        */

#define CTNL_MSG(subsys, msg)	((uint16_t)(((subsys) << 8) | (msg)))
#define CTNL_SUBSYS(type)	((uint16_t)(type) >> 8)
#define CTNL_MSGTYPE(type)	((uint16_t)(type) & 0xff)

#ifndef NLM_F_DUMP_FILTERED
#define NLM_F_DUMP_FILTERED	0x20
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED		0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS		0x200
#endif

/* Attributes newer than Debian 12's uapi headers (Linux 6.1). */
#define CTNL_CTA_TIMESTAMP_EVENT	27	/* CTA_TIMESTAMP_EVENT, Linux 6.10 */
#define CTNL_CTA_MAX			27

/* Largest datagram ctsim sends: NLMSG_GOODSIZE for 4 KiB pages, so that
 * conntrack's 4096-byte reads never truncate. */
#define CTNL_GOODSIZE		3776

/* Status bits (IPS_*), as in uapi nf_conntrack_common.h. */
enum ct_status_bit {
	CT_S_EXPECTED      = 1u << 0,
	CT_S_SEEN_REPLY    = 1u << 1,
	CT_S_ASSURED       = 1u << 2,
	CT_S_CONFIRMED     = 1u << 3,
	CT_S_SRC_NAT       = 1u << 4,
	CT_S_DST_NAT       = 1u << 5,
	CT_S_SEQ_ADJUST    = 1u << 6,
	CT_S_SRC_NAT_DONE  = 1u << 7,
	CT_S_DST_NAT_DONE  = 1u << 8,
	CT_S_DYING         = 1u << 9,
	CT_S_FIXED_TIMEOUT = 1u << 10,
	CT_S_TEMPLATE      = 1u << 11,
	CT_S_UNTRACKED     = 1u << 12,
	CT_S_HELPER        = 1u << 13,
	CT_S_OFFLOAD       = 1u << 14,
	CT_S_HW_OFFLOAD    = 1u << 15,
};

/* TCP conntrack states as on the wire (CTA_PROTOINFO_TCP_STATE). */
enum ct_tcp_state {
	CT_TCP_NONE, CT_TCP_SYN_SENT, CT_TCP_SYN_RECV, CT_TCP_ESTABLISHED,
	CT_TCP_FIN_WAIT, CT_TCP_CLOSE_WAIT, CT_TCP_LAST_ACK, CT_TCP_TIME_WAIT,
	CT_TCP_CLOSE, CT_TCP_SYN_SENT2, CT_TCP_MAX
};

/* SCTP conntrack states as on the wire (CTA_PROTOINFO_SCTP_STATE). */
enum ct_sctp_state {
	CT_SCTP_NONE, CT_SCTP_CLOSED, CT_SCTP_COOKIE_WAIT, CT_SCTP_COOKIE_ECHOED,
	CT_SCTP_ESTABLISHED, CT_SCTP_SHUTDOWN_SENT, CT_SCTP_SHUTDOWN_RECD,
	CT_SCTP_SHUTDOWN_ACK_SENT, CT_SCTP_HEARTBEAT_SENT, CT_SCTP_MAX
};

/* ---------------------------------------------------------------------- */
/* Tuples                                                                  */

/* An address, IPv4 in the first word, network byte order. */
union ct_addr {
	uint32_t ip;
	uint32_t ip6[4];
	uint8_t  b[16];
};

/*
 * The kernel's struct nf_conntrack_tuple, flattened. 40 bytes, no padding,
 * so that it can be hashed and compared with memcmp once zeroed.
 *   TCP/UDP/UDPLITE/SCTP/DCCP: sport, dport.
 *   GRE:    sport/dport hold the keys (call ids) as the kernel does.
 *   ICMP/ICMPv6: sport = id, icmp_type/icmp_code; dport = 0.
 *   other protocols: only addresses and l4num.
 */
struct ct_tuple {
	union ct_addr src;
	union ct_addr dst;
	uint16_t sport;
	uint16_t dport;
	uint8_t  icmp_type;
	uint8_t  icmp_code;
	uint8_t  l3num;		/* AF_INET or AF_INET6 */
	uint8_t  l4num;		/* IPPROTO_* */
};

/* Which fields of a tuple were present on the wire. The bit values are the
 * CTA_FILTER flag values (CTA_FILTER_FLAG_*), so a filter is just a mask. */
enum ct_tuple_field {
	CT_TF_IP_SRC      = 1u << 0,
	CT_TF_IP_DST      = 1u << 1,
	CT_TF_ZONE        = 1u << 2,
	CT_TF_PROTO_NUM   = 1u << 3,
	CT_TF_SPORT       = 1u << 4,
	CT_TF_DPORT       = 1u << 5,
	CT_TF_ICMP_TYPE   = 1u << 6,
	CT_TF_ICMP_CODE   = 1u << 7,
	CT_TF_ICMP_ID     = 1u << 8,
	CT_TF_ICMPV6_TYPE = 1u << 9,
	CT_TF_ICMPV6_CODE = 1u << 10,
	CT_TF_ICMPV6_ID   = 1u << 11,
	CT_TF_ALL         = (1u << 12) - 1,
};

/* A tuple as carried in CTA_TUPLE_ORIG/REPLY/MASTER or CTA_EXPECT_*. */
struct ctnl_tuple {
	struct ct_tuple t;
	uint32_t present;	/* enum ct_tuple_field bits */
	uint16_t zone;		/* CTA_TUPLE_ZONE, valid if CT_TF_ZONE */
};

/* ---------------------------------------------------------------------- */
/* Conntrack objects                                                       */

/* Bit for attribute CTA_x in struct ctnl_ct.present. */
#define CTNL_HAS(attr)		(1ull << (attr))

struct ctnl_counters {
	uint64_t packets;
	uint64_t bytes;
};

struct ctnl_nat {
	uint32_t present;	/* 1 << CTA_NAT_* */
	union ct_addr min_ip, max_ip;	/* V4 in .ip, V6 in .ip6 */
	uint16_t port_min, port_max;	/* CTA_PROTONAT_PORT_MIN/MAX */
	uint8_t family;		/* AF_INET if V4 attributes were used, AF_INET6 for V6 */
};

struct ctnl_seqadj {
	uint32_t correction_pos;
	uint32_t offset_before;
	uint32_t offset_after;
};

struct ctnl_tcpinfo {
	uint32_t present;	/* 1 << CTA_PROTOINFO_TCP_* */
	uint8_t state;
	uint8_t wscale_orig, wscale_reply;
	uint8_t flags_orig, mask_orig;	/* struct nf_ct_tcp_flags */
	uint8_t flags_reply, mask_reply;
};

struct ctnl_sctpinfo {
	uint32_t present;	/* 1 << CTA_PROTOINFO_SCTP_* */
	uint8_t state;
	uint32_t vtag_orig, vtag_reply;
};

/*
 * A decoded conntrack object (request, dump object or event). Only fields
 * whose CTNL_HAS(CTA_x) bit is set in .present are meaningful; the encoder
 * emits exactly those.
 */
struct ctnl_ct {
	uint64_t present;		/* CTNL_HAS(CTA_*) bits */
	uint8_t  family;		/* nfgenmsg.nfgen_family */
	uint8_t  version;		/* nfgenmsg.version */
	uint16_t res_id;		/* nfgenmsg.res_id, host order */

	struct ctnl_tuple orig;		/* CTA_TUPLE_ORIG */
	struct ctnl_tuple reply;	/* CTA_TUPLE_REPLY */
	struct ctnl_tuple master;	/* CTA_TUPLE_MASTER */
	uint32_t status;		/* CTA_STATUS */
	uint32_t status_mask;		/* CTA_STATUS_MASK */
	uint32_t timeout;		/* CTA_TIMEOUT, seconds */
	uint32_t mark;			/* CTA_MARK */
	uint32_t mark_mask;		/* CTA_MARK_MASK */
	uint16_t zone;			/* CTA_ZONE */
	uint32_t id;			/* CTA_ID */
	uint32_t use;			/* CTA_USE */
	uint32_t secmark;		/* CTA_SECMARK */
	uint8_t  protoinfo;		/* CTA_PROTOINFO: CTA_PROTOINFO_TCP/_SCTP/_DCCP (0 = empty nest) */
	struct ctnl_tcpinfo  tcp;
	struct ctnl_sctpinfo sctp;
	struct ctnl_counters counters[2];	/* CTA_COUNTERS_ORIG / _REPLY */
	uint32_t ts_present;		/* 1 << CTA_TIMESTAMP_START / _STOP */
	uint64_t ts_start, ts_stop;	/* CTA_TIMESTAMP, ns */
	uint64_t ts_event;		/* CTNL_CTA_TIMESTAMP_EVENT, ns */
	char     helper[32];		/* CTA_HELP / CTA_HELP_NAME */
	char     secctx[64];		/* CTA_SECCTX / CTA_SECCTX_NAME */
	uint8_t  labels[16];		/* CTA_LABELS (bitmap, as sent) */
	uint8_t  labels_len;		/* its length in bytes (4..16, multiple of 4) */
	uint8_t  labels_mask[16];	/* CTA_LABELS_MASK */
	uint8_t  labels_mask_len;
	struct ctnl_nat nat_src;	/* CTA_NAT_SRC */
	struct ctnl_nat nat_dst;	/* CTA_NAT_DST */
	struct ctnl_seqadj seqadj[2];	/* CTA_SEQ_ADJ_ORIG / _REPLY */
	uint32_t synproxy_present;	/* 1 << CTA_SYNPROXY_* */
	uint32_t synproxy_isn, synproxy_its, synproxy_tsoff;	/* CTA_SYNPROXY */
	uint32_t filter_orig, filter_reply;	/* CTA_FILTER flags (host order on the wire) */
};

/* Attribute order used when encoding, as the kernel or a client emits it. */
enum ctnl_layout {
	CTNL_LAYOUT_DUMP,	/* ctnetlink_fill_info(): dump and GET objects */
	CTNL_LAYOUT_EVENT,	/* ctnetlink_conntrack_event() */
	CTNL_LAYOUT_REQUEST,	/* libnetfilter_conntrack's request order (ctctl) */
};

/**
 * ctnl_ct_parse - decode the conntrack attributes of a ctnetlink message
 * @nlh:  a complete message (header, nfgenmsg, attributes); nlh->nlmsg_len
 *        must already have been checked against the datagram
 * @ct:   output, zeroed first
 * @bad_off: if not NULL, set to the byte offset (from @nlh) of the offending
 *        attribute on failure (for NLMSGERR_ATTR_OFFS), else left untouched
 *
 * Nests are accepted with or without NLA_F_NESTED. Padding is not checked.
 * Returns 0, -EINVAL (structure: truncated nfgenmsg, attribute running past
 * its container, garbage inside a nest) or -ERANGE (an attribute whose
 * payload is shorter than its type, e.g. a 2-byte CTA_MARK).
 */
int ctnl_ct_parse(const struct nlmsghdr *nlh, struct ctnl_ct *ct, int *bad_off);

/**
 * ctnl_ct_put - append a conntrack object's attributes to a message
 * @nlh:    a message started with ctnl_msg_start()
 * @cap:    total bytes available from @nlh (the datagram space)
 * @ct:     the object; attributes with their .present bit set are emitted
 * @layout: attribute order
 *
 * Returns 0, or -EMSGSIZE if it does not fit (the message is then left with
 * the length it had on entry).
 */
int ctnl_ct_put(struct nlmsghdr *nlh, size_t cap, const struct ctnl_ct *ct,
		enum ctnl_layout layout);

/**
 * ctnl_tuple_put - append one tuple nest (CTA_TUPLE_*, CTA_EXPECT_* ...)
 * Emits CTA_TUPLE_IP, CTA_TUPLE_PROTO (number, then the L4 fields for the
 * protocol as ctnetlink_dump_tuples() does) and CTA_TUPLE_ZONE if
 * CT_TF_ZONE is set. Returns 0 or -EMSGSIZE (message unchanged).
 */
int ctnl_tuple_put(struct nlmsghdr *nlh, size_t cap, uint16_t type,
		   const struct ctnl_tuple *tuple);

/**
 * ctnl_tuple_parse - decode one tuple nest
 * @attr: the nest attribute; @family: the message's nfgen_family, used when
 * no address is present. Returns 0, -EINVAL or -ERANGE.
 */
int ctnl_tuple_parse(const struct nlattr *attr, uint8_t family,
		     struct ctnl_tuple *tuple);

/* ---------------------------------------------------------------------- */
/* Expectation objects (the table itself comes with the helpers issue)     */

struct ctnl_exp {
	uint64_t present;		/* CTNL_HAS(CTA_EXPECT_*) bits */
	uint8_t  family, version;
	uint16_t res_id;
	struct ctnl_tuple tuple;	/* CTA_EXPECT_TUPLE */
	struct ctnl_tuple mask;		/* CTA_EXPECT_MASK */
	struct ctnl_tuple master;	/* CTA_EXPECT_MASTER */
	uint32_t timeout;		/* CTA_EXPECT_TIMEOUT */
	uint32_t id;			/* CTA_EXPECT_ID */
	char     helper[32];		/* CTA_EXPECT_HELP_NAME */
	uint16_t zone;			/* CTA_EXPECT_ZONE */
	uint32_t flags;			/* CTA_EXPECT_FLAGS */
	uint32_t class;			/* CTA_EXPECT_CLASS */
	uint32_t nat_present;		/* 1 << CTA_EXPECT_NAT_* */
	uint32_t nat_dir;		/* CTA_EXPECT_NAT_DIR */
	struct ctnl_tuple nat_tuple;	/* CTA_EXPECT_NAT_TUPLE */
	char     fn[32];		/* CTA_EXPECT_FN */
};

int ctnl_exp_parse(const struct nlmsghdr *nlh, struct ctnl_exp *exp, int *bad_off);
/* Kernel order (ctnetlink_exp_dump_expect): TUPLE, MASK, MASTER, [NAT],
 * TIMEOUT, ID, FLAGS, CLASS, [HELP_NAME], [FN]. */
int ctnl_exp_put(struct nlmsghdr *nlh, size_t cap, const struct ctnl_exp *exp);

/* ---------------------------------------------------------------------- */
/* Statistics                                                              */

/* Per-CPU conntrack counters (CTA_STATS_*), as `conntrack -S` prints them. */
struct ctnl_stats_cpu {
	uint32_t found, invalid, insert, insert_failed, drop, early_drop,
		 error, search_restart, clash_resolve, chaintoolong;
};

/* Per-CPU expectation counters (CTA_STATS_EXP_*). */
struct ctnl_stats_exp {
	uint32_t new, create, delete;
};

/* CT_GET_STATS reply: the global counters. */
struct ctnl_stats_global {
	uint32_t entries, max_entries;
};

int ctnl_stats_cpu_put(struct nlmsghdr *nlh, size_t cap, const struct ctnl_stats_cpu *s);
int ctnl_stats_cpu_parse(const struct nlmsghdr *nlh, struct ctnl_stats_cpu *s);
int ctnl_stats_exp_put(struct nlmsghdr *nlh, size_t cap, const struct ctnl_stats_exp *s);
int ctnl_stats_exp_parse(const struct nlmsghdr *nlh, struct ctnl_stats_exp *s);
int ctnl_stats_global_put(struct nlmsghdr *nlh, size_t cap, const struct ctnl_stats_global *s);
int ctnl_stats_global_parse(const struct nlmsghdr *nlh, struct ctnl_stats_global *s);

/* ---------------------------------------------------------------------- */
/* Messages                                                                */

/**
 * ctnl_msg_start - write an nlmsghdr + nfgenmsg at @buf
 * @cap: bytes available; returns NULL if fewer than the two headers.
 * res_id is given in host order and written big-endian.
 */
struct nlmsghdr *ctnl_msg_start(void *buf, size_t cap, uint16_t type,
				uint16_t flags, uint32_t seq, uint32_t portid,
				uint8_t family, uint8_t version, uint16_t res_id);

/**
 * ctnl_msg_put_error - write an NLMSG_ERROR answering @req at @buf
 * @err:    0 for an ACK, else a negative errno
 * @capped: echo only the request's header (always for ACKs; for errors when
 *          the client set NETLINK_CAP_ACK)
 * Returns the number of bytes written, or -EMSGSIZE.
 */
int ctnl_msg_put_error(void *buf, size_t cap, const struct nlmsghdr *req,
		       int err, uint32_t portid, bool capped);

/** ctnl_msg_put_done - write NLMSG_DONE (flags MULTI, payload s32 0); returns bytes. */
int ctnl_msg_put_done(void *buf, size_t cap, uint32_t seq, uint32_t portid);

/**
 * ctnl_msg_check - validate a received datagram's framing
 * Walks the messages in @buf/@len: each must have a header whose length is
 * at least sizeof(struct nlmsghdr) and fits the datagram. Returns the number
 * of messages, or -EINVAL at the first broken one (*bad_at = its offset).
 */
int ctnl_msg_check(const void *buf, size_t len, size_t *bad_at);

/* ---------------------------------------------------------------------- */
/* Names, shared by every printer (ctctl, tests, the tracer)               */

const char *ct_tcp_state_name(uint8_t state);	/* "SYN_SENT2", "NONE" ... */
const char *ct_sctp_state_name(uint8_t state);
int ct_tcp_state_parse(const char *name);	/* -1 if unknown; accepts LISTEN */
const char *ct_l4proto_name(uint8_t l4num);	/* "tcp", "udp", "icmpv6", "unknown" */
/* Status bit names as conntrack -u accepts them ("SEEN_REPLY" ...). */
const char *ct_status_bit_name(unsigned bit);

/* The default (policy) inverse of a tuple, as nf_ct_invert_tuple(): swaps
 * addresses and ports; ICMP request types become their replies (ICMPv6:
 * 128<->129, 139<->140). Returns false when the tuple cannot be inverted
 * (ICMP types without a reply). The one copy of the type maps: ctctl, the
 * ctnetlink handlers, the scenario runner and the core's ICMP trackers
 * (ct_icmp_invert_tuple()) all come here. */
bool ct_tuple_invert(const struct ct_tuple *in, struct ct_tuple *out);

#endif /* CTSIM_PROTO_CTNL_H */
