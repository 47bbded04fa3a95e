/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tput_clone: the "clone" generator's tc egress program (trafgen --gen
 * clone, for kernels that refuse live-frames test runs).
 *
 * trafgen sends one seed frame per sendmmsg message from an AF_PACKET socket
 * on the generator's veth (through the stack, not bypassing it, so that this
 * egress hook runs). For every seed this program emits `copies` frames with
 * bpf_clone_redirect to the same veth's egress, each of the next flow of this
 * CPU's share (the same flow numbering, template and checksum arithmetic as
 * tput_gen.bpf.c), then consumes the seed (TC_ACT_STOLEN: the sender sees
 * success). The copies carry `mark`, so when they pass this hook on their way
 * out the program lets them go.
 *
 * Why: every frame sent from user space goes to the veth with bottom halves
 * disabled only around itself, so the peer's NAPI (the forwarder under test)
 * polls one frame at a time. The copies made here are all queued on the
 * peer's ring inside one bottom-half-disabled section, and the peer's NAPI
 * then takes them in a batch, as it would from a NIC (or from live frames).
 *
 * A clone shares its data with the seed; bpf_skb_store_bytes makes the seed's
 * head private again (a copy) before each rewrite, so no copy already queued
 * is changed under the forwarder.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "tput_csum.h"

#define TPUT_MAX_CPUS 256
#define TPUT_MAX_COPIES 256

const volatile __u32 copies = 64;
const volatile __u32 ifindex = 0;      /* the generator's veth */
const volatile __u32 mark = 0x74707574; /* "tput" */
const volatile __u32 flows_per_cpu = 1;
const volatile __u32 ports_per_addr = 1;
const volatile __u32 saddr_base = 0; /* host order */
const volatile __u32 sport_base = 1024;

/* The template's 42 header bytes (Ethernet + IPv4 + UDP), set before load. */
__u8 tput_hdr[48] SEC(".data") = {};

struct clone_cpu {
	__u64 sent;   /* copies handed to the veth */
	__u32 cursor; /* next flow index within this CPU's share */
	__u32 pad;
	__u64 refused; /* copies the veth did not take (counted in sent too) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct clone_cpu);
} tput_clone_state SEC(".maps");

SEC("tc")
int tput_clone(struct __sk_buff *skb)
{
	struct clone_cpu *st;
	__u32 zero = 0, cpu, n = copies;
	/* The headers at offset 2, so that the IPv4 and UDP fields are aligned
	 * on the stack (the verifier refuses misaligned stack access). */
	__u64 buf[6];
	__u8 *hdr = (__u8 *)buf + 2;
	struct iphdr *iph = (void *)(hdr + sizeof(struct ethhdr));
	struct udphdr *udp = (void *)(iph + 1);
	__u32 tmpl_saddr;
	__u16 tmpl_sport, tmpl_icheck, tmpl_ucheck;

	if (skb->mark == mark)
		return TC_ACT_OK; /* one of our copies, leaving */
	st = bpf_map_lookup_elem(&tput_clone_state, &zero);
	if (!st)
		return TC_ACT_SHOT;
	cpu = bpf_get_smp_processor_id();
	if (cpu >= TPUT_MAX_CPUS)
		cpu = 0;
	__builtin_memcpy(hdr, tput_hdr, 42);
	tmpl_saddr = iph->saddr;
	tmpl_sport = udp->source;
	tmpl_icheck = iph->check;
	tmpl_ucheck = udp->check;
	skb->mark = mark;
	if (n > TPUT_MAX_COPIES)
		n = TPUT_MAX_COPIES;
	for (__u32 i = 0; i < n; i++) {
		__u32 flow = cpu * flows_per_cpu + st->cursor;
		__u32 saddr = bpf_htonl(saddr_base + flow / ports_per_addr);
		__u16 sport = bpf_htons((__u16)(sport_base + flow % ports_per_addr));
		__u16 uc;

		if (++st->cursor >= flows_per_cpu)
			st->cursor = 0;
		iph->saddr = saddr;
		iph->check = csum_replace4(tmpl_icheck, tmpl_saddr, saddr);
		uc = csum_replace4(tmpl_ucheck, tmpl_saddr, saddr);
		uc = csum_replace2(uc, tmpl_sport, sport);
		udp->check = uc ? uc : 0xffff;
		udp->source = sport;
		if (bpf_skb_store_bytes(skb, 0, hdr, 42, 0))
			return TC_ACT_SHOT;
		st->sent++;
		if (bpf_clone_redirect(skb, ifindex, 0))
			st->refused++;
	}
	return TC_ACT_STOLEN;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
