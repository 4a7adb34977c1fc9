/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * table.c — the conntrack table (see table.h). Emulates the parts of
 * net/netfilter/nf_conntrack_core.c that own entries: hashing, lookup,
 * insertion with clash detection, allocation under nf_conntrack_max with
 * early drop, deletion, reference counting and the GC walker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "ctsim/core/table.h"
#include "ctsim/core/event.h"
#include "ctsim/core/expect.h"
#include "ctsim/core/gre_keymap.h"
#include "ctsim/core/nat.h"
#include "ctsim/core/helper.h"

/* ---------------------------------------------------------------------- */
/* Hashing                                                                 */

static inline uint32_t rotl32(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* A seeded 32-bit hash of tuple + zone id (the kernel uses siphash over the
 * same fields in hash_conntrack_raw()). Murmur3-style mixing: fast, and a
 * random seed keeps chains short against chosen tuples. */
static uint32_t tuple_hash(const struct ct_table *t, const struct ct_tuple *tu, uint16_t zone_id)
{
	uint32_t w[sizeof(*tu) / 4];
	uint32_t h = t->seed ^ zone_id;

	memcpy(w, tu, sizeof(w));
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		uint32_t k = w[i] * 0xcc9e2d51u;

		k = rotl32(k, 15) * 0x1b873593u;
		h ^= k;
		h = rotl32(h, 13) * 5 + 0xe6546b64u;
	}
	h ^= sizeof(w);
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* reciprocal_scale(): map a 32-bit hash onto [0, nbuckets). */
static inline uint32_t bucket_of(const struct ct_table *t, uint32_t hash)
{
	return (uint32_t)(((uint64_t)hash * t->nbuckets) >> 32);
}

/* A bijective 32-bit mix: stable ids that look like the kernel's
 * (nf_ct_get_id() is a siphash of the entry's address) yet never repeat. */
static uint32_t id_mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

/* ---------------------------------------------------------------------- */
/* Memory                                                                  */

#define HUGE_SZ		(2u << 20)	/* x86-64 transparent huge page */

/*
 * Anonymous memory, zeroed and faulted lazily, aligned to HUGE_SZ and
 * advised as huge pages when at least that big. The bucket array (2 MiB
 * at the default 262144 buckets) and the entries are read at random by
 * every lookup; with 4 KiB pages most lookups also missed the TLB
 * (nf_conntrack_alloc_hashtable() uses kvzalloc(), which the kernel maps
 * with large pages when it can). Returns the aligned start, or NULL;
 * *base and *maplen are for big_free().
 */
static void *big_alloc(size_t len, void **base, size_t *maplen)
{
	size_t map = len >= HUGE_SZ ? len + HUGE_SZ : len;
	char *p = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		return NULL;
	a = p;
	if (len >= HUGE_SZ) {
		size_t head;

		/* keep only the aligned part of the over-sized mapping */
		a = (char *)(((uintptr_t)p + HUGE_SZ - 1) & ~(uintptr_t)(HUGE_SZ - 1));
		head = (size_t)(a - p);
		if (head)
			munmap(p, head);
		if (map - head > len)
			munmap(a + len, map - head - len);
		map = len;
#ifdef MADV_HUGEPAGE
		madvise(a, len, MADV_HUGEPAGE);	/* a hint: failure is harmless */
#endif
	}
	*base = a;
	*maplen = map;
	return a;
}

static void big_free(void *base, size_t maplen)
{
	if (base)
		munmap(base, maplen);
}

/*
 * Entry pool: the kernel allocates nf_conn from its own slab cache
 * (nf_conntrack_cachep); ctsim carves entries out of chunks that grow from
 * 16 KiB to HUGE_SZ, in order (memory is faulted as entries are used, so
 * RSS still tells the table's size), and keeps freed entries on a LIFO
 * list. No malloc header per entry (16 B), entries packed, no page fault
 * per new page's worth of entries once a huge page is in. Under
 * AddressSanitizer entries come from calloc()/free(), so that use after
 * free stays detectable.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CONN_POOL	0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONN_POOL	0
#endif
#endif
#ifndef CONN_POOL
#define CONN_POOL	1
#endif

/* Get room for one zeroed entry, or NULL. */
static struct conn *pool_get(struct ct_table *t)
{
	struct conn *c;

	if (!CONN_POOL)
		return calloc(1, sizeof(*c));
	if (t->pool_free) {
		c = t->pool_free;
		t->pool_free = c->dying_next;
		memset(c, 0, sizeof(*c));
		return c;
	}
	if ((size_t)(t->pool_end - t->pool_next) < sizeof(*c)) {
		size_t len = t->pool_nchunks ? t->pool_chunk_len[t->pool_nchunks - 1] * 2 : 16384;
		void *base;
		size_t maplen;
		char *a;

		if (len > HUGE_SZ)
			len = HUGE_SZ;
		if (t->pool_nchunks == t->pool_cap) {
			size_t cap = t->pool_cap ? 2 * t->pool_cap : 16;
			void **ch = realloc(t->pool_chunks, cap * sizeof(*ch));
			size_t *cl;

			if (!ch)
				return NULL;
			t->pool_chunks = ch;
			cl = realloc(t->pool_chunk_len, cap * sizeof(*cl));
			if (!cl)
				return NULL;
			t->pool_chunk_len = cl;
			t->pool_cap = cap;
		}
		a = big_alloc(len, &base, &maplen);
		if (!a)
			return NULL;
		(void)maplen;	/* == len */
		t->pool_chunks[t->pool_nchunks] = base;
		t->pool_chunk_len[t->pool_nchunks++] = len;
		t->pool_next = a;
		t->pool_end = a + len;
	}
	c = (struct conn *)t->pool_next;	/* fresh mapping: zero */
	t->pool_next += sizeof(*c);
	return c;
}

static void pool_put(struct ct_table *t, struct conn *c)
{
	if (!CONN_POOL) {
		free(c);
		return;
	}
	c->dying_next = t->pool_free;
	t->pool_free = c;
}

static void pool_destroy(struct ct_table *t)
{
	for (size_t i = 0; i < t->pool_nchunks; i++) {
		size_t len = t->pool_chunk_len[i];

		big_free(t->pool_chunks[i], len);
	}
	free(t->pool_chunks);
	free(t->pool_chunk_len);
	t->pool_chunks = NULL;
	t->pool_chunk_len = NULL;
	t->pool_nchunks = t->pool_cap = 0;
	t->pool_free = NULL;
	t->pool_next = t->pool_end = NULL;
}

/* ---------------------------------------------------------------------- */
/* Setup                                                                   */

int ct_table_init(struct ct_table *t, const struct ct_settings *s,
		  struct ct_clock *clock, struct ct_events *events, uint32_t seed)
{
	size_t bytes;

	memset(t, 0, sizeof(*t));
	t->nbuckets = s->buckets ? s->buckets : 1;
	bytes = (size_t)t->nbuckets * sizeof(*t->buckets);
	if (bytes >= HUGE_SZ)
		t->buckets = big_alloc(bytes, &t->buckets_base, &t->buckets_map);
	else
		t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->seed = seed;
	t->next_id = seed;
	t->settings = s;
	t->clock = clock;
	t->events = events;
	ct_table_tick(t);
	return 0;
}

static void conn_free(struct ct_table *t, struct conn *c)
{
	/* nf_ct_destroy(): expectations of a master that never got
	 * confirmed (TFTP expects on the first packet), then the reference
	 * an expected entry holds on its master. */
	ct_expect_remove_master(t, c, 0, false);
	ct_gre_conn_free(t, c);	/* destroy_gre_conntrack() */
	if (c->ext) {
		struct conn *master = c->ext->master_ct;

		free(c->ext->help);
		c->ext->master_ct = NULL;
		if (master)
			conn_put(t, master);
	}
	free(c->ext);
	pool_put(t, c);
	t->count--;
}

void ct_table_destroy(struct ct_table *t)
{
	struct conn *all = t->dying;

	ct_expect_table_destroy(t);	/* no events, no master references */
	ct_gre_keymap_flush(t);
	ct_nat_state_free(t);
	/* Masters are freed in any order here: forget ct->master first,
	 * for the dying entries now and for the hashed ones as they are
	 * collected (one pass over the entries fewer: they are cache misses). */
	for (struct conn *c = all; c; c = c->dying_next)
		if (c->ext)
			c->ext->master_ct = NULL;
	/* Collect first, free after: an entry's two nodes may share a bucket. */
	for (uint32_t b = 0; b < t->nbuckets; b++) {
		ct_table_walk_prefetch(t, b + CT_WALK_PREFETCH);
		for (struct ct_thash *h = t->buckets[b]; h; h = h->next) {
			if (h->dir == CT_DIR_ORIG) {
				struct conn *c = conn_of(h);

				if (c->ext)
					c->ext->master_ct = NULL;
				c->dying_next = all;
				all = c;
			}
		}
	}
	while (all) {
		struct conn *c = all;

		all = c->dying_next;
		conn_free(t, c);
	}
	t->dying = NULL;
	if (t->buckets_map)
		big_free(t->buckets_base, t->buckets_map);
	else
		free(t->buckets);
	t->buckets = NULL;
	t->buckets_base = NULL;
	t->buckets_map = 0;
	pool_destroy(t);
}

/* ---------------------------------------------------------------------- */
/* Timeouts                                                                */

uint32_t conn_timeout_left(const struct ct_table *t, const struct conn *c)
{
	int64_t left = (int64_t)(c->expires - t->now);

	return left > 0 ? (uint32_t)(left / (int64_t)CT_NSEC_PER_SEC) : 0;
}

void conn_set_timeout(struct ct_table *t, struct conn *c, uint32_t secs)
{
	/* ctnetlink_change_timeout(): timeout * HZ is capped at INT_MAX jiffies;
	 * with HZ = 1000 that is about 24.8 days. */
	uint64_t max_s = 0x7fffffffull / 1000;

	c->expires = t->now + (secs > max_s ? max_s : secs) * CT_NSEC_PER_SEC;
}

/* ---------------------------------------------------------------------- */
/* Entries                                                                 */

static void hash_unlink(struct ct_table *t, struct ct_thash *h)
{
	struct ct_thash **pp = &t->buckets[bucket_of(t, h->hash)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			h->next = NULL;
			return;
		}
	}
}

