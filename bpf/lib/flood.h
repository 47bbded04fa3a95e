/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The new-flow flood guard, after Katran's is_under_flood. Each CPU counts
 * the packets that found no flow entry in one-second windows; past the
 * configured rate (xlb_config.flood_rate, XLB_FLOOD_DEFAULT_RATE when 0)
 * the CPU is "under flood" until its window ends. Meanwhile new flows of
 * VIPs whose forwarding needs no state (ipip, l2dsr) are forwarded by the
 * VIP's ring without a flow entry (xlb_stateless_pick): a SYN flood then
 * neither evicts established flows from the LRU table nor inflates
 * least-conn's counts, and the CPU does no insert (the costly step, under
 * the LRU's lock). nat and fullnat VIPs keep inserting: their replies need
 * the reverse entry.
 *
 * Per CPU and without atomics: RSS spreads a flood over the CPUs, and each
 * CPU protects its own share of the work. The window check is on the
 * new-flow path only, never on an established flow's packet.
 */
#ifndef XLB_BPF_FLOOD_H
#define XLB_BPF_FLOOD_H

#include "maps.h"
#include "stats.h"

#define XLB_FLOOD_WINDOW_NS 1000000000ULL

/* Per-CPU window state; not pinned (a reload starts a fresh window). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_flood_window);
} xlb_flood SEC(".maps");

/* Counts a packet without a flow entry on this CPU and returns whether the
 * CPU is past its new-flow rate in the current window. The first packet
 * past it counts the window (flood_windows). */
static __always_inline int xlb_under_flood(const struct xlb_config *cfg, __u64 now)
{
	struct xlb_flood_window *w;
	__u32 zero = 0;
	__u64 rate;

	if (cfg->flags & XLB_CFG_F_NO_FLOOD_GUARD)
		return 0;
	w = bpf_map_lookup_elem(&xlb_flood, &zero);
	if (!w)
		return 0;
	if (now - w->start_ns >= XLB_FLOOD_WINDOW_NS) {
		w->start_ns = now;
		w->new_flows = 0;
	}
	rate = cfg->flood_rate ? cfg->flood_rate : XLB_FLOOD_DEFAULT_RATE;
	if (++w->new_flows <= rate)
		return 0;
	if (w->new_flows == rate + 1)
		xlb_count_stat(XLB_STAT_FLOOD_WINDOWS, 0);
	return 1;
}

#endif /* XLB_BPF_FLOOD_H */
