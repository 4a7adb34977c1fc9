/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * expect.h — the expectation table (net/netfilter/nf_conntrack_expect.c).
 *
 * An expectation says "a connection whose original tuple matches TUPLE
 * under MASK is related to MASTER". Helpers create them from payload
 * (FTP PORT/PASV ...), ctnetlink from userspace (`conntrack -I expect`).
 * When a new entry matches one (init_conntrack() -> ct_expect_match()) it
 * becomes IPS_EXPECTED with that master, its first packets are RELATED,
 * and the expectation is consumed unless PERMANENT.
 *
 * The mask is significant for the source address and source port only
 * (struct nf_conntrack_tuple_mask); destination, protocol and family must
 * be equal. Timeouts are stamps, not timers: expired expectations are
 * reaped by lookups, insertions, dumps and the GC walker.
 *
 * Lifetime: an expectation does not reference its master; the master's
 * death removes its expectations (nf_ct_remove_expectations(), called from
 * table.c). An expected entry does reference its master (ct->master), so
 * a master shows use=2 while its data connection exists.
 */
#ifndef CTSIM_EXPECT_H
#define CTSIM_EXPECT_H

#include <stdbool.h>
#include <stdint.h>
#include "ctsim/core/table.h"

/* NF_CT_EXPECT_* flags (uapi nf_conntrack_common.h) */
#define CT_EXP_F_PERMANENT	0x1
#define CT_EXP_F_INACTIVE	0x2
#define CT_EXP_F_USERSPACE	0x4

struct ct_helper;

struct ct_expect {
	struct ct_expect *next;		/* table list, newest first */
	struct ct_tuple tuple;		/* what the new connection looks like */
	struct ct_tuple mask;		/* src address and sport significant */
	struct conn *master;		/* not referenced (see above) */
	const struct ct_helper *helper;	/* exp->helper: assigned to the new entry */
	uint64_t expires;		/* clock ns */
	uint32_t id;
	uint32_t flags;			/* CT_EXP_F_* */
	uint32_t class;
	uint32_t timeout;		/* seconds: used by ct_expect_related() when the
					 * master has no helper policy */
	/* NAT (nf_nat_ftp() and the other NAT helpers, nf_nat_helper.c):
	 * exp->saved_addr / saved_proto, what the expected connection is
	 * mapped back to (any address: 0), exp->dir, the direction it comes
	 * from, and exp->expectfn = nf_nat_follow_master (ctnetlink names it
	 * "nat-follow-master"): init_conntrack() binds the new entry like its
	 * master (ct_nat_follow_master()). ctnetlink shows CTA_EXPECT_NAT
	 * when saved_addr or saved_proto is set. */
	union ct_addr saved_addr;
	uint16_t saved_proto;		/* host order */
	uint32_t dir;			/* enum ct_dir (ctnetlink may set any value) */
	bool follow_master;
};

struct ct_expect_table {
	struct ct_expect *head;		/* newest first, as hlist_add_head() */
	unsigned count;			/* net->ct.expect_count */
	uint32_t next_id;
	uint64_t helper_errors;		/* nf_ct_helper_log() calls */
	const char *last_error;		/* the last one's reason */
};

/** ct_expect_table_get - the table's expectations, created on first use
 *  (NULL on ENOMEM). */
struct ct_expect_table *ct_expect_table_get(struct ct_table *t);
/** ct_expect_table_destroy - free every expectation, without events. */
void ct_expect_table_destroy(struct ct_table *t);

/**
 * ct_expect_init - nf_ct_expect_init(): fill @exp for @master: class,
 * family, source address (NULL = any), destination address, protocol,
 * source port (NULL = any), destination port (ports in host order).
 */
void ct_expect_init(struct ct_expect *exp, struct conn *master, uint32_t class,
		    uint8_t family, const union ct_addr *saddr, const union ct_addr *daddr,
		    uint8_t proto, const uint16_t *sport, const uint16_t *dport);

/**
 * ct_expect_related - nf_ct_expect_related_report(): check @exp against
 * the table (__nf_ct_expect_check()) and insert a copy. The timeout is
 * the master's helper policy for exp->class (exp->timeout without one).
 * Returns 0, -ESHUTDOWN (master has no helper), -EALREADY, -EBUSY (clash
 * with another master's), -EMFILE (policy or nf_conntrack_expect_max
 * reached), -ENOMEM. Emits the NEW event; counts expect_create.
 */
int ct_expect_related(struct ct_table *t, const struct ct_expect *exp, uint32_t portid,
		      bool report);

/**
 * ct_expect_find - __nf_ct_expect_find(): the live expectation @tuple
 * matches (under its mask) in @zone_id, or NULL.
 */
struct ct_expect *ct_expect_find(struct ct_table *t, const struct ct_tuple *tuple,
				 uint16_t zone_id);

/**
 * ct_expect_match - nf_ct_find_expectation() for init_conntrack(): an
 * active expectation for @tuple whose master is confirmed and alive. Copies
 * it to @out and unlinks it unless PERMANENT (DESTROY event, expect_delete).
 * Returns false if none.
 */
bool ct_expect_match(struct ct_table *t, const struct ct_tuple *tuple, uint16_t zone_id,
		     struct ct_expect *out);

/** ct_expect_unlink - nf_ct_unlink_expect_report(): remove and free @exp,
 *  with the DESTROY event; counts expect_delete. */
void ct_expect_unlink(struct ct_table *t, struct ct_expect *exp, uint32_t portid, bool report);

/** ct_expect_remove_master - nf_ct_remove_expectations(): all of @master's. */
void ct_expect_remove_master(struct ct_table *t, struct conn *master, uint32_t portid,
			     bool report);

/** ct_expect_gc - reap expired expectations (with DESTROY events). */
void ct_expect_gc(struct ct_table *t);

/** ct_expect_timeout_left - seconds left, as ctnetlink_exp_dump_expect(). */
uint32_t ct_expect_timeout_left(const struct ct_table *t, const struct ct_expect *exp);

/** ct_expect_count_master - expectations of @master in @class (expecting[class]). */
unsigned ct_expect_count_master(const struct ct_table *t, const struct conn *master,
				uint32_t class);

/** ct_expect_zone - the zone id an expectation lives in (its master's). */
uint16_t ct_expect_zone(const struct ct_expect *exp);

#endif
