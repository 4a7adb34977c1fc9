/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conn_export.h — a table entry as a struct ctnl_ct: the attributes the
 * kernel's ctnetlink puts in a dump object (ctnetlink_fill_info()) or an
 * event (ctnetlink_conntrack_event()). The ctnetlink server encodes the
 * result for the wire (proto/ctnl_ct.c); `ctsim replay` prints it directly
 * (proto/ctnl_print.c). One conversion, so both show the same thing.
 */
#ifndef CTSIM_CONN_EXPORT_H
#define CTSIM_CONN_EXPORT_H

#include <stdint.h>
#include "proto/ctnl.h"
#include "ctsim/core/event.h"
#include "ctsim/core/table.h"

/**
 * export_tuple_l4_fields - the CT_TF_* layer-4 fields a tuple of protocol
 * @l4num carries (the l4proto's nlattr_to_tuple(): ports, GRE keys, ICMP
 * type/code/id, or none for generic protocols).
 */
uint32_t export_tuple_l4_fields(uint8_t l4num);

/**
 * export_ct_from_conn - fill @o as a dump or GET object for @c
 * (ctnetlink_fill_info()): tuples, status, mark, id, use, timeout left at
 * t->now (ct_table_tick()), protoinfo, counters, timestamps, helper,
 * labels, master, seqadj, synproxy. @o is overwritten entirely.
 */
void export_ct_from_conn(const struct ct_table *t, const struct conn *c, struct ctnl_ct *o);

struct ct_expect;
/**
 * export_exp_from_expect - fill @o as a dump object for the expectation @e
 * (ctnetlink_exp_dump_expect(); ctsim/nfnetlink/exp_requests.c).
 */
void export_exp_from_expect(const struct ct_table *t, const struct ct_expect *e,
			  struct ctnl_exp *o);

/**
 * ctnetlink_exp_new - ctnetlink_new_expect(): create (or, without NLM_F_EXCL,
 * refresh the timeout of) the expectation an IPCTNL_MSG_EXP_NEW message
 * @nlh asks for, in table @t, on behalf of netlink port @portid (0: the
 * kernel). The daemon's handler and the scenario runner's `insert expect`
 * both come here. Returns 0 or a negative errno, as the kernel answers.
 */
int ctnetlink_exp_new(struct ct_table *t, const struct nlmsghdr *nlh, uint32_t portid);

/**
 * ctnetlink_ct_new - ctnetlink_new_conntrack(): create the entry an
 * IPCTNL_MSG_CT_NEW message @nlh describes (both tuples, CTA_TIMEOUT
 * required; status, mark, zone, protoinfo, helper, NAT, master, labels as
 * given; NEW or RELATED event), or, without NLM_F_EXCL, change the entry
 * that exists (ctnetlink_change_conntrack()), in table @t (its settings and
 * event queue) on behalf of netlink port @portid (0: the kernel; the
 * events carry it). The daemon's handler and the scenario runner's
 * `insert` both come here, so an entry inserted by a scenario is the one
 * `conntrack -I` makes. @nlh is only read. Returns 0 or a negative errno,
 * as the kernel answers.
 */
int ctnetlink_ct_new(struct ct_table *t, const struct nlmsghdr *nlh, uint32_t portid);

/**
 * export_ct_from_event - fill @o as the object of event @ev
 * (ctnetlink_conntrack_event()): which attributes are present depends on
 * the event mask (a DESTROY carries counters and only the protocol state;
 * other events carry protoinfo, labels, seqadj only when they changed; the
 * mark only if set or changed). Must be called while ev->ct is alive, i.e.
 * inside the event callback. @o is overwritten entirely.
 */
void export_ct_from_event(const struct ct_table *t, const struct ct_event *ev, struct ctnl_ct *o);

/**
 * export_event_kind - which message ctnetlink_conntrack_event() makes of an
 * event mask: DESTROY, NEW (NEW or RELATED) or UPDATE, as `conntrack -E`
 * tags it.
 */
enum ctnl_event export_event_kind(uint32_t mask);

/**
 * export_print_expectations - `conntrack -L expect` of @t through the shared
 * printer (proto/ctnl_print.h, already set up by the caller): reaps the
 * expired expectations first (their timers would have run, with DESTROY
 * events), then prints the rest newest first, the table's order. Returns
 * how many were printed.
 */
unsigned export_print_expectations(struct ct_table *t);

#endif
