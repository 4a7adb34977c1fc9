/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pcap_io.h — pcap files in and out, through libpcap.
 *
 * Reading yields L3 packets: the link-layer header is taken off for
 * Ethernet (with any 802.1Q/802.1ad VLAN tags), Linux cooked captures
 * (SLL and SLL2) and BSD loopback; raw-IP captures (LINKTYPE_RAW,
 * LINKTYPE_IPV4, LINKTYPE_IPV6) are used as they are. Frames that carry
 * neither IPv4 nor IPv6 are skipped and counted. Timestamps are read at
 * nanosecond precision whatever the file holds.
 *
 * Writing produces raw-IP (LINKTYPE_RAW) files with nanosecond timestamps,
 * which tcpdump, Wireshark and ctsim itself read.
 *
 * Errors are strings that start with the file name, e.g.
 * "x.pcap: not a pcap file (unknown file format)" or
 * "x.pcap: truncated record at packet 7".
 */
#ifndef CTSIM_PCAP_IO_H
#define CTSIM_PCAP_IO_H

#include <stddef.h>
#include <stdint.h>

#define CT_PCAP_ERRLEN	512

struct ct_pcap_reader;
struct ct_pcap_writer;

/* One packet read from a file. The pointers are valid until the next call. */
struct ct_pcap_rec {
	uint64_t ts_ns;		/* capture time, ns since the epoch */
	const uint8_t *l3;	/* the IPv4/IPv6 header */
	size_t len;		/* captured bytes from l3 on */
	size_t orig_len;	/* bytes on the wire from l3 on (> len if the capture was cut) */
	int linktype;		/* the file's DLT_* */
	uint64_t index;		/* 1-based record number in the file (skipped frames count) */
};

/**
 * ct_pcap_open - open a capture file for reading
 * @err: at least CT_PCAP_ERRLEN bytes; set on failure ("not a pcap file",
 *       "unsupported link type ...", the system error for open())
 * Returns NULL on failure.
 */
struct ct_pcap_reader *ct_pcap_open(const char *path, char *err);

/**
 * ct_pcap_next - the next IPv4/IPv6 packet
 * Returns 1 and fills @rec; 0 at the end of the file; -1 with @err set
 * ("truncated record at packet N", ...). Frames that are not IP, or too
 * short for their link-layer header, are skipped (see ct_pcap_skipped()).
 */
int ct_pcap_next(struct ct_pcap_reader *r, struct ct_pcap_rec *rec, char *err);

/** ct_pcap_skipped - how many records were skipped as not IPv4/IPv6 so far */
uint64_t ct_pcap_skipped(const struct ct_pcap_reader *r);

/** ct_pcap_linktype - the file's DLT_* value */
int ct_pcap_linktype(const struct ct_pcap_reader *r);

/** ct_pcap_close - close the file and free the reader (NULL is fine) */
void ct_pcap_close(struct ct_pcap_reader *r);

/**
 * ct_pcap_foreach - read a whole file, calling @cb for every IP packet
 * @cb returns 0 to go on, anything else to stop (ct_pcap_foreach() then
 * returns that value). Returns 0 at the end of the file, -1 with @err.
 * @skipped, if not NULL, receives the number of non-IP frames skipped.
 */
int ct_pcap_foreach(const char *path, int (*cb)(const struct ct_pcap_rec *rec, void *arg),
		    void *arg, uint64_t *skipped, char *err);

/**
 * ct_pcap_create - create (truncate) a raw-IP capture file for writing
 * Returns NULL with @err set on failure.
 */
struct ct_pcap_writer *ct_pcap_create(const char *path, char *err);

/**
 * ct_pcap_write - append one packet (@l3: the IPv4/IPv6 header on)
 * Returns 0, or -1 with @err set: a packet too long, or a write error (a
 * full disk), seen as soon as the stream's buffer is flushed, i.e. within
 * a few kilobytes of packets; the writer should then be finished.
 */
int ct_pcap_write(struct ct_pcap_writer *w, uint64_t ts_ns, const uint8_t *l3, size_t len,
		  char *err);

/**
 * ct_pcap_finish - flush and close; returns 0, or -1 with @err if the data
 * could not be written. Frees @w in both cases (NULL is fine).
 */
int ct_pcap_finish(struct ct_pcap_writer *w, char *err);

#endif
