/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_sip.c — the SIP helper (helpers/sip.c) on a virtual clock: INVITE /
 * 200 OK with SDP (RTP + RTCP per stream, classes, direct media), BYE and
 * error responses flushing, REGISTER's signalling expectation and its
 * activation by the 200 OK, IPv6, and hostile input (truncation at every
 * length in an exactly sized buffer, bogus numbers, huge Content-Length).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctsim/expect.h"
#include "ctsim/helper.h"
#include "ctsim/pipeline.h"
#include "harness.h"

struct fixture {
	struct ct_harness h;
	unsigned exp_new, exp_destroy;
};

static void on_exp(void *arg, const struct ct_exp_event *e)
{
	struct fixture *f = arg;

	if (e->mask & CT_EXPEV(NEW))
		f->exp_new++;
	if (e->mask & CT_EXPEV(DESTROY))
		f->exp_destroy++;
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(ct_harness_init(&f.h, 64, 1000, 4242), 0);
	ct_events_subscribe_exp(&f.h.events, on_exp, &f);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ct_harness_fini(&f->h);
	return 0;
}

static unsigned nexp(struct fixture *f)
{
	return h_nexp(&f->h);
}

static struct conn *master(struct fixture *f, const char *src, const char *dst, uint8_t proto,
			   uint16_t sport, uint16_t dport, const char *helper)
{
	return h_master(&f->h, src, dst, proto, sport, dport, helper);
}

/* ---------------------------------------------------------------------- */
/* Packets                                                                 */


static struct h_packet udp(const char *src, const char *dst, uint16_t sport, uint16_t dport,
			 const void *payload, size_t plen)
{
	uint8_t l4[1500] = { 0 };

	h_w16(l4, sport);
	h_w16(l4 + 2, dport);
	h_w16(l4 + 4, (uint16_t)(8 + plen));
	memcpy(l4 + 8, payload, plen);
	return h_build(src, dst, IPPROTO_UDP, l4, 8 + plen);
}

/* The helper of @ct on one datagram (nf_confirm()'s call), from a buffer of
 * exactly the packet's size so that ASan sees any over-read. */
static int help(struct fixture *f, struct conn *ct, enum ct_dir dir, struct h_packet p)
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

/* PREROUTING + confirm + done, optionally with a `ct helper set` template. */
static const char *run(struct fixture *f, struct h_packet p, const char *helper,
		       struct conn **ct_out)
{
	static char state[16];
	struct ct_skb skb;
	int v;

	ct_skb_init(&skb, p.buf, p.len);
	if (helper)
		snprintf(skb.helper, sizeof(skb.helper), "%s", helper);
	v = ct_in(&f->h.core, &skb, CT_HOOK_PREROUTING);
	snprintf(state, sizeof(state), "%s", ct_skb_state_name(&skb));
	if (v == CT_ACCEPT)
		v = ct_confirm(&f->h.core, &skb);
	if (ct_out)
		*ct_out = skb.ct;
	ct_skb_done(&f->h.core, &skb, v != CT_ACCEPT);
	return state;
}

#define CL "10.0.0.1"
#define SV "10.0.0.2"

/* A SIP signalling flow CL:5060 <-> SV:5060 with the sip helper. */
static struct conn *sip_master(struct fixture *f, const char *cl, const char *sv)
{
	return master(f, cl, sv, IPPROTO_UDP, 5060, 5060, "sip");
}

/* One SIP message in direction @dir of @m. */
static int sip(struct fixture *f, struct conn *m, enum ct_dir dir, const char *msg)
{
	const struct ct_tuple *t = &m->th[dir].tuple;
	char a[64], b[64];

	inet_ntop(t->l3num, &t->src, a, sizeof(a));
	inet_ntop(t->l3num, &t->dst, b, sizeof(b));
	return help(f, m, dir, udp(a, b, t->sport, t->dport, msg, strlen(msg)));
}

/* Is there an expectation UDP src(any port) -> dst:dport of @class? */
static const struct ct_expect *find_exp(struct fixture *f, const char *src, const char *dst,
					uint16_t dport, uint8_t proto)
{
	union ct_addr s = h_addr(src), d = h_addr(dst);

	if (!f->h.table.expect)
		return NULL;
	for (const struct ct_expect *e = f->h.table.expect->head; e; e = e->next)
		if (!memcmp(&e->tuple.src, &s, sizeof(s)) && !memcmp(&e->tuple.dst, &d, sizeof(d)) &&
		    e->tuple.dport == dport && e->tuple.l4num == proto && e->mask.sport == 0)
			return e;
	return NULL;
}

