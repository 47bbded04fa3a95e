/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * nat and fullnat VIPs: the forward rewrite, the reply translation and the
 * fullnat source-port allocation.
 *
 *   nat      C:cp -> VIP:vp  becomes  C:cp -> B:bp;  reply B:bp -> C:cp  becomes  VIP:vp -> C:cp
 *   fullnat  C:cp -> VIP:vp  becomes  S:sp -> B:bp;  reply B:bp -> S:sp  becomes  VIP:vp -> C:cp
 *
 * (bp: the backend's port, or vp when it is 0; S: the configured source
 * address of the family; sp: a port of the configured range, one per flow.)
 *
 * Every nat/fullnat flow owns one xlb_nat_rev entry, keyed by its reply
 * tuple as it will reach us, naming the client's flow. Entries are only ever
 * inserted with BPF_NOEXIST, so the kernel's bucket lock decides between CPUs
 * and no flow can take a reply tuple that another one owns:
 *  - nat: the forward entry is created first (BPF_NOEXIST picks one CPU when
 *    several see a new client flow at once), and only that CPU inserts the
 *    reverse entry. A reverse entry of another client flow (two VIP ports
 *    mapping the same client port to the same backend port) is taken over
 *    if that flow is finished (gone, no longer owning the tuple, reset, or
 *    closed by FIN both ways), as Linux conntrack lets a SYN take over a
 *    TIME_WAIT tuple: Linux reuses a local port toward another destination
 *    while the first connection is in TIME_WAIT. Otherwise it is a conflict:
 *    the new forward entry is deleted again and the packet dropped (a SYN
 *    is answered with a RST by the caller, nat_refuse.h).
 *  - fullnat: the port is claimed first, by inserting the reverse entry for
 *    it, then the forward entry is created; a CPU that loses the forward
 *    entry to another follows the winner's entry, and deletes its claim
 *    unless the winner uses it too. The first port probed is a hash of the
 *    client's flow and the backend, so a flow whose forward entry was
 *    evicted finds its own reverse entry again and keeps its port.
 * lbd's reaper deletes reverse entries whose forward entry is gone or points
 * elsewhere (another backend or port), which frees fullnat ports. The table
 * is an LRU, so a flood cannot fill it; a live flow whose entry it evicted
 * gets it back within a second (xlb_nat_rev_check).
 *
 * Addresses and ports change with incremental checksum updates (csum.h);
 * the packet's size does not change. TTL / hop limit are left alone, as
 * with IP-in-IP.
 */
#ifndef XLB_BPF_NAT_H
#define XLB_BPF_NAT_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "csum.h"
#include "flow.h"
#include "maps.h"
#include "nexthop.h"
#include "parse.h"
#include "select.h"
#include "xmit.h"

/* Ports probed for a new fullnat flow at most (the whole range when it is
 * this small or smaller). */
#define XLB_SNAT_PORT_TRIES 64

#define XLB_ENOENT 2
#define XLB_E2BIG  7
#define XLB_ENOMEM 12
#define XLB_EEXIST 17

/* xlb_nat_reply: the packet is no reply of a nat flow. */
#define XLB_NAT_MISS (-1)

/*
 * Scratch space of xlb_nat_flow_new: a reply key, the two values it
 * inserts and a copy of the reverse entry it may take over (160 bytes), kept
 * off the stack so the new-flow call chain
 * (xlb_lb -> xlb_nat_flow_new -> xlb_snat_claim) stays well inside the 512
 * bytes of BPF stack it shares. Per CPU and never shared, like
 * xlb_fib_scratch (nexthop.h). Not pinned.
 */
struct xlb_nat_scratch {
	struct xlb_flow_key rk;
	struct xlb_nat_rev rev;
	struct xlb_flow flow;
	struct xlb_nat_rev old; /* the reverse entry a takeover replaces */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_nat_scratch);
} xlb_nat_scratch SEC(".maps");

/* Offsets masked so the verifier can bound packet pointers built from them
 * (the values are at most 22, and 22 + 60 or 22 + 40 + 256 with IPv6
 * extension headers: parse.h). */
static __always_inline __u32 xlb_l3_off(const struct xlb_pkt *pkt)
{
	return pkt->l2_len & 0x1f;
}

