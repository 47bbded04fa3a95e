/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow table: the client's 5-tuple -> backend, last-seen time and TCP state.
 * A packet of a known flow always goes to its recorded backend, whatever the
 * VIP's ring says now: that is what keeps connections alive across backend
 * changes. Only the client's direction is seen (DSR), so the TCP state is the
 * client's half of the connection.
 */
#ifndef XLB_BPF_FLOW_H
#define XLB_BPF_FLOW_H

#include "maps.h"
#include "parse.h"

/* last_seen is refreshed at most this often, so a busy flow does not write
 * its (shared, cross-CPU) cache line on every packet. Idle timeouts are in
 * seconds, so a second of staleness is harmless. */
#define XLB_FLOW_TOUCH_NS 1000000000ULL

static __always_inline int xlb_tcp_is_syn(__u8 flags)
{
	return (flags & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_SYN;
}

/* State of a new entry created by this packet. */
static __always_inline __u8 xlb_flow_initial_state(const struct xlb_pkt *pkt)
{
	if (pkt->key.proto != IPPROTO_TCP)
		return XLB_FLOW_UDP;
	if (pkt->tcp_flags & XLB_TCP_RST)
		return XLB_FLOW_TCP_RESET;
	if (pkt->tcp_flags & XLB_TCP_FIN)
		return XLB_FLOW_TCP_CLOSING;
	/* A non-SYN without an entry belongs to a connection that was already
	 * open (lbd restarted with a fresh table, or another LB had it). */
	return xlb_tcp_is_syn(pkt->tcp_flags) ? XLB_FLOW_TCP_SYN : XLB_FLOW_TCP_ESTABLISHED;
}

/* The state a TCP packet moves an existing flow to. */
static __always_inline __u8 xlb_flow_next_state(__u8 state, __u8 flags)
{
	if (flags & XLB_TCP_RST)
		return XLB_FLOW_TCP_RESET;
	if (flags & XLB_TCP_FIN)
		return XLB_FLOW_TCP_CLOSING;
	if (xlb_tcp_is_syn(flags))
		/* A fresh SYN reuses the tuple for a new connection (e.g. after
		 * TIME_WAIT); it stays on the same backend. */
		return XLB_FLOW_TCP_SYN;
	if (state == XLB_FLOW_TCP_SYN)
		return XLB_FLOW_TCP_ESTABLISHED;
	return state;
}

/* Refreshes a known flow's state and timestamp, writing only on change. */
static __always_inline void xlb_flow_touch(struct xlb_flow *flow, const struct xlb_pkt *pkt, __u64 now)
{
	if (pkt->key.proto == IPPROTO_TCP) {
		__u8 next = xlb_flow_next_state(flow->state, pkt->tcp_flags);

		if (next != flow->state)
			flow->state = next;
	}
	if (now - flow->last_seen_ns >= XLB_FLOW_TOUCH_NS)
		flow->last_seen_ns = now;
}

static __always_inline void xlb_flow_record(const struct xlb_pkt *pkt, __u32 backend_id, __u64 now)
{
	struct xlb_flow flow = {
		.last_seen_ns = now,
		.backend_id = backend_id,
		.state = xlb_flow_initial_state(pkt),
	};

	/* Two CPUs racing on the same new flow compute the same backend from
	 * the same ring, so either update winning is fine. A full LRU evicts
	 * the least recently used entry instead of failing. */
	bpf_map_update_elem(&xlb_flows, &pkt->key, &flow, BPF_ANY);
}

#endif /* XLB_BPF_FLOW_H */
