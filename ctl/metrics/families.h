// Every metric lbd exports, in the order a scrape lists them: the one place
// their names, types and help texts are kept (docs/operations.md, "Metrics",
// lists the same).
#pragma once
#include "exposition.h"

namespace xlb::metrics {

struct FamilyDef {
  const char* name;
  Type type;
  const char* help;
};

extern const FamilyDef kFamilies[];
extern const size_t kFamilyCount;

// Declares them all in out.
void declare_families(Exposition& out);

}  // namespace xlb::metrics
