/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rawct.c — a conntrack client that talks netlink with plain system calls,
 * built statically by the tests (gcc -static), so that no LD_PRELOAD shim
 * can see its socket(): the kind of program ctsim-exec's seccomp guard and
 * supervisor exist for (proto/ctsim_guard.c).
 *
 *   rawct list                       dump the table: one line per entry,
 *                                    "PROTO SRC DST SPORT DPORT" (original)
 *   rawct create SRC DST SPORT DPORT TIMEOUT    a UDP IPv4 entry
 *   rawct delete SRC DST SPORT DPORT            the UDP IPv4 entry
 *   rawct churn N                    N sockets opened, bound, used, closed;
 *                                    prints how many answered a dump
 *   rawct semantics                  socket choreography: one "fact=value"
 *                                    line per step (compared with the kernel)
 *
 * Exit 0 on success; 2 and "rawct: socket: ..." if the socket cannot be
 * had; 1 and "rawct: error N (...)" if the peer answers an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

static unsigned char buf[1 << 16];
static size_t len;

static void *put(const void *p, size_t n)
{
	void *at = buf + len;

	memcpy(at, p, n);
	len += NLMSG_ALIGN(n);
	return at;
}

static struct nlattr *attr(int type, const void *data, size_t n)
{
	struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + n), .nla_type = (uint16_t)type };
	struct nlattr *at = put(&a, NLA_HDRLEN);

	if (n)
		put(data, n);
	return at;
}

static void nest_end(struct nlattr *a)
{
	a->nla_len = (uint16_t)(buf + len - (unsigned char *)a);
}

static void tuple(int type, const char *src, const char *dst, int sport, int dport)
{
	struct nlattr *t = attr(type | NLA_F_NESTED, NULL, 0), *n;
	struct in_addr a;
	uint8_t proto = 17;
	uint16_t p;

	n = attr(CTA_TUPLE_IP | NLA_F_NESTED, NULL, 0);
	inet_pton(AF_INET, src, &a);
	attr(CTA_IP_V4_SRC, &a, 4);
	inet_pton(AF_INET, dst, &a);
	attr(CTA_IP_V4_DST, &a, 4);
	nest_end(n);
	n = attr(CTA_TUPLE_PROTO | NLA_F_NESTED, NULL, 0);
	attr(CTA_PROTO_NUM, &proto, 1);
	p = htons((uint16_t)sport);
	attr(CTA_PROTO_SRC_PORT, &p, 2);
	p = htons((uint16_t)dport);
	attr(CTA_PROTO_DST_PORT, &p, 2);
	nest_end(n);
	nest_end(t);
}

static struct nlmsghdr *start(int msg, int flags, int family)
{
	struct nlmsghdr h = { .nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg,
			      .nlmsg_flags = NLM_F_REQUEST | flags, .nlmsg_seq = 4242 };
	struct nfgenmsg g = { .nfgen_family = (uint8_t)family, .version = NFNETLINK_V0 };

	len = 0;
	put(&h, sizeof(h));
	put(&g, sizeof(g));
	return (struct nlmsghdr *)buf;
}

