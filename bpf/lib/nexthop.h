/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Next hop of each backend: egress device, MACs and path MTU, from
 * bpf_fib_lookup, cached per CPU for XLB_NEXTHOP_TTL_NS. Also the uncached
 * route of a packet towards a client (nat replies and ICMP errors).
 *
 * A route lookup costs more than the rest of the established-flow path put
 * together, yet its answer for one backend changes only when routes or
 * neighbours change. So each CPU looks a backend up at most once per TTL and
 * reuses the answer; a neighbour's new MAC or a route change is picked up
 * within the TTL. Failures (no route, no neighbour yet) are never cached, so
 * the first packet after the neighbour resolves goes out. A route through a
 * gateway is an answer like any other, cached with a flag that l2dsr drops
 * on (XLB_NH_F_GATEWAY), so a backend that is not on-link costs no lookup
 * per packet and is looked at again when the entry expires.
 */
#ifndef XLB_BPF_NEXTHOP_H
#define XLB_BPF_NEXTHOP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "xlb/abi.h"
#include "maps.h"
#include "nexthop_entry.h"

#define XLB_AF_INET_KERNEL  2  /* AF_INET, as bpf_fib_lookup wants it */
#define XLB_AF_INET6_KERNEL 10 /* AF_INET6 */
#define XLB_IPPROTO_IPIP 4
#define XLB_IPPROTO_IPV6 41
#define XLB_MTU_UNKNOWN 0xffff

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

/*
 * Scratch space of the fib lookups: their 64-byte parameters, and the
 * answer of an uncached route (xlb_route). Kept off the stack, because the
 * 512 bytes of BPF stack are shared by the whole call chain and the ICMP
 * and new-flow paths need theirs. One entry per CPU is never shared: an XDP
 * program runs to completion on its CPU with bottom halves off (in the
 * driver, and in BPF_PROG_TEST_RUN), and nothing here outlives a packet.
 * The lookup of a per-CPU array is inlined by the verifier. Not pinned.
 */
struct xlb_fib_scratch {
	struct bpf_fib_lookup fib;
	struct xlb_nexthop route;
	__u8 tagged_src[ETH_ALEN]; /* a VLAN-tagged frame's sender (xmit.h) */
	__u8 pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_fib_scratch);
} xlb_fib_scratch SEC(".maps");

static __always_inline struct xlb_fib_scratch *xlb_fib_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xlb_fib_scratch, &zero);
}

