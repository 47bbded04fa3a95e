#!/usr/bin/env bash
# A full flow table, end to end (docs/operations.md, "A full flow table").
# lbd runs with --flow-table-size 256 and a Maglev VIP on 3 backends; the
# client holds 320 connections (64 more than the table has room for), then
# opens 64 new ones. What must happen:
#  - new flows are never refused: the LRU evicts the least recently used
#    entries to make room; all 64 are answered, no drop counter moves;
#  - the table never holds more than 256 entries;
#  - established flows whose entries were evicted are scheduled again on
#    their next packet (counted as flow_rescheduled, then new_flow): at
#    least 320 - 256 of the held connections had no entry when each sent
#    one more request, and with Maglev every one lands on the backend it
#    opened on, so all 320 still answer, none moved;
#  - the connection counts follow the table: the reaper's reconciliation
#    takes back the units of evicted entries, so `lbctl list` shows, per
#    backend, exactly the entries holding a unit (syn/established).
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 3
VIP="$RIG_VIP4:80"
S=256        # flow-table entries
N=$((S + 64)) # held connections
M=64         # new connections once the table is full

step "lbd --flow-table-size $S, decap, maglev $VIP/tcp on b1..b3 (reaper every 200 ms)"
lbd_start --flow-table-size "$S" || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
cfg_new
cfg_set reap_interval_ms 200
cfg_vip "$VIP" tcp ipip
for i in 1 2 3; do cfg_backend "$VIP" tcp "$(rig_b4 $i)"; done
cfg_apply || rig_finish
check "status: flow_table_size $S" int_eq "$(lb_status_get flow_table_size)" "$S"
lb_stats "$RIG_TMP/s0.json" || fail "lbctl stats --json"

step "hold $N connections: more than the table holds"
sport_alloc "$N"
hold_start h "$RIG_VIP4" "$N" --sport-base "$SPORT" || { fail "all $N held connections open"; rig_finish; }
held=$(hold_by_backend h)
echo "  held: $held"
pass "all $N held connections opened and answered"
flows=$(lb_status_get flows)
check "the table holds at most $S entries ($flows)" int_le "$flows" "$S"

step "$M new connections to the full table"
sport_alloc "$M"
out=$(client_burst "$RIG_VIP4" "$M" --sport-base "$SPORT")
echo "  $(json_get - "{k: d[k] for k in ('ok', 'failed', 'by_backend', 'errors')}" <<<"$out")"
check "all $M new connections answered" int_eq "$(json_get - ok <<<"$out")" "$M"
# burst_done: none of the burst's sockets will send again (each gone or in
# TIME-WAIT); the held connections stay open.
burst_done() {
	[[ -z "$(in_ns "$RIG_NS_C" ss -Htn exclude time-wait "( sport >= :$SPORT and sport <= :$((SPORT + M - 1)) )")" ]]
}
check "the burst's connections have finished (within 10 s)" wait_for 10 burst_done
lb_stats "$RIG_TMP/s1.json" || fail "lbctl stats --json"
lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s1.json" >"$RIG_TMP/d01.json"
newf=$(lb_gstat "$RIG_TMP/d01.json" new_flow)
check "new_flow counted at least the $N + $M connections ($newf)" int_ge "$newf" $((N + M))
flows=$(lb_status_get flows)
check "the table still holds at most $S entries ($flows)" int_le "$flows" "$S"

step "every held connection asks once more"
out=$(hold_cmd h check)
echo "  $(json_get - "{k: d[k] for k in ('held', 'answered', 'failed', 'same', 'moved', 'by_backend')}" <<<"$out")"
check "all $N answered (failed $(json_get - failed <<<"$out"))" int_eq "$(json_get - answered <<<"$out")" "$N"
check "each by the backend it opened on: Maglev schedules an evicted flow to the same backend (moved $(json_get - moved <<<"$out"))" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" "$N"
lb_stats "$RIG_TMP/s2.json" || fail "lbctl stats --json"
lb_stats_delta "$RIG_TMP/s1.json" "$RIG_TMP/s2.json" >"$RIG_TMP/d12.json"
resched=$(lb_gstat "$RIG_TMP/d12.json" flow_rescheduled)
echo "  during the check: flow_hit $(lb_gstat "$RIG_TMP/d12.json" flow_hit), flow_rescheduled $resched, new_flow $(lb_gstat "$RIG_TMP/d12.json" new_flow)"
# At most S entries for N held flows: at least N - S of them had none when
# their request (their first packet since) arrived.
check "at least $((N - S)) held flows had lost their entry and were rescheduled ($resched)" \
	int_ge "$resched" $((N - S))
check "flow_rescheduled packets each made a new entry (new_flow $(lb_gstat "$RIG_TMP/d12.json" new_flow) >= $resched)" \
	int_ge "$(lb_gstat "$RIG_TMP/d12.json" new_flow)" "$resched"
lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s2.json" >"$RIG_TMP/d02.json"
check "no drop counter moved during the whole test ($(lb_drops "$RIG_TMP/d02.json"))" [ "$(lb_drops "$RIG_TMP/d02.json")" = "{}" ]
flows=$(lb_status_get flows)
check "the table still holds at most $S entries ($flows)" int_le "$flows" "$S"

step "the counts follow the table (the reaper's reconciliation)"
# counts_match_table: lbctl list's active per backend equals the entries
# holding a unit (syn, established); the table is quiet now, so two sweeps
# with the same difference correct any count an eviction left behind.
counts_match_table() {
	local ft
	ft=$(lb_flows_by_sport "$VIP" tcp) || return 1
	table=$(flows_count_by_backend "$ft" syn established)
	active=$(conns_field "$(lb_conns "$VIP" tcp)" active)
	counts_equal "$active" "$table"
}
check "lbctl list active = entries holding a unit, per backend (within 10 s)" wait_for 10 counts_match_table
echo "  active $active, entries $table"
check "the counts add up to at most $S ($(counts_sum "$active"))" int_le "$(counts_sum "$active")" "$S"
hold_cmd h quit >/dev/null
rig_finish
