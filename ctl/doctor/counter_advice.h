// Why each drop counter of `lbctl stats` moves and what fixes it: what
// `lbctl doctor` says about a rising one. docs/troubleshooting.md is the
// long form of the same table (and docs/design.md's "Drops").
#pragma once
#include <string>

namespace xlb::doctor {

struct CounterAdvice {
  const char* cause;
  const char* fix;
};

// The advice for a drop counter (a name starting with "drop_"); a generic
// one for a name this build does not know.
CounterAdvice counter_advice(const std::string& name);

}  // namespace xlb::doctor
