// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pcap_io.c — pcap files in and out through libpcap (see pcap_io.h).
 *
 * libpcap does the file formats (pcap and pcapng, either byte order,
 * micro- or nanosecond stamps); this file only strips link-layer headers
 * down to the IP header and words the errors.
 */
#include "ctsim/replay/pcap_io.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2	276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4	228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6	229
#endif

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86dd
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88a8
#define ETH_P_QINQ1	0x9100	/* pre-standard QinQ, still seen in captures */

struct ct_pcap_reader {
	pcap_t *pc;
	char *path;
	int linktype;
	uint64_t index;		/* records read */
	uint64_t skipped;
	char *iobuf;		/* the stream's stdio buffer (ct_pcap_open()) */
};

#define PCAP_IOBUF	(1u << 20)

struct ct_pcap_writer {
	pcap_t *dead;
	pcap_dumper_t *dump;
	char *path;
};

static uint16_t rd16(const uint8_t *b) { return (uint16_t)(b[0] << 8 | b[1]); }

static bool linktype_supported(int lt)
{
	switch (lt) {
	case DLT_EN10MB:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_NULL:
	case DLT_LOOP:
		return true;
	default:
		return false;
	}
}

struct ct_pcap_reader *ct_pcap_open(const char *path, char *err)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct ct_pcap_reader *r;
	char *iobuf;
	FILE *f;
	pcap_t *pc;

	/* Tell a missing or unreadable file from one that is not a capture:
	 * libpcap words both as its own error. */
	f = fopen(path, "rb");
	if (!f) {
		snprintf(err, CT_PCAP_ERRLEN, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* libpcap reads a savefile with two fread()s per record from this
	 * stream; stdio's default 4 KiB buffer meant a read() system call
	 * every few dozen packets, a few % of a replay. A larger buffer must
	 * be set before the first read. pcap_open_offline() is this very
	 * fopen() + pcap_fopen_offline(), error messages included. */
	iobuf = malloc(PCAP_IOBUF);	/* glibc ignores the size without a buffer */
	if (iobuf)
		setvbuf(f, iobuf, _IOFBF, PCAP_IOBUF);
	pc = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!pc) {
		fclose(f);	/* pcap_close() closes it otherwise */
		free(iobuf);
		if (strstr(ebuf, "truncated"))
			snprintf(err, CT_PCAP_ERRLEN, "%s: truncated file header (%s)", path, ebuf);
		else
			snprintf(err, CT_PCAP_ERRLEN, "%s: not a pcap file (%s)", path, ebuf);
		return NULL;
	}
	if (!linktype_supported(pcap_datalink(pc))) {
		const char *name = pcap_datalink_val_to_name(pcap_datalink(pc));

		snprintf(err, CT_PCAP_ERRLEN,
			 "%s: unsupported link type %s (%d); use Ethernet, raw IP or Linux cooked captures",
			 path, name ? name : "unknown", pcap_datalink(pc));
		pcap_close(pc);
		free(iobuf);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->path = strdup(path))) {
		free(r);
		pcap_close(pc);
		free(iobuf);
		snprintf(err, CT_PCAP_ERRLEN, "%s: out of memory", path);
		return NULL;
	}
	r->pc = pc;
	r->iobuf = iobuf;
	r->linktype = pcap_datalink(pc);
	return r;
}

/*
 * How many bytes of link-layer header precede the IP header of @frame, or
 * -1 if the frame carries neither IPv4 nor IPv6 (or is too short to say).
 */
static long l2_len(int linktype, const uint8_t *b, size_t caplen)
{
	size_t off;
	uint16_t type;
	uint32_t af;

	switch (linktype) {
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return 0;
	case DLT_EN10MB:
		if (caplen < 14)
			return -1;
		off = 12;
		type = rd16(b + off);
		/* 802.1Q / 802.1ad tags: 2 bytes of TCI, then the next type */
		while (type == ETH_P_8021Q || type == ETH_P_8021AD || type == ETH_P_QINQ1) {
			off += 4;
			if (off + 2 > caplen)
				return -1;
			type = rd16(b + off);
		}
		off += 2;
		break;
	case DLT_LINUX_SLL:
		/* packet type, ARPHRD, address length, 8 address bytes, protocol */
		if (caplen < 16)
			return -1;
		type = rd16(b + 14);
		off = 16;
		break;
	case DLT_LINUX_SLL2:
		/* protocol first, then reserved, ifindex, ARPHRD, type, address */
		if (caplen < 20)
			return -1;
		type = rd16(b);
		off = 20;
		break;
	case DLT_NULL:
	case DLT_LOOP:
		/* a 4-byte address family: host order (NULL) or network (LOOP) */
		if (caplen < 4)
			return -1;
		if (linktype == DLT_LOOP)
			af = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		else
			memcpy(&af, b, 4);
		if (af == 2)
			return 4;
		if (af == 10 || af == 24 || af == 28 || af == 30)	/* Linux, BSDs, macOS */
			return 4;
		return -1;
	default:
		return -1;
	}
	if (type != ETH_P_IP && type != ETH_P_IPV6)
		return -1;
	return (long)off;
}

