# shellcheck shell=bash
# tests/netns/cluster.sh: a 3-node xlb cluster behind a BGP/ECMP router, on
# top of tests/netns/lib.sh (source lib.sh first, then this; see issue 14
# and docs/operations.md "Several load balancers").
#
#   client ns (xlb-<S>-c)                router ns (xlb-<S>-r): BIRD, ECMP
#   xc<S> 198.18.0.2/24 ===== xq<S> 198.18.0.1/24    fd00:18::1/64
#     fd00:18::2/64           xr<S> 198.19.0.254/24  fd00:19::254/64 --+
#                                                      |  switch ns (xlb-<S>-sw), bridge br<S>
#   node k ns (xlb-<S>-n<k>), k = 1..3: lbd + BIRD     |
#     xl<k><S> 198.19.0.<k>/24, fd00:19::<k>/64 -------+  (switch port sl<k><S>, XDP_PASS stub)
#   backend i ns (xlb-<S>-b<i>): xlb-decap + servers   |
#     xb<i><S> 198.19.0.(10+i)/24, fd00:19::(10+i)/64, VIPs on lo
#
# Every node runs lbd (ipip, the same config and hash_seed, its own pin
# root, socket and state dir, `--announce-table 100`) and
# BIRD: a `kernel` protocol learning table 100 (the VIP routes lbd keeps
# there, proto 120), one BGP session per address family to the router
# (eBGP, AS 65001 -> 65000, next hop self) with BFD. The router's BIRD
# takes the VIPs from the three nodes and installs each as one ECMP route
# (`merge paths`); with fib_multipath_hash_policy=1 (IPv4 and IPv6) the
# kernel spreads flows by their L4 hash.
# Backends answer the client directly through the router (DSR, like the
# l2dsr rig's backends: VIPs on lo, default route via 198.19.0.254).
#
# A node's link is cut at its switch port (cl_link_down K): the router's
# interface stays up, so only BFD (100 ms x 3) notices, as it would with a
# failed host behind a switch. The nodes' switch ports do not flood unknown
# unicast (see cl_create).
#
# lib.sh's single-LB helpers (lbd_start, lbctl_, lb_stats, lbd_kill ...) work
# on the node chosen with cl_node K, which points lib.sh's RIG_* variables
# at that node. cl_lbctl K ARGS runs lbctl on node K without switching.
#
# Typical test:
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/cluster.sh"
#   cl_init "$1"              # rig_init + the cluster's EXIT trap
#   cl_create 3               # namespaces, router, 3 nodes, 3 backends, BIRD everywhere
#   cl_start_all              # lbd on every node with $CL_CONFIG, decap on the backends
#   cl_wait_ecmp 198.18.100.1 3
#
# Names: BIRD's configs, control sockets and logs live in $RIG_TMP/bird-*;
# every process runs inside a namespace of the rig and is killed at
# teardown (cl_destroy, the EXIT trap), pins are under /sys/fs/bpf/xlb-<S>n<k>.

CL_NODES=3
CL_TABLE=100             # the announce table (docs/operations.md)
CL_RT4=198.19.0.254      # the router on the segment
CL_RT6=fd00:19::254
CL_AS_ROUTER=65000
CL_AS_NODES=65001
CL_CUR=0
declare -a CL_LBD_PIDS=()
declare -a CL_BIRD_PIDS=()

cl_ns_n() { echo "xlb-$RIG_S-n$1"; }
cl_if_n() { echo "xl$1$RIG_S"; }
cl_sw_n() { echo "sl$1$RIG_S"; }
cl_addr_n() { echo "198.19.0.$1"; }
cl_addr6_n() { echo "fd00:19::$1"; }
cl_pins_n() { echo "/sys/fs/bpf/xlb-${RIG_S}n$1"; }
cl_sock_n() { echo "$RIG_TMP/lbd-n$1.sock"; }
cl_bird_sock() { echo "$RIG_TMP/bird-$1.ctl"; } # r or n<k>

