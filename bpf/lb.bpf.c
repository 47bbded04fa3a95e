/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xlb_lb: the load balancer's XDP program.
 *
 *   parse -> VIP lookup -> flow lookup (or the VIP's scheduler for a new flow)
 *         -> forward by the VIP's mode -> XDP_TX / redirect
 *
 * Modes (xlb_vip_meta.mode): ipip encapsulates (encap.h), nat and fullnat
 * rewrite addresses and ports (nat.h), l2dsr only readdresses the frame
 * (l2dsr.h). nat and fullnat also need the way back, but only while some
 * VIP uses them (lbd sets XLB_CFG_F_NAT): then a TCP/UDP packet for no VIP
 * may be a backend's reply (nat.h), and an ICMP error may be about a
 * translated flow (nat_icmp.h); both are translated and sent on. An ICMP
 * error about an ipip or l2dsr flow's reply (a router's "fragmentation
 * needed" sent to the VIP) goes to the flow's backend (dsr_icmp.h).
 *
 * Past a per-CPU rate of new flows, ipip and l2dsr VIPs forward new flows
 * by their ring without recording them (flood.h).
 *
 * An echo request to a VIP address is answered (icmp_echo.h). Other packets
 * for a VIP address are dropped and counted (unserved port or protocol,
 * refused IPv6 extension headers) unless the config passes unserved ones.
 * Fragments of VIP traffic follow their datagram's first fragment to its
 * flow's backend (frag.h).
 * Anything else leaves with XDP_PASS, untouched. docs/design.md describes the
 * data path, the maps, and what happens to every kind of packet.
 *
 * The per-packet paths (established flows of every mode, nat replies, pass)
 * are inlined here. Paths that are rare per packet are global functions
 * (__noinline below and in the headers): the verifier checks each once on
 * its own instead of once for every path leading to it, which keeps the
 * whole program within its limits, and each has its own stack frame. A call
 * and its return cost about 10 ns on the test VM, whose returns are
 * mitigated against speculation (SRSO "safe RET"): 5% of an established
 * flow's packet, so none is on a per-packet path. Large temporaries of the
 * rare paths live in per-CPU scratch maps rather than on the 512 bytes of
 * stack that a call chain shares (xlb_fib_scratch in nexthop.h explains why
 * that is safe).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/dsr_icmp.h"
#include "lib/encap.h"
#include "lib/flood.h"
#include "lib/flow.h"
#include "lib/frag.h"
#include "lib/hash.h"
#include "lib/icmp_echo.h"
#include "lib/icmp_too_big.h"
#include "lib/l2dsr.h"
#include "lib/maps.h"
#include "lib/nat.h"
#include "lib/nat_icmp.h"
#include "lib/nat_refuse.h"
#include "lib/nexthop.h"
#include "lib/parse.h"
#include "lib/select.h"
#include "lib/stats.h"
#include "lib/xmit.h"

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

static __always_inline struct xlb_config *xlb_config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xlb_config, &zero);
}

/* The VIP a parsed packet is for, or NULL. */
static __always_inline struct xlb_vip_meta *xlb_vip_lookup(const struct xlb_pkt *pkt)
{
	struct xlb_vip_key vkey = {
		.addr = pkt->key.dst,
		.port = pkt->key.dport,
		.proto = pkt->key.proto,
		.family = pkt->key.family,
	};

	return bpf_map_lookup_elem(&xlb_vips, &vkey);
}

/* Whether the packet's destination carries some VIP (xlb_vip_addrs): what
 * tells a VIP address's unserved traffic from other hosts' traffic. */
static __always_inline int xlb_is_vip_addr(const struct xlb_pkt *pkt)
{
	struct xlb_vip_addr_key akey = {
		.addr = pkt->key.dst,
		.family = pkt->key.family,
	};

	return bpf_map_lookup_elem(&xlb_vip_addrs, &akey) != NULL;
}

