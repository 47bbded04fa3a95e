#include "id_allocator.h"

#include "error.h"

namespace xlb {

std::optional<uint32_t> IdAllocator::lowest_free() const {
  auto ids = lowest_free(1);
  if (ids.empty()) return std::nullopt;
  return ids[0];
}

std::vector<uint32_t> IdAllocator::lowest_free(uint32_t n) const {
  std::vector<uint32_t> ids;
  for (uint32_t id = hint_; id < used_.size() && ids.size() < n; id++)
    if (!used_[id]) ids.push_back(id);
  return ids;
}

void IdAllocator::take(uint32_t id) {
  if (id >= used_.size()) throw SystemError("id " + std::to_string(id) + " out of range");
  if (!used_[id]) count_++;
  used_[id] = true;
  while (hint_ < used_.size() && used_[hint_]) hint_++;
}

void IdAllocator::release(uint32_t id) {
  if (id < used_.size() && used_[id]) {
    used_[id] = false;
    count_--;
    if (id < hint_) hint_ = id;
  }
}

}  // namespace xlb
