// xlb-decap: backend-side decapsulation of xlb's IP-in-IP traffic.
//
//   xlb-decap attach IFNAME [--addr ADDR]... [--allow PREFIX]... [--xdp-mode native|skb|auto]
//   xlb-decap detach IFNAME
//   xlb-decap stats IFNAME [--json]
//
// Exit codes: 0 ok, 1 the operation failed (one line on stderr), 2 bad usage.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "allow.h"
#include "decap.h"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  using namespace xlb::decap;

  CLI::App app{"xlb-decap: strips xlb's IP-in-IP headers on a backend with an XDP program"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "libbpf/libxdp debug output on stderr");

  std::string ifname;
  std::vector<std::string> addr_texts;
  std::vector<std::string> allow_texts;
  std::string mode_text = "auto";
  bool json = false;

  CLI::App* attach_cmd = app.add_subcommand(
      "attach",
      "attach to IFNAME (or update the addresses of the instance already there) and exit; "
      "the program stays attached");
  attach_cmd->add_option("ifname", ifname, "interface")->required();
  attach_cmd->add_option("--addr", addr_texts,
                         "outer destination address to decapsulate (repeatable); default: "
                         "every address on IFNAME");
  attach_cmd->add_option("--allow", allow_texts,
                         "outer source prefix (IPv4 or IPv6, e.g. 172.16.0.0/16) the load balancers "
                         "tunnel from (repeatable); packets from other sources are dropped and counted "
                         "as denied. Default: any source, with a warning");
  attach_cmd
      ->add_option("--xdp-mode", mode_text,
                   "native, skb, or auto (native, falling back to skb with a warning)")
      ->check(CLI::IsMember({"native", "skb", "auto"}));

  CLI::App* detach_cmd = app.add_subcommand("detach", "detach from IFNAME, remove its pins");
  detach_cmd->add_option("ifname", ifname, "interface")->required();

  CLI::App* stats_cmd = app.add_subcommand("stats", "print the counters of IFNAME's instance");
  stats_cmd->add_option("ifname", ifname, "interface")->required();
  stats_cmd->add_flag("--json", json, "JSON output");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help or the error
    return rc == 0 ? 0 : kExitUsage;
  }

  std::vector<xlb_decap_addr_key> addrs;
  for (const auto& t : addr_texts) {
    xlb_decap_addr_key k;
    if (!parse_addr(t, &k)) {
      std::fprintf(stderr, "xlb-decap: --addr %s: not an IPv4 or IPv6 address\n", t.c_str());
      return kExitUsage;
    }
    addrs.push_back(k);
  }

  std::vector<xlb_decap_allow_key> allow;
  for (const auto& t : allow_texts) {
    xlb_decap_allow_key k;
    std::string err = parse_allow(t, &k);
    if (!err.empty()) {
      std::fprintf(stderr, "xlb-decap: --allow %s: %s\n", t.c_str(), err.c_str());
      return kExitUsage;
    }
    allow.push_back(k);
  }
  if (allow.size() > XLB_MAX_DECAP_ALLOW) {
    std::fprintf(stderr, "xlb-decap: too many --allow prefixes (%zu, at most %u)\n", allow.size(),
                 XLB_MAX_DECAP_ALLOW);
    return kExitUsage;
  }

  set_verbose(verbose);
  try {
    if (*attach_cmd) {
      Mode mode = mode_text == "native" ? Mode::Native : mode_text == "skb" ? Mode::Skb : Mode::Auto;
      attach(ifname, addrs, allow, mode);
    } else if (*detach_cmd) {
      detach(ifname);
    } else if (*stats_cmd) {
      print_stats(ifname, json);
    }
  } catch (const Failure& e) {
    std::fprintf(stderr, "xlb-decap: %s\n", e.what());
    return kExitFailed;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xlb-decap: %s\n", e.what());
    return kExitFailed;
  }
  return 0;
}
