#!/usr/bin/env bash
# fullnat mode, two-arm LB (rig_create_fullnat): the backends have no route
# to the client at all; the LB gives every flow its fullnat source S
# (198.19.0.100 / fd00:19::100, an address of its backend-side interface)
# and a source port from the configured range, so the backends answer S.
# Configured with `lbctl apply` (the fullnat block exists only in the config).
# Checks, IPv4 and IPv6: N TCP connections and N UDP requests all answered
# and spread, UDP replies from the VIP, the backends see S (not the client)
# with source ports in the range, at their own address on the remapped
# port. Then port exhaustion: with a range of 8 ports and one backend, 8
# held connections work, the 9th fails and lbd counts drop_nat_ports; their
# forward entries deleted from the pinned flow table (an eviction), the 8
# keep working on the same source ports (issue 10); once
# they are closed and the reaper has freed their ports (tcp_closing 1 s,
# reap interval 200 ms), new connections work again.
#
# Bursts from fixed source ports (sport_alloc): the spreads are the same on
# every run. Runs against lbd and xlb (`lbctl apply` with the "fullnat"
# block, mode "fullnat" and backend "port"; lbd with two --iface; lib.sh,
# "Forwarding modes: the control plane"); XLB_EMULATE=nft runs the traffic
# through the kernel's NAT instead, skipping lbd's view.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create_fullnat 3
N=120
ALT=$RIG_PORT_ALT_TCP
ALTU=$RIG_PORT_ALT_UDP
PMIN=20000
PMAX=20999

step "topology: the backends cannot reach the client, only the LB and S"
for f in 4 6; do
	c=$RIG_CLIENT4 s=$RIG_FNAT4
	[[ $f == 6 ]] && c=$RIG_CLIENT6 s=$RIG_FNAT6
	check "b1 has no route to $c" eval "! ip -n $(rig_ns_b 1) route get $c >/dev/null 2>&1"
	check "b1 reaches S=$s on-link" eval "! ip -n $(rig_ns_b 1) route get $s | grep -q via"
done

# config PORT_MIN PORT_MAX: a new config with the fullnat block and short
# timeouts; the caller adds the VIPs (apply is declarative: the config is
# the whole state).
config() {
	local pmin=$1 pmax=$2
	cfg_new
	cfg_fullnat "$RIG_FNAT4" "$RIG_FNAT6" "$pmin" "$pmax"
	cfg_timeouts tcp_established=900 tcp_half_open=10 tcp_closing=1 udp=2
	cfg_set reap_interval_ms 200
}

step "lbd on ${RIG_LB_IFACES[*]}; config: fullnat S $RIG_FNAT4 / $RIG_FNAT6, ports $PMIN..$PMAX; tcp :80 -> :$ALT, udp :53 -> :$ALTU"
lbd_start || { fail "lbd starts"; rig_finish; }
config $PMIN $PMAX
for vip in "$RIG_VIP4" "$RIG_VIP6"; do
	cfg_vip "$(hostport "$vip" 80)" tcp fullnat
	cfg_vip "$(hostport "$vip" 53)" udp fullnat
	for i in 1 2 3; do
		b=$(rig_b4 $i)
		[[ "$vip" == *:* ]] && b=$(rig_b6 $i)
		cfg_backend "$(hostport "$vip" 80)" tcp "$b" "$ALT"
		cfg_backend "$(hostport "$vip" 53)" udp "$b" "$ALTU"
	done
done
cfg_apply || { cat "$RIG_CFG"; rig_finish; }
if lbd_real; then
	lbctl_ list
	lb_stats "$RIG_TMP/s0.json" || fail "lbctl stats --json"
fi

for vip in "$RIG_VIP4" "$RIG_VIP6"; do
	s=$RIG_FNAT4
	[[ "$vip" == *:* ]] && s=$RIG_FNAT6
	tcp_burst_checked "$vip" $N 20 47
	out=$BURST_OUT
	check "the backends saw S=$s, not the client" burst_peer_is "$out" "$s"
	check "with source ports in $PMIN..$PMAX" burst_peer_ports_in "$out" $PMIN $PMAX
	check "the backends were reached at their own address, port $ALT" burst_local_is "$out" own "$ALT"

	udp_rr_checked "$vip" $N 20 47
	out=$BURST_OUT
	check "the backends saw S=$s" burst_peer_is "$out" "$s"
	check "with source ports in $PMIN..$PMAX" burst_peer_ports_in "$out" $PMIN $PMAX
	check "the backends were reached at their own address, port $ALTU" burst_local_is "$out" own "$ALTU"
done

if lbd_real; then
	step "lbd's view"
	lb_stats "$RIG_TMP/s1.json" || fail "lbctl stats --json"
	lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s1.json" >"$RIG_TMP/delta.json"
	D="$RIG_TMP/delta.json"
	nat_reply=$(lb_gstat "$RIG_TMP/delta.json" nat_reply)
	echo "  nat_reply $nat_reply, drops $(lb_drops "$D")"
	check "nat_reply counted the replies ($nat_reply >= $((2 * 2 * N + 2 * N)))" int_ge "$nat_reply" $((2 * 2 * N + 2 * N))
	check "no drop counter moved ($(lb_drops "$D"))" [ "$(lb_drops "$D")" = "{}" ]
fi

