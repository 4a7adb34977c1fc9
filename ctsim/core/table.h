/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * table.h — the conntrack table (the kernel's nf_conntrack_hash and struct
 * nf_conn, nf_conntrack_core.c).
 *
 * Each entry is hashed twice, once per direction, in one hash table, exactly
 * as the kernel hashes its two nf_conntrack_tuple_hash nodes: a lookup by
 * any tuple finds the entry and tells which direction matched. The key is
 * the tuple plus the zone id that applies in that direction
 * (nf_ct_zone_id()), so identical tuples in different zones coexist.
 *
 * Lifetime: an entry in the hash holds one reference (use = 1). Anyone else
 * who keeps a pointer across calls (a dump cursor, later a packet in flight)
 * takes one with conn_get() and drops it with conn_put(). Deleting unlinks
 * the entry, sets DYING and emits DESTROY; if references remain it waits on
 * the dying list (what `conntrack -L dying` shows) until the last put.
 *
 * Expiry is lazy, as in the kernel: an expired entry stays until a lookup,
 * a dump or the GC walker meets it (nf_ct_gc_expired(), gc_worker()).
 */
#ifndef CTSIM_TABLE_H
#define CTSIM_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include "proto/ctnl.h"
#include "ctsim/core/clock.h"
#include "ctsim/core/overflow.h"
#include "ctsim/core/settings.h"

struct ct_events;
struct ct_expect_table;
struct ct_gre_keymap;
struct ct_nat_state;
struct ct_helper;

enum ct_dir { CT_DIR_ORIG = 0, CT_DIR_REPLY = 1 };

/* Zone directions (NF_CT_ZONE_DIR_*): which tuples the zone id applies to. */
#define CT_ZONE_DIR_ORIG	1
#define CT_ZONE_DIR_REPLY	2
#define CT_ZONE_DIR_BOTH	3

struct ct_zone {
	uint16_t id;
	uint8_t dir;		/* CT_ZONE_DIR_* */
};

/* The zone id that applies to direction @dir (nf_ct_zone_id()). */
static inline uint16_t ct_zone_id(const struct ct_zone *z, enum ct_dir dir)
{
	return (z->dir & (1u << dir)) ? z->id : 0;
}

/* One of the two hash nodes of an entry (struct nf_conntrack_tuple_hash). */
struct ct_thash {
	struct ct_thash *next;
	uint32_t hash;		/* full hash, kept for cheap chain walks and resizes */
	uint8_t dir;		/* enum ct_dir */
	uint8_t pad;
	uint16_t zone_id;	/* the entry's zone id for this direction: the whole key
				 * sits in the node, one cache line for a lookup */
	struct ct_tuple tuple;
};

/* Rarely used parts, allocated on demand (the kernel's nf_ct_ext). */
struct conn_ext {
	struct ctnl_counters counters[2];	/* acct */
	uint64_t ts_start, ts_stop;		/* timestamp (wall ns) */
	uint8_t labels[16];
	struct ct_tuple master;			/* orig tuple of the master (IPS_EXPECTED) */
	uint16_t master_zone;
	struct ctnl_seqadj seqadj[2];
	uint32_t secmark;
	uint32_t synproxy[3];			/* isn, its, tsoff */
	const struct ct_helper *helper;		/* help->helper (ctsim/core/helper.h); NULL: none */
	uint8_t has;				/* CONN_EXT_* */
	/* Expectations (ctsim/core/expect.c): the master entry of an IPS_EXPECTED
	 * entry, referenced (ct->master), and the helper's private data
	 * (nf_conn_help's data area, e.g. struct nf_ct_ftp_master), owned. */
	struct conn *master_ct;
	void *help;
	/* nf_conn_timeout: the timeout policy of an nft `ct timeout` object
	 * (CONN_EXT_TIMEOUT), in seconds, used by the tracker instead of the
	 * sysctls: TCP indexed by enum ct_tcp_state, then CT_TO_TCP_RETRANS
	 * and CT_TO_TCP_UNACK; UDP CT_TO_UDP_UNREPLIED, CT_TO_UDP_REPLIED. */
	uint32_t timeouts[12];
};

