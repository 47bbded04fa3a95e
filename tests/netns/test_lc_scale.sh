#!/usr/bin/env bash
# least-conn scales out evenly with real long-lived connections, where Maglev
# cannot. On a least-conn VIP: 100 held connections on b1+b2 split 50/50 (as
# the backends answer them and as `lbctl list` counts them); with b3 added the
# next 50 all go to b3 (50/50/50); closing 30 of b1's and opening 30 more
# refills b1. The same steps on a Maglev VIP print its distribution (about
# 67/67/16: Maglev splits new flows by hash whatever is open).
#
# Connections are opened one at a time (--parallel 1), so every SYN sees the
# counts of all earlier connections: the split is exact, not just close.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 3
LC="$RIG_VIP4:80"
MG_ADDR=198.18.100.2 # the Maglev VIP: a second address on the backends' lo
MG="$MG_ADDR:80"
B1=$(rig_b4 1)
B2=$(rig_b4 2)
B3=$(rig_b4 3)

step "lbd, decap; least-conn $LC/tcp and maglev $MG/tcp, both on b1+b2 (b3 standing by)"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
check "$MG_ADDR on every backend's lo" rig_vip_addr_add "$MG_ADDR"
lbctl_ok add-vip "$LC" --proto tcp --sched least-conn >/dev/null || rig_finish
lbctl_ok add-vip "$MG" --proto tcp --sched maglev >/dev/null || rig_finish
for b in "$B1" "$B2"; do
	lbctl_ok add-backend "$LC" --proto tcp "$b" >/dev/null || rig_finish
	lbctl_ok add-backend "$MG" --proto tcp "$b" >/dev/null || rig_finish
done

# check_counts NAME VIP: lbctl's active counts equal the connections the
# client holds per backend, and nothing is half-open.
check_counts() {
	local name=$1 vip=$2 held conns active half
	held=$(hold_by_backend "$name")
	conns=$(lb_conns "$vip" tcp) || { fail "lbctl list --json lists $vip"; return 1; }
	active=$(conns_field "$conns" active)
	half=$(conns_field "$conns" half_open)
	check "lbctl list active $active = held per backend $held" counts_equal "$active" "$held"
	check "no half-open connections ($half)" counts_equal "$half" '{}'
}

step "least-conn: hold 100 connections on b1+b2"
hold_start lc "$RIG_VIP4" 100 --parallel 1 || { fail "hold client starts"; rig_finish; }
held=$(hold_by_backend lc)
echo "  client sees: $held"
check "100 held" int_eq "$(counts_sum "$held")" 100
check "50/50 as the backends answer ($held)" counts_equal "$held" '{"b1": 50, "b2": 50}'
check_counts lc "$LC"

step "least-conn: add b3, open 50 more"
lbctl_ok add-backend "$LC" --proto tcp "$B3" >/dev/null
out=$(hold_cmd lc open 50)
echo "  the 50 new ones went to: $(json_get - by_backend <<<"$out")"
check "50 opened ($(json_get - opened <<<"$out"), failed $(json_get - failed <<<"$out"))" \
	int_eq "$(json_get - opened <<<"$out")" 50
held=$(hold_by_backend lc)
LC_150=$held
check "50/50/50 (+-2) as the backends answer ($held)" counts_near "$held" '{"b1": 50, "b2": 50, "b3": 50}' 2
check_counts lc "$LC"
lbctl_ list

step "least-conn: close 30 of b1's connections, open 30 new ones"
out=$(hold_cmd lc close 30 --backend b1)
check "30 closed ($(json_get - closed <<<"$out"))" int_eq "$(json_get - closed <<<"$out")" 30
want_b1=$(($(json_get - "d.get('b1', 0)" <<<"$held") - 30))
b1_active() { [[ "$(lb_conns "$LC" tcp | json_get - "d['b1']['active']")" == "$want_b1" ]]; }
check "b1's active count drops to $want_b1 with the clients' FINs" wait_for 5 b1_active
out=$(hold_cmd lc open 30)
LC_REFILL=$(json_get - by_backend <<<"$out")
echo "  the 30 new ones went to: $LC_REFILL"
check "all 30 new connections go to b1" counts_equal "$LC_REFILL" '{"b1": 30}'
check_counts lc "$LC"
out=$(hold_cmd lc check)
check "all $(json_get - held <<<"$out") held connections answer from their backend (failed $(json_get - failed <<<"$out"), moved $(json_get - moved <<<"$out"))" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" "$(json_get - held <<<"$out")"

step "maglev: hold 100 connections on b1+b2"
hold_start mg "$MG_ADDR" 100 --parallel 1 || { fail "hold client starts"; rig_finish; }
held=$(hold_by_backend mg)
MG_100=$held
echo "  client sees: $held"
check "100 held" int_eq "$(counts_sum "$held")" 100
check_counts mg "$MG"

step "maglev: add b3, open 50 more"
lbctl_ok add-backend "$MG" --proto tcp "$B3" >/dev/null
out=$(hold_cmd mg open 50)
MG_NEW=$(json_get - by_backend <<<"$out")
echo "  the 50 new ones went to: $MG_NEW"
check "50 opened" int_eq "$(json_get - opened <<<"$out")" 50
held=$(hold_by_backend mg)
MG_150=$held
check "b3 got some but far from a third of all ($(json_get - "d.get('b3', 0)" <<<"$held"))" \
	int_between "$(json_get - "d.get('b3', 0)" <<<"$held")" 1 35
check_counts mg "$MG"

step "maglev: close 30 of b1's connections, open 30 new ones"
hold_cmd mg close 30 --backend b1 >/dev/null
out=$(hold_cmd mg open 30)
MG_REFILL=$(json_get - by_backend <<<"$out")
echo "  the 30 new ones went to: $MG_REFILL"
check "30 opened" int_eq "$(json_get - opened <<<"$out")" 30
check_counts mg "$MG"
out=$(hold_cmd mg check)
check "all $(json_get - held <<<"$out") held maglev connections answer from their backend" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" "$(json_get - held <<<"$out")"

echo
echo "RESULT least-conn: 100 on b1+b2, then +50 with b3: $LC_150"
echo "RESULT maglev:     100 on b1+b2: $MG_100, then +50 with b3 ($MG_NEW): $MG_150"
echo "RESULT refill after closing 30 of b1's: least-conn $LC_REFILL, maglev $MG_REFILL"
hold_cmd lc quit >/dev/null
hold_cmd mg quit >/dev/null
rig_finish
