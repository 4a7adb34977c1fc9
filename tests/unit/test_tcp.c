/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_tcp.c — the TCP tracker (ctsim/core/track_tcp.c) on a virtual clock:
 * segments with real sequence numbers, windows and options go through
 * ct_in(PREROUTING) -> ct_confirm() -> ct_skb_done(), and the tests check
 * states, verdicts, INVALID reasons, timeouts, flags and events against the
 * kernel (shared reference §2.4, the packetdrill traces of §3.3).
 *
 * The client C (10.0.0.1:40000) talks to the server S (10.0.0.2:80);
 * client ISN 1000, server ISN 5000 unless a test says otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include "ctsim/core/pipeline.h"
#include "harness.h"
#include "ctsim/core/l4proto.h"
#include "ctsim/core/track_tcp.h"

#define MAX_EV 32

struct ev_rec {
	uint32_t mask;
	uint32_t status;
	uint32_t timeout;
	uint8_t state;
};

struct fixture {
	struct ct_harness h;
	struct ev_rec evs[MAX_EV];
	unsigned nev;
	struct conn *ct;		/* the entry of the last packet (confirmed), or NULL */
	const char *reason;		/* skb->invalid_reason of the last packet */
	uint8_t opt[40];		/* TCP options for the next packet */
	size_t optlen;
	enum ct_hook hook;
};

static struct fixture fx;

static void record(void *arg, const struct ct_event *e)
{
	struct fixture *f = arg;

	if (f->nev < MAX_EV) {
		struct ev_rec *r = &f->evs[f->nev];

		r->mask = e->mask;
		r->status = e->ct->status;
		r->timeout = conn_timeout_left(&f->h.table, e->ct);
		r->state = e->ct->proto.tcp.state;
	}
	f->nev++;
}

