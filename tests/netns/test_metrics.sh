#!/usr/bin/env bash
# lbd --metrics (docs/operations.md, "Metrics"): the Prometheus endpoint in
# the LB's namespace, scraped with curl from there.
#  - after traffic (an IPv4 VIP with tcp checks, an IPv6 one without), the
#    scrape's per-VIP and per-backend counters equal `lbctl stats --json`
#    (no traffic in between), the flow-table count lies between two `lbctl
#    status` counts taken around it, weights, states, connection counts and
#    health match `lbctl list --json`;
#  - the whole scrape passes `promtool check metrics`;
#  - any other path is 404; a second lbd on the busy port fails to start,
#    saying why, before touching anything; a bad --metrics is a usage error;
#  - a client that connects and sends half a request holds up neither lbd
#    (lbctl answers) nor other scrapes, and is dropped (read timeout 5 s);
#  - an IPv6 listener ([addr]:port) serves the same.
set -u
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
command -v curl >/dev/null || skip "curl not installed"
command -v promtool >/dev/null || skip "promtool not installed (Debian prometheus; scripts/install-deps.sh)"
rig_create 2
VIP="$RIG_VIP4:80"
VIP6="[$RIG_VIP6]:80"
PORT=9466
URL="http://$RIG_LB4:$PORT"

# scrape OUT [PATH] [URL]: GET URL/PATH from the LB's namespace into OUT;
# prints the HTTP status (000: no answer within 10 s).
scrape() {
	nsenter_net "$RIG_NS_LB" curl -sS -g --max-time 10 -o "$1" -w '%{http_code}' "${3:-$URL}${2:-/metrics}" 2>>"$RIG_TMP/curl.err"
}
# metric FILE SERIES: the value of one series (name and labels exactly as
# written), or nothing.
metric() { awk -v k="$2" 'index($0, k " ") == 1 { print substr($0, length(k) + 2); exit }' "$1"; }
# metric_is FILE SERIES VALUE
metric_is() {
	local v
	v=$(metric "$1" "$2")
	[[ "$v" == "$3" ]] || { log "$2: '$v', want '$3'"; return 1; }
}

step "lbd --metrics $RIG_LB4:$PORT, $VIP/tcp on b1 b2 with tcp checks, $VIP6/tcp on b1"
lbd_start --metrics "$RIG_LB4:$PORT" || { fail "lbd starts"; rig_finish; }
check "lbd logs where it serves metrics" grep -q "metrics on $URL/metrics" "$RIG_LBD_LOG"
check "xlb-decap attaches on every backend" decap_attach_all
vip_setup "$VIP" tcp "$(rig_b4 1)" "$(rig_b4 2)/2" || rig_finish
vip_setup "$VIP6" tcp "$(rig_b6 1)" || rig_finish
# The LB routes the VIP to a next hop nobody answers for: the checks reach
# the backends only through the steering hook (as in test_health).
ip -n "$RIG_NS_LB" neigh replace 198.18.0.250 lladdr 02:00:00:00:00:fa dev "$RIG_IF_LB" nud permanent
ip -n "$RIG_NS_LB" route add "$RIG_VIP4/32" via 198.18.0.250 dev "$RIG_IF_LB"
lbctl_ok set-health "$VIP" --proto tcp --check tcp --interval 1s --rise 1 >/dev/null
backends_up() {
	lbctl_ list --json >"$RIG_TMP/list.json" 2>/dev/null &&
		[[ $(json_get "$RIG_TMP/list.json" "sum(1 for v in d['vips'] for b in v['backends'] if (b['health'] or {}).get('state') == 'up')") == 2 ]]
}
check "both backends' checks pass" wait_for 30 backends_up

step "traffic, then one scrape between two lbctl reads"
client_burst "$RIG_VIP4" 60 --parallel 10 --sport-base 10000 >"$RIG_TMP/burst.json"
check "60 of 60 connections answered" int_eq "$(json_get "$RIG_TMP/burst.json" ok)" 60
client_burst "$RIG_VIP6" 20 --parallel 5 --sport-base 10100 >"$RIG_TMP/burst6.json"
check "20 of 20 IPv6 connections answered" int_eq "$(json_get "$RIG_TMP/burst6.json" ok)" 20
lbctl_ status --json >"$RIG_TMP/status1.json"
code=$(scrape "$RIG_TMP/m1.txt")
lbctl_ stats --json >"$RIG_TMP/stats.json"
lbctl_ list --json >"$RIG_TMP/list.json"
lbctl_ status --json >"$RIG_TMP/status2.json"
check "GET /metrics: 200 (got $code)" [ "$code" = 200 ]
check "scrape has $(wc -l <"$RIG_TMP/m1.txt") lines" [ -s "$RIG_TMP/m1.txt" ]
promtool check metrics <"$RIG_TMP/m1.txt" >"$RIG_TMP/promtool.out" 2>&1
rc=$?
check "promtool check metrics: exit 0, no problems" [ $rc = 0 -a ! -s "$RIG_TMP/promtool.out" ] ||
	head -20 "$RIG_TMP/promtool.out" >&2
