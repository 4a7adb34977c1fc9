/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset_check.c — what nft's evaluate step and the kernel's transaction
 * checks refuse after a file parsed (unknown jump targets, jumps to base
 * chains, jump loops, undeclared ct helper objects, NAT statements at the
 * wrong hook), the error records and their nft-style printing (the line
 * echoed, carets under the columns), and the per-hook chain lists the
 * evaluator walks.
 */
#include <stdio.h>
#include <stdlib.h>
#include "ctsim/hooks/ruleset_int.h"

/* ---------------------------------------------------------------------- */
/* Error records                                                           */

void rs_errors_init(struct rs_errors *errs)
{
	memset(errs, 0, sizeof(*errs));
}

void rs_errors_free(struct rs_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		free(errs->v[i].file);
		free(errs->v[i].msg);
		free(errs->v[i].src_line);
	}
	free(errs->v);
	memset(errs, 0, sizeof(*errs));
}

void rs_errors_print(const struct rs_errors *errs, FILE *f)
{
	for (size_t i = 0; i < errs->n; i++) {
		const struct rs_error *e = &errs->v[i];
		size_t len, n = 0;
		char *carets;

		if (e->line == 0) {	/* not located (e.g. a file that cannot be read) */
			fprintf(f, "Error: %s\n", e->msg);
			continue;
		}
		fprintf(f, "%s:%u:%u-%u: Error: %s\n", e->file, e->line, e->col_first,
			e->col_last, e->msg);
		fprintf(f, "%s\n", e->src_line ? e->src_line : "");
		/* Linear in the line's length: the length is taken once (a strlen()
		 * per column made a 515 KB one-line ruleset take 35 s), and the
		 * caret line is written at once (stderr is unbuffered: a fputc()
		 * per column was a write() per column). */
		len = e->src_line ? strlen(e->src_line) : 0;
		carets = xrealloc(NULL, (size_t)e->col_first + 1 +
				  (e->col_last >= e->col_first ? e->col_last - e->col_first + 1 : 0));
		/* keep tabs so the carets line up under the token */
		for (unsigned c = 1; c < e->col_first; c++)
			carets[n++] = c - 1 < len && e->src_line[c - 1] == '\t' ? '\t' : ' ';
		for (unsigned c = e->col_first; c <= e->col_last; c++)
			carets[n++] = '^';
		carets[n++] = '\n';
		fwrite(carets, 1, n, f);
		free(carets);
	}
}

/* ---------------------------------------------------------------------- */
/* Checks after parsing (what nft's evaluate step and the kernel check)   */

/* Jump loops: the kernel refuses them (nft_chain_validate(): -ELOOP);
 * ctsim also needs them absent so evaluation always ends. DFS over jumps. */
static bool chain_reaches(const struct rs_chain *from, const struct rs_chain *target, unsigned depth)
{
	if (depth > 64)
		return true;
	for (size_t i = 0; i < from->nrules; i++)
		for (size_t j = 0; j < from->rules[i].nstmts; j++) {
			const struct rs_stmt *s = &from->rules[i].stmts[j];

			if ((s->type == RS_S_JUMP || s->type == RS_S_GOTO) && s->u.jump.target) {
				if (s->u.jump.target == target ||
				    chain_reaches(s->u.jump.target, target, depth + 1))
					return true;
			}
		}
	return false;
}