bool ct_table_delete(struct ct_table *t, struct conn *c, uint32_t portid, bool report)
{
	if (c->status & CT_S_DYING)
		return false;
	c->status |= CT_S_DYING;
	if (c->ext && (c->ext->has & CONN_EXT_TSTAMP))
		c->ext->ts_stop = ct_clock_wall(t->clock);
	/* nf_ct_delete(): the DESTROY event goes out while the entry is still
	 * intact, then it is unlinked. */
	ct_events_report(t->events, c, CT_EV(DESTROY), portid, report);
	if (c->flags & CONN_F_HASHED) {
		hash_unlink(t, &c->th[CT_DIR_ORIG]);
		hash_unlink(t, &c->th[CT_DIR_REPLY]);
		c->flags &= ~CONN_F_HASHED;
	}
	/* nf_ct_delete_from_lists(): the helper's destroy() (PPTP kills its
	 * GRE calls), then clean_from_lists(): all pending expectations. */
	ct_helper_destroy(t, c);
	ct_expect_remove_master(t, c, 0, false);
	if (c->use > 1) {
		c->flags |= CONN_F_DYING_LIST;
		c->dying_next = t->dying;
		t->dying = c;
	}
	conn_put(t, c);
	return true;
}

void conn_put(struct ct_table *t, struct conn *c)
{
	if (--c->use > 0)
		return;
	if (c->flags & CONN_F_DYING_LIST) {
		struct conn **pp = &t->dying;

		while (*pp && *pp != c)
			pp = &(*pp)->dying_next;
		if (*pp)
			*pp = c->dying_next;
	}
	conn_free(t, c);
}

