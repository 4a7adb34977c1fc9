/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset_default.c — the built-in ruleset: a stateful router firewall,
 * kept as text so that it is parsed like any file, printable
 * (`ctsim ruleset show default`) and documented (docs/ruleset.md).
 *
 * Lab interface naming (docs/ruleset.md "The default ruleset"): ctsim's
 * TUN devices on the client side are called ct-c0, ct-c1 ..., those on the
 * server side ct-s0, ct-s1 ...; rules select sides with nft's wildcard
 * names, iifname "ct-c*".
 */
#include "ctsim/hooks/ruleset.h"

static const char default_text[] =
"# ctsim's default ruleset: a stateful router firewall.\n"
"#\n"
"# Clients (interfaces ct-c0, ct-c1 ...) may open connections to servers\n"
"# (ct-s0, ct-s1 ...); servers may only answer. The decision is made on the\n"
"# first packet of a connection (ct state new); later packets are accepted\n"
"# because conntrack knows them (established), as are ICMP errors about them\n"
"# (related). Load your own with --ruleset FILE; check one with\n"
"# `ctsim ruleset check FILE`.\n"
"\n"
"table inet ctsim {\n"
"\t# Before conntrack (priority raw = -300): the place for notrack,\n"
"\t# ct zone set and ct helper set. Empty: every packet is tracked.\n"
"\tchain raw_prerouting {\n"
"\t\ttype filter hook prerouting priority raw; policy accept;\n"
"\t}\n"
"\n"
"\t# Packets for ctsim itself (it answers pings).\n"
"\tchain input {\n"
"\t\ttype filter hook input priority filter; policy drop;\n"
"\t\t# replies to what ctsim sent, and ICMP errors about it\n"
"\t\tct state established,related counter accept\n"
"\t\t# not part of any connection conntrack can follow (e.g. a forged ICMP error)\n"
"\t\tct state invalid counter drop\n"
"\t\t# ping ctsim over IPv4 and IPv6\n"
"\t\tmeta l4proto { icmp, ipv6-icmp } counter accept\n"
"\t}\n"
"\n"
"\t# Packets routed between the lab's hosts.\n"
"\tchain forward {\n"
"\t\ttype filter hook forward priority filter; policy drop;\n"
"\t\t# the heart of a stateful firewall: anything conntrack already knows\n"
"\t\tct state established,related counter accept\n"
"\t\t# conntrack could not make sense of it: never let it through\n"
"\t\tct state invalid counter drop\n"
"\t\t# new connections may start on the client side only\n"
"\t\tiifname \"ct-c*\" ct state new counter accept\n"
"\t\t# ICMP (ping) in both directions; remove this rule to see a server's\n"
"\t\t# ping to a client denied while the client's ping works\n"
"\t\tmeta l4proto { icmp, ipv6-icmp } counter accept\n"
"\t\t# what reaches this rule is dropped by the policy: count it\n"
"\t\tcounter\n"
"\t}\n"
"\n"
"\t# Packets ctsim sends itself (ping replies): allowed.\n"
"\tchain output {\n"
"\t\ttype filter hook output priority filter; policy accept;\n"
"\t}\n"
"}\n";

const char *ruleset_default_text(void)
{
	return default_text;
}

struct ruleset *ruleset_default(void)
{
	return ruleset_parse_string("default", default_text, NULL);
}