# cl_init BUILD_DIR: rig_init, then the cluster's teardown as the EXIT trap.
cl_init() {
	rig_init "$1"
	command -v bird >/dev/null && command -v birdc >/dev/null ||
		skip "BIRD 2 (bird, birdc) not installed: scripts/install-deps.sh installs bird2"
	trap cl_destroy EXIT
	RIG_KIND=l2dsr # backends: VIPs on lo, default route via the router
	_rig_mode_addrs
	RIG_RB4=$CL_RT4
	RIG_RB6=$CL_RT6
	# ipip sources: 172.16.0.0/16 (lbd's default, per flow), and each node's
	# IPv6 address (lbd's default IPv6 source: its interface's address).
	RIG_DECAP_ALLOW="172.16.0.0/16 fd00:19::1 fd00:19::2 fd00:19::3"
}

# cl_node K: lib.sh's LB helpers now act on node K.
cl_node() {
	local k=$1
	((CL_CUR > 0)) && CL_LBD_PIDS[CL_CUR]=$RIG_LBD_PID
	CL_CUR=$k
	RIG_NS_LB=$(cl_ns_n "$k")
	RIG_IF_LB=$(cl_if_n "$k")
	RIG_IF_LBB=$RIG_IF_LB
	RIG_LB_IFACES=("$RIG_IF_LB")
	RIG_LB4=$(cl_addr_n "$k")
	RIG_LBB4=$RIG_LB4
	RIG_LB6=
	RIG_LBB6=
	RIG_PIN_ROOT=$(cl_pins_n "$k")
	RIG_SOCK=$(cl_sock_n "$k")
	RIG_LBD_LOG="$RIG_TMP/lbd-n$k.log"
	RIG_STATE_DIR="$RIG_TMP/state-n$k"
	RIG_LBD_PID=${CL_LBD_PIDS[k]:-}
}

# cl_lbctl K ARGS...: lbctl on node K.
cl_lbctl() { local k=$1; shift; nsenter_net "$(cl_ns_n "$k")" "$LBCTL_BIN" --socket "$(cl_sock_n "$k")" "$@"; }

# cl_create N_BACKENDS: the whole rig with BIRD running everywhere (no lbd yet).
cl_create() {
	local nb=${1:-3} k i ns ifn
	step "cluster rig $RIG_S: router, $CL_NODES nodes, $nb backends (tmp $RIG_TMP)"
	RIG_CREATED=1
	_rig_ns_new "$RIG_NS_C"
	_rig_ns_new "$RIG_NS_R"
	_rig_switch_new
	_rig_veth "$RIG_NS_C" "$RIG_IF_C" "$RIG_NS_R" "$RIG_IF_RC" "$RIG_MTU_CLIENT"
	_rig_client_setup
	ip -n "$RIG_NS_C" route add default via "$RIG_GW4"
	ip -n "$RIG_NS_C" -6 route add default via "$RIG_GW6"
	# router: no VIP route of its own, only what BGP brings
	ip -n "$RIG_NS_R" addr add "$RIG_GW4/24" dev "$RIG_IF_RC"
	ip -n "$RIG_NS_R" addr add "$RIG_GW6/64" dev "$RIG_IF_RC" nodad
	_rig_port "$RIG_NS_R" "$RIG_IF_RB" "sr$RIG_S" "$RIG_MTU_FABRIC"
	ip -n "$RIG_NS_R" addr add "$CL_RT4/24" dev "$RIG_IF_RB"
	ip -n "$RIG_NS_R" addr add "$CL_RT6/64" dev "$RIG_IF_RB" nodad
	_rig_router_sysctls "$RIG_NS_R" "$RIG_IF_RC" "$RIG_IF_RB"
	# L4 ECMP hash: flows of one client spread over the nodes.
	_rig_sysctl "$RIG_NS_R" net.ipv4.fib_multipath_hash_policy=1 net.ipv6.fib_multipath_hash_policy=1
	for ((k = 1; k <= CL_NODES; k++)); do
		ns=$(cl_ns_n "$k")
		ifn=$(cl_if_n "$k")
		_rig_ns_new "$ns"
		_rig_port "$ns" "$ifn" "$(cl_sw_n "$k")" "$RIG_MTU_FABRIC"
		_rig_stub "$RIG_NS_SW" "$(cl_sw_n "$k")" # XDP_TX out of xl<k><S>
		# No unknown-unicast flooding towards the nodes: when a node's port
		# goes down the bridge forgets its MAC and would flood the router's
		# frames for it to the other nodes, whose XDP programs (which see
		# every frame, whatever its destination MAC) would forward them: a
		# dead node would lose nothing, unlike on a real router port.
		bridge -n "$RIG_NS_SW" link set dev "$(cl_sw_n "$k")" flood off ||
			die "cannot turn flooding off on $(cl_sw_n "$k")"
		ip -n "$ns" addr add "$(cl_addr_n "$k")/24" dev "$ifn"
		ip -n "$ns" addr add "$(cl_addr6_n "$k")/64" dev "$ifn" nodad
		ip -n "$ns" route add 198.18.0.0/24 via "$CL_RT4"
		_rig_router_sysctls "$ns" "$ifn"
		mkdir -p "$RIG_TMP/state-n$k"
	done
	RIG_BACKENDS=0
	for ((i = 1; i <= nb; i++)); do rig_add_backend "$i"; done
	# L2: every node reaches the router and the backends; the client the router.
	for ((k = 1; k <= CL_NODES; k++)); do
		rig_probe "$(cl_ns_n "$k")" "$CL_RT4" || die "node $k cannot reach the router"
		rig_probe "$(cl_ns_n "$k")" "$CL_RT6" || die "node $k cannot reach the router (IPv6)"
		for ((i = 1; i <= nb; i++)); do
			rig_probe "$(cl_ns_n "$k")" "$(rig_b4 "$i")" || die "node $k cannot reach b$i"
			rig_probe "$(cl_ns_n "$k")" "$(rig_b6 "$i")" || die "node $k cannot reach b$i (IPv6)"
		done
	done
	for ((i = 1; i <= nb; i++)); do
		rig_probe "$(rig_ns_b "$i")" "$CL_RT4" || die "b$i cannot reach the router"
		rig_probe "$(rig_ns_b "$i")" "$CL_RT6" || die "b$i cannot reach the router (IPv6)"
	done
	rig_probe "$RIG_NS_C" "$RIG_GW4" || die "the client cannot reach the router"
	rig_probe "$RIG_NS_C" "$RIG_GW6" || die "the client cannot reach the router (IPv6)"
	cl_bird_start_all
	cl_node 1
}

