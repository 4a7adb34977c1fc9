/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pipeline.c — the tracking pipeline (ctsim/core/pipeline.c and the
 * trackers) on a virtual clock: packets built with ct_pkt_build() go
 * through ct_in(PREROUTING) -> ct_confirm(POSTROUTING) -> ct_skb_done(),
 * and the tests check entries, ct state, timeouts, statistics and the
 * events a subscriber sees (one per packet, with the right bits), against
 * the kernel behaviour of shared reference §2 and the 6.18 oracle samples.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include "ctsim/core/pipeline.h"
#include "harness.h"

#define MAX_EV 32

struct ev_rec {
	uint32_t mask;
	uint32_t status;
	uint32_t timeout;
	uint8_t proto_state;
};

struct fixture {
	struct ct_harness h;
	struct ev_rec evs[MAX_EV];
	unsigned nev;
	struct conn *last;		/* the entry of the last packet (if confirmed) */
	enum ct_info last_info;
	const char *last_reason;
};

static void record(void *arg, const struct ct_event *e)
{
	struct fixture *f = arg;

	if (f->nev < MAX_EV) {
		struct ev_rec *r = &f->evs[f->nev];

		r->mask = e->mask;
		r->status = e->ct->status;
		r->timeout = conn_timeout_left(&f->h.table, e->ct);
		r->proto_state = e->ct->proto.tcp.state;
	}
	f->nev++;
}

static int setup_with(void **state, uint32_t buckets, uint32_t max)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(ct_harness_init(&f.h, buckets, max, 4242), 0);
	ct_events_subscribe(&f.h.events, record, &f);
	*state = &f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, 64, 1000);
}

