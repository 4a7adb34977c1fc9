/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_helper_amanda.c — the amanda helper alone (see fuzz_helper.h). */
#define FZ_SERVICE 6	/* fz_services[] */
#include "tests/fuzz/fuzz_helper.h"
