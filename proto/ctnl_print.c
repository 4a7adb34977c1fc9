/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctnl_print.c — one print path for text and JSON (iproute2's json_print idea).
 *
 * A printer walks an object once, calling pr_uint()/pr_str() with a JSON
 * key and a text format. In text mode the formats build one line, in the
 * exact layout of conntrack 1.4.7 (trailing blank stripped, as conntrack
 * does); in JSON mode the keys build a jansson object. PR_TEXT / PR_JSON
 * restrict a call to one of the two outputs.
 *
 * The text layout was reproduced by observing `conntrack -L/-E/-S` against
 * the kernel; the JSON field names are documented in docs/ctctl.md.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "proto/ctnl_print.h"

/* The caller's options (ctnl_print_setup()); defaults until it is called. */
static const struct ctnl_print_opts default_opts;
static const struct ctnl_print_opts *opts = &default_opts;

static FILE *out(void)
{
	return opts->fp ? opts->fp : stdout;
}

/* Wall-clock now, ns since the epoch: the caller's (virtual) time if set. */
static uint64_t now_ns(void)
{
	struct timespec now;

	if (opts->now_ns)
		return opts->now_ns;
	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

void ctnl_print_setup(const struct ctnl_print_opts *o)
{
	opts = o ? o : &default_opts;
}

int ctnl_print_parse_output(const char *list)
{
	static const struct { const char *name; unsigned flag; } outs[] = {
		{ "extended", CTNL_O_EXTENDED }, { "id", CTNL_O_ID },
		{ "timestamp", CTNL_O_TIMESTAMP }, { "ktimestamp", CTNL_O_KTIMESTAMP },
	};
	char buf[128], *tok, *save = NULL;
	unsigned flags = 0;

	if (strlen(list) >= sizeof(buf))
		return -1;
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(outs) / sizeof(outs[0]); i++)
			if (!strcmp(tok, outs[i].name))
				break;
		if (i == sizeof(outs) / sizeof(outs[0]))
			return -1;
		flags |= outs[i].flag;
	}
	return (int)flags;
}

enum pr_kind { PR_ANY, PR_TEXT, PR_JSON };

/* The text line being built. */
static char line[4096];
static size_t line_len;

/* The JSON objects being built: jstack[0] is the top-level object. */
static json_t *jstack[4];
static int jdepth;
/* The open list (ctnl_print_begin_list), or NULL. */
static json_t *jlist;

