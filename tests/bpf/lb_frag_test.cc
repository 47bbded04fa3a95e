// Packet tests of fragments (bpf/lib/frag.h): a datagram's first fragment
// records its ports and goes where an unfragmented packet of its 5-tuple
// goes; later fragments follow it to the same backend; what cannot be
// tracked for a VIP address (later fragment without its first, nat/fullnat
// VIPs, a first fragment cut short) is dropped and counted, never passed;
// other hosts' fragments pass untouched. Exact verdicts and bytes.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sched.h>

#include <cstring>
#include <set>
#include <vector>

#include "encap_ref.h"
#include "nat_fixture.h"

namespace xlb::test::nat {
namespace {

constexpr uint8_t kIcmp = 1;

// A UDP datagram in two fragments: 8 bytes of header and 16 of data in the
// first, 8 more bytes of data in the later one (offset 24 = 3 units).
struct Datagram {
  const Family* f;
  uint16_t sport = 40000;
  uint16_t dport = 53;
  uint32_t id = 0x4242;  // IPv4 uses the low 16 bits
  uint8_t proto = IPPROTO_UDP;
  std::string dst;       // default: the family's VIP
  uint8_t tcp_flags = kTcpSyn;
};

// The L4 bytes of the whole datagram: the TCP or UDP header, then data.
Bytes l4_bytes(const Datagram& d) {
  Bytes b;
  auto put16 = [&](uint16_t v) {
    b.push_back(v >> 8);
    b.push_back(v & 0xff);
  };
  put16(d.sport);
  put16(d.dport);
  if (d.proto == IPPROTO_TCP) {
    Bytes rest = {0, 0, 0, 1, 0, 0, 0, 0, 0x50, d.tcp_flags, 0xff, 0xff, 0x12, 0x34, 0, 0};
    b.insert(b.end(), rest.begin(), rest.end());  // seq 1, ack 0, offset 5, checksum 0x1234
    b.resize(40, 'x');                            // 20 + 20 of data
  } else {
    put16(32);      // the whole datagram's length
    put16(0x1234);  // not checked by the lb; the backend reassembles first
    b.resize(32, 'y');
  }
  return b;
}

std::string dst_of(const Datagram& d) { return d.dst.empty() ? d.f->vip : d.dst; }

// One fragment of d: bytes [from, to) of its L4 bytes; more: MF / M set.
Bytes fragment(const Datagram& d, size_t from, size_t to, bool more) {
  Bytes all = l4_bytes(d);
  Bytes part(all.begin() + from, all.begin() + std::min(to, all.size()));
  Frame fr;
  fr.eth(kPeerMac, kFixtureMac);
  if (d.f->v6) {
    Ipv6 ip;
    ip.src = d.f->client;
    ip.dst = dst_of(d);
    ip.next_header = 44;
    uint16_t fo = static_cast<uint16_t>(from) | (more ? 1 : 0);  // from is a multiple of 8
    Bytes fh = {d.proto, 0, static_cast<uint8_t>(fo >> 8), static_cast<uint8_t>(fo),
                static_cast<uint8_t>(d.id >> 24), static_cast<uint8_t>(d.id >> 16),
                static_cast<uint8_t>(d.id >> 8), static_cast<uint8_t>(d.id)};
    fh.insert(fh.end(), part.begin(), part.end());
    return fr.ipv6(ip).payload(fh).build();
  }
  Ipv4 ip;
  ip.src = d.f->client;
  ip.dst = dst_of(d);
  ip.id = static_cast<uint16_t>(d.id);
  ip.mf = more;
  ip.frag_offset = static_cast<uint16_t>(from / 8);
  ip.proto = d.proto;
  return fr.ipv4(ip).payload(part).build();
}

Bytes first_frag(const Datagram& d) { return fragment(d, 0, 24, true); }
Bytes later_frag(const Datagram& d) { return fragment(d, 24, 1000, false); }

// The same datagram unfragmented.
Bytes whole(const Datagram& d) {
  Pkt p;
  p.src = d.f->client;
  p.sport = d.sport;
  p.dst = dst_of(d);
  p.dport = d.dport;
  p.proto = d.proto;
  p.flags = d.tcp_flags;
  p.payload = "whole";
  return build(p);
}

class Frag : public NatFixture {
 protected:
  xlb_flow_key key_of(const Datagram& d) const {
    return flow_key(d.f->client, d.sport, dst_of(d), d.dport, d.proto);
  }
  // What the lb emits for fragment `in` of d's flow to backend (neighbour
  // neigh): ipip encapsulation, the IPv6 flow label from the flow's
  // 5-tuple (the fragment itself has no ports).
  Bytes encap(const Datagram& d, const Bytes& in, const std::string& backend, int neigh) const {
    if (!d.f->v6) return expect_encap4(in, backend, neigh);
    Bytes want = encap_ipv6(in, kFixtureAddr6, backend);
    xlb_config cfg{};
    uint32_t zero = 0;
    EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_config), &zero, &cfg), 0);
    set_outer_flow_label(want, ref_flow_label(key_of(d), cfg.hash_seed));
    set_macs(want, fixture_neigh_mac(neigh), kFixtureMac);
    return want;
  }
  // The outer destination of an encapsulated frame (no VLAN tag).
  static std::string outer_dst(const Bytes& out, bool v6) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (v6)
      inet_ntop(AF_INET6, out.data() + 14 + 24, buf, sizeof buf);
    else
      inet_ntop(AF_INET, out.data() + 14 + 16, buf, sizeof buf);
    return buf;
  }
  // Ring slots alternate between backends a and b.
  void split_ring(uint32_t vip, uint32_t a, uint32_t b) {
    int fd = ring_fds_[vip];
    for (uint32_t slot = 0; slot < 13; slot++) {
      uint32_t id = slot % 2 ? b : a;
      ASSERT_EQ(bpf_map_update_elem(fd, &slot, &id, BPF_ANY), 0);
    }
  }
  bool frag_entry(const Datagram& d, xlb_frag* out) const {
    xlb_frag_key k{};
    k.src = abi_addr(d.f->client);
    k.dst = abi_addr(dst_of(d));
    k.id = d.f->v6 ? d.id : (d.id & 0xffff);
    k.proto = d.proto;
    k.family = d.f->v6 ? XLB_AF_INET6 : XLB_AF_INET;
    return bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_frags), &k, out) == 0;
  }
  uint64_t packets(xlb_stat s) const { return gstat(s).packets; }
};

