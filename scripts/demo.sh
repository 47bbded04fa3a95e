#!/usr/bin/env bash
# xlb end to end on a fresh machine, in about a minute:
#   1. installs the dependencies (scripts/install-deps.sh) and builds into build/;
#   2. builds a veth rig: a client, a one-arm load balancer and 3 backends on
#      one L2 segment (tests/netns/lib.sh);
#   3. starts lbd on the LB, xlb-decap on every backend, and configures
#      VIP 198.18.100.1:80/tcp over the 3 backends with lbctl;
#   4. opens 300 HTTP connections from the client to the VIP and prints, per
#      backend, what the client saw next to what `lbctl stats` reports;
#   5. prints a one-line verdict and tears everything down.
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

# Verdict.
read -r verdict < <(python3 - "$RIG_TMP" "$VIP/tcp" "$N" <<'EOF'
import json, sys
tmp, vip, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
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
spread = " / ".join(f"{k} {s:.0f}%" for k, s in shares.items())
if why:
    print("VERDICT: FAIL - " + "; ".join(why))
else:
    print(f"VERDICT: PASS - {b['ok']}/{n} connections answered, spread {spread}, replies bypassed the LB (DSR)")
EOF
)
echo
echo "$verdict"
step "teardown"
[[ "$verdict" == "VERDICT: PASS"* ]]
