#!/usr/bin/env bash
# Spread in the 3-node cluster (tests/netns/cluster.sh, issue 14), IPv4 and
# IPv6: 300 connections from fixed source ports to each VIP reach all three
# nodes through the router's ECMP route (per-node `lbctl stats`), and each
# backend gets its share. Every node announces both VIP addresses in table
# 100, and the router has a 3-way route to each (one BGP session per family
# and node).
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
VIP6=$RIG_VIP6
CL_CONFIG=$RIG_TMP/cluster.json
cl_config_write "$CL_CONFIG" 7 "$(cl_vip_json "$VIP:80" maglev "$(rig_b4 1)" "$(rig_b4 2)" "$(rig_b4 3)")" \
	"$(cl_vip_json "[$VIP6]:80" maglev "$(rig_b6 1)" "$(rig_b6 2)" "$(rig_b6 3)")"
cl_start_all || die "cluster did not start"
check "the router's route to $VIP has 3 next hops" cl_wait_ecmp "$VIP" 3
check "the router's route to $VIP6 has 3 next hops" cl_wait_ecmp "$VIP6" 3
log "router: $(ip -n "$RIG_NS_R" route show "$VIP/32" | tr '\n\t' '  ')"
log "router: $(ip -n "$RIG_NS_R" -6 route show "$VIP6/128" | tr '\n\t' '  ')"
for k in 1 2 3; do
	check "node $k: lbd announces $VIP and $VIP6 in table $CL_TABLE (proto 120)" \
		test "$({
			ip -n "$(cl_ns_n "$k")" -4 route show table "$CL_TABLE" proto 120
			ip -n "$(cl_ns_n "$k")" -6 route show table "$CL_TABLE" proto 120
		} | awk '{print $2}' | tr '\n' ' ')" = "$VIP $VIP6 "
done

# spread VIP NAME: 300 connections from fixed ports, backend and node split.
spread() {
	local vip=$1 name=$2 k total=0
	local -a before got
	for k in 1 2 3; do before[k]=$(cl_vip_packets "$k" "$name"); done
	tcp_burst_checked "$vip" 300 20 47
	wait_for 10 client_tcp_done "$vip"
	for k in 1 2 3; do
		got[k]=$(($(cl_vip_packets "$k" "$name") - before[k]))
		total=$((total + got[k]))
	done
	echo "MEASURE $name packets per node: node1 ${got[1]}, node2 ${got[2]}, node3 ${got[3]} (of $total)"
	for k in 1 2 3; do
		check "node $k saw at least 15% of $name's packets (${got[k]} of $total)" \
			int_ge "$((got[k] * 100))" "$((total * 15))"
	done
}
spread "$VIP" "$VIP:80"
spread "$VIP6" "[$VIP6]:80"
rig_finish
