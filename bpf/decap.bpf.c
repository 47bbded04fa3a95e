/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xlb_decap: the backend side of IP-in-IP load balancing.
 *
 * The load balancer forwards a client's packet to a backend inside an outer
 * IP header (IPv4-in-IPv4, IPv6-in-IPv6 or IPv4-in-IPv6). Kernels without the
 * ipip/ip6_tunnel modules cannot take those apart, so this XDP program does:
 * for a frame whose outer destination is one of the host's own addresses
 * (map xlb_decap_addrs, filled by `xlb-decap attach`), it removes the outer
 * header with bpf_xdp_adjust_head() and hands the inner packet, under the
 * original Ethernet (+VLAN) header, to the stack with XDP_PASS. The backend
 * then answers the client directly (DSR) from the VIP it has on lo.
 *
 * Decapsulated:
 *   IPv4 outer, protocol 4  (IPv4 in IPv4), options allowed (IHL > 5)
 *   IPv4 outer, protocol 41 (IPv6 in IPv4; the lb does not send it, but it
 *                            costs nothing and keeps the matrix complete)
 *   IPv6 outer, next header 41 (IPv6 in IPv6) or 4 (IPv4 in IPv6)
 * Passed untouched (XLB_DECAP_STAT_PASS):
 *   anything that is not IP-in-IP, not addressed to us, or too short to read
 *   the outer header; outer IPv4 fragments (the inner packet is incomplete:
 *   the stack reassembles, and without a tunnel device drops, them);
 *   outer IPv6 with extension headers (not parsed: a documented limitation,
 *   the lb never adds any).
 * Dropped (XLB_DECAP_STAT_DENIED):
 *   IP-in-IP addressed to us from an outer source outside the allow list
 *   (xlb_decap_allow, `xlb-decap attach --allow PREFIX`), when one is set
 *   (XLB_DECAP_F_ALLOW_LIST): whoever can send IP-in-IP to a backend could
 *   otherwise inject packets with any inner (client) source. Without a list
 *   every source is accepted, and xlb-decap warns at attach time.
 * Dropped (XLB_DECAP_STAT_MALFORMED):
 *   IP-in-IP addressed to us whose inner header is truncated or of the wrong
 *   IP version: it cannot be delivered, and passing it would only feed the
 *   stack a packet it has no tunnel for.
 *
 * ECN (RFC 6040, section 4.2): a congestion mark that a router set on the
 * outer header while the packet crossed the tunnel is carried to the inner
 * one, or the endpoints never learn of the congestion:
 *   outer CE over inner ECT(0) or ECT(1): inner becomes CE;
 *   outer ECT(1) over inner ECT(0): inner becomes ECT(1);
 *   outer CE over inner Not-ECT: the inner packet cannot carry the mark, so
 *     it is dropped (the drop is the congestion signal) and counted in
 *     XLB_DECAP_STAT_ECN_DROP;
 *   any other combination leaves the inner packet as it is.
 * The inner IPv4 header checksum is updated incrementally (RFC 1624).
 *
 * Only headers from linux/ and bpf/ are used, so the object builds anywhere
 * libbpf-bootstrap style programs do.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xlb/abi.h"

/* Outer destination addresses accepted for decapsulation: the host's own
 * addresses, written by xlb-decap. The value is unused (1). Pinned by name
 * under /sys/fs/bpf/xlb-decap/<ifname>/ so a later `xlb-decap attach` can
 * re-adopt the map and `xlb-decap stats` can read the counters. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_DECAP_ADDRS);
	__type(key, struct xlb_decap_addr_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_decap_addrs SEC(".maps");

/* Outer source prefixes accepted (xlb-decap --allow), both families in one
 * trie (see struct xlb_decap_allow_key). Consulted only with
 * XLB_DECAP_F_ALLOW_LIST set in xlb_decap_config. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XLB_MAX_DECAP_ALLOW);
	__type(key, struct xlb_decap_allow_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_decap_allow SEC(".maps");

/* One entry: flags (XLB_DECAP_F_*), written by xlb-decap. All zero at load:
 * no allow list, every source accepted. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_decap_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_decap_config SEC(".maps");

/* enum xlb_decap_stat -> per-CPU counter (no atomics on the hot path). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_DECAP_STAT_MAX);
	__type(key, __u32);
	__type(value, struct xlb_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_decap_stats SEC(".maps");

/* 802.1Q / 802.1ad tag following the MAC addresses (linux/if_vlan.h is not a
 * UAPI header). */
struct vlan_tag {
	__be16 tci;
	__be16 proto; /* the encapsulated ethertype */
};

