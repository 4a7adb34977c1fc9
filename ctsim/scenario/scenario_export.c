/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scenario_export.c — a parsed scenario as something other programs take:
 * its packets as a pcap file (`ctsim scenario export --pcap`, then
 * `ctsim replay` or tcpdump), its steps as the JSON document the kernel
 * and live differential drivers (kernel_scenarios.py, live_scenarios.py)
 * replay: packets as hex, settings, rulesets as text, inserts and deletes
 * as the conntrack(8) arguments that make them on a kernel.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "proto/ctnl.h"
#include "ctsim/replay/pcap_io.h"
#include "ctsim/scenario/scenario.h"

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static const char *addr_str(uint8_t family, const union ct_addr *a, char *buf, size_t cap)
{
	return inet_ntop(family, a->b, buf, (socklen_t)cap);
}

/* conntrack -p takes the names conntrack -L prints, or a number. */
static const char *proto_name(uint8_t l4)
{
	const char *n = ct_l4proto_name(l4);

	return strcmp(n, "unknown") ? n : NULL;
}

/* The conntrack(8) arguments of an insert or delete step. */
static json_t *conntrack_args(const struct sc_step *s)
{
	const struct sc_entry *e = &s->e;
	json_t *a = json_array();
	char buf[64], num[16];

#define ARG(x) json_array_append_new(a, json_string(x))
	ARG(s->kind == SC_INSERT ? "-I" : "-D");
	if (e->orig.l3num == AF_INET6)
		ARG("-f"), ARG("ipv6");
	ARG("-p");
	if (proto_name(e->orig.l4num)) {
		ARG(proto_name(e->orig.l4num));
	} else {
		snprintf(num, sizeof(num), "%u", e->orig.l4num);
		ARG(num);
	}
	ARG("-s"); ARG(addr_str(e->orig.l3num, &e->orig.src, buf, sizeof(buf)));
	ARG("-d"); ARG(addr_str(e->orig.l3num, &e->orig.dst, buf, sizeof(buf)));
	if (e->fields & SC_F_PORTS) {
		if (e->orig.l4num == IPPROTO_ICMP || e->orig.l4num == IPPROTO_ICMPV6) {
			ARG("--icmp-type");
			snprintf(num, sizeof(num), "%u", e->orig.icmp_type); ARG(num);
			ARG("--icmp-code"); ARG("0");
			ARG("--icmp-id");
			snprintf(num, sizeof(num), "%u", e->orig.sport); ARG(num);
		} else {
			ARG("--sport"); snprintf(num, sizeof(num), "%u", e->orig.sport); ARG(num);
			ARG("--dport"); snprintf(num, sizeof(num), "%u", e->orig.dport); ARG(num);
		}
	}
	if (s->kind == SC_INSERT) {
		ARG("-t"); snprintf(num, sizeof(num), "%u", e->timeout); ARG(num);
		if (e->fields & SC_F_STATE)
			ARG("--state"), ARG(e->state);
		if (e->status_set & (CT_S_ASSURED | CT_S_SEEN_REPLY)) {
			ARG("-u");
			ARG((e->status_set & CT_S_ASSURED) && (e->status_set & CT_S_SEEN_REPLY) ?
			    "ASSURED,SEEN_REPLY" : (e->status_set & CT_S_ASSURED) ? "ASSURED" : "SEEN_REPLY");
		}
		if (e->fields & SC_F_MARK) {
			ARG("-m"); snprintf(num, sizeof(num), "%u", e->mark); ARG(num);
		}
	}
	if (e->fields & SC_F_ZONE) {
		ARG("-w"); snprintf(num, sizeof(num), "%u", e->zone); ARG(num);
	}
#undef ARG
	return a;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *t = NULL;
	size_t len = 0, n;
	char buf[4096];
	FILE *m;

	if (!f)
		return NULL;
	m = open_memstream(&t, &len);
	if (!m)
		abort();
	while ((n = fread(buf, 1, sizeof(buf), f)))
		fwrite(buf, 1, n, m);
	fclose(f);
	fclose(m);
	return t;
}

