/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c — ctctl's front end: global options, then one of
 *   - one-shot:     ctctl [OPTIONS] VERB ARGS...
 *   - batch:        ctctl -b FILE [--force], or commands on a non-tty stdin
 *   - interactive:  ctctl (on a tty) or ctctl -i: a readline shell "ctctl> "
 *                   with history (~/.ctctl_history) and Tab completion.
 *
 * Every command line, whatever its source, goes through run_words(), which
 * looks the verb up in ctctl_cmds[] (below). The completion and
 * `help` read the same table.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "ctctl/ctctl.h"

#ifndef CTCTL_VERSION
#define CTCTL_VERSION "0.1.0"
#endif

#define MAX_WORDS	128
#define HISTORY_MAX	1000

struct ctctl_opts ctctl_opts;
volatile int ctctl_interrupted;

static bool in_shell;		/* the readline shell is running */
static bool shell_quit;		/* `quit` was typed */

/* ---- the verb table -------------------------------------------------------- */

/* One row per verb; the handlers live in one file per object (conntrack.c,
 * expect.c, control.c). The parser, the completion and `help` read it. */

#define SELECTOR "PROTO src ADDR dst ADDR [sport PORT dport PORT | type N code N id N] [zone N]"

const struct ctctl_cmd ctctl_cmds[] = {
	{ "list", { "ls", "show", NULL }, ctctl_ct_list,
	  KWS_TUPLE | KWB(KW_MARK) | KWB(KW_STATE) | KWB(KW_STATUS) | KWB(KW_ID), NULL,
	  "[ FILTER ] [ -o extended,id,ktimestamp ]\n"
	  "FILTER := [ PROTO ] [ src ADDR ] [ dst ADDR ] [ sport PORT ] [ dport PORT ]\n"
	  "          [ reply-src ADDR ] [ reply-dst ADDR ] [ mark N[/M] ] [ zone N ]\n"
	  "          [ state STATE ] [ family { ipv4 | ipv6 } ] [ status BITS ] [ id N ]",
	  "list conntrack entries (like conntrack -L)", false },
	{ "get", { NULL }, ctctl_ctl_get, KWS_TUPLE, NULL,
	  SELECTOR "\n"
	  "   or: get [ NAME ]   a sysctl of the daemon (nf_conntrack_..., net.netfilter...., ctsim_...), or all",
	  "show one entry (like conntrack -G), or the daemon's sysctls", false },
	{ "add", { NULL }, ctctl_ct_add,
	  KWS_TUPLE | KWB(KW_STATE) | KWB(KW_TIMEOUT) | KWB(KW_MARK) | KWB(KW_STATUS), NULL,
	  SELECTOR " timeout SECS\n"
	  "      [ state STATE ] [ mark N ] [ status BITS ]\n"
	  "      [ reply-src ADDR ] [ reply-dst ADDR ] [ reply-sport PORT ] [ reply-dport PORT ]\n"
	  "PROTO := { tcp | udp | udplite | sctp | dccp | gre | icmp | icmpv6 | proto N }",
	  "create an entry (like conntrack -I)", false },
	{ "update", { NULL }, ctctl_ct_update,
	  KWS_TUPLE | KWB(KW_STATE) | KWB(KW_TIMEOUT) | KWB(KW_MARK) | KWB(KW_STATUS), NULL,
	  SELECTOR " [ mark N[/M] ] [ timeout SECS ] [ status BITS ] [ state STATE ]",
	  "change an entry (like conntrack -U)", false },
	{ "delete", { "del", NULL }, ctctl_ct_delete, KWS_TUPLE | KWB(KW_ID), NULL,
	  "{ " SELECTOR " | id N }",
	  "delete one entry (like conntrack -D)", false },
	{ "flush", { NULL }, ctctl_ct_flush, KWB(KW_FAMILY) | KWB(KW_MARK), NULL,
	  "[ family { ipv4 | ipv6 } ] [ mark N[/M] ]",
	  "delete all entries (like conntrack -F)", false },
	{ "count", { NULL }, ctctl_ct_count, 0, NULL, "",
	  "print the number of entries (like conntrack -C)", false },
	{ "stats", { NULL }, ctctl_ct_stats, 0, (const char *const[]){ "buckets", NULL },
	  "[ buckets ]\n"
	  "buckets: ctsim's own table view: count, max, buckets, overflow policy, the\n"
	  "         chain-length histogram and what the table-full path did (ctsim only)",
	  "print the per-CPU statistics (like conntrack -S)", false },
	{ "monitor", { NULL }, ctctl_ct_monitor,
	  KWS_TUPLE | KWB(KW_MARK) | KWB(KW_STATE) | KWB(KW_STATUS), (const char *const[]){ "new", "update", "destroy", "all", NULL },
	  "[ EVENTS ] [ FILTER ] [ -o extended,id,timestamp ]\n"
	  "EVENTS := { new | update | destroy }[,...]   (default: all)",
	  "print events until Ctrl-C (like conntrack -E)", false },
	{ "expect", { NULL }, ctctl_expect,
	  KWB(KW_PROTO) | KWB(KW_SRC) | KWB(KW_DST) | KWB(KW_SPORT) | KWB(KW_DPORT) |
	  KWB(KW_TIMEOUT) | KWB(KW_ZONE) | KWB(KW_FAMILY), (const char *const[]){ "list", "add", "delete", "flush", "monitor", "master",
				      "expect", "mask", "new", "destroy", NULL },
	  "{ list [ family F ] | flush\n"
	  "         | add master SELECTOR expect [ PROTO ] [ src ADDR ] [ dst ADDR ] [ sport PORT ] dport PORT\n"
	  "               [ mask [ src ADDR ] [ dst ADDR ] [ sport PORT ] ] [ timeout SECS ]\n"
	  "         | delete PROTO src ADDR dst ADDR [ sport PORT ] dport PORT [ zone N ]\n"
	  "         | monitor [ { new | destroy }[,...] ] [ family F ] }\n"
	  "expected tuple default: the master's reply direction (src = master dst, dst = master src),\n"
	  "any source port; mask default: exact addresses and dport",
	  "the expectation table (like conntrack -L/-I/-D/-F/-E expect)", false },
	{ "advance", { "warp", NULL }, ctctl_ctl_advance, 0, NULL, "DURATION   (e.g. 30s, 2m, 1h, 500ms)",
	  "move ctsim's clock forward: watch timeouts expire now (ctsim only)", false },
	{ "reload", { NULL }, ctctl_ctl_reload, 0, NULL, "",
	  "reload the daemon's ruleset file, as SIGHUP (ctsim only)", false },
	{ "hold", { NULL }, ctctl_ctl_hold, 0, NULL, "",
	  "the next forwarded packet stops before confirmation, in flight (ctsim only)", false },
	{ "release", { NULL }, ctctl_ctl_hold, 0, NULL, "",
	  "the held packet goes on to confirmation: a clash if its flow confirmed meanwhile (ctsim only)",
	  false },
	{ "ruleset", { NULL }, ctctl_ctl_ruleset, 0, (const char *const[]){ "list", "reset", NULL },
	  "[ list | reset ]\n"
	  "list:  the live ruleset with its counters (the default; -j: as nft -j list ruleset)\n"
	  "reset: the same listing, then every counter zeroed at once (as nft reset rules)",
	  "show the daemon's ruleset and rule counters, as nft list ruleset (ctsim only)", false },
	{ "trace", { NULL }, ctctl_ctl_trace,
	  KWB(KW_PROTO) | KWB(KW_SRC) | KWB(KW_DST) | KWB(KW_SPORT) | KWB(KW_DPORT),
	  (const char *const[]){ "all", NULL },
	  "[ all | FILTER ]\n"
	  "the packets the ruleset marks with meta nftrace set 1 (as nft monitor trace), all, or\n"
	  "those matching FILTER (either direction): nft monitor trace lines with conntrack's\n"
	  "steps between them (-j: JSON lines)",
	  "print the packet trace until Ctrl-C (ctsim only)", false },
	{ "log", { NULL }, ctctl_ctl_log, 0, NULL, "",
	  "print the ruleset's log statement lines until Ctrl-C, as dmesg -w (ctsim only)", false },
	{ "set", { NULL }, ctctl_ctl_set, 0, NULL, "NAME VALUE   (e.g. set nf_conntrack_tcp_loose 0)",
	  "change a sysctl of the running daemon, from the next packet on (ctsim only)", false },
	{ "explain", { NULL }, ctctl_ct_explain, KWS_TUPLE, NULL, "TUPLE   (as for get)",
	  "one entry's internals: status bits, timeout, TCP windows, extensions (ctsim only)", false },
	{ "table", { NULL }, ctctl_ctl_table, 0, NULL, "",
	  "the table's internals: count, buckets, chain lengths, expectations (ctsim only)", false },
	{ "pause", { NULL }, ctctl_ctl_step, 0, NULL, "",
	  "hold every packet the lab's hosts send, until step or resume (ctsim only)", false },
	{ "step", { NULL }, ctctl_ctl_step, 0, NULL, "[ N ]\n"
	  "release the N oldest held packets (1 to 1024, default 1); for each, its trace and\n"
	  "its entry after it: state, status bits, timeout, TCP windows",
	  "release held packets one at a time with their trace (ctsim only)", false },
	{ "resume", { NULL }, ctctl_ctl_step, 0, NULL, "",
	  "release every held packet and stop holding (ctsim only)", false },
	{ "help", { NULL }, ctctl_cmd_help, 0, NULL, "[ VERB ]",
	  "show the verbs, or one verb's syntax", false },
	{ "quit", { "exit", NULL }, ctctl_cmd_quit, 0, NULL, "",
	  "leave the shell", true },
	{ NULL, { NULL }, NULL, 0, NULL, NULL, NULL, false },
};