#define CT_TO_TCP_RETRANS	10	/* nf_conntrack_tcp_timeout_max_retrans's place */
#define CT_TO_TCP_UNACK		11	/* nf_conntrack_tcp_timeout_unacknowledged's place */
#define CT_TO_UDP_UNREPLIED	0
#define CT_TO_UDP_REPLIED	1
#define CT_TO_MAX		12

#define CONN_EXT_ACCT		0x01
#define CONN_EXT_TSTAMP		0x02
#define CONN_EXT_LABELS		0x04
#define CONN_EXT_MASTER		0x08
#define CONN_EXT_SEQADJ		0x10
#define CONN_EXT_SYNPROXY	0x20
#define CONN_EXT_HELPER		0x40
#define CONN_EXT_TIMEOUT	0x80

/* One direction of a TCP connection as the window tracker sees it
 * (struct ip_ct_tcp_state; td_scale and flags live in conn_tcp.wscale[]
 * and conn_tcp.flags[], which ctnetlink reads). */
struct conn_tcp_win {
	uint32_t td_end;	/* max of seq + len: the highest byte sent */
	uint32_t td_maxend;	/* max of ack + max(win,1): the right edge the receiver allows */
	uint32_t td_maxwin;	/* max(win), the largest window seen (0 = side not seen yet) */
	uint32_t td_maxack;	/* max of ack sent (valid with MAXACK_SET) */
};

/* TCP (struct ip_ct_tcp, nf_conntrack_proto_tcp.c): 56 bytes. */
struct conn_tcp {
	uint8_t state;		/* enum ct_tcp_state */
	uint8_t wscale[2];	/* td_scale per direction */
	uint8_t flags[2];	/* IP_CT_TCP_FLAG_* per direction (CT_TCP_F_*, track_tcp.h) */
	uint8_t last_dir;	/* direction of the last packet recorded */
	uint8_t last_index;	/* its flag class (enum ct_tcp_index) */
	uint8_t retrans;	/* identical ACKs repeated in a row */
	uint8_t last_flags;	/* options of an ignored SYN, EXP_CHALLENGE_ACK, SIMULTANEOUS_OPEN */
	uint8_t last_wscale;	/* window scale of an ignored SYN */
	uint16_t last_win;	/* raw window of the last packet recorded */
	uint32_t last_seq, last_ack, last_end;
	struct conn_tcp_win seen[2];	/* [dir]: the sender's window data */
};

struct conn_sctp {
	uint8_t state;		/* enum ct_sctp_state */
	uint8_t init[2];	/* pipeline: an INIT was seen in this direction */
	uint8_t flags;		/* pipeline: SCTP_FLAG_HEARTBEAT_VTAG_FAILED */
	uint8_t last_dir;	/* pipeline: direction of the failed HEARTBEAT */
	uint32_t vtag[2];
};

/* UDP and UDP-Lite (struct nf_ct_udp): when the entry becomes a stream. */
struct conn_udp {
	uint64_t stream_ts;	/* clock ns: creation + 2 s */
};

/* Entry flags (not on the wire). */
#define CONN_F_ECACHE		0x01	/* events are delivered for this entry */
#define CONN_F_HASHED		0x02	/* linked in the hash */
#define CONN_F_DYING_LIST	0x04	/* unlinked, waiting for its last reference */
#define CONN_F_SYNPROXY		0x08	/* has the synproxy extension (values in ext, or all zero) */

