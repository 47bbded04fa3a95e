#include "loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <xdp/libxdp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <vector>

#include "core/error.h"
#include "health/hc_attach.h"
#include "lb.skel.h"
#include "log.h"
#include "links.h"
#include "netif.h"
#include "upgrade/build_id.h"
#include "upgrade/decide.h"
#include "xlb/abi.h"

namespace xlb {

namespace {

std::string errstr(int err) { return std::strerror(err < 0 ? -err : err); }

std::string xdp_errstr(int err) {
  char buf[256];
  libxdp_strerror(err, buf, sizeof buf);
  return buf;
}

bool is_bpffs(const std::string& path) {
  struct statfs st {};
  return statfs(path.c_str(), &st) == 0 && st.f_type == static_cast<decltype(st.f_type)>(BPF_FS_MAGIC);
}

void mkdir_p(const std::string& path, mode_t mode) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      throw SystemError("cannot create " + cur + ": " + std::strerror(errno));
  }
}

std::string attach_mode_name(enum xdp_attach_mode m) {
  switch (m) {
    case XDP_MODE_NATIVE: return "native";
    case XDP_MODE_SKB: return "skb";
    case XDP_MODE_HW: return "hw";
    default: return "unknown";
  }
}

// Calls fn(mp, prog) for the xlb_lb program attached to ifindex, if any,
// while the multiprog handle is open. Handles both the libxdp dispatcher and
// a legacy (single program, no dispatcher) attachment.
bool with_attached(int ifindex, const std::function<void(xdp_multiprog*, xdp_program*)>& fn) {
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
  if (!mp || libxdp_get_error(mp)) return false;
  xdp_program* found = nullptr;
  auto is_ours = [](xdp_program* p) {
    const char* name = p ? xdp_program__name(p) : nullptr;
    return name && std::strcmp(name, XLB_PROG_NAME) == 0;
  };
  if (xdp_multiprog__is_legacy(mp)) {
    if (is_ours(xdp_multiprog__main_prog(mp))) found = xdp_multiprog__main_prog(mp);
  } else {
    for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p && !found;
         p = xdp_multiprog__next_prog(p, mp))
      if (is_ours(p)) found = p;
  }
  if (!found && is_ours(xdp_multiprog__hw_prog(mp))) found = xdp_multiprog__hw_prog(mp);
  if (found) fn(mp, found);
  xdp_multiprog__close(mp);
  return found != nullptr;
}

// Makes the object use the maps already pinned in the pin directory (their
// state survives a detach by someone else, or a failed first attach). libbpf
// would do this itself but refuses a devmap: the kernel adds
// BPF_F_RDONLY_PROG to its flags, so the pinned map never looks compatible.
// Checked here instead, ignoring that flag; the pinned flow table keeps its
// size (--flow-table-size and --nat-table-size only apply to a new one).
void reuse_pinned_maps(bpf_object* obj) {
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    const char* path = bpf_map__pin_path(map);
    if (!path) continue;
    Fd fd(bpf_obj_get(path));
    if (!fd) continue;  // not pinned yet: libbpf creates and pins it
    bpf_map_info info{};
    uint32_t len = sizeof info;
    int err = bpf_obj_get_info_by_fd(fd.get(), &info, &len);
    if (err) throw SystemError(std::string("cannot inspect ") + path + ": " + errstr(err));
    const uint32_t ignored = BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
    // Sized by --flow-table-size and --nat-table-size when created.
    bool flows = std::strcmp(bpf_map__name(map), XLB_MAP_FLOWS) == 0 ||
                 std::strcmp(bpf_map__name(map), XLB_MAP_NAT_REV) == 0;
    // xlb_nat_rev became an LRU (it was a plain hash): a kernel map can't
    // change type, so the old one can't be taken over; say what to do.
    if (std::strcmp(bpf_map__name(map), XLB_MAP_NAT_REV) == 0 && info.type == BPF_MAP_TYPE_HASH &&
        bpf_map__type(map) == BPF_MAP_TYPE_LRU_HASH)
      throw SystemError(std::string("pinned map ") + path +
                        " is the plain hash of an xlb older than its LRU nat reply table, and can't be reused; "
                        "run `lbd --detach IFNAME` and start lbd again (open nat/fullnat connections through "
                        "this load balancer are lost; see docs/operations.md, \"Restarts and upgrades\")");
    if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
        info.value_size != bpf_map__value_size(map) ||
        (!flows && info.max_entries != bpf_map__max_entries(map)) ||
        (info.map_flags & ~ignored) != (bpf_map__map_flags(map) & ~ignored))
      throw SystemError(std::string("pinned map ") + path +
                        " does not match this lbd's program (left by another xlb version?); remove it with "
                        "`lbd --detach IFNAME`");
    err = bpf_map__reuse_fd(map, fd.get());
    if (err) throw SystemError(std::string("cannot reuse ") + path + ": " + errstr(err));
  }
}

std::string adjust_pin_path(const std::string& pin_dir) { return pin_dir + "/" + XLB_CONN_ADJUST_PROG_NAME; }

