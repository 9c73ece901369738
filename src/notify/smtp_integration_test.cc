// SmtpMailer against a real SMTP server (aiosmtpd on 127.0.0.1), and FileMailer on disk.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/ics.h"
#include "core/time.h"
#include "notify/smtp.h"
#include "notify/testing/smtp_sink.h"

namespace telemeet::notify {
namespace {

using testing::SinkOptions;
using testing::SmtpSink;

SmtpConfig ConfigFor(const SmtpSink& sink) {
  SmtpConfig c;
  c.enabled = true;
  c.host = "127.0.0.1";
  c.port = sink.port();
  c.tls = SmtpTls::kNone;
  c.from = "Example Clinic <noreply@clinic.example>";
  c.connect_timeout = std::chrono::seconds(5);
  c.timeout = std::chrono::seconds(20);
  return c;
}

Email Sample() {
  Email e;
  e.to = {{.name = "Grace Hopper", .address = "grace@mail.example"}};
  e.subject = "Ihre Videosprechstunde — Montag, 30. März";
  e.text = "Hello Grace,\n\nJoin Google Meet: https://meet.google.com/abc-defg-hij\n";
  e.html =
      "<p>Hello Grace &amp; co,</p><p><a href=\"https://meet.google.com/abc-defg-hij\">"
      "Join Google Meet</a></p>";
  core::IcsEvent ev;
  ev.uid = core::IcsUid("0123456789abcdef0123456789abcdef");
  ev.sequence = 2;
  ev.start = *core::ParseRfc3339("2026-03-30T08:00:00Z");
  ev.end = *core::ParseRfc3339("2026-03-30T08:30:00Z");
  ev.summary = "Video consultation, Dr. Ada";
  ev.meet_link = "https://meet.google.com/abc-defg-hij";
  ev.organizer = {.name = "Dr. Ada", .email = "ada@clinic.example"};
  ev.attendee = {.name = "Grace Hopper", .email = "grace@mail.example"};
  e.calendar = CalendarAttachment{.ics = core::BuildIcs(ev)};
  return e;
}

std::string IcsProperty(const std::string& ics, std::string_view name) {
  for (const std::string& line : core::IcsUnfold(ics)) {
    if (line.starts_with(std::string(name) + ":")) return line.substr(name.size() + 1);
  }
  return "";
}

TEST(SmtpIntegrationTest, DeliversAMimeMessageWithTheCalendar) {
  SmtpSink sink;
  ASSERT_TRUE(sink.Start());
  SmtpMailer mailer(ConfigFor(sink));
  Email e = Sample();
  auto r = mailer.Send(e, *core::ParseRfc3339("2026-03-01T09:00:00Z"));
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_TRUE(r->reply.starts_with("250 2.0.0 Ok: queued as SINK")) << r->reply;
  auto mail = sink.WaitFor(1);
  ASSERT_EQ(mail.size(), 1u);
  const auto& m = mail[0];
  EXPECT_EQ(m["mail_from"], "noreply@clinic.example");
  EXPECT_EQ(m["rcpt_tos"], nlohmann::json::array({"grace@mail.example"}));
  EXPECT_EQ(m["subject"], e.subject);  // RFC 2047 decoded by Python's parser
  EXPECT_EQ(m["from"], "Example Clinic <noreply@clinic.example>");
  EXPECT_EQ(m["to"], "Grace Hopper <grace@mail.example>");
  EXPECT_EQ(m["message_id"], r->message_id);
  EXPECT_EQ(m["date"], "Sun, 01 Mar 2026 09:00:00 +0000");
  EXPECT_EQ(m["defects"], nlohmann::json::array());
  // On the wire every line ends in CRLF; Python's parser keeps them.
  EXPECT_EQ(m["text"],
            "Hello Grace,\r\n\r\nJoin Google Meet: https://meet.google.com/abc-defg-hij\r\n");
  EXPECT_EQ(m["html"], e.html);
  ASSERT_EQ(m["attachments"].size(), 1u);
  const auto& a = m["attachments"][0];
  EXPECT_EQ(a["content_type"], "text/calendar");
  EXPECT_EQ(a["method"], "REQUEST");
  EXPECT_EQ(a["filename"], "invite.ics");
  std::string ics = a["content"];
  EXPECT_EQ(IcsProperty(ics, "UID"), "0123456789abcdef0123456789abcdef@telemeet");
  EXPECT_EQ(IcsProperty(ics, "METHOD"), "REQUEST");
  EXPECT_EQ(IcsProperty(ics, "SEQUENCE"), "2");
  EXPECT_EQ(IcsProperty(ics, "URL"), "https://meet.google.com/abc-defg-hij");
  EXPECT_EQ(core::IcsUnescapeText(IcsProperty(ics, "SUMMARY")), "Video consultation, Dr. Ada");
}

TEST(SmtpIntegrationTest, AuthenticatesAndNeverReportsThePassword) {
  SmtpSink sink(SinkOptions{.user = "telemeet", .password = "s3cret-Pa55"});
  ASSERT_TRUE(sink.Start());
  SmtpConfig c = ConfigFor(sink);
  c.username = "telemeet";
  c.password = "s3cret-Pa55";
  auto ok = SmtpMailer(c).Send(Sample(), Instant{});
  ASSERT_TRUE(ok) << ok.error().ToString();
  auto mail = sink.WaitFor(1);
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(mail[0]["auth_user"], "telemeet");

  c.password = "wrong-Pa55word";
  auto bad = SmtpMailer(c).Send(Sample(), Instant{});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kUnavailable) << bad.error().ToString();
  EXPECT_EQ(bad.error().message().find("wrong-Pa55word"), std::string::npos);
  EXPECT_NE(bad.error().message().find("535"), std::string::npos) << bad.error().message();
  // Without credentials the server refuses the mail (530 auth required): permanent.
  c.username.clear();
  auto none = SmtpMailer(c).Send(Sample(), Instant{});
  ASSERT_FALSE(none);
  EXPECT_EQ(sink.Messages().size(), 1u);
}

TEST(SmtpIntegrationTest, StartTlsIsUsedWhenConfigured) {
  SmtpSink sink(SinkOptions{.starttls = true});
  ASSERT_TRUE(sink.Start());
  SmtpConfig c = ConfigFor(sink);
  // A server requiring STARTTLS refuses a client that does not speak it.
  auto plain = SmtpMailer(c).Send(Sample(), Instant{});
  ASSERT_FALSE(plain);
  c.tls = SmtpTls::kStartTls;
  c.verify_peer = false;  // the sink's certificate is self-signed
  auto r = SmtpMailer(c).Send(Sample(), Instant{});
  ASSERT_TRUE(r) << r.error().ToString();
  auto mail = sink.WaitFor(1);
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(mail[0]["tls"], true);
  // With verification on, the self-signed certificate is refused.
  c.verify_peer = true;
  auto verified = SmtpMailer(c).Send(Sample(), Instant{});
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code(), ErrorCode::kUnavailable);
}