const struct ctctl_cmd *ctctl_cmd_find(const char *name)
{
	for (const struct ctctl_cmd *c = ctctl_cmds; c->name; c++) {
		if (!strcmp(c->name, name))
			return c;
		for (int i = 0; c->alias[i]; i++)
			if (!strcmp(c->alias[i], name))
				return c;
	}
	return NULL;
}

/* ---- options ------------------------------------------------------------ */

static const struct option long_opts[] = {
	{ "socket",      required_argument, NULL, 's' },
	{ "json",        no_argument,       NULL, 'j' },
	{ "pretty",      no_argument,       NULL, 'p' },
	{ "output",      required_argument, NULL, 'o' },
	{ "batch",       required_argument, NULL, 'b' },
	{ "force",       no_argument,       NULL, 'f' },
	{ "interactive", no_argument,       NULL, 'i' },
	{ "help",        no_argument,       NULL, 'h' },
	{ "version",     no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ctctl [ OPTIONS ] VERB [ ARGS ]\n"
		"       ctctl [ OPTIONS ] -b FILE [ --force ]\n"
		"       ctctl [ OPTIONS ] [ -i ]\n"
		"VERB := { ");
	for (const struct ctctl_cmd *c = ctctl_cmds; c->name; c++)
		if (!c->shell_only)
			fprintf(f, "%s%s", c == ctctl_cmds ? "" : " | ", c->name);
	fprintf(f, " }\n"
		"OPTIONS := { -s | --socket PATH      ctsim's socket ($CTSIM_SOCKET, else /run/ctsim/ctnetlink.sock)\n"
		"             -j | --json             JSON output\n"
		"             -p | --pretty           indented JSON\n"
		"             -o | --output LIST      text options: extended,id,timestamp,ktimestamp\n"
		"             -b | --batch FILE       run the commands in FILE (- for stdin)\n"
		"                  --force            go on after a failed command in a batch\n"
		"             -i | --interactive      start the shell\n"
		"             -V | --version\n"
		"             -h | --help\n"
		"                  --complete WORD... PREFIX   (bash completion) what may\n"
		"                                      follow WORD...: the verbs, a verb's keywords\n"
		"                                      or a keyword's values, that start with PREFIX }\n"
		"Try \"ctctl help VERB\" for the syntax of a verb.\n");
}

