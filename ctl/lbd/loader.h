// Attaching the xlb_lb program to interfaces, adopting one that is already
// attached, and detaching it. The maps are pinned by name in
// <pin_root>/<ifname>/, ifname being the first interface lbd was given, so
// they outlive lbd: a restarted lbd finds xlb_lb still attached and only
// reopens the pins. The object's second program, xlb_conn_adjust (lbd's only
// way to change connection counts), is pinned there too, as
// <pin_dir>/xlb_conn_adjust.
//
// With several interfaces (two-arm NAT: the backends' replies arrive on a
// second one) the one loaded program is attached to each. Which interfaces
// carry it is not recorded anywhere: an interface carries "our" xlb_lb when
// the program attached there uses the pinned xlb_config map (compared by map
// id), which the kernel answers for every interface, so the answer cannot
// go stale when lbd dies halfway or someone detaches by hand.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fd.h"
#include "xlb/abi.h"

namespace xlb {

struct AttachOptions {
  std::vector<std::string> ifaces;  // the first names the pin directory
  std::string pin_root = "/sys/fs/bpf/xlb";
  std::string xdp_mode = "auto";  // native | skb | auto, for each interface
  uint32_t flow_table_size = 1048576;
  // xlb_nat_rev entries (nat/fullnat reply tuples); 0: flow_table_size. A
  // preallocated LRU: its memory is taken whether NAT is used or not.
  uint32_t nat_table_size = 0;
  // Called with the kernel id of the data path's xlb_config map before an
  // attached program is adopted (or, for a new one, as soon as its maps
  // exist), and before anything else is attached or detached: lbd takes
  // the data path's owner lock there (owner_lock.h) and throws if another
  // lbd holds it. May be empty (tests).
  std::function<void(uint32_t config_id)> claim;
  // A running xlb_lb of another build (same ABI version) is replaced by this
  // lbd's (upgrade/decide.h); false (--no-upgrade): it is kept, with a warning.
  bool allow_upgrade = true;
};

struct IfaceAttachment {
  std::string iface;
  int ifindex = 0;
  std::string xdp_mode;  // native | skb | hw
  uint32_t prog_id = 0;
  bool adopted = false;  // it was already attached
};

struct Attachment {
  std::string pin_dir;
  std::vector<IfaceAttachment> ifaces;  // in the order given
  bool adopted = false;  // the first interface's program was running: its maps were adopted
  bool reused = false;   // not running, but its pinned maps were: attached over them (state recovered)
  uint32_t config_id = 0;  // the kernel id of the xlb_config map: the data path's identity
  // Interfaces not given to --iface that carried this xlb_lb (a restart
  // with fewer --iface): detached, since nothing would manage them.
  std::vector<std::string> dropped;
  // The running program was another build and was replaced by this lbd's
  // (atomically on each interface that ran it): its build id.
  std::optional<uint64_t> upgraded_from;
};

// This lbd's build id: the hash of the xlb_lb object it embeds
// (upgrade/build_id.h).
uint64_t own_build_id();

// The entry of xlb_meta pinned in pin_dir; nullopt if there is none (pins
// older than ABI versions, or no pins).
std::optional<xlb_meta> read_meta(const std::string& pin_dir);

// Throws InputError unless every name is an interface of this namespace
// (lo excepted) and none is given twice. Returns their ifindexes.
std::vector<int> check_ifaces(const std::vector<std::string>& ifaces);

// Mounts bpffs on /sys/fs/bpf unless it is there (`ip netns exec` hides
// the host's), and checks that pin_root can live on it.
void ensure_bpffs(const std::string& pin_root);

std::string pin_dir_of(const std::string& pin_root, const std::string& iface);

// Holds an exclusive flock on the pin directory, so two lbds never manage
// the same interface.
Fd lock_pin_dir(const std::string& pin_dir, const std::string& iface);

// Adopts the xlb_lb attached to the first interface, or loads and attaches a
// new one (pinning the maps). Maps of another ABI version, or of none, are
// refused (SystemError saying what to do; nothing is changed). An adopted
// xlb_lb of another build is replaced by this lbd's, atomically
// (XDP_FLAGS_REPLACE), on every interface that runs it, unless
// !allow_upgrade; under libxdp's dispatcher it is kept, with a warning.
// Then attaches that same program to every other interface that does not
// carry it yet (adopting it where it does).
// An interface carrying an xlb_lb over other maps is an error. Either way
// the adjust program is pinned afterwards: if its pin is missing or belongs
// to other maps, a copy of the object is loaded over the pinned maps,
// attaching nothing. Throws SystemError.
Attachment attach_or_adopt(const AttachOptions& opts);

// The xlb_lb program attached to ifindex, if any: {mode, prog id}. Asks the
// kernel (bpf_xdp_query) and closes every fd it opens: `status` calls it
// for each interface (libxdp 1.3.1's xdp_multiprog__get_from_ifindex leaks
// a program fd per call). Only a libxdp dispatcher is looked into with
// libxdp.
std::optional<std::pair<std::string, uint32_t>> find_attached(int ifindex);

// The id of the map pinned as pin_dir/name; 0 if there is none.
uint32_t pinned_map_id(const std::string& pin_dir, const char* name);

// The id of the XDP program attached to ifindex in any mode (xlb_lb, a
// libxdp dispatcher, another program); 0 if none. One netlink query, no fd.
uint32_t attached_prog_id(int ifindex);

// The id of the xlb_config map of the xlb_lb attached to ifindex; 0 if none.
uint32_t attached_config_id(int ifindex);

// Table-size options that differ from the pinned maps' sizes (kept: a map
// can't be resized): one warning each, saying how to resize. flows/nat 0:
// not given.
std::vector<std::string> table_size_warnings(const std::string& pin_dir, const std::string& iface, uint32_t flows,
                                             uint32_t nat);

// What fill_tx_ports put in the maps.
struct EgressFill {
  int tx_ports = 0;  // devices in xlb_tx_ports
  int vlans = 0;     // VLAN devices in xlb_egress
};

// Makes xlb_tx_ports (the egress devices for XDP_REDIRECT) hold exactly the
// interfaces of the namespace that can transmit XDP frames, and xlb_egress
// describe exactly its VLAN devices (egress.h); entries of devices that are
// gone or no longer qualify are removed. Devices that refuse, and VLAN
// devices that cannot be described, are logged (unless quiet) and skipped.
// Throws SystemError if a map or the interface list cannot be read.
EgressFill fill_tx_ports(const std::string& pin_dir, bool quiet = false);

// Detaches xlb_lb from iface (if attached) and from every other interface
// whose xlb_lb uses the same maps (those pinned for iface, or, if the pins
// are gone, those of the program on iface), then removes the pins and the
// pin directory. Returns false if there was nothing to remove. Throws
// SystemError.
bool detach(const std::string& iface, const std::string& pin_root);

}  // namespace xlb
