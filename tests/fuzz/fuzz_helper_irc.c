/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_helper_irc.c — the irc helper alone (see fuzz_helper.h). */
#define FZ_SERVICE 2	/* fz_services[] */
#include "tests/fuzz/fuzz_helper.h"