nsenter_net "$RIG_NS_LB" curl -sS -g --max-time 10 -D "$RIG_TMP/headers" -o /dev/null "$URL/metrics"
check "Content-Type is the text format 0.0.4" grep -qi '^content-type: text/plain; version=0.0.4' "$RIG_TMP/headers"

vpk=$(json_get "$RIG_TMP/stats.json" "[v['packets'] for v in d['vips'] if v['vip'] == '$VIP'][0]")
vby=$(json_get "$RIG_TMP/stats.json" "[v['bytes'] for v in d['vips'] if v['vip'] == '$VIP'][0]")
check "the VIP got packets ($vpk)" int_ge "$vpk" 60
L="vip=\"$VIP\",proto=\"tcp\""
check "xlb_vip_packets_total = stats' $vpk" metric_is "$RIG_TMP/m1.txt" "xlb_vip_packets_total{$L}" "$vpk"
check "xlb_vip_bytes_total = stats' $vby" metric_is "$RIG_TMP/m1.txt" "xlb_vip_bytes_total{$L}" "$vby"
v6pk=$(json_get "$RIG_TMP/stats.json" "[v['packets'] for v in d['vips'] if v['vip'] == '$VIP6'][0]")
L6="vip=\"$VIP6\",proto=\"tcp\""
check "xlb_vip_packets_total{$L6} = stats' $v6pk" metric_is "$RIG_TMP/m1.txt" "xlb_vip_packets_total{$L6}" "$v6pk"
b6pk=$(json_get "$RIG_TMP/stats.json" "[b['packets'] for v in d['vips'] for b in v['backends'] if b['address'] == '$(rig_b6 1)'][0]")
check "IPv6 backend: xlb_backend_packets_total = stats' $b6pk" \
	metric_is "$RIG_TMP/m1.txt" "xlb_backend_packets_total{$L6,backend=\"$(rig_b6 1)\"}" "$b6pk"
check "the IPv6 VIP is unchecked: no health series" eval '! grep -q "^xlb_backend_health_state{$L6" "$RIG_TMP/m1.txt"'
for i in 1 2; do
	b=$(rig_b4 $i)
	BL="$L,backend=\"$b\""
	bpk=$(json_get "$RIG_TMP/stats.json" "[b['packets'] for v in d['vips'] for b in v['backends'] if b['address'] == '$b'][0]")
	bby=$(json_get "$RIG_TMP/stats.json" "[b['bytes'] for v in d['vips'] for b in v['backends'] if b['address'] == '$b'][0]")
	check "b$i: xlb_backend_packets_total = stats' $bpk" metric_is "$RIG_TMP/m1.txt" "xlb_backend_packets_total{$BL}" "$bpk"
	check "b$i: xlb_backend_bytes_total = stats' $bby" metric_is "$RIG_TMP/m1.txt" "xlb_backend_bytes_total{$BL}" "$bby"
	for f in weight:weight admin_weight:admin_weight ring_slots:ring_slots active_connections:active half_open_connections:half_open; do
		want=$(json_get "$RIG_TMP/list.json" "[b['${f#*:}'] for v in d['vips'] for b in v['backends'] if b['address'] == '$b'][0]")
		check "b$i: xlb_backend_${f%%:*} = list's $want" metric_is "$RIG_TMP/m1.txt" "xlb_backend_${f%%:*}{$BL}" "$want"
	done
	check "b$i: state active" metric_is "$RIG_TMP/m1.txt" "xlb_backend_state{$BL,state=\"active\"}" 1
	check "b$i: health up" metric_is "$RIG_TMP/m1.txt" "xlb_backend_health_state{$BL,state=\"up\"}" 1
	check "b$i: not down" metric_is "$RIG_TMP/m1.txt" "xlb_backend_health_state{$BL,state=\"down\"}" 0
