/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tftp.c — the TFTP helper (net/netfilter/nf_conntrack_tftp.c).
 *
 * A read or write request (opcode 1 RRQ, 2 WRQ), in either direction and
 * already on the first packet, expects the transfer: UDP from the server's
 * address, any source port (the server answers from a new port), to the
 * client's address and port. Class 0, policy max 1, 300 s. The first
 * packet's master is still unconfirmed then: the expectation cannot match
 * until it is confirmed, and goes away with it if the packet is dropped.
 */
#include <netinet/in.h>
#include "ctsim/core/expect.h"
#include "helpers/helpers.h"

enum { TFTP_OPCODE_READ = 1, TFTP_OPCODE_WRITE = 2 };

/* tftp_help() */
static int tftp_help(struct ct_helper_ctx *x)
{
	const struct ct_tuple *reply = &x->ct->th[CT_DIR_REPLY].tuple;
	struct ct_expect exp;
	const uint8_t *d;
	uint16_t opcode;

	if (ct_helper_payload(x, &d) < 2)
		return CT_ACCEPT;	/* no opcode: skb_header_pointer() fails */
	opcode = (uint16_t)(d[0] << 8 | d[1]);
	if (opcode != TFTP_OPCODE_READ && opcode != TFTP_OPCODE_WRITE)
		return CT_ACCEPT;	/* DATA, ACK, ERROR, unknown: nothing */
	ct_expect_init(&exp, x->ct, 0, reply->l3num, &reply->src, &reply->dst,
		       IPPROTO_UDP, NULL, &reply->dport);
	if (ct_helper_tftp.nat && (x->ct->status & (CT_S_SRC_NAT | CT_S_DST_NAT))) {
		struct ct_helper_match m = { .exp = &exp };

		return ct_helper_tftp.nat(x, &m);
	}
	if (ct_expect_related(x->core->table, &exp, 0, false) != 0) {
		ct_helper_log(x, "cannot add expectation");
		return CT_DROP;
	}
	return CT_ACCEPT;
}

/* nf_nat_tftp.c help(): nothing in the payload names an address; the
 * transfer comes back to the translated client and is bound like the
 * request (nf_nat_follow_master()), to the client's own port. */
static int tftp_nat(struct ct_helper_ctx *x, const struct ct_helper_match *m)
{
	struct ct_expect *exp = m->exp;

	exp->saved_proto = x->ct->th[CT_DIR_ORIG].tuple.sport;
	exp->dir = CT_DIR_REPLY;
	exp->follow_master = true;
	if (ct_expect_related(x->core->table, exp, 0, false) != 0) {
		ct_helper_log(x, "cannot add expectation");
		return CT_DROP;
	}
	return CT_ACCEPT;
}

const struct ct_helper ct_helper_tftp = {
	.name = "tftp",
	.l4num = IPPROTO_UDP,
	.expect_class_max = 0,
	.policy = { { .max_expected = 1, .timeout = 5 * 60, .name = "tftp" } },
	.help = tftp_help,
	.nat = tftp_nat,
	.what = "RRQ/WRQ: the server's answer from any port",
	.module = "nf_conntrack_tftp",
};