void rs_check_table(struct parser *p, struct rs_table *tab)
{
	for (size_t c = 0; c < tab->nchains; c++) {
		struct rs_chain *ch = tab->chains[c];

		for (size_t r = 0; r < ch->nrules; r++) {
			struct rs_rule *rule = &ch->rules[r];

			for (size_t i = 0; i < rule->nstmts; i++) {
				struct rs_stmt *s = &rule->stmts[i];

				if (s->type == RS_S_JUMP || s->type == RS_S_GOTO) {
					struct rs_chain *tg = rs_table_find_chain(tab, s->u.jump.name);

					if (!tg)
						rs_err_at(p, s->line, s->col, s->col + s->len - 1, "chain \"%s\" does not exist in table %s %s",
						       s->u.jump.name, rs_family_name(tab->family), tab->name);
					else if (tg->base)
						rs_err_at(p, s->line, s->col, s->col + s->len - 1, "cannot %s to base chain \"%s\"",
						       s->type == RS_S_JUMP ? "jump" : "goto", tg->name);
					s->u.jump.target = tg && !tg->base ? tg : NULL;
				} else if (s->type == RS_S_CT_HELPER_SET) {
					s->u.helper.obj = rs_table_find_helper(tab, s->u.helper.name);
					if (!s->u.helper.obj)
						rs_err_at(p, s->line, s->col, s->col + s->len - 1, "ct helper \"%s\" does not exist in table %s %s (declare it: ct helper %s { type \"ftp\" protocol tcp; })",
						       s->u.helper.name, rs_family_name(tab->family), tab->name,
						       s->u.helper.name);
				} else if (s->type == RS_S_CT_TIMEOUT_SET) {
					/* nft: the kernel finds no such object (ENOENT) */
					s->u.timeout.obj = rs_table_find_timeout(tab, s->u.timeout.name);
					if (!s->u.timeout.obj)
						rs_err_at(p, s->line, s->col, s->col + s->len - 1, "Could not process rule: No such file or directory (ct timeout \"%s\" does not exist in table %s %s)",
						       s->u.timeout.name, rs_family_name(tab->family), tab->name);
				} else if (ch->base && ch->type == RS_CHAIN_NAT) {
					/* which NAT fits which hook: nft_nat_validate() */
					bool ok = true;
					const char *what = "";

					switch (s->type) {
					case RS_S_SNAT: case RS_S_MASQUERADE:
						ok = ch->hook == CT_HOOK_POSTROUTING || (s->type == RS_S_SNAT && ch->hook == CT_HOOK_INPUT);
						what = s->type == RS_S_SNAT ? "snat is only valid in the postrouting and input hooks"
									    : "masquerade is only valid in the postrouting hook";
						break;
					case RS_S_DNAT: case RS_S_REDIRECT:
						ok = ch->hook == CT_HOOK_PREROUTING || ch->hook == CT_HOOK_OUTPUT;
						what = s->type == RS_S_DNAT ? "dnat is only valid in the prerouting and output hooks"
									    : "redirect is only valid in the prerouting and output hooks";
						break;
					default:
						break;
					}
					if (!ok)
						rs_err_at(p, s->line, s->col, s->col + s->len - 1, "%s", what);
				}
			}
		}
	}
	for (size_t c = 0; c < tab->nchains; c++)
		if (chain_reaches(tab->chains[c], tab->chains[c], 0))
			rs_err_at(p, tab->chains[c]->line, 1, 1,
			       "jump loop: chain \"%s\" can reach itself (the kernel refuses: Too many levels of symbolic links)",
			       tab->chains[c]->name);
}

static int chain_cmp(const void *a, const void *b)
{
	const struct rs_chain *x = *(const struct rs_chain *const *)a;
	const struct rs_chain *y = *(const struct rs_chain *const *)b;

	return (x->prio > y->prio) - (x->prio < y->prio);
}

void rs_build_hooks(struct ruleset *rs)
{
	static uint64_t next_serial;	/* ctsim is single-threaded */

	rs->serial = ++next_serial;
	for (int h = 0; h < CT_HOOK_MAX; h++) {
		size_t n = 0;

		for (size_t t = 0; t < rs->ntables; t++)
			for (size_t c = 0; c < rs->tables[t]->nchains; c++)
				n += rs->tables[t]->chains[c]->base && rs->tables[t]->chains[c]->hook == (enum ct_hook)h;
		rs->hooks[h] = xcalloc(n, sizeof(struct rs_chain *));
		rs->nhook[h] = 0;
		for (size_t t = 0; t < rs->ntables; t++)
			for (size_t c = 0; c < rs->tables[t]->nchains; c++) {
				struct rs_chain *ch = rs->tables[t]->chains[c];
				if (ch->base && ch->hook == (enum ct_hook)h)
					rs->hooks[h][rs->nhook[h]++] = ch;
			}
		/* insertion sort: stable, so equal priorities keep declaration order */
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && chain_cmp(&rs->hooks[h][j - 1], &rs->hooks[h][j]) > 0; j--) {
				struct rs_chain *tmp = rs->hooks[h][j];
				rs->hooks[h][j] = rs->hooks[h][j - 1];
				rs->hooks[h][j - 1] = tmp;
			}
	}
}

/* Semantic errors are reported at the start of the rule's line; widen the
 * caret to the first word of that line so it is visible. */
void rs_widen_semantic_errors(struct parser *p, size_t first)
{
	if (!p->errs)
		return;
	for (size_t i = first; i < p->errs->n; i++) {
		struct rs_error *e = &p->errs->v[i];

		if (e->col_first == 1 && e->col_last == 1 && e->src_line) {
			size_t s = strspn(e->src_line, " \t");
			size_t len = strlen(e->src_line);

			while (len > s && (e->src_line[len - 1] == ' ' || e->src_line[len - 1] == '\t' ||
					   e->src_line[len - 1] == ';'))
				len--;
			if (len > s) {
				e->col_first = (unsigned)s + 1;
				e->col_last = (unsigned)len;
			}
		}
	}
}
