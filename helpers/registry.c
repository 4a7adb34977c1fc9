/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * registry.c — the registered helpers and how the pipeline calls them
 * (nf_conntrack_helper.c: __nf_conntrack_helper_find(), and the helper
 * call in nf_confirm()). Adding a helper: write helpers/foo.c with a
 * `const struct ct_helper ct_helper_foo`, declare it in ctsim/core/helper.h,
 * add a row below and its file to helpers/meson.build.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctsim/core/expect.h"
#include "ctsim/core/helper.h"

static const struct ct_helper *const helpers[] = {
	&ct_helper_ftp,
	&ct_helper_tftp,
	&ct_helper_irc,
	&ct_helper_pptp,
	&ct_helper_sip,
	&ct_helper_sip_tcp,	/* "sip" over TCP: the same name, found by l4 protocol */
	&ct_helper_amanda,
	&ct_helper_sane,
	&ct_helper_netbios_ns,
	&ct_helper_snmp,
};

const struct ct_helper *ct_helper_find(const char *name, uint8_t l3num, uint8_t l4num)
{
	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (helpers[i]->l4num == l4num && !strcmp(helpers[i]->name, name) &&
		    (!l3num || !helpers[i]->l3num || helpers[i]->l3num == l3num))
			return helpers[i];
	return NULL;
}

const struct ct_helper *ct_helper_at(size_t i)
{
	return i < sizeof(helpers) / sizeof(helpers[0]) ? helpers[i] : NULL;
}

const struct ct_helper *ct_helper_of(const struct conn *ct)
{
	if (!ct->ext || !(ct->ext->has & CONN_EXT_HELPER) || !ct->ext->helper[0])
		return NULL;
	return ct_helper_find(ct->ext->helper, ct->th[CT_DIR_ORIG].tuple.l3num,
			      ct->th[CT_DIR_ORIG].tuple.l4num);
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

void ct_helper_log(struct ct_helper_ctx *x, const char *why)
{
	struct ct_expect_table *et = ct_expect_table_get(x->core->table);
	const struct ct_helper *h = ct_helper_of(x->ct);

	if (et) {
		et->helper_errors++;
		et->last_error = why;
	}
	/* for traces: the first reason of this packet */
	if (!x->skb->helper_note[0])
		snprintf(x->skb->helper_note, sizeof(x->skb->helper_note), "%s: %s",
			 h ? h->name : "helper", why);
}

/* nf_ct_helper_destroy() */
void ct_helper_destroy(struct ct_table *t, struct conn *ct)
{
	const struct ct_helper *h = ct_helper_of(ct);

	if (h && h->destroy)
		h->destroy(t, ct);
}

void ct_helper_note(struct ct_helper_ctx *x, const char *why)
{
	const struct ct_helper *h = ct_helper_of(x->ct);

	if (!x->skb->helper_note[0])
		snprintf(x->skb->helper_note, sizeof(x->skb->helper_note), "%s: %s",
			 h ? h->name : "helper", why);
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
