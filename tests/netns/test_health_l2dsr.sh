#!/usr/bin/env bash
# Health checks in l2dsr mode (issue 12), rig_create_l2 with 2 backends:
# lbd's checks of an l2dsr VIP are addressed to the VIP and MAC-addressed to
# one backend by its tc egress hook, the way that backend's traffic goes. The
# LB routes the VIPs to a next hop nobody answers for, so only a steered
# check can succeed. VIPs: 198.18.100.1:80/tcp (tcp check),
# 198.18.100.1:53/udp (udp check: send "hc", expect a reply starting with
# "b", backend_server.py answers "<name> hc") and [fd00:100::1]:80/tcp (http
# check); interval 500ms, timeout 300ms, fall 2, rise 2.
#  1. b2's server stops: b2 is down with weight 0 on all three VIPs within
#     interval*fall + 1 s (+3 s of slack; the times are printed), new TCP
#     connections and UDP requests all go to b1; the server back: b2 up.
#  2. The IPv4 VIP leaves b1's lo (its server still answers on its own
#     address; the IPv6 VIP stays): b1 is down on both IPv4 VIPs and stays up
#     on the IPv6 one; new connections to the IPv4 VIP all go to b2. Back on
#     lo: up.
set -u
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create_l2 2

VIPT="$RIG_VIP4:80" VIPU="$RIG_VIP4:53" VIP6="[$RIG_VIP6]:80"
B1=$(rig_b4 1) B2=$(rig_b4 2)
INTERVAL_MS=500 FALL=2 RISE=2
COMMON=(--interval "${INTERVAL_MS}ms" --timeout 300ms --fall "$FALL" --rise "$RISE")
DOWN_DEADLINE_S=$(((INTERVAL_MS * FALL + 1000 + 3000 + 999) / 1000))
UP_DEADLINE_S=$(((INTERVAL_MS * RISE + 1000 + 3000 + 999) / 1000))
# VIPS: "VIP PROTO" pairs, for the loops below.
VIPS=("$VIPT tcp" "$VIPU udp" "$VIP6 tcp")


step "the LB routes the VIPs to a next hop nobody answers for (only steered checks reach a backend)"
ip -n "$RIG_NS_LB" neigh replace 198.19.0.250 lladdr 02:00:00:00:00:fa dev "$RIG_IF_LB" nud permanent
ip -n "$RIG_NS_LB" -6 neigh replace fd00:19::250 lladdr 02:00:00:00:00:fa dev "$RIG_IF_LB" nud permanent
ip -n "$RIG_NS_LB" route add "$RIG_VIP4/32" via 198.19.0.250 dev "$RIG_IF_LB"
ip -n "$RIG_NS_LB" -6 route add "$RIG_VIP6/128" via fd00:19::250 dev "$RIG_IF_LB"
unsteered=$(in_ns "$RIG_NS_LB" python3 -c "import sys; sys.path.insert(0, '$RIG_TOOLS_DIR'); from client import one_conn; print(one_conn('$RIG_VIP4', 80, 1).get('backend', 'none'))")
check "from the LB, an unsteered connection to $RIG_VIP4:80 reaches nobody ($unsteered)" [ "$unsteered" = none ]

step "lbd; l2dsr VIPs $VIPT/tcp, $VIPU/udp, $VIP6/tcp on b1, b2; checks tcp, udp, http"
lbd_start || { fail "lbd starts"; rig_finish; }
mode_vip_setup "$VIPT" tcp l2dsr "$B1" "$B2" || rig_finish
mode_vip_setup "$VIPU" udp l2dsr "$B1" "$B2" || rig_finish
mode_vip_setup "$VIP6" tcp l2dsr "$(rig_b6 1)" "$(rig_b6 2)" || rig_finish
lbctl_quiet set-health "$VIPT" --proto tcp --check tcp "${COMMON[@]}" || rig_finish
lbctl_quiet set-health "$VIPU" --proto udp --check udp --send hc --expect b "${COMMON[@]}" || rig_finish
lbctl_quiet set-health "$VIP6" --proto tcp --check http "${COMMON[@]}" || rig_finish
for vp in "${VIPS[@]}"; do
	read -r vip proto <<<"$vp"
	health_check_wait "$vip" "$proto" "$(now_ms)" 10 "all(st(n) == 'up' and w(n) == 1 for n in b)" "b1 and b2 up, weight 1"
