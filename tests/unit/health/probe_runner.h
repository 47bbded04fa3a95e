// Runs a Prober until it has n results (or a generous safety bound passes,
// which fails the test: it is a hang guard, not a timing assertion).
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "health/prober.h"

namespace xlb::health::test {

inline std::vector<ProbeResult> run_until(Prober& prober, size_t n) {
  std::vector<ProbeResult> out;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (out.size() < n && std::chrono::steady_clock::now() < give_up)
    prober.wait_and_process(out, 100);
  EXPECT_EQ(out.size(), n) << "probes did not finish";
  return out;
}

inline ProbeResult run_one(const Probe& p) {
  Prober prober;
  prober.submit(p);
  auto out = run_until(prober, 1);
  EXPECT_EQ(prober.in_flight(), 0u);
  return out.empty() ? ProbeResult{} : out[0];
}

}  // namespace xlb::health::test
