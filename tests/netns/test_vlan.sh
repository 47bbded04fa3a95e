#!/usr/bin/env bash
# VLAN-tagged clients, untagged backends (issue 10): frames reach the LB
# tagged and must leave for the backends with the tags of the device the
# route chose, here none.
#
# This kernel has neither 802.1Q devices nor bridge VLAN filtering, so the
# client tags its own IPv4 packets: a tc program on its veth pushes VLAN
# 100 onto every IPv4 packet it sends (ARP stays untagged, so neighbour
# resolution works as in every rig). The plain bridge forwards the tagged
# frames by MAC, and the LB's switch port inserts the tag into the frame
# (tx VLAN offload off), so the LB's XDP program gets it tagged. The LB
# has no VLAN device: its routes to the backends go out of its plain veth,
# so the frames must leave untagged. Kept, the tag would reach the
# backends, whose kernels drop a frame of a VLAN they have no device for.
# ipip mode with xlb-decap on the backends: real TCP connections to the
# VIP succeed. Checks also that lbd put only the LB's veth in
# xlb_tx_ports, not a macvlan of the LB's namespace.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 2
VIP="$RIG_VIP4:80"
N=40
SW=$RIG_NS_SW
LB_PORT="sl$RIG_S"

# _vlan_push_obj: a tc program pushing VLAN 100 (802.1Q) onto IPv4
# packets, compiled into $RIG_TMP (no headers: helper 18 is
# bpf_skb_vlan_push, the constants are in network byte order on a
# little-endian host).
_vlan_push_obj() {
	local o="$RIG_TMP/vlan_push.o"
	printf '%s\n' \
		'struct __sk_buff { unsigned int len, pkt_type, mark, queue_mapping, protocol; };' \
		'static long (*vlan_push)(void *skb, unsigned short proto, unsigned short tci) = (void *)18;' \
		'__attribute__((section("tc"), used)) int push(struct __sk_buff *skb)' \
		'{ if (skb->protocol == 0x0008) vlan_push(skb, 0x0081, 100); return 0; }' \
		'__attribute__((section("license"), used)) char _license[] = "GPL";' |
		clang -O2 -target bpf -x c -c - -o "$o" || die "cannot compile the VLAN push program"
	echo "$o"
}

step "client: every IPv4 packet it sends carries VLAN tag 100"
in_ns "$RIG_NS_C" tc qdisc add dev "$RIG_IF_C" clsact || die "cannot add clsact to $RIG_IF_C"
in_ns "$RIG_NS_C" tc filter add dev "$RIG_IF_C" egress bpf direct-action obj "$(_vlan_push_obj)" sec tc ||
	die "cannot attach the VLAN push program"
# The tag goes into the frame on the LB's switch port (it would otherwise
# ride in the skb's metadata, where an XDP program does not see it).
in_ns "$SW" ethtool -K "$LB_PORT" txvlan off >/dev/null || die "cannot turn off txvlan on $LB_PORT"

# A device of the LB's namespace that cannot transmit XDP frames.
ip -n "$RIG_NS_LB" link add "xm$RIG_S" link "$RIG_IF_LB" type macvlan mode bridge || die "cannot add a macvlan"

step "start lbd and the decapsulators, configure $VIP/tcp with b1, b2"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
vip_setup "$VIP" tcp "$(rig_b4 1)" "$(rig_b4 2)" || rig_finish

step "lbd's egress maps"
lb_idx=$(ip -n "$RIG_NS_LB" -j link show "$RIG_IF_LB" | json_get - "d[0]['ifindex']")
ports=$(bpftool -j map dump pinned "$RIG_PIN_ROOT/$RIG_IF_LB/xlb_tx_ports" | python3 -c '
import json, sys
print(sorted(int.from_bytes(bytes(int(x, 16) for x in e["key"]), "little") for e in json.load(sys.stdin)))')
echo "  xlb_tx_ports: $ports (the LB's veth is $lb_idx)"
check "xlb_tx_ports holds only the LB's veth, not lo or the macvlan" [ "$ports" = "[$lb_idx]" ]
check "lbd logged its egress maps" grep -q "xlb_tx_ports: 1 interfaces; xlb_egress: 0 VLAN devices" "$RIG_LBD_LOG"

lb_stats "$RIG_TMP/s0.json" || fail "lbctl stats --json"
sport_alloc $N
step "client (VLAN 100): $N connections to $VIP"
client_burst "$RIG_VIP4" $N --parallel 10 --sport-base "$SPORT" >"$RIG_TMP/burst.json"
cat "$RIG_TMP/burst.json"
check "$N of $N connections answered" int_eq "$(json_get "$RIG_TMP/burst.json" ok)" $N
check "both backends answered" burst_spread "$(cat "$RIG_TMP/burst.json")" 2 1 99

D="$RIG_TMP/delta.json"
settled() {
	client_tcp_done "$RIG_VIP4" || return 1
	lb_stats "$RIG_TMP/s1.json" || return 1
	lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s1.json" >"$D"
}
check "the client is done (within 30 s)" wait_for 30 settled
vip_pk=$(json_get "$D" "d['vips']['$VIP/tcp']['packets']")
tx=$(json_get "$D" "d['global']['tx']")
drops=$(lb_drops "$D")
echo "  LB program: VIP packets $vip_pk, tx $tx, drops $drops"
check "every VIP packet was sent ($tx == $vip_pk >= $((3 * N)))" int_eq "$tx" "$vip_pk"
check "at least 3 packets per connection ($vip_pk >= $((3 * N)))" int_ge "$vip_pk" $((3 * N))
check "no drop counter moved ($drops)" [ "$drops" = "{}" ]
for i in 1 2; do
	m=$(decap_counter $i malformed)
	check "b$i: xlb-decap counted no malformed packets ($m)" int_eq "$m" 0
done
rig_finish
