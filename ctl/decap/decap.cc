// See decap.h.
#include "decap.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ifaddrs.h>
#include <linux/magic.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "allow.h"
#include "decap.skel.h"

namespace xlb::decap {
namespace {

constexpr const char* kBpffs = "/sys/fs/bpf";
constexpr const char* kAddrsMap = "xlb_decap_addrs";
constexpr const char* kStatsMap = "xlb_decap_stats";
constexpr const char* kAllowMap = "xlb_decap_allow";
constexpr const char* kConfigMap = "xlb_decap_config";
constexpr const char* kPinnedMaps[] = {kAddrsMap, kStatsMap, kAllowMap, kConfigMap};

bool g_verbose = false;

std::string errstr(int err) {
  if (err < 0) err = -err;
  char buf[256];
  if (libxdp_strerror(err, buf, sizeof buf) == 0) return buf;
  return std::strerror(err);
}

// Silent without --verbose: libxdp logs expected fallbacks (e.g. "dispatcher
// compatibility check failed ... falling back to single prog") as warnings,
// and every real failure is reported by this tool in one line anyway.
int print_libbpf(enum libbpf_print_level, const char* fmt, va_list ap) {
  return g_verbose ? std::vfprintf(stderr, fmt, ap) : 0;
}

int print_libxdp(enum libxdp_print_level, const char* fmt, va_list ap) {
  return g_verbose ? std::vfprintf(stderr, fmt, ap) : 0;
}

int ifindex_of(const std::string& ifname) {
  unsigned idx = if_nametoindex(ifname.c_str());
  if (idx == 0) throw Failure("no interface " + ifname + ": " + std::strerror(errno));
  return static_cast<int>(idx);
}

std::string pin_dir(const std::string& ifname) { return std::string(kPinRoot) + "/" + ifname; }

bool is_bpffs(const char* path) {
  struct statfs st {};
  return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

// libxdp pins its dispatcher under /sys/fs/bpf and libbpf pins our maps there,
// so bpffs must be mounted. Inside `ip netns exec` it is not: that command
// runs in a private mount namespace with a fresh sysfs over /sys, and the
// bpffs mounted here is a new, private instance that disappears with that
// mount namespace when the command exits. Returns true in that case (the
// caller decides whether that matters; see attach()).
bool ensure_bpffs() {
  if (is_bpffs(kBpffs)) return false;
  if (mount("bpf", kBpffs, "bpf", 0, "mode=0700") != 0)
    throw Failure(std::string("bpffs is not mounted at /sys/fs/bpf and mounting it failed: ") +
                  std::strerror(errno));
  if (g_verbose)
    std::fprintf(stderr, "xlb-decap: mounted a bpffs at /sys/fs/bpf (private to this mount "
                         "namespace)\n");
  return true;
}

void mkdir_p(const std::string& path) {
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = path.find('/', pos + 1);
    std::string part = path.substr(0, pos);
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
      throw Failure("mkdir " + part + ": " + std::strerror(errno));
  }
}

void unlink_pins(const std::string& dir) {
  for (const char* name : kPinnedMaps) unlink((dir + "/" + name).c_str());
}

void remove_pins(const std::string& ifname) {
  std::string dir = pin_dir(ifname);
  unlink_pins(dir);
  rmdir(dir.c_str());
  // kPinRoot itself stays: removing it could race with a concurrent attach
  // on another interface that has just created it.
}

// The xlb_decap program attached to an interface, found through libxdp (works
// for a dispatcher with several programs and for a legacy single program).
struct Attached {
  struct xdp_multiprog* mp = nullptr;
  struct xdp_program* prog = nullptr;  // owned by mp
  ~Attached() {
    if (mp) xdp_multiprog__close(mp);
  }
  Attached() = default;
  Attached(const Attached&) = delete;
  Attached& operator=(const Attached&) = delete;
};

bool is_ours(struct xdp_program* p) {
  const char* name = p ? xdp_program__name(p) : nullptr;
  return name && std::strcmp(name, XLB_DECAP_PROG_NAME) == 0;
}

void find_attached(int ifindex, Attached* out) {
  struct xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
  long err = libxdp_get_error(mp);
  if (err) {
    if (err == -ENOENT) return;  // nothing attached
    throw Failure("querying XDP programs: " + errstr(static_cast<int>(err)));
  }
  out->mp = mp;
  if (xdp_multiprog__is_legacy(mp)) {
    struct xdp_program* p = xdp_multiprog__main_prog(mp);
    if (is_ours(p)) out->prog = p;
    return;
  }
  for (struct xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p;
       p = xdp_multiprog__next_prog(p, mp)) {
    if (is_ours(p)) {
      out->prog = p;
      return;
    }
  }
}

// fd of the map `name` used by the loaded program prog_fd, or -1.
int map_of_prog(int prog_fd, const char* name) {
  struct bpf_prog_info info {};
  __u32 len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return -1;
  std::vector<__u32> ids(info.nr_map_ids);
  if (ids.empty()) return -1;
  struct bpf_prog_info info2 {};
  info2.nr_map_ids = static_cast<__u32>(ids.size());
  info2.map_ids = reinterpret_cast<__u64>(ids.data());
  len = sizeof info2;
  if (bpf_obj_get_info_by_fd(prog_fd, &info2, &len) != 0) return -1;
  for (__u32 i = 0; i < info2.nr_map_ids && i < ids.size(); i++) {
    int fd = bpf_map_get_fd_by_id(ids[i]);
    if (fd < 0) continue;
    struct bpf_map_info mi {};
    __u32 mlen = sizeof mi;
    if (bpf_obj_get_info_by_fd(fd, &mi, &mlen) == 0 && std::strcmp(mi.name, name) == 0)
      return fd;
    close(fd);
  }
  return -1;
}

// A map of the instance on ifname: through the attached program if there is
// one (independent of which bpffs this process sees), else through its pin.
int open_map(const std::string& ifname, int ifindex, const char* name) {
  if (ifindex > 0) {
    Attached a;
    find_attached(ifindex, &a);
    if (a.prog) {
      int fd = map_of_prog(xdp_program__fd(a.prog), name);
      if (fd >= 0) return fd;
    }
  }
  int fd = bpf_obj_get((pin_dir(ifname) + "/" + name).c_str());
  if (fd < 0) throw Failure("xlb_decap is not attached to " + ifname);
  return fd;
}

std::vector<xlb_decap_addr_key> interface_addrs(const std::string& ifname) {
  struct ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) throw Failure(std::string("getifaddrs: ") + std::strerror(errno));
  std::vector<xlb_decap_addr_key> out;
  for (struct ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || ifname != i->ifa_name) continue;
    xlb_decap_addr_key k;
    std::memset(&k, 0, sizeof k);
    if (i->ifa_addr->sa_family == AF_INET) {
      k.family = XLB_AF_INET;
      std::memcpy(&k.addr.v4, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, 4);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      k.family = XLB_AF_INET6;
      std::memcpy(&k.addr, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    out.push_back(k);
  }
  freeifaddrs(list);
  return out;
}

bool same_key(const xlb_decap_addr_key& a, const xlb_decap_addr_key& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// Makes the map hold exactly `want`: stale entries first removed, then the
// wanted ones written (an address in both sets never disappears).
void sync_addrs(int fd, const std::vector<xlb_decap_addr_key>& want) {
  std::vector<xlb_decap_addr_key> have;
  xlb_decap_addr_key k, next;
  std::memset(&k, 0, sizeof k);
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0 && have.size() < 4 * XLB_MAX_DECAP_ADDRS) {
    have.push_back(next);
    k = next;
    prev = &k;
  }
  for (const auto& h : have) {
    bool keep = false;
    for (const auto& w : want) keep |= same_key(h, w);
    if (!keep && bpf_map_delete_elem(fd, &h) != 0 && errno != ENOENT)
      throw Failure("removing " + addr_str(h) + " from " + kAddrsMap + ": " +
                    std::strerror(errno));
  }
  const __u32 one = 1;
  for (const auto& w : want)
    if (bpf_map_update_elem(fd, &w, &one, BPF_ANY) != 0)
      throw Failure("adding " + addr_str(w) + " to " + kAddrsMap + ": " + std::strerror(errno));
}

bool same_allow(const xlb_decap_allow_key& a, const xlb_decap_allow_key& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// Makes the allow list exactly `want`, and on (XLB_DECAP_F_ALLOW_LIST) if
// it is not empty. Switching it on or changing it adds the new prefixes
// before removing stale ones, so a source allowed before and after is never
// dropped in between; switching it off clears the flag before the entries.
void sync_allow(int allow_fd, int config_fd, const std::vector<xlb_decap_allow_key>& want) {
  std::vector<xlb_decap_allow_key> have;
  xlb_decap_allow_key k, next;
  std::memset(&k, 0, sizeof k);
  const void* prev = nullptr;
  while (bpf_map_get_next_key(allow_fd, prev, &next) == 0 && have.size() < 4 * XLB_MAX_DECAP_ALLOW) {
    have.push_back(next);
    k = next;
    prev = &k;
  }
  const __u32 zero = 0;
  xlb_decap_config cfg;
  std::memset(&cfg, 0, sizeof cfg);
  if (want.empty() && bpf_map_update_elem(config_fd, &zero, &cfg, BPF_ANY) != 0)
    throw Failure(std::string("writing ") + kConfigMap + ": " + std::strerror(errno));
  const __u32 one = 1;
  for (const auto& w : want)
    if (bpf_map_update_elem(allow_fd, &w, &one, BPF_ANY) != 0)
      throw Failure("adding " + allow_str(w) + " to " + kAllowMap + ": " + std::strerror(errno));
  for (const auto& h : have) {
    bool keep = false;
    for (const auto& w : want) keep |= same_allow(h, w);
    if (!keep && bpf_map_delete_elem(allow_fd, &h) != 0 && errno != ENOENT)
      throw Failure("removing " + allow_str(h) + " from " + kAllowMap + ": " + std::strerror(errno));
  }
  if (!want.empty()) {
    cfg.flags = XLB_DECAP_F_ALLOW_LIST;
    if (bpf_map_update_elem(config_fd, &zero, &cfg, BPF_ANY) != 0)
      throw Failure(std::string("writing ") + kConfigMap + ": " + std::strerror(errno));
  }
}

// Without --allow the backend decapsulates IP-in-IP from anyone: say so
// loudly, once per attach, on stderr.
void warn_if_open(const std::string& ifname, const std::vector<xlb_decap_allow_key>& allow) {
  if (!allow.empty()) return;
  std::fprintf(stderr,
               "xlb-decap: warning: no --allow given: %s accepts IP-in-IP from any source, so anyone "
               "who can reach it can inject packets with forged client addresses. Give the load "
               "balancers' encapsulation sources, e.g. --allow 172.16.0.0/16 (lbd's default "
               "encap.source_v4) --allow <the LB's IPv6 address>\n",
               ifname.c_str());
}

std::string allow_summary(const std::vector<xlb_decap_allow_key>& allow) {
  if (allow.empty()) return "any source";
  std::string out = "sources";
  for (const auto& a : allow) out += " " + allow_str(a);
  return out;
}

const char* mode_name(enum xdp_attach_mode m) {
  switch (m) {
    case XDP_MODE_NATIVE: return "native";
    case XDP_MODE_SKB: return "skb";
    case XDP_MODE_HW: return "hw";
    default: return "unknown";
  }
}

}  // namespace

bool parse_addr(const std::string& text, xlb_decap_addr_key* key) {
  std::memset(key, 0, sizeof *key);
  if (inet_pton(AF_INET, text.c_str(), &key->addr.v4) == 1) {
    key->family = XLB_AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), &key->addr) == 1) {
    key->family = XLB_AF_INET6;
    return true;
  }
  std::memset(key, 0, sizeof *key);
  return false;
}