static __always_inline long xlb_fib_lookup_proto(struct xdp_md *ctx, __u8 family, __u8 proto,
						 const struct xlb_addr *src, const struct xlb_addr *dst,
						 __u16 tot_len, struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = ctx->ingress_ifindex;
	fib->tot_len = tot_len;
	fib->l4_protocol = proto;
	if (family == XLB_AF_INET) {
		fib->family = XLB_AF_INET_KERNEL;
		fib->ipv4_src = src->v4;
		fib->ipv4_dst = dst->v4;
	} else {
		fib->family = XLB_AF_INET6_KERNEL;
		__builtin_memcpy(fib->ipv6_src, src->v6, sizeof(fib->ipv6_src));
		__builtin_memcpy(fib->ipv6_dst, dst->v6, sizeof(fib->ipv6_dst));
	}
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

/* Notes the sender of a VLAN-tagged frame (data: its Ethernet header,
 * within end), before any path rewrites the MACs: xlb_l2_retag (xmit.h)
 * keeps the tags of a frame routed straight back to its sender. Called for
 * tagged frames only. */
static __always_inline void xlb_note_tagged_src(void *data, void *end)
{
	struct xlb_fib_scratch *s = xlb_fib_scratch_get();
	struct ethhdr *eth = data;

	if (!s || (void *)(eth + 1) > end)
		return;
	__builtin_memcpy(s->tagged_src, eth->h_source, ETH_ALEN);
}

/* Lookup for an encapsulated packet (the protocol only matters to policy
 * routing; the cache serves every mode with the same answer). */
static __always_inline long xlb_fib_lookup(struct xdp_md *ctx, __u8 family, const struct xlb_addr *src,
					   const struct xlb_addr *dst, __u16 tot_len, struct bpf_fib_lookup *fib)
{
	return xlb_fib_lookup_proto(ctx, family, family == XLB_AF_INET ? XLB_IPPROTO_IPIP : XLB_IPPROTO_IPV6, src,
				    dst, tot_len, fib);
}

/* bpf_fib_lookup rewrites the destination to the gateway's address when the
 * route has one: a different address means dst is not on-link. */
static __always_inline int xlb_fib_via_gateway(const struct bpf_fib_lookup *fib, __u8 family,
					       const struct xlb_addr *dst)
{
	if (family == XLB_AF_INET)
		return fib->ipv4_dst != dst->v4;
	return (fib->ipv6_dst[0] ^ dst->v6[0]) | (fib->ipv6_dst[1] ^ dst->v6[1]) | (fib->ipv6_dst[2] ^ dst->v6[2]) |
	       (fib->ipv6_dst[3] ^ dst->v6[3]);
}

/*
 * The device the FIB chose (nh->ifindex, as it answered), as the frame must
 * leave: a VLAN device that lbd described in xlb_egress leaves on its real
 * device with its tags, any other device untagged (docs/design.md,
 * "VLANs"). Written into nh with the rest of the answer, so a cached next
 * hop costs no lookup here. The key is read from nh, a map value: a copy
 * on the stack would grow the frames of call chains that are at the
 * 512-byte limit already.
 */
static __always_inline void xlb_nh_set_egress(struct xlb_nexthop *nh)
{
	struct xlb_egress *e = bpf_map_lookup_elem(&xlb_egress, &nh->ifindex);

	if (!e || e->ntags > XLB_EGRESS_MAX_TAGS) {
		nh->ntags = 0;
		return;
	}
	nh->ifindex = e->lower_ifindex;
	nh->ntags = e->ntags;
	nh->tags[0] = e->tags[0];
	nh->tags[1] = e->tags[1];
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
 * Resolves the next hop of backend_id towards dst from src into its cache
 * entry. Returns 0, or the drop counter (nothing is cached then).
 *
 * A global function, so the verifier checks it once: it runs about once
 * per backend per CPU per second, so the call costs nothing that matters.
 */
__noinline int xlb_next_hop_resolve(struct xdp_md *ctx, __u32 backend_id, __u32 family,
				    const struct xlb_addr *src, const struct xlb_addr *dst)
{
	struct xlb_fib_scratch *s = xlb_fib_scratch_get();
	struct bpf_fib_lookup *fib;
	struct xlb_nexthop *nh;
	long rc;

	nh = bpf_map_lookup_elem(&xlb_nexthops, &backend_id);
	if (!nh || !s || !src || !dst)
		return XLB_STAT_DROP_INTERNAL;
	fib = &s->fib;

	rc = xlb_fib_lookup(ctx, family, src, dst, 0, fib);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		nh->expires_ns = 0;
		return xlb_fib_drop_reason(rc);
	}
	nh->ifindex = fib->ifindex;
	xlb_nh_set_egress(nh);
	__builtin_memcpy(nh->smac, fib->smac, ETH_ALEN);
	__builtin_memcpy(nh->dmac, fib->dmac, ETH_ALEN);
	nh->flags = xlb_fib_via_gateway(fib, family, dst) ? XLB_NH_F_GATEWAY : 0;

	/* The route's MTU: asking for the largest packet makes the kernel
	 * answer FRAG_NEEDED with the MTU it would allow. */
	rc = xlb_fib_lookup(ctx, family, src, dst, XLB_MTU_UNKNOWN, fib);
	nh->mtu = rc == BPF_FIB_LKUP_RET_FRAG_NEEDED ? fib->mtu_result : XLB_MTU_UNKNOWN;

	nh->dst = *dst;
	nh->family = family;
	nh->expires_ns = bpf_ktime_get_coarse_ns() + XLB_NEXTHOP_TTL_NS;
	return 0;
}

/*
 * Resolves (or reuses) the next hop of backend_id towards dst from src.
 * Returns the cached entry, or NULL with *reason set to the drop counter.
 */
static __always_inline struct xlb_nexthop *xlb_next_hop(struct xdp_md *ctx, __u32 backend_id, __u8 family,
							const struct xlb_addr *src, const struct xlb_addr *dst,
							__u64 now, int *reason)
{
	struct xlb_nexthop *nh;

	nh = bpf_map_lookup_elem(&xlb_nexthops, &backend_id);
	if (!nh) {
		*reason = XLB_STAT_DROP_INTERNAL;
		return NULL;
	}
	if (now < nh->expires_ns && nh->family == family && xlb_addr_equal(&nh->dst, dst))
		return nh;

	*reason = xlb_next_hop_resolve(ctx, backend_id, family, src, dst);
	return *reason ? NULL : nh;
}

/*
 * Route of one packet of l3_len bytes from src to dst (a client), looked up
 * per packet. Used for nat replies and ICMP errors to clients: clients are
 * too many to cache per CPU the way backends are, and one lookup per packet
 * is what the kernel's own forwarding would do. It is most of the reply
 * path's cost (xdp_bench's "nat: reply" against "nat: established").
 * Giving the real length makes the kernel check the route's MTU: a packet
 * that does not fit is dropped (DROP_MTU). Returns the answer (ifindex and
 * MACs, valid for this packet), or NULL with *reason set to the drop counter.
 */
static __always_inline struct xlb_nexthop *xlb_route(struct xdp_md *ctx, __u8 family, __u8 proto,
						     const struct xlb_addr *src, const struct xlb_addr *dst,
						     __u32 l3_len, int *reason)
{
	struct xlb_fib_scratch *s = xlb_fib_scratch_get();
	long rc;

	if (!s) {
		*reason = XLB_STAT_DROP_INTERNAL;
		return NULL;
	}
	rc = xlb_fib_lookup_proto(ctx, family, proto, src, dst, l3_len > 0xffff ? 0xffff : l3_len, &s->fib);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		*reason = rc == BPF_FIB_LKUP_RET_FRAG_NEEDED ? XLB_STAT_DROP_MTU : xlb_fib_drop_reason(rc);
		return NULL;
	}
	s->route.ifindex = s->fib.ifindex;
	__builtin_memcpy(s->route.smac, s->fib.smac, ETH_ALEN);
	__builtin_memcpy(s->route.dmac, s->fib.dmac, ETH_ALEN);
	xlb_nh_set_egress(&s->route);
	return &s->route;
}

#endif /* XLB_BPF_NEXTHOP_H */
