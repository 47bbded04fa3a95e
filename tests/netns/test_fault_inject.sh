#!/usr/bin/env bash
# Every request all-or-nothing, against the real kernel (issue 11): strace
# makes one bpf() call of a running lbd fail (ENOMEM), for each call of
# add-vip, add-backend, del-backend --purge and a 20-VIP apply in turn.
# After each:
#   - `lbctl status --verify` finds lbd and the maps in agreement;
#   - a request that failed (exit 1) changed nothing `lbctl list` shows, and
#     one that succeeded shows its result (a failed purge may leave the
#     backend removed: that step is a request of its own);
#   - re-applying the base config converges.
# Then lbd is killed (SIGKILL) at calls of a purge, restarted, and must not
# bring the backend back into the ring. Traffic goes through at the end.
#
# scripts/test.sh runs a reduced sweep (about 12 calls per request, spread
# over all of them); scripts/fault_sweep.sh sets FAULT_FULL=1 for every call.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
command -v strace >/dev/null || skip "strace is not installed (scripts/install-deps.sh installs it)"
rig_create 3
FULL=${FAULT_FULL:-0}
POINTS=${FAULT_POINTS:-12}

lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
VIP=$RIG_VIP4
B1=$(rig_b4 1)
B2=$(rig_b4 2)
B3=$(rig_b4 3)

# The base: the rig's VIP on two backends and five more VIPs; the 20-VIP
# config keeps the first (with B3 added), changes some and adds the rest.
BASE=$RIG_TMP/base.json
TWENTY=$RIG_TMP/twenty.json
python3 - "$BASE" "$TWENTY" "$VIP" "$B1" "$B2" "$B3" <<'EOF'
import json, sys
base, twenty, vip, b1, b2, b3 = sys.argv[1:]
def v(addr, backends, **kw):
    d = {"vip": addr + ":80", "proto": "tcp", "ring_size": 1021,
         "backends": [{"address": b, "weight": w} for b, w in backends]}
    d.update(kw)
    return d
others = ["198.18.101.%d" % i for i in range(1, 20)]
# Flows stay until a purge deletes them: the kill sweep counts them.
keep = {"tcp_established": 3600, "tcp_half_open": 3600, "tcp_closing": 3600, "udp": 3600}
json.dump({"timeouts": keep, "vips": [v(vip, [(b1, 1), (b2, 1)])] +
           [v(o, [(b1, 1), (b2, 2)]) for o in others[:5]]}, open(base, "w"))
json.dump({"timeouts": keep, "vips": [v(vip, [(b1, 1), (b2, 1), (b3, 1)])] +
           [v(o, [(b1, 2), (b3, 1)], sched="least-conn" if i % 3 == 0 else "maglev",
              ring_size=1031 if i == 1 else 1021) for i, o in enumerate(others)]}, open(twenty, "w"))
EOF
check "the base config applies" lbctl_quiet apply -f "$BASE"

LBD_TRACE=$RIG_TMP/strace.out
# traced_pid: lbd's tracer, 0 if none.
traced_pid() { awk '/^TracerPid:/ {print $2}' "/proc/$RIG_LBD_PID/status" 2>/dev/null || echo 0; }
is_traced() { [[ "$(traced_pid)" != 0 ]]; }
not_traced() { [[ "$(traced_pid)" == 0 ]]; }
# strace_start ARGS...: attaches strace to lbd's main thread (the one that
# serves requests; the reaper's thread is left alone) and waits until it is.
strace_start() {
	strace -qq -p "$RIG_LBD_PID" -e trace=bpf "$@" -o "$LBD_TRACE" &
	STRACE_PID=$!
	wait_for 10 is_traced || { fail "strace attaches to lbd"; return 1; }
}
strace_stop() {
	kill -INT "$STRACE_PID" 2>/dev/null
	wait "$STRACE_PID" 2>/dev/null
	wait_for 10 not_traced || fail "strace detaches from lbd"
}