struct conn {
	struct ct_thash th[2];		/* [CT_DIR_ORIG], [CT_DIR_REPLY] */
	uint64_t expires;		/* clock ns (ct_clock_now()) */
	uint32_t status;		/* IPS_* (CT_S_*) */
	uint32_t mark;
	uint32_t id;
	uint32_t use;
	struct ct_zone zone;
	uint8_t flags;			/* CONN_F_* */
	uint8_t masq_if;		/* nf_conn_nat's masq_index: the 1-based interface a
					 * masquerade binding took its address from, 0 none */
	union {
		struct conn_tcp tcp;
		struct conn_sctp sctp;
		struct conn_udp udp;
	} proto;
	uint16_t ecache;		/* CT_EV() bits cached by packets, not yet delivered
					 * (the ecache extension's cache; see pipeline.c) */
	struct conn_ext *ext;
	struct conn *dying_next;
};

/* Kernel statistics, per CPU in the kernel; ctsim keeps one set. */
struct ct_stats {
	struct ctnl_stats_cpu cpu;
	struct ctnl_stats_exp exp;
};

/* A hash computed ahead of its lookup by ct_table_prefetch() (see there). */
struct ct_hash_memo {
	struct ct_tuple tuple;
	uint32_t hash;
	uint16_t zone_id;
	bool valid;
};

#define CT_HASH_MEMO	4

struct ct_table {
	struct ct_thash **buckets;
	uint32_t nbuckets;
	uint32_t count;			/* entries in the hash (nf_conntrack_count) */
	uint32_t seed;
	uint32_t next_id;
	uint32_t gc_bucket;		/* where the GC walker resumes */
	uint64_t now;			/* clock reading for this step (see ct_table_tick()) */
	struct conn *dying;		/* unlinked but still referenced */
	struct ct_stats stats;
	const struct ct_settings *settings;
	struct ct_clock *clock;
	struct ct_events *events;	/* may be NULL */
	struct ct_expect_table *expect;	/* expectations (ctsim/core/expect.c), created on first use */
	struct ct_gre_keymap *gre_keymap; /* PPTP call ids (ctsim/core/gre_keymap.c), oldest first */
	struct ct_nat_state *nat;	/* NAT's random source and bysource memory (core/nat.c),
					 * created on first use */
	size_t buckets_map;		/* mmap()ed length of the bucket array, 0 if calloc()ed */
	void *buckets_base;		/* its mapping (buckets is aligned inside) */
	/* The entry pool (table.c, "Entry pool"): chunks carved in order,
	 * freed entries on a list. */
	struct conn *pool_free;
	char *pool_next, *pool_end;	/* the unused rest of the newest chunk */
	void **pool_chunks;
	size_t *pool_chunk_len;
	size_t pool_nchunks, pool_cap;
	struct ct_hash_memo memo[CT_HASH_MEMO];	/* ct_table_prefetch()'s hashes, a ring */
	unsigned memo_next;
	bool memo_used;			/* ct_table_prefetch() was ever called */
	/* Table full (ctsim/core/overflow.c). */
	struct ct_overflow_stats ovf;
	bool gc_early_drop;		/* conntrack_gc_work.early_drop: a table-full event */
	bool gc_kill;			/* this GC step asks ct_overflow_gc_kill() */
	bool gc_pass_early_drop;	/* the current GC pass began with gc_early_drop up */
	bool emergency;			/* policy emergency: in emergency mode */
	uint32_t gc_max95;		/* this GC step's nf_conntrack_max95 (0: off) */
	uint64_t gc_factor_ppm;		/* adaptive/emergency: timeout scale, parts per million */
	uint64_t rl_begin;		/* net_ratelimit() window start (clock ns) */
	unsigned rl_printed, rl_missed;
	uint32_t chain_rnd;		/* prandom_u32_max() of __nf_conntrack_confirm() */
	/* gc_worker()'s pacing (computed always, used with ctsim_gc_pacing
	 * kernel): the running average of the entries' remaining lifetimes
	 * over a pass, and the delay it gives after the last full pass. */
	int64_t gc_avg_ns;
	uint64_t gc_avg_count, gc_pass_start;
	uint64_t gc_next_run;		/* ns; 0 until a pass ended */
	bool gc_kick;			/* with kernel pacing: a pass within GC_SCAN_INTERVAL_MIN
					 * wanted (the emergency policy; the kernel never asks) */
	unsigned gc_run_expired;	/* expired or killed in this GC step */
	/* Where the kernel's log lines go (the daemon: stderr); NULL: counted only. */
	void (*log)(void *arg, const char *line);
	void *log_arg;
};

