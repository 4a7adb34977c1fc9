/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctnl_msg.c — message framing: the nlmsghdr + nfgenmsg of every ctnetlink
 * message, NLMSG_ERROR / NLMSG_DONE as the kernel's netlink core writes
 * them, datagram framing checks, and the multicast group of an event.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>

#include "proto/ctnl.h"
#include "proto/ctsim_wire.h"

/* Both headers of a ctnetlink message: 16 + 4 bytes. */
#define CTNL_HDRLEN	(MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)))

struct nlmsghdr *ctnl_msg_start(void *buf, size_t cap, uint16_t type,
				uint16_t flags, uint32_t seq, uint32_t portid,
				uint8_t family, uint8_t version, uint16_t res_id)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	if (buf == NULL || cap < CTNL_HDRLEN)
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);	/* zeroes the header */
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = portid;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));	/* zeroed */
	nfg->nfgen_family = family;
	nfg->version = version;
	nfg->res_id = htons(res_id);
	return nlh;
}

/*
 * netlink_ack(): the error code, then either the request's header only
 * (NLM_F_CAPPED: always for an ACK, for errors with NETLINK_CAP_ACK) or the
 * whole request. We never add extended-ACK TLVs.
 */
int ctnl_msg_put_error(void *buf, size_t cap, const struct nlmsghdr *req,
		       int err, uint32_t portid, bool capped)
{
	struct nlmsghdr *nlh;
	struct nlmsgerr *e;
	size_t echo, len;

	if (err == 0)
		capped = true;
	echo = capped ? sizeof(struct nlmsghdr) : req->nlmsg_len;
	if (echo < sizeof(struct nlmsghdr))
		echo = sizeof(struct nlmsghdr);
	/* netlink_ack() appends the request with nlmsg_append(): padded to
	 * alignment, and the padding counts in the error's nlmsg_len */
	len = MNL_NLMSG_HDRLEN + sizeof(e->error) + MNL_ALIGN(echo);
	if (buf == NULL || cap < MNL_ALIGN(len))
		return -EMSGSIZE;

	memset(buf, 0, MNL_ALIGN(len));
	nlh = buf;
	nlh->nlmsg_len = (uint32_t)len;
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = capped ? NLM_F_CAPPED : 0;
	nlh->nlmsg_seq = req->nlmsg_seq;
	nlh->nlmsg_pid = portid;
	e = mnl_nlmsg_get_payload(nlh);
	e->error = err;
	memcpy(&e->msg, req, echo);
	return (int)MNL_ALIGN(len);
}

/* netlink_dump_done(): NLMSG_DONE, flags MULTI, an int 0 as payload. */
int ctnl_msg_put_done(void *buf, size_t cap, uint32_t seq, uint32_t portid)
{
	struct nlmsghdr *nlh;
	int32_t zero = 0;

	if (buf == NULL || cap < MNL_NLMSG_HDRLEN + sizeof(zero))
		return -EMSGSIZE;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = portid;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(zero)), &zero, sizeof(zero));
	return (int)nlh->nlmsg_len;
}

/*
 * netlink_rcv_skb(): each message needs a full header and a length that
 * fits what is left of the datagram; messages are 4-byte aligned.
 */
int ctnl_msg_check(const void *buf, size_t len, size_t *bad_at)
{
	const uint8_t *p = buf;
	size_t off = 0;
	int n = 0;

	while (off < len) {
		const struct nlmsghdr *nlh = (const void *)(p + off);

		if (len - off < sizeof(*nlh) ||
		    nlh->nlmsg_len < sizeof(*nlh) ||
		    nlh->nlmsg_len > len - off) {
			if (bad_at)
				*bad_at = off;
			return -EINVAL;
		}
		n++;
		off += MNL_ALIGN(nlh->nlmsg_len);
	}
	return n;
}
