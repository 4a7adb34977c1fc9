/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_settings.c — unit tests of the nf_conntrack_* sysctl table
 * (ctsim/core/settings.[ch]) through settings.h: the defaults are the
 * kernel's (Linux 6.18: nf_conntrack_standalone.c, nf_conntrack_proto_*.c;
 * nf_conntrack_max = nf_conntrack_buckets = 262144 as nf_conntrack_init_start()
 * picks on a machine with more than 4 GiB), setting by name with or
 * without "net.netfilter.", the documented errors (-1 unknown name, -2 bad
 * value), ct_settings_load()'s all-or-nothing parse with FILE:LINE:COL
 * errors, and the per-protocol default timeouts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ctsim/core/settings.h"

/* The kernel's defaults (sysctl -a on a 6.18 kernel with > 4 GiB). */
static void test_defaults_are_the_kernels(void **state)
{
	struct ct_settings s;

	(void)state;
	memset(&s, 0xa5, sizeof(s));	/* init must not rely on a zeroed struct */
	ct_settings_init(&s);
	assert_int_equal(s.max, 262144);
	assert_int_equal(s.buckets, 262144);
	assert_int_equal(s.expect_max, 4096);
	assert_int_equal(s.acct, 0);
	assert_int_equal(s.timestamp, 0);
	assert_int_equal(s.events, 2);
	assert_int_equal(s.checksum, 1);
	assert_int_equal(s.log_invalid, 0);
	assert_int_equal(s.tcp_loose, 1);
	assert_int_equal(s.tcp_be_liberal, 0);
	assert_int_equal(s.tcp_max_retrans, 3);
	assert_int_equal(s.tcp_ignore_invalid_rst, 0);
	assert_int_equal(s.tcp_timeout[CT_TCP_SYN_SENT], 120);
	assert_int_equal(s.tcp_timeout[CT_TCP_SYN_RECV], 60);
	assert_int_equal(s.tcp_timeout[CT_TCP_ESTABLISHED], 432000);
	assert_int_equal(s.tcp_timeout[CT_TCP_FIN_WAIT], 120);
	assert_int_equal(s.tcp_timeout[CT_TCP_CLOSE_WAIT], 60);
	assert_int_equal(s.tcp_timeout[CT_TCP_LAST_ACK], 30);
	assert_int_equal(s.tcp_timeout[CT_TCP_TIME_WAIT], 120);
	assert_int_equal(s.tcp_timeout[CT_TCP_CLOSE], 10);
	assert_int_equal(s.tcp_timeout[CT_TCP_SYN_SENT2], 120);
	assert_int_equal(s.tcp_timeout_max_retrans, 300);
	assert_int_equal(s.tcp_timeout_unacknowledged, 300);
	assert_int_equal(s.udp_timeout, 30);
	assert_int_equal(s.udp_timeout_stream, 120);
	assert_int_equal(s.icmp_timeout, 30);
	assert_int_equal(s.icmpv6_timeout, 30);
	assert_int_equal(s.gre_timeout, 30);
	assert_int_equal(s.gre_timeout_stream, 180);
	assert_int_equal(s.generic_timeout, 600);
	assert_int_equal(s.sctp_timeout[CT_SCTP_CLOSED], 10);
	assert_int_equal(s.sctp_timeout[CT_SCTP_COOKIE_WAIT], 3);
	assert_int_equal(s.sctp_timeout[CT_SCTP_COOKIE_ECHOED], 3);
	assert_int_equal(s.sctp_timeout[CT_SCTP_ESTABLISHED], 210);
	assert_int_equal(s.sctp_timeout[CT_SCTP_SHUTDOWN_SENT], 3);
	assert_int_equal(s.sctp_timeout[CT_SCTP_SHUTDOWN_RECD], 3);
	assert_int_equal(s.sctp_timeout[CT_SCTP_SHUTDOWN_ACK_SENT], 3);
	assert_int_equal(s.sctp_timeout[CT_SCTP_HEARTBEAT_SENT], 30);
	assert_int_equal(s.labels_used, 0);
	assert_int_equal(s.cpus, 0);
}

/* By name, with and without the "net.netfilter." prefix, decimal or hex
 * (strtoull base 0); the boundaries of a range are accepted. */
