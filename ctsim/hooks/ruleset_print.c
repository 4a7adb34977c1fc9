/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset_print.c — the one printer of a ruleset: `nft list ruleset` text
 * and the `nft -j list ruleset` JSON shape come out of the same walk of the
 * representation (iproute2's print_string(PRINT_ANY, key, fmt, value)
 * style: every field is printed once, with its JSON key and its text
 * format; either may be NULL for a field only one form shows).
 *
 * The JSON form is a jansson tree (ruleset_to_json()), so a caller that
 * embeds it in a larger document (ctsim replay -j) takes the tree instead
 * of parsing text back; ruleset_print() dumps it.
 *
 * Rule expressions are printed by rs_rule_format() as nft prints them
 * (netlink_delinearize + the expression printers): JSON carries that text
 * in "expr_text" rather than nft's expression tree.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "ctsim/hooks/ruleset_int.h"

/* ---------------------------------------------------------------------- */
/* One rule as text (what nft's rule printer does)                         */

struct sbuf {
	char *s;
	size_t n, off;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (b->off >= b->n)
		return;
	va_start(ap, fmt);
	w = vsnprintf(b->s + b->off, b->n - b->off, fmt, ap);
	va_end(ap);
	if (w > 0)
		b->off += (size_t)w;
	if (b->off >= b->n)
		b->off = b->n - 1;
}

static void print_addr(struct sbuf *b, const struct rs_value *v, bool v6)
{
	char a[INET6_ADDRSTRLEN], z[INET6_ADDRSTRLEN];

	inet_ntop(v6 ? AF_INET6 : AF_INET, v->alo.b, a, sizeof(a));
	if (v->plen >= 0 && v->plen != (v6 ? 128 : 32)) {
		sb_printf(b, "%s/%d", a, v->plen);
	} else if (rs_addr_cmp(&v->alo, &v->ahi)) {
		inet_ntop(v6 ? AF_INET6 : AF_INET, v->ahi.b, z, sizeof(z));
		sb_printf(b, "%s-%s", a, z);
	} else {
		sb_printf(b, "%s", a);
	}
}

static void print_scalar(struct sbuf *b, const struct keydesc *kd, uint64_t v)
{
	const char *n = rs_sym_name(kd->syms, v);

	if (n && kd->key == RS_K_META_L4PROTO && v == 58)
		n = "ipv6-icmp";	/* /etc/protocols spelling, as nft prints it */
	if (n)
		sb_printf(b, "%s", n);
	else if (kd->key == RS_K_META_MARK || kd->key == RS_K_CT_MARK)
		sb_printf(b, "0x%08" PRIx64, v);
	else if (kd->type == VT_FLAGS)
		sb_printf(b, "0x%" PRIx64, v);
	else
		sb_printf(b, "%" PRIu64, v);
}

/* A flag value as nft prints it: names joined by '|' inside masks and
 * by ',' in plain lists. */
static void print_flags(struct sbuf *b, const struct keydesc *kd, uint64_t v, const char *sep)
{
	bool first = true;

	if (v == 0 || rs_sym_name(kd->syms, v)) {
		print_scalar(b, kd, v);
		return;
	}
	for (const struct sym *s = kd->syms; s && s->name; s++)
		if ((v & s->v) == s->v && s->v) {
			sb_printf(b, "%s%s", first ? "" : sep, s->name);
			first = false;
			v &= ~s->v;
		}
	if (v)
		sb_printf(b, "%s0x%" PRIx64, first ? "" : sep, v);
}

static void print_value(struct sbuf *b, const struct keydesc *kd, const struct rs_value *v)
{
	switch (kd->type) {
	case VT_ADDR4: print_addr(b, v, false); break;
	case VT_ADDR6: print_addr(b, v, true); break;
	case VT_IFNAME: case VT_STR: sb_printf(b, "\"%s\"", v->str); break;
	case VT_FLAGS: print_flags(b, kd, v->lo, "|"); break;
	case VT_INT:
		print_scalar(b, kd, v->lo);
		if (v->hi != v->lo) {
			sb_printf(b, "-");
			print_scalar(b, kd, v->hi);
		}
		break;
	}
}

