#!/usr/bin/env bash
# One owner per data path, and lbd's behaviour as a process (issue 11, parts
# 2 and 4):
#  - a second lbd with another --pin-root on the same interface, a third on an
#    extra interface of the first, and `lbd --detach` of either, are refused
#    with the owner's pid while it runs, and the owner keeps working;
#  - an interface dropped from --iface at a restart is detached, and logged;
#  - SIGHUP (no --config to reload) is logged and ignored; the socket file goes on SIGTERM and with a
#    fatal startup error; log lines carry timestamps; a failed request is
#    logged with the request; a restart logs "recovered"; a table size that
#    differs from the running maps is warned about;
#  - an interface that disappears or loses the program is logged (and when
#    it gets it back); pins removed under a running
#    lbd make it refuse changes, and status says why;
#  - 300 status calls leave lbd's fd count flat; bpf() failing (strace
#    injects ENOMEM) is not taken for vanished pins.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 1 --no-servers
VIP="$RIG_VIP4:80"
B1=$(rig_b4 1)
R2="$RIG_PIN_ROOT/r2" # a second pin root: inside the rig's, so the rig's cleanup removes it
IF_D="xd$RIG_S"       # extra LB interfaces: one to delete, one to drop from --iface
IF_F="xf$RIG_S"
ip -n "$RIG_NS_LB" link add "$IF_D" type veth peer name "xe$RIG_S" || die "veth $IF_D"
ip -n "$RIG_NS_LB" link add "$IF_F" type veth peer name "xg$RIG_S" || die "veth $IF_F"
for f in "$IF_D" "xe$RIG_S" "$IF_F" "xg$RIG_S"; do ip -n "$RIG_NS_LB" link set "$f" up; done

# lbd_other OUT ARGS...: another lbd in the LB namespace (own socket), run to
# its exit; its output in OUT, its exit code returned.
lbd_other() {
	local out=$1
	shift
	timeout 20 nsenter --net="/run/netns/$RIG_NS_LB" -- "$LBD_BIN" --state-dir "$RIG_STATE_DIR" "$@" >"$out" 2>&1 </dev/null
}
log_since() { sed -n "/^--- lbd start $1\$/,\$p" "$RIG_LBD_LOG"; } # the log from a marked start on
mark_start() { echo "--- lbd start $1" >>"$RIG_LBD_LOG"; }

step "lbd A on $RIG_IF_LB, $VIP/tcp -> b1"
mark_start A
lbd_start || { fail "lbd starts"; rig_finish; }
vip_setup "$VIP" tcp "$B1" || rig_finish
A=$RIG_LBD_PID

step "lbd B: same interface, pin root $R2"
lbd_other "$RIG_TMP/b.out" --iface "$RIG_IF_LB" --pin-root "$R2" --socket "$RIG_TMP/b.sock"
rc=$?
msg=$(tr '\n' ' ' <"$RIG_TMP/b.out")
check "B exits 1 (rc $rc: $msg)" int_eq "$rc" 1
check "  ... naming A's pid $A" grep -q "owned by another lbd (pid $A," "$RIG_TMP/b.out"
check "  ... and leaving nothing under $R2 ($(find "$R2" -mindepth 1 2>/dev/null | tr '\n' ' '))" [ -z "$(find "$R2" -mindepth 1 2>/dev/null)" ]
check "  ... and leaving no socket file (fatal startup error)" [ ! -e "$RIG_TMP/b.sock" ]

step "lbd --detach $RIG_IF_LB while A runs"
lbd_other "$RIG_TMP/d.out" --detach "$RIG_IF_LB" --pin-root "$RIG_PIN_ROOT"
rc=$?
check "--detach exits 1 ($(tr '\n' ' ' <"$RIG_TMP/d.out"))" int_eq "$rc" 1
check "  ... naming A's pid and lbctl detach" grep -q "pid $A,.*lbctl --socket $RIG_SOCK detach" "$RIG_TMP/d.out"
check "A answers status" lbctl_ok status
check "the program stays attached" lbd_prog_attached
check "the pins stay" [ -e "$RIG_PIN_ROOT/$RIG_IF_LB/xlb_config" ]
check "A still takes changes" lbctl_ok set-backend "$VIP" --proto tcp "$B1" --weight 2

step "300 status calls leave A's fds flat"
fds0=$(ls /proc/"$A"/fd | wc -l)
for _ in $(seq 300); do lbctl_ status >/dev/null || break; done
fds1=$(ls /proc/"$A"/fd | wc -l)
check "fds $fds0 -> $fds1" int_between "$fds1" $((fds0 - 2)) $((fds0 + 2))

step "SIGTERM: the socket file goes"
lbd_kill TERM
check "A exited, the socket file is gone" [ ! -e "$RIG_SOCK" ]

step "A again on $RIG_IF_LB, $IF_D, $IF_F"
RIG_LB_IFACES=("$RIG_IF_LB" "$IF_D" "$IF_F")
mark_start A2
lbd_start || { fail "lbd restarts on three interfaces"; rig_finish; }
A=$RIG_LBD_PID
check "restart logs recovered" eval 'log_since A2 | grep -q "recovered"'
lbd_other "$RIG_TMP/c.out" --iface "$IF_F" --pin-root "$R2" --socket "$RIG_TMP/c.sock"
rc=$?
check "lbd C on $IF_F, another pin root, exits 1 (rc $rc) naming A's pid" \
	eval "[ $rc = 1 ] && grep -q 'owned by another lbd (pid $A,' '$RIG_TMP/c.out'"