static int setup_small(void **state)
{
	return setup_with(state, 1, 2);	/* one bucket: early drop sees everything */
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ct_harness_fini(&f->h);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Packets                                                                 */

#define A "10.0.0.1"
#define B "10.0.0.2"
#define C "10.0.0.3"


static struct h_packet udp(const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	uint8_t l4[12] = { 0 };

	h_w16(l4, sport);
	h_w16(l4 + 2, dport);
	h_w16(l4 + 4, sizeof(l4));
	memcpy(l4 + 8, "ping", 4);
	return h_build(src, dst, IPPROTO_UDP, l4, sizeof(l4));
}

static struct h_packet icmp(const char *src, const char *dst, uint8_t type, uint16_t id)
{
	uint8_t l4[16] = { 0 };

	l4[0] = type;
	h_w16(l4 + 4, id);
	h_w16(l4 + 6, 1);
	return h_build(src, dst, IPPROTO_ICMP, l4, sizeof(l4));
}

/* An ICMP error from @src to @dst quoting @inner (its IP header + 8 bytes). */
static struct h_packet icmp_error(const char *src, const char *dst, uint8_t type, uint8_t code,
				const struct h_packet *inner)
{
	uint8_t l4[8 + 28] = { 0 };

	l4[0] = type;
	l4[1] = code;
	memcpy(l4 + 8, inner->buf, 28);
	return h_build(src, dst, IPPROTO_ICMP, l4, sizeof(l4));
}

/* A TCP segment with sequence and acknowledgement numbers (the tracker
 * checks them against the windows: tcp_in_window()). */
static struct h_packet tcp_seq(const char *src, const char *dst, uint16_t sport, uint16_t dport,
			     uint8_t flags, uint32_t seq, uint32_t ack)
{
	uint8_t l4[20] = { 0 };

	h_w16(l4, sport);
	h_w16(l4 + 2, dport);
	h_w32(l4 + 4, seq);
	h_w32(l4 + 8, ack);
	l4[12] = 5 << 4;
	l4[13] = flags;
	h_w16(l4 + 14, 65535);
	return h_build(src, dst, IPPROTO_TCP, l4, sizeof(l4));
}

static struct h_packet tcp(const char *src, const char *dst, uint16_t sport, uint16_t dport,
			 uint8_t flags)
{
	uint8_t l4[20] = { 0 };

	h_w16(l4, sport);
	h_w16(l4 + 2, dport);
	h_w32(l4 + 4, 1000);
	h_w32(l4 + 8, (flags & CT_TCP_ACK) ? 2000 : 0);
	l4[12] = 5 << 4;
	l4[13] = flags;
	h_w16(l4 + 14, 65535);
	return h_build(src, dst, IPPROTO_TCP, l4, sizeof(l4));
}

static struct h_packet gre(const char *src, const char *dst)
{
	uint8_t l4[8] = { 0, 0, 0x08, 0x00, 0x45, 0, 0, 0 };

	return h_build(src, dst, IPPROTO_GRE, l4, sizeof(l4));
}

/* An SCTP packet with one chunk; INIT/INIT_ACK get @tag as init_tag. */
static struct h_packet sctp(const char *src, const char *dst, uint16_t sport, uint16_t dport,
			  uint32_t vtag, uint8_t chunk, uint32_t tag)
{
	uint8_t l4[12 + 20] = { 0 };
	size_t clen = (chunk == 1 || chunk == 2) ? 20 : 4;

	h_w16(l4, sport);
	h_w16(l4 + 2, dport);
	h_w32(l4 + 4, vtag);
	l4[12] = chunk;
	h_w16(l4 + 14, (uint16_t)clen);
	if (clen == 20) {
		h_w32(l4 + 16, tag);		/* init_tag */
		h_w32(l4 + 20, 65536);		/* a_rwnd */
		h_w16(l4 + 24, 1);		/* streams */
		h_w16(l4 + 26, 1);
		h_w32(l4 + 28, 1);		/* initial TSN */
	}
	return h_build(src, dst, IPPROTO_SCTP, l4, 12 + clen);
}

/* ---------------------------------------------------------------------- */
/* Driving the hooks                                                       */

/* PREROUTING conntrack, then the confirm hook, then the end of the packet.
 * Returns the `ct state` the ruleset would have seen. */
static const char *run_zone(struct fixture *f, struct h_packet p, const struct ct_zone *zone,
			    int *verdict)
{
	static char state[16];
	struct ct_skb skb;
	int v;

	ct_skb_init(&skb, p.buf, p.len);
	if (zone)
		skb.zone = *zone;
	v = ct_in(&f->h.core, &skb, CT_HOOK_PREROUTING);
	snprintf(state, sizeof(state), "%s", ct_skb_state_name(&skb));
	f->last_info = skb.ctinfo;
	f->last_reason = skb.invalid_reason;
	if (v == CT_ACCEPT)
		v = ct_confirm(&f->h.core, &skb);
	f->last = skb.ct && (skb.ct->status & CT_S_CONFIRMED) ? skb.ct : NULL;
	ct_skb_done(&f->h.core, &skb, v != CT_ACCEPT);
	if (verdict)
		*verdict = v;
	return state;
}

static const char *run(struct fixture *f, struct h_packet p)
{
	int v;
	const char *s = run_zone(f, p, NULL, &v);

	assert_int_equal(v, CT_ACCEPT);
	return s;
}

/* ---------------------------------------------------------------------- */
/* UDP                                                                     */

static void test_udp_stream(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	assert_string_equal(run(f, udp(A, B, 5000, 53)), "new");
	c = f->last;
	assert_non_null(c);
	assert_int_equal(f->h.table.count, 1);
	assert_false(c->status & CT_S_SEEN_REPLY);
	assert_int_equal(f->nev, 1);
	assert_int_equal(f->evs[0].mask, CT_EV(NEW));
	assert_int_equal(f->evs[0].timeout, 30);

	h_advance(&f->h, 1);
	assert_string_equal(run(f, udp(B, A, 53, 5000)), "established");
	assert_int_equal(f->last_info, CT_INFO_ESTABLISHED_REPLY);
	assert_true(c->status & CT_S_SEEN_REPLY);
	assert_false(c->status & CT_S_ASSURED);
	assert_int_equal(f->nev, 2);
	assert_int_equal(f->evs[1].mask, CT_EV(REPLY));
	assert_int_equal(f->evs[1].timeout, 30);

	/* within 2 s of creation: still 30 s, not ASSURED, no event */
	assert_string_equal(run(f, udp(A, B, 5000, 53)), "established");
	assert_int_equal(f->last_info, CT_INFO_ESTABLISHED);
	assert_false(c->status & CT_S_ASSURED);
	assert_int_equal(f->nev, 2);

	h_advance(&f->h, 2);
	assert_string_equal(run(f, udp(A, B, 5000, 53)), "established");
	assert_true(c->status & CT_S_ASSURED);
	assert_int_equal(f->nev, 3);
	assert_int_equal(f->evs[2].mask, CT_EV(ASSURED));
	assert_int_equal(f->evs[2].timeout, 120);
	assert_int_equal(conn_timeout_left(&f->h.table, c), 120);

	/* later packets: 120 s, no more events */
	h_advance(&f->h, 10);
	run(f, udp(B, A, 53, 5000));
	assert_int_equal(f->nev, 3);
	assert_int_equal(conn_timeout_left(&f->h.table, c), 120);
	/* Linux 6.18 counts no insert on the packet path (oracle: insert=0). */
	assert_int_equal(f->h.table.stats.cpu.insert, 0);
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);
}

