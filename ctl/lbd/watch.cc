#include "watch.h"

#include <bpf/bpf.h>
#include <net/if.h>
#include <sys/stat.h>

#include <cerrno>
#include <optional>

#include "fd.h"
#include "loader.h"
#include "log.h"
#include "xlb/abi.h"

namespace xlb {

DataPathWatch::DataPathWatch(std::string pin_dir, uint32_t config_id, std::vector<Iface> ifaces)
    : pin_dir_(std::move(pin_dir)),
      config_id_(config_id),
      ifaces_(std::move(ifaces)),
      states_(ifaces_.size(), IfState::kOk),
      seen_(ifaces_.size(), {-1, 0}) {  // no ifindex is -1: the first check looks
  // The first check asks bpf() about the pin and the programs; later ones
  // only when those change. Done here, at startup, before lbd serves.
  check();
}

namespace {

// The id of the pinned xlb_config: 0 if the pin is gone (ENOENT), nullopt if
// that can't be told now (any other error: ENOMEM, too many open files, a
// fault injected by a test), which is no reason to stop lbd.
std::optional<uint32_t> pinned_config_id(const std::string& pin_dir) {
  Fd fd(bpf_obj_get((pin_dir + "/" + XLB_MAP_CONFIG).c_str()));
  if (!fd) return errno == ENOENT ? std::optional<uint32_t>(0) : std::nullopt;
  bpf_map_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return std::nullopt;
  return info.id;
}

}  // namespace

bool DataPathWatch::attached_everywhere() const {
  for (IfState s : states_)
    if (s != IfState::kOk) return false;
  return true;
}

void DataPathWatch::check() {
  if (problem_.empty()) {
    std::string path = pin_dir_ + "/" + XLB_MAP_CONFIG;
    struct stat st {};
    bool same_pin = false;
    std::optional<uint32_t> found;
    if (stat(path.c_str(), &st) != 0)
      found = errno == ENOENT ? std::optional<uint32_t>(0) : std::nullopt;
    else if (st.st_dev == pin_dev_ && st.st_ino == pin_ino_)
      same_pin = true;
    else
      found = pinned_config_id(pin_dir_);
    uint32_t pinned = same_pin ? config_id_ : found.value_or(config_id_);
    if (found && *found == config_id_) {
      pin_dev_ = st.st_dev;
      pin_ino_ = st.st_ino;
    }
    if (pinned != config_id_) {
      problem_ = pinned ? "the data path's pins under " + pin_dir_ + " were replaced (" + XLB_MAP_CONFIG +
                              " is map id " + std::to_string(pinned) + ", this lbd's is " +
                              std::to_string(config_id_) + "): restart lbd"
                        : "the data path's maps were removed (pins under " + pin_dir_ + " are gone): restart lbd";
      log_error(problem_ + "; refusing changes until then");
    }
  }
  for (size_t i = 0; i < ifaces_.size(); i++) {
    const Iface& f = ifaces_[i];
    int idx = static_cast<int>(if_nametoindex(f.name.c_str()));
    std::pair<int, uint32_t> seen{idx, idx ? attached_prog_id(idx) : 0};
    if (seen == seen_[i]) continue;
    seen_[i] = seen;
    IfState now = !idx ? IfState::kGone
                       : seen.second && attached_config_id(idx) == config_id_ ? IfState::kOk
                                                                              : IfState::kNotOurs;
    if (now == states_[i]) continue;
    states_[i] = now;
    if (now == IfState::kGone)
      log_error("interface " + f.name + " is gone: " + XLB_PROG_NAME + " no longer runs there");
    else if (now == IfState::kNotOurs)
      log_error("interface " + f.name + " (ifindex " + std::to_string(idx) + ") no longer carries this lbd's " +
                XLB_PROG_NAME + ": traffic there is not balanced; restart lbd to attach it again");
    else
      log_line("interface " + f.name + " carries this lbd's " + XLB_PROG_NAME + " again");
  }
}

}  // namespace xlb
