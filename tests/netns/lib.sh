# shellcheck shell=bash
# tests/netns/lib.sh: the veth-namespace rig shared by the end-to-end tests
# (tests/netns/test_*.sh), scripts/rig.sh and scripts/demo.sh. Source it; it
# defines functions and RIG_* variables and runs nothing by itself.
#
# Topology: one L2 segment, a one-arm load balancer.
#
#   client ns (xc<S>) --+
#   LB ns     (xl<S>) --+-- switch ns: bridge br<S>, ports sc<S> sl<S> sb1<S>..
#   backend i (xb<i><S>)+
#
#   client    198.18.0.2/24      fd00:18::2/64    routes the VIPs via the LB
#   LB        198.18.0.1/24      fd00:18::1/64    lbd attaches xlb_lb on xl<S>
#   backend i 198.18.0.(10+i)/24 fd00:18::(10+i)/64, VIPs on lo, xlb-decap on xb<i><S>
#   VIPs      198.18.100.1 (client route 198.18.100.0/24) and fd00:100::1 (fd00:100::/64)
#
# A client packet to a VIP reaches the LB, is IP-in-IP encapsulated to a
# backend and sent back out of xl<S> with XDP_TX; xlb-decap on the backend
# strips the outer header and the backend answers the client directly (DSR).
#
# <S> is a random suffix: namespaces (xlb-<S>-sw, -c, -lb, -b<i>), interfaces,
# the pin root (/sys/fs/bpf/xlb-<S>) and the tmpdir are all unique per rig, so
# rigs can run in parallel. Interface names are unique across the whole rig
# because lbd and xlb-decap key their pins by interface name.
#
# Typical test:
#
#   . "$(dirname "$0")/lib.sh"
#   rig_init "$1"                  # BUILD_DIR; skips (exit 77) if not root/no BPF/not built
#   rig_create 3                   # namespaces + 3 backends + HTTP/UDP servers (rig_init set the EXIT trap)
#   lbd_start                      # lbd on xl<S>, waits for its socket
#   decap_attach_all               # xlb-decap on every backend
#   lbctl_ add-vip 198.18.100.1:80 --proto tcp
#   lbctl_ add-backend 198.18.100.1:80 --proto tcp "$(rig_b4 1)"
#   client_burst 198.18.100.1 300 > "$RIG_TMP/burst.json"
#   check "300 answered" [ "$(json_get "$RIG_TMP/burst.json" ok)" = 300 ]
#   rig_finish                     # prints PASS/FAIL, exits 0/1; the trap tears down
#
# Environment knobs:
#   XLB_XDP_MODE   native (default) | skb | auto: passed to lbd and xlb-decap;
#                  lbd_start and decap_attach fail unless `ip link` shows
#                  the program in that mode (xdp / xdpgeneric)
#   RIG_KEEP=1     do not tear down on exit (debugging); prints what to delete
#   RIG_VERBOSE=1  trace rig commands
#   RIG_SUFFIX, RIG_TMP  force the suffix / tmpdir (scripts/rig.sh uses them)
#   RIG_SETSID=setsid    detach lbd and the servers from the terminal's session
#
# Other helpers: rig_add_backend I, server_start I, server_stop I, lbd_kill [SIG],
# lbd_prog_attached, decap_attach I / decap_detach I / decap_counter I NAME,
# vip_setup VIP PROTO ADDR[/WEIGHT]..., lbctl_ok ARGS, hold_start NAME VIP N /
# hold_cmd NAME CMD (tests/tools/client.py hold), lb_stats FILE,
# lb_stats_delta A B, backend_share BURST_JSON NAME, if_counter NS IF rx|tx
# packets|bytes, json_get FILE|- EXPR, check DESC CMD..., fail/pass DESC,
# rig_pins_left, rig_leftovers, rig_destroy (idempotent).
# Connection counts (least-conn): rig_vip_addr_add ADDR, lb_conns VIP PROTO,
# conns_field CONNS FIELD, counts_equal A B, counts_near A B TOL, counts_sum
# C, hold_by_backend NAME, wait_for SECONDS CMD..., client_synflood VIP N.
# Mode rigs and tools: rig_create_nat, rig_create_fullnat, rig_create_l2,
# server_start I TAG ARGS (a second server), client_udprr VIP N, hostport
# ADDR PORT, burst_all_ok/burst_spread/burst_peer_is/burst_peer_ports_in/
# burst_local_is (predicates over client.py output), lb_gstat, lb_drops,
# lbctl_quiet, and the mode control-plane helpers (see the end of this file).
# Health checks: health_wait VIP PROTO T0_MS SECONDS EXPR, health_ok JSON.
# Fixed source ports: sport_alloc N (every burst whose spread a test
# checks), tcp_burst_checked / udp_rr_checked VIP N LO HI (a burst from
# fixed ports and its answered/spread checks).
#
# Forwarding-mode rigs (nat, fullnat, l2dsr; see "Forwarding-mode rigs" below
# for pictures): rig_create_nat N [--one-arm] [--fullnat] [--fullnat-source],
# rig_create_fullnat N, rig_create_l2 N build them instead of rig_create.
# The mode tests reach the control plane (lbd --iface once per interface,
# lbctl --mode/--port, the fullnat config block, counter names) only through
# the section "Forwarding modes: the control plane" at the end:
# mode_add_vip, mode_add_backend, mode_vip_setup, cfg_* (config builder for
# `lbctl apply`), lb_gstat, lbd_real.
# XLB_EMULATE=nft: the LB's work is done by the kernel (nftables NAT,
# ECMP routes for l2dsr) instead of xlb, to validate rigs and test scripts
# without xlb (tests/netns/emu_nft.sh); checks of lbd's own view are skipped.
#
# Rig facts worth knowing (see /work/shared/ENGINEERING.md "Pitfalls"):
#  - every endpoint veth has `tx off`: XDP-forwarded frames would otherwise
#    carry partial checksums and connections fail silently;
#  - the LB's switch-side peer (sl<S>) has an XDP_PASS stub attached, and
#    every switch-side veth has GRO on. A frame sent with XDP_TX into a veth
#    is dropped unless the peer has GRO or XDP; with GRO alone it is queued
#    on the peer but the peer's NAPI is only kicked when the peer has an XDP
#    program (veth_xdp_flush), so XDP_TX frames sit in the ring until some
#    unrelated packet arrives: SYNs were delayed by seconds and connections
#    timed out. With the stub they are delivered at once;
#  - the fabric (LB, backends, their switch ports) has MTU 1600 while the
#    client has 1500, so a full-size client packet still fits once
#    encapsulated (+20 bytes IPv4, +40 IPv6);
#  - forwarding is on in the LB namespace: bpf_fib_lookup refuses to resolve
#    next hops on a device without forwarding (drop_fwd_disabled);
#  - lbd and xlb-decap are started with `nsenter --net`, not `ip netns exec`,
#    which would remount /sys and give them a private bpffs whose pins vanish
#    with the process.

# Run the real interpreter, not a version manager's shim: a pyenv shim on
# PATH costs about 2 s per python3 start under load (0.2 s for the real
# one), and the rigs start python3 hundreds of times. Its directory goes
# first on PATH, so `python3` in namespaces (ip netns exec) finds it too.
if _rig_py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) && [[ -x "$_rig_py" ]]; then
	PATH="$(dirname "$_rig_py"):$PATH"
	export PATH
fi
unset _rig_py

RIG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RIG_SRC_DIR=$(cd "$RIG_LIB_DIR/../.." && pwd)
RIG_TOOLS_DIR="$RIG_SRC_DIR/tests/tools"

RIG_VIP4=198.18.100.1
RIG_VIP6=fd00:100::1
RIG_LB4=198.18.0.1
RIG_LB6=fd00:18::1
RIG_CLIENT4=198.18.0.2
RIG_CLIENT6=fd00:18::2
RIG_MTU_CLIENT=1500
RIG_MTU_FABRIC=1600
# The client's gateway (the LB in this rig and in two-arm mode rigs, the
# router in one-arm/l2 rigs), the LB's address towards the backends, and the
# backends' network: the mode rigs change them (_rig_mode_addrs).
RIG_GW4=$RIG_LB4
RIG_GW6=$RIG_LB6
RIG_LBB4=$RIG_LB4
RIG_LBB6=$RIG_LB6
RIG_BNET4=198.18.0.
RIG_BNET6=fd00:18::
# Mode rigs: the router on the shared segment, the fullnat source address,
# and the ports nat backends also listen on (port remapping).
RIG_RB4=198.19.0.254
RIG_RB6=fd00:19::254
RIG_FNAT4=198.19.0.100
RIG_FNAT6=fd00:19::100
RIG_PORT_ALT_TCP=8080
RIG_PORT_ALT_UDP=5353
RIG_KIND=dsr     # dsr (rig_create) | nat | fullnat | l2dsr
RIG_ARMS=one     # one: the LB has one interface; two: client side and backend side
RIG_HAS_FNAT=0   # the fullnat source address is on the LB

RIG_FAILS=0
RIG_CHECKS=0
RIG_BACKENDS=0
RIG_CREATED=0
RIG_LBD_PID=
RIG_BG_PIDS=()
# "setsid" for rigs that outlive the shell that built them (scripts/rig.sh):
# lbd and the servers then leave the terminal's session.
RIG_SETSID=${RIG_SETSID:-}
RIG_TEST_NAME=$(basename "${0%.sh}")

# ---- output and assertions ----------------------------------------------

