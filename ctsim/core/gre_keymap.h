/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gre_keymap.h — the GRE keymap of nf_conntrack_proto_gre.c.
 *
 * An enhanced GRE (version 1, PPTP) packet carries one key only: the call
 * id of its receiver. gre_pkt_to_tuple() makes that the tuple's destination
 * key and takes the source key from a per-namespace list the PPTP helper
 * fills when a call is set up (nf_ct_gre_keymap_add(): one entry per
 * direction, the expected GRE tuple, owned by the control connection).
 * The lookup compares family, both addresses, the protocol and the
 * destination key; no zone. Without a matching entry the source key is 0.
 *
 * Entries go away with nf_ct_gre_keymap_destroy(): the helper's call
 * teardown and death of the control connection, and the destruction of any
 * GRE entry that has a master (nf_ct_destroy() -> destroy_gre_conntrack()):
 * once the data connection of a call is gone, its later packets get
 * source key 0 again.
 *
 * ctsim keeps the list in the table (ct_table.gre_keymap), one table = one
 * network namespace.
 */
#ifndef CTSIM_GRE_KEYMAP_H
#define CTSIM_GRE_KEYMAP_H

#include <stdint.h>
#include "ctsim/core/packet.h"
#include "ctsim/core/table.h"

/* struct nf_ct_gre_keymap */
struct ct_gre_keymap {
	struct ct_gre_keymap *next;	/* list order: oldest first (list_add_tail()) */
	struct ct_tuple tuple;		/* the expected GRE tuple of one direction */
	const struct conn *master;	/* owner (identity only, never dereferenced) */
	uint8_t dir;			/* enum ct_dir: nf_ct_pptp_master.keymap[dir] */
};

/**
 * ct_gre_keymap_add - nf_ct_gre_keymap_add(): map @tuple (its source key)
 * for @master's direction @dir. Returns 0 (also when @master already has
 * exactly this entry for @dir: a retransmitted call reply), -EEXIST when
 * @master has a different entry for @dir, -ENOMEM.
 */
int ct_gre_keymap_add(struct ct_table *t, const struct conn *master, enum ct_dir dir,
		      const struct ct_tuple *tuple);

/** ct_gre_keymap_destroy - nf_ct_gre_keymap_destroy(): drop @master's entries. */
void ct_gre_keymap_destroy(struct ct_table *t, const struct conn *master);

/** ct_gre_keymap_count - entries in the table's keymap (for tests). */
unsigned ct_gre_keymap_count(const struct ct_table *t);

/** ct_gre_keymap_flush - nf_ct_gre_keymap_flush(): free them all. */
void ct_gre_keymap_flush(struct ct_table *t);

/**
 * ct_gre_tuple_srckey - the keymap half of gre_pkt_to_tuple(): if @p is an
 * enhanced GRE packet whose tuple @tu ct_pkt_get_tuple() made (destination
 * key = call id), set tu->sport to the mapped source key (0 if none).
 * Anything else is left alone.
 */
void ct_gre_tuple_srckey(const struct ct_table *t, const struct ct_pkt *p, struct ct_tuple *tu);

/**
 * ct_gre_conn_free - nf_ct_destroy()'s destroy_gre_conntrack(): a GRE
 * entry with a master drops the master's keymap. Also drops entries owned
 * by @c itself, so that no entry outlives its owner (the kernel leaks
 * them when the helper was detached first; docs/helpers.md).
 */
void ct_gre_conn_free(struct ct_table *t, const struct conn *c);

#endif
