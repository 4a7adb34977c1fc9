/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nat.c — NAT bindings of entries (nf_nat_core.c: nf_nat_setup_info(),
 * get_unique_tuple() and its helpers) and the bysource memory. The packet
 * rewrite lives in nat_rewrite.c. See nat.h.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "proto/ctnl.h"
#include "ctsim/core/nat.h"
#include "ctsim/core/packet.h"

/* ---------------------------------------------------------------------- */
/* The NAT memory of a table: the random source and bysource              */

/*
 * The kernel keeps every SNAT-bound entry on a bysource hash chain keyed by
 * its original source (hash_by_src()) and unlinks it when the entry dies
 * (nf_nat_cleanup_conntrack()). ctsim keeps the newest binding per slot and
 * checks on use that its entry is still in the table (by its reply tuple),
 * so the table needs no NAT hook on the destroy path; an older binding of
 * the same source pushed out of its slot only costs the persistence the
 * kernel would give (the port is then searched as for a new source).
 */
#define NAT_BYSRC_SLOTS	4096u

struct nat_bysrc {
	struct ct_tuple orig, reply;	/* the entry's tuples when it was bound */
	struct ct_zone zone;
	bool used;
};

struct ct_nat_state {
	uint64_t rng;			/* xorshift64*: get_random_u16(), seeded from the table */
	struct nat_bysrc slot[NAT_BYSRC_SLOTS];
};

static struct ct_nat_state *nat_state(struct ct_table *t)
{
	if (!t)
		return NULL;
	if (!t->nat) {
		t->nat = calloc(1, sizeof(*t->nat));
		if (t->nat)
			t->nat->rng = 0x9e3779b97f4a7c15ull ^ t->seed;
	}
	return t->nat;
}

void ct_nat_state_free(struct ct_table *t)
{
	free(t->nat);
	t->nat = NULL;
}

/* get_random_u16(): deterministic per table (offline runs repeat). */
static uint16_t nat_random_u16(struct ct_nat_state *s)
{
	static uint64_t fallback = 0x2545f4914f6cdd1dull;	/* no table: ct_nat_setup_info() */
	uint64_t *x = s ? &s->rng : &fallback;

	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return (uint16_t)((*x * 0x2545f4914f6cdd1dull) >> 48);
}

/* hash_by_src(): the original source, the protocol and the zone id when it
 * applies to both directions (a fixed mix: the slots are ctsim's own). */
static uint32_t bysrc_hash(const struct ct_tuple *t, const struct ct_zone *z)
{
	uint32_t h = 2166136261u;
	const uint8_t *a = t->src.b;

	for (int i = 0; i < 16; i++)
		h = (h ^ a[i]) * 16777619u;
	h = (h ^ t->sport) * 16777619u;
	h = (h ^ t->l4num) * 16777619u;
	h = (h ^ (z->dir == CT_ZONE_DIR_BOTH ? z->id : 0)) * 16777619u;
	return h & (NAT_BYSRC_SLOTS - 1);
}

/* same_src(): protocol, source address and source port (ICMP id). */
static bool same_src(const struct ct_tuple *a, const struct ct_tuple *b)
{
	return a->l4num == b->l4num && a->l3num == b->l3num &&
	       !memcmp(&a->src, &b->src, sizeof(a->src)) && a->sport == b->sport;
}

static bool zone_equal(const struct ct_zone *a, const struct ct_zone *b)
{
	return ct_zone_id(a, CT_DIR_ORIG) == ct_zone_id(b, CT_DIR_ORIG);
}

/* ---------------------------------------------------------------------- */
/* Ranges and uniqueness                                                   */

static bool has_ports(uint8_t l4num)
{
	return l4num == IPPROTO_TCP || l4num == IPPROTO_UDP || l4num == IPPROTO_UDPLITE ||
	       l4num == IPPROTO_SCTP || l4num == IPPROTO_DCCP;
}

static bool is_icmp(uint8_t l4num)
{
	return l4num == IPPROTO_ICMP || l4num == IPPROTO_ICMPV6;
}

static int addr_cmp(uint8_t l3num, const union ct_addr *a, const union ct_addr *b)
{
	return memcmp(a->b, b->b, l3num == AF_INET ? 4 : 16);
}

/* nf_nat_used_tuple() -> nf_conntrack_tuple_taken(): is the reply of
 * @tuple held by an entry other than @ct? An entry with the same original
 * tuple does not count (the clash is resolved at confirmation). */
