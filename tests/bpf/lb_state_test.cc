// Packet tests of the flow state that spoofed packets must not be able to
// inflate or steal (issue 10, section 3): L4 headers within the IP length,
// non-SYN packets without an entry, bare RSTs, SYNs on entries of draining
// backends, and the flow_uncounted counter.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <cstring>
#include <optional>

#include "lb_fixture.h"

namespace xlb::test {
namespace {

const Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0xcc, 0x01};
constexpr const char* kClient4 = "198.18.1.1";
constexpr const char* kClient6 = "fd00:1::1";
constexpr const char* kVip4 = "198.18.100.1";
constexpr const char* kVip6 = "fd00:100::1";
constexpr const char* kBe4 = "198.18.0.10";
constexpr const char* kBe6 = "fd00:18::10";

// IPv4 or IPv6 TCP/UDP frame from the client to the VIP's port 80 or 53.
// l4_room, when given, is the L4 length the IP header claims (the frame
// still carries the whole L4 header after it, like Ethernet padding).
Bytes frame(bool v6, uint8_t proto, uint16_t sport, uint8_t flags, std::optional<uint16_t> l4_room = {}) {
  Frame f;
  f.eth(kClientMac, kFixtureMac);
  if (v6) {
    Ipv6 ip;
    ip.src = kClient6;
    ip.dst = kVip6;
    ip.payload_len = l4_room;
    f.ipv6(ip);
  } else {
    Ipv4 ip;
    ip.src = kClient4;
    ip.dst = kVip4;
    if (l4_room) ip.total_len = uint16_t(20 + *l4_room);
    f.ipv4(ip);
  }
  if (proto == IPPROTO_TCP) {
    Tcp t;
    t.sport = sport;
    t.dport = 80;
    t.flags = flags;
    f.tcp(t);
  } else {
    Udp u;
    u.sport = sport;
    u.dport = 53;
    f.udp(u);
  }
  if (l4_room) f.payload(Bytes(6, 0));  // beyond the IP packet: padding
  return f.build();
}

Bytes tcp4(uint16_t sport, uint8_t flags, const std::string& payload = "") {
  Ipv4 ip;
  ip.src = kClient4;
  ip.dst = kVip4;
  Tcp t;
  t.sport = sport;
  t.dport = 80;
  t.flags = flags;
  return Frame().eth(kClientMac, kFixtureMac).ipv4(ip).tcp(t).payload(payload).build();
}

xlb_flow_key key4(uint16_t sport) { return flow_key(kClient4, sport, kVip4, 80, IPPROTO_TCP); }

bool flow_key_eq(const xlb_flow_key& a, const xlb_flow_key& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

class State : public LbFixture {
 protected:
  // An ipip VIP on kVip4:80 with backend 1 (kBe4) in its ring and list.
  uint32_t tcp_vip(uint8_t sched = XLB_SCHED_MAGLEV) {
    uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP, 13, sched);
    add_backend(1, vip, kBe4);
    set_list(vip, {1});
    fill_ring(vip, 1);
    return vip;
  }
};

// ---- L4 headers within the IP packet ---------------------------------------

// A TCP or UDP header that the frame holds but the IP packet does not (the
// IP length ends inside it; the rest is trailing bytes such as Ethernet
// padding) is malformed: passed untouched, no flow. The same header with
// the IP length covering it is forwarded, padding after it or not.
TEST_F(State, L4HeaderMustLieWithinTheIpLength) {
  for (bool v6 : {false, true}) {
    uint32_t tvip = add_vip(v6 ? kVip6 : kVip4, 80, IPPROTO_TCP);
    uint32_t uvip = add_vip(v6 ? kVip6 : kVip4, 53, IPPROTO_UDP);
    add_backend(2 * tvip, tvip, v6 ? kBe6 : kBe4);
    add_backend(2 * uvip, uvip, v6 ? kBe6 : kBe4);
    fill_ring(tvip, 2 * tvip);
    fill_ring(uvip, 2 * uvip);
  }
  struct Case {
    bool v6;
    uint8_t proto;
    uint16_t room;  // L4 bytes the IP header claims
    bool ok;
  };
  const std::vector<Case> cases = {
      {false, IPPROTO_TCP, 10, false}, {false, IPPROTO_TCP, 19, false}, {false, IPPROTO_TCP, 20, true},
      {false, IPPROTO_UDP, 7, false},  {false, IPPROTO_UDP, 8, true},   {true, IPPROTO_TCP, 0, false},
      {true, IPPROTO_TCP, 19, false},  {true, IPPROTO_TCP, 20, true},   {true, IPPROTO_UDP, 4, false},
      {true, IPPROTO_UDP, 8, true},
  };
  uint16_t sport = 41000;
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.v6 ? "IPv6 " : "IPv4 ") + (c.proto == IPPROTO_TCP ? "TCP" : "UDP") +
                 " with L4 room " + std::to_string(c.room));
    Bytes in = frame(c.v6, c.proto, ++sport, kTcpSyn, c.room);
    xlb_counter malformed = gstat(XLB_STAT_PASS_MALFORMED), fresh = gstat(XLB_STAT_NEW_FLOW);
    RunResult r = run(in);
    xlb_flow_key k = flow_key(c.v6 ? kClient6 : kClient4, sport, c.v6 ? kVip6 : kVip4,
                              c.proto == IPPROTO_TCP ? 80 : 53, c.proto);
    xlb_flow f{};
    if (c.ok) {
      EXPECT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
      EXPECT_EQ(gstat(XLB_STAT_NEW_FLOW).packets, fresh.packets + 1);
      EXPECT_TRUE(flow(k, &f));
    } else {
      EXPECT_EQ(r.verdict, XDP_PASS) << xdp_verdict_name(r.verdict);
      EXPECT_EQ(r.out, in) << hexdump_diff(in, r.out);
      EXPECT_EQ(gstat(XLB_STAT_PASS_MALFORMED).packets, malformed.packets + 1);
      EXPECT_EQ(gstat(XLB_STAT_NEW_FLOW).packets, fresh.packets);
      EXPECT_FALSE(flow(k, &f));
    }
  }
}

