/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * timeout_policy.h — named conntrack timeout policies: the objects of the
 * kernel's cttimeout subsystem (struct ctnl_timeout in
 * nfnetlink_cttimeout.c, created by `nfct timeout add`) and the data an nft
 * `ct timeout` object holds (struct nf_ct_timeout). One policy = a name, an
 * l3/l4 protocol and one timeout (seconds) per cttimeout attribute of that
 * protocol (CTA_TIMEOUT_TCP_*, CTA_TIMEOUT_UDP_*, ...).
 *
 * A struct ct_timeout_policies is one namespace of names: the kernel keeps
 * cttimeout's list per netns and nft's objects per table, and `nfct timeout
 * list` does not show nft's; a user of this table (the nfnetlink server, the
 * ruleset) keeps its own instance. Policies are individually allocated, so a
 * pointer stays valid while referenced (ct_timeout_get()/_put()).
 */
#ifndef CTSIM_TIMEOUT_POLICY_H
#define CTSIM_TIMEOUT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ctsim/core/settings.h"

#define CT_TIMEOUT_NAME_MAX	32	/* CTNL_TIMEOUT_NAME_MAX, NUL included */
#define CT_TIMEOUT_ATTR_MAX	11	/* the most values of one protocol (TCP) */

struct ct_timeout_policy {
	struct ct_timeout_policy *next;
	char name[CT_TIMEOUT_NAME_MAX];
	uint16_t l3num;			/* as given (the kernel keeps it unchecked) */
	uint8_t l4num;
	uint32_t refs;			/* users besides the list: CTA_TIMEOUT_USE - 1 */
	uint32_t secs[CT_TIMEOUT_ATTR_MAX + 1];	/* [attr id], 1..nattrs */
};

struct ct_timeout_policies {
	struct ct_timeout_policy *head;	/* in creation order (list_add_tail) */
};

/**
 * ct_timeout_nattrs - how many timeout attributes protocol @l4num has
 * (the kernel's CTA_TIMEOUT_<PROTO>_MAX): TCP 11, UDP/UDP-Lite/GRE 2,
 * ICMP/ICMPv6/generic (255) 1, SCTP 9; 0 for a protocol the kernel has no
 * tracker for (nf_ct_l4proto_find() falls back to generic: EOPNOTSUPP).
 */
unsigned ct_timeout_nattrs(uint8_t l4num);

/** ct_timeout_attr_name - "ESTABLISHED", "UNREPLIED", "TIMEOUT" ... as nfct
 *  names attribute @attr of @l4num; NULL if out of range. */
const char *ct_timeout_attr_name(uint8_t l4num, unsigned attr);

/**
 * ct_timeout_defaults - the namespace's current timeouts of @l4num in
 * attribute order (the kernel's pernet timeouts, i.e. the sysctls in @s),
 * into @secs[1..nattrs]. SCTP's attribute 9 (HEARTBEAT_ACKED, no longer a
 * state) reads 0, as on Linux 6.18.
 */
void ct_timeout_defaults(const struct ct_settings *s, uint8_t l4num,
			 uint32_t secs[CT_TIMEOUT_ATTR_MAX + 1]);

/**
 * ct_timeout_set_default - change the namespace default behind attribute
 * @attr of @l4num (cttimeout_default_set(): the same value as the sysctl).
 * Attributes without a sysctl (SCTP 9) are ignored.
 */
void ct_timeout_set_default(struct ct_settings *s, uint8_t l4num, unsigned attr, uint32_t secs);

/** ct_timeout_find - the policy named @name, or NULL. */
struct ct_timeout_policy *ct_timeout_find(struct ct_timeout_policies *tp, const char *name);

/**
 * ct_timeout_add - append a new policy (name truncated to 31 bytes) with
 * the values in @secs; the caller has checked the name is free. Returns it,
 * or NULL (out of memory).
 */
struct ct_timeout_policy *ct_timeout_add(struct ct_timeout_policies *tp, const char *name,
					 uint16_t l3num, uint8_t l4num,
					 const uint32_t secs[CT_TIMEOUT_ATTR_MAX + 1]);

/**
 * ct_timeout_del - remove @p if nobody references it (ctnl_timeout_try_del()).
 * Returns 0, or -EBUSY (still referenced: left in place).
 */
int ct_timeout_del(struct ct_timeout_policies *tp, struct ct_timeout_policy *p);

/** ct_timeout_get/_put - take / drop a reference (an entry or a rule using @p). */
void ct_timeout_get(struct ct_timeout_policy *p);
void ct_timeout_put(struct ct_timeout_policy *p);

/**
 * ct_timeout_state_secs - the timeout @p gives an entry of its protocol in
 * tracker state @state (enum ct_tcp_state / ct_sctp_state; for UDP, GRE:
 * @replied chooses REPLIED over UNREPLIED), as the trackers' get_timeouts
 * with a timeout extension.
 */
uint32_t ct_timeout_state_secs(const struct ct_timeout_policy *p, uint8_t state, bool replied);

/** ct_timeout_free_all - release every policy (references are ignored). */
void ct_timeout_free_all(struct ct_timeout_policies *tp);

#endif
