#!/usr/bin/env bash
# Graceful removal on a least-conn VIP keeps connections and their counts.
# b1+b2 hold 50 connections each; `lbctl del-backend` (graceful) of b2: its
# 50 keep answering from b2, new connections all go to b1, and `lbctl list`
# shows b2 removed with active 50. Adding b2 again brings it back with its
# count intact (nothing closed meanwhile), so least-conn sends it the next
# new connections until it catches up with b1. Last, `lbctl drain-backend`
# b1: it stays listed (draining, weight 0) with its count, and gets nothing new.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 2
VIP="$RIG_VIP4:80"
B2=$(rig_b4 2)

step "lbd, decap, least-conn $VIP/tcp on b1+b2"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
lbctl_ok add-vip "$VIP" --proto tcp --sched least-conn >/dev/null || rig_finish
lbctl_ok add-backend "$VIP" --proto tcp "$(rig_b4 1)" >/dev/null || rig_finish
lbctl_ok add-backend "$VIP" --proto tcp "$B2" >/dev/null || rig_finish

step "hold 100 connections: b2 gets 50"
hold_start h "$RIG_VIP4" 100 --parallel 1 || { fail "hold client starts"; rig_finish; }
held=$(hold_by_backend h)
check "50/50 as the backends answer ($held)" counts_equal "$held" '{"b1": 50, "b2": 50}'
held_b2=$(json_get - "d.get('b2', 0)" <<<"$held")
conns=$(lb_conns "$VIP" tcp)
check "lbctl list active $(conns_field "$conns" active) = held $held" counts_equal "$(conns_field "$conns" active)" "$held"

step "del-backend b2 (graceful)"
out=$(lbctl_ del-backend "$VIP" --proto tcp "$B2" 2>&1)
rc=$?
check "del-backend succeeds (rc $rc: $out)" int_eq "$rc" 0
lbctl_ list
conns=$(lb_conns "$VIP" tcp)
echo "  lbctl list: $conns"
st=$(json_get - "d.get('b2', {}).get('state')" <<<"$conns")
check "b2 is listed as removed ($st)" [ "$st" = removed ]
check "b2 still counts its $held_b2 connections ($(json_get - "d['b2']['active']" <<<"$conns"))" \
	int_eq "$(json_get - "d['b2']['active']" <<<"$conns")" "$held_b2"
out=$(hold_cmd h check)
check "b2's $held_b2 connections keep answering from b2" \
	int_eq "$(json_get - "sum(1 for c in d['conns'] if c['backend_open'] == 'b2' and c['backend_now'] == 'b2')" <<<"$out")" "$held_b2"
check "all 100 held connections answer from their backend (failed $(json_get - failed <<<"$out"), moved $(json_get - moved <<<"$out"))" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" 100

step "new connections go elsewhere"
out=$(hold_cmd h open 40)
new=$(json_get - by_backend <<<"$out")
echo "  40 new held connections went to: $new"
check "all 40 went to b1" counts_equal "$new" '{"b1": 40}'
out=$(client_burst "$RIG_VIP4" 50)
echo "  burst: $(json_get - by_backend <<<"$out")"
check "a burst of 50 is answered, none by b2" counts_equal "$(json_get - by_backend <<<"$out")" '{"b1": 50}'
# The burst's connections closed (client FIN): only the held ones count.
held=$(hold_by_backend h)
b1_settled() { counts_equal "$(conns_field "$(lb_conns "$VIP" tcp)" active)" "$held"; }
check "lbctl list active = held per backend $held once the burst has closed" wait_for 5 b1_settled
check "b2 is still listed (its flows are open) with active $held_b2" \
	int_eq "$(lb_conns "$VIP" tcp | json_get - "d['b2']['active']")" "$held_b2"

step "add b2 again"
lbctl_ok add-backend "$VIP" --proto tcp "$B2" >/dev/null
conns=$(lb_conns "$VIP" tcp)
echo "  lbctl list: $conns"
check "b2 is active again ($(json_get - "d['b2']['state']" <<<"$conns"))" \
	[ "$(json_get - "d['b2']['state']" <<<"$conns")" = active ]
check "b2's active count is still $held_b2 ($(json_get - "d['b2']['active']" <<<"$conns"))" \
	int_eq "$(json_get - "d['b2']['active']" <<<"$conns")" "$held_b2"
check "no connection closed meanwhile: the client still holds $held_b2 on b2" \
	int_eq "$(hold_by_backend h | json_get - "d.get('b2', 0)")" "$held_b2"
# b1 holds 90, b2 50: least-conn sends the next 40 to b2 (with a fresh count
# of 0 it would have sent 90).
out=$(hold_cmd h open 40)
new=$(json_get - by_backend <<<"$out")
echo "  40 more new held connections went to: $new"
check "all 40 went to b2: its count was kept" counts_equal "$new" '{"b2": 40}'
held=$(hold_by_backend h)
check "lbctl list active = held per backend ($held)" counts_equal "$(conns_field "$(lb_conns "$VIP" tcp)" active)" "$held"

step "lbctl drain-backend b1: draining, kept, no new connections"
out=$(lbctl_ drain-backend "$VIP" --proto tcp "$(rig_b4 1)" 2>&1)
rc=$?
check "drain-backend succeeds (rc $rc${out:+: $out})" int_eq "$rc" 0
conns=$(lb_conns "$VIP" tcp)
echo "  lbctl list: $conns"
check "b1 is listed draining with weight 0" \
	[ "$(json_get - "[d['b1']['state'], d['b1']['weight']]" <<<"$conns")" = '["draining", 0]' ]
check "b1 still counts its connections" counts_equal "$(conns_field "$conns" active)" "$held"
out=$(hold_cmd h open 20)
new=$(json_get - by_backend <<<"$out")
echo "  20 new held connections went to: $new"
check "all 20 went to b2" counts_equal "$new" '{"b2": 20}'
out=$(hold_cmd h check)
check "all $(json_get - held <<<"$out") held connections answer from their backend" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" "$(json_get - held <<<"$out")"
hold_cmd h quit >/dev/null
rig_finish
