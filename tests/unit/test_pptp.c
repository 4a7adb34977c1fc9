/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pptp.c — the PPTP helper (helpers/pptp.c) and GRE version 1 keys
 * (ctsim/core/gre_keymap.c, track_gre.c) on a virtual clock: an outgoing and an
 * incoming call (two expectations, keymap, the first GRE packet RELATED with
 * both keys, the other expectation removed), Call-Disconnect-Notify and the
 * master's deletion (GRE entry killed or expectations dropped, keymap gone),
 * the GRE entry's death dropping the keymap, out-of-state and malformed
 * messages, IPv6 ignored, and every truncation of each valid message in an
 * exactly sized buffer (run under ASan).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctsim/core/expect.h"
#include "ctsim/core/gre_keymap.h"
#include "ctsim/core/helper.h"
#include "ctsim/core/pipeline.h"
#define CT_HARNESS_FIXTURE
#include "harness.h"

#define PNS "10.0.0.1"
#define PAC "10.0.0.2"
#define PNS_CID 0x1234
#define PAC_CID 0xabcd

/* ---------------------------------------------------------------------- */
/* Messages                                                                */

/* A control message of @type with @body (@blen bytes of it significant,
 * the rest of its struct @size zero) into @out; returns its length. */
static size_t msg(uint8_t *out, uint16_t type, const uint8_t *body, size_t blen, size_t size)
{
	size_t n = 12 + size;

	memset(out, 0, n);
	h_w16(out, (uint16_t)n);
	h_w16(out + 2, 1);			/* control message */
	h_w32(out + 4, 0x1a2b3c4d);
	h_w16(out + 8, type);
	memcpy(out + 12, body, blen);
	return n;
}

static size_t start_req(uint8_t *o) { return msg(o, 1, (const uint8_t[]){ 1, 0 }, 2, 144); }
static size_t start_rep(uint8_t *o, uint8_t result)
{
	return msg(o, 2, (const uint8_t[]){ 1, 0, result }, 3, 144);
}
static size_t oc_req(uint8_t *o, uint16_t cid)
{
	return msg(o, 7, (const uint8_t[]){ cid >> 8, cid & 0xff, 0, 1 }, 4, 156);
}
static size_t oc_rep(uint8_t *o, uint16_t cid, uint16_t peer, uint8_t result)
{
	return msg(o, 8, (const uint8_t[]){ cid >> 8, cid & 0xff, peer >> 8, peer & 0xff, result },
		   5, 20);
}
static size_t ic_req(uint8_t *o, uint16_t cid)
{
	return msg(o, 9, (const uint8_t[]){ cid >> 8, cid & 0xff }, 2, 208);
}
static size_t ic_rep(uint8_t *o, uint16_t cid, uint16_t peer, uint8_t result)
{
	return msg(o, 10, (const uint8_t[]){ cid >> 8, cid & 0xff, peer >> 8, peer & 0xff, result },
		   5, 12);
}
static size_t ic_con(uint8_t *o, uint16_t peer)
{
	return msg(o, 11, (const uint8_t[]){ peer >> 8, peer & 0xff }, 2, 16);
}
static size_t clear_req(uint8_t *o, uint16_t cid)
{
	return msg(o, 12, (const uint8_t[]){ cid >> 8, cid & 0xff }, 2, 4);
}
static size_t disc(uint8_t *o, uint16_t cid)
{
	return msg(o, 13, (const uint8_t[]){ cid >> 8, cid & 0xff, 1 }, 3, 136);
}

/* ---------------------------------------------------------------------- */
/* Packets                                                                 */

static struct h_packet tcp_data(const char *src, const char *dst, uint16_t sport, uint16_t dport,
				const uint8_t *payload, size_t plen)
{
	return h_tcp(src, dst, sport, dport, 1000, payload, plen);
}

/* Enhanced GRE (version 1, key present, PPP) carrying @call. */
static struct h_packet gre1(const char *src, const char *dst, uint16_t call)
{
	uint8_t l4[28] = { 0x20, 0x01, 0x88, 0x0b, 0, 20, (uint8_t)(call >> 8), (uint8_t)call };

	return h_build(src, dst, IPPROTO_GRE, l4, sizeof(l4));
}

