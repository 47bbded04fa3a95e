#!/usr/bin/env bash
# Announcing VIPs through a kernel routing table (issue 14), on one node, in
# the ipip (DSR) rig: lbd --announce-table 100 keeps one `blackhole VIP`
# route of protocol 120 per served VIP address in table 100 of the LB's
# namespace (no BIRD here: the table is the contract BIRD and FRR read).
#  1. --announce-table refuses 0, 253-255 and non-numbers, saying why.
#  2. A VIP without backends is not announced; with one it is (IPv4 and
#     IPv6); a second port on the same address adds no route.
#  3. Withdrawn when the address's last serving backend is set to weight 0,
#     deleted, or health-down (fail-closed, both servers stopped); back
#     when one serves again.
#  4. `lbctl node drain`: everything withdrawn, traffic still forwarded,
#     the flag in the state dir; status and metrics say so.
#  5. lbd killed (-9) while drained and started again: still drained.
#     Undrain: announced again.
#  6. lbd killed (-9), and stopped with SIGTERM, then started again with the
#     same state dir, while a poller reads the table every 20 ms: the
#     routes never disappear, and lbd withdraws nothing.
#  7. A route deleted by hand is put back, and a stray proto 120 route is
#     removed (both at the next re-dump, within ~5 s).
#  8. The VIP removed: withdrawn. `lbctl detach`: the table is empty.
#  9. `lbd --detach IF --announce-table 100` (lbd killed): withdrawn too.
# 10. Without --announce-table, `node drain` records the flag and status
#     says announcing is off.
# 11. Table 100000 (above 255: netlink carries it in RTA_TABLE only): the
#     route appears there, a stray one is removed, lbd's own is never taken
#     for missing, detach empties it.
# With bird2 installed, BIRD runs in the LB's namespace on the shipped
# example (scripts/packaging/examples/bird-xlb.conf; its BGP neighbour is
# absent, which does not matter here) and its tables xlb4/xlb6 follow
# table 100: the VIPs learned, gone on drain, back on undrain.
set -u
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 2

TABLE=100
VIP="$RIG_VIP4:80"
VIP6="[$RIG_VIP6]:80"
B1=$(rig_b4 1) B2=$(rig_b4 2) B1_6=$(rig_b6 1)
NODE_FILE="$RIG_STATE_DIR/$RIG_IF_LB.node.json"

# table_routes: the table's proto 120 routes, one "blackhole ADDR" a line.
table_routes() {
	{
		ip -n "$RIG_NS_LB" -4 route show table "$TABLE" proto 120
		ip -n "$RIG_NS_LB" -6 route show table "$TABLE" proto 120
	} 2>/dev/null | awk '{print $1, $2}'
}
announced() { table_routes | grep -qx "blackhole $1"; }
not_announced() { ! announced "$1"; }
both_announced() { announced "$RIG_VIP4" && announced "$RIG_VIP6"; }
table_empty() { [[ -z "$(table_routes)" ]]; }
announce_json() { lbctl_ status --json | json_get - "$1"; }

step "1. --announce-table is validated"
for bad in 0 253 254 255 abc 2147483649; do
	out=$(nsenter_net "$RIG_NS_LB" "$LBD_BIN" --iface "$RIG_IF_LB" --pin-root "$RIG_PIN_ROOT" --socket "$RIG_SOCK" \
		--announce-table "$bad" 2>&1)
	rc=$?
	check "--announce-table $bad refused (exit $rc): ${out%%$'\n'*}" \
		bash -c '[[ $1 == 2 && $2 == *announce-table* ]]' _ "$rc" "$out"
done
check "nothing was attached by the refused starts" bash -c '! ip -n "$1" -d link show "$2" | grep -q prog/xdp' _ \
	"$RIG_NS_LB" "$RIG_IF_LB"

step "2. a VIP is announced once it has a backend"
lbd_start --announce-table "$TABLE" || die "lbd did not start"
decap_attach_all || die "decap attach failed"
check "status: announce.table is $TABLE" [ "$(announce_json announce.table)" = "$TABLE" ]
check "status: not drained" [ "$(announce_json announce.drained)" = false ]
lbctl_ok add-vip "$VIP" --proto tcp >/dev/null
check "a VIP without backends is not announced" not_announced "$RIG_VIP4"
lbctl_ok add-backend "$VIP" --proto tcp "$B1" >/dev/null
check "a backend added: $RIG_VIP4 announced" wait_for 5 announced "$RIG_VIP4"
vip_setup "$VIP6" tcp "$B1_6"
check "IPv6: $RIG_VIP6 announced" wait_for 5 announced "$RIG_VIP6"
lbctl_ok add-vip "$RIG_VIP4:443" --proto tcp >/dev/null
lbctl_ok add-backend "$RIG_VIP4:443" --proto tcp "$B2" >/dev/null
check "a second service on the address: still one route" [ "$(table_routes | grep -c "^blackhole $RIG_VIP4$")" = 1 ]
check "table $TABLE does not affect forwarding (no rule: route get is not blackhole)" \
	bash -c '! ip -n "$1" route get "$2" 2>&1 | grep -q blackhole' _ "$RIG_NS_LB" "$RIG_VIP4"
