// What a running lbd checks on its tick (about once a second) about the
// data path it drives: that its pins are still the maps it writes (pinned
// xlb_config has the id it started with), and that its interfaces exist and
// still carry its xlb_lb. Changes are logged once each way. Pins that are
// gone or replaced are a lasting problem: lbd's map fds keep the old maps
// alive, but nothing a restarted lbd or lbctl's readers see would match
// what it writes, so the API refuses changes from then on (api.h,
// DaemonInfo::health) until lbd is restarted.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace xlb {

class DataPathWatch {
 public:
  struct Iface {
    std::string name;
    int ifindex = 0;
  };
  // Checks once (silent if all is well).
  DataPathWatch(std::string pin_dir, uint32_t config_id, std::vector<Iface> ifaces);

  void check();
  // Why changes are refused; empty while the pins are ours.
  const std::string& problem() const { return problem_; }
  // Whether this lbd's program was on every interface at the last check:
  // while it is not, the node must not attract VIP traffic (lbd withdraws
  // its announcements, announce/announcer.h).
  bool attached_everywhere() const;

 private:
  enum class IfState { kOk, kGone, kNotOurs };
  std::string pin_dir_;
  uint32_t config_id_;
  std::vector<Iface> ifaces_;
  std::vector<IfState> states_;
  // What was attached at the last check, {ifindex, prog id}: the program
  // is only looked into when that changes (behind libxdp's dispatcher
  // that means asking libxdp, which leaks an fd per question).
  std::vector<std::pair<int, uint32_t>> seen_;
  // The pinned xlb_config's inode when it last was ours: the pin is
  // stat()ed each time and asked for its map id (bpf()) only when that
  // changes, so the check adds no bpf() calls to lbd's main thread (tests
  // inject faults into those by their number).
  uint64_t pin_dev_ = 0, pin_ino_ = 0;
  std::string problem_;
};

}  // namespace xlb
