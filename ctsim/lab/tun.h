/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tun.h — TUN devices: how packets from network namespaces reach ctsim.
 * A TUN fd keeps working after its interface is moved to another netns,
 * so ctsim opens the device here and hands the interface to the lab's
 * namespace; each read() is one IP packet (IFF_TUN | IFF_NO_PI).
 */
#ifndef CTSIM_TUN_H
#define CTSIM_TUN_H

#include <stddef.h>
#include <sys/types.h>

/**
 * tun_open - create (or attach to) TUN interface @name, non-blocking
 * Returns the fd, or -errno (ENOENT: no /dev/net/tun; EPERM: not root).
 */
int tun_open(const char *name);

#endif
