#include "core/ics.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/time.h"

namespace telemeet::core {
namespace {

Instant At(std::string_view rfc3339) { return *ParseRfc3339(rfc3339); }

IcsEvent Sample() {
  IcsEvent e;
  e.uid = IcsUid("0123456789abcdef0123456789abcdef");
  e.sequence = 3;
  e.stamp = At("2026-03-01T10:00:00.250Z");
  e.start = At("2026-03-30T08:00:00Z");
  e.end = At("2026-03-30T08:30:00Z");
  e.summary = "Consultation with Dr. Ada Lovelace";
  e.description = "Your video consultation.";
  e.meet_link = "https://meet.google.com/abc-defg-hij";
  e.organizer = {.name = "Dr. Ada Lovelace", .email = "ada@clinic.example"};
  e.attendee = {.name = "Grace Hopper", .email = "grace@mail.example"};
  return e;
}

// A content line split into name (with parameters) and value, by the first ':' outside quotes.
struct Prop {
  std::string name;  // "ORGANIZER;CN=\"Dr. Ada\""
  std::string value;
};

Prop Split(const std::string& line) {
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '"') quoted = !quoted;
    if (line[i] == ':' && !quoted) return {line.substr(0, i), line.substr(i + 1)};
  }
  return {line, ""};
}

// Logical lines by property name (without parameters); the first occurrence wins.
std::map<std::string, Prop> Parse(const std::string& ics) {
  std::map<std::string, Prop> out;
  for (const std::string& line : IcsUnfold(ics)) {
    Prop p = Split(line);
    std::string bare = p.name.substr(0, p.name.find(';'));
    out.emplace(bare, p);
  }
  return out;
}

TEST(IcsTest, BuildsOneEventWithEveryProperty) {
  std::string ics = BuildIcs(Sample());
  std::vector<std::string> lines = IcsUnfold(ics);
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines.front(), "BEGIN:VCALENDAR");
  EXPECT_EQ(lines.back(), "END:VCALENDAR");
  auto p = Parse(ics);
  EXPECT_EQ(p["VERSION"].value, "2.0");
  EXPECT_EQ(p["METHOD"].value, "REQUEST");
  EXPECT_EQ(p["UID"].value, "0123456789abcdef0123456789abcdef@telemeet");
  EXPECT_EQ(p["SEQUENCE"].value, "3");
  EXPECT_EQ(p["DTSTAMP"].value, "20260301T100000Z");
  EXPECT_EQ(p["DTSTART"].value, "20260330T080000Z");
  EXPECT_EQ(p["DTEND"].value, "20260330T083000Z");
  EXPECT_EQ(IcsUnescapeText(p["SUMMARY"].value), "Consultation with Dr. Ada Lovelace");
  EXPECT_EQ(IcsUnescapeText(p["DESCRIPTION"].value),
            "Your video consultation.\n\nJoin with Google Meet: "
            "https://meet.google.com/abc-defg-hij");
  EXPECT_EQ(p["URL"].value, "https://meet.google.com/abc-defg-hij");
  EXPECT_EQ(IcsUnescapeText(p["LOCATION"].value), "https://meet.google.com/abc-defg-hij");
  EXPECT_EQ(p["ORGANIZER"].name, "ORGANIZER;CN=\"Dr. Ada Lovelace\"");
  EXPECT_EQ(p["ORGANIZER"].value, "mailto:ada@clinic.example");
  EXPECT_TRUE(p["ATTENDEE"].name.starts_with("ATTENDEE;CN=\"Grace Hopper\";ROLE=REQ-PARTICIPANT"))
      << p["ATTENDEE"].name;
  EXPECT_EQ(p["ATTENDEE"].value, "mailto:grace@mail.example");
  EXPECT_EQ(p["STATUS"].value, "CONFIRMED");
  // One VEVENT, properly nested.
  int begins = 0;
  for (const auto& l : lines) begins += l == "BEGIN:VEVENT" ? 1 : 0;
  EXPECT_EQ(begins, 1);
}

