/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IP-in-IP encapsulation towards a backend (DSR): IPv4-in-IPv4 for IPv4
 * backends, IPv6-in-IPv6 and IPv4-in-IPv6 for IPv6 backends. The inner packet
 * is left exactly as the client sent it; the backend strips the outer header
 * and answers the client directly from the VIP.
 *
 * Outer header fields (tests/bpf/packet.cc builds the same):
 *  IPv4: version 4, IHL 5, TOS copied from the inner packet, ID 0, DF set,
 *        TTL 64, protocol 4 (IPIP), checksum computed.
 *  IPv6: version 6, traffic class copied from the inner packet, flow label
 *        from the flow hash (xlb_flow_label), next header 4 (IPIP) or 41
 *        (IPv6), hop limit 64.
 *
 * Entropy for ECMP and RSS: every packet of the load balancer's tunnels goes
 * from few sources to few backends with no ports on the outside, so routers
 * and the backends' NICs, which hash the outer header, would put every flow
 * on one path and one receive queue. Two per-flow fields fix that:
 *  - the outer source varies inside the configured prefix (encap.source_v4,
 *    default 172.16.0.0/16; /32 turns it off), its host bits derived from the
 *    client's address and port as Katran does (xlb_encap_src_bits);
 *  - the IPv6 flow label (RFC 6438) is the flow hash's top 20 bits, never 0.
 * Both are stable for a flow, so its packets keep one path and one queue.
 */
#ifndef XLB_BPF_ENCAP_H
#define XLB_BPF_ENCAP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "csum.h"
#include "flow.h"
#include "hash.h"
#include "maps.h"
#include "nexthop.h"
#include "parse.h"
#include "xmit.h"

#define XLB_OUTER_TTL 64
#define XLB_IP_DF 0x4000

static __always_inline __u32 xlb_outer_hdr_len(__u8 backend_family)
{
	return backend_family == XLB_AF_INET ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
}

/*
 * Host bits of a flow's outer source: a function of the client's address and
 * port only (as Katran's create_encap_ipv4_src), so it costs a few ALU
 * operations and no hash. The address words and the port are folded by XOR,
 * then multiplied by 2^32/phi (Fibonacci hashing): the product's high bits
 * depend on every input bit, and the caller takes as many high bits as the
 * prefix leaves free. Every load balancer of a pool gives a flow the same
 * source, whatever its hash seed.
 */
static __always_inline __u32 xlb_encap_src_bits(const struct xlb_flow_key *flow)
{
	__u32 x = flow->src.v6[0] ^ flow->src.v6[1] ^ flow->src.v6[2] ^ flow->src.v6[3];

	x ^= (__u32)flow->sport << 16 | flow->sport;
	return x * 0x9e3779b1u;
}


/*
 * The outer source address for a flow: the configured address, or with a
 * prefix shorter than the address, the prefix with host bits from
 * xlb_encap_src_bits (for IPv6 only the last 32 bits vary: entropy enough
 * for any ECMP or RSS hash).
 * Returns 0, or -1 when no source of that family is configured.
 */
static __always_inline int xlb_encap_source(const struct xlb_config *cfg, __u8 family,
					    const struct xlb_flow_key *flow, struct xlb_addr *src)
{
	if (family == XLB_AF_INET) {
		__u32 plen = cfg->encap_src_v4_plen;

		if (!cfg->encap_src_v4.v4)
			return -1;
		*src = cfg->encap_src_v4;
		if (plen && plen < 32) {
			__u32 host_mask = 0xffffffffu >> plen;

			src->v4 = (src->v4 & ~bpf_htonl(host_mask)) |
				  bpf_htonl(xlb_encap_src_bits(flow) >> plen);
		}
		return 0;
	}

	if (!(cfg->encap_src_v6.v6[0] | cfg->encap_src_v6.v6[1] | cfg->encap_src_v6.v6[2] |
	      cfg->encap_src_v6.v6[3]))
		return -1;
	*src = cfg->encap_src_v6;
	if (cfg->encap_src_v6_plen && cfg->encap_src_v6_plen < 128) {
		__u32 plen_low = cfg->encap_src_v6_plen > 96 ? cfg->encap_src_v6_plen - 96 : 0;
		__u32 host_mask = 0xffffffffu >> plen_low;

		src->v6[3] = (src->v6[3] & ~bpf_htonl(host_mask)) |
			     bpf_htonl(xlb_encap_src_bits(flow) >> plen_low);
	}
	return 0;
}