log() { printf '[%s] %s\n' "$RIG_TEST_NAME" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

skip() {
	log "SKIP: $*"
	echo "SKIP $RIG_TEST_NAME: $*"
	exit 77
}

# check DESCRIPTION CMD...: runs CMD; records and prints ok/FAIL. Never exits.
check() {
	local desc=$1
	shift
	RIG_CHECKS=$((RIG_CHECKS + 1))
	if "$@"; then
		printf '  ok    %s\n' "$desc"
		return 0
	fi
	printf '  FAIL  %s\n' "$desc"
	RIG_FAILS=$((RIG_FAILS + 1))
	return 1
}

# fail DESCRIPTION: record a failure found by the caller's own logic.
fail() {
	RIG_CHECKS=$((RIG_CHECKS + 1))
	RIG_FAILS=$((RIG_FAILS + 1))
	printf '  FAIL  %s\n' "$*"
}

pass() {
	RIG_CHECKS=$((RIG_CHECKS + 1))
	printf '  ok    %s\n' "$*"
}

step() { printf '\n== %s\n' "$*"; }

# Numeric comparisons usable with check: int_eq A B, int_between X LO HI, float_between X LO HI.
int_eq() { [[ "$1" =~ ^-?[0-9]+$ && "$2" =~ ^-?[0-9]+$ ]] && (($1 == $2)); }
int_le() { [[ "$1" =~ ^-?[0-9]+$ && "$2" =~ ^-?[0-9]+$ ]] && (($1 <= $2)); }
int_ge() { [[ "$1" =~ ^-?[0-9]+$ && "$2" =~ ^-?[0-9]+$ ]] && (($1 >= $2)); }
int_between() { int_ge "$1" "$2" && int_le "$1" "$3"; }
float_between() { python3 -c 'import sys; x,lo,hi=map(float,sys.argv[1:]); sys.exit(0 if lo<=x<=hi else 1)' "$1" "$2" "$3" 2>/dev/null; }

# rig_finish: prints the final PASS/FAIL line and exits 0/1 (the EXIT trap tears down).
rig_finish() {
	echo
	if ((RIG_FAILS == 0 && RIG_CHECKS > 0)); then
		echo "PASS $RIG_TEST_NAME ($RIG_CHECKS checks)"
		exit 0
	fi
	echo "FAIL $RIG_TEST_NAME ($RIG_FAILS of $RIG_CHECKS checks failed)"
	exit 1
}

# ---- JSON helpers (python3, stdlib) -------------------------------------

# json_get FILE|- EXPR: prints a value selected by a Python expression over
# `d` (the document), or a bare dotted key path. Strings print raw, other
# values as JSON; prints nothing and fails if the expression fails.
json_get() {
	local src=$1 expr=$2
	python3 -c "$_RIG_JSON_GET_PY" "$src" "$expr"
}
_RIG_JSON_GET_PY=$(cat <<'EOF'
import json, sys
src, expr = sys.argv[1], sys.argv[2]
try:
    d = json.load(sys.stdin if src == "-" else open(src))
    if all(c.isalnum() or c in "._-" for c in expr):
        v = d
        for k in expr.split("."):
            v = v[int(k)] if isinstance(v, list) else v[k]
    else:
        v = eval(expr, {"d": d, "sum": sum, "len": len, "max": max, "min": min})
except Exception as e:
    print(f"json_get: {expr}: {e!r}", file=sys.stderr)
    sys.exit(1)
print(v if isinstance(v, str) else json.dumps(v))
EOF
)

# ---- preconditions ------------------------------------------------------

rig_require_root() {
	[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces, XDP)"
	command -v ip >/dev/null || skip "iproute2 (ip) not installed"
	command -v ethtool >/dev/null || skip "ethtool not installed"
	command -v nsenter >/dev/null || skip "nsenter (util-linux) not installed"
	command -v python3 >/dev/null || skip "python3 not installed"
}

# Mount bpffs on the host's /sys/fs/bpf if it is not mounted (lbd would do
# it too, but from inside nsenter we want the host's instance to exist first).
rig_require_bpf() {
	[[ -e /proc/sys/kernel/unprivileged_bpf_disabled ]] || skip "kernel without BPF syscall"
	if ! mountpoint -q /sys/fs/bpf 2>/dev/null || [[ $(stat -f -c %T /sys/fs/bpf 2>/dev/null) != bpf_fs ]]; then
		mkdir -p /sys/fs/bpf 2>/dev/null
		mount -t bpf bpf /sys/fs/bpf 2>/dev/null || skip "cannot mount bpffs on /sys/fs/bpf"
	fi
	# Network namespaces must work (some containers forbid them).
	local probe="xlb-probe-$$"
	ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces"
	ip netns del "$probe"
}

# rig_init BUILD_DIR [--no-bins]: checks preconditions, sets paths and the
# random suffix. Skips (77) if the binaries are not built, unless --no-bins.
rig_init() {
	local build=${1:-}
	[[ -n "$build" ]] || build="$RIG_SRC_DIR/build"
	[[ "${RIG_VERBOSE:-0}" = 1 ]] && set -x
	rig_require_root
	rig_require_bpf
	RIG_BUILD=$(cd "$build" 2>/dev/null && pwd) || skip "build dir $build does not exist"
	LBD_BIN="$RIG_BUILD/ctl/lbd/lbd"
	LBCTL_BIN="$RIG_BUILD/ctl/lbctl/lbctl"
	DECAP_BIN="$RIG_BUILD/ctl/decap/xlb-decap"
	if [[ "${2:-}" != --no-bins ]]; then
		local b
		for b in "$LBD_BIN" "$LBCTL_BIN" "$DECAP_BIN"; do
			[[ -x "$b" ]] || skip "$b not built"
		done
	fi
	RIG_S=${RIG_SUFFIX:-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')}
	RIG_NS_SW="xlb-$RIG_S-sw"
	RIG_NS_C="xlb-$RIG_S-c"
	RIG_NS_LB="xlb-$RIG_S-lb"
	RIG_BR="br$RIG_S"
	RIG_IF_C="xc$RIG_S"
	RIG_IF_LB="xl$RIG_S"
	# Mode rigs: the router namespace, its client-side and segment
	# interfaces, and the LB's backend-side interface (two-arm).
	RIG_NS_R="xlb-$RIG_S-r"
	RIG_IF_RC="xq$RIG_S"
	RIG_IF_RB="xr$RIG_S"
	RIG_IF_LB2="xk$RIG_S"
	RIG_IF_LBB=$RIG_IF_LB            # the LB interface facing the backends
	RIG_LB_IFACES=("$RIG_IF_LB")     # lbd attaches to each (one --iface per entry)
	RIG_PIN_ROOT="/sys/fs/bpf/xlb-$RIG_S"
	RIG_XDP_MODE=${XLB_XDP_MODE:-native}
	RIG_TMP=${RIG_TMP:-$(mktemp -d "/tmp/xlb-rig-$RIG_S.XXXXXX")}
	RIG_STATE_DIR="$RIG_TMP/state" # lbd --state-dir: its health state file
	RIG_SOCK="$RIG_TMP/lbd.sock"
	RIG_LBD_LOG="$RIG_TMP/lbd.log"
	trap rig_destroy EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Per-backend names and addresses (i = 1..N).
rig_ns_b() { echo "xlb-$RIG_S-b$1"; }
rig_if_b() { echo "xb$1$RIG_S"; }
rig_b4() { echo "$RIG_BNET4$((10 + $1))"; }
rig_b6() { echo "$RIG_BNET6$((10 + $1))"; }
rig_bname() { echo "b$1"; }          # the name a backend server answers with

# ---- running things in namespaces ----------------------------------------

# in_ns NS CMD...: plain `ip netns exec` (fine for everything but bpffs users).
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# nsenter_net NS CMD...: enter only the network namespace; /sys (and so the
# host's bpffs) stays shared. Use for lbd, lbctl and xlb-decap.
nsenter_net() { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@"; }

# ---- creation -------------------------------------------------------------

_rig_sysctl() { # ns key=value...
	local ns=$1
	shift
	in_ns "$ns" sysctl -qw "$@" >/dev/null
}

# _rig_port NS IFNAME PEERNAME MTU: veth pair from NS to the switch.
_rig_port() {
	local ns=$1 ifn=$2 peer=$3 mtu=$4
	ip link add "$ifn" netns "$ns" mtu "$mtu" type veth peer name "$peer" netns "$RIG_NS_SW" mtu "$mtu" ||
		die "cannot create veth $ifn/$peer"
	ip -n "$RIG_NS_SW" link set "$peer" master "$RIG_BR" up
	# GRO on the switch side: XDP_TX frames from the LB are dropped by a
	# peer veth with neither GRO nor XDP.
	in_ns "$RIG_NS_SW" ethtool -K "$peer" gro on >/dev/null 2>&1 ||
		log "warning: cannot enable GRO on $peer"
	# Full checksums from every sender (see the header comment).
	in_ns "$ns" ethtool -K "$ifn" tx off >/dev/null 2>&1 ||
		log "warning: cannot disable tx checksum offload on $ifn"
	ip -n "$ns" link set lo up
	ip -n "$ns" link set "$ifn" up
	_rig_sysctl "$ns" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		"net.ipv6.conf.$ifn.accept_dad=0" "net.ipv6.conf.$ifn.accept_ra=0"
}

# _rig_xdp_stub: compiles an XDP_PASS program into $RIG_TMP (no headers
# needed) and prints its path.
_rig_xdp_stub() {
	local o="$RIG_TMP/xdp_pass.o"
	if [[ ! -s "$o" ]]; then
		command -v clang >/dev/null || die "clang is needed to build the rig's XDP_PASS stub"
		printf '%s\n' \
			'__attribute__((section("xdp"), used)) int xdp_pass(void *ctx) { return 2; /* XDP_PASS */ }' \
			'__attribute__((section("license"), used)) char _license[] = "GPL";' |
			clang -O2 -target bpf -x c -c - -o "$o" || die "cannot compile the XDP_PASS stub"
	fi
	echo "$o"
}

# rig_create N_BACKENDS [--no-servers]: builds the whole rig and starts the
# backend servers (HTTP :80, UDP echo :53). Does not start lbd.
rig_create() {
	local n=${1:-3} i ns ifn
	[[ -n "${RIG_S:-}" ]] || die "rig_init first"
	step "rig $RIG_S: client, LB, $n backends (tmp $RIG_TMP)"
	RIG_CREATED=1
	ip netns add "$RIG_NS_SW" || die "cannot create namespace $RIG_NS_SW"
	ip netns add "$RIG_NS_C" || die "cannot create namespace $RIG_NS_C"
	ip netns add "$RIG_NS_LB" || die "cannot create namespace $RIG_NS_LB"

	ip -n "$RIG_NS_SW" link set lo up
	ip -n "$RIG_NS_SW" link add "$RIG_BR" type bridge stp_state 0 forward_delay 0 mcast_snooping 0 ||
		die "cannot create bridge"
	ip -n "$RIG_NS_SW" link set "$RIG_BR" up
	_rig_sysctl "$RIG_NS_SW" net.ipv6.conf.all.disable_ipv6=1

	# client
	_rig_port "$RIG_NS_C" "$RIG_IF_C" "sc$RIG_S" "$RIG_MTU_CLIENT"
	ip -n "$RIG_NS_C" addr add "$RIG_CLIENT4/24" dev "$RIG_IF_C"
	ip -n "$RIG_NS_C" addr add "$RIG_CLIENT6/64" dev "$RIG_IF_C" nodad
	ip -n "$RIG_NS_C" route add 198.18.100.0/24 via "$RIG_LB4"
	ip -n "$RIG_NS_C" -6 route add fd00:100::/64 via "$RIG_LB6"
	_rig_sysctl "$RIG_NS_C" net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$RIG_IF_C.rp_filter=0" \
		net.ipv4.ip_local_port_range="20000 60999"

	# load balancer
	_rig_port "$RIG_NS_LB" "$RIG_IF_LB" "sl$RIG_S" "$RIG_MTU_FABRIC"
	# The LB's XDP_TX frames must be picked up at once (see the header).
	ip -n "$RIG_NS_SW" link set dev "sl$RIG_S" xdpdrv obj "$(_rig_xdp_stub)" sec xdp ||
		die "cannot attach the XDP_PASS stub to sl$RIG_S"
	ip -n "$RIG_NS_LB" addr add "$RIG_LB4/24" dev "$RIG_IF_LB"
	ip -n "$RIG_NS_LB" addr add "$RIG_LB6/64" dev "$RIG_IF_LB" nodad
	_rig_sysctl "$RIG_NS_LB" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.send_redirects=0 "net.ipv4.conf.$RIG_IF_LB.send_redirects=0" \
		net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$RIG_IF_LB.rp_filter=0"

	# backends
	RIG_BACKENDS=0
	for ((i = 1; i <= n; i++)); do
		rig_add_backend "$i" "${2:-}"
	done

	rig_wait_l2
}

# rig_add_backend I [--no-servers]: adds backend I (namespace, veth, VIPs on
# lo, ARP settings, servers). Usable after rig_create to grow the rig.
rig_add_backend() {
	local i=$1 ns ifn
	ns=$(rig_ns_b "$i")
	ifn=$(rig_if_b "$i")
	ip netns add "$ns" || die "cannot create namespace $ns"
	_rig_port "$ns" "$ifn" "sb$i$RIG_S" "$RIG_MTU_FABRIC"
	ip -n "$ns" addr add "$(rig_b4 "$i")/24" dev "$ifn"
	ip -n "$ns" addr add "$(rig_b6 "$i")/64" dev "$ifn" nodad
	case $RIG_KIND in
	dsr)
		ip -n "$ns" addr add "$RIG_VIP4/32" dev lo
		ip -n "$ns" addr add "$RIG_VIP6/128" dev lo nodad
		_rig_backend_vip_sysctls "$ns" "$ifn"
		;;
	*) _rig_backend_mode "$i" ;;
	esac
	((i > RIG_BACKENDS)) && RIG_BACKENDS=$i
	[[ "${2:-}" = --no-servers ]] || server_start "$i"
}

# _rig_backend_vip_sysctls NS IFNAME: a backend holding VIPs on lo never
# answers ARP for them, never uses them as the source of ARP requests, and
# accepts packets whose source routes elsewhere. (IPv6 needs no setting: the
# kernel only answers neighbour solicitations for addresses on the interface
# the solicitation arrived on, and takes the solicitation's source from that
# interface; rig_selfcheck_modes.sh verifies both.)
_rig_backend_vip_sysctls() {
	local ns=$1 ifn=$2
	_rig_sysctl "$ns" net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		"net.ipv4.conf.$ifn.arp_ignore=1" "net.ipv4.conf.$ifn.arp_announce=2" \
		net.ipv4.conf.all.rp_filter=2 "net.ipv4.conf.$ifn.rp_filter=2" net.ipv4.conf.lo.rp_filter=0
}

# rig_probe NS ADDR [TIMEOUT]: true if ADDR answers a TCP connection attempt
# to port 9 from NS, with either a connection or a reset (no ping needed:
# iputils is not installed everywhere). Also resolves the neighbour entry.
rig_probe() {
	in_ns "$1" python3 -c '
import socket, sys, time
addr, timeout = sys.argv[1], float(sys.argv[2])
deadline = time.monotonic() + timeout
while True:
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.settimeout(0.5)
    try:
        s.connect((addr, 9)); sys.exit(0)
    except ConnectionRefusedError:
        sys.exit(0)
    except OSError:
        if time.monotonic() > deadline: sys.exit(1)
        time.sleep(0.1)
    finally:
        s.close()
' "$2" "${3:-10}"
}

# rig_wait_l2: the LB reaches every host and every host reaches the client,
# on both families, so neighbour tables (the LB's in particular:
# bpf_fib_lookup needs resolved next hops) and the bridge's FDB are warm
# before measurements start.
#
# Mode rigs: the one-arm LB reaches the router instead of the client; backends reach their
# next hop (nat, fullnat: the LB; l2dsr: the router) and the fullnat source.
# They do not probe the client: it has no route back to the backends'
# network (only VIP traffic reaches it), so it cannot answer them.
rig_wait_l2() {
	local i ns ok=1 t
	local targets=("$RIG_CLIENT4" "$RIG_CLIENT6") b_targets=("$RIG_CLIENT4" "$RIG_CLIENT6")
	case $RIG_KIND in
	nat | fullnat) b_targets=("$RIG_LBB4" "$RIG_LBB6") ;;
	l2dsr) b_targets=("$RIG_RB4" "$RIG_RB6") ;;
	esac
	((RIG_HAS_FNAT)) && b_targets+=("$RIG_FNAT4" "$RIG_FNAT6")
	# One-arm mode rigs: the LB's next hop to the client is R (the client has
	# no route back to the LB's segment address, so it would not answer).
	[[ $RIG_KIND != dsr && $RIG_ARMS == one ]] && targets=("$RIG_RB4" "$RIG_RB6")
	for ((i = 1; i <= RIG_BACKENDS; i++)); do
		[[ -e "/run/netns/$(rig_ns_b "$i")" ]] || continue
		targets+=("$(rig_b4 "$i")" "$(rig_b6 "$i")")
	done
	for t in "${targets[@]}"; do
		rig_probe "$RIG_NS_LB" "$t" || { log "the LB cannot reach $t"; ok=0; }
	done
	for t in "$RIG_GW4" "$RIG_GW6"; do
		rig_probe "$RIG_NS_C" "$t" || { log "the client cannot reach $t"; ok=0; }
	done
	for ((i = 1; i <= RIG_BACKENDS; i++)); do
		ns=$(rig_ns_b "$i")
		[[ -e "/run/netns/$ns" ]] || continue
		for t in "${b_targets[@]}"; do
			rig_probe "$ns" "$t" || { log "b$i cannot reach $t"; ok=0; }
		done
	done
	((ok)) || die "rig L2 connectivity is broken"
}

