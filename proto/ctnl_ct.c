/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctnl_ct.c — conntrack objects: decode any CT_NEW/CT_GET/CT_DELETE
 * message (requests from clients, dump objects and events from the kernel)
 * into struct ctnl_ct, and encode it back in one of three attribute orders:
 *
 *   DUMP    ctnetlink_fill_info()
 *   EVENT   ctnetlink_conntrack_event()
 *   REQUEST nfct_nlmsg_build() of libnetfilter_conntrack (what conntrack -I
 *           sends), so that ctctl's requests look like conntrack's.
 *
 * Decoding follows the kernel's nla policies (ct_nla_policy and friends):
 * unknown attributes are skipped, a fixed-size attribute that is too short
 * is -ERANGE, a broken structure is -EINVAL.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>

#include "proto/ctnl.h"
#include "proto/ctnl_attr.h"



/* ---------------------------------------------------------------------- */
/* Decoding helpers                                                        */

/* Where decoding failed, reported as an offset from the message header. */
struct perr {
	const struct nlmsghdr *nlh;
	int *bad_off;
};

static int fail(const struct perr *pe, const void *at, int err)
{
	if (pe->bad_off && at)
		*pe->bad_off = (int)((const char *)at - (const char *)pe->nlh);
	return err;
}


/* Parse a nest into tb, reporting the broken inner attribute. */
static int nest_table(const struct perr *pe, const struct nlattr *nest,
		      const struct nlattr **tb, unsigned max)
{
	const struct nlattr *bad = NULL;

	if (attr_table(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest),
		       tb, max, &bad) < 0)
		return fail(pe, bad, -EINVAL);
	return 0;
}

/*
 * validate_nla(): minimum payload sizes. minlen[type] = 0: no check;
 * NEST: a nest (empty, or at least one attribute header).
 */
#define NEST	0xff
static int check_sizes(const struct perr *pe, const struct nlattr **tb,
		       unsigned max, const uint8_t *minlen)
{
	for (unsigned i = 0; i <= max; i++) {
		uint16_t len;

		if (tb[i] == NULL || minlen[i] == 0)
			continue;
		len = mnl_attr_get_payload_len(tb[i]);
		if (minlen[i] == NEST ? (len != 0 && len < sizeof(struct nlattr))
				      : len < minlen[i])
			return fail(pe, tb[i], -ERANGE);
	}
	return 0;
}

static uint16_t get16(const struct nlattr *a)
{
	uint16_t v;

	memcpy(&v, mnl_attr_get_payload(a), sizeof(v));
	return ntohs(v);
}

static uint32_t get32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, mnl_attr_get_payload(a), sizeof(v));
	return ntohl(v);
}

static uint64_t get64(const struct nlattr *a)
{
	uint64_t v;

	memcpy(&v, mnl_attr_get_payload(a), sizeof(v));
	return be64toh(v);
}

