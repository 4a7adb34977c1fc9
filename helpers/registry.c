/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * registry.c — the built-in helpers, one row each, and the function that
 * registers them with the core (each kernel helper module's module_init()
 * calling nf_conntrack_helpers_register()). The glue that finds and runs
 * them is the core's: ctsim/core/helper.c.
 *
 * Adding a helper: helpers/foo.c with `const struct ct_helper
 * ct_helper_foo`, a row below, its file in helpers/meson.build.
 */
#include <stdbool.h>
#include "helpers/helpers.h"

/*
 * One row per helper: NAME for its `const struct ct_helper ct_helper_NAME`
 * (helpers/NAME.c or a sibling). The row both declares it and puts it in
 * the table. The order is the order of `ctsim explain helpers` and of the
 * search (ct_helper_find()).
 */
#define BUILTIN_HELPERS(row)						\
	row(ftp)							\
	row(tftp)							\
	row(irc)							\
	row(pptp)							\
	row(sip)							\
	row(sip_tcp)	/* "sip" over TCP: the same name, found by l4 protocol */ \
	row(amanda)							\
	row(sane)							\
	row(netbios_ns)							\
	row(snmp)

#define DECLARE(name)	extern const struct ct_helper ct_helper_##name;
#define ENTRY(name)	&ct_helper_##name,

BUILTIN_HELPERS(DECLARE)

static const struct ct_helper *const builtin[] = { BUILTIN_HELPERS(ENTRY) };

int ct_helpers_register_builtin(void)
{
	static bool done;

	if (done)
		return 0;
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		int err = ct_helper_register(builtin[i]);

		if (err)
			return err;
	}
	done = true;
	return 0;
}
