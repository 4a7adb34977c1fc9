// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * defrag.c — IPv4/IPv6 reassembly before tracking (see defrag.h).
 *
 * Emulates ip_frag_queue()/ip_frag_reasm() (net/ipv4/ip_fragment.c),
 * nf_ct_frag6_queue()/nf_ct_frag6_reasm() (net/ipv6/netfilter/
 * nf_conntrack_reasm.c) and inet_frag_queue_insert() (net/ipv4/
 * inet_fragment.c), which both use to place a fragment. The table is a
 * plain list: a handful of datagrams are in flight at a time, and the
 * memory budget bounds it.
 */
#include "ctsim/core/defrag.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define FRAG_OVERHEAD	64	/* bytes charged per fragment besides its data (skb truesize stand-in) */
#define IP_MAXLEN	65535	/* IPv4 total length / IPv6 payload length limit */

struct frag {
	struct frag *next;	/* sorted by offset, never overlapping */
	uint32_t offset, end;	/* bytes of the fragmentable part */
	uint8_t data[];
};

struct queue {
	struct queue *next;
	/* key */
	uint8_t family, proto;	/* proto: IPv4 only (IPv6 keys have none) */
	uint16_t zone;
	uint32_t id;
	union ct_addr src, dst;
	/* state */
	uint64_t expires_ns;
	struct frag *frags;
	uint32_t len;		/* total length once known (or the furthest end seen) */
	uint32_t meat;		/* bytes received */
	bool first_in, last_in;
	bool df;		/* an IPv4 fragment had DF: ip_frag_reasm() keeps it */
	size_t mem;
	/* the first fragment's header (IPv4) or unfragmentable part (IPv6) */
	uint8_t *hdr;
	uint16_t hdrlen;
	uint16_t nhoff;		/* IPv6: where the fragment header was named */
	uint8_t nexthdr;	/* IPv6: the fragment header's next header */
};

struct ct_defrag {
	struct queue *queues;
	size_t mem, mem_limit;
	uint64_t timeout_ns[2];	/* [0] IPv4, [1] IPv6 */
	struct ct_defrag_stats st;
	const char *last_reason;	/* for ct_defrag_reason() */
};

struct ct_defrag *ct_defrag_new(size_t mem_limit)
{
	struct ct_defrag *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->mem_limit = mem_limit ? mem_limit : CT_DEFRAG_MEM_DEFAULT;
	d->timeout_ns[0] = CT_DEFRAG_V4_TIMEOUT_NS;
	d->timeout_ns[1] = CT_DEFRAG_V6_TIMEOUT_NS;
	return d;
}

void ct_defrag_set_timeouts(struct ct_defrag *d, uint64_t v4_ns, uint64_t v6_ns)
{
	if (v4_ns)
		d->timeout_ns[0] = v4_ns;
	if (v6_ns)
		d->timeout_ns[1] = v6_ns;
}

static void queue_free(struct ct_defrag *d, struct queue *q)
{
	struct frag *f, *n;

	for (f = q->frags; f; f = n) {
		n = f->next;
		free(f);
	}
	d->mem -= q->mem;
	d->st.queues--;
	free(q->hdr);
	free(q);
}

/* inet_frag_kill(): unlink and free a queue */
static void queue_kill(struct ct_defrag *d, struct queue *q)
{
	struct queue **pp;

	for (pp = &d->queues; *pp; pp = &(*pp)->next) {
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	}
	queue_free(d, q);
}

void ct_defrag_free(struct ct_defrag *d)
{
	if (!d)
		return;
	while (d->queues)
		queue_kill(d, d->queues);
	free(d);
}

unsigned ct_defrag_expire(struct ct_defrag *d, uint64_t now_ns)
{
	struct queue **pp = &d->queues;
	unsigned n = 0;

	while (*pp) {
		struct queue *q = *pp;

		if (now_ns >= q->expires_ns) {
			/* ip_expire(): no ICMP time-exceeded for defrag users */
			*pp = q->next;
			queue_free(d, q);
			d->st.timeouts++;
			n++;
		} else {
			pp = &q->next;
		}
	}
	return n;
}

void ct_defrag_get_stats(const struct ct_defrag *d, struct ct_defrag_stats *st)
{
	*st = d->st;
	st->mem = d->mem;
}

