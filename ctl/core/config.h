// The load balancer's declarative config (docs/api.md, "Config"): parsed
// strictly from JSON into plain structs, and serialized back. Parsing
// validates everything a config can get wrong on its own (syntax, unknown
// keys, ranges, duplicates, family rules), so applying a parsed config only
// fails on capacity or the kernel.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "endpoint.h"

namespace xlb {

struct BackendConfig {
  IpAddr address;
  uint32_t weight = 1;
};

struct VipConfig {
  Endpoint vip;
  uint8_t proto = 0;
  uint8_t sched = XLB_SCHED_MAGLEV;
  uint8_t mode = XLB_MODE_IPIP;
  uint32_t ring_size = XLB_DEFAULT_RING_SIZE;
  std::vector<BackendConfig> backends;
};

struct EncapConfig {
  std::optional<IpPrefix> source_v4;  // unset: the interface's first IPv4 address
  std::optional<IpPrefix> source_v6;
};

struct Config {
  EncapConfig encap;
  uint32_t hash_seed = 0;
  std::vector<VipConfig> vips;
};

// Throws InputError("<field path>: <problem>").
Config parse_config(const nlohmann::json& json);
// Same, from text; `origin` (e.g. a file name) prefixes JSON syntax errors.
Config parse_config_text(const std::string& text, const std::string& origin = "config");
nlohmann::json config_to_json(const Config& config);

// An encapsulation source as written in a config: a bare address for a
// full-length prefix, "a.b.c.d/len" otherwise.
std::string encap_source_str(const IpPrefix& prefix);

}  // namespace xlb
