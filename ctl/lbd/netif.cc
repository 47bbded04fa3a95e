#include "netif.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>
#include <fstream>

#include "core/error.h"

namespace xlb {

int ifindex_of(const std::string& ifname) {
  unsigned idx = if_nametoindex(ifname.c_str());
  if (!idx) throw InputError("no interface named '" + ifname + "'");
  return static_cast<int>(idx);
}

EncapDefaults interface_addresses(const std::vector<std::string>& ifnames) {
  EncapDefaults d;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return d;
  for (const std::string& ifname : ifnames) {
    for (ifaddrs* a = list; a; a = a->ifa_next) {
      if (!a->ifa_addr || ifname != a->ifa_name) continue;
      if (a->ifa_addr->sa_family == AF_INET) {
        IpAddr ip;
        ip.family = XLB_AF_INET;
        ip.addr.v4 = reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr;
        d.local.push_back(ip);
        if (!d.v4) d.v4 = ip;
      } else if (a->ifa_addr->sa_family == AF_INET6) {
        const in6_addr& a6 = reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr;
        IpAddr ip;
        ip.family = XLB_AF_INET6;
        std::memcpy(ip.addr.v6, &a6, 16);
        d.local.push_back(ip);
        // A link-local source would not be routable to backends elsewhere.
        if (!d.v6 && !IN6_IS_ADDR_LINKLOCAL(&a6)) d.v6 = ip;
      }
    }
  }
  freeifaddrs(list);
  return d;
}

std::vector<std::string> forwarding_warnings(const std::vector<std::string>& ifnames) {
  std::vector<std::string> out;
  auto check = [&](const std::string& key, const std::string& where) {
    std::ifstream f("/proc/sys/" + key);
    int v = 1;
    if (f >> v && v == 0) {
      std::string name = key;
      for (auto& ch : name) ch = ch == '/' ? '.' : ch;
      out.push_back(name + " is 0: packets for VIPs arriving on " + where + " will be dropped (drop_fwd_disabled)");
    }
  };
  // bpf_fib_lookup checks the ingress device's setting for IPv4 and the
  // global one for IPv6.
  std::string all;
  for (const auto& ifname : ifnames) {
    check("net/ipv4/conf/" + ifname + "/forwarding", ifname);
    all += (all.empty() ? "" : ", ") + ifname;
  }
  check("net/ipv6/conf/all/forwarding", all);
  return out;
}

std::vector<std::pair<int, std::string>> non_loopback_interfaces() {
  std::vector<std::pair<int, std::string>> out;
  struct if_nameindex* list = if_nameindex();
  if (!list) return out;
  for (struct if_nameindex* i = list; i->if_index; i++) {
    if (std::strcmp(i->if_name, "lo") == 0) continue;
    out.push_back({static_cast<int>(i->if_index), i->if_name});
  }
  if_freenameindex(list);
  return out;
}

}  // namespace xlb
