// The network interfaces of lbd's namespace.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "core/balancer.h"

namespace xlb {

// Throws InputError if there is no such interface.
int ifindex_of(const std::string& ifname);

// The first IPv4 and the first global IPv6 address on the interfaces, the
// first interface that has one of the family winning: the default
// encapsulation and fullnat sources. `local` lists every address on them
// (read once, at start), which lbd refuses as VIPs and backends.
EncapDefaults interface_addresses(const std::vector<std::string>& ifnames);

// Warnings about sysctls that make the data plane drop what it should
// forward (it honours the ingress device's forwarding setting and counts
// drop_fwd_disabled), e.g. "net.ipv4.conf.eth0.forwarding is 0", for
// each of the interfaces (IPv6's setting is global: one line).
std::vector<std::string> forwarding_warnings(const std::vector<std::string>& ifnames);

// (ifindex, name) of every interface but loopback.
std::vector<std::pair<int, std::string>> non_loopback_interfaces();

}  // namespace xlb
