// The validation rules shared by the config file, the API and the balancer:
// which schedulers and modes exist, which ring sizes and weights are valid,
// and which backend families a VIP can forward to. Each check throws
// InputError with a message that names the problem but not the field; the
// caller prefixes the field (see json_fields.h).
#pragma once
#include <cstdint>
#include <string>

#include "endpoint.h"

namespace xlb {

constexpr uint32_t kMaxWeight = 65535;

// maglev, least-conn, rr, wrr, random, src-hash (docs/design.md, "Schedulers").
uint8_t parse_sched(const std::string& text);
std::string sched_name(uint8_t sched);
// Does the scheduler pick from the VIP's list (xlb_vip_lists) rather than
// its Maglev ring? least-conn, rr and wrr do; every VIP keeps a ring anyway.
bool sched_uses_list(uint8_t sched);
// Throws unless a VIP with `sched` can have `active` backends taking new
// flows: a list holds at most XLB_VIP_LIST_MAX.
void check_list_capacity(uint8_t sched, size_t active);
// ipip, nat, fullnat, l2dsr (docs/design.md, "Forwarding modes").
uint8_t parse_mode(const std::string& text);
std::string mode_name(uint8_t mode);
// Does the mode rewrite the destination (and so own xlb_nat_rev entries)?
// nat and fullnat do; ipip and l2dsr deliver the client's packet unchanged.
bool mode_translates(uint8_t mode);

void check_sched(uint8_t sched);
void check_mode(uint8_t mode);
void check_ring_size(uint64_t ring_size);  // prime, <= XLB_MAX_RING_SIZE
void check_weight(uint64_t weight, bool allow_zero);

// Can a VIP of this family carry traffic to a backend of that family in
// this mode? ipip: v4-in-v4, v6-in-v6, v4-in-v6; not v6-in-v4. nat,
// fullnat and l2dsr: only the VIP's own family.
void check_backend_family(uint8_t mode, const Endpoint& vip, const IpAddr& backend);
// May a backend of a VIP in this mode have its own port (port != 0)? Only
// nat and fullnat rewrite the destination port; ipip and l2dsr deliver the
// client's packet with the VIP's port.
void check_backend_port(uint8_t mode, uint16_t port);

// "198.19.0.11" for a backend without a port of its own (port 0: the VIP's),
// "198.19.0.11:8080" or "[fd00:19::11]:8080" otherwise, as used in messages.
std::string backend_name(const IpAddr& addr, uint16_t port);

// "198.18.100.1:80/tcp", as used in messages.
std::string vip_name(const Endpoint& vip, uint8_t proto);

}  // namespace xlb
