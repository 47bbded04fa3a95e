// The kernel routing table lbd announces through: one `blackhole VIP/32`
// (or /128) route per announced VIP address, protocol kProto, in table N.
// An interface, so the announcer is tested without the kernel
// (tests/unit/announce); netlink_table.h is the real one.
#pragma once
#include <cstdint>
#include <set>

#include "core/endpoint.h"

namespace xlb::announce {

// xlb's rtnetlink protocol number (`proto 120`, named "xlb" in
// scripts/packaging/examples/rt_protos-xlb.conf). BIRD's krt_source and FRR's
// import-table see it; nothing else on the host uses it for routes (lbd tags
// its neighbour entries with it too). lbd's own watcher of
// route changes (netwatch::kXlbRtProto, the same number) ignores these
// routes; tests/unit/lbd/announce_api_test.cc checks that the two agree.
constexpr uint8_t kProto = 120;

class RouteTable {
 public:
  virtual ~RouteTable() = default;
  // The host routes of protocol kProto in the table. Throws SystemError.
  virtual std::set<IpAddr> list() = 0;
  // Adds (or replaces) the blackhole host route to addr. Throws SystemError.
  virtual void add(const IpAddr& addr) = 0;
  // Deletes it; one that is already gone is no error. Throws SystemError.
  virtual void remove(const IpAddr& addr) = 0;
};

// A table number lbd may write: 1..2^31, not 253 (default), 254 (main) or
// 255 (local). Throws InputError saying why not.
uint32_t parse_table(const std::string& text);

}  // namespace xlb::announce