static void test_set_by_name(void **state)
{
	struct ct_settings s;
	char err[128] = "";

	(void)state;
	ct_settings_init(&s);
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_udp_timeout", "45", err, sizeof(err)), 0);
	assert_int_equal(s.udp_timeout, 45);
	assert_int_equal(ct_settings_set(&s, "net.netfilter.nf_conntrack_tcp_timeout_established",
					 "7200", err, sizeof(err)), 0);
	assert_int_equal(s.tcp_timeout[CT_TCP_ESTABLISHED], 7200);
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_buckets", "0x100", err, sizeof(err)), 0);
	assert_int_equal(s.buckets, 256);
	/* nf_conntrack_events takes 0..2, nf_conntrack_buckets 1..2^26 */
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_events", "0", err, sizeof(err)), 0);
	assert_int_equal(s.events, 0);
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_events", "2", err, sizeof(err)), 0);
	assert_int_equal(s.events, 2);
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_buckets", "67108864", err, sizeof(err)), 0);
	assert_int_equal(s.buckets, 1u << 26);
	/* the ctsim-only rows are reachable too */
	assert_int_equal(ct_settings_set(&s, "ctsim_labels_used", "1", err, sizeof(err)), 0);
	assert_int_equal(s.labels_used, 1);
	/* nothing else moved */
	assert_int_equal(s.max, 262144);
	assert_int_equal(s.tcp_timeout[CT_TCP_SYN_SENT], 120);
}

/* -1 for an unknown name, -2 for a bad value; the field keeps its value. */
static void test_set_errors(void **state)
{
	struct ct_settings s;
	char err[128];

	(void)state;
	ct_settings_init(&s);
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_nope", "1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown setting \"nf_conntrack_nope\""));
	/* the prefix is stripped once, not searched for */
	assert_int_equal(ct_settings_set(&s, "net.nf_conntrack_max", "1", err, sizeof(err)), -1);
	assert_int_equal(ct_settings_set(&s, "net.netfilter.net.netfilter.nf_conntrack_max", "1",
					 err, sizeof(err)), -1);
	assert_int_equal(ct_settings_set(&s, "NF_CONNTRACK_MAX", "1", err, sizeof(err)), -1);

	assert_int_equal(ct_settings_set(&s, "nf_conntrack_events", "3", err, sizeof(err)), -2);
	assert_non_null(strstr(err, "out of range 0..2"));
	assert_int_equal(s.events, 2);
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_max", "0", err, sizeof(err)), -2);
	assert_non_null(strstr(err, "out of range 1.."));
	assert_int_equal(s.max, 262144);
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_buckets", "67108865", err, sizeof(err)), -2);
	assert_int_equal(s.buckets, 262144);
	/* beyond 32 bits must not wrap into range */
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_acct", "4294967297", err, sizeof(err)), -2);
	assert_int_equal(s.acct, 0);
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_udp_timeout", "-1", err, sizeof(err)), -2);
	assert_non_null(strstr(err, "not a number"));
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_udp_timeout", "", err, sizeof(err)), -2);
	assert_int_equal(ct_settings_set(&s, "nf_conntrack_udp_timeout", "30s", err, sizeof(err)), -2);
	assert_non_null(strstr(err, "nf_conntrack_udp_timeout: \"30s\" is not a number"));
	assert_int_equal(s.udp_timeout, 30);
}

