/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ct_timeout.h — timeout policies (nft `ct timeout` objects): per-entry
 * timeouts that replace the nf_conntrack_*_timeout sysctls for one entry
 * (nf_conntrack_timeout.c, nft_ct.c's nft_ct_timeout_obj_*).
 */
#ifndef CTSIM_CT_TIMEOUT_H
#define CTSIM_CT_TIMEOUT_H

#include <stdint.h>
#include "ctsim/core/pipeline.h"

/* A policy as an nft `ct timeout` object holds it: the values given (bit i
 * of @given set: values[i] given, indices as conn_ext.timeouts), for TCP or
 * UDP. nfct's cttimeout objects are core/timeout_policy.h's struct
 * ct_timeout_policy (the kernel keeps the two apart too: nft's objects per
 * table, cttimeout's per netns); one representation for both is to come. */
struct ct_timeout_obj {
	const char *name;
	uint8_t l4proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t given;
	uint32_t values[CT_TO_MAX];
};

/**
 * ct_timeout_state_index - the index of nft's policy state @name ("established",
 * "syn_sent2", "retrans", "unack"; UDP "unreplied", "replied") for @l4proto,
 * or -1 if the protocol has no such state (nft: "invalid state for this
 * protocol").
 */
int ct_timeout_state_index(uint8_t l4proto, const char *name);

/** ct_timeout_state_name - the inverse of ct_timeout_state_index(); NULL if none. */
const char *ct_timeout_state_name(uint8_t l4proto, unsigned index);

/**
 * ct_timeout_apply - nft_ct_timeout_obj_eval(): give @skb's entry the
 * policy @p when the packet is of the policy's transport protocol and the
 * entry is new (not confirmed, not a template); a confirmed entry keeps
 * what it has. The values not given come from @settings' current sysctls
 * (the kernel copies the per-net defaults when the object is made); TCP's
 * first slot is the SYN_SENT value (tcp_timeout_nlattr_to_obj()), UDP's the
 * unreplied one; the entry's timeout is then set to that first value
 * (nf_ct_refresh(), relative: the entry is unconfirmed). Returns CT_ACCEPT,
 * or CT_DROP when the extension cannot be allocated (as the kernel).
 */
int ct_timeout_apply(struct ct_core *core, struct ct_skb *skb, const struct ct_timeout_obj *p);

#endif
