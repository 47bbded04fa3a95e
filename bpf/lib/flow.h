/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow table: the client's 5-tuple -> backend, last-seen time and TCP state.
 * A packet of a known flow always goes to its recorded backend, whatever the
 * VIP's ring says now: that is what keeps connections alive across backend
 * changes. In the DSR modes (ipip, l2dsr) only the client's direction is
 * seen, so the TCP state is the client's half of the connection; nat and
 * fullnat also see the server's replies, whose FIN or RST closes the flow
 * too (xlb_flow_touch_reply).
 */
#ifndef XLB_BPF_FLOW_H
#define XLB_BPF_FLOW_H

#include "conns.h"
#include "hash.h"
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

/*
 * A flow first seen in the middle of a connection (a TCP packet that is not
 * a SYN, with no entry: XLB_FLOW_TCP_MIDSTREAM) is forwarded, but holds only
 * a half_open unit, with the half-open timeout, until it proves itself with
 * a client packet at least this long after its first one; then it is
 * established. Any number of packets within the first second prove nothing,
 * so a spoofer has to keep every tuple alive for a second to be counted as
 * active, and a forged burst ages out in tcp_half_open. last_seen_ns is not
 * refreshed within the first second (XLB_FLOW_TOUCH_NS), so the proof is the
 * same comparison as the refresh: no extra field or write.
 */
#define XLB_FLOW_PROVE_NS XLB_FLOW_TOUCH_NS

/* State of a new entry created by this packet. */
static __always_inline __u8 xlb_flow_initial_state(const struct xlb_pkt *pkt)
{
	if (pkt->key.proto != IPPROTO_TCP)
		return XLB_FLOW_UDP;
	if (pkt->tcp_flags & XLB_TCP_RST)
		return XLB_FLOW_TCP_RESET;
	if (pkt->tcp_flags & XLB_TCP_FIN)
		return XLB_FLOW_TCP_CLOSING;
	/* A non-SYN without an entry may belong to a connection that was
	 * already open (lbd restarted with a fresh table, or another LB had
	 * it), or be forged: unproven until XLB_FLOW_PROVE_NS. */
	return xlb_tcp_is_syn(pkt->tcp_flags) ? XLB_FLOW_TCP_SYN : XLB_FLOW_TCP_MIDSTREAM;
}

/* The state a TCP packet moves an existing flow to; proven: the packet
 * comes XLB_FLOW_PROVE_NS or more after the flow's last_seen_ns. */
static __always_inline __u8 xlb_flow_next_state(__u8 state, __u8 flags, int proven)
{
	if (flags & XLB_TCP_RST)
		return XLB_FLOW_TCP_RESET;
	if (flags & XLB_TCP_FIN)
		return XLB_FLOW_TCP_CLOSING;
	if (xlb_tcp_is_syn(flags))
		/* A fresh SYN reuses the tuple for a new connection (e.g. after
		 * TIME_WAIT); it stays on the same backend. */
		return XLB_FLOW_TCP_SYN;
	if (state == XLB_FLOW_TCP_SYN || (state == XLB_FLOW_TCP_MIDSTREAM && proven))
		return XLB_FLOW_TCP_ESTABLISHED;
	return state;
}

/*
 * The close flags (XLB_FLOW_F_FIN_CLIENT/_SERVER, _RESET) a TCP packet with
 * these flags adds; fin is the direction's FIN flag. A SYN opens a new
 * connection on the 5-tuple and is handled by xlb_flow_close_flags_reset.
 */
static __always_inline __u32 xlb_flow_close_flags(__u8 tcp_flags, __u32 fin)
{
	if (tcp_flags & XLB_TCP_RST)
		return XLB_FLOW_F_RESET;
	return tcp_flags & XLB_TCP_FIN ? fin : 0;
}

/* Sets the close flags a packet brings, writing only when one is new (FIN
 * and RST are rare, so the shared entry is almost never written here). */
static __always_inline void xlb_flow_note_close(struct xlb_flow *flow, __u8 tcp_flags, __u32 fin)
{
	__u32 add = xlb_flow_close_flags(tcp_flags, fin);

	if (add & ~flow->flags)
		__sync_fetch_and_or(&flow->flags, add);
}

/* A client SYN on a known 5-tuple starts a new connection there (the client
 * reused the tuple after TIME_WAIT): the old connection's close flags go,
 * or the open connection would look finished and its nat reply tuple could
 * be taken. */
static __always_inline void xlb_flow_close_flags_reset(struct xlb_flow *flow)
{
	if (flow->flags & XLB_FLOW_F_CLOSE_MASK)
		__sync_fetch_and_and(&flow->flags, ~XLB_FLOW_F_CLOSE_MASK);
}

/* Whether the flow's connection is over in both directions: FIN from each
 * side, or a RST from either. */
static __always_inline int xlb_flow_finished(const struct xlb_flow *flow)
{
	__u32 f = flow->flags;

	return (f & XLB_FLOW_F_RESET) ||
	       (f & (XLB_FLOW_F_FIN_CLIENT | XLB_FLOW_F_FIN_SERVER)) == (XLB_FLOW_F_FIN_CLIENT | XLB_FLOW_F_FIN_SERVER);
}

