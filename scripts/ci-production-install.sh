#!/usr/bin/env bash
# Follows the README's "Production install" step by step, with fake-google standing in for
# Google and temporary directories standing in for /etc/telemeet and /var/lib/telemeet (no
# systemd, no root paths): config file and master key outside the data dir, migrate, first
# start (no admin yet), the first admin from standard input, sign-in, a doctor connected through
# the OAuth consent, an API key, a booked appointment with its Meet link, a backup. CI runs it.
# TELEMEET_BIN / FAKE_GOOGLE_BIN pick binaries already built (default: the release build).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${TELEMEET_BIN:-}" ] || [ -z "${FAKE_GOOGLE_BIN:-}" ]; then
  scripts/deps.sh build
  cmake --preset release >/dev/null
  cmake --build --preset release --target telemeet fake-google >/dev/null
fi
telemeet="${TELEMEET_BIN:-build/release/src/app/telemeet}"
fake_google="${FAKE_GOOGLE_BIN:-build/release/emulator/server/fake-google}"

dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "production-install: $*" >&2; for f in "$dir"/*.out "$dir"/*.err; do echo "== $f"; cat "$f"; done >&2; exit 1; }
step() { echo "== $*"; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

etc="$dir/etc-telemeet"     # /etc/telemeet
data="$dir/var-lib-telemeet" # /var/lib/telemeet (systemd's StateDirectory)
mkdir -p "$etc"
port=$(free_port)
public="http://127.0.0.1:$port"

step "\"Google\": fake-google with the clinic's OAuth client and Dr Lovelace's account"
"$fake_google" --port 0 --auto-approve \
  --client "clinic.apps.googleusercontent.com:clinic-secret:$public/oauth/google/callback" \
  --account "ada@clinic.example:Dr Ada Lovelace" >"$dir/google.out" 2>"$dir/google.err" &
pids+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$dir/google.out" && break; sleep 0.1; done
google=$(grep -o 'http://127.0.0.1:[0-9]*' "$dir/google.out" | head -n 1)
[ -n "$google" ] || fail "fake-google did not start"

step "README 3: the master key, outside the data dir, 0600"
(umask 077 && head -c32 /dev/urandom | basenc --base64url >"$etc/master.key")

step "README 4: the configuration file"
cat >"$etc/telemeet.toml" <<TOML
data_dir = "$data"

[server]
address = "127.0.0.1"
port = $port
public_url = "$public"

[security]
master_key_file = "$etc/master.key"

[google]
client_id = "clinic.apps.googleusercontent.com"
client_secret = "clinic-secret"
# Only because fake-google stands in for Google here; leave these out in production.
api_base_url = "$google"
oauth_base_url = "$google"
accounts_base_url = "$google"
TOML
chmod 0640 "$etc/telemeet.toml"
tm() { "$telemeet" "$@" --config "$etc/telemeet.toml"; }

step "README 5: migrate, then the first start"
mkdir -p "$data" && chmod 0700 "$data"
tm migrate
tm config | grep -q '"google.client_secret": "\[REDACTED\]"' || fail "config shows the secret"
# (the binary itself in the background, not a function's subshell, so the signal reaches it)
"$telemeet" serve --config "$etc/telemeet.toml" >"$dir/serve.out" 2>"$dir/serve.err" &
pids+=($!)
for _ in $(seq 1 200); do grep -q "Press Ctrl-C" "$dir/serve.out" && break; sleep 0.1; done
grep -q "No administrator yet" "$dir/serve.out" || fail "no first-admin notice"
grep -q "Sandbox" "$dir/serve.out" && fail "started in sandbox mode"
curl -fsS "$public/signin" | grep -q "No administrator yet" || fail "/signin has no notice"

step "README 6: the first admin (password from standard input)"
admin_pw="correct horse battery staple"
printf '%s\n' "$admin_pw" | tm users create --email admin@clinic.example --role admin --name "Clinic admin"
jar="$dir/cookies"
csrf=$(curl -fsS -c "$jar" -H 'Content-Type: application/json' \
  -d "{\"email\":\"admin@clinic.example\",\"password\":\"$admin_pw\"}" "$public/api/v1/session" | json 'd["csrf_token"]')
[ -n "$csrf" ] || fail "the admin cannot sign in"
curl -fsS "$public/signin" | grep -q "No administrator yet" && fail "/signin still says no admin"

step "README 7: a doctor, their sign-in, and their Google connection"
admin_api() { curl -fsS -b "$jar" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' "$@"; }
doctor=$(admin_api -d '{"name":"Dr Ada Lovelace","email":"ada@clinic.example","time_zone":"Europe/London"}' \
  "$public/api/v1/doctors" | json 'd["id"]')
printf '%s\n' "ada's own password" | tm users create --email ada@clinic.example --role doctor --doctor-id "$doctor"
# The doctor signs in and presses "Connect Google": a flow started from a browser completes only
# there, so the callback carries the tm_oauth cookie the start set in the doctor's cookie jar.
doctor_jar="$dir/doctor-cookies"
doctor_csrf=$(curl -fsS -c "$doctor_jar" -H 'Content-Type: application/json' \
  -d "{\"email\":\"ada@clinic.example\",\"password\":\"ada's own password\"}" "$public/api/v1/session" | json 'd["csrf_token"]')
auth_url=$(curl -fsS -b "$doctor_jar" -c "$doctor_jar" -H "X-CSRF-Token: $doctor_csrf" -X POST \
  "$public/api/v1/doctors/$doctor/google/connect" | json 'd["authorization_url"]')
# The doctor's browser: Google's consent (auto-approved here) redirects back to telemeet.
callback=$(curl -fsS -o /dev/null -w '%{redirect_url}' "$auth_url&login_hint=ada@clinic.example")
case "$callback" in "$public/oauth/google/callback?"*) ;; *) fail "consent went to $callback" ;; esac
curl -fsS -o /dev/null -b "$doctor_jar" "$callback"
connected=$(admin_api "$public/api/v1/doctors/$doctor/google" | json 'd["connected"]')
[ "$connected" = "True" ] || fail "the doctor is not connected"
tm doctors list | grep -q "active (ada@clinic.example)" || fail "doctors list shows no connection"

step "README 8: an API key for the booking system, and a consultation"
key=$(tm api-keys create --name "booking system" --scopes "read write" --json | json 'd["secret"]')
api() { curl -fsS -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }
service=$(api -d '{"name":"Video consultation","telemedicine":true}' "$public/api/v1/services" | json 'd["id"]')
patient=$(api -d '{"name":"Mary Seacole","email":"mary@patients.example","time_zone":"Europe/London"}' \
  "$public/api/v1/patients" | json 'd["id"]')
appt=$(api -d "{\"doctor_id\":$doctor,\"service_id\":$service,\"patient_id\":$patient,\"start\":\"2031-03-04T10:00:00Z\",\"end\":\"2031-03-04T10:30:00Z\",\"time_zone\":\"Europe/London\"}" \
  "$public/api/v1/appointments" | json 'd["id"]')
api -X POST -o /dev/null "$public/api/v1/appointments/$appt/confirm"
link=""
for _ in $(seq 1 100); do
  link=$(api "$public/api/v1/appointments/$appt" | json 'd["meeting"]["join_url"] or ""')
  [ -n "$link" ] && break
  sleep 0.2
done
[ -n "$link" ] || fail "no Meet link"
echo "production-install: appointment $appt has its Meet link $link"
tm appointments show "$appt" | grep -q "state:     ready" || fail "appointments show: not ready"

step "README 9: a backup while it runs"
tm backup --to "$dir/telemeet-backup.db"
[ "$(stat -c %a "$dir/telemeet-backup.db")" = "600" ] || fail "the backup is not 0600"

kill -TERM "${pids[1]}"
wait "${pids[1]}" || fail "telemeet did not stop cleanly"
echo "production-install: done"