/* The helper on one segment of @ct in direction @dir (nf_confirm()). */
static int help_buf(struct fixture *f, struct conn *ct, enum ct_dir dir, uint8_t *buf, size_t len)
{
	struct ct_skb skb;
	const char *reason = NULL;

	ct_table_tick(&f->h.table);
	ct_skb_init(&skb, buf, len);
	assert_int_equal(ct_pkt_parse(&skb.pkt, &reason), 0);
	skb.ct = ct;
	skb.ctinfo = dir == CT_DIR_ORIG ? CT_INFO_ESTABLISHED : CT_INFO_ESTABLISHED_REPLY;
	return ct_helper_run(&f->h.core, &skb);
}

/* One control message on master @m in direction @dir; asserts ACCEPT. */
static void send_msg(struct fixture *f, struct conn *m, enum ct_dir dir, const uint8_t *b, size_t n)
{
	const struct ct_tuple *t = &m->th[dir].tuple;
	char s[64], d[64];
	struct h_packet p;

	inet_ntop(t->l3num, &t->src, s, sizeof(s));
	inet_ntop(t->l3num, &t->dst, d, sizeof(d));
	p = tcp_data(s, d, t->sport, t->dport, b, n);
	assert_int_equal(help_buf(f, m, dir, p.buf, p.len), CT_ACCEPT);
}

/* PREROUTING + confirm + done at the clock's current time (run() of the
 * harness, after a tick); the ct state name and the entry. */
static const char *run_now(struct fixture *f, struct h_packet p, struct conn **ct_out)
{
	ct_table_tick(&f->h.table);
	return run(f, p, NULL, ct_out);
}

static struct conn *pptp_master(struct fixture *f, uint16_t sport)
{
	return h_master(&f->h, PNS, PAC, IPPROTO_TCP, sport, 1723, "pptp");
}

/* Session up, then an outgoing call PNS_CID / PAC_CID connected. */
static void outgoing_call(struct fixture *f, struct conn *m, uint16_t pns, uint16_t pac)
{
	uint8_t b[256];
	unsigned n0 = nexp(f);

	send_msg(f, m, CT_DIR_ORIG, b, start_req(b));
	send_msg(f, m, CT_DIR_REPLY, b, start_rep(b, 1));
	send_msg(f, m, CT_DIR_ORIG, b, oc_req(b, pns));
	assert_int_equal(nexp(f), n0);
	send_msg(f, m, CT_DIR_REPLY, b, oc_rep(b, pac, pns, 1));
}

static bool has_exp(struct fixture *f, const char *src, const char *dst, uint16_t skey,
		    uint16_t dkey)
{
	struct ct_tuple t = { .src = h_addr(src), .dst = h_addr(dst), .sport = skey, .dport = dkey,
			      .l3num = AF_INET, .l4num = IPPROTO_GRE };
	struct ct_expect *e = ct_expect_find(&f->h.table, &t, 0);

	return e && e->mask.sport == 0xffff && e->class == 0 &&
	       ct_expect_timeout_left(&f->h.table, e) == 300;
}

/* ---------------------------------------------------------------------- */
/* Calls                                                                   */

static void test_outgoing_call(void **state)
{
	struct fixture *f = *state;
	struct conn *m = pptp_master(f, 40000), *g = NULL, *g2 = NULL;

	outgoing_call(f, m, PNS_CID, PAC_CID);
	assert_int_equal(nexp(f), 2);
	assert_true(has_exp(f, PNS, PAC, PNS_CID, PAC_CID));
	assert_true(has_exp(f, PAC, PNS, PAC_CID, PNS_CID));
	assert_int_equal(ct_gre_keymap_count(&f->h.table), 2);

	/* the PNS's GRE carries the PAC's call id; its srckey comes from the keymap */
	assert_string_equal(run_now(f, gre1(PNS, PAC, PAC_CID), &g), "related");
	assert_non_null(g);
	assert_int_equal(g->th[CT_DIR_ORIG].tuple.sport, PNS_CID);
	assert_int_equal(g->th[CT_DIR_ORIG].tuple.dport, PAC_CID);
	assert_true(g->status & CT_S_EXPECTED);
	/* the matched one consumed, pptp_expectfn() removed the other */
	assert_int_equal(nexp(f), 0);
	assert_int_equal(f->exp_destroy, 2);
	assert_int_equal(conn_timeout_left(&f->h.table, g), 30);

	assert_string_equal(run_now(f, gre1(PAC, PNS, PNS_CID), &g2), "established");
	assert_ptr_equal(g, g2);
	assert_string_equal(run_now(f, gre1(PNS, PAC, PAC_CID), NULL), "established");
	assert_int_equal(conn_timeout_left(&f->h.table, g), 180);
	assert_true(g->status & CT_S_ASSURED);
	assert_int_equal(m->use, 2);
}

