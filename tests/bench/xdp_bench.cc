// Per-packet cost of the xlb_lb XDP program on each path, in ns, measured
// with BPF_PROG_TEST_RUN inside a private netns (the fixed FIB fixture of the
// packet tests). Prints figures; asserts nothing.
//
// Method: the kernel's own per-program run-time statistics
// (bpf_enable_stats(BPF_STATS_RUN_TIME): run_time_ns / run_cnt), one
// BPF_PROG_TEST_RUN per packet with repeat=1. Never repeat=N: after its first
// run an encapsulating program would see its own output. A trivial program
// that returns XDP_TX is measured the same way, in the same run, and its cost
// is subtracted ("net").
//
// Output: one line per measurement, `name gross_ns net_ns`, then the same as
// JSON lines with --json (for scripts/bench.sh). --only PREFIX measures the
// paths whose name starts with PREFIX; --runs N sets the runs per path
// (default 20000; `scripts/bench.sh --smoke` uses a tiny count).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <unistd.h>

#include <sched.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>
#include <string>
#include <vector>

#include "kit/packet.h"
#include "kit/prog_run.h"
#include "lb.skel.h"
#include "xlb/abi.h"

using namespace xlb::test;

namespace {

// Runs per measured path; --runs lowers it (the ctest smoke run uses a tiny
// count: it checks that every path still runs, not what it costs).
int g_runs = 20000;
const Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0xcc, 0x01};
bool g_json = false;
std::string g_only;  // --only PREFIX: measure only paths whose name starts with it

struct Stats {
  uint64_t run_time_ns = 0;
  uint64_t run_cnt = 0;
};

Stats prog_stats(int fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  bpf_obj_get_info_by_fd(fd, &info, &len);
  return {info.run_time_ns, info.run_cnt};
}

// Mean ns per run of prog over the frames (cycled), one test run each.
double cost_ns(int prog_fd, int ifindex, const std::vector<Bytes>& frames, int runs = 0) {
  if (runs == 0) runs = g_runs;
  Stats before = prog_stats(prog_fd);
  for (int i = 0; i < runs; i++) run_xdp(prog_fd, frames[i % frames.size()], ifindex);
  Stats after = prog_stats(prog_fd);
  uint64_t n = after.run_cnt - before.run_cnt;
  return n ? double(after.run_time_ns - before.run_time_ns) / n : 0;
}

// What a reaper sweep does to the flow table, minus the per-entry work (which
// is nearly nothing next to it, docs/design.md "The reaper"): walks the whole
// table with batch lookups of 8192 entries, over and over, on the last CPU,
// until destroyed. The forwarding measured meanwhile on another CPU shares
// the table's bucket locks and the memory bandwidth with it.
class TableWalker {
 public:
  explicit TableWalker(int map_fd) : thread_([this, map_fd] { walk(map_fd); }) {}
  ~TableWalker() {
    stop_ = true;
    thread_.join();
  }
  uint64_t entries() const { return entries_; }
  uint64_t sweeps() const { return sweeps_; }

 private:
  void walk(int fd) {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(libbpf_num_possible_cpus() - 1, &cpus);
    sched_setaffinity(0, sizeof cpus, &cpus);
    constexpr uint32_t kBatch = 8192;
    std::vector<xlb_flow_key> keys(kBatch);
    std::vector<xlb_flow> values(kBatch);
    while (!stop_) {
      uint64_t in = 0, out = 0;
      bool first = true;
      for (;;) {
        uint32_t count = kBatch;
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        int err = bpf_map_lookup_batch(fd, first ? nullptr : &in, &out, keys.data(), values.data(), &count, &opts);
        entries_ += count;
        if (err || stop_) break;  // -ENOENT: the end of the table
        in = out;
        first = false;
      }
      sweeps_++;
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> entries_{0}, sweeps_{0};
  std::thread thread_;  // last: starts once the members above exist
};

// Runs f with the calling thread on CPU 0 only, then restores its CPUs.
template <typename F>
auto on_cpu0(F f) {
  cpu_set_t saved, one;
  sched_getaffinity(0, sizeof saved, &saved);
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  sched_setaffinity(0, sizeof one, &one);
  auto r = f();
  sched_setaffinity(0, sizeof saved, &saved);
  return r;
}

int load_trivial_tx() {
  bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_TX},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  return bpf_prog_load(BPF_PROG_TYPE_XDP, "bench_tx", "GPL", insns, 2, nullptr);
}

xlb_addr addr_of(const std::string& text) {
  xlb_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a.v4) != 1) inet_pton(AF_INET6, text.c_str(), a.v6);
  return a;
}

bool is_v6(const std::string& text) { return text.find(':') != std::string::npos; }

