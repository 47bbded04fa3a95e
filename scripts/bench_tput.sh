#!/usr/bin/env bash
# scripts/bench_tput.sh: forwarding rate (Mpps) and loss of three forwarders
# on the same veth topology, side by side (issue 5):
#
#   trivial-xdp  an XDP program that only rewrites the MACs and redirects every
#                frame to the sink: the ceiling of this path
#   xlb          lbd + a UDP VIP with --backends backends: parse, VIP and flow
#                lookup, Maglev, fib lookup, IP-in-IP encapsulation, redirect
#   nft-dnat     no XDP; the kernel forwards and nftables DNATs the VIP to the
#                backends (`dnat to jhash ip saddr . udp sport mod N map {...}`),
#                with conntrack, as a user of this kernel would otherwise do it
#
# Topology (names carry a random suffix <S>; nothing outside them is touched):
#
#   xlbt-<S>-gen           xlbt-<S>-lb                          xlbt-<S>-sink
#   tg<S> 198.18.1.2 ==veth== ti<S> 198.18.1.1   to<S> 198.18.2.1 ==veth== ts<S> 198.18.2.2
#   trafgen (live frames)     forwarder attached on ti<S>          XDP count + drop
#
#   clients 198.18.128.0/17 (source address and port vary per flow), VIP
#   198.18.100.1:80/udp, backends 198.19.0.11.. routed via 198.18.2.2 (a
#   permanent neighbour: the sink's MAC), so one sink stands in for all
#   backends. Each veth has one queue per CPU used: the generator's frames are
#   forwarded and sunk in softirq on the CPU that generated them.
#
# The generator (tests/bench/trafgen.cc) sends 60-byte UDP frames of --flows
# distinct flows for --duration seconds after a --warmup run. sent = frames
# the generator emitted; received = frames of the expected kind counted by
# the sink (unchanged to the VIP, IP-in-IP to a backend, DNATed to a
# backend); loss = 1 - received/sent, which includes frames a veth ring could
# not take. Mpps/core = received per second of the senders' CPU time: this
# kernel charges the softirq work (forwarder, sink) to the sender thread on
# whose CPU it runs, so the column is the whole pipeline's rate per core and
# is not lowered by other processes taking CPU time (the recv Mpps column is).
# The load average is printed with the figures: rerun when it is high.
#
# Usage: scripts/bench_tput.sh [BUILD_DIR] [--json] [--duration S] [--warmup S]
#          [--flows N] [--cpus LIST] [--rounds N] [--backends N] [--only LIST]
#          [--size BYTES] [--keep]
#   BUILD_DIR  default build/ (needs ctl/lbd/lbd, ctl/lbctl/lbctl and
#              tests/bench/tput/trafgen)
#   --only     comma list of trivial,xlb,nft (default all three)
#   --rounds   runs of the three, interleaved; the table shows medians (3)
#   --json     JSON lines on stdout instead of the table (one per run, then a summary)
#   --keep     leave the topology up for inspection (prints how to remove it)
# Exit: 0 done, 1 error, 2 bad usage, 77 not root / not built / no netns.
set -u -o pipefail

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=
JSON=0
DURATION=5
WARMUP=1
FLOWS=65536
CPUS=
ROUNDS=3
BACKENDS=8
ONLY=trivial,xlb,nft
SIZE=60
KEEP=0

usage() { sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }
while (($#)); do
	case $1 in
	--json) JSON=1 ;;
	--duration) DURATION=${2:?}; shift ;;
	--warmup) WARMUP=${2:?}; shift ;;
	--flows) FLOWS=${2:?}; shift ;;
	--cpus) CPUS=${2:?}; shift ;;
	--rounds) ROUNDS=${2:?}; shift ;;
	--backends) BACKENDS=${2:?}; shift ;;
	--only) ONLY=${2:?}; shift ;;
	--size) SIZE=${2:?}; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) usage 0 ;;
	-*) echo "bench_tput: unknown option $1" >&2; usage ;;
	*) BUILD=$1 ;;
	esac
	shift
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$BACKENDS" =~ ^[1-9][0-9]*$ && "$FLOWS" =~ ^[1-9][0-9]*$ ]] || usage
((BACKENDS <= 200)) || { echo "bench_tput: at most 200 backends" >&2; exit 2; }

