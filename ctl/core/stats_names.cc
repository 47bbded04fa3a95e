#include "stats_names.h"

namespace xlb {

// Same order as enum xlb_stat in include/xlb/abi.h; the static_assert
// below catches a name missing or left over.
const char* const xlb_stat_names[] = {
    "rx",
    "pass_not_ip",
    "pass_not_vip",
    "pass_vip_unserved",
    "pass_fragment",
    "pass_icmp",
    "pass_malformed",
    "pass_other_l4",
    "new_flow",
    "flow_hit",
    "flow_rescheduled",
    "flow_stale_backend",
    "flow_uncounted",
    "drop_no_backend",
    "drop_mtu",
    "drop_no_route",
    "drop_no_neigh",
    "drop_fwd_disabled",
    "drop_no_source",
    "drop_internal",
    "nat_reply",
    "nat_icmp",
    "drop_nat_ports",
    "drop_nat_conflict",
    "drop_nat_table_full",
    "drop_not_on_link",
    "tx",
    "redirect",
    "drop_vip_unserved",
    "icmp_echo_reply",
    "drop_bad_exthdr",
    "nat_takeover",
    "nat_conflict_rst",
    "rst_stateless",
    "drop_rst_no_flow",
    "syn_rescheduled",
    "icmp_frag_needed",
    "icmp_pkt_too_big",
    "dsr_icmp",
    "flood_stateless",
    "flood_windows",
    "drop_egress_not_xdp",
    "frag_first",
    "frag_forwarded",
    "drop_frag_unknown",
    "drop_frag_nat",
    "drop_frag_short",
    "nat_rev_restored",
    "drop_nat_rev_lost",
    "stateless",
};
static_assert(sizeof(xlb_stat_names) / sizeof(xlb_stat_names[0]) == XLB_STAT_MAX,
              "enum xlb_stat changed: update xlb_stat_names");

std::string flow_state_name(uint8_t state) {
  switch (state) {
    case XLB_FLOW_UDP: return "udp";
    case XLB_FLOW_TCP_SYN: return "syn";
    case XLB_FLOW_TCP_ESTABLISHED: return "established";
    case XLB_FLOW_TCP_CLOSING: return "closing";
    case XLB_FLOW_TCP_RESET: return "reset";
    case XLB_FLOW_TCP_MIDSTREAM: return "midstream";
  }
  return "state" + std::to_string(state);
}

}  // namespace xlb
