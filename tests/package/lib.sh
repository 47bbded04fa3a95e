# shellcheck shell=bash
# tests/package/lib.sh: checks and cleanup shared by the package tests.
# Source it with the build directory as $1; it sets BUILD, SRC and TMP
# (removed on exit) and defines check/note/finish like tests/netns/lib.sh.
set -u
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NAME=$(basename "${0%.sh}")
TMP=$(mktemp -d "/tmp/xlb-$NAME.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
CHECKS=0
FAILS=0

skip() {
	echo "SKIP $NAME: $*"
	exit 77
}
check() { # DESCRIPTION CMD...
	local desc=$1
	shift
	CHECKS=$((CHECKS + 1))
	if "$@"; then
		printf '  ok    %s\n' "$desc"
	else
		printf '  FAIL  %s\n' "$desc"
		FAILS=$((FAILS + 1))
	fi
}
step() { printf '\n== %s\n' "$*"; }
finish() {
	echo
	if ((FAILS == 0 && CHECKS > 0)); then
		echo "PASS $NAME ($CHECKS checks)"
		exit 0
	fi
	echo "FAIL $NAME ($FAILS of $CHECKS checks failed)"
	exit 1
}
# runs_help BIN: BIN --help exits 0 and prints a usage line.
runs_help() { "$1" --help 2>&1 | grep -q '^Usage: '; }
