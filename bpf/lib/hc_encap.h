/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Health-check steering on the LB's egress (tc, struct __sk_buff): the outer
 * headers of an encapsulated check and the frame rewrites, for bpf/hc.bpf.c.
 *
 * The outer headers are the ones the lb program writes for client traffic
 * (bpf/lib/encap.h, and tests/bpf/kit/packet.h "expected encapsulation"):
 *  IPv4: IHL 5, TOS copied from the inner packet, ID 0, DF, TTL 64,
 *        protocol 4 (IPIP), checksum computed;
 *  IPv6: traffic class copied, hop limit 64, next header 4 or 41.
 * One difference: the IPv6 flow label is 0. The lb derives it from the
 * client's flow for ECMP entropy; a check is one flow to one backend, and
 * the label's only job (spreading) does not apply to it.
 *
 * encap.h works on XDP frames (bpf_xdp_adjust_head) and pulls in the lb's
 * maps, so it is not included here; the headers are written the same way,
 * on an skb, with bpf_skb_adjust_room() and bpf_skb_store_bytes().
 */
#ifndef XLB_BPF_HC_ENCAP_H
#define XLB_BPF_HC_ENCAP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "xlb/abi.h"
#include "csum.h"

#define XLB_HC_TTL 64
#define XLB_HC_IP_DF 0x4000
#define XLB_HC_PROTO_IPIP 4
#define XLB_HC_PROTO_IPV6 41

/*
 * The inner packet's TOS byte (IPv4) or traffic class (IPv6), read from the
 * network header at ETH_HLEN. Returns 0 and sets *tos, or -1 if unreadable.
 */
static __always_inline int xlb_hc_inner_tos(struct __sk_buff *skb, int inner_v6, __u8 *tos)
{
	__u8 b[2];

	if (bpf_skb_load_bytes(skb, ETH_HLEN, b, sizeof(b)))
		return -1;
	*tos = inner_v6 ? (__u8)((b[0] & 0x0f) << 4 | b[1] >> 4) : b[1];
	return 0;
}

/* Fills an outer IPv4 header for an inner packet of inner_len bytes. */
static __always_inline void xlb_hc_outer4(struct iphdr *iph, const struct xlb_hc_target *t,
					  __u8 tos, __u32 inner_len, int inner_v6)
{
	__builtin_memset(iph, 0, sizeof(*iph));
	iph->version = 4;
	iph->ihl = sizeof(*iph) / 4;
	iph->tos = tos;
	iph->tot_len = bpf_htons(inner_len + sizeof(*iph));
	iph->frag_off = bpf_htons(XLB_HC_IP_DF);
	iph->ttl = XLB_HC_TTL;
	iph->protocol = inner_v6 ? XLB_HC_PROTO_IPV6 : XLB_HC_PROTO_IPIP;
	iph->saddr = t->source.v4;
	iph->daddr = t->backend.v4;
	iph->check = xlb_ipv4_csum(iph);
}

/* Fills an outer IPv6 header (flow label 0: see the file comment). */
static __always_inline void xlb_hc_outer6(struct ipv6hdr *ip6h, const struct xlb_hc_target *t,
					  __u8 tos, __u32 inner_len, int inner_v6)
{
	__builtin_memset(ip6h, 0, sizeof(*ip6h));
	ip6h->version = 6;
	ip6h->priority = tos >> 4;
	ip6h->flow_lbl[0] = (tos & 0xf) << 4;
	ip6h->payload_len = bpf_htons(inner_len);
	ip6h->nexthdr = inner_v6 ? XLB_HC_PROTO_IPV6 : XLB_HC_PROTO_IPIP;
	ip6h->hop_limit = XLB_HC_TTL;
	__builtin_memcpy(&ip6h->saddr, t->source.v6, sizeof(ip6h->saddr));
	__builtin_memcpy(&ip6h->daddr, t->backend.v6, sizeof(ip6h->daddr));
}

/*
 * Inserts the outer header of target t between the Ethernet header and the
 * packet, and sets the ethertype to the outer family. The kernel learns
 * from the BPF_F_ADJ_ROOM_ENCAP_* flags that the packet is now a tunnel
 * packet (inner header offsets, GSO type), so a partial inner checksum is
 * still completed by the device or by the stack's software fallback.
 * Returns 0, XLB_HC_STAT_DROP_MTU or XLB_HC_STAT_DROP_INTERNAL.
 */
static __always_inline int xlb_hc_encap(struct __sk_buff *skb, const struct xlb_hc_target *t,
					int inner_v6, __u32 out_ifindex)
{
	int outer_v6 = t->family == XLB_AF_INET6;
	__u32 outer_len = outer_v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	__u32 inner_len = skb->len - ETH_HLEN;
	__u64 flags = outer_v6 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 : BPF_F_ADJ_ROOM_ENCAP_L3_IPV4;
	__be16 proto = bpf_htons(outer_v6 ? ETH_P_IPV6 : ETH_P_IP);
	__u32 mtu_len = 0;
	__u8 tos;

	/* A check's packets are small, but its socket's MSS comes from the
	 * route to the VIP, not from the tunnel: a packet that no longer fits
	 * would be dropped silently by the device. Count it instead (the
	 * operator lowers the route's MTU: docs/health.md). GSO
	 * packets are checked per segment by the helper. */
	if (bpf_check_mtu(skb, out_ifindex, &mtu_len, (__s32)outer_len, 0))
		return XLB_HC_STAT_DROP_MTU;
	if (xlb_hc_inner_tos(skb, inner_v6, &tos))
		return XLB_HC_STAT_DROP_INTERNAL;
	if (bpf_skb_adjust_room(skb, (__s32)outer_len, BPF_ADJ_ROOM_MAC, flags))
		return XLB_HC_STAT_DROP_INTERNAL;

	if (outer_v6) {
		struct ipv6hdr ip6h;

		xlb_hc_outer6(&ip6h, t, tos, inner_len, inner_v6);
		if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip6h, sizeof(ip6h), 0))
			return XLB_HC_STAT_DROP_INTERNAL;
	} else {
		struct iphdr iph;

		xlb_hc_outer4(&iph, t, tos, inner_len, inner_v6);
		if (bpf_skb_store_bytes(skb, ETH_HLEN, &iph, sizeof(iph), 0))
			return XLB_HC_STAT_DROP_INTERNAL;
	}
	if (bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &proto, sizeof(proto), 0))
		return XLB_HC_STAT_DROP_INTERNAL;
	return 0;
}

#endif /* XLB_BPF_HC_ENCAP_H */