/*
 * A packet for no VIP: other traffic passes to the kernel. A VIP address on
 * a port or protocol that no VIP serves is dropped and counted: the
 * documented setup does not hold the VIP locally, so the kernel would only
 * route it back toward the router. The config's "unserved": "pass"
 * (XLB_CFG_F_PASS_UNSERVED) lets it pass instead, for a host that does hold
 * the VIP address and serves other ports itself.
 */
static __always_inline int xlb_unserved(const struct xlb_pkt *pkt, __u64 bytes)
{
	struct xlb_config *cfg;

	if (!xlb_is_vip_addr(pkt))
		return xlb_pass(XLB_STAT_PASS_NOT_VIP, bytes);
	cfg = xlb_config_get();
	if (cfg && (cfg->flags & XLB_CFG_F_PASS_UNSERVED))
		return xlb_pass(XLB_STAT_PASS_VIP_UNSERVED, bytes);
	return xlb_drop(XLB_STAT_DROP_VIP_UNSERVED, bytes);
}

/*
 * A TCP/UDP packet for no VIP: a backend's reply to a nat/fullnat flow is
 * translated and sent to the client (nat.h); anything else passes. Without a
 * nat VIP (XLB_CFG_F_NAT clear) the reply table is not even looked at. A
 * reply to the fullnat source address may also hit a VIP address (one
 * address can serve both), so the lookup comes before the pass reason.
 */
static __always_inline int xlb_not_vip(struct xdp_md *ctx, const struct xlb_pkt *pkt, __u64 bytes)
{
	struct xlb_config *cfg = xlb_config_get();
	struct xlb_nexthop *nh;
	int rc;

	if (cfg && (cfg->flags & XLB_CFG_F_NAT)) {
		rc = xlb_nat_reply(ctx, pkt, bpf_ktime_get_coarse_ns(), &nh);
		if (rc != XLB_NAT_MISS) {
			if (rc)
				return xlb_drop(rc, bytes);
			/* Replies are not the VIP's or backend's forwarded
			 * traffic: only this global counter has them. */
			xlb_count_stat(XLB_STAT_NAT_REPLY, bytes);
			return xlb_xmit_nh(ctx, pkt, nh, bytes);
		}
	}
	return xlb_unserved(pkt, bytes);
}

/* A protocol other than TCP, UDP and ICMP: counted as pass_other_l4
 * unless it is for a VIP address (xlb_unserved). */
static __always_inline int xlb_other_l4(const struct xlb_pkt *pkt, __u64 bytes)
{
	if (!xlb_is_vip_addr(pkt))
		return xlb_pass(XLB_STAT_PASS_OTHER_L4, bytes);
	return xlb_unserved(pkt, bytes);
}

/* IPv6 extension headers the parser refused (parse.h): a VIP address gets
 * no packet it cannot balance, so those are dropped; others pass as
 * malformed. */
static __always_inline int xlb_bad_exthdr(const struct xlb_pkt *pkt, __u64 bytes)
{
	if (!xlb_is_vip_addr(pkt))
		return xlb_pass(XLB_STAT_PASS_MALFORMED, bytes);
	return xlb_drop(XLB_STAT_DROP_BAD_EXTHDR, bytes);
}

/* ICMP/ICMPv6 other than echo requests: errors about the replies of ipip
 * and l2dsr flows go to the flow's backend (dsr_icmp.h); while a nat VIP
 * exists, errors about nat/fullnat flows are translated (nat_icmp.h); the
 * rest passes as it always did. Returns the XDP action. A global function:
 * ICMP errors are rare. */
