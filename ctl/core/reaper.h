// The reaper: deletes idle flow entries and keeps the connection counts
// honest (docs/design.md, "The reaper"). Pure logic over a MapIo, so it is
// unit-tested with the fake; lbd runs it in its own thread with its own map
// fds (ctl/lbd/reaper_thread.h).
//
// One sweep:
//  1. walks the flow table in batches; an entry idle for longer than its
//     state's timeout is deleted with lookup-and-delete, and the flags of
//     the value returned at deletion time decide the count units it gave
//     back (COUNTED: one active, HALF_OPEN: one half-open). An entry the
//     data plane touched between the read and the delete is put back;
//  2. returns the units, summed per identity, with one adjust per identity;
//  3. reconciles: reads the counts and compares each identity's with the
//     units held by the entries that remain (its truth). A difference seen
//     identically on two consecutive sweeps is corrected; a difference that
//     changes is traffic in flight, and left alone;
//  4. sweeps xlb_nat_rev, deleting the reply entries of flows that are gone
//     (nat_rev_reaper.h), after a complete walk only.
// It also reports which backend ids the remaining entries use, so the
// balancer can free removed backends that no flow needs any more.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "config.h"
#include "conn_key.h"
#include "map_io.h"
#include "nat_rev_reaper.h"

namespace xlb {

struct SweepStats {
  uint64_t scanned = 0;     // entries read
  uint64_t expired = 0;     // entries deleted for idleness
  uint64_t restored = 0;    // touched between the read and the delete: put back
  uint64_t returned = 0;    // identities whose units were returned (adjust calls)
  uint64_t reconciled = 0;  // identities whose counts were corrected
  uint64_t nat_rev_entries = 0;  // xlb_nat_rev entries read
  uint64_t nat_rev_reaped = 0;   // of which deleted (their flow gone for two sweeps)
  uint64_t duration_ms = 0;
  bool complete = true;     // false: stopped early (no reconciliation, no referenced ids)
};

struct SweepResult {
  SweepStats stats;
  std::vector<bool> referenced;  // [backend_id]: some remaining entry uses it
};

// CLOCK_MONOTONIC_COARSE in ns: the clock of bpf_ktime_get_coarse_ns(),
// which stamps last_seen_ns.
uint64_t monotonic_coarse_ns();

class Reaper {
 public:
  using Clock = std::function<uint64_t()>;
  // Checked every few thousand entries; true ends the sweep early.
  using StopFlag = std::function<bool()>;

  explicit Reaper(MapIo& io, Clock now_ns = monotonic_coarse_ns)
      : io_(io), now_(std::move(now_ns)), nat_rev_(io) {}

  void set_timeouts(const Timeouts& t) { timeouts_ = t; }
  const Timeouts& timeouts() const { return timeouts_; }

  // `identities`: every backend id bound when the sweep starts. An expired
  // entry whose id is not among them is deleted without returning units
  // (its identity was freed, counts and all).
  SweepResult sweep(const IdentityTable& identities, const StopFlag& stop = {});

  // The idle timeout of an entry, by protocol and state.
  uint64_t timeout_ns(const xlb_flow_key& key, const xlb_flow& flow) const;

 private:
  struct Units {
    int64_t active = 0;
    int64_t half_open = 0;
    bool zero() const { return active == 0 && half_open == 0; }
  };
  static void add_units(Units& u, uint32_t flags, int64_t sign);
  void reconcile(const IdentityTable& identities, const BackendKeyMap<Units>& truth, SweepStats& stats);

  MapIo& io_;
  Clock now_;
  Timeouts timeouts_;
  // count - truth per identity at the previous sweep (nonzero ones only).
  BackendKeyMap<Units> last_diff_;
  NatRevReaper nat_rev_;
};

}  // namespace xlb
