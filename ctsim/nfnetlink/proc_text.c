// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * proc_text.c — the text of /proc/net/nf_conntrack (ct_seq_show() in
 * nf_conntrack_standalone.c) for the shim's /proc view (CTSIM_PROC_CONNTRACK).
 *
 * It is `conntrack -L -o extended` with three differences, which this file
 * applies to the printer's lines: IPv6 addresses in full ("%pI6":
 * fd00:0000:…:0001), zone=N always (conntrack omits zone 0), and use=N one
 * higher (the seq walk holds a reference of its own while showing).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto/ctnl.h"
#include "proto/ctnl_print.h"
#include "ctsim/nfnetlink/conn_export.h"
#include "ctsim/nfnetlink/server.h"

static void print_one(struct ct_table *t, struct conn *c, void *arg)
{
	struct ctnl_ct o;

	(void)arg;
	export_ct_from_conn(t, c, &o);
	ctnl_print_ct(&o, CTNL_EV_NONE, 0);
}

/* One printer line -> the kernel's line, written to @out. */
static void rewrite_line(char *line, FILE *out)
{
	bool zone = strstr(line, " zone=") != NULL;

	for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " ")) {
		struct in6_addr a6;
		char *eq = strchr(tok, '=');

		if (eq && (!strncmp(tok, "src=", 4) || !strncmp(tok, "dst=", 4)) &&
		    strchr(eq + 1, ':') && inet_pton(AF_INET6, eq + 1, &a6) == 1) {
			fprintf(out, "%.4s", tok);
			for (int i = 0; i < 16; i += 2)
				fprintf(out, "%s%02x%02x", i ? ":" : "", a6.s6_addr[i],
					a6.s6_addr[i + 1]);
			fputc(' ', out);
		} else if (!strncmp(tok, "use=", 4)) {
			if (!zone)
				fputs("zone=0 ", out);
			fprintf(out, "use=%lu", strtoul(tok + 4, NULL, 10) + 1);
		} else if (*tok) {
			fprintf(out, "%s ", tok);
		}
	}
	fputc('\n', out);
}

int proc_conntrack_text(struct ct_table *t, FILE *out)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *tmp = open_memstream(&buf, &len);
	struct ctnl_print_opts o = { .out = CTNL_O_EXTENDED };

	if (!tmp)
		return -1;
	o.fp = tmp;
	ctnl_print_setup(&o);
	ct_table_for_each(t, print_one, NULL);
	ctnl_print_setup(NULL);
	fclose(tmp);
	/* the printer pads columns with runs of spaces ("ipv4     2 tcp      6"):
	 * keep the line's head verbatim up to the timeout, rewrite the rest */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = line;
		int fields = 0;

		/* "ipv4     2 tcp      6 " : four fields with their padding */
		while (*p && fields < 4) {
			while (*p && *p != ' ')
				p++;
			while (*p == ' ')
				p++;
			fields++;
		}
		fwrite(line, 1, (size_t)(p - line), out);
		rewrite_line(p, out);
	}
	free(buf);
	return 0;
}
