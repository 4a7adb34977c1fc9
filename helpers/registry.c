/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * registry.c — the registered helpers and how the pipeline calls them
 * (nf_conntrack_helper.c: __nf_conntrack_helper_find(), and the helper
 * call in nf_confirm()). Adding a helper: write helpers/foo.c with a
 * `const struct ct_helper ct_helper_foo`, declare it in ctsim/helper.h,
 * add a row below and its file to helpers/meson.build.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "ctsim/expect.h"
#include "ctsim/helper.h"

static const struct ct_helper *const helpers[] = {
	&ct_helper_ftp,
	&ct_helper_tftp,
	&ct_helper_irc,
	&ct_helper_sip,
};

const struct ct_helper *ct_helper_find(const char *name, uint8_t l4num)
{
	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (helpers[i]->l4num == l4num && !strcmp(helpers[i]->name, name))
			return helpers[i];
	return NULL;
}

const struct ct_helper *ct_helper_of(const struct conn *ct)
{
	if (!ct->ext || !(ct->ext->has & CONN_EXT_HELPER) || !ct->ext->helper[0])
		return NULL;
	return ct_helper_find(ct->ext->helper, ct->th[CT_DIR_ORIG].tuple.l4num);
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

	if (et) {
		et->helper_errors++;
		et->last_error = why;
	}
}

int ct_helper_run(struct ct_core *core, struct ct_skb *skb)
{
	struct conn *ct = skb->ct;
	const struct ct_helper *h;
	struct ct_helper_ctx x;

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
	return h->help(&x);
}