static int setup(void **state)
{
	struct fixture *f = &fx;

	memset(f, 0, sizeof(*f));
	assert_int_equal(ct_harness_init(&f->h, 64, 1000, 4242), 0);
	ct_events_subscribe(&f->h.events, record, f);
	f->hook = CT_HOOK_PREROUTING;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ct_harness_fini(&f->h);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Segments                                                                */

enum side { CL, SV };	/* who sends: client (original direction) or server */


/* Options for the next segment */
static void opt_wscale(struct fixture *f, uint8_t shift)
{
	uint8_t *o = f->opt + f->optlen;

	o[0] = 1; o[1] = 3; o[2] = 3; o[3] = shift;	/* NOP, WS */
	f->optlen += 4;
}

static void opt_sackperm(struct fixture *f)
{
	uint8_t *o = f->opt + f->optlen;

	o[0] = 1; o[1] = 1; o[2] = 4; o[3] = 2;		/* NOP NOP SACK_PERM */
	f->optlen += 4;
}

static void opt_sack(struct fixture *f, uint32_t left, uint32_t right)
{
	uint8_t *o = f->opt + f->optlen;

	o[0] = 1; o[1] = 1; o[2] = 5; o[3] = 10;
	h_w32(o + 4, left);
	h_w32(o + 8, right);
	f->optlen += 12;
}

/* Send one segment through PREROUTING conntrack and the confirm hook;
 * returns the `ct state` a rule would see. */
static const char *seg_port(struct fixture *f, enum side from, uint16_t cport, uint8_t flags,
			    uint32_t seq, uint32_t ack, uint16_t win, size_t len)
{
	static char st[16];
	uint8_t l4[20 + 40 + 1500], buf[2048];
	union ct_addr a, b;
	struct ct_skb skb;
	size_t hl = 20 + f->optlen;
	int n, v;

	memset(l4, 0, sizeof(l4));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	inet_pton(AF_INET, "10.0.0.1", &a.ip);
	inet_pton(AF_INET, "10.0.0.2", &b.ip);
	h_w16(l4, from == CL ? cport : 80);
	h_w16(l4 + 2, from == CL ? 80 : cport);
	h_w32(l4 + 4, seq);
	h_w32(l4 + 8, ack);
	l4[12] = (uint8_t)((hl / 4) << 4);
	l4[13] = flags;
	h_w16(l4 + 14, win);
	memcpy(l4 + 20, f->opt, f->optlen);
	memset(l4 + hl, 'x', len);
	f->optlen = 0;
	n = ct_pkt_build(buf, sizeof(buf), AF_INET, from == CL ? &a : &b, from == CL ? &b : &a,
			 IPPROTO_TCP, l4, hl + len);
	assert_true(n > 0);

	ct_skb_init(&skb, buf, (size_t)n);
	v = ct_in(&f->h.core, &skb, f->hook);
	snprintf(st, sizeof(st), "%s", ct_skb_state_name(&skb));
	f->reason = skb.invalid_reason;
	assert_int_equal(v, CT_ACCEPT);
	v = ct_confirm(&f->h.core, &skb);
	f->ct = skb.ct && (skb.ct->status & CT_S_CONFIRMED) ? skb.ct : NULL;
	ct_skb_done(&f->h.core, &skb, v != CT_ACCEPT);
	return st;
}

static const char *seg(struct fixture *f, enum side from, uint8_t flags, uint32_t seq,
		       uint32_t ack, uint16_t win, size_t len)
{
	return seg_port(f, from, 40000, flags, seq, ack, win, len);
}

#define SYN	CT_TCP_SYN
#define SA	(CT_TCP_SYN | CT_TCP_ACK)
#define ACK	CT_TCP_ACK
#define PA	(CT_TCP_PSH | CT_TCP_ACK)
#define FA	(CT_TCP_FIN | CT_TCP_ACK)
#define RST	CT_TCP_RST
#define RA	(CT_TCP_RST | CT_TCP_ACK)

/* The entry for the client's connection, or NULL. */
static struct conn *find(struct fixture *f, uint16_t cport)
{
	struct ct_tuple t;

	memset(&t, 0, sizeof(t));
	inet_pton(AF_INET, "10.0.0.1", &t.src.ip);
	inet_pton(AF_INET, "10.0.0.2", &t.dst.ip);
	t.sport = cport;
	t.dport = 80;
	t.l3num = AF_INET;
	t.l4num = IPPROTO_TCP;
	return ct_table_find(&f->h.table, &t, NULL, CT_DIR_ORIG, NULL);
}

static uint8_t state_of(struct fixture *f)
{
	struct conn *c = find(f, 40000);

	assert_non_null(c);
	return c->proto.tcp.state;
}

static uint32_t timeout_of(struct fixture *f)
{
	struct conn *c = find(f, 40000);

	assert_non_null(c);
	return conn_timeout_left(&f->h.table, c);
}

/* SYN, SYN/ACK, ACK with windows of @win bytes: ESTABLISHED [ASSURED]. */
static void handshake(struct fixture *f, uint16_t win)
{
	assert_string_equal(seg(f, CL, SYN, 1000, 0, win, 0), "new");
	assert_string_equal(seg(f, SV, SA, 5000, 1001, win, 0), "established");
	assert_string_equal(seg(f, CL, ACK, 1001, 5001, win, 0), "established");
	assert_int_equal(state_of(f), CT_TCP_ESTABLISHED);
}

/* ---------------------------------------------------------------------- */
/* Normal life                                                             */

static void test_handshake_transfer_active_close(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	assert_string_equal(seg(f, CL, SYN, 1000, 0, 64240, 0), "new");
	c = f->ct;
	assert_int_equal(f->evs[0].mask & CT_EV(NEW), CT_EV(NEW));
	assert_int_equal(f->evs[0].timeout, 120);
	assert_int_equal(c->proto.tcp.seen[0].td_end, 1001);
	assert_int_equal(c->proto.tcp.seen[0].td_maxwin, 64240);

	assert_string_equal(seg(f, SV, SA, 5000, 1001, 65160, 0), "established");
	assert_int_equal(c->proto.tcp.state, CT_TCP_SYN_RECV);
	assert_int_equal(f->evs[1].mask, CT_EV(REPLY) | CT_EV(PROTOINFO));
	assert_int_equal(f->evs[1].timeout, 60);

	assert_string_equal(seg(f, CL, ACK, 1001, 5001, 502, 0), "established");
	assert_int_equal(f->evs[2].mask, CT_EV(PROTOINFO) | CT_EV(ASSURED));
	assert_int_equal(f->evs[2].timeout, 432000);

	/* data: unacknowledged -> 300 s, acknowledged -> 5 days again */
	assert_string_equal(seg(f, CL, PA, 1001, 5001, 502, 100), "established");
	assert_true(c->proto.tcp.flags[0] & CT_TCP_F_DATA_UNACKNOWLEDGED);
	assert_int_equal(timeout_of(f), 300);
	assert_string_equal(seg(f, SV, ACK, 5001, 1101, 509, 0), "established");
	assert_false(c->proto.tcp.flags[0] & CT_TCP_F_DATA_UNACKNOWLEDGED);
	assert_int_equal(timeout_of(f), 432000);
	assert_int_equal(c->proto.tcp.seen[0].td_end, 1101);
	assert_int_equal(c->proto.tcp.seen[1].td_maxack, 1101);
	assert_int_equal(f->nev, 3);	/* no event without a state change */

	/* active close: FIN_WAIT 120, LAST_ACK 30, TIME_WAIT 120 */
	seg(f, CL, FA, 1101, 5001, 502, 0);
	assert_int_equal(c->proto.tcp.state, CT_TCP_FIN_WAIT);
	assert_true(c->proto.tcp.flags[0] & CT_TCP_F_CLOSE_INIT);
	assert_int_equal(f->evs[3].timeout, 120);	/* FIN_WAIT's 120 < unack's 300 */
	seg(f, SV, FA, 5001, 1102, 509, 0);
	assert_int_equal(c->proto.tcp.state, CT_TCP_LAST_ACK);
	assert_int_equal(timeout_of(f), 30);
	seg(f, CL, ACK, 1102, 5002, 502, 0);
	assert_int_equal(c->proto.tcp.state, CT_TCP_TIME_WAIT);
	assert_int_equal(timeout_of(f), 120);
	assert_int_equal(f->nev, 6);
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);
}

static void test_close_wait_path(void **state)
{
	struct fixture *f = *state;

	handshake(f, 1000);
	seg(f, CL, FA, 1001, 5001, 1000, 0);
	assert_int_equal(state_of(f), CT_TCP_FIN_WAIT);
	seg(f, SV, ACK, 5001, 1002, 1000, 0);		/* ACK of the FIN first */
	assert_int_equal(state_of(f), CT_TCP_CLOSE_WAIT);
	assert_int_equal(timeout_of(f), 60);
	seg(f, SV, FA, 5001, 1002, 1000, 0);
	assert_int_equal(state_of(f), CT_TCP_LAST_ACK);
	assert_int_equal(timeout_of(f), 30);
	seg(f, CL, ACK, 1002, 5002, 1000, 0);
	assert_int_equal(state_of(f), CT_TCP_TIME_WAIT);
	assert_int_equal(timeout_of(f), 120);
	/* TIME_WAIT ACK retransmitted: stays */
	seg(f, CL, ACK, 1002, 5002, 1000, 0);
	assert_int_equal(state_of(f), CT_TCP_TIME_WAIT);
}

