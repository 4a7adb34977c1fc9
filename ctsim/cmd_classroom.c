/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_classroom.c — `ctsim classroom start N [DIR]`, `ctsim classroom list`,
 * `ctsim classroom down`: N independent labs on one machine, one per
 * student (issue 15 part 3).
 *
 * Each student's lab is a `ctsim lab start DIR` of its own — its own
 * daemon, table, clock and journal — with its own namespace prefix
 * (PREFIX01-, PREFIX02-, ...: the student's hosts are PREFIX01-client, ...)
 * and its own socket (RUNDIR/studentNN.sock, used with ctctl --socket,
 * ctsim-exec --socket or CTSIM_SOCKET, and `ctsim lab check --socket`).
 * The labs use the same addresses: they live in separate namespaces, so
 * nothing is shared but the CPU.
 *
 * `start` launches the N labs in the background (each in its own session,
 * its output in RUNDIR/studentNN.log), waits until each one's journal
 * exists (the lab is up), records them in RUNDIR/classroom and prints the
 * list. `down` sends SIGTERM to each lab (a lab removes its own namespaces
 * as it stops), waits for them, then removes what a lab that died left
 * behind (lab_cleanup()). A classroom is a directory: several may run at
 * once with different --dir and --prefix.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include "ctsim/cmd.h"
#include "ctsim/lab/lab.h"

#define CLASSROOM_DIR		"/run/ctsim/classroom"
#define CLASSROOM_PREFIX	"cr"
#define CLASSROOM_MAX		99	/* two digits in the names */
#define LAB_UP_TIMEOUT_MS	30000

struct seat {
	int n;
	pid_t pid;
	char prefix[32];
	char socket[PATH_MAX];
	char dir[PATH_MAX];
};

static void classroom_usage(FILE *out)
{
	fprintf(out,
		"Usage: ctsim classroom start N [DIR] [--dir RUNDIR] [--prefix PREFIX]\n"
		"       ctsim classroom list [--dir RUNDIR]\n"
		"       ctsim classroom down [--dir RUNDIR]\n"
		"  start  run N independent labs of DIR (default: docs/labs/01-*), one per\n"
		"         student: namespaces PREFIXNN-HOST (default prefix \"" CLASSROOM_PREFIX "\"),\n"
		"         socket RUNDIR/studentNN.sock (default RUNDIR " CLASSROOM_DIR ")\n"
		"  list   the classroom's labs: student, state, daemon pid, prefix, socket\n"
		"  down   stop every lab of the classroom and remove its namespaces\n");
}

static int sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	return nanosleep(&ts, NULL);
}

/* The process runs and is not a zombie (a lab whose parent exited is
 * reaped by init, which may be slow or absent in a container). */
static bool alive(pid_t pid)
{
	char path[64], state = 0;
	FILE *f;

	if (pid <= 0 || kill(pid, 0) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	/* "PID (COMM) STATE ...": COMM may hold spaces, the state follows ") " */
	{
		char buf[512];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		char *p;

		buf[n] = '\0';
		p = strrchr(buf, ')');
		if (p && p[1] == ' ')
			state = p[2];
	}
	fclose(f);
	return state && state != 'Z' && state != 'X';
}

static int record_path(char *buf, size_t len, const char *rundir)
{
	return snprintf(buf, len, "%s/classroom", rundir) < (int)len ? 0 : -1;
}

/* Reads RUNDIR/classroom: one "N PID PREFIX SOCKET DIR" line per seat.
 * Returns the number of seats (at most @max), -1 if there is no record. */
static int read_seats(const char *rundir, struct seat *seats, int max)
{
	char path[PATH_MAX], line[3 * PATH_MAX];
	FILE *f;
	int n = 0;

	if (record_path(path, sizeof(path), rundir) < 0 || !(f = fopen(path, "r")))
		return -1;
	while (n < max && fgets(line, sizeof(line), f)) {
		struct seat *s = &seats[n];
		int pid;

		if (line[0] == '#')
			continue;
		if (sscanf(line, "%d %d %31s %4095s %4095s", &s->n, &pid, s->prefix, s->socket,
			   s->dir) == 5) {
			s->pid = pid;
			n++;
		}
	}
	fclose(f);
	return n;
}

static void print_seats(const struct seat *seats, int n)
{
	printf("%-8s %-8s %-8s %-10s %s\n", "student", "state", "pid", "prefix", "socket");
	for (int i = 0; i < n; i++)
		printf("%-8d %-8s %-8d %-10s %s\n", seats[i].n,
		       alive(seats[i].pid) ? "running" : "stopped", (int)seats[i].pid,
		       seats[i].prefix, seats[i].socket);
}

/* Parses [--dir RUNDIR] [--prefix PREFIX] among @argv; other words are
 * left for the caller in @rest (at most @maxrest). -1 on a bad option. */
static int parse_opts(const char *verb, int argc, char **argv, const char **rundir,
		      const char **prefix, char **rest, int maxrest, int *nrest)
{
	*nrest = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			*rundir = argv[++i];
		} else if (prefix && !strcmp(argv[i], "--prefix") && i + 1 < argc) {
			*prefix = argv[++i];
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "ctsim classroom %s: unknown option \"%s\"\n", verb, argv[i]);
			return -1;
		} else if (*nrest < maxrest) {
			rest[(*nrest)++] = argv[i];
		} else {
			fprintf(stderr, "ctsim classroom %s: unexpected argument \"%s\"\n", verb,
				argv[i]);
			return -1;
		}
	}
	return 0;
}

