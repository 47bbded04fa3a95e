// AF_PACKET fallback generator: see trafgen_packet.h.
#include "trafgen_packet.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <utility>

namespace trafgen {

PacketSender::PacketSender(std::vector<int> cpus, int gen_ns_fd, int ifindex, size_t frame_len,
                           std::vector<std::vector<uint8_t>> frames, unsigned batch, bool bypass)
    : cpus_(std::move(cpus)),
      gen_ns_fd_(gen_ns_fd),
      ifindex_(ifindex),
      frame_len_(frame_len),
      frames_(std::move(frames)),
      batch_(batch),
      bypass_(bypass),
      slots_(new Slot[cpus_.size()]) {}

PacketSender::~PacketSender() { finish(); }

void PacketSender::worker(size_t slot) {
  Slot& s = slots_[slot];
  auto fail = [&](int err) {
    error_ = err;
    ready_++;
  };
  if (gen_ns_fd_ >= 0 && setns(gen_ns_fd_, CLONE_NEWNET) != 0) return fail(errno);
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpus_[slot], &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) return fail(EINVAL);
  pthread_getcpuclockid(pthread_self(), &s.clock);
  // Protocol 0: this socket receives nothing, it only sends.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(errno);
  int one = 1;
  // Straight to the driver: no qdisc, no tc egress hook, no requeueing.
  if (bypass_ && setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0) {
    int e = errno;
    close(fd);
    return fail(e);
  }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);  // best effort
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_IP);
  addr.sll_ifindex = ifindex_;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    close(fd);
    return fail(e);
  }
  const std::vector<uint8_t>& buf = frames_[slot];
  const size_t nframes = buf.size() / frame_len_;
  std::vector<iovec> iov(batch_);
  std::vector<mmsghdr> msgs(batch_);
  size_t cursor = 0;
  ready_++;
  while (!stop_.load(std::memory_order_relaxed)) {
    for (unsigned i = 0; i < batch_; i++) {
      iov[i].iov_base = const_cast<uint8_t*>(buf.data()) + (cursor + i) % nframes * frame_len_;
      iov[i].iov_len = frame_len_;
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = sendmmsg(fd, msgs.data(), batch_, 0);
    if (n < 0) {
      // The veth's peer ring was full, reported now or left from the last
      // call (sendmmsg keeps an error after a partial batch for the next):
      // one frame generated and lost.
      if (errno == ENOBUFS || errno == EAGAIN) {
        s.refused.fetch_add(1, std::memory_order_relaxed);
        s.sent.fetch_add(1, std::memory_order_relaxed);
        cursor = (cursor + 1) % nframes;
        continue;
      }
      if (errno == EINTR) continue;
      error_ = errno;
      break;
    }
    s.sent.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    cursor = (cursor + static_cast<size_t>(n)) % nframes;
  }
  close(fd);
}

void PacketSender::start() {
  stop_ = false;
  ready_ = 0;
  for (size_t i = 0; i < cpus_.size(); i++) threads_.emplace_back(&PacketSender::worker, this, i);
  while (ready_ < static_cast<int>(cpus_.size())) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void PacketSender::finish() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

uint64_t PacketSender::sent() const {
  uint64_t sum = 0;
  for (size_t i = 0; i < cpus_.size(); i++) sum += slots_[i].sent.load(std::memory_order_relaxed);
  return sum;
}

uint64_t PacketSender::refused() const {
  uint64_t sum = 0;
  for (size_t i = 0; i < cpus_.size(); i++) sum += slots_[i].refused.load(std::memory_order_relaxed);
  return sum;
}

double PacketSender::cpu_seconds() const {
  double sum = 0;
  for (size_t i = 0; i < cpus_.size(); i++) {
    timespec ts{};
    if (slots_[i].clock && clock_gettime(slots_[i].clock, &ts) == 0)
      sum += static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  }
  return sum;
}

}  // namespace trafgen