/* Append printf-style text to the line (text mode only). */
static void __attribute__((format(printf, 1, 2))) pr_text(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (opts->json || line_len >= sizeof(line) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line + line_len, sizeof(line) - line_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		line_len += (size_t)n;
	if (line_len >= sizeof(line))
		line_len = sizeof(line) - 1;
}

/*
 * The fast text path. A 100k-entry listing is a million fields, and a
 * vsnprintf() per field was most of `ctsim replay`'s time (callgrind: 47 %
 * of the instructions of a 10k-connection replay). The formats the printers
 * pass are few and simple, so they are interpreted here; the bytes are
 * exactly what vsnprintf would have produced, truncation at the end of
 * line[] included. Anything outside the subset falls back to pr_text().
 */

/* Append @n bytes (text mode only; truncates like pr_text()). */
static void put_mem(const char *s, size_t n)
{
	size_t room = sizeof(line) - 1 - line_len;

	if (line_len >= sizeof(line) - 1)
		return;
	if (n > room)
		n = room;
	memcpy(line + line_len, s, n);
	line_len += n;
}

/* A literal piece of the line: pr_text() without a format to parse. */
static void pr_lit(const char *s)
{
	if (!opts->json)
		put_mem(s, strlen(s));
}

/* @v in decimal (or hex, lower case) into the end of @buf; returns the
 * first digit. @buf must hold 20 digits. */
static char *fmt_ull(char *end, unsigned long long v, bool hex)
{
	char *p = end;

	if (hex) {
		do {
			*--p = "0123456789abcdef"[v & 15];
			v >>= 4;
		} while (v);
	} else {
		do {
			*--p = (char)('0' + v % 10);
			v /= 10;
		} while (v);
	}
	return p;
}

/* Append @s padded to @width (left-aligned with @left), as "%-8s"/"%9s". */
static void put_padded(const char *s, size_t n, unsigned width, bool left)
{
	static const char blanks[] = "                                ";

	if (!left)
		while (width > n) {
			size_t k = width - n > sizeof(blanks) - 1 ? sizeof(blanks) - 1 : width - n;

			put_mem(blanks, k);
			width -= (unsigned)k;
		}
	put_mem(s, n);
	if (left)
		while (width > n) {
			size_t k = width - n > sizeof(blanks) - 1 ? sizeof(blanks) - 1 : width - n;

			put_mem(blanks, k);
			width -= (unsigned)k;
		}
}

/*
 * Format @fmt with one argument (@s for a string conversion, else @v) into
 * the line. The subset: literal text, "%%", and one conversion with an
 * optional '-' flag and width: "s", "llu", "llx". Returns false, with the
 * line unchanged, for any other format.
 */
static bool pr_fast(const char *fmt, unsigned long long v, const char *s)
{
	size_t start = line_len;
	bool used = false;

	if (line_len >= sizeof(line) - 1)
		return true;	/* pr_text() would add nothing either */
	while (*fmt) {
		const char *lit = fmt;
		unsigned width = 0;
		bool left = false;

		while (*fmt && *fmt != '%')
			fmt++;
		put_mem(lit, (size_t)(fmt - lit));
		if (!*fmt)
			break;
		fmt++;
		if (*fmt == '%') {
			put_mem("%", 1);
			fmt++;
			continue;
		}
		if (used)
			goto slow;
		used = true;
		if (*fmt == '-') {
			left = true;
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9' && width < 1000)
			width = width * 10 + (unsigned)(*fmt++ - '0');
		if (*fmt == 's' && s) {
			put_padded(s, strlen(s), width, left);
			fmt++;
		} else if (fmt[0] == 'l' && fmt[1] == 'l' && (fmt[2] == 'u' || fmt[2] == 'x') && !s) {
			char buf[24], *end = buf + sizeof(buf);
			char *d = fmt_ull(end, v, fmt[2] == 'x');

			put_padded(d, (size_t)(end - d), width, left);
			fmt += 3;
		} else {
			goto slow;
		}
	}
	return true;
slow:
	line_len = start;
	line[line_len] = '\0';
	return false;
}

static void pr_json_set(const char *key, json_t *v)
{
	json_object_set_new(jstack[jdepth - 1], key, v);
}

/* An unsigned number: text with @fmt (which takes one unsigned long long
 * argument), JSON as a number under @key. */
static void pr_uint(enum pr_kind k, const char *key, const char *fmt, unsigned long long v)
{
	if (opts->json) {
		if (k != PR_TEXT)
			pr_json_set(key, json_integer((json_int_t)v));
	} else if (k != PR_JSON && !pr_fast(fmt, v, NULL)) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		pr_text(fmt, v);
#pragma GCC diagnostic pop
	}
}

/* A string: text with @fmt (one %s), JSON as a string under @key. */
static void pr_str(enum pr_kind k, const char *key, const char *fmt, const char *v)
{
	if (opts->json) {
		if (k != PR_TEXT)
			pr_json_set(key, json_string(v));
	} else if (k != PR_JSON && !pr_fast(fmt, 0, v ? v : "(null)")) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		pr_text(fmt, v);
#pragma GCC diagnostic pop
	}
}

/* Open a nested JSON object under @key (no text). */
static void pr_open(const char *key)
{
	json_t *o;

	if (!opts->json)
		return;
	o = json_object();
	json_object_set_new(jstack[jdepth - 1], key, o);
	jstack[jdepth++] = o;
}

static void pr_close(void)
{
	if (opts->json)
		jdepth--;
}

/* Start an object / a line. */
static void pr_begin(void)
{
	line_len = 0;
	line[0] = '\0';
	if (opts->json) {
		jstack[0] = json_object();
		jdepth = 1;
	}
}

