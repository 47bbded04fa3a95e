# shellcheck shell=bash
# tests/netns/emu_nft.sh: XLB_EMULATE=nft, sourced by lib.sh (never directly).
#
# Replaces the load balancer of the mode rigs with the LB namespace's own
# kernel, so the rigs, the traffic tools and the mode test scripts can be
# validated before xlb's nat/fullnat/l2dsr modes exist:
#   nat      nftables DNAT in prerouting (numgen inc over the weights: a
#            weighted rotation), conntrack undoes it on the replies
#   fullnat  the same DNAT plus SNAT to the config's fullnat source and port
#            range in postrouting (conntrack drops a flow it cannot find a
#            free source port for, as xlb's drop_nat_ports does)
#   l2dsr    an ECMP route per VIP address via the backends (L4 multipath
#            hash): the kernel forwards the unchanged packet to a backend's
#            MAC, which is what l2dsr does
#   ipip     not emulated (no ipip module here): mode_add_vip refuses it
# Config timeouts become conntrack timeouts. lbd is not started; lbctl_
# fails; lbd_real is false, so tests skip the checks of lbd's own view.
# None of this is a test of anything but the rigs and the scripts.

lbd_real() { false; }

EMU_STATE=

_emu_state() {
	[[ -n "$EMU_STATE" ]] || { EMU_STATE="$RIG_TMP/emu-state.json"; echo '{"vips": []}' >"$EMU_STATE"; }
	python3 -c "$_RIG_CFG_PY" "$EMU_STATE" "$@" || die "emulation state: $*"
}

lbd_start() {
	log "XLB_EMULATE=nft: no lbd; the LB namespace's kernel forwards (nftables NAT, ECMP routes)"
	[[ -n "$EMU_STATE" ]] || { EMU_STATE="$RIG_TMP/emu-state.json"; echo '{"vips": []}' >"$EMU_STATE"; }
	_rig_sysctl "$RIG_NS_LB" net.ipv4.fib_multipath_hash_policy=1 net.ipv6.fib_multipath_hash_policy=1
	local a
	for a in "$@"; do
		[[ "$a" == --config ]] && die "XLB_EMULATE=nft: use cfg_apply, not lbd --config"
	done
	_emu_render
}
lbd_kill() { :; }
lbctl_() {
	echo "XLB_EMULATE=nft: no lbctl ($*)" >&2
	return 1
}

mode_add_vip() {
	local vip=$1 proto=$2 mode=$3 sched=
	shift 3
	[[ "$mode" == ipip ]] && die "XLB_EMULATE=nft cannot emulate ipip VIPs"
	while (($#)); do
		case $1 in
		--sched) sched=$2; shift 2 ;;
		*) shift ;;
		esac
	done
	_emu_state vip "$vip" "$proto" "$mode" ${sched:+"$sched"}
	_emu_render
}

mode_add_backend() {
	local vip=$1 proto=$2 addr=$3 port=- weight=1
	shift 3
	while (($#)); do
		case $1 in
		--port) port=$2; shift 2 ;;
		--weight) weight=$2; shift 2 ;;
		*) die "emulated mode_add_backend: unknown option $1" ;;
		esac
	done
	_emu_state backend "$vip" "$proto" "$addr" "$port" "$weight"
	_emu_render
}

cfg_apply() {
	[[ -n "$RIG_CFG" ]] || cfg_new
	EMU_STATE="$RIG_TMP/emu-state.json"
	cp "$RIG_CFG" "$EMU_STATE"
	_emu_render
}

# _emu_render: the state as an nftables ruleset, ECMP routes and conntrack
# timeouts in the LB namespace.
_emu_render() {
	local out="$RIG_TMP/emu" line
	mkdir -p "$out"
	python3 -c "$_EMU_RENDER_PY" "$EMU_STATE" "$RIG_IF_LBB" "$out" || die "emulation: cannot render"
	in_ns "$RIG_NS_LB" nft -f "$out/ruleset.nft" || die "emulation: nft -f failed: $(cat "$out/ruleset.nft")"
	# Routes: remove the previous ones, then add the current ones.
	if [[ -s "$out/routes.old" ]]; then
		while read -r line; do
			# shellcheck disable=SC2086
			ip -n "$RIG_NS_LB" $line 2>/dev/null
		done <"$out/routes.old"
	fi
	: >"$out/routes.old"
	while read -r line; do
		[[ -n "$line" ]] || continue
		# shellcheck disable=SC2086
		ip -n "$RIG_NS_LB" $line || die "emulation: ip $line failed"
	done <"$out/routes.add"
	cp "$out/routes.del" "$out/routes.old"
	if [[ -s "$out/sysctls" ]]; then
		# shellcheck disable=SC2046
		_rig_sysctl "$RIG_NS_LB" $(cat "$out/sysctls") || die "emulation: conntrack sysctls"
	fi
}