static void test_simultaneous_open(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	assert_string_equal(seg(f, CL, SYN, 1000, 0, 1000, 0), "new");
	c = f->ct;
	/* the "server" sends a SYN too */
	assert_string_equal(seg(f, SV, SYN, 5000, 0, 1000, 0), "established");
	assert_int_equal(c->proto.tcp.state, CT_TCP_SYN_SENT2);
	assert_true(c->proto.tcp.last_flags & CT_TCP_F_SIMULTANEOUS_OPEN);
	assert_int_equal(timeout_of(f), 120);
	/* each answers with a SYN/ACK */
	assert_string_equal(seg(f, CL, SA, 1000, 5001, 1000, 0), "established");
	assert_int_equal(c->proto.tcp.state, CT_TCP_SYN_RECV);
	seg(f, SV, SA, 5000, 1001, 1000, 0);		/* ignored in SYN_RECV */
	assert_int_equal(c->proto.tcp.state, CT_TCP_SYN_RECV);
	/* the reply ACK ends it: SYN_RECV -> ESTABLISHED thanks to the flag */
	seg(f, SV, ACK, 5001, 1001, 1000, 0);
	assert_int_equal(c->proto.tcp.state, CT_TCP_ESTABLISHED);
	assert_true(c->status & CT_S_ASSURED);
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);
}

static void test_syn_retransmit_not_refreshed(void **state)
{
	struct fixture *f = *state;

	seg(f, CL, SYN, 1000, 0, 1000, 0);
	h_advance(&f->h, 2);
	f->nev = 0;
	assert_string_equal(seg(f, CL, SYN, 1000, 0, 1000, 0), "new");
	h_advance(&f->h, 1);
	seg(f, CL, SYN, 1000, 0, 1000, 0);
	assert_int_equal(timeout_of(f), 117);	/* oracle: 116 after 3 SYNs in ~3 s */
	assert_int_equal(f->nev, 0);
	/* the SYN/ACK answers the last one */
	seg(f, SV, SA, 5000, 1001, 1000, 0);
	assert_int_equal(state_of(f), CT_TCP_SYN_RECV);
}

/* ---------------------------------------------------------------------- */
/* Window tracking                                                         */

static void test_seq_over_upper_bound(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	handshake(f, 1000);
	c = find(f, 40000);
	/* client data far beyond what the server's window allows */
	assert_string_equal(seg(f, CL, PA, 1001 + 100000, 5001, 1000, 10), "invalid");
	assert_string_equal(f->reason, CT_TCP_INV_SEQ_OVER);
	/* the same in the reply direction */
	assert_string_equal(seg(f, SV, PA, 5001 + 100000, 1001, 1000, 10), "invalid");
	assert_string_equal(f->reason, CT_TCP_INV_SEQ_OVER);
	assert_int_equal(f->h.table.stats.cpu.invalid, 2);
	assert_int_equal(c->proto.tcp.state, CT_TCP_ESTABLISHED);
	assert_int_equal(c->proto.tcp.seen[0].td_end, 1001);
	/* in-window data still passes */
	assert_string_equal(seg(f, CL, PA, 1001, 5001, 1000, 500), "established");
}

static void test_ack_over_upper_bound(void **state)
{
	struct fixture *f = *state;

	handshake(f, 1000);
	/* the server ACKs data the client never sent */
	assert_string_equal(seg(f, SV, ACK, 5001, 1001 + 10, 1000, 0), "invalid");
	assert_string_equal(f->reason, CT_TCP_INV_ACK_OVER);
	/* the stale SYN/ACK of conntrack_synack_old.pkt: same check */
	seg_port(f, CL, 41000, SYN, 7000, 0, 1000, 0);
	assert_string_equal(seg_port(f, SV, 41000, SA, 9000, 99999, 1000, 0), "invalid");
	assert_string_equal(f->reason, CT_TCP_INV_ACK_OVER);
	seg_port(f, CL, 41000, SYN, 7000, 0, 1000, 0);
	assert_string_equal(seg_port(f, SV, 41000, SA, 9000, 7001, 1000, 0), "established");
	assert_string_equal(seg_port(f, CL, 41000, ACK, 7001, 9001, 1000, 0), "established");
	assert_true(find(f, 41000)->status & CT_S_ASSURED);
}

static void test_seq_under_lower_bound_ignored(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	handshake(f, 1000);
	c = find(f, 40000);
	for (uint32_t s = 1001; s < 2501; s += 500) {
		seg(f, CL, PA, s, 5001, 1000, 500);
		seg(f, SV, ACK, 5001, s + 500, 1000, 0);
	}
	assert_int_equal(c->proto.tcp.seen[0].td_end, 2501);
	h_advance(&f->h, 10);
	/* a retransmission of long-ACKed data (conntrack_ack_loss_stall.pkt):
	 * not INVALID — accepted, nothing updated, no refresh */
	assert_string_equal(seg(f, CL, PA, 1001, 5001, 1000, 400), "established");
	assert_null(f->reason);
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);
	assert_int_equal(timeout_of(f), 432000 - 10);
	/* just inside the lower bound: accepted and refreshed */
	seg(f, CL, PA, 1001, 5001, 1000, 500);
	assert_int_equal(timeout_of(f), 432000);
}

