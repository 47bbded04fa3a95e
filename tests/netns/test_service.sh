#!/usr/bin/env bash
# lbd under systemd's service protocol, without systemd: this machine's PID 1
# is not systemd (checked and said below), so the units can't be started
# for real. tests/tools/sd_harness.py plays systemd's part instead:
#  - notify: NOTIFY_SOCKET is a datagram socket the harness binds. READY=1
#    must come only once lbd answers on its control socket with the
#    config applied (the harness asks at the moment READY=1 is read);
#    WATCHDOG=1 must come again and again with WATCHDOG_USEC set; STOPPING=1
#    must come on SIGTERM, and lbd exit 0.
#  - journal: in a private mount namespace, a tmpfs on /run/systemd holds a
#    socket bound where journald's native socket lives, and JOURNAL_STREAM
#    names lbd's stderr, as systemd sets it for a service. Every line must
#    arrive as an entry with PRIORITY, SYSLOG_IDENTIFIER=lbd and XLB_IFACE;
#    a failing health check's transition as a warning with XLB_VIP,
#    XLB_BACKEND and XLB_HEALTH; a fatal error as PRIORITY=3; and nothing on
#    stderr.
# lbd's stderr outside systemd (timestamped lines) is what every other test
# reads; the first run here checks it too.
set -u
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
HARNESS="$RIG_SRC_DIR/tests/tools/sd_harness.py"

step "is systemd running here?"
if [[ $(cat /proc/1/comm 2>/dev/null) == systemd ]] && systemctl is-system-running >/dev/null 2>&1; then
	echo "NOTE: PID 1 is systemd, but this test still does not start lbd@.service: it would attach to a"
	echo "      host interface. The protocol is tested with the harness below."
else
	echo "NOTE: NOT RUN FOR REAL: PID 1 is '$(cat /proc/1/comm 2>/dev/null)', not systemd" \
		"(systemctl is-system-running: $(systemctl is-system-running 2>&1 | head -1))."
	echo "      lbd@.service is not started; sd_notify and journald are tested with a stand-in (sd_harness.py)."
fi

rig_create 1
VIP=198.18.100.1
CFG="$RIG_TMP/service.json"
# A health check on a port nothing listens on: the backend goes down at its
# first check, a transition to log.
cat >"$CFG" <<JSON
{"vips": [{"vip": "$VIP:80", "proto": "tcp",
  "health": {"check": "tcp", "port": 9, "interval": "200ms", "timeout": "100ms", "fall": 1},
  "backends": [{"address": "$(rig_b4 1)"}]}]}
JSON
lbd_cmd() { # extra args...
	echo nsenter --net="/run/netns/$RIG_NS_LB" -- "$LBD_BIN" --iface "$RIG_IF_LB" --pin-root "$RIG_PIN_ROOT" \
		--socket "$RIG_SOCK" --xdp-mode "$RIG_XDP_MODE" "$@"
}

step "notify: READY after the socket answers with the config applied, WATCHDOG, STOPPING"
python3 "$HARNESS" notify --sock "$RIG_TMP/notify.sock" --lbd-sock "$RIG_SOCK" --watchdog-usec 400000 -- \
	$(lbd_cmd --state-dir "$RIG_TMP/state1" --config "$CFG") >"$RIG_TMP/notify.json" 2>>"$RIG_LBD_LOG"
N="$RIG_TMP/notify.json"
cat "$N"
check "READY=1 arrived" [ "$(json_get "$N" ready)" = true ]
check "READY=1 said what it serves" json_get "$N" "[m for m in d['messages'] if m.startswith('READY=1') and '$RIG_IF_LB' in m][0]"
check "nothing before READY=1 claimed readiness" [ "$(json_get "$N" "len(d['before_ready'])")" = 0 ]
check "lbd answered on its socket when READY=1 was read" [ "$(json_get "$N" answers_at_ready)" = true ]
check "the config was applied when READY=1 was read" \
	[ "$(json_get "$N" "[v['vip'] for v in d['list_at_ready']['vips']]")" = "[\"$VIP:80\"]" ]
