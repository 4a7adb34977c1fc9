/* SPDX-License-Identifier: GPL-2.0-or-later */
/* overflow.c — the table-full path: the kernel's rules and ctsim's
 * overflow policies (see overflow.h, docs/pressure.md). */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "ctsim/core/overflow.h"
#include "ctsim/core/table.h"
#include "ctsim/core/track_tcp.h"

#define NS	1000000000ull
#define PPM	1000000ull

/*
 * The policies: one row each, with the reason it exists. Every policy but
 * `kernel` is beyond the kernel: it acts only where Linux 6.18 would drop
 * the packet (early_drop() found no non-ASSURED entry), or, for the two
 * timeout policies, by expiring entries sooner than their timeout.
 */
struct policy_row {
	const char *name;
	const char *reason;
};

static const struct policy_row policies[CT_OVF_MAX] = {
	[CT_OVF_KERNEL] = { "kernel",
		"Linux 6.18: early drop of the non-ASSURED entries of the first of 8 buckets "
		"that has any, else drop the packet (log, drop++); the GC then kills "
		"non-ASSURED and closing entries while the table is above 95 %" },
	[CT_OVF_WAIT_FIRST] = { "wait-first",
		"the talk: a TCP flow in TIME_WAIT, CLOSE, LAST_ACK, FIN_WAIT or CLOSE_WAIT "
		"has ended or is ending; evict the one idle longest (TIME_WAIT first) "
		"instead of refusing a new flow" },
	[CT_OVF_MIN_LIFETIME] = { "min-lifetime",
		"the talk's soft timeout: an ASSURED entry idle longer than "
		"ctsim_overflow_min_lifetime seconds becomes evictable (the longest idle goes)" },
	[CT_OVF_ADAPTIVE] = { "adaptive",
		"pf's adaptive.start/adaptive.end: above start entries every timeout is "
		"scaled by (end - count)/(end - start), so idle entries expire before the "
		"table fills; at the limit it acts as kernel" },
	[CT_OVF_NO_NAT_FIRST] = { "no-nat-first",
		"the talk: an entry without a NAT binding can be re-created mid-stream by "
		"loose pickup, a NATed one cannot; evict the longest idle entry without NAT" },
	[CT_OVF_LRU] = { "lru",
		"Cilium (BPF LRU hash) and VPP: never refuse, evict the least recently "
		"used entry, whatever its state" },
	[CT_OVF_EMERGENCY] = { "emergency",
		"Suricata: on a table-full event enter emergency mode: entries idle longer "
		"than ctsim_overflow_emergency_timeout expire and the longest idle is "
		"reused, until the count falls below (100 - recovery) % of the limit" },
};

const char *ct_overflow_policy_name(uint32_t p)
{
	return p < CT_OVF_MAX ? policies[p].name : NULL;
}

const char *ct_overflow_policy_reason(uint32_t p)
{
	return p < CT_OVF_MAX ? policies[p].reason : NULL;
}

void ct_overflow_policies_print(FILE *out)
{
	for (unsigned i = 0; i < CT_OVF_MAX; i++)
		fprintf(out, "%-13s %s\n", policies[i].name, policies[i].reason);
}

static const char *const class_names[CT_OVC_MAX] = {
	[CT_OVC_TCP_OPENING] = "tcp-opening",
	[CT_OVC_TCP_ESTABLISHED] = "tcp-established",
	[CT_OVC_TCP_CLOSING] = "tcp-closing",
	[CT_OVC_TCP_TIME_WAIT] = "tcp-time-wait",
	[CT_OVC_UDP] = "udp",
	[CT_OVC_OTHER] = "other",
};

const char *ct_ovf_class_name(enum ct_ovf_class c)
{
	return c < CT_OVC_MAX ? class_names[c] : "?";
}

static uint8_t l4num(const struct conn *c)
{
	return c->th[CT_DIR_ORIG].tuple.l4num;
}

