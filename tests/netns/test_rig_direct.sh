#!/usr/bin/env bash
# The rig itself, without the load balancer: the client's VIP routes point
# straight at one backend (which holds the VIPs on lo), so the namespaces,
# bridge, addresses, servers and client tool are proven independently of lbd,
# xlb_lb and xlb-decap. Checks TCP and UDP on both families, a held
# connection, and that teardown leaves nothing behind.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}" --no-bins
rig_create 2

step "client routes the VIPs directly to b1 (no LB)"
ip -n "$RIG_NS_C" route replace 198.18.100.0/24 via "$(rig_b4 1)"
ip -n "$RIG_NS_C" -6 route replace fd00:100::/64 via "$(rig_b6 1)"

for vip in "$RIG_VIP4" "$RIG_VIP6"; do
	out=$(client_burst "$vip" 50 --parallel 10)
	echo "  burst $vip: $out"
	check "TCP $vip: 50 of 50 answered" int_eq "$(json_get - ok <<<"$out")" 50
	check "TCP $vip: all by b1" int_eq "$(json_get - 'd["by_backend"].get("b1",0)' <<<"$out")" 50
	out=$(in_ns "$RIG_NS_C" python3 "$RIG_TOOLS_DIR/client.py" udp --vip "$vip" -n 20)
	echo "  udp $vip: $out"
	check "UDP $vip: 20 of 20 echoed by b1" int_eq "$(json_get - 'd["by_backend"].get("b1",0)' <<<"$out")" 20
done

step "held connections and the control socket"
hold_start h "$RIG_VIP4" 5 || fail "hold client did not start"
out=$(hold_cmd h check)
check "5 held connections answer a second GET on the same connection" \
	int_eq "$(json_get - 'd["answered"] if d["same"] == d["answered"] else -1' <<<"$out")" 5
out=$(hold_cmd h open 3)
check "open 3 more" int_eq "$(json_get - opened <<<"$out")" 3
out=$(hold_cmd h close 2 --backend b1)
check "close 2" int_eq "$(json_get - held <<<"$out")" 6
out=$(hold_cmd h bogus)
check "unknown command answers ok=false" [ "$(json_get - ok <<<"$out")" = false ]
out=$(hold_cmd h check)
check "6 still answer" int_eq "$(json_get - answered <<<"$out")" 6
hold_cmd h quit >/dev/null

step "teardown leaves nothing behind"
rig_destroy
left=$(rig_leftovers)
check "no namespaces, pins or tmpdir left${left:+: $left}" [ -z "$left" -a ! -e "$RIG_TMP" ]
rig_finish