static void print_match(struct sbuf *b, const struct rs_match *m)
{
	const struct keydesc *kd = rs_key_desc(m->key);

	if (kd->w1 == NULL || (!strcmp(kd->w1, "meta") && !kd->print_meta))
		sb_printf(b, "%s", kd->w2);	/* iifname, oif ... print unqualified, as nft */
	else
		sb_printf(b, "%s %s", kd->w1, kd->w2);
	if (m->op == RS_OP_MASK_EQ || m->op == RS_OP_MASK_NEQ) {
		sb_printf(b, " & (");
		print_flags(b, kd, m->mask, "|");
		sb_printf(b, ") %s ", m->op == RS_OP_MASK_EQ ? "==" : "!=");
		print_flags(b, kd, m->vals[0].lo, "|");
		return;
	}
	if (m->op == RS_OP_NEQ)
		sb_printf(b, " !=");
	if (m->set) {
		sb_printf(b, " { ");
		for (size_t i = 0; i < m->nvals; i++) {
			if (i)
				sb_printf(b, ", ");
			print_value(b, kd, &m->vals[i]);
		}
		sb_printf(b, " }");
		return;
	}
	sb_printf(b, " ");
	for (size_t i = 0; i < m->nvals; i++) {
		if (i)
			sb_printf(b, ",");
		if (kd->type == VT_FLAGS)
			print_flags(b, kd, m->vals[i].lo, ",");
		else
			print_value(b, kd, &m->vals[i]);
	}
}

static void print_nat(struct sbuf *b, const struct rs_table *tab, const struct rs_nat *n)
{
	static const char *const names[] = { "snat", "dnat", "masquerade", "redirect" };
	char a[INET6_ADDRSTRLEN], z[INET6_ADDRSTRLEN];

	sb_printf(b, "%s", names[n->type]);
	if (n->map) {
		/* nft lists `dnat ip to` with concatenated values, also in an ip table */
		const struct rs_nat_map *mp = n->map;
		const struct keydesc *kd = rs_key_desc(mp->key.key);

		if (tab->family == RS_FAM_INET || mp->concat)
			sb_printf(b, " %s", n->family == AF_INET6 ? "ip6" : "ip");
		sb_printf(b, " to %s %s map { ", kd->w1, kd->w2);
		for (size_t i = 0; i < mp->key.nvals; i++) {
			inet_ntop(mp->to[i].family, mp->to[i].addr_min.b, a, sizeof(a));
			if (i)
				sb_printf(b, ", ");
			print_value(b, kd, &mp->key.vals[i]);
			sb_printf(b, " : %s", a);
			if (mp->concat)
				sb_printf(b, " . %u", mp->to[i].port_min);
		}
		sb_printf(b, " }");
	} else if (n->family) {
		if (tab->family == RS_FAM_INET)
			sb_printf(b, " %s", n->family == AF_INET6 ? "ip6" : "ip");
		/* an IPv6 address with a port is written [ADDR]:PORT */
		const bool brackets = n->family == AF_INET6 && n->port_min;

		inet_ntop(n->family, n->addr_min.b, a, sizeof(a));
		sb_printf(b, " to %s%s", brackets ? "[" : "", a);
		if (n->plen)
			sb_printf(b, "/%u", n->plen);
		else if (rs_addr_cmp(&n->addr_min, &n->addr_max)) {
			inet_ntop(n->family, n->addr_max.b, z, sizeof(z));
			sb_printf(b, "-%s", z);
		}
		if (brackets)
			sb_printf(b, "]");
	} else if (n->port_min) {
		sb_printf(b, " to ");
	}
	if (n->port_min) {
		sb_printf(b, ":%u", n->port_min);
		if (n->port_max != n->port_min)
			sb_printf(b, "-%u", n->port_max);
	}
	/* nft lists the flags in this order, comma-separated */
	{
		const char *sep = " ";

		if (n->flags & RS_NAT_F_RANDOM) {
			sb_printf(b, "%srandom", sep);
			sep = ",";
		}
		if (n->flags & RS_NAT_F_FULLY_RANDOM) {
			sb_printf(b, "%sfully-random", sep);
			sep = ",";
		}
		if (n->flags & RS_NAT_F_PERSISTENT)
			sb_printf(b, "%spersistent", sep);
	}
}

