/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xlb_lb: the load balancer's XDP program.
 *
 *   parse -> VIP lookup -> flow lookup (or Maglev for a new flow)
 *         -> route the outer packet -> encapsulate -> XDP_TX / redirect
 *
 * Anything that is not traffic for a VIP leaves with XDP_PASS, untouched.
 * docs/design.md describes the data path and the maps.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/encap.h"
#include "lib/flow.h"
#include "lib/hash.h"
#include "lib/maps.h"
#include "lib/nexthop.h"
#include "lib/parse.h"
#include "lib/select.h"
#include "lib/stats.h"

static __always_inline int xlb_pass(enum xlb_stat reason, __u64 bytes)
{
	xlb_count_stat(reason, bytes);
	return XDP_PASS;
}

static __always_inline int xlb_drop(enum xlb_stat reason, __u64 bytes)
{
	xlb_count_stat(reason, bytes);
	return XDP_DROP;
}

/* Finds the VIP a parsed packet is for, or says which pass counter applies. */
static __always_inline struct xlb_vip_meta *xlb_vip_lookup(const struct xlb_pkt *pkt, enum xlb_stat *miss)
{
	struct xlb_vip_key vkey = {
		.addr = pkt->key.dst,
		.port = pkt->key.dport,
		.proto = pkt->key.proto,
		.family = pkt->key.family,
	};
	struct xlb_vip_addr_key akey = {
		.addr = pkt->key.dst,
		.family = pkt->key.family,
	};
	struct xlb_vip_meta *vip = bpf_map_lookup_elem(&xlb_vips, &vkey);

	if (vip)
		return vip;
	*miss = bpf_map_lookup_elem(&xlb_vip_addrs, &akey) ? XLB_STAT_PASS_VIP_UNSERVED
							   : XLB_STAT_PASS_NOT_VIP;
	return NULL;
}

/*
 * The backend for this packet: the flow's recorded backend if the flow is
 * known (and its backend still exists), else a fresh pick by the VIP's
 * scheduler, recorded as a new flow. Returns NULL when the VIP has no
 * backend; sets *backend_id otherwise.
 */
static __always_inline struct xlb_backend *xlb_backend_for(const struct xlb_pkt *pkt,
							   const struct xlb_vip_meta *vip, __u32 seed,
							   __u64 now, __u64 bytes, __u32 *backend_id)
{
	struct xlb_backend *be;
	struct xlb_flow *flow;
	int stale = 0;

	flow = bpf_map_lookup_elem(&xlb_flows, &pkt->key);
	if (flow) {
		*backend_id = flow->backend_id;
		be = xlb_backend_get(*backend_id);
		if (be) {
			xlb_flow_touch(flow, pkt, be, now);
			xlb_count_stat(XLB_STAT_FLOW_HIT, bytes);
			return be;
		}
		/* Purged backend: schedule the flow afresh. */
		xlb_count_stat(XLB_STAT_FLOW_STALE_BACKEND, bytes);
		stale = 1;
	} else if (pkt->key.proto == IPPROTO_TCP && !xlb_tcp_is_syn(pkt->tcp_flags)) {
		xlb_count_stat(XLB_STAT_FLOW_RESCHEDULED, bytes);
	}

	/* Hashing the 5-tuple is only needed for a new flow. */
	*backend_id = xlb_select(pkt, vip, xlb_flow_hash(&pkt->key, seed), seed);
	be = xlb_backend_get(*backend_id);
	if (!be)
		return NULL;
	xlb_flow_record(pkt, *backend_id, be, now, stale);
	xlb_count_stat(XLB_STAT_NEW_FLOW, bytes);
	return be;
}

SEC("xdp")
int xlb_lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 bytes = end - data;
	enum xlb_stat miss = XLB_STAT_PASS_NOT_VIP;
	struct xlb_vip_meta *vip;
	struct xlb_nexthop *nh;
	struct xlb_config *cfg;
	struct xlb_backend *be;
	struct xlb_pkt pkt;
	struct xlb_addr src;
	__u32 zero = 0, backend_id;
	int rc, action;
	__u64 now;

	xlb_count_stat(XLB_STAT_RX, bytes);
	__builtin_memset(&pkt, 0, sizeof(pkt));
	rc = xlb_parse(data, end, &pkt);
	if (rc != XLB_PARSED)
		return xlb_pass(rc, bytes);

	vip = xlb_vip_lookup(&pkt, &miss);
	if (!vip)
		return xlb_pass(miss, bytes);

	cfg = bpf_map_lookup_elem(&xlb_config, &zero);
	if (!cfg)
		return xlb_drop(XLB_STAT_DROP_INTERNAL, bytes);
	now = bpf_ktime_get_coarse_ns();

	be = xlb_backend_for(&pkt, vip, cfg->hash_seed, now, bytes, &backend_id);
	if (!be)
		return xlb_drop(XLB_STAT_DROP_NO_BACKEND, bytes);
	/* An IPv6 packet cannot ride in an IPv4 tunnel; lbd refuses such
	 * backends, so this only guards against a corrupted map. */
	if (pkt.key.family == XLB_AF_INET6 && be->family != XLB_AF_INET6)
		return xlb_drop(XLB_STAT_DROP_INTERNAL, bytes);
	if (xlb_encap_source(cfg, be->family, &pkt.key, &src))
		return xlb_drop(XLB_STAT_DROP_NO_SOURCE, bytes);

	nh = xlb_next_hop(ctx, backend_id, be->family, &src, &be->addr, now, &rc);
	if (!nh)
		return xlb_drop(rc, bytes);
	if (pkt.l3_len + xlb_outer_hdr_len(be->family) > nh->mtu)
		return xlb_drop(XLB_STAT_DROP_MTU, bytes);

	if (xlb_encap_ipip(ctx, &pkt, be, &src, nh))
		return xlb_drop(XLB_STAT_DROP_INTERNAL, bytes);

	xlb_count(&xlb_vstats, vip->vip_id, bytes);
	xlb_count(&xlb_bstats, backend_id, bytes);
	if (nh->ifindex == ctx->ingress_ifindex) {
		xlb_count_stat(XLB_STAT_TX, bytes);
		action = XDP_TX;
	} else {
		action = bpf_redirect_map(&xlb_tx_ports, nh->ifindex, XDP_DROP);
		xlb_count_stat(action == XDP_REDIRECT ? XLB_STAT_REDIRECT : XLB_STAT_DROP_NO_ROUTE, bytes);
	}
	return action;
}

/*
 * xlb_conn_adjust: lbd's only way to change connection counts (the reaper
 * returning an expired flow's units, reconciliation, purges). Run with
 * BPF_PROG_TEST_RUN and a struct xlb_conn_adjust as ctx_in, it applies the
 * deltas with the same atomic, zero-clamped operations as the data path, so
 * no concurrent increment by the data path is ever lost.
 */
SEC("syscall")
int xlb_conn_adjust(struct xlb_conn_adjust *req)
{
	struct xlb_backend_key key = req->key;
	struct xlb_conn_count *c = bpf_map_lookup_elem(&xlb_conns, &key);

	if (!c) {
		req->result = -2; /* -ENOENT */
		return 0;
	}
	xlb_conn_add(&c->active, req->d_active);
	xlb_conn_add(&c->half_open, req->d_half_open);
	req->result = 0;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
