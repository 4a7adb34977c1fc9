/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * csum.h — the one home of checksum arithmetic: the Internet checksum
 * (RFC 1071; the kernel's csum_partial() / csum_fold()) and CRC32c
 * (Castagnoli; crc32c(), SCTP's checksum, RFC 9260 appendix B). Used by
 * packet parsing and building (packet.c) and by the scenario packet
 * notation. Inline: the Internet checksum is on the data path (every
 * packet's checksum is verified).
 */
#ifndef CTSIM_CSUM_H
#define CTSIM_CSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/**
 * ct_csum_add - add @len bytes at @b to @sum, a 32-bit running sum of
 * 16-bit big-endian words (csum_partial()); an odd trailing byte is padded
 * with zero, as the checksum definition says. Fold with ct_csum_fold().
 *
 * The bulk is summed as native 32-bit words into 64 bits (a loop the
 * compiler vectorises) and folded to 16 bits, as the kernel's
 * csum_partial() does. The result is congruent modulo 0xffff to the
 * big-endian word sum (2^16 = 1, and RFC 1071's byte-order independence:
 * the byte-swapped fold is the fold of the swapped words) and zero only
 * when the data is, so ct_csum_fold() gives exactly what a word-by-word
 * sum gives.
 */
static inline uint32_t ct_csum_add(uint32_t sum, const uint8_t *b, size_t len)
{
	uint64_t acc = 0;
	size_t i = 0;

	for (; i + 4 <= len; i += 4) {
		uint32_t w;

		memcpy(&w, b + i, 4);
		acc += w;
	}
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	acc = __builtin_bswap16((uint16_t)acc);
#endif
	sum += (uint32_t)acc;
	if (i + 2 <= len) {
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
		i += 2;
	}
	if (i < len)
		sum += (uint32_t)b[i] << 8;
	return sum;
}

/** ct_csum_fold - csum_fold(): the one's complement of @sum folded to 16
 *  bits, the value a checksum field holds (0 when verifying good data). */
static inline uint16_t ct_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#define CT_CRC32C_INIT	0xffffffffu	/* the register before the first byte */

/**
 * ct_crc32c_update - run CRC32c (reflected polynomial 0x82f63b78) over @n
 * bytes at @p from the register @crc; start with CT_CRC32C_INIT, the
 * checksum is the complement of the last register. A bitwise loop: slow
 * but short (SCTP packets are few).
 */
static inline uint32_t ct_crc32c_update(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return crc;
}

/** ct_crc32c - the CRC32c of @n bytes at @p (crc32c(~0, p, n) ^ ~0). */
static inline uint32_t ct_crc32c(const uint8_t *p, size_t n)
{
	return ~ct_crc32c_update(CT_CRC32C_INIT, p, n);
}

#endif
