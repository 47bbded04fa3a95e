#!/usr/bin/env bash
# Hitless upgrade of the data path (issue 13). lbd runs build A of xlb_lb
# (build/ctl/lbd/lbd) under 30 held connections that keep talking (client.py
# hold, `ping start`: a GET on each every 50 ms); lbd is stopped and the test
# build xlb_lbd_variant is started on the same pins. Its program is a real
# second build, not a patched id: lb.bpf.c compiled with XLB_TEST_VARIANT, one
# harmless extra instruction (bpf/CMakeLists.txt), so its object (build id)
# and its kernel tag both differ, with the same ABI version. It must replace
# the running program atomically (XDP_FLAGS_REPLACE): new prog id and tag,
# no held connection breaks or moves, no ping fails, no flow is created
# again (new_flow and flow_rescheduled don't move while the pings run: the
# flow entries were kept), no drop counter moves, counters go on from where
# they were, new connections work, `lbctl status` says the builds match, and
# the health checks (ipip, steered by the separate tc hook) go on passing.
#
# Then an ABI mismatch: the pinned xlb_meta is rewritten to say ABI 999 (a
# simulation: there is no second ABI to build) and lbd is started again. It
# must refuse, saying what to do, and leave the running program, its pins and
# xlb_meta exactly as they were (the held connections still answer). With
# the real ABI written back, lbd adopts the program again.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
VARIANT_BIN="$RIG_BUILD/ctl/lbd/xlb_lbd_variant"
[[ -x "$VARIANT_BIN" ]] || skip "$VARIANT_BIN is not built"
command -v bpftool >/dev/null || skip "bpftool is not installed"
rig_create 3
VIP="$RIG_VIP4:80"
LBD_A="$LBD_BIN"
META="$RIG_PIN_ROOT/$RIG_IF_LB/xlb_meta"

