#!/usr/bin/env bash
# Spread in the 3-node cluster (tests/netns/cluster.sh, issue 14): 300
# connections from fixed source ports reach all three nodes through the
# router's ECMP route (per-node `lbctl stats`), and each backend gets its
# share.
#
# Which node a connection reaches depends on the router's multipath hash,
# whose key the kernel draws at random once per boot: the node split is
# checked statistically. Each node must see at least 15% of the VIP's
# packets; a node's connection count is Binomial(300, 1/3) (mean 100,
# sd 8.2), and 15% is 6.7 sd below the mean: a failure chance of about 1e-11
# per node by chance alone. Which backend a connection reaches depends only
# on xlb's flow hash with the cluster's hash_seed and the identical rings,
# whatever node it crosses: with fixed source ports the backend split is the
# same on every run and every machine, and is checked exactly (as
# tcp_burst_checked does: 20..47% each).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"
cl_init "${1:-}"
cl_create 3
VIP=$RIG_VIP4
CL_CONFIG=$RIG_TMP/cluster.json
cl_config_write "$CL_CONFIG" 7 "$(cl_vip_json "$VIP:80" maglev "$(rig_b4 1)" "$(rig_b4 2)" "$(rig_b4 3)")"
cl_start_all || die "cluster did not start"
check "the router's route to $VIP has 3 next hops" cl_wait_ecmp "$VIP" 3
log "router: $(ip -n "$RIG_NS_R" route show "$VIP/32" | tr '\n\t' '  ')"
for k in 1 2 3; do
	check "node $k: lbd announces $VIP in table $CL_TABLE (proto 120)" \
		test "$(ip -n "$(cl_ns_n "$k")" route show table "$CL_TABLE" proto 120 | awk '{print $2}')" = "$VIP"
done

before=()
for k in 1 2 3; do before[k]=$(cl_vip_packets "$k" "$VIP:80"); done
tcp_burst_checked "$VIP" 300 20 47
wait_for 10 client_tcp_done "$VIP"
total=0
declare -a got
for k in 1 2 3; do
	got[k]=$(($(cl_vip_packets "$k" "$VIP:80") - before[k]))
	total=$((total + got[k]))
done
echo "MEASURE VIP packets per node: node1 ${got[1]}, node2 ${got[2]}, node3 ${got[3]} (of $total)"
for k in 1 2 3; do
	check "node $k saw at least 15% of the VIP's packets (${got[k]} of $total)" \
		int_ge "$((got[k] * 100))" "$((total * 15))"
done
rig_finish
