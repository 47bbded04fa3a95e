#!/usr/bin/env bash
# xlb as a 3-node cluster behind a BGP/ECMP router, end to end (issue 14):
#   1. installs the dependencies (scripts/install-deps.sh, BIRD 2 among them)
#      and builds into build/ (XLB_DEMO_NO_BUILD=1 skips both);
#   2. builds the cluster rig (tests/netns/cluster.sh): a client, a router
#      running BIRD, three load-balancer nodes each running lbd (same
#      config and hash_seed, --announce-table 100) and BIRD (BGP + BFD to
#      the router), and three backends;
#   3. shows the BGP sessions and the router's ECMP route to the VIP;
#   4. opens 300 connections and prints how they spread over the nodes and
#      the backends;
#   5. holds 150 connections open and keeps opening new ones while node 2's
#      link is cut: prints how fast BFD took node 2 out, and that every
#      held connection still answers from its backend;
#   6. brings node 2 back: the flows that move back keep working; prints a
#      verdict and tears down.
# Run as root. Exit status: 0 when the verdict is PASS.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${XLB_BUILD:-build}

if [[ "${XLB_DEMO_NO_BUILD:-0}" != 1 ]]; then
	echo "== dependencies"
	scripts/install-deps.sh || exit 1
	echo "== build ($BUILD)"
	cmake -S . -B "$BUILD" >/dev/null || exit 1
	make -C "$BUILD" -j2 --no-print-directory 2>&1 | grep -E 'error|warning: |Built target' | tail -n 25
	((PIPESTATUS[0] == 0)) || { echo "demo: build failed"; exit 1; }
fi

. "$ROOT/tests/netns/lib.sh"
. "$ROOT/tests/netns/cluster.sh"
RIG_TEST_NAME=demo-cluster
cl_init "$BUILD" # exits 77 with a reason if not root / no BPF / no BIRD / not built
cl_create 3
VIP=$RIG_VIP4
CL_CONFIG=$RIG_TMP/cluster.json
cl_config_write "$CL_CONFIG" 7 "$(cl_vip_json "$VIP:80" maglev "$(rig_b4 1)" "$(rig_b4 2)" "$(rig_b4 3)")"

step "lbd and BIRD on nodes 1-3 (same config, hash_seed 7), xlb-decap on the backends"
cl_start_all || { echo "demo: the cluster did not start (logs above)"; exit 1; }
cl_wait_ecmp "$VIP" 3 || { echo "demo: the router has no 3-way route to $VIP"; exit 1; }
echo "router's BGP sessions:"
cl_birdc r show protocols | awk '$2 == "BGP" { printf "  %-8s %-4s %-12s %s\n", $1, $2, $6, $7 }'
echo "router's route to the VIP:"
ip -n "$RIG_NS_R" route show "$VIP/32" | sed 's/^/  /'
echo "node 1's table $CL_TABLE (what lbd announces):"
ip -n "$(cl_ns_n 1)" route show table "$CL_TABLE" | sed 's/^/  /'

step "300 connections to $VIP:80"
declare -a p0
for k in 1 2 3; do p0[k]=$(cl_vip_packets "$k" "$VIP:80"); done
sport_alloc 300
b=$(client_burst "$VIP" 300 --parallel 20 --sport-base "$SPORT")
wait_for 10 client_tcp_done "$VIP"
printf '  answered %s of 300; backends: %s\n' "$(json_get - ok <<<"$b")" "$(json_get - by_backend <<<"$b")"
for k in 1 2 3; do
	printf '  node %s forwarded %5s packets\n' "$k" "$(($(cl_vip_packets "$k" "$VIP:80") - p0[k]))"
done
verdict=PASS
[[ $(json_get - ok <<<"$b") == 300 ]] || verdict=FAIL

step "150 held connections, new ones at 40/s; node 2's link cut"
sport_alloc 150
hold_start held "$VIP" 150 --sport-base "$SPORT" --parallel 20 || { echo "demo: hold failed"; exit 1; }
echo "  held connections by backend: $(hold_by_backend held)"
cl_stream_start new "$VIP" 40 || { echo "demo: no connection stream"; exit 1; }
cl_route_watch_start "$VIP"
t0=$(cl_now_ms)
cl_link_down 2
echo "  $(date +%T.%3N) node 2's switch port is down"
cl_wait_ecmp "$VIP" 2 30 || verdict=FAIL
echo "  $(date +%T.%3N) the router's route has 2 next hops: BFD noticed in $(($(cl_route_when "$VIP" 2 "$t0") - t0)) ms"
echo "  router: $(cl_birdc r show protocols node2 | tail -n 1 | awk '{$1 = $1; print}')"
c=$(hold_cmd held check)
printf '  held connections: %s of 150 answer, %s from the backend they opened on\n' \
	"$(json_get - answered <<<"$c")" "$(json_get - same <<<"$c")"
[[ $(json_get - same <<<"$c") == 150 ]] || verdict=FAIL

step "node 2's link back"
t1=$(cl_now_ms)
cl_link_up 2
cl_wait_ecmp "$VIP" 3 60 || verdict=FAIL
echo "  $(date +%T.%3N) the router's route has 3 next hops again, $(($(cl_route_when "$VIP" 3 "$t1") - t1)) ms after the link came back (BGP reconnects)"
c=$(hold_cmd held check)
printf '  held connections: %s of 150 answer, %s from the backend they opened on (some moved back to node 2)\n' \
	"$(json_get - answered <<<"$c")" "$(json_get - same <<<"$c")"
[[ $(json_get - same <<<"$c") == 150 ]] || verdict=FAIL

s=$(cl_stream_stop new)
cl_route_watch_stop "$VIP"
printf '  new connections meanwhile: %s opened, %s failed, %s retried a lost SYN (sent to node 2 before BFD took it out)\n' \
	"$(json_get - n <<<"$s")" "$(json_get - failed <<<"$s")" "$(json_get - slow <<<"$s")"
[[ $(json_get - failed <<<"$s") == 0 ]] || verdict=FAIL

echo
echo "demo-cluster: $verdict"
[[ $verdict == PASS ]]
