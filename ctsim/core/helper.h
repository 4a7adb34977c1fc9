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
#include "ctsim/core/pipeline.h"

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
	/* For `ctsim explain helpers`: what it reads and what it expects,
	 * and the kernel module it emulates. */
	const char *what, *module;
};

/** ct_helper_find - __nf_conntrack_helper_find(): the helper @name for
 *  family @l3num (AF_INET, AF_INET6; 0: either) and transport @l4num, or NULL. */
const struct ct_helper *ct_helper_find(const char *name, uint8_t l3num, uint8_t l4num);

/** ct_helper_at - the @i-th registered helper, NULL past the last (for listings). */
const struct ct_helper *ct_helper_at(size_t i);

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

/**
 * ct_helper_note - say why a helper looked no further at a packet when that
 * is not an error the kernel counts (its pr_debug()s): shown by traces
 * (`ctsim scenario run -v`) next to the packet; no counter changes.
 */
void ct_helper_note(struct ct_helper_ctx *x, const char *why);

/** ct_helper_destroy - nf_ct_helper_destroy(): from ct_table_delete(), the
 *  destroy() of @ct's helper, if it has one. */
void ct_helper_destroy(struct ct_table *t, struct conn *ct);

/* The helpers (one file each in helpers/). */
extern const struct ct_helper ct_helper_ftp;
extern const struct ct_helper ct_helper_tftp;
extern const struct ct_helper ct_helper_irc;
extern const struct ct_helper ct_helper_sip;
extern const struct ct_helper ct_helper_pptp;
extern const struct ct_helper ct_helper_sip_tcp;
extern const struct ct_helper ct_helper_amanda;
extern const struct ct_helper ct_helper_sane;
extern const struct ct_helper ct_helper_netbios_ns;
extern const struct ct_helper ct_helper_snmp;

/* helpers/broadcast.c: what nf_conntrack_broadcast_help() reads from the
 * packet's socket and route (ctsim's packets have no socket: all false). */
struct ct_bcast_ifa {
	uint32_t broadcast, mask;	/* ifa_broadcast, ifa_mask (network order) */
	bool secondary;			/* IFA_F_SECONDARY */
};
struct ct_bcast_route {
	bool local_socket;		/* skb->sk, of the entry's netns */
	bool broadcast;			/* rt->rt_flags & RTCF_BROADCAST */
	const struct ct_bcast_ifa *ifa;	/* the output device's IPv4 addresses */
	size_t nifa;
};

/**
 * ct_broadcast_help - nf_conntrack_broadcast_help(): for a locally
 * generated IPv4 broadcast in the original direction (@rt), a PERMANENT
 * expectation of the answers from the destination's subnet to the sender,
 * source port @helper_port, and the master refreshed to @timeout seconds.
 * Always returns CT_ACCEPT.
 */
int ct_broadcast_help(struct ct_helper_ctx *x, const struct ct_bcast_route *rt,
		      uint16_t helper_port, unsigned timeout);

/* nf_conntrack_ftp's `loose` parameter: expect announced addresses other
 * than the sender's (default false). */
extern bool ct_ftp_loose;

#endif
