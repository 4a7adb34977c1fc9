/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset.h — the scripted hook chain: a documented subset of nft(8) syntax
 * (docs/ruleset.md), parsed into tables, chains and rules, and evaluated
 * against packets at each hook of the ladder, as nf_tables does.
 *
 * The parts, one file each (ruleset_int.h is what the first five share):
 *   ruleset_lex.c      tokens and their locations (nft's scanner)
 *   ruleset_names.c    symbol and key tables, priority names, lookups by name
 *   ruleset_parse.c    grammar -> the representation below (nft's parser)
 *   ruleset_check.c    checks after parsing, located errors with carets
 *   ruleset_print.c    one printer for `nft list ruleset` text and JSON
 *   ruleset_eval.c     nft_do_chain(): rules against a struct ct_skb
 *   ruleset_default.c  the built-in stateful router firewall (text)
 *
 * Life cycle: parse (NULL + errors, or a ruleset; nothing half-loaded),
 * evaluate any number of times (counters change, nothing else), free.
 * Reload = parse the new one, swap the pointer, free the old one: the
 * conntrack table is not touched (new rules do not change existing flows'
 * entries, exactly the kernel behaviour students trip over).
 *
 * The representation below is public so that the printer, the tracer and
 * tests can read it; only the parser builds it.
 */
#ifndef CTSIM_RULESET_H
#define CTSIM_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "ctsim/core/pipeline.h"
#include "ctsim/core/ct_timeout.h"

/* ---------------------------------------------------------------------- */
/* Errors (nft style: FILE:LINE:COL-COL: Error: MSG, line echoed, carets)  */

struct rs_error {
	char *file;		/* the name given to the parser */
	unsigned line;		/* 1-based */
	unsigned col_first;	/* 1-based, inclusive */
	unsigned col_last;
	char *msg;
	char *src_line;		/* the source line, without its newline */
};

struct rs_errors {
	struct rs_error *v;
	size_t n, cap;
};

/** rs_errors_init - an empty list (a zeroed struct is one too). */
void rs_errors_init(struct rs_errors *errs);
/** rs_errors_free - free every record; the list is empty afterwards. */
void rs_errors_free(struct rs_errors *errs);
/**
 * rs_errors_print - print every error the way nft does:
 *   FILE:LINE:COL-COL: Error: MESSAGE
 *   <the source line>
 *   <spaces>^^^^
 * (tabs of the source line are kept in the indentation so carets line up).
 */
void rs_errors_print(const struct rs_errors *errs, FILE *f);

/* ---------------------------------------------------------------------- */
/* Representation                                                          */

enum rs_family { RS_FAM_IP, RS_FAM_IP6, RS_FAM_INET };

/* What a match reads (one row each in the key table of ruleset_names.c). */
enum rs_key {
	RS_K_IP_SADDR, RS_K_IP_DADDR, RS_K_IP6_SADDR, RS_K_IP6_DADDR,
	RS_K_META_L4PROTO, RS_K_META_NFPROTO, RS_K_META_MARK,
	RS_K_META_IIF, RS_K_META_OIF, RS_K_META_IIFNAME, RS_K_META_OIFNAME,
	RS_K_TCP_SPORT, RS_K_TCP_DPORT, RS_K_TCP_FLAGS, RS_K_UDP_SPORT, RS_K_UDP_DPORT,
	RS_K_ICMP_TYPE, RS_K_ICMPV6_TYPE,
	RS_K_CT_STATE, RS_K_CT_STATUS, RS_K_CT_DIRECTION, RS_K_CT_MARK, RS_K_CT_ZONE,
	RS_K_CT_HELPER, RS_K_CT_TIMEOUT,
	RS_K_MAX
};

/* How a match compares (nft's relational and bitwise forms, as nft 1.0.6
 * generates them; see docs/ruleset.md "Matches"). */
enum rs_op {
	RS_OP_EQ,	/* KEY V, KEY == V: equality; for flag types "any bit of V" */
	RS_OP_NEQ,	/* KEY != V: exact inequality, also for flag types */
	RS_OP_MASK_EQ,	/* KEY & M == V, KEY V / M */
	RS_OP_MASK_NEQ,	/* KEY & M != V */
};

/* One value of a match: a number range, an address range or a name. */
struct rs_value {
	uint64_t lo, hi;		/* numbers and flags: [lo, hi] (lo == hi: single) */
	union ct_addr alo, ahi;		/* addresses: [alo, ahi], network order */
	int plen;			/* >= 0: given as a prefix of that length; -1 otherwise */
	char *str;			/* interface names ("eth*" = prefix), helper names */
};

struct rs_match {
	enum rs_key key;
	enum rs_op op;
	bool set;			/* given as { a, b, ... }: membership */
	bool list;			/* flags given as a,b (printed back so) */
	uint64_t mask;			/* RS_OP_MASK_*: the mask */
	size_t nvals;
	struct rs_value *vals;		/* one for a single value; the list or set */
};

enum rs_stmt_type {
	RS_S_ACCEPT, RS_S_DROP, RS_S_REJECT, RS_S_RETURN, RS_S_JUMP, RS_S_GOTO,
	RS_S_COUNTER, RS_S_LOG, RS_S_NOTRACK, RS_S_CT_MARK_SET, RS_S_CT_ZONE_SET,
	RS_S_CT_HELPER_SET, RS_S_META_MARK_SET, RS_S_NFTRACE_SET,
	RS_S_SNAT, RS_S_DNAT, RS_S_MASQUERADE, RS_S_REDIRECT,
	RS_S_CT_TIMEOUT_SET,
};

enum rs_reject_kind {
	RS_REJECT_ICMP,		/* ICMP destination unreachable, code = icmp code */
	RS_REJECT_ICMPV6,	/* ICMPv6 destination unreachable, code */
	RS_REJECT_ICMPX,	/* inet: the ICMP or ICMPv6 code for the packet's family */
	RS_REJECT_TCP_RESET,
};

/* ICMPX codes (NFT_REJECT_ICMPX_*) */
#define RS_ICMPX_NO_ROUTE		0
#define RS_ICMPX_PORT_UNREACH		1
#define RS_ICMPX_HOST_UNREACH		2
#define RS_ICMPX_ADMIN_PROHIBITED	3

enum rs_nat_type { RS_NAT_SNAT, RS_NAT_DNAT, RS_NAT_MASQUERADE, RS_NAT_REDIRECT };

struct rs_nat {
	enum rs_nat_type type;
	uint8_t family;			/* AF_INET, AF_INET6, 0 = no address given */
	union ct_addr addr_min, addr_max;
	uint16_t port_min, port_max;	/* 0 = no port given */
	unsigned flags;			/* RS_NAT_F_*: the statement's flags */
	uint8_t plen;			/* given as a prefix ADDR/PLEN (0: not a prefix) */
	struct rs_nat_map *map;		/* `to KEY map { K : V, ... }`, else NULL */
};

/* An anonymous NAT map (`dnat to tcp dport map { 80 : 10.0.0.2, ... }`):
 * the packet's KEY selects an element, whose value is the address (and
 * port, `ADDR . PORT`) the statement maps to; no element: the rule stops
 * there (nft_lookup's NFT_BREAK), no NAT. */
struct rs_nat_map {
	struct rs_match key;		/* the key and the elements' keys (vals[]) */
	struct rs_nat *to;		/* [key.nvals]: family, addr_min = addr_max, ports */
	bool concat;			/* values are ADDR . PORT */
};

/* NAT statement flags (nft: random, fully-random, persistent), the values
 * of NF_NAT_RANGE_PROTO_RANDOM, _PERSISTENT, _PROTO_RANDOM_FULLY */
#define RS_NAT_F_RANDOM		(1u << 2)
#define RS_NAT_F_PERSISTENT	(1u << 3)
#define RS_NAT_F_FULLY_RANDOM	(1u << 4)

struct rs_chain;
struct rs_helper;
struct rs_timeout;

struct rs_stmt {
	enum rs_stmt_type type;
	unsigned line, col, len;	/* where it was written: the argument for jump/goto,
					 * ct helper set; the keyword otherwise */
	union {
		struct { enum rs_reject_kind kind; uint8_t code; bool given; } reject;
		struct { struct rs_chain *target; char *name; } jump;	/* jump, goto */
		struct { uint64_t packets, bytes; } counter;		/* live counters */
		struct { char *prefix; } log;
		uint32_t value;						/* marks, zone, nftrace */
		struct { struct rs_helper *obj; char *name; } helper;
		struct { struct rs_timeout *obj; char *name; } timeout;	/* ct timeout set */
		struct rs_nat nat;
	} u;
};

struct rs_rule {
	unsigned handle;		/* position in the ruleset, 1-based, as nft handles */
	unsigned line;			/* source line */
	char *text;			/* the rule as ruleset_print() prints it (no counters) */
	size_t nmatches, nstmts;
	struct rs_match *matches;
	struct rs_stmt *stmts;
};

enum rs_chain_type { RS_CHAIN_FILTER, RS_CHAIN_NAT };

struct rs_table;

struct rs_chain {
	char *name;
	struct rs_table *table;
	bool base;			/* has a `type ... hook ... priority` line */
	enum rs_chain_type type;
	enum ct_hook hook;
	int prio;
	int policy;			/* CT_ACCEPT or CT_DROP */
	unsigned line;
	size_t nrules, cap;
	struct rs_rule *rules;
};

struct rs_helper {			/* ct helper NAME { type "ftp" protocol tcp; } */
	char *name;
	char *type;			/* kernel helper name, e.g. "ftp" */
	uint8_t l4proto;
	enum rs_family l3proto;
};

/* ct timeout NAME { protocol tcp; l3proto ip; policy = { established: 120 } } */
struct rs_timeout {
	enum rs_family l3proto;
	struct ct_timeout_obj pol;	/* pol.name is the object's name (owned) */
};

struct rs_table {
	char *name;
	enum rs_family family;
	size_t nchains, nhelpers, ntimeouts;
	struct rs_chain **chains;
	struct rs_helper **helpers;
	struct rs_timeout **timeouts;
};

struct ruleset {
	char *name;			/* file name or the name given to parse_string */
	size_t ntables;
	struct rs_table **tables;
	/* Base chains per hook, sorted by priority (then declaration order). */
	size_t nhook[CT_HOOK_MAX];
	struct rs_chain **hooks[CT_HOOK_MAX];
	/* Unique for the life of the process (a new ruleset at a freed one's
	 * address gets a new serial): lets a caller cache what it derived from
	 * the hook lists (the router's non-empty rows). */
	uint64_t serial;
};

/* ---------------------------------------------------------------------- */
/* Parsing and printing                                                    */

/**
 * ruleset_parse_string - parse @text (named @name in error messages)
 * @errs: receives every error found (appended; may be NULL to discard)
 *
 * The parser keeps going after an error to report as many as it can, but
 * loads nothing: any error means NULL. Returns the ruleset, or NULL on
 * error (also on out-of-memory, reported as an error record).
 */
struct ruleset *ruleset_parse_string(const char *name, const char *text, struct rs_errors *errs);

/**
 * ruleset_parse_file - read @path and parse it (see ruleset_parse_string());
 * "-" reads stdin. A file that cannot be read is one error record
 * ("Could not open file \"x\": No such file or directory").
 */
struct ruleset *ruleset_parse_file(const char *path, struct rs_errors *errs);

/** ruleset_default_text - the built-in default ruleset's source text. */
const char *ruleset_default_text(void);

/**
 * ruleset_default - parse the built-in default ruleset (name "default").
 * Never NULL except on out-of-memory (the text is checked by the tests).
 */
struct ruleset *ruleset_default(void);

/** ruleset_free - free @rs and everything in it; NULL is fine. */
void ruleset_free(struct ruleset *rs);

/**
 * ruleset_print - print @rs as `nft list ruleset` does (tabs, one rule per
 * line, standard priority names, counters with their current values), or
 * with @json as `nft -j list ruleset` does (its "nftables" array of
 * table/chain/rule objects; rule expressions are given as their text in
 * "expr_text", not nft's full expression tree). The text output parses back
 * to the same ruleset.
 */
void ruleset_print(const struct ruleset *rs, FILE *f, bool json);

/**
 * ruleset_to_json - @rs as the JSON document ruleset_print(@json) prints:
 * {"nftables": [metainfo, then per table: the table, its ct helpers, its
 * chains, its rules]} with each rule's "expr_text" (counters included) and
 * a "counter" object {packets, bytes} when the rule has counters. Text and
 * JSON come from the same walk, so they always agree.
 *
 * Returns a new reference (json_decref() it), or NULL when @rs is NULL or
 * memory ran out. For callers that embed the ruleset in a larger document.
 */
json_t *ruleset_to_json(const struct ruleset *rs);

/**
 * ruleset_print_buf - ruleset_print() into @buf (@cap bytes, not
 * NUL-terminated), its length in *@len: the listing a control reply
 * carries (`ctctl ruleset`). Returns 0, ENOMEM, or EMSGSIZE when the
 * listing is longer than @cap (then @buf holds nothing useful).
 */
int ruleset_print_buf(const struct ruleset *rs, bool json, char *buf, size_t cap, size_t *len);

/** ruleset_reset_counters - zero every `counter` (nft reset counters). */
void ruleset_reset_counters(struct ruleset *rs);

/** rs_hook_name - "prerouting", "input", ... as nft spells hooks. */
const char *rs_hook_name(enum ct_hook hook);
/** rs_family_name - "ip", "ip6", "inet". */
const char *rs_family_name(enum rs_family fam);

/* ---------------------------------------------------------------------- */
/* Evaluation                                                              */

#define RS_MAX_LOGS	8
#define RS_LOG_LEN	512
#define RS_MAX_NAT	4

/* One step of the trace, shaped like `nft monitor trace` lines. */
enum rs_trace_kind {
	RS_TRACE_RULE,		/* a rule matched: verdict given (or "continue") */
	RS_TRACE_RETURN,	/* end of a regular chain reached: back to the caller
				 * (not sent: the kernel traces no such step) */
	RS_TRACE_POLICY,	/* end of a base chain: its policy applies */
};

struct rs_trace_ev {
	enum rs_trace_kind kind;
	const struct rs_table *table;
	const struct rs_chain *chain;
	const struct rs_rule *rule;	/* RS_TRACE_RULE */
	const char *verdict;		/* "accept", "drop", "jump x", "continue" ... */
	bool first;			/* the first traced step of this base chain's run
					 * (nft prints the packet before it: the kernel
					 * dumps it once per nft_do_chain()) */
};

typedef void (*rs_trace_fn)(void *ctx, const struct rs_trace_ev *ev);

struct rs_result {
	/* Set by the caller, kept by ruleset_run_hook(). */
	rs_trace_fn trace;	/* called for every traced step, when non-NULL and */
	void *trace_ctx;	/* the packet has meta nftrace set (or trace_all) */
	bool trace_all;
	bool traced;		/* private: the current base chain traced a step */
	struct ct_core *core;	/* for `ct timeout set` (the sysctls, the clock);
				 * NULL: that statement does nothing */

	/* Filled by ruleset_run_hook(). */
	int verdict;				/* CT_ACCEPT or CT_DROP */
	const struct rs_chain *chain;		/* the chain of the deciding rule or policy */
	const struct rs_rule *rule;		/* the deciding rule; NULL = chain policy */
	bool rejected;				/* a reject statement dropped the packet */
	enum rs_reject_kind reject_kind;
	uint8_t reject_code;
	unsigned nnat;				/* NAT requests (router_nat.c applies them) */
	struct rs_nat nat[RS_MAX_NAT];
	const struct rs_chain *nat_chain[RS_MAX_NAT];	/* where each request was made: */
	const struct rs_rule *nat_rule[RS_MAX_NAT];	/* the chain (maybe a jump target) and rule */
	unsigned nlogs;				/* log statements met, kernel nf_log style */
	char logs[RS_MAX_LOGS][RS_LOG_LEN];
	unsigned chains_run;			/* base chains evaluated */
};

/**
 * ruleset_run_hook - run every base chain attached to @hook, of every table
 * whose family fits the packet (ip: IPv4, ip6: IPv6, inet: both), whose
 * priority is in [@prio_min, @prio_max], in priority order — nf_hook_slow()
 * walking the hook's entries, each running nft_do_chain().
 *
 * Within a chain: rules in order; a rule matches when all its matches do;
 * its statements run left to right (counter, log, marks ...) until a
 * verdict. accept ends this chain (the next base chain still runs), drop
 * and reject end the hook with CT_DROP, jump/goto/return as in nft, the end
 * of a base chain applies its policy. NAT chains (type nat) are run only for
 * packets whose entry is new and unconfirmed (nf_nat_inet_fn()); a NAT
 * statement is an accept and records a NAT request.
 *
 * Effects on @skb: meta mark set and meta nftrace set change skb->pkt;
 * ct mark set changes skb->ct->mark (no entry: nothing, as in the kernel);
 * notrack sets skb->untracked, ct zone set fills skb->zone and ct helper
 * set skb->helper (templates: they matter before conntrack at -200).
 *
 * @res is cleared (except its trace fields) and filled. Returns
 * res->verdict. @rs may be NULL: no rules, CT_ACCEPT.
 */
int ruleset_run_hook(struct ruleset *rs, enum ct_hook hook, int prio_min, int prio_max,
		     struct ct_skb *skb, struct rs_result *res);

/**
 * ruleset_hook_priorities - the distinct priorities of the base chains at
 * @hook, ascending, into @out (at most @n). Returns how many there are
 * (may exceed @n).
 */
size_t ruleset_hook_priorities(const struct ruleset *rs, enum ct_hook hook, int *out, size_t n);

/**
 * rs_log_format - the `log` statement's line for @p (parsed; its data the
 * packet as it is at the rule) with @prefix (NULL: none) into @buf (@n
 * bytes, NUL-terminated, cut at @n - 1), in the kernel's nf_log_syslog
 * format (ctsim/hooks/nf_log.c), with the RS_LOG_* @flags below.
 * Returns the length.
 */
size_t rs_log_format(char *buf, size_t n, const char *prefix, const struct ct_pkt *p,
		     unsigned flags);

/* rs_log_format() @flags: NF_LOG_TCPSEQ, NF_LOG_TCPOPT, NF_LOG_IPOPT (the
 * `log flags` of nft; NF_LOG_DEFAULT_MASK, all three, for the lines of
 * nf_conntrack_log_invalid) */
#define RS_LOG_TCPSEQ	0x01
#define RS_LOG_TCPOPT	0x02
#define RS_LOG_IPOPT	0x04
#define RS_LOG_DEFAULT	0x0f

/**
 * rs_ct_state_bit - the `ct state` bit of a packet (NF_CT_STATE_BIT()):
 * invalid 1, established 2, related 4, new 8, untracked 64.
 */
uint32_t rs_ct_state_bit(const struct ct_skb *skb);

#endif
