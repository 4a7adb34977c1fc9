/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * request.c — the one way ctctl talks to ctsim: the shared connection, the
 * request helper every verb uses (connect, build, send, receive, print the
 * failure), and the event loop of the monitors.
 *
 * Keeping this in one place is what makes every verb fail the same way:
 * the same "cannot connect" line, the same ctnetlink error wording
 * (ctctl_fail()), and the same reconnect after ctsim restarted.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctctl/ctctl.h"
#include "proto/ctnl_client.h"
#include "proto/ctsim_wire.h"

/* Request buffer: a conntrack request is a few hundred bytes. */
#define REQ_SIZE	4096

/* The connection shared by the verbs (kept open across shell commands). */
static struct ctnl_client *conn;

struct ctnl_client *ctctl_conn(const struct ctctl_args *a)
{
	const char *path = ctctl_opts.socket;

	if (conn)
		return conn;
	conn = ctnl_client_open(path, 0);
	if (!conn) {
		int err = errno;

		if (!path)
			path = getenv(CTSIM_SOCKET_ENV);
		if (!path || !*path)
			path = CTSIM_DEFAULT_SOCKET;
		fprintf(stderr, "ctctl: %s%s%s: cannot connect to ctsim at %s: %s (%s)%s\n",
			a->where ? a->where : "", a->where ? ": " : "", a->argv[0],
			path, strerror(err), strerrorname_np(err) ? strerrorname_np(err) : "?",
			err == ENOENT || err == ECONNREFUSED ? "; is ctsim running?" :
			err == EACCES ? "; the server there runs neither as root nor as you" : "");
	}
	return conn;
}

void ctctl_disconnect(void)
{
	ctnl_client_close(conn);
	conn = NULL;
}

int ctctl_result(const struct ctctl_args *a, int r)
{
	/* A broken connection is dropped so that the next shell command
	 * reconnects (ctsim may have been restarted meanwhile). */
	if (r == -ECONNRESET || r == -EPIPE)
		ctctl_disconnect();
	if (r < 0) {
		ctctl_fail(a, -r);
		return -1;
	}
	return r;
}

int ctctl_request(const struct ctctl_args *a, const struct ctctl_req *req)
{
	static uint8_t buf[REQ_SIZE];
	struct nlmsghdr *nlh;
	int r = 0;

	if (!ctctl_conn(a))
		return -1;
	nlh = ctnl_msg_start(buf, REQ_SIZE, req->type, (uint16_t)(NLM_F_REQUEST | req->flags),
			     ctnl_client_seq(conn), 0, req->family, req->version, 0);
	if (req->ct)
		r = ctnl_ct_put(nlh, REQ_SIZE, req->ct, CTNL_LAYOUT_REQUEST);
	else if (req->exp)
		r = ctnl_exp_put(nlh, REQ_SIZE, req->exp);
	if (r < 0) {
		ctctl_fail(a, EMSGSIZE);
		return -1;
	}
	r = ctnl_client_request(conn, nlh, req->cb, req->data);
	/* What the callbacks printed comes before any error line. */
	fflush(stdout);
	return ctctl_result(a, r);
}

int ctctl_control(const struct ctctl_args *a, uint16_t op, uint32_t arg1, uint32_t arg2)
{
	if (!ctctl_conn(a))
		return -1;
	return ctctl_result(a, ctnl_client_control(conn, op, arg1, arg2));
}

/* ---- monitors ------------------------------------------------------------ */

static void on_interrupt(int sig)
{
	(void)sig;
	ctctl_interrupted = 1;
}

int ctctl_listen(const struct ctctl_args *a, uint32_t groups, ctnl_client_cb cb, void *data,
		 const char *lost)
{
	struct sigaction sa = { .sa_handler = on_interrupt }, old_int, old_term;
	struct ctnl_client *ev;
	int r;

	/* A second connection: events must not mix with request answers. */
	ev = ctnl_client_open(ctctl_opts.socket, groups);
	if (!ev) {
		int err = errno;

		if (ctctl_conn(a))	/* else it printed the connection error */
			ctctl_fail(a, err);
		return -1;
	}

	ctctl_interrupted = 0;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: poll() must return */
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	r = CTCTL_OK;
	while (!ctctl_interrupted) {
		int n = ctnl_client_recv_events(ev, -1, cb, data);

		if (n == -EINTR)
			continue;
		if (n == -ENOBUFS) {
			fprintf(stderr, "ctctl: %s\n", lost);
			continue;
		}
		if (n == -ECONNRESET)
			break;	/* ctsim went away: end of the stream */
		if (n < 0) {
			r = ctctl_fail(a, -n);
			break;
		}
	}

	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	ctctl_interrupted = 0;
	ctnl_client_close(ev);
	fflush(stdout);
	return r;
}
