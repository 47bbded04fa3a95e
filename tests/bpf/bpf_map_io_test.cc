// BpfMapIo (ctl/lbd/bpf_map_io.h), lbd's only way to the maps, against the
// real maps of a loaded lb object (nothing attached, nothing pinned): what it
// writes reads back the same, through a second BpfMapIo over the same maps
// too (what a restarted lbd opens), and what the data path then does with
// it. The balancer's unit tests use an in-memory MapIo; these check that the
// kernel side keeps the same promises.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>

#include "core/balancer.h"
#include "core/conn_key.h"
#include "lb_fixture.h"
#include "lbd/bpf_map_io.h"
#include "lbd/ring_map.h"

namespace xlb::test {
namespace {

const Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0xcc, 0x01};
constexpr const char* kVip = "198.18.100.1";

Bytes tcp(uint16_t sport, uint8_t flags) {
  Ipv4 ip;
  ip.src = "198.18.1.1";
  ip.dst = kVip;
  Tcp t;
  t.sport = sport;
  t.dport = 80;
  t.flags = flags;
  return Frame().eth(kClientMac, kFixtureMac).ipv4(ip).tcp(t).build();
}

template <typename T>
bool same_bytes(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

xlb_flow_key nth_flow_key(uint32_t i) {
  return flow_key("198.19." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1), 1024 + i % 50000, kVip,
                  80, IPPROTO_TCP);
}

class RealMaps : public LbFixture {
 protected:
  // Big enough for the flow walks to take more than one batch (8192).
  RealMaps() { flow_table_entries_ = 32768; }

  // A BpfMapIo over the fixture's maps, with fds of its own, as lbd opens
  // the pinned ones: a second one is what a restarted lbd sees.
  std::unique_ptr<BpfMapIo> open_io() {
    return std::make_unique<BpfMapIo>([this](const char* name) {
      int fd = std::strcmp(name, XLB_CONN_ADJUST_PROG_NAME) == 0
                   ? bpf_program__fd(skel_->progs.xlb_conn_adjust)
                   : bpf_map__fd(bpf_object__find_map_by_name(skel_->obj, name));
      return Fd(dup(fd));
    });
  }

  static xlb_backend_key identity_of(const std::string& backend) {
    return make_backend_key(make_vip_key(Endpoint::parse(std::string(kVip) + ":80"), IPPROTO_TCP),
                            IpAddr::parse(backend), 0);
  }

  static EncapDefaults encap() {
    EncapDefaults d;
    d.v4 = IpAddr::parse(kFixtureAddr4);
    return d;
  }
};

// ---- connection counts --------------------------------------------------------

// A count entry is created once; a later ensure_conn_entry (another lbd's,
// after a restart) must never reset its counts, or least-conn would forget
// every open connection.
TEST_F(RealMaps, EnsureConnEntryNeverOverwritesACount) {
  xlb_backend_key key = identity_of("198.18.0.10");
  auto io = open_io();
  EXPECT_FALSE(io->read_conn(key).has_value());
  EXPECT_FALSE(io->adjust_conns(key, 1, 0)) << "adjusted a count that does not exist";
  EXPECT_TRUE(io->ensure_conn_entry(key));
  ASSERT_TRUE(io->adjust_conns(key, 5, 2));

  io = open_io();  // lbd restarted
  EXPECT_FALSE(io->ensure_conn_entry(key));
  std::optional<xlb_conn_count> c = io->read_conn(key);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->active, 5);
  EXPECT_EQ(c->half_open, 2);

  auto all = io->read_conns();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(same_bytes(all[0].first, key));
  ASSERT_TRUE(io->adjust_conns(key, -9, -1));  // clamped at zero
  EXPECT_EQ(io->read_conn(key)->active, 0);
  EXPECT_EQ(io->read_conn(key)->half_open, 1);
  io->delete_conn_entry(key);
  EXPECT_FALSE(io->read_conn(key).has_value());
  io->delete_conn_entry(key);  // gone already: not an error
}

