/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_pressure.c — `ctsim pressure`: the table-full workload of issue 13
 * run on a virtual clock under each overflow policy, side by side, with
 * the kernel's GC pacing (ctsim_gc_pacing kernel) unless --set says otherwise.
 *
 * The workload (defaults: the issue's): nf_conntrack_max 64, 16 buckets;
 * IDLE established TCP flows (handshake and one data segment, then
 * silence) and TW flows closed by both sides (TIME_WAIT); after WAIT
 * seconds a FLOOD of SYNs from spoofed sources that nobody answers, at
 * RATE per second; then LEGIT new handshakes, 0.1 s apart. Every packet
 * goes through the offline harness (the router and the core as `ctsim
 * replay` and the scenario runner use them), so the kernel policy is the
 * emulation the scenarios check against a kernel.
 *
 * Printed per policy: legitimate connections accepted, packets dropped by
 * conntrack (drop), entries removed by the kernel's early drop, by the GC
 * after a table-full event and by the policy (by class), live flows lost
 * (idle established flows no longer in the table at the end), time from
 * the end of the flood to the first accepted legitimate connection, and
 * the wall time per packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ctsim/cmd.h"
#include "ctsim/core/csum.h"
#include "ctsim/core/overflow.h"
#include "ctsim/replay/harness.h"

#define NS		1000000000ull
#define WALL_START	(1700000000ull * NS)

struct workload {
	unsigned idle, tw, flood, legit;
	double wait, rate;
	struct ct_settings base;	/* nf_conntrack_max, buckets, --set */
	uint32_t seed;
};

struct result {
	const char *policy;
	unsigned legit_ok, idle_lost, tw_lost;
	double recovery;		/* s, -1: none accepted */
	double ns_per_pkt;
	double flood_ns_per_pkt;	/* the flood's packets only */
	uint64_t packets;
	struct ct_stats st;
	struct ct_overflow_stats ovf;
	uint32_t count;
	uint32_t hist[12], longest;	/* chain lengths at the end (ct_chain_hist()) */
};

/* A TCP/IPv4 segment with correct checksums (the core checks them at
 * prerouting, nf_conntrack_checksum = 1). */
static size_t tcp4(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		   uint32_t seq, uint32_t ack, uint8_t flags, size_t payload)
{
	size_t len = 20 + 20 + payload;
	uint8_t ph[12];
	uint32_t sum;
	uint16_t c;

	memset(p, 0, len);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = IPPROTO_TCP;
	memcpy(p + 12, &src, 4);
	memcpy(p + 16, &dst, 4);
	c = ct_csum_fold(ct_csum_add(0, p, 20));
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
	uint8_t *t = p + 20;
	t[0] = (uint8_t)(sport >> 8); t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8); t[3] = (uint8_t)dport;
	seq = htonl(seq);
	ack = htonl(ack);
	memcpy(t + 4, &seq, 4);
	memcpy(t + 8, &ack, 4);
	t[12] = 5 << 4;
	t[13] = flags;
	t[14] = 0xff; t[15] = 0xff;	/* window 65535 */
	memcpy(ph, &src, 4);
	memcpy(ph + 4, &dst, 4);
	ph[8] = 0;
	ph[9] = IPPROTO_TCP;
	ph[10] = (uint8_t)((len - 20) >> 8);
	ph[11] = (uint8_t)(len - 20);
	sum = ct_csum_add(0, ph, sizeof(ph));
	sum = ct_csum_add(sum, t, len - 20);
	c = ct_csum_fold(sum);
	t[16] = (uint8_t)(c >> 8);
	t[17] = (uint8_t)c;
	return len;
}

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

struct run {
	struct ct_offline h;
	uint64_t packets;
	uint64_t cpu_ns;
};

/* This thread's CPU time: a loaded machine (other engineers' builds)
 * does not inflate it as it inflates wall time. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* One packet at virtual time @at (ns from the start). Returns the verdict
 * and, in *est, whether conntrack saw it as established. */