static __always_inline __u32 xlb_l4_off(const struct xlb_pkt *pkt)
{
	return pkt->l4_off & 0x1ff;
}

/*
 * Rewrites the addresses and ports of a parsed TCP/UDP packet from pkt->key
 * to src:sport -> dst:dport (same family and protocol), updating the IPv4
 * header checksum and the TCP/UDP checksum incrementally. An IPv4 UDP
 * checksum of 0 means "none" and stays 0. Returns 0, or -1 if the headers
 * are not where parsing found them (cannot happen; the caller drops).
 */
static __always_inline int xlb_nat_rewrite(struct xdp_md *ctx, const struct xlb_pkt *pkt,
					   const struct xlb_addr *src, __be16 sport, const struct xlb_addr *dst,
					   __be16 dport)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	void *l3 = data + xlb_l3_off(pkt);
	void *l4 = data + xlb_l4_off(pkt);
	__u8 family = pkt->key.family;
	__u64 d_addr, d_ports;

	d_addr = xlb_csum_diff_addr(&pkt->key.src, src, family) + xlb_csum_diff_addr(&pkt->key.dst, dst, family);
	d_ports = xlb_csum_diff16(pkt->key.sport, sport) + xlb_csum_diff16(pkt->key.dport, dport);

	if (family == XLB_AF_INET) {
		struct iphdr *iph = l3;

		if ((void *)(iph + 1) > end)
			return -1;
		iph->saddr = src->v4;
		iph->daddr = dst->v4;
		iph->check = xlb_csum_apply(iph->check, d_addr);
	} else {
		struct ipv6hdr *ip6h = l3;

		if ((void *)(ip6h + 1) > end)
			return -1;
		__builtin_memcpy(&ip6h->saddr, src->v6, sizeof(ip6h->saddr));
		__builtin_memcpy(&ip6h->daddr, dst->v6, sizeof(ip6h->daddr));
	}

	/* The pseudo-header's addresses are covered too. */
	if (pkt->key.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > end)
			return -1;
		th->source = sport;
		th->dest = dport;
		th->check = xlb_csum_apply(th->check, d_addr + d_ports);
	} else {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > end)
			return -1;
		uh->source = sport;
		uh->dest = dport;
		if (uh->check || family == XLB_AF_INET6)
			uh->check = xlb_csum_apply_udp(uh->check, d_addr + d_ports);
	}
	return 0;
}

/* The backend's port for a packet to the VIP port vport. */
static __always_inline __be16 xlb_backend_port(const struct xlb_backend *be, __be16 vport)
{
	return be->port ? be->port : vport;
}

/* The reply tuple of pkt's flow to backend be as nat gives it: from the
 * backend's address and port to the client's. fullnat then replaces the
 * destination with its source address and port. */
static __always_inline void xlb_nat_reply_tuple(struct xlb_flow_key *rk, const struct xlb_pkt *pkt,
						const struct xlb_backend *be)
{
	__builtin_memset(rk, 0, sizeof(*rk));
	rk->src = be->addr;
	rk->sport = xlb_backend_port(be, pkt->key.dport);
	rk->dst = pkt->key.src;
	rk->dport = pkt->key.sport;
	rk->proto = pkt->key.proto;
	rk->family = pkt->key.family;
}

/* The fullnat source address of a family, or NULL if none is configured.
 * Only its first word counts for IPv4. */
static __always_inline const struct xlb_addr *xlb_snat_addr(const struct xlb_config *cfg, __u8 family)
{
	const struct xlb_addr *a = family == XLB_AF_INET ? &cfg->snat_src_v4 : &cfg->snat_src_v6;

	if (family == XLB_AF_INET)
		return a->v4 ? a : NULL;
	return (a->v6[0] | a->v6[1] | a->v6[2] | a->v6[3]) ? a : NULL;
}

/* fullnat: the reply tuple's destination is the source address snat (its
 * port is the flow's, set by the caller); for IPv4 only its first word, as
 * replies parse. */
static __always_inline void xlb_fullnat_reply_dst(struct xlb_flow_key *rk, const struct xlb_addr *snat, __u8 family)
{
	rk->dst = *snat;
	if (family == XLB_AF_INET)
		rk->dst.v6[1] = rk->dst.v6[2] = rk->dst.v6[3] = 0;
}

