#include "notify/templates.h"

#include <date/tz.h>

#include <array>
#include <cstdlib>
#include <memory>
#include <utility>

#include "base/strings.h"

namespace telemeet::notify {

namespace {

constexpr std::array<VariableInfo, 14> kVariables{{
    {"recipient_name", "Name of the person the email goes to", "Grace Hopper"},
    {"patient_name", "The patient's name", "Grace Hopper"},
    {"doctor_name", "The doctor's name", "Dr. Ada Lovelace"},
    {"service_name", "The booked service", "Video consultation"},
    {"clinic_name", "The clinic's name (config notify.clinic_name)", "Example Clinic"},
    {"appointment_start", "Start in the recipient's time zone, human readable, with the zone name",
     "Monday 30 March 2026, 10:00 CEST (Europe/Berlin)"},
    {"appointment_end", "End in the recipient's time zone",
     "Monday 30 March 2026, 10:30 CEST "
     "(Europe/Berlin)"},
    {"time_zone", "The recipient's IANA time zone", "Europe/Berlin"},
    {"meet_link", "The Google Meet join link (empty until the meeting is ready)",
     "https://meet.google.com/abc-defg-hij"},
    {"meet_event_link", "The event in the doctor's Google Calendar",
     "https://calendar.google.com/calendar/event?eid=abc"},
    {"patient_page_link", "The patient's page: join button and .ics download (may be empty)",
     "https://telemeet.example/p/tok_sample"},
    {"app_link", "telemeet's address, where staff sign in", "https://telemeet.example"},
    {"reconnect_reason", "Why the doctor's Google connection stopped working",
     "the Google grant was revoked or expired"},
    {"reminder_lead", "How long until the start, when a reminder goes (reminders only)",
     "24 hours"},
}};

constexpr std::array<std::string_view, 8> kTemplateNames{
    "meeting.ready.patient",         "meeting.ready.doctor",        "meeting.rescheduled.patient",
    "meeting.rescheduled.doctor",    "meeting.cancelled.patient",   "meeting.cancelled.doctor",
    "doctor.needs_reconnect.doctor", "appointment.reminder.patient"};

bool IsKnownVariable(std::string_view name) {
  for (const VariableInfo& v : kVariables) {
    if (v.name == name) return true;
  }
  return false;
}

// The parsed form: text, {{name}} and {{#name}}...{{/name}}.
struct Node {
  enum class Kind { kText, kVar, kSection } kind = Kind::kText;
  std::string text;  // kText: the text; else the variable name
  std::vector<Node> children;
};

class Parser {
 public:
  Parser(std::string_view src, std::string field) : src_(src), field_(std::move(field)) {}

  Result<std::vector<Node>> Parse() {
    std::vector<Node> nodes;
    auto closed = ParseUntil(nodes, "");
    if (!closed) return std::unexpected(closed.error());
    return nodes;
  }

 private:
  std::unexpected<Error> Invalid(std::string message) {
    return Fail(ErrorCode::kInvalidArgument, std::move(message), field_);
  }

  // Parses into `out` until the end of the source, or until {{/section}} when `section` is not
  // empty. True when it stopped at {{/section}}.
  Result<bool> ParseUntil(std::vector<Node>& out, std::string_view section) {
    while (pos_ < src_.size()) {
      size_t open = src_.find("{{", pos_);
      if (open == std::string_view::npos) open = src_.size();
      if (open > pos_) {
        out.push_back({Node::Kind::kText, std::string(src_.substr(pos_, open - pos_)), {}});
      }
      if (open == src_.size()) break;
      size_t close = src_.find("}}", open + 2);
      if (close == std::string_view::npos) {
        return Invalid("unclosed {{ at offset " + std::to_string(open));
      }
      std::string_view inner = Trim(src_.substr(open + 2, close - open - 2));
      pos_ = close + 2;
      char sigil = inner.empty() ? '\0' : inner[0];
      std::string_view name = (sigil == '#' || sigil == '/') ? Trim(inner.substr(1)) : inner;
      if (name.empty()) return Invalid("empty {{}} at offset " + std::to_string(open));
      if (!IsKnownVariable(name)) {
        return Invalid("unknown variable {{" + std::string(name) + "}}; known: " + KnownList());
      }
      if (sigil == '/') {
        if (name != section) {
          return Invalid("{{/" + std::string(name) + "}} closes no open {{#" + std::string(name) +
                         "}}");
        }
        return true;
      }
      if (sigil == '#') {
        Node node{Node::Kind::kSection, std::string(name), {}};
        auto closed = ParseUntil(node.children, node.text);
        if (!closed) return std::unexpected(closed.error());
        if (!*closed) return Invalid("{{#" + std::string(name) + "}} is never closed");
        out.push_back(std::move(node));
        continue;
      }
      out.push_back({Node::Kind::kVar, std::string(name), {}});
    }
    return false;
  }

