#include "bpf_map_io.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>

#include "core/error.h"
#include "ring_map.h"

namespace xlb {

static_assert(XLB_RING_MAP_FLAGS == (BPF_F_INNER_MAP | BPF_F_MMAPABLE), "abi.h's ring flags are the kernel's");

namespace {

// Not in the uapi headers: the kernel's "operation not supported" for a map
// type without batch ops.
constexpr int kENOTSUPP = 524;

[[noreturn]] void fail(const char* map, const char* op, int err) {
  throw SystemError(std::string(map) + ": " + op + ": " + std::strerror(err < 0 ? -err : err));
}

bool batch_unsupported(int err) {
  err = err < 0 ? -err : err;
  return err == EINVAL || err == kENOTSUPP || err == EOPNOTSUPP;
}

void update(int fd, const char* name, const void* key, const void* value) {
  int err = bpf_map_update_elem(fd, key, value, BPF_ANY);
  if (err) fail(name, "update", err);
}

void remove(int fd, const char* name, const void* key) {
  int err = bpf_map_delete_elem(fd, key);
  if (err && err != -ENOENT) fail(name, "delete", err);
}

bool lookup(int fd, const char* name, const void* key, void* value) {
  int err = bpf_map_lookup_elem(fd, key, value);
  if (err == -ENOENT) return false;
  if (err) fail(name, "lookup", err);
  return true;
}

// Updates count entries at once, element by element if the kernel has no
// batch update for this map type.
void update_many(int fd, const char* name, const void* keys, const void* values, uint32_t count,
                 size_t key_size, size_t value_size) {
  if (!count) return;
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
  uint32_t n = count;
  int err = bpf_map_update_batch(fd, keys, values, &n, &opts);
  if (!err) return;
  if (!batch_unsupported(err)) fail(name, "batch update", err);
  auto* k = static_cast<const uint8_t*>(keys);
  auto* v = static_cast<const uint8_t*>(values);
  for (uint32_t i = 0; i < count; i++) update(fd, name, k + i * key_size, v + i * value_size);
}

// Visits every entry of a map (not per-CPU), `chunk` entries per syscall;
// visit returns false to stop. Falls back to get_next_key where batch
// lookups are unsupported. Entries of a hash map that is being modified
// meanwhile may be missed or seen twice, as with any BPF map iteration.
void dump(int fd, const char* name, size_t key_size, size_t value_size, uint32_t chunk,
          const std::function<bool(const void*, const void*)>& visit) {
  std::vector<uint8_t> keys, values;
  std::vector<uint8_t> in(std::max<size_t>(key_size, 8)), out(in.size());
  bool first = true;
  for (;;) {
    keys.resize(size_t(chunk) * key_size);
    values.resize(size_t(chunk) * value_size);
    uint32_t count = chunk;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_batch(fd, first ? nullptr : in.data(), out.data(), keys.data(),
                                   values.data(), &count, &opts);
    if (err && err != -ENOENT) {
      if (err == -ENOSPC && chunk < (1u << 24)) {  // a hash bucket larger than the chunk
        chunk *= 2;
        continue;
      }
      if (first && batch_unsupported(err)) break;
      fail(name, "batch lookup", err);
    }
    for (uint32_t i = 0; i < count; i++)
      if (!visit(&keys[i * key_size], &values[i * value_size])) return;
    if (err == -ENOENT) return;
    in = out;
    first = false;
  }
  // Fallback: one key at a time.
  std::vector<uint8_t> key(key_size), next(key_size), value(value_size);
  bool have = false;
  for (;;) {
    int err = bpf_map_get_next_key(fd, have ? key.data() : nullptr, next.data());
    if (err == -ENOENT) return;
    if (err) fail(name, "get_next_key", err);
    key = next;
    have = true;
    if (!lookup(fd, name, key.data(), value.data())) continue;  // deleted meanwhile
    if (!visit(key.data(), value.data())) return;
  }
}

// Deletes the given keys of a hash map, 4096 per syscall where the kernel
// has batch deletes. A key that is gone already is skipped. Returns how
// many were deleted.
template <typename Key>
uint64_t delete_keys(int fd, const char* name, const std::vector<Key>& keys) {
  uint64_t deleted = 0;
  size_t pos = 0;
  bool batch = true;
  while (pos < keys.size()) {
    uint32_t count = static_cast<uint32_t>(std::min<size_t>(keys.size() - pos, 4096));
    if (batch) {
      uint32_t n = count;
      LIBBPF_OPTS(bpf_map_batch_opts, opts);
      int err = bpf_map_delete_batch(fd, &keys[pos], &n, &opts);
      if (!err) {
        deleted += n;
        pos += n;
        continue;
      }
      if (err == -ENOENT) {  // keys[pos + n] went meanwhile: skip it
        deleted += n;
        pos += n + 1;
        continue;
      }
      if (!batch_unsupported(err)) fail(name, "batch delete", err);
      batch = false;
    }
    int err = bpf_map_delete_elem(fd, &keys[pos]);
    if (err && err != -ENOENT) fail(name, "delete", err);
    deleted += err == 0;
    pos++;
  }
  return deleted;
}

}  // namespace

Fd open_pinned_map(const std::string& pin_dir, const char* name) {
  std::string path = pin_dir + "/" + name;
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) throw SystemError("cannot open pinned map " + path + ": " + std::strerror(errno));
  return Fd(fd);
}