static void json_emit(json_t *v)
{
	size_t flags = JSON_PRESERVE_ORDER | (opts->pretty ? JSON_INDENT(2) : JSON_COMPACT);

	json_dumpf(v, out(), flags);
	fputc('\n', out());
	fflush(out());
}

/* Finish the object / line: the line without its trailing blank, or the
 * JSON object into the open list or as one line of its own. */
static void pr_end(void)
{
	if (!opts->json) {
		FILE *f = out();

		while (line_len && line[line_len - 1] == ' ')
			line_len--;
		line[line_len] = '\0';
		fwrite(line, 1, line_len, f);
		putc('\n', f);
		return;
	}
	if (jlist) {
		json_array_append_new(jlist, jstack[0]);
	} else {
		json_emit(jstack[0]);
		json_decref(jstack[0]);
	}
	jdepth = 0;
}

void ctnl_print_begin_list(void)
{
	if (jlist)
		json_decref(jlist);
	jlist = opts->json ? json_array() : NULL;
}

void ctnl_print_end_list(void)
{
	json_t *l = ctnl_print_take_list();

	if (!l)
		return;
	json_emit(l);
	json_decref(l);
}

struct json_t *ctnl_print_take_list(void)
{
	json_t *l = jlist;

	jlist = NULL;
	return l;
}

/* ---- conntrack objects ----------------------------------------------- */

static const char *l3_name(uint8_t fam)
{
	return fam == AF_INET ? "ipv4" : fam == AF_INET6 ? "ipv6" : "unknown";
}

/* inet_ntop() of a tuple address (IPv6 for AF_INET6, else IPv4): IPv4,
 * nearly every address printed, is formatted by hand with the same result
 * ("a.b.c.d", no leading zeros). @buf holds INET6_ADDRSTRLEN bytes. */
static void addr_text(uint8_t l3num, const uint8_t *a, char *buf)
{
	char *p = buf;

	if (l3num == AF_INET6) {
		inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
		return;
	}
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
}

/* One direction: addresses, ports or ICMP fields, directional zone and
 * counters, as conntrack prints them. */
static void print_tuple_pfx(const char *key, const char *pfx, const char *zone_fmt,
			    const struct ctnl_tuple *tu, const struct ctnl_counters *cnt,
			    bool has_cnt)
{
	const struct ct_tuple *t = &tu->t;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	addr_text(t->l3num, t->src.b, src);
	addr_text(t->l3num, t->dst.b, dst);

	pr_open(key);
	if (opts->json) {
		pr_json_set("src", json_string(src));
		pr_json_set("dst", json_string(dst));
	} else {
		/* "<pfx>src=A <pfx>dst=B " */
		pr_lit(pfx);
		pr_lit("src=");
		pr_lit(src);
		pr_lit(" ");
		pr_lit(pfx);
		pr_lit("dst=");
		pr_lit(dst);
		pr_lit(" ");
	}
	switch (t->l4num) {
	case IPPROTO_TCP: case IPPROTO_UDP: case IPPROTO_UDPLITE:
	case IPPROTO_SCTP: case IPPROTO_DCCP:
		pr_uint(PR_ANY, "sport", "sport=%llu ", t->sport);
		pr_uint(PR_ANY, "dport", "dport=%llu ", t->dport);
		break;
	case IPPROTO_GRE:
		pr_uint(PR_ANY, "srckey", "srckey=0x%llx ", t->sport);
		pr_uint(PR_ANY, "dstkey", "dstkey=0x%llx ", t->dport);
		break;
	case IPPROTO_ICMP: case IPPROTO_ICMPV6:
		pr_uint(PR_ANY, "icmp_type", "type=%llu ", t->icmp_type);
		pr_uint(PR_ANY, "icmp_code", "code=%llu ", t->icmp_code);
		pr_uint(PR_ANY, "icmp_id", "id=%llu ", t->sport);
		break;
	default:
		break;
	}
	if (tu->present & CT_TF_ZONE)
		pr_uint(PR_ANY, "zone", zone_fmt, tu->zone);
	if (has_cnt) {
		pr_uint(PR_ANY, "packets", "packets=%llu ", (unsigned long long)cnt->packets);
		pr_uint(PR_ANY, "bytes", "bytes=%llu ", (unsigned long long)cnt->bytes);
	}
	pr_close();
}

