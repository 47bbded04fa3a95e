#!/usr/bin/env bash
# Self-check of the forwarding-mode rigs, without xlb: the LB namespace's
# kernel plays the load balancer (XLB_EMULATE=nft, tests/netns/emu_nft.sh:
# nftables DNAT/SNAT, ECMP routes for l2dsr). It proves that each topology
# routes as the mode tests expect, and that the tools report what those
# tests read. Not a test of xlb (and not run by ctest: the name does not
# match test_*.sh); run it after changing lib.sh or the tools:
#
#   bash tests/netns/rig_selfcheck_modes.sh [BUILD_DIR] [nat|onearm|fullnat|l2dsr|all]
#
# Each topology runs in its own process (its own rig); "all" (the default)
# runs the four and prints one line per topology.
export XLB_EMULATE=nft
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-}
WHAT=${2:-all}
if [[ "$WHAT" == all ]]; then
	rc=0
	for t in nat onearm fullnat l2dsr; do
		bash "$0" "$BUILD" "$t"
		r=$?
		echo "selfcheck $t: exit $r"
		((r == 0)) || rc=1
	done
	exit $rc
fi
. "$HERE/lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
RIG_TEST_NAME="rig_selfcheck_modes-$WHAT"
rig_init "$BUILD" --no-bins
command -v nft >/dev/null || skip "nft not installed"
N=60
LOCAL=own # where the backends are reached: their own address (nat), or the VIP (l2dsr)
VIP4=$RIG_VIP4
VIP6=$RIG_VIP6

# traffic VIP PEER TCP_PORT UDP_PORT: a TCP burst to VIP:80 and UDP
# request/response to VIP:53, N each; all answered (UDP: from the VIP), by
# every backend, which saw PEER as the source and were reached on the given
# ports. Uses the predicates the mode tests use (lib.sh, burst_*).
traffic() {
	local vip=$1 peer=$2 tport=$3 uport=$4 out
	out=$(client_burst "$vip" $N --parallel 10 --details)
	check "TCP $vip:80: $N of $N answered ($(json_get - errors <<<"$out"))" burst_all_ok "$out" $N
	check "TCP $vip:80: spread over every backend ($(json_get - by_backend <<<"$out"))" \
		burst_spread "$out" "$RIG_BACKENDS" 1 100
	check "TCP $vip:80: the backends saw $peer as the peer ($(json_get - by_peer <<<"$out"))" burst_peer_is "$out" "$peer"
	check "TCP $vip:80: reached the backends on port $tport ($(json_get - by_local <<<"$out"))" \
		burst_local_is "$out" "$LOCAL" "$tport"
	TCP_OUT=$out
	out=$(client_udprr "$vip" $N --parallel 10 --details)
	check "UDP $vip:53: $N of $N answered, from the VIP ($(json_get - errors <<<"$out"))" burst_all_ok "$out" $N
	check "UDP $vip:53: no reply from another source" int_eq "$(json_get - wrong_source <<<"$out")" 0
	check "UDP $vip:53: spread over every backend ($(json_get - by_backend <<<"$out"))" \
		burst_spread "$out" "$RIG_BACKENDS" 1 100
	check "UDP $vip:53: the backends saw $peer ($(json_get - by_peer <<<"$out"))" burst_peer_is "$out" "$peer"
	check "UDP $vip:53: reached the backends on port $uport" burst_local_is "$out" "$LOCAL" "$uport"
	UDP_OUT=$out
}

# unreachable NS ADDR: a TCP connect from NS to ADDR fails with "network
# unreachable" (no route), not a timeout or a refusal.
unreachable() {
	in_ns "$1" python3 -c '
import errno, socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
s.settimeout(2)
try:
    s.connect((a, 80))
except OSError as e:
    sys.exit(0 if e.errno == errno.ENETUNREACH else 1)
sys.exit(1)' "$2"
}

# nobody_resolves NS IFNAME ADDR: NS puts ADDR on-link on IFNAME for a moment
# and tries to reach it: the neighbour entry must end FAILED (nobody on the
# segment answered ARP/NS for it).
nobody_resolves() {
	local ns=$1 ifn=$2 addr=$3 plen=32 fam=-4 st
	[[ "$addr" == *:* ]] && { plen=128; fam=-6; }
	ip -n "$ns" $fam route replace "$addr/$plen" dev "$ifn"
	rig_probe "$ns" "$addr" 4 && { ip -n "$ns" $fam route del "$addr/$plen"; return 1; }
	st=$(ip -n "$ns" $fam neigh show "$addr" dev "$ifn")
	ip -n "$ns" $fam route del "$addr/$plen"
	ip -n "$ns" $fam neigh del "$addr" dev "$ifn" 2>/dev/null
	log "neighbour $addr on $ifn: ${st:-none}"
	[[ -z "$st" || "$st" == *FAILED* || "$st" == *INCOMPLETE* ]]
}

