#!/usr/bin/env bash
# lbd keeps every backend's next hop resolved through rtnetlink, and follows
# link, route and address changes without a restart (issue 13; design.md,
# "Neighbours and network changes"):
#  1. backends' next hops get managed neighbour entries (tagged proto 120),
#     resolved, and shown in `lbctl status`;
#  2. an entry deleted by someone else comes back;
#  3. a link flap (which flushes even managed entries) is followed: the
#     entries come back and traffic flows;
#  4. a backend behind a gateway gets the gateway's entry; when its route
#     moves to another gateway, the entry moves too; removed with the backend;
#  5. --neighbours use: plain entries refreshed with NTF_USE, the managed
#     leftovers removed, a deleted entry refreshed again; back to managed;
#  6. the interfaces' addresses change: the default fullnat and IPv6 encap
#     sources follow, in status and in the log;
#  7. a static entry somebody set for a next hop (nud permanent) is left
#     alone, by the looks and by the detach; lbctl detach removes lbd's
#     managed entries.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 3
VIP4="$RIG_VIP4:80"
VIP6="[$RIG_VIP6]:80"
REMOTE=198.18.64.5  # a backend address behind a gateway (no traffic to it)

# neigh_line ADDR: the LB's neighbour entry for ADDR on its interface, with details.
neigh_line() { ip -n "$RIG_NS_LB" -d neigh show to "$1" dev "$RIG_IF_LB" 2>/dev/null; }
resolved() { grep -Eq 'REACHABLE|STALE|DELAY|PROBE' <<<"$1"; }
# managed ADDR: lbd's managed entry, resolved.
managed() { local l; l=$(neigh_line "$1"); grep -q 'managed' <<<"$l" && grep -q 'proto 120' <<<"$l" && resolved "$l"; }
# managed_any ADDR: lbd's managed entry, whatever its state.
managed_any() { neigh_line "$1" | grep -q 'managed.*proto 120'; }
# plain ADDR: an entry lbd refreshes with NTF_USE: tagged, not managed, resolved.
plain() { local l; l=$(neigh_line "$1"); ! grep -q 'managed' <<<"$l" && grep -q 'proto 120' <<<"$l" && resolved "$l"; }
# not_ours ADDR: no entry lbd asked for (the kernel may have one of its own).
not_ours() { ! neigh_line "$1" | grep -q 'proto 120'; }
no_managed_left() { ! ip -n "$RIG_NS_LB" -d neigh show | grep -q 'managed'; }
status_field() { lbctl_ status --json | json_get - "$1"; }
burst_ok() { # VIP N: N connections, all answered
	local out
	out=$(client_burst "$1" "$2")
	int_eq "$(json_get - ok <<<"$out")" "$2"
}

step "1. backends' next hops get managed entries"
lbd_start || { fail "lbd starts"; rig_finish; }
decap_attach_all
vip_setup "$VIP4" tcp "$(rig_b4 1)" "$(rig_b4 2)"
vip_setup "$VIP6" tcp "$(rig_b6 1)" "$(rig_b6 2)"
for a in "$(rig_b4 1)" "$(rig_b4 2)" "$(rig_b6 1)" "$(rig_b6 2)"; do
	check "$a: managed entry, resolved" wait_for 10 managed "$a"
done
check "b3 (no backend of any VIP) has no entry of lbd's" not_ours "$(rig_b4 3)"
check "status: neighbours mode managed" [ "$(status_field "d['neighbours']['mode']")" = managed ]
check "status: 4 next hops, all reachable-ish" int_eq "$(status_field \
	"sum(1 for h in d['neighbours']['next_hops'] if h['state'] in ('reachable', 'stale', 'delay', 'probe'))")" 4
check "40 connections to the IPv4 VIP answered" burst_ok "$RIG_VIP4" 40
check "40 connections to the IPv6 VIP answered" burst_ok "$RIG_VIP6" 40

step "2. an entry deleted by someone else comes back"
ip -n "$RIG_NS_LB" neigh del "$(rig_b4 1)" dev "$RIG_IF_LB"
check "b1's managed entry is back" wait_for 10 managed "$(rig_b4 1)"

step "3. a link flap flushes the entries; lbd adds them again"
# Without keep_addr_on_down the kernel drops the IPv6 addresses (and with
# them the routes to the backends) when the link goes down; a host's
# network manager would add them again, the rig has none.
in_ns "$RIG_NS_LB" sysctl -qw "net.ipv6.conf.$RIG_IF_LB.keep_addr_on_down=1"
ip -n "$RIG_NS_LB" link set "$RIG_IF_LB" down
ip -n "$RIG_NS_LB" link set "$RIG_IF_LB" up
for a in "$(rig_b4 1)" "$(rig_b4 2)" "$(rig_b6 1)" "$(rig_b6 2)"; do
	check "$a: managed and resolved again" wait_for 15 managed "$a"
done
check "40 connections to the IPv4 VIP answered after the flap" wait_for 20 burst_ok "$RIG_VIP4" 40
check "40 connections to the IPv6 VIP answered after the flap" wait_for 20 burst_ok "$RIG_VIP6" 40

