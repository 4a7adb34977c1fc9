/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_explain.c — `ctsim explain tcp`: the teaching views of the trackers. */
#include <stdio.h>
#include <string.h>
#include "ctsim/cmd.h"
#include "ctsim/proto_tcp.h"

int cmd_explain(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "tcp") == 0) {
		ct_tcp_print_table(stdout);
		return 0;
	}
	fprintf(stderr, "Usage: ctsim explain tcp\n"
			"  prints the TCP tracker's transition table (direction x flags x state),\n"
			"  with the reason for every cell, as in nf_conntrack_proto_tcp.c\n");
	return 2;
}