status_get() { lbctl_ status --json | json_get - "$1"; }
prog_tag() { bpftool prog show id "$1" --json | json_get - tag; }
# The held connections' flows: "src backend" lines, sorted.
held_flows() {
	lbctl_ flows --vip "$VIP" --proto tcp --json |
		json_get - "'\\n'.join(sorted(f['src'] + ' ' + f['backend'] for f in d['flows'] if f['state'] == 'established'))"
}
# meta_write ABI: rewrites xlb_meta's abi_version, keeping magic and build.
meta_write() {
	local bytes
	bytes=$(bpftool map lookup pinned "$META" key 0 0 0 0 --json | python3 -c '
import json, struct, sys
v = bytes(int(x, 16) for x in json.load(sys.stdin)["value"])
magic, abi, build = struct.unpack("<IIQ", v)
print(" ".join(str(b) for b in struct.pack("<IIQ", magic, int(sys.argv[1]), build)))' "$1") || return 1
	# shellcheck disable=SC2086 # one argument per byte
	bpftool map update pinned "$META" key 0 0 0 0 value $bytes
}
attached_id_is() { ip -n "$RIG_NS_LB" -d link show "$RIG_IF_LB" | grep -Eq "prog/xdp[a-z]* id $1( |\$)"; }
# meta_abi: xlb_meta's abi_version (lbd creates the map without BTF: raw bytes).
meta_abi() {
	bpftool map lookup pinned "$META" key 0 0 0 0 --json |
		python3 -c 'import json, struct, sys; print(struct.unpack("<IIQ", bytes(int(x, 16) for x in json.load(sys.stdin)["value"]))[1])'
}

step "build A: lbd, decap, $VIP/tcp, 30 held connections"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
vip_setup "$VIP" tcp "$(rig_b4 1)" "$(rig_b4 2)" "$(rig_b4 3)" || rig_finish
# Health checks: ipip checks are steered by the tc hook (hc.bpf.o), a
# separate object that lbd replaces on every start; they must go on.
# The LB needs a route to the VIP for its checker's connect() (as in
# test_health: a next hop nobody answers for; only steering reaches a backend).
ip -n "$RIG_NS_LB" neigh replace 198.18.0.250 lladdr 02:00:00:00:00:fa dev "$RIG_IF_LB" nud permanent
ip -n "$RIG_NS_LB" route add "$RIG_VIP4/32" via 198.18.0.250 dev "$RIG_IF_LB"
lbctl_quiet set-health "$VIP" --proto tcp --check http --path / --interval 200ms --timeout 200ms --fall 3 --rise 1 ||
	fail "set-health"
out=$(health_wait "$VIP" tcp "$(date +%s%3N)" 15 "all(st(n) == 'up' for n in b)")
check "health checks see every backend up" health_ok "$out"
hold_start h "$RIG_VIP4" 30 || { fail "hold client starts"; rig_finish; }
id_a=$(status_get prog_id)
tag_a=$(prog_tag "$id_a")
build_a=$(status_get program.build_id)
abi=$(status_get program.abi_version)
echo "  prog id $id_a, tag $tag_a, build $build_a, ABI $abi"
check "status: the running build is lbd's (build_matches)" [ "$(status_get program.build_matches)" = true ]
check "status: lbd_build_id = build_id" [ "$(status_get program.lbd_build_id)" = "$build_a" ]
flows_a=$(held_flows)
check "the 30 held connections have established flows ($(wc -l <<<"$flows_a"))" int_eq "$(wc -l <<<"$flows_a")" 30
lb_stats "$RIG_TMP/stats0.json" || fail "lbctl stats"

step "upgrade: stop lbd (A), start xlb_lbd_variant (B) while the held connections talk"
out=$(hold_cmd h ping start 0.05)
check "pings start ($out)" [ "$(json_get - ok <<<"$out")" = true ]
lb_stats "$RIG_TMP/stats1.json" || fail "lbctl stats"
lbd_kill TERM
LBD_BIN="$VARIANT_BIN"
lbd_start || { fail "the variant lbd starts over the running program"; rig_finish; }
id_b=$(status_get prog_id)
tag_b=$(prog_tag "$id_b")
build_b=$(status_get program.build_id)
echo "  prog id $id_b, tag $tag_b, build $build_b"
line=$(grep "upgraded xlb_lb on $RIG_IF_LB: build $build_a -> $build_b" "$RIG_LBD_LOG")
check "lbd logs the upgrade ($line)" [ -n "$line" ]
check "a new program runs (prog id $id_a -> $id_b)" [ "$id_b" != "$id_a" ]
check "a different program: kernel tag $tag_a -> $tag_b" [ "$tag_b" != "$tag_a" ]
check "a different build: $build_a -> $build_b" [ "$build_b" != "$build_a" ]
check "status: the builds match after the upgrade" [ "$(status_get program.build_matches)" = true ]
check "status: lbd_build_id = build_id = $build_b" [ "$(status_get program.lbd_build_id)" = "$build_b" ]
check "ip link shows prog id $id_b on $RIG_IF_LB" attached_id_is "$id_b"
steered=$(status_get health.steering_packets.ipip4)
check "the health checks go on through the tc hook (ipip4 steered: more than $steered + 10)" \
	wait_for 15 eval '(( $(status_get health.steering_packets.ipip4) > steered + 10 ))'
out=$(health_wait "$VIP" tcp "$(date +%s%3N)" 0 "all(st(n) == 'up' for n in b)")
check "and see every backend up" health_ok "$out"
# Let the pings run over the new program for a few rounds (a condition: the
# VIP's packet counter grows by more than 3 rounds of 30 GETs).
lb_stats "$RIG_TMP/stats2.json" || fail "lbctl stats"
wait_for 20 eval '(( $(lbctl_ stats --json | json_get - "[v for v in d[\"vips\"] if v[\"proto\"] == \"tcp\"][0][\"packets\"]") - $(json_get "$RIG_TMP/stats2.json" "[v for v in d[\"vips\"] if v[\"proto\"] == \"tcp\"][0][\"packets\"]") > 180 ))' ||
	fail "the held connections' pings go through the new program"
out=$(hold_cmd h ping stop)
echo "  pings: $(json_get - "{k: d[k] for k in ('rounds', 'pings', 'failed', 'moved', 'max_gap_s', 'errors')}" <<<"$out")"
check "no ping failed across the upgrade ($(json_get - pings <<<"$out") pings)" int_eq "$(json_get - failed <<<"$out")" 0
check "no held connection moved" int_eq "$(json_get - moved <<<"$out")" 0
check "pings ran" [ "$(json_get - pings <<<"$out")" -gt 0 ]
lb_stats "$RIG_TMP/stats3.json" || fail "lbctl stats"
delta=$(lb_stats_delta "$RIG_TMP/stats1.json" "$RIG_TMP/stats3.json")
echo "  counters during the upgrade: $(json_get - "{k: v for k, v in d['global'].items() if v}" <<<"$delta")"
check "no counter went back (none reset)" [ "$(json_get - "all(v >= 0 for v in d['global'].values())" <<<"$delta")" = true ]
check "the counters went on (rx +$(json_get - "d['global']['rx']" <<<"$delta"))" [ "$(json_get - "d['global']['rx']" <<<"$delta")" -gt 0 ]
check "no flow was created again: new_flow +0" int_eq "$(json_get - "d['global']['new_flow']" <<<"$delta")" 0
check "no flow rescheduled" int_eq "$(json_get - "d['global']['flow_rescheduled']" <<<"$delta")" 0
check "no drop counter moved ($(lb_drops <(echo "$delta")))" [ "$(lb_drops <(echo "$delta"))" = "{}" ]
flows_b=$(held_flows)
check "the held connections' flows are in the table, same backends" [ "$flows_b" = "$flows_a" ]
out=$(hold_cmd h check)
check "all 30 held connections answer from the same backends (same $(json_get - same <<<"$out"))" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" 30
out=$(client_burst "$RIG_VIP4" 100)
check "new connections work ($(json_get - ok <<<"$out") of 100)" int_eq "$(json_get - ok <<<"$out")" 100

step "ABI mismatch: xlb_meta says ABI 999; lbd must refuse and touch nothing"
lbd_kill TERM
meta_write 999 || fail "xlb_meta rewritten"
check "xlb_meta says ABI 999" int_eq "$(meta_abi)" 999
pins0=$(ls "$RIG_PIN_ROOT/$RIG_IF_LB")
LBD_BIN="$LBD_A"
if lbd_start 2>/dev/null; then
	fail "lbd refuses maps of ABI 999"
	lbd_kill TERM
fi
msg=$(grep "from ABI 999, this lbd is ABI" "$RIG_LBD_LOG" | tail -n 1)
echo "  $msg"
check "the refusal names both ABIs" [ -n "$msg" ]
check "and says what to do (lbd --detach $RIG_IF_LB, or the old lbd)" \
	eval '[[ "$msg" == *"lbd --detach $RIG_IF_LB"* && "$msg" == *"run the lbd that made them"* ]]'
check "the running program is untouched (prog id $id_b)" \
	attached_id_is "$id_b"
check "xlb_meta is untouched (ABI 999)" int_eq "$(meta_abi)" 999
check "the pins are untouched" [ "$(ls "$RIG_PIN_ROOT/$RIG_IF_LB")" = "$pins0" ]
out=$(hold_cmd h check)
check "all 30 held connections still answer (same $(json_get - same <<<"$out"))" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" 30

step "ABI written back: build A's lbd upgrades (B -> A: same ABI, another build)"
meta_write "$abi" || fail "xlb_meta rewritten"
lbd_start || { fail "lbd starts"; rig_finish; }
line=$(grep "upgraded xlb_lb on $RIG_IF_LB: build $build_b -> $build_a" "$RIG_LBD_LOG")
check "lbd logs the change back ($line)" [ -n "$line" ]
check "status: the builds match" [ "$(status_get program.build_matches)" = true ]
out=$(hold_cmd h check)
check "all 30 held connections still answer (same $(json_get - same <<<"$out"))" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" 30
hold_cmd h quit >/dev/null
rig_finish
