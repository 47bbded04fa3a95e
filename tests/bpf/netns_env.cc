// Moves the BPF test binary into a private network namespace before the first
// test, so no test touches the host's interfaces, routes or sysctls.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "kit/prog_run.h"

namespace xlb::test {
namespace {

// Runs every test inside a private network namespace (see prog_run.h).
class PrivateNetnsEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (geteuid() != 0) return;  // the BPF tests skip anyway
    std::string why;
    if (!enter_private_netns(&why))
      std::fprintf(stderr, "warning: tests run in the host netns: %s\n", why.c_str());
  }
};

[[maybe_unused]] ::testing::Environment* const kPrivateNetnsEnv =
    ::testing::AddGlobalTestEnvironment(new PrivateNetnsEnvironment);

}  // namespace
}  // namespace xlb::test
