// Per-CPU counter arrays (struct xlb_counter per CPU and index), as the
// decap and health-check hook programs keep their statistics: zeroed before
// a case, summed over CPUs after it.
#pragma once
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <vector>

#include "xlb/abi.h"

namespace xlb::test {

// Zeroes indexes [0, n) of the per-CPU array fd; false if a write failed.
inline bool zero_percpu_counters(int fd, __u32 n) {
  std::vector<xlb_counter> zero(static_cast<size_t>(libbpf_num_possible_cpus()));
  for (__u32 s = 0; s < n; s++)
    if (bpf_map_update_elem(fd, &s, zero.data(), BPF_ANY) != 0) return false;
  return true;
}

// Index s summed over every CPU (zero if it can't be read).
inline xlb_counter sum_percpu_counter(int fd, __u32 s) {
  std::vector<xlb_counter> v(static_cast<size_t>(libbpf_num_possible_cpus()));
  xlb_counter sum{};
  if (bpf_map_lookup_elem(fd, &s, v.data()) != 0) return sum;
  for (const auto& c : v) {
    sum.packets += c.packets;
    sum.bytes += c.bytes;
  }
  return sum;
}

}  // namespace xlb::test
