// The prober: many health probes at once in one thread, on non-blocking
// sockets and one epoll set, with no thread per probe.
//
// Design
// - Each probe is a small state machine (connect -> [TLS handshake] ->
//   send -> receive) advanced by readiness events. A probe waits for exactly
//   one readiness at a time (EPOLLOUT while connecting or writing, EPOLLIN
//   while reading), so the epoll set never wakes for nothing.
// - Timeouts are computed, not timers: every probe in flight has a deadline
//   in an ordered set, next_timeout_ms() tells the caller how long it may
//   sleep, and process() fails the probes whose deadline passed. No timerfd
//   per probe, no tick.
// - Loop-agnostic: fd() is the epoll set's own descriptor, readable when any
//   probe has progress to make. Whoever owns a poll loop adds fd() to it,
//   sleeps at most next_timeout_ms(), and calls process(). The Checker
//   (checker.h) is such an owner: a thread of its own, which is how lbd is
//   meant to use it (checker.h says why).
// - Not thread-safe: one thread submits and processes.
//
// Sockets: tcp probes end with a reset (SO_LINGER 0) once connected, so the
// prober, which may check a thousand backends a second, holds no TIME_WAIT
// (HAProxy's tcp checks do the same). http probes send Connection: close and
// stop reading at the status line; the close then resets too. A source
// address is bound with IP_BIND_ADDRESS_NO_PORT, so binding does not use up
// ephemeral ports before connect picks one per destination.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "health/probe.h"

namespace xlb::health {

class TlsContext;

struct ProberStats {
  uint64_t submitted = 0;
  uint64_t ok = 0;
  uint64_t failed = 0;  // timeouts included
  uint64_t timeouts = 0;
  uint64_t cancelled = 0;
};

class Prober {
 public:
  using Clock = std::chrono::steady_clock;

  Prober();  // throws SystemError if epoll cannot be created
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // Readable when some probe in flight can progress.
  int fd() const { return epfd_; }

  // Starts a probe. It never blocks and never throws for the probe's own
  // sake: a probe that fails at once (no socket, SO_MARK refused, no route)
  // gets its result from the next process(), and next_timeout_ms() is 0
  // until then. Ids are the caller's and need not be unique.
  void submit(const Probe& probe);

  // Drops every probe in flight with this id; no result comes for them.
  // Returns how many were dropped.
  size_t cancel(uint64_t id);

  // Advances every probe that is ready and fails every probe whose deadline
  // has passed, without blocking. Appends the finished probes' results and
  // returns their number.
  size_t process(std::vector<ProbeResult>& out);

  // Waits on fd() for at most max_wait_ms (-1: as long as next_timeout_ms()
  // allows), then process(). For callers without a loop of their own.
  size_t wait_and_process(std::vector<ProbeResult>& out, int max_wait_ms = -1);

  // How long the caller may sleep before process() has work for certain:
  // 0 if results are pending, -1 if nothing is in flight, else the time to
  // the earliest deadline, rounded up to whole milliseconds.
  int next_timeout_ms() const;

  size_t in_flight() const { return active_.size(); }
  const ProberStats& stats() const { return stats_; }

 private:
  struct Active;
  void start(Active& a);
  void advance(Active& a, uint32_t events);
  void advance_tcp(Active& a);
  void advance_stream(Active& a, uint32_t events);
  void advance_udp(Active& a, uint32_t events);
  void want(Active& a, uint32_t events);
  void finish(Active& a, bool ok, std::string reason);
  void expire(Clock::time_point now);
  TlsContext& tls();

  int epfd_ = -1;
  uint64_t next_token_ = 1;
  std::map<uint64_t, std::unique_ptr<Active>> active_;  // by token
  std::set<std::pair<Clock::time_point, uint64_t>> deadlines_;
  std::vector<ProbeResult> done_;  // finished, not yet handed out
  std::unique_ptr<TlsContext> tls_;  // made on the first https probe
  ProberStats stats_;
};

}  // namespace xlb::health
