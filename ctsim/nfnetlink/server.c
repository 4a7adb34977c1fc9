/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * server.c — the ctnetlink server: connections, netlink socket emulation,
 * message dispatch, reply queues, lazy dumps and event delivery.
 * See server.h for the model.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/netlink.h>
#include "proto/ctnl.h"
#include "proto/ctsim_wire.h"
#include "ctsim/nfnetlink/server.h"
#include "ctsim/core/describe.h"
#include "ctsim/core/expect.h"
#include "ctsim/core/helper.h"
#include "ctsim/core/overflow.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Largest request datagram accepted; bigger ones are answered EMSGSIZE. */
#define RX_MAX		(256 * 1024)
/* Events queued behind pending replies before we call it an overrun. */
#define EVENT_BACKLOG	256
/* Replies a client may leave unread, beyond what its socket holds: the
 * kernel's default receive buffer (net.core.rmem_default, 212992 bytes),
 * each message charged its length plus REPLY_OVERHEAD as an skb's truesize
 * is. Past it a reply is dropped and the client gets ENOBUFS, as
 * netlink_unicast() does to a full socket (netlink_overrun()). */
#define REPLY_BUDGET	212992
#define REPLY_OVERHEAD	512
/* The kernel's internal "operation not supported" (include/linux/errno.h),
 * which some nfnetlink subsystems return to user space as is. */
#define CT_ENOTSUPP	524
/* Request datagrams read per wake-up. One: epoll is level-triggered and
 * asks again, while a second recv() would almost always find nothing in
 * the common request/answer ping-pong and cost a system call. */
#define RX_BURST	1
/* Dump datagrams produced per wake-up, so one big dump cannot starve others. */
#define DUMP_BURST	64

struct outbuf {
	struct outbuf *next;
	size_t len;
	unsigned char data[];
};

struct client {
	int fd;
	uid_t uid;
	pid_t pid;			/* the peer's, for the -v log */
	uint32_t portid;
	uint32_t groups;		/* multicast groups bitmask (1 << (group-1)) */
	uint32_t event_backlog;		/* events queued before an overrun (CTSIM_SO_EVENT_BACKLOG) */
	bool bound;
	bool cap_ack, ext_ack, no_enobufs, broadcast_error;
	bool overrun;			/* events were lost: ENOBUFS pending */
	bool dead;			/* peer went away: close at the end of the step */
	struct outbuf *outq, *outq_tail;
	unsigned outq_len;
	size_t outq_charge;		/* sum of len + REPLY_OVERHEAD over outq */
	struct dump *dump;
	uint32_t ep_events;		/* what epoll currently watches */
	uint16_t trace;			/* CTSIM_CTL_TRACE flags | TRACE_ON; 0: not tracing */
	struct ctsim_trace_filter tf;	/* with CTSIM_TRACE_FILTER */
	struct client *next;
};

#define TRACE_ON	0x8000		/* client->trace: the stream is on */

static void trace_recount(struct server *srv);

/* The epoll cookie of the listening socket. */
static char listen_cookie;

uint32_t client_portid(const struct client *cl)
{
	return cl->portid;
}

bool server_owns(const struct server *srv, void *data)
{
	(void)srv;
	return data == &listen_cookie;
}

/* ---------------------------------------------------------------------- */
/* Output                                                                  */

static void client_update_epoll(struct server *srv, struct client *cl)
{
	uint32_t want;
	struct epoll_event ev;

	if (cl->dead)
		return;
	/* Read requests only when everything already asked for has been
	 * handed over: a client that does not read cannot make us buffer. */
	if (cl->outq || cl->dump)
		want = EPOLLOUT;
	else
		want = EPOLLIN | (cl->overrun && !cl->no_enobufs ? EPOLLOUT : 0);
	if (want == cl->ep_events)
		return;
	ev.events = want;
	ev.data.ptr = cl;
	epoll_ctl(srv->epfd, EPOLL_CTL_MOD, cl->fd, &ev);
	cl->ep_events = want;
}

static int enqueue(struct client *cl, const void *buf, size_t len)
{
	struct outbuf *o = malloc(sizeof(*o) + len);

	if (!o)
		return -ENOMEM;
	o->next = NULL;
	o->len = len;
	memcpy(o->data, buf, len);
	if (cl->outq_tail)
		cl->outq_tail->next = o;
	else
		cl->outq = o;
	cl->outq_tail = o;
	cl->outq_len++;
	cl->outq_charge += len + REPLY_OVERHEAD;
	return 0;
}

/* Try to hand one datagram to the socket: 1 sent, 0 would block, <0 dead. */
static int try_send(struct client *cl, const void *buf, size_t len)
{
	ssize_t n = send(cl->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n >= 0)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	cl->dead = true;
	return -errno;
}

int server_reply(struct server *srv, struct client *cl, const void *buf, size_t len)
{
	int r;

	if (cl->dead)
		return -EPIPE;
	if (!cl->outq) {
		r = try_send(cl, buf, len);
		if (r != 0)
			return r < 0 ? r : 0;
	} else if (cl->outq_charge + len + REPLY_OVERHEAD > REPLY_BUDGET) {
		/* A client that sends requests without reading the answers
		 * (many in one datagram): drop, ENOBUFS follows. At least one
		 * reply is always queued, so every single answer fits. */
		cl->overrun = true;
		srv->replies_dropped++;
		return -ENOBUFS;
	}
	return enqueue(cl, buf, len);
}

/* A CTSIM_CTL_REPLY with @len bytes of @payload after it, in one datagram
 * (at most CTSIM_CTL_DGRAM_MAX: the payload is cut there); without memory
 * for it, the bare reply, its b = 0. */
static void reply_payload(struct server *srv, struct client *cl, struct ctsim_ctl *rep,
			  const void *payload, size_t len)
{
	unsigned char *dg;

	if (len > CTSIM_CTL_DGRAM_MAX - sizeof(*rep))
		len = CTSIM_CTL_DGRAM_MAX - sizeof(*rep);
	if (!(dg = malloc(sizeof(*rep) + len))) {
		rep->b = 0;
		server_reply(srv, cl, rep, sizeof(*rep));
		return;
	}
	rep->b = (uint32_t)len;
	memcpy(dg, rep, sizeof(*rep));
	memcpy(dg + sizeof(*rep), payload, len);
	server_reply(srv, cl, dg, sizeof(*rep) + len);
	free(dg);
}

/* The same for a reply whose payload was written in place after room for
 * the header in @dg (CTSIM_CTL_DGRAM_MAX bytes, or NULL: none), which this
 * frees; an error reply carries no payload. */
static void reply_built(struct server *srv, struct client *cl, struct ctsim_ctl *rep,
			unsigned char *dg, size_t len)
{
	rep->b = rep->err ? 0 : (uint32_t)len;
	if (dg) {
		memcpy(dg, rep, sizeof(*rep));
		server_reply(srv, cl, dg, sizeof(*rep) + rep->b);
		free(dg);
	} else {
		server_reply(srv, cl, rep, sizeof(*rep));
	}
}