/**
 * ct_table_init - set up an empty table of settings->buckets buckets
 * @seed: hash and id seed (random in the daemon, fixed in tests)
 * Returns 0 or -ENOMEM.
 */
int ct_table_init(struct ct_table *t, const struct ct_settings *s,
		  struct ct_clock *clock, struct ct_events *events, uint32_t seed);
/** ct_table_destroy - free every entry, without events. */
void ct_table_destroy(struct ct_table *t);

/**
 * conn_alloc - allocate an unconfirmed entry for @orig/@reply in @zone
 * (nf_conntrack_alloc()). Applies nf_conntrack_max: when the table is full it
 * tries early_drop() around the new tuple's bucket first. Returns NULL with
 * errno = ENOMEM when full. The entry has use = 1 and is not hashed.
 */
struct conn *conn_alloc(struct ct_table *t, const struct ct_tuple *orig,
			const struct ct_tuple *reply, const struct ct_zone *zone);
/**
 * conn_alloc_hash - conn_alloc() with the hash early_drop() starts from
 * given: ctnetlink creates through nf_conntrack_alloc(), which passes 0, so
 * a `conntrack -I` into a full table early-drops from bucket 0.
 */
struct conn *conn_alloc_hash(struct ct_table *t, const struct ct_tuple *orig,
			     const struct ct_tuple *reply, const struct ct_zone *zone, uint32_t hash);
/** conn_ext_add - make sure @c has an extension block; NULL on ENOMEM. */
struct conn_ext *conn_ext_add(struct conn *c);
/** conn_free_unhashed - drop an entry that was never inserted. */
void conn_free_unhashed(struct ct_table *t, struct conn *c);

/**
 * ct_table_insert - confirm: hash both directions (nf_conntrack_hash_check_insert())
 * Fails with -EEXIST if either tuple is already present in its zone. On
 * success the table owns the caller's reference and CONFIRMED is set by the
 * caller. Counts no statistics: the callers count what the kernel counts
 * there (ctnetlink: insert; packets on Linux 6.18: nothing on success,
 * insert_failed on a clash that cannot be resolved).
 */
int ct_table_insert(struct ct_table *t, struct conn *c);

/**
 * ct_table_hash_clash - the first half of ct_table_insert(): compute the
 * hash of both nodes of @c (from its current tuples and zone) and look
 * each tuple up as ct_table_find(tuple, &c->zone, dir) would, reaping
 * expired entries met on the way. Returns the entry holding one of the
 * tuples (orig checked first), or NULL. Lets __nf_conntrack_confirm()
 * hash a new entry once instead of twice.
 */
struct conn *ct_table_hash_clash(struct ct_table *t, struct conn *c);

/**
 * ct_table_link - the second half: link both nodes with the hashes
 * ct_table_hash_clash() computed, which must have returned NULL, with no
 * change to the table or to @c's tuples and zone since. Sets HASHED.
 */
void ct_table_link(struct ct_table *t, struct conn *c);

/**
 * ct_table_link_reply_only - nf_ct_resolve_clash_harder()'s insertion: link
 * only @c's reply node (hash from ct_table_hash_clash()); the original node
 * stays unlinked, so lookups of the original tuple find the entry already
 * there, and dumps and walks (which visit original nodes) never show @c.
 * Sets HASHED; ct_table_delete() unlinks what is linked.
 */
void ct_table_link_reply_only(struct ct_table *t, struct conn *c);

/**
 * ct_table_find - look a tuple up (nf_conntrack_find_get())
 * @zone: the lookup zone (NULL = zone 0)
 * @lookup_dir: the direction the tuple was given as (orig or reply), which
 *        selects the zone id used for hashing, as in the kernel
 * @dir: if not NULL, set to the direction that matched
 * Expired entries met in the chain are reaped (with DESTROY events).
 * Returns the entry without taking a reference, or NULL.
 */
