#!/usr/bin/env bash
# scripts/bench_tput.sh: forwarding rate (Mpps) and loss of three forwarders
# on the same veth topology, side by side (issues 5 and 15), for every
# forwarding mode in --modes:
#
#   trivial-xdp  tests/bench/bpf/tput_fwd.bpf.c: that mode's rewrite, towards
#                one fixed backend, with no parsing and no lookup, redirected
#                to the sink: the ceiling of this path for that mode
#                  ipip     push an outer IPv4 header to the backend
#                  l2dsr    rewrite the MACs only (the frame still goes to the VIP)
#                  nat      destination := backend:8080, checksums fixed
#                  fullnat  as nat, and source := S (198.18.2.3)
#   xlb          lbd + a UDP VIP of that mode with --backends backends: parse,
#                VIP and flow lookup, Maglev, next hop, the mode's rewrite,
#                redirect (nat and fullnat backends listen on port 8080)
#   nft-dnat     no XDP; the kernel forwards and nftables DNATs the VIP to the
#                backends (`dnat to jhash ip saddr . udp sport mod N map {...}`),
#                with conntrack, as a user of this kernel would otherwise do
#                it; once per round, compared with xlb's ipip and nat rows
# Each round runs, for each mode, its trivial forwarder then xlb, then nft:
# interleaved, so the figures compared come from the same minutes.
#
# Topology (names carry a random suffix <S>; nothing outside them is touched):
#
#   xlbt-<S>-gen           xlbt-<S>-lb                          xlbt-<S>-sink
#   tg<S> 198.18.1.2 ==veth== ti<S> 198.18.1.1   to<S> 198.18.2.1 ==veth== ts<S> 198.18.2.2
#   trafgen                   forwarder attached on ti<S>          XDP count + drop
#
#   clients 198.18.128.0/17 (source address and port vary per flow), VIP
#   198.18.100.1:80/udp, backends 198.19.0.11.. on-link on to<S> (l2dsr
#   needs its backends to be neighbours), each resolving to the
#   sink's MAC (the sink holds their addresses and answers ARP), so one sink
#   stands in for all backends; fullnat source S
#   198.18.2.3 on to<S>. Each veth has one queue per CPU used: the
#   generator's frames are forwarded and sunk in softirq on the CPU that
#   generated them.
#
# The generator (tests/bench/trafgen.cc) sends 60-byte UDP frames of --flows
# distinct flows for --duration seconds after a --warmup run, one pinned
# thread per CPU. Three generators (--gen; auto takes live frames where the
# kernel allows them, else tc-clone; the output names the one used):
#   live-frames  BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: frames
#                are made and sent in the kernel in batches, no skb, no syscall
#                per frame
#   tc-clone     (--gen clone) for kernels that refuse live frames (EPERM, as
#                this VM's): an AF_PACKET socket sends seed frames (sendmmsg)
#                through the generator veth's stack, where a tc egress program
#                (tests/bench/bpf/tput_clone.bpf.c) turns each seed into 64
#                frames of successive flows with bpf_clone_redirect: one
#                syscall per 64 x batch frames, one skb (and one header copy)
#                per frame, and the forwarder's NAPI gets them in batches
#   af_packet    (--gen packet) AF_PACKET, PACKET_QDISC_BYPASS, sendmmsg of
#                prebuilt frames: one skb per frame, and the forwarder's NAPI
#                polls one frame at a time (each frame is sent with bottom
#                halves disabled only around itself); about half tc-clone's
#                rate per core here, kept for comparison
# sent = frames the generator emitted; received = frames of the expected kind
# counted by the sink (ipip: IP-in-IP to a backend; l2dsr: unchanged to the
# VIP; nat and nft: UDP to a backend from the client; fullnat: UDP to a
# backend from S); loss = 1 - received/sent, which includes frames a veth
# ring could not take.
#
# Mpps/core = received per second of the senders' CPU time: this kernel
# charges the softirq work (forwarder, sink) to the sender thread on whose
# CPU it runs, so the column is the whole pipeline's rate per core and is not
# lowered by other processes taking CPU time (the recv Mpps column is). With
# tc-clone and af_packet it also holds the generator's syscall and skb cost,
# a large and mode-independent share, which pulls every ratio towards 1
# (and the veth's copy of each skb into an XDP frame); so each mode
# also gets
#   net ns/pkt = 1e9 / (xlb Mpps/core * 1e6) - 1e9 / (trivial Mpps/core * 1e6)
# the CPU time per forwarded frame that xlb costs beyond that mode's trivial
# forwarder (the generator's and the sink's share, the same in both, cancels
# out), and, per row, ns/pkt = 1e3 / Mpps/core, the whole pipeline's CPU time
# per received frame.
# The load average is printed with the figures: rerun when it is high.
#
# Usage: scripts/bench_tput.sh [BUILD_DIR] [--json] [--duration S] [--warmup S]
#          [--flows N] [--cpus LIST] [--rounds N] [--backends N] [--only LIST]
#          [--modes LIST] [--gen auto|live|clone|packet] [--size BYTES] [--stateless]
#          [--ring-size M] [--keep]
#   BUILD_DIR  default build/ (needs ctl/lbd/lbd, ctl/lbctl/lbctl and
#              tests/bench/tput/trafgen)
#   --only     comma list of trivial,xlb,nft (default all three)
#   --modes    comma list of ipip,l2dsr,nat,fullnat (default all four)
#   --rounds   runs of all of them, interleaved; the table shows medians (3)
#   --stateless  xlb's VIP keeps no flow state (`"stateless": true`: every
#              packet by the ring); ipip and l2dsr only
#   --ring-size  the VIP's Maglev ring size M (a prime; lbd's default 65537):
#              the ring every new flow, and every packet of a stateless VIP,
#              reads a slot of
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
MODES=ipip,l2dsr,nat,fullnat
GEN=auto
SIZE=60
KEEP=0
STATELESS=0
RING_SIZE= # empty: lbd's default

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
	--modes) MODES=${2:?}; shift ;;
	--gen) GEN=${2:?}; shift ;;
	--size) SIZE=${2:?}; shift ;;
	--keep) KEEP=1 ;;
	--stateless) STATELESS=1 ;;
	--ring-size) RING_SIZE=${2:?}; shift ;;
	-h | --help) usage 0 ;;
	-*) echo "bench_tput: unknown option $1" >&2; usage ;;
	*) BUILD=$1 ;;
	esac
	shift
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$BACKENDS" =~ ^[1-9][0-9]*$ && "$FLOWS" =~ ^[1-9][0-9]*$ ]] || usage
((BACKENDS <= 200)) || { echo "bench_tput: at most 200 backends" >&2; exit 2; }
[[ "$GEN" =~ ^(auto|live|packet|clone)$ ]] || usage
IFS=, read -r -a MODE_LIST <<<"$MODES"
if ((STATELESS)) && [[ ",$MODES," == *,nat,* || ",$MODES," == *,fullnat,* ]]; then
	echo "bench_tput: --stateless is for ipip and l2dsr (give --modes ipip,l2dsr)" >&2
	exit 2