int ct_pcap_next(struct ct_pcap_reader *r, struct ct_pcap_rec *rec, char *err)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	long off;
	int rc;

	for (;;) {
		rc = pcap_next_ex(r->pc, &h, &data);
		if (rc == PCAP_ERROR_BREAK)
			return 0;	/* end of file */
		if (rc != 1) {
			const char *e = pcap_geterr(r->pc);

			if (e && strstr(e, "truncated"))
				snprintf(err, CT_PCAP_ERRLEN, "%s: truncated record at packet %llu (%s)",
					 r->path, (unsigned long long)r->index + 1, e);
			else
				snprintf(err, CT_PCAP_ERRLEN, "%s: bad record at packet %llu (%s)",
					 r->path, (unsigned long long)r->index + 1, e ? e : "?");
			return -1;
		}
		r->index++;
		off = l2_len(r->linktype, data, h->caplen);
		if (off < 0 || (size_t)off >= h->caplen) {
			r->skipped++;
			continue;
		}
		rec->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
		rec->l3 = data + off;
		rec->len = h->caplen - (size_t)off;
		rec->orig_len = h->len > (size_t)off ? h->len - (size_t)off : rec->len;
		rec->linktype = r->linktype;
		rec->index = r->index;
		return 1;
	}
}

uint64_t ct_pcap_skipped(const struct ct_pcap_reader *r)
{
	return r->skipped;
}

int ct_pcap_linktype(const struct ct_pcap_reader *r)
{
	return r->linktype;
}

void ct_pcap_close(struct ct_pcap_reader *r)
{
	if (!r)
		return;
	pcap_close(r->pc);	/* fclose(): the buffer is free after it */
	free(r->iobuf);
	free(r->path);
	free(r);
}

int ct_pcap_foreach(const char *path, int (*cb)(const struct ct_pcap_rec *rec, void *arg),
		    void *arg, uint64_t *skipped, char *err)
{
	struct ct_pcap_reader *r = ct_pcap_open(path, err);
	struct ct_pcap_rec rec;
	int rc;

	if (!r)
		return -1;
	while ((rc = ct_pcap_next(r, &rec, err)) == 1) {
		rc = cb(&rec, arg);
		if (rc != 0)
			break;
	}
	if (skipped)
		*skipped = r->skipped;
	ct_pcap_close(r);
	return rc;
}

struct ct_pcap_writer *ct_pcap_create(const char *path, char *err)
{
	struct ct_pcap_writer *w = calloc(1, sizeof(*w));

	if (!w || !(w->path = strdup(path))) {
		free(w);
		snprintf(err, CT_PCAP_ERRLEN, "%s: out of memory", path);
		return NULL;
	}
	w->dead = pcap_open_dead_with_tstamp_precision(DLT_RAW, 65535, PCAP_TSTAMP_PRECISION_NANO);
	if (!w->dead) {
		snprintf(err, CT_PCAP_ERRLEN, "%s: cannot set up libpcap", path);
		goto fail;
	}
	w->dump = pcap_dump_open(w->dead, path);
	if (!w->dump) {
		snprintf(err, CT_PCAP_ERRLEN, "%s: %s", path, pcap_geterr(w->dead));
		goto fail;
	}
	return w;
fail:
	if (w->dead)
		pcap_close(w->dead);
	free(w->path);
	free(w);
	return NULL;
}

int ct_pcap_write(struct ct_pcap_writer *w, uint64_t ts_ns, const uint8_t *l3, size_t len,
		  char *err)
{
	struct pcap_pkthdr h;

	if (len > 65535) {
		snprintf(err, CT_PCAP_ERRLEN, "%s: packet of %zu bytes is too long", w->path, len);
		return -1;
	}
	memset(&h, 0, sizeof(h));
	/* with nanosecond precision libpcap reads tv_usec as nanoseconds */
	h.ts.tv_sec = (time_t)(ts_ns / 1000000000ull);
	h.ts.tv_usec = (suseconds_t)(ts_ns % 1000000000ull);
	h.caplen = h.len = (bpf_u_int32)len;
	errno = 0;
	pcap_dump((u_char *)w->dump, &h, l3);
	/* pcap_dump() says nothing: a failed write (a full disk) shows in
	 * the stream's error flag as soon as stdio flushes its buffer, so
	 * the caller hears of it within a few packets, not at the end. */
	if (ferror(pcap_dump_file(w->dump))) {
		snprintf(err, CT_PCAP_ERRLEN, "%s: write error: %s", w->path,
			 errno ? strerror(errno) : "unknown");
		return -1;
	}
	return 0;
}

int ct_pcap_finish(struct ct_pcap_writer *w, char *err)
{
	int rc = 0;

	if (!w)
		return 0;
	if (pcap_dump_flush(w->dump) != 0 || ferror(pcap_dump_file(w->dump))) {
		snprintf(err, CT_PCAP_ERRLEN, "%s: write error", w->path);
		rc = -1;
	}
	pcap_dump_close(w->dump);
	pcap_close(w->dead);
	free(w->path);
	free(w);
	return rc;
}
