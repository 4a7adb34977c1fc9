/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_sip.c — the SIP helper (helpers/sip.c) on a virtual clock: INVITE /
 * 200 OK with SDP (RTP + RTCP per stream, classes, direct media), BYE and
 * error responses flushing, REGISTER's signalling expectation and its
 * activation by the 200 OK, IPv6, and hostile input (truncation at every
 * length in an exactly sized buffer, bogus numbers, huge Content-Length).
 * Over TCP: framing by Content-Length, several messages per segment, no
 * reassembly of split messages, REGISTER with transport=tcp, hostile
 * Content-Lengths.
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
#include "ctsim/core/expect.h"
#include "ctsim/core/helper.h"
#include "ctsim/core/pipeline.h"
#define CT_HARNESS_FIXTURE
#include "harness.h"

/* ---------------------------------------------------------------------- */
/* Packets                                                                 */

static struct h_packet tcp_seg(const char *src, const char *dst, uint16_t sport, uint16_t dport,
			       const void *payload, size_t plen)
{
	return h_tcp(src, dst, sport, dport, 1000, payload, plen);
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
	if (t->l4num == IPPROTO_TCP)
		return help(f, m, dir, tcp_seg(a, b, t->sport, t->dport, msg, strlen(msg)));
	return help(f, m, dir, h_udp(a, b, t->sport, t->dport, msg, strlen(msg)));
}

/* A SIP signalling connection CL:40000 -> SV:5060 over TCP with "sip". */
static struct conn *sip_tcp_master(struct fixture *f)
{
	return master(f, CL, SV, IPPROTO_TCP, 40000, 5060, "sip");
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
	"Content-Length: 130\r\n"
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
	"Content-Length: 127\r\n"
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
	assert_string_equal(run(f, h_udp(SV, CL, 40000, 49170, "rtp", 3), NULL, &d), "related");
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
	assert_string_equal(run(f, h_udp(SV, CL, 5060, 5070, "x", 1), NULL, &d), "new");
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
	assert_string_equal(run(f, h_udp(SV, CL, 5061, 5070, "x", 1), NULL, &d), "related");
	assert_int_equal(nexp(f), 1);
	assert_non_null(d = ct_table_find(&f->h.table, &(struct ct_tuple){ .src = h_addr(SV), .dst = h_addr(CL),
			    .sport = 5061, .dport = 5070, .l3num = AF_INET, .l4num = IPPROTO_UDP },
			    NULL, CT_DIR_ORIG, NULL));
	assert_string_equal(d->ext->helper->name, "sip");
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
	assert_int_equal(help(f, m, CT_DIR_ORIG, h_udp(CL, SV, 5060, 5060,
						     "INVITE sip:\0\0\0\r\n\0\0", 19)), CT_DROP);
	assert_int_equal(nexp(f), 2);
}

/* ---------------------------------------------------------------------- */
/* SIP over TCP: sip_help_tcp()                                            */

static void test_tcp_helper_registered(void **state)
{
	const struct ct_helper *u = ct_helper_find("sip", 0, IPPROTO_UDP);
	const struct ct_helper *t = ct_helper_find("sip", 0, IPPROTO_TCP);

	(void)state;
	assert_non_null(u);
	assert_non_null(t);
	assert_ptr_not_equal(u, t);
	assert_int_equal(t->l4num, IPPROTO_TCP);
	assert_int_equal(t->expect_class_max, 3);
	assert_int_equal(t->policy[0].max_expected, 1);
	assert_int_equal(t->policy[1].max_expected, 4);
	assert_int_equal(t->policy[3].timeout, 180);
	assert_null(ct_helper_find("sip", 0, IPPROTO_SCTP));
}

