// One owner per data path. Two lbds must never drive the same maps (they
// would hand out the same vip ids and overwrite each other's rings), and
// the pin directory can't tell: a second lbd with another --pin-root finds
// the program attached and adopts it, re-pinning its maps under its own
// root. So ownership is tied to the maps themselves: an exclusive flock on
// <lock dir>/datapath-<id>.lock, <id> being the kernel's id of the data
// path's xlb_config map (ids are global to the host and not reused while
// the map lives). Every entry point that touches an attached xlb_lb takes
// it: lbd at start (before adopting), `lbd --detach`. The holder writes its
// pid, pin directory and interfaces into the file, so a refusal can name it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fd.h"

namespace xlb {

constexpr const char* kOwnerLockDir = "/run/xlb";

// Who holds a data path, as written into its lock file.
struct OwnerInfo {
  std::string pin_dir;
  std::vector<std::string> ifaces;
  std::string socket;  // empty: none (lbd --detach)
};

// The lock file exists while it is held: the holder removes it when it lets
// go (at exit, after a detach), so /run/xlb does not collect one file per
// data path ever run. Taking it checks that the file locked is still the one
// at the path, so removing it under a waiting taker is safe.
class OwnerLock {
 public:
  OwnerLock() = default;
  OwnerLock(OwnerLock&& o) noexcept = default;
  OwnerLock& operator=(OwnerLock&& o) noexcept {
    if (this != &o) {
      remove();
      fd_ = std::move(o.fd_);
      path_ = std::move(o.path_);
      config_id_ = o.config_id_;
    }
    return *this;
  }
  ~OwnerLock() { remove(); }
  // Takes the lock of the data path whose xlb_config has map id config_id,
  // and records who holds it. If another process holds it, throws
  // SystemError: "... is owned by another lbd (pid N, pins in DIR,
  // interfaces A, B, socket S)" followed by `advice`, in which "SOCKET" is
  // replaced by the holder's socket.
  static OwnerLock take(uint32_t config_id, const OwnerInfo& me, const std::string& advice,
                        const std::string& dir = kOwnerLockDir);
  bool held() const { return static_cast<bool>(fd_); }
  uint32_t config_id() const { return config_id_; }
  const std::string& path() const { return path_; }
  // Removes the lock file while still holding it (then closes it).
  void remove();

 private:
  Fd fd_;
  std::string path_;
  uint32_t config_id_ = 0;
};

std::string owner_lock_path(uint32_t config_id, const std::string& dir = kOwnerLockDir);

}  // namespace xlb
