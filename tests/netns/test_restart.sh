#!/usr/bin/env bash
# lbd is only the control plane: kill -9 it and the XDP program keeps
# forwarding with the pinned maps; a restarted lbd (same pin root and socket)
# adopts them, so `lbctl list` is identical and held connections never
# notice. `lbctl detach` then removes everything.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 3
VIP="$RIG_VIP4:80"

step "lbd, decap, $VIP/tcp and [$RIG_VIP6]:80/tcp"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
vip_setup "$VIP" tcp "$(rig_b4 1)" "$(rig_b4 2)/2" "$(rig_b4 3)" || rig_finish
vip_setup "[$RIG_VIP6]:80" tcp "$(rig_b6 1)" "$(rig_b6 2)" || rig_finish
hold_start h "$RIG_VIP4" 30 || { fail "hold client starts"; rig_finish; }
echo "  held: $(hold_cmd h status | json_get - by_backend)"
# Taken with the connections held: their counts must survive the restart too.
lbctl_ list --json >"$RIG_TMP/list0.json" || fail "lbctl list --json"

step "kill -9 lbd"
lbd_kill KILL
check "the program stays attached" lbd_prog_attached
check "the pins stay ($RIG_PIN_ROOT)" [ -d "$RIG_PIN_ROOT" ]
err=$(lbctl_ status 2>&1 >/dev/null)
rc=$?
check "lbctl fails with exit 1 while lbd is down (rc $rc: $err)" int_eq "$rc" 1
out=$(hold_cmd h check)
check "all 30 held connections answer while lbd is down, same backends (same $(json_get - same <<<"$out"))" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" 30
out=$(client_burst "$RIG_VIP4" 50)
check "new connections work while lbd is down ($(json_get - ok <<<"$out") of 50)" int_eq "$(json_get - ok <<<"$out")" 50

step "start lbd again with the same pin root and socket"
lbd_start || { fail "lbd restarts and adopts its pins"; rig_finish; }
lbctl_ list --json >"$RIG_TMP/list1.json" || fail "lbctl list --json"
same=$(python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
if a == b: print("identical")
elif json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True): print("identical")
else:
    norm = lambda d: sorted((v["vip"], v["proto"], v.get("ring_size"), sorted(json.dumps(x, sort_keys=True) for x in v["backends"])) for v in d["vips"])
    print("same content, different order" if norm(a) == norm(b) else "different")
' "$RIG_TMP/list0.json" "$RIG_TMP/list1.json")
check "lbctl list --json is identical to before the kill ($same)" [ "$same" = identical ]
[[ "$same" = identical ]] || { echo "  before: $(cat "$RIG_TMP/list0.json")"; echo "  after:  $(cat "$RIG_TMP/list1.json")"; }
out=$(hold_cmd h check)
check "all 30 held connections still answer from the same backends (same $(json_get - same <<<"$out"))" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" 30
out=$(client_burst "$RIG_VIP4" 100)
echo "  burst: $out"
check "a new burst is fully answered ($(json_get - ok <<<"$out") of 100)" int_eq "$(json_get - ok <<<"$out")" 100
check "by all three backends" int_eq "$(json_get - "len(d['by_backend'])" <<<"$out")" 3
out=$(client_burst "$RIG_VIP6" 50)
check "the IPv6 VIP works too ($(json_get - ok <<<"$out") of 50)" int_eq "$(json_get - ok <<<"$out")" 50
hold_cmd h quit >/dev/null

step "lbctl detach"
out=$(lbctl_ detach 2>&1)
rc=$?
check "lbctl detach succeeds (rc $rc: $out)" int_eq "$rc" 0
deadline=$((SECONDS + 10))
while kill -0 "$RIG_LBD_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
check "lbd exited" eval '! kill -0 "$RIG_LBD_PID" 2>/dev/null'
wait "$RIG_LBD_PID" 2>/dev/null
RIG_LBD_PID=
check "the program is detached" eval '! lbd_prog_attached'
left=$(rig_pins_left | tr '\n' ' ')
check "no pins left under $RIG_PIN_ROOT ($left)" [ -z "$left" ]
[[ -d "$RIG_PIN_ROOT" ]] && echo "  note: the (empty) pin root $RIG_PIN_ROOT itself stays"
check "the control socket is gone" [ ! -e "$RIG_SOCK" ]
rig_finish
