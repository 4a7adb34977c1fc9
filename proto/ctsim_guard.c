/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctsim_guard.c — ctsim-exec's launcher: run a program so that its
 * netfilter netlink traffic can never reach the host kernel, and so that
 * programs the LD_PRELOAD shim cannot see still talk to ctsim.
 *
 *     ctsim-exec-guard COMMAND [ARG...]
 *
 * The shim (shim.c) turns every socket(AF_NETLINK, …, NETLINK_NETFILTER)
 * made through libc into a connection to ctsim, so the shim itself never
 * asks the kernel for such a socket. Programs that do not go through libc's
 * socket() — statically linked programs, Go's runtime, anything using
 * syscall(2) — would get a real one and read or change the host's table.
 *
 * 1. The guard: before exec'ing COMMAND, a seccomp filter is installed
 *    (inherited by every descendant, impossible to remove, no option or
 *    variable turns it off). Default: allow.
 *      - socket(AF_NETLINK, *, NETLINK_NETFILTER): handed to the supervisor
 *        (below), or, if user notification is unavailable, EPERM. Either
 *        way the kernel's nfnetlink never sees it. Comparisons look at the
 *        low 32 bits only, as __sys_socket() reads ints: garbage in the
 *        upper half of a register cannot slip past.
 *      - io_uring_setup() -> ENOSYS: IORING_OP_SOCKET (Linux >= 5.19)
 *        creates sockets without the socket() system call, out of seccomp's
 *        sight. Programs fall back to plain system calls on ENOSYS.
 *      - other ABIs than the native one (i386 socketcall(), whose arguments
 *        a filter cannot inspect; x32): the process is killed (SIGSYS).
 *      - the socket calls of the emulated sockets (see 2): notified when
 *        their fd is in [SUP_FD_BASE, SUP_FD_BASE + 64).
 *
 * 2. The supervisor (SECCOMP_RET_USER_NOTIF): a process forked before the
 *    filter is installed (and re-parented away from COMMAND, so COMMAND
 *    never sees an extra child) answers the notified system calls:
 *      - socket(): it connects an AF_UNIX SOCK_SEQPACKET socket to ctsim,
 *        exactly as the shim does, and installs it in the caller with
 *        SECCOMP_IOCTL_NOTIF_ADDFD (flags SETFD|SEND: the fd becomes the
 *        socket() result atomically), at a free fd number of the reserved
 *        range, counting down from 1023. Keeping emulated sockets in that
 *        range lets the filter notify only their calls: other fds' calls
 *        never leave the kernel.
 *      - bind, connect, getsockname, getpeername, SOL_NETLINK and
 *        SO_DOMAIN/SO_PROTOCOL/SO_TYPE socket options, sendto, sendmsg,
 *        write, recvfrom, recvmsg, read on such an fd: emulated with the
 *        rules of net/netlink/af_netlink.c, like the shim does
 *        (netlink_bind(), netlink_getname(), netlink_sendmsg(),
 *        netlink_recvmsg(): sender {AF_NETLINK, pid 0, group}, MSG_PEEK,
 *        MSG_TRUNC, NETLINK_PKTINFO, ENOBUFS). The supervisor takes a copy
 *        of the caller's fd for each call (pidfd_getfd()), reads and writes
 *        the caller's buffers with process_vm_readv()/writev(), and closes
 *        its copy again: closing, fork and dup are the kernel's own (the
 *        last close anywhere ends the connection). Other calls (poll,
 *        epoll, fcntl, SO_RCVBUF …) run natively on the unix socket.
 *      - a call on a reserved fd that is not one of ours continues
 *        unchanged (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
 *    Emulated sockets are identified by the socket's inode, so dup()s and
 *    forked children share one state, as they share one kernel socket.
 *
 *    The daemon needs no special mode: one unix datagram is exactly one
 *    netlink datagram in both directions (ctsim_wire.h), so the supervisor
 *    only adds what the shim adds — addresses, bind and options through
 *    control messages, and filtering control messages out of receives.
 *
 *    A blocking receive with nothing queued is parked: the supervisor polls
 *    the socket and answers when a datagram arrives. The filter is loaded
 *    with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, so a parked caller is not
 *    interrupted by non-fatal signals (Go's preemption signals) and the
 *    answer is never lost; a fatal signal still ends it.
 *
 *    The supervisor ends when no task uses the filter any more (POLLHUP on
 *    the listener). If it dies, notified calls fail with ENOSYS: still never
 *    the kernel.
 *
 * NO_NEW_PRIVS: seccomp needs it unless the caller has CAP_SYS_ADMIN. As
 * root the filter is loaded without it, so setuid programs keep working
 * under ctsim-exec; otherwise it is set.
 *
 * Known limits: a dup() of
 * an emulated socket to an fd outside the reserved range is a plain unix
 * socket to ctsim (still never the kernel); sendmmsg/recvmmsg are not
 * emulated (readv/writev are, as recvmsg/sendmsg); x86-64 only (the filter kills other ABIs).
 *
 * Exit status: COMMAND's (exec), 127 if the filter cannot be installed or
 * COMMAND cannot be run, with one line on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include "ctsim_wire.h"

#define PROG		"ctsim-exec"
#define SUP_FD_BASE	960		/* reserved fds: 960..1023 */
#define SUP_FD_MASK	0xffffffc0u	/* low 32 bits & mask == base: in range */
#define SUP_FD_TOP	1023
#define NL_ADDRLEN	((socklen_t)sizeof(struct sockaddr_nl))
#define SOCK_TYPE_MASK	0xf
#define NFNL_NGROUPS	9
#define BIND_TIMEOUT_MS	10000
#define MAX_DGRAM	(1u << 20)
#define MAX_IOV		1024
#define MAX_PARKED	256
#ifndef SOL_NETLINK
#define SOL_NETLINK	270
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD	O_EXCL
#endif

/* ------------------------------------------------------------------------ */
/* The filter                                                               */
/* ------------------------------------------------------------------------ */

/* The socket calls whose first argument is an fd the supervisor may own. */
static const int fd_calls[] = {
	SCMP_SYS(bind), SCMP_SYS(connect), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(sendto), SCMP_SYS(sendmsg),
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(read), SCMP_SYS(write),
	SCMP_SYS(readv), SCMP_SYS(writev),
};

/*
 * Build the filter described at the top: with @notify, netfilter netlink
 * sockets and the reserved fds' calls go to the supervisor; without, the
 * sockets are refused (EPERM). Returns the context or NULL (errno).
 */
static scmp_filter_ctx build_filter(bool notify)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	uint32_t sock_act = notify ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(EPERM);
	int r;

	if (!ctx) {
		errno = ENOMEM;
		return NULL;
	}
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r == 0)
		r = seccomp_rule_add(ctx, sock_act, SCMP_SYS(socket), 2,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_NETLINK),
				     SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, NETLINK_NETFILTER));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_setup), 0);
	for (size_t i = 0; notify && r == 0 && i < sizeof(fd_calls) / sizeof(fd_calls[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, fd_calls[i], 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, SUP_FD_MASK, SUP_FD_BASE));
	if (r < 0) {
		seccomp_release(ctx);
		errno = -r;
		return NULL;
	}
	return ctx;
}