static int send_tcp(struct run *r, uint64_t at, int iif, uint32_t src, uint32_t dst,
		uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		size_t payload, bool *est)
{
	uint8_t pkt[128];
	size_t len = tcp4(pkt, src, dst, sport, dport, seq, ack, flags, payload);
	int v;

	ct_offline_advance(&r->h, at);
	v = ct_offline_receive(&r->h, iif, pkt, len, WALL_START + at);
	r->packets++;
	if (est)
		*est = v == CT_ACCEPT && r->h.router.last.ct_state &&
		       strcmp(r->h.router.last.ct_state, "established") == 0;
	return v;
}

static uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return htonl(a << 24 | b << 16 | c << 8 | d);
}

/* Is the flow c:sport > s:dport in the table? */
static bool present(struct run *r, uint32_t c, uint32_t s, uint16_t sport, uint16_t dport)
{
	struct ct_tuple tu;
	struct ct_zone z = { 0, 0 };

	memset(&tu, 0, sizeof(tu));
	tu.l3num = AF_INET;
	tu.l4num = IPPROTO_TCP;
	memcpy(&tu.src, &c, 4);
	memcpy(&tu.dst, &s, 4);
	tu.sport = sport;	/* host order, as ct_pkt_get_tuple() */
	tu.dport = dport;
	ct_table_tick(&r->h.table);
	return ct_table_find(&r->h.table, &tu, &z, CT_DIR_ORIG, NULL) != NULL;
}

/* A whole handshake c:sport -> s:80 at @at; returns true if all three
 * packets were accepted and the last one was established. */
static bool handshake(struct run *r, uint64_t at, uint32_t c, uint32_t s, uint16_t sport,
		      uint32_t isn_c, uint32_t isn_s)
{
	bool est;

	if (send_tcp(r, at, CT_OFFLINE_CLIENT, c, s, sport, 80, isn_c, 0, F_SYN, 0, NULL) != CT_ACCEPT)
		return false;
	if (send_tcp(r, at + 1000000, CT_OFFLINE_SERVER, s, c, 80, sport, isn_s, isn_c + 1,
		 F_SYN | F_ACK, 0, &est) != CT_ACCEPT || !est)
		return false;
	return send_tcp(r, at + 2000000, CT_OFFLINE_CLIENT, c, s, sport, 80, isn_c + 1, isn_s + 1,
		    F_ACK, 0, &est) == CT_ACCEPT && est;
}

