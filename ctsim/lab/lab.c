/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lab.c — the classroom lab topology (see lab.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ctsim/lab/lab.h"
#include "ctsim/lab/tun.h"

extern char **environ;

static void set_host(struct lab_host *h, const char *prefix, const char *name, const char *ifname)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->netns, sizeof(h->netns), "%s%s", prefix, name);
	snprintf(h->ifname, sizeof(h->ifname), "%s", ifname);
	h->fd = -1;
}

/* "10.77.1.2/24" or "fd77:1::2/64" -> address, prefix length, family. */
static int parse_prefix(const char *s, union ct_addr *a, uint8_t *plen, int *family)
{
	char buf[64], *slash, *end;
	long n;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, buf, &a->ip) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->ip6) == 1)
		*family = AF_INET6;
	else
		return -1;
	n = strtol(slash + 1, &end, 10);
	if (*end || n < 1 || n > (*family == AF_INET ? 30 : 126))
		return -1;
	*plen = (uint8_t)n;
	return 0;
}

static int parse_addr(const char *s, union ct_addr *a, int family)
{
	memset(a, 0, sizeof(*a));
	return inet_pton(family, s, family == AF_INET ? (void *)&a->ip : (void *)a->ip6) == 1 ? 0 : -1;
}

const char *lab_name_bad(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
			return s;
	return NULL;
}

void lab_default(struct lab *l, const char *prefix)
{
	static const struct { const char *name, *ifname, *h4, *g4, *h6, *g6; } def[] = {
		{ "client", "ct-c0", "10.77.1.2/24", "10.77.1.1", "fd77:1::2/64", "fd77:1::1" },
		{ "server", "ct-s0", "10.77.2.2/24", "10.77.2.1", "fd77:2::2/64", "fd77:2::1" },
	};
	int fam;

	memset(l, 0, sizeof(*l));
	snprintf(l->prefix, sizeof(l->prefix), "%s", prefix ? prefix : LAB_DEFAULT_PREFIX);
	for (unsigned i = 0; i < 2; i++) {
		struct lab_host *h = &l->host[i];

		set_host(h, l->prefix, def[i].name, def[i].ifname);
		parse_prefix(def[i].h4, &h->host4, &h->plen4, &fam);
		parse_addr(def[i].g4, &h->gw4, AF_INET);
		parse_prefix(def[i].h6, &h->host6, &h->plen6, &fam);
		parse_addr(def[i].g6, &h->gw6, AF_INET6);
		h->has4 = h->has6 = true;
	}
	l->n = 2;
}

