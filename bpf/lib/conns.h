/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-backend connection counts for least-conn, keyed by backend identity.
 *
 * A flow holds at most one unit of its backend's `active` count and one of
 * `half_open`, recorded in its XLB_FLOW_F_COUNTED / _HALF_OPEN flags. Flags
 * are set and cleared with atomic fetch-or / fetch-and, and whoever actually
 * flips a flag moves the count: so two CPUs seeing the same FIN, or the data
 * path racing lbd's reaper, can never release a unit twice. Decrements clamp
 * at zero, so a count never goes negative even if the map was tampered with.
 *
 * A unit is added to the count before the flag that holds it is set (or the
 * entry holding it becomes visible), and taken off after the flag is
 * cleared; a CPU whose fetch-or finds the flag already set takes its unit
 * back. So a count is never below the units the flows hold, and the clamp
 * at zero never swallows a real release. (Counting after the flag, another
 * CPU could clear the flag and decrement a zero count first: the clamp
 * would eat the decrement and the count would keep a unit nobody holds.)
 */
#ifndef XLB_BPF_CONNS_H
#define XLB_BPF_CONNS_H

#include "maps.h"

/* Bounded retries of the compare-and-swap in xlb_conn_dec: contention on one
 * backend's count is at most a few CPUs deep. */
#define XLB_CONN_CAS_TRIES 8

static __always_inline void xlb_backend_key_make(struct xlb_backend_key *key, const struct xlb_flow_key *flow,
						 const struct xlb_backend *be)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->vip.addr = flow->dst;
	key->vip.port = flow->dport;
	key->vip.proto = flow->proto;
	key->vip.family = flow->family;
	key->addr = be->addr;
	key->port = be->port;
	key->family = be->family;
}

/* *v += delta, clamped at zero, atomically (compare-and-swap). */
static __always_inline void xlb_conn_add(__s64 *v, __s64 delta)
{
	if (delta > 0) {
		__sync_fetch_and_add(v, delta);
		return;
	}
	for (int i = 0; i < XLB_CONN_CAS_TRIES; i++) {
		__s64 cur = *(volatile __s64 *)v;
		__s64 next = cur + delta;

		if (next < 0)
			next = 0;
		if (next == cur || __sync_val_compare_and_swap(v, cur, next) == cur)
			return;
	}
}

/* Moves the counts of (flow key, backend) for the flags a flow gained
 * (set) and lost (cleared). Returns 0 if there were units to move but the
 * backend's identity has no count entry (lbd creates them; the data path
 * never does), 1 otherwise. */
static __always_inline int xlb_conn_account(const struct xlb_flow_key *fkey, const struct xlb_backend *be,
					    __u32 gained, __u32 lost)
{
	struct xlb_backend_key key;
	struct xlb_conn_count *c;

	if (!((gained | lost) & (XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN)))
		return 1;
	xlb_backend_key_make(&key, fkey, be);
	c = bpf_map_lookup_elem(&xlb_conns, &key);
	if (!c)
		return 0;
	if (gained & XLB_FLOW_F_COUNTED)
		xlb_conn_add(&c->active, 1);
	if (gained & XLB_FLOW_F_HALF_OPEN)
		xlb_conn_add(&c->half_open, 1);
	if (lost & XLB_FLOW_F_COUNTED)
		xlb_conn_add(&c->active, -1);
	if (lost & XLB_FLOW_F_HALF_OPEN)
		xlb_conn_add(&c->half_open, -1);
	return 1;
}

/* Atomically sets flags on a flow; returns the ones that were not set before. */
static __always_inline __u32 xlb_flow_flags_set(struct xlb_flow *flow, __u32 flags)
{
	return ~__sync_fetch_and_or(&flow->flags, flags) & flags;
}

/* Atomically clears flags on a flow; returns the ones that were set before. */
static __always_inline __u32 xlb_flow_flags_clear(struct xlb_flow *flow, __u32 flags)
{
	return __sync_fetch_and_and(&flow->flags, ~flags) & flags;
}

#endif /* XLB_BPF_CONNS_H */
