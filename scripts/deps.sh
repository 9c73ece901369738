#!/usr/bin/env bash
# Installs what telemeet needs to build, run and test: Debian's packages, and for tests the Node
# packages pinned in package-lock.json (npm). Idempotent: what is installed is skipped.
# Usage: scripts/deps.sh [build|test|fuzz]
#   (default: build; "test" adds the test-only tools, "fuzz" clang 19 and its libFuzzer)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-build}"

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev libcurl4-openssl-dev nlohmann-json3-dev libsqlite3-dev libpq-dev
  libsodium-dev libssl-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libhowardhinnant-date-dev tzdata ca-certificates
)
test_pkgs=(
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql curl wrk bc python3 python3-aiosmtpd openssl chromium
)
# clang 14 (Debian's default clang) cannot compile libstdc++ 12's <expected>; clang 19 can.
fuzz_pkgs=(clang-19 libclang-rt-19-dev)

want=("${build_pkgs[@]}")
if [ "$mode" = "test" ]; then
  want+=("${test_pkgs[@]}")
  # Machines of this kind ship Node 20; Debian's nodejs is the fallback.
  command -v npm >/dev/null || want+=(nodejs npm)
elif [ "$mode" = "fuzz" ]; then
  want+=("${fuzz_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages: ${missing[*]}; run this script as root to install them" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The official Google Node client (conformance, performance peer) and playwright-core (browser
# tests). `npm ci` runs only when node_modules is missing or older than the lock file.
if [ "$mode" = "test" ]; then
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "deps: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
  fi
fi