/* ---- running commands ----------------------------------------------------- */

/* Run one command given as words. @where: "FILE:LINE" for batches. */
static int run_words(int argc, char **argv, const char *where)
{
	struct ctctl_args a = { .argc = argc, .argv = argv, .i = 1, .where = where };
	const struct ctctl_cmd *cmd;
	unsigned saved_out = ctctl_opts.print.out;
	int r;

	if (argc == 0)
		return CTCTL_OK;
	cmd = ctctl_cmd_find(argv[0]);
	if (!cmd || (cmd->shell_only && !in_shell)) {
		a.argc = argc;
		fprintf(stderr, "ctctl: %s%sunknown verb \"%s\", try \"ctctl help\"\n",
			where ? where : "", where ? ": " : "", argv[0]);
		for (int i = 0; i < argc; i++)
			fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
		fprintf(stderr, "\n^");
		for (size_t i = 1; i < strlen(argv[0]); i++)
			fputc('~', stderr);
		fputc('\n', stderr);
		return CTCTL_USAGE;
	}
	/* `ctctl VERB --help` (or -h) anywhere: the verb's help, exit 0, as
	 * `ctctl help VERB`; no verb takes "-h" or "--help" as a value. */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			char *help_argv[] = { "help", (char *)cmd->name, NULL };
			struct ctctl_args h = { .argc = 2, .argv = help_argv, .i = 1,
						.where = where };

			return ctctl_cmd_help(&h);
		}
	r = cmd->fn(&a);
	ctctl_opts.print.out = saved_out;	/* a verb's -o lasts for that verb */
	return r;
}

