/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_helper_sane.c — the sane helper alone (see fuzz_helper.h). */
#define FZ_SERVICE 7	/* fz_services[] */
#include "tests/fuzz/fuzz_helper.h"
