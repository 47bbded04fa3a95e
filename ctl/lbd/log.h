// lbd's log: one line per significant event, to stderr.
#pragma once
#include <cstdio>
#include <string>

namespace xlb {

inline void log_line(const std::string& line) { std::fprintf(stderr, "lbd: %s\n", line.c_str()); }
inline void log_warn(const std::string& line) { log_line("warning: " + line); }

}  // namespace xlb