  static std::string KnownList() {
    std::string out;
    for (const VariableInfo& v : kVariables) {
      if (!out.empty()) out += ", ";
      out += v.name;
    }
    return out;
  }

  std::string_view src_;
  std::string field_;
  size_t pos_ = 0;
};

std::string Escape(std::string_view value, Part part) {
  switch (part) {
    case Part::kHtml:
      return HtmlEscape(value);
    case Part::kSubject:
      return SubjectSafe(value);
    case Part::kText:
      return std::string(value);
  }
  return std::string(value);
}

void RenderNodes(const std::vector<Node>& nodes, const Variables& vars, Part part,
                 std::string& out) {
  for (const Node& n : nodes) {
    switch (n.kind) {
      case Node::Kind::kText:
        out += n.text;
        break;
      case Node::Kind::kVar:
        if (auto it = vars.find(n.text); it != vars.end()) out += Escape(it->second, part);
        break;
      case Node::Kind::kSection:
        if (auto it = vars.find(n.text); it != vars.end() && !it->second.empty()) {
          RenderNodes(n.children, vars, part, out);
        }
        break;
    }
  }
}

Result<std::vector<Node>> ParseTemplate(std::string_view source, Part part,
                                        std::string_view field) {
  Parser parser(source, field.empty() ? std::string(Name(part)) : std::string(field));
  return parser.Parse();
}

}  // namespace

std::string_view Name(Part p) {
  switch (p) {
    case Part::kSubject:
      return "subject";
    case Part::kText:
      return "text";
    case Part::kHtml:
      return "html";
  }
  return "text";
}

Result<Part> ParsePart(std::string_view s, std::string_view field) {
  for (Part p : {Part::kSubject, Part::kText, Part::kHtml}) {
    if (Name(p) == s) return p;
  }
  return Fail(ErrorCode::kInvalidArgument, "part must be subject, text or html",
              std::string(field));
}

std::span<const VariableInfo> KnownVariables() { return kVariables; }

Status Validate(std::string_view source, Part part, std::string_view field) {
  auto nodes = ParseTemplate(source, part, field);
  if (!nodes) return std::unexpected(nodes.error());
  return Ok();
}

Result<std::string> Render(std::string_view source, const Variables& vars, Part part) {
  auto nodes = ParseTemplate(source, part, "");
  if (!nodes) return std::unexpected(nodes.error());
  std::string out;
  out.reserve(source.size() + 128);
  RenderNodes(*nodes, vars, part, out);
  if (part == Part::kSubject) return SubjectSafe(out);
  return out;
}

std::string SubjectSafe(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool space = false;
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    bool blank = c < 0x20 || c == 0x7f || c == ' ';
    if (blank) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += ch;
  }
  return out;
}

const std::string& Template::part(Part p) const {
  switch (p) {
    case Part::kSubject:
      return subject;
    case Part::kHtml:
      return html;
    case Part::kText:
      break;
  }
  return text;
}

std::string& Template::part(Part p) {
  return const_cast<std::string&>(std::as_const(*this).part(p));
}

Result<Message> RenderTemplate(const Template& t, const Variables& vars) {
  Message m;
  auto subject = Render(t.subject, vars, Part::kSubject);
  if (!subject) return std::unexpected(subject.error());
  auto text = Render(t.text, vars, Part::kText);
  if (!text) return std::unexpected(text.error());
  auto html = Render(t.html, vars, Part::kHtml);
  if (!html) return std::unexpected(html.error());
  m.subject = std::move(*subject);
  m.text = std::move(*text);
  m.html = std::move(*html);
  return m;
}

std::span<const std::string_view> TemplateNames() { return kTemplateNames; }

bool IsTemplateName(std::string_view name) {
  for (std::string_view n : kTemplateNames) {
    if (n == name) return true;
  }
  return false;
}

