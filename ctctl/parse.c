/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * parse.c — ctctl's keyword language: `tcp src A dst B sport N dport N
 * state S timeout N mark N[/M] zone N status BITS ...`.
 *
 * Every keyword is one row of kw_table (name, value type, argument name,
 * help); the parser, `help` and the Tab completion read the same rows.
 * Errors point at the offending word with a caret line, as nft does.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctctl/ctctl.h"

/* How a keyword's value is read. */
enum kw_type {
	T_PROTO,	/* protocol name or number */
	T_ADDR,		/* IPv4 or IPv6 address; sets/checks the family */
	T_U8, T_U16, T_U32,
	T_STATE,	/* TCP or SCTP state name */
	T_MARK,		/* N or N/M */
	T_STATUS,	/* comma-separated status bit names, or a number */
	T_FAMILY,	/* ipv4 | ipv6 */
};

struct kw_row {
	const char *name;
	enum ctctl_kw kw;
	enum kw_type type;
	const char *metavar;
	const char *help;
};

/* The keyword table. Aliases are rows of their own (iproute2 style). */
static const struct kw_row kw_table[] = {
	{ "proto",       KW_PROTO,   T_PROTO,  "PROTO",  "layer 4 protocol: tcp, udp, udplite, sctp, dccp, gre, icmp, icmpv6 or a number" },
	{ "src",         KW_SRC,     T_ADDR,   "ADDR",   "original source address" },
	{ "dst",         KW_DST,     T_ADDR,   "ADDR",   "original destination address" },
	{ "sport",       KW_SPORT,   T_U16,    "PORT",   "original source port (GRE: key)" },
	{ "dport",       KW_DPORT,   T_U16,    "PORT",   "original destination port (GRE: key)" },
	{ "reply-src",   KW_RSRC,    T_ADDR,   "ADDR",   "reply source address (default: dst)" },
	{ "reply-dst",   KW_RDST,    T_ADDR,   "ADDR",   "reply destination address (default: src)" },
	{ "reply-sport", KW_RSPORT,  T_U16,    "PORT",   "reply source port (default: dport)" },
	{ "reply-dport", KW_RDPORT,  T_U16,    "PORT",   "reply destination port (default: sport)" },
	{ "type",        KW_TYPE,    T_U8,     "N",      "ICMP type" },
	{ "code",        KW_CODE,    T_U8,     "N",      "ICMP code" },
	{ "icmp-id",     KW_ICMPID,  T_U16,    "N",      "ICMP identifier (also `id` after icmp/icmpv6)" },
	{ "state",       KW_STATE,   T_STATE,  "STATE",  "TCP (or SCTP) state, e.g. ESTABLISHED" },
	{ "timeout",     KW_TIMEOUT, T_U32,    "SECS",   "timeout in seconds" },
	{ "mark",        KW_MARK,    T_MARK,   "N[/M]",  "connection mark, with an optional mask" },
	{ "zone",        KW_ZONE,    T_U16,    "N",      "conntrack zone" },
	{ "status",      KW_STATUS,  T_STATUS, "BITS",   "status bits, e.g. SEEN_REPLY,ASSURED" },
	{ "family",      KW_FAMILY,  T_FAMILY, "FAMILY", "ipv4 or ipv6" },
	{ "id",          KW_ID,      T_U32,    "N",      "conntrack id (after icmp/icmpv6: the ICMP id)" },
};
#define KW_ROWS (sizeof(kw_table) / sizeof(kw_table[0]))

/* Protocols accepted as bare words or after `proto`. */
static const struct { const char *name; uint8_t num; } protos[] = {
	{ "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP }, { "udplite", IPPROTO_UDPLITE },
	{ "sctp", IPPROTO_SCTP }, { "dccp", IPPROTO_DCCP }, { "gre", IPPROTO_GRE },
	{ "icmp", IPPROTO_ICMP }, { "icmpv6", IPPROTO_ICMPV6 },
};
const char *const ctctl_proto_words[] = {
	"tcp", "udp", "udplite", "sctp", "dccp", "gre", "icmp", "icmpv6", NULL
};

static const char *const family_words[] = { "ipv4", "ipv6", NULL };
static const char *const state_words[] = {
	"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT",
	"LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2", NULL
};
static const char *const status_words[] = {
	"EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED", "FIXED_TIMEOUT",
	"OFFLOAD", "UNSET", NULL
};

const char *const *ctctl_kw_values(enum ctctl_kw kw)
{
	switch (kw) {
	case KW_PROTO:	return ctctl_proto_words;
	case KW_FAMILY:	return family_words;
	case KW_STATE:	return state_words;
	case KW_STATUS:	return status_words;
	default:	return NULL;
	}
}

const char *ctctl_kw_name(enum ctctl_kw kw)
{
	for (size_t i = 0; i < KW_ROWS; i++)
		if (kw_table[i].kw == kw)
			return kw_table[i].name;
	return "?";
}

const char *ctctl_kw_help(enum ctctl_kw kw, const char **metavar)
{
	for (size_t i = 0; i < KW_ROWS; i++)
		if (kw_table[i].kw == kw) {
			if (metavar)
				*metavar = kw_table[i].metavar;
			return kw_table[i].help;
		}
	return "";
}

/* ---- errors ---------------------------------------------------------- */

int ctctl_usage_error(const struct ctctl_args *a, int idx, const char *fmt, ...)
{
	va_list ap;
	int col = 0, width = 1;

	fprintf(stderr, "ctctl: ");
	if (a->where)
		fprintf(stderr, "%s: ", a->where);
	if (a->argc > 0)
		fprintf(stderr, "%s: ", a->argv[0]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);

	/* The command line, then ^~~~ under word idx. */
	for (int i = 0; i < a->argc; i++) {
		fprintf(stderr, "%s%s", i ? " " : "", a->argv[i]);
	}
	fputc('\n', stderr);
	for (int i = 0; i < idx && i < a->argc; i++)
		col += (int)strlen(a->argv[i]) + 1;
	if (idx < a->argc)
		width = (int)strlen(a->argv[idx]);
	fprintf(stderr, "%*s^", col, "");
	for (int i = 1; i < width; i++)
		fputc('~', stderr);
	fputc('\n', stderr);
	return CTCTL_USAGE;
}

/* Meaningful words for the errors a ctnetlink request can get. */
static const struct { int err; const char *msg; } err_msgs[] = {
	{ EEXIST,     "entry exists" },
	{ ENOENT,     "no such entry" },
	{ EINVAL,     "invalid parameters" },
	{ EPERM,      "permission denied, CAP_NET_ADMIN is needed" },
	{ EOPNOTSUPP, "operation not supported" },
	{ EBUSY,      "status change not allowed" },
	{ ENOSPC,     "no space for labels" },
	{ ENOMEM,     "not enough memory" },
	{ ETIME,      "entry has expired" },
	{ ERANGE,     "attribute out of range" },
	{ EAFNOSUPPORT, "address family not supported" },
	{ ECONNRESET, "ctsim closed the connection" },
	{ ECONNREFUSED, "ctsim refused the connection (is it running?)" },
};

int ctctl_fail(const struct ctctl_args *a, int err)
{
	const char *msg = NULL, *name = strerrorname_np(err);

	for (size_t i = 0; i < sizeof(err_msgs) / sizeof(err_msgs[0]); i++)
		if (err_msgs[i].err == err)
			msg = err_msgs[i].msg;
	if (!msg)
		msg = strerror(err);
	fprintf(stderr, "ctctl: ");
	if (a && a->where)
		fprintf(stderr, "%s: ", a->where);
	if (a && a->argc > 0)
		fprintf(stderr, "%s: ", a->argv[0]);
	fprintf(stderr, "%s (%s)\n", msg, name ? name : "?");
	return CTCTL_FAIL;
}

/* ---- values ---------------------------------------------------------- */

/* Parse an unsigned number (decimal, 0x hex) no larger than @max. */
static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_proto(const char *s, uint8_t *num)
{
	uint64_t v;

	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (!strcasecmp(s, protos[i].name)) {
			*num = protos[i].num;
			return 0;
		}
	if (parse_uint(s, 255, &v)) {
		*num = (uint8_t)v;
		return 0;
	}
	return -1;
}

static int parse_state(const char *s, uint8_t l4num, uint8_t *state)
{
	if (l4num == IPPROTO_SCTP) {
		for (unsigned i = 0; i < CT_SCTP_MAX; i++)
			if (!strcasecmp(s, ct_sctp_state_name((uint8_t)i))) {
				*state = (uint8_t)i;
				return 0;
			}
		return -1;
	}
	{
		char up[32];
		size_t i;
		int st;

		for (i = 0; s[i] && i + 1 < sizeof(up); i++)
			up[i] = (char)toupper((unsigned char)s[i]);
		up[i] = '\0';
		st = ct_tcp_state_parse(up);	/* also takes LISTEN */
		if (st < 0)
			return -1;
		*state = (uint8_t)st;
		return 0;
	}
	return -1;
}

static int parse_status(const char *s, uint32_t *out)
{
	char buf[256], *tok, *save = NULL;
	uint64_t v;

	if (parse_uint(s, UINT32_MAX, &v)) {
		*out = (uint32_t)v;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	*out = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned bit;

		if (!strcasecmp(tok, "UNSET"))
			continue;
		for (bit = 0; bit < 32; bit++) {
			const char *n = ct_status_bit_name(bit);
			if (n && !strcasecmp(tok, n))
				break;
		}
		if (bit == 32)
			return -1;
		*out |= 1u << bit;
	}
	return 0;
}

static int parse_addr(const char *s, union ct_addr *addr, uint8_t *family)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, s, &addr->ip) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr->b) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

int ctctl_parse_events(const char *s)
{
	char buf[128], *tok, *save = NULL;
	int groups = 0;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcasecmp(tok, "new"))
			groups |= 1 << (NFNLGRP_CONNTRACK_NEW - 1);
		else if (!strcasecmp(tok, "update") || !strcasecmp(tok, "updates"))
			groups |= 1 << (NFNLGRP_CONNTRACK_UPDATE - 1);
		else if (!strcasecmp(tok, "destroy"))
			groups |= 1 << (NFNLGRP_CONNTRACK_DESTROY - 1);
		else if (!strcasecmp(tok, "all"))
			groups |= 7;
		else
			return -1;
	}
	return groups ? groups : -1;
}

/* ---- the parser ------------------------------------------------------ */

static const struct kw_row *kw_lookup(const char *word, const struct ctctl_spec *s)
{
	bool icmp = (s->have & KWB(KW_PROTO)) &&
		    (s->l4num == IPPROTO_ICMP || s->l4num == IPPROTO_ICMPV6);

	/* After icmp/icmpv6, `id` is the ICMP identifier. */
	if (icmp && !strcmp(word, "id"))
		word = "icmp-id";
	for (size_t i = 0; i < KW_ROWS; i++)
		if (!strcmp(word, kw_table[i].name))
			return &kw_table[i];
	return NULL;
}

/* Record the family implied by an address at word @idx; a clash with an
 * earlier address or `family` is a usage error. */
static int set_family(struct ctctl_args *a, struct ctctl_spec *s, uint8_t fam, int idx)
{
	if (s->family && s->family != fam)
		return ctctl_usage_error(a, idx, "%s address does not match the %s family given before",
					 fam == AF_INET ? "IPv4" : "IPv6",
					 s->family == AF_INET ? "IPv4" : "IPv6");
	s->family = fam;
	return CTCTL_OK;
}

int ctctl_parse_spec(struct ctctl_args *a, uint32_t allowed,
		     const char *const *extra, struct ctctl_spec *s)
{
	while (a->i < a->argc) {
		const char *word = a->argv[a->i], *val;
		const struct kw_row *row;
		int kidx = a->i, r;
		uint64_t v;

		if (extra) {
			bool stop = false;
			for (const char *const *w = extra; *w; w++)
				if (!strcmp(word, *w))
					stop = true;
			if (stop)
				return CTCTL_OK;
		}

		/* A protocol name alone: `tcp` means `proto tcp`. */
		if ((allowed & KWB(KW_PROTO)) && !kw_lookup(word, s)) {
			uint8_t num;
			bool named = false;

			for (size_t i = 0; ctctl_proto_words[i]; i++)
				if (!strcasecmp(word, ctctl_proto_words[i]))
					named = true;
			if (named && parse_proto(word, &num) == 0) {
				if (s->have & KWB(KW_PROTO))
					return ctctl_usage_error(a, kidx, "protocol given twice");
				s->have |= KWB(KW_PROTO);
				s->at[KW_PROTO] = kidx;
				s->l4num = num;
				a->i++;
				continue;
			}
		}

		row = kw_lookup(word, s);
		if (!row || !(allowed & KWB(row->kw)))
			return ctctl_usage_error(a, kidx, "unexpected word \"%s\", try \"ctctl help %s\"",
						 word, a->argv[0]);
		if (s->have & KWB(row->kw))
			return ctctl_usage_error(a, kidx, "\"%s\" given twice", word);
		if (a->i + 1 >= a->argc)
			return ctctl_usage_error(a, a->argc, "\"%s\" needs an argument (%s)",
						 word, row->metavar);
		val = a->argv[++a->i];
		s->have |= KWB(row->kw);
		s->at[row->kw] = a->i;

		switch (row->type) {
		case T_PROTO:
			if (parse_proto(val, &s->l4num))
				return ctctl_usage_error(a, a->i, "unknown protocol \"%s\"", val);
			break;
		case T_ADDR: {
			union ct_addr *dst = row->kw == KW_SRC ? &s->src :
					     row->kw == KW_DST ? &s->dst :
					     row->kw == KW_RSRC ? &s->rsrc : &s->rdst;
			uint8_t fam;

			if (parse_addr(val, dst, &fam))
				return ctctl_usage_error(a, a->i, "invalid address \"%s\"", val);
			if ((r = set_family(a, s, fam, a->i)) != CTCTL_OK)
				return r;
			break;
		}
		case T_U8: case T_U16: case T_U32: {
			uint64_t max = row->type == T_U8 ? 0xff : row->type == T_U16 ? 0xffff : 0xffffffffu;

			if (!parse_uint(val, max, &v))
				return ctctl_usage_error(a, a->i, "invalid %s \"%s\" (0..%llu)",
							 row->name, val, (unsigned long long)max);
			switch (row->kw) {
			case KW_SPORT:   s->sport = (uint16_t)v; break;
			case KW_DPORT:   s->dport = (uint16_t)v; break;
			case KW_RSPORT:  s->rsport = (uint16_t)v; break;
			case KW_RDPORT:  s->rdport = (uint16_t)v; break;
			case KW_TYPE:    s->icmp_type = (uint8_t)v; break;
			case KW_CODE:    s->icmp_code = (uint8_t)v; break;
			case KW_ICMPID:  s->icmp_id = (uint16_t)v; break;
			case KW_TIMEOUT: s->timeout = (uint32_t)v; break;
			case KW_ZONE:    s->zone = (uint16_t)v; break;
			case KW_ID:      s->id = (uint32_t)v; break;
			default: break;
			}
			break;
		}
		case T_STATE:
			if (parse_state(val, s->l4num, &s->state))
				return ctctl_usage_error(a, a->i, "unknown state \"%s\"", val);
			break;
		case T_MARK: {
			char buf[64], *slash;
			uint64_t m = 0xffffffffu;

			snprintf(buf, sizeof(buf), "%s", val);
			slash = strchr(buf, '/');
			if (slash)
				*slash++ = '\0';
			if (!parse_uint(buf, 0xffffffffu, &v) ||
			    (slash && !parse_uint(slash, 0xffffffffu, &m)))
				return ctctl_usage_error(a, a->i, "invalid mark \"%s\" (N or N/MASK)", val);
			s->mark = (uint32_t)v;
			s->mark_mask = (uint32_t)m;
			break;
		}
		case T_STATUS:
			if (parse_status(val, &s->status))
				return ctctl_usage_error(a, a->i, "invalid status \"%s\" (e.g. SEEN_REPLY,ASSURED)", val);
			break;
		case T_FAMILY:
			if (!strcasecmp(val, "ipv4") || !strcasecmp(val, "inet"))
				r = set_family(a, s, AF_INET, a->i);
			else if (!strcasecmp(val, "ipv6") || !strcasecmp(val, "inet6"))
				r = set_family(a, s, AF_INET6, a->i);
			else
				return ctctl_usage_error(a, a->i, "unknown family \"%s\" (ipv4 or ipv6)", val);
			if (r != CTCTL_OK)
				return r;
			break;
		}
		a->i++;
	}
	return CTCTL_OK;
}

static bool has_ports(uint8_t l4num)
{
	return l4num == IPPROTO_TCP || l4num == IPPROTO_UDP || l4num == IPPROTO_UDPLITE ||
	       l4num == IPPROTO_SCTP || l4num == IPPROTO_DCCP || l4num == IPPROTO_GRE;
}

bool ctctl_spec_tuple(struct ctctl_args *a, const struct ctctl_spec *s,
		      bool reply, struct ctnl_tuple *out)
{
	struct ct_tuple orig = { 0 }, inv;
	bool icmp = s->l4num == IPPROTO_ICMP || s->l4num == IPPROTO_ICMPV6;
	static const enum ctctl_kw need_ports[] = { KW_SPORT, KW_DPORT };
	static const enum ctctl_kw need_icmp[] = { KW_TYPE, KW_CODE, KW_ICMPID };

	memset(out, 0, sizeof(*out));
	if (!(s->have & KWB(KW_PROTO))) {
		ctctl_usage_error(a, a->argc > 1 ? 1 : a->argc,
				  "a protocol is needed (tcp, udp, icmp, ... or proto N)");
		return false;
	}
	if (!(s->have & KWB(KW_SRC)) || !(s->have & KWB(KW_DST))) {
		ctctl_usage_error(a, a->argc, "both \"src\" and \"dst\" are needed");
		return false;
	}
	if (has_ports(s->l4num))
		for (size_t i = 0; i < 2; i++)
			if (!(s->have & KWB(need_ports[i]))) {
				ctctl_usage_error(a, a->argc, "\"%s\" is needed for %s",
						  ctctl_kw_name(need_ports[i]), ct_l4proto_name(s->l4num));
				return false;
			}
	if (icmp)
		for (size_t i = 0; i < 3; i++)
			if (!(s->have & KWB(need_icmp[i]))) {
				ctctl_usage_error(a, a->argc, "\"%s\" is needed for %s",
						  i == 2 ? "id" : ctctl_kw_name(need_icmp[i]),
						  ct_l4proto_name(s->l4num));
				return false;
			}
	if (icmp && (s->l4num == IPPROTO_ICMP) != (s->family == AF_INET)) {
		ctctl_usage_error(a, s->at[KW_PROTO], "%s does not go with %s addresses",
				  ct_l4proto_name(s->l4num), s->family == AF_INET ? "IPv4" : "IPv6");
		return false;
	}

	orig.src = s->src;
	orig.dst = s->dst;
	orig.l3num = s->family;
	orig.l4num = s->l4num;
	if (icmp) {
		orig.sport = s->icmp_id;
		orig.icmp_type = s->icmp_type;
		orig.icmp_code = s->icmp_code;
	} else if (has_ports(s->l4num)) {
		orig.sport = s->sport;
		orig.dport = s->dport;
	}

	if (!reply) {
		out->t = orig;
	} else {
		if (!ct_tuple_invert(&orig, &inv)) {
			ctctl_usage_error(a, s->at[KW_TYPE],
					  "ICMP type %u has no reply type; give the reply tuple",
					  s->icmp_type);
			return false;
		}
		if (s->have & KWB(KW_RSRC))
			inv.src = s->rsrc;
		if (s->have & KWB(KW_RDST))
			inv.dst = s->rdst;
		if (s->have & KWB(KW_RSPORT))
			inv.sport = s->rsport;
		if (s->have & KWB(KW_RDPORT))
			inv.dport = s->rdport;
		out->t = inv;
	}
	out->present = CT_TF_IP_SRC | CT_TF_IP_DST | CT_TF_PROTO_NUM;
	if (icmp)
		out->present |= s->l4num == IPPROTO_ICMP ?
			CT_TF_ICMP_TYPE | CT_TF_ICMP_CODE | CT_TF_ICMP_ID :
			CT_TF_ICMPV6_TYPE | CT_TF_ICMPV6_CODE | CT_TF_ICMPV6_ID;
	else if (has_ports(s->l4num))
		out->present |= CT_TF_SPORT | CT_TF_DPORT;
	return true;
}

/* ---- keywords with -o ------------------------------------------------ */

int ctctl_parse_words(struct ctctl_args *a, uint32_t allowed,
		      const char *const *extra, struct ctctl_spec *s)
{
	const char *stops[8] = { "-o", "--output" };
	size_t n = 2;

	for (; extra && *extra && n < 7; extra++)
		stops[n++] = *extra;
	stops[n] = NULL;
	memset(s, 0, sizeof(*s));
	for (;;) {
		int r = ctctl_parse_spec(a, allowed, stops, s);
		int flags;

		if (r != CTCTL_OK || a->i >= a->argc)
			return r;
		if (strcmp(a->argv[a->i], "-o") && strcmp(a->argv[a->i], "--output"))
			return CTCTL_OK;	/* a verb's own word */
		if (a->i + 1 >= a->argc)
			return ctctl_usage_error(a, a->argc, "\"-o\" needs a list (extended,id,timestamp,ktimestamp)");
		flags = ctnl_print_parse_output(a->argv[a->i + 1]);
		if (flags < 0)
			return ctctl_usage_error(a, a->i + 1, "unknown output format \"%s\"", a->argv[a->i + 1]);
		ctctl_opts.print.out |= (unsigned)flags;
		a->i += 2;
	}
}
