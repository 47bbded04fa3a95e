// Packet tests of VLAN tags (issue 10): a frame leaves with the tags of the
// device the route chose, as the kernel would send it (bpf/lib/xmit.h).
//
// The fixture's routes all leave on xlbt0, a veth. Writing an xlb_egress
// entry for xlbt0 declares it "VLAN 200 (or a QinQ pair) on xlbt0", which
// is what lbd writes for a real VLAN device: the frame leaves on the lower
// device (here xlbt0 itself: XDP_TX) with those tags. With no entry xlbt0 is
// a plain device and frames leave untagged, whatever tags they came with.
// A macvlan stands in for a VLAN device where a second, real device is
// needed (this kernel has no 802.1Q support to create one).
//
// Frames answered straight back to their sender (echo replies, ICMP "too
// big") keep the tags they came with: they go back where they came from.
// Expected frames are built untagged by the kit and then given the tags.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <netinet/in.h>

#include <utility>
#include <vector>

#include "nat_fixture.h"

namespace xlb::test::nat {
namespace {

using Tags = std::vector<std::pair<uint16_t, uint16_t>>;  // {TPID, TCI}, outer first

const Tags kNone = {};
const Tags kVlan100 = {{0x8100, 100}};
const Tags kVlan200 = {{0x8100, 200}};
const Tags kQinQ = {{0x88a8, 300}, {0x8100, 100}};
const Tags kQinQOut = {{0x88a8, 400}, {0x8100, 200}};
const Tags kQinQ8100 = {{0x8100, 300}, {0x8100, 100}};

// frame with tags inserted after the MACs (it must be untagged).
Bytes tagged(Bytes frame, const Tags& tags) {
  Bytes t;
  for (const auto& [tpid, tci] : tags) {
    t.push_back(tpid >> 8);
    t.push_back(tpid & 0xff);
    t.push_back(tci >> 8);
    t.push_back(tci & 0xff);
  }
  frame.insert(frame.begin() + 12, t.begin(), t.end());
  return frame;
}

std::string tags_name(const Tags& tags) {
  if (tags.empty()) return "untagged";
  std::string s;
  for (const auto& [tpid, tci] : tags)
    s += (s.empty() ? "" : "+") + std::string(tpid == 0x88a8 ? "ad" : "q") + std::to_string(tci);
  return s;
}

class Vlan : public NatFixture {
 protected:
  // lbd's description of device ifindex: a VLAN device on lower with tags.
  void set_egress(int ifindex, int lower, const Tags& tags) {
    xlb_egress e{};
    e.lower_ifindex = lower;
    e.ntags = tags.size();
    for (size_t i = 0; i < tags.size(); i++) {
      e.tags[i].tpid = htons(tags[i].first);
      e.tags[i].tci = htons(tags[i].second);
    }
    uint32_t key = ifindex;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_egress), &key, &e, BPF_ANY), 0);
  }
  // xlbt0 is "a VLAN device on itself" with tags (none: a plain device).
  void xlbt0_tags(const Tags& tags) {
    if (tags.empty()) {
      uint32_t key = ifindex_;
      bpf_map_delete_elem(bpf_map__fd(skel_->maps.xlb_egress), &key);
      return;
    }
    set_egress(ifindex_, ifindex_, tags);
  }
  // Every cached next hop is resolved again (the egress tags are cached
  // with it).
  void expire_all() {
    for (uint32_t id = 0; id < 16; id++) expire_next_hop(id);
  }
};

Bytes ipip_client_frame(const Family& f, uint16_t sport) {
  return build(client_packet(f, sport, 80, IPPROTO_TCP, kTcpSyn));
}

// ipip: every combination of ingress and egress tags, both families. The
// frame leaves with exactly the egress device's tags.
TEST_F(Vlan, IpipFramesLeaveWithTheEgressDevicesTags) {
  uint32_t id = 0;
  for (const Family* f : {&kV4, &kV6}) {
    uint32_t vip = vip_with_backend(f->vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, ++id, f->backend, 0);
    (void)vip;
    uint16_t sport = 40000;
    for (const Tags* out : {&kNone, &kVlan200, &kQinQOut}) {
      xlbt0_tags(*out);
      expire_all();
      for (const Tags* in : {&kNone, &kVlan100, &kVlan200, &kQinQ, &kQinQ8100}) {
        SCOPED_TRACE(std::string(f->name) + " in " + tags_name(*in) + " out " + tags_name(*out));
        Bytes plain = ipip_client_frame(*f, ++sport);
        RunResult r = run(tagged(plain, *in));
        ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
        Bytes want = tagged(f->v6 ? expect_encap6(plain, f->backend, 10) : expect_encap4(plain, f->backend, 10),
                            *out);
        EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
      }
    }
  }
  EXPECT_EQ(gstat(XLB_STAT_DROP_INTERNAL).packets, 0u);
}

