/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctctl.h — what the pieces of ctctl share.
 *
 *   main.c          global options, the verb table, the command loop
 *                   (one-shot, batch, shell)
 *   request.c       the connection and the one request helper every verb
 *                   uses (connect, send, receive, print the failure)
 *   conntrack.c     the conntrack table: list get add update delete flush
 *                   count stats monitor
 *   expect.c        the expectation table: expect list|add|delete|flush|monitor
 *   control.c       ctsim's own operations: advance reload ruleset
 *   parse.c         the keyword table and the selector/option parser
 *   (printing: proto/ctnl_print.c, shared with `ctsim replay`)
 *
 * One file per object, as iproute2 has one per `ip OBJECT`. A verb is one
 * row of ctctl_cmds[] (main.c): its name, aliases, handler, the keywords
 * it accepts (a mask over the keyword table in parse.c), extra bare words,
 * a synopsis and a one-line help. The parser, the Tab completion and
 * `help` all read the same row.
 */
#ifndef CTCTL_CTCTL_H
#define CTCTL_CTCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/ctnl.h"
#include "proto/ctnl_client.h"
#include "proto/ctnl_print.h"

/* Exit codes, as conntrack(8): */
enum {
	CTCTL_OK    = 0,	/* success */
	CTCTL_FAIL  = 1,	/* the operation failed */
	CTCTL_USAGE = 2,	/* bad command line */
};

/* Global options, set once by main.c; the printer options are handed to
 * proto/ctnl_print.c with ctnl_print_setup() at startup. */
struct ctctl_opts {
	const char *socket;	/* NULL: $CTSIM_SOCKET or the default */
	bool force;
	struct ctnl_print_opts print;	/* json, pretty, -o flags (CTNL_O_*) */
};
extern struct ctctl_opts ctctl_opts;

/*
 * The words of one command, the cursor of the parser and what is needed
 * to point at a word in an error message. argv[0] is the verb.
 */
struct ctctl_args {
	int argc;
	char **argv;
	int i;			/* next word to read */
	const char *where;	/* "FILE:LINE" in batch mode, else NULL */
};

/* ---- parse.c ------------------------------------------------------- */

/* Keywords of the selector/option language; one row each in parse.c. */
enum ctctl_kw {
	KW_PROTO, KW_SRC, KW_DST, KW_SPORT, KW_DPORT,
	KW_RSRC, KW_RDST, KW_RSPORT, KW_RDPORT,
	KW_TYPE, KW_CODE, KW_ICMPID,
	KW_STATE, KW_TIMEOUT, KW_MARK, KW_ZONE, KW_STATUS, KW_FAMILY, KW_ID,
	KW__MAX
};
#define KWB(k)		(1u << (k))
/* The selector: what identifies a conntrack entry. */
#define KWS_TUPLE	(KWB(KW_PROTO) | KWB(KW_SRC) | KWB(KW_DST) | KWB(KW_SPORT) | \
			 KWB(KW_DPORT) | KWB(KW_RSRC) | KWB(KW_RDST) | KWB(KW_RSPORT) | \
			 KWB(KW_RDPORT) | KWB(KW_TYPE) | KWB(KW_CODE) | KWB(KW_ICMPID) | \
			 KWB(KW_ZONE) | KWB(KW_FAMILY))

/* Everything parsed from a command's keywords. */
struct ctctl_spec {
	uint32_t have;		/* KWB() of the keywords given */
	int at[KW__MAX];	/* argv index of each keyword given (for carets) */
	uint8_t family;		/* AF_INET/AF_INET6, 0 = not known */
	uint8_t l4num;
	union ct_addr src, dst, rsrc, rdst;
	uint16_t sport, dport, rsport, rdport, icmp_id, zone;
	uint8_t icmp_type, icmp_code, state;
	uint32_t timeout, mark, mark_mask, status, id;
};

/** Keyword name of @kw ("src", "reply-dport" ...). */
const char *ctctl_kw_name(enum ctctl_kw kw);
/** One-line description and argument name of @kw, for help. */
const char *ctctl_kw_help(enum ctctl_kw kw, const char **metavar);

