/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * expect.c — the expectation table (see expect.h), after
 * net/netfilter/nf_conntrack_expect.c. One list, newest first: the kernel
 * hashes by destination, but a list is enough for nf_conntrack_expect_max
 * (4096) and keeps "oldest of a master" trivial.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "ctsim/core/event.h"
#include "ctsim/core/expect.h"
#include "ctsim/core/helper.h"

struct ct_expect_table *ct_expect_table_get(struct ct_table *t)
{
	if (!t->expect)
		t->expect = calloc(1, sizeof(*t->expect));
	return t->expect;
}

void ct_expect_table_destroy(struct ct_table *t)
{
	struct ct_expect_table *et = t->expect;

	if (!et)
		return;
	while (et->head) {
		struct ct_expect *e = et->head;

		et->head = e->next;
		free(e);
	}
	free(et);
	t->expect = NULL;
}

uint16_t ct_expect_zone(const struct ct_expect *exp)
{
	return exp->master->zone.id;
}

static bool expired(const struct ct_table *t, const struct ct_expect *e)
{
	return (int64_t)(e->expires - t->now) <= 0;
}

uint32_t ct_expect_timeout_left(const struct ct_table *t, const struct ct_expect *exp)
{
	int64_t left = (int64_t)(exp->expires - t->now);

	return left > 0 ? (uint32_t)(left / (int64_t)CT_NSEC_PER_SEC) : 0;
}

/* ---------------------------------------------------------------------- */
/* Tuple comparisons (nf_conntrack_tuple.h)                                */

/* nf_ct_tuple_mask_cmp(): source address and port under @m, the rest equal. */
static bool mask_cmp(const struct ct_tuple *t, const struct ct_tuple *e,
		     const union ct_addr *msrc, uint16_t msport)
{
	for (int i = 0; i < 4; i++)
		if ((t->src.ip6[i] ^ e->src.ip6[i]) & msrc->ip6[i])
			return false;
	if ((t->sport ^ e->sport) & msport)
		return false;
	return !memcmp(&t->dst, &e->dst, sizeof(t->dst)) && t->dport == e->dport &&
	       t->icmp_type == e->icmp_type && t->icmp_code == e->icmp_code &&
	       t->l3num == e->l3num && t->l4num == e->l4num;
}

/* nf_ct_exp_equal() */
static bool exp_equal(const struct ct_tuple *tuple, const struct ct_expect *e, uint16_t zone)
{
	return mask_cmp(tuple, &e->tuple, &e->mask.src, e->mask.sport) &&
	       ct_expect_zone(e) == zone;
}

/* expect_clash(): do two expectations overlap under their common mask? */
static bool expect_clash(const struct ct_expect *a, const struct ct_expect *b)
{
	union ct_addr m;

	for (int i = 0; i < 4; i++)
		m.ip6[i] = a->mask.src.ip6[i] & b->mask.src.ip6[i];
	return mask_cmp(&a->tuple, &b->tuple, &m, a->mask.sport & b->mask.sport) &&
	       ct_expect_zone(a) == ct_expect_zone(b);
}

/* expect_matches(): same tuple, mask and zone. */
static bool expect_matches(const struct ct_expect *a, const struct ct_expect *b)
{
	return !memcmp(&a->tuple, &b->tuple, sizeof(a->tuple)) &&
	       !memcmp(&a->mask.src, &b->mask.src, sizeof(a->mask.src)) &&
	       a->mask.sport == b->mask.sport && ct_expect_zone(a) == ct_expect_zone(b);
}

/* ---------------------------------------------------------------------- */
/* Building, inserting, removing                                           */

void ct_expect_init(struct ct_expect *exp, struct conn *master, uint32_t class,
		    uint8_t family, const union ct_addr *saddr, const union ct_addr *daddr,
		    uint8_t proto, const uint16_t *sport, const uint16_t *dport)
{
	size_t len = family == AF_INET ? 4 : 16;

	memset(exp, 0, sizeof(*exp));
	exp->master = master;
	exp->class = class;
	exp->tuple.l3num = family;
	exp->tuple.l4num = proto;
	exp->mask.l3num = family;
	exp->mask.l4num = proto;
	if (saddr) {
		memcpy(&exp->tuple.src, saddr, len);
		memset(&exp->mask.src, 0xff, len);
	}
	if (sport) {
		exp->tuple.sport = *sport;
		exp->mask.sport = 0xffff;
	}
	memcpy(&exp->tuple.dst, daddr, len);
	exp->tuple.dport = *dport;
}

void ct_expect_unlink(struct ct_table *t, struct ct_expect *exp, uint32_t portid, bool report)
{
	struct ct_expect_table *et = t->expect;
	struct ct_expect **pp;

	for (pp = &et->head; *pp && *pp != exp; pp = &(*pp)->next)
		;
	if (!*pp)
		return;
	*pp = exp->next;
	et->count--;
	t->stats.exp.delete++;
	ct_events_report_exp(t->events, exp, CT_EXPEV(DESTROY), portid, report);
	free(exp);
}

