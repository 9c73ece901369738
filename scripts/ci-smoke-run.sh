#!/usr/bin/env bash
# Starts telemeet through the README's run command on a free port, checks it answers, and stops
# it with Ctrl-C (SIGINT), expecting a clean exit.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
TELEMEET_DATA_DIR="$dir/data" scripts/run.sh --port 0 >"$dir/out" 2>"$dir/err" &
pid=$!
# The first run builds the release binary: allow for it.
for _ in $(seq 1 3600); do
  grep -q "is running at" "$dir/out" && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/out" "$dir/err"; echo "smoke: telemeet exited" >&2; exit 1; }
  sleep 0.5
done
url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$dir/out" | head -n 1)
[ -n "$url" ] || { cat "$dir/out" "$dir/err"; echo "smoke: no URL printed" >&2; exit 1; }
body=$(curl -fsS "${url}healthz")
echo "smoke: ${url}healthz -> $body"
ready=$(curl -fsS "${url}readyz")
echo "smoke: ${url}readyz -> $ready"
grep -q "Sandbox: Google is emulated at" "$dir/out" || { cat "$dir/out"; echo "smoke: no sandbox" >&2; exit 1; }
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || { cat "$dir/err"; echo "smoke: exit code $rc after SIGINT" >&2; exit 1; }
echo "smoke: stopped cleanly"
