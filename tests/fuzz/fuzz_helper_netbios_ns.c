/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_helper_netbios_ns.c — the netbios_ns helper alone (see fuzz_helper.h). */
#define FZ_SERVICE 8	/* fz_services[] */
#include "tests/fuzz/fuzz_helper.h"