/* Reap an expired entry met on the way (nf_ct_gc_expired()). */
static void reap(struct ct_table *t, struct conn *c)
{
	ct_table_delete(t, c, 0, false);
}

/* early_drop(): free room by deleting confirmed, non-ASSURED entries in
 * the buckets following the new tuple's, stopping at the first bucket that
 * yields anything; at most NF_CT_EVICTION_RANGE (8) buckets. */
static unsigned early_drop(struct ct_table *t, uint32_t hash)
{
	uint32_t b = bucket_of(t, hash);
	unsigned dropped = 0;

	for (unsigned i = 0; i < 8 && !dropped; i++, b = (b + 1) % t->nbuckets) {
		struct ct_thash *h = t->buckets[b], *next;

		for (; h; h = next) {
			struct conn *c = conn_of(h);

			next = h->next;
			/* Skip the reply node of an entry whose orig node we
			 * delete in this same walk: unlinking it is fine since
			 * next was read first, unless next *is* that node. */
			if (conn_expired(t, c)) {
				while (next && conn_of(next) == c)
					next = next->next;
				reap(t, c);
				continue;
			}
			if ((c->status & (CT_S_ASSURED | CT_S_DYING)) ||
			    !(c->status & CT_S_CONFIRMED))
				continue;
			while (next && conn_of(next) == c)
				next = next->next;
			t->ovf.early_dropped[ct_ovf_class_of(c)]++;
			ct_table_delete(t, c, 0, false);
			dropped++;
		}
	}
	t->stats.cpu.early_drop += dropped;
	return dropped;
}

