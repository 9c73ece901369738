#include "web/web.h"

#include <gtest/gtest.h>

#include "api/testing_env.h"
#include "web/assets.h"

namespace telemeet::web {
namespace {

using api::testing::ApiEnv;
using api::testing::Credentials;

class WebTest : public ::testing::Test {
 protected:
  void Register(bool sandbox) { RegisterWebRoutes(env_.router, *env_.deps, {.sandbox = sandbox}); }
  net::Response Get(const std::string& target, const Credentials& who = {},
                    net::Headers extra = {}) {
    return env_.Call("GET", target, nullptr, who, std::move(extra));
  }
  static void ExpectSecure(const net::Response& r) {
    EXPECT_EQ(r.headers.Get("Content-Security-Policy"), std::string(kContentSecurityPolicy));
    EXPECT_EQ(r.headers.Get("Referrer-Policy"), "no-referrer");
    EXPECT_EQ(r.headers.Get("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r.headers.Get("X-Frame-Options"), "DENY");
  }

  ApiEnv env_;
};

TEST_F(WebTest, PagesAreHtmlWithSecurityHeaders) {
  Register(false);
  for (const char* path : {"/signin", "/doctor", "/admin", "/p"}) {
    auto r = Get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.headers.Get("Content-Type"), "text/html; charset=utf-8") << path;
    EXPECT_EQ(r.headers.Get("Cache-Control"), "no-cache") << path;
    EXPECT_TRUE(r.headers.Has("ETag")) << path;
    EXPECT_NE(r.body.find("<main id=\"main\""), std::string::npos) << path;
    ExpectSecure(r);
  }
  auto csp = std::string(kContentSecurityPolicy);
  EXPECT_NE(csp.find("script-src 'self';"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
}

TEST_F(WebTest, SandboxBannerIsRenderedIntoEveryPageOnlyInSandboxMode) {
  Register(true);
  for (const char* path : {"/signin", "/doctor", "/admin", "/p"}) {
    auto r = Get(path);
    EXPECT_NE(r.body.find("Sandbox: Google is emulated"), std::string::npos) << path;
  }
  ApiEnv other;
  RegisterWebRoutes(other.router, *other.deps, {.sandbox = false});
  for (const char* path : {"/signin", "/doctor", "/admin", "/p"}) {
    auto r = other.Call("GET", path, nullptr, {});
    EXPECT_EQ(r.body.find("Sandbox"), std::string::npos) << path;
  }
}

// While no enabled admin exists, /signin says so and names the command that makes one; once one
// exists (made by the CLI while the service runs) the plain page is back.
TEST_F(WebTest, SignInSaysNoAdministratorYetUntilOneExists) {
  RegisterWebRoutes(env_.router, *env_.deps,
                    {.first_admin_command = "telemeet users create --email <e> --role admin"});
  auto admin =
      env_.store().Read([](store::Tx& tx) { return tx.GetUserByEmail("admin@clinic.example"); });
  ASSERT_TRUE(admin.has_value());
  admin->disabled = true;
  ASSERT_TRUE(env_.store().Transact([&](store::Tx& tx) { return tx.UpdateUser(*admin); }));
  auto r = Get("/signin");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("No administrator yet"), std::string::npos);
  EXPECT_NE(r.body.find("telemeet users create --email &lt;e&gt; --role admin"), std::string::npos);
  EXPECT_EQ(r.body.find("{{"), std::string::npos);
  ExpectSecure(r);

  admin->disabled = false;
  ASSERT_TRUE(env_.store().Transact([&](store::Tx& tx) { return tx.UpdateUser(*admin); }));
  r = Get("/signin");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("No administrator yet"), std::string::npos);
  EXPECT_NE(r.body.find("<form id=\"signin-form\""), std::string::npos);
}

// The Google connect flow's last page (answered by the API's callback route) looks like the
// UI's pages: stylesheet, header, a way back, the UI's security headers, the banner in sandbox
// mode only.
TEST_F(WebTest, CallbackPagesLookLikeTheUiWithTheBannerOnlyInSandboxMode) {
  const Asset* css = FindAsset("app.css");
  ASSERT_NE(css, nullptr);
  for (bool sandbox : {true, false}) {
    SCOPED_TRACE(sandbox ? "sandbox" : "real Google");
    env_.deps->render_page = BrowserPages({.sandbox = sandbox});
    // No state: the "incomplete" page; a state but no Google configured: the 503 page.
    const std::pair<const char*, int> kPages[] = {{"/oauth/google/callback?code=abc", 400},
                                                  {"/oauth/google/callback?state=s&code=abc", 503}};
    for (const auto& [target, status] : kPages) {
      auto r = Get(target);
      EXPECT_EQ(r.status, status) << target;
      EXPECT_EQ(r.headers.Get("Content-Type"), "text/html; charset=utf-8") << target;
      EXPECT_EQ(r.headers.Get("Cache-Control"), "no-store") << target;
      ExpectSecure(r);
      EXPECT_NE(r.body.find("<link rel=\"stylesheet\" href=\"/assets/app.css?v=" + css->version),
                std::string::npos)
          << r.body;
      EXPECT_NE(r.body.find("<a class=\"brand\" href=\"/\">telemeet</a>"), std::string::npos);
      EXPECT_NE(r.body.find("<main id=\"main\""), std::string::npos);
      EXPECT_NE(r.body.find("href=\"/\">Back to your page</a>"), std::string::npos);
      EXPECT_EQ(r.body.find("<script"), std::string::npos);
      EXPECT_EQ(r.body.find("{{"), std::string::npos) << r.body;
      EXPECT_EQ(r.body.find("Sandbox: Google is emulated") != std::string::npos, sandbox) << r.body;
    }
    EXPECT_NE(Get("/oauth/google/callback")
                  .body.find("<title>This sign-in link is incomplete - telemeet</title>"),
              std::string::npos);
  }
}

TEST_F(WebTest, BrowserPagesEscapeTheirWords) {
  auto render = BrowserPages({.sandbox = true});
  auto r = render({.status = 400,
                   .title = "<b>Tom & \"Jerry\"</b>",
                   .message = "<script>alert(1)</script> {{sandbox_banner}} {{title}}",
                   .link_href = "/doctor\" onclick=\"x",
                   .link_text = "<i>back</i>"});
  EXPECT_EQ(r.status, 400);
  const std::string title = "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;";
  EXPECT_NE(r.body.find("<title>" + title + " - telemeet</title>"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<h1>" + title + "</h1>"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(r.body.find("<script"), std::string::npos);
  EXPECT_EQ(r.body.find("<i>"), std::string::npos);
  EXPECT_NE(r.body.find("href=\"/doctor&quot; onclick=&quot;x\""), std::string::npos);
  // Placeholders in the words stay words; the banner appears once.
  EXPECT_NE(r.body.find("{{sandbox_banner}} {{title}}"), std::string::npos);
  auto first = r.body.find("Sandbox: Google is emulated");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(r.body.find("Sandbox: Google is emulated", first + 1), std::string::npos);
}

TEST_F(WebTest, AssetsCarryTypesEtagsAndCaching) {
  Register(false);
  const Asset* js = FindAsset("app.js");
  ASSERT_NE(js, nullptr);
  auto plain = Get("/assets/app.js");
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.headers.Get("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(plain.headers.Get("ETag"), js->etag);
  EXPECT_EQ(plain.headers.Get("Cache-Control"), "no-cache");
  EXPECT_EQ(plain.body, js->content);
  ExpectSecure(plain);

  auto versioned = Get("/assets/app.js?v=" + js->version);
  EXPECT_EQ(versioned.headers.Get("Cache-Control"), "public, max-age=31536000, immutable");
  auto stale = Get("/assets/app.js?v=0000000000");
  EXPECT_EQ(stale.headers.Get("Cache-Control"), "no-cache");

  net::Headers inm;
  inm.Set("If-None-Match", js->etag);
  auto cached = Get("/assets/app.js", {}, inm);
  EXPECT_EQ(cached.status, 304);
  EXPECT_TRUE(cached.body.empty());
  EXPECT_EQ(cached.headers.Get("ETag"), js->etag);

  EXPECT_EQ(Get("/assets/app.css").headers.Get("Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(Get("/assets/icon.svg").headers.Get("Content-Type"), "image/svg+xml");
  EXPECT_EQ(Get("/assets/nothing.js").status, 404);
  // Pages are served at their own paths only, with their placeholders filled.
  EXPECT_EQ(Get("/assets/signin.html").status, 404);
  EXPECT_EQ(Get("/signin").body.find("{{"), std::string::npos);
}

TEST_F(WebTest, PagesLinkVersionedAssets) {
  Register(false);
  auto page = Get("/signin");
  const Asset* css = FindAsset("app.css");
  EXPECT_NE(page.body.find("/assets/app.css?v=" + css->version), std::string::npos);
  net::Headers inm;
  inm.Set("If-None-Match", *page.headers.Get("ETag"));
  EXPECT_EQ(Get("/signin", {}, inm).status, 304);
}

TEST_F(WebTest, RootSendsEachUserToTheirPage) {
  Register(false);
  auto anonymous = Get("/");
  EXPECT_EQ(anonymous.status, 303);
  EXPECT_EQ(anonymous.headers.Get("Location"), "/signin");
  ExpectSecure(anonymous);

  EXPECT_EQ(Get("/", env_.admin).headers.Get("Location"), "/admin");

  auto doctor = env_.Call("POST", "/api/v1/doctors",
                          {{"name", "Dr Ada"}, {"email", "ada@clinic.example"}}, env_.admin);
  ASSERT_EQ(doctor.status, 201) << doctor.body;
  auto user = env_.Call("POST", "/api/v1/users",
                        {{"email", "ada@clinic.example"},
                         {"password", "a doctor's password"},
                         {"role", "doctor"},
                         {"doctor_id", ApiEnv::J(doctor)["id"]}},
                        env_.admin);
  ASSERT_EQ(user.status, 201) << user.body;
  Credentials ada = env_.Login("ada@clinic.example", "a doctor's password");
  ASSERT_FALSE(ada.cookie.empty());
  EXPECT_EQ(Get("/", ada).headers.Get("Location"), "/doctor");

  // A stale cookie is no session; an API key is no browser user.
  EXPECT_EQ(Get("/", {.cookie = "not-a-session"}).headers.Get("Location"), "/signin");
  EXPECT_EQ(Get("/", env_.write_key).headers.Get("Location"), "/signin");
}

TEST_F(WebTest, CalendarFileForAPatientLink) {
  Register(false);
  auto doctor = ApiEnv::J(env_.Call("POST", "/api/v1/doctors",
                                    {{"name", "Dr Ada Lovelace"}, {"email", "ada@clinic.example"}},
                                    env_.write_key));
  auto service = ApiEnv::J(env_.Call("POST", "/api/v1/services",
                                     {{"name", "Video consultation"}, {"telemedicine", true}},
                                     env_.write_key));
  auto patient =
      ApiEnv::J(env_.Call("POST", "/api/v1/patients", {{"name", "Mary Seacole"}}, env_.write_key));
  auto booked = env_.Call("POST", "/api/v1/appointments",
                          {{"doctor_id", doctor["id"]},
                           {"service_id", service["id"]},
                           {"patient_id", patient["id"]},
                           {"start", "2026-06-02T09:00:00Z"},
                           {"time_zone", "Europe/London"}},
                          env_.write_key);
  ASSERT_EQ(booked.status, 201) << booked.body;
  std::string url = ApiEnv::J(booked)["access_link"]["url"];
  std::string token = url.substr(url.find("token=") + 6);

  auto ics = Get("/p/calendar.ics?token=" + token);
  ASSERT_EQ(ics.status, 200) << ics.body;
  EXPECT_EQ(ics.headers.Get("Content-Type"), "text/calendar; charset=utf-8");
  EXPECT_EQ(ics.headers.Get("Content-Disposition"), "attachment; filename=\"consultation.ics\"");
  EXPECT_EQ(ics.headers.Get("Cache-Control"), "no-store");
  ExpectSecure(ics);
  EXPECT_TRUE(ics.body.starts_with("BEGIN:VCALENDAR\r\n")) << ics.body;
  EXPECT_NE(ics.body.find("METHOD:PUBLISH"), std::string::npos);
  EXPECT_NE(ics.body.find("SUMMARY:Video consultation with Dr Ada Lovelace"), std::string::npos);
  EXPECT_NE(ics.body.find("DTSTART:20260602T090000Z"), std::string::npos) << ics.body;
  EXPECT_EQ(ics.body.find("STATUS:CANCELLED"), std::string::npos);
  EXPECT_EQ(ics.body.find("ada@clinic.example"), std::string::npos);

  int64_t id = ApiEnv::J(booked)["id"];
  ASSERT_EQ(env_.Call("POST", "/api/v1/appointments/" + std::to_string(id) + "/cancel", nullptr,
                      env_.write_key)
                .status,
            200);
  EXPECT_NE(Get("/p/calendar.ics?token=" + token).body.find("STATUS:CANCELLED"), std::string::npos);

  auto unknown = Get("/p/calendar.ics?token=nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Get("/p/calendar.ics").status, 404);
}

}  // namespace
}  // namespace telemeet::web
