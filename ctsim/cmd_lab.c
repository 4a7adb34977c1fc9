/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_lab.c — `ctsim lab start DIR`, `ctsim lab check [DIR|NN]`,
 * `ctsim lab down`: the course's labs (docs/labs/).
 *
 * A lab directory holds what the daemon needs besides its defaults, each
 * file optional:
 *
 *     topology      the hosts (docs/lab.md; default: client and server)
 *     ruleset.nft   the router's ruleset (default: the built-in firewall)
 *     settings.conf sysctls, "name = value" lines (ctsim -c)
 *     check         what `ctsim lab check` verifies (cmd_lab_check.c)
 *
 * `lab start` runs the daemon (this very program, with --lab and those
 * files) as a child and stays beside it as a `conntrack -E` that never
 * misses an event: it writes every conntrack and expectation event, in
 * conntrack -E's text, to the lab's journal (SOCKET.journal), which the
 * check reads afterwards. It also leaves SOCKET.lab naming the directory,
 * so `ctsim lab check` without arguments checks the lab that runs. Both
 * are removed when the daemon exits.
 * Signals (Ctrl-C, SIGTERM, SIGHUP) are passed on to the daemon; its exit
 * status is the command's.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include "proto/ctnl.h"
#include "proto/ctnl_client.h"
#include "proto/ctnl_print.h"
#include "proto/ctsim_wire.h"
#include "ctsim/cmd.h"
#include "ctsim/lab/lab.h"

#define GRP(g)	(1u << ((g) - 1))

static void lab_usage(FILE *out)
{
	fprintf(out,
		"Usage: ctsim lab start DIR [--socket PATH] [--prefix PREFIX] [--set NAME=VALUE]...\n"
		"                          [--seed N] [--capture FILE] [-v]\n"
		"       ctsim lab check [DIR|NN] [--socket PATH]\n"
		"       ctsim lab down [--prefix PREFIX]\n"
		"  start  run the lab of DIR (its topology, ruleset.nft, settings.conf) until\n"
		"         Ctrl-C, recording every event for the check (docs/labs/README.md)\n"
		"  check  verify what the worksheet asks for against the running lab (DIR's\n"
		"         check file; NN: docs/labs/NN-*; none: the lab that runs)\n"
		"  down   remove a lab's namespaces (only needed after a crash)\n");
}

/* The socket the daemon serves: --socket, else $CTSIM_SOCKET, else the default. */
static const char *default_socket(void)
{
	const char *s = getenv(CTSIM_SOCKET_ENV);

	return s && *s ? s : CTSIM_DEFAULT_SOCKET;
}

int lab_side_path(char *buf, size_t len, const char *socket, const char *suffix)
{
	return snprintf(buf, len, "%s.%s", socket, suffix) < (int)len ? 0 : -1;
}

int lab_resolve_dir(const char *arg, char *out, size_t len)
{
	struct stat st;
	/* $CTSIM_LABS, the checkout's docs/labs, then the installed copy */
	const char *roots[] = { getenv("CTSIM_LABS"), "docs/labs", CTSIM_LABS_DIR };

	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (!realpath(arg, out))
			return -1;
		return 0;
	}
	/* "NN" or "N": the directory NN-* under $CTSIM_LABS or ./docs/labs */
	if (!arg[0] || strlen(arg) > 2 || strspn(arg, "0123456789") != strlen(arg))
		return -1;
	for (unsigned i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		char want[8];
		DIR *d;
		struct dirent *e;

		if (!roots[i])
			continue;
		snprintf(want, sizeof(want), "%02d-", atoi(arg));
		if (!(d = opendir(roots[i])))
			continue;
		while ((e = readdir(d))) {
			char p[PATH_MAX];

			if (strncmp(e->d_name, want, 3) != 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", roots[i], e->d_name);
			if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) && realpath(p, out)) {
				closedir(d);
				(void)len;
				return 0;
			}
		}
		closedir(d);
	}
	return -1;
}

/* ---- start ----------------------------------------------------------------- */

static volatile sig_atomic_t child_pid;

