// `lbctl doctor`'s verdicts: pure logic over Facts (facts.h). Each finding
// says what is wrong and the command that fixes it (or what to check where
// the LB cannot see it); docs/troubleshooting.md explains them at length.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "doctor/facts.h"

namespace xlb::doctor {

// The checks, in the order they are reported.
extern const char* const kChecks[];
extern const size_t kCheckCount;

enum class Level { kProblem, kNote };

struct Finding {
  std::string check;    // one of kChecks
  Level level = Level::kProblem;
  std::string subject;  // what it is about: an interface, "VIP backend", a counter
  std::string what;     // what is wrong (or, for a note, what could not be verified)
  std::string fix;      // the command that fixes it, or what to check
};

struct Report {
  std::vector<Finding> findings;
  bool healthy() const;  // no problem (notes allowed)
};

Report diagnose(const Facts& facts);

// {"healthy": bool, "checks": [{"name", "status": ok|problem|note}],
//  "findings": [{"check", "level", "subject", "what", "fix"}]}
nlohmann::json report_json(const Report& report);

}  // namespace xlb::doctor
