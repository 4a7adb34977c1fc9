/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sane.c — the SANE network scanning helper (net/netfilter/nf_conntrack_sane.c).
 *
 * The SANE network protocol (TCP, port 6566) is binary, big-endian 32-bit
 * words. The client asks the daemon to start a scan; the daemon's answer
 * carries the port of the data connection the client must open:
 *
 *   client -> server  SANE_NET_START request: RPC code 7, handle   (8 bytes)
 *   server -> client  status (0 = SUCCESS), a 16-bit zero, port, ... (>= 8 bytes)
 *
 * As help() of the kernel, with a state per master (struct
 * nf_ct_sane_master): only ESTABLISHED packets with data are read. A
 * segment of the original direction whose data is exactly 8 bytes sets the
 * state: START_REQUESTED for RPC code 7, NORMAL for any other code (other
 * lengths leave it alone). The next reply segment with data, if the state
 * is START_REQUESTED, resets it to NORMAL and is the answer: at least 8
 * bytes, status 0, the zero half-word 0 — then an expectation: TCP from the
 * master's original source (the client), any source port, to its original
 * destination (the daemon) and the port; class 0, policy max 1, 300 s. If
 * it cannot be added the answer is dropped.
 *
 * Registered for IPv4 and IPv6 ("sane" for the default port; ctsim has no
 * `ports` parameter, so no "sane-PORT" names).
 *
 * Deliberate hardening (docs/helpers.md): the kernel expects port 0 from an
 * answer whose port field is 0; here such an answer is ignored as an
 * invalid saned reply (nothing expected, a helper error counted).
 */
#include <netinet/in.h>
#include "ctsim/core/expect.h"
#include "helpers/helpers.h"

#define SANE_NET_START		7	/* RPC code */
#define SANE_STATUS_SUCCESS	0

/* enum sane_state */
enum { SANE_STATE_NORMAL, SANE_STATE_START_REQUESTED };

/* struct nf_ct_sane_master */
struct sane_master {
	int state;
};

static uint32_t rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* help() */
static int sane_help(struct ct_helper_ctx *x)
{
	const struct ct_tuple *orig = &x->ct->th[CT_DIR_ORIG].tuple;
	struct sane_master *st;
	const uint8_t *d;
	size_t datalen;
	struct ct_expect exp;
	uint16_t port;

	/* "Until there's been traffic both ways, don't look in packets." */
	if (x->ctinfo != CT_INFO_ESTABLISHED && x->ctinfo != CT_INFO_ESTABLISHED_REPLY)
		return CT_ACCEPT;
	if (!(datalen = ct_helper_payload(x, &d)))
		return CT_ACCEPT;	/* no data */
	if (!(st = ct_helper_data(x->ct, sizeof(*st))))
		return CT_ACCEPT;

	if (x->dir == CT_DIR_ORIG) {
		/* only a whole struct sane_request is a command */
		if (datalen != 8)
			return CT_ACCEPT;
		st->state = rd32(d) == SANE_NET_START ? SANE_STATE_START_REQUESTED
						      : SANE_STATE_NORMAL;
		return CT_ACCEPT;
	}

	/* a reply to an uninteresting command? */
	if (st->state != SANE_STATE_START_REQUESTED)
		return CT_ACCEPT;
	st->state = SANE_STATE_NORMAL;	/* this is the reply to SANE_NET_START */
	if (datalen < 8)
		return CT_ACCEPT;	/* "NET_START reply too short" */
	if (rd32(d) != SANE_STATUS_SUCCESS)
		return CT_ACCEPT;	/* saned refused the command */
	if (d[4] != 0 || d[5] != 0)
		return CT_ACCEPT;	/* "Invalid saned reply? Ignore it." */
	port = (uint16_t)(d[6] << 8 | d[7]);
	if (!port) {			/* hardening: the kernel expects port 0 */
		ct_helper_log(x, "sane port 0");
		return CT_ACCEPT;
	}
	ct_expect_init(&exp, x->ct, 0, orig->l3num, &orig->src, &orig->dst, IPPROTO_TCP,
		       NULL, &port);
	if (ct_expect_related(x->core->table, &exp, 0, false) != 0) {
		/* "Can't expect this? Best to drop packet now." */
		ct_helper_log(x, "cannot add expectation");
		return CT_DROP;
	}
	return CT_ACCEPT;
}

const struct ct_helper ct_helper_sane = {
	.name = "sane",
	.l4num = IPPROTO_TCP,
	.expect_class_max = 0,
	.policy = { { .max_expected = 1, .timeout = 5 * 60, .name = "sane" } },
	.data_len = sizeof(struct sane_master),
	.help = sane_help,
	.what = "SANE_NET_START and its reply's port: the data connection",
	.module = "nf_conntrack_sane",
};