# ---- BIRD -----------------------------------------------------------------

# The BFD and BGP settings shared by both ends. BFD 100 ms x 5: a dead node
# is noticed in about 500 ms, and BIRD would have to miss five packets in a
# row (half a second) on a loaded CI machine before a live session flapped,
# which would withdraw a node's routes in the middle of a test. BGP's own timers stay slow (hold 30 s) so a
# loaded 2-CPU CI machine never drops a session by itself; BFD does the fast
# part. error wait / connect retry are short so a node that comes back is
# peered again within seconds.
_cl_bird_bfd() {
	cat <<EOF
protocol bfd {
	interface "$1" {
		min rx interval 100 ms;
		min tx interval 100 ms;
		idle tx interval 300 ms;
		multiplier 5;
	};
}
EOF
}
_CL_BGP_TIMERS='hold time 30; keepalive time 10; connect retry time 2; connect delay time 1; error wait time 1, 4; bfd on;'

# _cl_bird_conf_router: one BGP session per node, ECMP into the kernel.
_cl_bird_conf_router() {
	local k
	cat <<EOF
# The cluster rig's router (tests/netns/cluster.sh).
router id $CL_RT4;
log "$RIG_TMP/bird-r.log" all;
protocol device { scan time 10; }
protocol direct { disabled; }
# Equal BGP routes from the nodes become one multipath route in the kernel.
protocol kernel {
	merge paths on limit 16;
	ipv4 { import none; export all; };
}
protocol kernel {
	merge paths on limit 16;
	ipv6 { import none; export all; };
}
$(_cl_bird_bfd "$RIG_IF_RB")
template bgp lbnode {
	local $CL_RT4 as $CL_AS_ROUTER;
	$_CL_BGP_TIMERS
	ipv4 { import all; export none; };
}
template bgp lbnode6 {
	local $CL_RT6 as $CL_AS_ROUTER;
	$_CL_BGP_TIMERS
	ipv6 { import all; export none; };
}
EOF
	for ((k = 1; k <= CL_NODES; k++)); do
		echo "protocol bgp node$k from lbnode { neighbor $(cl_addr_n "$k") as $CL_AS_NODES; }"
		echo "protocol bgp node${k}v6 from lbnode6 { neighbor $(cl_addr6_n "$k") as $CL_AS_NODES; }"
	done
}

