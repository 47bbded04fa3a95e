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
// live connections keep sending. Then, per connection: does it survive,
// i.e. does its next packet reach the backend it had? Either its entry is
// still there (possibly re-created by a later packet of its own, which is
// fine if it names the same backend), or the pick for an entry-less packet
// is that backend again: always for maglev and src-hash, by chance for the
// others. That pick is learnt by sending the packet and deleting the entry
// it makes, so the check itself evicts nothing. `in_table`: connections with
// an entry after the flood. Test runs are the fastest one CPU can feed the
// program through the syscall, below what XDP takes at line rate: a real
// flood evicts more with the guard off, and is cut harder with it on.
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
  uint32_t table = 1 << 19;
  int established = 32768;
  int flood = 1000000;
  int every = 16;  // the active connections' rate; idle ones send nothing
};

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

struct Result {
  double flood_mpps = 0;
  int in_table = 0, survived = 0;
  uint64_t stateless = 0, windows = 0;
};

// every: a connection packet after every `every` flood packets, or none (0).
Result run_case(const Options& o, int ifindex, uint8_t sched, uint8_t mode, bool guard, int every) {
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
    run_xdp(prog, acks[i], ifindex);
    xlb_flow_key key = flow_key_of(acks[i]);
    xlb_flow fl{};
    bpf_map_lookup_elem(lb.flows_fd(), &key, &fl);
    backend[i] = fl.backend_id;
  }

  // The flood: distinct sources in 198.18.10-19/24 (distinct_flows' default).
  std::vector<Bytes> flood = distinct_flows(o.flood, "198.18.100.1", kTcpSyn, 0);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < o.flood; i++) {
    run_xdp(prog, flood[i], ifindex);
    if (every && i % every == 0) run_xdp(prog, acks[(i / every) % o.established], ifindex);
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.flood_mpps = o.flood / s / 1e6;

  // Read every entry first: the probes below make entries of their own.
  std::vector<int> entry_backend(o.established, -1);
  for (int i = 0; i < o.established; i++) {
    xlb_flow_key key = flow_key_of(acks[i]);
    xlb_flow fl{};
    if (bpf_map_lookup_elem(lb.flows_fd(), &key, &fl) == 0) entry_backend[i] = int(fl.backend_id);
  }
  for (int i = 0; i < o.established; i++) {
    if (entry_backend[i] >= 0) {
      res.in_table++;
      res.survived += uint32_t(entry_backend[i]) == backend[i];
      continue;
    }
    xlb_flow_key key = flow_key_of(acks[i]);
    run_xdp(prog, acks[i], ifindex);
    xlb_flow fl{};
    res.survived += bpf_map_lookup_elem(lb.flows_fd(), &key, &fl) == 0 && fl.backend_id == backend[i];
    bpf_map_delete_elem(lb.flows_fd(), &key);
  }
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
  int exit_code = 0;
  int ifindex = enter_bench_fixture("flood_bench", &exit_code);
  if (!ifindex) return exit_code;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  sched_setaffinity(0, sizeof one, &one);

  // src-hash and wrr behave as maglev and rr do here; nat and fullnat
  // record every flow whatever the guard says, and fullnat's port search
  // makes its flood slow: one row each.
  struct Case {
    const char* name;
    uint8_t sched, mode;
    bool guard;
    int every;
  };
  std::vector<Case> cases;
  for (int every : {o.every, 0})
    for (auto [name, sched] : {std::pair{"maglev", XLB_SCHED_MAGLEV}, {"least-conn", XLB_SCHED_LEAST_CONN},
                               {"rr", XLB_SCHED_RR}, {"random", XLB_SCHED_RANDOM}})
      for (bool guard : {true, false}) cases.push_back({name, uint8_t(sched), XLB_MODE_IPIP, guard, every});
  cases.push_back({"maglev, nat", XLB_SCHED_MAGLEV, XLB_MODE_NAT, true, 0});
  cases.push_back({"maglev, fullnat", XLB_SCHED_MAGLEV, XLB_MODE_FULLNAT, true, 0});
  if (!json)
    std::printf("table %u entries, %d established connections, %d flood SYNs; active connections send one packet "
                "per %d flood packets, idle ones none\n",
                o.table, o.established, o.flood, o.every);
  for (const Case& c : cases) {
    Result r = run_case(o, ifindex, c.sched, c.mode, c.guard, c.every);
    double table_pct = 100.0 * r.in_table / o.established;
    double survived_pct = 100.0 * r.survived / o.established;
    const char* conns = c.every ? "active" : "idle";
    if (json)
      std::printf("{\"sched\": \"%s\", \"connections\": \"%s\", \"guard\": \"%s\", \"flood_mpps\": %.3f, "
                  "\"in_table_pct\": %.1f, \"survived_pct\": %.1f, \"flood_stateless\": %llu, "
                  "\"flood_windows\": %llu}\n",
                  c.name, conns, c.guard ? "on" : "off", r.flood_mpps, table_pct, survived_pct,
                  (unsigned long long)r.stateless, (unsigned long long)r.windows);
    else
      std::printf("%-16s %-6s guard %-3s  flood %.2f Mpps  in table %5.1f%%  survived %5.1f%%  stateless %7llu  "
                  "windows %llu\n",
                  c.name, conns, c.guard ? "on" : "off", r.flood_mpps, table_pct, survived_pct,
                  (unsigned long long)r.stateless, (unsigned long long)r.windows);
    std::fflush(stdout);
  }
  return 0;
}