fi
((${#MODE_LIST[@]})) || usage
[[ -z $RING_SIZE || $RING_SIZE =~ ^[1-9][0-9]*$ ]] || { echo "bench_tput: --ring-size takes a number (a prime)" >&2; exit 2; }
for m in "${MODE_LIST[@]}"; do [[ "$m" =~ ^(ipip|l2dsr|nat|fullnat)$ ]] || { echo "bench_tput: unknown mode $m" >&2; exit 2; }; done

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
# Live-frames test runs, which some kernels refuse: then the AF_PACKET
# generator (trafgen --gen auto decides the same way; this is for the log).
if PROBE=$("$TRAFGEN" --probe 2>&1); then GEN_USED=live-frames; else GEN_USED=tc-clone; fi
case $GEN in
live) [[ $GEN_USED == live-frames ]] || skip "${PROBE:-trafgen --probe failed} (--gen live)" ;;
packet) GEN_USED=af_packet ;;
clone) GEN_USED=tc-clone ;;
esac
[[ $GEN_USED == live-frames ]] || log "generator: $GEN_USED (${PROBE:-live frames not used})"
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
BPORT=8080       # nat and fullnat backends' port
SNAT=198.18.2.3  # fullnat source S
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
# XPS: a frame sent through the generator's stack (tc-clone) leaves by the
# queue of its CPU, so the forwarder's NAPI for it runs on that CPU too
# (AF_PACKET with qdisc bypass and live frames pick the CPU's queue anyway).
for ((q = 0; q < NQ; q++)); do
	ip netns exec "$NS_GEN" sh -c "printf '%x' $((1 << q)) >/sys/class/net/$IF_GEN/queues/tx-$q/xps_cpus" ||
		die "cannot set XPS on $IF_GEN"
