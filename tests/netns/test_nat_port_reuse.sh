#!/usr/bin/env bash
# nat: a client port reused toward another VIP port after a full close.
# VIP:80 (backend port $ALT) and VIP:$ALT (same backend port) both reach b1's
# port $ALT, so one client port toward both gives one reply tuple
# (b1:$ALT -> client:port). Linux reuses a local port toward another
# destination while the first connection is in TIME_WAIT; once both FINs
# went through the load balancer, the first flow is finished and the second
# one's SYN takes the tuple over (bpf/lib/nat.h). Checks, IPv4 and IPv6:
# a connection from a fixed source port to VIP:80, fully closed, then one
# from the same port to VIP:$ALT is answered by b1 (before the takeover it
# timed out, its SYNs dropped as drop_nat_conflict); lbd counts one
# nat_takeover per family, and no drop or refusal.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create_nat 1
ALT=$RIG_PORT_ALT_TCP

step "lbd; nat VIPs :80 -> b1:$ALT and :$ALT -> b1:$ALT, both families"
lbd_start || { fail "lbd starts"; rig_finish; }
nat_twin_vips "$ALT" || rig_finish
lb_stats "$RIG_TMP/s0.json" || fail "lbctl stats --json"

for vip in "$RIG_VIP4" "$RIG_VIP6"; do
	sport_alloc 1
	step "$vip: port $SPORT to :80, closed both ways, then port $SPORT to :$ALT"
	out=$(client_connect "$vip" 80 "$SPORT")
	rc=$?
	check "first connection: exit status 0 ($rc)" [ "$rc" = 0 ]
	check "first connection answered by b1 and fully closed ($out)" connect_answered_by "$out" b1
	out=$(client_connect "$vip" "$ALT" "$SPORT" --timeout 5)
	rc=$?
	check "second connection: exit status 0 ($rc)" [ "$rc" = 0 ]
	check "second connection from the same port to :$ALT answered by b1 ($out)" connect_answered_by "$out" b1
done

step "lbd's view"
lb_stats "$RIG_TMP/s1.json" || fail "lbctl stats --json"
lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s1.json" >"$RIG_TMP/delta.json"
n=$(lb_gstat "$RIG_TMP/delta.json" nat_takeover)
check "nat_takeover counted both takeovers ($n)" int_eq "$n" 2
n=$(lb_gstat "$RIG_TMP/delta.json" nat_conflict_rst)
check "nothing refused ($n)" int_eq "$n" 0
check "no drop counter moved ($(lb_drops "$RIG_TMP/delta.json"))" [ "$(lb_drops "$RIG_TMP/delta.json")" = "{}" ]
rig_finish
