// Fingerprints an operator compares between nodes (`lbctl status`, `lbctl
// list`): nodes with equal fingerprints give a new flow the same backend.
//
// A ring is fingerprinted as identities, never as backend ids: ids are local
// to a node (the order backends were added in), while the ring is built from
// identities ("address:port", core/maglev.h), so two nodes with the same
// config have equal fingerprints however they got there.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xlb::pick {

// Seeded nowhere, fixed forever: a fingerprint must mean the same on every
// node and every version that prints it.
uint64_t identity_hash(std::string_view identity);

// The ring, slot by slot in slot order, as the identity of each slot's
// backend (an empty slot as none), plus its size. identities: backend id ->
// identity for every id the ring may hold; an id missing from it (model and
// maps disagree) is hashed as "?<id>", so the fingerprint shows it.
// Linear in the ring size: compute it once per ring build, not per request.
uint64_t ring_fingerprint(const std::vector<uint32_t>& ring,
                          const std::vector<std::pair<uint32_t, std::string>>& identities);

// For schedulers whose pick is not a function of the flow (least-conn, rr,
// wrr, random): the set of backends that take new flows, with their
// weights. Order-independent.
struct Weighted {
  std::string identity;
  uint32_t weight = 0;
};
uint64_t backends_fingerprint(std::vector<Weighted> backends);

// 16 lower-case hex digits.
std::string hex16(uint64_t value);

}  // namespace xlb::pick
