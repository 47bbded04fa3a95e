#include "lb_fixture.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>

#include <cstring>
#include <ctime>

#include "encap_ref.h"
#include "lib/nexthop_entry.h"

namespace xlb::test {

xlb_addr abi_addr(const std::string& text) {
  xlb_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a.v4) == 1) return a;
  if (inet_pton(AF_INET6, text.c_str(), a.v6) == 1) return a;
  ADD_FAILURE() << "bad address in test: " << text;
  return a;
}

uint64_t coarse_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

static uint8_t family_of(const std::string& text) {
  return text.find(':') == std::string::npos ? XLB_AF_INET : XLB_AF_INET6;
}

xlb_flow_key flow_key(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
                      uint8_t proto) {
  xlb_flow_key k;
  std::memset(&k, 0, sizeof(k));
  k.src = abi_addr(src);
  k.dst = abi_addr(dst);
  k.sport = htons(sport);
  k.dport = htons(dport);
  k.proto = proto;
  k.family = family_of(src);
  return k;
}

void LbFixture::SetUp() {
  XLB_REQUIRE_BPF();
  ns_ = new TestNetns();
  ASSERT_TRUE(ns_->ok()) << ns_->why();
  std::string why;
  ifindex_ = setup_fib_fixture(&why);
  ASSERT_GT(ifindex_, 0) << why;

  skel_ = lb_bpf__open();
  ASSERT_NE(skel_, nullptr);
  // Tests never pin: each test gets private maps that die with it.
  bpf_map* map;
  bpf_object__for_each_map(map, skel_->obj) bpf_map__set_pin_path(map, nullptr);
  bpf_map__set_max_entries(skel_->maps.xlb_flows, flow_table_entries_);
  // An LRU is preallocated: sized like lbd does, not at the default million.
  bpf_map__set_max_entries(skel_->maps.xlb_nat_rev, nat_rev_entries_ ? nat_rev_entries_ : flow_table_entries_);
  ASSERT_EQ(lb_bpf__load(skel_), 0);
  set_config("198.18.0.1", 32, "fd00:18::1", 128);
}

void LbFixture::TearDown() {
  for (int fd : ring_fds_) close(fd);
  ring_fds_.clear();
  vip_keys_.clear();
  if (skel_) lb_bpf__destroy(skel_);
  skel_ = nullptr;
  delete ns_;
  ns_ = nullptr;
}

int LbFixture::prog_fd() const { return bpf_program__fd(skel_->progs.xlb_lb); }

uint32_t LbFixture::add_vip(const std::string& addr, uint16_t port, uint8_t proto, uint32_t ring_size,
                            uint8_t sched) {
  // One ring per add_vip call: the id is simply the next ring's index.
  uint32_t vip_id = ring_fds_.size();
  xlb_vip_key key;
  std::memset(&key, 0, sizeof(key));
  key.addr = abi_addr(addr);
  key.port = htons(port);
  key.proto = proto;
  key.family = family_of(addr);

  xlb_vip_meta meta{};
  meta.vip_id = vip_id;
  meta.ring_size = ring_size;
  meta.mode = XLB_MODE_IPIP;
  meta.sched = sched;
  vip_keys_.push_back(key);

  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = XLB_RING_MAP_FLAGS);
  int ring_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "test_ring", 4, 4, ring_size, &opts);
  EXPECT_GE(ring_fd, 0) << strerror(errno);
  ring_fds_.push_back(ring_fd);
  EXPECT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_rings), &vip_id, &ring_fd, BPF_ANY), 0)
      << strerror(errno);
  EXPECT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_vips), &key, &meta, BPF_ANY), 0);

  xlb_vip_addr_key akey;
  std::memset(&akey, 0, sizeof(akey));
  akey.addr = key.addr;
  akey.family = key.family;
  uint32_t one = 1;
  EXPECT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_vip_addrs), &akey, &one, BPF_ANY), 0);
  fill_ring(vip_id, XLB_RING_EMPTY);
  return vip_id;
}

void LbFixture::fill_ring(uint32_t vip_id, uint32_t backend_id) {
  ASSERT_LT(vip_id, ring_fds_.size());
  int fd = ring_fds_[vip_id];
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
  for (uint32_t slot = 0; slot < info.max_entries; slot++)
    ASSERT_EQ(bpf_map_update_elem(fd, &slot, &backend_id, BPF_ANY), 0);
}

void LbFixture::add_backend(uint32_t backend_id, uint32_t vip_id, const std::string& addr, uint32_t weight,
                            uint16_t port) {
  xlb_backend be;
  std::memset(&be, 0, sizeof(be));
  be.addr = abi_addr(addr);
  be.port = htons(port);
  be.family = family_of(addr);
  be.vip_id = vip_id;
  be.weight = weight;
  be.flags = XLB_BACKEND_F_USED | XLB_BACKEND_F_IN_RING;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_backends), &backend_id, &be, BPF_ANY), 0);
  xlb_backend_key key = identity(backend_id);
  xlb_conn_count zero{};
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_conns), &key, &zero, BPF_NOEXIST), 0);
}

