// A MapIo that can take back what it wrote: the balancer's undo log.
//
// Between begin() and commit(), the first write to each key of the
// balancer's own maps (VIPs, VIP addresses, rings, backends, lists, count
// entries, the config) first reads the value there and records how to put
// it back. rollback() replays those records newest first, so the maps end
// as they were at begin(), whatever the failed request had written. Reverse
// order also keeps the data plane's invariants during the undo: a VIP's
// meta never names more ring slots than its installed ring has, and a ring
// is back before the VIP that reads it.
//
// What cannot be taken back is passed through unrecorded: deleted flows
// and reply entries (their connections were being torn down; the data
// plane recreates entries for live ones), and zeroed statistics.
// Connection counts are changed only by the adjust program, so their undo
// is the opposite adjustment, and a count entry the request created is
// deleted again only if no flow has been counted on it meanwhile.
//
// Outside a transaction every call goes straight through.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "map_io.h"

namespace xlb {

class MapJournal : public MapIo {
 public:
  explicit MapJournal(std::unique_ptr<MapIo> inner) : inner_(std::move(inner)) {}

  void begin();
  void commit();
  // Undoes every recorded write, newest first, going on past failures.
  // Returns one line per undo step that failed (empty: the maps are as
  // they were at begin()).
  std::vector<std::string> rollback();
  bool active() const { return active_; }

  void put_vip(const xlb_vip_key& key, const xlb_vip_meta& meta) override;
  void delete_vip(const xlb_vip_key& key) override;
  std::optional<xlb_vip_meta> lookup_vip(const xlb_vip_key& key) override { return inner_->lookup_vip(key); }
  std::vector<std::pair<xlb_vip_key, xlb_vip_meta>> dump_vips() override { return inner_->dump_vips(); }

  void put_vip_addr(const xlb_vip_addr_key& key, uint32_t count) override;
  void delete_vip_addr(const xlb_vip_addr_key& key) override;
  std::optional<uint32_t> lookup_vip_addr(const xlb_vip_addr_key& key) override {
    return inner_->lookup_vip_addr(key);
  }
  std::vector<std::pair<xlb_vip_addr_key, uint32_t>> dump_vip_addrs() override { return inner_->dump_vip_addrs(); }

  void install_ring(uint32_t vip_id, const std::vector<uint32_t>& slots) override;
  void write_ring_slots(uint32_t vip_id, const std::vector<maglev::SlotChange>& changes) override;
  std::vector<uint32_t> read_ring(uint32_t vip_id) override { return inner_->read_ring(vip_id); }
  std::vector<uint32_t> ring_ids() override { return inner_->ring_ids(); }
  void delete_ring(uint32_t vip_id) override;

  void put_backend(uint32_t id, const xlb_backend& backend) override;
  void clear_backend(uint32_t id) override;
  xlb_backend lookup_backend(uint32_t id) override { return inner_->lookup_backend(id); }
  std::vector<std::pair<uint32_t, xlb_backend>> dump_backends() override { return inner_->dump_backends(); }

  void write_vip_list(uint32_t vip_id, const std::vector<uint32_t>& ids) override;
  std::vector<uint32_t> read_vip_list(uint32_t vip_id) override { return inner_->read_vip_list(vip_id); }

  void for_each_flow(const FlowVisitor& visit) override { inner_->for_each_flow(visit); }
  uint64_t delete_flows(const FlowVisitor& match) override { return inner_->delete_flows(match); }
  std::optional<xlb_flow> lookup_and_delete_flow(const xlb_flow_key& key) override {
    return inner_->lookup_and_delete_flow(key);
  }
  bool restore_flow(const xlb_flow_key& key, const xlb_flow& flow) override { return inner_->restore_flow(key, flow); }
  std::optional<xlb_flow> lookup_flow(const xlb_flow_key& key) override { return inner_->lookup_flow(key); }
  uint32_t flow_table_size() override { return inner_->flow_table_size(); }

  void for_each_nat_rev(const NatRevVisitor& visit) override { inner_->for_each_nat_rev(visit); }
  uint64_t delete_nat_rev(const NatRevVisitor& match) override { return inner_->delete_nat_rev(match); }
  uint64_t delete_nat_rev_keys(const std::vector<xlb_flow_key>& keys) override {
    return inner_->delete_nat_rev_keys(keys);
  }
  std::optional<xlb_nat_rev> lookup_nat_rev(const xlb_flow_key& key) override { return inner_->lookup_nat_rev(key); }
  std::optional<xlb_nat_rev> lookup_and_delete_nat_rev(const xlb_flow_key& key) override {
    return inner_->lookup_and_delete_nat_rev(key);
  }
  bool restore_nat_rev(const xlb_flow_key& key, const xlb_nat_rev& rev) override {
    return inner_->restore_nat_rev(key, rev);
  }

  bool ensure_conn_entry(const xlb_backend_key& key) override;
  std::optional<xlb_conn_count> read_conn(const xlb_backend_key& key) override { return inner_->read_conn(key); }
  std::vector<std::pair<xlb_backend_key, xlb_conn_count>> read_conns() override { return inner_->read_conns(); }
  void delete_conn_entry(const xlb_backend_key& key) override;
  bool adjust_conns(const xlb_backend_key& key, int64_t d_active, int64_t d_half_open) override;

  std::vector<Counter> read_global_stats() override { return inner_->read_global_stats(); }
  Counter read_vip_stats(uint32_t vip_id) override { return inner_->read_vip_stats(vip_id); }
  Counter read_backend_stats(uint32_t backend_id) override { return inner_->read_backend_stats(backend_id); }
  void reset_vip_stats(uint32_t vip_id) override { inner_->reset_vip_stats(vip_id); }
  void reset_backend_stats(uint32_t backend_id) override { inner_->reset_backend_stats(backend_id); }

  xlb_config read_config() override { return inner_->read_config(); }
  void write_config(const xlb_config& config) override;

 private:
  struct Undo {
    std::string what;  // for the rollback's failure lines
    std::function<void()> run;
  };
  // Records `undo` unless this key was already touched in the transaction
  // (its first record restores the value from before begin()). `seen` is
  // the set of keys of one map, keyed by their bytes.
  bool first_touch(std::set<std::string>& seen, const void* key, size_t size);
  void record(std::string what, std::function<void()> undo);
  void remember_vip(const xlb_vip_key& key);
  void remember_vip_addr(const xlb_vip_addr_key& key);
  void remember_ring(uint32_t vip_id);
  void remember_backend(uint32_t id);

  std::unique_ptr<MapIo> inner_;
  bool active_ = false;
  std::vector<Undo> undo_;
  std::set<std::string> vips_, vip_addrs_, rings_, backends_, lists_;
  bool config_seen_ = false;
};

}  // namespace xlb
