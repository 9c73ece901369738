#!/usr/bin/env bash
# KiviCare 4.3.0 with the telemeet connector (connectors/kivicare), for real: Debian's WordPress,
# PHP 8.2 and MariaDB on a fresh site served by `php -S` on 127.0.0.1, telemeet in sandbox mode
# (its built-in emulator is Google), and everything driven through KiviCare's own REST API:
# a clinic, a doctor, a patient and a telemed service; the doctor connects Google (the consent
# followed by HTTP); a booking whose link is pending comes back through the meeting.ready webhook;
# KiviCare, telemeet and the emulator hold the same Meet link; a reschedule keeps the link and
# moves the event; a cancel removes it; a grant revoked at "Google" shows "needs reconnect" in
# KiviCare. Also: `php -l` over the connector and its signature unit test.
#
# CI runs it after the production install (.ci/run); it also runs alone, as root, on a fresh
# Debian 12 (apt is the only network it needs). TELEMEET_BIN picks a built telemeet binary;
# default: the first of build/{release,debug,asan} that exists, else the release build is made
# as scripts/run.sh makes it. KEEP=1 keeps the temp dir and prints where it is.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
script_start=$(date +%s)

step() { echo "== kivicare [$(( $(date +%s) - script_start ))s]: $*"; }

step "Debian packages (apt-get)"
pkgs=(wordpress php8.2-cli php8.2-mysql php8.2-curl php8.2-mbstring php8.2-xml mariadb-server
      xz-utils curl python3 openssl)
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s "${pkgs[@]}" >/dev/null 2>&1; then
  apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null; }
fi

telemeet="${TELEMEET_BIN:-}"
if [ -z "$telemeet" ]; then
  for preset in release debug asan; do
    if [ -x "build/$preset/src/app/telemeet" ]; then telemeet="build/$preset/src/app/telemeet"; break; fi
  done
fi
if [ -z "$telemeet" ]; then
  step "no telemeet binary yet: building the release preset (as scripts/run.sh does)"
  scripts/deps.sh build
  cmake --preset release >/dev/null
  cmake --build --preset release --target telemeet >/dev/null
  telemeet=build/release/src/app/telemeet
fi
telemeet=$(realpath "$telemeet")
echo "telemeet binary: $telemeet"

