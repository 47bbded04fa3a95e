#!/usr/bin/env bash
# Counts return to zero when connections end. Config (lbctl apply -f):
# least-conn on b1..b3, tcp_closing 10 s, reap_interval_ms 500. 60 held
# connections count 20/20/20. The client closes all of them (its FIN): every
# active count drops to 0 at once (in DSR the LB sees only the client's
# half), while the closing flow entries stay until tcp_closing has passed;
# then the reaper deletes them, `lbctl flows` totals 0 and every count is 0.
# b3, deleted gracefully before the close, is freed (unlisted) once its
# flows are gone.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 3
VIP="$RIG_VIP4:80"
# Long enough that the closing entries are read before they can expire,
# even on a loaded machine where python3 alone can take 2 s to start
# (checked below, not assumed).
CLOSING_S=10
REAP_MS=500

step "lbd, decap, config with tcp_closing ${CLOSING_S}s and reap_interval_ms $REAP_MS"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
cat >"$RIG_TMP/config.json" <<EOF
{
  "timeouts": {"tcp_established": 600, "tcp_half_open": 5, "tcp_closing": $CLOSING_S, "udp": 30},
  "reap_interval_ms": $REAP_MS,
  "vips": [
    {"vip": "$VIP", "proto": "tcp", "sched": "least-conn",
     "backends": [{"address": "$(rig_b4 1)"}, {"address": "$(rig_b4 2)"}, {"address": "$(rig_b4 3)"}]}
  ]
}
EOF
out=$(lbctl_ apply -f "$RIG_TMP/config.json" 2>&1)
rc=$?
check "lbctl apply -f succeeds (rc $rc: $out)" int_eq "$rc" 0
check "status shows tcp_closing $CLOSING_S" \
	int_eq "$(lbctl_ status --json | json_get - timeouts.tcp_closing)" "$CLOSING_S"

step "hold 60 connections"
hold_start h "$RIG_VIP4" 60 --parallel 1 || { fail "hold client starts"; rig_finish; }
held=$(hold_by_backend h)
check "20/20/20 as the backends answer ($held)" counts_equal "$held" '{"b1": 20, "b2": 20, "b3": 20}'
check "lbctl list active = held" counts_equal "$(conns_field "$(lb_conns "$VIP" tcp)" active)" "$held"
check "lbctl flows: 60" int_eq "$(lbctl_ flows --json | json_get - total)" 60

step "del-backend b3 (graceful): removed, kept while its flows last"
lbctl_ok del-backend "$VIP" --proto tcp "$(rig_b4 3)" >/dev/null
check "b3 is listed removed with active 20" \
	[ "$(lb_conns "$VIP" tcp | json_get - "[d['b3']['state'], d['b3']['active']]")" = '["removed", 20]' ]

step "the client closes all 60 (FIN from the client)"
# A closing entry expires tcp_closing after its last_seen, which the data
# plane refreshes at most once a second: no entry can go before
# t_close + CLOSING_S - 1 s. A flow table read that ends before that must
# show all 60 closing; one that ends later proves nothing, and is a failure
# (never a silent skip). The table is read first (polled until the 60 FINs
# are in), the other checks come after.
t_close=$(date +%s%N)
t0=$SECONDS
out=$(hold_cmd h close 60)
all_closing() {
	flows=$(lbctl_ flows --limit 1000000 --json) || return 1
	t_read=$(date +%s%N)
	int_eq "$(json_get - "sum(1 for f in d['flows'] if f['state'] == 'closing')" <<<"$flows")" 60
}
wait_for $((CLOSING_S - 1)) all_closing
elapsed_ms=$(((t_read - t_close) / 1000000))
states=$(json_get - "{s: sum(1 for f in d['flows'] if f['state'] == s) for s in sorted({f['state'] for f in d['flows']})}" <<<"$flows")
echo "  flows $elapsed_ms ms after the close: $states"
if ((elapsed_ms < (CLOSING_S - 1) * 1000)); then
	check "the 60 entries are closing, and still there before tcp_closing has passed ($states)" \
		int_eq "$(json_get - "sum(1 for f in d['flows'] if f['state'] == 'closing')" <<<"$flows")" 60
else
	fail "the flows were read $elapsed_ms ms after the close, too late to see the closing entries (tcp_closing $CLOSING_S s, last_seen up to 1 s old): $states"
fi
check "60 closed ($(json_get - closed <<<"$out"))" int_eq "$(json_get - closed <<<"$out")" 60
zero_active() { counts_equal "$(conns_field "$(lb_conns "$VIP" tcp)" active)" '{}'; }
check "every active count drops to 0 with the FINs" wait_for 10 zero_active

step "after tcp_closing + a couple of reap intervals"
no_flows() { int_eq "$(lbctl_ flows --json | json_get - total)" 0; }
check "lbctl flows --json total reaches 0 within $((CLOSING_S + 5)) s" wait_for $((CLOSING_S + 5)) no_flows
echo "  flows gone about $((SECONDS - t0)) s after the close"
conns=$(lb_conns "$VIP" tcp)
echo "  lbctl list: $conns"
check "every active count is 0 ($(conns_field "$conns" active))" counts_equal "$(conns_field "$conns" active)" '{}'
check "every half_open count is 0 ($(conns_field "$conns" half_open))" counts_equal "$(conns_field "$conns" half_open)" '{}'
check "lbctl flows --json total is 0" int_eq "$(lbctl_ flows --json | json_get - total)" 0
b3_freed() { int_eq "$(lb_conns "$VIP" tcp | json_get - "len([k for k in d if k == 'b3'])")" 0; }
check "the removed b3 is freed (no longer listed) once its flows are gone" wait_for 10 b3_freed
check "status counts 0 flows" int_eq "$(lbctl_ status --json | json_get - flows)" 0
hold_cmd h quit >/dev/null
rig_finish
