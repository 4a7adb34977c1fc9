/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset_names.c — the names of the nft-subset ruleset language that the
 * parser, the checks and the printer share: the symbol tables (protocols,
 * TCP flags, ICMP types and reject codes, ct state/status/direction,
 * hooks) and their lookups both ways, family and hook names, the match
 * key table (how a key is spelled, what values it takes, the dependencies
 * nft adds), the standard chain priority names, and a table's chains and
 * ct helper objects looked up by name.
 *
 * Data and lookups only: ruleset_parse.c reads names into values with
 * them, ruleset_check.c and ruleset_print.c turn values back into names.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "ctsim/hooks/ruleset_int.h"

/* ---------------------------------------------------------------------- */
/* Symbol tables: the names nft gives to values                            */

const struct sym rs_l4proto_syms[] = {
	{ "icmp", 1 }, { "igmp", 2 }, { "tcp", 6 }, { "udp", 17 }, { "dccp", 33 },
	{ "gre", 47 }, { "esp", 50 }, { "ah", 51 }, { "ipv6-icmp", 58 }, { "icmpv6", 58 },
	{ "sctp", 132 }, { "udplite", 136 }, { NULL, 0 },
};
static const struct sym nfproto_syms[] = { { "ipv4", AF_INET }, { "ipv6", AF_INET6 }, { NULL, 0 } };
static const struct sym tcp_flag_syms[] = {
	{ "fin", 0x01 }, { "syn", 0x02 }, { "rst", 0x04 }, { "psh", 0x08 },
	{ "ack", 0x10 }, { "urg", 0x20 }, { "ecn", 0x40 }, { "cwr", 0x80 }, { NULL, 0 },
};
static const struct sym icmp_type_syms[] = {
	{ "echo-reply", 0 }, { "destination-unreachable", 3 }, { "source-quench", 4 },
	{ "redirect", 5 }, { "echo-request", 8 }, { "router-advertisement", 9 },
	{ "router-solicitation", 10 }, { "time-exceeded", 11 }, { "parameter-problem", 12 },
	{ "timestamp-request", 13 }, { "timestamp-reply", 14 }, { "info-request", 15 },
	{ "info-reply", 16 }, { "address-mask-request", 17 }, { "address-mask-reply", 18 },
	{ NULL, 0 },
};
static const struct sym icmpv6_type_syms[] = {
	{ "destination-unreachable", 1 }, { "packet-too-big", 2 }, { "time-exceeded", 3 },
	{ "parameter-problem", 4 }, { "echo-request", 128 }, { "echo-reply", 129 },
	{ "mld-listener-query", 130 }, { "mld-listener-report", 131 },
	{ "mld-listener-done", 132 }, { "nd-router-solicit", 133 }, { "nd-router-advert", 134 },
	{ "nd-neighbor-solicit", 135 }, { "nd-neighbor-advert", 136 }, { "nd-redirect", 137 },
	{ "router-renumbering", 138 }, { "mld2-listener-report", 143 }, { NULL, 0 },
};
/* NF_CT_STATE_BIT(): invalid 1, established 2, related 4, new 8, untracked 64 */
static const struct sym ct_state_syms[] = {
	{ "invalid", 1 }, { "established", 2 }, { "related", 4 }, { "new", 8 },
	{ "untracked", 64 }, { NULL, 0 },
};
/* the names nft 1.0.6 knows (ct_status_tbl); snat-done etc. are not among them */
static const struct sym ct_status_syms[] = {
	{ "expected", CT_S_EXPECTED }, { "seen-reply", CT_S_SEEN_REPLY },
	{ "assured", CT_S_ASSURED }, { "confirmed", CT_S_CONFIRMED },
	{ "snat", CT_S_SRC_NAT }, { "dnat", CT_S_DST_NAT }, { "dying", CT_S_DYING },
	{ NULL, 0 },
};
static const struct sym ct_dir_syms[] = { { "original", 0 }, { "reply", 1 }, { NULL, 0 } };
const struct sym rs_icmp_code_syms[] = {	/* reject with icmp */
	{ "net-unreachable", 0 }, { "host-unreachable", 1 }, { "prot-unreachable", 2 },
	{ "port-unreachable", 3 }, { "net-prohibited", 9 }, { "host-prohibited", 10 },
	{ "admin-prohibited", 13 }, { NULL, 0 },
};
const struct sym rs_icmpv6_code_syms[] = {	/* reject with icmpv6 */
	{ "no-route", 0 }, { "admin-prohibited", 1 }, { "addr-unreachable", 3 },
	{ "port-unreachable", 4 }, { "policy-fail", 5 }, { "reject-route", 6 }, { NULL, 0 },
};
const struct sym rs_icmpx_code_syms[] = {	/* reject with icmpx (inet) */
	{ "no-route", RS_ICMPX_NO_ROUTE }, { "port-unreachable", RS_ICMPX_PORT_UNREACH },
	{ "host-unreachable", RS_ICMPX_HOST_UNREACH },
	{ "admin-prohibited", RS_ICMPX_ADMIN_PROHIBITED }, { NULL, 0 },
};

