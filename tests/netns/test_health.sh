#!/usr/bin/env bash
# Health checks end to end (issue 12), in the ipip (DSR) rig with real
# servers: lbd checks b1..b3 of 198.18.100.1:80/tcp with an http check
# (interval 500ms, timeout 300ms, fall 2, rise 2). ipip checks go to the VIP
# and are steered by lbd's tc egress hook to one backend, encapsulated the way
# its traffic is (tests/netns/test_hc_steer.sh proves the path alone). The
# LB routes the VIP to a next hop nobody answers for, so only a steered check
# can succeed.
#  1. A client keeps opening connections (fixed source ports) while b2's
#     server is killed: b2 is down with ring weight 0 within
#     interval*fall + 1 s (the deadline allows 3 s more; the measured time
#     and the failed connections are printed), and every connection started
#     after that succeeds, none reaching b2.
#  2. b2's server again: up within interval*rise + 1 s (+3 s), and b2 gets
#     its share of a burst from fixed source ports.
#  3. The VIP leaves b3's lo (its server still answers on b3's own address):
#     b3 goes down; back on lo: up.
#  4. All servers stopped: fail-open (default) keeps every backend in the
#     ring at its admin weight and new flows are still created (the
#     connections are refused by the backends: they got there). Switched to
#     all_down fail-closed: the ring is empty and new flows are dropped
#     (drop_no_backend). Servers back: all up; stopped again with
#     fail-closed set: lbd logs "all down: failing closed" and drops.
#  5. `lbctl apply` of a config whose b1 override checks a path answering 500:
#     b1 down, reason "http status 500"; without the override: up.
#  6. A drained backend keeps its health (shown, checked) and its weight 0,
#     through down and up; add-backend returns it.
#  7. lbd killed (-9) while b2 is down, restarted with the same --state-dir
#     (once alone, once with --config): b2 is down with weight 0 at once (its
#     server is still dead, so no check can have passed), the VIP's checks
#     are back, and b2 is up once the server is back.
#  8. hold_down 5s: b2's server stops and starts again at once; b2 comes
#     back no sooner than 5 s after it went down (its since_ms values), and
#     the reason says the hold-down held it.
set -u
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 3

VIP="$RIG_VIP4:80"
B1=$(rig_b4 1) B2=$(rig_b4 2) B3=$(rig_b4 3)
INTERVAL_MS=500 TIMEOUT_MS=300 FALL=2 RISE=2
HC_ARGS=(--check http --path / --interval "${INTERVAL_MS}ms" --timeout "${TIMEOUT_MS}ms" --fall "$FALL" --rise "$RISE")
HC_JSON="{\"check\": \"http\", \"path\": \"/\", \"interval\": \"${INTERVAL_MS}ms\", \"timeout\": \"${TIMEOUT_MS}ms\", \"fall\": $FALL, \"rise\": $RISE}"
# The issue's bounds, and the polling deadlines: the bound plus 3 s of slack
# for a loaded 2-core machine. Only the deadlines are asserted.
DOWN_BOUND_MS=$((INTERVAL_MS * FALL + 1000))
UP_BOUND_MS=$((INTERVAL_MS * RISE + 1000))
DOWN_DEADLINE_S=$(((DOWN_BOUND_MS + 3000 + 999) / 1000))
UP_DEADLINE_S=$(((UP_BOUND_MS + 3000 + 999) / 1000))
STATE_DIR=$RIG_STATE_DIR # lbd_start passes --state-dir "$RIG_STATE_DIR"
mkdir -p "$STATE_DIR"
STATE_FILE="$STATE_DIR/$RIG_IF_LB.health.json"


# set_health [lbctl set-health options]: the test's check on $VIP, plus options.
set_health() { lbctl_quiet set-health "$VIP" --proto tcp "${HC_ARGS[@]}" "$@"; }

# hc_wait T0_MS SECONDS EXPR: lib.sh's health_wait on $VIP/tcp.
hc_wait() { health_wait "$VIP" tcp "$@"; }

