/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shim.c — the LD_PRELOAD shim: NETLINK_NETFILTER sockets that talk to ctsim.
 *
 * Loaded into an unmodified client (conntrack, conntrackd, libnl's nf-* tools,
 * pyroute2 …) by ctsim-exec. It replaces
 *
 *     socket(AF_NETLINK, SOCK_RAW or SOCK_DGRAM, NETLINK_NETFILTER)
 *
 * by an AF_UNIX SOCK_SEQPACKET socket connected to the ctsim daemon, so the
 * program's requests go to ctsim instead of the kernel. Every other socket
 * (and every other fd) is left alone.
 *
 * Why a real, connected unix socket: poll/select/epoll/fork/fcntl/SO_RCVBUF/
 * SO_ATTACH_FILTER then work natively on the returned fd, and one unix
 * datagram carries exactly one netlink datagram in each direction
 * (ctnetlink-compat.md §13). What the unix socket cannot do by itself — the
 * netlink addresses, bind/port ids, multicast groups and the SOL_NETLINK
 * options — is faked here, with the help of the daemon through the control
 * messages of ctsim_wire.h (bind, setsockopt, ENOBUFS).
 *
 * The behaviour emulated is that of net/netlink/af_netlink.c (Linux 6.18):
 * netlink_bind(), netlink_autobind(), netlink_connect(), netlink_getname(),
 * netlink_sendmsg(), netlink_recvmsg(), netlink_setsockopt() and
 * netlink_getsockopt(); the function comments below say which one.
 *
 * If ctsim cannot be reached, socket() fails with the connect() error
 * (ENOENT, ECONNREFUSED, EACCES …) after one line on stderr. The shim NEVER
 * falls back to a real netlink socket: a client must not silently read or
 * change the host's table. (conntrack 1.4.7 then prints "Can't open handler"
 * and crashes in its own exit path, free_tmpl_objects() on templates not yet
 * allocated: it does the same when the kernel's socket() fails. Failing later
 * instead would make `conntrack -C`/`-S` fall back to the host's /proc
 * counters. ctsim-exec checks for the socket file first to spare users that.)
 *
 * Bookkeeping: a table indexed by fd holds a pointer to the emulated socket's
 * state; dup()ed fds share the state (reference count). One mutex protects the
 * table and all states; it is never held while blocking on client data
 * (only, briefly, during a bind round trip with the daemon).
 *
 * Known limits (documented, not needed by any client in §12.3):
 *   - netlink datagrams that arrive while bind() waits for the daemon's
 *     answer are kept in a private queue ("stash") and returned by the next
 *     receive; poll() does not see them (only a re-bind with groups already
 *     subscribed can produce this);
 *   - NETLINK_LISTEN_ALL_NSID produces no cmsg; sendmmsg/recvmmsg are not
 *     intercepted; closes by raw system calls are not seen.
 */

/*
 * The interposed functions must be plain out-of-line definitions under their
 * own names: no fortify inline wrappers, and no _FILE_OFFSET_BITS=64 asm
 * redirection of fcntl to fcntl64 (we define both symbols ourselves).
 */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/sockios.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "ctsim_wire.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/*
 * glibc declares the address arguments of bind/connect/… as transparent
 * unions when _GNU_SOURCE is defined (sys/socket.h); our definitions must use
 * the very same types. SA() gives the plain pointer in both cases.
 */
#ifdef __SOCKADDR_ALLTYPES
#define SA(arg)		((arg).__sockaddr__)
#else
#define SA(arg)		(arg)
#endif

#define NL_ADDRLEN	((socklen_t)sizeof(struct sockaddr_nl))	/* 12 */
#define SOCK_TYPE_MASK	0xf		/* include/linux/net.h */
#define NFNL_NGROUPS	9		/* NFNLGRP_MAX: nfnetlink's ngroups */
#define BIND_TIMEOUT_MS	10000		/* how long bind() waits for ctsim */

/* ------------------------------------------------------------------------ */
/* The real functions (next in the lookup order, usually libc)              */
/* ------------------------------------------------------------------------ */

typedef int (*socket_fn)(int, int, int);
typedef int (*bind_fn)(int, __CONST_SOCKADDR_ARG, socklen_t);
typedef int (*connect_fn)(int, __CONST_SOCKADDR_ARG, socklen_t);
typedef int (*getname_fn)(int, __SOCKADDR_ARG, socklen_t *);
typedef int (*setsockopt_fn)(int, int, int, const void *, socklen_t);
typedef int (*getsockopt_fn)(int, int, int, void *, socklen_t *);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*iov_fn)(int, const struct iovec *, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, __CONST_SOCKADDR_ARG, socklen_t);
typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, __SOCKADDR_ARG, socklen_t *);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef int (*close_fn)(int);
typedef int (*dup_fn)(int);
typedef int (*dup2_fn)(int, int);
typedef int (*dup3_fn)(int, int, int);
typedef int (*fcntl_fn)(int, int, ...);
typedef int (*close_range_fn)(unsigned int, unsigned int, int);
typedef void (*closefrom_fn)(int);
typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);
typedef FILE *(*fopen_fn)(const char *, const char *);

static struct {
	socket_fn socket;
	bind_fn bind;
	connect_fn connect;
	getname_fn getsockname, getpeername;
	setsockopt_fn setsockopt;
	getsockopt_fn getsockopt;
	sendmsg_fn sendmsg;
	recvmsg_fn recvmsg;
	sendto_fn sendto;
	send_fn send;
	recvfrom_fn recvfrom;
	recv_fn recv;
	read_fn read;
	write_fn write;
	iov_fn readv, writev;
	close_fn close;
	dup_fn dup;
	dup2_fn dup2;
	dup3_fn dup3;
	fcntl_fn fcntl, fcntl64;
	close_range_fn close_range;
	closefrom_fn closefrom;
	open_fn open, open64;
	openat_fn openat, openat64;
	open2_fn open_2, open64_2;
	openat2_fn openat_2, openat64_2;
	fopen_fn fopen, fopen64;
} real;

static pthread_once_t real_once = PTHREAD_ONCE_INIT;

/*
 * fork() from one thread while another holds the lock would leave the child
 * with a lock nobody releases: hold it across fork (pthread_atfork()).
 */
static void atfork_prepare(void);
static void atfork_release(void);

/* Look up every real function once (dlsym(RTLD_NEXT) skips this library). */
static void resolve_real(void)
{
#define RESOLVE(field, name, type) real.field = (type)dlsym(RTLD_NEXT, name)
	RESOLVE(socket, "socket", socket_fn);
	RESOLVE(bind, "bind", bind_fn);
	RESOLVE(connect, "connect", connect_fn);
	RESOLVE(getsockname, "getsockname", getname_fn);
	RESOLVE(getpeername, "getpeername", getname_fn);
	RESOLVE(setsockopt, "setsockopt", setsockopt_fn);
	RESOLVE(getsockopt, "getsockopt", getsockopt_fn);
	RESOLVE(sendmsg, "sendmsg", sendmsg_fn);
	RESOLVE(recvmsg, "recvmsg", recvmsg_fn);
	RESOLVE(sendto, "sendto", sendto_fn);
	RESOLVE(send, "send", send_fn);
	RESOLVE(recvfrom, "recvfrom", recvfrom_fn);
	RESOLVE(recv, "recv", recv_fn);
	RESOLVE(read, "read", read_fn);
	RESOLVE(write, "write", write_fn);
	RESOLVE(readv, "readv", iov_fn);
	RESOLVE(writev, "writev", iov_fn);
	RESOLVE(close, "close", close_fn);
	RESOLVE(dup, "dup", dup_fn);
	RESOLVE(dup2, "dup2", dup2_fn);
	RESOLVE(dup3, "dup3", dup3_fn);
	RESOLVE(fcntl, "fcntl", fcntl_fn);
	RESOLVE(fcntl64, "fcntl64", fcntl_fn);
	RESOLVE(close_range, "close_range", close_range_fn);
	RESOLVE(closefrom, "closefrom", closefrom_fn);
	RESOLVE(open, "open", open_fn);
	RESOLVE(open64, "open64", open_fn);
	RESOLVE(openat, "openat", openat_fn);
	RESOLVE(openat64, "openat64", openat_fn);
	RESOLVE(open_2, "__open_2", open2_fn);
	RESOLVE(open64_2, "__open64_2", open2_fn);
	RESOLVE(openat_2, "__openat_2", openat2_fn);
	RESOLVE(openat64_2, "__openat64_2", openat2_fn);
	RESOLVE(fopen, "fopen", fopen_fn);
	RESOLVE(fopen64, "fopen64", fopen_fn);
#undef RESOLVE
	if (!real.fcntl64)
		real.fcntl64 = real.fcntl;
	pthread_atfork(atfork_prepare, atfork_release, atfork_release);
}

