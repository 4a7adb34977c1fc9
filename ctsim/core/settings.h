/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * settings.h — the per-netns nf_conntrack_* sysctls ctsim emulates, with the
 * kernel's defaults (Linux 6.18, see shared reference §2.3). Names are the
 * sysctl names without "net.netfilter."; the same table serves the command
 * line (--set), config files, ctctl and the docs (ctsim --list-settings).
 */
#ifndef CTSIM_SETTINGS_H
#define CTSIM_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "proto/ctnl.h"

struct ct_settings {
	uint32_t max;			/* nf_conntrack_max */
	uint32_t buckets;		/* nf_conntrack_buckets */
	uint32_t expect_max;		/* nf_conntrack_expect_max */
	uint32_t acct;			/* nf_conntrack_acct */
	uint32_t timestamp;		/* nf_conntrack_timestamp */
	uint32_t events;		/* nf_conntrack_events: 0, 1, 2 (auto) */
	uint32_t checksum;		/* nf_conntrack_checksum */
	uint32_t log_invalid;		/* nf_conntrack_log_invalid */
	uint32_t tcp_loose, tcp_be_liberal, tcp_max_retrans, tcp_ignore_invalid_rst;
	uint32_t tcp_timeout[CT_TCP_MAX];	/* seconds, indexed by enum ct_tcp_state */
	uint32_t tcp_timeout_max_retrans, tcp_timeout_unacknowledged;
	uint32_t udp_timeout, udp_timeout_stream;
	uint32_t icmp_timeout, icmpv6_timeout;
	uint32_t gre_timeout, gre_timeout_stream;
	uint32_t generic_timeout;
	uint32_t sctp_timeout[CT_SCTP_MAX];	/* seconds, indexed by enum ct_sctp_state */
	/* ctsim-only: does the ruleset "use" ct labels? The kernel attaches
	 * labels only when some rule uses them (nf_connlabels_get()). */
	uint32_t labels_used;
	/* ctsim-only: CPUs reported by CT_GET_STATS_CPU (0 = this machine's). */
	uint32_t cpus;
	/* ctsim-only, beyond the kernel: what to do when the table is full
	 * (ctsim/core/overflow.c, docs/pressure.md). */
	uint32_t overflow_policy;		/* enum ct_overflow_policy (by name) */
	uint32_t overflow_min_lifetime;		/* min-lifetime: seconds idle */
	uint32_t overflow_adaptive_start;	/* adaptive: entries, 0 = 60 % of max */
	uint32_t overflow_adaptive_end;		/* adaptive: entries, 0 = 120 % of max */
	uint32_t overflow_scan;			/* buckets a policy's eviction scans */
	uint32_t overflow_emergency_timeout;	/* emergency: idle seconds that make an entry reusable */
	uint32_t overflow_emergency_recovery;	/* emergency: leave below (100 - N) % of max */
	/* ctsim-only: when the GC walks (CT_GC_PACING_*, by name, table.h). */
	uint32_t gc_pacing;
};

/** ct_settings_init - fill @s with the kernel's defaults. */
void ct_settings_init(struct ct_settings *s);

/**
 * ct_settings_set - set one setting from text
 * @name: sysctl name, with or without the "net.netfilter." prefix
 * Returns 0, -1 for an unknown name or -2 for a bad value ("not a number",
 * "out of range 1..N", "not one of NAME, NAME..." for a setting whose
 * values are names, "must be below ..." for a pair that contradicts
 * itself), with a message in @err.
 */
int ct_settings_set(struct ct_settings *s, const char *name, const char *value,
		    char *err, size_t errlen);

/**
 * ct_settings_shapes_table - true for a setting read only when the table is
 * created (nf_conntrack_buckets: the hash is allocated once; ctsim does not
 * resize it, and in a network namespace the kernel's sysctl is read-only).
 * Every other setting is read where it is used, so it may change at run time.
 * False for an unknown name.
 */
bool ct_settings_shapes_table(const char *name);

/**
 * ct_settings_load - read a sysctl.conf-style file: "name = value" lines,
 * '#' or ';' comments. All or nothing: on the first error, @s is left
 * untouched and @err holds "FILE:LINE:COL: message".
 */
int ct_settings_load(struct ct_settings *s, const char *path, char *err, size_t errlen);

/** ct_settings_print - "name = value" for every setting (ctsim --list-settings). */
void ct_settings_print(const struct ct_settings *s, FILE *out);

/** ct_settings_timeout - the default timeout (seconds) for a new entry of
 *  protocol @l4num in @state (TCP/SCTP state, ignored otherwise). */
uint32_t ct_settings_timeout(const struct ct_settings *s, uint8_t l3num,
			     uint8_t l4num, uint8_t state);

/**
 * ct_file_not_regular - why the open file @f cannot be a settings or ruleset
 * file: NULL for a regular file, else the reason ("Is a directory", "not a
 * regular file"). fopen() of a directory succeeds and its first read fails,
 * which a reader takes for an empty file: --config DIR, or a ruleset
 * replaced by a directory before a reload, would load as empty.
 */
const char *ct_file_not_regular(FILE *f);

#endif
