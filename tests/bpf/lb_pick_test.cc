// `lbctl pick` against the program (issue 14, "every node chooses alike"):
// for 1,000 fixed synthetic 5-tuples (IPv4 and IPv6, tcp and udp), the
// backend the loaded xlb_lb sends a new flow to equals what lbd's pick
// (Balancer::pick: the flow hash of include/xlb/flow_hash.h with the running
// seed, indexed into the installed ring) says, over rings and a seed set up
// by a real Balancer through BpfMapIo, as lbd does.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>

#include <cstring>
#include <map>
#include <memory>

#include "core/balancer.h"
#include "core/config.h"
#include "lb_fixture.h"
#include "lbd/bpf_map_io.h"

namespace xlb::test {
namespace {

const Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0xcc, 0x01};

// Seven backends per family, neighbours 10..16 of the FIB fixture, with
// unequal weights so the ring is not a plain rotation.
const char* const kConfig = R"({"hash_seed": 1592526372, "vips": [
  {"vip": "198.18.100.1:80", "proto": "tcp", "ring_size": 1009, "backends": [
    {"address": "198.18.0.10"}, {"address": "198.18.0.11", "weight": 2}, {"address": "198.18.0.12"},
    {"address": "198.18.0.13", "weight": 3}, {"address": "198.18.0.14"}, {"address": "198.18.0.15"},
    {"address": "198.18.0.16"}]},
  {"vip": "198.18.100.1:53", "proto": "udp", "ring_size": 1009, "backends": [
    {"address": "198.18.0.10"}, {"address": "198.18.0.11"}, {"address": "198.18.0.12"},
    {"address": "198.18.0.13"}, {"address": "198.18.0.14"}, {"address": "198.18.0.15"},
    {"address": "198.18.0.16", "weight": 4}]},
  {"vip": "[fd00:100::1]:80", "proto": "tcp", "ring_size": 1009, "backends": [
    {"address": "fd00:18::10"}, {"address": "fd00:18::11"}, {"address": "fd00:18::12", "weight": 2},
    {"address": "fd00:18::13"}, {"address": "fd00:18::14"}, {"address": "fd00:18::15"},
    {"address": "fd00:18::16"}]},
  {"vip": "[fd00:100::1]:53", "proto": "udp", "ring_size": 1009, "backends": [
    {"address": "fd00:18::10"}, {"address": "fd00:18::11"}, {"address": "fd00:18::12"},
    {"address": "fd00:18::13", "weight": 5}, {"address": "fd00:18::14"}, {"address": "fd00:18::15"},
    {"address": "fd00:18::16"}]}]})";

struct Tuple {
  bool v6;
  uint8_t proto;
  std::string src;
  uint16_t sport;
};

// The n-th synthetic tuple: the four VIPs in turn, sources and ports spread.
Tuple nth_tuple(uint32_t n) {
  Tuple t;
  t.v6 = n % 4 >= 2;
  t.proto = n % 2 ? IPPROTO_UDP : IPPROTO_TCP;
  uint32_t i = n / 4;
  t.src = t.v6 ? "fd00:1::" + std::to_string(i % 97 + 1) + ":" + std::to_string(i / 97 + 1)
               : "198.18." + std::to_string(1 + i % 50) + "." + std::to_string(1 + (i * 7) % 250);
  t.sport = static_cast<uint16_t>(1024 + (n * 2654435761u) % 60000);
  return t;
}

Bytes frame_of(const Tuple& t) {
  Frame f;
  f.eth(kClientMac, kFixtureMac);
  if (t.v6) {
    Ipv6 ip;
    ip.src = t.src;
    ip.dst = "fd00:100::1";
    f.ipv6(ip);
  } else {
    Ipv4 ip;
    ip.src = t.src;
    ip.dst = "198.18.100.1";
    f.ipv4(ip);
  }
  if (t.proto == IPPROTO_TCP) {
    Tcp tcp;
    tcp.sport = t.sport;
    tcp.dport = 80;
    tcp.flags = kTcpSyn;
    f.tcp(tcp);
  } else {
    Udp udp;
    udp.sport = t.sport;
    udp.dport = 53;
    f.udp(udp);
    f.payload("pick");
  }
  return f.build();
}

// The backend an encapsulated frame went to: the outer destination's last
// byte (neighbour N of the fixture is 198.18.0.N / fd00:18::N).
int backend_of(const RunResult& r, bool v6) {
  size_t at = v6 ? 14 + 24 + 15 : 14 + 19;
  if (r.verdict != XDP_TX || r.out.size() <= at) return -1;
  return r.out[at];
}