// Pins the adjust program, replacing a pin left by an earlier object.
void pin_adjust_program(int prog_fd, const std::string& pin_dir) {
  std::string path = adjust_pin_path(pin_dir);
  unlink(path.c_str());
  if (bpf_obj_pin(prog_fd, path.c_str()) != 0)
    throw SystemError("cannot pin " + path + ": " + std::strerror(errno));
}

uint32_t map_id_of(int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

// Is the pinned adjust program one that works on the pinned xlb_conns? A
// pin surviving from another load of the object would adjust the counts of
// a map the data plane no longer reads.
bool adjust_pin_usable(const std::string& pin_dir) {
  Fd prog(bpf_obj_get(adjust_pin_path(pin_dir).c_str()));
  Fd conns(bpf_obj_get((pin_dir + "/" + XLB_MAP_CONNS).c_str()));
  if (!prog || !conns) return false;
  uint32_t conns_id = map_id_of(conns.get());
  std::vector<uint32_t> ids(64);
  bpf_prog_info info{};
  info.nr_map_ids = static_cast<uint32_t>(ids.size());
  info.map_ids = reinterpret_cast<uint64_t>(ids.data());
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog.get(), &info, &len) != 0 || info.type != BPF_PROG_TYPE_SYSCALL) return false;
  ids.resize(std::min<size_t>(info.nr_map_ids, ids.size()));
  return conns_id && std::find(ids.begin(), ids.end(), conns_id) != ids.end();
}

// Loads another copy of the object over the pinned maps, attaching nothing
// and loading only xlb_conn_adjust, and pins that program. For an adopted
// xlb_lb whose adjust pin is gone (lost with its bpffs mount, see
// repin_from_program): the program is the only way to change counts.
void load_adjust_program(const std::string& pin_dir) {
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_dir.c_str());
  lb_bpf* skel = lb_bpf__open_opts(&open_opts);
  if (!skel) throw SystemError("cannot open the BPF object: " + std::string(std::strerror(errno)));
  try {
    bpf_program__set_autoload(skel->progs.xlb_lb, false);
    reuse_pinned_maps(skel->obj);  // every map: the adopted program's own
    int err = lb_bpf__load(skel);
    if (err) throw SystemError(std::string("cannot load ") + XLB_CONN_ADJUST_PROG_NAME + ": " + errstr(err));
    pin_adjust_program(bpf_program__fd(skel->progs.xlb_conn_adjust), pin_dir);
    lb_bpf__destroy(skel);
  } catch (...) {
    lb_bpf__destroy(skel);
    throw;
  }
  log_line(std::string("loaded and pinned ") + XLB_CONN_ADJUST_PROG_NAME + " for the adopted maps");
}

void ensure_adjust_program(const std::string& pin_dir) {
  if (!adjust_pin_usable(pin_dir)) load_adjust_program(pin_dir);
}

// The lb object, loaded, and its XDP program: attached to interfaces one by
// one, and closed (never detached: detaching is explicit) on destruction.
// skel is null for a program found by id (an adopted one).
struct LoadedProgram {
  lb_bpf* skel = nullptr;
  xdp_program* prog = nullptr;
  LoadedProgram() = default;
  LoadedProgram(const LoadedProgram&) = delete;
  LoadedProgram& operator=(const LoadedProgram&) = delete;
  ~LoadedProgram() {
    if (prog) xdp_program__close(prog);
    if (skel) lb_bpf__destroy(skel);
  }
};

std::string attach_error(const std::string& iface, enum xdp_attach_mode mode, int err) {
  return "cannot attach " + std::string(XLB_PROG_NAME) + " to " + iface + " in " + attach_mode_name(mode) +
         " mode: " + xdp_errstr(err) +
         (err == -EEXIST || err == -EBUSY ? " (another XDP program without libxdp support?)" : "");
}

// Binds the pinned xlb_meta to the xlb_lb at prog_fd (the program never
// reads it; bound, the kernel lists it among the program's maps, so it is
// found, and re-pinned, like the others) and records there that this ABI
// version and build now run over the maps.
void record_build(int prog_fd, const std::string& pin_dir) {
  std::string path = pin_dir + "/" + XLB_MAP_META;
  Fd meta(bpf_obj_get(path.c_str()));
  if (!meta) throw SystemError("cannot open " + path + ": " + std::strerror(errno));
  if (int err = bpf_prog_bind_map(prog_fd, meta.get(), nullptr))
    throw SystemError("cannot bind " + path + " to " + XLB_PROG_NAME + ": " + errstr(err));
  uint32_t key = 0;
  xlb_meta value = upgrade::make_meta(XLB_ABI_VERSION, own_build_id());
  if (int err = bpf_map_update_elem(meta.get(), &key, &value, BPF_ANY))
    throw SystemError("cannot write " + path + ": " + errstr(err));
}