_EMU_RENDER_PY=$(cat <<'EOF'
import ipaddress, json, os, sys
state, lbb, out = sys.argv[1], sys.argv[2], sys.argv[3]
d = json.load(open(state))

def split_vip(v):
    if v.startswith("["):
        a, _, p = v[1:].partition("]:")
    else:
        a, _, p = v.rpartition(":")
    return ipaddress.ip_address(a), int(p)

pre, post, routes_add, routes_del = [], [], [], []
l2 = {}  # VIP address -> {backend address: weight}
fn = d.get("fullnat") or {}
for v in d.get("vips", []):
    addr, port = split_vip(v["vip"])
    fam = "ip" if addr.version == 4 else "ip6"
    proto = v["proto"]
    mode = v.get("mode", "ipip")
    bes = [(ipaddress.ip_address(b["address"]), int(b.get("port") or port), int(b.get("weight", 1)))
           for b in v.get("backends", [])]
    bes = [b for b in bes if b[2] > 0]
    if mode == "ipip":
        sys.exit("XLB_EMULATE=nft cannot emulate ipip VIPs")
    if mode == "l2dsr":
        for a, _, w in bes:
            l2.setdefault(addr, {})[a] = w
        l2.setdefault(addr, {})
        continue
    if mode not in ("nat", "fullnat"):
        sys.exit(f"unknown mode {mode}")
    if not bes:
        continue
    def tgt(a, p):
        return f"{a}:{p}" if a.version == 4 else f"[{a}]:{p}"
    if len(bes) == 1:
        to = tgt(bes[0][0], bes[0][1])
    else:
        total, items, k = sum(w for *_, w in bes), [], 0
        for a, p, w in bes:
            items.append((f"{k}" if w == 1 else f"{k}-{k + w - 1}") + f" : {a} . {p}")
            k += w
        to = f"numgen inc mod {total} map {{ {', '.join(items)} }}"
    pre.append(f"{fam} daddr {addr} {proto} dport {port} dnat {fam} to {to}")
    if mode == "fullnat":
        src = fn.get("source_v4" if addr.version == 4 else "source_v6")
        if src and "port_min" in fn and "port_max" in fn:
            s = str(ipaddress.ip_address(src))
            s = s if addr.version == 4 else f"[{s}]"
            post.append(f"meta l4proto {proto} ct original {fam} daddr {addr} ct original proto-dst {port} "
                        f"snat {fam} to {s}:{fn['port_min']}-{fn['port_max']}")
for addr, bes in l2.items():
    fam = "-4" if addr.version == 4 else "-6"
    plen = 32 if addr.version == 4 else 128
    if not bes:
        continue
    if len(bes) == 1:
        (a, w), = bes.items()
        nh = f"via {a} dev {lbb}"
    else:
        nh = " ".join(f"nexthop via {a} dev {lbb} weight {w}" for a, w in bes.items())
    routes_add.append(f"{fam} route replace {addr}/{plen} {nh}")
    routes_del.append(f"{fam} route del {addr}/{plen}")
with open(os.path.join(out, "ruleset.nft"), "w") as f:
    f.write("flush ruleset\ntable inet xlbemu {\n")
    f.write("  chain pre {\n    type nat hook prerouting priority dstnat; policy accept;\n")
    for r in pre:
        f.write(f"    {r}\n")
    f.write("  }\n  chain post {\n    type nat hook postrouting priority srcnat; policy accept;\n")
    for r in post:
        f.write(f"    {r}\n")
    f.write("  }\n}\n")
open(os.path.join(out, "routes.add"), "w").write("\n".join(routes_add) + "\n")
open(os.path.join(out, "routes.del"), "w").write("\n".join(routes_del) + "\n")
t = d.get("timeouts", {})
ct = "net.netfilter.nf_conntrack_"
sysctls = []
if "tcp_closing" in t:
    sysctls += [f"{ct}tcp_timeout_{k}={t['tcp_closing']}" for k in ("fin_wait", "close_wait", "last_ack", "time_wait", "close")]
if "tcp_established" in t:
    sysctls.append(f"{ct}tcp_timeout_established={t['tcp_established']}")
if "tcp_half_open" in t:
    sysctls += [f"{ct}tcp_timeout_{k}={t['tcp_half_open']}" for k in ("syn_sent", "syn_recv")]
if "udp" in t:
    sysctls += [f"{ct}udp_timeout={t['udp']}", f"{ct}udp_timeout_stream={t['udp']}"]
open(os.path.join(out, "sysctls"), "w").write(" ".join(sysctls))
EOF
)