/* NLA_NUL_STRING: a NUL within the payload (EINVAL), fitting @size (ERANGE). */
static int get_str(const struct perr *pe, const struct nlattr *a,
		   char *dst, size_t size)
{
	const char *s = mnl_attr_get_payload(a);
	size_t len = mnl_attr_get_payload_len(a);
	const char *nul = memchr(s, '\0', len);

	if (nul == NULL)
		return fail(pe, a, -EINVAL);
	if ((size_t)(nul - s) >= size)
		return fail(pe, a, -ERANGE);
	memcpy(dst, s, (size_t)(nul - s) + 1);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Decoding nests                                                          */

static int parse_tuple(const struct perr *pe, const struct nlattr *a,
		       uint8_t family, struct ctnl_tuple *t)
{
	int err = ctnl_tuple_parse(a, family, t);

	return err < 0 ? fail(pe, a, err) : 0;
}

/* ctnetlink_parse_protoinfo() and the tcp/sctp nlattr_to_* handlers. */
static int parse_protoinfo(const struct perr *pe, const struct nlattr *nest,
			   struct ctnl_ct *ct)
{
	const struct nlattr *tb[CTA_PROTOINFO_MAX + 1];
	static const uint8_t pol[CTA_PROTOINFO_MAX + 1] = {
		[CTA_PROTOINFO_TCP] = NEST, [CTA_PROTOINFO_DCCP] = NEST,
		[CTA_PROTOINFO_SCTP] = NEST,
	};
	int err;

	if ((err = nest_table(pe, nest, tb, CTA_PROTOINFO_MAX)) < 0 ||
	    (err = check_sizes(pe, tb, CTA_PROTOINFO_MAX, pol)) < 0)
		return err;

	if (tb[CTA_PROTOINFO_TCP]) {
		const struct nlattr *t[CTA_PROTOINFO_TCP_MAX + 1];
		static const uint8_t tpol[CTA_PROTOINFO_TCP_MAX + 1] = {
			[CTA_PROTOINFO_TCP_STATE] = 1,
			[CTA_PROTOINFO_TCP_WSCALE_ORIGINAL] = 1,
			[CTA_PROTOINFO_TCP_WSCALE_REPLY] = 1,
			[CTA_PROTOINFO_TCP_FLAGS_ORIGINAL] = 2,
			[CTA_PROTOINFO_TCP_FLAGS_REPLY] = 2,
		};
		struct ctnl_tcpinfo *ti = &ct->tcp;
		const uint8_t *f;

		if ((err = nest_table(pe, tb[CTA_PROTOINFO_TCP], t,
				      CTA_PROTOINFO_TCP_MAX)) < 0 ||
		    (err = check_sizes(pe, t, CTA_PROTOINFO_TCP_MAX, tpol)) < 0)
			return err;
		ct->protoinfo = CTA_PROTOINFO_TCP;
		for (unsigned i = 1; i <= CTA_PROTOINFO_TCP_MAX; i++)
			if (t[i])
				ti->present |= 1u << i;
		if (t[CTA_PROTOINFO_TCP_STATE])
			ti->state = mnl_attr_get_u8(t[CTA_PROTOINFO_TCP_STATE]);
		if (t[CTA_PROTOINFO_TCP_WSCALE_ORIGINAL])
			ti->wscale_orig = mnl_attr_get_u8(t[CTA_PROTOINFO_TCP_WSCALE_ORIGINAL]);
		if (t[CTA_PROTOINFO_TCP_WSCALE_REPLY])
			ti->wscale_reply = mnl_attr_get_u8(t[CTA_PROTOINFO_TCP_WSCALE_REPLY]);
		if (t[CTA_PROTOINFO_TCP_FLAGS_ORIGINAL]) {
			f = mnl_attr_get_payload(t[CTA_PROTOINFO_TCP_FLAGS_ORIGINAL]);
			ti->flags_orig = f[0];
			ti->mask_orig = f[1];
		}
		if (t[CTA_PROTOINFO_TCP_FLAGS_REPLY]) {
			f = mnl_attr_get_payload(t[CTA_PROTOINFO_TCP_FLAGS_REPLY]);
			ti->flags_reply = f[0];
			ti->mask_reply = f[1];
		}
	} else if (tb[CTA_PROTOINFO_SCTP]) {
		const struct nlattr *s[CTA_PROTOINFO_SCTP_MAX + 1];
		static const uint8_t spol[CTA_PROTOINFO_SCTP_MAX + 1] = {
			[CTA_PROTOINFO_SCTP_STATE] = 1,
			[CTA_PROTOINFO_SCTP_VTAG_ORIGINAL] = 4,
			[CTA_PROTOINFO_SCTP_VTAG_REPLY] = 4,
		};
		struct ctnl_sctpinfo *si = &ct->sctp;

		if ((err = nest_table(pe, tb[CTA_PROTOINFO_SCTP], s,
				      CTA_PROTOINFO_SCTP_MAX)) < 0 ||
		    (err = check_sizes(pe, s, CTA_PROTOINFO_SCTP_MAX, spol)) < 0)
			return err;
		ct->protoinfo = CTA_PROTOINFO_SCTP;
		for (unsigned i = 1; i <= CTA_PROTOINFO_SCTP_MAX; i++)
			if (s[i])
				si->present |= 1u << i;
		if (s[CTA_PROTOINFO_SCTP_STATE])
			si->state = mnl_attr_get_u8(s[CTA_PROTOINFO_SCTP_STATE]);
		if (s[CTA_PROTOINFO_SCTP_VTAG_ORIGINAL])
			si->vtag_orig = get32(s[CTA_PROTOINFO_SCTP_VTAG_ORIGINAL]);
		if (s[CTA_PROTOINFO_SCTP_VTAG_REPLY])
			si->vtag_reply = get32(s[CTA_PROTOINFO_SCTP_VTAG_REPLY]);
	} else if (tb[CTA_PROTOINFO_DCCP]) {
		/* kept as a marker only: ctsim does not track DCCP state */
		ct->protoinfo = CTA_PROTOINFO_DCCP;
	}
	return 0;
}

/* ctnetlink_parse_nat_setup() -> nfnetlink_parse_nat(): the NAT range. */
static int parse_nat(const struct perr *pe, const struct nlattr *nest,
		     struct ctnl_nat *nat)
{
	const struct nlattr *tb[CTA_NAT_MAX + 1];
	static const uint8_t pol[CTA_NAT_MAX + 1] = {
		[CTA_NAT_V4_MINIP] = 4, [CTA_NAT_V4_MAXIP] = 4,
		[CTA_NAT_V6_MINIP] = 16, [CTA_NAT_V6_MAXIP] = 16,
		[CTA_NAT_PROTO] = NEST,
	};
	int err;

	if ((err = nest_table(pe, nest, tb, CTA_NAT_MAX)) < 0 ||
	    (err = check_sizes(pe, tb, CTA_NAT_MAX, pol)) < 0)
		return err;
	for (unsigned i = 1; i <= CTA_NAT_MAX; i++)
		if (tb[i])
			nat->present |= 1u << i;
	if (tb[CTA_NAT_V4_MINIP] || tb[CTA_NAT_V4_MAXIP])
		nat->family = AF_INET;
	else if (tb[CTA_NAT_V6_MINIP] || tb[CTA_NAT_V6_MAXIP])
		nat->family = AF_INET6;
	if (tb[CTA_NAT_V4_MINIP])
		memcpy(&nat->min_ip.ip, mnl_attr_get_payload(tb[CTA_NAT_V4_MINIP]), 4);
	if (tb[CTA_NAT_V4_MAXIP])
		memcpy(&nat->max_ip.ip, mnl_attr_get_payload(tb[CTA_NAT_V4_MAXIP]), 4);
	if (tb[CTA_NAT_V6_MINIP])
		memcpy(nat->min_ip.ip6, mnl_attr_get_payload(tb[CTA_NAT_V6_MINIP]), 16);
	if (tb[CTA_NAT_V6_MAXIP])
		memcpy(nat->max_ip.ip6, mnl_attr_get_payload(tb[CTA_NAT_V6_MAXIP]), 16);

	if (tb[CTA_NAT_PROTO]) {
		const struct nlattr *p[CTA_PROTONAT_MAX + 1];
		static const uint8_t ppol[CTA_PROTONAT_MAX + 1] = {
			[CTA_PROTONAT_PORT_MIN] = 2, [CTA_PROTONAT_PORT_MAX] = 2,
		};

		if ((err = nest_table(pe, tb[CTA_NAT_PROTO], p, CTA_PROTONAT_MAX)) < 0 ||
		    (err = check_sizes(pe, p, CTA_PROTONAT_MAX, ppol)) < 0)
			return err;
		if (p[CTA_PROTONAT_PORT_MIN])
			nat->port_min = get16(p[CTA_PROTONAT_PORT_MIN]);
		/* nf_nat_l4proto_nlattr_to_range(): no max means max = min */
		nat->port_max = p[CTA_PROTONAT_PORT_MAX] ?
				get16(p[CTA_PROTONAT_PORT_MAX]) : nat->port_min;
	}
	return 0;
}

static int parse_counters(const struct perr *pe, const struct nlattr *nest,
			  struct ctnl_counters *c)
{
	const struct nlattr *tb[CTA_COUNTERS_MAX + 1];
	static const uint8_t pol[CTA_COUNTERS_MAX + 1] = {
		[CTA_COUNTERS_PACKETS] = 8, [CTA_COUNTERS_BYTES] = 8,
		[CTA_COUNTERS32_PACKETS] = 4, [CTA_COUNTERS32_BYTES] = 4,
	};
	int err;

	if ((err = nest_table(pe, nest, tb, CTA_COUNTERS_MAX)) < 0 ||
	    (err = check_sizes(pe, tb, CTA_COUNTERS_MAX, pol)) < 0)
		return err;
	/* the be32 variants are from kernels before 2.6.27; accept them */
	if (tb[CTA_COUNTERS_PACKETS])
		c->packets = get64(tb[CTA_COUNTERS_PACKETS]);
	else if (tb[CTA_COUNTERS32_PACKETS])
		c->packets = get32(tb[CTA_COUNTERS32_PACKETS]);
	if (tb[CTA_COUNTERS_BYTES])
		c->bytes = get64(tb[CTA_COUNTERS_BYTES]);
	else if (tb[CTA_COUNTERS32_BYTES])
		c->bytes = get32(tb[CTA_COUNTERS32_BYTES]);
	return 0;
}

static int parse_seqadj(const struct perr *pe, const struct nlattr *nest,
			struct ctnl_seqadj *s)
{
	const struct nlattr *tb[CTA_SEQADJ_MAX + 1];
	static const uint8_t pol[CTA_SEQADJ_MAX + 1] = {
		[CTA_SEQADJ_CORRECTION_POS] = 4, [CTA_SEQADJ_OFFSET_BEFORE] = 4,
		[CTA_SEQADJ_OFFSET_AFTER] = 4,
	};
	int err;

	if ((err = nest_table(pe, nest, tb, CTA_SEQADJ_MAX)) < 0 ||
	    (err = check_sizes(pe, tb, CTA_SEQADJ_MAX, pol)) < 0)
		return err;
	if (tb[CTA_SEQADJ_CORRECTION_POS])
		s->correction_pos = get32(tb[CTA_SEQADJ_CORRECTION_POS]);
	if (tb[CTA_SEQADJ_OFFSET_BEFORE])
		s->offset_before = get32(tb[CTA_SEQADJ_OFFSET_BEFORE]);
	if (tb[CTA_SEQADJ_OFFSET_AFTER])
		s->offset_after = get32(tb[CTA_SEQADJ_OFFSET_AFTER]);
	return 0;
}

/* A nest holding one string attribute (CTA_HELP, CTA_SECCTX). */
static int parse_name_nest(const struct perr *pe, const struct nlattr *nest,
			   unsigned name_type, char *dst, size_t size)
{
	const struct nlattr *tb[3];
	int err;

	if ((err = nest_table(pe, nest, tb, 2)) < 0)
		return err;
	if (tb[name_type])
		return get_str(pe, tb[name_type], dst, size);
	return 0;
}

/* CTA_LABELS / _MASK: NLA_BINARY of at most 16 bytes. Whole u32 words are
 * checked where the labels are applied (ctnetlink_attach_labels()), whose
 * EINVAL a create ignores: the kernel ACKs a create with 3 bytes of labels. */
static int parse_labels(const struct perr *pe, const struct nlattr *a,
			uint8_t *dst, uint8_t *len)
{
	uint16_t n = mnl_attr_get_payload_len(a);

	if (n > 16)
		return fail(pe, a, -ERANGE);
	memcpy(dst, mnl_attr_get_payload(a), n);
	*len = (uint8_t)n;
	return 0;
}

/**
 * ctnl_ct_parse - see ctnl.h.
 * Mirrors ctnetlink's nla_parse with ct_nla_policy, then decodes every
 * attribute it knows (including the ones only the kernel sends, so that
 * a client can read dumps and events).
 */
int ctnl_ct_parse(const struct nlmsghdr *nlh, struct ctnl_ct *ct, int *bad_off)
{
	static const uint8_t pol[CTNL_CTA_MAX + 1] = {
		[CTA_TUPLE_ORIG] = NEST, [CTA_TUPLE_REPLY] = NEST,
		[CTA_STATUS] = 4, [CTA_PROTOINFO] = NEST, [CTA_HELP] = NEST,
		[CTA_NAT_SRC] = NEST, [CTA_TIMEOUT] = 4, [CTA_MARK] = 4,
		[CTA_COUNTERS_ORIG] = NEST, [CTA_COUNTERS_REPLY] = NEST,
		[CTA_USE] = 4, [CTA_ID] = 4, [CTA_NAT_DST] = NEST,
		[CTA_TUPLE_MASTER] = NEST, [CTA_SEQ_ADJ_ORIG] = NEST,
		[CTA_SEQ_ADJ_REPLY] = NEST, [CTA_SECMARK] = 4, [CTA_ZONE] = 2,
		[CTA_SECCTX] = NEST, [CTA_TIMESTAMP] = NEST, [CTA_MARK_MASK] = 4,
		[CTA_SYNPROXY] = NEST, [CTA_FILTER] = NEST, [CTA_STATUS_MASK] = 4,
		[CTNL_CTA_TIMESTAMP_EVENT] = 8,
	};
	const struct nlattr *tb[CTNL_CTA_MAX + 1];
	const struct nlattr *bad = NULL;
	struct perr pe = { nlh, bad_off };
	const struct nfgenmsg *nfg;
	uint8_t fam;
	int err;

	memset(ct, 0, sizeof(*ct));
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*nfg))
		return fail(&pe, nlh, -EINVAL);
	nfg = mnl_nlmsg_get_payload(nlh);
	ct->family = fam = nfg->nfgen_family;
	ct->version = nfg->version;
	ct->res_id = ntohs(nfg->res_id);

	if (attr_table(mnl_nlmsg_get_payload_offset(nlh, sizeof(*nfg)),
		       nlh->nlmsg_len - MNL_NLMSG_HDRLEN - MNL_ALIGN(sizeof(*nfg)),
		       tb, CTNL_CTA_MAX, &bad) < 0)
		return fail(&pe, bad, -EINVAL);
	if ((err = check_sizes(&pe, tb, CTNL_CTA_MAX, pol)) < 0)
		return err;
	for (unsigned i = 1; i <= CTNL_CTA_MAX; i++)
		if (tb[i])
			ct->present |= CTNL_HAS(i);

	if (tb[CTA_TUPLE_ORIG] &&
	    (err = parse_tuple(&pe, tb[CTA_TUPLE_ORIG], fam, &ct->orig)) < 0)
		return err;
	if (tb[CTA_TUPLE_REPLY] &&
	    (err = parse_tuple(&pe, tb[CTA_TUPLE_REPLY], fam, &ct->reply)) < 0)
		return err;
	if (tb[CTA_TUPLE_MASTER] &&
	    (err = parse_tuple(&pe, tb[CTA_TUPLE_MASTER], fam, &ct->master)) < 0)
		return err;
	if (tb[CTA_STATUS])
		ct->status = get32(tb[CTA_STATUS]);
	if (tb[CTA_STATUS_MASK])
		ct->status_mask = get32(tb[CTA_STATUS_MASK]);
	if (tb[CTA_TIMEOUT])
		ct->timeout = get32(tb[CTA_TIMEOUT]);
	if (tb[CTA_MARK])
		ct->mark = get32(tb[CTA_MARK]);
	if (tb[CTA_MARK_MASK])
		ct->mark_mask = get32(tb[CTA_MARK_MASK]);
	if (tb[CTA_ZONE])
		ct->zone = get16(tb[CTA_ZONE]);
	if (tb[CTA_ID])
		ct->id = get32(tb[CTA_ID]);
	if (tb[CTA_USE])
		ct->use = get32(tb[CTA_USE]);
	if (tb[CTA_SECMARK])
		ct->secmark = get32(tb[CTA_SECMARK]);
	if (tb[CTNL_CTA_TIMESTAMP_EVENT])
		ct->ts_event = get64(tb[CTNL_CTA_TIMESTAMP_EVENT]);

	if (tb[CTA_PROTOINFO] &&
	    (err = parse_protoinfo(&pe, tb[CTA_PROTOINFO], ct)) < 0)
		return err;
	if (tb[CTA_NAT_SRC] && (err = parse_nat(&pe, tb[CTA_NAT_SRC], &ct->nat_src)) < 0)
		return err;
	if (tb[CTA_NAT_DST] && (err = parse_nat(&pe, tb[CTA_NAT_DST], &ct->nat_dst)) < 0)
		return err;
	if (tb[CTA_COUNTERS_ORIG] &&
	    (err = parse_counters(&pe, tb[CTA_COUNTERS_ORIG], &ct->counters[0])) < 0)
		return err;
	if (tb[CTA_COUNTERS_REPLY] &&
	    (err = parse_counters(&pe, tb[CTA_COUNTERS_REPLY], &ct->counters[1])) < 0)
		return err;
	if (tb[CTA_SEQ_ADJ_ORIG] &&
	    (err = parse_seqadj(&pe, tb[CTA_SEQ_ADJ_ORIG], &ct->seqadj[0])) < 0)
		return err;
	if (tb[CTA_SEQ_ADJ_REPLY] &&
	    (err = parse_seqadj(&pe, tb[CTA_SEQ_ADJ_REPLY], &ct->seqadj[1])) < 0)
		return err;
	if (tb[CTA_HELP] &&
	    (err = parse_name_nest(&pe, tb[CTA_HELP], CTA_HELP_NAME,
				   ct->helper, sizeof(ct->helper))) < 0)
		return err;
	if (tb[CTA_SECCTX] &&
	    (err = parse_name_nest(&pe, tb[CTA_SECCTX], CTA_SECCTX_NAME,
				   ct->secctx, sizeof(ct->secctx))) < 0)
		return err;
	if (tb[CTA_LABELS] &&
	    (err = parse_labels(&pe, tb[CTA_LABELS], ct->labels, &ct->labels_len)) < 0)
		return err;
	if (tb[CTA_LABELS_MASK] &&
	    (err = parse_labels(&pe, tb[CTA_LABELS_MASK], ct->labels_mask,
				&ct->labels_mask_len)) < 0)
		return err;

	if (tb[CTA_TIMESTAMP]) {
		const struct nlattr *t[CTA_TIMESTAMP_MAX + 1];
		static const uint8_t tpol[CTA_TIMESTAMP_MAX + 1] = {
			[CTA_TIMESTAMP_START] = 8, [CTA_TIMESTAMP_STOP] = 8,
		};

		if ((err = nest_table(&pe, tb[CTA_TIMESTAMP], t, CTA_TIMESTAMP_MAX)) < 0 ||
		    (err = check_sizes(&pe, t, CTA_TIMESTAMP_MAX, tpol)) < 0)
			return err;
		if (t[CTA_TIMESTAMP_START]) {
			ct->ts_present |= 1u << CTA_TIMESTAMP_START;
			ct->ts_start = get64(t[CTA_TIMESTAMP_START]);
		}
		if (t[CTA_TIMESTAMP_STOP]) {
			ct->ts_present |= 1u << CTA_TIMESTAMP_STOP;
			ct->ts_stop = get64(t[CTA_TIMESTAMP_STOP]);
		}
	}
	if (tb[CTA_SYNPROXY]) {
		const struct nlattr *s[CTA_SYNPROXY_MAX + 1];
		static const uint8_t spol[CTA_SYNPROXY_MAX + 1] = {
			[CTA_SYNPROXY_ISN] = 4, [CTA_SYNPROXY_ITS] = 4,
			[CTA_SYNPROXY_TSOFF] = 4,
		};

		if ((err = nest_table(&pe, tb[CTA_SYNPROXY], s, CTA_SYNPROXY_MAX)) < 0 ||
		    (err = check_sizes(&pe, s, CTA_SYNPROXY_MAX, spol)) < 0)
			return err;
		for (unsigned i = 1; i <= CTA_SYNPROXY_MAX; i++)
			if (s[i])
				ct->synproxy_present |= 1u << i;
		if (s[CTA_SYNPROXY_ISN])
			ct->synproxy_isn = get32(s[CTA_SYNPROXY_ISN]);
		if (s[CTA_SYNPROXY_ITS])
			ct->synproxy_its = get32(s[CTA_SYNPROXY_ITS]);
		if (s[CTA_SYNPROXY_TSOFF])
			ct->synproxy_tsoff = get32(s[CTA_SYNPROXY_TSOFF]);
	}
	if (tb[CTA_FILTER]) {
		const struct nlattr *f[CTA_FILTER_MAX + 1];
		static const uint8_t fpol[CTA_FILTER_MAX + 1] = {
			[CTA_FILTER_ORIG_FLAGS] = 4, [CTA_FILTER_REPLY_FLAGS] = 4,
		};

		if ((err = nest_table(&pe, tb[CTA_FILTER], f, CTA_FILTER_MAX)) < 0 ||
		    (err = check_sizes(&pe, f, CTA_FILTER_MAX, fpol)) < 0)
			return err;
		/* the only host-order integers of ctnetlink */
		if (f[CTA_FILTER_ORIG_FLAGS])
			ct->filter_orig = mnl_attr_get_u32(f[CTA_FILTER_ORIG_FLAGS]);
		if (f[CTA_FILTER_REPLY_FLAGS])
			ct->filter_reply = mnl_attr_get_u32(f[CTA_FILTER_REPLY_FLAGS]);
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Encoding                                                                */

/*
 * Attribute orders. Attributes a layout does not list are written after
 * the listed ones, in REQUEST order, so that nothing present is dropped.
 */
static const uint16_t order_dump[] = {	/* ctnetlink_fill_info() */
	CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_ZONE,
	CTA_STATUS, CTA_MARK, CTA_SECCTX, CTA_ID, CTA_USE, CTA_TUPLE_MASTER,
	CTA_TIMEOUT, CTA_PROTOINFO,
	/* ctnetlink_dump_extinfo() */
	CTA_COUNTERS_ORIG, CTA_COUNTERS_REPLY, CTA_TIMESTAMP, CTA_HELP,
	CTA_LABELS, CTA_SEQ_ADJ_ORIG, CTA_SEQ_ADJ_REPLY, CTA_SYNPROXY,
};

static const uint16_t order_event[] = {	/* ctnetlink_conntrack_event() */
	CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_ZONE, CTA_ID, CTA_STATUS,
	CTA_TIMEOUT,
	/* destroy events: acct, timestamp, then protoinfo */
	CTA_COUNTERS_ORIG, CTA_COUNTERS_REPLY, CTA_TIMESTAMP,
	CTA_PROTOINFO, CTA_HELP, CTA_SECCTX, CTA_LABELS, CTA_TUPLE_MASTER,
	CTA_SEQ_ADJ_ORIG, CTA_SEQ_ADJ_REPLY, CTA_SYNPROXY,
	CTA_MARK, CTNL_CTA_TIMESTAMP_EVENT,
};

/*
 * nfct_nlmsg_build() (libnetfilter_conntrack 1.0.9), confirmed by captures
 * of conntrack -I/-U/-D/-L: tuples, status, timeout, mark, protoinfo, NAT,
 * helper, zone, labels. Attributes it never sends follow in a sensible place.
 */
static const uint16_t order_request[] = {
	CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_TUPLE_MASTER,
	CTA_STATUS, CTA_STATUS_MASK, CTA_TIMEOUT, CTA_MARK, CTA_MARK_MASK,
	CTA_SECMARK, CTA_PROTOINFO, CTA_NAT_SRC, CTA_NAT_DST,
	CTA_SEQ_ADJ_ORIG, CTA_SEQ_ADJ_REPLY, CTA_HELP, CTA_ZONE,
	CTA_LABELS, CTA_LABELS_MASK, CTA_SYNPROXY, CTA_ID, CTA_FILTER,
	CTA_USE, CTA_COUNTERS_ORIG, CTA_COUNTERS_REPLY, CTA_TIMESTAMP,
	CTA_SECCTX, CTNL_CTA_TIMESTAMP_EVENT,
};

static bool put32(struct nlmsghdr *nlh, size_t cap, uint16_t type, uint32_t v)
{
	return put_u32(nlh, cap, type, htonl(v));
}

static bool put64(struct nlmsghdr *nlh, size_t cap, uint16_t type, uint64_t v)
{
	return put_u64(nlh, cap, type, htobe64(v));
}

/* In ctnl_tuple.c: ctnl_tuple_put() with libnetfilter_conntrack's ICMP order. */
int ctnl_tuple_put_layout(struct nlmsghdr *nlh, size_t cap, uint16_t type,
			  const struct ctnl_tuple *tuple, enum ctnl_layout layout);

static bool put_tuple(struct nlmsghdr *nlh, size_t cap, uint16_t type,
		      const struct ctnl_tuple *t, enum ctnl_layout layout)
{
	return ctnl_tuple_put_layout(nlh, cap, type, t, layout) == 0;
}

/* ctnetlink_dump_protoinfo() -> tcp_to_nlattr() / sctp_to_nlattr() */
static bool put_protoinfo(struct nlmsghdr *nlh, size_t cap, const struct ctnl_ct *ct)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, cap, CTA_PROTOINFO);
	struct nlattr *sub;

	if (nest == NULL)
		return false;
	if (ct->protoinfo == CTA_PROTOINFO_TCP) {
		const struct ctnl_tcpinfo *t = &ct->tcp;
		uint8_t fo[2] = { t->flags_orig, t->mask_orig };
		uint8_t fr[2] = { t->flags_reply, t->mask_reply };

		if (!(sub = mnl_attr_nest_start_check(nlh, cap, CTA_PROTOINFO_TCP)))
			return false;
		if ((t->present & (1u << CTA_PROTOINFO_TCP_STATE)) &&
		    !put_u8(nlh, cap, CTA_PROTOINFO_TCP_STATE, t->state))
			return false;
		if ((t->present & (1u << CTA_PROTOINFO_TCP_WSCALE_ORIGINAL)) &&
		    !put_u8(nlh, cap, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL,
					   t->wscale_orig))
			return false;
		if ((t->present & (1u << CTA_PROTOINFO_TCP_WSCALE_REPLY)) &&
		    !put_u8(nlh, cap, CTA_PROTOINFO_TCP_WSCALE_REPLY,
					   t->wscale_reply))
			return false;
		if ((t->present & (1u << CTA_PROTOINFO_TCP_FLAGS_ORIGINAL)) &&
		    !put(nlh, cap, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL,
					sizeof(fo), fo))
			return false;
		if ((t->present & (1u << CTA_PROTOINFO_TCP_FLAGS_REPLY)) &&
		    !put(nlh, cap, CTA_PROTOINFO_TCP_FLAGS_REPLY,
					sizeof(fr), fr))
			return false;
		mnl_attr_nest_end(nlh, sub);
	} else if (ct->protoinfo == CTA_PROTOINFO_SCTP) {
		const struct ctnl_sctpinfo *s = &ct->sctp;

		if (!(sub = mnl_attr_nest_start_check(nlh, cap, CTA_PROTOINFO_SCTP)))
			return false;
		if ((s->present & (1u << CTA_PROTOINFO_SCTP_STATE)) &&
		    !put_u8(nlh, cap, CTA_PROTOINFO_SCTP_STATE, s->state))
			return false;
		if ((s->present & (1u << CTA_PROTOINFO_SCTP_VTAG_ORIGINAL)) &&
		    !put32(nlh, cap, CTA_PROTOINFO_SCTP_VTAG_ORIGINAL, s->vtag_orig))
			return false;
		if ((s->present & (1u << CTA_PROTOINFO_SCTP_VTAG_REPLY)) &&
		    !put32(nlh, cap, CTA_PROTOINFO_SCTP_VTAG_REPLY, s->vtag_reply))
			return false;
		mnl_attr_nest_end(nlh, sub);
	} else if (ct->protoinfo == CTA_PROTOINFO_DCCP) {
		if (!(sub = mnl_attr_nest_start_check(nlh, cap, CTA_PROTOINFO_DCCP)))
			return false;
		mnl_attr_nest_end(nlh, sub);
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/* nfct_build_nat(): addresses, then the port range nest. */
static bool put_nat(struct nlmsghdr *nlh, size_t cap, uint16_t type,
		    const struct ctnl_nat *n)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, cap, type);
	struct nlattr *proto;

	if (nest == NULL)
		return false;
	if ((n->present & (1u << CTA_NAT_V4_MINIP)) &&
	    !put(nlh, cap, CTA_NAT_V4_MINIP, 4, &n->min_ip.ip))
		return false;
	if ((n->present & (1u << CTA_NAT_V4_MAXIP)) &&
	    !put(nlh, cap, CTA_NAT_V4_MAXIP, 4, &n->max_ip.ip))
		return false;
	if ((n->present & (1u << CTA_NAT_V6_MINIP)) &&
	    !put(nlh, cap, CTA_NAT_V6_MINIP, 16, n->min_ip.ip6))
		return false;
	if ((n->present & (1u << CTA_NAT_V6_MAXIP)) &&
	    !put(nlh, cap, CTA_NAT_V6_MAXIP, 16, n->max_ip.ip6))
		return false;
	if (n->present & (1u << CTA_NAT_PROTO)) {
		if (!(proto = mnl_attr_nest_start_check(nlh, cap, CTA_NAT_PROTO)) ||
		    !put_u16(nlh, cap, CTA_PROTONAT_PORT_MIN,
					    htons(n->port_min)) ||
		    !put_u16(nlh, cap, CTA_PROTONAT_PORT_MAX,
					    htons(n->port_max)))
			return false;
		mnl_attr_nest_end(nlh, proto);
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/* ctnetlink_dump_acct() -> dump_counters() */
static bool put_counters(struct nlmsghdr *nlh, size_t cap, uint16_t type,
			 const struct ctnl_counters *c)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, cap, type);

	if (nest == NULL ||
	    !put64(nlh, cap, CTA_COUNTERS_PACKETS, c->packets) ||
	    !put64(nlh, cap, CTA_COUNTERS_BYTES, c->bytes))
		return false;
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/* dump_ct_seq_adj() */
static bool put_seqadj(struct nlmsghdr *nlh, size_t cap, uint16_t type,
		       const struct ctnl_seqadj *s)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, cap, type);

	if (nest == NULL ||
	    !put32(nlh, cap, CTA_SEQADJ_CORRECTION_POS, s->correction_pos) ||
	    !put32(nlh, cap, CTA_SEQADJ_OFFSET_BEFORE, s->offset_before) ||
	    !put32(nlh, cap, CTA_SEQADJ_OFFSET_AFTER, s->offset_after))
		return false;
	mnl_attr_nest_end(nlh, nest);
	return true;
}

