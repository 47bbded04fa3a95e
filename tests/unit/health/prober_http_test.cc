// http and https probes against servers in this process.
#include "probe_runner.h"
#include "servers.h"

namespace xlb::health {
namespace {

using test::http_reply;
using test::run_one;
using test::StreamServer;

Probe http_probe(const Endpoint& dst, uint32_t timeout_ms = 2000) {
  Probe p;
  p.id = 3;
  p.kind = ProbeKind::kHttp;
  p.dst = dst;
  p.timeout_ms = timeout_ms;
  return p;
}

const char* kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

TEST(ProberHttp, StatusOkIsUp) {
  StreamServer server(AF_INET, http_reply(kOk));
  Probe p = http_probe(server.endpoint());
  p.http_path = "/healthz";
  p.http_host = "app.example";
  ProbeResult r = run_one(p);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.reason, "http status 200");
  EXPECT_EQ(server.last_request(),
            "GET /healthz HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n"
            "User-Agent: xlb-health\r\nAccept: */*\r\n\r\n");
}

TEST(ProberHttp, DefaultHostIsTheDestination) {
  StreamServer server(AF_INET, http_reply(kOk));
  ProbeResult r = run_one(http_probe(server.endpoint()));
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_NE(server.last_request().find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos)
      << server.last_request();
}

TEST(ProberHttp, OverIpv6) {
  if (!test::loopback_has(AF_INET6)) GTEST_SKIP() << "no ::1 on the loopback";
  StreamServer server(AF_INET6, http_reply(kOk));
  ProbeResult r = run_one(http_probe(server.endpoint()));
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_NE(server.last_request().find("Host: [::1]:"), std::string::npos);
}

TEST(ProberHttp, Status500IsDown) {
  StreamServer server(AF_INET, http_reply("HTTP/1.1 500 Internal Server Error\r\n\r\n"));
  ProbeResult r = run_one(http_probe(server.endpoint()));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "http status 500");
}

TEST(ProberHttp, TheRangeDecides) {
  StreamServer redirect(AF_INET, http_reply("HTTP/1.0 302 Found\r\nLocation: /\r\n\r\n"));
  EXPECT_TRUE(run_one(http_probe(redirect.endpoint())).ok);  // default 200-399
  Probe strict = http_probe(redirect.endpoint());
  strict.http_status_max = 299;
  ProbeResult r = run_one(strict);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "http status 302");
}

TEST(ProberHttp, GarbageIsDown) {
  StreamServer server(AF_INET, http_reply("SSH-2.0-OpenSSH_9.2\r\n"));
  ProbeResult r = run_one(http_probe(server.endpoint()));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "http bad status line");
}

TEST(ProberHttp, ClosedWithoutAnswerIsDown) {
  StreamServer server(AF_INET, http_reply(""));
  ProbeResult r = run_one(http_probe(server.endpoint()));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "http connection closed without a response");
}

TEST(ProberHttp, CutStatusLineIsDown) {
  StreamServer server(AF_INET, http_reply("HTTP/1.1 20"));
  ProbeResult r = run_one(http_probe(server.endpoint()));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "http connection closed before the status line");
}

TEST(ProberHttp, SlowServerTimesOut) {
  StreamServer server(AF_INET, test::silent());
  ProbeResult r = run_one(http_probe(server.endpoint(), 200));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "no http status within 200 ms");
  EXPECT_EQ(r.latency, std::chrono::milliseconds(200));
}

TEST(ProberHttps, StatusOkIsUpWithoutVerifyingTheCertificate) {
  test::TlsServer server(kOk);  // self-signed: verification would refuse it
  Probe p = http_probe(server.endpoint());
  p.https = true;
  p.http_host = "app.example:8443";
  ProbeResult r = run_one(p);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.reason, "http status 200");
  EXPECT_EQ(server.last_sni(), "app.example");  // the name, without the port
}

TEST(ProberHttps, VerifyCertRefusesASelfSignedCertificate) {
  test::TlsServer server(kOk);
  Probe p = http_probe(server.endpoint());
  p.https = true;
  p.verify_cert = true;
  p.http_host = "app.example";
  ProbeResult r = run_one(p);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("certificate verify failed"), std::string::npos) << r.reason;
}

TEST(ProberHttps, AnAddressIsNeverSentAsTheServerName) {
  test::TlsServer server(kOk);
  Probe p = http_probe(server.endpoint());
  p.https = true;
  ProbeResult r = run_one(p);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(server.last_sni(), "");
}

TEST(ProberHttps, Status500IsDown) {
  test::TlsServer server("HTTP/1.1 500 Oops\r\n\r\n");
  Probe p = http_probe(server.endpoint());
  p.https = true;
  ProbeResult r = run_one(p);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "http status 500");
}

TEST(ProberHttps, PlainServerFailsTheHandshake) {
  StreamServer server(AF_INET, test::greet("HTTP/1.1 400 Bad Request\r\n\r\n"));
  Probe p = http_probe(server.endpoint());
  p.https = true;
  ProbeResult r = run_one(p);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason.rfind("tls handshake", 0), 0u) << r.reason;
}

TEST(ProberHttps, SilentServerTimesOutInTheHandshake) {
  StreamServer server(AF_INET, test::silent());
  Probe p = http_probe(server.endpoint(), 200);
  p.https = true;
  ProbeResult r = run_one(p);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "tls handshake timeout after 200 ms");
}

}  // namespace
}  // namespace xlb::health