// ---- TCP non-SYN without an entry: half-open until proved ------------------

// 100 spoofed ACKs from 100 ports of a least-conn VIP: each is forwarded
// (by the scheduler, as after an lbd restart) and recorded, but as an
// unproven MIDSTREAM flow holding one half_open unit and no active one, so
// least-conn's counts are untouched. More packets within the first second
// prove nothing; a client packet a second or more after the first makes the
// flow established and moves its unit from half_open to active, once. A FIN
// before that gives the half_open unit back.
TEST_F(State, NonSynWithoutEntryIsHalfOpenUntilProved) {
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP, 13, XLB_SCHED_LEAST_CONN);
  add_backend(1, vip, kBe4);
  add_backend(2, vip, "198.18.0.11");
  set_list(vip, {1, 2});
  constexpr int kFlows = 100;
  for (uint16_t p = 0; p < kFlows; p++) {
    Bytes ack = tcp4(42000 + p, kTcpAck, "spoof");
    RunResult r = run(ack);
    ASSERT_EQ(r.verdict, XDP_TX) << "port " << 42000 + p;
    int neigh = r.out.size() > 33 && r.out[33] == 10 ? 10 : 11;
    EXPECT_EQ(r.out, expect_encap4(ack, neigh == 10 ? kBe4 : "198.18.0.11", neigh));
  }
  EXPECT_EQ(conns(1).active + conns(2).active, 0) << "spoofed ACKs counted as active connections";
  EXPECT_EQ(conns(1).half_open + conns(2).half_open, kFlows);
  EXPECT_EQ(gstat(XLB_STAT_FLOW_RESCHEDULED).packets, uint64_t(kFlows));
  EXPECT_EQ(gstat(XLB_STAT_NEW_FLOW).packets, uint64_t(kFlows));
  xlb_flow f{};
  ASSERT_TRUE(flow(key4(42000), &f));
  EXPECT_EQ(f.state, XLB_FLOW_TCP_MIDSTREAM);
  EXPECT_EQ(f.flags, XLB_FLOW_F_HALF_OPEN);

  // Packets within the first second: still unproven.
  for (int i = 0; i < 5; i++) ASSERT_EQ(run(tcp4(42000, kTcpAck, "more")).verdict, XDP_TX);
  ASSERT_TRUE(flow(key4(42000), &f));
  EXPECT_EQ(f.state, XLB_FLOW_TCP_MIDSTREAM);
  EXPECT_EQ(f.flags, XLB_FLOW_F_HALF_OPEN);
  uint32_t be = f.backend_id;

  // A packet 1.5 s after the first proves it: established, active.
  set_last_seen(key4(42000), coarse_now_ns() - 1'500'000'000ull);
  ASSERT_EQ(run(tcp4(42000, kTcpAck, "later")).verdict, XDP_TX);
  ASSERT_TRUE(flow(key4(42000), &f));
  EXPECT_EQ(f.state, XLB_FLOW_TCP_ESTABLISHED);
  EXPECT_EQ(f.flags, XLB_FLOW_F_COUNTED);
  EXPECT_EQ(f.backend_id, be);
  EXPECT_EQ(conns(be).active, 1);
  EXPECT_EQ(conns(1).half_open + conns(2).half_open, kFlows - 1);
  ASSERT_EQ(run(tcp4(42000, kTcpAck, "again")).verdict, XDP_TX);
  EXPECT_EQ(conns(be).active, 1) << "proved twice";

  // An unproven flow's FIN returns its half_open unit; nothing else moves.
  ASSERT_EQ(run(tcp4(42001, kTcpAck | kTcpFin)).verdict, XDP_TX);
  ASSERT_TRUE(flow(key4(42001), &f));
  EXPECT_EQ(f.state, XLB_FLOW_TCP_CLOSING);
  EXPECT_EQ(f.flags & (XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN), 0u);
  EXPECT_EQ(conns(1).half_open + conns(2).half_open, kFlows - 2);
  EXPECT_EQ(conns(1).active + conns(2).active, 1);

  // A SYN on an unproven flow's tuple opens a new connection there.
  ASSERT_EQ(run(tcp4(42002, kTcpSyn)).verdict, XDP_TX);
  ASSERT_TRUE(flow(key4(42002), &f));
  EXPECT_EQ(f.state, XLB_FLOW_TCP_SYN);
  EXPECT_EQ(f.flags, XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN);
  EXPECT_EQ(conns(1).half_open + conns(2).half_open, kFlows - 2);
  EXPECT_EQ(conns(1).active + conns(2).active, 2);
}