static bool put_name_nest(struct nlmsghdr *nlh, size_t cap, uint16_t type,
			  uint16_t name_type, const char *name)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, cap, type);

	if (nest == NULL || !put_strz(nlh, cap, name_type, name))
		return false;
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/* One top-level attribute. */
static bool put_attr(struct nlmsghdr *nlh, size_t cap, const struct ctnl_ct *ct,
		     uint16_t type, enum ctnl_layout layout)
{
	struct nlattr *nest;

	switch (type) {
	case CTA_TUPLE_ORIG:	return put_tuple(nlh, cap, type, &ct->orig, layout);
	case CTA_TUPLE_REPLY:	return put_tuple(nlh, cap, type, &ct->reply, layout);
	case CTA_TUPLE_MASTER:	return put_tuple(nlh, cap, type, &ct->master, layout);
	case CTA_STATUS:	return put32(nlh, cap, type, ct->status);
	case CTA_STATUS_MASK:	return put32(nlh, cap, type, ct->status_mask);
	case CTA_TIMEOUT:	return put32(nlh, cap, type, ct->timeout);
	case CTA_MARK:		return put32(nlh, cap, type, ct->mark);
	case CTA_MARK_MASK:	return put32(nlh, cap, type, ct->mark_mask);
	case CTA_ID:		return put32(nlh, cap, type, ct->id);
	case CTA_USE:		return put32(nlh, cap, type, ct->use);
	case CTA_SECMARK:	return put32(nlh, cap, type, ct->secmark);
	case CTA_ZONE:
		return put_u16(nlh, cap, type, htons(ct->zone));
	case CTA_PROTOINFO:	return put_protoinfo(nlh, cap, ct);
	case CTA_NAT_SRC:	return put_nat(nlh, cap, type, &ct->nat_src);
	case CTA_NAT_DST:	return put_nat(nlh, cap, type, &ct->nat_dst);
	case CTA_COUNTERS_ORIG:	return put_counters(nlh, cap, type, &ct->counters[0]);
	case CTA_COUNTERS_REPLY: return put_counters(nlh, cap, type, &ct->counters[1]);
	case CTA_SEQ_ADJ_ORIG:	return put_seqadj(nlh, cap, type, &ct->seqadj[0]);
	case CTA_SEQ_ADJ_REPLY:	return put_seqadj(nlh, cap, type, &ct->seqadj[1]);
	case CTA_HELP:
		return put_name_nest(nlh, cap, type, CTA_HELP_NAME, ct->helper);
	case CTA_SECCTX:
		return put_name_nest(nlh, cap, type, CTA_SECCTX_NAME, ct->secctx);
	case CTA_LABELS:
		return put(nlh, cap, type, ct->labels_len, ct->labels);
	case CTA_LABELS_MASK:
		return put(nlh, cap, type, ct->labels_mask_len,
					  ct->labels_mask);
	case CTNL_CTA_TIMESTAMP_EVENT:
		return put64(nlh, cap, type, ct->ts_event);
	case CTA_TIMESTAMP:	/* ctnetlink_dump_timestamp(): stop only once stopped */
		if (!(nest = mnl_attr_nest_start_check(nlh, cap, type)))
			return false;
		if ((ct->ts_present & (1u << CTA_TIMESTAMP_START)) &&
		    !put64(nlh, cap, CTA_TIMESTAMP_START, ct->ts_start))
			return false;
		if ((ct->ts_present & (1u << CTA_TIMESTAMP_STOP)) &&
		    !put64(nlh, cap, CTA_TIMESTAMP_STOP, ct->ts_stop))
			return false;
		break;
	case CTA_SYNPROXY:
		if (!(nest = mnl_attr_nest_start_check(nlh, cap, type)))
			return false;
		if ((ct->synproxy_present & (1u << CTA_SYNPROXY_ISN)) &&
		    !put32(nlh, cap, CTA_SYNPROXY_ISN, ct->synproxy_isn))
			return false;
		if ((ct->synproxy_present & (1u << CTA_SYNPROXY_ITS)) &&
		    !put32(nlh, cap, CTA_SYNPROXY_ITS, ct->synproxy_its))
			return false;
		if ((ct->synproxy_present & (1u << CTA_SYNPROXY_TSOFF)) &&
		    !put32(nlh, cap, CTA_SYNPROXY_TSOFF, ct->synproxy_tsoff))
			return false;
		break;
	case CTA_FILTER:	/* host byte order, as ctnetlink_parse_filter() reads it */
		if (!(nest = mnl_attr_nest_start_check(nlh, cap, type)) ||
		    !put_u32(nlh, cap, CTA_FILTER_ORIG_FLAGS, ct->filter_orig) ||
		    !put_u32(nlh, cap, CTA_FILTER_REPLY_FLAGS, ct->filter_reply))
			return false;
		break;
	default:
		return true;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/**
 * ctnl_ct_put - see ctnl.h.
 * Writes the attributes whose CTNL_HAS() bit is set, in @layout's order;
 * CTA_PROTOINFO writes the TCP or SCTP sub-nest chosen by ct->protoinfo
 * with the fields of ct->tcp.present / ct->sctp.present.
 */
int ctnl_ct_put(struct nlmsghdr *nlh, size_t cap, const struct ctnl_ct *ct,
		enum ctnl_layout layout)
{
	const uint16_t *order;
	size_t n;
	uint64_t done = 0;
	uint32_t saved = nlh->nlmsg_len;

	switch (layout) {
	case CTNL_LAYOUT_DUMP:
		order = order_dump, n = ARRAY_SIZE(order_dump);
		break;
	case CTNL_LAYOUT_EVENT:
		order = order_event, n = ARRAY_SIZE(order_event);
		break;
	default:
		order = order_request, n = ARRAY_SIZE(order_request);
		break;
	}

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			uint16_t type = order[i];

			if (!(ct->present & CTNL_HAS(type)) || (done & CTNL_HAS(type)))
				continue;
			if (!put_attr(nlh, cap, ct, type, layout)) {
				nlh->nlmsg_len = saved;
				return -EMSGSIZE;
			}
			done |= CTNL_HAS(type);
		}
		/* second pass: the leftovers, in request order */
		order = order_request, n = ARRAY_SIZE(order_request);
	}
	return 0;
}
