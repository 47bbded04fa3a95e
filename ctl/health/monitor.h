// lbd's health monitor: the glue between the balancer (core/balancer.h),
// the checks (health_config.h), the per-backend state machines
// (registry.h), the weight policy (policy.h), the checker thread
// (checker.h), the steering of ipip/l2dsr checks (hc_attach.h) and the
// state file that carries health across restarts.
//
// Weights. The operator's weight (config, add-backend, set-backend,
// drain-backend) is the admin weight; the ring weight is what the policy
// makes of it and of health: 0 while the backend is down (unless every
// backend is down and the VIP fails open), the admin weight otherwise. For
// a backend without checks the two are the same and nothing here touches
// it. Every weight change goes through Balancer::set_backend, one
// all-or-nothing request each; a change that fails is retried by the next
// reconcile (every kReconcileMs), which re-derives every checked VIP's
// weights from the model, so a partial failure heals.
//
// Each check is a Probe the checker runs. In nat and fullnat modes it goes
// to the backend's address and port. In ipip and l2dsr modes it goes to the
// VIP with SO_MARK = kMarkBase | backend id, and the tc hook (bpf/hc.bpf.c)
// carries it to that backend the way its traffic goes: encapsulated from
// the encap source, or to its MAC. A check that can't be steered (no hook,
// no source of the backend's family, the MAC not yet resolved) is not run:
// the backend stays as it was, and the reason shows in `lbctl list`.
//
// Single-threaded: lbd's main thread calls everything. Time is wall-clock
// milliseconds (saved "since" values survive restarts), passed in.
#pragma once
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/balancer.h"
#include "health_config.h"
#include "hc_target.h"
#include "checker.h"
#include "probe.h"
#include "registry.h"

namespace xlb::health {

// SO_MARK of a steered check: "xl" in the high half, the backend id below.
constexpr uint32_t kMarkBase = 0x786c0000;
constexpr TimeMs kReconcileMs = 5000;

// Where steered checks' targets are written (xlb_hc_targets in lbd).
class Steering {
 public:
  virtual ~Steering() = default;
  virtual void put(uint32_t mark, const xlb_hc_target& target) = 0;
  virtual void erase(uint32_t mark) = 0;
  virtual std::map<uint32_t, xlb_hc_target> list() = 0;
};

struct MonitorHooks {
  // Hands the checker thread its whole target set (checker.h); unset: none.
  std::function<void(std::vector<Target>)> set_targets;
  Steering* steering = nullptr;  // null: ipip/l2dsr checks can't be steered
  std::string no_steering_reason = "the health-check hook is not attached";
  // The resolved entries of the neighbour table (l2dsr checks go to the
  // backend's MAC); read once per sync, and only for l2dsr checks.
  std::function<std::map<IpAddr, MacAddr>()> neighbours;
  std::function<void(const std::string&)> log;   // one line each
  std::function<void(const std::string&)> warn;
};

class Monitor {
 public:
  // state_path: the state file ("" for none). data_path: an id of the maps
  // (lbd's xlb_config map id); a state file written for other maps is
  // ignored, since its states describe backends that are gone.
  Monitor(Balancer& lb, MonitorHooks hooks, std::string state_path, uint32_t data_path);

  // Reads the state file (checks and states), then syncs: backends saved
  // down stay out of the ring. Call once, after the balancer's recover().
  void load(TimeMs now);

  // `apply`, with the checks of the config (config_checks(config), parsed
  // by the caller before anything changed): VIPs of the config get exactly
  // its checks, and a backend that is down goes into the ring with weight 0
  // from the start.
  ApplyResult apply(const Config& config, const ChecksByVip& checks, TimeMs now,
                    const Balancer::ApplyProgress& progress = {});
  // set-health: a VIP's object (null or check none: no checks), or one
  // backend's override (null: the VIP's checks again).
  void set_checks(const Endpoint& vip, uint8_t proto, const std::optional<BackendRef>& backend,
                  const nlohmann::json& obj, TimeMs now);
  // set-backend / drain-backend: the admin weight; the ring gets what the
  // policy makes of it.
  void set_weight(const Endpoint& vip, uint8_t proto, const BackendRef& backend, uint32_t weight, TimeMs now);
  // add-backend's weight, for the sync that follows (changed()): a backend
  // added again while down gets it as its admin weight.
  void note_admin_weight(const Endpoint& vip, uint8_t proto, const IpAddr& backend, uint16_t port, uint32_t weight);
  // After add-vip, del-vip, add-backend, del-backend: new backends start
  // unchecked (or from their saved state), gone ones are forgotten.
  // Never throws: the request already succeeded, so a failure here is
  // logged and left to the next reconcile (and with no checks anywhere it
  // touches nothing, not even the maps).
  void changed(TimeMs now) { sync_after_change(now); }