check "status lists both addresses" \
	[ "$(announce_json "' '.join(d['announce']['announced'])")" = "$RIG_VIP4 $RIG_VIP6" ]
check "status text: one announce line" bash -c '[[ "$(grep -c "^announce:" <<<"$1")" == 1 && "$1" == *"table 100: "* ]]' \
	_ "$(lbctl_ status)"
lbctl_ok del-vip "$RIG_VIP4:443" --proto tcp >/dev/null
check "the second service removed: the address stays (port 80 serves)" announced "$RIG_VIP4"

step "3. withdrawn when no backend serves"
lbctl_ok set-backend "$VIP" --proto tcp "$B1" --weight 0 >/dev/null
check "last backend at weight 0: withdrawn" wait_for 5 not_announced "$RIG_VIP4"
check "the IPv6 VIP stays" announced "$RIG_VIP6"
lbctl_ok set-backend "$VIP" --proto tcp "$B1" --weight 1 >/dev/null
check "weight 1 again: announced" wait_for 5 announced "$RIG_VIP4"
lbctl_ok del-backend "$VIP" --proto tcp "$B1" >/dev/null
check "last backend deleted: withdrawn" wait_for 5 not_announced "$RIG_VIP4"
lbctl_ok add-backend "$VIP" --proto tcp "$B1" >/dev/null
lbctl_ok add-backend "$VIP" --proto tcp "$B2" >/dev/null
check "backends back: announced" wait_for 5 announced "$RIG_VIP4"
# ipip checks go to the VIP through the steering hook: the LB needs a route
# to it (to a next hop nobody answers for, as in test_health.sh).
ip -n "$RIG_NS_LB" neigh replace 198.18.0.250 lladdr 02:00:00:00:00:fa dev "$RIG_IF_LB" nud permanent
ip -n "$RIG_NS_LB" route add "$RIG_VIP4/32" via 198.18.0.250 dev "$RIG_IF_LB"
lbctl_ok set-health "$VIP" --proto tcp --check http --path / --interval 500ms --timeout 300ms --fall 2 --rise 2 \
	--all-down fail-closed >/dev/null
b1_down() {
	[[ $(lbctl_ list --json | json_get - "[b['health']['state'] for v in d['vips'] if v['vip'] == '$VIP' for b in v['backends'] if b['address'] == '$B1'][0]") == down ]]
}
both_up() {
	[[ $(lbctl_ list --json | json_get - "all(b['health']['state'] == 'up' for v in d['vips'] if v['vip'] == '$VIP' for b in v['backends'])") == true ]]
}
check "both backends checked and up" wait_for 15 both_up
server_stop 1
check "b1 down" wait_for 15 b1_down
check "b1 down: still announced (b2 serves)" announced "$RIG_VIP4"
server_stop 2
check "both down (fail-closed): withdrawn" wait_for 15 not_announced "$RIG_VIP4"
server_start 1
check "b1 up again: announced" wait_for 15 announced "$RIG_VIP4"
server_start 2
check "both up" wait_for 15 both_up

# BIRD on the shipped example, in the LB's namespace (optional).
BIRD_CTL="$RIG_TMP/bird.ctl"
bird_routes() { birdc -s "$BIRD_CTL" show route table "$1" 2>/dev/null | awk '$2 == "blackhole" {print $1}'; }
bird_has() { bird_routes "$1" | grep -qx "$2"; }
bird_lacks() { ! bird_has "$@"; }
HAVE_BIRD=
if command -v bird >/dev/null 2>&1; then
	nsenter_net "$RIG_NS_LB" bird -f -c "$RIG_SRC_DIR/scripts/packaging/examples/bird-xlb.conf" -s "$BIRD_CTL" \
		>"$RIG_TMP/bird.log" 2>&1 &
	RIG_BG_PIDS+=("$!")
	if wait_for 10 test -S "$BIRD_CTL"; then
		HAVE_BIRD=1
		check "BIRD learned $RIG_VIP4/32 into xlb4" wait_for 10 bird_has xlb4 "$RIG_VIP4/32"
		check "BIRD learned $RIG_VIP6/128 into xlb6" wait_for 10 bird_has xlb6 "$RIG_VIP6/128"
	else
		fail "BIRD did not start: $(tail -n 3 "$RIG_TMP/bird.log")"
	fi
