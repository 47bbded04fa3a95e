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
// paths whose name starts with PREFIX (repeatable: any of them); --runs N sets the runs per path
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

#include "bench_lb.h"
#include "prog_cost.h"
#include "kit/packet.h"
#include "kit/prog_run.h"
#include "lb.skel.h"
#include "xlb/abi.h"

using namespace xlb::test;
using namespace xlb::bench;

namespace {

// Runs per measured path; --runs lowers it (the ctest smoke run uses a tiny
// count: it checks that every path still runs, not what it costs).
int g_runs = 20000;
bool g_json = false;
std::vector<std::string> g_only;  // --only PREFIX...: measure only paths whose name starts with one

// Mean ns per run of prog over the frames (cycled), one test run each
// (prog_cost.h), --runs of them unless runs says otherwise.
double cost_ns(int prog_fd, int ifindex, const std::vector<Bytes>& frames, int runs = 0) {
  return run_cost_ns(prog_fd, ifindex, frames, runs ? runs : g_runs);
}

// New flows through prog on several CPUs at once: thread i, pinned to CPU
// i, runs per_cpu[i] (distinct SYNs) one test run each, all threads started
// together. The kernel's run-time statistics add up the program's time on
// every CPU, so the mean per flow, net of the trivial program, is what one
// new flow costs a CPU while the others insert too: the LRU's shared lock
// and free lists, the connection counts' cache lines. Each run is mostly
// the syscall around the program (about 3x its time here), so the CPUs are
// in the program together only part of the time: the contention measured is
// a lower bound of a NIC's, whose queues would run it back to back.
// Returns the net ns per new flow.
double parallel_new_flow_ns(int prog_fd, int ifindex, const std::vector<std::vector<Bytes>>& per_cpu,
                            double baseline) {
  ProgStats before = prog_stats(prog_fd);
  std::atomic<size_t> ready{0};
  std::vector<std::thread> threads;
  for (size_t cpu = 0; cpu < per_cpu.size(); cpu++)
    threads.emplace_back([&, cpu] {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      sched_setaffinity(0, sizeof one, &one);
      ready++;
      while (ready < per_cpu.size()) {
      }
      for (const Bytes& frame : per_cpu[cpu]) run_xdp(prog_fd, frame, ifindex);
    });
  for (auto& t : threads) t.join();
  ProgStats after = prog_stats(prog_fd);
  uint64_t n = after.run_cnt - before.run_cnt;
  return n ? double(after.run_time_ns - before.run_time_ns) / n - baseline : 0;
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


bool wanted(const std::string& name) {
  if (g_only.empty()) return true;
  for (const std::string& prefix : g_only)
    if (name.rfind(prefix, 0) == 0) return true;
  return false;
}
// Whether a block measuring these paths has anything to do: by full names,
// so that --only with any prefix of one of them runs the block.
bool wanted_any(std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (wanted(n)) return true;
  return false;
}

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
    if (arg == "--only" && i + 1 < argc) g_only.push_back(argv[++i]);
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
  int exit_code = 0;
  int ifindex = enter_bench_fixture("xdp_bench", &exit_code);
  if (!ifindex) return exit_code;
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

  const char* const kFirstFragment = "ipip: fragment, first, flow known, IPv4";
  const char* const kLaterFragment = "ipip: fragment, later, IPv4";
  const char* const kNewFlow6 = "ipip: new TCP flow to an IPv6 VIP, maglev";
  const char* const kStateless4 = "ipip: stateless VIP, IPv4";
  const char* const kStateless6 = "ipip: stateless VIP, IPv6";
  if (wanted_any({"pass: not a VIP", "ipip: established flow, IPv4", "ipip: established flow, IPv6",
                  "ipip: established flow, IPv4, VLAN 100 in, untagged out", "ipip: new TCP flow, maglev", kNewFlow6,
                  kStateless4, kStateless6, kFirstFragment, kLaterFragment})) {
    Lb lb;
    if (!lb.open(1 << 21)) {
      std::fprintf(stderr, "xdp_bench: cannot load lb\n");
      return 1;
    }
    lb.add_vip("198.18.100.1", 80, XLB_SCHED_MAGLEV, 3);
    lb.add_vip("fd00:100::1", 80, XLB_SCHED_MAGLEV, 3);
    // Stateless VIPs (XLB_VIP_F_STATELESS): every packet by the ring.
    lb.add_vip("198.18.100.1", 81, XLB_SCHED_MAGLEV, 3, XLB_MODE_IPIP, XLB_VIP_F_STATELESS);
    lb.add_vip("fd00:100::1", 81, XLB_SCHED_MAGLEV, 3, XLB_MODE_IPIP, XLB_VIP_F_STATELESS);
    auto frames = [&](const std::vector<Bytes>& f) { return [&, f] { return cost_ns(lb.prog_fd(), ifindex, f); }; };
    report("pass: not a VIP", frames({syn_frame("198.18.1.1", 40000, "198.18.0.1")}), baseline);
    report("ipip: established flow, IPv4", frames({syn_frame("198.18.1.1", 40000, "198.18.100.1", kTcpAck)}),
           baseline);
    report("ipip: established flow, IPv6", frames({syn_frame("fd00:1::1", 40000, "fd00:100::1", kTcpAck)}),
           baseline);
    // Tagged in, leaving untagged (the fixture's device is no VLAN device):
    // the L2 rewrite of docs/design.md "VLANs", on top of the line above.
    Bytes tagged = syn_frame("198.18.1.1", 40001, "198.18.100.1", kTcpAck);
    tagged.insert(tagged.begin() + 12, {0x81, 0x00, 0x00, 0x64});
    report("ipip: established flow, IPv4, VLAN 100 in, untagged out", frames({tagged}), baseline);
    // A new flow beyond the measured ones must be forwarded, or the figure
    // would be a drop's.
    if (wanted("ipip: new TCP flow, maglev") &&
        !sends(lb.prog_fd(), ifindex, distinct_flows(1, "198.18.100.1", kTcpSyn, g_runs)[0], "maglev new flow"))
      return 1;
    report("ipip: new TCP flow, maglev", frames(distinct_flows(g_runs, "198.18.100.1")), baseline);
    if (wanted(kNewFlow6) &&
        !sends(lb.prog_fd(), ifindex, distinct_flows(1, "fd00:100::1", kTcpSyn, g_runs)[0], "maglev new IPv6 flow"))
      return 1;
    report(kNewFlow6, frames(distinct_flows(g_runs, "fd00:100::1")), baseline);
    // A stateless VIP's packets cost the same whether new or not: one
    // frame, repeated, is its steady state.
    Bytes stateless4 = syn_frame("198.18.1.1", 40000, "198.18.100.1", kTcpAck, 81);
    Bytes stateless6 = syn_frame("fd00:1::1", 40000, "fd00:100::1", kTcpAck, 81);
    if ((wanted(kStateless4) && !sends(lb.prog_fd(), ifindex, stateless4, "stateless IPv4")) ||
        (wanted(kStateless6) && !sends(lb.prog_fd(), ifindex, stateless6, "stateless IPv6")))
      return 1;
    report(kStateless4, frames({stateless4}), baseline);
    report(kStateless6, frames({stateless6}), baseline);
    // Fragments (bpf/lib/frag.h): the first fragment of a known flow (its
    // ports recorded, then the established path) and a later one (its
    // ports looked up, then to the flow's backend).
    if (wanted_any({kFirstFragment, kLaterFragment})) {
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
      report(kFirstFragment, frames({first}), baseline);
      report(kLaterFragment, frames({later}), baseline);
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
    if (!sends(lb.prog_fd(), ifindex, distinct_flows(1, "198.18.100.1", kTcpSyn, g_runs)[0], name)) return 1;
    std::vector<Bytes> flows = distinct_flows(g_runs, "198.18.100.1");
    report(name, [&] { return cost_ns(lb.prog_fd(), ifindex, flows); }, baseline);
  }

  // The new-flow rate on one CPU and on two at once (issue 15, "many
  // cores"): a CPU's rate is 1e9 / its net ns per flow, the program's own
  // time, as a NIC queue would run it. How the cost grows from one CPU to
  // two is what the shared LRU and counts cost; scripts/bench_report.py
  // projects it to 32 cores. Also with a per-CPU LRU, the known fix.
  struct RateCase {
    const char* label;
    uint8_t sched;
    int backends;
    bool percpu_lru;
  };
  const int ncpus = libbpf_num_possible_cpus();
  for (const RateCase& c : {RateCase{"maglev", XLB_SCHED_MAGLEV, 3, false},
                            RateCase{"maglev, per-CPU LRU", XLB_SCHED_MAGLEV, 3, true},
                            RateCase{"least-conn, 8 backends", XLB_SCHED_LEAST_CONN, 8, false}}) {
    for (int cpus : {1, 2}) {
      std::string name = std::string("new TCP flows/s, ") + c.label + ", " + std::to_string(cpus) +
                         (cpus == 1 ? " CPU" : " CPUs in parallel");
      if (!wanted(name) || cpus > ncpus) continue;
      Lb lb;
      if (!lb.open(1 << 21, c.percpu_lru)) return 1;
      lb.add_vip("198.18.100.1", 80, c.sched, c.backends);
      std::vector<std::vector<Bytes>> per_cpu;
      for (int i = 0; i < cpus; i++) per_cpu.push_back(distinct_flows(g_runs, "198.18.100.1", kTcpSyn, i * g_runs));
      if (!sends(lb.prog_fd(), ifindex, distinct_flows(1, "198.18.100.1", kTcpSyn, cpus * g_runs)[0], name))
        return 1;
      double net = parallel_new_flow_ns(lb.prog_fd(), ifindex, per_cpu, baseline);
      double rate = net > 0 ? cpus * 1e9 / net : 0;
      if (g_json)
        std::printf("{\"name\": \"%s\", \"cpus\": %d, \"net_ns\": %.1f, \"flows_per_s\": %.0f}\n", name.c_str(),
                    cpus, net, rate);
      else
        std::printf("%-44s %8.1f ns/flow per CPU, %.2f M new flows/s\n", name.c_str(), net, rate / 1e6);
      std::fflush(stdout);
    }
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

  // Established packets of 65,536 flows in turn, as the rig's generator
  // sends them (scripts/bench_tput.sh): each packet's entry has left the
  // caches since the flow's last packet, so this is the table's cost when
  // it misses, where the rows above mostly hit.
  const char* const kCycled = "established, 65536 flows in turn";
  if (wanted(kCycled)) {
    const int nflows = 65536;
    Lb lb;
    if (!lb.open(1 << 21)) return 1;
    lb.add_vip("198.18.100.1", 80, XLB_SCHED_MAGLEV, 3);
    std::vector<Bytes> syns = distinct_flows(nflows, "198.18.100.1", kTcpSyn);
    std::vector<Bytes> acks = distinct_flows(nflows, "198.18.100.1", kTcpAck);
    cost_ns(lb.prog_fd(), ifindex, syns, nflows);  // the flows' entries
    cost_ns(lb.prog_fd(), ifindex, acks, nflows);  // established
    if (!sends(lb.prog_fd(), ifindex, acks[0], "established, flows in turn")) return 1;
    report(kCycled, [&] { return cost_ns(lb.prog_fd(), ifindex, acks, 4 * nflows); }, baseline);
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