int lab_load(struct lab *l, const char *path, const char *prefix, char *err, size_t errlen)
{
	struct lab tmp;
	char line[512];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	memset(&tmp, 0, sizeof(tmp));
	snprintf(tmp.prefix, sizeof(tmp.prefix), "%s", prefix ? prefix : LAB_DEFAULT_PREFIX);
	while (fgets(line, sizeof(line), f)) {
		char *w[8], *save = NULL, *p;
		char copy[512];
		unsigned n = 0;
		struct lab_host *h;
		int fam;

		lineno++;
		line[strcspn(line, "\r\n#")] = '\0';
		snprintf(copy, sizeof(copy), "%s", line);
		for (p = strtok_r(copy, " \t", &save); p && n < 8; p = strtok_r(NULL, " \t", &save))
			w[n++] = p;
		if (n == 0)
			continue;
#define FAIL(word, ...) do { \
		snprintf(err, errlen, "%s:%u:%zu: ", path, lineno, \
			 (size_t)((word) - copy) + 1); \
		snprintf(err + strlen(err), errlen - strlen(err), __VA_ARGS__); \
		fclose(f); \
		return -1; } while (0)
		if (strcmp(w[0], "host") != 0)
			FAIL(w[0], "unknown keyword \"%s\" (expected \"host\")", w[0]);
		if (n != 5 && n != 7)
			FAIL(w[0], "expected: host NAME IFNAME HOST-V4/PREFIX CTSIM-V4 [HOST-V6/PREFIX CTSIM-V6]");
		if (tmp.n == LAB_MAX_HOSTS)
			FAIL(w[0], "too many hosts (at most %d)", LAB_MAX_HOSTS);
		if (strlen(w[1]) > LAB_NAME_MAX)
			FAIL(w[1], "host name \"%s\" is longer than %d characters", w[1], LAB_NAME_MAX);
		if (lab_name_bad(w[1]))
			FAIL(lab_name_bad(w[1]), "host name \"%s\": use letters, digits, '.', '_' "
			     "and '-' (it names a namespace)", w[1]);
		if (strlen(w[2]) >= 16)
			FAIL(w[2], "interface name \"%s\" is longer than 15 characters", w[2]);
		h = &tmp.host[tmp.n];
		set_host(h, prefix ? prefix : LAB_DEFAULT_PREFIX, w[1], w[2]);
		if (parse_prefix(w[3], &h->host4, &h->plen4, &fam) < 0 || fam != AF_INET)
			FAIL(w[3], "\"%s\" is not an IPv4 address/prefix", w[3]);
		if (parse_addr(w[4], &h->gw4, AF_INET) < 0)
			FAIL(w[4], "\"%s\" is not an IPv4 address", w[4]);
		h->has4 = true;
		if (n == 7) {
			if (parse_prefix(w[5], &h->host6, &h->plen6, &fam) < 0 || fam != AF_INET6)
				FAIL(w[5], "\"%s\" is not an IPv6 address/prefix", w[5]);
			if (parse_addr(w[6], &h->gw6, AF_INET6) < 0)
				FAIL(w[6], "\"%s\" is not an IPv6 address", w[6]);
			h->has6 = true;
		}
		for (unsigned i = 0; i < tmp.n; i++)
			if (!strcmp(tmp.host[i].name, h->name) || !strcmp(tmp.host[i].ifname, h->ifname))
				FAIL(w[1], "host \"%s\" or interface \"%s\" given twice", h->name, h->ifname);
		/* Two hosts with one address: ctsim routes by destination
		 * address alone, so the second would never get a reply (they
		 * all went to the first). The lab has no zones to tell them
		 * apart, so the file is refused. */
		for (unsigned i = 0; i < tmp.n; i++) {
			const struct lab_host *o = &tmp.host[i];
			char a[INET6_ADDRSTRLEN];

			if (!memcmp(&o->host4, &h->host4, 4) || !memcmp(&o->gw4, &h->host4, 4))
				FAIL(w[3], "address %s is already used by host \"%s\" (replies would "
				     "all go to one of them)", inet_ntop(AF_INET, &h->host4, a, sizeof(a)),
				     o->name);
			if (!memcmp(&o->host4, &h->gw4, 4))
				FAIL(w[4], "address %s is already used by host \"%s\"",
				     inet_ntop(AF_INET, &h->gw4, a, sizeof(a)), o->name);
			if (h->has6 && o->has6 && (!memcmp(o->host6.ip6, h->host6.ip6, 16) ||
						   !memcmp(o->gw6.ip6, h->host6.ip6, 16)))
				FAIL(w[5], "address %s is already used by host \"%s\" (replies would "
				     "all go to one of them)", inet_ntop(AF_INET6, h->host6.ip6, a, sizeof(a)),
				     o->name);
			if (h->has6 && o->has6 && !memcmp(o->host6.ip6, h->gw6.ip6, 16))
				FAIL(w[6], "address %s is already used by host \"%s\"",
				     inet_ntop(AF_INET6, h->gw6.ip6, a, sizeof(a)), o->name);
		}
		if (!memcmp(&h->host4, &h->gw4, 4))
			FAIL(w[4], "ctsim's address on the link is the host's own");
#undef FAIL
		tmp.n++;
	}
	fclose(f);
	if (tmp.n == 0) {
		snprintf(err, errlen, "%s: no hosts", path);
		return -1;
	}
	*l = tmp;
	return 0;
}

/* Run a command (argv-style, NULL-terminated varargs); 0 if it exited 0.
 * Its stderr is kept for the error message. */
