// lbd's side of systemd's service protocol (sd_notify(3)): READY=1 once the
// data path is attached and the config applied, STOPPING=1 on the way out,
// RELOADING=1 around a reload, and WATCHDOG=1 from the main loop's tick.
// Everything is a no-op when lbd is not run by systemd (NOTIFY_SOCKET
// unset), so a hand-started lbd behaves exactly as before.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace xlb::service {

// How often to send WATCHDOG=1 for a watchdog of watchdog_usec (systemd's
// WATCHDOG_USEC): half of it, as sd_watchdog_enabled(3) advises, so one
// late tick never trips it. 0 (no watchdog) gives 0.
std::chrono::microseconds watchdog_period(uint64_t watchdog_usec);

class Notifier {
 public:
  using Clock = std::chrono::steady_clock;

  // Reads NOTIFY_SOCKET, and WATCHDOG_USEC/WATCHDOG_PID through
  // sd_watchdog_enabled (the watchdog is ours only if WATCHDOG_PID is our
  // pid, or unset).
  Notifier();

  bool active() const { return active_; }  // run by systemd with a notify socket
  std::chrono::microseconds watchdog() const { return period_; }  // 0: no watchdog

  // READY=1 with a STATUS= line: lbd serves from now on.
  void ready(const std::string& status);
  // STOPPING=1: lbd is shutting down (the program stays attached).
  void stopping(const std::string& status);
  // RELOADING=1 with MONOTONIC_USEC (systemd 253's Type=notify-reload wants
  // it), then reloaded() sends READY=1 when the reload is done. For the
  // SIGHUP reload; nothing calls them yet.
  void reloading(const std::string& status);
  void reloaded(const std::string& status);
  // STATUS= alone (shown by `systemctl status`).
  void status(const std::string& status);

  // Called from the main loop's tick: WATCHDOG=1 when a period has passed
  // since the last one. A tick that never comes (a stuck loop) lets the
  // watchdog fire, which is the point.
  void tick(Clock::time_point now);

 private:
  void send(const std::string& state);

  bool active_ = false;
  std::chrono::microseconds period_{0};
  Clock::time_point last_ping_{};
};

}  // namespace xlb::service
