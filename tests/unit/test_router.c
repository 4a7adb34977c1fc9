/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_router.c — the hook ladder (ctsim/hooks/router.c): the table of rows
 * (hook, priority, what runs) in nf_hook_entries order, each base chain
 * type running in the row of its priority, and what the router hands its
 * caller: the NAT statements that matched (r->last.nat[]) and every traced
 * step with its row (r->trace).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctsim/hooks/router.h"
#include "ctsim/hooks/ruleset.h"
#include "harness.h"

#define MAX_STEPS 32

struct fixture {
	struct ct_harness h;
	struct router r;
	unsigned nsent;
	struct h_packet sent;		/* the last packet the router transmitted */
	unsigned nsteps;		/* traced ends of base chains: (row, chain) */
	const char *step_row[MAX_STEPS];
	const char *step_chain[MAX_STEPS];
	unsigned nevents;		/* every traced ruleset step */
	unsigned nct, nend, nhook;	/* traced conntrack steps, packet ends, ladder rows */
	bool ct_ctinfo_new;		/* a traced "ctinfo IP_CT_NEW" step was seen */
};

static void xmit(void *arg, int oif, const uint8_t *pkt, size_t len)
{
	struct fixture *f = arg;

	(void)oif;
	assert_true(len <= sizeof(f->sent.buf));
	memcpy(f->sent.buf, pkt, len);
	f->sent.len = len;
	f->nsent++;
}

static void on_trace(void *ctx, const struct router_trace_step *st)
{
	struct fixture *f = ctx;
	const struct router_row *row = st->row;
	const struct rs_trace_ev *ev = st->rule;

	if (st->end) {
		f->nend++;
		return;
	}
	if (st->hook) {
		f->nhook++;
		assert_non_null(row);
		return;
	}
	if (st->text) {
		f->nct++;
		if (st->kind == CT_TR_CTINFO && !strncmp(st->text, "IP_CT_NEW ", 10)) {
			f->ct_ctinfo_new = true;
			assert_string_equal(row->name, "conntrack");
		}
		return;
	}
	f->nevents++;
	/* a base chain's end: its policy applies (the chains below all accept) */
	if (ev->kind == RS_TRACE_POLICY && f->nsteps < MAX_STEPS) {
		f->step_row[f->nsteps] = row->name;
		f->step_chain[f->nsteps++] = ev->chain->name;
		assert_int_equal(row->hook, ev->chain->hook);
		assert_true(ev->chain->prio >= row->prio_min && ev->chain->prio <= row->prio_max);
	}
}

static int setup(void **state)
{
	static struct fixture f;
	union ct_addr c = h_addr("10.0.1.1"), s = h_addr("10.0.2.1");

	memset(&f, 0, sizeof(f));
	assert_int_equal(ct_harness_init(&f.h, 64, 1000, 4242), 0);
	router_init(&f.r, &f.h.core, xmit, &f);
	assert_int_equal(router_add_if(&f.r, "ct-c0", &c, 24, NULL, 0), 0);
	assert_int_equal(router_add_if(&f.r, "ct-s0", &s, 24, NULL, 0), 1);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ruleset_free(f->r.rs);
	router_fini(&f->r);
	ct_harness_fini(&f->h);
	return 0;
}

static struct ruleset *load(const char *text)
{
	struct rs_errors errs = { 0 };
	struct ruleset *rs = ruleset_parse_string("t.nft", text, &errs);

	if (!rs)
		rs_errors_print(&errs, stderr);
	assert_non_null(rs);
	rs_errors_free(&errs);
	return rs;
}

/* A UDP datagram from the client side (iif 0) to the server subnet. */
static int send_udp(struct fixture *f, const char *src, const char *dst, uint16_t sport,
		    uint16_t dport, int iif)
{
	struct h_packet p = h_udp(src, dst, sport, dport, "ping", 4);

	return router_receive(&f->r, iif, p.buf, p.len, ct_clock_now(&f->h.clock));
}

/* ---------------------------------------------------------------------- */
/* The table                                                               */

static const struct router_row *find_row(enum ct_hook hook, const char *name)
{
	size_t n;
	const struct router_row *rows = router_ladder(&n);

	for (size_t i = 0; i < n; i++)
		if (rows[i].hook == hook && !strcmp(rows[i].name, name))
			return &rows[i];
	return NULL;
}

