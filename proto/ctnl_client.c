/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctnl_client.c — a small ctnetlink client speaking to ctsim over its Unix
 * SOCK_SEQPACKET socket (see ctnl_client.h and ctsim_wire.h).
 *
 * One datagram on the socket is one netlink datagram (possibly several
 * nlmsghdr-framed messages) or one control message. The answer rules are
 * the kernel's: errors always come back, ACKs only with NLM_F_ACK, a dump
 * ends with NLMSG_DONE in its own datagram, a GET answers the object and
 * then (with NLM_F_ACK) the ACK in a second datagram.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "proto/ctnl_client.h"
#include "proto/ctsim_wire.h"

/* Receive buffer: far above CTNL_GOODSIZE, so that no datagram the daemon
 * sends can be truncated (control replies with a payload included). */
#define CLIENT_RCVBUF	(64 * 1024)
_Static_assert(CLIENT_RCVBUF >= CTSIM_CTL_DGRAM_MAX, "a control reply would not fit");

struct ctnl_client {
	int fd;
	uint32_t portid;	/* assigned by the daemon in BIND_REPLY */
	uint32_t seq;		/* last sequence number handed out */
	uint8_t buf[CLIENT_RCVBUF];
};

/* Receive one datagram into c->buf. Returns its length, 0 when the daemon
 * closed the connection, or a negative errno. */
static ssize_t client_recv(struct ctnl_client *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			return -EINTR;
		if (n < 0)
			return -errno;
		if ((size_t)n > sizeof(c->buf))
			return -EMSGSIZE;	/* cannot happen with ctsim */
		return n;
	}
}

