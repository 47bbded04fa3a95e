#!/usr/bin/env bash
# Reload and preview (issue 13): `lbctl apply --dry-run` says what a config
# would change and changes nothing; SIGHUP re-reads lbd's --config file,
# logs each change the same way, and applies it; an invalid file changes
# nothing and the log says where it is wrong; `lbctl save` writes the
# running config, and a dry run of it changes nothing. Real connections
# check that the reloaded config is the one forwarding.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 3
VIP="$RIG_VIP4:80"
CFG="$RIG_TMP/cfg.json"

# write_cfg WEIGHT1 WEIGHT2 [BACKEND3]: the VIP with b1, b2 (and b3).
write_cfg() {
	local b3=""
	[[ -n "${3:-}" ]] && b3=", {\"address\": \"$(rig_b4 3)\"}"
	cat >"$CFG" <<JSON
{"vips": [{"vip": "$VIP", "proto": "tcp",
  "backends": [{"address": "$(rig_b4 1)", "weight": $1}, {"address": "$(rig_b4 2)", "weight": $2}$b3]}]}
JSON
}
weights() { lbctl_ list --json | json_get - "[b['weight'] for b in d['vips'][0]['backends'] if b['state'] != 'removed']"; }
# burst: 30 connections from fixed ports; all must be answered.
burst() {
	sport_alloc 30
	client_burst "$RIG_VIP4" 30 --sport-base "$SPORT" >"$RIG_TMP/burst.json"
	check "30 of 30 connections answered" int_eq "$(json_get "$RIG_TMP/burst.json" ok)" 30
}
to_b3() { json_get "$RIG_TMP/burst.json" "d['by_backend'].get('b3', 0)"; }
weights_are() { [ "$(weights)" = "$1" ]; }

step "lbd with --config: b1 and b2"
write_cfg 1 1
lbd_start --config "$CFG" || { fail "lbd starts"; rig_finish; }
decap_attach_all || die "xlb-decap attach failed"
check "weights [1, 1]" [ "$(weights)" = "[1, 1]" ]
burst
check "no connection reaches b3" int_eq "$(to_b3)" 0

step "a dry run of the same file: no changes"
check "prints 'no changes'" [ "$(lbctl_ apply -f "$CFG" --dry-run)" = "no changes" ]

step "a dry run of a changed file says what would change, and changes nothing"
write_cfg 2 0 b3
out=$(lbctl_ apply -f "$CFG" --dry-run)
echo "$out" | sed 's/^/    /'
check "b1's weight change" grep -q "^~ backend $(rig_b4 1) of VIP $VIP/tcp: weight 1 -> 2$" <<<"$out"
check "b2 drained, with its connections" grep -Eq "^~ backend $(rig_b4 2) of VIP $VIP/tcp: weight 1 -> 0 \([0-9]+ connections? drain\)$" <<<"$out"
check "b3 added" grep -q "^+ backend $(rig_b4 3) of VIP $VIP/tcp (weight 1)$" <<<"$out"
check "the counts" grep -q "^would add 1, remove 0, change 2 (nothing was applied)$" <<<"$out"
check "nothing changed" [ "$(weights)" = "[1, 1]" ]

step "SIGHUP applies the file and logs each change"
kill -HUP "$RIG_LBD_PID"
check "the weights follow the file" wait_for 10 weights_are "[2, 0, 1]"
check "the log has the reload's changes" grep -q "SIGHUP: + backend $(rig_b4 3) of VIP $VIP/tcp (weight 1)" "$RIG_LBD_LOG"
burst
check "b3 takes connections now" int_ge "$(to_b3)" 1
check "lbd is still running" kill -0 "$RIG_LBD_PID"

step "an invalid file changes nothing, and the log says where"
cat >"$CFG" <<JSON
{"vips": [{"vip": "$VIP", "proto": "tcp", "backends": [{"address": "$(rig_b4 1)", "weight": 70000}]}]}
JSON
kill -HUP "$RIG_LBD_PID"
check "the log names the field" wait_for 10 grep -q "SIGHUP: $CFG: vips\[0\].backends\[0\].weight: .*; nothing was changed" "$RIG_LBD_LOG"
check "nothing changed" [ "$(weights)" = "[2, 0, 1]" ]
echo '{"vips": [' >"$CFG"
kill -HUP "$RIG_LBD_PID"
check "JSON syntax: nothing changed, said so" wait_for 10 grep -q "SIGHUP: $CFG: not valid JSON: .*; nothing was changed" "$RIG_LBD_LOG"
check "still [2, 0, 1]" [ "$(weights)" = "[2, 0, 1]" ]
check "and lbctl apply --dry-run refuses it too (exit 2)" bash -c "'$LBCTL_BIN' --socket '$RIG_SOCK' apply -f '$CFG' --dry-run >/dev/null 2>&1; [ \$? = 2 ]"

step "lbctl save: the running config, and a dry run of it changes nothing"
lbctl_ok drain-backend "$VIP" --proto tcp "$(rig_b4 1)" >/dev/null
lbctl_ save -o "$RIG_TMP/saved.json"
check "save wrote the drained weight" [ "$(json_get "$RIG_TMP/saved.json" "[b['weight'] for b in d['vips'][0]['backends']]")" = "[0, 0, 1]" ]
check "a dry run of the saved file: no changes" [ "$(lbctl_ apply -f "$RIG_TMP/saved.json" --dry-run)" = "no changes" ]
check "lbctl status --verify" lbctl_quiet status --verify

rig_finish