BpfMapIo::BpfMapIo(const std::string& pin_dir)
    : BpfMapIo([&pin_dir](const char* name) { return open_pinned_map(pin_dir, name); }) {}

BpfMapIo::BpfMapIo(const std::function<Fd(const char* name)>& open)
    : vips_(open(XLB_MAP_VIPS)),
      vip_addrs_(open(XLB_MAP_VIP_ADDRS)),
      rings_(open(XLB_MAP_RINGS)),
      backends_(open(XLB_MAP_BACKENDS)),
      flows_(open(XLB_MAP_FLOWS)),
      config_(open(XLB_MAP_CONFIG)),
      gstats_(open(XLB_MAP_GSTATS)),
      vstats_(open(XLB_MAP_VSTATS)),
      bstats_(open(XLB_MAP_BSTATS)),
      conns_(open(XLB_MAP_CONNS)),
      lists_(open(XLB_MAP_VIP_LISTS)),
      nat_rev_(open(XLB_MAP_NAT_REV)),
      adjust_(open(XLB_CONN_ADJUST_PROG_NAME)) {
  ncpus_ = libbpf_num_possible_cpus();
  if (ncpus_ <= 0) throw SystemError("cannot count possible CPUs");
}

// ---- xlb_vips

void BpfMapIo::put_vip(const xlb_vip_key& key, const xlb_vip_meta& meta) {
  update(vips_.get(), XLB_MAP_VIPS, &key, &meta);
}

void BpfMapIo::delete_vip(const xlb_vip_key& key) { remove(vips_.get(), XLB_MAP_VIPS, &key); }

std::optional<xlb_vip_meta> BpfMapIo::lookup_vip(const xlb_vip_key& key) {
  xlb_vip_meta meta{};
  if (!lookup(vips_.get(), XLB_MAP_VIPS, &key, &meta)) return std::nullopt;
  return meta;
}

std::vector<std::pair<xlb_vip_key, xlb_vip_meta>> BpfMapIo::dump_vips() {
  std::vector<std::pair<xlb_vip_key, xlb_vip_meta>> out;
  dump(vips_.get(), XLB_MAP_VIPS, sizeof(xlb_vip_key), sizeof(xlb_vip_meta), 1024,
       [&](const void* k, const void* v) {
         std::pair<xlb_vip_key, xlb_vip_meta> e;
         std::memcpy(&e.first, k, sizeof e.first);
         std::memcpy(&e.second, v, sizeof e.second);
         out.push_back(e);
         return true;
       });
  return out;
}

// ---- xlb_vip_addrs

void BpfMapIo::put_vip_addr(const xlb_vip_addr_key& key, uint32_t count) {
  update(vip_addrs_.get(), XLB_MAP_VIP_ADDRS, &key, &count);
}

void BpfMapIo::delete_vip_addr(const xlb_vip_addr_key& key) {
  remove(vip_addrs_.get(), XLB_MAP_VIP_ADDRS, &key);
}

std::optional<uint32_t> BpfMapIo::lookup_vip_addr(const xlb_vip_addr_key& key) {
  uint32_t count = 0;
  if (!lookup(vip_addrs_.get(), XLB_MAP_VIP_ADDRS, &key, &count)) return std::nullopt;
  return count;
}