# _cl_bird_conf_node K: learn lbd's routes from table 100, announce them
# (scripts/packaging/examples/bird-xlb.conf, IPv4 only, plus BFD).
_cl_bird_conf_node() {
	local k=$1
	cat <<EOF
# Load-balancer node $k of the cluster rig (tests/netns/cluster.sh); the
# worked example of docs/operations.md "Several load balancers".
router id $(cl_addr_n "$k");
log "$RIG_TMP/bird-n$k.log" all;
protocol device { scan time 10; }
# The VIP routes stay in a BIRD table of their own: nothing exports them
# to the node's kernel tables.
ipv4 table xlb4;
ipv6 table xlb6;
filter xlb_vips {
	if krt_source != 120 then reject;
	if net.type = NET_IP4 && net.len != 32 then reject;
	if net.type = NET_IP6 && net.len != 128 then reject;
	accept;
}
# lbd keeps one blackhole route per served VIP in table $CL_TABLE (proto 120);
# learn them, never write there.
protocol kernel xlb_kernel4 {
	kernel table $CL_TABLE;
	learn;
	scan time 10;
	ipv4 { table xlb4; import filter xlb_vips; export none; };
}
protocol kernel xlb_kernel6 {
	kernel table $CL_TABLE;
	learn;
	scan time 10;
	ipv6 { table xlb6; import filter xlb_vips; export none; };
}
$(_cl_bird_bfd "$(cl_if_n "$k")")
protocol bgp uplink {
	local $(cl_addr_n "$k") as $CL_AS_NODES;
	neighbor $CL_RT4 as $CL_AS_ROUTER;
	$_CL_BGP_TIMERS
	ipv4 { table xlb4; import none; export filter xlb_vips; next hop self; };
}
protocol bgp uplink6 {
	local $(cl_addr6_n "$k") as $CL_AS_NODES;
	neighbor $CL_RT6 as $CL_AS_ROUTER;
	$_CL_BGP_TIMERS
	ipv6 { table xlb6; import none; export filter xlb_vips; next hop self; };
}
EOF
}

# _cl_bird_start NAME NS: BIRD in NS with $RIG_TMP/bird-NAME.conf.
_cl_bird_start() {
	local name=$1 ns=$2 conf="$RIG_TMP/bird-$1.conf"
	bird -p -c "$conf" || die "BIRD config $conf does not parse"
	ip netns exec "$ns" bird -f -c "$conf" -s "$(cl_bird_sock "$name")" -P "$RIG_TMP/bird-$name.pid" \
		>"$RIG_TMP/bird-$name.out" 2>&1 </dev/null &
	RIG_BG_PIDS+=("$!")
	CL_BIRD_PIDS+=("$!")
}

cl_bird_start_all() {
	local k
	_cl_bird_conf_router >"$RIG_TMP/bird-r.conf"
	_cl_bird_start r "$RIG_NS_R"
	for ((k = 1; k <= CL_NODES; k++)); do
		_cl_bird_conf_node "$k" >"$RIG_TMP/bird-n$k.conf"
		_cl_bird_start "n$k" "$(cl_ns_n "$k")"
	done
}

# cl_birdc NAME ARGS...: birdc against the router's (r) or node k's (n<k>) BIRD.
cl_birdc() { local n=$1; shift; birdc -s "$(cl_bird_sock "$n")" "$@"; }

# cl_bgp_up K: the router's session to node K is Established.
cl_bgp_up() {
	cl_birdc r show protocols "node$1" 2>/dev/null | grep -q Established &&
		cl_birdc r show protocols "node$1v6" 2>/dev/null | grep -q Established
}

# cl_wait_bgp [SECONDS]: every session Established.
cl_wait_bgp() {
	local k limit=${1:-60}
	for ((k = 1; k <= CL_NODES; k++)); do
		wait_for "$limit" cl_bgp_up "$k" || { log "BGP session to node $k not up: $(cl_birdc r show protocols "node$k" 2>&1 | tail -n 1)"; return 1; }
	done
}

# ---- the router's view ------------------------------------------------------

# cl_nexthops VIP: the router's kernel next hops for VIP/32, sorted, one a line
# (nothing when there is no route).
cl_nexthops() {
	local fam=-4 plen=32
	[[ $1 == *:* ]] && { fam=-6; plen=128; }
	ip -n "$RIG_NS_R" "$fam" route show "$1/$plen" 2>/dev/null | grep -o 'via [0-9a-f.:]*' | awk '{print $2}' | sort
}
cl_nexthop_count() { cl_nexthops "$1" | grep -c .; }
_cl_nh_is() { [[ $(cl_nexthop_count "$1") == "$2" ]]; }

