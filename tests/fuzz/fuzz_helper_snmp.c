/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_helper_snmp.c — the snmp helper alone (see fuzz_helper.h). */
#define FZ_SERVICE 9	/* fz_services[] */
#include "tests/fuzz/fuzz_helper.h"
