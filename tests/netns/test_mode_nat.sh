#!/usr/bin/env bash
# nat mode, two-arm LB (rig_create_nat): the LB routes between the client's
# network and the backends' network, lbd attaches to both interfaces.
# Backends do not hold the VIP: they listen on their own addresses and their
# default route is the LB, which translates both directions.
# Checks, IPv4 and IPv6: N TCP connections all answered and spread over the
# backends; UDP request/response, every reply from the VIP (a reply from the
# backend's own address is a failure); the backends see the client's own
# address; VIP port 80 reaches the backends' port 8080 and UDP 53 reaches
# 5353 (port remapping), and a VIP without --port reaches the same port;
# held connections keep answering from their backend. lbd's view: every
# reply went through nat_reply, both directions by redirect (two
# interfaces), no drop counter moved. Last, two VIPs whose flows would share
# a reply tuple: the second is dropped as drop_nat_conflict.
#
# Every burst and the hold use fixed source ports of their own (sport_alloc):
# the spreads are the same on every run, and no client port is used towards
# both VIP:80 and VIP:8080 (both reach the backends' port 8080: one reply
# tuple for two flows). Runs against lbd and xlb (lbd with two --iface,
# `--mode nat`, backend `--port`; lib.sh, "Forwarding modes: the control
# plane"). XLB_EMULATE=nft runs the same traffic through the kernel's NAT
# instead, to check the rig and the script; lbd's view is then skipped.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create_nat 3
N=150
ALT=$RIG_PORT_ALT_TCP
ALTU=$RIG_PORT_ALT_UDP

step "lbd on ${RIG_LB_IFACES[*]}; nat VIPs: tcp :80 -> :$ALT, udp :53 -> :$ALTU (both families), tcp $RIG_VIP4:$ALT -> :$ALT"
lbd_start || { fail "lbd starts"; rig_finish; }
B4=("$(rig_b4 1)" "$(rig_b4 2)" "$(rig_b4 3)")
B6=("$(rig_b6 1)" "$(rig_b6 2)" "$(rig_b6 3)")
mode_vip_setup "$RIG_VIP4:80" tcp nat --port "$ALT" "${B4[@]}" || rig_finish
mode_vip_setup "$RIG_VIP4:53" udp nat --port "$ALTU" "${B4[@]}" || rig_finish
mode_vip_setup "[$RIG_VIP6]:80" tcp nat --port "$ALT" "${B6[@]}" || rig_finish
mode_vip_setup "[$RIG_VIP6]:53" udp nat --port "$ALTU" "${B6[@]}" || rig_finish
mode_vip_setup "$RIG_VIP4:$ALT" tcp nat "${B4[@]}" || rig_finish
if lbd_real; then
	lbctl_ list
	lbctl_ list --json >"$RIG_TMP/list.json"
	check "list shows mode nat for $RIG_VIP4:80" \
		[ "$(json_get "$RIG_TMP/list.json" "[v['mode'] for v in d['vips'] if v['vip'] == '$RIG_VIP4:80'][0]")" = nat ]
	lb_stats "$RIG_TMP/s0.json" || fail "lbctl stats --json"
fi

TCP_CONNS=0
UDP_REQS=0
for vip in "$RIG_VIP4" "$RIG_VIP6"; do
	client=$RIG_CLIENT4
	[[ "$vip" == *:* ]] && client=$RIG_CLIENT6
	tcp_burst_checked "$vip" $N 20 47
	out=$BURST_OUT
	check "the backends saw the client's address $client" burst_peer_is "$out" "$client"
	check "the backends were reached at their own address, port $ALT ($(json_get - by_local <<<"$out"))" \
		burst_local_is "$out" own "$ALT"
	TCP_CONNS=$((TCP_CONNS + N))

	udp_rr_checked "$vip" $N 20 47
	out=$BURST_OUT
	check "the backends saw the client's address $client" burst_peer_is "$out" "$client"
	check "the backends were reached at their own address, port $ALTU" burst_local_is "$out" own "$ALTU"
	UDP_REQS=$((UDP_REQS + N))
done

# This VIP and $RIG_VIP4:80 both reach the backends' port $ALT: a client port
# used towards both would give two flows one reply tuple (b:$ALT ->
# client:port), and the second would be dropped as a conflict. Every burst
# and hold of this test therefore has its own fixed source ports
# (sport_alloc), none of them kernel-chosen.
sport_alloc 60
step "a VIP without --port: $RIG_VIP4:$ALT reaches the backends' port $ALT (source ports $SPORT..$((SPORT + 59)))"
out=$(client_burst "$RIG_VIP4" 60 --port "$ALT" --details --sport-base "$SPORT")
check "60 of 60 answered ($(json_get - errors <<<"$out"))" burst_all_ok "$out" 60
check "reached at their own address, port $ALT" burst_local_is "$out" own "$ALT"
TCP_CONNS=$((TCP_CONNS + 60))