# cl_wait_ecmp VIP N [SECONDS]: the router's route to VIP has N next hops.
cl_wait_ecmp() { wait_for "${3:-60}" _cl_nh_is "$1" "$2"; }

# cl_route_watch_start VIP (IPv4): records the router's next-hop count for VIP every
# 10 ms into $RIG_TMP/watch-VIP (lines "MS COUNT"; only changes), for
# "the route was never withdrawn" and convergence times. cl_route_watch_stop
# ends it.
cl_route_watch_start() {
	local vip=$1 out="$RIG_TMP/watch-$1"
	: >"$out"
	(
		last=
		while [[ ! -e "$out.stop" ]]; do
			c=$(ip -n "$RIG_NS_R" route show "$vip/32" 2>/dev/null | grep -c 'via ')
			# a single-path route prints "via" once
			if [[ "$c" != "$last" ]]; then
				echo "$(($(date +%s%N) / 1000000)) $c" >>"$out"
				last=$c
			fi
			sleep 0.01
		done
	) &
	RIG_BG_PIDS+=("$!")
	CL_WATCH_PID=$!
	wait_for 10 test -s "$out" # its first sample is in: later changes are timed
}
cl_route_watch_stop() {
	touch "$RIG_TMP/watch-$1.stop"
	wait "$CL_WATCH_PID" 2>/dev/null
}
# cl_route_min VIP: the smallest next-hop count the watcher saw.
cl_route_min() { awk 'NR == 1 || $2 < m { m = $2 } END { print m }' "$RIG_TMP/watch-$1"; }
# cl_route_first_ms VIP COUNT [SINCE_MS]: the first time (ms) the count was
# COUNT (at or after SINCE_MS).
cl_route_first_ms() { awk -v c="$2" -v t="${3:-0}" '$1 >= t && $2 == c { print $1; exit }' "$RIG_TMP/watch-$1"; }
# cl_route_when VIP COUNT SINCE_MS: waits (up to 10 s) until the watcher has
# logged COUNT at or after SINCE_MS, and prints that time: a caller that
# saw the route change itself may be ahead of the watcher's next sample.
_cl_route_logged() { [[ -n $(cl_route_first_ms "$@") ]]; }
cl_route_when() {
	wait_for 10 _cl_route_logged "$1" "$2" "$3" || return 1
	cl_route_first_ms "$1" "$2" "$3"
}
# cl_route_log VIP: the watcher's changes, "+MS:COUNT" relative to the first sample.
cl_route_log() { awk 'NR == 1 { t = $1 } { printf "+%d:%d ", $1 - t, $2 }' "$RIG_TMP/watch-$1"; }

# ---- nodes ------------------------------------------------------------------

# cl_link_down K / cl_link_up K: cut / restore node K's switch port.
cl_link_down() { ip -n "$RIG_NS_SW" link set "$(cl_sw_n "$1")" down; }
cl_link_up() { ip -n "$RIG_NS_SW" link set "$(cl_sw_n "$1")" up; }

# cl_lbd_start K [lbd args...]: lbd on node K with the cluster config
# ($CL_CONFIG, if set) and the announce table.
cl_lbd_start() {
	local k=$1 args=()
	shift
	cl_node "$k"
	[[ -n "${CL_CONFIG:-}" ]] && args+=(--config "$CL_CONFIG")
	lbd_start "${args[@]}" --announce-table "$CL_TABLE" "$@"
}

# cl_start_all: lbd on every node, xlb-decap on every backend, all BGP
# sessions up.
cl_start_all() {
	local k
	for ((k = 1; k <= CL_NODES; k++)); do
		cl_lbd_start "$k" || return 1
	done
	decap_attach_all || return 1
	cl_wait_bgp || return 1
}

# cl_config_write FILE SEED VIP_JSON...: a cluster config (the same file for
# every node): hash_seed SEED and the given VIP objects.
cl_config_write() {
	local f=$1 seed=$2
	shift 2
	local IFS=,
	printf '{"hash_seed": %s, "vips": [%s]}\n' "$seed" "$*" >"$f"
}