/**
 * ctctl_parse_words - ctctl_parse_spec() from a cleared @s that also
 * accepts `-o LIST` between the keywords (list, get, monitor), adding the
 * flags to ctctl_opts.print.out. @extra: further bare words to stop at.
 * Returns CTCTL_OK (a->i on a verb's own word or past the end), or
 * CTCTL_USAGE after printing a caret error.
 */
int ctctl_parse_words(struct ctctl_args *a, uint32_t allowed,
		      const char *const *extra, struct ctctl_spec *s);

/**
 * ctctl_parse_spec - parse keywords from a->argv[a->i...] into @s
 * @allowed: KWB() mask of keywords this verb accepts
 * @extra:   NULL-terminated bare words the verb handles itself (e.g. the
 *           monitor's "new"); parsing stops at one, leaving a->i on it
 * Returns CTCTL_OK, or CTCTL_USAGE after printing a caret error.
 */
int ctctl_parse_spec(struct ctctl_args *a, uint32_t allowed,
		     const char *const *extra, struct ctctl_spec *s);

/**
 * ctctl_spec_tuple - build the original (or, with @reply, the reply) tuple
 * of @s; the direction not given is computed by inversion. Returns false
 * (after a caret error) if the selector is incomplete.
 */
bool ctctl_spec_tuple(struct ctctl_args *a, const struct ctctl_spec *s,
		      bool reply, struct ctnl_tuple *out);

/**
 * ctctl_usage_error - print "ctctl: VERB: MESSAGE", the command line and a
 * caret line under word @idx (idx == argc points past the end).
 * Returns CTCTL_USAGE.
 */
