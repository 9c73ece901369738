// Email templates (M23): a tiny `{{name}}` renderer over a fixed set of variables, the default
// templates for every notification, and their editable copies in the settings table.
//
//   Variables vars{{"meet_link", "https://meet.google.com/abc-defg-hij"},
//                  {"patient_name", "Grace <Hopper>"}};
//   Result<std::string> html = Render("<a href=\"{{meet_link}}\">{{ patient_name }}</a>", vars,
//                                     Part::kHtml);      // values HTML-escaped
//   Status ok = Validate("Hi {{patien_name}}", Part::kText);  // kInvalidArgument naming
//                                                             // "patien_name"
//   Template t = DefaultTemplate("meeting.ready.patient");
//   Result<Message> m = RenderTemplate(t, vars);  // subject, text, html
//   Result<StoredTemplate> s = LoadTemplate(tx, "meeting.ready.patient");  // override or default
//
// Syntax: `{{name}}` (spaces inside the braces allowed) is replaced by the variable's value;
// `{{#name}}...{{/name}}` keeps its content only when the variable is not empty (sections may
// nest). Every name must be one of Variables(): an unknown name, an unclosed `{{` or an
// unbalanced section is an error at save time (Validate) naming the variable. Values are escaped
// for the part they land in: the HTML part HTML-escapes them, the text part takes them as they
// are, the subject drops CR, LF and other control characters (no header injection).
//
// Templates are identified by "<event>.<recipient>" (TemplateNames()); each has three parts
// stored under the settings keys "notify.template.<name>.subject|text|html". A part never saved
// is the default. All functions are thread-safe.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "store/store.h"

namespace telemeet::notify {

using Variables = std::map<std::string, std::string, std::less<>>;

enum class Part { kSubject, kText, kHtml };
std::string_view Name(Part p);  // "subject", "text", "html"
Result<Part> ParsePart(std::string_view s, std::string_view field = "part");

struct VariableInfo {
  std::string_view name;
  std::string_view description;
  std::string_view sample;  // the value previews render with
};
// The variables every template may use.
std::span<const VariableInfo> KnownVariables();

// Checks the syntax and that every name is known. kInvalidArgument with field `field` (default
// the part's name) and a message naming the offending variable or construct.
Status Validate(std::string_view source, Part part, std::string_view field = "");

// Renders `source`, escaping values for `part`. A known variable missing from `vars` renders
// empty. Errors as Validate.
Result<std::string> Render(std::string_view source, const Variables& vars, Part part);

// For the subject part: CR, LF and other control characters removed, whitespace collapsed.
std::string SubjectSafe(std::string_view value);

struct Template {
  std::string subject;
  std::string text;
  std::string html;
  const std::string& part(Part p) const;
  std::string& part(Part p);
};

struct Message {
  std::string subject;
  std::string text;
  std::string html;
};

Result<Message> RenderTemplate(const Template& t, const Variables& vars);

// "meeting.ready.patient", "meeting.ready.doctor", "meeting.rescheduled.patient",
// "meeting.rescheduled.doctor", "meeting.cancelled.patient", "meeting.cancelled.doctor",
// "doctor.needs_reconnect.doctor", "appointment.reminder.patient".
std::span<const std::string_view> TemplateNames();
bool IsTemplateName(std::string_view name);
// The built-in template; an unknown name is a programming error (terminates).
Template DefaultTemplate(std::string_view name);
// Sample values for every variable (previews).
Variables SampleVariables();

// "notify.template.<name>.<part>".
std::string SettingKey(std::string_view name, Part part);

struct StoredTemplate {
  std::string name;
  Template current;      // what is sent: the stored parts, the defaults elsewhere
  bool customized[3]{};  // by Part: a stored override is in force
};
// kNotFound for an unknown template name (field "name").
Result<StoredTemplate> LoadTemplate(store::Tx& tx, std::string_view name);
// Validates and stores one part; kInvalidArgument naming the part (and the variable) when it
// does not validate; kNotFound for an unknown name.
Status SaveTemplatePart(store::Tx& tx, std::string_view name, Part part, std::string_view source);
// Back to the default. The settings table has no delete: an empty stored value means "the
// default" (so no part can be saved empty; an empty part is refused by SaveTemplatePart).
Status ResetTemplatePart(store::Tx& tx, std::string_view name, Part part);

// "Monday 30 March 2026, 10:00 CEST (Europe/Berlin)": `t` in `zone` for a human reader. An
// unknown zone falls back to UTC.
std::string HumanTime(Instant t, std::string_view zone);

}  // namespace telemeet::notify