/* Writes @text to a new temporary file; returns its path (static buffer). */
static const char *temp_file(const char *text)
{
	static char path[64];
	int fd;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/ctsim-test-settings-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* sysctl.conf syntax: comments ('#', ';'), blank lines, spaces around '=',
 * the prefix optional. */
static void test_load_file(void **state)
{
	struct ct_settings s;
	char err[256] = "";
	const char *p = temp_file("# a comment\n"
				  "; another\n"
				  "\n"
				  "net.netfilter.nf_conntrack_max = 1000\n"
				  "  nf_conntrack_udp_timeout=15  \n"
				  "\tnf_conntrack_tcp_be_liberal\t=\t1\r\n");

	(void)state;
	ct_settings_init(&s);
	assert_int_equal(ct_settings_load(&s, p, err, sizeof(err)), 0);
	unlink(p);
	assert_int_equal(s.max, 1000);
	assert_int_equal(s.udp_timeout, 15);
	assert_int_equal(s.tcp_be_liberal, 1);
	assert_int_equal(s.buckets, 262144);
}

/* All or nothing, and the error points at the line and column at fault:
 * the value for a bad value, the name for an unknown name. */
static void test_load_errors_located(void **state)
{
	struct ct_settings s;
	char err[256], want[320];
	const char *p;

	(void)state;
	ct_settings_init(&s);

	p = temp_file("nf_conntrack_max = 1000\n"
		      "nf_conntrack_events = 9\n");
	assert_int_equal(ct_settings_load(&s, p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2:23: nf_conntrack_events: 9 is out of range 0..2", p);
	assert_string_equal(err, want);
	unlink(p);
	assert_int_equal(s.max, 262144);	/* line 1 not applied */

	p = temp_file("nf_conntrack_max = 1000\n"
		      "   nf_conntrack_bogus = 1\n");
	assert_int_equal(ct_settings_load(&s, p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2:4: unknown setting \"nf_conntrack_bogus\"", p);
	assert_string_equal(err, want);
	unlink(p);
	assert_int_equal(s.max, 262144);

	p = temp_file("# ok\n"
		      "  nf_conntrack_max 1000\n");
	assert_int_equal(ct_settings_load(&s, p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2:3: expected \"name = value\"", p);
	assert_string_equal(err, want);
	unlink(p);

	assert_int_equal(ct_settings_load(&s, "/nonexistent/ctsim.conf", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/ctsim.conf: "));
	assert_int_equal(s.max, 262144);
}

/* The default timeout of a new entry by protocol (and TCP/SCTP state). */
static void test_default_timeouts(void **state)
{
	struct ct_settings s;

	(void)state;
	ct_settings_init(&s);
	assert_int_equal(ct_settings_timeout(&s, AF_INET, IPPROTO_TCP, CT_TCP_SYN_SENT), 120);
	assert_int_equal(ct_settings_timeout(&s, AF_INET6, IPPROTO_TCP, CT_TCP_ESTABLISHED), 432000);
	assert_int_equal(ct_settings_timeout(&s, AF_INET, IPPROTO_UDP, 0), 30);
	assert_int_equal(ct_settings_timeout(&s, AF_INET, IPPROTO_UDPLITE, 0), 30);
	assert_int_equal(ct_settings_timeout(&s, AF_INET, IPPROTO_GRE, 0), 30);
	assert_int_equal(ct_settings_timeout(&s, AF_INET, IPPROTO_SCTP, CT_SCTP_ESTABLISHED), 210);
	assert_int_equal(ct_settings_timeout(&s, AF_INET, IPPROTO_ESP, 0), 600);
	s.icmp_timeout = 11;
	s.icmpv6_timeout = 22;
	assert_int_equal(ct_settings_timeout(&s, AF_INET, IPPROTO_ICMP, 0), 11);
	assert_int_equal(ct_settings_timeout(&s, AF_INET6, IPPROTO_ICMPV6, 0), 22);
	/* ICMP over IPv6 (and ICMPv6 over IPv4) is generic to the kernel */
	assert_int_equal(ct_settings_timeout(&s, AF_INET6, IPPROTO_ICMP, 0), 600);
	assert_int_equal(ct_settings_timeout(&s, AF_INET, IPPROTO_ICMPV6, 0), 600);
	/* follows later changes */
	s.udp_timeout = 99;
	assert_int_equal(ct_settings_timeout(&s, AF_INET, IPPROTO_UDP, 0), 99);
}

/* --list-settings: one "name = value" line per setting, docs after '#'. */
static void test_print(void **state)
{
	struct ct_settings s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	ct_settings_init(&s);
	s.udp_timeout = 77;
	ct_settings_print(&s, f);
	fclose(f);
	assert_non_null(strstr(buf, "\nnf_conntrack_udp_timeout = 77\n"));
	assert_non_null(strstr(buf, "\nnf_conntrack_tcp_timeout_established = 432000\n"));
	assert_non_null(strstr(buf, "nf_conntrack_max = 262144\t# "));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_are_the_kernels),
		cmocka_unit_test(test_set_by_name),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_load_errors_located),
		cmocka_unit_test(test_default_timeouts),
		cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
