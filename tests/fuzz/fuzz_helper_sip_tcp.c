/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_helper_sip_tcp.c — the sip_tcp helper alone (see fuzz_helper.h). */
#define FZ_SERVICE 5	/* fz_services[] */
#include "tests/fuzz/fuzz_helper.h"