/* The reply tuple (xlb_nat_rev key) of a packet sent as `out`. */
static __always_inline void xlb_nat_reply_key(struct xlb_flow_key *rk, const struct xlb_flow_key *out)
{
	__builtin_memset(rk, 0, sizeof(*rk));
	rk->src = out->dst;
	rk->dst = out->src;
	rk->sport = out->dport;
	rk->dport = out->sport;
	rk->proto = out->proto;
	rk->family = out->family;
}

static __always_inline int xlb_nat_insert_error(long err)
{
	return err == -XLB_E2BIG || err == -XLB_ENOMEM ? XLB_STAT_DROP_NAT_TABLE_FULL : XLB_STAT_DROP_INTERNAL;
}

/* Value of a reverse entry: the client's flow and its backend. */
static __always_inline void xlb_nat_rev_make(struct xlb_nat_rev *rev, const struct xlb_flow_key *fwd,
					     __u32 backend_id)
{
	__builtin_memset(rev, 0, sizeof(*rev));
	rev->fwd = *fwd;
	rev->backend_id = backend_id;
}

/*
 * Whether the forward entry fl (of the flow old->fwd) still owns the reply
 * tuple rk: the same rule as lbd's reaper (nat_rev_stale), which deletes
 * reverse entries whose flow does not.
 */
static __always_inline int xlb_nat_rev_owner(const struct xlb_flow *fl, const struct xlb_nat_rev *old,
					     const struct xlb_flow_key *rk)
{
	return fl && fl->backend_id == old->backend_id && (!fl->nat_port || fl->nat_port == rk->dport);
}

/*
 * nat: the reply tuple s->rk is held by another client flow (s->old, copied
 * from the entry). If that flow is finished, the new flow s->rev takes the
 * tuple over: the entry is overwritten, and the old forward entry, if it
 * still owned the tuple, gives back whatever units it holds and is deleted,
 * so a late packet of the old connection goes through the new-flow path and
 * meets the new owner there instead of being sent on with the new flow's
 * reply mapping. Returns 0 (taken over, counted), or DROP_NAT_CONFLICT when
 * the old flow is live.
 *
 * Two different new flows taking over the same finished tuple at the same
 * moment on two CPUs would both succeed and the later write would win: that
 * takes one client sending two SYNs from one port to two VIP ports at once,
 * which no TCP stack does.
 */
static __always_inline int xlb_nat_rev_takeover(struct xlb_nat_scratch *s, const struct xlb_pkt *pkt)
{
	struct xlb_flow *old = bpf_map_lookup_elem(&xlb_flows, &s->old.fwd);
	int owned = xlb_nat_rev_owner(old, &s->old, &s->rk);
	struct xlb_backend *be;
	long err;

	if (owned && !xlb_flow_finished(old))
		return XLB_STAT_DROP_NAT_CONFLICT;
	err = bpf_map_update_elem(&xlb_nat_rev, &s->rk, &s->rev, BPF_EXIST);
	if (err == -XLB_ENOENT) /* deleted by the reaper in between */
		err = bpf_map_update_elem(&xlb_nat_rev, &s->rk, &s->rev, BPF_NOEXIST);
	if (err)
		return err == -XLB_EEXIST ? XLB_STAT_DROP_NAT_CONFLICT : xlb_nat_insert_error(err);
	if (owned) {
		/* A finished flow holds no units (CLOSING and RESET take
		 * none); the atomic release makes sure. */
		be = xlb_backend_get(s->old.backend_id);
		if (be)
			xlb_flow_release(old, &s->old.fwd, be);
		bpf_map_delete_elem(&xlb_flows, &s->old.fwd);
	}
	xlb_count_stat(XLB_STAT_NAT_TAKEOVER, pkt->l2_len + pkt->l3_len);
	return 0;
}

/*
 * nat: takes the reply tuple s->rk for the flow s->rev.fwd. An entry
 * already naming that flow is a leftover of an earlier life of this very
 * flow (its forward entry expired and came back, to the same backend): it is
 * taken over. An entry of another client flow is taken over if that flow is
 * finished (xlb_nat_rev_takeover). Returns 0, or the drop counter:
 * DROP_NAT_CONFLICT when a live client flow owns the tuple.
 */
