// A loaded (not attached) xlb_lb program with its maps, inside a private
// network namespace whose routes and neighbours are fixed (setup_fib_fixture),
// so every bpf_fib_lookup() answer is known in advance. Tests fill the maps
// the way lbd would, run frames through BPF_PROG_TEST_RUN and compare bytes.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lb.skel.h"
#include "bpf_test.h"
#include "xlb/abi.h"

namespace xlb::test {

xlb_addr abi_addr(const std::string& text);  // "198.18.0.1" or "fd00::1"

// CLOCK_MONOTONIC_COARSE: the clock of bpf_ktime_get_coarse_ns(), which
// stamps flows (last_seen_ns) and next-hop cache entries (expires_ns).
uint64_t coarse_now_ns();

class LbFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // VIP with a ring of ring_size slots (all empty). Returns its vip_id.
  uint32_t add_vip(const std::string& addr, uint16_t port, uint8_t proto, uint32_t ring_size = 13,
                   uint8_t sched = XLB_SCHED_MAGLEV);
  // Backend id bound to addr for vip_id (flags USED|IN_RING), with a zero
  // count entry for its identity, as lbd creates them. port (host order):
  // the backend's port for nat/fullnat VIPs, 0 for the VIP's own.
  void add_backend(uint32_t backend_id, uint32_t vip_id, const std::string& addr, uint32_t weight = 1,
                   uint16_t port = 0);
  // The VIP's forwarding mode (enum xlb_mode); add_vip makes ipip VIPs.
  void set_mode(uint32_t vip_id, uint8_t mode);
  // The VIP's XLB_VIP_F_* flags.
  void set_vip_flags(uint32_t vip_id, uint16_t flags);
  // Reads the VIP's xlb_vips entry, lets edit change it, writes it back.
  void edit_vip_meta(uint32_t vip_id, const std::function<void(xlb_vip_meta&)>& edit);
  // The VIP's scheduling list (least-conn, rr, wrr).
  void set_list(uint32_t vip_id, const std::vector<uint32_t>& ids);
  // Connection counts of backend_id's identity.
  xlb_conn_count conns(uint32_t backend_id) const;
  // Runs the xlb_conn_adjust program; returns its result field.
  int adjust(uint32_t backend_id, int64_t d_active, int64_t d_half_open);
  xlb_backend_key identity(uint32_t backend_id) const;
  // Every slot of the VIP's ring points at backend_id (XLB_RING_EMPTY clears).
  void fill_ring(uint32_t vip_id, uint32_t backend_id);
  void set_config(const std::string& src_v4, uint8_t plen_v4, const std::string& src_v6,
                  uint8_t plen_v6);
  // The nat part of the config, keeping the encapsulation sources: flags
  // (XLB_CFG_F_*), fullnat sources ("" for none) and port range (host order).
  void set_nat(uint16_t flags, const std::string& snat_v4 = "", const std::string& snat_v6 = "",
               uint16_t port_min = 0, uint16_t port_max = 0);
  // xlb_nat_rev: one entry (false if absent), all entries, one written.
  bool nat_rev(const xlb_flow_key& key, xlb_nat_rev* out) const;
  std::vector<std::pair<xlb_flow_key, xlb_nat_rev>> nat_revs() const;
  void put_nat_rev(const xlb_flow_key& key, const xlb_flow_key& fwd, uint32_t backend_id);

  RunResult run(const Bytes& frame) { return run_xdp(prog_fd(), frame, ifindex_); }
  int prog_fd() const;
  // Sum over CPUs of a per-CPU counter map entry.
  xlb_counter counter(bpf_map* map, uint32_t index) const;
  xlb_counter gstat(xlb_stat stat) const { return counter(skel_->maps.xlb_gstats, stat); }
  // The flow entry for a client 5-tuple; false if absent.
  bool flow(const xlb_flow_key& key, xlb_flow* out) const;
  size_t flow_count() const;
  // Rewrites an existing flow's last_seen_ns, e.g. to make it look idle
  // (what the data path stamps is coarse_now_ns()).
  void set_last_seen(const xlb_flow_key& key, uint64_t last_seen_ns);
  // Ages every CPU's cached next hop of backend_id as if XLB_NEXTHOP_TTL_NS
  // had passed since it was resolved, so the next packet resolves it again.
  // Returns how many CPUs had one cached.
  int expire_next_hop(uint32_t backend_id);
  // Rewrites a backend's flags and weight (XLB_BACKEND_F_*), e.g. to drain
  // it the way lbd does.
  void set_backend_state(uint32_t backend_id, uint8_t flags, uint32_t weight);

  // The frame the lb must emit for `in` sent to backend `backend` via the
  // fixture: outer header added, MACs of neighbour `neigh` (see fixture).
  Bytes expect_encap4(const Bytes& in, const std::string& backend, int neigh) const;
  Bytes expect_encap6(const Bytes& in, const std::string& backend, int neigh) const;

  // xlb_flows' max_entries, set before load: a subclass may change it in
  // its constructor.
  uint32_t flow_table_entries_ = 4096;
  // xlb_nat_rev's max_entries, set before load (0: flow_table_entries_).
  uint32_t nat_rev_entries_ = 0;
  lb_bpf* skel_ = nullptr;
  int ifindex_ = 0;
  std::vector<int> ring_fds_;
  std::vector<xlb_vip_key> vip_keys_;  // by vip_id
  TestNetns* ns_ = nullptr;
};

// Client 5-tuple key as the program builds it.
xlb_flow_key flow_key(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
                      uint8_t proto);

}  // namespace xlb::test
