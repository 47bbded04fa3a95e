#include "core/maglev.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "core/error.h"
#include "xlb/abi.h"

namespace xlb::maglev {
namespace {

constexpr uint32_t kRingSize = XLB_DEFAULT_RING_SIZE;  // 65537

// Backends named like lbd names them; ids 0..count-1.
std::vector<Endpoint> backends(uint32_t count, bool mixed_weights = false) {
  std::vector<Endpoint> endpoints;
  for (uint32_t i = 0; i < count; ++i)
    endpoints.push_back({"198.19." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":0", i,
                         mixed_weights ? 1 + i % 4 : 1});
  return endpoints;
}

std::map<uint32_t, uint32_t> slots_per_id(const std::vector<uint32_t>& ring) {
  std::map<uint32_t, uint32_t> counts;
  for (uint32_t id : ring) ++counts[id];
  return counts;
}

uint64_t total_weight(const std::vector<Endpoint>& endpoints) {
  uint64_t total = 0;
  for (const Endpoint& ep : endpoints) total += ep.weight;
  return total;
}

// ---- balance --------------------------------------------------------------

struct BalanceCase {
  uint32_t backends;
  bool mixed_weights;
};

std::string case_name(const testing::TestParamInfo<BalanceCase>& info) {
  return std::to_string(info.param.backends) + (info.param.mixed_weights ? "Mixed" : "Equal");
}

class MaglevBalance : public testing::TestWithParam<BalanceCase> {};

// Slots are apportioned exactly, so every backend holds the floor or the
// ceiling of its exact share ring_size * weight / total_weight. That is the
// best any ring can do, and it puts every share within 1% (relative) of its
// weight share, with one infeasible exception: 1000 backends with weights
// 1..4. There a weight-2 backend's exact share is 52.43 slots; 52 is 0.8% low
// and 53 is 1.1% high, and the 537 slots left over after the floors must go
// to someone (giving them to the weight-1 backends would be 3% off). For
// that case the test asserts the floor-or-ceiling property alone.
TEST_P(MaglevBalance, EachShareIsFloorOrCeilingOfItsWeightShare) {
  const BalanceCase& param = GetParam();
  std::vector<Endpoint> endpoints = backends(param.backends, param.mixed_weights);
  std::map<uint32_t, uint32_t> counts = slots_per_id(build_ring(endpoints, kRingSize, 0));

  ASSERT_EQ(counts.count(XLB_RING_EMPTY), 0u);
  bool one_percent_feasible = !(param.backends == 1000 && param.mixed_weights);
  for (const Endpoint& ep : endpoints) {
    double expected = double(kRingSize) * ep.weight / double(total_weight(endpoints));
    uint32_t got = counts[ep.id];
    EXPECT_TRUE(got == std::floor(expected) || got == std::ceil(expected))
        << ep.identity << " weight " << ep.weight << ": " << got << " slots, expected " << expected;
    if (one_percent_feasible) {
      EXPECT_LE(std::abs(got / expected - 1), 0.01)
          << ep.identity << " weight " << ep.weight << ": " << got << " slots, expected " << expected;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(BackendCountsAndWeights, MaglevBalance,
                         testing::Values(BalanceCase{3, false}, BalanceCase{10, false},
                                         BalanceCase{100, false}, BalanceCase{1000, false},
                                         BalanceCase{3, true}, BalanceCase{10, true},
                                         BalanceCase{100, true}, BalanceCase{1000, true}),
                         case_name);

TEST(Maglev, FillsLargeRing) {
  std::vector<uint32_t> ring = build_ring(backends(1000, true), 655373, 7);
  ASSERT_EQ(ring.size(), 655373u);
  EXPECT_EQ(std::count(ring.begin(), ring.end(), XLB_RING_EMPTY), 0);
}

TEST(Maglev, SkewedWeightsStillExact) {
  // One heavy backend among many light ones: the turn order must not degrade
  // (its cost is linear in ring_size whatever the weights).
  std::vector<Endpoint> endpoints = backends(1000);
  endpoints[0].weight = 65535;
  std::map<uint32_t, uint32_t> counts = slots_per_id(build_ring(endpoints, kRingSize, 0));
  for (const Endpoint& ep : endpoints) {
    double expected = double(kRingSize) * ep.weight / double(total_weight(endpoints));
    EXPECT_LT(std::abs(counts[ep.id] - expected), 1.0) << ep.identity;
  }
}

// ---- disruption -----------------------------------------------------------

struct Removal {
  size_t removed_slots = 0;   // slots the removed backend held
  size_t moved = 0;           // slots whose backend changed
  size_t moved_survivor = 0;  // of those, slots that had pointed at a survivor
  bool removed_slots_to_survivors = true;
};

Removal remove_backend(std::vector<Endpoint> endpoints, size_t index, uint32_t seed) {
  std::vector<uint32_t> before = build_ring(endpoints, kRingSize, seed);
  uint32_t removed = endpoints[index].id;
  endpoints.erase(endpoints.begin() + static_cast<ptrdiff_t>(index));
  std::vector<uint32_t> after = build_ring(endpoints, kRingSize, seed);

  Removal r;
  for (uint32_t slot = 0; slot < kRingSize; ++slot) {
    if (before[slot] == removed) ++r.removed_slots;
    if (before[slot] == after[slot]) continue;
    ++r.moved;
    if (before[slot] != removed) ++r.moved_survivor;
    if (after[slot] == removed || after[slot] == XLB_RING_EMPTY) r.removed_slots_to_survivors = false;
  }
  return r;
}

// Removing a backend must move its own slots (1/N of the ring with equal
// weights) to survivors, and Maglev moves a few more: as the survivors'
// quotas grow, some claim slots earlier on their permutations and displace
// one another. It does NOT keep every survivor's slots in place. Measured
// over 10 seeds and every choice of removed backend (2200 removals, N = 10
// and 100, equal and 1..4 weights): survivors lost at most 0.72% of the ring
// (median 0.23% at N = 10, 0.56% at N = 100), so with equal weights the total
// moved was at most 1.05/N at N = 10 and 1.67/N at N = 100. The bound below:
// the removed backend's slots plus at most 0.8% of the ring of churn among
// survivors.
constexpr double kMaxSurvivorChurn = 0.008;

class MaglevRemoval : public testing::TestWithParam<BalanceCase> {};

TEST_P(MaglevRemoval, MovesTheRemovedShareAndLittleMore) {
  const BalanceCase& param = GetParam();
  for (uint32_t seed : {0u, 1u, 2u}) {
    for (size_t index : {size_t{0}, size_t{param.backends / 2}, size_t{param.backends - 1}}) {
      Removal r = remove_backend(backends(param.backends, param.mixed_weights), index, seed);
      double removed_share = double(r.removed_slots) / kRingSize;
      double moved = double(r.moved) / kRingSize;
      EXPECT_TRUE(r.removed_slots_to_survivors);
      EXPECT_EQ(r.moved - r.moved_survivor, r.removed_slots);
      EXPECT_LE(double(r.moved_survivor) / kRingSize, kMaxSurvivorChurn)
          << "seed " << seed << " index " << index;
      EXPECT_LE(moved, removed_share + kMaxSurvivorChurn) << "seed " << seed << " index " << index;
      if (!param.mixed_weights) {
        EXPECT_LE(moved, 1.0 / param.backends + kMaxSurvivorChurn) << "seed " << seed << " index " << index;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(BackendCountsAndWeights, MaglevRemoval,
                         testing::Values(BalanceCase{10, false}, BalanceCase{100, false},
                                         BalanceCase{10, true}, BalanceCase{100, true}),
                         case_name);

TEST(Maglev, ZeroWeightEndpointIsInvisible) {
  // A draining backend (weight 0) takes no slots and does not perturb the
  // others: the ring equals the ring without it.
  std::vector<Endpoint> endpoints = backends(10);
  std::vector<uint32_t> without = build_ring(endpoints, kRingSize, 0);
  endpoints.push_back({"198.19.9.9:0", 99, 0});
  std::vector<uint32_t> with = build_ring(endpoints, kRingSize, 0);
  EXPECT_EQ(with, without);
  EXPECT_EQ(std::count(with.begin(), with.end(), 99u), 0);
}

// ---- determinism ----------------------------------------------------------

TEST(Maglev, InputOrderDoesNotMatter) {
  std::vector<Endpoint> endpoints = backends(100, true);
  std::vector<uint32_t> ring = build_ring(endpoints, kRingSize, 0);
  std::mt19937 rng(42);
  for (int i = 0; i < 3; ++i) {
    std::shuffle(endpoints.begin(), endpoints.end(), rng);
    EXPECT_EQ(build_ring(endpoints, kRingSize, 0), ring);
  }
}

TEST(Maglev, SeedChangesTheRing) {
  std::vector<Endpoint> endpoints = backends(10);
  std::vector<uint32_t> a = build_ring(endpoints, kRingSize, 0);
  std::vector<uint32_t> b = build_ring(endpoints, kRingSize, 1);
  EXPECT_GT(diff(a, b).size(), kRingSize / 2);
}

// Load balancers of one pool build their rings independently and must agree,
// whatever build or version of lbd each runs: the hash and the algorithm are
// part of the contract. This pins one small ring; if it changes, every pool
// must be upgraded at once.
TEST(Maglev, RingIsStableAcrossBuilds) {
  std::vector<Endpoint> endpoints = {{"198.19.0.1:0", 1, 1}, {"198.19.0.2:0", 2, 2}, {"[fd00::3]:0", 3, 1}};
  std::vector<uint32_t> expected = {2, 3, 3, 2, 3, 2, 2, 2, 2, 1, 1, 1, 2};
  EXPECT_EQ(build_ring(endpoints, 13, 7), expected);
}

// ---- edge cases -----------------------------------------------------------

TEST(Maglev, NoPositiveWeightGivesEmptyRing) {
  std::vector<uint32_t> all_empty(kRingSize, XLB_RING_EMPTY);
  EXPECT_EQ(build_ring({}, kRingSize, 0), all_empty);
  EXPECT_EQ(build_ring({{"a", 1, 0}, {"b", 2, 0}}, kRingSize, 0), all_empty);
}

TEST(Maglev, SmallRings) {
  EXPECT_EQ(build_ring({{"a", 5, 1}}, 2, 0), (std::vector<uint32_t>{5, 5}));
  std::map<uint32_t, uint32_t> counts = slots_per_id(build_ring(backends(3), 7, 0));
  EXPECT_EQ(counts[0] + counts[1] + counts[2], 7u);
  for (uint32_t id = 0; id < 3; ++id) EXPECT_GE(counts[id], 2u);
  // More backends than slots: some get none, none gets two.
  counts = slots_per_id(build_ring(backends(20), 13, 0));
  EXPECT_EQ(counts.size(), 13u);
}

TEST(Maglev, RejectsBadInput) {
  EXPECT_THROW(build_ring(backends(3), 65536, 0), InputError);
  EXPECT_THROW(build_ring(backends(3), 0, 0), InputError);
  EXPECT_THROW(build_ring(backends(3), 1, 0), InputError);
  EXPECT_THROW(build_ring(backends(3), 1048583, 0), InputError);  // prime, above XLB_MAX_RING_SIZE
  EXPECT_NO_THROW(build_ring(backends(3), XLB_MAX_RING_SIZE, 0));
  EXPECT_THROW(build_ring({{"a", 1, 1}, {"a", 2, 1}}, 13, 0), InputError);
  EXPECT_THROW(build_ring({{"a", XLB_RING_EMPTY, 1}}, 13, 0), InputError);
}

TEST(Maglev, DiffListsChangedSlotsWithNewValues) {
  std::vector<uint32_t> before = {1, 2, 3, 4};
  std::vector<uint32_t> after = {1, 5, 3, XLB_RING_EMPTY};
  std::vector<SlotChange> changes = diff(before, after);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].slot, 1u);
  EXPECT_EQ(changes[0].id, 5u);
  EXPECT_EQ(changes[1].slot, 3u);
  EXPECT_EQ(changes[1].id, XLB_RING_EMPTY);
  EXPECT_TRUE(diff(before, before).empty());
  EXPECT_THROW(diff(before, {1, 2, 3}), InputError);
}

TEST(Maglev, IsPrime) {
  for (uint32_t n : {0u, 1u, 4u, 9u, 65535u, 65536u, 4294836225u /* 65535^2 */, 4294967295u})
    EXPECT_FALSE(is_prime(n)) << n;
  for (uint32_t n : {2u, 3u, 13u, 65537u, 655373u, XLB_MAX_RING_SIZE, 4294967291u})
    EXPECT_TRUE(is_prime(n)) << n;
}

}  // namespace
}  // namespace xlb::maglev
