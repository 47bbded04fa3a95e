#include "atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error.h"

namespace xlb {

void write_file_atomically(const std::string& path, const std::string& text, mode_t mode) {
  std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& what) {
    SystemError error("cannot " + what + ": " + std::strerror(errno));
    ::unlink(tmp.c_str());
    return error;
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw fail("create " + tmp);
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      SystemError error = fail("write " + tmp);
      ::close(fd);
      throw error;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    SystemError error = fail("fsync " + tmp);
    ::close(fd);
    throw error;
  }
  if (::close(fd) != 0) throw fail("close " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw fail("rename " + tmp + " to " + path);
}

}  // namespace xlb
