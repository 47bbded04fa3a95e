#!/usr/bin/env bash
# Same choice on every node (issue 14), on one node: `lbctl pick` names the
# backend a real connection from a fixed source port lands on (IPv4 and
# IPv6, maglev; src-hash too), and then the flow it created; rr answers
# "depends on state". lbd started without a hash_seed generates one, logs
# it, shows it in status and save, and keeps it, with the ring
# fingerprints, across a restart and an apply without hash_seed.
. "$(dirname "$0")/lib.sh"
rig_init "${1:-}"
rig_create 3

step "lbd without a hash_seed, decap, VIPs"
lbd_start || { fail "lbd starts"; rig_finish; }
check "xlb-decap attaches on every backend" decap_attach_all
vip_setup "$RIG_VIP4:80" tcp "$(rig_b4 1)" "$(rig_b4 2)/2" "$(rig_b4 3)" || rig_finish
vip_setup "[$RIG_VIP6]:80" tcp "$(rig_b6 1)" "$(rig_b6 2)" "$(rig_b6 3)" || rig_finish
lbctl_ok add-vip "$RIG_VIP4:81" --proto tcp --sched rr >/dev/null
lbctl_ok add-backend "$RIG_VIP4:81" --proto tcp "$(rig_b4 1)" >/dev/null
lbctl_ status --json >"$RIG_TMP/status0.json" || fail "lbctl status --json"
seed=$(json_get "$RIG_TMP/status0.json" hash_seed)
echo "  hash_seed $seed; fingerprints $(json_get "$RIG_TMP/status0.json" fingerprints)"
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
check "status shows a hash_seed ($seed)" is_uint "$seed"
check "lbd logged the generated seed" grep -q "hash_seed $seed (generated" "$RIG_LBD_LOG"
check "lbctl save writes it" int_eq "$(lbctl_ save | json_get - hash_seed)" "$seed"
check "status has a 16-hex-digit ring fingerprint per maglev VIP" int_eq "$(json_get "$RIG_TMP/status0.json" \
	"len([f for f in d['fingerprints'] if len(f.get('ring_fingerprint', '')) == 16])")" 2
check "and a backends fingerprint for the rr VIP" int_eq "$(json_get "$RIG_TMP/status0.json" \
	"len([f for f in d['fingerprints'] if 'backends_fingerprint' in f])")" 1
check "lbctl list --json has the same fingerprints" [ "$(lbctl_ list --json | json_get - \
	"sorted(v.get('ring_fingerprint', v.get('backends_fingerprint')) for v in d['vips'])")" = \
	"$(json_get "$RIG_TMP/status0.json" \
		"sorted(v.get('ring_fingerprint', v.get('backends_fingerprint')) for v in d['fingerprints'])")" ]

# pick_matches VIP SRC PORT: a burst of 8 connections from fixed source
# ports, then for each `lbctl pick` must name the backend that answered, as
# the new flow's pick and as the existing flow.
pick_matches() {
	local vip=$1 src=$2 port=$3 out i sport be want picked existing bad=0
	sport_alloc 8
	out=$(client_burst "$vip" 8 --port "$port" --parallel 1 --details --sport-base "$SPORT")
	check "8 of 8 connections to $(hostport "$vip" "$port") answered" burst_all_ok "$out" 8
	for ((i = 0; i < 8; i++)); do
		sport=$((SPORT + i))
		be=$(json_get - "[c['backend'] for c in d['conns'] if c['sport'] == $sport][0]" <<<"$out")
		if [[ "$vip" == *:* ]]; then want=$(rig_b6 "${be#b}"); else want=$(rig_b4 "${be#b}"); fi
		lbctl_ pick "$(hostport "$vip" "$port")" --proto tcp --src "$src" --sport "$sport" --json >"$RIG_TMP/pick.json" ||
			{ fail "lbctl pick $vip $sport"; continue; }
		picked=$(json_get "$RIG_TMP/pick.json" "d['backend']['address']")
		existing=$(json_get "$RIG_TMP/pick.json" "d['existing_flow']['address']")
		if [[ "$picked" != "$want" || "$existing" != "$want" ]]; then
			echo "  source port $sport: answered by $want, pick says $picked, existing flow to $existing"
			bad=$((bad + 1))
		fi
	done
	check "lbctl pick names the backend of all 8 connections to $(hostport "$vip" "$port") (and their flows)" int_eq "$bad" 0
	echo "  by backend: $(json_get - by_backend <<<"$out")"
}

step "lbctl pick against real connections"
pick_matches "$RIG_VIP4" "$RIG_CLIENT4" 80
pick_matches "$RIG_VIP6" "$RIG_CLIENT6" 80
out=$(lbctl_ pick "$RIG_VIP4:81" --src "$RIG_CLIENT4" --sport 1234 --json)
check "rr: depends on state, no backend" [ "$(json_get - "(d['depends_on_state'], d['backend'])" <<<"$out")" = "[true, null]" ]
out=$(lbctl_ pick "$RIG_VIP4:80" --src "$RIG_CLIENT4" --sport 1234)
echo "$out" | sed 's/^/    /'
check "text output names the new flow's backend" grep -q "new flow: 198" <<<"$out"

step "the seed and fingerprints stay: restart, apply without hash_seed"
lbd_kill TERM
lbd_start || { fail "lbd restarts"; rig_finish; }
lbctl_ status --json >"$RIG_TMP/status1.json" || fail "lbctl status --json"
check "same hash_seed after a restart" int_eq "$(json_get "$RIG_TMP/status1.json" hash_seed)" "$seed"
check "same fingerprints after a restart" [ "$(json_get "$RIG_TMP/status1.json" fingerprints)" = \
	"$(json_get "$RIG_TMP/status0.json" fingerprints)" ]
check "the restart logged the seed as kept" grep -q "hash_seed $seed (the running seed, kept)" "$RIG_LBD_LOG"
lbctl_ save | json_get - "{k: v for k, v in d.items() if k != 'hash_seed'}" >"$RIG_TMP/noseed.json"
check "the saved config without hash_seed is what we apply" [ "$(json_get "$RIG_TMP/noseed.json" "'hash_seed' in d")" = false ]
check "lbctl apply of it succeeds" lbctl_ apply --file "$RIG_TMP/noseed.json"
check "apply without hash_seed keeps it" int_eq "$(lbctl_ status --json | json_get - hash_seed)" "$seed"
json_get "$RIG_TMP/noseed.json" "dict(d, hash_seed=4242)" >"$RIG_TMP/seed.json"
check "lbctl apply with hash_seed 4242 succeeds" lbctl_ apply --file "$RIG_TMP/seed.json"
check "an explicit hash_seed wins" int_eq "$(lbctl_ status --json | json_get - hash_seed)" 4242
pick_matches "$RIG_VIP4" "$RIG_CLIENT4" 80

step "lbctl detach"
lbctl_ok detach >/dev/null
check "no pins left" [ -z "$(rig_pins_left)" ]
rig_finish
