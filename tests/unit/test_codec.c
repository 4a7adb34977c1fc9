/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_codec.c — unit tests of the nfnetlink_conntrack codec (proto/ctnl*.c)
 * against byte vectors captured from the real kernel (vectors/, made by
 * vectors/capture-*.sh and vectors/gen_vectors.py):
 *   - every kernel dump object and event is decoded and re-encoded with the
 *     DUMP / EVENT layout, byte for byte;
 *   - every request conntrack sent is re-encoded with the REQUEST layout
 *     (pad bytes, which carry garbage in requests, zeroed first);
 *   - ACK / DONE / statistics messages are rebuilt and compared;
 *   - fields of selected objects are checked; malformed input is rejected
 *     with the kernel's errors; -EMSGSIZE leaves the message unchanged.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "proto/ctnl.h"
#include "proto/ctsim_wire.h"

struct kvec {
	const char *name;	/* SET_TRACE_DIRn */
	const char *cmd;	/* the command that produced it */
	int tx;			/* 1: sent by conntrack, 0: written by the kernel */
	const uint8_t *data;
	size_t len;
};
#include "vectors/kernel_vectors.h"

#define NVEC	(sizeof(kernel_vectors) / sizeof(kernel_vectors[0]))

static const struct kvec *vec(const char *name)
{
	for (size_t i = 0; i < NVEC; i++)
		if (strcmp(kernel_vectors[i].name, name) == 0)
			return &kernel_vectors[i];
	fail_msg("no vector %s", name);
	return NULL;
}

static const struct nlmsghdr *vnlh(const char *name)
{
	return (const struct nlmsghdr *)vec(name)->data;
}

/* Zero the padding after every attribute payload (nests: recursively). */
static void zero_pads(uint8_t *p, size_t len)
{
	size_t off = 0;

	while (off + 4 <= len) {
		struct nlattr *a = (struct nlattr *)(p + off);
		size_t alen = a->nla_len, aligned = (alen + 3) & ~3u;

		if (alen < 4 || alen > len - off)
			return;
		if (a->nla_type & NLA_F_NESTED)
			zero_pads(p + off + 4, alen - 4);
		else if (aligned <= len - off)
			memset(p + off + alen, 0, aligned - alen);
		off += aligned;
	}
}

static void hexdiff(const char *what, const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i]) {
			print_error("%s: first difference at byte %zu: %02x != %02x\n",
				    what, i, a[i], b[i]);
			return;
		}
}

/* Re-encode a decoded object with the same headers. */
static size_t reencode_ct(const struct nlmsghdr *orig, const struct ctnl_ct *ct,
			  enum ctnl_layout layout, uint8_t *buf, size_t cap)
{
	struct nlmsghdr *nlh = ctnl_msg_start(buf, cap, orig->nlmsg_type,
					      orig->nlmsg_flags, orig->nlmsg_seq,
					      orig->nlmsg_pid, ct->family,
					      ct->version, ct->res_id);

	assert_non_null(nlh);
	assert_int_equal(ctnl_ct_put(nlh, cap, ct, layout), 0);
	return nlh->nlmsg_len;
}

