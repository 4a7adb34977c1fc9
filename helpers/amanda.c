/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * amanda.c — the Amanda backup helper (net/netfilter/nf_conntrack_amanda.c).
 *
 * The Amanda server asks a client (UDP, port 10080) for a backup; the
 * client's answer names the TCP ports the server must connect back to:
 *
 *   server -> client  "Amanda 2.4 REQ HANDLE ... SEQ ...\n..."    (ignored)
 *   client -> server  "Amanda 2.4 REP HANDLE ...\nCONNECT DATA 50000 MESG 50001 INDEX 50002\n"
 *
 * Only the REPLY direction is read (amanda_help()). Every reply packet
 * first refreshes the master to master_timeout (300 s: the client's answers
 * can come late), even without payload. Then, as the kernel's text
 * searches: the first "CONNECT " anywhere in the datagram, the first '\n'
 * after it (none: nothing); inside that line, for "DATA ", "MESG ",
 * "INDEX " in this order, the first occurrence, and the decimal number
 * right after it, read from at most 5 characters (sizeof("65535") - 1, and
 * not past the '\n'). A keyword that is missing is skipped; a number that
 * is 0 or absent stops the whole loop (the kernel's `break`), so what came
 * before stays expected. Each port: TCP from the master's original source
 * (the Amanda server), any source port, to its original destination (the
 * client) and that port; class 0, policy max 3, 180 s. A failed insertion
 * drops the packet but the loop goes on (ret = NF_DROP, no break).
 *
 * Registered for IPv4 and IPv6, UDP. For a NATed master, the NAT hook
 * (nf_nat_amanda.c) registers each expectation on a free port and writes
 * that port into the reply.
 *
 * Deliberate hardening (docs/helpers.md): the kernel stores the number in
 * a u16 (htons(simple_strtoul())), so 65536..99999 wrap (70000 is 4464,
 * 65536 is 0 = stop); here any value above 65535 stops the loop like port
 * 0 and counts a helper error.
 */
#include <netinet/in.h>
#include <string.h>
#include "ctsim/core/expect.h"
#include "ctsim/core/nat_helper.h"
#include <stdio.h>
#include "helpers/helpers.h"

#define AMANDA_MASTER_TIMEOUT	300	/* module parameter master_timeout */
#define AMANDA_PORT_CHARS	5	/* sizeof("65535") - 1: pbuf of amanda_help() */

/*
 * find - skb_find_text(): the offset of the first occurrence of @pat that
 * lies wholly inside d[from, to), or -1. The kernel's textsearch (kmp) is
 * case-sensitive and binary-safe; NULs are ordinary bytes.
 */
static long find(const uint8_t *d, size_t from, size_t to, const char *pat)
{
	size_t n = strlen(pat);

	if (to < from || to - from < n)
		return -1;
	for (size_t i = from; i + n <= to; i++)
		if (!memcmp(d + i, pat, n))
			return (long)i;
	return -1;
}

/* amanda_help() */
static int amanda_help(struct ct_helper_ctx *x)
{
	static const char *const keys[] = { "DATA ", "MESG ", "INDEX " };
	struct ct_table *t = x->core->table;
	struct conn *ct = x->ct;
	const struct ct_tuple *orig = &ct->th[CT_DIR_ORIG].tuple;
	const uint8_t *d;
	size_t end;
	long start, stop;
	int ret = CT_ACCEPT;

	/* "Only look at packets from the Amanda server" (the reply direction) */
	if (x->dir == CT_DIR_ORIG)
		return CT_ACCEPT;

	/* nf_ct_refresh(ct, master_timeout * HZ): before looking at the data */
	if (!(ct->status & CT_S_FIXED_TIMEOUT)) {
		conn_set_timeout(t, ct, AMANDA_MASTER_TIMEOUT);
		if (!(ct->status & CT_S_CONFIRMED))
			ct->expires -= t->now;
	}

	if (!(end = ct_helper_payload(x, &d)))
		return CT_ACCEPT;	/* no data */

	start = find(d, 0, end, "CONNECT ");
	if (start < 0)
		return CT_ACCEPT;
	start += (long)strlen("CONNECT ");
	stop = find(d, (size_t)start, end, "\n");
	if (stop < 0)
		return CT_ACCEPT;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		long off = find(d, (size_t)start, (size_t)stop, keys[k]);
		size_t n, i;
		uint32_t v = 0;
		uint16_t port;
		struct ct_expect exp;

		if (off < 0)
			continue;
		off += (long)strlen(keys[k]);
		/* len = min(sizeof(pbuf) - 1, stop - off); simple_strtoul() */
		n = (size_t)(stop - off);
		if (n > AMANDA_PORT_CHARS)
			n = AMANDA_PORT_CHARS;
		for (i = 0; i < n && d[off + (long)i] >= '0' && d[off + (long)i] <= '9'; i++)
			v = v * 10 + (uint32_t)(d[off + (long)i] - '0');
		if (v > 65535) {		/* hardening: the kernel's u16 wraps */
			ct_helper_log(x, "amanda port out of range");
			break;
		}
		if (v == 0)			/* no number, or 0: "port == 0" */
			break;
		port = (uint16_t)v;
		ct_expect_init(&exp, ct, 0, orig->l3num, &orig->src, &orig->dst,
			       IPPROTO_TCP, NULL, &port);
		if (ct_helper_amanda.nat && (ct->status & (CT_S_SRC_NAT | CT_S_DST_NAT))) {
			struct ct_helper_match m = { .off = (size_t)off, .len = i, .exp = &exp };

			/* ret = nf_nat_amanda(...): the last one's verdict */
			ret = ct_helper_amanda.nat(x, &m);
			/* the buffer may have moved; the kernel keeps its offsets */
			end = ct_helper_payload(x, &d);
		} else if (ct_expect_related(t, &exp, 0, false) != 0) {
			ct_helper_log(x, "cannot add expectation");
			ret = CT_DROP;		/* and the loop goes on, as the kernel */
		}
	}
	return ret;
}

