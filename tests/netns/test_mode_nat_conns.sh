#!/usr/bin/env bash
# least-conn on a nat VIP: the LB sees both directions, so connection counts
# follow the backends' closes too, not only the client's. 20 held
# connections split 10/10 and lbctl counts them; closing 10 from the client
# returns their counts; then the backends close the other 10 first (GET
# /close: the server's FIN, while the client keeps its half-closed sockets
# and sends no FIN): their counts return to 0 as well, which a DSR LB
# cannot see (it would keep them until tcp_established expires, 900 s).
# Releasing the half-closed sockets then lets the reaper remove every flow,
# and 10 new connections split 5/5 again.
#
# Runs against lbd and xlb (a nat VIP with least-conn, the config's "mode"
# and "port"; lib.sh, "Forwarding modes: the control plane").
# XLB_EMULATE=nft runs the traffic only (the counts are lbd's view).
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create_nat 2
VIP="$RIG_VIP4:80"
ALT=$RIG_PORT_ALT_TCP

step "lbd; $VIP/tcp nat least-conn -> b1, b2 port $ALT; tcp_closing 2 s, reaper every 200 ms"
lbd_start || { fail "lbd starts"; rig_finish; }
cfg_new
cfg_timeouts tcp_established=900 tcp_half_open=10 tcp_closing=2 udp=10
cfg_set reap_interval_ms 200
cfg_vip "$VIP" tcp nat least-conn
cfg_backend "$VIP" tcp "$(rig_b4 1)" "$ALT"
cfg_backend "$VIP" tcp "$(rig_b4 2)" "$ALT"
cfg_apply || { cat "$RIG_CFG"; rig_finish; }
lbd_real && lbctl_ list

# counts_are JSON: lbctl's active counts equal JSON ({"b1": N, ...}) and
# nothing is half-open.
counts_are() {
	local conns
	conns=$(lb_conns "$VIP" tcp) || return 1
	counts_equal "$(conns_field "$conns" active)" "$1" && counts_equal "$(conns_field "$conns" half_open)" '{}'
}
show_counts() { lb_conns "$VIP" tcp; }
vip_flows() { lbctl_ flows --vip "$VIP" --proto tcp --json | json_get - total; }
no_flows() { [[ "$(vip_flows)" == 0 ]]; }

step "hold 20 connections, one at a time"
hold_start lc "$RIG_VIP4" 20 --parallel 1 || { fail "hold client starts"; rig_finish; }
held=$(hold_by_backend lc)
check "10/10 as the backends answer ($held)" counts_equal "$held" '{"b1": 10, "b2": 10}'
check "the backends saw the client's address" \
	[ "$(hold_cmd lc status | json_get - by_peer)" = "{\"$RIG_CLIENT4\": 20}" ]
lbd_real && check "lbctl counts them: active 10/10 ($(show_counts))" wait_for 5 counts_are '{"b1": 10, "b2": 10}'

step "the client closes 5 on each backend (its FIN)"
hold_cmd lc close 5 --backend b1 >/dev/null
hold_cmd lc close 5 --backend b2 >/dev/null
check "10 held" int_eq "$(hold_cmd lc status | json_get - held)" 10
lbd_real && check "counts drop to 5/5 ($(show_counts))" wait_for 5 counts_are '{"b1": 5, "b2": 5}'

step "the backends close the other 10 first (their FIN); the client keeps its sockets half-closed"
out=$(hold_cmd lc srvclose 10)
echo "  $out"
check "10 answered with Connection: close" int_eq "$(json_get - answered <<<"$out")" 10
check "the client saw the server's FIN on all 10" int_eq "$(json_get - eof <<<"$out")" 10
check "the client holds 10 half-closed sockets" int_eq "$(json_get - half_closed <<<"$out")" 10
cw=$(in_ns "$RIG_NS_C" ss -Htn state close-wait dst "$RIG_VIP4" | wc -l)
check "in CLOSE-WAIT: the client has sent no FIN ($cw)" int_eq "$cw" 10
lbd_real && check "counts return to 0/0 without any client FIN ($(show_counts))" \
	wait_for 10 counts_are '{"b1": 0, "b2": 0}'

step "the client closes its half-closed sockets; the reaper removes every flow"
out=$(hold_cmd lc release)
check "10 released" int_eq "$(json_get - released <<<"$out")" 10
if lbd_real; then
	check "no flow of $VIP left ($(vip_flows))" wait_for 15 no_flows
	check "counts still 0/0 ($(show_counts))" counts_are '{"b1": 0, "b2": 0}'
fi

step "10 new connections split 5/5"
out=$(hold_cmd lc open 10)
check "10 opened ($(json_get - errors <<<"$out"))" int_eq "$(json_get - opened <<<"$out")" 10
check "5/5 ($(json_get - by_backend <<<"$out"))" counts_equal "$(json_get - by_backend <<<"$out")" '{"b1": 5, "b2": 5}'
lbd_real && check "lbctl counts 5/5 ($(show_counts))" wait_for 5 counts_are '{"b1": 5, "b2": 5}'
hold_cmd lc quit >/dev/null
lbd_real && check "after quit the counts return to 0/0" wait_for 10 counts_are '{"b1": 0, "b2": 0}'
rig_finish
