// An in-memory MapIo for the balancer tests. The "maps" live in a shared
// FakeMaps, so a second FakeMapIo over the same FakeMaps plays a restarted
// lbd reading the pinned maps. Every write is counted, so tests can assert
// that an operation wrote nothing, or only the changed ring slots.
#pragma once
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
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
  std::vector<Counter> gstats = std::vector<Counter>(XLB_STAT_MAX);
  std::map<uint32_t, Counter> vstats, bstats;
  xlb_config config{};

  // Write counters.
  uint64_t writes = 0;          // every mutating call
  uint64_t slot_writes = 0;     // ring slots written by write_ring_slots
  uint64_t ring_installs = 0;
  uint64_t backend_writes = 0;  // put_backend + clear_backend
  uint64_t config_writes = 0;

  // Fail the n-th next mutating call with SystemError (0: never).
  uint64_t fail_after = 0;
};

class FakeMapIo : public MapIo {
 public:
  explicit FakeMapIo(std::shared_ptr<FakeMaps> maps) : m_(std::move(maps)) {}

  void put_vip(const xlb_vip_key& key, const xlb_vip_meta& meta) override {
    write();
    m_->vips[key] = meta;
  }
  void delete_vip(const xlb_vip_key& key) override {
    write();
    m_->vips.erase(key);
  }
  std::vector<std::pair<xlb_vip_key, xlb_vip_meta>> dump_vips() override {
    return {m_->vips.begin(), m_->vips.end()};
  }

  void put_vip_addr(const xlb_vip_addr_key& key, uint32_t count) override {
    write();
    m_->vip_addrs[key] = count;
  }
  void delete_vip_addr(const xlb_vip_addr_key& key) override {
    write();
    m_->vip_addrs.erase(key);
  }
  std::vector<std::pair<xlb_vip_addr_key, uint32_t>> dump_vip_addrs() override {
    return {m_->vip_addrs.begin(), m_->vip_addrs.end()};
  }

  void install_ring(uint32_t vip_id, const std::vector<uint32_t>& slots) override {
    write();
    m_->ring_installs++;
    m_->rings[vip_id] = slots;
  }
  void write_ring_slots(uint32_t vip_id, const std::vector<maglev::SlotChange>& changes) override {
    write();
    auto& ring = m_->rings.at(vip_id);
    for (const auto& c : changes) {
      ring.at(c.slot) = c.id;
      m_->slot_writes++;
    }
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
    write();
    m_->rings.erase(vip_id);
  }

  void put_backend(uint32_t id, const xlb_backend& backend) override {
    write();
    m_->backend_writes++;
    m_->backends.at(id) = backend;
  }
  void clear_backend(uint32_t id) override {
    write();
    m_->backend_writes++;
    std::memset(&m_->backends.at(id), 0, sizeof(xlb_backend));
  }
  std::vector<std::pair<uint32_t, xlb_backend>> dump_backends() override {
    std::vector<std::pair<uint32_t, xlb_backend>> out;
    for (uint32_t id = 0; id < m_->backends.size(); id++)
      if (m_->backends[id].flags & XLB_BACKEND_F_USED) out.push_back({id, m_->backends[id]});
    return out;
  }

  void for_each_flow(const FlowVisitor& visit) override {
    for (const auto& [k, f] : m_->flows)
      if (!visit(k, f)) return;
  }
  uint64_t delete_flows(const FlowVisitor& match) override {
    uint64_t n = 0;
    for (auto it = m_->flows.begin(); it != m_->flows.end();) {
      if (match(it->first, it->second)) {
        write();
        it = m_->flows.erase(it);
        n++;
      } else {
        ++it;
      }
    }
    return n;
  }
  uint32_t flow_table_size() override { return 1024; }

  std::vector<Counter> read_global_stats() override { return m_->gstats; }
  Counter read_vip_stats(uint32_t vip_id) override { return m_->vstats[vip_id]; }
  Counter read_backend_stats(uint32_t id) override { return m_->bstats[id]; }
  void reset_vip_stats(uint32_t vip_id) override {
    write();
    m_->vstats[vip_id] = {};
  }
  void reset_backend_stats(uint32_t id) override {
    write();
    m_->bstats[id] = {};
  }

  xlb_config read_config() override { return m_->config; }
  void write_config(const xlb_config& config) override {
    write();
    m_->config_writes++;
    m_->config = config;
  }

 private:
  void write() {
    if (m_->fail_after && --m_->fail_after == 0) throw SystemError("injected map failure");
    m_->writes++;
  }
  std::shared_ptr<FakeMaps> m_;
};

}  // namespace xlb::testing
