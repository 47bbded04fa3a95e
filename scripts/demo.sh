#!/usr/bin/env bash
# xlb end to end on a fresh machine, in about a minute:
#   1. installs the dependencies (scripts/install-deps.sh) and builds into build/;
#   2. builds a veth rig: a client, a one-arm load balancer and 3 backends on
#      one L2 segment (tests/netns/lib.sh);
#   3. starts lbd on the LB, xlb-decap on every backend, and configures
#      VIP 198.18.100.1:80/tcp over the 3 backends with lbctl;
#   4. opens 300 HTTP connections from the client to the VIP and prints, per
#      backend, what the client saw next to what `lbctl stats` reports;
#   5. turns on http health checks, stops backend b2's server while a client
#      keeps connecting, and prints, round by round, where the connections
#      went and what lbd thought of b2: it leaves the ring within a second,
#      and returns once its server is back;
#   6. prints a one-line verdict and tears everything down.
# Run as root. Exit status: 0 when the verdict is PASS.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${XLB_BUILD:-build} # build directory (relative to the repo root)
N=${N:-300}

echo "== dependencies"
scripts/install-deps.sh || exit 1
echo "== build ($BUILD)"
cmake -S . -B "$BUILD" >/dev/null || exit 1
make -C "$BUILD" -j2 --no-print-directory 2>&1 | grep -E 'error|warning: |Built target' | tail -n 25
((PIPESTATUS[0] == 0)) || { echo "demo: build failed"; exit 1; }

. "$ROOT/tests/netns/lib.sh"
RIG_TEST_NAME=demo
rig_init "$BUILD" # exits 77 with a reason if not root / no BPF / not built
rig_create 3
VIP="$RIG_VIP4:80"

step "lbd on the LB ($RIG_IF_LB), xlb-decap on the backends"
lbd_start || { echo "demo: lbd did not start (log above)"; exit 1; }
decap_attach_all || { echo "demo: xlb-decap attach failed"; exit 1; }

step "lbctl: VIP $VIP/tcp with 3 backends"
show() { echo "\$ lbctl $*"; lbctl_ "$@"; }
show add-vip "$VIP" --proto tcp || exit 1
for i in 1 2 3; do show add-backend "$VIP" --proto tcp "$(rig_b4 $i)" || exit 1; done
show list

step "client: $N connections to http://$VIP/"
lb_stats "$RIG_TMP/s0.json" || exit 1
client_burst "$RIG_VIP4" "$N" --parallel 20 >"$RIG_TMP/burst.json" || exit 1
sleep 0.5
lb_stats "$RIG_TMP/s1.json" || exit 1
lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s1.json" >"$RIG_TMP/delta.json"
for i in 1 2 3; do
	lbctl_ flows --vip "$VIP" --proto tcp --backend "$(rig_b4 $i)" --limit 100000 --json >"$RIG_TMP/flows-b$i.json" ||
		echo '{"total": null}' >"$RIG_TMP/flows-b$i.json"
done

step "per backend: as the client saw it | as lbctl stats reports it"
python3 - "$RIG_TMP" "$VIP/tcp" "$N" "$(rig_b4 1)" "$(rig_b4 2)" "$(rig_b4 3)" <<'EOF'
import json, sys
tmp, vip, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
addrs = sys.argv[4:]
burst = json.load(open(f"{tmp}/burst.json"))
delta = json.load(open(f"{tmp}/delta.json"))
v = delta["vips"].get(vip, {"packets": 0, "backends": {}})
g = delta["global"]
print(f"{'':>4} {'backend':<13}| {'connections':>11} {'share':>7} || {'packets':>8} {'share':>7} {'pkts/conn':>9} {'flow entries':>12}")
print("-" * 84)
tot_c = tot_p = 0
for i, a in enumerate(addrs, 1):
    c = burst["by_backend"].get(f"b{i}", 0)
    p = v["backends"].get(a, 0)
    f = json.load(open(f"{tmp}/flows-b{i}.json")).get("total")
    tot_c += c
    tot_p += p
    print(f"{'b%d' % i:>4} {a:<13}| {c:>11} {100.0 * c / max(1, n):>6.1f}% || {p:>8} "
          f"{100.0 * p / max(1, v['packets']):>6.1f}% {p / c if c else 0:>9.1f} {'n/a' if f is None else f:>12}")
print("-" * 84)
print(f"{'':>4} {'total':<13}| {tot_c:>11} {'':>7} || {tot_p:>8}")
print(f"\nclient: {burst['ok']} of {n} answered, {burst['failed']} failed in {burst['elapsed_s']} s"
      + (f"; first errors: {burst['errors'][:3]}" if burst["errors"] else ""))
print("LB program (deltas): " + ", ".join(f"{k} {g[k]}" for k in ("rx", "tx", "new_flow", "flow_hit", "pass_not_vip") if k in g)
      + f"; VIP packets {v['packets']}")
drops = {k: x for k, x in g.items() if k.startswith("drop_") and x}
if drops:
    print(f"LB drops: {drops}")
print("(stats count packets per backend, not connections: the LB sees every client->VIP packet of a\n"
      " connection - SYN, ACKs, the request, FIN - and none of the replies, which go straight from\n"
      " the backend to the client. 'flow entries' is `lbctl flows --backend` for the VIP.)")
EOF

