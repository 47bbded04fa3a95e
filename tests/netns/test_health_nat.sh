#!/usr/bin/env bash
# Health checks in nat mode (issue 12), two-arm rig_create_nat with 2
# backends: a nat VIP's checks go to the backend's own address and port (the
# port its traffic is translated to), not to the VIP. VIPs
# 198.18.100.1:80/tcp -> backends' :8080 (http check) and
# 198.18.100.1:53/udp -> :5353 (udp check: send "hc", expect a reply starting
# with "b"); interval 500ms, timeout 300ms, fall 2, rise 2.
#  1. b2's server is replaced by one on ports 80 and 53 only: the checks of
#     b2:8080 and b2:5353 fail, so b2 is down with weight 0 on both VIPs
#     within interval*fall + 1 s (+3 s of slack), though b2:80 still answers;
#     new connections and requests all go to b1.
#  2. An override for b2 on the tcp VIP (`set-health --backend B2 --check
#     http --check-port 80 ...`): b2 passes and is up (the check follows the
#     override); `--reset` drops the override and b2 is down again.
#  3. b2's own server back: up on both VIPs, and both backends get traffic.
#
# test_health_fullnat.sh runs the same in the fullnat rig (HC_MODE=fullnat),
# configured by `lbctl apply` (the config's "health" objects) instead of
# add-vip and set-health.
set -u
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
MODE=${HC_MODE:-nat}
case $MODE in
nat) rig_create_nat 2 ;;
fullnat) rig_create_fullnat 2 ;;
*) die "HC_MODE=$MODE: nat or fullnat" ;;
esac

VIPT="$RIG_VIP4:80" VIPU="$RIG_VIP4:53"
ALT=$RIG_PORT_ALT_TCP ALTU=$RIG_PORT_ALT_UDP
B1=$(rig_b4 1) B2=$(rig_b4 2)
INTERVAL_MS=500 FALL=2 RISE=2
COMMON=(--interval "${INTERVAL_MS}ms" --timeout 300ms --fall "$FALL" --rise "$RISE")
DOWN_DEADLINE_S=$(((INTERVAL_MS * FALL + 1000 + 3000 + 999) / 1000))
UP_DEADLINE_S=$(((INTERVAL_MS * RISE + 1000 + 3000 + 999) / 1000))


# lb_get ADDR PORT: the name of the backend answering GET / at ADDR:PORT
# from the LB's namespace ("None" if nothing answers).
lb_get() {
	in_ns "$RIG_NS_LB" python3 -c "import sys; sys.path.insert(0, '$RIG_TOOLS_DIR'); from client import one_conn; print(one_conn('$1', $2, 2).get('backend'))"
}

