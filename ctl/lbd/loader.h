// Attaching the xlb_lb program to an interface, adopting one that is already
// attached, and detaching it. The maps are pinned by name in
// <pin_root>/<ifname>/, so they outlive lbd: a restarted lbd finds xlb_lb
// still attached and only reopens the pins. The object's second program,
// xlb_conn_adjust (lbd's only way to change connection counts), is pinned
// there too, as <pin_dir>/xlb_conn_adjust.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "fd.h"

namespace xlb {

struct AttachOptions {
  std::string iface;
  std::string pin_root = "/sys/fs/bpf/xlb";
  std::string xdp_mode = "auto";  // native | skb | auto
  uint32_t flow_table_size = 1048576;
};

struct Attachment {
  int ifindex = 0;
  std::string pin_dir;
  std::string xdp_mode;  // native | skb | hw
  uint32_t prog_id = 0;
  bool adopted = false;  // it was already attached
};

// Mounts bpffs on /sys/fs/bpf unless it is there (`ip netns exec` hides
// the host's), and checks that pin_root can live on it.
void ensure_bpffs(const std::string& pin_root);

std::string pin_dir_of(const std::string& pin_root, const std::string& iface);

// Holds an exclusive flock on the pin directory, so two lbds never manage
// the same interface.
Fd lock_pin_dir(const std::string& pin_dir, const std::string& iface);

// Adopts an attached xlb_lb, or loads and attaches a new one (pinning the
// maps). Either way the adjust program is pinned afterwards: if its pin is
// missing or belongs to other maps, a copy of the object is loaded over the
// pinned maps, attaching nothing. Throws SystemError.
Attachment attach_or_adopt(const AttachOptions& opts);

// The xlb_lb program attached to ifindex, if any: {mode, prog id}.
std::optional<std::pair<std::string, uint32_t>> find_attached(int ifindex);

// Inserts every interface of the namespace but lo into xlb_tx_ports (the
// egress devices for XDP_REDIRECT). Devices that refuse are logged and
// skipped. Returns how many were inserted.
int fill_tx_ports(const std::string& pin_dir, bool quiet = false);

// Detaches xlb_lb from iface (if attached) and removes the pins and the pin
// directory. Returns false if there was nothing to remove. Throws SystemError.
bool detach(const std::string& iface, const std::string& pin_root);

}  // namespace xlb