log() { printf '[bench_tput] %s\n' "$*" >&2; }
skip() { log "SKIP: $*"; exit 77; }
die() { log "ERROR: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces, XDP, BPF_PROG_TEST_RUN)"
for c in ip ethtool nft nsenter python3; do command -v "$c" >/dev/null || skip "$c not installed"; done
BUILD=$(cd "${BUILD:-$SRC_DIR/build}" 2>/dev/null && pwd) || skip "build dir ${BUILD:-$SRC_DIR/build} does not exist"
LBD="$BUILD/ctl/lbd/lbd"
LBCTL="$BUILD/ctl/lbctl/lbctl"
TRAFGEN="$BUILD/tests/bench/tput/trafgen"
for b in "$LBD" "$LBCTL" "$TRAFGEN"; do [[ -x "$b" ]] || skip "$b not built"; done
# The generator needs live-frames test runs, which some kernels refuse.
PROBE=$("$TRAFGEN" --probe 2>&1) || skip "${PROBE:-trafgen --probe failed}"
if ! mountpoint -q /sys/fs/bpf; then mount -t bpf bpf /sys/fs/bpf || skip "cannot mount bpffs"; fi

if [[ -z "$CPUS" ]]; then CPUS="0-$(($(nproc) - 1))"; fi
# one veth queue per CPU id up to the highest used (the rx queue is cpu % queues)
MAXCPU=$(python3 -c 'import sys; print(max(int(x) for it in sys.argv[1].split(",") for x in it.split("-")))' "$CPUS") || usage
NQ=$((MAXCPU + 1))

S=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NS_GEN="xlbt-$S-gen"
NS_LB="xlbt-$S-lb"
NS_SINK="xlbt-$S-sink"
IF_GEN="tg$S"
IF_IN="ti$S"
IF_OUT="to$S"
IF_SINK="ts$S"
PIN_ROOT="/sys/fs/bpf/xlb-tput-$S"
TMP=$(mktemp -d "/tmp/xlb-tput-$S.XXXXXX")
SOCK="$TMP/lbd.sock"
VIP=198.18.100.1
VPORT=80
LBD_PID=
TG_PID=

lbctl_() { nsenter --net="/run/netns/$NS_LB" -- "$LBCTL" --socket "$SOCK" "$@"; }
in_lb() { ip netns exec "$NS_LB" "$@"; }

lbd_stop() {
	[[ -n "$LBD_PID" ]] || return 0
	if kill -0 "$LBD_PID" 2>/dev/null; then
		timeout 10 "$LBCTL" --socket "$SOCK" detach >/dev/null 2>&1
		local deadline=$((SECONDS + 5))
		while kill -0 "$LBD_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
		kill -9 "$LBD_PID" 2>/dev/null
	fi
	{ wait "$LBD_PID"; } 2>/dev/null
	LBD_PID=
	# Whatever lbd left (killed before it could detach): detach by hand.
	if [[ -e "/run/netns/$NS_LB" ]] && { [[ -d "$PIN_ROOT/$IF_IN" ]] || ip -n "$NS_LB" link show "$IF_IN" 2>/dev/null | grep -q 'prog/xdp'; }; then
		timeout 10 nsenter --net="/run/netns/$NS_LB" -- "$LBD" --detach "$IF_IN" --pin-root "$PIN_ROOT" >/dev/null 2>&1
	fi
}

teardown() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM
	set +e
	if ((KEEP)); then
		log "--keep: left up: namespaces $NS_GEN $NS_LB $NS_SINK, pins $PIN_ROOT, $TMP"
		log "remove with: ip netns del $NS_GEN; ip netns del $NS_LB; ip netns del $NS_SINK; rm -rf $PIN_ROOT $TMP"
		return "$rc"
	fi
	if [[ -n "$TG_PID" ]]; then kill "$TG_PID" 2>/dev/null; { wait "$TG_PID"; } 2>/dev/null; fi
	if ((rc != 0)) && [[ -s "$TMP/lbd.log" ]]; then
		log "last lines of lbd's log:"
		tail -n 10 "$TMP/lbd.log" | sed 's/^/    /' >&2
	fi
	lbd_stop
	local n pid
	for n in "$NS_GEN" "$NS_LB" "$NS_SINK"; do
		[[ -e "/run/netns/$n" ]] || continue
		for pid in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$n" 2>/dev/null || log "warning: cannot delete namespace $n"
	done
	[[ -e "$PIN_ROOT" ]] && rm -rf "$PIN_ROOT"
	[[ -d "$TMP" && "$TMP" == /tmp/xlb-tput-* ]] && rm -rf "$TMP"
	return "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- topology -----------------------------------------------------------------

mac_of() { ip -n "$1" -j link show "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'; }

if ! { ip netns add "$NS_GEN" && ip netns add "$NS_LB" && ip netns add "$NS_SINK"; }; then
	skip "cannot create network namespaces"
fi
{
	ip -n "$NS_GEN" link add "$IF_GEN" numtxqueues "$NQ" numrxqueues "$NQ" type veth \
		peer name "$IF_IN" netns "$NS_LB" numtxqueues "$NQ" numrxqueues "$NQ" &&
		ip -n "$NS_LB" link add "$IF_OUT" numtxqueues "$NQ" numrxqueues "$NQ" type veth \
			peer name "$IF_SINK" netns "$NS_SINK" numtxqueues "$NQ" numrxqueues "$NQ" &&
		ip -n "$NS_GEN" addr add 198.18.1.2/24 dev "$IF_GEN" &&
		ip -n "$NS_LB" addr add 198.18.1.1/24 dev "$IF_IN" &&
		ip -n "$NS_LB" addr add 198.18.2.1/24 dev "$IF_OUT" &&
		ip -n "$NS_SINK" addr add 198.18.2.2/24 dev "$IF_SINK" &&
		ip -n "$NS_GEN" link set lo up && ip -n "$NS_LB" link set lo up && ip -n "$NS_SINK" link set lo up &&
		ip -n "$NS_GEN" link set "$IF_GEN" up &&
		ip -n "$NS_LB" link set "$IF_IN" up &&
		ip -n "$NS_LB" link set "$IF_OUT" up &&
		ip -n "$NS_SINK" link set "$IF_SINK" up
} || die "cannot build the veth topology"
MAC_GEN=$(mac_of "$NS_GEN" "$IF_GEN")
MAC_IN=$(mac_of "$NS_LB" "$IF_IN")
MAC_SINK=$(mac_of "$NS_SINK" "$IF_SINK")
{
	# The LB routes clients back to the generator and the backends to the
	# sink; permanent neighbours, so neither XDP's fib lookup nor the kernel
	# ever waits for ARP.
	ip -n "$NS_LB" route add 198.18.128.0/17 via 198.18.1.2 dev "$IF_IN" &&
		ip -n "$NS_LB" route add 198.19.0.0/24 via 198.18.2.2 dev "$IF_OUT" &&
		ip -n "$NS_LB" neigh replace 198.18.1.2 lladdr "$MAC_GEN" dev "$IF_IN" nud permanent &&
		ip -n "$NS_LB" neigh replace 198.18.2.2 lladdr "$MAC_SINK" dev "$IF_OUT" nud permanent &&
		in_lb sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.forwarding=1 \
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
			"net.ipv4.conf.$IF_IN.rp_filter=0" "net.ipv4.conf.$IF_OUT.rp_filter=0" >/dev/null &&
		# Kernel-sent frames (nft-dnat forwards through to<S>) get full checksums.
		in_lb ethtool -K "$IF_OUT" tx off >/dev/null &&
		in_lb ethtool -K "$IF_IN" tx off >/dev/null &&
		in_lb ethtool -K "$IF_IN" gro off >/dev/null
} || die "cannot configure the LB namespace"
log "topology $S: $NS_GEN/$IF_GEN -> $NS_LB/$IF_IN,$IF_OUT -> $NS_SINK/$IF_SINK; $NQ queue(s) per veth, CPUs $CPUS"

BACKEND_ADDRS=()
for ((i = 1; i <= BACKENDS; i++)); do BACKEND_ADDRS+=("198.19.0.$((10 + i))"); done

# The run_* functions and trafgen_run run in this shell, never in a $(...)
# subshell, so that LBD_PID and TG_PID stay visible to the EXIT trap; they
# leave their JSON line in $TMP/line.

# trafgen_run LABEL EXPECT [extra trafgen args]: one measurement -> $TMP/line.
trafgen_run() {
	local label=$1 expect=$2
	shift 2
	"$TRAFGEN" --gen-ns "$NS_GEN" --gen-if "$IF_GEN" --dst-mac "$MAC_IN" \
		--sink-ns "$NS_SINK" --sink-if "$IF_SINK" --backend-net 198.19.0.0/24 \
		--dst "$VIP" --dport "$VPORT" --flows "$FLOWS" --size "$SIZE" --cpus "$CPUS" \
		--duration "$DURATION" --warmup "$WARMUP" --expect "$expect" --label "$label" "$@" \
		>"$TMP/tg.out" 2>"$TMP/tg.err" &
	TG_PID=$!
	wait "$TG_PID"
	local rc=$?
	TG_PID=
	if ((rc != 0)); then
		log "trafgen ($label) failed (exit $rc):"
		sed 's/^/    /' "$TMP/tg.err" >&2
		return 1
	fi
	cp "$TMP/tg.out" "$TMP/line"
}

# add_field NAME JSON: adds a field to the JSON line in $TMP/line.
add_field() {
	python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read()); d[sys.argv[2]]=json.loads(sys.argv[3]); print(json.dumps(d, separators=(",", ":")))' \
		"$TMP/line" "$1" "$2" >"$TMP/line.new" && mv "$TMP/line.new" "$TMP/line"
}

# ---- the three forwarders -------------------------------------------------------

run_trivial() {
	trafgen_run trivial-xdp vip --fwd-ns "$NS_LB" --fwd-in "$IF_IN" --fwd-out "$IF_OUT"
}

run_xlb() {
	local b
	nsenter --net="/run/netns/$NS_LB" -- "$LBD" --iface "$IF_IN" --socket "$SOCK" --pin-root "$PIN_ROOT" \
		--xdp-mode native >>"$TMP/lbd.log" 2>&1 </dev/null &
	LBD_PID=$!
	local deadline=$((SECONDS + 15))
	until lbctl_ status >/dev/null 2>&1; do
		kill -0 "$LBD_PID" 2>/dev/null || { tail -n 20 "$TMP/lbd.log" >&2; die "lbd exited during start"; }
		((SECONDS < deadline)) || die "lbd did not answer within 15 s"
		sleep 0.1
	done
	lbctl_ add-vip "$VIP:$VPORT" --proto udp >/dev/null || die "lbctl add-vip failed"
	for b in "${BACKEND_ADDRS[@]}"; do
		lbctl_ add-backend "$VIP:$VPORT" --proto udp "$b" >/dev/null || die "lbctl add-backend $b failed"
	done
	lbctl_ stats --json >"$TMP/xlb-stats-0.json" || die "lbctl stats failed"
	trafgen_run xlb ipip || return 1
	lbctl_ stats --json >"$TMP/xlb-stats-1.json" || die "lbctl stats failed"
	# xlb's own view of the run (drop reasons), for the analysis in --json.
	local drops
	drops=$(python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
g = {k: b["global"][k].get("packets", 0) - a["global"].get(k, {}).get("packets", 0) for k in b["global"]}
print(json.dumps({k: v for k, v in g.items() if v}))' "$TMP/xlb-stats-0.json" "$TMP/xlb-stats-1.json") || drops='{}'
	lbd_stop
	add_field xlb_counters "$drops"
}

run_nft() {
	local map="" i
	for ((i = 0; i < BACKENDS; i++)); do map+="${map:+, }$i : ${BACKEND_ADDRS[$i]}"; done
	# Without XDP, a veth only takes redirected (XDP_TX'd) frames when it has
	# NAPI, i.e. GRO on.
	in_lb ethtool -K "$IF_IN" gro on >/dev/null || die "ethtool gro on failed"
	in_lb nft -f - <<-EOF || die "nft ruleset failed"
		table ip xlbtput {
			chain prerouting {
				type nat hook prerouting priority dstnat; policy accept;
				ip daddr $VIP udp dport $VPORT dnat to jhash ip saddr . udp sport mod $BACKENDS map { $map }
			}
		}
	EOF
	trafgen_run nft-dnat backend
	local rc=$?
	local ct
	ct=$(in_lb cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo null)
	in_lb nft delete table ip xlbtput
	in_lb ethtool -K "$IF_IN" gro off >/dev/null
	((rc == 0)) || return 1
	add_field conntrack_entries "$ct"
}

# ---- run --------------------------------------------------------------------------

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
RESULTS="$TMP/results.jsonl"
: >"$RESULTS"
for ((r = 1; r <= ROUNDS; r++)); do
	for f in trivial xlb nft; do
		[[ ",$ONLY," == *",$f,"* ]] || continue
		log "round $r/$ROUNDS: $f (${WARMUP}s warm-up + ${DURATION}s, load $(cut -d' ' -f1 /proc/loadavg))"
		"run_$f" || die "$f run failed"
		add_field round "$r"
		add_field load1 "$(cut -d' ' -f1 /proc/loadavg)"
		cat "$TMP/line" >>"$RESULTS"
	done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$RESULTS" "$JSON" "$LOAD_BEFORE" "$LOAD_AFTER" "$CPUS" "$FLOWS" "$SIZE" "$BACKENDS" "$DURATION" <<'EOF'
import json, statistics, sys
path, as_json, load0, load1, cpus, flows, size, backends, duration = sys.argv[1:]
runs = [json.loads(l) for l in open(path) if l.strip()]
order = ["trivial-xdp", "xlb", "nft-dnat"]
by = {f: [r for r in runs if r["forwarder"] == f] for f in order}
def med(f, k):
    v = [r[k] for r in by[f]]
    return statistics.median(v) if v else None
summary = {"summary": True, "cpus": cpus, "flows": int(flows), "frame_bytes": int(size),
           "backends": int(backends), "duration_s": float(duration),
           "rounds": max((len(v) for v in by.values()), default=0),
           "load_before": load0, "load_after": load1}
for f in order:
    if by[f]:
        summary[f] = {k: med(f, k) for k in ("sent_mpps", "recv_mpps", "loss_pct", "recv_mpps_per_core")}
for key, suffix in (("recv_mpps", ""), ("recv_mpps_per_core", "_per_core")):
    t, x, n = med("trivial-xdp", key), med("xlb", key), med("nft-dnat", key)
    if t and x is not None:
        summary["xlb_vs_trivial_pct" + suffix] = round(100.0 * x / t, 1)
    if n and x is not None:
        summary["xlb_vs_nft_x" + suffix] = round(x / n, 2)
if as_json == "1":
    for r in runs:
        print(json.dumps(r, separators=(",", ":")))
    print(json.dumps(summary, separators=(",", ":")))
    sys.exit(0)
print(f"CPUs {cpus}, {flows} flows, {size}-byte frames, {backends} backends, {duration} s per run,"
      f" median of {summary['rounds']} round(s); load before {load0}, after {load1}")
print(f"{'forwarder':<12} {'sent Mpps':>10} {'recv Mpps':>10} {'loss %':>8} {'Mpps/core':>10}   per round (recv Mpps)")
for f in order:
    if not by[f]:
        continue
    rounds = " ".join(f"{r['recv_mpps']:.2f}" for r in by[f])
    print(f"{f:<12} {med(f, 'sent_mpps'):>10.2f} {med(f, 'recv_mpps'):>10.2f} {med(f, 'loss_pct'):>8.2f}"
          f" {med(f, 'recv_mpps_per_core'):>10.2f}   {rounds}")
print("(Mpps/core: received per second of the senders' CPU time, which includes the forwarding and")
print(" sink softirq work on their CPUs; unlike recv Mpps it is not lowered by other load)")
if "xlb_vs_trivial_pct" in summary:
    print(f"xlb / trivial-xdp: {summary['xlb_vs_trivial_pct']:.1f} %  per core {summary['xlb_vs_trivial_pct_per_core']:.1f} %  (target >= 85 %)")
if "xlb_vs_nft_x" in summary:
    print(f"xlb / nft-dnat:    {summary['xlb_vs_nft_x']:.2f} x  per core {summary['xlb_vs_nft_x_per_core']:.2f} x  (target >= 5 x)")
EOF
