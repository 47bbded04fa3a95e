// trafgen: one forwarding-rate measurement for scripts/bench_tput.sh.
//
//   generator ns             forwarder ns (LB)               sink ns
//   [gen-if] ===veth===> [fwd-in] --XDP: xlb / trivial--> [fwd-out] ===veth===> [sink-if]
//   test-run live frames      or the kernel (nft DNAT)                         XDP count+drop
//
// The generator is tput_gen.bpf.c run with BPF_PROG_TEST_RUN and
// BPF_F_TEST_XDP_LIVE_FRAMES: the kernel runs the program `repeat` times per
// syscall on page-pool copies of one template frame and sends every XDP_TX
// frame out of the context's ingress device (gen-if), i.e. into its veth peer.
// The program gives each frame the next flow's source address and port
// (per-CPU cursor, checksums fixed incrementally), so the forwarder sees
// --flows distinct 5-tuples. One thread per CPU in --cpus, pinned, makes one
// long test-run syscall (stopped by a signal); on veth, the peer's NAPI runs
// in softirq on the same CPU when the test run re-enables bottom halves, so
// each CPU carries one complete pipeline (generate -> forward -> sink) and
// the veths get one queue per CPU.
//
// Kernels that refuse live frames (EPERM, as on this project's 6.18 VMs) get
// the AF_PACKET generator instead (trafgen_packet.h: the same flows, one
// pinned thread per CPU, sendmmsg with PACKET_QDISC_BYPASS): --gen auto
// (default) probes, --gen live|packet forces one, and the JSON line's
// "generator" field says which ran. Its cpu_s also holds the syscalls and skb
// allocations, so scripts/bench_tput.sh compares modes by differences.
//
// The sink is tput_sink.bpf.c, attached for the duration of the run through a
// bpf_link (it goes away with this process, whatever way it exits). With
// --fwd-in, the trivial forwarder tput_fwd.bpf.c is attached the same way,
// doing --fwd-mode's rewrite (l2dsr, ipip, nat, fullnat) towards --backend.
//
// Measurement: the senders start; after --warmup seconds (flow tables,
// conntrack and caches fill) the counters are read, and again --duration
// seconds later, while the senders keep running (see struct Sender).
// sent = frames the generator program returned XDP_TX for; received = sink
// frames of the --expect class. Frames a veth could not queue (peer ring
// full) count as lost: loss = 1 - received/sent. cpu_s is the senders'
// thread CPU time, which here includes the softirq processing of their
// frames (see main), so received / cpu_s is a per-core rate that load from
// other processes does not lower.
//
// Prints one JSON object on a line (stdout).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "trafgen_packet.h"
#include "tput_clone.skel.h"
#include "tput_fwd.skel.h"
#include "tput_gen.skel.h"
#include "tput_sink.skel.h"