static void test_udp_bad_checksum(void **state)
{
	struct fixture *f = *state;
	struct h_packet p = udp(A, B, 5000, 53);

	p.buf[20 + 8] ^= 0xff;		/* corrupt the payload */
	assert_string_equal(run(f, p), "invalid");
	assert_string_equal(f->last_reason, "bad checksum");
	assert_int_equal(f->h.table.stats.cpu.invalid, 1);
	assert_int_equal(f->h.table.count, 0);
	assert_int_equal(f->nev, 0);

	/* checksum verification off: tracked */
	f->h.settings.checksum = 0;
	assert_string_equal(run(f, p), "new");
	assert_int_equal(f->h.table.count, 1);
}

static void test_acct(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	f->h.settings.acct = 1;
	run(f, udp(A, B, 5000, 53));
	c = f->last;
	run(f, udp(A, B, 5000, 53));
	run(f, udp(B, A, 53, 5000));
	assert_non_null(c->ext);
	assert_true(c->ext->has & CONN_EXT_ACCT);
	assert_int_equal(c->ext->counters[CT_DIR_ORIG].packets, 2);
	assert_int_equal(c->ext->counters[CT_DIR_ORIG].bytes, 2 * (20 + 12));
	assert_int_equal(c->ext->counters[CT_DIR_REPLY].packets, 1);
	assert_int_equal(c->ext->counters[CT_DIR_REPLY].bytes, 20 + 12);
}

/* ---------------------------------------------------------------------- */
/* ICMP                                                                    */

static void test_icmp_echo(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	assert_string_equal(run(f, icmp(A, B, 8, 77)), "new");
	c = f->last;
	assert_int_equal(conn_timeout_left(&f->h.table, c), 30);
	h_advance(&f->h, 5);
	assert_string_equal(run(f, icmp(B, A, 0, 77)), "established");
	assert_int_equal(conn_timeout_left(&f->h.table, c), 30);	/* refreshed */
	assert_true(c->status & CT_S_SEEN_REPLY);
	assert_false(c->status & CT_S_ASSURED);			/* never */
	assert_int_equal(f->nev, 2);
	assert_int_equal(f->evs[1].mask, CT_EV(REPLY));
	/* a duplicate reply: the entry is still there */
	assert_string_equal(run(f, icmp(B, A, 0, 77)), "established");
	assert_int_equal(f->h.table.count, 1);
}

static void test_icmp_unsolicited_reply(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(run(f, icmp(B, A, 0, 99)), "invalid");
	assert_int_equal(f->h.table.stats.cpu.invalid, 1);
	assert_int_equal(f->h.table.count, 0);
	assert_int_equal(f->nev, 0);
	/* a type that cannot be inverted (router advertisement, 9) */
	assert_string_equal(run(f, icmp(B, A, 9, 0)), "invalid");
	assert_int_equal(f->h.table.stats.cpu.invalid, 2);
	/* a type above 18: error++, not invalid++ */
	assert_string_equal(run(f, icmp(B, A, 40, 0)), "invalid");
	assert_int_equal(f->h.table.stats.cpu.error, 1);
	assert_int_equal(f->h.table.stats.cpu.invalid, 2);
}

