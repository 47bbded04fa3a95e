#!/usr/bin/env bash
# The .deb (cmake/Package.cmake): cpack builds it from the build tree;
# lintian finds no errors (the warnings accepted are listed in
# docs/testing.md, "Package"); its control data names the right
# dependencies, maintainer and conffiles; unpacked into a scratch root
# (dpkg -x: no root needed, the host is untouched) it holds the binaries, the
# units, the man pages, the bash completion and the examples, and lbd,
# lbctl and xlb-decap answer --help from there. The units in it pass
# `systemd-analyze verify` against the scratch root.
. "$(dirname "$0")/lib.sh"
for tool in cpack dpkg-deb lintian systemd-analyze; do
	command -v "$tool" >/dev/null || skip "$tool not installed (scripts/install-deps.sh)"
done
[[ -x "$BUILD/ctl/lbd/lbd" ]] || skip "not built"

step "cpack"
(cd "$TMP" && cpack -G DEB -B "$TMP/out" --config "$BUILD/CPackConfig.cmake") >"$TMP/cpack.log" 2>&1
check "cpack succeeded" [ $? -eq 0 ]
DEB=$(ls "$TMP"/out/xlb_*.deb 2>/dev/null | head -1)
[[ -n "$DEB" ]] || { cat "$TMP/cpack.log"; echo "FAIL $NAME: no .deb"; exit 1; }
echo "$DEB"
dpkg-deb --info "$DEB"

step "control data"
field() { dpkg-deb --field "$DEB" "$1"; }
depends=$(field Depends)
for lib in libbpf1 libxdp1 libmnl0 libssl3 libsystemd0 libc6 libstdc++6; do
	check "Depends has $lib" grep -q "\b$lib\b" <<<"$depends"
done
check "Maintainer is set" grep -q '<.*@.*>' <<<"$(field Maintainer)"
check "Section net" [ "$(field Section)" = net ]
check "Description has a synopsis and a body" [ "$(field Description | wc -l)" -gt 2 ]
dpkg-deb --ctrl-tarfile "$DEB" | tar -x -C "$TMP" ./conffiles
check "conffiles: the examples in /etc/xlb" \
	[ "$(sort "$TMP/conffiles" | tr '\n' ' ')" = "/etc/xlb/decap.env.example /etc/xlb/example.json /etc/xlb/lbd.env.example " ]

step "lintian"
lintian --tag-display-limit 0 "$DEB" >"$TMP/lintian.txt" 2>&1
cat "$TMP/lintian.txt"
check "lintian: no errors" [ "$(grep -c '^E: ' "$TMP/lintian.txt")" = 0 ]

step "unpacked into a scratch root"
ROOT="$TMP/root"
dpkg-deb -x "$DEB" "$ROOT"
for f in usr/sbin/lbd usr/sbin/lbctl usr/sbin/xlb-decap usr/sbin/xlb-hc; do
	check "$f" [ -x "$ROOT/$f" ]
done
for f in lib/systemd/system/lbd@.service lib/systemd/system/xlb-decap@.service \
	etc/xlb/example.json etc/xlb/lbd.env.example etc/xlb/decap.env.example \
	usr/share/man/man8/lbd.8.gz usr/share/man/man8/lbctl.8.gz usr/share/man/man8/xlb-decap.8.gz \
	usr/share/man/man8/xlb-hc.8.gz usr/share/bash-completion/completions/lbctl \
	usr/share/bash-completion/completions/lbd usr/share/bash-completion/completions/xlb-decap \
	usr/share/doc/xlb/copyright usr/share/doc/xlb/changelog.gz; do
	check "$f" [ -f "$ROOT/$f" ]
done
check "no BPF object is shipped (the binaries embed theirs)" [ -z "$(find "$ROOT" -name '*.bpf.o')" ]
check "the units run /usr/sbin/lbd and read /etc/xlb" \
	grep -q 'exec /usr/sbin/lbd .*c=/etc/xlb/\|c=/etc/xlb/.*exec /usr/sbin/lbd ' "$ROOT/lib/systemd/system/lbd@.service"
check "xlb-decap@ runs /usr/sbin/xlb-decap" grep -q '^ExecStart=/usr/sbin/xlb-decap attach %I \$DECAP_OPTS$' \
	"$ROOT/lib/systemd/system/xlb-decap@.service"
for b in lbd lbctl xlb-decap; do
	check "$b --help runs from the scratch root" runs_help "$ROOT/usr/sbin/$b"
done
check "lbctl --help lists its commands" grep -q '^  add-vip ' <<<"$("$ROOT/usr/sbin/lbctl" --help)"
check "man lbd renders" sh -c "man -l '$ROOT/usr/share/man/man8/lbd.8.gz' 2>/dev/null | grep -q -- '--iface'"
check "the man page says 'lbd', not a build path" sh -c "! zcat '$ROOT/usr/share/man/man8/lbd.8.gz' | grep -q '$BUILD'"

step "systemd-analyze verify, against the scratch root"
# The scratch root holds only this package. Like a chroot, it gets what the
# units need from a system: the host's units (targets, the device units'
# dependencies) and a /bin/sh (ExecStart runs one), copied in.
mkdir -p "$ROOT/bin"
cp -L /bin/sh "$ROOT/bin/sh"
for f in /lib/systemd/system/*; do
	[[ -e "$ROOT/lib/systemd/system/$(basename "$f")" ]] || cp -a "$f" "$ROOT/lib/systemd/system/"
done
for u in lbd@eth0.service xlb-decap@eth0.service; do
	out=$(systemd-analyze verify --man=no --root="$ROOT" "$u" 2>&1)
	echo "$u: ${out:-(no findings)}"
	check "systemd-analyze verify $u: no findings" [ -z "$out" ]
done
finish