# every backend, in both families, through the emulated LB
setup_vips() {
	local mode=$1 tport=$2 uport=$3 v args=()
	for v in "$VIP4" "$VIP6"; do
		local bs=() i
		for ((i = 1; i <= RIG_BACKENDS; i++)); do
			if [[ "$v" == *:* ]]; then bs+=("$(rig_b6 $i)"); else bs+=("$(rig_b4 $i)"); fi
		done
		args=()
		[[ $tport != 80 ]] && args=(--port "$tport")
		mode_vip_setup "$(hostport "$v" 80)" tcp "$mode" "${args[@]}" "${bs[@]}"
		args=()
		[[ $uport != 53 ]] && args=(--port "$uport")
		mode_vip_setup "$(hostport "$v" 53)" udp "$mode" "${args[@]}" "${bs[@]}"
	done
}

case $WHAT in
nat | onearm)
	if [[ $WHAT == nat ]]; then rig_create_nat 3; else rig_create_nat 3 --one-arm; fi
	lbd_start
	step "topology"
	check "the client has no route to the backends (only the VIPs)" unreachable "$RIG_NS_C" "$(rig_b4 1)"
	check "the backends do not hold the VIP" eval "! ip -n $(rig_ns_b 1) addr show | grep -q $VIP4"
	for i in 1 2 3; do
		r=$(ip -n "$(rig_ns_b $i)" route show default)
		check "b$i: default route via the LB ($r)" [ "$r" = "default via $RIG_LBB4 dev $(rig_if_b $i) " -o "$r" = "default via $RIG_LBB4 dev $(rig_if_b $i)" ]
	done
	setup_vips nat "$RIG_PORT_ALT_TCP" "$RIG_PORT_ALT_UDP"
	for v in "$VIP4" "$VIP6"; do
		c=$RIG_CLIENT4
		[[ "$v" == *:* ]] && c=$RIG_CLIENT6
		step "nat through $v: backends see the client $c, on port $RIG_PORT_ALT_TCP/$RIG_PORT_ALT_UDP"
		lb_rx0=$(if_counter "$RIG_NS_LB" "$RIG_IF_LBB" rx packets)
		b_tx0=$(if_counter "$(rig_ns_b 1)" "$(rig_if_b 1)" tx packets)
		traffic "$v" "$c" "$RIG_PORT_ALT_TCP" "$RIG_PORT_ALT_UDP"
		lb_rx=$(($(if_counter "$RIG_NS_LB" "$RIG_IF_LBB" rx packets) - lb_rx0))
		b_tx=$(($(if_counter "$(rig_ns_b 1)" "$(rig_if_b 1)" tx packets) - b_tx0))
		check "the LB's backend-side interface received b1's replies ($lb_rx >= $b_tx)" int_ge "$lb_rx" "$b_tx"
	done
	if [[ $WHAT == onearm ]]; then
		step "one arm: client packets and replies both on $RIG_IF_LB"
		c_tx0=$(if_counter "$RIG_NS_C" "$RIG_IF_C" tx packets)
		lb_rx0=$(if_counter "$RIG_NS_LB" "$RIG_IF_LB" rx packets)
		b_tx0=0
		for i in 1 2 3; do b_tx0=$((b_tx0 + $(if_counter "$(rig_ns_b $i)" "$(rig_if_b $i)" tx packets))); done
		client_burst "$VIP4" $N >/dev/null
		c_tx=$(($(if_counter "$RIG_NS_C" "$RIG_IF_C" tx packets) - c_tx0))
		lb_rx=$(($(if_counter "$RIG_NS_LB" "$RIG_IF_LB" rx packets) - lb_rx0))
		b_tx=0
		for i in 1 2 3; do b_tx=$((b_tx + $(if_counter "$(rig_ns_b $i)" "$(rig_if_b $i)" tx packets))); done
		b_tx=$((b_tx - b_tx0))
		check "$RIG_IF_LB received the client's packets and the replies ($lb_rx >= $c_tx + $b_tx)" \
			int_ge "$lb_rx" $((c_tx + b_tx))
	fi
	;;