done
# Every global counter, under its stats name (rx and the other counters
# can move between the two reads: ARP and neighbour discovery reach xlb_lb).
missing=$(python3 - "$RIG_TMP/stats.json" "$RIG_TMP/m1.txt" <<'PY'
import json, sys
names = json.load(open(sys.argv[1]))["global"].keys()
text = open(sys.argv[2]).read()
print(" ".join(n for n in names
               if f'xlb_packets_total{{counter="{n}"}} ' not in text or f'xlb_bytes_total{{counter="{n}"}} ' not in text))
PY
)
check "every global counter of stats --json is exported (missing: ${missing:-none})" [ -z "$missing" ]
rx=$(metric "$RIG_TMP/m1.txt" 'xlb_packets_total{counter="rx"}')
rx_after=$(json_get "$RIG_TMP/stats.json" global.rx.packets)
check "rx ($rx) between the VIPs' packets ($((vpk + v6pk))) and stats' later rx ($rx_after)" int_between "$rx" "$((vpk + v6pk))" "$rx_after"
f1=$(json_get "$RIG_TMP/status1.json" flows)
f2=$(json_get "$RIG_TMP/status2.json" flows)
fm=$(metric "$RIG_TMP/m1.txt" xlb_flow_table_entries)
check "xlb_flow_table_entries ($fm) between status' counts after ($f2) and before ($f1)" int_between "$fm" "$f2" "$f1"
check "xlb_flow_table_size = status'" metric_is "$RIG_TMP/m1.txt" xlb_flow_table_size "$(json_get "$RIG_TMP/status2.json" flow_table_size)"
check "xlb_build_info carries the version" metric_is "$RIG_TMP/m1.txt" "xlb_build_info{version=\"$(json_get "$RIG_TMP/status2.json" version)\"}" 1
check "xlb_vips 2" metric_is "$RIG_TMP/m1.txt" xlb_vips 2
check "xlb_in_sync 1" metric_is "$RIG_TMP/m1.txt" xlb_in_sync 1
check "xlb_interface_attached 1" metric_is "$RIG_TMP/m1.txt" "xlb_interface_attached{interface=\"$RIG_IF_LB\"}" 1
for m in xlb_uptime_seconds xlb_health_transitions_total xlb_health_checks_started_total \
	xlb_health_checker_cpu_seconds_total xlb_reaper_sweeps_total xlb_reaper_expired_total \
	xlb_reaper_last_sweep_duration_seconds xlb_reaper_last_sweep_scanned_entries; do
	check "$m present ($(metric "$RIG_TMP/m1.txt" "$m"))" [ -n "$(metric "$RIG_TMP/m1.txt" "$m")" ]
done
check "health: 2 backends up" metric_is "$RIG_TMP/m1.txt" 'xlb_health_backends{state="up"}' 2

step "other paths, bad input"
code=$(scrape "$RIG_TMP/404.txt" /)
check "GET /: 404 (got $code)" [ "$code" = 404 ]
code=$(scrape "$RIG_TMP/404.txt" /metrics/extra)
check "GET /metrics/extra: 404 (got $code)" [ "$code" = 404 ]
out=$(nsenter_net "$RIG_NS_LB" "$LBD_BIN" --iface "$RIG_IF_LB" --pin-root "$RIG_PIN_ROOT" \
	--socket "$RIG_TMP/second.sock" --state-dir "" --metrics "$RIG_LB4:$PORT" 2>&1 </dev/null)
rc=$?
check "a second lbd on the busy port exits 1 (got $rc)" [ $rc = 1 ]
check "...saying why: ${out:0:120}" grep -q "cannot listen on $RIG_LB4:$PORT: Address already in use" <<<"$out"
check "...before taking the data path (no owner message)" eval '! grep -qi "owner\|lock" <<<"$out"'
check "the first lbd still answers" lbctl_ status >/dev/null
code=$(scrape "$RIG_TMP/m2.txt")
check "...and its endpoint too (got $code)" [ "$code" = 200 ]
out=$(nsenter_net "$RIG_NS_LB" "$LBD_BIN" --iface "$RIG_IF_LB" --metrics localhost:9466 2>&1 </dev/null)
rc=$?
check "--metrics localhost:9466: usage error, exit 2 (got $rc)" [ $rc = 2 ]
check "...saying why: ${out:0:120}" grep -q "not an IPv4 address" <<<"$out"

step "a slow client"
# Connects and sends half a request line, then waits; prints "closed" when
# lbd drops it (or "open" after 30 s: a failure).
nsenter_net "$RIG_NS_LB" python3 - "$RIG_LB4" "$PORT" "$RIG_TMP/slow.ready" >"$RIG_TMP/slow.out" <<'PY' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(b"GET /metr")
open(sys.argv[3], "w").close()
s.settimeout(30)
try:
    while s.recv(4096):
        pass
    print("closed")
except socket.timeout:
    print("open")
except OSError:
    print("closed")
PY
SLOW_PID=$!
RIG_BG_PIDS+=("$SLOW_PID")
check "the slow client is connected" wait_for 10 [ -e "$RIG_TMP/slow.ready" ]
check "lbctl status answers meanwhile" lbctl_ --timeout 3 status >/dev/null
code=$(scrape "$RIG_TMP/m3.txt")
check "another scrape is answered meanwhile (got $code)" [ "$code" = 200 ]
wait "$SLOW_PID"
check "lbd dropped the slow client ($(cat "$RIG_TMP/slow.out"))" grep -qx closed "$RIG_TMP/slow.out"

step "IPv6: lbd restarted with --metrics [$RIG_LB6]:$PORT"
lbd_kill
lbd_start --metrics "[$RIG_LB6]:$PORT" || { fail "lbd starts"; rig_finish; }
code=$(scrape "$RIG_TMP/m6.txt" /metrics "http://[$RIG_LB6]:$PORT")
check "GET /metrics over IPv6: 200 (got $code)" [ "$code" = 200 ]
check "the VIP's counters survive the restart (kept in the maps)" \
	int_ge "$(metric "$RIG_TMP/m6.txt" "xlb_vip_packets_total{$L}")" "$vpk"
promtool check metrics <"$RIG_TMP/m6.txt" >"$RIG_TMP/promtool6.out" 2>&1
rc=$?
check "promtool check metrics: exit 0" [ $rc = 0 -a ! -s "$RIG_TMP/promtool6.out" ]
rig_finish
