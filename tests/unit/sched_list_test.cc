// Scheduling lists: least-conn/rr lists, the smooth weighted round-robin
// sequence of wrr, and the reduction of wrr weights to fit a list.
#include <gtest/gtest.h>

#include <map>
#include <numeric>

#include "core/rules.h"
#include "core/sched_list.h"

namespace xlb {
namespace {

using sched_list::Member;

uint64_t sum(const std::vector<uint32_t>& w) { return std::accumulate(w.begin(), w.end(), uint64_t(0)); }

TEST(SchedList, LeastConnAndRrAreTheMembersInOrder) {
  std::vector<Member> m = {{7, 1}, {3, 5}, {9, 2}};
  EXPECT_EQ(sched_list::build(XLB_SCHED_LEAST_CONN, m), (std::vector<uint32_t>{7, 3, 9}));
  EXPECT_EQ(sched_list::build(XLB_SCHED_RR, m), (std::vector<uint32_t>{7, 3, 9}));
  EXPECT_TRUE(sched_list::build(XLB_SCHED_MAGLEV, m).empty());
  EXPECT_TRUE(sched_list::build(XLB_SCHED_LEAST_CONN, {}).empty());
  EXPECT_TRUE(sched_list::build(XLB_SCHED_WRR, {}).empty());
}

TEST(SchedList, SmoothWeightedRoundRobinIsNginxs) {
  // The sequence nginx documents for weights 5, 1, 1: a a b a c a a.
  EXPECT_EQ(sched_list::swrr({{1, 5}, {2, 1}, {3, 1}}), (std::vector<uint32_t>{1, 1, 2, 1, 3, 1, 1}));
  EXPECT_EQ(sched_list::swrr({{1, 1}, {2, 1}}), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(sched_list::swrr({{1, 3}, {2, 2}}), (std::vector<uint32_t>{1, 2, 1, 2, 1}));
}

TEST(SchedList, WrrDividesByTheGcd) {
  EXPECT_EQ(sched_list::wrr_weights({200, 400, 600}), (std::vector<uint32_t>{1, 2, 3}));
  std::vector<uint32_t> list = sched_list::build(XLB_SCHED_WRR, {{10, 100}, {11, 300}});
  EXPECT_EQ(list, (std::vector<uint32_t>{11, 10, 11, 11}));
}

TEST(SchedList, WrrWeightsAreScaledToFitTheList) {
  // Proportional, rounded down.
  EXPECT_EQ(sched_list::wrr_weights({60000, 30000, 1}), (std::vector<uint32_t>{1365, 682, 1}));
  // 2000 light backends keep 1 each; the heavy one gives back the overshoot.
  std::vector<uint32_t> w(2000, 1);
  w.push_back(65535);
  std::vector<uint32_t> s = sched_list::wrr_weights(w);
  EXPECT_LE(sum(s), XLB_VIP_LIST_MAX);
  for (size_t i = 0; i < 2000; i++) ASSERT_EQ(s[i], 1u);
  EXPECT_EQ(s.back(), XLB_VIP_LIST_MAX - 2000);
  // Many heavy backends: every one keeps at least 1 and the sum fits.
  std::vector<uint32_t> many(2048);
  for (size_t i = 0; i < many.size(); i++) many[i] = 1 + static_cast<uint32_t>(i * 31 % 65535);
  s = sched_list::wrr_weights(many);
  EXPECT_LE(sum(s), XLB_VIP_LIST_MAX);
  for (uint32_t x : s) ASSERT_GE(x, 1u);
  // Scaled weights keep their order.
  s = sched_list::wrr_weights({65535, 40000, 20000, 10000, 1});
  EXPECT_LE(sum(s), XLB_VIP_LIST_MAX);
  for (size_t i = 1; i < s.size(); i++) EXPECT_LE(s[i], s[i - 1]);
}

TEST(SchedList, WrrListShareFollowsTheWeights) {
  std::vector<uint32_t> list = sched_list::build(XLB_SCHED_WRR, {{1, 65535}, {2, 32768}, {3, 1}});
  ASSERT_LE(list.size(), XLB_VIP_LIST_MAX);
  std::map<uint32_t, size_t> n;
  for (uint32_t id : list) n[id]++;
  EXPECT_EQ(n[3], 1u);
  EXPECT_NEAR(double(n[1]) / n[2], 2.0, 0.01);
}

TEST(SchedList, NeverLongerThanAList) {
  std::vector<Member> m;
  for (uint32_t i = 0; i < XLB_VIP_LIST_MAX + 5; i++) m.push_back({i, 1});
  EXPECT_EQ(sched_list::build(XLB_SCHED_RR, m).size(), XLB_VIP_LIST_MAX);
  EXPECT_EQ(sched_list::build(XLB_SCHED_WRR, m).size(), XLB_VIP_LIST_MAX);
  EXPECT_NO_THROW(check_list_capacity(XLB_SCHED_LEAST_CONN, XLB_VIP_LIST_MAX));
  EXPECT_THROW(check_list_capacity(XLB_SCHED_WRR, XLB_VIP_LIST_MAX + 1), InputError);
  EXPECT_NO_THROW(check_list_capacity(XLB_SCHED_MAGLEV, 60000));
}

TEST(SchedList, SchedNames) {
  for (uint8_t s = XLB_SCHED_MAGLEV; s <= XLB_SCHED_SRC_HASH; s++) EXPECT_EQ(parse_sched(sched_name(s)), s);
  EXPECT_EQ(sched_name(XLB_SCHED_LEAST_CONN), "least-conn");
  EXPECT_EQ(sched_name(XLB_SCHED_SRC_HASH), "src-hash");
  EXPECT_TRUE(sched_uses_list(XLB_SCHED_LEAST_CONN));
  EXPECT_TRUE(sched_uses_list(XLB_SCHED_RR));
  EXPECT_TRUE(sched_uses_list(XLB_SCHED_WRR));
  EXPECT_FALSE(sched_uses_list(XLB_SCHED_MAGLEV));
  EXPECT_FALSE(sched_uses_list(XLB_SCHED_RANDOM));
  EXPECT_FALSE(sched_uses_list(XLB_SCHED_SRC_HASH));
  EXPECT_THROW(check_sched(6), InputError);
}

}  // namespace
}  // namespace xlb