/* Make sure real.* is filled in; cheap after the first call. */
static void init(void)
{
	pthread_once(&real_once, resolve_real);
}

/* ------------------------------------------------------------------------ */
/* Emulated socket state and the fd table                                   */
/* ------------------------------------------------------------------------ */

/* A netlink datagram read while bind() waited for the daemon. */
struct stashed {
	struct stashed *next;
	size_t len;
	unsigned char data[];
};

/* What the kernel keeps in struct netlink_sock, as far as clients can see. */
struct nlsock {
	unsigned int refs;	/* fds referring to it (dup) */
	int type;		/* SOCK_RAW or SOCK_DGRAM, as asked for */
	bool bound;		/* netlink_sock.bound */
	uint32_t portid;	/* valid when bound */
	uint32_t groups;	/* groups 1..32 as a bitmask (nlk->groups[0]) */
	uint32_t dst_portid;	/* connect() */
	uint32_t dst_groups;	/* connect(), as a bitmask of one group */
	uint32_t opts;		/* SOL_NETLINK flag options: bit (1 << option) */
	pid_t owner;		/* process that created it (see sync_close()) */
	struct stashed *stash, **stash_tail;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* The /proc view's writers of a setting (see sysctl_write()). */
static int sysctl_w_find(int fd, char *name);
static ssize_t sysctl_write(const char *name, const void *buf, size_t len);
static struct nlsock **fdtab;	/* fdtab[fd]: state, or NULL: not ours */
static size_t fdtab_len;
static atomic_int nl_fds;	/* entries in fdtab: 0 = fast path everywhere */

static void atfork_prepare(void)
{
	pthread_mutex_lock(&lock);
}

static void atfork_release(void)
{
	pthread_mutex_unlock(&lock);
}

/* The state of @fd, or NULL. Caller holds the lock. */
static struct nlsock *lookup(int fd)
{
	if (fd < 0 || (size_t)fd >= fdtab_len)
		return NULL;
	return fdtab[fd];
}

/* Is @fd possibly ours? A lock-free pre-check for read()/write()/close(). */
static bool maybe_ours(int fd)
{
	return fd >= 0 && atomic_load_explicit(&nl_fds, memory_order_relaxed) > 0;
}

/* Drop one reference; free the state with the last one. Caller holds the lock. */
static void nlsock_put(struct nlsock *s)
{
	if (--s->refs > 0)
		return;
	while (s->stash) {
		struct stashed *n = s->stash->next;
		free(s->stash);
		s->stash = n;
	}
	free(s);
}

/* Forget @fd (it was closed or is about to be replaced). Caller holds the lock. */
static void fd_detach(int fd)
{
	struct nlsock *s = lookup(fd);

	if (!s)
		return;
	fdtab[fd] = NULL;
	atomic_fetch_sub(&nl_fds, 1);
	nlsock_put(s);
}

/*
 * Make @fd refer to @s (taking a reference). Returns 0, or -1 with ENOMEM.
 * Caller holds the lock.
 */
static int fd_attach(int fd, struct nlsock *s)
{
	if ((size_t)fd >= fdtab_len) {
		size_t n = fdtab_len ? fdtab_len : 64;
		struct nlsock **t;

		while (n <= (size_t)fd)
			n *= 2;
		t = realloc(fdtab, n * sizeof(*t));
		if (!t) {
			errno = ENOMEM;
			return -1;
		}
		memset(t + fdtab_len, 0, (n - fdtab_len) * sizeof(*t));
		fdtab = t;
		fdtab_len = n;
	}
	fd_detach(fd);
	fdtab[fd] = s;
	s->refs++;
	atomic_fetch_add(&nl_fds, 1);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

/* The daemon's socket path: $CTSIM_SOCKET or the default. */
static const char *socket_path(void)
{
	const char *p = getenv(CTSIM_SOCKET_ENV);

	return p && *p ? p : CTSIM_DEFAULT_SOCKET;
}

/*
 * Print one line "ctsim-shim: …" on stderr, at most once per process and
 * @once flag, so that a client retrying in a loop does not flood the terminal.
 * errno is preserved.
 */
static void say_once(atomic_bool *once, const char *fmt, ...)
{
	char buf[512];
	int saved = errno, n;
	va_list ap;

	if (atomic_exchange(once, true))
		return;
	memcpy(buf, "ctsim-shim: ", 12);
	va_start(ap, fmt);
	n = vsnprintf(buf + 12, sizeof(buf) - 13, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	n += 12;
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	buf[n++] = '\n';
	if (real.write(STDERR_FILENO, buf, n) < 0) {
		/* nothing sensible left to do */
	}
	errno = saved;
}

static atomic_bool said_unreachable, said_lost, said_timeout;

/* Report that the daemon went away (EOF or EPIPE); sets errno ECONNRESET. */
static void lost_daemon(void)
{
	errno = ECONNRESET;
	say_once(&said_lost, "lost the connection to ctsim at %s", socket_path());
}

/* Total length of an iovec array. */
static size_t iov_total(const struct iovec *iov, size_t n)
{
	size_t t = 0;

	for (size_t i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Copy up to @len bytes from the start of @iov into @dst; returns the count. */
static size_t iov_gather(void *dst, size_t len, const struct iovec *iov, size_t n)
{
	size_t done = 0;

	for (size_t i = 0; i < n && done < len; i++) {
		size_t c = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		memcpy((char *)dst + done, iov[i].iov_base, c);
		done += c;
	}
	return done;
}

/* Copy up to @len bytes of @src into @iov; returns the count. */
static size_t iov_scatter(const struct iovec *iov, size_t n, const void *src, size_t len)
{
	size_t done = 0;

	for (size_t i = 0; i < n && done < len; i++) {
		size_t c = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		memcpy(iov[i].iov_base, (const char *)src + done, c);
		done += c;
	}
	return done;
}

/* Milliseconds on the monotonic clock. */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait until @fd has @events, also on a non-blocking fd. @timeout_ms < 0:
 * forever. Returns 1 (ready), 0 (timeout) or -1 (errno).
 */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r;
}

/* netlink_group_mask(): the legacy bitmask of one group (0: none). */
static uint32_t group_mask(int group)
{
	return group > 0 && group <= 32 ? 1u << (group - 1) : 0;
}

/* ------------------------------------------------------------------------ */
/* Control messages (ctsim_wire.h)                                          */
/* ------------------------------------------------------------------------ */

/*
 * Send one control message on @fd, waiting for room even when the fd is
 * non-blocking. Returns 0 or -1 with errno.
 */
static int ctl_send(int fd, uint16_t op, uint16_t flags, uint32_t a, uint32_t b)
{
	struct ctsim_ctl c = {
		.magic = CTSIM_CTL_MAGIC, .op = op, .flags = flags,
		.a = a, .b = b, .pid = (uint32_t)getpid(),
	};

	for (;;) {
		ssize_t n = real.send(fd, &c, sizeof(c), MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n == (ssize_t)sizeof(c))
			return 0;
		if (n >= 0) {		/* impossible on SEQPACKET */
			errno = EIO;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_fd(fd, POLLOUT, -1) < 0)
				return -1;
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
			lost_daemon();
		return -1;
	}
}

/* Append a netlink datagram of @len bytes (read from @fd) to s->stash. */
static int stash_datagram(int fd, struct nlsock *s, size_t len)
{
	struct stashed *d = malloc(sizeof(*d) + (len ? len : 1));
	ssize_t n;

	if (!d) {
		errno = ENOMEM;
		return -1;
	}
	n = real.recv(fd, d->data, len, MSG_DONTWAIT);
	if (n < 0) {
		free(d);
		return -1;
	}
	d->len = (size_t)n;
	d->next = NULL;
	if (!s->stash)
		s->stash_tail = &s->stash;
	*s->stash_tail = d;
	s->stash_tail = &d->next;
	return 0;
}

/*
 * Bind @s (fd @fd) through the daemon: netlink_bind()/netlink_autobind().
 *
 * @pid 0 asks for autobind: the kernel tries the thread group id first and
 * picks a unique negative port id when it is taken; the daemon does the
 * picking, we offer getpid(). A non-zero @pid is used as is (the daemon may
 * answer EADDRINUSE). An already bound socket keeps its port id: re-binding
 * (libnfnetlink does it) only replaces the groups.
 *
 * Caller holds the lock. Returns 0 or -1 with errno.
 */
static int do_bind(int fd, struct nlsock *s, uint32_t pid, uint32_t groups)
{
	uint16_t flags = 0;
	uint32_t a = pid;
	long long deadline;

	if (s->bound) {
		if (pid != s->portid) {		/* netlink_bind(): -EINVAL */
			errno = EINVAL;
			return -1;
		}
	} else if (pid == 0) {
		flags = CTSIM_BIND_AUTO;
		a = (uint32_t)getpid();
	}
	if (ctl_send(fd, CTSIM_CTL_BIND, flags, a, groups) < 0)
		return -1;

	deadline = now_ms() + BIND_TIMEOUT_MS;
	for (;;) {
		struct ctsim_ctl c;
		long long left = deadline - now_ms();
		ssize_t n;
		int r;

		if (left <= 0) {
			errno = ETIMEDOUT;
			say_once(&said_timeout, "ctsim at %s did not answer a bind "
				 "within %d s", socket_path(), BIND_TIMEOUT_MS / 1000);
			return -1;
		}
		r = wait_fd(fd, POLLIN, (int)left);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		n = real.recv(fd, &c, sizeof(c), MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			lost_daemon();
			return -1;
		}
		if (!ctsim_wire_is_ctl(&c, (size_t)n)) {
			/* A reply or event queued before the bind answer: keep it. */
			if (stash_datagram(fd, s, (size_t)n) < 0)
				return -1;
			continue;
		}
		if (real.recv(fd, &c, sizeof(c), MSG_DONTWAIT) < 0)
			return -1;
		if (c.op != CTSIM_CTL_BIND_REPLY)
			continue;	/* e.g. a stale ENOBUFS: nothing to report yet */
		if (c.err) {
			errno = c.err > 0 ? c.err : -c.err;
			return -1;
		}
		s->bound = true;
		s->portid = c.a;
		s->groups = groups;
		return 0;
	}
}

/* ------------------------------------------------------------------------ */
/* socket, close, dup                                                       */
/* ------------------------------------------------------------------------ */

/* Is the daemon behind @fd run by root or by us (ctsim_wire_peer_trusted())?
 * Says once on stderr why not. */
static bool peer_trusted(int fd, const char *path)
{
	static atomic_bool said_untrusted;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (real.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		say_once(&said_untrusted, "ctsim at %s: cannot check who answers: %s",
			 path, strerror(errno));
		return false;
	}
	if (ctsim_wire_peer_trusted(cred.uid))
		return true;
	say_once(&said_untrusted, "refusing %s: its server runs as uid %ld, neither root nor "
		 "you (an impostor?)", path, (long)cred.uid);
	return false;
}

/*
 * Create an AF_UNIX SOCK_SEQPACKET socket with the SOCK_CLOEXEC/SOCK_NONBLOCK
 * flags of @type and connect it to the daemon. Returns the fd, or -1 with
 * errno (and, if the daemon is unreachable, one line on stderr).
 */
static int connect_daemon(int type)
{
	const char *path = socket_path();
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, saved;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		goto unreachable;
	}
	strcpy(sun.sun_path, path);
	/* Connect blocking (a full backlog must not fail with EAGAIN). */
	fd = real.socket(AF_UNIX, SOCK_SEQPACKET | (type & SOCK_CLOEXEC), 0);
	if (fd < 0)
		return -1;
	if (real.connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		saved = errno;
		real.close(fd);
		errno = saved;
		goto unreachable;
	}
	if (!peer_trusted(fd, path)) {
		real.close(fd);
		errno = EACCES;
		return -1;
	}
	if ((type & SOCK_NONBLOCK) &&
	    real.fcntl(fd, F_SETFL, real.fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		saved = errno;
		real.close(fd);
		errno = saved;
		return -1;
	}
	return fd;
unreachable:
	say_once(&said_unreachable, "cannot reach ctsim at %s: %s (is ctsim running?)",
		 path, strerror(errno));
	return -1;
}

/*
 * socket(): NETLINK_NETFILTER sockets of type SOCK_RAW or SOCK_DGRAM become
 * connections to ctsim (netlink_create() accepts exactly these two types);
 * everything else is the real socket().
 */
int socket(int domain, int type, int protocol)
{
	struct nlsock *s;
	int fd, base = type & SOCK_TYPE_MASK;

	init();
	if (domain != AF_NETLINK || protocol != NETLINK_NETFILTER ||
	    (base != SOCK_RAW && base != SOCK_DGRAM))
		return real.socket(domain, type, protocol);
	if (type & ~(SOCK_TYPE_MASK | SOCK_CLOEXEC | SOCK_NONBLOCK)) {
		errno = EINVAL;		/* __sys_socket() */
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	s->type = base;
	s->owner = getpid();
	fd = connect_daemon(type);
	if (fd < 0) {
		free(s);
		return -1;
	}
	pthread_mutex_lock(&lock);
	if (fd_attach(fd, s) < 0) {
		pthread_mutex_unlock(&lock);
		free(s);
		real.close(fd);
		errno = ENOMEM;
		return -1;
	}
	pthread_mutex_unlock(&lock);
	return fd;
}

/* close(): forget the state of @fd (the daemon sees the unix socket close). */
/*
 * The kernel handles a netlink request inside sendmsg(): when a client has
 * sent something, it is done. ctsim handles it when it reads the datagram,
 * so a client that exits right after sending (conntrack -U reads stale ACKs
 * and moves on) could leave requests the next command does not yet see.
 * Before the last close of a socket by the process that made it, wait until
 * ctsim has read everything this socket sent: SIOCOUTQ on a unix socket is
 * the bytes sent and not yet received by the peer (unix_outq_len()), and
 * ctsim handles a datagram as soon as it has read it.
 *
 * Nothing is shut down: after fork() the socket is the child's too (a daemon
 * such as conntrackd -d opens its sockets, forks and lets the parent exit),
 * and only the last close anywhere may end it, as on the kernel. ctsim stops
 * reading a client whose replies back up; if ours do while we wait, they are
 * read and dropped (the closing process abandons them), which could only
 * take a reply from a child if the parent exits with requests in flight.
 */
#define SYNC_CLOSE_MS	3000

static void sync_close(int fd)
{
	char buf[4096];
	long long deadline = now_ms() + SYNC_CLOSE_MS;

	for (;;) {
		int queued;
		ssize_t n;

		if (ioctl(fd, SIOCOUTQ, &queued) < 0 || queued <= 0 || now_ms() >= deadline)
			return;
		n = real.recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return;		/* ctsim hung up */
		if (n < 0) {
			struct timespec ts = { 0, 200000 };

			nanosleep(&ts, NULL);
		}
	}
}

/* Is @fd the last reference, in its creator, to one of our sockets? */
static bool last_owned_ref(int fd)
{
	struct nlsock *s;
	bool last;

	pthread_mutex_lock(&lock);
	s = lookup(fd);
	last = s && s->refs == 1 && s->owner == getpid();
	pthread_mutex_unlock(&lock);
	return last;
}

int close(int fd)
{
	init();
	if (maybe_ours(fd)) {
		if (last_owned_ref(fd)) {
			int saved = errno;

			sync_close(fd);
			errno = saved;
		}
		pthread_mutex_lock(&lock);
		fd_detach(fd);
		pthread_mutex_unlock(&lock);
	}
	return real.close(fd);
}

/* Programs that exit without closing (exit() closes fds in the kernel,
 * not through close()) get the same guarantee at exit. */
__attribute__((destructor)) static void sync_all_at_exit(void)
{
	if (atomic_load(&nl_fds) <= 0)
		return;
	for (size_t fd = 0; fd < fdtab_len; fd++)
		if (last_owned_ref((int)fd))
			sync_close((int)fd);
}

/* close_range() (glibc ≥ 2.34; CPython's subprocess uses it). */
int close_range(unsigned int first, unsigned int last, int flags)
{
	init();
	if (!real.close_range) {
		errno = ENOSYS;
		return -1;
	}
	if (!(flags & CLOSE_RANGE_CLOEXEC) && atomic_load(&nl_fds) > 0) {
		pthread_mutex_lock(&lock);
		for (size_t fd = first; fd < fdtab_len && fd <= last; fd++)
			fd_detach((int)fd);
		pthread_mutex_unlock(&lock);
	}
	return real.close_range(first, last, flags);
}

/* closefrom() (glibc ≥ 2.34). */
void closefrom(int lowfd)
{
	init();
	if (atomic_load(&nl_fds) > 0) {
		pthread_mutex_lock(&lock);
		for (size_t fd = lowfd < 0 ? 0 : (size_t)lowfd; fd < fdtab_len; fd++)
			fd_detach((int)fd);
		pthread_mutex_unlock(&lock);
	}
	if (real.closefrom)
		real.closefrom(lowfd);
}

/*
 * After a successful dup of @oldfd to @newfd: @newfd shares @oldfd's state
 * (or, if @oldfd is not ours, loses any state it had, since the dup closed it).
 */
static void dup_done(int oldfd, int newfd)
{
	struct nlsock *s;

	if (newfd < 0 || newfd == oldfd)
		return;
	pthread_mutex_lock(&lock);
	s = lookup(oldfd);
	if (s)
		fd_attach(newfd, s);	/* ENOMEM: newfd just becomes "foreign" */
	else
		fd_detach(newfd);
	pthread_mutex_unlock(&lock);
}

int dup(int oldfd)
{
	int fd;

	init();
	fd = real.dup(oldfd);
	if (maybe_ours(oldfd))
		dup_done(oldfd, fd);
	return fd;
}

int dup2(int oldfd, int newfd)
{
	int fd;

	init();
	fd = real.dup2(oldfd, newfd);
	if (fd >= 0 && maybe_ours(oldfd))
		dup_done(oldfd, fd);
	return fd;
}

int dup3(int oldfd, int newfd, int flags)
{
	int fd;

	init();
	fd = real.dup3(oldfd, newfd, flags);
	if (fd >= 0 && maybe_ours(oldfd))
		dup_done(oldfd, fd);
	return fd;
}

/* fcntl()/fcntl64(): only F_DUPFD and F_DUPFD_CLOEXEC concern us. */
static int fcntl_common(fcntl_fn fn, int fd, int cmd, void *arg)
{
	int r = fn(fd, cmd, arg);

	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && maybe_ours(fd))
		dup_done(fd, r);
	return r;
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	init();
	va_start(ap, cmd);
	arg = va_arg(ap, void *);	/* every fcntl argument fits (glibc does the same) */
	va_end(ap);
	return fcntl_common(real.fcntl, fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	init();
	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(real.fcntl64, fd, cmd, arg);
}

/* ------------------------------------------------------------------------ */
/* Addresses: bind, connect, getsockname, getpeername                       */
/* ------------------------------------------------------------------------ */

/* Copy @nl to a caller's address buffer with the getsockname() rules. */
static void put_addr(struct sockaddr *addr, socklen_t *len, const struct sockaddr_nl *nl)
{
	if (addr && len) {
		memcpy(addr, nl, *len < NL_ADDRLEN ? *len : NL_ADDRLEN);
	}
	if (len)
		*len = NL_ADDRLEN;
}

/*
 * Read a caller's sockaddr_nl (netlink_bind()/netlink_connect() checks).
 * Returns 0 or -1 with errno EINVAL/EFAULT.
 */
static int get_addr(const struct sockaddr *addr, socklen_t len, struct sockaddr_nl *nl)
{
	if (!addr) {
		errno = EFAULT;
		return -1;
	}
	if (len < NL_ADDRLEN) {
		errno = EINVAL;
		return -1;
	}
	memcpy(nl, addr, sizeof(*nl));
	if (nl->nl_family != AF_NETLINK) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* bind(): netlink_bind(). Groups beyond nfnetlink's 9 are ignored, as there. */
int bind(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	struct sockaddr_nl nl;
	struct nlsock *s;
	int r;

	init();
	pthread_mutex_lock(&lock);
	s = lookup(fd);
	if (!s) {
		pthread_mutex_unlock(&lock);
		return real.bind(fd, addr, len);
	}
	r = get_addr(SA(addr), len, &nl);
	if (r == 0)
		r = do_bind(fd, s, nl.nl_pid, nl.nl_groups & ((1u << NFNL_NGROUPS) - 1));
	pthread_mutex_unlock(&lock);
	return r;
}

/*
 * connect(): netlink_connect(). AF_UNSPEC disconnects; otherwise autobind
 * and remember the default destination (only port 0, the kernel, is
 * reachable through ctsim: sending elsewhere fails with ECONNREFUSED).
 */
int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	const struct sockaddr *sa = SA(addr);
	struct sockaddr_nl nl;
	struct nlsock *s;
	int r = 0;

	init();
	pthread_mutex_lock(&lock);
	s = lookup(fd);
	if (!s) {
		pthread_mutex_unlock(&lock);
		return real.connect(fd, addr, len);
	}
	if (sa && len >= sizeof(sa->sa_family) && sa->sa_family == AF_UNSPEC) {
		s->dst_portid = 0;
		s->dst_groups = 0;
	} else if ((r = get_addr(sa, len, &nl)) == 0) {
		if (!s->bound)
			r = do_bind(fd, s, 0, s->groups);
		if (r == 0) {
			s->dst_portid = nl.nl_pid;
			s->dst_groups = group_mask(__builtin_ffs((int)nl.nl_groups));
		}
	}
	pthread_mutex_unlock(&lock);
	return r;
}

/* getsockname(): netlink_getname(peer = 0); works before bind (pid 0). */
int getsockname(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	struct nlsock *s;

	init();
	pthread_mutex_lock(&lock);
	s = lookup(fd);
	if (!s) {
		pthread_mutex_unlock(&lock);
		return real.getsockname(fd, addr, len);
	}
	nl.nl_pid = s->bound ? s->portid : 0;
	nl.nl_groups = s->groups;
	pthread_mutex_unlock(&lock);
	if (!len) {
		errno = EFAULT;
		return -1;
	}
	put_addr(SA(addr), len, &nl);
	return 0;
}

/* getpeername(): netlink_getname(peer = 1): the connect() destination. */
int getpeername(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	struct nlsock *s;

	init();
	pthread_mutex_lock(&lock);
	s = lookup(fd);
	if (!s) {
		pthread_mutex_unlock(&lock);
		return real.getpeername(fd, addr, len);
	}
	nl.nl_pid = s->dst_portid;
	nl.nl_groups = s->dst_groups;
	pthread_mutex_unlock(&lock);
	if (!len) {
		errno = EFAULT;
		return -1;
	}
	put_addr(SA(addr), len, &nl);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Sending                                                                  */
/* ------------------------------------------------------------------------ */

static atomic_bool said_nftables;

/*
 * Does the datagram in @iov carry nf_tables messages (NFNL_SUBSYS_NFTABLES,
 * or the batch delimiters only nf_tables uses)? Only the first header is
 * looked at: nft puts a batch or a single request in a datagram.
 */
static bool is_nftables(const struct iovec *iov, size_t n)
{
	struct nlmsghdr h;

	if (iov_gather(&h, sizeof(h), iov, n) < sizeof(h))
		return false;
	return (h.nlmsg_type >> 8) == NFNL_SUBSYS_NFTABLES ||
	       h.nlmsg_type == NFNL_MSG_BATCH_BEGIN || h.nlmsg_type == NFNL_MSG_BATCH_END;
}

/*
 * netlink_sendmsg() for an emulated socket: check the destination (only the
 * kernel, port 0, is there), autobind, and send the iovecs as ONE datagram.
 * The kernel handles a message to itself synchronously, so a full unix
 * socket buffer is waited out even with MSG_DONTWAIT or O_NONBLOCK.
 * Returns the length sent or -1 with errno.
 */
static ssize_t nl_send(int fd, struct nlsock *s, const struct msghdr *msg, int flags)
{
	struct msghdr m = { .msg_iov = msg->msg_iov, .msg_iovlen = msg->msg_iovlen };
	uint32_t dst;
	size_t len;

	if (flags & MSG_OOB) {
		pthread_mutex_unlock(&lock);
		errno = EOPNOTSUPP;
		return -1;
	}
	if (msg->msg_namelen) {
		struct sockaddr_nl nl;

		if (get_addr(msg->msg_name, msg->msg_namelen, &nl) < 0) {
			pthread_mutex_unlock(&lock);
			return -1;
		}
		dst = nl.nl_pid;
	} else {
		dst = s->dst_portid;
	}
	if (dst != 0) {			/* netlink_unicast(): no such socket */
		pthread_mutex_unlock(&lock);
		errno = ECONNREFUSED;
		return -1;
	}
	if (!s->bound && do_bind(fd, s, 0, s->groups) < 0) {
		pthread_mutex_unlock(&lock);
		return -1;
	}
	pthread_mutex_unlock(&lock);

	len = iov_total(msg->msg_iov, msg->msg_iovlen);
	if (len == 0) {			/* netlink_sendmsg(): empty skb */
		errno = ENODATA;
		return -1;
	}
	for (;;) {
		ssize_t n = real.sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n >= 0) {
			if (is_nftables(msg->msg_iov, msg->msg_iovlen)) {
				/* ctsim answers EOPNOTSUPP; the kernel would have
				 * queued its answer before returning: wait for it,
				 * as nft reads on a non-blocking socket. */
				say_once(&said_nftables, "nf_tables is not emulated; see ctctl ruleset");
				wait_fd(fd, POLLIN, BIND_TIMEOUT_MS);
			}
			return n;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_fd(fd, POLLOUT, -1) < 0)
				return -1;
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
			lost_daemon();
		return -1;
	}
}

/*
 * Common entry of the send family: if @fd is ours, nl_send() (which releases
 * the lock), else return -2 to tell the caller to use the real function.
 */
static ssize_t try_send(int fd, const struct msghdr *msg, int flags)
{
	struct nlsock *s;

	init();
	if (!maybe_ours(fd))
		return -2;
	pthread_mutex_lock(&lock);
	s = lookup(fd);
	if (!s) {
		pthread_mutex_unlock(&lock);
		return -2;
	}
	return nl_send(fd, s, msg, flags);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ssize_t r = try_send(fd, msg, flags);

	return r == -2 ? real.sendmsg(fd, msg, flags) : r;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
	       __CONST_SOCKADDR_ARG addr, socklen_t alen)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = {
		.msg_name = (void *)SA(addr), .msg_namelen = SA(addr) ? alen : 0,
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	ssize_t r = try_send(fd, &m, flags);

	return r == -2 ? real.sendto(fd, buf, len, flags, addr, alen) : r;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r = try_send(fd, &m, flags);

	return r == -2 ? real.send(fd, buf, len, flags) : r;
}

ssize_t write(int fd, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	char name[64];
	ssize_t r;

	if (sysctl_w_find(fd, name))
		return sysctl_write(name, buf, len);
	r = try_send(fd, &m, 0);

	return r == -2 ? real.write(fd, buf, len) : r;
}

/* ------------------------------------------------------------------------ */
/* Receiving                                                                */
/* ------------------------------------------------------------------------ */

/*
 * Fill what netlink_recvmsg() reports besides the data: the sender address
 * {AF_NETLINK, pid 0 (the kernel), groups = mask of the event group}, its
 * length 12, the NETLINK_PKTINFO cmsg when enabled, and msg_flags.
 * @head/@headlen: the first bytes of the datagram; @n its real length;
 * @cap the caller's buffer size.
 */
static void finish_recv(struct msghdr *msg, const void *head, size_t headlen,
			size_t n, size_t cap, bool pktinfo)
{
	int group = ctsim_wire_event_group(head, headlen);
	int mflags = n > cap ? MSG_TRUNC : 0;

	if (msg->msg_name) {
		struct sockaddr_nl nl = { .nl_family = AF_NETLINK,
					  .nl_groups = group_mask(group) };

		memcpy(msg->msg_name, &nl,
		       msg->msg_namelen < NL_ADDRLEN ? msg->msg_namelen : NL_ADDRLEN);
		msg->msg_namelen = NL_ADDRLEN;
	}
	if (pktinfo && msg->msg_control) {
		/* netlink_cmsg_recv_pktinfo(): the group, 0 for unicast */
		struct nl_pktinfo info = { .group = (uint32_t)group };

		if (msg->msg_controllen >= CMSG_LEN(sizeof(info))) {
			struct cmsghdr *c = CMSG_FIRSTHDR(msg);

			c->cmsg_level = SOL_NETLINK;
			c->cmsg_type = NETLINK_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(info));
			memcpy(CMSG_DATA(c), &info, sizeof(info));
			if (msg->msg_controllen > CMSG_SPACE(sizeof(info)))
				msg->msg_controllen = CMSG_SPACE(sizeof(info));
		} else {
			mflags |= MSG_CTRUNC;
			msg->msg_controllen = 0;
		}
	} else {
		if (pktinfo)
			mflags |= MSG_CTRUNC;
		msg->msg_controllen = 0;
	}
	msg->msg_flags = mflags;
}

/*
 * Serve a receive from s->stash if it has a datagram. Caller holds the lock.
 * Returns the length to return, or -2 when the stash is empty.
 */
static ssize_t recv_stash(struct nlsock *s, struct msghdr *msg, int flags, bool pktinfo)
{
	struct stashed *d = s->stash;
	size_t cap = iov_total(msg->msg_iov, msg->msg_iovlen), n;

	if (!d)
		return -2;
	iov_scatter(msg->msg_iov, msg->msg_iovlen, d->data, d->len);
	n = d->len;
	finish_recv(msg, d->data, d->len, n, cap, pktinfo);
	if (!(flags & MSG_PEEK)) {
		s->stash = d->next;
		free(d);
	}
	return (flags & MSG_TRUNC) || n <= cap ? (ssize_t)n : (ssize_t)cap;
}

/*
 * netlink_recvmsg() for an emulated socket. Receives one datagram natively
 * (MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT keep their meaning), consumes control
 * messages on the way (CTSIM_CTL_ENOBUFS becomes -1/ENOBUFS unless
 * NETLINK_NO_ENOBUFS is set; anything else is skipped) and fakes the address.
 * Called with the lock held; releases it.
 */
/*
 * A netlink request is answered before sendmsg() returns; ctsim answers from
 * another process, and on a virtual machine waking a sleeping CPU for it
 * costs tens of microseconds per request. Before a blocking receive, poll
 * for a short while (busy polling, as SO_BUSY_POLL does for NICs), so that a
 * request/ACK loop such as `conntrack -R` runs at the kernel's pace.
 * CTSIM_SPIN_US sets the window (default 50 µs, 0 disables).
 */
static long spin_us = -1;

static long spin_window_us(void)
{
	if (spin_us < 0) {
		const char *e = getenv("CTSIM_SPIN_US");

		spin_us = e ? strtol(e, NULL, 10) : 50;
	}
	return spin_us;
}

/* real.recvmsg(), trying non-blocking reads for the spin window first; the
 * read that succeeds returns the data, so spinning costs no extra call. */
static ssize_t recvmsg_spin(int fd, struct msghdr *m, int rflags)
{
	struct timespec t0, t;
	long window = (rflags & MSG_DONTWAIT) ? 0 : spin_window_us();

	if (window > 0) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			ssize_t n = real.recvmsg(fd, m, rflags | MSG_DONTWAIT);

			if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				return n;
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((t.tv_sec - t0.tv_sec) * 1000000L + (t.tv_nsec - t0.tv_nsec) / 1000 >= window)
				break;
		}
	}
	return real.recvmsg(fd, m, rflags);
}

static ssize_t nl_recv(int fd, struct nlsock *s, struct msghdr *msg, int flags)
{
	size_t cap = iov_total(msg->msg_iov, msg->msg_iovlen);
	int rflags = (flags & (MSG_PEEK | MSG_DONTWAIT | MSG_WAITALL)) | MSG_TRUNC;

	for (;;) {
		struct msghdr m = { .msg_iov = msg->msg_iov, .msg_iovlen = msg->msg_iovlen };
		unsigned char head[sizeof(struct ctsim_ctl)];
		size_t headlen;
		bool pktinfo, no_enobufs, consumed = !(flags & MSG_PEEK);
		ssize_t n;

		/* s is only used under the lock: another thread may close fd. */
		s = lookup(fd);
		if (!s) {
			pthread_mutex_unlock(&lock);
			errno = EBADF;
			return -1;
		}
		pktinfo = s->opts & (1u << NETLINK_PKTINFO);
		no_enobufs = s->opts & (1u << NETLINK_NO_ENOBUFS);
		n = recv_stash(s, msg, flags, pktinfo);
		pthread_mutex_unlock(&lock);
		if (n != -2)
			return n;

		if (cap < sizeof(head)) {
			/* Too small to recognise a control message: peek first. */
			n = real.recv(fd, head, sizeof(head),
				      MSG_PEEK | MSG_TRUNC | (flags & MSG_DONTWAIT));
			if (n > 0 && !ctsim_wire_is_ctl(head, (size_t)n)) {
				headlen = (size_t)n < sizeof(head) ? (size_t)n : sizeof(head);
				n = real.recvmsg(fd, &m, rflags);
			}
			else if (n > 0) {
				/* a control message: consume it now */
				consumed = true;
				headlen = sizeof(head);
				if (real.recv(fd, head, sizeof(head), MSG_DONTWAIT) < 0)
					return -1;
			} else {
				headlen = 0;
			}
		} else {
			n = recvmsg_spin(fd, &m, rflags);
			headlen = n > 0 ? iov_gather(head, sizeof(head), msg->msg_iov,
						    msg->msg_iovlen) : 0;
		}
		if (n < 0)
			return -1;
		if (n == 0) {			/* the daemon closed the connection */
			lost_daemon();
			return -1;
		}
		if (ctsim_wire_is_ctl(head, (size_t)n)) {
			struct ctsim_ctl c;

			memcpy(&c, head, sizeof(c));
			if (!consumed &&
			    real.recv(fd, head, sizeof(head), MSG_DONTWAIT) < 0)
				return -1;
			if (c.op == CTSIM_CTL_ENOBUFS && !no_enobufs) {
				errno = ENOBUFS;	/* sock_error() in skb_recv_datagram() */
				return -1;
			}
			pthread_mutex_lock(&lock);
			continue;			/* stray control message: skip */
		}
		finish_recv(msg, head, headlen, (size_t)n, cap, pktinfo);
		return (flags & MSG_TRUNC) || (size_t)n <= cap ? n : (ssize_t)cap;
	}
}

/*
 * Common entry of the receive family: if @fd is ours, nl_recv(), else -2:
 * the caller uses the real function.
 */
static ssize_t try_recv(int fd, struct msghdr *msg, int flags)
{
	struct nlsock *s;

	init();
	if (!maybe_ours(fd))
		return -2;
	pthread_mutex_lock(&lock);
	s = lookup(fd);
	if (!s) {
		pthread_mutex_unlock(&lock);
		return -2;
	}
	return nl_recv(fd, s, msg, flags);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t r = try_recv(fd, msg, flags);

	return r == -2 ? real.recvmsg(fd, msg, flags) : r;
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
		 __SOCKADDR_ARG addr, socklen_t *alen)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = {
		.msg_name = SA(addr) && alen ? (void *)SA(addr) : NULL,
		.msg_namelen = SA(addr) && alen ? *alen : 0,
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	ssize_t r = try_recv(fd, &m, flags);

	if (r == -2)
		return real.recvfrom(fd, buf, len, flags, addr, alen);
	if (r >= 0 && m.msg_name)
		*alen = m.msg_namelen;
	return r;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r = try_recv(fd, &m, flags);

	return r == -2 ? real.recv(fd, buf, len, flags) : r;
}

ssize_t read(int fd, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r = try_recv(fd, &m, 0);

	return r == -2 ? real.read(fd, buf, len) : r;
}

/* readv()/writev() on a netlink socket are recvmsg()/sendmsg() without an
 * address or flags (sock_read_iter()/sock_write_iter()). UIO_MAXIOV bounds
 * the vector: EINVAL beyond it or below 0, as import_iovec(). */
ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };
	ssize_t r;

