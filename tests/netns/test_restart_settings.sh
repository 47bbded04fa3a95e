#!/usr/bin/env bash
# The reaper's settings survive a restart without --config (issue 11, part
# 4): lbd started with a config setting tcp_half_open 600 s and a reap
# interval of 250 ms, killed with -9 and started again without --config,
# still shows them in `lbctl status --json` (they are kept in xlb_config).
# And lbd refuses its own interface's addresses as VIPs and backends, and a
# VIP as its own backend, with exit 1 and a message.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 1
VIP="$RIG_VIP4:80"

cat >"$RIG_TMP/cfg.json" <<JSON
{"timeouts": {"tcp_established": 3600, "tcp_half_open": 600, "tcp_closing": 45, "udp": 90},
 "reap_interval_ms": 250,
 "vips": [{"vip": "$VIP", "proto": "tcp", "backends": [{"address": "$(rig_b4 1)"}]}]}
JSON

# status_field EXPR: one field of `lbctl status --json`.
status_field() { lbctl_ status --json | json_get - "$1"; }

step "lbd with a config: tcp_half_open 600, reap_interval_ms 250"
lbd_start --config "$RIG_TMP/cfg.json" || { fail "lbd starts with the config"; rig_finish; }
check "status shows tcp_half_open 600" int_eq "$(status_field "d['timeouts']['tcp_half_open']")" 600
check "status shows the reaper's interval 250 ms" int_eq "$(status_field "d['reaper']['interval_ms']")" 250

step "kill -9, start again without --config"
lbd_kill KILL
lbd_start || { fail "lbd restarts"; rig_finish; }
check "status still shows tcp_half_open 600" int_eq "$(status_field "d['timeouts']['tcp_half_open']")" 600
check "and tcp_established 3600, tcp_closing 45, udp 90" \
	[ "$(status_field "[d['timeouts'][k] for k in ('tcp_established', 'tcp_closing', 'udp')]")" = "[3600, 45, 90]" ]
check "and the reaper's interval 250 ms" int_eq "$(status_field "d['reaper']['interval_ms']")" 250
check "the VIP is still there" int_eq "$(status_field "d['vips']")" 1
check "lbctl status --verify: model and maps agree" lbctl_quiet status --verify

step "refused addresses"
# expect_refused DESC WANT ARGS...: lbctl exits 1 and its message contains WANT.
expect_refused() {
	local desc=$1 want=$2 err rc
	shift 2
	err=$(lbctl_ "$@" 2>&1 >/dev/null)
	rc=$?
	check "$desc: exit 1 (rc $rc)" int_eq "$rc" 1
	check "$desc: says '$want' ($err)" grep -qF -- "$want" <<<"$err"
}
expect_refused "the LB's own address as a VIP" "it is the load balancer's own address" \
	add-vip "$RIG_LB4:80" --proto tcp
expect_refused "the LB's own IPv6 address as a VIP" "it is the load balancer's own address" \
	add-vip "[$RIG_LB6]:80" --proto tcp
expect_refused "the LB's own address as a backend" "it is the load balancer's own address" \
	add-backend "$VIP" --proto tcp "$RIG_LB4"
expect_refused "the VIP as its own backend" "cannot be a backend of its own VIP" \
	add-backend "$VIP" --proto tcp "$RIG_VIP4"
expect_refused "a loopback VIP" "loopback" add-vip 127.0.0.1:80 --proto tcp
check "status still shows 1 VIP and 1 backend" \
	[ "$(status_field "[d['vips'], d['backends']]")" = "[1, 1]" ]

rig_finish
