/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctnl_names.c — the names every printer shares (spelled exactly as
 * conntrack 1.4.7 / libnetfilter_conntrack print them) and the default
 * tuple inversion of nf_ct_invert_tuple().
 */
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "proto/ctnl.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* libnetfilter_conntrack's tcp state names; 9 is SYN_SENT2 (sent for LISTEN). */
static const char *const tcp_states[CT_TCP_MAX] = {
	"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
};

static const char *const sctp_states[CT_SCTP_MAX] = {
	"NONE", "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED",
	"SHUTDOWN_SENT", "SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT", "HEARTBEAT_SENT",
};

/* IPS_*_BIT order, as conntrack -u spells them. */
static const char *const status_bits[] = {
	"EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT", "DST_NAT",
	"SEQ_ADJUST", "SRC_NAT_DONE", "DST_NAT_DONE", "DYING", "FIXED_TIMEOUT",
	"TEMPLATE", "UNTRACKED", "HELPER", "OFFLOAD", "HW_OFFLOAD",
};

/** ct_tcp_state_name - "ESTABLISHED" ...; "UNKNOWN" past the table. */
const char *ct_tcp_state_name(uint8_t state)
{
	return state < CT_TCP_MAX ? tcp_states[state] : "UNKNOWN";
}

/** ct_sctp_state_name - "COOKIE_WAIT" ...; "UNKNOWN" past the table. */
const char *ct_sctp_state_name(uint8_t state)
{
	return state < CT_SCTP_MAX ? sctp_states[state] : "UNKNOWN";
}

/**
 * ct_tcp_state_parse - a --state argument to its number
 * Case-insensitive, as conntrack's parser. "LISTEN" is conntrack's alias
 * for state 9 (SYN_SENT2). Returns -1 for an unknown name.
 */
int ct_tcp_state_parse(const char *name)
{
	if (name == NULL)
		return -1;
	if (strcasecmp(name, "LISTEN") == 0)
		return CT_TCP_SYN_SENT2;
	for (int i = 0; i < CT_TCP_MAX; i++)
		if (strcasecmp(name, tcp_states[i]) == 0)
			return i;
	return -1;
}

/** ct_l4proto_name - the protocol word of a conntrack line ("unknown" if none). */
const char *ct_l4proto_name(uint8_t l4num)
{
	switch (l4num) {
	case IPPROTO_TCP:	return "tcp";
	case IPPROTO_UDP:	return "udp";
	case IPPROTO_UDPLITE:	return "udplite";
	case IPPROTO_ICMP:	return "icmp";
	case IPPROTO_ICMPV6:	return "icmpv6";
	case IPPROTO_SCTP:	return "sctp";
	case IPPROTO_GRE:	return "gre";
	case IPPROTO_DCCP:	return "dccp";
	default:		return "unknown";
	}
}

/** ct_status_bit_name - name of IPS bit @bit (0..15), NULL beyond. */
const char *ct_status_bit_name(unsigned bit)
{
	return bit < ARRAY_SIZE(status_bits) ? status_bits[bit] : NULL;
}

/*
 * icmp_invert_tuple(): only request/reply pairs can be inverted; the map is
 * stored +1 so that 0 means "no inverse".
 */
static const uint8_t icmp_invmap[] = {
	[0]  = 8 + 1,	/* echo reply      -> echo request */
	[8]  = 0 + 1,	/* echo request    -> echo reply */
	[13] = 14 + 1,	/* timestamp       -> timestamp reply */
	[14] = 13 + 1,
	[15] = 16 + 1,	/* info request    -> info reply */
	[16] = 15 + 1,
	[17] = 18 + 1,	/* address mask    -> address mask reply */
	[18] = 17 + 1,
};

/*
 * icmpv6_invert_tuple(): echo and node information only; neighbour
 * discovery and MLD are never tracked (nf_conntrack_proto_icmpv6.c).
 */
static const uint8_t icmpv6_invmap[] = {
	[128 - 128] = 129 + 1,	/* echo request -> echo reply */
	[129 - 128] = 128 + 1,
	[139 - 128] = 140 + 1,	/* node information query -> reply */
	[140 - 128] = 139 + 1,
};

/**
 * ct_tuple_invert - nf_ct_invert_tuple()
 * Swaps the addresses; ICMP/ICMPv6 keep the id and map the type to its
 * reply (false if it has none); every other protocol swaps sport/dport
 * (GRE keys included, all-zero for protocols without ports).
 */
bool ct_tuple_invert(const struct ct_tuple *in, struct ct_tuple *out)
{
	struct ct_tuple t;

	memset(&t, 0, sizeof(t));
	t.l3num = in->l3num;
	t.l4num = in->l4num;
	t.src = in->dst;
	t.dst = in->src;

	switch (in->l4num) {
	case IPPROTO_ICMP:
		if (in->icmp_type >= ARRAY_SIZE(icmp_invmap) ||
		    !icmp_invmap[in->icmp_type])
			return false;
		t.icmp_type = icmp_invmap[in->icmp_type] - 1;
		t.icmp_code = in->icmp_code;
		t.sport = in->sport;
		break;
	case IPPROTO_ICMPV6:
		if (in->icmp_type < 128 ||
		    in->icmp_type - 128 >= (int)ARRAY_SIZE(icmpv6_invmap) ||
		    !icmpv6_invmap[in->icmp_type - 128])
			return false;
		t.icmp_type = icmpv6_invmap[in->icmp_type - 128] - 1;
		t.icmp_code = in->icmp_code;
		t.sport = in->sport;
		break;
	default:
		t.sport = in->dport;
		t.dport = in->sport;
		break;
	}
	*out = t;
	return true;
}
