#!/usr/bin/env bash
# lbctl's error handling against a live daemon: every bad request fails with
# the documented exit code (1 operation failed, 2 bad usage) and a one-line
# message, and changes nothing. Without a daemon: exit 1, "is lbd running?".
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 1 --no-servers
VIP="$RIG_VIP4:80"
VIP6="[$RIG_VIP6]:80"
B1=$(rig_b4 1)

step "lbd with $VIP/tcp -> b1 and $VIP6/tcp -> b1 (IPv6)"
lbd_start || { fail "lbd starts"; rig_finish; }
vip_setup "$VIP" tcp "$B1" || rig_finish
vip_setup "$VIP6" tcp "$(rig_b6 1)" || rig_finish
lbctl_ list --json >"$RIG_TMP/list0.json" || fail "lbctl list --json"
lb_stats "$RIG_TMP/stats0.json"

# expect CODE DESCRIPTION LBCTL-ARGS...: lbctl exits with exactly CODE (a
# crash, 134 or 139, is no error code) and says why on stderr.
expect() {
	local want=$1 desc=$2 out err rc
	shift 2
	out=$(lbctl_ "$@" 2>"$RIG_TMP/err")
	rc=$?
	err=$(head -c 300 "$RIG_TMP/err" | tr '\n' ' ')
	check "$desc: lbctl $* -> exit $rc (want $want): $err" int_eq "$rc" "$want"
	check "  ... with a message on stderr" [ -s "$RIG_TMP/err" ]
}

step "operation failures: exit 1"
expect 1 "unknown VIP" add-backend 198.18.100.9:80 --proto tcp "$B1"
check "  ... naming the VIP" grep -q '198.18.100.9' "$RIG_TMP/err"
expect 1 "unknown VIP (del-vip)" del-vip 198.18.100.9:80 --proto tcp
expect 1 "unknown VIP (other protocol)" add-backend "$VIP" --proto udp "$B1"
expect 1 "duplicate backend" add-backend "$VIP" --proto tcp "$B1"
expect 1 "duplicate VIP" add-vip "$VIP" --proto tcp
expect 1 "IPv6 VIP with an IPv4 backend" add-backend "$VIP6" --proto tcp "$B1"
expect 1 "unknown backend (del-backend)" del-backend "$VIP" --proto tcp 198.18.0.99
expect 1 "unknown backend (set-backend)" set-backend "$VIP" --proto tcp 198.18.0.99 --weight 3

step "bad usage: exit 2"
expect 2 "bad address" add-backend "$VIP" --proto tcp 198.18.0.300
expect 2 "bad VIP address" add-vip 198.18.100.300:80 --proto tcp
expect 2 "bad IPv6 address" add-backend "$VIP6" --proto tcp fd00:18::zz
expect 2 "VIP without a port" add-vip 198.18.100.2 --proto tcp
expect 2 "port 0" add-vip 198.18.100.2:0 --proto tcp
expect 2 "port 65536" add-vip 198.18.100.2:65536 --proto tcp
expect 2 "bad protocol" add-vip 198.18.100.2:80 --proto sctp
expect 2 "missing --proto" add-vip 198.18.100.2:80
expect 2 "weight 0 on add-backend (1..65535)" add-backend "$VIP" --proto tcp 198.18.0.12 --weight 0
expect 2 "weight 65536" add-backend "$VIP" --proto tcp 198.18.0.12 --weight 65536
expect 2 "unknown command" frobnicate
expect 2 "unknown option" list --frobnicate

# docs/lbctl.md: a file that is not a JSON object is bad usage (exit 2,
# lbctl finds it before asking lbd); one that cannot be read, or whose
# contents lbd refuses as a config, is a failed operation (exit 1).
step "apply -f with bad input"
printf '{"vips": [' >"$RIG_TMP/bad.json"
expect 2 "truncated JSON" apply -f "$RIG_TMP/bad.json"
printf '[{"vips": []}]\n' >"$RIG_TMP/array.json"
expect 2 "JSON, but not an object" apply -f "$RIG_TMP/array.json"
printf '{"vips": [], "bogus_key": 1}\n' >"$RIG_TMP/unknown.json"
expect 1 "unknown key (lbd refuses it)" apply -f "$RIG_TMP/unknown.json"
printf '{"vips": [{"vip": "198.18.100.2:80", "proto": "tcp", "backends": [{"address": "198.18.0.300"}]}]}\n' >"$RIG_TMP/badaddr.json"
expect 1 "bad backend address in the config (lbd refuses it)" apply -f "$RIG_TMP/badaddr.json"
printf '{"vips": [{"vip": "198.18.100.2:80", "proto": "tcp", "backends": [{"address": "198.18.0.11"}]}, {"vip": "198.18.100.3:0", "proto": "tcp"}]}\n' >"$RIG_TMP/half.json"
expect 1 "one good and one bad VIP (all or nothing; lbd refuses it)" apply -f "$RIG_TMP/half.json"
expect 1 "missing file" apply -f "$RIG_TMP/does-not-exist.json"

step "nothing changed"
lbctl_ list --json >"$RIG_TMP/list1.json" || fail "lbctl list --json"
check "lbctl list --json is identical to before" cmp -s "$RIG_TMP/list0.json" "$RIG_TMP/list1.json"
cmp -s "$RIG_TMP/list0.json" "$RIG_TMP/list1.json" || diff <(python3 -m json.tool "$RIG_TMP/list0.json") <(python3 -m json.tool "$RIG_TMP/list1.json")
check "the daemon still answers" eval 'lbctl_ status >/dev/null'

step "no daemon"
out=$(nsenter_net "$RIG_NS_LB" "$LBCTL_BIN" --socket "$RIG_TMP/nobody.sock" list 2>&1)
rc=$?
check "lbctl against a missing socket -> exit $rc (want 1): $out" int_eq "$rc" 1
check "  ... says 'is lbd running?'" grep -qi 'lbd running' <<<"$out"
lbd_kill TERM
out=$(lbctl_ status 2>&1)
rc=$?
check "lbctl after lbd stopped -> exit $rc (want 1): $out" int_eq "$rc" 1
check "  ... says 'is lbd running?'" grep -qi 'lbd running' <<<"$out"
out=$(lbctl_ frobnicate 2>&1)
check "usage errors stay exit 2 without a daemon" int_eq "$?" 2
rig_finish