/* nf_nat_amanda.c help(): the connection comes from the Amanda server
 * (the original direction) and is bound like its master; the port, free
 * or the next one found, is written back into the reply. */
static int amanda_nat(struct ct_helper_ctx *x, const struct ct_helper_match *m)
{
	struct ct_table *t = x->core->table;
	struct ct_expect *exp = m->exp;
	char buf[sizeof("65535")];
	uint16_t port;
	int len;

	exp->saved_proto = exp->tuple.dport;
	exp->dir = CT_DIR_ORIG;
	exp->follow_master = true;
	if (!(port = ct_nat_exp_find_port(t, exp, exp->saved_proto))) {
		ct_helper_log(x, "all ports in use");
		return CT_DROP;
	}
	len = snprintf(buf, sizeof(buf), "%u", port);
	if (ct_nat_mangle_udp_packet(&x->skb->pkt, m->off, m->len, buf, (size_t)len))
		return CT_ACCEPT;
	ct_helper_log(x, "cannot mangle packet");
	{
		struct ct_expect *e = ct_expect_find(t, &exp->tuple, ct_expect_zone(exp));

		if (e && e->master == x->ct)
			ct_expect_unlink(t, e, 0, false);
	}
	return CT_DROP;
}

const struct ct_helper ct_helper_amanda = {
	.name = "amanda",
	.l4num = IPPROTO_UDP,
	.expect_class_max = 0,
	.policy = { { .max_expected = 3, .timeout = 180, .name = "amanda" } },
	.help = amanda_help,
	.nat = amanda_nat,
	.what = "CONNECT DATA/MESG/INDEX ports in the reply: TCP to them",
	.module = "nf_conntrack_amanda",
};
