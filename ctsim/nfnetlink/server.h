/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * server.h — ctsim's ctnetlink server: a SOCK_SEQPACKET Unix socket on which
 * every connection behaves like one NETLINK_NETFILTER socket (port id,
 * multicast groups, SOL_NETLINK options, receive queue), and the dispatch of
 * nfnetlink messages to the handlers of ct_requests.c / exp_requests.c
 * (nfnetlink_rcv() and netlink_rcv_skb() in the kernel).
 *
 * Single-threaded: the daemon's event loop calls server_handle() for every
 * ready fd. Nothing here blocks: replies that do not fit the client's socket
 * wait in a per-client queue, dumps are produced one datagram at a time when
 * the client can take more (netlink_dump()), and events that do not fit are
 * dropped and reported as ENOBUFS, as the kernel does.
 */
#ifndef CTSIM_SERVER_H
#define CTSIM_SERVER_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>
#include "ctsim/core/table.h"
#include "ctsim/core/event.h"
#include "ctsim/core/timeout_policy.h"
#include "ctsim/hooks/router.h"

struct server;
struct client;

/* A dump in progress on one client (struct netlink_callback). */
struct dump {
	/* Fill @buf (at most @cap bytes) with whole messages; return the bytes
	 * written, 0 when the dump is complete (DONE follows), or a negative
	 * errno (an NLMSG_ERROR replaces DONE). */
	int (*fill)(struct server *srv, struct client *cl, struct dump *d, void *buf, size_t cap);
	void (*done)(struct server *srv, struct dump *d);	/* release state; may be NULL */
	uint32_t seq;		/* request seq, echoed */
	uint16_t flags;		/* extra nlmsg flags on objects (NLM_F_DUMP_FILTERED) */
	uint16_t type;		/* the request's message type */
	void *state;		/* the handler's cursor */
};

/* Handler result besides 0 (success: ACK if asked) and -errno (error). */
#define CTNL_DUMP_STARTED	1	/* a dump was started: no ACK */
#define CTNL_NO_REPLY		2	/* nothing to send, not even an error */

typedef int (*ctnetlink_handler)(struct server *srv, struct client *cl, const struct nlmsghdr *nlh);

struct server {
	int listen_fd;
	int epfd;
	char path[108];
	struct ct_table *table;
	struct ct_settings *settings;
	struct ct_events *events;
	struct client *clients;
	int32_t next_negative_portid;	/* autobind rover, as netlink_autobind() */
	unsigned ncpus;
	unsigned long rx_errors;	/* malformed datagrams seen (framing) */
	unsigned long replies_dropped;	/* replies past a client's budget (ENOBUFS) */
	bool accept_paused;		/* out of descriptors: listener not polled */
	bool accept_fail_logged;	/* the EMFILE line was printed */
	/* ctsim's own operations (CTSIM_CTL_RELOAD, _RULESET) on the data
	 * plane, which the server does not know; NULL (no lab): ENOTSUP. */
	int (*reload)(void *arg);	/* returns 0 or a positive errno */
	void *reload_arg;
	/* Write the live ruleset's listing (CTSIM_RULESET_* @flags) into @buf,
	 * at most @cap bytes, its length into *@len; returns 0 or a positive
	 * errno (EMSGSIZE: does not fit, and then nothing was reset). */
	int (*ruleset)(void *arg, unsigned flags, char *buf, size_t cap, size_t *len);
	void *ruleset_arg;
	/* CTSIM_CTL_STEP (op CTSIM_STEP_*, @n packets): the data plane holds
	 * or releases packets, its text report into @buf (at most @cap
	 * bytes), *@len set. Returns 0 or a positive errno. NULL: ENOTSUP. */
	int (*step)(void *arg, unsigned op, unsigned n, char *buf, size_t cap, size_t *len);
	void *step_arg;
	/* `ctsim -v`: log client connects and disconnects and every request
	 * answered with an error (the nlmsgerr's errno) on stderr. Set after
	 * server_open(), which clears the struct. */
	bool verbose;
	/* The lab's router, for `ctctl trace` / `ctctl log` (CTSIM_CTL_TRACE):
	 * the server sets its trace and log callbacks while a client streams
	 * them (and log always with verbose). NULL: no lab, ENOTSUP. Set with
	 * server_set_router(). */
	struct router *router;
	/* The cttimeout subsystem's named policies (`nfct timeout`), created
	 * empty by server_open() and freed by server_close(). */
	struct ct_timeout_policies *timeouts;
};