static int run_one(const struct workload *w, uint32_t policy, struct result *res)
{
	struct run r;
	uint32_t srv = ip4(10, 66, 2, 2);
	uint64_t at = 0, flood_end;
	uint32_t rnd = w->seed | 1;

	memset(&r, 0, sizeof(r));
	r.cpu_ns = cpu_ns();		/* the run's start; its CPU time at the end */
	ct_offline_init(&r.h);
	r.h.settings = w->base;
	r.h.settings.overflow_policy = policy;
	if (ct_offline_start(&r.h, WALL_START, 0, w->seed, NULL) < 0) {
		fprintf(stderr, "ctsim pressure: cannot allocate %u buckets\n", w->base.buckets);
		return -1;
	}
	/* idle established flows: a handshake and one data segment each */
	for (unsigned i = 0; i < w->idle; i++, at += 1000000) {
		uint16_t sp = (uint16_t)(10000 + i % 50000);
		uint32_t c = ip4(10, 66, 1, 2 + i / 50000);

		handshake(&r, at, c, srv, sp, 1000, 5000);
		send_tcp(&r, at + 3000000, CT_OFFLINE_CLIENT, c, srv, sp, 80, 1001, 5001,
		     F_PSH | F_ACK, 10, NULL);
		send_tcp(&r, at + 4000000, CT_OFFLINE_SERVER, srv, c, 80, sp, 5001, 1011, F_ACK, 0, NULL);
	}
	/* flows closed by both ends: TIME_WAIT */
	for (unsigned i = 0; i < w->tw; i++, at += 1000000) {
		uint16_t sp = (uint16_t)(60000 + i % 5000);
		uint32_t c = ip4(10, 66, 3, 2 + i / 5000);

		handshake(&r, at, c, srv, sp, 1000, 5000);
		send_tcp(&r, at + 3000000, CT_OFFLINE_CLIENT, c, srv, sp, 80, 1001, 5001, F_FIN | F_ACK, 0, NULL);
		send_tcp(&r, at + 4000000, CT_OFFLINE_SERVER, srv, c, 80, sp, 5001, 1002, F_ACK, 0, NULL);
		send_tcp(&r, at + 5000000, CT_OFFLINE_SERVER, srv, c, 80, sp, 5001, 1002, F_FIN | F_ACK, 0, NULL);
		send_tcp(&r, at + 6000000, CT_OFFLINE_CLIENT, c, srv, sp, 80, 1002, 5002, F_ACK, 0, NULL);
	}
	/* the flood: spoofed SYNs nobody answers */
	uint64_t f_ns = cpu_ns(), f_pk = r.packets;

	at = (uint64_t)(w->wait * NS);
	for (unsigned i = 0; i < w->flood; i++) {
		uint32_t src;

		rnd ^= rnd << 13;
		rnd ^= rnd >> 17;
		rnd ^= rnd << 5;
		src = ip4(10, 99, (rnd >> 8) & 0xff, rnd & 0xff);
		send_tcp(&r, at + (uint64_t)(i * (NS / w->rate)), CT_OFFLINE_CLIENT, src, srv,
		     (uint16_t)(1024 + (rnd >> 16) % 60000), 80, rnd, 0, F_SYN, 0, NULL);
	}
	flood_end = at + (uint64_t)(w->flood * (NS / w->rate));
	res->flood_ns_per_pkt = r.packets > f_pk ? (double)(cpu_ns() - f_ns) / (double)(r.packets - f_pk) : 0;
	res->recovery = -1;
	for (unsigned i = 0; i < w->legit; i++) {
		uint64_t t = flood_end + (uint64_t)(i + 1) * (NS / 10);
		uint16_t sp = (uint16_t)(40000 + i);

		if (handshake(&r, t, ip4(10, 66, 4, 2), srv, sp, 7000, 9000) &&
		    present(&r, ip4(10, 66, 4, 2), srv, sp, 80)) {
			res->legit_ok++;
			if (res->recovery < 0)
				res->recovery = (double)(t - flood_end) / NS;
		}
	}
	/* which idle flows survived? (no packet: a lookup) */
	for (unsigned i = 0; i < w->idle; i++)
		if (!present(&r, ip4(10, 66, 1, 2 + i / 50000), srv, (uint16_t)(10000 + i % 50000), 80))
			res->idle_lost++;
	for (unsigned i = 0; i < w->tw; i++)
		if (!present(&r, ip4(10, 66, 3, 2 + i / 5000), srv, (uint16_t)(60000 + i % 5000), 80))
			res->tw_lost++;
	res->policy = ct_overflow_policy_name(policy);
	res->st = r.h.table.stats;
	res->ovf = r.h.table.ovf;
	res->count = r.h.table.count;
	ct_chain_hist(&r.h.table, res->hist, 12, &res->longest);
	res->packets = r.packets;
	res->ns_per_pkt = r.packets ? (double)(cpu_ns() - r.cpu_ns) / (double)r.packets : 0;
	ct_offline_fini(&r.h);
	return 0;
}

static uint64_t sum(const uint64_t *a)
{
	uint64_t n = 0;

	for (int i = 0; i < CT_OVC_MAX; i++)
		n += a[i];
	return n;
}

