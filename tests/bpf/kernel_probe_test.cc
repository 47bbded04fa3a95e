// The kernel-feature probes of lbd (ctl/lbd/kernel_features.h) on this
// kernel, which has everything (6.x): each probe must say "present", so a
// probe that asks the wrong question fails here instead of stopping lbd.
#include <gtest/gtest.h>
#include <unistd.h>

#include "lbd/kernel_features.h"

namespace xlb::test {
namespace {

TEST(KernelProbe, EveryFeatureIsFoundOnThisKernel) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (BPF)";
  auto features = data_path_features();
  EXPECT_EQ(missing_features(features), std::vector<std::string>{}) << kernel_features_report(features);
}

}  // namespace
}  // namespace xlb::test