__noinline int xlb_icmp_path(struct xdp_md *ctx, const struct xlb_pkt *pkt, __u64 bytes)
{
	struct xlb_config *cfg = xlb_config_get();
	struct xlb_nexthop *nh = NULL;
	int rc;

	/* The verifier makes a global function check its pointers. */
	if (!pkt || !cfg)
		return XDP_ABORTED;
	rc = xlb_dsr_icmp(ctx, pkt, cfg, bpf_ktime_get_coarse_ns(), &nh);
	if (rc != XLB_ICMP_NOT_OURS) {
		if (rc || !nh)
			return xlb_drop(rc ? rc : XLB_STAT_DROP_INTERNAL, bytes);
		xlb_count_stat(XLB_STAT_DSR_ICMP, bytes);
		return xlb_xmit_nh(ctx, pkt, nh, bytes);
	}
	if (!(cfg->flags & XLB_CFG_F_NAT))
		return xlb_pass(XLB_STAT_PASS_ICMP, bytes);
	rc = xlb_nat_icmp(ctx, pkt, cfg, bpf_ktime_get_coarse_ns(), &nh);
	if (rc == XLB_ICMP_NOT_OURS)
		return xlb_pass(XLB_STAT_PASS_ICMP, bytes);
	if (rc)
		return xlb_drop(rc, bytes);
	xlb_count_stat(XLB_STAT_NAT_ICMP, bytes);
	return xlb_xmit_nh(ctx, pkt, nh, bytes);
}

/* Echo requests to a VIP address: answered (icmp_echo.h), or, with
 * "icmp_echo": "off", unserved traffic (xlb_unserved). Returns the XDP
 * action, or XLB_NOT_ECHO for any other ICMP packet. A global function: it
 * is on the ICMP path only. */
#define XLB_NOT_ECHO (-1)
__noinline int xlb_icmp_echo_path(struct xdp_md *ctx, const struct xlb_pkt *pkt, __u64 bytes)
{
	struct xlb_icmp_head *ih;
	struct xlb_config *cfg;

	if (!pkt)
		return XDP_ABORTED;
	ih = xlb_echo_request(ctx, pkt);
	if (!ih || !xlb_is_vip_addr(pkt))
		return XLB_NOT_ECHO;
	cfg = xlb_config_get();
	if (cfg && (cfg->flags & XLB_CFG_F_NO_ICMP_ECHO))
		return xlb_unserved(pkt, bytes);
	if (xlb_echo_reply(ctx, pkt, ih))
		return xlb_drop(XLB_STAT_DROP_INTERNAL, bytes);
	xlb_count_stat(XLB_STAT_ICMP_ECHO_REPLY, bytes);
	xlb_count_stat(XLB_STAT_TX, bytes);
	return XDP_TX;
}

static __always_inline int xlb_icmp(struct xdp_md *ctx, const struct xlb_pkt *pkt, __u64 bytes)
{
	int rc;

	rc = xlb_icmp_echo_path(ctx, pkt, bytes);
	if (rc != XLB_NOT_ECHO)
		return rc;
	return xlb_icmp_path(ctx, pkt, bytes);
}

/* least-conn's pick, as a global function: its scan is the largest loop of
 * the program, and would multiply the verifier's work on everything around
 * it. The call is on least-conn's new flows only. */
__noinline __u32 xlb_pick_least_conn(const struct xlb_pkt *pkt, const struct xlb_vip_meta *vip, __u32 hash)
{
	if (!pkt || !vip)
		return XLB_RING_EMPTY;
	return xlb_select_least_conn(pkt, vip, hash);
}

/* The VIP's scheduler's pick for a new flow of pkt, whose flow hash is hash
 * (xlb_flow_hash with seed), or XLB_RING_EMPTY. */
static __always_inline __u32 xlb_pick(const struct xlb_pkt *pkt, const struct xlb_vip_meta *vip, __u32 hash,
				      __u32 seed)
{
	if (vip->sched == XLB_SCHED_LEAST_CONN)
		return xlb_pick_least_conn(pkt, vip, hash);
	return xlb_select(pkt, vip, hash, seed);
}