// For many flows: the first fragment goes to the backend an unfragmented
// packet of the 5-tuple gets, and the later fragment follows it, encapsulated
// byte for byte like any packet.
TEST_F(Frag, FragmentsGoWhereTheUnfragmentedFlowGoes) {
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    uint16_t vport = f->v6 ? 54 : 53;
    uint32_t vip = vip_with_backend(f->vip, vport, IPPROTO_UDP, XLB_MODE_IPIP, f->v6 ? 3 : 1, f->backend, 0);
    uint32_t other = f->v6 ? 4 : 2;
    add_backend(other, vip, f->backend2);
    split_ring(vip, f->v6 ? 3 : 1, other);
    std::set<std::string> seen;
    for (uint16_t sport = 41000; sport < 41016; sport++) {
      SCOPED_TRACE(sport);
      Datagram d;
      d.f = f;
      d.sport = sport;
      d.dport = vport;
      d.id = 0x10001u * sport;  // IPv4 takes the low 16 bits
      // Where the unfragmented flow goes; then forget it.
      RunResult r = run(whole(d));
      ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
      std::string be = outer_dst(r.out, f->v6);
      int neigh = be == f->backend ? 10 : 11;
      seen.insert(be);
      delete_flow(key_of(d));

      uint64_t first0 = packets(XLB_STAT_FRAG_FIRST), fwd0 = packets(XLB_STAT_FRAG_FORWARDED);
      Bytes in = first_frag(d);
      r = run(in);
      ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
      Bytes want = encap(d, in, be, neigh);
      EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
      EXPECT_EQ(packets(XLB_STAT_FRAG_FIRST), first0 + 1);
      xlb_frag fe{};
      ASSERT_TRUE(frag_entry(d, &fe));
      EXPECT_EQ(ntohs(fe.sport), sport);
      EXPECT_EQ(ntohs(fe.dport), vport);

      in = later_frag(d);
      r = run(in);
      ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
      want = encap(d, in, be, neigh);
      EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
      EXPECT_EQ(packets(XLB_STAT_FRAG_FORWARDED), fwd0 + 1);
    }
    EXPECT_EQ(seen.size(), 2u) << "the flows should spread over both backends";
  }
  EXPECT_EQ(packets(XLB_STAT_DROP_FRAG_UNKNOWN), 0u);
  EXPECT_EQ(packets(XLB_STAT_PASS_FRAGMENT), 0u);
}

