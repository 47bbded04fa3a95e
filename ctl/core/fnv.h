// The control plane's 64-bit string hash: seeded FNV-1a, finalised with
// MurmurHash3's fmix64 so that every input bit reaches every output bit
// (the low bits Maglev keeps with "% ring_size" included). Plain integer
// arithmetic on bytes: every build on every platform gives the same value,
// which rings and fingerprints compared between nodes need (std::hash would
// not). Header-only: ctl/pick uses it without linking xlb_core.
#pragma once
#include <cstdint>
#include <string_view>

namespace xlb {

// MurmurHash3's 64-bit finaliser: a bijection.
inline uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

// fmix64(seed) is 0 for seed 0: the unseeded hash is plain FNV-1a, finalised.
inline uint64_t hash64(std::string_view text, uint64_t seed = 0) {
  uint64_t h = kFnvOffset ^ fmix64(seed);
  for (unsigned char c : text) {
    h ^= c;
    h *= kFnvPrime;
  }
  return fmix64(h);
}

}  // namespace xlb
