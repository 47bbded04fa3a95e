#!/usr/bin/env bash
# 1,024 VIPs (the maximum) with a 128-descriptor limit (issue 11): lbd used
# to hold one fd per VIP ring, so with 1,024 VIPs and a 1,024-fd limit it
# could not start (a crash loop under Restart=always). Now it holds none:
# lbd is restarted under `prlimit --nofile=128:128`, recovers every VIP,
# agrees with the maps, serves traffic and still takes changes.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 2
N=1024

lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
CFG=$RIG_TMP/many.json
python3 - "$CFG" "$N" "$RIG_VIP4" "$(rig_b4 1)" "$(rig_b4 2)" <<'EOF'
import json, sys
path, n, vip, b1, b2 = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
vips = [{"vip": vip + ":80", "proto": "tcp", "ring_size": 251,
         "backends": [{"address": b1}, {"address": b2}]}]
for i in range(1, n):
    vips.append({"vip": "198.18.%d.%d:80" % (110 + i // 250, 1 + i % 250), "proto": "tcp", "ring_size": 13,
                 "backends": [{"address": b1}]})
json.dump({"vips": vips}, open(path, "w"))
EOF
check "a config of $N VIPs applies" lbctl_quiet --timeout 120 apply -f "$CFG"
fds=$(ls "/proc/$RIG_LBD_PID/fd" | wc -l)
check "lbd holds no fd per VIP ring ($fds open with $N VIPs)" int_between "$fds" 1 100

step "restart with at most 128 descriptors"
lbd_kill
RIG_SETSID="prlimit --nofile=128:128" lbd_start || { fail "lbd starts with 128 fds and $N VIPs"; rig_finish; }
check "lbd runs under the 128-fd limit" grep -q '^Max open files *128 *128' "/proc/$RIG_LBD_PID/limits"
vips=$(lbctl_ list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["vips"]))')
check "it recovered all $N VIPs ($vips)" int_eq "$vips" "$N"
check "lbd and the maps agree" lbctl_quiet --timeout 60 status --verify
client_burst "$RIG_VIP4" 40 >"$RIG_TMP/burst.json"
check "40 of 40 connections answered" [ "$(json_get "$RIG_TMP/burst.json" ok)" = 40 ]
check "it takes a change" lbctl_quiet add-backend 198.18.110.2:80 --proto tcp "$(rig_b4 2)"
check "and still agrees with the maps" lbctl_quiet --timeout 60 status --verify
rig_finish