done

step "1. b2's server stops"
t0=$(now_ms)
server_stop 2
for vp in "${VIPS[@]}"; do
	read -r vip proto <<<"$vp"
	health_check_wait "$vip" "$proto" "$t0" "$DOWN_DEADLINE_S" "st('b2') == 'down' and w('b2') == 0 and st('b1') == 'up'" \
		"b2 down with weight 0 within $DOWN_DEADLINE_S s, b1 up"
done
sport_alloc 40
out=$(client_burst "$RIG_VIP4" 40 --parallel 20 --sport-base "$SPORT")
check "40 new TCP connections all answered by b1 ($(json_get - by_backend <<<"$out"))" \
	counts_equal "$(json_get - by_backend <<<"$out")" '{"b1": 40}'
sport_alloc 40
out=$(client_udprr "$RIG_VIP4" 40 --parallel 20 --sport-base "$SPORT")
check "40 new UDP requests all answered by b1 ($(json_get - by_backend <<<"$out"))" \
	counts_equal "$(json_get - by_backend <<<"$out")" '{"b1": 40}'
server_start 2
t0=$(now_ms) # from the server being ready
for vp in "${VIPS[@]}"; do
	read -r vip proto <<<"$vp"
	health_check_wait "$vip" "$proto" "$t0" "$UP_DEADLINE_S" "st('b2') == 'up' and w('b2') == 1" "b2 up again within $UP_DEADLINE_S s"
done

step "2. the IPv4 VIP leaves b1's lo (the IPv6 VIP stays)"
t0=$(now_ms)
ip -n "$(rig_ns_b 1)" addr del "$RIG_VIP4/32" dev lo
b1own=$(in_ns "$RIG_NS_LB" python3 -c "import sys; sys.path.insert(0, '$RIG_TOOLS_DIR'); from client import one_conn; print(one_conn('$B1', 80, 2).get('backend'))")
check "b1 still answers on its own address $B1 ($b1own): a check there would pass" [ "$b1own" = b1 ]
health_check_wait "$VIPT" tcp "$t0" "$DOWN_DEADLINE_S" "st('b1') == 'down' and w('b1') == 0" "b1 down with weight 0"
health_check_wait "$VIPU" udp "$t0" "$DOWN_DEADLINE_S" "st('b1') == 'down' and w('b1') == 0" "b1 down with weight 0"
# Two more checks of b1 on the IPv6 VIP after those: still up.
at0=$(lbctl_ list --json | json_get - "[b['health']['last']['at_ms'] for v in d['vips'] if v['vip'] == '$VIP6' for b in v['backends'] if b['address'] == '$(rig_b6 1)'][0]")
health_check_wait "$VIP6" tcp "$(now_ms)" 5 "h('b1')['last']['at_ms'] > ${at0:-0} + $INTERVAL_MS and st('b1') == 'up' and w('b1') == 1" \
	"b1 checked again and still up on the IPv6 VIP, whose address it still holds"
sport_alloc 40
out=$(client_burst "$RIG_VIP4" 40 --parallel 20 --sport-base "$SPORT")
check "40 new TCP connections to the IPv4 VIP all answered by b2 ($(json_get - by_backend <<<"$out"))" \
	counts_equal "$(json_get - by_backend <<<"$out")" '{"b2": 40}'
t0=$(now_ms)
ip -n "$(rig_ns_b 1)" addr add "$RIG_VIP4/32" dev lo
health_check_wait "$VIPT" tcp "$t0" "$UP_DEADLINE_S" "st('b1') == 'up' and w('b1') == 1" "VIP back on b1's lo: b1 up"
health_check_wait "$VIPU" udp "$t0" "$UP_DEADLINE_S" "st('b1') == 'up' and w('b1') == 1" "VIP back on b1's lo: b1 up"
sport_alloc 60
out=$(client_burst "$RIG_VIP4" 60 --parallel 20 --sport-base "$SPORT")
check "60 new TCP connections all answered, by both backends ($(json_get - by_backend <<<"$out"))" \
	[ "$(json_get - "d['ok'] == 60 and sorted(d['by_backend']) == ['b1', 'b2']" <<<"$out")" = true ]

rig_finish