# calls_of CMD...: how many bpf() calls lbd's main thread makes serving it.
calls_of() {
	strace_start || return 1
	lbctl_ "$@" >"$RIG_TMP/op.out" 2>&1 || { fail "lbctl $* fails without a fault: $(head -c 300 "$RIG_TMP/op.out")"; strace_stop; return 1; }
	strace_stop
	local k
	k=$(grep -c '^bpf(' "$LBD_TRACE")
	((k > 0)) || { fail "strace saw no bpf() call of lbctl $*"; return 1; }
	echo "$k"
}

# points K: the call numbers to fail, all of them with FAULT_FULL=1, else
# about $POINTS spread from the first to the last.
points() {
	local k=$1 i
	if ((FULL || k <= POINTS)); then
		seq 1 "$k"
	else
		for ((i = 0; i < POINTS; i++)); do echo $((1 + i * (k - 1) / (POINTS - 1))); done | uniq
	fi
}

listing() { lbctl_ list --json 2>&1; }
# shape: what lbctl list shows, less the backends removed earlier (the
# reaper frees those whenever it finds them without flows) and the counts.
shape() {
	local out
	out=$(listing | python3 -c '
import json, sys
for v in json.load(sys.stdin)["vips"]:
    print(v["vip"], v["proto"], v["sched"], v["mode"], v["ring_size"])
    for b in v["backends"]:
        if b["state"] != "removed":
            print("  ", b["address"], b.get("port", "-"), b["weight"], b["state"], b["ring_slots"])') || {
		echo "unreadable list $RANDOM$RANDOM" # never equal to another
		return
	}
	printf '%s\n' "$out"
}
has_backend() { listing | python3 -c '
import json, sys
vip, addr, want = sys.argv[1], sys.argv[2], sys.argv[3]
for v in json.load(sys.stdin)["vips"]:
    if v["vip"] == vip:
        for b in v["backends"]:
            if b["address"] == addr and b["state"] in want.split(","):
                sys.exit(0)
sys.exit(1)' "$1" "$2" "$3"; }

verified() {
	local out
	out=$(lbctl_ status --verify 2>&1) && return 0
	printf '%s\n' "$out" | grep -E 'verify|disagree|error' | sed 's/^/      /' >&2
	return 1
}

# sweep NAME SETUP CHECK_OK CHECK_FAILED -- CMD...: for each chosen call
# number n: reset to the base (SETUP), fail call n of CMD, then verify.
sweep() {
	local name=$1 setup=$2 on_ok=$3 on_failed=$4
	shift 5
	$setup
	local k
	k=$(calls_of "$@") || return
	$setup
	log "$name: $k bpf() calls; failing $(points "$k" | wc -l) of them"
	local n rc bad=0 failed=0 before
	for n in $(points "$k"); do
		$setup
		before=$(shape)
		strace_start -e inject=bpf:error="$INJECT_ERR":when="$n" || return
		lbctl_ "$@" >"$RIG_TMP/op.out" 2>&1
		rc=$?
		strace_stop
		if ((rc != 0 && rc != 1)); then
			fail "$name, call $n failing: lbctl exit $rc: $(head -c 300 "$RIG_TMP/op.out")"
			bad=1
			continue
		fi
		((rc == 1)) && failed=$((failed + 1))
		if ! verified; then
			fail "$name, call $n failing (lbctl exit $rc): lbd and the maps disagree"
			bad=1
		elif ((rc == 0)) && ! $on_ok; then
			fail "$name, call $n failing: succeeded but lbctl list does not show it"
			bad=1
		elif ((rc == 1)) && ! $on_failed "$before"; then
			fail "$name, call $n failing: failed ($(head -c 200 "$RIG_TMP/op.out")) but lbctl list changed"
			bad=1
		fi
		if ! lbctl_quiet apply -f "$BASE" || ! verified; then
			fail "$name, call $n failing: re-applying the base does not converge"
			bad=1
		fi
	done
	((bad)) || pass "$name: every failed call left lbd and the maps agreeing ($failed of the requests failed, the rest survived the error)"
}

reset_base() { lbctl_quiet apply -f "$BASE" >/dev/null 2>&1; }
INJECT_ERR=ENOMEM
unchanged() { [[ "$(shape)" == "$1" ]]; }

step "add-vip"
reset_add_vip() {
	reset_base
	lbctl_ del-vip 198.18.102.1:80 --proto tcp >/dev/null 2>&1
	reset_base
}
vip_shown() { listing | grep -q '"198.18.102.1:80"'; }
sweep add-vip reset_add_vip vip_shown unchanged -- add-vip 198.18.102.1:80 --proto tcp --ring-size 1021

step "add-vip out of file descriptors (EMFILE)"
# What once left a phantom VIP: "already exists" on re-add, "no ring
# installed" on add-backend.
INJECT_ERR=EMFILE sweep add-vip-emfile reset_add_vip vip_shown unchanged -- add-vip 198.18.102.1:80 --proto tcp --ring-size 1021

step "add-backend"
b3_active() { has_backend "$VIP:80" "$B3" active; }
sweep add-backend reset_base b3_active unchanged -- add-backend "$VIP:80" --proto tcp "$B3"

step "del-backend --purge"
b2_gone() { ! has_backend "$VIP:80" "$B2" active,draining,removed; }
# A failed purge may have removed the backend (its first step) and no more.
# Removed, it is freed by the reaper as soon as a sweep finds it without
# flows, which may come before this check: gone counts as removed.
unchanged_or_removed() { unchanged "$1" || ! has_backend "$VIP:80" "$B2" active,draining; }
sweep purge reset_base b2_gone unchanged_or_removed -- del-backend "$VIP:80" --proto tcp "$B2" --purge

step "apply of 20 VIPs"
twenty_shown() { [[ $(listing | grep -c '"vip"') -ge 20 ]]; }
sweep apply-20 reset_base twenty_shown unchanged -- apply -f "$TWENTY"

step "lbd killed during a purge: the backend is never back in the ring without its flows"
# b2_flows: flows lbd lists for B2.
b2_flows() { lbctl_ flows --backend "$B2" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
reset_base
K=$(calls_of del-backend "$VIP:80" --proto tcp "$B2" --purge)
bad=0
for n in $(points "$K"); do
	reset_base
	# 30 connections: B2 gets some (all on B1: a chance of 2^-30).
	client_burst "$VIP" 30 >/dev/null
	flows_before=$(b2_flows)
	strace_start -e inject=bpf:signal=KILL:when="$n" || break
	lbctl_ del-backend "$VIP:80" --proto tcp "$B2" --purge >/dev/null 2>&1
	wait "$STRACE_PID" 2>/dev/null
	if kill -0 "$RIG_LBD_PID" 2>/dev/null; then
		strace_stop # the purge made fewer calls this time
	else
		{ wait "$RIG_LBD_PID"; } 2>/dev/null
		RIG_LBD_PID=
		lbd_start || { fail "lbd restarts after a kill at call $n"; bad=1; break; }
	fi
	# Killed before the backend was marked removed, the purge never
	# happened: B2 is active with all its flows. Killed after, it is
	# removed or gone, whatever became of its flows.
	if has_backend "$VIP:80" "$B2" active && [[ "$(b2_flows)" != "$flows_before" ]]; then
		fail "killed at call $n of a purge: $B2 is active again with $(b2_flows) of its $flows_before flows"
		bad=1
	fi
	verified || { fail "killed at call $n of a purge: lbd and the maps disagree after the restart"; bad=1; }
done
((bad)) || pass "killed at each of $(points "$K" | wc -l) calls of a purge: after the restart the backend is removed, or active with all its flows"

step "traffic after all that"
reset_base
check "lbd and the maps agree" verified
client_burst "$VIP" 60 >"$RIG_TMP/burst.json"
check "60 of 60 connections answered" [ "$(json_get "$RIG_TMP/burst.json" ok)" = 60 ]
rig_finish