// Creates and pins xlb_meta, holding this ABI version and no build yet,
// unless it is pinned: before the other maps exist, so that maps left by a
// start that failed to attach still say which ABI they are (the load then
// reuses it like any pinned map).
void ensure_meta_pinned(const std::string& pin_dir) {
  std::string path = pin_dir + "/" + XLB_MAP_META;
  if (Fd pinned_meta(bpf_obj_get(path.c_str())); pinned_meta) return;
  mkdir_p(pin_dir, 0700);  // lbd made it for its lock; libbpf would make it for the other pins
  Fd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, XLB_MAP_META, sizeof(uint32_t), sizeof(xlb_meta), 1, nullptr));
  if (!fd) throw SystemError("cannot create " + path + ": " + std::strerror(errno));
  uint32_t key = 0;
  xlb_meta value = upgrade::make_meta(XLB_ABI_VERSION, 0);
  if (int err = bpf_map_update_elem(fd.get(), &key, &value, BPF_ANY))
    throw SystemError("cannot write " + path + ": " + errstr(err));
  if (bpf_obj_pin(fd.get(), path.c_str()) != 0) throw SystemError("cannot pin " + path + ": " + std::strerror(errno));
}

// Opens the skeleton, pins its maps in pin_dir (reusing pinned ones), and
// attaches xlb_lb to ifindex in `mode`. libxdp loads the whole object, so
// the xlb_conn_adjust program is loaded alongside; it is pinned too.
// Returns the loaded program, for the other interfaces; throws SystemError.
std::unique_ptr<LoadedProgram> load_and_attach(const AttachOptions& o, const std::string& iface, int ifindex,
                                               const std::string& pin_dir, enum xdp_attach_mode mode) {
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_dir.c_str());
  auto lp = std::make_unique<LoadedProgram>();
  lp->skel = lb_bpf__open_opts(&open_opts);
  if (!lp->skel) throw SystemError("cannot open the BPF object: " + std::string(std::strerror(errno)));
  lb_bpf* skel = lp->skel;
  int err = bpf_map__set_max_entries(skel->maps.xlb_flows, o.flow_table_size);
  if (err) throw SystemError("cannot size xlb_flows: " + errstr(err));
  err = bpf_map__set_max_entries(skel->maps.xlb_nat_rev, o.nat_table_size ? o.nat_table_size : o.flow_table_size);
  if (err) throw SystemError("cannot size xlb_nat_rev: " + errstr(err));
  ensure_meta_pinned(pin_dir);
  reuse_pinned_maps(skel->obj);

  DECLARE_LIBXDP_OPTS(xdp_program_opts, xdp_opts, .obj = skel->obj, .prog_name = XLB_PROG_NAME);
  xdp_program* prog = xdp_program__create(&xdp_opts);
  err = static_cast<int>(libxdp_get_error(prog));
  if (err) throw SystemError("cannot create the XDP program: " + xdp_errstr(err));
  lp->prog = prog;
  err = xdp_program__attach(prog, ifindex, mode, 0);
  if (err) throw SystemError(attach_error(iface, mode, err));
  record_build(xdp_program__fd(prog), pin_dir);
  // Not loaded if libxdp ever loads only the XDP program: then
  // ensure_adjust_program() loads it over the pinned maps.
  if (int fd = bpf_program__fd(skel->progs.xlb_conn_adjust); fd >= 0) pin_adjust_program(fd, pin_dir);
  return lp;
}

std::vector<enum xdp_attach_mode> modes_of(const std::string& xdp_mode) {
  if (xdp_mode == "native") return {XDP_MODE_NATIVE};
  if (xdp_mode == "skb") return {XDP_MODE_SKB};
  if (xdp_mode == "auto") return {XDP_MODE_NATIVE, XDP_MODE_SKB};
  throw InputError("--xdp-mode must be native, skb or auto");
}

// Attaches an already loaded program to one more interface, in the first
// of `modes` that works there. Throws SystemError.
void attach_loaded(xdp_program* prog, const std::string& iface, int ifindex,
                   const std::vector<enum xdp_attach_mode>& modes) {
  for (size_t i = 0; i < modes.size(); i++) {
    int err = xdp_program__attach(prog, ifindex, modes[i], 0);
    if (!err) return;
    if (i + 1 == modes.size()) throw SystemError(attach_error(iface, modes[i], err));
    log_warn(attach_error(iface, modes[i], err) + "; falling back to skb (generic) mode");
  }
}

std::vector<uint32_t> prog_map_ids(int prog_fd) {
  std::vector<uint32_t> ids(64);
  bpf_prog_info info{};
  info.nr_map_ids = static_cast<uint32_t>(ids.size());
  info.map_ids = reinterpret_cast<uint64_t>(ids.data());
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return {};
  ids.resize(std::min<size_t>(info.nr_map_ids, ids.size()));
  return ids;
}

// Does the program with this id use the map with that id?
bool prog_uses_map(uint32_t prog_id, uint32_t map_id) {
  Fd prog(bpf_prog_get_fd_by_id(prog_id));
  if (!prog || !map_id) return false;
  std::vector<uint32_t> ids = prog_map_ids(prog.get());
  return std::find(ids.begin(), ids.end(), map_id) != ids.end();
}

// The id of the map named `name` that the program with this id uses; 0 if none.
uint32_t prog_map_named(uint32_t prog_id, const char* name) {
  Fd prog(bpf_prog_get_fd_by_id(prog_id));
  if (!prog) return 0;
  for (uint32_t id : prog_map_ids(prog.get())) {
    Fd map(bpf_map_get_fd_by_id(id));
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (map && bpf_obj_get_info_by_fd(map.get(), &info, &len) == 0 &&
        std::strncmp(info.name, name, sizeof info.name) == 0)
      return id;
  }
  return 0;
}

}  // namespace