# On tmpfs when there is one: KiviCare's activation is ~1500 statements, mostly DDL, which take
# 20 s on a busy disk and 1 s in memory, and the site's 14,000 files are copied and removed in
# a blink (the whole directory lives for this run only).
tmp_base=/tmp
if [ -d /dev/shm ] && [ -w /dev/shm ]; then tmp_base=/dev/shm; fi
dir=$(mktemp -d "$tmp_base/ci-kivicare.XXXXXX")
chmod 755 "$dir"
pids=()
db_pid=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$db_pid" ]; then kill "$db_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept: $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
fail() {
  echo "kivicare: FAILED: $*" >&2
  for f in "$dir"/*.log "$dir"/*.err; do [ -s "$f" ] && { echo "== $f"; tail -n 40 "$f"; } >&2; done
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# json EXPR: evaluates EXPR over the JSON on stdin (bound to d); prints strings bare.
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); v=eval(sys.argv[1]); print(v if isinstance(v,str) else json.dumps(v))' "$1"; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds
  local until=$(($(date +%s) + $1)) what=$2; shift 2
  until "$@"; do [ "$(date +%s)" -lt "$until" ] || fail "timed out waiting for $what"; sleep 0.2; done
}

step "the connector: php -l and the signature unit test"
for f in $(find connectors/kivicare -name '*.php'); do php -l "$f" >/dev/null || fail "php -l $f"; done
php connectors/kivicare/tests/signature-test.php >"$dir/signature-test.log" || fail "signature unit test"
tail -n 1 "$dir/signature-test.log"

step "MariaDB on a temp datadir, as the mysql user"
db="$dir/db"
mkdir -p "$db" && chown mysql:mysql "$db"
runuser -u mysql -- mariadb-install-db --no-defaults --datadir="$db/data" --auth-root-authentication-method=socket \
  --skip-test-db >"$dir/db-install.log" 2>&1 || fail "mariadb-install-db"
db_port=$(free_port)
runuser -u mysql -- /usr/sbin/mariadbd --no-defaults --datadir="$db/data" --socket="$db/sock" \
  --port="$db_port" --bind-address=127.0.0.1 --skip-name-resolve --skip-log-bin \
  --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --innodb-flush-method=nosync \
  --pid-file="$db/pid" >"$dir/mariadb.log" 2>&1 &
db_pid=$!
wait_for 30 "MariaDB" test -S "$db/sock"
db_pass=$(openssl rand -hex 12)
mariadb --socket="$db/sock" -uroot -e "CREATE DATABASE wp; CREATE USER 'wp'@'localhost' IDENTIFIED BY '$db_pass'; GRANT ALL ON wp.* TO 'wp'@'localhost';" ||
  fail "creating the database"

step "WordPress (Debian's) on php -S, installed with wp_install()"
site="$dir/site"
wp_port=$(free_port)
wp="http://127.0.0.1:$wp_port"
cp -a /usr/share/wordpress "$site"
rm -f "$site/.htaccess" "$site/wp-config.php"
mkdir -p "$site/wp-content/plugins" "$site/wp-content/uploads" "$site/wp-content/mu-plugins"
salt() { openssl rand -hex 24; }
cat >"$site/wp-config.php" <<PHP
<?php
define('DB_NAME', 'wp');
define('DB_USER', 'wp');
define('DB_PASSWORD', '$db_pass');
define('DB_HOST', 'localhost:$db/sock');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
define('AUTH_KEY', '$(salt)'); define('SECURE_AUTH_KEY', '$(salt)');
define('LOGGED_IN_KEY', '$(salt)'); define('NONCE_KEY', '$(salt)');
define('AUTH_SALT', '$(salt)'); define('SECURE_AUTH_SALT', '$(salt)');
define('LOGGED_IN_SALT', '$(salt)'); define('NONCE_SALT', '$(salt)');
define('WP_HOME', '$wp');
define('WP_SITEURL', '$wp');
define('WP_ENVIRONMENT_TYPE', 'local');  // application passwords over plain http, on loopback
define('WP_DEBUG', true);
define('WP_DEBUG_LOG', '$dir/wp-debug.log');
define('WP_DEBUG_DISPLAY', false);
define('DISABLE_WP_CRON', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);  // offline: only loopback (telemeet) is reachable
define('AUTOMATIC_UPDATER_DISABLED', true);
\$table_prefix = 'wp_';
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
PHP
# No sendmail here: KiviCare's emails are written to a file, so the test can read them.
cat >"$site/wp-content/mu-plugins/ci-mail.php" <<PHP
<?php
add_filter('pre_wp_mail', function (\$null, \$atts) {
    file_put_contents('$dir/mail.log', json_encode(\$atts) . "\n", FILE_APPEND);
    return true;
}, 10, 2);
PHP
wp_php() {  # wp_php 'PHP code' [args]: runs code inside WordPress, as the site's admin
  local code=$1; shift
  php -d error_reporting=E_ALL -r '$_SERVER["HTTP_HOST"]=parse_url(getenv("WP"), PHP_URL_HOST).":".parse_url(getenv("WP"), PHP_URL_PORT);
    define("WP_INSTALLING_CI", true); require getenv("SITE")."/wp-load.php"; '"$code" -- "$@"
}
export WP="$wp" SITE="$site"
admin_pass=$(openssl rand -hex 12)
php -r 'define("WP_INSTALLING", true); $_SERVER["HTTP_HOST"]="127.0.0.1";
  require getenv("SITE")."/wp-load.php"; require_once ABSPATH."wp-admin/includes/upgrade.php";
  $r = wp_install("KiviCare CI", "admin", "admin@clinic.test", false, "", $argv[1]);
  update_option("timezone_string", "UTC");' -- "$admin_pass" >"$dir/wp-install.log" 2>&1 || fail "wp_install"

step "KiviCare 4.3.0 and the connector, activated"
# The plugin as published (GPL), kept beside the repository (../shared/vendor/kivicare/README.md).
# A clone elsewhere than beside shared/ finds it at the machines' usual place, /work/shared.
kivicare_tarball="${KIVICARE_TARBALL:-$repo/../shared/vendor/kivicare/kivicare-4.3.0.tar.xz}"
if [ -z "${KIVICARE_TARBALL:-}" ] && [ ! -f "$kivicare_tarball" ]; then
  kivicare_tarball=/work/shared/vendor/kivicare/kivicare-4.3.0.tar.xz
fi
[ -f "$kivicare_tarball" ] || fail "KiviCare 4.3.0 not found at $kivicare_tarball (set KIVICARE_TARBALL)"
tar xJf "$kivicare_tarball" -C "$site/wp-content/plugins/"
cp -r connectors/kivicare "$site/wp-content/plugins/telemeet-kivicare"
rm -rf "$site/wp-content/plugins/telemeet-kivicare/tests"
wp_php 'require_once ABSPATH."wp-admin/includes/plugin.php"; wp_set_current_user(1);
  foreach (["kivicare-clinic-management-system/kivicare-clinic-management-system.php",
            "telemeet-kivicare/telemeet-kivicare.php"] as $p) {
    $r = activate_plugin($p);
    if (is_wp_error($r)) { fwrite(STDERR, "$p: ".$r->get_error_message()."\n"); exit(1); }
  }' >"$dir/activate.log" 2>&1 || fail "activating the plugins"
app_pass=$(wp_php '[$pw] = WP_Application_Passwords::create_new_application_password(1, ["name" => "ci"]); echo $pw;')
(cd "$site" && exec php -d opcache.enable_cli=1 -S "127.0.0.1:$wp_port" -t "$site") >"$dir/php-server.log" 2>&1 &
pids+=($!)
wait_for 10 "php -S" curl -fs -o /dev/null "$wp/wp-login.php"

# kc METHOD PATH [JSON]: KiviCare's REST API (and the connector's) as the site's admin; prints
# the body. The status goes to a file, so `x=$(kc ...)` (a subshell) still leaves it for expect.
kc() {
  local method=$1 path=$2 body=${3:-}
  local args=(-sS -X "$method" -u "admin:$app_pass" -H 'Content-Type: application/json'
              -o "$dir/kc.body" -w '%{http_code}')
  [ -n "$body" ] && args+=(--data "$body")
  curl "${args[@]}" "$wp/index.php?rest_route=$path" >"$dir/kc.status" || echo 000 >"$dir/kc.status"
  cat "$dir/kc.body"
}
expect() {  # expect STATUS WHAT: the last kc call answered STATUS
  local got; got=$(cat "$dir/kc.status")
  [ "$got" = "$1" ] || { [ "$1" = 2xx ] && [ "${got:0:1}" = 2 ]; } || fail "$2: HTTP $got, expected $1: $(head -c 2000 "$dir/kc.body")"
}
kc GET /kivicare/v1/clinics >/dev/null
expect 200 "KiviCare's REST API"
[ "$(kc GET /kivicare/v1 | json 'len([r for r in d["routes"] if r.startswith("/kivicare/v1")])')" -gt 100 ] ||
  fail "KiviCare registered too few REST routes"

step "telemeet in sandbox mode (the emulator is Google), webhooks allowed to this loopback site"
tm_data="$dir/telemeet"
"$telemeet" serve --port 0 --data-dir "$tm_data" --set log.level=warn --set server.shutdown_grace_ms=1000 \
  --set webhooks.allowed_hosts=127.0.0.1 \
  --set "integrations.allowed_return_origins=$wp" >"$dir/telemeet.out" 2>"$dir/telemeet.err" &
pids+=($!)
wait_for 30 "telemeet" grep -q "Press Ctrl-C" "$dir/telemeet.out"
tm=$(grep -o 'running at http://127.0.0.1:[0-9]*' "$dir/telemeet.out" | head -n 1 | sed 's/running at //')
google=$(grep -o 'emulated at http://127.0.0.1:[0-9]*' "$dir/telemeet.out" | head -n 1 | sed 's/emulated at //')
tm_key=$(cat "$tm_data/sandbox-api-key")
read -r tm_admin tm_admin_pass < <(grep 'demo sign-in (admin)' "$dir/telemeet.out" | sed -E 's/.*: ([^ ]+) \/ (.*)$/\1 \2/')
[ -n "$tm" ] && [ -n "$google" ] && [ -n "$tm_key" ] && [ -n "$tm_admin" ] || fail "telemeet's sandbox output"
tmapi() {  # tmapi METHOD PATH [JSON]: telemeet's API with the sandbox API key
  curl -sS -X "$1" -H "Authorization: Bearer $tm_key" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "$tm$2"
}
emu() { curl -sS -X "$1" -H 'Content-Type: application/json' ${3:+--data "$3"} "$google$2"; }

step "the connector's settings: telemeet URL, API key, webhook endpoint and secret"
settings=$(kc GET /telemeet-kivicare/v1/settings)
expect 200 "GET the connector's settings"
hook_url=$(json 'd["webhook_url"]' <<<"$settings")
[ "$(json 'd["return_origin"]' <<<"$settings")" = "$wp" ] || fail "return origin: $settings"
# Webhook endpoints are an admin's to create in telemeet (an API key cannot): sign in.
jar="$dir/tm-cookies"
csrf=$(curl -sS -c "$jar" -H 'Content-Type: application/json' \
  --data "{\"email\":\"$tm_admin\",\"password\":\"$tm_admin_pass\"}" "$tm/api/v1/session" | json 'd["csrf_token"]')
endpoint=$(curl -sS -b "$jar" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
  --data "{\"url\":\"$hook_url\",\"topics\":$(json 'd["webhook_topics"]' <<<"$settings")}" \
  "$tm/api/v1/webhook_endpoints")
hook_secret=$(json 'd["secret"]' <<<"$endpoint") || fail "creating telemeet's webhook endpoint: $endpoint"
saved=$(kc POST /telemeet-kivicare/v1/settings "{\"url\":\"$tm\",\"api_key\":\"$tm_key\",\"webhook_secret\":\"$hook_secret\",\"link_wait_seconds\":0}")
expect 200 "saving the connector's settings"
[ "$(json 'd["test"]["success"]' <<<"$saved")" = true ] || fail "the connector's connection test: $saved"
grep -q -- "$tm_key" <<<"$(kc GET /telemeet-kivicare/v1/settings)" && fail "the settings answer shows the API key"
kc POST /telemeet-kivicare/v1/settings '{"url":"ftp://x"}' >/dev/null
expect 400 "a bad telemeet URL"

step "KiviCare: a clinic, a doctor, a patient, a telemed service, the doctor's sessions"
clinic=$(kc POST /kivicare/v1/setup-wizard/clinic '{"clinic_name":"Telemeet Test Clinic","clinic_email":"clinic@clinic.test",
  "clinic_contact":"+15550100","city":"Springfield","country":"US","postal_code":"12345",
  "firstName":"Clara","lastName":"Admin","adminEmail":"clara@clinic.test","adminContact":"+15550101","gender":"female"}')
expect 201 "creating the clinic"
clinic_id=$(json 'd["data"]["clinic_id"]' <<<"$clinic")
doctor_email="dr.kivi@clinic.test"
doctor=$(kc POST /kivicare/v1/doctors "{\"first_name\":\"Kim\",\"last_name\":\"Kivi\",\"email\":\"$doctor_email\",
  \"mobile_number\":\"+15550102\",\"gender\":\"female\",\"clinic_id\":[{\"id\":\"$clinic_id\",\"value\":\"$clinic_id\"}],\"timezone\":\"UTC\"}")
expect 2xx "creating the doctor"
doctor_id=$(json 'd["data"]["id"]' <<<"$doctor")
patient=$(kc POST /kivicare/v1/patients "{\"first_name\":\"Pat\",\"last_name\":\"Ient\",\"email\":\"pat@clinic.test\",
  \"mobile_number\":\"+15550103\",\"dob\":\"1980-01-01\",\"gender\":\"male\",\"clinics\":[{\"id\":\"$clinic_id\",\"value\":\"$clinic_id\"}],
  \"city\":\"Springfield\",\"country\":\"US\",\"postal_code\":\"12345\"}")
expect 2xx "creating the patient"
patient_id=$(json 'd["data"]["id"]' <<<"$patient")
category=$(wp_php 'global $wpdb; echo $wpdb->get_var("SELECT id FROM {$wpdb->prefix}kc_static_data WHERE type = \"service_type\" ORDER BY id LIMIT 1");')
service=$(kc POST /kivicare/v1/doctor-services "{\"name\":\"Video consultation\",\"category\":$category,\"price\":0,\"duration\":30,
  \"doctors\":[{\"value\":$doctor_id}],\"clinics\":[{\"value\":$clinic_id}],\"telemed_service\":\"yes\",\"status\":1}")
expect 2xx "creating the telemed service"
# The doctor-service mapping id is what a booking names (KiviCare's serviceId).
service_id=$(wp_php 'global $wpdb; echo $wpdb->get_var($wpdb->prepare("SELECT id FROM {$wpdb->prefix}kc_service_doctor_mapping WHERE doctor_id = %d AND telemed_service = \"yes\"", (int) $argv[1]));' "$doctor_id")
[ -n "$service_id" ] || fail "the telemed service is not mapped to the doctor: $service"
days=$(python3 -c 'import json; print(json.dumps([{"id":d,"enabled":True,"main_session":{"start":"08:00","end":"18:00"},"breaks":[]} for d in ["mon","tue","wed","thu","fri","sat","sun"]]))')
kc POST /kivicare/v1/doctor-sessions "{\"doctor_id\":$doctor_id,\"clinic_id\":$clinic_id,\"time_slot\":\"30\",\"days\":$days}" >/dev/null
expect 2xx "the doctor's sessions"

step "booking a telemed appointment is refused while the doctor has not connected Google"
day=$(date -u -d '+2 days' +%F)
book() {  # book HH:MM: a telemed appointment with the doctor, confirmed (status 1)
  kc POST /kivicare/v1/appointments "{\"appointmentStartDate\":\"$day\",\"appointmentStartTime\":\"$1\",\"clinicId\":$clinic_id,
    \"doctorId\":$doctor_id,\"serviceId\":[$service_id],\"patientId\":$patient_id,\"status\":1}"
}
book 09:00 >/dev/null
[ "$(cat "$dir/kc.status")" -ge 400 ] || fail "a telemed booking without a connected doctor was accepted"
[ "$(wp_php 'global $wpdb; echo $wpdb->get_var("SELECT COUNT(*) FROM {$wpdb->prefix}kc_appointments");')" = 0 ] ||
  fail "the refused booking left an appointment in KiviCare"

step "the doctor connects Google: telemeet's consent at the emulator, followed by HTTP, back to KiviCare"
connect=$(kc POST "/telemeet-kivicare/v1/doctors/$doctor_id/connect")
expect 200 "starting the doctor's connect"
auth_url=$(json 'd["authorization_url"]' <<<"$connect")
emu POST /_emulator/accounts "{\"email\":\"$doctor_email\",\"name\":\"Dr Kim Kivi\"}" >/dev/null
emu PATCH /_emulator/settings '{"autoApprove":true}' >/dev/null
# The emulator approves for the login_hint: the doctor's Google account.
auth_url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1])
q = [(k, v) for k, v in u.parse_qsl(p.query) if k != "login_hint"] + [("login_hint", sys.argv[2])]
print(u.urlunsplit(p._replace(query=u.urlencode(q))))' "$auth_url" "$doctor_email")
hop() { curl -sS -o /dev/null -w '%{http_code} %{redirect_url}\n' "$1"; }
read -r code callback < <(hop "$auth_url")
[ "$code" = 302 ] || fail "the emulator's consent answered $code"
read -r code back < <(hop "$callback")
[ "$code" = 303 ] && [[ "$back" == "$wp/wp-admin/admin-post.php?action=telemeet_kivicare_connected&doctor_id=$doctor_id" ]] ||
  fail "telemeet's callback did not send the doctor back to KiviCare: $code $back"
read -r code _ < <(hop "$back")
[ "$code" = 302 ] || fail "KiviCare's return page answered $code"
state=$(kc GET "/telemeet-kivicare/v1/doctors/$doctor_id/connection")
[ "$(json 'd["status"]' <<<"$state")" = active ] || fail "the doctor's connection after the consent: $state"
[ "$(kc GET "/kivicare/v1/doctors/$doctor_id" | json 'd["data"]["telemeet_connection"]["status"]')" = active ] ||
  fail "KiviCare's doctor does not show the connection"
# KiviCare's booking widget lists the doctor as offering telemedicine.
widget=$(kc GET "/kivicare/v1/static-data&dataType=staticData&staticDataType=doctorsWithAllDetails")
[ "$(json '[x.get("is_telemed_connected") for x in d["data"]["doctors"] if int(x["id"]) == '"$doctor_id"']' <<<"$widget")" = '[true]' ] ||
  fail "KiviCare's booking widget does not offer the doctor's telemedicine: $(head -c 600 <<<"$widget")"
# The return page is open to anyone (the doctor may not be signed in here): it creates nothing.
curl -sS -o /dev/null "$wp/wp-admin/admin-post.php?action=telemeet_kivicare_connected&doctor_id=1"
[ "$(tmapi GET "/api/v1/doctors?external_ref=kivicare:doctor:1" | json 'len(d["data"])')" = 0 ] ||
  fail "an anonymous visit to the return page made a telemeet doctor of the site's admin"
kc POST /telemeet-kivicare/v1/doctors/1/connect >/dev/null
expect 502 "connecting a user who is not a KiviCare doctor"

step "a booking whose Meet link is still pending succeeds; meeting.ready (signed webhook) brings the link"
emu POST "/_emulator/calendars/$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=""))' "$doctor_email")/conference" \
  '{"mode":"pending","pendingReads":3}' >/dev/null
booked=$(book 10:00)
expect 2xx "booking the telemed appointment"
appointment_id=$(json 'd["data"]["appointment_id"]' <<<"$booked")
view=$(kc GET "/kivicare/v1/appointments/$appointment_id")
[ "$(json 'd["data"]["telemeet"]["pending"]' <<<"$view")" = true ] || fail "the link was not pending at booking: $view"
meet_link() { kc GET "/kivicare/v1/appointments/$appointment_id" | json 'd["data"].get("meet_link") or ""'; }
has_link() { [ -n "$(meet_link)" ]; }
wait_for 30 "meeting.ready to fill KiviCare's meeting record" has_link
kivicare_link=$(meet_link)
tm_appointment=$(tmapi GET "/api/v1/appointments?external_ref=kivicare:appointment:$appointment_id")
[ "$(json 'len(d["data"])' <<<"$tm_appointment")" = 1 ] || fail "telemeet has not one appointment for it: $tm_appointment"
tm_id=$(json 'd["data"][0]["id"]' <<<"$tm_appointment")
telemeet_link=$(tmapi GET "/api/v1/appointments/$tm_id/meeting" | json 'd["join_url"]')
calendar="/_emulator/calendars/$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=""))' "$doctor_email")"
event() {  # the doctor's event at the emulator, as "status hangoutLink start"
  emu GET "$calendar" | json '" ".join(next(((e.get("status",""), e.get("hangoutLink",""), e["start"].get("dateTime","")) for e in d["events"]), ("none","","")))'
}
read -r ev_status google_link ev_start < <(event)
echo "KiviCare: $kivicare_link  telemeet: $telemeet_link  Google: $google_link ($ev_status, $ev_start)"
[ "$kivicare_link" = "$telemeet_link" ] && [ "$telemeet_link" = "$google_link" ] && [[ "$google_link" == https://meet.google.com/* ]] ||
  fail "the three Meet links differ"
[ "$ev_start" = "${day}T10:00:00+00:00" ] || fail "the event starts at $ev_start"
deliveries=$(curl -sS -b "$jar" "$tm/api/v1/events?limit=100" | json '[e["type"] for e in d["data"]]')
grep -q meeting.ready <<<"$deliveries" || fail "telemeet sent no meeting.ready: $deliveries"
stored=$(wp_php 'global $wpdb; echo $wpdb->get_var($wpdb->prepare("SELECT url FROM {$wpdb->prefix}kc_appointment_google_meet_mappings WHERE appointment_id = %d", (int) $argv[1]));' "$appointment_id")
[ "$stored" = "$kivicare_link" ] || fail "KiviCare's meeting record holds '$stored'"
# What KiviCare's own notifications read ({{meet_link}}): KCAppointment::getGoogleMeet().
model_link=$(wp_php 'echo \App\models\KCAppointment::find((int) $argv[1])->getGoogleMeet()->url;' "$appointment_id")
[ "$model_link" = "$kivicare_link" ] || fail "KiviCare's model reads '$model_link'"
# KiviCare's own emails (its Action Scheduler queue, run here as WP-Cron would) carry the link
# to the patient and the doctor: the link came after the booking, so the connector sent them.
wp_php 'ActionScheduler_QueueRunner::instance()->run();' >/dev/null 2>&1 || true
for who in pat@clinic.test "$doctor_email"; do
  python3 - "$dir/mail.log" "$who" "$kivicare_link" <<'PY' || fail "no KiviCare email to $who carries the Meet link"
import json, sys
mails = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if any(sys.argv[2] in json.dumps(m["to"]) and sys.argv[3] in m["message"] for m in mails) else 1)
PY
done
# The same booking retried (its answer lost) makes no second appointment at telemeet.
wp_php '$p = new \TelemeetKiviCare\Provider(\TelemeetKiviCare\Provider::SETTINGS_KEY);
  $r = $p->create_meeting(["appointment_id" => (int) $argv[1], "doctor_id" => (int) $argv[2], "patient_id" => (int) $argv[3],
    "start_time" => $argv[4] . " 10:00:00", "duration" => 30, "topic" => "Video consultation"]);
  if (is_wp_error($r) || !$r) { fwrite(STDERR, is_wp_error($r) ? $r->get_error_message() : "false"); exit(1); }' \
  "$appointment_id" "$doctor_id" "$patient_id" "$day" || fail "retrying create_meeting"
[ "$(tmapi GET "/api/v1/appointments?external_ref=kivicare:appointment:$appointment_id" | json 'len(d["data"])')" = 1 ] ||
  fail "a retried booking made a second telemeet appointment"

step "the webhook refuses a bad signature and a replay outside the window"
hook_post() {  # hook_post SIGNATURE BODY: the status the webhook answers
  curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H "Telemeet-Signature: $1" --data "$2" "$hook_url"
}
forged='{"id":999,"type":"meeting.ready","appointment_id":'"$tm_id"',"data":{"appointment_id":'"$tm_id"',"join_url":"https://evil.example/x","state":"ready"}}'
now=$(date +%s)
sig() { printf '%s' "$2.$3" | openssl dgst -sha256 -hmac "$1" | awk '{print $NF}'; }
[ "$(hook_post "t=$now,v1=$(sig whsec_wrong "$now" "$forged")" "$forged")" = 401 ] || fail "a wrong secret was accepted"
old=$((now - 3600))
[ "$(hook_post "t=$old,v1=$(sig "$hook_secret" "$old" "$forged")" "$forged")" = 401 ] || fail "an hour-old signature was accepted"
[ "$(hook_post "" "$forged")" = 401 ] || fail "an unsigned delivery was accepted"
# A delivery replayed inside the window (its event id seen already) changes nothing either.
ready_id=$(curl -sS -b "$jar" "$tm/api/v1/events?limit=100" | json '[e["id"] for e in d["data"] if e["type"] == "meeting.ready"][0]')
replayed=$(echo "$forged" | sed "s/\"id\":999/\"id\":$ready_id/")
status=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H "Telemeet-Event-Id: $ready_id" \
  -H "Telemeet-Signature: t=$now,v1=$(sig "$hook_secret" "$now" "$replayed")" --data "$replayed" "$hook_url")
[ "$status" = 200 ] || fail "a replayed delivery answered $status"
[ "$(meet_link)" = "$kivicare_link" ] || fail "a refused or replayed delivery changed the link"

step "reschedule in KiviCare: the same link, the event moved at the emulator"
kc PUT "/kivicare/v1/appointments/$appointment_id" "{\"appointmentStartDate\":\"$day\",\"appointmentStartTime\":\"11:30\"}" >/dev/null
expect 200 "rescheduling"
moved() { local s l t; read -r s l t < <(event); [ "$t" = "${day}T11:30:00+00:00" ]; }
wait_for 30 "the event to move at the emulator" moved
read -r ev_status google_link ev_start < <(event)
[ "$google_link" = "$kivicare_link" ] && [ "$(meet_link)" = "$kivicare_link" ] || fail "the link changed on reschedule: $google_link"

step "cancel in KiviCare: the event is gone at the emulator"
kc PUT "/kivicare/v1/appointments/$appointment_id/status" '{"status":0}' >/dev/null
expect 200 "cancelling"
gone() { local s l t; read -r s l t < <(event); [ "$s" = cancelled ] || [ "$s" = none ]; }
wait_for 30 "the event to be deleted at the emulator" gone
[ "$(tmapi GET "/api/v1/appointments/$tm_id" | json 'd["status"]')" = cancelled ] || fail "telemeet's appointment is not cancelled"

step "a booking whose link is ready within the wait carries it at once; deleting it removes the event"
emu POST "$calendar/conference" '{"mode":"success"}' >/dev/null
kc POST /telemeet-kivicare/v1/settings '{"link_wait_seconds":5}' >/dev/null
expect 200 "setting link_wait_seconds"
booked=$(book 14:00)
expect 2xx "booking the second telemed appointment"
second=$(json 'd["data"]["appointment_id"]' <<<"$booked")
now_link=$(kc GET "/kivicare/v1/appointments/$second" | json 'd["data"].get("meet_link") or ""')
[[ "$now_link" == https://meet.google.com/* ]] && [ "$now_link" != "$kivicare_link" ] ||
  fail "the second booking's answer came without its own link: '$now_link'"
second_tm=$(tmapi GET "/api/v1/appointments?external_ref=kivicare:appointment:$second" | json 'd["data"][0]["id"]')
kc DELETE "/kivicare/v1/appointments/$second" >/dev/null
expect 200 "deleting the second appointment"
deleted() { local s; s=$(emu GET "$calendar" | python3 -c 'import json,sys; d=json.load(sys.stdin)
print(" ".join(e.get("status","") for e in d["events"] if e.get("hangoutLink") == sys.argv[1]))' "$now_link"); [ -z "$s" ] || [ "$s" = cancelled ]; }
wait_for 30 "the deleted appointment's event to go" deleted
[ "$(tmapi GET "/api/v1/appointments/$second_tm" | json 'd["status"]')" = cancelled ] || fail "telemeet's second appointment is not cancelled"

step "a booking KiviCare rolls back after the meeting was made leaves no meeting at telemeet"
rolled=$(wp_php 'global $wpdb; $t = $wpdb->prefix . "kc_appointments";
  $wpdb->query("START TRANSACTION");
  $wpdb->insert($t, ["appointment_start_date" => $argv[1], "appointment_start_time" => "16:00:00",
    "appointment_end_date" => $argv[1], "appointment_end_time" => "16:30:00", "clinic_id" => (int) $argv[2],
    "doctor_id" => (int) $argv[3], "patient_id" => (int) $argv[4], "status" => 1, "appointment_timezone" => "UTC"]);
  $id = (int) $wpdb->insert_id;
  $p = new \TelemeetKiviCare\Provider(\TelemeetKiviCare\Provider::SETTINGS_KEY);
  $r = $p->create_meeting(["appointment_id" => $id, "doctor_id" => (int) $argv[3], "patient_id" => (int) $argv[4],
    "start_time" => $argv[1] . " 16:00:00", "duration" => 30, "topic" => "Video consultation"]);
  if (!is_array($r)) { fwrite(STDERR, "create_meeting failed\n"); exit(1); }
  $wpdb->query("ROLLBACK");  // as KiviCare does when a later step of the booking fails
  echo $id;' "$day" "$clinic_id" "$doctor_id" "$patient_id") || fail "the rolled-back booking"
[ "$(tmapi GET "/api/v1/appointments?external_ref=kivicare:appointment:$rolled" | json 'd["data"][0]["status"]')" = cancelled ] ||
  fail "the rolled-back booking's telemeet appointment is not cancelled"

step "telemeet unreachable: the booking fails with telemeet's reason and leaves nothing in KiviCare"
before=$(wp_php 'global $wpdb; echo $wpdb->get_var("SELECT COUNT(*) FROM {$wpdb->prefix}kc_appointments");')
kc POST /telemeet-kivicare/v1/settings "{\"url\":\"http://127.0.0.1:$(free_port)\"}" >/dev/null
refused=$(book 15:00)
grep -q "telemeet did not answer" <<<"$refused" || fail "the failed booking does not say why: $refused"
[ "$(cat "$dir/kc.status")" -ge 400 ] || fail "a booking without telemeet was accepted"
[ "$(wp_php 'global $wpdb; echo $wpdb->get_var("SELECT COUNT(*) FROM {$wpdb->prefix}kc_appointments");')" = "$before" ] ||
  fail "the failed booking left an appointment in KiviCare"
kc POST /telemeet-kivicare/v1/settings "{\"url\":\"$tm\"}" >/dev/null
expect 200 "restoring telemeet's URL"

step "the grant revoked at Google: KiviCare shows \"needs reconnect\""
emu POST /_emulator/grants/revoke "{\"email\":\"$doctor_email\"}" >/dev/null
# telemeet finds out on its next Google call (here: its own connection test, not the
# connector's), so KiviCare can learn it only from the doctor.needs_reconnect webhook.
tm_doctor=$(tmapi GET "/api/v1/doctors?external_ref=kivicare:doctor:$doctor_id" | json 'd["data"][0]["id"]')
tmapi POST "/api/v1/doctors/$tm_doctor/google/test" >/dev/null
reconnect() { [ "$(kc GET "/kivicare/v1/doctors/$doctor_id" | json 'd["data"]["telemeet_connection"]["status"]')" = needs_reconnect ]; }
wait_for 30 "needs_reconnect in KiviCare (webhook doctor.needs_reconnect)" reconnect
tested=$(kc POST "/telemeet-kivicare/v1/doctors/$doctor_id/test")
[ "$(json 'd["status"]' <<<"$tested")" = needs_reconnect ] || fail "the connector's doctor test: $tested"
listed=$(kc GET /kivicare/v1/doctors | json '[x.get("telemeet_connection",{}).get("status") for x in d["data"]["doctors"] if int(x["id"]) == '"$doctor_id"']')
[ "$listed" = '["needs_reconnect"]' ] || fail "KiviCare's doctor list shows $listed"

step "nothing secret in the logs"
for f in "$dir"/wp-debug.log "$dir"/php-server.log "$dir"/telemeet.out "$dir"/telemeet.err; do
  [ -f "$f" ] || continue
  grep -qF -- "$tm_key" "$f" && fail "the API key is in $f"
  grep -qF -- "$hook_secret" "$f" && fail "the webhook secret is in $f"
done

echo "kivicare: all checks passed in $(( $(date +%s) - script_start ))s"
