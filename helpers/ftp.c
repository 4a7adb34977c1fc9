/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp.c — the FTP helper (net/netfilter/nf_conntrack_ftp.c).
 *
 * Reads the control connection and expects the data connection it
 * announces:
 *   client -> server  PORT a,b,c,d,p1,p2\r    (try_rfc959)   active
 *                     EPRT |1|a.b.c.d|port|   (try_eprt)     active, IPv4/IPv6
 *   server -> client  227 ... a,b,c,d,p1,p2   (try_rfc1123)  passive
 *                     229 ... (|||port|)      (try_epsv_response)
 * The expectation: TCP from the OTHER end's address, any source port, to
 * the announced address and port; class 0, policy max 1, 300 s.
 *
 * Like the kernel, the helper only looks at packets of an established
 * connection, and only at data that starts right after a '\n' it has seen
 * (it remembers the sequence numbers following newlines, find_nl_seq()):
 * a command split across segments is recognised when its first part is a
 * prefix of a pattern or lacks its terminator — that packet is DROPPED so
 * the sender retransmits it whole ("partial matching").
 *
 * Through NAT (the master has IPS_SRC_NAT or IPS_DST_NAT), the NAT hook
 * ftp_nat() (nf_nat_ftp.c) registers the expectation on a free port and
 * rewrites the numbers to the address the other side sees; a length change
 * is recorded for the sequence adjustment (ctsim/core/seqadj.c).
 *
 * An announced address other than the sender's is not expected unless
 * `loose` is set (ct_ftp_loose), as the kernel's module parameter.
 *
 * Deliberate hardening beyond the kernel (documented in docs/helpers.md):
 * address bytes or ports out of range (the kernel lets them wrap) and port
 * 0 in PORT/227 are treated as malformed, which takes the kernel's
 * malformed path (partial match: drop, nothing expected).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include "ctsim/core/expect.h"
#include "ctsim/core/nat_helper.h"
#include <stdio.h>
#include "helpers/helpers.h"

bool ct_ftp_loose;

#define NUM_SEQ_TO_REMEMBER 2

/* struct nf_ct_ftp_master */
struct ftp_master {
	uint32_t seq_aft_nl[2][NUM_SEQ_TO_REMEMBER];
	uint16_t seq_aft_nl_num[2];
};

/* What a command announces (struct nf_conntrack_man). */
struct ftp_cmd {
	uint8_t l3num;
	union ct_addr addr;
	uint16_t port;
};

/* try_number(): @n numbers separated by @sep, ended by @term (any
 * character if @term is 0). Returns the characters used, 0 if malformed. */
static size_t try_number(const char *data, size_t dlen, uint32_t *array, int n,
			 char sep, char term)
{
	size_t len;
	int i = 0;

	memset(array, 0, sizeof(*array) * (size_t)n);
	for (len = 0; len < dlen && i < n; len++) {
		char c = data[len];

		if (c >= '0' && c <= '9') {
			array[i] = array[i] * 10 + (uint32_t)(c - '0');
			if (array[i] > 255)	/* hardening: the kernel wraps */
				return 0;
		} else if (c == sep) {
			i++;
		} else {
			/* the terminator (or any, without one) after the last number */
			if ((c == term || !term) && i == n - 1)
				return len;
			return 0;
		}
	}
	return 0;
}

/* try_rfc959(): "192,168,1,1,5,6" */
static size_t try_rfc959(const char *data, size_t dlen, struct ftp_cmd *cmd, char term)
{
	uint32_t a[6];
	size_t len = try_number(data, dlen, a, 6, ',', term);

	if (!len)
		return 0;
	cmd->addr.ip = htonl((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]);
	cmd->port = (uint16_t)((a[4] << 8) | a[5]);
	if (!cmd->port)			/* hardening: the kernel expects port 0 */
		return 0;
	return len;
}

/* try_rfc1123(): the 227 reply's numbers start at the first digit. */
static size_t try_rfc1123(const char *data, size_t dlen, struct ftp_cmd *cmd, char term)
{
	size_t i, len;

	(void)term;
	for (i = 0; i < dlen; i++)
		if (isdigit((unsigned char)data[i]))
			break;
	if (i == dlen)
		return 0;
	len = try_rfc959(data + i, dlen - i, cmd, 0);
	return len ? i + len : 0;
}

