/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness.c — the offline core shared by `ctsim replay`, the scenario
 * runner and the fuzz targets (harness.h).
 *
 * The set-up is the daemon's (ctsim/main.c) minus the I/O: the same table,
 * settings, event queue and router ladder, with the clock made virtual and
 * the GC timer replaced by ct_vtime's slices, so that what an offline run
 * prints is what the daemon would have shown for the same traffic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctsim/nfnetlink/conn_export.h"
#include "ctsim/core/expect.h"
#include "ctsim/replay/harness.h"
#include "helpers/helpers.h"
#include "ctsim/replay/pcap_io.h"

void ct_offline_init(struct ct_offline *h)
{
	memset(h, 0, sizeof(*h));
	ct_settings_init(&h->settings);
	/* Every offline path builds its core here, so the built-in helpers are
	 * registered here (once per process; the call is idempotent and cannot
	 * fail for the built-in table, whose size is fixed at compile time). */
	ct_helpers_register_builtin();
}

/* conntrack -E: ctnetlink_conntrack_event() turned into a line (or a JSON
 * object) by the shared printer. */
static void on_event(void *arg, const struct ct_event *ev)
{
	struct ct_offline *h = arg;
	struct ctnl_ct o;

	if (!h->listening)
		return;
	export_ct_from_event(&h->table, ev, &o);
	h->print.fp = h->ev_fp;
	ctnl_print_ct(&o, export_event_kind(ev->mask), ev->portid);
	if (h->ev_fp)
		fflush(h->ev_fp);
	h->events_shown++;
}

/* conntrack -E expect: ctnetlink_expect_event(), the same way. */
static void on_exp_event(void *arg, const struct ct_exp_event *ev)
{
	struct ct_offline *h = arg;
	struct ctnl_exp o;

	if (!h->listening)
		return;
	export_exp_from_expect(&h->table, ev->exp, &o);
	h->print.fp = h->xev_fp;
	ctnl_print_exp(&o, (ev->mask & CT_EXPEV(DESTROY)) ? CTNL_EV_DESTROY : CTNL_EV_NEW);
	if (h->xev_fp)
		fflush(h->xev_fp);
}

int ct_offline_start(struct ct_offline *h, uint64_t wall_start, uint64_t time_base,
		     uint32_t seed, struct ruleset *rs)
{
	ct_clock_init_virtual(&h->clock, wall_start);
	h->events.mode = h->settings.events;
	/* A listener present from the start: with nf_conntrack_events=2 the
	 * entries then carry the event cache (nf_ct_ecache_ext_add()). */
	h->events.listeners = h->listening;
	if (ct_table_init(&h->table, &h->settings, &h->clock, &h->events, seed) < 0)
		return -ENOMEM;
	ct_vtime_init(&h->vt, &h->table, &h->clock, time_base);
	if (((h->capture & CT_OFFLINE_EVENTS) && ct_events_subscribe(&h->events, on_event, h) < 0) ||
	    ((h->capture & CT_OFFLINE_EXP_EVENTS) &&
	     ct_events_subscribe_exp(&h->events, on_exp_event, h) < 0)) {
		ct_table_destroy(&h->table);
		return -ENOSPC;
	}
	h->core = (struct ct_core){ .table = &h->table, .settings = &h->settings,
				    .events = &h->events, .clock = &h->clock };
	router_init(&h->router, &h->core, h->xmit, h->xmit_arg);
	for (unsigned i = 0; i < 2; i++) {
		const struct ct_offline_if *f = &h->ifs[i];

		router_add_if(&h->router, i ? "ct-s0" : "ct-c0", f->has4 ? &f->a4 : NULL, f->plen4,
			      f->has6 ? &f->a6 : NULL, f->plen6);
	}
	h->router.forward_all = true;
	h->router.trace = h->trace;
	h->router.trace_ctx = h->trace_ctx;
	h->router.trace_all = h->trace_all;
	h->router.rs = rs;
	h->print.now_ns = wall_start;
	h->up = true;
	return 0;
}

void ct_offline_fini(struct ct_offline *h)
{
	if (!h->up)
		return;
	router_fini(&h->router);
	ct_table_destroy(&h->table);
	h->up = false;
}

void ct_offline_advance(struct ct_offline *h, uint64_t at)
{
	ct_vtime_advance(&h->vt, at);
	h->print.now_ns = ct_clock_wall(&h->clock);
}

void ct_offline_listen(struct ct_offline *h, bool on)
{
	h->listening = on;
	h->events.listeners = on;
}

int ct_offline_receive(struct ct_offline *h, int iif, uint8_t *pkt, size_t len, uint64_t ts_ns)
{
	return router_receive(&h->router, iif, pkt, len, ts_ns);
}

/* One line of conntrack -L (ctnetlink_dump_table()'s fill: the object a
 * dump would carry, printed). */
static int list_one(struct ct_table *t, struct conn *c, void *arg)
{
	unsigned *shown = arg;
	struct ctnl_ct o;

	export_ct_from_conn(t, c, &o);
	ctnl_print_ct(&o, CTNL_EV_NONE, 0);
	(*shown)++;
	return 0;
}

unsigned ct_offline_list(struct ct_offline *h, FILE *fp)
{
	unsigned shown = 0;

	if (!h->up)
		return 0;
	h->print.fp = fp;
	ct_table_dump(&h->table, list_one, &shown);
	return shown;
}