/*
 * The pick for a packet that will have no flow entry, or whose connection
 * has lost it: one that is a function of the flow alone, so every packet of
 * the flow gets it. maglev and src-hash pick that way anyway; the other
 * schedulers' picks depend on counts, a cursor or chance, and give way to
 * the VIP's Maglev ring (lbd builds one for every VIP) indexed by the flow
 * hash, as maglev's would be. A VIP without a ring (never one lbd made)
 * falls back to its scheduler. hash: the flow's hash (xlb_flow_hash with
 * seed).
 */
static __always_inline __u32 xlb_stateless_pick(const struct xlb_pkt *pkt, const struct xlb_vip_meta *vip,
						__u32 hash, __u32 seed)
{
	__u32 id;

	if (vip->sched == XLB_SCHED_MAGLEV || vip->sched == XLB_SCHED_SRC_HASH)
		return xlb_pick(pkt, vip, hash, seed);
	id = xlb_select_ring(vip, hash);
	return id != XLB_RING_EMPTY ? id : xlb_pick(pkt, vip, hash, seed);
}

/* Fills *t for a packet forwarded without a flow entry, whose flow hash is
 * hash, counted as stat. Returns 0, or the drop counter. */
static __always_inline int xlb_stateless_target(const struct xlb_pkt *pkt, const struct xlb_vip_meta *vip,
						__u32 hash, __u32 seed, enum xlb_stat stat, __u64 bytes,
						struct xlb_target *t)
{
	t->backend_id = xlb_stateless_pick(pkt, vip, hash, seed);
	t->be = xlb_backend_get(t->backend_id);
	if (!t->be)
		return XLB_STAT_DROP_NO_BACKEND;
	t->nat_port = 0;
	t->uncounted = 0;
	xlb_count_stat(stat, bytes);
	return 0;
}

/*
 * A TCP RST with no flow entry creates none: a reset needs no state, and an
 * entry per forged RST would only fill the table. Where the scheduler's
 * pick is a function of the flow alone (maglev, src-hash) and forwarding
 * needs no allocated state (not fullnat, whose source port lives in the
 * entry), it goes where the flow's other packets went, so a client's reset
 * of a connection that outlived an lbd restart still reaches its backend.
 * Any other pick would be a backend that never had the connection: dropped.
 * Returns 0 with *t filled, or the drop counter.
 */
static __always_inline int xlb_rst_without_flow(const struct xlb_pkt *pkt, const struct xlb_vip_meta *vip,
						__u32 hash, __u32 seed, __u64 bytes, struct xlb_target *t)
{
	if ((vip->sched != XLB_SCHED_MAGLEV && vip->sched != XLB_SCHED_SRC_HASH) || vip->mode == XLB_MODE_FULLNAT)
		return XLB_STAT_DROP_RST_NO_FLOW;
	return xlb_stateless_target(pkt, vip, hash, seed, XLB_STAT_RST_STATELESS, bytes, t);
}

static __always_inline int xlb_mode_translates(__u8 mode)
{
	return mode == XLB_MODE_NAT || mode == XLB_MODE_FULLNAT;
}

/* The flow hash of a packet being scheduled (with seed), computed once for
 * both its uses: the pick, and the IPv6 flow label of the tunnel, set in
 * *label (hashing the 40-byte tuple costs about 13 ns). */
static __always_inline __u32 xlb_schedule_hash(const struct xlb_pkt *pkt, __u32 seed, __u32 *label)
{
	__u32 hash = xlb_flow_hash(&pkt->key, seed);

	*label = xlb_flow_label_of(hash);
	return hash;
}

/*
 * The backend for this packet: the flow's recorded backend if the flow is
 * known (its backend still exists, and the entry suits the VIP's mode), else
 * a fresh pick by the VIP's scheduler (by the ring for a TCP packet that is
 * not a SYN), recorded as a new flow (with its nat reply mapping for
 * nat/fullnat VIPs), unless the CPU is under a new-flow flood. Returns 0
 * with *t filled and *label set (the flow's IPv6 flow label where it is
 * known without hashing again: from its entry, or from the pick's hash), or
 * the drop counter.
 */
