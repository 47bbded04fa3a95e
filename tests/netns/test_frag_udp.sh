#!/usr/bin/env bash
# Fragmented UDP through the real lbd/xlb_lb/xlb-decap (ipip): the client
# sends requests of 4000 bytes over its 1500-byte link, so its kernel sends
# each in three fragments (IPv4: 1480 + 1480 + 1048 bytes of payload; IPv6
# likewise, behind a fragment header). The LB sends the first fragment
# where the flow goes and the later two after it (bpf/lib/frag.h); each
# encapsulated fragment fits the 1600-byte fabric. The backend's kernel
# reassembles the datagram after xlb-decap, and its small answer goes
# straight back to the client. Checks, for an IPv4 and an IPv6 VIP: every
# request answered by a backend that got all 4000 bytes; both backends
# used; the LB counted a first fragment per request and two later ones
# forwarded, and dropped or passed none.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 2
N=40
SIZE=4000

step "start lbd and the decapsulators, UDP VIPs $RIG_VIP4:53 and [$RIG_VIP6]:53 on b1, b2"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
vip_setup "$RIG_VIP4:53" udp "$(rig_b4 1)" "$(rig_b4 2)" || rig_finish
vip_setup "[$RIG_VIP6]:53" udp "$(rig_b6 1)" "$(rig_b6 2)" || rig_finish
lbctl_ list

D="$RIG_TMP/delta.json"
for vip in "$RIG_VIP4" "$RIG_VIP6"; do
	lb_stats "$RIG_TMP/s0.json" || fail "lbctl stats --json"
	sport_alloc $N # fixed source ports: the same spread on every run
	step "$N requests of $SIZE bytes to $(hostport "$vip" 53) from source ports $SPORT..$((SPORT + N - 1))"
	OUT=$(client_udprr "$vip" $N --parallel 10 --timeout 5 --size $SIZE --details --sport-base "$SPORT")
	json_get - "{k: d.get(k) for k in ('ok', 'failed', 'timeouts', 'wrong_source', 'by_backend', 'errors')}" <<<"$OUT"
	check "$N of $N answered from $(hostport "$vip" 53), each by a backend that got all $SIZE bytes" \
		burst_all_ok "$OUT" $N
	check "both backends answered ($(json_get - by_backend <<<"$OUT"))" burst_spread "$OUT" 2 10 90
	# The client is done once every request was answered: all its
	# fragments have gone through the LB, so one reading is final.
	lb_stats "$RIG_TMP/s1.json" || fail "lbctl stats --json"
	lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s1.json" >"$D" || fail "stats delta"
	first=$(lb_gstat "$D" frag_first)
	later=$(lb_gstat "$D" frag_forwarded)
	passed=$(lb_gstat "$D" pass_fragment)
	drops=$(lb_drops "$D")
	echo "  LB: frag_first $first, frag_forwarded $later, pass_fragment $passed, drops $drops"
	check "a first fragment per request went where its flow goes (frag_first $first == $N)" int_eq "$first" $N
	check "two later fragments per request followed it (frag_forwarded $later == $((2 * N)))" \
		int_eq "$later" $((2 * N))
	check "no fragment passed to the LB's kernel (pass_fragment $passed)" int_eq "$passed" 0
	check "no drop counter moved ($drops)" [ "$drops" = "{}" ]
done
for i in 1 2; do
	m=$(decap_counter $i malformed)
	check "b$i: xlb-decap counted no malformed packets ($m)" int_eq "$m" 0
done
rig_finish