# cl_vip_json VIP:PORT SCHED ADDR...: one VIP object for cl_config_write.
cl_vip_json() {
	local vip=$1 sched=$2 a bs=()
	shift 2
	for a in "$@"; do bs+=("{\"address\": \"$a\"}"); done
	local IFS=,
	printf '{"vip": "%s", "proto": "tcp", "sched": "%s", "mode": "ipip", "backends": [%s]}' "$vip" "$sched" "${bs[*]}"
}

# cl_apply_all FILE: lbctl apply FILE on every node.
cl_apply_all() {
	local k
	for ((k = 1; k <= CL_NODES; k++)); do
		cl_lbctl "$k" apply -f "$1" >/dev/null || { fail "lbctl apply on node $k"; return 1; }
	done
}

# cl_node_rx K: packets node K's program saw (lbctl stats global rx).
cl_node_rx() { cl_lbctl "$1" stats --json | json_get - "d['global']['rx']['packets']"; }

# cl_drops K: node K's nonzero drop counters, {"drop_...": packets}.
cl_drops() {
	cl_lbctl "$1" stats --json |
		json_get - "{k: v['packets'] for k, v in d['global'].items() if k.startswith('drop') and v.get('packets')}"
}

# cl_flows_save TAG VIP:PORT: every node's flow entries for VIP:PORT/tcp,
# saved as $RIG_TMP/flows-TAG-<k>.json (for cl_flows_moved).
cl_flows_save() {
	local k
	for ((k = 1; k <= CL_NODES; k++)); do
		cl_lbctl "$k" flows --vip "$2" --proto tcp --limit 100000 --json >"$RIG_TMP/flows-$1-$k.json" 2>/dev/null ||
			echo '{"flows": []}' >"$RIG_TMP/flows-$1-$k.json" # a node cut off still answers (a file socket)
	done
}

# cl_flows_moved BEFORE AFTER LO HI: of the client's flows from source ports
# LO..HI, prints {"held": n, "on_node": {"1": n1, ...} (before),
# "moved": m} where moved counts the flows that, after, have an entry on a
# node that had none before: the router sent them somewhere new.
cl_flows_moved() {
	python3 - "$RIG_TMP" "$1" "$2" "$3" "$4" "$CL_NODES" <<'PYEOF2'
import json, sys
tmp, before, after, lo, hi, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
def nodes(tag):
    out = {}
    for k in range(1, n + 1):
        for f in json.load(open(f"{tmp}/flows-{tag}-{k}.json")).get("flows", []):
            port = int(f["src"].rsplit(":", 1)[1])
            if lo <= port <= hi:
                out.setdefault(port, set()).add(k)
    return out
b, a = nodes(before), nodes(after)
on = {str(k): sum(1 for s in b.values() if k in s) for k in range(1, n + 1)}
moved = sum(1 for p, s in a.items() if s - b.get(p, set()))
print(json.dumps({"held": len(b), "on_node": on, "moved": moved}))
PYEOF2
}

# cl_prog_attached K: node K's interface has an XDP program.
cl_prog_attached() { ip -n "$(cl_ns_n "$1")" -d link show "$(cl_if_n "$1")" 2>/dev/null | grep -q 'prog/xdp'; }

# ---- teardown -----------------------------------------------------------------

# cl_destroy: every node's lbd detached (its pins gone), then lib.sh's
# rig_destroy (BIRD and everything else in the rig's namespaces is killed,
# the namespaces deleted, the tmpdir removed). Idempotent.
cl_destroy() {
	local rc=$? k f
	trap - EXIT
	trap '' INT TERM
	set +e
	if [[ "${RIG_KEEP:-0}" != 1 && -n "${RIG_S:-}" ]]; then
		for ((k = 1; k <= CL_NODES; k++)); do
			cl_node "$k"
			[[ -e "/run/netns/$RIG_NS_LB" ]] || continue
			if ((rc != 0)) && [[ -s "$RIG_LBD_LOG" ]]; then
				log "node $k: last lines of lbd's log:"
				tail -n 8 "$RIG_LBD_LOG" | sed 's/^/    /' >&2
			fi
			if [[ -n "$RIG_LBD_PID" ]] && kill -0 "$RIG_LBD_PID" 2>/dev/null; then
				timeout 10 "$LBCTL_BIN" --socket "$RIG_SOCK" detach >/dev/null 2>&1
				local deadline=$((SECONDS + 5))
				while kill -0 "$RIG_LBD_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
			fi
			lbd_kill KILL
			if lbd_prog_attached || [[ -d "$RIG_PIN_ROOT" ]]; then
				timeout 10 nsenter --net="/run/netns/$RIG_NS_LB" -- "$LBD_BIN" --detach "$RIG_IF_LB" \
					--pin-root "$RIG_PIN_ROOT" >/dev/null 2>&1
			fi
			[[ -e "$RIG_PIN_ROOT" ]] && rm -rf "$RIG_PIN_ROOT"
		done
		for f in "${CL_BIRD_PIDS[@]}"; do kill "$f" 2>/dev/null; done
	fi
	(exit "$rc")
	rig_destroy
}