struct conn *ct_table_find(struct ct_table *t, const struct ct_tuple *tuple,
			   const struct ct_zone *zone, enum ct_dir lookup_dir,
			   enum ct_dir *dir);

/**
 * ct_table_prefetch - a hint that ct_table_find(@tuple) with a zone whose id
 * for the lookup direction is @zone_id is coming soon (the next packets of
 * a replay). Computes the hash, keeps it for that lookup (a ring of the
 * last CT_HASH_MEMO hints) and prefetches the bucket head. Changes nothing
 * a caller can observe; a wrong hint only costs its own time. Returns the
 * hash, for ct_table_prefetch_entry().
 */
uint32_t ct_table_prefetch(struct ct_table *t, const struct ct_tuple *tuple, uint16_t zone_id);

/**
 * ct_table_prefetch_entry - the second step, a packet later, once the
 * bucket head is likely in the cache: prefetch the first node of the chain
 * of @hash and the entry around it (the tuple, status, timeout and the
 * protocol state a tracker reads).
 */
void ct_table_prefetch_entry(const struct ct_table *t, uint32_t hash);

/**
 * ct_table_delete - nf_ct_delete(): set DYING, emit DESTROY (with @portid
 * and @report as the originator), unlink, drop the table's reference.
 * Returns false if the entry was already dying.
 */
bool ct_table_delete(struct ct_table *t, struct conn *c, uint32_t portid, bool report);

static inline void conn_get(struct conn *c) { c->use++; }
/** conn_put - drop a reference; frees the entry at zero. */
void conn_put(struct ct_table *t, struct conn *c);

/** conn_expired - has the entry's timeout passed? (nf_ct_is_expired()) */
static inline bool conn_expired(const struct ct_table *t, const struct conn *c)
{
	return (int64_t)(c->expires - t->now) <= 0;
}

/**
 * ct_table_tick - take the clock reading used until the next tick. The
 * kernel reads jiffies, which do not move within one request: an event
 * emitted while creating an entry with timeout 50 shows 50, a dump a moment
 * later shows 49. Call it once per request, packet or timer.
 */
static inline void ct_table_tick(struct ct_table *t)
{
	t->now = ct_clock_now(t->clock);
}
/** conn_timeout_left - remaining whole seconds, as ctnetlink_dump_timeout(). */
uint32_t conn_timeout_left(const struct ct_table *t, const struct conn *c);
/** conn_set_timeout - expire @secs seconds from now (capped like the kernel at INT_MAX jiffies). */
void conn_set_timeout(struct ct_table *t, struct conn *c, uint32_t secs);

/**
 * ct_table_chain_too_long - __nf_conntrack_confirm()'s chain limit: would
 * either chain @c is about to join (its nodes' hashes as computed by
 * ct_table_hash_clash()) make the walk pass max_chainlen, a pseudo-random
 * 50..79 drawn per confirmation (MIN_CHAINLEN + prandom_u32_max(30))? The
 * kernel counts the nodes it passes and gives up once more than
 * max_chainlen + 1 were passed. On true, count chaintoolong.
 */
bool ct_table_chain_too_long(struct ct_table *t, const struct conn *c);

/* ctsim_gc_pacing values. */
#define CT_GC_PACING_CTSIM	0	/* a slice every 100 ms, a pass a second */
#define CT_GC_PACING_KERNEL	1	/* whole passes, gc_worker()'s next_run apart */
#define CT_GC_PACING_AUTO	2	/* the default: kernel in the daemon (core/gc.c: an idle
					 * table costs next to nothing), ctsim on virtual time
					 * (replay and scenarios: their DESTROY timings) */

/** ct_gc_pacing_name - the setting's name of pacing @v, NULL past the last. */
const char *ct_gc_pacing_name(uint32_t v);