TEST(IcsTest, CancelUsesMethodCancelAndStatusCancelled) {
  IcsEvent e = Sample();
  e.method = IcsMethod::kCancel;
  e.sequence = 4;
  auto p = Parse(BuildIcs(e));
  EXPECT_EQ(p["METHOD"].value, "CANCEL");
  EXPECT_EQ(p["STATUS"].value, "CANCELLED");
  EXPECT_EQ(p["SEQUENCE"].value, "4");
  EXPECT_EQ(p["UID"].value, IcsUid("0123456789abcdef0123456789abcdef"));

  e.method = IcsMethod::kPublish;
  e.cancelled = true;
  p = Parse(BuildIcs(e));
  EXPECT_EQ(p["METHOD"].value, "PUBLISH");
  EXPECT_EQ(p["STATUS"].value, "CANCELLED");
  EXPECT_EQ(IcsContentType(IcsMethod::kCancel), "text/calendar; charset=utf-8; method=CANCEL");
}

TEST(IcsTest, WithoutLinkOrEmailsThosePropertiesAreLeftOut) {
  IcsEvent e = Sample();
  e.meet_link.clear();
  e.attendee.email.clear();
  auto p = Parse(BuildIcs(e));
  EXPECT_FALSE(p.contains("URL"));
  EXPECT_FALSE(p.contains("LOCATION"));
  EXPECT_FALSE(p.contains("ATTENDEE"));
  EXPECT_EQ(IcsUnescapeText(p["DESCRIPTION"].value), "Your video consultation.");
}

TEST(IcsTest, EscapesTextSpecials) {
  EXPECT_EQ(IcsEscapeText("a,b;c\\d"), "a\\,b\\;c\\\\d");
  EXPECT_EQ(IcsEscapeText("one\r\ntwo\nthree\rfour"), "one\\ntwo\\nthree\\nfour");
  EXPECT_EQ(IcsEscapeText("bell\x07tab\t"), "belltab\t");
  for (std::string_view s : {"a,b;c\\d", "x\ny", "\\n literally", "ümlaut, 日本"}) {
    EXPECT_EQ(IcsUnescapeText(IcsEscapeText(s)), s);
  }
  // In a whole object: the summary survives the round trip; no raw line break sneaks in.
  IcsEvent e = Sample();
  e.summary = "Dr. O'Neil; Cardiology, room 2\\3\r\nBEGIN:VALARM";
  std::string ics = BuildIcs(e);
  auto p = Parse(ics);
  EXPECT_EQ(IcsUnescapeText(p["SUMMARY"].value), "Dr. O'Neil; Cardiology, room 2\\3\nBEGIN:VALARM");
  for (const auto& line : IcsUnfold(ics)) EXPECT_NE(line, "BEGIN:VALARM");
}

TEST(IcsTest, ParameterValuesAreQuotedWithoutDoubleQuotes) {
  IcsEvent e = Sample();
  e.organizer.name = "Dr. \"Bones\" McCoy, MD; Enterprise: Sickbay";
  auto p = Parse(BuildIcs(e));
  EXPECT_EQ(p["ORGANIZER"].name, "ORGANIZER;CN=\"Dr. 'Bones' McCoy, MD; Enterprise: Sickbay\"");
  EXPECT_EQ(p["ORGANIZER"].value, "mailto:ada@clinic.example");
}

TEST(IcsTest, EveryLineEndsInCrlf) {
  std::string ics = BuildIcs(Sample());
  ASSERT_TRUE(ics.ends_with("\r\n"));
  for (size_t i = 0; i < ics.size(); ++i) {
    if (ics[i] == '\n') {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(ics[i - 1], '\r') << "bare LF at " << i;
    }
    if (ics[i] == '\r') {
      ASSERT_LT(i + 1, ics.size());
      EXPECT_EQ(ics[i + 1], '\n') << "bare CR at " << i;
    }
  }
}

