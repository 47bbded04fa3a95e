// Attaching bpf/hc.bpf.c (xlb_hc) as a tc egress filter on the LB's
// interface, and the pinned maps it is driven through.
//
// attach: loads the program with its maps pinned by name in pin_dir (lbd's
//   per-interface pin directory, <pin root>/<ifname>/; maps already pinned
//   there are reused, so targets survive a re-attach and an lbd restart),
//   creates the clsact qdisc if the interface has none, and installs the
//   filter at a fixed handle and priority (kHcTcHandle, kHcTcPriority),
//   replacing an earlier xlb_hc there. Other filters are left alone.
// detach: removes that one filter and unpins the two maps. The clsact qdisc
//   stays: other programs may use it, and an empty one costs nothing.
//
// The filter holds the only reference to the program: no program pin is
// needed, and the running program survives the process that attached it.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "xlb/abi.h"

namespace xlb::health {

inline constexpr uint32_t kHcTcHandle = 0x786c6863;  // "xlhc"
inline constexpr uint32_t kHcTcPriority = 0xc000;     // after most user filters

// Throws SystemError (core/error.h) with the reason on failure.
void hc_attach(const std::string& ifname, const std::string& pin_dir);
// True if something was detached; a missing filter or pins is not an error.
bool hc_detach(const std::string& ifname, const std::string& pin_dir);
// The id of the xlb_hc filter's program on ifname's egress, 0 if none.
uint32_t hc_attached_prog_id(const std::string& ifname);

// The pinned target map (xlb_hc_targets), opened by path.
class HcTargets {
 public:
  explicit HcTargets(const std::string& pin_dir);  // throws SystemError
  ~HcTargets();
  HcTargets(const HcTargets&) = delete;
  HcTargets& operator=(const HcTargets&) = delete;

  void put(uint32_t mark, const xlb_hc_target& t);  // mark != 0
  bool erase(uint32_t mark);                         // false if absent
  std::map<uint32_t, xlb_hc_target> list() const;

 private:
  int fd_ = -1;
};

// Sums of the per-CPU xlb_hc_stats counters, indexed by enum xlb_hc_stat.
std::vector<xlb_counter> hc_read_stats(const std::string& pin_dir);

}  // namespace xlb::health