void LbFixture::set_backend_state(uint32_t backend_id, uint8_t flags, uint32_t weight) {
  int fd = bpf_map__fd(skel_->maps.xlb_backends);
  xlb_backend be{};
  ASSERT_EQ(bpf_map_lookup_elem(fd, &backend_id, &be), 0);
  be.flags = flags;
  be.weight = weight;
  ASSERT_EQ(bpf_map_update_elem(fd, &backend_id, &be, BPF_EXIST), 0);
}

void LbFixture::edit_vip_meta(uint32_t vip_id, const std::function<void(xlb_vip_meta&)>& edit) {
  ASSERT_LT(vip_id, vip_keys_.size());
  int fd = bpf_map__fd(skel_->maps.xlb_vips);
  xlb_vip_meta meta{};
  ASSERT_EQ(bpf_map_lookup_elem(fd, &vip_keys_[vip_id], &meta), 0);
  edit(meta);
  ASSERT_EQ(bpf_map_update_elem(fd, &vip_keys_[vip_id], &meta, BPF_EXIST), 0);
}

void LbFixture::set_mode(uint32_t vip_id, uint8_t mode) {
  edit_vip_meta(vip_id, [&](xlb_vip_meta& m) { m.mode = mode; });
}

void LbFixture::set_vip_flags(uint32_t vip_id, uint16_t flags) {
  edit_vip_meta(vip_id, [&](xlb_vip_meta& m) { m.flags = flags; });
}

xlb_backend_key LbFixture::identity(uint32_t backend_id) const {
  xlb_backend be{};
  xlb_backend_key key;
  std::memset(&key, 0, sizeof(key));
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_backends), &backend_id, &be) != 0 ||
      be.vip_id >= vip_keys_.size()) {
    ADD_FAILURE() << "no backend " << backend_id;
    return key;
  }
  key.vip = vip_keys_[be.vip_id];
  key.addr = be.addr;
  key.port = be.port;
  key.family = be.family;
  return key;
}

void LbFixture::set_list(uint32_t vip_id, const std::vector<uint32_t>& ids) {
  xlb_vip_list list;
  std::memset(&list, 0, sizeof(list));
  list.len = ids.size();
  for (size_t i = 0; i < ids.size(); i++) list.ids[i] = ids[i];
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_vip_lists), &vip_id, &list, BPF_ANY), 0);
}

xlb_conn_count LbFixture::conns(uint32_t backend_id) const {
  xlb_backend_key key = identity(backend_id);
  xlb_conn_count c{};
  EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_conns), &key, &c), 0);
  return c;
}

int LbFixture::adjust(uint32_t backend_id, int64_t d_active, int64_t d_half_open) {
  xlb_conn_adjust req;
  std::memset(&req, 0, sizeof(req));
  req.key = identity(backend_id);
  req.d_active = d_active;
  req.d_half_open = d_half_open;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &req, .ctx_size_in = sizeof(req));
  EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.xlb_conn_adjust), &opts), 0) << strerror(errno);
  return req.result;
}

void LbFixture::set_config(const std::string& src_v4, uint8_t plen_v4, const std::string& src_v6,
                           uint8_t plen_v6) {
  xlb_config cfg;
  std::memset(&cfg, 0, sizeof(cfg));
  if (!src_v4.empty()) cfg.encap_src_v4 = abi_addr(src_v4);
  if (!src_v6.empty()) cfg.encap_src_v6 = abi_addr(src_v6);
  cfg.encap_src_v4_plen = plen_v4;
  cfg.encap_src_v6_plen = plen_v6;
  uint32_t zero = 0;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_config), &zero, &cfg, BPF_ANY), 0);
}

void LbFixture::set_nat(uint16_t flags, const std::string& snat_v4, const std::string& snat_v6,
                        uint16_t port_min, uint16_t port_max) {
  int fd = bpf_map__fd(skel_->maps.xlb_config);
  uint32_t zero = 0;
  xlb_config cfg;
  ASSERT_EQ(bpf_map_lookup_elem(fd, &zero, &cfg), 0);
  cfg.flags = flags;
  std::memset(&cfg.snat_src_v4, 0, sizeof(cfg.snat_src_v4));
  std::memset(&cfg.snat_src_v6, 0, sizeof(cfg.snat_src_v6));
  if (!snat_v4.empty()) cfg.snat_src_v4 = abi_addr(snat_v4);
  if (!snat_v6.empty()) cfg.snat_src_v6 = abi_addr(snat_v6);
  cfg.snat_port_min = port_min;
  cfg.snat_port_max = port_max;
  ASSERT_EQ(bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY), 0);
}

