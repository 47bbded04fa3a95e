#include "ring_map.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/error.h"

namespace xlb {

std::optional<RingMap> RingMap::open(int fd, uint32_t max_entries) {
  long page = sysconf(_SC_PAGESIZE);
  size_t bytes = (size_t(max_entries) * kStride * sizeof(uint32_t) + page - 1) / page * page;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    // EINVAL: created without BPF_F_MMAPABLE (an older xlb_lb's ring).
    if (errno == EINVAL) return std::nullopt;
    throw SystemError(std::string("xlb_ring: mmap: ") + std::strerror(errno));
  }
  return RingMap(static_cast<uint32_t*>(p), max_entries, bytes);
}

std::vector<uint32_t> RingMap::read() const {
  std::vector<uint32_t> out(size_);
  for (uint32_t i = 0; i < size_; i++) out[i] = slots_[size_t(i) * kStride];
  return out;
}

RingMap::RingMap(RingMap&& o) noexcept : slots_(o.slots_), size_(o.size_), bytes_(o.bytes_) {
  o.slots_ = nullptr;
}

RingMap::~RingMap() {
  if (slots_) munmap(slots_, bytes_);
}

}  // namespace xlb