/* Split @line in place into words (blanks separate; '#' starts a comment;
 * "..." or '...' quote). Returns the number of words, -1 if too many. */
static int split_words(char *line, char **argv)
{
	int argc = 0;
	char *p = line;

	for (;;) {
		char *w;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			return argc;
		if (argc == MAX_WORDS)
			return -1;
		if (*p == '"' || *p == '\'') {
			char q = *p++;

			w = p;
			while (*p && *p != q)
				p++;
		} else {
			w = p;
			while (*p && !isspace((unsigned char)*p))
				p++;
		}
		argv[argc++] = w;
		if (!*p)
			return argc;
		*p++ = '\0';
	}
}

static int run_line(char *line, const char *where)
{
	char *argv[MAX_WORDS];
	int argc = split_words(line, argv);

	if (argc < 0) {
		fprintf(stderr, "ctctl: %s%stoo many words\n", where ? where : "", where ? ": " : "");
		return CTCTL_USAGE;
	}
	return run_words(argc, argv, where);
}

/*
 * Run the commands of @f, one per line (a trailing '\' continues a line).
 * Stops at the first failing command unless --force; returns the first
 * failure's exit code, or 0.
 */
static int run_stream(FILE *f, const char *name)
{
	char *line = NULL, *cmd = NULL, where[512];
	size_t cap = 0, cmdlen = 0;
	unsigned lineno = 0, first = 0;
	int ret = CTCTL_OK;
	ssize_t n;

	in_shell = true;	/* quit/exit end a batch too */
	while (!shell_quit && (n = getline(&line, &cap, f)) >= 0) {
		char *tmp;

		lineno++;
		if (!cmdlen)
			first = lineno;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		tmp = realloc(cmd, cmdlen + (size_t)n + 2);
		if (!tmp)
			break;
		cmd = tmp;
		memcpy(cmd + cmdlen, line, (size_t)n + 1);
		cmdlen += (size_t)n;
		if (cmdlen && cmd[cmdlen - 1] == '\\') {
			cmd[cmdlen - 1] = ' ';
			continue;
		}
		snprintf(where, sizeof(where), "%s:%u", name, first);
		{
			int r = run_line(cmd, where);

			cmdlen = 0;
			if (r != CTCTL_OK) {
				if (ret == CTCTL_OK)
					ret = r;
				if (!ctctl_opts.force)
					break;
			}
		}
	}
	free(line);
	free(cmd);
	return ret;
}

/* ---- help / quit ---------------------------------------------------------- */

int ctctl_cmd_help(struct ctctl_args *a)
{
	const struct ctctl_cmd *c;

	if (a->argc < 2) {
		printf("Verbs:\n");
		for (c = ctctl_cmds; c->name; c++) {
			char names[64];

			if (c->shell_only && !in_shell)
				continue;
			snprintf(names, sizeof(names), "%s", c->name);
			for (int i = 0; c->alias[i]; i++) {
				strncat(names, i ? ", " : " (", sizeof(names) - strlen(names) - 1);
				strncat(names, c->alias[i], sizeof(names) - strlen(names) - 1);
			}
			if (c->alias[0])
				strncat(names, ")", sizeof(names) - strlen(names) - 1);
			printf("  %-20s %s\n", names, c->help);
		}
		printf("Try \"help VERB\" for the syntax of a verb.\n");
		return CTCTL_OK;
	}
	if (a->argc > 2)
		return ctctl_usage_error(a, 2, "\"help\" takes one verb");
	c = ctctl_cmd_find(a->argv[1]);
	if (!c)
		return ctctl_usage_error(a, 1, "unknown verb \"%s\"", a->argv[1]);
	printf("Usage: ctctl %s %s\n", c->name, c->synopsis);
	printf("%s\n", c->help);
	if (c->kws) {
		printf("Keywords:\n");
		for (int k = 0; k < KW__MAX; k++) {
			const char *meta, *help;

			if (!(c->kws & KWB(k)))
				continue;
			help = ctctl_kw_help((enum ctctl_kw)k, &meta);
			printf("  %-12s %-7s %s\n", ctctl_kw_name((enum ctctl_kw)k), meta, help);
		}
	}
	return CTCTL_OK;
}

