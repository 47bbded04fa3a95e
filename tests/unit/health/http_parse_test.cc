// The http check's pure halves: the request and the status line.
#include <gtest/gtest.h>

#include "health/http.h"

namespace xlb::health {
namespace {

TEST(HttpStatusLine, ReadsTheStatus) {
  auto s = parse_status_line("HTTP/1.1 204 No Content\r\n");
  EXPECT_EQ(s.state, StatusLine::kStatus);
  EXPECT_EQ(s.status, 204);
  s = parse_status_line("HTTP/1.0 503\n");  // no reason phrase, bare LF
  EXPECT_EQ(s.state, StatusLine::kStatus);
  EXPECT_EQ(s.status, 503);
}

TEST(HttpStatusLine, WaitsForTheLineEnding) {
  EXPECT_EQ(parse_status_line("").state, StatusLine::kNeedMore);
  EXPECT_EQ(parse_status_line("HTT").state, StatusLine::kNeedMore);
  EXPECT_EQ(parse_status_line("HTTP/1.1 200 O").state, StatusLine::kNeedMore);
}

TEST(HttpStatusLine, KnowsGarbageEarly) {
  EXPECT_EQ(parse_status_line("SSH-").state, StatusLine::kGarbage);
  EXPECT_EQ(parse_status_line("\x16\x03\x01").state, StatusLine::kGarbage);  // TLS
  EXPECT_EQ(parse_status_line("HTTP/2 200\r\n").state, StatusLine::kGarbage);
  EXPECT_EQ(parse_status_line("HTTP/1.1 2x0 OK\r\n").state, StatusLine::kGarbage);
  EXPECT_EQ(parse_status_line("HTTP/1.1 2000 OK\r\n").state, StatusLine::kGarbage);
  EXPECT_EQ(parse_status_line("HTTP/1.1 099 OK\r\n").state, StatusLine::kGarbage);
  EXPECT_EQ(parse_status_line("HTTP/1.1 20\r\n").state, StatusLine::kGarbage);
  EXPECT_EQ(parse_status_line("HTTP/1.1 200 " + std::string(kMaxStatusLine, 'x')).state,
            StatusLine::kGarbage);
}

TEST(HttpRequest, HostDefaultsToTheDestination) {
  Probe p;
  p.dst = Endpoint::parse("198.18.0.1:80");
  EXPECT_EQ(default_host(p), "198.18.0.1");
  p.dst = Endpoint::parse("[fd00::1]:8080");
  EXPECT_EQ(default_host(p), "[fd00::1]:8080");
  p.dst = Endpoint::parse("[fd00::1]:443");
  p.https = true;
  EXPECT_EQ(default_host(p), "[fd00::1]");
}

TEST(HttpRequest, IsAClosingGet) {
  Probe p;
  p.dst = Endpoint::parse("198.18.0.1:80");
  p.http_path = "";
  EXPECT_EQ(http_request(p),
            "GET / HTTP/1.1\r\nHost: 198.18.0.1\r\nConnection: close\r\n"
            "User-Agent: xlb-health\r\nAccept: */*\r\n\r\n");
}

}  // namespace
}  // namespace xlb::health
