// The lbctl command line as a function, so tests can run it in-process
// against a fake lbd and inspect what it printed.
#pragma once
#include <ostream>

namespace xlb::lbctl {

// docs/lbctl.md: 0 success, 1 the operation failed, 2 bad usage.
enum ExitCode : int { kExitOk = 0, kExitFailed = 1, kExitUsage = 2 };

// Parses argv (argv[0] is the program name), performs the command, writes its
// results to out and a one-line diagnostic to err. Returns an ExitCode.
int run_lbctl(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace xlb::lbctl
