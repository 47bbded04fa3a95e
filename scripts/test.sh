#!/usr/bin/env bash
# Installs the dependencies, builds into build/ and runs every test (all
# labels: unit, bpf, netns). The netns and bpf tests need root and skip
# (reported as skipped, not failed) without it. Exit status: ctest's.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${XLB_BUILD:-build} # build directory (relative to the repo root)
scripts/install-deps.sh || exit 1
cmake -S . -B "$BUILD" || exit 1
make -C "$BUILD" -j2 || exit 1
ctest --test-dir "$BUILD" --output-on-failure "$@"
