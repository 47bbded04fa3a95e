// Error types of the control plane. InputError is for anything a user typed or
// sent (a bad address, an unknown VIP, bad JSON): its message is one line that
// names the problem and is shown to the user as is. SystemError is for the
// kernel or the environment refusing something (a BPF syscall, a socket).
#pragma once
#include <stdexcept>
#include <string>

namespace xlb {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SystemError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace xlb