static void assert_media(struct fixture *f, const char *src, const char *dst, uint16_t port,
			 uint32_t class)
{
	const struct ct_expect *e;

	assert_non_null(e = find_exp(f, src, dst, port, IPPROTO_UDP));
	assert_int_equal(e->class, class);
	assert_int_equal(e->flags, 0);
	assert_null(e->helper);
	assert_int_equal(ct_expect_timeout_left(&f->h.table, e), 180);
	assert_non_null(e = find_exp(f, src, dst, (uint16_t)(port + 1), IPPROTO_UDP));
	assert_int_equal(e->class, class);
}

static const char invite[] =
	"INVITE sip:bob@10.0.0.2 SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds\r\n"
	"From: Alice <sip:alice@10.0.0.1>;tag=1928301774\r\n"
	"To: Bob <sip:bob@10.0.0.2>\r\n"
	"Call-ID: a84b4c76e66710@10.0.0.1\r\n"
	"CSeq: 314159 INVITE\r\n"
	"Contact: <sip:alice@10.0.0.1>\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 136\r\n"
	"\r\n"
	"v=0\r\n"
	"o=alice 2890844526 2890844526 IN IP4 10.0.0.1\r\n"
	"s=-\r\n"
	"c=IN IP4 10.0.0.1\r\n"
	"t=0 0\r\n"
	"m=audio 49170 RTP/AVP 0\r\n"
	"a=rtpmap:0 PCMU/8000\r\n";

static const char ok_invite[] =
	"SIP/2.0 200 OK\r\n"
	"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds\r\n"
	"From: Alice <sip:alice@10.0.0.1>;tag=1928301774\r\n"
	"To: Bob <sip:bob@10.0.0.2>;tag=a6c85cf\r\n"
	"Call-ID: a84b4c76e66710@10.0.0.1\r\n"
	"CSeq: 314159 INVITE\r\n"
	"Contact: <sip:bob@10.0.0.2>\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 131\r\n"
	"\r\n"
	"v=0\r\n"
	"o=bob 2808844564 2808844564 IN IP4 10.0.0.2\r\n"
	"s=-\r\n"
	"c=IN IP4 10.0.0.2\r\n"
	"t=0 0\r\n"
	"m=audio 3457 RTP/AVP 0\r\n"
	"a=rtpmap:0 PCMU/8000\r\n";

/* ---------------------------------------------------------------------- */

