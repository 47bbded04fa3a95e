/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tput_fwd: the trivial forwarder, the ceiling xlb is measured against
 * (scripts/bench_tput.sh, forwarder "trivial-xdp"), one per forwarding mode.
 * Every frame gets the packet transformation of `mode` (set before load)
 * towards ONE fixed backend, without parsing beyond the fixed offsets of the
 * generator's frames (Ethernet + IPv4 with IHL 5 + UDP), without any lookup
 * and without counters, and is redirected through a one-slot devmap (the same
 * mechanism, and so the same bulking, as xlb's xlb_tx_ports) to the egress
 * veth:
 *   L2DSR    MACs only (the frame still goes to the VIP)
 *   IPIP     an outer IPv4 header (protocol 4, outer_src -> backend) pushed
 *            with bpf_xdp_adjust_head, as xlb's ipip encapsulation
 *   NAT      destination address and port := backend, backend_port; IPv4
 *            and UDP checksums fixed incrementally
 *   FULLNAT  as NAT, and source address := snat_src (the port is kept: xlb
 *            allocates one, which this does not model)
 * So each mode's ceiling is the rig's cost plus the cheapest possible form
 * of that mode's rewrite; the difference to xlb is parsing, the VIP and flow
 * lookups, backend selection and the next-hop cache.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "tput_csum.h"

enum { TPUT_FWD_L2DSR, TPUT_FWD_IPIP, TPUT_FWD_NAT, TPUT_FWD_FULLNAT };

const volatile __u32 mode = TPUT_FWD_L2DSR;
const volatile __u8 src_mac[ETH_ALEN] = {};
const volatile __u8 dst_mac[ETH_ALEN] = {};
const volatile __u32 backend = 0;      /* network order */
const volatile __u16 backend_port = 0; /* network order */
const volatile __u32 outer_src = 0;    /* network order: ipip outer source */
const volatile __u32 snat_src = 0;     /* network order: fullnat source */

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tput_fwd_port SEC(".maps");

/* Destination (and for fullnat source) rewrite with incremental checksums. */
static __always_inline int nat(void *data, void *end, int full)
{
	struct iphdr *iph = data + sizeof(struct ethhdr);
	struct udphdr *udp = (void *)(iph + 1);
	__u16 uc;

	if ((void *)(udp + 1) > end)
		return -1;
	uc = udp->check;
	iph->check = csum_replace4(iph->check, iph->daddr, backend);
	uc = csum_replace4(uc, iph->daddr, backend);
	iph->daddr = backend;
	if (full) {
		iph->check = csum_replace4(iph->check, iph->saddr, snat_src);
		uc = csum_replace4(uc, iph->saddr, snat_src);
		iph->saddr = snat_src;
	}
	uc = csum_replace2(uc, udp->dest, backend_port);
	udp->dest = backend_port;
	udp->check = uc ? uc : 0xffff;
	return 0;
}

/* Pushes an outer IPv4 header; the frame's old Ethernet header is rewritten
 * in front of it below. Returns the new data or NULL. */
static __always_inline void *ipip(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u16 inner_len;
	struct iphdr *outer, *inner;
	__u32 sum = 0;

	inner = data + sizeof(struct ethhdr);
	if ((void *)(inner + 1) > end)
		return 0;
	inner_len = bpf_ntohs(inner->tot_len);
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
		return 0;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	outer = data + sizeof(struct ethhdr);
	if ((void *)(outer + 1) > end)
		return 0;
	outer->version = 4;
	outer->ihl = 5;
	outer->tos = 0;
	outer->tot_len = bpf_htons(inner_len + sizeof(struct iphdr));
	outer->id = 0;
	outer->frag_off = bpf_htons(0x4000); /* DF, as xlb sets it */
	outer->ttl = 64;
	outer->protocol = IPPROTO_IPIP;
	outer->check = 0;
	outer->saddr = outer_src;
	outer->daddr = backend;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += ((__u16 *)outer)[i];
	outer->check = (__u16)~csum_fold32(sum);
	((struct ethhdr *)data)->h_proto = bpf_htons(ETH_P_IP);
	return data;
}

SEC("xdp")
int tput_fwd(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth;

	if (mode == TPUT_FWD_IPIP) {
		data = ipip(ctx);
		if (!data)
			return XDP_DROP;
		end = (void *)(long)ctx->data_end;
	} else if (mode == TPUT_FWD_NAT || mode == TPUT_FWD_FULLNAT) {
		if (nat(data, end, mode == TPUT_FWD_FULLNAT))
			return XDP_DROP;
	}
	eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, (const void *)dst_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, (const void *)src_mac, ETH_ALEN);
	return bpf_redirect_map(&tput_fwd_port, 0, XDP_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