else
	echo "  (bird not installed: the BIRD checks are skipped)"
fi

step "4. node drain withdraws everything and keeps forwarding"
out=$(lbctl_ node drain 2>&1)
check "lbctl node drain: $out" bash -c '[[ $1 == "node drained"* ]]' _ "$out"
check "nothing announced" table_empty
check "status: drained" [ "$(announce_json announce.drained)" = true ]
check "the flag is in $NODE_FILE" bash -c 'grep -q "\"drained\":true" "$1"' _ "$NODE_FILE"
client_burst "$RIG_VIP4" 40 >"$RIG_TMP/burst-drained.json"
check "traffic still flows while drained (40 of 40 answered)" [ "$(json_get "$RIG_TMP/burst-drained.json" ok)" = 40 ]
lbctl_ok add-vip "198.18.100.2:80" --proto tcp >/dev/null
lbctl_ok add-backend "198.18.100.2:80" --proto tcp "$B1" >/dev/null
check "a VIP added while drained is not announced" table_empty
if [[ -n "$HAVE_BIRD" ]]; then
	check "BIRD dropped the VIPs" wait_for 10 bird_lacks xlb4 "$RIG_VIP4/32"
	check "  (IPv6 too)" wait_for 10 bird_lacks xlb6 "$RIG_VIP6/128"
fi
lbctl_ok del-vip "198.18.100.2:80" --proto tcp >/dev/null

step "5. the drain survives a restart"
lbd_kill 9
lbd_start --announce-table "$TABLE" || die "lbd did not restart"
check "restarted: still drained" [ "$(announce_json announce.drained)" = true ]
check "restarted: nothing announced" table_empty
out=$(lbctl_ node undrain 2>&1)
check "lbctl node undrain: $out" bash -c '[[ $1 == "node undrained"* ]]' _ "$out"
check "undrained: both addresses announced again" both_announced
if [[ -n "$HAVE_BIRD" ]]; then
	check "BIRD learned them again" wait_for 10 bird_has xlb4 "$RIG_VIP4/32"
fi

step "6. restarts never withdraw"
# poll_table: every 20 ms, one line per read: the number of routes.
poll_start() {
	rm -f "$RIG_TMP/poll.stop"
	(
		while [[ ! -e "$RIG_TMP/poll.stop" ]]; do
			table_routes | wc -l
			sleep 0.02
		done
	) >"$RIG_TMP/poll.out" 2>/dev/null &
	POLL_PID=$!
	RIG_BG_PIDS+=("$POLL_PID")
}
poll_stop() {
	touch "$RIG_TMP/poll.stop"
	wait "$POLL_PID" 2>/dev/null
}
before_log=$(wc -l <"$RIG_LBD_LOG")
poll_start
lbd_kill 9
check "lbd killed -9: routes stay" both_announced
lbd_start --announce-table "$TABLE" || die "lbd did not restart"
lbd_kill TERM
check "lbd stopped (SIGTERM): routes stay" announced "$RIG_VIP4"
lbd_start --announce-table "$TABLE" || die "lbd did not restart"
lbctl_ status >/dev/null
poll_stop
reads=$(wc -l <"$RIG_TMP/poll.out")
missing=$(grep -cvx 2 "$RIG_TMP/poll.out")
echo "  $reads reads of the table during two restarts, $missing without both routes"
check "the table was read during the restarts" int_ge "$reads" 3
check "no read missed a route" int_eq "$missing" 0
check "lbd withdrew nothing on restart" bash -c '! tail -n +"$2" "$1" | grep -q "announce: withdrew"' _ "$RIG_LBD_LOG" "$before_log"

step "7. outside changes are repaired"
ip -n "$RIG_NS_LB" route del blackhole "$RIG_VIP4" table "$TABLE" proto 120
check "deleted by hand: gone" not_announced "$RIG_VIP4"
check "put back by the next re-dump" wait_for 10 announced "$RIG_VIP4"
check "the log says so, once (no other route, IPv6 included, was ever taken for missing)" \
	[ "$(grep -c "again (its route was deleted from outside)" "$RIG_LBD_LOG")" = 1 ]
ip -n "$RIG_NS_LB" route add blackhole 198.18.100.77 table "$TABLE" proto 120
check "a stray proto 120 route is removed" wait_for 10 not_announced 198.18.100.77