static __always_inline int xlb_nat_rev_claim(struct xlb_nat_scratch *s, const struct xlb_pkt *pkt)
{
	struct xlb_nat_rev *cur;
	long err;

	err = bpf_map_update_elem(&xlb_nat_rev, &s->rk, &s->rev, BPF_NOEXIST);
	if (!err)
		return 0;
	if (err != -XLB_EEXIST)
		return xlb_nat_insert_error(err);
	cur = bpf_map_lookup_elem(&xlb_nat_rev, &s->rk);
	if (!cur) {
		/* Deleted (by the reaper) in between: try once more. */
		err = bpf_map_update_elem(&xlb_nat_rev, &s->rk, &s->rev, BPF_NOEXIST);
		return err ? (err == -XLB_EEXIST ? XLB_STAT_DROP_NAT_CONFLICT : xlb_nat_insert_error(err)) : 0;
	}
	if (!xlb_flow_key_equal(&cur->fwd, &s->rev.fwd)) {
		/* Copied: once overwritten, the element may be reused. */
		s->old = *cur;
		return xlb_nat_rev_takeover(s, pkt);
	}
	if (cur->backend_id != s->rev.backend_id)
		cur->backend_id = s->rev.backend_id;
	return 0;
}

/*
 * fullnat: claims a free source port for the reply tuple rk (src = backend
 * address and port, dst = the source address; dport is filled here) by
 * inserting its reverse entry rev with BPF_NOEXIST: whichever CPU's insert
 * succeeds owns the port, so two flows can never get the same one.
 *
 * Ports are per backend tuple: rk includes the backend's address and port,
 * so the same source port may serve flows to different backends at once.
 * That is by design: the 5-tuple the backend sees (S:sp -> B:bp) is still
 * unique, and the range serves that many flows per backend instead of in
 * total.
 *
 * Probing starts at the port the hash picks (a hash of the client's flow
 * and the backend, xlb_nat_flow_new), so the same client flow probes the
 * same ports every time. A range of at most XLB_SNAT_PORT_TRIES ports is
 * walked whole, each port once, so a free port is always found; a larger
 * one gets XLB_SNAT_PORT_TRIES pseudo-random probes derived from the hash
 * (scattered rather than consecutive, so taken ports do not cluster and
 * lengthen later searches). With own set, a port whose entry already
 * names this very client flow is its own: left there when the flow's
 * forward entry was evicted (or claimed this moment by another CPU for the
 * same new flow), and taken as it is. That takes a lookup of each taken
 * port, and a lookup marks an LRU entry as used: a TCP SYN (a new
 * connection, and what a flood sends) passes own = 0, so its probes leave
 * other flows' entries as the LRU found them. Returns 0 with rk->dport set
 * to the port, or the drop counter: DROP_NAT_PORTS when every probe found
 * its port taken.
 *
 * A global function: the verifier walks the probe loop once, not once per
 * path into it.
 */
__noinline int xlb_snat_claim(const struct xlb_config *cfg, struct xlb_flow_key *rk, const struct xlb_nat_rev *rev,
			      __u32 hash, __u32 own)
{
	__u32 min, max, range, off;
	struct xlb_nat_rev *cur;
	long err;

	if (!cfg || !rk || !rev)
		return XLB_STAT_DROP_INTERNAL;
	min = cfg->snat_port_min;
	max = cfg->snat_port_max;
	if (!min)
		min = 1; /* port 0 is no port */
	if (max < min)
		return XLB_STAT_DROP_NAT_PORTS;
	range = max - min + 1;
	off = hash % range;

	for (__u32 i = 0; i < XLB_SNAT_PORT_TRIES; i++) {
		if (range > XLB_SNAT_PORT_TRIES) {
			if (i)
				off = xlb_hash_probe(hash, i) % range;
		} else if (i >= range) {
			break;
		} else if (i && ++off >= range) {
			off = 0;
		}
		rk->dport = bpf_htons((__u16)(min + off));
		err = bpf_map_update_elem(&xlb_nat_rev, rk, rev, BPF_NOEXIST);
		if (!err)
			return 0;
		if (err != -XLB_EEXIST)
			return xlb_nat_insert_error(err);
		if (!own)
			continue;
		cur = bpf_map_lookup_elem(&xlb_nat_rev, rk);
		if (cur && xlb_flow_key_equal(&cur->fwd, &rev->fwd)) {
			if (cur->backend_id != rev->backend_id)
				cur->backend_id = rev->backend_id;
			return 0;
		}
	}
	return XLB_STAT_DROP_NAT_PORTS;
}

