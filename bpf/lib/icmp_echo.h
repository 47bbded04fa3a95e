/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Echo replies for VIP addresses. The documented setup does not hold the VIP
 * addresses locally, so nobody else would answer a ping to a VIP: the load
 * balancer answers it itself, in place, as Katran does (send_icmp_reply):
 * the request becomes the reply by swapping the MACs and the IP addresses,
 * setting the type (0 / 129) and a fresh TTL / hop limit, and goes back out
 * of the ingress device with XDP_TX. The payload stays as it is.
 *
 * Checksums are updated, not recomputed: swapping two addresses changes
 * neither the IPv4 header checksum nor the ICMPv6 pseudo-header sum, so only
 * the type (ICMP/ICMPv6 checksum) and the TTL (IPv4 header checksum) enter
 * them. The hop limit is not covered by any checksum.
 */
#ifndef XLB_BPF_ICMP_ECHO_H
#define XLB_BPF_ICMP_ECHO_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include "csum.h"
#include "parse.h"

#define XLB_ICMP_ECHO_REQUEST   8
#define XLB_ICMP_ECHO_REPLY     0
#define XLB_ICMPV6_ECHO_REQUEST 128
#define XLB_ICMPV6_ECHO_REPLY   129
#define XLB_ECHO_TTL            64

/* The first 4 bytes of an ICMP / ICMPv6 header. */
struct xlb_icmp_head {
	__u8 type;
	__u8 code;
	__sum16 check;
};

/*
 * The ICMP header of pkt if it is an echo request (type 8 over IPv4, 128
 * over IPv6, with the 8-byte echo header in the frame and within the IP
 * length), else NULL.
 */
static __always_inline struct xlb_icmp_head *xlb_echo_request(struct xdp_md *ctx, const struct xlb_pkt *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	/* The parser bounds l4_off (IPv4: 22 + 60 at most); masking makes
	 * that visible to the verifier. */
	__u32 off = pkt->l4_off & 0xff;
	struct xlb_icmp_head *ih = data + off;

	if ((void *)ih + 8 > end || off + 8 > pkt->l2_len + pkt->l3_len)
		return NULL;
	if (ih->code != 0)
		return NULL;
	if (pkt->key.family == XLB_AF_INET)
		return ih->type == XLB_ICMP_ECHO_REQUEST ? ih : NULL;
	return ih->type == XLB_ICMPV6_ECHO_REQUEST ? ih : NULL;
}

static __always_inline void xlb_swap_macs(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

/*
 * Turns the echo request ih of pkt into its reply, in place. Returns 0, or
 * -1 if the headers are not where the parser found them.
 */
static __always_inline int xlb_echo_reply(struct xdp_md *ctx, const struct xlb_pkt *pkt, struct xlb_icmp_head *ih)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 l3_off = pkt->l2_len & 0x1f;
	__u16 old_word = *(__u16 *)ih;

	if (data + sizeof(struct ethhdr) > end)
		return -1;
	xlb_swap_macs(data);

	if (pkt->key.family == XLB_AF_INET) {
		struct iphdr *iph = data + l3_off;
		__u16 old_ttl_word;
		__be32 addr;

		if ((void *)(iph + 1) > end)
			return -1;
		addr = iph->saddr;
		iph->saddr = iph->daddr;
		iph->daddr = addr;
		/* TTL shares a 16-bit checksum word with the protocol. */
		old_ttl_word = *(__u16 *)&iph->ttl;
		iph->ttl = XLB_ECHO_TTL;
		iph->check = xlb_csum_apply(iph->check, xlb_csum_diff16(old_ttl_word, *(__u16 *)&iph->ttl));
		ih->type = XLB_ICMP_ECHO_REPLY;
	} else {
		struct ipv6hdr *ip6h = data + l3_off;
		struct in6_addr addr;

		if ((void *)(ip6h + 1) > end)
			return -1;
		addr = ip6h->saddr;
		ip6h->saddr = ip6h->daddr;
		ip6h->daddr = addr;
		ip6h->hop_limit = XLB_ECHO_TTL;
		ih->type = XLB_ICMPV6_ECHO_REPLY;
	}
	/* An all-zero reply (zero id, sequence, payload) needs 0xffff. */
	ih->check = xlb_csum_apply_nonzero(ih->check, xlb_csum_diff16(old_word, *(__u16 *)ih));
	return 0;
}

#endif /* XLB_BPF_ICMP_ECHO_H */