namespace {

// The HTML part around a body: a plain, accessible single column that mail clients render.
std::string HtmlPage(std::string_view body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width\"></head>\n"
         "<body style=\"font-family: sans-serif; font-size: 16px; line-height: 1.5; "
         "color: #1a1a1a; max-width: 36em; margin: 0 auto; padding: 1em\">\n" +
         std::string(body) + "<p style=\"color: #555\">{{clinic_name}}</p>\n</body></html>\n";
}

constexpr std::string_view kJoinButton =
    "{{#meet_link}}<p><a href=\"{{meet_link}}\" style=\"display: inline-block; padding: 0.6em "
    "1.2em; background: #0b57d0; color: #ffffff; text-decoration: none; border-radius: 4px\">"
    "Join Google Meet</a></p>\n<p>Or open this link: <a href=\"{{meet_link}}\">{{meet_link}}</a>"
    "</p>\n{{/meet_link}}";

constexpr std::string_view kPatientPage =
    "{{#patient_page_link}}<p>Your appointment page: <a href=\"{{patient_page_link}}\">"
    "{{patient_page_link}}</a></p>\n{{/patient_page_link}}";

Template PatientTemplate(std::string subject, std::string_view lead, bool with_link) {
  Template t;
  t.subject = std::move(subject);
  t.text = "Hello {{patient_name}},\n\n" + std::string(lead) +
           "\n\nWhen: {{appointment_start}}\nDoctor: {{doctor_name}}\n";
  if (with_link) {
    t.text +=
        "{{#meet_link}}\nJoin Google Meet: {{meet_link}}\n{{/meet_link}}"
        "{{#patient_page_link}}\nYour appointment page: {{patient_page_link}}\n"
        "{{/patient_page_link}}\nThe attached calendar file (.ics) adds the appointment to your "
        "calendar.\n";
  } else {
    t.text += "\nThe attached calendar file (.ics) removes it from your calendar.\n";
  }
  t.text += "\n{{clinic_name}}\n";
  std::string body = "<p>Hello {{patient_name}},</p>\n<p>" + std::string(lead) +
                     "</p>\n<p><strong>When:</strong> {{appointment_start}}<br>\n"
                     "<strong>Doctor:</strong> {{doctor_name}}</p>\n";
  if (with_link) {
    body += std::string(kJoinButton) + std::string(kPatientPage) +
            "<p>The attached calendar file (.ics) adds the appointment to your calendar.</p>\n";
  } else {
    body += "<p>The attached calendar file (.ics) removes it from your calendar.</p>\n";
  }
  t.html = HtmlPage(body);
  return t;
}

Template DoctorTemplate(std::string subject, std::string_view lead, bool with_link) {
  Template t;
  t.subject = std::move(subject);
  t.text = "Hello {{doctor_name}},\n\n" + std::string(lead) +
           "\n\nWhen: {{appointment_start}}\nPatient: {{patient_name}}\n"
           "Service: {{service_name}}\n";
  if (with_link) {
    t.text +=
        "{{#meet_link}}\nStart Google Meet: {{meet_link}}\n{{/meet_link}}"
        "{{#meet_event_link}}In your Google Calendar: {{meet_event_link}}\n{{/meet_event_link}}";
  }
  t.text += "\n{{clinic_name}}\n";
  std::string body = "<p>Hello {{doctor_name}},</p>\n<p>" + std::string(lead) +
                     "</p>\n<p><strong>When:</strong> {{appointment_start}}<br>\n"
                     "<strong>Patient:</strong> {{patient_name}}<br>\n"
                     "<strong>Service:</strong> {{service_name}}</p>\n";
  if (with_link) {
    body +=
        "{{#meet_link}}<p><a href=\"{{meet_link}}\">Start Google Meet</a> ({{meet_link}})</p>\n"
        "{{/meet_link}}{{#meet_event_link}}<p><a href=\"{{meet_event_link}}\">Open in Google "
        "Calendar</a></p>\n{{/meet_event_link}}";
  }
  t.html = HtmlPage(body);
  return t;
}

}  // namespace

