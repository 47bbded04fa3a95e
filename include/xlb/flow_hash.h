/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow hash, shared by the data plane (bpf/lib/hash.h) and lbd (`lbctl
 * pick`, ctl/pick/): Bob Jenkins' lookup3 (the kernel's jhash2) over the 10
 * words of the flow key. Deterministic for a given seed, so every load
 * balancer of a pool with the same seed and backends picks the same ring
 * slot for a flow, and lbd can say which slot the program will pick.
 *
 * Pure integer arithmetic on fixed-width types, no includes beyond abi.h:
 * one definition compiled by clang -target bpf and by the C++ compiler, so
 * the two cannot drift apart.
 */
#ifndef XLB_FLOW_HASH_H
#define XLB_FLOW_HASH_H

#include <linux/types.h>
#include "xlb/abi.h"

/* BPF: force inlining, as the data path always did (bpf_helpers.h defines
 * __always_inline). User space: a plain inline function. */
#ifdef __bpf__
#define XLB_HASH_FN static __always_inline
#else
#define XLB_HASH_FN static inline
#endif

#define XLB_JHASH_INITVAL 0xdeadbeef

XLB_HASH_FN __u32 xlb_rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((-shift) & 31));
}

#define __xlb_jhash_mix(a, b, c)                       \
	{                                              \
		a -= c; a ^= xlb_rol32(c, 4);  c += b; \
		b -= a; b ^= xlb_rol32(a, 6);  a += c; \
		c -= b; c ^= xlb_rol32(b, 8);  b += a; \
		a -= c; a ^= xlb_rol32(c, 16); c += b; \
		b -= a; b ^= xlb_rol32(a, 19); a += c; \
		c -= b; c ^= xlb_rol32(b, 4);  b += a; \
	}

#define __xlb_jhash_final(a, b, c)           \
	{                                    \
		c ^= b; c -= xlb_rol32(b, 14); \
		a ^= c; a -= xlb_rol32(c, 11); \
		b ^= a; b -= xlb_rol32(a, 25); \
		c ^= b; c -= xlb_rol32(b, 16); \
		a ^= c; a -= xlb_rol32(c, 4);  \
		b ^= a; b -= xlb_rol32(a, 14); \
		c ^= b; c -= xlb_rol32(b, 24); \
	}

/* jhash2 over exactly 10 words (sizeof(struct xlb_flow_key) / 4). */
XLB_HASH_FN __u32 xlb_flow_hash(const struct xlb_flow_key *key, __u32 seed)
{
	const __u32 *k = (const __u32 *)key;
	__u32 a, b, c;

	a = b = c = XLB_JHASH_INITVAL + (10 << 2) + seed;
	a += k[0]; b += k[1]; c += k[2];
	__xlb_jhash_mix(a, b, c);
	a += k[3]; b += k[4]; c += k[5];
	__xlb_jhash_mix(a, b, c);
	a += k[6]; b += k[7]; c += k[8];
	__xlb_jhash_mix(a, b, c);
	a += k[9];
	__xlb_jhash_final(a, b, c);
	return c;
}

/* jhash2 over an address's 4 words: the src-hash scheduler's key, so all
 * of a client's flows land on one backend (session affinity). */
XLB_HASH_FN __u32 xlb_addr_hash(const struct xlb_addr *addr, __u32 seed)
{
	const __u32 *k = addr->v6;
	__u32 a, b, c;

	a = b = c = XLB_JHASH_INITVAL + (4 << 2) + seed;
	a += k[0]; b += k[1]; c += k[2];
	__xlb_jhash_mix(a, b, c);
	a += k[3];
	__xlb_jhash_final(a, b, c);
	return c;
}

/* The probe'th pseudo-random value of a sequence started by hash h
 * (murmur3's finalizer over h and the probe number): deterministic, so the
 * same h always walks the same values. */
XLB_HASH_FN __u32 xlb_hash_probe(__u32 h, __u32 probe)
{
	h += probe * 0x9e3779b1u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

#endif /* XLB_FLOW_HASH_H */
