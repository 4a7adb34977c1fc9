/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness.h — the fixture shared by the C unit tests that drive the
 * tracking pipeline on a virtual clock (test_pipeline.c, test_tcp.c and the
 * expectation and helper tests): settings, clock, event bus, table and the
 * ct_core that ties them, plus small packet builders (h_build(), h_udp(),
 * h_tcp()).
 *
 * Include after <cmocka.h> (h_build() asserts). A test file either keeps
 * its own fixture struct embedding a struct ct_harness (and subscribes its
 * own event handlers to h.events after ct_harness_init()), or defines
 * CT_HARNESS_FIXTURE first and gets the helper tests' fixture below:
 * struct fixture counting expectation events, setup()/teardown(), nexp(),
 * master(), help() and run().
 */
#ifndef CTSIM_TESTS_UNIT_HARNESS_H
#define CTSIM_TESTS_UNIT_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "ctsim/core/expect.h"
#include "ctsim/core/helper.h"
#include "ctsim/core/pipeline.h"
#include "helpers/helpers.h"

/* The virtual clock starts here (2023-11-14T22:13:20Z). */
#define CT_HARNESS_EPOCH_NS (1700000000ull * CT_NSEC_PER_SEC)

struct ct_harness {
	struct ct_settings settings;
	struct ct_clock clock;
	struct ct_events events;
	struct ct_table table;
	struct ct_core core;
};

/* Default settings with @buckets/@max, a virtual clock at
 * CT_HARNESS_EPOCH_NS, events on (mode 1, no subscribers), an empty table
 * hashed with @seed, and h->core pointing at all of them.
 * Returns 0, or the negative error of ct_table_init(). */
static inline int ct_harness_init(struct ct_harness *h, uint32_t buckets, uint32_t max,
				  uint32_t seed)
{
	memset(h, 0, sizeof(*h));
	ct_helpers_register_builtin();
	ct_settings_init(&h->settings);
	h->settings.buckets = buckets;
	h->settings.max = max;
	ct_clock_init_virtual(&h->clock, CT_HARNESS_EPOCH_NS);
	h->events.mode = 1;
	h->core.table = &h->table;
	h->core.settings = &h->settings;
	h->core.events = &h->events;
	h->core.clock = &h->clock;
	return ct_table_init(&h->table, &h->settings, &h->clock, &h->events, seed);
}

/* Frees the table (entries, expectations) set up by ct_harness_init(). */
static inline void ct_harness_fini(struct ct_harness *h)
{
	ct_table_destroy(&h->table);
}

/* Moves the virtual clock @secs seconds on and runs the table's timers. */
static inline void h_advance(struct ct_harness *h, unsigned secs)
{
	ct_clock_advance(&h->clock, (uint64_t)secs * CT_NSEC_PER_SEC);
	ct_table_tick(&h->table);
}

/* An IPv4 ("10.0.0.1") or IPv6 (anything with a ':') address, zero-padded. */
static inline union ct_addr h_addr(const char *s)
{
	union ct_addr a;

	memset(&a, 0, sizeof(a));
	if (strchr(s, ':'))
		inet_pton(AF_INET6, s, a.b);
	else
		inet_pton(AF_INET, s, &a.ip);
	return a;
}

/* Big-endian stores into a header being built. */
static inline void h_w16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void h_w32(uint8_t *b, uint32_t v)
{
	h_w16(b, (uint16_t)(v >> 16));
	h_w16(b + 2, (uint16_t)v);
}

/* A packet built by h_build(): the L3 header and @l4 in buf[0..len). */
struct h_packet {
	uint8_t buf[2048];
	size_t len;
};

/* ct_pkt_build() of @src -> @dst (IPv6 when @src has a ':') carrying the
 * L4 bytes @l4 of protocol @proto; asserts that it fits. */
static inline struct h_packet h_build(const char *src, const char *dst, uint8_t proto,
				      const uint8_t *l4, size_t l4len)
{
	struct h_packet p;
	union ct_addr s = h_addr(src), d = h_addr(dst);
	int n = ct_pkt_build(p.buf, sizeof(p.buf), strchr(src, ':') ? AF_INET6 : AF_INET, &s, &d,
			     proto, l4, l4len);

	assert_true(n > 0);
	p.len = (size_t)n;
	return p;
}

/* h_udp - a UDP datagram carrying @payload (checksum 0). */
static inline struct h_packet h_udp(const char *src, const char *dst, uint16_t sport,
				    uint16_t dport, const void *payload, size_t plen)
{
	uint8_t l4[1500] = { 0 };

	assert_true(plen <= sizeof(l4) - 8);
	h_w16(l4, sport);
	h_w16(l4 + 2, dport);
	h_w16(l4 + 4, (uint16_t)(8 + plen));
	memcpy(l4 + 8, payload, plen);
	return h_build(src, dst, IPPROTO_UDP, l4, 8 + plen);
}

/* h_tcp - a TCP segment ACK|PSH at @seq (ack 5000, window 65535, no
 * options) carrying @payload: what a helper reads on an established entry. */
static inline struct h_packet h_tcp(const char *src, const char *dst, uint16_t sport,
				    uint16_t dport, uint32_t seq, const void *payload, size_t plen)
{
	uint8_t l4[1600] = { 0 };

	assert_true(plen <= sizeof(l4) - 20);
	h_w16(l4, sport);
	h_w16(l4 + 2, dport);
	h_w32(l4 + 4, seq);
	h_w32(l4 + 8, 5000);
	l4[12] = 5 << 4;
	l4[13] = CT_TCP_ACK | CT_TCP_PSH;
	h_w16(l4 + 14, 65535);
	memcpy(l4 + 20, payload, plen);
	return h_build(src, dst, IPPROTO_TCP, l4, 20 + plen);
}

