#!/usr/bin/env bash
# Four forwarding modes on one LB at once (two-arm nat rig, plus the fullnat
# source on the LB): 198.18.100.1 nat (and fd00:100::1 nat), 198.18.100.2
# ipip, 198.18.100.3 fullnat, 198.18.100.4 l2dsr, each on tcp :80 and udp
# :53, all served by the same three backends. The backends hold .2 and .4 on
# lo (arp settings as for DSR), run xlb-decap for ipip, and answer .2/.4 from
# a second server bound to those VIPs; their default route is the LB, so
# the DSR replies of .2 and .4 cross the LB's kernel as plain routing.
# Checks: connections held on the nat VIP survive while bursts run on all
# VIPs in parallel; every VIP answers every TCP connection and UDP request;
# each shows its mode's signature in what the backends saw (nat: the client,
# at the backend's own address and remapped port; ipip and l2dsr: the
# client, at the VIP; fullnat: S). lbd's view: every VIP counted packets,
# nat_reply moved, xlb-decap decapsulated the ipip packets, no drops.
#
# Every burst has fixed source ports of its own (sport_alloc): the spreads
# are the same on every run. Runs against lbd and xlb (one `lbctl apply`
# config with nat, fullnat, l2dsr and ipip VIPs, the "fullnat" block and
# backend "port"; lbd with two --iface; lib.sh, "Forwarding modes: the
# control plane"). Under XLB_EMULATE=nft the ipip VIP is left out (the
# kernel here has no ipip) and lbd's view is skipped.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create_nat 3 --fullnat-source
N=90
ALT=$RIG_PORT_ALT_TCP
ALTU=$RIG_PORT_ALT_UDP
V_NAT=$RIG_VIP4
V_NAT6=$RIG_VIP6
V_IPIP=198.18.100.2
V_FNAT=198.18.100.3
V_L2=198.18.100.4

step "backends: $V_IPIP and $V_L2 on lo, a server bound to them"
for v in "$V_IPIP" "$V_L2"; do check "$v on every backend's lo" rig_vip_addr_add "$v"; done
for i in 1 2 3; do
	server_start $i vips --bind "$V_IPIP" --bind "$V_L2" --http-port 80 --udp-port 53
done

step "lbd on ${RIG_LB_IFACES[*]}; one config with all four modes"
lbd_start || { fail "lbd starts"; rig_finish; }
MODES=(nat fullnat l2dsr)
lbd_real && { MODES+=(ipip); check "xlb-decap attaches on every backend" decap_attach_all; }
cfg_new
cfg_set encap "{\"source_v4\": \"$RIG_LBB4\", \"source_v6\": \"$RIG_LBB6\"}"
cfg_fullnat "$RIG_FNAT4" "$RIG_FNAT6" 20000 29999
# vip_cfg ADDR MODE TCP_PORT UDP_PORT: tcp :80 and udp :53 on every backend.
vip_cfg() {
	local v=$1 mode=$2 tp=$3 up=$4 i b
	cfg_vip "$(hostport "$v" 80)" tcp "$mode"
	cfg_vip "$(hostport "$v" 53)" udp "$mode"
	for i in 1 2 3; do
		b=$(rig_b4 $i)
		[[ "$v" == *:* ]] && b=$(rig_b6 $i)
		cfg_backend "$(hostport "$v" 80)" tcp "$b" "$tp"
		cfg_backend "$(hostport "$v" 53)" udp "$b" "$up"
	done
}
vip_cfg "$V_NAT" nat "$ALT" "$ALTU"
vip_cfg "$V_NAT6" nat "$ALT" "$ALTU"
vip_cfg "$V_FNAT" fullnat "$ALT" "$ALTU"
vip_cfg "$V_L2" l2dsr - -
lbd_real && vip_cfg "$V_IPIP" ipip - -
cfg_apply || { cat "$RIG_CFG"; rig_finish; }
if lbd_real; then
	lbctl_ list
	lb_stats "$RIG_TMP/s0.json" || fail "lbctl stats --json"
	dec0=$(decap_decapped_total)
fi

step "hold 15 connections on the nat VIP"
hold_start h "$V_NAT" 15 || fail "hold client starts"

