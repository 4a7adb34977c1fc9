/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_scenario.c — `ctsim scenario run|check|export`: scenario files
 * (docs/scenarios.md) through the tracking pipeline on a virtual clock.
 *
 *   run FILE|DIR... [--json] [--report] [-v]   run them; pytest-like progress,
 *                                              failures with a diff, a summary
 *   run ... --kernel                           the same against a kernel router
 *                                              (kernel_scenarios.py, see below)
 *   run ... --live                             the same through the lab, compared
 *                                              with the offline run
 *                                              (live_scenarios.py)
 *   check FILE|DIR...                          parse only
 *   export FILE [--pcap OUT] [--json]          the packets as a capture; the
 *                                              steps as JSON (for the kernel driver)
 *
 * Every file is parsed before anything runs: one malformed file and
 * nothing runs (exit 1), the errors located as the ruleset's are.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "ctsim/cmd.h"
#include "ctsim/replay/pcap_io.h"
#include "ctsim/scenario/scenario.h"

enum outcome { R_PASSED, R_FAILED, R_WAITING, R_XPASS };

static const char *const outcome_name[] = { "passed", "failed", "waiting", "unexpectedly passing" };
static const char outcome_char[] = { '.', 'F', 'x', 'X' };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ctsim scenario run FILE|DIR... [ --json ] [ --report ] [ -v | --verbose ]\n"
		"                          [ --kernel | --live ] [ --trace[=nftrace] ]\n"
		"       ctsim scenario check FILE|DIR...\n"
		"       ctsim scenario export FILE [ --pcap OUT ] [ --json ]\n"
		"  run     run the scenarios on a virtual clock and check their expectations\n"
		"          (--json, --report: as JSON or a report; -v: every expectation;\n"
		"          --kernel: the same packets through a Linux router namespace, compared;\n"
		"          --live: through a running ctsim lab, compared with the offline run;\n"
		"          --trace: every packet's trace, =nftrace: those the ruleset marks\n"
		"          with meta nftrace)\n"
		"  check   parse only\n"
		"  export  the scenario's packets as a pcap file, or as JSON\n"
		"A directory stands for its *.ct files. -h, --help: this text.\n"
		"See docs/scenarios.md and ctsim-scenario(5).\n");
}

/* ---------------------------------------------------------------------- */
/* Files                                                                   */

struct files {
	char **v;
	size_t n;
};

