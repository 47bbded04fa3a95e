// The per-packet cost method of xlb_xdp_bench, shared with xlb_katran_bench
// so that both programs are measured exactly the same way: one
// BPF_PROG_TEST_RUN per frame, timed by the kernel's run-time statistics
// (bpf_enable_stats(BPF_STATS_RUN_TIME) must be on), against a trivial
// program that only returns XDP_TX.
#pragma once
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstdint>
#include <vector>

#include "kit/packet.h"
#include "kit/prog_run.h"

namespace xlb::bench {

// A program's accumulated run time and run count.
struct ProgStats {
  uint64_t run_time_ns = 0;
  uint64_t run_cnt = 0;
};

inline ProgStats prog_stats(int fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  bpf_obj_get_info_by_fd(fd, &info, &len);
  return {info.run_time_ns, info.run_cnt};
}

// Mean ns per run of prog over the frames (cycled), `runs` test runs of one
// frame each.
inline double run_cost_ns(int prog_fd, int ifindex, const std::vector<test::Bytes>& frames, int runs) {
  ProgStats before = prog_stats(prog_fd);
  for (int i = 0; i < runs; i++) test::run_xdp(prog_fd, frames[i % frames.size()], ifindex);
  ProgStats after = prog_stats(prog_fd);
  uint64_t n = after.run_cnt - before.run_cnt;
  return n ? double(after.run_time_ns - before.run_time_ns) / n : 0;
}

// The baseline program: XDP_TX and nothing else.
inline int load_trivial_tx() {
  bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_TX},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  return bpf_prog_load(BPF_PROG_TYPE_XDP, "bench_tx", "GPL", insns, 2, nullptr);
}

}  // namespace xlb::bench
