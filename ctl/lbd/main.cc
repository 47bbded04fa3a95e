// lbd: attaches xlb_lb to one or more interfaces, owns its maps and serves
// the control API (docs/lbctl.md, docs/api.md).
#include <bpf/libbpf.h>
#include <net/if.h>
#include <signal.h>
#include <xdp/libxdp.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "announce/announcer.h"
#include "announce/desired.h"
#include "announce/netlink_table.h"
#include "api.h"
#include "bpf_map_io.h"
#include "core/config.h"
#include "core/error.h"
#include "fd_limit.h"
#include "health/checker.h"
#include "health/hc_attach.h"
#include "health/hc_target.h"
#include "health/monitor.h"
#include "kernel_features.h"
#include "loader.h"
#include "log.h"
#include "metrics/listen_address.h"
#include "metrics_service.h"
#include "neighbour_mac.h"
#include "neighbours.h"
#include "netif.h"
#include "owner_lock.h"
#include "reaper_thread.h"
#include "reload.h"
#include "running_state.h"
#include "pick/seed.h"
#include "state/start_plan.h"
#include "server.h"
#include "service/notify.h"
#include "watch.h"

namespace {

volatile sig_atomic_t g_signal = 0;
volatile sig_atomic_t g_hup = 0;
bool g_verbose = false;

// The main loop's tick: often enough for the reaper's interval (whose
// minimum is 100 ms) and to collect its results promptly.
constexpr int kTickMs = 100;
// How often the data path's pins and interfaces are checked (watch.h).
constexpr int kWatchIntervalMs = 1000;
// How often xlb_tx_ports is refilled whatever the link notifications said.
constexpr int kTxPortsRefreshMs = 30000;

void on_signal(int sig) {
  if (sig == SIGHUP)
    g_hup = 1;
  else
    g_signal = sig;
}

// libbpf and libxdp messages: everything with --verbose; otherwise only
// warnings, as log lines, without libbpf's memlock hint ("try raising
// 'ulimit -l'"), which it prints for any EPERM (here: libxdp's dispatcher,
// which this kernel refuses, before libxdp falls back to a plain attach),
// and without its account of that dispatcher's failure.
int print_lib(bool warning, const char* fmt, va_list ap) {
  if (g_verbose) return std::vfprintf(stderr, fmt, ap);
  if (!warning) return 0;
  va_list copy;
  va_copy(copy, ap);
  int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return 0;
  std::string text(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), fmt, ap);
  text.resize(static_cast<size_t>(n));
  if (text.find("ulimit -l") != std::string::npos || text.find("RLIMIT_MEMLOCK") != std::string::npos) return 0;
  // libxdp tries its dispatcher first and falls back by itself (saying so
  // if the fallback fails too): libbpf's account of that first failure is
  // noise.
  if (text.find("xdp-dispatcher") != std::string::npos || text.find("prog 'xdp_pass'") != std::string::npos ||
      text.find("prog 'xdp_dispatcher'") != std::string::npos)
    return 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (end > pos) xlb::log_line(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return n;
}
int print_libbpf(enum libbpf_print_level level, const char* fmt, va_list ap) {
  return print_lib(level == LIBBPF_WARN, fmt, ap);
}
int print_libxdp(enum libxdp_print_level level, const char* fmt, va_list ap) {
  return print_lib(level == LIBXDP_WARN, fmt, ap);
}

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
  std::string state_dir = "/var/lib/xlb";
  std::string metrics;  // ADDR:PORT of the Prometheus endpoint; empty: none
  std::string neighbours = "auto";  // netwatch/neighbour_plan.h
  uint32_t flow_table_size = XLB_DEFAULT_FLOWS;
  uint32_t nat_table_size = 0;  // 0: flow_table_size
  bool flow_table_size_given = false;  // given on the command line: warn if the running maps differ
  bool verbose = false;
  bool check_kernel = false;
  bool no_upgrade = false;  // keep a running xlb_lb of another build (loader.h)
  std::string detach;
  std::string announce_table;  // routing table of the announced VIPs (ctl/announce); empty: off
};

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The path as another process, in another directory, can use it.
std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[4096];
  return getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + path : path;
}

