#include "metrics/listen_address.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace xlb::metrics {
namespace {

TEST(ListenAddressTest, IPv4AndIPv6) {
  ListenAddress a = parse_listen_address("127.0.0.1:9466");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 9466);
  EXPECT_FALSE(a.v6);
  EXPECT_EQ(a.str(), "127.0.0.1:9466");

  ListenAddress b = parse_listen_address("[::1]:9466");
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 9466);
  EXPECT_TRUE(b.v6);
  EXPECT_EQ(b.str(), "[::1]:9466");

  EXPECT_EQ(parse_listen_address("0.0.0.0:1").port, 1);
  EXPECT_EQ(parse_listen_address("[::]:65535").host, "::");
  EXPECT_EQ(parse_listen_address("[fd00:18::1]:80").host, "fd00:18::1");
}

TEST(ListenAddressTest, RefusesWhatIsNotAnAddressAndPort) {
  for (const char* bad : {"", "9466", ":9466", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                          "127.0.0.1:94x6", "localhost:9466", "::1:9466", "[::1]9466", "[::1:9466", "[127.0.0.1]:80",
                          "[::1]:", "1.2.3:80", "127.0.0.1:-1", "127.0.0.1:123456"})
    EXPECT_THROW(parse_listen_address(bad), std::invalid_argument) << bad;
  try {
    parse_listen_address("::1:9466");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("brackets"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace xlb::metrics