// The whole restart path: one lbd's balancer sets a VIP up, the data path
// counts connections, and a new lbd (new BpfMapIo, new Balancer, recover())
// carries on with the counts intact.
TEST_F(RealMaps, CountsSurviveAnLbdRestart) {
  const Endpoint vip = Endpoint::parse(std::string(kVip) + ":80");
  {
    Balancer lbd(open_io(), encap());
    lbd.recover();
    VipSpec spec;
    spec.vip = vip;
    spec.proto = IPPROTO_TCP;
    spec.sched = XLB_SCHED_LEAST_CONN;
    spec.ring_size = 13;
    lbd.add_vip(spec);
    lbd.add_backend(vip, IPPROTO_TCP, IpAddr::parse("198.18.0.10"), 1);
  }
  for (uint16_t port = 40000; port < 40003; port++) ASSERT_EQ(run(tcp(port, kTcpSyn)).verdict, XDP_TX);
  ASSERT_EQ(run(tcp(40000, kTcpAck)).verdict, XDP_TX);

  Balancer lbd(open_io(), encap());
  std::vector<std::string> notes = lbd.recover();
  for (const auto& n : notes) ADD_FAILURE() << "recovery repaired something: " << n;
  std::vector<VipView> vips = lbd.list();
  ASSERT_EQ(vips.size(), 1u);
  ASSERT_EQ(vips[0].backends.size(), 1u);
  EXPECT_EQ(vips[0].backends[0].conns_active, 3);
  EXPECT_EQ(vips[0].backends[0].conns_half_open, 2);

  // The data path goes on from there.
  ASSERT_EQ(run(tcp(40001, kTcpRst)).verdict, XDP_TX);
  std::optional<xlb_conn_count> c = open_io()->read_conn(identity_of("198.18.0.10"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->active, 2);
  EXPECT_EQ(c->half_open, 1);
}

// ---- rings ---------------------------------------------------------------------

TEST_F(RealMaps, RingRoundTripsAndIsFoundAgainAfterARestart) {
  std::vector<uint32_t> slots(13);
  for (uint32_t i = 0; i < slots.size(); i++) slots[i] = i % 3;
  auto io = open_io();
  EXPECT_TRUE(io->read_ring(7).empty());
  io->install_ring(7, slots);
  EXPECT_EQ(io->read_ring(7), slots);
  io->write_ring_slots(7, {{3, 9}, {12, XLB_RING_EMPTY}});
  slots[3] = 9;
  slots[12] = XLB_RING_EMPTY;
  EXPECT_EQ(io->read_ring(7), slots);

  // A restarted lbd finds the installed ring through the outer map and
  // writes into that same ring.
  auto io2 = open_io();
  EXPECT_EQ(io2->ring_ids(), std::vector<uint32_t>{7});
  EXPECT_EQ(io2->read_ring(7), slots);
  io2->write_ring_slots(7, {{0, 2}});
  slots[0] = 2;
  EXPECT_EQ(io->read_ring(7), slots);

  // Installing again replaces the ring, at any size.
  std::vector<uint32_t> bigger(17, 4);
  io2->install_ring(7, bigger);
  EXPECT_EQ(io2->read_ring(7), bigger);
  EXPECT_EQ(open_io()->read_ring(7), bigger);
  io2->delete_ring(7);
  EXPECT_TRUE(io2->read_ring(7).empty());
  EXPECT_TRUE(open_io()->ring_ids().empty());
}

// Rings are mmapable: lbd reads and writes their slots in its own memory
// (ring_map.h), and the data path sees what it stored.
TEST_F(RealMaps, RingsAreMemoryMappedAndTheDataPathSeesTheStores) {
  auto io = open_io();
  uint32_t vip = add_vip(kVip, 80, IPPROTO_TCP);
  add_backend(1, vip, "198.18.0.10");
  add_backend(2, vip, "198.18.0.11");
  io->install_ring(vip, std::vector<uint32_t>(13, 1));
  uint32_t map_id = 0;
  ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_rings), &vip, &map_id), 0);
  Fd ring(bpf_map_get_fd_by_id(map_id));
  bpf_map_info info{};
  uint32_t len = sizeof info;
  ASSERT_EQ(bpf_obj_get_info_by_fd(ring.get(), &info, &len), 0);
  EXPECT_EQ(info.map_flags, uint32_t(XLB_RING_MAP_FLAGS));
  ASSERT_TRUE(RingMap::open(ring.get(), info.max_entries).has_value());

  // Each slot as the kernel reads it (a lookup, not the mapping) holds
  // what lbd stored there: an array keeps a 4-byte value every 8 bytes.
  std::vector<uint32_t> distinct(13);
  for (uint32_t i = 0; i < distinct.size(); i++) distinct[i] = 100 + i;
  io->install_ring(vip, distinct);
  ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_rings), &vip, &map_id), 0);
  Fd installed(bpf_map_get_fd_by_id(map_id));
  auto kernel_view = [&] {
    std::vector<uint32_t> out(13);
    for (uint32_t i = 0; i < 13; i++) EXPECT_EQ(bpf_map_lookup_elem(installed.get(), &i, &out[i]), 0);
    return out;
  };
  EXPECT_EQ(kernel_view(), distinct);
  io->write_ring_slots(vip, {{4, 7}, {12, 8}});
  distinct[4] = 7;
  distinct[12] = 8;
  EXPECT_EQ(kernel_view(), distinct);
  EXPECT_EQ(io->read_ring(vip), distinct);

  std::vector<maglev::SlotChange> all;
  for (uint32_t i = 0; i < 13; i++) all.push_back({i, 2});
  io->write_ring_slots(vip, all);
  Bytes syn = tcp(40000, kTcpSyn);
  RunResult r = run(syn);
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, expect_encap4(syn, "198.18.0.11", 11));
  EXPECT_THROW(io->write_ring_slots(vip, {{13, 1}}), SystemError);  // beyond the ring
}