static void test_ack_under_lower_bound_ignored(void **state)
{
	struct fixture *f = *state;

	handshake(f, 65535);
	h_advance(&f->h, 5);
	/* an ACK more than MAXACKWINDOW (66000) behind */
	assert_string_equal(seg(f, SV, ACK, 5001, 1001 - 70000, 65535, 0), "established");
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);
	assert_int_equal(timeout_of(f), 432000 - 5);
}

static void test_overshot_window(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	handshake(f, 1000);
	c = find(f, 40000);
	assert_int_equal(c->proto.tcp.seen[0].td_maxend, 2001);
	/* 12 bytes past the right edge: IGNORE, but the data is remembered */
	assert_string_equal(seg(f, CL, PA, 2002, 5001, 1000, 10), "established");
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);
	assert_int_equal(c->proto.tcp.seen[0].td_end, 2012);
	/* so its ACK is not "over upper bound" */
	assert_string_equal(seg(f, SV, ACK, 5001, 2012, 1000, 0), "established");
	assert_null(f->reason);
}

static void test_window_scaling(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	/* both sides send wscale: 7 and 2 */
	opt_wscale(f, 7);
	seg(f, CL, SYN, 1000, 0, 64240, 0);
	c = f->ct;
	assert_int_equal(c->proto.tcp.wscale[0], 7);
	assert_true(c->proto.tcp.flags[0] & CT_TCP_F_WINDOW_SCALE);
	opt_wscale(f, 2);
	seg(f, SV, SA, 5000, 1001, 100, 0);
	assert_int_equal(c->proto.tcp.wscale[1], 2);
	seg(f, CL, ACK, 1001, 5001, 100, 0);		/* 100 << 7 = 12800 */
	seg(f, SV, ACK, 5001, 1001, 4000, 0);		/* 4000 << 2 = 16000 */
	/* 15000 bytes ahead fits only thanks to the server's scale */
	assert_string_equal(seg(f, CL, PA, 1001 + 15000, 5001, 100, 100), "established");
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);
	assert_int_equal(c->proto.tcp.seen[0].td_end, 1001 + 15100);
	/* a wscale above 14 is capped */
	opt_wscale(f, 20);
	seg_port(f, CL, 41000, SYN, 1, 0, 100, 0);
	assert_int_equal(f->ct->proto.tcp.wscale[0], 14);
}

static void test_window_scaling_one_sided(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	/* only the client offers scaling: it is off in both directions */
	opt_wscale(f, 7);
	seg(f, CL, SYN, 1000, 0, 64240, 0);
	c = f->ct;
	seg(f, SV, SA, 5000, 1001, 100, 0);
	assert_int_equal(c->proto.tcp.wscale[0], 0);
	assert_int_equal(c->proto.tcp.wscale[1], 0);
	seg(f, CL, ACK, 1001, 5001, 100, 0);
	seg(f, SV, ACK, 5001, 1001, 4000, 0);
	assert_string_equal(seg(f, CL, PA, 1001 + 15000, 5001, 100, 100), "invalid");
	assert_string_equal(f->reason, CT_TCP_INV_SEQ_OVER);
}

static void test_sack(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	opt_sackperm(f);
	seg(f, CL, SYN, 1000, 0, 1000, 0);
	c = f->ct;
	assert_true(c->proto.tcp.flags[0] & CT_TCP_F_SACK_PERM);
	opt_sackperm(f);
	seg(f, SV, SA, 5000, 1001, 1000, 0);
	seg(f, CL, ACK, 1001, 5001, 1000, 0);
	seg(f, CL, PA, 1001, 5001, 1000, 300);
	/* a SACK block inside what was sent: fine */
	opt_sack(f, 1101, 1301);
	assert_string_equal(seg(f, SV, ACK, 5001, 1001, 1000, 0), "established");
	/* a SACK right edge beyond the data sent: "ACK over upper bound" */
	opt_sack(f, 1101, 1401);
	assert_string_equal(seg(f, SV, ACK, 5001, 1001, 1000, 0), "invalid");
	assert_string_equal(f->reason, CT_TCP_INV_ACK_OVER);
}

static void test_sack_not_permitted(void **state)
{
	struct fixture *f = *state;

	handshake(f, 1000);	/* no SACK_PERM: SACK blocks are not read */
	seg(f, CL, PA, 1001, 5001, 1000, 300);
	opt_sack(f, 1101, 9999);
	assert_string_equal(seg(f, SV, ACK, 5001, 1001, 1000, 0), "established");
}

static void test_be_liberal(void **state)
{
	struct fixture *f = *state;

	f->h.settings.tcp_be_liberal = 1;
	handshake(f, 1000);
	assert_string_equal(seg(f, CL, PA, 1001 + 100000, 5001, 1000, 10), "established");
	assert_string_equal(seg(f, SV, ACK, 5001, 1001 + 500000, 1000, 0), "established");
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);
	/* ... but the table still rules: a SYN/ACK from the client */
	assert_string_equal(seg(f, CL, SA, 1, 1, 1000, 0), "invalid");
}

/* ---------------------------------------------------------------------- */
/* RST                                                                     */

