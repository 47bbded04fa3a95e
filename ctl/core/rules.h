// The validation rules shared by the config file, the API and the balancer:
// which schedulers and modes exist, which ring sizes and weights are valid,
// and which backend families a VIP can forward to. Each check throws
// InputError with a message that names the problem but not the field; the
// caller prefixes the field (see json_fields.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

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
// A stateless VIP (no flow table: every packet by the ring) needs a pick
// that is a function of the flow (maglev, src-hash) and a mode that needs
// no per-flow state (ipip, l2dsr). Throws InputError saying why.
void check_stateless(uint8_t sched, uint8_t mode);
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

// Addresses that can be neither a VIP nor a backend, whatever the mode:
// unspecified (0.0.0.0/8, ::), broadcast (255.255.255.255), multicast
// (224.0.0.0/4, ff00::/8), loopback (127.0.0.0/8, ::1) and IPv4-mapped IPv6
// (::ffff:0:0/96, written as IPv4 instead). Returns what the address is
// ("a loopback address (127.0.0.0/8)"), or "" if it is none of them.
std::string special_address_class(const IpAddr& addr);

// Throws unless `addr` can be a VIP: not a special address (above) and not
// one of `local`, the addresses of the interfaces lbd serves (the load
// balancer's own: a VIP there would capture traffic meant for the host).
void check_vip_address(const IpAddr& addr, const std::vector<IpAddr>& local);

// Throws unless `addr` can be a backend of the VIP at `vip`: not a special
// address, not one of `local` (the load balancer would forward to itself),
// and not the VIP's own address, in any mode and on any port: ipip and l2dsr
// would deliver the packet back to the load balancer, and nat or fullnat
// would rewrite it to an address the load balancer itself answers for.
void check_backend_address(const IpAddr& addr, const IpAddr& vip, const std::vector<IpAddr>& local);

// A Maglev ring of ring_size slots gives each backend at most one slot once
// backends outnumber slots: at least active - ring_size of them then get
// none. Returns the warning naming the VIP, or "" when every active
// backend can have a slot.
std::string ring_slot_warning(const std::string& vip, uint8_t sched, size_t active, uint32_t ring_size);

// "198.19.0.11" for a backend without a port of its own (port 0: the VIP's),
// "198.19.0.11:8080" or "[fd00:19::11]:8080" otherwise, as used in messages.
std::string backend_name(const IpAddr& addr, uint16_t port);

// "198.18.100.1:80/tcp", as used in messages.
std::string vip_name(const Endpoint& vip, uint8_t proto);

}  // namespace xlb
