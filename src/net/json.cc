#include "net/json.h"

#include <charconv>
#include <string>

namespace telemeet::net {

namespace {

// Counts nesting outside of strings, so the depth check runs before nlohmann builds anything.
bool DepthWithin(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return true;
}

// nlohmann's dump with the same output options as JsonResponse.
std::string NlohmannDump(const nlohmann::json& v) {
  // Invalid UTF-8 in a string (echoed user input) is replaced rather than thrown on.
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// True for a string nlohmann would copy byte for byte: printable ASCII without '"' or '\\'.
bool PlainAscii(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

void AppendString(std::string_view s, std::string& out) {
  if (!PlainAscii(s)) {
    out += NlohmannDump(nlohmann::json(std::string(s)));
    return;
  }
  out.push_back('"');
  out += s;
  out.push_back('"');
}

template <typename Int>
void AppendInt(Int v, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// The output of NlohmannDump(v), without its per-character UTF-8 state machine for the plain
// ASCII that API responses are made of (it cost a sixth of a GET request's CPU: bench/api).
void AppendJson(const nlohmann::json& v, std::string& out) {
  using T = nlohmann::json::value_t;
  switch (v.type()) {
    case T::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, value] : v.get_ref<const nlohmann::json::object_t&>()) {
        if (!first) out.push_back(',');
        first = false;
        AppendString(key, out);
        out.push_back(':');
        AppendJson(value, out);
      }
      out.push_back('}');
      return;
    }
    case T::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& value : v) {
        if (!first) out.push_back(',');
        first = false;
        AppendJson(value, out);
      }
      out.push_back(']');
      return;
    }
    case T::string:
      AppendString(v.get_ref<const std::string&>(), out);
      return;
    case T::number_integer:
      AppendInt(*v.get_ptr<const nlohmann::json::number_integer_t*>(), out);
      return;
    case T::number_unsigned:
      AppendInt(*v.get_ptr<const nlohmann::json::number_unsigned_t*>(), out);
      return;
    case T::boolean:
      out += *v.get_ptr<const nlohmann::json::boolean_t*>() ? "true" : "false";
      return;
    case T::null:
      out += "null";
      return;
    default:  // floats, binary, discarded: nlohmann's own formatting
      out += NlohmannDump(v);
      return;
  }
}

}  // namespace

std::string DumpJson(const nlohmann::json& value) {
  std::string out;
  out.reserve(1024);
  AppendJson(value, out);
  return out;
}

Result<nlohmann::json> ParseJson(std::string_view text, JsonLimits limits) {
  if (!DepthWithin(text, limits.max_depth)) {
    return Fail(ErrorCode::kInvalidArgument,
                "JSON nested deeper than " + std::to_string(limits.max_depth) + " levels");
  }
  // No nlohmann exception leaves here, of whatever kind: e.what() would echo part of the input,
  // so the messages name the byte offset or the kind of problem only.
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // Syntax errors and ill-formed UTF-8 in strings.
    return Fail(ErrorCode::kInvalidArgument,
                "malformed JSON at byte " + std::to_string(e.byte) + ": " +
                    (text.empty() ? std::string("empty body") : std::string("syntax error")));
  } catch (const nlohmann::json::out_of_range&) {
    // A number beyond double's range ("1e999").
    return Fail(ErrorCode::kInvalidArgument, "malformed JSON: a number is out of range");
  } catch (const nlohmann::json::exception&) {
    return Fail(ErrorCode::kInvalidArgument, "malformed JSON");
  }
}

Result<nlohmann::json> ParseJsonBody(const Request& req, JsonLimits limits) {
  auto type = req.Header("Content-Type");
  if (!type || ToLower(*type).find("application/json") == std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "the body must be application/json", "Content-Type");
  }
  auto parsed = ParseJson(req.body, limits);
  if (!parsed) return parsed;
  if (!parsed->is_object()) {
    return Fail(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  }
  return parsed;
}

Response JsonResponse(int status, const nlohmann::json& body) {
  return Response::Text(status, DumpJson(body), "application/json; charset=utf-8");
}

Response JsonTextResponse(int status, std::string body) {
  return Response::Text(status, std::move(body), "application/json; charset=utf-8");
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  Separate();
  AppendString(key, out_);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  Separate();
  AppendString(value, out_);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  Separate();
  AppendInt(value, out_);
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  Separate();
  out_ += NlohmannDump(nlohmann::json(value));
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  Separate();
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Separate();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::Json(const nlohmann::json& value) {
  Separate();
  AppendJson(value, out_);
  return *this;
}

void JsonWriter::Separate() {
  if (after_key_) {
    after_key_ = false;
  } else if (!first_) {
    out_.push_back(',');
  }
  first_ = false;
}

JsonWriter& JsonWriter::Open(char c) {
  Separate();
  out_.push_back(c);
  first_ = true;
  return *this;
}

JsonWriter& JsonWriter::Close(char c) {
  out_.push_back(c);
  first_ = false;
  return *this;
}

nlohmann::json* JsonBuilder::Place(nlohmann::json value) {
  if (open_.empty()) {
    root_ = std::move(value);
    return &root_;
  }
  nlohmann::json& into = *open_.back();
  if (into.is_object()) {
    nlohmann::json& slot = into[key_];
    slot = std::move(value);
    return &slot;
  }
  into.push_back(std::move(value));
  return &into.back();
}

Response JsonError(int status, std::string_view code, std::string_view message,
                   std::string_view field) {
  nlohmann::json err = {{"code", code}, {"message", message}};
  if (!field.empty()) err["field"] = field;
  return JsonResponse(status, {{"error", err}});
}

Response ErrorResponse(const Error& error) {
  return JsonError(HttpStatusFor(error.code()), ErrorCodeName(error.code()), error.message(),
                   error.field());
}

}  // namespace telemeet::net