/*
 * Load @ctx's program with seccomp(2) and @flags. libseccomp 2.5 cannot ask
 * for WAIT_KILLABLE_RECV, so the BPF is exported and loaded here. As root,
 * first without NO_NEW_PRIVS (setuid programs keep working); when the
 * kernel says EACCES (no CAP_SYS_ADMIN), with it. Returns the result of
 * seccomp(2): 0 or the listener fd; -1 with errno.
 */
static int load_filter(scmp_filter_ctx ctx, unsigned int flags)
{
	struct sock_fprog prog;
	struct stat st;
	void *code;
	int mfd = memfd_create("ctsim-filter", MFD_CLOEXEC), r, saved;

	if (mfd < 0)
		return -1;
	r = seccomp_export_bpf(ctx, mfd);
	if (r < 0 || fstat(mfd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size % sizeof(struct sock_filter)) {
		close(mfd);
		errno = r < 0 ? -r : EINVAL;
		return -1;
	}
	code = malloc((size_t)st.st_size);
	if (!code || pread(mfd, code, (size_t)st.st_size, 0) != st.st_size) {
		free(code);
		close(mfd);
		errno = EIO;
		return -1;
	}
	close(mfd);
	prog.len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	prog.filter = code;
	r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (r < 0 && errno == EACCES) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
			r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	}
	saved = errno;
	free(code);
	errno = saved;
	return r;
}

/* ------------------------------------------------------------------------ */
/* Supervisor: state                                                        */
/* ------------------------------------------------------------------------ */

/* What the kernel keeps in struct netlink_sock, per emulated socket. */
struct nlsock {
	struct nlsock *next;
	ino_t ino;		/* the unix socket's inode: identity */
	int type;		/* SOCK_RAW or SOCK_DGRAM */
	bool bound;
	uint32_t portid, groups, dst_portid, dst_groups;
	uint32_t opts;		/* SOL_NETLINK flags: bit (1 << option) */
};

/* A blocking receive waiting for data. */
struct parked {
	struct seccomp_notif *req;
	int fd;			/* supervisor's copy of the caller's socket */
	long long deadline;	/* SO_RCVTIMEO expiry (ms, monotonic), 0: none */
};

static struct nlsock *socks;
static struct parked parked[MAX_PARKED];
static size_t nparked;
static int listener = -1;
static struct seccomp_notif_sizes sizes;
static const char *sock_path;
static unsigned char *dgram;	/* MAX_DGRAM bytes */
static bool said_unreachable, said_lost, said_nftables;

static pid_t cur_pid;		/* the task whose call is being answered */

/*
 * One line "ctsim-exec: ..." on the stderr of the task being answered, at
 * most once per @once flag. The supervisor keeps no stdio of its own: it
 * would hold a caller's pipe open as long as any descendant lives (a
 * daemon under ctsim-exec), so it borrows the caller's fd 2 for the line.
 */
static void say(bool *once, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n, pfd, fd;

	if (once && *once)
		return;
	if (once)
		*once = true;
	n = snprintf(line, sizeof(line), "%s: ", PROG);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	pfd = (int)syscall(SYS_pidfd_open, cur_pid, PIDFD_THREAD);
	if (pfd < 0)
		return;
	fd = (int)syscall(SYS_pidfd_getfd, pfd, STDERR_FILENO, 0);
	close(pfd);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) < 0) {
		/* the caller's stderr is gone: nothing to tell */
	}
	close(fd);
}

static size_t nsocks;

/*
 * Forget the states of sockets that no longer exist. Closing is the
 * kernel's business (the supervisor keeps no reference), so a state is
 * dropped when its inode has left /proc/net/unix (every unix socket of this
 * network namespace, where the supervisor created them). Run when the list
 * has doubled since the last sweep: a long-running program opening a socket
 * per request keeps a bounded list.
 */
static void prune_socks(void)
{
	static size_t limit = 64;
	struct nlsock **pp = &socks;
	ino_t *live = NULL;
	size_t nlive = 0, cap = 0;
	char line[512];
	FILE *f;

	if (nsocks < limit)
		return;
	f = fopen("/proc/net/unix", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long ino;

		/* Num RefCount Protocol Flags Type St Inode [Path] */
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %llu", &ino) != 1)
			continue;
		if (nlive == cap) {
			ino_t *n = realloc(live, (cap = cap ? cap * 2 : 256) * sizeof(*live));

			if (!n) {
				free(live);
				fclose(f);
				return;
			}
			live = n;
		}
		live[nlive++] = (ino_t)ino;
	}
	fclose(f);
	while (*pp) {
		bool found = false;

		for (size_t i = 0; i < nlive && !found; i++)
			found = live[i] == (*pp)->ino;
		if (found) {
			pp = &(*pp)->next;
		} else {
			struct nlsock *dead = *pp;

			*pp = dead->next;
			free(dead);
			nsocks--;
		}
	}
	free(live);
	limit = nsocks * 2 > 64 ? nsocks * 2 : 64;
}

