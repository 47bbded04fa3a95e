// Regressions found by the packet fuzzer (fuzz_test.cc), each as an exact
// frame in and the exact verdict, bytes and counter out.
#include <netinet/in.h>

#include "nat_fixture.h"

namespace xlb::test::nat {
namespace {

class FuzzRegress : public NatFixture {};

// A TCP or UDP header that lies in the frame but not inside the IP packet
// (the IP length ends before it; the rest is Ethernet padding) is no header:
// the packet is malformed and passes untouched, with no flow. The fuzzer's
// first find: the lb parsed ports from the padding, encapsulated the
// truncated packet for the backend, and in nat modes rewrote ports and
// checksum inside the padding.
TEST_F(FuzzRegress, L4HeaderBeyondTheIpLengthIsMalformed) {
  nat_config();
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_IPIP, 1, kV4.backend, 0);
  vip_with_backend(kV6.vip, 53, IPPROTO_UDP, XLB_MODE_FULLNAT, 2, kV6.backend, 0);

  // IPv4 total length 36: 16 bytes of the 20-byte TCP header are inside.
  Bytes tcp4 = build(client_packet(kV4, 40000, 80));
  tcp4[14 + 2] = 0;
  tcp4[14 + 3] = 36;
  tcp4[14 + 10] = tcp4[14 + 11] = 0;
  uint16_t sum = inet_checksum(&tcp4[14], 20);
  tcp4[14 + 10] = uint8_t(sum >> 8);
  tcp4[14 + 11] = uint8_t(sum);
  // IPv6 payload length 4: half of the UDP header is inside.
  Bytes udp6 = build(client_packet(kV6, 40000, 53, IPPROTO_UDP));
  udp6[14 + 4] = 0;
  udp6[14 + 5] = 4;

  for (const Bytes& in : {tcp4, udp6}) {
    SCOPED_TRACE(hexdump(in));
    xlb_counter before = gstat(XLB_STAT_PASS_MALFORMED);
    RunResult r = run(in);
    EXPECT_EQ(xdp_verdict_name(r.verdict), "XDP_PASS");
    EXPECT_EQ(r.out, in) << hexdump_diff(in, r.out);
    EXPECT_EQ(gstat(XLB_STAT_PASS_MALFORMED).packets, before.packets + 1);
  }
  EXPECT_EQ(flow_count(), 0u);
  EXPECT_TRUE(nat_revs().empty());
}

}  // namespace
}  // namespace xlb::test::nat