namespace {

// Must match tput_sink.bpf.c.
enum { SINK_ALL, SINK_VIP, SINK_IPIP, SINK_BACKEND, SINK_OTHER, SINK_FULLNAT, SINK_NR };
const char* const kSinkNames[SINK_NR] = {"all", "vip", "ipip", "backend", "other", "fullnat"};

// Must match tput_fwd.bpf.c.
enum { FWD_L2DSR, FWD_IPIP, FWD_NAT, FWD_FULLNAT, FWD_NR };
const char* const kFwdModes[FWD_NR] = {"l2dsr", "ipip", "nat", "fullnat"};

struct GenCpu {  // tput_gen.bpf.c struct gen_cpu
  uint64_t sent;
  uint32_t cursor;
  uint32_t pad;
};

struct Options {
  std::string gen_ns, gen_if, dst_mac;
  std::string src_net = "198.18.128.0";
  uint32_t ports = 1000;
  uint32_t flows = 65536;
  std::string dst = "198.18.100.1";
  uint16_t dport = 80;
  uint32_t size = 60;
  std::string sink_ns, sink_if;
  std::string backend_net = "198.19.0.0/24";
  std::string expect = "all";
  std::string fwd_ns, fwd_in, fwd_out;
  std::string fwd_mode = "l2dsr";
  std::string backend = "198.19.0.11";
  uint16_t backend_port = 0;  // 0: --dport
  std::string outer_src = "198.18.2.1";
  std::string snat_src;  // fullnat source (forwarder and sink); empty: none
  std::string gen = "auto";  // live, packet, clone or auto (live if the kernel allows it, else clone)
  uint32_t copies = 64;      // clone: frames per seed
  std::vector<int> cpus;
  double duration = 5, warmup = 1;
  uint32_t batch = 64;
  uint32_t repeat = 1u << 31;
  std::string label = "run";
  bool verbose = false;
};

[[noreturn]] void die(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fputs("trafgen: ", stderr);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  va_end(ap);
  std::exit(1);
}

void usage() {
  std::fputs(
      "usage: trafgen --gen-if IF --dst-mac MAC --sink-if IF [options]\n"
      "       trafgen --probe    exit 0 if this kernel runs live-frames test runs, 77 if not\n"
      "  --gen-ns NS        namespace of --gen-if (/run/netns/NS)\n"
      "  --gen-if IF        the generator's veth: frames go to its peer\n"
      "  --dst-mac MAC      destination MAC of the frames (the peer's)\n"
      "  --src-net ADDR     first client address (198.18.128.0)\n"
      "  --ports N          source ports per client address (1000)\n"
      "  --flows N          distinct flows, split evenly over the CPUs (65536)\n"
      "  --dst ADDR --dport P   the VIP (198.18.100.1:80), UDP\n"
      "  --size N           frame length without FCS (60)\n"
      "  --sink-ns NS --sink-if IF   where the counting sink is attached\n"
      "  --backend-net CIDR sink: backend addresses (198.19.0.0/24)\n"
      "  --expect CLASS     sink class counted as received: all vip ipip backend fullnat (all)\n"
      "  --fwd-ns NS --fwd-in IF --fwd-out IF   attach the trivial forwarder on IF\n"
      "  --fwd-mode M       its rewrite: l2dsr (MACs only), ipip, nat, fullnat (l2dsr)\n"
      "  --backend ADDR --backend-port P   its one backend (198.19.0.11, port --dport)\n"
      "  --outer-src ADDR   its ipip outer source (198.18.2.1)\n"
      "  --snat-src ADDR    fullnat source: the forwarder's, and the sink's FULLNAT class\n"
      "  --gen G            generator: live (BPF_PROG_TEST_RUN live frames), packet\n"
      "                     (AF_PACKET, qdisc bypass, sendmmsg), clone (AF_PACKET seeds,\n"
      "                     --copies frames each made by tc egress bpf_clone_redirect)\n"
      "                     or auto: live if the kernel allows it, else clone (auto)\n"
      "  --copies N         clone: frames per seed, 1..256 (64)\n"
      "  --cpus LIST        e.g. 0,1 or 0-1 (all online CPUs)\n"
      "  --duration S (5)  --warmup S (1)\n"
      "  --batch N          live-frames batch size / packet sendmmsg batch, 1..256 (64)\n"
      "  --repeat N         frames per syscall (2^31; the run is stopped by a signal)\n"
      "  --label NAME       the \"forwarder\" field of the JSON line\n"
      "  --verbose          libbpf debug output\n",
      stderr);
}

std::vector<int> parse_cpus(const std::string& s) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t dash = item.find('-');
    int lo = std::stoi(item.substr(0, dash));
    int hi = dash == std::string::npos ? lo : std::stoi(item.substr(dash + 1));
    for (int c = lo; c <= hi; c++) out.push_back(c);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) die("%s needs a value", a.c_str());
      return argv[++i];
    };
    auto num = [&]() -> unsigned long { return std::stoul(val()); };
    try {
      if (a == "--gen-ns") o.gen_ns = val();
      else if (a == "--gen-if") o.gen_if = val();
      else if (a == "--dst-mac") o.dst_mac = val();
      else if (a == "--src-net") o.src_net = val();
      else if (a == "--ports") o.ports = num();
      else if (a == "--flows") o.flows = num();
      else if (a == "--dst") o.dst = val();
      else if (a == "--dport") o.dport = num();
      else if (a == "--size") o.size = num();
      else if (a == "--sink-ns") o.sink_ns = val();
      else if (a == "--sink-if") o.sink_if = val();
      else if (a == "--backend-net") o.backend_net = val();
      else if (a == "--expect") o.expect = val();
      else if (a == "--fwd-ns") o.fwd_ns = val();
      else if (a == "--fwd-in") o.fwd_in = val();
      else if (a == "--fwd-out") o.fwd_out = val();
      else if (a == "--fwd-mode") o.fwd_mode = val();
      else if (a == "--backend") o.backend = val();
      else if (a == "--backend-port") o.backend_port = num();
      else if (a == "--outer-src") o.outer_src = val();
      else if (a == "--snat-src") o.snat_src = val();
      else if (a == "--gen") o.gen = val();
      else if (a == "--copies") o.copies = num();
      else if (a == "--cpus") o.cpus = parse_cpus(val());
      else if (a == "--duration") o.duration = std::stod(val());
      else if (a == "--warmup") o.warmup = std::stod(val());
      else if (a == "--batch") o.batch = num();
      else if (a == "--repeat") o.repeat = num();
      else if (a == "--label") o.label = val();
      else if (a == "--verbose") o.verbose = true;
      else if (a == "-h" || a == "--help") { usage(); std::exit(0); }
      else { usage(); die("unknown argument %s", a.c_str()); }
    } catch (const std::logic_error&) {
      die("bad value for %s", a.c_str());
    }
  }
  if (o.gen_if.empty() || o.dst_mac.empty() || o.sink_if.empty()) { usage(); die("--gen-if, --dst-mac and --sink-if are required"); }
  if (!o.fwd_in.empty() && o.fwd_out.empty()) die("--fwd-in needs --fwd-out");
  if (o.size < 42 || o.size > 1514) die("--size must be 42..1514");
  if (o.batch < 1 || o.batch > 256) die("--batch must be 1..256");
  if (o.ports < 1 || o.ports > 60000) die("--ports must be 1..60000");
  if (o.cpus.empty()) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (int c = 0; c < n; c++) o.cpus.push_back(c);
  }
  for (int c : o.cpus)
    if (c < 0 || c >= 256) die("CPU %d out of range", c);
  if (o.flows < o.cpus.size()) die("--flows must be at least the number of CPUs");
  int known = 0;
  for (const char* n : kSinkNames) known |= o.expect == n;
  if (!known) die("--expect must be one of all vip ipip backend fullnat");
  known = 0;
  for (const char* n : kFwdModes) known |= o.fwd_mode == n;
  if (!known) die("--fwd-mode must be one of l2dsr ipip nat fullnat");
  if (o.fwd_mode == "fullnat" && o.snat_src.empty()) die("--fwd-mode fullnat needs --snat-src");
  if (o.gen != "live" && o.gen != "packet" && o.gen != "clone" && o.gen != "auto")
    die("--gen must be live, packet, clone or auto");
  if (o.copies < 1 || o.copies > 256) die("--copies must be 1..256");
  if (!o.backend_port) o.backend_port = o.dport;
  return o;
}