/* xlb_nat_flow_new's `how`: the VIP's mode, and this flag to overwrite a
 * stale entry. */
#define XLB_NAT_NEW_REPLACE 0x100

/*
 * Records a new flow of pkt to backend_id for a VIP of mode (how & 0xff),
 * nat or fullnat, with its reverse entry, and takes its count units. With
 * XLB_NAT_NEW_REPLACE an existing entry (stale: purged backend, or made for
 * another mode) is overwritten. On success t's backend_id and nat_port say
 * where the packet goes: the winner's entry if another CPU created the flow
 * first (t->be is left to the caller). Returns 0, or the drop counter; on a
 * drop nothing this call created is left behind.
 *
 * A global function: the verifier checks it once (the call is on the
 * new-flow path only). Its keys live in xlb_nat_scratch.
 */
__noinline int xlb_nat_flow_new(const struct xlb_pkt *pkt, __u32 backend_id, __u32 how, __u64 now,
				struct xlb_target *t)
{
	__u32 zero = 0, units, mode = how & 0xff, replace = how & XLB_NAT_NEW_REPLACE;
	struct xlb_backend *be = xlb_backend_get(backend_id);
	struct xlb_config *cfg = bpf_map_lookup_elem(&xlb_config, &zero);
	struct xlb_nat_scratch *s = bpf_map_lookup_elem(&xlb_nat_scratch, &zero);
	struct xlb_flow_key *rk;
	struct xlb_flow *flow;
	__u32 hash;
	__u8 state;
	int rc;

	if (!pkt || !t || !be || !cfg || !s)
		return XLB_STAT_DROP_INTERNAL;
	/* lbd pairs v4 VIPs with v4 backends and v6 with v6: anything else
	 * is a corrupted map. */
	if (be->family != pkt->key.family)
		return XLB_STAT_DROP_INTERNAL;
	rk = &s->rk;
	flow = &s->flow;

	state = xlb_flow_initial_state(pkt);
	units = xlb_flow_state_units(state);
	__builtin_memset(flow, 0, sizeof(*flow));
	flow->last_seen_ns = now;
	flow->backend_id = backend_id;
	flow->state = state;
	/* Born with F_NAT: no CPU can ever see a nat flow without it. */
	flow->flags = units | XLB_FLOW_F_NAT | xlb_flow_close_flags(pkt->tcp_flags, XLB_FLOW_F_FIN_CLIENT);

	/* The reply tuple: from the backend's address and port, to the
	 * client's (nat) or to the source address (fullnat; port below). */
	xlb_nat_reply_tuple(rk, pkt, be);
	xlb_nat_rev_make(&s->rev, &pkt->key, backend_id);

	if (mode == XLB_MODE_FULLNAT) {
		const struct xlb_addr *snat = xlb_snat_addr(cfg, pkt->key.family);

		if (!snat)
			return XLB_STAT_DROP_NO_SOURCE;
		xlb_fullnat_reply_dst(rk, snat, pkt->key.family);
		/* Not random: the same client flow to the same backend
		 * starts probing at the same port, so if its forward entry
		 * is evicted, its next packet finds its own reverse entry
		 * and keeps the port the backend knows. */
		hash = xlb_flow_hash(&pkt->key, cfg->hash_seed ^ xlb_addr_hash(&be->addr, cfg->hash_seed + rk->sport));
		rc = xlb_snat_claim(cfg, rk, &s->rev, hash,
				    pkt->key.proto != IPPROTO_TCP || !xlb_tcp_is_syn(pkt->tcp_flags));
		if (rc)
			return rc;
		flow->nat_port = rk->dport;
		/* Counted before the entry is visible (conns.h). */
		t->uncounted = !xlb_conn_account(&pkt->key, be, units, 0);
		if (bpf_map_update_elem(&xlb_flows, &pkt->key, flow, replace ? BPF_ANY : BPF_NOEXIST)) {
			xlb_conn_account(&pkt->key, be, 0, units);
			rc = replace ? XLB_STAT_DROP_INTERNAL : xlb_flow_adopt(&pkt->key, t);
			/* The claim names only this client flow. The winner
			 * probed the same ports, so it mostly uses the same
			 * entry (found as its own): that one stays. */
			if (rc || t->backend_id != backend_id || t->nat_port != rk->dport)
				bpf_map_delete_elem(&xlb_nat_rev, rk);
			return rc;
		}
		t->backend_id = backend_id;
		t->nat_port = flow->nat_port;
		return 0;
	}

