/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * nat: refusing a SYN whose reply tuple a live flow owns (nat.h,
 * xlb_nat_rev_takeover). Two open connections cannot share one reply tuple,
 * so the new one cannot be served; a silent drop would leave the client
 * retrying its SYN for about a minute, so the load balancer answers for the
 * VIP with a TCP RST, as a host with no listener would (RFC 793, "Reset
 * Generation", for a segment without ACK):
 *
 *   VIP:vp -> C:cp  RST|ACK  seq 0  ack = SYN's seq + segment length
 *
 * (segment length: 1 for the SYN, plus data and a FIN if it carried any).
 * The frame is rewritten in place and sent back out of the ingress device
 * with XDP_TX, MACs swapped, any VLAN tag kept: a fresh IPv4 header without
 * options (TTL 64, DF, ID 0) or IPv6 header (hop limit 64), and a 20-byte
 * TCP header with window 0 and no options; the rest is cut off. Checksums
 * are computed in full (the packet is new), not updated.
 */
#ifndef XLB_BPF_NAT_REFUSE_H
#define XLB_BPF_NAT_REFUSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "csum.h"
#include "parse.h"
#include "stats.h"

#define XLB_RST_TTL 64
#define XLB_IP_DF   0x4000

/* One's complement sum of n bytes (n even) at p, unfolded. */
static __always_inline __u64 xlb_sum16(const void *p, int n)
{
	const __u16 *w = p;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < n / 2; i++)
		sum += w[i];
	return sum;
}

/* The RST's TCP header for the SYN th, whose segment carries seg_len
 * sequence numbers; its checksum is filled by the caller. */
static __always_inline void xlb_rst_tcp(struct tcphdr *rst, const struct tcphdr *th, __u32 seg_len)
{
	__builtin_memset(rst, 0, sizeof(*rst));
	rst->source = th->dest;
	rst->dest = th->source;
	rst->seq = 0;
	rst->ack_seq = bpf_htonl(bpf_ntohl(th->seq) + seg_len);
	rst->doff = sizeof(*rst) / 4;
	rst->rst = 1;
	rst->ack = 1;
}

/*
 * Turns the TCP SYN pkt (parsed, headers where parsing found them) into the
 * RST described above. Returns the new frame length, or 0 if the headers are
 * not where parsing found them (cannot happen; the caller drops).
 */
static __always_inline __u32 xlb_nat_rst_build(struct xdp_md *ctx, const struct xlb_pkt *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 l3_off = pkt->l2_len & 0x1f, l4_off = pkt->l4_off & 0x7f;
	struct ethhdr *eth = data;
	struct tcphdr *th = data + l4_off;
	struct tcphdr rst;
	__u8 mac[ETH_ALEN];
	__u32 seg_len, hdr_len;
	__u64 sum;

	if ((void *)(th + 1) > end || (void *)(eth + 1) > end)
		return 0;
	/* Data and FIN take sequence numbers too. */
	hdr_len = (l4_off - l3_off) + th->doff * 4;
	seg_len = 1 + (pkt->l3_len > hdr_len ? pkt->l3_len - hdr_len : 0) + th->fin;
	xlb_rst_tcp(&rst, th, seg_len);

	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);

	if (pkt->key.family == XLB_AF_INET) {
		struct iphdr *iph = data + l3_off;
		struct tcphdr *out = (void *)(iph + 1);
		struct iphdr ip;

		if ((void *)(out + 1) > end)
			return 0;
		/* The pseudo-header: addresses, protocol, TCP length. */
		sum = (__u64)pkt->key.src.v4 + pkt->key.dst.v4 + bpf_htons(IPPROTO_TCP) + bpf_htons(sizeof(rst));
		rst.check = ~xlb_csum_fold(sum + xlb_sum16(&rst, sizeof(rst)));
		__builtin_memcpy(out, &rst, sizeof(rst));

		/* Built on the stack: summed there, then copied. */
		__builtin_memset(&ip, 0, sizeof(ip));
		ip.version = 4;
		ip.ihl = sizeof(ip) / 4;
		ip.tot_len = bpf_htons(sizeof(ip) + sizeof(rst));
		ip.frag_off = bpf_htons(XLB_IP_DF);
		ip.ttl = XLB_RST_TTL;
		ip.protocol = IPPROTO_TCP;
		ip.saddr = pkt->key.dst.v4;
		ip.daddr = pkt->key.src.v4;
		ip.check = ~xlb_csum_fold(xlb_sum16(&ip, sizeof(ip)));
		__builtin_memcpy(iph, &ip, sizeof(ip));
		return l3_off + sizeof(ip) + sizeof(rst);
	} else {
		struct ipv6hdr *ip6h = data + l3_off;
		struct tcphdr *out = (void *)(ip6h + 1);

		if ((void *)(out + 1) > end)
			return 0;
		sum = xlb_sum16(&pkt->key.src, 16) + xlb_sum16(&pkt->key.dst, 16) + bpf_htons(IPPROTO_TCP) +
		      bpf_htons(sizeof(rst));
		rst.check = ~xlb_csum_fold(sum + xlb_sum16(&rst, sizeof(rst)));
		__builtin_memcpy(out, &rst, sizeof(rst));

		__builtin_memset(ip6h, 0, 4); /* version, traffic class, flow label */
		ip6h->version = 6;
		ip6h->payload_len = bpf_htons(sizeof(rst));
		ip6h->nexthdr = IPPROTO_TCP;
		ip6h->hop_limit = XLB_RST_TTL;
		__builtin_memcpy(&ip6h->saddr, &pkt->key.dst, sizeof(ip6h->saddr));
		__builtin_memcpy(&ip6h->daddr, &pkt->key.src, sizeof(ip6h->daddr));
		return l3_off + sizeof(*ip6h) + sizeof(rst);
	}
}

/*
 * Answers the refused SYN pkt with a RST (XDP_TX), counting it as
 * nat_conflict_rst (and tx); drops it if the frame cannot be rewritten.
 * Returns the XDP action. A global function: refusals are rare.
 */
__noinline int xlb_nat_refuse(struct xdp_md *ctx, const struct xlb_pkt *pkt, __u64 bytes)
{
	__u32 len;

	if (!ctx || !pkt)
		return XDP_ABORTED;
	len = xlb_nat_rst_build(ctx, pkt);
	/* Cut off what followed the old TCP header (options, data, padding). */
	if (!len || bpf_xdp_adjust_tail(ctx, (int)len - (int)bytes)) {
		xlb_count_stat(XLB_STAT_DROP_INTERNAL, bytes);
		return XDP_DROP;
	}
	xlb_count_stat(XLB_STAT_NAT_CONFLICT_RST, bytes);
	xlb_count_stat(XLB_STAT_TX, len);
	return XDP_TX;
}

#endif /* XLB_BPF_NAT_REFUSE_H */