#define IP_MF_OFFSET_MASK 0x3fff /* MF flag + 13-bit fragment offset */

/* ECN codepoints, the low two bits of the TOS / traffic class (RFC 3168). */
#define ECN_NOT_ECT 0
#define ECN_ECT1    1
#define ECN_ECT0    2
#define ECN_CE      3

/* RFC 6040's decapsulation table: the inner packet's new ECN field, or -1
 * for "drop" (outer CE, inner Not-ECT). */
static __always_inline int ecn_decapsulate(__u8 outer, __u8 inner)
{
	if (outer == ECN_CE)
		return inner == ECN_NOT_ECT ? -1 : ECN_CE;
	if (outer == ECN_ECT1 && inner == ECN_ECT0)
		return ECN_ECT1;
	return inner;
}

/* Outer ECN over an inner IPv4 header: rewrites its TOS and patches the
 * header checksum for the changed 16-bit word (RFC 1624: HC' = ~(~HC + ~m +
 * m')). Returns -1 if the packet must be dropped. */
static __always_inline int ecn_apply_v4(struct iphdr *in4, __u8 outer_ecn)
{
	int ecn = ecn_decapsulate(outer_ecn, in4->tos & 3);
	__u16 old_word, new_word;
	__u32 sum;

	if (ecn < 0)
		return -1;
	if (ecn == (in4->tos & 3))
		return 0;
	old_word = *(__u16 *)in4; /* version/IHL and TOS */
	in4->tos = (in4->tos & ~3) | ecn;
	new_word = *(__u16 *)in4;
	sum = (__u16)~in4->check;
	sum += (__u16)~old_word;
	sum += new_word;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	in4->check = (__u16)~sum;
	return 0;
}

/* The same for an inner IPv6 header: ECN is bits 5..4 of its second byte;
 * IPv6 has no header checksum. */
static __always_inline int ecn_apply_v6(struct ipv6hdr *in6, __u8 outer_ecn)
{
	__u8 *b = (__u8 *)in6;
	int ecn = ecn_decapsulate(outer_ecn, (b[1] >> 4) & 3);

	if (ecn < 0)
		return -1;
	b[1] = (b[1] & ~0x30) | (ecn << 4);
	return 0;
}

static __always_inline void count(__u32 stat, __u64 bytes)
{
	struct xlb_counter *c = bpf_map_lookup_elem(&xlb_decap_stats, &stat);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline int is_local_v4(__be32 daddr)
{
	struct xlb_decap_addr_key key;

	/* Whole key zeroed: the unused address bytes and pad are part of it. */
	__builtin_memset(&key, 0, sizeof(key));
	key.addr.v4 = daddr;
	key.family = XLB_AF_INET;
	return bpf_map_lookup_elem(&xlb_decap_addrs, &key) != NULL;
}

static __always_inline int is_local_v6(const struct in6_addr *daddr)
{
	struct xlb_decap_addr_key key;

	__builtin_memset(&key, 0, sizeof(key));
	__builtin_memcpy(&key.addr, daddr, sizeof(key.addr));
	key.family = XLB_AF_INET6;
	return bpf_map_lookup_elem(&xlb_decap_addrs, &key) != NULL;
}

/* True if a tunnelled packet from src (4 or 16 bytes, by family) may be
 * decapsulated: no allow list is set, or src is in it. */
static __always_inline int source_allowed(__u8 family, const void *src)
{
	struct xlb_decap_allow_key key;
	struct xlb_decap_config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&xlb_decap_config, &zero);
	if (!cfg || !(cfg->flags & XLB_DECAP_F_ALLOW_LIST))
		return 1;
	__builtin_memset(&key, 0, sizeof(key));
	key.family = family;
	if (family == XLB_AF_INET) {
		__builtin_memcpy(key.addr, src, 4);
		key.prefixlen = 8 + 32;
	} else {
		__builtin_memcpy(key.addr, src, 16);
		key.prefixlen = 8 + 128;
	}
	return bpf_map_lookup_elem(&xlb_decap_allow, &key) != NULL;
}

