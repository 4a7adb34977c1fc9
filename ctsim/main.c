/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c — the ctsim daemon: options, settings, and the event loop that
 * drives the ctnetlink server and the GC walker.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "proto/ctsim_wire.h"
#include "ctsim/core/clock.h"
#include "ctsim/cmd.h"
#include "ctsim/lab/dataplane.h"
#include "ctsim/core/event.h"
#include "ctsim/core/expect.h"
#include "ctsim/core/gc.h"
#include "ctsim/nfnetlink/server.h"
#include "ctsim/core/settings.h"
#include "ctsim/core/table.h"
#include "helpers/helpers.h"

#define GC_INTERVAL_MS	100
/* Wall time one GC slice may take before the loop serves clients again (the
 * kernel's worker takes 10 ms, GC_SCAN_MAX_DURATION, but runs beside the
 * data path; here the slice holds up requests and packets). */
#define GC_SLICE_NS	2000000ull
/* After activity, keep polling without sleeping for this long: clients wait
 * for each answer (conntrack -R sends one request per entry), and waking a
 * sleeping CPU costs more than the work. */
#define BUSY_POLL_NS	200000ull

/*
 * The subcommands (`ctsim VERB ...`): one row each, read by the dispatch in
 * main() and by usage(), so that --help cannot forget one. @usage is what
 * follows "ctsim " on the usage line; continuation lines start with "\n".
 */
struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);	/* gets argv from the verb on */
	const char *usage;
};

static const struct subcommand subcommands[] = {
	{ "ruleset", cmd_ruleset, "ruleset check|show FILE" },
	{ "lab", cmd_lab, "lab start DIR | check [DIR|NN] | down [--prefix PREFIX]  (docs/labs)" },
	{ "classroom", cmd_classroom,
	  "classroom start N [DIR] [--dir RUNDIR] [--prefix PREFIX] | list | down  (docs/lab.md)" },
	{ "explain", cmd_explain,
	  "explain tcp|helpers|hooks  (the TCP state table, a reason per cell; the helpers; the hook ladder)" },
	{ "replay", cmd_replay,
	  "replay FILE.pcap [--ruleset F] [--set N=V]... [--events] [--stats]\n"
	  "             [--counters] [--expectations] [-j]" },
	{ "scenario", cmd_scenario,
	  "scenario run|check|export FILE|DIR... [--kernel | --live]  (docs/scenarios.md)" },
	{ "pressure", cmd_pressure,
	  "pressure [--policy NAME,...] [--max N] [--buckets N] [--flood N] [--json]  (docs/pressure.md)" },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: ctsim [OPTIONS]\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		fputs("       ctsim ", out);
		/* Continuation lines are indented under the verb's arguments. */
		for (const char *c = subcommands[i].usage; *c; c++) {
			fputc(*c, out);
			if (*c == '\n')
				fputs("       ", out);
		}
		fputc('\n', out);
	}
	fprintf(out,
		"Emulate Linux netfilter connection tracking, serving nfnetlink_conntrack\n"
		"on a Unix socket (use ctsim-exec to point conntrack(8) at it).\n"
		"\n"
		"  -s, --socket PATH       socket path (default %s, or $%s)\n"
		"  -m, --socket-mode MODE  socket file mode, octal (default 0600: root only,\n"
		"                          as the kernel requires CAP_NET_ADMIN)\n"
		"  -c, --config FILE       settings file: \"nf_conntrack_max = 1000\" lines\n"
		"      --lab               build the classroom lab (client and server namespaces\n"
		"                          attached by TUN devices) and route between them\n"
		"      --topology FILE     the lab's hosts (implies --lab; see docs/lab.md)\n"
		"      --lab-prefix P      namespace name prefix (default \"%s\")\n"
		"  -r, --ruleset FILE      nft-style ruleset (default: the built-in stateful\n"
		"                          router firewall); SIGHUP reloads it\n"
		"      --capture FILE      write every packet the lab's hosts send to a pcap\n"
		"                          file (replay it with: ctsim replay FILE)\n"
		"      --set NAME=VALUE    one setting (sysctl name, net.netfilter. optional)\n"
		"      --list-settings     print every setting with its value and exit\n"
		"      --seed N            hash/id seed (default: random)\n"
		"  -v, --verbose           log client connects and disconnects, request errors\n"
		"                          and ruleset reloads on stderr\n"
		"  -h, --help              this text\n"
		"  -V, --version           version\n",
		CTSIM_DEFAULT_SOCKET, CTSIM_SOCKET_ENV, LAB_DEFAULT_PREFIX);
}

/* -v: the server logs clients and errors, and a reload names its cause. */
static bool verbose;

/* The server's CTSIM_CTL_RELOAD callback (`ctctl reload`): 0 or an errno. */
static int reload_on_request(void *arg)
{
	return dataplane_reload(arg, verbose ? "ctctl reload" : NULL) == 0 ? 0 : EINVAL;
}

