/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP errors about nat/fullnat flows. An error quotes the IP header and at
 * least the first 8 bytes (the ports) of the packet that caused it; for a
 * translated flow that packet carried translated addresses, so the error
 * must be translated like the flow's packets are, or its receiver cannot
 * match it to a socket (path MTU discovery breaks first).
 *
 * Handled: ICMPv4 type 3 (destination unreachable, every code, including 4
 * "fragmentation needed") and 11 (time exceeded); ICMPv6 type 1 (destination
 * unreachable), 2 (packet too big) and 3 (time exceeded); quoting TCP or UDP
 * of the same family, with no IPv6 extension header and not an IPv4 fragment
 * other than the first. Looked at only when the XLB_CFG_F_NAT flag is set.
 *
 *  From the backend side (the quoted packet is one we sent to a backend,
 *  C|S:cp|sp -> B:bp; its reversal is an xlb_nat_rev key): the error goes to
 *  the client, from the VIP if the backend itself sent it (a router's error
 *  keeps the router's address), with the quoted packet as the client sent
 *  it: C:cp -> VIP:vp. Routed like replies (xlb_route).
 *  From the client side (the quoted packet is one of our replies, VIP:vp ->
 *  C:cp; its reversal is the client's xlb_flows key, and that VIP is nat or
 *  fullnat): the error goes to the backend, with the quoted packet as the
 *  backend sent it: B:bp -> C:cp (fullnat: S:sp, and the error comes from S).
 *  Routed through the backend's next-hop cache.
 *
 * An error must be addressed to the source of the packet it quotes (as
 * every real one is); one that is not is not ours.
 *
 * Checksums: outer IPv4 header, quoted IPv4 header, quoted UDP checksum
 * (unless 0: none) and quoted TCP checksum if the quote holds both of its
 * bytes (a quote ending between them leaves the one byte as it was), then
 * the ICMP checksum over all of the above changes (for ICMPv6 also over the
 * outer addresses, which its pseudo-header covers). All incremental, so a
 * wrong ICMP checksum stays wrong: it is not verified here. The outer TTL /
 * hop limit is left alone, as for every translated packet.
 *
 * Anything else, including an error too short to hold the quoted IP header
 * and 8 bytes of TCP/UDP (Ethernet padding does not count), is not ours:
 * XDP_PASS with PASS_ICMP, exactly as for all ICMP before nat existed (a
 * truncated error is still ICMP the stack may want to see or count;
 * PASS_MALFORMED is for the headers this program needs).
 */
#ifndef XLB_BPF_NAT_ICMP_H
#define XLB_BPF_NAT_ICMP_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "csum.h"
#include "flow.h"
#include "maps.h"
#include "nat.h"
#include "nexthop.h"
#include "parse.h"
#include "select.h"

#define XLB_ICMP_DEST_UNREACH    3
#define XLB_ICMP_TIME_EXCEEDED   11
#define XLB_ICMPV6_DEST_UNREACH  1
#define XLB_ICMPV6_PKT_TOOBIG    2
#define XLB_ICMPV6_TIME_EXCEEDED 3
#define XLB_ICMP_HDR_LEN         8 /* type, code, checksum, 4 bytes of type-specific data */

/* xlb_nat_icmp: not an error about a nat/fullnat flow. */
#define XLB_ICMP_NOT_OURS (-1)

/* An ICMP error and the packet it quotes. */
struct xlb_icmp_err {
	struct xlb_flow_key q; /* quoted tuple, as quoted (zero padded) */
	__u16 icmp_off;        /* ICMP header, from the frame start */
	__u16 q_l3_off;        /* quoted IP header */
	__u16 q_l4_off;        /* quoted TCP/UDP header */
	__u16 q_l4_len;        /* quoted L4 bytes inside the outer IP packet */
};

/* Per-CPU scratch of xlb_nat_icmp: the parsed error and a lookup key, off
 * the stack (see xlb_fib_scratch for why that is safe). Not pinned. */
struct xlb_icmp_scratch {
	struct xlb_icmp_err e;
	union {
		struct xlb_flow_key flow;
		struct xlb_vip_key vip;
	} key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_icmp_scratch);
} xlb_icmp_scratch SEC(".maps");

/* New values of the fields a translation changes. Addresses by pointer
 * (into map values or the parsed packet): this path must fit in the stack
 * left by its callers. */