static void test_icmp_unreach_related(void **state)
{
	struct fixture *f = *state;
	struct h_packet req = udp(A, B, 40000, 9999), rep = udp(B, A, 9999, 40000);
	struct conn *c;

	run(f, req);
	c = f->last;
	h_advance(&f->h, 5);
	/* B answers port unreachable, quoting A's datagram */
	assert_string_equal(run(f, icmp_error(B, A, 3, 3, &req)), "related");
	assert_int_equal(f->last_info, CT_INFO_RELATED_REPLY);
	assert_ptr_equal(f->last, c);
	assert_false(c->status & CT_S_SEEN_REPLY);		/* stays [UNREPLIED] */
	assert_int_equal(conn_timeout_left(&f->h.table, c), 25);	/* not refreshed */
	assert_int_equal(f->nev, 1);				/* no event */
	assert_int_equal(f->h.table.stats.cpu.error, 0);
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);

	/* a router on the way (C) drops one of B's answers and tells B:
	 * the quoted packet is reply-direction, so the error is original */
	assert_string_equal(run(f, icmp_error(C, B, 11, 0, &rep)), "related");
	assert_int_equal(f->last_info, CT_INFO_RELATED);

	/* outer destination that is not the flow's: INVALID (error++) */
	assert_string_equal(run(f, icmp_error(B, C, 3, 3, &req)), "invalid");
	assert_int_equal(f->h.table.stats.cpu.error, 1);
}

static void test_icmp_error_forged(void **state)
{
	struct fixture *f = *state;
	struct h_packet nothing = udp(A, B, 1234, 4321);

	assert_string_equal(run(f, icmp_error(B, A, 3, 3, &nothing)), "invalid");
	assert_int_equal(f->h.table.stats.cpu.error, 1);
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);
	assert_int_equal(f->h.table.count, 0);
}

/* ---------------------------------------------------------------------- */
/* Unconfirmed entries, table full, clashes, zones                         */

static void test_unconfirmed_drop(void **state)
{
	struct fixture *f = *state;
	struct h_packet p = udp(A, B, 5000, 53);
	struct ct_skb skb;

	ct_skb_init(&skb, p.buf, p.len);
	assert_int_equal(ct_in(&f->h.core, &skb, CT_HOOK_PREROUTING), CT_ACCEPT);
	assert_non_null(skb.ct);
	assert_int_equal(f->h.table.count, 1);	/* counted while unconfirmed */
	ct_skb_done(&f->h.core, &skb, true);	/* the ruleset dropped it */
	assert_int_equal(f->h.table.count, 0);
	assert_int_equal(f->nev, 0);
	assert_int_equal(f->h.table.stats.cpu.insert, 0);
}

static void test_table_full(void **state)
{
	struct fixture *f = *state;
	int v;

	run(f, udp(A, B, 1, 53));
	run(f, udp(A, B, 2, 53));
	assert_int_equal(f->h.table.count, 2);
	/* full: the non-ASSURED entries of the bucket are dropped */
	assert_string_equal(run(f, udp(A, B, 3, 53)), "new");
	assert_int_equal(f->h.table.stats.cpu.early_drop, 2);
	assert_int_equal(f->h.table.count, 1);
	assert_int_equal(f->evs[f->nev - 2].mask, CT_EV(DESTROY));

	/* make everything ASSURED: nothing can be dropped, the packet is */
	run(f, udp(A, B, 4, 53));
	run(f, udp(B, A, 53, 3));
	run(f, udp(B, A, 53, 4));
	h_advance(&f->h, 3);
	run(f, udp(A, B, 3, 53));
	run(f, udp(A, B, 4, 53));
	assert_int_equal(f->h.table.count, 2);
	run_zone(f, udp(A, B, 5, 53), NULL, &v);
	assert_int_equal(v, CT_DROP);
	assert_int_equal(f->h.table.stats.cpu.drop, 1);
	assert_int_equal(f->h.table.count, 2);
}

