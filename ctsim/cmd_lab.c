/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_lab.c — `ctsim lab down`: clean up a lab, also after a crash (only
 * namespaces a ctsim lab made and whose process is gone: lab_cleanup()). */
#include <stdio.h>
#include <string.h>
#include "ctsim/cmd.h"
#include "ctsim/lab/lab.h"

int cmd_lab(int argc, char **argv)
{
	const char *prefix = LAB_DEFAULT_PREFIX;

	if (argc < 2 || strcmp(argv[1], "down") != 0) {
		fprintf(stderr, "Usage: ctsim lab down [--prefix PREFIX]\n"
				"  (the lab comes up with the daemon: ctsim --lab)\n");
		return 2;
	}
	if (argc == 4 && strcmp(argv[2], "--prefix") == 0)
		prefix = argv[3];
	else if (argc != 2) {
		fprintf(stderr, "ctsim lab down: unexpected argument \"%s\"\n", argv[2]);
		return 2;
	}
	if (lab_cleanup(prefix) < 0) {
		perror("ctsim lab down: " LAB_RUN_DIR);
		return 1;
	}
	return 0;
}