json_t *scenario_export_json(const struct scenario *sc)
{
	json_t *o = json_object(), *hosts = json_array(), *steps = json_array();
	char buf[64];

	json_object_set_new(o, "file", json_string(sc->path));
	json_object_set_new(o, "title", str_or_null(sc->title));
	json_object_set_new(o, "source", str_or_null(sc->source));
	json_object_set_new(o, "waits_for", str_or_null(sc->waits_for));
	json_object_set_new(o, "emulator_only", str_or_null(sc->emulator_only));
	json_object_set_new(o, "duration", json_real((double)sc->duration_ns / 1e9));
	json_object_set_new(o, "listener_at_start", json_boolean(sc->listener_at_start));
	json_object_set_new(o, "default_ruleset", json_string(ruleset_default_text()));
	for (unsigned h = 0; h < sc->nhosts; h++) {
		const struct sc_host *x = &sc->hosts[h];
		json_t *j = json_object();

		json_object_set_new(j, "name", json_string(x->name));
		json_object_set_new(j, "side", json_string(sc_side_name(x->side)));
		json_object_set_new(j, "router", json_boolean(x->router));
		json_object_set_new(j, "addr4", x->has4 ? json_string(addr_str(AF_INET, &x->a4, buf,
				    sizeof(buf))) : json_null());
		json_object_set_new(j, "addr6", x->has6 ? json_string(addr_str(AF_INET6, &x->a6, buf,
				    sizeof(buf))) : json_null());
		json_array_append_new(hosts, j);
	}
	json_object_set_new(o, "hosts", hosts);
	for (size_t k = 0; k < sc->nsteps; k++) {
		const struct sc_step *s = &sc->steps[k];
		json_t *j = json_object();
		static const char *const kinds[] = {
			"packet", "advance", "set", "ruleset", "reload", "insert", "delete", "flush",
			"listener", "netlink", "release", "address-del",
		};

		json_object_set_new(j, "line", json_integer(s->line));
		json_object_set_new(j, "t", json_real((double)s->at_ns / 1e9));
		json_object_set_new(j, "kind", json_string(s->kind <= SC_ADDR_DEL ? kinds[s->kind]
							   : "expect"));
		json_object_set_new(j, "text", json_string(s->text));
		switch (s->kind) {
		case SC_PACKET:
		case SC_INSERT_EXPECT: {	/* an IP packet, or a ctnetlink message */
			char *hex = malloc(s->len * 2 + 1);

			if (!hex)
				abort();
			for (size_t b = 0; b < s->len; b++)
				sprintf(hex + 2 * b, "%02x", s->pkt[b]);
			hex[s->len * 2] = '\0';
			if (s->kind == SC_PACKET)
				json_object_set_new(j, "side", json_string(sc_side_name(s->side)));
			if (s->hold)
				json_object_set_new(j, "hold", json_true());
			json_object_set_new(j, "hex", json_string(hex));
			free(hex);
			break;
		}
		case SC_SET:
			json_object_set_new(j, "name", json_string(s->name));
			json_object_set_new(j, "value", json_string(s->value));
			break;
		case SC_RULESET: {
			char *text = NULL;

			if (s->block)
				text = strdup(s->block);
			else if (!strcmp(s->name, "default"))
				text = strdup(ruleset_default_text());
			else if (strcmp(s->name, "none"))
				text = read_all(s->name);
			json_object_set_new(j, "ruleset", text ? json_string(text) : json_null());
			free(text);
			break;
		}
		case SC_INSERT:
		case SC_DELETE:
			json_object_set_new(j, "conntrack", conntrack_args(s));
			break;
		case SC_LISTENER:
			json_object_set_new(j, "on", json_boolean(!strcmp(s->word, "on")));
			break;
		case SC_ADDR_DEL:
			json_object_set_new(j, "host", json_string(s->name));
			break;
		default:
			break;
		}
		json_array_append_new(steps, j);
	}
	json_object_set_new(o, "steps", steps);
	return o;
}

int scenario_export_pcap(const struct scenario *sc, const char *path, char *err)
{
	/* A fixed start (2023-11-14), so that the same scenario gives the same file. */
	const uint64_t t0 = 1700000000ull * 1000000000ull;
	struct ct_pcap_writer *w = ct_pcap_create(path, err);
	int rc = 0;

	if (!w)
		return -1;
	for (size_t k = 0; k < sc->nsteps && !rc; k++) {
		const struct sc_step *s = &sc->steps[k];

		if (s->kind == SC_PACKET && ct_pcap_write(w, t0 + s->at_ns, s->pkt, s->len, err))
			rc = -1;
	}
	/* finish even after a failed write: it closes the file; the first
	 * error is the one reported */
	if (rc) {
		char later[CT_PCAP_ERRLEN];

		ct_pcap_finish(w, later);
		return -1;
	}
	return ct_pcap_finish(w, err);
}