const struct sym rs_hook_syms[] = {
	{ "prerouting", CT_HOOK_PREROUTING }, { "input", CT_HOOK_INPUT },
	{ "forward", CT_HOOK_FORWARD }, { "output", CT_HOOK_OUTPUT },
	{ "postrouting", CT_HOOK_POSTROUTING }, { NULL, 0 },
};

/* ---------------------------------------------------------------------- */
/* Lookups in a symbol table, both ways                                    */

const struct sym *rs_sym_find(const struct sym *t, const char *name)
{
	for (; t && t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

const char *rs_sym_name(const struct sym *t, uint64_t v)
{
	for (; t && t->name; t++)
		if (t->v == v)
			return t->name;
	return NULL;
}

void rs_sym_list(const struct sym *t, char *buf, size_t n)
{
	size_t off = 0;

	buf[0] = 0;
	for (; t->name && off < n; t++)
		off += (size_t)snprintf(buf + off, n - off, "%s%s", off ? ", " : "", t->name);
}

const char *rs_hook_name(enum ct_hook hook)
{
	const char *n = rs_sym_name(rs_hook_syms, hook);
	return n ? n : "?";
}

const char *rs_family_name(enum rs_family fam)
{
	return fam == RS_FAM_IP ? "ip" : fam == RS_FAM_IP6 ? "ip6" : "inet";
}

/* ---------------------------------------------------------------------- */
/* Match keys: how each is spelled and what values it takes                */

static const struct keydesc key_table[] = {
	{ "ip", "saddr", RS_K_IP_SADDR, VT_ADDR4, NULL, 0, "address", 4, 0, false, false },
	{ "ip", "daddr", RS_K_IP_DADDR, VT_ADDR4, NULL, 0, "address", 4, 0, false, false },
	{ "ip6", "saddr", RS_K_IP6_SADDR, VT_ADDR6, NULL, 0, "address", 6, 0, false, false },
	{ "ip6", "daddr", RS_K_IP6_DADDR, VT_ADDR6, NULL, 0, "address", 6, 0, false, false },
	{ "meta", "l4proto", RS_K_META_L4PROTO, VT_INT, rs_l4proto_syms, 255, "protocol", 0, 0, false, true },
	{ "meta", "nfproto", RS_K_META_NFPROTO, VT_INT, nfproto_syms, 255, "nfproto", 0, 0, false, true },
	{ "meta", "mark", RS_K_META_MARK, VT_INT, NULL, 0xffffffffu, "mark", 0, 0, true, true },
	{ "meta", "iif", RS_K_META_IIF, VT_IFNAME, NULL, 0, "interface", 0, 0, false, false },
	{ "meta", "oif", RS_K_META_OIF, VT_IFNAME, NULL, 0, "interface", 0, 0, false, false },
	{ "meta", "iifname", RS_K_META_IIFNAME, VT_IFNAME, NULL, 0, "interface", 0, 0, false, false },
	{ "meta", "oifname", RS_K_META_OIFNAME, VT_IFNAME, NULL, 0, "interface", 0, 0, false, false },
	{ NULL, "mark", RS_K_META_MARK, VT_INT, NULL, 0xffffffffu, "mark", 0, 0, true, true },
	{ NULL, "iif", RS_K_META_IIF, VT_IFNAME, NULL, 0, "interface", 0, 0, false, false },
	{ NULL, "oif", RS_K_META_OIF, VT_IFNAME, NULL, 0, "interface", 0, 0, false, false },
	{ NULL, "iifname", RS_K_META_IIFNAME, VT_IFNAME, NULL, 0, "interface", 0, 0, false, false },
	{ NULL, "oifname", RS_K_META_OIFNAME, VT_IFNAME, NULL, 0, "interface", 0, 0, false, false },
	{ "tcp", "sport", RS_K_TCP_SPORT, VT_INT, NULL, 65535, "port", 0, 6, false, false },
	{ "tcp", "dport", RS_K_TCP_DPORT, VT_INT, NULL, 65535, "port", 0, 6, false, false },
	{ "tcp", "flags", RS_K_TCP_FLAGS, VT_FLAGS, tcp_flag_syms, 255, "tcp flag", 0, 6, false, false },
	{ "udp", "sport", RS_K_UDP_SPORT, VT_INT, NULL, 65535, "port", 0, 17, false, false },
	{ "udp", "dport", RS_K_UDP_DPORT, VT_INT, NULL, 65535, "port", 0, 17, false, false },
	{ "icmp", "type", RS_K_ICMP_TYPE, VT_INT, icmp_type_syms, 255, "icmp type", 4, 1, false, false },
	{ "icmpv6", "type", RS_K_ICMPV6_TYPE, VT_INT, icmpv6_type_syms, 255, "icmpv6 type", 6, 58, false, false },
	{ "ct", "state", RS_K_CT_STATE, VT_FLAGS, ct_state_syms, 0xffffffffu, "ct state", 0, 0, false, false },
	{ "ct", "status", RS_K_CT_STATUS, VT_FLAGS, ct_status_syms, 0xffffffffu, "ct status", 0, 0, false, false },
	{ "ct", "direction", RS_K_CT_DIRECTION, VT_INT, ct_dir_syms, 1, "ct direction", 0, 0, false, false },
	{ "ct", "mark", RS_K_CT_MARK, VT_INT, NULL, 0xffffffffu, "mark", 0, 0, true, false },
	{ "ct", "zone", RS_K_CT_ZONE, VT_INT, NULL, 65535, "zone", 0, 0, true, false },
	{ "ct", "helper", RS_K_CT_HELPER, VT_STR, NULL, 0, "helper", 0, 0, true, false },
	{ "ct", "timeout", RS_K_CT_TIMEOUT, VT_STR, NULL, 0, "timeout", 0, 0, true, false },
};
#define NKEYS (sizeof(key_table) / sizeof(key_table[0]))

const struct keydesc *rs_key_desc(enum rs_key k)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (key_table[i].key == k)
			return &key_table[i];
	return NULL;
}

const struct keydesc *rs_find_key(const char *w1, const char *w2)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct keydesc *kd = &key_table[i];

		if (w1 ? (kd->w1 && !strcmp(kd->w1, w1) && !strcmp(kd->w2, w2))
		       : (!kd->w1 && !strcmp(kd->w2, w2)))
			return kd;
	}
	return NULL;
}