static void test_clash(void **state)
{
	struct fixture *f = *state;
	struct h_packet p1 = udp(A, B, 5000, 53), p2 = udp(A, B, 5000, 53);
	struct h_packet t1 = tcp(A, B, 6000, 80, CT_TCP_SYN), t2 = tcp(A, B, 6000, 80, CT_TCP_SYN);
	struct ct_skb s1, s2;
	struct conn *winner;

	f->h.settings.acct = 1;
	/* two packets of one new UDP flow race to the confirm hook */
	ct_skb_init(&s1, p1.buf, p1.len);
	ct_skb_init(&s2, p2.buf, p2.len);
	assert_int_equal(ct_in(&f->h.core, &s1, CT_HOOK_PREROUTING), CT_ACCEPT);
	assert_int_equal(ct_in(&f->h.core, &s2, CT_HOOK_PREROUTING), CT_ACCEPT);
	assert_ptr_not_equal(s1.ct, s2.ct);
	assert_int_equal(f->h.table.count, 2);
	assert_int_equal(ct_confirm(&f->h.core, &s1), CT_ACCEPT);
	winner = s1.ct;
	assert_int_equal(ct_confirm(&f->h.core, &s2), CT_ACCEPT);
	assert_ptr_equal(s2.ct, winner);		/* the loser was merged */
	assert_int_equal(f->h.table.stats.cpu.clash_resolve, 1);
	assert_int_equal(f->h.table.stats.cpu.insert_failed, 0);
	assert_int_equal(winner->ext->counters[CT_DIR_ORIG].packets, 2);
	ct_skb_done(&f->h.core, &s1, false);
	ct_skb_done(&f->h.core, &s2, false);
	assert_int_equal(f->h.table.count, 1);
	assert_int_equal(f->nev, 1);			/* one NEW */

	/* TCP does not allow clashes: the loser is dropped */
	ct_skb_init(&s1, t1.buf, t1.len);
	ct_skb_init(&s2, t2.buf, t2.len);
	assert_int_equal(ct_in(&f->h.core, &s1, CT_HOOK_PREROUTING), CT_ACCEPT);
	assert_int_equal(ct_in(&f->h.core, &s2, CT_HOOK_PREROUTING), CT_ACCEPT);
	assert_int_equal(ct_confirm(&f->h.core, &s1), CT_ACCEPT);
	assert_int_equal(ct_confirm(&f->h.core, &s2), CT_DROP);
	assert_int_equal(f->h.table.stats.cpu.insert_failed, 1);
	assert_int_equal(f->h.table.stats.cpu.drop, 1);
	ct_skb_done(&f->h.core, &s1, false);
	ct_skb_done(&f->h.core, &s2, true);
	assert_int_equal(f->h.table.count, 2);
}

static void test_zones(void **state)
{
	struct fixture *f = *state;
	const struct ct_zone z5 = { 5, CT_ZONE_DIR_BOTH };
	struct conn *c0, *c5;
	int v;

	assert_string_equal(run(f, udp(A, B, 5000, 53)), "new");
	c0 = f->last;
	assert_string_equal(run_zone(f, udp(A, B, 5000, 53), &z5, &v), "new");
	c5 = f->last;
	assert_ptr_not_equal(c0, c5);
	assert_int_equal(c5->zone.id, 5);
	assert_int_equal(f->h.table.count, 2);
	assert_string_equal(run_zone(f, udp(B, A, 53, 5000), &z5, &v), "established");
	assert_ptr_equal(f->last, c5);
	assert_true(c5->status & CT_S_SEEN_REPLY);
	assert_false(c0->status & CT_S_SEEN_REPLY);
}

static void test_untracked(void **state)
{
	struct fixture *f = *state;
	struct h_packet p = udp(A, B, 5000, 53);
	struct ct_skb skb;

	ct_skb_init(&skb, p.buf, p.len);
	skb.untracked = true;			/* `notrack` in a raw chain */
	assert_int_equal(ct_in(&f->h.core, &skb, CT_HOOK_PREROUTING), CT_ACCEPT);
	assert_string_equal(ct_skb_state_name(&skb), "untracked");
	assert_null(skb.ct);
	ct_skb_done(&f->h.core, &skb, false);
	assert_int_equal(f->h.table.count, 0);
}

/* ---------------------------------------------------------------------- */
/* GRE, generic, SCTP, TCP                                                 */

static void test_gre(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	assert_string_equal(run(f, gre(A, B)), "new");
	c = f->last;
	assert_int_equal(conn_timeout_left(&f->h.table, c), 30);
	assert_string_equal(run(f, gre(B, A)), "established");
	assert_int_equal(conn_timeout_left(&f->h.table, c), 30);	/* the reply itself: 30 */
	assert_false(c->status & CT_S_ASSURED);
	run(f, gre(A, B));					/* first packet after it */
	assert_true(c->status & CT_S_ASSURED);
	assert_int_equal(conn_timeout_left(&f->h.table, c), 180);
	assert_int_equal(f->evs[f->nev - 1].mask, CT_EV(ASSURED));
	assert_int_equal(c->th[0].tuple.sport, 0);		/* keys 0 */
}