struct xlb_icmp_xlat {
	const struct xlb_addr *outer_src;
	const struct xlb_addr *outer_dst;
	const struct xlb_addr *q_src;
	const struct xlb_addr *q_dst;
	__be16 q_sport;
	__be16 q_dport;
};

/* Finds an ICMP error of a handled type quoting TCP/UDP, fills *e. Returns
 * 0, or XLB_ICMP_NOT_OURS. Reads nothing beyond the outer packet. */
static __always_inline int xlb_icmp_parse(void *data, void *end, const struct xlb_pkt *pkt,
					  struct xlb_icmp_err *e)
{
	__u32 icmp_off = xlb_l4_off(pkt);
	__u32 pkt_end = xlb_l3_off(pkt) + pkt->l3_len; /* Ethernet padding is not quoted data */
	__u8 *icmp = data + icmp_off;
	__u32 q_l4_off;
	__u8 *ports;
	__u8 type;

	if ((void *)(icmp + XLB_ICMP_HDR_LEN) > end)
		return XLB_ICMP_NOT_OURS;
	type = icmp[0];
	e->icmp_off = icmp_off;
	e->q_l3_off = icmp_off + XLB_ICMP_HDR_LEN;

	if (pkt->key.family == XLB_AF_INET) {
		struct iphdr *qip = (void *)(icmp + XLB_ICMP_HDR_LEN);
		__u32 q_ihl;

		if (type != XLB_ICMP_DEST_UNREACH && type != XLB_ICMP_TIME_EXCEEDED)
			return XLB_ICMP_NOT_OURS;
		if ((void *)(qip + 1) > end)
			return XLB_ICMP_NOT_OURS;
		q_ihl = (__u32)qip->ihl * 4;
		if (qip->version != 4 || q_ihl < sizeof(*qip))
			return XLB_ICMP_NOT_OURS;
		/* A later fragment quotes no ports. */
		if (qip->frag_off & bpf_htons(XLB_IP_OFFSET))
			return XLB_ICMP_NOT_OURS;
		if (qip->protocol != IPPROTO_TCP && qip->protocol != IPPROTO_UDP)
			return XLB_ICMP_NOT_OURS;
		e->q.family = XLB_AF_INET;
		e->q.proto = qip->protocol;
		e->q.src.v4 = qip->saddr;
		e->q.dst.v4 = qip->daddr;
		q_l4_off = e->q_l3_off + q_ihl;
	} else {
		struct ipv6hdr *qip6 = (void *)(icmp + XLB_ICMP_HDR_LEN);

		if (type != XLB_ICMPV6_DEST_UNREACH && type != XLB_ICMPV6_PKT_TOOBIG &&
		    type != XLB_ICMPV6_TIME_EXCEEDED)
			return XLB_ICMP_NOT_OURS;
		if ((void *)(qip6 + 1) > end)
			return XLB_ICMP_NOT_OURS;
		if (qip6->version != 6 || (qip6->nexthdr != IPPROTO_TCP && qip6->nexthdr != IPPROTO_UDP))
			return XLB_ICMP_NOT_OURS;
		e->q.family = XLB_AF_INET6;
		e->q.proto = qip6->nexthdr;
		__builtin_memcpy(&e->q.src, &qip6->saddr, sizeof(e->q.src));
		__builtin_memcpy(&e->q.dst, &qip6->daddr, sizeof(e->q.dst));
		q_l4_off = e->q_l3_off + sizeof(*qip6);
	}

	/* The 8 bytes with the ports (and the UDP checksum) must be there. */
	if (q_l4_off + 8 > pkt_end)
		return XLB_ICMP_NOT_OURS;
	ports = data + (q_l4_off & 0xff);
	if ((void *)(ports + 8) > end)
		return XLB_ICMP_NOT_OURS;
	e->q.sport = *(__be16 *)ports;
	e->q.dport = *(__be16 *)(ports + 2);
	e->q_l4_off = q_l4_off;
	e->q_l4_len = pkt_end - q_l4_off;
	return 0;
}

/* Writes an address into the packet at p (4 or 16 bytes). */
static __always_inline void xlb_put_addr(void *p, const struct xlb_addr *a, __u8 family)
{
	if (family == XLB_AF_INET)
		*(__be32 *)p = a->v4;
	else
		__builtin_memcpy(p, a->v6, 16);
}