static bool used_tuple(struct ct_table *t, const struct ct_tuple *tuple, const struct conn *ct)
{
	struct ct_tuple reply;
	struct conn *c;

	if (!t || !ct_tuple_invert(tuple, &reply))
		return false;
	reply.l3num = tuple->l3num;
	reply.l4num = tuple->l4num;
	c = ct_table_find(t, &reply, &ct->zone, CT_DIR_REPLY, NULL);
	if (!c || c == ct)
		return false;
	if (!memcmp(&c->th[CT_DIR_ORIG].tuple, &ct->th[CT_DIR_ORIG].tuple, sizeof(reply)) &&
	    zone_equal(&c->zone, &ct->zone))
		return false;
	return true;
}

/* The last attempts of a TCP port search may evict an old entry
 * (NF_NAT_HARDER_THRESH = NF_NAT_MAX_ATTEMPTS / 4). */
#define NAT_HARDER_THRESH	32

/*
 * nf_nat_used_tuple_harder(): used_tuple(), except that in the last
 * attempts of a search for a new TCP connection (SYN_SENT) an SNAT entry
 * holding the tuple in TIME_WAIT or later (not fixed-timeout, not dying,
 * not offloaded) whose sequence numbers the new SYN has passed is killed
 * (nf_ct_kill(): a DESTROY event) and the tuple is free. A tuple held in
 * its original direction is always taken.
 */
static bool used_tuple_harder(struct ct_table *t, const struct ct_tuple *tuple,
			      const struct conn *ct, unsigned attempts_left)
{
	struct ct_tuple reply;
	enum ct_dir d;
	struct conn *c;

	if (attempts_left > NAT_HARDER_THRESH || tuple->l4num != IPPROTO_TCP ||
	    ct->proto.tcp.state != CT_TCP_SYN_SENT || !t)
		return used_tuple(t, tuple, ct);
	if (!ct_tuple_invert(tuple, &reply))
		return false;
	reply.l3num = tuple->l3num;
	reply.l4num = tuple->l4num;
	c = ct_table_find(t, &reply, &ct->zone, CT_DIR_REPLY, &d);
	if (!c)
		return false;
	if (d == CT_DIR_ORIG || c == ct)
		return true;
	/* nf_nat_may_kill() */
	if (c->proto.tcp.state < CT_TCP_TIME_WAIT ||
	    (c->status & (CT_S_FIXED_TIMEOUT | CT_S_DYING | CT_S_OFFLOAD | CT_S_HW_OFFLOAD)) ||
	    !(c->status & CT_S_SRC_NAT))
		return true;
	/* nf_seq_has_advanced(): answers to the old tuple must be invalid
	 * for the new connection */
	if ((int32_t)(ct->proto.tcp.seen[0].td_end - c->proto.tcp.seen[0].td_end) <= 0)
		return true;
	return !ct_table_delete(t, c, 0, false);
}

/* nf_nat_inet_in_range(): the tuple's source address within the range. */
static bool addr_in_range(const struct ct_tuple *t, const struct ct_nat_range *r)
{
	return addr_cmp(t->l3num, &t->src, &r->min_addr) >= 0 &&
	       addr_cmp(t->l3num, &t->src, &r->max_addr) <= 0;
}

/* The field a manip changes in the L4 part (host order), or NULL. */
static uint16_t *l4_key(struct ct_tuple *t, enum ct_nat_manip manip)
{
	if (is_icmp(t->l4num))
		return &t->sport;	/* the echo id, the same in both directions */
	if (has_ports(t->l4num) || t->l4num == IPPROTO_GRE)
		return manip == CT_NAT_MANIP_SRC ? &t->sport : &t->dport;
	return NULL;
}

/* l4proto_in_range() */
static bool l4_in_range(const struct ct_tuple *t, enum ct_nat_manip manip,
			const struct ct_nat_range *r)
{
	uint16_t *k = l4_key((struct ct_tuple *)t, manip);

	return !k || (*k >= r->min_proto && *k <= r->max_proto);
}

/* in_range(): would @t, as a source mapping, satisfy @r? */
static bool in_range(const struct ct_tuple *t, const struct ct_nat_range *r)
{
	if ((r->flags & CT_NAT_RANGE_MAP_IPS) && !addr_in_range(t, r))
		return false;
	if (!(r->flags & CT_NAT_RANGE_PROTO_SPECIFIED))
		return true;
	return l4_in_range(t, CT_NAT_MANIP_SRC, r);
}

/* find_appropriate_src(): the mapping of a live entry from the same
 * source, moved onto @tuple's destination, if it fits @r. */