step "7b. the program removed from the interface by hand: withdrawn"
# Not lbd's detach: someone runs `ip link set IF xdp off`. The node no
# longer forwards VIP traffic, so it must stop attracting it; a restarted
# lbd attaches the program again and announces again.
ip -n "$RIG_NS_LB" link set dev "$RIG_IF_LB" xdp off 2>/dev/null
ip -n "$RIG_NS_LB" link set dev "$RIG_IF_LB" xdpgeneric off 2>/dev/null
check "the program is gone from $RIG_IF_LB" bash -c '! ip -n "$1" -d link show "$2" | grep -q prog/xdp' _ \
	"$RIG_NS_LB" "$RIG_IF_LB"
check "both VIPs withdrawn within the next watch (1 s)" wait_for 10 eval 'not_announced "$RIG_VIP4" && not_announced "$RIG_VIP6"'
check "the log says why" grep -q "no longer carries this lbd's" "$RIG_LBD_LOG"
lbd_kill TERM
lbd_start --announce-table "$TABLE" || die "lbd did not restart"
check "restarted: attached and announced again" wait_for 10 both_announced

step "8. VIP removed, then detach"
lbctl_ok del-vip "$VIP6" --proto tcp >/dev/null
check "IPv6 VIP removed: withdrawn" wait_for 5 not_announced "$RIG_VIP6"
check "the IPv4 VIP stays" announced "$RIG_VIP4"
lbctl_ok detach >/dev/null
pid=$RIG_LBD_PID
wait_for 10 bash -c '! kill -0 "$1" 2>/dev/null' _ "$pid"
RIG_LBD_PID=
check "detached: table $TABLE holds no proto 120 route" table_empty

step "9. lbd --detach --announce-table withdraws too (lbd not running)"
lbd_start --announce-table "$TABLE" || die "lbd did not start"
vip_setup "$VIP" tcp "$B1"
check "announced again" wait_for 5 announced "$RIG_VIP4"
lbd_kill 9
out=$(nsenter_net "$RIG_NS_LB" "$LBD_BIN" --detach "$RIG_IF_LB" --pin-root "$RIG_PIN_ROOT" --state-dir "$RIG_STATE_DIR" \
	--announce-table "$TABLE" 2>&1)
check "lbd --detach succeeded" [ $? -eq 0 ]
check "it logged the withdrawal" grep -q "announce: withdrew $RIG_VIP4" <<<"$out"
check "table $TABLE is empty" table_empty
check "the program is detached" bash -c '! ip -n "$1" -d link show "$2" | grep -q prog/xdp' _ "$RIG_NS_LB" "$RIG_IF_LB"

step "10. without --announce-table, drain only records the flag"
lbd_start || die "lbd did not start"
vip_setup "$VIP" tcp "$B1"
check "node drain succeeds" lbctl_ok node drain
check "status: announcing is off, node drained" \
	bash -c '[[ $(grep "^announce:" <<<"$1") == *"off (lbd runs without --announce-table); node drained" ]]' _ "$(lbctl_ status)"
check "the flag is saved" bash -c 'grep -q "\"drained\":true" "$1"' _ "$NODE_FILE"
check "nothing was written to table $TABLE" table_empty
check "node undrain succeeds" lbctl_ok node undrain
check "status: not drained" [ "$(announce_json announce.drained)" = false ]

step "11. a table number above 255 (netlink's RTA_TABLE only)"
BIG=100000
lbd_kill TERM
log_from=$(($(wc -l <"$RIG_LBD_LOG") + 1))
lbd_start --announce-table "$BIG" || die "lbd did not start"
big_has() { ip -n "$RIG_NS_LB" route show table "$BIG" proto 120 | awk '{print $1, $2}' | grep -qx "blackhole $1"; }
check "$RIG_VIP4 announced in table $BIG" wait_for 5 big_has "$RIG_VIP4"
ip -n "$RIG_NS_LB" route add blackhole 198.18.100.77 table "$BIG" proto 120
check "a stray route in table $BIG is removed (the dump reads that table)" wait_for 10 bash -c \
	'! ip -n "$1" route show table "$2" proto 120 | grep -q 198.18.100.77' _ "$RIG_NS_LB" "$BIG"
check "lbd's own route was never taken for missing" \
	bash -c '! tail -n +"$2" "$1" | grep -q "deleted from outside"' _ "$RIG_LBD_LOG" "$log_from"
lbctl_ok detach >/dev/null
pid=$RIG_LBD_PID
wait_for 10 bash -c '! kill -0 "$1" 2>/dev/null' _ "$pid"
RIG_LBD_PID=
check "detached: table $BIG is empty" bash -c '[[ -z $(ip -n "$1" route show table "$2" proto 120 2>/dev/null) ]]' _ \
	"$RIG_NS_LB" "$BIG"

rig_finish
