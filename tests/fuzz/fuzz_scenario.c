/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_scenario.c — scenario_parse_string() on arbitrary text (hosts,
 * packets in the tcpdump-like notation, inline rulesets, operations,
 * expectations, located errors) and, when it parses, scenario_run(): the
 * packets through the router, the expectations checked, the listings
 * printed.
 *
 * The scenario is named as if it lived in a directory that does not exist,
 * so that `ruleset FILE` lines with relative names find nothing. Texts that
 * name a path under /dev, /proc, /sys or /run are skipped: reading
 * /dev/zero or a FIFO as a ruleset would hang the fuzzer, not find a bug
 * (a scenario file is trusted to name real files).
 */
#include "tests/fuzz/fuzz_common.h"
#include "ctsim/scenario/scenario.h"

/* Longer texts only make the run slower: many steps, same code. */
#define FZ_MAX_TEXT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const special[] = { "/dev", "/proc", "/sys", "/run" };
	struct rs_errors errs = { 0 };
	struct scenario *sc;
	char *text, *out = NULL;
	size_t outlen = 0;
	FILE *mem;

	if (size > FZ_MAX_TEXT)
		return 0;
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (strstr(text, special[i])) {
			free(text);
			return 0;
		}
	sc = scenario_parse_string("/nonexistent-ctsim-fuzz/fuzz.ct", text, &errs);
	free(text);
	mem = open_memstream(&out, &outlen);
	if (!mem)
		abort();
	rs_errors_print(&errs, mem);
	rs_errors_free(&errs);
	if (sc) {
		struct sc_result res;

		scenario_run(sc, &res, true, mem);
		sc_result_free(&res);
		scenario_free(sc);
	}
	fclose(mem);
	free(out);
	return 0;
}