static struct queue *queue_find(struct ct_defrag *d, const struct ct_pkt *p, uint16_t zone,
				uint64_t now_ns)
{
	struct queue *q;
	bool v4 = p->family == AF_INET;

	for (q = d->queues; q; q = q->next) {
		if (q->family == p->family && q->zone == zone && q->id == p->frag_id &&
		    (!v4 || q->proto == p->l4proto) &&
		    !memcmp(&q->src, &p->src, sizeof(q->src)) &&
		    !memcmp(&q->dst, &p->dst, sizeof(q->dst)))
			return q;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->family = p->family;
	q->proto = v4 ? p->l4proto : 0;
	q->zone = zone;
	q->id = p->frag_id;
	q->src = p->src;
	q->dst = p->dst;
	q->expires_ns = now_ns + d->timeout_ns[v4 ? 0 : 1];
	q->next = d->queues;
	d->queues = q;
	d->st.queues++;
	return q;
}

enum insert_result { INS_OK, INS_DUP, INS_OVERLAP };

/*
 * inet_frag_queue_insert(): a fragment that lies entirely inside bytes
 * already held is a duplicate; one that overlaps them partly is an
 * overlap. The kernel compares against "runs" of adjacent fragments; we
 * compare against the union of the held fragments, which is the same.
 */
static enum insert_result frag_place(struct queue *q, uint32_t off, uint32_t end,
				     struct frag ***where)
{
	struct frag **pp = &q->frags, *f;
	uint32_t run_start = 0, run_end = 0;
	bool in_run = false;

	for (f = q->frags; f; f = f->next) {
		if (!in_run || f->offset != run_end) {
			run_start = f->offset;
			in_run = true;
		}
		run_end = f->end;
		if (off < f->end && end > f->offset) {
			/* intersects this fragment: contained in its run? */
			struct frag *g = f;
			uint32_t rend = f->end;

			while (g->next && g->next->offset == rend) {
				g = g->next;
				rend = g->end;
			}
			if (off >= run_start && end <= rend)
				return INS_DUP;
			return INS_OVERLAP;
		}
	}
	for (f = q->frags; f && f->offset < off; f = f->next)
		pp = &f->next;
	*where = pp;
	return INS_OK;
}

static int drop(struct ct_defrag *d, const char **reason, const char *why)
{
	d->st.dropped++;
	*reason = d->last_reason = why;
	return CT_DEFRAG_DROP;
}

static int fail(struct ct_defrag *d, struct queue *q, const char **reason, const char *why)
{
	queue_kill(d, q);
	d->st.reasm_fails++;
	*reason = d->last_reason = why;
	return CT_DEFRAG_DROP;
}

static void wr16(uint8_t *b, uint16_t v) { b[0] = (uint8_t)(v >> 8); b[1] = (uint8_t)v; }

/* ip_frag_reasm() / nf_ct_frag6_reasm(): glue the header of the first
 * fragment and the data together, fix the lengths. */
static int reassemble(struct ct_defrag *d, struct queue *q, uint8_t **out, size_t *outlen,
		      const char **reason)
{
	size_t total = (size_t)q->hdrlen + q->len;
	struct frag *f;
	uint8_t *b;

	if (q->family == AF_INET ? total > IP_MAXLEN : total - 40 > IP_MAXLEN)
		return fail(d, q, reason, "oversized IP packet");
	b = malloc(total);
	if (!b)
		return fail(d, q, reason, "out of memory");
	memcpy(b, q->hdr, q->hdrlen);
	for (f = q->frags; f; f = f->next)
		memcpy(b + q->hdrlen + f->offset, f->data, f->end - f->offset);
	if (q->family == AF_INET) {
		uint32_t sum = 0;
		unsigned i;

		wr16(b + 2, (uint16_t)total);
		wr16(b + 6, q->df ? 0x4000 : 0);
		wr16(b + 10, 0);
		for (i = 0; i < q->hdrlen; i += 2)
			sum += (uint32_t)(b[i] << 8 | b[i + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		wr16(b + 10, (uint16_t)~sum);
	} else {
		wr16(b + 4, (uint16_t)(total - 40));
		b[q->nhoff] = q->nexthdr;
	}
	*out = b;
	*outlen = total;
	queue_kill(d, q);
	d->st.reasm_ok++;
	return CT_DEFRAG_DONE;
}

const char *ct_defrag_reason(const struct ct_defrag *d)
{
	return d->last_reason;
}

int ct_defrag_add(struct ct_defrag *d, const struct ct_pkt *p, uint16_t zone,
		  uint64_t now_ns, uint8_t **out, size_t *outlen, const char **reason)
{
	static const char *unused;
	bool v4 = p->family == AF_INET;
	uint32_t off, end, dstart;
	struct frag **where = NULL, *f;
	struct queue *q;

	if (!reason)
		reason = &unused;
	*reason = NULL;
	d->last_reason = NULL;
	*out = NULL;
	*outlen = 0;
	ct_defrag_expire(d, now_ns);

	if (!p->is_fragment)
		return drop(d, reason, "not a fragment");
	/* inet_frag_find(): nothing is queued above the memory limit */
	if (d->mem > d->mem_limit)
		return drop(d, reason, "fragment memory limit reached");

	off = p->frag_offset;
	if (v4) {
		dstart = p->l4off;	/* the IPv4 header length */
	} else {
		dstart = (uint32_t)p->frag_hdroff + 8;
		if (dstart > p->len)
			return drop(d, reason, "truncated fragment header");
	}
	end = off + (uint32_t)(p->len - dstart);
	if (!v4 && end > IP_MAXLEN)
		return drop(d, reason, "fragment offset is too large");	/* nf_ct_frag6_queue() */

	q = queue_find(d, p, zone, now_ns);
	if (!q)
		return drop(d, reason, "out of memory");

	if (!p->frag_more) {
		/* The last fragment: nothing may lie beyond it, and a second
		 * "last" must agree with the first. */
		if (end < q->len || (q->last_in && end != q->len)) {
			if (v4)
				return fail(d, q, reason, "inconsistent last fragment");
			return drop(d, reason, "already received last fragment");
		}
		q->last_in = true;
		q->len = end;
	} else {
		if (end & 7) {
			/* IPv4 rounds down; IPv6 (RFC 8200) requires multiples of 8 */
			if (!v4)
				return fail(d, q, reason, "end of fragment not rounded to 8 bytes");
			end &= ~7u;
		}
		if (end > q->len) {
			if (q->last_in) {
				if (v4)
					return fail(d, q, reason, "fragment beyond the last fragment");
				return drop(d, reason, "fragment beyond the last fragment");
			}
			q->len = end;
		}
	}
	if (end == off) {
		if (v4)
			return fail(d, q, reason, "empty fragment");
		return drop(d, reason, "empty fragment");
	}
	if (v4 && (size_t)p->l4off + end > IP_MAXLEN)
		return fail(d, q, reason, "oversized IP packet");

	switch (frag_place(q, off, end, &where)) {
	case INS_DUP:
		return drop(d, reason, "duplicate fragment");
	case INS_OVERLAP:
		d->st.overlaps++;
		return fail(d, q, reason, "overlapping fragment");
	case INS_OK:
		break;
	}

	f = malloc(sizeof(*f) + (end - off));
	if (!f)
		return drop(d, reason, "out of memory");
	f->offset = off;
	f->end = end;
	memcpy(f->data, p->data + dstart, end - off);
	f->next = *where;
	*where = f;
	q->meat += end - off;
	q->mem += sizeof(*f) + FRAG_OVERHEAD + (end - off);
	d->mem += sizeof(*f) + FRAG_OVERHEAD + (end - off);
	if (v4 && (p->data[6] & 0x40))
		q->df = true;

	if (off == 0) {
		/* keep the first fragment's header: IPv4 header with its
		 * options, or the IPv6 unfragmentable part */
		uint16_t hl = v4 ? p->l4off : p->frag_hdroff;

		free(q->hdr);
		q->hdr = malloc(hl);
		if (!q->hdr)
			return fail(d, q, reason, "out of memory");
		memcpy(q->hdr, p->data, hl);
		q->hdrlen = hl;
		q->mem += hl;
		d->mem += hl;
		q->first_in = true;
		if (!v4) {
			q->nhoff = p->frag_nhoff;
			q->nexthdr = p->data[p->frag_hdroff];
		}
	}

	if (q->first_in && q->last_in && q->meat == q->len)
		return reassemble(d, q, out, outlen, reason);
	return CT_DEFRAG_QUEUED;
}