sport_alloc 30
step "held connections: 30 open (source ports $SPORT..$((SPORT + 29))), a second request on each answers from the same backend"
hold_start h "$RIG_VIP4" 30 --sport-base "$SPORT" || fail "hold client starts"
out=$(hold_cmd h check)
check "30 of 30 held connections answer again from their backend (failed $(json_get - failed <<<"$out"), moved $(json_get - moved <<<"$out"))" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" 30
hold_cmd h quit >/dev/null

if lbd_real; then
	step "lbd's view"
	D="$RIG_TMP/delta.json"
	# Every TCP connection has at least 2 replies (SYN-ACK, the answer) and
	# every UDP request one; the hold check added 30 more answers. Every TCP
	# connection sent at least 3 packets (SYN, ACK, request), every UDP
	# request one.
	want=$((2 * (TCP_CONNS + 30) + UDP_REQS))
	want_vip=$((3 * TCP_CONNS + UDP_REQS))
	# counters_settled: one reading of lbd's counters; true once the last
	# packets (FINs and ACKs may still be on their way) are counted and the
	# reading is consistent (everything counted also left by redirect). The
	# checks below judge that last reading.
	counters_settled() {
		lb_stats "$RIG_TMP/s1.json" || return 1
		lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s1.json" >"$D" || return 1
		vip_pk=$(json_get "$D" "sum(v['packets'] for v in d['vips'].values())")
		nat_reply=$(lb_gstat "$D" nat_reply)
		redirect=$(lb_gstat "$D" redirect)
		tx=$(lb_gstat "$D" tx)
		int_ge "$nat_reply" "$want" && int_ge "$vip_pk" "$want_vip" && int_ge "$redirect" $((vip_pk + nat_reply))
	}
	check "the counters settle (within 60 s)" wait_for 60 counters_settled
	echo "  VIP packets $vip_pk, nat_reply $nat_reply, redirect $redirect, tx $tx, drops $(lb_drops "$D")"
	check "nat_reply counted the backends' replies ($nat_reply >= $want)" int_ge "$nat_reply" "$want"
	check "the client's packets were counted per VIP ($vip_pk >= $want_vip)" int_ge "$vip_pk" "$want_vip"
	check "two arms: everything left by redirect ($redirect >= $vip_pk + $nat_reply)" \
		int_ge "$redirect" $((vip_pk + nat_reply))
	check "two arms: nothing by XDP_TX ($tx)" int_eq "$tx" 0
	check "no drop counter moved ($(lb_drops "$D"))" [ "$(lb_drops "$D")" = "{}" ]
fi

# Two single-backend VIPs on b1:5353. The client sends from port 45000 to
# the first, then from the same port to the second: both flows would get
# the reply tuple b1:5353 -> client:45000, so the second must be refused
# (the first stays intact) rather than steal the first one's replies.
step "reply-tuple conflict: 198.18.100.5:53 and .6:53 both -> b1:$ALTU, same client port"
VC=198.18.100.5
VD=198.18.100.6
mode_vip_setup "$VC:53" udp nat --port "$ALTU" "$(rig_b4 1)" || rig_finish
mode_vip_setup "$VD:53" udp nat --port "$ALTU" "$(rig_b4 1)" || rig_finish
lbd_real && lb_stats "$RIG_TMP/c0.json"
out=$(client_udprr "$VC" 1 --sport-base 45000)
check "first flow ($VC from port 45000) answered" burst_all_ok "$out" 1
out=$(client_udprr "$VD" 1 --sport-base 45000 --timeout 1)
# (The kernel's NAT, XLB_EMULATE=nft, moves the second flow to another
# source port instead; nat in xlb never rewrites the client's port.)
lbd_real && check "second flow ($VD from port 45000) gets no answer ($(json_get - errors <<<"$out"))" \
	int_eq "$(json_get - ok <<<"$out")" 0
out=$(client_udprr "$VC" 1 --sport-base 45000)
check "the first flow still works" burst_all_ok "$out" 1
if lbd_real; then
	lb_stats "$RIG_TMP/c1.json"
	lb_stats_delta "$RIG_TMP/c0.json" "$RIG_TMP/c1.json" >"$RIG_TMP/cdelta.json"
	c=$(lb_gstat "$RIG_TMP/cdelta.json" drop_nat_conflict)
	check "drop_nat_conflict counted it ($c >= 1)" int_ge "$c" 1
fi
rig_finish
