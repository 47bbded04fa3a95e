// The endpoint on loopback, at a port the kernel picks.
#include "metrics/endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace xlb::metrics {
namespace {

ListenAddress loopback(uint16_t port = 0) { return {"127.0.0.1", port, false}; }

// A TCP connection to 127.0.0.1:port that sends only `partial`; -1 on failure.
int slow_client(uint16_t port, const std::string& partial) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  send(fd, partial.data(), partial.size(), 0);
  return fd;
}

TEST(EndpointTest, ServesMetricsAnd404Elsewhere) {
  Endpoint e(loopback());
  ASSERT_NE(e.port(), 0);
  httplib::Client c("127.0.0.1", e.port());
  c.set_read_timeout(30, 0);

  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);  // no handler yet: lbd is starting
  EXPECT_EQ(r->body, "lbd is starting\n");

  e.set_handler([] { return Reply{200, "xlb_up 1\n"}; });
  r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "xlb_up 1\n");
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");

  for (const char* path : {"/", "/metrics/", "/metricsx", "/favicon.ico", "/Metrics"}) {
    r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(r->body, "not found: lbd serves only /metrics\n") << path;
  }
  r = c.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_NE(r->status, 200);
}

TEST(EndpointTest, HandlerErrorsPassThrough) {
  Endpoint e(loopback());
  e.set_handler([] { return Reply{503, "busy\n"}; });
  httplib::Client c("127.0.0.1", e.port());
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "busy\n");
}

TEST(EndpointTest, ABusyPortFailsWithWhy) {
  Endpoint first(loopback());
  try {
    Endpoint second(loopback(first.port()));
    FAIL() << "a second endpoint bound the same port";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("cannot listen on 127.0.0.1:" + std::to_string(first.port())), std::string::npos) << what;
    EXPECT_NE(what.find("Address already in use"), std::string::npos) << what;
  }
}

TEST(EndpointTest, AnAddressNotOfThisHostFailsWithWhy) {
  try {
    Endpoint e({"192.0.2.1", 9466, false});  // TEST-NET-1: on no interface here
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("Cannot assign requested address"), std::string::npos) << e.what();
  }
}

TEST(EndpointTest, ASlowClientHoldsUpNobodyAndIsDropped) {
  EndpointLimits limits;
  limits.read_timeout_s = 1;
  Endpoint e(loopback(), limits);
  e.set_handler([] { return Reply{200, "xlb_up 1\n"}; });
  int slow = slow_client(e.port(), "GET /metr");
  ASSERT_GE(slow, 0);

  httplib::Client c("127.0.0.1", e.port());
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);

  // The endpoint gives up on the slow one: it reads end-of-file (or a
  // reset), not the 30 s guard's timeout.
  timeval guard{30, 0};
  setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
  char buf[512];
  ssize_t n;
  do n = recv(slow, buf, sizeof buf, 0);
  while (n > 0);  // an error answer (408/400) may come first
  EXPECT_TRUE(n == 0 || errno == ECONNRESET) << "recv: " << n << " " << std::strerror(errno);
  close(slow);
}

TEST(EndpointTest, StopFreesThePortAndIsIdempotent) {
  uint16_t port;
  {
    Endpoint e(loopback());
    port = e.port();
    e.stop();
    e.stop();
  }
  Endpoint again(loopback(port));
  EXPECT_EQ(again.port(), port);
}

TEST(EndpointTest, IPv6Loopback) {
  Endpoint e({"::1", 0, true});
  e.set_handler([] { return Reply{200, "xlb_up 1\n"}; });
  httplib::Client c("::1", e.port());
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r) << "no answer on [::1]";
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace xlb::metrics
