// Per-packet cost of Katran's XDP balancer on the paths of xlb_xdp_bench,
// measured the same way, so that scripts/bench_katran.sh can run the two in
// interleaved rounds and compare them. Katran is not part of this repo: the
// program takes the path of a balancer object built from a Katran checkout
// (scripts/bench_katran.sh builds one); nothing in the tests needs it.
//
// Method, identical to xdp_bench.cc: BPF_PROG_TEST_RUN, one frame per run
// (repeat=1: an encapsulating program must never see its own output), the
// kernel's run-time statistics (bpf_enable_stats(BPF_STATS_RUN_TIME),
// run_time_ns / run_cnt) over --runs runs, a trivial XDP_TX program measured
// in the same process and subtracted ("net"), inside the same private netns
// with the packet tests' fixture, on frames built by the same helpers
// (bench_lb.h syn_frame / distinct_flows): both programs see identical bytes.
//
// Katran's maps are filled the way its control plane (katran/lib/KatranLb.cpp)
// fills them: a per-CPU LRU in lru_mapping for every CPU, vip_map with one
// VIP per family (flags 0, 3 reals each), reals, a Maglev ring per VIP in
// ch_rings, the gateway MAC in ctl_array[0].
//
// Before timing it checks that each path is the one named (not-a-VIP gets
// XDP_PASS; the first established packet of each family and a SYN leave
// with XDP_TX, IP-in-IP / 6in6 to one of the VIP's reals, to the gateway MAC,
// the inner packet intact); after timing, that no established run missed
// the LRU, that every SYN was an LRU miss and was recorded (not bypassed by
// Katran's new-connection rate limit), and that the fallback LRU was never
// used. A failed check is exit 1 with the reason on stderr.
//
//   xlb_katran_bench KATRAN_OBJ [--runs N] [--json]
//   xlb_katran_bench OBJ --info [--json]   # the first program's size after
//                                          # verification (any XDP object)
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_lb.h"
#include "kit/packet.h"
#include "kit/prog_run.h"
#include "prog_cost.h"

using namespace xlb::test;
using namespace xlb::bench;

