// fake-google's start-up settings: a TOML file and command-line values, both turned into
// FakeGoogleOptions plus where to listen. Unknown keys and wrong types are errors that name the
// key, so a typo never goes unnoticed.
//
//   auto config = LoadFakeGoogleConfigFile("fake-google.toml");
//   if (!config) { std::cerr << config.error().ToString(); return 2; }
//   auto client = ParseClientFlag("app:secret:http://127.0.0.1:8080/cb");
//
// The file (every key optional):
//   address = "127.0.0.1"       port = 8085        threads = 2
//   auto_approve = true         access_token_lifetime_seconds = 3599
//   latency_ms = 0              fault_seed = 1     max_batch_parts = 50   log_requests = false
//   [quota]     per_user = 600  per_project = 10000  status = 403  retry_after_seconds = 0
//   [[clients]] client_id = "app"  client_secret = "secret"  redirect_uris = ["http://..."]
//   [[accounts]] email = "doctor@example.com"  name = "Dr Who"  sub = "1234"
//   [[faults]]  kind = "backendError"  method = "POST"  path_prefix = "/calendar/v3/"
//               fraction = 0.1  next = 0  delay_ms = 30000  after = false
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "emulator/server/fake_google.h"

namespace telemeet::emulator {

struct FakeGoogleConfig {
  FakeGoogleOptions options;
  std::string address = "127.0.0.1";
  uint16_t port = 0;
  int threads = 2;
};

// kInvalidArgument naming the key (field) for bad content; kNotFound for a missing file.
Result<FakeGoogleConfig> ParseFakeGoogleConfig(std::string_view toml_text);
Result<FakeGoogleConfig> LoadFakeGoogleConfigFile(const std::string& path);

// "client_id:client_secret:redirect_uri[,redirect_uri...]"
Result<OAuthClient> ParseClientFlag(std::string_view spec);
// "email[:display name[:sub]]"
Result<Account> ParseAccountFlag(std::string_view spec);
// "kind=backendError,method=POST,path=/calendar/v3/,next=2" (also fraction, delay_ms, after)
Result<FaultRule> ParseFaultFlag(std::string_view spec);

}  // namespace telemeet::emulator
