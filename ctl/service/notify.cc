#include "notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdlib>

namespace xlb::service {

std::chrono::microseconds watchdog_period(uint64_t watchdog_usec) {
  return std::chrono::microseconds(watchdog_usec / 2);
}

Notifier::Notifier() {
  const char* sock = std::getenv("NOTIFY_SOCKET");
  active_ = sock && *sock;
  if (!active_) return;
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) period_ = watchdog_period(usec);
}

void Notifier::send(const std::string& state) {
  if (!active_) return;
  // A failure is not worth a log line per tick: systemd, if it is waiting,
  // will say that the notification never came.
  sd_notify(0, state.c_str());
}

void Notifier::ready(const std::string& status) {
  send("READY=1\nSTATUS=" + status);
  last_ping_ = Clock::now();
}

void Notifier::stopping(const std::string& status) { send("STOPPING=1\nSTATUS=" + status); }

void Notifier::reloading(const std::string& status) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=" + status);
}

void Notifier::reloaded(const std::string& status) { send("READY=1\nSTATUS=" + status); }

void Notifier::status(const std::string& status) { send("STATUS=" + status); }

void Notifier::tick(Clock::time_point now) {
  if (!active_ || period_.count() == 0) return;
  if (now - last_ping_ < period_) return;
  last_ping_ = now;
  send("WATCHDOG=1");
}

}  // namespace xlb::service
