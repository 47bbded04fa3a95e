#!/usr/bin/env bash
# Health checks in fullnat mode: test_health_nat.sh in the fullnat rig, set
# up from a config file with "health" objects (see there).
HC_MODE=fullnat
. "$(dirname "$0")/test_health_nat.sh"