static void test_ladder_order(void **state)
{
	static const char *const pre[] = { "raw", "conntrack", "mangle", "dstnat", "filter" };
	static const char *const post[] = { "filter", "srcnat", "confirm" };
	size_t n, k;
	const struct router_row *rows = router_ladder(&n);
	char *out = NULL;
	size_t len = 0, lines = 0;
	FILE *f;

	(void)state;
	assert_true(n > 0);
	for (int h = 0; h < CT_HOOK_MAX; h++) {
		long next_lo = INT_MIN;	/* the bands of a hook cover every priority once */
		int last_prio = INT_MIN;
		bool any = false;

		for (size_t i = 0; i < n; i++) {
			if (rows[i].hook != (enum ct_hook)h)
				continue;
			/* a hook's rows stand together: the router runs them as
			 * one slice of the table */
			assert_true(!any || rows[i - 1].hook == (enum ct_hook)h);
			any = true;
			assert_non_null(rows[i].why);
			assert_true(rows[i].prio >= last_prio);	/* sorted by priority */
			last_prio = rows[i].prio;
			if (rows[i].step == ROUTER_STEP_RULES || rows[i].step == ROUTER_STEP_NAT) {
				assert_int_equal(rows[i].prio_min, next_lo);
				assert_true(rows[i].prio_max >= rows[i].prio_min);
				next_lo = (long)rows[i].prio_max + 1;
			}
		}
		assert_true(any);
		assert_int_equal(next_lo, (long)INT_MAX + 1);
	}
	/* grouped by hook, in enum order */
	for (size_t i = 1; i < n; i++)
		assert_true(rows[i].hook >= rows[i - 1].hook);
	/* the kernel's priorities: PREROUTING and OUTPUT the same ladder */
	for (int o = 0; o < 2; o++) {
		enum ct_hook hook = o ? CT_HOOK_OUTPUT : CT_HOOK_PREROUTING;

		k = 0;
		for (size_t i = 0; i < n; i++)
			if (rows[i].hook == hook) {
				assert_true(k < 5);
				assert_string_equal(rows[i].name, pre[k++]);
			}
		assert_int_equal(k, 5);
		assert_int_equal(find_row(hook, "raw")->prio, -300);
		assert_int_equal(find_row(hook, "raw")->prio_max, -201);
		assert_int_equal(find_row(hook, "conntrack")->prio, -200);
		assert_int_equal(find_row(hook, "conntrack")->step, ROUTER_STEP_CONNTRACK);
		assert_int_equal(find_row(hook, "mangle")->prio, -150);
		assert_int_equal(find_row(hook, "mangle")->prio_min, -200);
		assert_int_equal(find_row(hook, "dstnat")->prio, -100);
		assert_int_equal(find_row(hook, "dstnat")->step, ROUTER_STEP_NAT);
		assert_int_equal(find_row(hook, "filter")->prio, 0);
	}
	for (int o = 0; o < 2; o++) {
		enum ct_hook hook = o ? CT_HOOK_POSTROUTING : CT_HOOK_INPUT;

		k = 0;
		for (size_t i = 0; i < n; i++)
			if (rows[i].hook == hook) {
				assert_true(k < 3);
				assert_string_equal(rows[i].name, post[k++]);
			}
		assert_int_equal(k, 3);
		assert_int_equal(find_row(hook, "srcnat")->prio, 100);
		assert_int_equal(find_row(hook, "srcnat")->step, ROUTER_STEP_NAT);
		assert_int_equal(find_row(hook, "confirm")->prio, INT_MAX);
		assert_int_equal(find_row(hook, "confirm")->step, ROUTER_STEP_CONFIRM);
	}
	assert_null(find_row(CT_HOOK_FORWARD, "conntrack"));
	assert_null(find_row(CT_HOOK_FORWARD, "dstnat"));
	assert_int_equal(find_row(CT_HOOK_FORWARD, "filter")->prio_min, INT_MIN);

	/* the printed table: a header and one line per row */
	f = open_memstream(&out, &len);
	router_ladder_print(f);
	fclose(f);
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, n + 1);
	assert_non_null(strstr(out, "dstnat"));
	free(out);
}

/* ---------------------------------------------------------------------- */
/* Chains run in the row of their priority                                 */