static bool find_appropriate_src(struct ct_table *t, const struct conn *ct,
				 const struct ct_tuple *tuple, struct ct_tuple *result,
				 const struct ct_nat_range *r)
{
	struct ct_nat_state *s = nat_state(t);
	const struct nat_bysrc *b;
	enum ct_dir d;
	struct conn *c;

	if (!s)
		return false;
	b = &s->slot[bysrc_hash(tuple, &ct->zone)];
	if (!b->used || !same_src(&b->orig, tuple) || !zone_equal(&b->zone, &ct->zone))
		return false;
	c = ct_table_find(t, &b->reply, &b->zone, CT_DIR_REPLY, &d);
	if (!c || c == ct || d != CT_DIR_REPLY ||
	    memcmp(&c->th[CT_DIR_ORIG].tuple, &b->orig, sizeof(b->orig)) ||
	    !ct_tuple_invert(&c->th[CT_DIR_REPLY].tuple, result))
		return false;
	result->l3num = tuple->l3num;
	result->l4num = tuple->l4num;
	result->dst = tuple->dst;
	result->dport = tuple->dport;
	result->icmp_type = tuple->icmp_type;
	result->icmp_code = tuple->icmp_code;
	return in_range(result, r);
}

/* jhash2() of the kernel (Bob Jenkins' lookup3, public domain): the
 * address choice of find_best_ips_proto() must pick what the kernel picks. */
static inline uint32_t rol32(uint32_t w, unsigned s)
{
	return (w << s) | (w >> (32 - s));
}

static uint32_t jhash2(const uint32_t *k, uint32_t len, uint32_t initval)
{
	uint32_t a, b, c;

	a = b = c = 0xdeadbeef + (len << 2) + initval;
	while (len > 3) {
		a += k[0]; b += k[1]; c += k[2];
		a -= c; a ^= rol32(c, 4); c += b;
		b -= a; b ^= rol32(a, 6); a += c;
		c -= b; c ^= rol32(b, 8); b += a;
		a -= c; a ^= rol32(c, 16); c += b;
		b -= a; b ^= rol32(a, 19); a += c;
		c -= b; c ^= rol32(b, 4); b += a;
		len -= 3;
		k += 3;
	}
	switch (len) {
	case 3: c += k[2]; /* fall through */
	case 2: b += k[1]; /* fall through */
	case 1: a += k[0];
		c ^= b; c -= rol32(b, 14);
		a ^= c; a -= rol32(c, 11);
		b ^= a; b -= rol32(a, 25);
		c ^= b; c -= rol32(b, 16);
		a ^= c; a -= rol32(c, 4);
		b ^= a; b -= rol32(a, 14);
		c ^= b; c -= rol32(b, 24);
		break;
	default:
		break;
	}
	return c;
}

static uint32_t be32_at(const union ct_addr *a, unsigned i)
{
	return (uint32_t)a->b[4 * i] << 24 | (uint32_t)a->b[4 * i + 1] << 16 |
	       (uint32_t)a->b[4 * i + 2] << 8 | a->b[4 * i + 3];
}

static void put_be32_at(union ct_addr *a, unsigned i, uint32_t v)
{
	a->b[4 * i] = (uint8_t)(v >> 24);
	a->b[4 * i + 1] = (uint8_t)(v >> 16);
	a->b[4 * i + 2] = (uint8_t)(v >> 8);
	a->b[4 * i + 3] = (uint8_t)v;
}

/* find_best_ips_proto(): one address as is; a range by a hash of the
 * source (and destination and zone unless PERSISTENT), word by word. */
static void find_best_ips(const struct conn *ct, struct ct_tuple *t, const struct ct_nat_range *r,
			  enum ct_nat_manip manip)
{
	union ct_addr *var = manip == CT_NAT_MANIP_SRC ? &t->src : &t->dst;
	const unsigned max = t->l3num == AF_INET ? 0 : 3;
	union ct_addr src = t->src;
	uint32_t words[4], j;
	bool full = false;

	if (!(r->flags & CT_NAT_RANGE_MAP_IPS))
		return;
	if (!addr_cmp(t->l3num, &r->min_addr, &r->max_addr)) {
		*var = r->min_addr;
		return;
	}
	if (t->l3num == AF_INET)
		memset(src.b + 4, 0, 12);	/* union nf_inet_addr: the rest is zero */
	memcpy(words, src.b, 16);		/* jhash2 reads the words as stored */
	{
		uint32_t dlast;

		memcpy(&dlast, t->dst.b + 4 * max, 4);
		j = jhash2(words, 4, (r->flags & CT_NAT_RANGE_PERSISTENT) ? 0 : dlast ^ ct->zone.id);
	}
	for (unsigned i = 0; i <= max; i++) {
		uint32_t minip, dist, v;

		if (!full) {
			minip = be32_at(&r->min_addr, i);
			dist = be32_at(&r->max_addr, i) - minip + 1;
		} else {
			minip = 0;
			dist = ~0u;
		}
		v = minip + (uint32_t)(((uint64_t)j * dist) >> 32);	/* reciprocal_scale() */
		{
			uint32_t dw;

			memcpy(&dw, t->dst.b + 4 * i, 4);
			put_be32_at(var, i, v);
			if (v != be32_at(&r->max_addr, i))
				full = true;
			if (!(r->flags & CT_NAT_RANGE_PERSISTENT))
				j ^= dw;
		}
	}
}

