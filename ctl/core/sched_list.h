// The scheduling lists of the list-based schedulers (xlb_vip_lists[vip_id],
// docs/design.md, "Schedulers"):
//   least-conn, rr  the VIP's backends that take new flows, in identity order;
//   wrr             a smooth weighted round-robin sequence over them (the
//                   nginx algorithm), each backend appearing weight/gcd times,
//                   weights scaled down to fit XLB_VIP_LIST_MAX entries.
// Pure functions: the same backends always give the same list, on every LB.
#pragma once
#include <cstdint>
#include <vector>

#include "xlb/abi.h"

namespace xlb::sched_list {

struct Member {
  uint32_t id = 0;      // backend_id
  uint32_t weight = 0;  // > 0
};

// The list for `sched` over `members` (given in identity order). At most
// XLB_VIP_LIST_MAX members are used; the balancer refuses more.
std::vector<uint32_t> build(uint8_t sched, const std::vector<Member>& members);

// wrr weights: divided by their gcd and, if their sum exceeds
// XLB_VIP_LIST_MAX, scaled down proportionally (rounding down), every backend
// keeping at least 1, the largest giving up the remainder.
std::vector<uint32_t> wrr_weights(std::vector<uint32_t> weights);

// The smooth weighted round-robin sequence: each step adds every weight to
// its backend's score, picks the highest score (the first on ties) and
// takes the weight sum off it. Heavy backends are interleaved with light
// ones instead of served in bursts. Length: the sum of the weights.
std::vector<uint32_t> swrr(const std::vector<Member>& members);

}  // namespace xlb::sched_list