// ---- a RST without an entry ------------------------------------------------

// A bare RST (RST or RST|ACK, no flow entry) creates no entry and takes no
// unit. maglev and src-hash VIPs in ipip, l2dsr and nat mode forward it to
// the backend the hash gives the flow (rst_stateless); any other scheduler
// or fullnat drops it (drop_rst_no_flow).
struct RstCase {
  const char* name;
  uint8_t sched;
  uint8_t mode;
  bool forwarded;
};
void PrintTo(const RstCase& c, std::ostream* os) { *os << c.name; }
class StateRst : public State, public ::testing::WithParamInterface<RstCase> {};

TEST_P(StateRst, BareRstCreatesNoEntry) {
  const RstCase& c = GetParam();
  uint32_t vip = tcp_vip(c.sched);
  if (c.mode != XLB_MODE_IPIP) {
    set_mode(vip, c.mode);
    set_nat(XLB_CFG_F_NAT, "198.18.0.1", "", 20000, 20999);
  }
  uint16_t sport = 43000;
  for (uint8_t flags : {uint8_t(kTcpRst), uint8_t(kTcpRst | kTcpAck)}) {
    SCOPED_TRACE("flags 0x" + std::to_string(flags));
    Bytes rst = tcp4(++sport, flags);
    RunResult r = run(rst);
    if (c.forwarded) {
      ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
      if (c.mode == XLB_MODE_IPIP) {
        EXPECT_EQ(r.out, expect_encap4(rst, kBe4, 10));
      }
    } else {
      ASSERT_EQ(r.verdict, XDP_DROP) << xdp_verdict_name(r.verdict);
    }
  }
  EXPECT_EQ(flow_count(), 0u);
  EXPECT_TRUE(nat_revs().empty());
  EXPECT_EQ(gstat(XLB_STAT_NEW_FLOW).packets, 0u);
  EXPECT_EQ(gstat(XLB_STAT_FLOW_RESCHEDULED).packets, 0u);
  EXPECT_EQ(gstat(XLB_STAT_RST_STATELESS).packets, c.forwarded ? 2u : 0u);
  EXPECT_EQ(gstat(XLB_STAT_DROP_RST_NO_FLOW).packets, c.forwarded ? 0u : 2u);
  EXPECT_EQ(conns(1).active, 0);
  EXPECT_EQ(conns(1).half_open, 0);

  // A RST of a known flow still closes it on its backend.
  ASSERT_EQ(run(tcp4(43100, kTcpSyn)).verdict, XDP_TX);
  ASSERT_EQ(run(tcp4(43100, kTcpRst)).verdict, XDP_TX);
  xlb_flow f{};
  ASSERT_TRUE(flow(key4(43100), &f));
  EXPECT_EQ(f.state, XLB_FLOW_TCP_RESET);
  EXPECT_EQ(conns(1).active, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Sched, StateRst,
    ::testing::Values(RstCase{"MaglevIpip", XLB_SCHED_MAGLEV, XLB_MODE_IPIP, true},
                      RstCase{"SrcHashIpip", XLB_SCHED_SRC_HASH, XLB_MODE_IPIP, true},
                      RstCase{"MaglevNat", XLB_SCHED_MAGLEV, XLB_MODE_NAT, true},
                      RstCase{"MaglevFullnat", XLB_SCHED_MAGLEV, XLB_MODE_FULLNAT, false},
                      RstCase{"LeastConnIpip", XLB_SCHED_LEAST_CONN, XLB_MODE_IPIP, false},
                      RstCase{"RoundRobinIpip", XLB_SCHED_RR, XLB_MODE_IPIP, false},
                      RstCase{"RandomIpip", XLB_SCHED_RANDOM, XLB_MODE_IPIP, false}),
    [](const ::testing::TestParamInfo<RstCase>& i) { return std::string(i.param.name); });

// ---- a SYN on the entry of a draining or removed backend -------------------

// A SYN on a known tuple is a new connection there; if the entry's backend
// is draining (USED, weight 0) or removed (USED|REMOVED), the SYN is
// scheduled afresh, as in Katran, and the old entry's units go back to the
// old backend exactly once. Other packets of flows on that backend stay.
struct DrainCase {
  const char* name;
  uint8_t sched;
  uint8_t flags;  // backend 1's flags once out of service
};
void PrintTo(const DrainCase& c, std::ostream* os) { *os << c.name; }
class StateDrain : public State, public ::testing::WithParamInterface<DrainCase> {};

TEST_P(StateDrain, SynOnADrainedBackendsEntryIsScheduledAfresh) {
  const DrainCase& c = GetParam();
  uint32_t vip = tcp_vip(c.sched);
  add_backend(2, vip, "198.18.0.11");
  ASSERT_EQ(run(tcp4(44000, kTcpSyn)).verdict, XDP_TX);  // established on 1
  ASSERT_EQ(run(tcp4(44000, kTcpAck)).verdict, XDP_TX);
  ASSERT_EQ(run(tcp4(44001, kTcpSyn)).verdict, XDP_TX);  // half-open on 1
  ASSERT_EQ(run(tcp4(44002, kTcpSyn)).verdict, XDP_TX);  // established on 1, stays
  ASSERT_EQ(run(tcp4(44002, kTcpAck)).verdict, XDP_TX);
  ASSERT_EQ(conns(1).active, 3);
  ASSERT_EQ(conns(1).half_open, 1);

  // Backend 1 leaves; backend 2 takes new flows.
  set_backend_state(1, c.flags, 0);
  set_list(vip, {2});
  fill_ring(vip, 2);

  // The established flow's tuple reused by a new connection.
  Bytes syn = tcp4(44000, kTcpSyn);
  RunResult r = run(syn);
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, expect_encap4(syn, "198.18.0.11", 11)) << "a new connection went to a draining backend";
  xlb_flow f{};
  ASSERT_TRUE(flow(key4(44000), &f));
  EXPECT_EQ(f.backend_id, 2u);
  EXPECT_EQ(f.state, XLB_FLOW_TCP_SYN);
  EXPECT_EQ(f.flags, XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN);
  EXPECT_EQ(conns(1).active, 2) << "the old entry's unit was not returned (or twice)";
  EXPECT_EQ(conns(1).half_open, 1);
  EXPECT_EQ(conns(2).active, 1);
  EXPECT_EQ(conns(2).half_open, 1);
  EXPECT_EQ(gstat(XLB_STAT_SYN_RESCHEDULED).packets, 1u);
  EXPECT_EQ(gstat(XLB_STAT_FLOW_STALE_BACKEND).packets, 0u);

  // Its retransmission stays on the new backend; nothing moves.
  EXPECT_EQ(run(syn).out, expect_encap4(syn, "198.18.0.11", 11));
  EXPECT_EQ(gstat(XLB_STAT_SYN_RESCHEDULED).packets, 1u);
  EXPECT_EQ(conns(1).active, 2);
  EXPECT_EQ(conns(2).active, 1);
  EXPECT_EQ(conns(2).half_open, 1);

  // The half-open flow's SYN retransmitted: both its units go back.
  ASSERT_EQ(run(tcp4(44001, kTcpSyn)).verdict, XDP_TX);
  ASSERT_TRUE(flow(key4(44001), &f));
  EXPECT_EQ(f.backend_id, 2u);
  EXPECT_EQ(conns(1).active, 1);
  EXPECT_EQ(conns(1).half_open, 0);
  EXPECT_EQ(conns(2).active, 2);
  EXPECT_EQ(conns(2).half_open, 2);

  // An open connection's packets stay on the draining backend.
  Bytes data = tcp4(44002, kTcpAck | kTcpPsh, "data");
  EXPECT_EQ(run(data).out, expect_encap4(data, kBe4, 10));
  ASSERT_TRUE(flow(key4(44002), &f));
  EXPECT_EQ(f.backend_id, 1u);
  EXPECT_EQ(conns(1).active, 1);
  EXPECT_EQ(gstat(XLB_STAT_SYN_RESCHEDULED).packets, 2u);
}

