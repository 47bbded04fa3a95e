// What a SYN flood at the program's full rate does to established flows
// (issue 10, section 3), under each scheduler, with the new-flow flood guard
// at its default rate and off (docs/design.md, "New-flow flood guard").
// Prints figures; asserts nothing.
//
// Method (BPF_PROG_TEST_RUN inside the packet tests' FIB fixture, one run
// per packet, on CPU 0, so one CPU's guard sees the whole flood): a flow
// table of --table entries; --established connections to a VIP with 8
// backends, each opened (SYN) and confirmed (ACK), its backend noted from
// the encapsulated frame's outer destination; then --flood SYNs from
// distinct spoofed sources as fast as the test runs go, with a packet of one
// established connection (in turn) after every --every flood packets, as
// live connections keep sending. Then one more packet per connection: it is
// "kept" if it reaches the backend the connection had, and its entry is
// still in the table. Test runs are the fastest one CPU can feed the
// program, well above the rig generator's per-core rate.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_lb.h"
#include "kit/prog_run.h"

using namespace xlb::test;
using namespace xlb::bench;

namespace {

struct Options {
  uint32_t table = 1 << 16;
  int established = 16384;
  int flood = 1000000;
  int every = 16;
};

// The outer IPv4 destination of an encapsulated frame: the backend.
uint32_t outer_dst(const Bytes& out) {
  uint32_t a = 0;
  if (out.size() >= 34) std::memcpy(&a, &out[30], 4);
  return a;
}

// The client 5-tuple of an IPv4 TCP frame from distinct_flows, as the
// program keys its flow.
xlb_flow_key flow_key_of(const Bytes& frame) {
  xlb_flow_key k;
  std::memset(&k, 0, sizeof(k));
  std::memcpy(&k.src.v4, &frame[26], 4);
  std::memcpy(&k.dst.v4, &frame[30], 4);
  std::memcpy(&k.sport, &frame[34], 2);
  std::memcpy(&k.dport, &frame[36], 2);
  k.proto = IPPROTO_TCP;
  k.family = XLB_AF_INET;
  return k;
}

uint64_t gstat(int fd, uint32_t stat) {
  int ncpu = libbpf_num_possible_cpus();
  std::vector<xlb_counter> per(ncpu);
  if (bpf_map_lookup_elem(fd, &stat, per.data())) return 0;
  uint64_t n = 0;
  for (const auto& c : per) n += c.packets;
  return n;
}

uint64_t count_entries(int fd) {
  xlb_flow_key k{}, next{};
  uint64_t n = 0;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    n++;
    k = next;
    prev = &k;
  }
  return n;
}

struct Result {
  double flood_mpps = 0;
  int kept = 0;
  uint64_t entries = 0, stateless = 0, windows = 0;
};

Result run_case(const Options& o, int ifindex, uint8_t sched, uint8_t mode, bool guard) {
  Result res;
  Lb lb;
  if (!lb.open(o.table)) {
    std::fprintf(stderr, "flood_bench: cannot load lb\n");
    std::exit(1);
  }
  if (mode != XLB_MODE_IPIP) lb.enable_nat();
  lb.set_flood_guard(guard);
  lb.add_vip("198.18.100.1", 80, sched, 8, mode);
  int prog = lb.prog_fd();

  // Connections from 198.19/16 (the fixture routes it: nat replies work).
  std::vector<Bytes> syns = distinct_flows(o.established, "198.18.100.1", kTcpSyn, 0, "198.19");
  std::vector<Bytes> acks = distinct_flows(o.established, "198.18.100.1", kTcpAck, 0, "198.19");
  std::vector<uint32_t> backend(o.established);
  for (int i = 0; i < o.established; i++) {
    run_xdp(prog, syns[i], ifindex);
    RunResult r = run_xdp(prog, acks[i], ifindex);
    backend[i] = mode == XLB_MODE_IPIP ? outer_dst(r.out) : 0;
  }

  // The flood: distinct sources in 198.20-29/16 (distinct_flows' default).
  std::vector<Bytes> flood = distinct_flows(o.flood, "198.18.100.1", kTcpSyn, 0);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < o.flood; i++) {
    run_xdp(prog, flood[i], ifindex);
    if (i % o.every == 0) run_xdp(prog, acks[(i / o.every) % o.established], ifindex);
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.flood_mpps = o.flood / s / 1e6;

  for (int i = 0; i < o.established; i++) {
    xlb_flow_key key = flow_key_of(acks[i]);
    xlb_flow fl{};
    bool present = bpf_map_lookup_elem(lb.flows_fd(), &key, &fl) == 0;
    RunResult r = run_xdp(prog, acks[i], ifindex);
    bool same = mode == XLB_MODE_IPIP ? outer_dst(r.out) == backend[i] : r.verdict == XDP_TX;
    res.kept += present && same;
  }
  res.entries = count_entries(lb.flows_fd());
  res.stateless = gstat(lb.gstats_fd(), XLB_STAT_FLOOD_STATELESS);
  res.windows = gstat(lb.gstats_fd(), XLB_STAT_FLOOD_WINDOWS);
  return res;
}