/* The count units a flow in this state holds. A flow opened by a SYN (or
 * UDP) counts as active from its first packet; one first seen mid-stream
 * only as half-open until it proves itself; one whose first packet already
 * closes it not at all. */
static __always_inline __u32 xlb_flow_state_units(__u8 state)
{
	switch (state) {
	case XLB_FLOW_TCP_SYN:
		return XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN;
	case XLB_FLOW_TCP_MIDSTREAM:
		return XLB_FLOW_F_HALF_OPEN;
	case XLB_FLOW_TCP_ESTABLISHED:
	case XLB_FLOW_UDP:
		return XLB_FLOW_F_COUNTED;
	default:
		return 0;
	}
}

/*
 * Refreshes a known flow's state, count units and timestamp for a packet
 * going to backend be. Writes only on change: the entry is shared by all
 * CPUs, so a write per packet would bounce its cache line. Returns 1 when it
 * refreshed last_seen (at most once per XLB_FLOW_TOUCH_NS), the moment for
 * once-a-second checks such as xlb_nat_rev_check; else 0.
 */
static __always_inline int xlb_flow_touch(struct xlb_flow *flow, const struct xlb_pkt *pkt,
					   const struct xlb_backend *be, __u64 now)
{
	if (pkt->key.proto == IPPROTO_TCP) {
		__u8 next = xlb_flow_next_state(flow->state, pkt->tcp_flags,
						now - flow->last_seen_ns >= XLB_FLOW_PROVE_NS);
		__u32 want = xlb_flow_state_units(next);
		__u32 have = flow->flags & (XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN);

		if (next != flow->state)
			flow->state = next;
		if (xlb_tcp_is_syn(pkt->tcp_flags))
			xlb_flow_close_flags_reset(flow);
		else
			xlb_flow_note_close(flow, pkt->tcp_flags, XLB_FLOW_F_FIN_CLIENT);
		/* The plain read above only decides whether to act; the atomic
		 * set/clear decides who moves the count. Units are counted
		 * before their flags are set (conns.h), and given back if
		 * another CPU had set them already. */
		if (want & ~have) {
			xlb_conn_account(&pkt->key, be, want & ~have, 0);
			xlb_conn_account(&pkt->key, be, 0, want & ~have & ~xlb_flow_flags_set(flow, want & ~have));
		}
		if (have & ~want)
			xlb_conn_account(&pkt->key, be, 0, xlb_flow_flags_clear(flow, have & ~want));
	}
	if (now - flow->last_seen_ns >= XLB_FLOW_TOUCH_NS) {
		flow->last_seen_ns = now;
		return 1;
	}
	return 0;
}

/*
 * Whether a client SYN must leave its entry's backend be: a SYN on a known
 * tuple starts a new connection there (the client reused the tuple), and a
 * new connection must not go to a backend that is draining or removed (no
 * IN_RING, or weight 0), as in Katran. The SYN test comes first, so other
 * packets never read the backend's flags.
 */
static __always_inline int xlb_flow_syn_leaves(const struct xlb_pkt *pkt, const struct xlb_backend *be)
{
	return pkt->key.proto == IPPROTO_TCP && xlb_tcp_is_syn(pkt->tcp_flags) &&
	       (!(be->flags & XLB_BACKEND_F_IN_RING) || !be->weight);
}

/* IPv6 flow label of a flow (RFC 6437/6438) whose flow hash is hash: the
 * hash's top 20 bits, 1 where those are 0 (0 means "no label"). A 20-bit
 * number; the caller writes it into the header's flow_lbl bytes. */
static __always_inline __u32 xlb_flow_label_of(__u32 hash)
{
	__u32 label = hash >> 12;

	return label ? label : 1;
}

/* xlb_flow_label_of the flow's hash with seed. Hashing the 40-byte tuple
 * costs about 13 ns, so a flow's entry keeps its label (xlb_flow.label),
 * and a packet that was just scheduled takes it from the pick's hash. */
static __always_inline __u32 xlb_flow_label(const struct xlb_flow_key *flow, __u32 seed)
{
	return xlb_flow_label_of(xlb_flow_hash(flow, seed));
}

/* Where a client packet goes: its flow's backend and, for fullnat, the
 * source port the flow was given (network order; 0 otherwise). */
struct xlb_target {
	struct xlb_backend *be;
	__u32 backend_id;
	__be16 nat_port;
	__u8 uncounted; /* set by a new flow's record: its units had no count entry */
};

/* Another CPU created the client's forward entry first: follow it (the
 * caller resolves the backend). */
static __always_inline int xlb_flow_adopt(const struct xlb_flow_key *key, struct xlb_target *t)
{
	struct xlb_flow *flow = bpf_map_lookup_elem(&xlb_flows, key);

	if (!flow)
		return XLB_STAT_DROP_INTERNAL; /* evicted within nanoseconds */
	t->backend_id = flow->backend_id;
	t->nat_port = flow->nat_port;
	t->uncounted = 0; /* the winner's flow: its record said */
	return 0;
}