step "health checks: http GET / every 300 ms, down after 2 failures, up after 2 passes"
# ipip checks are addressed to the VIP and steered to one backend by lbd's
# tc hook, so the LB needs a route for the VIP out of that interface, as a
# gateway's default route gives it. The rig has no router: the client,
# whose route to the VIP points at the LB, stands in for it.
ip -n "$RIG_NS_LB" route add "$RIG_VIP4/32" via "$RIG_CLIENT4" dev "$RIG_IF_LB"
show set-health "$VIP" --proto tcp --check http --path / --interval 300ms --timeout 250ms --fall 2 --rise 2 || exit 1
b2_health() { lbctl_ list --json | json_get - "[b['health']['state'] for b in d['vips'][0]['backends'] if b['address'] == '$(rig_b4 2)'][0]"; }
all_up() { [[ "$(lbctl_ list --json | json_get - "sum(b['health']['state'] == 'up' for b in d['vips'][0]['backends'])")" == 3 ]]; }
wait_for 10 all_up || { echo "demo: the backends did not pass their checks"; exit 1; }
# Rounds of 10 connections: each prints when, where they went and b2's
# health as lbd shows it, and is kept in rounds.jsonl for the verdict.
ROUNDS="$RIG_TMP/rounds.jsonl"
: >"$ROUNDS"
round() { # PHASE
	sport_alloc 10
	client_burst "$RIG_VIP4" 10 --sport-base "$SPORT" --timeout 2 >"$RIG_TMP/round.json" || return 1
	python3 - "$RIG_TMP/round.json" "$1" "$T0" "$(b2_health)" "$ROUNDS" <<'PY'
import json, sys, time
r, phase, t0, b2, out = json.load(open(sys.argv[1])), sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]
by = r["by_backend"]
print(f"  +{time.time() - t0:5.1f}s  {phase:<11} " + "  ".join(f"b{i} {by.get(f'b{i}', 0):>2}" for i in (1, 2, 3))
      + f"  failed {r['failed']:>2}  | b2: {b2}")
with open(out, "a") as f:
    f.write(json.dumps({"phase": phase, "by_backend": by, "failed": r["failed"], "b2": b2}) + "\n")
PY
}
T0=$(date +%s.%N)
echo "  time    phase       connections (10 a round)         | lbd's view of b2"
for _ in 1 2 3; do round "all up"; done
kill "$RIG_SERVER_PID_2" 2>/dev/null
T_KILL=$(date +%s.%N)
echo "  -- b2's server stopped"
for ((r = 0; r < 50; r++)); do [[ "$(b2_health)" == down ]] && break; round "b2 stopped"; done
T_DOWN=$(date +%s.%N)
for _ in 1 2 3; do round "b2 down"; done
server_start 2
T_START=$(date +%s.%N)
echo "  -- b2's server started again"
for ((r = 0; r < 50; r++)); do [[ "$(b2_health)" == up ]] && break; round "b2 started"; done
T_UP=$(date +%s.%N)
for _ in 1 2 3; do round "b2 back"; done
python3 - "$T_KILL" "$T_DOWN" "$T_START" "$T_UP" >"$RIG_TMP/health.txt" <<'PY'
import sys
k, d, s, u = map(float, sys.argv[1:])
print(f"{d - k:.1f} {u - s:.1f}")
PY
read -r DETECT RETURN <"$RIG_TMP/health.txt"
echo "b2 left the ring ${DETECT} s after its server stopped, and returned ${RETURN} s after it started"
read -r FAILED_AFTER B2_AFTER < <(python3 -c '
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
print(sum(r["failed"] for r in rs if r["phase"] in ("b2 down", "b2 back")),
      sum(r["by_backend"].get("b2", 0) for r in rs if r["phase"] == "b2 back"))' "$ROUNDS")

# Verdict.
read -r verdict < <(python3 - "$RIG_TMP" "$VIP/tcp" "$N" "$DETECT" "$FAILED_AFTER" "$B2_AFTER" <<'EOF'
import json, sys
tmp, vip, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
detect, failed_after, b2_after = float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
b = json.load(open(f"{tmp}/burst.json"))
d = json.load(open(f"{tmp}/delta.json"))
g, v = d["global"], d["vips"].get(vip, {"packets": 0})
shares = {k: 100.0 * x / n for k, x in sorted(b["by_backend"].items())}
why = []
if b["ok"] != n:
    why.append(f"{b['failed']} of {n} connections failed")
if len(shares) != 3 or any(not 20 <= s <= 47 for s in shares.values()):
    why.append("uneven spread " + " ".join(f"{k} {s:.0f}%" for k, s in shares.items()))
if g.get("tx", 0) != v["packets"]:
    why.append(f"LB tx {g.get('tx')} != VIP packets {v['packets']}")
if g.get("pass_not_vip", 0) > 10:
    why.append(f"LB saw {g['pass_not_vip']} non-VIP packets (replies not direct?)")
if failed_after:
    why.append(f"{failed_after} connections failed after b2 was marked down")
if not b2_after:
    why.append("b2 got no connections after it came back")
spread = " / ".join(f"{k} {s:.0f}%" for k, s in shares.items())
if why:
    print("VERDICT: FAIL - " + "; ".join(why))
else:
    print(f"VERDICT: PASS - {b['ok']}/{n} connections answered, spread {spread}, replies bypassed the LB (DSR); "
          f"a stopped backend left the ring in {detect:.1f} s and came back by itself")
EOF
)
echo
echo "$verdict"
step "teardown"
[[ "$verdict" == "VERDICT: PASS"* ]]