static void print_stmt(struct sbuf *b, const struct rs_table *tab, const struct rs_stmt *s,
		       bool counters)
{
	const struct sym *codes;

	switch (s->type) {
	case RS_S_ACCEPT: sb_printf(b, "accept"); break;
	case RS_S_DROP: sb_printf(b, "drop"); break;
	case RS_S_RETURN: sb_printf(b, "return"); break;
	case RS_S_JUMP: sb_printf(b, "jump %s", s->u.jump.name); break;
	case RS_S_GOTO: sb_printf(b, "goto %s", s->u.jump.name); break;
	case RS_S_NOTRACK: sb_printf(b, "notrack"); break;
	case RS_S_COUNTER:
		if (counters)
			sb_printf(b, "counter packets %" PRIu64 " bytes %" PRIu64,
				  s->u.counter.packets, s->u.counter.bytes);
		else
			sb_printf(b, "counter");
		break;
	case RS_S_LOG:
		sb_printf(b, "log");
		if (s->u.log.prefix)
			sb_printf(b, " prefix \"%s\"", s->u.log.prefix);
		break;
	case RS_S_REJECT:
		sb_printf(b, "reject");
		if (!s->u.reject.given)
			break;
		if (s->u.reject.kind == RS_REJECT_TCP_RESET) {
			sb_printf(b, " with tcp reset");
			break;
		}
		codes = s->u.reject.kind == RS_REJECT_ICMP ? rs_icmp_code_syms :
			s->u.reject.kind == RS_REJECT_ICMPV6 ? rs_icmpv6_code_syms : rs_icmpx_code_syms;
		sb_printf(b, " with %s type %s",
			  s->u.reject.kind == RS_REJECT_ICMP ? "icmp" :
			  s->u.reject.kind == RS_REJECT_ICMPV6 ? "icmpv6" : "icmpx",
			  rs_sym_name(codes, s->u.reject.code));
		break;
	case RS_S_CT_MARK_SET: sb_printf(b, "ct mark set 0x%08x", s->u.value); break;
	case RS_S_META_MARK_SET: sb_printf(b, "meta mark set 0x%08x", s->u.value); break;
	case RS_S_CT_ZONE_SET: sb_printf(b, "ct zone set %u", s->u.value); break;
	case RS_S_NFTRACE_SET: sb_printf(b, "meta nftrace set %u", s->u.value); break;
	case RS_S_CT_HELPER_SET: sb_printf(b, "ct helper set \"%s\"", s->u.helper.name); break;
	case RS_S_CT_TIMEOUT_SET: sb_printf(b, "ct timeout set \"%s\"", s->u.timeout.name); break;
	case RS_S_SNAT: case RS_S_DNAT: case RS_S_MASQUERADE: case RS_S_REDIRECT:
		print_nat(b, tab, &s->u.nat);
		break;
	}
}

void rs_rule_format(const struct rs_table *tab, const struct rs_rule *r, bool counters,
		    char *out, size_t n)
{
	struct sbuf b = { out, n, 0 };

	out[0] = 0;
	for (size_t i = 0; i < r->nmatches; i++) {
		if (i)
			sb_printf(&b, " ");
		print_match(&b, &r->matches[i]);
	}
	for (size_t i = 0; i < r->nstmts; i++) {
		if (i || r->nmatches)
			sb_printf(&b, " ");
		print_stmt(&b, tab, &r->stmts[i], counters);
	}
}

static void prio_format(const struct rs_chain *ch, char *buf, size_t n)
{
	/* nft prints a standard priority by name (std_prio_lookup()) */
	for (const struct prio_name *pn = rs_prio_names; pn->name; pn++)
		if (pn->prio == ch->prio && (pn->hooks & (1u << ch->hook))) {
			snprintf(buf, n, "%s", pn->name);
			return;
		}
	snprintf(buf, n, "%d", ch->prio);
}

