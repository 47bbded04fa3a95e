// An in-memory MapIo for the balancer and reaper tests. The "maps" live in a
// shared FakeMaps, so a second FakeMapIo over the same FakeMaps plays a
// restarted lbd reading the pinned maps. Every write is counted, and the
// order of operations is logged, so tests can assert that an operation wrote
// nothing, only the changed ring slots, or things in a safe order.
//
// Connection counts behave as the kernel's: only adjust_conns (the adjust
// program) changes them, atomically and clamped at zero; tests play the data
// plane by editing FakeMaps::conns directly.
#pragma once
#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/map_io.h"

namespace xlb::testing {

// Byte-wise ordering so ABI structs can be map keys, as in a BPF hash map.
template <typename T>
struct BytesLess {
  bool operator()(const T& a, const T& b) const { return std::memcmp(&a, &b, sizeof(T)) < 0; }
};

struct FakeMaps {
  std::map<xlb_vip_key, xlb_vip_meta, BytesLess<xlb_vip_key>> vips;
  std::map<xlb_vip_addr_key, uint32_t, BytesLess<xlb_vip_addr_key>> vip_addrs;
  std::map<uint32_t, std::vector<uint32_t>> rings;
  std::vector<xlb_backend> backends = std::vector<xlb_backend>(XLB_MAX_BACKENDS, xlb_backend{});
  std::map<xlb_flow_key, xlb_flow, BytesLess<xlb_flow_key>> flows;
  std::map<xlb_flow_key, xlb_nat_rev, BytesLess<xlb_flow_key>> nat_rev;
  std::map<xlb_backend_key, xlb_conn_count, BytesLess<xlb_backend_key>> conns;
  struct List {
    std::vector<uint32_t> ids;
    uint32_t cursor = 0;
  };
  std::map<uint32_t, List> lists;  // absent: all zero
  std::vector<Counter> gstats = std::vector<Counter>(XLB_STAT_MAX);
  std::map<uint32_t, Counter> vstats, bstats;
  xlb_config config{};

  // Write counters.
  uint64_t writes = 0;          // every mutating call
  uint64_t slot_writes = 0;     // ring slots written by write_ring_slots
  uint64_t ring_installs = 0;
  uint64_t backend_writes = 0;  // put_backend + clear_backend
  uint64_t config_writes = 0;
  uint64_t list_writes = 0;
  uint64_t adjust_calls = 0;
  uint64_t flow_lookups = 0;    // lookup_flow calls (single-entry reads)
  uint64_t nat_rev_walks = 0;   // for_each_nat_rev calls
  // Mutating calls in order: "put_vip", "write_vip_list 3", "adjust", ...
  std::vector<std::string> log;

  // Fail the n-th next mutating call with SystemError (0: never).
  uint64_t fail_after = 0;
  // Mutating calls made (failed ones included), and those of them that
  // fail (by their number in `calls`): a rollback failing too.
  uint64_t calls = 0;
  std::set<uint64_t> fail_also;
  // Plays the data plane acting on an entry between the reaper's read and
  // its delete: called with the entry about to be deleted.
  std::function<void(const xlb_flow_key&, xlb_flow&)> before_delete;
  // Plays the data plane creating a new entry right after the delete.
  std::function<void(const xlb_flow_key&)> after_delete;
  // Plays the data plane acting while lbd walks xlb_nat_rev: called with
  // each reply entry before it is visited.
  std::function<void(const xlb_flow_key&)> during_nat_rev_walk;
  // Plays the data plane acting on a reply entry between lbd's last look
  // and its delete (lookup_and_delete_nat_rev): called with the entry.
  std::function<void(const xlb_flow_key&, xlb_nat_rev&)> before_nat_rev_delete;
  // How many entries for_each_flow reads per batch, as the kernel's batch
  // lookup does: the visitor may delete what it is given.
  size_t batch = 3;

