// Many probes at once in one prober: they all finish, each with its own id.
#include <unistd.h>

#include <map>

#include "probe_runner.h"
#include "servers.h"

namespace xlb::health {
namespace {

TEST(ProberMany, TwoHundredConcurrentProbesAllFinish) {
  uint16_t tcp_port, closed_port;
  int listener = test::bound_socket(AF_INET, SOCK_STREAM, &tcp_port, 512);
  int closed = test::bound_socket(AF_INET, SOCK_STREAM, &closed_port);  // refuses
  ASSERT_GE(listener, 0);
  ASSERT_GE(closed, 0);
  test::UdpServer udp(AF_INET, [](const std::string& in) { return std::optional<std::string>(in); });
  test::StreamServer http(AF_INET, test::http_reply("HTTP/1.1 200 OK\r\n\r\n"));

  Prober prober;
  std::map<uint64_t, bool> expect_ok;
  for (uint64_t id = 1; id <= 200; id++) {
    Probe p;
    p.id = id;
    p.timeout_ms = 10000;
    switch (id % 4) {
      case 0: p.kind = ProbeKind::kTcp; p.dst = test::loopback(AF_INET, tcp_port); break;
      case 1: p.kind = ProbeKind::kTcp; p.dst = test::loopback(AF_INET, closed_port); break;
      case 2:
        p.kind = ProbeKind::kUdp;
        p.dst = udp.endpoint();
        p.udp_payload = "probe-" + std::to_string(id);
        p.udp_match = UdpMatch::kExact;
        p.udp_expect = p.udp_payload;
        break;
      case 3: p.kind = ProbeKind::kHttp; p.dst = http.endpoint(); break;
    }
    expect_ok[id] = id % 4 != 1;
    prober.submit(p);
  }
  EXPECT_EQ(prober.in_flight(), 200u);
  auto results = test::run_until(prober, 200);
  std::map<uint64_t, ProbeResult> by_id;
  for (auto& r : results) by_id[r.id] = r;
  EXPECT_EQ(by_id.size(), 200u);
  for (auto& [id, ok] : expect_ok) {
    ASSERT_TRUE(by_id.count(id)) << id;
    EXPECT_EQ(by_id[id].ok, ok) << id << ": " << by_id[id].reason;
  }
  EXPECT_EQ(prober.stats().submitted, 200u);
  EXPECT_EQ(prober.stats().ok, 150u);
  EXPECT_EQ(prober.stats().failed, 50u);
  EXPECT_EQ(prober.in_flight(), 0u);
  close(listener);
  close(closed);
}

}  // namespace
}  // namespace xlb::health