/* l2_len (14, 18 or 22: parse.h) as one of those constants, so the
 * verifier sees every offset derived from it bounded. */
static __always_inline __u32 xlb_l2_len_fixed(__u32 l2_len)
{
	if (l2_len == sizeof(struct ethhdr))
		return sizeof(struct ethhdr);
	if (l2_len == sizeof(struct ethhdr) + sizeof(struct xlb_vlan_hdr))
		return sizeof(struct ethhdr) + sizeof(struct xlb_vlan_hdr);
	return sizeof(struct ethhdr) + 2 * sizeof(struct xlb_vlan_hdr);
}

/* The two MACs, 12 bytes, from from to data (xlb_encap_l2). */
static __always_inline void xlb_copy_macs(void *data, const void *from)
{
	*(__u64 *)data = *(const __u64 *)from;
	*(__u32 *)(data + 8) = *(const __u32 *)(from + 8);
}

/* Moves the L2 header (Ethernet, and the VLAN tags if any) to the new start
 * of the frame after bpf_xdp_adjust_head grew it by outer_len bytes, and sets
 * the innermost ethertype to the outer header's family.
 *
 * The bytes move in 8- and 4-byte words, forwards: the source lies
 * outer_len >= 20 bytes after the destination, so nothing is overwritten
 * before it is read. A __builtin_memmove of unknown alignment is compiled
 * to one load and one store per byte, with the bytes spilled to the stack:
 * slower, and stack that the program's call chains cannot spare (512
 * bytes in all). The ethertype that ends the header is not copied: it is
 * set. */
static __always_inline int xlb_encap_l2(void *data, void *end, __u32 l2_len, __u32 outer_len,
					__be16 outer_proto)
{
	void *from = data + outer_len;

	if (l2_len == sizeof(struct ethhdr)) {
		if (from + sizeof(struct ethhdr) > end)
			return -1;
		xlb_copy_macs(data, from);
		((struct ethhdr *)data)->h_proto = outer_proto;
		return 0;
	}
	if (l2_len == sizeof(struct ethhdr) + sizeof(struct xlb_vlan_hdr)) {
		if (from + sizeof(struct ethhdr) + sizeof(struct xlb_vlan_hdr) > end)
			return -1;
		xlb_copy_macs(data, from);
		*(__u32 *)(data + 12) = *(__u32 *)(from + 12); /* the tag's TPID and TCI */
		((struct xlb_vlan_hdr *)(data + sizeof(struct ethhdr)))->encap_proto = outer_proto;
		return 0;
	}
	if (from + sizeof(struct ethhdr) + 2 * sizeof(struct xlb_vlan_hdr) > end)
		return -1;
	xlb_copy_macs(data, from);
	*(__u64 *)(data + 12) = *(__u64 *)(from + 12); /* both tags' TPIDs and TCIs */
	((struct xlb_vlan_hdr *)(data + sizeof(struct ethhdr)))[1].encap_proto = outer_proto;
	return 0;
}

/*
 * Prepends the outer IP header for backend be, with source src, IPv6 flow
 * label label (xlb_flow_label; unused for IPv4), and the MACs of the next
 * hop. Returns 0, or -1 if the packet could not be grown (the caller drops
 * it: the frame may have been modified).
 */
