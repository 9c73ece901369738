#include "notify/mime.h"

#include <array>
#include <chrono>
#include <cstdio>

#include "base/strings.h"
#include "crypto/encoding.h"
#include "crypto/random.h"

namespace telemeet::notify {

namespace {

constexpr size_t kQpLine = 76;
constexpr size_t kEncodedWordMaxInput = 45;  // 60 base64 chars + 12 of "=?UTF-8?B??=" = 72

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string StripBreaks(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\r' || c == '\n') {
      if (!out.empty() && out.back() != ' ') out += ' ';
      continue;
    }
    out += c;
  }
  return out;
}

// Base64 in lines of 76 characters.
std::string Base64Lines(std::string_view data) {
  std::string b64 = crypto::Base64Encode(data);
  std::string out;
  out.reserve(b64.size() + b64.size() / 76 * 2 + 2);
  for (size_t i = 0; i < b64.size(); i += 76) {
    out.append(b64, i, 76);
    out += "\r\n";
  }
  return out;
}

std::string RandomHex(size_t bytes) { return crypto::HexEncode(crypto::RandomBytes(bytes)); }

}  // namespace

bool PlausibleAddress(std::string_view a) {
  size_t at = a.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= a.size()) return false;
  if (a.find('@', at + 1) != std::string_view::npos) return false;
  for (char ch : a) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return false;
    if (std::string_view("<>()[]\\,;:\"").find(ch) != std::string_view::npos) return false;
  }
  return a.substr(at + 1).find('.') != std::string_view::npos || a.substr(at + 1) == "localhost";
}

Result<Mailbox> ParseMailbox(std::string_view text, std::string_view field) {
  text = Trim(text);
  Mailbox m;
  size_t lt = text.rfind('<');
  if (lt != std::string_view::npos && text.ends_with('>')) {
    m.address = std::string(Trim(text.substr(lt + 1, text.size() - lt - 2)));
    std::string_view name = Trim(text.substr(0, lt));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
    for (size_t i = 0; i < name.size(); ++i) {
      if (name[i] == '\\' && i + 1 < name.size()) ++i;
      m.name += name[i];
    }
    m.name = StripBreaks(m.name);
  } else {
    m.address = std::string(text);
  }
  if (!PlausibleAddress(m.address)) {
    return Fail(ErrorCode::kInvalidArgument,
                "\"" + StripBreaks(text) + "\" is not an email address", std::string(field));
  }
  return m;
}

std::string EncodeHeaderWord(std::string_view raw) {
  std::string value = StripBreaks(raw);
  if (IsAscii(value)) return value;
  std::string out;
  std::string_view rest = value;
  while (!rest.empty()) {
    size_t n = std::min(rest.size(), kEncodedWordMaxInput);
    // Back up to the start of a UTF-8 character so each word decodes on its own.
    while (n < rest.size() && n > 0 && (static_cast<unsigned char>(rest[n]) & 0xC0) == 0x80) --n;
    if (n == 0) n = std::min(rest.size(), kEncodedWordMaxInput);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + crypto::Base64Encode(rest.substr(0, n)) + "?=";
    rest.remove_prefix(n);
  }
  return out;
}

std::string FormatMailbox(const Mailbox& m) {
  std::string name = StripBreaks(m.name);
  if (name.empty()) return m.address;
  if (!IsAscii(name)) return EncodeHeaderWord(name) + " <" + m.address + ">";
  if (name.find_first_of("()<>[]:;@\\,.\"") == std::string::npos) {
    return name + " <" + m.address + ">";
  }
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\" <" + m.address + ">";
}

