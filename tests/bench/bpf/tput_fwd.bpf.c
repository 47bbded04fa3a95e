/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tput_fwd: the trivial forwarder, the ceiling xlb is measured against
 * (scripts/bench_tput.sh, forwarder "trivial-xdp"). Every frame leaves
 * unchanged but for its MACs, redirected through a one-slot devmap (the same
 * mechanism, and so the same bulking, as xlb's xlb_tx_ports) to the egress
 * veth. No parsing, no lookups, no counters: the lower bound on per-frame
 * cost of anything that forwards in XDP on this path.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

const volatile __u8 src_mac[ETH_ALEN] = {};
const volatile __u8 dst_mac[ETH_ALEN] = {};

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tput_fwd_port SEC(".maps");

SEC("xdp")
int tput_fwd(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, (const void *)dst_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, (const void *)src_mac, ETH_ALEN);
	return bpf_redirect_map(&tput_fwd_port, 0, XDP_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