static __always_inline int xlb_encap_ipip(struct xdp_md *ctx, const struct xlb_pkt *pkt,
					  const struct xlb_backend *be, const struct xlb_addr *src,
					  const struct xlb_nexthop *nh, __u32 label)
{
	__u32 outer_len = xlb_outer_hdr_len(be->family);
	__u32 l2_len = pkt->l2_len;
	void *data, *end, *l3;

	if (bpf_xdp_adjust_head(ctx, -(int)outer_len))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;

	if (be->family == XLB_AF_INET) {
		struct iphdr *iph;

		if (xlb_encap_l2(data, end, l2_len, outer_len, bpf_htons(ETH_P_IP)))
			return -1;
		l3 = data + xlb_l2_len_fixed(l2_len);
		iph = l3;
		if ((void *)(iph + 1) > end)
			return -1;
		iph->version = 4;
		iph->ihl = sizeof(*iph) / 4;
		iph->tos = pkt->tos;
		iph->tot_len = bpf_htons(pkt->l3_len + sizeof(*iph));
		iph->id = 0;
		iph->frag_off = bpf_htons(XLB_IP_DF);
		iph->ttl = XLB_OUTER_TTL;
		iph->protocol = XLB_IPPROTO_IPIP;
		iph->check = 0;
		iph->saddr = src->v4;
		iph->daddr = be->addr.v4;
		iph->check = xlb_ipv4_csum(iph);
	} else {
		struct ipv6hdr *ip6h;

		if (xlb_encap_l2(data, end, l2_len, outer_len, bpf_htons(ETH_P_IPV6)))
			return -1;
		l3 = data + xlb_l2_len_fixed(l2_len);
		ip6h = l3;
		if ((void *)(ip6h + 1) > end)
			return -1;
		ip6h->version = 6;
		ip6h->priority = pkt->tos >> 4;
		ip6h->flow_lbl[0] = ((pkt->tos & 0xf) << 4) | ((label >> 16) & 0xf);
		ip6h->flow_lbl[1] = label >> 8;
		ip6h->flow_lbl[2] = label;
		ip6h->payload_len = bpf_htons(pkt->l3_len);
		ip6h->nexthdr = pkt->key.family == XLB_AF_INET ? XLB_IPPROTO_IPIP : XLB_IPPROTO_IPV6;
		ip6h->hop_limit = XLB_OUTER_TTL;
		__builtin_memcpy(&ip6h->saddr, src->v6, sizeof(ip6h->saddr));
		__builtin_memcpy(&ip6h->daddr, be->addr.v6, sizeof(ip6h->daddr));
	}

	if (data + sizeof(struct ethhdr) > end)
		return -1;
	xlb_set_macs(data, nh);
	return 0;
}

/*
 * ipip mode: encapsulates a client's packet for its backend (t) and resolves
 * the next hop. Returns 0 with *nhp set and the frame ready to send, or the
 * drop counter (DROP_MTU with *nhp set and the frame unchanged).
 */
static __always_inline int xlb_ipip_forward(struct xdp_md *ctx, const struct xlb_pkt *pkt,
					    const struct xlb_config *cfg, const struct xlb_target *t, __u32 label,
					    __u64 now, struct xlb_nexthop **nhp)
{
	const struct xlb_backend *be = t->be;
	struct xlb_nexthop *nh;
	struct xlb_addr src;
	int rc;

	/* An IPv6 packet cannot ride in an IPv4 tunnel; lbd refuses such
	 * backends, so this only guards against a corrupted map. */
	if (pkt->key.family == XLB_AF_INET6 && be->family != XLB_AF_INET6)
		return XLB_STAT_DROP_INTERNAL;
	if (xlb_encap_source(cfg, be->family, &pkt->key, &src))
		return XLB_STAT_DROP_NO_SOURCE;

	nh = xlb_next_hop(ctx, t->backend_id, be->family, &src, &be->addr, now, &rc);
	if (!nh)
		return rc;
	*nhp = nh; /* also for DROP_MTU: the caller announces the MTU */
	if (pkt->l3_len + xlb_outer_hdr_len(be->family) > nh->mtu)
		return XLB_STAT_DROP_MTU;
	/* label: the one the flow's entry keeps (xlb_flow_record), or 0 for
	 * a packet without it, hashed here: the same value either way. */
	if (be->family == XLB_AF_INET6 && !label)
		label = xlb_flow_label(&pkt->key, cfg->hash_seed);
	if (xlb_encap_ipip(ctx, pkt, be, &src, nh, be->family == XLB_AF_INET6 ? label : 0))
		return XLB_STAT_DROP_INTERNAL;
	*nhp = nh;
	return 0;
}

#endif /* XLB_BPF_ENCAP_H */