/* Multicast delivery: never blocks, never grows without bound. */
static void send_event(struct client *cl, const void *buf, size_t len)
{
	if (cl->dead)
		return;
	/* Congested (netlink_broadcast_deliver(): NETLINK_S_CONGESTED): after
	 * a loss nothing more is delivered until the reader has taken what
	 * was queued and been told (ENOBUFS), so the notice sits where the
	 * events stop. Without ENOBUFS reports the socket is never congested. */
	if (cl->overrun && !cl->no_enobufs)
		return;
	if (!cl->outq) {
		int r = try_send(cl, buf, len);

		if (r != 0)
			return;
	} else if (cl->outq_len < cl->event_backlog && enqueue(cl, buf, len) == 0) {
		return;
	}
	/* The receive queue is full: the kernel drops the message and the
	 * next recvmsg() fails with ENOBUFS (netlink_overrun()). */
	cl->overrun = true;
}

static void flush_outq(struct client *cl)
{
	while (cl->outq) {
		struct outbuf *o = cl->outq;

		if (try_send(cl, o->data, o->len) <= 0)
			return;
		cl->outq = o->next;
		if (!cl->outq)
			cl->outq_tail = NULL;
		cl->outq_len--;
		cl->outq_charge -= o->len + REPLY_OVERHEAD;
		free(o);
	}
}

static void end_dump(struct server *srv, struct client *cl)
{
	if (!cl->dump)
		return;
	if (cl->dump->done)
		cl->dump->done(srv, cl->dump);
	free(cl->dump);
	cl->dump = NULL;
}

/* A socket in a world-writable directory (/tmp): any user could have
 * taken the path first, or replace it later; clients check the server's
 * uid (proto/ctsim_wire.h), but say it. */
static void warn_world_writable(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) == 0 && (st.st_mode & S_IWOTH))
		fprintf(stderr, "ctsim: warning: %s is in a world-writable directory (%s): "
			"another user could take the path; prefer a directory only root "
			"can write, e.g. %s\n", path, dir, CTSIM_DEFAULT_SOCKET);
}

/* netlink_dump(): produce datagrams while the socket takes them. */
static void run_dump(struct server *srv, struct client *cl)
{
	unsigned char buf[CTNL_GOODSIZE];

	for (int i = 0; i < DUMP_BURST && cl->dump && !cl->outq && !cl->dead; i++) {
		struct dump *d = cl->dump;
		int n;

		ct_table_tick(srv->table);
		n = d->fill(srv, cl, d, buf, sizeof(buf));
		if (n > 0) {
			server_reply(srv, cl, buf, (size_t)n);
			continue;
		}
		if (n == 0) {
			n = ctnl_msg_put_done(buf, sizeof(buf), d->seq, cl->portid);
		} else {
			/* An error ends the dump in place of DONE. */
			struct nlmsghdr req = { .nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = d->type,
						.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
						.nlmsg_seq = d->seq };
			n = ctnl_msg_put_error(buf, sizeof(buf), &req, n, cl->portid, true);
		}
		end_dump(srv, cl);
		if (n > 0)
			server_reply(srv, cl, buf, (size_t)n);
	}
}

int server_start_dump(struct server *srv, struct client *cl, const struct dump *d)
{
	if (cl->dump)
		return -EBUSY;	/* netlink_dump_start(): one dump per socket */
	cl->dump = malloc(sizeof(*d));
	if (!cl->dump)
		return -ENOMEM;
	*cl->dump = *d;
	(void)srv;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Connections                                                             */

static void recount_listeners(struct server *srv)
{
	unsigned n = 0;

	for (struct client *c = srv->clients; c; c = c->next)
		if (!c->dead && (c->groups & 0x7))	/* NFNLGRP_CONNTRACK_NEW..DESTROY */
			n++;
	srv->events->listeners = n;
}

/* Poll the listening socket or not. Out of descriptors, accept4() fails
 * while the connection stays in the backlog, so a level-triggered listener
 * is reported readable at once, forever: a busy loop that never gets to the
 * waiting client. Stop polling it until a client leaves and frees a
 * descriptor; meanwhile new connections wait in the backlog (as they would
 * for a kernel listener whose owner does not call accept()). */
static void listener_poll(struct server *srv, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.ptr = &listen_cookie };

	if (srv->accept_paused != on)
		return;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->listen_fd, &ev) == 0)
		srv->accept_paused = !on;
}

static void client_free(struct server *srv, struct client *cl)
{
	struct client **pp;

	for (pp = &srv->clients; *pp && *pp != cl; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = cl->next;
	end_dump(srv, cl);
	while (cl->outq) {
		struct outbuf *o = cl->outq;

		cl->outq = o->next;
		free(o);
	}
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	listener_poll(srv, true);	/* a descriptor is free again */
	if (srv->verbose)
		fprintf(stderr, "ctsim: client pid %ld disconnected (port id %u)\n",
			(long)cl->pid, cl->portid);
	free(cl);
	recount_listeners(srv);
	trace_recount(srv);
}

static void accept_clients(struct server *srv)
{
	for (;;) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev;
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		struct client *cl;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				if (!srv->accept_fail_logged)
					fprintf(stderr, "ctsim: out of file descriptors (%s): new "
						"clients wait until one disconnects\n",
						strerrorname_np(errno));
				srv->accept_fail_logged = true;
				listener_poll(srv, false);
			}
			return;
		}
		cl = calloc(1, sizeof(*cl));
		if (!cl) {
			close(fd);
			return;
		}
		cl->fd = fd;
		cl->event_backlog = EVENT_BACKLOG;
		/* The kernel checks CAP_NET_ADMIN per request
		 * (netlink_net_capable()); we know the peer's uid. */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
			cl->uid = cred.uid;
			cl->pid = cred.pid;
		} else {
			cl->uid = (uid_t)-1;
			cl->pid = -1;
		}
		cl->ep_events = EPOLLIN;
		ev.events = EPOLLIN;
		ev.data.ptr = cl;
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(cl);
			continue;
		}
		cl->next = srv->clients;
		srv->clients = cl;
		if (srv->verbose)
			fprintf(stderr, "ctsim: client pid %ld uid %ld connected\n",
				(long)cl->pid, (long)(int)cl->uid);
	}
}

static bool portid_taken(const struct server *srv, const struct client *self, uint32_t portid)
{
	for (const struct client *c = srv->clients; c; c = c->next)
		if (c != self && c->bound && c->portid == portid)
			return true;
	return false;
}

