// Running XDP programs on test frames (BPF_PROG_TEST_RUN), detecting whether
// BPF tests can run at all, and a private network namespace with a fixed
// routing/neighbour setup so bpf_fib_lookup() gives deterministic answers.
// Free of gtest, so benchmarks use it too (tests/bench/xdp_bench.cc).
//
//   TEST(Lb, Something) {
//     XLB_REQUIRE_BPF();                       // bpf_test.h: skips without root/BPF
//     xlb::test::TestNetns ns;                 // fresh netns for this test
//     int ifindex = xlb::test::setup_fib_fixture();
//     auto r = xlb::test::run_xdp(prog_fd, frame, ifindex);
//     EXPECT_EQ(r.verdict, XDP_TX) << r.error;
//   }
//
// Namespaces: the test binary moves itself into a private network namespace
// before the first test (tests/bpf/netns_env.cc), so no
// test ever touches the host's interfaces, routes or sysctls. TestNetns gives
// a test a fresh, empty namespace of its own on top of that and returns to the
// previous one when it goes out of scope; the kernel then destroys the
// namespace and every device in it. Only CLONE_NEWNET is unshared: the mount
// namespace, and so /sys/fs/bpf, stays the host's.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "packet.h"

namespace xlb::test {

struct RunResult {
  int verdict = -1;       // XDP_ABORTED/DROP/PASS/TX/REDIRECT, or -1 on error
  std::vector<uint8_t> out;  // the frame as the program left it
  int error = 0;          // errno of a failed BPF_PROG_TEST_RUN, else 0
  uint32_t duration_ns = 0;
};

// Runs prog_fd once on a copy of `in`. With ingress_ifindex != 0 the program
// sees that device as ctx->ingress_ifindex (and bpf_fib_lookup() uses its
// namespace/tables); the device must exist in the calling thread's netns.
// The output buffer has room for in.size() + 256 bytes.
RunResult run_xdp(int prog_fd, const std::vector<uint8_t>& in, int ingress_ifindex = 0);

// "XDP_PASS" etc.; "verdict N" for anything else.
std::string xdp_verdict_name(int verdict);

// True if this process can load and test-run BPF programs (root, and a
// trivial XDP program loads). Otherwise false with the reason in *why.
// The result is computed once and cached.
bool bpf_tests_can_run(std::string* why);


// Moves the calling thread (the process's main thread, in gtest) into a new
// network namespace with lo up, once; later calls are no-ops. Done
// automatically before the first test when running as root. False with a
// reason if unshare() fails.
bool enter_private_netns(std::string* why);

// RAII: a fresh network namespace for the calling thread for the lifetime
// of the object (lo is brought up). The destructor switches back to the
// namespace that was current at construction. ok() is false (and why() says
// why) if the switch failed; the thread then stays where it was.
class TestNetns {
 public:
  TestNetns();
  ~TestNetns();
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;
  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }

 private:
  int saved_fd_ = -1;
  bool ok_ = false;
  std::string why_;
};

// ---- FIB fixture -------------------------------------------------------------
//
// setup_fib_fixture() builds, in the calling thread's current netns:
//   veth pair kFixtureIf ("xlbt0") <-> kFixturePeer ("xlbt1"), both up
//   xlbt0 MAC 02:00:00:00:00:01 (kFixtureMac), xlbt1 MAC 02:00:00:00:01:01
//   xlbt0 addresses 198.18.0.1/24 and fd00:18::1/64 (nodad)
//   PERMANENT neighbours on xlbt0: 198.18.0.N and fd00:18::N for N = 2..20,
//     both with MAC 02:00:00:00:00:NN where NN is N in hex (fixture_neigh_mac(N)).
//     The IPv6 suffix is written with the same digits as the IPv4 one:
//     198.18.0.10 and fd00:18::10 are both neighbour 10, MAC 02:00:00:00:00:0a
//     (fd00:18::a..f are not neighbours).
//   routes 198.19.0.0/16 via 198.18.0.2 and fd00:19::/64 via fd00:18::2 (for
//     backends behind a gateway: next-hop MAC fixture_neigh_mac(2))
//   198.18.0.21..254 / fd00:18::21.. are on-link but have NO neighbour entry
//     (bpf_fib_lookup returns BPF_FIB_LKUP_RET_NO_NEIGH for them)
//   IPv4 and IPv6 forwarding enabled (bpf_fib_lookup without
//     BPF_FIB_LOOKUP_OUTPUT returns FWD_DISABLED otherwise)
//   lo up
// Returns the ifindex of xlbt0 (> 0). If xlbt0 already exists in this netns
// it is assumed to be the fixture and its ifindex is returned. On failure
// returns -1 and, if why is given, the `ip` output in *why.
inline constexpr const char* kFixtureIf = "xlbt0";
inline constexpr const char* kFixturePeer = "xlbt1";
inline constexpr Mac kFixtureMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
inline constexpr Mac kFixturePeerMac = {0x02, 0x00, 0x00, 0x00, 0x01, 0x01};
inline constexpr const char* kFixtureAddr4 = "198.18.0.1";
inline constexpr const char* kFixtureAddr6 = "fd00:18::1";
int setup_fib_fixture(std::string* why = nullptr);
// ifindex of the peer xlbt1 (0 if absent), e.g. as a redirect target.
int fixture_peer_ifindex();
// MAC of the permanent neighbour 198.18.0.n / fd00:18::n (2 <= n <= 20).
Mac fixture_neigh_mac(int n);

// Runs a shell command (in the calling thread's netns); returns its exit
// status and appends its combined stdout/stderr to *output if given.
int run_cmd(const std::string& cmd, std::string* output = nullptr);

}  // namespace xlb::test