static void test_chain_priorities(void **state)
{
	struct fixture *f = *state;
	/* expected (row, chain) in ladder order for a new forwarded packet */
	static const char *const want[][2] = {
		{ "raw", "p_raw" }, { "mangle", "p_ct" }, { "mangle", "p_mangle" },
		{ "dstnat", "p_dnat" }, { "filter", "p_filter" }, { "filter", "p_late" },
		{ "filter", "f_filter" },
		{ "filter", "o_filter" }, { "srcnat", "o_snat" },
	};
	const struct rs_chain *p_raw, *p_ct;

	f->r.rs = load(
		"table ip t {\n"
		"\tchain p_late {\n\t\ttype filter hook prerouting priority 10;\n\t}\n"
		"\tchain p_filter {\n\t\ttype filter hook prerouting priority filter;\n\t}\n"
		"\tchain p_dnat {\n\t\ttype nat hook prerouting priority dstnat;\n\t}\n"
		"\tchain p_mangle {\n\t\ttype filter hook prerouting priority mangle;\n\t}\n"
		"\tchain p_ct {\n\t\ttype filter hook prerouting priority -200;\n"
		"\t\tct state new counter\n\t}\n"
		"\tchain p_raw {\n\t\ttype filter hook prerouting priority raw;\n"
		"\t\tct state new counter\n\t}\n"
		"\tchain f_filter {\n\t\ttype filter hook forward priority filter;\n\t}\n"
		"\tchain o_snat {\n\t\ttype nat hook postrouting priority srcnat;\n\t}\n"
		"\tchain o_filter {\n\t\ttype filter hook postrouting priority filter;\n\t}\n"
		"}\n");
	f->r.trace = on_trace;
	f->r.trace_ctx = f;
	f->r.trace_all = true;
	assert_int_equal(send_udp(f, "10.0.1.2", "10.0.2.2", 5000, 53, 0), CT_ACCEPT);
	assert_string_equal(f->r.last.verdict, "forwarded");
	assert_int_equal(f->nsent, 1);
	assert_int_equal(f->nsteps, sizeof(want) / sizeof(want[0]));
	for (unsigned i = 0; i < f->nsteps; i++) {
		assert_string_equal(f->step_row[i], want[i][0]);
		assert_string_equal(f->step_chain[i], want[i][1]);
	}
	/* raw runs before conntrack (no ct state yet), -200 after it */
	p_raw = f->r.rs->hooks[CT_HOOK_PREROUTING][0];
	p_ct = f->r.rs->hooks[CT_HOOK_PREROUTING][1];
	assert_string_equal(p_raw->name, "p_raw");
	assert_string_equal(p_ct->name, "p_ct");
	assert_int_equal(p_raw->rules[0].stmts[0].u.counter.packets, 0);
	assert_int_equal(p_ct->rules[0].stmts[0].u.counter.packets, 1);

	/* the next packet of the flow: nat chains no longer run (confirmed) */
	f->nsteps = 0;
	assert_int_equal(send_udp(f, "10.0.1.2", "10.0.2.2", 5000, 53, 0), CT_ACCEPT);
	assert_int_equal(f->nsteps, sizeof(want) / sizeof(want[0]) - 2);
	for (unsigned i = 0; i < f->nsteps; i++) {
		assert_string_not_equal(f->step_chain[i], "p_dnat");
		assert_string_not_equal(f->step_chain[i], "o_snat");
	}
}

/* A chain at INPUT: filter below srcnat, then confirm; nothing is traced
 * without nftrace unless trace_all is set. */
static void test_trace_only_nftrace(void **state)
{
	struct fixture *f = *state;

	f->r.rs = load(
		"table inet t {\n"
		"\tchain in {\n\t\ttype filter hook input priority filter;\n\t\tcounter\n\t}\n"
		"\tchain raw {\n\t\ttype filter hook prerouting priority raw;\n"
		"\t\tudp dport 7 meta nftrace set 1\n\t}\n"
		"}\n");
	f->r.trace = on_trace;
	f->r.trace_ctx = f;
	assert_int_equal(send_udp(f, "10.0.1.2", "10.0.1.1", 5000, 9, 0), CT_ACCEPT);
	assert_string_equal(f->r.last.verdict, "delivered");
	assert_int_equal(f->nevents, 0);
	assert_int_equal(f->nct + f->nend, 0);
	assert_int_equal(send_udp(f, "10.0.1.2", "10.0.1.1", 5001, 7, 0), CT_ACCEPT);
	/* conntrack's steps of the traced packet reach the tracer too (nftrace
	 * was set at raw, before conntrack at -200), then its end */
	assert_true(f->ct_ctinfo_new);
	assert_int_equal(f->nend, 1);
	/* the rows that worked once the packet was traced: conntrack, the
	 * input chain, confirm (raw was entered before nftrace was set) */
	assert_int_equal(f->nhook, 3);
	/* raw: the nftrace rule (traced once the mark is set) and the policy; input: the
	 * counter rule and the policy */
	assert_int_equal(f->nevents, 4);
	assert_int_equal(f->nsteps, 2);
	assert_string_equal(f->step_row[0], "raw");
	assert_string_equal(f->step_row[1], "filter");
	assert_string_equal(f->step_chain[1], "in");
}

/* ---------------------------------------------------------------------- */
/* NAT statements reach the caller and are applied                        */