// The per-VIP and per-backend counters see every fragment; the later ones
// arrive on a flow the first fragment made.
TEST_F(Frag, FirstFragmentMakesTheFlowLaterOnesUseIt) {
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    uint32_t id = f->v6 ? 2 : 1;
    uint32_t vip = vip_with_backend(f->vip, 53, IPPROTO_UDP, XLB_MODE_IPIP, id, f->backend, 0);
    Datagram d;
    d.f = f;
    ASSERT_EQ(run(first_frag(d)).verdict, XDP_TX);
    xlb_flow fl{};
    ASSERT_TRUE(flow(key_of(d), &fl));
    EXPECT_EQ(fl.backend_id, id);
    EXPECT_EQ(conns(id).active, 1);
    Bytes in = later_frag(d);
    RunResult r = run(in);
    ASSERT_EQ(r.verdict, XDP_TX);
    EXPECT_EQ(r.out, encap(d, in, f->backend, 10));
    // Fragments may come in any order after the first: a second copy of
    // the later fragment (or another one) still finds the datagram.
    ASSERT_EQ(run(in).verdict, XDP_TX);
    EXPECT_EQ(counter(skel_->maps.xlb_vstats, vip).packets, 3u);
    EXPECT_EQ(counter(skel_->maps.xlb_bstats, id).packets, 3u);
    EXPECT_EQ(conns(id).active, 1);
  }
  EXPECT_EQ(flow_count(), 2u);
  EXPECT_EQ(packets(XLB_STAT_NEW_FLOW), 2u);
  EXPECT_EQ(packets(XLB_STAT_FRAG_FORWARDED), 4u);
}

TEST_F(Frag, LaterFragmentWithoutItsFirstIsDropped) {
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    vip_with_backend(f->vip, 53, IPPROTO_UDP, XLB_MODE_IPIP, f->v6 ? 2 : 1, f->backend, 0);
    Datagram d;
    d.f = f;
    uint64_t before = packets(XLB_STAT_DROP_FRAG_UNKNOWN);
    RunResult r = run(later_frag(d));
    EXPECT_EQ(r.verdict, XDP_DROP) << xdp_verdict_name(r.verdict);
    EXPECT_EQ(packets(XLB_STAT_DROP_FRAG_UNKNOWN), before + 1);
    // Another datagram's first fragment (another id) does not help it.
    Datagram other = d;
    other.id = d.id + 1;
    ASSERT_EQ(run(first_frag(other)).verdict, XDP_TX);
    EXPECT_EQ(run(later_frag(d)).verdict, XDP_DROP);
    EXPECT_EQ(packets(XLB_STAT_DROP_FRAG_UNKNOWN), before + 2);
  }
  EXPECT_EQ(packets(XLB_STAT_PASS_FRAGMENT), 0u);
}