static void test_incoming_call(void **state)
{
	struct fixture *f = *state;
	struct conn *m = pptp_master(f, 40000), *g = NULL;
	uint8_t b[256];

	send_msg(f, m, CT_DIR_ORIG, b, start_req(b));
	send_msg(f, m, CT_DIR_REPLY, b, start_rep(b, 1));
	send_msg(f, m, CT_DIR_REPLY, b, ic_req(b, PAC_CID));
	send_msg(f, m, CT_DIR_ORIG, b, ic_rep(b, PNS_CID, 0x7777, 1));	/* wrong peer */
	send_msg(f, m, CT_DIR_REPLY, b, ic_con(b, PNS_CID));
	assert_int_equal(nexp(f), 0);
	send_msg(f, m, CT_DIR_ORIG, b, ic_rep(b, PNS_CID, PAC_CID, 1));
	assert_int_equal(nexp(f), 0);
	send_msg(f, m, CT_DIR_REPLY, b, ic_con(b, 0x7777));		/* wrong peer */
	assert_int_equal(nexp(f), 0);
	send_msg(f, m, CT_DIR_REPLY, b, ic_con(b, PNS_CID));
	assert_int_equal(nexp(f), 2);
	assert_true(has_exp(f, PNS, PAC, PNS_CID, PAC_CID));
	assert_true(has_exp(f, PAC, PNS, PAC_CID, PNS_CID));
	/* the PAC sends first this time */
	assert_string_equal(run_now(f, gre1(PAC, PNS, PNS_CID), &g), "related");
	assert_int_equal(g->th[CT_DIR_ORIG].tuple.sport, PAC_CID);
	assert_int_equal(nexp(f), 0);
}

static void test_retransmitted_reply(void **state)
{
	struct fixture *f = *state;
	struct conn *m = pptp_master(f, 40000);
	uint8_t b[256];

	outgoing_call(f, m, PNS_CID, PAC_CID);
	/* the same reply again: expectations replaced, keymap kept (retransmission) */
	send_msg(f, m, CT_DIR_REPLY, b, oc_rep(b, PAC_CID, PNS_CID, 1));
	assert_int_equal(nexp(f), 2);
	assert_int_equal(ct_gre_keymap_count(&f->h.table), 2);
	/* a reply naming another PAC call id: the keymap refuses, nothing new stays */
	send_msg(f, m, CT_DIR_REPLY, b, oc_rep(b, 0x4444, PNS_CID, 1));
	assert_int_equal(ct_gre_keymap_count(&f->h.table), 2);
	assert_false(has_exp(f, PNS, PAC, PNS_CID, 0x4444));
	assert_false(has_exp(f, PAC, PNS, 0x4444, PNS_CID));
}

static void test_disconnect_kills_gre(void **state)
{
	struct fixture *f = *state;
	struct conn *m = pptp_master(f, 40000), *g = NULL;
	uint8_t b[256];

	outgoing_call(f, m, PNS_CID, PAC_CID);
	assert_string_equal(run_now(f, gre1(PNS, PAC, PAC_CID), &g), "related");
	assert_string_equal(run_now(f, gre1(PAC, PNS, PNS_CID), NULL), "established");
	send_msg(f, m, CT_DIR_ORIG, b, clear_req(b, PNS_CID));	/* changes nothing visible */
	assert_int_equal(ct_gre_keymap_count(&f->h.table), 2);
	assert_int_equal(f->h.table.count, 2);
	send_msg(f, m, CT_DIR_REPLY, b, disc(b, PAC_CID));
	assert_int_equal(ct_gre_keymap_count(&f->h.table), 0);
	assert_int_equal(f->h.table.count, 1);			/* the GRE entry is gone */
	assert_int_equal(m->use, 1);
	/* GRE for the old call: srckey 0 now, a new entry */
	assert_string_equal(run_now(f, gre1(PNS, PAC, PAC_CID), &g), "new");
	assert_int_equal(g->th[CT_DIR_ORIG].tuple.sport, 0);
}

