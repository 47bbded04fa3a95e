#include "sched_list.h"

#include <algorithm>
#include <numeric>

namespace xlb::sched_list {

namespace {

uint64_t sum_of(const std::vector<uint32_t>& w) { return std::accumulate(w.begin(), w.end(), uint64_t(0)); }

void divide_by_gcd(std::vector<uint32_t>& w) {
  uint32_t g = 0;
  for (uint32_t x : w) g = std::gcd(g, x);
  if (g > 1)
    for (uint32_t& x : w) x /= g;
}

}  // namespace

std::vector<uint32_t> wrr_weights(std::vector<uint32_t> w) {
  for (uint32_t& x : w) x = std::max(x, 1u);
  divide_by_gcd(w);
  uint64_t sum = sum_of(w);
  if (sum <= XLB_VIP_LIST_MAX) return w;
  for (uint32_t& x : w) x = static_cast<uint32_t>(std::max<uint64_t>(1, uint64_t(x) * XLB_VIP_LIST_MAX / sum));
  // Rounding a weight below 1 up to 1 can overshoot by at most one per
  // backend; the largest weights give it back, one unit at a time.
  for (sum = sum_of(w); sum > XLB_VIP_LIST_MAX && !w.empty(); sum--) {
    auto largest = std::max_element(w.begin(), w.end());
    if (*largest <= 1) break;  // more backends than entries: cannot happen, see build()
    (*largest)--;
  }
  divide_by_gcd(w);
  return w;
}

std::vector<uint32_t> swrr(const std::vector<Member>& members) {
  std::vector<int64_t> score(members.size(), 0);
  int64_t total = 0;
  for (const auto& m : members) total += m.weight;
  std::vector<uint32_t> seq;
  seq.reserve(static_cast<size_t>(total));
  for (int64_t step = 0; step < total; step++) {
    size_t best = 0;
    for (size_t i = 0; i < members.size(); i++) {
      score[i] += members[i].weight;
      if (score[i] > score[best]) best = i;
    }
    score[best] -= total;
    seq.push_back(members[best].id);
  }
  return seq;
}

std::vector<uint32_t> build(uint8_t sched, const std::vector<Member>& all) {
  std::vector<Member> members(all.begin(), all.begin() + std::min<size_t>(all.size(), XLB_VIP_LIST_MAX));
  std::vector<uint32_t> out;
  if (sched == XLB_SCHED_LEAST_CONN || sched == XLB_SCHED_RR) {
    for (const auto& m : members) out.push_back(m.id);
  } else if (sched == XLB_SCHED_WRR) {
    std::vector<uint32_t> w;
    for (const auto& m : members) w.push_back(m.weight);
    w = wrr_weights(std::move(w));
    for (size_t i = 0; i < members.size(); i++) members[i].weight = w[i];
    out = swrr(members);
  }
  return out;
}

}  // namespace xlb::sched_list
