#!/usr/bin/env bash
# What a health-down backend's existing flows do (issue 12, on_down), ipip
# rig with 3 backends, http checks every 500 ms (fall 2, rise 2). A backend
# override makes b2's check GET /status/500 (backend_server.py answers 500
# there) while b2's server goes on serving every other request, as a process
# that only fails its health endpoint does.
#  1. on_down keep (the default): b2 goes down (weight 0, no new flows), and
#     the client's held connections on b2 keep answering from b2; the VIP is
#     least-conn and b2 still counts them.
#  2. on_down purge: b2 goes down and its flow entries are deleted, so the
#     next packet of each held connection on b2 goes to a live backend, which
#     resets it: every b2 connection fails, the others still answer from
#     their own backend, and the flow table has no entry for b2 left (nor
#     does b2 count any connection).
set -u
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 3

VIP="$RIG_VIP4:80"
B2=$(rig_b4 2)
INTERVAL_MS=500 FALL=2 RISE=2
COMMON=(--interval "${INTERVAL_MS}ms" --timeout 300ms --fall "$FALL" --rise "$RISE")
DOWN_DEADLINE_S=$(((INTERVAL_MS * FALL + 1000 + 3000 + 999) / 1000))
UP_DEADLINE_S=$(((INTERVAL_MS * RISE + 1000 + 3000 + 999) / 1000))
N=60

# wait_vip T0_MS SECONDS EXPR LABEL: health_wait on $VIP/tcp, printed and checked.
wait_vip() {
	local out
	out=$(health_wait "$VIP" tcp "$1" "$2" "$3")
	echo "  $(json_get - elapsed_ms <<<"$out") ms: $(json_get - view <<<"$out")"
	check "$4" health_ok "$out"
}

# b2_fails_checks / b2_passes_checks [set-health options]: b2's override
# checks /status/500 / the VIP's checks again.
b2_fails_checks() { lbctl_quiet set-health "$VIP" --proto tcp --backend "$B2" --check http --path /status/500 "${COMMON[@]}"; }
b2_passes_checks() { lbctl_quiet set-health "$VIP" --proto tcp --backend "$B2" --reset; }

# hold_round NAME: opens N held connections from fixed source ports
# (sport_alloc N) and prints how they spread.
hold_round() {
	sport_alloc "$N"
	hold_start "$1" "$RIG_VIP4" "$N" --sport-base "$SPORT" || return 1
	echo "  held: $(hold_by_backend "$1")"
}

step "the LB routes $RIG_VIP4 to a next hop nobody answers for (only steered checks reach a backend)"
ip -n "$RIG_NS_LB" neigh replace 198.18.0.250 lladdr 02:00:00:00:00:fa dev "$RIG_IF_LB" nud permanent
ip -n "$RIG_NS_LB" route add "$RIG_VIP4/32" via 198.18.0.250 dev "$RIG_IF_LB"

step "lbd, decap, $VIP/tcp (least-conn) on b1..b3, http check"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
mode_vip_setup "$VIP" tcp ipip --sched least-conn "$(rig_b4 1)" "$B2" "$(rig_b4 3)" || rig_finish
lbctl_quiet set-health "$VIP" --proto tcp --check http "${COMMON[@]}" || rig_finish
wait_vip "$(now_ms)" 10 "all(st(n) == 'up' and w(n) == 1 for n in b)" "all three up with weight 1"

step "1. on_down keep: b2 fails its checks while it serves its connections"
hold_round k || { fail "hold client k starts"; rig_finish; }
held_b2=$(hold_by_backend k | json_get - "d.get('b2', 0)")
check "some held connections are on b2 ($held_b2)" int_ge "$held_b2" 1
t0=$(now_ms)
b2_fails_checks
wait_vip "$t0" "$DOWN_DEADLINE_S" "st('b2') == 'down' and w('b2') == 0 and 'http status 500' in h('b2')['reason']" \
	"b2 down (http status 500) with weight 0"
out=$(hold_cmd k check)
echo "  check: held $(json_get - held <<<"$out"), same $(json_get - same <<<"$out"), moved $(json_get - moved <<<"$out"), failed $(json_get - failed <<<"$out")"
check "keep: all $N held connections still answer from their own backend, b2's $held_b2 included" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" "$N"
check "keep: b2 still counts its $held_b2 connections (active $(lb_conns "$VIP" tcp | json_get - "d['b2']['active']"))" \
	int_eq "$(lb_conns "$VIP" tcp | json_get - "d['b2']['active']")" "$held_b2"
sport_alloc 40
out=$(client_burst "$RIG_VIP4" 40 --parallel 20 --sport-base "$SPORT")
check "40 new connections all answered, none by b2 ($(json_get - by_backend <<<"$out"))" \
	[ "$(json_get - "d['ok'] == 40 and 'b2' not in d['by_backend']" <<<"$out")" = true ]
hold_cmd k quit >/dev/null
t0=$(now_ms)
b2_passes_checks
wait_vip "$t0" "$UP_DEADLINE_S" "st('b2') == 'up' and w('b2') == 1" "override reset: b2 up"

step "2. on_down purge"
lbctl_quiet set-health "$VIP" --proto tcp --check http --on-down purge "${COMMON[@]}"
check "the VIP's spec says on_down purge" \
	[ "$(lbctl_ list --json | json_get - "[v['health'].get('on_down') for v in d['vips']]")" = '["purge"]' ]
hold_round p || { fail "hold client p starts"; rig_finish; }
held=$(hold_by_backend p)
held_b2=$(json_get - "d.get('b2', 0)" <<<"$held")
check "some held connections are on b2 ($held_b2)" int_ge "$held_b2" 1
flows=$(lb_flows_by_sport "$VIP" tcp)
check "the flow table has b2's $held_b2 flows before ($(flows_count_by_backend "$flows"))" \
	int_ge "$(flows_count_by_backend "$flows" | json_get - "d.get('b2', 0)")" "$held_b2"
t0=$(now_ms)
b2_fails_checks
wait_vip "$t0" "$DOWN_DEADLINE_S" "st('b2') == 'down' and w('b2') == 0" "b2 down with weight 0"
no_b2_flows() { [ "$(flows_count_by_backend "$(lb_flows_by_sport "$VIP" tcp)" | json_get - "d.get('b2', 0)")" = 0 ]; }
check "purge: no flow entry for b2 left" wait_for 5 no_b2_flows
check "purge: b2 counts no connection any more (active $(lb_conns "$VIP" tcp | json_get - "d['b2']['active']"))" \
	int_eq "$(lb_conns "$VIP" tcp | json_get - "d['b2']['active']")" 0
out=$(hold_cmd p check)
echo "  check: held $(json_get - held <<<"$out"), same $(json_get - same <<<"$out"), moved $(json_get - moved <<<"$out"), failed $(json_get - failed <<<"$out")"
check "purge: none of b2's $held_b2 held connections is answered by b2 any more" \
	int_eq "$(json_get - "sum(1 for c in d['conns'] if c['backend_open'] == 'b2' and c['backend_now'] == 'b2')" <<<"$out")" 0
check "purge: the other $((N - held_b2)) answer from their own backend" \
	int_eq "$(json_get - "sum(1 for c in d['conns'] if c['backend_open'] != 'b2' and c['same'])" <<<"$out")" "$((N - held_b2))"
hold_cmd p quit >/dev/null
t0=$(now_ms)
b2_passes_checks
wait_vip "$t0" "$UP_DEADLINE_S" "st('b2') == 'up' and w('b2') == 1" "override reset: b2 up"

rig_finish
