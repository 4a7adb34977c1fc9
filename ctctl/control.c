/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control.c — ctctl's verbs on ctsim itself, which have no conntrack(8)
 * counterpart: advance (the time warp), reload (the ruleset file, as
 * SIGHUP) and ruleset (the live ruleset with its counters). They travel as
 * ctsim control messages (proto/ctsim_wire.h), not ctnetlink.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctctl/ctctl.h"
#include "proto/ctsim_wire.h"

/* "30", "30s", "1.5s", "2m", "1h", "1d", "250ms" -> nanoseconds; -1 if bad. */
static long long parse_duration(const char *s)
{
	static const struct { const char *unit; double ns; } units[] = {
		{ "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 }, { "d", 86400e9 },
		{ "", 1e9 },
	};
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0 || v > 1e9)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0)
			return (long long)(v * units[i].ns);
	return -1;
}

/* `advance DURATION`: ctsim's time warp (not a kernel feature). */
int ctctl_ctl_advance(struct ctctl_args *a)
{
	long long ns;

	if (a->argc != 2)
		return ctctl_usage_error(a, a->argc > 2 ? 2 : 1,
					 "\"advance\" takes one DURATION (e.g. 30s, 2m, 1h)");
	ns = parse_duration(a->argv[1]);
	if (ns < 0)
		return ctctl_usage_error(a, 1, "\"%s\" is not a duration (e.g. 30s, 2m, 1h, 500ms)",
					 a->argv[1]);
	return ctctl_control(a, CTSIM_CTL_ADVANCE, (uint32_t)(ns / 1000000000LL),
			     (uint32_t)(ns % 1000000000LL)) < 0 ? CTCTL_FAIL : CTCTL_OK;
}

/* `reload`: the daemon's ruleset file again (as SIGHUP). */
int ctctl_ctl_reload(struct ctctl_args *a)
{
	if (a->argc > 1)
		return ctctl_usage_error(a, 1, "\"reload\" takes no arguments");
	return ctctl_control(a, CTSIM_CTL_RELOAD, 0, 0) < 0 ? CTCTL_FAIL : CTCTL_OK;
}

/* `hold` / `release`: two packets in flight (ctsim's router stops the
 * next forwarded packet before confirmation; release lets it confirm). */
int ctctl_ctl_hold(struct ctctl_args *a)
{
	bool hold = !strcmp(a->argv[0], "hold");

	if (a->argc > 1)
		return ctctl_usage_error(a, 1, "\"%s\" takes no arguments", a->argv[0]);
	return ctctl_control(a, CTSIM_CTL_HOLD, hold, 0) < 0 ? CTCTL_FAIL : CTCTL_OK;
}

/* A control operation whose reply is text for stdout (ruleset, step,
 * table): the text is printed and *@status says how that went; a negative
 * errno is returned for the caller to word, the connection dropped first
 * if the daemon went away. Needs ctctl_conn() to have succeeded. */
static int text_op(struct ctctl_args *a, struct ctnl_client *conn, uint16_t op, uint16_t flags,
		   uint32_t x, uint32_t y, int *status)
{
	const void *text;
	int r = ctnl_client_control_data(conn, op, flags, x, y, &text);

	if (r == -ECONNRESET || r == -EPIPE)
		ctctl_disconnect();
	if (r < 0)
		return r;
	fwrite(text, 1, (size_t)r, stdout);
	*status = fflush(stdout) == 0 ? CTCTL_OK : ctctl_fail(a, errno);
	return 0;
}

/* `ruleset [ list | reset ]`: the daemon's live ruleset with its counters,
 * as `nft list ruleset` (-j: `nft -j list ruleset`); reset lists, then
 * zeroes the counters in the same step, as `nft reset rules` does. */
