#!/usr/bin/env bash
# Health-check steering (bpf/hc.bpf.c, docs/health.md): in the LB's
# namespace a socket with SO_MARK = M connects to VIP:80, and the tc egress
# hook carries it to the backend that xlb_hc_targets[M] names, the way that
# backend's client traffic goes:
#  - ipip (IPv4 and IPv6): encapsulated to the backend's own address;
#    xlb-decap strips it; the backend answers from the VIP on its lo straight
#    to the LB's address; the checker's ordinary socket gets the handshake;
#  - l2dsr: the frame goes to the backend's MAC, unencapsulated;
#  - TCP (handshake and a GET) and UDP (a datagram and its answer).
# The answering server names itself, so each check proves which backend it
# reached. Removing the VIP from a backend's lo makes that backend's check
# fail while its server still listens (a check to its own address would
# pass) and the other backend's check still succeeds. lbd is not started
# until the end: this proves the path, not the checker (test_health does).
# lbd then attaches the same hook itself and takes over its targets.
#
# The LB's route to the VIPs points at a next hop that does not exist
# (a permanent neighbour entry with an unused MAC): only steering can make
# a check succeed, and an unmarked connection must fail.
set -u
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
HC_BIN="$RIG_BUILD/ctl/health/xlb-hc"
[[ -x "$HC_BIN" ]] || skip "$HC_BIN not built"

rig_create 2
decap_attach_all || die "xlb-decap attach failed"

PIN_DIR="$RIG_PIN_ROOT/$RIG_IF_LB"
hc() { nsenter_net "$RIG_NS_LB" "$HC_BIN" "$@"; }
M1=0x1001 M2=0x1002 M1V6=0x2001 M2V6=0x2002 M2L2=0x3002