std::vector<std::pair<xlb_vip_addr_key, uint32_t>> BpfMapIo::dump_vip_addrs() {
  std::vector<std::pair<xlb_vip_addr_key, uint32_t>> out;
  dump(vip_addrs_.get(), XLB_MAP_VIP_ADDRS, sizeof(xlb_vip_addr_key), sizeof(uint32_t), 1024,
       [&](const void* k, const void* v) {
         std::pair<xlb_vip_addr_key, uint32_t> e;
         std::memcpy(&e.first, k, sizeof e.first);
         std::memcpy(&e.second, v, sizeof e.second);
         out.push_back(e);
         return true;
       });
  return out;
}

// ---- xlb_rings

namespace {

uint32_t ring_slots(int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof info;
  int err = bpf_obj_get_info_by_fd(fd, &info, &len);
  if (err) fail("xlb_ring", "info", err);
  return info.max_entries;
}

Fd create_ring(uint32_t slots, uint32_t flags) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_ring", sizeof(uint32_t), sizeof(uint32_t), slots, &opts);
  if (fd < 0) fail("xlb_ring", "create", fd);
  return Fd(fd);
}

void fill_ring(int fd, const std::vector<uint32_t>& slots) {
  if (auto mapped = RingMap::open(fd, static_cast<uint32_t>(slots.size()))) {
    for (uint32_t i = 0; i < slots.size(); i++) mapped->write(i, slots[i]);
    return;
  }
  std::vector<uint32_t> keys(slots.size());
  for (uint32_t i = 0; i < keys.size(); i++) keys[i] = i;
  update_many(fd, "xlb_ring", keys.data(), slots.data(), static_cast<uint32_t>(slots.size()), sizeof(uint32_t),
              sizeof(uint32_t));
}

}  // namespace

void BpfMapIo::install_ring(uint32_t vip_id, const std::vector<uint32_t>& slots) {
  // Same key/value sizes and flags as the struct xlb_ring template in
  // bpf/lib/maps.h (BPF_F_INNER_MAP lets max_entries, M, differ per VIP),
  // or, for maps pinned by an xlb_lb from before mmapable rings, the
  // flags their template had: the kernel refuses an inner map whose flags
  // differ from the template's (EINVAL).
  for (;;) {
    Fd inner = create_ring(static_cast<uint32_t>(slots.size()), ring_flags_);
    // Filled before it is installed: the data plane never sees a partial
    // ring. The outer map holds the inner one; our fd closes here.
    fill_ring(inner.get(), slots);
    uint32_t value = static_cast<uint32_t>(inner.get());
    int err = bpf_map_update_elem(rings_.get(), &vip_id, &value, BPF_ANY);
    if (!err) return;
    if (err == -EINVAL && ring_flags_ != kLegacyRingFlags) {
      ring_flags_ = kLegacyRingFlags;
      continue;
    }
    fail(XLB_MAP_RINGS, "update", err);
  }
}

Fd BpfMapIo::ring_fd(uint32_t vip_id) {
  uint32_t map_id = 0;
  if (!lookup(rings_.get(), XLB_MAP_RINGS, &vip_id, &map_id)) return Fd();
  int fd = bpf_map_get_fd_by_id(map_id);
  if (fd < 0) fail("xlb_ring", "get fd by id", fd);
  return Fd(fd);
}

void BpfMapIo::write_ring_slots(uint32_t vip_id, const std::vector<maglev::SlotChange>& changes) {
  Fd fd = ring_fd(vip_id);
  if (!fd) throw SystemError("no ring installed for vip_id " + std::to_string(vip_id));
  if (changes.empty()) return;
  uint32_t size = ring_slots(fd.get());
  for (const auto& c : changes)
    if (c.slot >= size) throw SystemError("xlb_ring: slot " + std::to_string(c.slot) + " beyond the ring's " +
                                          std::to_string(size));
  if (auto mapped = RingMap::open(fd.get(), size)) {
    for (const auto& c : changes) mapped->write(c.slot, c.id);
    return;
  }
  std::vector<uint32_t> keys, values;
  keys.reserve(changes.size());
  values.reserve(changes.size());
  for (const auto& c : changes) {
    keys.push_back(c.slot);
    values.push_back(c.id);
  }
  update_many(fd.get(), "xlb_ring", keys.data(), values.data(), static_cast<uint32_t>(keys.size()),
              sizeof(uint32_t), sizeof(uint32_t));
}