static void add_file(struct files *fs, const char *path)
{
	char **v = realloc(fs->v, (fs->n + 1) * sizeof(*v));

	if (!v || !(v[fs->n] = strdup(path)))
		abort();
	fs->v = v;
	fs->n++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* FILE, or DIR: its *.ct files in name order. 0, or -1 with a message. */
static int collect(struct files *fs, const char *path)
{
	struct stat st;
	struct files sub = { 0 };
	struct dirent *d;
	DIR *dir;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "ctsim scenario: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		add_file(fs, path);
		return 0;
	}
	if (!(dir = opendir(path))) {
		fprintf(stderr, "ctsim scenario: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((d = readdir(dir))) {
		size_t n = strlen(d->d_name);
		char full[PATH_MAX];

		if (n < 4 || strcmp(d->d_name + n - 3, ".ct") || d->d_name[0] == '.')
			continue;
		snprintf(full, sizeof(full), "%s%s%s", path,
			 path[strlen(path) - 1] == '/' ? "" : "/", d->d_name);
		add_file(&sub, full);
	}
	closedir(dir);
	qsort(sub.v, sub.n, sizeof(*sub.v), cmp_str);
	for (size_t i = 0; i < sub.n; i++) {
		add_file(fs, sub.v[i]);
		free(sub.v[i]);
	}
	free(sub.v);
	if (!sub.n)
		fprintf(stderr, "ctsim scenario: %s: no *.ct files\n", path);
	return 0;
}

static void files_free(struct files *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		free(fs->v[i]);
	free(fs->v);
}

/* Parse them all; on any error print every error and return NULL. */
static struct scenario **parse_all(const struct files *fs)
{
	struct scenario **v = calloc(fs->n ? fs->n : 1, sizeof(*v));
	struct rs_errors errs;
	size_t bad = 0;

	if (!v)
		abort();
	rs_errors_init(&errs);
	for (size_t i = 0; i < fs->n; i++) {
		size_t before = errs.n;

		v[i] = scenario_parse_file(fs->v[i], &errs);
		bad += errs.n != before;
	}
	if (errs.n) {
		rs_errors_print(&errs, stderr);
		fprintf(stderr, "ctsim scenario: %zu error%s in %zu file%s; nothing was run\n",
			errs.n, errs.n == 1 ? "" : "s", bad, bad == 1 ? "" : "s");
		rs_errors_free(&errs);
		for (size_t i = 0; i < fs->n; i++)
			scenario_free(v[i]);
		free(v);
		return NULL;
	}
	rs_errors_free(&errs);
	return v;
}

/* ---------------------------------------------------------------------- */
/* run                                                                     */

static void print_indented(FILE *f, const char *text, const char *indent)
{
	while (text && *text) {
		const char *e = strchr(text, '\n');
		int n = e ? (int)(e - text) : (int)strlen(text);

		fprintf(f, "%s%.*s\n", indent, n, text);
		text += n + (e != NULL);
	}
}

static void print_failure(FILE *f, const struct scenario *sc, const struct sc_result *res)
{
	const struct sc_failure *x = &res->fail;

	fprintf(f, "\n---- %s%s%s ----\n", sc->path, sc->title ? ": " : "", sc->title ? sc->title : "");
	if (res->error) {
		fprintf(f, "%s\n", res->error);
		if (!x->expect)
			return;
	}
	fprintf(f, "%s:%u: %s\n", sc->path, x->line, x->expect);
	if (x->pkt_line)
		fprintf(f, "  after the packet of line %u: %s\n", x->pkt_line, x->pkt_text);
	else
		fprintf(f, "  before any packet\n");
	fprintf(f, "  expected:\n");
	print_indented(f, x->expected, "    ");
	fprintf(f, "  actual:\n");
	print_indented(f, x->actual, "    ");
}

static json_t *lines_json(const char *text)
{
	json_t *a = json_array();

	while (text && *text) {
		const char *e = strchr(text, '\n');
		size_t n = e ? (size_t)(e - text) : strlen(text);

		json_array_append_new(a, json_stringn(text, n));
		text += n + (e != NULL);
	}
	return a;
}

/* "LINE CTINFO VERDICT OUT" lines -> [{"line", "ctinfo", "verdict", "out"}];
 * OUT is "-" or the packets the router sent, "c:HEX" / "s:HEX" (the side
 * they left by) separated by commas */
static json_t *trace_json(const char *text)
{
	json_t *a = json_array();
	unsigned line;
	char st[16], v[16];
	int n;

	while (text && sscanf(text, "%u %15s %15s%n", &line, st, v, &n) == 3) {
		json_t *o = json_object(), *out = json_array();
		size_t len;

		json_object_set_new(o, "line", json_integer(line));
		json_object_set_new(o, "ctinfo", json_string(st));
		json_object_set_new(o, "verdict", json_string(v));
		text += n;
		while (*text == ' ')
			text++;
		len = strcspn(text, "\n");
		for (const char *p = text; p < text + len && *p != '-';) {
			size_t k = strcspn(p, ",\n");

			if (k > (size_t)(text + len - p))
				k = (size_t)(text + len - p);
			json_array_append_new(out, json_stringn(p, k));
			p += k + (p[k] == ',');
		}
		json_object_set_new(o, "out", out);
		json_array_append_new(a, o);
		text += len;
	}
	return a;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/*
 * The differential drivers (kernel_scenarios.py, live_scenarios.py and the
 * wire.py they import) are part of the product: meson installs them into
 * LIBEXECDIR/ctsim, and they are found without a source tree:
 *
 *   1. an uninstalled ctsim (this executable lies in the build tree it was
 *      built in): the sources in ctsim/scenario/, so edits need no install;
 *   2. installed: CTSIM_DRIVER_RELDIR relative to this executable's
 *      directory (bindir -> libexecdir/ctsim), which also holds for a
 *      `meson install --destdir` tree and a relocated prefix;
 *   3. the configured CTSIM_DRIVER_DIR (prefix/libexecdir/ctsim).
 *
 * They run with CTSIM_PYTHON (/usr/bin/python3: the distribution's Python,
 * which sees python3-scapy and friends), not whatever python3 PATH has.
 */
#ifndef CTSIM_DRIVER_DIR
#define CTSIM_DRIVER_DIR	"/usr/local/libexec/ctsim"
#endif
#ifndef CTSIM_DRIVER_RELDIR
#define CTSIM_DRIVER_RELDIR	"../libexec/ctsim"
#endif
#ifndef CTSIM_PYTHON
#define CTSIM_PYTHON		"/usr/bin/python3"
#endif

/* Put DIR[/REL]/SCRIPT into @out; is it a readable file? */
static bool driver_at(char *out, size_t cap, const char *dir, const char *rel, const char *script)
{
	int n = snprintf(out, cap, "%s%s%s/%s", dir, rel ? "/" : "", rel ? rel : "", script);

	return n > 0 && (size_t)n < cap && access(out, R_OK) == 0;
}

/* Find @script for the executable @self (its real path); see above. */
static bool find_driver(const char *self, const char *script, char *out, size_t cap)
{
	char dir[PATH_MAX];
	char *slash;

#if defined(CTSIM_BUILD_ROOT) && defined(CTSIM_DRIVER_SRCDIR)
	{
		size_t n = strlen(CTSIM_BUILD_ROOT);

		if (strncmp(self, CTSIM_BUILD_ROOT, n) == 0 && self[n] == '/' &&
		    driver_at(out, cap, CTSIM_DRIVER_SRCDIR, NULL, script))
			return true;
	}
#endif
	snprintf(dir, sizeof(dir), "%s", self);
	slash = strrchr(dir, '/');
	if (slash && CTSIM_DRIVER_RELDIR[0] != '/') {	/* absolute: same as 3. */
		*slash = '\0';
		if (driver_at(out, cap, dir, CTSIM_DRIVER_RELDIR, script))
			return true;
	}
	return driver_at(out, cap, CTSIM_DRIVER_DIR, NULL, script);
}

/* Hand the run to a driver script (--kernel: kernel_scenarios.py, --live:
 * live_scenarios.py), with the same arguments less @flag. */
static int run_driver(int argc, char **argv, const char *flag, const char *script)
{
	char driver[PATH_MAX], self[PATH_MAX];
	char **args = calloc((size_t)argc + 6, sizeof(*args));
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int k = 0;

	if (!args || n < 0) {
		free(args);
		return 1;
	}
	self[n] = '\0';
	if (!find_driver(self, script, driver, sizeof(driver))) {
		fprintf(stderr, "ctsim scenario: %s needs %s, installed in %s (or %s next to "
			"this ctsim); not found\n", flag, script, CTSIM_DRIVER_DIR, CTSIM_DRIVER_RELDIR);
		free(args);
		return 1;
	}
	args[k++] = CTSIM_PYTHON;
	args[k++] = driver;
	args[k++] = "--ctsim";
	args[k++] = self;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], flag) && strcmp(argv[i], "run"))
			args[k++] = argv[i];
	args[k] = NULL;
	fflush(NULL);
	execv(CTSIM_PYTHON, args);
	fprintf(stderr, "ctsim scenario: %s: %s\n", CTSIM_PYTHON, strerror(errno));
	free(args);
	return 1;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "report", no_argument, NULL, 'r' },
		{ "kernel", no_argument, NULL, 'k' }, { "live", no_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
		{ "trace", optional_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, report = false, kernel = false, live = false, verbose = false;
	int trace = 0;		/* 1: packets with meta nftrace, 2: every packet */
	struct files fs = { 0 };
	struct scenario **scs;
	unsigned count[4] = { 0 };
	json_t *top = NULL, *list = NULL;
	struct sc_result *results;
	enum outcome *oc;
	int opt, rc = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jvh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = true; break;
		case 'r': report = true; break;
		case 'k': kernel = true; break;
		case 'v': verbose = true; break;
		case 'l': live = true; break;
		case 't':
			if (optarg && strcmp(optarg, "nftrace") && strcmp(optarg, "all")) {
				fprintf(stderr, "ctsim scenario run: --trace=%s: expected nftrace or all\n",
					optarg);
				return 2;
			}
			trace = optarg && !strcmp(optarg, "nftrace") ? 1 : 2;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "ctsim scenario run: no scenario file or directory given\n");
		usage(stderr);
		return 2;
	}
	for (int i = optind; i < argc; i++)
		if (collect(&fs, argv[i]) < 0) {
			files_free(&fs);
			return 1;
		}
	if (kernel && live) {
		fprintf(stderr, "ctsim scenario run: --kernel and --live exclude each other\n");
		files_free(&fs);
		return 2;
	}
	if (trace && (json || kernel || live)) {
		fprintf(stderr, "ctsim scenario run: --trace goes with neither --json, --kernel nor --live\n");
		files_free(&fs);
		return 2;
	}
	if (kernel || live) {
		rc = live ? run_driver(argc, argv, "--live", "live_scenarios.py")
			  : run_driver(argc, argv, "--kernel", "kernel_scenarios.py");
		files_free(&fs);
		return rc;
	}
	if (!(scs = parse_all(&fs))) {
		files_free(&fs);
		return 1;
	}
	results = calloc(fs.n ? fs.n : 1, sizeof(*results));
	oc = calloc(fs.n ? fs.n : 1, sizeof(*oc));
	if (!results || !oc)
		abort();
	if (json) {
		top = json_object();
		list = json_array();
	}
	for (size_t i = 0; i < fs.n; i++) {
		const struct scenario *sc = scs[i];
		struct sc_result *res = &results[i];

		if (verbose && !json)
			printf("%s\n", sc->path);
		fflush(stdout);
		if (trace && !verbose)
			printf("%s\n", sc->path);
		scenario_run_traced(sc, res, verbose && !json, stdout, trace ? router_trace_file : NULL,
				    stdout, trace == 2);
		fflush(stdout);
		if (sc->waits_for)
			oc[i] = res->ok ? R_XPASS : R_WAITING;
		else
			oc[i] = res->ok ? R_PASSED : R_FAILED;
		count[oc[i]]++;
		if (json) {
			json_t *o = json_object(), *f = json_null();

			json_object_set_new(o, "file", json_string(sc->path));
			json_object_set_new(o, "title", str_or_null(sc->title));
			json_object_set_new(o, "source", str_or_null(sc->source));
			json_object_set_new(o, "waits_for", str_or_null(sc->waits_for));
			json_object_set_new(o, "emulator_only", str_or_null(sc->emulator_only));
			json_object_set_new(o, "result", json_string(outcome_name[oc[i]]));
			json_object_set_new(o, "packets", json_integer(res->packets));
			json_object_set_new(o, "dropped", json_integer(res->dropped));
			json_object_set_new(o, "checks", json_integer(res->checks));
			json_object_set_new(o, "error", str_or_null(res->error));
			if (res->fail.expect) {
				f = json_object();
				json_object_set_new(f, "line", json_integer(res->fail.line));
				json_object_set_new(f, "expect", json_string(res->fail.expect));
				json_object_set_new(f, "expected", json_string(res->fail.expected));
				json_object_set_new(f, "actual", json_string(res->fail.actual));
				json_object_set_new(f, "packet_line", res->fail.pkt_line ?
						    json_integer(res->fail.pkt_line) : json_null());
				json_object_set_new(f, "packet", str_or_null(res->fail.pkt_text));
			}
			json_object_set_new(o, "failure", f);
			json_object_set_new(o, "table", lines_json(res->table));
			json_object_set_new(o, "events", lines_json(res->events));
			json_object_set_new(o, "stats", json_string(res->stats ? res->stats : ""));
			json_object_set_new(o, "expectations", lines_json(res->expectations));
			json_object_set_new(o, "exp_events", lines_json(res->exp_events));
			json_object_set_new(o, "trace", trace_json(res->trace));
			json_array_append_new(list, o);
		} else if (report) {
			printf("%-22s %-48s %s\n", outcome_name[oc[i]], sc->title ? sc->title : sc->path,
			       sc->source ? sc->source : "(no source)");
		} else {
			printf("%s %c\n", sc->path, outcome_char[oc[i]]);
		}
	}
	if (json) {
		json_t *s = json_object();

		json_object_set_new(top, "scenarios", list);
		json_object_set_new(s, "passed", json_integer(count[R_PASSED]));
		json_object_set_new(s, "failed", json_integer(count[R_FAILED]));
		json_object_set_new(s, "waiting", json_integer(count[R_WAITING]));
		json_object_set_new(s, "unexpectedly_passing", json_integer(count[R_XPASS]));
		json_object_set_new(top, "summary", s);
		json_dumpf(top, stdout, JSON_PRESERVE_ORDER | JSON_INDENT(1));
		fputc('\n', stdout);
		json_decref(top);
	} else {
		bool any = false;

		for (size_t i = 0; i < fs.n; i++)
			if (oc[i] == R_FAILED || (verbose && oc[i] == R_WAITING)) {
				if (!any)
					printf("\n==== failures ====");
				any = true;
				print_failure(stdout, scs[i], &results[i]);
			}
		/* The waiting ones by name: a count alone lets a list of
		 * known failures grow unnoticed. */
		for (size_t i = 0; i < fs.n; i++)
			if (oc[i] == R_WAITING) {
				printf("%swaiting: %s (waits for %s)\n", any ? "" : "\n",
				       scs[i]->path, scs[i]->waits_for);
				any = true;
			}
		for (size_t i = 0; i < fs.n; i++)
			if (oc[i] == R_XPASS) {
				printf("%sunexpectedly passing (it waits for %s): %s: remove its "
				       "waits-for line\n", any ? "" : "\n", scs[i]->waits_for,
				       scs[i]->path);
				any = true;
			}
		printf("\n%u passed, %u failed, %u waiting", count[R_PASSED], count[R_FAILED],
		       count[R_WAITING]);
		if (count[R_XPASS])
			printf(", %u unexpectedly passing", count[R_XPASS]);
		printf("\n");
	}
	/* An unexpected pass fails the run: the waits-for marker is stale
	 * and, left in place, would hide the next regression of that file. */
	rc = count[R_FAILED] || count[R_XPASS] ? 1 : 0;
	for (size_t i = 0; i < fs.n; i++) {
		sc_result_free(&results[i]);
		scenario_free(scs[i]);
	}
	free(results);
	free(oc);
	free(scs);
	files_free(&fs);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* check, export                                                           */