// ---- namespaces and interfaces -------------------------------------------

int open_ns(const std::string& name) {
  std::string path = name.find('/') == std::string::npos ? "/run/netns/" + name : name;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("cannot open %s: %s", path.c_str(), std::strerror(errno));
  return fd;
}

// Switches the calling thread's network namespace; -1 means "the one we started in".
struct Netns {
  int self = -1;
  Netns() { self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC); }
  void enter(int fd, const std::string& what) const {
    if (setns(fd < 0 ? self : fd, CLONE_NEWNET) != 0) die("setns %s: %s", what.c_str(), std::strerror(errno));
  }
};

int ifindex_here(const std::string& name) {
  unsigned idx = if_nametoindex(name.c_str());
  if (!idx) die("no interface %s in that namespace", name.c_str());
  return static_cast<int>(idx);
}

void mac_here(const std::string& name, uint8_t mac[ETH_ALEN]) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket: %s", std::strerror(errno));
  struct ifreq ifr {};
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name.c_str());
  if (ioctl(s, SIOCGIFHWADDR, &ifr) != 0) die("SIOCGIFHWADDR %s: %s", name.c_str(), std::strerror(errno));
  close(s);
  std::memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
}

void parse_mac(const std::string& s, uint8_t mac[ETH_ALEN]) {
  unsigned b[ETH_ALEN];
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
    die("bad MAC %s", s.c_str());
  for (int i = 0; i < ETH_ALEN; i++) mac[i] = static_cast<uint8_t>(b[i]);
}

uint32_t parse_v4(const std::string& s) {  // network order
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) die("bad IPv4 address %s", s.c_str());
  return a.s_addr;
}

// ---- the template frame -----------------------------------------------------

uint16_t csum_finish(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint32_t csum_add(uint32_t sum, const void* p, size_t len) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(b[len - 1] << 8);
  return sum;
}

