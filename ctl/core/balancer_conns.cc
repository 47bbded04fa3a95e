// Connection counts, scheduling lists, and the freeing of backend
// identities: what least-conn and the reaper need from the balancer.
#include "balancer.h"
#include "error.h"
#include "rules.h"
#include "sched_list.h"

namespace xlb {

std::vector<uint32_t> Balancer::build_list(const VipState& v) const {
  if (!sched_uses_list(v.sched)) return {};
  // v.backends is ordered by (address, port): the identity order, so every
  // LB with the same backends builds the same list.
  std::vector<sched_list::Member> members;
  for (const auto& [key, b] : v.backends)
    if (b.in_ring && b.weight > 0) members.push_back({b.id, b.weight});
  return sched_list::build(v.sched, members);
}

void Balancer::sync_list(VipState& v) {
  std::vector<uint32_t> list = build_list(v);
  if (list == v.list) return;
  io_->write_vip_list(v.id, list);
  v.list = std::move(list);
}

void Balancer::free_backend(VipState& v, const BackendKey& key) {
  const BackendState& b = v.backends.at(key);
  uint32_t id = b.id;
  xlb_backend_key bk = identity(v, key);
  // Through the adjust program, like every count change: a unit the data
  // plane is returning at this moment is not lost, merely clamped.
  if (auto c = io_->read_conn(bk); c && (c->active || c->half_open))
    io_->adjust_conns(bk, -c->active, -c->half_open);
  io_->delete_conn_entry(bk);
  io_->clear_backend(id);
  backend_ids_.release(id);
  v.backends.erase(key);
}

IdentityTable Balancer::identities() const {
  IdentityTable out;
  for (const auto& [vid, v] : vips_)
    for (const auto& [key, b] : v.backends) out[b.id] = identity(v, key);
  return out;
}

std::vector<std::string> Balancer::free_removed(const std::vector<bool>& referenced, uint64_t generation) {
  ensure_in_sync();
  std::vector<std::string> notes;
  atomically([&] {
    for (auto& [vid, v] : vips_) {
      std::vector<BackendKey> doomed;
      for (const auto& [key, b] : v.backends)
        // A backend removed after the sweep started may have flows the sweep
        // passed before they were created (it was still in the ring): only
        // the sweep's own generation and older ones are decided.
        if (b.removed && b.removed_gen <= generation && !(b.id < referenced.size() && referenced[b.id]))
          doomed.push_back(key);
      for (const auto& key : doomed) {
        notes.push_back("freed removed backend " + key.first.str() + " of " + vip_name(v.vip, v.proto) +
                        " (id " + std::to_string(v.backends.at(key).id) + "): no flows left");
        free_backend(v, key);
      }
    }
  });
  return notes;
}

}  // namespace xlb