static int run(char *err, size_t errlen, const char *arg0, ...)
{
	const char *argv[24];
	va_list ap;
	int n = 0, status, pfd[2];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	char out[256] = "";
	ssize_t got;

	va_start(ap, arg0);
	argv[n++] = arg0;
	while (n < 23 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	argv[n] = NULL;
	va_end(ap);
	if (pipe(pfd) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, arg0, &fa, NULL, (char **)argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(pfd[0]);
		close(pfd[1]);
		if (err)
			snprintf(err, errlen, "cannot run %s: %s", arg0, strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	got = read(pfd[0], out, sizeof(out) - 1);
	out[got > 0 ? got : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	close(pfd[0]);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (err) {
		int len = 0;

		for (int i = 0; argv[i] && len < (int)errlen; i++)
			len += snprintf(err + len, errlen - (size_t)len, "%s%s", i ? " " : "", argv[i]);
		if (len < (int)errlen)
			snprintf(err + len, errlen - (size_t)len, ": %s", out[0] ? out : "failed");
	}
	return -1;
}

static const char *ntop(int family, const union ct_addr *a, char *buf)
{
	return inet_ntop(family, a, buf, INET6_ADDRSTRLEN);
}

static int host_up(struct lab_host *h, char *err, size_t errlen)
{
	char a[INET6_ADDRSTRLEN + 8], g[INET6_ADDRSTRLEN];
	size_t al;
	int fd;

	char tmpname[16];
	static unsigned serial;

	if (run(err, errlen, "ip", "netns", "add", h->netns, NULL) < 0)
		return -1;
	/* Made under a name unique to this process, renamed once inside its
	 * namespace: two labs (or a host's own ct-c0) never collide. */
	snprintf(tmpname, sizeof(tmpname), "ctt%u.%u", (unsigned)getpid() % 100000, serial++ % 100);
	fd = tun_open(tmpname);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create TUN device %s: %s", tmpname, strerror(-fd));
		return -1;
	}
	h->fd = fd;
	/* A TUN fd keeps working after its interface moves to another netns. */
	if (run(err, errlen, "ip", "link", "set", "dev", tmpname, "netns", h->netns, NULL) < 0 ||
	    run(err, errlen, "ip", "-n", h->netns, "link", "set", "dev", tmpname, "name",
		h->ifname, NULL) < 0 ||
	    run(err, errlen, "ip", "-n", h->netns, "link", "set", "lo", "up", NULL) < 0)
		return -1;
	if (h->has4) {
		ntop(AF_INET, &h->host4, a);
		al = strlen(a);
		snprintf(a + al, sizeof(a) - al, "/%u", h->plen4);
		ntop(AF_INET, &h->gw4, g);
		if (run(err, errlen, "ip", "-n", h->netns, "addr", "add", a, "dev", h->ifname, NULL) < 0)
			return -1;
	}
	if (h->has6) {
		ntop(AF_INET6, &h->host6, a);
		al = strlen(a);
		snprintf(a + al, sizeof(a) - al, "/%u", h->plen6);
		/* nodad: the address is usable at once, no 1-2 s wait. */
		if (run(err, errlen, "ip", "-n", h->netns, "addr", "add", a, "dev", h->ifname,
			"nodad", NULL) < 0)
			return -1;
	}
	if (run(err, errlen, "ip", "-n", h->netns, "link", "set", h->ifname, "up", NULL) < 0)
		return -1;
	/* ctsim is the router of every host: a TUN link has no neighbours to
	 * resolve, so the default route simply points at the device. */
	if (h->has4 && run(err, errlen, "ip", "-n", h->netns, "route", "add", "default", "dev",
			   h->ifname, NULL) < 0)
		return -1;
	if (h->has6 && run(err, errlen, "ip", "-n", h->netns, "-6", "route", "add", "default",
			   "dev", h->ifname, NULL) < 0)
		return -1;
	return 0;
}

/*
 * `ip netns exec NS` bind-mounts /etc/netns/NS/FILE over /etc/FILE. Give
 * every host a hosts file naming the lab's hosts (ping server, curl
 * http://server/) and a resolver that fails at once instead of waiting for
 * a DNS server the lab cannot reach (python3 -m http.server looks its own
 * address up before it listens).
 */
static int write_etc(const struct lab *l, const struct lab_host *h, char *err, size_t errlen)
{
	char path[128], a[INET6_ADDRSTRLEN];
	FILE *f;

	mkdir("/etc/netns", 0755);
	snprintf(path, sizeof(path), "/etc/netns/%s", h->netns);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		goto fail;
	snprintf(path, sizeof(path), "/etc/netns/%s/hosts", h->netns);
	if (!(f = fopen(path, "w")))
		goto fail;
	fprintf(f, "# written by ctsim for the lab host \"%s\"\n127.0.0.1\tlocalhost\n"
		   "::1\tlocalhost ip6-localhost ip6-loopback\n", h->name);
	for (unsigned i = 0; i < l->n; i++) {
		const struct lab_host *o = &l->host[i];

		if (o->has4)
			fprintf(f, "%s\t%s\n", ntop(AF_INET, &o->host4, a), o->name);
		if (o->has6)
			fprintf(f, "%s\t%s\n", ntop(AF_INET6, &o->host6, a), o->name);
		if (o->has4)
			fprintf(f, "%s\tctsim-%s\n", ntop(AF_INET, &o->gw4, a), o->name);
	}
	fclose(f);
	/* getaddrinfo() sorts a name's addresses by RFC 6724, which puts the
	 * lab's fd77:: addresses first: `ping server` would ping over IPv6.
	 * Students expect the IPv4 address of the worksheets, so the hosts
	 * prefer IPv4, the gai.conf(5) way (the whole default table, as a
	 * "precedence" line replaces it). ip netns exec mounts a file only
	 * over an existing one: without /etc/gai.conf, nothing is written
	 * (docs/lab.md says to use ping -4 then). */
	if (access("/etc/gai.conf", F_OK) == 0) {
		snprintf(path, sizeof(path), "/etc/netns/%s/gai.conf", h->netns);
		if (!(f = fopen(path, "w")))
			goto fail;
		fprintf(f, "# written by ctsim: lab hosts prefer IPv4 (ping server = ping -4 server)\n"
			   "precedence ::1/128       50\n"
			   "precedence ::/0          40\n"
			   "precedence 2002::/16     30\n"
			   "precedence ::/96         20\n"
			   "precedence ::ffff:0:0/96 100\n");
		fclose(f);
	}
	snprintf(path, sizeof(path), "/etc/netns/%s/resolv.conf", h->netns);
	if (!(f = fopen(path, "w")))
		goto fail;
	fprintf(f, "# written by ctsim: the lab has no DNS; names come from /etc/hosts\n"
		   "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
	fclose(f);
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return -1;
}

static void remove_etc(const struct lab_host *h)
{
	char path[128];

	snprintf(path, sizeof(path), "/etc/netns/%s/hosts", h->netns);
	unlink(path);
	snprintf(path, sizeof(path), "/etc/netns/%s/resolv.conf", h->netns);
	unlink(path);
	snprintf(path, sizeof(path), "/etc/netns/%s/gai.conf", h->netns);
	unlink(path);
	snprintf(path, sizeof(path), "/etc/netns/%s", h->netns);
	rmdir(path);
}

/* ---------------------------------------------------------------------- */
/* Which namespaces are ctsim's: LAB_RUN_DIR/NAME holds the owner's pid     */

static void record_path(const char *netns, char *path, size_t n)
{
	snprintf(path, n, "%s/%s", LAB_RUN_DIR, netns);
}

/* The pid recorded for @netns: 0 when there is no record. */
static long record_owner(const char *netns)
{
	char path[256], buf[32];
	FILE *f;
	long pid = 0;

	record_path(netns, path, sizeof(path));
	if (!(f = fopen(path, "r")))
		return 0;
	if (fgets(buf, sizeof(buf), f))
		pid = strtol(buf, NULL, 10);
	fclose(f);
	return pid > 0 ? pid : -1;	/* -1: a record, but unreadable: owner gone */
}

/* Is process @pid a running ctsim? (A recycled pid is not.) */
static bool ctsim_alive(long pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((f = fopen(path, "r"))) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
	}
	return strncmp(comm, "ctsim", 5) == 0;
}

static int record(const char *netns, char *err, size_t errlen)
{
	char path[256];
	FILE *f;

	if ((mkdir("/run/ctsim", 0755) < 0 && errno != EEXIST) ||
	    (mkdir(LAB_RUN_DIR, 0755) < 0 && errno != EEXIST))
		goto fail;
	record_path(netns, path, sizeof(path));
	if (!(f = fopen(path, "w")))
		goto fail;
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) == 0)
		return 0;
fail:
	snprintf(err, errlen, "cannot record the lab in %s: %s", LAB_RUN_DIR, strerror(errno));
	return -1;
}

static void unrecord(const char *netns)
{
	char path[256];

	record_path(netns, path, sizeof(path));
	unlink(path);
}

static bool netns_exists(const char *netns)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "/run/netns/%s", netns);
	return stat(path, &st) == 0;
}

