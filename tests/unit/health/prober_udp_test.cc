// udp probes against servers in this process.
#include <unistd.h>

#include "probe_runner.h"
#include "servers.h"

namespace xlb::health {
namespace {

using test::run_one;
using test::UdpServer;

Probe udp_probe(const Endpoint& dst, std::string payload, uint32_t timeout_ms = 2000) {
  Probe p;
  p.id = 5;
  p.kind = ProbeKind::kUdp;
  p.dst = dst;
  p.udp_payload = std::move(payload);
  p.timeout_ms = timeout_ms;
  return p;
}

UdpServer::Reply echo() {
  return [](const std::string& in) { return std::optional<std::string>(in); };
}

UdpServer::Reply answer(std::string text) {
  return [text](const std::string&) { return std::optional<std::string>(text); };
}

TEST(ProberUdp, AnyReplyIsUp) {
  UdpServer server(AF_INET, answer("whatever"));
  ProbeResult r = run_one(udp_probe(server.endpoint(), "ping"));
  EXPECT_TRUE(r.ok) << r.reason;
}

TEST(ProberUdp, EchoMatchesExactly) {
  UdpServer server(AF_INET, echo());
  Probe p = udp_probe(server.endpoint(), "ping");
  p.udp_match = UdpMatch::kExact;
  p.udp_expect = "ping";
  ProbeResult r = run_one(p);
  EXPECT_TRUE(r.ok) << r.reason;
}

TEST(ProberUdp, OverIpv6) {
  if (!test::loopback_has(AF_INET6)) GTEST_SKIP() << "no ::1 on the loopback";
  UdpServer server(AF_INET6, echo());
  ProbeResult r = run_one(udp_probe(server.endpoint(), "ping"));
  EXPECT_TRUE(r.ok) << r.reason;
}

TEST(ProberUdp, WrongReplyIsDown) {
  UdpServer server(AF_INET, answer("pong"));
  Probe p = udp_probe(server.endpoint(), "ping");
  p.udp_match = UdpMatch::kExact;
  p.udp_expect = "ping";
  ProbeResult r = run_one(p);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "udp reply differs");
}

TEST(ProberUdp, PrefixMatchesTheStartOnly) {
  // DNS-like: the transaction id and flags are known, the answer is not.
  std::string query("\x12\x34\x01\x00", 4);
  UdpServer server(AF_INET, answer(std::string("\x12\x34\x81\x80rest-of-answer", 18)));
  Probe p = udp_probe(server.endpoint(), query);
  p.udp_match = UdpMatch::kPrefix;
  p.udp_expect = std::string("\x12\x34\x81", 3);
  EXPECT_TRUE(run_one(p).ok);
  p.udp_expect = std::string("\x12\x34\x01", 3);
  ProbeResult r = run_one(p);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "udp reply differs");
}

TEST(ProberUdp, ShortReplyFailsAPrefix) {
  UdpServer server(AF_INET, answer("ab"));
  Probe p = udp_probe(server.endpoint(), "x");
  p.udp_match = UdpMatch::kPrefix;
  p.udp_expect = "abc";
  EXPECT_FALSE(run_one(p).ok);
}

TEST(ProberUdp, NoReplyTimesOut) {
  UdpServer server(AF_INET, [](const std::string&) { return std::optional<std::string>(); });
  ProbeResult r = run_one(udp_probe(server.endpoint(), "ping", 200));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "no udp reply within 200 ms");
}

TEST(ProberUdp, ClosedPortIsUnreachable) {
  // A port that was free a moment ago: bind, learn it, close. The kernel
  // answers the probe with ICMP port unreachable.
  uint16_t port;
  int fd = test::bound_socket(AF_INET, SOCK_DGRAM, &port);
  ASSERT_GE(fd, 0);
  close(fd);
  ProbeResult r = run_one(udp_probe(test::loopback(AF_INET, port), "ping"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "udp port unreachable");
}

}  // namespace
}  // namespace xlb::health
