#!/usr/bin/env bash
# Idle expiry of established flows, end to end, on a least-conn VIP.
# Two held connections keep talking (client.py hold `ping start`: a GET on
# each every 0.25 s) and two others go silent after their first answer; one
# of each per backend, so lbctl list shows active 2 on b1 and b2. Then the
# config shortens tcp_established to 4 s (reaper every 200 ms):
#  (b) the silent flows' entries are deleted by lbd's reaper and the
#      least-conn counts drop to the talking flows, 1 per backend;
#  (a) the talking flows survive three tcp_established periods and more:
#      never expired (no client packet met a missing entry: flow_rescheduled
#      and new_flow stay 0), every ping answered by the backend the
#      connection opened on, their entries and counts unchanged.
# (a) relies on client packets refreshing a flow's last_seen (bpf/lib/flow.h
# xlb_flow_touch); (b) on the reaper deleting idle entries and returning
# their units (ctl/core/reaper.cc).
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 2
VIP="$RIG_VIP4:80"
T=4         # tcp_established for the test, seconds
PERIODS=3   # the talking flows must outlive this many of them
PING=0.25   # seconds between two pings of a talking connection

# config_apply ESTABLISHED: the least-conn VIP on b1+b2, tcp_established
# ESTABLISHED, a sweep every 200 ms (apply is declarative: the whole config).
config_apply() {
	cfg_new
	cfg_timeouts "tcp_established=$1"
	cfg_set reap_interval_ms 200
	cfg_vip "$VIP" tcp ipip least-conn
	cfg_backend "$VIP" tcp "$(rig_b4 1)"
	cfg_backend "$VIP" tcp "$(rig_b4 2)"
	cfg_apply
}

step "lbd, decap, least-conn $VIP/tcp on b1+b2 (default timeouts while connections open)"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
config_apply 900 || rig_finish

step "hold 2 connections that will talk and 2 that will go silent, from fixed source ports"
# --parallel 1: least-conn sees each open before the next, so each pair
# splits 1/1 over b1 and b2 whatever the tie-break.
sport_alloc 2
BUSY_SPORT=$SPORT
hold_start busy "$RIG_VIP4" 2 --parallel 1 --sport-base "$BUSY_SPORT" || { fail "hold client (talking) starts"; rig_finish; }
sport_alloc 2
IDLE_SPORT=$SPORT
hold_start idle "$RIG_VIP4" 2 --parallel 1 --sport-base "$IDLE_SPORT" || { fail "hold client (silent) starts"; rig_finish; }
busy=$(hold_by_backend busy)
idle=$(hold_by_backend idle)
check "the talking pair went to b1 and b2 ($busy)" counts_equal "$busy" '{"b1": 1, "b2": 1}'
check "the silent pair went to b1 and b2 ($idle)" counts_equal "$idle" '{"b1": 1, "b2": 1}'
active_is() { counts_equal "$(conns_field "$(lb_conns "$VIP" tcp)" active)" "$1"; }
check "lbctl list: active 2 on each backend ($(conns_field "$(lb_conns "$VIP" tcp)" active))" \
	wait_for 5 active_is '{"b1": 2, "b2": 2}'
# Each talking connection's backend by source port, as the client saw it.
busy_ports=$(hold_cmd busy status | json_get - "{str(c['sport']): c['backend'] for c in d['conns']}")
idle_ports=$(hold_cmd idle status | json_get - "[str(c['sport']) for c in d['conns']]")
echo "  talking: $busy_ports; silent: $idle_ports"

step "the talking pair pings every ${PING}s; tcp_established ${T}s, reaper every 200 ms"
out=$(hold_cmd busy ping start "$PING")
check "ping starts ($out)" [ "$(json_get - ok <<<"$out")" = true ]
lb_stats "$RIG_TMP/s0.json" || fail "lbctl stats --json"
config_apply "$T" || rig_finish
t_short=$(date +%s%3N)
check "status: tcp_established $T, reaper every 200 ms" \
	[ "$(lb_status_get "[d['timeouts']['tcp_established'], d['reaper']['interval_ms']]")" = "[$T, 200]" ]