static void test_nat_results(void **state)
{
	struct fixture *f = *state;
	union ct_addr to = h_addr("10.0.2.9"), dst = h_addr("10.0.2.2");
	union ct_addr gw = h_addr("10.0.2.1"), cl = h_addr("10.0.1.2");
	struct ct_pkt sent;
	const char *reason;
	const struct router_nat *n;

	f->r.rs = load(
		"table ip nat {\n"
		"\tchain pre {\n\t\ttype nat hook prerouting priority dstnat;\n"
		"\t\tudp dport 53 jump to_dns\n\t}\n"
		"\tchain to_dns {\n\t\tudp dport 53 dnat to 10.0.2.9:5353\n\t}\n"
		"\tchain post {\n\t\ttype nat hook postrouting priority srcnat;\n"
		"\t\toifname \"ct-s0\" masquerade\n\t}\n"
		"}\n");
	assert_int_equal(send_udp(f, "10.0.1.2", "10.0.2.2", 5000, 53, 0), CT_ACCEPT);
	assert_string_equal(f->r.last.verdict, "forwarded");
	assert_int_equal(f->r.last.nnat, 2);

	n = &f->r.last.nat[0];
	assert_int_equal(n->row->hook, CT_HOOK_PREROUTING);
	assert_string_equal(n->row->name, "dstnat");
	assert_string_equal(n->chain->name, "to_dns");	/* the jump target holds the rule */
	assert_int_equal(n->rule->handle, 2);
	assert_int_equal(n->nat.type, RS_NAT_DNAT);
	assert_int_equal(n->nat.family, AF_INET);
	assert_memory_equal(n->nat.addr_min.b, to.b, 4);
	assert_int_equal(n->nat.port_min, 5353);

	n = &f->r.last.nat[1];
	assert_int_equal(n->row->hook, CT_HOOK_POSTROUTING);
	assert_string_equal(n->row->name, "srcnat");
	assert_string_equal(n->chain->name, "post");
	assert_int_equal(n->nat.type, RS_NAT_MASQUERADE);

	/* applied (router_nat.c): the packet left DNATed to 10.0.2.9:5353 and
	 * masqueraded to ctsim's address on ct-s0, its checksums still good */
	assert_int_equal(f->nsent, 1);
	memset(&sent, 0, sizeof(sent));
	sent.data = f->sent.buf;
	sent.len = f->sent.len;
	assert_true(ct_pkt_parse(&sent, &reason) >= 0);
	assert_memory_equal(sent.dst.b, to.b, 4);
	assert_int_equal(sent.dport, 5353);
	assert_memory_equal(sent.src.b, gw.b, 4);
	assert_int_equal(sent.sport, 5000);
	assert_true(ct_pkt_l4_csum_ok(&sent));

	/* the reply comes back to ctsim's address and leaves for the client
	 * as an answer from 10.0.2.2:53; no NAT chain runs, nothing recorded */
	assert_int_equal(send_udp(f, "10.0.2.9", "10.0.2.1", 5353, 5000, 1), CT_ACCEPT);
	assert_int_equal(f->r.last.nnat, 0);
	assert_string_equal(f->r.last.verdict, "forwarded");
	memset(&sent, 0, sizeof(sent));
	sent.data = f->sent.buf;
	sent.len = f->sent.len;
	assert_true(ct_pkt_parse(&sent, &reason) >= 0);
	assert_memory_equal(sent.src.b, dst.b, 4);
	assert_int_equal(sent.sport, 53);
	assert_memory_equal(sent.dst.b, cl.b, 4);
	assert_int_equal(sent.dport, 5000);
	assert_true(ct_pkt_l4_csum_ok(&sent));
	assert_int_equal(send_udp(f, "10.0.1.2", "10.0.2.2", 5000, 53, 0), CT_ACCEPT);
	assert_int_equal(f->r.last.nnat, 0);
}

/* No ruleset: every hook accepts, nothing recorded; the verdicts of the
 * ladder are the router's (a TTL of 1 still dies when forwarded). */
static void test_no_ruleset(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(send_udp(f, "10.0.1.2", "10.0.2.2", 5000, 53, 0), CT_ACCEPT);
	assert_string_equal(f->r.last.verdict, "forwarded");
	assert_int_equal(f->r.last.nnat, 0);
	assert_int_equal(send_udp(f, "10.0.1.2", "10.9.9.9", 5000, 53, 0), CT_DROP);
	assert_string_equal(f->r.last.why, "no route");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ladder_order),
		cmocka_unit_test_setup_teardown(test_chain_priorities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_only_nftrace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nat_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_ruleset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