std::vector<uint32_t> BpfMapIo::read_ring(uint32_t vip_id) {
  Fd fd = ring_fd(vip_id);
  if (!fd) return {};
  uint32_t size = ring_slots(fd.get());
  if (auto mapped = RingMap::open(fd.get(), size)) return mapped->read();
  std::vector<uint32_t> ring(size, XLB_RING_EMPTY);
  dump(fd.get(), "xlb_ring", sizeof(uint32_t), sizeof(uint32_t), std::max(size, 1u),
       [&](const void* k, const void* v) {
         uint32_t slot, id;
         std::memcpy(&slot, k, sizeof slot);
         std::memcpy(&id, v, sizeof id);
         if (slot < ring.size()) ring[slot] = id;
         return true;
       });
  return ring;
}

std::vector<uint32_t> BpfMapIo::ring_ids() {
  std::vector<uint32_t> ids;
  for (uint32_t id = 0; id < XLB_MAX_VIPS; id++) {
    uint32_t map_id;
    if (lookup(rings_.get(), XLB_MAP_RINGS, &id, &map_id)) ids.push_back(id);
  }
  return ids;
}

void BpfMapIo::delete_ring(uint32_t vip_id) {
  remove(rings_.get(), XLB_MAP_RINGS, &vip_id);
}

// ---- xlb_backends

void BpfMapIo::put_backend(uint32_t id, const xlb_backend& backend) {
  update(backends_.get(), XLB_MAP_BACKENDS, &id, &backend);
}

void BpfMapIo::clear_backend(uint32_t id) {
  xlb_backend zero;
  std::memset(&zero, 0, sizeof zero);
  update(backends_.get(), XLB_MAP_BACKENDS, &id, &zero);
}

xlb_backend BpfMapIo::lookup_backend(uint32_t id) {
  xlb_backend be;
  std::memset(&be, 0, sizeof be);
  lookup(backends_.get(), XLB_MAP_BACKENDS, &id, &be);
  return be;
}

std::vector<std::pair<uint32_t, xlb_backend>> BpfMapIo::dump_backends() {
  std::vector<std::pair<uint32_t, xlb_backend>> out;
  dump(backends_.get(), XLB_MAP_BACKENDS, sizeof(uint32_t), sizeof(xlb_backend), 8192,
       [&](const void* k, const void* v) {
         std::pair<uint32_t, xlb_backend> e;
         std::memcpy(&e.first, k, sizeof e.first);
         std::memcpy(&e.second, v, sizeof e.second);
         if (e.second.flags & XLB_BACKEND_F_USED) out.push_back(e);
         return true;
       });
  return out;
}

// ---- xlb_vip_lists

void BpfMapIo::write_vip_list(uint32_t vip_id, const std::vector<uint32_t>& ids) {
  if (ids.size() > XLB_VIP_LIST_MAX) throw SystemError(std::string(XLB_MAP_VIP_LISTS) + ": list too long");
  // 8 KiB: on the heap. The cursor is read back and kept: the data plane
  // advances it atomically, and losing a few steps of a rotation is
  // harmless, while resetting it on every change would favour the first.
  auto list = std::make_unique<xlb_vip_list>();
  std::memset(list.get(), 0, sizeof *list);
  lookup(lists_.get(), XLB_MAP_VIP_LISTS, &vip_id, list.get());
  uint32_t cursor = list->cursor;
  std::memset(list.get(), 0, sizeof *list);
  list->len = static_cast<uint32_t>(ids.size());
  list->cursor = cursor;
  std::copy(ids.begin(), ids.end(), list->ids);
  update(lists_.get(), XLB_MAP_VIP_LISTS, &vip_id, list.get());
}

std::vector<uint32_t> BpfMapIo::read_vip_list(uint32_t vip_id) {
  auto list = std::make_unique<xlb_vip_list>();
  if (!lookup(lists_.get(), XLB_MAP_VIP_LISTS, &vip_id, list.get())) return {};
  return {list->ids, list->ids + std::min(list->len, XLB_VIP_LIST_MAX)};
}

// ---- xlb_flows

