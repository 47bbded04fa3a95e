// The balancer's view of the kernel: one method per map operation it needs.
// lbd implements it over the pinned BPF maps (ctl/lbd/bpf_map_io.h); unit
// tests implement it in memory (tests/unit/fake_map_io.h). Every method
// throws SystemError when the kernel refuses.
//
// Keys and values are the ABI structs of include/xlb/abi.h, so what the
// balancer writes here is byte for byte what the data plane reads.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "maglev.h"
#include "xlb/abi.h"

namespace xlb {

// Packets and bytes, summed over CPUs.
struct Counter {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

class MapIo {
 public:
  virtual ~MapIo() = default;

  // ---- xlb_vips: (addr, port, proto) -> vip meta
  virtual void put_vip(const xlb_vip_key& key, const xlb_vip_meta& meta) = 0;
  virtual void delete_vip(const xlb_vip_key& key) = 0;
  virtual std::optional<xlb_vip_meta> lookup_vip(const xlb_vip_key& key) = 0;
  virtual std::vector<std::pair<xlb_vip_key, xlb_vip_meta>> dump_vips() = 0;

  // ---- xlb_vip_addrs: VIP address -> number of VIPs on it
  virtual void put_vip_addr(const xlb_vip_addr_key& key, uint32_t count) = 0;
  virtual void delete_vip_addr(const xlb_vip_addr_key& key) = 0;
  virtual std::optional<uint32_t> lookup_vip_addr(const xlb_vip_addr_key& key) = 0;
  virtual std::vector<std::pair<xlb_vip_addr_key, uint32_t>> dump_vip_addrs() = 0;

  // ---- xlb_rings: vip_id -> inner array of ring_size backend ids
  // Creates a new inner array holding `slots` and installs it at vip_id,
  // atomically replacing any previous ring there (also used to resize).
  virtual void install_ring(uint32_t vip_id, const std::vector<uint32_t>& slots) = 0;
  // Writes only the given slots of the installed ring.
  virtual void write_ring_slots(uint32_t vip_id, const std::vector<maglev::SlotChange>& changes) = 0;
  // The installed ring's slots; empty if vip_id has no ring. Read from the
  // kernel each time: lbd keeps no copy of a ring (up to 4 MiB each).
  virtual std::vector<uint32_t> read_ring(uint32_t vip_id) = 0;
  // The vip_ids that have a ring installed.
  virtual std::vector<uint32_t> ring_ids() = 0;
  virtual void delete_ring(uint32_t vip_id) = 0;

  // ---- xlb_backends: backend_id -> backend
  virtual void put_backend(uint32_t id, const xlb_backend& backend) = 0;
  virtual void clear_backend(uint32_t id) = 0;  // writes an all-zero entry
  virtual xlb_backend lookup_backend(uint32_t id) = 0;  // all zero if unused
  // Entries with XLB_BACKEND_F_USED set.
  virtual std::vector<std::pair<uint32_t, xlb_backend>> dump_backends() = 0;

  // ---- xlb_vip_lists: vip_id -> scheduling list (least-conn, rr, wrr)
  // Writes len and ids with one update, keeping the entry's current cursor
  // (the rr/wrr position the data plane advances).
  virtual void write_vip_list(uint32_t vip_id, const std::vector<uint32_t>& ids) = 0;
  virtual std::vector<uint32_t> read_vip_list(uint32_t vip_id) = 0;  // the first len ids

