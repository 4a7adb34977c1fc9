/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctnl_print.h — conntrack objects, statistics and counts as conntrack(8)
 * prints them, or as JSON: one print path for both (iproute2's json_print
 * idea). Shared by ctctl (entries from ctnetlink messages) and
 * `ctsim replay` (entries converted from its own table).
 *
 * Text is the exact layout of conntrack 1.4.7 -L / -E / -S / -C (trailing
 * blank stripped where conntrack strips it), reproduced by observing
 * conntrack against the kernel. JSON field names are documented in
 * docs/ctctl.md.
 *
 * The printer keeps a little state: the caller's options (one pointer, set
 * once with ctnl_print_setup()), and at most one open JSON list. It is not
 * thread-safe; both users are single-threaded.
 */
#ifndef CTSIM_PROTO_CTNL_PRINT_H
#define CTSIM_PROTO_CTNL_PRINT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/ctnl.h"

/* jansson's json_t, without making every includer depend on jansson. */
struct json_t;

/* -o flags, as conntrack's -o list. */
enum {
	CTNL_O_EXTENDED   = 1u << 0,	/* "ipv4     2 " prefix */
	CTNL_O_ID         = 1u << 1,	/* "id=N" */
	CTNL_O_TIMESTAMP  = 1u << 2,	/* "[sec.usec]\t" before events */
	CTNL_O_KTIMESTAMP = 1u << 3,	/* "[start=...] [stop=...]" */
};

/* Event kinds for ctnl_print_ct(). */
enum ctnl_event { CTNL_EV_NONE, CTNL_EV_NEW, CTNL_EV_UPDATE, CTNL_EV_DESTROY };

struct ctnl_print_opts {
	bool json;		/* JSON instead of conntrack's text */
	bool pretty;		/* indented JSON */
	unsigned out;		/* CTNL_O_* */
	FILE *fp;		/* where to write; NULL = stdout */
	/* Wall-clock "now" in ns since the epoch, for delta-time= of entries
	 * still alive and the -o timestamp prefix of events. 0 = read the real
	 * clock (ctctl); replay sets its virtual clock here. */
	uint64_t now_ns;
};

/**
 * ctnl_print_setup - use @o for every later call. The printer keeps the
 * pointer, not a copy, and reads the fields at each call: the caller may
 * change them afterwards (ctctl's per-verb -o, replay's virtual time).
 * @o must stay valid while printing; NULL restores the defaults (text to
 * stdout, no -o flags).
 */
void ctnl_print_setup(const struct ctnl_print_opts *o);

/**
 * ctnl_print_parse_output - parse an -o list ("extended,id,timestamp,ktimestamp")
 * Returns the CTNL_O_* flags, or -1 for an unknown word or an over-long list.
 */
int ctnl_print_parse_output(const char *list);

/**
 * ctnl_print_begin_list / ctnl_print_end_list - bracket a listing. In JSON
 * mode the objects printed in between are collected into an array that
 * _end_list writes as one document; in text mode both do nothing. Lists do
 * not nest: a second _begin_list drops the first.
 */
void ctnl_print_begin_list(void);
void ctnl_print_end_list(void);

/**
 * ctnl_print_take_list - like ctnl_print_end_list(), but instead of writing
 * the array, return it to the caller, who owns the reference (json_decref).
 * Returns NULL in text mode or when no list is open. Lets one program put
 * several listings into one JSON object (`ctsim replay -j`).
 */
struct json_t *ctnl_print_take_list(void);

/**
 * ctnl_print_ct - print one conntrack object
 * Text: one line in conntrack -L (@ev == CTNL_EV_NONE) or -E format, with
 * the -o flags. JSON: one object, appended to the open list or, outside a
 * list, written as one line (NDJSON, for monitors). @portid is the event's
 * nlmsg_pid: non-zero adds "[USERSPACE] portid=N" to events, as conntrack.
 * Only the attributes marked in ct->present are printed.
 */
void ctnl_print_ct(const struct ctnl_ct *ct, enum ctnl_event ev, uint32_t portid);

/**
 * ctnl_print_exp - one expectation as conntrack -L expect (@ev ==
 * CTNL_EV_NONE) or -E expect prints it ("300 proto=6 src=... mask-src=...
 * master-src=... class=0 helper=ftp"), or a JSON object (keys in
 * docs/ctctl.md). Only the attributes marked in e->present are printed.
 */
void ctnl_print_exp(const struct ctnl_exp *e, enum ctnl_event ev);

/** ctnl_print_stats_cpu - one conntrack -S line ("cpu=N\tfound=..."), or a
 *  JSON object with the same names. */
void ctnl_print_stats_cpu(unsigned cpu, const struct ctnl_stats_cpu *s);

/** ctnl_print_count - conntrack -C: the entry count (text: the number;
 *  JSON: {"entries", "max_entries"}). */
void ctnl_print_count(const struct ctnl_stats_global *g);

#endif /* CTSIM_PROTO_CTNL_PRINT_H */
