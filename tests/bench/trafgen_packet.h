// trafgen's fallback generator, for kernels that refuse live-frames test runs
// (BPF_F_TEST_XDP_LIVE_FRAMES -> EPERM): AF_PACKET raw sockets with
// PACKET_QDISC_BYPASS, sendmmsg() of prebuilt frames.
//
// One thread per CPU, pinned, in the generator's namespace, each with its
// own socket bound to the generator's veth and its own prebuilt frames (its
// share of the flows, one frame per flow, sent in turn), so the forwarder
// sees the same distinct 5-tuples as with the live-frames generator.
// PACKET_QDISC_BYPASS hands each skb straight to veth_xmit
// (dev_direct_xmit), which queues it on the peer's ring and schedules the
// peer's NAPI on this CPU; it runs when dev_direct_xmit re-enables bottom
// halves, i.e. in this thread's syscall, so as with live frames each CPU
// carries one whole pipeline and the thread's CPU time includes the
// forwarder's and the sink's softirq work. Unlike live frames it also
// includes the syscall and skb allocation per frame, and the peer sees one
// frame per NAPI poll (no batching from the generator side).
//
// sent = frames the kernel accepted (sendmmsg's count); a frame the veth
// refused (peer ring full: ENOBUFS) counts as sent too, since it was
// generated and lost on the way, as the live-frames generator counts it.
#ifndef XLB_TESTS_BENCH_TRAFGEN_PACKET_H
#define XLB_TESTS_BENCH_TRAFGEN_PACKET_H

#include <time.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace trafgen {

class PacketSender {
 public:
  // frames[i]: the frames of the thread on cpus[i], each frame_len bytes,
  // back to back. gen_ns_fd: namespace to enter (-1: stay).
  // bypass: PACKET_QDISC_BYPASS (the "packet" generator); without it the
  // frames pass the veth's tc egress hook (the "clone" generator's seeds).
  PacketSender(std::vector<int> cpus, int gen_ns_fd, int ifindex, size_t frame_len,
               std::vector<std::vector<uint8_t>> frames, unsigned batch, bool bypass = true);
  ~PacketSender();

  void start();                // returns once every thread is sending (or failed)
  void finish();               // stops and joins the threads
  uint64_t sent() const;       // frames sent so far, all threads
  uint64_t refused() const;    // of those, refused by the veth (ENOBUFS)
  double cpu_seconds() const;  // the threads' CPU time
  int error() const { return error_; }  // errno of a failed thread, or 0

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> sent{0};
    std::atomic<uint64_t> refused{0};
    clockid_t clock = 0;
  };
  void worker(size_t slot);

  std::vector<int> cpus_;
  int gen_ns_fd_, ifindex_;
  size_t frame_len_;
  std::vector<std::vector<uint8_t>> frames_;
  unsigned batch_;
  bool bypass_;
  std::unique_ptr<Slot[]> slots_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ready_{0};
  std::atomic<int> error_{0};
};

}  // namespace trafgen

#endif
