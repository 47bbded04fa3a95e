#include "pick/fingerprint.h"

#include <gtest/gtest.h>

#include "xlb/abi.h"

namespace xlb::pick {
namespace {

using Ids = std::vector<std::pair<uint32_t, std::string>>;

// Two nodes that added the same backends in different orders bind other
// ids: the same ring as identities must give the same fingerprint.
TEST(RingFingerprint, IdentitiesNotIds) {
  std::vector<uint32_t> a = {0, 1, 1, 0, XLB_RING_EMPTY};
  std::vector<uint32_t> b = {7, 3, 3, 7, XLB_RING_EMPTY};
  Ids ids_a = {{0, "198.19.0.11:0"}, {1, "198.19.0.12:0"}};
  Ids ids_b = {{3, "198.19.0.12:0"}, {7, "198.19.0.11:0"}};
  EXPECT_EQ(ring_fingerprint(a, ids_a), ring_fingerprint(b, ids_b));
}

TEST(RingFingerprint, SlotOrderAndSizeCount) {
  Ids ids = {{0, "198.19.0.11:0"}, {1, "198.19.0.12:0"}};
  uint64_t base = ring_fingerprint({0, 1, 0}, ids);
  EXPECT_NE(base, ring_fingerprint({1, 0, 0}, ids));                   // slots swapped
  EXPECT_NE(base, ring_fingerprint({0, 1, 0, 0}, ids));                // one slot more
  EXPECT_NE(base, ring_fingerprint({0, 1, XLB_RING_EMPTY}, ids));      // a slot emptied
  EXPECT_NE(base, ring_fingerprint({0, 1, 0}, {{0, "198.19.0.11:0"}, {1, "198.19.0.12:8080"}}));  // a port
  EXPECT_EQ(base, ring_fingerprint({0, 1, 0}, ids));
}

TEST(RingFingerprint, UnknownIdIsVisible) {
  Ids ids = {{0, "198.19.0.11:0"}};
  EXPECT_NE(ring_fingerprint({0, 5}, ids), ring_fingerprint({0, XLB_RING_EMPTY}, ids));
  EXPECT_NE(ring_fingerprint({0, 5}, ids), ring_fingerprint({0, 6}, ids));
}

// A fixed value: the fingerprint must not change between versions (nodes
// upgraded one at a time are compared with each other).
TEST(RingFingerprint, StableValue) {
  EXPECT_EQ(hex16(ring_fingerprint({0, 1, 0}, {{0, "198.19.0.11:0"}, {1, "198.19.0.12:0"}})).size(), 16u);
  EXPECT_EQ(hex16(identity_hash("")), "efd01f60ba992926");
}

TEST(BackendsFingerprint, OrderFreeWeightsCount) {
  uint64_t a = backends_fingerprint({{"198.19.0.11:0", 1}, {"198.19.0.12:0", 2}});
  EXPECT_EQ(a, backends_fingerprint({{"198.19.0.12:0", 2}, {"198.19.0.11:0", 1}}));
  EXPECT_NE(a, backends_fingerprint({{"198.19.0.11:0", 2}, {"198.19.0.12:0", 1}}));
  EXPECT_NE(a, backends_fingerprint({{"198.19.0.11:0", 1}}));
}

TEST(Hex16, Digits) {
  EXPECT_EQ(hex16(0), "0000000000000000");
  EXPECT_EQ(hex16(0x0123456789abcdefull), "0123456789abcdef");
}

}  // namespace
}  // namespace xlb::pick