Template DefaultTemplate(std::string_view name) {
  if (name == "meeting.ready.patient") {
    return PatientTemplate("Your video consultation with {{doctor_name}} on {{appointment_start}}",
                           "your video consultation is ready.", true);
  }
  if (name == "meeting.ready.doctor") {
    return DoctorTemplate("Google Meet ready: {{patient_name}}, {{appointment_start}}",
                          "the video consultation has its Google Meet link.", true);
  }
  if (name == "meeting.rescheduled.patient") {
    return PatientTemplate(
        "Moved: your video consultation with {{doctor_name}} is now on {{appointment_start}}",
        "your video consultation has a new time. The Google Meet link stays the same.", true);
  }
  if (name == "meeting.rescheduled.doctor") {
    return DoctorTemplate("Moved: {{patient_name}} is now on {{appointment_start}}",
                          "a video consultation has a new time. The Google Meet link stays the "
                          "same.",
                          true);
  }
  if (name == "meeting.cancelled.patient") {
    return PatientTemplate(
        "Cancelled: your video consultation with {{doctor_name}} on {{appointment_start}}",
        "your video consultation has been cancelled.", false);
  }
  if (name == "meeting.cancelled.doctor") {
    return DoctorTemplate("Cancelled: {{patient_name}}, {{appointment_start}}",
                          "a video consultation has been cancelled; its Google Calendar event "
                          "was removed.",
                          false);
  }
  if (name == "appointment.reminder.patient") {
    // No .ics (the patient has it from the first email); the page shows the link once the
    // meeting has one, so it is there even when the link is not yet.
    Template t;
    t.subject = "Reminder: your video consultation with {{doctor_name}} on {{appointment_start}}";
    t.text =
        "Hello {{patient_name}},\n\nthis is a reminder of your video consultation in "
        "{{reminder_lead}}.\n\nWhen: {{appointment_start}}\nDoctor: {{doctor_name}}\n"
        "{{#meet_link}}\nJoin Google Meet: {{meet_link}}\n{{/meet_link}}"
        "{{#patient_page_link}}\nYour appointment page (the join link is there as soon as it is "
        "ready): {{patient_page_link}}\n{{/patient_page_link}}\n{{clinic_name}}\n";
    t.html = HtmlPage(
        "<p>Hello {{patient_name}},</p>\n<p>this is a reminder of your video consultation in "
        "{{reminder_lead}}.</p>\n<p><strong>When:</strong> {{appointment_start}}<br>\n"
        "<strong>Doctor:</strong> {{doctor_name}}</p>\n" +
        std::string(kJoinButton) +
        "{{#patient_page_link}}<p>Your appointment page (the join link is there as soon as it "
        "is ready): <a href=\"{{patient_page_link}}\">{{patient_page_link}}</a></p>\n"
        "{{/patient_page_link}}");
    return t;
  }
  if (name == "doctor.needs_reconnect.doctor") {
    Template t;
    t.subject = "Action needed: reconnect your Google account to telemeet";
    t.text =
        "Hello {{doctor_name}},\n\ntelemeet can no longer create Google Meet links for your "
        "consultations: {{reconnect_reason}}.\n\nPlease sign in at {{app_link}} and choose "
        "\"Reconnect Google\". Consultations waiting for a link get it as soon as you "
        "reconnect.\n\n{{clinic_name}}\n";
    t.html = HtmlPage(
        "<p>Hello {{doctor_name}},</p>\n<p>telemeet can no longer create Google Meet links for "
        "your consultations: {{reconnect_reason}}.</p>\n<p>Please <a href=\"{{app_link}}\">sign "
        "in to telemeet</a> and choose <strong>Reconnect Google</strong>. Consultations waiting "
        "for a link get it as soon as you reconnect.</p>\n");
    return t;
  }
  std::abort();  // a caller passed a name outside TemplateNames()
}

Variables SampleVariables() {
  Variables vars;
  for (const VariableInfo& v : kVariables) vars.emplace(v.name, v.sample);
  return vars;
}

std::string SettingKey(std::string_view name, Part part) {
  return "notify.template." + std::string(name) + "." + std::string(Name(part));
}

Result<StoredTemplate> LoadTemplate(store::Tx& tx, std::string_view name) {
  if (!IsTemplateName(name)) {
    return Fail(ErrorCode::kNotFound, "no template named " + std::string(name), "name");
  }
  StoredTemplate out{.name = std::string(name), .current = DefaultTemplate(name)};
  for (Part p : {Part::kSubject, Part::kText, Part::kHtml}) {
    auto v = tx.GetSetting(SettingKey(name, p));
    if (!v) {
      if (v.error().code() == ErrorCode::kNotFound) continue;
      return std::unexpected(v.error());
    }
    if (v->empty()) continue;  // reset to the default
    out.current.part(p) = std::move(*v);
    out.customized[static_cast<int>(p)] = true;
  }
  return out;
}

Status SaveTemplatePart(store::Tx& tx, std::string_view name, Part part, std::string_view source) {
  if (!IsTemplateName(name)) {
    return Fail(ErrorCode::kNotFound, "no template named " + std::string(name), "name");
  }
  if (Trim(source).empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(Name(part)) + " must not be empty (reset it to get the default)",
                std::string(Name(part)));
  }
  if (auto s = Validate(source, part); !s) return s;
  return tx.PutSetting(SettingKey(name, part), source);
}

Status ResetTemplatePart(store::Tx& tx, std::string_view name, Part part) {
  if (!IsTemplateName(name)) {
    return Fail(ErrorCode::kNotFound, "no template named " + std::string(name), "name");
  }
  return tx.PutSetting(SettingKey(name, part), "");
}

std::string HumanTime(Instant t, std::string_view zone) {
  const date::time_zone* tz = nullptr;
  std::string zone_name(zone);
  try {
    tz = date::locate_zone(zone_name);
  } catch (const std::exception&) {
    zone_name = "UTC";
    tz = date::locate_zone(zone_name);
  }
  auto zoned = date::make_zoned(tz, std::chrono::floor<std::chrono::seconds>(t));
  // %e pads with a space; the day number reads better without it.
  std::string day = date::format("%d", zoned);
  if (day.starts_with('0')) day.erase(0, 1);
  return date::format("%A ", zoned) + day + date::format(" %B %Y, %H:%M %Z", zoned) + " (" +
         zone_name + ")";
}

}  // namespace telemeet::notify