/* mkdir -p for the run directory (root only: it holds sockets). */
static int make_dir(const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* Starts one `ctsim lab start` in its own session, output to @log. */
static pid_t spawn_lab(const struct seat *s, const char *log)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	{
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || null < 0)
			_exit(127);
		dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		setsid();
		execl("/proc/self/exe", "ctsim", "lab", "start", s->dir, "--socket", s->socket,
		      "--prefix", s->prefix, (char *)NULL);
		_exit(127);
	}
}

static void stop_seats(struct seat *seats, int n)
{
	long waited = 0;
	bool any;

	for (int i = 0; i < n; i++)
		if (alive(seats[i].pid))
			kill(seats[i].pid, SIGTERM);
	do {
		any = false;
		for (int i = 0; i < n; i++)
			any |= alive(seats[i].pid);
		if (any)
			sleep_ms(50);
		waited += 50;
	} while (any && waited < LAB_UP_TIMEOUT_MS);
	for (int i = 0; i < n; i++) {
		if (alive(seats[i].pid)) {
			fprintf(stderr, "ctsim classroom: student %d's lab (pid %d) did not stop: "
				"killed\n", seats[i].n, (int)seats[i].pid);
			kill(seats[i].pid, SIGKILL);
		}
	}
	/* A lab killed or crashed leaves its namespaces: lab down's cleanup
	 * removes those whose process is gone. */
	for (int i = 0; i < n; i++)
		lab_cleanup(seats[i].prefix);
}