done
MAC_GEN=$(mac_of "$NS_GEN" "$IF_GEN")
MAC_IN=$(mac_of "$NS_LB" "$IF_IN")
MAC_SINK=$(mac_of "$NS_SINK" "$IF_SINK")
{
	# The LB routes clients back to the generator and the backends to the
	# sink; permanent neighbours, so neither XDP's fib lookup nor the kernel
	# ever waits for ARP.
	# Backends on-link (l2dsr refuses gateway-routed ones), all with the
	# sink's MAC.
	ip -n "$NS_LB" route add 198.18.128.0/17 via 198.18.1.2 dev "$IF_IN" &&
		ip -n "$NS_LB" route add 198.19.0.0/24 dev "$IF_OUT" &&
		ip -n "$NS_LB" addr add "$SNAT/32" dev "$IF_OUT" &&
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
# The sink's kernel holds the backend addresses, so it answers ARP for them
# (its XDP program passes ARP): lbd keeps the backends' neighbour entries
# itself, as kernel-resolved "managed" entries, and the kernel resolves them
# for nft-dnat. (Pinning them here would work too since lbd leaves static
# entries alone; resolving them the way a real network does tests more.)
for b in "${BACKEND_ADDRS[@]}"; do
	ip -n "$NS_SINK" addr add "$b/32" dev "$IF_SINK" || die "cannot add the backend address $b to the sink"
done

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
		--duration "$DURATION" --warmup "$WARMUP" --expect "$expect" --label "$label" \
		--gen "$GEN" --snat-src "$SNAT" "$@" \
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

# What the sink counts as forwarded, per mode.
expect_of() {
	case $1 in
	ipip) echo ipip ;;
	l2dsr) echo vip ;;
	nat) echo backend ;;
	fullnat) echo fullnat ;;
	esac
}
port_of() { case $1 in nat | fullnat) echo "$BPORT" ;; *) echo "$VPORT" ;; esac; }

run_trivial() {
	local mode=$1
	trafgen_run trivial-xdp "$(expect_of "$mode")" --fwd-ns "$NS_LB" --fwd-in "$IF_IN" --fwd-out "$IF_OUT" \
		--fwd-mode "$mode" --backend "${BACKEND_ADDRS[0]}" --backend-port "$(port_of "$mode")" --outer-src 198.18.2.1
}

# One VIP of MODE with every backend, through `lbctl apply` (the fullnat
# source exists only in the config).
xlb_config() {
	python3 - "$1" "$VIP:$VPORT" "$(port_of "$1")" "$SNAT" "$STATELESS" "$RING_SIZE" "${BACKEND_ADDRS[@]}" <<'PY'
import json, sys
mode, vip, port, snat, stateless, ring_size = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1", sys.argv[6]
backends = sys.argv[7:]
be = [{"address": b, "port": port} if mode in ("nat", "fullnat") else {"address": b} for b in backends]
cfg = {"vips": [{"vip": vip, "proto": "udp", "mode": mode, "backends": be}]}
if stateless:
    cfg["vips"][0]["stateless"] = True
if ring_size:
    cfg["vips"][0]["ring_size"] = int(ring_size)
if mode == "fullnat":
    cfg["fullnat"] = {"source_v4": snat, "port_min": 10000, "port_max": 65000}
print(json.dumps(cfg))
PY
}

