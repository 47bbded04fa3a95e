// Weighted Maglev, built in three steps:
//  1. quotas: the number of slots each endpoint owns, apportioned exactly from
//     the weights, so every share is the floor or the ceiling of its exact
//     proportional value;
//  2. turn order: the sequence in which endpoints claim slots, their turns
//     spread evenly over the build in proportion to their quotas;
//  3. population: at its turn an endpoint claims the first free slot of its
//     own permutation of the table, as in the Maglev paper.
#include "core/maglev.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/fnv.h"
#include "xlb/abi.h"

namespace xlb::maglev {
namespace {

// An endpoint's walk over its permutation of the slots: offset, offset+skip,
// offset+2*skip, ... (mod ring_size). ring_size is prime, so every skip in
// 1..ring_size-1 visits every slot exactly once.
struct Permutation {
  uint32_t next;
  uint32_t skip;
};

Permutation permutation_of(const std::string& identity, uint32_t ring_size, uint32_t seed) {
  // Two independent hashes: the seeds 2*seed and 2*seed+1 never collide.
  uint64_t base = static_cast<uint64_t>(seed) << 1;
  return {static_cast<uint32_t>(hash64(identity, base) % ring_size),
          static_cast<uint32_t>(hash64(identity, base | 1) % (ring_size - 1) + 1)};
}

// The endpoints sorted by identity, so that nothing depends on input order.
std::vector<const Endpoint*> sorted_by_identity(const std::vector<Endpoint>& endpoints) {
  std::vector<const Endpoint*> sorted;
  sorted.reserve(endpoints.size());
  for (const Endpoint& ep : endpoints) sorted.push_back(&ep);
  std::sort(sorted.begin(), sorted.end(),
            [](const Endpoint* a, const Endpoint* b) { return a->identity < b->identity; });
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0 && sorted[i]->identity == sorted[i - 1]->identity)
      throw InputError("duplicate Maglev endpoint \"" + sorted[i]->identity + "\"");
    if (sorted[i]->id == XLB_RING_EMPTY)
      throw InputError("Maglev endpoint \"" + sorted[i]->identity + "\" has id " +
                       std::to_string(XLB_RING_EMPTY) + ", which marks an empty slot");
  }
  return sorted;
}

// Slots per endpoint: ring_size apportioned by weight with the largest
// remainder method. Each endpoint gets floor(ring_size * w / total) slots and
// the slots left over go to the largest remainders (ties: identity order).
// Integer arithmetic throughout, so the result is exact and reproducible.
std::vector<uint32_t> apportion(const std::vector<const Endpoint*>& sorted, uint32_t ring_size,
                                uint64_t total_weight) {
  std::vector<uint32_t> quotas(sorted.size());
  std::vector<uint64_t> remainders(sorted.size());
  uint32_t assigned = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    uint64_t share = uint64_t{ring_size} * sorted[i]->weight;  // < 2^52
    quotas[i] = static_cast<uint32_t>(share / total_weight);
    remainders[i] = share % total_weight;
    assigned += quotas[i];
  }
  // The remainders sum to (ring_size - assigned) * total_weight and each is
  // below total_weight, so more than (ring_size - assigned) of them are
  // positive: a weight-0 endpoint never receives a leftover slot.
  std::vector<uint32_t> order(sorted.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return remainders[a] != remainders[b] ? remainders[a] > remainders[b] : a < b;
  });
  for (uint32_t k = 0; k < ring_size - assigned; ++k) ++quotas[order[k]];
  return quotas;
}

// Calls visit(round) for each of an endpoint's turns. The build runs
// max_quota rounds; the k-th turn (k = 0..quota-1) falls in round
// floor(k * max_quota / quota), so the endpoint with the largest quota plays
// every round and the others are spread evenly across them (stride
// scheduling). Incremental, to avoid a division per turn.
template <typename Visit>
void for_each_turn(uint32_t quota, uint32_t max_quota, Visit visit) {
  uint32_t stride = max_quota / quota, fraction = max_quota % quota;
  uint32_t round = 0, carried = 0;
  for (uint32_t k = 0; k < quota; ++k) {
    visit(round);
    round += stride;
    carried += fraction;
    if (carried >= quota) {
      carried -= quota;
      ++round;
    }
  }
}

// Endpoint indices in the order they take turns: by round, then by identity.
// With equal weights this is the round robin of the Maglev paper. A counting
// sort over rounds keeps the cost linear in ring_size however skewed the
// weights are (scanning every endpoint every round would not).
std::vector<uint32_t> turn_order(const std::vector<uint32_t>& quotas, uint32_t ring_size) {
  uint32_t max_quota = *std::max_element(quotas.begin(), quotas.end());
  std::vector<uint32_t> round_start(max_quota + 1, 0);
  for (uint32_t quota : quotas)
    if (quota > 0) for_each_turn(quota, max_quota, [&](uint32_t round) { ++round_start[round + 1]; });
  for (uint32_t r = 1; r <= max_quota; ++r) round_start[r] += round_start[r - 1];

  std::vector<uint32_t> turns(ring_size);
  for (uint32_t i = 0; i < quotas.size(); ++i)
    if (quotas[i] > 0)
      for_each_turn(quotas[i], max_quota, [&](uint32_t round) { turns[round_start[round]++] = i; });
  return turns;
}

