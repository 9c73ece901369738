// JSON bodies in and out: parsing with size and depth limits, responses, and the uniform error
// body {"error": {"code": "...", "message": "...", "field": "..."}} that every API error uses.
//
//   auto body = ParseJsonBody(req);                     // 400/415 naming the problem
//   if (!body) return ErrorResponse(body.error());
//   return JsonResponse(201, {{"id", id}});
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "net/http.h"

namespace telemeet::net {

struct JsonLimits {
  size_t max_depth = 32;
};

// Parses text as JSON, refusing documents nested deeper than limits.max_depth.
// Errors are kInvalidArgument with a message naming the position of the problem.
Result<nlohmann::json> ParseJson(std::string_view text, JsonLimits limits = {});

// Parses a request body that must be a JSON object. An absent or non-JSON Content-Type is
// refused too (kInvalidArgument naming "Content-Type").
Result<nlohmann::json> ParseJsonBody(const Request& req, JsonLimits limits = {});

// Compact JSON text, as nlohmann's dump(-1) with invalid UTF-8 replaced by U+FFFD (never
// throws), faster for plain ASCII strings.
std::string DumpJson(const nlohmann::json& value);

// `body` as DumpJson text with Content-Type application/json; charset=utf-8.
Response JsonResponse(int status, const nlohmann::json& body);
// A body that is JSON text already (JsonWriter), with the same Content-Type.
Response JsonTextResponse(int status, std::string body);

// Writes JSON text into a string, as DumpJson writes the same document, without building it
// first: for the answers on the hot path. Values come in document order; keys are written in
// the order given, and nlohmann objects keep theirs sorted, so a shape that both JsonWriter and
// JsonBuilder render (one template) gives its keys sorted to render the same bytes.
//
//   std::string text;
//   JsonWriter w(text);
//   w.BeginObject().Key("id").Int(7).Key("name").String("Ada").EndObject();  // {"id":7,...}
//
// Not thread-safe; the calls must form one well-nested document (not checked).
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Double(double value);  // as nlohmann writes it (shortest, "12.0" for 12)
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  JsonWriter& Json(const nlohmann::json& value);  // a value built elsewhere, as DumpJson
                                                  // writes it

 private:
  void Separate();
  JsonWriter& Open(char c);
  JsonWriter& Close(char c);

  std::string& out_;
  bool first_ = true;       // no value yet in the innermost container (or document)
  bool after_key_ = false;  // the next value is a key's
};

// The same calls as JsonWriter, building an nlohmann::json instead (Take): for callers that add
// to or pick from what a shared shape renders.
class JsonBuilder {
 public:
  JsonBuilder& BeginObject() { return Open(nlohmann::json::object()); }
  JsonBuilder& EndObject() { return Close(); }
  JsonBuilder& BeginArray() { return Open(nlohmann::json::array()); }
  JsonBuilder& EndArray() { return Close(); }
  JsonBuilder& Key(std::string_view key) {
    key_ = key;
    return *this;
  }
  JsonBuilder& String(std::string_view value) { return Put(std::string(value)); }
  JsonBuilder& Int(int64_t value) { return Put(value); }
  JsonBuilder& Bool(bool value) { return Put(value); }
  JsonBuilder& Null() { return Put(nullptr); }
  JsonBuilder& Json(const nlohmann::json& value) { return Put(value); }
  nlohmann::json Take() { return std::move(root_); }

 private:
  nlohmann::json* Place(nlohmann::json value);
  JsonBuilder& Put(nlohmann::json value) {
    Place(std::move(value));
    return *this;
  }
  JsonBuilder& Open(nlohmann::json container) {
    open_.push_back(Place(std::move(container)));
    return *this;
  }
  JsonBuilder& Close() {
    open_.pop_back();
    return *this;
  }

  nlohmann::json root_;
  // The containers being filled, innermost last. An object's members (std::map nodes) never
  // move; an array's elements may, but only the innermost container is ever added to.
  std::vector<nlohmann::json*> open_;
  std::string key_;
};

// The uniform error body with the given status and code.
Response JsonError(int status, std::string_view code, std::string_view message,
                   std::string_view field = {});

// An Error as a response: status from HttpStatusFor, code from ErrorCodeName.
Response ErrorResponse(const Error& error);

}  // namespace telemeet::net
