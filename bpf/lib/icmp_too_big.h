/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Path MTU discovery for the client's side: a client's packet that does not
 * fit the path towards its backend (the route's MTU, less the outer header
 * in ipip mode) is answered with an ICMP error instead of vanishing, as a
 * router would answer it, so the client's stack lowers its path MTU (for
 * TCP: its MSS) and sends again. Katran (send_icmp_too_big) and Cilium
 * (icmp6_send_too_big) do the same.
 *
 *  IPv4: type 3 code 4 "fragmentation needed" (RFC 792, RFC 1191), with the
 *        next-hop MTU in the low 16 bits of the second word; only for a
 *        packet with DF set. Without DF a router would fragment it, which
 *        XDP cannot: the packet is dropped and counted as drop_mtu, as before.
 *  IPv6: type 2 code 0 "packet too big" (RFC 4443 3.2), MTU in the second
 *        word, at least 1280 (IPv6's minimum link MTU; a tunnel path below
 *        1280 + 40 cannot carry every legal packet, and the answer still
 *        says 1280).
 *
 * The error is built in place from the packet itself, and goes back out of
 * the ingress device with XDP_TX, to the MAC the packet came from (like the
 * echo reply, icmp_echo.h):
 *   [L2, MACs swapped, VLAN tag kept][IP: VIP -> client][ICMP 8][quote]
 * The quote is the start of the client's IP packet: as much as keeps the
 * error within 576 bytes for IPv4 (RFC 1812 4.3.2.3, as Linux does) and
 * within 1280 for IPv6 (RFC 4443 2.4(c)), cut to an even length so the
 * checksum is a plain sum of 16-bit words. The source is the VIP, the
 * address the client sent to, so its stack matches the error to the socket
 * (Linux checks the quoted tuple, not the error's source; other stacks may
 * not). TTL / hop limit 64, IPv4 ID 0, DF clear (as Linux sends errors).
 */
#ifndef XLB_BPF_ICMP_TOO_BIG_H
#define XLB_BPF_ICMP_TOO_BIG_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "csum.h"
#include "encap.h"
#include "icmp_echo.h"
#include "parse.h"

#define XLB_ICMP_FRAG_NEEDED_TYPE 3
#define XLB_ICMP_FRAG_NEEDED_CODE 4
#define XLB_ICMPV6_TOO_BIG_TYPE   2
#define XLB_ICMP_ERR_TTL          64
#define XLB_IPV4_MIN_MTU          68
#define XLB_IPV6_MIN_MTU          1280
/* Quoted bytes at most: 576 - 20 - 8 and 1280 - 40 - 8. */
#define XLB_ICMP4_QUOTE_MAX       548
#define XLB_ICMP6_QUOTE_MAX       1232
#define XLB_ICMP_ERR_HDR4         (sizeof(struct iphdr) + 8)
#define XLB_ICMP_ERR_HDR6         (sizeof(struct ipv6hdr) + 8)

/* The MTU to announce: the path's MTU for the client's packets, raised to
 * the family's minimum. */
static __always_inline __u32 xlb_too_big_mtu(__u32 path_mtu, __u8 family)
{
	__u32 min = family == XLB_AF_INET ? XLB_IPV4_MIN_MTU : XLB_IPV6_MIN_MTU;

	return path_mtu < min ? min : path_mtu;
}

/* One's complement sum of the 16-bit words from p to the frame end, which
 * is at most max_bytes away (even). Bounded for the verifier. */
static __always_inline __u32 xlb_sum_to_end(__u16 *p, void *end, __u32 max_bytes)
{
	__u32 sum = 0;

	for (__u32 i = 0; i < max_bytes / 2; i++) {
		if ((void *)(p + 1) > end)
			break;
		sum += *p;
		p++;
	}
	return sum;
}

/*
 * Turns the client's packet pkt into the ICMP error announcing mtu (see the
 * top of this file), ready for XDP_TX. Returns 0, or -1 if the frame could
 * not be resized (the caller drops it: it may have been changed).
 */
