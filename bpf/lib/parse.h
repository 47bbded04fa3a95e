/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header parsing: Ethernet (with at most two 802.1Q/802.1ad tags), IPv4 (options
 * skipped by IHL), IPv6 (up to XLB_IPV6_MAX_EXT hop-by-hop, routing,
 * destination-options and authentication headers skipped), TCP and UDP. The result is the
 * flow key plus the offsets the forwarding code needs. Parsing never writes to
 * the packet, so anything we decline to handle passes to the kernel untouched.
 *
 * Fragments (IPv4 MF or offset, an IPv6 fragment header behind the others)
 * come back with their datagram's identification in frag_id, for frag.h: a
 * first fragment (offset 0) has its L4 header and ports parsed
 * (XLB_PARSE_FRAG_FIRST, or XLB_PARSE_FRAG_SHORT if that header is cut);
 * a later one only its addresses and protocol (XLB_PARSE_FRAGMENT). An IPv6
 * "atomic fragment" (offset 0, M clear) is a whole packet and is parsed as
 * one (RFC 6946).
 */
#ifndef XLB_BPF_PARSE_H
#define XLB_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "xlb/abi.h"

#define XLB_ETH_P_8021Q  0x8100
#define XLB_ETH_P_8021AD 0x88A8
#define XLB_IP_MF        0x2000
#define XLB_IP_OFFSET    0x1FFF
#define XLB_IPPROTO_ICMPV6 58
#define XLB_IPV6_FRAGMENT 44
#define XLB_IPV6_HOPOPTS  0
#define XLB_IPV6_ROUTING  43
#define XLB_IPV6_AUTH     51
#define XLB_IPV6_DSTOPTS  60
/* Extension headers walked before the L4 header (Cilium's IPV6_MAX_HEADERS),
 * and their total length at most: a longer chain is refused, so l4_off stays
 * below 22 + 40 + 256 (nat.h masks it with 0x1ff). */
#define XLB_IPV6_MAX_EXT     4
#define XLB_IPV6_MAX_EXT_LEN 256

/* TCP flag bits of the 13th byte of the TCP header. */
#define XLB_TCP_FIN 0x01
#define XLB_TCP_SYN 0x02
#define XLB_TCP_RST 0x04
#define XLB_TCP_ACK 0x10

struct xlb_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct xlb_pkt {
	struct xlb_flow_key key; /* the client's 5-tuple, zero padded */
	__u32 l2_len;            /* 14, 18 with a VLAN tag, 22 with two (QinQ) */
	__u32 l3_len;            /* length of the IP packet per its own header */
	__u8 tcp_flags;
	__u8 tos;                /* IPv4 TOS / IPv6 traffic class, copied outward */
	__u16 l4_off;            /* offset of the L4 (TCP/UDP/ICMP) header in the frame */
	__u32 frag_id;           /* fragments: IPv4 ID / IPv6 identification (host order) */
};

/* Verdicts of xlb_parse besides "parsed": which pass counter to bump. */
enum xlb_parse_result {
	XLB_PARSED = 0,
	XLB_PARSE_NOT_IP = XLB_STAT_PASS_NOT_IP,
	XLB_PARSE_ICMP = XLB_STAT_PASS_ICMP,
	XLB_PARSE_MALFORMED = XLB_STAT_PASS_MALFORMED,
	XLB_PARSE_OTHER_L4 = XLB_STAT_PASS_OTHER_L4,
	/* IPv6 extension headers too many, too long, truncated, or a routing
	 * header with segments left (this is not the final destination). The
	 * addresses are parsed: dropped for a VIP address, passed as
	 * malformed otherwise. */
	XLB_PARSE_BAD_EXTHDR = XLB_STAT_DROP_BAD_EXTHDR,
	/* Fragments (frag.h): a later fragment, or any fragment of a protocol
	 * other than TCP and UDP (addresses, protocol and frag_id parsed); a
	 * first fragment with its ports parsed; a first fragment too short
	 * for its TCP/UDP header. */
	XLB_PARSE_FRAGMENT = XLB_STAT_PASS_FRAGMENT,
	XLB_PARSE_FRAG_FIRST = XLB_STAT_FRAG_FIRST,
	XLB_PARSE_FRAG_SHORT = XLB_STAT_DROP_FRAG_SHORT,
};

