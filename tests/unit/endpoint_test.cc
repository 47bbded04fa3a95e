#include "core/endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>

namespace xlb {
namespace {

// The InputError message thrown by f, or "" when it does not throw.
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// ---- IpAddr -----------------------------------------------------------------

TEST(IpAddr, ParsesV4IntoNetworkOrderWithZeroTail) {
  IpAddr ip = IpAddr::parse("198.18.0.1");
  EXPECT_TRUE(ip.is_v4());
  EXPECT_EQ(ip.addr.v4, htonl(0xc6120001));
  EXPECT_EQ(ip.addr.v6[1], 0u);
  EXPECT_EQ(ip.addr.v6[2], 0u);
  EXPECT_EQ(ip.addr.v6[3], 0u);
  EXPECT_EQ(ip.str(), "198.18.0.1");
}

TEST(IpAddr, ParsesV6) {
  IpAddr ip = IpAddr::parse("fd00::1");
  EXPECT_EQ(ip.family, XLB_AF_INET6);
  EXPECT_EQ(ip.addr.v6[0], htonl(0xfd000000));
  EXPECT_EQ(ip.addr.v6[3], htonl(1));
  EXPECT_EQ(ip.str(), "fd00::1");
  EXPECT_EQ(IpAddr::parse("FD00:0:0::0001").str(), "fd00::1");  // canonical form
}

TEST(IpAddr, RejectsAnythingElse) {
  for (const char* text : {"", " 198.18.0.1", "198.18.0.1 ", "198.18.0.300", "198.18.0", "198.18.0.1.2",
                           "1", "0x1.0.0.1", "198.018.0.1", "[fd00::1]", "fd00::1%eth0", "fd00:::1",
                           "198.18.0.1:80", "localhost"})
    EXPECT_THROW(IpAddr::parse(text), InputError) << '"' << text << '"';
  EXPECT_EQ(error_of([] { IpAddr::parse("198.18.0.300"); }), "invalid address \"198.18.0.300\"");
  EXPECT_THROW(IpAddr::parse(std::string("198.18.0.1\0junk", 15)), InputError);
  EXPECT_THROW(Endpoint::parse(std::string("198.18.0.1\0:80", 14)), InputError);
}

TEST(IpAddr, FromAbiKeepsOnlyTheFamilysBytes) {
  xlb_addr raw;
  std::memset(&raw, 0xab, sizeof raw);
  IpAddr v4 = IpAddr::from_abi(XLB_AF_INET, raw);
  EXPECT_EQ(v4.str(), "171.171.171.171");
  EXPECT_EQ(v4.addr.v6[1], 0u);
  EXPECT_EQ(v4.addr.v6[3], 0u);
  EXPECT_EQ(IpAddr::from_abi(XLB_AF_INET6, raw).str(), "abab:abab:abab:abab:abab:abab:abab:abab");
  EXPECT_THROW(IpAddr::from_abi(0, raw), InputError);
  IpAddr parsed = IpAddr::parse("fd00::1");
  EXPECT_EQ(IpAddr::from_abi(parsed.family, parsed.addr), parsed);
}

TEST(IpAddr, OrdersByFamilyThenNumerically) {
  EXPECT_LT(IpAddr::parse("9.0.0.1"), IpAddr::parse("10.0.0.1"));  // not textual order
  EXPECT_LT(IpAddr::parse("255.255.255.255"), IpAddr::parse("::"));
  EXPECT_LT(IpAddr::parse("fd00::1"), IpAddr::parse("fd00::1:0"));
  EXPECT_FALSE(IpAddr::parse("fd00::1") < IpAddr::parse("fd00::1"));
  EXPECT_EQ(IpAddr::parse("fd00::1"), IpAddr::parse("fd00:0::1"));
  EXPECT_NE(IpAddr::parse("0.0.0.0"), IpAddr::parse("::"));
}

// ---- Endpoint -----------------------------------------------------------

TEST(Endpoint, ParsesV4AndBracketedV6) {
  Endpoint v4 = Endpoint::parse("198.18.100.1:80");
  EXPECT_EQ(v4.ip, IpAddr::parse("198.18.100.1"));
  EXPECT_EQ(v4.port, 80);
  EXPECT_EQ(v4.str(), "198.18.100.1:80");

  Endpoint v6 = Endpoint::parse("[fd00::1]:443");
  EXPECT_EQ(v6.ip, IpAddr::parse("fd00::1"));
  EXPECT_EQ(v6.port, 443);
  EXPECT_EQ(v6.str(), "[fd00::1]:443");
}

TEST(Endpoint, PortRange) {
  EXPECT_EQ(Endpoint::parse("198.18.0.1:1").port, 1);
  EXPECT_EQ(Endpoint::parse("198.18.0.1:65535").port, 65535);
  EXPECT_EQ(Endpoint::parse("198.18.0.1:080").port, 80);  // decimal, never octal
  EXPECT_EQ(error_of([] { Endpoint::parse("198.18.0.1:0"); }),
            "invalid port in \"198.18.0.1:0\": must be 1..65535");
  EXPECT_EQ(error_of([] { Endpoint::parse("198.18.0.1:65536"); }),
            "invalid port in \"198.18.0.1:65536\": must be 1..65535");
  for (const char* text : {"198.18.0.1:", "198.18.0.1:+80", "198.18.0.1:-1", "198.18.0.1:80x",
                           "198.18.0.1:80 ", "198.18.0.1: 80", "198.18.0.1:0x50", "198.18.0.1:999999",
                           "198.18.0.1:80:80", "[fd00::1]:", "[fd00::1]:65536"})
    EXPECT_THROW(Endpoint::parse(text), InputError) << '"' << text << '"';
}

TEST(Endpoint, ZeroPortOnlyWhenAllowed) {
  EXPECT_THROW(Endpoint::parse("198.18.0.1"), InputError);
  EXPECT_EQ(error_of([] { Endpoint::parse("198.18.0.1"); }), "missing port in \"198.18.0.1\"");

  Endpoint bare = Endpoint::parse("198.19.0.11", true);
  EXPECT_EQ(bare.ip, IpAddr::parse("198.19.0.11"));
  EXPECT_EQ(bare.port, 0);
  EXPECT_EQ(Endpoint::parse("198.19.0.11:0", true).port, 0);
  EXPECT_EQ(Endpoint::parse("198.19.0.11:8080", true).port, 8080);
  EXPECT_EQ(Endpoint::parse("fd00:19::11", true).ip, IpAddr::parse("fd00:19::11"));
  EXPECT_EQ(Endpoint::parse("[fd00:19::11]", true).port, 0);
  EXPECT_EQ(Endpoint::parse("[fd00:19::11]:8080", true).port, 8080);
  EXPECT_EQ(error_of([] { Endpoint::parse("198.18.0.1:65536", true); }),
            "invalid port in \"198.18.0.1:65536\": must be 0..65535");
}

TEST(Endpoint, V6NeedsBracketsForAPort) {
  // "fd00::1:80" is itself a valid address; a port must be bracketed off.
  EXPECT_THROW(Endpoint::parse("fd00::1:80"), InputError);
  EXPECT_THROW(Endpoint::parse("fd00::1"), InputError);
  EXPECT_NE(error_of([] { Endpoint::parse("fd00::1"); }).find("[address]:port"), std::string::npos);
  EXPECT_THROW(Endpoint::parse("[fd00::1:80"), InputError);
  EXPECT_THROW(Endpoint::parse("[fd00::1]80"), InputError);
  EXPECT_THROW(Endpoint::parse("[fd00::1]]:80"), InputError);
  EXPECT_THROW(Endpoint::parse("[198.18.0.1]:80"), InputError);
  EXPECT_THROW(Endpoint::parse("[]:80"), InputError);
}

TEST(Endpoint, RejectsBadAddresses) {
  for (const char* text : {"", " 198.18.0.1:80", ":80", "198.18.0.300:80", "example.com:80", "[fd00::g]:80"})
    EXPECT_THROW(Endpoint::parse(text), InputError) << '"' << text << '"';
  EXPECT_EQ(error_of([] { Endpoint::parse("198.18.0.300:80"); }),
            "invalid address \"198.18.0.300\" in \"198.18.0.300:80\"");
}

TEST(Endpoint, OrdersByAddressThenPort) {
  EXPECT_LT(Endpoint::parse("198.18.0.1:90"), Endpoint::parse("198.18.0.2:80"));
  EXPECT_LT(Endpoint::parse("198.18.0.1:80"), Endpoint::parse("198.18.0.1:90"));
  EXPECT_LT(Endpoint::parse("198.18.0.1:80"), Endpoint::parse("[::1]:80"));
}

// ---- IpPrefix ---------------------------------------------------------------

TEST(IpPrefix, Parses) {
  IpPrefix p = IpPrefix::parse("198.18.64.0/24");
  EXPECT_EQ(p.ip, IpAddr::parse("198.18.64.0"));
  EXPECT_EQ(p.len, 24);
  EXPECT_EQ(p.str(), "198.18.64.0/24");
  EXPECT_EQ(IpPrefix::parse("fd00:1::/64").str(), "fd00:1::/64");
  EXPECT_EQ(IpPrefix::parse("0.0.0.0/0").len, 0);
  EXPECT_EQ(IpPrefix::parse("198.18.64.7/32").len, 32);
  EXPECT_EQ(IpPrefix::parse("198.18.64.128/25").len, 25);
  EXPECT_EQ(IpPrefix::parse("fd00::1/128").len, 128);
}

TEST(IpPrefix, BareAddressIsFullLength) {
  EXPECT_EQ(IpPrefix::parse("198.18.0.1").len, 32);
  EXPECT_EQ(IpPrefix::parse("fd00::1").len, 128);
}

TEST(IpPrefix, RejectsHostBits) {
  EXPECT_EQ(error_of([] { IpPrefix::parse("198.18.64.1/24"); }),
            "invalid prefix \"198.18.64.1/24\": host bits are set (did you mean 198.18.64.0/24?)");
  EXPECT_THROW(IpPrefix::parse("198.18.64.128/24"), InputError);
  EXPECT_THROW(IpPrefix::parse("198.18.64.64/25"), InputError);  // bit 26 of 32
  EXPECT_THROW(IpPrefix::parse("fd00:1::1/64"), InputError);
  EXPECT_THROW(IpPrefix::parse("fd00:1:0:0:8000::/64"), InputError);
  EXPECT_THROW(IpPrefix::parse("1.0.0.0/0"), InputError);
}

TEST(IpPrefix, RejectsBadLengths) {
  EXPECT_EQ(error_of([] { IpPrefix::parse("198.18.0.0/33"); }),
            "invalid prefix length in \"198.18.0.0/33\": must be 0..32");
  EXPECT_THROW(IpPrefix::parse("fd00::/129"), InputError);
  for (const char* text : {"198.18.0.0/", "198.18.0.0/-1", "198.18.0.0/+8", "198.18.0.0/8 ", "198.18.0.0/8/8",
                           "198.18.0.0/0008", "/24", "", "198.18.0.0/x"})
    EXPECT_THROW(IpPrefix::parse(text), InputError) << '"' << text << '"';
}

// ---- protocols and VIP keys -----------------------------------------------

TEST(Proto, ParsesTcpAndUdpOnly) {
  EXPECT_EQ(parse_proto("tcp"), IPPROTO_TCP);
  EXPECT_EQ(parse_proto("udp"), IPPROTO_UDP);
  for (const char* text : {"", "TCP", "icmp", "6", " tcp", "tcp "})
    EXPECT_THROW(parse_proto(text), InputError) << '"' << text << '"';
  EXPECT_EQ(error_of([] { parse_proto("icmp"); }), "invalid protocol \"icmp\": must be tcp or udp");
  EXPECT_EQ(proto_name(IPPROTO_TCP), "tcp");
  EXPECT_EQ(proto_name(IPPROTO_UDP), "udp");
  EXPECT_EQ(proto_name(1), "1");
}

TEST(VipKey, ZeroedAndInNetworkOrder) {
  xlb_vip_key key = make_vip_key(Endpoint::parse("198.18.100.1:80"), IPPROTO_TCP);
  xlb_vip_key expected;
  std::memset(&expected, 0, sizeof expected);
  expected.addr.v4 = htonl(0xc6126401);
  expected.port = htons(80);
  expected.proto = IPPROTO_TCP;
  expected.family = XLB_AF_INET;
  // Bytewise, as the kernel hashes it: the 12 bytes after an IPv4 address
  // are zero however the Endpoint was built.
  EXPECT_EQ(std::memcmp(&key, &expected, sizeof key), 0);
  const auto* bytes = reinterpret_cast<const uint8_t*>(&key);
  EXPECT_EQ(bytes[16], 0);  // port 80 big-endian: 0x00 0x50
  EXPECT_EQ(bytes[17], 0x50);

  Endpoint dirty = Endpoint::parse("198.18.100.1:80");
  dirty.ip.addr.v6[3] = 0xffffffff;  // garbage where an IPv4 address has none
  xlb_vip_key from_dirty = make_vip_key(dirty, IPPROTO_TCP);
  EXPECT_EQ(std::memcmp(&from_dirty, &expected, sizeof key), 0);

  xlb_vip_key v6 = make_vip_key(Endpoint::parse("[fd00::1]:443"), IPPROTO_UDP);
  EXPECT_EQ(v6.family, XLB_AF_INET6);
  EXPECT_EQ(v6.proto, IPPROTO_UDP);
  EXPECT_EQ(v6.port, htons(443));
  EXPECT_EQ(v6.addr.v6[3], htonl(1));
}

}  // namespace
}  // namespace xlb