	init();
	if (!maybe_ours(fd))
		return real.readv(fd, iov, cnt);
	if (cnt < 0 || cnt > 1024) {
		errno = EINVAL;
		return -1;
	}
	r = try_recv(fd, &m, 0);
	return r == -2 ? real.readv(fd, iov, cnt) : r;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };
	ssize_t r;

	init();
	if (!maybe_ours(fd))
		return real.writev(fd, iov, cnt);
	if (cnt < 0 || cnt > 1024) {
		errno = EINVAL;
		return -1;
	}
	r = try_send(fd, &m, 0);
	return r == -2 ? real.writev(fd, iov, cnt) : r;
}

/* ------------------------------------------------------------------------ */
/* Socket options                                                           */
/* ------------------------------------------------------------------------ */

/* Is @opt a SOL_NETLINK on/off option that netlink_setsockopt() knows? */
static bool is_flag_opt(int opt)
{
	switch (opt) {
	case NETLINK_PKTINFO:
	case NETLINK_BROADCAST_ERROR:
	case NETLINK_NO_ENOBUFS:
	case NETLINK_LISTEN_ALL_NSID:
	case NETLINK_CAP_ACK:
	case NETLINK_EXT_ACK:
	case NETLINK_GET_STRICT_CHK:
		return true;
	default:
		return false;
	}
}

