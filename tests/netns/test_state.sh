#!/usr/bin/env bash
# One source of truth across restarts and reboots (issue 13): lbd keeps the
# running config in <state-dir>/<iface>.json after every change, and starts
# from (state/start_plan.h):
#  1. a restart with the same --config keeps what lbctl changed (a drained
#     backend stays drained, a VIP added with lbctl stays);
#  2. an edited --config is applied at the next start;
#  3. a "reboot" (the program and the pins gone, the state file kept)
#     rebuilds the running state from the file, lbctl changes included,
#     and the VIP forwards again;
#  4. `lbctl detach` forgets it: the next lbd starts empty.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 3
VIP="$RIG_VIP4:80"
VIP2="$RIG_VIP4:8080"
CFG="$RIG_TMP/cfg.json"
STATE="$RIG_STATE_DIR/$RIG_IF_LB.json"

write_cfg() { # BACKEND_INDEXES...
	local list="" i
	for i in "$@"; do list+="${list:+, }{\"address\": \"$(rig_b4 "$i")\"}"; done
	echo "{\"vips\": [{\"vip\": \"$VIP\", \"proto\": \"tcp\", \"backends\": [$list]}]}" >"$CFG"
}
# view: "VIP weights" for every VIP, e.g. "198.18.100.1:80 [0, 1] | ...".
view() {
	lbctl_ list --json | json_get - "' | '.join(v['vip'] + ' ' + str([b['weight'] for b in v['backends'] if b['state'] != 'removed']) for v in d['vips'])"
}
burst_ok() {
	sport_alloc 20
	client_burst "$RIG_VIP4" 20 --sport-base "$SPORT" >"$RIG_TMP/burst.json"
	[ "$(json_get "$RIG_TMP/burst.json" ok)" = 20 ]
}

step "lbd --config (b1, b2); lbctl drains b1 and adds $VIP2"
write_cfg 1 2
lbd_start --config "$CFG" || { fail "lbd starts"; rig_finish; }
decap_attach_all || die "xlb-decap attach failed"
lbctl_ok drain-backend "$VIP" --proto tcp "$(rig_b4 1)" >/dev/null
lbctl_ok add-vip "$VIP2" --proto tcp >/dev/null
lbctl_ok add-backend "$VIP2" --proto tcp "$(rig_b4 3)" >/dev/null
WANT="$VIP [0, 1] | $VIP2 [1]"
check "running: $WANT" [ "$(view)" = "$WANT" ]
check "the state file holds it" [ "$(json_get "$STATE" "len(d['config']['vips'])")" = 2 ]

step "1. restart with the same --config: the lbctl changes stay"
lbd_kill
lbd_start --config "$CFG" || { fail "lbd restarts"; rig_finish; }
check "still $WANT" [ "$(view)" = "$WANT" ]
check "the log says why" grep -q "the config file is the one last applied: keeping the running state" "$RIG_LBD_LOG"

step "2. an edited --config is applied at the next start"
write_cfg 1 2 3
lbd_kill
lbd_start --config "$CFG" || { fail "lbd restarts"; rig_finish; }
check "the file's VIPs and weights: $VIP [1, 1, 1]" [ "$(view)" = "$VIP [1, 1, 1]" ]
check "the log says why" grep -q "the config file changed since it was last applied" "$RIG_LBD_LOG"

step "3. a reboot: program and pins gone, the state file rebuilds the running state"
lbctl_ok drain-backend "$VIP" --proto tcp "$(rig_b4 2)" >/dev/null
lbd_kill KILL
ip -n "$RIG_NS_LB" link set dev "$RIG_IF_LB" xdp off
rm -rf "${RIG_PIN_ROOT:?}/$RIG_IF_LB"
lbd_start || { fail "lbd starts after the reboot"; rig_finish; }
check "rebuilt: $VIP [1, 0, 1]" [ "$(view)" = "$VIP [1, 0, 1]" ]
check "the log says so" grep -q "no pinned maps: rebuilding the running state from the state file" "$RIG_LBD_LOG"
check "the VIP forwards: 20 of 20 connections answered" burst_ok
check "none went to the drained b2" int_eq "$(json_get "$RIG_TMP/burst.json" "d['by_backend'].get('b2', 0)")" 0
lbd_kill
lbd_start --config "$CFG" || { fail "lbd restarts"; rig_finish; }
check "with the unchanged --config too: $VIP [1, 0, 1]" [ "$(view)" = "$VIP [1, 0, 1]" ]
check "lbctl status --verify" lbctl_quiet status --verify

step "4. lbctl detach forgets the running state"
lbctl_ok detach >/dev/null
deadline=$((SECONDS + 10))
while kill -0 "$RIG_LBD_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
RIG_LBD_PID=
check "the state file is gone" [ ! -e "$STATE" ]
lbd_start || { fail "lbd starts after the detach"; rig_finish; }
check "no VIPs" [ "$(lbctl_ list --json | json_get - "len(d['vips'])")" = 0 ]

rig_finish
