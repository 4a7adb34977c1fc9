/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * broadcast.c — the NetBIOS name service and SNMP helpers
 * (net/netfilter/nf_conntrack_netbios_ns.c, nf_conntrack_snmp.c), which
 * are both nf_conntrack_broadcast_help() (nf_conntrack_broadcast.c) with a
 * port and a timeout:
 *
 *   "netbios-ns"  UDP, IPv4 only, port 137, timeout 3 s  (module `timeout`)
 *   "snmp"        UDP, IPv4 only, port 161, timeout 30 s (module `timeout`)
 *
 * A host that broadcasts a query (nmblookup, an SNMP discovery) gets its
 * answers from every host of the subnet, each from its own address: no
 * single reply tuple fits them, so the helper expects them all. When the
 * packet is LOCALLY GENERATED (it has a socket, skb->sk, of the entry's
 * netns), was routed as a broadcast (RTCF_BROADCAST), goes in the original
 * direction, and its destination is the broadcast address of a primary
 * (not IFA_F_SECONDARY) IPv4 address of the output device, the helper adds
 * a PERMANENT expectation: the entry's reply tuple with the helper's port
 * as source port (helper->tuple.src.u.udp.port), the source address masked
 * with that address's netmask (so any host of the subnet matches), source
 * port exact; class 0, no helper for the new entries, policy max 1 with
 * the module's timeout. The insertion's result is ignored; then the master
 * is refreshed to the timeout. The helper never drops.
 *
 * What ctsim does: it has no sockets. Every UDP packet it tracks arrives
 * from a namespace or a capture and is forwarded (or is an ICMP/TCP answer
 * of its own), so skb->sk is NULL and the kernel's first test already
 * returns: through ctsim, as through a kernel router, these helpers attach
 * (conntrack -L shows helper=netbios-ns) but create nothing and do not
 * change the timeout. The rule itself is implemented whole in
 * ct_broadcast_help(), with what the kernel reads from the socket and the
 * route passed in (struct ct_bcast_route), so it is tested (tests/unit/test_broadcast.c)
 * and ready for a local UDP sender.
 *
 * nf_nat_snmp (the SNMP ALG rewriting addresses in BER payloads) is not
 * emulated: ctsim has no NAT of payloads.
 */
#include <netinet/in.h>
#include <string.h>
#include "ctsim/core/expect.h"
#include "helpers/helpers.h"

#define NMBD_PORT		137
#define NETBIOS_NS_TIMEOUT	3	/* nf_conntrack_netbios_ns `timeout` */
#define SNMP_PORT		161
#define SNMP_TIMEOUT		30	/* nf_conntrack_snmp `timeout` */

int ct_broadcast_help(struct ct_helper_ctx *x, const struct ct_bcast_route *rt,
		      uint16_t helper_port, unsigned timeout)
{
	struct ct_table *t = x->core->table;
	struct conn *ct = x->ct;
	const struct ct_tuple *reply = &ct->th[CT_DIR_REPLY].tuple;
	const struct ct_pkt *p = &x->skb->pkt;
	uint32_t mask = 0;
	struct ct_expect exp;

	/* "we're only interested in locally generated packets" */
	if (!rt || !rt->local_socket || !rt->broadcast || x->dir != CT_DIR_ORIG ||
	    p->family != AF_INET)
		return CT_ACCEPT;
	/* the netmask of the primary address whose broadcast is the destination */
	for (size_t i = 0; i < rt->nifa; i++) {
		if (rt->ifa[i].secondary)
			continue;
		if (rt->ifa[i].broadcast == p->dst.ip) {
			mask = rt->ifa[i].mask;
			break;
		}
	}
	if (!mask)
		return CT_ACCEPT;

	memset(&exp, 0, sizeof(exp));
	exp.master = ct;
	exp.tuple = *reply;
	exp.tuple.sport = helper_port;	/* help->helper->tuple.src.u.udp.port */
	exp.mask.l3num = reply->l3num;
	exp.mask.l4num = reply->l4num;
	exp.mask.src.ip = mask;
	exp.mask.sport = 0xffff;
	exp.flags = CT_EXP_F_PERMANENT;
	exp.class = 0;
	exp.helper = NULL;
	(void)ct_expect_related(t, &exp, 0, false);	/* the kernel ignores the result */

	/* nf_ct_refresh(ct, timeout * HZ) */
	if (!(ct->status & CT_S_FIXED_TIMEOUT)) {
		conn_set_timeout(t, ct, timeout);
		if (!(ct->status & CT_S_CONFIRMED))
			ct->expires -= t->now;
	}
	return CT_ACCEPT;
}

/* netbios_ns_help(): ctsim's packets have no socket (see above). */
static int netbios_ns_help(struct ct_helper_ctx *x)
{
	const struct ct_bcast_route forwarded = { .local_socket = false };

	return ct_broadcast_help(x, &forwarded, NMBD_PORT, NETBIOS_NS_TIMEOUT);
}

/* snmp_conntrack_help() without nf_nat_snmp */
static int snmp_help(struct ct_helper_ctx *x)
{
	const struct ct_bcast_route forwarded = { .local_socket = false };

	return ct_broadcast_help(x, &forwarded, SNMP_PORT, SNMP_TIMEOUT);
}

const struct ct_helper ct_helper_netbios_ns = {
	.name = "netbios-ns",
	.l3num = AF_INET,	/* registered for IPv4 only */
	.l4num = IPPROTO_UDP,
	.expect_class_max = 0,
	.policy = { { .max_expected = 1, .timeout = NETBIOS_NS_TIMEOUT, .name = "netbios-ns" } },
	.help = netbios_ns_help,
	.what = "broadcast name queries sent by the router itself: the answers (never for forwarded packets)",
	.module = "nf_conntrack_netbios_ns",
};

const struct ct_helper ct_helper_snmp = {
	.name = "snmp",
	.l3num = AF_INET,	/* registered for IPv4 only */
	.l4num = IPPROTO_UDP,
	.expect_class_max = 0,
	.policy = { { .max_expected = 1, .timeout = SNMP_TIMEOUT, .name = "snmp" } },
	.help = snmp_help,
	.what = "broadcast requests sent by the router itself: the answers (never for forwarded packets)",
	.module = "nf_conntrack_snmp",
};
