#!/usr/bin/env bash
# lbctl doctor (docs/troubleshooting.md), rig_create_l2 with 2 backends: an
# l2dsr VIP 198.18.100.1:80/tcp on b1 and b2 with a tcp health check.
#  0. The healthy rig (after traffic through it): doctor exits 0, every check ok.
#  1. Forwarding off in the LB namespace: doctor exits 1, names
#     net.ipv4.conf.<if>.forwarding and prints the sysctl that fixes it;
#     running that fix makes it healthy again.
#  2. An l2dsr backend nobody answers ARP for (198.19.0.99 on the segment,
#     VIP :8080 without checks): doctor names its missing neighbour entry
#     with the `ip neigh` fix; removing it makes it healthy again.
#  3. An ipip VIP :8081 on b1 with a host route to b1 of mtu 1400: doctor
#     names the missing headroom (1400 < the LB interface's MTU + 20) with the link MTU and
#     MSS fixes.
#  4. lbd restarted in generic XDP mode (RIG_XDP_MODE=skb, i.e.
#     XLB_XDP_MODE=skb / --xdp-mode skb): doctor names the interface's skb mode
#     and the --xdp-mode native fix.
# Doctor runs with --interval 0 (one sample: no drop counter is judged
# rising), so nothing here depends on timing.
set -u
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
RIG_XDP_MODE=native # the healthy rig is native; step 3 switches to skb itself
rig_create_l2 2

VIP="$RIG_VIP4:80" BOGUS_VIP="$RIG_VIP4:8080" BOGUS=198.19.0.99
B1=$(rig_b4 1) B2=$(rig_b4 2)

# doctor: runs `lbctl doctor --interval 0`; its output in $DOC, exit code in $DOC_RC.
doctor() {
	DOC=$(lbctl_ doctor --interval 0 2>&1)
	DOC_RC=$?
	printf '%s\n' "$DOC" | sed 's/^/    | /'
}
has() { grep -qF -- "$1" <<<"$DOC"; }
# fix_of TEXT: the "fix:" line after the first finding line containing TEXT.
fix_of() { awk -v t="$1" 'index($0, t) { f = 1 } f && /^  fix: / { sub(/^  fix: /, ""); print; exit }' <<<"$DOC"; }

setup_vip() {
	mode_vip_setup "$VIP" tcp l2dsr "$B1" "$B2" || return 1
	lbctl_quiet set-health "$VIP" --proto tcp --check tcp --interval 500ms --timeout 300ms --fall 2 --rise 2 || return 1
	local out
	out=$(health_wait "$VIP" tcp "$(now_ms)" 10 "all(st(n) == 'up' for n in b)")
	check "b1 and b2 pass their health checks" health_ok "$out"
}
# The next hops of both backends resolved (lbd primes them; ARP takes a moment).
neigh_resolved() {
	local b
	for b in "$B1" "$B2"; do
		ip -n "$RIG_NS_LB" neigh show "$b" | grep -qE 'REACHABLE|STALE|DELAY|PROBE|PERMANENT' || return 1
	done
}

step "0. healthy rig"
# The LB's own health checks to the VIP need a route for it out of the LB's
# interface (the hook then steers them to a backend: docs/health.md); as in
# test_health_l2dsr, to a next hop nobody answers for.
ip -n "$RIG_NS_LB" neigh replace 198.19.0.250 lladdr 02:00:00:00:00:fa dev "$RIG_IF_LB" nud permanent
ip -n "$RIG_NS_LB" route add "$RIG_VIP4/32" via 198.19.0.250 dev "$RIG_IF_LB"
lbd_start || { fail "lbd starts"; rig_finish; }
setup_vip || rig_finish
sport_alloc 20
out=$(client_burst "$RIG_VIP4" 20 --sport-base "$SPORT")
check "20 connections through the VIP answered" [ "$(json_get - ok <<<"$out")" = 20 ]
check "both backends' neighbours resolved" wait_for 10 neigh_resolved
doctor
check "doctor exits 0 on the healthy rig (exit $DOC_RC)" [ "$DOC_RC" = 0 ]
check "every check ok" [ "$(grep -c '^ok  ' <<<"$DOC")" = 10 ]
check "it says: no problems" has "no problems"
out=$(lbctl_ doctor --json --interval 0)
check "--json: healthy true" [ "$(json_get - healthy <<<"$out")" = true ]