static void print_tuple(const char *key, const char *zone_fmt,
			const struct ctnl_tuple *tu, const struct ctnl_counters *cnt,
			bool has_cnt)
{
	print_tuple_pfx(key, "", zone_fmt, tu, cnt, has_cnt);
}

/* "Fri Nov 27 08:34:32 2026" for a CLOCK_REALTIME time in ns. */
static const char *ts_text(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%a %b %e %H:%M:%S %Y", &tm);
	return buf;
}

static void print_timestamps(const struct ctnl_ct *ct)
{
	bool start = ct->ts_present & (1u << CTA_TIMESTAMP_START);
	bool stop = ct->ts_present & (1u << CTA_TIMESTAMP_STOP);
	char buf[64];

	if (!start)
		return;
	if (!opts->json) {
		uint64_t end = stop ? ct->ts_stop : now_ns();

		pr_text("delta-time=%llu ", (unsigned long long)
			(end > ct->ts_start ? (end - ct->ts_start) / 1000000000ull : 0));
		if (opts->out & CTNL_O_KTIMESTAMP) {
			pr_text("[start=%s] ", ts_text(ct->ts_start, buf, sizeof(buf)));
			if (stop)
				pr_text("[stop=%s] ", ts_text(ct->ts_stop, buf, sizeof(buf)));
		}
		return;
	}
	pr_open("timestamp");
	pr_uint(PR_JSON, "start", NULL, (unsigned long long)ct->ts_start);
	if (stop)
		pr_uint(PR_JSON, "stop", NULL, (unsigned long long)ct->ts_stop);
	pr_close();
}

static void print_status_json(uint32_t status)
{
	json_t *arr;

	if (!opts->json)
		return;
	arr = json_array();
	for (unsigned bit = 0; bit < 32; bit++) {
		const char *n;

		if (!(status & (1u << bit)))
			continue;
		n = ct_status_bit_name(bit);
		if (n)
			json_array_append_new(arr, json_string(n));
	}
	pr_json_set("status", arr);
}

