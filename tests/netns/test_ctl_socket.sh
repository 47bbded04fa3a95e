#!/usr/bin/env bash
# lbd's control socket against hostile clients (issue 11, docs/api.md
# "Framing"): idle clients do not stall lbctl, a deeply nested request is
# refused before it is parsed, lbctl does not read a config without bound,
# and lbd out of file descriptors backs off instead of spinning.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 1 --no-servers
VIP="$RIG_VIP4:80"

# hold_clients N SECONDS: N connections to lbd's socket that send nothing,
# held SECONDS in the background; returns once they are connected.
# HOLD_PID is the holder's pid.
hold_clients() {
	rm -f "$RIG_TMP/held"
	python3 - "$RIG_SOCK" "$1" "$2" "$RIG_TMP/held" <<'PY' &
import socket, sys, time
path, n, secs, ready = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
held = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    held.append(s)
open(ready, "w").close()
time.sleep(secs)
PY
	HOLD_PID=$!
	wait_for 10 [ -e "$RIG_TMP/held" ]
}
hold_stop() {
	kill "$HOLD_PID" 2>/dev/null
	wait "$HOLD_PID" 2>/dev/null
}

# lbd's own pid (RIG_LBD_PID may be a wrapper that forked it).
lbd_pid() {
	local pid=$RIG_LBD_PID child
	for _ in 1 2 3; do
		[[ "$(readlink "/proc/$pid/exe")" == "$(readlink -f "$LBD_BIN")" ]] && { echo "$pid"; return 0; }
		child=$(cat /proc/"$pid"/task/*/children 2>/dev/null | awk '{print $1; exit}')
		[[ -n "$child" ]] || return 1
		pid=$child
	done
	return 1
}

# CPU time (clock ticks) of lbd's main thread, which runs the socket loop.
main_thread_ticks() { awk '{print $14 + $15}' "/proc/$1/task/$1/stat"; }

step "lbd with $VIP/tcp"
lbd_start || { fail "lbd starts"; rig_finish; }
vip_setup "$VIP" tcp "$(rig_b4 1)" || rig_finish
check "lbd logged its open files limit" grep -q "open files limit" "$RIG_LBD_LOG"

step "70 idle clients"
hold_clients 70 30 || fail "70 clients connect"
out=$(lbctl_ --timeout 3 status 2>&1)
rc=$?
check "lbctl status is answered at once (ok, or 'lbd is busy'): exit $rc: ${out:0:100}" \
	eval '((rc == 0)) || grep -q "lbd is busy: 64 clients connected" <<<"$out"'
check "status is served once lbd drops the idle clients (2 s)" wait_for 10 eval 'lbctl_ status >/dev/null 2>&1'
hold_stop

step "a 16 MiB nested request"
answer=$(python3 - "$RIG_SOCK" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(10)
s.sendall(b"[" * (16 << 20) + b"\n")
print(s.makefile().readline().strip())
PY
)
check "is refused before parsing: $answer" grep -q '"ok":false.*deeper than 64 levels' <<<"$answer"
check "lbd still answers" eval 'lbctl_ status >/dev/null'

step "60 clients each holding 16 MiB of an unterminated request"
pid=$(lbd_pid) || { fail "find lbd's pid"; rig_finish; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
rss0=$(rss_kb "$pid")
# The sender keeps its connections open until told to stop: lbd holds what
# it buffered until then (their 2 s idle deadline comes later).
rm -f "$RIG_TMP/sent"
python3 - "$RIG_SOCK" "$RIG_TMP/sent" <<'PY' &
import socket, sys, time
path, done = sys.argv[1], sys.argv[2]
chunk = b"x" * (16 << 20)
held = []
for _ in range(60):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(chunk)
    held.append(s)
open(done, "w").close()
time.sleep(30)
PY
HOLD_PID=$!
check "lbd reads them all" wait_for 20 [ -e "$RIG_TMP/sent" ]
rss1=$(rss_kb "$pid")
# 1 GB before the cap; now at most the 64 MiB budget, and some slack.
check "lbd's RSS grew by $(((rss1 - rss0) / 1024)) MiB (at most 96)" int_le $((rss1 - rss0)) $((96 * 1024))
hold_stop
check "lbd still answers" wait_for 10 eval 'lbctl_ status >/dev/null 2>&1'

step "apply -f /dev/zero"
out=$(lbctl_ apply -f /dev/zero 2>&1)
rc=$?
check "exit 2 (want 2): $out" int_eq "$rc" 2
check "  ... saying the file is over lbd's 16 MiB" grep -q "larger than 16 MiB" <<<"$out"

step "lbd out of file descriptors"
pid=$(lbd_pid) || { fail "find lbd's pid"; rig_finish; }
old_limit=$(prlimit --pid "$pid" --nofile --raw --noheadings --output SOFT,HARD | awk '{print $1":"$2}')
nfd=$(ls "/proc/$pid/fd" | wc -l)
# Room for three connections (and whatever lbd opens meanwhile), then 20 more
# wait in the backlog: accept fails with EMFILE until the idle ones go.
prlimit --pid "$pid" --nofile=$((nfd + 3)):$((nfd + 3))
hold_clients 20 30 || fail "20 clients connect"
check "lbd logs that it cannot accept" wait_for 5 grep -q "cannot accept control connections: Too many open files" "$RIG_LBD_LOG"
t0=$(main_thread_ticks "$pid")
sleep 2
t1=$(main_thread_ticks "$pid")
hz=$(getconf CLK_TCK)
# It spun at 50-100% of a core (100-200 ticks at 100 Hz over 2 s); backing
# off it uses next to nothing. A fifth of the spin is the bound.
check "lbd's socket loop used $((t1 - t0)) ticks of CPU in 2 s (at most $((hz * 2 / 5)))" int_le $((t1 - t0)) $((hz * 2 / 5))
prlimit --pid "$pid" --nofile="$old_limit"
hold_stop
check "lbd logs when it accepts again" wait_for 10 grep -q "accepting control connections again" "$RIG_LBD_LOG"
check "lbctl status works again" wait_for 10 eval 'lbctl_ status >/dev/null 2>&1'
n=$(grep -c "cannot accept control connections" "$RIG_LBD_LOG")
check "the failure was logged a few times ($n), not per attempt" int_le "$n" 20

rig_finish