int ctctl_ctl_ruleset(struct ctctl_args *a)
{
	uint16_t flags = ctctl_opts.print.json ? CTSIM_RULESET_JSON : 0;
	struct ctnl_client *conn;
	int status;
	const char *why = NULL;
	int r;

	if (a->argc > 2)
		return ctctl_usage_error(a, 2, "\"ruleset\" takes one word: list or reset");
	if (a->argc == 2 && !strcmp(a->argv[1], "reset"))
		flags |= CTSIM_RULESET_RESET;
	else if (a->argc == 2 && strcmp(a->argv[1], "list"))
		return ctctl_usage_error(a, 1, "unknown \"ruleset %s\": list or reset", a->argv[1]);
	if (!(conn = ctctl_conn(a)))
		return CTCTL_FAIL;
	if ((r = text_op(a, conn, CTSIM_CTL_RULESET, flags, 0, 0, &status)) == 0)
		return status;
	/* The errors this operation gets mean something more precise than
	 * ctctl_fail()'s ctnetlink wording. */
	switch (-r) {
	case EOPNOTSUPP:
		why = "this ctsim has no ruleset (it was started without --lab)";
		break;
	case EMSGSIZE:
		why = "the listing is larger than one reply datagram (64 KiB)";
		break;
	case EINVAL:
		why = "the daemon does not know this request (older ctsim?)";
		break;
	}
	if (!why)
		return ctctl_result(a, r) < 0 ? CTCTL_FAIL : CTCTL_OK;
	fprintf(stderr, "ctctl: %s%s%s: %s (%s)\n", a->where ? a->where : "", a->where ? ": " : "",
		a->argv[0], why, strerrorname_np(-r));
	return CTCTL_FAIL;
}


static void stream_interrupt(int sig)
{
	(void)sig;
	ctctl_interrupted = 1;
}

/* Start a stream (CTSIM_CTL_TRACE with @flags) on a connection of its own
 * and print its lines until Ctrl-C or the daemon goes away. */
static int stream(struct ctctl_args *a, uint16_t flags, const struct ctsim_trace_filter *tf)
{
	struct sigaction sa = { .sa_handler = stream_interrupt }, old_int, old_term;
	struct ctnl_client *c = ctnl_client_open(ctctl_opts.socket, 0);
	const char *why = NULL;
	int r, rc = CTCTL_OK;

	if (!c) {
		int err = errno;

		if (ctctl_conn(a))	/* else it printed the connection error */
			ctctl_fail(a, err);
		return CTCTL_FAIL;
	}
	if (tf) {
		const void *d;
		size_t dl;

		r = ctnl_client_control_payload(c, CTSIM_CTL_TRACE, flags | CTSIM_TRACE_FILTER, tf,
						sizeof(*tf), &d, &dl);
	} else {
		r = ctnl_client_control_data(c, CTSIM_CTL_TRACE, flags, 1, 0, NULL);
	}
	if (r < 0) {
		if (r == -EOPNOTSUPP)
			why = "this ctsim has no data plane to trace (it was started without --lab)";
		else if (r == -EINVAL)
			why = "the daemon does not know this request (older ctsim?)";
		if (why)
			fprintf(stderr, "ctctl: %s: %s (%s)\n", a->argv[0], why, strerrorname_np(-r));
		else
			ctctl_fail(a, -r);
		ctnl_client_close(c);
		return CTCTL_FAIL;
	}
	ctctl_interrupted = 0;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: poll() must return */
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	while (!ctctl_interrupted) {
		const char *line;

		r = ctnl_client_recv_line(c, -1, &line, NULL);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r == -ENOBUFS) {
			fprintf(stderr, "ctctl: %s: lines were lost (ENOBUFS), the reader was too slow; "
				"continuing\n", a->argv[0]);
			continue;
		}
		if (r == -ECONNRESET)
			break;	/* ctsim went away: end of the stream */
		if (r < 0) {
			rc = ctctl_fail(a, -r);
			break;
		}
		fwrite(line, 1, (size_t)r, stdout);
		fputc('\n', stdout);
		fflush(stdout);	/* a stream: each line as it comes */
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	ctctl_interrupted = 0;
	ctnl_client_close(c);	/* the daemon stops the stream with the connection */
	return rc;
}

