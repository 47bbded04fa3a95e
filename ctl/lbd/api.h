// The control API (docs/api.md): one JSON request in, one JSON answer out,
// dispatched to the balancer. Never throws: every failure becomes
// {"ok": false, "error": "..."}.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/balancer.h"
#include "health/monitor.h"
#include "reaper_thread.h"
#include "xlb/abi.h"

namespace xlb {

// An interface xlb_lb is attached to.
struct IfaceInfo {
  std::string name;
  int ifindex = 0;
};

// What `status` reports about the daemon itself.
struct DaemonInfo {
  std::vector<IfaceInfo> ifaces;  // as given to --iface; the first names the pin directory
  std::string pin_dir;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // Current {xdp mode, prog id} of the program attached to an ifindex (may
  // change when other programs join the dispatcher); empty mode if none.
  std::function<std::pair<std::string, uint32_t>(int ifindex)> attachment;
  // The health checker's and the steering hook's figures for `status`
  // (may be unset).
  std::function<nlohmann::json()> health_checks;
  // The neighbour keeper's mode and next hops for `status` (neighbours.h);
  // may be unset.
  std::function<nlohmann::json()> neighbours;
  // Called after every request that changed something (lbd saves the
  // running state); may be unset.
  std::function<void()> after_change;
  // Why the data path can't be changed (its pins vanished: watch.h); empty
  // if it can. Non-empty: every changing request fails with it, and status
  // shows it as data_path_error. May be unset.
  std::function<std::string()> health;
  // The pins' xlb_meta (ABI version, build of the running xlb_lb; nullopt if
  // unreadable) and this lbd's build id, for status's "program". May be unset.
  std::function<std::optional<xlb_meta>()> meta;
  uint64_t build_id = 0;
  // Announcing VIPs (ctl/announce): status's "announce" object, and the
  // "node" request's drain (true) and undrain (false), which throws
  // SystemError if the flag can't be saved. May be unset.
  std::function<nlohmann::json()> announce;
  std::function<void(bool drained)> set_drained;
};

class Api {
 public:
  // detach: detaches the program and removes the pins (throws on failure);
  // on success the daemon exits after answering. reaper (may be null) gets
  // the timeouts of applied configs and reports in `status`.
  // monitor (may be null: no health checks) takes every weight the
  // operator sets and the config's checks (health/monitor.h).
  Api(Balancer& balancer, DaemonInfo info, std::function<void()> detach, ReaperThread* reaper = nullptr,
      health::Monitor* monitor = nullptr);

  std::string handle(const std::string& request);
  nlohmann::json dispatch(const nlohmann::json& request);  // throws InputError/SystemError
  bool exit_requested() const { return exit_requested_; }
  // The `status` answer; without count_flows its "flows" is null (the
  // count reads the whole flow table: the metrics endpoint takes it in a
  // thread of its own).
  nlohmann::json status(bool count_flows = true);

 private:
  nlohmann::json health_status();
  nlohmann::json program_json() const;  // status's "program"
  // The running config as the operator wrote it (admin weights, checks).
  Config running_config();
  // apply with "dry_run": the changes in words, nothing applied.
  nlohmann::json dry_run(const Config& config);
  // lbctl doctor's verdicts (api_doctor.cc).
  nlohmann::json doctor(const nlohmann::json& request);
  // set-backend and drain-backend: through the health monitor when there is one.
  void set_weight(const Endpoint& vip, uint8_t proto, const BackendRef& be, uint32_t weight);
  Balancer& lb_;
  DaemonInfo info_;
  std::function<void()> detach_;
  ReaperThread* reaper_;
  health::Monitor* monitor_;
  bool exit_requested_ = false;
};

uint64_t monotonic_ns();  // CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns()
health::TimeMs wall_ms();  // CLOCK_REALTIME, health's clock (its "since" survives restarts)

// The "reaper" object of `status` (docs/api.md).
nlohmann::json reaper_json(const ReaperStatus& s);

}  // namespace xlb