uint32_t pinned_map_id(const std::string& pin_dir, const char* name) {
  Fd fd(bpf_obj_get((pin_dir + "/" + name).c_str()));
  return fd ? map_id_of(fd.get()) : 0;
}

uint64_t own_build_id() {
  static const uint64_t id = [] {
    size_t size = 0;
    const void* elf = lb_bpf__elf_bytes(&size);
    return upgrade::build_id_of(elf, size);
  }();
  return id;
}

std::optional<xlb_meta> read_meta(const std::string& pin_dir) {
  Fd fd(bpf_obj_get((pin_dir + "/" + XLB_MAP_META).c_str()));
  if (!fd) return std::nullopt;
  bpf_map_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0 || info.value_size != sizeof(xlb_meta)) return std::nullopt;
  uint32_t key = 0;
  xlb_meta value{};
  if (bpf_map_lookup_elem(fd.get(), &key, &value) != 0) return std::nullopt;
  return value;
}

namespace {

const char* const kMapNames[] = {XLB_MAP_VIPS,   XLB_MAP_VIP_ADDRS, XLB_MAP_RINGS,  XLB_MAP_BACKENDS,
                                 XLB_MAP_FLOWS,  XLB_MAP_CONFIG,    XLB_MAP_GSTATS, XLB_MAP_VSTATS,
                                 XLB_MAP_BSTATS, XLB_MAP_TX_PORTS,  XLB_MAP_CONNS,  XLB_MAP_VIP_LISTS,
                                 XLB_MAP_NAT_REV, XLB_MAP_EGRESS, XLB_MAP_FRAGS, XLB_MAP_META};

bool pinned(const std::string& pin_dir, const char* name) {
  struct stat st {};
  return stat((pin_dir + "/" + name).c_str(), &st) == 0;
}

// The pins can be gone while the program is still attached: bpffs was
// mounted by an lbd running under `ip netns exec` (which hides the host's
// /sys/fs/bpf), and that mount died with lbd's mount namespace. The maps
// live on as long as the attached program uses them, so find them through
// the program's map ids and pin them again.
void repin_from_program(uint32_t prog_id, const std::string& pin_dir) {
  Fd prog(bpf_prog_get_fd_by_id(prog_id));
  if (!prog) throw SystemError("cannot open program id " + std::to_string(prog_id) + ": " + std::strerror(errno));
  std::vector<uint32_t> ids(64);
  bpf_prog_info info{};
  info.nr_map_ids = static_cast<uint32_t>(ids.size());
  info.map_ids = reinterpret_cast<uint64_t>(ids.data());
  uint32_t len = sizeof info;
  int err = bpf_obj_get_info_by_fd(prog.get(), &info, &len);
  if (err) throw SystemError("cannot read program id " + std::to_string(prog_id) + ": " + errstr(err));
  ids.resize(std::min<size_t>(info.nr_map_ids, ids.size()));
  int n = 0;
  for (uint32_t id : ids) {
    Fd map(bpf_map_get_fd_by_id(id));
    if (!map) continue;
    bpf_map_info minfo{};
    uint32_t mlen = sizeof minfo;
    if (bpf_obj_get_info_by_fd(map.get(), &minfo, &mlen) != 0) continue;
    for (const char* name : kMapNames)
      if (std::strncmp(minfo.name, name, sizeof minfo.name) == 0 && !pinned(pin_dir, name)) {
        std::string path = pin_dir + "/" + name;
        if (bpf_obj_pin(map.get(), path.c_str()) != 0)
          throw SystemError("cannot pin " + path + ": " + std::strerror(errno));
        n++;
      }
  }
  log_line("re-pinned " + std::to_string(n) + " maps of the attached program in " + pin_dir);
}

}  // namespace

void ensure_bpffs(const std::string& pin_root) {
  const char* base = "/sys/fs/bpf";
  if (!is_bpffs(base)) {
    mkdir_p(base, 0755);
    if (mount("bpf", base, "bpf", 0, "mode=0700") != 0)
      throw SystemError(std::string("cannot mount bpffs on ") + base + ": " + std::strerror(errno));
    log_line(std::string("mounted bpffs on ") + base);
  }
  mkdir_p(pin_root, 0700);
  if (!is_bpffs(pin_root)) throw SystemError("pin root " + pin_root + " is not on a bpf filesystem");
}

std::string pin_dir_of(const std::string& pin_root, const std::string& iface) {
  std::string root = pin_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root + "/" + iface;
}