/*
 * netlink_setsockopt(): memberships change the groups, flags are kept, and
 * both are forwarded to the daemon (CTSIM_CTL_SETSOCKOPT, b = group or 0/1).
 * Caller holds the lock.
 */
static int nl_setsockopt(int fd, struct nlsock *s, int opt, const void *val, socklen_t len)
{
	unsigned int v = 0;

	if (len >= sizeof(int)) {
		if (!val) {
			errno = EFAULT;
			return -1;
		}
		memcpy(&v, val, sizeof(v));
	}
	if (opt == NETLINK_ADD_MEMBERSHIP || opt == NETLINK_DROP_MEMBERSHIP) {
		if (v == 0 || v > NFNL_NGROUPS) {
			errno = EINVAL;
			return -1;
		}
		if (ctl_send(fd, CTSIM_CTL_SETSOCKOPT, 0, (uint32_t)opt, v) < 0)
			return -1;
		if (opt == NETLINK_ADD_MEMBERSHIP)
			s->groups |= group_mask((int)v);
		else
			s->groups &= ~group_mask((int)v);
		return 0;
	}
	if (!is_flag_opt(opt)) {
		errno = ENOPROTOOPT;
		return -1;
	}
	if (ctl_send(fd, CTSIM_CTL_SETSOCKOPT, 0, (uint32_t)opt, v ? 1 : 0) < 0)
		return -1;
	if (v)
		s->opts |= 1u << opt;
	else
		s->opts &= ~(1u << opt);
	return 0;
}

int setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
	struct nlsock *s;
	int r;

	init();
	pthread_mutex_lock(&lock);
	s = lookup(fd);
	if (!s) {
		pthread_mutex_unlock(&lock);
		return real.setsockopt(fd, level, opt, val, len);
	}
	if (level == SOL_NETLINK) {
		r = nl_setsockopt(fd, s, opt, val, len);
		pthread_mutex_unlock(&lock);
		return r;
	}
	pthread_mutex_unlock(&lock);
	/* The FORCE variants need CAP_NET_ADMIN; never let them fail with EPERM. */
	if (level == SOL_SOCKET && opt == SO_RCVBUFFORCE)
		opt = SO_RCVBUF;
	else if (level == SOL_SOCKET && opt == SO_SNDBUFFORCE)
		opt = SO_SNDBUF;
	return real.setsockopt(fd, level, opt, val, len);
}

/* Store an int option value with the sock_getsockopt() length rules. */
static int put_int_opt(void *val, socklen_t *len, int v)
{
	socklen_t n;

	if (!len || !val) {
		errno = EFAULT;
		return -1;
	}
	n = *len < sizeof(int) ? *len : sizeof(int);
	memcpy(val, &v, n);
	*len = n;
	return 0;
}

/* netlink_getsockopt(). Caller holds the lock. */
static int nl_getsockopt(struct nlsock *s, int opt, void *val, socklen_t *len)
{
	if (!len || !val) {
		errno = EFAULT;
		return -1;
	}
	if (opt == NETLINK_LIST_MEMBERSHIPS) {
		/* ALIGN(BITS_TO_BYTES(ngroups), 4) bytes, as many as fit */
		if (*len >= sizeof(uint32_t))
			memcpy(val, &s->groups, sizeof(uint32_t));
		*len = sizeof(uint32_t);
		return 0;
	}
	if (!is_flag_opt(opt) || opt == NETLINK_LISTEN_ALL_NSID) {
		errno = ENOPROTOOPT;
		return -1;
	}
	if (*len < sizeof(int)) {
		errno = EINVAL;
		return -1;
	}
	*len = sizeof(int);
	int v = (s->opts >> opt) & 1;
	memcpy(val, &v, sizeof(v));
	return 0;
}

