// What `lbctl doctor` judges: facts lbd gathers on the load-balancer host
// (ctl/lbd/doctor_facts.h) from its own state and the kernel's tables.
// Plain data, so the verdicts (verdicts.h) are unit-tested with fake facts.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace xlb::doctor {

// An interface lbd is attached to.
struct IfaceFacts {
  std::string name;
  std::string xdp_mode;                   // "native", "skb", "hw"; "" if nothing is attached
  int mtu = 0;                            // 0: unknown
  std::optional<bool> ipv4_forwarding;    // net.ipv4.conf.<name>.forwarding (unreadable: nullopt)
};

// The kernel's route to a backend (`ip route get BACKEND`).
struct RouteFacts {
  bool found = false;
  std::string error;    // why not, when !found
  std::string dev;      // egress device
  int dev_mtu = 0;      // its MTU
  int route_mtu = 0;    // the route's mtu metric (0: none: the device's)
  std::string gateway;  // "" when the backend is on-link
  std::string src;      // the LB's preferred source toward it
};

// A backend's health checks, from `lbctl list`'s "health".
struct HealthFacts {
  bool checked = false;     // the VIP (or the backend) has checks
  std::string check;        // tcp, http, udp...
  std::string state;        // up, down, unknown
  std::string not_checked;  // why the checks can't run ("" if they do)
  std::string reason;       // the last transition's reason
};

struct BackendFacts {
  std::string vip;     // "198.18.100.1:80"
  std::string proto;   // tcp, udp
  std::string mode;    // ipip, l2dsr, nat, fullnat
  bool vip_v6 = false;
  std::string address;
  bool v6 = false;
  RouteFacts route;
  // Whether the next hop (the gateway, or the backend if on-link) has a
  // resolved neighbour entry; nullopt: the table could not be read.
  std::optional<bool> next_hop_resolved;
  HealthFacts health;
};

using Counters = std::map<std::string, uint64_t>;

struct Facts {
  std::vector<IfaceFacts> ifaces;
  std::optional<bool> ipv6_forwarding;  // net.ipv6.conf.all.forwarding
  bool uses_v4 = false;                 // some VIP or backend is IPv4
  bool uses_v6 = false;
  std::vector<BackendFacts> backends;   // removed ones left out
  std::string neighbours_error;         // the neighbour table could not be read
  bool in_sync = true;
  std::vector<std::string> verify_differences;
  std::string data_path_error;
  std::string reaper_error;
  std::string health_state_file;
  std::string health_state_error;
  Counters counters;                    // the global counters, packets
  std::optional<Counters> baseline;     // an earlier sample, to tell rising counters
  double baseline_age_s = 0;            // how long before `counters` it was taken
};

}  // namespace xlb::doctor
