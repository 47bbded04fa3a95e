// Per-flow entropy in the outer header of ipip encapsulation (issue 10 §4):
// the IPv6 flow label from the flow hash, and the outer source varying
// inside the configured prefix by the client's address and port (a /32 or
// /128 is one fixed source). Expected values come from the reference model
// in encap_ref.cc; whole frames are compared byte for byte.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <cstring>
#include <set>

#include "encap_ref.h"
#include "lb_fixture.h"

namespace xlb::test {
namespace {

const Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0xcc, 0x02};
constexpr const char* kBe4 = "198.18.0.10";
constexpr const char* kBe6 = "fd00:18::10";
constexpr const char* kVip4 = "198.18.100.1";
constexpr const char* kVip6 = "fd00:100::1";

Bytes tcp_frame(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport) {
  Tcp tcp;
  tcp.sport = sport;
  tcp.dport = dport;
  tcp.flags = kTcpSyn;
  Frame f;
  f.eth(kClientMac, kFixtureMac);
  if (src.find(':') == std::string::npos) {
    Ipv4 ip;
    ip.src = src;
    ip.dst = dst;
    f.ipv4(ip);
  } else {
    Ipv6 ip;
    ip.src = src;
    ip.dst = dst;
    f.ipv6(ip);
  }
  return f.tcp(tcp).payload("x").build();
}

uint32_t host_order(const std::string& v4) {
  in_addr a{};
  inet_pton(AF_INET, v4.c_str(), &a);
  return ntohl(a.s_addr);
}

std::string v4_str(uint32_t host) {
  in_addr a{htonl(host)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

class EncapEntropy : public LbFixture {
 protected:
  void set_seed(uint32_t seed) {
    int fd = bpf_map__fd(skel_->maps.xlb_config);
    uint32_t zero = 0;
    xlb_config cfg;
    ASSERT_EQ(bpf_map_lookup_elem(fd, &zero, &cfg), 0);
    cfg.hash_seed = seed;
    ASSERT_EQ(bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY), 0);
  }
  // The outer IPv6 header's flow label (20 bits) of an encapsulated frame.
  static uint32_t label_of(const Bytes& out) {
    return (uint32_t(out[14 + 1] & 0xf) << 16) | (uint32_t(out[14 + 2]) << 8) | out[14 + 3];
  }
};

// Every flow to an IPv6 backend carries the top 20 bits of its flow hash
// (under the configured seed) as the outer flow label, never 0; the whole
// frame is otherwise as before. IPv6 and IPv4 clients alike.
TEST_F(EncapEntropy, Ipv6FlowLabelIsTheFlowHash) {
  set_seed(0x5eed1234);
  uint32_t vip6 = add_vip(kVip6, 80, IPPROTO_TCP);
  uint32_t vip4 = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip6, kBe6);
  add_backend(2, vip4, kBe6);  // IPv4-in-IPv6
  fill_ring(vip6, 1);
  fill_ring(vip4, 2);
  std::set<uint32_t> labels;
  for (uint16_t port = 41000; port < 41032; port++) {
    for (bool v6 : {true, false}) {
      SCOPED_TRACE(std::string(v6 ? "IPv6" : "IPv4") + " client port " + std::to_string(port));
      Bytes in = v6 ? tcp_frame("fd00:1::5", port, kVip6, 80) : tcp_frame("198.18.1.5", port, kVip4, 80);
      RunResult r = run(in);
      ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
      uint32_t want_label = ref_flow_label(client_key_of(in), 0x5eed1234);
      EXPECT_EQ(label_of(r.out), want_label);
      EXPECT_NE(label_of(r.out), 0u);
      Bytes want = expect_encap6(in, kBe6, 10);
      EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
      labels.insert(label_of(r.out));
      // The flow's next packet: the same label (one path, one queue).
      RunResult again = run(in);
      ASSERT_EQ(again.verdict, XDP_TX);
      EXPECT_EQ(label_of(again.out), want_label);
    }
  }
  // 64 flows, 2^20 labels: a collision is possible but more than a few is not.
  EXPECT_GE(labels.size(), 60u);
}

// A flow's entry keeps its label (xlb_flow.label), so its packets do not
// hash the tuple again: the label in the entry is the one sent, and an entry
// without one (0: made by a build before the field) gets the flow hash's
// label, the same value the entry would have kept.
TEST_F(EncapEntropy, TheFlowEntryKeepsTheLabel) {
  set_seed(0x5eed1234);
  uint32_t vip = add_vip(kVip6, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe6);
  fill_ring(vip, 1);
  Bytes in = tcp_frame("fd00:1::7", 41100, kVip6, 80);
  ASSERT_EQ(run(in).verdict, XDP_TX);
  int fd = bpf_map__fd(skel_->maps.xlb_flows);
  xlb_flow_key key = client_key_of(in);
  xlb_flow entry{};
  ASSERT_TRUE(flow(key, &entry));
  uint32_t want = ref_flow_label(key, 0x5eed1234);
  EXPECT_EQ(entry.label, want);

  // What the entry says is what goes out: not hashed per packet.
  entry.label = want ^ 0x5a5a5;
  ASSERT_EQ(bpf_map_update_elem(fd, &key, &entry, BPF_EXIST), 0);
  RunResult r = run(in);
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(label_of(r.out), want ^ 0x5a5a5);

  // An entry without a label: hashed, the same label as before.
  entry.label = 0;
  ASSERT_EQ(bpf_map_update_elem(fd, &key, &entry, BPF_EXIST), 0);
  r = run(in);
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(label_of(r.out), want);
  Bytes expected = expect_encap6(in, kBe6, 10);
  EXPECT_EQ(r.out, expected) << hexdump_diff(expected, r.out);

  // An IPv4 backend's flow keeps none.
  uint32_t vip4 = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(2, vip4, kBe4);
  fill_ring(vip4, 2);
  Bytes in4 = tcp_frame("198.18.1.7", 41100, kVip4, 80);
  ASSERT_EQ(run(in4).verdict, XDP_TX);
  xlb_flow_key key4 = client_key_of(in4);
  ASSERT_TRUE(flow(key4, &entry));
  EXPECT_EQ(entry.label, 0u);
}

// The traffic class survives next to the label: TOS 0xb8 (EF) in, the
// label's top nibble shares a byte with it.
TEST_F(EncapEntropy, FlowLabelLeavesTheTrafficClassAlone) {
  uint32_t vip = add_vip(kVip6, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe6);
  fill_ring(vip, 1);
  Ipv6 ip;
  ip.src = "fd00:1::9";
  ip.dst = kVip6;
  ip.tclass = 0xb9;  // DSCP EF + ECT(1)
  Tcp tcp;
  tcp.sport = 42001;
  Bytes in = Frame().eth(kClientMac, kFixtureMac).ipv6(ip).tcp(tcp).build();
  RunResult r = run(in);
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes want = expect_encap6(in, kBe6, 10);
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  EXPECT_EQ(((r.out[14] & 0xf) << 4) | (r.out[15] >> 4), 0xb9);
}

// With a prefix (172.16.0.0/16, lbd's default), the outer IPv4 source is the
// prefix with host bits from the client's address and port: exactly the
// reference's, spread over the prefix, the same for all of a client
// address+port's flows whatever the VIP port, and the frame otherwise as
// with a fixed source.
TEST_F(EncapEntropy, Ipv4SourceVariesInThePrefixByClientAddressAndPort) {
  set_config("172.16.0.0", 16, "fd00:18::1", 128);
  uint32_t vip80 = add_vip(kVip4, 80, IPPROTO_TCP);
  uint32_t vip81 = add_vip(kVip4, 81, IPPROTO_TCP);
  add_backend(1, vip80, kBe4);
  add_backend(2, vip81, kBe4);
  fill_ring(vip80, 1);
  fill_ring(vip81, 2);
  const uint32_t prefix = host_order("172.16.0.0");
  std::set<uint32_t> sources;
  for (int i = 0; i < 64; i++) {
    std::string client = "198.18." + std::to_string(1 + i % 4) + "." + std::to_string(1 + i);
    uint16_t port = static_cast<uint16_t>(43000 + 7 * i);
    SCOPED_TRACE(client + ":" + std::to_string(port));
    Bytes in = tcp_frame(client, port, kVip4, 80);
    RunResult r = run(in);
    ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    uint32_t want_src = ref_outer_src_v4(client_key_of(in), prefix, 16);
    Bytes want = encap_ipv4(in, v4_str(want_src), kBe4);
    set_macs(want, fixture_neigh_mac(10), kFixtureMac);
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    EXPECT_TRUE(ipv4_header_checksum_ok(r.out));
    EXPECT_EQ(want_src >> 16, prefix >> 16);
    sources.insert(want_src);
    // Another VIP port, same client address and port: same source.
    RunResult other = run(tcp_frame(client, port, kVip4, 81));
    ASSERT_EQ(other.verdict, XDP_TX);
    EXPECT_TRUE(std::equal(other.out.begin() + 26, other.out.begin() + 30, r.out.begin() + 26));
  }
  EXPECT_GE(sources.size(), 60u) << "64 clients over 65536 sources";
}

// A longer prefix keeps its network bits and varies only the rest.
TEST_F(EncapEntropy, Ipv4PrefixBitsAreKept) {
  set_config("198.18.64.128", 25, "fd00:18::1", 128);
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe4);
  fill_ring(vip, 1);
  std::set<uint8_t> hosts;
  for (uint16_t port = 44000; port < 44064; port++) {
    Bytes in = tcp_frame("198.18.1.1", port, kVip4, 80);
    RunResult r = run(in);
    ASSERT_EQ(r.verdict, XDP_TX);
    EXPECT_EQ(r.out[26], 198);
    EXPECT_EQ(r.out[27], 18);
    EXPECT_EQ(r.out[28], 64);
    EXPECT_GE(r.out[29], 128);
    EXPECT_EQ(uint32_t(r.out[29]), ref_outer_src_v4(client_key_of(in), host_order("198.18.64.128"), 25) & 0xff);
    hosts.insert(r.out[29]);
  }
  EXPECT_GE(hosts.size(), 32u) << "64 flows over 128 sources";
}

