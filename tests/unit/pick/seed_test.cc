#include "pick/seed.h"

#include <gtest/gtest.h>

namespace xlb::pick {
namespace {

uint32_t never() {
  ADD_FAILURE() << "generated a seed although one was given";
  return 0;
}

TEST(ChooseSeed, ConfigWins) {
  SeedChoice c = choose_seed(7u, 9u, never);
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.source, SeedSource::kConfig);
  // An explicit 0 is a seed like any other.
  EXPECT_EQ(choose_seed(0u, 9u, never).seed, 0u);
}

TEST(ChooseSeed, RunningKept) {
  SeedChoice c = choose_seed(std::nullopt, 9u, never);
  EXPECT_EQ(c.seed, 9u);
  EXPECT_EQ(c.source, SeedSource::kRunning);
  EXPECT_EQ(choose_seed(std::nullopt, 0u, never).source, SeedSource::kRunning);
}

TEST(ChooseSeed, GeneratedOnlyWithNeither) {
  SeedChoice c = choose_seed(std::nullopt, std::nullopt, [] { return 12345u; });
  EXPECT_EQ(c.seed, 12345u);
  EXPECT_EQ(c.source, SeedSource::kGenerated);
  EXPECT_NE(seed_log_line(c).find("generated"), std::string::npos);
}

// getrandom: two draws of 32 bits are equal once in 2^32.
TEST(RandomSeed, Draws) {
  uint32_t a = random_seed(), b = random_seed(), c = random_seed();
  EXPECT_FALSE(a == b && b == c);
}

}  // namespace
}  // namespace xlb::pick
