#!/usr/bin/env bash
# Every node chooses alike (tests/netns/cluster.sh, issue 14): the three
# nodes run the same config and hash_seed, so `lbctl pick` (the data path's
# hash and ring for a 5-tuple, computed by lbd) gives the same backend on
# each of them for 1,000 synthetic tuples (sources 198.18.0.0/15, fixed
# ports), the VIPs' ring fingerprints and seeds agree, and the packet path
# agrees with pick: 300 real connections from fixed source ports, spread by
# the router over all three nodes, each reach the backend pick names for
# its tuple. Needs `lbctl pick` (skips without it).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"
cl_init "${1:-}"
"$LBCTL_BIN" --help 2>&1 | grep -q '^  pick ' || skip "lbctl has no pick command"
cl_create 3
VIP=$RIG_VIP4
CL_CONFIG=$RIG_TMP/cluster.json
cl_config_write "$CL_CONFIG" 7 "$(cl_vip_json "$VIP:80" maglev "$(rig_b4 1)" "$(rig_b4 2)" "$(rig_b4 3)")"
cl_start_all || die "cluster did not start"
check "the router's route to $VIP has 3 next hops" cl_wait_ecmp "$VIP" 3

# picks K FILE: "src sport" lines in, one `lbctl pick --json` answer a line
# out (lbctl straight on node K's socket: a file, no namespace needed).
picks() {
	local k=$1 src sport
	while read -r src sport; do
		"$LBCTL_BIN" --socket "$(cl_sock_n "$k")" pick "$VIP:80" --src "$src" --sport "$sport" --json | tr -d '\n'
		echo
	done <"$2"
}
# answers FILE: "src sport backend slot" per answer, "ERROR ..." for a failed one.
answers() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        a = json.loads(line)
        b = a.get("backend") or {}
        print(a["src"], b.get("address"), a.get("slot"))
    except Exception as e:
        print("ERROR", repr(line[:80]), e)
' "$1"
}

step "1,000 synthetic tuples through lbctl pick on every node"
python3 -c '
for i in range(1000):
    print(f"198.{18 + i % 2}.{(i * 7) % 256}.{1 + (i * 13) % 254} {10000 + (i * 37) % 50000}")
' >"$RIG_TMP/tuples"
pids=()
for k in 1 2 3; do
	picks "$k" "$RIG_TMP/tuples" >"$RIG_TMP/picks-$k.json" &
	pids+=("$!")
done
wait "${pids[@]}" # not a bare wait: BIRD and the servers are background jobs too
for k in 1 2 3; do answers "$RIG_TMP/picks-$k.json" >"$RIG_TMP/picks-$k.txt"; done
check "node 1 answered all 1,000 (no error)" \
	test "$(grep -vc ERROR "$RIG_TMP/picks-1.txt")" = 1000
check "every tuple got a backend on node 1" test "$(grep -c ' None ' "$RIG_TMP/picks-1.txt")" = 0
log "node 1's picks by backend: $(awk '{print $2}' "$RIG_TMP/picks-1.txt" | sort | uniq -c | tr '\n' ' ')"
check "node 2 picks exactly as node 1 (1,000 tuples)" cmp -s "$RIG_TMP/picks-1.txt" "$RIG_TMP/picks-2.txt"
check "node 3 picks exactly as node 1 (1,000 tuples)" cmp -s "$RIG_TMP/picks-1.txt" "$RIG_TMP/picks-3.txt"
fp() { head -n 1 "$RIG_TMP/picks-$1.json" | json_get - "[d.get('ring_fingerprint'), d.get('hash_seed')]"; }
f1=$(fp 1) f2=$(fp 2) f3=$(fp 3)
log "ring fingerprint and seed: $f1 / $f2 / $f3"
check "the ring fingerprints and seeds agree" bash -c '[[ $1 == "$2" && $1 == "$3" && $1 != *null* ]]' _ "$f1" "$f2" "$f3"

step "the packet path agrees with pick"
before=()
for k in 1 2 3; do before[k]=$(cl_vip_packets "$k" "$VIP:80"); done
sport_alloc 300
burst=$(client_burst "$VIP" 300 --parallel 20 --details --sport-base "$SPORT")
check "300 of 300 answered" burst_all_ok "$burst" 300
for k in 1 2 3; do
	check "node $k forwarded some of them" int_ge "$(($(cl_vip_packets "$k" "$VIP:80") - before[k]))" 1
done
json_get - "'\n'.join(f\"$RIG_CLIENT4 {c['sport']}\" for c in d['conns'])" <<<"$burst" >"$RIG_TMP/real"
picks 1 "$RIG_TMP/real" >"$RIG_TMP/real-picks.json"
python3 -c '
import ipaddress, json, sys
burst = json.loads(sys.argv[1])
def name(addr):  # 198.19.0.11 -> b1, as the servers answer
    return f"b{int(ipaddress.ip_address(addr)) % 256 - 10}"
want = [name((json.loads(l).get("backend") or {}).get("address", "0.0.0.0")) for l in open(sys.argv[2])]
got = [c.get("backend") for c in burst["conns"]]
bad = [(c["sport"], g, w) for c, g, w in zip(burst["conns"], got, want) if g != w]
print(f"{len(got) - len(bad)} of {len(got)} connections reached the backend pick named; first differences: {bad[:5]}")
sys.exit(0 if not bad and len(got) == 300 else 1)
' "$burst" "$RIG_TMP/real-picks.json"
check "every one of the 300 reached the backend lbctl pick names" test $? = 0
rig_finish
