/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Backend selection for a new flow: the VIP's Maglev ring, indexed by the flow hash. */
#ifndef XLB_BPF_SELECT_H
#define XLB_BPF_SELECT_H

#include "maps.h"

/* Returns the backend id for hash on vip's ring, or XLB_RING_EMPTY. */
static __always_inline __u32 xlb_select_maglev(const struct xlb_vip_meta *vip, __u32 hash)
{
	__u32 vip_id = vip->vip_id;
	__u32 slot, *backend_id;
	void *ring;

	if (!vip->ring_size)
		return XLB_RING_EMPTY;
	ring = bpf_map_lookup_elem(&xlb_rings, &vip_id);
	if (!ring)
		return XLB_RING_EMPTY;
	slot = hash % vip->ring_size;
	backend_id = bpf_map_lookup_elem(ring, &slot);
	return backend_id ? *backend_id : XLB_RING_EMPTY;
}

/* The backend behind an id, if that id is bound to a backend. */
static __always_inline struct xlb_backend *xlb_backend_get(__u32 backend_id)
{
	struct xlb_backend *be = bpf_map_lookup_elem(&xlb_backends, &backend_id);

	return be && (be->flags & XLB_BACKEND_F_USED) ? be : NULL;
}

#endif /* XLB_BPF_SELECT_H */