static void test_disconnect_before_gre(void **state)
{
	struct fixture *f = *state;
	struct conn *m = pptp_master(f, 40000);
	uint8_t b[256];

	outgoing_call(f, m, PNS_CID, PAC_CID);
	send_msg(f, m, CT_DIR_REPLY, b, disc(b, 0x9999));	/* any call id */
	assert_int_equal(nexp(f), 0);
	assert_int_equal(f->exp_destroy, 2);
	assert_int_equal(ct_gre_keymap_count(&f->h.table), 0);
}

static void test_master_deleted(void **state)
{
	struct fixture *f = *state;
	struct conn *m1 = pptp_master(f, 40000), *m2 = pptp_master(f, 40001);

	outgoing_call(f, m1, PNS_CID, PAC_CID);
	outgoing_call(f, m2, 0x2222, 0x3333);
	assert_string_equal(run_now(f, gre1(PNS, PAC, PAC_CID), NULL), "related");
	assert_int_equal(nexp(f), 2);
	assert_int_equal(ct_gre_keymap_count(&f->h.table), 4);
	assert_int_equal(f->h.table.count, 3);
	assert_true(ct_table_delete(&f->h.table, m1, 0, false));
	assert_int_equal(f->h.table.count, 1);			/* m1 and its GRE entry */
	assert_int_equal(ct_gre_keymap_count(&f->h.table), 2);
	assert_true(ct_table_delete(&f->h.table, m2, 0, false));
	assert_int_equal(nexp(f), 0);
	assert_int_equal(ct_gre_keymap_count(&f->h.table), 0);
	assert_int_equal(f->h.table.count, 0);
}

static void test_gre_death_drops_keymap(void **state)
{
	struct fixture *f = *state;
	struct conn *m = pptp_master(f, 40000), *g = NULL;

	outgoing_call(f, m, PNS_CID, PAC_CID);
	assert_string_equal(run_now(f, gre1(PNS, PAC, PAC_CID), &g), "related");
	h_advance(&f->h, 31);				/* unreplied GRE: 30 s */
	ct_table_gc(&f->h.table, 64);
	assert_int_equal(f->h.table.count, 1);
	/* destroy_gre_conntrack(): the master's keymap went with it */
	assert_int_equal(ct_gre_keymap_count(&f->h.table), 0);
	assert_string_equal(run_now(f, gre1(PNS, PAC, PAC_CID), &g), "new");
	assert_int_equal(g->th[CT_DIR_ORIG].tuple.sport, 0);
}

static void test_state_machine(void **state)
{
	struct fixture *f = *state;
	struct conn *m = pptp_master(f, 40000);
	uint8_t b[256];

	/* no session: the call request is out of state */
	send_msg(f, m, CT_DIR_ORIG, b, oc_req(b, PNS_CID));
	send_msg(f, m, CT_DIR_REPLY, b, oc_rep(b, PAC_CID, PNS_CID, 1));
	assert_int_equal(nexp(f), 0);
	/* a refused session (result 2) */
	send_msg(f, m, CT_DIR_ORIG, b, start_req(b));
	send_msg(f, m, CT_DIR_REPLY, b, start_rep(b, 2));
	send_msg(f, m, CT_DIR_ORIG, b, oc_req(b, PNS_CID));
	send_msg(f, m, CT_DIR_REPLY, b, oc_rep(b, PAC_CID, PNS_CID, 1));
	assert_int_equal(nexp(f), 0);
	/* a START_SESSION_REPLY needs sstate >= REQUESTED: ERROR is below it */
	send_msg(f, m, CT_DIR_REPLY, b, start_rep(b, 1));
	send_msg(f, m, CT_DIR_ORIG, b, oc_req(b, PNS_CID));
	send_msg(f, m, CT_DIR_REPLY, b, oc_rep(b, PAC_CID, PNS_CID, 1));
	assert_int_equal(nexp(f), 0);
	/* the server's messages in the client's direction are ignored */
	send_msg(f, m, CT_DIR_ORIG, b, start_rep(b, 1));
	send_msg(f, m, CT_DIR_ORIG, b, oc_rep(b, PAC_CID, PNS_CID, 1));
	assert_int_equal(nexp(f), 0);
}

