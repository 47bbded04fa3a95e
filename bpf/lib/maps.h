/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The load balancer's maps. All are pinned by name (LIBBPF_PIN_BY_NAME) under
 * the directory lbd passes as pin_root_path, /sys/fs/bpf/xlb/<ifname>/, so
 * they outlive lbd and a restarted lbd adopts them. Layouts: include/xlb/abi.h.
 */
#ifndef XLB_BPF_MAPS_H
#define XLB_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xlb/abi.h"

/* (VIP address, port, protocol) -> VIP metadata. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_VIPS);
	__type(key, struct xlb_vip_key);
	__type(value, struct xlb_vip_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_vips SEC(".maps");

/* VIP address -> number of VIPs on it (only consulted on a xlb_vips miss). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_VIPS);
	__type(key, struct xlb_vip_addr_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_vip_addrs SEC(".maps");

/* Template of one VIP's Maglev ring: slot -> backend_id. BPF_F_INNER_MAP lets
 * each VIP's ring have its own size (its own M); BPF_F_MMAPABLE lets lbd
 * read and write slots in its own memory (XLB_RING_MAP_FLAGS). lbd creates
 * one array per VIP with the same key/value sizes and flags, and
 * max_entries = M. */
struct xlb_ring {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, XLB_RING_MAP_FLAGS);
	__type(key, __u32);
	__type(value, __u32);
};

/* vip_id -> that VIP's ring. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XLB_MAX_VIPS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct xlb_ring); /* must be last: a flexible array */
} xlb_rings SEC(".maps");

/* backend_id -> backend. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xlb_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_backends SEC(".maps");

/* Client 5-tuple -> flow. A shared (not per-CPU) LRU: a flow's packets may
 * arrive on any CPU and must all see the same backend. lbd sets max_entries
 * before load (--flow-table-size). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_DEFAULT_FLOWS);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_flows SEC(".maps");

/* Reply tuple of a nat/fullnat flow -> the client's flow. An LRU like
 * xlb_flows (struct xlb_nat_rev says why), so preallocated: LRU maps take no
 * BPF_F_NO_PREALLOC. lbd sizes it before load: --nat-table-size, by default
 * the size of xlb_flows (--flow-table-size). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_DEFAULT_FLOWS);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_nat_rev);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_nat_rev SEC(".maps");

/*
 * A client's fragmented datagram (source, destination, protocol, IP ID) ->
 * its ports, recorded by the first fragment for the later ones (frag.h).
 * Shared, not per-CPU: a NIC hashes fragments on the addresses only, or
 * not at all, so fragments of one datagram may reach different CPUs. An
 * entry is only needed from the first fragment to the last, milliseconds
 * apart, so the LRU's size is the number of datagrams in flight in
 * fragments at once: 8192 of them is 8192 x 64 KiB at the largest, far
 * more than the kernel itself will hold for reassembly (ipfrag_high_thresh,
 * 4 MiB by default), in 8192 x (40 + 4) bytes of entries plus the LRU's
 * overhead, about 1 MiB. An entry evicted early only costs the rest of its
 * datagram (drop_frag_unknown); its sender retransmits.
 */
#define XLB_FRAGS_MAX 8192
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_FRAGS_MAX);
	__type(key, struct xlb_frag_key);
	__type(value, struct xlb_frag);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_frags SEC(".maps");

/* Backend identity -> connection counts (least-conn). lbd creates an entry
 * (zero counts, never overwriting one) when it learns a backend, and deletes
 * it only once the backend is forgotten and its counts are zero; the data
 * path never inserts, so a full map can't make it fail. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__type(key, struct xlb_backend_key);
	__type(value, struct xlb_conn_count);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_conns SEC(".maps");

/* vip_id -> scheduling list for least-conn, rr and wrr VIPs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct xlb_vip_list);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_vip_lists SEC(".maps");

/* Single entry: struct xlb_config. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_config SEC(".maps");

/* Single entry: struct xlb_meta (the ABI version and build of the data
 * path). Never read here: lbd binds it to xlb_lb so it stays among the
 * program's maps (include/xlb/abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_meta SEC(".maps");

/* enum xlb_stat -> per-CPU counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_STAT_MAX);
	__type(key, __u32);
	__type(value, struct xlb_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_gstats SEC(".maps");

/* vip_id -> per-CPU counter of packets forwarded for that VIP. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct xlb_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_vstats SEC(".maps");

/* backend_id -> per-CPU counter of packets forwarded to that backend. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xlb_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_bstats SEC(".maps");

/* ifindex -> ifindex: egress devices for XDP_REDIRECT (when the next hop is
 * not on the ingress interface). lbd inserts the interfaces of its netns
 * that can transmit XDP frames (physical NICs, veth); a next hop on any
 * other device is dropped as drop_egress_not_xdp (xmit.h). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_tx_ports SEC(".maps");

/* ifindex of a VLAN device -> the real device and the tags a frame routed
 * out of it carries (struct xlb_egress). lbd describes every VLAN device
 * of its netns; the next-hop lookups (nexthop.h) read it, so the per-packet
 * cost of a cached next hop is only the L2 rewrite (xmit.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct xlb_egress);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_egress SEC(".maps");

#endif /* XLB_BPF_MAPS_H */
