// Packet tests of IPv6 extension headers (bpf/lib/parse.h,
// xlb_ipv6_skip_ext): TCP and UDP behind hop-by-hop, routing (no segments
// left) and destination-options headers are balanced in every mode, with
// the L4 header beyond offset 127; a chain the parser refuses is dropped for
// a VIP address and passes for any other.
//
// Frames with extension headers are the kit's frames with the headers
// inserted after the fixed IPv6 header: the TCP/UDP checksum does not cover
// them (the pseudo-header has the final destination, unchanged without
// segments left), so the kit's checksums stay right.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <vector>

#include "encap_ref.h"
#include "nat_fixture.h"

namespace xlb::test::nat {
namespace {

constexpr uint8_t kHopByHop = 0, kRouting = 43, kDstOpts = 60, kFragment = 44;

struct Ext {
  uint8_t type;
  uint8_t hdrlen;            // in 8-byte units beyond the first 8
  uint8_t segments_left = 0; // routing header only
};

// frame (Ethernet + IPv6) with exts inserted after the fixed IPv6 header.
// Options headers carry one PadN option filling them; routing headers are
// type 0 with the given segments left and zeros after.
Bytes with_ext(const Bytes& frame, const std::vector<Ext>& exts) {
  size_t l3 = l2_header_len(frame);
  uint8_t upper = frame[l3 + 6];
  Bytes ext;
  for (size_t i = 0; i < exts.size(); i++) {
    size_t len = (exts[i].hdrlen + 1u) * 8u;
    Bytes h(len, 0);
    h[0] = i + 1 < exts.size() ? exts[i + 1].type : upper;
    h[1] = exts[i].hdrlen;
    if (exts[i].type == kRouting) {
      h[3] = exts[i].segments_left;
    } else {
      h[2] = 1;  // PadN
      h[3] = static_cast<uint8_t>(len - 4);
    }
    ext.insert(ext.end(), h.begin(), h.end());
  }
  Bytes out(frame.begin(), frame.begin() + l3 + 40);
  out[l3 + 6] = exts[0].type;
  size_t payload_len = ((out[l3 + 4] << 8) | out[l3 + 5]) + ext.size();
  out[l3 + 4] = static_cast<uint8_t>(payload_len >> 8);
  out[l3 + 5] = static_cast<uint8_t>(payload_len);
  out.insert(out.end(), ext.begin(), ext.end());
  out.insert(out.end(), frame.begin() + l3 + 40, frame.end());
  return out;
}

// 8 + 80 + 8 bytes: the L4 header lands at 14 + 40 + 96 = 150, beyond the
// 0x7f that nat.h once masked offsets with.
const std::vector<Ext> kLongChain = {{kHopByHop, 0}, {kDstOpts, 9}, {kRouting, 0, 0}};

class Ipv6Ext : public NatFixture {};

TEST_F(Ipv6Ext, TcpAndUdpBehindExtensionHeadersAreBalancedInEveryMode) {
  nat_config();
  struct Mode {
    const char* name;
    uint8_t mode;
  } modes[] = {{"ipip", XLB_MODE_IPIP}, {"nat", XLB_MODE_NAT}, {"fullnat", XLB_MODE_FULLNAT},
               {"l2dsr", XLB_MODE_L2DSR}};
  uint32_t id = 0;
  for (const auto& m : modes) {
    for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}}) {
      SCOPED_TRACE(std::string(m.name) + " " + proto_name(proto));
      uint16_t vport = 80 + id;
      vip_with_backend(kV6.vip, vport, proto, m.mode, ++id, kV6.backend, 0);
      Pkt in = client_packet(kV6, 40000 + id, vport, proto);
      Bytes b = with_ext(build(in), kLongChain);
      RunResult r = run(b);
      ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);

      Bytes want;
      switch (m.mode) {
        case XLB_MODE_IPIP: {
          want = expect_encap6(b, kV6.backend, 10);
          // The outer flow label comes from the 5-tuple, whose ports the
          // reference model reads right after the fixed header: take the
          // label (outer IPv6 bytes 1..3; the traffic class part is the
          // same) from the frame without extension headers.
          Bytes plain = expect_encap6(build(in), kV6.backend, 10);
          std::copy(plain.begin() + 15, plain.begin() + 18, want.begin() + 15);
          break;
        }
        case XLB_MODE_NAT:
          want = with_ext(build(rewritten(in, kV6.client, in.sport, kV6.backend, vport, 10)), kLongChain);
          break;
        case XLB_MODE_FULLNAT:
          ASSERT_NE(port_of(in), 0);
          want = with_ext(build(rewritten(in, kV6.snat, port_of(in), kV6.backend, vport, 10)), kLongChain);
          break;
        default:
          want = b;
          set_macs(want, fixture_neigh_mac(10), kFixtureMac);
      }
      EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    }
  }
  EXPECT_EQ(gstat(XLB_STAT_NEW_FLOW).packets, id);
  EXPECT_EQ(gstat(XLB_STAT_PASS_OTHER_L4).packets, 0u);
}

// The reply of a nat flow behind extension headers finds its flow too.
TEST_F(Ipv6Ext, NatReplyBehindExtensionHeadersIsTranslated) {
  nat_config();
  vip_with_backend(kV6.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 1, kV6.backend, 0);
  Pkt in = client_packet(kV6);
  ASSERT_EQ(run(build(in)).verdict, XDP_TX);

  Pkt reply = rewritten(in, kV6.backend, 80, kV6.client, in.sport, 0);
  reply.smac = kPeerMac;
  reply.dmac = kFixtureMac;
  reply.flags = kTcpSyn | kTcpAck;
  RunResult r = run(with_ext(build(reply), {{kDstOpts, 12}}));
  ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
  // To the client (behind the gateway, neighbour 2), from the VIP.
  Bytes want = with_ext(build(rewritten(reply, kV6.vip, 80, kV6.client, in.sport, 2)), {{kDstOpts, 12}});
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  EXPECT_EQ(gstat(XLB_STAT_NAT_REPLY).packets, 1u);
}