// The established-flow path too (the next hop comes from the cache).
TEST_F(Vlan, CachedNextHopKeepsTheTags) {
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, 1, kV4.backend, 0);
  xlbt0_tags(kVlan200);
  for (int i = 0; i < 3; i++) {
    Bytes plain = build(client_packet(kV4, 40000, 80, IPPROTO_TCP, i ? kTcpAck : kTcpSyn));
    RunResult r = run(tagged(plain, kVlan100));
    ASSERT_EQ(r.verdict, XDP_TX);
    Bytes want = tagged(expect_encap4(plain, kV4.backend, 10), kVlan200);
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  }
  EXPECT_EQ(gstat(XLB_STAT_FLOW_HIT).packets, 2u);
}

// Three tags: not parsed as IP (documented): passed untouched.
TEST_F(Vlan, ThreeTagsPassAsNotIp) {
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, 1, kV4.backend, 0);
  Bytes in = tagged(ipip_client_frame(kV4, 40000), {{0x88a8, 1}, {0x8100, 2}, {0x8100, 3}});
  RunResult r = run(in);
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(r.out, in);
  EXPECT_EQ(gstat(XLB_STAT_PASS_NOT_IP).packets, 1u);
}

// A truncated second tag is malformed, as a truncated first one is.
TEST_F(Vlan, TruncatedInnerTagIsMalformed) {
  Bytes in = tagged(ipip_client_frame(kV4, 40000), kQinQ);
  in.resize(20);
  RunResult r = run(in);
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(gstat(XLB_STAT_PASS_MALFORMED).packets, 1u);
}

// nat: the client's packet to the backend and the backend's reply to the
// client both leave with the egress device's tags.
TEST_F(Vlan, NatBothWays) {
  nat_config();
  for (const Family* f : {&kV4, &kV6}) {
    vip_with_backend(f->vip, 80, IPPROTO_TCP, XLB_MODE_NAT, f->v6 ? 2 : 1, f->backend, 8080);
    for (const Tags* out : {&kNone, &kVlan200, &kQinQOut}) {
      SCOPED_TRACE(std::string(f->name) + " out " + tags_name(*out));
      xlbt0_tags(*out);
      expire_all();
      uint16_t sport = 41000 + (out->size() + 1) * 10;
      Pkt in = client_packet(*f, sport);
      RunResult r = run(tagged(build(in), kQinQ));
      ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
      Bytes want = tagged(build(rewritten(in, f->client, sport, f->backend, 8080, 10)), *out);
      EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);

      Pkt reply;
      reply.src = f->backend;
      reply.sport = 8080;
      reply.dst = f->client;
      reply.dport = sport;
      reply.flags = kTcpSyn | kTcpAck;
      r = run(tagged(build(reply), kVlan100));
      ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
      want = tagged(build(rewritten(reply, f->vip, 80, f->client, sport, 2)), *out);
      EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    }
  }
}

// l2dsr: only the MACs and the tags change.
TEST_F(Vlan, L2dsrChangesOnlyMacsAndTags) {
  for (const Family* f : {&kV4, &kV6}) {
    vip_with_backend(f->vip, 80, IPPROTO_TCP, XLB_MODE_L2DSR, f->v6 ? 2 : 1, f->backend, 0);
    for (const Tags* out : {&kNone, &kVlan200}) {
      xlbt0_tags(*out);
      expire_all();
      for (const Tags* in : {&kNone, &kVlan100, &kQinQ}) {
        SCOPED_TRACE(std::string(f->name) + " in " + tags_name(*in) + " out " + tags_name(*out));
        Pkt p = client_packet(*f, 42000 + in->size() * 10 + out->size());
        Bytes plain = build(p);
        RunResult r = run(tagged(plain, *in));
        ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
        Bytes want = plain;
        set_macs(want, fixture_neigh_mac(10), kFixtureMac);
        want = tagged(want, *out);
        EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
      }
    }
  }
}