Fd lock_pin_dir(const std::string& pin_dir, const std::string& iface) {
  mkdir_p(pin_dir, 0700);
  Fd fd(open(pin_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw SystemError("cannot open " + pin_dir + ": " + std::strerror(errno));
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      throw SystemError("another lbd is already running for " + iface + " (" + pin_dir + " is locked)");
    throw SystemError("cannot lock " + pin_dir + ": " + std::strerror(errno));
  }
  return fd;
}

namespace {

// The name of the program with this id ("" if it is gone).
std::string prog_name(uint32_t id) {
  Fd fd(bpf_prog_get_fd_by_id(id));
  if (!fd) return "";
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return "";
  return std::string(info.name, strnlen(info.name, sizeof info.name));
}

}  // namespace

std::optional<std::pair<std::string, uint32_t>> find_attached(int ifindex) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  if (bpf_xdp_query(ifindex, 0, &q) != 0) return std::nullopt;
  const std::pair<uint32_t, const char*> attached[] = {
      {q.drv_prog_id, "native"}, {q.skb_prog_id, "skb"}, {q.hw_prog_id, "hw"}};
  for (const auto& [id, mode] : attached) {
    if (!id) continue;
    std::string name = prog_name(id);
    if (name == XLB_PROG_NAME) return std::make_pair(std::string(mode), id);
    // Behind libxdp's dispatcher (which can't load on some kernels): only
    // libxdp knows its programs.
    if (name == "xdp_dispatcher") {
      std::optional<std::pair<std::string, uint32_t>> out;
      with_attached(ifindex, [&](xdp_multiprog* mp, xdp_program* p) {
        out = std::make_pair(attach_mode_name(xdp_multiprog__attach_mode(mp)), xdp_program__id(p));
      });
      if (out) return out;
    }
  }
  return std::nullopt;
}

uint32_t attached_prog_id(int ifindex) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  if (bpf_xdp_query(ifindex, 0, &q) != 0) return 0;
  return q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id ? q.skb_prog_id : q.hw_prog_id;
}

uint32_t attached_config_id(int ifindex) {
  auto found = find_attached(ifindex);
  return found ? prog_map_named(found->second, XLB_MAP_CONFIG) : 0;
}

std::vector<std::string> table_size_warnings(const std::string& pin_dir, const std::string& iface, uint32_t flows,
                                             uint32_t nat) {
  std::vector<std::string> out;
  auto check = [&](const char* map, const char* option, uint32_t wanted) {
    if (!wanted) return;
    Fd fd(bpf_obj_get((pin_dir + "/" + map).c_str()));
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (!fd || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0 || info.max_entries == wanted) return;
    out.push_back(std::string(option) + " " + std::to_string(wanted) + " differs from the running " + map + " (" +
                  std::to_string(info.max_entries) + " entries): the maps keep their size; to resize, stop lbd, run `lbd --detach " +
                  iface + "` and start lbd with the new size (every open flow is lost)");
  };
  check(XLB_MAP_FLOWS, "--flow-table-size", flows);
  check(XLB_MAP_NAT_REV, "--nat-table-size", nat);
  return out;
}

std::vector<int> check_ifaces(const std::vector<std::string>& ifaces) {
  if (ifaces.empty()) throw InputError("--iface is required");
  std::vector<int> out;
  for (size_t i = 0; i < ifaces.size(); i++) {
    for (size_t j = 0; j < i; j++)
      if (ifaces[j] == ifaces[i]) throw InputError("--iface " + ifaces[i] + " is given twice");
    out.push_back(ifindex_of(ifaces[i]));
  }
  return out;
}

namespace {

// Adopts the xlb_lb attached to the first interface: re-pins maps whose pins
// are gone, and makes sure the adjust program is pinned.
void adopt_first(const AttachOptions& o, Attachment& a, const std::pair<std::string, uint32_t>& found) {
  IfaceAttachment& first = a.ifaces.front();
  first.adopted = a.adopted = true;
  first.xdp_mode = found.first;
  first.prog_id = found.second;
  log_line("adopting " + std::string(XLB_PROG_NAME) + " (prog id " + std::to_string(first.prog_id) + ", " +
           first.xdp_mode + " mode) already attached to " + first.iface + " with its maps (recovered)");
  bool missing = false;
  for (const char* name : kMapNames) missing = missing || !pinned(a.pin_dir, name);
  if (missing) repin_from_program(first.prog_id, a.pin_dir);
  for (const char* name : kMapNames)
    if (std::strcmp(name, XLB_MAP_META) != 0 && !pinned(a.pin_dir, name))  // no xlb_meta: upgrade::decide() refuses
      throw SystemError(std::string("map ") + name + " of the attached " + XLB_PROG_NAME + " is neither pinned in " +
                        a.pin_dir + " nor used by the program; run `lbd --detach " + o.ifaces.front() +
                        "` to start over");
}

// Loads the object and attaches it to the first interface, in the first
// mode that works; each attempt starts from a fresh load, so a failed one
// leaves nothing half-loaded behind.
std::unique_ptr<LoadedProgram> attach_first(const AttachOptions& o, Attachment& a,
                                            const std::vector<enum xdp_attach_mode>& modes) {
  IfaceAttachment& first = a.ifaces.front();
  for (size_t i = 0; i < modes.size(); i++) {
    try {
      return load_and_attach(o, first.iface, first.ifindex, a.pin_dir, modes[i]);
    } catch (const SystemError& e) {
      if (i + 1 == modes.size()) throw;
      log_warn(std::string(e.what()) + "; falling back to skb (generic) mode");
    }
  }
  throw SystemError("no XDP mode to try");  // modes is never empty
}

bool detach_one(int ifindex, const std::string& name);

// The XDP_FLAGS_*_MODE of the attachment of prog_id on ifindex; 0 if it is
// not attached there as the interface's own program.
uint32_t mode_flag_of(int ifindex, uint32_t prog_id) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  if (bpf_xdp_query(ifindex, 0, &q) != 0) return 0;
  if (q.drv_prog_id == prog_id) return XDP_FLAGS_DRV_MODE;
  if (q.skb_prog_id == prog_id) return XDP_FLAGS_SKB_MODE;
  if (q.hw_prog_id == prog_id) return XDP_FLAGS_HW_MODE;
  return 0;
}