/* get_port(): digits from @start up to @delim; the index after it, or 0. */
static size_t get_port(const char *data, size_t start, size_t dlen, char delim, uint16_t *port)
{
	uint32_t p = 0;

	for (size_t i = start; i < dlen; i++) {
		if (data[i] == delim) {
			if (p == 0)
				return 0;
			*port = (uint16_t)p;
			return i + 1;
		}
		if (data[i] < '0' || data[i] > '9')
			return 0;
		p = p * 10 + (uint32_t)(data[i] - '0');
		if (p > 65535)		/* hardening: the kernel's u16 wraps */
			return 0;
	}
	return 0;
}

/* A delimiter as RFC 2428 allows: printable ASCII, not a digit. */
static bool eprt_delim_ok(char d)
{
	return !isdigit((unsigned char)d) && d >= 33 && d <= 126;
}

/* try_eprt(): "|1|132.235.1.2|6275|" or "|2|3ffe::1|6275|" */
static size_t try_eprt(const char *data, size_t dlen, struct ftp_cmd *cmd, char term)
{
	char delim;
	size_t length = 0;

	(void)term;
	if (dlen <= 3)
		return 0;
	delim = data[0];
	if (!eprt_delim_ok(delim) || data[2] != delim)
		return 0;
	if ((cmd->l3num == AF_INET && data[1] != '1') ||
	    (cmd->l3num == AF_INET6 && data[1] != '2'))
		return 0;
	if (data[1] == '1') {
		uint32_t a[4];

		length = try_number(data + 3, dlen - 3, a, 4, '.', delim);
		if (length)
			cmd->addr.ip = htonl((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]);
	} else {
		/* get_ipv6_addr(): in6_pton() up to the delimiter */
		char buf[INET6_ADDRSTRLEN];
		const char *end = memchr(data + 3, delim, dlen - 3);

		if (!end || (size_t)(end - (data + 3)) >= sizeof(buf) || end == data + 3)
			return 0;
		length = (size_t)(end - (data + 3));
		memcpy(buf, data + 3, length);
		buf[length] = '\0';
		if (inet_pton(AF_INET6, buf, &cmd->addr) != 1)
			return 0;
	}
	if (!length)
		return 0;
	return get_port(data, 3 + length + 1, dlen, delim, &cmd->port);
}

/* try_epsv_response(): "|||6446|" — the port only, the address is the sender's. */
static size_t try_epsv_response(const char *data, size_t dlen, struct ftp_cmd *cmd, char term)
{
	char delim;

	(void)term;
	if (dlen <= 3)
		return 0;
	delim = data[0];
	if (!eprt_delim_ok(delim) || data[1] != delim || data[2] != delim)
		return 0;
	return get_port(data, 3, dlen, delim, &cmd->port);
}

/* enum nf_ct_ftp_type: what the NAT hook writes back */
enum ftp_type { FTP_PORT, FTP_PASV, FTP_EPRT, FTP_EPSV };

struct ftp_search {
	enum ftp_type type;
	const char *pattern;
	size_t plen;
	char skip, term;
	size_t (*getnum)(const char *, size_t, struct ftp_cmd *, char);
};

static const struct ftp_search search[2][2] = {
	[CT_DIR_ORIG] = {
		{ FTP_PORT, "PORT", 4, ' ', '\r', try_rfc959 },
		{ FTP_EPRT, "EPRT", 4, ' ', '\r', try_eprt },
	},
	[CT_DIR_REPLY] = {
		{ FTP_PASV, "227 ", 4, 0, 0, try_rfc1123 },
		{ FTP_EPSV, "229 ", 4, '(', ')', try_epsv_response },
	},
};

/* find_pattern(): 1 match, 0 no match, -1 partial or malformed. On a
 * match, *@numoff and *@numlen locate the numbers (what NAT rewrites). */
static int find_pattern(const char *data, size_t dlen, const struct ftp_search *s,
			struct ftp_cmd *cmd, size_t *numoff, size_t *numlen)
{
	size_t i = s->plen;

	if (dlen <= s->plen)	/* short packet: the start of a command? */
		return strncasecmp(data, s->pattern, dlen) == 0 ? -1 : 0;
	if (strncasecmp(data, s->pattern, s->plen) != 0)
		return 0;
	if (s->skip) {
		for (i = s->plen; data[i] != s->skip; i++)
			if (i == dlen - 1)
				return -1;
		i++;	/* past the skip character */
	}
	if (!(*numlen = s->getnum(data + i, dlen - i, cmd, s->term)))
		return -1;
	*numoff = i;
	if (s->getnum == try_rfc1123)	/* its numbers start at the first digit */
		while (!isdigit((unsigned char)data[*numoff]))
			(*numoff)++, (*numlen)--;
	return 1;
}