/* Before making @h: remove what a dead lab left under its name; refuse a
 * running lab's namespace or one ctsim did not make. */
static int claim(const struct lab_host *h, char *err, size_t errlen)
{
	long owner;

	if (!netns_exists(h->netns)) {
		unrecord(h->netns);
		return 0;
	}
	owner = record_owner(h->netns);
	if (owner == 0) {
		snprintf(err, errlen, "network namespace %s exists and was not made by ctsim "
			 "(choose another --lab-prefix, or remove it)", h->netns);
		return -1;
	}
	if (ctsim_alive(owner)) {
		snprintf(err, errlen, "network namespace %s belongs to the running lab of "
			 "process %ld", h->netns, owner);
		return -1;
	}
	run(NULL, 0, "ip", "netns", "del", h->netns, NULL);	/* a crashed run's */
	remove_etc(h);
	unrecord(h->netns);
	return 0;
}

int lab_up(struct lab *l, char *err, size_t errlen)
{
	for (unsigned i = 0; i < l->n; i++)
		l->host[i].made = false;
	for (unsigned i = 0; i < l->n; i++)
		if (claim(&l->host[i], err, errlen) < 0)
			return -1;
	for (unsigned i = 0; i < l->n; i++) {
		struct lab_host *h = &l->host[i];

		if (record(h->netns, err, errlen) < 0) {
			lab_down(l);
			return -1;
		}
		h->made = true;		/* recorded first: a crash mid-way leaves a record */
		if (host_up(h, err, errlen) < 0 || write_etc(l, h, err, errlen) < 0) {
			lab_down(l);
			return -1;
		}
	}
	return 0;
}

