/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * irc.c — the IRC helper (net/netfilter/nf_conntrack_irc.c), written from
 * the kernel's documented behaviour.
 *
 * Reads what the CLIENT sends to the IRC server (the reply direction is
 * ignored) and expects the DCC connection a PRIVMSG announces:
 *
 *   PRIVMSG nick :\1DCC SEND file 3232235777 5000 [size]\1\r\n
 *   PRIVMSG nick :\1DCC CHAT chat 3232235777 5000\1\r\n
 *
 * DCC kinds: SEND, CHAT, MOVE, TSEND, SCHAT. The address is one decimal
 * number (the IPv4 address as a 32-bit integer), then blanks, then the
 * decimal port. The expectation: TCP from ANY address and any port to the
 * client's address (the master's reply destination) and the announced
 * port; class 0, policy max 8 (max_dcc_channels), 300 s (dcc_timeout).
 *
 * As the kernel: only established packets of an IPv4 connection; leading
 * blanks/CR/LF skipped, then "PRIVMSG " (any case) must start the data
 * (when there are more than 10 bytes); the first "\1DCC <kind> " that
 * parses is used (one expectation per packet); a '\n' must follow the
 * address in the same packet; an address that is neither the client's
 * source nor its reply destination, or port 0, is "forged" and skipped
 * (the search goes on). The helper never drops for bad input; it drops
 * only when the expectation cannot be added (as the kernel).
 *
 * Deliberate hardening (docs/helpers.md): the kernel parses the numbers
 * with simple_strtoul() and truncates them (an address > 32 bits or a port
 * > 65535 wraps); here a number out of range, or a missing number, makes
 * the command unparseable: skipped, nothing expected, an error counted.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include "ctsim/core/expect.h"
#include "ctsim/core/nat_helper.h"
#include <stdio.h>
#include "helpers/helpers.h"

#define IRC_MAX_DCC	8	/* max_dcc_channels */
#define IRC_DCC_TIMEOUT	300	/* dcc_timeout, seconds */
#define MINMATCHLEN	5

static const char *const dcc_kinds[] = { "SEND ", "CHAT ", "MOVE ", "TSEND ", "SCHAT " };

/* A decimal number of at most @max at @p (< @end); advances @p. */
static bool dec(const char **p, const char *end, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	const char *s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return false;
	while (s < end && *s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return false;
		s++;
	}
	*p = s;
	*out = v;
	return true;
}

/*
 * parse_dcc(): @data points after "DCC <kind> "; skip the argument (file
 * name, "chat") up to its blank, then "<ip> <port>". A '\n' must come
 * later in the packet. Returns false if malformed.
 */
static bool parse_dcc(const char *data, const char *end, uint32_t *ip, uint16_t *port,
		      const char **ad_beg, const char **ad_end)
{
	unsigned long long v;
	const char *nl;

	/* at least "AAAAAAAA P\1\n" (12 bytes) must remain after the blank */
	for (;;) {
		if (data >= end)
			return false;
		if (*data++ == ' ')
			break;
		if (data > end - 12)
			return false;
	}
	nl = memchr(data, '\n', (size_t)(end - data));
	if (!nl)
		return false;
	*ad_beg = data;		/* what NAT rewrites: "<ip> <port>" */
	if (!dec(&data, nl, 0xffffffffull, &v))
		return false;
	*ip = (uint32_t)v;
	while (data < nl && *data == ' ')
		data++;
	if (!dec(&data, nl, 0xffff, &v))
		return false;
	*port = (uint16_t)v;
	*ad_end = data;
	return true;
}