/* find_nl_seq(): does this segment start right after a '\n' we saw? */
static bool find_nl_seq(uint32_t seq, const struct ftp_master *info, int dir)
{
	for (unsigned i = 0; i < info->seq_aft_nl_num[dir]; i++)
		if (info->seq_aft_nl[dir][i] == seq)
			return true;
	return false;
}

/* update_nl_seq(): remember the two newest positions after a '\n'. */
static void update_nl_seq(uint32_t nl_seq, struct ftp_master *info, int dir)
{
	unsigned oldest;

	for (unsigned i = 0; i < info->seq_aft_nl_num[dir]; i++)
		if (info->seq_aft_nl[dir][i] == nl_seq)
			return;
	if (info->seq_aft_nl_num[dir] < NUM_SEQ_TO_REMEMBER) {
		info->seq_aft_nl[dir][info->seq_aft_nl_num[dir]++] = nl_seq;
		return;
	}
	/* before() / after(): sequence-number arithmetic */
	oldest = (int32_t)(info->seq_aft_nl[dir][0] - info->seq_aft_nl[dir][1]) < 0 ? 0 : 1;
	if ((int32_t)(nl_seq - info->seq_aft_nl[dir][oldest]) > 0)
		info->seq_aft_nl[dir][oldest] = nl_seq;
}

/* help() of nf_conntrack_ftp.c */
static int ftp_help(struct ct_helper_ctx *x)
{
	const struct ct_pkt *p = &x->skb->pkt;
	struct conn *ct = x->ct;
	int dir = x->dir;
	const struct ct_tuple *snd = &ct->th[dir].tuple, *other = &ct->th[!dir].tuple;
	struct ftp_master *info;
	struct ftp_cmd cmd;
	struct ct_expect exp;
	const union ct_addr *daddr;
	const uint8_t *payload;
	const char *data;
	size_t datalen, i, numoff = 0, numlen = 0;
	bool ends_in_nl;
	uint32_t seq;
	int found = 0, ret = CT_ACCEPT;

	/* Until there's been traffic both ways, don't look in packets. */
	if (x->ctinfo != CT_INFO_ESTABLISHED && x->ctinfo != CT_INFO_ESTABLISHED_REPLY)
		return CT_ACCEPT;
	if (!(datalen = ct_helper_payload(x, &payload)))
		return CT_ACCEPT;	/* no data */
	if (!(info = ct_helper_data(ct, sizeof(*info))))
		return CT_ACCEPT;
	data = (const char *)payload;
	ends_in_nl = data[datalen - 1] == '\n';
	seq = p->tcp_seq + (uint32_t)datalen;

	if (!find_nl_seq(p->tcp_seq, info, dir)) {
		/* not right after a '\n' seen in this direction (so never the
		 * first line of a direction): not looked at */
		ct_helper_note(x, "not at a line start, not parsed");
		goto out_update_nl;
	}

	memset(&cmd, 0, sizeof(cmd));
	cmd.l3num = snd->l3num;
	cmd.addr = snd->src;	/* EPSV does not name the address */
	for (i = 0; i < 2; i++) {
		found = find_pattern(data, datalen, &search[dir][i], &cmd, &numoff, &numlen);
		if (found)
			break;
	}
	if (found == -1) {
		/* "We don't usually drop packets. After all, this is
		 * connection tracking, not packet filtering. However, it is
		 * necessary for accurate tracking in this case." */
		ct_helper_log(x, "partial matching");
		return CT_DROP;
	}
	if (found == 0)
		goto out_update_nl;

	/* The reverse direction's tuple: we expect something coming back. */
	daddr = &other->dst;
	if (memcmp(&cmd.addr, &snd->src, sizeof(cmd.addr)) != 0) {
		/* An address other than the sender's (a DMZ host opening holes
		 * to internal networks, or to the firewall itself). */
		if (!ct_ftp_loose) {
			ct_helper_log(x, "announced address is not the sender's");
			goto out_update_nl;
		}
		daddr = &cmd.addr;
	}
	ct_expect_init(&exp, ct, 0, cmd.l3num, &other->src, daddr, IPPROTO_TCP, NULL, &cmd.port);
	/* "Now, NAT might want to mangle the packet, and register the
	 * (possibly changed) expectation itself." */
	if (ct_helper_ftp.nat && (ct->status & (CT_S_SRC_NAT | CT_S_DST_NAT))) {
		struct ct_helper_match m = {
			.type = search[dir][i].type, .off = numoff, .len = numlen, .exp = &exp,
		};

		ret = ct_helper_ftp.nat(x, &m);
	} else if (ct_expect_related(x->core->table, &exp, 0, false) != 0) {
		ct_helper_log(x, "cannot add expectation");
		ret = CT_DROP;
	}
out_update_nl:
	if (ends_in_nl)
		update_nl_seq(seq, info, dir);
	return ret;
}