std::vector<uint8_t> build_frame(const Options& o, const uint8_t src_mac[ETH_ALEN], const uint8_t dst_mac[ETH_ALEN],
                                 uint32_t saddr, uint16_t sport) {
  std::vector<uint8_t> f(o.size, 0);
  auto* eth = reinterpret_cast<ethhdr*>(f.data());
  std::memcpy(eth->h_dest, dst_mac, ETH_ALEN);
  std::memcpy(eth->h_source, src_mac, ETH_ALEN);
  eth->h_proto = htons(ETH_P_IP);
  auto* ip = reinterpret_cast<iphdr*>(f.data() + sizeof(ethhdr));
  ip->version = 4;
  ip->ihl = 5;
  ip->tot_len = htons(static_cast<uint16_t>(o.size - sizeof(ethhdr)));
  ip->ttl = 64;
  ip->protocol = IPPROTO_UDP;
  ip->saddr = saddr;
  ip->daddr = parse_v4(o.dst);
  // Checksums in host arithmetic over big-endian words: store with htons.
  ip->check = htons(csum_finish(csum_add(0, ip, sizeof(*ip))));
  auto* udp = reinterpret_cast<udphdr*>(f.data() + sizeof(ethhdr) + sizeof(iphdr));
  uint16_t ulen = static_cast<uint16_t>(o.size - sizeof(ethhdr) - sizeof(iphdr));
  udp->source = htons(sport);
  udp->dest = htons(o.dport);
  udp->len = htons(ulen);
  uint8_t* payload = reinterpret_cast<uint8_t*>(udp + 1);
  for (size_t i = 0; i < ulen - sizeof(udphdr); i++) payload[i] = static_cast<uint8_t>('x' + i % 3);
  uint8_t pseudo[12];
  std::memcpy(pseudo, &ip->saddr, 4);
  std::memcpy(pseudo + 4, &ip->daddr, 4);
  pseudo[8] = 0;
  pseudo[9] = IPPROTO_UDP;
  pseudo[10] = static_cast<uint8_t>(ulen >> 8);
  pseudo[11] = static_cast<uint8_t>(ulen);
  uint16_t c = csum_finish(csum_add(csum_add(0, pseudo, sizeof pseudo), udp, ulen));
  udp->check = htons(c ? c : 0xffff);
  return f;
}

// ---- counters -------------------------------------------------------------------

struct Snapshot {
  uint64_t sent = 0;
  uint64_t sink[SINK_NR] = {};
};

// gen_map < 0: the packet generator, whose count is `sent`.
Snapshot read_counters(int gen_map, int sink_map, uint64_t sent) {
  int ncpu = libbpf_num_possible_cpus();
  Snapshot s;
  s.sent = sent;
  if (gen_map >= 0) {
    std::vector<GenCpu> g(ncpu);
    uint32_t zero = 0;
    if (bpf_map_lookup_elem(gen_map, &zero, g.data()) != 0) die("reading the generator's counters: %s", std::strerror(errno));
    for (const auto& c : g) s.sent += c.sent;
  }
  std::vector<uint64_t> v(ncpu);
  for (uint32_t k = 0; k < SINK_NR; k++) {
    if (bpf_map_lookup_elem(sink_map, &k, v.data()) != 0) die("reading the sink's counters: %s", std::strerror(errno));
    for (uint64_t x : v) s.sink[k] += x;
  }
  return s;
}

// ---- sending -------------------------------------------------------------------

std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted = true; }
void on_wake(int) {}  // SIGUSR1: only there to interrupt a sender's syscall

// One thread per CPU, each in one long BPF_PROG_TEST_RUN. Every test run adds
// its program to the kernel's XDP dispatcher on entry and removes it on exit,
// and each change waits for an RCU grace period (bpf_dispatcher_change_prog
// -> synchronize_rcu): with short runs the senders sleep a good part of the
// time. So a sender makes one syscall with a huge repeat count and is stopped
// with a signal (the test run returns EINTR between batches), and the
// measurement window is cut from snapshots taken while the senders run.
struct Sender {
  Sender(const Options& opts, int prog, int ns_fd, int ifidx, const std::vector<uint8_t>& f)
      : o(opts), prog_fd(prog), gen_ns_fd(ns_fd), ifindex(ifidx), frame(f) {}
  const Options& o;
  int prog_fd, gen_ns_fd, ifindex;
  const std::vector<uint8_t>& frame;
  std::atomic<bool> stop{false};
  std::atomic<int> error{0};
  std::vector<std::thread> threads;
  std::vector<clockid_t> clocks;
  std::atomic<int> ready{0};

