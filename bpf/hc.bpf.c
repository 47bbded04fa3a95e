/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xlb_hc: health checks that go the way the traffic goes (tc egress, LB).
 *
 * In ipip and l2dsr modes a check sent to the backend's own address proves
 * little: what breaks is the VIP on the backend's lo, its decapsulation and
 * its ARP settings. So the check is addressed to the VIP, and this program,
 * attached as a tc (cls_bpf, direct-action) egress filter on the LB's
 * interface, steers it to one chosen backend, as Katran's health-check
 * program does:
 *
 *   lbd's checker: socket(), SO_MARK = M, connect(VIP:port)
 *   kernel: routes VIP:port out of the hooked interface (the LB must not
 *           hold the VIP as a local address, and needs a route for it)
 *   xlb_hc: xlb_hc_targets[M] = {mode, backend, source, ...}
 *     ipip:  outer IPv4 (or IPv6) header source -> backend inserted after
 *            the Ethernet header (bpf_skb_adjust_room), mark cleared, and
 *            bpf_redirect_neigh() to the target's device: the kernel's FIB
 *            and neighbour tables pick the next hop for the *outer*
 *            destination (ARP included), whatever the route to the VIP was;
 *     l2dsr: destination MAC := the backend's; the source MAC is already the
 *            interface's. TC_ACT_OK: the frame leaves as it is.
 *   backend: decapsulates (xlb-decap, or an ipip device) and answers from
 *            the VIP on its lo straight to the LB's address (DSR); the reply
 *            reaches the checker's ordinary socket.
 *
 * Packets without a mark, or with a mark that has no target, pass untouched
 * (XLB_HC_STAT_PASS): the hook sits on the LB's busiest interface and must
 * not disturb anything else. A marked packet that cannot be steered is
 * dropped and counted rather than sent to the VIP unsteered, where it would
 * reach whatever the route says and make a check lie.
 *
 * Clearing the mark after encapsulation keeps the redirected packet, which
 * passes this hook again on its way out, from being encapsulated twice.
 *
 * Only untagged Ethernet (the hook sits on the device the stack routes to;
 * on a VLAN device the tag is added below tc) and IPv4/IPv6 are handled.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xlb/abi.h"
#include "lib/hc_encap.h"

/* mark -> target, written by lbd (or the test tool). Pinned by name next to
 * lbd's maps (<pin root>/<ifname>/xlb_hc_targets). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_HC_TARGETS);
	__type(key, __u32);
	__type(value, struct xlb_hc_target);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_hc_targets SEC(".maps");

/* enum xlb_hc_stat -> per-CPU counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_HC_STAT_MAX);
	__type(key, __u32);
	__type(value, struct xlb_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_hc_stats SEC(".maps");

static __always_inline void hc_count(__u32 stat, __u32 len)
{
	struct xlb_counter *c = bpf_map_lookup_elem(&xlb_hc_stats, &stat);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline int hc_drop(__u32 stat, __u32 len)
{
	hc_count(stat, len);
	return TC_ACT_SHOT;
}

SEC("tc")
int xlb_hc(struct __sk_buff *skb)
{
	const struct xlb_hc_target *t;
	__u32 len = skb->len;
	__u32 mark = skb->mark;
	__u32 ifindex;
	int inner_v6, rc;

	hc_count(XLB_HC_STAT_RX, len);
	t = mark ? bpf_map_lookup_elem(&xlb_hc_targets, &mark) : 0;
	if (!t) {
		hc_count(XLB_HC_STAT_PASS, len);
		return TC_ACT_OK;
	}

	if (skb->protocol == bpf_htons(ETH_P_IP))
		inner_v6 = 0;
	else if (skb->protocol == bpf_htons(ETH_P_IPV6))
		inner_v6 = 1;
	else
		return hc_drop(XLB_HC_STAT_DROP_UNSUPPORTED, len);

	if (t->mode == XLB_MODE_L2DSR) {
		if (bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_dest), t->mac, ETH_ALEN, 0))
			return hc_drop(XLB_HC_STAT_DROP_INTERNAL, len);
		hc_count(XLB_HC_STAT_L2DSR, len);
		return TC_ACT_OK;
	}
	if (t->mode != XLB_MODE_IPIP)
		return hc_drop(XLB_HC_STAT_DROP_UNSUPPORTED, len);
	/* IPv6 cannot ride in an IPv4 tunnel (lbd refuses such backends). */
	if (inner_v6 && t->family != XLB_AF_INET6)
		return hc_drop(XLB_HC_STAT_DROP_UNSUPPORTED, len);

	ifindex = t->ifindex ? t->ifindex : skb->ifindex;
	rc = xlb_hc_encap(skb, t, inner_v6, ifindex);
	if (rc)
		return hc_drop(rc, len);
	skb->mark = 0;
	hc_count(t->family == XLB_AF_INET6 ? XLB_HC_STAT_IPIP6 : XLB_HC_STAT_IPIP4, len);
	return bpf_redirect_neigh(ifindex, 0, 0, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
