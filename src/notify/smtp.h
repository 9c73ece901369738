// Sending one email: a Mailer takes an Email (notify/mime.h) and either hands it to an SMTP
// server with libcurl (SmtpMailer: smtp:// or smtps://, STARTTLS by config, AUTH when
// credentials are set, connect and total timeouts) or writes it as an .eml file into a folder
// (FileMailer: the sandbox's and any unconfigured install's "mailbox", so a newcomer sees the
// emails). MakeMailer picks one from SmtpConfig.
//
//   SmtpConfig smtp{.enabled = true, .host = "mail.clinic.example", .port = 587,
//                   .tls = SmtpTls::kStartTls, .username = "telemeet", .password = pw,
//                   .from = "Example Clinic <noreply@clinic.example>"};
//   std::unique_ptr<Mailer> mailer = MakeMailer(smtp, data_dir + "/mail");
//   Result<SendReceipt> r = mailer->Send(email, clock.Now());
//   // r->reply: "250 2.0.0 Ok: queued as 4F2A1" (the server's last reply) or the .eml path
//
// Errors: kUnavailable for a connection, TLS or transient (4xx) SMTP failure; kInvalidArgument
// for a permanent refusal (5xx: bad recipient, message refused) or an unusable address;
// kDeadlineExceeded when the timeout passes. Messages name the SMTP reply, never the password.
// Both mailers are safe for concurrent use (each Send uses its own connection / file).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/error.h"
#include "notify/mime.h"

namespace telemeet::notify {

enum class SmtpTls {
  kNone,      // smtp:// in the clear (a local relay)
  kStartTls,  // smtp://, then STARTTLS, required
  kTls,       // smtps:// (implicit TLS, usually port 465)
};
std::string_view Name(SmtpTls t);  // "none", "starttls", "tls"
Result<SmtpTls> ParseSmtpTls(std::string_view s, std::string_view field = "smtp.tls");

struct SmtpConfig {
  bool enabled = false;  // false: emails go to .eml files instead
  std::string host;
  int port = 587;
  SmtpTls tls = SmtpTls::kStartTls;
  std::string username;  // AUTH only when set
  std::string password;  // never logged
  std::string from;      // "Example Clinic <noreply@clinic.example>"
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{60'000};
  // Verify the server's certificate (leave on; off only for a test server with a private CA).
  bool verify_peer = true;
};

struct SendReceipt {
  std::string message_id;
  std::string reply;  // the server's last reply line, or "saved to <path>"
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  // Sends `email` (From is the mailer's when email.from.address is empty) dated `now`.
  virtual Result<SendReceipt> Send(const Email& email, Instant now) = 0;
  // "smtp://mail.clinic.example:587 (starttls)" or "files in /var/lib/telemeet/mail".
  virtual std::string Describe() const = 0;
};

class SmtpMailer final : public Mailer {
 public:
  explicit SmtpMailer(SmtpConfig config);
  Result<SendReceipt> Send(const Email& email, Instant now) override;
  std::string Describe() const override;

 private:
  const SmtpConfig config_;
  Mailbox from_;
};

class FileMailer final : public Mailer {
 public:
  // `dir` is created (0700) on the first Send.
  FileMailer(std::string dir, Mailbox from);
  Result<SendReceipt> Send(const Email& email, Instant now) override;
  std::string Describe() const override;
  const std::string& dir() const { return dir_; }

 private:
  const std::string dir_;
  const Mailbox from_;
};

// Checks a config that is enabled: host set, port in range, from a plausible mailbox.
// kInvalidArgument naming the smtp.* key.
Status ValidateSmtpConfig(const SmtpConfig& config);

// SmtpMailer when config.enabled, else a FileMailer writing into `mail_dir` (from: config.from,
// or "telemeet <telemeet@localhost>" when unset). Errors as ValidateSmtpConfig.
Result<std::unique_ptr<Mailer>> MakeMailer(const SmtpConfig& config, const std::string& mail_dir);

}  // namespace telemeet::notify
