/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The common tail of every forwarding path: next-hop MACs into the Ethernet
 * header, the egress device's VLAN tags (xlb_xmit_nh), then XDP_TX when the
 * next hop is out of the ingress device, else a devmap redirect (the device
 * must be in xlb_tx_ports).
 *
 * Tags follow the egress device, as the kernel would send the frame: the
 * next hop (nexthop.h) carries the tags of the device the FIB chose (none
 * for a device that is not a VLAN device lbd described in xlb_egress), and
 * the frame's own tags, those it came in with, are replaced by them, unless
 * the frame is routed straight back to its sender out of the plain device
 * it came in on (xlb_l2_retag). Frames answered back to their sender
 * without a route lookup (echo replies, ICMP "too big", the nat RST) return
 * with XDP_TX as they came, tags included: they do not come here.
 */
#ifndef XLB_BPF_XMIT_H
#define XLB_BPF_XMIT_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"
#include "nexthop.h"
#include "parse.h"
#include "stats.h"

static __always_inline void xlb_set_macs(void *data, const struct xlb_nexthop *nh)
{
	struct ethhdr *eth = data;

	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
}

/* Sets the MACs of the frame in ctx (its VLAN tags stay: xlb_xmit_nh sets them).
 * Returns 0, or -1 if the frame is shorter than an Ethernet header. */
static __always_inline int xlb_frame_set_macs(struct xdp_md *ctx, const struct xlb_nexthop *nh)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	if (data + sizeof(struct ethhdr) > end)
		return -1;
	xlb_set_macs(data, nh);
	return 0;
}

/* Sends the frame out of ifindex; counts TX, REDIRECT, or
 * DROP_EGRESS_NOT_XDP when the device is missing from the devmap: lbd puts
 * only devices that can transmit XDP frames there, and a redirect to any
 * other would be lost after being counted as sent. */
static __always_inline int xlb_xmit(struct xdp_md *ctx, __u32 ifindex, __u64 bytes)
{
	int action;

	if (ifindex == ctx->ingress_ifindex) {
		xlb_count_stat(XLB_STAT_TX, bytes);
		return XDP_TX;
	}
	action = bpf_redirect_map(&xlb_tx_ports, ifindex, XDP_DROP);
	xlb_count_stat(action == XDP_REDIRECT ? XLB_STAT_REDIRECT : XLB_STAT_DROP_EGRESS_NOT_XDP, bytes);
	return action;
}

/* Writes tag t at p (4 bytes of the frame, checked by the caller). */
static __always_inline void xlb_put_tag(void *p, const struct xlb_vlan_tag *t)
{
	((__be16 *)p)[0] = t->tpid;
	((__be16 *)p)[1] = t->tci;
}

/* Whether nh's MAC is the sender of the tagged frame being handled
 * (xlb_note_tagged_src). */
static __always_inline int xlb_back_to_sender(const struct xlb_nexthop *nh)
{
	struct xlb_fib_scratch *s = xlb_fib_scratch_get();

	if (!s)
		return 0;
	const __u16 *a = (const __u16 *)s->tagged_src, *b = (const __u16 *)nh->dmac;

	return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]));
}

/*
 * Rewrites the frame's L2 header from in_tags VLAN tags (the 14 + 4 *
 * in_tags bytes it came with; MACs already set) to nh's tags. The head
 * moves only when the number of tags changes. Returns 0, or -1 if the frame
 * could not be resized (it may have been changed).
 *
 * A global function: it runs for tagged traffic only (xlb_xmit_nh), and
 * keeps the verifier's view of the packet simple on every other path. It
 * uses no stack (the MACs ride in registers): it can be the third call of
 * a chain whose frames add up to the 512-byte limit.
 */
__noinline int xlb_l2_retag(struct xdp_md *ctx, __u32 in_tags, const struct xlb_nexthop *nh)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 out_tags, mac_hi;
	__u64 mac_lo;
	__be16 proto;

	if (!nh)
		return -1;
	out_tags = nh->ntags;
	if (in_tags > XLB_EGRESS_MAX_TAGS || out_tags > XLB_EGRESS_MAX_TAGS)
		return -1;
	/* Routed straight back to the host that sent it, out of the plain
	 * (not VLAN) device it came in on: that host is on the tagged segment
	 * the frame came from (a router on a trunk, say), so the frame keeps
	 * its tags, as an answer to the sender does. */
	if (!out_tags && nh->ifindex == ctx->ingress_ifindex && xlb_back_to_sender(nh))
		return 0;
	if (data + sizeof(struct ethhdr) + 2 * sizeof(struct xlb_vlan_tag) > end)
		return -1;
	mac_lo = *(__u64 *)data;
	mac_hi = *(__u32 *)(data + 8);
	/* The ethertype of what follows the tags. */
	if (in_tags == 0)
		proto = *(__be16 *)(data + 12);
	else if (in_tags == 1)
		proto = *(__be16 *)(data + 16);
	else
		proto = *(__be16 *)(data + 20);

	if (in_tags != out_tags &&
	    bpf_xdp_adjust_head(ctx, ((int)in_tags - (int)out_tags) * (int)sizeof(struct xlb_vlan_tag)))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + sizeof(struct ethhdr) + 2 * sizeof(struct xlb_vlan_tag) > end)
		return -1;
	*(__u64 *)data = mac_lo;
	*(__u32 *)(data + 8) = mac_hi;
	if (out_tags == 0) {
		*(__be16 *)(data + 12) = proto;
	} else if (out_tags == 1) {
		xlb_put_tag(data + 12, &nh->tags[0]);
		*(__be16 *)(data + 16) = proto;
	} else {
		xlb_put_tag(data + 12, &nh->tags[0]);
		xlb_put_tag(data + 16, &nh->tags[1]);
		*(__be16 *)(data + 20) = proto;
	}
	return 0;
}

/*
 * Sends a frame that carries the L2 header it came with (pkt->l2_len
 * bytes, MACs set for nh) to the next hop nh, with nh's VLAN tags instead
 * of its own. Untagged in and out costs one test.
 */
static __always_inline int xlb_xmit_nh(struct xdp_md *ctx, const struct xlb_pkt *pkt, const struct xlb_nexthop *nh,
				       __u64 bytes)
{
	__u32 in_tags = (pkt->l2_len - sizeof(struct ethhdr)) / sizeof(struct xlb_vlan_tag);

	if ((in_tags | nh->ntags) && xlb_l2_retag(ctx, in_tags, nh)) {
		xlb_count_stat(XLB_STAT_DROP_INTERNAL, bytes);
		return XDP_DROP;
	}
	return xlb_xmit(ctx, nh->ifindex, bytes);
}

#endif /* XLB_BPF_XMIT_H */