enum ct_ovf_class ct_ovf_class_of(const struct conn *c)
{
	switch (l4num(c)) {
	case IPPROTO_TCP:
		switch (c->proto.tcp.state) {
		case CT_TCP_ESTABLISHED:
			return CT_OVC_TCP_ESTABLISHED;
		case CT_TCP_TIME_WAIT:
			return CT_OVC_TCP_TIME_WAIT;
		case CT_TCP_FIN_WAIT:
		case CT_TCP_CLOSE_WAIT:
		case CT_TCP_LAST_ACK:
		case CT_TCP_CLOSE:
			return CT_OVC_TCP_CLOSING;
		default:
			return CT_OVC_TCP_OPENING;
		}
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		return CT_OVC_UDP;
	default:
		return CT_OVC_OTHER;
	}
}

bool ct_can_early_drop(const struct conn *c)
{
	if (!(c->status & CT_S_ASSURED))
		return true;
	switch (l4num(c)) {
	case IPPROTO_TCP:
		return ct_tcp_can_early_drop(c);
	case IPPROTO_SCTP:	/* sctp_can_early_drop() */
		switch (c->proto.sctp.state) {
		case CT_SCTP_SHUTDOWN_SENT:
		case CT_SCTP_SHUTDOWN_RECD:
		case CT_SCTP_SHUTDOWN_ACK_SENT:
			return true;
		default:
			return false;
		}
	default:
		return false;
	}
}

/* The timeout the entry's state gets: the base from which its expiry was
 * last set (nf_ct_refresh_acct() on every packet). */
static uint32_t state_timeout(const struct ct_table *t, const struct conn *c)
{
	uint8_t state = 0;

	if (l4num(c) == IPPROTO_TCP)
		state = c->proto.tcp.state;
	else if (l4num(c) == IPPROTO_SCTP)
		state = c->proto.sctp.state;
	else if ((l4num(c) == IPPROTO_UDP || l4num(c) == IPPROTO_UDPLITE) &&
		 (c->status & CT_S_ASSURED))
		return t->settings->udp_timeout_stream;
	return ct_settings_timeout(t->settings, c->th[CT_DIR_ORIG].tuple.l3num, l4num(c), state);
}

uint64_t ct_overflow_last_used(const struct ct_table *t, const struct conn *c)
{
	uint64_t to = (uint64_t)state_timeout(t, c) * NS;

	if (!(c->status & CT_S_CONFIRMED))
		return t->now;
	return c->expires > to ? c->expires - to : 0;
}

static uint64_t idle_ns(const struct ct_table *t, const struct conn *c)
{
	uint64_t last = ct_overflow_last_used(t, c);

	return t->now > last ? t->now - last : 0;
}

static bool has_nat(const struct conn *c)
{
	return c->status & (CT_S_SRC_NAT | CT_S_DST_NAT);
}

/*
 * A victim's rank under policy @p: 0 = not evictable; otherwise larger is
 * evicted first. Idle time breaks ties (in ms, below 2^40), a class bonus
 * above it orders the classes.
 */
static uint64_t rank(const struct ct_table *t, const struct conn *c, uint32_t p)
{
	const struct ct_settings *s = t->settings;
	uint64_t idle = idle_ns(t, c) / 1000000u + 1;
	uint64_t top = 1ull << 40;

	if (idle >= top)
		idle = top - 1;
	switch (p) {
	case CT_OVF_WAIT_FIRST:
		if (l4num(c) != IPPROTO_TCP || !ct_tcp_can_early_drop(c))
			return 0;
		return (c->proto.tcp.state == CT_TCP_TIME_WAIT ? 2 * top : top) + idle;
	case CT_OVF_MIN_LIFETIME:
		if (idle_ns(t, c) <= (uint64_t)s->overflow_min_lifetime * NS)
			return 0;
		return idle;
	case CT_OVF_NO_NAT_FIRST:
		return has_nat(c) ? 0 : idle;
	case CT_OVF_LRU:
		return idle;
	case CT_OVF_EMERGENCY:
		return idle;	/* forced reuse: the longest idle */
	default:
		return 0;
	}
}

static void count_class(uint64_t *arr, const struct conn *c)
{
	arr[ct_ovf_class_of(c)]++;
}

/* Pick and delete the best victim within ctsim_overflow_scan buckets of
 * the new tuple's. Unconfirmed and dying entries are never victims. */
