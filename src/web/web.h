// The web UI (M24, M26): sign-in, the doctor's page, the patient's page and the admin pages,
// served from files embedded in the binary (src/web/assets; plain HTML, CSS and JavaScript that
// call the REST API with the session cookie and X-CSRF-Token).
//
//   web::RegisterWebRoutes(router, api_deps, {.sandbox = config.sandbox()});
//
// Routes: "/" (sends a signed-in admin to /admin, a doctor to /doctor, anyone else to /signin),
// /signin, /doctor, /admin, /p (a patient's page; the access token travels as ?token=),
// /p/calendar.ics?token= (the appointment as an iCalendar file) and /assets/<file>.
// Every response carries strict security headers: a Content-Security-Policy allowing scripts
// from this origin only (no inline script), frame-ancestors 'none', Referrer-Policy no-referrer
// (the patient page's URL holds a token) and X-Content-Type-Options nosniff.
//
// In sandbox mode every page carries the "Sandbox: Google is emulated" banner, rendered into the
// HTML on the server so it shows without JavaScript too. That includes the pages the API answers
// to a browser (the end of the Google connect flow), when ApiDeps::render_page is set to
// BrowserPages:
//
//   api_deps.render_page = web::BrowserPages({.sandbox = config.sandbox()});
//
// Handlers are safe for concurrent use; `deps` must outlive the router.
#pragma once

#include <string>

#include "api/api.h"
#include "net/router.h"

namespace telemeet::web {

struct WebOptions {
  // Google is the in-process emulator (no Google credentials configured).
  bool sandbox = false;
  // While no enabled admin exists, /signin says "No administrator yet" and shows this command
  // (the CLI's, run on the server; nothing on the web creates an admin). Empty: never shown.
  std::string first_admin_command = {};
};

// The Content-Security-Policy of every page and asset.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

void RegisterWebRoutes(net::Router& router, api::ApiDeps& deps, const WebOptions& options);

// Renders the API's browser pages (api::BrowserPage) as pages of this UI: its header and
// stylesheet, the sandbox banner in sandbox mode, no script, the security headers above and
// Cache-Control no-store (such a page answers a one-time step).
api::PageRenderer BrowserPages(const WebOptions& options);

}  // namespace telemeet::web