namespace {

// ---- Katran's map layouts ------------------------------------------------------
// These mirror katran/lib/bpf/balancer_structs.h and balancer_consts.h (the
// default build, no optional -D): the keys and values this harness writes
// or reads. The static_asserts catch a layout slip on our side, not a change
// in Katran's: a checkout whose layouts differ fails the path checks.
constexpr uint32_t kRingSize = 65537;    // RING_SIZE
constexpr uint32_t kMaxVips = 512;       // MAX_VIPS
constexpr uint32_t kLruCntrs = 0;        // stats[MAX_VIPS + LRU_CNTRS]: v1 total, v2 non-SYN misses
constexpr uint32_t kLruMissCntr = 1;     // LRU_MISS_CNTR: v1 TCP SYN misses
constexpr uint32_t kFallbackLruCntr = 3; // FALLBACK_LRU_CNTR: v1 packets through the fallback LRU
constexpr uint8_t kFIpv6 = 1;            // F_IPV6 (real_definition.flags)

struct flow_key {
  union {
    uint32_t src;
    uint32_t srcv6[4];
  };
  union {
    uint32_t dst;
    uint32_t dstv6[4];
  };
  union {
    uint32_t ports;
    uint16_t port16[2];
  };
  uint8_t proto;
};
struct real_pos_lru {
  uint32_t pos;
  uint64_t atime;
};
struct vip_definition {
  union {
    uint32_t vip;
    uint32_t vipv6[4];
  };
  uint16_t port;
  uint8_t proto;
};
struct vip_meta {
  uint32_t flags;
  uint32_t vip_num;
};
struct real_definition {
  union {
    uint32_t dst;
    uint32_t dstv6[4];
  };
  uint8_t flags;
};
struct ctl_value {
  union {
    uint64_t value;
    uint32_t ifindex;
    uint8_t mac[6];
  };
};
struct lb_stats {
  uint64_t v1;
  uint64_t v2;
};
static_assert(sizeof(flow_key) == 40);
static_assert(sizeof(real_pos_lru) == 16);
static_assert(sizeof(vip_definition) == 20);
static_assert(sizeof(vip_meta) == 8);
static_assert(sizeof(real_definition) == 20);
static_assert(sizeof(ctl_value) == 8);

// KatranConfig's default LruSize (8M), split over the CPUs as KatranLb does.
constexpr uint64_t kLruSize = 8000000;

const std::vector<std::string> kReals4 = {"198.18.0.2", "198.18.0.3", "198.18.0.4"};
const std::vector<std::string> kReals6 = {"fd00:18::2", "fd00:18::3", "fd00:18::4"};

int g_runs = 20000;
bool g_json = false;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "katran_bench: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

// A check failed: says why, for a `return fail(...)` in a check (false) or
// main (exit 1 after it).
bool fail(const std::string& why) {
  std::fprintf(stderr, "katran_bench: FAIL: %s\n", why.c_str());
  return false;
}

// Mean ns per run over the frames (cycled), --runs test runs of one frame
// each: xdp_bench's method (prog_cost.h).
double cost_ns(int prog_fd, int ifindex, const std::vector<Bytes>& frames) {
  return run_cost_ns(prog_fd, ifindex, frames, g_runs);
}

// xdp_bench's output: `name gross net`, or a JSON line with --json.
void report(const std::string& name, double gross, double baseline) {
  if (g_json)
    std::printf("{\"name\": \"%s\", \"gross_ns\": %.1f, \"net_ns\": %.1f}\n", name.c_str(), gross, gross - baseline);
  else
    std::printf("%-44s %8.1f ns %8.1f ns\n", name.c_str(), gross, gross - baseline);
  std::fflush(stdout);
}

// Sum over the CPUs of stats[MAX_VIPS + index] (a per-CPU array of lb_stats).
lb_stats global_stat(int stats_fd, uint32_t index) {
  std::vector<lb_stats> per_cpu(libbpf_num_possible_cpus());
  uint32_t key = kMaxVips + index;
  lb_stats sum{};
  if (bpf_map_lookup_elem(stats_fd, &key, per_cpu.data()) == 0)
    for (const lb_stats& s : per_cpu) sum.v1 += s.v1, sum.v2 += s.v2;
  return sum;
}

// A Maglev ring over the real ids (offset/skip permutations, every weight 1).
// Not Katran's hash (MaglevHashV2): which slot holds which real does not
// change what a lookup costs, only that every slot holds one.
uint64_t mix64(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::vector<uint32_t> maglev_ring(const std::vector<uint32_t>& real_ids) {
  std::vector<int64_t> ring(kRingSize, -1);
  size_t n = real_ids.size();
  std::vector<uint64_t> offset(n), skip(n), next(n, 0);
  for (size_t i = 0; i < n; i++) {
    offset[i] = mix64(real_ids[i]) % kRingSize;
    skip[i] = mix64(real_ids[i] ^ 0xabcdefull) % (kRingSize - 1) + 1;
  }
  for (uint32_t filled = 0; filled < kRingSize;) {
    for (size_t i = 0; i < n && filled < kRingSize; i++) {
      uint64_t slot;
      do slot = (offset[i] + next[i]++ * skip[i]) % kRingSize;
      while (ring[slot] >= 0);
      ring[slot] = real_ids[i];
      filled++;
    }
  }
  return std::vector<uint32_t>(ring.begin(), ring.end());
}

// ---- the loaded object and the part of Katran's control plane these paths need ----
class Katran {
 public:
  ~Katran() {
    if (obj_) bpf_object__close(obj_);
  }
  // Opens and loads the object with pinning off (so it touches no bpffs
  // path and any XDP object loads); prog() is its first program.
  void load(const char* path) {
    obj_ = bpf_object__open_file(path, nullptr);
    if (!obj_) die(std::string("open ") + path);
    bpf_map* map;
    bpf_object__for_each_map(map, obj_) bpf_map__set_pin_path(map, nullptr);
    if (bpf_object__load(obj_)) die(std::string("load ") + path);
    bpf_program* p = bpf_object__next_program(obj_, nullptr);
    if (!p) die("no program in the object");
    prog_ = bpf_program__fd(p);
  }
  int prog() const { return prog_; }
  int fd(const char* map) const {
    int f = bpf_object__find_map_fd_by_name(obj_, map);
    if (f < 0) {
      std::fprintf(stderr, "katran_bench: the object has no map %s: not Katran's balancer?\n", map);
      std::exit(1);
    }
    return f;
  }

  // KatranLb::initLrus/attachLrus with every CPU a forwarding core, the
  // gateway MAC, and the two VIPs.
  void fill() {
    int ncpu = libbpf_num_possible_cpus();
    for (int cpu = 0; cpu < ncpu; cpu++) {
      std::string name = "katran_lru" + std::to_string(cpu);
      int lru = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, name.c_str(), sizeof(flow_key), sizeof(real_pos_lru),
                               kLruSize / ncpu, nullptr);
      if (lru < 0) die("create an LRU");
      uint32_t key = cpu;
      if (bpf_map_update_elem(fd("lru_mapping"), &key, &lru, BPF_ANY)) die("lru_mapping");
      close(lru);  // lru_mapping holds it
    }
    ctl_value mac{};
    Mac gw = fixture_neigh_mac(2);
    std::memcpy(mac.mac, gw.data(), 6);
    uint32_t zero = 0;
    if (bpf_map_update_elem(fd("ctl_array"), &zero, &mac, BPF_ANY)) die("ctl_array");
    add_vip("198.18.100.1", 80, 0, kReals4);
    add_vip("fd00:100::1", 80, 1, kReals6);
  }

  // How many of the IPv4 TCP frames' flows are in some CPU's LRU.
  size_t in_lru(const std::vector<Bytes>& frames) const {
    std::vector<int> lrus;
    for (int cpu = 0; cpu < libbpf_num_possible_cpus(); cpu++) {
      uint32_t c = cpu, inner_id;
      if (bpf_map_lookup_elem(fd("lru_mapping"), &c, &inner_id) == 0) {
        int inner = bpf_map_get_fd_by_id(inner_id);
        if (inner >= 0) lrus.push_back(inner);
      }
    }
    size_t found = 0;
    for (const Bytes& f : frames) {
      flow_key key;
      std::memset(&key, 0, sizeof(key));
      std::memcpy(&key.src, &f[14 + 12], 4);
      std::memcpy(&key.dst, &f[14 + 16], 4);
      std::memcpy(&key.ports, &f[14 + 20], 4);
      key.proto = IPPROTO_TCP;
      real_pos_lru val;
      for (int lru : lrus)
        if (bpf_map_lookup_elem(lru, &key, &val) == 0) {
          found++;
          break;
        }
    }
    for (int lru : lrus) close(lru);
    return found;
  }

 private:
  void add_vip(const std::string& vip, uint16_t port, uint32_t vip_num, const std::vector<std::string>& reals) {
    vip_definition key;
    std::memset(&key, 0, sizeof(key));  // the padding is part of the hash key
    if (is_v6(vip))
      inet_pton(AF_INET6, vip.c_str(), key.vipv6);
    else
      inet_pton(AF_INET, vip.c_str(), &key.vip);
    key.port = htons(port);
    key.proto = IPPROTO_TCP;
    vip_meta meta{0, vip_num};
    std::vector<uint32_t> ids;
    for (const std::string& r : reals) {
      real_definition rd;
      std::memset(&rd, 0, sizeof(rd));
      if (is_v6(r)) {
        inet_pton(AF_INET6, r.c_str(), rd.dstv6);
        rd.flags = kFIpv6;
      } else {
        inet_pton(AF_INET, r.c_str(), &rd.dst);
      }
      uint32_t id = next_real_++;
      if (bpf_map_update_elem(fd("reals"), &id, &rd, BPF_ANY)) die("reals");
      ids.push_back(id);
    }
    std::vector<uint32_t> ring = maglev_ring(ids);
    std::vector<uint32_t> keys(kRingSize);
    for (uint32_t i = 0; i < kRingSize; i++) keys[i] = vip_num * kRingSize + i;
    uint32_t count = kRingSize;
    if (bpf_map_update_batch(fd("ch_rings"), keys.data(), ring.data(), &count, nullptr)) die("ch_rings");
    if (bpf_map_update_elem(fd("vip_map"), &key, &meta, BPF_ANY)) die("vip_map");
  }

  bpf_object* obj_ = nullptr;
  int prog_ = -1;
  uint32_t next_real_ = 1;  // Katran's real ids start at 1
};

// One frame of a forwarded path must leave with XDP_TX, encapsulated to one of
// the VIP's reals, to the gateway's MAC, the inner packet intact: otherwise
// the figure would be an error path's.
bool check_encap(int prog, int ifindex, const Bytes& frame, const std::string& what) {
  RunResult r = run_xdp(prog, frame, ifindex);
  if (r.verdict != XDP_TX) return fail(what + ": " + xdp_verdict_name(r.verdict) + ", not XDP_TX");
  const Bytes& o = r.out;
  bool v6 = frame[12] == 0x86;
  size_t outer = v6 ? 40 : 20;
  if (o.size() != frame.size() + outer) return fail(what + ": " + std::to_string(o.size()) + " bytes out, not " +
                                                    std::to_string(frame.size() + outer));
  Mac gw = fixture_neigh_mac(2);
  if (std::memcmp(o.data(), gw.data(), 6) != 0) return fail(what + ": the destination MAC is not the gateway's");
  bool encap = v6 ? o[12] == 0x86 && o[13] == 0xdd && o[14 + 6] == IPPROTO_IPV6
                  : o[12] == 0x08 && o[13] == 0x00 && o[14 + 9] == IPPROTO_IPIP;
  if (!encap) return fail(what + (v6 ? ": not 6in6" : ": not IP-in-IP"));
  char dst[INET6_ADDRSTRLEN];
  inet_ntop(v6 ? AF_INET6 : AF_INET, &o[14 + (v6 ? 24 : 16)], dst, sizeof dst);
  bool to_real = false;
  for (const std::string& real : v6 ? kReals6 : kReals4) to_real |= real == dst;
  if (!to_real) return fail(what + ": encapsulated to " + dst + ", not one of the VIP's reals");
  if (std::memcmp(&o[14 + outer], &frame[14], frame.size() - 14) != 0)
    return fail(what + ": the inner packet was changed");
  if (!g_json) std::printf("check: %s: XDP_TX, %s to %s: ok\n", what.c_str(), v6 ? "6in6" : "ipip", dst);
  return true;
}

// --info: the size of the object's first program after verification.
int print_info(const char* path) {
  Katran k;
  k.load(path);
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(k.prog(), &info, &len)) die("prog info");
  uint32_t insns = info.xlated_prog_len / sizeof(bpf_insn);
  if (g_json)
    std::printf("{\"insns\": %u, \"jited_bytes\": %u}\n", insns, info.jited_prog_len);
  else
    std::printf("%s: %u instructions, %u bytes jited, %u instructions verified\n", path, insns,
                info.jited_prog_len, info.verified_insns);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* obj = nullptr;
  bool info = false;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "--json") {
      g_json = true;
    } else if (arg == "--info") {
      info = true;
    } else if (arg == "--runs" && i + 1 < argc) {
      char* end = nullptr;
      long v = std::strtol(argv[++i], &end, 10);
      if (*end || v < 1) {
        std::fprintf(stderr, "katran_bench: --runs takes a positive count\n");
        return 2;
      }
      g_runs = static_cast<int>(v);
    } else if (arg[0] != '-' && !obj) {
      obj = argv[i];
    } else {
      obj = nullptr;
      break;
    }
  }
  if (!obj) {
    std::fprintf(stderr, "usage: xlb_katran_bench KATRAN_OBJ [--runs N] [--json] | OBJ --info [--json]\n");
    return 2;
  }
  if (info) return print_info(obj);

  int exit_code = 0;
  int ifindex = enter_bench_fixture("katran_bench", &exit_code);
  if (!ifindex) return exit_code;
  int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (stats_fd < 0) die("bpf_enable_stats");
  int trivial = load_trivial_tx();
  if (trivial < 0) die("load the trivial program");
  double baseline = cost_ns(trivial, ifindex, {syn_frame("198.18.1.1", 40000, "198.18.100.1")});

  Katran k;
  k.load(obj);
  k.fill();
  int stats = k.fd("stats");

  const Bytes pass = syn_frame("198.18.1.1", 40000, "198.18.0.1");
  const Bytes est4 = syn_frame("198.18.1.1", 40000, "198.18.100.1", kTcpAck);
  const Bytes est6 = syn_frame("fd00:1::1", 40000, "fd00:100::1", kTcpAck);
  const std::vector<Bytes> syns = distinct_flows(g_runs, "198.18.100.1");

  // Checks first. The first established packet of each family also puts its
  // flow in this CPU's LRU, so the timed ones hit it.
  RunResult r = run_xdp(k.prog(), pass, ifindex);
  if (r.verdict != XDP_PASS) {
    fail("not a VIP: " + xdp_verdict_name(r.verdict) + ", not XDP_PASS");
    return 1;
  }
  if (!check_encap(k.prog(), ifindex, est4, "established IPv4 (first packet)") ||
      !check_encap(k.prog(), ifindex, est6, "established IPv6 (first packet)") ||
      !check_encap(k.prog(), ifindex, distinct_flows(1, "198.18.100.1", kTcpSyn, g_runs)[0],  // not a timed one
                   "new TCP flow (a SYN)"))
    return 1;
  if (global_stat(stats, kFallbackLruCntr).v1 != 0) {
    fail("the fallback LRU was used: no LRU for this CPU");
    return 1;
  }

  // Each figure is printed only once the checks of its runs passed.
  double pass_ns = cost_ns(k.prog(), ifindex, {pass});
  lb_stats before = global_stat(stats, kLruCntrs);
  double est4_ns = cost_ns(k.prog(), ifindex, {est4});
  double est6_ns = cost_ns(k.prog(), ifindex, {est6});
  lb_stats after = global_stat(stats, kLruCntrs);
  if (after.v2 != before.v2) {
    fail("the established runs missed the LRU " + std::to_string(after.v2 - before.v2) + " times");
    return 1;
  }
  before = global_stat(stats, kLruMissCntr);
  double syn_ns = cost_ns(k.prog(), ifindex, syns);
  after = global_stat(stats, kLruMissCntr);
  if (after.v1 - before.v1 != uint64_t(g_runs)) {
    fail(std::to_string(g_runs) + " SYNs but " + std::to_string(after.v1 - before.v1) + " SYN misses");
    return 1;
  }
  // A SYN under Katran's new-connection rate limit is forwarded without an
  // LRU entry, a cheaper path: every one must have been recorded.
  size_t recorded = k.in_lru(syns);
  if (recorded != syns.size()) {
    fail(std::to_string(syns.size() - recorded) + " of the " + std::to_string(syns.size()) +
         " SYNs' flows are in no LRU (Katran's new-connection limit? build it with MAX_CONN_RATE raised)");
    return 1;
  }
  if (global_stat(stats, kFallbackLruCntr).v1 != 0) {
    fail("the fallback LRU was used");
    return 1;
  }

  if (!g_json) std::printf("%-44s %11s %11s\n", "path", "gross", "net");
  report("baseline (trivial XDP_TX)", baseline, baseline);
  report("pass: not a VIP", pass_ns, baseline);
  report("ipip: established flow, IPv4", est4_ns, baseline);
  report("ipip: established flow, IPv6", est6_ns, baseline);
  report("ipip: new TCP flow, maglev", syn_ns, baseline);
  close(trivial);
  close(stats_fd);
  return 0;
}
