/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gre_keymap.c — the GRE keymap (net/netfilter/nf_conntrack_proto_gre.c:
 * gre_keymap_lookup(), nf_ct_gre_keymap_add(), nf_ct_gre_keymap_destroy(),
 * and the keymap part of gre_pkt_to_tuple()). See gre_keymap.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "ctsim/core/gre_keymap.h"

#define GRE_VERSION_1	1
#define GRE_PROTO_PPP	0x880b

/* gre_key_cmpfn(): family, addresses, protocol and destination key; the
 * source key is what the entry provides. */
static bool km_match(const struct ct_gre_keymap *km, const struct ct_tuple *t)
{
	return km->tuple.l3num == t->l3num &&
	       !memcmp(&km->tuple.src, &t->src, sizeof(t->src)) &&
	       !memcmp(&km->tuple.dst, &t->dst, sizeof(t->dst)) &&
	       km->tuple.l4num == t->l4num && km->tuple.dport == t->dport;
}

int ct_gre_keymap_add(struct ct_table *t, const struct conn *master, enum ct_dir dir,
		      const struct ct_tuple *tuple)
{
	struct ct_gre_keymap *km, **pp;

	/* The master already has an entry for @dir (keymap[dir] != NULL):
	 * fine if it is the same one (a retransmission), else refused. */
	for (km = t->gre_keymap; km; km = km->next)
		if (km->master == master && km->dir == dir)
			return km_match(km, tuple) ? 0 : -EEXIST;
	km = calloc(1, sizeof(*km));
	if (!km)
		return -ENOMEM;
	km->tuple = *tuple;
	km->master = master;
	km->dir = (uint8_t)dir;
	for (pp = &t->gre_keymap; *pp; pp = &(*pp)->next)	/* list_add_tail() */
		;
	*pp = km;
	return 0;
}

void ct_gre_keymap_destroy(struct ct_table *t, const struct conn *master)
{
	struct ct_gre_keymap **pp = &t->gre_keymap;

	while (*pp) {
		struct ct_gre_keymap *km = *pp;

		if (km->master == master) {
			*pp = km->next;
			free(km);
		} else {
			pp = &km->next;
		}
	}
}

unsigned ct_gre_keymap_count(const struct ct_table *t)
{
	unsigned n = 0;

	for (const struct ct_gre_keymap *km = t->gre_keymap; km; km = km->next)
		n++;
	return n;
}

void ct_gre_keymap_flush(struct ct_table *t)
{
	while (t->gre_keymap) {
		struct ct_gre_keymap *km = t->gre_keymap;

		t->gre_keymap = km->next;
		free(km);
	}
}

void ct_gre_tuple_srckey(const struct ct_table *t, const struct ct_pkt *p, struct ct_tuple *tu)
{
	const uint8_t *h;

	/* gre_pkt_to_tuple(): only a version-1 header of at least 8 bytes
	 * (up to the call id) carrying PPP gets keys; anything else was keyed
	 * like generic by ct_pkt_get_tuple() (or refused). A non-first
	 * fragment has no header at all. */
	if (tu->l4num != IPPROTO_GRE || p->l4proto != IPPROTO_GRE || p->l4len < 8 ||
	    (p->is_fragment && p->frag_offset) || (size_t)p->l4off + 8 > p->len)
		return;
	h = p->data + p->l4off;
	if ((h[1] & 0x07) != GRE_VERSION_1 || ((unsigned)h[2] << 8 | h[3]) != GRE_PROTO_PPP)
		return;
	tu->sport = 0;
	for (const struct ct_gre_keymap *km = t->gre_keymap; km; km = km->next)
		if (km_match(km, tu)) {		/* gre_keymap_lookup(): the first match */
			tu->sport = km->tuple.sport;
			break;
		}
}

void ct_gre_conn_free(struct ct_table *t, const struct conn *c)
{
	if (!t->gre_keymap)
		return;
	/* destroy_gre_conntrack(): any GRE entry with a master */
	if (c->th[CT_DIR_ORIG].tuple.l4num == IPPROTO_GRE && c->ext && c->ext->master_ct)
		ct_gre_keymap_destroy(t, c->ext->master_ct);
	ct_gre_keymap_destroy(t, c);
}
