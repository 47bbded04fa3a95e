// Health states across lbd restarts (issue 12: a restarted lbd starts from
// the states it had, not from "all up"). A compact text form, one line per
// backend, that lbd can keep in a state file or as one value of a pinned
// map (docs/health.md, "Restart persistence"):
//
//   xlb-health 1
//   198.18.100.1:80/tcp/198.19.0.12:8080 down 1796601600000 3 connect timeout after 1000 ms (3/3)
//   <identity> <state> <since, ms> <admin weight> <reason: the rest of the line>
//
// Lines are sorted by identity, so equal states give equal bytes. In the
// reason, "\" and line breaks are escaped ("\\", "\n", "\r"); it is cut to
// kMaxSavedReason bytes. The admin weight is saved because the maps hold
// only the ring weight: after a restart, a backend with weight 0 there is
// health-down with its saved admin weight, or drained by the operator when
// that is 0 (policy.h).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "core/endpoint.h"
#include "tracker.h"

namespace xlb::health {

constexpr size_t kMaxSavedReason = 200;

// "198.18.100.1:80/tcp/198.19.0.12:8080", "[fd00::1]:53/udp/[fd00:19::11]:53":
// VIP, protocol and the backend's address with the port its traffic goes
// to (port 0 is the VIP's, written out, so one backend has one identity).
std::string backend_identity(const Endpoint& vip, uint8_t proto, const IpAddr& backend, uint16_t port);

struct SavedHealth {
  State state = State::kUnchecked;
  TimeMs since = 0;
  uint32_t admin_weight = 0;
  std::string reason;
  bool operator==(const SavedHealth& o) const {
    return state == o.state && since == o.since && admin_weight == o.admin_weight && reason == o.reason;
  }
};

using SavedStates = std::map<std::string, SavedHealth>;  // by identity

std::string encode_states(const SavedStates& states);
// Throws InputError("health state line N: <problem>") on anything but what
// encode_states() writes (another version, a bad field, a duplicate).
SavedStates decode_states(const std::string& text);

}  // namespace xlb::health
