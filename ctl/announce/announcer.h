// Keeps routing table N holding exactly the VIP addresses this node
// announces (desired.h), through a RouteTable. lbd drives it from its main
// thread: set_served() after every change of the balancer, tick() from the
// main loop, set_drained() for `lbctl node drain|undrain`, set_attached() for
// `lbctl detach`.
//
// Every write is a reconcile: the table is dumped and only the difference is
// added or removed, never flushed, so a restarted lbd leaves routes that
// stay served untouched. The tick re-dumps every kRedumpMs to put back a
// route deleted from outside. A failure (netlink, a full table) is logged
// once, shown in status, and retried every kRetryMs; it never fails the
// request that caused it. lbd's exit (SIGTERM, kill -9) leaves the routes:
// the program stays attached and forwards.
//
// Without a table (no --announce-table) nothing is written, but the drain
// flag is still kept and persisted, so turning announcing on later starts
// drained if the node was.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "route_table.h"

namespace xlb::announce {

constexpr int64_t kRedumpMs = 5000;
constexpr int64_t kRetryMs = 1000;

struct AnnouncerHooks {
  std::function<void(const std::string&)> log;   // one line each
  std::function<void(const std::string&)> warn;
};

class Announcer {
 public:
  // table: nullopt when announcing is off (routes may then be null).
  // node_path: the drain flag's file (node_state.h); "" for none.
  Announcer(std::optional<uint32_t> table, std::unique_ptr<RouteTable> routes, std::string node_path,
            AnnouncerHooks hooks);

  // Reads the drain flag (a bad file is logged and taken as not drained).
  void load();
  // The served addresses (desired.h, served_addresses); reconciles at once
  // if that changes what is announced.
  void set_served(std::set<IpAddr> served, int64_t now_ms);
  // Persists the flag first (throws SystemError if it can't be, changing
  // nothing), then withdraws or announces.
  void set_drained(bool drained, int64_t now_ms);
  // `lbctl detach`: false withdraws everything before the program goes;
  // true again if detaching failed (the program still forwards).
  void set_attached(bool attached, int64_t now_ms);
  // Reconciles if what should be announced differs from what was written,
  // if the last write failed (every kRetryMs), and every kRedumpMs.
  void tick(int64_t now_ms);

  bool drained() const { return drained_; }
  bool attached() const { return attached_; }
  bool enabled() const { return table_.has_value(); }
  // What the table holds as last written (empty while off).
  const std::set<IpAddr>& announced() const { return written_; }
  const std::string& error() const { return error_; }
  // status's "announce": {"table": N|null, "drained": bool, "announced":
  // [...], "error": "..." only while the last write failed}.
  nlohmann::json status() const;

 private:
  std::set<IpAddr> desired() const;
  // Dumps the table and writes the difference.
  void reconcile(int64_t now_ms);
  void log(const std::string& line) const;
  void warn(const std::string& line) const;

  std::optional<uint32_t> table_;
  std::unique_ptr<RouteTable> routes_;
  std::string node_path_;
  AnnouncerHooks hooks_;
  std::set<IpAddr> served_;
  bool attached_ = true;
  bool drained_ = false;
  std::set<IpAddr> written_;
  bool reconciled_ = false;  // written_ is known (a reconcile succeeded)
  int64_t last_dump_ = 0;
  int64_t last_try_ = 0;
  std::string error_;
};

}  // namespace xlb::announce