hc_ok() { health_ok "$@"; }

# hcw FIELD JSON: one field of hc_wait's output.
hcw() { json_get - "$1" <<<"$2"; }

# loop_start NAME N: a background client in the client namespace opening
# connections to $VIP one after another (20 ms apart, timeout 1 s) from
# fixed source ports (sport_alloc N), one JSON line per connection in
# $RIG_TMP/loop-NAME.jsonl: {"i", "sport", "t" (epoch s at its start),
# "backend" | "error"}. It stops after N connections, or once the file
# $RIG_TMP/loop-NAME.mark holds an epoch time and AFTER (default 40)
# connections started after that time are done.
loop_start() {
	local name=$1 n=$2 after=${3:-40}
	sport_alloc "$n"
	rm -f "$RIG_TMP/loop-$name.mark"
	in_ns "$RIG_NS_C" python3 -c "$_LOOP_PY" "$RIG_TOOLS_DIR" "$RIG_VIP4" 80 "$SPORT" "$n" \
		"$RIG_TMP/loop-$name.jsonl" "$RIG_TMP/loop-$name.mark" "$after" >"$RIG_TMP/loop-$name.log" 2>&1 &
	LOOP_PID=$!
	RIG_BG_PIDS+=("$LOOP_PID")
}
_LOOP_PY=$(cat <<'EOF'
import json, os, sys, time
tools, vip, port, base, n, out, mark, after_n = sys.argv[1:9]
sys.path.insert(0, tools)
from client import one_conn
port, base, n, after_n = int(port), int(base), int(n), int(after_n)
t_mark, after = None, 0
with open(out, "w") as f:
    for i in range(n):
        if t_mark is None and os.path.exists(mark):
            try:
                t_mark = float(open(mark).read())
            except ValueError:
                pass
        if t_mark is not None and after >= after_n:
            break
        t = time.time()
        r = one_conn(vip, port, 1.0, base + i)
        r = {"i": i, "sport": base + i, "t": t, **{k: r[k] for k in ("backend", "error") if k in r}}
        if t_mark is not None and t > t_mark:
            after += 1
        f.write(json.dumps(r) + "\n")
        f.flush()
        time.sleep(0.02)
EOF
)

# loop_mark NAME EPOCH_S: tells the loop when the condition was seen.
loop_mark() {
	echo "$2" >"$RIG_TMP/loop-$1.mark.tmp" && mv "$RIG_TMP/loop-$1.mark.tmp" "$RIG_TMP/loop-$1.mark"
}
loop_lines() { if [[ -e "$RIG_TMP/loop-$1.jsonl" ]]; then wc -l <"$RIG_TMP/loop-$1.jsonl"; else echo 0; fi; }
loop_has() { int_ge "$(loop_lines "$1")" "$2"; }
# loop_wait NAME: waits (60 s at most) for the loop to end.
loop_wait() {
	local deadline=$((SECONDS + 60))
	while kill -0 "$LOOP_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
	kill "$LOOP_PID" 2>/dev/null
	{ wait "$LOOP_PID"; } 2>/dev/null
	return 0
}
# loop_summary NAME T_FROM T_TO: the loop's connections split by their start
# time: before T_FROM, in [T_FROM, T_TO], after T_TO (epoch seconds), each
# {"n", "ok", "failed", "by_backend", "errors" (first 3)}.
loop_summary() {
	python3 - "$RIG_TMP/loop-$1.jsonl" "$2" "$3" <<'EOF'
import json, sys
path, t1, t2 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
parts = {k: {"n": 0, "ok": 0, "failed": 0, "by_backend": {}, "errors": []} for k in ("before", "during", "after")}
for line in open(path):
    r = json.loads(line)
    p = parts["before" if r["t"] < t1 else "during" if r["t"] <= t2 else "after"]
    p["n"] += 1
    if "backend" in r:
        p["ok"] += 1
        p["by_backend"][r["backend"]] = p["by_backend"].get(r["backend"], 0) + 1
    else:
        p["failed"] += 1
        if len(p["errors"]) < 3:
            p["errors"].append(f"{r['error']} (sport {r['sport']})")
print(json.dumps(parts, sort_keys=True))
EOF
}