void ctnl_print_ct(const struct ctnl_ct *ct, enum ctnl_event ev, uint32_t portid)
{
	static const char *const tags[] = { "", "[NEW]", "[UPDATE]", "[DESTROY]" };
	static const char *const evnames[] = { "", "new", "update", "destroy" };
	uint8_t l3 = ct->orig.t.l3num ? ct->orig.t.l3num : ct->family;
	uint8_t l4 = ct->orig.t.l4num;
	bool seen_reply = ct->status & CT_S_SEEN_REPLY;

	pr_begin();
	if (ev != CTNL_EV_NONE) {
		if (opts->out & CTNL_O_TIMESTAMP) {
			uint64_t ns = now_ns();

			pr_text("[%llu.%06llu]\t", (unsigned long long)(ns / 1000000000ull),
				(unsigned long long)(ns % 1000000000ull / 1000));
		}
		pr_str(PR_TEXT, NULL, "%9s ", tags[ev]);
		pr_str(PR_JSON, "event", NULL, evnames[ev]);
	}
	if (opts->out & CTNL_O_EXTENDED) {
		pr_str(PR_ANY, "family", "%-8s ", l3_name(l3));
		pr_uint(PR_TEXT, NULL, "%llu ", l3);
	} else {
		pr_str(PR_JSON, "family", NULL, l3_name(l3));
	}
	pr_str(PR_ANY, "proto", "%-8s ", ct_l4proto_name(l4));
	pr_uint(PR_ANY, "protonum", "%llu ", l4);
	if (ct->present & CTNL_HAS(CTA_TIMEOUT))
		pr_uint(PR_ANY, "timeout", "%llu ", ct->timeout);
	if (ct->present & CTNL_HAS(CTA_PROTOINFO)) {
		if (ct->protoinfo == CTA_PROTOINFO_TCP &&
		    (ct->tcp.present & (1u << CTA_PROTOINFO_TCP_STATE)))
			pr_str(PR_ANY, "state", "%s ", ct_tcp_state_name(ct->tcp.state));
		else if (ct->protoinfo == CTA_PROTOINFO_SCTP &&
			 (ct->sctp.present & (1u << CTA_PROTOINFO_SCTP_STATE)))
			pr_str(PR_ANY, "state", "%s ", ct_sctp_state_name(ct->sctp.state));
	}

	print_tuple("orig", "zone-orig=%llu ", &ct->orig, &ct->counters[0],
		    ct->present & CTNL_HAS(CTA_COUNTERS_ORIG));
	if (!seen_reply)
		pr_lit("[UNREPLIED] ");
	if (ct->present & CTNL_HAS(CTA_TUPLE_REPLY))
		print_tuple("reply", "zone-reply=%llu ", &ct->reply, &ct->counters[1],
			    ct->present & CTNL_HAS(CTA_COUNTERS_REPLY));
	if (ct->status & CT_S_ASSURED)
		pr_lit("[ASSURED] ");
	if (ct->status & CT_S_OFFLOAD)
		pr_lit("[OFFLOAD] ");
	if (ct->status & CT_S_HW_OFFLOAD)
		pr_lit("[HW_OFFLOAD] ");
	if (ct->present & CTNL_HAS(CTA_STATUS)) {
		print_status_json(ct->status);
		pr_uint(PR_JSON, "status_bits", NULL, ct->status);
	}
	if (ct->present & CTNL_HAS(CTA_MARK))
		pr_uint(PR_ANY, "mark", "mark=%llu ", ct->mark);
	if ((ct->present & CTNL_HAS(CTA_SECMARK)) && ct->secmark)
		pr_uint(PR_ANY, "secmark", "secmark=%llu ", ct->secmark);
	if (ct->present & CTNL_HAS(CTA_SECCTX))
		pr_str(PR_ANY, "secctx", "secctx=%s ", ct->secctx);
	if (ct->present & CTNL_HAS(CTA_ZONE))
		pr_uint(PR_ANY, "zone", "zone=%llu ", ct->zone);
	if (ct->present & CTNL_HAS(CTA_TIMESTAMP))
		print_timestamps(ct);
	if ((ct->present & CTNL_HAS(CTA_HELP)) && ct->helper[0])
		pr_str(PR_ANY, "helper", "helper=%s ", ct->helper);
	if ((ct->present & CTNL_HAS(CTA_LABELS)) && opts->json) {
		char hex[2 * sizeof(ct->labels) + 1];

		for (unsigned i = 0; i < ct->labels_len && i < sizeof(ct->labels); i++)
			snprintf(hex + 2 * i, 3, "%02x", ct->labels[i]);
		hex[2 * (ct->labels_len < sizeof(ct->labels) ? ct->labels_len : sizeof(ct->labels))] = '\0';
		pr_str(PR_JSON, "labels", NULL, hex);
	}
	if (ct->present & CTNL_HAS(CTA_USE))
		pr_uint(PR_ANY, "use", "use=%llu ", ct->use);
	if (ct->present & CTNL_HAS(CTA_ID))
		pr_uint(opts->out & CTNL_O_ID ? PR_ANY : PR_JSON, "id", "id=%llu ", ct->id);
	if (ev != CTNL_EV_NONE && portid) {
		pr_lit("[USERSPACE] ");
		pr_uint(PR_ANY, "portid", "portid=%llu ", portid);
	}
	pr_end();
}

/* ---- expectations ------------------------------------------------------ */

