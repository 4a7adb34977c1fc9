/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * helpers.h — the built-in conntrack helpers (one file each in helpers/,
 * the kernel's nf_conntrack_ftp.ko, nf_conntrack_sip.ko ...) and the one
 * function that registers them with the core's helper glue
 * (ctsim/core/helper.h). Every program that builds a pipeline calls
 * ct_helpers_register_builtin() before parsing a ruleset or tracking a
 * packet.
 *
 * Adding a helper: write helpers/foo.c with a `const struct ct_helper
 * ct_helper_foo`, add its row to registry.c and its file to
 * helpers/meson.build. The declarations below are for the unit tests that
 * look at one helper's ops; a new helper needs one here only for them.
 */
#ifndef CTSIM_HELPERS_H
#define CTSIM_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ctsim/core/helper.h"

/**
 * ct_helpers_register_builtin - register every helper of helpers/ with
 * ct_helper_register(), in the order `ctsim explain helpers` lists them
 * (module_init() of each nf_conntrack_* helper module). Idempotent: a
 * second call registers nothing. Returns 0 or the first error of
 * ct_helper_register().
 */
int ct_helpers_register_builtin(void);

/* The helpers (one file each in helpers/), for tests; registry.c declares
 * its rows itself. */
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