// Replaces the running xlb_lb (old_id, of build old_build) by this lbd's,
// loaded over the pinned maps, on every interface of the namespace that runs
// it (the given ones and a second arm not given yet alike, so no interface
// is left on the old build). Each swap is one bpf_xdp_attach with
// XDP_FLAGS_REPLACE: the kernel puts the new program in place of old_id
// only if old_id is still the one attached, and every packet runs one of
// the two over the same maps, so no packet is dropped and no flow lost. If
// a swap fails, those done are swapped back and the old program runs on
// (no half-upgrade). Returns the new program, for the remaining interfaces.
std::unique_ptr<LoadedProgram> upgrade_program(Attachment& a, uint32_t old_id, uint64_t old_build) {
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = a.pin_dir.c_str());
  auto lp = std::make_unique<LoadedProgram>();
  lp->skel = lb_bpf__open_opts(&open_opts);
  if (!lp->skel) throw SystemError("cannot open the BPF object: " + std::string(std::strerror(errno)));
  reuse_pinned_maps(lp->skel->obj);  // every map is pinned: sizes and state are the running ones
  if (int err = lb_bpf__load(lp->skel))
    throw SystemError("cannot load this lbd's " + std::string(XLB_PROG_NAME) +
                      " over the pinned maps to upgrade the running one: " + errstr(err) +
                      " (the running program is untouched; `lbd --no-upgrade` keeps it)");
  int new_fd = bpf_program__fd(lp->skel->progs.xlb_lb);
  Fd old(bpf_prog_get_fd_by_id(old_id));
  if (!old) throw SystemError("cannot open the running " + std::string(XLB_PROG_NAME) + " (prog id " +
                              std::to_string(old_id) + "): " + std::strerror(errno));
  struct Swapped {
    int ifindex;
    std::string name;
    uint32_t mode;
  };
  std::vector<Swapped> done;
  auto swap = [](int ifindex, int from_fd, int to_fd, uint32_t mode) {
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = from_fd);
    return bpf_xdp_attach(ifindex, to_fd, XDP_FLAGS_REPLACE | mode, &opts);
  };
  for (const auto& [idx, name] : non_loopback_interfaces()) {
    uint32_t mode = mode_flag_of(idx, old_id);
    if (!mode) continue;
    if (int err = swap(idx, old.get(), new_fd, mode)) {
      for (const auto& d : done)
        if (swap(d.ifindex, new_fd, old.get(), d.mode))
          log_warn("cannot put the old " + std::string(XLB_PROG_NAME) + " back on " + d.name + ": " +
                   std::strerror(errno));
      throw SystemError("cannot replace " + std::string(XLB_PROG_NAME) + " on " + name + ": " + errstr(err) +
                        " (the old program runs on, on every interface; `lbd --no-upgrade` keeps it)");
    }
    done.push_back({idx, name, mode});
  }
  if (done.empty())
    throw SystemError("the running " + std::string(XLB_PROG_NAME) + " (prog id " + std::to_string(old_id) +
                      ") is attached nowhere any more; start lbd again");
  // From here on the new build runs: record it, and give lbd the adjust
  // program of the same load (the old one would still work: same maps).
  record_build(new_fd, a.pin_dir);
  pin_adjust_program(bpf_program__fd(lp->skel->progs.xlb_conn_adjust), a.pin_dir);
  uint32_t new_id = 0;
  {
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(new_fd, &info, &len) == 0) new_id = info.id;
  }
  for (const auto& d : done)
    log_line("upgraded " + std::string(XLB_PROG_NAME) + " on " + d.name + ": build " +
             upgrade::build_id_hex(old_build) + " -> " + upgrade::build_id_hex(own_build_id()) + " (prog id " +
             std::to_string(old_id) + " -> " + std::to_string(new_id) + ", flows and counters kept)");
  lp->prog = xdp_program__from_id(new_id);
  if (int err = static_cast<int>(libxdp_get_error(lp->prog))) {
    lp->prog = nullptr;
    throw SystemError("cannot open the new " + std::string(XLB_PROG_NAME) + " (prog id " + std::to_string(new_id) +
                      "): " + xdp_errstr(err));
  }
  a.ifaces.front().prog_id = new_id;
  a.upgraded_from = old_build;
  return lp;
}

// What the pins' xlb_meta says to do with the data path (upgrade/decide.h).
upgrade::Decision decide_on(const AttachOptions& o, const Attachment& a, bool running) {
  upgrade::Situation s;
  s.pinned = read_meta(a.pin_dir);
  s.running = running;
  s.own_build = own_build_id();
  s.allow_upgrade = o.allow_upgrade;
  s.iface = o.ifaces.front();
  s.pin_dir = a.pin_dir;
  return upgrade::decide(s);
}