// Answers back to the sender keep the tags the frame came with, whatever
// the egress device of a route would be: they go back where they came from.
TEST_F(Vlan, RepliesToTheSenderKeepTheIngressTags) {
  xlbt0_tags(kVlan200);
  // Echo request to a VIP address.
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, 1, kV4.backend, 0);
  Ipv4 ip;
  ip.src = kV4.client;
  ip.dst = kV4.vip;
  ip.proto = IPPROTO_ICMP;
  Bytes echo = Frame().eth(kPeerMac, kFixtureMac).ipv4(ip).payload(icmp4_message(8, 0, 0x12340001, {'x'})).build();
  RunResult plain = run(echo);
  ASSERT_EQ(plain.verdict, XDP_TX);
  for (const Tags* in : {&kVlan100, &kQinQ}) {
    SCOPED_TRACE("echo " + tags_name(*in));
    RunResult r = run(tagged(echo, *in));
    ASSERT_EQ(r.verdict, XDP_TX);
    Bytes want = tagged(plain.out, *in);
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  }

  // "Fragmentation needed" for a client's packet too big for the backend.
  ASSERT_EQ(run_cmd("ip route add 198.18.0.11/32 dev xlbt0 mtu lock 1300"), 0);
  vip_with_backend(kV4.vip, 81, IPPROTO_TCP, XLB_MODE_IPIP, 2, kV4.backend2, 0);
  Pkt big = client_packet(kV4, 40000, 81, IPPROTO_TCP, kTcpAck);
  big.payload = std::string(1400, 'a');
  Bytes bigf = build(big);
  plain = run(bigf);
  ASSERT_EQ(plain.verdict, XDP_TX);
  EXPECT_EQ(gstat(XLB_STAT_ICMP_FRAG_NEEDED).packets, 1u);
  for (const Tags* in : {&kVlan100, &kQinQ}) {
    SCOPED_TRACE("too big " + tags_name(*in));
    RunResult r = run(tagged(bigf, *in));
    ASSERT_EQ(r.verdict, XDP_TX);
    Bytes want = tagged(plain.out, *in);
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  }
  EXPECT_EQ(gstat(XLB_STAT_ICMP_FRAG_NEEDED).packets, 3u);
}

// A tagged frame routed straight back to its sender (the next hop's MAC is
// the frame's source) out of the plain device it came in on keeps its tags:
// that sender, a router on a trunk say, is on the tagged segment. From
// another sender, or towards a VLAN device, the egress device's tags rule.
TEST_F(Vlan, RoutedBackToItsSenderOnAPlainDeviceKeepsTheTags) {
  const char* be = "198.19.0.5";  // fixture: 198.19.0.0/16 via neighbour 2
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, 1, be, 0);
  uint16_t sport = 40000;
  for (const Tags* in : {&kVlan100, &kQinQ}) {
    SCOPED_TRACE(tags_name(*in));
    Pkt p = client_packet(kV4, ++sport);
    p.smac = fixture_neigh_mac(2);  // the router the backend is behind
    Bytes plain = build(p);
    RunResult r = run(tagged(plain, *in));
    ASSERT_EQ(r.verdict, XDP_TX);
    Bytes want = tagged(expect_encap4(plain, be, 2), *in);
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);

    // Another sender: untagged.
    p.smac = kPeerMac;
    p.sport = ++sport;
    plain = build(p);
    r = run(tagged(plain, *in));
    ASSERT_EQ(r.verdict, XDP_TX);
    want = expect_encap4(plain, be, 2);
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  }
  // The egress is a VLAN device: its tags, even back to the sender.
  xlbt0_tags(kVlan200);
  expire_all();
  Pkt p = client_packet(kV4, ++sport);
  p.smac = fixture_neigh_mac(2);
  Bytes plain = build(p);
  RunResult r = run(tagged(plain, kVlan100));
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes want = tagged(expect_encap4(plain, be, 2), kVlan200);
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
}

