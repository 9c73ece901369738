#include "notify/templates.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/time.h"
#include "store/store.h"

namespace telemeet::notify {
namespace {

TEST(TemplatesTest, ReplacesVariablesWithOptionalSpaces) {
  Variables vars{{"patient_name", "Grace"}, {"doctor_name", "Dr. Ada"}};
  auto r = Render("Hi {{patient_name}}, see {{ doctor_name }}.", vars, Part::kText);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(*r, "Hi Grace, see Dr. Ada.");
}

TEST(TemplatesTest, KnownButMissingVariablesRenderEmpty) {
  auto r = Render("[{{meet_link}}]", {}, Part::kText);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "[]");
}

TEST(TemplatesTest, UnknownVariableIsAnErrorNamingIt) {
  for (Part p : {Part::kSubject, Part::kText, Part::kHtml}) {
    auto s = Validate("Hello {{patien_name}}", p);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(s.error().field(), Name(p));
    EXPECT_NE(s.error().message().find("patien_name"), std::string::npos) << s.error().message();
  }
  auto r = Render("{{nope}}", SampleVariables(), Part::kText);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("nope"), std::string::npos);
}

TEST(TemplatesTest, SyntaxErrors) {
  for (std::string_view bad : {"Hi {{patient_name", "{{}}", "{{#meet_link}} no end",
                               "{{/meet_link}}", "{{#meet_link}}x{{/doctor_name}}",
                               "{{#meet_link}}{{#doctor_name}}{{/meet_link}}{{/doctor_name}}"}) {
    auto s = Validate(bad, Part::kText, "text");
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(s.error().field(), "text");
  }
  EXPECT_TRUE(Validate("single { and } braces are text", Part::kText));
}

TEST(TemplatesTest, SectionsShowOnlyWhenTheVariableIsSet) {
  std::string_view src =
      "A{{#meet_link}}<{{meet_link}}{{#doctor_name}}+{{/doctor_name}}>"
      "{{/meet_link}}B";
  EXPECT_EQ(*Render(src, {{"meet_link", "L"}}, Part::kText), "A<L>B");
  EXPECT_EQ(*Render(src, {{"meet_link", "L"}, {"doctor_name", "D"}}, Part::kText), "A<L+>B");
  EXPECT_EQ(*Render(src, {{"meet_link", ""}, {"doctor_name", "D"}}, Part::kText), "AB");
  EXPECT_EQ(*Render(src, {}, Part::kText), "AB");
}

TEST(TemplatesTest, HtmlPartEscapesValuesTextPartDoesNot) {
  Variables vars{{"patient_name", "<script>alert(\"x\")</script> & 'co'"},
                 {"meet_link", "https://meet.google.com/abc?x=1&y=\"2\""}};
  std::string_view src = "<a href=\"{{meet_link}}\">{{patient_name}}</a>";
  auto html = Render(src, vars, Part::kHtml);
  ASSERT_TRUE(html);
  EXPECT_EQ(*html,
            "<a href=\"https://meet.google.com/abc?x=1&amp;y=&quot;2&quot;\">&lt;script&gt;"
            "alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;</a>");
  auto text = Render("{{patient_name}}", vars, Part::kText);
  EXPECT_EQ(*text, vars["patient_name"]);
}

TEST(TemplatesTest, SubjectCannotCarryHeaders) {
  Variables vars{{"patient_name", "Eve\r\nBcc: victim@example.com\nX: y"}};
  auto r = Render("Hello {{patient_name}}", vars, Part::kSubject);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->find('\r'), std::string::npos);
  EXPECT_EQ(r->find('\n'), std::string::npos);
  EXPECT_EQ(*r, "Hello Eve Bcc: victim@example.com X: y");
  // The template's own line breaks go too.
  EXPECT_EQ(*Render("a\r\nb", {}, Part::kSubject), "a b");
  EXPECT_EQ(SubjectSafe("  x\t\x01 y  "), "x y");
}

