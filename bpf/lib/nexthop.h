/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Next hop of each backend: egress device, MACs and path MTU, from
 * bpf_fib_lookup, cached per CPU for XLB_NEXTHOP_TTL_NS.
 *
 * A route lookup costs more than the rest of the established-flow path put
 * together, yet its answer for one backend changes only when routes or
 * neighbours change. So each CPU looks a backend up at most once per TTL and
 * reuses the answer; a neighbour's new MAC or a route change is picked up
 * within the TTL. Failures (no route, no neighbour yet) are never cached, so
 * the first packet after the neighbour resolves goes out.
 */
#ifndef XLB_BPF_NEXTHOP_H
#define XLB_BPF_NEXTHOP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "xlb/abi.h"

#define XLB_NEXTHOP_TTL_NS 1000000000ULL
#define XLB_AF_INET_KERNEL  2  /* AF_INET, as bpf_fib_lookup wants it */
#define XLB_AF_INET6_KERNEL 10 /* AF_INET6 */
#define XLB_IPPROTO_IPIP 4
#define XLB_IPPROTO_IPV6 41
#define XLB_MTU_UNKNOWN 0xffff

struct xlb_nexthop {
	struct xlb_addr dst; /* the backend address this was resolved for */
	__u64 expires_ns;
	__u32 ifindex;
	__u16 mtu;           /* path MTU towards dst (outer IP packet size) */
	__u8 family;
	__u8 pad;
	__u8 smac[ETH_ALEN];
	__u8 dmac[ETH_ALEN];
	__u32 pad2;
};

/* backend_id -> cached next hop. Per CPU: no sharing, no locking. Not
 * pinned: a cache is rebuilt in a second after any reload. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xlb_nexthop);
} xlb_nexthops SEC(".maps");

static __always_inline int xlb_addr_equal(const struct xlb_addr *a, const struct xlb_addr *b)
{
	return !((a->v6[0] ^ b->v6[0]) | (a->v6[1] ^ b->v6[1]) | (a->v6[2] ^ b->v6[2]) | (a->v6[3] ^ b->v6[3]));
}

static __always_inline long xlb_fib_lookup(struct xdp_md *ctx, __u8 family, const struct xlb_addr *src,
					   const struct xlb_addr *dst, __u16 tot_len, struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = ctx->ingress_ifindex;
	fib->tot_len = tot_len;
	if (family == XLB_AF_INET) {
		fib->family = XLB_AF_INET_KERNEL;
		fib->l4_protocol = XLB_IPPROTO_IPIP;
		fib->ipv4_src = src->v4;
		fib->ipv4_dst = dst->v4;
	} else {
		fib->family = XLB_AF_INET6_KERNEL;
		fib->l4_protocol = XLB_IPPROTO_IPV6;
		__builtin_memcpy(fib->ipv6_src, src->v6, sizeof(fib->ipv6_src));
		__builtin_memcpy(fib->ipv6_dst, dst->v6, sizeof(fib->ipv6_dst));
	}
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

static __always_inline int xlb_fib_drop_reason(long rc)
{
	switch (rc) {
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return XLB_STAT_DROP_NO_NEIGH;
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
		return XLB_STAT_DROP_FWD_DISABLED;
	default:
		return XLB_STAT_DROP_NO_ROUTE;
	}
}

/*
 * Resolves (or reuses) the next hop of backend_id towards dst from src.
 * Returns the cached entry, or NULL with *reason set to the drop counter.
 */
static __always_inline struct xlb_nexthop *xlb_next_hop(struct xdp_md *ctx, __u32 backend_id, __u8 family,
							const struct xlb_addr *src, const struct xlb_addr *dst,
							__u64 now, int *reason)
{
	struct bpf_fib_lookup fib;
	struct xlb_nexthop *nh;
	long rc;

	nh = bpf_map_lookup_elem(&xlb_nexthops, &backend_id);
	if (!nh) {
		*reason = XLB_STAT_DROP_INTERNAL;
		return NULL;
	}
	if (now < nh->expires_ns && nh->family == family && xlb_addr_equal(&nh->dst, dst))
		return nh;

	rc = xlb_fib_lookup(ctx, family, src, dst, 0, &fib);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		nh->expires_ns = 0;
		*reason = xlb_fib_drop_reason(rc);
		return NULL;
	}
	nh->ifindex = fib.ifindex;
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);

	/* The route's MTU: asking for the largest packet makes the kernel
	 * answer FRAG_NEEDED with the MTU it would allow. */
	rc = xlb_fib_lookup(ctx, family, src, dst, XLB_MTU_UNKNOWN, &fib);
	nh->mtu = rc == BPF_FIB_LKUP_RET_FRAG_NEEDED ? fib.mtu_result : XLB_MTU_UNKNOWN;

	nh->dst = *dst;
	nh->family = family;
	nh->expires_ns = now + XLB_NEXTHOP_TTL_NS;
	return nh;
}

#endif /* XLB_BPF_NEXTHOP_H */
