// telemeet's configuration: built-in defaults, then a TOML file, then TELEMEET_* environment
// variables, then command-line `--set key=value` flags, each overriding the one before.
//
//   auto config = LoadConfig({.file = "telemeet.toml", .env = environ, .sets = {"server.port=0"}});
//   if (!config) { std::cerr << config.error().message(); return 2; }
//
// Every key has a dotted name ("server.port") and an environment twin (TELEMEET_SERVER_PORT).
// An unknown key in the file, a value of the wrong type or out of range stops loading with an
// error naming the key, the problem and where the value came from.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace telemeet::app {

struct Config {
  struct Server {
    std::string address = "127.0.0.1";
    int64_t port = 8080;
    std::string public_url;  // how browsers reach us; default http://<address>:<port>
    int64_t io_threads = 2;
    // Blocking work; with SQLite, requests waiting for a group commit hold a thread each, so
    // this bounds how many writes share one fsync.
    int64_t worker_threads = 32;
    int64_t max_header_bytes = 16 * 1024;
    int64_t max_body_bytes = 1024 * 1024;
    int64_t read_timeout_ms = 30'000;
    int64_t idle_timeout_ms = 60'000;
    int64_t max_connections = 10'000;
    int64_t shutdown_grace_ms = 10'000;
    // Host names besides public_url's (and loopback) that requests may name: the names a
    // reverse proxy forwards. Others get 421 (DNS rebinding).
    std::vector<std::string> allowed_hosts;
    // Reverse proxies (IP addresses) whose X-Forwarded-For names the client, for sign-in
    // throttling per address; empty: the peer is the client.
    std::vector<std::string> trusted_proxies;
  } server;
  struct Session {
    int64_t idle_timeout_minutes = 30;  // a web session ends after this long unused ...
    int64_t max_age_hours = 12;         // ... and this long after sign-in in any case
  } session;
  struct Ops {
    // /metrics answers loopback clients, and others that send "Authorization: Bearer <token>".
    std::string metrics_token;  // never echoed back
  } ops;

  std::string data_dir = "./data";

  struct Storage {
    std::string url;  // default: sqlite:<data_dir>/telemeet.db
    bool migrate_on_start = true;  // false: refuse to start on an old schema (telemeet migrate)
  } storage;
  struct Worker {
    int64_t threads = 16;  // reconcile jobs run at once (each holds one Google call in flight)
  } worker;
  // What is kept and for how long (issue 15): expired sessions, OAuth states and idempotency
  // records go at once; revoked or expired access links, finished outbox events and webhook
  // deliveries after `days`; audit entries after `audit_days`. The janitor purges every hour;
  // `telemeet purge` purges once.
  struct Retention {
    int64_t days = 30;
    int64_t audit_days = 3650;
  } retention;
  struct Security {
    // The key ring that seals refresh tokens and secrets at rest. TELEMEET_MASTER_KEY wins over
    // the file. Default file: <data_dir>/master.key, created on first run in sandbox mode only.
    std::string master_key_file;
  } security;

  struct Log {
    std::string level = "info";
    bool requests = true;  // one line per HTTP request (health probes excepted)
  } log;

  struct Google {
    std::string client_id;      // empty: sandbox mode, the built-in emulator stands in
    std::string client_secret;  // never echoed back
    std::string redirect_uri;   // default: <public_url>/oauth/google/callback
    std::string scope = "https://www.googleapis.com/auth/calendar";
    std::string api_base_url = "https://www.googleapis.com";
    std::string oauth_base_url = "https://oauth2.googleapis.com";
    std::string accounts_base_url = "https://accounts.google.com";
    std::string meet_base_url = "https://meet.googleapis.com";  // Meet REST v2 (issue 18)
    // The project's Calendar quotas as Google Cloud shows them; telemeet keeps to
    // safety_margin_percent of them, shared by every instance on one PostgreSQL.
    struct Quota {
      int64_t per_user_per_minute = 600;
      int64_t per_project_per_minute = 10'000;
      int64_t safety_margin_percent = 95;
    } quota;
  } google;