TEST(SmtpIntegrationTest, ImplicitTlsIsSmtps) {
  SmtpSink sink(SinkOptions{.implicit_tls = true});
  ASSERT_TRUE(sink.Start());
  SmtpConfig c = ConfigFor(sink);
  c.tls = SmtpTls::kTls;
  c.verify_peer = false;  // the sink's certificate is self-signed
  SmtpMailer mailer(c);
  EXPECT_EQ(mailer.Describe(), "smtps://127.0.0.1:" + std::to_string(sink.port()) + " (tls)");
  auto r = mailer.Send(Sample(), Instant{});
  ASSERT_TRUE(r) << r.error().ToString();
  auto mail = sink.WaitFor(1);
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(mail[0]["tls"], true);
  // Plain SMTP against a TLS port does not get through.
  c.tls = SmtpTls::kNone;
  c.timeout = std::chrono::seconds(3);
  EXPECT_FALSE(SmtpMailer(c).Send(Sample(), Instant{}));
}

TEST(SmtpIntegrationTest, ARefusedRecipientIsPermanent) {
  SmtpSink sink(SinkOptions{.reject = {"nobody@mail.example"}});
  ASSERT_TRUE(sink.Start());
  Email e = Sample();
  e.to = {{.address = "nobody@mail.example"}};
  auto r = SmtpMailer(ConfigFor(sink)).Send(e, Instant{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().ToString();
  EXPECT_NE(r.error().message().find("550"), std::string::npos) << r.error().message();
}

TEST(SmtpIntegrationTest, ADownServerIsUnavailableThenWorksOnceUp) {
  SmtpSink sink;  // not started
  SmtpMailer mailer(ConfigFor(sink));
  auto r = mailer.Send(Sample(), Instant{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable) << r.error().ToString();
  ASSERT_TRUE(sink.Start());
  auto again = mailer.Send(Sample(), Instant{});
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(sink.WaitFor(1).size(), 1u);
}

TEST(SmtpIntegrationTest, FileMailerWritesOneEmlPerMessage) {
  char tmpl[] = "/tmp/notify_files_XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  auto mailer = MakeMailer(SmtpConfig{}, dir + "/mail");
  ASSERT_TRUE(mailer);
  EXPECT_EQ((*mailer)->Describe(), "files in " + dir + "/mail");
  auto r1 = (*mailer)->Send(Sample(), *core::ParseRfc3339("2026-03-01T09:00:00Z"));
  auto r2 = (*mailer)->Send(Sample(), *core::ParseRfc3339("2026-03-01T09:00:00Z"));
  ASSERT_TRUE(r1 && r2);
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/mail")) files.push_back(e);
  ASSERT_EQ(files.size(), 2u);
  for (const auto& f : files) {
    EXPECT_EQ(f.extension(), ".eml");
    auto perms = std::filesystem::status(f).permissions();
    EXPECT_EQ(perms & std::filesystem::perms::group_read, std::filesystem::perms::none);
    std::ifstream in(f);
    std::stringstream s;
    s << in.rdbuf();
    EXPECT_NE(s.str().find("From: telemeet <telemeet@localhost>\r\n"), std::string::npos);
    EXPECT_NE(s.str().find("To: Grace Hopper <grace@mail.example>\r\n"), std::string::npos);
  }
  EXPECT_TRUE(r1->reply.starts_with("saved to " + dir + "/mail/"));
  std::filesystem::remove_all(dir);
}

TEST(SmtpIntegrationTest, MakeMailerValidatesAnEnabledConfig) {
  SmtpConfig c;
  c.enabled = true;
  auto r = MakeMailer(c, "/nonexistent");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field(), "smtp.host");
  c.host = "mail.clinic.example";
  c.from = "not an address";
  r = MakeMailer(c, "/nonexistent");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field(), "smtp.from");
  c.from = "noreply@clinic.example";
  r = MakeMailer(c, "/nonexistent");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->Describe(), "smtp://mail.clinic.example:587 (starttls)");
}

}  // namespace
}  // namespace telemeet::notify