lbd_other "$RIG_TMP/d2.out" --detach "$IF_F" --pin-root "$RIG_PIN_ROOT"
rc=$?
check "lbd --detach $IF_F exits 1 (rc $rc) naming A's pid" eval "[ $rc = 1 ] && grep -q 'pid $A,' '$RIG_TMP/d2.out'"
check "  ... and $RIG_IF_LB keeps its program" lbd_prog_attached
rmdir "$R2" # empty (checked for B above); the rig's cleanup would call it a leftover

step "SIGHUP without --config is ignored"
kill -HUP "$A"
check "the log says so" wait_for 5 grep -q "SIGHUP ignored: lbd was started without --config" "$RIG_LBD_LOG"
check "A still answers" lbctl_ok status
check "A is still running" kill -0 "$A"

step "$IF_F loses the program, and gets it back"
prog=$(lbctl_ status --json | json_get - "d['prog_id']")
ip -n "$RIG_NS_LB" link set dev "$IF_F" xdp off
check "the log says so" wait_for 5 grep -q "interface $IF_F (ifindex [0-9]*) no longer carries this lbd's xlb_lb" "$RIG_LBD_LOG"
nsenter --net="/run/netns/$RIG_NS_LB" -- bpftool net attach xdpdrv id "$prog" dev "$IF_F" ||
	nsenter --net="/run/netns/$RIG_NS_LB" -- bpftool net attach xdpgeneric id "$prog" dev "$IF_F"
check "  ... and when it is back (prog $prog)" wait_for 5 grep -q "interface $IF_F carries this lbd's xlb_lb again" "$RIG_LBD_LOG"

step "$IF_D disappears"
ip -n "$RIG_NS_LB" link del "$IF_D"
check "the log says so" wait_for 5 grep -q "interface $IF_D is gone" "$RIG_LBD_LOG"
check "status still answers" lbctl_ok status

step "restart without $IF_F (and $IF_D), --flow-table-size 4096"
lbd_kill TERM
RIG_LB_IFACES=("$RIG_IF_LB")
mark_start A3
lbd_start --flow-table-size 4096 || { fail "lbd restarts on one interface"; rig_finish; }
A=$RIG_LBD_PID
check "$IF_F is detached" eval '! lbd_prog_attached "$IF_F"'
check "  ... and logged" eval 'log_since A3 | grep -q "$IF_F carried this lbd.s xlb_lb but is not among --iface: detached"'
check "$RIG_IF_LB keeps it" lbd_prog_attached
check "restart logs recovered" eval 'log_since A3 | grep -q "recovered"'
check "the size differs: warned, with how to resize" \
	eval 'log_since A3 | grep -q "flow-table-size 4096 differs from the running xlb_flows.*lbd --detach $RIG_IF_LB"'

step "re-attach over the pinned maps (program detached by hand)"
lbd_kill KILL
ip -n "$RIG_NS_LB" link set dev "$RIG_IF_LB" xdp off
mark_start A4
lbd_start || { fail "lbd restarts over the pinned maps"; rig_finish; }
A=$RIG_LBD_PID
check "logs re-attached ... (recovered" eval 'log_since A4 | grep -q "re-attached xlb_lb to $RIG_IF_LB.*(recovered"'
check "  ... not a plain attached" eval '! log_since A4 | grep -q "lbd: attached xlb_lb"'
check "  ... and recovered the VIP" eval 'log_since A4 | grep -q "recovered 1 VIPs"'

step "log lines"
bad=$(grep -v '^--- lbd start' "$RIG_LBD_LOG" | grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z ')
check "every line has an ISO 8601 UTC timestamp ($bad without)" int_eq "$bad" 0
lbctl_ add-vip "$VIP" --proto tcp >/dev/null 2>&1
check "a failed request is logged with the request" \
	grep -q 'request failed: {.*"cmd":"add-vip".*}: .*already exists' "$RIG_LBD_LOG"
check "no memlock noise without --verbose" eval '! grep -q "ulimit -l" "$RIG_LBD_LOG"'

if command -v strace >/dev/null; then
	step "every bpf() call of A fails for 2.5 s (ENOMEM): the pins are not taken for gone"
	traced() { [[ "$(awk '/^TracerPid:/ {print $2}' "/proc/$A/status")" != 0 ]]; }
	strace -qq -p "$A" -e trace=bpf -e inject=bpf:error=ENOMEM -o /dev/null &
	tracer=$!
	wait_for 10 traced || fail "strace attaches to lbd"
	sleep 2.5 # the watch runs once a second: let it meet the errors
	kill -INT "$tracer"
	wait "$tracer" 2>/dev/null
	wait_for 10 eval '! traced' || fail "strace detaches from lbd"
	check "no pins-gone error in the log" eval '! grep -q "maps were removed" "$RIG_LBD_LOG"'
	check "A takes changes" lbctl_ok add-vip 198.18.100.3:80 --proto tcp
else
	log "strace is not installed: the injected-error step is skipped"
fi

step "the pins vanish under A"
rm -rf "${RIG_PIN_ROOT:?}/$RIG_IF_LB"
check "the log says so" wait_for 5 grep -q "the data path's maps were removed (pins under $RIG_PIN_ROOT/$RIG_IF_LB are gone): restart lbd" "$RIG_LBD_LOG"
lbctl_ add-vip 198.18.100.2:80 --proto tcp >"$RIG_TMP/add.out" 2>&1
rc=$?
check "add-vip fails (rc $rc: $(cat "$RIG_TMP/add.out"))" int_eq "$rc" 1
check "  ... saying the maps were removed" grep -q "maps were removed (pins under $RIG_PIN_ROOT/$RIG_IF_LB are gone): restart lbd" "$RIG_TMP/add.out"
check "status still answers, with the reason" eval 'lbctl_ status --json | json_get - "d[\"data_path_error\"]" | grep -q "restart lbd"'
rig_finish
