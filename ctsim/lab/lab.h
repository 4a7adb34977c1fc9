/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lab.h — the classroom lab: network namespaces attached to ctsim, each by
 * its own TUN device, with addresses and routes, so that real programs
 * (ping, nc, curl, Scapy) talk to each other *through* ctsim.
 *
 *     ctsim-client (10.77.1.2, fd77:1::2)          ctsim-server (10.77.2.2, fd77:2::2)
 *            ct-c0  ──── TUN ────┐        ┌──── TUN ────  ct-s0
 *                                 ctsim: 10.77.1.1 | 10.77.2.1 (routes, tracks, filters)
 *
 * The namespaces and addresses are made with iproute2 (`ip`), the real tool,
 * so what a student types inside a namespace is what they would type on a
 * real host. A topology file describes other layouts (see docs/lab.md):
 *
 *     # host NAME IFNAME HOST-V4/PREFIX CTSIM-V4 [HOST-V6/PREFIX CTSIM-V6]
 *     host client ct-c0 10.77.1.2/24 10.77.1.1 fd77:1::2/64 fd77:1::1
 *     host server ct-s0 10.77.2.2/24 10.77.2.1 fd77:2::2/64 fd77:2::1
 */
#ifndef CTSIM_LAB_H
#define CTSIM_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "proto/ctnl.h"

#define LAB_MAX_HOSTS	8
#define LAB_DEFAULT_PREFIX "ctsim-"
/* longest --lab-prefix and host name: both fit lab_host.netns whole, so a
 * namespace is never named other than the banner says */
#define LAB_PREFIX_MAX	23
#define LAB_NAME_MAX	23

struct lab_host {
	char name[LAB_NAME_MAX + 1];	/* "client" */
	char netns[LAB_PREFIX_MAX + LAB_NAME_MAX + 1];	/* prefix + name: "ctsim-client" */
	char ifname[16];	/* the TUN interface, same name on both sides */
	union ct_addr host4, gw4, host6, gw6;	/* gw = ctsim's address on the link */
	uint8_t plen4, plen6;
	bool has4, has6;
	int fd;			/* the TUN fd, -1 when down */
	bool made;		/* its namespace is ours (lab_up() made it) */
};

struct lab {
	char prefix[LAB_PREFIX_MAX + 1];
	struct lab_host host[LAB_MAX_HOSTS];
	unsigned n;
};

/** lab_name_bad - the first character of @s that does not belong in a
 *  namespace name part (letters, digits, '.', '_', '-'), or NULL. Spaces,
 *  '/' and control characters would make names `ip netns` and
 *  /run/netns/ cannot carry, or that read as something else. */
const char *lab_name_bad(const char *s);

/** lab_default - the two-host topology above, namespaces named @prefix + host. */
void lab_default(struct lab *l, const char *prefix);

/**
 * lab_load - read a topology file. All or nothing: on error @l is
 * unchanged and @err holds "FILE:LINE:COL: message".
 */
int lab_load(struct lab *l, const char *path, const char *prefix, char *err, size_t errlen);

/* Where each lab namespace is recorded while ctsim owns it: a file named
 * after the namespace, holding the owning process id. */
#define LAB_RUN_DIR "/run/ctsim/labs"

/**
 * lab_up - create the namespaces, TUN devices, addresses and routes, and
 * record each namespace under LAB_RUN_DIR. A namespace of the same name
 * left by a ctsim lab whose process is gone is removed first; one that a
 * running lab owns, or that ctsim did not make, is refused (never
 * deleted). On failure everything made so far is removed and @err says
 * what failed.
 */
int lab_up(struct lab *l, char *err, size_t errlen);

/** lab_down - remove the namespaces lab_up() made (their TUN interfaces go
 * with them) and their records. */
void lab_down(struct lab *l);

/**
 * lab_cleanup - `ctsim lab down`: remove the namespaces named @prefix* that
 * a ctsim lab made (recorded under LAB_RUN_DIR) and whose process is gone,
 * one "removed netns NAME" line each on stdout; a running lab's are left
 * (a line on stderr says whose), and namespaces ctsim did not make are
 * never touched. Returns how many were removed, -1 if the records cannot
 * be read.
 */
int lab_cleanup(const char *prefix);

/** lab_print - the topology, one host a line (for the banner and docs). */
void lab_print(const struct lab *l, FILE *out);

#endif