static void test_handshake_and_ipv6_ignored(void **state)
{
	struct fixture *f = *state;
	struct conn *m = pptp_master(f, 40000);
	struct conn *m6 = h_master(&f->h, "fd00::1", "fd00::2", IPPROTO_TCP, 40000, 1723, "pptp");
	uint8_t b[256];
	struct h_packet p;
	struct ct_skb skb;
	const char *reason;

	/* a NEW packet (the handshake) is never read */
	p = tcp_data(PNS, PAC, 40000, 1723, b, start_req(b));
	ct_skb_init(&skb, p.buf, p.len);
	assert_int_equal(ct_pkt_parse(&skb.pkt, &reason), 0);
	skb.ct = m;
	skb.ctinfo = CT_INFO_NEW;
	assert_int_equal(ct_helper_run(&f->h.core, &skb), CT_ACCEPT);
	send_msg(f, m, CT_DIR_REPLY, b, start_rep(b, 1));
	send_msg(f, m, CT_DIR_ORIG, b, oc_req(b, PNS_CID));
	send_msg(f, m, CT_DIR_REPLY, b, oc_rep(b, PAC_CID, PNS_CID, 1));
	assert_int_equal(nexp(f), 0);
	/* IPv6: no helper in the kernel */
	outgoing_call(f, m6, PNS_CID, PAC_CID);
	assert_int_equal(nexp(f), 0);
}

static void test_gre_v0_and_bad_v1(void **state)
{
	struct fixture *f = *state;
	struct conn *m = pptp_master(f, 40000), *g = NULL;
	uint8_t v0[8] = { 0x20, 0x00, 0x08, 0x00, 0x00, 0x00, 0xab, 0xcd };
	uint8_t notppp[8] = { 0x20, 0x01, 0x08, 0x00, 0, 0, 0xab, 0xcd };
	uint8_t shortv1[6] = { 0x20, 0x01, 0x88, 0x0b, 0, 0 };

	outgoing_call(f, m, PNS_CID, PAC_CID);
	/* version 0 with a key field that looks like the call id: generic keys */
	assert_string_equal(run_now(f, h_build(PNS, PAC, IPPROTO_GRE, v0, sizeof(v0)), &g), "new");
	assert_int_equal(g->th[CT_DIR_ORIG].tuple.sport, 0);
	assert_int_equal(g->th[CT_DIR_ORIG].tuple.dport, 0);
	/* version 1 without PPP: no tuple */
	assert_string_equal(run_now(f, h_build(PNS, PAC, IPPROTO_GRE, notppp, sizeof(notppp)), NULL),
			    "invalid");
	/* a version-1 header shorter than 8 bytes: no entry, and no over-read */
	run_now(f, h_build(PNS, PAC, IPPROTO_GRE, shortv1, sizeof(shortv1)), NULL);
	assert_int_equal(nexp(f), 2);
}

/* ---------------------------------------------------------------------- */
/* Hostile input                                                           */

/* Every truncation of @full (each prefix, in an exactly sized buffer)
 * on a fresh master in the state @prep leaves; none may expect anything
 * except the complete message when @expects. */
static void truncations(struct fixture *f, void (*prep)(struct fixture *, struct conn *),
			enum ct_dir dir, const uint8_t *full, size_t n, bool expects)
{
	static uint16_t sport = 41000;

	for (size_t len = 0; len <= n; len++) {
		struct conn *m = pptp_master(f, sport++);
		const struct ct_tuple *t = &m->th[dir].tuple;
		struct h_packet p;
		uint8_t *buf;
		unsigned before;

		prep(f, m);
		before = nexp(f);
		p = tcp_data(dir == CT_DIR_ORIG ? PNS : PAC, dir == CT_DIR_ORIG ? PAC : PNS,
			     t->sport, t->dport, full, len);
		buf = malloc(p.len);
		assert_non_null(buf);
		memcpy(buf, p.buf, p.len);
		assert_int_equal(help_buf(f, m, dir, buf, p.len), CT_ACCEPT);
		free(buf);
		if (len == n && expects)
			assert_int_equal(nexp(f), before + 2);
		else
			assert_int_equal(nexp(f), before);
		ct_table_delete(&f->h.table, m, 0, false);
	}
}

