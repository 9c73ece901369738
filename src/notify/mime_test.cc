#include "notify/mime.h"

#include <gtest/gtest.h>

#include "core/time.h"
#include "crypto/encoding.h"

namespace telemeet::notify {
namespace {

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find("\r\n", pos);
    if (end == std::string_view::npos) end = text.size();
    out.emplace_back(text.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

// The header block (unfolded) as name -> value.
std::map<std::string, std::string> Headers(std::string_view message) {
  std::map<std::string, std::string> out;
  std::string last;
  for (const std::string& line : Lines(message.substr(0, message.find("\r\n\r\n")))) {
    if (!line.empty() && line[0] == ' ') {
      out[last] += line;
      continue;
    }
    size_t colon = line.find(':');
    last = line.substr(0, colon);
    out[last] = line.substr(colon + 2);
  }
  return out;
}

// Decodes one "=?UTF-8?B?...?=" sequence (words separated by folding whitespace).
std::string DecodeWords(std::string_view v) {
  std::string out;
  size_t pos = 0;
  while ((pos = v.find("=?UTF-8?B?", pos)) != std::string_view::npos) {
    size_t end = v.find("?=", pos + 10);
    out += *crypto::Base64Decode(v.substr(pos + 10, end - pos - 10));
    pos = end + 2;
  }
  return out;
}

Email Sample() {
  Email e;
  e.from = {.name = "Example Clinic", .address = "noreply@clinic.example"};
  e.to = {{.name = "Grace Hopper", .address = "grace@mail.example"}};
  e.subject = "Your video consultation";
  e.text = "Hello Grace,\njoin: https://meet.google.com/abc-defg-hij\n";
  e.html = "<p>Hello Grace, <a href=\"https://meet.google.com/abc-defg-hij\">join</a></p>";
  return e;
}

TEST(MimeTest, ParsesMailboxes) {
  auto m = ParseMailbox("Example Clinic <noreply@clinic.example>");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "Example Clinic");
  EXPECT_EQ(m->address, "noreply@clinic.example");
  m = ParseMailbox("\"Hopper, Grace\" <grace@mail.example>");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "Hopper, Grace");
  m = ParseMailbox("  plain@mail.example ");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "");
  EXPECT_EQ(m->address, "plain@mail.example");
  for (std::string_view bad : {"", "no-at-sign", "a@b@c.example", "Name <>", "a b@c.example",
                               "x@y.example\r\nBcc: z@evil.example", "@c.example", "a@"}) {
    auto r = ParseMailbox(bad, "smtp.from");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().field(), "smtp.from");
  }
}

TEST(MimeTest, FormatsMailboxesSafely) {
  EXPECT_EQ(FormatMailbox({.name = "Grace Hopper", .address = "g@x.example"}),
            "Grace Hopper <g@x.example>");
  EXPECT_EQ(FormatMailbox({.name = "Hopper, \"Amazing\" Grace", .address = "g@x.example"}),
            "\"Hopper, \\\"Amazing\\\" Grace\" <g@x.example>");
  EXPECT_EQ(FormatMailbox({.name = "", .address = "g@x.example"}), "g@x.example");
  std::string encoded = FormatMailbox({.name = "Jürgen Müller", .address = "j@x.example"});
  EXPECT_TRUE(encoded.starts_with("=?UTF-8?B?")) << encoded;
  EXPECT_EQ(DecodeWords(encoded), "Jürgen Müller");
  EXPECT_TRUE(encoded.ends_with(" <j@x.example>"));
}

TEST(MimeTest, HeaderWordsEncodeNonAsciiAndNeverSplitCharacters) {
  EXPECT_EQ(EncodeHeaderWord("Plain subject"), "Plain subject");
  EXPECT_EQ(EncodeHeaderWord("Line\r\nBcc: x@y"), "Line Bcc: x@y");
  std::string subject;
  for (int i = 0; i < 40; ++i) subject += "Überweisung 日本 😀 ";
  std::string enc = EncodeHeaderWord(subject);
  for (const std::string& line : Lines(enc)) {
    std::string_view word = line;
    if (word.starts_with(' ')) word.remove_prefix(1);
    EXPECT_LE(word.size(), 75u);
    ASSERT_TRUE(word.starts_with("=?UTF-8?B?") && word.ends_with("?=")) << word;
    // Each word decodes to whole UTF-8 characters on its own.
    auto bytes = crypto::Base64Decode(word.substr(10, word.size() - 12));
    ASSERT_TRUE(bytes);
    auto first = static_cast<unsigned char>((*bytes)[0]);
    auto last = static_cast<unsigned char>(bytes->back());
    EXPECT_NE(first & 0xC0, 0x80u) << "word starts inside a character";
    EXPECT_LT(last, 0xC0u) << "word ends with a lead byte";
  }
  EXPECT_EQ(DecodeWords(enc), subject);
}