// Maps pinned by an xlb_lb from before mmapable rings: their xlb_rings only
// takes rings created with the template's old flags. lbd falls back to
// those, and to reading and writing slots through bpf().
TEST_F(RealMaps, RingsOfAnOlderTemplateAreWrittenThroughBpf) {
  LIBBPF_OPTS(bpf_map_create_opts, inner_opts, .map_flags = BPF_F_INNER_MAP);
  Fd tmpl(bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_ring", 4, 4, 1, &inner_opts));
  ASSERT_TRUE(tmpl);
  LIBBPF_OPTS(bpf_map_create_opts, outer_opts, .inner_map_fd = static_cast<uint32_t>(tmpl.get()));
  Fd legacy(bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "xlb_rings", 4, 4, XLB_MAX_VIPS, &outer_opts));
  ASSERT_TRUE(legacy);
  BpfMapIo io([&](const char* name) {
    if (std::strcmp(name, XLB_MAP_RINGS) == 0) return Fd(dup(legacy.get()));
    int fd = std::strcmp(name, XLB_CONN_ADJUST_PROG_NAME) == 0
                 ? bpf_program__fd(skel_->progs.xlb_conn_adjust)
                 : bpf_map__fd(bpf_object__find_map_by_name(skel_->obj, name));
    return Fd(dup(fd));
  });
  std::vector<uint32_t> slots(13, 1);
  io.install_ring(3, slots);
  EXPECT_EQ(io.read_ring(3), slots);
  io.write_ring_slots(3, {{5, 2}});
  slots[5] = 2;
  EXPECT_EQ(io.read_ring(3), slots);
}

// What install_ring writes is what the data path picks from.
TEST_F(RealMaps, DataPathUsesTheInstalledRing) {
  auto io = open_io();
  uint32_t vip = add_vip(kVip, 80, IPPROTO_TCP);
  add_backend(1, vip, "198.18.0.10");
  add_backend(2, vip, "198.18.0.11");
  io->install_ring(vip, std::vector<uint32_t>(13, 2));
  Bytes syn = tcp(40000, kTcpSyn);
  RunResult r = run(syn);
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, expect_encap4(syn, "198.18.0.11", 11));
}

// ---- backends, VIPs, lists --------------------------------------------------------

xlb_backend backend(const std::string& addr, uint32_t vip_id, uint32_t weight, uint8_t flags) {
  xlb_backend be;
  std::memset(&be, 0, sizeof be);
  be.addr = abi_addr(addr);
  be.family = XLB_AF_INET;
  be.vip_id = vip_id;
  be.weight = weight;
  be.flags = flags;
  return be;
}

TEST_F(RealMaps, BackendsUpsertDumpAndClear) {
  auto io = open_io();
  xlb_backend active = backend("198.18.0.10", 0, 3, XLB_BACKEND_F_USED | XLB_BACKEND_F_IN_RING);
  xlb_backend removed = backend("198.18.0.11", 0, 0, XLB_BACKEND_F_USED | XLB_BACKEND_F_REMOVED);
  io->put_backend(5, active);
  io->put_backend(6, removed);
  io->put_backend(7, backend("198.18.0.12", 0, 1, 0));  // not USED: a free slot

  auto dumped = open_io()->dump_backends();
  ASSERT_EQ(dumped.size(), 2u);
  std::sort(dumped.begin(), dumped.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  EXPECT_EQ(dumped[0].first, 5u);
  EXPECT_TRUE(same_bytes(dumped[0].second, active));
  EXPECT_EQ(dumped[1].first, 6u);
  EXPECT_TRUE(same_bytes(dumped[1].second, removed));

  active.weight = 0;  // drained
  active.flags = XLB_BACKEND_F_USED;
  io->put_backend(5, active);
  io->clear_backend(6);
  dumped = io->dump_backends();
  ASSERT_EQ(dumped.size(), 1u);
  EXPECT_EQ(dumped[0].first, 5u);
  EXPECT_TRUE(same_bytes(dumped[0].second, active));
  xlb_backend raw{};
  uint32_t id = 6;
  ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xlb_backends), &id, &raw), 0);
  EXPECT_TRUE(same_bytes(raw, xlb_backend{})) << "clear_backend left something";
}