INSTANTIATE_TEST_SUITE_P(
    Sched, StateDrain,
    ::testing::Values(DrainCase{"MaglevDraining", XLB_SCHED_MAGLEV, XLB_BACKEND_F_USED},
                      DrainCase{"MaglevRemoved", XLB_SCHED_MAGLEV, XLB_BACKEND_F_USED | XLB_BACKEND_F_REMOVED},
                      DrainCase{"LeastConnDraining", XLB_SCHED_LEAST_CONN, XLB_BACKEND_F_USED},
                      DrainCase{"LeastConnRemoved", XLB_SCHED_LEAST_CONN,
                                XLB_BACKEND_F_USED | XLB_BACKEND_F_REMOVED}),
    [](const ::testing::TestParamInfo<DrainCase>& i) { return std::string(i.param.name); });

// The same in nat mode: the rescheduled SYN gets a reply entry for its new
// backend, and is rewritten to that backend.
TEST_F(State, SynOnADrainedBackendsEntryIsScheduledAfreshInNatMode) {
  uint32_t vip = tcp_vip();
  set_mode(vip, XLB_MODE_NAT);
  set_nat(XLB_CFG_F_NAT);
  add_backend(2, vip, "198.18.0.11");
  ASSERT_EQ(run(tcp4(44000, kTcpSyn)).verdict, XDP_TX);
  ASSERT_EQ(run(tcp4(44000, kTcpAck)).verdict, XDP_TX);
  ASSERT_EQ(conns(1).active, 1);
  set_backend_state(1, XLB_BACKEND_F_USED, 0);
  fill_ring(vip, 2);

  RunResult r = run(tcp4(44000, kTcpSyn));
  ASSERT_EQ(r.verdict, XDP_TX);
  ASSERT_GE(r.out.size(), 34u);
  EXPECT_EQ(r.out[33], 11) << "rewritten to the draining backend";
  xlb_flow f{};
  ASSERT_TRUE(flow(key4(44000), &f));
  EXPECT_EQ(f.backend_id, 2u);
  EXPECT_EQ(f.flags & (XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN | XLB_FLOW_F_NAT),
            XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN | XLB_FLOW_F_NAT);
  bool rev2 = false;
  for (const auto& [k, v] : nat_revs())
    if (v.backend_id == 2 && flow_key_eq(v.fwd, key4(44000))) rev2 = true;
  EXPECT_TRUE(rev2) << "no reply entry for the new backend";
  EXPECT_EQ(conns(1).active, 0);
  EXPECT_EQ(conns(2).active, 1);
  EXPECT_EQ(gstat(XLB_STAT_SYN_RESCHEDULED).packets, 1u);
}