struct conn *conn_alloc(struct ct_table *t, const struct ct_tuple *orig,
			const struct ct_tuple *reply, const struct ct_zone *zone)
{
	return conn_alloc_hash(t, orig, reply, zone, tuple_hash(t, orig, ct_zone_id(zone, CT_DIR_ORIG)));
}

struct conn *conn_alloc_hash(struct ct_table *t, const struct ct_tuple *orig,
			     const struct ct_tuple *reply, const struct ct_zone *zone, uint32_t h)
{
	struct conn *c;

	/* __nf_conntrack_alloc(): count includes unconfirmed entries. */
	if (t->settings->max && t->count + 1 > t->settings->max) {
		t->ovf.full++;
		/* early_drop() failed: the GC is told, and ctsim's overflow
		 * policy (overflow.c) may still make room; else the kernel's
		 * ratelimited log line, and ENOMEM. */
		if (!early_drop(t, h) && !ct_overflow_full(t, h)) {
			ct_overflow_refused(t);
			errno = ENOMEM;
			return NULL;
		}
	}
	c = pool_get(t);
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->th[CT_DIR_ORIG].dir = CT_DIR_ORIG;
	c->th[CT_DIR_ORIG].tuple = *orig;
	c->th[CT_DIR_REPLY].dir = CT_DIR_REPLY;
	c->th[CT_DIR_REPLY].tuple = *reply;
	c->zone = *zone;
	c->use = 1;
	c->id = id_mix(t->next_id++);
	if (ct_events_want(t->events))
		c->flags |= CONN_F_ECACHE;
	t->count++;
	return c;
}

struct conn_ext *conn_ext_add(struct conn *c)
{
	if (!c->ext)
		c->ext = calloc(1, sizeof(*c->ext));
	return c->ext;
}

void conn_free_unhashed(struct ct_table *t, struct conn *c)
{
	conn_free(t, c);
}

/* nf_ct_key_equal(): same tuple, and the entry's zone id for that node's
 * direction equals the lookup zone's id for the same direction. */
static bool key_equal(const struct ct_thash *h, const struct ct_tuple *tu,
		      const struct ct_zone *zone)
{
	return h->zone_id == ct_zone_id(zone, h->dir) &&
	       memcmp(&h->tuple, tu, sizeof(*tu)) == 0;
}

/* ____nf_conntrack_find(): a live node for @tu in @zone in the bucket of
 * @hash; expired entries met on the way are reaped. */