/* netlink_bind() / netlink_autobind(). */
static int do_bind(struct server *srv, struct client *cl, const struct ctsim_ctl *req)
{
	uint32_t want = req->a;

	/* netlink_bind(): NETLINK_NETFILTER has no NL_CFG_F_NONROOT_RECV, so
	 * joining multicast groups needs CAP_NET_ADMIN. */
	if (req->b && cl->uid != 0)
		return EPERM;
	if (cl->bound) {
		/* A bound socket keeps its port id; re-binding may only change
		 * the groups (libnfnetlink binds twice). */
		if (!(req->flags & CTSIM_BIND_AUTO) && want && want != cl->portid)
			return EINVAL;
	} else if (req->flags & CTSIM_BIND_AUTO) {
		uint32_t p = want;

		while (!p || portid_taken(srv, cl, p)) {
			p = (uint32_t)srv->next_negative_portid--;
			if (srv->next_negative_portid > -4096)
				srv->next_negative_portid = -4097;
		}
		cl->portid = p;
		cl->bound = true;
	} else {
		if (want && portid_taken(srv, cl, want))
			return EADDRINUSE;
		cl->portid = want;
		cl->bound = true;
	}
	cl->groups = req->b;
	recount_listeners(srv);
	return 0;
}

static void do_setsockopt(struct server *srv, struct client *cl, const struct ctsim_ctl *req)
{
	switch (req->a) {
	case NETLINK_ADD_MEMBERSHIP:
		if (cl->uid != 0)
			break;	/* netlink_setsockopt(): EPERM for non-root */
		if (req->b >= 1 && req->b <= 32)
			cl->groups |= 1u << (req->b - 1);
		break;
	case NETLINK_DROP_MEMBERSHIP:
		if (req->b >= 1 && req->b <= 32)
			cl->groups &= ~(1u << (req->b - 1));
		break;
	case NETLINK_BROADCAST_ERROR:
		cl->broadcast_error = req->b;
		break;
	case NETLINK_NO_ENOBUFS:
		cl->no_enobufs = req->b;
		if (req->b)
			cl->overrun = false;
		break;
	case NETLINK_CAP_ACK:
		cl->cap_ack = req->b;
		break;
	case NETLINK_EXT_ACK:
		cl->ext_ack = req->b;
		break;
	case CTSIM_SO_EVENT_BACKLOG:	/* ctsim's own: see ctsim_wire.h */
		if (cl->uid == 0 && req->b >= EVENT_BACKLOG)
			cl->event_backlog = req->b < CTSIM_EVENT_BACKLOG_MAX ? req->b
									     : CTSIM_EVENT_BACKLOG_MAX;
		break;
	default:
		break;	/* PKTINFO, LISTEN_ALL_NSID, GET_STRICT_CHK: no effect here */
	}
	recount_listeners(srv);
}

/*
 * CTSIM_CTL_RULESET: the reply and the listing in one datagram, so that a
 * client reads one snapshot of the counters with one recv(). Read-only
 * unless CTSIM_RULESET_RESET, but root only all the same: the kernel wants
 * CAP_NET_ADMIN for `nft list ruleset` as well (see ctsim_wire.h).
 */
static void do_ruleset(struct server *srv, struct client *cl, const struct ctsim_ctl *req)
{
	struct ctsim_ctl rep = { .magic = CTSIM_CTL_MAGIC, .op = CTSIM_CTL_REPLY, .a = req->op };
	unsigned char *dg = NULL;
	size_t len = 0;

	if (cl->uid != 0)
		rep.err = EPERM;
	else if (req->flags & ~(CTSIM_RULESET_JSON | CTSIM_RULESET_RESET))
		rep.err = EINVAL;	/* a flag from a newer client: do not guess */
	else if (!srv->ruleset)
		rep.err = ENOTSUP;
	else if (!(dg = malloc(CTSIM_CTL_DGRAM_MAX)))
		rep.err = ENOMEM;
	else
		rep.err = srv->ruleset(srv->ruleset_arg, req->flags, (char *)dg + sizeof(rep),
				       CTSIM_CTL_DGRAM_MAX - sizeof(rep), &len);
	reply_built(srv, cl, &rep, dg, len);
}

/*
 * CTSIM_CTL_EXPLAIN: `ctctl explain TUPLE`, the entry's internals
 * (ct_conn_describe()); the tuple may be of either direction, as a
 * conntrack -G lookup (nf_conntrack_find_get() finds both).
 */
static void do_explain(struct server *srv, struct client *cl, const struct ctsim_ctl *req,
		       const unsigned char *payload, size_t plen)
{
	struct ctsim_ctl rep = { .magic = CTSIM_CTL_MAGIC, .op = CTSIM_CTL_REPLY, .a = req->op };
	struct ctsim_explain ex;
	struct ct_zone zone = { 0, CT_ZONE_DIR_BOTH };
	struct conn *c = NULL;
	enum ct_dir dir;
	unsigned char dg[sizeof(rep) + 4096];
	size_t len = 0;

	if (req->b != sizeof(ex) || plen < sizeof(ex)) {
		rep.err = EINVAL;
	} else {
		struct ct_tuple tu;

		memcpy(&ex, payload, sizeof(ex));
		memset(&tu, 0, sizeof(tu));
		memcpy(tu.src.b, ex.src, sizeof(ex.src));
		memcpy(tu.dst.b, ex.dst, sizeof(ex.dst));
		tu.sport = ex.sport;
		tu.dport = ex.dport;
		tu.icmp_type = ex.icmp_type;
		tu.icmp_code = ex.icmp_code;
		tu.l3num = ex.l3num;
		tu.l4num = ex.l4num;
		zone.id = ex.zone;
		c = ct_table_find(srv->table, &tu, &zone, CT_DIR_ORIG, &dir);
		if (!c)
			c = ct_table_find(srv->table, &tu, &zone, CT_DIR_REPLY, &dir);
		if (!c)
			rep.err = ENOENT;
		else
			len = ct_conn_describe(srv->table, c, (char *)dg + sizeof(rep),
					       sizeof(dg) - sizeof(rep));
	}
	rep.b = (uint32_t)len;
	memcpy(dg, &rep, sizeof(rep));
	server_reply(srv, cl, dg, sizeof(rep) + len);
}

/*
 * CTSIM_CTL_STEP: `ctctl pause / step [N] / resume` (ctsim_wire.h). Root
 * only: holding the data plane changes what every host sees, as any
 * change of the network would need CAP_NET_ADMIN.
 */
static void do_step(struct server *srv, struct client *cl, const struct ctsim_ctl *req)
{
	struct ctsim_ctl rep = { .magic = CTSIM_CTL_MAGIC, .op = CTSIM_CTL_REPLY, .a = req->op };
	unsigned char *dg = NULL;
	size_t len = 0;

	if (cl->uid != 0)
		rep.err = EPERM;
	else if (req->a > CTSIM_STEP_RESUME || req->flags)
		rep.err = EINVAL;
	else if (!srv->step)
		rep.err = ENOTSUP;
	else if (!(dg = malloc(CTSIM_CTL_DGRAM_MAX)))
		rep.err = ENOMEM;
	else
		rep.err = srv->step(srv->step_arg, req->a, req->b, (char *)dg + sizeof(rep),
				    CTSIM_CTL_DGRAM_MAX - sizeof(rep), &len);
	reply_built(srv, cl, &rep, dg, len);
}

