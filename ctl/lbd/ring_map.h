// One VIP's ring array (xlb_rings' inner maps), memory-mapped.
//
// Rings are arrays created with BPF_F_MMAPABLE, so lbd reads and writes
// their slots with plain loads and stores instead of one copy per slot
// through bpf(): a 1M-slot ring is read in about a millisecond, where a
// batch lookup takes hundreds. The data plane reads a slot as one aligned
// 32-bit load, so a store is never seen half done. Maps pinned by an older
// xlb_lb have rings that cannot be mapped: RingMap::open says so and the
// caller goes through bpf() instead.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace xlb {

class RingMap {
 public:
  // Maps the ring array behind fd (max_entries slots); nullopt if the map
  // is not mmapable. Throws SystemError on other failures.
  static std::optional<RingMap> open(int fd, uint32_t max_entries);
  RingMap(RingMap&& o) noexcept;
  RingMap& operator=(RingMap&&) = delete;
  RingMap(const RingMap&) = delete;
  ~RingMap();

  std::vector<uint32_t> read() const;
  void write(uint32_t slot, uint32_t id) { slots_[size_t(slot) * kStride] = id; }
  uint32_t size() const { return size_; }

 private:
  // An array map stores each value in round_up(value_size, 8) bytes: a
  // 4-byte slot every 8 bytes, in the first half (any byte order: the
  // value's bytes are the first four of its element).
  static constexpr size_t kStride = 2;  // in uint32_t
  RingMap(uint32_t* slots, uint32_t size, size_t bytes) : slots_(slots), size_(size), bytes_(bytes) {}
  uint32_t* slots_;
  uint32_t size_;
  size_t bytes_;
};

}  // namespace xlb
