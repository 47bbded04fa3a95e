// Packet tests of ICMP errors about nat and fullnat flows. An error quotes
// the packet that caused it; the lb translates error and quote the way the
// flow's packets are translated, so the receiver can match it to its socket.
// Expected frames are built from scratch: the quoted packet as the receiver
// sent it (kit Frame, all checksums computed), cut to the quoted length, in
// a freshly checksummed ICMP message.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <vector>

#include "nat_fixture.h"

namespace xlb::test::nat {
namespace {

class NatIcmp : public NatFixture {};

// The IP packet of a frame (without its L2 header).
Bytes ip_of(const Bytes& frame) { return Bytes(frame.begin() + l2_header_len(frame), frame.end()); }

struct IcmpFrame {
  std::string from, to;
  uint8_t type, code;
  uint32_t rest = 0;
  Bytes quoted;          // an IP packet
  size_t quote_len = 0;  // 0: all of it
  Mac dmac = kFixtureMac;
  Mac smac = kPeerMac;
};

Bytes build_icmp(const IcmpFrame& e) {
  Bytes q = e.quoted;
  if (e.quote_len && e.quote_len < q.size()) q.resize(e.quote_len);
  if (is_v6(e.from)) {
    Ipv6 ip;
    ip.src = e.from;
    ip.dst = e.to;
    ip.next_header = 58;
    ip.hop_limit = 61;
    return Frame().eth(e.smac, e.dmac).ipv6(ip).payload(icmp6_message(e.type, e.code, e.rest, q, e.from, e.to)).build();
  }
  Ipv4 ip;
  ip.src = e.from;
  ip.dst = e.to;
  ip.proto = 1;
  ip.ttl = 61;
  ip.id = 0x4321;
  ip.tos = 0xc0;
  return Frame().eth(e.smac, e.dmac).ipv4(ip).payload(icmp4_message(e.type, e.code, e.rest, q)).build();
}

// The translated error: other outer addresses, another quoted packet, MACs
// towards neighbour `neigh`.
IcmpFrame translated(IcmpFrame e, const std::string& from, const std::string& to, const Bytes& quoted, int neigh) {
  e.from = from;
  e.to = to;
  e.quoted = quoted;
  e.smac = kFixtureMac;
  e.dmac = fixture_neigh_mac(neigh);
  return e;
}

// Checks a translated error independently of the expected bytes: outer IPv4
// header, ICMP checksum, and, for a whole quote, the quoted packet's own
// header and TCP/UDP checksums.
void check_sums(const Bytes& out, bool v6, bool whole_quote) {
  if (!v6) {
    EXPECT_TRUE(ipv4_header_checksum_ok(out));
  }
  EXPECT_TRUE(icmp_checksum_ok(out));
  Bytes q = icmp_quoted_frame(out);
  ASSERT_FALSE(q.empty());
  if (!v6) {
    // The header is whole even when the quote is not (the kit's own check
    // wants the whole packet).
    size_t l3 = l2_header_len(q), ihl = (q[l3] & 0x0f) * 4u;
    ASSERT_GE(q.size(), l3 + ihl);
    EXPECT_EQ(csum_fold(&q[l3], ihl), 0xffff) << "quoted IPv4 header";
  }
  if (whole_quote) {
    EXPECT_TRUE(l4_checksum_ok(q)) << "quoted TCP/UDP checksum";
  }
}

uint8_t unreach_type(bool v6) { return v6 ? 1 : 3; }
uint8_t port_unreach_code(bool v6) { return v6 ? 4 : 3; }
uint8_t too_big_type(bool v6) { return v6 ? 2 : 3; }
uint8_t too_big_code(bool v6) { return v6 ? 0 : 4; }

// ---- from the backend side --------------------------------------------------------

// nat UDP: the backend's port unreachable about C:cp -> B:bp reaches the
// client from the VIP, quoting C:cp -> VIP:vp.
TEST_F(NatIcmp, BackendPortUnreachableOfANatUdpFlow) {
  nat_config();
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    vip_with_backend(f->vip, 53, IPPROTO_UDP, XLB_MODE_NAT, f->v6 ? 2 : 1, f->backend, 5353);
    Pkt in = client_packet(*f, 41000, 53, IPPROTO_UDP);
    RunResult fwd = run(build(in));
    ASSERT_EQ(fwd.verdict, XDP_TX);

    IcmpFrame err;
    err.from = f->backend;
    err.to = f->client;
    err.type = unreach_type(f->v6);
    err.code = port_unreach_code(f->v6);
    err.quoted = ip_of(fwd.out);  // exactly what the backend got
    err.smac = fixture_neigh_mac(10);
    uint64_t before = gstat(XLB_STAT_NAT_ICMP).packets;
    RunResult r = run(build_icmp(err));
    ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    Bytes want = build_icmp(translated(err, f->vip, f->client, ip_of(build(in)), 2));
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    check_sums(r.out, f->v6, true);
    EXPECT_EQ(gstat(XLB_STAT_NAT_ICMP).packets, before + 1);
  }
  EXPECT_EQ(gstat(XLB_STAT_PASS_ICMP).packets, 0u);
}

struct TooBigCase {
  const Family* f;
  bool from_backend;   // else from a router on the way
  size_t quote_len;    // 0: the whole packet
};

// fullnat TCP: "fragmentation needed" / "packet too big" about S:sp -> B:bp
// reaches the client, quoting C:cp -> VIP:vp; a router's address stays.
TEST_F(NatIcmp, FragNeededOfAFullnatTcpFlow) {
  nat_config(30000, 30999);
  const std::vector<TooBigCase> cases = {
      // Whole packets, the 8 bytes RFC 792 asks for, and up to the TCP
      // checksum (which is fixed when it is quoted whole).
      {&kV4, true, 0}, {&kV4, false, 0}, {&kV4, false, 20 + 8}, {&kV4, true, 20 + 16}, {&kV4, true, 20 + 18},
      {&kV6, true, 0}, {&kV6, false, 0}, {&kV6, false, 40 + 8}, {&kV6, true, 40 + 16}, {&kV6, true, 40 + 18},
  };
  uint32_t id = 0;
  for (const auto& c : cases) {
    const Family& f = *c.f;
    SCOPED_TRACE(std::string(f.name) + (c.from_backend ? " from the backend" : " from a router") +
                 " quoting " + std::to_string(c.quote_len));
    uint16_t vport = 80 + id;
    vip_with_backend(f.vip, vport, IPPROTO_TCP, XLB_MODE_FULLNAT, ++id, f.backend, 8080);
    Pkt in = client_packet(f, 40000 + id, vport);
    in.flags = kTcpAck | kTcpPsh;
    in.payload = std::string(100, 'x');
    RunResult fwd = run(build(in));
    ASSERT_EQ(fwd.verdict, XDP_TX);
    uint16_t sp = port_of(in);
    ASSERT_NE(sp, 0);

    IcmpFrame err;
    err.from = c.from_backend ? f.backend : f.router;
    err.to = f.snat;
    err.type = too_big_type(f.v6);
    err.code = too_big_code(f.v6);
    err.rest = f.v6 ? 1280 : 1400;
    err.quoted = ip_of(fwd.out);
    err.quote_len = c.quote_len;
    RunResult r = run(build_icmp(err));
    ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    std::string from = c.from_backend ? f.vip : f.router;
    Bytes want = build_icmp(translated(err, from, f.client, ip_of(build(in)), 2));
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    check_sums(r.out, f.v6, c.quote_len == 0);
  }
}

// A quote that ends inside the TCP checksum: the byte present cannot be
// fixed on its own and stays as quoted; the ICMP checksum covers it as is.
TEST_F(NatIcmp, QuoteEndingInsideTheTcpChecksumLeavesItAlone) {
  nat_config();
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 1, kV4.backend, 8080);
  Pkt in = client_packet(kV4);
  RunResult fwd = run(build(in));
  ASSERT_EQ(fwd.verdict, XDP_TX);
  IcmpFrame err;
  err.from = kV4.backend;
  err.to = kV4.client;
  err.type = 3;
  err.code = 4;
  err.rest = 1400;
  err.quoted = ip_of(fwd.out);
  err.quote_len = 20 + 17;
  RunResult r = run(build_icmp(err));
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes quote = ip_of(build(in));
  quote[20 + 16] = err.quoted[20 + 16];
  Bytes want = build_icmp(translated(err, kV4.vip, kV4.client, quote, 2));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  check_sums(r.out, false, false);
}