TEST_F(RealMaps, VipsAndVipAddressesAddUpdateAndDelete) {
  auto io = open_io();
  xlb_vip_key key = make_vip_key(Endpoint::parse(std::string(kVip) + ":80"), IPPROTO_TCP);
  xlb_vip_meta meta{};
  meta.vip_id = 3;
  meta.ring_size = 13;
  meta.sched = XLB_SCHED_LEAST_CONN;
  io->put_vip(key, meta);
  meta.mode = XLB_MODE_NAT;
  io->put_vip(key, meta);  // an update, not a second entry
  auto vips = open_io()->dump_vips();
  ASSERT_EQ(vips.size(), 1u);
  EXPECT_TRUE(same_bytes(vips[0].first, key));
  EXPECT_TRUE(same_bytes(vips[0].second, meta));

  xlb_vip_addr_key akey = make_vip_addr_key(IpAddr::parse(kVip));
  io->put_vip_addr(akey, 1);
  io->put_vip_addr(akey, 2);
  auto addrs = open_io()->dump_vip_addrs();
  ASSERT_EQ(addrs.size(), 1u);
  EXPECT_TRUE(same_bytes(addrs[0].first, akey));
  EXPECT_EQ(addrs[0].second, 2u);

  io->delete_vip(key);
  io->delete_vip_addr(akey);
  EXPECT_TRUE(io->dump_vips().empty());
  EXPECT_TRUE(io->dump_vip_addrs().empty());
  io->delete_vip(key);  // gone already: not an error
  io->delete_vip_addr(akey);
}

// lbd rewrites a VIP's list on every backend change; the rr position the
// data path advanced must survive it, or rotation would restart at the
// first backend each time.
TEST_F(RealMaps, VipListRewriteKeepsTheDataPathsRotation) {
  auto io = open_io();
  uint32_t vip = add_vip(kVip, 80, IPPROTO_TCP, 13, XLB_SCHED_RR);
  const char* addrs[] = {"198.18.0.10", "198.18.0.11", "198.18.0.12"};
  for (uint32_t i = 0; i < 3; i++) add_backend(i, vip, addrs[i]);
  io->write_vip_list(vip, {0, 1, 2});
  EXPECT_EQ(io->read_vip_list(vip), (std::vector<uint32_t>{0, 1, 2}));
  auto dest = [&](uint16_t port) {
    RunResult r = run(tcp(port, kTcpSyn));
    return r.verdict == XDP_TX && r.out.size() >= 34 ? int(r.out[33]) : -1;
  };
  EXPECT_EQ(dest(40000), 10);
  EXPECT_EQ(dest(40001), 11);
  open_io()->write_vip_list(vip, {0, 1, 2});
  EXPECT_EQ(dest(40002), 12) << "the rewrite reset the rotation";
  io->write_vip_list(vip, {});
  EXPECT_TRUE(io->read_vip_list(vip).empty());
}

// ---- flows, as the reaper uses them --------------------------------------------

