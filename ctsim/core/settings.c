/* SPDX-License-Identifier: GPL-2.0-or-later */
/* settings.c — the sysctl table: names, defaults, ranges (see settings.h). */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "ctsim/core/overflow.h"
#include "ctsim/core/settings.h"
#include "ctsim/core/table.h"

#define S(field) offsetof(struct ct_settings, field)
#define DAYS(n) ((n) * 24u * 3600u)

struct setting_row {
	const char *name;
	size_t off;
	uint32_t def, min, max;
	const char *doc;
};

/* One row per sysctl; defaults are Linux 6.18's (nf_conntrack_standalone.c,
 * nf_conntrack_proto_*.c). nf_conntrack_max = buckets = 262144 is what the
 * kernel picks on a machine with more than 4 GiB (nf_conntrack_init_start()). */
static const struct setting_row rows[] = {
	{ "nf_conntrack_max", S(max), 262144, 1, INT_MAX, "table size limit (count > max: early drop, then ENOMEM)" },
	{ "nf_conntrack_buckets", S(buckets), 262144, 1, 1u << 26, "hash buckets" },
	{ "nf_conntrack_expect_max", S(expect_max), 4096, 1, INT_MAX, "expectation table limit" },
	{ "nf_conntrack_acct", S(acct), 0, 0, 1, "per-direction packet/byte counters" },
	{ "nf_conntrack_timestamp", S(timestamp), 0, 0, 1, "start/stop timestamps" },
	{ "nf_conntrack_events", S(events), 2, 0, 2, "0 off, 1 always, 2 only if a listener existed at creation" },
	{ "nf_conntrack_checksum", S(checksum), 1, 0, 1, "verify checksums at prerouting" },
	{ "nf_conntrack_log_invalid", S(log_invalid), 0, 0, 255, "log INVALID packets of this protocol" },
	{ "nf_conntrack_tcp_loose", S(tcp_loose), 1, 0, 1, "mid-stream pickup" },
	{ "nf_conntrack_tcp_be_liberal", S(tcp_be_liberal), 0, 0, 1, "never mark out-of-window packets INVALID" },
	{ "nf_conntrack_tcp_max_retrans", S(tcp_max_retrans), 3, 0, 255, "retransmissions before the retrans timeout applies" },
	{ "nf_conntrack_tcp_ignore_invalid_rst", S(tcp_ignore_invalid_rst), 0, 0, 1, "accept RSTs below td_maxack" },
	{ "nf_conntrack_tcp_timeout_syn_sent", S(tcp_timeout[CT_TCP_SYN_SENT]), 120, 0, INT_MAX, NULL },
	{ "nf_conntrack_tcp_timeout_syn_recv", S(tcp_timeout[CT_TCP_SYN_RECV]), 60, 0, INT_MAX, NULL },
	{ "nf_conntrack_tcp_timeout_established", S(tcp_timeout[CT_TCP_ESTABLISHED]), DAYS(5), 0, INT_MAX, NULL },
	{ "nf_conntrack_tcp_timeout_fin_wait", S(tcp_timeout[CT_TCP_FIN_WAIT]), 120, 0, INT_MAX, NULL },
	{ "nf_conntrack_tcp_timeout_close_wait", S(tcp_timeout[CT_TCP_CLOSE_WAIT]), 60, 0, INT_MAX, NULL },
	{ "nf_conntrack_tcp_timeout_last_ack", S(tcp_timeout[CT_TCP_LAST_ACK]), 30, 0, INT_MAX, NULL },
	{ "nf_conntrack_tcp_timeout_time_wait", S(tcp_timeout[CT_TCP_TIME_WAIT]), 120, 0, INT_MAX, NULL },
	{ "nf_conntrack_tcp_timeout_close", S(tcp_timeout[CT_TCP_CLOSE]), 10, 0, INT_MAX, NULL },
	{ "nf_conntrack_tcp_timeout_syn_sent2", S(tcp_timeout[CT_TCP_SYN_SENT2]), 120, 0, INT_MAX, "ctsim: the kernel shares syn_sent's value" },
	{ "nf_conntrack_tcp_timeout_max_retrans", S(tcp_timeout_max_retrans), 300, 0, INT_MAX, NULL },
	{ "nf_conntrack_tcp_timeout_unacknowledged", S(tcp_timeout_unacknowledged), 300, 0, INT_MAX, NULL },
	{ "nf_conntrack_udp_timeout", S(udp_timeout), 30, 0, INT_MAX, NULL },
	{ "nf_conntrack_udp_timeout_stream", S(udp_timeout_stream), 120, 0, INT_MAX, NULL },
	{ "nf_conntrack_icmp_timeout", S(icmp_timeout), 30, 0, INT_MAX, NULL },
	{ "nf_conntrack_icmpv6_timeout", S(icmpv6_timeout), 30, 0, INT_MAX, NULL },
	{ "nf_conntrack_gre_timeout", S(gre_timeout), 30, 0, INT_MAX, NULL },
	{ "nf_conntrack_gre_timeout_stream", S(gre_timeout_stream), 180, 0, INT_MAX, NULL },
	{ "nf_conntrack_generic_timeout", S(generic_timeout), 600, 0, INT_MAX, NULL },
	{ "nf_conntrack_sctp_timeout_closed", S(sctp_timeout[CT_SCTP_CLOSED]), 10, 0, INT_MAX, NULL },
	{ "nf_conntrack_sctp_timeout_cookie_wait", S(sctp_timeout[CT_SCTP_COOKIE_WAIT]), 3, 0, INT_MAX, NULL },
	{ "nf_conntrack_sctp_timeout_cookie_echoed", S(sctp_timeout[CT_SCTP_COOKIE_ECHOED]), 3, 0, INT_MAX, NULL },
	{ "nf_conntrack_sctp_timeout_established", S(sctp_timeout[CT_SCTP_ESTABLISHED]), 210, 0, INT_MAX, NULL },
	{ "nf_conntrack_sctp_timeout_shutdown_sent", S(sctp_timeout[CT_SCTP_SHUTDOWN_SENT]), 3, 0, INT_MAX, NULL },
	{ "nf_conntrack_sctp_timeout_shutdown_recd", S(sctp_timeout[CT_SCTP_SHUTDOWN_RECD]), 3, 0, INT_MAX, NULL },
	{ "nf_conntrack_sctp_timeout_shutdown_ack_sent", S(sctp_timeout[CT_SCTP_SHUTDOWN_ACK_SENT]), 3, 0, INT_MAX, NULL },
	{ "nf_conntrack_sctp_timeout_heartbeat_sent", S(sctp_timeout[CT_SCTP_HEARTBEAT_SENT]), 30, 0, INT_MAX, NULL },
	{ "ctsim_labels_used", S(labels_used), 0, 0, 1, "ctsim: act as if a rule used ct labels (attach labels to entries)" },
	{ "ctsim_cpus", S(cpus), 0, 0, 4096, "ctsim: CPUs shown by conntrack -S (0 = this machine's)" },
	/* Beyond the kernel: the table-full policies (overflow.c has the table
	 * of policies with their reasons; docs/pressure.md). */
	{ "ctsim_overflow_policy", S(overflow_policy), CT_OVF_KERNEL, 0, CT_OVF_MAX - 1,
	  "ctsim: when the table is full (kernel, wait-first, min-lifetime, adaptive, no-nat-first, lru, emergency)" },
	{ "ctsim_overflow_min_lifetime", S(overflow_min_lifetime), 300, 1, INT_MAX,
	  "ctsim: min-lifetime: idle seconds after which an ASSURED entry is evictable" },
	{ "ctsim_overflow_adaptive_start", S(overflow_adaptive_start), 0, 0, INT_MAX,
	  "ctsim: adaptive: entries where timeouts start shrinking (0 = 60 % of nf_conntrack_max)" },
	{ "ctsim_overflow_adaptive_end", S(overflow_adaptive_end), 0, 0, INT_MAX,
	  "ctsim: adaptive: entries where timeouts reach 0 (0 = 120 % of nf_conntrack_max)" },
	{ "ctsim_overflow_scan", S(overflow_scan), 8, 0, INT_MAX,
	  "ctsim: buckets a policy's eviction scans from the new tuple's: by default the 8 early_drop() just walked (0 = all)" },
	{ "ctsim_overflow_emergency_timeout", S(overflow_emergency_timeout), 10, 1, INT_MAX,
	  "ctsim: emergency: idle seconds after which an entry expires in emergency mode" },
	{ "ctsim_overflow_emergency_recovery", S(overflow_emergency_recovery), 30, 1, 99,
	  "ctsim: emergency: leave the mode below (100 - N) % of nf_conntrack_max" },
	{ "ctsim_gc_pacing", S(gc_pacing), CT_GC_PACING_AUTO, 0, CT_GC_PACING_AUTO,
	  "ctsim: GC passes: ctsim (one a second, in slices), kernel (gc_worker()'s adaptive "
	  "1..60 s) or auto (kernel in the daemon, ctsim on virtual time)" },
};