// A later fragment never makes a flow. With the first fragment's entry gone
// (evicted), it goes where a packet of the flow without its entry goes, the
// flow's stateless pick (maglev: the same backend), and no entry appears.
TEST_F(Frag, LaterFragmentCreatesNoFlow) {
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    uint32_t id = f->v6 ? 2 : 1;
    vip_with_backend(f->vip, 53, IPPROTO_UDP, XLB_MODE_IPIP, id, f->backend, 0);
    Datagram d;
    d.f = f;
    ASSERT_EQ(run(first_frag(d)).verdict, XDP_TX);
    delete_flow(key_of(d));
    Bytes in = later_frag(d);
    RunResult r = run(in);
    ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    EXPECT_EQ(r.out, encap(d, in, f->backend, 10));
    EXPECT_EQ(flow_count(), 0u);
  }
  EXPECT_EQ(packets(XLB_STAT_NEW_FLOW), 2u);
  EXPECT_EQ(packets(XLB_STAT_FRAG_FORWARDED), 2u);
}


// During a new-flow flood (flood.h) a first fragment's flow is forwarded by
// the ring without an entry; the later fragments follow it there, not to
// the scheduler's pick, and make no entry either. least-conn would pick
// backend 1; the ring holds only backend 2.
TEST_F(Frag, LaterFragmentsFollowAFirstForwardedDuringAFlood) {
  PinnedToOneCpu pin;
  ASSERT_TRUE(pin.ok());
  uint32_t v = add_vip(kV4.vip, 53, IPPROTO_UDP, 13, XLB_SCHED_LEAST_CONN);
  add_backend(1, v, kV4.backend);
  add_backend(2, v, kV4.backend2);
  set_list(v, {1, 2});
  fill_ring(v, 2);
  ASSERT_EQ(adjust(2, 100, 0), 0);
  int fd = bpf_map__fd(skel_->maps.xlb_config);
  uint32_t zero = 0;
  xlb_config cfg;
  ASSERT_EQ(bpf_map_lookup_elem(fd, &zero, &cfg), 0);
  cfg.flood_rate = 1;
  ASSERT_EQ(bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY), 0);
  std::vector<xlb_flood_window> w(libbpf_num_possible_cpus());  // every window long over
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_flood), &zero, w.data(), BPF_ANY), 0);

  Datagram a;
  a.f = &kV4;
  a.sport = 42000;
  RunResult r = run(whole(a));  // within the rate: least-conn, recorded
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(outer_dst(r.out, false), kV4.backend);
  Datagram d = a;
  d.sport = 42001;
  for (const Bytes& in : {first_frag(d), later_frag(d)}) {
    r = run(in);
    ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    EXPECT_EQ(r.out, encap(d, in, kV4.backend2, 11));
  }
  EXPECT_EQ(packets(XLB_STAT_FLOOD_STATELESS), 1u);
  EXPECT_EQ(packets(XLB_STAT_FRAG_FORWARDED), 1u);
  EXPECT_EQ(flow_count(), 1u);
}

