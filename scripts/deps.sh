#!/usr/bin/env bash
# Installs what telemeet needs to build, run and test, from Debian's packages only.
# Idempotent: a package already installed is skipped, and nothing runs when nothing is missing.
# Usage: scripts/deps.sh [build|test]   (default: build; "test" adds the test-only tools)
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev libcurl4-openssl-dev nlohmann-json3-dev libsqlite3-dev libpq-dev
  libsodium-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libhowardhinnant-date-dev tzdata ca-certificates
)
test_pkgs=(
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql curl wrk bc python3
)

want=("${build_pkgs[@]}")
if [ "${1:-build}" = "test" ]; then
  want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}; run this script as root to install them" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