# alt_server_stop: stops b2's extra server (server_start 2 p80 ...), whose
# pid is in its ready file.
alt_server_stop() {
	local pid
	pid=$(cat "$RIG_TMP/server-b2-p80.ready" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null
	rm -f "$RIG_TMP/server-b2-p80.ready"
}

step "lbd on ${RIG_LB_IFACES[*]}; $MODE VIPs $VIPT/tcp -> :$ALT (http check), $VIPU/udp -> :$ALTU (udp check)"
lbd_start || { fail "lbd starts"; rig_finish; }
if [[ $MODE == nat ]]; then
	mode_vip_setup "$VIPT" tcp nat --port "$ALT" "$B1" "$B2" || rig_finish
	mode_vip_setup "$VIPU" udp nat --port "$ALTU" "$B1" "$B2" || rig_finish
	lbctl_quiet set-health "$VIPT" --proto tcp --check http "${COMMON[@]}" || rig_finish
	lbctl_quiet set-health "$VIPU" --proto udp --check udp --send hc --expect b "${COMMON[@]}" || rig_finish
else
	cfg_new
	cfg_fullnat "$RIG_FNAT4" "$RIG_FNAT6" 20000 20999
	cfg_vip "$VIPT" tcp fullnat
	cfg_vip "$VIPU" udp fullnat
	for b in "$B1" "$B2"; do
		cfg_backend "$VIPT" tcp "$b" "$ALT"
		cfg_backend "$VIPU" udp "$b" "$ALTU"
	done
	spec="\"interval\": \"${INTERVAL_MS}ms\", \"timeout\": \"300ms\", \"fall\": $FALL, \"rise\": $RISE"
	cfg_health "$VIPT" tcp "{\"check\": \"http\", $spec}"
	cfg_health "$VIPU" udp "{\"check\": \"udp\", \"send\": \"hc\", \"expect\": \"b\", $spec}"
	cfg_apply || rig_finish
	check "the config's checks are the VIPs' ($(lbctl_ list --json | json_get - "[v['health']['check'] for v in d['vips']]"))" \
		[ "$(lbctl_ list --json | json_get - "sorted(v['health']['check'] for v in d['vips'])")" = '["http", "udp"]' ]
fi
health_check_wait "$VIPT" tcp "$(now_ms)" 10 "all(st(n) == 'up' and w(n) == 1 for n in b)" "b1 and b2 up, weight 1"
health_check_wait "$VIPU" udp "$(now_ms)" 10 "all(st(n) == 'up' and w(n) == 1 for n in b)" "b1 and b2 up, weight 1"

step "1. b2 serves ports 80 and 53 only, not the translated $ALT and $ALTU"
t0=$(now_ms)
server_stop 2
server_start 2 p80 --bind "$B2" --http-port 80 --udp-port 53
health_check_wait "$VIPT" tcp "$t0" "$DOWN_DEADLINE_S" "st('b2') == 'down' and w('b2') == 0 and st('b1') == 'up'" \
	"b2 down with weight 0 within $DOWN_DEADLINE_S s, b1 up"
health_check_wait "$VIPU" udp "$t0" "$DOWN_DEADLINE_S" "st('b2') == 'down' and w('b2') == 0 and st('b1') == 'up'" \
	"b2 down with weight 0 within $DOWN_DEADLINE_S s, b1 up"
check "b2:80 answers ($(lb_get "$B2" 80))" [ "$(lb_get "$B2" 80)" = b2 ]
check "b2:$ALT does not" [ "$(lb_get "$B2" "$ALT")" = None ]
sport_alloc 40
out=$(client_burst "$RIG_VIP4" 40 --parallel 20 --sport-base "$SPORT")
check "40 new TCP connections all answered by b1 ($(json_get - by_backend <<<"$out"))" \
	counts_equal "$(json_get - by_backend <<<"$out")" '{"b1": 40}'
sport_alloc 40
out=$(client_udprr "$RIG_VIP4" 40 --parallel 20 --sport-base "$SPORT")
check "40 new UDP requests all answered by b1 ($(json_get - by_backend <<<"$out"))" \
	counts_equal "$(json_get - by_backend <<<"$out")" '{"b1": 40}'

step "2. an override checks b2 on port 80"
t0=$(now_ms)
lbctl_quiet set-health "$VIPT" --proto tcp --backend "$B2" --check http --check-port 80 "${COMMON[@]}"
health_check_wait "$VIPT" tcp "$t0" "$UP_DEADLINE_S" "st('b2') == 'up' and w('b2') == 1" "with --check-port 80 b2 passes: up"
t0=$(now_ms)
lbctl_quiet set-health "$VIPT" --proto tcp --backend "$B2" --reset
health_check_wait "$VIPT" tcp "$t0" "$DOWN_DEADLINE_S" "st('b2') == 'down' and w('b2') == 0" "override reset: b2 down again"

step "3. b2's own server back"
alt_server_stop
server_start 2
t0=$(now_ms) # from the server being ready
health_check_wait "$VIPT" tcp "$t0" "$UP_DEADLINE_S" "st('b2') == 'up' and w('b2') == 1" "b2 up within $UP_DEADLINE_S s"
health_check_wait "$VIPU" udp "$t0" "$UP_DEADLINE_S" "st('b2') == 'up' and w('b2') == 1" "b2 up within $UP_DEADLINE_S s"
sport_alloc 60
out=$(client_burst "$RIG_VIP4" 60 --parallel 20 --sport-base "$SPORT")
check "60 new TCP connections all answered, by both backends ($(json_get - by_backend <<<"$out"))" \
	[ "$(json_get - "d['ok'] == 60 and sorted(d['by_backend']) == ['b1', 'b2']" <<<"$out")" = true ]
sport_alloc 60
out=$(client_udprr "$RIG_VIP4" 60 --parallel 20 --sport-base "$SPORT")
check "60 new UDP requests all answered, by both backends ($(json_get - by_backend <<<"$out"))" \
	[ "$(json_get - "d['ok'] == 60 and sorted(d['by_backend']) == ['b1', 'b2']" <<<"$out")" = true ]

rig_finish
