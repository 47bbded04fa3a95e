// See prog_run.h.
#include "prog_run.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace xlb::test {

RunResult run_xdp(int prog_fd, const std::vector<uint8_t>& in, int ingress_ifindex) {
  RunResult r;
  r.out.resize(in.size() + 256);
  struct xdp_md ctx {};
  ctx.data = 0;  // no metadata in front of the frame
  ctx.data_end = static_cast<__u32>(in.size());
  ctx.ingress_ifindex = static_cast<__u32>(ingress_ifindex);

  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = in.data();
  opts.data_size_in = static_cast<__u32>(in.size());
  opts.data_out = r.out.data();
  opts.data_size_out = static_cast<__u32>(r.out.size());
  opts.repeat = 1;
  if (ingress_ifindex != 0) {
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof ctx;
  }
  int err = bpf_prog_test_run_opts(prog_fd, &opts);
  if (err) {
    r.error = errno ? errno : -err;
    r.verdict = -1;
    r.out.clear();
    return r;
  }
  r.verdict = static_cast<int>(opts.retval);
  r.out.resize(opts.data_size_out);
  r.duration_ns = opts.duration;
  return r;
}

std::string xdp_verdict_name(int verdict) {
  switch (verdict) {
    case XDP_ABORTED: return "XDP_ABORTED";
    case XDP_DROP: return "XDP_DROP";
    case XDP_PASS: return "XDP_PASS";
    case XDP_TX: return "XDP_TX";
    case XDP_REDIRECT: return "XDP_REDIRECT";
    default: return "verdict " + std::to_string(verdict);
  }
}

bool bpf_tests_can_run(std::string* why) {
  static int cached = -1;  // -1 unknown, 0 no, 1 yes
  static std::string reason;
  if (cached < 0) {
    if (geteuid() != 0) {
      reason = "not running as root";
      cached = 0;
    } else {
      // r0 = XDP_PASS; exit
      struct bpf_insn insns[] = {
          {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
          {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
      };
      int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xlb_probe", "GPL", insns, 2, nullptr);
      if (fd < 0) {
        reason = std::string("loading a trivial XDP program failed: ") + std::strerror(errno);
        cached = 0;
      } else {
        std::vector<uint8_t> frame(64, 0);
        RunResult r = run_xdp(fd, frame);
        close(fd);
        if (r.verdict != XDP_PASS) {
          reason = std::string("BPF_PROG_TEST_RUN failed: ") + std::strerror(r.error);
          cached = 0;
        } else {
          cached = 1;
        }
      }
    }
  }
  if (!cached && why) *why = reason;
  return cached == 1;
}

namespace {

// ifconfig lo up, without forking `ip`.
bool lo_up(std::string* why) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    if (why) *why = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
  if (ok) {
    ifr.ifr_flags |= IFF_UP;
    ok = ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  }
  if (!ok && why) *why = std::string("bringing lo up: ") + std::strerror(errno);
  close(s);
  return ok;
}

bool write_file(const std::string& path, const std::string& value, std::string* why) {
  std::ofstream f(path);
  f << value;
  f.close();
  if (!f) {
    if (why) *why += "cannot write " + path + "\n";
    return false;
  }
  return true;
}

}  // namespace

bool enter_private_netns(std::string* why) {
  static bool done = false;
  if (done) return true;
  if (unshare(CLONE_NEWNET) != 0) {
    if (why) *why = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    return false;
  }
  done = true;
  return lo_up(why);
}

TestNetns::TestNetns() {
  saved_fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved_fd_ < 0) {
    why_ = std::string("open /proc/thread-self/ns/net: ") + std::strerror(errno);
    return;
  }
  if (unshare(CLONE_NEWNET) != 0) {
    why_ = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    close(saved_fd_);
    saved_fd_ = -1;
    return;
  }
  ok_ = lo_up(&why_);
}

TestNetns::~TestNetns() {
  if (saved_fd_ < 0) return;
  if (setns(saved_fd_, CLONE_NEWNET) != 0)
    std::fprintf(stderr, "TestNetns: setns back failed: %s\n", std::strerror(errno));
  close(saved_fd_);
}

int run_cmd(const std::string& cmd, std::string* output) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) {
    if (output) *output += "popen failed: " + std::string(std::strerror(errno)) + "\n";
    return -1;
  }
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    if (output) output->append(buf, n);
  int st = pclose(p);
  if (st == -1) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Mac fixture_neigh_mac(int n) {
  return Mac{0x02, 0x00, 0x00, 0x00, 0x00, static_cast<uint8_t>(n)};
}

int fixture_peer_ifindex() { return static_cast<int>(if_nametoindex(kFixturePeer)); }

int setup_fib_fixture(std::string* why) {
  if (unsigned idx = if_nametoindex(kFixtureIf)) return static_cast<int>(idx);

  // One `ip -batch` run instead of ~50 forks. Families are inferred from the
  // addresses (batch lines take no -4/-6 options).
  std::string batch;
  batch += std::string("link add ") + kFixtureIf + " address " + mac_str(kFixtureMac) +
           " type veth peer name " + kFixturePeer + " address " + mac_str(kFixturePeerMac) +
           "\n";
  batch += std::string("link set ") + kFixtureIf + " up\n";
  batch += std::string("link set ") + kFixturePeer + " up\n";
  batch += "link set lo up\n";
  batch += std::string("addr add ") + kFixtureAddr4 + "/24 dev " + kFixtureIf + "\n";
  batch += std::string("addr add ") + kFixtureAddr6 + "/64 dev " + kFixtureIf + " nodad\n";
  for (int n = 2; n <= 20; n++) {
    std::string mac = mac_str(fixture_neigh_mac(n));
    batch += "neigh replace 198.18.0." + std::to_string(n) + " lladdr " + mac + " dev " +
             kFixtureIf + " nud permanent\n";
    batch += "neigh replace fd00:18::" + std::to_string(n) + " lladdr " + mac + " dev " +
             kFixtureIf + " nud permanent\n";
  }
  batch += std::string("route add 198.19.0.0/16 via 198.18.0.2 dev ") + kFixtureIf + "\n";
  batch += std::string("route add fd00:19::/64 via fd00:18::2 dev ") + kFixtureIf + "\n";

  char path[] = "/tmp/xlb-fib-fixture-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    if (why) *why = std::string("mkstemp: ") + std::strerror(errno);
    return -1;
  }
  bool wrote = write(fd, batch.data(), batch.size()) == static_cast<ssize_t>(batch.size());
  close(fd);
  std::string out;
  int rc = wrote ? run_cmd(std::string("ip -batch ") + path, &out) : -1;
  unlink(path);
  if (rc != 0) {
    if (why) *why = "setting up the FIB fixture failed: " + out;
    return -1;
  }

  // bpf_fib_lookup() (without BPF_FIB_LOOKUP_OUTPUT) answers FWD_DISABLED
  // unless forwarding is on for the ingress device. /proc/sys/net is
  // resolved against the opening thread's netns, so this stays local.
  std::string err;
  bool ok = write_file("/proc/sys/net/ipv4/conf/all/forwarding", "1", &err) &&
            write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1", &err);
  if (!ok) {
    if (why) *why = err;
    return -1;
  }
  unsigned idx = if_nametoindex(kFixtureIf);
  if (idx == 0) {
    if (why) *why = "xlbt0 vanished after setup";
    return -1;
  }
  return static_cast<int>(idx);
}

}  // namespace xlb::test
