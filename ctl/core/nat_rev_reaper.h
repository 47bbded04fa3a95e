// The reaper's second half: deleting xlb_nat_rev entries whose flow is gone
// (docs/design.md, "The reaper"). The data plane creates a reply entry for
// every nat/fullnat flow and, being a plain hash (it reserves a fullnat
// source port), the entry only goes when lbd deletes it.
//
// After each complete forward sweep, every reply entry (K, V) is checked
// against the forward entry V.fwd as the sweep left it. It is stale when
//   - the forward entry is missing, or
//   - the forward entry's backend_id is not V.backend_id (the flow was
//     rescheduled, and its new reply tuple has its own entry), or
//   - the forward entry has a nat_port other than K's destination port
//     (fullnat: the flow holds another source port now).
// A stale entry is deleted only if the same entry (key and value) was
// already stale in the previous sweep, and is still stale when looked up
// again just before the delete. The delete is per entry and conditional:
// only if the entry still holds the value judged (delete_if_unchanged), since
// the data plane overwrites the entry when a new flow takes over a finished
// flow's reply tuple (bpf/lib/nat.h), and that new owner is live. The data plane creates the reply entry a
// moment before the forward entry, so one sweep may see a new flow's reply
// entry without its flow: the grace of one sweep lets it finish. The second
// look covers a live flow the batched walk missed (a hash walk concurrent
// with inserts may skip entries).
//
// So an expired nat flow's reply entry goes one or two sweeps after the
// forward sweep deleted the flow, and a fullnat source port is free again at
// most two reap intervals after its flow expired.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "map_io.h"

namespace xlb {

struct NatRevStats {
  uint64_t entries = 0;  // reply entries read
  uint64_t stale = 0;    // of which stale (deleted now or candidates for the next sweep)
  uint64_t reaped = 0;   // deleted
};

// Is the reply entry (key, rev) stale given its forward entry (null: none)?
bool nat_rev_stale(const xlb_flow_key& key, const xlb_nat_rev& rev, const xlb_flow* fwd);

class NatRevReaper {
 public:
  using StopFlag = std::function<bool()>;
  explicit NatRevReaper(MapIo& io) : io_(io) {}

  // The forward sweep reports, between begin() and sweep(), every entry it
  // leaves in the table; only those with XLB_FLOW_F_NAT are kept (16 bytes
  // each), the others cannot own a reply entry.
  void begin();
  void remember(const xlb_flow_key& key, const xlb_flow& flow);
  // Walks xlb_nat_rev and deletes the stale entries that were stale in the
  // previous sweep too. If stopped early, nothing is learnt for the next
  // sweep (what was deleted stays deleted).
  NatRevStats sweep(const StopFlag& stop = {});
  // Forgets the candidates: the next sweep starts the grace afresh (after a
  // forward sweep that did not complete, whose view proves nothing).
  void forget() { candidates_.clear(); }

 private:
  struct Fwd {
    uint64_t hash;  // of the forward key
    uint32_t backend_id;
    uint16_t nat_port;  // network order, as in the flow
    uint16_t pad;
    bool operator<(const Fwd& o) const { return hash < o.hash; }
  };
  struct Entry {  // a reply entry, compared bytewise
    xlb_flow_key key;
    xlb_nat_rev rev;
    bool operator<(const Entry& o) const;
    bool operator==(const Entry& o) const;
  };
  static uint64_t hash_key(const xlb_flow_key& key);
  // Deletes the reply entry at key only if it still holds rev, byte for
  // byte; returns whether it did.
  bool delete_if_unchanged(const xlb_flow_key& key, const xlb_nat_rev& rev);
  bool stale_in_snapshot(const xlb_flow_key& key, const xlb_nat_rev& rev) const;

  MapIo& io_;
  std::vector<Fwd> fwd_;           // the forward sweep's NAT flows, sorted by hash in sweep()
  std::vector<Entry> candidates_;  // stale in the previous sweep, sorted
};

}  // namespace xlb