/* Print the original tuple of a CT_NEW message. */
static void print_entry(struct nlmsghdr *h)
{
	char src[64] = "?", dst[64] = "?";
	int proto = -1, sport = -1, dport = -1;
	struct nfgenmsg *g = NLMSG_DATA(h);
	unsigned char *p = (unsigned char *)(g + 1), *end = (unsigned char *)h + h->nlmsg_len;

	for (struct nlattr *a = (void *)p; (unsigned char *)a + NLA_HDRLEN <= end && a->nla_len >= NLA_HDRLEN;
	     a = (void *)((unsigned char *)a + NLA_ALIGN(a->nla_len))) {
		if ((a->nla_type & NLA_TYPE_MASK) != CTA_TUPLE_ORIG)
			continue;
		unsigned char *te = (unsigned char *)a + a->nla_len;
		for (struct nlattr *t = (void *)(a + 1); (unsigned char *)t < te;
		     t = (void *)((unsigned char *)t + NLA_ALIGN(t->nla_len))) {
			unsigned char *ie = (unsigned char *)t + t->nla_len;
			for (struct nlattr *i = (void *)(t + 1); (unsigned char *)i < ie;
			     i = (void *)((unsigned char *)i + NLA_ALIGN(i->nla_len))) {
				void *d = (unsigned char *)i + NLA_HDRLEN;
				int it = i->nla_type & NLA_TYPE_MASK;

				if ((t->nla_type & NLA_TYPE_MASK) == CTA_TUPLE_IP) {
					if (it == CTA_IP_V4_SRC) inet_ntop(AF_INET, d, src, sizeof(src));
					if (it == CTA_IP_V4_DST) inet_ntop(AF_INET, d, dst, sizeof(dst));
					if (it == CTA_IP_V6_SRC) inet_ntop(AF_INET6, d, src, sizeof(src));
					if (it == CTA_IP_V6_DST) inet_ntop(AF_INET6, d, dst, sizeof(dst));
				} else if ((t->nla_type & NLA_TYPE_MASK) == CTA_TUPLE_PROTO) {
					if (it == CTA_PROTO_NUM) proto = *(uint8_t *)d;
					if (it == CTA_PROTO_SRC_PORT) sport = ntohs(*(uint16_t *)d);
					if (it == CTA_PROTO_DST_PORT) dport = ntohs(*(uint16_t *)d);
				}
			}
		}
		break;
	}
	printf("%d %s %s %d %d\n", proto, src, dst, sport, dport);
}

/* Send buf, then read until DONE or an ACK/error. Returns 0 or the errno. */
static int talk(int fd)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	static unsigned char rb[1 << 16];

	((struct nlmsghdr *)buf)->nlmsg_len = (uint32_t)len;
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		fprintf(stderr, "rawct: sendto: %s\n", strerror(errno));
		exit(2);
	}
	for (;;) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, rb, sizeof(rb), 0, (struct sockaddr *)&from, &fl);

		if (n < 0) {
			fprintf(stderr, "rawct: recvfrom: %s\n", strerror(errno));
			exit(2);
		}
		if (fl != sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0) {
			fprintf(stderr, "rawct: reply not from the kernel's netlink address\n");
			exit(2);
		}
		for (struct nlmsghdr *h = (void *)rb; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -((struct nlmsgerr *)NLMSG_DATA(h))->error;
			print_entry(h);
		}
	}
}


/* Send a dump request on @fd (buf). */
static void send_dump(int fd)
{
	start(IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_UNSPEC);
	((struct nlmsghdr *)buf)->nlmsg_len = (uint32_t)len;
	if (send(fd, buf, len, 0) < 0)
		printf("send_dump_errno=%d\n", errno);
}

/* Read datagrams until NLMSG_DONE; returns the number of entries. */
static int drain_dump(int fd)
{
	static unsigned char rb[1 << 16];
	int entries = 0;

	for (;;) {
		ssize_t n = recv(fd, rb, sizeof(rb), 0);

		if (n <= 0)
			return -1;
		for (struct nlmsghdr *h = (void *)rb; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				return entries;
			entries++;
		}
	}
}

#define FACT(name, expr) printf("%s=%ld\n", name, (long)(expr))