  // The checker's results. steady_now: the steady clock now, to date each
  // result by when it finished.
  void on_results(const std::vector<ProbeResult>& results, TimeMs now,
                  std::chrono::steady_clock::time_point steady_now);
  // From lbd's tick: transitions a hold-down held back, checks waiting to
  // be steered, and the periodic reconcile.
  void tick(TimeMs now);

  // Adds "health" and "all_down" to each VIP of list_json(views), and
  // "admin_weight" and "health" to each backend.
  void annotate_list(const std::vector<VipView>& views, nlohmann::json& vips, TimeMs now) const;
  // Adds "all_down_events" to each VIP of stats_json's "vips", "health" to
  // each backend.
  void annotate_stats(const StatsView& stats, nlohmann::json& out, TimeMs now) const;
  // Counts for `status`: backends checked, up, down, unchecked, VIPs all
  // down, steered targets, transitions, the state file.
  nlohmann::json status() const;

  // The running config (Balancer::current_config) as the operator wrote it:
  // checked backends with their admin weights, VIPs and backends with their
  // health objects. What `lbctl save` writes and `apply --dry-run` diffs.
  Config running_config() const;

  // The state file's content (tests compare it; load() reads it back).
  std::string state_text() const;

 private:
  // Where one checked backend is, for its probe and its weight changes.
  struct Site {
    VipKey vip;
    uint8_t mode = 0;
    IpAddr address;
    uint16_t port = 0;  // the backend's own port, 0: the VIP's
    uint32_t backend_id = 0;
  };

  // Makes the tracked set, the checker's targets and the steering map
  // match the balancer and the checks, then enforces every checked VIP.
  void sync(TimeMs now);
  // sync() after a request that succeeded: skipped while nothing is checked,
  // and a failure is logged and retried by the next tick.
  void sync_after_change(TimeMs now);
  bool idle() const { return checks_.empty() && registry_.all().empty() && steered_.empty(); }
  // Sets the ring weights of one VIP's backends from health and admin
  // weights; weight changes the balancer refuses are logged and left to
  // the next reconcile.
  void enforce(const VipView& v);
  void enforce_vip(const VipKey& key);
  void apply_targets();
  void record(const std::string& identity, const CheckResult& result, TimeMs at);
  void after_transition(const std::string& identity, const Transition& t);
  std::optional<Probe> probe_for(const std::string& identity, const Site& site, const HealthSpec& spec,
                                 std::string* why_not);
  std::string backend_label(const Site& site) const;
  void save();
  void log(const std::string& line) const;
  void warn(const std::string& line) const;

  Balancer& lb_;
  MonitorHooks hooks_;
  std::string state_path_;
  uint32_t data_path_;

  ChecksByVip checks_;
  Registry registry_;
  SavedStates saved_;  // from the state file: admin weights of backends not yet seen
  std::map<std::string, uint32_t> pending_admin_;  // admin weights from an apply, for sync
  std::map<std::string, Site> sites_;               // tracked backends
  std::map<std::string, std::string> not_run_;      // tracked, but why no check runs
  std::map<std::string, uint64_t> probe_ids_;       // identity -> probe id, stable
  std::map<uint64_t, std::string> by_probe_;
  uint64_t next_probe_id_ = 1;
  std::map<uint32_t, xlb_hc_target> steered_;       // what xlb_hc_targets holds
  bool steering_listed_ = false;
  std::vector<std::string> target_sig_;             // the checker's current set, to skip no-op updates
  std::map<VipKey, bool> all_down_;
  std::map<VipKey, uint64_t> all_down_events_;
  uint64_t transitions_ = 0;
  TimeMs last_reconcile_ = 0;
  std::string saved_text_;  // last written to the state file
  std::string save_error_;
};

}  // namespace xlb::health