/* ---------------------------------------------------------------------- */
/* A capture file                                                          */

/* Packets read ahead of the one being fed (see ct_offline_replay_pcap()). */
#define RP_AHEAD	2
#define RP_RING		4	/* >= RP_AHEAD + 1, a power of two: indexes are masks */

/* A writable copy of a packet (the router edits it), read ahead. */
struct rp_slot {
	struct ct_pcap_rec rec;	/* rec.l3 points into buf */
	uint8_t *buf;
	size_t cap;
	bool oom;		/* no room for the copy */
	bool hinted;		/* hint() step 1 done */
	bool have_hash;		/* ... and the tuple could be guessed */
	uint32_t hash;
};

/* Copy a record out of the reader's buffer (which the next read reuses)
 * into @s. On failure @s is marked, to be reported when its turn comes. */
static void slot_store(struct rp_slot *s, const struct ct_pcap_rec *rec)
{
	s->rec = *rec;
	s->oom = false;
	s->hinted = false;
	s->have_hash = false;
	if (rec->len > s->cap) {
		size_t cap = rec->len > 65536 ? rec->len : 65536;
		uint8_t *b = realloc(s->buf, cap);

		if (!b) {
			s->oom = true;
			return;
		}
		s->buf = b;
		s->cap = cap;
	}
	/* A record cut by the capture's snap length goes in as it is: the
	 * IP layer finds it shorter than its header says and drops it,
	 * which is all a router could do with such a packet. */
	memcpy(s->buf, rec->l3, rec->len);
	s->rec.l3 = s->buf;
}

/* Hints for a packet that comes soon: step 1 computes the hash of its
 * (guessed) tuple and prefetches the bucket, step 2, one packet later,
 * the entry. Zone 0 is a guess too: a ruleset that sets zones only makes
 * the hint useless, never the result different (ct_table_prefetch()). */
static void hint(struct ct_offline *h, struct rp_slot *s, bool entry)
{
	struct ct_tuple tu;

	if (!h->up || s->oom)
		return;
	if (!s->hinted) {
		s->hinted = true;
		if (ct_pkt_peek_tuple(s->buf, s->rec.len, &tu)) {
			s->hash = ct_table_prefetch(&h->table, &tu, 0);
			s->have_hash = true;
		}
		return;
	}
	if (entry && s->have_hash)
		ct_table_prefetch_entry(&h->table, s->hash);
}

/* One packet: start the harness at the first, move the clock, route. */
static int feed(struct ct_offline *h, struct rp_slot *s, uint32_t seed, struct ruleset *rs,
		struct ct_offline_pcap_counts *n, const char *who)
{
	const struct ct_pcap_rec *rec = &s->rec;

	if (!h->up && ct_offline_start(h, rec->ts_ns, rec->ts_ns, seed, rs) < 0) {
		fprintf(stderr, "%s: cannot allocate %u hash buckets\n", who, h->settings.buckets);
		return -1;
	}
	ct_offline_advance(h, rec->ts_ns);
	if (s->oom)
		return -1;
	n->packets++;
	n->truncated += rec->len < rec->orig_len;
	if (ct_offline_receive(h, CT_OFFLINE_CLIENT, s->buf, rec->len, rec->ts_ns) == CT_DROP)
		n->dropped++;
	return 0;
}

/*
 * While packet N is fed, N+1's entry and N+2's bucket are being prefetched
 * (hint()), which hides most of the cache misses of the lookups. A read
 * error or end of file ahead is acted on only once the packets before it
 * have been fed, so the output is that of a loop without read-ahead.
 */
int ct_offline_replay_pcap(struct ct_offline *h, const char *path, uint32_t seed,
			   struct ruleset *rs, struct ct_offline_pcap_counts *n, const char *who)
{
	char err[CT_PCAP_ERRLEN];
	struct ct_pcap_reader *r = ct_pcap_open(path, err);
	struct rp_slot ring[RP_RING];
	struct ct_pcap_rec rec;
	unsigned head = 0, queued = 0;
	int got = 1, rc = 0;

	memset(n, 0, sizeof(*n));
	if (!r) {
		fprintf(stderr, "%s: %s\n", who, err);
		return 1;
	}
	memset(ring, 0, sizeof(ring));
	for (;;) {
		struct rp_slot *s;

		while (got > 0 && queued < RP_RING) {
			got = ct_pcap_next(r, &rec, err);
			if (got > 0)
				slot_store(&ring[(head + queued++) % RP_RING], &rec);
		}
		if (!queued)
			break;
		for (unsigned i = RP_AHEAD; i >= 1; i--)
			if (i < queued)
				hint(h, &ring[(head + i) % RP_RING], i == 1);
		s = &ring[head];
		if (feed(h, s, seed, rs, n, who) < 0) {
			fprintf(stderr, "%s: %s: out of memory at packet %llu\n", who,
				path, (unsigned long long)s->rec.index);
			rc = 1;
			got = 0;	/* the loop stopped here: no read error */
			break;
		}
		head = (head + 1) % RP_RING;
		queued--;
	}
	if (got < 0) {
		fprintf(stderr, "%s: %s\n", who, err);
		rc = 1;
	}
	n->malformed = h->router.stats.bad_l3;
	ct_pcap_close(r);
	for (unsigned i = 0; i < RP_RING; i++)
		free(ring[i].buf);
	return rc;
}