// Physical lines of the text without their CRLF.
std::vector<std::string> PhysicalLines(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find("\r\n", pos);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

TEST(IcsTest, FoldsAt75OctetsAndUnfoldsBack) {
  std::string ascii(200, 'x');
  std::string folded = IcsFoldLine("SUMMARY:" + ascii);
  auto physical = PhysicalLines(folded);
  ASSERT_GE(physical.size(), 3u);
  EXPECT_EQ(physical[0].size(), 75u);
  for (size_t i = 1; i < physical.size(); ++i) {
    EXPECT_EQ(physical[i][0], ' ');
    EXPECT_LE(physical[i].size(), 75u);
  }
  auto unfolded = IcsUnfold(folded);
  ASSERT_EQ(unfolded.size(), 1u);
  EXPECT_EQ(unfolded[0], "SUMMARY:" + ascii);
  // A short line is left alone.
  EXPECT_EQ(IcsFoldLine("VERSION:2.0"), "VERSION:2.0\r\n");
  // Exactly 75 octets: no fold; 76: one.
  EXPECT_EQ(PhysicalLines(IcsFoldLine(std::string(75, 'a'))).size(), 1u);
  EXPECT_EQ(PhysicalLines(IcsFoldLine(std::string(76, 'a'))).size(), 2u);
}

TEST(IcsTest, FoldingNeverSplitsAUtf8Sequence) {
  // Two-, three- and four-octet characters at every alignment against the fold points.
  for (std::string_view ch : {"é", "日", "😀"}) {
    for (size_t pad = 0; pad < 4; ++pad) {
      std::string text = "SUMMARY:" + std::string(pad, 'p');
      for (int i = 0; i < 60; ++i) text += ch;
      std::string folded = IcsFoldLine(text);
      for (const std::string& line : PhysicalLines(folded)) {
        EXPECT_LE(line.size(), 75u);
        std::string_view content = line;
        if (content.starts_with(' ')) content.remove_prefix(1);
        EXPECT_TRUE(ValidUtf8(content)) << "split inside " << ch << " with pad " << pad;
      }
      auto unfolded = IcsUnfold(folded);
      ASSERT_EQ(unfolded.size(), 1u);
      EXPECT_EQ(unfolded[0], text);
    }
  }
}

TEST(IcsTest, AWholeObjectWithLongUnicodeTextStaysWithinLimits) {
  IcsEvent e = Sample();
  e.description =
      "Bitte 5 Minuten früher bereit sein, Kamera und Mikrofon prüfen; Fragen? "
      "Rufen Sie uns an: +49 30 1234567. 日本語の説明もここにあります。";
  e.summary = std::string(30, 's') + " — Überweisung, Kontrolle; Nachsorge";
  std::string ics = BuildIcs(e);
  for (const std::string& line : PhysicalLines(ics)) EXPECT_LE(line.size(), 75u) << line;
  auto p = Parse(ics);
  EXPECT_EQ(IcsUnescapeText(p["SUMMARY"].value), e.summary);
  EXPECT_TRUE(IcsUnescapeText(p["DESCRIPTION"].value).starts_with(e.description));
}

TEST(IcsTest, DateTimesAreUtcWholeSeconds) {
  EXPECT_EQ(IcsDateTime(At("2026-12-31T23:59:59.999Z")), "20261231T235959Z");
  EXPECT_EQ(IcsDateTime(At("2026-03-29T02:30:00+02:00")), "20260329T003000Z");
  EXPECT_EQ(IcsDateTime(At("1999-01-02T03:04:05Z")), "19990102T030405Z");
}

TEST(IcsTest, UnfoldAcceptsBareLfAndTabContinuations) {
  auto lines = IcsUnfold("A:1\nB:2\n\tx\r\n y\r\nC:3");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "A:1");
  EXPECT_EQ(lines[1], "B:2xy");
  EXPECT_EQ(lines[2], "C:3");
}

}  // namespace
}  // namespace telemeet::core