std::string addr_str(const xlb_decap_addr_key& key) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (key.family == XLB_AF_INET)
    inet_ntop(AF_INET, &key.addr.v4, buf, sizeof buf);
  else if (key.family == XLB_AF_INET6)
    inet_ntop(AF_INET6, &key.addr, buf, sizeof buf);
  return buf;
}

void set_verbose(bool verbose) {
  g_verbose = verbose;
  libbpf_set_print(print_libbpf);
  libxdp_set_print(print_libxdp);
}

void attach(const std::string& ifname, const std::vector<xlb_decap_addr_key>& addrs_in,
            const std::vector<xlb_decap_allow_key>& allow_in, Mode mode) {
  int ifindex = ifindex_of(ifname);
  std::vector<xlb_decap_addr_key> addrs;
  const std::vector<xlb_decap_addr_key> source =
      addrs_in.empty() ? interface_addrs(ifname) : addrs_in;
  for (const auto& a : source) {
    bool dup = false;
    for (const auto& b : addrs) dup |= same_key(a, b);
    if (!dup) addrs.push_back(a);
  }
  if (addrs.empty())
    throw Failure(ifname + " has no IPv4/IPv6 address; give them with --addr");
  if (addrs.size() > XLB_MAX_DECAP_ADDRS)
    throw Failure("too many addresses (" + std::to_string(addrs.size()) + ", at most " +
                  std::to_string(XLB_MAX_DECAP_ADDRS) + ")");
  std::vector<xlb_decap_allow_key> allow;
  for (const auto& a : allow_in) {
    bool dup = false;
    for (const auto& b : allow) dup |= same_allow(a, b);
    if (!dup) allow.push_back(a);
  }
  if (allow.size() > XLB_MAX_DECAP_ALLOW)
    throw Failure("too many --allow prefixes (" + std::to_string(allow.size()) + ", at most " +
                  std::to_string(XLB_MAX_DECAP_ALLOW) + ")");
  const bool private_bpffs = ensure_bpffs();

  // Already attached (by an earlier run): adopt it, only the addresses change.
  {
    Attached a;
    find_attached(ifindex, &a);
    if (a.prog) {
      const int prog_fd = xdp_program__fd(a.prog);
      int fd = map_of_prog(prog_fd, kAddrsMap);
      int allow_fd = map_of_prog(prog_fd, kAllowMap);
      int config_fd = map_of_prog(prog_fd, kConfigMap);
      auto close_all = [&] {
        for (int f : {fd, allow_fd, config_fd})
          if (f >= 0) close(f);
      };
      if (fd < 0 || allow_fd < 0 || config_fd < 0) {
        close_all();
        throw Failure("xlb_decap on " + ifname + " lacks its maps (an older version?); detach it "
                      "and attach again");
      }
      try {
        sync_allow(allow_fd, config_fd, allow);
        sync_addrs(fd, addrs);
      } catch (...) {
        close_all();
        throw;
      }
      close_all();
      warn_if_open(ifname, allow);
      std::printf("xlb_decap already attached to %s (%s): %zu address(es) set, %s\n", ifname.c_str(),
                  mode_name(xdp_multiprog__attach_mode(a.mp)), addrs.size(), allow_summary(allow).c_str());
      return;
    }
  }

  // Not attached here, so pins left in dir are stale (an instance detached
  // by other means) or belong to a same-named interface in another network
  // namespace that shares this bpffs. Never reuse them: a fresh instance
  // gets fresh maps. (Every command finds the maps through the attached
  // program first, so the other instance keeps working.)
  std::string dir = pin_dir(ifname);
  unlink_pins(dir);
  mkdir_p(dir);
  LIBBPF_OPTS(bpf_object_open_opts, open_opts);
  open_opts.pin_root_path = dir.c_str();
  struct decap_bpf* skel = decap_bpf__open_opts(&open_opts);
  if (!skel) throw Failure("opening the decap BPF object: " + errstr(errno));
  // Note: the program is loaded by xdp_program__attach() below; a verifier
  // rejection surfaces there.

  // libxdp loads the object itself (as an extension of its dispatcher), so
  // the skeleton is only opened here, not loaded.
  DECLARE_LIBXDP_OPTS(xdp_program_opts, xdp_opts, .obj = skel->obj,
                      .prog_name = XLB_DECAP_PROG_NAME);
  struct xdp_program* prog = xdp_program__create(&xdp_opts);
  long perr = libxdp_get_error(prog);
  if (perr) {
    decap_bpf__destroy(skel);
    throw Failure("creating the XDP program: " + errstr(static_cast<int>(perr)));
  }

  enum xdp_attach_mode used = mode == Mode::Skb ? XDP_MODE_SKB : XDP_MODE_NATIVE;
  int err = xdp_program__attach(prog, ifindex, used, 0);
  if (err && mode == Mode::Auto) {
    std::fprintf(stderr,
                 "xlb-decap: warning: native XDP on %s failed (%s); using skb (generic) mode\n",
                 ifname.c_str(), errstr(err).c_str());
    used = XDP_MODE_SKB;
    err = xdp_program__attach(prog, ifindex, used, 0);
  }
  if (err) {
    xdp_program__close(prog);
    decap_bpf__destroy(skel);
    throw Failure("attaching to " + ifname + " (" + mode_name(used) + "): " + errstr(err) +
                  " (--verbose shows libbpf/libxdp details)");
  }

  // Between the attach and this fill the map is empty and tunnel packets
  // pass untouched: harmless at setup time. (libxdp must load the object
  // itself, so the map cannot be filled before the attach.)
  try {
    // The allow list first: no tunnel packet is decapsulated (its address
    // is not in the map yet) before the list holds.
    sync_allow(bpf_map__fd(skel->maps.xlb_decap_allow), bpf_map__fd(skel->maps.xlb_decap_config), allow);
    sync_addrs(bpf_map__fd(skel->maps.xlb_decap_addrs), addrs);
  } catch (...) {
    xdp_program__detach(prog, ifindex, used, 0);
    xdp_program__close(prog);
    decap_bpf__destroy(skel);
    remove_pins(ifname);
    throw;
  }
  // The program stays attached after exit. If libxdp attached it directly
  // ("legacy" single-program mode, which it falls back to when the kernel
  // refuses its dispatcher, as on kernels where freplace loads fail), the
  // netlink attachment holds it, and our pins are only a convenience (every
  // command finds the maps through the attached program). Behind libxdp's
  // dispatcher, though, only the bpf_link pinned in /sys/fs/bpf/xdp/ holds
  // it: in a private bpffs (`ip netns exec`) that link would be released
  // when this process's mount namespace ends, silently unplugging the
  // program. Refuse that instead of leaving a time bomb.
  if (private_bpffs) {
    Attached now;
    find_attached(ifindex, &now);
    if (now.mp && !xdp_multiprog__is_legacy(now.mp)) {
      xdp_program__detach(prog, ifindex, used, 0);
      xdp_program__close(prog);
      decap_bpf__destroy(skel);
      remove_pins(ifname);
      throw Failure(
          "bpffs is not visible here (ip netns exec?), and the libxdp dispatcher's pins would "
          "vanish on exit; run in the host mount namespace, e.g. `nsenter --net=/run/netns/NAME "
          "xlb-decap attach ...`");
    }
  }
  xdp_program__close(prog);
  decap_bpf__destroy(skel);
  warn_if_open(ifname, allow);
  std::printf("xlb_decap attached to %s (%s): %zu address(es), %s\n", ifname.c_str(), mode_name(used),
              addrs.size(), allow_summary(allow).c_str());
}