// ---- flow_uncounted --------------------------------------------------------

// A new flow whose backend identity has no count entry (lbd creates them;
// the data path never inserts one) is forwarded but cannot be counted:
// flow_uncounted says so, once per such flow, in every mode. A flow that
// holds no units (opened by a FIN) and flows of a counted backend are not
// "uncounted".
class StateMode : public State, public ::testing::WithParamInterface<uint8_t> {};

TEST_P(StateMode, NewFlowWithoutCountEntryIsCountedAsUncounted) {
  {
    uint8_t mode = GetParam();
    uint32_t vip = tcp_vip();
    if (mode != XLB_MODE_IPIP) {
      set_mode(vip, mode);
      set_nat(XLB_CFG_F_NAT, "198.18.0.1", "", 20000, 20999);
    }
    ASSERT_EQ(run(tcp4(40000, kTcpSyn)).verdict, XDP_TX);
    EXPECT_EQ(gstat(XLB_STAT_FLOW_UNCOUNTED).packets, 0u) << "a counted backend's flow";
    EXPECT_EQ(conns(1).active, 1);

    xlb_backend_key id = identity(1);
    ASSERT_EQ(bpf_map_delete_elem(bpf_map__fd(skel_->maps.xlb_conns), &id), 0);
    ASSERT_EQ(run(tcp4(40001, kTcpSyn)).verdict, XDP_TX);
    EXPECT_EQ(gstat(XLB_STAT_FLOW_UNCOUNTED).packets, 1u);
    EXPECT_EQ(gstat(XLB_STAT_NEW_FLOW).packets, 2u);
    ASSERT_EQ(run(tcp4(40001, kTcpAck)).verdict, XDP_TX);  // a hit: not a new flow
    ASSERT_EQ(run(tcp4(40002, kTcpFin | kTcpAck)).verdict, XDP_TX);  // holds no units
    EXPECT_EQ(gstat(XLB_STAT_FLOW_UNCOUNTED).packets, 1u);
    EXPECT_EQ(gstat(XLB_STAT_NEW_FLOW).packets, 3u);
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, StateMode, ::testing::Values(XLB_MODE_IPIP, XLB_MODE_NAT, XLB_MODE_FULLNAT),
                         [](const ::testing::TestParamInfo<uint8_t>& i) {
                           return std::string(i.param == XLB_MODE_IPIP  ? "Ipip"
                                              : i.param == XLB_MODE_NAT ? "Nat"
                                                                        : "Fullnat");
                         });

}  // namespace
}  // namespace xlb::test
