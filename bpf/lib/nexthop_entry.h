/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An entry of the per-CPU next-hop cache (xlb_nexthops, nexthop.h), alone
 * in a header that includes no BPF helpers, so user space can read it too:
 * the packet tests age an entry instead of waiting out its TTL.
 */
#ifndef XLB_BPF_NEXTHOP_ENTRY_H
#define XLB_BPF_NEXTHOP_ENTRY_H

#include <linux/if_ether.h>
#include <linux/types.h>
#include "xlb/abi.h"

/* How long a resolved next hop is reused (bpf_ktime_get_coarse_ns). */
#define XLB_NEXTHOP_TTL_NS 1000000000ULL

/* The route to dst goes through a gateway: dst is not a direct neighbour.
 * Only l2dsr cares (it must reach the backend's own MAC); recorded with the
 * rest of the answer, so it is cached and expires with it. */
#define XLB_NH_F_GATEWAY (1u << 0)

struct xlb_nexthop {
	struct xlb_addr dst; /* the backend address this was resolved for */
	__u64 expires_ns;
	__u32 ifindex;       /* the device the frame leaves on (a VLAN device's real one) */
	__u16 mtu;           /* path MTU towards dst (outer IP packet size) */
	__u8 family;
	__u8 flags;          /* XLB_NH_F_* */
	__u8 smac[ETH_ALEN];
	__u8 dmac[ETH_ALEN];
	__u8 ntags;          /* VLAN tags the frame leaves with (xlb_egress), 0..2 */
	__u8 pad2[3];
	struct xlb_vlan_tag tags[XLB_EGRESS_MAX_TAGS]; /* outer first */
};

XLB_STATIC_ASSERT(sizeof(struct xlb_nexthop) == 56, "xlb_nexthop");

#endif /* XLB_BPF_NEXTHOP_ENTRY_H */