# ---- servers ----------------------------------------------------------------

# server_start I [TAG [SERVER_ARGS...]]: backend I's HTTP and UDP server,
# answering "b<I>" (tests/tools/backend_server.py). Without TAG: the rig's
# own server, HTTP :80 and UDP :53 on every address (dsr, l2dsr), or, in nat
# and fullnat rigs, on the backend's own addresses only and on ports 80,
# $RIG_PORT_ALT_TCP (TCP) and 53, $RIG_PORT_ALT_UDP (UDP). With TAG: one more
# server on the same backend with SERVER_ARGS (e.g. --bind VIP), its files
# tagged so it does not collide with the rig's own.
server_start() {
	local i=$1 tag=${2:-} ns ready args
	ns=$(rig_ns_b "$i")
	if [[ -n "$tag" ]]; then
		args=("${@:3}")
	else
		args=()
		case $RIG_KIND in
		nat | fullnat)
			args=(--bind "$(rig_b4 "$i")" --bind "$(rig_b6 "$i")" --http-port 80 --http-port "$RIG_PORT_ALT_TCP"
				--udp-port 53 --udp-port "$RIG_PORT_ALT_UDP")
			;;
		esac
	fi
	local f="$RIG_TMP/server-b$i${tag:+-$tag}"
	ready="$f.ready"
	rm -f "$ready"
	$RIG_SETSID ip netns exec "$ns" python3 "$RIG_TOOLS_DIR/backend_server.py" --name "$(rig_bname "$i")" \
		--ready-file "$ready" "${args[@]}" >"$f.log" 2>&1 </dev/null &
	local pid=$!
	RIG_BG_PIDS+=("$pid")
	[[ -n "$tag" ]] || eval "RIG_SERVER_PID_$i=$pid"
	local deadline=$((SECONDS + 10))
	until [[ -e "$ready" ]]; do
		kill -0 "$pid" 2>/dev/null || die "backend server b$i${tag:+ ($tag)} exited: $(tail -n 5 "$f.log")"
		((SECONDS < deadline)) || die "backend server b$i did not get ready"
		sleep 0.05
	done
}

# server_stop I: stops backend I's own server (server_start I without TAG)
# and waits until it is gone, so its ports are closed when this returns
# (health-check tests: a dead backend). server_start I starts it again.
server_stop() {
	local i=$1 pid
	eval "pid=\${RIG_SERVER_PID_$i:-}"
	[[ -n "$pid" ]] || return 0
	kill "$pid" 2>/dev/null
	timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	eval "RIG_SERVER_PID_$i="
}

# ---- lbd / lbctl / xlb-decap -------------------------------------------------

# lbctl_ ARGS...: lbctl against this rig's daemon (run in the LB namespace;
# the control socket is a file, so the namespace only matters for realism).
lbctl_() { nsenter_net "$RIG_NS_LB" "$LBCTL_BIN" --socket "$RIG_SOCK" "$@"; }

# lbctl_ok ARGS...: lbctl_ that must succeed; failures are recorded with the message.
lbctl_ok() {
	local out rc
	out=$(lbctl_ "$@" 2>&1)
	rc=$?
	if ((rc != 0)); then
		fail "lbctl $* -> exit $rc: $out"
		return 1
	fi
	[[ -n "$out" ]] && printf '%s\n' "$out"
	return 0
}

# lbd_start [extra lbd args...]: starts lbd in the background in the LB
# namespace with this rig's pin root and socket, waits until it answers.
lbd_start() {
	if [[ -n "$RIG_LBD_PID" ]] && kill -0 "$RIG_LBD_PID" 2>/dev/null; then
		die "lbd already running (pid $RIG_LBD_PID)"
	fi
	echo "--- lbd start $(date +%T)" >>"$RIG_LBD_LOG"
	local ifargs=()
	_rig_lbd_iface_args
	# Health states live in the rig's own directory (RIG_STATE_DIR), not in
	# the host's /var/lib/xlb; a later --state-dir in "$@" wins.
	$RIG_SETSID nsenter --net="/run/netns/$RIG_NS_LB" -- "$LBD_BIN" "${ifargs[@]}" --pin-root "$RIG_PIN_ROOT" \
		--socket "$RIG_SOCK" --xdp-mode "$RIG_XDP_MODE" --state-dir "$RIG_STATE_DIR" "$@" >>"$RIG_LBD_LOG" 2>&1 </dev/null &
	RIG_LBD_PID=$!
	local deadline=$((SECONDS + 15))
	until lbctl_ status >/dev/null 2>&1; do
		if ! kill -0 "$RIG_LBD_PID" 2>/dev/null; then
			log "lbd exited during start; log:"
			tail -n 20 "$RIG_LBD_LOG" >&2
			RIG_LBD_PID=
			return 1
		fi
		((SECONDS < deadline)) || { log "lbd did not answer within 15 s"; tail -n 20 "$RIG_LBD_LOG" >&2; return 1; }
		sleep 0.1
	done
	_rig_lbd_xdp_mode_verify || return 1 # XLB_XDP_MODE (see the section at the end)
	log "lbd running (pid $RIG_LBD_PID) on ${RIG_LB_IFACES[*]} (XDP mode $RIG_XDP_MODE), pins $RIG_PIN_ROOT"
}

# lbd_kill [SIGNAL]: stops lbd without detaching (default SIGTERM); waits.
lbd_kill() {
	local sig=${1:-TERM} pid=$RIG_LBD_PID
	[[ -n "$pid" ]] || return 0
	kill "-$sig" "$pid" 2>/dev/null
	local deadline=$((SECONDS + 10))
	while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null # no "Killed" job notice
	RIG_LBD_PID=
}

# rig_pins_left: prints the pins (files) left under the rig's pin root; lbd
# keeps them in <pin root>/<ifname>/. An empty pin root directory is not a pin.
rig_pins_left() { find "$RIG_PIN_ROOT" -mindepth 1 2>/dev/null; }

# lbd_prog_attached [IFNAME]: true if an XDP program is attached to the LB's
# (first) interface, or to IFNAME. lbd_prog_attached_any: to any of them.
lbd_prog_attached() { ip -n "$RIG_NS_LB" -d link show "${1:-$RIG_IF_LB}" 2>/dev/null | grep -q 'prog/xdp'; }
lbd_prog_attached_any() {
	local f
	for f in "${RIG_LB_IFACES[@]}"; do lbd_prog_attached "$f" && return 0; done
	return 1
}

# decap_attach I [extra args]: xlb-decap on backend I, accepting its own
# addresses, from the LB's encapsulation sources only (rig_decap_allow_args).
decap_attach() {
	local i=$1 out allow
	shift
	mapfile -t allow < <(rig_decap_allow_args)
	out=$(nsenter_net "$(rig_ns_b "$i")" "$DECAP_BIN" attach "$(rig_if_b "$i")" \
		--addr "$(rig_b4 "$i")" --addr "$(rig_b6 "$i")" --xdp-mode "$RIG_XDP_MODE" "${allow[@]}" "$@" 2>&1) || {
		log "xlb-decap attach on b$i failed: $out"
		return 1
	}
	rig_xdp_mode_verify "$(rig_ns_b "$i")" "$(rig_if_b "$i")" # XLB_XDP_MODE (see the section at the end)
}
decap_attach_all() {
	local i
	for ((i = 1; i <= RIG_BACKENDS; i++)); do decap_attach "$i" || return 1; done
}
decap_detach() { nsenter_net "$(rig_ns_b "$1")" "$DECAP_BIN" detach "$(rig_if_b "$1")" >/dev/null 2>&1; }
decap_stats_json() { nsenter_net "$(rig_ns_b "$1")" "$DECAP_BIN" stats "$(rig_if_b "$1")" --json; }
# decap_counter I NAME: packets of xlb-decap counter NAME (rx, decapped, pass, malformed,
# ecn_drop, denied) on backend I.
decap_counter() { decap_stats_json "$1" | json_get - "d['counters']['$2']['packets']"; }
# decap_decapped_total: decapped packets summed over all backends.
decap_decapped_total() {
	local i t=0 x
	for ((i = 1; i <= RIG_BACKENDS; i++)); do
		x=$(decap_counter "$i" decapped) || return 1
		t=$((t + x))
	done
	echo "$t"
}

