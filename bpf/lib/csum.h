/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Incremental Internet checksum updates (RFC 1624, eqn. 3):
 *
 *     HC' = ~(~HC + ~m + m')
 *
 * A rewrite first collects the one's complement difference of every field it
 * changes (sum of ~old + new, xlb_csum_diff*), then applies that difference to
 * each checksum covering those fields (xlb_csum_apply). Nothing is summed
 * over the payload, so the cost does not depend on the packet size.
 *
 * One's complement sums do not depend on byte order (RFC 1071, 2.B), so
 * fields are summed exactly as they sit in memory (network order), without
 * swapping. A difference is kept unfolded in 64 bits: a 32-bit word adds the
 * same residue mod 0xffff as its two 16-bit halves, and the fold at the end
 * reduces it. The result of an update equals a full recomputation for any
 * header that is not all zero (both give ~fold(sum) with fold(sum) != 0).
 */
#ifndef XLB_BPF_CSUM_H
#define XLB_BPF_CSUM_H

#include <linux/ip.h>
#include <linux/types.h>
#include "xlb/abi.h"

static __always_inline __u16 xlb_csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffffULL) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Difference of one 16-bit field changing from `from` to `to`. */
static __always_inline __u64 xlb_csum_diff16(__u16 from, __u16 to)
{
	return (__u64)(__u16)~from + to;
}

/* Difference of one 32-bit word (two 16-bit fields) changing. */
static __always_inline __u64 xlb_csum_diff32(__u32 from, __u32 to)
{
	return (__u64)(__u32)~from + to;
}

/* Difference of an address changing: 4 bytes for IPv4, 16 for IPv6. */
static __always_inline __u64 xlb_csum_diff_addr(const struct xlb_addr *from, const struct xlb_addr *to,
						__u8 family)
{
	__u64 d = xlb_csum_diff32(from->v6[0], to->v6[0]);

	if (family == XLB_AF_INET6)
		d += xlb_csum_diff32(from->v6[1], to->v6[1]) + xlb_csum_diff32(from->v6[2], to->v6[2]) +
		     xlb_csum_diff32(from->v6[3], to->v6[3]);
	return d;
}

/* The checksum field value after the covered data changed by diff. */
static __always_inline __u16 xlb_csum_apply(__u16 check, __u64 diff)
{
	return (__u16)~xlb_csum_fold((__u64)(__u16)~check + diff);
}

/*
 * The update for a checksum whose covered data may be all zero, such as an
 * ICMP echo reply with zero identifier, sequence and payload: there a full
 * computation gives 0xffff, while the update gives 0x0000, which receivers
 * refuse. 0xffff is valid wherever the update gives 0 (both are one's
 * complement zero, and the receiver's sum then folds to 0xffff either way),
 * so 0 is always sent as 0xffff.
 */
static __always_inline __u16 xlb_csum_apply_nonzero(__u16 check, __u64 diff)
{
	__u16 c = xlb_csum_apply(check, diff);

	return c ? c : 0xffff;
}

/* UDP: a computed checksum of 0 is sent as 0xffff (RFC 768; 0 means "no
 * checksum" over IPv4 and is invalid over IPv6). */
static __always_inline __u16 xlb_csum_apply_udp(__u16 check, __u64 diff)
{
	return xlb_csum_apply_nonzero(check, diff);
}

/* A whole RFC 1071 checksum of a 20-byte IPv4 header (checksum field zero):
 * for headers written from scratch (encapsulation, ICMP errors). */
static __always_inline __u16 xlb_ipv4_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

#endif /* XLB_BPF_CSUM_H */
