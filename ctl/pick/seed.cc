#include "pick/seed.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace xlb::pick {

SeedChoice choose_seed(std::optional<uint32_t> configured, std::optional<uint32_t> running,
                       const std::function<uint32_t()>& random) {
  if (configured) return {*configured, SeedSource::kConfig};
  if (running) return {*running, SeedSource::kRunning};
  return {random(), SeedSource::kGenerated};
}

uint32_t random_seed() {
  uint32_t seed = 0;
  // 4 bytes from the urandom pool never come back short once it is
  // initialised; flags 0 blocks until it is (early boot only).
  ssize_t n;
  do {
    n = getrandom(&seed, sizeof seed, 0);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof seed))
    throw std::runtime_error(std::string("getrandom: ") + (n < 0 ? std::strerror(errno) : "short read"));
  return seed;
}

std::string seed_log_line(const SeedChoice& c) {
  std::string s = "hash_seed " + std::to_string(c.seed);
  switch (c.source) {
    case SeedSource::kConfig: return s + " (from the config)";
    case SeedSource::kRunning: return s + " (the running seed, kept)";
    case SeedSource::kGenerated:
      return s + " (generated: no config or running state had one; give every node of the pool this seed, "
                 "see `lbctl status` / `lbctl save`)";
  }
  return s;
}

}  // namespace xlb::pick
