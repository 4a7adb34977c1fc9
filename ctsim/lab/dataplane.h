/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dataplane.h — the live data plane of the daemon: the lab's TUN devices
 * feeding the router (the hook ladder) on the real clock, and the ruleset,
 * reloaded atomically on SIGHUP.
 */
#ifndef CTSIM_DATAPLANE_H
#define CTSIM_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>
#include "ctsim/lab/lab.h"
#include "ctsim/hooks/router.h"

struct ct_pcap_writer;

struct dataplane {
	struct ct_core core;
	struct lab lab;
	struct router router;
	struct ruleset *rs;
	const char *ruleset_path;	/* NULL: the built-in default */
	struct ct_pcap_writer *capture;	/* --capture: every packet the hosts send */
	int epfd;
	bool up;
	uint8_t cookie[LAB_MAX_HOSTS];	/* epoll cookies, one per TUN */
	/* `ctctl pause`: packets read from the TUN devices wait here, oldest
	 * first, until `ctctl step` or `ctctl resume` (dataplane_step()). */
	bool paused;
	struct dp_held *held;		/* ring of DP_HOLD_MAX, allocated at pause */
	unsigned held_head, held_n;
	uint64_t held_dropped;		/* arrived while the ring was full */
};

/* Packets held at most while paused; more are dropped, as a full NIC queue. */
#define DP_HOLD_MAX	1024

/**
 * dataplane_start - build the lab topology @l (namespaces, TUN devices,
 * addresses), load the ruleset (@ruleset_path or the default), attach
 * the TUN fds to @epfd. Returns 0, or -1 with the reason printed.
 */
int dataplane_start(struct dataplane *dp, const struct ct_core *core, const struct lab *l,
		    const char *ruleset_path, int epfd);
/**
 * dataplane_capture - record every packet the hosts send into ctsim, as it
 * arrives (before any hook), in the pcap file @path: what `ctsim replay`
 * takes to run the same traffic offline. Returns 0 or -1 (reason printed).
 */
int dataplane_capture(struct dataplane *dp, const char *path);
/** dataplane_owns - is @cookie one of the data plane's epoll cookies? */
bool dataplane_owns(const struct dataplane *dp, const void *cookie);
/** dataplane_handle - a TUN fd is readable: route what it has. */
void dataplane_handle(struct dataplane *dp, void *cookie);
/** dataplane_reload - parse the ruleset file again; on error keep the old
 *  one and print the errors. Either way one "ctsim: ruleset ..." line goes
 *  to stderr; @cause (NULL: none), e.g. "SIGHUP" under `ctsim -v`, is
 *  appended in parentheses so that a log tells who asked. Returns 0 or -1. */
int dataplane_reload(struct dataplane *dp, const char *cause);
/** dataplane_reload_errno - dataplane_reload() for the server's reload
 *  hook (@arg is the dataplane): 0 or EINVAL. */
int dataplane_reload_errno(void *arg);
/**
 * dataplane_ruleset - the server's ruleset hook (@arg is the dataplane):
 * print the live ruleset with its counters (ruleset_print(), JSON with
 * CTSIM_RULESET_JSON) into @buf, at most @cap bytes, and set *@len; with
 * CTSIM_RULESET_RESET then zero the counters. Returns 0, EMSGSIZE when the
 * listing is longer than @cap (counters untouched) or ENOMEM.
 */
int dataplane_ruleset(void *arg, unsigned flags, char *buf, size_t cap, size_t *len);
/**
 * dataplane_step - the server's step hook (@arg is the dataplane), `ctctl
 * pause / step [N] / resume` (CTSIM_STEP_* @op): PAUSE holds every packet
 * read from now on (in order, before the capture file and any hook, at
 * most DP_HOLD_MAX); NEXT releases the @n oldest (at least 1) into the
 * router now, each traced (the trace also reaches `ctctl trace` clients as
 * usual), and reports per packet its trace lines and its entry after it
 * (ct_conn_describe(): state, status, timeout, windows); RESUME releases
 * all untraced and stops holding; STATUS only reports. The text goes into
 * @buf (@cap bytes; cut, with a last line saying so, when too long), *@len
 * set. Returns 0, EINVAL (NEXT while not paused) or ENOMEM.
 */
int dataplane_step(void *arg, unsigned op, unsigned n, char *buf, size_t cap, size_t *len);
/** dataplane_stop - remove the namespaces and close the TUN devices. */
void dataplane_stop(struct dataplane *dp);

#endif
