/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_helper_pptp.c — the pptp helper alone (see fuzz_helper.h). */
#define FZ_SERVICE 3	/* fz_services[] */
#include "tests/fuzz/fuzz_helper.h"