int ctctl_usage_error(const struct ctctl_args *a, int idx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** ctctl_fail - print "ctctl: VERB: MESSAGE (ENAME)" for errno @err (> 0). */
int ctctl_fail(const struct ctctl_args *a, int err);

/** Parse a "new,update,destroy" list into event group bits; -1 if bad. */
int ctctl_parse_events(const char *s);

/** Names accepted after "state", "status", "family" (for completion). */
const char *const *ctctl_kw_values(enum ctctl_kw kw);
/** Protocol names accepted as bare words ("tcp" ...), NULL-terminated. */
extern const char *const ctctl_proto_words[];

/* ---- request.c ------------------------------------------------------ */

/* One ctnetlink request: the header fields and at most one object. */
struct ctctl_req {
	uint16_t type;			/* CTNL_MSG(subsystem, message) */
	uint16_t flags;			/* besides NLM_F_REQUEST */
	uint8_t family;			/* nfgenmsg */
	uint8_t version;
	const struct ctnl_ct *ct;	/* attributes (CTNL_LAYOUT_REQUEST), or */
	const struct ctnl_exp *exp;	/* these, or neither (count, stats) */
	ctnl_client_cb cb;		/* every answer message; NULL: ACK only */
	void *data;			/* for @cb */
};

/**
 * ctctl_request - connect on first use, send @req and hand every answer to
 * its callback, then flush stdout. Every failure (cannot connect, request
 * too large, an error answer) is printed for verb a->argv[0]: ctctl_fail()
 * wording, or the "cannot connect" line.
 * Returns what ctnl_client_request() returned (>= 0, e.g. 1 when a
 * callback said "got it"), or -1 after printing (exit with CTCTL_FAIL).
 */
int ctctl_request(const struct ctctl_args *a, const struct ctctl_req *req);

/**
 * ctctl_control - the same for one of ctsim's own operations
 * (CTSIM_CTL_ADVANCE, _RELOAD: proto/ctsim_wire.h) with arguments @arg1,
 * @arg2. Returns >= 0, or -1 after printing.
 */
int ctctl_control(const struct ctctl_args *a, uint16_t op, uint32_t arg1, uint32_t arg2);

/**
 * ctctl_conn - the shared connection, opened on first use; NULL after
 * printing "cannot connect ..." for verb a->argv[0]. For requests that
 * ctctl_request() does not cover (CTSIM_CTL_RULESET's data reply); their
 * result goes through ctctl_result().
 */
struct ctnl_client *ctctl_conn(const struct ctctl_args *a);

/**
 * ctctl_result - check a client-library result @r: a reset connection is
 * dropped (the next command reconnects); an error is printed with
 * ctctl_fail(). Returns @r if >= 0, else -1.
 */
int ctctl_result(const struct ctctl_args *a, int r);

/**
 * ctctl_listen - the monitors' loop: open a second connection subscribed
 * to @groups (multicast bitmask) and hand every event to @cb until Ctrl-C
 * / SIGTERM or ctsim goes away. Lost events (ENOBUFS) print "ctctl: @lost"
 * and the loop goes on. Returns CTCTL_OK or CTCTL_FAIL (error printed),
 * or -1 if the event connection could not be opened (error printed; no
 * event summary should follow).
 */
int ctctl_listen(const struct ctctl_args *a, uint32_t groups, ctnl_client_cb cb, void *data,
		 const char *lost);

/** Close the shared connection (end of program). */
void ctctl_disconnect(void);

/* ---- the verbs: conntrack.c, expect.c, control.c --------------------- */

/* Each: parse a->argv (a->i is 1, past the verb), do it, return an exit
 * code (CTCTL_OK, _FAIL, _USAGE); errors are printed. */
int ctctl_ct_list(struct ctctl_args *a);
int ctctl_ct_get(struct ctctl_args *a);
/* `explain TUPLE`: the entry's internals (ctsim only; conntrack.c). */
int ctctl_ct_explain(struct ctctl_args *a);
int ctctl_ct_add(struct ctctl_args *a);
int ctctl_ct_update(struct ctctl_args *a);
int ctctl_ct_delete(struct ctctl_args *a);
int ctctl_ct_flush(struct ctctl_args *a);
int ctctl_ct_count(struct ctctl_args *a);
int ctctl_ct_stats(struct ctctl_args *a);
int ctctl_ct_monitor(struct ctctl_args *a);
/* `expect SUBVERB ...`: list add delete flush monitor. */
int ctctl_expect(struct ctctl_args *a);
int ctctl_ctl_advance(struct ctctl_args *a);
int ctctl_ctl_reload(struct ctctl_args *a);
int ctctl_ctl_hold(struct ctctl_args *a);
int ctctl_ctl_ruleset(struct ctctl_args *a);
/* `pause`, `step [N]`, `resume`: the lab's data plane by hand (control.c). */
int ctctl_ctl_step(struct ctctl_args *a);
/* `table`: the daemon's table internals (control.c). */
int ctctl_ctl_table(struct ctctl_args *a);
int ctctl_ctl_trace(struct ctctl_args *a);
int ctctl_ctl_log(struct ctctl_args *a);
int ctctl_ctl_set(struct ctctl_args *a);
int ctctl_ctl_get(struct ctctl_args *a);

/* ---- main.c -------------------------------------------------------- */

struct ctctl_cmd {
	const char *name;
	const char *alias[3];		/* NULL-terminated */
	int (*fn)(struct ctctl_args *a);
	uint32_t kws;			/* KWB() mask of accepted keywords */
	const char *const *words;	/* extra bare words (completion, help) */
	const char *synopsis;		/* arguments, iproute2 := style */
	const char *help;		/* one line */
	bool shell_only;		/* quit/exit */
};
extern const struct ctctl_cmd ctctl_cmds[];	/* ends with a NULL name */

/** Find the row of @name (or an alias); NULL if unknown. */
const struct ctctl_cmd *ctctl_cmd_find(const char *name);

/** `help [verb]`. */
int ctctl_cmd_help(struct ctctl_args *a);
/** `quit`/`exit` in the shell. */
int ctctl_cmd_quit(struct ctctl_args *a);
/** Set by SIGINT while a monitor runs; the monitor stops when it is set. */
extern volatile int ctctl_interrupted;

#endif /* CTCTL_CTCTL_H */