// A router's "fragmentation needed" about an ipip flow's reply (sent to the
// VIP) goes to the flow's backend (dsr_icmp.h) with the egress device's
// tags, whatever tags it came with: the same frame as for an untagged one.
TEST_F(Vlan, ForwardedIcmpErrorsFollowTheEgressDevice) {
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, 1, kV4.backend, 0);
  Pkt syn = client_packet(kV4, 40000, 80);
  ASSERT_EQ(run(build(syn)).verdict, XDP_TX);
  // The backend's reply, quoted by the router.
  Pkt reply = syn;
  std::swap(reply.src, reply.dst);
  std::swap(reply.sport, reply.dport);
  reply.flags = kTcpAck;
  Bytes q = build(reply);
  q.erase(q.begin(), q.begin() + 14);
  Ipv4 ip;
  ip.src = kV4.router;
  ip.dst = kV4.vip;
  ip.proto = IPPROTO_ICMP;
  Bytes err = Frame().eth(kPeerMac, kFixtureMac).ipv4(ip).payload(icmp4_message(3, 4, 1400, q)).build();
  uint64_t n = 0;
  for (const Tags* out : {&kNone, &kVlan200}) {
    xlbt0_tags(*out);
    expire_all();
    RunResult plain = run(err);
    ASSERT_EQ(plain.verdict, XDP_TX);
    n++;
    for (const Tags* in : {&kVlan100, &kQinQ}) {
      SCOPED_TRACE("in " + tags_name(*in) + " out " + tags_name(*out));
      RunResult r = run(tagged(err, *in));
      ASSERT_EQ(r.verdict, XDP_TX);
      n++;
      Bytes want = plain.out;
      if (!out->empty()) {
        // The untagged error left tagged too: the same frame.
        ASSERT_EQ(want[12], 0x81);
      }
      EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    }
  }
  EXPECT_EQ(gstat(XLB_STAT_DSR_ICMP).packets, n);
}

// A next hop on a device that cannot transmit XDP frames (a macvlan here;
// a VLAN, bridge or bond device alike) is dropped and counted, never
// counted as sent. Described as a VLAN device on a device lbd put in the
// devmap, it leaves there with its tag.
TEST_F(Vlan, RedirectOnlyToDevicesThatTransmitXdpFrames) {
  ASSERT_EQ(run_cmd("ip link add xlbv0 link xlbt1 address 02:00:00:00:06:01 type macvlan mode bridge && "
                    "ip link set xlbv0 up && ip addr add 198.18.6.1/24 dev xlbv0 && "
                    "ip neigh replace 198.18.6.2 lladdr 02:00:00:00:06:02 dev xlbv0 nud permanent"),
            0);
  int macvlan = if_nametoindex("xlbv0");
  int peer = fixture_peer_ifindex();
  ASSERT_GT(macvlan, 0);
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, 1, "198.18.6.2", 0);
  Bytes plain = ipip_client_frame(kV4, 40000);
  Bytes in = tagged(plain, kVlan100);

  // Not in the devmap (lbd never puts a macvlan there).
  RunResult r = run(in);
  EXPECT_EQ(r.verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_EGRESS_NOT_XDP).packets, 1u);
  EXPECT_EQ(gstat(XLB_STAT_REDIRECT).packets, 0u);

  // Described as VLAN 200 on xlbt1, which is not in the devmap yet.
  set_egress(macvlan, peer, kVlan200);
  expire_all();
  r = run(in);
  EXPECT_EQ(r.verdict, XDP_DROP);
  EXPECT_EQ(gstat(XLB_STAT_DROP_EGRESS_NOT_XDP).packets, 2u);
  EXPECT_EQ(gstat(XLB_STAT_REDIRECT).packets, 0u);

  uint32_t key = peer;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_tx_ports), &key, &key, BPF_ANY), 0);
  r = run(in);
  EXPECT_EQ(r.verdict, XDP_REDIRECT);
  EXPECT_EQ(gstat(XLB_STAT_REDIRECT).packets, 1u);
  Bytes want = encap_ipv4(plain, kFixtureAddr4, "198.18.6.2");
  set_macs(want, parse_mac("02:00:00:00:06:02"), parse_mac("02:00:00:00:06:01"));
  want = tagged(want, kVlan200);
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
}

}  // namespace
}  // namespace xlb::test::nat