/* help() of nf_conntrack_irc.c */
static int irc_help(struct ct_helper_ctx *x)
{
	struct conn *ct = x->ct;
	int dir = x->dir;
	const struct ct_tuple *snd = &ct->th[dir].tuple, *other = &ct->th[!dir].tuple;
	const uint8_t *payload;
	const char *data, *end;
	size_t datalen;

	/* only what the client sends to the server */
	if (dir == CT_DIR_REPLY)
		return CT_ACCEPT;
	/* until there's been traffic both ways, don't look in packets */
	if (x->ctinfo != CT_INFO_ESTABLISHED && x->ctinfo != CT_INFO_ESTABLISHED_REPLY)
		return CT_ACCEPT;
	/* the kernel registers this helper for AF_INET only */
	if (snd->l3num != AF_INET)
		return CT_ACCEPT;
	if (!(datalen = ct_helper_payload(x, &payload)))
		return CT_ACCEPT;	/* no data */
	data = (const char *)payload;
	end = data + datalen;

	/* skip any whitespace */
	while (end - data > 10 && (*data == ' ' || *data == '\r' || *data == '\n'))
		data++;
	/* strlen("PRIVMSG x ") = 10 */
	if (end - data > 10) {
		if (strncasecmp(data, "PRIVMSG ", 8))
			return CT_ACCEPT;
		data += 8;
	}

	/* strlen(" :\1DCC SENT t AAAAAAAA P\1\n") = 26 = 19 + MINMATCHLEN + 2 */
	while (end - data > 19 + MINMATCHLEN) {
		struct ct_expect exp;
		const char *ad_beg, *ad_end;
		uint32_t ip;
		uint16_t port;
		size_t k;

		if (memcmp(data, "\1DCC ", 5)) {
			data++;
			continue;
		}
		data += 5;
		for (k = 0; k < sizeof(dcc_kinds) / sizeof(dcc_kinds[0]); k++)
			if (!memcmp(data, dcc_kinds[k], strlen(dcc_kinds[k])))
				break;
		if (k == sizeof(dcc_kinds) / sizeof(dcc_kinds[0]))
			continue;
		data += strlen(dcc_kinds[k]);
		if (!parse_dcc(data, end, &ip, &port, &ad_beg, &ad_end)) {
			ct_helper_log(x, "unable to parse dcc command");
			continue;
		}
		/* the address may be the client's own or its NATed one */
		if ((ntohl(snd->src.ip) != ip && ntohl(other->dst.ip) != ip) || port == 0) {
			ct_helper_log(x, "forged DCC command");
			continue;
		}
		ct_expect_init(&exp, ct, 0, AF_INET, NULL, &other->dst, IPPROTO_TCP, NULL, &port);
		if (ct_helper_irc.nat && (ct->status & (CT_S_SRC_NAT | CT_S_DST_NAT))) {
			struct ct_helper_match m = {
				.off = (size_t)(ad_beg - (const char *)payload),
				.len = (size_t)(ad_end - ad_beg), .exp = &exp,
			};

			return ct_helper_irc.nat(x, &m);
		}
		if (ct_expect_related(x->core->table, &exp, 0, false) != 0) {
			ct_helper_log(x, "cannot add expectation");
			return CT_DROP;
		}
		return CT_ACCEPT;
	}
	return CT_ACCEPT;
}

/* nf_nat_irc.c help(): the DCC address becomes the one the server sees
 * the client as (the master's reply destination), on a free port; the
 * offered connection is bound like its master. */
static int irc_nat(struct ct_helper_ctx *x, const struct ct_helper_match *m)
{
	struct ct_table *t = x->core->table;
	struct ct_expect *exp = m->exp;
	struct conn *ct = x->ct;
	const union ct_addr newaddr = ct->th[CT_DIR_REPLY].tuple.dst;
	char buf[sizeof("4294967296 65635")];
	uint16_t port;
	int len;

	exp->saved_proto = exp->tuple.dport;
	exp->dir = CT_DIR_REPLY;
	exp->follow_master = true;
	if (!(port = ct_nat_exp_find_port(t, exp, exp->saved_proto))) {
		ct_helper_log(x, "all ports in use");
		return CT_DROP;
	}
	len = snprintf(buf, sizeof(buf), "%u %u", (unsigned)ntohl(newaddr.ip), port);
	if (ct_nat_mangle_tcp_packet(&x->skb->pkt, ct, x->dir, m->off, m->len, buf, (size_t)len))
		return CT_ACCEPT;
	ct_helper_log(x, "cannot mangle packet");
	{
		struct ct_expect *e = ct_expect_find(t, &exp->tuple, ct_expect_zone(exp));

		if (e && e->master == ct)
			ct_expect_unlink(t, e, 0, false);
	}
	return CT_DROP;
}

const struct ct_helper ct_helper_irc = {
	.name = "irc",
	.l3num = AF_INET,	/* registered for IPv4 only */
	.l4num = IPPROTO_TCP,
	.expect_class_max = 0,
	.policy = { { .max_expected = IRC_MAX_DCC, .timeout = IRC_DCC_TIMEOUT, .name = "irc" } },
	.data_len = 0,
	.help = irc_help,
	.nat = irc_nat,
	.what = "DCC CHAT/SEND/... in PRIVMSG: a connection to the offered port",
	.module = "nf_conntrack_irc",
};