  // Test helpers.
  xlb_conn_count conn(const xlb_backend_key& k) const {
    auto it = conns.find(k);
    return it == conns.end() ? xlb_conn_count{-1, -1} : it->second;
  }
  size_t logged(const std::string& op) const {
    return static_cast<size_t>(std::count(log.begin(), log.end(), op));
  }
  // Index of the first log line starting with `prefix`, or -1.
  long first(const std::string& prefix) const {
    for (size_t i = 0; i < log.size(); i++)
      if (log[i].compare(0, prefix.size(), prefix) == 0) return static_cast<long>(i);
    return -1;
  }
};

class FakeMapIo : public MapIo {
 public:
  explicit FakeMapIo(std::shared_ptr<FakeMaps> maps) : m_(std::move(maps)) {}

  void put_vip(const xlb_vip_key& key, const xlb_vip_meta& meta) override {
    write("put_vip");
    m_->vips[key] = meta;
  }
  void delete_vip(const xlb_vip_key& key) override {
    write("delete_vip");
    m_->vips.erase(key);
  }
  std::optional<xlb_vip_meta> lookup_vip(const xlb_vip_key& key) override {
    auto it = m_->vips.find(key);
    if (it == m_->vips.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::pair<xlb_vip_key, xlb_vip_meta>> dump_vips() override {
    return {m_->vips.begin(), m_->vips.end()};
  }

  void put_vip_addr(const xlb_vip_addr_key& key, uint32_t count) override {
    write("put_vip_addr");
    m_->vip_addrs[key] = count;
  }
  void delete_vip_addr(const xlb_vip_addr_key& key) override {
    write("delete_vip_addr");
    m_->vip_addrs.erase(key);
  }
  std::optional<uint32_t> lookup_vip_addr(const xlb_vip_addr_key& key) override {
    auto it = m_->vip_addrs.find(key);
    if (it == m_->vip_addrs.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::pair<xlb_vip_addr_key, uint32_t>> dump_vip_addrs() override {
    return {m_->vip_addrs.begin(), m_->vip_addrs.end()};
  }

  void install_ring(uint32_t vip_id, const std::vector<uint32_t>& slots) override {
    write("install_ring");
    m_->ring_installs++;
    m_->rings[vip_id] = slots;
  }
  void write_ring_slots(uint32_t vip_id, const std::vector<maglev::SlotChange>& changes) override {
    auto it = m_->rings.find(vip_id);
    if (it == m_->rings.end()) throw SystemError("no ring installed for vip_id " + std::to_string(vip_id));
    auto& ring = it->second;
    // A batch update the kernel refuses may have written its first part,
    // as BPF_MAP_UPDATE_BATCH does: the failure comes after half the slots.
    bool fails = failing();
    size_t n = fails ? changes.size() / 2 : changes.size();
    for (size_t i = 0; i < n; i++) {
      ring.at(changes[i].slot) = changes[i].id;
      m_->slot_writes++;
    }
    if (fails) throw SystemError("injected map failure");
    logged_write("write_ring_slots");
  }
  std::vector<uint32_t> read_ring(uint32_t vip_id) override {
    auto it = m_->rings.find(vip_id);
    return it == m_->rings.end() ? std::vector<uint32_t>{} : it->second;
  }
  std::vector<uint32_t> ring_ids() override {
    std::vector<uint32_t> ids;
    for (const auto& [id, r] : m_->rings) ids.push_back(id);
    return ids;
  }
  void delete_ring(uint32_t vip_id) override {
    write("delete_ring");
    m_->rings.erase(vip_id);
  }

  void put_backend(uint32_t id, const xlb_backend& backend) override {
    write("put_backend " + std::to_string(id));
    m_->backend_writes++;
    m_->backends.at(id) = backend;
  }
  void clear_backend(uint32_t id) override {
    write("clear_backend " + std::to_string(id));
    m_->backend_writes++;
    std::memset(&m_->backends.at(id), 0, sizeof(xlb_backend));
  }
  xlb_backend lookup_backend(uint32_t id) override { return m_->backends.at(id); }
  std::vector<std::pair<uint32_t, xlb_backend>> dump_backends() override {
    std::vector<std::pair<uint32_t, xlb_backend>> out;
    for (uint32_t id = 0; id < m_->backends.size(); id++)
      if (m_->backends[id].flags & XLB_BACKEND_F_USED) out.push_back({id, m_->backends[id]});
    return out;
  }

  void write_vip_list(uint32_t vip_id, const std::vector<uint32_t>& ids) override {
    write("write_vip_list " + std::to_string(vip_id));
    if (ids.size() > XLB_VIP_LIST_MAX) throw std::logic_error("list too long");
    m_->list_writes++;
    m_->lists[vip_id].ids = ids;  // the cursor stays
  }
  std::vector<uint32_t> read_vip_list(uint32_t vip_id) override {
    auto it = m_->lists.find(vip_id);
    return it == m_->lists.end() ? std::vector<uint32_t>{} : it->second.ids;
  }

  void for_each_flow(const FlowVisitor& visit) override {
    // Batch by batch, each a copy, as the kernel hands them out.
    std::vector<std::pair<xlb_flow_key, xlb_flow>> chunk;
    auto it = m_->flows.begin();
    while (it != m_->flows.end()) {
      chunk.clear();
      for (; it != m_->flows.end() && chunk.size() < m_->batch; ++it) chunk.push_back(*it);
      xlb_flow_key last = chunk.back().first;
      for (const auto& [k, f] : chunk)
        if (!visit(k, f)) return;
      it = m_->flows.upper_bound(last);
    }
  }
  uint64_t delete_flows(const FlowVisitor& match) override {
    uint64_t n = 0;
    for (auto it = m_->flows.begin(); it != m_->flows.end();) {
      if (match(it->first, it->second)) {
        write("delete_flow");
        it = m_->flows.erase(it);
        n++;
      } else {
        ++it;
      }
    }
    return n;
  }
  std::optional<xlb_flow> lookup_and_delete_flow(const xlb_flow_key& key) override {
    auto it = m_->flows.find(key);
    if (it == m_->flows.end()) return std::nullopt;
    if (m_->before_delete) m_->before_delete(key, it->second);
    it = m_->flows.find(key);  // the hook may have deleted it
    if (it == m_->flows.end()) return std::nullopt;
    write("delete_flow");
    xlb_flow f = it->second;
    m_->flows.erase(it);
    if (m_->after_delete) m_->after_delete(key);
    return f;
  }
  bool restore_flow(const xlb_flow_key& key, const xlb_flow& flow) override {
    if (m_->flows.count(key)) return false;
    write("restore_flow");
    m_->flows[key] = flow;
    return true;
  }
  std::optional<xlb_flow> lookup_flow(const xlb_flow_key& key) override {
    m_->flow_lookups++;
    auto it = m_->flows.find(key);
    if (it == m_->flows.end()) return std::nullopt;
    return it->second;
  }
  uint32_t flow_table_size() override { return 1024; }

  void for_each_nat_rev(const NatRevVisitor& visit) override {
    m_->nat_rev_walks++;
    std::vector<std::pair<xlb_flow_key, xlb_nat_rev>> chunk;
    auto it = m_->nat_rev.begin();
    while (it != m_->nat_rev.end()) {
      chunk.clear();
      for (; it != m_->nat_rev.end() && chunk.size() < m_->batch; ++it) chunk.push_back(*it);
      xlb_flow_key last = chunk.back().first;
      for (const auto& [k, r] : chunk) {
        if (m_->during_nat_rev_walk) m_->during_nat_rev_walk(k);
        if (!visit(k, r)) return;
      }
      it = m_->nat_rev.upper_bound(last);
    }
  }
  uint64_t delete_nat_rev(const NatRevVisitor& match) override {
    uint64_t n = 0;
    for (auto it = m_->nat_rev.begin(); it != m_->nat_rev.end();) {
      if (match(it->first, it->second)) {
        write("delete_nat_rev");
        it = m_->nat_rev.erase(it);
        n++;
      } else {
        ++it;
      }
    }
    return n;
  }
  uint64_t delete_nat_rev_keys(const std::vector<xlb_flow_key>& keys) override {
    if (keys.empty()) return 0;
    write("delete_nat_rev_keys");  // one batch
    uint64_t n = 0;
    for (const auto& k : keys) n += m_->nat_rev.erase(k);
    return n;
  }
  std::optional<xlb_nat_rev> lookup_nat_rev(const xlb_flow_key& key) override {
    auto it = m_->nat_rev.find(key);
    if (it == m_->nat_rev.end()) return std::nullopt;
    return it->second;
  }
  std::optional<xlb_nat_rev> lookup_and_delete_nat_rev(const xlb_flow_key& key) override {
    auto it = m_->nat_rev.find(key);
    if (it == m_->nat_rev.end()) return std::nullopt;
    if (m_->before_nat_rev_delete) m_->before_nat_rev_delete(key, it->second);
    it = m_->nat_rev.find(key);  // the hook may have deleted it
    if (it == m_->nat_rev.end()) return std::nullopt;
    write("delete_nat_rev");
    xlb_nat_rev r = it->second;
    m_->nat_rev.erase(it);
    return r;
  }
  bool restore_nat_rev(const xlb_flow_key& key, const xlb_nat_rev& rev) override {
    if (m_->nat_rev.count(key)) return false;
    write("restore_nat_rev");
    m_->nat_rev[key] = rev;
    return true;
  }

  bool ensure_conn_entry(const xlb_backend_key& key) override {
    if (m_->conns.count(key)) return false;  // NOEXIST: untouched, not a write
    write("create_conn");
    m_->conns[key] = xlb_conn_count{};
    return true;
  }
  std::optional<xlb_conn_count> read_conn(const xlb_backend_key& key) override {
    auto it = m_->conns.find(key);
    if (it == m_->conns.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::pair<xlb_backend_key, xlb_conn_count>> read_conns() override {
    return {m_->conns.begin(), m_->conns.end()};
  }
  void delete_conn_entry(const xlb_backend_key& key) override {
    write("delete_conn");
    m_->conns.erase(key);
  }
  bool adjust_conns(const xlb_backend_key& key, int64_t d_active, int64_t d_half_open) override {
    write("adjust");
    m_->adjust_calls++;
    auto it = m_->conns.find(key);
    if (it == m_->conns.end()) return false;
    it->second.active = std::max<int64_t>(0, it->second.active + d_active);
    it->second.half_open = std::max<int64_t>(0, it->second.half_open + d_half_open);
    return true;
  }

  std::vector<Counter> read_global_stats() override { return m_->gstats; }
  Counter read_vip_stats(uint32_t vip_id) override { return m_->vstats[vip_id]; }
  Counter read_backend_stats(uint32_t id) override { return m_->bstats[id]; }
  void reset_vip_stats(uint32_t vip_id) override {
    write("reset_vip_stats");
    m_->vstats[vip_id] = {};
  }
  void reset_backend_stats(uint32_t id) override {
    write("reset_backend_stats");
    m_->bstats[id] = {};
  }

  xlb_config read_config() override { return m_->config; }
  void write_config(const xlb_config& config) override {
    write("write_config");
    m_->config_writes++;
    m_->config = config;
  }

 private:
  // Whether this mutating call is one chosen to fail (fail_after counts
  // down to it; fail_also names later calls, counted from the first).
  bool failing() {
    m_->calls++;
    if (m_->fail_also.count(m_->calls)) return true;
    return m_->fail_after && --m_->fail_after == 0;
  }
  void logged_write(const std::string& op) {
    m_->writes++;
    m_->log.push_back(op);
  }
  void write(const std::string& op) {
    if (failing()) throw SystemError("injected map failure");
    logged_write(op);
  }
  std::shared_ptr<FakeMaps> m_;
};

}  // namespace xlb::testing
