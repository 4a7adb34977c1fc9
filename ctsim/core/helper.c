/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * helper.c — the helper glue of the core (nf_conntrack_helper.c): the
 * registry of helpers (nf_conntrack_helper_register(),
 * __nf_conntrack_helper_find()), the helper extension of an entry
 * (nf_ct_helper_ext_add()), the call of help() in nf_confirm() and of
 * destroy() in nf_ct_helper_destroy(). The helpers themselves live in
 * helpers/, a layer above, and register through ct_helper_register().
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctsim/core/expect.h"
#include "ctsim/core/helper.h"

/* The kernel hashes helpers by tuple; ten helpers need no hash. The order
 * of registration is the order of listings (`ctsim explain helpers`) and
 * of the search: the first match wins, as the registry table always did. */
static const struct ct_helper *registered[CT_HELPER_MAX];
static size_t nregistered;

/* One registry slot per (name, family, protocol): the "sip" helpers for
 * UDP and TCP are two. A helper for both families (l3num 0) conflicts
 * with one for either family of the same name and protocol. */
static bool same_key(const struct ct_helper *a, const struct ct_helper *b)
{
	return a->l4num == b->l4num && !strcmp(a->name, b->name) &&
	       (!a->l3num || !b->l3num || a->l3num == b->l3num);
}

int ct_helper_register(const struct ct_helper *h)
{
	if (!h || !h->name || !h->name[0] || h->expect_class_max >= CT_HELPER_CLASS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < nregistered; i++) {
		if (registered[i] == h)
			return 0;
		if (same_key(registered[i], h))
			return -EEXIST;
	}
	if (nregistered == CT_HELPER_MAX)
		return -ENOSPC;
	registered[nregistered++] = h;
	return 0;
}

const struct ct_helper *ct_helper_find(const char *name, uint8_t l3num, uint8_t l4num)
{
	for (size_t i = 0; i < nregistered; i++) {
		const struct ct_helper *h = registered[i];

		if (h->l4num == l4num && !strcmp(h->name, name) &&
		    (!l3num || !h->l3num || h->l3num == l3num))
			return h;
	}
	return NULL;
}

const struct ct_helper *ct_helper_at(size_t i)
{
	return i < nregistered ? registered[i] : NULL;
}

int ct_helper_attach(struct conn *ct, const struct ct_helper *h)
{
	struct conn_ext *x = conn_ext_add(ct);

	if (!x)
		return -ENOMEM;
	x->helper = h;
	x->has |= CONN_EXT_HELPER;
	return 0;
}

const struct ct_helper *ct_helper_of(const struct conn *ct)
{
	const struct ct_tuple *o = &ct->th[CT_DIR_ORIG].tuple;
	const struct ct_helper *h;

	if (!ct->ext || !(ct->ext->has & CONN_EXT_HELPER) || !(h = ct->ext->helper))
		return NULL;
	if (h->l4num == o->l4num && (!h->l3num || h->l3num == o->l3num))
		return h;	/* the usual case: no lookup */
	/* a master's helper inherited through a userspace expectation of
	 * another protocol: the helper of that name for this entry, if any */
	return ct_helper_find(h->name, o->l3num, o->l4num);
}

const char *ct_helper_name(const struct conn *ct)
{
	if (!ct->ext || !(ct->ext->has & CONN_EXT_HELPER) || !ct->ext->helper)
		return "";
	return ct->ext->helper->name;
}

void *ct_helper_data(struct conn *ct, size_t len)
{
	struct conn_ext *x = conn_ext_add(ct);

	if (!x)
		return NULL;
	if (!x->help)
		x->help = calloc(1, len ? len : 1);
	return x->help;
}

size_t ct_helper_payload(const struct ct_helper_ctx *x, const uint8_t **data)
{
	const struct ct_pkt *p = &x->skb->pkt;
	size_t hdr, dataoff, end = (size_t)p->l4off + p->l4len;

	*data = NULL;
	if (p->l4proto == IPPROTO_TCP)
		hdr = p->tcp_doff;	/* th->doff * 4, checked by ct_pkt_parse() */
	else if (p->l4proto == IPPROTO_UDP)
		hdr = 8;		/* sizeof(struct udphdr) */
	else
		return 0;
	if (p->l4proto == IPPROTO_TCP && hdr < 20)
		return 0;	/* no valid data offset */
	if (end > p->len)
		end = p->len;
	dataoff = (size_t)p->l4off + hdr;
	if (dataoff >= end)
		return 0;	/* no data */
	*data = p->data + dataoff;
	return end - dataoff;
}

/* The first reason of this packet, for traces. */
static void note(struct ct_helper_ctx *x, const char *why)
{
	const struct ct_helper *h = ct_helper_of(x->ct);

	if (!x->skb->helper_note[0])
		snprintf(x->skb->helper_note, sizeof(x->skb->helper_note), "%s: %s",
			 h ? h->name : "helper", why);
}

void ct_helper_log(struct ct_helper_ctx *x, const char *why)
{
	struct ct_expect_table *et = ct_expect_table_get(x->core->table);

	if (et) {
		et->helper_errors++;
		et->last_error = why;
	}
	note(x, why);
}

void ct_helper_note(struct ct_helper_ctx *x, const char *why)
{
	note(x, why);
}

void ct_helper_destroy(struct ct_table *t, struct conn *ct)
{
	const struct ct_helper *h = ct_helper_of(ct);

	if (h && h->destroy)
		h->destroy(t, ct);
}

int ct_helper_run(struct ct_core *core, struct ct_skb *skb)
{
	struct conn *ct = skb->ct;
	const struct ct_helper *h;
	struct ct_helper_ctx x;
	uint64_t before;
	int v;

	if (!ct || !(h = ct_helper_of(ct)) || !h->help)
		return CT_ACCEPT;
	/* nf_confirm(): ICMP errors RELATED to the entry go straight on */
	if ((skb->ctinfo == CT_INFO_RELATED || skb->ctinfo == CT_INFO_RELATED_REPLY) &&
	    (skb->pkt.l4proto == IPPROTO_ICMP || skb->pkt.l4proto == IPPROTO_ICMPV6))
		return CT_ACCEPT;
	if (skb->pkt.l4proto != h->l4num || skb->pkt.l4_truncated)
		return CT_ACCEPT;
	x = (struct ct_helper_ctx){
		.core = core, .skb = skb, .ct = ct, .ctinfo = skb->ctinfo,
		.dir = skb->ctinfo >= CT_INFO_ESTABLISHED_REPLY ? CT_DIR_REPLY : CT_DIR_ORIG,
	};
	before = core->table->stats.exp.create;
	v = h->help(&x);
	/* for traces: what came of it (the kernel has no such thing; its
	 * nf_ct_helper_log() messages go to the kernel log when enabled) */
	if (v == CT_DROP) {
		size_t n = strlen(skb->helper_note);

		skb->helper_dropped = true;
		snprintf(skb->helper_note + n, sizeof(skb->helper_note) - n, "%s%s",
			 n ? "" : h->name, n ? " (packet dropped)" : ": packet dropped");
	} else if (core->table->stats.exp.create > before && !skb->helper_note[0]) {
		uint64_t n = core->table->stats.exp.create - before;

		snprintf(skb->helper_note, sizeof(skb->helper_note), "%s: %llu new expectation%s",
			 h->name, (unsigned long long)n, n == 1 ? "" : "s");
	}
	return v;
}