static void test_rst_exact_closes(void **state)
{
	struct fixture *f = *state;

	handshake(f, 1000);
	seg(f, CL, PA, 1001, 5001, 1000, 1000);
	seg(f, SV, ACK, 5001, 2001, 1000, 0);
	f->nev = 0;
	/* conntrack_rst_invalid.pkt: bad RSTs are INVALID, state stays */
	assert_string_equal(seg(f, SV, RST, 0, 0, 0, 0), "invalid");
	assert_string_equal(seg(f, CL, RST, 1000000, 0, 0, 0), "invalid");
	assert_string_equal(seg(f, CL, RST, 42, 0, 0, 0), "invalid");
	assert_string_equal(f->reason, CT_TCP_INV_RST);
	assert_string_equal(seg(f, CL, RA, 2000, 5001, 0, 0), "invalid");
	assert_string_equal(f->reason, CT_TCP_INV_RST);
	assert_int_equal(state_of(f), CT_TCP_ESTABLISHED);
	assert_int_equal(f->h.table.stats.cpu.invalid, 4);
	assert_int_equal(f->nev, 0);
	/* the exact one (td_maxack of the server: 2001) closes */
	assert_string_equal(seg(f, CL, RA, 2001, 5001, 0, 0), "established");
	assert_int_equal(state_of(f), CT_TCP_CLOSE);
	assert_int_equal(timeout_of(f), 10);
	assert_int_equal(f->nev, 1);
	assert_int_equal(f->evs[0].mask, CT_EV(PROTOINFO));
	assert_true(f->evs[0].status & CT_S_ASSURED);
}

static void test_rst_inexact_keeps_established(void **state)
{
	struct fixture *f = *state;

	handshake(f, 1000);
	/* in window, above td_maxack, not exact: stays ESTABLISHED awaiting a
	 * challenge ACK; the timeout drops to CLOSE's (kernel: index RST) */
	assert_string_equal(seg(f, CL, RST, 1001 + 300, 0, 0, 0), "established");
	assert_int_equal(state_of(f), CT_TCP_ESTABLISHED);
	assert_int_equal(timeout_of(f), 10);
	/* the RST moved td_end to its seq: the challenge ACK (ack 1001)
	 * leaves "data" unacknowledged, so 300 s, not 5 days */
	seg(f, SV, ACK, 5001, 1001, 1000, 0);
	assert_int_equal(timeout_of(f), 300);
	/* an RST ending a data train (seq == last_end of the ACK before) */
	seg(f, CL, PA, 1001, 5001, 1000, 100);
	assert_string_equal(seg(f, CL, RST, 1101, 0, 0, 0), "established");
	assert_int_equal(state_of(f), CT_TCP_CLOSE);
}

static void test_ignore_invalid_rst(void **state)
{
	struct fixture *f = *state;

	f->h.settings.tcp_ignore_invalid_rst = 1;
	handshake(f, 1000);
	seg(f, CL, PA, 1001, 5001, 1000, 1000);
	seg(f, SV, ACK, 5001, 2001, 1000, 0);
	/* below td_maxack: not "invalid rst" any more; in the window, so it
	 * is taken as an inexact RST */
	assert_string_equal(seg(f, CL, RST, 1500, 0, 0, 0), "established");
	assert_int_equal(state_of(f), CT_TCP_ESTABLISHED);
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);
}

static void test_rst_in_closing_states_unchecked(void **state)
{
	struct fixture *f = *state;

	/* conntrack_inexact_rst.pkt: FIN_WAIT -> CLOSE_WAIT, our RST -> CLOSE,
	 * then a spurious peer RST is accepted without checks */
	handshake(f, 1000);
	seg(f, SV, FA, 5001, 1001, 1000, 0);
	assert_int_equal(state_of(f), CT_TCP_FIN_WAIT);
	seg(f, CL, ACK, 1001, 5002, 1000, 0);
	assert_int_equal(state_of(f), CT_TCP_CLOSE_WAIT);
	assert_string_equal(seg(f, CL, RA, 1001, 5002, 0, 0), "established");
	assert_int_equal(state_of(f), CT_TCP_CLOSE);
	assert_string_equal(seg(f, SV, RST, 2001, 0, 0, 0), "established");
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);
	assert_int_equal(timeout_of(f), 10);
}

static void test_rst_before_reply_deletes(void **state)
{
	struct fixture *f = *state;

	seg(f, CL, SYN, 1000, 0, 1000, 0);
	f->nev = 0;
	/* a refused connection: RST/ACK acking the SYN */
	assert_string_equal(seg(f, SV, RA, 0, 1001, 0, 0), "established");
	assert_int_equal(f->nev, 1);
	assert_int_equal(f->evs[0].mask, CT_EV(DESTROY));
	assert_int_equal(f->evs[0].state, CT_TCP_CLOSE);
	assert_int_equal(f->h.table.count, 0);
	/* the originator's own RST before any reply too */
	seg(f, CL, SYN, 1000, 0, 1000, 0);
	f->nev = 0;
	seg(f, CL, RST, 1001, 0, 0, 0);
	assert_int_equal(f->evs[0].mask, CT_EV(DESTROY));
	assert_int_equal(f->h.table.count, 0);
}