static void test_tcp_invite_ok(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sip_tcp_master(f), *d;

	assert_ptr_equal(ct_helper_of(m), &ct_helper_sip_tcp);
	assert_int_equal(sip(f, m, CT_DIR_ORIG, invite), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	assert_media(f, SV, CL, 49170, 1);	/* media is UDP, also from a TCP master */
	assert_int_equal(conn_timeout_left(&f->h.table, m), 3600);
	assert_int_equal(sip(f, m, CT_DIR_REPLY, ok_invite), CT_ACCEPT);
	assert_int_equal(nexp(f), 4);
	assert_media(f, CL, SV, 3456, 1);
	assert_string_equal(run(f, h_udp(SV, CL, 40000, 49170, "rtp", 3), NULL, &d), "related");
	assert_int_equal(nexp(f), 3);
	assert_int_equal(sip(f, m, CT_DIR_REPLY, "BYE sip:alice@10.0.0.1 SIP/2.0\r\n"
			     "CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 0);
	assert_int_equal(f->h.table.expect->helper_errors, 0);
}

/* Without Content-Length, or without the blank line, nothing is read
 * (over UDP the same BYE would flush). */
static void test_tcp_framing_required(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sip_tcp_master(f);

	assert_int_equal(sip(f, m, CT_DIR_ORIG, invite), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	assert_int_equal(sip(f, m, CT_DIR_REPLY, "BYE sip:alice@10.0.0.1 SIP/2.0\r\n"
			     "CSeq: 1 BYE\r\n\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	assert_int_equal(sip(f, m, CT_DIR_REPLY, "BYE sip:alice@10.0.0.1 SIP/2.0\r\n"
			     "CSeq: 1 BYE\r\nContent-Length: 0\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	assert_int_equal(sip(f, m, CT_DIR_REPLY, "BYE sip:alice@10.0.0.1 SIP/2.0\r\n"
			     "CSeq: 1 BYE\r\nContent-Length: x\r\n\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	/* the compact form `l:` frames too */
	assert_int_equal(sip(f, m, CT_DIR_REPLY, "BYE sip:alice@10.0.0.1 SIP/2.0\r\n"
			     "CSeq: 1 BYE\r\nl: 0\r\n\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 0);
	/* a bare ACK (no payload) or a segment shorter than "SIP/2.0 200" */
	assert_int_equal(sip(f, m, CT_DIR_ORIG, ""), CT_ACCEPT);
	assert_int_equal(sip(f, m, CT_DIR_ORIG, "BYE x\r\nl:0"), CT_ACCEPT);
	assert_int_equal(f->h.table.expect->helper_errors, 0);
}

/* Several messages in one segment, each within its own Content-Length. */
static void test_tcp_several_messages(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sip_tcp_master(f);
	char seg[1500];

	/* 180 Ringing (no body) + 200 OK with SDP, back to back */
	snprintf(seg, sizeof(seg), "SIP/2.0 180 Ringing\r\nCSeq: 314159 INVITE\r\n"
		 "Content-Length: 0\r\n\r\n%s", ok_invite);
	assert_int_equal(sip(f, m, CT_DIR_ORIG, invite), CT_ACCEPT);
	assert_int_equal(sip(f, m, CT_DIR_REPLY, seg), CT_ACCEPT);
	assert_int_equal(nexp(f), 4);
	/* BYE then a new INVITE: the flush comes first, then the new media */
	snprintf(seg, sizeof(seg), "BYE sip:b SIP/2.0\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n%s",
		 invite);
	assert_int_equal(sip(f, m, CT_DIR_ORIG, seg), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	assert_media(f, SV, CL, 49170, 1);
	/* a message that drops stops the walk; the one before it counted */
	snprintf(seg, sizeof(seg), "BYE sip:b SIP/2.0\r\nCSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n"
		 "INVITE sip:b SIP/2.0\r\nCSeq: x INVITE\r\nContent-Length: 0\r\n\r\n%s", invite);
	assert_int_equal(sip(f, m, CT_DIR_ORIG, seg), CT_DROP);
	assert_int_equal(nexp(f), 0);
	assert_int_equal(f->h.table.expect->helper_errors, 1);
	/* trailing bytes after the last framed message are ignored */
	snprintf(seg, sizeof(seg), "%sINVITE sip:b SIP/2.0\r\nCSeq: 9 INV", invite);
	assert_int_equal(sip(f, m, CT_DIR_ORIG, seg), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
}

/* The body bounds the message: SDP past Content-Length is the next
 * "message" (no Content-Length of its own: ignored). */
static void test_tcp_body_bounded(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sip_tcp_master(f);

	assert_int_equal(sip(f, m, CT_DIR_ORIG, "INVITE sip:b SIP/2.0\r\nCSeq: 5 INVITE\r\n"
			     "Content-Length: 0\r\n\r\nv=0\r\nc=IN IP4 10.0.0.1\r\n"
			     "m=audio 4000 RTP/AVP 0\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 0);
	/* Content-Length covering the SDP: read */
	assert_int_equal(sip(f, m, CT_DIR_ORIG, "INVITE sip:b SIP/2.0\r\nCSeq: 5 INVITE\r\n"
			     "Content-Length: 45\r\n\r\nv=0\r\nc=IN IP4 10.0.0.1\r\n"
			     "m=audio 4000 RTP/AVP 0\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	/* the Content-Length search is not confined to the headers: one
	 * found in the body frames the message */
	assert_int_equal(sip(f, m, CT_DIR_ORIG, "BYE sip:b SIP/2.0\r\nCSeq: 6 BYE\r\n\r\n"
			     "l: 0\r\n\r\n"), CT_ACCEPT);
	assert_int_equal(nexp(f), 0);
}

/* A message split over two segments is never read: the first part's body
 * runs past the segment (accepted unread), the second part has no
 * Content-Length (ignored). */
static void test_tcp_split_not_reassembled(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sip_tcp_master(f);
	size_t n = strlen(invite), cut;

	for (cut = 11; cut < n; cut += 13) {
		char a[sizeof(invite)], b[sizeof(invite)];

		memcpy(a, invite, cut);
		a[cut] = '\0';
		memcpy(b, invite + cut, n - cut + 1);
		assert_int_equal(sip(f, m, CT_DIR_ORIG, a), CT_ACCEPT);
		assert_int_equal(sip(f, m, CT_DIR_ORIG, b), CT_ACCEPT);
		assert_int_equal(nexp(f), 0);
	}
	/* a complete message followed by the first part of another: the
	 * second's body is not all here, so the WHOLE segment is unread */
	{
		char seg[1500];

		snprintf(seg, sizeof(seg), "%s%.*s", invite, 300, invite);
		assert_int_equal(sip(f, m, CT_DIR_ORIG, seg), CT_ACCEPT);
		assert_int_equal(nexp(f), 2);	/* the first was processed */
		snprintf(seg, sizeof(seg), "BYE sip:b SIP/2.0\r\nCSeq: 7 BYE\r\n"
			 "Content-Length: 10\r\n\r\nabc");
		assert_int_equal(sip(f, m, CT_DIR_ORIG, seg), CT_ACCEPT);
		assert_int_equal(nexp(f), 2);	/* the BYE was not */
	}
	assert_int_equal(f->h.table.expect->helper_errors, 0);
}

/* REGISTER over TCP with transport=tcp: a TCP signalling expectation whose
 * connection gets the TCP sip helper; transport=udp is not for this master. */
static void test_tcp_register(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sip_tcp_master(f);
	const struct ct_expect *e;
	static const char reg_udp[] =
		"REGISTER sip:r SIP/2.0\r\nCSeq: 10 REGISTER\r\n"
		"Contact: <sip:bob@10.0.0.1:5070;transport=udp>\r\nExpires: 600\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char reg[] =
		"REGISTER sip:r SIP/2.0\r\nCSeq: 11 REGISTER\r\n"
		"Contact: <sip:bob@10.0.0.1:5070;transport=tcp>\r\nExpires: 600\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char ok[] =
		"SIP/2.0 200 OK\r\nCSeq: 11 REGISTER\r\n"
		"Contact: <sip:bob@10.0.0.1:5070;transport=tcp>;expires=300\r\n"
		"Content-Length: 0\r\n\r\n";

	assert_int_equal(sip(f, m, CT_DIR_ORIG, reg_udp), CT_ACCEPT);
	assert_int_equal(nexp(f), 0);
	assert_int_equal(sip(f, m, CT_DIR_ORIG, reg), CT_ACCEPT);
	assert_int_equal(nexp(f), 1);
	assert_non_null(e = find_exp(f, SV, CL, 5070, IPPROTO_TCP));
	assert_int_equal(e->flags, CT_EXP_F_PERMANENT | CT_EXP_F_INACTIVE);
	assert_ptr_equal(e->helper, &ct_helper_sip_tcp);
	assert_int_equal(ct_expect_timeout_left(&f->h.table, e), 180);
	assert_int_equal(sip(f, m, CT_DIR_REPLY, ok), CT_ACCEPT);
	assert_int_equal(nexp(f), 1);
	assert_int_equal(e->flags, CT_EXP_F_PERMANENT);
	assert_int_equal(ct_expect_timeout_left(&f->h.table, e), 300);
	assert_int_equal(f->h.table.expect->helper_errors, 0);
}

/* A TCP master and a UDP master announcing the same media are different
 * helpers: the second one's expectation clashes (-EBUSY) and drops. */
static void test_tcp_udp_masters_not_same_helper(void **state)
{
	struct fixture *f = *state;
	struct conn *mu = sip_master(f, CL, SV), *mt = sip_tcp_master(f);

	assert_int_equal(sip(f, mu, CT_DIR_ORIG, invite), CT_ACCEPT);
	assert_int_equal(sip(f, mt, CT_DIR_ORIG, invite), CT_ACCEPT);
	assert_int_equal(nexp(f), 2);
	assert_ptr_equal(f->h.table.expect->head->master, mu);
}

/* Hostile segments: every truncation of two back-to-back messages in an
 * exactly sized buffer, Content-Lengths that overflow or point far past
 * the segment (the kernel's would wrap), numbers at the very end. */
static void test_tcp_hostile(void **state)
{
	struct fixture *f = *state;
	struct conn *m = sip_tcp_master(f);
	static const char *const ignored[] = {
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\nContent-Length: 4294967295\r\n\r\n"
		"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n",
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\nContent-Length: 4294967240\r\n\r\n"
		"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n",
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\nContent-Length: 99999999999999999999999\r\n\r\n"
		"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n",
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\nContent-Length: 1",
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\nContent-Length: 1\r\n\r",
		"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\nContent-Length:",
		"\r\nl:0\r\n\r\n\r\nl:0\r\n\r\n\r\nl:0\r\n\r\n",
		"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n",
	};
	char seg[2 * sizeof(invite)];
	size_t n;

	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		if (sip(f, m, CT_DIR_ORIG, ignored[i]) != CT_ACCEPT)
			fail_msg("dropped: #%zu", i);
		assert_int_equal(nexp(f), 0);
	}
	assert_true(f->h.table.expect == NULL || f->h.table.expect->helper_errors == 0);
	n = (size_t)snprintf(seg, sizeof(seg), "%s%s", ok_invite, invite);
	for (size_t cut = 0; cut <= n; cut++) {
		char *b = malloc(cut + 1);

		assert_non_null(b);
		memcpy(b, seg, cut);
		b[cut] = '\0';
		sip(f, m, cut % 2 ? CT_DIR_ORIG : CT_DIR_REPLY, b);
		free(b);
		assert_true(nexp(f) <= 4);
	}
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
		cmocka_unit_test(test_tcp_helper_registered),
		cmocka_unit_test_setup_teardown(test_tcp_invite_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_framing_required, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_several_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_body_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_split_not_reassembled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_udp_masters_not_same_helper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_hostile, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