// Detaches our xlb_lb from interfaces that were not given: a restart with
// fewer --iface leaves it there, still driving our maps with nobody to
// manage it (and a later `lbd --detach` of it would take ours down too).
void detach_dropped(Attachment& a, uint32_t config_id) {
  if (!config_id) return;
  for (const auto& [idx, name] : non_loopback_interfaces()) {
    bool given = std::any_of(a.ifaces.begin(), a.ifaces.end(), [&](const IfaceAttachment& ia) { return ia.ifindex == idx; });
    if (given) continue;
    auto found = find_attached(idx);
    if (!found || !prog_uses_map(found->second, config_id)) continue;
    detach_one(idx, name);
    log_warn(name + " carried this lbd's " + XLB_PROG_NAME + " but is not among --iface: detached it from " + name +
             " (nothing would manage it; give --iface " + name + " to keep it)");
    a.dropped.push_back(name);
  }
}

}  // namespace

Attachment attach_or_adopt(const AttachOptions& o) {
  std::vector<int> ifindexes = check_ifaces(o.ifaces);
  std::vector<enum xdp_attach_mode> modes = modes_of(o.xdp_mode);
  Attachment a;
  a.pin_dir = pin_dir_of(o.pin_root, o.ifaces.front());
  for (size_t i = 0; i < o.ifaces.size(); i++) a.ifaces.push_back({o.ifaces[i], ifindexes[i], "", 0, false});

  std::unique_ptr<LoadedProgram> loaded;
  uint32_t config_id = 0;
  if (auto found = find_attached(ifindexes.front())) {
    // Whose maps these are decides whether we may adopt them at all.
    config_id = prog_map_named(found->second, XLB_MAP_CONFIG);
    if (o.claim && config_id) o.claim(config_id);
    adopt_first(o, a, *found);
    upgrade::Decision d = decide_on(o, a, true);
    if (d.action == upgrade::Action::Refuse) throw SystemError(d.message);
    if (d.action == upgrade::Action::KeepOld) log_warn(d.message);
    if (d.action == upgrade::Action::Upgrade) {
      uint64_t old_build = read_meta(a.pin_dir)->build_id;
      if (attached_prog_id(a.ifaces.front().ifindex) != found->second)
        // libxdp's dispatcher holds it: one of its programs can't be swapped
        // atomically (libxdp rebuilds the dispatcher), so don't risk a gap.
        log_warn("the running " + std::string(XLB_PROG_NAME) + " (build " + upgrade::build_id_hex(old_build) +
                 ") runs behind libxdp's dispatcher on " + a.ifaces.front().iface +
                 ", where it can't be replaced atomically: keeping it; this lbd's build is " +
                 upgrade::build_id_hex(own_build_id()) + " (to switch: stop lbd, `lbd --detach " +
                 a.ifaces.front().iface + "`, start it again; every flow is lost)");
      else
        loaded = upgrade_program(a, found->second, old_build);
    }
  } else {
    // Pinned maps but no program (detached by hand, a failed start): the
    // state they hold is recovered by attaching over them.
    config_id = pinned_map_id(a.pin_dir, XLB_MAP_CONFIG);
    a.reused = config_id != 0;
    if (o.claim && config_id) o.claim(config_id);
    if (a.reused) {
      upgrade::Decision d = decide_on(o, a, false);
      if (d.action == upgrade::Action::Refuse) throw SystemError(d.message);
    }
    loaded = attach_first(o, a, modes);
  }

  // The program's maps, by id: what tells our xlb_lb on another interface
  // from another lbd's.
  uint32_t pinned_config = pinned_map_id(a.pin_dir, XLB_MAP_CONFIG);
  if (o.claim && pinned_config != config_id) o.claim(pinned_config);  // new maps: claimed as soon as they exist
  config_id = a.config_id = pinned_config;
  for (size_t i = 1; i < a.ifaces.size(); i++) {
    IfaceAttachment& ia = a.ifaces[i];
    if (auto found = find_attached(ia.ifindex)) {
      if (!prog_uses_map(found->second, config_id))
        throw SystemError(ia.iface + " carries another " + XLB_PROG_NAME + " (prog id " +
                          std::to_string(found->second) + ", not using the maps in " + a.pin_dir +
                          "): detach it first (`lbd --detach " + ia.iface + "`)");
      ia.adopted = true;
      log_line("adopting " + std::string(XLB_PROG_NAME) + " (prog id " + std::to_string(found->second) +
               ") already attached to " + ia.iface);
      continue;
    }
    if (!loaded) {
      // The first interface's program was adopted: attach that very program.
      loaded = std::make_unique<LoadedProgram>();
      loaded->prog = xdp_program__from_id(a.ifaces.front().prog_id);
      if (int err = static_cast<int>(libxdp_get_error(loaded->prog))) {
        loaded->prog = nullptr;
        throw SystemError("cannot open " + std::string(XLB_PROG_NAME) + " (prog id " +
                          std::to_string(a.ifaces.front().prog_id) + "): " + xdp_errstr(err));
      }
    }
    attach_loaded(loaded->prog, ia.iface, ia.ifindex, modes);
  }
  loaded.reset();  // closing it detaches nothing
  ensure_adjust_program(a.pin_dir);
  detach_dropped(a, config_id);

  // With the dispatcher, the mode libxdp ended up using is the dispatcher's.
  for (auto& ia : a.ifaces) {
    if (auto found = find_attached(ia.ifindex)) {
      ia.xdp_mode = found->first;
      ia.prog_id = found->second;
    }
    if (!ia.adopted)
      log_line((a.reused ? "re-attached " : "attached ") + std::string(XLB_PROG_NAME) + " to " + ia.iface +
               " (prog id " + std::to_string(ia.prog_id) + ", " + ia.xdp_mode + " mode), maps pinned in " +
               a.pin_dir + (a.reused ? " (recovered: the pinned maps were reused)" : ""));
  }
  return a;
}