TEST(TemplatesTest, EveryDefaultTemplateValidatesAndRenders) {
  Variables vars = SampleVariables();
  for (std::string_view name : TemplateNames()) {
    Template t = DefaultTemplate(name);
    for (Part p : {Part::kSubject, Part::kText, Part::kHtml}) {
      EXPECT_TRUE(Validate(t.part(p), p)) << name << " " << Name(p);
      EXPECT_FALSE(t.part(p).empty()) << name << " " << Name(p);
    }
    auto m = RenderTemplate(t, vars);
    ASSERT_TRUE(m) << name << ": " << m.error().ToString();
    EXPECT_EQ(m->subject.find("{{"), std::string::npos) << name;
    EXPECT_EQ(m->text.find("{{"), std::string::npos) << name;
    EXPECT_EQ(m->html.find("{{"), std::string::npos) << name;
    EXPECT_TRUE(m->html.starts_with("<!DOCTYPE html>")) << name;
    EXPECT_NE(m->text.find("Example Clinic"), std::string::npos) << name;
  }
  // The ready mails carry the link in both parts; the patient's the appointment page too.
  auto ready = RenderTemplate(DefaultTemplate("meeting.ready.patient"), vars);
  EXPECT_NE(ready->text.find("https://meet.google.com/abc-defg-hij"), std::string::npos);
  EXPECT_NE(ready->html.find("href=\"https://meet.google.com/abc-defg-hij\""), std::string::npos);
  EXPECT_NE(ready->text.find(vars["patient_page_link"]), std::string::npos);
  EXPECT_NE(ready->subject.find(vars["appointment_start"]), std::string::npos);
  auto doctor = RenderTemplate(DefaultTemplate("meeting.ready.doctor"), vars);
  EXPECT_NE(doctor->text.find(vars["meet_event_link"]), std::string::npos);
  auto reconnect = RenderTemplate(DefaultTemplate("doctor.needs_reconnect.doctor"), vars);
  EXPECT_NE(reconnect->text.find(vars["reconnect_reason"]), std::string::npos);
  EXPECT_NE(reconnect->html.find("href=\"" + vars["app_link"] + "\""), std::string::npos);
  // Without a link yet, no empty "Join" button.
  vars["meet_link"] = "";
  ready = RenderTemplate(DefaultTemplate("meeting.ready.patient"), vars);
  EXPECT_EQ(ready->html.find("Join Google Meet"), std::string::npos);
}

TEST(TemplatesTest, HumanTimeIsInTheRecipientsZoneWithItsName) {
  Instant t = *core::ParseRfc3339("2026-03-30T08:00:00Z");
  EXPECT_EQ(HumanTime(t, "Europe/Berlin"), "Monday 30 March 2026, 10:00 CEST (Europe/Berlin)");
  EXPECT_EQ(HumanTime(t, "America/New_York"), "Monday 30 March 2026, 04:00 EDT (America/New_York)");
  EXPECT_EQ(HumanTime(*core::ParseRfc3339("2026-01-05T23:30:00Z"), "Asia/Tokyo"),
            "Tuesday 6 January 2026, 08:30 JST (Asia/Tokyo)");
  EXPECT_EQ(HumanTime(t, "Not/AZone"), "Monday 30 March 2026, 08:00 UTC (UTC)");
}

class TemplateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/notify_tmpl_XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto s = store::OpenStore("sqlite://" + dir_ + "/db.sqlite", clock_);
    ASSERT_TRUE(s) << s.error().ToString();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->Migrate());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  FakeClock clock_;
  std::string dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(TemplateStoreTest, OverridesAPartAndResetsIt) {
  const std::string name = "meeting.ready.patient";
  auto loaded = store_->Read([&](store::Tx& tx) { return LoadTemplate(tx, name); });
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->current.subject, DefaultTemplate(name).subject);
  EXPECT_FALSE(loaded->customized[0]);

  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) {
    return SaveTemplatePart(tx, name, Part::kSubject, "Your link, {{patient_name}}");
  }));
  loaded = store_->Read([&](store::Tx& tx) { return LoadTemplate(tx, name); });
  EXPECT_EQ(loaded->current.subject, "Your link, {{patient_name}}");
  EXPECT_TRUE(loaded->customized[static_cast<int>(Part::kSubject)]);
  EXPECT_FALSE(loaded->customized[static_cast<int>(Part::kText)]);
  EXPECT_EQ(loaded->current.text, DefaultTemplate(name).text);

  // A bad template is refused and leaves the stored one alone.
  auto bad = store_->Transact(
      [&](store::Tx& tx) { return SaveTemplatePart(tx, name, Part::kSubject, "{{patient_nam}}"); });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field(), "subject");
  EXPECT_NE(bad.error().message().find("patient_nam"), std::string::npos);
  auto empty = store_->Transact(
      [&](store::Tx& tx) { return SaveTemplatePart(tx, name, Part::kText, "  "); });
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code(), ErrorCode::kInvalidArgument);
  loaded = store_->Read([&](store::Tx& tx) { return LoadTemplate(tx, name); });
  EXPECT_EQ(loaded->current.subject, "Your link, {{patient_name}}");

  ASSERT_TRUE(
      store_->Transact([&](store::Tx& tx) { return ResetTemplatePart(tx, name, Part::kSubject); }));
  loaded = store_->Read([&](store::Tx& tx) { return LoadTemplate(tx, name); });
  EXPECT_EQ(loaded->current.subject, DefaultTemplate(name).subject);
  EXPECT_FALSE(loaded->customized[0]);

  auto unknown = store_->Read([&](store::Tx& tx) { return LoadTemplate(tx, "meeting.nope"); });
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace telemeet::notify