/* `trace [ all | FILTER ]`: the packet trace, streamed from the daemon. */
int ctctl_ctl_trace(struct ctctl_args *a)
{
	uint16_t flags = ctctl_opts.print.json ? CTSIM_TRACE_JSON : 0;
	struct ctsim_trace_filter tf = { 0 };
	struct ctctl_spec s;
	int r;

	if (a->i < a->argc && !strcmp(a->argv[a->i], "all")) {
		flags |= CTSIM_TRACE_ALL;
		a->i++;
		if (a->i < a->argc)
			return ctctl_usage_error(a, a->i, "\"trace all\" takes nothing more");
		return stream(a, flags, NULL);
	}
	if ((r = ctctl_parse_words(a, KWB(KW_PROTO) | KWB(KW_SRC) | KWB(KW_DST) | KWB(KW_SPORT) |
				   KWB(KW_DPORT), NULL, &s)) != CTCTL_OK)
		return r;
	if (a->i < a->argc)
		return ctctl_usage_error(a, a->i, "unknown \"trace %s\": all, a FILTER, or nothing "
					 "for the packets with meta nftrace set", a->argv[a->i]);
	if (!s.have)
		return stream(a, flags, NULL);
	tf.family = s.family;
	tf.l4proto = s.l4num;
	if (s.have & KWB(KW_PROTO))
		tf.have |= CTSIM_TF_PROTO;
	if (s.have & KWB(KW_SRC)) {
		tf.have |= CTSIM_TF_SRC;
		memcpy(tf.src, s.src.b, 16);
	}
	if (s.have & KWB(KW_DST)) {
		tf.have |= CTSIM_TF_DST;
		memcpy(tf.dst, s.dst.b, 16);
	}
	if (s.have & KWB(KW_SPORT)) {
		tf.have |= CTSIM_TF_SPORT;
		tf.sport = s.sport;
	}
	if (s.have & KWB(KW_DPORT)) {
		tf.have |= CTSIM_TF_DPORT;
		tf.dport = s.dport;
	}
	return stream(a, flags, &tf);
}

/* `log`: the log statements' lines, streamed from the daemon. */
int ctctl_ctl_log(struct ctctl_args *a)
{
	if (a->argc > 1)
		return ctctl_usage_error(a, 1, "\"log\" takes no arguments");
	return stream(a, CTSIM_TRACE_LOG, NULL);
}

/* CTSIM_CTL_SET / _GET with @arg; prints the reply's listing (GET) or the
 * daemon's message for an error. */
static int settings_op(struct ctctl_args *a, uint16_t op, const char *arg)
{
	struct ctnl_client *conn;
	const void *data;
	size_t dlen;
	int r;

	if (!(conn = ctctl_conn(a)))
		return CTCTL_FAIL;
	r = ctnl_client_control_payload(conn, op, 0, arg, strlen(arg), &data, &dlen);
	if (r == -ECONNRESET || r == -EPIPE)
		ctctl_disconnect();
	if (r == 0) {
		fwrite(data, 1, dlen, stdout);
		return fflush(stdout) == 0 ? CTCTL_OK : ctctl_fail(a, errno);
	}
	if (dlen) {
		fprintf(stderr, "ctctl: %s%s%s: %.*s (%s)\n", a->where ? a->where : "",
			a->where ? ": " : "", a->argv[0], (int)dlen, (const char *)data,
			strerrorname_np(-r));
		return CTCTL_FAIL;
	}
	return ctctl_result(a, r) < 0 ? CTCTL_FAIL : CTCTL_OK;
}

/* `set NAME VALUE` (or NAME=VALUE): a sysctl of the running daemon. */
int ctctl_ctl_set(struct ctctl_args *a)
{
	char arg[256];

	if (a->argc == 2 && strchr(a->argv[1], '='))
		snprintf(arg, sizeof(arg), "%s", a->argv[1]);
	else if (a->argc == 3)
		snprintf(arg, sizeof(arg), "%s=%s", a->argv[1], a->argv[2]);
	else
		return ctctl_usage_error(a, a->argc > 3 ? 3 : 1, "\"set\" takes NAME VALUE");
	return settings_op(a, CTSIM_CTL_SET, arg);
}