# vip_setup VIP:PORT PROTO ADDR[:WEIGHT]...: add-vip and add-backend, recording failures.
vip_setup() {
	local vip=$1 proto=$2 b addr w
	shift 2
	lbctl_ok add-vip "$vip" --proto "$proto" >/dev/null || return 1
	for b in "$@"; do
		addr=${b%%/*}
		w=1
		[[ "$b" == */* ]] && w=${b#*/}
		lbctl_ok add-backend "$vip" --proto "$proto" "$addr" --weight "$w" >/dev/null || return 1
	done
}

# ---- client ----------------------------------------------------------------

# Fixed source ports. The flow hash is deterministic (hash seed 0 unless a
# config sets one), so with the client's source ports fixed every
# connection reaches the same backend on every run, and a spread check
# ("each backend got 20..47%") has one verdict, not a chance of failing
# (about 1.5% of runs for 150 connections with kernel-chosen ports). The
# pool, 10000..19999, lies outside the client's ephemeral range 20000..60999
# (_rig_client_setup), so no kernel-chosen port (a probe, a hold without
# --sport-base) can ever take one of these. sport_alloc hands out each port
# once per rig: a port reused towards the same destination would meet its
# own TIME_WAIT, and in nat two flows from one client port to one backend
# port (VIP:80 and VIP:8080 both -> b:8080) share a reply tuple.
RIG_SPORT_NEXT=10000
RIG_SPORT_LAST=19999
# sport_alloc N: sets SPORT to the first of N fresh fixed source ports
# (SPORT..SPORT+N-1; pass as client.py --sport-base "$SPORT"). Not a $(...)
# helper: the allocation must outlive the call. A hold that later opens more
# connections must allocate room for them too.
sport_alloc() {
	local n=$1
	((RIG_SPORT_NEXT + n - 1 <= RIG_SPORT_LAST)) ||
		die "sport_alloc $n: the fixed source ports $RIG_SPORT_NEXT..$RIG_SPORT_LAST are not enough"
	SPORT=$RIG_SPORT_NEXT
	RIG_SPORT_NEXT=$((RIG_SPORT_NEXT + n))
}

# client_tcp_done ADDR: true when no TCP socket of the client towards ADDR
# will send another packet: each one is gone or in TIME-WAIT (its last ACK
# sent). A burst returns once its answers are read, with FINs and ACKs
# still to come; counters that must include them are read after this.
client_tcp_done() {
	local out
	out=$(in_ns "$RIG_NS_C" ss -Htn exclude time-wait dst "$([[ "$1" == *:* ]] && echo "[$1]" || echo "$1")") || return 1
	[[ -z "$out" ]]
}

# client_burst VIP N [client.py burst options...]: prints the burst's JSON.
client_burst() {
	local vip=$1 n=$2
	shift 2
	in_ns "$RIG_NS_C" python3 "$RIG_TOOLS_DIR/client.py" burst --vip "$vip" --port 80 -n "$n" "$@"
}

# hold_start NAME VIP N [options, e.g. --port P --sport-base P --parallel 1]:
# a background `client.py hold` with control socket $RIG_TMP/hold-NAME.sock;
# waits until all N initial connections are open. Fails (and prints the hold
# client's log on stderr: the rig's tmpdir, and the log with it, is deleted
# at teardown) if the client exits first, which it does when any of the N
# fails to open, or if it is not ready within 60 s. Callers record a fail.
hold_start() {
	local name=$1 vip=$2 n=$3
	shift 3
	local sock="$RIG_TMP/hold-$name.sock" hlog="$RIG_TMP/hold-$name.log"
	rm -f "$sock"
	in_ns "$RIG_NS_C" python3 "$RIG_TOOLS_DIR/client.py" hold --vip "$vip" --port 80 -n "$n" \
		--control "$sock" "$@" >"$RIG_TMP/hold-$name.out" 2>"$hlog" &
	local pid=$!
	RIG_BG_PIDS+=("$pid")
	local deadline=$((SECONDS + 60)) why=
	until [[ -S "$sock" ]]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			why="exited with status $? before its $n connections to $vip were open"
			break
		fi
		((SECONDS < deadline)) || { why="not ready within 60 s"; break; }
		sleep 0.1
	done
	[[ -z "$why" ]] && return 0
	log "hold client $name $why; its log:"
	sed 's/^/    /' "$hlog" >&2
	return 1
}

# hold_cmd NAME COMMAND...: sends one command line, prints the JSON answer.
hold_cmd() {
	local name=$1
	shift
	python3 "$RIG_TOOLS_DIR/client.py" ctl --control "$RIG_TMP/hold-$name.sock" -- "$*"
}

# ---- counters ---------------------------------------------------------------

# if_counter NS IFNAME rx|tx packets|bytes: the interface's counter, from
# sysfs (the same numbers as `ip -s link`; no python: cheap enough to poll
# while something else keeps the CPUs busy).
if_counter() {
	in_ns "$1" cat "/sys/class/net/$2/statistics/$3_$4"
}

# tcp_burst_checked VIP N LO HI: N TCP connections to VIP port 80 (20 at a
# time, with per-connection details) from fixed source ports (sport_alloc),
# printed, then checks that all were answered and that each of the 3
# backends got LO..HI percent of them. With fixed ports the split is the
# same on every run: LO..HI need not allow for chance, only say "roughly
# even" loosely enough that a change of hash or ring size that still spreads
# evenly needs no new numbers. The client's JSON is left in BURST_OUT for
# the caller's mode-specific checks (not a $(...) helper: checks must count
# in this shell).
tcp_burst_checked() {
	local vip=$1 n=$2 lo=$3 hi=$4
	sport_alloc "$n"
	step "TCP: $n connections to $(hostport "$vip" 80) from source ports $SPORT..$((SPORT + n - 1))"
	BURST_OUT=$(client_burst "$vip" "$n" --parallel 20 --details --sport-base "$SPORT")
	json_get - "{k: d.get(k) for k in ('ok', 'failed', 'by_backend', 'by_peer', 'by_local', 'errors')}" <<<"$BURST_OUT"
	check "$n of $n answered" burst_all_ok "$BURST_OUT" "$n"
	check "each backend got $lo..$hi% ($(json_get - by_backend <<<"$BURST_OUT"))" burst_spread "$BURST_OUT" 3 "$lo" "$hi"
}

# udp_rr_checked VIP N LO HI: as tcp_burst_checked, for N UDP requests to
# VIP port 53 (client_udprr): all answered, each from VIP:53 itself (what a
# nat LB must restore), each of the 3 backends LO..HI percent. BURST_OUT
# holds the JSON.
udp_rr_checked() {
	local vip=$1 n=$2 lo=$3 hi=$4
	sport_alloc "$n"
	step "UDP: $n requests to $(hostport "$vip" 53) from source ports $SPORT..$((SPORT + n - 1))"
	BURST_OUT=$(client_udprr "$vip" "$n" --parallel 20 --details --sport-base "$SPORT")
	json_get - "{k: d.get(k) for k in ('ok', 'failed', 'timeouts', 'wrong_source', 'by_backend', 'errors')}" <<<"$BURST_OUT"
	check "$n of $n answered, each from $(hostport "$vip" 53) (wrong source: $(json_get - wrong_source <<<"$BURST_OUT"), timeouts: $(json_get - timeouts <<<"$BURST_OUT"))" \
		burst_all_ok "$BURST_OUT" "$n"
	check "each backend got $lo..$hi% ($(json_get - by_backend <<<"$BURST_OUT"))" burst_spread "$BURST_OUT" 3 "$lo" "$hi"
}

# backends_tx_sum: packets sent by all backends' segment interfaces, summed
# (a DSR or one-arm test compares it before and after to see where replies went).
backends_tx_sum() {
	local i t=0
	for ((i = 1; i <= RIG_BACKENDS; i++)); do t=$((t + $(if_counter "$(rig_ns_b $i)" "$(rig_if_b $i)" tx packets))); done
	echo $t
}

# lb_stats FILE: saves `lbctl stats --json` (fails if lbctl does).
lb_stats() { lbctl_ stats --json >"$1"; }

# lb_stats_delta BEFORE AFTER: prints the packet deltas between two `lbctl
# stats --json` snapshots as one JSON object:
#   {"global": {"rx": 12, "pass_not_vip": 0, ...},
#    "vips": {"198.18.100.1:80/tcp": {"packets": 9, "backends": {"198.18.0.11": 3, ...}}}}
lb_stats_delta() {
	python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
def vips(d):
    out = {}
    for v in d.get("vips", []):
        out[v["vip"] + "/" + v["proto"]] = (v.get("packets", 0), {x["address"]: x.get("packets", 0) for x in v.get("backends", [])})
    return out
g = {k: b["global"][k].get("packets", 0) - a["global"].get(k, {}).get("packets", 0) for k in b["global"]}
va, vb = vips(a), vips(b)
v = {}
for k, (p, bs) in vb.items():
    p0, bs0 = va.get(k, (0, {}))
    v[k] = {"packets": p - p0, "backends": {ad: n - bs0.get(ad, 0) for ad, n in bs.items()}}
print(json.dumps({"global": g, "vips": v}))
' "$1" "$2"
}

# backend_share JSON NAME: NAME's share of a burst in percent (one decimal).
backend_share() {
	json_get "$1" "round(100.0 * d[\"by_backend\"].get(\"$2\", 0) / max(1, d[\"n\"]), 1)"
}

# ---- teardown ----------------------------------------------------------------