TEST_F(NatIcmp, TimeExceededOfANatTcpFlow) {
  nat_config();
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 1, kV4.backend, 8080);
  Pkt in = client_packet(kV4);
  RunResult fwd = run(build(in));
  ASSERT_EQ(fwd.verdict, XDP_TX);
  IcmpFrame err;
  err.from = kV4.router;
  err.to = kV4.client;
  err.type = 11;
  err.code = 0;
  err.quoted = ip_of(fwd.out);
  err.quote_len = 28;
  RunResult r = run(build_icmp(err));
  ASSERT_EQ(r.verdict, XDP_TX);
  Bytes want = build_icmp(translated(err, kV4.router, kV4.client, ip_of(build(in)), 2));
  EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
  check_sums(r.out, false, false);
}

// ---- from the client side -----------------------------------------------------------

struct ClientCase {
  const Family* f;
  uint8_t mode;
  uint8_t proto;
  size_t quote_len;
};

// The client's path cannot carry our reply VIP:vp -> C:cp: its error goes to
// the backend, quoting what the backend sent (B:bp -> C:cp, or S:sp).
TEST_F(NatIcmp, ClientSideFragNeededReachesTheBackend) {
  nat_config(30000, 30999);
  const std::vector<ClientCase> cases = {
      {&kV4, XLB_MODE_NAT, IPPROTO_TCP, 0},     {&kV4, XLB_MODE_NAT, IPPROTO_UDP, 0},
      {&kV4, XLB_MODE_FULLNAT, IPPROTO_TCP, 0}, {&kV4, XLB_MODE_FULLNAT, IPPROTO_TCP, 28},
      {&kV6, XLB_MODE_NAT, IPPROTO_TCP, 0},     {&kV6, XLB_MODE_NAT, IPPROTO_UDP, 0},
      {&kV6, XLB_MODE_FULLNAT, IPPROTO_UDP, 0}, {&kV6, XLB_MODE_FULLNAT, IPPROTO_TCP, 48},
  };
  uint32_t id = 0;
  for (const auto& c : cases) {
    const Family& f = *c.f;
    bool full = c.mode == XLB_MODE_FULLNAT;
    SCOPED_TRACE(std::string(f.name) + (full ? " fullnat " : " nat ") + proto_name(c.proto) + " quoting " +
                 std::to_string(c.quote_len));
    uint16_t vport = 80 + id;
    vip_with_backend(f.vip, vport, c.proto, c.mode, ++id, f.backend, 8080);
    Pkt in = client_packet(f, 40000 + id, vport, c.proto);
    ASSERT_EQ(run(build(in)).verdict, XDP_TX);
    uint16_t sp = full ? port_of(in) : in.sport;

    // The reply as the client's side saw it, and as the backend sent it.
    Pkt reply;
    reply.src = f.vip;
    reply.sport = vport;
    reply.dst = f.client;
    reply.dport = in.sport;
    reply.proto = c.proto;
    reply.flags = kTcpAck;
    reply.payload = std::string(200, 'r');
    Pkt sent = reply;
    sent.src = f.backend;
    sent.sport = 8080;
    sent.dst = full ? f.snat : f.client;
    sent.dport = sp;

    IcmpFrame err;
    err.from = f.client;
    err.to = f.vip;
    err.type = too_big_type(f.v6);
    err.code = too_big_code(f.v6);
    err.rest = f.v6 ? 1280 : 576;
    err.quoted = ip_of(build(reply));
    err.quote_len = c.quote_len;
    RunResult r = run(build_icmp(err));
    ASSERT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
    Bytes want = build_icmp(translated(err, full ? f.snat : f.client, f.backend, ip_of(build(sent)), 10));
    EXPECT_EQ(r.out, want) << hexdump_diff(want, r.out);
    check_sums(r.out, f.v6, c.quote_len == 0);
  }
  EXPECT_EQ(gstat(XLB_STAT_NAT_ICMP).packets, cases.size());
}

