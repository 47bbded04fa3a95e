/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Incremental IPv4/UDP checksum updates for the rig's programs (generators
 * and trivial forwarder), which rewrite addresses and ports in place. */
#ifndef XLB_TPUT_CSUM_H
#define XLB_TPUT_CSUM_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

static __always_inline __u16 csum_fold32(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit word. */
static __always_inline __u16 csum_replace2(__u16 check, __u16 old, __u16 new)
{
	return (__u16)~csum_fold32((__u16)~check + (__u16)~old + (__u32)new);
}

static __always_inline __u16 csum_replace4(__u16 check, __u32 old, __u32 new)
{
	check = csum_replace2(check, (__u16)(old >> 16), (__u16)(new >> 16));
	return csum_replace2(check, (__u16)old, (__u16)new);
}

#endif /* XLB_TPUT_CSUM_H */
