#include "announcer.h"

#include "core/error.h"
#include "desired.h"
#include "node_state.h"

namespace xlb::announce {

using Json = nlohmann::json;

Announcer::Announcer(std::optional<uint32_t> table, std::unique_ptr<RouteTable> routes, std::string node_path,
                     AnnouncerHooks hooks)
    : table_(table), routes_(std::move(routes)), node_path_(std::move(node_path)), hooks_(std::move(hooks)) {
  if (!routes_) table_.reset();
}

void Announcer::load() {
  if (node_path_.empty()) return;
  try {
    drained_ = read_drained(node_path_);
  } catch (const std::exception& e) {
    warn(std::string(e.what()) + "; taken as not drained");
    drained_ = false;
  }
  if (drained_) log("the node is drained (" + node_path_ + "): nothing is announced until `lbctl node undrain`");
}

std::set<IpAddr> Announcer::desired() const { return desired_routes(served_, attached_, drained_); }

void Announcer::set_served(std::set<IpAddr> served, int64_t now_ms) {
  served_ = std::move(served);
  if (table_ && (!reconciled_ || desired() != written_)) reconcile(now_ms);
}

void Announcer::set_drained(bool drained, int64_t now_ms) {
  if (!node_path_.empty()) write_drained(node_path_, drained);  // throws: nothing changed
  if (drained != drained_)
    log(drained ? "node drained: withdrawing every VIP (traffic that still arrives is forwarded)"
                : "node undrained: announcing the served VIPs again");
  drained_ = drained;
  if (table_) reconcile(now_ms);
}

void Announcer::set_attached(bool attached, int64_t now_ms) {
  attached_ = attached;
  if (table_) reconcile(now_ms);
}

void Announcer::tick(int64_t now_ms) {
  if (!table_) return;
  bool due = reconciled_ ? (desired() != written_ || now_ms - last_dump_ >= kRedumpMs)
                         : now_ms - last_try_ >= kRetryMs;
  if (due) reconcile(now_ms);
}

void Announcer::reconcile(int64_t now_ms) {
  last_try_ = now_ms;
  std::set<IpAddr> want = desired();
  std::string failed;
  try {
    std::set<IpAddr> present = routes_->list();
    last_dump_ = now_ms;
    RouteDiff d = diff_routes(want, present);
    // Withdrawals first: a full table must not keep a route lbd no longer wants.
    for (const auto& a : d.remove) {
      try {
        routes_->remove(a);
        present.erase(a);
        log("withdrew " + a.str());
      } catch (const SystemError& e) {
        if (failed.empty()) failed = e.what();
      }
    }
    for (const auto& a : d.add) {
      try {
        routes_->add(a);
        present.insert(a);
        // Written before (and the last dump had it): someone deleted it.
        log(reconciled_ && written_.count(a) ? "announced " + a.str() + " again (its route was deleted from outside)"
                                             : "announced " + a.str());
      } catch (const SystemError& e) {
        if (failed.empty()) failed = e.what();
      }
    }
    written_ = std::move(present);
  } catch (const std::exception& e) {
    failed = e.what();
  }
  if (!failed.empty()) {
    // Once per failure streak, not per retry.
    if (error_.empty()) warn(failed + "; retrying every " + std::to_string(kRetryMs / 1000) + " s");
    error_ = failed;
    reconciled_ = false;
    return;
  }
  if (!error_.empty()) log("table " + std::to_string(*table_) + " written again");
  error_.clear();
  reconciled_ = true;
}

Json Announcer::status() const {
  Json announced = Json::array();
  for (const auto& a : written_) announced.push_back(a.str());
  Json out = {{"table", table_ ? Json(*table_) : Json(nullptr)}, {"drained", drained_}, {"announced", announced}};
  if (!error_.empty()) out["error"] = error_;
  return out;
}

void Announcer::log(const std::string& line) const {
  if (hooks_.log) hooks_.log(line);
}
void Announcer::warn(const std::string& line) const {
  if (hooks_.warn) hooks_.warn(line);
}

}  // namespace xlb::announce