static __always_inline int xlb_parse_is_frag(int rc)
{
	return rc == XLB_PARSE_FRAGMENT || rc == XLB_PARSE_FRAG_FIRST || rc == XLB_PARSE_FRAG_SHORT;
}

/* Reads ports and flags from an L4 header at l4, of which `room` bytes are
 * inside the IP packet: the header must fit there, not only in the frame
 * (bytes after the IP length are Ethernet padding, which a rewrite must not
 * touch and a backend would not read). */
static __always_inline int xlb_parse_l4(void *l4, void *end, __u32 room, __u8 proto, struct xlb_pkt *pkt)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > end || room < sizeof(*th))
			return XLB_PARSE_MALFORMED;
		pkt->key.sport = th->source;
		pkt->key.dport = th->dest;
		pkt->tcp_flags = ((__u8 *)th)[13];
		return XLB_PARSED;
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > end || room < sizeof(*uh))
			return XLB_PARSE_MALFORMED;
		pkt->key.sport = uh->source;
		pkt->key.dport = uh->dest;
		return XLB_PARSED;
	}
	return XLB_PARSE_OTHER_L4;
}

/*
 * A fragment whose L4 header, if it is the first, is at l4 with `room` bytes
 * of the IP packet from there (pkt's addresses and protocol are filled).
 * Only a first fragment of TCP or UDP has ports to parse; any other fragment
 * is looked up (or refused) by its addresses, protocol and id.
 */
static __always_inline int xlb_parse_frag(void *l4, void *end, __u32 room, int first, __u32 id, struct xlb_pkt *pkt)
{
	pkt->frag_id = id;
	if (!first || (pkt->key.proto != IPPROTO_TCP && pkt->key.proto != IPPROTO_UDP))
		return XLB_PARSE_FRAGMENT;
	if (xlb_parse_l4(l4, end, room, pkt->key.proto, pkt) != XLB_PARSED)
		return XLB_PARSE_FRAG_SHORT;
	return XLB_PARSE_FRAG_FIRST;
}

static __always_inline int xlb_parse_ipv4(void *l3, void *end, struct xlb_pkt *pkt)
{
	struct iphdr *iph = l3;
	__u32 ihl_bytes;

	if ((void *)(iph + 1) > end)
		return XLB_PARSE_MALFORMED;
	ihl_bytes = (__u32)iph->ihl * 4;
	if (iph->version != 4 || ihl_bytes < sizeof(*iph))
		return XLB_PARSE_MALFORMED;
	pkt->l3_len = bpf_ntohs(iph->tot_len);
	if (pkt->l3_len < ihl_bytes || l3 + pkt->l3_len > end)
		return XLB_PARSE_MALFORMED;

	pkt->key.family = XLB_AF_INET;
	pkt->key.proto = iph->protocol;
	pkt->key.src.v4 = iph->saddr;
	pkt->key.dst.v4 = iph->daddr;
	pkt->tos = iph->tos;
	pkt->l4_off = pkt->l2_len + ihl_bytes;
	/* Only the first fragment (offset 0) has the L4 header. */
	if (iph->frag_off & bpf_htons(XLB_IP_MF | XLB_IP_OFFSET))
		return xlb_parse_frag(l3 + ihl_bytes, end, pkt->l3_len - ihl_bytes,
				      !(iph->frag_off & bpf_htons(XLB_IP_OFFSET)), bpf_ntohs(iph->id), pkt);
	/* ICMP: addresses and offsets are filled for the nat ICMP-error
	 * translation (nat_icmp.h); there are no ports. */
	if (iph->protocol == IPPROTO_ICMP)
		return XLB_PARSE_ICMP;
	return xlb_parse_l4(l3 + ihl_bytes, end, pkt->l3_len - ihl_bytes, iph->protocol, pkt);
}

