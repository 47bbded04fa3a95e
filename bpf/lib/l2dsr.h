/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * l2dsr VIPs (direct routing): the client's packet goes to the backend
 * unchanged but for the Ethernet addresses, so the backend, which holds the
 * VIP on a loopback or dummy device, answers the client directly. That only
 * works if the backend is a neighbour on one of our links: a router in
 * between would route the packet by its destination, the VIP, back to us.
 */
#ifndef XLB_BPF_L2DSR_H
#define XLB_BPF_L2DSR_H

#include <linux/bpf.h>
#include "flow.h"
#include "nexthop.h"
#include "parse.h"
#include "xmit.h"

/*
 * Resolves the backend's next hop for an l2dsr packet. Whether the route is
 * via a gateway is cached with the next hop, so a backend that is not on-link
 * costs a cache lookup per packet, and is looked up again (and may become
 * reachable) when the entry expires. Returns 0 with *nhp set, or the drop
 * counter: DROP_NOT_ON_LINK, DROP_MTU (with *nhp set and the frame
 * unchanged), or a route failure. On success the
 * frame carries the backend's MAC and is ready to send.
 */
static __always_inline int xlb_l2dsr_forward(struct xdp_md *ctx, const struct xlb_pkt *pkt,
					     const struct xlb_target *t, __u64 now, struct xlb_nexthop **nhp)
{
	const struct xlb_backend *be = t->be;
	struct xlb_nexthop *nh;
	int rc;

	/* The packet keeps its IP header: the backend must be of its family
	 * (lbd guarantees it; anything else is a corrupted map). */
	if (be->family != pkt->key.family)
		return XLB_STAT_DROP_INTERNAL;
	nh = xlb_next_hop(ctx, t->backend_id, be->family, &pkt->key.src, &be->addr, now, &rc);
	if (!nh)
		return rc;
	if (nh->flags & XLB_NH_F_GATEWAY)
		return XLB_STAT_DROP_NOT_ON_LINK;
	*nhp = nh; /* also for DROP_MTU: the caller announces the MTU */
	if (pkt->l3_len > nh->mtu)
		return XLB_STAT_DROP_MTU;
	if (xlb_frame_set_macs(ctx, nh))
		return XLB_STAT_DROP_INTERNAL;
	*nhp = nh;
	return 0;
}

#endif /* XLB_BPF_L2DSR_H */
