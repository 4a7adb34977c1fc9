/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_timeout_policy.c — unit tests of the named timeout policies
 * (ctsim/core/timeout_policy.[ch]): the attribute layout per protocol (the
 * kernel's CTA_TIMEOUT_<PROTO>_MAX), the defaults read from and written to
 * the sysctls, the list (creation order, lookup, deletion refused while
 * referenced) and the per-state timeout an entry would get.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <string.h>
#include "ctsim/core/timeout_policy.h"

static void test_layout(void **state)
{
	(void)state;
	assert_int_equal(ct_timeout_nattrs(IPPROTO_TCP), 11);
	assert_int_equal(ct_timeout_nattrs(IPPROTO_UDP), 2);
	assert_int_equal(ct_timeout_nattrs(136), 2);
	assert_int_equal(ct_timeout_nattrs(IPPROTO_GRE), 2);
	assert_int_equal(ct_timeout_nattrs(IPPROTO_ICMP), 1);
	assert_int_equal(ct_timeout_nattrs(IPPROTO_ICMPV6), 1);
	assert_int_equal(ct_timeout_nattrs(255), 1);
	assert_int_equal(ct_timeout_nattrs(IPPROTO_SCTP), 9);
	assert_int_equal(ct_timeout_nattrs(33), 0);	/* DCCP: gone in 6.18 */
	assert_int_equal(ct_timeout_nattrs(0), 0);
	assert_string_equal(ct_timeout_attr_name(IPPROTO_TCP, 3), "ESTABLISHED");
	assert_string_equal(ct_timeout_attr_name(IPPROTO_TCP, 11), "UNACKNOWLEDGED");
	assert_null(ct_timeout_attr_name(IPPROTO_TCP, 12));
	assert_null(ct_timeout_attr_name(IPPROTO_TCP, 0));
}

static void test_defaults_are_the_sysctls(void **state)
{
	struct ct_settings s;
	uint32_t v[CT_TIMEOUT_ATTR_MAX + 1];

	(void)state;
	ct_settings_init(&s);
	ct_timeout_defaults(&s, IPPROTO_TCP, v);
	assert_int_equal(v[1], 120);
	assert_int_equal(v[3], 432000);
	assert_int_equal(v[10], 300);
	assert_int_equal(v[11], 300);
	ct_timeout_defaults(&s, IPPROTO_SCTP, v);
	assert_int_equal(v[4], 210);
	assert_int_equal(v[8], 30);
	assert_int_equal(v[9], 0);			/* HEARTBEAT_ACKED: no state */
	ct_timeout_set_default(&s, IPPROTO_UDP, 1, 44);
	assert_int_equal(s.udp_timeout, 44);
	ct_timeout_set_default(&s, IPPROTO_UDP, 2, 99);
	assert_int_equal(s.udp_timeout_stream, 99);
	ct_timeout_set_default(&s, IPPROTO_SCTP, 9, 5);	/* ignored */
	ct_timeout_defaults(&s, IPPROTO_SCTP, v);
	assert_int_equal(v[9], 0);
}

static void test_list(void **state)
{
	struct ct_timeout_policies tp = { 0 };
	uint32_t v[CT_TIMEOUT_ATTR_MAX + 1] = { 0 };
	struct ct_timeout_policy *a, *b;

	(void)state;
	v[1] = 5;
	v[2] = 9;
	a = ct_timeout_add(&tp, "a", AF_INET, IPPROTO_UDP, v);
	b = ct_timeout_add(&tp, "b", AF_INET6, IPPROTO_TCP, v);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_equal(tp.head, a);
	assert_ptr_equal(a->next, b);
	assert_ptr_equal(ct_timeout_find(&tp, "b"), b);
	assert_null(ct_timeout_find(&tp, "c"));
	assert_int_equal(ct_timeout_state_secs(a, 0, false), 5);
	assert_int_equal(ct_timeout_state_secs(a, 0, true), 9);
	assert_int_equal(ct_timeout_state_secs(b, CT_TCP_NONE, false), 5);	/* SYN_SENT's */
	ct_timeout_get(a);
	assert_int_equal(ct_timeout_del(&tp, a), -EBUSY);
	assert_ptr_equal(ct_timeout_find(&tp, "a"), a);
	ct_timeout_put(a);
	assert_int_equal(ct_timeout_del(&tp, a), 0);
	assert_null(ct_timeout_find(&tp, "a"));
	assert_ptr_equal(tp.head, b);
	ct_timeout_free_all(&tp);
	assert_null(tp.head);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_defaults_are_the_sysctls),
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
