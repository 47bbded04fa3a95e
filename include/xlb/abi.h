/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xlb ABI: every map key, map value, flag and limit shared by the XDP
 * programs (bpf/) and the control plane (ctl/). This is the only place these
 * layouts are defined; both sides include this header, so they cannot drift.
 *
 * Rules for this file:
 *  - fixed-width kernel types only (__u8.. __u64, __be16, __be32);
 *  - every struct is padded explicitly and its size is asserted below, so a
 *    key never contains compiler-inserted padding with garbage in it;
 *  - addresses and ports are kept in network byte order, as on the wire.
 */
#ifndef XLB_ABI_H
#define XLB_ABI_H

#include <linux/types.h>

/* ---- limits ------------------------------------------------------------ */

#define XLB_MAX_VIPS          1024u    /* vip_id is in [0, XLB_MAX_VIPS) */
#define XLB_MAX_BACKENDS      65536u   /* backend_id is in [0, XLB_MAX_BACKENDS) */
#define XLB_DEFAULT_RING_SIZE 65537u   /* Maglev table size M (prime) */
#define XLB_MAX_RING_SIZE     1048573u /* largest prime below 2^20 */
#define XLB_DEFAULT_FLOWS     1048576u /* flow table entries (lbd --flow-table-size) */
#define XLB_MAX_DECAP_ADDRS   64u
#define XLB_MAX_DECAP_ALLOW   256u     /* xlb-decap --allow prefixes */
#define XLB_VIP_LIST_MAX      2048u    /* entries of a VIP's scheduling list (power of 2) */
#define XLB_LC_SCAN           16u      /* least-conn candidates examined per new flow */

/* The same constants as AF_INET/AF_INET6 would be, without pulling socket
 * headers into BPF code. */
#define XLB_AF_INET  4
#define XLB_AF_INET6 6

/* ---- addresses --------------------------------------------------------- */

/* An IPv4 or IPv6 address in network byte order. An IPv4 address lives in
 * v4 (== v6[0]) and the remaining 12 bytes are zero, so one key layout serves
 * both families and two equal addresses always compare equal bytewise. */
struct xlb_addr {
	union {
		__be32 v4;
		__be32 v6[4];
	};
};

/* ---- VIPs -------------------------------------------------------------- */

enum xlb_mode {
	XLB_MODE_IPIP = 0, /* IP-in-IP / IP6-in-IP6 / IP4-in-IP6 DSR */
	XLB_MODE_NAT = 1,
	XLB_MODE_FULLNAT = 2,
	XLB_MODE_L2DSR = 3,
};

enum xlb_sched {
	XLB_SCHED_MAGLEV = 0,
	XLB_SCHED_LEAST_CONN = 1,
	XLB_SCHED_RR = 2,
	XLB_SCHED_WRR = 3,
	XLB_SCHED_RANDOM = 4,
	XLB_SCHED_SRC_HASH = 5,
};

/* Key of the xlb_vips hash map: what a client packet is addressed to. */
struct xlb_vip_key {
	struct xlb_addr addr;
	__be16 port;
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* XLB_AF_INET or XLB_AF_INET6 */
};

/* Value of xlb_vips. */
struct xlb_vip_meta {
	__u32 vip_id;    /* index into xlb_rings and xlb_vstats */
	__u32 ring_size; /* Maglev M; the ring in xlb_rings[vip_id] has M slots */
	__u8 mode;       /* enum xlb_mode */
	__u8 sched;      /* enum xlb_sched */
	__u16 flags;     /* XLB_VIP_F_* */
	__u32 reserved;
};

/* The VIP keeps no flow state: every packet goes by the ring (maglev,
 * src-hash; ipip and l2dsr only), as Katran's F_LRU_BYPASS. No insert, no
 * lookup of the flow table, no connection counts; a ring change moves the
 * connections of the slots it changes (docs/design.md, "Forwarding Maglev
 * VIPs without flow state"). */
#define XLB_VIP_F_STATELESS (1u << 0)