// Inverse of a modulo the prime m (0 < a < m), by the extended Euclidean
// algorithm.
uint32_t inverse_mod(uint32_t a, uint32_t m) {
  int64_t t = 0, next_t = 1, r = m, next_r = a;
  while (next_r != 0) {
    int64_t q = r / next_r;
    t -= q * next_t;
    std::swap(t, next_t);
    r -= q * next_r;
    std::swap(r, next_r);
  }
  return static_cast<uint32_t>(t < 0 ? t + m : t);
}

// Plays the turns: at its turn an endpoint takes the first free slot along
// its walk. Walking finds one in about ring_size / free steps, so the last
// turns would dominate the build (at 65537 slots, the last 256 turns take
// half of all steps). Once only about sqrt(ring_size) slots are free, they are
// listed instead, and a turn takes the listed slot the fewest steps ahead on
// the walk (steps = distance * skip^-1 mod ring_size): the slot the walk
// would reach, found in O(free) rather than O(ring_size / free) steps. Both
// phases pick the same slots, so where the switch happens affects only speed.
void fill(std::vector<uint32_t>& ring, const std::vector<uint32_t>& turns,
          std::vector<Permutation>& walks, const std::vector<const Endpoint*>& sorted) {
  const auto ring_size = static_cast<uint32_t>(ring.size());
  const auto listed_phase_size = std::min(ring_size, static_cast<uint32_t>(std::sqrt(ring_size)));
  const uint32_t walking_turns = ring_size - listed_phase_size;

  // Occupancy as a bitmap: 8 KiB for 65537 slots stays in L1, where the
  // ring itself would not.
  std::vector<uint64_t> taken((ring_size + 63) / 64, 0);
  auto is_taken = [&](uint32_t slot) { return (taken[slot / 64] >> (slot % 64)) & 1; };
  for (uint32_t t = 0; t < walking_turns; ++t) {
    Permutation& walk = walks[turns[t]];
    uint32_t slot = walk.next;
    while (is_taken(slot)) {
      slot += walk.skip;  // both < ring_size <= 2^20: no overflow
      if (slot >= ring_size) slot -= ring_size;
    }
    taken[slot / 64] |= uint64_t{1} << (slot % 64);
    ring[slot] = sorted[turns[t]]->id;
    walk.next = slot;
  }

  std::vector<uint32_t> free_slots;
  for (uint32_t slot = 0; slot < ring_size; ++slot)
    if (!is_taken(slot)) free_slots.push_back(slot);
  std::vector<uint32_t> inverse_skip(walks.size(), 0);  // 0: not computed yet
  for (uint32_t t = walking_turns; t < ring_size; ++t) {
    Permutation& walk = walks[turns[t]];
    uint32_t& inverse = inverse_skip[turns[t]];
    if (inverse == 0) inverse = inverse_mod(walk.skip, ring_size);
    size_t nearest = 0;
    uint64_t fewest_steps = UINT64_MAX;
    for (size_t k = 0; k < free_slots.size(); ++k) {
      uint64_t distance = free_slots[k] >= walk.next ? free_slots[k] - walk.next
                                                     : free_slots[k] + ring_size - walk.next;
      uint64_t steps = distance * inverse % ring_size;
      if (steps < fewest_steps) {
        fewest_steps = steps;
        nearest = k;
      }
    }
    walk.next = free_slots[nearest];
    ring[walk.next] = sorted[turns[t]]->id;
    free_slots[nearest] = free_slots.back();  // order is irrelevant: steps are distinct
    free_slots.pop_back();
  }
}

}  // namespace

std::vector<uint32_t> build_ring(const std::vector<Endpoint>& endpoints, uint32_t ring_size,
                                 uint32_t seed) {
  if (!is_prime(ring_size) || ring_size > XLB_MAX_RING_SIZE)
    throw InputError("invalid Maglev ring size " + std::to_string(ring_size) +
                     ": must be a prime no larger than " + std::to_string(XLB_MAX_RING_SIZE));
  std::vector<const Endpoint*> sorted = sorted_by_identity(endpoints);
  std::vector<uint32_t> ring(ring_size, XLB_RING_EMPTY);

  uint64_t total_weight = 0;
  for (const Endpoint* ep : sorted) total_weight += ep->weight;
  if (total_weight == 0) return ring;

  std::vector<uint32_t> quotas = apportion(sorted, ring_size, total_weight);
  std::vector<Permutation> walks;
  walks.reserve(sorted.size());
  for (const Endpoint* ep : sorted) walks.push_back(permutation_of(ep->identity, ring_size, seed));

  fill(ring, turn_order(quotas, ring_size), walks, sorted);
  return ring;
}

std::vector<SlotChange> diff(const std::vector<uint32_t>& before, const std::vector<uint32_t>& after) {
  if (before.size() != after.size())
    throw InputError("cannot diff Maglev rings of different sizes (" + std::to_string(before.size()) +
                     " and " + std::to_string(after.size()) + ")");
  std::vector<SlotChange> changes;
  for (uint32_t slot = 0; slot < before.size(); ++slot)
    if (before[slot] != after[slot]) changes.push_back({slot, after[slot]});
  return changes;
}

bool is_prime(uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint64_t d = 3; d * d <= n; d += 2)
    if (n % d == 0) return false;
  return true;
}

}  // namespace xlb::maglev
