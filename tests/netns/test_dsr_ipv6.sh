#!/usr/bin/env bash
# IPv6 through the LB: an IPv6 VIP with IPv6 backends (IPv6-in-IPv6), and an
# IPv4 VIP with IPv6 backends (IPv4-in-IPv6). Every connection is answered,
# by every backend, and the replies bypass the LB.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 3
VIP6="[$RIG_VIP6]:80"
VIP4="$RIG_VIP4:80"
N=300

step "start lbd and the decapsulators"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all

step "$VIP6/tcp and $VIP4/tcp, both with the IPv6 backends"
vip_setup "$VIP6" tcp "$(rig_b6 1)" "$(rig_b6 2)" "$(rig_b6 3)" || rig_finish
vip_setup "$VIP4" tcp "$(rig_b6 1)" "$(rig_b6 2)" "$(rig_b6 3)" || rig_finish
lbctl_ list

D="$RIG_TMP/delta.json"
# counters_settled: one reading of the counters checked below (for the VIP
# $vip of the current case); true once the burst's last packets (the
# client's FINs and ACKs may still be on their way when it returns) have
# gone through: the client will send nothing more (client_tcp_done; a late
# packet would otherwise land in the next case's counters), the LB sent
# every VIP packet (>= 3 a connection) and the backends decapsulated every
# one. The checks then judge that reading.
counters_settled() {
	local d
	client_tcp_done "$addr" || return 1
	lb_stats "$RIG_TMP/s1.json" || return 1
	d=$(decap_decapped_total) || return 1
	dec=$((d - dec0))
	lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s1.json" >"$D" || return 1
	vip_pk=$(json_get "$D" "d['vips']['$vip/tcp']['packets']")
	tx=$(json_get "$D" "d['global']['tx']")
	int_eq "$dec" "$tx" && int_eq "$tx" "$vip_pk" && int_ge "$vip_pk" $((3 * N))
}

for case in "$RIG_VIP6|$VIP6|IPv6-in-IPv6" "$RIG_VIP4|$VIP4|IPv4-in-IPv6"; do
	IFS='|' read -r addr vip what <<<"$case"
	sport_alloc $N # fixed source ports: the spread checked below is the same on every run
	step "$what: $N connections to $vip from source ports $SPORT..$((SPORT + N - 1))"
	lb_stats "$RIG_TMP/s0.json" || fail "lbctl stats --json"
	dec0=$(decap_decapped_total) || fail "xlb-decap stats --json"
	client_burst "$addr" $N --parallel 20 --sport-base "$SPORT" >"$RIG_TMP/burst.json"
	cat "$RIG_TMP/burst.json"
	check "$what: the counters settle: client done, decapsulated = sent = VIP packets >= $((3 * N)) (within 60 s)" \
		wait_for 60 counters_settled
	check "$what: $N of $N connections answered" int_eq "$(json_get "$RIG_TMP/burst.json" ok)" $N
	for i in 1 2 3; do
		sh=$(backend_share "$RIG_TMP/burst.json" b$i)
		check "$what: b$i answered $sh% (20..47%)" float_between "$sh" 20 47
	done
	not_vip=$(json_get "$D" "d['global']['pass_not_vip']")
	drops=$(json_get "$D" "{k: v for k, v in d['global'].items() if k.startswith('drop_') and v}")
	echo "  LB: VIP packets $vip_pk, tx $tx, pass_not_vip $not_vip, drops $drops"
	check "$what: tx ($tx) equals the VIP's packets ($vip_pk >= $((3 * N)))" \
		eval "int_eq '$tx' '$vip_pk' && int_ge '$vip_pk' $((3 * N))"
	check "$what: the backends decapsulated every packet the LB sent ($dec == $tx)" int_eq "$dec" "$tx"
	check "$what: replies bypass the LB (pass_not_vip $not_vip <= 10)" int_le "$not_vip" 10
	check "$what: no drop counter moved ($drops)" [ "$drops" = "{}" ]
done
for i in 1 2 3; do
	d=$(decap_counter $i denied)
	check "b$i: xlb-decap's --allow list (rig_decap_allow_args) took every LB packet ($d denied)" int_eq "$d" 0
done
rig_finish
