#include "health/hc_attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "core/error.h"
#include "hc.skel.h"

namespace xlb::health {
namespace {

std::string errstr(int err) { return std::strerror(err < 0 ? -err : err); }

int ifindex_of(const std::string& ifname) {
  unsigned idx = if_nametoindex(ifname.c_str());
  if (!idx) throw SystemError("no interface " + ifname + ": " + errstr(errno));
  return static_cast<int>(idx);
}

std::string pin_path(const std::string& pin_dir, const char* name) { return pin_dir + "/" + name; }

void mkdir_p(const std::string& dir) {
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    std::string part = dir.substr(0, pos);
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
      throw SystemError("cannot create " + part + ": " + errstr(errno));
  }
}

// libbpf prints the kernel's extack message of every failed netlink request,
// including "Exclusivity flag on, cannot modify" when the clsact qdisc
// already exists, which is the normal case on re-attach. Creating the qdisc
// runs with libbpf's printing off; its result code still tells the story.
int quiet(enum libbpf_print_level, const char*, va_list) { return 0; }

int tc_hook_create_quietly(struct bpf_tc_hook* hook) {
  libbpf_print_fn_t old = libbpf_set_print(quiet);
  int err = bpf_tc_hook_create(hook);
  libbpf_set_print(old);
  return err;
}

}  // namespace

void hc_attach(const std::string& ifname, const std::string& pin_dir) {
  int ifindex = ifindex_of(ifname);
  mkdir_p(pin_dir);
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_dir.c_str());
  hc_bpf* skel = hc_bpf__open_opts(&open_opts);
  if (!skel) throw SystemError("cannot open hc.bpf.o: " + errstr(errno));
  if (int err = hc_bpf__load(skel)) {
    hc_bpf__destroy(skel);
    throw SystemError("cannot load xlb_hc (maps in " + pin_dir + "): " + errstr(err));
  }

  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
  int err = tc_hook_create_quietly(&hook);
  if (err && err != -EEXIST) {
    hc_bpf__destroy(skel);
    throw SystemError("cannot create the clsact qdisc on " + ifname + ": " + errstr(err));
  }
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(skel->progs.xlb_hc),
              .flags = BPF_TC_F_REPLACE, .handle = kHcTcHandle, .priority = kHcTcPriority);
  err = bpf_tc_attach(&hook, &opts);
  // The filter now holds the program; the skeleton's fds can go. The maps
  // stay pinned.
  hc_bpf__destroy(skel);
  if (err) throw SystemError("cannot attach xlb_hc to " + ifname + " egress: " + errstr(err));
}

uint32_t hc_attached_prog_id(const std::string& ifname) {
  unsigned idx = if_nametoindex(ifname.c_str());
  if (!idx) return 0;
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(idx), .attach_point = BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kHcTcHandle, .priority = kHcTcPriority);
  if (bpf_tc_query(&hook, &opts) != 0) return 0;
  return opts.prog_id;
}

bool hc_detach(const std::string& ifname, const std::string& pin_dir) {
  bool any = false;
  if (unsigned idx = if_nametoindex(ifname.c_str())) {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(idx), .attach_point = BPF_TC_EGRESS);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kHcTcHandle, .priority = kHcTcPriority);
    any = bpf_tc_detach(&hook, &opts) == 0;
  }
  for (const char* name : {XLB_MAP_HC_TARGETS, XLB_MAP_HC_STATS})
    if (unlink(pin_path(pin_dir, name).c_str()) == 0) any = true;
  return any;
}

HcTargets::HcTargets(const std::string& pin_dir) {
  std::string path = pin_path(pin_dir, XLB_MAP_HC_TARGETS);
  fd_ = bpf_obj_get(path.c_str());
  if (fd_ < 0) throw SystemError("cannot open " + path + ": " + errstr(errno));
}

HcTargets::~HcTargets() {
  if (fd_ >= 0) close(fd_);
}

void HcTargets::put(uint32_t mark, const xlb_hc_target& t) {
  if (mark == 0) throw InputError("check mark 0 means 'no mark' and cannot be steered");
  if (bpf_map_update_elem(fd_, &mark, &t, BPF_ANY) != 0)
    throw SystemError("cannot write check target " + std::to_string(mark) + ": " + errstr(errno));
}

bool HcTargets::erase(uint32_t mark) { return bpf_map_delete_elem(fd_, &mark) == 0; }

std::map<uint32_t, xlb_hc_target> HcTargets::list() const {
  std::map<uint32_t, xlb_hc_target> out;
  uint32_t key, next;
  uint32_t* prev = nullptr;
  while (bpf_map_get_next_key(fd_, prev, &next) == 0) {
    key = next;
    prev = &key;
    xlb_hc_target t;
    if (bpf_map_lookup_elem(fd_, &key, &t) == 0) out[key] = t;
  }
  return out;
}

std::vector<xlb_counter> hc_read_stats(const std::string& pin_dir) {
  std::string path = pin_path(pin_dir, XLB_MAP_HC_STATS);
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) throw SystemError("cannot open " + path + ": " + errstr(errno));
  int ncpu = libbpf_num_possible_cpus();
  std::vector<xlb_counter> per_cpu(static_cast<size_t>(ncpu > 0 ? ncpu : 1));
  std::vector<xlb_counter> sums(XLB_HC_STAT_MAX);
  for (uint32_t s = 0; s < XLB_HC_STAT_MAX; s++) {
    if (bpf_map_lookup_elem(fd, &s, per_cpu.data()) != 0) continue;
    for (const auto& c : per_cpu) {
      sums[s].packets += c.packets;
      sums[s].bytes += c.bytes;
    }
  }
  close(fd);
  return sums;
}

}  // namespace xlb::health
