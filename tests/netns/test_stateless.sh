#!/usr/bin/env bash
# A stateless VIP (issue 15; `lbctl add-vip --stateless`, Katran's
# F_LRU_BYPASS): real TCP through the real lbd/xlb_lb/xlb-decap, every packet
# by the ring, no flow entry.
#  1. add-vip --stateless: 60 connections answered and spread by the ring,
#     no flow entry for the VIP, every packet counted as `stateless`;
#     `lbctl list` and `list --json` say so; status --verify agrees;
#  2. refused where it can't hold: least-conn, nat;
#  3. turned off by `lbctl apply` (in place): the VIP's new connections get
#     entries again; on again: none;
#  4. a restarted lbd keeps the VIP stateless.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 2
VIP="$RIG_VIP4:80"
N=60

vip_flows() { lbctl_ flows --vip "$VIP" --proto tcp --json | json_get - total; }
stateless_pk() { lbctl_ stats --json | json_get - "d['global']['stateless']['packets']"; }

step "1. a stateless VIP"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
lbctl_ok add-vip "$VIP" --proto tcp --stateless >/dev/null || fail "add-vip --stateless"
for b in "$(rig_b4 1)" "$(rig_b4 2)"; do lbctl_ok add-backend "$VIP" --proto tcp "$b" >/dev/null; done
check "lbctl list says stateless" eval 'lbctl_ list | grep -q "$RIG_VIP4:80/tcp.*stateless"'
check "list --json: stateless true" [ "$(lbctl_ list --json | json_get - "d['vips'][0]['stateless']")" = true ]
sport_alloc $N
client_burst "$RIG_VIP4" $N --parallel 10 --sport-base "$SPORT" >"$RIG_TMP/burst.json"
check "$N of $N connections answered" int_eq "$(json_get "$RIG_TMP/burst.json" ok)" $N
# Fixed source ports: the ring puts the same connections on each backend on
# every run, and 60 of them all on one backend would need a broken ring.
for i in 1 2; do
	check "b$i answered some of them" float_between "$(backend_share "$RIG_TMP/burst.json" b$i)" 1 99
done
check "no flow entry for the VIP" int_eq "$(vip_flows)" 0
check "its packets counted as stateless (>= 3 a connection)" int_ge "$(stateless_pk)" $((3 * N))
check "lbctl status --verify: model and maps agree" lbctl_quiet status --verify

step "2. refused where it can't hold"
check "least-conn is refused" eval '! lbctl_ add-vip "$RIG_VIP4:81" --proto tcp --sched least-conn --stateless 2>/dev/null'
check "nat is refused" eval '! lbctl_ add-vip "$RIG_VIP4:82" --proto tcp --mode nat --stateless 2>/dev/null'
check "nothing was added" int_eq "$(lbctl_ list --json | json_get - "len(d['vips'])")" 1

step "3. off and on again by apply"
lbctl_ save >"$RIG_TMP/cfg.json" || fail "lbctl save"
python3 - "$RIG_TMP/cfg.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["vips"][0]["stateless"] = False; json.dump(c, open(sys.argv[1], "w"))
PY
lbctl_ok apply -f "$RIG_TMP/cfg.json" >/dev/null || fail "apply stateless: false"
client_burst "$RIG_VIP4" 10 --parallel 5 --sport-base "$((SPORT + N))" >"$RIG_TMP/burst2.json"
check "10 of 10 answered, stateful" int_eq "$(json_get "$RIG_TMP/burst2.json" ok)" 10
check "the VIP's new connections have entries" int_ge "$(vip_flows)" 10
python3 - "$RIG_TMP/cfg.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["vips"][0]["stateless"] = True; json.dump(c, open(sys.argv[1], "w"))
PY
lbctl_ok apply -f "$RIG_TMP/cfg.json" >/dev/null || fail "apply stateless: true"
before=$(stateless_pk)
client_burst "$RIG_VIP4" 10 --parallel 5 --sport-base "$((SPORT + N + 10))" >"$RIG_TMP/burst3.json"
check "10 of 10 answered, stateless again" int_eq "$(json_get "$RIG_TMP/burst3.json" ok)" 10
check "counted as stateless" int_ge "$(($(stateless_pk) - before))" 30

step "4. a restarted lbd keeps it"
lbd_kill TERM
lbd_start || { fail "lbd starts again"; rig_finish; }
check "list --json: still stateless" [ "$(lbctl_ list --json | json_get - "d['vips'][0]['stateless']")" = true ]
check "lbctl status --verify after the restart" lbctl_quiet status --verify
rig_finish