# rig_destroy: idempotent; runs from the EXIT trap on every exit path.
rig_destroy() {
	local rc=$?
	# A second Ctrl-C or TERM must not abort the cleanup half way.
	trap - EXIT
	trap '' INT TERM
	set +e
	[[ "${RIG_VERBOSE:-0}" = 1 ]] || set +x
	[[ "${RIG_CREATED:-0}" = 1 || -n "${RIG_TMP:-}" ]] || return "$rc"
	if [[ "${RIG_KEEP:-0}" = 1 ]]; then
		log "RIG_KEEP=1: leaving rig $RIG_S up (namespaces xlb-$RIG_S-*, pins $RIG_PIN_ROOT, tmp $RIG_TMP)"
		return "$rc"
	fi
	if ((rc != 0)) && [[ -s "${RIG_LBD_LOG:-}" ]]; then
		log "last lines of lbd's log:"
		tail -n 15 "$RIG_LBD_LOG" | sed 's/^/    /' >&2
	fi
	# 1. the LB: ask the daemon, else detach by hand.
	if [[ -n "${RIG_NS_LB:-}" && -e "/run/netns/$RIG_NS_LB" && -n "${LBCTL_BIN:-}" ]]; then
		if [[ -n "$RIG_LBD_PID" ]] && kill -0 "$RIG_LBD_PID" 2>/dev/null; then
			timeout 10 "$LBCTL_BIN" --socket "$RIG_SOCK" detach >/dev/null 2>&1
			local deadline=$((SECONDS + 5))
			while kill -0 "$RIG_LBD_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
		fi
		lbd_kill KILL
		if [[ -x "${LBD_BIN:-}" ]] && { lbd_prog_attached_any || [[ -d "$RIG_PIN_ROOT" ]]; }; then
			local f
			for f in "${RIG_LB_IFACES[@]}"; do
				timeout 10 nsenter --net="/run/netns/$RIG_NS_LB" -- "$LBD_BIN" --detach "$f" --pin-root "$RIG_PIN_ROOT" >/dev/null 2>&1
			done
		fi
	fi
	# 2. the backends' decapsulators.
	local i ns
	for ((i = 1; i <= ${RIG_BACKENDS:-0}; i++)); do
		ns=$(rig_ns_b "$i")
		[[ -e "/run/netns/$ns" && -x "${DECAP_BIN:-}" ]] || continue
		if [[ -e "/sys/fs/bpf/xlb-decap/$(rig_if_b "$i")" ]] ||
			ip -n "$ns" -d link show "$(rig_if_b "$i")" 2>/dev/null | grep -q 'prog/xdp'; then
			timeout 10 nsenter --net="/run/netns/$ns" -- "$DECAP_BIN" detach "$(rig_if_b "$i")" >/dev/null 2>&1
		fi
	done
	# 3. background processes (servers, hold clients).
	local pid
	for pid in "${RIG_BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${RIG_BG_PIDS[@]}"; do
		timeout 3 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null
		{ wait "$pid"; } 2>/dev/null
	done
	# Anything else still inside our namespaces (started by hand, in rig.sh).
	local n
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^xlb-${RIG_S:-none}-"); do
		for pid in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
	done
	# 4. namespaces (destroys the veths and the bridge).
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^xlb-${RIG_S:-none}-"); do
		ip netns del "$n" 2>/dev/null || log "warning: cannot delete namespace $n"
	done
	# 5. pins and tmpdir (only ours: the suffix is in every name).
	if [[ -n "${RIG_S:-}" ]]; then
		if [[ -n "$(rig_pins_left)" ]]; then
			log "warning: removing leftover pins: $(rig_pins_left | tr '\n' ' ')"
		fi
		[[ -e "$RIG_PIN_ROOT" ]] && rm -rf "$RIG_PIN_ROOT"
		local d removed=0
		for ((i = 1; i <= ${RIG_BACKENDS:-0}; i++)); do
			d="/sys/fs/bpf/xlb-decap/$(rig_if_b "$i")"
			[[ -e "$d" ]] && { log "warning: removing leftover pins $d"; rm -rf "$d"; removed=1; }
		done
		# xlb-decap removes its directory itself when the last instance goes;
		# only tidy up after it when we had to remove pins by hand.
		((removed)) && rmdir /sys/fs/bpf/xlb-decap 2>/dev/null
	fi
	[[ -n "${RIG_TMP:-}" && -d "$RIG_TMP" && "$RIG_TMP" == /tmp/xlb-rig-* ]] && rm -rf "$RIG_TMP"
	RIG_CREATED=0
	return "$rc"
}

# rig_leftovers: prints anything of this rig still present (for assertions).
rig_leftovers() {
	ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^xlb-$RIG_S-"
	[[ -e "$RIG_PIN_ROOT" ]] && echo "$RIG_PIN_ROOT"
	local i
	for ((i = 1; i <= RIG_BACKENDS; i++)); do
		[[ -e "/sys/fs/bpf/xlb-decap/$(rig_if_b "$i")" ]] && echo "/sys/fs/bpf/xlb-decap/$(rig_if_b "$i")"
	done
	return 0
}

# ---- connection counts (least-conn, issue 3) ---------------------------------

# rig_vip_addr_add ADDR: puts one more VIP address on every backend's lo (the
# servers listen on every address), so a test can run a second VIP on port 80
# next to $RIG_VIP4. Backends added later need it too: call it again. Also
# sets the ARP settings a VIP on lo needs (already there in the DSR rig; a
# nat rig's backends get them here, e.g. for an ipip or l2dsr VIP next to
# the nat one).
rig_vip_addr_add() {
	local addr=$1 i ns plen=32 nodad=
	[[ "$addr" == *:* ]] && { plen=128; nodad=nodad; }
	for ((i = 1; i <= RIG_BACKENDS; i++)); do
		ns=$(rig_ns_b "$i")
		[[ -e "/run/netns/$ns" ]] || continue
		_rig_backend_vip_sysctls "$ns" "$(rig_if_b "$i")" || return 1
		ip -n "$ns" addr replace "$addr/$plen" dev lo $nodad || return 1
	done
}

# lb_conns VIP:PORT PROTO: the VIP's backends from `lbctl list --json`, keyed
# by rig backend name (b<i>, as the servers answer), one JSON object:
#   {"b1": {"active": 50, "half_open": 0, "state": "active", "weight": 1}, ...}
# A backend lbd lists without counts gets null ones. Fails if lbctl does or
# the VIP is not listed.
lb_conns() {
	local out
	out=$(lbctl_ list --json) || return 1
	python3 -c "$_RIG_LB_CONNS_PY" "$1" "$2" <<<"$out"
}
_RIG_LB_CONNS_PY=$(cat <<'EOF2'
import ipaddress, json, sys
vip, proto = sys.argv[1], sys.argv[2]
d = json.load(sys.stdin)
def name(addr):
    a = ipaddress.ip_address(addr)
    host = int(a) & (0xFF if a.version == 4 else 0xFFFF)
    if a.version == 6:
        host = int(format(host, "x"))  # fd00:18::11 -> b1: the rig writes 10+i in decimal digits
    return f"b{host - 10}"
for v in d["vips"]:
    if v["vip"] == vip and v["proto"] == proto:
        print(json.dumps({name(b["address"]): {k: b.get(k) for k in ("active", "half_open", "state", "weight")}
                          for b in v["backends"]}, sort_keys=True))
        sys.exit(0)
print(f"lb_conns: {vip}/{proto} is not listed", file=sys.stderr)
sys.exit(1)
EOF2
)

# conns_field CONNS_JSON FIELD: {"b1": N, ...} of one field of lb_conns' output.
conns_field() { json_get - "{k: v['$2'] for k, v in sorted(d.items())}" <<<"$1"; }

# counts_equal A_JSON B_JSON: true if two {"b1": N, ...} objects agree on
# every backend either names (a missing backend counts as 0).
counts_equal() {
	python3 -c '
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.exit(0 if all(a.get(k, 0) == b.get(k, 0) for k in set(a) | set(b)) else 1)
' "$1" "$2" 2>/dev/null
}

# counts_near COUNTS_JSON EXPECTED_JSON TOLERANCE: true if every backend of
# either is within TOLERANCE of its expected count.
counts_near() {
	python3 -c '
import json, sys
a, b, tol = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
sys.exit(0 if all(abs(a.get(k, 0) - b.get(k, 0)) <= tol for k in set(a) | set(b)) else 1)
' "$1" "$2" "$3" 2>/dev/null
}

# counts_sum COUNTS_JSON: the sum of a {"b1": N, ...} object's values.
counts_sum() { json_get - "sum(v or 0 for v in d.values())" <<<"$1"; }

# hold_by_backend NAME: the held connections per backend as the client sees
# them, {"b1": N, ...}.
hold_by_backend() { hold_cmd "$1" status | json_get - by_backend; }

# wait_for SECONDS CMD...: retries CMD every 0.2 s until it succeeds or
# SECONDS pass; true if it succeeded.
wait_for() {
	local limit=$1 deadline
	shift
	deadline=$(($(date +%s%N) + limit * 1000000000))
	until "$@"; do
		(($(date +%s%N) < deadline)) || return 1
		sleep 0.2
	done
}

# client_synflood VIP N [client.py synflood options...]: spoofed SYNs from
# the client namespace; prints the tool's JSON.
client_synflood() {
	local vip=$1 n=$2
	shift 2
	in_ns "$RIG_NS_C" python3 "$RIG_TOOLS_DIR/client.py" synflood --vip "$vip" --port 80 -n "$n" "$@"
}

# ---- forwarding-mode rigs (nat, fullnat, l2dsr) ------------------------------
#
# Same naming as the DSR rig (suffix <S> everywhere, xlb-<S>-* namespaces) and
# the same teardown; they differ in where the LB sits and where the backends'
# replies go. Addresses: the client's side 198.18.0.0/24 + fd00:18::/64, the
# backends' segment 198.19.0.0/24 + fd00:19::/64, VIPs as above. Backend i is
# 198.19.0.(10+i) / fd00:19::(10+i) (rig_b4/rig_b6), named b<i>.
#
# Two-arm (rig_create_nat N, rig_create_fullnat N): the LB routes between two
# networks, lbd attaches to both interfaces (RIG_LB_IFACES).
#
#   client ns                 LB ns                      switch ns, bridge br<S>
#   xc<S> 198.18.0.2 ====== xl<S> 198.18.0.1
#   (XDP_PASS stub)           xk<S> 198.19.0.1 ---------- sk<S> (XDP_PASS stub)
#                             (+ S 198.19.0.100, fullnat) sb<i><S> ---- backend i ns
#                                                                    xb<i><S> 198.19.0.(10+i)
#
#   client:  VIP routes via 198.18.0.1 / fd00:18::1 (nothing else: it cannot
#            reach the backends' network except through a VIP)
#   nat:     backends' default route via the LB (198.19.0.1 / fd00:19::1), so
#            replies to the client come back through the LB's xk<S>
#   fullnat: backends have no default route at all (only their /24 and /64):
#            they can answer nothing but the LB's fullnat source S,
#            198.19.0.100 / fd00:19::100, an address of the LB on xk<S>
#            (the LB's kernel answers ARP/ND for it, xlb takes the replies)
#   XDP: client->VIP arrives on xl<S> and leaves (redirect) by xk<S>: the
#   switch port sk<S> has the stub; replies arrive on xk<S> and leave by
#   xl<S> into the client's veth, which has the stub.
#
# One-arm (rig_create_nat N --one-arm) and l2dsr (rig_create_l2 N): the
# client sits behind a router R on one shared segment with the LB and the
# backends; the LB has a single interface there.
#
#   client ns                 router ns R                switch ns, bridge br<S>
#   xc<S> 198.18.0.2 ====== xq<S> 198.18.0.1
#                             xr<S> 198.19.0.254 -------- sr<S>
#                           LB ns                         |
#                             xl<S> 198.19.0.1 ---------- sl<S> (XDP_PASS stub)
#                           backend i ns                  |
#                             xb<i><S> 198.19.0.(10+i) -- sb<i><S>
#
#   client:  VIP routes via R (198.18.0.1 / fd00:18::1)
#   R:       VIP routes via the LB (198.19.0.1 / fd00:19::1)
#   LB:      client network via R
#   nat one-arm: backends' default route via the LB: the client's packets
#            (from R) and the backends' replies both arrive on xl<S>, and
#            both leave by xl<S> again (XDP_TX into sl<S>, which has the stub)
#   l2dsr:   backends hold the VIPs on lo (ARP settings as in the DSR rig),
#            their default route is R: replies go backend -> R -> client and
#            never reach the LB, whose interface only sees client->VIP
#            packets (compare if_counter on xl<S> with R's xr<S>)
#
# Every endpoint veth (client, R, LB, backends) has `tx off`; every veth
# into which the LB's XDP program sends frames has the XDP_PASS stub on its
# peer. MTU: 1500 on the client's link, 1600 on the segment (room for an
# ipip VIP next to the mode VIPs). Forwarding is on in the LB and in R.
#
# Options: rig_create_nat N [--one-arm] [--fullnat] [--fullnat-source]
# [--no-servers]; --fullnat (= rig_create_fullnat) is the fullnat rig (S on
# the LB, no default route on the backends), --fullnat-source only adds S to
# a nat rig (for a fullnat VIP next to nat ones).
#
# Backend servers (server_start): nat/fullnat backends listen on their own
# addresses only, TCP 80 and 8080 ($RIG_PORT_ALT_TCP), UDP 53 and 5353
# ($RIG_PORT_ALT_UDP), so a VIP's port can be mapped to another backend port;
# l2dsr backends listen on every address, TCP 80 and UDP 53.

