/* SPDX-License-Identifier: GPL-2.0-or-later */
/* placeholder: being written */
#include "ctsim/cmd.h"
int cmd_ruleset(int argc, char **argv) { (void)argc; (void)argv; return 2; }