TEST_F(Ipv6Ext, RefusedChainsAreDroppedForAVipAndPassOtherwise) {
  vip_with_backend(kV6.vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, 1, kV6.backend, 0);
  struct Case {
    const char* description;
    std::vector<Ext> exts;
  } cases[] = {
      {"five extension headers", {{kHopByHop, 0}, {kDstOpts, 0}, {kRouting, 0}, {kDstOpts, 0}, {kDstOpts, 0}}},
      {"routing header with segments left", {{kRouting, 2, 1}}},
      {"chain longer than 256 bytes", {{kHopByHop, 0}, {kDstOpts, 32}}},
  };
  for (const auto& c : cases) {
    for (const char* dst : {kV6.vip, "fd00:18::1"}) {
      bool vip = std::string(dst) == kV6.vip;
      SCOPED_TRACE(std::string(c.description) + (vip ? " to the VIP" : " to no VIP"));
      Pkt in = client_packet(kV6);
      in.dst = dst;
      Bytes b = with_ext(build(in), c.exts);
      xlb_counter drops = gstat(XLB_STAT_DROP_BAD_EXTHDR), malformed = gstat(XLB_STAT_PASS_MALFORMED);
      RunResult r = run(b);
      if (vip) {
        EXPECT_EQ(r.verdict, XDP_DROP) << xdp_verdict_name(r.verdict);
        EXPECT_EQ(gstat(XLB_STAT_DROP_BAD_EXTHDR).packets, drops.packets + 1);
      } else {
        EXPECT_EQ(r.verdict, XDP_PASS) << xdp_verdict_name(r.verdict);
        EXPECT_EQ(r.out, b) << hexdump_diff(b, r.out);
        EXPECT_EQ(gstat(XLB_STAT_PASS_MALFORMED).packets, malformed.packets + 1);
      }
    }
  }
  // Truncated: the last header claims more than the packet holds.
  Pkt in = client_packet(kV6);
  Bytes b = with_ext(build(in), {{kDstOpts, 0}});
  size_t l3 = l2_header_len(b);
  b[l3 + 40 + 1] = 30;  // 248 bytes claimed
  RunResult r = run(b);
  EXPECT_EQ(r.verdict, XDP_DROP) << xdp_verdict_name(r.verdict);
  EXPECT_EQ(flow_count(), 0u);
}

// The fragment header is found behind the others: a first fragment (offset
// 0, M set) has its ports read after it and is balanced, and a later one
// (offset 256) follows it to its backend (frag.h; lb_frag_test.cc has the
// rest). An atomic fragment (offset 0, M clear) is a whole packet (RFC 6946).
TEST_F(Ipv6Ext, FragmentHeaderBehindOthersIsFound) {
  vip_with_backend(kV6.vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, 1, kV6.backend, 0);
  Pkt in = client_packet(kV6);
  Bytes b = with_ext(build(in), {{kHopByHop, 0}, {kFragment, 0}});
  size_t frag = l2_header_len(b) + 40 + 8;
  auto set_frag = [&](Bytes& f, uint16_t off_m, uint32_t id) {
    f[frag + 2] = off_m >> 8;
    f[frag + 3] = off_m & 0xff;
    f[frag + 4] = id >> 24;
    f[frag + 5] = id >> 16;
    f[frag + 6] = id >> 8;
    f[frag + 7] = id;
  };
  Bytes first = b;
  set_frag(first, 0x0001, 77);
  Bytes later = b;
  set_frag(later, 0x0100, 77);  // offset 256, M clear: the last fragment
  Bytes atomic = b;
  set_frag(atomic, 0, 78);
  for (const Bytes* f : {&first, &later, &atomic}) {
    RunResult r = run(*f);
    ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    Bytes want = encap_ipv6(*f, kFixtureAddr6, kV6.backend);
    xlb_config cfg{};
    uint32_t zero = 0;
    ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_config), &zero, &cfg), 0);
    set_outer_flow_label(want, ref_flow_label(flow_key(kV6.client, in.sport, kV6.vip, 80, IPPROTO_TCP),
                                              cfg.hash_seed));
    set_macs(want, fixture_neigh_mac(10), kFixtureMac);
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  }
  EXPECT_EQ(gstat(XLB_STAT_FRAG_FIRST).packets, 1u);
  EXPECT_EQ(gstat(XLB_STAT_FRAG_FORWARDED).packets, 1u);
  EXPECT_EQ(gstat(XLB_STAT_FLOW_HIT).packets, 1u);  // the atomic fragment
  EXPECT_EQ(gstat(XLB_STAT_PASS_FRAGMENT).packets, 0u);
  // The fragment header cut short is a truncated chain.
  Bytes cut = b;
  cut.resize(frag + 4);
  size_t l3 = l2_header_len(cut);
  cut[l3 + 4] = 0;
  cut[l3 + 5] = 8 + 4;
  RunResult r = run(cut);
  EXPECT_EQ(r.verdict, XDP_DROP) << xdp_verdict_name(r.verdict);
  EXPECT_EQ(gstat(XLB_STAT_DROP_BAD_EXTHDR).packets, 1u);
}

}  // namespace
}  // namespace xlb::test::nat