static bool is_ct_object(const struct nlmsghdr *nlh)
{
	if (CTNL_SUBSYS(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK)
		return false;
	switch (CTNL_MSGTYPE(nlh->nlmsg_type)) {
	case IPCTNL_MSG_CT_NEW: case IPCTNL_MSG_CT_GET: case IPCTNL_MSG_CT_DELETE:
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------------- */
/* Every captured message, round trip                                     */

static void test_roundtrip_all(void **state)
{
	unsigned objects = 0, events = 0, requests = 0, others = 0;
	(void)state;

	for (size_t i = 0; i < NVEC; i++) {
		const struct kvec *v = &kernel_vectors[i];
		const struct nlmsghdr *nlh = (const void *)v->data;
		uint8_t want[4096], got[4096];
		struct ctnl_ct ct;
		enum ctnl_layout layout;
		size_t n;

		assert_int_equal(nlh->nlmsg_len, v->len);
		if (!is_ct_object(nlh))
			continue;
		memcpy(want, v->data, v->len);
		if (v->tx) {
			layout = CTNL_LAYOUT_REQUEST;
			zero_pads(want + 20, v->len - 20);
			requests++;
		} else if (nlh->nlmsg_seq == 0) {
			layout = CTNL_LAYOUT_EVENT;
			events++;
		} else {
			layout = CTNL_LAYOUT_DUMP;
			objects++;
		}
		assert_int_equal(ctnl_ct_parse(nlh, &ct, NULL), 0);
		n = reencode_ct(nlh, &ct, layout, got, sizeof(got));
		if (n != v->len || memcmp(got, want, n) != 0) {
			hexdiff(v->name, got, want, n < v->len ? n : v->len);
			fail_msg("%s (%s): re-encoded %zu bytes, kernel %zu",
				 v->name, v->cmd, n, v->len);
		}
	}
	(void)others;
	print_message("round trip: %u dump objects, %u events, %u requests\n",
		      objects, events, requests);
	assert_true(objects >= 30);
	assert_true(events >= 30);
	assert_true(requests >= 15);
}

/* ACKs, errors and DONE rebuilt from the request they answer. */
static void test_ack_done(void **state)
{
	unsigned acks = 0, dones = 0;
	(void)state;

	for (size_t i = 0; i < NVEC; i++) {
		const struct kvec *v = &kernel_vectors[i];
		const struct nlmsghdr *nlh = (const void *)v->data;
		uint8_t got[4096];
		int n;

		if (v->tx)
			continue;
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = (const void *)(nlh + 1);
			/* capped: the request's header is all that is echoed */
			const struct nlmsghdr *req = &e->msg;

			assert_true(nlh->nlmsg_flags & NLM_F_CAPPED);
			n = ctnl_msg_put_error(got, sizeof(got), req, e->error,
					       nlh->nlmsg_pid,
					       nlh->nlmsg_flags & NLM_F_CAPPED);
			assert_int_equal(n, (int)v->len);
			assert_memory_equal(got, v->data, v->len);
			acks++;
		} else if (nlh->nlmsg_type == NLMSG_DONE) {
			n = ctnl_msg_put_done(got, sizeof(got), nlh->nlmsg_seq,
					      nlh->nlmsg_pid);
			assert_int_equal(n, 20);
			assert_memory_equal(got, v->data, v->len);
			dones++;
		}
	}
	print_message("rebuilt %u ACKs, %u DONEs\n", acks, dones);
	assert_true(acks >= 13);
	assert_true(dones >= 5);
}

/* The EEXIST error of ctnetlink-compat.md section 11: full request echoed. */
static void test_error_uncapped(void **state)
{
	const struct nlmsghdr *req = vnlh("a_c1_tx0");
	uint8_t buf[512];
	const struct nlmsghdr *e = (const void *)buf;
	(void)state;

	assert_int_equal(ctnl_msg_put_error(buf, sizeof(buf), req, -EEXIST, 20647, false), 192);
	assert_int_equal(e->nlmsg_len, 192);
	assert_int_equal(e->nlmsg_type, NLMSG_ERROR);
	assert_int_equal(e->nlmsg_flags, 0);
	assert_int_equal(e->nlmsg_seq, req->nlmsg_seq);
	assert_int_equal(e->nlmsg_pid, 20647);
	assert_int_equal(((const struct nlmsgerr *)(e + 1))->error, -EEXIST);
	assert_memory_equal(buf + 20, req, 172);
	/* NETLINK_CAP_ACK: capped */
	assert_int_equal(ctnl_msg_put_error(buf, sizeof(buf), req, -ENOENT, 1, true), 36);
	assert_int_equal(e->nlmsg_flags, NLM_F_CAPPED);
	/* no room */
	assert_int_equal(ctnl_msg_put_error(buf, 100, req, -EEXIST, 1, false), -EMSGSIZE);
	assert_int_equal(ctnl_msg_put_done(buf, 19, 1, 1), -EMSGSIZE);
}

/* CT_GET_STATS_CPU and CT_GET_STATS replies. */
static void test_stats(void **state)
{
	uint8_t buf[256];
	struct ctnl_stats_cpu cpu;
	struct ctnl_stats_global g;
	const struct nlmsghdr *k;
	struct nlmsghdr *nlh;
	(void)state;

	k = vnlh("a_c20_rx1");			/* conntrack -S, cpu 1 */
	assert_int_equal(k->nlmsg_type, 0x0104);
	assert_int_equal(ctnl_stats_cpu_parse(k, &cpu), 0);
	assert_true(cpu.insert > 0);	/* the -I entries inserted on that cpu */
	assert_int_equal(cpu.found, 0);
	nlh = ctnl_msg_start(buf, sizeof(buf), k->nlmsg_type, k->nlmsg_flags,
			     k->nlmsg_seq, k->nlmsg_pid, 0, 0, 1);
	assert_int_equal(ctnl_stats_cpu_put(nlh, sizeof(buf), &cpu), 0);
	assert_int_equal(nlh->nlmsg_len, 100);
	assert_memory_equal(buf, k, 100);

	k = vnlh("a_c19_rx0");			/* conntrack -C */
	assert_int_equal(ctnl_stats_global_parse(k, &g), 0);
	assert_int_equal(g.entries, 13);
	assert_int_equal(g.max_entries, 262144);
	nlh = ctnl_msg_start(buf, sizeof(buf), k->nlmsg_type, k->nlmsg_flags,
			     k->nlmsg_seq, k->nlmsg_pid, 0, 0, 0);
	assert_int_equal(ctnl_stats_global_put(nlh, sizeof(buf), &g), 0);
	assert_int_equal(nlh->nlmsg_len, 36);
	assert_memory_equal(buf, k, 36);
	assert_int_equal(ctnl_stats_global_put(nlh, 40, &g), -EMSGSIZE);
	assert_int_equal(nlh->nlmsg_len, 36);

	/* expectation stats (no kernel capture: 44-byte layout of section 9.3) */
	{
		struct ctnl_stats_exp e = { .new = 1, .create = 2, .delete = 3 }, e2;

		nlh = ctnl_msg_start(buf, sizeof(buf), CTNL_MSG(1, 3), NLM_F_MULTI,
				     5, 6, 0, 0, 1);
		assert_int_equal(ctnl_stats_exp_put(nlh, sizeof(buf), &e), 0);
		assert_int_equal(nlh->nlmsg_len, 44);
		assert_int_equal(ctnl_stats_exp_parse(nlh, &e2), 0);
		assert_memory_equal(&e, &e2, sizeof(e));
	}
}

/* ---------------------------------------------------------------------- */
/* Field checks                                                            */

static uint32_t ip4(const char *s)
{
	uint32_t a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* The 172-byte request of ctnetlink-compat.md section 11 (pad garbage). */
static void test_request_fields(void **state)
{
	const struct nlmsghdr *nlh = vnlh("a_c1_tx0");
	struct ctnl_ct ct;
	(void)state;

	assert_int_equal(nlh->nlmsg_len, 172);
	assert_int_equal(ctnl_ct_parse(nlh, &ct, NULL), 0);
	assert_int_equal(ct.family, AF_INET);
	assert_true(ct.present == (CTNL_HAS(CTA_TUPLE_ORIG) | CTNL_HAS(CTA_TUPLE_REPLY) |
				   CTNL_HAS(CTA_STATUS) | CTNL_HAS(CTA_TIMEOUT) |
				   CTNL_HAS(CTA_PROTOINFO)));
	assert_int_equal(ct.orig.t.src.ip, ip4("1.1.1.1"));
	assert_int_equal(ct.orig.t.dst.ip, ip4("2.2.2.2"));
	assert_int_equal(ct.orig.t.l3num, AF_INET);
	assert_int_equal(ct.orig.t.l4num, IPPROTO_TCP);
	assert_int_equal(ct.orig.t.sport, 10);
	assert_int_equal(ct.orig.t.dport, 20);
	assert_int_equal(ct.orig.present, CT_TF_IP_SRC | CT_TF_IP_DST |
			 CT_TF_PROTO_NUM | CT_TF_SPORT | CT_TF_DPORT);
	assert_int_equal(ct.reply.t.src.ip, ip4("2.2.2.2"));
	assert_int_equal(ct.reply.t.l4num, IPPROTO_TCP);	/* pad garbage 0x10 ignored */
	assert_int_equal(ct.reply.t.sport, 20);
	assert_int_equal(ct.status, CT_S_SEEN_REPLY | CT_S_CONFIRMED);
	assert_int_equal(ct.timeout, 50);
	assert_int_equal(ct.protoinfo, CTA_PROTOINFO_TCP);
	assert_int_equal(ct.tcp.state, CT_TCP_SYN_SENT2);
	assert_int_equal(ct.tcp.flags_orig, 0x0e);
	assert_int_equal(ct.tcp.mask_orig, 0x0e);
	assert_int_equal(ct.tcp.flags_reply, 0x0e);
	assert_int_equal(ct.tcp.present, (1u << CTA_PROTOINFO_TCP_STATE) |
			 (1u << CTA_PROTOINFO_TCP_FLAGS_ORIGINAL) |
			 (1u << CTA_PROTOINFO_TCP_FLAGS_REPLY));
}

/* Find the dump object of `conntrack -L` whose orig tuple matches. */
static const struct nlmsghdr *dump_obj(const char *prefix, uint8_t l4,
				       uint16_t sport, struct ctnl_ct *ct)
{
	for (size_t i = 0; i < NVEC; i++) {
		const struct kvec *v = &kernel_vectors[i];
		const struct nlmsghdr *nlh = (const void *)v->data;

		if (strncmp(v->name, prefix, strlen(prefix)) || v->tx ||
		    !is_ct_object(nlh))
			continue;
		assert_int_equal(ctnl_ct_parse(nlh, ct, NULL), 0);
		if (ct->orig.t.l4num == l4 && ct->orig.t.sport == sport)
			return nlh;
	}
	fail_msg("no %s object proto %u sport %u", prefix, l4, sport);
	return NULL;
}

static void test_dump_fields(void **state)
{
	struct ctnl_ct ct;
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	(void)state;

	/* tcp SYN_SENT2 entry: mark, id, use, protoinfo with wscale, synproxy */
	dump_obj("a_c14_rx", IPPROTO_TCP, 10, &ct);
	assert_true(ct.present & CTNL_HAS(CTA_MARK));
	assert_true(ct.present & CTNL_HAS(CTA_ID));
	assert_int_equal(ct.use, 1);
	assert_int_equal(ct.status, 0x0a);
	assert_int_equal(ct.tcp.state, CT_TCP_SYN_SENT2);
	assert_int_equal(ct.tcp.flags_orig, 0x0e);
	assert_int_equal(ct.tcp.mask_orig, 0);
	assert_int_equal(ct.synproxy_present, 0xe);
	assert_true(ct.present & CTNL_HAS(CTA_COUNTERS_ORIG));
	assert_int_equal(ct.ts_present, 1u << CTA_TIMESTAMP_START);

	/* marked tcp entry */
	dump_obj("a_c14_rx", IPPROTO_TCP, 1234, &ct);
	assert_int_equal(ct.mark, 42);
	assert_int_equal(ct.status, CT_S_SEEN_REPLY | CT_S_ASSURED | CT_S_CONFIRMED);

	/* udp over IPv6 */
	dump_obj("a_c14_rx", IPPROTO_UDP, 53, &ct);
	assert_int_equal(ct.family, AF_INET6);
	assert_int_equal(ct.orig.t.l3num, AF_INET6);
	assert_memory_equal(ct.orig.t.src.b, v6, 16);
	assert_int_equal(ct.orig.t.dport, 5353);
	assert_int_equal(ct.reply.t.sport, 5353);

	/* icmp: id in sport, type/code */
	dump_obj("a_c14_rx", IPPROTO_ICMP, 77, &ct);
	assert_int_equal(ct.orig.t.icmp_type, 8);
	assert_int_equal(ct.reply.t.icmp_type, 0);
	assert_int_equal(ct.orig.present & (CT_TF_ICMP_ID | CT_TF_ICMP_TYPE | CT_TF_ICMP_CODE),
			 CT_TF_ICMP_ID | CT_TF_ICMP_TYPE | CT_TF_ICMP_CODE);

	/* icmpv6 */
	dump_obj("a_c14_rx", IPPROTO_ICMPV6, 5, &ct);
	assert_int_equal(ct.orig.t.icmp_type, 128);
	assert_int_equal(ct.reply.t.icmp_type, 129);
	assert_true(ct.orig.present & CT_TF_ICMPV6_ID);

	/* sctp with vtags */
	dump_obj("a_c14_rx", IPPROTO_SCTP, 5, &ct);
	assert_int_equal(ct.protoinfo, CTA_PROTOINFO_SCTP);
	assert_int_equal(ct.sctp.state, CT_SCTP_ESTABLISHED);
	/* conntrack 1.4.7 sends --orig-vtag in host order: 01 00 00 00 */
	assert_int_equal(ct.sctp.vtag_orig, ntohl(1));
	assert_int_equal(ct.sctp.vtag_reply, ntohl(2));

	/* gre keys as ports */
	dump_obj("a_c14_rx", IPPROTO_GRE, 1, &ct);
	assert_int_equal(ct.orig.t.dport, 2);
	assert_int_equal(ct.reply.t.sport, 2);

	/* generic protocol 200: no ports */
	dump_obj("a_c14_rx", 200, 0, &ct);
	assert_int_equal(ct.orig.present, CT_TF_IP_SRC | CT_TF_IP_DST | CT_TF_PROTO_NUM);

	/* zones: -w 5, --orig-zone 7, --reply-zone 8 */
	dump_obj("a_c14_rx", IPPROTO_UDP, 1, &ct);
	assert_true(ct.present & CTNL_HAS(CTA_ZONE));
	assert_int_equal(ct.zone, 5);
	dump_obj("a_c14_rx", IPPROTO_UDP, 3, &ct);
	assert_false(ct.present & CTNL_HAS(CTA_ZONE));
	assert_int_equal(ct.orig.present & CT_TF_ZONE, CT_TF_ZONE);
	assert_int_equal(ct.orig.zone, 7);
	dump_obj("a_c14_rx", IPPROTO_UDP, 5, &ct);
	assert_int_equal(ct.orig.present & CT_TF_ZONE, 0);
	assert_int_equal(ct.reply.zone, 8);

	/* --src-nat 12.0.0.1:3000: NAT bits, rewritten reply tuple */
	dump_obj("a_c14_rx", IPPROTO_TCP, 100, &ct);
	assert_int_equal(ct.status, 0x198);
	assert_int_equal(ct.reply.t.dst.ip, ip4("12.0.0.1"));
	assert_int_equal(ct.reply.t.dport, 3000);
}

/* Packet-created entries: counters, wscale, no synproxy. */
static void test_packet_entry(void **state)
{
	struct ctnl_ct ct;
	(void)state;

	assert_int_equal(ctnl_ct_parse(vnlh("b_c1_rx0"), &ct, NULL), 0);
	assert_int_equal(ct.orig.t.l4num, IPPROTO_TCP);
	assert_int_equal(ct.orig.t.dport, 8080);
	assert_int_equal(ct.tcp.state, CT_TCP_TIME_WAIT);
	assert_int_equal(ct.tcp.wscale_orig, 10);
	assert_int_equal(ct.counters[0].packets, 6);
	assert_int_equal(ct.counters[0].bytes, 322);
	assert_int_equal(ct.counters[1].packets, 4);
	assert_int_equal(ct.counters[1].bytes, 218);
	assert_true(ct.ts_start > 0);
	assert_false(ct.present & CTNL_HAS(CTA_SYNPROXY));
}

/* Events: NEW from ctnetlink, packet NEW/UPDATE, DESTROY with counters. */
static void test_events(void **state)
{
	struct ctnl_ct ct;
	const struct nlmsghdr *nlh;
	(void)state;

	nlh = vnlh("a_ev_rx0");
	assert_int_equal(ctsim_wire_event_group(nlh, nlh->nlmsg_len), NFNLGRP_CONNTRACK_NEW);
	assert_int_equal(ctnl_ct_parse(nlh, &ct, NULL), 0);
	assert_true(ct.present & CTNL_HAS(CTA_MARK));
	assert_true(ct.present & CTNL_HAS(CTNL_CTA_TIMESTAMP_EVENT));
	assert_int_equal(ct.timeout, 50);

	nlh = vnlh("b_ev_rx1");		/* packet UPDATE: SYN_RECV */
	assert_int_equal(ctsim_wire_event_group(nlh, nlh->nlmsg_len), NFNLGRP_CONNTRACK_UPDATE);
	assert_int_equal(ctnl_ct_parse(nlh, &ct, NULL), 0);
	assert_false(ct.present & CTNL_HAS(CTA_MARK));
	assert_int_equal(ct.tcp.state, CT_TCP_SYN_RECV);

	for (size_t i = 0; i < NVEC; i++) {	/* the first destroy of b */
		nlh = (const void *)kernel_vectors[i].data;
		if (strncmp(kernel_vectors[i].name, "b_ev", 4) == 0 &&
		    nlh->nlmsg_type == CTNL_MSG(1, IPCTNL_MSG_CT_DELETE))
			break;
	}
	assert_int_equal(ctsim_wire_event_group(nlh, nlh->nlmsg_len), NFNLGRP_CONNTRACK_DESTROY);
	assert_int_equal(ctnl_ct_parse(nlh, &ct, NULL), 0);
	assert_true(ct.status & CT_S_DYING);
	assert_int_equal(ct.counters[0].packets, 6);
	assert_int_equal(ct.ts_present, (1u << CTA_TIMESTAMP_START) | (1u << CTA_TIMESTAMP_STOP));
	assert_int_equal(ct.tcp.present, 1u << CTA_PROTOINFO_TCP_STATE);

	/* not events */
	nlh = vnlh("a_c14_rx0");
	assert_int_equal(ctsim_wire_event_group(nlh, nlh->nlmsg_len), 0);
	{
		struct ctsim_ctl c = { .magic = CTSIM_CTL_MAGIC };
		assert_int_equal(ctsim_wire_event_group(&c, sizeof(c)), 0);
	}
}

/* ---------------------------------------------------------------------- */
/* Malformed input                                                         */

/* A copy of a vector that can be edited. */
static size_t copy(uint8_t *buf, const char *name)
{
	const struct kvec *v = vec(name);

	memcpy(buf, v->data, v->len);
	return v->len;
}

static void test_malformed(void **state)
{
	_Alignas(8) uint8_t buf[512];
	struct nlmsghdr *nlh = (void *)buf;
	struct ctnl_ct ct;
	int bad = -1;
	(void)state;

	/* truncated nfgenmsg */
	copy(buf, "a_c1_tx0");
	nlh->nlmsg_len = 18;
	assert_int_equal(ctnl_ct_parse(nlh, &ct, NULL), -EINVAL);

	/* first attribute (CTA_TUPLE_ORIG at 20) runs past the message */
	copy(buf, "a_c1_tx0");
	buf[20] = 0xf0;
	assert_int_equal(ctnl_ct_parse(nlh, &ct, &bad), -EINVAL);
	assert_int_equal(bad, 20);

	/* length below the attribute header */
	copy(buf, "a_c1_tx0");
	buf[20] = 2;
	assert_int_equal(ctnl_ct_parse(nlh, &ct, NULL), -EINVAL);

	/* garbage inside a nest: CTA_TUPLE_IP (at 24) longer than its tuple */
	copy(buf, "a_c1_tx0");
	buf[24] = 0x40;
	assert_int_equal(ctnl_ct_parse(nlh, &ct, &bad), -EINVAL);
	/* garbage inside CTA_PROTOINFO_TCP (at 144): STATE (148) with length 1 */
	copy(buf, "a_c1_tx0");
	buf[148] = 1;
	assert_int_equal(ctnl_ct_parse(nlh, &ct, &bad), -EINVAL);
	assert_int_equal(bad, 148);

	/* 2-byte CTA_MARK: policy violation, ERANGE (section 9.3) */
	{
		uint8_t mark[8] = { 6, 0, CTA_MARK, 0, 0, 5, 0, 0 };
		size_t n = copy(buf, "a_c1_tx0");

		memcpy(buf + n, mark, 8);
		nlh->nlmsg_len = (uint32_t)n + 8;
		assert_int_equal(ctnl_ct_parse(nlh, &ct, &bad), -ERANGE);
		assert_int_equal(bad, (int)n);
	}
	/* 1-byte CTA_PROTO_SRC_PORT inside the tuple */
	copy(buf, "a_c1_tx0");
	buf[56] = 5;
	assert_int_equal(ctnl_ct_parse(nlh, &ct, &bad), -ERANGE);
	assert_int_equal(bad, 20);	/* reported at the tuple nest */

	/* unknown attributes are skipped, at the top and inside nests */
	{
		uint8_t unk[8] = { 8, 0, 99, 0, 1, 2, 3, 4 };
		size_t n = copy(buf, "a_c1_tx0");

		memcpy(buf + n, unk, 8);
		nlh->nlmsg_len = (uint32_t)n + 8;
		assert_int_equal(ctnl_ct_parse(nlh, &ct, NULL), 0);
		assert_int_equal(ct.timeout, 50);
		/* rename CTA_IP_V4_DST (at 36) to type 77: skipped */
		copy(buf, "a_c1_tx0");
		buf[38] = 77;
		assert_int_equal(ctnl_ct_parse(nlh, &ct, NULL), 0);
		assert_int_equal(ct.orig.present & CT_TF_IP_DST, 0);
		assert_int_equal(ct.orig.t.src.ip, ip4("1.1.1.1"));
	}

	/* nests without NLA_F_NESTED (pyroute2 style) are accepted */
	copy(buf, "a_c1_tx0");
	buf[23] &= 0x7f;	/* CTA_TUPLE_ORIG */
	buf[27] &= 0x7f;	/* CTA_TUPLE_IP */
	buf[143] &= 0x7f;	/* CTA_PROTOINFO */
	assert_int_equal(ctnl_ct_parse(nlh, &ct, NULL), 0);
	assert_int_equal(ct.orig.t.dst.ip, ip4("2.2.2.2"));
	assert_int_equal(ct.tcp.state, CT_TCP_SYN_SENT2);

	/* strings: no NUL -> EINVAL; too long for the field -> ERANGE */
	{
		struct ctnl_ct c2;
		struct nlmsghdr *m;
		uint8_t help[16] = { 12, 0, CTA_HELP, 0x80,
				     8, 0, CTA_HELP_NAME, 0, 'f', 't', 'p', 'x' };

		m = ctnl_msg_start(buf, sizeof(buf), CTNL_MSG(1, 0), 0, 0, 0, AF_INET, 0, 0);
		memcpy(buf + 20, help, 12);
		m->nlmsg_len = 32;
		assert_int_equal(ctnl_ct_parse(m, &c2, NULL), -EINVAL);
		buf[31] = 0;
		assert_int_equal(ctnl_ct_parse(m, &c2, NULL), 0);
		assert_string_equal(c2.helper, "ftp");

		memset(&c2, 0, sizeof(c2));
		memset(c2.secctx, 'a', sizeof(c2.secctx) - 1);
		c2.present = CTNL_HAS(CTA_SECCTX);
		m = ctnl_msg_start(buf, sizeof(buf), CTNL_MSG(1, 0), 0, 0, 0, AF_INET, 0, 0);
		assert_int_equal(ctnl_ct_put(m, sizeof(buf), &c2, CTNL_LAYOUT_DUMP), 0);
		assert_int_equal(ctnl_ct_parse(m, &ct, NULL), 0);
		assert_string_equal(ct.secctx, c2.secctx);
		memcpy(c2.helper, c2.secctx, sizeof(c2.helper));	/* unterminated */
		c2.helper[31] = 'b';
		/* write a 40-char helper name by hand */
		{
			uint8_t h[52] = { 52, 0, CTA_HELP, 0x80, 45, 0, CTA_HELP_NAME, 0 };
			memset(h + 8, 'h', 40);
			h[48] = 0;
			m = ctnl_msg_start(buf, sizeof(buf), CTNL_MSG(1, 0), 0, 0, 0, AF_INET, 0, 0);
			memcpy(buf + 20, h, sizeof(h));
			m->nlmsg_len = 20 + sizeof(h);
			assert_int_equal(ctnl_ct_parse(m, &ct, &bad), -ERANGE);
			assert_int_equal(bad, 24);
		}
	}

	/* labels: > 16 bytes -> ERANGE */
	{
		uint8_t l[24] = { 24, 0, CTA_LABELS, 0 };
		struct nlmsghdr *m = ctnl_msg_start(buf, sizeof(buf), CTNL_MSG(1, 0),
						    0, 0, 0, AF_INET, 0, 0);

		memcpy(buf + 20, l, sizeof(l));
		m->nlmsg_len = 44;
		assert_int_equal(ctnl_ct_parse(m, &ct, NULL), -ERANGE);
	}

	/* expectation and stats parsers share the rules */
	{
		struct ctnl_exp e;
		struct ctnl_stats_cpu s;

		copy(buf, "a_c1_tx0");
		buf[20] = 0xf0;
		assert_int_equal(ctnl_exp_parse(nlh, &e, NULL), -EINVAL);
		nlh->nlmsg_len = 18;
		assert_int_equal(ctnl_exp_parse(nlh, &e, NULL), -EINVAL);
		copy(buf, "a_c20_rx0");
		buf[20] = 6;	/* 2-byte counter */
		assert_int_equal(ctnl_stats_cpu_parse(nlh, &s), -ERANGE);
		buf[20] = 0xff;
		assert_int_equal(ctnl_stats_cpu_parse(nlh, &s), -EINVAL);
	}
}

/* Datagram framing. */
static void test_msg_check(void **state)
{
	_Alignas(8) uint8_t buf[512];
	size_t bad = 0;
	int n;
	(void)state;

	n = (int)copy(buf, "a_c19_rx0");
	memcpy(buf + n, vec("a_c14_rx13")->data, 20);	/* + DONE */
	assert_int_equal(ctnl_msg_check(buf, (size_t)n + 20, &bad), 2);
	assert_int_equal(ctnl_msg_check(buf, (size_t)n + 19, &bad), -EINVAL);
	assert_int_equal(bad, (size_t)n);
	buf[n] = 8;	/* nlmsg_len below the header */
	assert_int_equal(ctnl_msg_check(buf, (size_t)n + 20, &bad), -EINVAL);
	assert_int_equal(ctnl_msg_check(buf, 0, &bad), 0);
}

/* ---------------------------------------------------------------------- */
/* Encoding                                                                */

static void test_emsgsize(void **state)
{
	const struct nlmsghdr *k = vnlh("b_c1_rx0");
	uint8_t buf[4096];
	struct nlmsghdr *nlh;
	struct ctnl_ct ct;
	(void)state;

	assert_int_equal(ctnl_ct_parse(k, &ct, NULL), 0);
	assert_null(ctnl_msg_start(buf, 19, 0x100, 0, 0, 0, 2, 0, 0));
	/* every cap below the full size fails and leaves the 20-byte header */
	for (size_t cap = 20; cap < k->nlmsg_len; cap++) {
		nlh = ctnl_msg_start(buf, cap, k->nlmsg_type, k->nlmsg_flags,
				     k->nlmsg_seq, k->nlmsg_pid, ct.family, 0, 0);
		assert_non_null(nlh);
		assert_int_equal(ctnl_ct_put(nlh, cap, &ct, CTNL_LAYOUT_DUMP), -EMSGSIZE);
		assert_int_equal(nlh->nlmsg_len, 20);
	}
	nlh = ctnl_msg_start(buf, k->nlmsg_len, k->nlmsg_type, k->nlmsg_flags,
			     k->nlmsg_seq, k->nlmsg_pid, ct.family, 0, 0);
	assert_int_equal(ctnl_ct_put(nlh, k->nlmsg_len, &ct, CTNL_LAYOUT_DUMP), 0);
	assert_memory_equal(buf, k, k->nlmsg_len);

	/* a second object that does not fit leaves the first intact */
	nlh = ctnl_msg_start(buf, 300, 0x100, 0, 0, 0, 2, 0, 0);
	assert_int_equal(ctnl_tuple_put(nlh, 300, CTA_TUPLE_ORIG, &ct.orig), 0);
	{
		uint32_t len = nlh->nlmsg_len;
		assert_int_equal(ctnl_tuple_put(nlh, len + 10, CTA_TUPLE_REPLY, &ct.reply),
				 -EMSGSIZE);
		assert_int_equal(nlh->nlmsg_len, len);
	}
}

/* Everything the struct can carry, out and back. */
static void test_full_roundtrip(void **state)
{
	struct ctnl_ct a, b;
	uint8_t buf[2048];
	struct nlmsghdr *nlh;
	(void)state;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	a.present = 0;
	for (unsigned i = 1; i <= CTNL_CTA_MAX; i++)
		a.present |= CTNL_HAS(i);
	a.orig.t.l3num = a.reply.t.l3num = a.master.t.l3num = AF_INET6;
	a.orig.t.l4num = a.reply.t.l4num = a.master.t.l4num = IPPROTO_TCP;
	a.orig.t.src.b[15] = 1;
	a.orig.t.dst.b[15] = 2;
	a.orig.t.sport = 1000;
	a.orig.t.dport = 80;
	assert_true(ct_tuple_invert(&a.orig.t, &a.reply.t));
	a.master.t = a.orig.t;
	a.orig.present = a.reply.present = a.master.present = CT_TF_IP_SRC | CT_TF_IP_DST |
		CT_TF_PROTO_NUM | CT_TF_SPORT | CT_TF_DPORT;
	a.orig.present |= CT_TF_ZONE;
	a.orig.zone = 3;
	a.status = 0x1234; a.status_mask = 0xffff; a.timeout = 99;
	a.mark = 7; a.mark_mask = 0xff; a.zone = 4; a.id = 0xdeadbeef; a.use = 2;
	a.secmark = 9;
	a.protoinfo = CTA_PROTOINFO_TCP;
	a.tcp.present = 0x3e;
	a.tcp.state = CT_TCP_ESTABLISHED; a.tcp.wscale_orig = 7; a.tcp.wscale_reply = 8;
	a.tcp.flags_orig = 0x23; a.tcp.mask_orig = 0x23;
	a.tcp.flags_reply = 0x22; a.tcp.mask_reply = 0x22;
	a.counters[0].packets = 1ull << 40; a.counters[0].bytes = 5;
	a.counters[1].packets = 2; a.counters[1].bytes = 1ull << 33;
	a.ts_present = 6; a.ts_start = 1; a.ts_stop = 2; a.ts_event = 3;
	strcpy(a.helper, "ftp");
	strcpy(a.secctx, "system_u:object_r:unlabeled_t:s0");
	a.labels_len = 16; a.labels[0] = 1; a.labels[15] = 0x80;
	a.labels_mask_len = 4; memset(a.labels_mask, 0xff, 4);
	a.nat_src.present = (1u << CTA_NAT_V6_MINIP) | (1u << CTA_NAT_V6_MAXIP) |
			    (1u << CTA_NAT_PROTO);
	a.nat_src.family = AF_INET6;
	a.nat_src.min_ip.b[0] = 0xfe; a.nat_src.max_ip.b[0] = 0xff;
	a.nat_src.port_min = 1024; a.nat_src.port_max = 2048;
	a.nat_dst.present = (1u << CTA_NAT_V4_MINIP);
	a.nat_dst.family = AF_INET;
	a.nat_dst.min_ip.ip = ip4("10.0.0.1");
	a.seqadj[0] = (struct ctnl_seqadj){ 1, 2, 3 };
	a.seqadj[1] = (struct ctnl_seqadj){ 4, 5, 6 };
	a.synproxy_present = 0xe; a.synproxy_isn = 1; a.synproxy_its = 2; a.synproxy_tsoff = 3;
	a.filter_orig = CT_TF_IP_SRC | CT_TF_ZONE; a.filter_reply = CT_TF_ALL;

	for (int layout = CTNL_LAYOUT_DUMP; layout <= CTNL_LAYOUT_REQUEST; layout++) {
		nlh = ctnl_msg_start(buf, sizeof(buf), 0x100, 0, 0, 0, AF_INET6, 0, 0);
		assert_int_equal(ctnl_ct_put(nlh, sizeof(buf), &a, layout), 0);
		assert_int_equal(ctnl_ct_parse(nlh, &b, NULL), 0);
		assert_memory_equal(&a, &b, sizeof(a));
	}

	/* SCTP protoinfo */
	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.present = CTNL_HAS(CTA_PROTOINFO);
	a.protoinfo = CTA_PROTOINFO_SCTP;
	a.sctp.present = 0xe; a.sctp.state = CT_SCTP_COOKIE_WAIT;
	a.sctp.vtag_orig = 0x01020304; a.sctp.vtag_reply = 5;
	nlh = ctnl_msg_start(buf, sizeof(buf), 0x100, 0, 0, 0, AF_INET, 0, 0);
	assert_int_equal(ctnl_ct_put(nlh, sizeof(buf), &a, CTNL_LAYOUT_REQUEST), 0);
	assert_int_equal(ctnl_ct_parse(nlh, &b, NULL), 0);
	assert_memory_equal(&a, &b, sizeof(a));

	/* the be32 counters of old kernels are accepted */
	{
		uint8_t c[] = { 20, 0, CTA_COUNTERS_ORIG, 0x80,
				8, 0, CTA_COUNTERS32_PACKETS, 0, 0, 0, 0, 9,
				8, 0, CTA_COUNTERS32_BYTES, 0, 0, 0, 1, 0 };
		nlh = ctnl_msg_start(buf, sizeof(buf), 0x100, 0, 0, 0, AF_INET, 0, 0);
		memcpy(buf + 20, c, sizeof(c));
		nlh->nlmsg_len = 20 + sizeof(c);
		assert_int_equal(ctnl_ct_parse(nlh, &b, NULL), 0);
		assert_int_equal(b.counters[0].packets, 9);
		assert_int_equal(b.counters[0].bytes, 256);
	}
}

/*
 * Expectation object: the 216-byte `conntrack -L expect` object of
 * ctnetlink-compat.md section 11 (ftp PASV on loopback), built from its
 * documented layout, and round-tripped.
 */
static void test_expectation(void **state)
{
	struct ctnl_exp e, f;
	uint8_t buf[512];
	struct nlmsghdr *nlh;
	int bad = -1;
	(void)state;

	memset(&e, 0, sizeof(e));
	e.family = AF_INET;
	e.present = CTNL_HAS(CTA_EXPECT_TUPLE) | CTNL_HAS(CTA_EXPECT_MASK) |
		    CTNL_HAS(CTA_EXPECT_MASTER) | CTNL_HAS(CTA_EXPECT_TIMEOUT) |
		    CTNL_HAS(CTA_EXPECT_ID) | CTNL_HAS(CTA_EXPECT_FLAGS) |
		    CTNL_HAS(CTA_EXPECT_CLASS) | CTNL_HAS(CTA_EXPECT_HELP_NAME);
	e.tuple.t.l3num = AF_INET; e.tuple.t.l4num = IPPROTO_TCP;
	e.tuple.t.src.ip = e.tuple.t.dst.ip = ip4("127.0.0.1");
	e.tuple.t.dport = 10001;
	e.mask.t.l3num = AF_INET; e.mask.t.l4num = IPPROTO_TCP;
	e.mask.t.src.ip = e.mask.t.dst.ip = 0xffffffff;
	e.mask.t.dport = 0xffff;
	e.master.t = e.tuple.t;
	e.master.t.sport = 53066; e.master.t.dport = 21;
	e.timeout = 299; e.id = 0x12345678;
	strcpy(e.helper, "ftp");

	nlh = ctnl_msg_start(buf, sizeof(buf), CTNL_MSG(NFNL_SUBSYS_CTNETLINK_EXP,
			     IPCTNL_MSG_EXP_NEW), NLM_F_MULTI, 0, 0, AF_INET, 0, 0);
	assert_int_equal(ctnl_exp_put(nlh, sizeof(buf), &e), 0);
	assert_int_equal(nlh->nlmsg_len, 216);
	/* layout: TUPLE at 20, MASK at 72, MASTER at 124, TIMEOUT at 176 */
	assert_int_equal(buf[22], CTA_EXPECT_TUPLE);
	assert_int_equal(buf[23], 0x80);
	assert_int_equal(buf[74], CTA_EXPECT_MASK);
	assert_int_equal(buf[126], CTA_EXPECT_MASTER);
	assert_int_equal(buf[178], CTA_EXPECT_TIMEOUT);
	assert_int_equal(buf[186], CTA_EXPECT_ID);
	assert_int_equal(buf[194], CTA_EXPECT_FLAGS);
	assert_int_equal(buf[202], CTA_EXPECT_CLASS);
	assert_int_equal(buf[210], CTA_EXPECT_HELP_NAME);
	assert_memory_equal(buf + 212, "ftp", 4);

	assert_int_equal(ctnl_exp_parse(nlh, &f, NULL), 0);
	/* the tuple fields were all present on the wire */
	e.tuple.present = e.mask.present = e.master.present =
		CT_TF_IP_SRC | CT_TF_IP_DST | CT_TF_PROTO_NUM | CT_TF_SPORT | CT_TF_DPORT;
	e.version = 0;
	assert_memory_equal(&e, &f, sizeof(e));

	/* with NAT, zone and fn, out and back */
	e.present |= CTNL_HAS(CTA_EXPECT_NAT) | CTNL_HAS(CTA_EXPECT_ZONE) |
		     CTNL_HAS(CTA_EXPECT_FN);
	e.zone = 3; e.nat_present = 6; e.nat_dir = 1; e.nat_tuple = e.tuple;
	strcpy(e.fn, "nf_nat_follow_master");
	nlh = ctnl_msg_start(buf, sizeof(buf), CTNL_MSG(2, 0), 0, 0, 0, AF_INET, 0, 0);
	assert_int_equal(ctnl_exp_put(nlh, sizeof(buf), &e), 0);
	assert_int_equal(ctnl_exp_parse(nlh, &f, NULL), 0);
	assert_memory_equal(&e, &f, sizeof(e));
	assert_int_equal(ctnl_exp_put(nlh, nlh->nlmsg_len + 8, &e), -EMSGSIZE);

	/* a 2-byte timeout is a policy violation */
	nlh = ctnl_msg_start(buf, sizeof(buf), CTNL_MSG(2, 0), 0, 0, 0, AF_INET, 0, 0);
	{
		uint8_t t[8] = { 6, 0, CTA_EXPECT_TIMEOUT, 0, 1, 2, 0, 0 };
		memcpy(buf + 20, t, 8);
		nlh->nlmsg_len = 28;
		assert_int_equal(ctnl_exp_parse(nlh, &f, &bad), -ERANGE);
		assert_int_equal(bad, 20);
	}
	/* event groups of expectation messages */
	nlh = ctnl_msg_start(buf, sizeof(buf), CTNL_MSG(2, IPCTNL_MSG_EXP_NEW),
			     NLM_F_CREATE | NLM_F_EXCL, 0, 0, AF_INET, 0, 0);
	assert_int_equal(ctsim_wire_event_group(buf, 20), NFNLGRP_CONNTRACK_EXP_NEW);
	nlh->nlmsg_type = CTNL_MSG(2, IPCTNL_MSG_EXP_DELETE);
	assert_int_equal(ctsim_wire_event_group(buf, 20), NFNLGRP_CONNTRACK_EXP_DESTROY);
}

/* ---------------------------------------------------------------------- */
/* Names and inversion                                                     */

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(ct_tcp_state_name(CT_TCP_SYN_SENT2), "SYN_SENT2");
	assert_string_equal(ct_tcp_state_name(CT_TCP_TIME_WAIT), "TIME_WAIT");
	assert_string_equal(ct_tcp_state_name(200), "UNKNOWN");
	assert_string_equal(ct_sctp_state_name(CT_SCTP_HEARTBEAT_SENT), "HEARTBEAT_SENT");
	assert_int_equal(ct_tcp_state_parse("LISTEN"), 9);
	assert_int_equal(ct_tcp_state_parse("established"), 3);
	assert_int_equal(ct_tcp_state_parse("bogus"), -1);
	assert_string_equal(ct_l4proto_name(IPPROTO_ICMPV6), "icmpv6");
	assert_string_equal(ct_l4proto_name(IPPROTO_UDPLITE), "udplite");
	assert_string_equal(ct_l4proto_name(200), "unknown");
	assert_string_equal(ct_status_bit_name(1), "SEEN_REPLY");
	assert_string_equal(ct_status_bit_name(15), "HW_OFFLOAD");
	assert_null(ct_status_bit_name(16));
}

static void test_invert(void **state)
{
	struct ct_tuple a, b;
	struct ctnl_ct o;
	(void)state;

	/* every kernel dump object: reply = invert(orig) unless NATed */
	for (size_t i = 0; i < NVEC; i++) {
		const struct nlmsghdr *nlh = (const void *)kernel_vectors[i].data;

		if (strncmp(kernel_vectors[i].name, "a_c14_rx", 8) ||
		    !is_ct_object(nlh))
			continue;
		assert_int_equal(ctnl_ct_parse(nlh, &o, NULL), 0);
		if (o.status & (CT_S_SRC_NAT | CT_S_DST_NAT))
			continue;
		assert_true(ct_tuple_invert(&o.orig.t, &b));
		assert_memory_equal(&b, &o.reply.t, sizeof(b));
	}

	memset(&a, 0, sizeof(a));
	a.l3num = AF_INET;
	a.l4num = IPPROTO_ICMP;
	a.sport = 77;
	for (int t = 0; t < 256; t++) {
		a.icmp_type = (uint8_t)t;
		bool ok = ct_tuple_invert(&a, &b);
		bool want = t == 0 || t == 8 || (t >= 13 && t <= 18);
		assert_int_equal(ok, want);
	}
	a.icmp_type = 13;
	assert_true(ct_tuple_invert(&a, &b));
	assert_int_equal(b.icmp_type, 14);
	assert_int_equal(b.sport, 77);

	a.l3num = AF_INET6;
	a.l4num = IPPROTO_ICMPV6;
	for (int t = 0; t < 256; t++) {
		a.icmp_type = (uint8_t)t;
		bool want = t == 128 || t == 129 || t == 139 || t == 140;
		assert_int_equal(ct_tuple_invert(&a, &b), want);
	}
	a.icmp_type = 139;
	assert_true(ct_tuple_invert(&a, &b));
	assert_int_equal(b.icmp_type, 140);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all),
		cmocka_unit_test(test_ack_done),
		cmocka_unit_test(test_error_uncapped),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_request_fields),
		cmocka_unit_test(test_dump_fields),
		cmocka_unit_test(test_packet_entry),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_msg_check),
		cmocka_unit_test(test_emsgsize),
		cmocka_unit_test(test_full_roundtrip),
		cmocka_unit_test(test_expectation),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_invert),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