/* ---------------------------------------------------------------------- */
/* The output of the walk: text or a jansson tree                          */

struct rs_out {
	FILE *f;		/* text: the stream; NULL when building JSON */
	json_t *list;		/* JSON: the "nftables" array */
	json_t *rules;		/* JSON: this table's rule objects (listed after its chains, as nft -j) */
	json_t *obj;		/* JSON: the object being filled */
	json_t *outer;		/* JSON: the enclosing object while a nested one is filled */
};

static bool out_json(const struct rs_out *o)
{
	return o->f == NULL;
}

/* A JSON string. Source strings are raw bytes (a quoted ruleset string may
 * hold anything but a newline and a quote); JSON needs UTF-8, so a string
 * that is not valid UTF-8 has each non-ASCII byte replaced by U+FFFD. */
static json_t *out_jstr(const char *s)
{
	json_t *v = json_string(s);
	char *fixed, *d;

	if (v)
		return v;
	fixed = xcalloc(3 * strlen(s) + 1, 1);
	d = fixed;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x80) {
			*d++ = *s;
		} else {
			memcpy(d, "\xef\xbf\xbd", 3);
			d += 3;
		}
	}
	v = json_string(fixed);
	free(fixed);
	return v;
}

/* Start object {"@kind": {...}} at the end of @into (JSON only). */
static void out_open(struct rs_out *o, json_t *into, const char *kind)
{
	json_t *wrap;

	if (!out_json(o))
		return;
	o->obj = json_object();
	wrap = json_object();
	json_object_set_new(wrap, kind, o->obj);
	json_array_append_new(into, wrap);
}

/* A nested object @key inside the current one, until out_close(). */
static void out_nest(struct rs_out *o, const char *key)
{
	json_t *in;

	if (!out_json(o))
		return;
	in = json_object();
	json_object_set_new(o->obj, key, in);
	o->outer = o->obj;
	o->obj = in;
}

static void out_close(struct rs_out *o)
{
	if (out_json(o) && o->outer) {
		o->obj = o->outer;
		o->outer = NULL;
	}
}

