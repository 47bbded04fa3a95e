#include "families.h"

namespace xlb::metrics {

namespace {
constexpr Type C = Type::kCounter;
constexpr Type G = Type::kGauge;
}  // namespace

const FamilyDef kFamilies[] = {
    // lbd itself (status)
    {"xlb_build_info", G, "lbd's version; always 1"},
    {"xlb_uptime_seconds", G, "Seconds since lbd started"},
    {"xlb_in_sync", G, "1 if lbd's model and the maps agree, 0 if a map write failed half-way (status in_sync)"},
    {"xlb_data_path_ok", G, "1 if the data path's pins are in place, 0 if they vanished and changes are refused"},
    {"xlb_interface_attached", G, "1 if xlb_lb is attached to the interface, 0 if not"},
    {"xlb_interface_xdp_info", G, "The XDP mode and program id on an interface xlb_lb is attached to; always 1"},
    {"xlb_vips", G, "VIPs configured"},
    {"xlb_backends", G, "Backends of all VIPs, draining and removed ones included"},
    {"xlb_flow_table_entries", G, "Entries in the flow table (xlb_flows) at the scrape"},
    {"xlb_flow_table_size", G, "Capacity of the flow table (xlb_flows)"},
    {"xlb_flow_timeout_seconds", G, "Idle timeout of a flow, by flow state"},
    // the data path's counters (stats "global"), named as in `lbctl stats --json`
    {"xlb_packets_total", C,
     "Packets counted by the data path, by counter (as in lbctl stats --json); counters overlap: rx counts every "
     "packet, the others classify them, so a sum over counters means nothing"},
    {"xlb_bytes_total", C, "Bytes of the packets of xlb_packets_total, by counter"},
    // per VIP (stats, list)
    {"xlb_vip_info", G, "A VIP's scheduler and forwarding mode; always 1"},
    {"xlb_vip_packets_total", C, "Packets to the VIP"},
    {"xlb_vip_bytes_total", C, "Bytes to the VIP"},
    {"xlb_vip_ring_size", G, "Slots of the VIP's Maglev ring"},
    {"xlb_vip_all_down", G, "1 while every checked backend of the VIP is down (its all_down policy applies), else 0"},
    {"xlb_vip_all_down_events_total", C, "Times every checked backend of the VIP went down"},
    // per backend (stats, list)
    {"xlb_backend_packets_total", C, "Packets sent to the backend"},
    {"xlb_backend_bytes_total", C, "Bytes sent to the backend"},
    {"xlb_backend_weight", G, "The backend's ring weight: what the scheduler uses (0 while down or draining)"},
    {"xlb_backend_admin_weight", G, "The backend's weight as the operator set it (config, lbctl set-backend)"},
    {"xlb_backend_ring_slots", G, "Slots of the VIP's ring the backend holds"},
    {"xlb_backend_state", G, "The backend's state in the VIP: 1 for its state (active, draining, removed), 0 for the others"},
    {"xlb_backend_active_connections", G, "Connections to the backend the data path counts, half-open ones included"},
    {"xlb_backend_half_open_connections", G, "Connections to the backend still in their handshake"},
    // health of a checked backend (list's health)
    {"xlb_backend_health_state", G, "The backend's health: 1 for its state (up, down, unchecked), 0 for the others"},
    {"xlb_backend_health_changed_timestamp_seconds", G, "Unix time the backend's health state last changed"},
    {"xlb_backend_health_consecutive_successes", G, "Checks in a row that succeeded"},
    {"xlb_backend_health_consecutive_failures", G, "Checks in a row that failed"},
    {"xlb_backend_health_last_check_ok", G, "1 if the backend's last check succeeded, 0 if it failed"},
    {"xlb_backend_health_last_check_latency_seconds", G, "Time from the last check's request to its verdict"},
    {"xlb_backend_health_check_running", G,
     "1 if the backend's check runs, 0 if it can't (why: lbctl list, health.not_checked)"},
    // the health monitor and checker (status health)
    {"xlb_health_backends", G, "Checked backends by health state"},
    {"xlb_health_checks_not_run", G, "Checked backends whose check can't run"},
    {"xlb_health_vips_all_down", G, "VIPs whose checked backends are all down"},
    {"xlb_health_steered_targets", G, "Checks steered through the health-check hook (ipip, l2dsr)"},
    {"xlb_health_transitions_total", C, "Health state changes of all backends"},
    {"xlb_health_state_file_ok", G, "1 if the health state file was written, 0 if the last write failed"},
    {"xlb_health_check_targets", G, "Checks the checker thread runs"},
    {"xlb_health_checks_in_flight", G, "Checks under way"},
    {"xlb_health_checks_started_total", C, "Checks started"},
    {"xlb_health_checks_skipped_busy_total", C, "Checks skipped because the previous one of the backend was still under way"},
    {"xlb_health_checker_cpu_seconds_total", C, "CPU time of the checker thread"},
    {"xlb_health_steering_packets_total", C, "Packets of the health-check hook, by counter"},
    // announcing VIPs (status announce)
    {"xlb_node_drained", G, "1 while the node is drained (lbctl node drain): it announces no VIP"},
    {"xlb_vip_announced", G, "1 for each VIP address announced in the routing table (lbd --announce-table)"},
    {"xlb_announce_write_ok", G, "1 if the last write of the announce routing table succeeded, 0 if it failed"},
    // the reaper (status reaper)
    {"xlb_reaper_interval_seconds", G, "Time between the starts of two sweeps"},
    {"xlb_reaper_sweeps_total", C, "Sweeps finished, successful or not"},
    {"xlb_reaper_running", G, "1 while a sweep is under way"},
    {"xlb_reaper_last_sweep_failed", G, "1 if the last sweep failed (why: lbd's log, lbctl status)"},
    {"xlb_reaper_expired_total", C, "Flow-table entries the reaper deleted for idleness"},
    {"xlb_reaper_reconciled_total", C, "Connection counts the reaper corrected"},
    {"xlb_reaper_backends_freed_total", C, "Removed backends freed once no flow used them"},
    {"xlb_reaper_nat_rev_reaped_total", C, "NAT reply-table entries the reaper deleted"},
    {"xlb_reaper_last_sweep_timestamp_seconds", G, "Unix time the last successful sweep ended"},
    {"xlb_reaper_last_sweep_duration_seconds", G, "Duration of the last successful sweep"},
    {"xlb_reaper_last_sweep_scanned_entries", G, "Flow-table entries the last sweep read"},
    {"xlb_reaper_last_sweep_expired_entries", G, "Flow-table entries the last sweep deleted for idleness"},
    {"xlb_reaper_last_sweep_restored_entries", G, "Entries the last sweep put back (touched while it deleted them)"},
    {"xlb_reaper_last_sweep_nat_rev_entries", G, "NAT reply-table entries the last sweep read"},
    {"xlb_reaper_last_sweep_nat_rev_reaped_entries", G, "NAT reply-table entries the last sweep deleted"},
    {"xlb_reaper_last_sweep_complete", G, "1 if the last sweep went through the whole table, 0 if it stopped early"},
};
const size_t kFamilyCount = sizeof(kFamilies) / sizeof(kFamilies[0]);

void declare_families(Exposition& out) {
  for (const FamilyDef& f : kFamilies) out.family(f.name, f.type, f.help);
}

}  // namespace xlb::metrics
