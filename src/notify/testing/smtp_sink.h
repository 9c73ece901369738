// A real SMTP server for email tests: smtp_sink.py (Debian's python3-aiosmtpd) started as a
// child process on 127.0.0.1 and a free port, saving each accepted message as JSON (envelope
// and the message as Python's email parser reads it) into a temp folder.
//
//   SmtpSink sink;                          // picks a free port; not started yet
//   ASSERT_TRUE(sink.Start());              // waits until it accepts connections
//   ... send to 127.0.0.1:sink.port() ...
//   std::vector<nlohmann::json> mail = sink.WaitFor(1);
//   EXPECT_EQ(mail[0]["rcpt_tos"][0], "grace@mail.example");
//   sink.Stop();                            // and Start() again on the same port
//
// Not thread-safe: one test thread drives it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace telemeet::notify::testing {

struct SinkOptions {
  std::string user;           // require AUTH with this user ...
  std::string password;       // ... and password
  bool starttls = false;      // require STARTTLS (a self-signed certificate made with openssl)
  bool implicit_tls = false;  // TLS from the first byte (smtps://), same certificate
  std::vector<std::string> reject;  // recipients refused with 550
};

// A port on 127.0.0.1 that was free a moment ago.
int FreePort();

class SmtpSink {
 public:
  explicit SmtpSink(SinkOptions options = {});
  ~SmtpSink();  // Stop() and removes its folder
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  bool Start();  // false when it did not accept connections within 15 s
  void Stop();
  int port() const { return port_; }
  // Messages saved so far, in arrival order.
  std::vector<nlohmann::json> Messages() const;
  // Waits until at least `n` messages arrived (or the timeout passed); returns them.
  std::vector<nlohmann::json> WaitFor(
      size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;

 private:
  SinkOptions options_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace telemeet::notify::testing