void lab_down(struct lab *l)
{
	for (unsigned i = 0; i < l->n; i++) {
		struct lab_host *h = &l->host[i];

		if (h->made) {
			run(NULL, 0, "ip", "netns", "del", h->netns, NULL);
			remove_etc(h);
			unrecord(h->netns);
			h->made = false;
		}
		if (h->fd >= 0)
			close(h->fd);
		h->fd = -1;
	}
}

int lab_cleanup(const char *prefix)
{
	DIR *d = opendir(LAB_RUN_DIR);
	struct dirent *e;
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -1;	/* no lab ever ran here */
	while ((e = readdir(d))) {
		struct lab_host h;
		long owner;

		if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
		    strlen(e->d_name) >= sizeof(h.netns))
			continue;
		memcpy(h.netns, e->d_name, strlen(e->d_name) + 1);
		owner = record_owner(h.netns);
		if (ctsim_alive(owner)) {
			fprintf(stderr, "left netns %s: the running lab of process %ld\n",
				h.netns, owner);
			continue;
		}
		if (!netns_exists(h.netns)) {	/* removed by hand: drop the record */
			remove_etc(&h);
			unrecord(h.netns);
			continue;
		}
		if (run(NULL, 0, "ip", "netns", "del", h.netns, NULL) < 0)
			continue;
		remove_etc(&h);
		unrecord(h.netns);
		printf("removed netns %s\n", h.netns);
		n++;
	}
	closedir(d);
	return n;
}

void lab_print(const struct lab *l, FILE *out)
{
	for (unsigned i = 0; i < l->n; i++) {
		const struct lab_host *h = &l->host[i];
		char a[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];

		fprintf(out, "  %-8s netns %-16s if %-6s", h->name, h->netns, h->ifname);
		if (h->has4)
			fprintf(out, " %s/%u (ctsim %s)", ntop(AF_INET, &h->host4, a), h->plen4,
				ntop(AF_INET, &h->gw4, g));
		if (h->has6)
			fprintf(out, " %s/%u (ctsim %s)", ntop(AF_INET6, &h->host6, a), h->plen6,
				ntop(AF_INET6, &h->gw6, g));
		fputc('\n', out);
	}
}