/* "tcp-established:3 tcp-time-wait:2" (classes with a count), or "-". */
static void classes(char *buf, size_t len, const uint64_t *a)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < CT_OVC_MAX && n < len; i++)
		if (a[i])
			n += (size_t)snprintf(buf + n, len - n, "%s%s:%llu", n ? " " : "",
					      ct_ovf_class_name((enum ct_ovf_class)i),
					      (unsigned long long)a[i]);
	if (!buf[0])
		snprintf(buf, len, "-");
}

static void print_table(const struct workload *w, const struct result *rs, unsigned n, FILE *out)
{
	fprintf(out, "workload: nf_conntrack_max=%u buckets=%u, %u idle established + %u TIME_WAIT, "
		"%u-SYN flood at %.0f/s after %.0f s, then %u legitimate handshakes 0.1 s apart\n\n",
		w->base.max, w->base.buckets, w->idle, w->tw, w->flood, w->rate, w->wait, w->legit);
	fprintf(out, "%-13s %6s %6s %10s %9s %9s %8s %6s %7s %9s %7s %7s\n", "policy", "legit", "drop",
		"early_drop", "gc_killed", "evicted", "live_lost", "tw_lost", "nat", "recovery", "ns/pkt", "flood");
	for (unsigned i = 0; i < n; i++) {
		const struct result *r = &rs[i];
		char rec[16];

		if (r->recovery < 0)
			snprintf(rec, sizeof(rec), "never");
		else
			snprintf(rec, sizeof(rec), "%.1fs", r->recovery);
		fprintf(out, "%-13s %3u/%-2u %6u %10u %9llu %9llu %8u %6u %7llu %9s %7.0f %7.0f\n",
			r->policy, r->legit_ok, w->legit, r->st.cpu.drop, r->st.cpu.early_drop,
			(unsigned long long)sum(r->ovf.gc_killed),
			(unsigned long long)sum(r->ovf.evicted), r->idle_lost, r->tw_lost,
			(unsigned long long)r->ovf.evicted_nat, rec, r->ns_per_pkt, r->flood_ns_per_pkt);
	}
	fprintf(out, "\nremoved, by class of entry:\n");
	for (unsigned i = 0; i < n; i++) {
		char a[160], b[160], c[160];

		classes(a, sizeof(a), rs[i].ovf.early_dropped);
		classes(b, sizeof(b), rs[i].ovf.gc_killed);
		classes(c, sizeof(c), rs[i].ovf.evicted);
		fprintf(out, "%-13s early_drop: %s; gc: %s; policy: %s; timeouts shortened: %llu\n",
			rs[i].policy, a, b, c, (unsigned long long)rs[i].ovf.expired_adaptive);
	}
	fprintf(out, "\nchain lengths at the end (nodes per bucket: buckets; an entry has two nodes):\n");
	for (unsigned i = 0; i < n; i++) {
		fprintf(out, "%-13s", rs[i].policy);
		for (unsigned k = 0; k < 12; k++)
			if (rs[i].hist[k])
				fprintf(out, " %u%s:%u", k, k == 11 ? "+" : "", rs[i].hist[k]);
		fprintf(out, "  (longest %u)\n", rs[i].longest);
	}
	fprintf(out, "\nlegit: new connections whose handshake completed (of those tried); drop: conntrack -S drop;\n"
		"live_lost: idle established flows gone at the end; nat: evicted entries with a NAT binding;\n"
		"recovery: flood end to the first accepted legitimate connection;\n"
		"ns/pkt: CPU time per packet (building it, the GC, the core), all packets; flood: the flood only.\n");
}