/* h_nexp - expectations in the table. */
static inline unsigned h_nexp(const struct ct_harness *h)
{
	return h->table.expect ? h->table.expect->count : 0;
}

/* h_master - a confirmed entry src:sport -> dst:dport with helper @helper
 * (or none), as a master connection for expectation tests. */
static inline struct conn *h_master(struct ct_harness *h, const char *src, const char *dst, uint8_t proto,
			   uint16_t sport, uint16_t dport, const char *helper)
{
	struct ct_tuple o = { .src = h_addr(src), .dst = h_addr(dst), .sport = sport, .dport = dport,
			      .l3num = strchr(src, ':') ? AF_INET6 : AF_INET, .l4num = proto };
	struct ct_tuple r;
	struct ct_zone z = { 0, CT_ZONE_DIR_BOTH };
	struct conn *c;

	ct_tuple_invert(&o, &r);
	r.l3num = o.l3num;
	r.l4num = o.l4num;
	c = conn_alloc(&h->table, &o, &r, &z);
	assert_non_null(c);
	conn_set_timeout(&h->table, c, 300);
	if (helper) {
		assert_int_equal(ct_helper_attach(c, ct_helper_find(helper, o.l3num, o.l4num)), 0);
		c->status |= CT_S_HELPER;
	}
	assert_int_equal(ct_table_insert(&h->table, c), 0);
	c->status |= CT_S_CONFIRMED | CT_S_SEEN_REPLY;
	return c;
}

#ifdef CT_HARNESS_FIXTURE
/*
 * The fixture of the expectation and helper tests (define CT_HARNESS_FIXTURE
 * before including this file): a harness whose expectation events are
 * counted, cmocka setup/teardown, and shorthands on it.
 */
struct fixture {
	struct ct_harness h;
	unsigned exp_new, exp_destroy;	/* expectation events seen */
};

static inline void h_count_exp_event(void *arg, const struct ct_exp_event *e)
{
	struct fixture *f = arg;

	if (e->mask & CT_EXPEV(NEW))
		f->exp_new++;
	if (e->mask & CT_EXPEV(DESTROY))
		f->exp_destroy++;
}

static inline int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(ct_harness_init(&f.h, 64, 1000, 4242), 0);
	ct_events_subscribe_exp(&f.h.events, h_count_exp_event, &f);
	ct_ftp_loose = false;		/* a test may have set it */
	*state = &f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;

	ct_harness_fini(&f->h);
	return 0;
}

static inline unsigned nexp(struct fixture *f)
{
	return h_nexp(&f->h);
}

static inline struct conn *master(struct fixture *f, const char *src, const char *dst,
				  uint8_t proto, uint16_t sport, uint16_t dport, const char *helper)
{
	return h_master(&f->h, src, dst, proto, sport, dport, helper);
}
/* help - the helper of @ct on @p as nf_confirm() calls it, in the direction
 * @dir of an established entry, from a heap copy of exactly p.len bytes so
 * that ASan sees any read past the packet. */
static inline int help(struct fixture *f, struct conn *ct, enum ct_dir dir, struct h_packet p)
{
	struct ct_skb skb;
	const char *reason = NULL;
	uint8_t *buf = malloc(p.len);
	int v;

	assert_non_null(buf);
	memcpy(buf, p.buf, p.len);
	ct_table_tick(&f->h.table);
	ct_skb_init(&skb, buf, p.len);
	assert_int_equal(ct_pkt_parse(&skb.pkt, &reason), 0);
	skb.ct = ct;
	skb.ctinfo = dir == CT_DIR_ORIG ? CT_INFO_ESTABLISHED : CT_INFO_ESTABLISHED_REPLY;
	v = ct_helper_run(&f->h.core, &skb);
	free(buf);
	return v;
}
/* h_template - what `ct helper set` puts in the template: the registered
 * helper @name of @p's family and transport protocol, or NULL. */
static inline const struct ct_helper *h_template(struct h_packet p, const char *name)
{
	struct ct_pkt q = { .data = p.buf, .len = p.len };
	const char *why = NULL;

	if (ct_pkt_parse(&q, &why) != 0)
		return NULL;
	return ct_helper_find(name, q.family, q.l4proto);
}

/* run - a packet through PREROUTING (with a `ct helper set` template of
 * @helper, if any), confirm and done, as the router does; the ct state the
 * rules saw ("new", "related", ...) and, in @ct_out, the entry. */
static inline const char *run(struct fixture *f, struct h_packet p, const char *helper,
			      struct conn **ct_out)
{
	static char state[16];
	struct ct_skb skb;
	int v;

	ct_skb_init(&skb, p.buf, p.len);
	if (helper)
		skb.helper = h_template(p, helper);
	v = ct_in(&f->h.core, &skb, CT_HOOK_PREROUTING);
	snprintf(state, sizeof(state), "%s", ct_skb_state_name(&skb));
	if (v == CT_ACCEPT)
		v = ct_confirm(&f->h.core, &skb);
	if (ct_out)
		*ct_out = skb.ct;
	ct_skb_done(&f->h.core, &skb, v != CT_ACCEPT);
	return state;
}
#endif /* CT_HARNESS_FIXTURE */

#endif /* CTSIM_TESTS_UNIT_HARNESS_H */
