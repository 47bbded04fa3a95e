#include "map_journal.h"

#include <cstring>
#include <exception>

#include "conn_key.h"

namespace xlb {

void MapJournal::begin() {
  undo_.clear();
  vips_.clear();
  vip_addrs_.clear();
  rings_.clear();
  backends_.clear();
  lists_.clear();
  config_seen_ = false;
  active_ = true;
}

void MapJournal::commit() {
  active_ = false;
  undo_.clear();
}

std::vector<std::string> MapJournal::rollback() {
  active_ = false;
  std::vector<std::string> failures;
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    try {
      it->run();
    } catch (const std::exception& e) {
      failures.push_back(it->what + ": " + e.what());
    }
  }
  undo_.clear();
  return failures;
}

bool MapJournal::first_touch(std::set<std::string>& seen, const void* key, size_t size) {
  return active_ && seen.insert(std::string(static_cast<const char*>(key), size)).second;
}

void MapJournal::record(std::string what, std::function<void()> undo) {
  undo_.push_back({std::move(what), std::move(undo)});
}

// ---- values put back as they were

void MapJournal::remember_vip(const xlb_vip_key& key) {
  if (!first_touch(vips_, &key, sizeof key)) return;
  std::optional<xlb_vip_meta> old = inner_->lookup_vip(key);
  record("restore a VIP entry", [this, key, old] {
    if (old)
      inner_->put_vip(key, *old);
    else if (inner_->lookup_vip(key))
      inner_->delete_vip(key);
  });
}

void MapJournal::put_vip(const xlb_vip_key& key, const xlb_vip_meta& meta) {
  remember_vip(key);
  inner_->put_vip(key, meta);
}

void MapJournal::delete_vip(const xlb_vip_key& key) {
  remember_vip(key);
  inner_->delete_vip(key);
}

void MapJournal::remember_vip_addr(const xlb_vip_addr_key& key) {
  if (!first_touch(vip_addrs_, &key, sizeof key)) return;
  std::optional<uint32_t> old = inner_->lookup_vip_addr(key);
  record("restore a VIP address entry", [this, key, old] {
    if (old)
      inner_->put_vip_addr(key, *old);
    else if (inner_->lookup_vip_addr(key))
      inner_->delete_vip_addr(key);
  });
}

void MapJournal::put_vip_addr(const xlb_vip_addr_key& key, uint32_t count) {
  remember_vip_addr(key);
  inner_->put_vip_addr(key, count);
}

void MapJournal::delete_vip_addr(const xlb_vip_addr_key& key) {
  remember_vip_addr(key);
  inner_->delete_vip_addr(key);
}

void MapJournal::remember_ring(uint32_t vip_id) {
  if (!first_touch(rings_, &vip_id, sizeof vip_id)) return;
  // A ring is read whole once per transaction (a few MiB at most), and put
  // back by rewriting only the slots that differ when its size is the same.
  std::vector<uint32_t> old = inner_->read_ring(vip_id);
  record("restore the ring of vip_id " + std::to_string(vip_id), [this, vip_id, old] {
    std::vector<uint32_t> now = inner_->read_ring(vip_id);
    if (old.empty()) {
      if (!now.empty()) inner_->delete_ring(vip_id);
    } else if (now.size() != old.size()) {
      inner_->install_ring(vip_id, old);
    } else {
      auto changes = maglev::diff(now, old);
      if (!changes.empty()) inner_->write_ring_slots(vip_id, changes);
    }
  });
}

void MapJournal::install_ring(uint32_t vip_id, const std::vector<uint32_t>& slots) {
  remember_ring(vip_id);
  inner_->install_ring(vip_id, slots);
}

void MapJournal::write_ring_slots(uint32_t vip_id, const std::vector<maglev::SlotChange>& changes) {
  remember_ring(vip_id);
  inner_->write_ring_slots(vip_id, changes);
}

void MapJournal::delete_ring(uint32_t vip_id) {
  remember_ring(vip_id);
  inner_->delete_ring(vip_id);
}

void MapJournal::remember_backend(uint32_t id) {
  if (!first_touch(backends_, &id, sizeof id)) return;
  xlb_backend old = inner_->lookup_backend(id);
  record("restore backend id " + std::to_string(id), [this, id, old] {
    if (old.flags & XLB_BACKEND_F_USED)
      inner_->put_backend(id, old);
    else
      inner_->clear_backend(id);
  });
}

void MapJournal::put_backend(uint32_t id, const xlb_backend& backend) {
  remember_backend(id);
  inner_->put_backend(id, backend);
}

void MapJournal::clear_backend(uint32_t id) {
  remember_backend(id);
  inner_->clear_backend(id);
}

void MapJournal::write_vip_list(uint32_t vip_id, const std::vector<uint32_t>& ids) {
  if (first_touch(lists_, &vip_id, sizeof vip_id)) {
    std::vector<uint32_t> old = inner_->read_vip_list(vip_id);
    record("restore the list of vip_id " + std::to_string(vip_id),
           [this, vip_id, old] { inner_->write_vip_list(vip_id, old); });
  }
  inner_->write_vip_list(vip_id, ids);
}

void MapJournal::write_config(const xlb_config& config) {
  if (active_ && !config_seen_) {
    config_seen_ = true;
    xlb_config old = inner_->read_config();
    record("restore the config", [this, old] { inner_->write_config(old); });
  }
  inner_->write_config(config);
}

// ---- counts: entries and adjustments

bool MapJournal::ensure_conn_entry(const xlb_backend_key& key) {
  bool created = inner_->ensure_conn_entry(key);
  if (created && active_)
    record("delete the count entry of " + backend_key_str(key), [this, key] {
      // A flow counted on it meanwhile keeps it (recovery deletes it once
      // its counts are back to zero).
      auto now = inner_->read_conn(key);
      if (now && now->active == 0 && now->half_open == 0) inner_->delete_conn_entry(key);
    });
  return created;
}

void MapJournal::delete_conn_entry(const xlb_backend_key& key) {
  if (active_) {
    std::optional<xlb_conn_count> old = inner_->read_conn(key);
    if (old)
      record("recreate the count entry of " + backend_key_str(key), [this, key, old] {
        inner_->ensure_conn_entry(key);
        if (old->active || old->half_open) inner_->adjust_conns(key, old->active, old->half_open);
      });
  }
  inner_->delete_conn_entry(key);
}

bool MapJournal::adjust_conns(const xlb_backend_key& key, int64_t d_active, int64_t d_half_open) {
  bool found = inner_->adjust_conns(key, d_active, d_half_open);
  if (found && active_)
    record("readjust the counts of " + backend_key_str(key),
           [this, key, d_active, d_half_open] { inner_->adjust_conns(key, -d_active, -d_half_open); });
  return found;
}

}  // namespace xlb