static struct ct_thash *find_node(struct ct_table *t, const struct ct_tuple *tu,
				  const struct ct_zone *zone, uint32_t hash)
{
	struct ct_thash *h, *next;

restart:
	for (h = t->buckets[bucket_of(t, hash)]; h; h = next) {
		next = h->next;
		/* Equal tuple and zone id imply an equal hash: compare the
		 * cached hash first, it rules out almost every node. */
		if (h->hash != hash || !key_equal(h, tu, zone))
			continue;
		if (conn_expired(t, conn_of(h))) {
			/* Reaping may unlink @next too (the entry's other
			 * node): walk the bucket again. */
			reap(t, conn_of(h));
			goto restart;
		}
		return h;
	}
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Prefetching                                                             */

/*
 * At 100k entries the bucket array (2 MiB at the default 262144 buckets)
 * and the entries do not fit in the caches, and the two misses of a lookup
 * (bucket head, then node) were the largest single cost of a replay (perf:
 * 18 % in find_node, nearly all of it the bucket load). A caller that knows
 * the next lookups prefetches them in two steps; the hash it computed is
 * kept so that the lookup does not compute it again. The hash is a pure
 * function of the seed, the tuple and the zone id: using the kept one
 * cannot change a result.
 */
uint32_t ct_table_prefetch(struct ct_table *t, const struct ct_tuple *tuple, uint16_t zone_id)
{
	struct ct_hash_memo *m = &t->memo[t->memo_next++ % CT_HASH_MEMO];

	m->tuple = *tuple;
	m->zone_id = zone_id;
	m->hash = tuple_hash(t, tuple, zone_id);
	m->valid = true;
	t->memo_used = true;
	__builtin_prefetch(&t->buckets[bucket_of(t, m->hash)]);
	return m->hash;
}

void ct_table_prefetch_entry(const struct ct_table *t, uint32_t hash)
{
	const char *h = (const char *)t->buckets[bucket_of(t, hash)];

	/* The node is th[0] or th[1]: 192 bytes from it cover the tuple,
	 * expires, status and proto of either (see struct conn). */
	if (h) {
		__builtin_prefetch(h);
		__builtin_prefetch(h + 64);
		__builtin_prefetch(h + 128);
	}
}

/* tuple_hash(), or the one ct_table_prefetch() computed for the same key. */
static uint32_t lookup_hash(struct ct_table *t, const struct ct_tuple *tu, uint16_t zone_id)
{
	if (t->memo_used) {
		for (unsigned i = 0; i < CT_HASH_MEMO; i++) {
			const struct ct_hash_memo *m = &t->memo[i];

			if (m->valid && m->zone_id == zone_id &&
			    memcmp(&m->tuple, tu, sizeof(*tu)) == 0)
				return m->hash;
		}
	}
	return tuple_hash(t, tu, zone_id);
}

struct conn *ct_table_find(struct ct_table *t, const struct ct_tuple *tuple,
			   const struct ct_zone *zone, enum ct_dir lookup_dir,
			   enum ct_dir *dir)
{
	static const struct ct_zone zone0 = { 0, CT_ZONE_DIR_BOTH };
	struct ct_thash *h;

	if (!zone)
		zone = &zone0;
	/* hash_conntrack_raw() takes the zone id for the tuple's own
	 * direction (tuple->dst.dir, set by ctnetlink_parse_tuple()). */
	h = find_node(t, tuple, zone, lookup_hash(t, tuple, ct_zone_id(zone, lookup_dir)));
	if (!h)
		return NULL;
	if (dir)
		*dir = h->dir;
	return conn_of(h);
}

struct conn *ct_table_hash_clash(struct ct_table *t, struct conn *c)
{
	for (int d = 0; d < 2; d++) {
		struct ct_thash *h = &c->th[d];
		uint16_t zid = ct_zone_id(&c->zone, d);

		h->zone_id = zid;
		h->hash = tuple_hash(t, &h->tuple, zid);
	}
	/* __nf_conntrack_hash_check_insert(): a clash on either tuple. Each
	 * of our tuples must be absent from the whole table in its zone. The
	 * hash of node d is the one ct_table_find(tuple, zone, d) computes. */
	for (int d = 0; d < 2; d++) {
		const struct ct_thash *h = &c->th[d];
		const struct ct_thash *other = find_node(t, &h->tuple, &c->zone, h->hash);

		if (other)
			return conn_of(other);
	}
	return NULL;
}

int ct_table_insert(struct ct_table *t, struct conn *c)
{
	if (ct_table_hash_clash(t, c))
		return -EEXIST;
	if (ct_table_chain_too_long(t, c))	/* nf_conntrack_hash_check_insert() */
		return -ENOSPC;
	ct_table_link(t, c);
	return 0;
}

void ct_table_link(struct ct_table *t, struct conn *c)
{
	for (int d = 0; d < 2; d++) {
		struct ct_thash *h = &c->th[d];
		struct ct_thash **head = &t->buckets[bucket_of(t, h->hash)];

		h->next = *head;
		*head = h;
	}
	c->flags |= CONN_F_HASHED;
}

void ct_table_link_reply_only(struct ct_table *t, struct conn *c)
{
	struct ct_thash *h = &c->th[CT_DIR_REPLY];
	struct ct_thash **head = &t->buckets[bucket_of(t, h->hash)];

	/* hlist_nulls_add_fake() for the original node: never in a chain */
	c->th[CT_DIR_ORIG].next = NULL;
	h->next = *head;
	*head = h;
	c->flags |= CONN_F_HASHED;
}

void ct_table_for_each(struct ct_table *t, void (*fn)(struct ct_table *, struct conn *, void *),
		       void *arg)
{
	for (uint32_t b = 0; b < t->nbuckets; b++) {
		struct ct_thash *h, *next;

		ct_table_walk_prefetch(t, b + CT_WALK_PREFETCH);
		for (h = t->buckets[b]; h; h = next) {
			struct conn *c = conn_of(h);

			next = h->next;
			if (h->dir != CT_DIR_ORIG)
				continue;
			if (next && conn_of(next) == c)
				next = next->next;
			/* @fn may delete @c (both its nodes are unlinked):
			 * @next already skips @c's adjacent reply node, and
			 * any other node of @c is simply gone later. */
			fn(t, c, arg);
		}
	}
}

/*
 * ctnetlink_dump_table()'s loop over one bucket: skip to the resume point,
 * kill what nf_ct_should_gc() says has expired (the deletion changes the
 * chain, hence the walk again from the start), hand the rest to @fn.
 */
int ct_table_dump_bucket(struct ct_table *t, uint32_t b, struct conn **resume,
			 ct_dump_fn fn, void *arg)
{
	struct conn *skip_to = resume ? *resume : NULL;
	struct ct_thash *h;

restart:
	for (h = t->buckets[b]; h; h = h->next) {
		struct conn *c = conn_of(h);
		int rc;

		if (h->dir != CT_DIR_ORIG)
			continue;
		if (skip_to) {
			if (c != skip_to)
				continue;
			skip_to = NULL;
		}
		if (conn_expired(t, c)) {
			ct_table_delete(t, c, 0, false);
			goto restart;
		}
		if (fn && (rc = fn(t, c, arg)))
			return rc;
	}
	if (skip_to) {
		/* The entry the last walk stopped at went away. */
		conn_put(t, *resume);
		*resume = NULL;
		skip_to = NULL;
		goto restart;
	}
	return 0;
}

int ct_table_dump(struct ct_table *t, ct_dump_fn fn, void *arg)
{
	for (uint32_t b = 0; b < t->nbuckets; b++) {
		int rc;

		ct_table_walk_prefetch(t, b + CT_WALK_PREFETCH);
		if (!t->buckets[b])	/* most buckets: no call for them */
			continue;
		if ((rc = ct_table_dump_bucket(t, b, NULL, fn, arg)))
			return rc;
	}
	return 0;
}

bool ct_table_chain_too_long(struct ct_table *t, const struct conn *c)
{
	uint32_t max_chainlen;

	/* a xorshift32 stream stands for prandom_u32_max(): a fixed seed
	 * keeps a scenario's result reproducible */
	if (!t->chain_rnd)
		t->chain_rnd = t->seed | 1;
	t->chain_rnd ^= t->chain_rnd << 13;
	t->chain_rnd ^= t->chain_rnd >> 17;
	t->chain_rnd ^= t->chain_rnd << 5;
	max_chainlen = 50 + (uint32_t)(((uint64_t)t->chain_rnd * 30) >> 32);
	for (int d = 0; d < 2; d++) {
		uint32_t n = 0;

		for (const struct ct_thash *h = t->buckets[bucket_of(t, c->th[d].hash)]; h; h = h->next)
			if (n++ > max_chainlen) {
				t->stats.cpu.chaintoolong++;
				return true;
			}
	}
	return false;
}

const char *ct_gc_pacing_name(uint32_t v)
{
	static const char *const names[] = { "ctsim", "kernel", "auto" };

	return v < sizeof(names) / sizeof(names[0]) ? names[v] : NULL;
}

/* gc_worker()'s constants (HZ-independent ones in ns; HZ = 250 on the
 * reference machine: GC_SCAN_EXPIRED_MAX = 64000 / HZ = 256, a jiffy 4 ms). */
#define GC_SCAN_INTERVAL_MIN	(1ull * CT_NSEC_PER_SEC)
#define GC_SCAN_INTERVAL_MAX	(60ull * CT_NSEC_PER_SEC)
#define GC_SCAN_INTERVAL_CLAMP	(300ull * CT_NSEC_PER_SEC)
#define GC_SCAN_INITIAL_COUNT	100
#define GC_SCAN_EXPIRED_MAX	256
#define GC_JIFFY		(4ull * 1000000)

/* gc_worker()'s running average: "expires = (expires - next_run) / ++count;
 * next_run += expires", over clamped remaining lifetimes. */
static void gc_avg(struct ct_table *t, const struct conn *c)
{
	int64_t e = (int64_t)(c->expires - t->now);

	if (e < (int64_t)GC_SCAN_INTERVAL_MIN)
		e = GC_SCAN_INTERVAL_MIN;
	if (e > (int64_t)GC_SCAN_INTERVAL_CLAMP)
		e = GC_SCAN_INTERVAL_CLAMP;
	t->gc_avg_ns += (e - t->gc_avg_ns) / (int64_t)++t->gc_avg_count;
}

/* End of a pass: next_run = clamp(avg, 1 s, 60 s) minus the pass's own
 * duration (at least a jiffy). */
static void gc_pass_end(struct ct_table *t)
{
	uint64_t next = (uint64_t)t->gc_avg_ns, took = t->now - t->gc_pass_start;

	if (next < GC_SCAN_INTERVAL_MIN)
		next = GC_SCAN_INTERVAL_MIN;
	if (next > GC_SCAN_INTERVAL_MAX)
		next = GC_SCAN_INTERVAL_MAX;
	t->gc_next_run = next > took ? next - took : GC_JIFFY;
	/* beyond the kernel: Suricata's flow manager runs more often in
	 * emergency mode (policy emergency, overflow.c) */
	if (t->emergency && t->gc_next_run > GC_SCAN_INTERVAL_MIN)
		t->gc_next_run = GC_SCAN_INTERVAL_MIN;
	/* ... and pf purges expired states every `set timeout interval`
	 * (10 s) while adaptive timeouts are scaling (policy adaptive) */
	if (t->gc_factor_ppm < CT_OVF_FACTOR_ONE && t->gc_next_run > 10 * GC_SCAN_INTERVAL_MIN)
		t->gc_next_run = 10 * GC_SCAN_INTERVAL_MIN;
}

/* A pass begins at bucket 0: gc_worker()'s state for "i == 0", and the
 * early-drop flag as that run reads it. */
static void gc_pass_begin(struct ct_table *t)
{
	t->gc_pass_early_drop = t->gc_early_drop;
	t->gc_avg_ns = (int64_t)GC_SCAN_INTERVAL_MAX;	/* GC_SCAN_INTERVAL_INIT */
	t->gc_avg_count = GC_SCAN_INITIAL_COUNT;
	t->gc_pass_start = t->now;
}

unsigned ct_table_gc(struct ct_table *t, uint32_t max_buckets)
{
	unsigned reaped = 0;
	bool kill;

	ct_expect_gc(t);		/* expired expectations (nf_ct_expect_gc) */
	if (max_buckets > t->nbuckets)
		max_buckets = t->nbuckets;
	t->gc_run_expired = 0;
	kill = ct_overflow_gc_begin(t);
	for (uint32_t i = 0; i < max_buckets; i++) {
		uint32_t b = t->gc_bucket;
		struct ct_thash *h;

		if (b == 0)
			gc_pass_begin(t);
		t->gc_bucket = (b + 1) % t->nbuckets;
restart:
		for (h = t->buckets[b]; h; h = h->next) {
			struct conn *c = conn_of(h);

			if (conn_expired(t, c)) {
				reap(t, c);
				reaped++;
				t->gc_run_expired++;
				goto restart;
			}
			/* a table-full event, or an overflow policy's
			 * shortened timeouts (overflow.c) */
			if (kill && ct_overflow_gc_kill(t, c)) {
				ct_table_delete(t, c, 0, false);
				reaped++;
				t->gc_run_expired++;
				goto restart;
			}
		}
		/* the pacing average over what stays, once per node as the
		 * kernel walks them (the restarts above would count twice) */
		for (h = t->buckets[b]; h; h = h->next)
			gc_avg(t, conn_of(h));
		/* gc_worker() ends a run after GC_SCAN_EXPIRED_MAX expired or
		 * killed entries and goes on a jiffy later, with next_run != 0:
		 * that clears the early-drop flag, so one table-full event
		 * kills at most about that many entries. */
		if (t->gc_run_expired > GC_SCAN_EXPIRED_MAX && t->gc_early_drop) {
			ct_overflow_gc_pass_done(t);
			t->gc_pass_early_drop = false;
			kill = ct_overflow_gc_begin(t);
		}
		if (t->gc_bucket == 0) {	/* the pass ended */
			gc_pass_end(t);
			if (t->gc_pass_early_drop) {
				ct_overflow_gc_pass_done(t);
				t->gc_pass_early_drop = false;
				kill = ct_overflow_gc_begin(t);
			}
		}
	}
	return reaped;
}
