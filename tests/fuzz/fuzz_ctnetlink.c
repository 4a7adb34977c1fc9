/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_ctnetlink.c — request datagrams through the ctnetlink server, the
 * way the daemon receives them: server_open() on a private socket,
 * a client connected to it, every epoll event handed to server_handle().
 * That is the public entry point, so the whole path is exercised: framing
 * (handle_datagram()), control messages (bind, setsockopt, time warp,
 * reload, ruleset listing), dispatch, the CT_* and EXP_* handlers, ACKs
 * and errors, dumps produced as the client reads, and event delivery to a
 * second client bound to every conntrack group.
 *
 * The table is rebuilt for every input (so that a crash reproduces from
 * its input alone) with a few entries made by real packets: an FTP control
 * connection whose PORT command left an expectation, a TFTP read request
 * (another expectation), a plain TCP connection over IPv6.
 *
 * Input: datagrams, each [len:2, big-endian][len bytes] (a short last one
 * takes what is left), sent in order on the client's socket.
 *
 * The server checks CAP_NET_ADMIN by the peer's uid: run as root, or every
 * request is answered EPERM (which is still a valid, if short, test).
 */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "proto/ctsim_wire.h"
#include "ctsim/nfnetlink/server.h"
#include "tests/fuzz/fuzz_common.h"

#define FZ_MAX_DGRAMS	16
#define FZ_PUMP_MAX	4096	/* epoll rounds per datagram; a dump is ~ 1 per 64 messages */

static char sock_dir[64], sock_path[108];
static int epfd = -1;

static void cleanup(void)
{
	unlink(sock_path);
	rmdir(sock_dir);
}

static void once(void)
{
	if (epfd >= 0)
		return;
	snprintf(sock_dir, sizeof(sock_dir), "/tmp/ctsim-fuzz-XXXXXX");
	if (!mkdtemp(sock_dir))
		abort();
	snprintf(sock_path, sizeof(sock_path), "%s/ct.sock", sock_dir);
	atexit(cleanup);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		abort();
}

static int connect_client(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		abort();
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		abort();
	return fd;
}

/* Read and discard whatever @fd has been sent. */
static void drain(int fd)
{
	static uint8_t buf[CTSIM_CTL_DGRAM_MAX];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

/* Run the daemon's event loop until it has nothing left to do, reading
 * every reply so that dumps run to their end. */
static void pump(struct server *srv, int c1, int c2)
{
	for (int i = 0; i < FZ_PUMP_MAX; i++) {
		struct epoll_event ev[8];
		int n = epoll_wait(epfd, ev, 8, 0);

		if (c1 >= 0)
			drain(c1);
		if (c2 >= 0)
			drain(c2);
		if (n <= 0)
			return;
		/* One event per round: server_handle() may free a client
		 * that a later entry of the same batch points to. */
		server_handle(srv, ev[0].data.ptr, ev[0].events);
	}
}

/* The server's data plane hooks, as dataplane.c answers them (which needs
 * the lab's TUN devices, so it is not linked here): the fuzz ruleset. */
static int fz_reload(void *arg)
{
	(void)arg;
	return 0;
}

static int fz_ruleset_listing(void *arg, unsigned flags, char *buf, size_t cap, size_t *len)
{
	int err = ruleset_print_buf(fz_ruleset(), flags & CTSIM_RULESET_JSON, buf, cap, len);

	(void)arg;
	if (err)
		return err;
	if (flags & CTSIM_RULESET_RESET)
		ruleset_reset_counters(fz_ruleset());
	return 0;
}

/* Entries and expectations made the way the data plane makes them. */
static void seed_table(struct fz_core *f)
{
	static const char port[] = "PORT 10,66,1,2,4,1\r\n";
	static const char rrq[] = "\x00\x01" "file\0octet";

	fz_send(f, 0, false, true, (const uint8_t *)"220 ok\r\n", 8);
	fz_send(f, 0, false, false, (const uint8_t *)port, sizeof(port) - 1);
	fz_send(f, 1, false, false, (const uint8_t *)rrq, sizeof(rrq));
	fz_send(f, 10, true, false, (const uint8_t *)"GET /\r\n", 7);
	fz_send(f, 10, true, true, (const uint8_t *)"200\r\n", 5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_core f;
	struct server srv;
	struct ctsim_ctl bind = { .magic = CTSIM_CTL_MAGIC, .op = CTSIM_CTL_BIND,
				  .b = 0x3f };	/* NFNLGRP_CONNTRACK_* and _EXP_* */
	size_t off = 0;
	int c1, c2;

	once();
	fz_core_init(&f, true);
	if (server_open(&srv, sock_path, 0600, epfd, &f.h.table, &f.h.settings, &f.h.events) < 0)
		abort();
	srv.reload = fz_reload;
	srv.ruleset = fz_ruleset_listing;
	seed_table(&f);
	c1 = connect_client();
	c2 = connect_client();
	pump(&srv, c1, c2);
	if (send(c2, &bind, sizeof(bind), 0) < 0)
		abort();
	pump(&srv, c1, c2);

	for (unsigned k = 0; k < FZ_MAX_DGRAMS && off < size; k++) {
		size_t len = size - off;

		if (len >= 2) {
			len = (size_t)data[off] << 8 | data[off + 1];
			off += 2;
			if (len > size - off)
				len = size - off;
		}
		/* An empty SOCK_SEQPACKET datagram reads as the peer's EOF. */
		if (len && send(c1, data + off, len, 0) < 0 && errno != EMSGSIZE && errno != EAGAIN)
			abort();
		off += len;
		pump(&srv, c1, c2);
	}
	close(c1);
	close(c2);
	pump(&srv, -1, -1);
	server_close(&srv);
	fz_core_fini(&f);
	return 0;
}