# check_via MARK ADDR: connects from the LB namespace to ADDR:80 with
# SO_MARK=MARK (0: none), sends one GET and prints the answering backend's
# name ("none" if the connection failed within 3 s). The timeout only bounds
# a failure; success is the server's answer.
check_via() {
	nsenter_net "$RIG_NS_LB" python3 - "$1" "$2" <<'PY'
import socket, sys
mark, addr = int(sys.argv[1], 0), sys.argv[2]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
if mark:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
s.settimeout(3)
try:
    s.connect((addr, 80))
    s.sendall(b"GET /close HTTP/1.1\r\nHost: check\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    print(body.decode().strip() if head.startswith(b"HTTP/1.1 200") else "bad-answer")
except OSError:
    print("none")
PY
}

# udp_via MARK ADDR: one datagram to ADDR:53 with SO_MARK=MARK; prints the
# answering backend's name (backend_server.py echoes "<name> <payload>"),
# "none" without an answer within 3 s.
udp_via() {
	nsenter_net "$RIG_NS_LB" python3 - "$1" "$2" <<'PY'
import socket, sys
mark, addr = int(sys.argv[1], 0), sys.argv[2]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
if mark:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
s.settimeout(3)
try:
    s.connect((addr, 53))
    s.send(b"hc")
    print(s.recv(512).decode().split()[0])
except OSError:
    print("none")
PY
}

step "the LB routes the VIPs to a next hop nobody answers for"
ip -n "$RIG_NS_LB" neigh replace 198.18.0.250 lladdr 02:00:00:00:00:fa dev "$RIG_IF_LB" nud permanent
ip -n "$RIG_NS_LB" -6 neigh replace fd00:18::250 lladdr 02:00:00:00:00:fa dev "$RIG_IF_LB" nud permanent
ip -n "$RIG_NS_LB" route add "$RIG_VIP4/32" via 198.18.0.250 dev "$RIG_IF_LB"
ip -n "$RIG_NS_LB" -6 route add "$RIG_VIP6/128" via fd00:18::250 dev "$RIG_IF_LB"
check "without the hook, a connection to the VIP fails" [ "$(check_via 0 "$RIG_VIP4")" = none ]

step "attach xlb_hc on $RIG_IF_LB egress, maps in $PIN_DIR"
check "attach" hc attach "$RIG_IF_LB" --pin-dir "$PIN_DIR"
check "filter installed" bash -c "tc -n '$RIG_NS_LB' filter show dev '$RIG_IF_LB' egress | grep -q xlb_hc"
check "maps pinned next to lbd's" [ -e "$PIN_DIR/xlb_hc_targets" -a -e "$PIN_DIR/xlb_hc_stats" ]
check "attach again replaces the filter" hc attach "$RIG_IF_LB" --pin-dir "$PIN_DIR"
check "one filter only" int_eq "$(tc -n "$RIG_NS_LB" filter show dev "$RIG_IF_LB" egress | grep -c xlb_hc)" 1

hc set "$M1" --pin-dir "$PIN_DIR" --mode ipip --backend "$(rig_b4 1)" --source "$RIG_LB4" || die "set M1"
hc set "$M2" --pin-dir "$PIN_DIR" --mode ipip --backend "$(rig_b4 2)" --source "$RIG_LB4" || die "set M2"
hc set "$M1V6" --pin-dir "$PIN_DIR" --mode ipip --backend "$(rig_b6 1)" --source "$RIG_LB6" || die "set M1V6"
hc set "$M2V6" --pin-dir "$PIN_DIR" --mode ipip --backend "$(rig_b6 2)" --source "$RIG_LB6" || die "set M2V6"
B2MAC=$(ip -n "$(rig_ns_b 2)" link show dev "$(rig_if_b 2)" | awk '/link\/ether/ {print $2}')
hc set "$M2L2" --pin-dir "$PIN_DIR" --mode l2dsr --mac "$B2MAC" --backend "$(rig_b4 2)" || die "set M2L2"
check "usage errors exit 2" bash -c "'$HC_BIN' set 5 --pin-dir '$PIN_DIR' --mode l2dsr >/dev/null 2>&1; [ \$? = 2 ]"

step "ipip: each mark reaches its backend through the VIP"
check "IPv4 mark M1 -> b1" [ "$(check_via "$M1" "$RIG_VIP4")" = b1 ]
check "IPv4 mark M2 -> b2" [ "$(check_via "$M2" "$RIG_VIP4")" = b2 ]
check "IPv6 mark M1V6 -> b1" [ "$(check_via "$M1V6" "$RIG_VIP6")" = b1 ]
check "IPv6 mark M2V6 -> b2" [ "$(check_via "$M2V6" "$RIG_VIP6")" = b2 ]
check "IPv4 check in an IPv6 tunnel (M2V6) -> b2" [ "$(check_via "$M2V6" "$RIG_VIP4")" = b2 ]
check "UDP check, IPv4 mark M2 -> b2" [ "$(udp_via "$M2" "$RIG_VIP4")" = b2 ]
check "UDP check, IPv6 mark M1V6 -> b1" [ "$(udp_via "$M1V6" "$RIG_VIP6")" = b1 ]
check "a mark without a target is not steered" [ "$(check_via 0x1234 "$RIG_VIP4")" = none ]
check "b2's xlb-decap decapsulated them" int_ge "$(decap_counter 2 decapped)" 3

step "l2dsr: the frame goes to b2's MAC ($B2MAC)"
check "IPv4 mark M2L2 -> b2" [ "$(check_via "$M2L2" "$RIG_VIP4")" = b2 ]
check "IPv6 mark M2L2 -> b2" [ "$(check_via "$M2L2" "$RIG_VIP6")" = b2 ]

step "the VIP leaves b2's lo: b2's checks fail, b1's do not"
ip -n "$(rig_ns_b 2)" addr del "$RIG_VIP4/32" dev lo
ip -n "$(rig_ns_b 2)" addr del "$RIG_VIP6/128" dev lo
check "b2 still serves on its own address" [ "$(check_via 0 "$(rig_b4 2)")" = b2 ]
check "IPv4 ipip check of b2 fails" [ "$(check_via "$M2" "$RIG_VIP4")" = none ]
check "IPv6 ipip check of b2 fails" [ "$(check_via "$M2V6" "$RIG_VIP6")" = none ]
check "UDP check of b2 fails" [ "$(udp_via "$M2" "$RIG_VIP4")" = none ]
check "l2dsr check of b2 fails" [ "$(check_via "$M2L2" "$RIG_VIP4")" = none ]
check "IPv4 check of b1 still passes" [ "$(check_via "$M1" "$RIG_VIP4")" = b1 ]
check "IPv6 check of b1 still passes" [ "$(check_via "$M1V6" "$RIG_VIP6")" = b1 ]
ip -n "$(rig_ns_b 2)" addr add "$RIG_VIP4/32" dev lo
check "VIP back on b2's lo: its check passes again" [ "$(check_via "$M2" "$RIG_VIP4")" = b2 ]

step "lbd on the same interface: it attaches the hook itself and owns the targets"
lbd_start || die "lbd did not start"
check "lbd pins in the hook's pin directory" [ -e "$PIN_DIR/xlb_vips" -a -e "$PIN_DIR/xlb_hc_targets" ]
check "still one xlb_hc filter" int_eq "$(tc -n "$RIG_NS_LB" filter show dev "$RIG_IF_LB" egress | grep -c xlb_hc)" 1
hc list --pin-dir "$PIN_DIR" >"$RIG_TMP/hc_list0.json"
check "lbd cleared the targets it did not write" int_eq "$(json_get "$RIG_TMP/hc_list0.json" "len(d)")" 0
check "so mark M1 is no longer steered" [ "$(check_via "$M1" "$RIG_VIP4")" = none ]
hc set "$M1" --pin-dir "$PIN_DIR" --mode ipip --backend "$(rig_b4 1)" --source "$RIG_LB4" || die "set M1"
hc set "$M2" --pin-dir "$PIN_DIR" --mode ipip --backend "$(rig_b4 2)" --source "$RIG_LB4" || die "set M2"
vip_setup "$RIG_VIP4:80" tcp "$(rig_b4 1)" "$(rig_b4 2)" || die "vip_setup"
sport_alloc 20
client_burst "$RIG_VIP4" 20 --sport-base "$SPORT" >"$RIG_TMP/burst.json"
check "20 client connections through lbd answered" [ "$(json_get "$RIG_TMP/burst.json" ok)" = 20 ]
check "check M1 -> b1 with lbd's XDP program on the interface" [ "$(check_via "$M1" "$RIG_VIP4")" = b1 ]
check "check M2 -> b2 with lbd's XDP program on the interface" [ "$(check_via "$M2" "$RIG_VIP4")" = b2 ]

step "counters and targets"
hc stats --pin-dir "$PIN_DIR" >"$RIG_TMP/hc_stats.json"
hc list --pin-dir "$PIN_DIR" >"$RIG_TMP/hc_list.json"
check "ipip4 counted" int_ge "$(json_get "$RIG_TMP/hc_stats.json" "d['ipip4']['packets']")" 1
check "ipip6 counted" int_ge "$(json_get "$RIG_TMP/hc_stats.json" "d['ipip6']['packets']")" 1
check "l2dsr counted" int_ge "$(json_get "$RIG_TMP/hc_stats.json" "d['l2dsr']['packets']")" 1
check "nothing dropped inside the hook" int_eq "$(json_get "$RIG_TMP/hc_stats.json" \
	"d['drop_unsupported']['packets'] + d['drop_mtu']['packets'] + d['drop_internal']['packets']")" 0
check "two targets listed" int_eq "$(json_get "$RIG_TMP/hc_list.json" "len(d)")" 2
check "M2 listed as ipip to b2" [ "$(json_get "$RIG_TMP/hc_list.json" "d['$((M2))']['backend']")" = "$(rig_b4 2)" ]
check "del M2" hc del "$M2" --pin-dir "$PIN_DIR"
check "deleted mark is no longer steered" [ "$(check_via "$M2" "$RIG_VIP4")" = none ]

step "detach"
check "detach" hc detach "$RIG_IF_LB" --pin-dir "$PIN_DIR"
check "filter gone" bash -c "! tc -n '$RIG_NS_LB' filter show dev '$RIG_IF_LB' egress | grep -q xlb_hc"
check "pins gone" bash -c "[ ! -e '$PIN_DIR/xlb_hc_targets' ] && [ ! -e '$PIN_DIR/xlb_hc_stats' ]"
check "unsteered again" [ "$(check_via "$M1" "$RIG_VIP4")" = none ]

rig_finish
