#!/usr/bin/env bash
# nat: a client port toward another VIP port while the first connection is
# open. VIP:80 (backend port $ALT) and VIP:$ALT both reach b1's port $ALT, so
# the two flows would share one reply tuple (b1:$ALT -> client:port); the
# first is live, so the second can't be served. The load balancer answers its
# SYN with a RST (bpf/lib/nat_refuse.h) rather than dropping it, so the
# client fails at once instead of retrying its SYN for a minute. Checks,
# IPv4 and IPv6: a connection held open from a fixed source port to VIP:80;
# a connect from the same port to VIP:$ALT fails with ECONNREFUSED within
# 2 s (before the fix: ETIMEDOUT after the 5 s timeout); the held
# connection still answers from b1; lbd counts one nat_conflict_rst per
# family, and no drop_nat_conflict.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create_nat 1
ALT=$RIG_PORT_ALT_TCP

step "lbd; nat VIPs :80 -> b1:$ALT and :$ALT -> b1:$ALT, both families"
lbd_start || { fail "lbd starts"; rig_finish; }
nat_twin_vips "$ALT" || rig_finish

i=0
for vip in "$RIG_VIP4" "$RIG_VIP6"; do
	i=$((i + 1))
	sport_alloc 1
	step "$vip: port $SPORT held open to :80, then port $SPORT to :$ALT"
	hold_start "h$i" "$vip" 1 --sport-base "$SPORT" || { fail "hold client starts"; continue; }
	lb_stats "$RIG_TMP/s0.json" || fail "lbctl stats --json"
	out=$(client_connect "$vip" "$ALT" "$SPORT" --timeout 5)
	rc=$?
	check "exit status 1 (a failed connect, not a crash): $rc" [ "$rc" = 1 ]
	check "refused quickly: ECONNREFUSED within 2 s ($out)" connect_refused_within "$out" 2
	lb_stats "$RIG_TMP/s1.json" || fail "lbctl stats --json"
	lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s1.json" >"$RIG_TMP/delta.json"
	n=$(lb_gstat "$RIG_TMP/delta.json" nat_conflict_rst)
	check "nat_conflict_rst counted the refusal ($n)" int_eq "$n" 1
	n=$(lb_gstat "$RIG_TMP/delta.json" drop_nat_conflict)
	check "nothing dropped as drop_nat_conflict ($n)" int_eq "$n" 0
	out=$(hold_cmd "h$i" check)
	check "the held connection still answers from b1 ($out)" \
		int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" 1
	hold_cmd "h$i" quit >/dev/null
done
rig_finish