  // Email notifications (M23). Disabled: every email is written as an .eml file into
  // <data_dir>/mail instead, so a newcomer sees them.
  struct Smtp {
    bool enabled = false;
    std::string host;
    int64_t port = 587;
    std::string tls = "starttls";  // none | starttls | tls (implicit, usually port 465)
    std::string username;          // AUTH only when set
    std::string password;          // never echoed back or logged
    std::string from;              // "Example Clinic <noreply@clinic.example>"; its display name
                                   // is {{clinic_name}} unless notify.clinic_name is set
    int64_t timeout_ms = 60'000;
  } smtp;

  // What the emails say (M23).
  struct Notify {
    std::string clinic_name;  // {{clinic_name}}; empty: smtp.from's display name, else "telemeet"
    // Lead times of the patient reminders ("24h", "90m", "2d"); [] sends none. An admin's saved
    // list (PATCH /api/v1/settings/reminders) replaces it.
    std::vector<std::string> reminders{"24h", "1h"};
  } notify;

  // Outbound webhooks (issue 15): where integrators' endpoints may point.
  struct Webhooks {
    // Hosts (names or IP literals, exact, any case) that may be internal addresses: loopback,
    // private, link-local, multicast, unique-local IPv6. Everything else internal is refused.
    std::vector<std::string> allowed_hosts;
    bool allow_http = false;  // plain http endpoints; always allowed in sandbox mode
  } webhooks;

  // Booking systems that drive telemeet through its API (connectors/, e.g. KiviCare).
  struct Integrations {
    // Origins (scheme://host[:port], exact) a doctor's Google connect may return to, besides
    // paths on this site: the booking system's own pages.
    std::vector<std::string> allowed_return_origins;
  } integrations;

  // Bookings against the doctor's Google Calendar (M17).
  struct Booking {
    // A booking or reschedule into a slot Google says is busy: ignore | warn | refuse. The
    // settings API (PATCH /api/v1/settings/booking) overrides it.
    std::string google_busy = "warn";
  } booking;
  struct Availability {
    int64_t cache_ttl_seconds = 60;      // free/busy answers per doctor; 0: not cached
    int64_t cache_max_entries = 10'000;  // answers held at most (a few per doctor)
  } availability;
  // Defaults of the admin's meeting policies (issue 16); the admin UI's values, saved in the
  // settings, win over these.
  struct Meeting {
    bool invite_patient = false;  // the patient is an attendee of the Google event (M14)
    // The event's own reminders: "default" (the calendar's) or "popup:10,email:60".
    std::string event_reminders = "default";
    // Who may join without knocking (M32): default (as Google made the space) | open | trusted |
    // restricted; patched on the Meet space once the conference exists.
    std::string access_type = "default";
  } meeting;
  // Attendance read from Meet's conference records (M31); the admin's policy wins over mode and
  // min_minutes.
  struct Attendance {
    std::string mode = "off";            // off | record | complete
    int64_t min_minutes = 5;             // complete: the overlap that counts as held
    int64_t grace_minutes = 10;          // the first look, after the appointment's end
    int64_t polls = 3;                   // looks while records may still appear
    int64_t poll_interval_minutes = 10;  // between looks
  } attendance;

  // No Google credentials configured: Google is emulated in-process.
  bool sandbox() const { return google.client_id.empty(); }
  std::string PublicUrl() const;
  std::string StorageUrl() const;
  std::string RedirectUri() const;
  std::string MasterKeyFile() const;
  std::string MailDir() const;  // <data_dir>/mail: where unsent-by-SMTP emails are written
  // The host names requests may name: public_url's and server.allowed_hosts.
  std::vector<std::string> AllowedHosts() const;
};

struct ConfigSources {
  std::string file = {};               // a TOML file; empty for none
  char** env = nullptr;                // environ-style, NULL-terminated; null for none
  std::vector<std::string> sets = {};  // "key=value" from the command line
};

Result<Config> LoadConfig(const ConfigSources& sources);

// The effective configuration as JSON, secrets replaced by "[REDACTED]" (for `telemeet config`).
nlohmann::json ConfigToJson(const Config& config);

// True for 127.0.0.0/8, ::1 and localhost (parsed, so "127.example.com" is not): the addresses
// sandbox mode may listen on, and those that need no explicit server.public_url.
bool IsLoopbackAddress(std::string_view address);

// Every key's dotted name, in documentation order.
std::vector<std::string> ConfigKeys();

}  // namespace telemeet::app