static struct nlsock *find_sock(ino_t ino)
{
	for (struct nlsock *s = socks; s; s = s->next)
		if (s->ino == ino)
			return s;
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Supervisor: the caller's memory and fds                                  */
/* ------------------------------------------------------------------------ */

static int mem_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, r = { (void *)(uintptr_t)addr, len };

	if (len == 0)
		return 0;
	if (!addr)
		return -EFAULT;
	return process_vm_readv(pid, &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static int mem_write(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec l = { (void *)buf, len }, r = { (void *)(uintptr_t)addr, len };

	if (len == 0)
		return 0;
	if (!addr)
		return -EFAULT;
	return process_vm_writev(pid, &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

/* The inode of the socket at fd @fd of task @pid, or 0 if it is no socket. */
static ino_t fd_socket_ino(pid_t pid, int fd)
{
	char path[64], link[64];
	unsigned long long ino;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	if (sscanf(link, "socket:[%llu]", &ino) != 1)
		return 0;
	return (ino_t)ino;
}

/* A copy of task @pid's fd @fd in this process (pidfd_getfd()), checked to
 * be the socket @ino. Returns the fd or -errno. */
static int grab_fd(pid_t pid, int fd, ino_t ino)
{
	struct stat st;
	int pfd = (int)syscall(SYS_pidfd_open, pid, PIDFD_THREAD), copy, err;

	if (pfd < 0)
		pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return -errno;
	copy = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	err = errno;
	close(pfd);
	if (copy < 0)
		return -err;
	if (fstat(copy, &st) < 0 || st.st_ino != ino) {
		close(copy);
		return -EBADF;
	}
	return copy;
}

/* The thread group id of task @tid (port ids are chosen after it). */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[128];
	FILE *f;
	int tgid = tid;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return tid;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/* ------------------------------------------------------------------------ */
/* Supervisor: answers                                                      */
/* ------------------------------------------------------------------------ */

/* Answer @req: @val, or an error @err (> 0), or let it continue. */
static void respond(const struct seccomp_notif *req, int64_t val, int err, bool cont)
{
	struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);

	if (!resp)
		return;
	resp->id = req->id;
	if (cont)
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	else if (err)
		resp->error = -err;
	else
		resp->val = val;
	/* ENOENT: the caller died meanwhile; nothing to do. */
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT) {
		/* nothing sensible left */
	}
	free(resp);
}

/* Answer a result: >= 0 a value, < 0 an errno. Returns 0 if delivered. */
static int answer(const struct seccomp_notif *req, int64_t r)
{
	struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);
	int ret;

	if (!resp)
		return -1;
	resp->id = req->id;
	if (r < 0)
		resp->error = (int32_t)r;
	else
		resp->val = r;
	ret = ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
	free(resp);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* Supervisor: netlink emulation (as in shim.c)                             */
/* ------------------------------------------------------------------------ */

static uint32_t group_mask(int group)
{
	return group > 0 && group <= 32 ? 1u << (group - 1) : 0;
}

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Send a whole datagram on @fd, waiting for room. Returns 0 or -errno. */
static int send_all(int fd, const void *buf, size_t len)
{
	for (;;) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(fd, POLLOUT, -1) >= 0)
			continue;
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) {
			say(&said_lost, "lost the connection to ctsim at %s", sock_path);
			return -ECONNRESET;
		}
		return -errno;
	}
}

static int ctl_send(int fd, uint16_t op, uint16_t flags, uint32_t a, uint32_t b, pid_t pid)
{
	struct ctsim_ctl c = {
		.magic = CTSIM_CTL_MAGIC, .op = op, .flags = flags, .a = a, .b = b,
		.pid = (uint32_t)pid,
	};

	return send_all(fd, &c, sizeof(c));
}

