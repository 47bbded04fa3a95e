#include "fd_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace xlb {

std::string raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return std::string("cannot read the open files limit: ") + std::strerror(errno);
  rlim_t old = lim.rlim_cur;
  if (lim.rlim_cur == lim.rlim_max) return "open files limit: " + std::to_string(old);
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
    return "cannot raise the open files limit from " + std::to_string(old) + " to " + std::to_string(lim.rlim_max) +
           ": " + std::strerror(errno);
  return "open files limit raised from " + std::to_string(old) + " to " + std::to_string(lim.rlim_max);
}

}  // namespace xlb
