#include "reaper.h"

#include <netinet/in.h>
#include <time.h>

#include <chrono>

namespace xlb {

namespace {

constexpr uint64_t kNsPerS = 1000000000ull;
constexpr uint64_t kStopCheckEvery = 8192;

}  // namespace

uint64_t monotonic_coarse_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return uint64_t(ts.tv_sec) * kNsPerS + uint64_t(ts.tv_nsec);
}

uint64_t Reaper::timeout_ns(const xlb_flow_key& key, const xlb_flow& flow) const {
  uint32_t s = timeouts_.tcp_established;
  if (key.proto != IPPROTO_TCP) {
    s = timeouts_.udp;
  } else {
    switch (flow.state) {
      case XLB_FLOW_TCP_SYN:
      case XLB_FLOW_TCP_MIDSTREAM: s = timeouts_.tcp_half_open; break;  // unproven either way
      case XLB_FLOW_TCP_CLOSING:
      case XLB_FLOW_TCP_RESET: s = timeouts_.tcp_closing; break;
      default: break;
    }
  }
  return uint64_t(s) * kNsPerS;
}

void Reaper::add_units(Units& u, uint32_t flags, int64_t sign) {
  if (flags & XLB_FLOW_F_COUNTED) u.active += sign;
  if (flags & XLB_FLOW_F_HALF_OPEN) u.half_open += sign;
}

SweepResult Reaper::sweep(const IdentityTable& identities, const StopFlag& stop) {
  auto started = std::chrono::steady_clock::now();
  SweepResult r;
  r.referenced.assign(XLB_MAX_BACKENDS, false);
  const uint64_t now = now_();
  BackendKeyMap<Units> returned;  // units given back by deleted entries
  BackendKeyMap<Units> truth;     // units held by the entries that remain

  auto identity_of = [&](const xlb_flow_key& k, uint32_t backend_id, xlb_backend_key* out) {
    auto it = identities.find(backend_id);
    if (it == identities.end()) return false;
    *out = flow_identity(k, it->second);
    return true;
  };
  nat_rev_.begin();
  auto remains = [&](const xlb_flow_key& k, const xlb_flow& f) {
    if (f.backend_id < r.referenced.size()) r.referenced[f.backend_id] = true;
    nat_rev_.remember(k, f);
    xlb_backend_key id;
    if ((f.flags & (XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN)) && identity_of(k, f.backend_id, &id))
      add_units(truth[id], f.flags, 1);
  };

  io_.for_each_flow([&](const xlb_flow_key& k, const xlb_flow& f) {
    if (stop && r.stats.scanned % kStopCheckEvery == kStopCheckEvery - 1 && stop()) {
      r.stats.complete = false;
      return false;
    }
    r.stats.scanned++;
    // last_seen may be ahead of `now` (stamped after the sweep began).
    if (f.last_seen_ns >= now || now - f.last_seen_ns <= timeout_ns(k, f)) {
      remains(k, f);
      return true;
    }
    std::optional<xlb_flow> gone = io_.lookup_and_delete_flow(k);
    if (!gone) return true;  // evicted by the LRU meanwhile: reconciliation's business
    // A packet arrived since the read: the flow is alive after all. Put it
    // back with its units, unless the data plane already made a new entry
    // (which took units of its own: the old entry's come back below).
    if (gone->last_seen_ns != f.last_seen_ns && io_.restore_flow(k, *gone)) {
      r.stats.restored++;
      remains(k, *gone);
      return true;
    }
    r.stats.expired++;
    xlb_backend_key id;
    if ((gone->flags & (XLB_FLOW_F_COUNTED | XLB_FLOW_F_HALF_OPEN)) && identity_of(k, gone->backend_id, &id))
      add_units(returned[id], gone->flags, 1);
    return true;
  });

  for (const auto& [id, u] : returned) {
    if (u.zero()) continue;
    io_.adjust_conns(id, -u.active, -u.half_open);
    r.stats.returned++;
  }
  if (r.stats.complete) {
    reconcile(identities, truth, r.stats);
    NatRevStats nat = nat_rev_.sweep(stop);
    r.stats.nat_rev_entries = nat.entries;
    r.stats.nat_rev_reaped = nat.reaped;
  } else {
    r.referenced.clear();  // incomplete: proves nothing
    nat_rev_.forget();     // nor about the reply entries
  }
  r.stats.duration_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  return r;
}

void Reaper::reconcile(const IdentityTable& identities, const BackendKeyMap<Units>& truth, SweepStats& stats) {
  BackendKeyMap<Units> counts;
  for (const auto& [key, c] : io_.read_conns()) counts[key] = {c.active, c.half_open};
  BackendKeyMap<Units> diffs;
  for (const auto& [backend_id, key] : identities) {
    auto c = counts.find(key);
    if (c == counts.end()) continue;  // no entry: nothing to correct
    Units t;
    if (auto it = truth.find(key); it != truth.end()) t = it->second;
    Units d{c->second.active - t.active, c->second.half_open - t.half_open};
    Units prev;
    if (auto it = last_diff_.find(key); it != last_diff_.end()) prev = it->second;
    // The same difference twice in a row is drift (an LRU eviction, a
    // race that lost or doubled a unit), not flows in flight: correct it.
    Units fix;
    if (d.active != 0 && d.active == prev.active) {
      fix.active = -d.active;
      d.active = 0;
    }
    if (d.half_open != 0 && d.half_open == prev.half_open) {
      fix.half_open = -d.half_open;
      d.half_open = 0;
    }
    if (!fix.zero()) {
      io_.adjust_conns(key, fix.active, fix.half_open);
      stats.reconciled++;
    }
    if (!d.zero()) diffs[key] = d;
  }
  last_diff_ = std::move(diffs);
}

}  // namespace xlb
