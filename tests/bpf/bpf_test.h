// gtest glue for the BPF packet tests.
#pragma once
#include <gtest/gtest.h>

#include "kit/prog_run.h"

// Skips the current test (or SetUp) with the reason when BPF is unavailable.
#define XLB_REQUIRE_BPF()                                          \
  do {                                                             \
    std::string xlb_why_;                                          \
    if (!::xlb::test::bpf_tests_can_run(&xlb_why_))                \
      GTEST_SKIP() << "BPF tests need root and BPF: " << xlb_why_; \
  } while (0)