static void print_json(const struct workload *w, const struct result *rs, unsigned n, FILE *out)
{
	fprintf(out, "{\"workload\": {\"max\": %u, \"buckets\": %u, \"idle\": %u, \"time_wait\": %u, "
		"\"flood\": %u, \"rate\": %g, \"legit\": %u}, \"results\": [",
		w->base.max, w->base.buckets, w->idle, w->tw, w->flood, w->rate, w->legit);
	for (unsigned i = 0; i < n; i++) {
		const struct result *r = &rs[i];

		fprintf(out, "%s\n {\"policy\": \"%s\", \"legit_ok\": %u, \"drop\": %u, "
			"\"early_drop\": %u, \"insert_failed\": %u, \"chaintoolong\": %u, "
			"\"gc_killed\": %llu, \"evicted\": %llu, \"evicted_assured\": %llu, "
			"\"evicted_nat\": %llu, \"expired_adaptive\": %llu, \"live_lost\": %u, "
			"\"tw_lost\": %u, \"recovery\": %g, \"logged\": %llu, \"suppressed\": %llu, "
			"\"count\": %u, \"longest_chain\": %u, \"packets\": %llu, \"ns_per_pkt\": %.1f, "
			"\"flood_ns_per_pkt\": %.1f, \"by_class\": {",
			i ? "," : "", r->policy, r->legit_ok, r->st.cpu.drop, r->st.cpu.early_drop,
			r->st.cpu.insert_failed, r->st.cpu.chaintoolong,
			(unsigned long long)sum(r->ovf.gc_killed), (unsigned long long)sum(r->ovf.evicted),
			(unsigned long long)r->ovf.evicted_assured, (unsigned long long)r->ovf.evicted_nat,
			(unsigned long long)r->ovf.expired_adaptive, r->idle_lost, r->tw_lost, r->recovery,
			(unsigned long long)r->ovf.logged, (unsigned long long)r->ovf.suppressed,
			r->count, r->longest, (unsigned long long)r->packets, r->ns_per_pkt,
			r->flood_ns_per_pkt);
		for (int c = 0; c < CT_OVC_MAX; c++)
			fprintf(out, "%s\"%s\": [%llu, %llu, %llu]", c ? ", " : "",
				ct_ovf_class_name((enum ct_ovf_class)c),
				(unsigned long long)r->ovf.early_dropped[c],
				(unsigned long long)r->ovf.gc_killed[c],
				(unsigned long long)r->ovf.evicted[c]);
		fprintf(out, "}}");
	}
	fprintf(out, "\n]}\n");
}

/* --sweep: the legitimate handshakes completed per policy (rows) and flood
 * rate (columns), the data of the success-rate-against-flood-rate
 * figure; res[p * nr + k] is policy row p at rate rates[k]. */
static void print_sweep(const struct workload *w, const struct result *rs, unsigned np,
			const unsigned *rates, unsigned nr, bool json, FILE *out)
{
	if (json) {
		fprintf(out, "{\"workload\": {\"max\": %u, \"buckets\": %u, \"idle\": %u, "
			"\"time_wait\": %u, \"flood\": %u, \"legit\": %u}, \"rates\": [",
			w->base.max, w->base.buckets, w->idle, w->tw, w->flood, w->legit);
		for (unsigned k = 0; k < nr; k++)
			fprintf(out, "%s%u", k ? ", " : "", rates[k]);
		fprintf(out, "], \"legit_ok\": {");
		for (unsigned p = 0; p < np; p++) {
			fprintf(out, "%s\"%s\": [", p ? ", " : "", rs[p * nr].policy);
			for (unsigned k = 0; k < nr; k++)
				fprintf(out, "%s%u", k ? ", " : "", rs[p * nr + k].legit_ok);
			fprintf(out, "]");
		}
		fprintf(out, "}}\n");
		return;
	}
	fprintf(out, "workload: nf_conntrack_max=%u buckets=%u, %u idle established + %u TIME_WAIT, "
		"%u-SYN flood after %.0f s, then %u legitimate handshakes 0.1 s apart\n\n"
		"legitimate handshakes completed, by flood rate (SYN/s):\n%-13s",
		w->base.max, w->base.buckets, w->idle, w->tw, w->flood, w->wait, w->legit, "policy");
	for (unsigned k = 0; k < nr; k++)
		fprintf(out, " %9u", rates[k]);
	fputc('\n', out);
	for (unsigned p = 0; p < np; p++) {
		fprintf(out, "%-13s", rs[p * nr].policy);
		for (unsigned k = 0; k < nr; k++) {
			char cell[24];

			snprintf(cell, sizeof(cell), "%u/%u", rs[p * nr + k].legit_ok, w->legit);
			fprintf(out, " %9s", cell);
		}
		fputc('\n', out);
	}
}