// TCP: the first fragment of a SYN opens the flow like the SYN would; a later
// fragment (no flags: it has no TCP header) moves neither state nor counts.
TEST_F(Frag, LaterFragmentLeavesTcpStateAndCountsAlone) {
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    uint32_t id = f->v6 ? 2 : 1;
    vip_with_backend(f->vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, id, f->backend, 0);
    Datagram d;
    d.f = f;
    d.proto = IPPROTO_TCP;
    d.dport = 80;
    Bytes in = first_frag(d);
    RunResult r = run(in);
    ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    EXPECT_EQ(r.out, encap(d, in, f->backend, 10));
    xlb_flow before{};
    ASSERT_TRUE(flow(key_of(d), &before));
    EXPECT_EQ(before.state, XLB_FLOW_TCP_SYN);
    xlb_conn_count c0 = conns(id);
    EXPECT_EQ(c0.active, 1);
    EXPECT_EQ(c0.half_open, 1);
    // Make any touch visible: a packet a second later would establish it.
    set_last_seen(key_of(d), coarse_now_ns() - 5000000000ull);
    ASSERT_TRUE(flow(key_of(d), &before));
    in = later_frag(d);
    r = run(in);
    ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    EXPECT_EQ(r.out, encap(d, in, f->backend, 10));
    xlb_flow after{};
    ASSERT_TRUE(flow(key_of(d), &after));
    EXPECT_EQ(std::memcmp(&before, &after, sizeof before), 0) << "the flow entry changed";
    EXPECT_EQ(conns(id).active, c0.active);
    EXPECT_EQ(conns(id).half_open, c0.half_open);
  }
}

TEST_F(Frag, L2dsrFragmentsGoToTheBackendsMac) {
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    vip_with_backend(f->vip, 53, IPPROTO_UDP, XLB_MODE_L2DSR, f->v6 ? 2 : 1, f->backend, 0);
    Datagram d;
    d.f = f;
    for (const Bytes& in : {first_frag(d), later_frag(d)}) {
      RunResult r = run(in);
      ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
      Bytes want = in;
      set_macs(want, fixture_neigh_mac(10), kFixtureMac);
      EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    }
  }
  EXPECT_EQ(packets(XLB_STAT_FRAG_FIRST), 2u);
  EXPECT_EQ(packets(XLB_STAT_FRAG_FORWARDED), 2u);
}

// Other hosts' fragments pass untouched, as before, and leave no entry.
TEST_F(Frag, FragmentsForNoVipAddressPassUnchanged) {
  nat_config();  // the reply lookup is not consulted for fragments either
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    vip_with_backend(f->vip, 53, IPPROTO_UDP, XLB_MODE_IPIP, f->v6 ? 2 : 1, f->backend, 0);
    Datagram d;
    d.f = f;
    d.dst = f->v6 ? "fd00:18::99" : "198.18.0.99";
    for (const Bytes& in : {first_frag(d), later_frag(d)}) {
      RunResult r = run(in);
      EXPECT_EQ(r.verdict, XDP_PASS) << xdp_verdict_name(r.verdict);
      EXPECT_EQ(r.out, in) << hexdump_diff(in, r.out);
    }
    xlb_frag fe{};
    EXPECT_FALSE(frag_entry(d, &fe));
  }
  EXPECT_EQ(packets(XLB_STAT_PASS_FRAGMENT), 4u);
  EXPECT_EQ(flow_count(), 0u);
}

// nat and fullnat cannot rewrite later fragments: all their fragments are
// dropped, first and later alike, with no flow and no reply entry.
TEST_F(Frag, NatAndFullnatFragmentsAreDropped) {
  nat_config();
  uint32_t id = 0;
  for (uint8_t mode : {uint8_t{XLB_MODE_NAT}, uint8_t{XLB_MODE_FULLNAT}}) {
    for (const Family* f : {&kV4, &kV6}) {
      SCOPED_TRACE(std::string(f->name) + (mode == XLB_MODE_NAT ? " nat" : " fullnat"));
      uint16_t vport = 60 + id;
      vip_with_backend(f->vip, vport, IPPROTO_UDP, mode, ++id, f->backend, 0);
      Datagram d;
      d.f = f;
      d.dport = vport;
      uint64_t before = packets(XLB_STAT_DROP_FRAG_NAT);
      for (const Bytes& in : {first_frag(d), later_frag(d)}) {
        RunResult r = run(in);
        EXPECT_EQ(r.verdict, XDP_DROP) << xdp_verdict_name(r.verdict);
      }
      EXPECT_EQ(packets(XLB_STAT_DROP_FRAG_NAT), before + 2);
    }
  }
  EXPECT_EQ(flow_count(), 0u);
  EXPECT_TRUE(nat_revs().empty());
  EXPECT_EQ(packets(XLB_STAT_DROP_FRAG_UNKNOWN), 0u);
}

