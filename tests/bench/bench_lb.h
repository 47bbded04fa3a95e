// What the BPF_PROG_TEST_RUN benchmarks share (xdp_bench, flood_bench): a
// loaded xlb_lb program with its maps filled the way lbd fills them, and the
// frames they send. Header-only: each benchmark is one translation unit.
#pragma once
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "kit/packet.h"
#include "kit/prog_run.h"
#include "lb.skel.h"
#include "xlb/abi.h"

namespace xlb::bench {

using xlb::test::Bytes;
using xlb::test::Frame;
using xlb::test::Ipv4;
using xlb::test::Ipv6;
using xlb::test::kFixtureMac;
using xlb::test::kTcpSyn;
using xlb::test::Mac;
using xlb::test::Tcp;

inline const Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0xcc, 0x01};

// Enters a private netns with the packet tests' FIB fixture and returns the
// fixture's ifindex, or 0 with *exit_code set to main's status: 0 when the
// machine can't run BPF (a skip, said on stdout), 1 on an error (stderr).
inline int enter_bench_fixture(const char* tool, int* exit_code) {
  std::string why;
  *exit_code = 1;
  if (!xlb::test::bpf_tests_can_run(&why)) {
    std::printf("%s: skipped: needs root and BPF (%s)\n", tool, why.c_str());
    *exit_code = 0;
    return 0;
  }
  if (!xlb::test::enter_private_netns(&why)) {
    std::fprintf(stderr, "%s: %s\n", tool, why.c_str());
    return 0;
  }
  int ifindex = xlb::test::setup_fib_fixture(&why);
  if (ifindex <= 0) {
    std::fprintf(stderr, "%s: fixture: %s\n", tool, why.c_str());
    return 0;
  }
  return ifindex;
}

inline xlb_addr addr_of(const std::string& text) {
  xlb_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a.v4) != 1) inet_pton(AF_INET6, text.c_str(), a.v6);
  return a;
}

inline bool is_v6(const std::string& text) { return text.find(':') != std::string::npos; }

