/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * registry.c — the built-in helpers, one row each, and the function that
 * registers them with the core (each kernel helper module's module_init()
 * calling nf_conntrack_helpers_register()). The glue that finds and runs
 * them is the core's: ctsim/core/helper.c.
 *
 * Adding a helper: helpers/foo.c with `const struct ct_helper
 * ct_helper_foo`, its declaration in helpers.h, a row below, its file in
 * helpers/meson.build.
 */
#include <stdbool.h>
#include "helpers/helpers.h"

/* The order is the order of `ctsim explain helpers` and of the search. */
static const struct ct_helper *const builtin[] = {
	&ct_helper_ftp,
	&ct_helper_tftp,
	&ct_helper_irc,
	&ct_helper_pptp,
	&ct_helper_sip,
	&ct_helper_sip_tcp,	/* "sip" over TCP: the same name, found by l4 protocol */
	&ct_helper_amanda,
	&ct_helper_sane,
	&ct_helper_netbios_ns,
	&ct_helper_snmp,
};

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