step "1. forwarding off in the LB namespace"
in_ns "$RIG_NS_LB" sysctl -qw net.ipv4.conf.all.forwarding=0
doctor
check "doctor exits 1 (exit $DOC_RC)" [ "$DOC_RC" = 1 ]
check "forwarding is a problem" has "PROBLEM forwarding"
check "it names net.ipv4.conf.$RIG_IF_LB.forwarding" has "net.ipv4.conf.$RIG_IF_LB.forwarding is 0"
fix=$(fix_of "net.ipv4.conf.$RIG_IF_LB.forwarding is 0")
check "its fix is the sysctl ($fix)" grep -q "^sysctl -w net.ipv4.conf.all.forwarding=1" <<<"$fix"
# shellcheck disable=SC2086  # the fix is a command line
in_ns "$RIG_NS_LB" $fix >/dev/null
doctor
check "after running that fix, doctor exits 0 (exit $DOC_RC)" [ "$DOC_RC" = 0 ]

step "2. an l2dsr backend without a neighbour entry ($BOGUS)"
mode_vip_setup "$BOGUS_VIP" tcp l2dsr "$BOGUS" || rig_finish
# lbd primes it (an ARP request nobody answers): wait until the kernel gave up
# or is still trying, i.e. no resolved entry, which is the case from the start.
doctor
check "doctor exits 1 (exit $DOC_RC)" [ "$DOC_RC" = 1 ]
check "reachability is a problem" has "PROBLEM reachability"
check "it names the missing neighbour entry of $BOGUS" has "no resolved neighbour entry for $BOGUS on $RIG_IF_LB"
fix=$(fix_of "no resolved neighbour entry for $BOGUS")
check "its fix shows the entry and how to pin it ($fix)" \
	grep -qF "ip neigh show $BOGUS dev $RIG_IF_LB" <<<"$fix"
check "the VIP without checks gets a note to add one" has "lbctl set-health $BOGUS_VIP --proto tcp --check tcp"
check "the working backends are not named" bash -c '! grep -qE "PROBLEM .*backend ($1|$2)\$" <<<"$3"' _ "$B1" "$B2" "$DOC"
lbctl_quiet del-vip "$BOGUS_VIP" --proto tcp
doctor
check "with that VIP gone, doctor exits 0 (exit $DOC_RC)" [ "$DOC_RC" = 0 ]

step "3. an ipip VIP whose path to its backend lacks MTU headroom"
IPIP_VIP="$RIG_VIP4:8081"
mode_vip_setup "$IPIP_VIP" tcp ipip "$B1" || rig_finish
LB_MTU=$(ip -n "$RIG_NS_LB" -o link show "$RIG_IF_LB" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
ip -n "$RIG_NS_LB" route add "$B1/32" dev "$RIG_IF_LB" mtu 1400
doctor
check "doctor exits 1 (exit $DOC_RC)" [ "$DOC_RC" = 1 ]
check "mtu is a problem" has "PROBLEM mtu"
check "it names the route's mtu 1400 against $RIG_IF_LB's $LB_MTU + 20" \
	has "the route's mtu 1400 toward $B1 is less than $RIG_IF_LB's MTU $LB_MTU + 20"
fix=$(fix_of "the route's mtu 1400")
check "its fix: the link MTU or the backend's MSS ($fix)" \
	bash -c '[[ "$1" == *"mtu $2"* && "$1" == *"advmss 1340"* ]]' _ "$fix" $((LB_MTU + 20))
ip -n "$RIG_NS_LB" route del "$B1/32" dev "$RIG_IF_LB"
lbctl_quiet del-vip "$IPIP_VIP" --proto tcp
doctor
check "with the route and the VIP gone, doctor exits 0 (exit $DOC_RC)" [ "$DOC_RC" = 0 ]

step "4. lbd in generic (skb) XDP mode"
lbctl_quiet detach
lbd_kill
RIG_XDP_MODE=skb
lbd_start || { fail "lbd starts in skb mode"; rig_finish; }
setup_vip || rig_finish
check "both backends' neighbours resolved" wait_for 10 neigh_resolved
doctor
check "doctor exits 1 (exit $DOC_RC)" [ "$DOC_RC" = 1 ]
check "xdp_mode is a problem" has "PROBLEM xdp_mode"
check "it names generic mode on $RIG_IF_LB" has "xlb_lb runs in generic (skb) mode on $RIG_IF_LB"
check "its fix is --xdp-mode native" [ -n "$(fix_of "generic (skb) mode on $RIG_IF_LB" | grep -F -- '--xdp-mode native')" ]
check "the other checks are ok" [ "$(grep -c '^ok  ' <<<"$DOC")" = 9 ]

rig_finish