step "(b) the silent flows expire: entries deleted by the reaper, counts back to the talking flows"
# flows_only_busy: the VIP's entries are exactly the talking connections,
# each on the backend the client saw it open on.
flows_only_busy() {
	flows=$(lb_flows_by_sport "$VIP" tcp) || return 1
	json_get - "{p: f['backend'] for p, f in d.items()}" <<<"$flows" >"$RIG_TMP/flows_now.json" || return 1
	python3 -c 'import json, sys; sys.exit(0 if json.loads(sys.argv[1]) == json.loads(sys.argv[2]) else 1)' \
		"$(cat "$RIG_TMP/flows_now.json")" "$busy_ports"
}
# Idle since their open, they may go at the first sweep; give them T + 1 s
# (last_seen's resolution) + a few sweeps, and a wide margin for a loaded machine.
if check "within $((T + 10)) s only the talking flows' entries are left" wait_for $((T + 10)) flows_only_busy; then
	echo "  gone after $(($(date +%s%3N) - t_short)) ms"
else
	echo "  flows now: ${flows:-?}"
fi
check "lbctl list: active 1 on each backend, the talking flows ($(conns_field "$(lb_conns "$VIP" tcp)" active))" \
	wait_for 5 active_is "$busy"
check "lbctl list: no half-open units" \
	counts_equal "$(conns_field "$(lb_conns "$VIP" tcp)" half_open)" '{}'

step "(a) the talking flows outlive $PERIODS periods of ${T}s"
# Wait for a complete sweep that ended after PERIODS * T seconds (plus one
# for last_seen's resolution) of the short timeout: by then an entry that
# was not refreshed has been expired $PERIODS times over.
until_ms=$((t_short + (PERIODS * T + 1) * 1000))
check "a complete sweep ran $((PERIODS * T + 1)) s after the short timeout took effect" \
	wait_for $((PERIODS * T + 15)) lb_swept_after "$until_ms"
echo "  $(($(date +%s%3N) - t_short)) ms with tcp_established ${T}s"
# Everything about the LB is read while the pings go on: once they stop,
# the talking flows start to age too.
lb_stats "$RIG_TMP/s1.json" || fail "lbctl stats --json"
lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s1.json" >"$RIG_TMP/d.json"
resched=$(lb_gstat "$RIG_TMP/d.json" flow_rescheduled)
newf=$(lb_gstat "$RIG_TMP/d.json" new_flow)
hits=$(lb_gstat "$RIG_TMP/d.json" flow_hit)
echo "  LB while pinging: flow_hit $hits, new_flow $newf, flow_rescheduled $resched, drops $(lb_drops "$RIG_TMP/d.json")"
check "no talking flow lost its entry: flow_rescheduled 0 ($resched)" int_eq "$resched" 0
check "no flow entry created meanwhile: new_flow 0 ($newf)" int_eq "$newf" 0
check "their entries are still there, on the same backends" flows_only_busy
check "both established ($(json_get - "sorted(set(f['state'] for f in d.values()))" <<<"$flows"))" \
	[ "$(json_get - "sorted(set(f['state'] for f in d.values()))" <<<"$flows")" = '["established"]' ]
check "lbctl list: still active 1 on each backend" active_is "$busy"
out=$(hold_cmd busy ping stop)
echo "  pings: $(json_get - "{k: d[k] for k in ('rounds', 'pings', 'failed', 'moved', 'max_gap_s', 'errors')}" <<<"$out")"
check "every ping answered ($(json_get - failed <<<"$out") failed)" int_eq "$(json_get - "d['failed'] if d['pings'] > 0 else -1" <<<"$out")" 0
check "each by the backend its connection opened on ($(json_get - moved <<<"$out") moved)" int_eq "$(json_get - moved <<<"$out")" 0
# A guard on the test itself (about 4 rounds a second are expected): the
# connections really kept talking through the periods.
check "at least one round of pings a second: $((PERIODS * T)) or more ($(json_get - rounds <<<"$out"))" \
	int_ge "$(json_get - rounds <<<"$out")" $((PERIODS * T))
hold_cmd busy quit >/dev/null
hold_cmd idle quit >/dev/null
rig_finish
