/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_lookup.c — the cost of the established-flow fast path: ct_in() on
 * packets of connections that are already in the table (ESTABLISHED TCP),
 * at 100k and 1M entries, and the bare ct_table_find() lookup. Prints
 * ns/packet and ns/lookup (medians of 5 passes). A benchmark, not a test.
 *
 * Usage: bench_lookup [N ...]   (default 100000 1000000)
 * Anchors (../shared/bench/README.md): OVS userspace established lookup
 * 185–242 ns at 100k, 290–350 ns at 1M; target ≤ 250–300 ns.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ctsim/core/pipeline.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct ct_tuple tuple_of(unsigned i)
{
	struct ct_tuple t;

	memset(&t, 0, sizeof(t));
	t.src.ip = htonl(0x0a000000u | (i >> 8));
	t.dst.ip = htonl(0x0a800001u);
	t.sport = (uint16_t)(1024 + (i & 0xff));
	t.dport = 80;
	t.l3num = AF_INET;
	t.l4num = IPPROTO_TCP;
	return t;
}

static void run(unsigned n)
{
	struct ct_settings s;
	struct ct_clock clock;
	struct ct_events ev = { 0 };
	struct ct_table t;
	struct ct_zone z = { 0, CT_ZONE_DIR_BOTH };
	double find[5], in[5];
	unsigned npkt = n < 200000 ? n : 200000;
	uint8_t (*pkts)[64] = malloc((size_t)npkt * 64);
	size_t *lens = malloc(npkt * sizeof(*lens));
	struct ct_core core;

	ct_settings_init(&s);
	s.max = n * 2;
	s.buckets = n;
	ct_clock_init_virtual(&clock, 1700000000ull * CT_NSEC_PER_SEC);
	ct_table_init(&t, &s, &clock, &ev, 7);
	core = (struct ct_core){ .table = &t, .settings = &s, .events = &ev, .clock = &clock };
	/* n established entries, inserted as ctnetlink would */
	for (unsigned i = 0; i < n; i++) {
		struct ct_tuple o = tuple_of(i), r;
		struct conn *c;

		ct_tuple_invert(&o, &r);
		c = conn_alloc(&t, &o, &r, &z);
		conn_set_timeout(&t, c, 432000);
		c->status |= CT_S_CONFIRMED | CT_S_SEEN_REPLY | CT_S_ASSURED;
		c->proto.tcp.state = CT_TCP_ESTABLISHED;
		ct_table_insert(&t, c);
	}
	/* ACK packets of a spread-out subset (the fast path of ct_in) */
	for (unsigned k = 0; k < npkt; k++) {
		unsigned i = (unsigned)(((unsigned long long)k * 2654435761u) % n);
		struct ct_tuple o = tuple_of(i);
		uint8_t tcp[20] = { 0 };

		tcp[0] = (uint8_t)(o.sport >> 8); tcp[1] = (uint8_t)o.sport;
		tcp[2] = 0; tcp[3] = 80;
		tcp[12] = 5 << 4;
		tcp[13] = 0x10;		/* ACK */
		tcp[14] = 0xff; tcp[15] = 0xff;
		lens[k] = (size_t)ct_pkt_build(pkts[k], 64, AF_INET, &o.src, &o.dst, IPPROTO_TCP,
					       tcp, 20);
	}
	for (int pass = 0; pass < 5; pass++) {
		double t0 = now_ns();

		for (unsigned k = 0; k < npkt; k++) {
			struct ct_tuple o = tuple_of((unsigned)(((unsigned long long)k * 2654435761u) % n));

			if (!ct_table_find(&t, &o, &z, CT_DIR_ORIG, NULL))
				abort();
		}
		find[pass] = (now_ns() - t0) / npkt;
		t0 = now_ns();
		for (unsigned k = 0; k < npkt; k++) {
			struct ct_skb skb;

			ct_skb_init(&skb, pkts[k], lens[k]);
			ct_in(&core, &skb, CT_HOOK_FORWARD);
			ct_skb_done(&core, &skb, false);
		}
		in[pass] = (now_ns() - t0) / npkt;
	}
	qsort(find, 5, sizeof(double), cmp);
	qsort(in, 5, sizeof(double), cmp);
	printf("%9u entries: lookup %6.0f ns   ct_in (established ACK, lookup + TCP tracker) %6.0f ns\n",
	       n, find[2], in[2]);
	ct_table_destroy(&t);
	free(pkts);
	free(lens);
}

int main(int argc, char **argv)
{
	printf("# medians of 5 passes over up to 200000 packets; OVS established lookup: "
	       "185-242 ns at 100k, 290-350 ns at 1M\n");
	if (argc > 1)
		for (int i = 1; i < argc; i++)
			run((unsigned)strtoul(argv[i], NULL, 0));
	else {
		run(100000);
		run(1000000);
	}
	return 0;
}
