#!/usr/bin/env bash
# xlb against Katran's XDP balancer, per packet, measured the same way in one
# run. Builds Katran's balancer object from a checkout you provide (its
# katran/lib/bpf/balancer.bpf.c, balancer_kern.c in older ones) with clang
# -target bpf, the flags of Katran's katran/lib/Makefile-bpf and its default
# features, and MAX_CONN_RATE raised so that no SYN of the bench takes its
# "under flood" path (which skips the LRU insert). Then ROUNDS interleaved
# rounds, both on CPU 1 (XLB_BENCH_CPU=N for another): xlb_katran_bench (Katran's object, its maps filled as
# KatranLb fills them) and xlb_xdp_bench, each on the same four paths with the
# same method: BPF_PROG_TEST_RUN, one frame per run, the kernel's run-time
# statistics, a trivial XDP_TX program subtracted, byte-identical frames.
# Prints per path the median net ns of each and xlb/Katran (of the medians).
# Both programs' checks (verdicts, output frames, LRU hits and misses) must
# pass or the run fails. Katran is never needed by the tests.
#
#   scripts/bench_katran.sh KATRAN_SRC [BUILD_DIR] [--rounds N] [--runs N] [--json]
#
# BUILD_DIR: xlb's build (default build/), with xlb_katran_bench and
# xlb_xdp_bench built. --rounds: 16 by default; --runs: runs per path in each
# round (default 20000). --json: one line per path, {"name", "katran_net_ns",
# "xlb_net_ns", "rounds"}, and one with both programs' sizes after
# verification. Exit 77 (skip) without root, without the checkout, or when
# clang cannot build it; 1 when a check or a run fails.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KATRAN=""
BUILD=""
ROUNDS=16
RUNS=20000
JSON=0
usage() { echo "usage: scripts/bench_katran.sh KATRAN_SRC [BUILD_DIR] [--rounds N] [--runs N] [--json]" >&2; exit 2; }
while (($#)); do
	case $1 in
	--rounds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; ROUNDS=$2; shift ;;
	--runs) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; RUNS=$2; shift ;;
	--json) JSON=1 ;;
	-*) usage ;;
	*) if [[ -z $KATRAN ]]; then KATRAN=$1; elif [[ -z $BUILD ]]; then BUILD=$1; else usage; fi ;;
	esac
	shift
done
[[ -n $KATRAN ]] || usage
BUILD=${BUILD:-$ROOT/build}
log() { echo "[bench_katran] $*" >&2; }
skip() { log "SKIP: $*"; exit 77; }

[[ $(id -u) -eq 0 ]] || skip "needs root (BPF)"
[[ -d $KATRAN ]] || skip "no Katran checkout at $KATRAN"
KATRAN=$(cd "$KATRAN" && pwd)
src=$KATRAN/katran/lib/bpf/balancer.bpf.c
[[ -f $src ]] || src=$KATRAN/katran/lib/bpf/balancer_kern.c # older checkouts
[[ -f $src ]] || skip "$KATRAN has no katran/lib/bpf/balancer.bpf.c or balancer_kern.c"
command -v clang >/dev/null || skip "no clang to build Katran's balancer"
KBENCH=$BUILD/tests/bench/xlb_katran_bench
XBENCH=$BUILD/tests/bench/xlb_xdp_bench
for b in "$KBENCH" "$XBENCH"; do
	[[ -x $b ]] || { log "no $b: build xlb first (make -C $BUILD xlb_katran_bench xlb_xdp_bench)"; exit 1; }
done