/* ---------------------------------------------------------------------- */
/* Standard chain priorities                                               */

const struct prio_name rs_prio_names[] = {
	{ "raw", -300, ALL_HOOKS },
	{ "mangle", -150, ALL_HOOKS },
	{ "dstnat", -100, 1u << CT_HOOK_PREROUTING },
	{ "filter", 0, ALL_HOOKS },
	{ "security", 50, ALL_HOOKS },
	{ "srcnat", 100, 1u << CT_HOOK_POSTROUTING },
	{ NULL, 0, 0 },
};


/* ---------------------------------------------------------------------- */
/* Objects of a table by name                                              */

struct rs_chain *rs_table_find_chain(const struct rs_table *tab, const char *name)
{
	for (size_t i = 0; i < tab->nchains; i++)
		if (!strcmp(tab->chains[i]->name, name))
			return tab->chains[i];
	return NULL;
}

struct rs_helper *rs_table_find_helper(const struct rs_table *tab, const char *name)
{
	for (size_t i = 0; i < tab->nhelpers; i++)
		if (!strcmp(tab->helpers[i]->name, name))
			return tab->helpers[i];
	return NULL;
}


struct rs_timeout *rs_table_find_timeout(const struct rs_table *tab, const char *name)
{
	for (size_t i = 0; i < tab->ntimeouts; i++)
		if (!strcmp(tab->timeouts[i]->pol.name, name))
			return tab->timeouts[i];
	return NULL;
}
