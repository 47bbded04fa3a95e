#!/usr/bin/env bash
# xlb's benchmarks, measured the same way every time, in one run on this
# machine. Prints a table per section, then regenerates docs/benchmarks.md
# (machine, commands, figures) and its plots (docs/bench-*.png, gnuplot).
# Not part of the tests: nothing here passes or fails on a figure.
#
#   scripts/bench.sh            # everything (about 5 minutes)
#   scripts/bench.sh --no-docs  # print only, leave docs/ alone
#   scripts/bench.sh --katran KATRAN_SRC  # also xlb against Katran's balancer,
#                               # built from that checkout, in interleaved
#                               # rounds (scripts/bench_katran.sh; under a
#                               # minute more); combines with --no-docs
#   scripts/bench.sh --smoke    # every section once with tiny counts, on the
#                               # existing build, the report written to a
#                               # scratch directory. Fails if a section gave no
#                               # figures or the report does not build (ctest's
#                               # bench.smoke runs it, so the benchmarks cannot
#                               # break unnoticed); no figure is judged.
#                               # Ignores --katran.
#
# Sections: per-packet cost of the XDP program (xlb_xdp_bench), what a SYN
# flood does to established flows (xlb_flood_bench), rig
# throughput against a trivial forwarder and nftables (scripts/bench_tput.sh),
# Maglev ring builds (xlb_maglev_bench), add-backend latency (a rig with lbd),
# the reaper on 1M flows (xlb_reaper_bench), health checks of 1,000
# backends every second (xlb_health_bench), kernel memory per flow entry
# (xlb_map_memory); with --katran, xlb against Katran (section "katran").
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CALLER_PWD=$PWD # a relative KATRAN_SRC is the caller's
cd "$ROOT" || exit 1
BUILD=${XLB_BUILD:-build}
DOCS=1
SMOKE=0
KATRAN=""
usage() { echo "usage: scripts/bench.sh [--no-docs] [--katran KATRAN_SRC] | --smoke" >&2; exit 2; }
while (($#)); do
	case $1 in
	--no-docs) DOCS=0 ;;
	--smoke) SMOKE=1 ;;
	--katran)
		[[ -n ${2:-} ]] || usage
		KATRAN=$2
		[[ $KATRAN == /* ]] || KATRAN=$CALLER_PWD/$KATRAN
		shift
		;;
	*) usage ;;
	esac
	shift
done
# The smoke run is about the repo's own benchmarks: Katran is never needed.
((SMOKE)) && KATRAN=""

if [[ $(id -u) -ne 0 ]]; then
	echo "bench: needs root (BPF, network namespaces)" >&2
	exit 77
fi

# The size of every section: the real run's, or the smoke run's tiny one.
if ((SMOKE)); then
	XDP_ARGS=(--runs 20)
	FLOOD_ARGS=(--table 1024 --established 64 --flood 2000)
	TPUT_ARGS=(--duration 0.3 --warmup 0.1 --rounds 1 --flows 64)
	MAGLEV_ARGS=(--benchmark_min_time=0.001)
	REAPER_ARGS=(2000 8192)
	HEALTH_ARGS=(--targets 50 --seconds 0.3 --interval-ms 100)
	MEMORY_ENTRIES=1000
	API_CALLS=10
	LBCTL_CALLS=5
else
	XDP_ARGS=()
	FLOOD_ARGS=()
	TPUT_ARGS=()
	MAGLEV_ARGS=()
	REAPER_ARGS=()
	HEALTH_ARGS=(--targets 1000 --seconds 10 --interval-ms 1000)
	MEMORY_ENTRIES=1000000
	API_CALLS=1000
	LBCTL_CALLS=200
	scripts/install-deps.sh >/dev/null || exit 1
	cmake -S . -B "$BUILD" >/dev/null || exit 1
	make -C "$BUILD" -j2 --no-print-directory >/dev/null || { echo "bench: build failed" >&2; exit 1; }
fi

OUT=$(mktemp -d /tmp/xlb-bench.XXXXXX)
RESULTS="$OUT/results.jsonl"
trap 'rm -rf "$OUT"' EXIT
: >"$RESULTS"
FAILED=() # sections whose command failed

# record SECTION < json-lines: tags every line with its section.
record() { python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        d = json.loads(line); d["section"] = sys.argv[1]; print(json.dumps(d))
' "$1" >>"$RESULTS"; }

# optional SECTION TAG LABEL CMD...: a section this machine may not be able to
# measure. CMD's exit 77 records the reason its stderr gave ("[TAG] SKIP:
# ...") instead of figures, and the report says so; another failure fails
# the section.
optional() {
	local section=$1 tag=$2 label=$3 rc reason
	shift 3
	"$@" 2> >(tee "$OUT/$section.err" >&2) | tee /dev/stderr | record "$section"
	rc=${PIPESTATUS[0]}
	if ((rc == 77)); then
		reason=$(sed -n "s/^\\[$tag\\] SKIP: //p" "$OUT/$section.err" | tail -n 1)
		python3 -c 'import json, sys; print(json.dumps({"skipped": sys.argv[1] or "skipped"}))' "$reason" | record "$section"
		echo "bench: $label not measured: ${reason:-skipped}"
	elif ((rc != 0)); then
		FAILED+=("$section")
	fi
}

echo "== machine"
python3 - "$RESULTS" <<'EOF'
import json, os, platform, sys
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((int(l.split()[1]) // 1024 // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
d = {"section": "machine", "cpu": cpu, "cpus": os.cpu_count(), "mem_gib": mem, "kernel": platform.release(),
     "load": open("/proc/loadavg").read().split()[0]}
print(f"{d['cpus']} x {cpu}, {mem} GiB, kernel {d['kernel']}, load {d['load']}")
open(sys.argv[1], "a").write(json.dumps(d) + "\n")
EOF

echo "== per-packet cost of xlb_lb (BPF_PROG_TEST_RUN, run-time stats, trivial XDP_TX subtracted)"
"$BUILD/tests/bench/xlb_xdp_bench" --json "${XDP_ARGS[@]}" | tee /dev/stderr | record xdp || FAILED+=(xdp)

if [[ -n $KATRAN ]]; then
	echo "== xlb against Katran's balancer (scripts/bench_katran.sh: interleaved rounds on CPU 1)"
	# Exit 77: no checkout there, or clang cannot build it.
	optional katran bench_katran Katran scripts/bench_katran.sh "$KATRAN" "$BUILD" --json
fi

echo "== SYN flood against established flows (flood guard on and off; BPF_PROG_TEST_RUN on CPU 0)"
"$BUILD/tests/bench/xlb_flood_bench" --json "${FLOOD_ARGS[@]}" | tee /dev/stderr | record flood || FAILED+=(flood)

echo "== rig throughput (live-frames generator; trivial forwarder, xlb, nftables DNAT)"
if [[ -x scripts/bench_tput.sh ]]; then
	# Exit 77: this machine cannot run the rig (not root, no namespaces). A
	# kernel that refuses live-frames test runs gets the fallback generator
	# (the summary's "generator" field says which one ran).
	optional tput bench_tput "rig throughput" scripts/bench_tput.sh "$BUILD" --json "${TPUT_ARGS[@]}"
fi

echo "== Maglev ring build (Google Benchmark)"
if [[ -x "$BUILD/tests/bench/xlb_maglev_bench" ]]; then
	"$BUILD/tests/bench/xlb_maglev_bench" --benchmark_format=json "${MAGLEV_ARGS[@]}" 2>/dev/null | python3 -c '
import json, sys
for b in json.load(sys.stdin)["benchmarks"]:
    print(json.dumps({"name": b["name"], "ms": round(b["real_time"] * {"ns": 1e-6, "us": 1e-3, "ms": 1}[b["time_unit"]], 3)}))
' | tee /dev/stderr | record maglev || FAILED+=(maglev)
fi

echo "== reaper on 1M flows"
if [[ -x "$BUILD/tests/bench/xlb_reaper_bench" ]]; then
	"$BUILD/tests/bench/xlb_reaper_bench" "${REAPER_ARGS[@]}" --json | tee /dev/stderr | record reaper || FAILED+=(reaper)
fi

echo "== health checks (${HEALTH_ARGS[*]}; the checker thread's CPU)"
for kind in tcp http udp; do
	"$BUILD/tests/bench/xlb_health_bench" --kind "$kind" "${HEALTH_ARGS[@]}" | tee /dev/stderr | record health ||
		FAILED+=(health)
done

echo "== kernel memory per flow entry"
"$BUILD/tests/bench/xlb_map_memory" "$MEMORY_ENTRIES" --json | tee /dev/stderr | record memory || FAILED+=(memory)

echo "== add-backend latency (lbd in a rig; $API_CALLS calls over the API, $LBCTL_CALLS lbctl processes)"
(
	. "$ROOT/tests/netns/lib.sh"
	RIG_TEST_NAME=bench
	rig_init "$BUILD" >/dev/null
	rig_create 1 >/dev/null
	lbd_start >/dev/null 2>&1 || exit 1
	nsenter_net "$RIG_NS_LB" python3 "$ROOT/tests/tools/api_latency.py" --socket "$RIG_SOCK" -n "$API_CALLS" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); d["name"]="api"; print(json.dumps(d))'
	# lbctl processes, timed from bash (a Python spawn would cost more than lbctl).
	lbctl_ add-vip 198.18.201.1:80 --proto tcp
	for i in $(seq 1 "$LBCTL_CALLS"); do
		t0=$EPOCHREALTIME
		lbctl_ add-backend 198.18.201.1:80 --proto tcp "198.19.$((i / 250)).$((1 + i % 250))"
		echo "$t0 $EPOCHREALTIME"
	done | python3 -c '
import json, sys
ms = sorted((float(b) - float(a)) * 1000 for a, b in (l.split() for l in sys.stdin))
print(json.dumps({"name": "lbctl", "n": len(ms), "p50_ms": round(ms[len(ms) // 2], 3),
                  "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 3)}))'
) | tee /dev/stderr | record latency || FAILED+=(latency)

if ((${#FAILED[@]})); then
	echo "bench: these sections failed: ${FAILED[*]}" >&2
	((SMOKE)) && exit 1
fi
if ((SMOKE)); then
	# Every section must have given figures, and the report must build from
	# them (into the scratch directory, not docs/).
	python3 - "$RESULTS" <<'EOF' || exit 1
import collections, json, sys
got = collections.Counter(json.loads(l).get("section") for l in open(sys.argv[1]) if l.strip())
want = ["machine", "xdp", "flood", "tput", "maglev", "reaper", "health", "memory", "latency"]
missing = [s for s in want if not got[s]]
print("bench smoke: records per section:", dict(got))
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d.get("skipped"):
        print(f"bench smoke: section {d['section']} not measured on this machine: {d['skipped']}")
if missing:
    print("bench smoke: FAIL: no figures from", ", ".join(missing))
    sys.exit(1)
EOF
	mkdir -p "$OUT/docs"
	python3 scripts/bench_report.py "$RESULTS" "$OUT/docs" >/dev/null || { echo "bench smoke: FAIL: the report did not build"; exit 1; }
	[[ -s "$OUT/docs/benchmarks.md" ]] || { echo "bench smoke: FAIL: no benchmarks.md"; exit 1; }
	echo "bench smoke: PASS (every section ran and the report built; no figure is judged)"
elif ((DOCS)); then
	python3 scripts/bench_report.py "$RESULTS" docs && echo "== wrote docs/benchmarks.md and docs/bench-*.png"
fi