# burst_fixed N [client.py burst options]: N connections from fresh fixed
# source ports; the burst's JSON goes to BURST_OUT (not a $(...) helper:
# the port allocation must outlive the call).
burst_fixed() {
	local n=$1
	shift
	sport_alloc "$n"
	BURST_OUT=$(client_burst "$RIG_VIP4" "$n" --parallel 20 --sport-base "$SPORT" "$@")
}

# backend_stat_delta DELTA_JSON ADDR: packets the LB sent to backend ADDR of $VIP.
backend_stat_delta() { json_get "$1" "d['vips']['$VIP/tcp']['backends'].get('$2', 0)"; }

# ---------------------------------------------------------------------------

step "the LB routes $RIG_VIP4 to a next hop nobody answers for (only steered checks reach a backend)"
ip -n "$RIG_NS_LB" neigh replace 198.18.0.250 lladdr 02:00:00:00:00:fa dev "$RIG_IF_LB" nud permanent
ip -n "$RIG_NS_LB" route add "$RIG_VIP4/32" via 198.18.0.250 dev "$RIG_IF_LB"
unsteered=$(in_ns "$RIG_NS_LB" python3 -c "import sys; sys.path.insert(0, '$RIG_TOOLS_DIR'); from client import one_conn; print(one_conn('$RIG_VIP4', 80, 1).get('backend', 'none'))")
check "from the LB, an unsteered connection to $RIG_VIP4:80 reaches nobody ($unsteered)" [ "$unsteered" = none ]