/* Settings whose values are names: value -> name, NULL past the last (the
 * stored value is the index; the text given and printed is the name). */
static const struct {
	size_t off;
	const char *(*value_name)(uint32_t v);
} named[] = {
	{ S(overflow_policy), ct_overflow_policy_name },
	{ S(gc_pacing), ct_gc_pacing_name },
};

static const char *(*names_of(size_t off))(uint32_t)
{
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (named[i].off == off)
			return named[i].value_name;
	return NULL;
}

static uint32_t *field(struct ct_settings *s, const struct setting_row *r)
{
	return (uint32_t *)((char *)s + r->off);
}

void ct_settings_init(struct ct_settings *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		*field(s, &rows[i]) = rows[i].def;
}

static const struct setting_row *find_row(const char *name)
{
	static const char prefix[] = "net.netfilter.";

	if (strncmp(name, prefix, sizeof(prefix) - 1) == 0)
		name += sizeof(prefix) - 1;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strcmp(rows[i].name, name) == 0)
			return &rows[i];
	return NULL;
}

const char *ct_file_not_regular(FILE *f)
{
	struct stat st;

	if (fstat(fileno(f), &st) != 0 || S_ISREG(st.st_mode))
		return NULL;	/* an fstat failure shows as the read error that follows */
	return S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file";
}

