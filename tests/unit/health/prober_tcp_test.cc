// tcp probes against listeners in this process.
#include <netinet/tcp.h>
#include <unistd.h>

#include <thread>

#include "health/sockaddr.h"
#include "probe_runner.h"
#include "servers.h"

namespace xlb::health {
namespace {

using test::bound_socket;
using test::loopback;
using test::run_one;
using test::run_until;

Probe tcp_probe(const Endpoint& dst, uint32_t timeout_ms = 2000) {
  Probe p;
  p.id = 7;
  p.kind = ProbeKind::kTcp;
  p.dst = dst;
  p.timeout_ms = timeout_ms;
  return p;
}

TEST(ProberTcp, ConnectsToAListener) {
  uint16_t port;
  int fd = bound_socket(AF_INET, SOCK_STREAM, &port, 16);
  ASSERT_GE(fd, 0);
  auto before = std::chrono::steady_clock::now();
  ProbeResult r = run_one(tcp_probe(loopback(AF_INET, port)));
  EXPECT_EQ(r.id, 7u);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.reason, "");
  EXPECT_GE(r.finished, before);
  EXPECT_LE(r.finished, std::chrono::steady_clock::now());
  close(fd);
}

TEST(ProberTcp, ConnectsOverIpv6) {
  if (!test::loopback_has(AF_INET6)) GTEST_SKIP() << "no ::1 on the loopback";
  uint16_t port;
  int fd = bound_socket(AF_INET6, SOCK_STREAM, &port, 16);
  ASSERT_GE(fd, 0);
  ProbeResult r = run_one(tcp_probe(loopback(AF_INET6, port)));
  EXPECT_TRUE(r.ok) << r.reason;
  close(fd);
}

TEST(ProberTcp, RefusedWhenNothingListens) {
  // Bound but not listening: the port is ours, and a SYN to it is refused.
  uint16_t port;
  int fd = bound_socket(AF_INET, SOCK_STREAM, &port);
  ASSERT_GE(fd, 0);
  ProbeResult r = run_one(tcp_probe(loopback(AF_INET, port)));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "connect refused");
  close(fd);
}

// The length of a listener's accept queue (what ss shows as Recv-Q).
uint32_t accept_queue(int fd) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len);
  return info.tcpi_unacked;
}

TEST(ProberTcp, TimesOutWhenTheSynIsDropped) {
  // A listener with backlog 0 whose accept queue holds one connection drops
  // every further SYN: the probe's connect never completes.
  uint16_t port;
  int fd = bound_socket(AF_INET, SOCK_STREAM, &port, 0);
  ASSERT_GE(fd, 0);
  int filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  SockAddr dst = to_sockaddr(loopback(AF_INET, port));
  ASSERT_EQ(connect(filler, dst.get(), dst.len), 0);
  // A condition, not a sleep: the handshake's last ACK is in once the
  // connection sits in the accept queue.
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (accept_queue(fd) < 1 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::yield();
  ASSERT_GE(accept_queue(fd), 1u);

  ProbeResult r = run_one(tcp_probe(loopback(AF_INET, port), 200));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "connect timeout after 200 ms");
  EXPECT_EQ(r.latency, std::chrono::milliseconds(200));
  close(filler);
  close(fd);
}

TEST(ProberTcp, BindsTheSourceAddress) {
  // All of 127.0.0.0/8 is local: 127.0.0.2 is a source no default would pick.
  test::StreamServer server(AF_INET, test::http_reply(""));
  Probe p = tcp_probe(server.endpoint());
  p.src = IpAddr::parse("127.0.0.2");
  ProbeResult r = run_one(p);
  EXPECT_TRUE(r.ok) << r.reason;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server.last_peer().empty() && std::chrono::steady_clock::now() < give_up)
    std::this_thread::yield();
  EXPECT_EQ(server.last_peer(), "127.0.0.2");
}

TEST(ProberTcp, SourceOfAnotherFamilyFailsAtOnce) {
  Probe p = tcp_probe(loopback(AF_INET, 9));
  p.src = IpAddr::parse("::1");
  Prober prober;
  prober.submit(p);
  EXPECT_EQ(prober.next_timeout_ms(), 0);  // the result waits: no sleeping
  std::vector<ProbeResult> out;
  EXPECT_EQ(prober.process(out), 1u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].ok);
  EXPECT_EQ(out[0].reason, "source and destination address families differ");
  EXPECT_EQ(prober.next_timeout_ms(), -1);  // nothing in flight
}

TEST(ProberTcp, SetsTheMarkWhenAllowed) {
  uint16_t port;
  int fd = bound_socket(AF_INET, SOCK_STREAM, &port, 16);
  ASSERT_GE(fd, 0);
  Probe p = tcp_probe(loopback(AF_INET, port));
  p.mark = 0x1234;
  ProbeResult r = run_one(p);
  // SO_MARK needs CAP_NET_ADMIN: as root the probe runs, otherwise it says why.
  if (geteuid() == 0)
    EXPECT_TRUE(r.ok) << r.reason;
  else
    EXPECT_EQ(r.reason.rfind("setsockopt SO_MARK: ", 0), 0u) << r.reason;
  close(fd);
}

TEST(ProberTcp, CancelDropsAProbeWithoutAResult) {
  uint16_t port;
  int fd = bound_socket(AF_INET, SOCK_STREAM, &port, 16);
  ASSERT_GE(fd, 0);
  Prober prober;
  Probe p = tcp_probe(loopback(AF_INET, port));
  p.id = 1;
  prober.submit(p);
  p.id = 2;
  prober.submit(p);
  EXPECT_EQ(prober.cancel(1), 1u);
  EXPECT_EQ(prober.in_flight(), 1u);
  auto out = run_until(prober, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, 2u);
  EXPECT_EQ(prober.stats().cancelled, 1u);
  close(fd);
}

}  // namespace
}  // namespace xlb::health