static __always_inline int xlb_backend_for(const struct xlb_pkt *pkt, const struct xlb_vip_meta *vip,
					   const struct xlb_config *cfg, __u64 now, __u64 bytes,
					   struct xlb_target *t, __u32 *label)
{
	__u32 hash;
	struct xlb_flow *flow;
	int stale = 0, midstream = 0, rc;

	*label = 0;
	/* A stateless VIP never touches the flow table: its packets, new or
	 * not, go by the ring. lbd sets the flag only where the pick is a
	 * function of the flow and forwarding needs no state; a translating
	 * mode keeps its entries whatever the flag says. */
	if ((vip->flags & XLB_VIP_F_STATELESS) && !xlb_mode_translates(vip->mode))
		return xlb_stateless_target(pkt, vip, xlb_schedule_hash(pkt, cfg->hash_seed, label), cfg->hash_seed, XLB_STAT_STATELESS,
					    bytes, t);
	flow = bpf_map_lookup_elem(&xlb_flows, &pkt->key);
	if (flow) {
		t->backend_id = flow->backend_id;
		t->be = xlb_backend_get(t->backend_id);
		if (t->be && xlb_flow_fits_mode(flow, vip->mode) && !xlb_flow_syn_leaves(pkt, t->be)) {
			t->nat_port = flow->nat_port;
			*label = flow->label;
			/* Once a second, a nat flow's reply entry is checked
			 * (it may have been evicted): off the per-packet path. */
			if (xlb_flow_touch(flow, pkt, t->be, now) && (flow->flags & XLB_FLOW_F_NAT)) {
				rc = xlb_nat_rev_check(pkt, t->backend_id, t->nat_port);
				if (rc)
					return rc;
			}
			xlb_count_stat(XLB_STAT_FLOW_HIT, bytes);
			return 0;
		}
		/* Purged backend, an entry without the nat mapping this VIP's
		 * mode needs, or a new connection (SYN) on the tuple of a
		 * draining or removed backend: schedule the flow afresh. A
		 * live backend gets the old entry's units back first, with
		 * the atomic clear that makes only one CPU (or the reaper)
		 * return them; the entry is then overwritten. */
		if (t->be)
			xlb_flow_release(flow, &pkt->key, t->be);
		if (t->be && xlb_flow_fits_mode(flow, vip->mode))
			xlb_count_stat(XLB_STAT_SYN_RESCHEDULED, bytes);
		else
			xlb_count_stat(XLB_STAT_FLOW_STALE_BACKEND, bytes);
		stale = 1;
	}

	/* From here on the packet is scheduled. */
	hash = xlb_schedule_hash(pkt, cfg->hash_seed, label);
	if (!stale && pkt->key.proto == IPPROTO_TCP && (pkt->tcp_flags & XLB_TCP_RST))
		return xlb_rst_without_flow(pkt, vip, hash, cfg->hash_seed, bytes, t);
	if (!stale) {
		/* A new flow, or a connection without its entry (a non-SYN):
		 * past the flood threshold, ipip and l2dsr VIPs forward it
		 * without one (flood.h), by the pick its later packets will
		 * get again. */
		midstream = pkt->key.proto == IPPROTO_TCP && !xlb_tcp_is_syn(pkt->tcp_flags);
		if (midstream)
			xlb_count_stat(XLB_STAT_FLOW_RESCHEDULED, bytes);
		if (xlb_under_flood(cfg, now) && !xlb_mode_translates(vip->mode))
			return xlb_stateless_target(pkt, vip, hash, cfg->hash_seed, XLB_STAT_FLOOD_STATELESS, bytes,
						    t);
	}

