// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * timeout_policy.c — named timeout policies (see timeout_policy.h): the
 * attribute layout of each protocol (the trackers' ctnl_timeout tables in
 * nf_conntrack_proto_*.c) mapped onto ctsim's sysctls, and the list.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "ctsim/core/timeout_policy.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

/* One protocol's attributes: their names (libnetfilter_cttimeout's, which
 * nfct prints) and the sysctl each one's namespace default is. */
struct proto_attrs {
	uint8_t l4num;
	unsigned n;
	const char *name[CT_TIMEOUT_ATTR_MAX + 1];
};

static const struct proto_attrs protos[] = {
	{ IPPROTO_TCP, 11, { NULL, "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
			     "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
			     "RETRANS", "UNACKNOWLEDGED" } },
	{ IPPROTO_UDP, 2, { NULL, "UNREPLIED", "REPLIED" } },
	{ IPPROTO_UDPLITE, 2, { NULL, "UNREPLIED", "REPLIED" } },
	{ IPPROTO_GRE, 2, { NULL, "UNREPLIED", "REPLIED" } },
	{ IPPROTO_ICMP, 1, { NULL, "TIMEOUT" } },
	{ IPPROTO_ICMPV6, 1, { NULL, "TIMEOUT" } },
	{ 255, 1, { NULL, "TIMEOUT" } },
	/* CTA_TIMEOUT_SCTP_*: the states from CLOSED, then HEARTBEAT_ACKED,
	 * which Linux 6.x still numbers but no longer uses. */
	{ IPPROTO_SCTP, 9, { NULL, "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED",
			     "SHUTDOWN_SENT", "SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT",
			     "HEARTBEAT_SENT", "HEARTBEAT_ACKED" } },
};

static const struct proto_attrs *proto_find(uint8_t l4num)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].l4num == l4num)
			return &protos[i];
	return NULL;
}

unsigned ct_timeout_nattrs(uint8_t l4num)
{
	const struct proto_attrs *p = proto_find(l4num);

	return p ? p->n : 0;
}

const char *ct_timeout_attr_name(uint8_t l4num, unsigned attr)
{
	const struct proto_attrs *p = proto_find(l4num);

	return p && attr >= 1 && attr <= p->n ? p->name[attr] : NULL;
}

/* The sysctl behind attribute @attr of @l4num (the kernel's pernet array
 * slot), or NULL. TCP's attributes 1..9 and SCTP's 1..8 number the states
 * as enum ct_tcp_state / ct_sctp_state do. */
static uint32_t *default_slot(struct ct_settings *s, uint8_t l4num, unsigned attr)
{
	switch (l4num) {
	case IPPROTO_TCP:
		if (attr >= 1 && attr < CT_TCP_MAX)
			return &s->tcp_timeout[attr];
		if (attr == 10)
			return &s->tcp_timeout_max_retrans;
		if (attr == 11)
			return &s->tcp_timeout_unacknowledged;
		return NULL;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		return attr == 1 ? &s->udp_timeout : attr == 2 ? &s->udp_timeout_stream : NULL;
	case IPPROTO_GRE:
		return attr == 1 ? &s->gre_timeout : attr == 2 ? &s->gre_timeout_stream : NULL;
	case IPPROTO_ICMP:
		return attr == 1 ? &s->icmp_timeout : NULL;
	case IPPROTO_ICMPV6:
		return attr == 1 ? &s->icmpv6_timeout : NULL;
	case 255:
		return attr == 1 ? &s->generic_timeout : NULL;
	case IPPROTO_SCTP:
		return attr >= 1 && attr < CT_SCTP_MAX ? &s->sctp_timeout[attr] : NULL;
	default:
		return NULL;
	}
}

void ct_timeout_defaults(const struct ct_settings *s, uint8_t l4num,
			 uint32_t secs[CT_TIMEOUT_ATTR_MAX + 1])
{
	unsigned n = ct_timeout_nattrs(l4num);

	memset(secs, 0, sizeof(uint32_t) * (CT_TIMEOUT_ATTR_MAX + 1));
	for (unsigned a = 1; a <= n; a++) {
		/* default_slot() only computes an address into @s. */
		uint32_t *v = default_slot((struct ct_settings *)s, l4num, a);

		secs[a] = v ? *v : 0;
	}
}

void ct_timeout_set_default(struct ct_settings *s, uint8_t l4num, unsigned attr, uint32_t secs)
{
	uint32_t *v = default_slot(s, l4num, attr);

	if (v)
		*v = secs;
}

struct ct_timeout_policy *ct_timeout_find(struct ct_timeout_policies *tp, const char *name)
{
	for (struct ct_timeout_policy *p = tp->head; p; p = p->next)
		if (strncmp(p->name, name, CT_TIMEOUT_NAME_MAX) == 0)
			return p;
	return NULL;
}

struct ct_timeout_policy *ct_timeout_add(struct ct_timeout_policies *tp, const char *name,
					 uint16_t l3num, uint8_t l4num,
					 const uint32_t secs[CT_TIMEOUT_ATTR_MAX + 1])
{
	struct ct_timeout_policy *p = calloc(1, sizeof(*p)), **end = &tp->head;

	if (!p)
		return NULL;
	strncpy(p->name, name, CT_TIMEOUT_NAME_MAX - 1);
	p->l3num = l3num;
	p->l4num = l4num;
	memcpy(p->secs, secs, sizeof(p->secs));
	while (*end)
		end = &(*end)->next;
	*end = p;
	return p;
}

int ct_timeout_del(struct ct_timeout_policies *tp, struct ct_timeout_policy *p)
{
	struct ct_timeout_policy **pp;

	if (p->refs)
		return -EBUSY;		/* refcount_dec_if_one() failed */
	for (pp = &tp->head; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			free(p);
			return 0;
		}
	}
	return -ENOENT;
}

void ct_timeout_get(struct ct_timeout_policy *p)
{
	p->refs++;
}

void ct_timeout_put(struct ct_timeout_policy *p)
{
	if (p->refs)
		p->refs--;
}

uint32_t ct_timeout_state_secs(const struct ct_timeout_policy *p, uint8_t state, bool replied)
{
	switch (p->l4num) {
	case IPPROTO_TCP:
		/* tcp_get_timeouts(): the state's slot; NONE uses SYN_SENT's
		 * (tcp_timeout_nlattr_to_obj() copies it into slot 0). */
		if (state == CT_TCP_NONE)
			return p->secs[CT_TCP_SYN_SENT];
		return state < CT_TCP_MAX ? p->secs[state] : p->secs[CT_TCP_CLOSE];
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_GRE:
		return p->secs[replied ? 2 : 1];
	case IPPROTO_SCTP:
		if (state == CT_SCTP_NONE)
			return p->secs[CT_SCTP_CLOSED];
		return state < CT_SCTP_MAX ? p->secs[state] : p->secs[CT_SCTP_CLOSED];
	default:
		return p->secs[1];
	}
}

void ct_timeout_free_all(struct ct_timeout_policies *tp)
{
	while (tp->head) {
		struct ct_timeout_policy *p = tp->head;

		tp->head = p->next;
		free(p);
	}
}