/* The choreography of tests/test_shim.py's socket semantics, with raw calls. */
static int semantics(void)
{
	struct sockaddr_nl me, peer = { .nl_family = AF_NETLINK }, bad = { .nl_family = AF_NETLINK, .nl_pid = 1234 };
	socklen_t ml = sizeof(me);
	unsigned char small[16];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	int v, r;
	socklen_t vl;
	struct pollfd p;
	pid_t child;

	FACT("socket_ok", fd >= 0);
	memset(&me, 0xff, sizeof(me));
	getsockname(fd, (struct sockaddr *)&me, &ml);
	FACT("name_before_bind_family", me.nl_family);
	FACT("name_before_bind_pid", me.nl_pid);
	FACT("name_len", ml);
	vl = sizeof(v);
	getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &vl);
	FACT("so_protocol", v);
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vl);
	FACT("so_type", v);
	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &vl);
	FACT("so_domain", v);
	memset(&me, 0, sizeof(me));
	me.nl_family = AF_INET;
	r = bind(fd, (struct sockaddr *)&me, sizeof(me));
	FACT("bind_bad_family", r < 0 ? errno : 0);
	me.nl_family = AF_NETLINK;
	FACT("bind", bind(fd, (struct sockaddr *)&me, sizeof(me)));
	ml = sizeof(me);
	getsockname(fd, (struct sockaddr *)&me, &ml);
	FACT("portid_is_pid", me.nl_pid == (uint32_t)getpid());
	v = 1;
	FACT("pktinfo_set", setsockopt(fd, SOL_NETLINK, NETLINK_PKTINFO, &v, sizeof(v)));
	v = 0;
	vl = sizeof(v);
	getsockopt(fd, SOL_NETLINK, NETLINK_PKTINFO, &v, &vl);
	FACT("pktinfo_get", v);
	v = 99;
	r = setsockopt(fd, SOL_NETLINK, 4242, &v, sizeof(v));
	FACT("bad_opt", r < 0 ? errno : 0);
	v = NFNLGRP_CONNTRACK_DESTROY;
	FACT("add_membership", setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &v, sizeof(v)));
	v = 0;
	vl = sizeof(v);
	getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, &v, &vl);
	FACT("memberships", v);
	v = NFNLGRP_CONNTRACK_DESTROY;
	setsockopt(fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &v, sizeof(v));
	r = (int)sendto(fd, "x", 1, 0, (struct sockaddr *)&bad, sizeof(bad));
	FACT("send_to_port_1234", r < 0 ? errno : 0);
	FACT("connect", connect(fd, (struct sockaddr *)&peer, sizeof(peer)));
	ml = sizeof(peer);
	memset(&peer, 0xff, sizeof(peer));
	getpeername(fd, (struct sockaddr *)&peer, &ml);
	FACT("peer_pid", peer.nl_pid);

	/* nothing queued: a non-blocking receive says EAGAIN */
	r = (int)recv(fd, small, sizeof(small), MSG_DONTWAIT);
	FACT("recv_empty", r < 0 ? errno : r);
	{
		/* SO_RCVTIMEO: a blocking receive with nothing queued gives up */
		struct timeval tv = { 0, 150000 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		r = (int)recv(fd, small, sizeof(small), 0);
		FACT("recv_timeout", r < 0 ? errno : r);
		tv.tv_usec = 0;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	send_dump(fd);
	p.fd = fd;
	p.events = POLLIN;
	FACT("poll", poll(&p, 1, 5000));
	/* peek with MSG_TRUNC: the real length, the datagram stays */
	r = (int)recv(fd, small, sizeof(small), MSG_PEEK | MSG_TRUNC);
	FACT("peek_trunc_longer", r > (int)sizeof(small));
	{
		struct sockaddr_nl from;
		struct iovec iov = { small, sizeof(small) };
		char cbuf[CMSG_SPACE(sizeof(struct nl_pktinfo))];
		struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from),
				    .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };

		r = (int)recvmsg(fd, &m, 0);
		FACT("recvmsg_truncated_len", r);
		FACT("recvmsg_flags_trunc", !!(m.msg_flags & MSG_TRUNC));
		FACT("recvmsg_from_pid", from.nl_pid);
		FACT("recvmsg_from_family", from.nl_family);
		FACT("recvmsg_namelen", m.msg_namelen);
		FACT("recvmsg_pktinfo", m.msg_controllen > 0 && CMSG_FIRSTHDR(&m) &&
					CMSG_FIRSTHDR(&m)->cmsg_type == NETLINK_PKTINFO);
	}
	/* the rest of the dump, if any (the truncated datagram may have been all) */
	while (poll(&p, 1, 300) > 0)
		if (recv(fd, small, sizeof(small), MSG_DONTWAIT) < 0)
			break;
	r = (int)recv(fd, small, sizeof(small), MSG_DONTWAIT);
	FACT("recv_after_dump", r < 0 ? errno : r);
	r = (int)send(fd, buf, 0, 0);
	FACT("send_empty", r < 0 ? errno : r);

	/* fork: the parent closes its copy, the child goes on */
	child = fork();
	if (child == 0) {
		usleep(100000);
		send_dump(fd);
		_exit(drain_dump(fd) >= 0 ? 0 : 1);
	}
	close(fd);
	{
		int st;

		waitpid(child, &st, 0);
		FACT("fork_child_ok", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	/* a blocking read waits for a datagram (parked by the supervisor) */
	fd = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_NETFILTER);
	child = fork();
	if (child == 0) {
		usleep(200000);
		_exit(0);
	}
	send_dump(fd);
	FACT("blocking_read_entries", drain_dump(fd) >= 0);
	waitpid(child, NULL, 0);
	close(fd);
	/* writev/readv: sendmsg/recvmsg without address or flags; a CT_GET
	 * without a tuple is answered with EINVAL and the request echoed */
	fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
	{
		struct nlmsghdr *h = start(IPCTNL_MSG_CT_GET, NLM_F_ACK, AF_INET);
		struct iovec out[2], in[2];
		struct nlmsghdr got;
		unsigned char rest[256];
		struct nlmsgerr *e = (struct nlmsgerr *)rest;
		volatile int bad_count = -1, many_count = 2000;

		h->nlmsg_len = (uint32_t)len;
		out[0] = (struct iovec){ buf, 6 };
		out[1] = (struct iovec){ buf + 6, len - 6 };
		r = (int)writev(fd, out, 2);
		FACT("writev", r);
		in[0] = (struct iovec){ &got, sizeof(got) };
		in[1] = (struct iovec){ rest, sizeof(rest) };
		r = (int)readv(fd, in, 2);
		FACT("readv", r);
		FACT("readv_type", got.nlmsg_type);
		FACT("readv_error", e->error);
		/* counts the compiler cannot see: the call is meant to fail */
		r = (int)readv(fd, in, bad_count);
		FACT("readv_bad_count", r < 0 ? errno : 0);
		r = (int)writev(fd, out, many_count);
		FACT("writev_bad_count", r < 0 ? errno : 0);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_nl me = { .nl_family = AF_NETLINK };
	socklen_t ml = sizeof(me);
	int fd, err;

	if (argc < 2)
		return 3;
	if (strcmp(argv[1], "semantics") == 0)
		return semantics();
	if (strcmp(argv[1], "churn") == 0 && argc == 3) {
		int ok = 0;

		for (int i = 0; i < atoi(argv[2]); i++) {
			int s = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);

			if (s < 0)
				break;
			if (bind(s, (struct sockaddr *)&me, sizeof(me)) == 0) {
				send_dump(s);
				ok += drain_dump(s) >= 0;
			}
			close(s);
		}
		printf("%d\n", ok);
		return 0;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0) {
		fprintf(stderr, "rawct: socket: %s\n", strerror(errno));
		return 2;
	}
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &ml) < 0 || me.nl_family != AF_NETLINK) {
		fprintf(stderr, "rawct: bind/getsockname: %s\n", strerror(errno));
		return 2;
	}
	if (strcmp(argv[1], "list") == 0) {
		start(IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_UNSPEC);
	} else if (strcmp(argv[1], "create") == 0 && argc == 7) {
		uint32_t t = htonl((uint32_t)atoi(argv[6]));

		start(IPCTNL_MSG_CT_NEW, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, AF_INET);
		tuple(CTA_TUPLE_ORIG, argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
		tuple(CTA_TUPLE_REPLY, argv[3], argv[2], atoi(argv[5]), atoi(argv[4]));
		attr(CTA_TIMEOUT, &t, 4);
	} else if (strcmp(argv[1], "delete") == 0 && argc == 6) {
		start(IPCTNL_MSG_CT_DELETE, NLM_F_ACK, AF_INET);
		tuple(CTA_TUPLE_ORIG, argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
	} else {
		fprintf(stderr, "rawct: bad arguments\n");
		return 3;
	}
	err = talk(fd);
	if (err) {
		fprintf(stderr, "rawct: error %d (%s)\n", err, strerror(err));
		return 1;
	}
	return 0;
}
