// Allocation of small integer ids (vip_id, backend_id): always the lowest
// free id, so ids are dense and predictable.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

namespace xlb {

class IdAllocator {
 public:
  explicit IdAllocator(uint32_t limit) : used_(limit, false) {}

  // The lowest free id, or nullopt when all `limit` ids are taken. Does not
  // take it: call take() once the caller commits.
  std::optional<uint32_t> lowest_free() const;
  // The n lowest free ids (fewer if not that many are free).
  std::vector<uint32_t> lowest_free(uint32_t n) const;
  void take(uint32_t id);
  void release(uint32_t id);
  bool in_use(uint32_t id) const { return id < used_.size() && used_[id]; }
  uint32_t limit() const { return static_cast<uint32_t>(used_.size()); }
  uint32_t free_count() const { return limit() - count_; }

 private:
  std::vector<bool> used_;
  uint32_t count_ = 0;
  uint32_t hint_ = 0;  // every id below it is in use
};

}  // namespace xlb