step "4. a backend behind a gateway; the gateway changes"
ip -n "$RIG_NS_LB" route add "$REMOTE/32" via "$(rig_b4 3)"
lbctl_ok add-vip "$RIG_VIP4:81" --proto tcp >/dev/null
lbctl_ok add-backend "$RIG_VIP4:81" --proto tcp "$REMOTE" >/dev/null
check "the gateway (b3) gets a managed entry" wait_for 10 managed "$(rig_b4 3)"
check "the backend itself, not on the link, gets none" not_ours "$REMOTE"
ip -n "$RIG_NS_LB" route replace "$REMOTE/32" via "$RIG_CLIENT4"
check "the route's new gateway gets a managed entry" wait_for 10 managed "$RIG_CLIENT4"
check "the old gateway's entry is removed" wait_for 10 not_ours "$(rig_b4 3)"
# A removed backend keeps its next hop while flows may still use it: until
# the reaper frees it (at once here: --purge, and it never had a flow).
lbctl_ok del-backend "$RIG_VIP4:81" --proto tcp "$REMOTE" --purge >/dev/null
check "with the backend freed, so is its gateway's entry" wait_for 30 not_ours "$RIG_CLIENT4"
check "the other backends' entries stay" managed "$(rig_b4 1)"

step "5. --neighbours use"
lbd_kill TERM
lbd_start --neighbours use || { fail "lbd starts with --neighbours use"; rig_finish; }
check "status: neighbours mode use" [ "$(status_field "d['neighbours']['mode']")" = use ]
for a in "$(rig_b4 1)" "$(rig_b6 2)"; do
	check "$a: a plain tagged entry (the managed one removed), resolved" wait_for 10 plain "$a"
done
check "no managed entry is left" no_managed_left
ip -n "$RIG_NS_LB" neigh del "$(rig_b4 2)" dev "$RIG_IF_LB"
check "a deleted entry is refreshed at once" wait_for 10 plain "$(rig_b4 2)"
check "40 connections to the IPv4 VIP answered" burst_ok "$RIG_VIP4" 40
lbd_kill TERM
lbd_start || { fail "lbd starts again (auto)"; rig_finish; }
check "auto again: b2's entry is managed" wait_for 10 managed "$(rig_b4 2)"

step "6. the interfaces' addresses change"
check "status: fullnat IPv4 source is the interface's $RIG_LB4" \
	[ "$(status_field "d['fullnat']['source_v4']")" = "$RIG_LB4" ]
check "status: IPv6 encap source is the interface's $RIG_LB6" \
	[ "$(status_field "d['encap']['source_v6']")" = "$RIG_LB6" ]
ip -n "$RIG_NS_LB" addr add 198.19.250.1/24 dev "$RIG_IF_LB"
ip -n "$RIG_NS_LB" addr add fd00:250::1/64 dev "$RIG_IF_LB" nodad
ip -n "$RIG_NS_LB" addr del "$RIG_LB4/24" dev "$RIG_IF_LB"
ip -n "$RIG_NS_LB" addr del "$RIG_LB6/64" dev "$RIG_IF_LB"
check "the fullnat IPv4 source follows to 198.19.250.1" \
	wait_for 10 eval '[ "$(status_field "d[\"fullnat\"][\"source_v4\"]")" = 198.19.250.1 ]'
check "the IPv6 encap source follows to fd00:250::1" \
	wait_for 10 eval '[ "$(status_field "d[\"encap\"][\"source_v6\"]")" = fd00:250::1 ]'
check "the log says so" grep -q "fullnat IPv4 source follows the interfaces' address: $RIG_LB4 -> 198.19.250.1" \
	"$RIG_LBD_LOG"
check "lbctl status --verify: model and maps agree" lbctl_quiet status --verify
check "the backends' routes are gone with the address: so are their entries" \
	wait_for 10 eval '! managed_any "$(rig_b4 1)"'

step "7. a static entry somebody set is left alone; lbctl detach removes lbd's managed entries"
ip -n "$RIG_NS_LB" addr add "$RIG_LB4/24" dev "$RIG_IF_LB"
check "with the route back, b1's entry is back, resolved" wait_for 10 managed "$(rig_b4 1)"
# Pinned by hand, as a rig or an operator may: `replace` keeps lbd's proto
# tag on the entry, the case lbd must not mistake for its own.
B1_MAC=$(neigh_line "$(rig_b4 1)" | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2)
ip -n "$RIG_NS_LB" neigh replace "$(rig_b4 1)" lladdr "$B1_MAC" nud permanent dev "$RIG_IF_LB"
static_b1() { neigh_line "$(rig_b4 1)" | grep -q "lladdr $B1_MAC .*PERMANENT"; }
check "b1's entry is static now" static_b1
# A backend change makes lbd look again; b3's new entry shows it has.
lbctl_ok add-vip "$RIG_VIP4:82" --proto tcp >/dev/null
lbctl_ok add-backend "$RIG_VIP4:82" --proto tcp "$(rig_b4 3)" >/dev/null
check "b3 gets a managed entry (lbd looked again)" wait_for 10 managed "$(rig_b4 3)"
check "b1's static entry is left as it was" static_b1
check "status shows it as permanent" [ "$(status_field \
	"[h['state'] for h in d['neighbours']['next_hops'] if h['address'] == '$(rig_b4 1)'][0]")" = permanent ]
check "40 connections to the IPv4 VIP answered" burst_ok "$RIG_VIP4" 40
lbctl_ok detach >/dev/null
check "no managed entry is left after the detach" wait_for 10 no_managed_left
check "b1's static entry survives the detach" static_b1
rig_finish
