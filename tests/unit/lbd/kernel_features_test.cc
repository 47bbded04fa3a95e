// The kernel-feature check's logic with injected probes: which features are
// reported missing, the error that stops lbd before it loads anything, and
// the --check-kernel report. tests/bpf/kernel_probe_test.cc runs the real
// probes.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>

#include "core/error.h"
#include "lbd/kernel_features.h"

namespace xlb {
namespace {

std::vector<KernelFeature> features(bool a, bool b, bool c) {
  return {{"alpha", "4.8", [a] { return a; }},
          {"beta", "5.11", [b] { return b; }},
          {"gamma things", "5.14", [c] { return c; }}};
}

TEST(KernelFeatures, AllPresentPassesQuietly) {
  EXPECT_TRUE(missing_features(features(true, true, true)).empty());
  EXPECT_NO_THROW(require_kernel_features(features(true, true, true)));
  EXPECT_EQ(kernel_features_report(features(true, true, true)),
            "ok       alpha (Linux 4.8)\nok       beta (Linux 5.11)\nok       gamma things (Linux 5.14)\n");
}

TEST(KernelFeatures, EveryMissingFeatureIsNamedWithItsRelease) {
  EXPECT_EQ(missing_features(features(true, false, false)),
            (std::vector<std::string>{"beta (Linux 5.11)", "gamma things (Linux 5.14)"}));
  try {
    require_kernel_features(features(false, true, false));
    FAIL() << "no error for a kernel that lacks two features";
  } catch (const SystemError& e) {
    EXPECT_EQ(std::string(e.what()),
              "this kernel lacks what xlb_lb needs: alpha (Linux 4.8), gamma things (Linux 5.14); xlb needs Linux "
              "5.14 or newer (docs/operations.md, \"Kernel\")");
  }
  EXPECT_EQ(kernel_features_report(features(true, false, true)),
            "ok       alpha (Linux 4.8)\nMISSING  beta (Linux 5.11)\nok       gamma things (Linux 5.14)\n");
}

TEST(KernelFeatures, TheListNamesTheMinimumRelease) {
  // The newest feature's release is the minimum that the docs and the error
  // message state.
  auto release = [](const std::string& v) {  // "5.14" -> {5, 14}
    size_t dot = v.find('.');
    return std::make_pair(std::stoi(v.substr(0, dot)), std::stoi(v.substr(dot + 1)));
  };
  std::pair<int, int> newest{0, 0};
  for (const auto& f : data_path_features()) newest = std::max(newest, release(f.since));
  EXPECT_EQ(newest, std::make_pair(5, 14));
}

}  // namespace
}  // namespace xlb