/*
 * Records a new flow to t's backend and takes its count units. With
 * replace, an existing entry (one whose backend was purged) is overwritten;
 * otherwise a CPU that lost the race to create the entry leaves the
 * winner's entry, counts nothing and follows it (t then names the winner's
 * backend, which the caller resolves): a flow is counted once, and all its
 * packets go to one backend even when the scheduler would pick differently
 * on each CPU (least-conn, rr). The entry of a flow to an IPv6 backend keeps
 * its flow label, label (xlb_flow_label_of). Returns 0 or the drop counter.
 */
static __always_inline int xlb_flow_record(const struct xlb_pkt *pkt, struct xlb_target *t, __u64 now,
					   int replace, __u32 label)
{
	__u8 state = xlb_flow_initial_state(pkt);
	struct xlb_flow flow = {
		.last_seen_ns = now,
		.backend_id = t->backend_id,
		.state = state,
		.flags = xlb_flow_state_units(state) | xlb_flow_close_flags(pkt->tcp_flags, XLB_FLOW_F_FIN_CLIENT),
		.label = t->be->family == XLB_AF_INET6 ? label : 0,
	};

	/* Counted before the entry is visible (conns.h). A full LRU evicts
	 * the least recently used entry instead of failing; the reaper's
	 * reconciliation returns the evicted entry's units. */
	int counted = xlb_conn_account(&pkt->key, t->be, flow.flags, 0);

	if (bpf_map_update_elem(&xlb_flows, &pkt->key, &flow, replace ? BPF_ANY : BPF_NOEXIST)) {
		xlb_conn_account(&pkt->key, t->be, 0, flow.flags);
		return replace ? 0 : xlb_flow_adopt(&pkt->key, t);
	}
	t->uncounted = !counted;
	return 0;
}

static __always_inline int xlb_flow_key_equal(const struct xlb_flow_key *a, const struct xlb_flow_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
	__u32 diff = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*a) / 4); i++)
		diff |= x[i] ^ y[i];
	return !diff;
}

/*
 * Whether an existing entry can serve a VIP of this mode. Entries of nat and
 * fullnat VIPs are born with XLB_FLOW_F_NAT (and fullnat ones with their
 * port); one without, e.g. created before the VIP's mode changed, has no
 * reply mapping, so it is scheduled afresh like an entry of a purged backend.
 */
static __always_inline int xlb_flow_fits_mode(const struct xlb_flow *flow, __u8 mode)
{
	if (mode == XLB_MODE_NAT)
		return (flow->flags & XLB_FLOW_F_NAT) && !flow->nat_port;
	if (mode == XLB_MODE_FULLNAT)
		return (flow->flags & XLB_FLOW_F_NAT) && flow->nat_port;
	return 1;
}

/* Returns the count units an entry holds (to its backend be), atomically,
 * before it is replaced or deleted. */
static __always_inline void xlb_flow_release(struct xlb_flow *flow, const struct xlb_flow_key *key,
					     const struct xlb_backend *be)
{
	__u32 lost;

	if (!(flow->flags & (XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN)))
		return;
	lost = xlb_flow_flags_clear(flow, XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN);
	xlb_conn_account(key, be, 0, lost);
}

/* Deletes the entry this CPU just created for backend_id (its nat reply
 * tuple could not be had), returning whatever units it still holds. */
static __always_inline void xlb_flow_forget(const struct xlb_flow_key *key, const struct xlb_backend *be,
					    __u32 backend_id)
{
	struct xlb_flow *flow = bpf_map_lookup_elem(&xlb_flows, key);

	if (flow && flow->backend_id == backend_id)
		xlb_flow_release(flow, key, be);
	bpf_map_delete_elem(&xlb_flows, key);
}

/*
 * A backend's reply (nat/fullnat) to the flow fwd: the server closing the
 * connection closes the flow as the client doing it would (FIN -> CLOSING,
 * RST -> RESET), and its units are released with the same atomic clear as
 * xlb_flow_touch. A reply never takes units and makes no other state change
 * (only client packets open flows or complete the handshake).
 */
static __always_inline void xlb_flow_touch_reply(struct xlb_flow *flow, const struct xlb_flow_key *fwd,
						 __u8 tcp_flags, const struct xlb_backend *be, __u64 now)
{
	if (fwd->proto == IPPROTO_TCP && (tcp_flags & (XLB_TCP_FIN | XLB_TCP_RST))) {
		__u8 next = xlb_flow_next_state(flow->state, tcp_flags & (XLB_TCP_FIN | XLB_TCP_RST), 0);

		if (next != flow->state)
			flow->state = next;
		xlb_flow_note_close(flow, tcp_flags, XLB_FLOW_F_FIN_SERVER);
		/* CLOSING and RESET hold no units: release all. */
		xlb_flow_release(flow, fwd, be);
	}
	if (now - flow->last_seen_ns >= XLB_FLOW_TOUCH_NS)
		flow->last_seen_ns = now;
}

#endif /* XLB_BPF_FLOW_H */
