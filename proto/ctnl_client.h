/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctnl_client.h — a small ctnetlink client that talks to ctsim directly over
 * its Unix socket (no shim needed): used by ctctl and the C tests.
 *
 * The conversation is the netlink one (see ctsim_wire.h): send a request,
 * read datagrams until the answer is complete (ACK/error, DONE, or the single
 * object of a GET), handing every message to a callback.
 */
#ifndef CTSIM_PROTO_CTNL_CLIENT_H
#define CTSIM_PROTO_CTNL_CLIENT_H

#include <stdint.h>
#include <stddef.h>
#include <linux/netlink.h>

struct ctnl_client;

/* Called for every message of an answer except NLMSG_DONE and a zero
 * NLMSG_ERROR; return 0 to go on, anything else to stop (it is returned). */
typedef int (*ctnl_client_cb)(const struct nlmsghdr *nlh, void *data);

/**
 * ctnl_client_open - connect to ctsim
 * @path: socket path; NULL means $CTSIM_SOCKET, else CTSIM_DEFAULT_SOCKET
 * @groups: multicast groups bitmask to subscribe to (0 for none)
 * Returns NULL with errno set (ENOENT/ECONNREFUSED when ctsim is not running).
 */
struct ctnl_client *ctnl_client_open(const char *path, uint32_t groups);
void ctnl_client_close(struct ctnl_client *c);
int ctnl_client_fd(const struct ctnl_client *c);
uint32_t ctnl_client_portid(const struct ctnl_client *c);

/** ctnl_client_seq - the next sequence number to put in a request. */
uint32_t ctnl_client_seq(struct ctnl_client *c);

/**
 * ctnl_client_request - send one request and collect its answer
 * @nlh: the request (ctnl_msg_start() + attributes); its seq should come
 *       from ctnl_client_seq()
 * The answer ends at NLMSG_DONE (dumps), at an NLMSG_ERROR (ACK or error),
 * or, for a request without NLM_F_ACK and without NLM_F_DUMP, after the
 * first datagram. Returns 0, a negative errno from an NLMSG_ERROR, or the
 * callback's non-zero value; -EIO/-errno for transport failures.
 */
int ctnl_client_request(struct ctnl_client *c, const struct nlmsghdr *nlh,
			ctnl_client_cb cb, void *data);

/**
 * ctnl_client_recv_events - read one datagram of events (blocking unless
 * @timeout_ms >= 0), calling @cb per message. Returns the number of messages,
 * 0 on timeout, -ENOBUFS when the daemon reported lost events, -ECONNRESET
 * when it went away.
 */
int ctnl_client_recv_events(struct ctnl_client *c, int timeout_ms,
			    ctnl_client_cb cb, void *data);

/**
 * ctnl_client_control_payload - ctnl_client_control_data() for an
 * operation whose request carries @len bytes of @payload after the struct
 * (CTSIM_CTL_SET, CTSIM_CTL_GET, CTSIM_CTL_TRACE with CTSIM_TRACE_FILTER;
 * b = @len; a = 1, flags = @flags). The reply's payload (an error
 * message when the reply carries an error) in *@data, its length in
 * *@dlen. Returns 0 or the negative errno of the reply or the transport.
 */
int ctnl_client_control_payload(struct ctnl_client *c, uint16_t op, uint16_t flags,
				const void *payload, size_t len, const void **data, size_t *dlen);

/**
 * ctnl_client_recv_line - read one datagram of a trace or log stream
 * (CTSIM_CTL_TRACE), blocking unless @timeout_ms >= 0: a
 * CTSIM_CTL_TRACE_LINE's text in *@line (not NUL-terminated, valid until
 * the next call on @c) and its CTSIM_TRACE_* flags in *@flags. Returns the
 * text's length (>= 0); -EAGAIN on timeout or for a datagram that is no
 * line; -ENOBUFS when the daemon dropped lines (the reader was too slow);
 * -ECONNRESET when it went away; -errno otherwise.
 */
int ctnl_client_recv_line(struct ctnl_client *c, int timeout_ms, const char **line,
			  uint16_t *flags);

/**
 * ctnl_client_setsockopt - set a SOL_NETLINK option (or ctsim's own
 * CTSIM_SO_EVENT_BACKLOG) of @c's socket in the daemon: CTSIM_CTL_SETSOCKOPT
 * with a = @opt, b = @val, which the daemon does not answer (as
 * setsockopt() on a netlink socket sends nothing). Returns 0 or -errno of
 * the send.
 */
int ctnl_client_setsockopt(struct ctnl_client *c, uint32_t opt, uint32_t val);

/**
 * ctnl_client_control - one of ctsim's own operations (ctsim_wire.h:
 * CTSIM_CTL_ADVANCE with @a seconds and @b nanoseconds, CTSIM_CTL_RELOAD),
 * waiting for its CTSIM_CTL_REPLY. Returns 0 or a negative errno (EPERM,
 * ENOTSUP when the daemon has no ruleset to reload, EINVAL when the new
 * ruleset does not parse).
 */
int ctnl_client_control(struct ctnl_client *c, uint16_t op, uint32_t a, uint32_t b);

/**
 * ctnl_client_control_data - a control operation whose CTSIM_CTL_REPLY
 * carries a payload (ctsim_wire.h: CTSIM_CTL_RULESET, @flags
 * CTSIM_RULESET_*)
 * @data: set to the payload, which lives in @c's receive buffer: valid
 *        until the next call on @c (no copy, as mnl_socket_recvfrom()
 *        users read in place); not NUL-terminated. Untouched on error.
 * Returns the payload length (>= 0, at most CTSIM_CTL_DGRAM_MAX minus the
 * header), or a negative errno: the daemon's answer (-EPERM for non-root
 * clients, -ENOTSUP without a lab, -EMSGSIZE when the listing does not fit
 * one datagram, -EINVAL for unknown flags), -EIO for a reply shorter than
 * it claims, transport errors as ctnl_client_control().
 */
int ctnl_client_control_data(struct ctnl_client *c, uint16_t op, uint16_t flags,
			     uint32_t a, uint32_t b, const void **data);

#endif /* CTSIM_PROTO_CTNL_CLIENT_H */