# cl_leftovers: anything of the rig still present.
cl_leftovers() {
	local k
	rig_leftovers
	for ((k = 1; k <= CL_NODES; k++)); do [[ -e "$(cl_pins_n "$k")" ]] && cl_pins_n "$k"; done
	return 0
}

# ---- traffic ------------------------------------------------------------------

# cl_stream_start NAME VIP [RATE]: tests/tools/conn_stream.py in the client
# namespace (new connections, RATE a second, default 40); waits until one
# was answered. cl_stream_stop NAME prints its JSON.
cl_stream_start() {
	local name=$1 vip=$2 rate=${3:-40} f="$RIG_TMP/stream-$1"
	rm -f "$f.stop" "$f.ready"
	in_ns "$RIG_NS_C" python3 "$RIG_TOOLS_DIR/conn_stream.py" --vip "$vip" --rate "$rate" \
		--stop-file "$f.stop" --ready-file "$f.ready" >"$f.json" 2>"$f.log" &
	local pid=$!
	RIG_BG_PIDS+=("$pid")
	eval "CL_STREAM_PID_$name=$pid"
	wait_for 30 test -e "$f.ready" || { log "connection stream $name did not start: $(tail -n 3 "$f.log")"; return 1; }
}
cl_stream_stop() {
	local name=$1 f="$RIG_TMP/stream-$1" pid
	eval "pid=\$CL_STREAM_PID_$name"
	touch "$f.stop"
	# Not `wait`: this runs in $(...), a subshell that the stream is no child of.
	timeout 30 tail --pid="$pid" -f /dev/null 2>/dev/null
	cat "$f.json"
}

# cl_now_ms: wall-clock milliseconds (conn_stream.py's timestamps are too).
cl_now_ms() { echo $(($(date +%s%N) / 1000000)); }

# cl_vip_packets K VIP:PORT: packets of that VIP node K's program counted.
cl_vip_packets() {
	cl_lbctl "$1" stats --json | json_get - "[v.get('packets', 0) for v in d['vips'] if v['vip'] == '$2'][0]"
}

# cl_maglev_under_load: the cluster the failover, drain and restart tests
# share. Three nodes serving VIP=$RIG_VIP4:80 (maglev over b1..b3, hash_seed
# 7, config in CL_CONFIG), the router's route to it over 3 next hops, then
# 200 held connections from fixed ports (hold "held") pinged every 0.2 s, a
# stream of 40 new connections a second (stream "new"), and the router's
# route watched (cl_route_watch_start). Dies if any of it can't be set up.
cl_maglev_under_load() {
	VIP=$RIG_VIP4
	CL_CONFIG=$RIG_TMP/cluster.json
	cl_config_write "$CL_CONFIG" 7 "$(cl_vip_json "$VIP:80" maglev "$(rig_b4 1)" "$(rig_b4 2)" "$(rig_b4 3)")"
	cl_start_all || die "cluster did not start"
	cl_wait_ecmp "$VIP" 3 || die "the router has no 3-way ECMP route to $VIP: $(cl_nexthops "$VIP" | tr '\n' ' ')"
	pass "router: $VIP over 3 next hops ($(cl_nexthops "$VIP" | tr '\n' ' '))"
	step "200 held connections (pinged), a stream of new ones"
	sport_alloc 200
	hold_start held "$VIP" 200 --sport-base "$SPORT" --parallel 20 || die "hold did not start"
	log "held by backend: $(hold_by_backend held)"
	cl_stream_start new "$VIP" 40 || die "no stream"
	hold_cmd held ping start 0.2 >/dev/null || fail "ping start"
	cl_route_watch_start "$VIP"
}