/*
 * Applies translation x to the error e of packet pkt: outer addresses,
 * quoted addresses and ports, and every checksum covering them. Returns 0,
 * or -1 if a header is not where parsing found it (cannot happen).
 */
static __always_inline int xlb_icmp_rewrite(struct xdp_md *ctx, const struct xlb_pkt *pkt,
					    const struct xlb_icmp_err *e, const struct xlb_icmp_xlat *x)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 family = pkt->key.family;
	__u8 *icmp = data + (e->icmp_off & 0x7f);
	__u8 *qip = data + (e->q_l3_off & 0xff);
	__u8 *ql4 = data + (e->q_l4_off & 0xff);
	__u64 d_outer, d_qaddr, d_qports, d_icmp;
	__u16 old, new;

	d_outer = xlb_csum_diff_addr(&pkt->key.src, x->outer_src, family) +
		  xlb_csum_diff_addr(&pkt->key.dst, x->outer_dst, family);
	d_qaddr = xlb_csum_diff_addr(&e->q.src, x->q_src, family) + xlb_csum_diff_addr(&e->q.dst, x->q_dst, family);
	d_qports = xlb_csum_diff16(e->q.sport, x->q_sport) + xlb_csum_diff16(e->q.dport, x->q_dport);
	/* Everything changed inside the ICMP message; the checksum fields
	 * inside it are added below as they change. */
	d_icmp = d_qaddr + d_qports;

	if ((void *)(icmp + XLB_ICMP_HDR_LEN) > end || (void *)(ql4 + 8) > end)
		return -1;

	if (family == XLB_AF_INET) {
		struct iphdr *iph = data + xlb_l3_off(pkt);
		struct iphdr *qiph = (void *)qip;

		if ((void *)(iph + 1) > end || (void *)(qiph + 1) > end)
			return -1;
		iph->saddr = x->outer_src->v4;
		iph->daddr = x->outer_dst->v4;
		iph->check = xlb_csum_apply(iph->check, d_outer);

		qiph->saddr = x->q_src->v4;
		qiph->daddr = x->q_dst->v4;
		old = qiph->check;
		new = xlb_csum_apply(old, d_qaddr);
		qiph->check = new;
		d_icmp += xlb_csum_diff16(old, new);
	} else {
		struct ipv6hdr *ip6h = data + xlb_l3_off(pkt);
		struct ipv6hdr *qip6h = (void *)qip;

		if ((void *)(ip6h + 1) > end || (void *)(qip6h + 1) > end)
			return -1;
		xlb_put_addr(&ip6h->saddr, x->outer_src, family);
		xlb_put_addr(&ip6h->daddr, x->outer_dst, family);
		xlb_put_addr(&qip6h->saddr, x->q_src, family);
		xlb_put_addr(&qip6h->daddr, x->q_dst, family);
		/* ICMPv6's pseudo-header holds the outer addresses. */
		d_icmp += d_outer;
	}

	*(__be16 *)ql4 = x->q_sport;
	*(__be16 *)(ql4 + 2) = x->q_dport;
	if (e->q.proto == IPPROTO_UDP) {
		old = *(__u16 *)(ql4 + 6);
		if (old) {
			new = xlb_csum_apply_udp(old, d_qaddr + d_qports);
			*(__u16 *)(ql4 + 6) = new;
			d_icmp += xlb_csum_diff16(old, new);
		}
	} else if (e->q_l4_len >= 18) {
		/* The TCP checksum (bytes 16-17) is quoted: keep it right for
		 * whoever checks the quote. */
		if ((void *)(ql4 + 18) > end)
			return -1;
		old = *(__u16 *)(ql4 + 16);
		new = xlb_csum_apply(old, d_qaddr + d_qports);
		*(__u16 *)(ql4 + 16) = new;
		d_icmp += xlb_csum_diff16(old, new);
	}

	*(__u16 *)(icmp + 2) = xlb_csum_apply(*(__u16 *)(icmp + 2), d_icmp);
	return 0;
}

/*
 * Translates an ICMP error about a nat/fullnat flow (see the top of this
 * file) and picks its next hop (*nhp): the backend's cached one, or the
 * client's route. Returns 0 (the frame is ready to send), XLB_ICMP_NOT_OURS
 * (pass it), or the drop counter.
 */