bool LbFixture::nat_rev(const xlb_flow_key& key, xlb_nat_rev* out) const {
  return bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_nat_rev), &key, out) == 0;
}

std::vector<std::pair<xlb_flow_key, xlb_nat_rev>> LbFixture::nat_revs() const {
  std::vector<std::pair<xlb_flow_key, xlb_nat_rev>> all;
  int fd = bpf_map__fd(skel_->maps.xlb_nat_rev);
  xlb_flow_key cur, next;
  void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    xlb_nat_rev v{};
    if (bpf_map_lookup_elem(fd, &next, &v) == 0) all.emplace_back(next, v);
    cur = next;
    prev = &cur;
  }
  return all;
}

void LbFixture::put_nat_rev(const xlb_flow_key& key, const xlb_flow_key& fwd, uint32_t backend_id) {
  xlb_nat_rev v;
  std::memset(&v, 0, sizeof(v));
  v.fwd = fwd;
  v.backend_id = backend_id;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xlb_nat_rev), &key, &v, BPF_NOEXIST), 0);
}

xlb_counter LbFixture::counter(bpf_map* map, uint32_t index) const {
  int ncpu = libbpf_num_possible_cpus();
  std::vector<xlb_counter> per_cpu(ncpu);
  xlb_counter sum{};
  if (bpf_map_lookup_elem(bpf_map__fd(map), &index, per_cpu.data()) != 0) {
    ADD_FAILURE() << "counter lookup failed";
    return sum;
  }
  for (const auto& c : per_cpu) {
    sum.packets += c.packets;
    sum.bytes += c.bytes;
  }
  return sum;
}

bool LbFixture::flow(const xlb_flow_key& key, xlb_flow* out) const {
  return bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_flows), &key, out) == 0;
}

void LbFixture::set_last_seen(const xlb_flow_key& key, uint64_t last_seen_ns) {
  int fd = bpf_map__fd(skel_->maps.xlb_flows);
  xlb_flow f{};
  ASSERT_EQ(bpf_map_lookup_elem(fd, &key, &f), 0) << "no flow to age";
  f.last_seen_ns = last_seen_ns;
  ASSERT_EQ(bpf_map_update_elem(fd, &key, &f, BPF_EXIST), 0);
}

int LbFixture::expire_next_hop(uint32_t backend_id) {
  bpf_map* map = skel_->maps.xlb_nexthops;
  EXPECT_EQ(bpf_map__value_size(map), sizeof(xlb_nexthop));
  std::vector<xlb_nexthop> per_cpu(libbpf_num_possible_cpus());
  if (bpf_map_lookup_elem(bpf_map__fd(map), &backend_id, per_cpu.data()) != 0) {
    ADD_FAILURE() << "next-hop lookup failed: " << strerror(errno);
    return 0;
  }
  int cached = 0;
  for (xlb_nexthop& nh : per_cpu) {
    if (!nh.expires_ns) continue;  // never resolved on that CPU (or failed)
    // Resolved at expires_ns - TTL: a TTL later it is 1 ns past its expiry.
    nh.expires_ns -= XLB_NEXTHOP_TTL_NS + 1;
    cached++;
  }
  EXPECT_EQ(bpf_map_update_elem(bpf_map__fd(map), &backend_id, per_cpu.data(), BPF_EXIST), 0)
      << strerror(errno);
  return cached;
}

size_t LbFixture::flow_count() const {
  size_t n = 0;
  xlb_flow_key cur, next;
  void* prev = nullptr;
  while (bpf_map_get_next_key(bpf_map__fd(skel_->maps.xlb_flows), prev, &next) == 0) {
    n++;
    cur = next;
    prev = &cur;
  }
  return n;
}

Bytes LbFixture::expect_encap4(const Bytes& in, const std::string& backend, int neigh) const {
  Bytes want = encap_ipv4(in, kFixtureAddr4, backend);
  set_macs(want, fixture_neigh_mac(neigh), kFixtureMac);
  return want;
}

Bytes LbFixture::expect_encap6(const Bytes& in, const std::string& backend, int neigh) const {
  Bytes want = encap_ipv6(in, kFixtureAddr6, backend);
  // The outer flow label comes from the flow hash under the config's seed.
  xlb_config cfg{};
  uint32_t zero = 0;
  EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_config), &zero, &cfg), 0);
  set_outer_flow_label(want, ref_flow_label(client_key_of(in), cfg.hash_seed));
  set_macs(want, fixture_neigh_mac(neigh), kFixtureMac);
  return want;
}

}  // namespace xlb::test