bool ct_settings_shapes_table(const char *name)
{
	const struct setting_row *r = find_row(name);

	return r && r->off == S(buckets);
}

int ct_settings_set(struct ct_settings *s, const char *name, const char *value,
		    char *err, size_t errlen)
{
	const struct setting_row *r = find_row(name);
	unsigned long long v;
	char *end;

	if (!r) {
		snprintf(err, errlen, "unknown setting \"%s\"", name);
		return -1;
	}
	/* From here on the value is at fault (-2, see settings.h). */
	if (names_of(r->off)) {
		const char *(*value_name)(uint32_t) = names_of(r->off);
		size_t n = 0;

		for (uint32_t i = r->min; i <= r->max && value_name(i); i++)
			if (strcmp(value, value_name(i)) == 0) {
				*field(s, r) = i;
				return 0;
			}
		n = (size_t)snprintf(err, errlen, "%s: \"%s\" is not one of", r->name, value);
		for (uint32_t i = r->min; i <= r->max && value_name(i) && n < errlen; i++)
			n += (size_t)snprintf(err + n, errlen - n, "%s %s", i == r->min ? "" : ",",
					      value_name(i));
		return -2;
	}
	errno = 0;
	v = strtoull(value, &end, 0);
	if (errno || end == value || *end || value[0] == '-') {
		snprintf(err, errlen, "%s: \"%s\" is not a number", r->name, value);
		return -2;
	}
	if (v < r->min || v > r->max) {
		snprintf(err, errlen, "%s: %llu is out of range %u..%u", r->name, v, r->min, r->max);
		return -2;
	}
	/* pf's pair: the slope needs adaptive.start below adaptive.end */
	if ((r->off == S(overflow_adaptive_start) && v && s->overflow_adaptive_end &&
	     v >= s->overflow_adaptive_end) ||
	    (r->off == S(overflow_adaptive_end) && v && s->overflow_adaptive_start &&
	     v <= s->overflow_adaptive_start)) {
		snprintf(err, errlen, "%s: %llu: ctsim_overflow_adaptive_start (%u) must be below "
			 "ctsim_overflow_adaptive_end (%u)", r->name, v,
			 r->off == S(overflow_adaptive_start) ? (uint32_t)v : s->overflow_adaptive_start,
			 r->off == S(overflow_adaptive_end) ? (uint32_t)v : s->overflow_adaptive_end);
		return -2;
	}
	*field(s, r) = (uint32_t)v;
	return 0;
}

