#!/usr/bin/env bash
# A SYN flood inflates least-conn's counts only for as long as the half-open
# timeout. Config (lbctl apply -f): least-conn on b1..b3, tcp_half_open 20 s,
# reap_interval_ms 500. 20 real connections are held; 6,000 spoofed SYNs
# from random sources in 198.19.0.0/16 hit the VIP at 1,000/s (6 s). The
# real connections answer during the flood (provably: flood packets reach
# the LB before the check starts, and still after it has ended); half_open
# counts rise to about the flood's size; once the timeout and a couple of
# reap intervals have passed, every backend's active count equals the real
# connections it holds, half_open is 0 and the flood's flow entries are gone.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 3
VIP="$RIG_VIP4:80"
# The flood lasts 6 s, long enough to run the check during it on a loaded
# machine (python3 alone can take 2 s to start there); tcp_half_open is well
# beyond it, so every flood entry is still half-open when the counts are read
# after the flood (measured, not assumed).
HALF_OPEN_S=20
REAP_MS=500
FLOOD_N=6000
FLOOD_RATE=1000

step "lbd, decap, config with tcp_half_open ${HALF_OPEN_S}s and reap_interval_ms $REAP_MS"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
cat >"$RIG_TMP/config.json" <<EOF
{
  "timeouts": {"tcp_established": 600, "tcp_half_open": $HALF_OPEN_S, "tcp_closing": 5, "udp": 30},
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
lbctl_ status --json >"$RIG_TMP/status.json"
check "status shows tcp_half_open $HALF_OPEN_S ($(json_get "$RIG_TMP/status.json" timeouts.tcp_half_open))" \
	int_eq "$(json_get "$RIG_TMP/status.json" timeouts.tcp_half_open)" "$HALF_OPEN_S"
check "status shows the reaper every $REAP_MS ms ($(json_get "$RIG_TMP/status.json" reaper.interval_ms))" \
	int_eq "$(json_get "$RIG_TMP/status.json" reaper.interval_ms)" "$REAP_MS"

step "hold 20 real connections"
hold_start h "$RIG_VIP4" 20 --parallel 1 || { fail "hold client starts"; rig_finish; }
held=$(hold_by_backend h)
echo "  client sees: $held"
check "20 held" int_eq "$(counts_sum "$held")" 20
check "lbctl list active = held ($held)" counts_equal "$(conns_field "$(lb_conns "$VIP" tcp)" active)" "$held"

step "flood: $FLOOD_N spoofed SYNs from 198.19.0.0/16 at up to $FLOOD_RATE/s"
lb_stats "$RIG_TMP/stats0.json"
# The check must provably overlap the flood: flood packets reach the LB
# before it starts and still after it has returned. Watched on the LB's
# interface counter (sysfs: cheap; the held connections are idle, so the
# only other packets are a few ARP/ND ones, far below the thresholds).
lb_rx() { if_counter "$RIG_NS_LB" "$RIG_IF_LB" rx packets; }
rx_before=$(lb_rx)
flood_arriving() { int_ge $(($(lb_rx) - rx_before)) 100; }
flood_going_on() { int_ge $(($(lb_rx) - rx_after)) 100; }
t_flood=$(date +%s%N)
client_synflood "$RIG_VIP4" "$FLOOD_N" --rate "$FLOOD_RATE" --src-net 198.19.0.0/16 >"$RIG_TMP/flood.json" \
	2>"$RIG_TMP/flood.err" &
flood_pid=$! # waited for below; on an early exit rig_destroy kills what is left in the namespaces
check "the flood reaches the LB (>= 100 packets within 30 s)" wait_for 30 flood_arriving
out=$(hold_cmd h check)
rx_after=$(lb_rx)
check "the flood went on after the check (>= 100 more packets after it, within 5 s)" wait_for 5 flood_going_on
wait "$flood_pid"
flood_rc=$?
# Read the counts first: the flood's entries age from its start (below).
conns=$(lb_conns "$VIP" tcp)
elapsed_ms=$((($(date +%s%N) - t_flood) / 1000000))
during_ok=$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")
echo "  flood: $(cat "$RIG_TMP/flood.json" 2>/dev/null) $(cat "$RIG_TMP/flood.err")"
check "the flood tool ran (rc $flood_rc)" int_eq "$flood_rc" 0
check "all $FLOOD_N SYNs sent" int_eq "$(json_get "$RIG_TMP/flood.json" sent)" "$FLOOD_N"
check "the 20 real connections answered during the flood from their backends ($during_ok)" int_eq "$during_ok" 20
half=$(conns_field "$conns" half_open)
echo "  right after the flood ($elapsed_ms ms after its start): active $(conns_field "$conns" active), half_open $half"
lb_stats "$RIG_TMP/stats1.json"
new_flows=$(lb_stats_delta "$RIG_TMP/stats0.json" "$RIG_TMP/stats1.json" | json_get - global.new_flow)
echo "  new flows during the flood: $new_flows"
# Every SYN is a new 5-tuple, and none is older than the time since the
# flood started: if that is below tcp_half_open, all are still half-open
# unless some got lost. (If it is not, the machine was too slow for the
# check to mean anything: a failure, not a skip.)
if ((elapsed_ms < HALF_OPEN_S * 1000)); then
	check "half_open rose to about the flood's size ($(counts_sum "$half") >= $((FLOOD_N * 9 / 10)))" \
		int_ge "$(counts_sum "$half")" $((FLOOD_N * 9 / 10))
	check "spread over all 3 backends by least-conn, each >= $((FLOOD_N / 5)) ($half)" \
		int_eq "$(json_get - "len([v for v in d.values() if v >= $((FLOOD_N / 5))])" <<<"$half")" 3
else
	fail "the counts were read $elapsed_ms ms after the flood started, not within tcp_half_open ($HALF_OPEN_S s): cannot check half_open"
fi
out=$(client_burst "$RIG_VIP4" 30)
check "new real connections are answered with the counts inflated ($(json_get - ok <<<"$out") of 30)" \
	int_eq "$(json_get - ok <<<"$out")" 30

step "after tcp_half_open + a couple of reap intervals"
# settled: active equals what the client holds and nothing is half-open.
settled() {
	local c
	c=$(lb_conns "$VIP" tcp) || return 1
	counts_equal "$(conns_field "$c" active)" "$held" && counts_equal "$(conns_field "$c" half_open)" '{}'
}
t0=$SECONDS
# The timeout + up to 1 s of last_seen granularity + 2 reap intervals, with margin.
check "counts settle within $((HALF_OPEN_S + 6)) s" wait_for $((HALF_OPEN_S + 6)) settled
echo "  settled after about $((SECONDS - t0)) s"
conns=$(lb_conns "$VIP" tcp)
check "active = held per backend: $(conns_field "$conns" active) = $held" counts_equal "$(conns_field "$conns" active)" "$held"
check "half_open is 0 everywhere ($(conns_field "$conns" half_open))" counts_equal "$(conns_field "$conns" half_open)" '{}'
# Left: the 20 held (established) and the burst's 30, closing until tcp_closing.
lbctl_ flows --limit 1000000 --json >"$RIG_TMP/flows.json"
by_state=$(json_get "$RIG_TMP/flows.json" "{s: sum(1 for f in d['flows'] if f['state'] == s) for s in sorted({f['state'] for f in d['flows']})}")
echo "  flows by state: $by_state"
check "the flood's flow entries are gone: no flow in state syn" \
	int_eq "$(json_get "$RIG_TMP/flows.json" "sum(1 for f in d['flows'] if f['state'] == 'syn')")" 0
check "the 20 held connections' flows are established" \
	int_eq "$(json_get "$RIG_TMP/flows.json" "sum(1 for f in d['flows'] if f['state'] == 'established')")" 20
check "nothing else but the burst's closing flows ($(json_get "$RIG_TMP/flows.json" total) in all)" \
	int_le "$(json_get "$RIG_TMP/flows.json" total)" 50
lbctl_ status | grep -E '^(timeouts|reaper)\.' | sed 's/^/  /'
out=$(hold_cmd h check)
check "all 20 real connections still answer from their backends" \
	int_eq "$(json_get - "d['same'] if d['failed'] == 0 else -1" <<<"$out")" 20
hold_cmd h quit >/dev/null
rig_finish