/* nf_nat_l4proto_unique_tuple(): the port, ICMP id or GRE key, searched
 * from a random offset in the range (or the kernel's default ranges). */
static void l4_unique(struct ct_table *t, struct ct_tuple *tuple, const struct ct_nat_range *r,
		      enum ct_nat_manip manip, const struct conn *ct)
{
	struct ct_nat_state *s = nat_state(t);
	unsigned min, size, attempts;
	uint16_t *key, off;

	if (is_icmp(tuple->l4num)) {
		key = &tuple->sport;
		if (!(r->flags & CT_NAT_RANGE_PROTO_SPECIFIED)) {
			min = 0;
			size = 65536;
		} else {
			min = r->min_proto;
			size = (unsigned)(r->max_proto - r->min_proto) + 1;
		}
	} else if (tuple->l4num == IPPROTO_GRE) {
		/* only a PPTP call (an entry with a master) has keys to map */
		if (!(ct->ext && ct->ext->master_ct))
			return;
		key = manip == CT_NAT_MANIP_SRC ? &tuple->sport : &tuple->dport;
		if (!(r->flags & CT_NAT_RANGE_PROTO_SPECIFIED)) {
			min = 1;
			size = 65535;
		} else {
			min = r->min_proto;
			size = (unsigned)(r->max_proto - r->min_proto) + 1;
		}
	} else if (has_ports(tuple->l4num)) {
		key = manip == CT_NAT_MANIP_SRC ? &tuple->sport : &tuple->dport;
		if (!(r->flags & CT_NAT_RANGE_PROTO_SPECIFIED)) {
			if (manip == CT_NAT_MANIP_DST)
				return;		/* a destination port is never moved unasked */
			if (*key < 512) {
				min = 1;
				size = 511;
			} else if (*key < 1024) {
				min = 600;
				size = 1023 - 600 + 1;
			} else {
				min = 1024;
				size = 65535 - 1024 + 1;
			}
		} else {
			unsigned lo = r->min_proto, hi = r->max_proto;

			if (hi < lo) {
				unsigned x = lo;

				lo = hi;
				hi = x;
			}
			min = lo;
			size = hi - lo + 1;
		}
	} else {
		return;
	}
	off = nat_random_u16(s);
	attempts = size < 128 ? size : 128;
	for (;;) {
		for (unsigned i = 0; i < attempts; i++, off++) {
			*key = (uint16_t)(min + off % size);
			if (!used_tuple_harder(t, tuple, ct, attempts - i))
				return;
		}
		if (attempts >= size || attempts < 16)
			return;		/* give up: confirmation resolves or drops the clash */
		attempts /= 2;
		off = nat_random_u16(s);
	}
}

/* Would l4_unique() leave @tuple as it is whatever is in use? Then the
 * uniqueness lookup before it is not needed (a null binding of DNAT). */
static bool l4_fixed(const struct ct_tuple *tuple, const struct ct_nat_range *r,
		     enum ct_nat_manip manip, const struct conn *ct)
{
	if (is_icmp(tuple->l4num))
		return false;
	if (tuple->l4num == IPPROTO_GRE)
		return !(ct->ext && ct->ext->master_ct);
	if (has_ports(tuple->l4num))
		return manip == CT_NAT_MANIP_DST && !(r->flags & CT_NAT_RANGE_PROTO_SPECIFIED);
	return true;
}

