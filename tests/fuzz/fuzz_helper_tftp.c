/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_helper_tftp.c — the tftp helper alone (see fuzz_helper.h). */
#define FZ_SERVICE 1	/* fz_services[] */
#include "tests/fuzz/fuzz_helper.h"
