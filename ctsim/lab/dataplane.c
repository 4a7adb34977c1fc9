/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dataplane.c — TUN devices, router and ruleset in the daemon (see dataplane.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "proto/ctsim_wire.h"
#include "ctsim/lab/dataplane.h"
#include "ctsim/replay/pcap_io.h"
#include "ctsim/hooks/ruleset.h"
#include "ctsim/core/describe.h"

/* Packets read from one TUN per wake-up, so one busy link cannot starve
 * the ctnetlink clients. */
#define RX_BURST 64

/* The errors of a TUN device whose interface is gone (tun_get() finds no
 * device: EBADFD), as opposed to a full queue or an interface set down. */
static bool link_gone(int err)
{
	return err == EBADFD || err == ENODEV || err == ENXIO;
}

/* A TUN device that fails for good (its interface deleted: EBADFD, or
 * its namespace gone): stop polling it, say so once, serve the others.
 * Without this a level-triggered epoll wakes for it forever. */
static void drop_link(struct dataplane *dp, int i, int err)
{
	struct lab_host *h = &dp->lab.host[i];

	fprintf(stderr, "ctsim: lab: %s of host %s failed (%s): no longer served; "
		"the other hosts are\n", h->ifname, h->name, strerror(err));
	epoll_ctl(dp->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	close(h->fd);
	h->fd = -1;
}

static void xmit(void *arg, int oif, const uint8_t *pkt, size_t len)
{
	struct dataplane *dp = arg;
	int fd = dp->lab.host[oif].fd;

	/* A TUN write never blocks for long; a full queue drops, as a NIC does. */
	if (fd >= 0 && write(fd, pkt, len) < 0 && errno != EAGAIN) {
		if (link_gone(errno))
			drop_link(dp, oif, errno);
		else
			perror("ctsim: write to TUN");
	}
}

static struct ruleset *load_ruleset(const char *path)
{
	struct rs_errors errs;
	struct ruleset *rs;

	rs_errors_init(&errs);
	rs = path ? ruleset_parse_file(path, &errs) : ruleset_default();
	if (!rs)
		rs_errors_print(&errs, stderr);
	rs_errors_free(&errs);
	return rs;
}

int dataplane_start(struct dataplane *dp, const struct ct_core *core, const struct lab *l,
		    const char *ruleset_path, int epfd)
{
	char err[512];

	memset(dp, 0, sizeof(*dp));
	dp->core = *core;
	dp->lab = *l;
	dp->epfd = epfd;
	dp->ruleset_path = ruleset_path;
	dp->rs = load_ruleset(ruleset_path);
	if (!dp->rs)
		return -1;
	if (lab_up(&dp->lab, err, sizeof(err)) < 0) {
		fprintf(stderr, "ctsim: lab: %s\n", err);
		ruleset_free(dp->rs);
		return -1;
	}
	router_init(&dp->router, &dp->core, xmit, dp);
	dp->router.rs = dp->rs;
	for (unsigned i = 0; i < dp->lab.n; i++) {
		const struct lab_host *h = &dp->lab.host[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &dp->cookie[i] };

		router_add_if(&dp->router, h->ifname, h->has4 ? &h->gw4 : NULL, h->plen4,
			      h->has6 ? &h->gw6 : NULL, h->plen6);
		epoll_ctl(epfd, EPOLL_CTL_ADD, h->fd, &ev);
	}
	dp->up = true;
	return 0;
}

bool dataplane_owns(const struct dataplane *dp, const void *cookie)
{
	return dp->up && (const uint8_t *)cookie >= dp->cookie &&
	       (const uint8_t *)cookie < dp->cookie + LAB_MAX_HOSTS;
}

/* One packet from host @i into the router, now. */
static void route_one(struct dataplane *dp, int i, uint8_t *buf, size_t len)
{
	uint64_t now = ct_clock_wall(dp->core.clock);
	char err[CT_PCAP_ERRLEN];

	ct_table_tick(dp->core.table);
	/* Before the router, which may rewrite the packet (TTL). */
	if (dp->capture && ct_pcap_write(dp->capture, now, buf, len, err) < 0) {
		fprintf(stderr, "ctsim: capture stopped: %s\n", err);
		ct_pcap_finish(dp->capture, err);
		dp->capture = NULL;
	}
	router_receive(&dp->router, i, buf, len, now);
}

/* ---------------------------------------------------------------------- */
/* ctctl pause / step / resume                                             */

struct dp_held {
	uint8_t *data;
	size_t len;
	int iif;
	uint64_t at;		/* wall ns when it arrived */
};

/* Paused: keep a copy of the packet for later (the TUN buffer is reused). */
static void hold(struct dataplane *dp, int i, const uint8_t *buf, size_t len)
{
	struct dp_held *h;

	if (dp->held_n == DP_HOLD_MAX) {
		dp->held_dropped++;
		return;
	}
	h = &dp->held[(dp->held_head + dp->held_n) % DP_HOLD_MAX];
	h->data = malloc(len);
	if (!h->data) {
		dp->held_dropped++;
		return;
	}
	memcpy(h->data, buf, len);
	h->len = len;
	h->iif = i;
	h->at = ct_clock_wall(dp->core.clock);
	dp->held_n++;
}

/* The oldest held packet, out of the ring (the caller frees data). */
static struct dp_held unhold(struct dataplane *dp)
{
	struct dp_held h = dp->held[dp->held_head];

	dp->held_head = (dp->held_head + 1) % DP_HOLD_MAX;
	dp->held_n--;
	return h;
}

/* What the step collector saw of a released packet. */
struct step_collect {
	FILE *f;
	router_trace_fn prev;		/* the server's tracer (ctctl trace), or NULL */
	void *prev_ctx;
	bool have_ct;
	struct ct_tuple tuple;
	struct ct_zone zone;
};

static void step_trace(void *ctx, const struct router_trace_step *st)
{
	struct step_collect *sc = ctx;
	char line[2048];

	if (!st->end && st->skb && st->skb->ct && !sc->have_ct) {
		sc->have_ct = true;
		sc->tuple = st->skb->ct->th[CT_DIR_ORIG].tuple;
		sc->zone = st->skb->ct->zone;
	}
	router_trace_format(line, sizeof(line), st, false);
	fprintf(sc->f, "%s\n", line);
	/* the server filters per client (nftrace, FILTER) */
	if (sc->prev)
		sc->prev(sc->prev_ctx, st);
}

/* Release the oldest held packet, traced, its report into @f. */
static void step_one(struct dataplane *dp, FILE *f, unsigned k)
{
	struct dp_held h = unhold(dp);
	struct step_collect sc = { .f = f, .prev = dp->router.trace, .prev_ctx = dp->router.trace_ctx };
	bool all = dp->router.trace_all;
	enum ct_dir dir;
	struct conn *c;
	char desc[4096];

	fprintf(f, "packet %u from %s, held %.3f s:\n", k, dp->lab.host[h.iif].ifname,
		(double)(ct_clock_wall(dp->core.clock) - h.at) / 1e9);
	dp->router.trace = step_trace;
	dp->router.trace_ctx = &sc;
	dp->router.trace_all = true;
	route_one(dp, h.iif, h.data, h.len);
	dp->router.trace = sc.prev;
	dp->router.trace_ctx = sc.prev_ctx;
	dp->router.trace_all = all;
	free(h.data);
	c = sc.have_ct ? ct_table_find(dp->core.table, &sc.tuple, &sc.zone, CT_DIR_ORIG, &dir) : NULL;
	if (!c) {
		fputs("entry after: no entry\n", f);
		return;
	}
	ct_conn_describe(dp->core.table, c, desc, sizeof(desc));
	fprintf(f, "entry after:\n%s", desc);
}

int dataplane_step(void *arg, unsigned op, unsigned n, char *buf, size_t cap, size_t *len)
{
	struct dataplane *dp = arg;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f;
	unsigned k = 0;

	*len = 0;
	if (op == CTSIM_STEP_NEXT && !dp->paused)
		return EINVAL;
	if (op == CTSIM_STEP_PAUSE && !dp->held) {
		dp->held = calloc(DP_HOLD_MAX, sizeof(*dp->held));
		if (!dp->held)
			return ENOMEM;
	}
	f = open_memstream(&text, &tlen);
	if (!f)
		return ENOMEM;
	switch (op) {
	case CTSIM_STEP_PAUSE:
		dp->paused = true;
		break;
	case CTSIM_STEP_NEXT:
		for (k = 0; k < (n ? n : 1) && dp->held_n; k++)
			step_one(dp, f, k + 1);
		if (!k)
			fputs("no packet held\n", f);
		break;
	case CTSIM_STEP_RESUME:
		dp->paused = false;
		while (dp->held_n) {
			struct dp_held h = unhold(dp);

			route_one(dp, h.iif, h.data, h.len);
			free(h.data);
			k++;
		}
		fprintf(f, "released %u packets\n", k);
		break;
	default:
		break;
	}
	fprintf(f, "%s, %u packets held", dp->paused ? "paused" : "running", dp->held_n);
	if (dp->held_dropped)
		fprintf(f, ", %llu dropped while the queue was full (%u)",
			(unsigned long long)dp->held_dropped, DP_HOLD_MAX);
	fputc('\n', f);
	if (fclose(f) != 0) {
		free(text);
		return ENOMEM;
	}
	if (tlen > cap) {
		static const char cut[] = "... (cut: the report is larger than one reply)\n";

		tlen = cap;
		if (cap > sizeof(cut))
			memcpy(text + cap - sizeof(cut) + 1, cut, sizeof(cut) - 1);
	}
	memcpy(buf, text, tlen);
	*len = tlen;
	free(text);
	return 0;
}

void dataplane_handle(struct dataplane *dp, void *cookie)
{
	int i = (int)((uint8_t *)cookie - dp->cookie);
	static uint8_t buf[65536];

	for (int n = 0; n < RX_BURST; n++) {
		ssize_t len = read(dp->lab.host[i].fd, buf, sizeof(buf));

		if (len < 0 && link_gone(errno)) {
			drop_link(dp, i, errno);
			return;
		}
		if (len <= 0)
			return;
		if (__builtin_expect(dp->paused, 0)) {
			hold(dp, i, buf, (size_t)len);
			continue;
		}
		route_one(dp, i, buf, (size_t)len);
	}
}

int dataplane_reload(struct dataplane *dp, const char *cause)
{
	struct ruleset *rs = load_ruleset(dp->ruleset_path);

	if (!rs) {
		fprintf(stderr, "ctsim: ruleset not reloaded; the old one stays%s%s%s\n",
			cause ? " (" : "", cause ? cause : "", cause ? ")" : "");
		return -1;
	}
	/* Atomic: the next packet sees the new ruleset; the table is untouched. */
	ruleset_free(dp->rs);
	dp->rs = rs;
	dp->router.rs = rs;
	fprintf(stderr, "ctsim: ruleset reloaded%s%s%s%s%s\n", dp->ruleset_path ? " from " : "",
		dp->ruleset_path ? dp->ruleset_path : "",
		cause ? " (" : "", cause ? cause : "", cause ? ")" : "");
	return 0;
}

int dataplane_capture(struct dataplane *dp, const char *path)
{
	char err[CT_PCAP_ERRLEN];

	dp->capture = ct_pcap_create(path, err);
	if (!dp->capture) {
		fprintf(stderr, "ctsim: --capture: %s\n", err);
		return -1;
	}
	return 0;
}

int dataplane_reload_errno(void *arg)
{
	return dataplane_reload(arg, NULL) == 0 ? 0 : EINVAL;
}

int dataplane_ruleset(void *arg, unsigned flags, char *buf, size_t cap, size_t *len)
{
	struct dataplane *dp = arg;
	int err = ruleset_print_buf(dp->rs, flags & CTSIM_RULESET_JSON, buf, cap, len);

	if (err)
		return err;
	/* Single-threaded daemon: no packet can pass between the listing
	 * and the reset, so every packet is counted exactly once. */
	if (flags & CTSIM_RULESET_RESET)
		ruleset_reset_counters(dp->rs);
	return 0;
}

void dataplane_stop(struct dataplane *dp)
{
	if (!dp->up)
		return;
	for (unsigned i = 0; i < dp->lab.n; i++)
		if (dp->lab.host[i].fd >= 0)
			epoll_ctl(dp->epfd, EPOLL_CTL_DEL, dp->lab.host[i].fd, NULL);
	lab_down(&dp->lab);
	router_fini(&dp->router);
	if (dp->capture) {
		char err[CT_PCAP_ERRLEN];

		if (ct_pcap_finish(dp->capture, err) < 0)
			fprintf(stderr, "ctsim: capture: %s\n", err);
		dp->capture = NULL;
	}
	ruleset_free(dp->rs);
	dp->rs = NULL;
	while (dp->held && dp->held_n)
		free(unhold(dp).data);
	free(dp->held);
	dp->held = NULL;
	dp->paused = false;
	dp->up = false;
}
