#include "web/web.h"

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>

#include "api/accounts.h"
#include "api/auth.h"
#include "base/strings.h"
#include "core/ics.h"
#include "net/json.h"
#include "store/store.h"
#include "web/assets.h"

namespace telemeet::web {

namespace {

constexpr std::string_view kBanner =
    "<div class=\"sandbox-banner\" role=\"note\"><strong>Sandbox: Google is emulated.</strong> "
    "Google sign-ins, calendars and Meet links are simulated on this machine; nothing is sent "
    "to Google.</div>";

void SetSecurityHeaders(net::Headers& h) {
  h.Set("Content-Security-Policy", kContentSecurityPolicy);
  h.Set("Referrer-Policy", "no-referrer");
  h.Set("X-Content-Type-Options", "nosniff");
  h.Set("X-Frame-Options", "DENY");
  h.Set("Cross-Origin-Opener-Policy", "same-origin");
  h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
}

// `asset` with its ETag; 304 when the browser has it already.
net::Response Send(const Asset& asset, const net::Request& req, std::string_view cache_control) {
  net::Response r;
  if (auto inm = req.Header("If-None-Match"); inm && EtagMatches(*inm, asset.etag)) {
    r = net::Response::Empty(304);
  } else {
    r = net::Response::Text(200, asset.content, asset.content_type);
  }
  r.headers.Set("ETag", asset.etag);
  r.headers.Set("Cache-Control", cache_control);
  SetSecurityHeaders(r.headers);
  return r;
}

net::Response NotFound() {
  net::Response r = net::Response::Text(404, "Not found\n");
  SetSecurityHeaders(r.headers);
  return r;
}

// The pages, rendered once at start-up, by URL path.
using PageMap = std::map<std::string, Asset, std::less<>>;
// The key of /signin's variant with the first-admin notice (not a URL path).
constexpr std::string_view kSetupSignInPage = "signin:setup";

std::shared_ptr<const PageMap> RenderPages(const WebOptions& options) {
  static constexpr std::pair<std::string_view, std::string_view> kPages[] = {
      {"/signin", "signin.html"},
      {"/doctor", "doctor.html"},
      {"/admin", "admin.html"},
      {"/p", "patient.html"},
  };
  auto pages = std::make_shared<PageMap>();
  const PageField no_notice[] = {{"setup_notice", ""}};
  for (const auto& [path, file] : kPages) {
    const Asset* source = FindAsset(file);
    // The page list and the embedded files come from the same source tree.
    if (source == nullptr) std::abort();
    pages->emplace(
        std::string(path),
        MakeAsset(std::string(file),
                  RenderPage(source->content, options.sandbox ? kBanner : "", no_notice)));
  }
  if (!options.first_admin_command.empty()) {
    const std::string notice =
        "<div class=\"status info\" role=\"note\" id=\"setup-notice\"><strong>No administrator "
        "yet.</strong> Nobody can sign in until one exists. On the server, create the first "
        "with:<pre><code>" +
        HtmlEscape(options.first_admin_command) + "</code></pre></div>";
    const PageField with_notice[] = {{"setup_notice", notice}};
    pages->emplace(
        std::string(kSetupSignInPage),
        MakeAsset("signin.html", RenderPage(FindAsset("signin.html")->content,
                                            options.sandbox ? kBanner : "", with_notice)));
  }
  return pages;
}

// The page an api::BrowserPage is rendered into.
constexpr std::string_view kBrowserPageFile = "message.html";

// The appointment behind a patient link as an iCalendar file (METHOD:PUBLISH; cancelled ones
// carry STATUS:CANCELLED so a calendar that imported it can drop it).
net::Response CalendarFile(net::Request& req, api::ApiDeps& deps) {
  std::string token = req.Header("X-Access-Token").value_or(req.Query("token").value_or(""));
  Instant now = deps.clock.Now();
  auto event = deps.store.Read([&](store::Tx& tx) -> Result<core::IcsEvent> {
    auto a = api::AccessLinkAppointment(tx, token, now);
    if (!a) return std::unexpected(a.error());
    auto doctor = tx.GetDoctor(a->doctor_id);
    if (!doctor) return std::unexpected(doctor.error());
    auto service = tx.GetService(a->service_id);
    if (!service) return std::unexpected(service.error());
    auto patient = tx.GetPatient(a->patient_id);
    if (!patient) return std::unexpected(patient.error());
    core::IcsEvent e;
    e.uid = core::IcsUid(a->uid);
    e.sequence = a->revision;
    e.stamp = now;
    e.start = a->start;
    e.end = a->end;
    e.summary = service->name + " with " + doctor->name;
    e.description = "Your video consultation with " + doctor->name + ".";
    auto meeting = tx.GetMeeting(a->id);
    if (meeting && !meeting->join_url.empty() && a->status != core::AppointmentStatus::kCancelled) {
      e.meet_link = meeting->join_url;
    } else if (!meeting && meeting.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(meeting.error());
    }
    // Names only: the file is the patient's, and needs no one's address to be useful.
    e.organizer = {.name = doctor->name};
    e.attendee = {.name = patient->name};
    e.method = core::IcsMethod::kPublish;
    e.cancelled = a->status == core::AppointmentStatus::kCancelled;
    return e;
  });
  net::Response r;
  if (!event) {
    r = net::ErrorResponse(event.error());
  } else {
    r = net::Response::Text(200, core::BuildIcs(*event), "text/calendar; charset=utf-8");
    r.headers.Set("Content-Disposition", "attachment; filename=\"consultation.ics\"");
  }
  r.headers.Set("Cache-Control", "no-store");
  SetSecurityHeaders(r.headers);
  return r;
}

}  // namespace

api::PageRenderer BrowserPages(const WebOptions& options) {
  const Asset* source = FindAsset(kBrowserPageFile);
  // The page and this code come from the same source tree.
  if (source == nullptr) std::abort();
  // The assets' URLs and the banner are filled once; the page's own words on each call.
  auto shell = std::make_shared<const std::string>(
      RenderPage(source->content, options.sandbox ? kBanner : ""));
  return [shell](const api::BrowserPage& page) {
    const std::string title = HtmlEscape(page.title);
    const std::string message = HtmlEscape(page.message);
    const std::string link_href = HtmlEscape(page.link_href);
    const std::string link_text = HtmlEscape(page.link_text);
    const PageField fields[] = {
        {"title", title}, {"message", message}, {"link_href", link_href}, {"link_text", link_text}};
    net::Response r = net::Response::Html(page.status, RenderPage(*shell, "", fields));
    r.headers.Set("Cache-Control", "no-store");
    SetSecurityHeaders(r.headers);
    return r;
  };
}

void RegisterWebRoutes(net::Router& router, api::ApiDeps& deps, const WebOptions& options) {
  std::shared_ptr<const PageMap> pages = RenderPages(options);
  for (const auto& [path, page] : *pages) {
    const bool has_setup_variant = pages->contains(kSetupSignInPage);
    if (!path.starts_with('/') || (path == "/signin" && has_setup_variant)) continue;
    const Asset* shell = &page;
    router.Get(path, [pages, shell](net::Request& req) {
      // Pages are small shells whose data comes from the API; revalidated on every visit.
      return Send(*shell, req, "no-cache");
    });
  }
  if (auto setup = pages->find(kSetupSignInPage); setup != pages->end()) {
    const Asset* plain = &pages->at("/signin");
    const Asset* notice = &setup->second;
    // Whether an admin exists is read until one does (created by the CLI while we run); an
    // admin never goes away by itself, so the answer is then kept.
    auto admin_seen = std::make_shared<std::atomic<bool>>(false);
    router.Get("/signin",
               [pages, plain, notice, admin_seen, &deps](net::Request& req) {
                 if (!admin_seen->load(std::memory_order_relaxed)) {
                   auto has =
                       deps.store.Read([](store::Tx& tx) { return api::HasActiveAdmin(tx); });
                   if (has && *has) admin_seen->store(true, std::memory_order_relaxed);
                   if (!has || !*has) return Send(*notice, req, "no-cache");
                 }
                 return Send(*plain, req, "no-cache");
               },
               {.offload = true});
  }

  router.Get("/assets/{name}", [](net::Request& req) {
    const Asset* asset = FindAsset(req.Param("name"));
    if (asset == nullptr || asset->name.ends_with(".html")) return NotFound();
    // A URL carrying the current version never changes; any other is revalidated.
    bool versioned = req.Query("v") == asset->version;
    return Send(*asset, req, versioned ? "public, max-age=31536000, immutable" : "no-cache");
  });

  router.Get("/p/calendar.ics", [&deps](net::Request& req) { return CalendarFile(req, deps); },
             {.offload = true});

  router.Get("/",
             [&deps](net::Request& req) {
               std::string to = "/signin";
               if (api::CookieValue(req, api::kSessionCookie)) {
                 auto who = api::Authenticate(req, deps);
                 if (who && who->via_cookie) {
                   to = who->kind == api::Principal::Kind::kAdmin ? "/admin" : "/doctor";
                 }
               }
               net::Response r = net::Response::Redirect(to, 303);
               r.headers.Set("Cache-Control", "no-store");
               SetSecurityHeaders(r.headers);
               return r;
             },
             {.offload = true});
}

}  // namespace telemeet::web