	/* Counted before the entry is visible: from then on other CPUs may
	 * move the units (conns.h). */
	t->uncounted = !xlb_conn_account(&pkt->key, be, units, 0);
	if (bpf_map_update_elem(&xlb_flows, &pkt->key, flow, replace ? BPF_ANY : BPF_NOEXIST)) {
		xlb_conn_account(&pkt->key, be, 0, units);
		return replace ? XLB_STAT_DROP_INTERNAL : xlb_flow_adopt(&pkt->key, t);
	}
	rc = xlb_nat_rev_claim(s, pkt);
	if (rc) {
		xlb_flow_forget(&pkt->key, be, backend_id);
		return rc;
	}
	t->backend_id = backend_id;
	t->nat_port = 0;
	return 0;
}

/*
 * A live nat/fullnat flow's reverse entry (the flow of pkt, sent to
 * backend_id, from the source port nat_port for fullnat, 0 for nat), checked
 * when xlb_flow_touch refreshes the flow's last_seen: at most once a second
 * per flow, never on the per-packet path. xlb_nat_rev is an LRU, and lbd's
 * reaper may have judged the entry stale in the moment a flow was
 * re-created; either way the entry can be missing while the flow lives:
 *  - missing: put back (BPF_NOEXIST, so it never overwrites another flow's
 *    claim made in between), counted as NAT_REV_RESTORED;
 *  - owned by another client flow (it claimed the tuple while it was
 *    free): two flows must never share a reply tuple, so this one ends
 *    here: its forward entry gives back its units and is deleted, and the
 *    packet is dropped (DROP_NAT_REV_LOST). Its next packet is a new flow:
 *    fullnat probes past the taken port to a free one; nat meets the owner
 *    (DROP_NAT_CONFLICT, a SYN gets a RST) until it is finished.
 * Returns 0 or DROP_NAT_REV_LOST. Anything else (no memory, a map missing)
 * leaves the flow alone; the check comes again in a second.
 */
__noinline int xlb_nat_rev_check(const struct xlb_pkt *pkt, __u32 backend_id, __u32 nat_port)
{
	__u32 zero = 0;
	struct xlb_backend *be = xlb_backend_get(backend_id);
	struct xlb_config *cfg = bpf_map_lookup_elem(&xlb_config, &zero);
	struct xlb_nat_scratch *s = bpf_map_lookup_elem(&xlb_nat_scratch, &zero);
	const struct xlb_addr *snat;
	struct xlb_nat_rev *cur;
	struct xlb_flow_key *rk;
	struct xlb_flow *flow;
	long err;

	if (!pkt || !be || !cfg || !s)
		return 0;
	rk = &s->rk;
	/* The tuple xlb_nat_flow_new gave the flow. */
	xlb_nat_reply_tuple(rk, pkt, be);
	if (nat_port) {
		snat = xlb_snat_addr(cfg, pkt->key.family);
		if (!snat)
			return 0;
		xlb_fullnat_reply_dst(rk, snat, pkt->key.family);
		rk->dport = (__be16)nat_port;
	}

	cur = bpf_map_lookup_elem(&xlb_nat_rev, rk);
	if (!cur) {
		xlb_nat_rev_make(&s->rev, &pkt->key, backend_id);
		err = bpf_map_update_elem(&xlb_nat_rev, rk, &s->rev, BPF_NOEXIST);
		if (!err) {
			xlb_count_stat(XLB_STAT_NAT_REV_RESTORED, pkt->l2_len + pkt->l3_len);
			return 0;
		}
		if (err != -XLB_EEXIST)
			return 0;
		cur = bpf_map_lookup_elem(&xlb_nat_rev, rk);
		if (!cur)
			return 0;
	}
	if (xlb_flow_key_equal(&cur->fwd, &pkt->key)) {
		if (cur->backend_id != backend_id)
			cur->backend_id = backend_id;
		return 0;
	}
	flow = bpf_map_lookup_elem(&xlb_flows, &pkt->key);
	if (flow && flow->backend_id == backend_id)
		xlb_flow_release(flow, &pkt->key, be);
	bpf_map_delete_elem(&xlb_flows, &pkt->key);
	return XLB_STAT_DROP_NAT_REV_LOST;
}