  void worker(int cpu, size_t slot) {
    if (gen_ns_fd >= 0 && setns(gen_ns_fd, CLONE_NEWNET) != 0) {
      error = errno;
      ready++;
      return;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
      error = EINVAL;
      ready++;
      return;
    }
    pthread_getcpuclockid(pthread_self(), &clocks[slot]);
    ready++;
    struct xdp_md ctx {};
    ctx.data_end = static_cast<__u32>(frame.size());
    ctx.ingress_ifindex = static_cast<__u32>(ifindex);
    while (!stop && !g_interrupted) {
      LIBBPF_OPTS(bpf_test_run_opts, opts);
      opts.data_in = frame.data();
      opts.data_size_in = static_cast<__u32>(frame.size());
      opts.ctx_in = &ctx;
      opts.ctx_size_in = sizeof ctx;
      opts.repeat = o.repeat;
      opts.batch_size = o.batch;
      opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
      if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
        if (errno == EINTR) continue;  // stopped, or a signal: the loop condition decides
        error = errno;
        return;
      }
    }
  }

  void start() {
    stop = false;
    ready = 0;
    clocks.assign(o.cpus.size(), 0);
    for (size_t i = 0; i < o.cpus.size(); i++) threads.emplace_back(&Sender::worker, this, o.cpus[i], i);
    while (ready < static_cast<int>(o.cpus.size())) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    check();
  }

  // Sleeps up to `seconds` while the senders run; dies if one failed.
  void wait(double seconds) {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until && !g_interrupted && !error)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    check();
  }

  // Sum of the senders' thread CPU time, in seconds.
  double cpu_seconds() const {
    double sum = 0;
    for (clockid_t c : clocks) {
      struct timespec ts {};
      if (c && clock_gettime(c, &ts) == 0) sum += static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
    }
    return sum;
  }

  void finish() {
    stop = true;
    for (auto& t : threads) pthread_kill(t.native_handle(), SIGUSR1);
    for (auto& t : threads) t.join();
    threads.clear();
    check();
  }

  void check() {
    if (error) die("BPF_PROG_TEST_RUN (live frames): %s", std::strerror(error));
    if (g_interrupted) die("interrupted");
  }
};

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list ap) {
  static bool verbose = std::getenv("TRAFGEN_VERBOSE") != nullptr;
  if (level == LIBBPF_DEBUG && !verbose) return 0;
  return std::vfprintf(stderr, fmt, ap);
}

}  // namespace

// Whether the kernel runs BPF_PROG_TEST_RUN in live-frames mode: one run of
// a program that drops, on the loopback device of a fresh network namespace.
// Some kernels refuse it (EPERM seen on 6.18 builds where the normal test
// run works), and then no rig throughput can be measured: exit 77 with the
// reason, so scripts/bench_tput.sh skips instead of failing.
int probe_live_frames() {
  if (unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "trafgen: probe: unshare(CLONE_NEWNET): %s\n", std::strerror(errno));
    return 77;
  }
  bpf_insn drop[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_DROP},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "probe_drop", "GPL", drop, 2, nullptr);
  if (fd < 0) {
    std::fprintf(stderr, "trafgen: probe: loading an XDP program: %s\n", std::strerror(errno));
    return 77;
  }
  uint8_t frame[60] = {};
  frame[12] = 0x08;  // IPv4 ethertype; the program looks at nothing
  xdp_md ctx{};
  ctx.data_end = sizeof frame;
  ctx.ingress_ifindex = 1;  // lo, in the new namespace
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof frame, .ctx_in = &ctx,
              .ctx_size_in = sizeof ctx, .repeat = 1, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
  int rc = bpf_prog_test_run_opts(fd, &opts);
  int err = errno;
  close(fd);
  if (rc != 0) {
    std::fprintf(stderr, "trafgen: this kernel refuses live-frames BPF_PROG_TEST_RUN (%s)\n", std::strerror(err));
    return 77;
  }
  return 0;
}