/* netlink_bind()/netlink_autobind() through ctsim (shim.c's do_bind()). */
static int do_bind(int fd, struct nlsock *s, uint32_t portid, uint32_t groups, pid_t tgid)
{
	uint16_t flags = 0;
	uint32_t a = portid;
	struct timespec t0, t;
	int r;

	if (s->bound) {
		if (portid != s->portid)
			return -EINVAL;
	} else if (portid == 0) {
		flags = CTSIM_BIND_AUTO;
		a = (uint32_t)tgid;
	}
	r = ctl_send(fd, CTSIM_CTL_BIND, flags, a, groups, tgid);
	if (r < 0)
		return r;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct ctsim_ctl c;
		long left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = BIND_TIMEOUT_MS - ((t.tv_sec - t0.tv_sec) * 1000 +
					  (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return -ETIMEDOUT;
		if (wait_fd(fd, POLLIN, (int)left) <= 0)
			continue;
		n = recv(fd, &c, sizeof(c), MSG_PEEK | MSG_DONTWAIT);
		if (n == 0) {
			say(&said_lost, "lost the connection to ctsim at %s", sock_path);
			return -ECONNRESET;
		}
		if (n < 0)
			continue;
		/* A netlink datagram queued before the answer (a re-bind while
		 * subscribed): the shim keeps it aside; here it would have to
		 * be dropped, so refuse instead. */
		if (!ctsim_wire_is_ctl(&c, (size_t)n))
			return -EBUSY;
		if (recv(fd, &c, sizeof(c), MSG_DONTWAIT) < 0)
			return -errno;
		if (c.op != CTSIM_CTL_BIND_REPLY)
			continue;
		if (c.err)
			return -(c.err > 0 ? c.err : -c.err);
		s->bound = true;
		s->portid = c.a;
		s->groups = groups;
		return 0;
	}
}

static int read_addr(pid_t pid, uint64_t addr, uint64_t len, struct sockaddr_nl *nl)
{
	if (!addr)
		return -EFAULT;
	if (len < NL_ADDRLEN)
		return -EINVAL;
	if (mem_read(pid, addr, nl, sizeof(*nl)) < 0)
		return -EFAULT;
	return nl->nl_family == AF_NETLINK ? 0 : -EINVAL;
}

/* getsockname()/getpeername(): netlink_getname() with the usual length rules. */
static int put_name(pid_t pid, uint64_t addr, uint64_t lenp, const struct sockaddr_nl *nl)
{
	int32_t len;

	if (!lenp || mem_read(pid, lenp, &len, sizeof(len)) < 0)
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if (addr && mem_write(pid, addr, nl, (size_t)len < NL_ADDRLEN ? (size_t)len : NL_ADDRLEN) < 0)
		return -EFAULT;
	len = NL_ADDRLEN;
	return mem_write(pid, lenp, &len, sizeof(len));
}

/* A caller's message: what sendmsg/recvmsg and their relatives describe. */
struct umsg {
	uint64_t msghdr;	/* remote struct msghdr (recvmsg), else 0 */
	uint64_t name, namelenp;	/* recvfrom: address and socklen_t * */
	uint32_t namelen;
	uint64_t control;
	uint64_t controllen;
	struct iovec iov[MAX_IOV];
	size_t iovlen;
	int flags;
};

/* Decode the arguments of @nr into @m. Returns 0 or -errno. */
static int get_umsg(const struct seccomp_notif *req, struct umsg *m)
{
	const __u64 *a = req->data.args;
	pid_t pid = (pid_t)req->pid;

	memset(m, 0, offsetof(struct umsg, iov));
	m->iovlen = 1;
	switch (req->data.nr) {
	case SYS_read:
	case SYS_write:
		m->iov[0].iov_base = (void *)(uintptr_t)a[1];
		m->iov[0].iov_len = (size_t)a[2];
		return 0;
	case SYS_readv:
	case SYS_writev:
		/* import_iovec(): a negative or over-long count is EINVAL */
		if ((int)a[2] < 0 || (int)a[2] > MAX_IOV)
			return -EINVAL;
		m->iovlen = (size_t)(int)a[2];
		return m->iovlen ? mem_read(pid, a[1], m->iov, m->iovlen * sizeof(struct iovec)) : 0;
	case SYS_sendto:
	case SYS_recvfrom:
		m->iov[0].iov_base = (void *)(uintptr_t)a[1];
		m->iov[0].iov_len = (size_t)a[2];
		m->flags = (int)a[3];
		m->name = a[4];
		if (req->data.nr == SYS_sendto) {
			m->namelen = m->name ? (uint32_t)a[5] : 0;
		} else if (m->name && a[5]) {
			int32_t l;

			if (mem_read(pid, a[5], &l, sizeof(l)) < 0)
				return -EFAULT;
			m->namelenp = a[5];
			m->namelen = l < 0 ? 0 : (uint32_t)l;
		} else {
			m->name = 0;
		}
		return 0;
	case SYS_sendmsg:
	case SYS_recvmsg: {
		struct msghdr h;

		if (mem_read(pid, a[1], &h, sizeof(h)) < 0)
			return -EFAULT;
		if (h.msg_iovlen > MAX_IOV)
			return -EMSGSIZE;
		m->msghdr = a[1];
		m->name = (uintptr_t)h.msg_name;
		m->namelen = m->name ? h.msg_namelen : 0;
		m->control = (uintptr_t)h.msg_control;
		m->controllen = h.msg_controllen;
		m->iovlen = h.msg_iovlen;
		m->flags = (int)a[2];
		return mem_read(pid, (uintptr_t)h.msg_iov, m->iov, m->iovlen * sizeof(struct iovec));
	}
	default:
		return -ENOSYS;
	}
}

static size_t iov_total(const struct umsg *m)
{
	size_t t = 0;

	for (size_t i = 0; i < m->iovlen; i++)
		t += m->iov[i].iov_len;
	return t;
}

/* netlink_sendmsg(): only the kernel (port 0) is there; autobind; one datagram. */
static int64_t nl_send(const struct seccomp_notif *req, int fd, struct nlsock *s)
{
	struct umsg *m = malloc(sizeof(*m));
	pid_t pid = (pid_t)req->pid;
	uint32_t dst;
	size_t len, off = 0;
	int64_t r;

	if (!m)
		return -ENOMEM;
	r = get_umsg(req, m);
	if (r < 0)
		goto out;
	if (m->flags & MSG_OOB) {
		r = -EOPNOTSUPP;
		goto out;
	}
	if (m->namelen) {
		struct sockaddr_nl nl;

		r = read_addr(pid, m->name, m->namelen, &nl);
		if (r < 0)
			goto out;
		dst = nl.nl_pid;
	} else {
		dst = s->dst_portid;
	}
	if (dst != 0) {
		r = -ECONNREFUSED;
		goto out;
	}
	if (!s->bound && (r = do_bind(fd, s, 0, s->groups, tgid_of(pid))) < 0)
		goto out;
	len = iov_total(m);
	if (len == 0) {
		r = -ENODATA;
		goto out;
	}
	if (len > MAX_DGRAM) {
		r = -EMSGSIZE;
		goto out;
	}
	for (size_t i = 0; i < m->iovlen; i++) {
		if (mem_read(pid, (uintptr_t)m->iov[i].iov_base, dgram + off, m->iov[i].iov_len) < 0) {
			r = -EFAULT;
			goto out;
		}
		off += m->iov[i].iov_len;
	}
	r = send_all(fd, dgram, len);
	if (r == 0) {
		struct nlmsghdr h;

		memcpy(&h, dgram, len < sizeof(h) ? len : sizeof(h));
		if (len >= sizeof(h) && ((h.nlmsg_type >> 8) == NFNL_SUBSYS_NFTABLES ||
					 h.nlmsg_type == NFNL_MSG_BATCH_BEGIN ||
					 h.nlmsg_type == NFNL_MSG_BATCH_END)) {
			/* as shim.c: ctsim answers EOPNOTSUPP; have it queued
			 * before returning, as the kernel would */
			say(&said_nftables, "nf_tables is not emulated; see ctctl ruleset");
			wait_fd(fd, POLLIN, BIND_TIMEOUT_MS);
		}
		r = (int64_t)len;
	}
out:
	free(m);
	return r;
}

/*
 * netlink_recvmsg(): one datagram, control messages consumed on the way.
 * Returns 1 if answered, 0 if it must wait for data (parked by the caller).
 */
static int nl_recv(const struct seccomp_notif *req, int fd, struct nlsock *s)
{
	struct umsg *m = malloc(sizeof(*m));
	pid_t pid = (pid_t)req->pid;
	bool pktinfo = s->opts & (1u << NETLINK_PKTINFO);
	int64_t r;

	if (!m)
		return answer(req, -ENOMEM), 1;
	r = get_umsg(req, m);
	if (r < 0)
		goto done;
	for (;;) {
		size_t cap = iov_total(m), n, off = 0;
		int group, mflags;
		ssize_t got = recv(fd, dgram, MAX_DGRAM, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);

		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int fl = fcntl(fd, F_GETFL);

			if ((m->flags & MSG_DONTWAIT) || (fl >= 0 && (fl & O_NONBLOCK))) {
				r = -EAGAIN;
				goto done;
			}
			free(m);
			return 0;	/* park */
		}
		if (got < 0) {
			r = -errno;
			goto done;
		}
		if (got == 0) {
			say(&said_lost, "lost the connection to ctsim at %s", sock_path);
			r = -ECONNRESET;
			goto done;
		}
		n = (size_t)got;
		if (ctsim_wire_is_ctl(dgram, n)) {
			struct ctsim_ctl c;

			memcpy(&c, dgram, sizeof(c));
			if (recv(fd, dgram, sizeof(c), MSG_DONTWAIT) < 0) {
				r = -errno;
				goto done;
			}
			if (c.op == CTSIM_CTL_ENOBUFS && !(s->opts & (1u << NETLINK_NO_ENOBUFS))) {
				r = -ENOBUFS;
				goto done;
			}
			continue;
		}
		/* the data */
		for (size_t i = 0; i < m->iovlen && off < n && off < MAX_DGRAM; i++) {
			size_t c = m->iov[i].iov_len < n - off ? m->iov[i].iov_len : n - off;

			if (off + c > MAX_DGRAM)
				c = MAX_DGRAM - off;
			if (mem_write(pid, (uintptr_t)m->iov[i].iov_base, dgram + off, c) < 0) {
				r = -EFAULT;
				goto done;
			}
			off += c;
		}
		group = ctsim_wire_event_group(dgram, n);
		mflags = n > cap ? MSG_TRUNC : 0;
		/* the sender: the kernel, with the event's group */
		if (m->name) {
			struct sockaddr_nl nl = { .nl_family = AF_NETLINK,
						  .nl_groups = group_mask(group) };
			uint32_t nlen = NL_ADDRLEN;

			if (mem_write(pid, m->name, &nl, m->namelen < NL_ADDRLEN ? m->namelen : NL_ADDRLEN) < 0) {
				r = -EFAULT;
				goto done;
			}
			if (m->namelenp)
				mem_write(pid, m->namelenp, &nlen, sizeof(nlen));
			else if (m->msghdr)
				mem_write(pid, m->msghdr + offsetof(struct msghdr, msg_namelen),
					  &nlen, sizeof(nlen));
		} else if (m->msghdr) {
			uint32_t zero = 0;

			mem_write(pid, m->msghdr + offsetof(struct msghdr, msg_namelen), &zero, sizeof(zero));
		}
		if (m->msghdr) {
			size_t clen = 0;

			if (pktinfo && m->control && m->controllen >= CMSG_LEN(sizeof(struct nl_pktinfo))) {
				/* netlink_cmsg_recv_pktinfo() */
				unsigned char cbuf[CMSG_SPACE(sizeof(struct nl_pktinfo))] = { 0 };
				struct cmsghdr *c = (struct cmsghdr *)cbuf;
				struct nl_pktinfo info = { .group = (uint32_t)group };

				c->cmsg_level = SOL_NETLINK;
				c->cmsg_type = NETLINK_PKTINFO;
				c->cmsg_len = CMSG_LEN(sizeof(info));
				memcpy(CMSG_DATA(c), &info, sizeof(info));
				clen = m->controllen < sizeof(cbuf) ? CMSG_LEN(sizeof(info)) : sizeof(cbuf);
				mem_write(pid, m->control, cbuf, clen);
			} else if (pktinfo) {
				mflags |= MSG_CTRUNC;
			}
			mem_write(pid, m->msghdr + offsetof(struct msghdr, msg_controllen), &clen, sizeof(clen));
			mem_write(pid, m->msghdr + offsetof(struct msghdr, msg_flags), &mflags, sizeof(mflags));
		}
		r = (m->flags & MSG_TRUNC) || n <= cap ? (int64_t)n : (int64_t)cap;
		/* Deliver, then take the datagram off the queue: the caller got it. */
		if (answer(req, r) == 0 && !(m->flags & MSG_PEEK)) {
			if (recv(fd, dgram, 1, MSG_DONTWAIT) < 0) {
				/* another reader took it meanwhile */
			}
		}
		free(m);
		return 1;
	}
done:
	answer(req, r);
	free(m);
	return 1;
}

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