// ---- not ours -------------------------------------------------------------------------

TEST_F(NatIcmp, EverythingElsePassesUntouched) {
  nat_config();
  vip_with_backend(kV4.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 1, kV4.backend, 8080);
  vip_with_backend(kV4.vip, 81, IPPROTO_TCP, XLB_MODE_IPIP, 2, kV4.backend, 0);
  vip_with_backend(kV6.vip, 80, IPPROTO_TCP, XLB_MODE_NAT, 3, kV6.backend, 8080);
  Pkt in = client_packet(kV4);
  RunResult fwd = run(build(in));
  ASSERT_EQ(fwd.verdict, XDP_TX);
  Pkt in6 = client_packet(kV6);
  RunResult fwd6 = run(build(in6));
  ASSERT_EQ(fwd6.verdict, XDP_TX);
  Pkt ipip = in;
  ipip.dport = 81;
  ASSERT_EQ(run(build(ipip)).verdict, XDP_TX);

  auto error = [](const std::string& from, const std::string& to, const Bytes& quoted, size_t len = 0) {
    IcmpFrame e;
    e.from = from;
    e.to = to;
    e.type = is_v6(from) ? 1 : 3;
    e.code = is_v6(from) ? 4 : 3;
    e.quoted = quoted;
    e.quote_len = len;
    return build_icmp(e);
  };
  Pkt stranger = in;
  stranger.sport = 1234;  // no such flow
  Ipv4 echo_ip;
  echo_ip.src = kV4.client;
  echo_ip.dst = kV4.vip;
  echo_ip.proto = 1;
  // An echo request to a VIP address is answered (lb_icmp_echo_test.cc);
  // one to another address passes.
  Ipv4 echo_other = echo_ip;
  echo_other.dst = kV4.client2;
  Bytes echo = Frame().eth(kPeerMac, kFixtureMac).ipv4(echo_other).payload(icmp4_message(8, 0, 0x00010001, Bytes(16, 7))).build();
  Bytes fwd_ip = ip_of(fwd.out), fwd6_ip = ip_of(fwd6.out);
  Bytes bad_ihl = fwd_ip;
  bad_ihl[0] = 0x44;
  Bytes later_frag = fwd_ip;
  later_frag[6] = 0x00;
  later_frag[7] = 0x10;  // fragment offset 16
  // Ethernet pads short frames: the padding is no part of the quote.
  Bytes padded = error(kV4.backend, kV4.client, fwd_ip, 24);
  padded.insert(padded.end(), 8, 0);
  Ipv4 outer_frag;
  outer_frag.src = kV4.backend;
  outer_frag.dst = kV4.client;
  outer_frag.proto = 1;
  outer_frag.mf = true;

  struct Case {
    const char* description;
    Bytes frame;
  };
  // An error about an ipip or l2dsr VIP's reply goes to its backend
  // (lb_pmtu_test.cc).
  const std::vector<Case> cases = {
      {"echo request to no VIP", echo},
      {"error about an unknown flow", error(kV4.backend, kV4.client, ip_of(build(stranger)))},
      {"error not sent to the quoted packet's source", error(kV4.backend, kV4.client2, fwd_ip)},
      {"quote truncated inside the ports (20 + 4 bytes)", error(kV4.backend, kV4.client, fwd_ip, 24)},
      {"quote truncated inside the ports (IPv6, 40 + 7 bytes)", error(kV6.backend, kV6.client, fwd6_ip, 47)},
      {"quote truncated inside the ports, frame padded", padded},
      {"quote truncated inside the IP header", error(kV4.backend, kV4.client, fwd_ip, 12)},
      {"quoted IHL below 5", error(kV4.backend, kV4.client, bad_ihl)},
      {"quoted later fragment", error(kV4.backend, kV4.client, later_frag)},
      {"ICMPv4 parameter problem", [&] {
         IcmpFrame e;
         e.from = kV4.backend;
         e.to = kV4.client;
         e.type = 12;
         e.code = 0;
         e.quoted = fwd_ip;
         return build_icmp(e);
       }()},
      {"ICMPv6 parameter problem", [&] {
         IcmpFrame e;
         e.from = kV6.backend;
         e.to = kV6.client;
         e.type = 4;
         e.code = 0;
         e.quoted = fwd6_ip;
         return build_icmp(e);
       }()},
      {"ICMP header only", Frame().eth(kPeerMac, kFixtureMac).ipv4(echo_ip).payload(Bytes{3, 3, 0xfc, 0xfc}).build()},
      {"outer fragment", Frame().eth(kPeerMac, kFixtureMac).ipv4(outer_frag).payload(icmp4_message(3, 3, 0, fwd_ip)).build()},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.description);
    uint64_t icmp = gstat(XLB_STAT_PASS_ICMP).packets, frag = gstat(XLB_STAT_PASS_FRAGMENT).packets;
    RunResult r = run(c.frame);
    EXPECT_EQ(r.verdict, XDP_PASS) << xdp_verdict_name(r.verdict);
    EXPECT_EQ(r.out, c.frame) << hexdump_diff(c.frame, r.out);
    EXPECT_EQ(gstat(XLB_STAT_PASS_ICMP).packets + gstat(XLB_STAT_PASS_FRAGMENT).packets, icmp + frag + 1);
  }
  EXPECT_EQ(gstat(XLB_STAT_NAT_ICMP).packets, 0u);
}

TEST_F(NatIcmp, WithoutTheNatFlagErrorsPassUntouched) {
  nat_config();
  vip_with_backend(kV4.vip, 53, IPPROTO_UDP, XLB_MODE_NAT, 1, kV4.backend, 5353);
  Pkt in = client_packet(kV4, 41000, 53, IPPROTO_UDP);
  RunResult fwd = run(build(in));
  ASSERT_EQ(fwd.verdict, XDP_TX);
  set_nat(0, kV4.snat, kV6.snat, 20000, 29999);
  IcmpFrame err;
  err.from = kV4.backend;
  err.to = kV4.client;
  err.type = 3;
  err.code = 3;
  err.quoted = ip_of(fwd.out);
  Bytes b = build_icmp(err);
  RunResult r = run(b);
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(r.out, b);
  EXPECT_EQ(gstat(XLB_STAT_PASS_ICMP).packets, 1u);
}

}  // namespace
}  // namespace xlb::test::nat
