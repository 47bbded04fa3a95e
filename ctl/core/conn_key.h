// Backend identities as the connection counts know them (struct
// xlb_backend_key): the VIP key plus the backend's address, port and family.
// Counts belong to the identity rather than to a backend id, so they survive
// the id being freed and bound again, weight changes and lbd restarts.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>
#include <unordered_map>

#include "endpoint.h"
#include "xlb/abi.h"

namespace xlb {

// The whole struct is zeroed first: it is a hash-map key, and padding with
// garbage in it would make equal identities different keys.
xlb_backend_key make_backend_key(const xlb_vip_key& vip, const IpAddr& addr, uint16_t port);

// The identity the data plane computes for a flow (bpf/lib/conns.h): the
// VIP part from the flow's destination, the backend part from `backend`.
xlb_backend_key flow_identity(const xlb_flow_key& flow, const xlb_backend_key& backend);

// "198.18.100.1:80/tcp -> 198.19.0.11", for logs.
std::string backend_key_str(const xlb_backend_key& key);

struct BackendKeyHash {
  size_t operator()(const xlb_backend_key& k) const {
    return std::hash<std::string_view>()(std::string_view(reinterpret_cast<const char*>(&k), sizeof k));
  }
};
struct BackendKeyEq {
  bool operator()(const xlb_backend_key& a, const xlb_backend_key& b) const {
    return std::memcmp(&a, &b, sizeof a) == 0;
  }
};
template <typename V>
using BackendKeyMap = std::unordered_map<xlb_backend_key, V, BackendKeyHash, BackendKeyEq>;

// backend_id -> identity, for every id the balancer has bound: what the
// reaper needs to return an expired flow's count units.
using IdentityTable = std::unordered_map<uint32_t, xlb_backend_key>;

}  // namespace xlb