static void test_generic(void **state)
{
	struct fixture *f = *state;
	uint8_t payload[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	assert_string_equal(run(f, h_build(A, B, 253, payload, sizeof(payload))), "new");
	assert_int_equal(conn_timeout_left(&f->h.table, f->last), 600);
	assert_int_equal(f->evs[0].timeout, 600);
	assert_string_equal(run(f, h_build(B, A, 253, payload, sizeof(payload))), "established");
	assert_false(f->last->status & CT_S_ASSURED);
}

static void test_sctp(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	/* the first INIT makes a CLOSED entry, 10 s */
	assert_string_equal(run(f, sctp(A, B, 5001, 5002, 0, 1, 0x1111)), "new");
	c = f->last;
	assert_int_equal(c->proto.sctp.state, CT_SCTP_CLOSED);
	assert_int_equal(conn_timeout_left(&f->h.table, c), 10);
	assert_int_equal(f->evs[0].mask, CT_EV(NEW) | CT_EV(PROTOINFO));
	assert_int_equal(c->proto.sctp.vtag[CT_DIR_REPLY], 0x1111);

	/* INIT_ACK (carries the INIT's tag) -> COOKIE_WAIT, 3 s */
	assert_string_equal(run(f, sctp(B, A, 5002, 5001, 0x1111, 2, 0x2222)), "established");
	assert_int_equal(c->proto.sctp.state, CT_SCTP_COOKIE_WAIT);
	assert_int_equal(conn_timeout_left(&f->h.table, c), 3);
	assert_int_equal(f->evs[1].mask, CT_EV(REPLY) | CT_EV(PROTOINFO));

	/* COOKIE_ECHO with the wrong tag: INVALID */
	assert_string_equal(run(f, sctp(A, B, 5001, 5002, 0x9999, 10, 0)), "invalid");
	assert_int_equal(c->proto.sctp.state, CT_SCTP_COOKIE_WAIT);

	assert_string_equal(run(f, sctp(A, B, 5001, 5002, 0x2222, 10, 0)), "established");
	assert_int_equal(c->proto.sctp.state, CT_SCTP_COOKIE_ECHOED);
	assert_string_equal(run(f, sctp(B, A, 5002, 5001, 0x1111, 11, 0)), "established");
	assert_int_equal(c->proto.sctp.state, CT_SCTP_ESTABLISHED);
	assert_true(c->status & CT_S_ASSURED);
	assert_int_equal(conn_timeout_left(&f->h.table, c), 210);
	assert_int_equal(f->evs[f->nev - 1].mask, CT_EV(PROTOINFO) | CT_EV(ASSURED));

	/* DATA (chunk 0) with the right tag keeps the state */
	assert_string_equal(run(f, sctp(A, B, 5001, 5002, 0x2222, 0, 0)), "established");
	assert_int_equal(c->proto.sctp.state, CT_SCTP_ESTABLISHED);
}

static void test_sctp_ootb(void **state)
{
	struct fixture *f = *state;

	/* ABORT, SHUTDOWN_COMPLETE, COOKIE_ACK cannot create an entry */
	assert_string_equal(run(f, sctp(A, B, 1, 2, 5, 6, 0)), "invalid");
	assert_string_equal(run(f, sctp(A, B, 1, 2, 5, 14, 0)), "invalid");
	assert_string_equal(run(f, sctp(A, B, 1, 2, 5, 11, 0)), "invalid");
	/* an INIT with a non-zero vtag either */
	assert_string_equal(run(f, sctp(A, B, 1, 2, 5, 1, 7)), "invalid");
	assert_int_equal(f->h.table.stats.cpu.invalid, 4);
	assert_int_equal(f->h.table.count, 0);
}

static void test_tcp_handshake(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	assert_string_equal(run(f, tcp_seq(A, B, 40000, 80, CT_TCP_SYN, 1000, 0)), "new");
	c = f->last;
	assert_int_equal(c->proto.tcp.state, CT_TCP_SYN_SENT);
	assert_int_equal(f->evs[0].timeout, 120);
	assert_true(f->evs[0].mask & CT_EV(NEW));

	assert_string_equal(run(f, tcp_seq(B, A, 80, 40000, CT_TCP_SYN | CT_TCP_ACK, 5000, 1001)), "established");
	assert_int_equal(c->proto.tcp.state, CT_TCP_SYN_RECV);
	assert_int_equal(f->evs[1].mask, CT_EV(REPLY) | CT_EV(PROTOINFO));
	assert_int_equal(f->evs[1].timeout, 60);

	assert_string_equal(run(f, tcp_seq(A, B, 40000, 80, CT_TCP_ACK, 1001, 5001)), "established");
	assert_int_equal(c->proto.tcp.state, CT_TCP_ESTABLISHED);
	assert_true(c->status & CT_S_ASSURED);
	assert_int_equal(f->nev, 3);
	assert_int_equal(f->evs[2].mask, CT_EV(PROTOINFO) | CT_EV(ASSURED));
	assert_int_equal(f->evs[2].timeout, 432000);

	/* the close: FIN_WAIT 120, LAST_ACK 30, TIME_WAIT 120 */
	run(f, tcp_seq(A, B, 40000, 80, CT_TCP_FIN | CT_TCP_ACK, 1001, 5001));
	assert_int_equal(c->proto.tcp.state, CT_TCP_FIN_WAIT);
	assert_int_equal(conn_timeout_left(&f->h.table, c), 120);
	run(f, tcp_seq(B, A, 80, 40000, CT_TCP_FIN | CT_TCP_ACK, 5001, 1002));
	assert_int_equal(c->proto.tcp.state, CT_TCP_LAST_ACK);
	assert_int_equal(conn_timeout_left(&f->h.table, c), 30);
	run(f, tcp_seq(A, B, 40000, 80, CT_TCP_ACK, 1002, 5002));
	assert_int_equal(c->proto.tcp.state, CT_TCP_TIME_WAIT);
	assert_int_equal(conn_timeout_left(&f->h.table, c), 120);

	/* a new SYN on TIME_WAIT after a close: DESTROY, then a fresh NEW */
	f->nev = 0;
	assert_string_equal(run(f, tcp(A, B, 40000, 80, CT_TCP_SYN)), "new");
	assert_int_equal(f->nev, 2);
	assert_int_equal(f->evs[0].mask, CT_EV(DESTROY));
	assert_true(f->evs[1].mask & CT_EV(NEW));
	assert_int_equal(f->last->proto.tcp.state, CT_TCP_SYN_SENT);
	assert_int_equal(f->h.table.count, 1);
}

static void test_tcp_refused_and_invalid(void **state)
{
	struct fixture *f = *state;

	run(f, tcp(A, B, 40001, 81, CT_TCP_SYN));
	f->nev = 0;
	/* RST before any reply: the entry is deleted at once */
	assert_string_equal(run(f, tcp_seq(B, A, 81, 40001, CT_TCP_RST | CT_TCP_ACK, 0, 1001)), "established");
	assert_int_equal(f->nev, 1);
	assert_int_equal(f->evs[0].mask, CT_EV(DESTROY));
	assert_int_equal(f->evs[0].proto_state, CT_TCP_CLOSE);
	assert_int_equal(f->h.table.count, 0);

	/* SYN+FIN: invalid flags; a bare SYN/ACK: no entry */
	assert_string_equal(run(f, tcp(A, B, 1, 2, CT_TCP_SYN | CT_TCP_FIN)), "invalid");
	assert_string_equal(f->last_reason, "invalid tcp flag combination");
	assert_string_equal(run(f, tcp(A, B, 1, 2, CT_TCP_SYN | CT_TCP_ACK)), "invalid");
	assert_int_equal(f->h.table.stats.cpu.invalid, 2);
	/* a mid-stream ACK is picked up (tcp_loose), capped at 300 s */
	assert_string_equal(run(f, tcp(A, B, 3, 4, CT_TCP_ACK)), "new");
	assert_int_equal(f->last->proto.tcp.state, CT_TCP_ESTABLISHED);
	assert_int_equal(conn_timeout_left(&f->h.table, f->last), 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_bad_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_unsolicited_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_unreach_related, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_forged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unconfirmed_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_full, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_clash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untracked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gre, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sctp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sctp_ootb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_refused_and_invalid, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