step "lbd (--state-dir $STATE_DIR), decap, $VIP/tcp on b1..b3, http check every ${INTERVAL_MS}ms"
lbd_start || { fail "lbd starts with --state-dir"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
vip_setup "$VIP" tcp "$B1" "$B2" "$B3" || rig_finish
out=$(lbctl_ list --json)
check "before set-health the VIP's health is null and each backend's health null" \
	[ "$(json_get - "[v['health'] for v in d['vips']] + [b.get('health', 'missing') for v in d['vips'] for b in v['backends']]" <<<"$out")" = '[null, null, null, null]' ]
set_health || { log "set-health failed: the rest needs it"; rig_finish; }
out=$(hc_wait "$(now_ms)" 10 "all(st(n) == 'up' for n in b) and all(w(n) == 1 for n in b)")
check "all three backends up with weight 1 ($(hcw view "$out"))" hc_ok "$out"
check "the VIP lists its health spec (check http)" \
	[ "$(lbctl_ list --json | json_get - "[v['health']['check'] for v in d['vips']]")" = '["http"]' ]
tcp_burst_checked "$RIG_VIP4" 150 20 47

# ---- 1 ---------------------------------------------------------------------
step "1. kill b2's server while a client keeps connecting"
loop_start kill 1500 40
check "the client loop runs, 20 connections made" wait_for 30 loop_has kill 20
lb_stats "$RIG_TMP/s1a.json"
t_kill=$(now_ms)
server_stop 2
out=$(hc_wait "$t_kill" "$DOWN_DEADLINE_S" "st('b2') == 'down' and w('b2') == 0")
ok=$?
detect_at=$(hcw at "$out")
loop_mark kill "$detect_at"
lb_stats "$RIG_TMP/s1b.json"
echo "  b2 down after $(hcw elapsed_ms "$out") ms (issue bound interval*fall + 1 s = $DOWN_BOUND_MS ms; deadline ${DOWN_DEADLINE_S} s): $(hcw view "$out")"
check "b2 is down with ring weight 0 within ${DOWN_DEADLINE_S} s" int_eq "$ok" 0
check "b1 and b3 stay up with weight 1" \
	[ "$(hcw "[(d['view'][n]['state'], d['view'][n]['weight']) for n in ('b1', 'b3')]" "$out")" = '[["up", 1], ["up", 1]]' ]
loop_wait kill
lb_stats "$RIG_TMP/s1c.json"
sum=$(loop_summary kill "$(python3 -c "print($t_kill / 1000)")" "$detect_at")
echo "  client connections: $sum"
echo "  FAILED CONNECTIONS: $(json_get - "d['during']['failed'] + d['after']['failed']" <<<"$sum")," \
	"TIME TO DETECT: $(hcw elapsed_ms "$out") ms"
check "every connection before the kill succeeded" \
	[ "$(json_get - "d['before']['n'] > 0 and d['before']['failed'] == 0" <<<"$sum")" = true ]
check "every connection started after b2 was seen down succeeded, none on b2 ($(json_get - after <<<"$sum"))" \
	[ "$(json_get - "d['after']['n'] >= 40 and d['after']['failed'] == 0 and 'b2' not in d['after']['by_backend']" <<<"$sum")" = true ]
lb_stats_delta "$RIG_TMP/s1b.json" "$RIG_TMP/s1c.json" >"$RIG_TMP/d1.json"
check "the LB sent b2 no packet after it was seen down ($(backend_stat_delta "$RIG_TMP/d1.json" "$B2"))" \
	int_eq "$(backend_stat_delta "$RIG_TMP/d1.json" "$B2")" 0
out=$(lbctl_ list --json)
check "b2's health says down with a reason and a failed last check" \
	[ "$(json_get - "[(b['health']['state'], bool(b['health']['reason']), b['health']['last']['ok']) for v in d['vips'] for b in v['backends'] if b['address'] == '$B2']" <<<"$out")" = '[["down", true, false]]' ]
check "b2's admin weight stays 1" \
	[ "$(json_get - "[b.get('admin_weight') for v in d['vips'] for b in v['backends'] if b['address'] == '$B2']" <<<"$out")" = '[1]' ]
# Health and the operator's state are separate: health-down is not a drain
# (lbctl list's STATE column says active too; section 6 drains for real).
check "b2's admin state stays 'active' in lbctl list --json ($(json_get - "[b.get('state') for v in d['vips'] for b in v['backends'] if b['address'] == '$B2']" <<<"$out"))" \
	[ "$(json_get - "[b.get('state') for v in d['vips'] for b in v['backends'] if b['address'] == '$B2']" <<<"$out")" = '["active"]' ]
out=$(lbctl_ stats --json)
check "lbctl stats --json shows b2's health too (down)" \
	[ "$(json_get - "[(b.get('health') or {}).get('state') for v in d['vips'] for b in v['backends'] if b['address'] == '$B2']" <<<"$out")" = '["down"]' ]
table=$(lbctl_ list 2>&1)
check "lbctl list has a HEALTH column and shows b2 'down <age>'" \
	bash -c '[[ "$1" == *HEALTH* ]] && grep "$2" <<<"$1" | grep -Eq "down [0-9]+s"' _ "$table" "$B2"
check "lbctl list's STATE column shows b2 active (health-down is not a drain)" \
	bash -c 'grep "$2" <<<"$1" | grep -Eq " active +down [0-9]+s"' _ "$table" "$B2"
check "lbd logged b2's transition to down" grep -q "$B2.* down: " "$RIG_LBD_LOG"

# ---- 2 ---------------------------------------------------------------------
step "2. start b2's server again"
server_start 2
t_up=$(now_ms) # from the server being ready: no check could pass before
out=$(hc_wait "$t_up" "$UP_DEADLINE_S" "st('b2') == 'up' and w('b2') == 1")
ok=$?
echo "  b2 up after $(hcw elapsed_ms "$out") ms (issue bound interval*rise + 1 s = $UP_BOUND_MS ms; deadline ${UP_DEADLINE_S} s): $(hcw view "$out")"
check "b2 is up with weight 1 within ${UP_DEADLINE_S} s" int_eq "$ok" 0
check "lbd logged b2's transition to up" grep -q "$B2.* up: " "$RIG_LBD_LOG"
tcp_burst_checked "$RIG_VIP4" 150 20 47

# ---- 3 ---------------------------------------------------------------------
step "3. the VIP leaves b3's lo; b3's server still listens"
t0=$(now_ms)
ip -n "$(rig_ns_b 3)" addr del "$RIG_VIP4/32" dev lo
b3own=$(in_ns "$RIG_NS_LB" python3 -c "import sys; sys.path.insert(0, '$RIG_TOOLS_DIR'); from client import one_conn; print(one_conn('$B3', 80, 2).get('backend'))")
check "b3 still answers on its own address $B3 ($b3own): a check there would pass" [ "$b3own" = b3 ]
out=$(hc_wait "$t0" "$DOWN_DEADLINE_S" "st('b3') == 'down' and w('b3') == 0")
ok=$?
echo "  b3 down after $(hcw elapsed_ms "$out") ms: $(hcw view "$out")"
check "b3 is down with weight 0 within ${DOWN_DEADLINE_S} s" int_eq "$ok" 0
burst_fixed 60
out=$BURST_OUT
check "60 new connections all answered, none by b3 ($(json_get - by_backend <<<"$out"))" \
	[ "$(json_get - "d['ok'] == 60 and 'b3' not in d['by_backend']" <<<"$out")" = true ]
t0=$(now_ms)
ip -n "$(rig_ns_b 3)" addr add "$RIG_VIP4/32" dev lo
out=$(hc_wait "$t0" "$UP_DEADLINE_S" "st('b3') == 'up' and w('b3') == 1")
ok=$?
echo "  b3 up after $(hcw elapsed_ms "$out") ms: $(hcw view "$out")"
check "VIP back on b3's lo: b3 up with weight 1 within ${UP_DEADLINE_S} s" int_eq "$ok" 0

# ---- 4 ---------------------------------------------------------------------
# closed_drops LABEL: 10 connections to $VIP are dropped by the LB (no new
# flow, at least one drop each), none answered.
closed_drops() {
	lb_stats "$RIG_TMP/c-$1.a.json"
	burst_fixed 10 --timeout 1 --parallel 10
	lb_stats "$RIG_TMP/c-$1.b.json"
	lb_stats_delta "$RIG_TMP/c-$1.a.json" "$RIG_TMP/c-$1.b.json" >"$RIG_TMP/c-$1.d.json"
	local drops new
	drops=$(lb_drops "$RIG_TMP/c-$1.d.json")
	new=$(lb_gstat "$RIG_TMP/c-$1.d.json" new_flow)
	check "$1: fail-closed drops: no new flow ($new), drops $drops >= 10, none answered ($(json_get - ok <<<"$BURST_OUT"))" \
		bash -c '[ "$1" = 0 ] && [ "$2" -ge 10 ] && [ "$3" = 0 ]' _ "$new" \
		"$(json_get - "sum(d.values())" <<<"$drops")" "$(json_get - ok <<<"$BURST_OUT")"
}

step "4. all backends down: fail-open (the default)"
for i in 1 2 3; do server_stop "$i"; done
out=$(hc_wait "$(now_ms)" "$DOWN_DEADLINE_S" "all(st(n) == 'down' for n in b)")
ok=$?
echo "  $(hcw view "$out"), all_down $(hcw all_down "$out")"
check "all three down" int_eq "$ok" 0
out=$(hc_wait "$(now_ms)" 3 "v.get('all_down') is True and all(w(n) == aw(n) == 1 for n in b)")
check "fail-open: the VIP is all_down and every ring weight is back at the admin weight 1 ($(hcw view "$out"))" \
	hc_ok "$out"
check "lbd logged 'all down: failing open'" grep -q "all down: failing open" "$RIG_LBD_LOG"
lb_stats "$RIG_TMP/s4a.json"
burst_fixed 30 --timeout 2
out=$BURST_OUT
lb_stats "$RIG_TMP/s4b.json"
lb_stats_delta "$RIG_TMP/s4a.json" "$RIG_TMP/s4b.json" >"$RIG_TMP/d4.json"
echo "  30 connections: ok $(json_get - ok <<<"$out"), errors $(json_get - "d['errors'][:2]" <<<"$out")"
check "fail-open forwards: 30 new flows ($(lb_gstat "$RIG_TMP/d4.json" new_flow)), no drop_no_backend ($(lb_gstat "$RIG_TMP/d4.json" drop_no_backend))" \
	bash -c '[ "$1" -ge 30 ] && [ "$2" = 0 ]' _ "$(lb_gstat "$RIG_TMP/d4.json" new_flow)" "$(lb_gstat "$RIG_TMP/d4.json" drop_no_backend)"
check "the backends themselves refused them (the SYNs got there)" \
	[ "$(json_get - "d['ok'] == 0 and all('refused' in e for e in d['errors'])" <<<"$out")" = true ]

step "4b. switched to fail-closed while all down"
set_health --all-down fail-closed
out=$(hc_wait "$(now_ms)" 5 "v.get('all_down') is True and all(w(n) == 0 for n in b)")
check "fail-closed: every ring weight 0 ($(hcw view "$out"))" hc_ok "$out"
closed_drops "switched"

step "4c. servers back"
for i in 1 2 3; do server_start "$i"; done
out=$(hc_wait "$(now_ms)" "$UP_DEADLINE_S" "all(st(n) == 'up' and w(n) == 1 for n in b) and not v.get('all_down')")
check "all up with weight 1, no longer all down ($(hcw view "$out"))" hc_ok "$out"
check "lbd logged the end of all-down" grep -q "no longer all down" "$RIG_LBD_LOG"

step "4d. fail-closed set, then all backends go down"
for i in 1 2 3; do server_stop "$i"; done
out=$(hc_wait "$(now_ms)" "$DOWN_DEADLINE_S" "all(st(n) == 'down' for n in b) and v.get('all_down') is True")
check "all three down, the VIP all_down ($(hcw view "$out"))" hc_ok "$out"
check "... every ring weight stays 0" [ "$(hcw "[d['view'][n]['weight'] for n in sorted(d['view'])]" "$out")" = '[0, 0, 0]' ]
check "lbd logged 'all down: failing closed'" grep -q "all down: failing closed" "$RIG_LBD_LOG"
closed_drops "went down"
for i in 1 2 3; do server_start "$i"; done
out=$(hc_wait "$(now_ms)" "$UP_DEADLINE_S" "all(st(n) == 'up' and w(n) == 1 for n in b) and not v.get('all_down')")
check "servers back: all up with weight 1 ($(hcw view "$out"))" hc_ok "$out"
set_health --all-down fail-open
burst_fixed 60
out=$BURST_OUT
check "60 new connections all answered ($(json_get - by_backend <<<"$out"))" [ "$(json_get - ok <<<"$out")" = 60 ]

# ---- 5 ---------------------------------------------------------------------
step "5. lbctl apply: b1's override checks /status/500"
cfg_new
cfg_vip "$VIP" tcp ipip
for a in "$B1" "$B2" "$B3"; do cfg_backend "$VIP" tcp "$a" - 1; done
cfg_health "$VIP" tcp "$HC_JSON"
cfg_health "$VIP" tcp '{"path": "/status/500"}' "$B1"
t0=$(now_ms)
cfg_apply
out=$(hc_wait "$t0" "$DOWN_DEADLINE_S" "st('b1') == 'down' and w('b1') == 0 and 'http status 500' in (h('b1') or {}).get('reason', '')")
ok=$?
echo "  $(hcw view "$out")"
check "b1 down, weight 0, reason 'http status 500 ...'" int_eq "$ok" 0
check "b2 and b3 stay up" [ "$(hcw "[d['view']['b2']['state'], d['view']['b3']['state']]" "$out")" = '["up", "up"]' ]
check "lbd logged b1 down for http status 500" grep -q "$B1.* down: .*http status 500" "$RIG_LBD_LOG"
cfg_health "$VIP" tcp null "$B1"
t0=$(now_ms)
cfg_apply
out=$(hc_wait "$t0" "$UP_DEADLINE_S" "st('b1') == 'up' and w('b1') == 1")
check "without the override b1 comes back up ($(hcw view "$out"))" hc_ok "$out"

# ---- 6 ---------------------------------------------------------------------
step "6. drain b3: health stays visible and checked, the weight stays 0"
lbctl_quiet drain-backend "$VIP" --proto tcp "$B3"
out=$(hc_wait "$(now_ms)" 5 "w('b3') == 0 and st('b3') == 'up'")
check "drained b3: weight 0, health still 'up' ($(hcw view "$out"))" hc_ok "$out"
check "drained b3's admin state is 'draining' in lbctl list --json" \
	[ "$(lbctl_ list --json | json_get - "[b.get('state') for v in d['vips'] for b in v['backends'] if b['address'] == '$B3']")" = '["draining"]' ]
at0=$(lbctl_ list --json | json_get - "[b['health']['last']['at_ms'] for v in d['vips'] for b in v['backends'] if b['address'] == '$B3'][0]")
out=$(hc_wait "$(now_ms)" 5 "(h('b3') or {}).get('last', {}).get('at_ms', 0) > ${at0:-0} + $INTERVAL_MS")
check "b3 is still checked while drained (a later check than at_ms $at0)" hc_ok "$out"
check "... and still weight 0" [ "$(hcw "d['view']['b3']['weight']" "$out")" = 0 ]
burst_fixed 60
out=$BURST_OUT
check "60 new connections all answered, none by drained b3 ($(json_get - by_backend <<<"$out"))" \
	[ "$(json_get - "d['ok'] == 60 and 'b3' not in d['by_backend']" <<<"$out")" = true ]
server_stop 3
out=$(hc_wait "$(now_ms)" "$DOWN_DEADLINE_S" "st('b3') == 'down'")
check "drained b3 goes down when its server stops, weight 0 ($(hcw view "$out"))" \
	[ "$(hcw "d['ok'] and d['view']['b3']['weight'] == 0" "$out")" = true ]
server_start 3
out=$(hc_wait "$(now_ms)" "$UP_DEADLINE_S" "st('b3') == 'up'")
check "drained b3 comes up again ($(hcw view "$out"))" hc_ok "$out"
at0=$(lbctl_ list --json | json_get - "[b['health']['last']['at_ms'] for v in d['vips'] for b in v['backends'] if b['address'] == '$B3'][0]")
out=$(hc_wait "$(now_ms)" 5 "(h('b3') or {}).get('last', {}).get('at_ms', 0) > ${at0:-0} + $INTERVAL_MS")
check "up and drained: b3 stays at weight 0 after more checks ($(hcw view "$out"))" \
	[ "$(hcw "d['ok'] and d['view']['b3']['weight'] == 0" "$out")" = true ]
lbctl_quiet add-backend "$VIP" --proto tcp "$B3" --weight 1
out=$(hc_wait "$(now_ms)" 5 "w('b3') == 1 and st('b3') == 'up'")
check "add-backend returns b3: weight 1, up ($(hcw view "$out"))" hc_ok "$out"

# ---- 7 ---------------------------------------------------------------------
# restart_with_b2_down LABEL [lbd options]: b2's server stops, b2 goes down
# and the state file says so; lbd is killed (-9) and started again (same
# --state-dir, lbd_start's RIG_STATE_DIR, plus the options): b2 is down with
# weight 0 at once (its server is still dead, so no check can have brought
# it up), new connections avoid it, and it is up once its server is back.
restart_with_b2_down() {
	local label=$1 t_stop t0
	shift
	step "7. $label"
	t_stop=$(now_ms)
	server_stop 2
	out=$(hc_wait "$(now_ms)" "$DOWN_DEADLINE_S" "st('b2') == 'down' and w('b2') == 0")
	check "b2 down, weight 0 ($(hcw view "$out"))" hc_ok "$out"
	# Written after b2's server stopped, naming b2 and a down state (the
	# file's layout is lbd's own; only b2 is down).
	state_has_b2_down() {
		[[ -s "$STATE_FILE" ]] && int_ge "$(stat -c %Y "$STATE_FILE")" "$((t_stop / 1000))" &&
			grep -q "$B2" "$STATE_FILE" && grep -q down "$STATE_FILE"
	}
	check "the state file $STATE_FILE records b2 down" wait_for 5 state_has_b2_down
	lbd_kill KILL
	check "the program stays attached while lbd is down" lbd_prog_attached
	lbd_start "$@" || { fail "lbd restarts ($label)"; rig_finish; }
	out=$(hc_wait "$(now_ms)" 0 "st('b2') == 'down' and w('b2') == 0")
	check "right after the restart b2 is down with weight 0 ($(hcw view "$out"))" hc_ok "$out"
	check "the VIP's checks survived the restart (check http, interval ${INTERVAL_MS}ms)" \
		[ "$(lbctl_ list --json | json_get - "[(v['health']['check'], v['health']['interval']) for v in d['vips']]")" = \
		"[[\"http\", \"${INTERVAL_MS}ms\"]]" ]
	burst_fixed 60
	out=$BURST_OUT
	check "60 new connections after the restart all answered, none by b2 ($(json_get - by_backend <<<"$out"))" \
		[ "$(json_get - "d['ok'] == 60 and 'b2' not in d['by_backend']" <<<"$out")" = true ]
	server_start 2
	t0=$(now_ms)
	out=$(hc_wait "$t0" "$UP_DEADLINE_S" "st('b2') == 'up' and w('b2') == 1")
	echo "  b2 up after $(hcw elapsed_ms "$out") ms: $(hcw view "$out")"
	check "b2 comes back up with weight 1 after its server returns" hc_ok "$out"
}

restart_with_b2_down "lbd restart with b2 down: the state directory alone"
restart_with_b2_down "lbd restart with b2 down, with --config (the config's weights meet the saved states)" \
	--config "$RIG_CFG"
tcp_burst_checked "$RIG_VIP4" 150 20 47

# ---- 8 ---------------------------------------------------------------------
step "8. hold-down 5s: b2's server is back at once, b2 stays out until 5 s after it went down"
HOLD_MS=5000
set_health --hold-down "${HOLD_MS}ms"
server_stop 2
# b2's last change (up, in step 7) may be less than the hold-down ago:
# then going down waits for it too.
out=$(hc_wait "$(now_ms)" $((HOLD_MS / 1000 + DOWN_DEADLINE_S)) "st('b2') == 'down' and w('b2') == 0")
check "b2 down ($(hcw view "$out"))" hc_ok "$out"
down_since=$(lbctl_ list --json | json_get - "[b['health']['since_ms'] for v in d['vips'] for b in v['backends'] if b['address'] == '$B2'][0]")
server_start 2
out=$(hc_wait "$(now_ms)" $(((HOLD_MS + UP_BOUND_MS + 3000) / 1000)) "st('b2') == 'up' and w('b2') == 1")
check "b2 up again ($(hcw view "$out"))" hc_ok "$out"
up_since=$(lbctl_ list --json | json_get - "[b['health']['since_ms'] for v in d['vips'] for b in v['backends'] if b['address'] == '$B2'][0]")
echo "  down at $down_since, up at $up_since: $((up_since - down_since)) ms apart (hold-down $HOLD_MS ms)"
check "not before the hold-down ended ($((up_since - down_since)) ms >= $HOLD_MS ms)" int_ge "$((up_since - down_since))" "$HOLD_MS"
check "the reason says the hold-down held it ($(hcw "d['view']['b2']['reason']" "$out"))" \
	bash -c '[[ "$1" == *hold-down* ]]' _ "$(hcw "d['view']['b2']['reason']" "$out")"

rig_finish
