#!/usr/bin/env bash
# xlb's benchmarks, measured the same way every time, in one run on this
# machine. Prints a table per section, then regenerates docs/benchmarks.md
# (machine, commands, figures) and its plots (docs/bench-*.png, gnuplot).
# Not part of the tests: nothing here passes or fails on a figure.
#
#   sudo scripts/bench.sh            # everything (about 5 minutes)
#   sudo scripts/bench.sh --no-docs  # print only, leave docs/ alone
#
# Sections: per-packet cost of the XDP program (xlb_xdp_bench), rig
# throughput against a trivial forwarder and nftables (scripts/bench_tput.sh),
# Maglev ring builds (xlb_maglev_bench), add-backend latency (a rig with lbd),
# the reaper on 1M flows (xlb_reaper_bench), kernel memory per flow entry
# (xlb_map_memory).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${XLB_BUILD:-build}
DOCS=1
[[ ${1:-} == --no-docs ]] && DOCS=0

if [[ $(id -u) -ne 0 ]]; then
	echo "bench: needs root (BPF, network namespaces)" >&2
	exit 77
fi

scripts/install-deps.sh >/dev/null || exit 1
cmake -S . -B "$BUILD" >/dev/null || exit 1
make -C "$BUILD" -j2 --no-print-directory >/dev/null || { echo "bench: build failed" >&2; exit 1; }

OUT=$(mktemp -d /tmp/xlb-bench.XXXXXX)
RESULTS="$OUT/results.jsonl"
trap 'rm -rf "$OUT"' EXIT
: >"$RESULTS"

# record SECTION < json-lines: tags every line with its section.
record() { python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        d = json.loads(line); d["section"] = sys.argv[1]; print(json.dumps(d))
' "$1" >>"$RESULTS"; }

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
"$BUILD/tests/bench/xlb_xdp_bench" --json | tee /dev/stderr | record xdp

echo "== rig throughput (live-frames generator; trivial forwarder, xlb, nftables DNAT)"
if [[ -x scripts/bench_tput.sh ]]; then
	scripts/bench_tput.sh "$BUILD" --json | tee /dev/stderr | record tput
fi

echo "== Maglev ring build (Google Benchmark)"
if [[ -x "$BUILD/tests/bench/xlb_maglev_bench" ]]; then
	"$BUILD/tests/bench/xlb_maglev_bench" --benchmark_format=json 2>/dev/null | python3 -c '
import json, sys
for b in json.load(sys.stdin)["benchmarks"]:
    print(json.dumps({"name": b["name"], "ms": round(b["real_time"] * {"ns": 1e-6, "us": 1e-3, "ms": 1}[b["time_unit"]], 3)}))
' | tee /dev/stderr | record maglev
fi

echo "== reaper on 1M flows"
if [[ -x "$BUILD/tests/bench/xlb_reaper_bench" ]]; then
	"$BUILD/tests/bench/xlb_reaper_bench" --json | tee /dev/stderr | record reaper
fi

echo "== kernel memory per flow entry"
"$BUILD/tests/bench/xlb_map_memory" 1000000 --json | tee /dev/stderr | record memory

echo "== add-backend latency (lbd in a rig; 1000 calls over the API, 200 lbctl processes)"
(
	. "$ROOT/tests/netns/lib.sh"
	RIG_TEST_NAME=bench
	rig_init "$BUILD" >/dev/null
	rig_create 1 >/dev/null
	lbd_start >/dev/null 2>&1 || exit 1
	nsenter_net "$RIG_NS_LB" python3 "$ROOT/tests/tools/api_latency.py" --socket "$RIG_SOCK" -n 1000 |
		python3 -c 'import json,sys; d=json.load(sys.stdin); d["name"]="api"; print(json.dumps(d))'
	# lbctl processes, timed from bash (a Python spawn would cost more than lbctl).
	lbctl_ add-vip 198.18.201.1:80 --proto tcp
	for i in $(seq 1 200); do
		t0=$EPOCHREALTIME
		lbctl_ add-backend 198.18.201.1:80 --proto tcp "198.19.$((i / 250)).$((1 + i % 250))"
		echo "$t0 $EPOCHREALTIME"
	done | python3 -c '
import json, sys
ms = sorted((float(b) - float(a)) * 1000 for a, b in (l.split() for l in sys.stdin))
print(json.dumps({"name": "lbctl", "n": len(ms), "p50_ms": round(ms[len(ms) // 2], 3),
                  "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 3)}))'
) | tee /dev/stderr | record latency

if ((DOCS)); then
	python3 scripts/bench_report.py "$RESULTS" docs && echo "== wrote docs/benchmarks.md and docs/bench-*.png"
fi
