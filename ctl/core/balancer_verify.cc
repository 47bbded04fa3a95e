// verify(): does the model lbd shows match the maps the data plane reads?
// Read-only; every difference is one line naming the map and the object.
// It backs `lbctl status --verify`, and the fault-injection tests run it
// after every injected error.
//
// Rings are not rebuilt (Maglev over every VIP would take seconds): each
// slot must name an active backend of its own VIP (or be empty when it has
// none), and each backend must hold as many slots as the model counted
// when it last wrote the ring. A missed or half-done slot write breaks one
// of the two.
#include <arpa/inet.h>

#include <cstring>
#include <map>
#include <set>

#include "balancer.h"
#include "conn_key.h"
#include "rules.h"

namespace xlb {

namespace {

std::string vip_key_str(const xlb_vip_key& key) {
  try {
    return vip_name({IpAddr::from_abi(key.family, key.addr), ntohs(key.port)}, key.proto);
  } catch (const std::exception&) {
    return "(an entry of family " + std::to_string(key.family) + ")";
  }
}

std::string addr_key_str(const xlb_vip_addr_key& key) {
  try {
    return IpAddr::from_abi(key.family, key.addr).str();
  } catch (const std::exception&) {
    return "(an entry of family " + std::to_string(key.family) + ")";
  }
}

}  // namespace

std::vector<std::string> Balancer::verify() {
  std::vector<std::string> diffs;
  auto differ = [&](const std::string& line) { diffs.push_back(line); };

  // xlb_vips
  std::map<std::string, const VipState*> want_vips;  // by key bytes
  auto bytes = [](const auto& key) { return std::string(reinterpret_cast<const char*>(&key), sizeof key); };
  for (const auto& [id, v] : vips_) want_vips[bytes(make_vip_key(v.vip, v.proto))] = &v;
  std::set<std::string> seen;
  for (const auto& [key, meta] : io_->dump_vips()) {
    auto it = want_vips.find(bytes(key));
    if (it == want_vips.end()) {
      differ("xlb_vips has VIP " + vip_key_str(key) + ", which lbd does not know");
      continue;
    }
    seen.insert(it->first);
    const VipState& v = *it->second;
    uint16_t flags = v.stateless ? XLB_VIP_F_STATELESS : 0;
    if (meta.vip_id != v.id || meta.ring_size != v.ring_size || meta.mode != v.mode || meta.sched != v.sched ||
        meta.flags != flags)
      differ("xlb_vips entry of " + vip_name(v.vip, v.proto) + " is (id " + std::to_string(meta.vip_id) + ", ring " +
             std::to_string(meta.ring_size) + ", mode " + std::to_string(meta.mode) + ", sched " +
             std::to_string(meta.sched) + ", flags " + std::to_string(meta.flags) + "), lbd has (id " +
             std::to_string(v.id) + ", ring " + std::to_string(v.ring_size) + ", mode " + std::to_string(v.mode) +
             ", sched " + std::to_string(v.sched) + ", flags " + std::to_string(flags) + ")");
  }
  for (const auto& [k, v] : want_vips)
    if (!seen.count(k)) differ("VIP " + vip_name(v->vip, v->proto) + " is missing from xlb_vips");

  // xlb_vip_addrs
  std::map<IpAddr, uint32_t> want_addrs;
  for (const auto& [id, v] : vips_) want_addrs[v.vip.ip]++;
  std::map<IpAddr, uint32_t> have_addrs;
  for (const auto& [key, count] : io_->dump_vip_addrs()) {
    try {
      have_addrs[IpAddr::from_abi(key.family, key.addr)] = count;
    } catch (const std::exception&) {
      differ("xlb_vip_addrs has a bad entry " + addr_key_str(key));
    }
  }
  for (const auto& [addr, n] : want_addrs) {
    auto it = have_addrs.find(addr);
    if (it == have_addrs.end())
      differ("VIP address " + addr.str() + " is missing from xlb_vip_addrs");
    else if (it->second != n)
      differ("xlb_vip_addrs counts " + std::to_string(it->second) + " VIPs on " + addr.str() + ", lbd has " +
             std::to_string(n));
  }
  for (const auto& [addr, n] : have_addrs)
    if (!want_addrs.count(addr)) differ("xlb_vip_addrs has " + addr.str() + ", where lbd has no VIP");

  // xlb_backends
  std::map<uint32_t, xlb_backend> want_backends;
  for (const auto& [id, v] : vips_)
    for (const auto& [key, b] : v.backends)
      want_backends[b.id] = make_backend(v.id, key.first, key.second, b.weight, b.in_ring, b.removed);
  std::set<uint32_t> seen_backends;
  for (const auto& [id, be] : io_->dump_backends()) {
    seen_backends.insert(id);
    auto it = want_backends.find(id);
    if (it == want_backends.end())
      differ("xlb_backends has backend id " + std::to_string(id) + ", which lbd does not know");
    else if (std::memcmp(&it->second, &be, sizeof be) != 0)
      differ("xlb_backends entry of backend id " + std::to_string(id) + " differs from lbd's");
  }
  for (const auto& [id, be] : want_backends)
    if (!seen_backends.count(id)) differ("backend id " + std::to_string(id) + " is missing from xlb_backends");

  // xlb_rings and xlb_vip_lists, per VIP
  std::set<uint32_t> ring_ids;
  for (uint32_t id : io_->ring_ids()) ring_ids.insert(id);
  for (const auto& [vid, v] : vips_) {
    std::string name = vip_name(v.vip, v.proto);
    ring_ids.erase(v.id);
    std::vector<uint32_t> ring = io_->read_ring(v.id);
    if (ring.size() != v.ring_size) {
      differ("the ring of " + name + " has " + std::to_string(ring.size()) + " slots, lbd expects " +
             std::to_string(v.ring_size));
    } else {
      std::map<uint32_t, uint32_t> want_slots, have_slots;  // backend id -> slots
      for (const auto& [key, b] : v.backends)
        if (b.in_ring) want_slots[b.id] = b.ring_slots;
      uint32_t empty = 0, foreign = 0;
      for (uint32_t id : ring) {
        if (id == XLB_RING_EMPTY)
          empty++;
        else if (!want_slots.count(id))
          foreign++;
        else
          have_slots[id]++;
      }
      if (foreign)
        differ("the ring of " + name + " has " + std::to_string(foreign) +
               " slots naming backends that are not active in it");
      if (empty && !want_slots.empty())
        differ("the ring of " + name + " has " + std::to_string(empty) + " empty slots although it has backends");
      for (const auto& [id, n] : want_slots)
        if (have_slots[id] != n)
          differ("the ring of " + name + " gives backend id " + std::to_string(id) + " " +
                 std::to_string(have_slots[id]) + " slots, lbd counted " + std::to_string(n));
    }
    if (io_->read_vip_list(v.id) != v.list)
      differ("the scheduling list of " + name + " differs from its active backends");
    for (const auto& [key, b] : v.backends)
      if (!io_->read_conn(identity(v, key)))
        differ("backend " + backend_name(key.first, key.second) + " of " + name + " has no count entry");
  }
  for (uint32_t id : ring_ids) differ("xlb_rings has a ring for vip_id " + std::to_string(id) + ", which has no VIP");

  xlb_config cfg = io_->read_config();
  if (!config_equal(cfg, config_)) differ("xlb_config differs from lbd's settings");
  return diffs;
}

}  // namespace xlb