  // ---- xlb_flows: client 5-tuple -> flow
  // Visitor returns false to stop the iteration (for_each_flow) or
  // true to select the entry for deletion (delete_flows). for_each_flow
  // reads the table in batches, so the visitor may delete the entry it is
  // given (and only that one) without disturbing the walk.
  using FlowVisitor = std::function<bool(const xlb_flow_key&, const xlb_flow&)>;
  virtual void for_each_flow(const FlowVisitor& visit) = 0;
  // Deletes every entry `match` selects; returns how many were deleted.
  virtual uint64_t delete_flows(const FlowVisitor& match) = 0;
  // Deletes one entry and returns its value as it was at deletion time
  // (BPF_MAP_LOOKUP_AND_DELETE_ELEM); nullopt if it was not there.
  virtual std::optional<xlb_flow> lookup_and_delete_flow(const xlb_flow_key& key) = 0;
  // Puts an entry back unless the data plane created one meanwhile
  // (BPF_NOEXIST); returns whether it was inserted.
  virtual bool restore_flow(const xlb_flow_key& key, const xlb_flow& flow) = 0;
  // One entry as it is now; nullopt if there is none.
  virtual std::optional<xlb_flow> lookup_flow(const xlb_flow_key& key) = 0;
  virtual uint32_t flow_table_size() = 0;

  // ---- xlb_nat_rev: a nat/fullnat flow's reply tuple -> its client flow
  // The data plane creates entries (BPF_NOEXIST) and deletes only its own,
  // in error paths; lbd deletes those whose flow is gone (the reaper, purge,
  // del-vip). Visitors as for the flows: for_each_nat_rev reads in batches,
  // delete_nat_rev deletes every entry `match` selects and returns how many.
  using NatRevVisitor = std::function<bool(const xlb_flow_key&, const xlb_nat_rev&)>;
  virtual void for_each_nat_rev(const NatRevVisitor& visit) = 0;
  virtual uint64_t delete_nat_rev(const NatRevVisitor& match) = 0;
  // Deletes the given entries, in batches; returns how many were there.
  virtual uint64_t delete_nat_rev_keys(const std::vector<xlb_flow_key>& keys) = 0;
  // Single entries, for the reaper's delete-only-if-unchanged
  // (NatRevReaper::delete_if_unchanged): one entry as it is now; delete one
  // and return its value at deletion time (BPF_MAP_LOOKUP_AND_DELETE_ELEM);
  // put one back unless the data plane created one meanwhile (BPF_NOEXIST),
  // returning whether it was inserted.
  virtual std::optional<xlb_nat_rev> lookup_nat_rev(const xlb_flow_key& key) = 0;
  virtual std::optional<xlb_nat_rev> lookup_and_delete_nat_rev(const xlb_flow_key& key) = 0;
  virtual bool restore_nat_rev(const xlb_flow_key& key, const xlb_nat_rev& rev) = 0;

  // ---- xlb_conns: backend identity -> connection counts
  // Counts are only ever changed atomically, by the data plane or through
  // adjust_conns (the xlb_conn_adjust program): user space never writes a
  // count value, so no concurrent increment can be lost.
  // Creates a zero entry unless one exists (BPF_NOEXIST: an existing entry,
  // with its counts, is never overwritten). Returns whether it created one.
  virtual bool ensure_conn_entry(const xlb_backend_key& key) = 0;
  virtual std::optional<xlb_conn_count> read_conn(const xlb_backend_key& key) = 0;
  virtual std::vector<std::pair<xlb_backend_key, xlb_conn_count>> read_conns() = 0;
  virtual void delete_conn_entry(const xlb_backend_key& key) = 0;
  // Adds the deltas atomically, clamping at zero. Returns false if the key
  // has no entry.
  virtual bool adjust_conns(const xlb_backend_key& key, int64_t d_active, int64_t d_half_open) = 0;

  // ---- per-CPU counters (summed)
  virtual std::vector<Counter> read_global_stats() = 0;  // XLB_STAT_MAX entries
  virtual Counter read_vip_stats(uint32_t vip_id) = 0;
  virtual Counter read_backend_stats(uint32_t backend_id) = 0;
  // Zeroes the counters of an id that is being (re)allocated, so a new VIP
  // or backend does not inherit a previous owner's numbers.
  virtual void reset_vip_stats(uint32_t vip_id) = 0;
  virtual void reset_backend_stats(uint32_t backend_id) = 0;

  // ---- xlb_config (single entry)
  virtual xlb_config read_config() = 0;
  virtual void write_config(const xlb_config& config) = 0;
};

}  // namespace xlb
