#include "pick/fingerprint.h"

#include <algorithm>
#include <cstdio>

#include "core/fnv.h"
#include "xlb/abi.h"

namespace xlb::pick {
namespace {

// FNV-1a over the 8 bytes of a word, little-endian whatever the host.
uint64_t mix_word(uint64_t h, uint64_t word) {
  for (int i = 0; i < 8; ++i) {
    h ^= (word >> (8 * i)) & 0xff;
    h *= kFnvPrime;
  }
  return h;
}

}  // namespace

uint64_t identity_hash(std::string_view identity) { return hash64(identity); }

uint64_t ring_fingerprint(const std::vector<uint32_t>& ring,
                          const std::vector<std::pair<uint32_t, std::string>>& identities) {
  // Each identity hashed once, then one word per slot: a 1M-slot ring is a
  // few milliseconds.
  uint32_t max_id = 0;
  for (const auto& [id, identity] : identities) max_id = std::max(max_id, id);
  std::vector<uint64_t> by_id(identities.empty() ? 0 : size_t{max_id} + 1, 0);
  std::vector<bool> known(by_id.size(), false);
  for (const auto& [id, identity] : identities) {
    by_id[id] = identity_hash(identity);
    known[id] = true;
  }
  uint64_t h = mix_word(kFnvOffset, ring.size());
  for (uint32_t id : ring) {
    uint64_t word = 0;  // an empty slot
    if (id != XLB_RING_EMPTY) word = id < by_id.size() && known[id] ? by_id[id] : identity_hash("?" + std::to_string(id));
    h = mix_word(h, word);
  }
  return fmix64(h);
}

uint64_t backends_fingerprint(std::vector<Weighted> backends) {
  std::sort(backends.begin(), backends.end(),
            [](const Weighted& a, const Weighted& b) { return a.identity < b.identity; });
  uint64_t h = mix_word(kFnvOffset, backends.size());
  for (const Weighted& b : backends) {
    h = mix_word(h, identity_hash(b.identity));
    h = mix_word(h, b.weight);
  }
  return fmix64(h);
}

std::string hex16(uint64_t value) {
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(value));
  return out;
}

}  // namespace xlb::pick
