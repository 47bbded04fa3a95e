#!/usr/bin/env bash
# nat mode, one-arm LB (rig_create_nat --one-arm): the LB has one interface
# on a segment shared with the backends and the client's router R. Client
# packets (from R) and the backends' replies (their default route is the LB)
# both arrive on that interface, and both leave by it again (XDP_TX).
# Checks, IPv4 and IPv6: N TCP connections and N UDP requests all answered,
# spread over the backends, UDP replies from the VIP, the backends see the
# client's address and are reached on their own address at the remapped
# ports. The LB's interface received both directions. lbd's view: the
# replies counted as nat_reply, everything sent with XDP_TX (no redirect:
# one interface), no drop counter moved.
#
# Bursts from fixed source ports (sport_alloc): the spreads are the same on
# every run. Runs against lbd and xlb (`--mode nat`, backend `--port`;
# lib.sh, "Forwarding modes: the control plane"); XLB_EMULATE=nft runs the
# traffic through the kernel's NAT instead, skipping lbd's view.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create_nat 3 --one-arm
N=120
ALT=$RIG_PORT_ALT_TCP
ALTU=$RIG_PORT_ALT_UDP

step "lbd on $RIG_IF_LB; nat VIPs: tcp :80 -> :$ALT, udp :53 -> :$ALTU, both families"
lbd_start || { fail "lbd starts"; rig_finish; }
mode_vip_setup "$RIG_VIP4:80" tcp nat --port "$ALT" "$(rig_b4 1)" "$(rig_b4 2)" "$(rig_b4 3)" || rig_finish
mode_vip_setup "$RIG_VIP4:53" udp nat --port "$ALTU" "$(rig_b4 1)" "$(rig_b4 2)" "$(rig_b4 3)" || rig_finish
mode_vip_setup "[$RIG_VIP6]:80" tcp nat --port "$ALT" "$(rig_b6 1)" "$(rig_b6 2)" "$(rig_b6 3)" || rig_finish
mode_vip_setup "[$RIG_VIP6]:53" udp nat --port "$ALTU" "$(rig_b6 1)" "$(rig_b6 2)" "$(rig_b6 3)" || rig_finish
if lbd_real; then
	lbctl_ list
	lb_stats "$RIG_TMP/s0.json" || fail "lbctl stats --json"
fi

c_tx0=$(if_counter "$RIG_NS_C" "$RIG_IF_C" tx packets)
lb_rx0=$(if_counter "$RIG_NS_LB" "$RIG_IF_LB" rx packets)
b_tx0=$(backends_tx_sum)

for vip in "$RIG_VIP4" "$RIG_VIP6"; do
	client=$RIG_CLIENT4
	[[ "$vip" == *:* ]] && client=$RIG_CLIENT6
	tcp_burst_checked "$vip" $N 20 47
	out=$BURST_OUT
	check "the backends saw the client's address $client" burst_peer_is "$out" "$client"
	check "the backends were reached at their own address, port $ALT" burst_local_is "$out" own "$ALT"

	udp_rr_checked "$vip" $N 20 47
	out=$BURST_OUT
	check "the backends saw the client's address $client" burst_peer_is "$out" "$client"
	check "the backends were reached at their own address, port $ALTU" burst_local_is "$out" own "$ALTU"
done

step "one arm: both directions arrived on $RIG_IF_LB"
D="$RIG_TMP/delta.json"
NAT_REPLY_MIN=$((2 * 2 * N + 2 * N)) # SYN-ACK and answer per connection, one reply per request
# counters_settled: one reading of every counter checked below; true once
# the last packets (FINs and ACKs may still be on their way) have arrived:
# the LB received what the client and the backends sent, lbd counted the
# replies and sent everything with XDP_TX. The checks below judge that
# last reading.
counters_settled() {
	c_tx=$(($(if_counter "$RIG_NS_C" "$RIG_IF_C" tx packets) - c_tx0))
	b_tx=$(($(backends_tx_sum) - b_tx0))
	lb_rx=$(($(if_counter "$RIG_NS_LB" "$RIG_IF_LB" rx packets) - lb_rx0))
	if lbd_real; then
		lb_stats "$RIG_TMP/s1.json" && lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s1.json" >"$D" || return 1
		vip_pk=$(json_get "$D" "sum(v['packets'] for v in d['vips'].values())")
		nat_reply=$(lb_gstat "$D" nat_reply)
		tx=$(lb_gstat "$D" tx)
		int_ge "$nat_reply" "$NAT_REPLY_MIN" && int_ge "$tx" $((vip_pk + nat_reply)) || return 1
	fi
	int_ge "$lb_rx" $((c_tx + b_tx - 20))
}
check "the counters settle (within 60 s)" wait_for 60 counters_settled
echo "  client sent $c_tx, backends sent $b_tx, the LB's interface received $lb_rx"
check "the LB received the client's packets and the backends' replies ($lb_rx >= $c_tx + $b_tx - 20)" \
	int_ge "$lb_rx" $((c_tx + b_tx - 20))

if lbd_real; then
	step "lbd's view"
	redirect=$(lb_gstat "$D" redirect)
	echo "  VIP packets $vip_pk, nat_reply $nat_reply, tx $tx, redirect $redirect, drops $(lb_drops "$D")"
	check "nat_reply counted the replies ($nat_reply >= $NAT_REPLY_MIN)" int_ge "$nat_reply" "$NAT_REPLY_MIN"
	check "one arm: both directions sent with XDP_TX ($tx >= $vip_pk + $nat_reply)" int_ge "$tx" $((vip_pk + nat_reply))
	check "one arm: no redirect ($redirect)" int_eq "$redirect" 0
	check "no drop counter moved ($(lb_drops "$D"))" [ "$(lb_drops "$D")" = "{}" ]
fi
rig_finish