static unsigned evict_one(struct ct_table *t, uint32_t hash, uint32_t p)
{
	uint32_t b = (uint32_t)(((uint64_t)hash * t->nbuckets) >> 32);
	uint32_t n = t->settings->overflow_scan;
	struct conn *best = NULL;
	uint64_t best_rank = 0;

	if (n == 0 || n > t->nbuckets)
		n = t->nbuckets;
	for (uint32_t i = 0; i < n; i++, b = (b + 1) % t->nbuckets) {
		for (struct ct_thash *h = t->buckets[b]; h; h = h->next) {
			struct conn *c = conn_of(h);
			uint64_t r;

			if (h->dir != CT_DIR_ORIG || (c->status & CT_S_DYING) ||
			    !(c->status & CT_S_CONFIRMED))
				continue;
			r = rank(t, c, p);
			if (r > best_rank) {
				best_rank = r;
				best = c;
			}
		}
	}
	if (!best)
		return 0;
	count_class(t->ovf.evicted, best);
	if (best->status & CT_S_ASSURED)
		t->ovf.evicted_assured++;
	if (has_nat(best))
		t->ovf.evicted_nat++;
	ct_table_delete(t, best, 0, false);
	return 1;
}

unsigned ct_overflow_full(struct ct_table *t, uint32_t hash)
{
	uint32_t p = t->settings->overflow_policy;

	/* __nf_conntrack_alloc(): early_drop() failed, the GC is told. */
	t->gc_early_drop = true;
	if (p == CT_OVF_EMERGENCY && !t->emergency) {
		t->emergency = true;
		t->gc_kick = true;	/* the flow manager steps up (table.c) */
		t->ovf.emergency_entered++;
	}
	switch (p) {
	case CT_OVF_WAIT_FIRST:
	case CT_OVF_MIN_LIFETIME:
	case CT_OVF_NO_NAT_FIRST:
	case CT_OVF_LRU:
	case CT_OVF_EMERGENCY:
		return evict_one(t, hash, p);
	default:	/* kernel; adaptive acts through the GC */
		return 0;
	}
}

void ct_kernel_log_ratelimited(struct ct_table *t, const char *line)
{
	char note[64];

	/* net_ratelimit(): one state for every net_warn_ratelimited() caller,
	 * a 5 s window of at most 10 messages; the first one after a window
	 * with losses says how many were held back. */
	if (t->rl_begin == 0 || t->now - t->rl_begin >= 5 * NS) {
		if (t->rl_missed && t->log) {
			snprintf(note, sizeof(note), "net_ratelimit: %u callbacks suppressed",
				 t->rl_missed);
			t->log(t->log_arg, note);
		}
		t->rl_begin = t->now ? t->now : 1;
		t->rl_printed = 0;
		t->rl_missed = 0;
	}
	if (t->rl_printed >= 10) {
		t->rl_missed++;
		t->ovf.suppressed++;
		return;
	}
	t->rl_printed++;
	t->ovf.logged++;
	if (t->log)
		t->log(t->log_arg, line);
}

void ct_overflow_refused(struct ct_table *t)
{
	t->ovf.refused++;
	ct_kernel_log_ratelimited(t, CT_TABLE_FULL_MSG);
}

/* The limits of the adaptive policy: pf's defaults are 60 % and 120 % of
 * the state limit. */
static void adaptive_limits(const struct ct_settings *s, uint64_t *start, uint64_t *end)
{
	*start = s->overflow_adaptive_start ? s->overflow_adaptive_start : (uint64_t)s->max * 6 / 10;
	*end = s->overflow_adaptive_end ? s->overflow_adaptive_end : (uint64_t)s->max * 12 / 10;
	if (*end <= *start)
		*end = *start + 1;
}

bool ct_overflow_gc_begin(struct ct_table *t)
{
	const struct ct_settings *s = t->settings;

	/* gc_worker(): nf_conntrack_max95 while the early-drop flag is up. */
	t->gc_max95 = t->gc_early_drop ? s->max / 100u * 95u : 0;
	t->gc_factor_ppm = PPM;
	if (s->overflow_policy == CT_OVF_ADAPTIVE) {
		uint64_t start, end;

		adaptive_limits(s, &start, &end);
		if (t->count > start)	/* pf_state_expires() */
			t->gc_factor_ppm = t->count >= end ? 0 : (end - t->count) * PPM / (end - start);
	} else if (s->overflow_policy == CT_OVF_EMERGENCY && t->emergency) {
		/* leave emergency mode below (100 - recovery) % of the limit */
		if ((uint64_t)t->count * 100 < (uint64_t)s->max * (100 - s->overflow_emergency_recovery))
			t->emergency = false;
	} else {
		t->emergency = false;
	}
	t->gc_kill = t->gc_max95 || t->gc_factor_ppm < PPM || t->emergency;
	return t->gc_kill;
}