int parse_count(const char* flag, const char* text) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (*end || v < 1 || v > 100000000) {
    std::fprintf(stderr, "flood_bench: %s takes a positive count\n", flag);
    std::exit(2);
  }
  return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool json = false;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "--json") {
      json = true;
    } else if (i + 1 < argc && arg == "--table") {
      o.table = parse_count("--table", argv[++i]);
    } else if (i + 1 < argc && arg == "--established") {
      o.established = parse_count("--established", argv[++i]);
    } else if (i + 1 < argc && arg == "--flood") {
      o.flood = parse_count("--flood", argv[++i]);
    } else if (i + 1 < argc && arg == "--every") {
      o.every = parse_count("--every", argv[++i]);
    } else {
      std::fprintf(stderr, "usage: flood_bench [--json] [--table N] [--established N] [--flood N] [--every N]\n");
      return 2;
    }
  }
  std::string why;
  if (!bpf_tests_can_run(&why)) {
    std::printf("flood_bench: skipped: needs root and BPF (%s)\n", why.c_str());
    return 0;
  }
  if (!enter_private_netns(&why)) {
    std::fprintf(stderr, "flood_bench: %s\n", why.c_str());
    return 1;
  }
  int ifindex = setup_fib_fixture(&why);
  if (ifindex <= 0) {
    std::fprintf(stderr, "flood_bench: fixture: %s\n", why.c_str());
    return 1;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  sched_setaffinity(0, sizeof one, &one);

  struct Case {
    const char* name;
    uint8_t sched, mode;
  };
  const Case cases[] = {{"maglev", XLB_SCHED_MAGLEV, XLB_MODE_IPIP},
                        {"src-hash", XLB_SCHED_SRC_HASH, XLB_MODE_IPIP},
                        {"least-conn", XLB_SCHED_LEAST_CONN, XLB_MODE_IPIP},
                        {"rr", XLB_SCHED_RR, XLB_MODE_IPIP},
                        {"wrr", XLB_SCHED_WRR, XLB_MODE_IPIP},
                        {"random", XLB_SCHED_RANDOM, XLB_MODE_IPIP},
                        {"maglev, nat", XLB_SCHED_MAGLEV, XLB_MODE_NAT},
                        {"maglev, fullnat", XLB_SCHED_MAGLEV, XLB_MODE_FULLNAT}};
  if (!json)
    std::printf("table %u entries, %d established connections, %d flood SYNs, one connection packet per %d\n",
                o.table, o.established, o.flood, o.every);
  for (const Case& c : cases)
    for (bool guard : {true, false}) {
      Result r = run_case(o, ifindex, c.sched, c.mode, guard);
      double kept_pct = 100.0 * r.kept / o.established;
      if (json)
        std::printf("{\"sched\": \"%s\", \"guard\": %s, \"flood_mpps\": %.3f, \"kept_pct\": %.2f, "
                    "\"entries\": %llu, \"flood_stateless\": %llu, \"flood_windows\": %llu}\n",
                    c.name, guard ? "true" : "false", r.flood_mpps, kept_pct, (unsigned long long)r.entries,
                    (unsigned long long)r.stateless, (unsigned long long)r.windows);
      else
        std::printf("%-16s guard %-3s  flood %.2f Mpps  kept %6.2f%%  entries %7llu  stateless %7llu  windows %llu\n",
                    c.name, guard ? "on" : "off", r.flood_mpps, kept_pct, (unsigned long long)r.entries,
                    (unsigned long long)r.stateless, (unsigned long long)r.windows);
      std::fflush(stdout);
    }
  return 0;
}
