#include "core/ics.h"

#include <chrono>
#include <cstdio>

namespace telemeet::core {

namespace {

constexpr size_t kMaxLineOctets = 75;

bool IsControl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

// A parameter value (CN) as a quoted-string: no DQUOTE and no control characters allowed.
std::string QuotedParam(std::string_view v) {
  std::string out = "\"";
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    if (IsControl(c)) continue;
    out += ch == '"' ? '\'' : ch;
  }
  out += '"';
  return out;
}

// A URI value (URL, mailto): not TEXT, so not escaped, but it must stay on its content line.
std::string UriValue(std::string_view v) {
  std::string out;
  for (char ch : v) {
    if (!IsControl(static_cast<unsigned char>(ch)) && ch != ' ') out += ch;
  }
  return out;
}

void Line(std::string& out, std::string_view line) { out += IcsFoldLine(line); }

void Person(std::string& out, std::string_view property, const IcsPerson& p,
            std::string_view extra_params) {
  if (p.email.empty()) return;
  std::string line(property);
  if (!p.name.empty()) line += ";CN=" + QuotedParam(p.name);
  line += extra_params;
  line += ":mailto:" + UriValue(p.email);
  Line(out, line);
}

}  // namespace

std::string_view Name(IcsMethod m) {
  switch (m) {
    case IcsMethod::kRequest:
      return "REQUEST";
    case IcsMethod::kCancel:
      return "CANCEL";
    case IcsMethod::kPublish:
      return "PUBLISH";
  }
  return "PUBLISH";
}

std::string IcsUid(std::string_view appointment_uid) {
  return std::string(appointment_uid) + "@telemeet";
}

std::string IcsContentType(IcsMethod method) {
  return "text/calendar; charset=utf-8; method=" + std::string(Name(method));
}

std::string IcsDateTime(Instant t) {
  auto day = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd(day);
  std::chrono::hh_mm_ss hms(std::chrono::floor<std::chrono::seconds>(t - day));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string IcsEscapeText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    switch (ch) {
      case '\\':
        out += "\\\\";
        break;
      case ';':
        out += "\\;";
        break;
      case ',':
        out += "\\,";
        break;
      case '\r':
        out += "\\n";
        if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (!IsControl(static_cast<unsigned char>(ch))) out += ch;
    }
  }
  return out;
}

std::string IcsUnescapeText(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      char next = value[++i];
      out += (next == 'n' || next == 'N') ? '\n' : next;
    } else {
      out += value[i];
    }
  }
  return out;
}

std::string IcsFoldLine(std::string_view line) {
  std::string out;
  out.reserve(line.size() + line.size() / 70 * 3 + 2);
  size_t limit = kMaxLineOctets;  // the first line; continuations spend one octet on the space
  while (line.size() > limit) {
    size_t cut = limit;
    // Never split a UTF-8 sequence: back up to the start of the character.
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    if (cut == 0) cut = limit;  // not UTF-8 at all: a byte split is all that is left
    out.append(line.substr(0, cut));
    out += "\r\n ";
    line.remove_prefix(cut);
    limit = kMaxLineOctets - 1;
  }
  out.append(line);
  out += "\r\n";
  return out;
}

std::vector<std::string> IcsUnfold(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view physical = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (physical.ends_with('\r')) physical.remove_suffix(1);
    if (!lines.empty() && !physical.empty() && (physical[0] == ' ' || physical[0] == '\t')) {
      lines.back().append(physical.substr(1));
    } else if (!physical.empty()) {
      lines.emplace_back(physical);
    }
  }
  return lines;
}

std::string BuildIcs(const IcsEvent& e) {
  const bool cancelled = e.cancelled || e.method == IcsMethod::kCancel;
  std::string out;
  Line(out, "BEGIN:VCALENDAR");
  Line(out, "VERSION:2.0");
  Line(out, "PRODID:" + IcsEscapeText(e.prodid));
  Line(out, "CALSCALE:GREGORIAN");
  Line(out, "METHOD:" + std::string(Name(e.method)));
  Line(out, "BEGIN:VEVENT");
  Line(out, "UID:" + IcsEscapeText(e.uid));
  Line(out, "SEQUENCE:" + std::to_string(e.sequence < 0 ? 0 : e.sequence));
  Line(out, "DTSTAMP:" + IcsDateTime(e.stamp));
  Line(out, "DTSTART:" + IcsDateTime(e.start));
  Line(out, "DTEND:" + IcsDateTime(e.end));
  Line(out, "SUMMARY:" + IcsEscapeText(e.summary));
  std::string description = e.description;
  if (!e.meet_link.empty()) {
    if (!description.empty()) description += "\n\n";
    description += "Join with Google Meet: " + e.meet_link;
  }
  if (!description.empty()) Line(out, "DESCRIPTION:" + IcsEscapeText(description));
  if (!e.meet_link.empty()) {
    Line(out, "URL:" + UriValue(e.meet_link));
    Line(out, "LOCATION:" + IcsEscapeText(e.meet_link));
  }
  Person(out, "ORGANIZER", e.organizer, "");
  Person(out, "ATTENDEE", e.attendee, ";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE");
  Line(out, std::string("STATUS:") + (cancelled ? "CANCELLED" : "CONFIRMED"));
  Line(out, "TRANSP:OPAQUE");
  Line(out, "END:VEVENT");
  Line(out, "END:VCALENDAR");
  return out;
}

}  // namespace telemeet::core