static void pass_on(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/* Every event, as conntrack -E and conntrack -E expect print it. */
static int journal_cb(const struct nlmsghdr *nlh, void *data)
{
	uint8_t subsys = (uint8_t)(nlh->nlmsg_type >> 8), type = CTNL_MSGTYPE(nlh->nlmsg_type);

	(void)data;
	if (subsys == NFNL_SUBSYS_CTNETLINK) {
		struct ctnl_ct ct;

		if (ctnl_ct_parse(nlh, &ct, NULL) < 0)
			return 0;
		ctnl_print_ct(&ct, type == IPCTNL_MSG_CT_DELETE ? CTNL_EV_DESTROY :
			      (nlh->nlmsg_flags & NLM_F_CREATE) ? CTNL_EV_NEW : CTNL_EV_UPDATE,
			      nlh->nlmsg_pid);
	} else if (subsys == NFNL_SUBSYS_CTNETLINK_EXP) {
		struct ctnl_exp e;

		if (ctnl_exp_parse(nlh, &e, NULL) < 0)
			return 0;
		ctnl_print_exp(&e, type == IPCTNL_MSG_EXP_DELETE ? CTNL_EV_DESTROY : CTNL_EV_NEW);
	}
	return 0;
}

/* A file of the lab directory, if it is there. */
static const char *lab_file(const char *dir, const char *name, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s/%s", dir, name) >= (int)len)
		return NULL;
	return access(buf, F_OK) == 0 ? buf : NULL;
}

/* The first "# title:" line of the check file, or the directory's name. */
static void lab_title(const char *dir, char *out, size_t len)
{
	char p[PATH_MAX], line[512];
	FILE *f;
	const char *base = strrchr(dir, '/');

	if (snprintf(out, len, "%s", base ? base + 1 : dir) >= (int)len ||
	    snprintf(p, sizeof(p), "%s/check", dir) >= (int)sizeof(p) || !(f = fopen(p, "r")))
		return;
	while (fgets(line, sizeof(line), f)) {
		char *t = line + strspn(line, " \t");

		if (!strncmp(t, "title ", 6)) {
			t[strcspn(t, "\r\n")] = '\0';
			if (snprintf(out, len, "%s: %s", base ? base + 1 : dir, t + 6) >= (int)len)
				out[len - 1] = '\0';
			break;
		}
	}
	fclose(f);
}

static int lab_start(int argc, char **argv)
{
	char dir[PATH_MAX], topo[PATH_MAX], rules[PATH_MAX], conf[PATH_MAX];
	char journal[PATH_MAX], info[PATH_MAX], title[600];
	const char *socket = default_socket(), *prefix = LAB_DEFAULT_PREFIX;
	const char *args[64];
	int n = 0, status = 1;
	struct sigaction sa = { .sa_handler = pass_on };
	struct ctnl_client *c = NULL;
	FILE *jf;
	pid_t pid;

	if (argc < 2 || argv[1][0] == '-') {
		lab_usage(stderr);
		return 2;
	}
	if (lab_resolve_dir(argv[1], dir, sizeof(dir)) < 0) {
		fprintf(stderr, "ctsim lab start: %s: not a lab directory (nor a lab number "
			"under docs/labs)\n", argv[1]);
		return 2;
	}
	args[n++] = "ctsim";
	args[n++] = "--lab";
	/* settings first: a --set on the command line overrides the file */
	if (lab_file(dir, "settings.conf", conf, sizeof(conf))) {
		args[n++] = "--config";
		args[n++] = conf;
	}
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];

		if (n > 56) {
			fprintf(stderr, "ctsim lab start: too many options\n");
			return 2;
		}
		if (!strcmp(o, "-v") || !strcmp(o, "--verbose")) {
			args[n++] = "-v";
			continue;
		}
		if (i + 1 >= argc || (strcmp(o, "--socket") && strcmp(o, "--prefix") &&
				      strcmp(o, "--set") && strcmp(o, "--seed") && strcmp(o, "--capture"))) {
			fprintf(stderr, "ctsim lab start: unexpected argument \"%s\"\n", o);
			lab_usage(stderr);
			return 2;
		}
		if (!strcmp(o, "--socket"))
			socket = argv[++i];
		else if (!strcmp(o, "--prefix"))
			prefix = argv[++i];
		else {
			args[n++] = o;
			args[n++] = argv[++i];
		}
	}
	args[n++] = "--socket";
	args[n++] = socket;
	args[n++] = "--lab-prefix";
	args[n++] = prefix;
	if (lab_file(dir, "topology", topo, sizeof(topo))) {
		args[n++] = "--topology";
		args[n++] = topo;
	}
	if (lab_file(dir, "ruleset.nft", rules, sizeof(rules))) {
		args[n++] = "--ruleset";
		args[n++] = rules;
	}
	args[n] = NULL;
	if (lab_side_path(journal, sizeof(journal), socket, "journal") < 0 ||
	    lab_side_path(info, sizeof(info), socket, "lab") < 0) {
		fprintf(stderr, "ctsim lab start: socket path too long\n");
		return 2;
	}

	lab_title(dir, title, sizeof(title));
	fprintf(stderr, "ctsim lab: %s\n", title);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);	/* SIGHUP reloads the ruleset */
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("ctsim lab start: fork");
		return 1;
	}
	if (pid == 0) {
		/* the daemon is this program; /proc/self/exe also works from a
		 * build tree or after a move */
		execv("/proc/self/exe", (char **)args);
		perror("ctsim lab start: exec");
		_exit(127);
	}
	child_pid = pid;

	/* Connect once the daemon listens (the lab is up by then). */
	for (int tries = 0; tries < 300 && !c; tries++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			goto exited;
		c = ctnl_client_open(socket, GRP(NFNLGRP_CONNTRACK_NEW) |
				     GRP(NFNLGRP_CONNTRACK_UPDATE) | GRP(NFNLGRP_CONNTRACK_DESTROY) |
				     GRP(NFNLGRP_CONNTRACK_EXP_NEW) | GRP(NFNLGRP_CONNTRACK_EXP_DESTROY));
		if (!c)
			usleep(50000);
	}
	/* a burst (conntrack -R of thousands, a flood) must not outrun the
	 * recorder while it writes: the most the daemon queues for one client */
	if (c)
		ctnl_client_setsockopt(c, CTSIM_SO_EVENT_BACKLOG, CTSIM_EVENT_BACKLOG_MAX);
	jf = fopen(journal, "w");
	if (jf) {
		FILE *inf = fopen(info, "w");

		if (inf) {
			fprintf(inf, "%s\n%s\n", dir, prefix);
			fclose(inf);
		}
		setvbuf(jf, NULL, _IOFBF, 1 << 16);
	} else {
		fprintf(stderr, "ctsim lab start: %s: %s (no event journal: checks of events "
			"will fail)\n", journal, strerror(errno));
	}
	if (c) {
		fprintf(stderr, "ctsim lab: events are recorded in %s; check your work with: "
			"ctsim lab check%s%s\n", journal,
			strcmp(socket, default_socket()) ? " --socket " : "",
			strcmp(socket, default_socket()) ? socket : "");
	}
	{
		struct ctnl_print_opts po = { .fp = jf ? jf : stdout };

		ctnl_print_setup(&po);
		for (;;) {
			/* drain what is there without a write per line (a burst
			 * of events outruns a line-buffered journal: ENOBUFS),
			 * then flush and wait */
			int r = c ? ctnl_client_recv_events(c, 0, journal_cb, NULL) : 0;

			if (r == 0 && c) {
				if (jf)
					fflush(jf);
				r = ctnl_client_recv_events(c, 250, journal_cb, NULL);
			}
			if (r == -ENOBUFS && jf)
				fprintf(jf, "# events lost (ENOBUFS)\n");
			if (r == -ECONNRESET || !c)
				break;
			if (r == 0 && waitpid(pid, &status, WNOHANG) == pid)
				goto exited_print;
		}
		if (waitpid(pid, &status, 0) == pid)
			goto exited_print;
		status = 1 << 8;
exited_print:
		ctnl_print_setup(NULL);
	}
	if (jf)
		fclose(jf);
	if (c)
		ctnl_client_close(c);
exited:
	/* a journal left behind would be read by the check of the next
	 * `ctsim --lab` on this socket as if it were its own */
	unlink(info);
	unlink(journal);
	child_pid = 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* ---- down ------------------------------------------------------------------ */

static int lab_down_cmd(int argc, char **argv)
{
	const char *prefix = LAB_DEFAULT_PREFIX;

	if (argc == 3 && strcmp(argv[1], "--prefix") == 0)
		prefix = argv[2];
	else if (argc != 1) {
		fprintf(stderr, "ctsim lab down: unexpected argument \"%s\"\n", argv[1]);
		return 2;
	}
	if (lab_cleanup(prefix) < 0) {
		perror("ctsim lab down: " LAB_RUN_DIR);
		return 1;
	}
	return 0;
}

int cmd_lab(int argc, char **argv)
{
	/* --help anywhere (ctsim lab start --help too): the usage on stdout, exit 0 */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			lab_usage(stdout);
			return 0;
		}
	}
	if (argc >= 2 && strcmp(argv[1], "down") == 0)
		return lab_down_cmd(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "start") == 0)
		return lab_start(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return cmd_lab_check(argc - 1, argv + 1);
	lab_usage(stderr);
	return 2;
}