VIPS=("$V_NAT" "$V_NAT6" "$V_FNAT" "$V_L2")
lbd_real && VIPS+=("$V_IPIP")
step "in parallel: $N TCP connections and $N UDP requests to each of ${VIPS[*]}"
# Each burst from its own fixed source ports (sport_alloc, allocated here in
# the parent shell): the spread check below then has the same verdict on
# every run.
pids=()
for v in "${VIPS[@]}"; do
	sport_alloc $N
	echo "  $v: TCP from source ports $SPORT..$((SPORT + N - 1))"
	client_burst "$v" $N --parallel 10 --details --sport-base "$SPORT" >"$RIG_TMP/tcp-$v.json" &
	pids+=($!)
	sport_alloc $N
	echo "  $v: UDP from source ports $SPORT..$((SPORT + N - 1))"
	client_udprr "$v" $N --parallel 10 --details --sport-base "$SPORT" >"$RIG_TMP/udp-$v.json" &
	pids+=($!)
done
wait "${pids[@]}"

# expect VIP PEER LOCAL TCP_PORT UDP_PORT DESC
expect() {
	local v=$1 peer=$2 local=$3 tp=$4 up=$5 desc=$6 t u
	t=$(cat "$RIG_TMP/tcp-$v.json")
	u=$(cat "$RIG_TMP/udp-$v.json")
	check "$desc $v TCP: $N of $N answered ($(json_get - errors <<<"$t"))" burst_all_ok "$t" $N
	check "$desc $v TCP: every backend answered ($(json_get - by_backend <<<"$t"))" burst_spread "$t" 3 10 60
	check "$desc $v TCP: the backends saw $peer" burst_peer_is "$t" "$peer"
	check "$desc $v TCP: reached at $local port $tp ($(json_get - by_local <<<"$t"))" burst_local_is "$t" "$local" "$tp"
	check "$desc $v UDP: $N of $N answered from the VIP ($(json_get - errors <<<"$u"))" burst_all_ok "$u" $N
	check "$desc $v UDP: the backends saw $peer" burst_peer_is "$u" "$peer"
	check "$desc $v UDP: reached at $local port $up" burst_local_is "$u" "$local" "$up"
}
step "each VIP answered in its own mode"
expect "$V_NAT" "$RIG_CLIENT4" own "$ALT" "$ALTU" nat
expect "$V_NAT6" "$RIG_CLIENT6" own "$ALT" "$ALTU" nat
expect "$V_FNAT" "$RIG_FNAT4" own "$ALT" "$ALTU" fullnat
expect "$V_L2" "$RIG_CLIENT4" "$V_L2" 80 53 l2dsr
lbd_real && expect "$V_IPIP" "$RIG_CLIENT4" "$V_IPIP" 80 53 ipip

step "the held nat connections lived through it"
out=$(hold_cmd h check)
check "15 of 15 answer again from their backend (failed $(json_get - failed <<<"$out"), moved $(json_get - moved <<<"$out"))" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" 15
hold_cmd h quit >/dev/null

if lbd_real; then
	step "lbd's view"
	D="$RIG_TMP/delta.json"
	# counters_settled: one reading of lbd's and xlb-decap's counters; true
	# once the last packets (the bursts' FINs and ACKs may still be on their
	# way) are counted: every VIP and protocol at least N packets, nat_reply
	# at least the nat and fullnat VIPs' replies (TCP: SYN-ACK and answer,
	# UDP: the reply), xlb-decap 4 packets a TCP connection and 1 a request
	# of the ipip VIP. The checks below judge that last reading.
	counters_settled() {
		local d
		lb_stats "$RIG_TMP/s1.json" || return 1
		lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s1.json" >"$D" || return 1
		d=$(decap_decapped_total) || return 1
		dec=$((d - dec0))
		nat_reply=$(lb_gstat "$D" nat_reply)
		int_ge "$(json_get "$D" "min(v['packets'] for v in d['vips'].values())")" $N &&
			int_ge "$nat_reply" $((3 * 3 * N)) && int_ge "$dec" $((4 * N + N))
	}
	check "the counters settle (within 60 s)" wait_for 60 counters_settled
	for v in "${VIPS[@]}"; do
		for pp in "$(hostport "$v" 80)/tcp" "$(hostport "$v" 53)/udp"; do
			pk=$(json_get "$D" "d['vips']['$pp']['packets']")
			check "$pp counted its packets ($pk >= $N)" int_ge "$pk" $N
		done
	done
	check "nat_reply moved for the nat and fullnat VIPs ($nat_reply >= $((3 * 3 * N)))" int_ge "$nat_reply" $((3 * 3 * N))
	check "no drop counter moved ($(lb_drops "$D"))" [ "$(lb_drops "$D")" = "{}" ]
	check "xlb-decap decapsulated the ipip VIP's packets ($dec >= $((4 * N + N)))" int_ge "$dec" $((4 * N + N))
fi
rig_finish
