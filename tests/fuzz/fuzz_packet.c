/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_packet.c — packets through the whole core: parsing, defragmentation,
 * the ruleset at every hook, the L4 trackers, ICMP errors, and every
 * conntrack helper on an established connection, in both directions.
 *
 * Input:
 *   byte 0          bit 0: nf_conntrack_checksum (off lets mutated raw
 *                   packets past the checksum check, on tests the check)
 *   then records    [ctl:1][len:2, big-endian][len bytes]; a short last
 *                   record takes what is left
 *   ctl bits 0-3    0..10: a payload on the generated flow of that service
 *                   (fz_services[]: ftp, tftp, irc, pptp, sip/udp, sip/tcp,
 *                   amanda, sane, netbios-ns, snmp, plain tcp/80), opened
 *                   (TCP handshake) on first use; 11..15: the bytes are a
 *                   whole L3 packet, given to the router as they are
 *   bit 4           the reply direction (server -> client; raw: iif 1)
 *   bit 5           IPv6
 *   bit 6           first let 1 + (len & 0xff) seconds pass, running timers
 *   bit 7           open the flow afresh (new client port, new handshake)
 * Several records let helpers see a conversation (FTP reads commands only
 * after a newline seen earlier, PPTP needs its control session set up).
 */
#include "ctsim/core/expect.h"
#include "tests/fuzz/fuzz_common.h"

#define FZ_MAX_RECORDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_core f;
	size_t off = 1;

	if (size < 1)
		return 0;
	fz_core_init(&f, data[0] & 1);
	for (unsigned k = 0; k < FZ_MAX_RECORDS && off < size; k++) {
		uint8_t ctl = data[off++];
		size_t len = 0;
		unsigned svc = ctl & 0x0f;
		bool reply = ctl & 0x10, v6 = ctl & 0x20;

		if (off + 2 <= size) {
			len = (size_t)data[off] << 8 | data[off + 1];
			off += 2;
		}
		if (len > size - off)
			len = size - off;
		if (ctl & 0x40)
			fz_advance(&f, 1 + (len & 0xff));
		if (svc >= FZ_NSERVICES) {
			fz_receive(&f, reply, data + off, len);
		} else {
			if (ctl & 0x80)
				fz_flow_open(&f, svc, v6);
			fz_send(&f, svc, v6, reply, data + off, len);
		}
		if (getenv("CTSIM_FUZZ_DEBUG"))	/* what became of it, for writing seeds */
			fprintf(stderr, "record %u: %s %s %s, %u expectations\n", k,
				f.h.router.last.verdict, f.h.router.last.why ? f.h.router.last.why : "",
				f.h.router.last.helper, f.h.table.expect ? f.h.table.expect->count : 0);
		off += len;
	}
	/* Let everything expire: the timers and destroy paths run on what
	 * the helpers left behind (expectations, GRE keymaps, helper data). */
	fz_advance(&f, 6 * 86400);
	fz_core_fini(&f);
	return 0;
}