int getsockopt(int fd, int level, int opt, void *val, socklen_t *len)
{
	struct nlsock *s;
	int r, type;

	init();
	pthread_mutex_lock(&lock);
	s = lookup(fd);
	if (!s) {
		pthread_mutex_unlock(&lock);
		return real.getsockopt(fd, level, opt, val, len);
	}
	if (level == SOL_NETLINK) {
		r = nl_getsockopt(s, opt, val, len);
		pthread_mutex_unlock(&lock);
		return r;
	}
	type = s->type;
	pthread_mutex_unlock(&lock);
	if (level == SOL_SOCKET) {
		switch (opt) {
		case SO_DOMAIN:
			return put_int_opt(val, len, AF_NETLINK);
		case SO_PROTOCOL:
			return put_int_opt(val, len, NETLINK_NETFILTER);
		case SO_TYPE:
			return put_int_opt(val, len, type);
		default:
			break;
		}
	}
	return real.getsockopt(fd, level, opt, val, len);
}

/* ------------------------------------------------------------------------ */
/* The /proc view: conntrack's files come from ctsim                        */
/* ------------------------------------------------------------------------ */

/*
 * conntrack -C/-S fall back to /proc when netlink refuses them (a non-root
 * user), and sysctl(8) reads /proc/sys: under ctsim-exec these files must
 * show ctsim's values, never the host's. Opens of
 *   /proc/sys/net/netfilter/nf_conntrack_count       ctsim's count
 *   /proc/sys/net/netfilter/nf_conntrack_<setting>   ctsim's setting
 *   /proc/[net|self/net|thread-self/net|PID/net]/stat/nf_conntrack
 *                                                    ctsim's statistics
 * for reading get a memory file with ctsim's text (CTSIM_CTL_PROC, which
 * the daemon answers for every uid: the kernel's files are world-readable).
 * /proc/net/nf_conntrack (root only, as the kernel's -r--r-----) gets the
 * entries' text (CTSIM_PROC_CONNTRACK; at most what one control datagram
 * holds, ~64 KiB, else EMSGSIZE).
 * Root's writes of a setting change ctsim's (sysctl_write() below; others:
 * EACCES). Refused with EACCES and one line on stderr: opening the count or
 * statistics for writing, and the other conntrack files (/proc/net/nf_conntrack_expect,
 * stat/nf_conntrack_expect …), whose text ctsim does not produce. A setting
 * ctsim does not know: ENOENT. Only absolute paths are recognised (not
 * openat() relative to a directory fd); static programs (the supervisor)
 * are not covered.
 */