static int cmd_check(int argc, char **argv)
{
	struct files fs = { 0 };
	struct scenario **scs;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
	for (int i = 1; i < argc; i++)
		if (collect(&fs, argv[i]) < 0) {
			files_free(&fs);
			return 1;
		}
	if (!(scs = parse_all(&fs))) {
		files_free(&fs);
		return 1;
	}
	for (size_t i = 0; i < fs.n; i++) {
		printf("%s: ok, %zu steps\n", fs.v[i], scs[i]->nsteps);
		scenario_free(scs[i]);
	}
	free(scs);
	files_free(&fs);
	return 0;
}

static int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pcap", required_argument, NULL, 'w' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *pcap = NULL;
	bool json = false;
	struct files fs = { 0 };
	struct scenario **scs;
	int opt, rc = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "w:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'w': pcap = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || (!pcap && !json)) {
		fprintf(stderr, "ctsim scenario export: one FILE, and --pcap OUT and/or --json\n");
		return 2;
	}
	add_file(&fs, argv[optind]);
	if (!(scs = parse_all(&fs))) {
		files_free(&fs);
		return 1;
	}
	if (pcap) {
		char err[CT_PCAP_ERRLEN];

		if (scenario_export_pcap(scs[0], pcap, err)) {
			fprintf(stderr, "ctsim scenario export: %s\n", err);
			rc = 1;
		}
	}
	if (json) {
		json_t *o = scenario_export_json(scs[0]);

		json_dumpf(o, stdout, JSON_PRESERVE_ORDER | JSON_INDENT(1));
		fputc('\n', stdout);
		json_decref(o);
	}
	scenario_free(scs[0]);
	free(scs);
	files_free(&fs);
	return rc;
}

int cmd_scenario(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "export"))
		return cmd_export(argc - 1, argv + 1);
	fprintf(stderr, "ctsim scenario: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