int ctctl_cmd_quit(struct ctctl_args *a)
{
	(void)a;
	shell_quit = true;
	return CTCTL_OK;
}

/* ---- Tab completion --------------------------------------------------------- */

/* The candidates for the word being completed, set up by complete(). */
static const char *cand[256];
static size_t ncand;

static void cand_add(const char *w)
{
	if (w && ncand < sizeof(cand) / sizeof(cand[0]) - 1)
		cand[ncand++] = w;
}

static void cand_add_list(const char *const *list)
{
	for (; list && *list; list++)
		cand_add(*list);
}

/* readline's generator: the candidates that start with @text. */
static char *cand_generator(const char *text, int state)
{
	static size_t idx, len;

	if (!state) {
		idx = 0;
		len = strlen(text);
	}
	while (idx < ncand) {
		const char *w = cand[idx++];

		if (!strncmp(w, text, len))
			return strdup(w);
	}
	return NULL;
}

/* Which keyword is @w, for a verb accepting @kws? -1 if none. */
static int kw_of(const char *w, uint32_t kws)
{
	for (int k = 0; k < KW__MAX; k++)
		if ((kws & KWB(k)) && !strcmp(w, ctctl_kw_name((enum ctctl_kw)k)))
			return k;
	return -1;
}

/* The candidates after the words @words[0..n-1] (the verb first): the verbs
 * in first position, then the verb's keywords (its table row), or a
 * keyword's values after it (state, status, family ...). The shell's Tab
 * and `ctctl --complete` (bash completion) both use it. */
static void collect_candidates(char **words, int n)
{
	const struct ctctl_cmd *c;
	int k;

	ncand = 0;
	if (n <= 0) {
		for (c = ctctl_cmds; c->name; c++) {
			if (c->shell_only && !in_shell)
				continue;
			cand_add(c->name);
			for (int i = 0; c->alias[i]; i++)
				cand_add(c->alias[i]);
		}
	} else if ((c = ctctl_cmd_find(words[0]))) {
		k = kw_of(words[n - 1], c->kws);
		if (c->fn == ctctl_cmd_help) {
			for (const struct ctctl_cmd *v = ctctl_cmds; v->name; v++)
				if (!v->shell_only || in_shell)
					cand_add(v->name);
		} else if (k >= 0) {
			cand_add_list(ctctl_kw_values((enum ctctl_kw)k));	/* NULL: free value */
		} else {
			for (k = 0; k < KW__MAX; k++)
				if ((c->kws & KWB(k)) && k != KW_ICMPID)
					cand_add(ctctl_kw_name((enum ctctl_kw)k));
			if (c->kws & KWB(KW_PROTO))
				cand_add_list(ctctl_proto_words);
			cand_add_list(c->words);
		}
	}
	cand[ncand] = NULL;
}

/* readline's completion: the words before the cursor's word select the
 * candidates. */
static char **complete(const char *text, int start, int end)
{
	char *words[MAX_WORDS], *buf;
	int n;

	(void)end;
	rl_attempted_completion_over = 1;	/* never complete file names */
	ncand = 0;
	buf = strndup(rl_line_buffer, (size_t)start);
	if (!buf)
		return NULL;
	n = split_words(buf, words);
	collect_candidates(words, n);
	free(buf);
	return ncand ? rl_completion_matches(text, cand_generator) : NULL;
}

/* `ctctl --complete WORD... PREFIX`: the candidates for the last word
 * (PREFIX, possibly ""), given the verb and words before it, one per line,
 * for the bash completion (docs/packaging/bash-completion/ctsim). Global
 * options are the script's business: @argv starts at the verb. */