TEST_F(RealMaps, FlowWalkSeesEveryEntryOnceAndDeletesWhatIsSelected) {
  constexpr uint32_t kFlows = 20000;  // three batches of the walk
  auto io = open_io();
  EXPECT_EQ(io->flow_table_size(), flow_table_entries_);
  for (uint32_t i = 0; i < kFlows; i++) {
    xlb_flow f{};
    f.backend_id = i % 4;
    f.last_seen_ns = i;
    f.state = XLB_FLOW_TCP_ESTABLISHED;
    ASSERT_TRUE(io->restore_flow(nth_flow_key(i), f)) << i;
  }

  std::set<uint64_t> seen;  // last_seen_ns identifies the flow
  uint64_t visits = 0;
  io->for_each_flow([&](const xlb_flow_key& k, const xlb_flow& f) {
    visits++;
    seen.insert(f.last_seen_ns);
    EXPECT_TRUE(same_bytes(k, nth_flow_key(f.last_seen_ns)));
    return true;
  });
  EXPECT_EQ(visits, kFlows);
  EXPECT_EQ(seen.size(), kFlows);

  visits = 0;
  io->for_each_flow([&](const xlb_flow_key&, const xlb_flow&) { return ++visits < 10; });
  EXPECT_EQ(visits, 10u) << "the walk did not stop when told";

  // What a purge of backend 1 does.
  EXPECT_EQ(io->delete_flows([](const xlb_flow_key&, const xlb_flow& f) { return f.backend_id == 1; }),
            kFlows / 4);
  EXPECT_EQ(flow_count(), kFlows - kFlows / 4);

  // The reaper deletes expired entries from inside the walk: each visited
  // entry may go without any other being missed or seen twice.
  visits = 0;
  uint64_t deleted = 0;
  io->for_each_flow([&](const xlb_flow_key& k, const xlb_flow& f) {
    visits++;
    EXPECT_NE(f.backend_id, 1u);
    std::optional<xlb_flow> gone = io->lookup_and_delete_flow(k);
    deleted += gone.has_value() && same_bytes(*gone, f);
    return true;
  });
  EXPECT_EQ(visits, kFlows - kFlows / 4);
  EXPECT_EQ(deleted, visits);
  EXPECT_EQ(flow_count(), 0u);
}

TEST_F(RealMaps, RestoreNeverOverwritesAFlowTheDataPathCreated) {
  uint32_t vip = add_vip(kVip, 80, IPPROTO_TCP);
  add_backend(1, vip, "198.18.0.10");
  fill_ring(vip, 1);
  ASSERT_EQ(run(tcp(40000, kTcpSyn)).verdict, XDP_TX);
  xlb_flow_key key = flow_key("198.18.1.1", 40000, kVip, 80, IPPROTO_TCP);

  auto io = open_io();
  std::optional<xlb_flow> live = io->lookup_flow(key);
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(live->backend_id, 1u);
  EXPECT_EQ(live->state, XLB_FLOW_TCP_SYN);
  xlb_flow other = *live;
  other.backend_id = 7;
  EXPECT_FALSE(io->restore_flow(key, other));
  EXPECT_EQ(io->lookup_flow(key)->backend_id, 1u);

  // Taken out (as the reaper does before deciding), then put back.
  std::optional<xlb_flow> taken = io->lookup_and_delete_flow(key);
  ASSERT_TRUE(taken.has_value());
  EXPECT_TRUE(same_bytes(*taken, *live));
  EXPECT_FALSE(io->lookup_and_delete_flow(key).has_value());
  EXPECT_FALSE(io->lookup_flow(key).has_value());
  EXPECT_TRUE(io->restore_flow(key, *taken));
  EXPECT_TRUE(same_bytes(*io->lookup_flow(key), *live));
}

// ---- counters and config ---------------------------------------------------------

TEST_F(RealMaps, CountersSumOverCpusAndReset) {
  uint32_t vip = add_vip(kVip, 80, IPPROTO_TCP);
  add_backend(1, vip, "198.18.0.10");
  fill_ring(vip, 1);
  Bytes syn = tcp(40000, kTcpSyn);
  for (int i = 0; i < 3; i++) ASSERT_EQ(run(syn).verdict, XDP_TX);

  auto io = open_io();
  std::vector<Counter> global = io->read_global_stats();
  ASSERT_EQ(global.size(), size_t{XLB_STAT_MAX});
  EXPECT_EQ(global[XLB_STAT_RX].packets, 3u);
  EXPECT_EQ(global[XLB_STAT_RX].bytes, 3 * syn.size());
  EXPECT_EQ(global[XLB_STAT_NEW_FLOW].packets, 1u);
  EXPECT_EQ(io->read_vip_stats(vip).packets, 3u);
  EXPECT_EQ(io->read_backend_stats(1).packets, 3u);
  io->reset_vip_stats(vip);
  io->reset_backend_stats(1);
  EXPECT_EQ(io->read_vip_stats(vip).packets, 0u);
  EXPECT_EQ(io->read_backend_stats(1).bytes, 0u);
}

TEST_F(RealMaps, ConfigRoundTrips) {
  auto io = open_io();
  xlb_config c = io->read_config();
  EXPECT_TRUE(same_bytes(c.encap_src_v4, abi_addr(kFixtureAddr4)));  // the fixture's
  c.hash_seed = 0x12345678;
  c.flags = XLB_CFG_F_NAT;
  c.snat_port_min = 20000;
  c.snat_port_max = 29999;
  io->write_config(c);
  EXPECT_TRUE(same_bytes(open_io()->read_config(), c));
}

}  // namespace
}  // namespace xlb::test
