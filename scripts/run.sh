#!/usr/bin/env bash
# Starts telemeet with its embedded defaults: SQLite in ./data and, with no Google credentials
# configured, the built-in Google emulator. Builds a release binary first when needed.
# Extra arguments go to `telemeet serve` (e.g. --port 9000, --config telemeet.toml).
# Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release --target telemeet >/dev/null
exec build/release/src/app/telemeet serve --data-dir "${TELEMEET_DATA_DIR:-./data}" "$@"
