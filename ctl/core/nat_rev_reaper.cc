#include "nat_rev_reaper.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace xlb {

namespace {
constexpr uint64_t kStopCheckEvery = 8192;
}

bool nat_rev_stale(const xlb_flow_key& key, const xlb_nat_rev& rev, const xlb_flow* fwd) {
  if (!fwd) return true;
  if (fwd->backend_id != rev.backend_id) return true;
  // Both in network order; 0: not a fullnat flow, any reply port is its own.
  return fwd->nat_port != 0 && fwd->nat_port != key.dport;
}

bool NatRevReaper::Entry::operator<(const Entry& o) const { return std::memcmp(this, &o, sizeof *this) < 0; }
bool NatRevReaper::Entry::operator==(const Entry& o) const { return std::memcmp(this, &o, sizeof *this) == 0; }
static_assert(sizeof(xlb_flow_key) + sizeof(xlb_nat_rev) == 88, "Entry is compared bytewise: no padding");

uint64_t NatRevReaper::hash_key(const xlb_flow_key& key) {
  return std::hash<std::string_view>()(std::string_view(reinterpret_cast<const char*>(&key), sizeof key));
}

void NatRevReaper::begin() { fwd_.clear(); }

void NatRevReaper::remember(const xlb_flow_key& key, const xlb_flow& flow) {
  if (flow.flags & XLB_FLOW_F_NAT) fwd_.push_back({hash_key(key), flow.backend_id, flow.nat_port, 0});
}

bool NatRevReaper::stale_in_snapshot(const xlb_flow_key& key, const xlb_nat_rev& rev) const {
  // Flows whose keys share a hash all qualify: a collision can only keep an
  // entry one sweep longer, never delete one (the delete looks again).
  auto [lo, hi] = std::equal_range(fwd_.begin(), fwd_.end(), Fwd{hash_key(rev.fwd), 0, 0, 0});
  for (auto it = lo; it != hi; ++it) {
    xlb_flow f{};
    f.backend_id = it->backend_id;
    f.nat_port = it->nat_port;
    if (!nat_rev_stale(key, rev, &f)) return false;
  }
  return true;
}

bool NatRevReaper::delete_if_unchanged(const xlb_flow_key& key, const xlb_nat_rev& rev) {
  auto same = [&](const xlb_nat_rev& r) { return std::memcmp(&r, &rev, sizeof r) == 0; };
  // The cheap look first: a tuple taken over since the walk read it is left
  // alone without ever going missing.
  std::optional<xlb_nat_rev> cur = io_.lookup_nat_rev(key);
  if (!cur || !same(*cur)) return false;
  // Taken over between that look and the delete: put the new owner's entry
  // back (it was missing for the microseconds in between).
  std::optional<xlb_nat_rev> gone = io_.lookup_and_delete_nat_rev(key);
  if (!gone) return false;
  if (same(*gone)) return true;
  io_.restore_nat_rev(key, *gone);
  return false;
}

NatRevStats NatRevReaper::sweep(const StopFlag& stop) {
  NatRevStats st;
  std::sort(fwd_.begin(), fwd_.end());
  std::vector<Entry> previous = std::move(candidates_);
  std::vector<Entry> now;
  bool stopped = false;
  io_.for_each_nat_rev([&](const xlb_flow_key& k, const xlb_nat_rev& r) {
    if (stop && st.entries % kStopCheckEvery == kStopCheckEvery - 1 && stop()) {
      stopped = true;
      return false;
    }
    st.entries++;
    if (!stale_in_snapshot(k, r)) return true;
    Entry e{k, r};
    if (!std::binary_search(previous.begin(), previous.end(), e)) {
      st.stale++;
      now.push_back(e);  // the grace: maybe its flow is being created
      return true;
    }
    // Stale twice; look at its flow as it is now, then delete at once, and
    // only the value judged (the walk's copy may be old: the data plane
    // may have given the tuple to a new flow since).
    std::optional<xlb_flow> fwd = io_.lookup_flow(r.fwd);
    if (!nat_rev_stale(k, r, fwd ? &*fwd : nullptr)) return true;  // the walk missed a live flow
    st.stale++;
    if (delete_if_unchanged(k, r)) st.reaped++;
    return true;
  });
  fwd_.clear();  // its capacity is kept for the next sweep
  if (stopped) return st;  // candidates_ stays empty: the grace starts afresh
  std::sort(now.begin(), now.end());
  candidates_ = std::move(now);
  return st;
}

}  // namespace xlb
