#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for tests and benchmarks: initdb + pg_ctl on a fresh mktemp
# directory and a free port on 127.0.0.1, run as the postgres user when we are root (the server
# refuses to run as root).
#
#   pg_server.sh start URL_FILE [--durable]   # writes postgresql://postgres@127.0.0.1:PORT/postgres
#   pg_server.sh stop URL_FILE                # stops it and removes its directory
#
# Without --durable the server runs with fsync=off (tests: speed, not durability).
set -euo pipefail

bin=/usr/lib/postgresql/15/bin
cmd="${1:-}"
url_file="${2:-}"
usage() { echo "usage: $0 start|stop URL_FILE [--durable]" >&2; exit 2; }
[[ -n "$cmd" && -n "$url_file" ]] || usage

as_pg() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
  start)
    # A server left behind by an interrupted run under the same URL file is stopped first.
    if [[ -f "$url_file.dir" ]]; then "$0" stop "$url_file"; fi
    if [[ ! -x "$bin/initdb" ]]; then
      echo "PostgreSQL 15 server binaries not found in $bin" >&2
      exit 1
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/telemeet-pg.XXXXXX")
    if [[ "$(id -u)" == 0 ]]; then chown postgres "$dir"; fi
    as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 \
      >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
    opts="-c listen_addresses=127.0.0.1 -k $dir -c max_connections=200"
    if [[ "${3:-}" != "--durable" ]]; then
      opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    # A free port: ask the kernel, then let the server take it; retry if someone raced us.
    for _ in 1 2 3 4 5; do
      port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
      if as_pg "$bin/pg_ctl" -D "$dir/data" -o "-p $port $opts" -l "$dir/log" -w -t 30 start \
          >/dev/null 2>&1; then
        echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$url_file"
        echo "$dir" >"$url_file.dir"
        exit 0
      fi
    done
    cat "$dir/log" >&2 || true
    rm -rf "$dir"
    exit 1
    ;;
  stop)
    [[ -f "$url_file.dir" ]] || exit 0
    dir=$(cat "$url_file.dir")
    as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir" "$url_file" "$url_file.dir"
    ;;
  *)
    usage
    ;;
esac
