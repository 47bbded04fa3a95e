// The flow-hash seed lbd runs with (config "hash_seed"). Every node of a
// pool must run with the same one, or a flow that ECMP moves to another
// node lands on another backend. A config that leaves it unset keeps the
// running seed; with none running (a first start: no pinned maps, no state
// file) lbd generates one, which `lbctl status` and `lbctl save` show so it
// can be given to the other nodes. An explicit hash_seed always wins.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace xlb::pick {

enum class SeedSource { kConfig, kRunning, kGenerated };

struct SeedChoice {
  uint32_t seed = 0;
  SeedSource source = SeedSource::kGenerated;
};

// configured: the hash_seed of the config being started with, if it has
// one; running: the seed of the running state lbd adopted (pinned maps, or
// the state file), if any. random is called only when both are missing.
SeedChoice choose_seed(std::optional<uint32_t> configured, std::optional<uint32_t> running,
                       const std::function<uint32_t()>& random);

// 32 bits from getrandom(2); throws std::runtime_error if it fails.
uint32_t random_seed();

// "hash_seed 123 (generated: ...)", for lbd's log.
std::string seed_log_line(const SeedChoice& choice);

}  // namespace xlb::pick