	/* A connection without its entry may have been forwarded statelessly
	 * during a flood: it goes where that put it. */
	t->backend_id = midstream ? xlb_stateless_pick(pkt, vip, hash, cfg->hash_seed) : xlb_pick(pkt, vip, hash, cfg->hash_seed);
	t->be = xlb_backend_get(t->backend_id);
	if (!t->be)
		return XLB_STAT_DROP_NO_BACKEND;
	t->nat_port = 0;
	t->uncounted = 0;
	if (xlb_mode_translates(vip->mode))
		rc = xlb_nat_flow_new(pkt, t->backend_id, vip->mode | (stale ? XLB_NAT_NEW_REPLACE : 0), now, t);
	else
		rc = xlb_flow_record(pkt, t, now, stale, *label);
	if (rc)
		return rc;
	/* Another CPU's entry may name another backend. */
	t->be = xlb_backend_get(t->backend_id);
	if (!t->be)
		return XLB_STAT_DROP_NO_BACKEND;
	xlb_count_stat(XLB_STAT_NEW_FLOW, bytes);
	/* Forwarded all the same; least-conn just cannot see it. */
	if (t->uncounted)
		xlb_count_stat(XLB_STAT_FLOW_UNCOUNTED, bytes);
	return 0;
}

/*
 * A client's packet too big for the path to its backend, whose MTU for the
 * client's packets is path_mtu: answered with ICMP "fragmentation needed" /
 * "packet too big" (icmp_too_big.h), or, for IPv4 without DF, dropped as
 * DROP_MTU. Returns the XDP action. A global function: oversized packets
 * are rare, and only until the client has learnt the path MTU.
 */
__noinline int xlb_too_big_path(struct xdp_md *ctx, const struct xlb_pkt *pkt, __u32 path_mtu, __u64 bytes)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *iph;
	__u32 l3_off;

	if (!pkt)
		return XDP_ABORTED;
	if (pkt->key.family == XLB_AF_INET) {
		l3_off = pkt->l2_len & 0x1f;
		iph = data + l3_off;
		if ((void *)(iph + 1) > end)
			return xlb_drop(XLB_STAT_DROP_INTERNAL, bytes);
		/* Without DF a router would fragment; XDP cannot. */
		if (!(iph->frag_off & bpf_htons(XLB_IP_DF)))
			return xlb_drop(XLB_STAT_DROP_MTU, bytes);
	}
	if (xlb_too_big_build(ctx, pkt, xlb_too_big_mtu(path_mtu, pkt->key.family)))
		return xlb_drop(XLB_STAT_DROP_INTERNAL, bytes);
	xlb_count_stat(pkt->key.family == XLB_AF_INET ? XLB_STAT_ICMP_FRAG_NEEDED : XLB_STAT_ICMP_PKT_TOO_BIG,
		       bytes);
	xlb_count_stat(XLB_STAT_TX, bytes);
	return XDP_TX;
}

/* xlb_stateless_pick for a VIP with a ring (lbd makes one for every VIP),
 * without its fallback to the VIP's scheduler: from the fragment path, a
 * call to least-conn's pick would take the call chain past the 512 bytes
 * of stack. XLB_RING_EMPTY without a ring. */
static __always_inline __u32 xlb_frag_ring_pick(const struct xlb_pkt *pkt, const struct xlb_vip_meta *vip,
						__u32 seed)
{
	if (vip->sched == XLB_SCHED_SRC_HASH)
		return xlb_select_ring(vip, xlb_addr_hash(&pkt->key.src, seed));
	return xlb_select_ring(vip, xlb_flow_hash(&pkt->key, seed));
}

/* xlb_frag_path's answer for a first fragment: forward it as the packet of
 * its 5-tuple, on the main path. */
#define XLB_FRAG_FIRST_FORWARD (-1)

