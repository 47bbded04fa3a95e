/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The common tail of every forwarding path: next-hop MACs into the Ethernet
 * header, then XDP_TX when the next hop is out of the ingress device, else a
 * devmap redirect (the device must be in xlb_tx_ports).
 */
#ifndef XLB_BPF_XMIT_H
#define XLB_BPF_XMIT_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"
#include "nexthop.h"
#include "stats.h"

static __always_inline void xlb_set_macs(void *data, const struct xlb_nexthop *nh)
{
	struct ethhdr *eth = data;

	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
}

/* Sets the MACs of the frame in ctx (a VLAN tag, if any, stays as it is).
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

/* Sends the frame out of ifindex; counts TX, REDIRECT, or DROP_NO_ROUTE when
 * the device is missing from the devmap. */
static __always_inline int xlb_xmit(struct xdp_md *ctx, __u32 ifindex, __u64 bytes)
{
	int action;

	if (ifindex == ctx->ingress_ifindex) {
		xlb_count_stat(XLB_STAT_TX, bytes);
		return XDP_TX;
	}
	action = bpf_redirect_map(&xlb_tx_ports, ifindex, XDP_DROP);
	xlb_count_stat(action == XDP_REDIRECT ? XLB_STAT_REDIRECT : XLB_STAT_DROP_NO_ROUTE, bytes);
	return action;
}

#endif /* XLB_BPF_XMIT_H */