void BpfMapIo::for_each_flow(const FlowVisitor& visit) {
  // 8192 entries (512 KiB) per batch: a 1M-entry table in ~128 syscalls,
  // each holding a bucket lock only while it copies that bucket.
  dump(flows_.get(), XLB_MAP_FLOWS, sizeof(xlb_flow_key), sizeof(xlb_flow), 8192,
       [&](const void* k, const void* v) {
         xlb_flow_key key;
         xlb_flow flow;
         std::memcpy(&key, k, sizeof key);
         std::memcpy(&flow, v, sizeof flow);
         return visit(key, flow);
       });
}

uint64_t BpfMapIo::delete_flows(const FlowVisitor& match) {
  std::vector<xlb_flow_key> doomed;
  for_each_flow([&](const xlb_flow_key& k, const xlb_flow& f) {
    if (match(k, f)) doomed.push_back(k);
    return true;
  });
  // An entry may have expired meanwhile (LRU): delete_keys skips it.
  return delete_keys(flows_.get(), XLB_MAP_FLOWS, doomed);
}

std::optional<xlb_flow> BpfMapIo::lookup_flow(const xlb_flow_key& key) {
  xlb_flow flow;
  if (!lookup(flows_.get(), XLB_MAP_FLOWS, &key, &flow)) return std::nullopt;
  return flow;
}

std::optional<xlb_flow> BpfMapIo::lookup_and_delete_flow(const xlb_flow_key& key) {
  xlb_flow flow;
  int err = bpf_map_lookup_and_delete_elem(flows_.get(), &key, &flow);
  if (err == -ENOENT) return std::nullopt;
  if (err) fail(XLB_MAP_FLOWS, "lookup and delete", err);
  return flow;
}

bool BpfMapIo::restore_flow(const xlb_flow_key& key, const xlb_flow& flow) {
  int err = bpf_map_update_elem(flows_.get(), &key, &flow, BPF_NOEXIST);
  if (err == -EEXIST) return false;
  if (err) fail(XLB_MAP_FLOWS, "restore", err);
  return true;
}

// ---- xlb_nat_rev

void BpfMapIo::for_each_nat_rev(const NatRevVisitor& visit) {
  dump(nat_rev_.get(), XLB_MAP_NAT_REV, sizeof(xlb_flow_key), sizeof(xlb_nat_rev), 8192,
       [&](const void* k, const void* v) {
         xlb_flow_key key;
         xlb_nat_rev rev;
         std::memcpy(&key, k, sizeof key);
         std::memcpy(&rev, v, sizeof rev);
         return visit(key, rev);
       });
}

uint64_t BpfMapIo::delete_nat_rev(const NatRevVisitor& match) {
  std::vector<xlb_flow_key> doomed;
  for_each_nat_rev([&](const xlb_flow_key& k, const xlb_nat_rev& r) {
    if (match(k, r)) doomed.push_back(k);
    return true;
  });
  return delete_nat_rev_keys(doomed);
}

uint64_t BpfMapIo::delete_nat_rev_keys(const std::vector<xlb_flow_key>& keys) {
  return delete_keys(nat_rev_.get(), XLB_MAP_NAT_REV, keys);
}

std::optional<xlb_nat_rev> BpfMapIo::lookup_nat_rev(const xlb_flow_key& key) {
  xlb_nat_rev rev{};
  if (!lookup(nat_rev_.get(), XLB_MAP_NAT_REV, &key, &rev)) return std::nullopt;
  return rev;
}

std::optional<xlb_nat_rev> BpfMapIo::lookup_and_delete_nat_rev(const xlb_flow_key& key) {
  xlb_nat_rev rev;
  int err = bpf_map_lookup_and_delete_elem(nat_rev_.get(), &key, &rev);
  if (err == -ENOENT) return std::nullopt;
  if (err) fail(XLB_MAP_NAT_REV, "lookup and delete", err);
  return rev;
}

bool BpfMapIo::restore_nat_rev(const xlb_flow_key& key, const xlb_nat_rev& rev) {
  int err = bpf_map_update_elem(nat_rev_.get(), &key, &rev, BPF_NOEXIST);
  if (err == -EEXIST) return false;
  if (err) fail(XLB_MAP_NAT_REV, "restore", err);
  return true;
}

uint32_t BpfMapIo::flow_table_size() {
  bpf_map_info info{};
  uint32_t len = sizeof info;
  int err = bpf_obj_get_info_by_fd(flows_.get(), &info, &len);
  if (err) fail(XLB_MAP_FLOWS, "info", err);
  return info.max_entries;
}