/* netlink_setsockopt(), forwarded to ctsim. -1 (not 0/-errno): continue natively. */
static int64_t nl_setsockopt(const struct seccomp_notif *req, int fd, struct nlsock *s)
{
	const __u64 *a = req->data.args;
	pid_t pid = (pid_t)req->pid;
	int opt = (int)a[2];
	uint32_t v = 0;
	int r;

	if ((int)a[1] != SOL_NETLINK)
		return 1;	/* continue natively */
	if ((uint32_t)a[4] >= sizeof(int) && mem_read(pid, a[3], &v, sizeof(v)) < 0)
		return -EFAULT;
	if (opt == NETLINK_ADD_MEMBERSHIP || opt == NETLINK_DROP_MEMBERSHIP) {
		if (v == 0 || v > NFNL_NGROUPS)
			return -EINVAL;
		r = ctl_send(fd, CTSIM_CTL_SETSOCKOPT, 0, (uint32_t)opt, v, tgid_of(pid));
		if (r < 0)
			return r;
		if (opt == NETLINK_ADD_MEMBERSHIP)
			s->groups |= group_mask((int)v);
		else
			s->groups &= ~group_mask((int)v);
		return 0;
	}
	if (!is_flag_opt(opt))
		return -ENOPROTOOPT;
	r = ctl_send(fd, CTSIM_CTL_SETSOCKOPT, 0, (uint32_t)opt, v ? 1 : 0, tgid_of(pid));
	if (r < 0)
		return r;
	if (v)
		s->opts |= 1u << opt;
	else
		s->opts &= ~(1u << opt);
	return 0;
}

