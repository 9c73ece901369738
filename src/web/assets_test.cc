#include "web/assets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace telemeet::web {
namespace {

TEST(AssetsTest, ContentTypesByExtension) {
  EXPECT_EQ(ContentTypeFor("a.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("app.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("icon.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("blob"), "application/octet-stream");
}

TEST(AssetsTest, EtagFollowsContent) {
  Asset a = MakeAsset("x.css", "body{}");
  Asset b = MakeAsset("x.css", "body{}");
  Asset c = MakeAsset("x.css", "body{ }");
  EXPECT_EQ(a.etag, b.etag);
  EXPECT_NE(a.etag, c.etag);
  EXPECT_EQ(a.etag.front(), '"');
  EXPECT_EQ(a.etag.back(), '"');
  EXPECT_EQ(a.version.size(), 10u);
}

TEST(AssetsTest, EveryPageAndScriptIsEmbedded) {
  for (const char* name : {"signin.html", "doctor.html", "admin.html", "patient.html",
                           "message.html", "app.css", "app.js", "signin.js", "icon.svg"}) {
    const Asset* a = FindAsset(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_FALSE(a->content.empty()) << name;
  }
  EXPECT_EQ(FindAsset("missing.js"), nullptr);
}

// The embedding keeps every byte (semicolons, backslashes, quotes) and misses no file.
TEST(AssetsTest, EmbeddedFilesMatchTheSourceTree) {
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(TELEMEET_WEB_ASSETS_DIR)) {
    ++files;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream source;
    source << in.rdbuf();
    const Asset* a = FindAsset(entry.path().filename().string());
    ASSERT_NE(a, nullptr) << entry.path();
    EXPECT_EQ(a->content, source.str()) << entry.path();
  }
  EXPECT_EQ(EmbeddedFiles().size(), files);
}

TEST(AssetsTest, RenderPageFillsPlaceholders) {
  const Asset* css = FindAsset("app.css");
  ASSERT_NE(css, nullptr);
  EXPECT_EQ(RenderPage("<a>{{sandbox_banner}}</a><link href=\"{{asset:app.css}}\">", "B!"),
            "<a>B!</a><link href=\"/assets/app.css?v=" + css->version + "\">");
  EXPECT_EQ(RenderPage("{{asset:nope.css}} {{other}} {{unclosed", ""),
            "{{asset:nope.css}} {{other}} {{unclosed");
}

TEST(AssetsTest, RenderPageFillsFieldsWithoutRescanningThem) {
  const PageField fields[] = {{"title", "T&amp;{{message}}"}, {"message", "{{sandbox_banner}}"}};
  EXPECT_EQ(
      RenderPage("<h1>{{title}}</h1>{{sandbox_banner}}<p>{{message}}</p>{{other}}", "B!", fields),
      "<h1>T&amp;{{message}}</h1>B!<p>{{sandbox_banner}}</p>{{other}}");
}

TEST(AssetsTest, NoPageHasInlineScriptOrUnfilledPlaceholders) {
  for (const EmbeddedFile& f : EmbeddedFiles()) {
    std::string_view name = f.name;
    if (!name.ends_with(".html")) continue;
    // The fields of the API's browser pages (message.html; web::BrowserPages) and the sign-in
    // page's first-admin notice (web.cc).
    const PageField fields[] = {{"title", "T"},
                                {"message", "M"},
                                {"link_href", "/"},
                                {"link_text", "L"},
                                {"setup_notice", ""}};
    std::string page = RenderPage(f.content, "", fields);
    EXPECT_EQ(page.find("{{"), std::string::npos) << name;
    // Every <script> has a src (the CSP allows no inline script) and no inline handlers.
    for (size_t pos = page.find("<script"); pos != std::string::npos;
         pos = page.find("<script", pos + 1)) {
      std::string tag = page.substr(pos, page.find('>', pos) - pos);
      EXPECT_NE(tag.find(" src=\"/assets/"), std::string::npos) << name << ": " << tag;
    }
    EXPECT_EQ(page.find(" onclick="), std::string::npos) << name;
    EXPECT_EQ(page.find(" style="), std::string::npos) << name;
  }
}

TEST(AssetsTest, EtagMatchesLists) {
  EXPECT_TRUE(EtagMatches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(EtagMatches("\"x\", W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(EtagMatches("*", "\"abc\""));
  EXPECT_FALSE(EtagMatches("\"abd\"", "\"abc\""));
  EXPECT_FALSE(EtagMatches("", "\"abc\""));
}

}  // namespace
}  // namespace telemeet::web