// The maps of one loaded lb program, filled the way lbd fills them.
class Lb {
 public:
  // percpu_lru: the flow table with BPF_F_NO_COMMON_LRU (an LRU list per
  // CPU) instead of lbd's one shared list, to measure what it changes.
  bool open(uint32_t flow_entries, bool percpu_lru = false) {
    skel_ = lb_bpf__open();
    if (!skel_) return false;
    bpf_map* map;
    bpf_object__for_each_map(map, skel_->obj) bpf_map__set_pin_path(map, nullptr);
    bpf_map__set_max_entries(skel_->maps.xlb_flows, flow_entries);
    if (percpu_lru)
      bpf_map__set_map_flags(skel_->maps.xlb_flows, bpf_map__map_flags(skel_->maps.xlb_flows) | BPF_F_NO_COMMON_LRU);
    bpf_map__set_max_entries(skel_->maps.xlb_nat_rev, flow_entries);  // a preallocated LRU: sized as lbd does
    if (lb_bpf__load(skel_)) return false;
    xlb_config cfg{};
    // lbd's default since issue 10: a per-flow IPv4 source in 172.16.0.0/16
    // (ctl/core/config.h kDefaultEncapSourceV4); IPv6 flows get a flow label.
    cfg.encap_src_v4 = addr_of("172.16.0.0");
    cfg.encap_src_v4_plen = 16;
    cfg.encap_src_v6 = addr_of("fd00:18::1");
    cfg.encap_src_v6_plen = 128;
    uint32_t zero = 0;
    bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_config), &zero, &cfg, BPF_ANY);
    return true;
  }
  ~Lb() {
    for (int fd : rings_) ::close(fd);
    if (skel_) lb_bpf__destroy(skel_);
  }
  int prog_fd() const { return bpf_program__fd(skel_->progs.xlb_lb); }
  int flows_fd() const { return bpf_map__fd(skel_->maps.xlb_flows); }
  int gstats_fd() const { return bpf_map__fd(skel_->maps.xlb_gstats); }

  // The new-flow flood guard at its default rate (on) or off.
  void set_flood_guard(bool on) {
    xlb_config cfg{};
    uint32_t zero = 0;
    bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_config), &zero, &cfg);
    cfg.flood_rate = 0;
    cfg.flags = static_cast<uint16_t>(on ? cfg.flags & ~XLB_CFG_F_NO_FLOOD_GUARD : cfg.flags | XLB_CFG_F_NO_FLOOD_GUARD);
    bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_config), &zero, &cfg, BPF_ANY);
  }

  // The nat part of the config, as lbd sets it once a nat/fullnat VIP
  // exists: the flag, the fixture's own addresses as fullnat sources, and
  // the whole unprivileged port range.
  void enable_nat() {
    xlb_config cfg{};
    uint32_t zero = 0;
    bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_config), &zero, &cfg);
    cfg.flags |= XLB_CFG_F_NAT;
    cfg.snat_src_v4 = addr_of("198.18.0.1");
    cfg.snat_src_v6 = addr_of("fd00:18::1");
    cfg.snat_port_min = 1024;
    cfg.snat_port_max = 65535;
    bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_config), &zero, &cfg, BPF_ANY);
  }

  // A VIP whose ring and list hold `backends` backends on the fixture's
  // resolved neighbours (198.18.0.2..20, reused round-robin), backend i on
  // port 1000 + i (which nat and fullnat VIPs translate to).
  uint32_t add_vip(const std::string& vip, uint16_t port, uint8_t sched, int backends,
                   uint8_t mode = XLB_MODE_IPIP, uint16_t vip_flags = 0) {
    uint32_t vip_id = rings_.size();
    xlb_vip_key key;
    std::memset(&key, 0, sizeof(key));
    key.addr = addr_of(vip);
    key.port = htons(port);
    key.proto = IPPROTO_TCP;
    key.family = is_v6(vip) ? XLB_AF_INET6 : XLB_AF_INET;
    xlb_vip_meta meta{};
    meta.vip_id = vip_id;
    meta.ring_size = XLB_DEFAULT_RING_SIZE;
    meta.sched = sched;
    meta.mode = mode;
    meta.flags = vip_flags;
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = XLB_RING_MAP_FLAGS);
    int ring = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bench_ring", 4, 4, meta.ring_size, &opts);
    rings_.push_back(ring);
    bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_rings), &vip_id, &ring, BPF_ANY);

    xlb_vip_list list;
    std::memset(&list, 0, sizeof(list));
    for (int i = 0; i < backends; i++) {
      uint32_t id = next_backend_++;
      xlb_backend be;
      std::memset(&be, 0, sizeof(be));
      int host = 2 + i % 19;
      be.addr = addr_of(key.family == XLB_AF_INET6 ? "fd00:18::" + std::to_string(host)
                                                   : "198.18.0." + std::to_string(host));
      be.family = key.family;
      be.port = htons(1000 + i);  // distinct identities on shared neighbours
      be.vip_id = vip_id;
      be.weight = 1;
      be.flags = XLB_BACKEND_F_USED | XLB_BACKEND_F_IN_RING;
      bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_backends), &id, &be, BPF_ANY);
      xlb_backend_key bkey;
      std::memset(&bkey, 0, sizeof(bkey));
      bkey.vip = key;
      bkey.addr = be.addr;
      bkey.port = be.port;
      bkey.family = be.family;
      xlb_conn_count zero{};
      bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_conns), &bkey, &zero, BPF_NOEXIST);
      list.ids[list.len++] = id;
    }
    // The whole ring in one batch: a syscall per slot made the 512-VIP
    // setup take minutes.
    std::vector<uint32_t> slots(meta.ring_size), ids(meta.ring_size);
    for (uint32_t slot = 0; slot < meta.ring_size; slot++) {
      slots[slot] = slot;
      ids[slot] = list.ids[slot % list.len];
    }
    uint32_t count = meta.ring_size;
    if (bpf_map_update_batch(ring, slots.data(), ids.data(), &count, nullptr) != 0)
      std::fprintf(stderr, "ring fill: %s\n", std::strerror(errno));
    bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_vip_lists), &vip_id, &list, BPF_ANY);
    bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_vips), &key, &meta, BPF_ANY);
    xlb_vip_addr_key akey;
    std::memset(&akey, 0, sizeof(akey));
    akey.addr = key.addr;
    akey.family = key.family;
    uint32_t one = 1;
    bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_vip_addrs), &akey, &one, BPF_ANY);
    return vip_id;
  }

 private:
  lb_bpf* skel_ = nullptr;
  std::vector<int> rings_;
  uint32_t next_backend_ = 0;
};

inline Bytes syn_frame(const std::string& src, uint16_t sport, const std::string& dst, uint8_t flags = kTcpSyn,
                uint16_t dport = 80) {
  Tcp tcp;
  tcp.sport = sport;
  tcp.dport = dport;
  tcp.flags = flags;
  if (is_v6(src)) {
    Ipv6 ip;
    ip.src = src;
    ip.dst = dst;
    return Frame().eth(kClientMac, kFixtureMac).ipv6(ip).tcp(tcp).payload(std::string(32, 'x')).build();
  }
  Ipv4 ip;
  ip.src = src;
  ip.dst = dst;
  return Frame().eth(kClientMac, kFixtureMac).ipv4(ip).tcp(tcp).payload(std::string(32, 'x')).build();
}

// n frames of n distinct client tuples; IPv4 clients in net16 (e.g.
// "198.19") if given.
inline std::vector<Bytes> distinct_flows(int n, const std::string& dst, uint8_t flags = kTcpSyn, int first = 0,
                                  const std::string& net16 = "") {
  std::vector<Bytes> frames;
  for (int i = first; i < first + n; i++) {
    std::string src = is_v6(dst)         ? "fd00:1::" + std::to_string(1 + i / 60000)
                      : !net16.empty() ? net16 + "." + std::to_string(1 + i / 60000 % 250) + ".1"
                                       : "198.18.1" + std::to_string(i / 60000 % 10) + "." + std::to_string(1 + i / 600000);
    frames.push_back(syn_frame(src, 1024 + i % 60000, dst, flags));
  }
  return frames;
}

}  // namespace xlb::bench
