/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sip.c — the SIP helper over UDP and TCP (net/netfilter/nf_conntrack_sip.c).
 *
 * Every datagram of the signalling flow (attached by the ruleset, e.g.
 * `ct helper sip-5060 { type "sip" protocol udp; }`) is read as one SIP
 * message, as sip_help_udp() does (Content-Length is not used over UDP).
 * Over TCP (`... protocol tcp;`, a second helper of the same name, as the
 * kernel registers) each data segment of an established connection is cut
 * into messages by their Content-Length, without reassembly across
 * segments (sip_help_tcp()). Each message:
 *
 *   requests   INVITE    flush the media expectations, then the SDP body
 *              UPDATE, ACK, PRACK  the SDP body
 *              BYE       flush the media expectations
 *              REGISTER  Expires / Contact (+ `expires=`, `transport=`): a
 *                        PERMANENT|INACTIVE signalling expectation (class 0)
 *                        from the registrar to the Contact address:port,
 *                        whose new entries get the sip helper
 *   responses  (matched to the request by the method after the CSeq number)
 *              INVITE/UPDATE/PRACK 1xx/2xx  the SDP body; other codes for
 *                        the INVITE's CSeq flush the media expectations
 *              REGISTER 2xx  activate/refresh the signalling expectation
 *                        for the Contact's expires; other final codes
 *                        flush it
 *
 * The SDP body: `c=IN IP4|IP6 addr` (session, overridden per media) and
 * `m=audio|video|image PORT ...` (port 0: inactive). With sip_direct_media
 * (the kernel's default 1) a media address other than the sender's is not
 * expected. Per stream two expectations, UDP from the peer's address, any
 * source port, to addr:(PORT & ~1) (RTP) and addr:(PORT | 1) (RTCP), class
 * audio 1 / video 2 / image 3. An identical expectation of another master
 * with the sip helper and the same class is left alone; -EALREADY counts
 * as success (NF_CT_EXP_F_SKIP_MASTER).
 *
 * Policy (sip_exp_policy): signalling max 1, audio 4, video 4, image 2,
 * all 180 s. Every datagram with payload refreshes the master's timeout to
 * sip_timeout (3600 s, nf_ct_refresh()).
 *
 * Deliberate hardening beyond the kernel (docs/helpers.md): numbers are
 * parsed within the datagram only and do not wrap (the kernel's
 * simple_strtoul() wraps): an overflowing CSeq is "cannot get cseq"
 * (drop), overflowing ports are out of range (drop), an overflowing
 * Expires saturates; a REGISTER refresh is capped at INT_MAX jiffies
 * (the kernel's `expires * HZ` wraps in 32 bits).
 *
 * Not emulated: NAT (nf_nat_sip hooks: no .nat op; the sequence adjustment exists in
 * ctsim/core/seqadj.c for the helpers that have one), forced_dport,
 * sip_external_media, the module parameters other than their defaults.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include "ctsim/core/expect.h"
#include "helpers/helpers.h"

#define SIP_PORT		5060
#define SIP_TIMEOUT		3600	/* sip_timeout: the master's timeout */

enum sip_class {
	SIP_EXPECT_SIGNALLING,
	SIP_EXPECT_AUDIO,
	SIP_EXPECT_VIDEO,
	SIP_EXPECT_IMAGE,
	SIP_EXPECT_MAX = SIP_EXPECT_IMAGE,
};

/* struct nf_ct_sip_master */
struct sip_master {
	uint32_t register_cseq;
	uint32_t invite_cseq;
};

/* What the parsers need of the packet and its entry. */
struct sip_msg {
	struct ct_helper_ctx *x;
	const char *d;		/* the message */
	size_t len;
	uint8_t l3num;
};

typedef size_t (*match_fn)(uint8_t l3, const char *p, const char *lim, size_t *shift);

struct sip_header {
	const char *name, *cname, *search;
	size_t len, clen, slen;
	match_fn match_len;
};

/* ---------------------------------------------------------------------- */
/* Numbers and addresses, never past @lim                                  */

#define NUM_SAT	0xffffffffu

/* simple_strtoul() with @base 10 or 0 (0x.., 0..), bounded by @lim, saturating
 * at NUM_SAT (*ovf set) instead of wrapping. */
static uint32_t sip_strtoul(const char *p, const char *lim, int base, const char **end,
			    bool *ovf)
{
	uint64_t v = 0;

	if (ovf)
		*ovf = false;
	if (base == 0) {
		base = 10;
		if (p < lim && *p == '0') {
			base = 8;
			if (lim - p >= 3 && (p[1] == 'x' || p[1] == 'X') &&
			    isxdigit((unsigned char)p[2])) {
				base = 16;
				p += 2;
			}
		}
	}
	for (; p < lim; p++) {
		int c = (unsigned char)*p, dv;

		if (isdigit(c))
			dv = c - '0';
		else if (isxdigit(c))
			dv = tolower(c) - 'a' + 10;
		else
			break;
		if (dv >= base)
			break;
		v = v * (uint64_t)base + (uint64_t)dv;
		if (v > NUM_SAT) {
			v = NUM_SAT + 1ull;	/* keep reading digits, saturated */
			if (ovf)
				*ovf = true;
		}
	}
	if (end)
		*end = p;
	return v > NUM_SAT ? NUM_SAT : (uint32_t)v;
}

/* in4_pton(.., delim -1, &end): four decimal numbers <= 255 separated by
 * '.', ended by the limit or any character other than a digit, a dot or a
 * hex letter. */
static bool sip_in4(const char *p, const char *lim, union ct_addr *a, const char **end)
{
	uint8_t b[4];
	unsigned w = 0, i = 0, ndig = 0;

	for (;; p++) {
		int c = p < lim ? (unsigned char)*p : '\0';

		if (isdigit(c)) {
			w = w * 10 + (unsigned)(c - '0');
			ndig++;
			if (w > 255)
				return false;
			continue;
		}
		if (isxdigit(c))
			return false;
		if (!ndig)
			return false;
		b[i++] = (uint8_t)w;
		w = 0;
		ndig = 0;
		if (c == '.') {
			if (i >= 4)
				return false;
			continue;
		}
		if (i != 4)
			return false;
		break;
	}
	memset(a, 0, sizeof(*a));
	memcpy(&a->ip, b, 4);
	if (end)
		*end = p;
	return true;
}

/* in6_pton(.., delim -1, &end): the run of hex digits, ':' and '.'. */
static bool sip_in6(const char *p, const char *lim, union ct_addr *a, const char **end)
{
	char buf[INET6_ADDRSTRLEN];
	size_t n = 0;

	while (p + n < lim && (isxdigit((unsigned char)p[n]) || p[n] == ':' || p[n] == '.')) {
		if (n >= sizeof(buf) - 1)
			return false;
		buf[n] = p[n];
		n++;
	}
	buf[n] = '\0';
	memset(a, 0, sizeof(*a));
	if (!n || inet_pton(AF_INET6, buf, a->b) != 1)
		return false;
	if (end)
		*end = p + n;
	return true;
}

/* sip_parse_addr(): IPv6 in brackets when @delim. */
static bool sip_parse_addr(uint8_t l3, const char *cp, const char *lim, const char **endp,
			   union ct_addr *a, bool delim)
{
	const char *end;

	if (l3 == AF_INET)
		return sip_in4(cp, lim, a, endp);
	if (cp < lim && *cp == '[')
		cp++;
	else if (delim)
		return false;
	if (!sip_in6(cp, lim, a, &end))
		return false;
	if (end < lim && *end == ']')
		end++;
	else if (delim)
		return false;
	if (endp)
		*endp = end;
	return true;
}

static bool sdp_parse_addr(uint8_t l3, const char *cp, const char *lim, union ct_addr *a,
			   const char **end)
{
	return l3 == AF_INET ? sip_in4(cp, lim, a, end) : sip_in6(cp, lim, a, end);
}

/* ---------------------------------------------------------------------- */
/* Match lengths                                                           */

static size_t string_len(const char *p, const char *lim)
{
	size_t n = 0;

	while (p + n < lim && isalpha((unsigned char)p[n]))
		n++;
	return n;
}

static size_t digits_len(uint8_t l3, const char *p, const char *lim, size_t *shift)
{
	size_t n = 0;

	(void)l3, (void)shift;
	while (p + n < lim && isdigit((unsigned char)p[n]))
		n++;
	return n;
}

static size_t media_len(uint8_t l3, const char *p, const char *lim, size_t *shift)
{
	size_t n = string_len(p, lim);

	if (p + n >= lim || p[n] != ' ')
		return 0;
	n++;
	return n + digits_len(l3, p + n, lim, shift);
}

static size_t epaddr_len(uint8_t l3, const char *p, const char *lim, size_t *shift)
{
	union ct_addr a;
	const char *q;

	(void)shift;
	if (!sip_parse_addr(l3, p, lim, &q, &a, true))
		return 0;
	if (q < lim && *q == ':') {
		q++;
		q += digits_len(l3, q, lim, NULL);
	}
	return (size_t)(q - p);
}

/* The address after the user info ("user@"), on this line. */
static size_t skp_epaddr_len(uint8_t l3, const char *p, const char *lim, size_t *shift)
{
	const char *q = p;

	while (q < lim && *q != '@' && *q != '\r' && *q != '\n')
		q++;
	if (q < lim && *q == '@')
		*shift += (size_t)(q + 1 - p);
	return epaddr_len(l3, p + *shift, lim, shift);
}

static size_t sdp_addr_len(uint8_t l3, const char *p, const char *lim, size_t *shift)
{
	union ct_addr a;
	const char *q;

	(void)shift;
	if (!sdp_parse_addr(l3, p, lim, &a, &q))
		return 0;
	return (size_t)(q - p);
}

enum { H_CSEQ, H_CONTACT, H_EXPIRES, H_CONTENT_LENGTH };
static const struct sip_header sip_hdrs[] = {
	[H_CSEQ]	= { "CSeq", NULL, NULL, 4, 0, 0, digits_len },
	[H_CONTACT]	= { "Contact", "m", "sip:", 7, 1, 4, skp_epaddr_len },
	[H_EXPIRES]	= { "Expires", NULL, NULL, 7, 0, 0, digits_len },
	/* only sip_help_tcp() uses it, to find where a message ends */
	[H_CONTENT_LENGTH] = { "Content-Length", "l", NULL, 14, 1, 0, digits_len },
};

enum { SDP_VERSION, SDP_CONNECTION, SDP_MEDIA, SDP_UNSPEC };
static const struct sip_header sdp_hdrs_v4[] = {
	[SDP_VERSION]		= { "v=", NULL, NULL, 2, 0, 0, digits_len },
	[SDP_CONNECTION]	= { "c=", NULL, "IN IP4 ", 2, 0, 7, sdp_addr_len },
	[SDP_MEDIA]		= { "m=", NULL, NULL, 2, 0, 0, media_len },
};
static const struct sip_header sdp_hdrs_v6[] = {
	[SDP_VERSION]		= { "v=", NULL, NULL, 2, 0, 0, digits_len },
	[SDP_CONNECTION]	= { "c=", NULL, "IN IP6 ", 2, 0, 7, sdp_addr_len },
	[SDP_MEDIA]		= { "m=", NULL, NULL, 2, 0, 0, media_len },
};

/* ---------------------------------------------------------------------- */
/* SIP headers (continuation lines, compact forms)                         */

static const char *follow_continuation(const char *p, const char *lim)
{
	if (++p >= lim)
		return NULL;
	if (p[-1] == '\r' && *p == '\n' && ++p >= lim)
		return NULL;
	if (*p != ' ' && *p != '\t')
		return NULL;
	while (p < lim && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *skip_whitespace(const char *p, const char *lim)
{
	for (; p < lim; p++) {
		if (*p == ' ' || *p == '\t')
			continue;
		if (*p != '\r' && *p != '\n')
			break;
		return follow_continuation(p, lim);
	}
	return p;
}

/* ct_sip_header_search(): @needle within a header value. */
static const char *header_search(const char *p, const char *lim, const char *needle, size_t len)
{
	if (lim - p <= (ptrdiff_t)len)
		return NULL;
	for (lim -= len; p < lim; p++) {
		if (*p == '\r' || *p == '\n') {
			/* as the kernel: the loop's p++ then skips the first
			 * character of the continuation line */
			p = follow_continuation(p, lim);
			if (!p || p >= lim)
				break;
			continue;
		}
		if (strncasecmp(p, needle, len) == 0)
			return p;
	}
	return NULL;
}

/* ct_sip_get_header(): 1 found (*off, *mlen), 0 none, -1 unparsable. */
static int get_header(const struct sip_msg *m, size_t dataoff, int type, size_t *off,
		      size_t *mlen)
{
	const struct sip_header *h = &sip_hdrs[type];
	const char *start = m->d, *lim = m->d + m->len, *p;
	size_t shift = 0;

	for (p = start + dataoff; p < lim; p++) {
		if (*p != '\r' && *p != '\n')
			continue;
		if (++p >= lim)
			break;
		if (p[-1] == '\r' && *p == '\n' && ++p >= lim)
			break;
		if (*p == ' ' || *p == '\t')
			continue;
		if ((size_t)(lim - p) >= h->len && strncasecmp(p, h->name, h->len) == 0)
			p += h->len;
		else if (h->cname && (size_t)(lim - p) >= h->clen + 1 &&
			 strncasecmp(p, h->cname, h->clen) == 0 && !isalpha((unsigned char)p[h->clen]))
			p += h->clen;
		else
			continue;
		p = skip_whitespace(p, lim);
		if (!p || p >= lim)
			break;
		if (*p != ':' || ++p >= lim)
			break;
		p = skip_whitespace(p, lim);
		if (!p || p >= lim)
			break;
		*off = (size_t)(p - start);
		if (h->search) {
			p = header_search(p, lim, h->search, h->slen);
			if (!p)
				return -1;
			p += h->slen;
		}
		*mlen = h->match_len(m->l3num, p, lim, &shift);
		if (!*mlen)
			return -1;
		*off = (size_t)(p - start) + shift;
		return 1;
	}
	return 0;
}

/* ct_sip_next_header(): the next value of a comma separated list. */
static int next_header(const struct sip_msg *m, size_t dataoff, int type, size_t *off,
		       size_t *mlen)
{
	const struct sip_header *h = &sip_hdrs[type];
	const char *start = m->d, *lim = m->d + m->len, *p;
	size_t shift = 0;

	p = header_search(start + dataoff, lim, ",", 1);
	if (!p)
		return 0;
	p = header_search(p, lim, h->search, h->slen);
	if (!p)
		return 0;
	p += h->slen;
	*off = (size_t)(p - start);
	*mlen = h->match_len(m->l3num, p, lim, &shift);
	if (!*mlen)
		return -1;
	*off += shift;
	return 1;
}

/* ct_sip_walk_headers() */
static int walk_headers(const struct sip_msg *m, size_t dataoff, int type, int *in_header,
			size_t *off, size_t *mlen)
{
	int ret;

	if (in_header && *in_header) {
		for (;;) {
			ret = next_header(m, dataoff, type, off, mlen);
			if (ret > 0)
				return ret;
			if (ret == 0)
				break;
			dataoff = *off;
		}
		*in_header = 0;
	}
	for (;;) {
		ret = get_header(m, dataoff, type, off, mlen);
		if (ret > 0)
			break;
		if (ret == 0)
			return 0;
		dataoff = *off;
	}
	if (in_header)
		*in_header = 1;
	return 1;
}

/* ct_sip_parse_header_uri(): address and port (default 5060; < 1024 or
 * > 65535 is -1) of a URI header. */
static int parse_header_uri(const struct sip_msg *m, size_t *dataoff, int type, int *in_header,
			    size_t *off, size_t *mlen, union ct_addr *a, uint16_t *port)
{
	const char *lim = m->d + m->len, *c;
	uint32_t p;
	int ret;

	ret = walk_headers(m, dataoff ? *dataoff : 0, type, in_header, off, mlen);
	if (ret == 0)
		return 0;
	if (!sip_parse_addr(m->l3num, m->d + *off, lim, &c, a, true))
		return -1;
	if (c < lim && *c == ':') {
		c++;
		p = sip_strtoul(c, lim, 10, &c, NULL);
		if (p < 1024 || p > 65535)
			return -1;
		*port = (uint16_t)p;
	} else {
		*port = SIP_PORT;
	}
	if (dataoff)
		*dataoff = (size_t)(c - m->d);
	return 1;
}

/* The region of a parameter: up to the next ',' of the header. */
static const char *param_limit(const struct sip_msg *m, size_t dataoff)
{
	const char *lim = header_search(m->d + dataoff, m->d + m->len, ",", 1);

	return lim ? lim : m->d + m->len;
}

/* ct_sip_parse_param(): the value of @name (up to ';'). */
static int parse_param(const struct sip_msg *m, size_t dataoff, const char *name, size_t *off,
		       size_t *mlen)
{
	const char *lim = param_limit(m, dataoff), *start, *end;

	start = header_search(m->d + dataoff, lim, name, strlen(name));
	if (!start)
		return 0;
	start += strlen(name);
	end = header_search(start, lim, ";", 1);
	if (!end)
		end = lim;
	*off = (size_t)(start - m->d);
	*mlen = (size_t)(end - start);
	return 1;
}

/* ct_sip_parse_numerical_param() (base 0, as the kernel). */
static int parse_numerical_param(const struct sip_msg *m, size_t dataoff, const char *name,
				 uint32_t *val)
{
	const char *lim = param_limit(m, dataoff), *start, *end;

	start = header_search(m->d + dataoff, lim, name, strlen(name));
	if (!start)
		return 0;
	start += strlen(name);
	*val = sip_strtoul(start, m->d + m->len, 0, &end, NULL);
	if (start == end)
		return -1;
	return 1;
}

/* ct_sip_parse_transport() */
static bool parse_transport(const struct sip_msg *m, size_t dataoff, uint8_t *proto)
{
	uint8_t l4 = m->x->ct->th[CT_DIR_ORIG].tuple.l4num;
	size_t off, mlen;

	if (parse_param(m, dataoff, "transport=", &off, &mlen)) {
		if (m->len - off >= 3 && !strncasecmp(m->d + off, "TCP", 3))
			*proto = IPPROTO_TCP;
		else if (m->len - off >= 3 && !strncasecmp(m->d + off, "UDP", 3))
			*proto = IPPROTO_UDP;
		else
			return false;
		return *proto == l4;
	}
	*proto = l4;
	return true;
}

/* ---------------------------------------------------------------------- */
/* SDP                                                                     */

static const char *sdp_search(const char *p, const char *lim, const char *needle, size_t len)
{
	if (lim - p <= (ptrdiff_t)len)
		return NULL;
	for (lim -= len; p < lim; p++) {
		if (*p == '\r' || *p == '\n')
			break;
		if (strncmp(p, needle, len) == 0)
			return p;
	}
	return NULL;
}

/* ct_sip_get_sdp_header(): a line @type before a line @term. */
static int get_sdp_header(const struct sip_msg *m, size_t dataoff, int type, int term,
			  size_t *off, size_t *mlen)
{
	const struct sip_header *hdrs = m->l3num == AF_INET ? sdp_hdrs_v4 : sdp_hdrs_v6;
	const struct sip_header *h = &hdrs[type], *th = term == SDP_UNSPEC ? NULL : &hdrs[term];
	const char *start = m->d, *lim = m->d + m->len, *p;
	size_t shift = 0;

	for (p = start + dataoff; p < lim; p++) {
		if (*p != '\r' && *p != '\n')
			continue;
		if (++p >= lim)
			break;
		if (p[-1] == '\r' && *p == '\n' && ++p >= lim)
			break;
		if (th && (size_t)(lim - p) >= th->len && strncasecmp(p, th->name, th->len) == 0)
			break;
		else if ((size_t)(lim - p) >= h->len && strncasecmp(p, h->name, h->len) == 0)
			p += h->len;
		else
			continue;
		*off = (size_t)(p - start);
		if (h->search) {
			p = sdp_search(p, lim, h->search, h->slen);
			if (!p)
				return -1;
			p += h->slen;
		}
		*mlen = h->match_len(m->l3num, p, lim, &shift);
		if (!*mlen)
			return -1;
		*off = (size_t)(p - start) + shift;
		return 1;
	}
	return 0;
}

static int parse_sdp_addr(const struct sip_msg *m, size_t dataoff, int type, int term,
			  size_t *off, size_t *mlen, union ct_addr *a)
{
	int ret = get_sdp_header(m, dataoff, type, term, off, mlen);

	if (ret <= 0)
		return ret;
	if (!sdp_parse_addr(m->l3num, m->d + *off, m->d + *off + *mlen, a, NULL))
		return -1;
	return 1;
}

/* ---------------------------------------------------------------------- */
/* Expectations                                                            */

static struct sip_master *sip_info(struct ct_helper_ctx *x)
{
	return ct_helper_data(x->ct, sizeof(struct sip_master));
}

/* flush_expectations(): all media ones, or the first signalling one. */
static void flush_expectations(struct ct_helper_ctx *x, bool media)
{
	struct ct_table *t = x->core->table;
	struct ct_expect *e, *next;

	if (!t->expect)
		return;
	for (e = t->expect->head; e; e = next) {
		next = e->next;
		if (e->master != x->ct || ((e->class != SIP_EXPECT_SIGNALLING) ^ media))
			continue;
		ct_expect_unlink(t, e, 0, false);
		if (!media)
			break;
	}
}

/* An expectation with the same tuple and mask exists (any master): what
 * the kernel's NF_CT_EXP_F_SKIP_MASTER turns into -EALREADY. */
static struct ct_expect *same_expect(struct ct_table *t, const struct ct_expect *n)
{
	if (!t->expect)
		return NULL;
	for (struct ct_expect *e = t->expect->head; e; e = e->next)
		if (!memcmp(&e->tuple, &n->tuple, sizeof(e->tuple)) &&
		    !memcmp(&e->mask.src, &n->mask.src, sizeof(e->mask.src)) &&
		    e->mask.sport == n->mask.sport &&
		    ct_expect_zone(e) == ct_expect_zone(n))
			return e;
	return NULL;
}

static int related_skip_master(struct ct_table *t, const struct ct_expect *exp)
{
	int err = ct_expect_related(t, exp, 0, false);

	if (err == -EBUSY) {
		struct ct_expect *e = same_expect(t, exp);

		if (e && (e->master != exp->master || e->class != exp->class))
			err = -EALREADY;
	}
	return err;
}

/* set_expected_rtp_rtcp() without NAT, sip_direct_media = 1. */
static int set_expected_rtp_rtcp(struct ct_helper_ctx *x, const union ct_addr *daddr,
				 uint16_t port, uint32_t class)
{
	struct ct_table *t = x->core->table;
	struct conn *ct = x->ct;
	const union ct_addr *saddr = &ct->th[!x->dir].tuple.src;
	struct ct_tuple tuple;
	struct ct_expect rtp, rtcp, *e;
	uint16_t base = port & (uint16_t)~1u, base1 = (uint16_t)(base + 1);
	int errp, errcp;

	if (memcmp(daddr, &ct->th[x->dir].tuple.src, sizeof(*daddr)) != 0)
		return CT_ACCEPT;	/* sip_direct_media: not the sender's */
	memset(&tuple, 0, sizeof(tuple));
	tuple.src = *saddr;
	tuple.l3num = ct->th[CT_DIR_ORIG].tuple.l3num;
	tuple.l4num = IPPROTO_UDP;
	tuple.dst = *daddr;
	tuple.dport = port;
	e = ct_expect_find(t, &tuple, ct->zone.id);
	if (e && e->master != ct && ct_helper_of(e->master) == ct_helper_of(ct) &&
	    e->class == class)
		return CT_ACCEPT;	/* another call leg expects it already */

	ct_expect_init(&rtp, ct, class, tuple.l3num, saddr, daddr, IPPROTO_UDP, NULL, &base);
	ct_expect_init(&rtcp, ct, class, tuple.l3num, saddr, daddr, IPPROTO_UDP, NULL, &base1);
	errp = related_skip_master(t, &rtp);
	if (errp != 0 && errp != -EALREADY)
		return CT_DROP;
	errcp = related_skip_master(t, &rtcp);
	if (errcp == 0 || errcp == -EALREADY)
		return CT_ACCEPT;
	if (errp == 0 && (e = same_expect(t, &rtp)) && e->master == ct)
		ct_expect_unlink(t, e, 0, false);	/* nf_ct_unexpect_related() */
	return CT_DROP;
}

static const struct {
	const char *name;
	size_t len;
	uint32_t class;
} sdp_media_types[] = {
	{ "audio ", 6, SIP_EXPECT_AUDIO },
	{ "video ", 6, SIP_EXPECT_VIDEO },
	{ "image ", 6, SIP_EXPECT_IMAGE },
};
#define N_MEDIA_TYPES (sizeof(sdp_media_types) / sizeof(sdp_media_types[0]))

/* process_sdp() */
static int process_sdp(struct sip_msg *m)
{
	size_t off, mlen, sdpoff, mediaoff, medialen, caddr_len = 0;
	union ct_addr caddr, maddr, rtp_addr;
	unsigned i;

	if (get_sdp_header(m, 0, SDP_VERSION, SDP_UNSPEC, &off, &mlen) <= 0)
		return CT_ACCEPT;
	sdpoff = off;
	if (parse_sdp_addr(m, sdpoff, SDP_CONNECTION, SDP_MEDIA, &off, &mlen, &caddr) > 0)
		caddr_len = mlen;

	mediaoff = sdpoff;
	for (i = 0; i < N_MEDIA_TYPES;) {
		unsigned k;
		uint32_t port;
		bool ovf;
		int ret;

		if (get_sdp_header(m, mediaoff, SDP_MEDIA, SDP_UNSPEC, &mediaoff, &medialen) <= 0)
			break;
		for (k = 0; k < N_MEDIA_TYPES; k++)
			if (medialen >= sdp_media_types[k].len &&
			    !strncmp(m->d + mediaoff, sdp_media_types[k].name,
				     sdp_media_types[k].len))
				break;
		if (k == N_MEDIA_TYPES) {
			mediaoff += medialen;
			continue;
		}
		mediaoff += sdp_media_types[k].len;
		port = sip_strtoul(m->d + mediaoff, m->d + m->len, 10, NULL, &ovf);
		if (port == 0 && !ovf)
			continue;	/* an inactive stream */
		if (port < 1024 || port > 65535) {
			ct_helper_log(m->x, "wrong port");
			return CT_DROP;
		}
		if (parse_sdp_addr(m, mediaoff, SDP_CONNECTION, SDP_MEDIA, &off, &mlen, &maddr) > 0)
			rtp_addr = maddr;
		else if (caddr_len)
			rtp_addr = caddr;
		else {
			ct_helper_log(m->x, "cannot parse SDP message");
			return CT_DROP;
		}
		ret = set_expected_rtp_rtcp(m->x, &rtp_addr, (uint16_t)port,
					    sdp_media_types[k].class);
		if (ret != CT_ACCEPT) {
			ct_helper_log(m->x, "cannot add expectation for voice");
			return ret;
		}
		i++;
	}
	return CT_ACCEPT;
}

/* refresh_signalling_expectation() */
static bool refresh_signalling(struct ct_helper_ctx *x, const union ct_addr *a, uint8_t proto,
			       uint16_t port, uint32_t expires)
{
	struct ct_table *t = x->core->table;
	const uint32_t max_s = 0x7fffffffu / 1000;	/* hardening: INT_MAX jiffies */

	if (!t->expect)
		return false;
	for (struct ct_expect *e = t->expect->head; e; e = e->next) {
		if (e->master != x->ct || e->class != SIP_EXPECT_SIGNALLING ||
		    memcmp(&e->tuple.dst, a, sizeof(*a)) != 0 || e->tuple.l4num != proto ||
		    e->tuple.dport != port)
			continue;
		if (e->expires <= t->now)
			continue;	/* mod_timer_pending(): timer no longer pending */
		e->expires = t->now + (uint64_t)(expires > max_s ? max_s : expires) *
				      CT_NSEC_PER_SEC;
		e->flags &= ~(uint32_t)CT_EXP_F_INACTIVE;
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------------- */
/* Requests and responses                                                  */

static int process_invite_request(struct sip_msg *m, uint32_t cseq)
{
	struct sip_master *info = sip_info(m->x);
	int ret;

	flush_expectations(m->x, true);
	ret = process_sdp(m);
	if (ret == CT_ACCEPT && info)
		info->invite_cseq = cseq;
	return ret;
}

static int process_sdp_request(struct sip_msg *m, uint32_t cseq)
{
	(void)cseq;
	return process_sdp(m);
}

static int process_bye_request(struct sip_msg *m, uint32_t cseq)
{
	(void)cseq;
	flush_expectations(m->x, true);
	return CT_ACCEPT;
}

/* process_register_request(): a PERMANENT|INACTIVE signalling expectation. */
static int process_register_request(struct sip_msg *m, uint32_t cseq)
{
	struct ct_helper_ctx *x = m->x;
	struct conn *ct = x->ct;
	struct sip_master *info = sip_info(x);
	struct ct_expect exp;
	union ct_addr daddr;
	size_t off, mlen;
	uint32_t expires = 0;
	uint16_t port;
	uint8_t proto;
	int ret;

	if (ct->status & CT_S_EXPECTED)
		return CT_ACCEPT;	/* expected connections can not register again */
	if (get_header(m, 0, H_EXPIRES, &off, &mlen) > 0)
		expires = sip_strtoul(m->d + off, m->d + m->len, 10, NULL, NULL);
	ret = parse_header_uri(m, NULL, H_CONTACT, NULL, &off, &mlen, &daddr, &port);
	if (ret < 0) {
		ct_helper_log(x, "cannot parse contact");
		return CT_DROP;
	}
	if (ret == 0)
		return CT_ACCEPT;
	/* third-party registrations are not supported */
	if (memcmp(&ct->th[x->dir].tuple.src, &daddr, sizeof(daddr)) != 0)
		return CT_ACCEPT;
	if (!parse_transport(m, off + mlen, &proto))
		return CT_ACCEPT;
	if (parse_numerical_param(m, off + mlen, "expires=", &expires) < 0) {
		ct_helper_log(x, "cannot parse expires");
		return CT_DROP;
	}
	if (expires != 0) {
		/* sip_direct_signalling = 1: only from the registrar */
		ct_expect_init(&exp, ct, SIP_EXPECT_SIGNALLING, ct->th[CT_DIR_ORIG].tuple.l3num,
			       &ct->th[!x->dir].tuple.src, &daddr, proto, NULL, &port);
		exp.helper = ct_helper_of(ct);
		exp.flags = CT_EXP_F_PERMANENT | CT_EXP_F_INACTIVE;
		if (ct_expect_related(x->core->table, &exp, 0, false) != 0) {
			ct_helper_log(x, "cannot add expectation");
			return CT_DROP;
		}
	}
	if (info)
		info->register_cseq = cseq;
	return CT_ACCEPT;
}

static int process_media_response(struct sip_msg *m, uint32_t cseq, uint32_t code)
{
	struct sip_master *info = sip_info(m->x);

	if (code >= 100 && code <= 299)
		return process_sdp(m);
	if (info && info->invite_cseq == cseq)
		flush_expectations(m->x, true);
	return CT_ACCEPT;
}

static int process_register_response(struct sip_msg *m, uint32_t cseq, uint32_t code)
{
	struct ct_helper_ctx *x = m->x;
	struct sip_master *info = sip_info(x);
	union ct_addr a;
	size_t off, mlen, coff = 0;
	uint32_t expires = 0;
	uint16_t port;
	uint8_t proto;
	int in_contact = 0, ret;

	if (!info || info->register_cseq != cseq)
		return CT_ACCEPT;	/* a late response */
	if (code >= 100 && code <= 199)
		return CT_ACCEPT;
	if (code < 200 || code > 299)
		goto flush;
	if (get_header(m, 0, H_EXPIRES, &off, &mlen) > 0)
		expires = sip_strtoul(m->d + off, m->d + m->len, 10, NULL, NULL);
	for (;;) {
		uint32_t c_expires = expires;

		ret = parse_header_uri(m, &coff, H_CONTACT, &in_contact, &off, &mlen, &a, &port);
		if (ret < 0) {
			ct_helper_log(x, "cannot parse contact");
			return CT_DROP;
		}
		if (ret == 0)
			break;
		if (memcmp(&x->ct->th[x->dir].tuple.dst, &a, sizeof(a)) != 0)
			continue;
		if (!parse_transport(m, off + mlen, &proto))
			continue;
		if (parse_numerical_param(m, off + mlen, "expires=", &c_expires) < 0) {
			ct_helper_log(x, "cannot parse expires");
			return CT_DROP;
		}
		if (c_expires == 0)
			break;
		if (refresh_signalling(x, &a, proto, port, c_expires))
			return CT_ACCEPT;
	}
flush:
	flush_expectations(x, false);
	return CT_ACCEPT;
}

static const struct sip_handler {
	const char *method;
	size_t len;
	int (*request)(struct sip_msg *m, uint32_t cseq);
	int (*response)(struct sip_msg *m, uint32_t cseq, uint32_t code);
} sip_handlers[] = {
	{ "INVITE", 6, process_invite_request, process_media_response },
	{ "UPDATE", 6, process_sdp_request, process_media_response },
	{ "ACK", 3, process_sdp_request, NULL },
	{ "PRACK", 5, process_sdp_request, process_media_response },
	{ "BYE", 3, process_bye_request, NULL },
	{ "REGISTER", 8, process_register_request, process_register_response },
};
#define N_HANDLERS (sizeof(sip_handlers) / sizeof(sip_handlers[0]))

/* The CSeq number: 1, or 0 after logging (drop). */
static bool get_cseq(struct sip_msg *m, uint32_t *cseq, size_t *off, size_t *mlen)
{
	bool ovf;

	if (get_header(m, 0, H_CSEQ, off, mlen) <= 0) {
		ct_helper_log(m->x, "cannot parse cseq");
		return false;
	}
	*cseq = sip_strtoul(m->d + *off, m->d + m->len, 10, NULL, &ovf);
	if (ovf || (!*cseq && m->d[*off] != '0')) {
		ct_helper_log(m->x, "cannot get cseq");
		return false;
	}
	return true;
}

/* process_sip_response() */
static int process_sip_response(struct sip_msg *m)
{
	size_t off, mlen, matchend;
	uint32_t code, cseq;

	if (m->len < strlen("SIP/2.0 200"))
		return CT_ACCEPT;
	code = sip_strtoul(m->d + 8, m->d + m->len, 10, NULL, NULL);
	if (!code) {
		ct_helper_log(m->x, "cannot get code");
		return CT_DROP;
	}
	if (!get_cseq(m, &cseq, &off, &mlen))
		return CT_DROP;
	matchend = off + mlen + 1;
	for (size_t i = 0; i < N_HANDLERS; i++) {
		const struct sip_handler *h = &sip_handlers[i];

		if (!h->response)
			continue;
		if (m->len < matchend + h->len ||
		    strncasecmp(m->d + matchend, h->method, h->len) != 0)
			continue;
		return h->response(m, cseq, code);
	}
	return CT_ACCEPT;
}

/* process_sip_request() */
static int process_sip_request(struct sip_msg *m)
{
	size_t off, mlen;
	uint32_t cseq;

	for (size_t i = 0; i < N_HANDLERS; i++) {
		const struct sip_handler *h = &sip_handlers[i];

		if (m->len < h->len + 2 || strncasecmp(m->d, h->method, h->len) != 0)
			continue;
		if (m->d[h->len] != ' ' || !isalpha((unsigned char)m->d[h->len + 1]))
			continue;
		if (!get_cseq(m, &cseq, &off, &mlen))
			return CT_DROP;
		return h->request(m, cseq);
	}
	return CT_ACCEPT;
}

/* process_sip_msg() without NAT: a request or a response. */
static int process_sip_msg(struct sip_msg *m)
{
	if (m->len < 8 || strncasecmp(m->d, "SIP/2.0 ", 8) != 0)
		return process_sip_request(m);
	return process_sip_response(m);
}

/* nf_ct_refresh(ct, sip_timeout * HZ): every packet with payload, over UDP
 * and TCP alike, before anything is parsed. Over TCP this replaces the
 * tracker's ESTABLISHED timeout (5 days) that tcp_packet() just set: a SIP
 * connection lists 3600 after data, 432000 after a bare ACK. */
static void sip_refresh(struct ct_helper_ctx *x)
{
	struct ct_table *t = x->core->table;
	struct conn *ct = x->ct;

	if (ct->status & CT_S_FIXED_TIMEOUT)
		return;
	conn_set_timeout(t, ct, SIP_TIMEOUT);
	if (!(ct->status & CT_S_CONFIRMED))
		ct->expires -= t->now;
}

/* sip_help_udp() */
static int sip_help_udp(struct ct_helper_ctx *x)
{
	struct conn *ct = x->ct;
	const uint8_t *d;
	size_t len;
	struct sip_msg m;

	if (!(len = ct_helper_payload(x, &d)))
		return CT_ACCEPT;	/* no data */
	sip_refresh(x);
	m = (struct sip_msg){ .x = x, .d = (const char *)d,
			      .len = len, .l3num = ct->th[CT_DIR_ORIG].tuple.l3num };
	if (m.len < strlen("SIP/2.0 200"))
		return CT_ACCEPT;
	return process_sip_msg(&m);
}

/*
 * sip_help_tcp(): the messages of one segment, one after the other. A
 * message is framed by its Content-Length: the first `Content-Length:` /
 * `l:` header at a line start anywhere in the rest of the segment (the
 * search is not confined to the headers, nor to this message), then the
 * first CRLF CRLF after its number, then that many body bytes. The kernel
 * does not reassemble: when no Content-Length or no CRLF CRLF is found the
 * rest of the segment is ignored, and when the body goes past the segment
 * the rest is accepted unread (a message split over segments is never
 * seen, not even its complete first part). A message that makes the
 * helper drop stops the walk; what earlier messages did stays.
 *
 * Hardening (docs/helpers.md): the kernel's Content-Length is a wrapping
 * simple_strtoul() and the message length an unsigned int, so a length
 * near 2^32 wraps to a short message that is then parsed; ctsim saturates
 * and such a message runs past the segment (accepted unread).
 */
static int sip_help_tcp(struct ct_helper_ctx *x)
{
	struct conn *ct = x->ct;
	const uint8_t *payload;
	size_t datalen;
	const char *d;
	int ret = CT_ACCEPT;

	if (x->ctinfo != CT_INFO_ESTABLISHED && x->ctinfo != CT_INFO_ESTABLISHED_REPLY)
		return CT_ACCEPT;
	if (!(datalen = ct_helper_payload(x, &payload)))
		return CT_ACCEPT;	/* no data */
	sip_refresh(x);
	d = (const char *)payload;
	if (datalen < strlen("SIP/2.0 200"))
		return CT_ACCEPT;

	for (;;) {
		/* the rest of the segment, for the Content-Length search */
		struct sip_msg rest = { .x = x, .d = d, .len = datalen,
					.l3num = ct->th[CT_DIR_ORIG].tuple.l3num };
		struct sip_msg m = rest;
		const char *num_end, *q, *lim = d + datalen;
		size_t off, mlen;
		uint64_t msglen;
		uint32_t clen;

		if (get_header(&rest, 0, H_CONTENT_LENGTH, &off, &mlen) <= 0)
			break;
		clen = sip_strtoul(d + off, lim, 10, &num_end, NULL);
		if (num_end == d + off)
			break;
		/* the end of the headers: the first CRLF CRLF after the number */
		for (q = num_end; lim - q >= 4; q++)
			if (q[0] == '\r' && q[1] == '\n' && q[2] == '\r' && q[3] == '\n')
				break;
		if (lim - q < 4)
			break;
		msglen = (uint64_t)(q + 4 - d) + clen;
		if (msglen > datalen)
			return CT_ACCEPT;	/* the body is not all here */
		m.len = (size_t)msglen;
		ret = process_sip_msg(&m);
		if (ret != CT_ACCEPT)
			break;
		d += m.len;
		datalen -= m.len;
	}
	return ret;
}

/* sip_exp_policy[]: the same for UDP and TCP. */
#define SIP_POLICY { \
	[SIP_EXPECT_SIGNALLING]	= { .max_expected = 1, .timeout = 3 * 60, .name = "signalling" }, \
	[SIP_EXPECT_AUDIO]	= { .max_expected = 4, .timeout = 3 * 60, .name = "audio" }, \
	[SIP_EXPECT_VIDEO]	= { .max_expected = 4, .timeout = 3 * 60, .name = "video" }, \
	[SIP_EXPECT_IMAGE]	= { .max_expected = 2, .timeout = 3 * 60, .name = "image" }, \
}

const struct ct_helper ct_helper_sip = {
	.name = "sip",
	.l4num = IPPROTO_UDP,
	.expect_class_max = SIP_EXPECT_MAX,
	.policy = SIP_POLICY,
	.data_len = sizeof(struct sip_master),
	.help = sip_help_udp,
	.what = "INVITE/200 OK SDP: RTP+RTCP media; REGISTER: signalling",
	.module = "nf_conntrack_sip",
};

/* The kernel registers "sip" for UDP and for TCP (nf_conntrack_sip_init()),
 * two helpers with the same name and policy: `ct helper x { type "sip"
 * protocol tcp; }` finds this one (ct_helper_find() is by name and l4
 * protocol). Being a different helper matters: another call leg's media
 * expectation is only "the same" for a master with the same helper. */
const struct ct_helper ct_helper_sip_tcp = {
	.name = "sip",
	.l4num = IPPROTO_TCP,
	.expect_class_max = SIP_EXPECT_MAX,
	.policy = SIP_POLICY,
	.data_len = sizeof(struct sip_master),
	.help = sip_help_tcp,
	.what = "the same over TCP (messages framed by Content-Length)",
	.module = "nf_conntrack_sip",
};
