// Runs the lbctl entry point in-process and captures what it printed.
#pragma once
#include <sstream>
#include <string>
#include <vector>

#include "fake_lbd.h"
#include "lbctl/lbctl.h"

namespace xlb::lbctl::testing {

struct CliResult {
  int code;
  std::string out;
  std::string err;
};

inline CliResult run_cli(std::vector<std::string> args) {
  std::vector<const char*> argv{"lbctl"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out, err;
  int code = run_lbctl(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

// The same, talking to lbd through --socket.
inline CliResult run_cli(const FakeLbd& lbd, std::vector<std::string> args) {
  args.insert(args.begin(), {"--socket", lbd.path()});
  return run_cli(std::move(args));
}

}  // namespace xlb::lbctl::testing