run_xlb() {
	local mode=$1
	nsenter --net="/run/netns/$NS_LB" -- "$LBD" --iface "$IF_IN" --socket "$SOCK" --pin-root "$PIN_ROOT" \
		--xdp-mode native >>"$TMP/lbd.log" 2>&1 </dev/null &
	LBD_PID=$!
	local deadline=$((SECONDS + 15))
	until lbctl_ status >/dev/null 2>&1; do
		kill -0 "$LBD_PID" 2>/dev/null || { tail -n 20 "$TMP/lbd.log" >&2; die "lbd exited during start"; }
		((SECONDS < deadline)) || die "lbd did not answer within 15 s"
		sleep 0.1
	done
	xlb_config "$mode" >"$TMP/xlb.json" || die "config builder failed"
	lbctl_ apply -f "$TMP/xlb.json" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out" >&2; die "lbctl apply ($mode) failed"; }
	lbctl_ stats --json >"$TMP/xlb-stats-0.json" || die "lbctl stats failed"
	trafgen_run xlb "$(expect_of "$mode")" || return 1
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
# run_one ROUND FORWARDER [MODE]
run_one() {
	log "round $1/$ROUNDS: $2${3:+ $3} (${WARMUP}s warm-up + ${DURATION}s, load $(cut -d' ' -f1 /proc/loadavg))"
	"run_$2" ${3:+"$3"} || die "$2${3:+ $3} run failed"
	add_field round "$1"
	add_field mode "\"${3:-}\""
	add_field load1 "$(cut -d' ' -f1 /proc/loadavg)"
	cat "$TMP/line" >>"$RESULTS"
}
for ((r = 1; r <= ROUNDS; r++)); do
	for m in "${MODE_LIST[@]}"; do
		for f in trivial xlb; do
			if [[ ",$ONLY," == *",$f,"* ]]; then run_one "$r" "$f" "$m"; fi
		done
	done
	if [[ ",$ONLY," == *",nft,"* ]]; then run_one "$r" nft; fi
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$RESULTS" "$JSON" "$LOAD_BEFORE" "$LOAD_AFTER" "$CPUS" "$FLOWS" "$SIZE" "$BACKENDS" "$DURATION" "$GEN_USED" "$MODES" "$STATELESS" "$RING_SIZE" <<'EOF'
import json, statistics, sys
path, as_json, load0, load1, cpus, flows, size, backends, duration, gen, modes, stateless, ring_size = sys.argv[1:]
modes = modes.split(",")
runs = [json.loads(l) for l in open(path) if l.strip()]
KEYS = ("sent_mpps", "recv_mpps", "loss_pct", "recv_mpps_per_core")
def med(rs, k):
    v = [r[k] for r in rs]
    return statistics.median(v) if v else None
def stats(rs):
    d = {k: med(rs, k) for k in KEYS}
    pc = d["recv_mpps_per_core"]
    d["ns_per_pkt"] = round(1e3 / pc, 1) if pc else None  # whole pipeline's CPU ns per received frame
    d["rounds_recv_mpps"] = [r["recv_mpps"] for r in rs]
    return d
summary = {"summary": True, "generator": gen, "cpus": cpus, "flows": int(flows), "frame_bytes": int(size),
           "backends": int(backends), "duration_s": float(duration), "stateless": stateless == "1",
           "ring_size": int(ring_size) if ring_size else None, "rounds": max((r["round"] for r in runs), default=0),
           "load_before": load0, "load_after": load1, "modes": {}}
nft = [r for r in runs if r["forwarder"] == "nft-dnat"]
if nft:
    summary["nft-dnat"] = stats(nft)
for m in modes:
    row = {}
    for f in ("trivial-xdp", "xlb"):
        rs = [r for r in runs if r["forwarder"] == f and r.get("mode") == m]
        if rs:
            row[f] = stats(rs)
    t, x = row.get("trivial-xdp"), row.get("xlb")
    if t and x:
        if t["recv_mpps"]:
            row["xlb_vs_trivial_pct"] = round(100.0 * x["recv_mpps"] / t["recv_mpps"], 1)
        if t["recv_mpps_per_core"] and x["recv_mpps_per_core"]:
            row["xlb_vs_trivial_pct_per_core"] = round(100.0 * x["recv_mpps_per_core"] / t["recv_mpps_per_core"], 1)
            # CPU time per frame that xlb costs beyond this mode's trivial forwarder.
            row["net_ns_per_pkt"] = round(1e3 / x["recv_mpps_per_core"] - 1e3 / t["recv_mpps_per_core"], 1)
    if x and nft and m in ("ipip", "nat"):
        n = summary["nft-dnat"]
        if n["recv_mpps"]:
            row["xlb_vs_nft_x"] = round(x["recv_mpps"] / n["recv_mpps"], 2)
        if n["recv_mpps_per_core"] and x["recv_mpps_per_core"]:
            row["xlb_vs_nft_x_per_core"] = round(x["recv_mpps_per_core"] / n["recv_mpps_per_core"], 2)
    if row:
        summary["modes"][m] = row
if as_json == "1":
    for r in runs:
        print(json.dumps(r, separators=(",", ":")))
    print(json.dumps(summary, separators=(",", ":")))
    sys.exit(0)
def fmt(v, spec):
    return format(v, spec) if v is not None else "-"
print(f"generator {gen}; CPUs {cpus}, {flows} flows, {size}-byte frames, {backends} backends"
      f"{' (stateless VIP)' if stateless == '1' else ''}{f', ring size {ring_size}' if ring_size else ''},"
      f" {duration} s per run,"
      f" median of {summary['rounds']} round(s); load before {load0}, after {load1}")
print(f"{'mode':<8} {'forwarder':<12} {'sent Mpps':>10} {'recv Mpps':>10} {'loss %':>7} {'Mpps/core':>10} {'ns/pkt':>7}"
      f"   per round (recv Mpps)")
def line(mode, f, d):
    rounds = " ".join(f"{v:.2f}" for v in d["rounds_recv_mpps"])
    print(f"{mode:<8} {f:<12} {d['sent_mpps']:>10.2f} {d['recv_mpps']:>10.2f} {d['loss_pct']:>7.2f}"
          f" {d['recv_mpps_per_core']:>10.2f} {fmt(d['ns_per_pkt'], '.0f'):>7}   {rounds}")
for m, row in summary["modes"].items():
    for f in ("trivial-xdp", "xlb"):
        if f in row:
            line(m, f, row[f])
if nft:
    line("-", "nft-dnat", summary["nft-dnat"])
print()
print(f"{'mode':<8} {'trivial Mpps/core':>17} {'xlb Mpps/core':>14} {'xlb/trivial':>12} {'net ns/pkt':>11} {'xlb/nft':>8}")
for m, row in summary["modes"].items():
    t, x = row.get("trivial-xdp"), row.get("xlb")
    pct = row.get("xlb_vs_trivial_pct_per_core")
    nx = row.get("xlb_vs_nft_x_per_core")
    print(f"{m:<8} {fmt(t and t['recv_mpps_per_core'], '.2f'):>17} {fmt(x and x['recv_mpps_per_core'], '.2f'):>14}"
          f" {(fmt(pct, '.1f') + ' %') if pct is not None else '-':>12} {fmt(row.get('net_ns_per_pkt'), '.0f'):>11}"
          f" {(fmt(nx, '.2f') + ' x') if nx is not None else '-':>8}")
print("(Mpps/core: received per second of the senders' CPU time, which includes the forwarding and sink")
print(" softirq work on their CPUs" + (" and, with " + gen + ", the generator's syscalls and skbs" if gen != "live-frames" else "") +
      "; ns/pkt = 1e3 / Mpps/core; net ns/pkt = xlb's ns/pkt - trivial's: xlb's own cost per frame;")
print(" targets: xlb/trivial per core >= 85 %, xlb/nft per core >= 5 x)")
EOF
