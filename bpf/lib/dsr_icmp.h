/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP errors about DSR replies (ipip and l2dsr VIPs). A backend answers
 * its clients directly, from the VIP; a router on that way whose next link
 * is too small (or that drops the reply for another reason) sends its error
 * to the reply's source, the VIP, which routes to us. The backend's kernel
 * needs it, above all "fragmentation needed" / "packet too big", or it keeps
 * sending segments that never arrive (a PMTU black hole). So the error goes
 * to the flow's backend the way the flow's own packets do: encapsulated
 * (ipip) or readdressed to the backend's MAC (l2dsr), unchanged inside. The
 * backend holds the VIP, so its stack takes the error as addressed to it.
 *
 * The flow: the quoted packet is VIP:vp -> C:cp, its reversal the client's
 * xlb_flows key. Errors of the types nat_icmp.h handles (xlb_icmp_parse),
 * addressed to the quoted packet's source, of a flow whose VIP is ipip or
 * l2dsr. Anything else is not ours (nat errors, then XDP_PASS).
 *
 * The error is encapsulated with the flow's key, not its own: the outer
 * source (and anything else the encapsulation derives from the flow) is the
 * same as for the flow's packets. An error too big for the backend's path
 * is dropped as DROP_MTU: no error is sent about an error.
 */
#ifndef XLB_BPF_DSR_ICMP_H
#define XLB_BPF_DSR_ICMP_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "encap.h"
#include "flow.h"
#include "l2dsr.h"
#include "maps.h"
#include "nat.h"
#include "nat_icmp.h"
#include "parse.h"

/* Per-CPU scratch of xlb_dsr_icmp, off the stack (see xlb_fib_scratch). */
struct xlb_dsr_icmp_scratch {
	struct xlb_icmp_err e;
	struct xlb_vip_key vip;
	struct xlb_pkt fwd; /* the error with the flow's key */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_dsr_icmp_scratch);
} xlb_dsr_icmp_scratch SEC(".maps");

/*
 * Forwards an ICMP error about a DSR reply to the flow's backend (see the
 * top of this file). Returns 0 with *nhp set and the frame ready to send,
 * XLB_ICMP_NOT_OURS, or the drop counter.
 */
static __always_inline int xlb_dsr_icmp(struct xdp_md *ctx, const struct xlb_pkt *pkt,
					const struct xlb_config *cfg, __u64 now, struct xlb_nexthop **nhp)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	struct xlb_dsr_icmp_scratch *s = bpf_map_lookup_elem(&xlb_dsr_icmp_scratch, &zero);
	struct xlb_vip_meta *vip;
	struct xlb_target t = {};
	struct xlb_flow *flow;

	if (!s)
		return XLB_STAT_DROP_INTERNAL;
	__builtin_memset(&s->e, 0, sizeof(s->e));
	if (xlb_icmp_parse(data, end, pkt, &s->e))
		return XLB_ICMP_NOT_OURS;
	if (!xlb_addr_equal(&pkt->key.dst, &s->e.q.src))
		return XLB_ICMP_NOT_OURS;

	s->fwd = *pkt;
	xlb_nat_reply_key(&s->fwd.key, &s->e.q);
	flow = bpf_map_lookup_elem(&xlb_flows, &s->fwd.key);
	if (!flow)
		return XLB_ICMP_NOT_OURS;
	__builtin_memset(&s->vip, 0, sizeof(s->vip));
	s->vip.addr = s->fwd.key.dst;
	s->vip.port = s->fwd.key.dport;
	s->vip.proto = s->fwd.key.proto;
	s->vip.family = s->fwd.key.family;
	vip = bpf_map_lookup_elem(&xlb_vips, &s->vip);
	if (!vip || (vip->mode != XLB_MODE_IPIP && vip->mode != XLB_MODE_L2DSR) ||
	    !xlb_flow_fits_mode(flow, vip->mode))
		return XLB_ICMP_NOT_OURS;
	t.backend_id = flow->backend_id;
	t.be = xlb_backend_get(t.backend_id);
	if (!t.be)
		return XLB_ICMP_NOT_OURS;

	if (vip->mode == XLB_MODE_L2DSR)
		return xlb_l2dsr_forward(ctx, &s->fwd, &t, now, nhp);
	return xlb_ipip_forward(ctx, &s->fwd, cfg, &t, 0, now, nhp);
}

#endif /* XLB_BPF_DSR_ICMP_H */