enum proc_kind { PROC_NONE, PROC_COUNT, PROC_STAT, PROC_SETTING, PROC_CONNTRACK, PROC_REFUSE };

#define SYSCTL_DIR	"/proc/sys/net/netfilter/"

/* What @path is for ctsim; @name gets the setting name for PROC_SETTING. */
static enum proc_kind proc_kind(const char *path, const char **name)
{
	const char *p;

	if (!path || strncmp(path, "/proc/", 6) != 0)
		return PROC_NONE;
	if (strncmp(path, SYSCTL_DIR, sizeof(SYSCTL_DIR) - 1) == 0) {
		p = path + sizeof(SYSCTL_DIR) - 1;
		if (strncmp(p, "nf_conntrack_", 13) != 0)
			return PROC_NONE;
		if (strcmp(p, "nf_conntrack_count") == 0)
			return PROC_COUNT;
		*name = p;
		return PROC_SETTING;
	}
	p = path + 6;
	if (strncmp(p, "self/", 5) == 0)
		p += 5;
	else if (strncmp(p, "thread-self/", 12) == 0)
		p += 12;
	else if (*p >= '0' && *p <= '9') {
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p++ != '/')
			return PROC_NONE;
	}
	if (strncmp(p, "net/", 4) != 0)
		return PROC_NONE;
	p += 4;
	if (strcmp(p, "stat/nf_conntrack") == 0)
		return PROC_STAT;
	if (strcmp(p, "nf_conntrack") == 0)
		return PROC_CONNTRACK;
	if (strncmp(p, "nf_conntrack", 12) == 0 || strncmp(p, "stat/nf_conntrack", 17) == 0)
		return PROC_REFUSE;
	return PROC_NONE;
}

/*
 * Ask ctsim for the text of @what (CTSIM_PROC_*). Returns a malloc'ed
 * buffer (length in *@len) or NULL with errno.
 */
static char *ctl_roundtrip(uint16_t op, uint32_t a, const char *payload, size_t plen,
			   size_t *len)
{
	struct ctsim_ctl c;
	char *buf = NULL;
	long long deadline = now_ms() + BIND_TIMEOUT_MS;
	int fd = connect_daemon(SOCK_CLOEXEC), saved;

	if (fd < 0)
		return NULL;
	if (!payload) {
		if (ctl_send(fd, op, 0, a, 0) < 0)
			goto fail;
	} else {
		/* one datagram: the header, then @plen bytes (CTSIM_CTL_SET) */
		char req[sizeof(struct ctsim_ctl) + 256];
		struct ctsim_ctl h = { .magic = CTSIM_CTL_MAGIC, .op = op, .a = a,
				       .b = (uint32_t)plen, .pid = (uint32_t)getpid() };

		if (plen > sizeof(req) - sizeof(h)) {
			errno = EINVAL;
			goto fail;
		}
		memcpy(req, &h, sizeof(h));
		memcpy(req + sizeof(h), payload, plen);
		if (real.send(fd, req, sizeof(h) + plen, MSG_NOSIGNAL) < 0)
			goto fail;
	}
	buf = malloc(CTSIM_CTL_DGRAM_MAX);
	if (!buf) {
		errno = ENOMEM;
		goto fail;
	}
	for (;;) {
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if (wait_fd(fd, POLLIN, (int)left) <= 0)
			continue;
		n = real.recv(fd, buf, CTSIM_CTL_DGRAM_MAX, MSG_DONTWAIT);
		if (n == 0) {
			lost_daemon();
			goto fail;
		}
		if (n < 0 || !ctsim_wire_is_ctl(buf, (size_t)n))
			continue;
		memcpy(&c, buf, sizeof(c));
		if (c.op != CTSIM_CTL_REPLY || c.a != op)
			continue;
		if (c.err) {
			errno = c.err;
			goto fail;
		}
		if (c.b > (size_t)n - sizeof(c)) {
			errno = EIO;
			goto fail;
		}
		memmove(buf, buf + sizeof(c), c.b);
		*len = c.b;
		real.close(fd);
		return buf;
	}
fail:
	saved = errno;
	free(buf);
	real.close(fd);
	errno = saved;
	return NULL;
}

static char *proc_query(uint32_t what, size_t *len)
{
	return ctl_roundtrip(CTSIM_CTL_PROC, what, NULL, 0, len);
}

/*
 * Writes of a setting by root (`sysctl -w`, `echo 0 > …`) change ctsim's
 * setting (CTSIM_CTL_SET, as `ctctl set`): the open gives a memory file
 * remembered here with the setting's name, and each write() to it is one
 * proc_dointvec() write: its text (blanks trimmed) is the new value, an
 * invalid one fails that write with EINVAL. Non-root: EACCES at the open
 * (the kernel's files are 0644). Dynamic programs only.
 */
#define SYSCTL_WRITERS	16
/* Keyed by the memory file's inode, not the fd: `echo 0 > FILE` in a shell
 * dup2()s the fd to 1 and closes the original before writing. The newest
 * SYSCTL_WRITERS writers are remembered (a closed one's inode may linger:
 * only a memory file of ours could carry it). */
static struct { dev_t dev; ino_t ino; char name[64]; } sysctl_w[SYSCTL_WRITERS];
static int sysctl_w_n;		/* writers ever opened (0: write() checks nothing) */