static __always_inline int xlb_ipv6_is_ext(__u8 nexthdr)
{
	return nexthdr == XLB_IPV6_HOPOPTS || nexthdr == XLB_IPV6_ROUTING || nexthdr == XLB_IPV6_DSTOPTS ||
	       nexthdr == XLB_IPV6_AUTH;
}

/*
 * Skips the extension headers after the fixed IPv6 header at l3, the way
 * Cilium's ipv6_hdrlen does: at most XLB_IPV6_MAX_EXT of them, and at most
 * XLB_IPV6_MAX_EXT_LEN bytes, all within the IP length. On success *nexthdr
 * is the protocol after them (the fragment header counts as one: its
 * caller handles it) and *len the bytes from l3 to it. A chain that is
 * too long, truncated, or routed on is XLB_PARSE_BAD_EXTHDR.
 */
static __always_inline int xlb_ipv6_skip_ext(void *l3, void *end, __u32 l3_len, __u8 *nexthdr, __u32 *len)
{
	__u32 off = sizeof(struct ipv6hdr);
	__u8 nh = *nexthdr;

#pragma unroll
	for (int i = 0; i < XLB_IPV6_MAX_EXT; i++) {
		struct ipv6_rt_hdr *h;

		if (!xlb_ipv6_is_ext(nh))
			break;
		h = l3 + off;
		/* Every extension header is 8 bytes at least. */
		if ((void *)h + 8 > end || off + 8 > l3_len)
			return XLB_PARSE_BAD_EXTHDR;
		if (nh == XLB_IPV6_ROUTING && h->segments_left)
			return XLB_PARSE_BAD_EXTHDR;
		off += nh == XLB_IPV6_AUTH ? ((__u32)h->hdrlen + 2) * 4 : ((__u32)h->hdrlen + 1) * 8;
		if (off > sizeof(struct ipv6hdr) + XLB_IPV6_MAX_EXT_LEN)
			return XLB_PARSE_BAD_EXTHDR;
		nh = h->nexthdr;
	}
	if (xlb_ipv6_is_ext(nh))
		return XLB_PARSE_BAD_EXTHDR;
	if (off > l3_len)
		return XLB_PARSE_BAD_EXTHDR;
	*nexthdr = nh;
	*len = off;
	return XLB_PARSED;
}

struct xlb_ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset in 8-byte units << 3, 2 reserved bits, M */
	__be32 id;
};

#define XLB_IPV6_FRAG_OFFSET 0xfff8
#define XLB_IPV6_FRAG_MORE   0x0001

/*
 * The fragment header at hdr_len from l3 (behind the other extension
 * headers, which xlb_ipv6_skip_ext bounded), then the L4 header of a
 * first fragment. One cut short of its 8 bytes is a refused extension
 * header chain, like any truncated one. Another extension header after it
 * is a protocol other than TCP and UDP (not balanced).
 */
static __always_inline int xlb_parse_ipv6_frag(void *l3, void *end, __u32 hdr_len, struct xlb_pkt *pkt)
{
	struct xlb_ipv6_frag_hdr *fh = l3 + (hdr_len & 0x1ff);
	__u16 frag_off;

	if ((void *)(fh + 1) > end || hdr_len + sizeof(*fh) > pkt->l3_len)
		return XLB_PARSE_BAD_EXTHDR;
	hdr_len += sizeof(*fh);
	pkt->key.proto = fh->nexthdr;
	pkt->l4_off = pkt->l2_len + hdr_len;
	frag_off = bpf_ntohs(fh->frag_off);
	/* An atomic fragment is the whole packet: balanced as any other. */
	if (!(frag_off & (XLB_IPV6_FRAG_OFFSET | XLB_IPV6_FRAG_MORE)))
		return xlb_parse_l4(l3 + (hdr_len & 0x1ff), end, pkt->l3_len - hdr_len, fh->nexthdr, pkt);
	return xlb_parse_frag(l3 + (hdr_len & 0x1ff), end, pkt->l3_len - hdr_len, !(frag_off & XLB_IPV6_FRAG_OFFSET),
			      bpf_ntohl(fh->id), pkt);
}