static int print_completions(int argc, char **argv)
{
	const char *prefix = argc > 0 ? argv[argc - 1] : "";
	size_t len = strlen(prefix);

	collect_candidates(argv, argc > 0 ? argc - 1 : 0);
	for (size_t i = 0; i < ncand; i++)
		if (!strncmp(cand[i], prefix, len))
			puts(cand[i]);
	return CTCTL_OK;
}

/* ---- the shell --------------------------------------------------------------- */

static void shell_sigint(int sig)
{
	(void)sig;
	ctctl_interrupted = 1;
}

/* Called by readline when a signal interrupted its read: Ctrl-C cancels
 * the line being typed, not the shell. */
static int shell_signal_hook(void)
{
	if (ctctl_interrupted) {
		ctctl_interrupted = 0;
		rl_replace_line("", 0);
		rl_crlf();
		rl_on_new_line();
		rl_redisplay();
	}
	return 0;
}

static int run_shell(void)
{
	struct sigaction sa = { .sa_handler = shell_sigint };
	char hist[4096] = "";
	const char *home = getenv("HOME");
	int last = CTCTL_OK;
	char *line;

	in_shell = true;
	if (home && *home)
		snprintf(hist, sizeof(hist), "%s/.ctctl_history", home);
	using_history();
	stifle_history(HISTORY_MAX);
	if (*hist)
		read_history(hist);

	rl_readline_name = "ctctl";
	rl_attempted_completion_function = complete;
	rl_catch_signals = 0;
	rl_signal_event_hook = shell_signal_hook;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);

	while (!shell_quit && (line = readline("ctctl> "))) {
		char *p = line;
		HIST_ENTRY *prev;

		while (isspace((unsigned char)*p))
			p++;
		if (*p) {
			/* Consecutive duplicates are kept once, as nft does. */
			prev = history_length ? history_get(history_base + history_length - 1) : NULL;
			if (!prev || strcmp(prev->line, line))
				add_history(line);
			last = run_line(line, NULL);
		}
		free(line);
		ctctl_interrupted = 0;
	}
	if (!shell_quit)
		putchar('\n');	/* EOF: end the prompt's line */
	if (*hist) {
		write_history(hist);
		history_truncate_file(hist, HISTORY_MAX);
	}
	(void)last;
	return CTCTL_OK;
}

/* ---- main -------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	const char *batch = NULL;
	bool interactive = false;
	int opt, r, flags;

	/* The printer reads the options through this pointer at every call, so
	 * the flags parsed below and a verb's own -o take effect. */
	ctnl_print_setup(&ctctl_opts.print);
	if (argc >= 2 && !strcmp(argv[1], "--complete"))
		return print_completions(argc - 2, argv + 2);
	while ((opt = getopt_long(argc, argv, "+s:jpo:b:ihV", long_opts, NULL)) != -1) {
		switch (opt) {
		case 's': ctctl_opts.socket = optarg; break;
		case 'j': ctctl_opts.print.json = true; break;
		case 'p': ctctl_opts.print.pretty = true; ctctl_opts.print.json = true; break;
		case 'o':
			flags = ctnl_print_parse_output(optarg);
			if (flags < 0) {
				fprintf(stderr, "ctctl: unknown output format \"%s\" "
					"(extended, id, timestamp, ktimestamp)\n", optarg);
				return CTCTL_USAGE;
			}
			ctctl_opts.print.out |= (unsigned)flags;
			break;
		case 'b': batch = optarg; break;
		case 'f': ctctl_opts.force = true; break;
		case 'i': interactive = true; break;
		case 'h': usage(stdout); return CTCTL_OK;
		case 'V': printf("ctctl %s (ctsim)\n", CTCTL_VERSION); return CTCTL_OK;
		default:
			fprintf(stderr, "Try \"ctctl --help\".\n");
			return CTCTL_USAGE;
		}
	}

	if (batch) {
		FILE *f = strcmp(batch, "-") ? fopen(batch, "r") : stdin;

		if (!f) {
			fprintf(stderr, "ctctl: cannot open %s: %s\n", batch, strerror(errno));
			return CTCTL_FAIL;
		}
		r = run_stream(f, strcmp(batch, "-") ? batch : "stdin");
		if (f != stdin)
			fclose(f);
	} else if (optind < argc) {
		r = run_words(argc - optind, argv + optind, NULL);
	} else if (interactive || isatty(STDIN_FILENO)) {
		r = run_shell();
	} else {
		r = run_stream(stdin, "stdin");
	}
	ctctl_disconnect();
	return r;
}
