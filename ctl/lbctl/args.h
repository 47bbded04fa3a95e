// Checks of what the user typed, made before lbd is contacted. Each validator
// runs a parser on an argument and replaces the argument with its canonical
// spelling: a bad value is a usage error (exit 2) that names the argument and
// the problem, and lbd always receives one spelling of each address.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "lbctl/client.h"

namespace xlb::lbctl {

CLI::Validator vip_endpoint();                          // "198.18.100.1:80", "[fd00:100::1]:80"
CLI::Validator ip_address();                            // "198.19.0.11", "fd00:19::11"
CLI::Validator protocol();                              // "tcp", "udp"
CLI::Validator integer_in(uint64_t min, uint64_t max);  // decimal
CLI::Validator backend_weight(bool allow_zero);         // 0 or 1..kMaxWeight
CLI::Validator port_number();                           // 1..65535
// The rules lbd applies too (core/rules.h), checked here so that a bad value
// is a usage error rather than a refused operation.
CLI::Validator scheduler();        // "maglev", "least-conn", "rr", "wrr", "random", "src-hash"
CLI::Validator forwarding_mode();  // "ipip", "nat", "fullnat", "l2dsr"
CLI::Validator ring_size();        // a prime up to XLB_MAX_RING_SIZE

// The VIP every per-VIP command takes: a positional VIP and --proto.
struct VipArgs {
  std::string vip;
  std::string proto;
};
void add_vip_args(CLI::App& cmd, VipArgs& args);

// {"cmd": cmd, "vip": ..., "proto": ...}, the start of every per-VIP request.
Json vip_request(const std::string& cmd, const VipArgs& args);

}  // namespace xlb::lbctl
