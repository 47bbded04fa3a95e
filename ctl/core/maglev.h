// Weighted Maglev consistent hashing (Eisenbud et al., NSDI 2016), as a pure
// library: no kernel, no maps. The ring depends only on the set of endpoint
// identities, their weights, the table size and the seed -- never on the
// order endpoints are given in -- so two lbd instances with the same config
// produce identical rings.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace xlb::maglev {

struct Endpoint {
  std::string identity;  // stable name, e.g. "198.19.0.11:0"; unique per ring
  uint32_t id = 0;       // value written into the ring slots (a backend_id)
  uint32_t weight = 1;   // 0: present but takes no slots
};

// Slot -> endpoint id, ring_size entries. Each endpoint's share of slots is
// proportional to its weight. Slots are XLB_RING_EMPTY when no endpoint has a
// positive weight. ring_size must be prime and at most XLB_MAX_RING_SIZE
// (throws InputError otherwise).
std::vector<uint32_t> build_ring(const std::vector<Endpoint>& endpoints, uint32_t ring_size,
                                 uint32_t seed);

struct SlotChange {
  uint32_t slot;
  uint32_t id;
};

// The slots whose value differs between two rings of the same size.
std::vector<SlotChange> diff(const std::vector<uint32_t>& before, const std::vector<uint32_t>& after);

bool is_prime(uint32_t n);

}  // namespace xlb::maglev