// ---- xlb_conns

bool BpfMapIo::ensure_conn_entry(const xlb_backend_key& key) {
  xlb_conn_count zero{};
  int err = bpf_map_update_elem(conns_.get(), &key, &zero, BPF_NOEXIST);
  if (err == -EEXIST) return false;
  if (err) fail(XLB_MAP_CONNS, "create", err);
  return true;
}

std::optional<xlb_conn_count> BpfMapIo::read_conn(const xlb_backend_key& key) {
  xlb_conn_count c{};
  if (!lookup(conns_.get(), XLB_MAP_CONNS, &key, &c)) return std::nullopt;
  return c;
}

std::vector<std::pair<xlb_backend_key, xlb_conn_count>> BpfMapIo::read_conns() {
  std::vector<std::pair<xlb_backend_key, xlb_conn_count>> out;
  dump(conns_.get(), XLB_MAP_CONNS, sizeof(xlb_backend_key), sizeof(xlb_conn_count), 4096,
       [&](const void* k, const void* v) {
         std::pair<xlb_backend_key, xlb_conn_count> e;
         std::memcpy(&e.first, k, sizeof e.first);
         std::memcpy(&e.second, v, sizeof e.second);
         out.push_back(e);
         return true;
       });
  return out;
}

void BpfMapIo::delete_conn_entry(const xlb_backend_key& key) { remove(conns_.get(), XLB_MAP_CONNS, &key); }

bool BpfMapIo::adjust_conns(const xlb_backend_key& key, int64_t d_active, int64_t d_half_open) {
  // A syscall program run with BPF_PROG_TEST_RUN: the kernel copies the
  // context in, the program applies the deltas with the data plane's own
  // atomic operations, and the context (with `result`) is copied back.
  xlb_conn_adjust req;
  std::memset(&req, 0, sizeof req);
  req.key = key;
  req.d_active = d_active;
  req.d_half_open = d_half_open;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &req, .ctx_size_in = sizeof req);
  int err = bpf_prog_test_run_opts(adjust_.get(), &opts);
  if (err) fail(XLB_CONN_ADJUST_PROG_NAME, "run", err);
  return req.result == 0;
}

// ---- counters

Counter BpfMapIo::read_percpu(int fd, const char* name, uint32_t key) {
  // A per-CPU value is one xlb_counter per possible CPU (16 bytes, already
  // 8-byte aligned as the kernel requires).
  std::vector<xlb_counter> values(ncpus_);
  Counter sum;
  if (!lookup(fd, name, &key, values.data())) return sum;
  for (const auto& v : values) {
    sum.packets += v.packets;
    sum.bytes += v.bytes;
  }
  return sum;
}

void BpfMapIo::reset_percpu(int fd, const char* name, uint32_t key) {
  std::vector<xlb_counter> zero(ncpus_, xlb_counter{});
  update(fd, name, &key, zero.data());
}

std::vector<Counter> BpfMapIo::read_global_stats() {
  std::vector<Counter> out;
  for (uint32_t i = 0; i < XLB_STAT_MAX; i++) out.push_back(read_percpu(gstats_.get(), XLB_MAP_GSTATS, i));
  return out;
}

Counter BpfMapIo::read_vip_stats(uint32_t vip_id) {
  return read_percpu(vstats_.get(), XLB_MAP_VSTATS, vip_id);
}

Counter BpfMapIo::read_backend_stats(uint32_t backend_id) {
  return read_percpu(bstats_.get(), XLB_MAP_BSTATS, backend_id);
}

void BpfMapIo::reset_vip_stats(uint32_t vip_id) { reset_percpu(vstats_.get(), XLB_MAP_VSTATS, vip_id); }

void BpfMapIo::reset_backend_stats(uint32_t backend_id) {
  reset_percpu(bstats_.get(), XLB_MAP_BSTATS, backend_id);
}

// ---- xlb_config

xlb_config BpfMapIo::read_config() {
  xlb_config c;
  std::memset(&c, 0, sizeof c);
  uint32_t key = 0;
  lookup(config_.get(), XLB_MAP_CONFIG, &key, &c);
  return c;
}

void BpfMapIo::write_config(const xlb_config& config) {
  uint32_t key = 0;
  update(config_.get(), XLB_MAP_CONFIG, &key, &config);
}

}  // namespace xlb
