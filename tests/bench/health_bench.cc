// What health checks cost: N targets (listeners in this process on
// 127.0.0.1), each checked every interval by one Checker thread, for a while.
// Prints the checker thread's CPU time per second of wall time (the figure
// for "N backends every second cost X% of one core") and the whole
// process's (getrusage: the checker plus the servers' accept loop, and the
// kernel work both cause). Never judged: it prints, it does not assert.
//
//   xlb_health_bench [--targets 1000] [--interval-ms 1000] [--seconds 10]
//                    [--kind tcp|http|udp]
//
// The last line is JSON for scripts/bench.sh.
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "health/checker.h"

using namespace xlb;
using namespace xlb::health;
using Clock = std::chrono::steady_clock;

namespace {

double cpu_seconds(const rusage& r) {
  return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

int bind_loopback(int type, uint16_t* port) {
  int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), len) < 0 ||
      (type == SOCK_STREAM && listen(fd, 1024) < 0) ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0) {
    std::perror("health_bench: listener");
    std::exit(1);
  }
  *port = ntohs(a.sin_port);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  size_t targets = 1000;
  uint32_t interval_ms = 1000;
  double seconds = 10;
  std::string kind = "tcp";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--targets") targets = std::stoul(argv[i + 1]);
    else if (a == "--interval-ms") interval_ms = std::stoul(argv[i + 1]);
    else if (a == "--seconds") seconds = std::stod(argv[i + 1]);
    else if (a == "--kind") kind = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: xlb_health_bench [--targets N] [--interval-ms MS] [--seconds S] [--kind tcp|http|udp]\n");
      return 2;
    }
  }
  if (kind != "tcp" && kind != "http" && kind != "udp") {
    std::fprintf(stderr, "health_bench: --kind is tcp, http or udp\n");
    return 2;
  }
  // A listener per target, and a socket per probe in flight.
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);

  // The backends: one epoll thread that accepts (and for http answers 200)
  // or echoes datagrams, like a healthy server would.
  bool udp = kind == "udp";
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Target> list;
  std::vector<int> fds;
  for (size_t i = 0; i < targets; i++) {
    uint16_t port;
    int fd = bind_loopback(udp ? SOCK_DGRAM : SOCK_STREAM, &port);
    fds.push_back(fd);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    Target t;
    t.probe.id = i + 1;
    t.probe.kind = udp ? ProbeKind::kUdp : kind == "http" ? ProbeKind::kHttp : ProbeKind::kTcp;
    t.probe.dst = Endpoint::parse("127.0.0.1:" + std::to_string(port));
    t.probe.udp_payload = "ping";
    t.probe.timeout_ms = interval_ms;
    t.interval_ms = interval_ms;
    list.push_back(t);
  }
  std::atomic<bool> stop{false};
  std::thread servers([&] {
    static const char kOk[] = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
    epoll_event evs[256];
    char buf[2048];
    while (!stop) {
      int n = epoll_wait(ep, evs, 256, 100);
      for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if (udp) {
          sockaddr_storage from;
          socklen_t len = sizeof(from);
          ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
          if (r >= 0) sendto(fd, buf, r, 0, reinterpret_cast<sockaddr*>(&from), len);
          continue;
        }
        int c;
        while ((c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC)) >= 0) {
          if (kind == "http") {
            ssize_t w = send(c, kOk, sizeof(kOk) - 1, MSG_NOSIGNAL);
            (void)w;
          }
          close(c);
        }
      }
    }
  });

  Checker checker;
  checker.set_targets(list);
  // Warm up one interval (every target checked once), then measure.
  auto drain = [&](Clock::time_point until, uint64_t* ok, uint64_t* failed) {
    while (Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      for (auto& r : checker.take_results()) (r.ok ? *ok : *failed)++;
    }
  };
  uint64_t ok = 0, failed = 0;
  drain(Clock::now() + std::chrono::milliseconds(interval_ms), &ok, &failed);
  ok = failed = 0;

  rusage ru0{}, ru1{};
  getrusage(RUSAGE_SELF, &ru0);
  CheckerStats s0 = checker.stats();
  auto cpu0 = s0.cpu;
  auto t0 = Clock::now();
  drain(t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)), &ok, &failed);
  auto wall = std::chrono::duration<double>(Clock::now() - t0).count();
  auto cpu1 = checker.stats().cpu;
  getrusage(RUSAGE_SELF, &ru1);
  CheckerStats s = checker.stats();
  stop = true;
  servers.join();

  double checker_cpu = std::chrono::duration<double>(cpu1 - cpu0).count();
  double process_cpu = cpu_seconds(ru1) - cpu_seconds(ru0);
  double checker_pct = 100 * checker_cpu / wall;
  double process_pct = 100 * process_cpu / wall;
  double per_probe_us = (ok + failed) ? 1e6 * checker_cpu / (ok + failed) : 0;
  std::printf("health checker: %zu %s targets every %u ms, %.1f s measured\n", targets, kind.c_str(),
              interval_ms, wall);
  std::printf("  probes: %lu ok, %lu failed (%.0f per second), skipped busy %lu\n",
              (unsigned long)ok, (unsigned long)failed, (ok + failed) / wall, (unsigned long)s.skipped_busy);
  std::printf("  checker wakeups: %.0f per second\n", (s.wakeups - s0.wakeups) / wall);
  std::printf("  checker thread CPU: %.2f%% of one core (%.1f us per probe)\n", checker_pct, per_probe_us);
  std::printf("  whole process CPU (getrusage, servers included): %.2f%% of one core\n", process_pct);
  std::printf("{\"name\":\"%s\",\"targets\":%zu,\"interval_ms\":%u,"
              "\"seconds\":%.2f,\"ok\":%lu,\"failed\":%lu,\"checker_cpu_pct\":%.3f,"
              "\"process_cpu_pct\":%.3f,\"us_per_probe\":%.2f}\n",
              kind.c_str(), targets, interval_ms, wall, (unsigned long)ok, (unsigned long)failed,
              checker_pct, process_pct, per_probe_us);
  for (int fd : fds) close(fd);
  close(ep);
  return 0;
}