std::string Rfc5322Date(Instant t) {
  static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto day = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd(day);
  std::chrono::weekday wd(day);
  std::chrono::hh_mm_ss hms(std::chrono::floor<std::chrono::seconds>(t - day));
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s, %02u %s %04d %02d:%02d:%02d +0000", kDays[wd.c_encoding()],
                static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1],
                static_cast<int>(ymd.year()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string NewMessageId(const Mailbox& from) {
  std::string_view domain = "telemeet.invalid";
  if (size_t at = from.address.find('@'); at != std::string::npos) {
    domain = std::string_view(from.address).substr(at + 1);
  }
  return "<" + RandomHex(16) + "@" + std::string(domain) + ">";
}

std::string QuotedPrintable(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  size_t line_start = 0;
  while (line_start <= text.size()) {
    size_t nl = text.find('\n', line_start);
    bool last = nl == std::string_view::npos;
    std::string_view line =
        text.substr(line_start, last ? std::string_view::npos : nl - line_start);
    if (line.ends_with('\r')) line.remove_suffix(1);
    size_t width = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      auto c = static_cast<unsigned char>(line[i]);
      bool trailing_blank = (c == ' ' || c == '\t') && i + 1 == line.size();
      bool literal =
          ((c >= 33 && c <= 126 && c != '=') || c == ' ' || c == '\t') && !trailing_blank;
      std::string token = literal ? std::string(1, static_cast<char>(c))
                                  : std::string{'=', kHex[c >> 4], kHex[c & 15]};
      // Keep room for the '=' of a soft break, except for the line's final token.
      size_t limit = i + 1 == line.size() ? kQpLine : kQpLine - 1;
      if (width + token.size() > limit) {
        out += "=\r\n";
        width = 0;
      }
      out += token;
      width += token.size();
    }
    if (last) break;
    out += "\r\n";
    line_start = nl + 1;
  }
  return out;
}

std::string DecodeQuotedPrintable(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=') {
      out += text[i];
      continue;
    }
    if (text.substr(i + 1).starts_with("\r\n")) {
      i += 2;
    } else if (text.substr(i + 1).starts_with("\n")) {
      i += 1;
    } else if (i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += '=';
    }
  }
  return out;
}

std::string BuildMime(const Email& e, Instant date, std::string_view message_id) {
  const std::string mixed = "=_tm_mixed_" + RandomHex(12);
  const std::string alternative = "=_tm_alt_" + RandomHex(12);
  std::string to;
  for (const Mailbox& m : e.to) {
    if (!to.empty()) to += ",\r\n ";
    to += FormatMailbox(m);
  }
  std::string out;
  out += "Date: " + Rfc5322Date(date) + "\r\n";
  out += "From: " + FormatMailbox(e.from) + "\r\n";
  out += "To: " + to + "\r\n";
  out += "Subject: " + EncodeHeaderWord(e.subject) + "\r\n";
  out += "Message-ID: " + StripBreaks(message_id) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Auto-Submitted: auto-generated\r\n";

  std::string alt;
  alt += "Content-Type: multipart/alternative; boundary=\"" + alternative + "\"\r\n\r\n";
  alt += "--" + alternative + "\r\n";
  alt += "Content-Type: text/plain; charset=utf-8\r\n";
  alt += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  alt += QuotedPrintable(e.text) + "\r\n";
  alt += "--" + alternative + "\r\n";
  alt += "Content-Type: text/html; charset=utf-8\r\n";
  alt += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  alt += QuotedPrintable(e.html) + "\r\n";
  alt += "--" + alternative + "--\r\n";

  if (!e.calendar) {
    out += alt;
    return out;
  }
  const CalendarAttachment& cal = *e.calendar;
  std::string filename = StripBreaks(cal.filename);
  for (char& c : filename) {
    if (c == '"' || c == '\\') c = '_';
  }
  out += "Content-Type: multipart/mixed; boundary=\"" + mixed + "\"\r\n\r\n";
  out += "This is a multi-part message in MIME format.\r\n";
  out += "--" + mixed + "\r\n";
  out += alt;
  out += "--" + mixed + "\r\n";
  out += "Content-Type: " + core::IcsContentType(cal.method) + "; name=\"" + filename + "\"\r\n";
  out += "Content-Disposition: attachment; filename=\"" + filename + "\"\r\n";
  out += "Content-Transfer-Encoding: base64\r\n\r\n";
  out += Base64Lines(cal.ics);
  out += "--" + mixed + "--\r\n";
  return out;
}

}  // namespace telemeet::notify