static int classroom_start(int argc, char **argv)
{
	const char *rundir = CLASSROOM_DIR, *prefix = CLASSROOM_PREFIX;
	char *rest[2], *end, path[PATH_MAX], labdir[PATH_MAX];
	struct seat *seats;
	int nrest, n, up = 0;
	long nn;
	FILE *rec;

	if (parse_opts("start", argc, argv, &rundir, &prefix, rest, 2, &nrest) < 0)
		return 2;
	if (nrest < 1) {
		fprintf(stderr, "ctsim classroom start: how many labs? (ctsim classroom start N)\n");
		return 2;
	}
	nn = strtol(rest[0], &end, 10);
	if (*end || nn < 1 || nn > CLASSROOM_MAX) {
		fprintf(stderr, "ctsim classroom start: \"%s\": a number of labs from 1 to %d\n",
			rest[0], CLASSROOM_MAX);
		return 2;
	}
	n = (int)nn;
	/* the prefix plus two digits and a dash, then the host name */
	if (strlen(prefix) + 3 > 23 || lab_name_bad(prefix)) {
		fprintf(stderr, "ctsim classroom start: --prefix \"%s\": at most 20 characters "
			"of [A-Za-z0-9_.-]\n", prefix);
		return 2;
	}
	if (lab_resolve_dir(nrest > 1 ? rest[1] : "01", labdir, sizeof(labdir)) < 0) {
		fprintf(stderr, "ctsim classroom start: %s: no such lab directory\n",
			nrest > 1 ? rest[1] : "01 (docs/labs/01-*)");
		return 2;
	}
	if (read_seats(rundir, (struct seat[1]){ 0 }, 1) >= 0) {
		fprintf(stderr, "ctsim classroom start: a classroom is recorded in %s "
			"(ctsim classroom down%s%s first)\n", rundir,
			strcmp(rundir, CLASSROOM_DIR) ? " --dir " : "",
			strcmp(rundir, CLASSROOM_DIR) ? rundir : "");
		return 1;
	}
	if (make_dir(rundir) < 0) {
		fprintf(stderr, "ctsim classroom start: %s: %s\n", rundir, strerror(errno));
		return 1;
	}
	seats = calloc((size_t)n, sizeof(*seats));
	if (!seats || record_path(path, sizeof(path), rundir) < 0 || !(rec = fopen(path, "w"))) {
		fprintf(stderr, "ctsim classroom start: %s: %s\n", rundir, strerror(errno));
		free(seats);
		return 1;
	}
	fprintf(rec, "# ctsim classroom: student pid prefix socket labdir\n");
	for (int i = 0; i < n; i++) {
		struct seat *s = &seats[i];
		char log[PATH_MAX + 32];

		s->n = i + 1;
		snprintf(s->prefix, sizeof(s->prefix), "%s%02d-", prefix, s->n);
		snprintf(s->socket, sizeof(s->socket), "%s/student%02d.sock", rundir, s->n);
		snprintf(s->dir, sizeof(s->dir), "%s", labdir);
		snprintf(log, sizeof(log), "%s/student%02d.log", rundir, s->n);
		s->pid = spawn_lab(s, log);
		if (s->pid < 0) {
			perror("ctsim classroom start: fork");
			break;
		}
		fprintf(rec, "%d %d %s %s %s\n", s->n, (int)s->pid, s->prefix, s->socket, s->dir);
		fflush(rec);
	}
	fclose(rec);
	/* up: each lab's journal exists once its daemon serves */
	for (long waited = 0; waited < LAB_UP_TIMEOUT_MS; waited += 50) {
		int dead = 0;

		up = 0;
		for (int i = 0; i < n; i++) {
			char j[PATH_MAX + 16];

			if (lab_side_path(j, sizeof(j), seats[i].socket, "journal") == 0 &&
			    access(j, F_OK) == 0)
				up++;
			else if (!alive(seats[i].pid))
				dead++;
		}
		if (up == n || dead)
			break;
		sleep_ms(50);
	}
	if (up != n) {
		fprintf(stderr, "ctsim classroom start: %d of %d labs came up (their output: "
			"%s/studentNN.log); stopping them\n", up, n, rundir);
		stop_seats(seats, n);
		unlink(path);
		free(seats);
		return 1;
	}
	printf("ctsim classroom: %d labs of %s\n", n, labdir);
	print_seats(seats, n);
	printf("student NN: ip netns exec %sNN-HOST bash; ctctl --socket %s/studentNN.sock; "
	       "ctsim lab check --socket %s/studentNN.sock\n", prefix, rundir, rundir);
	free(seats);
	return 0;
}

static int classroom_list(int argc, char **argv)
{
	const char *rundir = CLASSROOM_DIR;
	struct seat seats[CLASSROOM_MAX];
	char *rest[1];
	int nrest, n;

	if (parse_opts("list", argc, argv, &rundir, NULL, rest, 0, &nrest) < 0)
		return 2;
	n = read_seats(rundir, seats, CLASSROOM_MAX);
	if (n < 0) {
		fprintf(stderr, "ctsim classroom list: no classroom in %s\n", rundir);
		return 1;
	}
	print_seats(seats, n);
	return 0;
}

static int classroom_down(int argc, char **argv)
{
	const char *rundir = CLASSROOM_DIR;
	struct seat seats[CLASSROOM_MAX];
	char *rest[1], path[PATH_MAX];
	int nrest, n;

	if (parse_opts("down", argc, argv, &rundir, NULL, rest, 0, &nrest) < 0)
		return 2;
	n = read_seats(rundir, seats, CLASSROOM_MAX);
	if (n < 0) {
		fprintf(stderr, "ctsim classroom down: no classroom in %s\n", rundir);
		return 1;
	}
	stop_seats(seats, n);
	for (int i = 0; i < n; i++) {
		char log[PATH_MAX + 32];

		snprintf(log, sizeof(log), "%s/student%02d.log", rundir, seats[i].n);
		unlink(log);
	}
	if (record_path(path, sizeof(path), rundir) == 0)
		unlink(path);
	printf("ctsim classroom: %d labs stopped\n", n);
	return 0;
}

int cmd_classroom(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			classroom_usage(stdout);
			return 0;
		}
	}
	if (argc >= 2 && !strcmp(argv[1], "start"))
		return classroom_start(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return classroom_list(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "down"))
		return classroom_down(argc - 1, argv + 1);
	classroom_usage(stderr);
	return 2;
}