_rig_ns_new() {
	ip netns add "$1" || die "cannot create namespace $1"
	ip -n "$1" link set lo up
}

# _rig_switch_new: the switch namespace and its bridge.
_rig_switch_new() {
	_rig_ns_new "$RIG_NS_SW"
	ip -n "$RIG_NS_SW" link add "$RIG_BR" type bridge stp_state 0 forward_delay 0 mcast_snooping 0 ||
		die "cannot create bridge"
	ip -n "$RIG_NS_SW" link set "$RIG_BR" up
	_rig_sysctl "$RIG_NS_SW" net.ipv6.conf.all.disable_ipv6=1
}

# _rig_endpoint NS IFNAME: an interface a host sends from: tx checksum
# offload off, up, no DAD, no RAs.
_rig_endpoint() {
	local ns=$1 ifn=$2
	in_ns "$ns" ethtool -K "$ifn" tx off >/dev/null 2>&1 ||
		log "warning: cannot disable tx checksum offload on $ifn"
	ip -n "$ns" link set "$ifn" up
	_rig_sysctl "$ns" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		"net.ipv6.conf.$ifn.accept_dad=0" "net.ipv6.conf.$ifn.accept_ra=0"
}

# _rig_veth NS1 IF1 NS2 IF2 MTU: a direct veth link between two hosts.
_rig_veth() {
	ip link add "$2" netns "$1" mtu "$5" type veth peer name "$4" netns "$3" mtu "$5" ||
		die "cannot create veth $2/$4"
	_rig_endpoint "$1" "$2"
	_rig_endpoint "$3" "$4"
}

# _rig_stub NS IFNAME: the XDP_PASS stub on IFNAME, the peer of a veth the
# LB's XDP program sends frames into.
_rig_stub() {
	ip -n "$1" link set dev "$2" xdpdrv obj "$(_rig_xdp_stub)" sec xdp ||
		die "cannot attach the XDP_PASS stub to $2"
}

# _rig_mode_addrs: the addresses of the mode rigs (see the pictures).
_rig_mode_addrs() {
	RIG_BNET4=198.19.0.
	RIG_BNET6=fd00:19::
	RIG_LBB4=198.19.0.1
	RIG_LBB6=fd00:19::1
	RIG_GW4=198.18.0.1
	RIG_GW6=fd00:18::1
}

_rig_client_setup() {
	ip -n "$RIG_NS_C" addr add "$RIG_CLIENT4/24" dev "$RIG_IF_C"
	ip -n "$RIG_NS_C" addr add "$RIG_CLIENT6/64" dev "$RIG_IF_C" nodad
	ip -n "$RIG_NS_C" route add 198.18.100.0/24 via "$RIG_GW4"
	ip -n "$RIG_NS_C" -6 route add fd00:100::/64 via "$RIG_GW6"
	_rig_sysctl "$RIG_NS_C" net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$RIG_IF_C.rp_filter=0" \
		net.ipv4.ip_local_port_range="20000 60999" \
		net.ipv4.conf.all.accept_redirects=0 net.ipv6.conf.all.accept_redirects=0
}

# _rig_router_sysctls NS IFNAME...: forwarding on, no redirects, no rp_filter.
_rig_router_sysctls() {
	local ns=$1 f args=()
	shift
	for f in "$@"; do args+=("net.ipv4.conf.$f.send_redirects=0" "net.ipv4.conf.$f.rp_filter=0"); done
	_rig_sysctl "$ns" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.all.rp_filter=0 "${args[@]}"
}

# Two-arm base: client ==veth== LB ==(xk)-- switch.
_rig_base_two_arm() {
	RIG_ARMS=two
	_rig_ns_new "$RIG_NS_C"
	_rig_ns_new "$RIG_NS_LB"
	_rig_switch_new
	RIG_LB4=198.18.0.1
	RIG_LB6=fd00:18::1
	_rig_veth "$RIG_NS_C" "$RIG_IF_C" "$RIG_NS_LB" "$RIG_IF_LB" "$RIG_MTU_CLIENT"
	_rig_stub "$RIG_NS_C" "$RIG_IF_C" # replies are redirected into xl<S>
	_rig_client_setup
	ip -n "$RIG_NS_LB" addr add "$RIG_LB4/24" dev "$RIG_IF_LB"
	ip -n "$RIG_NS_LB" addr add "$RIG_LB6/64" dev "$RIG_IF_LB" nodad
	_rig_port "$RIG_NS_LB" "$RIG_IF_LB2" "sk$RIG_S" "$RIG_MTU_FABRIC"
	_rig_stub "$RIG_NS_SW" "sk$RIG_S" # client packets are redirected into xk<S>
	ip -n "$RIG_NS_LB" addr add "$RIG_LBB4/24" dev "$RIG_IF_LB2"
	ip -n "$RIG_NS_LB" addr add "$RIG_LBB6/64" dev "$RIG_IF_LB2" nodad
	_rig_router_sysctls "$RIG_NS_LB" "$RIG_IF_LB" "$RIG_IF_LB2"
	RIG_IF_LBB=$RIG_IF_LB2
	RIG_LB_IFACES=("$RIG_IF_LB" "$RIG_IF_LB2")
}

# Segment base: client ==veth== R --(xr)-- switch --(xl)-- LB.
_rig_base_segment() {
	RIG_ARMS=one
	_rig_ns_new "$RIG_NS_C"
	_rig_ns_new "$RIG_NS_R"
	_rig_ns_new "$RIG_NS_LB"
	_rig_switch_new
	RIG_LB4=$RIG_LBB4
	RIG_LB6=$RIG_LBB6
	_rig_veth "$RIG_NS_C" "$RIG_IF_C" "$RIG_NS_R" "$RIG_IF_RC" "$RIG_MTU_CLIENT"
	_rig_client_setup
	# router
	ip -n "$RIG_NS_R" addr add "$RIG_GW4/24" dev "$RIG_IF_RC"
	ip -n "$RIG_NS_R" addr add "$RIG_GW6/64" dev "$RIG_IF_RC" nodad
	_rig_port "$RIG_NS_R" "$RIG_IF_RB" "sr$RIG_S" "$RIG_MTU_FABRIC"
	ip -n "$RIG_NS_R" addr add "$RIG_RB4/24" dev "$RIG_IF_RB"
	ip -n "$RIG_NS_R" addr add "$RIG_RB6/64" dev "$RIG_IF_RB" nodad
	ip -n "$RIG_NS_R" route add 198.18.100.0/24 via "$RIG_LBB4"
	ip -n "$RIG_NS_R" -6 route add fd00:100::/64 via "$RIG_LBB6"
	_rig_router_sysctls "$RIG_NS_R" "$RIG_IF_RC" "$RIG_IF_RB"
	# load balancer
	_rig_port "$RIG_NS_LB" "$RIG_IF_LB" "sl$RIG_S" "$RIG_MTU_FABRIC"
	_rig_stub "$RIG_NS_SW" "sl$RIG_S" # XDP_TX out of xl<S>
	ip -n "$RIG_NS_LB" addr add "$RIG_LB4/24" dev "$RIG_IF_LB"
	ip -n "$RIG_NS_LB" addr add "$RIG_LB6/64" dev "$RIG_IF_LB" nodad
	ip -n "$RIG_NS_LB" route add 198.18.0.0/24 via "$RIG_RB4"
	ip -n "$RIG_NS_LB" -6 route add fd00:18::/64 via "$RIG_RB6"
	_rig_router_sysctls "$RIG_NS_LB" "$RIG_IF_LB"
	RIG_IF_LBB=$RIG_IF_LB
	RIG_LB_IFACES=("$RIG_IF_LB")
}

# _rig_backend_mode I: backend I's routes and settings in a mode rig.
_rig_backend_mode() {
	local i=$1 ns ifn
	ns=$(rig_ns_b "$i")
	ifn=$(rig_if_b "$i")
	_rig_sysctl "$ns" net.ipv4.conf.all.accept_redirects=0 net.ipv6.conf.all.accept_redirects=0 \
		net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$ifn.rp_filter=0"
	case $RIG_KIND in
	nat)
		ip -n "$ns" route add default via "$RIG_LBB4"
		ip -n "$ns" -6 route add default via "$RIG_LBB6"
		;;
	fullnat) ;; # on-link only: S and the LB, nothing else
	l2dsr)
		ip -n "$ns" addr add "$RIG_VIP4/32" dev lo
		ip -n "$ns" addr add "$RIG_VIP6/128" dev lo nodad
		_rig_backend_vip_sysctls "$ns" "$ifn"
		ip -n "$ns" route add default via "$RIG_RB4"
		ip -n "$ns" -6 route add default via "$RIG_RB6"
		;;
	*) die "_rig_backend_mode: unknown rig kind $RIG_KIND" ;;
	esac
}

# rig_create_nat N [--one-arm] [--fullnat] [--fullnat-source] [--no-servers]:
# a nat rig (two-arm unless --one-arm), or with --fullnat the fullnat rig.
# Starts the backend servers unless --no-servers. Does not start lbd.
rig_create_nat() {
	local n=3 arms=two kind=nat fsrc=0 srv='' a i
	for a in "$@"; do
		case $a in
		--one-arm) arms=one ;;
		--fullnat) kind=fullnat fsrc=1 ;;
		--fullnat-source) fsrc=1 ;;
		--no-servers) srv=--no-servers ;;
		[0-9]*) n=$a ;;
		*) die "rig_create_nat: unknown argument $a" ;;
		esac
	done
	[[ -n "${RIG_S:-}" ]] || die "rig_init first"
	step "rig $RIG_S: $kind, $arms-arm LB, $n backends (tmp $RIG_TMP)"
	RIG_CREATED=1
	RIG_KIND=$kind
	_rig_mode_addrs
	if [[ $arms == one ]]; then _rig_base_segment; else _rig_base_two_arm; fi
	if ((fsrc)); then
		ip -n "$RIG_NS_LB" addr add "$RIG_FNAT4/32" dev "$RIG_IF_LBB"
		ip -n "$RIG_NS_LB" addr add "$RIG_FNAT6/128" dev "$RIG_IF_LBB" nodad
		RIG_HAS_FNAT=1
	fi
	RIG_BACKENDS=0
	for ((i = 1; i <= n; i++)); do rig_add_backend "$i" $srv; done
	rig_wait_l2
}

# rig_create_fullnat N [--one-arm] [--no-servers]: rig_create_nat --fullnat.
rig_create_fullnat() { rig_create_nat "$@" --fullnat; }

# rig_create_l2 N [--no-servers]: the l2dsr rig (one-arm, router R).
rig_create_l2() {
	local n=3 srv='' a i
	for a in "$@"; do
		case $a in
		--no-servers) srv=--no-servers ;;
		[0-9]*) n=$a ;;
		*) die "rig_create_l2: unknown argument $a" ;;
		esac
	done
	[[ -n "${RIG_S:-}" ]] || die "rig_init first"
	step "rig $RIG_S: l2dsr, one-arm LB behind router R, $n backends (tmp $RIG_TMP)"
	RIG_CREATED=1
	RIG_KIND=l2dsr
	_rig_mode_addrs
	_rig_base_segment
	RIG_BACKENDS=0
	for ((i = 1; i <= n; i++)); do rig_add_backend "$i" $srv; done
	rig_wait_l2
}