/* Key of xlb_vip_addrs: an address that carries at least one VIP. Lets the
 * program tell "VIP address, unserved port/protocol" from plain non-VIP
 * traffic, for the counters. The value is the number of VIPs on it. */
struct xlb_vip_addr_key {
	struct xlb_addr addr;
	__u8 family;
	__u8 pad[3];
};

/* ---- backends ---------------------------------------------------------- */

#define XLB_BACKEND_F_USED     (1u << 0) /* the slot holds a backend */
#define XLB_BACKEND_F_IN_RING  (1u << 1) /* takes new flows (not draining) */
#define XLB_BACKEND_F_REMOVED  (1u << 2) /* deleted by the user: freed once its flows are gone */

/* Value of the xlb_backends array, indexed by backend_id. A backend id is
 * bound to one identity (vip_id, family, addr, port) for as long as the
 * control plane knows that identity or any flow still refers to it, so flow
 * entries keep resolving while a removed backend drains. */
struct xlb_backend {
	struct xlb_addr addr;
	__u32 vip_id;
	__u32 weight;
	__be16 port;  /* 0: same port as the VIP; nat/fullnat VIPs may remap it */
	__u8 family;
	__u8 flags;   /* XLB_BACKEND_F_* */
	__u32 reserved;
};

/* Ring slots (the inner arrays of xlb_rings) hold a backend_id. */
#define XLB_RING_EMPTY 0xffffffffu
/* Flags of every ring array (xlb_rings' inner maps): BPF_F_INNER_MAP (each
 * ring has its own size) | BPF_F_MMAPABLE (lbd maps them to read and write
 * slots without a syscall each). Spelt as numbers: this header includes
 * nothing; bpf_map_io.cc checks them against the kernel's names. */
#define XLB_RING_MAP_FLAGS ((1u << 12) | (1u << 10))

/* Key of xlb_conns: a backend's identity. Connection counts belong to the
 * identity, not to a backend id, ring slot or list position, so they survive
 * the backend being removed and added again, weight changes and restarts. */
struct xlb_backend_key {
	struct xlb_vip_key vip;
	struct xlb_addr addr;
	__be16 port;  /* as in struct xlb_backend */
	__u8 family;
	__u8 pad;
};

/* Value of xlb_conns. Changed only atomically: by the data path, and by lbd
 * through the xlb_conn_adjust program (never by a user-space write), so no
 * update is ever lost. Never below zero. */
struct xlb_conn_count {
	__s64 active;    /* flows counted as open, half-open ones included */
	__s64 half_open; /* of which only the client's SYN was seen */
};

/* A VIP's scheduling list (xlb_vip_lists[vip_id]) for the schedulers that do
 * not use the Maglev ring: least-conn and rr scan/rotate over the backends in
 * the ring; wrr rotates over a smooth weighted sequence of them. */
struct xlb_vip_list {
	__u32 len;
	__u32 cursor; /* rr/wrr position, advanced atomically */
	__u32 ids[XLB_VIP_LIST_MAX];
};

/* Context of the xlb_conn_adjust syscall program (BPF_PROG_TEST_RUN ctx_in):
 * adds the deltas to key's counts atomically, clamping at zero. */
struct xlb_conn_adjust {
	struct xlb_backend_key key;
	__s64 d_active;
	__s64 d_half_open;
	__s32 result; /* out: 0, or -ENOENT when key has no count entry */
	__u32 pad;
};

/* ---- flows ------------------------------------------------------------- */