// The maps of one loaded lb program, filled the way lbd fills them.
class Lb {
 public:
  bool open(uint32_t flow_entries) {
    skel_ = lb_bpf__open();
    if (!skel_) return false;
    bpf_map* map;
    bpf_object__for_each_map(map, skel_->obj) bpf_map__set_pin_path(map, nullptr);
    bpf_map__set_max_entries(skel_->maps.xlb_flows, flow_entries);
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
                   uint8_t mode = XLB_MODE_IPIP) {
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
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
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

Bytes syn_frame(const std::string& src, uint16_t sport, const std::string& dst, uint8_t flags = kTcpSyn,
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
std::vector<Bytes> distinct_flows(int n, const std::string& dst, uint8_t flags = kTcpSyn, int first = 0,
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

bool wanted(const std::string& name) { return g_only.empty() || name.rfind(g_only, 0) == 0; }

// A figure is only worth printing for the path it names: one more frame of
// that path must leave with XDP_TX (a drop or pass would be measured as fast).
bool sends(int prog_fd, int ifindex, const Bytes& frame, const std::string& name) {
  RunResult r = run_xdp(prog_fd, frame, ifindex);
  if (r.verdict == XDP_TX) return true;
  std::fprintf(stderr, "xdp_bench: %s: a frame got %s, not XDP_TX\n", name.c_str(), xdp_verdict_name(r.verdict).c_str());
  return false;
}

// Runs measure() and prints its figure, if the path is wanted.
void report(const std::string& name, const std::function<double()>& measure, double baseline) {
  if (!wanted(name)) return;
  double gross = measure();
  if (g_json)
    std::printf("{\"name\": \"%s\", \"gross_ns\": %.1f, \"net_ns\": %.1f}\n", name.c_str(), gross,
                gross - baseline);
  else
    std::printf("%-44s %8.1f ns %8.1f ns\n", name.c_str(), gross, gross - baseline);
  std::fflush(stdout);
}

// Fills the flow table with n synthetic flows of vip 198.18.100.1:80 on backend 0.
void prefill_flows(int flows_fd, int n) {
  std::vector<xlb_flow_key> keys(n);
  std::vector<xlb_flow> values(n);
  for (int i = 0; i < n; i++) {
    xlb_flow_key& k = keys[i];
    std::memset(&k, 0, sizeof(k));
    k.src.v4 = htonl(0xc6140000u + (i >> 16));  // 198.20.x.x: not the measured flows
    k.dst = addr_of("198.18.100.1");
    k.sport = htons(i & 0xffff);
    k.dport = htons(80);
    k.proto = IPPROTO_TCP;
    k.family = XLB_AF_INET;
    std::memset(&values[i], 0, sizeof(values[i]));
    values[i].state = XLB_FLOW_TCP_ESTABLISHED;
    values[i].last_seen_ns = 1;
  }
  uint32_t count = n;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  if (bpf_map_update_batch(flows_fd, keys.data(), values.data(), &count, &opts) != 0)
    std::fprintf(stderr, "prefill: %s\n", std::strerror(errno));
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "--json") g_json = true;
    if (arg == "--only" && i + 1 < argc) g_only = argv[++i];
    if (arg == "--runs" && i + 1 < argc) {
      char* end = nullptr;
      long v = std::strtol(argv[++i], &end, 10);
      if (*end || v < 1) {
        std::fprintf(stderr, "xdp_bench: --runs takes a positive count\n");
        return 2;
      }
      g_runs = static_cast<int>(v);
    }
  }
  std::string why;
  if (!bpf_tests_can_run(&why)) {
    std::printf("xdp_bench: skipped: needs root and BPF (%s)\n", why.c_str());
    return 0;
  }
  if (!enter_private_netns(&why)) {
    std::fprintf(stderr, "xdp_bench: %s\n", why.c_str());
    return 1;
  }
  int ifindex = setup_fib_fixture(&why);
  if (ifindex <= 0) {
    std::fprintf(stderr, "xdp_bench: fixture: %s\n", why.c_str());
    return 1;
  }
  int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (stats_fd < 0) {
    std::fprintf(stderr, "xdp_bench: bpf_enable_stats: %s\n", std::strerror(errno));
    return 1;
  }
  int trivial = load_trivial_tx();
  std::vector<Bytes> one_frame = {syn_frame("198.18.1.1", 40000, "198.18.100.1")};
  double baseline = cost_ns(trivial, ifindex, one_frame);
  if (!g_json) std::printf("%-44s %11s %11s\n", "path", "gross", "net");
  report("baseline (trivial XDP_TX)", [&] { return baseline; }, baseline);

  if (wanted("pass") || wanted("ipip: established") || wanted("ipip: new TCP flow, maglev") ||
      wanted("ipip: fragment")) {
    Lb lb;
    if (!lb.open(1 << 21)) {
      std::fprintf(stderr, "xdp_bench: cannot load lb\n");
      return 1;
    }
    lb.add_vip("198.18.100.1", 80, XLB_SCHED_MAGLEV, 3);
    lb.add_vip("fd00:100::1", 80, XLB_SCHED_MAGLEV, 3);
    auto frames = [&](const std::vector<Bytes>& f) { return [&, f] { return cost_ns(lb.prog_fd(), ifindex, f); }; };
    report("pass: not a VIP", frames({syn_frame("198.18.1.1", 40000, "198.18.0.1")}), baseline);
    report("ipip: established flow, IPv4", frames({syn_frame("198.18.1.1", 40000, "198.18.100.1", kTcpAck)}),
           baseline);
    report("ipip: established flow, IPv6", frames({syn_frame("fd00:1::1", 40000, "fd00:100::1", kTcpAck)}),
           baseline);
    report("ipip: new TCP flow, maglev", frames(distinct_flows(g_runs, "198.18.100.1")), baseline);
    // Fragments (bpf/lib/frag.h): the first fragment of a known flow (its
    // ports recorded, then the established path) and a later one (its
    // ports looked up, then to the flow's backend).
    if (wanted("ipip: fragment")) {
      Ipv4 fr;
      fr.src = "198.18.1.2";
      fr.dst = "198.18.100.1";
      fr.id = 7;
      fr.mf = true;
      Tcp tcp;
      tcp.flags = kTcpAck;
      Bytes first = Frame().eth(kClientMac, kFixtureMac).ipv4(fr).tcp(tcp).payload(std::string(32, 'x')).build();
      fr.mf = false;
      fr.frag_offset = 7;
      fr.proto = IPPROTO_TCP;
      Bytes later = Frame().eth(kClientMac, kFixtureMac).ipv4(fr).payload(std::string(32, 'y')).build();
      if (!sends(lb.prog_fd(), ifindex, first, "first fragment") || !sends(lb.prog_fd(), ifindex, later, "later fragment"))
        return 1;
      report("ipip: fragment, first, flow known, IPv4", frames({first}), baseline);
      report("ipip: fragment, later, IPv4", frames({later}), baseline);
    }
  }

  // The other modes. Clients are in 198.19/16 and fd00:19::/64, which the
  // fixture routes (via neighbour 2), so replies to them can be routed.
  for (uint8_t mode : {uint8_t{XLB_MODE_NAT}, uint8_t{XLB_MODE_FULLNAT}, uint8_t{XLB_MODE_L2DSR}}) {
    std::string m = mode == XLB_MODE_NAT ? "nat" : mode == XLB_MODE_FULLNAT ? "fullnat" : "l2dsr";
    if (!wanted(m + ": established flow, IPv4") && !wanted(m + ": established flow, IPv6") &&
        !wanted(m + ": reply, IPv4") && !wanted(m + ": new TCP flow, IPv4"))
      continue;
    Lb lb;
    if (!lb.open(1 << 16)) return 1;
    lb.enable_nat();
    lb.add_vip("198.18.100.1", 80, XLB_SCHED_MAGLEV, 1, mode);
    lb.add_vip("fd00:100::1", 80, XLB_SCHED_MAGLEV, 1, mode);
    auto frames = [&](const std::vector<Bytes>& f) { return [&, f] { return cost_ns(lb.prog_fd(), ifindex, f); }; };
    Bytes est4 = syn_frame("198.19.1.1", 40000, "198.18.100.1", kTcpAck);
    Bytes est6 = syn_frame("fd00:19::1", 40000, "fd00:100::1", kTcpAck);
    if (!sends(lb.prog_fd(), ifindex, est4, m) || !sends(lb.prog_fd(), ifindex, est6, m)) return 1;
    report(m + ": established flow, IPv4", frames({est4}), baseline);
    report(m + ": established flow, IPv6", frames({est6}), baseline);
    if (mode == XLB_MODE_L2DSR) continue;
    // The backend (198.18.0.2:1000) answers the flow above: to the client
    // (nat) or to the fullnat source, on the port the flow was given.
    xlb_flow_key key{};
    key.src = addr_of("198.19.1.1");
    key.dst = addr_of("198.18.100.1");
    key.sport = htons(40000);
    key.dport = htons(80);
    key.proto = IPPROTO_TCP;
    key.family = XLB_AF_INET;
    xlb_flow fl{};
    bpf_map_lookup_elem(lb.flows_fd(), &key, &fl);
    Bytes reply = mode == XLB_MODE_NAT ? syn_frame("198.18.0.2", 1000, "198.19.1.1", kTcpAck, 40000)
                                       : syn_frame("198.18.0.2", 1000, "198.18.0.1", kTcpAck, ntohs(fl.nat_port));
    if (!sends(lb.prog_fd(), ifindex, reply, m + " reply") ||
        !sends(lb.prog_fd(), ifindex, distinct_flows(1, "198.18.100.1", kTcpSyn, g_runs, "198.19")[0], m + " new flow"))
      return 1;
    report(m + ": reply, IPv4", frames({reply}), baseline);
    report(m + ": new TCP flow, IPv4", frames(distinct_flows(g_runs, "198.18.100.1", kTcpSyn, 0, "198.19")),
           baseline);
  }
  // What a nat VIP costs traffic that is not for any VIP (a reply-table miss).
  if (wanted("pass: not a VIP, nat enabled")) {
    Lb lb;
    if (!lb.open(1 << 16)) return 1;
    lb.enable_nat();
    lb.add_vip("198.18.100.1", 80, XLB_SCHED_MAGLEV, 1, XLB_MODE_NAT);
    report("pass: not a VIP, nat enabled",
           [&] { return cost_ns(lb.prog_fd(), ifindex, {syn_frame("198.18.1.1", 40000, "198.18.0.1")}); }, baseline);
  }

  for (int backends : {8, 64, 512}) {
    std::string name = "ipip: new TCP flow, least-conn, " + std::to_string(backends) + " backends";
    if (!wanted(name)) continue;
    Lb lb;
    if (!lb.open(1 << 16)) return 1;
    lb.add_vip("198.18.100.1", 80, XLB_SCHED_LEAST_CONN, backends);
    std::vector<Bytes> flows = distinct_flows(g_runs, "198.18.100.1");
    report(name, [&] { return cost_ns(lb.prog_fd(), ifindex, flows); }, baseline);
  }

  // Established-flow cost against flow-table occupancy: the measured flows
  // are 4096 distinct established flows among `occupancy` entries.
  for (int occupancy : {1000, 10000, 100000, 1000000}) {
    std::string name = "established, " + std::to_string(occupancy) + " flows in table";
    if (!wanted(name)) continue;
    Lb lb;
    if (!lb.open(1 << 21)) return 1;
    lb.add_vip("198.18.100.1", 80, XLB_SCHED_MAGLEV, 3);
    prefill_flows(lb.flows_fd(), occupancy);
    std::vector<Bytes> flows = distinct_flows(4096, "198.18.100.1", kTcpAck);
    cost_ns(lb.prog_fd(), ifindex, flows, 4096);  // create them
    report(name, [&] { return cost_ns(lb.prog_fd(), ifindex, flows); }, baseline);
    if (occupancy != 1000000) continue;
    // The same while the reaper walks the table (issue 5: the forwarding
    // rate while it runs): measured on CPU 0 with the walk on the last CPU,
    // and without it on CPU 0 too, so the two differ only by the walk.
    // 25 x --runs (500k by default) take about a second: several sweeps of the walk.
    const int long_runs = 25 * g_runs;
    std::string quiet = name + ", on CPU 0";
    if (wanted(quiet))
      report(quiet, [&] { return on_cpu0([&] { return cost_ns(lb.prog_fd(), ifindex, flows, long_runs); }); },
             baseline);
    std::string busy = name + ", on CPU 0, table walked by a reaper sweep";
    if (!wanted(busy) || libbpf_num_possible_cpus() < 2) continue;
    TableWalker walker(lb.flows_fd());
    report(busy, [&] { return on_cpu0([&] { return cost_ns(lb.prog_fd(), ifindex, flows, long_runs); }); },
           baseline);
    if (!g_json)
      std::printf("  (the walk read %.1f M entries in %lu sweeps meanwhile)\n", walker.entries() / 1e6,
                  (unsigned long)walker.sweeps());
  }

  // Against the number of VIPs: the measured VIP is one of n.
  for (int vips : {1, 8, 64, 512}) {
    std::string name = "established, " + std::to_string(vips) + " VIPs";
    if (!wanted(name)) continue;
    Lb lb;
    if (!lb.open(1 << 16)) return 1;
    for (int v = 0; v < vips; v++)
      lb.add_vip("198.18.10" + std::to_string(v / 250) + "." + std::to_string(1 + v % 250), 80,
                 XLB_SCHED_MAGLEV, 1);
    std::vector<Bytes> frame = {syn_frame("198.18.1.1", 40000, "198.18.100.1", kTcpAck)};
    report(name, [&] { return cost_ns(lb.prog_fd(), ifindex, frame); }, baseline);
  }
  close(trivial);
  close(stats_fd);
  return 0;
}