# hostport ADDR PORT: 198.18.100.1:80 or [fd00:100::1]:80.
hostport() { if [[ "$1" == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi; }

# client_udprr VIP N [client.py udprr options...]: UDP request/response
# through VIP:53 (default port; --port P for another); prints the JSON.
client_udprr() {
	local vip=$1 n=$2
	shift 2
	in_ns "$RIG_NS_C" python3 "$RIG_TOOLS_DIR/client.py" udprr --vip "$vip" --port 53 -n "$n" "$@"
}

# ---- forwarding modes: the control plane ----------------------------------------
#
# Everything the mode tests use of the control plane (docs/lbctl.md,
# docs/api.md) goes through this section, which emu_nft.sh replaces under
# XLB_EMULATE=nft; a change of the CLI is then local:
#  - lbd takes --iface once per interface (lbd_start uses _rig_lbd_iface_args;
#    two-arm rigs pass the client side first, then the backend side);
#  - lbctl add-vip VIP --proto P --mode nat|fullnat|l2dsr [--sched S];
#  - lbctl add-backend VIP --proto P ADDR [--port N] [--weight W]
#    (--port: the backend's port, nat and fullnat only; default the VIP's);
#  - lbctl apply -f FILE with the config of docs/api.md, including
#    "fullnat": {"source_v4", "source_v6", "port_min", "port_max"},
#    a VIP's "mode" and a backend's "port";
#  - `lbctl stats --json` global counters nat_reply, nat_icmp,
#    drop_nat_ports, drop_nat_conflict, drop_nat_table_full, drop_not_on_link
#    (ctl/core/stats_names.cc; lb_gstat fails on a renamed one);
#  - `lbctl list --json` shows "mode" per VIP and, for nat/fullnat, each
#    backend's "port" (only printed, not relied on).

# _rig_lbd_iface_args: lbd's interface options, one --iface per interface,
# into the caller's array `ifargs`.
_rig_lbd_iface_args() {
	local f
	for f in "${RIG_LB_IFACES[@]}"; do ifargs+=(--iface "$f"); done
}

# lbctl_quiet ARGS...: lbctl_ that must succeed; prints nothing on success,
# records a failure with lbctl's message otherwise.
lbctl_quiet() {
	local out rc
	out=$(lbctl_ "$@" 2>&1)
	rc=$?
	((rc == 0)) && return 0
	fail "lbctl $* -> exit $rc: $out"
	return 1
}

# lbd_real: true when xlb is the load balancer (false under XLB_EMULATE=nft);
# tests wrap the checks of lbd's own view (stats, counts) in `if lbd_real`.
lbd_real() { true; }

# mode_add_vip VIP:PORT PROTO MODE [add-vip options, e.g. --sched least-conn]
mode_add_vip() {
	local vip=$1 proto=$2 mode=$3
	shift 3
	lbctl_quiet add-vip "$vip" --proto "$proto" --mode "$mode" "$@"
}

# mode_add_backend VIP:PORT PROTO ADDR [--port N] [--weight W]
mode_add_backend() {
	local vip=$1 proto=$2 addr=$3
	shift 3
	lbctl_quiet add-backend "$vip" --proto "$proto" "$addr" "$@"
}

# mode_vip_setup VIP:PORT PROTO MODE [--sched S] [--port N] ADDR[/WEIGHT]...:
# add-vip and its backends (--port: every backend's port), recording failures.
mode_vip_setup() {
	local vip=$1 proto=$2 mode=$3 sched=() port=() b w
	shift 3
	while [[ "${1:-}" == --* ]]; do
		case $1 in
		--sched) sched=(--sched "$2") ;;
		--port) port=(--port "$2") ;;
		*) die "mode_vip_setup: unknown option $1" ;;
		esac
		shift 2
	done
	mode_add_vip "$vip" "$proto" "$mode" "${sched[@]}" || return 1
	for b in "$@"; do
		w=1
		[[ "$b" == */* ]] && w=${b#*/}
		mode_add_backend "$vip" "$proto" "${b%%/*}" "${port[@]}" --weight "$w" || return 1
	done
}

# Config builder for `lbctl apply -f` (declarative: what is not in the
# config is removed, so a test that applies one builds its whole config):
#   cfg_new                                    empty config ($RIG_TMP/config.json)
#   cfg_fullnat SRC4 SRC6 PORT_MIN PORT_MAX    the fullnat block
#   cfg_timeouts KEY=SECONDS...                e.g. tcp_closing=1 udp=5
#   cfg_set KEY JSON                           any top-level key (reap_interval_ms, encap, ...)
#   cfg_vip VIP:PORT PROTO MODE [SCHED]
#   cfg_backend VIP:PORT PROTO ADDR [PORT [WEIGHT]]   PORT "-": the VIP's
#   cfg_health VIP:PORT PROTO JSON [ADDR]      the VIP's "health" object, or
#                                              backend ADDR's override ("null": none)
#   cfg_apply                                  lbctl apply -f (records a failure)
RIG_CFG=
cfg_new() { RIG_CFG="$RIG_TMP/config.json"; echo '{"vips": []}' >"$RIG_CFG"; }
_rig_cfg() {
	[[ -n "$RIG_CFG" ]] || cfg_new
	python3 -c "$_RIG_CFG_PY" "$RIG_CFG" "$@" || die "config builder: $*"
}
cfg_set() { _rig_cfg set "$@"; }
cfg_fullnat() {
	_rig_cfg set fullnat "{\"source_v4\": \"$1\", \"source_v6\": \"$2\", \"port_min\": $3, \"port_max\": $4}"
}
cfg_timeouts() { _rig_cfg timeouts "$@"; }
cfg_vip() { _rig_cfg vip "$@"; }
cfg_backend() { _rig_cfg backend "$@"; }
cfg_health() { _rig_cfg health "$@"; }
cfg_apply() {
	[[ -n "$RIG_CFG" ]] || cfg_new
	lbctl_quiet apply -f "$RIG_CFG"
}
_RIG_CFG_PY=$(cat <<'EOF3'
import json, sys
path, op, args = sys.argv[1], sys.argv[2], sys.argv[3:]
d = json.load(open(path))
def vip(v, proto):
    for x in d.setdefault("vips", []):
        if x["vip"] == v and x["proto"] == proto:
            return x
    raise SystemExit(f"no VIP {v}/{proto} in the config")
if op == "set":
    d[args[0]] = json.loads(args[1])
elif op == "timeouts":
    t = d.setdefault("timeouts", {})
    for kv in args:
        k, v = kv.split("=", 1)
        t[k] = int(v)
elif op == "vip":
    v = {"vip": args[0], "proto": args[1], "mode": args[2], "backends": []}
    if len(args) > 3:
        v["sched"] = args[3]
    d.setdefault("vips", []).append(v)
elif op == "backend":
    b = {"address": args[2]}
    if len(args) > 3 and args[3] != "-":
        b["port"] = int(args[3])
    if len(args) > 4:
        b["weight"] = int(args[4])
    vip(args[0], args[1])["backends"].append(b)
elif op == "health":
    h, target = json.loads(args[2]), vip(args[0], args[1])
    if len(args) > 3:
        target = next((b for b in target["backends"] if b["address"] == args[3]), None)
        if target is None:
            raise SystemExit(f"no backend {args[3]} of {args[0]}/{args[1]} in the config")
    if h is None:
        target.pop("health", None)
    else:
        target["health"] = h
else:
    raise SystemExit(f"unknown op {op}")
json.dump(d, open(path, "w"), indent=1)
EOF3
)

# lb_gstat STATS_JSON NAME: packets of global counter NAME in a `lbctl stats
# --json` snapshot (lb_stats) or in lb_stats_delta's output; fails (prints
# nothing) if there is no such counter, so a renamed counter is noticed.
lb_gstat() {
	json_get "$1" "d['global']['$2']['packets'] if isinstance(d['global']['$2'], dict) else d['global']['$2']"
}

# lb_drops DELTA_JSON: the drop_* counters that moved in an lb_stats_delta
# output, as a JSON object ({} when none did).
lb_drops() { json_get "$1" "{k: v for k, v in d['global'].items() if k.startswith('drop_') and v}"; }

# lb_housekeeping DELTA_JSON: packets the LB received (lb_stats_delta) that
# are neither client traffic nor replies: ARP (pass_not_ip) and ICMP
# (pass_icmp: neighbour discovery, and the backends' port-unreachable
# answers to lbd's neighbour priming, every 30 s). Their number grows with
# the test's duration, so a check on interface counters must account for
# them rather than allow a fixed slack.
lb_housekeeping() { json_get "$1" "d['global']['pass_icmp'] + d['global']['pass_not_ip']"; }

# ---- predicates over client.py burst/udprr output (for check) -----------------
# All take the JSON text (not a file) as the first argument; the ones about
# single connections need the output of --details.
#   burst_all_ok JSON N             N of N answered (and, for udprr, none from a wrong source)
#   burst_spread JSON NB LO HI      exactly NB backends answered, each LO..HI percent
#   burst_peer_is JSON ADDR         every backend saw the peer address ADDR
#   burst_peer_ports_in JSON LO HI  every backend saw a peer port in LO..HI (details)
#   burst_local_is JSON ADDR PORT   every connection reached ADDR:PORT (ADDR "own":
#                                   the answering backend's own address; PORT "-": any)
burst_all_ok() { _rig_burst_pred all_ok "$@"; }
burst_spread() { _rig_burst_pred spread "$@"; }
burst_peer_is() { _rig_burst_pred peer_is "$@"; }
burst_peer_ports_in() { _rig_burst_pred peer_ports_in "$@"; }
burst_local_is() { _rig_burst_pred local_is "$@"; }
_rig_burst_pred() {
	python3 -c "$_RIG_BURST_PRED_PY" "$RIG_BNET4" "$RIG_BNET6" "$@"
}
_RIG_BURST_PRED_PY=$(cat <<'EOF4'
import json, sys
bnet4, bnet6, pred, doc, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
try:
    d = json.loads(doc)
except ValueError:
    print(f"{pred}: not JSON: {doc[:200]!r}", file=sys.stderr)
    sys.exit(1)
ok = d.get("ok", 0)
conns = [c for c in d.get("conns", []) if "backend" in c]
def own(backend):
    i = int(backend[1:])
    return {f"{bnet4}{10 + i}", f"{bnet6}{10 + i}"}
if pred == "all_ok":
    r = ok == int(args[0]) and d.get("wrong_source", 0) == 0
elif pred == "spread":
    nb, lo, hi = int(args[0]), float(args[1]), float(args[2])
    by = d.get("by_backend", {})
    r = len(by) == nb and all(lo <= 100.0 * v / max(1, d["n"]) <= hi for v in by.values())
elif pred == "peer_is":
    r = ok > 0 and d.get("by_peer") == {args[0]: ok}
elif pred == "peer_ports_in":
    lo, hi = int(args[0]), int(args[1])
    r = ok > 0 and len(conns) == ok and all(lo <= (c.get("peer_port") or -1) <= hi for c in conns)
elif pred == "local_is":
    addr, port = args[0], args[1]
    r = ok > 0 and len(conns) == ok and all(
        (c.get("local") in own(c["backend"]) if addr == "own" else c.get("local") == addr)
        and (port == "-" or c.get("local_port") == int(port)) for c in conns)
else:
    sys.exit(f"unknown predicate {pred}")
sys.exit(0 if r else 1)
EOF4
)

# ---- health checks (issue 12) --------------------------------------------------