// A /32 turns the variation off: every flow leaves from the one address.
TEST_F(EncapEntropy, Ipv4SlashThirtyTwoIsOneSource) {
  set_config("198.18.0.1", 32, "fd00:18::1", 128);
  uint32_t vip = add_vip(kVip4, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe4);
  fill_ring(vip, 1);
  for (uint16_t port = 45000; port < 45016; port++) {
    Bytes in = tcp_frame("198.18.1.1", port, kVip4, 80);
    RunResult r = run(in);
    ASSERT_EQ(r.verdict, XDP_TX);
    EXPECT_EQ(r.out, expect_encap4(in, kBe4, 10));
  }
}

// IPv6 source prefixes vary the last 32 bits at most: a /64 all of them, a
// /120 the last 8; the flow label is set either way.
TEST_F(EncapEntropy, Ipv6SourcePrefixVariesTheLowBits) {
  uint32_t vip = add_vip(kVip6, 80, IPPROTO_TCP);
  add_backend(1, vip, kBe6);
  fill_ring(vip, 1);
  for (uint8_t plen : {64, 120}) {
    set_config("198.18.0.1", 32, "fd00:18::", plen);
    for (uint16_t port = 46000; port < 46008; port++) {
      SCOPED_TRACE("/" + std::to_string(plen) + " port " + std::to_string(port));
      Bytes in = tcp_frame("fd00:1::7", port, kVip6, 80);
      RunResult r = run(in);
      ASSERT_EQ(r.verdict, XDP_TX);
      uint32_t bits = ref_src_bits(client_key_of(in));
      uint32_t low = plen == 64 ? bits : (0x00 | (bits >> 24));  // fd00:18:: has zero low bits
      uint8_t want_src[16] = {0xfd, 0x00, 0x00, 0x18};
      want_src[12] = uint8_t(low >> 24);
      want_src[13] = uint8_t(low >> 16);
      want_src[14] = uint8_t(low >> 8);
      want_src[15] = uint8_t(low);
      EXPECT_EQ(std::memcmp(&r.out[14 + 8], want_src, 16), 0) << hexdump(r.out);
      EXPECT_EQ(label_of(r.out), ref_flow_label(client_key_of(in), 0));
    }
  }
}

}  // namespace
}  // namespace xlb::test
