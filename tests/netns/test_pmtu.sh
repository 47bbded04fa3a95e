#!/usr/bin/env bash
# Path MTU discovery through the LB, both ways (l2dsr rig: client ==veth==
# R --switch-- LB, one backend on the switch; every interface 1500 or more).
#
# Two paths are made smaller than the interfaces with locked route MTUs:
#  - R's route to the client: 1400. This is the "small link between client
#    and LB": the backend's 1500-byte reply segments (the client's MSS is
#    1460) do not fit, and R sends "fragmentation needed" / "packet too big"
#    to their source, the VIP, which routes to the LB. The LB must forward
#    that error to the flow's backend (lb item "ICMP errors about DSR
#    replies"): otherwise the backend never learns, retransmits full-size
#    segments forever, and the download of 2 MB stalls.
#  - The LB's route to the backend: 1300. The client's upload segments (1400
#    bytes: the backend, having learnt 1400 from the download, advertises
#    MSS 1360) do not fit the LB's path; the LB must answer the client with
#    the ICMP error itself (from the VIP, XDP_TX), or the 2 MB upload stalls.
#    The download runs first and the LB's path is the smaller one so that
#    neither transfer's lesson spares the other its error.
#    (In ipip mode the same happens to every 1500-byte packet with the outer
#    header; the packet tests check the ipip MTU arithmetic.)
# Checks, IPv4 and IPv6: the download and the upload complete with every
# byte, within 20 s each; lbd counted the errors it forwarded (dsr_icmp)
# and sent (icmp_frag_needed, icmp_pkt_too_big). Fixed source ports.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create_l2 1
SIZE=2000000

step "lbd; l2dsr VIPs tcp :80 of both families on b1; locked MTUs R->client 1400, LB->b1 1300"
lbd_start || { fail "lbd starts"; rig_finish; }
mode_vip_setup "$RIG_VIP4:80" tcp l2dsr "$(rig_b4 1)" || rig_finish
mode_vip_setup "[$RIG_VIP6]:80" tcp l2dsr "$(rig_b6 1)" || rig_finish
ip -n "$RIG_NS_R" route add "$RIG_CLIENT4/32" dev "$RIG_IF_RC" mtu lock 1400 || fail "R: route to the client"
ip -n "$RIG_NS_R" -6 route add "$RIG_CLIENT6/128" dev "$RIG_IF_RC" mtu lock 1400 || fail "R: route6 to the client"
ip -n "$RIG_NS_LB" route add "$(rig_b4 1)/32" dev "$RIG_IF_LB" mtu lock 1300 || fail "LB: route to b1"
ip -n "$RIG_NS_LB" -6 route add "$(rig_b6 1)/128" dev "$RIG_IF_LB" mtu lock 1300 || fail "LB: route6 to b1"
# GRO on R's switch port would merge the client's upload segments into
# one large skb on its way to the LB's veth, where an XDP program without
# multi-buffer support cannot take it (veth drops it). Real NICs hand XDP
# one frame at a time: the rig must too for a bulk upload.
in_ns "$RIG_NS_SW" ethtool -K "sr$RIG_S" gro off >/dev/null || fail "GRO off on sr$RIG_S"
lbd_real && { lb_stats "$RIG_TMP/s0.json" || fail "lbctl stats --json"; }

# bulk VIP SPORT get|post: one HTTP request of SIZE bytes either way from
# the client's fixed port SPORT; prints the bytes the other side got, or
# the error. 20 s at most: a stalled transfer is the failure sought.
bulk() {
	in_ns "$RIG_NS_C" python3 - "$1" "$2" "$3" "$SIZE" <<'EOF'
import socket, sys
vip, sport, op, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
fam = socket.AF_INET6 if ":" in vip else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.settimeout(20)
try:
    s.bind(("", sport))
    s.connect((vip, 80))
    if op == "get":
        s.sendall(f"GET /bytes/{size} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    else:
        s.sendall(f"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {size}\r\n\r\n".encode())
        s.sendall(b"u" * size)
    data = b""
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    print(len(body) if op == "get" else body.decode().strip())
except OSError as e:
    print(f"error: {e}")
EOF
}

sport_alloc 4
p=$SPORT
for vip in "$RIG_VIP4" "$RIG_VIP6"; do
	step "$vip: a $SIZE-byte download (R: 1400) and upload (LB: 1300)"
	got=$(bulk "$vip" $p get)
	check "download from $vip: $got of $SIZE bytes" int_eq "$got" "$SIZE"
	got=$(bulk "$vip" $((p + 1)) post)
	check "upload to $vip: the backend got $got of $SIZE bytes" int_eq "$got" "$SIZE"
	p=$((p + 2))
done

if lbd_real; then
	step "lbd's view: errors forwarded to the backend and sent to the client"
	lb_stats "$RIG_TMP/s1.json" || fail "lbctl stats --json"
	D="$RIG_TMP/delta.json"
	lb_stats_delta "$RIG_TMP/s0.json" "$RIG_TMP/s1.json" >"$D" || fail "stats delta"
	echo "  LB counters moved: $(json_get "$D" "{k: v for k, v in d['global'].items() if v}")"
	for k in dsr_icmp icmp_frag_needed icmp_pkt_too_big drop_mtu; do
		eval "$k=\$(json_get \"\$D\" \"d['global']['$k']\")"
	done
	check "R's errors about the backend's replies went to b1 (dsr_icmp $dsr_icmp >= 2)" int_ge "$dsr_icmp" 2
	check "the LB told the IPv4 client (icmp_frag_needed $icmp_frag_needed >= 1)" int_ge "$icmp_frag_needed" 1
	check "the LB told the IPv6 client (icmp_pkt_too_big $icmp_pkt_too_big >= 1)" int_ge "$icmp_pkt_too_big" 1
	check "nothing was dropped for its size (drop_mtu $drop_mtu)" int_eq "$drop_mtu" 0
fi
rig_finish