static int parse_uint(const char *opt, const char *s, unsigned min, unsigned max, unsigned *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || x < min || x > max) {
		fprintf(stderr, "ctsim pressure: %s: \"%s\" is not a number in %u..%u\n", opt, s, min, max);
		return -1;
	}
	*v = (unsigned)x;
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ctsim pressure [--policy NAME[,NAME...]] [--max N] [--buckets N]\n"
		"                      [--idle N] [--time-wait N] [--flood N] [--rate PPS] [--wait S]\n"
		"                      [--legit N] [--set NAME=VALUE]... [--seed N] [--json] [--quick]\n"
		"                      [--sweep PPS,PPS...] [--list-policies]\n"
		"Runs the table-full workload (defaults: nf_conntrack_max 64, 16 buckets, 40 idle\n"
		"established, 20 TIME_WAIT, 600 SYNs at 1000/s after 30 s, 10 legitimate handshakes)\n"
		"on a virtual clock under each policy (default: all) and prints a table.\n"
		"The GC is paced as the kernel's (--set ctsim_gc_pacing=ctsim: a pass a second).\n"
		"--sweep runs the workload at each flood rate (same SYN count) and prints the\n"
		"legitimate handshakes completed per policy and rate (--json: the same as data).\n");
}

int cmd_pressure(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "max", required_argument, NULL, 'm' },
		{ "buckets", required_argument, NULL, 'b' },
		{ "idle", required_argument, NULL, 'i' },
		{ "time-wait", required_argument, NULL, 't' },
		{ "flood", required_argument, NULL, 'f' },
		{ "rate", required_argument, NULL, 'r' },
		{ "wait", required_argument, NULL, 'w' },
		{ "legit", required_argument, NULL, 'l' },
		{ "set", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "list-policies", no_argument, NULL, 'L' },
		{ "sweep", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct workload w = { .idle = 40, .tw = 20, .flood = 600, .legit = 10, .wait = 30,
			      .rate = 1000, .seed = 1 };
	bool json = false, want[CT_OVF_MAX] = { false }, any = false;
	struct result res[CT_OVF_MAX], *sweep = NULL;
	unsigned n = 0, v, rates[16], nrates = 0;
	char err[256];
	int c;

	ct_settings_init(&w.base);
	w.base.max = 64;
	w.base.buckets = 16;
	/* the kernel's GC pacing: whether its kill pass after a refusal comes
	 * during the flood decides the kernel policy's result above a limit
	 * of 100 (--set ctsim_gc_pacing=ctsim for a pass a second) */
	w.base.gc_pacing = CT_GC_PACING_KERNEL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': {
			char *list = strdup(optarg), *save = NULL;

			for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				unsigned p;

				for (p = 0; p < CT_OVF_MAX && strcmp(tok, ct_overflow_policy_name(p)); p++)
					;
				if (p == CT_OVF_MAX) {
					fprintf(stderr, "ctsim pressure: --policy: unknown policy \"%s\" "
						"(ctsim pressure --list-policies)\n", tok);
					free(list);
					return 2;
				}
				want[p] = any = true;
			}
			free(list);
			break;
		}
		case 'm':
			if (parse_uint("--max", optarg, 1, 1u << 26, &v))
				return 2;
			w.base.max = v;
			break;
		case 'b':
			if (parse_uint("--buckets", optarg, 1, 1u << 26, &v))
				return 2;
			w.base.buckets = v;
			break;
		case 'i':
			if (parse_uint("--idle", optarg, 0, 1u << 24, &w.idle))
				return 2;
			break;
		case 't':
			if (parse_uint("--time-wait", optarg, 0, 1u << 24, &w.tw))
				return 2;
			break;
		case 'f':
			if (parse_uint("--flood", optarg, 0, 1u << 26, &w.flood))
				return 2;
			break;
		case 'r':
			if (parse_uint("--rate", optarg, 1, 100000000, &v))
				return 2;
			w.rate = v;
			break;
		case 'w':
			if (parse_uint("--wait", optarg, 0, 86400, &v))
				return 2;
			w.wait = v;
			break;
		case 'l':
			if (parse_uint("--legit", optarg, 0, 10000, &w.legit))
				return 2;
			break;
		case 'S':
			if (parse_uint("--seed", optarg, 0, UINT32_MAX, &v))
				return 2;
			w.seed = v;
			break;
		case 's': {
			char *eq = strchr(optarg, '=');

			if (!eq) {
				fprintf(stderr, "ctsim pressure: --set: expected NAME=VALUE, got \"%s\"\n", optarg);
				return 2;
			}
			*eq = '\0';
			if (ct_settings_set(&w.base, optarg, eq + 1, err, sizeof(err)) < 0) {
				fprintf(stderr, "ctsim pressure: --set: %s\n", err);
				return 2;
			}
			break;
		}
		case 'R': {
			char *list = strdup(optarg), *save = NULL;
			int bad = !list;

			nrates = 0;
			for (char *tok = list ? strtok_r(list, ",", &save) : NULL; tok && !bad;
			     tok = strtok_r(NULL, ",", &save)) {
				if (nrates == 16) {
					fprintf(stderr, "ctsim pressure: --sweep: at most 16 rates\n");
					bad = 1;
				} else if (parse_uint("--sweep", tok, 1, 100000000, &rates[nrates++])) {
					bad = 1;
				}
			}
			free(list);
			if (!bad && !nrates)
				fprintf(stderr, "ctsim pressure: --sweep: no rate given\n");
			if (bad || !nrates)
				return 2;
			break;
		}
		case 'j':
			json = true;
			break;
		case 'q':	/* the defaults are the quick workload (a few ms a policy) */
			break;
		case 'L':
			ct_overflow_policies_print(stdout);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ctsim pressure: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (w.idle + w.tw > w.base.max)
		fprintf(stderr, "ctsim pressure: note: %u idle + %u TIME_WAIT flows exceed "
			"nf_conntrack_max %u before the flood\n", w.idle, w.tw, w.base.max);
	if (nrates) {
		unsigned np = 0;

		if (!(sweep = calloc((size_t)CT_OVF_MAX * nrates, sizeof(*sweep)))) {
			fprintf(stderr, "ctsim pressure: out of memory\n");
			return 1;
		}
		for (unsigned p = 0; p < CT_OVF_MAX; p++) {
			if (any && !want[p])
				continue;
			for (unsigned k = 0; k < nrates; k++) {
				w.rate = rates[k];
				if (run_one(&w, p, &sweep[np * nrates + k]) < 0) {
					free(sweep);
					return 1;
				}
			}
			np++;
		}
		print_sweep(&w, sweep, np, rates, nrates, json, stdout);
		free(sweep);
		return 0;
	}
	for (unsigned p = 0; p < CT_OVF_MAX; p++) {
		if (any && !want[p])
			continue;
		memset(&res[n], 0, sizeof(res[n]));
		if (run_one(&w, p, &res[n]) < 0)
			return 1;
		n++;
	}
	if (json)
		print_json(&w, res, n, stdout);
	else
		print_table(&w, res, n, stdout);
	return 0;
}
