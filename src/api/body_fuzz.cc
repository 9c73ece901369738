#include "api/body_fuzz.h"

#include <algorithm>
#include <array>
#include <cstdlib>

#include "api/body.h"
#include "base/error.h"
#include "net/http.h"

namespace telemeet::api {

namespace {

// ApiOptions' default limit; a fuzzer's inputs are smaller, body_fuzz_test's largest is not.
constexpr size_t kMaxBodyBytes = 64 * 1024;

constexpr std::array<std::string_view, 8> kFields = {
    "doctor_id", "service_id", "patient_id", "start", "end", "time_zone", "status", "notes"};

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckError(const Error& e) {
  Check(!e.message().empty());
  int status = HttpStatusFor(e.code());
  Check(status >= 400 && status < 500);
}

}  // namespace

void FuzzRequestBody(std::string_view text) {
  net::Request req;
  req.method = "POST";
  req.path = req.target = "/api/v1/appointments";
  req.headers.Set("Content-Type", "application/json");
  req.body = std::string(text);
  auto body = Body::Parse(req, kMaxBodyBytes, kFields);
  if (!body) {
    CheckError(body.error());
    return;
  }
  Check(body->json().is_object());
  for (const auto& [key, value] : body->json().items()) {
    Check(std::find(kFields.begin(), kFields.end(), key) != kFields.end());
  }
  for (std::string_view f : kFields) {
    if (auto v = body->OptInt(f); !v) {
      CheckError(v.error());
      Check(v.error().field() == f);
    }
    if (auto v = body->OptBool(f); !v) CheckError(v.error());
    if (auto v = body->OptStrings(f); !v) CheckError(v.error());
    auto s = body->OptString(f);
    if (!s) {
      CheckError(s.error());
      continue;
    }
    if (*s) {
      auto zone = body->OptString("time_zone");
      std::string z = zone && *zone ? **zone : "UTC";
      if (auto t = ParseTime(**s, z, f); !t) CheckError(t.error());
    }
  }
}

}  // namespace telemeet::api
