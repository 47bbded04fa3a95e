// Same choice on every node (issue 14): the VIPs' fingerprints, the seed,
// and `lbctl pick`, the data path's choice for a 5-tuple. The hashing is
// pick/'s, shared with the program (include/xlb/flow_hash.h); here only the
// model's part: which VIP, which ring, which backend an id is.
#include <algorithm>

#include "balancer.h"
#include "error.h"
#include "pick/fingerprint.h"
#include "pick/flow_pick.h"
#include "rules.h"

namespace xlb {

VipFingerprint Balancer::fingerprint(const VipState& v) {
  if (pick::pick_is_stateless(v.sched)) return {true, v.ring_fingerprint};
  // The list schedulers' set: the backends that take new flows (the ring's
  // and the list's members), a handful at most, so computed per request.
  std::vector<pick::Weighted> set;
  for (const auto& [key, b] : v.backends)
    if (b.in_ring && b.weight > 0) set.push_back({ring_identity(key.first, key.second), b.weight});
  return {false, pick::backends_fingerprint(std::move(set))};
}

VipView Balancer::view_head(const VipState& v) {
  VipView view;
  view.vip = v.vip;
  view.proto = v.proto;
  view.sched = v.sched;
  view.mode = v.mode;
  view.ring_size = v.ring_size;
  view.stateless = v.stateless;
  view.id = v.id;
  view.fingerprint = fingerprint(v);
  return view;
}

std::vector<VipView> Balancer::fingerprints() const {
  std::vector<VipView> out;
  for (const auto& [vid, v] : vips_) out.push_back(view_head(v));
  return out;
}

void Balancer::set_hash_seed(uint32_t seed) {
  atomically([&] {
    xlb_config cfg = config_;
    cfg.hash_seed = seed;
    if (!config_equal(cfg, config_)) write_config(cfg);
  });
}

PickView Balancer::pick(const PickQuery& q) {
  ensure_in_sync();
  // The VIP: by address, port and protocol; without a port, the only one.
  const VipState* found = nullptr;
  size_t candidates = 0;
  for (const auto& [vid, v] : vips_) {
    if (!(v.vip.ip == q.vip) || v.proto != q.proto) continue;
    if (q.port && v.vip.port != *q.port) continue;
    ++candidates;
    found = &v;
  }
  std::string named = q.port ? vip_name(Endpoint{q.vip, *q.port}, q.proto) : q.vip.str() + "/" + proto_name(q.proto);
  if (candidates == 0) throw InputError("no VIP " + named);
  if (candidates > 1) throw InputError("several VIPs on " + named + ": give the port (VIP:PORT)");
  const VipState& v = *found;
  if (q.src.family != v.vip.ip.family)
    throw InputError("source " + q.src.str() + " is not of the VIP's family");

  PickView out;
  out.vip = v.vip;
  out.proto = v.proto;
  out.sched = v.sched;
  out.hash_seed = config_.hash_seed;
  out.ring_size = v.ring_size;
  out.fingerprint = fingerprint(v);
  auto ref_of = [&v](uint32_t id) -> std::optional<BackendRef> {
    for (const auto& [key, b] : v.backends)
      if (b.id == id) return BackendRef(key.first, key.second ? std::optional<uint16_t>(key.second) : std::nullopt);
    return std::nullopt;
  };

  xlb_flow_key key = pick::flow_key(v.vip.ip.family, v.proto, q.src.addr, q.sport, v.vip.ip.addr, v.vip.port);
  if (auto hash = pick::ring_hash(v.sched, key, config_.hash_seed)) {
    out.stateless = true;
    out.hash = *hash;
    // The ring as installed, which is what the program reads (the model
    // keeps no copy).
    std::vector<uint32_t> ring = io_->read_ring(v.id);
    if (!ring.empty()) {
      out.ring_size = static_cast<uint32_t>(ring.size());
      out.slot = pick::ring_slot(*hash, out.ring_size);
      if (ring[out.slot] != XLB_RING_EMPTY) out.backend = ref_of(ring[out.slot]);
    }
  }
  if (auto flow = io_->lookup_flow(key)) {
    out.existing_flow = true;
    out.existing_backend_id = flow->backend_id;
    out.existing_backend = ref_of(flow->backend_id);
  }
  return out;
}

}  // namespace xlb