static int put_int(pid_t pid, uint64_t val, uint64_t lenp, int v)
{
	int32_t len;

	if (!lenp || !val || mem_read(pid, lenp, &len, sizeof(len)) < 0)
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if ((size_t)len > sizeof(int))
		len = sizeof(int);
	if (mem_write(pid, val, &v, (size_t)len) < 0)
		return -EFAULT;
	return mem_write(pid, lenp, &len, sizeof(len));
}

/* netlink_getsockopt() and the SO_ identity options. 1: continue natively. */
static int64_t nl_getsockopt(const struct seccomp_notif *req, struct nlsock *s)
{
	const __u64 *a = req->data.args;
	pid_t pid = (pid_t)req->pid;
	int level = (int)a[1], opt = (int)a[2];
	int32_t len;

	if (level == SOL_SOCKET) {
		switch (opt) {
		case SO_DOMAIN:
			return put_int(pid, a[3], a[4], AF_NETLINK);
		case SO_PROTOCOL:
			return put_int(pid, a[3], a[4], NETLINK_NETFILTER);
		case SO_TYPE:
			return put_int(pid, a[3], a[4], s->type);
		default:
			return 1;
		}
	}
	if (level != SOL_NETLINK)
		return 1;
	if (!a[3] || !a[4] || mem_read(pid, a[4], &len, sizeof(len)) < 0)
		return -EFAULT;
	if (opt == NETLINK_LIST_MEMBERSHIPS) {
		if (len >= (int32_t)sizeof(uint32_t) && mem_write(pid, a[3], &s->groups, 4) < 0)
			return -EFAULT;
		len = sizeof(uint32_t);
		return mem_write(pid, a[4], &len, sizeof(len));
	}
	if (!is_flag_opt(opt) || opt == NETLINK_LISTEN_ALL_NSID)
		return -ENOPROTOOPT;
	if (len < (int32_t)sizeof(int))
		return -EINVAL;
	return put_int(pid, a[3], a[4], (int)((s->opts >> opt) & 1));
}

/* ------------------------------------------------------------------------ */
/* Supervisor: socket() and dispatch                                        */
/* ------------------------------------------------------------------------ */

/* Connect to ctsim with @type's flags, as shim.c's connect_daemon(). */
static int connect_daemon(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, saved;

	if (strlen(sock_path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		saved = errno;
		close(fd);
		say(&said_unreachable, "cannot reach ctsim at %s: %s (is ctsim running?)",
		    sock_path, strerror(saved));
		return -saved;
	}
	return fd;
}

/* socket(AF_NETLINK, type, NETLINK_NETFILTER) for the caller: netlink_create(). */
static void do_socket(const struct seccomp_notif *req)
{
	int type = (int)req->data.args[1], base = type & SOCK_TYPE_MASK;
	pid_t pid = (pid_t)req->pid;
	struct seccomp_notif_addfd add = { .id = req->id };
	struct nlsock *s;
	struct stat st;
	int fd, target = -1, r;

	if (base != SOCK_RAW && base != SOCK_DGRAM) {
		answer(req, -ESOCKTNOSUPPORT);
		return;
	}
	if (type & ~(SOCK_TYPE_MASK | SOCK_CLOEXEC | SOCK_NONBLOCK)) {
		answer(req, -EINVAL);
		return;
	}
	/* A free fd of the reserved range, from the top. */
	for (int n = SUP_FD_TOP; n >= SUP_FD_BASE && target < 0; n--) {
		char path[64];
		struct stat ls;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, n);
		if (lstat(path, &ls) < 0 && errno == ENOENT)
			target = n;
	}
	if (target < 0) {
		answer(req, -EMFILE);
		return;
	}
	fd = connect_daemon();
	if (fd < 0) {
		answer(req, fd);
		return;
	}
	if ((type & SOCK_NONBLOCK) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		r = -errno;
		close(fd);
		answer(req, r);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s || fstat(fd, &st) < 0) {
		free(s);
		close(fd);
		answer(req, -ENOMEM);
		return;
	}
	s->ino = st.st_ino;
	s->type = base;
	add.flags = SECCOMP_ADDFD_FLAG_SETFD | SECCOMP_ADDFD_FLAG_SEND;
	add.srcfd = (uint32_t)fd;
	add.newfd = (uint32_t)target;
	add.newfd_flags = (type & SOCK_CLOEXEC) ? O_CLOEXEC : 0;
	r = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
	close(fd);
	if (r < 0) {
		int err = errno;

		free(s);
		if (err != ENOENT)
			answer(req, err == EBADF ? -EMFILE : -err);
		return;
	}
	prune_socks();
	s->next = socks;
	socks = s;
	nsocks++;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void park(const struct seccomp_notif *req, int fd)
{
	struct seccomp_notif *copy;

	/* One thread has one system call at a time: an older one from the same
	 * task is gone. */
	for (size_t i = 0; i < nparked; i++) {
		if (parked[i].req->pid == req->pid) {
			close(parked[i].fd);
			free(parked[i].req);
			parked[i] = parked[--nparked];
			break;
		}
	}
	copy = malloc(sizes.seccomp_notif);
	if (nparked == MAX_PARKED || !copy) {
		free(copy);
		close(fd);
		answer(req, -ENOMEM);
		return;
	}
	memcpy(copy, req, sizes.seccomp_notif);
	parked[nparked].req = copy;
	parked[nparked].fd = fd;
	parked[nparked].deadline = 0;
	{
		/* sock_rcvtimeo(): a blocking receive gives up with EAGAIN */
		struct timeval tv;
		socklen_t tl = sizeof(tv);

		if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl) == 0 &&
		    (tv.tv_sec || tv.tv_usec))
			parked[nparked].deadline = mono_ms() + tv.tv_sec * 1000LL +
						   (tv.tv_usec + 999) / 1000;
	}
	nparked++;
}

