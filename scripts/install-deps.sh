#!/usr/bin/env bash
# Installs xlb's build and test dependencies from Debian 12. Idempotent: it only
# calls apt when a package is missing, so repeated runs are fast and offline-safe.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang llvm
  libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev libmnl-dev
  libcli11-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev libssl-dev
  libsystemd-dev
  iproute2 ethtool nftables python3 gnuplot-nox strace
  help2man lintian bash-completion
  libcpp-httplib-dev prometheus curl
  bird2
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