check "WATCHDOG=1 came again and again (3 seen)" [ "$(json_get "$N" watchdog_pings)" = 3 ]
check "lbd was still running before SIGTERM" [ "$(json_get "$N" running_before_term)" = true ]
check "STOPPING=1 after SIGTERM" json_get "$N" "[m for m in d['after_term'] if m.startswith('STOPPING=1')][0]"
check "lbd exited 0" [ "$(json_get "$N" exit)" = 0 ]
check "outside the journal, stderr lines are timestamped as before" \
	grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z lbd: listening on ' "$RIG_LBD_LOG"
check "the program stayed attached" lbd_prog_attached

# journal_run OUT ARGS...: the harness in journal mode, in a mount namespace
# of its own with /run/systemd on a tmpfs (the host's is untouched).
journal_run() {
	local out=$1
	shift
	unshare -m --propagation private -- sh -c 'mount -t tmpfs tmpfs /run/systemd && exec "$@"' sh \
		python3 "$HARNESS" journal --lbd-sock "$RIG_SOCK" "$@" >"$out" 2>>"$RIG_LBD_LOG"
}

step "journal: entries with priority and fields, nothing on stderr"
# A fresh state dir: the backend starts unchecked, so its check's failure
# is a transition (up/unchecked -> down) this run logs.
journal_run "$RIG_TMP/journal.json" --until XLB_HEALTH -- $(lbd_cmd --state-dir "$RIG_TMP/state2" --config "$CFG")
J="$RIG_TMP/journal.json"
json_get "$J" "'\n'.join(e.get('PRIORITY','?') + ' ' + e.get('MESSAGE','?') for e in d['entries'])"
check "lbd exited 0" [ "$(json_get "$J" exit)" = 0 ]
check "entries arrived" int_ge "$(json_get "$J" "len(d['entries'])")" 3
check "every entry has PRIORITY, SYSLOG_IDENTIFIER=lbd and XLB_IFACE=$RIG_IF_LB" [ "$(json_get "$J" \
	"all(e.get('SYSLOG_IDENTIFIER') == 'lbd' and e.get('XLB_IFACE') == '$RIG_IF_LB' and e.get('PRIORITY') in ('3','4','6') for e in d['entries'])")" = true ]
check "'listening on' is info (6)" [ "$(json_get "$J" \
	"[e['PRIORITY'] for e in d['entries'] if e['MESSAGE'].startswith('listening on ')]")" = '["6"]' ]
check "the backend's transition to down is a warning (4) naming VIP, backend and state" [ "$(json_get "$J" \
	"[(e['PRIORITY'], e['XLB_VIP'], e['XLB_BACKEND'], e['XLB_HEALTH']) for e in d['entries'] if 'XLB_HEALTH' in e][0]")" = \
	"[\"4\", \"$VIP:80/tcp\", \"$(rig_b4 1)\", \"down\"]" ]
check "nothing was written to stderr" [ -z "$(json_get "$J" stderr)" ]

step "journal: a fatal error is PRIORITY=3"
journal_run "$RIG_TMP/journal-err.json" -- $(lbd_cmd --state-dir "$RIG_TMP/state2" --config "$RIG_TMP/missing.json")
E="$RIG_TMP/journal-err.json"
json_get "$E" "'\n'.join(e.get('PRIORITY','?') + ' ' + e.get('MESSAGE','?') for e in d['entries'])"
check "lbd exited 1" [ "$(json_get "$E" exit)" = 1 ]
check "the error is an entry with PRIORITY=3 and XLB_IFACE" [ "$(json_get "$E" \
	"[(e['PRIORITY'], e['XLB_IFACE']) for e in d['entries'] if e['MESSAGE'].startswith('error: ') and 'missing.json' in e['MESSAGE']]")" = \
	"[[\"3\", \"$RIG_IF_LB\"]]" ]

rig_finish