/* Handle one notification. */
static void handle(const struct seccomp_notif *req)
{
	const __u64 *a = req->data.args;
	pid_t pid = (pid_t)req->pid;
	int nr = req->data.nr, fd;
	struct nlsock *s;
	ino_t ino;
	int64_t r = 0;

	cur_pid = pid;
	if (nr == SYS_socket) {
		do_socket(req);
		return;
	}
	ino = fd_socket_ino(pid, (int)a[0]);
	s = ino ? find_sock(ino) : NULL;
	if (!s) {
		respond(req, 0, 0, true);	/* not ours: the kernel does it */
		return;
	}
	fd = grab_fd(pid, (int)a[0], ino);
	if (fd < 0) {
		answer(req, fd);
		return;
	}
	switch (nr) {
	case SYS_bind: {
		struct sockaddr_nl nl;

		r = read_addr(pid, a[1], (uint32_t)a[2], &nl);
		if (r == 0)
			r = do_bind(fd, s, nl.nl_pid, nl.nl_groups & ((1u << NFNL_NGROUPS) - 1),
				    tgid_of(pid));
		break;
	}
	case SYS_connect: {
		struct sockaddr_nl nl;
		uint16_t family = 0;

		if (a[1] && (uint32_t)a[2] >= sizeof(family))
			mem_read(pid, a[1], &family, sizeof(family));
		if (family == AF_UNSPEC && a[1]) {
			s->dst_portid = 0;
			s->dst_groups = 0;
		} else if ((r = read_addr(pid, a[1], (uint32_t)a[2], &nl)) == 0) {
			if (!s->bound)
				r = do_bind(fd, s, 0, s->groups, tgid_of(pid));
			if (r == 0) {
				s->dst_portid = nl.nl_pid;
				s->dst_groups = group_mask(__builtin_ffs((int)nl.nl_groups));
			}
		}
		break;
	}
	case SYS_getsockname:
	case SYS_getpeername: {
		struct sockaddr_nl nl = { .nl_family = AF_NETLINK };

		if (nr == SYS_getsockname) {
			nl.nl_pid = s->bound ? s->portid : 0;
			nl.nl_groups = s->groups;
		} else {
			nl.nl_pid = s->dst_portid;
			nl.nl_groups = s->dst_groups;
		}
		r = put_name(pid, a[1], a[2], &nl);
		break;
	}
	case SYS_setsockopt:
		r = nl_setsockopt(req, fd, s);
		break;
	case SYS_getsockopt:
		r = nl_getsockopt(req, s);
		break;
	case SYS_sendto:
	case SYS_sendmsg:
	case SYS_write:
	case SYS_writev:
		r = nl_send(req, fd, s);
		break;
	case SYS_recvfrom:
	case SYS_recvmsg:
	case SYS_read:
	case SYS_readv:
		if (!nl_recv(req, fd, s)) {
			park(req, fd);
			return;
		}
		close(fd);
		return;
	default:
		r = 1;
		break;
	}
	close(fd);
	if (r == 1 && (nr == SYS_setsockopt || nr == SYS_getsockopt))
		respond(req, 0, 0, true);
	else
		answer(req, r);
}

/*
 * Retry the parked receives whose socket became readable (or whose caller
 * is gone). @p[1 + i] was polled for parked[i]; going down keeps the
 * indices below i valid when an entry is removed (swapped with the last).
 */
static void run_parked(const struct pollfd *p, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		struct parked *pk = &parked[i];
		uint64_t id = pk->req->id;
		struct nlsock *s = NULL;
		struct stat st;

		if (!p[1 + i].revents && pk->deadline && mono_ms() >= pk->deadline) {
			answer(pk->req, -EAGAIN);	/* SO_RCVTIMEO expired */
			close(pk->fd);
			free(pk->req);
			*pk = parked[--nparked];
			continue;
		}
		if (!p[1 + i].revents)
			continue;
		cur_pid = (pid_t)pk->req->pid;
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0) {
			s = fstat(pk->fd, &st) == 0 ? find_sock(st.st_ino) : NULL;
			if (!s)
				answer(pk->req, -EBADF);
			else if (!nl_recv(pk->req, pk->fd, s))
				continue;	/* still nothing: stays parked */
		}
		close(pk->fd);
		free(pk->req);
		*pk = parked[--nparked];
	}
}