/*
 * CTSIM_CTL_PROC: the text of a conntrack /proc file (ctsim_wire.h), for
 * every uid, as the kernel's files are world-readable. CTSIM_PROC_STAT has
 * the layout of ct_cpu_seq_show() (net/netfilter/nf_conntrack_standalone.c):
 * a header, then one line per CPU with the global count first; ctsim keeps
 * its counters on CPU 0.
 */
/* `ctctl table`: what the kernel keeps in the table but shows nowhere in one
 * place (nf_conntrack_count/max, the hash's chain lengths, the dying list,
 * expectations per helper). */
static void table_internals(struct ct_table *t, FILE *f)
{
	uint32_t hist[9], longest;
	unsigned dying = 0, nhelp = 0, counts[16] = { 0 };
	const struct ct_helper *helpers[16];
	struct ct_expect_table *xt = t->expect;

	ct_chain_hist(t, hist, 9, &longest);
	fprintf(f, "entries %u (nf_conntrack_count), max %u (nf_conntrack_max)\n", t->count,
		t->settings->max);
	fprintf(f, "buckets %u (nf_conntrack_buckets); nodes per bucket (2 per entry):", t->nbuckets);
	for (unsigned k = 0; k < 9; k++)
		if (hist[k])
			fprintf(f, " %u%s:%u", k, k == 8 ? "+" : "", hist[k]);
	fprintf(f, "; longest chain %u\n", longest);
	/* the kernel's per-CPU unconfirmed lists: ctsim confirms or frees a
	 * new entry within its packet's pass, so between packets none is left */
	fputs("unconfirmed 0 (between packets)\n", f);
	for (const struct conn *c = t->dying; c; c = c->dying_next)
		dying++;
	fprintf(f, "dying %u (unlinked, still referenced)\n", dying);
	fprintf(f, "expectations %u, max %u (nf_conntrack_expect_max)", xt ? xt->count : 0,
		t->settings->expect_max);
	for (const struct ct_expect *e = xt ? xt->head : NULL; e; e = e->next) {
		unsigned i;

		for (i = 0; i < nhelp && helpers[i] != e->helper; i++)
			;
		if (i == nhelp && nhelp < 16)
			helpers[nhelp++] = e->helper;
		if (i < nhelp)
			counts[i]++;
	}
	for (unsigned i = 0; i < nhelp; i++)
		fprintf(f, "%s %s %u", i ? "," : ";", helpers[i] ? helpers[i]->name : "(none)",
			counts[i]);
	fputc('\n', f);
}

static void do_proc(struct server *srv, struct client *cl, const struct ctsim_ctl *req)
{
	struct ctsim_ctl rep = { .magic = CTSIM_CTL_MAGIC, .op = CTSIM_CTL_REPLY, .a = req->op };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f) {
		rep.err = ENOMEM;
	} else if (req->a == CTSIM_PROC_COUNT) {
		fprintf(f, "%u\n", srv->table->count);
	} else if (req->a == CTSIM_PROC_STAT) {
		fputs("entries  clashres found new invalid ignore delete chainlength insert "
		      "insert_failed drop early_drop icmp_error  expect_new expect_create "
		      "expect_delete search_restart\n", f);
		for (unsigned cpu = 0; cpu < srv->ncpus; cpu++) {
			static const struct ctnl_stats_cpu zero_ct;
			static const struct ctnl_stats_exp zero_exp;
			const struct ctnl_stats_cpu *c = cpu ? &zero_ct : &srv->table->stats.cpu;
			const struct ctnl_stats_exp *e = cpu ? &zero_exp : &srv->table->stats.exp;

			fprintf(f, "%08x  %08x %08x %08x %08x %08x %08x %08x %08x %08x %08x %08x "
				"%08x  %08x %08x %08x %08x\n", srv->table->count, c->clash_resolve,
				c->found, 0, c->invalid, 0, 0, c->chaintoolong, c->insert,
				c->insert_failed, c->drop, c->early_drop, c->error, e->new,
				e->create, e->delete, c->search_restart);
		}
	} else if (req->a == CTSIM_PROC_SETTINGS) {
		ct_settings_print(srv->settings, f);
	} else if (req->a == CTSIM_PROC_TABLE) {
		table_internals(srv->table, f);
		ct_overflow_report(srv->table, f);
	} else if (req->a == CTSIM_PROC_CONNTRACK) {
		/* -r--r----- root: the entries are root's to read */
		if (cl->uid != 0)
			rep.err = EACCES;
		else if (proc_conntrack_text(srv->table, f) < 0)
			rep.err = ENOMEM;
	} else {
		rep.err = EINVAL;
	}
	if (f)
		fclose(f);
	if (!rep.err && sizeof(rep) + len > CTSIM_CTL_DGRAM_MAX)
		rep.err = EMSGSIZE;
	reply_payload(srv, cl, &rep, text, rep.err ? 0 : len);
	free(text);
}

/* ---------------------------------------------------------------------- */
/* The trace and log streams (CTSIM_CTL_TRACE)                              */

/* One CTSIM_CTL_TRACE_LINE datagram to every client streaming @what
 * (log lines: CTSIM_TRACE_LOG clients; trace steps: the others) in the
 * given format. Delivered as events are: never blocking, ENOBUFS when a
 * client reads too slowly. */
/* Does @p match @tf in one of its directions (src/dst, ports swapped)? */
static bool filter_dir(const struct ctsim_trace_filter *tf, const struct ct_pkt *p, bool swap)
{
	size_t alen = p->family == AF_INET ? 4 : 16;
	const union ct_addr *s = swap ? &p->dst : &p->src, *d = swap ? &p->src : &p->dst;

	if ((tf->have & CTSIM_TF_PROTO) && tf->l4proto != p->l4proto)
		return false;
	if ((tf->have & (CTSIM_TF_SRC | CTSIM_TF_DST)) && tf->family != p->family)
		return false;
	if ((tf->have & CTSIM_TF_SRC) && memcmp(tf->src, s->b, alen))
		return false;
	if ((tf->have & CTSIM_TF_DST) && memcmp(tf->dst, d->b, alen))
		return false;
	if ((tf->have & (CTSIM_TF_SPORT | CTSIM_TF_DPORT)) && !ct_tuple_has_ports(p->l4proto))
		return false;
	if ((tf->have & CTSIM_TF_SPORT) && tf->sport != (swap ? p->dport : p->sport))
		return false;
	if ((tf->have & CTSIM_TF_DPORT) && tf->dport != (swap ? p->sport : p->dport))
		return false;
	return true;
}

static bool filter_match(const struct ctsim_trace_filter *tf, const struct ct_skb *skb)
{
	return skb && (filter_dir(tf, &skb->pkt, false) || filter_dir(tf, &skb->pkt, true));
}