void detach(const std::string& ifname) {
  unsigned idx = if_nametoindex(ifname.c_str());
  if (idx == 0) {
    remove_pins(ifname);
    throw Failure("no interface " + ifname);
  }
  ensure_bpffs();  // libxdp finds the dispatcher's programs through its pins
  Attached a;
  find_attached(static_cast<int>(idx), &a);
  if (!a.prog) {
    remove_pins(ifname);
    throw Failure("xlb_decap is not attached to " + ifname);
  }
  int err = xdp_program__detach(a.prog, static_cast<int>(idx),
                                xdp_multiprog__attach_mode(a.mp), 0);
  if (err) throw Failure("detaching from " + ifname + ": " + errstr(err));
  remove_pins(ifname);
}

void print_stats(const std::string& ifname, bool json) {
  static const char* const names[XLB_DECAP_STAT_MAX] = {"rx",       "decapped", "pass",
                                                              "malformed", "ecn_drop", "denied"};
  unsigned idx = if_nametoindex(ifname.c_str());
  if (idx == 0) throw Failure("no interface " + ifname);
  ensure_bpffs();
  int fd = open_map(ifname, static_cast<int>(idx), kStatsMap);
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) {
    close(fd);
    throw Failure("cannot count possible CPUs: " + errstr(ncpu));
  }
  std::vector<xlb_counter> per_cpu(static_cast<size_t>(ncpu));
  xlb_counter sums[XLB_DECAP_STAT_MAX] = {};
  for (__u32 s = 0; s < XLB_DECAP_STAT_MAX; s++) {
    if (bpf_map_lookup_elem(fd, &s, per_cpu.data()) != 0) {
      int e = errno;
      close(fd);
      throw Failure(std::string("reading ") + kStatsMap + ": " + std::strerror(e));
    }
    for (const auto& c : per_cpu) {
      sums[s].packets += c.packets;
      sums[s].bytes += c.bytes;
    }
  }
  close(fd);
  if (json) {
    nlohmann::json j;
    j["ifname"] = ifname;
    for (int s = 0; s < XLB_DECAP_STAT_MAX; s++)
      j["counters"][names[s]] = {{"packets", sums[s].packets}, {"bytes", sums[s].bytes}};
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("%-10s %14s %16s\n", "counter", "packets", "bytes");
  for (int s = 0; s < XLB_DECAP_STAT_MAX; s++)
    std::printf("%-10s %14llu %16llu\n", names[s],
                static_cast<unsigned long long>(sums[s].packets),
                static_cast<unsigned long long>(sums[s].bytes));
}

}  // namespace xlb::decap
