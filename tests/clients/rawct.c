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
 *
 * Exit 0 on success; 2 and "rawct: socket: ..." if the socket cannot be
 * had; 1 and "rawct: error N (...)" if the peer answers an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

int main(int argc, char **argv)
{
	struct sockaddr_nl me = { .nl_family = AF_NETLINK };
	socklen_t ml = sizeof(me);
	int fd, err;

	if (argc < 2)
		return 3;
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