// xlb_hc_targets, for the health monitor.
class PinnedSteering : public xlb::health::Steering {
 public:
  explicit PinnedSteering(const std::string& pin_dir) : map_(pin_dir) {}
  void put(uint32_t mark, const xlb_hc_target& t) override { map_.put(mark, t); }
  void erase(uint32_t mark) override { map_.erase(mark); }
  std::map<uint32_t, xlb_hc_target> list() override { return map_.list(); }

 private:
  xlb::health::HcTargets map_;
};

// The health-check hook on every interface: it steers ipip and l2dsr
// checks the way their backends' traffic goes. Without it those checks
// can't run (the monitor says why); everything else works.
std::unique_ptr<PinnedSteering> attach_hc(const std::vector<std::string>& ifaces, const std::string& pin_dir,
                                          std::string* why_not) {
  try {
    for (const auto& iface : ifaces) xlb::health::hc_attach(iface, pin_dir);
    return std::make_unique<PinnedSteering>(pin_dir);
  } catch (const std::exception& e) {
    *why_not = std::string("the health-check hook could not be attached: ") + e.what();
    xlb::log_warn(*why_not + "; ipip and l2dsr VIPs' checks will not run");
    return nullptr;
  }
}

// The health state file, in a directory made if missing; "" (and a
// warning) if it can't be.
std::string health_state_path(const std::string& dir, const std::string& iface) {
  if (dir.empty()) return "";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    xlb::log_warn("cannot create " + dir + ": " + ec.message() + "; health states will not survive a restart");
    return "";
  }
  return dir + "/" + iface + ".health.json";
}