# health_wait VIP:PORT PROTO T0_MS SECONDS EXPR: polls `lbctl list --json`
# every 50 ms until the Python expression EXPR holds for that VIP, or SECONDS
# pass (0: one look). EXPR sees b (the VIP's backends by rig name, b1.., as
# lbctl lists them), v (the VIP), and st(NAME) (health state or None),
# w(NAME) (ring weight), aw(NAME) (admin weight), h(NAME) (the health object
# or None). Prints one JSON object: {"ok", "elapsed_ms" (from T0_MS, e.g.
# $(date +%s%3N) when a server was stopped, to the answer that satisfied
# EXPR), "at" (epoch seconds when that answer arrived), "view" (per backend:
# state, weight, admin_weight, reason), "all_down", "error"}; true if EXPR
# held. health_ok JSON: that output says it held.
health_wait() {
	python3 -c "$_RIG_HEALTH_WAIT_PY" "$RIG_NS_LB" "$LBCTL_BIN" "$RIG_SOCK" "$@"
}
health_ok() { [ "$(json_get - ok <<<"$1")" = true ]; }
# health_check_wait VIP PROTO T0_MS SECONDS EXPR LABEL: health_wait, its
# time and the backends' states printed, recorded as a check.
health_check_wait() {
	local out
	out=$(health_wait "$1" "$2" "$3" "$4" "$5")
	echo "  $1/$2: $(json_get - elapsed_ms <<<"$out") ms: $(json_get - view <<<"$out")"
	check "$1/$2: $6" health_ok "$out"
}
now_ms() { date +%s%3N; } # wall-clock ms, the T0_MS of health_wait
_RIG_HEALTH_WAIT_PY=$(cat <<'EOF6'
import ipaddress, json, subprocess, sys, time
ns, lbctl, sock, vip, proto, t0_ms, limit, expr = sys.argv[1:9]
t0 = int(t0_ms) / 1000.0
deadline = time.time() + float(limit)
def name(addr):
    a = ipaddress.ip_address(addr)
    host = int(a) & (0xFF if a.version == 4 else 0xFFFF)
    if a.version == 6:
        host = int(format(host, "x"))  # fd00:18::11 -> b1 (see lb_conns)
    return f"b{host - 10}"
def view(b):
    if b is None:
        return None
    out = {}
    for n, x in sorted(b.items()):
        hh = x.get("health") or {}
        out[n] = {"state": hh.get("state"), "weight": x.get("weight"), "admin_weight": x.get("admin_weight"),
                  "reason": hh.get("reason")}
    return out
v = b = None
err = None
while True:
    try:
        r = subprocess.run(["nsenter", f"--net=/run/netns/{ns}", "--", lbctl, "--socket", sock, "list", "--json"],
                           capture_output=True, text=True, timeout=10)
        at = time.time()
        d = json.loads(r.stdout)
        v = next(x for x in d["vips"] if x["vip"] == vip and x["proto"] == proto)
        b = {name(x["address"]): x for x in v["backends"]}
        env = {"b": b, "v": v, "any": any, "all": all, "len": len,
               "h": lambda n: b[n].get("health"),
               "st": lambda n: (b[n].get("health") or {}).get("state"),
               "w": lambda n: b[n].get("weight"),
               "aw": lambda n: b[n].get("admin_weight")}
        if eval(expr, env):
            print(json.dumps({"ok": True, "elapsed_ms": round((at - t0) * 1000), "at": at, "view": view(b),
                              "all_down": v.get("all_down")}))
            sys.exit(0)
        err = None
    except Exception as e:
        err = f"{type(e).__name__}: {e}"
    if time.time() > deadline:
        print(json.dumps({"ok": False, "elapsed_ms": round((time.time() - t0) * 1000), "at": time.time(),
                          "view": view(b), "all_down": (v or {}).get("all_down"), "error": err}))
        sys.exit(1)
    time.sleep(0.05)
EOF6
)

# ---- idle expiry and the flow table (issue 9) ----------------------------------

# lb_status_get EXPR: one value of `lbctl status --json` (json_get EXPR).
lb_status_get() { lbctl_ status --json | json_get - "$1"; }

# lb_swept_after UNIX_MS: true once a complete reaper sweep has ended after
# UNIX_MS (milliseconds since the epoch, e.g. $(date +%s%3N)): every flow
# idle for longer than its timeout at that moment has been judged.
lb_swept_after() {
	local t
	t=$(lb_status_get "d['reaper']['last_sweep']['unix_ms'] if (d['reaper']['last_sweep'] or {}).get('complete') else 0") || return 1
	int_ge "$t" "$1"
}

# lb_flows_by_sport VIP:PORT PROTO: the VIP's flow entries keyed by the
# client's source port (only the client talks to VIPs in a rig), one object
#   {"10001": {"backend": "b1", "state": "established"}, ...}
# (backend: the rig's name for it, b<i>; null if the id is bound to none).
lb_flows_by_sport() {
	local out
	out=$(lbctl_ flows --vip "$1" --proto "$2" --json) || return 1
	python3 -c "$_RIG_FLOWS_PY" <<<"$out"
}
_RIG_FLOWS_PY=$(cat <<'EOF5'
import ipaddress, json, sys
d = json.load(sys.stdin)
if d.get("truncated"):
    sys.exit("lb_flows_by_sport: lbctl flows truncated its answer")
def name(addr):
    if addr is None:
        return None
    a = ipaddress.ip_address(addr)
    host = int(a) & (0xFF if a.version == 4 else 0xFFFF)
    if a.version == 6:
        host = int(format(host, "x"))  # fd00:18::11 -> b1 (see lb_conns)
    return f"b{host - 10}"
out = {}
for f in d["flows"]:
    port = f["src"].rsplit(":", 1)[1]
    out[port] = {"backend": name(f.get("backend")), "state": f["state"]}
print(json.dumps(out, sort_keys=True))
EOF5
)

# flows_count_by_backend FLOWS_JSON [STATE...]: {"b1": N, ...} of the
# entries of lb_flows_by_sport's output (only those in STATEs, if given).
flows_count_by_backend() {
	local doc=$1
	shift
	python3 -c '
import json, sys
d, states = json.loads(sys.argv[1]), set(sys.argv[2:])
by = {}
for f in d.values():
    if not states or f["state"] in states:
        by[f["backend"]] = by.get(f["backend"], 0) + 1
print(json.dumps(by, sort_keys=True))
' "$doc" "$@"
}

# ---- XDP attach mode (XLB_XDP_MODE) -------------------------------------------
#
# XLB_XDP_MODE=skb runs a test with lbd and xlb-decap in generic (skb) XDP
# mode, for NICs without native XDP (ctest's netns.skb.* entries). lbd_start
# and decap_attach check that the program really runs in the asked mode, so
# a silent fallback (lbd --xdp-mode auto falls back to skb with a warning) or
# an option ignored on the way cannot pass as the other mode's test.

# rig_xdp_mode_of NS IFNAME: the XDP mode IFNAME's program runs in, as `ip
# link` shows it on the first line: native ("xdp"), skb ("xdpgeneric"),
# offload, multi, or none.
rig_xdp_mode_of() {
	local words
	words=$(ip -n "$1" link show dev "$2" 2>/dev/null | head -n 1) || return 1
	case " $words " in
	*" xdpgeneric "*) echo skb ;;
	*" xdp "*) echo native ;;
	*" xdpoffload "*) echo offload ;;
	*" xdpmulti "*) echo multi ;;
	*) echo none ;;
	esac
}

# rig_xdp_mode_verify NS IFNAME: true if IFNAME's program runs in the mode
# the rig asked for ($RIG_XDP_MODE; with "auto" any attached program
# passes); otherwise logs what is attached and fails.
rig_xdp_mode_verify() {
	local got
	got=$(rig_xdp_mode_of "$1" "$2")
	case $RIG_XDP_MODE in
	native | skb) [[ $got == "$RIG_XDP_MODE" ]] && return 0 ;;
	*) [[ $got == native || $got == skb ]] && return 0 ;;
	esac
	log "XDP on $2 ($1) runs in mode '$got', not '$RIG_XDP_MODE' as asked (XLB_XDP_MODE)"
	return 1
}

# _rig_lbd_xdp_mode_verify: rig_xdp_mode_verify on every interface lbd attached to.
_rig_lbd_xdp_mode_verify() {
	local f
	for f in "${RIG_LB_IFACES[@]}"; do rig_xdp_mode_verify "$RIG_NS_LB" "$f" || return 1; done
}

# ---- nat reply-tuple reuse (test_nat_port_reuse, test_nat_port_clash) -------

# nat_twin_vips PORT: lbd's VIPs for the reply-tuple tests, in both
# families: VIP:80 -> b1:PORT and VIP:PORT -> b1:PORT (two VIP ports on one
# backend port, so one client port gives both flows one reply tuple).
nat_twin_vips() {
	local port=$1
	mode_vip_setup "$RIG_VIP4:80" tcp nat --port "$port" "$(rig_b4 1)" &&
		mode_vip_setup "$RIG_VIP4:$port" tcp nat "$(rig_b4 1)" &&
		mode_vip_setup "[$RIG_VIP6]:80" tcp nat --port "$port" "$(rig_b6 1)" &&
		mode_vip_setup "[$RIG_VIP6]:$port" tcp nat "$(rig_b6 1)"
}

# client_connect VIP PORT SPORT [client.py connect options...]: one TCP
# connection from the fixed source port SPORT to VIP:PORT, a GET, and a full
# close (both FINs through) before it returns; prints the JSON of
# `client.py connect` and returns its status (0: answered and closed).
client_connect() {
	local vip=$1 port=$2 sport=$3
	shift 3
	in_ns "$RIG_NS_C" python3 "$RIG_TOOLS_DIR/client.py" connect --vip "$vip" --port "$port" --sport "$sport" "$@"
}

# connect_answered_by JSON NAME: that `client_connect` output says the
# connection was answered by backend NAME and closed.
connect_answered_by() {
	json_get - "d['ok'] and d.get('backend') == '$2'" <<<"$1" | grep -qx true
}

# connect_refused_within JSON SECONDS: the connect of that `client_connect`
# output failed with ECONNREFUSED (a RST answered the SYN) within SECONDS.
connect_refused_within() {
	json_get - "d['stage'] == 'connect' and d['errno'] == 'ECONNREFUSED' and d['elapsed_s'] < $2" <<<"$1" |
		grep -qx true
}

# ---- XLB_EMULATE=nft (last: it overrides functions above) -------------------
if [[ "${XLB_EMULATE:-}" == nft ]]; then
	# shellcheck source=emu_nft.sh
	. "$RIG_LIB_DIR/emu_nft.sh"
fi

# ---- xlb-decap --allow (issue 10 section 4) ---------------------------------
#
# rig_decap_allow_args: the --allow arguments decap_attach gives xlb-decap,
# one per line: the load balancer's encapsulation sources in these rigs,
# i.e. lbd's default IPv4 prefix (172.16.0.0/16, ctl/core/config.h) and the
# LB's own addresses (the default IPv6 source, and the /32 sources
# test_mode_mixed configures). RIG_DECAP_ALLOW="P1 P2 ..." replaces them.
# Tunnelled packets from anywhere else are dropped and counted as `denied`.
rig_decap_allow_args() {
	local p prefixes
	if [[ -n "${RIG_DECAP_ALLOW:-}" ]]; then
		read -ra prefixes <<<"$RIG_DECAP_ALLOW"
	else
		prefixes=(172.16.0.0/16 "$RIG_LB4" "$RIG_LB6" "$RIG_LBB4" "$RIG_LBB6")
	fi
	for p in "${prefixes[@]}"; do
		[[ -n "$p" ]] && printf -- '--allow\n%s\n' "$p"
	done
	return 0
}
