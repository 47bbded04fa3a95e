#!/usr/bin/env bash
# IPv4 VIP, 3 IPv4 backends, IPv4-in-IPv4 DSR through the real lbd/xlb_lb/xlb-decap.
# Checks: 300 connections all answered; Maglev spreads them roughly evenly
# (each backend 20%..47%); the replies go straight from the backends to the
# client: the LB's counters only ever see client->VIP traffic.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 3
VIP="$RIG_VIP4:80"
N=300

step "start lbd and the decapsulators, configure $VIP/tcp with b1..b3"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
vip_setup "$VIP" tcp "$(rig_b4 1)" "$(rig_b4 2)" "$(rig_b4 3)" || rig_finish
lbctl_ list

lb_stats "$RIG_TMP/s0.json" || fail "lbctl stats --json"
lb_rx0=$(if_counter "$RIG_NS_LB" "$RIG_IF_LB" rx packets)
c_tx0=$(if_counter "$RIG_NS_C" "$RIG_IF_C" tx packets)
dec0=$(decap_decapped_total) || fail "xlb-decap stats --json"
b_tx0=$(backends_tx_sum)

sport_alloc $N # fixed source ports: the spread checked below is the same on every run
step "client: $N connections to $VIP from source ports $SPORT..$((SPORT + N - 1))"
client_burst "$RIG_VIP4" $N --parallel 20 --sport-base "$SPORT" >"$RIG_TMP/burst.json"
cat "$RIG_TMP/burst.json"
D="$RIG_TMP/delta.json"
# counters_settled: one reading of every counter checked below; true once
# the burst's last packets (the client's FINs and ACKs may still be on their
# way when it returns) have gone through: the client will send nothing more
# (client_tcp_done), the LB sent every VIP packet, the backends decapsulated
# every one of them, and each connection's minimum of packets is there. The
# checks below then judge that last reading. hk: what the LB received
# besides client traffic (lb_housekeeping: ARP, ND, the backends' answers to
# lbd's neighbour priming), read after lb_rx so that it covers it.
counters_settled() {
	local d
	client_tcp_done "$RIG_VIP4" || return 1
	lb_rx=$(($(if_counter "$RIG_NS_LB" "$RIG_IF_LB" rx packets) - lb_rx0))
	c_tx=$(($(if_counter "$RIG_NS_C" "$RIG_IF_C" tx packets) - c_tx0))
	lb_stats "$RIG_TMP/s1.json" || return 1
	d=$(decap_decapped_total) || return 1
	dec=$((d - dec0))
	b_tx=$(($(backends_tx_sum) - b_tx0))
	lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s1.json" >"$D" || return 1
	vip_pk=$(json_get "$D" "d['vips']['$VIP/tcp']['packets']")
	tx=$(json_get "$D" "d['global']['tx']")
	hk=$(lb_housekeeping "$D") || return 1
	int_eq "$dec" "$tx" && int_eq "$tx" "$vip_pk" && int_ge "$vip_pk" $((3 * N)) && int_ge "$b_tx" $((3 * N))
}
check "the counters settle: client done, decapsulated = sent = VIP packets, >= 3 a connection each way (within 60 s)" \
	wait_for 60 counters_settled

step "every connection answered, spread evenly"
check "$N of $N connections answered" int_eq "$(json_get "$RIG_TMP/burst.json" ok)" $N
for i in 1 2 3; do
	sh=$(backend_share "$RIG_TMP/burst.json" b$i)
	check "b$i got $sh% of the connections (20..47%)" float_between "$sh" 20 47
done

step "DSR: the LB only sees client->VIP packets"
be_pk=$(json_get "$D" "sum(d['vips']['$VIP/tcp']['backends'].values())")
rx=$(json_get "$D" "d['global']['rx']")
not_vip=$(json_get "$D" "d['global']['pass_not_vip']")
drops=$(json_get "$D" "{k: v for k, v in d['global'].items() if k.startswith('drop_') and v}")
echo "  LB program: rx $rx, tx $tx, VIP packets $vip_pk, per-backend sum $be_pk, pass_not_vip $not_vip, drops $drops"
echo "  interfaces: client sent $c_tx, backends sent $b_tx, LB veth received $lb_rx ($hk of them ARP/ICMP)"
check "tx packets ($tx) equal the VIP's packets ($vip_pk)" int_eq "$tx" "$vip_pk"
check "per-backend packets ($be_pk) add up to the VIP's packets" int_eq "$be_pk" "$vip_pk"
check "at least 3 packets per connection went through the LB ($vip_pk >= $((3 * N)))" int_ge "$vip_pk" $((3 * N))
check "pass_not_vip stays ~0 ($not_vip <= 10): no backend->client reply reached the LB" int_le "$not_vip" 10
check "no drop counter moved ($drops)" [ "$drops" = "{}" ]
check "the LB veth received about what the client sent ($lb_rx <= $c_tx + $hk + 20)" int_le "$lb_rx" $((c_tx + hk + 20))
check "the LB veth received at least the VIP packets ($lb_rx >= $vip_pk)" int_ge "$lb_rx" "$vip_pk"
check "the backends sent their replies ($b_tx >= $((3 * N))) and the LB did not see them" \
	int_ge "$b_tx" $((3 * N))
check "the backends decapsulated every packet the LB sent ($dec == $tx)" int_eq "$dec" "$tx"
for i in 1 2 3; do
	m=$(decap_counter $i malformed)
	check "b$i: xlb-decap counted no malformed packets ($m)" int_eq "$m" 0
	d=$(decap_counter $i denied)
	check "b$i: xlb-decap's --allow list (rig_decap_allow_args) took every LB packet ($d denied)" int_eq "$d" 0
done
rig_finish