static void trace_send(struct server *srv, bool log, bool json, const struct ct_skb *skb,
		       const char *text)
{
	bool nftrace = !skb || skb->pkt.nftrace;

	unsigned char dg[sizeof(struct ctsim_ctl) + 4096];
	struct ctsim_ctl h = { .magic = CTSIM_CTL_MAGIC, .op = CTSIM_CTL_TRACE_LINE };
	size_t len = strlen(text);

	if (len > sizeof(dg) - sizeof(h))
		len = sizeof(dg) - sizeof(h);
	h.flags = log ? CTSIM_TRACE_LOG : 0;
	h.b = (uint32_t)len;
	memcpy(dg, &h, sizeof(h));
	memcpy(dg + sizeof(h), text, len);
	for (struct client *cl = srv->clients; cl; cl = cl->next) {
		if (!(cl->trace & TRACE_ON) || !!(cl->trace & CTSIM_TRACE_LOG) != log ||
		    !!(cl->trace & CTSIM_TRACE_JSON) != json)
			continue;
		/* the router traces every packet when one client wants all:
		 * the others get only the packets with meta nftrace set */
		if (!log && (cl->trace & CTSIM_TRACE_FILTER) && !filter_match(&cl->tf, skb))
			continue;
		if (!log && !(cl->trace & CTSIM_TRACE_FILTER) && !nftrace &&
		    !(cl->trace & CTSIM_TRACE_ALL))
			continue;
		send_event(cl, dg, sizeof(h) + len);
		client_update_epoll(srv, cl);	/* queued lines, overruns (ENOBUFS) */
	}
}

/* The router's trace callback while a client streams the trace: every
 * step formatted once per format in use. */
static void trace_step(void *ctx, const struct router_trace_step *st)
{
	struct server *srv = ctx;
	bool text = false, json = false;
	char buf[4096];

	for (struct client *cl = srv->clients; cl; cl = cl->next)
		if ((cl->trace & TRACE_ON) && !(cl->trace & CTSIM_TRACE_LOG)) {
			json |= !!(cl->trace & CTSIM_TRACE_JSON);
			text |= !(cl->trace & CTSIM_TRACE_JSON);
		}
	for (int j = 0; j < 2; j++) {
		if (!(j ? json : text))
			continue;
		router_trace_format(buf, sizeof(buf), st, j);
		/* a rule step may carry the packet line first: one datagram per line */
		for (char *line = buf, *nl; line; line = nl) {
			nl = strchr(line, '\n');
			if (nl)
				*nl++ = '\0';
			trace_send(srv, false, j, st->skb, line);
		}
	}
}

/* The router's log callback: -v prints the line, `ctctl log` streams it. */
static void log_line(void *ctx, const char *line)
{
	struct server *srv = ctx;

	if (srv->verbose)
		fprintf(stderr, "ctsim: log: %s\n", line);
	trace_send(srv, true, false, NULL, line);
	trace_send(srv, true, true, NULL, line);	/* JSON clients get the text too */
}

/* Set the router's callbacks after a client started or stopped a stream. */
static void trace_recount(struct server *srv)
{
	bool any = false, all = false, log = srv->verbose;

	if (!srv->router)
		return;
	for (struct client *cl = srv->clients; cl; cl = cl->next) {
		if (!(cl->trace & TRACE_ON))
			continue;
		if (cl->trace & CTSIM_TRACE_LOG) {
			log = true;
			continue;
		}
		any = true;
		all |= !!(cl->trace & (CTSIM_TRACE_ALL | CTSIM_TRACE_FILTER));
	}
	srv->router->trace = any ? trace_step : NULL;
	srv->router->trace_ctx = srv;
	srv->router->trace_all = all;
	srv->router->log = log ? log_line : NULL;
	srv->router->log_ctx = srv;
}

void server_set_router(struct server *srv, struct router *r)
{
	srv->router = r;
	trace_recount(srv);
}

static void do_trace(struct server *srv, struct client *cl, const struct ctsim_ctl *req,
		     size_t len)
{
	struct ctsim_ctl rep = { .magic = CTSIM_CTL_MAGIC, .op = CTSIM_CTL_REPLY, .a = req->op };
	bool filter = req->flags & CTSIM_TRACE_FILTER;

	if (cl->uid != 0)
		rep.err = EPERM;	/* the kernel wants CAP_NET_ADMIN for nft monitor */
	else if (req->flags & ~(CTSIM_TRACE_ALL | CTSIM_TRACE_JSON | CTSIM_TRACE_LOG |
				CTSIM_TRACE_FILTER) ||
		 (filter && (req->b != sizeof(cl->tf) || len < sizeof(*req) + sizeof(cl->tf))))
		rep.err = EINVAL;
	else if (!srv->router)
		rep.err = ENOTSUP;
	else {
		cl->trace = req->a ? (uint16_t)(req->flags | TRACE_ON) : 0;
		if (filter)
			memcpy(&cl->tf, req + 1, sizeof(cl->tf));
	}
	server_reply(srv, cl, &rep, sizeof(rep));
	trace_recount(srv);
}

/* CTSIM_CTL_SET / CTSIM_CTL_GET: the daemon's sysctls while it runs
 * (`ctctl set` / `ctctl get`). The core reads every setting where it uses
 * it, so a new value counts from the next packet or GC step on, as a
 * sysctl write does in the kernel; nf_conntrack_buckets only shapes the
 * table at its creation (read-only in a network namespace, too). */
static void do_settings(struct server *srv, struct client *cl, const struct ctsim_ctl *req,
			const unsigned char *payload, size_t plen)
{
	struct ctsim_ctl rep = { .magic = CTSIM_CTL_MAGIC, .op = CTSIM_CTL_REPLY, .a = req->op };
	char arg[128], msg[512] = "", *eq, *list = NULL;
	size_t len = 0;

	if (req->b > plen || req->b >= sizeof(arg)) {
		rep.err = EINVAL;
		snprintf(msg, sizeof(msg), "malformed request");
		goto out;
	}
	memcpy(arg, payload, req->b);
	arg[req->b] = '\0';
	if (req->op == CTSIM_CTL_SET) {
		if (cl->uid != 0) {
			rep.err = EPERM;
		} else if (!(eq = strchr(arg, '='))) {
			rep.err = EINVAL;
			snprintf(msg, sizeof(msg), "expected NAME=VALUE");
		} else {
			*eq = '\0';
			if (ct_settings_shapes_table(arg)) {
				rep.err = EROFS;
				snprintf(msg, sizeof(msg), "%s: read-only while ctsim runs (the table "
					 "is made once; set it at start)", arg);
			} else {
				int r = ct_settings_set(srv->settings, arg, eq + 1, msg, sizeof(msg));

				rep.err = r == -1 ? ENOENT : r < 0 ? EINVAL : 0;
				if (!r) {
					srv->events->mode = srv->settings->events;
					/* a policy acting through the GC (adaptive,
					 * emergency) starts within a second, not at
					 * a pass up to 60 s away (overflow.c) */
					if (!strncmp(arg, "ctsim_overflow_", 15))
						srv->table->gc_kick = true;
					if (srv->verbose)
						fprintf(stderr, "ctsim: client pid %ld: set %s = %s\n",
							(long)cl->pid, arg, eq + 1);
				}
			}
		}
	} else {
		FILE *f;
		size_t flen = 0;

		if (!(f = open_memstream(&list, &flen))) {
			rep.err = ENOMEM;
			goto out;
		}
		ct_settings_print(srv->settings, f);
		fclose(f);
		/* "name = value" lines without --list-settings' "\t# comment";
		 * with a NAME (with or without net.netfilter.) only its line */
		{
			const char *name = strncmp(arg, "net.netfilter.", 14) ? arg : arg + 14;
			size_t nl = strlen(name);

			for (char *line = list, *next; line && *line; line = next) {
				char *end = strchr(line, '\n'), *tab;

				next = end ? end + 1 : NULL;
				if (end)
					*end = '\0';
				if ((tab = strchr(line, '\t')))
					*tab = '\0';
				if (name[0] && (strncmp(line, name, nl) || line[nl] != ' '))
					continue;
				/* compacted in place: the kept text never overtakes the
				 * line being read */
				nl = strlen(line);
				memmove(list + len, line, nl);
				len += nl;
				list[len++] = '\n';
				nl = strlen(name);
			}
			if (name[0] && !len) {
				rep.err = ENOENT;
				snprintf(msg, sizeof(msg), "%s: no such setting", arg);
			}
		}
		(void)flen;
	}
out:
	if (rep.err) {
		free(list);
		list = NULL;
		len = strlen(msg);
	}
	reply_payload(srv, cl, &rep, list ? list : msg, len);
	free(list);
}