void ct_expect_gc(struct ct_table *t)
{
	struct ct_expect_table *et = t->expect;
	struct ct_expect *e, *next;

	if (!et)
		return;
	for (e = et->head; e; e = next) {
		next = e->next;
		if (expired(t, e))
			ct_expect_unlink(t, e, 0, false);
	}
}

void ct_expect_remove_master(struct ct_table *t, struct conn *master, uint32_t portid,
			     bool report)
{
	struct ct_expect_table *et = t->expect;
	struct ct_expect *e, *next;

	if (!et || !et->count)
		return;
	for (e = et->head; e; e = next) {
		next = e->next;
		if (e->master == master)
			ct_expect_unlink(t, e, portid, report);
	}
}

unsigned ct_expect_count_master(const struct ct_table *t, const struct conn *master,
				uint32_t class)
{
	unsigned n = 0;

	if (!t->expect)
		return 0;
	for (const struct ct_expect *e = t->expect->head; e; e = e->next)
		if (e->master == master && e->class == class && !expired(t, e))
			n++;
	return n;
}

/* evict_oldest_expect(): the last of @master's @class in newest-first order. */
static void evict_oldest(struct ct_table *t, const struct ct_expect *new)
{
	struct ct_expect *e, *last = NULL;

	for (e = t->expect->head; e; e = e->next)
		if (e->master == new->master && e->class == new->class)
			last = e;
	if (last)
		ct_expect_unlink(t, last, 0, false);
}

/* __nf_ct_expect_check() */
static int expect_check(struct ct_table *t, const struct ct_expect *new)
{
	const struct ct_helper *h = ct_helper_of(new->master);
	struct ct_expect *e, *next;

	if (!ct_helper_name(new->master)[0])
		return -ESHUTDOWN;		/* no help extension */
	for (e = t->expect->head; e; e = next) {
		next = e->next;
		if (e->master == new->master && expect_matches(e, new)) {
			if (e->class != new->class)
				return -EALREADY;
			ct_expect_unlink(t, e, 0, false);	/* replaced */
			break;
		} else if (expect_clash(e, new)) {
			return -EBUSY;
		}
	}
	if (h && new->class <= h->expect_class_max) {
		const struct ct_exp_policy *p = &h->policy[new->class];

		if (p->max_expected &&
		    ct_expect_count_master(t, new->master, new->class) >= p->max_expected) {
			evict_oldest(t, new);
			if (ct_expect_count_master(t, new->master, new->class) >= p->max_expected)
				return -EMFILE;
		}
	}
	if (t->expect->count >= t->settings->expect_max) {
		ct_kernel_log_ratelimited(t, CT_EXPECT_FULL_MSG);
		return -EMFILE;
	}
	return 0;
}

/* A stable id that does not reveal a pointer (nf_expect_get_id() is a
 * siphash of the expectation's address). */
static uint32_t id_mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	x *= 0xc2b2ae35u;
	x ^= x >> 16;
	return x;
}

int ct_expect_related(struct ct_table *t, const struct ct_expect *exp, uint32_t portid,
		      bool report)
{
	struct ct_expect_table *et = ct_expect_table_get(t);
	const struct ct_helper *h;
	struct ct_expect *e;
	uint32_t timeout = exp->timeout;
	int err;

	if (!et)
		return -ENOMEM;
	ct_expect_gc(t);
	if ((err = expect_check(t, exp)))
		return err;
	if (!(e = malloc(sizeof(*e))))
		return -ENOMEM;
	*e = *exp;
	/* nf_ct_expect_insert(): the timeout of the master's helper policy */
	h = ct_helper_of(exp->master);
	if (h && exp->class <= h->expect_class_max)
		timeout = h->policy[exp->class].timeout;
	e->expires = t->now + (uint64_t)timeout * CT_NSEC_PER_SEC;
	e->id = id_mix(t->seed ^ ++et->next_id);
	e->next = et->head;
	et->head = e;
	et->count++;
	t->stats.exp.create++;
	ct_events_report_exp(t->events, e, CT_EXPEV(NEW), portid, report);
	return 0;
}

struct ct_expect *ct_expect_find(struct ct_table *t, const struct ct_tuple *tuple,
				 uint16_t zone_id)
{
	if (!t->expect)
		return NULL;
	ct_expect_gc(t);
	for (struct ct_expect *e = t->expect->head; e; e = e->next)
		if (exp_equal(tuple, e, zone_id))
			return e;
	return NULL;
}

bool ct_expect_match(struct ct_table *t, const struct ct_tuple *tuple, uint16_t zone_id,
		     struct ct_expect *out)
{
	struct ct_expect *e;

	if (!t->expect || !t->expect->count)
		return false;
	ct_expect_gc(t);
	for (e = t->expect->head; e; e = e->next)
		if (!(e->flags & CT_EXP_F_INACTIVE) && exp_equal(tuple, e, zone_id))
			break;
	if (!e)
		return false;
	/* "If master is not in hash table yet (ie. packet hasn't left this
	 * machine yet), how can other end know about expected?" */
	if (!(e->master->status & CT_S_CONFIRMED) || (e->master->status & CT_S_DYING))
		return false;
	*out = *e;
	out->next = NULL;
	if (!(e->flags & CT_EXP_F_PERMANENT))
		ct_expect_unlink(t, e, 0, false);
	return true;
}
