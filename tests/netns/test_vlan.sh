#!/usr/bin/env bash
# VLAN-tagged clients, untagged backends (issue 10): frames reach the LB
# tagged and must leave for the backends with the tags of the device the
# route chose, here none.
#
# The rig's switch becomes a VLAN-aware bridge (vlan_filtering 1; this
# kernel has no 802.1Q devices, but bridge VLANs need none):
#  - the client's port is an access port of VLAN 100 (its frames enter
#    VLAN 100), and also an untagged member of VLAN 1 so that the backends'
#    direct replies reach it;
#  - the LB's port is a tagged member of VLAN 100 and an untagged one of
#    VLAN 1: the client's packets reach the LB tagged 100, and the LB
#    reaches the backends (VLAN 1) untagged;
#  - the backends stay in VLAN 1.
# The LB has no VLAN device, so the kernel cannot answer the client's
# tagged ARP: the client gets a static neighbour entry for the LB, and the
# backends one for the client (its answers to their ARP come in VLAN 100).
# ipip mode with xlb-decap on the backends: real TCP connections to the VIP
# succeed only if the LB strips the tag (kept, the frame would stay in VLAN
# 100, where no backend is). Checks also that lbd put only the LB's veth in
# xlb_tx_ports, not a macvlan of the LB's namespace.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 2
VIP="$RIG_VIP4:80"
N=40
SW=$RIG_NS_SW
C_PORT="sc$RIG_S"
LB_PORT="sl$RIG_S"

mac_of() { ip -n "$1" -j link show "$2" | json_get - "d[0]['address']"; }

step "switch: VLAN-aware bridge; client in VLAN 100, LB tagged in VLAN 100"
ip -n "$SW" link set "$RIG_BR" type bridge vlan_filtering 1 || die "cannot turn on vlan_filtering"
bridge -n "$SW" vlan add vid 100 dev "$C_PORT" pvid untagged || die "cannot make $C_PORT an access port"
bridge -n "$SW" vlan add vid 1 dev "$C_PORT" untagged || die "cannot add VLAN 1 to $C_PORT"
bridge -n "$SW" vlan add vid 100 dev "$LB_PORT" || die "cannot add tagged VLAN 100 to $LB_PORT"
bridge -n "$SW" vlan show
lb_mac=$(mac_of "$RIG_NS_LB" "$RIG_IF_LB")
c_mac=$(mac_of "$RIG_NS_C" "$RIG_IF_C")
ip -n "$RIG_NS_C" neigh replace "$RIG_LB4" lladdr "$lb_mac" dev "$RIG_IF_C" nud permanent
for i in 1 2; do
	ip -n "$(rig_ns_b $i)" neigh replace "$RIG_CLIENT4" lladdr "$c_mac" dev "$(rig_if_b $i)" nud permanent
done
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
