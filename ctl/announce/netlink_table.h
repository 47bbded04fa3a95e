// RouteTable over rtnetlink (libmnl): the real table N. One short-lived
// netlink socket per operation; they are rare (a change, a repair, a dump
// every few seconds).
#pragma once
#include <cstdint>

#include "route_table.h"

namespace xlb::announce {

class NetlinkTable : public RouteTable {
 public:
  explicit NetlinkTable(uint32_t table) : table_(table) {}
  std::set<IpAddr> list() override;
  void add(const IpAddr& addr) override;
  void remove(const IpAddr& addr) override;

 private:
  uint32_t table_;
};

}  // namespace xlb::announce