TEST(MimeTest, QuotedPrintableRoundTripsAndKeepsLinesShort) {
  std::string text = "Hello Grüße, a=b\n" + std::string(200, 'x') + "\ntrailing space \n" +
                     "tab\t\n" + std::string(100, '=') + "\n日本語のテキスト" +
                     std::string(30, 'y') + "\n";
  std::string qp = QuotedPrintable(text);
  for (const std::string& line : Lines(qp)) {
    EXPECT_LE(line.size(), 76u) << line;
    EXPECT_FALSE(line.ends_with(' ') || line.ends_with('\t')) << "trailing blank: " << line;
    for (char c : line) EXPECT_LT(static_cast<unsigned char>(c), 0x80u);
  }
  std::string back = DecodeQuotedPrintable(qp);
  std::string crlf;
  for (char c : text) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  EXPECT_EQ(back, crlf);
  EXPECT_EQ(QuotedPrintable("a=b"), "a=3Db");
  EXPECT_EQ(QuotedPrintable("x \r\ny"), "x=20\r\ny");
}

TEST(MimeTest, BuildsHeadersAndAlternativeParts) {
  Instant date = *core::ParseRfc3339("2026-12-01T08:00:05Z");
  std::string msg = BuildMime(Sample(), date, "<id1@clinic.example>");
  auto h = Headers(msg);
  EXPECT_EQ(h["Date"], "Tue, 01 Dec 2026 08:00:05 +0000");
  EXPECT_EQ(h["From"], "Example Clinic <noreply@clinic.example>");
  EXPECT_EQ(h["To"], "Grace Hopper <grace@mail.example>");
  EXPECT_EQ(h["Subject"], "Your video consultation");
  EXPECT_EQ(h["Message-ID"], "<id1@clinic.example>");
  EXPECT_EQ(h["MIME-Version"], "1.0");
  EXPECT_TRUE(h["Content-Type"].starts_with("multipart/alternative; boundary="))
      << h["Content-Type"];
  EXPECT_NE(msg.find("Content-Type: text/plain; charset=utf-8"), std::string::npos);
  EXPECT_NE(msg.find("Content-Type: text/html; charset=utf-8"), std::string::npos);
  EXPECT_NE(DecodeQuotedPrintable(msg).find("https://meet.google.com/abc-defg-hij"),
            std::string::npos);
  // CRLF only, nothing longer than 998 octets.
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\n') {
      EXPECT_EQ(msg[i - 1], '\r');
    }
  }
  for (const std::string& line : Lines(msg)) EXPECT_LE(line.size(), 998u);
}

TEST(MimeTest, AttachesTheCalendarWithItsMethod) {
  Email e = Sample();
  e.subject = "Ihre Videosprechstunde am Montag, 30. März";
  core::IcsEvent ev;
  ev.uid = core::IcsUid("abc");
  ev.summary = "Consultation";
  e.calendar = CalendarAttachment{.ics = core::BuildIcs(ev), .method = core::IcsMethod::kCancel};
  std::string msg = BuildMime(e, Instant{}, "<id2@clinic.example>");
  auto h = Headers(msg);
  EXPECT_EQ(DecodeWords(h["Subject"]), e.subject);
  EXPECT_TRUE(h["Content-Type"].starts_with("multipart/mixed; boundary=\""));
  std::string boundary = h["Content-Type"].substr(h["Content-Type"].find('"') + 1);
  boundary.pop_back();
  EXPECT_NE(msg.find("\r\n--" + boundary + "--\r\n"), std::string::npos);
  size_t cal = msg.find(
      "Content-Type: text/calendar; charset=utf-8; method=CANCEL; "
      "name=\"invite.ics\"");
  ASSERT_NE(cal, std::string::npos);
  EXPECT_NE(msg.find("Content-Disposition: attachment; filename=\"invite.ics\""),
            std::string::npos);
  size_t body = msg.find("\r\n\r\n", cal) + 4;
  size_t end = msg.find("\r\n--" + boundary + "--", body);
  std::string b64;
  for (char c : msg.substr(body, end - body)) {
    if (c != '\r' && c != '\n') b64 += c;
  }
  auto ics = crypto::Base64Decode(b64);
  ASSERT_TRUE(ics);
  EXPECT_EQ(*ics, e.calendar->ics);
}

TEST(MimeTest, MessageIdsAreUniqueAndUseTheSendersDomain) {
  Mailbox from{.address = "noreply@clinic.example"};
  std::string a = NewMessageId(from);
  std::string b = NewMessageId(from);
  EXPECT_NE(a, b);
  EXPECT_TRUE(a.starts_with("<") && a.ends_with("@clinic.example>")) << a;
}

}  // namespace
}  // namespace telemeet::notify
