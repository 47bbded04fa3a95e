// gtest glue for the BPF packet tests.
#pragma once
#include <gtest/gtest.h>
#include <sched.h>

#include "kit/prog_run.h"

// Skips the current test (or SetUp) with the reason when BPF is unavailable.
#define XLB_REQUIRE_BPF()                                          \
  do {                                                             \
    std::string xlb_why_;                                          \
    if (!::xlb::test::bpf_tests_can_run(&xlb_why_))                \
      GTEST_SKIP() << "BPF tests need root and BPF: " << xlb_why_; \
  } while (0)

namespace xlb::test {

// Keeps the calling thread on the CPU it runs on while it lives: per-CPU
// state (the next-hop cache, the flood guard's window) must not depend on
// where the scheduler moves the test between two runs. Tests assert ok().
class PinnedToOneCpu {
 public:
  PinnedToOneCpu() {
    ok_ = sched_getaffinity(0, sizeof(saved_), &saved_) == 0;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    ok_ = ok_ && sched_setaffinity(0, sizeof(one), &one) == 0;
  }
  ~PinnedToOneCpu() {
    if (ok_) sched_setaffinity(0, sizeof(saved_), &saved_);
  }
  bool ok() const { return ok_; }

 private:
  cpu_set_t saved_;
  bool ok_ = false;
};

}  // namespace xlb::test
