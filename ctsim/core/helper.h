/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * helper.h — the core's helper glue (the kernel's struct
 * nf_conntrack_helper and nf_conntrack_helper.c). A helper is a small module
 * in helpers/ (a layer above the core) with a const ops table: its name,
 * transport protocol, the expectation policy per class, and help(), which
 * reads the payload of the master's packets (ct_helper_payload()) and
 * creates expectations (ct_expect_related()). helpers/registry.c registers
 * the built-in ones with ct_helper_register() at start-up; the core knows
 * no helper by name.
 *
 * An entry's helper extension holds a pointer to the ops (help->helper),
 * set once when the helper is attached: no lookup per packet.
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
#include "ctsim/core/pipeline.h"

struct ct_expect;

#define CT_HELPER_CLASS_MAX	4	/* NF_CT_MAX_EXPECT_CLASSES */

/* struct nf_conntrack_expect_policy */
struct ct_exp_policy {
	unsigned max_expected;	/* per master and class; 0 = unlimited */
	unsigned timeout;	/* seconds */
	const char *name;	/* class name, e.g. "ftp", "audio" */
};

/* What a helper's help() found, for its NAT hook: the match in the
 * payload (offset from the payload's start, length), which pattern
 * (helper-specific: enum nf_ct_ftp_type for FTP), and the expectation it
 * built but did not register — the NAT hook registers it, possibly with
 * another port (nf_nat_exp_find_port()). */
struct ct_helper_match {
	unsigned type;
	size_t off, len;
	struct ct_expect *exp;
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
	uint8_t l3num;			/* AF_INET: registered for IPv4 only (irc, pptp,
					 * netbios-ns, snmp); 0: for both families */
	uint8_t l4num;			/* IPPROTO_TCP / IPPROTO_UDP */
	unsigned expect_class_max;	/* highest class number */
	struct ct_exp_policy policy[CT_HELPER_CLASS_MAX];
	size_t data_len;		/* private per-master state (nf_ct_helper_ext_add()) */
	/* Returns CT_ACCEPT or CT_DROP. */
	int (*help)(struct ct_helper_ctx *x);
	/* helper->destroy(): the master is being deleted (NULL: nothing). */
	void (*destroy)(struct ct_table *t, struct conn *ct);
	/* exp->expectfn() (pptp_expectfn()): @ct is a new GRE entry that
	 * matched an expectation of a master with this helper; called by the
	 * GRE tracker's new() on its first packet (track_gre.c says why
	 * there). NULL: nothing. */
	void (*expectfn)(struct ct_table *t, struct conn *ct);
	/* The helper's NAT hook (the kernel's nf_nat_ftp_hook and friends,
	 * set by the nf_nat_* module): help() calls it instead of
	 * registering the expectation itself when the master is translated
	 * (IPS_SRC_NAT or IPS_DST_NAT). It rewrites the payload
	 * (ct_nat_mangle_tcp_packet()), registers @m->exp and returns
	 * CT_ACCEPT or CT_DROP. NULL: no NAT support, the expectation is
	 * registered untranslated. */
	int (*nat)(struct ct_helper_ctx *x, const struct ct_helper_match *m);
	/* For `ctsim explain helpers`: what it reads and what it expects,
	 * and the kernel module it emulates. */
	const char *what, *module;
};

#define CT_HELPER_MAX	32	/* registered helpers (ctsim has 10) */

/**
 * ct_helper_register - nf_conntrack_helper_register(): make @h findable by
 * its name, family and transport protocol (ct_helper_find()) and listed
 * (ct_helper_at(), in registration order). @h must stay valid for the life
 * of the process (a const object). Registering the same @h again is a no-op.
 *
 * Returns 0, -EEXIST when another helper has the same name, family and
 * protocol, -ENOSPC past CT_HELPER_MAX, -EINVAL for a helper without a
 * name or with more classes than CT_HELPER_CLASS_MAX.
 */
int ct_helper_register(const struct ct_helper *h);

/** ct_helper_find - __nf_conntrack_helper_find(): the registered helper
 *  @name for family @l3num (AF_INET, AF_INET6; 0: either) and transport
 *  @l4num, or NULL. */
const struct ct_helper *ct_helper_find(const char *name, uint8_t l3num, uint8_t l4num);

/** ct_helper_at - the @i-th registered helper, NULL past the last (for listings). */
const struct ct_helper *ct_helper_at(size_t i);

/**
 * ct_helper_attach - nf_ct_helper_ext_add() + help->helper = @h: give @ct
 * the helper extension with @h (NULL: the extension without a helper, what
 * a detach leaves). Does not touch ct->status (IPS_HELPER is the caller's:
 * templates and ctnetlink set it, expectations do not).
 * Returns 0 or -ENOMEM.
 */
int ct_helper_attach(struct conn *ct, const struct ct_helper *h);

/**
 * ct_helper_of - nfct_help(ct)->helper for running it: the helper attached
 * to @ct, or NULL. An attached helper of another family or transport than
 * @ct's (an expectation created from userspace names its master's helper,
 * whatever the expected protocol) is looked up again by name for @ct's
 * own family and protocol, as ctsim has always resolved it.
 */
const struct ct_helper *ct_helper_of(const struct conn *ct);

/** ct_helper_name - the name of the helper attached to @ct as ctnetlink
 *  shows it (CTA_HELP_NAME), "" when there is none. */
const char *ct_helper_name(const struct conn *ct);

/** ct_helper_data - the helper's private state of @ct (zeroed on first
 *  use, freed with the entry); NULL on ENOMEM. */
void *ct_helper_data(struct conn *ct, size_t len);

/**
 * ct_helper_payload - the L4 payload of the packet @x is helping with (what
 * each kernel helper computes as protoff + th->doff * 4, or + sizeof(struct
 * udphdr), and skb->len - dataoff): TCP after the header's data offset,
 * UDP after its 8 bytes, bounded by the IP payload and the buffer. Sets
 * *@data and returns the length; 0 (and *@data NULL) when there is no
 * payload or the header is malformed.
 */
size_t ct_helper_payload(const struct ct_helper_ctx *x, const uint8_t **data);

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

/**
 * ct_helper_note - say why a helper looked no further at a packet when that
 * is not an error the kernel counts (its pr_debug()s): shown by traces
 * (`ctsim scenario run -v`) next to the packet; no counter changes.
 */
void ct_helper_note(struct ct_helper_ctx *x, const char *why);

/** ct_helper_destroy - nf_ct_helper_destroy(): from ct_table_delete(), the
 *  destroy() of @ct's helper, if it has one. */
void ct_helper_destroy(struct ct_table *t, struct conn *ct);

#endif