int ct_settings_load(struct ct_settings *s, const char *path, char *err, size_t errlen)
{
	struct ct_settings tmp = *s;
	char line[512], msg[256];
	unsigned lineno = 0;
	int rc;
	FILE *f = fopen(path, "r");
	const char *why;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((why = ct_file_not_regular(f))) {	/* --config DIR is not the defaults */
		snprintf(err, errlen, "%s: %s", path, why);
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *name, *eq, *val, *e;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		name = p;
		eq = strchr(p, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u:%zu: expected \"name = value\"", path, lineno,
				 (size_t)(p - line) + 1);
			fclose(f);
			return -1;
		}
		for (e = eq; e > name && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		val = eq + 1;
		while (*val == ' ' || *val == '\t')
			val++;
		for (e = val + strlen(val); e > val && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		rc = ct_settings_set(&tmp, name, val, msg, sizeof(msg));
		if (rc < 0) {
			/* Point at the part at fault: the name or the value. */
			snprintf(err, errlen, "%s:%u:%zu: %s", path, lineno,
				 (size_t)((rc == -2 ? val : name) - line) + 1, msg);
			fclose(f);
			return -1;
		}
	}
	/* a read error is not the end of the file: nothing half-applies */
	if (ferror(f)) {
		snprintf(err, errlen, "%s:%u: %s", path, lineno + 1, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	*s = tmp;
	return 0;
}

void ct_settings_print(const struct ct_settings *s, FILE *out)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint32_t v = *field((struct ct_settings *)s, &rows[i]);

		const char *(*value_name)(uint32_t) = names_of(rows[i].off);

		if (value_name && value_name(v))
			fprintf(out, "%s = %s", rows[i].name, value_name(v));
		else
			fprintf(out, "%s = %u", rows[i].name, v);
		if (rows[i].doc)
			fprintf(out, "\t# %s", rows[i].doc);
		fputc('\n', out);
	}
}

uint32_t ct_settings_timeout(const struct ct_settings *s, uint8_t l3num,
			     uint8_t l4num, uint8_t state)
{
	switch (l4num) {
	case IPPROTO_TCP:
		return state < CT_TCP_MAX ? s->tcp_timeout[state] : s->tcp_timeout[CT_TCP_CLOSE];
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		return s->udp_timeout;
	case IPPROTO_ICMP:
		return l3num == AF_INET ? s->icmp_timeout : s->generic_timeout;
	case IPPROTO_ICMPV6:
		return l3num == AF_INET6 ? s->icmpv6_timeout : s->generic_timeout;
	case IPPROTO_GRE:
		return s->gre_timeout;
	case IPPROTO_SCTP:
		return state < CT_SCTP_MAX ? s->sctp_timeout[state] : s->sctp_timeout[CT_SCTP_CLOSED];
	default:
		return s->generic_timeout;
	}
}
