/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_ruleset.c — ruleset_parse_string() on arbitrary text: lexer, parser,
 * semantic checks and the located-error printer (carets under tabs, lines
 * without newline, NUL bytes cut the text short as they would a C string).
 * A text that parses is printed back (text and JSON, as `ctsim ruleset
 * show` does) and evaluated: a few packets through the router under it,
 * so that jumps, gotos, returns, sets, NAT and helper statements run too.
 */
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_core f;
	struct rs_errors errs = { 0 };
	struct ruleset *rs;
	char *text = malloc(size + 1), *out = NULL;
	size_t outlen = 0;
	FILE *mem;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	rs = ruleset_parse_string("fuzz.nft", text, &errs);
	free(text);
	mem = open_memstream(&out, &outlen);
	if (!mem)
		abort();
	rs_errors_print(&errs, mem);
	rs_errors_free(&errs);
	if (rs) {
		ruleset_print(rs, mem, false);
		ruleset_print(rs, mem, true);
		fz_core_init(&f, true);
		f.h.router.rs = rs;
		fz_send(&f, 0, false, false, (const uint8_t *)"USER a\r\n", 8);
		fz_send(&f, 0, false, true, (const uint8_t *)"227 (10,66,2,2,4,1)\r\n", 21);
		fz_send(&f, 4, true, false, (const uint8_t *)"OPTIONS sip:a SIP/2.0\r\n\r\n", 25);
		fz_send(&f, 10, false, true, (const uint8_t *)"x", 1);
		fz_core_fini(&f);
		ruleset_reset_counters(rs);
		ruleset_free(rs);
	}
	fclose(mem);
	free(out);
	return 0;
}