namespace {

// Removes every key of the map at fd that is not in keep.
void delete_other_keys(int fd, const std::set<uint32_t>& keep) {
  std::vector<uint32_t> stale;
  uint32_t key = 0, next = 0;
  uint32_t* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (!keep.count(next)) stale.push_back(next);
    key = next;
    prev = &key;
  }
  for (uint32_t k : stale) (void)bpf_map_delete_elem(fd, &k);
}

Fd open_pinned(const std::string& pin_dir, const char* name) {
  std::string path = pin_dir + "/" + name;
  Fd fd(bpf_obj_get(path.c_str()));
  if (!fd) throw SystemError("cannot open pinned map " + path + ": " + std::strerror(errno));
  return fd;
}

}  // namespace

EgressFill fill_tx_ports(const std::string& pin_dir, bool quiet) {
  Fd ports = open_pinned(pin_dir, XLB_MAP_TX_PORTS);
  Fd egress = open_pinned(pin_dir, XLB_MAP_EGRESS);
  std::vector<LinkInfo> links = list_links();
  EgressFill n;

  std::set<uint32_t> keep;
  for (const auto& link : links) {
    if (!can_transmit_xdp(link)) continue;
    uint32_t key = static_cast<uint32_t>(link.ifindex), value = key;
    int err = bpf_map_update_elem(ports.get(), &key, &value, BPF_ANY);
    if (err) {
      if (!quiet)
        log_warn("cannot add " + link.name + " to " + XLB_MAP_TX_PORTS + ": " + errstr(err) + " (skipped)");
      continue;
    }
    keep.insert(key);
    n.tx_ports++;
  }
  delete_other_keys(ports.get(), keep);

  std::vector<std::string> warnings;
  keep.clear();
  for (const auto& e : egress_entries(links, &warnings)) {
    int err = bpf_map_update_elem(egress.get(), &e.ifindex, &e.value, BPF_ANY);
    if (err) {
      if (!quiet) log_warn("cannot add ifindex " + std::to_string(e.ifindex) + " to " + XLB_MAP_EGRESS + ": " +
                           errstr(err) + " (skipped)");
      continue;
    }
    keep.insert(e.ifindex);
    n.vlans++;
  }
  delete_other_keys(egress.get(), keep);
  if (!quiet)
    for (const auto& w : warnings) log_warn(w);
  return n;
}

namespace {

// Detaches the xlb_lb attached to ifindex; false if there is none.
bool detach_one(int ifindex, const std::string& name) {
  int err = 0;
  bool found = with_attached(ifindex, [&](xdp_multiprog* mp, xdp_program* p) {
    err = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
  });
  if (err) throw SystemError("cannot detach " + std::string(XLB_PROG_NAME) + " from " + name + ": " + xdp_errstr(err));
  if (found) log_line("detached " + std::string(XLB_PROG_NAME) + " from " + name);
  return found;
}

}  // namespace

bool detach(const std::string& iface, const std::string& pin_root) {
  bool did = false;
  std::string dir = pin_dir_of(pin_root, iface);
  int ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
  // Our maps: the pinned ones, or, if the pins are gone (a lost bpffs
  // mount), those of the program on iface.
  uint32_t config_id = pinned_map_id(dir, XLB_MAP_CONFIG);
  if (!config_id && ifindex)
    if (auto found = find_attached(ifindex)) config_id = prog_map_named(found->second, XLB_MAP_CONFIG);
  // The health-check hook lbd put beside xlb_lb (its pins go below).
  auto detach_hc = [&](const std::string& name) {
    try {
      if (health::hc_detach(name, dir)) log_line("removed the health-check hook from " + name);
    } catch (const std::exception& e) {
      log_warn(std::string("removing the health-check hook: ") + e.what());
    }
  };
  if (ifindex) {
    did = detach_one(ifindex, iface);
    detach_hc(iface);
  }
  // Every other interface whose xlb_lb uses them (a second arm).
  for (const auto& [idx, name] : non_loopback_interfaces()) {
    if (idx == ifindex || !config_id) continue;
    auto found = find_attached(idx);
    if (found && prog_uses_map(found->second, config_id)) {
      did = detach_one(idx, name) || did;
      detach_hc(name);
    }
  }
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      if (unlink((dir + "/" + name).c_str()) != 0)
        log_warn("cannot remove " + dir + "/" + name + ": " + std::strerror(errno));
    }
    closedir(d);
    if (rmdir(dir.c_str()) != 0) throw SystemError("cannot remove " + dir + ": " + std::strerror(errno));
    log_line("removed the pins in " + dir);
    did = true;
  }
  return did;
}

}  // namespace xlb