// A first fragment too short for its UDP/TCP header has no ports to follow:
// dropped for a VIP address, passed for others.
TEST_F(Frag, ShortFirstFragmentIsDropped) {
  uint32_t id = 0;
  for (const Family* f : {&kV4, &kV6}) {
    for (uint8_t proto : {uint8_t{IPPROTO_UDP}, uint8_t{IPPROTO_TCP}}) {
      SCOPED_TRACE(std::string(f->name) + " " + proto_name(proto));
      vip_with_backend(f->vip, 53, proto, XLB_MODE_IPIP, ++id, f->backend, 0);
      Datagram d;
      d.f = f;
      d.proto = proto;
      // 8 bytes: a whole UDP header but half a TCP one; 4: half of either.
      size_t cut = proto == IPPROTO_TCP ? 8 : 4;
      uint64_t before = packets(XLB_STAT_DROP_FRAG_SHORT);
      RunResult r = run(fragment(d, 0, cut, true));
      EXPECT_EQ(r.verdict, XDP_DROP) << xdp_verdict_name(r.verdict);
      EXPECT_EQ(packets(XLB_STAT_DROP_FRAG_SHORT), before + 1);
      d.dst = f->v6 ? "fd00:18::99" : "198.18.0.99";
      Bytes in = fragment(d, 0, cut, true);
      r = run(in);
      EXPECT_EQ(r.verdict, XDP_PASS) << xdp_verdict_name(r.verdict);
      EXPECT_EQ(r.out, in);
    }
  }
  EXPECT_EQ(packets(XLB_STAT_PASS_FRAGMENT), 4u);
  EXPECT_EQ(flow_count(), 0u);
}

// Fragments to a VIP address that no VIP serves (port or protocol) are
// unserved traffic like whole packets: dropped by default, passed with
// "unserved": "pass" (then also the later fragments nobody recorded).
TEST_F(Frag, UnservedFragmentsFollowTheUnservedRule) {
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    vip_with_backend(f->vip, 53, IPPROTO_UDP, XLB_MODE_IPIP, f->v6 ? 2 : 1, f->backend, 0);
    Datagram port;
    port.f = f;
    port.dport = 54;
    Datagram icmp = port;
    icmp.proto = f->v6 ? 58 : kIcmp;
    uint64_t before = packets(XLB_STAT_DROP_VIP_UNSERVED);
    EXPECT_EQ(run(first_frag(port)).verdict, XDP_DROP);
    EXPECT_EQ(run(first_frag(icmp)).verdict, XDP_DROP);
    EXPECT_EQ(run(later_frag(icmp)).verdict, XDP_DROP);
    EXPECT_EQ(packets(XLB_STAT_DROP_VIP_UNSERVED), before + 3);
    EXPECT_EQ(run(later_frag(port)).verdict, XDP_DROP);
  }
  EXPECT_EQ(packets(XLB_STAT_DROP_FRAG_UNKNOWN), 2u);

  set_nat(XLB_CFG_F_PASS_UNSERVED);
  for (const Family* f : {&kV4, &kV6}) {
    Datagram port;
    port.f = f;
    port.dport = 54;
    for (const Bytes& in : {first_frag(port), later_frag(port)}) {
      RunResult r = run(in);
      EXPECT_EQ(r.verdict, XDP_PASS) << xdp_verdict_name(r.verdict);
      EXPECT_EQ(r.out, in);
    }
  }
  EXPECT_EQ(packets(XLB_STAT_PASS_VIP_UNSERVED), 4u);
  EXPECT_EQ(packets(XLB_STAT_DROP_FRAG_UNKNOWN), 2u);
}

}  // namespace
}  // namespace xlb::test::nat