/**
 * ct_table_gc - one bounded GC step (gc_worker()): visit up to @max_buckets
 * buckets from where the last step stopped, reaping expired entries.
 * Returns the number of entries reaped.
 */
unsigned ct_table_gc(struct ct_table *t, uint32_t max_buckets);

/* Iteration in bucket order, one bucket at a time (as ctnetlink dumps). */
static inline struct ct_thash *ct_table_bucket(const struct ct_table *t, uint32_t b)
{
	return t->buckets[b];
}
static inline struct conn *conn_of(const struct ct_thash *h)
{
	return (struct conn *)((const char *)(h - h->dir) - __builtin_offsetof(struct conn, th));
}

/*
 * ct_table_walk_prefetch - for walks in bucket order (dumps, listings, GC,
 * destroy): prefetch the first node of bucket @b, and the entry around it,
 * some buckets ahead of the one being visited (b = current + distance;
 * nothing past the end). The nodes are scattered, the bucket array is not.
 */
#define CT_WALK_PREFETCH	8
static inline void ct_table_walk_prefetch(const struct ct_table *t, uint32_t b)
{
	if (b < t->nbuckets) {
		const char *h = (const char *)t->buckets[b];

		if (h) {
			__builtin_prefetch(h);
			__builtin_prefetch(h + 64);
			__builtin_prefetch(h + 128);
		}
	}
}

/**
 * ct_table_for_each - call @fn for every hashed entry (orig nodes), in
 * bucket order; @fn may delete the entry it is given, and no other. Used by
 * flush.
 */
void ct_table_for_each(struct ct_table *t, void (*fn)(struct ct_table *, struct conn *, void *),
		       void *arg);

/*
 * Dumps: the walk of ctnetlink_dump_table(). Unlike the GC, a dump visits
 * one bucket at a time from a resume point, and an expired entry it meets is
 * killed on the spot (with its DESTROY event: nf_ct_should_gc() then
 * nf_ct_kill() in the kernel's loop) instead of being shown. `conntrack -L`
 * on the daemon, `ctsim replay`'s listing and the scenario runner's all go
 * through it, so the entries a listing reaps are the same everywhere.
 */

/**
 * ct_dump_fn - called by a dump walk for each live entry (orig node).
 * Return 0 to go on, anything else to stop the walk at @c (the value is
 * passed back to the walk's caller). @fn must not unlink entries.
 */
typedef int (*ct_dump_fn)(struct ct_table *t, struct conn *c, void *arg);

/**
 * ct_table_dump_bucket - walk bucket @b as ctnetlink_dump_table() does.
 * @t:      the table
 * @b:      bucket index, below t->nbuckets
 * @resume: in/out, may be NULL; *@resume (if not NULL) is the entry a
 *          previous, interrupted walk stopped at, holding a reference. The
 *          entries before it are skipped; if it is no longer in the bucket,
 *          its reference is dropped, *@resume set to NULL, and the bucket
 *          walked from its start (the kernel does the same when the entry
 *          it stopped at was freed). If it is met, the walk goes on from it
 *          and *@resume is left for the caller to release.
 * @fn:     called for each live entry from there, in chain order
 * @arg:    passed to @fn
 *
 * Expired entries met on the way are deleted (ct_table_delete(), DESTROY
 * event, no originator) and the bucket walked again from its start.
 * Returns 0 once the bucket's end is reached, or the first nonzero value
 * @fn returned (the walk stopped at that entry).
 */
int ct_table_dump_bucket(struct ct_table *t, uint32_t b, struct conn **resume,
			 ct_dump_fn fn, void *arg);

/**
 * ct_table_dump - a whole dump in one go: ct_table_dump_bucket() on every
 * bucket in order, from the start. @fn may be NULL (only the reaping).
 * Returns 0, or the first nonzero value of @fn (the walk stops there).
 */
int ct_table_dump(struct ct_table *t, ct_dump_fn fn, void *arg);

#endif
