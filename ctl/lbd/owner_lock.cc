#include "owner_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace xlb {

namespace {

void mkdir_p(const std::string& path) {
  for (size_t pos = path.find('/', 1);; pos = path.find('/', pos + 1)) {
    std::string cur = path.substr(0, pos);
    if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      throw SystemError("cannot create " + cur + ": " + std::strerror(errno));
    if (pos == std::string::npos) break;
  }
}

std::string read_all(int fd) {
  std::string out;
  char buf[512];
  ssize_t n;
  off_t off = 0;
  while ((n = pread(fd, buf, sizeof buf, off)) > 0 && out.size() < 4096) {
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

// "pid 123, pins in /sys/fs/bpf/xlb/eth0, interfaces eth0, eth1, socket
// /run/xlb/lbd.sock" from the holder's "key=value" lines; its socket in
// *socket.
std::string describe_holder(const std::string& text, std::string* socket) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    std::string part = key == "pid" ? "pid " + value
                       : key == "pin_dir" ? "pins in " + value
                       : key == "ifaces" ? "interfaces " + value
                       : key == "socket" && !value.empty() ? "socket " + value
                                         : "";
    if (key == "socket" && !value.empty()) *socket = value;
    if (!part.empty()) out += (out.empty() ? "" : ", ") + part;
  }
  return out.empty() ? "pid unknown" : out;
}

bool same_file(int fd, const std::string& path) {
  struct stat a {}, b {};
  return fstat(fd, &a) == 0 && stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

std::string owner_lock_path(uint32_t config_id, const std::string& dir) {
  return dir + "/datapath-" + std::to_string(config_id) + ".lock";
}

OwnerLock OwnerLock::take(uint32_t config_id, const OwnerInfo& me, const std::string& advice,
                          const std::string& dir) {
  mkdir_p(dir);
  OwnerLock l;
  l.config_id_ = config_id;
  l.path_ = owner_lock_path(config_id, dir);
  // The holder removes the file after a detach while holding the lock: a
  // lock won on a file no longer at the path is worthless, so try again.
  for (int attempt = 0; attempt < 10; attempt++) {
    Fd fd(open(l.path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) throw SystemError("cannot open " + l.path_ + ": " + std::strerror(errno));
    if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) throw SystemError("cannot lock " + l.path_ + ": " + std::strerror(errno));
      std::string socket = "SOCKET", holder = describe_holder(read_all(fd.get()), &socket), text = advice;
      if (size_t at = text.find("SOCKET"); at != std::string::npos) text.replace(at, 6, socket);
      throw SystemError("the data path (xlb_config map id " + std::to_string(config_id) +
                        ") is owned by another lbd (" + holder + "; lock " + l.path_ + "): " + text);
    }
    if (!same_file(fd.get(), l.path_)) continue;
    std::string names;
    for (const auto& i : me.ifaces) names += (names.empty() ? "" : ", ") + i;
    std::string text = "pid=" + std::to_string(getpid()) + "\npin_dir=" + me.pin_dir + "\nifaces=" + names +
                       "\nsocket=" + me.socket + "\n";
    if (ftruncate(fd.get(), 0) != 0 || pwrite(fd.get(), text.data(), text.size(), 0) < 0)
      throw SystemError("cannot write " + l.path_ + ": " + std::strerror(errno));
    l.fd_ = std::move(fd);
    return l;
  }
  throw SystemError("cannot lock " + l.path_ + ": it keeps being replaced");
}

void OwnerLock::remove() {
  if (fd_ && same_file(fd_.get(), path_)) unlink(path_.c_str());
  fd_.reset();
}

}  // namespace xlb