static __always_inline int xlb_nat_icmp(struct xdp_md *ctx, const struct xlb_pkt *pkt,
					const struct xlb_config *cfg, __u64 now, struct xlb_nexthop **nhp)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 family = pkt->key.family;
	__u32 zero = 0;
	struct xlb_icmp_scratch *s = bpf_map_lookup_elem(&xlb_icmp_scratch, &zero);
	struct xlb_icmp_err *e;
	struct xlb_icmp_xlat x;
	struct xlb_nat_rev *rev;
	struct xlb_nexthop *nh;
	int rc;

	if (!s)
		return XLB_STAT_DROP_INTERNAL;
	e = &s->e;
	__builtin_memset(e, 0, sizeof(*e));
	if (xlb_icmp_parse(data, end, pkt, e))
		return XLB_ICMP_NOT_OURS;
	/* An error goes to the sender of the packet it quotes. */
	if (!xlb_addr_equal(&pkt->key.dst, &e->q.src))
		return XLB_ICMP_NOT_OURS;

	/* Reversed, the quoted tuple is both a reply tuple (backend side) and a
	 * client's flow key (client side). */
	xlb_nat_reply_key(&s->key.flow, &e->q);
	rev = bpf_map_lookup_elem(&xlb_nat_rev, &s->key.flow);
	if (rev) {
		/* Quoted C|S:cp|sp -> B:bp becomes C:cp -> VIP:vp. */
		x.q_src = &rev->fwd.src;
		x.q_sport = rev->fwd.sport;
		x.q_dst = &rev->fwd.dst;
		x.q_dport = rev->fwd.dport;
		x.outer_dst = &rev->fwd.src;
		/* Only the backend's own address becomes the VIP. */
		x.outer_src = xlb_addr_equal(&pkt->key.src, &e->q.dst) ? &rev->fwd.dst : &pkt->key.src;
		nh = xlb_route(ctx, family, pkt->key.proto, x.q_dst, x.outer_dst, pkt->l3_len, &rc);
		if (!nh)
			return rc;
	} else {
		struct xlb_vip_meta *vip;
		struct xlb_backend *be;
		struct xlb_flow *flow;
		__u32 backend_id;

		flow = bpf_map_lookup_elem(&xlb_flows, &s->key.flow);
		if (!flow)
			return XLB_ICMP_NOT_OURS;
		/* The key is free now: look the VIP up for its mode. */
		__builtin_memset(&s->key.vip, 0, sizeof(s->key.vip));
		s->key.vip.addr = e->q.src;
		s->key.vip.port = e->q.sport;
		s->key.vip.proto = e->q.proto;
		s->key.vip.family = family;
		vip = bpf_map_lookup_elem(&xlb_vips, &s->key.vip);
		if (!vip || (vip->mode != XLB_MODE_NAT && vip->mode != XLB_MODE_FULLNAT) ||
		    !xlb_flow_fits_mode(flow, vip->mode))
			return XLB_ICMP_NOT_OURS;
		backend_id = flow->backend_id;
		be = xlb_backend_get(backend_id);
		if (!be || be->family != family)
			return XLB_ICMP_NOT_OURS;

		/* Quoted VIP:vp -> C:cp becomes B:bp -> C:cp (fullnat: S:sp). */
		x.q_src = &be->addr;
		x.q_sport = xlb_backend_port(be, e->q.sport);
		x.q_dst = &e->q.dst;
		x.q_dport = e->q.dport;
		x.outer_src = &pkt->key.src;
		x.outer_dst = &be->addr;
		if (vip->mode == XLB_MODE_FULLNAT) {
			x.q_dst = xlb_snat_addr(cfg, family);
			if (!x.q_dst)
				return XLB_STAT_DROP_NO_SOURCE;
			x.q_dport = flow->nat_port;
			x.outer_src = x.q_dst;
		}
		nh = xlb_next_hop(ctx, backend_id, family, x.outer_src, &be->addr, now, &rc);
		if (!nh)
			return rc;
		if (pkt->l3_len > nh->mtu)
			return XLB_STAT_DROP_MTU;
	}

	if (xlb_icmp_rewrite(ctx, pkt, e, &x) || xlb_frame_set_macs(ctx, nh))
		return XLB_STAT_DROP_INTERNAL;
	*nhp = nh;
	return 0;
}

#endif /* XLB_BPF_NAT_ICMP_H */