/* `get [ NAME ]`: the daemon's sysctls as name = value; `get` with a
 * tuple is conntrack -G's (a bare `get` was an error there: no tuple). */
int ctctl_ctl_get(struct ctctl_args *a)
{
	if (a->argc > 1 && strncmp(a->argv[1], "nf_", 3) && strncmp(a->argv[1], "net.", 4) &&
	    strncmp(a->argv[1], "ctsim_", 6))
		return ctctl_ct_get(a);
	if (a->argc > 2)
		return ctctl_usage_error(a, 2, "\"get\" takes at most one NAME");
	return settings_op(a, CTSIM_CTL_GET, a->argc == 2 ? a->argv[1] : "");
}

/* `pause`, `step [N]`, `resume` (CTSIM_CTL_STEP): the daemon holds the
 * packets the lab's hosts send and releases them by hand; `step` prints
 * each released packet's trace and its entry after it. */
int ctctl_ctl_step(struct ctctl_args *a)
{
	const char *verb = a->argv[0];
	struct ctnl_client *conn;
	unsigned op, n = 0;
	int status;
	const char *why = NULL;
	int r;

	if (!strcmp(verb, "step")) {
		char *end;
		unsigned long v = 1;

		if (a->argc > 2)
			return ctctl_usage_error(a, 2, "\"step\" takes one number at most");
		if (a->argc == 2) {
			errno = 0;
			v = strtoul(a->argv[1], &end, 10);
			if (*end || end == a->argv[1] || errno || v < 1 || v > 1024u ||
			    a->argv[1][0] == '-')
				return ctctl_usage_error(a, 1, "\"%s\": expected a number of packets, 1 "
							 "to %u", a->argv[1], 1024u);
		}
		op = CTSIM_STEP_NEXT;
		n = (unsigned)v;
	} else {
		if (a->argc > 1)
			return ctctl_usage_error(a, 1, "\"%s\" takes no arguments", verb);
		op = !strcmp(verb, "pause") ? CTSIM_STEP_PAUSE : CTSIM_STEP_RESUME;
	}
	if (!(conn = ctctl_conn(a)))
		return CTCTL_FAIL;
	if ((r = text_op(a, conn, CTSIM_CTL_STEP, 0, op, n, &status)) == 0)
		return status;
	switch (-r) {
	case EOPNOTSUPP:
		why = "this ctsim has no data plane (it was started without --lab)";
		break;
	case EINVAL:
		why = op == CTSIM_STEP_NEXT ? "the data plane is not paused (ctctl pause first)"
					    : "the daemon does not know this request (older ctsim?)";
		break;
	}
	if (!why)
		return ctctl_result(a, r) < 0 ? CTCTL_FAIL : CTCTL_OK;
	fprintf(stderr, "ctctl: %s%s%s: %s (%s)\n", a->where ? a->where : "", a->where ? ": " : "",
		verb, why, strerrorname_np(-r));
	return CTCTL_FAIL;
}

/* `table` (also `stats buckets`): count/max, buckets and chain lengths,
 * unconfirmed and dying entries, expectations per helper, the overflow
 * policy and what the table-full path did (CTSIM_CTL_PROC,
 * CTSIM_PROC_TABLE). */
int ctctl_ctl_table(struct ctctl_args *a)
{
	struct ctnl_client *conn;
	int status;
	int r;

	if (a->argc > 1)
		return ctctl_usage_error(a, 1, "\"table\" takes no arguments");
	if (!(conn = ctctl_conn(a)))
		return CTCTL_FAIL;
	if ((r = text_op(a, conn, CTSIM_CTL_PROC, 0, CTSIM_PROC_TABLE, 0, &status)) == 0)
		return status;
	return ctctl_result(a, r) < 0 ? CTCTL_FAIL : CTCTL_OK;
}
