/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fragments of VIP traffic, as Cilium tracks them: only a datagram's first
 * fragment carries the L4 header, so it records the ports under the
 * datagram's (source, destination, protocol, IP ID) in xlb_frags; the later
 * fragments, which have no ports, look them up there and follow the flow
 * the first one made or found, to the same backend.
 *
 *  - first fragment: ports recorded, then forwarded exactly like an
 *    unfragmented packet of its 5-tuple (flow lookup or scheduling);
 *  - later fragment, entry found: sent to its flow's backend (ipip: in the
 *    tunnel like any packet; l2dsr: to the backend's MAC). It neither
 *    creates a flow nor moves the flow's TCP state or count units: it is
 *    the middle of a packet the first fragment already accounted for;
 *  - later fragment, its flow without an entry (the first fragment came
 *    during a new-flow flood and was forwarded without one, flood.h, or the
 *    entry was evicted): where a packet of a flow without its entry goes,
 *    the flow's stateless pick (lb.bpf.c), which is where the first went;
 *  - later fragment, no xlb_frags entry (first fragment lost, reordered
 *    after it, or evicted): dropped as drop_frag_unknown if it is for a VIP
 *    address, never passed: the kernel could not deliver it either.
 *
 * nat and fullnat VIPs rewrite ports, which later fragments do not carry,
 * and their backends' fragmented replies would need the same tracking in
 * reverse: not done. Their fragments are dropped and counted
 * (drop_frag_nat), never passed. lb.bpf.c's xlb_frag_path decides which
 * case a fragment is; fragments of other hosts' traffic pass untouched
 * (pass_fragment).
 */
#ifndef XLB_BPF_FRAG_H
#define XLB_BPF_FRAG_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "encap.h"
#include "flow.h"
#include "l2dsr.h"
#include "maps.h"
#include "parse.h"
#include "stats.h"
#include "xmit.h"

/* The xlb_frags key of a fragment's datagram. */
static __always_inline void xlb_frag_key_of(const struct xlb_pkt *pkt, struct xlb_frag_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->src = pkt->key.src;
	k->dst = pkt->key.dst;
	k->id = pkt->frag_id;
	k->proto = pkt->key.proto;
	k->family = pkt->key.family;
}

/* A first fragment's ports, for the rest of its datagram. Overwrites an
 * entry of an earlier datagram with the same id (ids wrap). A failed update
 * only costs the later fragments (drop_frag_unknown). */
static __always_inline void xlb_frag_record(const struct xlb_pkt *pkt)
{
	struct xlb_frag_key k;
	struct xlb_frag v = {
		.sport = pkt->key.sport,
		.dport = pkt->key.dport,
	};

	xlb_frag_key_of(pkt, &k);
	bpf_map_update_elem(&xlb_frags, &k, &v, BPF_ANY);
}

/* A later fragment's ports, from its datagram's first fragment, into
 * pkt->key, which then is the flow's key. Returns 0, or -1 if unknown. The
 * entry stays: fragments may come in any order after the first, and the
 * last one is not always the last to arrive. */
static __always_inline int xlb_frag_ports(struct xlb_pkt *pkt)
{
	struct xlb_frag_key k;
	struct xlb_frag *v;

	xlb_frag_key_of(pkt, &k);
	v = bpf_map_lookup_elem(&xlb_frags, &k);
	if (!v)
		return -1;
	pkt->key.sport = v->sport;
	pkt->key.dport = v->dport;
	return 0;
}

/*
 * A later fragment of a known datagram to vip (ipip or l2dsr; pkt->key
 * completed by xlb_frag_ports), to the backend t the caller found for its
 * flow (lb.bpf.c, xlb_frag_path), with the flow label its entry keeps (0:
 * none). Read-only on the flow. Too big for the
 * path, it is dropped (drop_mtu): the first fragment, as large as any,
 * already got the ICMP error that tells the client. Returns the XDP
 * action. Inlined into the fragment path's global function: a call of its
 * own would make the call chain down to xlb_next_hop_resolve one frame
 * deeper than the 512 bytes of stack allow.
 */
static __always_inline int xlb_frag_forward(struct xdp_md *ctx, const struct xlb_pkt *pkt,
					    const struct xlb_vip_meta *vip, const struct xlb_config *cfg,
					    const struct xlb_target *t, __u32 label, __u64 bytes)
{
	struct xlb_nexthop *nh = NULL;
	__u64 now = bpf_ktime_get_coarse_ns();
	int rc;

	if (vip->mode == XLB_MODE_L2DSR)
		rc = xlb_l2dsr_forward(ctx, pkt, t, now, &nh);
	else
		rc = xlb_ipip_forward(ctx, pkt, cfg, t, label, now, &nh);
	if (rc || !nh) {
		xlb_count_stat(rc ? rc : XLB_STAT_DROP_INTERNAL, bytes);
		return XDP_DROP;
	}
	xlb_count_stat(XLB_STAT_FRAG_FORWARDED, bytes);
	xlb_count(&xlb_vstats, vip->vip_id, bytes);
	xlb_count(&xlb_bstats, t->backend_id, bytes);
	return xlb_xmit(ctx, nh->ifindex, bytes);
}

#endif /* XLB_BPF_FRAG_H */