static void test_invite_ok_bye(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sip_master(f, CL, SV), *d;

	assert_int_equal(sip(f, m, CT_DIR_ORIG, invite), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	/* RTP/RTCP from the callee, any port, to the caller's 49170/49171 */
	assert_media(f, SV, CL, 49170, 1);
	/* the master's timeout is sip_timeout */
	assert_int_equal(conn_timeout_left(&f->h.table, m), 3600);
	/* the answer: port 3457 -> 3456 (RTP, even) and 3457 (RTCP) */
	assert_int_equal(sip(f, m, CT_DIR_REPLY, ok_invite), CT_ACCEPT);
	assert_int_equal(nexp(f), 4);
	assert_media(f, CL, SV, 3456, 1);
	assert_int_equal(f->h.table.expect->helper_errors, 0);
	/* the callee's RTP is RELATED */
	assert_string_equal(run(f, udp(SV, CL, 40000, 49170, "rtp", 3), NULL, &d), "related");
	assert_int_equal(nexp(f), 3);
	/* a retransmitted INVITE flushes the media expectations and expects again */
	assert_int_equal(sip(f, m, CT_DIR_ORIG, invite), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	/* BYE flushes them */
	assert_int_equal(sip(f, m, CT_DIR_REPLY, "BYE sip:alice@10.0.0.1 SIP/2.0\r\n"
			     "CSeq: 1 BYE\r\n\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 0);
}

static void test_error_response_flushes(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sip_master(f, CL, SV);

	assert_int_equal(sip(f, m, CT_DIR_ORIG, invite), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	/* a final error for another CSeq leaves them */
	assert_int_equal(sip(f, m, CT_DIR_REPLY, "SIP/2.0 486 Busy Here\r\n"
			     "CSeq: 1 INVITE\r\n\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	/* a 180 without a body changes nothing */
	assert_int_equal(sip(f, m, CT_DIR_REPLY, "SIP/2.0 180 Ringing\r\n"
			     "CSeq: 314159 INVITE\r\n\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	/* for the INVITE's CSeq it flushes */
	assert_int_equal(sip(f, m, CT_DIR_REPLY, "SIP/2.0 486 Busy Here\r\n"
			     "CSeq: 314159 INVITE\r\n\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 0);
}

static void test_media_classes_and_direct_media(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sip_master(f, CL, SV);
	static const char multi[] =
		"INVITE sip:bob@10.0.0.2 SIP/2.0\r\n"
		"CSeq: 7 INVITE\r\n"
		"\r\n"
		"v=0\r\n"
		"c=IN IP4 10.0.0.9\r\n"
		"m=audio 0 RTP/AVP 0\r\n"		/* inactive */
		"m=video 5000 RTP/AVP 31\r\n"
		"c=IN IP4 10.0.0.1\r\n"			/* the media's own address */
		"m=text 6000 RTP/AVP 98\r\n"		/* not a known type */
		"m=image 7001 udptl t38\r\n"
		"c=IN IP4 10.0.0.1\r\n";
	static const char other[] =
		"INVITE sip:bob@10.0.0.2 SIP/2.0\r\n"
		"CSeq: 8 INVITE\r\n"
		"\r\n"
		"v=0\r\n"
		"c=IN IP4 192.168.1.1\r\n"
		"m=audio 8000 RTP/AVP 0\r\n";

	assert_int_equal(sip(f, m, CT_DIR_ORIG, multi), CT_ACCEPT);
	assert_int_equal(nexp(f), 4);
	assert_media(f, SV, CL, 5000, 2);	/* video */
	assert_media(f, SV, CL, 7000, 3);	/* image: 7001 & ~1 */
	/* sip_direct_media: an address other than the sender's: nothing */
	assert_int_equal(sip(f, m, CT_DIR_ORIG, other), CT_ACCEPT);
	assert_int_equal(nexp(f), 0);		/* (the INVITE flushed first) */
	assert_int_equal(f->h.table.expect->helper_errors, 0);
}

static void test_two_masters_same_media(void **state)
{
	struct fixture *f = *state;
	struct conn *m1 = sip_master(f, CL, SV);
	struct conn *m2 = master(f, CL, SV, IPPROTO_UDP, 5062, 5060, "sip");

	assert_int_equal(sip(f, m1, CT_DIR_ORIG, invite), CT_ACCEPT);
	/* the same media on another call leg: left to the first one */
	assert_int_equal(sip(f, m2, CT_DIR_ORIG, invite), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	assert_ptr_equal(f->h.table.expect->head->master, m1);
}

static void test_register(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sip_master(f, CL, SV), *d;
	const struct ct_expect *e;
	static const char reg[] =
		"REGISTER sip:registrar.example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKnashds7\r\n"
		"To: Bob <sip:bob@example.com>\r\n"
		"From: Bob <sip:bob@example.com>;tag=456248\r\n"
		"Call-ID: 843817637684230@998sdasdh09\r\n"
		"CSeq: 1826 REGISTER\r\n"
		"Contact: <sip:bob@10.0.0.1:5070>\r\n"
		"Expires: 7200\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char ok[] =
		"SIP/2.0 200 OK\r\n"
		"CSeq: 1826 REGISTER\r\n"
		"Contact: <sip:bob@10.0.0.1:5070>;expires=600\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char fail[] =
		"SIP/2.0 403 Forbidden\r\n"
		"CSeq: 1827 REGISTER\r\n\r\n";

	assert_int_equal(sip(f, m, CT_DIR_ORIG, reg), CT_ACCEPT);
	assert_int_equal(nexp(f), 1);
	assert_non_null(e = find_exp(f, SV, CL, 5070, IPPROTO_UDP));
	assert_int_equal(e->class, 0);
	assert_int_equal(e->flags, CT_EXP_F_PERMANENT | CT_EXP_F_INACTIVE);
	assert_non_null(e->helper);
	assert_string_equal(e->helper->name, "sip");
	assert_int_equal(ct_expect_timeout_left(&f->h.table, e), 180);
	/* inactive: an incoming call from the registrar is not RELATED yet */
	assert_string_equal(run(f, udp(SV, CL, 5060, 5070, "x", 1), NULL, &d), "new");
	/* a response for another CSeq is ignored */
	assert_int_equal(sip(f, m, CT_DIR_REPLY, fail), CT_ACCEPT);
	assert_int_equal(nexp(f), 1);
	/* the 200 OK activates it for the Contact's expires */
	assert_int_equal(sip(f, m, CT_DIR_REPLY, ok), CT_ACCEPT);
	assert_int_equal(nexp(f), 1);
	e = f->h.table.expect->head;
	assert_int_equal(e->flags, CT_EXP_F_PERMANENT);
	assert_int_equal(ct_expect_timeout_left(&f->h.table, e), 600);
	/* permanent: an incoming call is RELATED, gets the sip helper, and
	 * the expectation stays */
	assert_string_equal(run(f, udp(SV, CL, 5061, 5070, "x", 1), NULL, &d), "related");
	assert_int_equal(nexp(f), 1);
	assert_non_null(d = ct_table_find(&f->h.table, &(struct ct_tuple){ .src = h_addr(SV), .dst = h_addr(CL),
			    .sport = 5061, .dport = 5070, .l3num = AF_INET, .l4num = IPPROTO_UDP },
			    NULL, CT_DIR_ORIG, NULL));
	assert_string_equal(d->ext->helper, "sip");
	/* a new REGISTER and a failure for it: the signalling one is flushed */
	assert_int_equal(sip(f, m, CT_DIR_ORIG, "REGISTER sip:r SIP/2.0\r\n"
			     "CSeq: 1827 REGISTER\r\n"
			     "Contact: <sip:bob@10.0.0.1:5070>;expires=60\r\n\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 1);
	assert_int_equal(sip(f, m, CT_DIR_REPLY, fail), CT_ACCEPT);
	assert_int_equal(nexp(f), 0);
	/* Expires: 0 (unregister), a third-party Contact, a TCP transport: nothing */
	assert_int_equal(sip(f, m, CT_DIR_ORIG, "REGISTER sip:r SIP/2.0\r\nCSeq: 2 REGISTER\r\n"
			     "Contact: <sip:bob@10.0.0.1:5070>\r\nExpires: 0\r\n\r\n"), CT_ACCEPT);
	assert_int_equal(sip(f, m, CT_DIR_ORIG, "REGISTER sip:r SIP/2.0\r\nCSeq: 3 REGISTER\r\n"
			     "Contact: <sip:bob@10.9.9.9:5070>\r\n\r\n"), CT_ACCEPT);
	assert_int_equal(sip(f, m, CT_DIR_ORIG, "REGISTER sip:r SIP/2.0\r\nCSeq: 4 REGISTER\r\n"
			     "Contact: <sip:bob@10.0.0.1:5070;transport=tcp>\r\n\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 0);
	/* compact Contact (m:), default port 5060 */
	assert_int_equal(sip(f, m, CT_DIR_ORIG, "REGISTER sip:r SIP/2.0\r\nCSeq: 5 REGISTER\r\n"
			     "m: <sip:10.0.0.1>\r\nExpires: 30\r\n\r\n"), CT_ACCEPT);
	assert_non_null(find_exp(f, SV, CL, 5060, IPPROTO_UDP));
	assert_int_equal(f->h.table.expect->helper_errors, 0);
}

static void test_ipv6(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sip_master(f, "fd00::1", "fd00::2");

	assert_int_equal(sip(f, m, CT_DIR_ORIG, "INVITE sip:bob@[fd00::2] SIP/2.0\r\n"
			     "CSeq: 1 INVITE\r\n\r\n"
			     "v=0\r\nc=IN IP6 fd00::1\r\nm=audio 20000 RTP/AVP 0\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	assert_media(f, "fd00::2", "fd00::1", 20000, 1);
	assert_int_equal(sip(f, m, CT_DIR_ORIG, "REGISTER sip:r SIP/2.0\r\nCSeq: 2 REGISTER\r\n"
			     "Contact: <sip:a@[fd00::1]:5080>\r\nExpires: 60\r\n\r\n"), CT_ACCEPT);
	assert_non_null(find_exp(f, "fd00::2", "fd00::1", 5080, IPPROTO_UDP));
}

static void test_hostile(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sip_master(f, CL, SV);
	static const char *const drop[] = {
		/* no CSeq / unparsable CSeq / overflowing CSeq */
		"INVITE sip:b@10.0.0.2 SIP/2.0\r\n\r\nv=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 R\r\n",
		"INVITE sip:b@10.0.0.2 SIP/2.0\r\nCSeq: x INVITE\r\n\r\n",
		"INVITE sip:b@10.0.0.2 SIP/2.0\r\nCSeq: 99999999999999999999 INVITE\r\n\r\n"
		"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 R\r\n",
		"SIP/2.0 abc OK\r\nCSeq: 1 INVITE\r\n\r\n",
		"SIP/2.0 200 OK\r\n\r\n",
		/* media ports out of range, also by overflow (the kernel wraps) */
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\nc=IN IP4 10.0.0.1\r\n"
		"m=audio 80 RTP/AVP 0\r\n",
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\nc=IN IP4 10.0.0.1\r\n"
		"m=audio 70000 RTP/AVP 0\r\n",
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\nc=IN IP4 10.0.0.1\r\n"
		"m=audio 4294972356 RTP/AVP 0\r\n",
		/* media without any connection address / bogus address */
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\nm=audio 4000 RTP/AVP 0\r\n",
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\nc=IN IP4 10.0.0.300\r\n"
		"m=audio 4000 RTP/AVP 0\r\n",
		/* Contact ports out of range, unparsable expires= */
		"REGISTER sip:r SIP/2.0\r\nCSeq: 1 REGISTER\r\nContact: <sip:a@10.0.0.1:80>\r\n\r\n",
		"REGISTER sip:r SIP/2.0\r\nCSeq: 1 REGISTER\r\nContact: <sip:a@10.0.0.1:99999999999>\r\n\r\n",
		"REGISTER sip:r SIP/2.0\r\nCSeq: 1 REGISTER\r\nContact: <sip:a@10.0.0.1>;expires=x\r\n\r\n",
		"REGISTER sip:r SIP/2.0\r\nCSeq: 1 REGISTER\r\nContact: <sip:a@10.0.0.1:5070>\r\n"
		" ;expires=\r\n",		/* on a continuation line */
		"REGISTER sip:r SIP/2.0\r\nCSeq:",	/* truncated */
	};
	static const char *const ignored[] = {
		"",
		"SIP/2.0 20",
		"INVITE",
		"INVITE\r\nCSeq: 1 INVITE\r\n",
		"OPTIONS sip:b SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n",
		"INVITE  sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n",
		/* a huge Content-Length (not used over UDP) and no SDP */
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\nContent-Length: 99999999999999999\r\n\r\n",
		/* SDP lines without their values */
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\nc=IN IP4 ",
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\nc=IN IP4 10.0.0.1\r\nm=audio",
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\nc=IN IP4 10.0.0.1\r\nm=audio ",
		/* a header name at the very end, whitespace only, continuation lines */
		"REGISTER sip:r SIP/2.0\r\nCSeq: 1 REGISTER\r\nContact",
		"REGISTER sip:r SIP/2.0\r\nCSeq: 1 REGISTER\r\nContact:   \r\n \t",
		"REGISTER sip:r SIP/2.0\r\nCSeq: 1 REGISTER\r\nContact:\r\n <sip:a@",
	};
	char buf[sizeof(invite)];
	static char big[1400];

	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		if (sip(f, m, CT_DIR_ORIG, drop[i]) != CT_DROP)
			fail_msg("not dropped: #%zu", i);
	}
	assert_int_equal(nexp(f), 0);
	assert_int_equal(f->h.table.expect->helper_errors, sizeof(drop) / sizeof(drop[0]));
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		if (sip(f, m, CT_DIR_ORIG, ignored[i]) != CT_ACCEPT)
			fail_msg("dropped: #%zu", i);
	}
	assert_int_equal(nexp(f), 0);
	/* a huge Content-Length does not matter over UDP: the body is read */
	assert_int_equal(sip(f, m, CT_DIR_ORIG, "INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\n"
			     "Content-Length: 4294967295\r\n\r\nv=0\r\nc=IN IP4 10.0.0.1\r\n"
			     "m=audio 4000 RTP/AVP 0\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	/* the INVITE cut at every length, in an exactly sized buffer (ASan):
	 * never more than its two expectations */
	for (size_t n = 0; n < sizeof(invite) - 1; n++) {
		memcpy(buf, invite, n);
		buf[n] = '\0';
		sip(f, m, CT_DIR_ORIG, buf);
		assert_true(nexp(f) <= 2);
	}
	/* oversized junk: digits, separators, NULs, CR/LF runs */
	memset(big, '9', sizeof(big) - 1);
	memcpy(big, "INVITE sip:b SIP/2.0\r\nCSeq: ", 28);
	for (size_t i = 40; i < sizeof(big) - 1; i += 7)
		big[i] = i % 3 ? '\r' : '\n';
	assert_int_equal(sip(f, m, CT_DIR_ORIG, big), CT_DROP);
	/* NULs: an INVITE without CSeq, dropped as in the kernel */
	assert_int_equal(help(f, m, CT_DIR_ORIG, udp(CL, SV, 5060, 5060,
						     "INVITE sip:\0\0\0\r\n\0\0", 19)), CT_DROP);
	assert_int_equal(nexp(f), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_invite_ok_bye, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_response_flushes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_media_classes_and_direct_media, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_masters_same_media, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
