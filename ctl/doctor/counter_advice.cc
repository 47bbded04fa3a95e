#include "counter_advice.h"

#include <cstring>

namespace xlb::doctor {
namespace {

struct Row {
  const char* name;
  CounterAdvice advice;
};

const Row kRows[] = {
    {"drop_no_backend",
     {"a VIP's ring is empty: no backend with weight > 0 (all drained, removed, or down by health checks)",
      "lbctl list (see each backend's state and health); add or undrain one: lbctl set-backend VIP --proto P "
      "BACKEND --weight 1"}},
    {"drop_mtu",
     {"an IPv4 packet without DF is larger than the path to the backend allows (with the outer header in ipip)",
      "raise the MTU toward the backends (ip link set dev DEV mtu N) or clamp the clients' MSS; see lbctl doctor's "
      "mtu check"}},
    {"drop_no_route", {"the kernel has no route to a backend", "ip route get BACKEND; add one: ip route add BACKEND via GW"}},
    {"drop_egress_not_xdp",
     {"the route to a backend leaves through a device that cannot transmit XDP frames (bridge, bond, macvlan, ...)",
      "route the backends through a physical NIC or veth (a VLAN device on one is fine)"}},
    {"drop_no_neigh",
     {"the next hop's MAC is not resolved (the backend or gateway does not answer ARP/ND)",
      "ip neigh show BACKEND; ping -c 1 BACKEND from the LB; check the backend is up on that segment"}},
    {"drop_fwd_disabled",
     {"IP forwarding is off, so bpf_fib_lookup refuses to route",
      "sysctl -w net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1"}},
    {"drop_no_source",
     {"no encapsulation source address of the backend's family (IPv6)",
      "set encap.source_v6 in the config, or give the interface a global IPv6 address"}},
    {"drop_internal", {"a map lookup or bpf_xdp_adjust_head failed", "report a bug, with lbctl status --verify"}},
    {"drop_nat_ports",
     {"fullnat: every probed source port toward a backend is taken",
      "widen fullnat.port_min..port_max, or add fullnat source addresses"}},
    {"drop_nat_conflict",
     {"nat: a reply tuple (backend, client) belongs to another live flow (two VIP ports onto one backend port)",
      "give the VIPs different backend ports, or use fullnat"}},
    {"drop_nat_table_full", {"an xlb_nat_rev insert failed for lack of memory", "report a bug"}},
    {"drop_nat_rev_lost",
     {"a live nat/fullnat flow's reply entry was evicted and its tuple reused",
      "restart lbd with a larger --nat-table-size (the maps must be recreated)"}},
    {"drop_not_on_link",
     {"l2dsr: the route to a backend goes through a gateway", "put the backend on the LB's segment, or use ipip"}},
    {"drop_bad_exthdr",
     {"IPv6 packets to a VIP with too many, too long, truncated or routing extension headers",
      "none: such packets cannot be balanced"}},
    {"drop_rst_no_flow",
     {"a TCP RST with no flow entry on a VIP that cannot re-pick its backend (not maglev/src-hash, or fullnat)",
      "none if rare (resets of connections the LB does not know)"}},
    {"drop_vip_unserved",
     {"packets to a VIP address on a port or protocol no VIP serves (or pings with icmp_echo off)",
      "add the VIP, or set \"unserved\": \"pass\" if the host serves that port itself"}},
    {"drop_frag_unknown",
     {"later fragments whose first fragment was not seen",
      "none if rare; many: fragments reordered before their first, or too many datagrams in flight"}},
    {"drop_frag_nat",
     {"fragments to a nat or fullnat VIP", "avoid fragments (smaller UDP payloads), or use ipip/l2dsr for that VIP"}},
    {"drop_frag_short", {"first fragments too short to hold the L4 header", "none: no honest sender does this"}},
};

}  // namespace

CounterAdvice counter_advice(const std::string& name) {
  for (const auto& row : kRows)
    if (name == row.name) return row.advice;
  return {"a drop reason this lbctl doctor has no advice for", "see docs/troubleshooting.md"};
}

}  // namespace xlb::doctor