static int sysctl_w_find(int fd, char *name)
{
	struct stat st;
	int found = 0;

	if (!__atomic_load_n(&sysctl_w_n, __ATOMIC_RELAXED) || !name)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 0)
		return 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < SYSCTL_WRITERS; i++) {
		if (sysctl_w[i].name[0] && sysctl_w[i].ino == st.st_ino &&
		    sysctl_w[i].dev == st.st_dev) {
			memcpy(name, sysctl_w[i].name, sizeof(sysctl_w[i].name));
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return found;
}

static int sysctl_w_add(int fd, const char *name)
{
	struct stat st;

	if (strlen(name) >= sizeof(sysctl_w[0].name) || fstat(fd, &st) < 0)
		return 0;
	pthread_mutex_lock(&lock);
	{
		int i = sysctl_w_n++ % SYSCTL_WRITERS;

		sysctl_w[i].dev = st.st_dev;
		sysctl_w[i].ino = st.st_ino;
		strcpy(sysctl_w[i].name, name);
	}
	pthread_mutex_unlock(&lock);
	return 1;
}

/* One write() of @len bytes to the setting @name: len, or -1 with errno. */
static ssize_t sysctl_write(const char *name, const void *buf, size_t len)
{
	char arg[200], *r;
	const char *v = buf, *e = v + len;
	size_t rlen = 0;
	int n;

	while (v < e && (*v == ' ' || *v == '\t' || *v == '\n'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\0'))
		e--;
	n = snprintf(arg, sizeof(arg), "%s=%.*s", name, (int)(e - v), v);
	if (n < 0 || (size_t)n >= sizeof(arg) || v == e) {
		errno = EINVAL;
		return -1;
	}
	r = ctl_roundtrip(CTSIM_CTL_SET, 0, arg, (size_t)n, &rlen);
	if (!r) {
		/* EROFS: read-only while ctsim runs (buckets); the kernel's
		 * read-only files refuse writers with EACCES */
		if (errno == EROFS)
			errno = EACCES;
		return -1;
	}
	free(r);
	return (ssize_t)len;
}

/* A memory file holding @len bytes of @text, positioned at 0. */
static int memfile(const char *text, size_t len, int flags)
{
	int fd = memfd_create("ctsim-proc", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0), saved;

	if (fd < 0)
		return -1;
	if (real.write(fd, text, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) < 0) {
		saved = errno;
		real.close(fd);
		errno = saved ? saved : EIO;
		return -1;
	}
	return fd;
}

static atomic_bool said_proc_write, said_proc_refuse;

/*
 * open() of @path with @flags for the /proc view: -2 if @path is none of
 * conntrack's files (the caller opens it for real), else the fd of a memory
 * file or -1 with errno.
 */
static int proc_open(const char *path, int flags)
{
	const char *name = NULL;
	enum proc_kind kind = proc_kind(path, &name);
	char *text, *out = NULL;
	size_t len = 0, outlen = 0;
	int fd, saved;

	if (kind == PROC_NONE)
		return -2;
	init();
	if (kind == PROC_REFUSE) {
		say_once(&said_proc_refuse, "%s: not emulated, refused (it would show the host's "
			 "conntrack)", path);
		errno = EACCES;
		return -1;
	}
	if (kind == PROC_SETTING &&
	    ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)))) {
		if (geteuid() != 0) {
			errno = EACCES;		/* -rw-r--r-- root */
			return -1;
		}
		if ((flags & O_ACCMODE) == O_RDONLY) {
			errno = EINVAL;
			return -1;
		}
	} else if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC))) {
		say_once(&said_proc_write, "%s: writing is refused under ctsim-exec (it would change "
			 "the host's conntrack; ctsim's settings come from its --settings file)", path);
		errno = EACCES;
		return -1;
	}
	text = proc_query(kind == PROC_COUNT ? CTSIM_PROC_COUNT :
			  kind == PROC_STAT ? CTSIM_PROC_STAT :
			  kind == PROC_CONNTRACK ? CTSIM_PROC_CONNTRACK : CTSIM_PROC_SETTINGS, &len);
	if (!text)
		return -1;
	if (kind == PROC_SETTING) {
		/* "name = value\t# comment" lines: the value, as the kernel prints it */
		size_t nl = strlen(name);

		for (char *line = text; line < text + len;) {
			char *end = memchr(line, '\n', (size_t)(text + len - line));

			if (!end)
				end = text + len;
			if ((size_t)(end - line) > nl + 3 && strncmp(line, name, nl) == 0 &&
			    strncmp(line + nl, " = ", 3) == 0) {
				char *v = line + nl + 3, *ve = v;

				while (ve < end && *ve != '\t' && *ve != ' ' && *ve != '#')
					ve++;
				*ve = '\n';
				out = v;
				outlen = (size_t)(ve - v) + 1;
				break;
			}
			line = end + 1;
		}
		if (!out) {
			free(text);
			errno = ENOENT;
			return -1;
		}
		if ((flags & O_ACCMODE) != O_RDONLY) {
			/* a writer: an empty memory file; writes go to ctsim */
			if (flags & O_TRUNC)
				outlen = 0;
			fd = memfile(out, outlen, flags);
			saved = errno;
			free(text);
			if (fd >= 0 && !sysctl_w_add(fd, name)) {
				real.close(fd);
				errno = EMFILE;
				return -1;
			}
			errno = saved;
			return fd;
		}
	} else {
		out = text;
		outlen = len;
	}
	fd = memfile(out, outlen, flags);
	saved = errno;
	free(text);
	errno = saved;
	return fd;
}

/* The mode argument exists only with O_CREAT/O_TMPFILE. */
#define OPEN_MODE(flags, last) ({					\
	mode_t _m = 0;							\
	if ((flags) & (O_CREAT | O_TMPFILE)) {				\
		va_list _ap;						\
		va_start(_ap, last);					\
		_m = (mode_t)va_arg(_ap, int);				\
		va_end(_ap);						\
	}								\
	_m; })

int open(const char *path, int flags, ...)
{
	mode_t mode = OPEN_MODE(flags, flags);
	int r = proc_open(path, flags);

	if (r != -2)
		return r;
	init();
	return real.open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = OPEN_MODE(flags, flags);
	int r = proc_open(path, flags);

	if (r != -2)
		return r;
	init();
	return real.open64(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = OPEN_MODE(flags, flags);
	int r = proc_open(path, flags);

	if (r != -2)
		return r;
	init();
	return real.openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = OPEN_MODE(flags, flags);
	int r = proc_open(path, flags);

	if (r != -2)
		return r;
	init();
	return real.openat64(dirfd, path, flags, mode);
}

/* The _FORTIFY_SOURCE entry points of programs built with it. */
int __open_2(const char *path, int flags)
{
	int r = proc_open(path, flags);

	if (r != -2)
		return r;
	init();
	return real.open_2(path, flags);
}

int __open64_2(const char *path, int flags)
{
	int r = proc_open(path, flags);

	if (r != -2)
		return r;
	init();
	return real.open64_2(path, flags);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	int r = proc_open(path, flags);

	if (r != -2)
		return r;
	init();
	return real.openat_2(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	int r = proc_open(path, flags);

	if (r != -2)
		return r;
	init();
	return real.openat64_2(dirfd, path, flags);
}

static ssize_t proc_cookie_write(void *cookie, const char *buf, size_t len)
{
	char name[64];

	if (!sysctl_w_find((int)(intptr_t)cookie, name)) {
		errno = EBADF;
		return -1;
	}
	return sysctl_write(name, buf, len);
}

static int proc_cookie_close(void *cookie)
{
	return close((int)(intptr_t)cookie);
}

/* fopen(): glibc opens through an internal, not interposable, open. */
static FILE *proc_fopen(fopen_fn fn, const char *path, const char *mode)
{
	int flags = O_RDONLY, fd;
	FILE *f;

	if (proc_kind(path, &(const char *){ NULL }) == PROC_NONE) {
		init();
		return fn(path, mode);
	}
	if (mode[0] != 'r' || strchr(mode, '+'))
		flags = O_WRONLY;
	if (strchr(mode, 'e'))
		flags |= O_CLOEXEC;
	fd = proc_open(path, flags);
	if (fd < 0)
		return NULL;
	if (flags != O_RDONLY && flags != (O_RDONLY | O_CLOEXEC)) {
		/* a setting's writer: stdio writes through glibc's internal
		 * write, which the shim cannot see: a cookie stream instead */
		cookie_io_functions_t io = { .write = proc_cookie_write,
					     .close = proc_cookie_close };

		f = fopencookie((void *)(intptr_t)fd, "w", io);
		if (!f) {
			int saved = errno;

			close(fd);
			errno = saved;
		}
		return f;
	}
	f = fdopen(fd, "r");
	if (!f) {
		int saved = errno;

		real.close(fd);
		errno = saved;
	}
	return f;
}

FILE *fopen(const char *path, const char *mode)
{
	init();
	return proc_fopen(real.fopen, path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	init();
	return proc_fopen(real.fopen64, path, mode);
}