static void prep_none(struct fixture *f, struct conn *m)
{
	(void)f;
	(void)m;
}

static void prep_out_req(struct fixture *f, struct conn *m)
{
	uint8_t b[256];

	send_msg(f, m, CT_DIR_ORIG, b, start_req(b));
	send_msg(f, m, CT_DIR_REPLY, b, start_rep(b, 1));
	send_msg(f, m, CT_DIR_ORIG, b, oc_req(b, PNS_CID));
}

static void prep_in_rep(struct fixture *f, struct conn *m)
{
	uint8_t b[256];

	send_msg(f, m, CT_DIR_ORIG, b, start_req(b));
	send_msg(f, m, CT_DIR_REPLY, b, start_rep(b, 1));
	send_msg(f, m, CT_DIR_REPLY, b, ic_req(b, PAC_CID));
	send_msg(f, m, CT_DIR_ORIG, b, ic_rep(b, PNS_CID, PAC_CID, 1));
}

static void test_truncations(void **state)
{
	struct fixture *f = *state;
	uint8_t b[256];
	size_t n;

	n = oc_rep(b, PAC_CID, PNS_CID, 1);
	truncations(f, prep_out_req, CT_DIR_REPLY, b, n, true);
	n = ic_con(b, PNS_CID);
	truncations(f, prep_in_rep, CT_DIR_REPLY, b, n, true);
	/* every other message, from either side, on a fresh master */
	n = start_req(b);
	truncations(f, prep_none, CT_DIR_ORIG, b, n, false);
	n = start_rep(b, 1);
	truncations(f, prep_none, CT_DIR_REPLY, b, n, false);
	n = oc_req(b, PNS_CID);
	truncations(f, prep_none, CT_DIR_ORIG, b, n, false);
	n = ic_req(b, PAC_CID);
	truncations(f, prep_none, CT_DIR_REPLY, b, n, false);
	n = ic_rep(b, PNS_CID, PAC_CID, 1);
	truncations(f, prep_none, CT_DIR_ORIG, b, n, false);
	n = clear_req(b, PNS_CID);
	truncations(f, prep_out_req, CT_DIR_ORIG, b, n, false);
	n = disc(b, PAC_CID);
	truncations(f, prep_out_req, CT_DIR_REPLY, b, n, false);
	assert_int_equal(ct_gre_keymap_count(&f->h.table), 0);
}

static void test_junk(void **state)
{
	struct fixture *f = *state;
	struct conn *m = pptp_master(f, 40000);
	uint8_t b[256];
	size_t n;

	prep_out_req(f, m);
	/* wrong cookie, management type, unknown types, port-like junk */
	n = oc_rep(b, PAC_CID, PNS_CID, 1);
	b[7] ^= 1;
	send_msg(f, m, CT_DIR_REPLY, b, n);
	n = oc_rep(b, PAC_CID, PNS_CID, 1);
	b[3] = 2;
	send_msg(f, m, CT_DIR_REPLY, b, n);
	for (unsigned type = 0; type < 0x10000; type += type < 32 ? 1 : 257) {
		if (type == 8 || type == 11 || type == 13)
			continue;
		n = oc_rep(b, PAC_CID, PNS_CID, 1);
		h_w16(b + 8, (uint16_t)type);
		send_msg(f, m, CT_DIR_REPLY, b, n);
		send_msg(f, m, CT_DIR_ORIG, b, n);
	}
	assert_int_equal(nexp(f), 0);
	/* all ones */
	memset(b, 0xff, sizeof(b));
	send_msg(f, m, CT_DIR_REPLY, b, sizeof(b));
	send_msg(f, m, CT_DIR_ORIG, b, sizeof(b));
	assert_int_equal(nexp(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_outgoing_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incoming_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retransmitted_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect_kills_gre, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect_before_gre, setup, teardown),
		cmocka_unit_test_setup_teardown(test_master_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gre_death_drops_keymap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_machine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handshake_and_ipv6_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gre_v0_and_bad_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_junk, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
