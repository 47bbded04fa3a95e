#include "pick/flow_pick.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>

#include "xlb/flow_hash.h"

namespace xlb::pick {
namespace {

xlb_addr v4(const char* text) {
  xlb_addr a{};
  inet_pton(AF_INET, text, &a.v4);
  return a;
}
xlb_addr v6(const char* text) {
  xlb_addr a{};
  inet_pton(AF_INET6, text, a.v6);
  return a;
}

// The kernel's jhash2 (lookup3, include/linux/jhash.h) written out
// independently, over the key's 10 words.
uint32_t rol32(uint32_t w, unsigned s) { return (w << s) | (w >> ((32 - s) & 31)); }
uint32_t ref_jhash2(const uint32_t* k, uint32_t length, uint32_t initval) {
  uint32_t a, b, c;
  a = b = c = 0xdeadbeef + (length << 2) + initval;
  while (length > 3) {
    a += k[0]; b += k[1]; c += k[2];
    a -= c; a ^= rol32(c, 4); c += b;
    b -= a; b ^= rol32(a, 6); a += c;
    c -= b; c ^= rol32(b, 8); b += a;
    a -= c; a ^= rol32(c, 16); c += b;
    b -= a; b ^= rol32(a, 19); a += c;
    c -= b; c ^= rol32(b, 4); b += a;
    length -= 3;
    k += 3;
  }
  switch (length) {
    case 3: c += k[2]; [[fallthrough]];
    case 2: b += k[1]; [[fallthrough]];
    case 1:
      a += k[0];
      c ^= b; c -= rol32(b, 14);
      a ^= c; a -= rol32(c, 11);
      b ^= a; b -= rol32(a, 25);
      c ^= b; c -= rol32(b, 16);
      a ^= c; a -= rol32(c, 4);
      b ^= a; b -= rol32(a, 14);
      c ^= b; c -= rol32(b, 24);
  }
  return c;
}

TEST(FlowKey, LaidOutAsTheDataPathDoes) {
  xlb_flow_key k = flow_key(XLB_AF_INET, IPPROTO_TCP, v4("198.18.1.2"), 40000, v4("198.18.100.1"), 80);
  xlb_flow_key want;
  std::memset(&want, 0, sizeof want);
  inet_pton(AF_INET, "198.18.1.2", &want.src.v4);
  inet_pton(AF_INET, "198.18.100.1", &want.dst.v4);
  want.sport = htons(40000);
  want.dport = htons(80);
  want.proto = IPPROTO_TCP;
  want.family = XLB_AF_INET;
  EXPECT_EQ(std::memcmp(&k, &want, sizeof k), 0);
}

TEST(RingHash, MaglevIsJhash2OfTheKey) {
  for (uint32_t seed : {0u, 1u, 0xdeadbeefu}) {
    xlb_flow_key k = flow_key(XLB_AF_INET6, IPPROTO_UDP, v6("fd00:1::2"), 5353, v6("fd00:100::1"), 53);
    auto h = ring_hash(XLB_SCHED_MAGLEV, k, seed);
    ASSERT_TRUE(h);
    EXPECT_EQ(*h, ref_jhash2(reinterpret_cast<const uint32_t*>(&k), 10, seed));
  }
}

TEST(RingHash, SrcHashIgnoresPorts) {
  xlb_flow_key a = flow_key(XLB_AF_INET, IPPROTO_TCP, v4("198.18.1.2"), 1000, v4("198.18.100.1"), 80);
  xlb_flow_key b = flow_key(XLB_AF_INET, IPPROTO_TCP, v4("198.18.1.2"), 2000, v4("198.18.100.1"), 80);
  EXPECT_EQ(ring_hash(XLB_SCHED_SRC_HASH, a, 5), ring_hash(XLB_SCHED_SRC_HASH, b, 5));
  EXPECT_EQ(*ring_hash(XLB_SCHED_SRC_HASH, a, 5), ref_jhash2(a.src.v6, 4, 5));
  EXPECT_NE(ring_hash(XLB_SCHED_MAGLEV, a, 5), ring_hash(XLB_SCHED_MAGLEV, b, 5));
}

TEST(RingHash, SeedMatters) {
  xlb_flow_key k = flow_key(XLB_AF_INET, IPPROTO_TCP, v4("198.18.1.2"), 1000, v4("198.18.100.1"), 80);
  EXPECT_NE(ring_hash(XLB_SCHED_MAGLEV, k, 1), ring_hash(XLB_SCHED_MAGLEV, k, 2));
}

TEST(RingHash, StatefulSchedulersHaveNone) {
  xlb_flow_key k = flow_key(XLB_AF_INET, IPPROTO_TCP, v4("198.18.1.2"), 1000, v4("198.18.100.1"), 80);
  for (uint8_t s : {XLB_SCHED_LEAST_CONN, XLB_SCHED_RR, XLB_SCHED_WRR, XLB_SCHED_RANDOM}) {
    EXPECT_FALSE(ring_hash(s, k, 0));
    EXPECT_FALSE(pick_is_stateless(s));
  }
  EXPECT_TRUE(pick_is_stateless(XLB_SCHED_MAGLEV));
  EXPECT_TRUE(pick_is_stateless(XLB_SCHED_SRC_HASH));
}

TEST(RingSlot, Modulo) { EXPECT_EQ(ring_slot(65537u * 3 + 12, 65537), 12u); }

}  // namespace
}  // namespace xlb::pick
