// iCalendar (RFC 5545) for one consultation: the .ics attached to notification emails and
// offered for download on the patient page. Pure text building, no I/O.
//
//   core::IcsEvent e;
//   e.uid = core::IcsUid(appointment.uid);            // stable per appointment
//   e.sequence = appointment.revision;                // a newer revision replaces the older
//   e.stamp = clock.Now();
//   e.start = appointment.start;
//   e.end = appointment.end;
//   e.summary = "Consultation with Dr. Ada Lovelace";
//   e.description = "Your video consultation.";
//   e.meet_link = meeting.join_url;                   // URL, LOCATION and in DESCRIPTION
//   e.organizer = {.name = doctor.name, .email = doctor.email};
//   e.attendee = {.name = patient.name, .email = patient.email};
//   e.method = core::IcsMethod::kRequest;             // kCancel for a cancelled appointment
//   std::string ics = core::BuildIcs(e);              // CRLF lines, folded at 75 octets
//   std::string type = core::IcsContentType(e.method);  // "text/calendar; charset=utf-8; ..."
//
// The output: VCALENDAR (VERSION 2.0, PRODID, METHOD) with one VEVENT (UID, SEQUENCE, DTSTAMP,
// DTSTART/DTEND in UTC, SUMMARY, DESCRIPTION, URL, LOCATION, ORGANIZER, ATTENDEE, STATUS).
// TEXT values are escaped (\\ \; \, and \n for any line break; other control characters are
// dropped); every content line ends in CRLF and is folded so no line exceeds 75 octets, never
// inside a UTF-8 sequence.
//
// IcsUnfold and IcsUnescapeText read such text back (for tests and for anyone checking a
// received calendar object). All functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"

namespace telemeet::core {

enum class IcsMethod {
  kRequest,  // METHOD:REQUEST, STATUS:CONFIRMED: an invitation or its update
  kCancel,   // METHOD:CANCEL, STATUS:CANCELLED: the appointment was cancelled
  kPublish,  // METHOD:PUBLISH: a plain download (the patient page); STATUS from `cancelled`
};

std::string_view Name(IcsMethod m);  // "REQUEST", "CANCEL", "PUBLISH"

struct IcsPerson {
  std::string name;   // CN; may be empty
  std::string email;  // the mailto: address; the property is left out when empty
};

struct IcsEvent {
  std::string uid;       // IcsUid(appointment uid)
  int64_t sequence = 0;  // the appointment's revision
  Instant stamp{};       // DTSTAMP: when this object was made
  Instant start{};       // DTSTART (written in UTC)
  Instant end{};         // DTEND (written in UTC)
  std::string summary;
  std::string description;  // the Meet link is appended when set
  std::string meet_link;    // may be empty (the link is not ready yet)
  IcsPerson organizer;      // the doctor
  IcsPerson attendee;       // the patient
  IcsMethod method = IcsMethod::kRequest;
  bool cancelled = false;  // STATUS:CANCELLED also without METHOD:CANCEL
  std::string prodid = "-//telemeet//telemeet//EN";
};

// "<appointment uid>@telemeet": stable for the appointment's lifetime, so calendars update the
// one entry on reschedule and remove it on cancel.
std::string IcsUid(std::string_view appointment_uid);

// The whole VCALENDAR text, CRLF line ends, folded.
std::string BuildIcs(const IcsEvent& event);

// "text/calendar; charset=utf-8; method=REQUEST" (the MIME type of the attachment).
std::string IcsContentType(IcsMethod method);

// "20260330T080000Z" (DATE-TIME in UTC; sub-second digits dropped).
std::string IcsDateTime(Instant t);

// TEXT value escaping: \ ; , become \\ \; \, and CRLF, LF or CR becomes \n; other control
// characters (except tab) are dropped.
std::string IcsEscapeText(std::string_view text);
// The inverse of IcsEscapeText (\n and \N give a LF).
std::string IcsUnescapeText(std::string_view value);

// One content line, folded: CRLF + space inserted so that no physical line exceeds 75 octets,
// never splitting a UTF-8 sequence; ends with CRLF.
std::string IcsFoldLine(std::string_view line);

// Splits iCalendar text into its logical content lines: CRLF (or a bare LF) ends a line, a
// line starting with a space or tab continues the previous one.
std::vector<std::string> IcsUnfold(std::string_view text);

}  // namespace telemeet::core
