// lbd: attaches xlb_lb to one or more interfaces, owns its maps and serves
// the control API (docs/lbctl.md, docs/api.md).
#include <bpf/libbpf.h>
#include <signal.h>
#include <xdp/libxdp.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstring>
#include <fstream>
#include <sstream>

#include "api.h"
#include "bpf_map_io.h"
#include "core/config.h"
#include "core/error.h"
#include "fd_limit.h"
#include "kernel_features.h"
#include "loader.h"
#include "log.h"
#include "neighbours.h"
#include "netif.h"
#include "reaper_thread.h"
#include "server.h"

namespace {

volatile sig_atomic_t g_signal = 0;

// The main loop's tick: often enough for the reaper's interval (whose
// minimum is 100 ms) and to collect its results promptly.
constexpr int kTickMs = 100;

void on_signal(int sig) { g_signal = sig; }

int print_libbpf(enum libbpf_print_level, const char* fmt, va_list ap) { return std::vfprintf(stderr, fmt, ap); }
int print_libxdp(enum libxdp_print_level, const char* fmt, va_list ap) { return std::vfprintf(stderr, fmt, ap); }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw xlb::InputError("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Options {
  std::vector<std::string> ifaces;  // the first names the pin directory
  std::string config;
  std::string socket = "/run/xlb/lbd.sock";
  std::string xdp_mode = "auto";
  std::string pin_root = "/sys/fs/bpf/xlb";
  uint32_t flow_table_size = XLB_DEFAULT_FLOWS;
  uint32_t nat_table_size = 0;  // 0: flow_table_size
  bool verbose = false;
  bool check_kernel = false;
  std::string detach;
};

int run_daemon(const Options& o) {
  using namespace xlb;
  // Parse the config before touching anything: a typo must not half-start lbd.
  std::optional<Config> startup;
  if (!o.config.empty()) startup = parse_config_text(read_file(o.config), o.config);

  log_line(raise_fd_limit());  // before the rings' fds are opened
  check_ifaces(o.ifaces);  // unknown or repeated interfaces: before anything is touched
  const std::string& first = o.ifaces.front();
  // An old kernel: say what it lacks, not what the verifier thought of it.
  require_kernel_features(data_path_features());
  ensure_bpffs(o.pin_root);
  std::string pin_dir = pin_dir_of(o.pin_root, first);
  Fd lock = lock_pin_dir(pin_dir, first);

  AttachOptions ao{o.ifaces, o.pin_root, o.xdp_mode, o.flow_table_size, o.nat_table_size};
  Attachment att = attach_or_adopt(ao);
  for (const auto& w : forwarding_warnings(o.ifaces)) log_warn(w);
  EgressFill egress = fill_tx_ports(att.pin_dir);
  log_line("xlb_tx_ports: " + std::to_string(egress.tx_ports) + " interfaces; xlb_egress: " +
           std::to_string(egress.vlans) + " VLAN devices");

  Balancer lb(std::make_unique<BpfMapIo>(att.pin_dir), interface_addresses(o.ifaces));
  for (const auto& note : lb.recover()) log_line("recovery: " + note);
  if (att.adopted)
    log_line("recovered " + std::to_string(lb.vip_count()) + " VIPs and " + std::to_string(lb.backend_count()) +
             " backends from the maps");
  if (startup) {
    ApplyResult r = lb.apply(*startup);
    log_line("applied " + o.config + ": " + std::to_string(r.added) + " added, " + std::to_string(r.removed) +
             " removed, " + std::to_string(r.changed) + " changed");
  }

  for (const auto& w : lb.nat_clash_warnings()) log_warn(w);
  for (const auto& w : lb.ring_warnings()) log_warn(w);

  // The reaper sweeps in its own thread, over map fds of its own.
  ReaperThread reaper(std::make_unique<BpfMapIo>(att.pin_dir));
  // The config's settings, or without --config those kept in the maps.
  reaper.configure(lb.timeouts(), lb.reap_interval_ms());

  Server server(o.socket);
  DaemonInfo info;
  for (const auto& ia : att.ifaces) info.ifaces.push_back({ia.iface, ia.ifindex});
  info.pin_dir = att.pin_dir;
  info.attachment = [](int ifindex) {
    auto found = find_attached(ifindex);
    return found ? *found : std::make_pair(std::string(), 0u);
  };
  bool detached = false;
  Api api(
      lb, info,
      [&] {
        detach(first, o.pin_root);
        detached = true;
        server.stop();
      },
      &reaper);

  prime_neighbours(lb.backend_addresses());
  log_line("listening on " + o.socket);
  bool tick_failed = false;
  auto last_refresh = std::chrono::steady_clock::now();
  server.run([&](const std::string& request) { return api.handle(request); },
             [&] {
               reaper.tick(lb);
               auto now = std::chrono::steady_clock::now();
               if (now - last_refresh < std::chrono::milliseconds(kNeighbourPrimeIntervalMs)) return;
               last_refresh = now;
               prime_neighbours(lb.backend_addresses());
               try {
                 fill_tx_ports(att.pin_dir, true);
                 tick_failed = false;
               } catch (const std::exception& e) {
                 if (!tick_failed) log_warn(std::string("periodic refresh: ") + e.what());
                 tick_failed = true;
               }
             },
             kTickMs, [] { return g_signal != 0; });
  std::string names;
  for (const auto& iface : o.ifaces) names += (names.empty() ? "" : ", ") + iface;
  if (detached) {
    log_line("detached from " + names + "; exiting");
    return 0;
  }
  log_line(std::string("got ") + strsignal(g_signal) + "; exiting, " + XLB_PROG_NAME + " stays attached to " +
           names);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"xlb load balancer daemon: attaches xlb_lb to interfaces and serves the control socket"};
  auto* iface = app.add_option("--iface", o.ifaces,
                               "an interface that receives VIP traffic (or, with NAT, backends' replies); "
                               "repeat for several, the first names the pin directory")
                    ->allow_extra_args(false);
  app.add_option("--config", o.config, "config file applied at start (docs/api.md)");
  app.add_option("--socket", o.socket, "control socket (mode 0600)")->capture_default_str();
  app.add_option("--xdp-mode", o.xdp_mode, "native, skb, or auto (native, falling back to skb)")
      ->capture_default_str()
      ->check(CLI::IsMember({"native", "skb", "auto"}));
  app.add_option("--pin-root", o.pin_root, "maps are pinned in <pin-root>/<ifname>/")->capture_default_str();
  app.add_option("--flow-table-size", o.flow_table_size, "flow-table entries; only used when the maps are created")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1u << 30));
  app.add_option("--nat-table-size", o.nat_table_size,
                 "nat/fullnat reply-table entries (preallocated); default: --flow-table-size; only used when the "
                 "maps are created")
      ->check(CLI::Range(1u, 1u << 30));
  app.add_flag("--verbose", o.verbose, "libbpf and libxdp debug output");
  auto* detach = app.add_option("--detach", o.detach,
                                "detach xlb_lb from IFNAME and from every other interface it was attached to "
                                "with it, remove its pins, and exit");
  detach->excludes(iface);
  app.add_flag("--check-kernel", o.check_kernel,
               "probe the kernel for what xlb_lb needs (Linux 5.14 or newer), print each feature, and exit: "
               "0 if all are there, 1 if not")
      ->excludes(iface)
      ->excludes(detach);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (o.check_kernel) {
    auto features = xlb::data_path_features();
    std::fputs(xlb::kernel_features_report(features).c_str(), stdout);
    return xlb::missing_features(features).empty() ? 0 : 1;
  }
  if (o.ifaces.empty() && o.detach.empty()) {
    std::fprintf(stderr, "lbd: --iface is required (or --detach IFNAME)\nRun with --help for more information.\n");
    return 2;
  }
  if (o.verbose) {
    libbpf_set_print(print_libbpf);
    libxdp_set_print(print_libxdp);
  }

  // SIGTERM/SIGINT only interrupt the poll wait (they are unblocked just
  // there), so a request is never cut in half. Exit leaves xlb_lb attached.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, nullptr);

  try {
    if (!o.detach.empty()) {
      xlb::ensure_bpffs(o.pin_root);
      if (!xlb::detach(o.detach, o.pin_root)) xlb::log_line("nothing to detach on " + o.detach);
      return 0;
    }
    return run_daemon(o);
  } catch (const std::exception& e) {
    xlb::log_line(std::string("error: ") + e.what());
    return 1;
  }
}