bool ct_overflow_gc_kill(struct ct_table *t, const struct conn *c)
{
	const struct ct_settings *s = t->settings;

	if (!(c->status & CT_S_CONFIRMED) || (c->status & CT_S_DYING))
		return false;	/* gc_worker_skip_ct() */
	if (t->gc_max95 && t->count >= t->gc_max95 && ct_can_early_drop(c)) {
		count_class(t->ovf.gc_killed, c);
		return true;
	}
	if (t->gc_factor_ppm < PPM) {
		/* adaptive: expired under the timeout scaled by the factor of
		 * this moment's count, as pf_state_expires() computes it on
		 * every check */
		uint64_t start, end, f, to;

		adaptive_limits(s, &start, &end);
		f = t->count <= start ? PPM : t->count >= end ? 0 :
		    (end - t->count) * PPM / (end - start);
		to = (uint64_t)state_timeout(t, c) * NS / PPM * f;

		if (idle_ns(t, c) >= to) {
			t->ovf.expired_adaptive++;
			return true;
		}
	}
	if (t->emergency && idle_ns(t, c) >= (uint64_t)s->overflow_emergency_timeout * NS &&
	    idle_ns(t, c) < (uint64_t)state_timeout(t, c) * NS) {
		t->ovf.expired_adaptive++;
		return true;
	}
	return false;
}

void ct_overflow_gc_pass_done(struct ct_table *t)
{
	/* gc_worker(): "if (next_run) gc_work->early_drop = false" at the
	 * end of a pass that was not cut short. */
	t->gc_early_drop = false;
}

void ct_chain_hist(const struct ct_table *t, uint32_t *hist, unsigned nhist, uint32_t *longest)
{
	memset(hist, 0, nhist * sizeof(*hist));
	*longest = 0;
	for (uint32_t b = 0; b < t->nbuckets; b++) {
		uint32_t n = 0;

		for (const struct ct_thash *h = t->buckets[b]; h; h = h->next)
			n++;
		hist[n < nhist - 1 ? n : nhist - 1]++;
		if (n > *longest)
			*longest = n;
	}
}

/* One "WHAT class n class n ..." line of per-class counts, none if all 0. */
static void class_line(FILE *out, const char *what, const uint64_t *n)
{
	uint64_t sum = 0;

	for (unsigned k = 0; k < CT_OVC_MAX; k++)
		sum += n[k];
	if (!sum)
		return;
	fprintf(out, "%s %llu:", what, (unsigned long long)sum);
	for (unsigned k = 0; k < CT_OVC_MAX; k++)
		if (n[k])
			fprintf(out, " %s %llu", ct_ovf_class_name(k), (unsigned long long)n[k]);
	fputc('\n', out);
}

void ct_overflow_report(const struct ct_table *t, FILE *out)
{
	const struct ct_settings *s = t->settings;
	const struct ct_overflow_stats *o = &t->ovf;

	fprintf(out, "policy %s (ctsim_overflow_policy)\n", ct_overflow_policy_name(s->overflow_policy));
	if (o->full)
		fprintf(out, "table full %llu times, %llu packets dropped, %llu log lines, "
			"%llu suppressed\n", (unsigned long long)o->full,
			(unsigned long long)o->refused, (unsigned long long)o->logged,
			(unsigned long long)o->suppressed);
	class_line(out, "early_drop", o->early_dropped);
	class_line(out, "gc_killed", o->gc_killed);
	class_line(out, "evicted", o->evicted);
	if (o->evicted_assured || o->evicted_nat)
		fprintf(out, "evicted live %llu nat %llu\n", (unsigned long long)o->evicted_assured,
			(unsigned long long)o->evicted_nat);
	if (o->expired_adaptive || o->emergency_entered)
		fprintf(out, "expired early %llu, emergency entered %llu\n",
			(unsigned long long)o->expired_adaptive,
			(unsigned long long)o->emergency_entered);
}
