// xlb-decap --allow parsing (ctl/decap/allow.cc): text -> LPM trie key.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

#include "../../ctl/decap/allow.h"

namespace xlb::decap {
namespace {

xlb_decap_allow_key ok(const std::string& text) {
  xlb_decap_allow_key k;
  std::string err = parse_allow(text, &k);
  EXPECT_EQ(err, "") << text;
  return k;
}

std::string error_of(const std::string& text) {
  xlb_decap_allow_key k;
  std::memset(&k, 0xaa, sizeof k);
  std::string err = parse_allow(text, &k);
  xlb_decap_allow_key zero;
  std::memset(&zero, 0, sizeof zero);
  EXPECT_EQ(std::memcmp(&k, &zero, sizeof k), 0) << "a refused key is left zeroed";
  return err;
}

TEST(DecapAllow, Ipv4Prefix) {
  xlb_decap_allow_key k = ok("198.18.0.0/24");
  EXPECT_EQ(k.family, XLB_AF_INET);
  EXPECT_EQ(k.prefixlen, 8u + 24u);  // the family byte counts
  const uint8_t want[16] = {198, 18, 0, 0};
  EXPECT_EQ(std::memcmp(k.addr, want, 16), 0);
  EXPECT_EQ(k.pad[0] | k.pad[1] | k.pad[2], 0);
  EXPECT_EQ(allow_str(k), "198.18.0.0/24");
}

TEST(DecapAllow, Ipv6Prefix) {
  xlb_decap_allow_key k = ok("fd00:18::/64");
  EXPECT_EQ(k.family, XLB_AF_INET6);
  EXPECT_EQ(k.prefixlen, 8u + 64u);
  uint8_t want[16];
  ASSERT_EQ(inet_pton(AF_INET6, "fd00:18::", want), 1);
  EXPECT_EQ(std::memcmp(k.addr, want, 16), 0);
  EXPECT_EQ(allow_str(k), "fd00:18::/64");
}

TEST(DecapAllow, BareAddressIsAHostPrefix) {
  EXPECT_EQ(ok("198.18.0.1").prefixlen, 8u + 32u);
  EXPECT_EQ(ok("fd00:18::1").prefixlen, 8u + 128u);
  EXPECT_EQ(allow_str(ok("198.18.0.1")), "198.18.0.1/32");
}

TEST(DecapAllow, EdgesOfTheLength) {
  EXPECT_EQ(ok("0.0.0.0/0").prefixlen, 8u);
  EXPECT_EQ(ok("::/0").prefixlen, 8u);
  EXPECT_EQ(ok("198.18.0.1/32").prefixlen, 40u);
  EXPECT_EQ(ok("fd00::1/128").prefixlen, 136u);
}

TEST(DecapAllow, Refusals) {
  EXPECT_EQ(error_of("198.18.0.0/33"), "prefix length must be 0..32");
  EXPECT_EQ(error_of("fd00::/129"), "prefix length must be 0..128");
  EXPECT_EQ(error_of("198.18.0.0/"), "prefix length must be 0..32");
  EXPECT_EQ(error_of("198.18.0.0/-1"), "prefix length must be 0..32");
  EXPECT_EQ(error_of("198.18.0.0/24x"), "prefix length must be 0..32");
  EXPECT_EQ(error_of("198.18.0.0/99999999999"), "prefix length must be 0..32");
  EXPECT_EQ(error_of("lb.example"), "not an IPv4 or IPv6 address or prefix");
  EXPECT_EQ(error_of(""), "not an IPv4 or IPv6 address or prefix");
  EXPECT_EQ(error_of("198.18.0.1/24"), "host bits set (did you mean 198.18.0.0/24?)");
  EXPECT_EQ(error_of("fd00:18::1/64"), "host bits set (did you mean fd00:18::/64?)");
}

}  // namespace
}  // namespace xlb::decap