/**
 * server_set_router - give the server the lab's router (or NULL) for
 * CTSIM_CTL_TRACE; with srv->verbose, `log` statements' lines go to
 * stderr from then on ("ctsim: log: LINE").
 */
void server_set_router(struct server *srv, struct router *r);

/**
 * server_open - create, bind and listen on @path with file mode @mode.
 * A stale socket file (nobody listening) is removed first; a live one makes
 * it fail with EADDRINUSE. Returns 0 or a negative errno.
 */
int server_open(struct server *srv, const char *path, unsigned mode, int epfd,
		struct ct_table *t, struct ct_settings *s, struct ct_events *e);
/** server_close - disconnect every client, close and unlink the socket. */
void server_close(struct server *srv);
/** server_handle - an epoll event for @data (the listen fd or a client). */
void server_handle(struct server *srv, void *data, uint32_t events);
/** server_owns - is @data the listening socket's epoll cookie? (Client
 *  cookies are not recognised: the daemon's loop hands every event that is
 *  not its own or the data plane's to server_handle().) */
bool server_owns(const struct server *srv, void *data);

/* For handlers. */

/** server_reply - send one datagram to @cl, queueing it if the socket is
 *  full; past the client's reply budget (unread answers beyond what a
 *  kernel socket buffer holds) the datagram is dropped, the client gets
 *  ENOBUFS later, and -ENOBUFS is returned. */
int server_reply(struct server *srv, struct client *cl, const void *buf, size_t len);
/** server_start_dump - attach @d (copied) to @cl and start producing it.
 *  -EBUSY if a dump is already running on that client. */
int server_start_dump(struct server *srv, struct client *cl, const struct dump *d);
uint32_t client_portid(const struct client *cl);

/* Handlers (ct_requests.c, exp_requests.c) and their event encoder. */
extern const ctnetlink_handler ctnetlink_ct_handlers[IPCTNL_MSG_MAX];
extern const ctnetlink_handler ctnetlink_exp_handlers[IPCTNL_MSG_EXP_MAX];
/* timeout_requests.c: cttimeout (IPCTNL_MSG_TIMEOUT_*) and cthelper
 * (NFNL_MSG_CTHELPER_*) subsystems, indexed by message type. */
#define CTNL_TIMEOUT_MSGS	5	/* IPCTNL_MSG_TIMEOUT_MAX */
#define CTNL_HELPER_MSGS	3	/* NFNL_MSG_CTHELPER_MAX */
extern const ctnetlink_handler ctnetlink_timeout_handlers[CTNL_TIMEOUT_MSGS];
extern const ctnetlink_handler ctnetlink_helper_handlers[CTNL_HELPER_MSGS];

/** ctnetlink_start_stats_cpu_dump - the per-CPU statistics dump shared by
 *  CT_GET_STATS_CPU and EXP_GET_STATS_CPU (ct_requests.c). */
int ctnetlink_start_stats_cpu_dump(struct server *srv, struct client *cl, const struct nlmsghdr *nlh);
/** dump_fill_empty - a dump fill function for lists that are always empty. */
int dump_fill_empty(struct server *srv, struct client *cl, struct dump *d, void *buf, size_t cap);

/**
 * proc_conntrack_text - write /proc/net/nf_conntrack's text for @t to @out
 * (proc_text.c): one line per entry as ct_seq_show(). 0, or -1 (no memory).
 */
int proc_conntrack_text(struct ct_table *t, FILE *out);

/**
 * ctnetlink_ct_event_msg - encode a conntrack event as ctnetlink_conntrack_event()
 * Returns the message length and sets *group (NFNLGRP_CONNTRACK_*), or 0 if
 * the event produces no message.
 */
int ctnetlink_ct_event_msg(struct server *srv, const struct ct_event *ev, void *buf,
		      size_t cap, unsigned *group);

/**
 * ctnetlink_exp_event_msg - encode an expectation event as
 * ctnetlink_expect_event() (exp_requests.c): EXP_NEW (flags CREATE|EXCL,
 * group NFNLGRP_CONNTRACK_EXP_NEW) or EXP_DELETE (group _EXP_DESTROY).
 * Returns the message length and sets *group, or 0.
 */
int ctnetlink_exp_event_msg(struct server *srv, const struct ct_exp_event *ev, void *buf,
		       size_t cap, unsigned *group);

#endif
