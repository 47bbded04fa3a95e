#!/usr/bin/env bash
# A persistent xlb dev rig for humans: the same topology as the netns tests
# (tests/netns/lib.sh), left running until `down`.
#
#   scripts/rig.sh up [--backends N] [--vip] [--no-lbd] [--build DIR]
#       builds the rig (client, LB, N backends, default 3) with HTTP :80 and
#       UDP echo :53 servers on every backend, starts lbd and xlb-decap (if
#       built; --no-lbd skips them), and with --vip configures
#       198.18.100.1:80/tcp and [fd00:100::1]:80/tcp over all backends.
#       Prints the commands to use it.
#   scripts/rig.sh status     namespaces, lbd, lbctl list, and the commands again
#   scripts/rig.sh down       detaches everything and deletes the rig
#
# One dev rig at a time; its state lives in /run/xlb-devrig.env. Run as root.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=/run/xlb-devrig.env

usage() {
	sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

print_commands() {
	local lbctl="$RIG_TMP/lbctl"
	cat <<EOF

xlb dev rig $RIG_S (backends: $RIG_BACKENDS)
  namespaces: $RIG_NS_C (client $RIG_CLIENT4, $RIG_CLIENT6)  $RIG_NS_LB (LB $RIG_LB4 on $RIG_IF_LB)
              $(for ((i = 1; i <= RIG_BACKENDS; i++)); do printf '%s (b%d %s) ' "$(rig_ns_b $i)" $i "$(rig_b4 $i)"; done)
  VIPs routed from the client via the LB: $RIG_VIP4, $RIG_VIP6 (on every backend's lo)
  lbd log: $RIG_LBD_LOG   pins: $RIG_PIN_ROOT

lbctl (a wrapper for: nsenter --net=/run/netns/$RIG_NS_LB $LBCTL_BIN --socket $RIG_SOCK):
  $lbctl add-vip $RIG_VIP4:80 --proto tcp
  $lbctl add-backend $RIG_VIP4:80 --proto tcp $(rig_b4 1) --weight 2
  $lbctl list; $lbctl stats; $lbctl flows
traffic from the client:
  ip netns exec $RIG_NS_C python3 $RIG_TOOLS_DIR/client.py burst --vip $RIG_VIP4 -n 100
  ip netns exec $RIG_NS_C curl -s http://$RIG_VIP4/
  ip netns exec $RIG_NS_C bash          # a shell on the client
decap counters on backend 1:
  nsenter --net=/run/netns/$(rig_ns_b 1) $DECAP_BIN stats $(rig_if_b 1)
tear down:
  $0 down
EOF
}

load_state() {
	[[ -r "$STATE" ]] || { echo "rig.sh: no dev rig (no $STATE)"; return 1; }
	# shellcheck disable=SC1090
	. "$STATE"
	. "$ROOT/tests/netns/lib.sh"
	rig_init "$RIG_BUILD" --no-bins >/dev/null
	trap - EXIT INT TERM
}

cmd_up() {
	local n=3 vip=0 lbd=1 build=${XLB_BUILD:-$ROOT/build}
	while (($#)); do
		case $1 in
		--backends) n=${2:?}; shift 2 ;;
		--vip) vip=1; shift ;;
		--no-lbd) lbd=0; shift ;;
		--build) build=${2:?}; shift 2 ;;
		*) usage ;;
		esac
	done
	[[ "$n" =~ ^[1-9][0-9]?$ ]] || { echo "rig.sh: --backends 1..99"; exit 2; }
	if [[ -e "$STATE" ]]; then
		echo "rig.sh: a dev rig is already up ($STATE); '$0 down' first"
		exit 1
	fi
	. "$ROOT/tests/netns/lib.sh"
	RIG_SETSID=setsid
	rig_init "$build" --no-bins
	if ((lbd)) && [[ ! -x "$LBD_BIN" || ! -x "$LBCTL_BIN" || ! -x "$DECAP_BIN" ]]; then
		echo "rig.sh: lbd/lbctl/xlb-decap not built in $build; bringing the rig up without them"
		lbd=0
	fi
	rig_create "$n"
	if ((lbd)); then
		lbd_start || exit 1
		decap_attach_all || exit 1
		if ((vip)); then
			local addrs4=() addrs6=() i
			for ((i = 1; i <= n; i++)); do addrs4+=("$(rig_b4 $i)"); addrs6+=("$(rig_b6 $i)"); done
			vip_setup "$RIG_VIP4:80" tcp "${addrs4[@]}" || exit 1
			vip_setup "[$RIG_VIP6]:80" tcp "${addrs6[@]}" || exit 1
		fi
	fi
	cat >"$RIG_TMP/lbctl" <<EOF
#!/bin/sh
exec nsenter --net=/run/netns/$RIG_NS_LB "$LBCTL_BIN" --socket "$RIG_SOCK" "\$@"
EOF
	chmod +x "$RIG_TMP/lbctl"
	cat >"$STATE" <<EOF
RIG_SUFFIX=$RIG_S
RIG_TMP=$RIG_TMP
RIG_BUILD=$RIG_BUILD
RIG_N=$n
RIG_LBD_PID_SAVED=${RIG_LBD_PID:-}
EOF
	trap - EXIT INT TERM # success: the rig stays
	print_commands
}

cmd_down() {
	load_state || exit 0
	RIG_BACKENDS=$RIG_N
	RIG_CREATED=1
	RIG_LBD_PID=$RIG_LBD_PID_SAVED
	echo "rig.sh: tearing down dev rig $RIG_S"
	rig_destroy
	rm -f "$STATE"
	local left
	left=$(rig_leftovers)
	[[ -z "$left" ]] || { echo "rig.sh: left behind: $left"; exit 1; }
	echo "rig.sh: done"
}

cmd_status() {
	load_state || exit 1
	RIG_BACKENDS=$RIG_N
	echo "namespaces:"
	ip netns list | grep -E "^xlb-$RIG_S-" | sed 's/^/  /'
	if [[ -n "$RIG_LBD_PID_SAVED" ]] && kill -0 "$RIG_LBD_PID_SAVED" 2>/dev/null; then
		echo "lbd: running, pid $RIG_LBD_PID_SAVED"
		lbctl_ status
		lbctl_ list
	else
		echo "lbd: not running (start it with: nsenter --net=/run/netns/$RIG_NS_LB $LBD_BIN --iface $RIG_IF_LB --pin-root $RIG_PIN_ROOT --socket $RIG_SOCK)"
	fi
	print_commands
}

case ${1:-} in
up) shift; cmd_up "$@" ;;
down) cmd_down ;;
status) cmd_status ;;
*) usage ;;
esac
