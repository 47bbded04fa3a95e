#include "scrape_bridge.h"

namespace xlb::metrics {

ScrapeBridge::Outcome ScrapeBridge::request(std::chrono::milliseconds timeout, Views* views, std::string* error) {
  std::unique_lock<std::mutex> lk(mu_);
  if (closed_) return Outcome::kClosed;
  // Views built from now on: the build after any under way (it may have
  // read the state before this request).
  uint64_t mine = started_ + 1;
  if (asked_ < mine) asked_ = mine;
  if (!cv_.wait_for(lk, timeout, [&] { return closed_ || served_ >= mine; })) return Outcome::kTimeout;
  if (closed_) return Outcome::kClosed;
  if (!error_.empty()) {
    *error = error_;
    return Outcome::kFailed;
  }
  *views = result_;
  return Outcome::kOk;
}

bool ScrapeBridge::serve(const std::function<Views()>& build) {
  auto now = std::chrono::steady_clock::now();
  if (last_build_ != std::chrono::steady_clock::time_point{} && now - last_build_ < min_interval_) return false;
  uint64_t target;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_ || asked_ <= served_) return false;
    target = asked_;
    started_ = target;
  }
  last_build_ = now;
  // Built without the lock: scrapes arriving meanwhile wait for the next one.
  Views views;
  std::string error;
  try {
    views = build();
  } catch (const std::exception& e) {
    error = e.what();
    if (error.empty()) error = "unknown error";
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    result_ = std::move(views);
    error_ = std::move(error);
    served_ = target;
  }
  cv_.notify_all();
  return true;
}

void ScrapeBridge::close() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

}  // namespace xlb::metrics
