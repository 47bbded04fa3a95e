// Times full reaper sweeps over a million-entry flow table: the real maps
// (the lb skeleton loaded with pinning off, nothing attached) through the
// real BpfMapIo and xlb_conn_adjust program, as lbd's reaper thread runs it.
// Half of the entries are expired, spread over 64 backend identities whose
// counts match the entries, so the first sweep deletes half and returns
// their units, and the next ones only scan. Prints the figures and checks
// the counts left match the entries left; needs root (skips otherwise).
//
//   xlb_reaper_bench [flows (default 1000000)] [table size (default 2^21)] [--json]
//
// --json prints one JSON line per sweep (for scripts/bench.sh) instead of text.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <vector>

#include "core/conn_key.h"
#include "core/reaper.h"
#include "lb.skel.h"
#include "lbd/bpf_map_io.h"

namespace {

using namespace xlb;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kBackends = 64;
constexpr uint64_t kS = 1000000000ull;

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

xlb_backend_key backend_identity(uint32_t i) {
  Endpoint vip = Endpoint::parse("198.18.100.1:80");
  xlb_addr a{};
  a.v4 = htonl(0xc6130000u + i);  // 198.19.0.i
  return make_backend_key(make_vip_key(vip, IPPROTO_TCP), IpAddr::from_abi(XLB_AF_INET, a), 0);
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t flows = 1000000;
  uint32_t table = 1u << 21;
  bool json = false;
  int positional = 0;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
      continue;
    }
    char* end = nullptr;
    unsigned long v = std::strtoul(argv[i], &end, 0);
    if (!*argv[i] || *end || v == 0 || positional > 1) {
      std::fprintf(stderr, "usage: xlb_reaper_bench [flows] [table size] [--json]\n");
      return 2;
    }
    (positional++ == 0 ? flows : table) = static_cast<uint32_t>(v);
  }
  if (geteuid() != 0) {
    std::printf("reaper_bench: SKIPPED: needs root to create BPF maps\n");
    return 0;
  }
  lb_bpf* skel = lb_bpf__open();
  if (!skel) {
    std::printf("reaper_bench: SKIPPED: cannot open the lb object: %s\n", std::strerror(errno));
    return 0;
  }
  bpf_map* map;
  bpf_object__for_each_map(map, skel->obj) bpf_map__set_pin_path(map, nullptr);  // private maps
  bpf_map__set_max_entries(skel->maps.xlb_flows, table);
  bpf_map__set_max_entries(skel->maps.xlb_nat_rev, table);  // a preallocated LRU: sized as lbd does
  if (int err = lb_bpf__load(skel)) {
    std::printf("reaper_bench: SKIPPED: cannot load the lb object: %s\n", std::strerror(-err));
    lb_bpf__destroy(skel);
    return 0;
  }

  int rc = 0;
  {
    BpfMapIo io([&](const char* name) {
      int fd = std::strcmp(name, XLB_CONN_ADJUST_PROG_NAME) == 0
                   ? bpf_program__fd(skel->progs.xlb_conn_adjust)
                   : bpf_map__fd(bpf_object__find_map_by_name(skel->obj, name));
      return Fd(dup(fd));
    });

    // Backends and their counts, as the data plane would have them.
    IdentityTable identities;
    for (uint32_t i = 0; i < kBackends; i++) {
      identities[i] = backend_identity(i);
      io.ensure_conn_entry(identities[i]);
    }
    uint64_t now = monotonic_coarse_ns();
    std::vector<xlb_flow_key> keys(flows);
    std::vector<xlb_flow> values(flows);
    std::vector<int64_t> counted(kBackends, 0);
    for (uint32_t i = 0; i < flows; i++) {
      xlb_flow_key& k = keys[i];
      std::memset(&k, 0, sizeof k);
      k.src.v4 = htonl(0x0a000000u + i / 60000);  // 10.x.y.z clients
      k.sport = htons(static_cast<uint16_t>(1024 + i % 60000));
      k.dst.v4 = htonl(0xc6126401u);  // 198.18.100.1
      k.dport = htons(80);
      k.proto = IPPROTO_TCP;
      k.family = XLB_AF_INET;
      xlb_flow& f = values[i];
      std::memset(&f, 0, sizeof f);
      f.backend_id = i % kBackends;
      f.state = XLB_FLOW_TCP_ESTABLISHED;
      f.flags = XLB_FLOW_F_COUNTED;
      f.last_seen_ns = i % 2 ? now - 2000 * kS : now;  // idle 2000 s > 900 s: expired
      counted[f.backend_id]++;
    }
    auto t0 = Clock::now();
    for (uint32_t pos = 0; pos < flows;) {
      uint32_t n = std::min<uint32_t>(flows - pos, 65536);
      LIBBPF_OPTS(bpf_map_batch_opts, opts);
      if (int err = bpf_map_update_batch(bpf_map__fd(skel->maps.xlb_flows), &keys[pos], &values[pos], &n, &opts)) {
        std::printf("reaper_bench: batch update failed: %s\n", std::strerror(-err));
        return 1;
      }
      pos += n;
    }
    double fill = secs(Clock::now() - t0);
    for (uint32_t i = 0; i < kBackends; i++) io.adjust_conns(identities[i], counted[i], 0);
    keys.clear();
    keys.shrink_to_fit();
    values.clear();
    values.shrink_to_fit();

    if (!json)
      std::printf("reaper_bench: %u flows in a table of %u (filled in %.2f s), %u backends, %d CPUs\n", flows,
                  table, fill, kBackends, libbpf_num_possible_cpus());
    Reaper reaper(io);
    for (int round = 1; round <= 3; round++) {
      auto s0 = Clock::now();
      SweepResult r = reaper.sweep(identities);
      double d = secs(Clock::now() - s0);
      if (json)
        std::printf("{\"name\":\"sweep %d\",\"flows\":%u,\"seconds\":%.3f,\"scanned\":%lu,"
                    "\"scanned_m_per_s\":%.2f,\"expired\":%lu,\"expired_m_per_s\":%.2f}\n",
                    round, flows, d, (unsigned long)r.stats.scanned, r.stats.scanned / d / 1e6,
                    (unsigned long)r.stats.expired, r.stats.expired / d / 1e6);
      else
        std::printf("  sweep %d: %.3f s, scanned %lu (%.2f M entries/s), expired %lu (%.2f M/s), returned units "
                    "to %lu identities, reconciled %lu\n",
                    round, d, (unsigned long)r.stats.scanned, r.stats.scanned / d / 1e6,
                    (unsigned long)r.stats.expired, r.stats.expired / d / 1e6, (unsigned long)r.stats.returned,
                    (unsigned long)r.stats.reconciled);
      if (round == 1 && (r.stats.scanned != flows || r.stats.expired != flows / 2)) {
        std::printf("reaper_bench: FAILED: expected %u scanned and %u expired (LRU evictions?)\n", flows,
                    flows / 2);
        rc = 1;
      }
    }
    {
      // The floor: the kernel's batch lookups with no work per entry.
      auto s0 = Clock::now();
      uint64_t n = 0;
      io.for_each_flow([&](const xlb_flow_key&, const xlb_flow&) { return ++n > 0; });
      double d = secs(Clock::now() - s0);
      if (json)
        std::printf("{\"name\":\"batch lookups alone\",\"flows\":%lu,\"seconds\":%.3f,\"scanned\":%lu,"
                    "\"scanned_m_per_s\":%.2f,\"expired\":0,\"expired_m_per_s\":0}\n",
                    (unsigned long)n, d, (unsigned long)n, n / d / 1e6);
      else
        std::printf("  batch lookups alone: %.3f s for %lu entries (%.2f M entries/s)\n", d, (unsigned long)n,
                    n / d / 1e6);
    }
    // The counts now hold exactly the remaining entries' units.
    int64_t total = 0;
    for (const auto& [k, c] : io.read_conns()) total += c.active;
    if (!json || total != int64_t(flows - flows / 2))
      std::fprintf(json ? stderr : stdout, "  counts after: %ld active units for %u remaining flows%s\n", (long)total,
                   flows - flows / 2, total == int64_t(flows - flows / 2) ? "" : "  MISMATCH");
    if (total != int64_t(flows - flows / 2)) rc = 1;
  }
  lb_bpf__destroy(skel);
  return rc;
}
