/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * helper.h — conntrack helpers (the kernel's struct nf_conntrack_helper,
 * nf_conntrack_helper.c). A helper is a small module in helpers/ that
 * registers an ops table: its name, transport protocol, the expectation
 * policy per class, and help(), which reads the payload of the master's
 * packets and creates expectations (ct_expect_related()).
 *
 * Helpers are attached only explicitly, as modern kernels require: by the
 * ruleset (`ct helper` object + `ct helper set`, which puts the helper's
 * TYPE in the packet's template) or by ctnetlink (CTA_HELP on create).
 * There are no default ports and no automatic assignment.
 *
 * help() runs in nf_confirm() (ct_confirm()) for every packet of an entry
 * that has a helper, before confirmation; it may drop the packet.
 */
#ifndef CTSIM_HELPER_H
#define CTSIM_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ctsim/pipeline.h"

#define CT_HELPER_CLASS_MAX	4	/* NF_CT_MAX_EXPECT_CLASSES */

/* struct nf_conntrack_expect_policy */
struct ct_exp_policy {
	unsigned max_expected;	/* per master and class; 0 = unlimited */
	unsigned timeout;	/* seconds */
	const char *name;	/* class name, e.g. "ftp", "audio" */
};

/* What help() gets (skb, protoff, ct, ctinfo). */
struct ct_helper_ctx {
	struct ct_core *core;
	struct ct_skb *skb;
	struct conn *ct;
	enum ct_info ctinfo;
	enum ct_dir dir;		/* CTINFO2DIR(ctinfo) */
};

struct ct_helper {
	const char *name;		/* "ftp": what `type "ftp"` and CTA_HELP name */
	uint8_t l4num;			/* IPPROTO_TCP / IPPROTO_UDP */
	unsigned expect_class_max;	/* highest class number */
	struct ct_exp_policy policy[CT_HELPER_CLASS_MAX];
	size_t data_len;		/* private per-master state (nf_ct_helper_ext_add()) */
	/* Returns CT_ACCEPT or CT_DROP. */
	int (*help)(struct ct_helper_ctx *x);
};

/** ct_helper_find - __nf_conntrack_helper_find(): the helper @name for
 *  transport @l4num (any family), or NULL. */
const struct ct_helper *ct_helper_find(const char *name, uint8_t l4num);

/** ct_helper_of - the registered helper attached to @ct, or NULL. */
const struct ct_helper *ct_helper_of(const struct conn *ct);

/** ct_helper_data - the helper's private state of @ct (zeroed on first
 *  use, freed with the entry); NULL on ENOMEM. */
void *ct_helper_data(struct conn *ct, size_t len);

/**
 * ct_helper_run - nf_confirm()'s call of help->helper->help() for the
 * packet's entry, if it has a registered helper (not for ICMP errors
 * RELATED to it). Returns CT_ACCEPT or CT_DROP.
 */
int ct_helper_run(struct ct_core *core, struct ct_skb *skb);

/**
 * ct_helper_log - nf_ct_helper_log(): a helper refused something (partial
 * command, bogus address, cannot add expectation). Counted in the
 * expectation table's helper error counter; @why kept as the last reason.
 */
void ct_helper_log(struct ct_helper_ctx *x, const char *why);

/* The helpers (one file each in helpers/). */
extern const struct ct_helper ct_helper_ftp;
extern const struct ct_helper ct_helper_tftp;
extern const struct ct_helper ct_helper_irc;
extern const struct ct_helper ct_helper_sip;

/* nf_conntrack_ftp's `loose` parameter: expect announced addresses other
 * than the sender's (default false). */
extern bool ct_ftp_loose;

#endif
