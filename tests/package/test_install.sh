#!/usr/bin/env bash
# `cmake --install` into a scratch prefix (not /usr, so the units and
# examples take the prefix's own etc/ and lib/systemd/system, as for
# /usr/local): lbd, lbctl, xlb-decap and xlb-hc, the units with paths into
# that prefix, the examples, man pages and bash completion; the installed
# commands run; `systemd-analyze verify` passes on the installed units (their
# ExecStart binaries exist there); the completion completes lbctl's
# subcommands and options from the installed lbctl.
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed"
[[ -x "$BUILD/ctl/lbd/lbd" ]] || skip "not built"

step "cmake --install --prefix $TMP/prefix"
P="$TMP/prefix"
cmake --install "$BUILD" --prefix "$P" >"$TMP/install.log" 2>&1
check "cmake --install succeeded" [ $? -eq 0 ]
find "$P" -type f | sed "s|^$P/||" | sort
for b in lbd lbctl xlb-decap xlb-hc; do
	check "sbin/$b" [ -x "$P/sbin/$b" ]
done
for f in lib/systemd/system/lbd@.service lib/systemd/system/xlb-decap@.service etc/xlb/example.json \
	etc/xlb/lbd.env.example etc/xlb/decap.env.example share/man/man8/lbd.8.gz share/man/man8/lbctl.8.gz \
	share/man/man8/xlb-decap.8.gz share/bash-completion/completions/lbctl share/doc/xlb/operations.md \
	share/doc/xlb/examples/bird-xlb.conf share/doc/xlb/examples/frr-xlb.conf; do
	check "$f" [ -f "$P/$f" ]
done
check "no BPF object installed (the binaries embed theirs)" [ -z "$(find "$P" -name '*.bpf.o')" ]
U="$P/lib/systemd/system"
check "lbd@ runs the installed lbd and reads the prefix's etc/xlb" \
	grep -q "c=$P/etc/xlb/.*exec $P/sbin/lbd " "$U/lbd@.service"
check "xlb-decap@ runs the installed xlb-decap, reads the prefix's etc/xlb" \
	sh -c "grep -q '^ExecStart=$P/sbin/xlb-decap attach %I' '$U/xlb-decap@.service' &&
	       grep -q '^EnvironmentFile=$P/etc/xlb/decap-%I.env' '$U/xlb-decap@.service'"
for b in lbd lbctl xlb-decap; do
	check "$b --help runs from the prefix" runs_help "$P/sbin/$b"
done

step "lbd@'s ExecStart, run as systemd would (lbd replaced by echo)"
# systemd turns \$\$ into \$, %I into the instance and splits \$LBD_OPTS into
# words; bash's eval over the line does the same for this line's quoting.
exec_start() { # IFACE LBD_OPTS: the arguments lbd would get
	local line
	line=$(sed -n 's/^ExecStart=//p' "$U/lbd@.service")
	line=${line//"$P/sbin/lbd"/echo}
	line=${line//%I/$1}
	line=${line//\$\$/\$}
	LBD_OPTS=$2 eval "$line"
}
args=$(exec_start eth0 "--xdp-mode skb --iface eth1")
echo "without eth0.json: $args"
check "no config file: no --config" [ "$args" = "--iface eth0 --state-dir /var/lib/xlb --socket /run/xlb/eth0.sock --xdp-mode skb --iface eth1" ]
echo '{}' >"$P/etc/xlb/eth0.json"
args=$(exec_start eth0 "")
echo "with eth0.json: $args"
check "eth0.json present: --config it" [ "$args" = "--iface eth0 --state-dir /var/lib/xlb --socket /run/xlb/eth0.sock --config $P/etc/xlb/eth0.json" ]
rm "$P/etc/xlb/eth0.json"

step "systemd-analyze verify"
# An instance of each template, verified from a directory of its own
# (systemd-analyze finds the template next to the instance's name).
mkdir -p "$TMP/units"
cp "$U/lbd@.service" "$U/xlb-decap@.service" "$TMP/units/"
for u in lbd@eth0.service xlb-decap@eth0.service; do
	out=$(cd "$TMP/units" && MANPATH="$P/share/man" systemd-analyze verify --man=yes "$TMP/units/$u" 2>&1)
	echo "$u: ${out:-(no findings)}"
	check "systemd-analyze verify $u: no findings (man pages found too)" [ -z "$out" ]
done
echo "(systemd-analyze security, for the record:)"
systemd-analyze security --offline=yes "$TMP/units/lbd@eth0.service" 2>&1 | tail -1

step "bash completion"
if [[ -r /usr/share/bash-completion/bash_completion ]]; then
	complete_words() { # WORDS...: what completing the last word offers
		PATH="$P/sbin:$PATH" bash -c '
			. /usr/share/bash-completion/bash_completion
			. "$0"
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
			_xlb_complete; echo "${COMPREPLY[*]}"' "$P/share/bash-completion/completions/lbctl" "$@"
	}
	check "lbctl add-<TAB>: add-vip add-backend" [ "$(complete_words lbctl add-)" = "add-vip add-backend" ]
	check "lbctl add-backend --pr<TAB>: --proto" [ "$(complete_words lbctl add-backend --pr)" = "--proto" ]
	check "lbctl add-backend --proto <TAB>: tcp udp" [ "$(complete_words lbctl add-backend --proto '')" = "tcp udp" ]
	check "lbd --xdp-mode <TAB>: native skb auto" [ "$(complete_words lbd --xdp-mode '')" = "native skb auto" ]
	check "xlb-decap a<TAB>: attach" [ "$(complete_words xlb-decap a)" = "attach" ]
	check "xlb-decap attach <TAB>: interfaces (lo)" grep -qw lo <<<"$(complete_words xlb-decap attach '')"
else
	echo "NOTE: bash-completion not installed: completion not exercised"
fi
finish