static int make_parent_dir(const char *path)
{
	char dir[256];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The kernel's log lines (dmesg on a kernel) go to stderr. */
static void kernel_log(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "ctsim: kernel: %s\n", line);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 'S' },
		{ "list-settings", no_argument, NULL, 'L' },
		{ "seed", required_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "lab", no_argument, NULL, 'l' },
		{ "topology", required_argument, NULL, 't' },
		{ "lab-prefix", required_argument, NULL, 'p' },
		{ "ruleset", required_argument, NULL, 'r' },
		{ "capture", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv(CTSIM_SOCKET_ENV);
	unsigned mode = 0600;
	bool list = false, have_seed = false, lab = false;
	const char *topology = NULL, *lab_prefix = LAB_DEFAULT_PREFIX, *ruleset_path = NULL;
	const char *capture = NULL;
	static struct dataplane dp;
	uint32_t seed = 0;
	struct ct_settings settings;
	struct ct_clock clock;
	struct ct_events events = { 0 };
	struct ct_table table;
	struct server srv;
	char err[512];
	int opt, epfd, sfd, tfd, rc, status = 0;
	bool serving = false;
	sigset_t mask;

	ct_helpers_register_builtin();	/* before any ruleset is parsed */
	for (size_t i = 0; argc > 1 && i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].fn(argc - 1, argv + 1);

	ct_settings_init(&settings);
	while ((opt = getopt_long(argc, argv, "s:m:c:r:vhV", opts, NULL)) != -1) {
		char *eq, *end;

		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'm':
			/* digits only: strtoul() takes "" (mode 0000), spaces and signs */
			mode = (unsigned)strtoul(optarg, &end, 8);
			if (!*optarg || optarg[strspn(optarg, "01234567")] || mode > 0777) {
				fprintf(stderr, "ctsim: --socket-mode: \"%s\" is not an octal mode\n", optarg);
				return 2;
			}
			break;
		case 'c':
			if (ct_settings_load(&settings, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "ctsim: %s\n", err);
				return 2;
			}
			break;
		case 'S':
			eq = strchr(optarg, '=');
			if (!eq) {
				fprintf(stderr, "ctsim: --set %s: expected NAME=VALUE\n", optarg);
				return 2;
			}
			*eq = '\0';
			if (ct_settings_set(&settings, optarg, eq + 1, err, sizeof(err)) < 0) {
				fprintf(stderr, "ctsim: --set: %s\n", err);
				return 2;
			}
			break;
		case 'L':
			list = true;
			break;
		case 'e': {
			/* a typo must not become seed 0: a number (0x.. or decimal),
			 * nothing else, in 32 bits (strtoull() skips spaces and takes
			 * a sign: "-1" would wrap) */
			unsigned long long v;

			errno = 0;
			v = strtoull(optarg, &end, 0);
			if (!isdigit((unsigned char)optarg[0]) || *end || errno || v > UINT32_MAX) {
				fprintf(stderr, "ctsim: --seed: \"%s\" is not a number from 0 to %u\n",
					optarg, UINT32_MAX);
				return 2;
			}
			seed = (uint32_t)v;
			have_seed = true;
			break;
		}
		case 'v':
			verbose = true;
			break;
		case 'l':
			lab = true;
			break;
		case 't':
			topology = optarg;
			lab = true;
			break;
		case 'p':
			/* longer would be cut in the namespace names (the banner
			 * showing the whole prefix) */
			if (strlen(optarg) > LAB_PREFIX_MAX) {
				fprintf(stderr, "ctsim: --lab-prefix: %zu characters, at most %d "
					"(a namespace is named prefix + host name)\n", strlen(optarg),
					LAB_PREFIX_MAX);
				return 2;
			}
			if (lab_name_bad(optarg)) {
				fprintf(stderr, "ctsim: --lab-prefix: \"%s\": character %zu (%s): use "
					"letters, digits, '.', '_' and '-'\n", optarg,
					(size_t)(lab_name_bad(optarg) - optarg) + 1,
					isspace((unsigned char)*lab_name_bad(optarg)) ? "a space" :
					"not allowed");
				return 2;
			}
			lab_prefix = optarg;
			break;
		case 'r':
			ruleset_path = optarg;
			break;
		case 'C':
			capture = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ctsim 0.1.0\n");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ctsim: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (list) {
		ct_settings_print(&settings, stdout);
		return 0;
	}
	if (!path || !*path)
		path = CTSIM_DEFAULT_SOCKET;
	if (!have_seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();

	ct_clock_init_real(&clock);
	events.mode = settings.events;
	if (ct_table_init(&table, &settings, &clock, &events, seed) < 0) {
		fprintf(stderr, "ctsim: cannot allocate %u hash buckets\n", settings.buckets);
		return 1;
	}
	table.log = kernel_log;		/* "table full, dropping packet" */

	/* Signals arrive as readable fds, so the loop never runs a handler
	 * in the middle of a table change. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (epfd < 0 || sfd < 0 || tfd < 0) {
		perror("ctsim: epoll/signalfd/timerfd");
		status = 1;
		goto done;
	}
	{
		struct itimerspec its = { .it_interval = { 0, GC_INTERVAL_MS * 1000000L },
					  .it_value = { 0, GC_INTERVAL_MS * 1000000L } };
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &sfd };

		timerfd_settime(tfd, 0, &its, NULL);
		epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
		ev.data.ptr = &tfd;
		epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);
	}
	/* The lab comes up before the socket: once clients can connect,
	 * packets can flow. */
	if (lab) {
		struct ct_core core = { .table = &table, .settings = &settings, .events = &events,
					.clock = &clock };
		struct lab l;

		if (topology) {
			if (lab_load(&l, topology, lab_prefix, err, sizeof(err)) < 0) {
				fprintf(stderr, "ctsim: %s\n", err);
				status = 2;
				goto done;
			}
		} else {
			lab_default(&l, lab_prefix);
		}
		if (dataplane_start(&dp, &core, &l, ruleset_path, epfd) < 0 ||
		    (capture && dataplane_capture(&dp, capture) < 0)) {
			status = 1;
			goto done;
		}
		/* name a host the topology has: the first one */
		fprintf(stderr, "ctsim: lab up (enter a host with: ip netns exec %s bash)\n",
			dp.lab.host[0].netns);
		lab_print(&dp.lab, stderr);
	}
	if (strcmp(path, CTSIM_DEFAULT_SOCKET) == 0)
		make_parent_dir(path);
	rc = server_open(&srv, path, mode, epfd, &table, &settings, &events);
	if (rc < 0) {
		if (rc == -EADDRINUSE)
			fprintf(stderr, "ctsim: %s: another ctsim is already serving this socket\n", path);
		else
			fprintf(stderr, "ctsim: %s: %s\n", path, strerror(-rc));
		status = 1;
		goto done;
	}
	serving = true;
	srv.verbose = verbose;
	if (dp.up) {
		server_set_router(&srv, &dp.router);	/* ctctl trace / log; -v: log lines */
		srv.reload = reload_on_request;
		srv.reload_arg = &dp;
		srv.ruleset = dataplane_ruleset;
		srv.ruleset_arg = &dp;
		srv.step = dataplane_step;
		srv.step_arg = &dp;
	}
	fprintf(stderr, "ctsim: listening on %s\n", path);

	for (bool running = true, busy = false, gc_more = false; running;) {
		static uint64_t busy_until;
		static struct ct_gc_pace gc;
		struct epoll_event evs[64];
		struct timespec ts;
		uint64_t now;
		int n = epoll_wait(epfd, evs, 64, busy || gc_more ? 0 : -1);

		if (n < 0 && errno != EINTR) {
			perror("ctsim: epoll_wait");
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * CT_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
		/* (a GC tick alone is not activity: no spinning after it) */
		if (n > 1 || (n == 1 && evs[0].data.ptr != &tfd))
			busy_until = now + BUSY_POLL_NS;
		busy = now < busy_until;
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
						running = false;
					else if (si.ssi_signo == SIGHUP && dp.up)
						dataplane_reload(&dp, verbose ? "SIGHUP" : NULL);
				}
			} else if (p == &tfd) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) < 0)
					continue;
				ct_table_tick(&table);
				if (settings.gc_pacing == CT_GC_PACING_CTSIM) {
					/* a bounded slice per tick, a full pass
					 * about every second */
					ct_table_gc(&table, table.nbuckets / (1000 / GC_INTERVAL_MS) + 1);
				} else {
					/* gc_worker()'s pacing (core/gc.h): a pass
					 * when the timeout estimate says so, in
					 * slices; expectations at every tick. A
					 * table-full event asks for a pass within a
					 * second (overflow.c) */
					if (table.gc_kick) {
						table.gc_kick = false;
						if (!gc.next_bucket && gc.next_run > table.now + 1000000000ull)
							gc.next_run = table.now + 1000000000ull;
					}
					if (ct_gc_due(&table, &gc))
						gc_more = ct_gc_step(&table, &gc, GC_SLICE_NS);
					else
						ct_expect_gc(&table);
				}
			} else if (dataplane_owns(&dp, p)) {
				dataplane_handle(&dp, p);
			} else {
				server_handle(&srv, p, evs[i].events);
			}
		}
		if (gc_more && n <= 0) {
			/* An unfinished pass goes on when nothing waits. */
			ct_table_tick(&table);
			gc_more = ct_gc_step(&table, &gc, GC_SLICE_NS);
		}
	}
	fprintf(stderr, "ctsim: stopped\n");
done:
	/* Every way out, also a failed start, releases everything (the
	 * sanitizer build checks for leaks). */
	dataplane_stop(&dp);
	if (serving)
		server_close(&srv);
	ct_table_destroy(&table);
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	if (epfd >= 0)
		close(epfd);
	return status;
}