/* The supervisor's loop; returns when no task uses the filter any more. */
static void supervise(void)
{
	struct seccomp_notif *req = malloc(sizes.seccomp_notif);
	struct pollfd *p = calloc(1 + MAX_PARKED, sizeof(*p));

	dgram = malloc(MAX_DGRAM);
	if (!req || !p || !dgram)
		return;
	for (;;) {
		size_t n = nparked;

		p[0].fd = listener;
		p[0].events = POLLIN;
		for (size_t i = 0; i < n; i++) {
			p[1 + i].fd = parked[i].fd;
			p[1 + i].events = POLLIN;
			p[1 + i].revents = 0;
		}
		int wait = n ? 200 : -1;

		for (size_t i = 0; i < n; i++) {
			if (parked[i].deadline) {
				long long left = parked[i].deadline - mono_ms();

				if (left < wait)
					wait = left < 0 ? 0 : (int)left;
			}
		}
		if (poll(p, 1 + n, wait) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (n) {
			/* also every 200 ms, to drop receives whose caller died */
			for (size_t i = 0; i < n; i++)
				if (!p[1 + i].revents) {
					uint64_t id = parked[i].req->id;

					if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0)
						p[1 + i].revents = POLLERR;
				}
			run_parked(p, n);
		}
		if (p[0].revents & POLLIN) {
			memset(req, 0, sizes.seccomp_notif);
			if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
				handle(req);
		} else if (p[0].revents & (POLLHUP | POLLERR)) {
			return;
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Launcher                                                                 */
/* ------------------------------------------------------------------------ */

/* Pass @fd over the unix socket @sock. */
static int send_fd(int sock, int fd)
{
	char byte = 'L';
	struct iovec iov = { &byte, 1 };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	memset(&u, 0, sizeof(u));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char byte;
	struct iovec iov = { &byte, 1 };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/*
 * Start the supervisor: a grandchild (re-parented away from COMMAND, which
 * must not see an extra child) that waits for the listener on @sv[1].
 */
static int start_supervisor(int sv[2])
{
	pid_t a;
	int st;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	a = fork();
	if (a < 0)
		return -1;
	if (a == 0) {
		pid_t b = fork();

		if (b != 0)
			_exit(b < 0);
		close(sv[0]);
		/* Keep none of the fds COMMAND inherits (a pipe a parent
		 * watches for EOF must close when COMMAND's side does). */
		if (sv[1] > STDERR_FILENO) {
			if (sv[1] > STDERR_FILENO + 1)
				close_range(STDERR_FILENO + 1, (unsigned)sv[1] - 1, 0);
			close_range((unsigned)sv[1] + 1, ~0u, 0);
		}
		/* The terminal's job-control signals are COMMAND's business;
		 * the supervisor ends with COMMAND (POLLHUP). */
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		signal(SIGTSTP, SIG_IGN);
		if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
			_exit(1);
		listener = recv_fd(sv[1]);
		if (listener < 0)
			_exit(0);	/* the launcher fell back to the plain filter */
		if (write(sv[1], "k", 1) != 1)
			_exit(1);
		close(sv[1]);
		/* No stdio: see say(). */
		for (int fd = 0; fd < 3; fd++) {
			int nul = open("/dev/null", O_RDWR);

			if (nul >= 0 && nul != fd) {
				dup2(nul, fd);
				close(nul);
			}
		}
		supervise();
		_exit(0);
	}
	close(sv[1]);
	sv[1] = -1;
	if (waitpid(a, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return 0;
}

/*
 * Install the filter: with the supervisor when the kernel offers user
 * notification with ADDFD (Linux >= 5.14 for FLAG_SEND, 5.19 for
 * WAIT_KILLABLE_RECV), else the refusing one. Returns 0 or -1 with errno.
 */
static int install(void)
{
	static const unsigned int flag_sets[] = {
		SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
		0,	/* no user notification: refuse */
	};
	int sv[2] = { -1, -1 };
	bool sup = start_supervisor(sv) == 0;

	for (size_t i = sup ? 0 : 1; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		scmp_filter_ctx ctx = build_filter(flag_sets[i] != 0);
		int r;

		if (!ctx)
			return -1;
		r = load_filter(ctx, flag_sets[i]);
		seccomp_release(ctx);
		if (r < 0 && flag_sets[i] && (errno == EINVAL || errno == ENOSYS))
			continue;	/* an older kernel: the refusing filter */
		if (r < 0)
			return -1;
		if (flag_sets[i]) {
			char k;

			if (send_fd(sv[0], r) < 0 || read(sv[0], &k, 1) != 1) {
				/* no supervisor: calls would fail with ENOSYS,
				 * safe but useless; say so */
				fprintf(stderr, "%s: the seccomp supervisor did not start\n", PROG);
				close(r);
				errno = ECHILD;
				return -1;
			}
			close(r);
		}
		break;
	}
	if (sv[0] >= 0)
		close(sv[0]);
	return 0;
}

int main(int argc, char **argv)
{
	int arg = 1;

	if (arg < argc && strcmp(argv[arg], "--") == 0)
		arg++;
	if (arg >= argc) {
		fprintf(stderr, "usage: ctsim-exec-guard COMMAND [ARG...]\n");
		return 2;
	}
	sock_path = getenv(CTSIM_SOCKET_ENV);
	if (!sock_path || !*sock_path)
		sock_path = CTSIM_DEFAULT_SOCKET;
	if (install() < 0) {
		fprintf(stderr, "%s: cannot install the seccomp filter that keeps %s away "
			"from the kernel's conntrack: %s\n", PROG, argv[arg], strerror(errno));
		return 127;
	}
	execvp(argv[arg], argv + arg);
	fprintf(stderr, "%s: %s: %s\n", PROG, argv[arg], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
