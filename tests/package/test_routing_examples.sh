#!/usr/bin/env bash
# The routing daemons' example configurations for announcing VIPs
# (scripts/packaging/examples, docs/operations.md "Several load balancers")
# parse: BIRD's with `bird -p` (skipped where bird2 is not installed), and a
# broken copy is refused, so the check means something. The BIRD example
# learns table 100 and filters on krt_source 120, the contract lbd writes to
# (ctl/announce/route_table.h). FRR's parses with `vtysh --dryrun` where
# FRR is installed (scripts/install-deps.sh does not install it).
. "$(dirname "$0")/lib.sh" "$1"
EX="$SRC/scripts/packaging/examples"

step "BIRD"
if command -v bird >/dev/null 2>&1; then
	out=$(bird -p -c "$EX/bird-xlb.conf" 2>&1)
	check "bird -p parses bird-xlb.conf${out:+: $out}" [ $? -eq 0 ]
	sed 's/krt_source != 120/krt_sauce != 120/' "$EX/bird-xlb.conf" >"$TMP/broken.conf"
	check "bird -p refuses a broken copy" bash -c '! bird -p -c "$1" >/dev/null 2>&1' _ "$TMP/broken.conf"
else
	echo "  (bird not installed: scripts/install-deps.sh installs bird2; parse check skipped)"
fi
check "BIRD learns kernel table 100" grep -q '^  kernel table 100;' "$EX/bird-xlb.conf"
check "BIRD takes only krt_source 120" grep -q 'krt_source != 120' "$EX/bird-xlb.conf"

step "FRR"
if command -v vtysh >/dev/null 2>&1; then
	out=$(vtysh --dryrun --inputfile "$EX/frr-xlb.conf" 2>&1)
	check "vtysh --dryrun parses frr-xlb.conf${out:+: $out}" [ $? -eq 0 ]
	sed 's/redistribute table 100/redistribute tabel 100/' "$EX/frr-xlb.conf" >"$TMP/broken-frr.conf"
	check "vtysh --dryrun refuses a broken copy" bash -c '! vtysh --dryrun --inputfile "$1" >/dev/null 2>&1' _ \
		"$TMP/broken-frr.conf"
else
	echo "  (frr not installed: parse check skipped)"
fi
check "zebra imports table 100" grep -q '^ip import-table 100$' "$EX/frr-xlb.conf"
check "bgpd redistributes table 100" grep -q 'redistribute table 100' "$EX/frr-xlb.conf"

step "rt_protos"
check "120 is named xlb" grep -qP '^120\txlb$' "$EX/rt_protos-xlb.conf"
check "the protocol number in the code is 120" grep -q 'constexpr uint8_t kProto = 120;' "$SRC/ctl/announce/route_table.h"

finish
