/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tput_gen: the traffic generator's XDP program (tests/bench/trafgen.cc).
 *
 * trafgen runs it with BPF_PROG_TEST_RUN and BPF_F_TEST_XDP_LIVE_FRAMES on
 * one template frame (Ethernet + IPv4 + UDP). The kernel copies data_in into
 * a page-pool page once, when the page is allocated, and recycles the pages:
 * between runs it resets the frame's pointers but not its bytes. A recycled
 * frame therefore holds whatever its last user made of it (xlb's outer IP
 * header over the old Ethernet header, the kernel's TTL decrement and DNAT).
 * So for every frame the program:
 *   - writes the 42 header bytes afresh from tput_hdr (trafgen fills it
 *     with the template's headers before load; the payload is never changed
 *     by any forwarder here, so it stays as the kernel copied it);
 *   - picks the next flow of this CPU's share of the flow space (a per-CPU
 *     cursor: CPU c owns flows [c*flows_per_cpu, (c+1)*flows_per_cpu), the
 *     way RSS would keep a flow on one core);
 *   - writes the flow's source address and port, deriving the IPv4 header
 *     and UDP checksums from the template's incrementally (RFC 1624);
 *   - counts the frame and returns XDP_TX, which the live-frames test run
 *     turns into a redirect out of the ingress device given in the context
 *     (the generator's veth), i.e. the frame goes to the veth's peer.
 *
 * Varying the flow in the program, rather than calling the test run once per
 * flow with a different data_in, lets one syscall per CPU run for the whole
 * measurement (see trafgen.cc: each test run changes the kernel's XDP
 * dispatcher twice, and each change waits for an RCU grace period) while
 * every frame still belongs to a different flow than the previous one.
 * Both checksums stay valid: the kernel's DNAT path checks the UDP one.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "tput_csum.h"

#define TPUT_MAX_CPUS 256

/* Set by trafgen before load. */
const volatile __u32 flows_per_cpu = 1;  /* flows each CPU cycles through */
const volatile __u32 ports_per_addr = 1; /* flow f: port sport_base + f % ports_per_addr */
const volatile __u32 saddr_base = 0;     /* host order; addr saddr_base + f / ports_per_addr */
const volatile __u32 sport_base = 1024;  /* host order */

/* The template's Ethernet + IPv4 (IHL 5) + UDP headers, 42 bytes in the
 * first 42 of these 48, written by trafgen before load (.data, words: the
 * copy below is five 8-byte and one 2-byte load/store). */
__u64 tput_hdr[6] SEC(".data") = {};

struct gen_cpu {
	__u64 sent;   /* frames handed back with XDP_TX */
	__u32 cursor; /* next flow index within this CPU's share */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gen_cpu);
} tput_gen_state SEC(".maps");

SEC("xdp")
int tput_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct udphdr *udp = (void *)(iph + 1);
	struct gen_cpu *st;
	__u32 zero = 0, cpu, flow, saddr, old_saddr;
	__u16 sport, old_sport, ucheck;

	if ((void *)(udp + 1) > end)
		return XDP_ABORTED;
#pragma unroll
	for (int i = 0; i < 5; i++)
		((__u64 *)data)[i] = tput_hdr[i];
	*(__u16 *)(data + 40) = *(const __u16 *)&tput_hdr[5];

	st = bpf_map_lookup_elem(&tput_gen_state, &zero);
	if (!st)
		return XDP_ABORTED;

	cpu = bpf_get_smp_processor_id();
	if (cpu >= TPUT_MAX_CPUS)
		cpu = 0;
	flow = cpu * flows_per_cpu + st->cursor;
	if (++st->cursor >= flows_per_cpu)
		st->cursor = 0;
	st->sent++;

	saddr = bpf_htonl(saddr_base + flow / ports_per_addr);
	sport = bpf_htons((__u16)(sport_base + flow % ports_per_addr));
	/* The template's values (just copied), whose checksums these are. */
	old_saddr = iph->saddr;
	old_sport = udp->source;

	iph->check = csum_replace4(iph->check, old_saddr, saddr);
	iph->saddr = saddr;
	/* The UDP checksum covers the pseudo-header's source address too. A
	 * checksum of 0 means "none" in UDP over IPv4; the template always has
	 * one, and a computed 0 is sent as 0xffff (RFC 768). */
	ucheck = csum_replace4(udp->check, old_saddr, saddr);
	ucheck = csum_replace2(ucheck, old_sport, sport);
	udp->check = ucheck ? ucheck : 0xffff;
	udp->source = sport;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