static void test_syn_challenge_ack(void **state)
{
	struct fixture *f = *state;

	/* conntrack_syn_challenge_ack.pkt */
	assert_string_equal(seg(f, CL, SYN, 1000, 0, 1000, 0), "new");
	/* an old incarnation answers with a challenge ACK: ignored, passes */
	assert_string_equal(seg(f, SV, ACK, 7777, 3333, 1000, 0), "established");
	assert_int_equal(state_of(f), CT_TCP_SYN_SENT);
	assert_true(find(f, 40000)->status & CT_S_SEEN_REPLY);
	/* our RST with seq == that ack: CLOSE */
	assert_string_equal(seg(f, CL, RST, 3333, 0, 0, 0), "established");
	assert_int_equal(state_of(f), CT_TCP_CLOSE);
	/* the re-sent SYN: the last packet was our RST -> kill, new entry */
	assert_string_equal(seg(f, CL, SYN, 1000, 0, 1000, 0), "new");
	assert_int_equal(state_of(f), CT_TCP_SYN_SENT);
	seg(f, SV, SA, 5000, 1001, 1000, 0);
	seg(f, CL, ACK, 1001, 5001, 1000, 0);
	assert_int_equal(state_of(f), CT_TCP_ESTABLISHED);
	/* events: NEW, UPDATE (reply), UPDATE CLOSE, DESTROY, NEW, SYN_RECV, ESTABLISHED */
	assert_int_equal(f->nev, 7);
	assert_true(f->evs[0].mask & CT_EV(NEW));
	assert_int_equal(f->evs[1].mask, CT_EV(REPLY));
	assert_int_equal(f->evs[1].timeout, 120);
	assert_int_equal(f->evs[2].mask, CT_EV(PROTOINFO));
	assert_int_equal(f->evs[2].state, CT_TCP_CLOSE);
	assert_int_equal(f->evs[2].timeout, 10);
	assert_int_equal(f->evs[3].mask, CT_EV(DESTROY));
	assert_true(f->evs[4].mask & CT_EV(NEW));
	assert_int_equal(f->evs[6].mask, CT_EV(PROTOINFO) | CT_EV(ASSURED));
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);
}

static void test_synack_reuse_resync(void **state)
{
	struct fixture *f = *state;

	/* conntrack_synack_reuse.pkt: a new SYN (new ISN) on ESTABLISHED */
	handshake(f, 1000);
	opt_wscale(f, 5);
	assert_string_equal(seg(f, CL, SYN, 900000, 0, 1000, 0), "established");
	assert_int_equal(state_of(f), CT_TCP_ESTABLISHED);	/* ignored */
	assert_int_equal(find(f, 40000)->proto.tcp.last_wscale, 5);
	/* the server's SYN/ACK acknowledges it: both ends agree, resync */
	assert_string_equal(seg(f, SV, SA, 123456, 900001, 1000, 0), "established");
	assert_int_equal(state_of(f), CT_TCP_SYN_RECV);
	assert_int_equal(find(f, 40000)->proto.tcp.seen[0].td_end, 900001);
	assert_string_equal(seg(f, CL, ACK, 900001, 123457, 1000, 0), "established");
	assert_int_equal(state_of(f), CT_TCP_ESTABLISHED);
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);
}

static void test_last_ack_challenge_ack(void **state)
{
	struct fixture *f = *state;

	handshake(f, 1000);
	seg(f, CL, FA, 1001, 5001, 1000, 0);
	seg(f, SV, FA, 5001, 1002, 1000, 0);
	assert_int_equal(state_of(f), CT_TCP_LAST_ACK);
	/* a SYN in LAST_ACK is ignored; the answer is a challenge ACK */
	seg(f, CL, SYN, 777777, 0, 1000, 0);
	assert_true(find(f, 40000)->proto.tcp.last_flags & CT_TCP_F_EXP_CHALLENGE_ACK);
	assert_string_equal(seg(f, SV, ACK, 5002, 1002, 1000, 0), "established");
	assert_int_equal(state_of(f), CT_TCP_LAST_ACK);		/* not the last ACK */
	/* the real last ACK */
	seg(f, CL, ACK, 1002, 5002, 1000, 0);
	assert_int_equal(state_of(f), CT_TCP_TIME_WAIT);
}

/* ---------------------------------------------------------------------- */
/* Pickup, reopen, timeouts                                                */

static void test_midstream_pickup_loose(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	assert_string_equal(seg(f, CL, ACK, 123456, 654321, 1000, 0), "new");
	c = f->ct;
	assert_int_equal(c->proto.tcp.state, CT_TCP_ESTABLISHED);
	assert_int_equal(c->proto.tcp.flags[0], CT_TCP_F_SACK_PERM | CT_TCP_F_BE_LIBERAL);
	assert_int_equal(c->proto.tcp.flags[1], CT_TCP_F_SACK_PERM | CT_TCP_F_BE_LIBERAL);
	assert_int_equal(timeout_of(f), 300);	/* [UNREPLIED] 299 in conntrack -L */
	/* liberal: anything goes */
	assert_string_equal(seg(f, CL, PA, 1, 2, 1000, 10), "new");
	assert_string_equal(seg(f, SV, ACK, 654321, 123456, 1000, 0), "established");
	assert_false(c->status & CT_S_ASSURED);
	assert_int_equal(timeout_of(f), 300);	/* SEEN_REPLY is set after the tracker ran */
	/* the first packet after the reply: ASSURED, 5 days */
	seg(f, CL, ACK, 123456, 654321, 1000, 0);
	assert_true(c->status & CT_S_ASSURED);
	assert_int_equal(timeout_of(f), 432000);
}