fullnat)
	rig_create_fullnat 2
	cfg_new
	cfg_fullnat "$RIG_FNAT4" "$RIG_FNAT6" 20000 20007
	cfg_timeouts tcp_closing=1 udp=2
	cfg_set reap_interval_ms 200
	for v in "$VIP4" "$VIP6"; do
		cfg_vip "$(hostport "$v" 80)" tcp fullnat
		cfg_vip "$(hostport "$v" 53)" udp fullnat
		for i in 1 2; do
			b=$(rig_b4 $i)
			[[ "$v" == *:* ]] && b=$(rig_b6 $i)
			cfg_backend "$(hostport "$v" 80)" tcp "$b" "$RIG_PORT_ALT_TCP"
			cfg_backend "$(hostport "$v" 53)" udp "$b"
		done
	done
	lbd_start
	cfg_apply
	step "topology"
	check "the client has no route to the backends" unreachable "$RIG_NS_C" "$(rig_b4 1)"
	check "b1 has no route to the client (IPv4)" unreachable "$(rig_ns_b 1)" "$RIG_CLIENT4"
	check "b1 has no route to the client (IPv6)" unreachable "$(rig_ns_b 1)" "$RIG_CLIENT6"
	check "b1 reaches the fullnat source $RIG_FNAT4 on-link" rig_probe "$(rig_ns_b 1)" "$RIG_FNAT4" 3
	check "b1 reaches the fullnat source $RIG_FNAT6 on-link" rig_probe "$(rig_ns_b 1)" "$RIG_FNAT6" 3
	# Few ports (8) per backend: keep each burst within 2 x 8 connections.
	N=12
	for v in "$VIP4" "$VIP6"; do
		s=$RIG_FNAT4
		[[ "$v" == *:* ]] && s=$RIG_FNAT6
		step "fullnat through $v: backends see $s"
		traffic "$v" "$s" "$RIG_PORT_ALT_TCP" 53
		check "TCP: the source ports the backends saw are in 20000..20007" burst_peer_ports_in "$TCP_OUT" 20000 20007
		check "UDP: the source ports the backends saw are in 20000..20007" burst_peer_ports_in "$UDP_OUT" 20000 20007
		sleep 3 # conntrack: closing 1 s, UDP 2 s
	done
	step "port exhaustion: 16 held connections use all ports of both backends, the 17th fails"
	hold_start ex "$VIP4" 16 --parallel 1 --timeout 3 || fail "hold client starts"
	st=$(hold_cmd ex status)
	check "16 held ($(json_get - by_backend <<<"$st"))" int_eq "$(json_get - held <<<"$st")" 16
	out=$(hold_cmd ex open 1)
	check "the 17th connection fails ($(json_get - errors <<<"$out"))" int_eq "$(json_get - failed <<<"$out")" 1
	hold_cmd ex close 16 >/dev/null
	sleep 3
	out=$(hold_cmd ex open 4)
	check "after closing them (and the closing timeout), new connections succeed ($(json_get - opened <<<"$out") of 4)" \
		int_eq "$(json_get - opened <<<"$out")" 4
	hold_cmd ex quit >/dev/null
	;;
l2dsr)
	rig_create_l2 3
	lbd_start
	setup_vips l2dsr 80 53
	step "topology"
	for v in "$VIP4" "$VIP6"; do
		check "nobody on the segment answers ARP/NS for $v (asked by R)" nobody_resolves "$RIG_NS_R" "$RIG_IF_RB" "$v"
	done
	check "b1 holds $VIP4 on lo" eval "ip -n $(rig_ns_b 1) addr show dev lo | grep -q ' $VIP4/32'"
	check "b1 holds $VIP6 on lo" eval "ip -n $(rig_ns_b 1) addr show dev lo | grep -q ' $VIP6/128'"
	r=$(ip -n "$(rig_ns_b 1)" route show default)
	check "b1: default route via the router, not the LB ($r)" eval "[[ '$r' == 'default via $RIG_RB4 '* ]]"
	for v in "$VIP4" "$VIP6"; do
		c=$RIG_CLIENT4
		[[ "$v" == *:* ]] && c=$RIG_CLIENT6
		step "l2dsr through $v: replies straight from the backends to R"
		c_tx0=$(if_counter "$RIG_NS_C" "$RIG_IF_C" tx packets)
		lb_rx0=$(if_counter "$RIG_NS_LB" "$RIG_IF_LB" rx packets)
		r_rx0=$(if_counter "$RIG_NS_R" "$RIG_IF_RB" rx packets)
		b_tx0=0
		for i in 1 2 3; do b_tx0=$((b_tx0 + $(if_counter "$(rig_ns_b $i)" "$(rig_if_b $i)" tx packets))); done
		LOCAL=$v
		traffic "$v" "$c" 80 53
		c_tx=$(($(if_counter "$RIG_NS_C" "$RIG_IF_C" tx packets) - c_tx0))
		lb_rx=$(($(if_counter "$RIG_NS_LB" "$RIG_IF_LB" rx packets) - lb_rx0))
		r_rx=$(($(if_counter "$RIG_NS_R" "$RIG_IF_RB" rx packets) - r_rx0))
		b_tx=0
		for i in 1 2 3; do b_tx=$((b_tx + $(if_counter "$(rig_ns_b $i)" "$(rig_if_b $i)" tx packets))); done
		b_tx=$((b_tx - b_tx0))
		echo "  client sent $c_tx, LB received $lb_rx, backends sent $b_tx, R received $r_rx on the segment"
		check "the LB received about what the client sent ($lb_rx <= $c_tx + 10)" int_le "$lb_rx" $((c_tx + 10))
		check "R received the backends' replies on the segment ($r_rx >= $b_tx - 10: their ARP/ND may go elsewhere)" int_ge "$r_rx" $((b_tx - 10))
	done
	;;
*) die "unknown topology $WHAT (nat, onearm, fullnat, l2dsr, all)" ;;
esac

step "teardown leaves nothing behind"
rig_destroy
left=$(rig_leftovers)
check "no namespaces, pins or tmpdir left${left:+: $left}" [ -z "$left" -a ! -e "$RIG_TMP" ]
rig_finish