static void handle_ctl(struct server *srv, struct client *cl, const struct ctsim_ctl *req,
		       size_t len)
{
	struct ctsim_ctl rep = { .magic = CTSIM_CTL_MAGIC };

	switch (req->op) {
	case CTSIM_CTL_BIND:
		rep.op = CTSIM_CTL_BIND_REPLY;
		rep.err = do_bind(srv, cl, req);
		rep.a = cl->portid;
		rep.b = cl->groups;
		server_reply(srv, cl, &rep, sizeof(rep));
		break;
	case CTSIM_CTL_SETSOCKOPT:
		do_setsockopt(srv, cl, req);
		break;
	case CTSIM_CTL_ADVANCE:
		/* Time warp: move the clock, then let the GC walk the whole
		 * table at once, so that what has expired dies now, with its
		 * DESTROY event (a teaching feature; the kernel's clock only
		 * runs forward at its own pace). */
		rep.op = CTSIM_CTL_REPLY;
		rep.a = req->op;
		if (cl->uid != 0) {
			rep.err = EPERM;
		} else {
			ct_clock_advance(srv->table->clock,
					 (uint64_t)req->a * CT_NSEC_PER_SEC + req->b % CT_NSEC_PER_SEC);
			ct_table_tick(srv->table);
			ct_table_gc(srv->table, srv->table->nbuckets);
		}
		server_reply(srv, cl, &rep, sizeof(rep));
		break;
	case CTSIM_CTL_RELOAD:
		rep.op = CTSIM_CTL_REPLY;
		rep.a = req->op;
		rep.err = cl->uid != 0 ? EPERM : srv->reload ? srv->reload(srv->reload_arg) : ENOTSUP;
		server_reply(srv, cl, &rep, sizeof(rep));
		break;
	case CTSIM_CTL_HOLD:
		/* router_release(): the held packet confirms, with the clash
		 * resolution a packet of its flow confirmed meanwhile causes */
		rep.op = CTSIM_CTL_REPLY;
		rep.a = req->op;
		if (cl->uid != 0)
			rep.err = EPERM;
		else if (!srv->router)
			rep.err = ENOTSUP;
		else if (req->a && (srv->router->held || srv->router->hold_next))
			rep.err = EBUSY;
		else if (req->a)
			srv->router->hold_next = true;
		else if (srv->router->hold_next && !srv->router->held)
			srv->router->hold_next = false;		/* nothing came: cancelled */
		else if (router_release(srv->router) < 0)
			rep.err = ENOENT;
		server_reply(srv, cl, &rep, sizeof(rep));
		break;
	case CTSIM_CTL_RULESET:
		do_ruleset(srv, cl, req);
		break;
	case CTSIM_CTL_PROC:
		do_proc(srv, cl, req);
		break;
	case CTSIM_CTL_STEP:
		do_step(srv, cl, req);
		break;
	case CTSIM_CTL_EXPLAIN:
		do_explain(srv, cl, req, (const unsigned char *)(req + 1), len - sizeof(*req));
		break;
	case CTSIM_CTL_TRACE:
		do_trace(srv, cl, req, len);
		break;
	case CTSIM_CTL_SET:
	case CTSIM_CTL_GET:
		do_settings(srv, cl, req, (const unsigned char *)(req + 1), len - sizeof(*req));
		break;
	default:
		break;	/* unknown control operations are ignored */
	}
}

/* ---------------------------------------------------------------------- */
/* Requests                                                                */

static void send_ack(struct server *srv, struct client *cl, const struct nlmsghdr *nlh,
		     size_t avail, int err)
{
	unsigned char *buf;
	size_t cap;
	int n;

	/* netlink_ack(): errors echo the whole request unless capped. */
	bool capped = err == 0 || cl->cap_ack;
	struct nlmsghdr hdr;

	if (avail < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > avail) {
		/* Broken framing (ctsim only: the kernel's nfnetlink_rcv()
		 * drops these silently). Echo just the header, zero-padded
		 * when the datagram is shorter, flagged NLM_F_CAPPED: the
		 * bytes nlmsg_len claims are not there to echo, and sizing
		 * the reply from nlmsg_len made the error builder fail. */
		memset(&hdr, 0, sizeof(hdr));
		memcpy(&hdr, nlh, avail < sizeof(hdr) ? avail : sizeof(hdr));
		nlh = &hdr;
		capped = true;
	}
	cap = NLMSG_HDRLEN + 4 + (capped ? NLMSG_HDRLEN : NLMSG_ALIGN(nlh->nlmsg_len));
	buf = malloc(cap);
	if (!buf)
		return;
	n = ctnl_msg_put_error(buf, cap, nlh, err, cl->portid, capped);
	if (n > 0)
		server_reply(srv, cl, buf, (size_t)n);
	free(buf);
}

/* -v: one line per request answered with an error, naming the request as
 * the ctnetlink headers do, so that a failing client can be diagnosed from
 * the daemon's side without strace. */