/* nf_nat_ftp_fmt_cmd(): the numbers as the command writes them */
static int ftp_fmt_cmd(uint8_t l3num, enum ftp_type type, char *buf, size_t n,
		       const union ct_addr *a, uint16_t port)
{
	char s[INET6_ADDRSTRLEN];

	switch (type) {
	case FTP_PORT:
	case FTP_PASV:
		return snprintf(buf, n, "%u,%u,%u,%u,%u,%u", a->b[0], a->b[1], a->b[2], a->b[3],
				port >> 8, port & 0xff);
	case FTP_EPRT:
		if (l3num == AF_INET) {
			inet_ntop(AF_INET, a->b, s, sizeof(s));
			return snprintf(buf, n, "|1|%s|%u|", s, port);
		}
		/* %pI6: eight groups of four hex digits, uncompressed */
		return snprintf(buf, n, "|2|%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:"
				"%02x%02x:%02x%02x|%u|", a->b[0], a->b[1], a->b[2], a->b[3],
				a->b[4], a->b[5], a->b[6], a->b[7], a->b[8], a->b[9], a->b[10],
				a->b[11], a->b[12], a->b[13], a->b[14], a->b[15], port);
	case FTP_EPSV:
		return snprintf(buf, n, "|||%u|", port);
	}
	return 0;
}

/* nf_nat_ftp(): the data connection will come from wherever this packet
 * goes, to the address the other side sees of the sender; the expectation
 * is registered on a free port and the payload names that address and
 * port. The new connection is bound like its master
 * (ct_nat_follow_master()). */
static int ftp_nat(struct ct_helper_ctx *x, const struct ct_helper_match *m)
{
	struct ct_table *t = x->core->table;
	struct ct_expect *exp = m->exp;
	struct conn *ct = x->ct;
	const int dir = x->dir;
	const union ct_addr newaddr = ct->th[!dir].tuple.dst;
	char buf[sizeof("|1||65535|") + INET6_ADDRSTRLEN + 8];
	uint16_t port;
	int len;

	exp->saved_proto = exp->tuple.dport;
	exp->dir = (uint8_t)!dir;
	exp->follow_master = true;
	if (!(port = ct_nat_exp_find_port(t, exp, exp->saved_proto))) {
		ct_helper_log(x, "all ports in use");
		return CT_DROP;
	}
	len = ftp_fmt_cmd(ct->th[CT_DIR_ORIG].tuple.l3num, (enum ftp_type)m->type, buf,
			  sizeof(buf), &newaddr, port);
	if (len > 0 && (size_t)len < sizeof(buf) &&
	    ct_nat_mangle_tcp_packet(&x->skb->pkt, ct, x->dir, m->off, m->len, buf, (size_t)len))
		return CT_ACCEPT;
	ct_helper_log(x, "cannot mangle packet");
	/* nf_ct_unexpect_related() */
	{
		struct ct_expect *e = ct_expect_find(t, &exp->tuple, ct_expect_zone(exp));

		if (e && e->master == ct)
			ct_expect_unlink(t, e, 0, false);
	}
	return CT_DROP;
}

const struct ct_helper ct_helper_ftp = {
	.name = "ftp",
	.l4num = IPPROTO_TCP,
	.expect_class_max = 0,
	.policy = { { .max_expected = 1, .timeout = 5 * 60, .name = "ftp" } },
	.data_len = sizeof(struct ftp_master),
	.help = ftp_help,
	.nat = ftp_nat,
	.what = "PORT/EPRT from the client, 227/229 replies: the data connection",
	.module = "nf_conntrack_ftp",
};
