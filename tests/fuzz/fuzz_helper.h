/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_helper.h — the body of the per-helper targets fuzz_helper_<name>.c:
 * every record is a payload on the generated flow of one service
 * (FZ_SERVICE, an index of fz_services[]), so the fuzzer's whole budget
 * goes into one helper's parser and expectation code, where fuzz_packet
 * spreads it over eleven services and raw packets.
 *
 * Input: records [ctl:1][len:2, big-endian][len bytes]; a short last record
 * takes what is left.
 *   bit 4  the reply direction (server -> client)
 *   bit 5  IPv6
 *   bit 6  first let 1 + (len & 0xff) seconds pass, running timers
 *   bit 7  open the flow afresh (new client port, new handshake)
 * Checksums are not checked (nf_conntrack_checksum=0): mutated payloads
 * reach the helper.
 */
#ifndef FZ_SERVICE
#error "define FZ_SERVICE before including fuzz_helper.h"
#endif
#include "tests/fuzz/fuzz_common.h"

#define FZ_MAX_RECORDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_core f;
	size_t off = 0;

	fz_core_init(&f, false);
	for (unsigned k = 0; k < FZ_MAX_RECORDS && off < size; k++) {
		uint8_t ctl = data[off++];
		size_t len = 0;
		bool reply = ctl & 0x10, v6 = ctl & 0x20;

		if (off + 2 <= size) {
			len = (size_t)data[off] << 8 | data[off + 1];
			off += 2;
		}
		if (len > size - off)
			len = size - off;
		if (ctl & 0x40)
			fz_advance(&f, 1 + (len & 0xff));
		if (ctl & 0x80)
			fz_flow_open(&f, FZ_SERVICE, v6);
		fz_send(&f, FZ_SERVICE, v6, reply, data + off, len);
		off += len;
	}
	fz_advance(&f, 6 * 86400);	/* expiry and destroy paths */
	fz_core_fini(&f);
	return 0;
}
