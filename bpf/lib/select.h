/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Backend selection for a new flow, per the VIP's scheduler:
 *  maglev      the Maglev ring, indexed by the 5-tuple hash
 *  src-hash    the Maglev ring, indexed by a hash of the client address
 *  random      the Maglev ring, indexed by a random number (weighted random)
 *  rr, wrr     rotation over the VIP's list (wrr: a smooth weighted sequence)
 *  least-conn  the list backend minimising (active + 1) / weight
 */
#ifndef XLB_BPF_SELECT_H
#define XLB_BPF_SELECT_H

#include "conns.h"
#include "hash.h"
#include "maps.h"
#include "parse.h"

/* Masks a list index for the verifier. The barrier stops clang from
 * dropping the mask when it can prove the index is already in range, which
 * the verifier cannot. */
static __always_inline __u32 xlb_list_index(__u32 pos)
{
	asm volatile("" : "+r"(pos));
	return pos & (XLB_VIP_LIST_MAX - 1);
}

/* The backend behind an id, if that id is bound to a backend. */
static __always_inline struct xlb_backend *xlb_backend_get(__u32 backend_id)
{
	struct xlb_backend *be = bpf_map_lookup_elem(&xlb_backends, &backend_id);

	return be && (be->flags & XLB_BACKEND_F_USED) ? be : NULL;
}

/* A list entry may be stale for a moment while lbd rewrites the list: only
 * accept backends of this VIP that take new flows. */
static __always_inline struct xlb_backend *xlb_list_backend(const struct xlb_vip_meta *vip, __u32 backend_id)
{
	struct xlb_backend *be = xlb_backend_get(backend_id);

	if (!be || !(be->flags & XLB_BACKEND_F_IN_RING) || be->vip_id != vip->vip_id || !be->weight)
		return NULL;
	return be;
}

/* Returns the backend id at index on vip's ring, or XLB_RING_EMPTY. */
static __always_inline __u32 xlb_select_ring(const struct xlb_vip_meta *vip, __u32 index)
{
	__u32 vip_id = vip->vip_id;
	__u32 slot, *backend_id;
	void *ring;

	if (!vip->ring_size)
		return XLB_RING_EMPTY;
	ring = bpf_map_lookup_elem(&xlb_rings, &vip_id);
	if (!ring)
		return XLB_RING_EMPTY;
	slot = index % vip->ring_size;
	backend_id = bpf_map_lookup_elem(ring, &slot);
	return backend_id ? *backend_id : XLB_RING_EMPTY;
}

static __always_inline struct xlb_vip_list *xlb_vip_list_get(const struct xlb_vip_meta *vip, __u32 *len)
{
	__u32 vip_id = vip->vip_id;
	struct xlb_vip_list *list = bpf_map_lookup_elem(&xlb_vip_lists, &vip_id);

	if (!list)
		return NULL;
	*len = list->len;
	if (!*len)
		return NULL;
	if (*len > XLB_VIP_LIST_MAX)
		*len = XLB_VIP_LIST_MAX;
	return list;
}

/* rr / wrr: the next list entry. One shared cursor per VIP, advanced
 * atomically, so rotation is exact across CPUs. */
static __always_inline __u32 xlb_select_rotate(const struct xlb_vip_meta *vip)
{
	struct xlb_vip_list *list;
	__u32 len, pos;

	list = xlb_vip_list_get(vip, &len);
	if (!list)
		return XLB_RING_EMPTY;
	pos = __sync_fetch_and_add(&list->cursor, 1) % len;
	return list->ids[xlb_list_index(pos)];
}

/*
 * least-conn: the backend minimising (active + 1) / weight. The scan starts
 * at a position chosen by the flow hash, so ties go to different backends for
 * different flows instead of always to the first. Pools of up to XLB_LC_SCAN
 * backends are scanned whole (exact); larger ones are scanned XLB_LC_SCAN
 * consecutive entries from that position, so the cost of a pick is bounded
 * whatever the pool size (docs/design.md explains the trade-off).
 */
static __always_inline __u32 xlb_select_least_conn(const struct xlb_pkt *pkt, const struct xlb_vip_meta *vip,
						   __u32 hash)
{
	__u64 best_active = 0, best_weight = 0;
	__u32 best = XLB_RING_EMPTY;
	struct xlb_vip_list *list;
	struct xlb_backend_key key;
	__u32 len, pos;

	list = xlb_vip_list_get(vip, &len);
	if (!list)
		return XLB_RING_EMPTY;
	pos = hash % len;

	for (__u32 i = 0; i < XLB_LC_SCAN && i < len; i++) {
		__u32 id = list->ids[xlb_list_index(pos)];
		struct xlb_conn_count *c;
		struct xlb_backend *be;
		__u64 active;

		if (++pos >= len)
			pos = 0;
		be = xlb_list_backend(vip, id);
		if (!be)
			continue;
		xlb_backend_key_make(&key, &pkt->key, be);
		c = bpf_map_lookup_elem(&xlb_conns, &key);
		active = c && c->active > 0 ? c->active : 0;
		/* (active + 1) / weight < (best_active + 1) / best_weight */
		if (best == XLB_RING_EMPTY || (active + 1) * best_weight < (best_active + 1) * be->weight) {
			best = id;
			best_active = active;
			best_weight = be->weight;
		}
	}
	return best;
}

/* The backend id for a new flow of pkt, or XLB_RING_EMPTY. */
static __always_inline __u32 xlb_select(const struct xlb_pkt *pkt, const struct xlb_vip_meta *vip, __u32 hash,
					__u32 seed)
{
	switch (vip->sched) {
	case XLB_SCHED_LEAST_CONN:
		return xlb_select_least_conn(pkt, vip, hash);
	case XLB_SCHED_RR:
	case XLB_SCHED_WRR:
		return xlb_select_rotate(vip);
	case XLB_SCHED_RANDOM:
		return xlb_select_ring(vip, bpf_get_prandom_u32());
	case XLB_SCHED_SRC_HASH:
		return xlb_select_ring(vip, xlb_addr_hash(&pkt->key.src, seed));
	default:
		return xlb_select_ring(vip, hash);
	}
}

#endif /* XLB_BPF_SELECT_H */
