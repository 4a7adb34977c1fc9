/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_helper_ftp.c — the ftp helper alone (see fuzz_helper.h). */
#define FZ_SERVICE 0	/* fz_services[] */
#include "tests/fuzz/fuzz_helper.h"
