/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_helper_sip.c — the sip helper alone (see fuzz_helper.h). */
#define FZ_SERVICE 4	/* fz_services[] */
#include "tests/fuzz/fuzz_helper.h"
