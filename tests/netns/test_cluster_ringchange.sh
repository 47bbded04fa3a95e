#!/usr/bin/env bash
# What a node failure breaks when the nodes' choices are not enough by
# themselves (tests/netns/cluster.sh, issue 14). Measured and printed; the
# asserts only check that the rig did what the measurement needs.
#
#  1. Ring change plus failover: a Maglev VIP (b1..b3) with 150 held
#     connections; b4 is added on every node (the ring changes; each
#     node's flow table keeps its flows on their backends), then node 3's
#     link is cut. A flow that the router now sends to a node without its
#     flow entry is scheduled with the new ring: it survives only if the
#     new ring still maps it to its old backend (Maglev moves about a
#     quarter of the ring to b4). Flows the router keeps on the same node
#     survive.
#  2. A least-conn, an rr and a random VIP (b1..b3, 150 held connections
#     each) under the same failure: a moved flow meets a node that has no
#     entry for it and schedules it anew (its own connection counts, its
#     own rotation, a random pick), usually onto another backend, whose
#     kernel answers the mid-connection packet with a reset. wrr is rr
#     with weights: the same.
#
# docs/benchmarks.md "Failover" has the figures; server-id routing (a later
# issue) is what keeps such flows.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"
cl_init "${1:-}"
VIP=$RIG_VIP4
# The schedulers that keep no state a moved flow could find, one VIP each.
SCHEDS=(least-conn rr random)
declare -A SVIP=([least-conn]=198.18.100.2 [rr]=198.18.100.3 [random]=198.18.100.4) SLO=()
cl_create 3
for sc in "${SCHEDS[@]}"; do rig_vip_addr_add "${SVIP[$sc]}" || die "cannot put ${SVIP[$sc]} on the backends"; done
CL_CONFIG=$RIG_TMP/cluster.json
B3=("$(rig_b4 1)" "$(rig_b4 2)" "$(rig_b4 3)")
# config_with MAGLEV_BACKENDS...: the config, the stateful VIPs over b1..b3.
config_with() {
	local vips=("$(cl_vip_json "$VIP:80" maglev "$@")") sc
	for sc in "${SCHEDS[@]}"; do vips+=("$(cl_vip_json "${SVIP[$sc]}:80" "$sc" "${B3[@]}")"); done
	printf '%s\n' "${vips[@]}"
}
mapfile -t V < <(config_with "${B3[@]}")
cl_config_write "$CL_CONFIG" 7 "${V[@]}"
cl_start_all || die "cluster did not start"
check "the router's route to $VIP has 3 next hops" cl_wait_ecmp "$VIP" 3
for sc in "${SCHEDS[@]}"; do check "... to ${SVIP[$sc]} ($sc) too" cl_wait_ecmp "${SVIP[$sc]}" 3; done

step "150 held connections on each VIP"
sport_alloc 150
MAG_LO=$SPORT
hold_start mag "$VIP" 150 --sport-base "$SPORT" --parallel 20 || die "hold on $VIP did not start"
for sc in "${SCHEDS[@]}"; do
	sport_alloc 150
	SLO[$sc]=$SPORT
	hold_start "${sc//-/}" "${SVIP[$sc]}" 150 --sport-base "$SPORT" --parallel 20 || die "hold on ${SVIP[$sc]} did not start"
	log "$sc held by backend: $(hold_by_backend "${sc//-/}")"
done
log "maglev held by backend: $(hold_by_backend mag)"

step "ring change: b4 added to $VIP on every node"
rig_add_backend 4
decap_attach 4 || die "decap on b4"
rig_probe "$(cl_ns_n 1)" "$(rig_b4 4)" >/dev/null || true
mapfile -t V < <(config_with "${B3[@]}" "$(rig_b4 4)")
cl_config_write "$RIG_TMP/cluster2.json" 7 "${V[@]}"
cl_apply_all "$RIG_TMP/cluster2.json"
for k in 1 2 3; do rig_probe "$(cl_ns_n "$k")" "$(rig_b4 4)" || log "node $k cannot reach b4"; done
chk=$(hold_cmd mag check)
check "before the failure all 150 Maglev connections answer from their backend (flow entries)" \
	int_eq "$(json_get - same <<<"$chk")" 150
sport_alloc 300
b=$(client_burst "$VIP" 300 --parallel 20 --sport-base "$SPORT")
echo "new connections after the ring change: $(json_get - "{k: d[k] for k in ('ok', 'failed', 'by_backend')}" <<<"$b")"
check "b4 takes new connections" int_ge "$(json_get - "d['by_backend'].get('b4', 0)" <<<"$b")" 1

step "node 3's link cut"
cl_flows_save before "$VIP:80"
for sc in "${SCHEDS[@]}"; do cl_flows_save "before-$sc" "${SVIP[$sc]}:80"; done
cl_link_down 3
check "the router's route to $VIP drops to 2 next hops" cl_wait_ecmp "$VIP" 2 30
for sc in "${SCHEDS[@]}"; do check "... to ${SVIP[$sc]} too" cl_wait_ecmp "${SVIP[$sc]}" 2 30; done
mag=$(hold_cmd mag check)
cl_flows_save after "$VIP:80"
mv_mag=$(cl_flows_moved before after "$MAG_LO" $((MAG_LO + 149)))
echo "maglev held flows by node before the failure, and how many the router moved: $mv_mag"
echo "maglev after ring change + failover: $(json_get - "{k: d[k] for k in ('held', 'answered', 'failed', 'same', 'moved')}" <<<"$mag")"
echo "MEASURE ring change + failover (maglev): $(json_get - same <<<"$mag") of 150 held connections survived; the router moved $(json_get - moved <<<"$mv_mag") of them"
check "every held Maglev connection was checked" int_eq "$(json_get - "d['answered'] + d['failed']" <<<"$mag")" 150
for sc in "${SCHEDS[@]}"; do
	res=$(hold_cmd "${sc//-/}" check)
	cl_flows_save "after-$sc" "${SVIP[$sc]}:80"
	mv=$(cl_flows_moved "before-$sc" "after-$sc" "${SLO[$sc]}" $((SLO[$sc] + 149)))
	echo "$sc held flows by node before the failure, and how many moved: $mv"
	echo "$sc after failover: $(json_get - "{k: d[k] for k in ('held', 'answered', 'failed', 'same', 'moved')}" <<<"$res")"
	echo "MEASURE $sc failover: $(json_get - same <<<"$res") of 150 held connections survived; the router moved $(json_get - moved <<<"$mv") of them"
	check "every held $sc connection was checked" int_eq "$(json_get - "d['answered'] + d['failed']" <<<"$res")" 150
done
rig_finish
