#!/usr/bin/env bash
# Connection counts live in the pinned maps, not in lbd: kill -9 lbd in the
# middle of opening 100 held connections on a least-conn VIP (b1+b2), open
# the rest while it is down (the data path schedules on alone), restart it
# with the same pin root and socket. `lbctl list` then counts exactly what
# the client holds (50/50), a second kill -9 and restart with nothing
# happening in between changes no count, scheduling carries on (with b3
# added the next 50 go to b3: 50/50/50 +-2), and no held connection breaks.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 3
VIP="$RIG_VIP4:80"
B3=$(rig_b4 3)

step "lbd, decap, least-conn $VIP/tcp on b1+b2 (b3 standing by)"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
lbctl_ok add-vip "$VIP" --proto tcp --sched least-conn >/dev/null || rig_finish
lbctl_ok add-backend "$VIP" --proto tcp "$(rig_b4 1)" >/dev/null || rig_finish
lbctl_ok add-backend "$VIP" --proto tcp "$(rig_b4 2)" >/dev/null || rig_finish

# held_all_answer NAME: every held connection answers from its backend.
held_all_answer() {
	local out
	out=$(hold_cmd "$1" check)
	check "all $(json_get - held <<<"$out") held connections answer from their backend (failed $(json_get - failed <<<"$out"), moved $(json_get - moved <<<"$out"))" \
		int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" "$(json_get - held <<<"$out")"
}

step "hold the first 50 of 100 connections"
hold_start h "$RIG_VIP4" 50 --parallel 1 || { fail "hold client starts"; rig_finish; }
held=$(hold_by_backend h)
active=$(conns_field "$(lb_conns "$VIP" tcp)" active)
check "lbctl list active $active = held $held" counts_equal "$active" "$held"

step "kill -9 lbd; open the other 50 while it is down"
lbd_kill KILL
check "the program stays attached" lbd_prog_attached
out=$(hold_cmd h open 50)
echo "  opened while lbd was down: $(json_get - by_backend <<<"$out")"
check "50 opened while lbd is down ($(json_get - opened <<<"$out"))" int_eq "$(json_get - opened <<<"$out")" 50
held=$(hold_by_backend h)
check "the data path alone keeps least-conn exact: 50/50 ($held)" counts_equal "$held" '{"b1": 50, "b2": 50}'
held_all_answer h

step "restart lbd with the same pin root and socket"
lbd_start || { fail "lbd restarts and adopts its pins"; rig_finish; }
lbctl_ list --json >"$RIG_TMP/list1.json" || fail "lbctl list --json"
active=$(conns_field "$(lb_conns "$VIP" tcp)" active)
check "lbctl list active $active = held $held (the 50 opened while lbd was down included)" \
	counts_equal "$active" "$held"
check "no half-open connections" counts_equal "$(conns_field "$(lb_conns "$VIP" tcp)" half_open)" '{}'
# Give the restarted lbd's reaper a few sweeps: they must not change a count.
sweeps() { lbctl_ status --json | json_get - "(d.get('reaper') or {}).get('sweeps', 0)"; }
s0=$(sweeps)
two_sweeps() { (($(sweeps) >= s0 + 2)); }
check "the restarted lbd's reaper sweeps (sweeps from $s0)" wait_for 10 two_sweeps
active=$(conns_field "$(lb_conns "$VIP" tcp)" active)
check "after its sweeps the counts are still $held ($active)" counts_equal "$active" "$held"

step "kill -9 and restart again, nothing happening in between"
lbctl_ list --json >"$RIG_TMP/list2.json" || fail "lbctl list --json"
lbd_kill KILL
lbd_start || { fail "lbd restarts"; rig_finish; }
lbctl_ list --json >"$RIG_TMP/list3.json" || fail "lbctl list --json"
same=$(python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
print("identical" if json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) else "different")
' "$RIG_TMP/list2.json" "$RIG_TMP/list3.json")
check "lbctl list --json (counts included) is identical across the restart ($same)" [ "$same" = identical ]
[[ "$same" = identical ]] || { echo "  before: $(cat "$RIG_TMP/list2.json")"; echo "  after:  $(cat "$RIG_TMP/list3.json")"; }
held_all_answer h

step "scheduling carries on: add b3, open 50 more"
lbctl_ok add-backend "$VIP" --proto tcp "$B3" >/dev/null
out=$(hold_cmd h open 50)
echo "  the 50 new ones went to: $(json_get - by_backend <<<"$out")"
check "50 opened" int_eq "$(json_get - opened <<<"$out")" 50
held=$(hold_by_backend h)
echo "  RESULT after the restarts: $held"
check "50/50/50 (+-2) as the backends answer ($held)" counts_near "$held" '{"b1": 50, "b2": 50, "b3": 50}' 2
active=$(conns_field "$(lb_conns "$VIP" tcp)" active)
check "lbctl list active $active = held $held" counts_equal "$active" "$held"
held_all_answer h
hold_cmd h quit >/dev/null
rig_finish