static void test_midstream_pickup_strict(void **state)
{
	struct fixture *f = *state;

	f->h.settings.tcp_loose = 0;
	assert_string_equal(seg(f, CL, ACK, 123456, 654321, 1000, 0), "invalid");
	assert_string_equal(f->reason, CT_INV_TCP_NEW);
	assert_int_equal(f->h.table.count, 0);
	assert_string_equal(seg(f, CL, SYN, 1, 0, 1000, 0), "new");
}

static void test_max_retrans(void **state)
{
	struct fixture *f = *state;

	handshake(f, 1000);
	/* the same ACK again and again: retrans counts */
	seg(f, CL, ACK, 1001, 5001, 1000, 0);
	seg(f, CL, ACK, 1001, 5001, 1000, 0);
	assert_int_equal(timeout_of(f), 432000);
	seg(f, CL, ACK, 1001, 5001, 1000, 0);		/* 3rd repeat */
	assert_int_equal(find(f, 40000)->proto.tcp.retrans, 3);
	assert_int_equal(timeout_of(f), 300);
	/* something new resets it */
	seg(f, SV, ACK, 5001, 1001, 1000, 0);
	assert_int_equal(timeout_of(f), 432000);
	/* tcp_max_retrans is a setting */
	f->h.settings.tcp_max_retrans = 1;
	f->h.settings.tcp_timeout_max_retrans = 42;
	seg(f, SV, ACK, 5001, 1001, 1000, 0);
	assert_int_equal(timeout_of(f), 42);
}

static void test_zero_window_timeout(void **state)
{
	struct fixture *f = *state;

	handshake(f, 1000);
	seg(f, SV, ACK, 5001, 1001, 0, 0);		/* the server's window closes */
	assert_int_equal(timeout_of(f), 300);
	seg(f, SV, ACK, 5001, 1001, 1000, 0);
	assert_int_equal(timeout_of(f), 432000);
}

static void test_reopen_from_time_wait(void **state)
{
	struct fixture *f = *state;

	handshake(f, 1000);
	seg(f, CL, FA, 1001, 5001, 1000, 0);
	seg(f, SV, FA, 5001, 1002, 1000, 0);
	seg(f, CL, ACK, 1002, 5002, 1000, 0);
	assert_int_equal(state_of(f), CT_TCP_TIME_WAIT);
	f->nev = 0;
	assert_string_equal(seg(f, CL, SYN, 50000, 0, 1000, 0), "new");
	assert_int_equal(f->nev, 2);
	assert_int_equal(f->evs[0].mask, CT_EV(DESTROY));
	assert_int_equal(f->evs[0].state, CT_TCP_TIME_WAIT);
	assert_true(f->evs[1].mask & CT_EV(NEW));
	assert_int_equal(f->evs[1].state, CT_TCP_SYN_SENT);
	assert_int_equal(f->h.table.count, 1);
}

static void test_syn_in_close_after_peer_rst_ignored(void **state)
{
	struct fixture *f = *state;

	handshake(f, 1000);
	seg(f, SV, RA, 5001, 1001, 0, 0);		/* exact: CLOSE */
	assert_int_equal(state_of(f), CT_TCP_CLOSE);
	f->nev = 0;
	/* no FIN, and the RST came from the other side: the SYN is ignored */
	assert_string_equal(seg(f, CL, SYN, 90000, 0, 1000, 0), "established");
	assert_int_equal(state_of(f), CT_TCP_CLOSE);
	assert_int_equal(f->nev, 0);
}

static void test_handle_invalid_lowers_timeout(void **state)
{
	struct fixture *f = *state;

	handshake(f, 1000);
	/* out-of-window FIN, then an out-of-window RST answering it */
	assert_string_equal(seg(f, CL, FA, 1001 + 100000, 5001, 1000, 0), "invalid");
	assert_int_equal(timeout_of(f), 432000);
	assert_string_equal(seg(f, SV, RA, 5001 + 100000, 1001, 0, 0), "invalid");
	assert_int_equal(timeout_of(f), 300);
}

static void test_timeouts_from_settings(void **state)
{
	struct fixture *f = *state;

	f->h.settings.tcp_timeout[CT_TCP_SYN_SENT] = 7;
	f->h.settings.tcp_timeout[CT_TCP_SYN_RECV] = 8;
	f->h.settings.tcp_timeout[CT_TCP_ESTABLISHED] = 9000;
	f->h.settings.tcp_timeout[CT_TCP_FIN_WAIT] = 11;
	f->h.settings.tcp_timeout[CT_TCP_LAST_ACK] = 12;
	f->h.settings.tcp_timeout[CT_TCP_TIME_WAIT] = 13;
	seg(f, CL, SYN, 1000, 0, 1000, 0);
	assert_int_equal(timeout_of(f), 7);
	seg(f, SV, SA, 5000, 1001, 1000, 0);
	assert_int_equal(timeout_of(f), 8);
	seg(f, CL, ACK, 1001, 5001, 1000, 0);
	assert_int_equal(timeout_of(f), 9000);
	seg(f, CL, FA, 1001, 5001, 1000, 0);
	assert_int_equal(timeout_of(f), 11);	/* unack (300) does not raise it */
	seg(f, SV, FA, 5001, 1002, 1000, 0);
	assert_int_equal(timeout_of(f), 12);
	seg(f, CL, ACK, 1002, 5002, 1000, 0);
	assert_int_equal(timeout_of(f), 13);
	h_advance(&f->h, 14);
	assert_null(find(f, 40000));		/* expired */
}

