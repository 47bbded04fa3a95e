// MapIo over the pinned BPF maps in <pin_dir>/<XLB_MAP_*>: what the
// balancer writes goes straight into the maps the data plane reads. Counts
// are changed only by running the pinned xlb_conn_adjust program.
//
// Not thread-safe; every thread that needs the maps (the reaper) opens its
// own BpfMapIo, with its own fds.
#pragma once
#include <functional>
#include <map>
#include <string>

#include "core/map_io.h"
#include "fd.h"

namespace xlb {

class BpfMapIo : public MapIo {
 public:
  // Opens every map, and the adjust program, pinned in pin_dir; throws
  // SystemError if one is missing.
  explicit BpfMapIo(const std::string& pin_dir);
  // Same, with `open(name)` returning an fd of its own for each map and for
  // XLB_CONN_ADJUST_PROG_NAME (e.g. dups of a loaded skeleton's fds).
  explicit BpfMapIo(const std::function<Fd(const char* name)>& open);

  void put_vip(const xlb_vip_key& key, const xlb_vip_meta& meta) override;
  void delete_vip(const xlb_vip_key& key) override;
  std::optional<xlb_vip_meta> lookup_vip(const xlb_vip_key& key) override;
  std::vector<std::pair<xlb_vip_key, xlb_vip_meta>> dump_vips() override;

  void put_vip_addr(const xlb_vip_addr_key& key, uint32_t count) override;
  void delete_vip_addr(const xlb_vip_addr_key& key) override;
  std::optional<uint32_t> lookup_vip_addr(const xlb_vip_addr_key& key) override;
  std::vector<std::pair<xlb_vip_addr_key, uint32_t>> dump_vip_addrs() override;

  void install_ring(uint32_t vip_id, const std::vector<uint32_t>& slots) override;
  void write_ring_slots(uint32_t vip_id, const std::vector<maglev::SlotChange>& changes) override;
  std::vector<uint32_t> read_ring(uint32_t vip_id) override;
  std::vector<uint32_t> ring_ids() override;
  void delete_ring(uint32_t vip_id) override;

  void put_backend(uint32_t id, const xlb_backend& backend) override;
  void clear_backend(uint32_t id) override;
  xlb_backend lookup_backend(uint32_t id) override;
  std::vector<std::pair<uint32_t, xlb_backend>> dump_backends() override;

  void write_vip_list(uint32_t vip_id, const std::vector<uint32_t>& ids) override;
  std::vector<uint32_t> read_vip_list(uint32_t vip_id) override;

  void for_each_flow(const FlowVisitor& visit) override;
  uint64_t delete_flows(const FlowVisitor& match) override;
  std::optional<xlb_flow> lookup_and_delete_flow(const xlb_flow_key& key) override;
  bool restore_flow(const xlb_flow_key& key, const xlb_flow& flow) override;
  std::optional<xlb_flow> lookup_flow(const xlb_flow_key& key) override;
  uint32_t flow_table_size() override;

  void for_each_nat_rev(const NatRevVisitor& visit) override;
  uint64_t delete_nat_rev(const NatRevVisitor& match) override;
  uint64_t delete_nat_rev_keys(const std::vector<xlb_flow_key>& keys) override;
  std::optional<xlb_nat_rev> lookup_nat_rev(const xlb_flow_key& key) override;
  std::optional<xlb_nat_rev> lookup_and_delete_nat_rev(const xlb_flow_key& key) override;
  bool restore_nat_rev(const xlb_flow_key& key, const xlb_nat_rev& rev) override;

  bool ensure_conn_entry(const xlb_backend_key& key) override;
  std::optional<xlb_conn_count> read_conn(const xlb_backend_key& key) override;
  std::vector<std::pair<xlb_backend_key, xlb_conn_count>> read_conns() override;
  void delete_conn_entry(const xlb_backend_key& key) override;
  bool adjust_conns(const xlb_backend_key& key, int64_t d_active, int64_t d_half_open) override;

  std::vector<Counter> read_global_stats() override;
  Counter read_vip_stats(uint32_t vip_id) override;
  Counter read_backend_stats(uint32_t backend_id) override;
  void reset_vip_stats(uint32_t vip_id) override;
  void reset_backend_stats(uint32_t backend_id) override;

  xlb_config read_config() override;
  void write_config(const xlb_config& config) override;

 private:
  // The installed inner array, opened for this call (lbd holds no fd per
  // ring, so 1,024 VIPs cost no descriptors); an empty Fd if none.
  Fd ring_fd(uint32_t vip_id);
  Counter read_percpu(int fd, const char* name, uint32_t key);
  void reset_percpu(int fd, const char* name, uint32_t key);

  Fd vips_, vip_addrs_, rings_, backends_, flows_, config_, gstats_, vstats_, bstats_, conns_, lists_, nat_rev_;
  Fd adjust_;  // the xlb_conn_adjust program
  // Flags of the rings this lbd creates: mmapable, unless the pinned
  // xlb_rings comes from an xlb_lb whose template was not (ring_map.h).
  static constexpr uint32_t kLegacyRingFlags = XLB_RING_MAP_FLAGS & ~(1u << 10);
  uint32_t ring_flags_ = XLB_RING_MAP_FLAGS;
  int ncpus_ = 1;
};

// Opens <pin_dir>/<name> (a map or program); throws SystemError naming the path.
Fd open_pinned_map(const std::string& pin_dir, const char* name);

}  // namespace xlb
