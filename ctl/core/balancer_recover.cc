// Recovery: rebuild the model from the pinned maps, so a restarted lbd
// carries on with the same VIPs, backend ids, rings and flows.
//
// Everything the model holds is in the maps: a VIP's identity is its
// xlb_vips key, its id, ring size, mode and scheduler are the value; a
// backend's identity (vip_id, family, addr, port: its own port for nat and
// fullnat, 0 for the VIP's), weight and state
// (IN_RING: active, REMOVED: removed, else draining) are its xlb_backends
// entry; the ring and list are read back so later changes are diffed
// against what the kernel really holds. Connection counts are left as they
// are: they live in xlb_conns, which only the data plane and the adjust
// program change. The encapsulation and fullnat settings are xlb_config's.
// What an interrupted lbd may have left inconsistent is repaired here, and
// each repair is reported for the log.
#include <arpa/inet.h>

#include <cstring>
#include <map>
#include <set>

#include "balancer.h"
#include "conn_key.h"
#include "error.h"
#include "maglev.h"
#include "rules.h"

namespace xlb {

std::vector<std::string> Balancer::recover() {
  std::vector<std::string> notes;
  generation_++;
  // Backends found removed get a generation of their own, newer than any
  // sweep already running (recover() also runs mid-life, after a failed
  // rollback): only a sweep that starts after it may free them.
  uint64_t found_removed_gen = ++removal_gen_;
  vips_.clear();
  vip_ids_ = IdAllocator(XLB_MAX_VIPS);
  backend_ids_ = IdAllocator(XLB_MAX_BACKENDS);

  std::map<uint32_t, VipState*> by_id;
  for (const auto& [key, meta] : io_->dump_vips()) {
    Endpoint ep;
    try {
      ep.ip = IpAddr::from_abi(key.family, key.addr);
    } catch (const InputError&) {
      notes.push_back("deleted VIP entry with bad family " + std::to_string(key.family));
      io_->delete_vip(key);
      continue;
    }
    ep.port = ntohs(key.port);
    if (meta.vip_id >= XLB_MAX_VIPS || by_id.count(meta.vip_id) || vips_.count({ep, key.proto})) {
      notes.push_back("deleted VIP " + ep.str() + " with a bad or duplicate id " +
                      std::to_string(meta.vip_id));
      io_->delete_vip(key);
      continue;
    }
    if (meta.mode > XLB_MODE_L2DSR) {
      notes.push_back("deleted VIP " + ep.str() + " with an unknown mode " + std::to_string(meta.mode));
      io_->delete_vip(key);
      continue;
    }
    VipState& v = vips_[{ep, key.proto}];
    v.id = meta.vip_id;
    v.vip = ep;
    v.proto = key.proto;
    v.sched = meta.sched;
    v.mode = meta.mode;
    v.ring_size = meta.ring_size;
    v.stateless = meta.flags & XLB_VIP_F_STATELESS;
    try {
      check_ring_size(v.ring_size);
    } catch (const InputError&) {
      notes.push_back("reset the bad ring size " + std::to_string(v.ring_size) + " of " + ep.str());
      v.ring_size = XLB_DEFAULT_RING_SIZE;
      xlb_vip_meta fixed = meta;
      fixed.ring_size = v.ring_size;
      io_->put_vip(key, fixed);  // the ring is reinstalled below: size mismatch
    }
    vip_ids_.take(v.id);
    by_id[v.id] = &v;
  }

  for (const auto& [id, be] : io_->dump_backends()) {
    auto vit = by_id.find(be.vip_id);
    IpAddr addr;
    bool ok = vit != by_id.end() && id < XLB_MAX_BACKENDS;
    if (ok) {
      try {
        addr = IpAddr::from_abi(be.family, be.addr);
      } catch (const InputError&) {
        ok = false;
      }
    }
    BackendKey key{addr, ntohs(be.port)};
    if (ok && vit->second->backends.count(key)) ok = false;
    if (!ok) {
      // Left by a del-vip or purge that did not finish: no VIP reaches it.
      notes.push_back("cleared orphan backend id " + std::to_string(id));
      io_->clear_backend(id);
      continue;
    }
    BackendState b;
    b.id = id;
    b.removed = be.flags & XLB_BACKEND_F_REMOVED;
    if (b.removed) b.removed_gen = found_removed_gen;
    b.in_ring = !b.removed && (be.flags & XLB_BACKEND_F_IN_RING) && be.weight > 0;
    b.weight = b.in_ring ? be.weight : 0;
    VipState& v = *vit->second;
    v.backends[key] = b;
    backend_ids_.take(id);
    // Flags that contradict each other (IN_RING with weight 0, or with
    // REMOVED) are rewritten as the state they were read as.
    xlb_backend want = make_backend(v.id, addr, key.second, b.weight, b.in_ring, b.removed);
    if (std::memcmp(&want, &be, sizeof want) != 0) {
      notes.push_back("repaired the entry of backend id " + std::to_string(id));
      io_->put_backend(id, want);
    }
    // Maps from before counts existed, or a crash between creating the
    // entry and the backend: the identity gets its (zero) count entry.
    // An existing one, counts and all, is never touched.
    if (io_->ensure_conn_entry(identity(v, key)))
      notes.push_back("created the missing count entry of " + backend_key_str(identity(v, key)));
  }

  // Count entries whose identity no backend has: left by an lbd that died
  // while freeing one. Deleted once their counts are zero; until then a
  // unit may still be on its way back (and a config may add the backend
  // again, counts intact).
  BackendKeyMap<bool> known;
  for (const auto& [vid, v] : vips_)
    for (const auto& [key, b] : v.backends) known[identity(v, key)] = true;
  uint32_t stale = 0;
  for (const auto& [key, count] : io_->read_conns()) {
    if (known.count(key)) continue;
    if (count.active == 0 && count.half_open == 0) {
      io_->delete_conn_entry(key);
      stale++;
    } else {
      notes.push_back("kept the count entry of unknown identity " + backend_key_str(key) + " (active " +
                      std::to_string(count.active) + ", half-open " + std::to_string(count.half_open) + ")");
    }
  }
  if (stale) notes.push_back("deleted " + std::to_string(stale) + " stale count entries");

  std::set<uint32_t> rings;
  for (uint32_t id : io_->ring_ids()) rings.insert(id);
  for (uint32_t id : rings)
    if (!by_id.count(id)) {
      notes.push_back("deleted orphan ring of vip_id " + std::to_string(id));
      io_->delete_ring(id);
    }
  for (auto& [vid, v] : vips_) {
    std::vector<uint32_t> installed = rings.count(v.id) ? io_->read_ring(v.id) : std::vector<uint32_t>{};
    std::vector<uint32_t> want = build_ring(v);
    if (installed.size() != v.ring_size) {
      notes.push_back("reinstalled the ring of " + v.vip.str());
      io_->install_ring(v.id, want);
    } else {
      auto changes = maglev::diff(installed, want);
      if (!changes.empty()) {
        io_->write_ring_slots(v.id, changes);
        notes.push_back("repaired ring slots of " + v.vip.str());
      }
    }
    count_slots(v, want);
    v.list = io_->read_vip_list(v.id);
    std::vector<uint32_t> before = v.list;
    sync_list(v);
    if (before != v.list) notes.push_back("rewrote the scheduling list of " + v.vip.str());
  }

  // xlb_vip_addrs must count exactly the VIPs on each address.
  std::map<IpAddr, uint32_t> want;
  for (const auto& [vid, v] : vips_) want[v.vip.ip]++;
  std::map<IpAddr, uint32_t> have;
  for (const auto& [key, count] : io_->dump_vip_addrs()) {
    try {
      have[IpAddr::from_abi(key.family, key.addr)] = count;
    } catch (const InputError&) {
      io_->delete_vip_addr(key);
    }
  }
  for (const auto& [addr, count] : have)
    if (!want.count(addr)) {
      notes.push_back("deleted stale VIP address " + addr.str());
      io_->delete_vip_addr(make_vip_addr_key(addr));
    }
  for (const auto& [addr, count] : want) {
    auto it = have.find(addr);
    if (it == have.end() || it->second != count) {
      notes.push_back("fixed VIP address count of " + addr.str());
      io_->put_vip_addr(make_vip_addr_key(addr), count);
    }
  }

  // The config entry: keep what is there, fill a missing source from the
  // interface (a fresh map is all zero), and a missing or broken fullnat
  // port range with the default one.
  config_ = io_->read_config();
  xlb_config cfg = config_;
  xlb_config defaults = desired_config({}, {}, cfg.hash_seed, false);
  if (!cfg.encap_src_v4_plen && defaults.encap_src_v4_plen) {
    cfg.encap_src_v4 = defaults.encap_src_v4;
    cfg.encap_src_v4_plen = defaults.encap_src_v4_plen;
  }
  if (!cfg.encap_src_v6_plen && defaults.encap_src_v6_plen) {
    cfg.encap_src_v6 = defaults.encap_src_v6;
    cfg.encap_src_v6_plen = defaults.encap_src_v6_plen;
  }
  static const xlb_addr kNone{};
  if (!std::memcmp(&cfg.snat_src_v4, &kNone, sizeof kNone)) cfg.snat_src_v4 = defaults.snat_src_v4;
  if (!std::memcmp(&cfg.snat_src_v6, &kNone, sizeof kNone)) cfg.snat_src_v6 = defaults.snat_src_v6;
  if (cfg.snat_port_min == 0 || cfg.snat_port_max == 0 || cfg.snat_port_min > cfg.snat_port_max) {
    if (cfg.snat_port_min || cfg.snat_port_max)
      notes.push_back("reset the bad fullnat port range " + std::to_string(cfg.snat_port_min) + ".." +
                      std::to_string(cfg.snat_port_max));
    cfg.snat_port_min = defaults.snat_port_min;
    cfg.snat_port_max = defaults.snat_port_max;
  }
  // XLB_CFG_F_NAT exactly while a nat or fullnat VIP exists (an lbd that
  // died between a VIP and the flag leaves them apart).
  bool nat = nat_vips_exist();
  if (nat != bool(cfg.flags & XLB_CFG_F_NAT)) {
    notes.push_back(std::string(nat ? "set" : "cleared") + " the NAT reply flag of the config");
    cfg.flags = static_cast<uint16_t>(nat ? (cfg.flags | XLB_CFG_F_NAT) : (cfg.flags & ~XLB_CFG_F_NAT));
  }
  if (!config_equal(cfg, config_)) write_config(cfg);
  return notes;
}

}  // namespace xlb