static void log_request_error(const struct client *cl, const struct nlmsghdr *nlh, int err)
{
	static const char *const ct_msgs[IPCTNL_MSG_MAX] = {
		[IPCTNL_MSG_CT_NEW] = "CT_NEW", [IPCTNL_MSG_CT_GET] = "CT_GET",
		[IPCTNL_MSG_CT_DELETE] = "CT_DELETE", [IPCTNL_MSG_CT_GET_CTRZERO] = "CT_GET_CTRZERO",
		[IPCTNL_MSG_CT_GET_STATS_CPU] = "CT_GET_STATS_CPU",
		[IPCTNL_MSG_CT_GET_STATS] = "CT_GET_STATS",
		[IPCTNL_MSG_CT_GET_DYING] = "CT_GET_DYING",
		[IPCTNL_MSG_CT_GET_UNCONFIRMED] = "CT_GET_UNCONFIRMED",
	};
	static const char *const exp_msgs[IPCTNL_MSG_EXP_MAX] = {
		[IPCTNL_MSG_EXP_NEW] = "EXP_NEW", [IPCTNL_MSG_EXP_GET] = "EXP_GET",
		[IPCTNL_MSG_EXP_DELETE] = "EXP_DELETE",
		[IPCTNL_MSG_EXP_GET_STATS_CPU] = "EXP_GET_STATS_CPU",
	};
	uint16_t subsys = CTNL_SUBSYS(nlh->nlmsg_type), msg = CTNL_MSGTYPE(nlh->nlmsg_type);
	const char *name = NULL;
	const char *ename = strerrorname_np(-err);

	if (subsys == NFNL_SUBSYS_CTNETLINK && msg < IPCTNL_MSG_MAX)
		name = ct_msgs[msg];
	else if (subsys == NFNL_SUBSYS_CTNETLINK_EXP && msg < IPCTNL_MSG_EXP_MAX)
		name = exp_msgs[msg];
	if (name)
		fprintf(stderr, "ctsim: client pid %ld: %s seq %u: error %d (%s)\n", (long)cl->pid,
			name, nlh->nlmsg_seq, err, ename ? ename : "?");
	else
		fprintf(stderr, "ctsim: client pid %ld: message type 0x%04x seq %u: error %d (%s)\n",
			(long)cl->pid, nlh->nlmsg_type, nlh->nlmsg_seq, err, ename ? ename : "?");
}

/* nfnetlink_rcv_msg(): find the subsystem and message handler. */
static int dispatch(struct server *srv, struct client *cl, const struct nlmsghdr *nlh)
{
	uint16_t subsys = CTNL_SUBSYS(nlh->nlmsg_type);
	uint16_t msg = CTNL_MSGTYPE(nlh->nlmsg_type);
	ctnetlink_handler h = NULL;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nfgenmsg))
		return -EINVAL;		/* ctsim: the kernel silently ignores these */
	if (subsys == NFNL_SUBSYS_CTNETLINK && msg < IPCTNL_MSG_MAX)
		h = ctnetlink_ct_handlers[msg];
	else if (subsys == NFNL_SUBSYS_CTNETLINK_EXP && msg < IPCTNL_MSG_EXP_MAX)
		h = ctnetlink_exp_handlers[msg];
	else if (subsys == NFNL_SUBSYS_CTNETLINK_TIMEOUT && msg < CTNL_TIMEOUT_MSGS)
		h = ctnetlink_timeout_handlers[msg];
	else if (subsys == NFNL_SUBSYS_CTHELPER && msg < CTNL_HELPER_MSGS)
		h = ctnetlink_helper_handlers[msg];
	/* ctsim: nf_tables (and the batches only it uses) is not emulated;
	 * say so plainly instead of the kernel's EINVAL for a missing
	 * subsystem, so that nft under ctsim-exec fails clearly (issue 14). */
	if (subsys == NFNL_SUBSYS_NFTABLES || nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN ||
	    nlh->nlmsg_type == NFNL_MSG_BATCH_END)
		return -EOPNOTSUPP;
	/* nfnetlink_queue and nfnetlink_log, loaded on a usual kernel, answer
	 * their PACKET type (which only the kernel sends) with the kernel's
	 * internal ENOTSUPP (nfqnl_recv_unsupp(), nfulnl_recv_unsupp()). */
	if ((subsys == NFNL_SUBSYS_QUEUE || subsys == NFNL_SUBSYS_ULOG) && msg == 0)
		return -CT_ENOTSUPP;
	if (!h)
		return -EINVAL;		/* unknown subsystem or type: EINVAL, not EOPNOTSUPP */
	ct_table_tick(srv->table);
	return h(srv, cl, nlh);
}

/* netlink_rcv_skb(): every message of a datagram, in order. */
static void handle_datagram(struct server *srv, struct client *cl, const unsigned char *buf,
			    size_t len)
{
	size_t off = 0;
	const struct nlmsghdr *first = (const void *)buf;

	/* nfnetlink_rcv(): a datagram that starts with NFNL_MSG_BATCH_BEGIN
	 * is a transaction (nfnetlink_rcv_batch()), whatever its flags; no
	 * subsystem ctsim has takes one (ctnetlink has no commit, nf_tables
	 * is not emulated): one EOPNOTSUPP for the whole datagram. */
	if (len >= NLMSG_HDRLEN && first->nlmsg_len >= NLMSG_HDRLEN && first->nlmsg_len <= len &&
	    first->nlmsg_type == NFNL_MSG_BATCH_BEGIN && cl->uid == 0) {
		if (first->nlmsg_len >= NLMSG_HDRLEN + sizeof(struct nfgenmsg))
			send_ack(srv, cl, first, first->nlmsg_len, -EOPNOTSUPP);
		return;		/* too short: nfnetlink_rcv_skb_batch() ignores it */
	}

	while (off < len && !cl->dead) {
		const struct nlmsghdr *nlh = (const void *)(buf + off);
		size_t avail = len - off;
		int err;

		if (avail < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN ||
		    nlh->nlmsg_len > avail) {
			/* A broken frame. The kernel drops the rest of the
			 * datagram silently; ctsim answers EINVAL so that the
			 * sender learns why (a documented deviation). */
			srv->rx_errors++;
			if (srv->verbose)
				fprintf(stderr, "ctsim: client pid %ld: broken netlink frame: "
					"error %d (EINVAL)\n", (long)cl->pid, -EINVAL);
			send_ack(srv, cl, nlh, avail, -EINVAL);
			return;
		}
		if (cl->uid != 0) {
			err = -EPERM;	/* nfnetlink_rcv(): CAP_NET_ADMIN */
		} else if (!(nlh->nlmsg_flags & NLM_F_REQUEST) || nlh->nlmsg_type < NLMSG_MIN_TYPE) {
			err = 0;	/* not a request: only an ACK if asked */
		} else {
			err = dispatch(srv, cl, nlh);
		}
		if (err < 0 && srv->verbose)
			log_request_error(cl, nlh, err);
		if (err < 0 || (err == 0 && (nlh->nlmsg_flags & NLM_F_ACK)))
			send_ack(srv, cl, nlh, nlh->nlmsg_len, err);
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
}

/* recv() returns 0 both for an empty SOCK_SEQPACKET datagram and at the end
 * of the stream; only the latter comes with the peer's shutdown. After a
 * shutdown, an empty datagram still counts as such when more data follows
 * it (a peek finds bytes); an empty one that is the last thing the peer sent
 * is indistinguishable from the end, and is taken as the end. */
static bool peer_finished(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	char c;

	if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		return false;
	return recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) <= 0;
}