/*
 * A fragment (parse.h's kind: XLB_PARSE_FRAGMENT, _FRAG_FIRST or
 * _FRAG_SHORT), see frag.h. Other hosts' fragments pass as they always did;
 * for a VIP address, a fragment is never passed: a first fragment records
 * its ports and returns XLB_FRAG_FIRST_FORWARD, a later one of a known
 * datagram goes to its flow's backend (xlb_frag_forward), and the rest is
 * dropped and counted, or unserved traffic (xlb_unserved) if no VIP serves
 * its protocol or port. Returns the XDP action otherwise. A global
 * function, so unfragmented packets pay nothing for it.
 */
__noinline int xlb_frag_path(struct xdp_md *ctx, struct xlb_pkt *pkt, int kind, __u64 bytes)
{
	struct xlb_target t = {};
	struct xlb_vip_meta *vip;
	struct xlb_config *cfg;
	struct xlb_flow *flow;

	if (!pkt)
		return XDP_ABORTED;
	if (!xlb_is_vip_addr(pkt))
		return xlb_pass(XLB_STAT_PASS_FRAGMENT, bytes);
	if (pkt->key.proto != IPPROTO_TCP && pkt->key.proto != IPPROTO_UDP)
		return xlb_unserved(pkt, bytes);
	if (kind == XLB_PARSE_FRAG_SHORT)
		return xlb_drop(XLB_STAT_DROP_FRAG_SHORT, bytes);
	if (kind == XLB_PARSE_FRAGMENT && xlb_frag_ports(pkt)) {
		/* A host that serves its VIP addresses' other ports itself
		 * ("unserved": "pass") may be this fragment's destination. */
		cfg = xlb_config_get();
		if (cfg && (cfg->flags & XLB_CFG_F_PASS_UNSERVED))
			return xlb_pass(XLB_STAT_PASS_VIP_UNSERVED, bytes);
		return xlb_drop(XLB_STAT_DROP_FRAG_UNKNOWN, bytes);
	}
	vip = xlb_vip_lookup(pkt);
	if (!vip)
		return xlb_unserved(pkt, bytes);
	/* Recorded for nat VIPs too, so their later fragments are counted as
	 * what they are. */
	if (kind == XLB_PARSE_FRAG_FIRST)
		xlb_frag_record(pkt);
	if (xlb_mode_translates(vip->mode))
		return xlb_drop(XLB_STAT_DROP_FRAG_NAT, bytes);
	if (kind == XLB_PARSE_FRAG_FIRST) {
		xlb_count_stat(XLB_STAT_FRAG_FIRST, bytes);
		return XLB_FRAG_FIRST_FORWARD;
	}
	cfg = xlb_config_get();
	if (!cfg)
		return xlb_drop(XLB_STAT_DROP_INTERNAL, bytes);
	/* The flow's backend. Without an entry (the first fragment came
	 * during a flood and got none, or it was evicted), where a packet of
	 * the flow without its entry goes: where the first fragment went. No
	 * entry is made, and the flow's state and counts are left alone. */
	flow = bpf_map_lookup_elem(&xlb_flows, &pkt->key);
	t.backend_id = flow ? flow->backend_id : xlb_frag_ring_pick(pkt, vip, cfg->hash_seed);
	t.be = xlb_backend_get(t.backend_id);
	if (!t.be)
		return xlb_drop(XLB_STAT_DROP_FRAG_UNKNOWN, bytes);
	return xlb_frag_forward(ctx, pkt, vip, cfg, &t, flow ? flow->label : 0, bytes);
}

