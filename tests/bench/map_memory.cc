// Kernel memory per flow entry: loads the lb object with private maps (no
// pins, nothing attached), sizes the flow tables, fills them, and reads the
// kernel's own accounting of each map (the `memlock` line of the map fd's
// /proc fdinfo, which this kernel computes from what the map really holds).
//
//   xlb_map_memory [entries (default 1000000)] [--json]
//
// xlb_flows and xlb_nat_rev (nat/fullnat reply entries) are preallocated
// LRUs: their memory is fixed at creation, so the figure per entry is the
// table's size divided by max_entries, full or not. xlb_nat_rev is filled
// with `entries` entries all the same, and measured empty too, to show that.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "lb.skel.h"
#include "xlb/abi.h"

namespace {

// The `memlock:` value of fd's fdinfo, in bytes; 0 if absent.
unsigned long long memlock_bytes(int fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  std::string key;
  unsigned long long value = 0;
  while (in >> key) {
    if (key == "memlock:") {
      in >> value;
      return value;
    }
    in.ignore(1 << 12, '\n');
  }
  return 0;
}

xlb_flow_key flow_key(uint32_t i) {
  xlb_flow_key k{};
  k.src.v4 = htonl(0xc6120000u + (i >> 16));  // 198.18.x.y
  k.dst.v4 = htonl(0xc6126401u);
  k.sport = htons(static_cast<uint16_t>(i));
  k.dport = htons(80);
  k.proto = IPPROTO_TCP;
  k.family = XLB_AF_INET;
  return k;
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t entries = 1000000;
  bool json = false;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--json") == 0)
      json = true;
    else
      entries = static_cast<uint32_t>(std::strtoul(argv[i], nullptr, 0));
  }
  if (geteuid() != 0) {
    std::printf("map_memory: SKIPPED: needs root to create BPF maps\n");
    return 0;
  }
  lb_bpf* skel = lb_bpf__open();
  if (!skel) {
    std::fprintf(stderr, "map_memory: cannot open the lb object: %s\n", std::strerror(errno));
    return 1;
  }
  bpf_map* map;
  bpf_object__for_each_map(map, skel->obj) bpf_map__set_pin_path(map, nullptr);
  bpf_map__set_max_entries(skel->maps.xlb_flows, entries);
  bpf_map__set_max_entries(skel->maps.xlb_nat_rev, entries);
  if (int err = lb_bpf__load(skel)) {
    std::fprintf(stderr, "map_memory: cannot load the lb object: %s\n", std::strerror(-err));
    lb_bpf__destroy(skel);
    return 1;
  }
  int flows_fd = bpf_map__fd(skel->maps.xlb_flows);
  int rev_fd = bpf_map__fd(skel->maps.xlb_nat_rev);

  unsigned long long flows_bytes = memlock_bytes(flows_fd);
  unsigned long long rev_empty = memlock_bytes(rev_fd);
  int rc = 0;
  xlb_nat_rev value{};
  for (uint32_t i = 0; i < entries; i++) {
    xlb_flow_key k = flow_key(i);
    value.fwd = k;
    if (bpf_map_update_elem(rev_fd, &k, &value, BPF_NOEXIST)) {
      std::fprintf(stderr, "map_memory: xlb_nat_rev insert %u failed: %s\n", i, std::strerror(errno));
      rc = 1;
      break;
    }
  }
  unsigned long long rev_full = memlock_bytes(rev_fd);
  double per_flow = static_cast<double>(flows_bytes) / entries;
  double per_rev = static_cast<double>(rev_full) / entries;
  if (json) {
    std::printf("{\"name\":\"xlb_flows (per entry, preallocated)\",\"entries\":%u,\"bytes\":%llu,"
                "\"bytes_per_entry\":%.1f}\n",
                entries, flows_bytes, per_flow);
    std::printf("{\"name\":\"xlb_nat_rev (per entry, preallocated)\",\"entries\":%u,\"bytes\":%llu,"
                "\"bytes_per_entry\":%.1f}\n",
                entries, rev_full, per_rev);
  } else {
    std::printf("xlb_flows:   %u entries preallocated: %llu bytes, %.1f bytes per entry\n", entries, flows_bytes,
                per_flow);
    std::printf("xlb_nat_rev: %llu bytes empty, %llu with %u entries: %.1f bytes per entry, preallocated\n", rev_empty,
                rev_full, entries, per_rev);
    std::printf("the two tables together: %.1f bytes\n", per_flow + per_rev);
  }
  lb_bpf__destroy(skel);
  return rc;
}
