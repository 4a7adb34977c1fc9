/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_ruleset.c — `ctsim ruleset check|show FILE|default [-j]`: parse a
 * ruleset without running anything (nft -c -f, nft list ruleset).
 *
 * Exit status: 0 valid, 1 errors (printed nft-style on stderr), 2 usage.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "ctsim/cmd.h"
#include "ctsim/hooks/ruleset.h"

static int usage(FILE *f)
{
	fprintf(f,
		"usage: ctsim ruleset check FILE|-|default\n"
		"       ctsim ruleset show [-j | --json] FILE|-|default\n"
		"  check  parse only: no output and exit 0 when valid, errors on stderr and exit 1\n"
		"  show   print the parsed ruleset as `nft list ruleset` does (-j: JSON)\n"
		"  -h, --help  this text\n"
		"  The syntax is a subset of nft(8): see docs/ruleset.md and ctsim-ruleset(5).\n");
	return f == stdout ? 0 : 2;
}

static struct ruleset *load(const char *what, struct rs_errors *errs)
{
	if (!strcmp(what, "default"))
		return ruleset_parse_string("default", ruleset_default_text(), errs);
	return ruleset_parse_file(what, errs);
}

int cmd_ruleset(int argc, char **argv)
{
	struct rs_errors errs;
	struct ruleset *rs;
	const char *verb, *file = NULL;
	bool json = false;

	/* argv[0] is "ruleset" (main.c passes the verb's own argv) */
	if (argc >= 1 && !strcmp(argv[0], "ruleset"))
		argc--, argv++;
	if (argc < 1)
		return usage(stderr);
	verb = argv[0];
	if (!strcmp(verb, "-h") || !strcmp(verb, "--help") || !strcmp(verb, "help"))
		return usage(stdout);
	if (strcmp(verb, "check") && strcmp(verb, "show")) {
		fprintf(stderr, "ctsim ruleset: unknown command \"%s\"\n", verb);
		return usage(stderr);
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			return usage(stdout);	/* `ctsim ruleset show --help` */
		} else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "ctsim ruleset: unknown option \"%s\"\n", argv[i]);
			return usage(stderr);
		} else if (file) {
			fprintf(stderr, "ctsim ruleset: one file only\n");
			return usage(stderr);
		} else {
			file = argv[i];
		}
	}
	if (!file)
		return usage(stderr);

	rs_errors_init(&errs);
	rs = load(file, &errs);
	if (!rs) {
		rs_errors_print(&errs, stderr);
		rs_errors_free(&errs);
		return 1;
	}
	if (!strcmp(verb, "show"))
		ruleset_print(rs, stdout, json);
	ruleset_free(rs);
	rs_errors_free(&errs);
	return 0;
}