/* Text only (layout: indentation, braces, blank lines). */
static void out_text(struct rs_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_text(struct rs_out *o, const char *fmt, ...)
{
	va_list ap;

	if (out_json(o))
		return;
	va_start(ap, fmt);
	vfprintf(o->f, fmt, ap);
	va_end(ap);
}

/* A string field: key @key in JSON, @fmt (one %s) in text; either NULL. */
static void out_str(struct rs_out *o, const char *key, const char *fmt, const char *v)
{
	if (!out_json(o)) {
		if (fmt)
			fprintf(o->f, fmt, v);
	} else if (key) {
		json_object_set_new(o->obj, key, out_jstr(v));
	}
}

/* A number field (JSON only: text prints numbers inside rule text or by name). */
static void out_num(struct rs_out *o, const char *key, int64_t v)
{
	if (out_json(o))
		json_object_set_new(o->obj, key, json_integer((json_int_t)v));
}

static void out_bool(struct rs_out *o, const char *key, bool v)
{
	if (out_json(o))
		json_object_set_new(o->obj, key, json_boolean(v));
}

/* ---------------------------------------------------------------------- */
/* The walk                                                                */

static void print_helper(struct rs_out *o, const struct rs_table *tab, const struct rs_helper *hp,
			 bool first)
{
	out_open(o, o->list, "ct helper");
	out_str(o, "family", NULL, rs_family_name(tab->family));
	out_str(o, "table", NULL, tab->name);
	out_text(o, "%s", first ? "" : "\n");
	out_str(o, "name", "\tct helper %s {\n", hp->name);
	out_str(o, "type", "\t\ttype \"%s\"", hp->type);
	out_str(o, "protocol", " protocol %s\n", hp->l4proto == 6 ? "tcp" : "udp");
	out_str(o, "l3proto", "\t\tl3proto %s\n\t}\n", rs_family_name(hp->l3proto));
}

/* nft list's form: the values that differ from the defaults nft knows
 * (nftables' timeout_protocol tables, the kernel's default sysctls), as
 * "state : value" — nft prints a policy equal to the defaults as "{  }". */
static void print_timeout(struct rs_out *o, const struct rs_table *tab, const struct rs_timeout *to,
			  bool first)
{
	static const uint32_t tcp_def[CT_TO_MAX] = { 0, 120, 60, 432000, 120, 60, 30, 120, 10, 120,
						     300, 300 };
	static const uint32_t udp_def[CT_TO_MAX] = { 30, 120 };
	const uint32_t *def = to->pol.l4proto == 6 ? tcp_def : udp_def;
	char pol[512];
	size_t n = 0;

	pol[0] = '\0';
	for (unsigned i = 0; i < CT_TO_MAX; i++) {
		const char *name = ct_timeout_state_name(to->pol.l4proto, i);

		if (!name || !(to->pol.given & (1u << i)) || to->pol.values[i] == def[i])
			continue;
		n += (size_t)snprintf(pol + n, sizeof(pol) - n, "%s%s : %u", n ? ", " : "", name,
				      to->pol.values[i]);
		if (n >= sizeof(pol))
			n = sizeof(pol) - 1;
	}
	out_open(o, o->list, "ct timeout");
	out_str(o, "family", NULL, rs_family_name(tab->family));
	out_str(o, "table", NULL, tab->name);
	out_text(o, "%s", first ? "" : "\n");
	out_str(o, "name", "\tct timeout %s {\n", to->pol.name);
	out_str(o, "protocol", "\t\tprotocol %s\n", to->pol.l4proto == 6 ? "tcp" : "udp");
	out_str(o, "l3proto", "\t\tl3proto %s\n", rs_family_name(to->l3proto));
	out_str(o, NULL, "\t\tpolicy = { %s }\n\t}\n", pol);
	/* JSON: as nft -j, "policy": { "established": 120, ... }, null when empty */
	if (!n) {
		if (out_json(o))
			json_object_set_new(o->obj, "policy", json_null());
		return;
	}
	out_nest(o, "policy");
	for (unsigned i = 0; i < CT_TO_MAX; i++) {
		const char *name = ct_timeout_state_name(to->pol.l4proto, i);

		if (name && (to->pol.given & (1u << i)) && to->pol.values[i] != def[i])
			out_num(o, name, to->pol.values[i]);
	}
	out_close(o);
}

static void print_rule(struct rs_out *o, const struct rs_table *tab, const struct rs_chain *ch,
		       const struct rs_rule *rule)
{
	char buf[2048];
	uint64_t pk = 0, by = 0;
	bool has_counter = false;

	/* nft -j gives the rule's counter as an object next to it; several
	 * counter statements (nft allows them) add up */
	for (size_t i = 0; i < rule->nstmts; i++)
		if (rule->stmts[i].type == RS_S_COUNTER) {
			has_counter = true;
			pk += rule->stmts[i].u.counter.packets;
			by += rule->stmts[i].u.counter.bytes;
		}
	rs_rule_format(tab, rule, true, buf, sizeof(buf));
	out_open(o, o->rules, "rule");
	out_str(o, "family", NULL, rs_family_name(tab->family));
	out_str(o, "table", NULL, tab->name);
	out_str(o, "chain", NULL, ch->name);
	out_num(o, "handle", rule->handle);
	out_num(o, "line", rule->line);
	out_str(o, "expr_text", "\t\t%s\n", buf);
	if (has_counter) {
		out_nest(o, "counter");
		out_num(o, "packets", (int64_t)pk);
		out_num(o, "bytes", (int64_t)by);
		out_close(o);
	}
}

static void print_chain(struct rs_out *o, const struct rs_table *tab, const struct rs_chain *ch,
			bool first)
{
	char prio[32];

	out_open(o, o->list, "chain");
	out_str(o, "family", NULL, rs_family_name(tab->family));
	out_str(o, "table", NULL, tab->name);
	out_text(o, "%s", first ? "" : "\n");
	out_str(o, "name", "\tchain %s {\n", ch->name);
	if (ch->base) {
		prio_format(ch, prio, sizeof(prio));
		out_str(o, "type", "\t\ttype %s", ch->type == RS_CHAIN_NAT ? "nat" : "filter");
		out_str(o, "hook", " hook %s", rs_hook_name(ch->hook));
		out_num(o, "prio", ch->prio);		/* JSON: the number, as nft -j */
		out_str(o, NULL, " priority %s;", prio);	/* text: the standard name */
		out_str(o, "policy", " policy %s;\n", ch->policy == CT_ACCEPT ? "accept" : "drop");
	}
	for (size_t r = 0; r < ch->nrules; r++)
		print_rule(o, tab, ch, &ch->rules[r]);
	out_text(o, "\t}\n");
}

/* The one walk: tables in order; in each, helper objects, then chains with
 * their rules (text nests them; JSON lists every chain, then every rule,
 * as nft -j list ruleset does). */
static void print_walk(struct rs_out *o, const struct ruleset *rs)
{
	out_open(o, o->list, "metainfo");
	out_num(o, "json_schema_version", 1);
	out_bool(o, "ctsim", true);
	for (size_t t = 0; t < rs->ntables; t++) {
		const struct rs_table *tab = rs->tables[t];
		bool first = true;

		out_open(o, o->list, "table");
		out_str(o, "family", "table %s", rs_family_name(tab->family));
		out_str(o, "name", " %s {\n", tab->name);
		for (size_t h = 0; h < tab->nhelpers; h++, first = false)
			print_helper(o, tab, tab->helpers[h], first);
		for (size_t h = 0; h < tab->ntimeouts; h++, first = false)
			print_timeout(o, tab, tab->timeouts[h], first);
		if (out_json(o))
			o->rules = json_array();
		for (size_t c = 0; c < tab->nchains; c++, first = false)
			print_chain(o, tab, tab->chains[c], first);
		if (out_json(o)) {
			json_array_extend(o->list, o->rules);
			json_decref(o->rules);
			o->rules = NULL;
		}
		out_text(o, "}\n");
	}
}

json_t *ruleset_to_json(const struct ruleset *rs)
{
	struct rs_out o = { 0 };
	json_t *top;

	if (!rs)
		return NULL;
	top = json_object();
	o.list = json_array();
	if (!top || !o.list) {
		json_decref(top);
		json_decref(o.list);
		return NULL;
	}
	json_object_set_new(top, "nftables", o.list);
	print_walk(&o, rs);
	return top;
}

void ruleset_print(const struct ruleset *rs, FILE *f, bool json)
{
	struct rs_out o = { .f = f };
	json_t *j;

	if (!rs)
		return;
	if (!json) {
		print_walk(&o, rs);
		return;
	}
	/* Default jansson layout (", " and ": " separators, no indentation)
	 * is the layout the printer always had; insertion order is kept. */
	j = ruleset_to_json(rs);
	if (!j)
		return;
	json_dumpf(j, f, JSON_PRESERVE_ORDER);
	fputc('\n', f);
	json_decref(j);
}

void ruleset_reset_counters(struct ruleset *rs)
{
	if (!rs)
		return;
	for (size_t t = 0; t < rs->ntables; t++)
		for (size_t c = 0; c < rs->tables[t]->nchains; c++) {
			struct rs_chain *ch = rs->tables[t]->chains[c];

			for (size_t r = 0; r < ch->nrules; r++)
				for (size_t i = 0; i < ch->rules[r].nstmts; i++)
					if (ch->rules[r].stmts[i].type == RS_S_COUNTER) {
						ch->rules[r].stmts[i].u.counter.packets = 0;
						ch->rules[r].stmts[i].u.counter.bytes = 0;
					}
		}
}


int ruleset_print_buf(const struct ruleset *rs, bool json, char *buf, size_t cap, size_t *len)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);

	if (!f)
		return ENOMEM;
	ruleset_print(rs, f, json);
	if (fclose(f) != 0) {
		free(text);
		return ENOMEM;
	}
	if (n > cap) {
		free(text);
		return EMSGSIZE;
	}
	memcpy(buf, text, n);
	*len = n;
	free(text);
	return 0;
}