int last_byte(const IpAddr& a) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(&a.addr);
  return a.is_v4() ? bytes[3] : bytes[15];
}

class PickMatchesProgram : public LbFixture {
 protected:
  PickMatchesProgram() { flow_table_entries_ = 8192; }

  std::unique_ptr<BpfMapIo> open_io() {
    return std::make_unique<BpfMapIo>([this](const char* name) {
      int fd = std::strcmp(name, XLB_CONN_ADJUST_PROG_NAME) == 0
                   ? bpf_program__fd(skel_->progs.xlb_conn_adjust)
                   : bpf_map__fd(bpf_object__find_map_by_name(skel_->obj, name));
      return Fd(dup(fd));
    });
  }
  static EncapDefaults encap() {
    EncapDefaults d;
    d.v4 = IpAddr::parse(kFixtureAddr4);
    d.v6 = IpAddr::parse(kFixtureAddr6);
    return d;
  }
};

TEST_F(PickMatchesProgram, ThousandTuplesPickAlike) {
  Balancer lbd(open_io(), encap());
  lbd.recover();
  lbd.apply(parse_config_text(kConfig));
  ASSERT_EQ(lbd.hash_seed(), 1592526372u);

  std::map<std::string, std::map<int, int>> spread;  // per VIP: backend -> flows
  constexpr uint32_t kTuples = 1000;
  for (uint32_t n = 0; n < kTuples; ++n) {
    Tuple t = nth_tuple(n);
    IpAddr vip = IpAddr::parse(t.v6 ? "fd00:100::1" : "198.18.100.1");
    uint16_t port = t.proto == IPPROTO_TCP ? 80 : 53;
    PickView p = lbd.pick({vip, port, t.proto, IpAddr::parse(t.src), t.sport});
    ASSERT_TRUE(p.stateless);
    ASSERT_TRUE(p.backend) << "tuple " << n << ": empty slot";
    ASSERT_FALSE(p.existing_flow) << "tuple " << n << " repeats an earlier one";
    int want = last_byte(p.backend->address);
    int got = backend_of(run(frame_of(t)), t.v6);
    ASSERT_EQ(got, want) << "tuple " << n << " (" << t.src << ":" << t.sport << " -> " << vip.str() << ":" << port
                         << (t.proto == IPPROTO_TCP ? "/tcp" : "/udp") << "): the program sent it to neighbour "
                         << got << ", pick says " << p.backend->address.str();
    // And pick now reports the flow the program created.
    PickView again = lbd.pick({vip, port, t.proto, IpAddr::parse(t.src), t.sport});
    ASSERT_TRUE(again.existing_flow && again.existing_backend);
    EXPECT_EQ(again.existing_backend->address, p.backend->address);
    spread[vip.str() + (t.proto == IPPROTO_TCP ? "/tcp" : "/udp")][got]++;
  }
  // Every VIP's tuples reached every one of its backends: the match is not
  // the trivial one of a ring with one backend.
  ASSERT_EQ(spread.size(), 4u);
  for (const auto& [vip, backends] : spread) EXPECT_EQ(backends.size(), 7u) << vip;
}

// src-hash: the client address's hash indexes the ring, whatever its
// ports; 200 tuples from 40 clients.
TEST_F(PickMatchesProgram, SrcHashPicksAlike) {
  Balancer lbd(open_io(), encap());
  lbd.recover();
  lbd.apply(parse_config_text(R"({"hash_seed": 7, "vips": [
    {"vip": "198.18.100.1:80", "proto": "tcp", "sched": "src-hash", "ring_size": 1009, "backends": [
      {"address": "198.18.0.10"}, {"address": "198.18.0.11"}, {"address": "198.18.0.12"},
      {"address": "198.18.0.13"}, {"address": "198.18.0.14"}]}]})"));
  std::map<int, int> spread;
  for (uint32_t n = 0; n < 200; ++n) {
    Tuple t{false, IPPROTO_TCP, "198.18.2." + std::to_string(1 + n % 40), static_cast<uint16_t>(20000 + n)};
    PickView p = lbd.pick({IpAddr::parse("198.18.100.1"), 80, t.proto, IpAddr::parse(t.src), t.sport});
    ASSERT_TRUE(p.stateless && p.backend);
    int got = backend_of(run(frame_of(t)), false);
    ASSERT_EQ(got, last_byte(p.backend->address)) << "tuple " << n << " from " << t.src << ":" << t.sport;
    spread[got]++;
  }
  EXPECT_EQ(spread.size(), 5u);
}

}  // namespace
}  // namespace xlb::test