/* Key of the xlb_flows LRU hash: the client's 5-tuple as seen on ingress. */
struct xlb_flow_key {
	struct xlb_addr src;
	struct xlb_addr dst;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

enum xlb_flow_state {
	XLB_FLOW_UDP = 0,
	XLB_FLOW_TCP_SYN = 1,         /* SYN seen, handshake not completed */
	XLB_FLOW_TCP_ESTABLISHED = 2, /* a client packet after the SYN */
	XLB_FLOW_TCP_CLOSING = 3,     /* client sent FIN */
	XLB_FLOW_TCP_RESET = 4,       /* client sent RST */
	/* A non-SYN packet without an entry (lbd restarted, another LB had the
	 * flow, or spoofed): half-open until a packet of the flow comes at
	 * least XLB_FLOW_PROVE_NS after the first (docs/design.md). */
	XLB_FLOW_TCP_MIDSTREAM = 5,
};

#define XLB_FLOW_F_COUNTED   (1u << 0) /* holds one unit of its backend's active count */
#define XLB_FLOW_F_HALF_OPEN (1u << 1) /* holds one unit of its backend's half_open count */
#define XLB_FLOW_F_NAT       (1u << 2) /* owns an xlb_nat_rev entry (nat/fullnat VIP) */
/* The TCP connection's closing, per direction. Kept in every mode, but only
 * nat and fullnat see the server's side. A connection is finished once both
 * FINs were seen or either side reset it: its nat reply tuple may then be
 * taken over by a new flow's SYN (docs/design.md, "nat reply tuples"). A
 * fresh SYN on the same 5-tuple (a new connection) clears all three. */
#define XLB_FLOW_F_FIN_CLIENT (1u << 3) /* the client sent FIN */
#define XLB_FLOW_F_FIN_SERVER (1u << 4) /* the server sent FIN (nat/fullnat) */
#define XLB_FLOW_F_RESET      (1u << 5) /* either side sent RST */
#define XLB_FLOW_F_CLOSE_MASK (XLB_FLOW_F_FIN_CLIENT | XLB_FLOW_F_FIN_SERVER | XLB_FLOW_F_RESET)

/* Value of xlb_flows. */
struct xlb_flow {
	__u64 last_seen_ns; /* bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC_COARSE */
	__u32 backend_id;
	__u32 flags;        /* XLB_FLOW_F_*: changed with atomic and/or only */
	__u8 state;         /* enum xlb_flow_state */
	__u8 reserved;
	__be16 nat_port;    /* fullnat: the source port this flow was given */
	__u32 label;        /* IPv6 flow label of the flow's encapsulation
			     * (xlb_flow_label), kept so that its packets need
			     * not hash the tuple again; 0: not kept (made by a
			     * build before it, or for an IPv4 backend) */
};

/*
 * Value of xlb_nat_rev, the reply-direction table of nat and fullnat VIPs.
 * Key: the backend's reply as it reaches the load balancer, as a flow key
 * (src = backend address and port, dst = client address and port for nat,
 * or the fullnat source address and port). The entry names the client's
 * flow, which gives the VIP to answer from, the client to answer to, and
 * the forward entry whose TCP state and counts the reply updates.
 *
 * An LRU, so a flood of new flows can never fill it: the entries it evicts
 * first are those never looked up again (a flood's), while a live flow's is
 * looked up on every reply. lbd's reaper still deletes entries whose forward
 * flow is gone (or points at another backend), which frees fullnat ports;
 * a live flow whose entry was evicted puts it back within a second
 * (xlb_nat_rev_check, nat.h). The data path inserts with BPF_NOEXIST, so two
 * flows can never own the same reply tuple (docs/design.md, "nat reply
 * tuples").
 */
struct xlb_nat_rev {
	struct xlb_flow_key fwd; /* the client's flow key (xlb_flows) */
	__u32 backend_id;        /* the backend fwd was sent to */
	__u32 reserved;
};

/* ---- fragments --------------------------------------------------------- */

/*
 * Key of xlb_frags: one fragmented datagram of a client, as every one of its
 * fragments names it (RFC 791 / RFC 8200: source, destination, protocol and
 * identification). The first fragment, which holds the L4 header, records
 * the datagram's ports under this key; the later ones, which have none, look
 * them up to find their flow.
 */
struct xlb_frag_key {
	struct xlb_addr src;
	struct xlb_addr dst;
	__u32 id;     /* IPv4: the 16-bit ID; IPv6: the 32-bit identification (host order) */
	__u8 proto;   /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;  /* XLB_AF_INET or XLB_AF_INET6 */
	__u8 pad[2];
};

/* Value of xlb_frags: the datagram's ports, from its first fragment. */
struct xlb_frag {
	__be16 sport;
	__be16 dport;
};

/* ---- load-balancer configuration -------------------------------------- */

/* Single entry of the xlb_config array. Written by lbd, read per packet. */
struct xlb_config {
	/* Outer source address of encapsulated packets. With a prefix length
	 * shorter than the address, the host bits are taken from the flow hash
	 * so the backend's RSS spreads flows across its queues. */
	struct xlb_addr encap_src_v4;
	struct xlb_addr encap_src_v6;
	__u8 encap_src_v4_plen; /* 32: one fixed source */
	__u8 encap_src_v6_plen; /* 128: one fixed source */
	__u16 flags;            /* XLB_CFG_F_* */
	__u32 hash_seed;        /* flow hash seed; equal on every LB of a pool */
	/* fullnat: the source address given to client flows, per family (zero:
	 * none configured, fullnat flows of that family are dropped), and the
	 * source port range, inclusive, in host byte order. */
	struct xlb_addr snat_src_v4;
	struct xlb_addr snat_src_v6;
	__u16 snat_port_min;
	__u16 snat_port_max;
	/* New flows per second per CPU above which non-nat VIPs forward new
	 * flows statelessly by their ring (bpf/lib/flood.h); 0 means
	 * XLB_FLOOD_DEFAULT_RATE, so a fresh map has the guard on.
	 * XLB_CFG_F_NO_FLOOD_GUARD turns it off. */
	__u32 flood_rate;
	/* User space only, never read by the data plane: the reaper's idle
	 * timeouts in seconds and its sweep interval, kept in the map so that
	 * an lbd restarted without --config keeps them. 0: the default. The
	 * data path reads xlb_config through the map's pointer, never copying
	 * it, so this tail costs it nothing. */
	__u32 timeout_tcp_established;
	__u32 timeout_tcp_half_open;
	__u32 timeout_tcp_closing;
	__u32 timeout_udp;
	__u32 reap_interval_ms;
};

/* A nat or fullnat VIP exists: packets to no VIP are looked up in
 * xlb_nat_rev (replies from backends). Without it they pass untouched at no
 * extra cost. */
#define XLB_CFG_F_NAT (1u << 0)
/* Packets to a VIP address on a port or protocol no VIP serves pass to the
 * kernel (config "unserved": "pass") instead of being dropped. */
#define XLB_CFG_F_PASS_UNSERVED (1u << 1)
/* Echo requests to VIP addresses are not answered (config "icmp_echo":
 * "off"): they are then unserved traffic like any other. */
#define XLB_CFG_F_NO_ICMP_ECHO (1u << 2)
/* The new-flow flood guard is off (config "flood_threshold": 0). */
#define XLB_CFG_F_NO_FLOOD_GUARD (1u << 3)
/* The guard's rate when xlb_config.flood_rate is 0, as Katran's default
 * max_conn_rate: new flows per second per CPU. */
#define XLB_FLOOD_DEFAULT_RATE 125000

/* The single entry of the per-CPU xlb_flood array: this CPU's new flows in
 * the current one-second window. */
struct xlb_flood_window {
	__u64 start_ns; /* bpf_ktime_get_coarse_ns() when the window began */
	__u64 new_flows;
};

/* ---- statistics -------------------------------------------------------- */

/* Per-CPU counter: xlb_gstats[reason], xlb_vstats[vip_id], xlb_bstats[backend_id]. */
struct xlb_counter {
	__u64 packets;
	__u64 bytes;
};

/* Indices of xlb_gstats. Keep xlb_stat_names (ctl/core/stats_names.cc) in
 * the same order. */
enum xlb_stat {
	XLB_STAT_RX = 0,              /* every packet the program saw */
	XLB_STAT_PASS_NOT_IP,         /* ARP, LLDP, ... */
	XLB_STAT_PASS_NOT_VIP,        /* IP traffic to no VIP address */
	XLB_STAT_PASS_VIP_UNSERVED,   /* VIP address, port/protocol not served */
	XLB_STAT_PASS_FRAGMENT,       /* IPv4 fragment / IPv6 fragment header, to no VIP address */
	XLB_STAT_PASS_ICMP,           /* ICMP/ICMPv6 not tied to a flow */
	XLB_STAT_PASS_MALFORMED,      /* truncated or inconsistent headers */
	XLB_STAT_PASS_OTHER_L4,       /* neither TCP nor UDP */
	XLB_STAT_NEW_FLOW,            /* flow entry created */
	XLB_STAT_FLOW_HIT,            /* packet matched an existing flow */
	XLB_STAT_FLOW_RESCHEDULED,    /* TCP non-SYN without entry: scheduled afresh */
	XLB_STAT_FLOW_STALE_BACKEND,  /* entry pointed at a vanished backend */
	XLB_STAT_FLOW_UNCOUNTED,      /* new flow whose backend has no count entry */
	XLB_STAT_DROP_NO_BACKEND,     /* VIP has no backend in its ring */
	XLB_STAT_DROP_MTU,            /* encapsulated packet exceeds egress MTU */
	XLB_STAT_DROP_NO_ROUTE,       /* fib lookup found no route to backend */
	XLB_STAT_DROP_NO_NEIGH,       /* next hop's MAC not resolved yet */
	XLB_STAT_DROP_FWD_DISABLED,   /* forwarding is off on the ingress device */
	XLB_STAT_DROP_NO_SOURCE,      /* no encapsulation source of the family */
	XLB_STAT_DROP_INTERNAL,       /* adjust_head or a map failed */
	XLB_STAT_NAT_REPLY,           /* backend reply translated back to the client */
	XLB_STAT_NAT_ICMP,            /* ICMP error of a nat/fullnat flow translated */
	XLB_STAT_DROP_NAT_PORTS,      /* fullnat: no free source port in the range */
	XLB_STAT_DROP_NAT_CONFLICT,   /* nat: the reply tuple belongs to another flow */
	XLB_STAT_DROP_NAT_TABLE_FULL, /* xlb_nat_rev insert failed for memory (an LRU: no longer for being full) */
	XLB_STAT_DROP_NOT_ON_LINK,    /* l2dsr: the backend is not a direct neighbour */
	XLB_STAT_TX,                  /* sent with XDP_TX */
	XLB_STAT_REDIRECT,            /* sent with a devmap redirect */
	XLB_STAT_DROP_VIP_UNSERVED,   /* VIP address, port/protocol not served (default) */
	XLB_STAT_ICMP_ECHO_REPLY,     /* echo request to a VIP address answered (XDP_TX) */
	XLB_STAT_DROP_BAD_EXTHDR,     /* VIP address, IPv6 extension headers too many/long, or routed on */
	XLB_STAT_NAT_TAKEOVER,        /* nat: a SYN took over the reply tuple of a finished flow */
	XLB_STAT_NAT_CONFLICT_RST,    /* nat: a SYN whose reply tuple a live flow owns, refused with a RST */
	XLB_STAT_RST_STATELESS,       /* TCP RST without entry, forwarded by the hash, no entry made */
	XLB_STAT_DROP_RST_NO_FLOW,    /* TCP RST without entry, scheduler not stateless-safe */
	XLB_STAT_SYN_RESCHEDULED,     /* SYN on an entry of a draining/removed backend: scheduled afresh */
	XLB_STAT_ICMP_FRAG_NEEDED,    /* IPv4 packet too big for the backend's path: "fragmentation needed" sent */
	XLB_STAT_ICMP_PKT_TOO_BIG,    /* IPv6 packet too big for the backend's path: "packet too big" sent */
	XLB_STAT_DSR_ICMP,            /* ICMP error about an ipip/l2dsr flow's reply forwarded to its backend */
	XLB_STAT_FLOOD_STATELESS,     /* new flow past the flood threshold: forwarded by the ring, no entry */
	XLB_STAT_FLOOD_WINDOWS,       /* one-second windows in which a CPU crossed the flood threshold */
	XLB_STAT_DROP_EGRESS_NOT_XDP, /* next hop's device not in xlb_tx_ports (cannot send XDP frames) */
	XLB_STAT_FRAG_FIRST,          /* first fragment to a VIP: its ports recorded (xlb_frags) */
	XLB_STAT_FRAG_FORWARDED,      /* later fragment sent to its flow's backend (ipip, l2dsr) */
	XLB_STAT_DROP_FRAG_UNKNOWN,   /* later fragment to a VIP address, its first fragment unknown */
	XLB_STAT_DROP_FRAG_NAT,       /* fragment to a nat/fullnat VIP: ports of later ones can't be rewritten */
	XLB_STAT_DROP_FRAG_SHORT,     /* first fragment to a VIP address too short for its L4 header */
	XLB_STAT_NAT_REV_RESTORED,    /* nat/fullnat: a live flow's evicted reply entry put back */
	XLB_STAT_DROP_NAT_REV_LOST,   /* nat/fullnat: a live flow's reply tuple now owned by another flow: flow ended */
	XLB_STAT_STATELESS,           /* packet of a stateless VIP (XLB_VIP_F_STATELESS): forwarded by the ring */
	XLB_STAT_MAX,
};

/* ---- egress devices ----------------------------------------------------- */

/* One 802.1Q/802.1ad tag as it is on the wire: TPID, then TCI (PCP, DEI,
 * VLAN id), both in network byte order. */
struct xlb_vlan_tag {
	__be16 tpid;
	__be16 tci;
};

#define XLB_EGRESS_MAX_TAGS 2

/* Value of xlb_egress (key: __u32 ifindex of a VLAN device): a frame the
 * FIB sends out of that device leaves on the real device lower_ifindex
 * with these tags, outer first, as the kernel would send it. lbd fills it
 * from netlink (ctl/lbd/egress.h). */
struct xlb_egress {
	__u32 lower_ifindex;
	__u8 ntags; /* 0..XLB_EGRESS_MAX_TAGS */
	__u8 pad[3];
	struct xlb_vlan_tag tags[XLB_EGRESS_MAX_TAGS];
};

/* ---- backend-side decapsulation --------------------------------------- */

/* Key of xlb_decap_addrs: outer destination addresses the decap program
 * accepts (the backend host's own addresses). */
struct xlb_decap_addr_key {
	struct xlb_addr addr;
	__u8 family;
	__u8 pad[3];
};

/* Key of xlb_decap_allow, an LPM trie of the outer source prefixes the
 * decap program accepts tunnelled packets from (xlb-decap --allow). One trie
 * holds both families: the family byte leads the data, so prefixlen is 8 +
 * the address prefix length. The value is unused (1). */
struct xlb_decap_allow_key {
	__u32 prefixlen;
	__u8 family;   /* XLB_AF_INET or XLB_AF_INET6 */
	__u8 addr[16]; /* network byte order; IPv4 in the first 4 bytes */
	__u8 pad[3];
};

/* Single entry of the xlb_decap_config array. */
struct xlb_decap_config {
	__u32 flags; /* XLB_DECAP_F_* */
	__u32 reserved;
};

/* Only tunnelled packets whose outer source is in xlb_decap_allow are
 * accepted. Without it (no --allow given) every source is. */
#define XLB_DECAP_F_ALLOW_LIST (1u << 0)

enum xlb_decap_stat {
	XLB_DECAP_STAT_RX = 0,
	XLB_DECAP_STAT_DECAPPED,  /* outer header stripped, inner passed up */
	XLB_DECAP_STAT_PASS,      /* not IP-in-IP for us: passed untouched */
	XLB_DECAP_STAT_MALFORMED, /* IP-in-IP for us but truncated: dropped */
	XLB_DECAP_STAT_ECN_DROP,  /* outer CE over inner Not-ECT: dropped (RFC 6040) */
	XLB_DECAP_STAT_DENIED,    /* outer source not in the allow list: dropped */
	XLB_DECAP_STAT_MAX,
};

/* ---- layout checks ----------------------------------------------------- */

#ifdef __cplusplus
#define XLB_STATIC_ASSERT static_assert
#else
#define XLB_STATIC_ASSERT _Static_assert
#endif
XLB_STATIC_ASSERT(sizeof(struct xlb_addr) == 16, "xlb_addr");
XLB_STATIC_ASSERT(sizeof(struct xlb_vip_key) == 20, "xlb_vip_key");
XLB_STATIC_ASSERT(sizeof(struct xlb_vip_meta) == 16, "xlb_vip_meta");
XLB_STATIC_ASSERT(sizeof(struct xlb_vip_addr_key) == 20, "xlb_vip_addr_key");
XLB_STATIC_ASSERT(sizeof(struct xlb_backend) == 32, "xlb_backend");
XLB_STATIC_ASSERT(sizeof(struct xlb_flow_key) == 40, "xlb_flow_key");
XLB_STATIC_ASSERT(sizeof(struct xlb_flow) == 24, "xlb_flow");
XLB_STATIC_ASSERT(sizeof(struct xlb_backend_key) == 40, "xlb_backend_key");
XLB_STATIC_ASSERT(sizeof(struct xlb_conn_count) == 16, "xlb_conn_count");
XLB_STATIC_ASSERT(sizeof(struct xlb_conn_adjust) == 64, "xlb_conn_adjust");
XLB_STATIC_ASSERT((XLB_VIP_LIST_MAX & (XLB_VIP_LIST_MAX - 1)) == 0, "list size is a power of 2");
XLB_STATIC_ASSERT(sizeof(struct xlb_nat_rev) == 48, "xlb_nat_rev");
XLB_STATIC_ASSERT(sizeof(struct xlb_frag_key) == 40, "xlb_frag_key");
XLB_STATIC_ASSERT(sizeof(struct xlb_frag) == 4, "xlb_frag");
XLB_STATIC_ASSERT(sizeof(struct xlb_config) == 100, "xlb_config");
XLB_STATIC_ASSERT(sizeof(struct xlb_counter) == 16, "xlb_counter");
XLB_STATIC_ASSERT(sizeof(struct xlb_flood_window) == 16, "xlb_flood_window");
XLB_STATIC_ASSERT(sizeof(struct xlb_egress) == 16, "xlb_egress");
XLB_STATIC_ASSERT(sizeof(struct xlb_decap_addr_key) == 20, "xlb_decap_addr_key");
XLB_STATIC_ASSERT(sizeof(struct xlb_decap_allow_key) == 24, "xlb_decap_allow_key");
XLB_STATIC_ASSERT(sizeof(struct xlb_decap_config) == 8, "xlb_decap_config");

/* ---- identity of the pinned data path (xlb_meta) ------------------------ */
/*
 * XLB_ABI_VERSION names the layout of everything an lbd shares with a
 * running data path through the pins: bump it whenever a map's key or value
 * layout, a map's type, flags or size semantics, or a pinned map's name
 * changes (struct xlb_config growing is such a change). An lbd only takes
 * over pinned maps of its own ABI version; within one version it replaces a
 * running xlb_lb of another build atomically (docs/design.md, "What is in
 * the pins"). Pins without xlb_meta predate ABI versions.
 *   1: issue 13 (first recorded; the layout of issue 12's maps)
 */
#define XLB_ABI_VERSION 1
#define XLB_META_MAGIC 0x786c626d /* "xlbm" */

/* Single entry of xlb_meta (an array of one). Written by lbd only, never
 * read by the data path: the map is bound to xlb_lb (BPF_PROG_BIND_MAP) so
 * that the kernel lists it among the program's maps, like the others. */
struct xlb_meta {
	__u32 magic;       /* XLB_META_MAGIC once written; 0: a fresh map */
	__u32 abi_version; /* XLB_ABI_VERSION of the lbd that created the maps */
	__u64 build_id;    /* build of the xlb_lb attached over them (hash of its object) */
};

XLB_STATIC_ASSERT(sizeof(struct xlb_meta) == 16, "xlb_meta");

/* Names of the pinned maps under /sys/fs/bpf/xlb/<ifname>/ (libbpf pins by
 * the map's name; these must equal the names in bpf/lb.bpf.c). */
#define XLB_MAP_VIPS      "xlb_vips"
#define XLB_MAP_VIP_ADDRS "xlb_vip_addrs"
#define XLB_MAP_RINGS     "xlb_rings"
#define XLB_MAP_BACKENDS  "xlb_backends"
#define XLB_MAP_FLOWS     "xlb_flows"
#define XLB_MAP_CONFIG    "xlb_config"
#define XLB_MAP_GSTATS    "xlb_gstats"
#define XLB_MAP_VSTATS    "xlb_vstats"
#define XLB_MAP_BSTATS    "xlb_bstats"
#define XLB_MAP_TX_PORTS  "xlb_tx_ports"
#define XLB_MAP_CONNS     "xlb_conns"
#define XLB_MAP_VIP_LISTS "xlb_vip_lists"
#define XLB_MAP_NAT_REV   "xlb_nat_rev"
#define XLB_MAP_FLOOD     "xlb_flood"
#define XLB_MAP_EGRESS    "xlb_egress"
#define XLB_MAP_FRAGS     "xlb_frags"
#define XLB_MAP_META      "xlb_meta"
#define XLB_CONN_ADJUST_PROG_NAME "xlb_conn_adjust"
#define XLB_PROG_NAME     "xlb_lb"
#define XLB_DECAP_PROG_NAME "xlb_decap"

/* ---- health-check steering (bpf/hc.bpf.c, tc egress on the LB) ---------- */
/*
 * A health check in ipip and l2dsr modes is addressed to the VIP and must
 * reach one chosen backend the way client traffic does. lbd's checker marks
 * its socket (SO_MARK = the key of xlb_hc_targets); the tc egress program
 * finds the mark's target and encapsulates the packet to the backend (ipip)
 * or addresses its frame to the backend's MAC (l2dsr). Unknown marks pass
 * untouched. Key: the mark (__u32, never 0). Value: struct xlb_hc_target.
 */
#define XLB_MAX_HC_TARGETS 65536

struct xlb_hc_target {
	struct xlb_addr backend; /* ipip: outer destination (family below) */
	struct xlb_addr source;  /* ipip: outer source, same family */
	__u32 ifindex;           /* ipip: device to send the encapsulated packet
				  * out of; 0 = the device the hook sits on */
	__u8 mode;               /* XLB_MODE_IPIP or XLB_MODE_L2DSR (enum xlb_mode) */
	__u8 family;             /* ipip: XLB_AF_INET or XLB_AF_INET6 */
	__u8 mac[6];             /* l2dsr: the backend's MAC */
};

/* Indices of xlb_hc_stats (per-CPU struct xlb_counter). */
enum xlb_hc_stat {
	XLB_HC_STAT_RX = 0,          /* every packet the hook saw */
	XLB_HC_STAT_PASS,            /* no mark, or a mark without a target */
	XLB_HC_STAT_IPIP4,           /* encapsulated in an outer IPv4 header */
	XLB_HC_STAT_IPIP6,           /* encapsulated in an outer IPv6 header */
	XLB_HC_STAT_L2DSR,           /* frame re-addressed to the backend's MAC */
	XLB_HC_STAT_DROP_UNSUPPORTED, /* marked, but not IP, IPv6 into an IPv4
				       * tunnel, or a mode other than ipip/l2dsr */
	XLB_HC_STAT_DROP_MTU,        /* would exceed the device MTU once encapsulated */
	XLB_HC_STAT_DROP_INTERNAL,   /* a helper failed (room, store) */
	XLB_HC_STAT_MAX,
};

#define XLB_MAP_HC_TARGETS "xlb_hc_targets"
#define XLB_MAP_HC_STATS   "xlb_hc_stats"
#define XLB_HC_PROG_NAME   "xlb_hc"

XLB_STATIC_ASSERT(sizeof(struct xlb_hc_target) == 44, "xlb_hc_target");

#endif /* XLB_ABI_H */