# ---- port exhaustion ----------------------------------------------------------
EX_MIN=30000
EX_MAX=30007
step "port exhaustion: ports $EX_MIN..$EX_MAX, $RIG_VIP4:80 -> b1 only"
flows_gone() { [[ "$(lbctl_ flows --json | json_get - total)" == 0 ]]; }
if lbd_real; then
	# The flows above must be gone first: their ports come from the old range.
	check "the earlier flows are reaped (tcp_closing 1 s, udp 2 s)" wait_for 20 flows_gone
else
	sleep 3
fi
config $EX_MIN $EX_MAX
cfg_vip "$RIG_VIP4:80" tcp fullnat
cfg_backend "$RIG_VIP4:80" tcp "$(rig_b4 1)" "$ALT"
cfg_apply || rig_finish
lbd_real && lb_stats "$RIG_TMP/e0.json"

hold_start ex "$RIG_VIP4" 8 --parallel 1 --timeout 3 || fail "hold client starts"
st=$(hold_cmd ex status)
check "8 connections held ($(json_get - held <<<"$st"))" int_eq "$(json_get - held <<<"$st")" 8
ports=$(json_get - "sorted(c['peer_port'] for c in d['conns'])" <<<"$st")
echo "  source ports b1 saw: $ports"
check "they use all 8 ports of $EX_MIN..$EX_MAX, each once" \
	[ "$ports" = "$(python3 -c "print(list(range($EX_MIN, $EX_MAX + 1)))")" ]
out=$(hold_cmd ex open 1)
check "the 9th connection fails ($(json_get - errors <<<"$out"))" int_eq "$(json_get - failed <<<"$out")" 1
if lbd_real; then
	lb_stats "$RIG_TMP/e1.json"
	lb_stats_delta "$RIG_TMP/e0.json" "$RIG_TMP/e1.json" >"$RIG_TMP/edelta.json"
	n=$(lb_gstat "$RIG_TMP/edelta.json" drop_nat_ports)
	check "drop_nat_ports counted its SYNs ($n > 0)" int_ge "$n" 1
fi
out=$(hold_cmd ex check)
check "the 8 held connections still answer" int_eq "$(json_get - answered <<<"$out")" 8

# evict_all_flows MAP: deletes every entry of the pinned flow table MAP, as
# the LRU does when it evicts (one bpftool batch); prints how many.
evict_all_flows() {
	local map=$1 batch="$RIG_TMP/evict.batch"
	bpftool -j map dump pinned "$map" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    print("map delete pinned %s key hex %s" % (sys.argv[1], " ".join(b[2:] for b in e["key"])))
' "$map" >"$batch"
	[[ -s "$batch" ]] && bpftool batch file "$batch" >/dev/null
	wc -l <"$batch"
}
if lbd_real; then
	step "evict the held connections' forward entries: their next packets find their reply entries, keep their source ports, and they keep working"
	# A long reap interval for this step only: the reaper would delete a
	# reply entry whose flow stayed gone for two sweeps.
	config $EX_MIN $EX_MAX
	cfg_set reap_interval_ms 10000
	cfg_vip "$RIG_VIP4:80" tcp fullnat
	cfg_backend "$RIG_VIP4:80" tcp "$(rig_b4 1)" "$ALT"
	cfg_apply || rig_finish
	lb_stats "$RIG_TMP/v0.json"
	n=$(evict_all_flows "$RIG_PIN_ROOT/${RIG_LB_IFACES[0]}/xlb_flows")
	check "the 8 forward entries deleted ($n)" int_eq "$n" 8
	check "none left" int_eq "$(lbctl_ flows --json | json_get - total)" 0
	# With a new source port, b1 would answer the next segment with a RST.
	out=$(hold_cmd ex check)
	check "the 8 held connections still answer" int_eq "$(json_get - answered <<<"$out")" 8
	check "their 8 flows are back" int_eq "$(lbctl_ flows --json | json_get - total)" 8
	got=$(lbctl_ flows --json | json_get - "sorted(f['nat_port'] for f in d['flows'])")
	check "on the same 8 source ports ($got)" [ "$got" = "$ports" ]
	lb_stats "$RIG_TMP/v1.json"
	lb_stats_delta "$RIG_TMP/v0.json" "$RIG_TMP/v1.json" >"$RIG_TMP/vdelta.json"
	check "no drop counter moved ($(lb_drops "$RIG_TMP/vdelta.json"))" [ "$(lb_drops "$RIG_TMP/vdelta.json")" = "{}" ]
	config $EX_MIN $EX_MAX
	cfg_vip "$RIG_VIP4:80" tcp fullnat
	cfg_backend "$RIG_VIP4:80" tcp "$(rig_b4 1)" "$ALT"
	cfg_apply || rig_finish
fi

step "close the 8; after the closing timeout and a reaper sweep the ports are free again"
out=$(hold_cmd ex close 8)
check "8 closed" int_eq "$(json_get - closed <<<"$out")" 8
lbd_real && check "their flows are reaped" wait_for 20 flows_gone
# Each try waits up to --timeout (3 s) while the ports are still taken.
open_one() { [[ "$(hold_cmd ex open 1 | json_get - opened)" == 1 ]]; }
check "a new connection succeeds again" wait_for 20 open_one
out=$(hold_cmd ex open 7)
check "and 7 more: the whole range is usable again ($(json_get - opened <<<"$out") of 7)" \
	int_eq "$(json_get - opened <<<"$out")" 7
out=$(hold_cmd ex open 1)
check "while the 9th fails again" int_eq "$(json_get - failed <<<"$out")" 1
hold_cmd ex quit >/dev/null
rig_finish
