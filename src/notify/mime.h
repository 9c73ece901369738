// One email as RFC 5322 / MIME text: multipart/alternative (plain text + HTML) inside
// multipart/mixed with an optional text/calendar attachment (the .ics, with its METHOD).
// Pure text building, no I/O; notify/smtp.h sends what this builds.
//
//   Email e;
//   e.from = {.name = "Example Clinic", .address = "noreply@clinic.example"};
//   e.to = {{.name = "Grace Hopper", .address = "grace@mail.example"}};
//   e.subject = "Your video consultation";        // RFC 2047 encoded when not ASCII
//   e.text = "...";  e.html = "<p>...</p>";
//   e.calendar = CalendarAttachment{.ics = core::BuildIcs(ev), .method =
//   core::IcsMethod::kRequest}; std::string wire = BuildMime(e, clock.Now(), NewMessageId(e.from));
//
// Headers: Date, From, To, Subject, Message-ID, MIME-Version, Auto-Submitted: auto-generated.
// Text parts are quoted-printable (readable in an .eml file, safe for 7-bit transports, lines
// at most 76 octets); the attachment is base64. All line ends are CRLF. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "core/ics.h"

namespace telemeet::notify {

struct Mailbox {
  std::string name;     // display name; may be empty
  std::string address;  // addr-spec "local@domain"
};

// Parses "Name <a@b>", "\"Name, Jr.\" <a@b>" or "a@b". kInvalidArgument naming `field` when
// there is no plausible address (one '@', no spaces, no control characters, no angle brackets).
Result<Mailbox> ParseMailbox(std::string_view text, std::string_view field = "address");
// True for a plausible addr-spec (what ParseMailbox accepts as the address).
bool PlausibleAddress(std::string_view address);

struct CalendarAttachment {
  std::string ics;
  core::IcsMethod method = core::IcsMethod::kRequest;
  std::string filename = "invite.ics";
};

struct Email {
  Mailbox from;
  std::vector<Mailbox> to;
  std::string subject;
  std::string text;
  std::string html;
  std::optional<CalendarAttachment> calendar;
};

// The whole message, ready for SMTP DATA (CRLF line ends; dot-stuffing is the transport's).
std::string BuildMime(const Email& email, Instant date, std::string_view message_id);

// "<32 random hex@domain of from>".
std::string NewMessageId(const Mailbox& from);

// "Tue, 01 Dec 2026 08:00:00 +0000".
std::string Rfc5322Date(Instant t);

// A header value as RFC 2047 encoded-words ("=?UTF-8?B?...?=", each at most 75 characters,
// never splitting a UTF-8 sequence) when it has non-ASCII bytes; otherwise unchanged. CR and LF
// are removed first in both cases.
std::string EncodeHeaderWord(std::string_view value);

// "Name <a@b>" with the name quoted when it has specials, or encoded when not ASCII.
std::string FormatMailbox(const Mailbox& m);

// Quoted-printable (RFC 2045) of text whose line breaks (LF or CRLF) become CRLF; soft line
// breaks keep every line within 76 octets.
std::string QuotedPrintable(std::string_view text);

// The inverse, for tests and readers: soft breaks removed, =XX decoded.
std::string DecodeQuotedPrintable(std::string_view text);

}  // namespace telemeet::notify