void ctnl_print_exp(const struct ctnl_exp *e, enum ctnl_event ev)
{
	static const char *const tags[] = { "", "[NEW]", "[UPDATE]", "[DESTROY]" };
	static const char *const evnames[] = { "", "new", "update", "destroy" };
	static const char *const flag_names[] = { "PERMANENT", "INACTIVE", "USERSPACE" };
	uint8_t l3 = e->tuple.t.l3num ? e->tuple.t.l3num : e->family;
	uint8_t l4 = e->tuple.t.l4num;
	const char *delim = "";

	pr_begin();
	if (ev != CTNL_EV_NONE) {
		if (opts->out & CTNL_O_TIMESTAMP) {
			uint64_t ns = now_ns();

			pr_text("[%llu.%06llu]\t", (unsigned long long)(ns / 1000000000ull),
				(unsigned long long)(ns % 1000000000ull / 1000));
		}
		pr_str(PR_TEXT, NULL, "%9s ", tags[ev]);
		pr_str(PR_JSON, "event", NULL, evnames[ev]);
	}
	if (e->present & CTNL_HAS(CTA_EXPECT_TIMEOUT))
		pr_uint(PR_ANY, "timeout", "%llu ", e->timeout);
	/* conntrack 1.4.7 prints no "ipv4     2" prefix for expectations,
	 * -o extended or not */
	pr_str(PR_JSON, "family", NULL, l3_name(l3));
	pr_str(PR_JSON, "proto", NULL, ct_l4proto_name(l4));
	pr_uint(PR_ANY, "protonum", "proto=%llu ", l4);
	print_tuple_pfx("tuple", "", "", &e->tuple, NULL, false);
	print_tuple_pfx("mask", "mask-", "", &e->mask, NULL, false);
	print_tuple_pfx("master", "master-", "", &e->master, NULL, false);
	if (e->present & CTNL_HAS(CTA_EXPECT_ZONE))
		pr_uint(PR_ANY, "zone", "zone=%llu ", e->zone);
	if (e->present & CTNL_HAS(CTA_EXPECT_FLAGS)) {
		json_t *arr = opts->json ? json_array() : NULL;

		for (unsigned bit = 0; bit < 3; bit++) {
			if (!(e->flags & (1u << bit)))
				continue;
			pr_text("%s%s", delim, flag_names[bit]);
			delim = ",";
			if (arr)
				json_array_append_new(arr, json_string(flag_names[bit]));
		}
		if (*delim)
			pr_lit(" ");
		if (arr)
			pr_json_set("flags", arr);
		pr_uint(PR_JSON, "flags_bits", NULL, e->flags);
	}
	if (e->present & CTNL_HAS(CTA_EXPECT_CLASS))
		pr_uint(PR_ANY, "class", "class=%llu ", e->class);
	if ((e->present & CTNL_HAS(CTA_EXPECT_HELP_NAME)) && e->helper[0])
		pr_str(PR_ANY, "helper", "helper=%s ", e->helper);
	if (e->present & CTNL_HAS(CTA_EXPECT_ID))
		pr_uint(PR_JSON, "id", NULL, e->id);
	pr_end();
}

/* ---- statistics -------------------------------------------------------- */

void ctnl_print_stats_cpu(unsigned cpu, const struct ctnl_stats_cpu *s)
{
	const struct { const char *name; uint32_t v; } f[] = {
		{ "found", s->found }, { "invalid", s->invalid }, { "insert", s->insert },
		{ "insert_failed", s->insert_failed }, { "drop", s->drop },
		{ "early_drop", s->early_drop }, { "error", s->error },
		{ "search_restart", s->search_restart },
		{ "clash_resolve", s->clash_resolve }, { "chaintoolong", s->chaintoolong },
	};

	if (!opts->json) {
		/* conntrack -S: "cpu=%-4u\t" then "name=N " for each counter,
		 * trailing blank included. */
		fprintf(out(), "cpu=%-4u\t", cpu);
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			fprintf(out(), "%s=%u ", f[i].name, f[i].v);
		fputc('\n', out());
		return;
	}
	pr_begin();
	pr_uint(PR_JSON, "cpu", NULL, cpu);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		pr_uint(PR_JSON, f[i].name, NULL, f[i].v);
	pr_end();
}

void ctnl_print_count(const struct ctnl_stats_global *g)
{
	if (!opts->json) {
		fprintf(out(), "%u\n", g->entries);
		return;
	}
	pr_begin();
	pr_uint(PR_JSON, "entries", NULL, g->entries);
	pr_uint(PR_JSON, "max_entries", NULL, g->max_entries);
	pr_end();
}