static void read_client(struct server *srv, struct client *cl)
{
	static unsigned char *buf;

	if (!buf && !(buf = malloc(RX_MAX)))
		return;
	/* Stop as soon as replies back up or a dump starts (see
	 * client_update_epoll()). */
	for (int i = 0; i < RX_BURST && !cl->dead && !cl->outq && !cl->dump; i++) {
		ssize_t n = recv(cl->fd, buf, RX_MAX, MSG_DONTWAIT | MSG_TRUNC);

		if (n == 0) {
			if (peer_finished(cl->fd)) {
				cl->dead = true;
				return;
			}
			/* An empty datagram. The kernel refuses one in
			 * netlink_sendmsg() (ENODATA, as the shim does) and
			 * the socket goes on; a raw client of ours can send
			 * it, and gets no answer and keeps its connection. */
			continue;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				cl->dead = true;
			return;
		}
		if (n > RX_MAX) {
			/* Larger than any sane request: netlink_sendmsg()
			 * would fail with EMSGSIZE; answer it as an error. */
			srv->rx_errors++;
			if (srv->verbose)
				fprintf(stderr, "ctsim: client pid %ld: %zd-byte datagram: error %d (EMSGSIZE)\n",
					(long)cl->pid, n, -EMSGSIZE);
			send_ack(srv, cl, (const void *)buf, NLMSG_HDRLEN, -EMSGSIZE);
			continue;
		}
		if (ctsim_wire_is_ctl(buf, (size_t)n))
			handle_ctl(srv, cl, (const struct ctsim_ctl *)buf, (size_t)n);
		else
			handle_datagram(srv, cl, buf, (size_t)n);
	}
}

void server_handle(struct server *srv, void *data, uint32_t events)
{
	struct client *cl = data;

	if (data == &listen_cookie) {
		accept_clients(srv);
		return;
	}
	/* A peer that hung up may still have requests queued (the shim
	 * half-closes and waits for us): read them before giving up. */
	if ((events & EPOLLERR) || ((events & EPOLLHUP) && !(events & EPOLLIN)))
		cl->dead = true;
	if (!cl->dead && (events & EPOLLOUT)) {
		flush_outq(cl);
		if (!cl->outq && cl->dump)
			run_dump(srv, cl);
		if (!cl->outq && !cl->dump && cl->overrun && !cl->no_enobufs) {
			struct ctsim_ctl m = { .magic = CTSIM_CTL_MAGIC, .op = CTSIM_CTL_ENOBUFS };

			if (try_send(cl, &m, sizeof(m)) > 0)
				cl->overrun = false;
		}
	}
	if (!cl->dead && (events & EPOLLIN))
		read_client(srv, cl);
	if (!cl->dead && cl->dump && !cl->outq)
		run_dump(srv, cl);
	if (cl->dead)
		client_free(srv, cl);
	else
		client_update_epoll(srv, cl);
}

/* ---------------------------------------------------------------------- */
/* Events                                                                  */

/* nfnetlink_send(): multicast an encoded event to its group, and with
 * NLM_F_ECHO (@report) unicast it to the originator @portid instead. */
static void deliver_event(struct server *srv, const void *buf, int n, unsigned group,
			  bool report, uint32_t portid)
{
	if (n <= 0)
		return;
	for (struct client *c = srv->clients; c; c = c->next) {
		bool member = group && (c->groups & (1u << (group - 1)));

		if ((report && c->bound && c->portid == portid) || member)
			send_event(c, buf, (size_t)n);
	}
	/* Epoll interest may have changed (queued events, overruns). */
	for (struct client *c = srv->clients; c; c = c->next)
		client_update_epoll(srv, c);
}

/* ctnetlink_conntrack_event() */
static void on_event(void *arg, const struct ct_event *ev)
{
	struct server *srv = arg;
	unsigned char buf[CTNL_GOODSIZE];
	unsigned group = 0;
	int n = ctnetlink_ct_event_msg(srv, ev, buf, sizeof(buf), &group);

	deliver_event(srv, buf, n, group, ev->report, ev->portid);
}

/* ctnetlink_expect_event() */
static void on_exp_event(void *arg, const struct ct_exp_event *ev)
{
	struct server *srv = arg;
	unsigned char buf[CTNL_GOODSIZE];
	unsigned group = 0;
	int n = ctnetlink_exp_event_msg(srv, ev, buf, sizeof(buf), &group);

	deliver_event(srv, buf, n, group, ev->report, ev->portid);
}

/* ---------------------------------------------------------------------- */
/* Setup                                                                   */

int server_open(struct server *srv, const char *path, unsigned mode, int epfd,
		struct ct_table *t, struct ct_settings *s, struct ct_events *e)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &listen_cookie };
	long n = sysconf(_SC_NPROCESSORS_CONF);
	int fd, err;

	memset(srv, 0, sizeof(*srv));
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(srv->path, path, strlen(path) + 1);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	srv->epfd = epfd;
	srv->table = t;
	srv->settings = s;
	srv->events = e;
	srv->next_negative_portid = -4097;
	srv->ncpus = s->cpus ? s->cpus : (n > 0 ? (unsigned)n : 1);

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int probe;

		if (errno != EADDRINUSE)
			goto fail;
		/* A socket file exists. If somebody answers, it is a live
		 * ctsim: refuse. Otherwise it is left over from a crash. */
		probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			struct ucred who;
			socklen_t wlen = sizeof(who);

			/* say whose: on a world-writable path it may be
			 * another user's impostor, not a ctsim */
			if (getsockopt(probe, SOL_SOCKET, SO_PEERCRED, &who, &wlen) == 0)
				fprintf(stderr, "ctsim: %s is served by process %ld (uid %ld)\n",
					path, (long)who.pid, (long)who.uid);
			close(probe);
			close(fd);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			goto fail;
	}
	/* The kernel requires CAP_NET_ADMIN: by default only root may talk. */
	if (chmod(path, mode) < 0 || listen(fd, 128) < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = -errno;
		close(fd);
		unlink(path);
		return err;
	}
	srv->listen_fd = fd;
	warn_world_writable(path);
	srv->timeouts = calloc(1, sizeof(*srv->timeouts));
	if (!srv->timeouts)
		return -ENOMEM;
	if ((err = ct_events_subscribe_exp(e, on_exp_event, srv)))
		return err;
	return ct_events_subscribe(e, on_event, srv);
fail:
	err = -errno;
	close(fd);
	return err;
}

void server_close(struct server *srv)
{
	while (srv->clients)
		client_free(srv, srv->clients);
	if (srv->listen_fd > 0) {
		epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->listen_fd, NULL);
		close(srv->listen_fd);
		unlink(srv->path);
	}
	srv->listen_fd = -1;
	if (srv->timeouts) {
		ct_timeout_free_all(srv->timeouts);
		free(srv->timeouts);
		srv->timeouts = NULL;
	}
}
