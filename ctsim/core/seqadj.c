// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * seqadj.c — TCP sequence adjustment after NAT helpers changed a payload's
 * length (net/netfilter/nf_conntrack_seqadj.c). See seqadj.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include "ctsim/core/packet.h"
#include "ctsim/core/seqadj.h"

#define TCPOPT_EOL		0
#define TCPOPT_NOP		1
#define TCPOPT_SACK		5
#define TCPOLEN_SACK_BASE	2
#define TCPOLEN_SACK_PERBLOCK	8

static bool after(uint32_t a, uint32_t b)
{
	return (int32_t)(b - a) < 0;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* inet_proto_csum_replace4(): a 32-bit field of the TCP header goes from
 * its value to @v, the checksum follows (RFC 1624). */
static void replace32(uint8_t *check, uint8_t *field, uint32_t v)
{
	uint32_t s = (uint16_t)~(check[0] << 8 | check[1]);
	uint32_t old = rd32(field);

	s += (uint16_t)~(old >> 16) + (uint16_t)~(old & 0xffff);
	s += (v >> 16) + (v & 0xffff);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	s = (uint16_t)~s;
	check[0] = (uint8_t)(s >> 8);
	check[1] = (uint8_t)s;
	field[0] = (uint8_t)(v >> 24);
	field[1] = (uint8_t)(v >> 16);
	field[2] = (uint8_t)(v >> 8);
	field[3] = (uint8_t)v;
}

int ct_seqadj_set(struct conn *ct, enum ct_dir dir, uint32_t seq, int32_t off)
{
	struct conn_ext *x;
	struct ctnl_seqadj *w;

	if (off == 0)
		return 0;
	if (!(x = conn_ext_add(ct)))
		return -ENOMEM;
	x->has |= CONN_EXT_SEQADJ;
	ct->status |= CT_S_SEQ_ADJUST;
	w = &x->seqadj[dir];
	/* a second change in the same segment (a retransmission of the
	 * mangled packet) does not move the correction again */
	if (w->offset_before == w->offset_after || after(seq, w->correction_pos)) {
		w->correction_pos = seq;
		w->offset_before = w->offset_after;
		w->offset_after += (uint32_t)off;
	}
	return 0;
}

int32_t ct_seqadj_offset(const struct conn *ct, enum ct_dir dir, uint32_t seq)
{
	const struct ctnl_seqadj *w;

	if (!ct->ext || !(ct->ext->has & CONN_EXT_SEQADJ))
		return 0;
	w = &ct->ext->seqadj[dir];
	return (int32_t)(after(seq, w->correction_pos) ? w->offset_after : w->offset_before);
}

/* nf_ct_sack_block_adjust(): SACK edges are about the other direction's
 * stream, so they move back by its offset. */
static void sack_blocks(uint8_t *check, uint8_t *b, const uint8_t *end,
			const struct ctnl_seqadj *w)
{
	for (; b + TCPOLEN_SACK_PERBLOCK <= end; b += TCPOLEN_SACK_PERBLOCK)
		for (int i = 0; i < 2; i++) {
			uint32_t v = rd32(b + 4 * i);
			uint32_t o = after(v - w->offset_before, w->correction_pos) ?
				     w->offset_after : w->offset_before;

			replace32(check, b + 4 * i, v - o);
		}
}

bool ct_seqadj_packet(const struct conn *ct, enum ct_dir dir, struct ct_pkt *p)
{
	const struct ctnl_seqadj *this_way, *other_way;
	uint8_t *th, *check, *opt, *optend;
	uint32_t seq, ack;
	int32_t off;

	if (p->l4proto != IPPROTO_TCP || p->l4_truncated || !ct->ext ||
	    !(ct->ext->has & CONN_EXT_SEQADJ) || p->l4off + 20u > p->len)
		return true;
	this_way = &ct->ext->seqadj[dir];
	other_way = &ct->ext->seqadj[!dir];
	th = p->data + p->l4off;
	check = th + 16;
	seq = rd32(th + 4);
	off = (int32_t)(after(seq, this_way->correction_pos) ? this_way->offset_after
							     : this_way->offset_before);
	replace32(check, th + 4, seq + (uint32_t)off);
	p->tcp_seq = seq + (uint32_t)off;
	if (!(th[13] & 0x10))		/* no ACK */
		return true;
	ack = rd32(th + 8);
	off = (int32_t)(after(ack - other_way->offset_before, other_way->correction_pos) ?
			other_way->offset_after : other_way->offset_before);
	replace32(check, th + 8, ack - (uint32_t)off);
	p->tcp_ack = ack - (uint32_t)off;

	/* nf_ct_sack_adjust(): walk the options; a partial one drops */
	opt = th + 20;
	optend = th + (th[12] >> 4) * 4;
	if (optend > p->data + p->len)
		return false;
	while (opt < optend) {
		if (opt[0] == TCPOPT_EOL)
			return true;
		if (opt[0] == TCPOPT_NOP) {
			opt++;
			continue;
		}
		if (opt + 1 == optend || opt + opt[1] > optend || opt[1] < 2)
			return false;
		if (opt[0] == TCPOPT_SACK &&
		    opt[1] >= TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK &&
		    (opt[1] - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_PERBLOCK == 0)
			sack_blocks(check, opt + TCPOLEN_SACK_BASE, opt + opt[1], other_way);
		opt += opt[1];
	}
	return true;
}
