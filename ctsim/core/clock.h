/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clock.h — ctsim's notion of time. Never call time() elsewhere: every
 * timeout, GC pass and timestamp reads a struct ct_clock, so the same core
 * runs on the real clock (the lab, the daemon) or a virtual one (replay,
 * scenarios, unit tests), and a class can warp time forward.
 *
 * Two readings, as in the kernel:
 *   ct_clock_now()  — monotonic nanoseconds, for timeouts (the kernel's
 *                     nfct_time_stamp / jiffies);
 *   ct_clock_wall() — nanoseconds since the epoch, for CTA_TIMESTAMP
 *                     (ktime_get_real_ns() in nf_conntrack_timestamp).
 */
#ifndef CTSIM_CLOCK_H
#define CTSIM_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define CT_NSEC_PER_SEC 1000000000ull

struct ct_clock {
	bool     is_virtual;
	uint64_t warp_ns;	/* added to real readings: the time warp */
	uint64_t virt_mono;	/* virtual mode: current monotonic time */
	uint64_t virt_wall;	/* virtual mode: wall time at virt_mono == 0 */
};

/** ct_clock_init_real - a clock that follows CLOCK_MONOTONIC/REALTIME. */
void ct_clock_init_real(struct ct_clock *c);
/** ct_clock_init_virtual - a clock that only moves by ct_clock_advance();
 *  @wall_start_ns is the wall time it starts at. */
void ct_clock_init_virtual(struct ct_clock *c, uint64_t wall_start_ns);
uint64_t ct_clock_now(const struct ct_clock *c);
uint64_t ct_clock_wall(const struct ct_clock *c);
/** ct_clock_advance - move time forward by @ns: virtual time, or the warp
 *  offset of a real clock (timeouts then expire "early", on purpose). */
void ct_clock_advance(struct ct_clock *c, uint64_t ns);

#endif
