// Known-answer tests of the test kit itself (packet.h, prog_run.h), so a
// failing packet test points at the program under test, not at the builder.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "kit/packet.h"
#include "bpf_test.h"

namespace xlb::test {
namespace {

TEST(PacketKit, Rfc1071Example) {
  // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(csum_fold(b, sizeof b), 0xddf2);
  EXPECT_EQ(inet_checksum(b, sizeof b), 0x220d);
}

TEST(PacketKit, Ipv4HeaderKnownAnswer) {
  // The classic example header 192.168.0.1 -> 192.168.0.199, UDP, DF,
  // total length 0x73: checksum b861.
  Ipv4 h;
  h.src = "192.168.0.1";
  h.dst = "192.168.0.199";
  h.df = true;
  h.proto = 17;
  h.total_len = 0x73;
  Bytes f = Frame().ipv4(h).payload(Bytes{}).build();
  ASSERT_EQ(f.size(), 20u);
  EXPECT_EQ(f[10], 0xb8);
  EXPECT_EQ(f[11], 0x61);
}

TEST(PacketKit, TcpUdpChecksumsVerify) {
  for (bool v6 : {false, true}) {
    for (bool tcp : {false, true}) {
      Frame fr;
      fr.eth();
      if (v6)
        fr.ipv6();
      else
        fr.ipv4();
      if (tcp)
        fr.tcp();
      else
        fr.udp();
      Bytes f = fr.payload("odd-length payload!").build();
      EXPECT_TRUE(l4_checksum_ok(f)) << "v6=" << v6 << " tcp=" << tcp << "\n" << hexdump(f);
      if (!v6) {
        EXPECT_TRUE(ipv4_header_checksum_ok(f));
      }
      f.back() ^= 0x01;
      EXPECT_FALSE(l4_checksum_ok(f)) << "v6=" << v6 << " tcp=" << tcp;
    }
  }
}

TEST(PacketKit, UdpKnownAnswer) {
  // UDP 10.0.0.1:1 -> 10.0.0.2:2, payload "ab". Pseudo header + header +
  // data summed by hand: 0a00+0001+0a00+0002+0011+000a + 0001+0002+000a + 6162
  // = 0x758d -> checksum ~ = 0x8a72.
  Ipv4 ip;
  ip.src = "10.0.0.1";
  ip.dst = "10.0.0.2";
  Udp udp;
  udp.sport = 1;
  udp.dport = 2;
  Bytes f = Frame().ipv4(ip).udp(udp).payload("ab").build();
  ASSERT_EQ(f.size(), 30u);
  EXPECT_EQ(f[26], 0x8a);
  EXPECT_EQ(f[27], 0x72);
}

TEST(PacketKit, VlanAndOptionsLayout) {
  Ipv4 h;
  h.options = {0x01, 0x01, 0x01};  // 3 NOPs, padded to 4
  Bytes f = Frame().eth().vlan(0x0064).ipv4(h).udp().build();
  EXPECT_EQ(l2_header_len(f), 18u);
  EXPECT_EQ(l2_ethertype(f), 0x0800);
  EXPECT_EQ(f[12], 0x81);
  EXPECT_EQ(f[13], 0x00);
  EXPECT_EQ(f[18], 0x46);  // IHL 6
  EXPECT_EQ(f.size(), 18u + 24 + 8);
  EXPECT_TRUE(ipv4_header_checksum_ok(f));
  EXPECT_TRUE(l4_checksum_ok(f));
}

TEST(PacketKit, EncapIpv4Fields) {
  Ipv4 inner;
  inner.tos = 0xb8;
  Bytes in = Frame().eth().ipv4(inner).tcp().payload("x").build();
  Bytes e = encap_ipv4(in, "198.18.0.1", "198.18.0.10");
  ASSERT_EQ(e.size(), in.size() + 20);
  const uint8_t* o = &e[14];
  EXPECT_EQ(o[0], 0x45);
  EXPECT_EQ(o[1], 0xb8);                               // tos copied
  EXPECT_EQ((o[2] << 8) | o[3], int(in.size() - 14 + 20));  // total length
  EXPECT_EQ((o[4] << 8) | o[5], 0);                    // id 0
  EXPECT_EQ((o[6] << 8) | o[7], 0x4000);               // DF
  EXPECT_EQ(o[8], 64);                                 // ttl
  EXPECT_EQ(o[9], 4);                                  // IPIP
  EXPECT_TRUE(ipv4_header_checksum_ok(e));
  EXPECT_TRUE(l4_checksum_ok(e));  // descends into the inner packet
  EXPECT_EQ(Bytes(e.begin() + 34, e.end()), Bytes(in.begin() + 14, in.end()));
}

TEST(PacketKit, EncapIpv6Fields) {
  Ipv6 inner;
  inner.tclass = 0x2e;
  Bytes in6 = Frame().eth().vlan(7).ipv6(inner).udp().build();
  Bytes e = encap_ipv6(in6, "fd00:18::1", "fd00:18::10");
  ASSERT_EQ(e.size(), in6.size() + 40);
  EXPECT_EQ(l2_ethertype(e), 0x86dd);
  const uint8_t* o = &e[18];
  EXPECT_EQ(o[0], 0x62);  // version 6, tc high nibble 2
  EXPECT_EQ(o[1], 0xe0);  // tc low nibble e, flow label 0
  EXPECT_EQ(o[2], 0);
  EXPECT_EQ(o[3], 0);
  EXPECT_EQ((o[4] << 8) | o[5], int(in6.size() - 18));
  EXPECT_EQ(o[6], 41);
  EXPECT_EQ(o[7], 64);
  EXPECT_TRUE(l4_checksum_ok(e));

  Ipv4 inner4;
  inner4.tos = 0x10;
  Bytes in4 = Frame().eth().ipv4(inner4).tcp().build();
  Bytes e4 = encap_ipv6(in4, "fd00:18::1", "fd00:18::10");
  EXPECT_EQ(e4[14 + 6], 4);
  EXPECT_EQ(e4[14], 0x61);
  EXPECT_EQ(e4[15], 0x00);
  EXPECT_TRUE(l4_checksum_ok(e4));
}

TEST(PacketKit, IcmpKnownAnswers) {
  // Echo request, identifier 1, sequence 1, no data: ~(0800 + 0001 + 0001) = f7fd.
  Bytes echo = icmp4_message(8, 0, 0x00010001, {});
  ASSERT_EQ(echo.size(), 8u);
  EXPECT_EQ(echo[2], 0xf7);
  EXPECT_EQ(echo[3], 0xfd);

  // ICMPv6 echo request ::1 -> ::1, identifier 1, sequence 1: pseudo-header
  // 0001 + 0001 + 0008 (length) + 003a (next header), message 8000 + 0001 +
  // 0001; sum 0x8046 -> checksum 7fb9.
  Bytes echo6 = icmp6_message(128, 0, 0x00010001, {}, "::1", "::1");
  EXPECT_EQ(echo6[2], 0x7f);
  EXPECT_EQ(echo6[3], 0xb9);
}

TEST(PacketKit, IcmpChecksAndQuote) {
  Bytes quoted = Frame().ipv4().tcp().payload("abc").build();
  Ipv4 outer;
  outer.proto = 1;
  Bytes f = Frame().eth().ipv4(outer).payload(icmp4_message(3, 4, 1400, quoted)).build();
  EXPECT_TRUE(icmp_checksum_ok(f));
  Bytes q = icmp_quoted_frame(f);
  ASSERT_EQ(q.size(), 14 + quoted.size());
  EXPECT_EQ(Bytes(q.begin() + 14, q.end()), quoted);
  EXPECT_TRUE(ipv4_header_checksum_ok(q));
  EXPECT_TRUE(l4_checksum_ok(q));
  f.back() ^= 0x40;
  EXPECT_FALSE(icmp_checksum_ok(f));

  Bytes quoted6 = Frame().ipv6().udp().payload("abc").build();
  Ipv6 outer6;
  outer6.next_header = 58;
  Bytes f6 = Frame().eth().ipv6(outer6).payload(icmp6_message(2, 0, 1280, quoted6, outer6.src, outer6.dst)).build();
  EXPECT_TRUE(icmp_checksum_ok(f6));
  EXPECT_TRUE(l4_checksum_ok(icmp_quoted_frame(f6)));
  f6[14 + 8 + 15] ^= 0x01;  // the outer source: covered by the pseudo-header
  EXPECT_FALSE(icmp_checksum_ok(f6));
  EXPECT_FALSE(icmp_checksum_ok(Frame().eth().ipv4().tcp().build()));
}

TEST(PacketKit, HexdumpDiffMarksDifferences) {
  Bytes a = {1, 2, 3, 4};
  Bytes b = {1, 2, 9, 4, 5};
  std::string d = hexdump_diff(a, b);
  EXPECT_NE(d.find("first difference at offset 2"), std::string::npos) << d;
  EXPECT_NE(d.find("^^"), std::string::npos) << d;
  EXPECT_NE(hexdump_diff(a, a).find("equal"), std::string::npos);
}

TEST(ProgRun, TrivialProgramAndFixture) {
  XLB_REQUIRE_BPF();
  struct bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_TX},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xlb_t", "GPL", insns, 2, nullptr);
  ASSERT_GE(fd, 0);
  Bytes in = Frame().eth().ipv4().udp().build();
  RunResult r = run_xdp(fd, in);
  EXPECT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict) << " err " << r.error;
  EXPECT_EQ(r.out, in) << hexdump_diff(in, r.out);

  {
    TestNetns ns;
    ASSERT_TRUE(ns.ok()) << ns.why();
    std::string why;
    int ifindex = setup_fib_fixture(&why);
    ASSERT_GT(ifindex, 0) << why;
    EXPECT_EQ(setup_fib_fixture(), ifindex);  // idempotent
    std::string out;
    EXPECT_EQ(run_cmd("ip neigh show 198.18.0.10 dev xlbt0", &out), 0);
    EXPECT_NE(out.find("02:00:00:00:00:0a"), std::string::npos) << out;
    EXPECT_NE(out.find("PERMANENT"), std::string::npos) << out;
    out.clear();
    run_cmd("ip -6 neigh show fd00:18::10 dev xlbt0", &out);
    EXPECT_NE(out.find("02:00:00:00:00:0a"), std::string::npos) << out;
    r = run_xdp(fd, in, ifindex);
    EXPECT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict) << " err " << r.error;
  }
  // Back in the previous namespace: the fixture is gone with the test's one.
  EXPECT_EQ(if_nametoindex("xlbt0"), 0u);
  close(fd);
}

}  // namespace
}  // namespace xlb::test