int run_daemon(const Options& o) {
  using namespace xlb;
  set_log_iface(o.ifaces.front());  // journal entries carry XLB_IFACE (log.h)
  // Parse the config before touching anything: a typo must not half-start lbd.
  std::optional<Config> startup;
  health::ChecksByVip startup_checks;
  std::optional<std::string> startup_hash;
  if (!o.config.empty()) {
    std::string text = read_file(o.config);
    startup = parse_config_text(text, o.config);
    startup_hash = state::content_hash(text);
    try {
      startup_checks = health::config_checks(*startup);
    } catch (const InputError& e) {
      throw InputError(o.config + ": " + e.what());
    }
  }

  // A busy metrics port, like a typo, fails the start before anything is touched.
  std::unique_ptr<MetricsService> scrapes;
  if (!o.metrics.empty()) scrapes = std::make_unique<MetricsService>(metrics::parse_listen_address(o.metrics));

  log_line(raise_fd_limit());  // before the rings' fds are opened
  check_ifaces(o.ifaces);  // unknown or repeated interfaces: before anything is touched
  const std::string& first = o.ifaces.front();
  // An old kernel: say what it lacks, not what the verifier thought of it.
  require_kernel_features(data_path_features());
  ensure_bpffs(o.pin_root);
  std::string pin_dir = pin_dir_of(o.pin_root, first);
  Fd lock = lock_pin_dir(pin_dir, first);

  // The data path's owner lock, taken before its program is adopted.
  OwnerLock owner;
  AttachOptions ao{o.ifaces, o.pin_root, o.xdp_mode, o.flow_table_size, o.nat_table_size, {}};
  ao.claim = [&](uint32_t config_id) {
    owner = OwnerLock::take(config_id, {pin_dir, o.ifaces, absolute(o.socket)},
                            "stop that lbd first, or manage the data path through it (`lbctl --socket SOCKET`); two "
                            "lbds must never drive the same maps");
  };
  ao.allow_upgrade = !o.no_upgrade;
  Attachment att;
  try {
    att = attach_or_adopt(ao);
  } catch (...) {
    rmdir(pin_dir.c_str());  // made for the lock; left only if something was pinned in it
    throw;
  }
  if (att.adopted || att.reused) {
    uint32_t nat = o.nat_table_size ? o.nat_table_size : o.flow_table_size_given ? o.flow_table_size : 0;
    for (const auto& w : table_size_warnings(att.pin_dir, first, o.flow_table_size_given ? o.flow_table_size : 0, nat))
      log_warn(w);
  }
  for (const auto& w : forwarding_warnings(o.ifaces)) log_warn(w);
  EgressFill egress = fill_tx_ports(att.pin_dir);
  log_line("xlb_tx_ports: " + std::to_string(egress.tx_ports) + " interfaces; xlb_egress: " +
           std::to_string(egress.vlans) + " VLAN devices");

  Balancer lb(std::make_unique<BpfMapIo>(att.pin_dir), interface_addresses(o.ifaces));
  for (const auto& note : lb.recover()) log_line("recovery: " + note);
  if (att.adopted || att.reused)
    log_line("recovered " + std::to_string(lb.vip_count()) + " VIPs and " + std::to_string(lb.backend_count()) +
             " backends from the maps");
  // Health checks: the hook, the checker thread, and the monitor that
  // turns their results into ring weights (health/monitor.h).
  std::string no_steering;
  std::unique_ptr<PinnedSteering> steering = attach_hc(o.ifaces, att.pin_dir, &no_steering);
  health::Checker checker;
  health::MonitorHooks hooks;
  hooks.set_targets = [&checker](std::vector<health::Target> t) { checker.set_targets(std::move(t)); };
  hooks.steering = steering.get();
  if (!no_steering.empty()) hooks.no_steering_reason = no_steering;
  hooks.neighbours = [] { return neighbour_macs(); };
  hooks.log = [](const std::string& line) { log_line("health: " + line); };
  hooks.warn = [](const std::string& line) { log_warn("health: " + line); };
  health::Monitor monitor(lb, hooks, health_state_path(o.state_dir, first), att.config_id);
  monitor.load(wall_ms());

  // What to start from: the pinned maps, the state file, --config
  // (state/start_plan.h).
  RunningState running(o.state_dir.empty() ? "" : o.state_dir + "/" + first + ".json");
  std::optional<state::Saved> saved = running.read();
  state::StartPlan plan = state::plan_start({att.adopted || att.reused, saved.has_value(),
                                             saved ? saved->config_applied : std::nullopt, startup_hash});
  log_line(plan.why);
  bool state_applied = false;
  if (plan.apply_state) {
    try {
      Config c = parse_config(saved->config);
      ApplyResult r = monitor.apply(c, health::config_checks(c), wall_ms());
      state_applied = true;
      log_line("rebuilt the running state from " + running.path() + ": " + std::to_string(r.added) + " added");
    } catch (const std::exception& e) {
      log_warn("the state file " + running.path() + " could not be applied (" + e.what() + "); starting without it");
    }
  }
  if (plan.apply_config) {
    ApplyResult r = monitor.apply(*startup, startup_checks, wall_ms());
    running.set_applied(*startup_hash);
    log_line("applied " + o.config + ": " + std::to_string(r.added) + " added, " + std::to_string(r.removed) +
             " removed, " + std::to_string(r.changed) + " changed");
  }
  // The flow-hash seed: the config's, else the running one (pinned maps or
  // state file), else a new one, never regenerated while one runs.
  pick::SeedChoice seed = pick::choose_seed(
      plan.apply_config ? startup->hash_seed : std::nullopt,
      att.adopted || att.reused || state_applied ? std::optional<uint32_t>(lb.hash_seed()) : std::nullopt,
      pick::random_seed);
  if (seed.source == pick::SeedSource::kGenerated) lb.set_hash_seed(seed.seed);
  log_line(pick::seed_log_line(seed));
  auto save_running = [&] { running.save(config_to_json(monitor.running_config())); };
  save_running();

  // Backends' next hops kept resolved, and the reactions to link, address
  // and route changes (neighbours.h).
  NeighbourKeeper::Hooks nh;
  nh.backends = [&lb] { return lb.backend_addresses(); };
  nh.links_changed = [&att] {
    try {
      EgressFill e = fill_tx_ports(att.pin_dir, true);
      log_line("links changed: xlb_tx_ports: " + std::to_string(e.tx_ports) + " interfaces; xlb_egress: " +
               std::to_string(e.vlans) + " VLAN devices");
    } catch (const std::exception& e) {
      log_warn(std::string("links changed, but xlb_tx_ports could not be refilled: ") + e.what());
    }
  };
  nh.addresses_changed = [&] {
    try {
      std::vector<std::string> lines = lb.set_interface_addresses(interface_addresses(o.ifaces));
      for (const auto& line : lines) log_line("addresses changed: " + line);
      if (!lines.empty()) {
        save_running();
        monitor.changed(wall_ms());  // steered checks' sources
      }
    } catch (const std::exception& e) {
      log_warn(std::string("addresses changed, but the sources could not follow: ") + e.what());
    }
  };
  nh.macs_changed = [&monitor] { monitor.changed(wall_ms()); };
  nh.log = [](const std::string& line) { log_line(line); };
  nh.warn = [](const std::string& line) { log_warn(line); };
  NeighbourKeeper neighbours(o.neighbours == "auto" ? std::nullopt
                                                    : std::optional(netwatch::parse_neighbour_mode(o.neighbours)),
                             nh);

  for (const auto& w : lb.nat_clash_warnings()) log_warn(w);
  for (const auto& w : lb.ring_warnings()) log_warn(w);

  // Announcing VIPs (ctl/announce, docs/design.md): started after recovery,
  // the health states and the start config, so a restart writes only what
  // changed. Recomputed whenever the balancer's model moved (a request, a
  // health transition's weight change).
  std::optional<uint32_t> announce_table;
  if (!o.announce_table.empty()) announce_table = announce::parse_table(o.announce_table);
  announce::Announcer announcer(
      announce_table, announce_table ? std::make_unique<announce::NetlinkTable>(*announce_table) : nullptr,
      o.state_dir.empty() ? "" : o.state_dir + "/" + first + ".node.json",
      {[](const std::string& l) { log_line("announce: " + l); },
       [](const std::string& l) { log_warn("announce: " + l); }});
  announcer.load();
  std::optional<uint64_t> announced_gen;
  auto announce_served = [&] {
    if (announced_gen == lb.generation()) return;
    try {
      announcer.set_served(announce::served_addresses(lb.list()), steady_ms());
      announced_gen = lb.generation();
    } catch (const std::exception& e) {
      if (announced_gen) log_warn(std::string("announce: cannot read the VIPs: ") + e.what());
      announced_gen.reset();  // retried on the next tick, logged once
    }
  };
  announce_served();
  if (announce_table)
    log_line("announcing served VIPs in routing table " + std::to_string(*announce_table) + " (proto 120)");

  // The reaper sweeps in its own thread, over map fds of its own.
  ReaperThread reaper(std::make_unique<BpfMapIo>(att.pin_dir));
  // The config's settings, or without --config those kept in the maps.
  reaper.configure(lb.timeouts(), lb.reap_interval_ms());

  Server server(o.socket);
  DaemonInfo info;
  for (const auto& ia : att.ifaces) info.ifaces.push_back({ia.iface, ia.ifindex});
  info.pin_dir = att.pin_dir;
  info.meta = [dir = att.pin_dir] { return read_meta(dir); };
  info.build_id = own_build_id();
  info.attachment = [](int ifindex) {
    auto found = find_attached(ifindex);
    return found ? *found : std::make_pair(std::string(), 0u);
  };
  std::vector<DataPathWatch::Iface> watched;
  for (const auto& ia : att.ifaces) watched.push_back({ia.iface, ia.ifindex});
  DataPathWatch watch(att.pin_dir, att.config_id, watched);
  info.health = [&watch] { return watch.problem(); };
  info.after_change = [&] {
    save_running();
    neighbours.backends_changed();
    announce_served();
  };
  info.neighbours = [&neighbours] { return neighbours.status(); };
  info.announce = [&announcer] { return announcer.status(); };
  info.set_drained = [&announcer](bool drained) { announcer.set_drained(drained, steady_ms()); };
  info.health_checks = [&checker, &att] {
    health::CheckerStats cs = checker.stats();
    nlohmann::json steering = nlohmann::json::object();
    try {
      std::vector<xlb_counter> counters = health::hc_read_stats(att.pin_dir);
      for (uint32_t i = 0; i < counters.size(); i++)
        if (const char* name = health::hc_stat_name(i); name && *name) steering[name] = counters[i].packets;
    } catch (const std::exception&) {
      steering = nullptr;  // no hook
    }
    return nlohmann::json{{"targets", cs.targets},
                          {"in_flight", cs.in_flight},
                          {"probes_started", cs.started},
                          {"skipped_busy", cs.skipped_busy},
                          {"checker_cpu_ms", std::chrono::duration_cast<std::chrono::milliseconds>(cs.cpu).count()},
                          {"steering_packets", steering}};
  };
  bool detached = false;
  Api api(
      lb, info,
      [&] {
        // Stop attracting traffic before it stops being forwarded.
        announcer.set_attached(false, steady_ms());
        try {
          detach(first, o.pin_root);
        } catch (...) {
          announcer.set_attached(true, steady_ms());  // still attached: announce again
          throw;
        }
        neighbours.release();
        forget_state(o.state_dir, first);
        owner.remove();
        detached = true;
        server.stop();
      },
      &reaper, &monitor);

  if (scrapes) {
    scrapes->start(std::make_unique<BpfMapIo>(att.pin_dir));
    log_line("metrics on http://" + o.metrics + "/metrics");
  }
  log_line("listening on " + o.socket);
  // Under systemd (Type=notify): ready once attached, configured and
  // listening; the watchdog is fed from the tick (service/notify.h).
  service::Notifier notifier;
  notifier.ready("serving " + first + " on " + o.socket);
  bool tick_failed = false;
  auto last_refresh = std::chrono::steady_clock::now();
  auto last_watch = last_refresh;
  server.run([&](const std::string& request) { return api.handle(request); },
             [&] {
               notifier.tick(std::chrono::steady_clock::now());
               // After `lbctl detach` the maps and the state files are gone
               // on purpose: nothing may write them again before lbd exits.
               if (detached) return;
               reaper.tick(lb);
               monitor.on_results(checker.take_results(), wall_ms(), std::chrono::steady_clock::now());
               monitor.tick(wall_ms());
               announce_served();
               announcer.tick(steady_ms());
               if (scrapes) scrapes->tick(api);
               auto now = std::chrono::steady_clock::now();
               if (now - last_watch >= std::chrono::milliseconds(kWatchIntervalMs)) {
                 last_watch = now;
                 watch.check();
                 // A program removed from an interface behind lbd's back:
                 // stop attracting the traffic it no longer forwards.
                 if (watch.attached_everywhere() != announcer.attached())
                   announcer.set_attached(watch.attached_everywhere(), steady_ms());
               }
               neighbours.tick(now);
               if (now - last_refresh < std::chrono::milliseconds(kTxPortsRefreshMs)) return;
               last_refresh = now;
               try {
                 fill_tx_ports(att.pin_dir, true);
                 tick_failed = false;
               } catch (const std::exception& e) {
                 if (!tick_failed) log_warn(std::string("periodic refresh: ") + e.what());
                 tick_failed = true;
               }
             },
             kTickMs, [&] {
               if (g_hup) {
                 g_hup = 0;
                 if (o.config.empty()) {
                   log_line("SIGHUP ignored: lbd was started without --config, so there is nothing to reload");
                 } else {
                   notifier.reloading("reloading " + o.config);
                   if (auto hash = reload_config(api, o.config)) {
                     running.set_applied(*hash);
                     save_running();
                     neighbours.backends_changed();
                   }
                   notifier.reloaded("serving " + first + " on " + o.socket);
                 }
               }
               return g_signal != 0;
             });
  notifier.stopping(detached ? "detached; exiting" : "exiting; the program stays attached");
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

// lbd --detach IFNAME: refused while an lbd owns that data path (it would
// go on acknowledging changes to maps that are gone).
int run_detach(const Options& o) {
  using namespace xlb;
  ensure_bpffs(o.pin_root);
  std::string dir = pin_dir_of(o.pin_root, o.detach);
  uint32_t config_id = pinned_map_id(dir, XLB_MAP_CONFIG);
  if (!config_id)
    if (int ifindex = static_cast<int>(if_nametoindex(o.detach.c_str()))) config_id = attached_config_id(ifindex);
  OwnerLock owner;
  if (config_id)
    owner = OwnerLock::take(config_id, {dir, {o.detach}, ""},
                            "stop that lbd first, or detach through it with `lbctl --socket SOCKET detach`");
  if (!o.announce_table.empty()) {
    // What lbd's own detach does: withdraw before the program goes.
    announce::NetlinkTable table(announce::parse_table(o.announce_table));
    for (const auto& a : table.list()) {
      table.remove(a);
      log_line("announce: withdrew " + a.str());
    }
  }
  if (!detach(o.detach, o.pin_root)) log_line("nothing to detach on " + o.detach);
  forget_state(o.state_dir, o.detach);
  owner.remove();
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
  app.add_option("--state-dir", o.state_dir,
                 "health checks and states are kept in <state-dir>/<ifname>.health.json across restarts; "
                 "empty: not kept")
      ->capture_default_str();
  auto* flow_size = app.add_option("--flow-table-size", o.flow_table_size,
                                   "flow-table entries; only used when the maps are created")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1u << 30));
  app.add_option("--nat-table-size", o.nat_table_size,
                 "nat/fullnat reply-table entries (preallocated); default: --flow-table-size; only used when the "
                 "maps are created")
      ->check(CLI::Range(1u, 1u << 30));
  app.add_option("--neighbours", o.neighbours,
                 "how backends' next hops are kept resolved: managed (kernel-managed entries, Linux 5.16+), use "
                 "(NTF_USE refreshes), or auto (managed where the kernel has it)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "managed", "use"}));
  app.add_option("--metrics", o.metrics,
                 "serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9466 or [::1]:9466); "
                 "off by default")
      ->type_name("ADDR:PORT")
      ->check([](const std::string& text) {
        try {
          xlb::metrics::parse_listen_address(text);
          return std::string();
        } catch (const std::exception& e) {
          return std::string(e.what());
        }
      });
  app.add_option("--announce-table", o.announce_table,
                 "keep one blackhole route (proto 120) per served VIP address in this kernel routing table, for "
                 "BIRD or FRR to announce (docs/operations.md, \"Several load balancers\"); 1 to 2^31, not "
                 "253-255; off by default")
      ->type_name("N")
      ->check([](const std::string& text) {
        try {
          xlb::announce::parse_table(text);
          return std::string();
        } catch (const std::exception& e) {
          return std::string(e.what());
        }
      });
  app.add_flag("--verbose", o.verbose, "libbpf and libxdp debug output");
  app.add_flag("--no-upgrade", o.no_upgrade,
               "keep a running xlb_lb of another build (same ABI) instead of replacing it with this lbd's");
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
  o.flow_table_size_given = flow_size->count() > 0;
  g_verbose = o.verbose;
  libbpf_set_print(print_libbpf);
  libxdp_set_print(print_libxdp);

  // SIGTERM/SIGINT only interrupt the poll wait (they are unblocked just
  // there), so a request is never cut in half; the Server's destructor
  // removes the socket on the way out. Exit leaves xlb_lb attached. SIGHUP
  // is taken in the main loop too: it reloads --config (reload.h).
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGHUP);
  sigprocmask(SIG_BLOCK, &block, nullptr);

  try {
    if (!o.detach.empty()) return run_detach(o);
    return run_daemon(o);
  } catch (const std::exception& e) {
    xlb::log_line(std::string("error: ") + e.what());
    return 1;
  }
}
