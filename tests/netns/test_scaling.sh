#!/usr/bin/env bash
# Scaling without breaking connections: 60 held connections on b1..b3; add
# b4 and gracefully remove b1. Every held connection keeps answering from its
# original backend (b1's too, while it drains); new connections never reach
# b1 and some reach b4; `lbctl list` shows b1 removed (draining its flows); `del-backend --purge`
# then deletes b1's flow entries.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 4
VIP="$RIG_VIP4:80"
B1=$(rig_b4 1)
B4=$(rig_b4 4)

step "lbd, decap, $VIP/tcp with b1..b3 (b4 standing by)"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
vip_setup "$VIP" tcp "$B1" "$(rig_b4 2)" "$(rig_b4 3)" || rig_finish

step "hold 60 connections"
hold_start h "$RIG_VIP4" 60 || { fail "hold client starts"; rig_finish; }
out=$(hold_cmd h status)
echo "  held: $(json_get - by_backend <<<"$out")"
check "60 connections held" int_eq "$(json_get - held <<<"$out")" 60
held_b1=$(json_get - "d['by_backend'].get('b1', 0)" <<<"$out")
check "some are on b1 ($held_b1)" int_ge "$held_b1" 1
check "none on b4" int_eq "$(json_get - "d['by_backend'].get('b4', 0)" <<<"$out")" 0
out=$(hold_cmd h check)
check "all 60 answer a second request on the same backend" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" 60
flows_b1=$(lbctl_ flows --backend "$B1" --json | json_get - total)
check "lbctl flows shows b1's flows ($flows_b1 >= $held_b1)" int_ge "$flows_b1" "$held_b1"

step "add b4, remove b1 gracefully"
lbctl_ok add-backend "$VIP" --proto tcp "$B4" >/dev/null
lbctl_ok del-backend "$VIP" --proto tcp "$B1"
lbctl_ list
lbctl_ list --json >"$RIG_TMP/list.json" || fail "lbctl list --json"
st=$(json_get "$RIG_TMP/list.json" "[b['state'] for v in d['vips'] for b in v['backends'] if b['address'] == '$B1']")
check "list shows b1 removed, still draining its flows ($st)" [ "$st" = '["removed"]' ]
slots=$(json_get "$RIG_TMP/list.json" "[b['ring_slots'] for v in d['vips'] for b in v['backends'] if b['address'] == '$B1']")
check "b1 holds no ring slots ($slots)" [ "$slots" = '[0]' ]
st=$(json_get "$RIG_TMP/list.json" "[b['state'] for v in d['vips'] for b in v['backends'] if b['address'] == '$B4']")
check "list shows b4 active ($st)" [ "$st" = '["active"]' ]

out=$(hold_cmd h check)
echo "  check: answered $(json_get - answered <<<"$out"), same $(json_get - same <<<"$out"), now $(json_get - by_backend <<<"$out")"
check "all 60 held connections still answer" int_eq "$(json_get - answered <<<"$out")" 60
check "each from its original backend (moved: $(json_get - moved <<<"$out"))" int_eq "$(json_get - same <<<"$out")" 60
check "b1's $held_b1 held connections answered from b1" \
	int_eq "$(json_get - "sum(1 for c in d['conns'] if c['backend_open'] == 'b1' and c['backend_now'] == 'b1')" <<<"$out")" "$held_b1"
bad=$(json_get - "[c for c in d['conns'] if not c['same']][:3]" <<<"$out")
[[ "$bad" = "[]" ]] || echo "  first broken connections: $bad"

step "new connections avoid b1 and reach b4"
client_burst "$RIG_VIP4" 100 --parallel 20 >"$RIG_TMP/burst.json"
cat "$RIG_TMP/burst.json"
check "100 of 100 answered" int_eq "$(json_get "$RIG_TMP/burst.json" ok)" 100
check "none reached b1" int_eq "$(json_get "$RIG_TMP/burst.json" "d['by_backend'].get('b1', 0)")" 0
check "some reached b4" int_ge "$(json_get "$RIG_TMP/burst.json" "d['by_backend'].get('b4', 0)")" 1

step "purge b1"
flows_b1=$(lbctl_ flows --backend "$B1" --json | json_get - total)
check "b1 still has its held flows before the purge ($flows_b1 >= $held_b1)" int_ge "$flows_b1" "$held_b1"
out=$(lbctl_ del-backend "$VIP" --proto tcp "$B1" --purge 2>&1)
rc=$?
echo "  del-backend --purge: rc $rc: $out"
check "del-backend --purge succeeds" int_eq "$rc" 0
out=$(lbctl_ flows --backend "$B1" --json 2>&1)
rc=$?
flows_b1=$(json_get - total <<<"$out" 2>/dev/null)
check "lbctl flows --backend $B1 --json reports total 0 (rc $rc: ${flows_b1:-$out})" int_eq "$flows_b1" 0
n=$(lbctl_ flows --limit 1000000 --json | json_get - "len([f for f in d['flows'] if f.get('backend') == '$B1'])")
check "the whole flow table has no entry for b1 ($n)" int_eq "$n" 0
lbctl_ list --json >"$RIG_TMP/list.json"
n=$(json_get "$RIG_TMP/list.json" "len([b for v in d['vips'] for b in v['backends'] if b['address'] == '$B1'])")
check "b1 is no longer listed" int_eq "$n" 0
out=$(hold_cmd h check)
echo "  after the purge (b1's connections are expected to break now): answered $(json_get - answered <<<"$out") of $(json_get - held <<<"$out"), by backend $(json_get - by_backend <<<"$out")"
check "connections of other backends are unaffected by the purge" \
	int_eq "$(json_get - "sum(1 for c in d['conns'] if c['backend_open'] != 'b1' and not c['same'])" <<<"$out")" 0
hold_cmd h quit >/dev/null
rig_finish
