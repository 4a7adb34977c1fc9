/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_common.h — what the packet and ctnetlink fuzz targets share: the
 * offline core of `ctsim replay` and the scenario runner (ctsim/replay/
 * harness.h: settings, virtual clock, events, here a small table, behind a
 * router ct-c0 (clients) -> ct-s0 (servers) forwarding everything), under a
 * ruleset that attaches every helper on its usual port; and a packet
 * generator that
 * turns (service, direction, payload) into well-formed packets on flows
 * that are already established, so that the fuzzer spends its time in the
 * helpers' parsers instead of rediscovering the TCP handshake.
 *
 * Every generated packet is handed to the router in a heap block of exactly
 * its length: ASan then reports any read past the packet's end.
 */
#ifndef CTSIM_TESTS_FUZZ_COMMON_H
#define CTSIM_TESTS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "ctsim/core/pipeline.h"
#include "ctsim/hooks/router.h"
#include "ctsim/hooks/ruleset.h"
#include "helpers/helpers.h"
#include "ctsim/replay/harness.h"

/* The helpers, registered before any target parses a ruleset (libFuzzer's
 * main and replay_main.c alike). */
__attribute__((constructor)) static void fz_register_helpers(void)
{
	ct_helpers_register_builtin();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every helper, attached in prerouting (before conntrack) by port. */
static const char fz_ruleset_text[] =
	"table inet fuzz {\n"
	"\tct helper ftp { type \"ftp\" protocol tcp; }\n"
	"\tct helper tftp { type \"tftp\" protocol udp; }\n"
	"\tct helper irc { type \"irc\" protocol tcp; }\n"
	"\tct helper pptp { type \"pptp\" protocol tcp; }\n"
	"\tct helper sipu { type \"sip\" protocol udp; }\n"
	"\tct helper sipt { type \"sip\" protocol tcp; }\n"
	"\tct helper amanda { type \"amanda\" protocol udp; }\n"
	"\tct helper sane { type \"sane\" protocol tcp; }\n"
	"\tct helper nbns { type \"netbios-ns\" protocol udp; }\n"
	"\tct helper snmp { type \"snmp\" protocol udp; }\n"
	"\tchain pre {\n"
	"\t\ttype filter hook prerouting priority raw; policy accept;\n"
	"\t\ttcp dport 21 ct helper set \"ftp\"\n"
	"\t\tudp dport 69 ct helper set \"tftp\"\n"
	"\t\ttcp dport 6667 ct helper set \"irc\"\n"
	"\t\ttcp dport 1723 ct helper set \"pptp\"\n"
	"\t\tudp dport 5060 ct helper set \"sipu\"\n"
	"\t\ttcp dport 5060 ct helper set \"sipt\"\n"
	"\t\tudp dport 10080 ct helper set \"amanda\"\n"
	"\t\ttcp dport 6566 ct helper set \"sane\"\n"
	"\t\tudp dport 137 ct helper set \"nbns\"\n"
	"\t\tudp dport 161 ct helper set \"snmp\"\n"
	"\t}\n"
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tct state invalid counter\n"
	"\t\tct state established,related counter accept\n"
	"\t}\n"
	"}\n";

/* The services of the generator, in the order of the selector's values. */
struct fz_service {
	uint8_t proto;
	uint16_t port;
};

static const struct fz_service fz_services[] = {
	{ IPPROTO_TCP, 21 },	{ IPPROTO_UDP, 69 },	{ IPPROTO_TCP, 6667 },
	{ IPPROTO_TCP, 1723 },	{ IPPROTO_UDP, 5060 },	{ IPPROTO_TCP, 5060 },
	{ IPPROTO_UDP, 10080 },	{ IPPROTO_TCP, 6566 },	{ IPPROTO_UDP, 137 },
	{ IPPROTO_UDP, 161 },	{ IPPROTO_TCP, 80 },	/* 80: a flow without a helper */
};
#define FZ_NSERVICES (sizeof(fz_services) / sizeof(fz_services[0]))

/* One generated flow per service and family. */
struct fz_flow {
	bool up;		/* opened (TCP: handshake done) */
	bool orig_seen;		/* the client has sent (UDP: the entry exists) */
	uint16_t cport;		/* the client's port */
	uint32_t cseq, sseq;	/* next sequence numbers, client and server */
};

struct fz_core {
	struct ct_offline h;	/* the offline core of replay and scenarios */
	struct fz_flow flows[FZ_NSERVICES][2];
	uint16_t next_cport;
};

#define FZ_EPOCH_NS (1700000000ull * CT_NSEC_PER_SEC)

/* The ruleset is parsed once: parsing it is not what these targets test,
 * and evaluation only changes its counters. */
static inline struct ruleset *fz_ruleset(void)
{
	static struct ruleset *rs;
	struct rs_errors errs = { 0 };

	if (!rs) {
		rs = ruleset_parse_string("fuzz", fz_ruleset_text, &errs);
		if (!rs) {
			rs_errors_print(&errs, stderr);
			abort();
		}
		rs_errors_free(&errs);
	}
	return rs;
}

/* A small table (allocating the default 64k buckets per input would be
 * most of the run time); @checksum: nf_conntrack_checksum. */
static inline void fz_core_init(struct fz_core *f, bool checksum)
{
	memset(f, 0, sizeof(*f));
	ct_offline_init(&f->h);
	f->h.settings.buckets = 64;
	f->h.settings.max = 256;
	f->h.settings.checksum = checksum;
	if (ct_offline_start(&f->h, FZ_EPOCH_NS, 0, 4242, fz_ruleset()) < 0)
		abort();
	f->h.events.mode = 1;	/* nf_conntrack_events=1: every entry has events */
	f->next_cport = 40000;
}

static inline void fz_core_fini(struct fz_core *f)
{
	ct_offline_fini(&f->h);
}

static inline void fz_advance(struct fz_core *f, unsigned secs)
{
	ct_clock_advance(&f->h.clock, (uint64_t)secs * CT_NSEC_PER_SEC);
	ct_table_tick(&f->h.table);
}

/* Hand @len bytes to the router on @iif (0: client side, 1: server side)
 * from a heap block of exactly that size. */
static inline int fz_receive(struct fz_core *f, int iif, const uint8_t *pkt, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	int v;

	if (!buf)
		abort();
	memcpy(buf, pkt, len);
	v = ct_offline_receive(&f->h, iif, buf, len, ct_clock_now(&f->h.clock));
	free(buf);
	return v;
}

static inline void fz_w16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void fz_w32(uint8_t *b, uint32_t v)
{
	fz_w16(b, (uint16_t)(v >> 16));
	fz_w16(b + 2, (uint16_t)v);
}

/* One packet of flow @svc (IPv6 if @v6) in direction @reply, TCP @flags. */
static inline int fz_emit(struct fz_core *f, unsigned svc, bool v6, bool reply, uint8_t flags,
			  const uint8_t *payload, size_t plen)
{
	static uint8_t l4[CT_PKT_MAX], pkt[CT_PKT_MAX];
	const struct fz_service *s = &fz_services[svc];
	struct fz_flow *fl = &f->flows[svc][v6];
	union ct_addr cli, srv;
	size_t hl = s->proto == IPPROTO_TCP ? 20 : 8;
	int n;

	memset(&cli, 0, sizeof(cli));
	memset(&srv, 0, sizeof(srv));
	if (v6) {
		inet_pton(AF_INET6, "fd66:1::2", cli.b);
		inet_pton(AF_INET6, "fd66:2::2", srv.b);
	} else {
		inet_pton(AF_INET, "10.66.1.2", &cli.ip);
		inet_pton(AF_INET, "10.66.2.2", &srv.ip);
	}
	if (plen > sizeof(l4) - hl - 60)
		plen = sizeof(l4) - hl - 60;
	memset(l4, 0, hl);
	fz_w16(l4, reply ? s->port : fl->cport);
	fz_w16(l4 + 2, reply ? fl->cport : s->port);
	if (s->proto == IPPROTO_TCP) {
		uint32_t *seq = reply ? &fl->sseq : &fl->cseq;

		fz_w32(l4 + 4, *seq);
		fz_w32(l4 + 8, reply ? fl->cseq : fl->sseq);
		l4[12] = 5 << 4;
		l4[13] = flags;
		fz_w16(l4 + 14, 65535);
		*seq += (uint32_t)plen + ((flags & (CT_TCP_SYN | CT_TCP_FIN)) ? 1 : 0);
	} else {
		fz_w16(l4 + 4, (uint16_t)(hl + plen));
	}
	if (plen)
		memcpy(l4 + hl, payload, plen);
	fl->orig_seen |= !reply;
	n = ct_pkt_build(pkt, sizeof(pkt), v6 ? AF_INET6 : AF_INET, reply ? &srv : &cli,
			 reply ? &cli : &srv, s->proto, l4, hl + plen);
	if (n <= 0)
		return CT_DROP;
	return fz_receive(f, reply, pkt, (size_t)n);
}

/* Start flow @svc afresh: a new client port, and for TCP the handshake. */
static inline void fz_flow_open(struct fz_core *f, unsigned svc, bool v6)
{
	struct fz_flow *fl = &f->flows[svc][v6];

	fl->cport = f->next_cport++;
	fl->cseq = 1000;
	fl->sseq = 5000;
	fl->up = true;
	fl->orig_seen = false;
	if (fz_services[svc].proto == IPPROTO_TCP) {
		fz_emit(f, svc, v6, false, CT_TCP_SYN, NULL, 0);
		fz_emit(f, svc, v6, true, CT_TCP_SYN | CT_TCP_ACK, NULL, 0);
		fz_emit(f, svc, v6, false, CT_TCP_ACK, NULL, 0);
	}
}

/* @payload on flow @svc, opened first if need be. */
static inline int fz_send(struct fz_core *f, unsigned svc, bool v6, bool reply,
			  const uint8_t *payload, size_t plen)
{
	if (!f->flows[svc][v6].up)
		fz_flow_open(f, svc, v6);
	/* A UDP reply needs the client's datagram first, or it starts an
	 * entry of its own, without the helper (an empty one, as
	 * tests/test_helper_corpus.py sends). */
	if (reply && !f->flows[svc][v6].orig_seen)
		fz_emit(f, svc, v6, false, CT_TCP_ACK, NULL, 0);
	return fz_emit(f, svc, v6, reply, CT_TCP_ACK | CT_TCP_PSH, payload, plen);
}

#endif /* CTSIM_TESTS_FUZZ_COMMON_H */
