// Balancer operations: add/del VIP, add/del/set backend, and the map
// writers they share. Each public operation validates first, then writes.
#include "balancer.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <set>
#include <unordered_set>

#include "error.h"
#include "maglev.h"
#include "pick/fingerprint.h"
#include "rules.h"

namespace xlb {

xlb_vip_addr_key make_vip_addr_key(const IpAddr& addr) {
  xlb_vip_addr_key key;
  std::memset(&key, 0, sizeof key);
  key.addr = addr.addr;
  key.family = addr.family;
  return key;
}

xlb_backend make_backend(uint32_t vip_id, const IpAddr& addr, uint16_t port, uint32_t weight,
                         bool in_ring, bool removed) {
  xlb_backend be;
  std::memset(&be, 0, sizeof be);
  be.addr = addr.addr;
  be.vip_id = vip_id;
  be.weight = weight;
  be.port = htons(port);
  be.family = addr.family;
  be.flags = XLB_BACKEND_F_USED | (in_ring ? XLB_BACKEND_F_IN_RING : 0) |
             (removed ? XLB_BACKEND_F_REMOVED : 0);
  return be;
}

std::string backend_status_name(BackendStatus s) {
  switch (s) {
    case BackendStatus::kActive: return "active";
    case BackendStatus::kDraining: return "draining";
    case BackendStatus::kRemoved: return "removed";
  }
  return "unknown";
}

bool config_equal(const xlb_config& a, const xlb_config& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

std::string Balancer::ring_identity(const IpAddr& addr, uint16_t port) {
  return addr.str() + ":" + std::to_string(port);
}

Balancer::Balancer(std::unique_ptr<MapIo> io, EncapDefaults defaults)
    : io_(std::make_unique<MapJournal>(std::move(io))),
      journal_(static_cast<MapJournal*>(io_.get())),
      defaults_(std::move(defaults)) {
  std::memset(&config_, 0, sizeof config_);
}

// ---- all-or-nothing

void Balancer::ensure_in_sync() {
  if (!out_of_sync_) return;
  try {
    recover();
  } catch (const std::exception& e) {
    throw SystemError(std::string("lbd's state may differ from the maps after a failed rollback, and re-reading "
                                  "the maps failed again: ") +
                      e.what());
  }
  out_of_sync_ = false;
}

void Balancer::atomically(const std::function<void()>& op) {
  ensure_in_sync();
  generation_++;
  Snapshot saved{vips_, vip_ids_, backend_ids_, config_, removal_gen_};
  auto restore_model = [&] {
    vips_ = std::move(saved.vips);
    vip_ids_ = std::move(saved.vip_ids);
    backend_ids_ = std::move(saved.backend_ids);
    config_ = saved.config;
    removal_gen_ = saved.removal_gen;
  };
  journal_->begin();
  try {
    op();
    journal_->commit();
  } catch (const SystemError& e) {
    restore_model();
    std::vector<std::string> failed = journal_->rollback();
    if (failed.empty()) throw SystemError(std::string(e.what()) + " (nothing was changed)");
    // The maps are neither as they were nor as asked: take them as they
    // are, so what lbd shows is what the data plane does.
    std::string undo = failed.front();
    if (failed.size() > 1) undo += " (and " + std::to_string(failed.size() - 1) + " more)";
    try {
      recover();
    } catch (const std::exception& again) {
      out_of_sync_ = true;
      throw SystemError(std::string(e.what()) + "; undoing it failed too (" + undo +
                        "), and so did re-reading the maps (" + again.what() + "): the next request retries that");
    }
    throw SystemError(std::string(e.what()) + "; undoing it failed too (" + undo +
                      "), so lbd re-read its state from the maps: check it with `lbctl list`");
  } catch (...) {
    // Input errors come before the first write; anything else is undone
    // all the same.
    restore_model();
    if (!journal_->rollback().empty()) out_of_sync_ = true;
    throw;
  }
}

// ---- lookups

Balancer::VipState& Balancer::vip_or_throw(const Endpoint& vip, uint8_t proto) {
  auto it = vips_.find({vip, proto});
  if (it == vips_.end()) throw InputError("unknown VIP " + vip_name(vip, proto));
  return it->second;
}

const Balancer::VipState& Balancer::vip_or_throw(const Endpoint& vip, uint8_t proto) const {
  auto it = vips_.find({vip, proto});
  if (it == vips_.end()) throw InputError("unknown VIP " + vip_name(vip, proto));
  return it->second;
}

Balancer::BackendKey Balancer::backend_key_or_throw(const VipState& v, const BackendRef& ref) {
  if (ref.port) {
    BackendKey key{ref.address, own_port(v, *ref.port)};
    if (!v.backends.count(key))
      throw InputError("unknown backend " + backend_name(ref.address, *ref.port) + " of VIP " +
                       vip_name(v.vip, v.proto));
    return key;
  }
  // v.backends is ordered by (address, port): an address's backends are adjacent.
  std::vector<BackendKey> found;
  for (auto it = v.backends.lower_bound({ref.address, 0}); it != v.backends.end() && it->first.first == ref.address;
       ++it)
    found.push_back(it->first);
  if (found.empty())
    throw InputError("unknown backend " + ref.address.str() + " of VIP " + vip_name(v.vip, v.proto));
  if (found.size() > 1) {
    std::string ports;
    for (const auto& k : found) ports += (ports.empty() ? "" : ", ") + std::to_string(k.second ? k.second : v.vip.port);
    throw InputError("VIP " + vip_name(v.vip, v.proto) + " has " + std::to_string(found.size()) + " backends at " +
                     ref.address.str() + " (ports " + ports + "): give the port (lbctl: --port)");
  }
  return found.front();
}

size_t Balancer::backend_count() const {
  size_t n = 0;
  for (const auto& [id, v] : vips_) n += v.backends.size();
  return n;
}

size_t Balancer::active_count(const VipState& v) {
  size_t n = 0;
  for (const auto& [key, b] : v.backends) n += b.in_ring;
  return n;
}

std::vector<IpAddr> Balancer::backend_addresses() const {
  std::set<IpAddr> addrs;
  for (const auto& [id, v] : vips_)
    for (const auto& [key, b] : v.backends) addrs.insert(key.first);
  return {addrs.begin(), addrs.end()};
}

// ---- public operations

void Balancer::add_vip(const VipSpec& spec) {
  ensure_in_sync();
  if (spec.proto != IPPROTO_TCP && spec.proto != IPPROTO_UDP)
    throw InputError("proto: must be tcp or udp");
  if (spec.vip.port == 0) throw InputError("vip: port must be 1..65535");
  check_vip_address(spec.vip.ip, defaults_.local);
  check_sched(spec.sched);
  check_mode(spec.mode);
  if (spec.stateless) check_stateless(spec.sched, spec.mode);
  try {
    check_ring_size(spec.ring_size);
  } catch (const InputError& e) {
    throw InputError(std::string("ring_size: ") + e.what());
  }
  if (vips_.count({spec.vip, spec.proto}))
    throw InputError("VIP " + vip_name(spec.vip, spec.proto) + " already exists");
  if (vip_ids_.free_count() == 0)
    throw InputError("too many VIPs (at most " + std::to_string(XLB_MAX_VIPS) + ")");
  check_source(spec.mode, spec.vip, spec.proto, config_);
  atomically([&] {
    // Replies are looked up from the VIP's first packet on.
    if (mode_translates(spec.mode)) write_nat_flag(true);
    do_add_vip(spec, {});
  });
}

uint64_t Balancer::del_vip(const Endpoint& vip, uint8_t proto) {
  ensure_in_sync();
  VipState& v = vip_or_throw(vip, proto);
  uint64_t removed = 0;
  atomically([&] {
    removed = do_del_vip(v);
    write_nat_flag(nat_vips_exist());
  });
  return removed;
}

void Balancer::add_backend(const Endpoint& vip, uint8_t proto, const IpAddr& backend, uint32_t weight,
                           uint16_t port) {
  ensure_in_sync();
  VipState& v = vip_or_throw(vip, proto);
  check_backend_address(backend, v.vip.ip, defaults_.local);
  check_backend_family(v.mode, v.vip, backend);
  try {
    check_backend_port(v.mode, port);
  } catch (const InputError& e) {
    throw InputError(std::string("port: ") + e.what());
  }
  try {
    check_weight(weight, false);
  } catch (const InputError& e) {
    throw InputError(std::string("weight: ") + e.what());
  }
  BackendKey key{backend, own_port(v, port)};
  auto it = v.backends.find(key);
  if (it != v.backends.end() && it->second.in_ring)
    throw InputError("backend " + backend_name(key.first, key.second) + " of VIP " + vip_name(vip, proto) +
                     " already exists");
  if (it == v.backends.end() && backend_ids_.free_count() == 0)
    throw InputError("too many backends (at most " + std::to_string(XLB_MAX_BACKENDS) + ")");
  check_list_capacity(v.sched, active_count(v) + 1);
  // A draining or removed backend comes back under its old id, its flows
  // and counts intact.
  atomically([&] {
    upsert_backend(v, key, weight);
    sync_vip(v);
  });
}

uint64_t Balancer::del_backend(const Endpoint& vip, uint8_t proto, const BackendRef& backend, bool purge) {
  ensure_in_sync();
  VipState& v = vip_or_throw(vip, proto);
  BackendKey key = backend_key_or_throw(v, backend);
  // Removed first, as a request of its own: from then on no new flow can
  // pick it, and a restart finds it removed, whatever happens to the purge.
  atomically([&] {
    if (mark_removed(v, key)) sync_vip(v);
  });
  if (!purge) return 0;
  uint64_t removed = 0;
  try {
    // Lookups again: a rollback restores the model by copy.
    atomically([&] {
      VipState& again = vip_or_throw(vip, proto);
      removed = do_purge_backend(again, key);
    });
  } catch (const SystemError& e) {
    throw SystemError("backend " + backend_name(key.first, key.second) + " of VIP " + vip_name(vip, proto) +
                      " was removed, but purging its flows failed: " + e.what() +
                      "; its remaining flows drain and the reaper frees it, or run del-backend --purge again");
  }
  return removed;
}

void Balancer::set_backend(const Endpoint& vip, uint8_t proto, const BackendRef& backend, uint32_t weight) {
  ensure_in_sync();
  VipState& v = vip_or_throw(vip, proto);
  BackendKey key = backend_key_or_throw(v, backend);
  const BackendState& b = v.backends.at(key);
  try {
    check_weight(weight, true);
  } catch (const InputError& e) {
    throw InputError(std::string("weight: ") + e.what());
  }
  // Deleted means deleted: only add-backend brings it back, so a script
  // adjusting weights cannot resurrect a backend someone removed.
  if (b.removed)
    throw InputError("backend " + backend_name(key.first, key.second) + " of VIP " + vip_name(vip, proto) +
                     " was deleted (its flows are draining); add it again with add-backend");
  if (weight > 0 && !b.in_ring) check_list_capacity(v.sched, active_count(v) + 1);
  atomically([&] {
    if (upsert_backend(v, key, weight)) sync_vip(v);
  });
}

uint64_t Balancer::purge_flows(const Endpoint& vip, uint8_t proto, const BackendRef& backend) {
  ensure_in_sync();
  VipState& v = vip_or_throw(vip, proto);
  BackendKey key = backend_key_or_throw(v, backend);
  uint32_t id = v.backends.at(key).id;
  int64_t active = 0, half_open = 0;
  uint64_t removed = 0;
  atomically([&] {
    removed = io_->delete_flows([&](const xlb_flow_key&, const xlb_flow& f) {
      if (f.backend_id != id) return false;
      if (f.flags & XLB_FLOW_F_COUNTED) active++;
      if (f.flags & XLB_FLOW_F_HALF_OPEN) half_open++;
      return true;
    });
    delete_nat_rev_of(v, {id});
    // Through the adjust program, like every count change; the reaper's
    // reconciliation corrects a unit the data plane returned meanwhile.
    if (active || half_open) io_->adjust_conns(identity(v, key), -active, -half_open);
  });
  return removed;
}

// ---- map writers

Balancer::VipState& Balancer::do_add_vip(const VipSpec& spec,
                                         const std::vector<BackendConfig>& backends) {
  uint32_t id = *vip_ids_.lowest_free();
  vip_ids_.take(id);
  io_->reset_vip_stats(id);

  VipState& v = vips_[{spec.vip, spec.proto}];
  v.id = id;
  v.vip = spec.vip;
  v.proto = spec.proto;
  v.sched = spec.sched;
  v.mode = spec.mode;
  v.ring_size = spec.ring_size;
  v.stateless = spec.stateless;
  for (const auto& b : backends) upsert_backend(v, {b.address, own_port(v, b.port)}, b.weight);

  // The ring and list are complete before the VIP is visible to the data
  // plane. A free vip_id's list is empty (del-vip clears it).
  install_ring(v);
  sync_list(v);
  update_vip_addr(spec.vip.ip);
  put_meta(v);
  return v;
}

void Balancer::put_meta(const VipState& v) {
  xlb_vip_meta meta{};
  meta.vip_id = v.id;
  meta.ring_size = v.ring_size;
  meta.mode = v.mode;
  meta.sched = v.sched;
  meta.flags = v.stateless ? XLB_VIP_F_STATELESS : 0;
  io_->put_vip(make_vip_key(v.vip, v.proto), meta);
}

uint64_t Balancer::do_del_vip(VipState& v) {
  xlb_vip_key key = make_vip_key(v.vip, v.proto);
  // First make the data plane stop matching the VIP; then its flows, ring
  // and backend ids can go.
  io_->delete_vip(key);
  std::unordered_set<uint32_t> ids;
  for (const auto& [k, b] : v.backends) ids.insert(b.id);
  uint64_t removed = io_->delete_flows([&](const xlb_flow_key& fk, const xlb_flow& f) {
    return ids.count(f.backend_id) ||
           (fk.family == key.family && fk.proto == key.proto && fk.dport == key.port &&
            std::memcmp(&fk.dst, &key.addr, sizeof fk.dst) == 0);
  });
  delete_nat_rev_of(v, ids);
  io_->delete_ring(v.id);
  if (!v.list.empty()) {
    io_->write_vip_list(v.id, {});
    v.list.clear();
  }
  while (!v.backends.empty()) free_backend(v, v.backends.begin()->first);
  vip_ids_.release(v.id);
  IpAddr addr = v.vip.ip;
  vips_.erase({v.vip, v.proto});
  update_vip_addr(addr);
  return removed;
}

bool Balancer::upsert_backend(VipState& v, const BackendKey& key, uint32_t weight) {
  auto it = v.backends.find(key);
  if (it == v.backends.end()) {
    // The count entry exists before the backend can take a flow, so its
    // first flow is counted (and first, so a refusal changes nothing).
    // NOEXIST: the counts of an identity still in use are never reset.
    io_->ensure_conn_entry(identity(v, key));
    uint32_t id = *backend_ids_.lowest_free();
    backend_ids_.take(id);
    io_->reset_backend_stats(id);
    BackendState b;
    b.id = id;
    it = v.backends.emplace(key, b).first;
  } else if (it->second.weight == weight && it->second.in_ring == (weight > 0) && !it->second.removed) {
    return false;
  }
  it->second.weight = weight;
  it->second.in_ring = weight > 0;
  it->second.removed = false;
  write_backend(v, key, it->second);
  return true;
}

bool Balancer::mark_removed(VipState& v, const BackendKey& key) {
  BackendState& b = v.backends.at(key);
  if (b.removed) return false;
  b.weight = 0;
  b.in_ring = false;
  b.removed = true;
  b.removed_gen = ++removal_gen_;
  write_backend(v, key, b);
  return true;
}

uint64_t Balancer::do_purge_backend(VipState& v, const BackendKey& key) {
  // It is removed (out of the ring and list, so no new flow can pick it,
  // and marked so in its entry); now its flows go, and only then may its
  // counts, entry and id.
  uint32_t id = v.backends.at(key).id;
  uint64_t removed =
      io_->delete_flows([id](const xlb_flow_key&, const xlb_flow& f) { return f.backend_id == id; });
  delete_nat_rev_of(v, {id});
  free_backend(v, key);
  return removed;
}

void Balancer::delete_nat_rev_of(const VipState& v, const std::unordered_set<uint32_t>& ids) {
  // Every reply entry naming these ids belongs to a flow just deleted (or
  // to one already gone): the ids are out of the ring and list, so no new
  // flow can have taken them. The reaper would reclaim them within two
  // sweeps; deleting them now returns fullnat ports to the pool at once,
  // before the ids can be bound again.
  if (!mode_translates(v.mode)) return;
  io_->delete_nat_rev([&](const xlb_flow_key&, const xlb_nat_rev& r) { return ids.count(r.backend_id) > 0; });
}

void Balancer::do_resize_ring(VipState& v, uint32_t ring_size) {
  uint32_t old_size = v.ring_size;
  v.ring_size = ring_size;
  // The data plane indexes the ring with hash % meta.ring_size: never let
  // the meta promise more slots than the installed ring has.
  if (ring_size > old_size) {
    install_ring(v);
    put_meta(v);
  } else {
    put_meta(v);
    install_ring(v);
  }
}

void Balancer::write_backend(const VipState& v, const BackendKey& key, const BackendState& b) {
  io_->put_backend(b.id, make_backend(v.id, key.first, key.second, b.weight, b.in_ring, b.removed));
}

xlb_backend_key Balancer::identity(const VipState& v, const BackendKey& key) const {
  return make_backend_key(make_vip_key(v.vip, v.proto), key.first, key.second);
}

std::vector<uint32_t> Balancer::build_ring(const VipState& v) const {
  std::vector<maglev::Endpoint> endpoints;
  for (const auto& [key, b] : v.backends)
    if (b.in_ring && b.weight > 0)
      endpoints.push_back({ring_identity(key.first, key.second), b.id, b.weight});
  return maglev::build_ring(endpoints, v.ring_size, kRingSeed);
}

void Balancer::sync_ring(VipState& v) {
  std::vector<uint32_t> ring = build_ring(v);
  std::vector<uint32_t> installed = io_->read_ring(v.id);
  if (installed.size() != ring.size()) {
    // Missing or of another size (only a damaged map): a new one.
    io_->install_ring(v.id, ring);
  } else {
    auto changes = maglev::diff(installed, ring);
    if (!changes.empty()) io_->write_ring_slots(v.id, changes);
  }
  count_slots(v, ring);
}

void Balancer::install_ring(VipState& v) {
  std::vector<uint32_t> ring = build_ring(v);
  io_->install_ring(v.id, ring);
  count_slots(v, ring);
}

void Balancer::count_slots(VipState& v, const std::vector<uint32_t>& ring) {
  std::vector<uint32_t> slots(XLB_MAX_BACKENDS, 0);
  for (uint32_t id : ring)
    if (id < slots.size()) slots[id]++;
  for (auto& [key, b] : v.backends) b.ring_slots = slots[b.id];
  std::vector<std::pair<uint32_t, std::string>> identities;
  for (const auto& [key, b] : v.backends) identities.emplace_back(b.id, ring_identity(key.first, key.second));
  v.ring_fingerprint = pick::ring_fingerprint(ring, identities);
}

uint32_t Balancer::vips_on_addr(const IpAddr& addr) const {
  uint32_t n = 0;
  for (const auto& [id, v] : vips_) n += v.vip.ip == addr;
  return n;
}

void Balancer::update_vip_addr(const IpAddr& addr) {
  uint32_t n = vips_on_addr(addr);
  if (n)
    io_->put_vip_addr(make_vip_addr_key(addr), n);
  else
    io_->delete_vip_addr(make_vip_addr_key(addr));
}

// ---- xlb_config

uint16_t policy_flags(const Config& config) {
  return static_cast<uint16_t>((config.pass_unserved ? XLB_CFG_F_PASS_UNSERVED : 0) |
                               (config.icmp_echo ? 0 : XLB_CFG_F_NO_ICMP_ECHO) |
                               (config.flood_threshold ? 0 : XLB_CFG_F_NO_FLOOD_GUARD));
}

xlb_config Balancer::desired_config(const EncapConfig& encap, const FullnatConfig& fullnat, uint32_t hash_seed,
                                    bool nat, uint16_t policy, uint32_t flood_threshold) const {
  xlb_config c;
  std::memset(&c, 0, sizeof c);
  // IPv4: a per-flow source in a prefix unless told otherwise (entropy for
  // ECMP and RSS, see kDefaultEncapSourceV4). IPv6 gets its entropy from the
  // flow label, so its default stays the interface's address.
  const IpPrefix source_v4 = encap.source_v4 ? *encap.source_v4 : IpPrefix::parse(kDefaultEncapSourceV4);
  c.encap_src_v4 = source_v4.ip.addr;
  c.encap_src_v4_plen = source_v4.len;
  if (encap.source_v6) {
    c.encap_src_v6 = encap.source_v6->ip.addr;
    c.encap_src_v6_plen = encap.source_v6->len;
  } else if (defaults_.v6) {
    c.encap_src_v6 = defaults_.v6->addr;
    c.encap_src_v6_plen = 128;
  }
  if (fullnat.source_v4)
    c.snat_src_v4 = fullnat.source_v4->addr;
  else if (defaults_.v4)
    c.snat_src_v4 = defaults_.v4->addr;
  if (fullnat.source_v6)
    c.snat_src_v6 = fullnat.source_v6->addr;
  else if (defaults_.v6)
    c.snat_src_v6 = defaults_.v6->addr;
  c.snat_port_min = fullnat.port_min;
  c.snat_port_max = fullnat.port_max;
  c.flags = static_cast<uint16_t>((nat ? XLB_CFG_F_NAT : 0) | policy);
  c.hash_seed = hash_seed;
  c.flood_rate = flood_threshold;  // 0 with XLB_CFG_F_NO_FLOOD_GUARD: off
  return c;
}

namespace {
bool is_zero(const xlb_addr& a) {
  static const xlb_addr zero{};
  return std::memcmp(&a, &zero, sizeof a) == 0;
}
}  // namespace

void Balancer::check_source(uint8_t mode, const Endpoint& vip, uint8_t proto, const xlb_config& cfg) {
  if (mode != XLB_MODE_FULLNAT) return;
  bool v4 = vip.ip.is_v4();
  if (is_zero(v4 ? cfg.snat_src_v4 : cfg.snat_src_v6))
    throw InputError("VIP " + vip_name(vip, proto) + ": mode fullnat needs an " + (v4 ? "IPv4" : "IPv6") +
                     " source address: set fullnat." + (v4 ? "source_v4" : "source_v6") +
                     " in the config (lbd's interfaces have none)");
}

bool Balancer::nat_vips_exist() const {
  for (const auto& [id, v] : vips_)
    if (mode_translates(v.mode)) return true;
  return false;
}

void Balancer::write_nat_flag(bool on) {
  if (nat_flag() == on) return;
  xlb_config cfg = config_;
  cfg.flags = static_cast<uint16_t>(on ? (cfg.flags | XLB_CFG_F_NAT) : (cfg.flags & ~XLB_CFG_F_NAT));
  write_config(cfg);
}

void Balancer::write_config(const xlb_config& cfg) {
  io_->write_config(cfg);
  config_ = cfg;
}

EncapConfig Balancer::encap() const {
  EncapConfig e;
  if (config_.encap_src_v4_plen)
    e.source_v4 = IpPrefix{IpAddr::from_abi(XLB_AF_INET, config_.encap_src_v4), config_.encap_src_v4_plen};
  if (config_.encap_src_v6_plen)
    e.source_v6 = IpPrefix{IpAddr::from_abi(XLB_AF_INET6, config_.encap_src_v6), config_.encap_src_v6_plen};
  return e;
}

FullnatConfig Balancer::fullnat() const {
  FullnatConfig f;
  if (!is_zero(config_.snat_src_v4)) f.source_v4 = IpAddr::from_abi(XLB_AF_INET, config_.snat_src_v4);
  if (!is_zero(config_.snat_src_v6)) f.source_v6 = IpAddr::from_abi(XLB_AF_INET6, config_.snat_src_v6);
  f.port_min = config_.snat_port_min;
  f.port_max = config_.snat_port_max;
  return f;
}

void set_reaper_settings(xlb_config& cfg, const Timeouts& t, uint32_t reap_interval_ms) {
  cfg.timeout_tcp_established = t.tcp_established;
  cfg.timeout_tcp_half_open = t.tcp_half_open;
  cfg.timeout_tcp_closing = t.tcp_closing;
  cfg.timeout_udp = t.udp;
  cfg.reap_interval_ms = reap_interval_ms;
}

Timeouts Balancer::timeouts() const {
  // Maps created before these fields existed, or never given a config,
  // hold 0: the default, as for anything out of range.
  auto pick = [](uint32_t stored, uint32_t dflt) { return stored >= 1 && stored <= kMaxTimeoutS ? stored : dflt; };
  const Timeouts d;
  Timeouts t;
  t.tcp_established = pick(config_.timeout_tcp_established, d.tcp_established);
  t.tcp_half_open = pick(config_.timeout_tcp_half_open, d.tcp_half_open);
  t.tcp_closing = pick(config_.timeout_tcp_closing, d.tcp_closing);
  t.udp = pick(config_.timeout_udp, d.udp);
  return t;
}

uint32_t Balancer::reap_interval_ms() const {
  uint32_t v = config_.reap_interval_ms;
  return v >= kMinReapIntervalMs && v <= kMaxReapIntervalMs ? v : kDefaultReapIntervalMs;
}

Config Balancer::current_config() const {
  Config c;
  c.encap = encap();
  c.fullnat = fullnat();
  c.hash_seed = config_.hash_seed;
  c.pass_unserved = pass_unserved();
  c.icmp_echo = icmp_echo();
  c.flood_threshold = flood_threshold();
  c.timeouts = timeouts();
  c.reap_interval_ms = reap_interval_ms();
  for (const auto& [id, v] : vips_) {
    VipConfig vc;
    vc.vip = v.vip;
    vc.proto = v.proto;
    vc.sched = v.sched;
    vc.mode = v.mode;
    vc.ring_size = v.ring_size;
    vc.stateless = v.stateless;
    for (const auto& [key, b] : v.backends)
      if (!b.removed) vc.backends.push_back({key.first, b.weight, key.second});
    c.vips.push_back(std::move(vc));
  }
  return c;
}

}  // namespace xlb
