/* SPDX-License-Identifier: GPL-2.0-or-later */
/* clock.c — real or virtual time, with a warp offset (see clock.h). */
#include <time.h>
#include "ctsim/core/clock.h"

static uint64_t read_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * CT_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

void ct_clock_init_real(struct ct_clock *c)
{
	*c = (struct ct_clock){ .is_virtual = false };
}

void ct_clock_init_virtual(struct ct_clock *c, uint64_t wall_start_ns)
{
	/* Start well above zero so that "expires == 0" never means "now". */
	*c = (struct ct_clock){ .is_virtual = true, .virt_mono = CT_NSEC_PER_SEC,
				.virt_wall = wall_start_ns - CT_NSEC_PER_SEC };
}

uint64_t ct_clock_now(const struct ct_clock *c)
{
	if (c->is_virtual)
		return c->virt_mono;
	return read_clock(CLOCK_MONOTONIC) + c->warp_ns;
}

uint64_t ct_clock_wall(const struct ct_clock *c)
{
	if (c->is_virtual)
		return c->virt_wall + c->virt_mono;
	return read_clock(CLOCK_REALTIME) + c->warp_ns;
}

void ct_clock_advance(struct ct_clock *c, uint64_t ns)
{
	if (c->is_virtual)
		c->virt_mono += ns;
	else
		c->warp_ns += ns;
}