/* get_unique_tuple() */
static void get_unique_tuple(struct ct_table *t, struct ct_tuple *tuple,
			     const struct ct_tuple *orig, const struct ct_nat_range *r,
			     struct conn *ct, enum ct_nat_manip manip)
{
	/* 1) SNAT: the source as it is, or the mapping it already has */
	if (manip == CT_NAT_MANIP_SRC && !(r->flags & CT_NAT_RANGE_PROTO_RANDOM_ALL)) {
		if (in_range(orig, r)) {
			if (!used_tuple(t, orig, ct)) {
				*tuple = *orig;
				return;
			}
		} else if (find_appropriate_src(t, ct, orig, tuple, r)) {
			if (!used_tuple(t, tuple, ct))
				return;
		}
	}
	/* 2) the address */
	*tuple = *orig;
	find_best_ips(ct, tuple, r, manip);
	/* 3) the L4 part, only if not already in range and unique */
	if (!(r->flags & CT_NAT_RANGE_PROTO_RANDOM_ALL)) {
		if (r->flags & CT_NAT_RANGE_PROTO_SPECIFIED) {
			if (l4_in_range(tuple, manip, r) &&
			    (r->min_proto == r->max_proto || !used_tuple(t, tuple, ct)))
				return;
		} else if (l4_fixed(tuple, r, manip, ct) || !used_tuple(t, tuple, ct)) {
			return;
		}
	}
	l4_unique(t, tuple, r, manip, ct);
}

/* ---------------------------------------------------------------------- */
/* Bindings                                                                */

void ct_nat_setup(struct ct_table *t, struct conn *ct, const struct ct_nat_range *range,
		  enum ct_nat_manip manip)
{
	const bool dst = manip == CT_NAT_MANIP_DST;
	struct ct_tuple *reply = &ct->th[CT_DIR_REPLY].tuple;
	static const struct ct_nat_range none = { 0 };
	struct ct_nat_range fixed;
	struct ct_tuple cur, new;

	if ((ct->status & CT_S_CONFIRMED) || ct_nat_initialized(ct, manip))
		return;
	if (!range)
		range = &none;
	if ((range->flags & CT_NAT_RANGE_MAP_IPS) &&
	    addr_cmp(reply->l3num, &range->max_addr, &range->min_addr) < 0) {
		/* a range given by its first address only (callers that leave
		 * max zero): the one address, as ctnetlink fills it in */
		fixed = *range;
		fixed.max_addr = fixed.min_addr;
		range = &fixed;
	}
	/* nf_ct_invert_tuple(&curr_tuple, reply): the original direction as
	 * it looks after the manipulations bound so far */
	if (!ct_tuple_invert(reply, &cur)) {
		memset(&cur, 0, sizeof(cur));
		cur.src = reply->dst;
		cur.dst = reply->src;
	}
	cur.l3num = reply->l3num;
	cur.l4num = reply->l4num;
	if (is_icmp(reply->l4num)) {
		cur.sport = reply->sport;
		cur.icmp_type = ct->th[CT_DIR_ORIG].tuple.icmp_type;
		cur.icmp_code = ct->th[CT_DIR_ORIG].tuple.icmp_code;
	}
	get_unique_tuple(t, &new, &cur, range, ct, manip);
	if (memcmp(&new, &cur, sizeof(new)) != 0) {
		/* nf_conntrack_alter_reply() */
		ct_tuple_invert(&new, reply);
		reply->l3num = new.l3num;
		reply->l4num = new.l4num;
		if (is_icmp(new.l4num))
			reply->sport = new.sport;
		ct->status |= dst ? CT_S_DST_NAT : CT_S_SRC_NAT;
	}
	if (!dst) {
		/* the bysource hash: this source's mapping, for the next entry */
		struct ct_nat_state *s = nat_state(t);

		if (s) {
			struct nat_bysrc *b = &s->slot[bysrc_hash(&ct->th[CT_DIR_ORIG].tuple,
								 &ct->zone)];

			b->orig = ct->th[CT_DIR_ORIG].tuple;
			b->reply = *reply;
			b->zone = ct->zone;
			b->used = true;
		}
	}
	ct->status |= dst ? CT_S_DST_NAT_DONE : CT_S_SRC_NAT_DONE;
}

void ct_nat_null_binding(struct ct_table *t, struct conn *ct, enum ct_nat_manip manip)
{
	const struct ct_tuple *reply = &ct->th[CT_DIR_REPLY].tuple;
	struct ct_nat_range r;

	/* "Use reply in case it's already been mangled" */
	memset(&r, 0, sizeof(r));
	r.flags = CT_NAT_RANGE_MAP_IPS;
	r.min_addr = r.max_addr = manip == CT_NAT_MANIP_SRC ? reply->dst : reply->src;
	ct_nat_setup(t, ct, &r, manip);
}

void ct_nat_setup_info(struct conn *ct, const struct ct_nat_range *range,
		       enum ct_nat_manip manip)
{
	if (range)
		ct_nat_setup(NULL, ct, range, manip);
	else
		ct_nat_null_binding(NULL, ct, manip);
}