/* Send a control message (struct ctsim_ctl) to the daemon. */
static int client_send_ctl(struct ctnl_client *c, uint16_t op, uint16_t flags,
			   uint32_t a, uint32_t b)
{
	struct ctsim_ctl m = {
		.magic = CTSIM_CTL_MAGIC, .op = op, .flags = flags,
		.a = a, .b = b, .pid = (uint32_t)getpid(),
	};

	if (send(c->fd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		return -errno ? -errno : -EIO;
	return 0;
}

struct ctnl_client *ctnl_client_open(const char *path, uint32_t groups)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctnl_client *c;
	int err;

	if (!path)
		path = getenv(CTSIM_SOCKET_ENV);
	if (!path || !*path)
		path = CTSIM_DEFAULT_SOCKET;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(sun.sun_path, path);

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->seq = (uint32_t)time(NULL);
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		goto fail;
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		goto fail;
	{
		/* only a daemon run by root or by us (proto/ctsim_wire.h) */
		struct ucred cred;
		socklen_t clen = sizeof(cred);

		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
			goto fail;
		if (!ctsim_wire_peer_trusted(cred.uid)) {
			errno = EACCES;
			goto fail;
		}
	}

	/* The first thing on the connection: bind, as a netlink socket would. */
	err = client_send_ctl(c, CTSIM_CTL_BIND, CTSIM_BIND_AUTO,
			      (uint32_t)getpid(), groups);
	if (err < 0) {
		errno = -err;
		goto fail;
	}
	for (;;) {
		ssize_t n = client_recv(c);
		const struct ctsim_ctl *r = (const void *)c->buf;

		if (n == -EINTR)
			continue;
		if (n <= 0) {
			errno = n ? (int)-n : ECONNRESET;
			goto fail;
		}
		if (!ctsim_wire_is_ctl(c->buf, (size_t)n) ||
		    r->op != CTSIM_CTL_BIND_REPLY)
			continue;	/* nothing else is expected before it */
		if (r->err) {
			errno = r->err;
			goto fail;
		}
		c->portid = r->a;
		return c;
	}
fail:
	err = errno;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	errno = err;
	return NULL;
}

/* Wait for the CTSIM_CTL_REPLY to @op in c->buf (*@reply points at it):
 * events and stale answers that come first are skipped. Returns 0, -EIO for
 * a payload longer than the datagram, -ECONNRESET when the daemon closed,
 * or another negative errno of the receive. */
static int await_reply(struct ctnl_client *c, uint16_t op, const struct ctsim_ctl **reply)
{
	for (;;) {
		ssize_t n = client_recv(c);
		const struct ctsim_ctl *r = (const void *)c->buf;

		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n ? (int)n : -ECONNRESET;
		if (!ctsim_wire_is_ctl(c->buf, (size_t)n) || r->op != CTSIM_CTL_REPLY || r->a != op)
			continue;
		if (r->b > (size_t)n - sizeof(*r))
			return -EIO;
		*reply = r;
		return 0;
	}
}

int ctnl_client_control_data(struct ctnl_client *c, uint16_t op, uint16_t flags,
			     uint32_t a, uint32_t b, const void **data)
{
	const struct ctsim_ctl *r;
	int err = client_send_ctl(c, op, flags, a, b);

	if (err < 0 || (err = await_reply(c, op, &r)) < 0)
		return err;
	if (r->err)
		return -r->err;
	if (data)
		*data = c->buf + sizeof(*r);
	return (int)r->b;
}

int ctnl_client_control_payload(struct ctnl_client *c, uint16_t op, uint16_t flags,
				const void *payload, size_t len, const void **data, size_t *dlen)
{
	unsigned char dg[sizeof(struct ctsim_ctl) + 1024];
	struct ctsim_ctl m = {
		.magic = CTSIM_CTL_MAGIC, .op = op, .flags = flags, .a = 1, .b = (uint32_t)len,
		.pid = (uint32_t)getpid(),
	};
	const struct ctsim_ctl *r;
	int err;

	*data = NULL;
	*dlen = 0;
	if (len > sizeof(dg) - sizeof(m))
		return -EMSGSIZE;
	memcpy(dg, &m, sizeof(m));
	memcpy(dg + sizeof(m), payload, len);
	if (send(c->fd, dg, sizeof(m) + len, MSG_NOSIGNAL) != (ssize_t)(sizeof(m) + len))
		return errno ? -errno : -EIO;
	if ((err = await_reply(c, op, &r)) < 0)
		return err;
	*data = c->buf + sizeof(*r);
	*dlen = r->b;
	return -r->err;
}

int ctnl_client_recv_line(struct ctnl_client *c, int timeout_ms, const char **line,
			  uint16_t *flags)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	const struct ctsim_ctl *ctl = (const void *)c->buf;
	ssize_t n;
	int r;

	r = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -EAGAIN;
	n = client_recv(c);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ECONNRESET;
	if (!ctsim_wire_is_ctl(c->buf, (size_t)n))
		return -EAGAIN;
	if (ctl->op == CTSIM_CTL_ENOBUFS)
		return -ENOBUFS;
	if (ctl->op != CTSIM_CTL_TRACE_LINE || ctl->b > (size_t)n - sizeof(*ctl))
		return -EAGAIN;
	*line = (const char *)c->buf + sizeof(*ctl);
	if (flags)
		*flags = ctl->flags;
	return (int)ctl->b;
}

int ctnl_client_setsockopt(struct ctnl_client *c, uint32_t opt, uint32_t val)
{
	struct ctsim_ctl req = { .magic = CTSIM_CTL_MAGIC, .op = CTSIM_CTL_SETSOCKOPT,
				 .a = opt, .b = val };

	return send(c->fd, &req, sizeof(req), 0) == (ssize_t)sizeof(req) ? 0 : -errno;
}

int ctnl_client_control(struct ctnl_client *c, uint16_t op, uint32_t a, uint32_t b)
{
	int r = ctnl_client_control_data(c, op, 0, a, b, NULL);

	return r < 0 ? r : 0;
}

void ctnl_client_close(struct ctnl_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}

int ctnl_client_fd(const struct ctnl_client *c)
{
	return c->fd;
}

uint32_t ctnl_client_portid(const struct ctnl_client *c)
{
	return c->portid;
}

