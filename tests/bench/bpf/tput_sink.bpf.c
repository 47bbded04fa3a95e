/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tput_sink: counts and drops everything arriving on the sink's veth, so the
 * receiver is never the bottleneck (and its XDP program is what makes the
 * veth accept redirected frames at all). Frames are classified, per CPU:
 *   ALL      every frame
 *   VIP      IPv4 to the VIP, unchanged (what the trivial forwarder sends)
 *   IPIP     IPv4 protocol 4 (IP-in-IP) to a backend address (xlb)
 *   BACKEND  IPv4 UDP/TCP to a backend address (the kernel's DNAT, xlb nat)
 *   FULLNAT  as BACKEND, but from snat_src (xlb fullnat: SNAT + DNAT)
 *   OTHER    anything else (ARP, lbd's neighbour probes are BACKEND, ...)
 * ARP goes on to the sink's kernel, which holds the backend addresses and so
 * answers for them: lbd keeps the backends' neighbour entries itself
 * ("managed", resolved by the kernel), replacing any permanent one.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

enum { SINK_ALL, SINK_VIP, SINK_IPIP, SINK_BACKEND, SINK_OTHER, SINK_FULLNAT, SINK_NR };

const volatile __u32 vip = 0;          /* network order */
const volatile __u32 backend_net = 0;  /* network order */
const volatile __u32 backend_mask = 0; /* network order */
const volatile __u32 snat_src = 0;     /* network order; 0: no FULLNAT class */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SINK_NR);
	__type(key, __u32);
	__type(value, __u64);
} tput_sink_count SEC(".maps");

static __always_inline void count(__u32 what)
{
	__u64 *c = bpf_map_lookup_elem(&tput_sink_count, &what);

	if (c)
		(*c)++;
}

SEC("xdp")
int tput_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	__u32 what = SINK_OTHER;

	count(SINK_ALL);
	if ((void *)(iph + 1) <= end && eth->h_proto == bpf_htons(ETH_P_IP)) {
		if ((iph->daddr & backend_mask) == backend_net) {
			if (iph->protocol == IPPROTO_IPIP)
				what = SINK_IPIP;
			else if (iph->protocol == IPPROTO_UDP || iph->protocol == IPPROTO_TCP)
				what = snat_src && iph->saddr == snat_src ? SINK_FULLNAT : SINK_BACKEND;
		} else if (iph->daddr == vip) {
			what = SINK_VIP;
		}
	}
	count(what);
	if ((void *)(eth + 1) <= end && eth->h_proto == bpf_htons(ETH_P_ARP))
		return XDP_PASS;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
