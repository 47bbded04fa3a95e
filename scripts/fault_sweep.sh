#!/usr/bin/env bash
# The full fault-injection sweep (issue 11): netns.test_fault_inject with a
# failure injected at EVERY bpf() call of add-vip, add-backend,
# del-backend --purge and a 20-VIP apply, and a kill at every call of a
# purge, instead of the dozen spread calls per request that
# scripts/test.sh runs. Takes several minutes. Needs root and a build:
#   scripts/fault_sweep.sh [BUILD_DIR]   (default build/)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
FAULT_FULL=1 exec bash "$ROOT/tests/netns/test_fault_inject.sh" "$BUILD"