uint32_t ctnl_client_seq(struct ctnl_client *c)
{
	if (++c->seq == 0)	/* seq 0 is what events carry */
		++c->seq;
	return c->seq;
}

/* What one message of an answer means for the conversation. */
enum msg_verdict { ANSWER_GOES_ON, ANSWER_ENDS };

/*
 * Handle one message of an answer to request @seq: NLMSG_DONE and an
 * NLMSG_ERROR end it (*err gets the error, 0 for an ACK); anything else
 * goes to the callback unless an earlier callback already stopped (*cbret).
 */
static enum msg_verdict client_msg(const struct nlmsghdr *nlh, uint32_t seq,
				   ctnl_client_cb cb, void *data, int *cbret,
				   int *err)
{
	if (nlh->nlmsg_seq != seq)
		return ANSWER_GOES_ON;	/* an event or a stale answer */
	switch (nlh->nlmsg_type) {
	case NLMSG_NOOP:
		return ANSWER_GOES_ON;
	case NLMSG_DONE:
		*err = 0;
		return ANSWER_ENDS;
	case NLMSG_ERROR: {
		const struct nlmsgerr *e = NLMSG_DATA(nlh);

		if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(e->error)))
			*err = -EIO;
		else
			*err = e->error;
		/* The callback sees a failure too (its return value cannot
		 * override the error, which is what the caller gets). */
		if (*err && cb && !*cbret)
			(void)cb(nlh, data);
		return ANSWER_ENDS;
	}
	default:
		if (cb && !*cbret)
			*cbret = cb(nlh, data);
		return ANSWER_GOES_ON;
	}
}

int ctnl_client_request(struct ctnl_client *c, const struct nlmsghdr *nlh,
			ctnl_client_cb cb, void *data)
{
	bool one_datagram = !(nlh->nlmsg_flags & (NLM_F_ACK | NLM_F_DUMP));
	int cbret = 0, err = 0;

	if (send(c->fd, nlh, nlh->nlmsg_len, MSG_NOSIGNAL) != (ssize_t)nlh->nlmsg_len)
		return errno ? -errno : -EIO;

	for (;;) {
		bool ended = false, ours = false;
		ssize_t n = client_recv(c);
		size_t len;
		const struct nlmsghdr *m;

		if (n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -ECONNRESET;
		if (ctsim_wire_is_ctl(c->buf, (size_t)n))
			continue;	/* ENOBUFS on a request socket: ignore */

		len = (size_t)n;
		for (m = (const void *)c->buf; NLMSG_OK(m, len); m = NLMSG_NEXT(m, len)) {
			if (m->nlmsg_seq == nlh->nlmsg_seq)
				ours = true;
			if (client_msg(m, nlh->nlmsg_seq, cb, data, &cbret, &err) == ANSWER_ENDS) {
				ended = true;
				break;
			}
		}
		if (ended || (one_datagram && ours))
			break;
	}
	if (err)
		return err;
	return cbret;
}

int ctnl_client_recv_events(struct ctnl_client *c, int timeout_ms,
			    ctnl_client_cb cb, void *data)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	const struct nlmsghdr *m;
	int count = 0, r;
	ssize_t n;
	size_t len;

	r = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	n = client_recv(c);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ECONNRESET;
	if (ctsim_wire_is_ctl(c->buf, (size_t)n)) {
		const struct ctsim_ctl *ctl = (const void *)c->buf;
		return ctl->op == CTSIM_CTL_ENOBUFS ? -ENOBUFS : 0;
	}
	len = (size_t)n;
	for (m = (const void *)c->buf; NLMSG_OK(m, len); m = NLMSG_NEXT(m, len)) {
		if (m->nlmsg_type == NLMSG_NOOP || m->nlmsg_type == NLMSG_DONE)
			continue;
		count++;
		if (cb && (r = cb(m, data)) != 0)
			return r < 0 ? r : count;
	}
	return count;
}