// The probe in a child process: it leaves the namespace it was started in.
bool live_frames_allowed() {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", std::strerror(errno));
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 2);
    _exit(probe_live_frames());
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) die("waitpid: %s", std::strerror(errno));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--probe") == 0) return probe_live_frames();
  Options o = parse_args(argc, argv);
  const bool live = o.gen == "live" || (o.gen == "auto" && live_frames_allowed());
  const bool clone = !live && o.gen != "packet";
  if (o.verbose) setenv("TRAFGEN_VERBOSE", "1", 1);
  libbpf_set_print(libbpf_print);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  struct sigaction wake {};
  wake.sa_handler = on_wake;  // no SA_RESTART: the syscall returns EINTR
  sigaction(SIGUSR1, &wake, nullptr);
  if (geteuid() != 0) die("needs root (BPF, namespaces)");

  Netns ns;
  int gen_ns = o.gen_ns.empty() ? -1 : open_ns(o.gen_ns);
  int sink_ns = o.sink_ns.empty() ? -1 : open_ns(o.sink_ns);
  int fwd_ns = o.fwd_ns.empty() ? -1 : open_ns(o.fwd_ns);

  // 1. The sink, first: without an XDP program on it, the veth drops
  //    redirected frames.
  tput_sink_bpf* sink = tput_sink_bpf__open();
  if (!sink) die("open tput_sink: %s", std::strerror(errno));
  uint32_t bnet = 0, bmask = 0;
  {
    std::string net = o.backend_net;
    size_t slash = net.find('/');
    int plen = slash == std::string::npos ? 32 : std::stoi(net.substr(slash + 1));
    if (plen < 0 || plen > 32) die("bad --backend-net");
    bmask = plen ? htonl(0xffffffffu << (32 - plen)) : 0;
    bnet = parse_v4(net.substr(0, slash)) & bmask;
  }
  sink->rodata->vip = parse_v4(o.dst);
  sink->rodata->backend_net = bnet;
  sink->rodata->backend_mask = bmask;
  sink->rodata->snat_src = o.snat_src.empty() ? 0 : parse_v4(o.snat_src);
  if (tput_sink_bpf__load(sink)) die("load tput_sink: %s", std::strerror(errno));
  ns.enter(sink_ns, "sink");
  uint8_t sink_mac[ETH_ALEN];
  mac_here(o.sink_if, sink_mac);
  bpf_link* sink_link = bpf_program__attach_xdp(sink->progs.tput_sink, ifindex_here(o.sink_if));
  if (!sink_link) die("attach the sink to %s: %s", o.sink_if.c_str(), std::strerror(errno));

  // 2. The trivial forwarder, if asked for.
  tput_fwd_bpf* fwd = nullptr;
  bpf_link* fwd_link = nullptr;
  if (!o.fwd_in.empty()) {
    ns.enter(fwd_ns, "forwarder");
    fwd = tput_fwd_bpf__open();
    if (!fwd) die("open tput_fwd: %s", std::strerror(errno));
    uint8_t out_mac[ETH_ALEN];
    mac_here(o.fwd_out, out_mac);
    for (int i = 0; i < ETH_ALEN; i++) {
      fwd->rodata->src_mac[i] = out_mac[i];
      fwd->rodata->dst_mac[i] = sink_mac[i];
    }
    for (int m = 0; m < FWD_NR; m++)
      if (o.fwd_mode == kFwdModes[m]) fwd->rodata->mode = static_cast<uint32_t>(m);
    fwd->rodata->backend = parse_v4(o.backend);
    fwd->rodata->backend_port = htons(o.backend_port);
    fwd->rodata->outer_src = parse_v4(o.outer_src);
    fwd->rodata->snat_src = o.snat_src.empty() ? 0 : parse_v4(o.snat_src);
    if (tput_fwd_bpf__load(fwd)) die("load tput_fwd: %s", std::strerror(errno));
    // The devmap resolves the ifindex in the caller's namespace.
    uint32_t key = 0, out = static_cast<uint32_t>(ifindex_here(o.fwd_out));
    if (bpf_map_update_elem(bpf_map__fd(fwd->maps.tput_fwd_port), &key, &out, BPF_ANY) != 0)
      die("devmap: %s", std::strerror(errno));
    fwd_link = bpf_program__attach_xdp(fwd->progs.tput_fwd, ifindex_here(o.fwd_in));
    if (!fwd_link) die("attach the forwarder to %s: %s", o.fwd_in.c_str(), std::strerror(errno));
  }

  // 3. The generator.
  ns.enter(gen_ns, "generator");
  uint8_t src_mac[ETH_ALEN], dst_mac[ETH_ALEN];
  mac_here(o.gen_if, src_mac);
  parse_mac(o.dst_mac, dst_mac);
  int gen_ifindex = ifindex_here(o.gen_if);
  uint32_t flows_per_cpu = o.flows / static_cast<uint32_t>(o.cpus.size());
  uint32_t saddr_base = ntohl(parse_v4(o.src_net));
  const uint32_t sport_base = 1024;
  int sink_map = bpf_map__fd(sink->maps.tput_sink_count);
  tput_gen_bpf* gen = nullptr;
  int gen_map = -1;
  std::vector<uint8_t> live_frame;  // the live sender's template (it keeps a reference)
  tput_clone_bpf* clone_gen = nullptr;
  int clone_map = -1;
  LIBBPF_OPTS(bpf_tc_hook, tc_hook);
  // clone: the program's counts (sent, refused), summed over CPUs.
  auto clone_counts = [&]() -> std::pair<uint64_t, uint64_t> {
    struct CloneCpu {  // tput_clone.bpf.c struct clone_cpu
      uint64_t sent;
      uint32_t cursor, pad;
      uint64_t refused;
    };
    std::vector<CloneCpu> v(libbpf_num_possible_cpus());
    uint32_t zero = 0;
    if (bpf_map_lookup_elem(clone_map, &zero, v.data()) != 0) die("reading tput_clone's counters: %s", std::strerror(errno));
    std::pair<uint64_t, uint64_t> sum{0, 0};
    for (const auto& c : v) sum.first += c.sent, sum.second += c.refused;
    return sum;
  };
  std::unique_ptr<Sender> live_sender;
  std::unique_ptr<trafgen::PacketSender> packet_sender;
  if (live) {
    gen = tput_gen_bpf__open();
    if (!gen) die("open tput_gen: %s", std::strerror(errno));
    gen->rodata->flows_per_cpu = flows_per_cpu;
    gen->rodata->ports_per_addr = o.ports;
    gen->rodata->saddr_base = saddr_base;
    gen->rodata->sport_base = sport_base;
    std::vector<uint8_t> frame = build_frame(o, src_mac, dst_mac, htonl(saddr_base), sport_base);
    static_assert(sizeof(gen->data->tput_hdr) >= 42, "header template");
    std::memcpy(gen->data->tput_hdr, frame.data(), 42);  // Ethernet + IPv4 + UDP
    if (tput_gen_bpf__load(gen)) die("load tput_gen: %s", std::strerror(errno));
    gen_map = bpf_map__fd(gen->maps.tput_gen_state);
    live_frame = std::move(frame);
    live_sender = std::make_unique<Sender>(o, bpf_program__fd(gen->progs.tput_gen), gen_ns, gen_ifindex, live_frame);
  } else if (clone) {
    clone_gen = tput_clone_bpf__open();
    if (!clone_gen) die("open tput_clone: %s", std::strerror(errno));
    clone_gen->rodata->copies = o.copies;
    clone_gen->rodata->ifindex = static_cast<uint32_t>(gen_ifindex);
    clone_gen->rodata->flows_per_cpu = flows_per_cpu;
    clone_gen->rodata->ports_per_addr = o.ports;
    clone_gen->rodata->saddr_base = saddr_base;
    clone_gen->rodata->sport_base = sport_base;
    std::vector<uint8_t> frame = build_frame(o, src_mac, dst_mac, htonl(saddr_base), sport_base);
    std::memcpy(clone_gen->data->tput_hdr, frame.data(), 42);
    if (tput_clone_bpf__load(clone_gen)) die("load tput_clone: %s", std::strerror(errno));
    clone_map = bpf_map__fd(clone_gen->maps.tput_clone_state);
    // tc egress on the generator's veth (this thread is in its namespace).
    tc_hook.ifindex = gen_ifindex;
    tc_hook.attach_point = BPF_TC_EGRESS;
    int err = bpf_tc_hook_create(&tc_hook);
    if (err && err != -EEXIST) die("tc hook on %s: %s", o.gen_if.c_str(), std::strerror(-err));
    LIBBPF_OPTS(bpf_tc_opts, tc_opts, .prog_fd = bpf_program__fd(clone_gen->progs.tput_clone),
                .flags = BPF_TC_F_REPLACE, .handle = 1, .priority = 1);
    err = bpf_tc_attach(&tc_hook, &tc_opts);
    if (err) die("tc attach on %s: %s", o.gen_if.c_str(), std::strerror(-err));
    // Every thread sends the same seed; the program makes the flows.
    std::vector<std::vector<uint8_t>> seeds(o.cpus.size(), frame);
    packet_sender = std::make_unique<trafgen::PacketSender>(o.cpus, gen_ns, gen_ifindex, o.size, std::move(seeds),
                                                            o.batch, false);
  } else {
    // The same flows as tput_gen.bpf.c: CPU c sends flows
    // [c*flows_per_cpu, (c+1)*flows_per_cpu), each as one prebuilt frame.
    std::vector<std::vector<uint8_t>> frames(o.cpus.size());
    for (size_t i = 0; i < o.cpus.size(); i++) {
      frames[i].reserve(static_cast<size_t>(flows_per_cpu) * o.size);
      for (uint32_t k = 0; k < flows_per_cpu; k++) {
        uint32_t flow = static_cast<uint32_t>(o.cpus[i]) * flows_per_cpu + k;
        std::vector<uint8_t> f = build_frame(o, src_mac, dst_mac, htonl(saddr_base + flow / o.ports),
                                             static_cast<uint16_t>(sport_base + flow % o.ports));
        frames[i].insert(frames[i].end(), f.begin(), f.end());
      }
    }
    packet_sender = std::make_unique<trafgen::PacketSender>(o.cpus, gen_ns, gen_ifindex, o.size, std::move(frames),
                                                            o.batch);
  }
  auto sent_now = [&]() -> uint64_t {
    if (clone_gen) return clone_counts().first;
    return packet_sender ? packet_sender->sent() : 0;
  };
  auto refused_now = [&]() -> uint64_t {
    if (clone_gen) return clone_counts().second;
    return packet_sender ? packet_sender->refused() : 0;
  };
  auto cpu_now = [&]() { return packet_sender ? packet_sender->cpu_seconds() : live_sender->cpu_seconds(); };
  auto wait = [&](double seconds) {
    if (live_sender) return live_sender->wait(seconds);
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until && !g_interrupted && !packet_sender->error())
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (packet_sender->error()) die("AF_PACKET generator: %s", std::strerror(packet_sender->error()));
    if (g_interrupted) die("interrupted");
  };
  // Warm-up (flow tables, conntrack, caches), then the window [a, b]. The
  // counters are read while frames are in flight: a few ring-fulls out of
  // millions. Without IRQ time accounting (this kernel), the softirq work a
  // sender's syscall triggers on its CPU (the forwarder's and the sink's NAPI
  // polls) is charged to the sender thread, so cpu_s is the whole pipeline's
  // CPU time and received / cpu_s a rate per core that other load on the
  // machine does not lower (work deferred to ksoftirqd is not in it). With
  // the packet generator cpu_s also holds the syscalls and skb allocations.
  if (live_sender) live_sender->start(); else packet_sender->start();
  wait(o.warmup);
  double cpu_a = cpu_now();
  auto t_a = std::chrono::steady_clock::now();
  uint64_t refused_a = refused_now();
  Snapshot a = read_counters(gen_map, sink_map, sent_now());
  wait(o.duration);
  double cpu_b = cpu_now();
  auto t_b = std::chrono::steady_clock::now();
  Snapshot b = read_counters(gen_map, sink_map, sent_now());
  uint64_t refused = refused_now() - refused_a;
  if (live_sender) live_sender->finish(); else packet_sender->finish();
  double secs = std::chrono::duration<double>(t_b - t_a).count();
  double cpu_s = cpu_b - cpu_a;

  int expect = 0;
  for (int k = 0; k < SINK_NR; k++)
    if (o.expect == kSinkNames[k]) expect = k;
  uint64_t sent = b.sent - a.sent, recv = b.sink[expect] - a.sink[expect];
  // The two reads of a snapshot are microseconds apart, so received can
  // exceed sent by a few frames that were in flight at the first snapshot.
  double loss = sent && recv < sent ? 100.0 * (1.0 - static_cast<double>(recv) / static_cast<double>(sent)) : 0.0;
  std::string cpus;
  for (int c : o.cpus) cpus += (cpus.empty() ? "" : ",") + std::to_string(c);
  std::printf(
      "{\"forwarder\":\"%s\",\"generator\":\"%s\",\"fwd_mode\":\"%s\",\"refused\":%llu,\"cpus\":\"%s\",\"flows\":%u,\"frame_bytes\":%u,\"duration_s\":%.3f,"
      "\"sent\":%llu,\"received\":%llu,\"sent_mpps\":%.3f,\"recv_mpps\":%.3f,\"loss_pct\":%.2f,"
      "\"cpu_s\":%.3f,\"recv_mpps_per_core\":%.3f,\"sink\":{",
      o.label.c_str(), live ? "live-frames" : clone ? "tc-clone" : "af_packet", o.fwd_in.empty() ? "" : o.fwd_mode.c_str(),
      static_cast<unsigned long long>(refused), cpus.c_str(), flows_per_cpu * static_cast<uint32_t>(o.cpus.size()), o.size, secs,
      static_cast<unsigned long long>(sent), static_cast<unsigned long long>(recv), sent / secs / 1e6,
      recv / secs / 1e6, loss, cpu_s, cpu_s > 0 ? recv / cpu_s / 1e6 : 0.0);
  for (int k = 0; k < SINK_NR; k++)
    std::printf("%s\"%s\":%llu", k ? "," : "", kSinkNames[k],
                static_cast<unsigned long long>(b.sink[k] - a.sink[k]));
  std::printf("}}\n");
  std::fflush(stdout);

  // Detach in reverse order (the links would go with the process anyway).
  if (fwd_link) bpf_link__destroy(fwd_link);
  bpf_link__destroy(sink_link);
  if (gen) tput_gen_bpf__destroy(gen);
  if (clone_gen) {
    ns.enter(gen_ns, "generator");
    bpf_tc_hook_destroy(&tc_hook);  // the clsact qdisc, and the filter with it
    tput_clone_bpf__destroy(clone_gen);
  }
  if (fwd) tput_fwd_bpf__destroy(fwd);
  tput_sink_bpf__destroy(sink);
  return 0;
}
