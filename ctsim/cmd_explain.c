/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_explain.c — `ctsim explain tcp|helpers|hooks`: the teaching views
 * of the TCP tracker, the conntrack helpers and the hook ladder, each
 * printed from the table the code itself runs on. */
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "ctsim/cmd.h"
#include "ctsim/core/helper.h"
#include "ctsim/core/track_tcp.h"
#include "ctsim/hooks/router.h"

/* Every registered helper: its name and protocol as nft's `ct helper`
 * object names them, its expectation classes with their policy
 * (struct nf_conntrack_expect_policy), what it reads, the kernel module. */
static void print_helpers(FILE *f)
{
	const struct ct_helper *h;

	fprintf(f, "Conntrack helpers. Attach one with an nft object and a rule, e.g.\n"
		   "  ct helper ftp-21 { type \"ftp\" protocol tcp; }\n"
		   "  ... tcp dport 21 ct helper set \"ftp-21\"\n"
		   "(no helper is attached by port alone: the kernel's nf_conntrack_helper\n"
		   "sysctl, which did that, is gone).\n\n");
	fprintf(f, "%-11s %-5s %-6s %-22s %s\n", "type", "proto", "family", "class: max, timeout",
		"reads / expects (kernel module)");
	for (size_t i = 0; (h = ct_helper_at(i)); i++) {
		for (unsigned c = 0; c <= h->expect_class_max && c < CT_HELPER_CLASS_MAX; c++) {
			char pol[40];

			snprintf(pol, sizeof(pol), "%u %s: %u, %u s", c,
				 h->policy[c].name ? h->policy[c].name : "-",
				 h->policy[c].max_expected, h->policy[c].timeout);
			if (c == 0)
				fprintf(f, "%-11s %-5s %-6s %-22s %s%s%s%s\n", h->name,
					h->l4num == IPPROTO_TCP ? "tcp" : "udp",
					h->l3num == AF_INET ? "ip" : "inet", pol,
					h->what ? h->what : "", h->module ? " (" : "",
					h->module ? h->module : "", h->module ? ")" : "");
			else
				fprintf(f, "%-11s %-5s %-6s %s\n", "", "", "", pol);
		}
	}
	fprintf(f, "\nfamily ip: the kernel registers it for IPv4 only (an inet object then\n"
		   "attaches it to IPv4 connections only). max 0 = no limit per master;\n"
		   "all expectations are bounded by nf_conntrack_expect_max.\n");
}

static void print_tcp(FILE *f)
{
	ct_tcp_print_table(f);
}

/* One row per view: the word after `explain`, the printer, its usage line. */
static const struct {
	const char *name;
	void (*print)(FILE *f);
	const char *help;
} views[] = {
	{ "tcp", print_tcp, "the TCP tracker's transition table (direction x flags x state),\n"
			    "           with the reason for every cell, as in nf_conntrack_proto_tcp.c" },
	{ "helpers", print_helpers, "the conntrack helpers: types, protocols, expectation policies" },
	{ "hooks", router_ladder_print, "the hook ladder: every hook's rows by priority (raw, conntrack,\n"
					"           mangle, dstnat, filter, srcnat, confirm), with the reason" },
};

int cmd_explain(int argc, char **argv)
{
	size_t n = sizeof(views) / sizeof(views[0]);

	/* --help (anywhere): the usage on stdout, exit 0; a mistake: stderr, 2 */
	bool help = false;
	FILE *out;

	for (int i = 1; i < argc; i++)
		help |= !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help");
	for (size_t i = 0; argc == 2 && !help && i < n; i++)
		if (strcmp(argv[1], views[i].name) == 0) {
			views[i].print(stdout);
			return 0;
		}
	out = help ? stdout : stderr;
	fprintf(out, "Usage: ctsim explain tcp|helpers|hooks\n");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-8s %s\n", views[i].name, views[i].help);
	return help ? 0 : 2;
}