static __always_inline int xlb_parse_ipv6(void *l3, void *end, struct xlb_pkt *pkt)
{
	struct ipv6hdr *ip6h = l3;
	__u32 hdr_len;
	__u8 nexthdr;
	int rc;

	if ((void *)(ip6h + 1) > end)
		return XLB_PARSE_MALFORMED;
	if (ip6h->version != 6)
		return XLB_PARSE_MALFORMED;
	pkt->l3_len = sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
	if (l3 + pkt->l3_len > end)
		return XLB_PARSE_MALFORMED;

	pkt->key.family = XLB_AF_INET6;
	__builtin_memcpy(&pkt->key.src, &ip6h->saddr, sizeof(pkt->key.src));
	__builtin_memcpy(&pkt->key.dst, &ip6h->daddr, sizeof(pkt->key.dst));
	pkt->tos = (ip6h->priority << 4) | (ip6h->flow_lbl[0] >> 4);
	nexthdr = ip6h->nexthdr;
	rc = xlb_ipv6_skip_ext(l3, end, pkt->l3_len, &nexthdr, &hdr_len);
	if (rc)
		return rc;
	if (nexthdr == XLB_IPV6_FRAGMENT)
		return xlb_parse_ipv6_frag(l3, end, hdr_len, pkt);
	pkt->key.proto = nexthdr;
	pkt->l4_off = pkt->l2_len + hdr_len;
	if (nexthdr == XLB_IPPROTO_ICMPV6) {
		/* The nat ICMP-error and echo paths read the ICMP header at an
		 * offset below 128; ICMPv6 behind extension headers (MLD with
		 * its hop-by-hop router alert, mostly) is other traffic. */
		if (hdr_len != sizeof(*ip6h))
			return XLB_PARSE_OTHER_L4;
		return XLB_PARSE_ICMP;
	}
	/* hdr_len <= l3_len: xlb_ipv6_skip_ext checked it. */
	return xlb_parse_l4(l3 + (hdr_len & 0x1ff), end, pkt->l3_len - hdr_len, nexthdr, pkt);
}

/* Fills pkt (which the caller zeroed) or says why the packet is not ours. */
static __always_inline int xlb_parse(void *data, void *end, struct xlb_pkt *pkt)
{
	struct ethhdr *eth = data;
	__be16 proto;

	if ((void *)(eth + 1) > end)
		return XLB_PARSE_MALFORMED;
	proto = eth->h_proto;
	pkt->l2_len = sizeof(*eth);
	/* An outer tag (802.1Q or 802.1ad), and inside it at most one 802.1Q
	 * tag (QinQ). A third tag leaves the ethertype a TPID: not IP for us
	 * (pass_not_ip), documented. */
	if (proto == bpf_htons(XLB_ETH_P_8021Q) || proto == bpf_htons(XLB_ETH_P_8021AD)) {
		struct xlb_vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > end)
			return XLB_PARSE_MALFORMED;
		proto = vh->encap_proto;
		pkt->l2_len += sizeof(*vh);
		if (proto == bpf_htons(XLB_ETH_P_8021Q)) {
			vh++;
			if ((void *)(vh + 1) > end)
				return XLB_PARSE_MALFORMED;
			proto = vh->encap_proto;
			pkt->l2_len += sizeof(*vh);
		}
	}
	if (proto == bpf_htons(ETH_P_IP))
		return xlb_parse_ipv4(data + pkt->l2_len, end, pkt);
	if (proto == bpf_htons(ETH_P_IPV6))
		return xlb_parse_ipv6(data + pkt->l2_len, end, pkt);
	return XLB_PARSE_NOT_IP;
}

#endif /* XLB_BPF_PARSE_H */