static __always_inline int xlb_too_big_build(struct xdp_md *ctx, const struct xlb_pkt *pkt, __u32 mtu)
{
	__u8 v4 = pkt->key.family == XLB_AF_INET;
	__u32 quote_max = v4 ? XLB_ICMP4_QUOTE_MAX : XLB_ICMP6_QUOTE_MAX;
	__u32 hdr = v4 ? XLB_ICMP_ERR_HDR4 : XLB_ICMP_ERR_HDR6;
	__u32 l2_len = xlb_l2_len_fixed(pkt->l2_len);
	__u32 quote = (pkt->l3_len < quote_max ? pkt->l3_len : quote_max) & ~1u;
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 sum64 = 0;
	__u16 *icmp;
	__u32 sum;

	/* Cut the frame to L2 + quote, then make room for IP + ICMP. */
	if (bpf_xdp_adjust_tail(ctx, (int)(l2_len + quote) - (int)(end - data)))
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)hdr))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (xlb_encap_l2(data, end, l2_len, hdr, bpf_htons(v4 ? ETH_P_IP : ETH_P_IPV6)))
		return -1;
	xlb_swap_macs(data);

	if (v4) {
		struct iphdr *iph = data + l2_len;

		icmp = (void *)(iph + 1);
		if ((void *)(icmp + 4) > end)
			return -1;
		iph->version = 4;
		iph->ihl = sizeof(*iph) / 4;
		iph->tos = 0;
		iph->tot_len = bpf_htons(hdr + quote);
		iph->id = 0;
		iph->frag_off = 0;
		iph->ttl = XLB_ICMP_ERR_TTL;
		iph->protocol = IPPROTO_ICMP;
		iph->check = 0;
		iph->saddr = pkt->key.dst.v4;
		iph->daddr = pkt->key.src.v4;
		iph->check = xlb_ipv4_csum(iph);
		((__u8 *)icmp)[0] = XLB_ICMP_FRAG_NEEDED_TYPE;
		((__u8 *)icmp)[1] = XLB_ICMP_FRAG_NEEDED_CODE;
		icmp[1] = 0;
		*(__be32 *)(icmp + 2) = bpf_htonl(mtu & 0xffff);
		sum = xlb_sum_to_end(icmp, end, 8 + XLB_ICMP4_QUOTE_MAX);
	} else {
		struct ipv6hdr *ip6h = data + l2_len;
		__u32 icmp_len = 8 + quote;

		icmp = (void *)(ip6h + 1);
		if ((void *)(icmp + 4) > end)
			return -1;
		*(__be32 *)ip6h = bpf_htonl(0x60000000); /* version 6, class 0, label 0 */
		ip6h->payload_len = bpf_htons(icmp_len);
		ip6h->nexthdr = XLB_IPPROTO_ICMPV6;
		ip6h->hop_limit = XLB_ICMP_ERR_TTL;
		__builtin_memcpy(&ip6h->saddr, pkt->key.dst.v6, sizeof(ip6h->saddr));
		__builtin_memcpy(&ip6h->daddr, pkt->key.src.v6, sizeof(ip6h->daddr));
		((__u8 *)icmp)[0] = XLB_ICMPV6_TOO_BIG_TYPE;
		((__u8 *)icmp)[1] = 0;
		icmp[1] = 0;
		*(__be32 *)(icmp + 2) = bpf_htonl(mtu);
		/* Pseudo-header (RFC 8200 8.1): addresses, length, next header. */
		sum = xlb_sum_to_end(icmp, end, 8 + XLB_ICMP6_QUOTE_MAX);
		sum += bpf_htons(icmp_len) + bpf_htons(XLB_IPPROTO_ICMPV6);
		/* 32-bit words add like their 16-bit halves (csum.h). */
		for (int i = 0; i < 4; i++)
			sum64 += (__u64)pkt->key.src.v6[i] + pkt->key.dst.v6[i];
	}
	icmp[1] = (__u16)~xlb_csum_fold(sum64 + sum);
	return 0;
}

#endif /* XLB_BPF_ICMP_TOO_BIG_H */