/* A client's packet for a VIP: to its flow's backend, by the VIP's mode. */
static __always_inline int xlb_forward(struct xdp_md *ctx, const struct xlb_pkt *pkt,
				       const struct xlb_vip_meta *vip, __u64 bytes)
{
	struct xlb_nexthop *nh = NULL;
	struct xlb_config *cfg;
	struct xlb_target t;
	__u32 label; /* the flow's IPv6 flow label, if its entry keeps one */
	int rc;
	__u64 now;

	cfg = xlb_config_get();
	if (!cfg)
		return xlb_drop(XLB_STAT_DROP_INTERNAL, bytes);
	now = bpf_ktime_get_coarse_ns();

	rc = xlb_backend_for(pkt, vip, cfg, now, bytes, &t, &label);
	if (rc) {
		/* A SYN that a live nat flow's reply tuple shuts out is
		 * refused with a RST, so the client gives up at once instead
		 * of retrying for a minute (nat_refuse.h). Anything else of
		 * such a flow, and UDP, is dropped and counted. */
		if (rc == XLB_STAT_DROP_NAT_CONFLICT && pkt->key.proto == IPPROTO_TCP &&
		    xlb_tcp_is_syn(pkt->tcp_flags))
			return xlb_nat_refuse(ctx, pkt, bytes);
		return xlb_drop(rc, bytes);
	}

	switch (vip->mode) {
	case XLB_MODE_NAT:
	case XLB_MODE_FULLNAT:
		rc = xlb_nat_forward(ctx, pkt, cfg, vip->mode, &t, now, &nh);
		break;
	case XLB_MODE_L2DSR:
		rc = xlb_l2dsr_forward(ctx, pkt, &t, now, &nh);
		break;
	default:
		rc = xlb_ipip_forward(ctx, pkt, cfg, &t, label, now, &nh);
		break;
	}
	if (rc) {
		/* The client learns the path MTU for its packets: less the
		 * outer header in ipip mode. */
		if (rc == XLB_STAT_DROP_MTU && nh)
			return xlb_too_big_path(ctx, pkt,
						nh->mtu - (vip->mode == XLB_MODE_NAT || vip->mode == XLB_MODE_FULLNAT ||
								   vip->mode == XLB_MODE_L2DSR ?
							   0 : xlb_outer_hdr_len(t.be->family)),
						bytes);
		return xlb_drop(rc, bytes);
	}

	xlb_count(&xlb_vstats, vip->vip_id, bytes);
	xlb_count(&xlb_bstats, t.backend_id, bytes);
	return xlb_xmit_nh(ctx, pkt, nh, bytes);
}

SEC("xdp")
int xlb_lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 bytes = end - data;
	struct xlb_vip_meta *vip;
	struct xlb_pkt pkt;
	int rc;

#ifdef XLB_TEST_VARIANT
	/* The second, different but compatible build that
	 * tests/netns/test_upgrade.sh upgrades to (bpf/CMakeLists.txt): one
	 * more instruction, so its object and its kernel tag differ. */
	asm volatile("r0 = 0" ::: "r0");
#endif
	xlb_count_stat(XLB_STAT_RX, bytes);
	__builtin_memset(&pkt, 0, sizeof(pkt));
	rc = xlb_parse(data, end, &pkt);
	if (pkt.l2_len != sizeof(struct ethhdr))
		xlb_note_tagged_src(data, end);
	if (rc == XLB_PARSE_ICMP)
		return xlb_icmp(ctx, &pkt, bytes);
	/* Neither TCP nor UDP: the addresses are parsed, so one for a VIP
	 * address is an unserved protocol. */
	if (rc == XLB_PARSE_OTHER_L4)
		return xlb_other_l4(&pkt, bytes);
	if (rc == XLB_PARSE_BAD_EXTHDR)
		return xlb_bad_exthdr(&pkt, bytes);
	if (rc != XLB_PARSED) {
		if (!xlb_parse_is_frag(rc))
			return xlb_pass(rc, bytes);
		rc = xlb_frag_path(ctx, &pkt, rc, bytes);
		if (rc != XLB_FRAG_FIRST_FORWARD)
			return rc;
	}

	vip = xlb_vip_lookup(&pkt);
	if (!vip)
		return xlb_not_vip(ctx, &pkt, bytes);
	return xlb_forward(ctx, &pkt, vip, bytes);
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