SEC("xdp")
int xlb_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;
	struct ethhdr *eth = data;
	struct vlan_tag *vlan = NULL;
	int tagged = 0;    /* survives adjust_head, unlike the vlan pointer */
	__u32 l2_len = sizeof(*eth);
	__u32 outer_len;   /* bytes to strip */
	__u8 inner_proto;  /* IPPROTO_IPIP or IPPROTO_IPV6 */
	__u8 outer_ecn;    /* the outer header's ECN field */
	__be16 l3_proto;

	count(XLB_DECAP_STAT_RX, bytes);

	if ((void *)(eth + 1) > data_end)
		goto pass;
	l3_proto = eth->h_proto;
	if (l3_proto == bpf_htons(ETH_P_8021Q) || l3_proto == bpf_htons(ETH_P_8021AD)) {
		vlan = (void *)(eth + 1);
		if ((void *)(vlan + 1) > data_end)
			goto pass;
		l3_proto = vlan->proto;
		l2_len += sizeof(*vlan);
		tagged = 1;
	}

	if (l3_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = data + l2_len;

		/* Everything up to the address lookup is "is this a tunnel
		 * packet for us at all?": failures pass the frame untouched. */
		if ((void *)(iph + 1) > data_end)
			goto pass;
		if (iph->version != 4 || iph->ihl < 5)
			goto pass;
		if (iph->protocol != IPPROTO_IPIP && iph->protocol != IPPROTO_IPV6)
			goto pass;
		if (iph->frag_off & bpf_htons(IP_MF_OFFSET_MASK))
			goto pass;
		outer_len = iph->ihl * 4;
		if (data + l2_len + outer_len > data_end) /* options cut off */
			goto pass;
		if (!is_local_v4(iph->daddr))
			goto pass;
		if (!source_allowed(XLB_AF_INET, &iph->saddr))
			goto denied;
		inner_proto = iph->protocol;
		outer_ecn = iph->tos & 3;
	} else if (l3_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = data + l2_len;

		if ((void *)(ip6h + 1) > data_end)
			goto pass;
		if (ip6h->version != 6)
			goto pass;
		/* Any other next header, extension headers included, is not
		 * ours to parse. */
		if (ip6h->nexthdr != IPPROTO_IPIP && ip6h->nexthdr != IPPROTO_IPV6)
			goto pass;
		if (!is_local_v6(&ip6h->daddr))
			goto pass;
		if (!source_allowed(XLB_AF_INET6, &ip6h->saddr))
			goto denied;
		outer_len = sizeof(*ip6h);
		inner_proto = ip6h->nexthdr;
		outer_ecn = (((__u8 *)ip6h)[1] >> 4) & 3;
	} else {
		goto pass;
	}

	/* IP-in-IP for us. The inner header must be complete and of the family
	 * the outer one announced, or the packet is useless: drop it. */
	{
		__u8 *inner = data + l2_len + outer_len;

		if (inner_proto == IPPROTO_IPIP) {
			struct iphdr *in4 = (void *)inner;

			if ((void *)(in4 + 1) > data_end || in4->version != 4)
				goto malformed;
			if (ecn_apply_v4(in4, outer_ecn))
				goto ecn_drop;
		} else {
			struct ipv6hdr *in6 = (void *)inner;

			if ((void *)(in6 + 1) > data_end || in6->version != 6)
				goto malformed;
			if (ecn_apply_v6(in6, outer_ecn))
				goto ecn_drop;
		}
	}

	/* Keep the L2 header, drop the outer IP header: save the MACs (+tag),
	 * move the packet start forward by outer_len, and write them back in
	 * front of the inner header. Only the ethertype can change (IPv4-in-IPv6
	 * and IPv6-in-IPv4 switch families). */
	{
		struct ethhdr eth_copy = *eth;
		struct vlan_tag vlan_copy = {};
		__be16 inner_type = inner_proto == IPPROTO_IPIP ? bpf_htons(ETH_P_IP)
							      : bpf_htons(ETH_P_IPV6);

		if (tagged && vlan) {
			vlan_copy = *vlan;
			vlan_copy.proto = inner_type;
		} else {
			eth_copy.h_proto = inner_type;
		}

		if (bpf_xdp_adjust_head(ctx, (int)outer_len))
			goto malformed; /* cannot happen: outer_len bytes exist */

		/* adjust_head invalidated every packet pointer: re-derive. */
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		eth = data;
		if ((void *)(eth + 1) > data_end)
			goto malformed;
		*eth = eth_copy;
		if (tagged) {
			vlan = (void *)(eth + 1);
			if ((void *)(vlan + 1) > data_end)
				goto malformed;
			*vlan = vlan_copy;
		}
	}
	count(XLB_DECAP_STAT_DECAPPED, bytes);
	return XDP_PASS;

malformed:
	count(XLB_DECAP_STAT_MALFORMED, bytes);
	return XDP_DROP;
ecn_drop:
	count(XLB_DECAP_STAT_ECN_DROP, bytes);
	return XDP_DROP;
denied:
	count(XLB_DECAP_STAT_DENIED, bytes);
	return XDP_DROP;
pass:
	count(XLB_DECAP_STAT_PASS, bytes);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