static void test_flags_and_checksum(void **state)
{
	struct fixture *f = *state;
	uint8_t l4[20] = { 0x9c, 0x40, 0, 80, 0, 0, 3, 0xe8, 0, 0, 0, 0, 0x50, SYN, 0x03, 0xe8 };
	uint8_t buf[64];
	union ct_addr a, b;
	struct ct_skb skb;
	int n;

	assert_string_equal(seg(f, CL, CT_TCP_SYN | CT_TCP_FIN, 1, 0, 1000, 0), "invalid");
	assert_string_equal(f->reason, CT_TCP_INV_FLAGS);
	assert_string_equal(seg(f, CL, 0, 1, 0, 1000, 0), "invalid");	/* null scan */
	assert_string_equal(seg(f, CL, CT_TCP_FIN, 1, 0, 1000, 0), "invalid");
	/* PSH/ECE/CWR do not matter */
	assert_string_equal(seg(f, CL, SYN | CT_TCP_ECE | CT_TCP_CWR, 1000, 0, 1000, 0), "new");

	/* a bad checksum: INVALID at PREROUTING, not checked at OUTPUT */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	inet_pton(AF_INET, "10.0.0.1", &a.ip);
	inet_pton(AF_INET, "10.0.0.2", &b.ip);
	n = ct_pkt_build(buf, sizeof(buf), AF_INET, &a, &b, IPPROTO_TCP, l4, sizeof(l4));
	assert_true(n > 0);
	buf[20 + 16] ^= 0xff;
	ct_skb_init(&skb, buf, (size_t)n);
	ct_in(&f->h.core, &skb, CT_HOOK_PREROUTING);
	assert_null(skb.ct);
	assert_string_equal(skb.invalid_reason, CT_TCP_INV_CSUM);
	ct_skb_done(&f->h.core, &skb, true);
	ct_skb_init(&skb, buf, (size_t)n);
	ct_in(&f->h.core, &skb, CT_HOOK_OUTPUT);
	assert_non_null(skb.ct);
	ct_skb_done(&f->h.core, &skb, true);
}

static void test_print_table(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	const char *why;
	unsigned lines = 0;

	(void)state;
	ct_tcp_print_table(m);
	fclose(m);
	for (char *p = text; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 2 * 6 * 10);
	assert_non_null(strstr(text, "ESTABLISHED --fin/orig--> FIN_WAIT: "));
	assert_non_null(strstr(text, "SYN_SENT --syn/reply--> SYN_SENT2: "));
	assert_non_null(strstr(text, "TIME_WAIT --syn/reply--> SYN_SENT: "));
	free(text);
	assert_int_equal(ct_tcp_transition(CT_DIR_REPLY, CT_TCP_IDX_SYNACK, CT_TCP_ESTABLISHED, &why),
			 CT_TCP_S_IGNORE);
	assert_non_null(why);
	assert_int_equal(ct_tcp_transition(CT_DIR_ORIG, CT_TCP_IDX_SYNACK, CT_TCP_SYN_RECV, NULL),
			 CT_TCP_SYN_RECV);
	assert_int_equal(ct_tcp_flags_index(RA), CT_TCP_IDX_RST);
	assert_string_equal(ct_tcp_cell_state_name(CT_TCP_S_INVALID), "INVALID");
}

static void test_sequence_wraparound(void **state)
{
	struct fixture *f = *state;

	/* ISNs just below 2^32: the window arithmetic is modulo 2^32 */
	seg(f, CL, SYN, 0xfffffff0u, 0, 1000, 0);
	seg(f, SV, SA, 0xffffff00u, 0xfffffff1u, 1000, 0);
	seg(f, CL, ACK, 0xfffffff1u, 0xffffff01u, 1000, 0);
	assert_string_equal(seg(f, CL, PA, 0xfffffff1u, 0xffffff01u, 1000, 500), "established");
	assert_string_equal(seg(f, SV, ACK, 0xffffff01u, 0xfffffff1u + 500, 1000, 0), "established");
	assert_int_equal(find(f, 40000)->proto.tcp.seen[0].td_end, 0xfffffff1u + 500);
	assert_string_equal(seg(f, CL, PA, 0xfffffff1u + 500, 0xffffff01u, 1000, 500), "established");
	assert_int_equal(f->h.table.stats.cpu.invalid, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_handshake_transfer_active_close),
		T(test_close_wait_path),
		T(test_simultaneous_open),
		T(test_syn_retransmit_not_refreshed),
		T(test_seq_over_upper_bound),
		T(test_ack_over_upper_bound),
		T(test_seq_under_lower_bound_ignored),
		T(test_ack_under_lower_bound_ignored),
		T(test_overshot_window),
		T(test_window_scaling),
		T(test_window_scaling_one_sided),
		T(test_sack),
		T(test_sack_not_permitted),
		T(test_be_liberal),
		T(test_rst_exact_closes),
		T(test_rst_inexact_keeps_established),
		T(test_ignore_invalid_rst),
		T(test_rst_in_closing_states_unchecked),
		T(test_rst_before_reply_deletes),
		T(test_syn_challenge_ack),
		T(test_synack_reuse_resync),
		T(test_last_ack_challenge_ack),
		T(test_midstream_pickup_loose),
		T(test_midstream_pickup_strict),
		T(test_max_retrans),
		T(test_zero_window_timeout),
		T(test_reopen_from_time_wait),
		T(test_syn_in_close_after_peer_rst_ignored),
		T(test_handle_invalid_lowers_timeout),
		T(test_timeouts_from_settings),
		T(test_flags_and_checksum),
		T(test_print_table),
		T(test_sequence_wraparound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
