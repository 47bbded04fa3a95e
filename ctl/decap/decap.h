// The operations behind the xlb-decap commands. Each throws Failure (exit
// code 1, one-line message) when the kernel or the environment refuses; bad
// user input is rejected earlier by parse_addr() / main.cc (exit code 2).
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include "xlb/abi.h"

namespace xlb::decap {

class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Mode { Native, Skb, Auto };

// Root of the per-interface pin directories: maps are pinned by name under
// kPinRoot/<ifname>/ (xlb_decap_addrs, xlb_decap_stats, xlb_decap_allow,
// xlb_decap_config).
inline constexpr const char* kPinRoot = "/sys/fs/bpf/xlb-decap";

// "198.18.0.2" / "fd00::2" -> map key (zeroed, family set). False if the
// text is not an address.
bool parse_addr(const std::string& text, xlb_decap_addr_key* key);
std::string addr_str(const xlb_decap_addr_key& key);

// libbpf/libxdp print everything with verbose, only warnings without.
void set_verbose(bool verbose);

// Attaches xlb_decap to ifname (or adopts the instance already attached
// there) and makes the address map hold exactly `addrs`; with no addrs,
// every IPv4/IPv6 address currently on ifname. The allow list becomes
// exactly `allow` (outer source prefixes); empty: any source is accepted,
// and a warning says so on stderr. Prints one line on stdout.
void attach(const std::string& ifname, const std::vector<xlb_decap_addr_key>& addrs,
            const std::vector<xlb_decap_allow_key>& allow, Mode mode);

// Detaches xlb_decap from ifname and removes its pin directory.
void detach(const std::string& ifname);

// Prints the counters (summed over CPUs) as a table or as JSON.
void print_stats(const std::string& ifname, bool json);

}  // namespace xlb::decap