TMP=$(mktemp -d /tmp/xlb-katran.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# An empty gnu/stubs-32.h lets glibc's headers, which Katran includes,
# compile under -target bpf.
mkdir -p "$TMP/stub/gnu" && : >"$TMP/stub/gnu/stubs-32.h"
OBJ=$TMP/balancer.bpf.o
# Katran's katran/lib/Makefile-bpf: -O2 -g -DDEBUG -D__KERNEL__, its -Wno-*,
# its include layout; its default new-connection limit (125,000 per second
# per CPU) raised far above what the bench sends.
if ! clang -O2 -g -target bpf -I"$KATRAN" -I"$KATRAN/katran/lib/linux_includes" -DDEBUG -D__KERNEL__ \
	-DMAX_CONN_RATE=4000000000ULL -Wno-unused-value -Wno-pointer-sign -Wno-compare-distinct-pointer-types \
	-I"$TMP/stub" -I"/usr/include/$(uname -m)-linux-gnu" -c "$src" -o "$OBJ" 2>"$TMP/clang.log"; then
	tail -n 20 "$TMP/clang.log" >&2
	skip "clang cannot build $src"
fi
log "built $OBJ from $src"

# Sizes after verification (cheap: one load each).
: >"$TMP/sizes"
if k=$("$KBENCH" "$OBJ" --info --json) && x=$("$KBENCH" "$BUILD/bpf/lb.bpf.o" --info --json 2>/dev/null); then
	echo "{\"katran_object\": $k, \"xlb_object\": $x}" >"$TMP/sizes"
fi

# CPU 1 by default, away from most interrupts; XLB_BENCH_CPU picks another
# (on some VMs one vCPU runs much slower than the other).
CPU=${XLB_BENCH_CPU:-1}
(($(nproc) > 1)) || CPU=0
[[ $CPU =~ ^[0-9]+$ ]] && ((CPU < $(nproc))) || { log "XLB_BENCH_CPU=$CPU: no such CPU"; exit 2; }
RESULTS=$TMP/results.jsonl
: >"$RESULTS"
# tag IMPL ROUND: adds both to every JSON line.
tag() { sed -n "s/^{/{\"impl\": \"$1\", \"round\": $2, /p"; }
for i in $(seq 1 "$ROUNDS"); do
	taskset -c "$CPU" "$KBENCH" "$OBJ" --json --runs "$RUNS" >"$TMP/k.out" ||
		{ log "round $i: xlb_katran_bench failed"; exit 1; }
	tag katran "$i" <"$TMP/k.out" >>"$RESULTS"
	# "pass: not a VIP" also gives "pass: not a VIP, nat enabled", and the
	# IPv prefix a VLAN row: measured, not reported.
	taskset -c "$CPU" "$XBENCH" --json --runs "$RUNS" --only "pass: not a VIP" \
		--only "ipip: established flow, IPv" --only "ipip: new TCP flow, maglev" >"$TMP/x.out" ||
		{ log "round $i: xlb_xdp_bench failed"; exit 1; }
	tag xlb "$i" <"$TMP/x.out" >>"$RESULTS"
	log "round $i/$ROUNDS done"
done

python3 - "$RESULTS" "$TMP/sizes" "$ROUNDS" "$JSON" "$RUNS" "$CPU" <<'PY'
import json, statistics, sys
results, sizes, rounds, as_json, runs, cpu = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5], sys.argv[6]
PATHS = ["pass: not a VIP", "ipip: established flow, IPv4", "ipip: established flow, IPv6", "ipip: new TCP flow, maglev"]
net = {}
for line in open(results):
    r = json.loads(line)
    net.setdefault((r["impl"], r["name"]), []).append(r["net_ns"])
missing = [f"{impl}: {p}" for p in PATHS for impl in ("katran", "xlb") if len(net.get((impl, p), [])) != rounds]
if missing:
    sys.exit("bench_katran: a figure per round is missing for " + ", ".join(missing))
med = {k: statistics.median(v) for k, v in net.items()}
size_line = open(sizes).read().strip()
if as_json:
    for p in PATHS:
        print(json.dumps({"name": p, "katran_net_ns": round(med[("katran", p)], 1),
                          "xlb_net_ns": round(med[("xlb", p)], 1), "rounds": rounds}))
    if size_line:
        print(size_line)
    sys.exit(0)
print(f"net ns per packet, median of {rounds} interleaved rounds of {runs} runs per path, on CPU {cpu}\n")
print(f"{'path':<32} {'Katran':>8} {'xlb':>8} {'xlb/Katran':>11}")
for p in PATHS:
    k, x = med[("katran", p)], med[("xlb", p)]
    ratio = f"{x / k:.2f}" if k > 0 else "-"
    print(f"{p:<32} {k:8.1f} {x:8.1f} {ratio:>11}")
if size_line:
    s = json.loads(size_line)
    print("\nafter verification: Katran {insns} instructions, {jited_bytes} bytes jited; ".format(**s["katran_object"]) +
          "xlb {insns} instructions, {jited_bytes} bytes jited".format(**s["xlb_object"]))
PY