/*
 * Rewrites a client's packet for its backend (t) and resolves the next hop.
 * Returns 0 with *nhp set and the frame ready to send, or the drop counter.
 */
static __always_inline int xlb_nat_forward(struct xdp_md *ctx, const struct xlb_pkt *pkt,
					   const struct xlb_config *cfg, __u8 mode, const struct xlb_target *t,
					   __u64 now, struct xlb_nexthop **nhp)
{
	const struct xlb_backend *be = t->be;
	const struct xlb_addr *src = &pkt->key.src;
	__be16 sport = pkt->key.sport;
	struct xlb_nexthop *nh;
	int rc;

	if (be->family != pkt->key.family)
		return XLB_STAT_DROP_INTERNAL;
	if (mode == XLB_MODE_FULLNAT) {
		src = xlb_snat_addr(cfg, pkt->key.family);
		if (!src)
			return XLB_STAT_DROP_NO_SOURCE;
		sport = t->nat_port;
	}

	nh = xlb_next_hop(ctx, t->backend_id, be->family, src, &be->addr, now, &rc);
	if (!nh)
		return rc;
	/* Same size as received: only the path MTU can refuse it (the
	 * caller announces it from *nhp; the frame is unchanged). */
	*nhp = nh;
	if (pkt->l3_len > nh->mtu)
		return XLB_STAT_DROP_MTU;
	if (xlb_nat_rewrite(ctx, pkt, src, sport, &be->addr, xlb_backend_port(be, pkt->key.dport)) ||
	    xlb_frame_set_macs(ctx, nh))
		return XLB_STAT_DROP_INTERNAL;
	*nhp = nh;
	return 0;
}

/*
 * A packet for no VIP, looked up as a backend's reply to a nat/fullnat flow.
 * On a hit it is rewritten to come from the VIP (and, fullnat, to go to the
 * client), the client's forward entry learns the server's FIN/RST and is kept
 * alive, and *nhp gets the route to the client. Returns XLB_NAT_MISS (not a
 * reply), 0 (the frame is ready to send), or the drop counter.
 */
static __always_inline int xlb_nat_reply(struct xdp_md *ctx, const struct xlb_pkt *pkt, __u64 now,
					 struct xlb_nexthop **nhp)
{
	struct xlb_nat_rev *rev = bpf_map_lookup_elem(&xlb_nat_rev, &pkt->key);
	const struct xlb_flow_key *fwd;
	struct xlb_nexthop *nh;
	struct xlb_backend *be;
	struct xlb_flow *flow;
	__u32 backend_id;
	int rc;

	if (!rev)
		return XLB_NAT_MISS;
	fwd = &rev->fwd;
	backend_id = rev->backend_id;
	if (fwd->family != pkt->key.family)
		return XLB_STAT_DROP_INTERNAL;

	/* To the client, from the VIP: C:cp -> VIP:vp reversed. */
	nh = xlb_route(ctx, pkt->key.family, pkt->key.proto, &fwd->dst, &fwd->src, pkt->l3_len, &rc);
	if (!nh)
		return rc;

	/* The connection lives on even if its forward entry is gone (evicted,
	 * or the client has been quiet): translate regardless, but only an
	 * entry that still owns this reply tuple (same backend; for fullnat
	 * the same port) has its state and counts moved. */
	flow = bpf_map_lookup_elem(&xlb_flows, fwd);
	if (flow && flow->backend_id == backend_id && (!flow->nat_port || flow->nat_port == pkt->key.dport)) {
		be = xlb_backend_get(backend_id);
		if (be)
			xlb_flow_touch_reply(flow, fwd, pkt->tcp_flags, be, now);
	}

	if (xlb_nat_rewrite(ctx, pkt, &fwd->dst, fwd->dport, &fwd->src, fwd->sport) ||
	    xlb_frame_set_macs(ctx, nh))
		return XLB_STAT_DROP_INTERNAL;
	*nhp = nh;
	return 0;
}

#endif /* XLB_BPF_NAT_H */
