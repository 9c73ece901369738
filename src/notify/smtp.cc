#include "notify/smtp.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "base/strings.h"
#include "core/ics.h"
#include "crypto/encoding.h"
#include "crypto/random.h"

namespace telemeet::notify {

namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Upload {
  std::string_view data;
  size_t pos = 0;
};

size_t ReadBody(char* buffer, size_t size, size_t nitems, void* user) {
  auto* up = static_cast<Upload*>(user);
  size_t n = std::min(size * nitems, up->data.size() - up->pos);
  std::memcpy(buffer, up->data.data() + up->pos, n);
  up->pos += n;
  return n;
}

struct Replies {
  std::string last;     // the server's last reply line
  std::string refusal;  // its last 4xx/5xx reply line
};

// Keeps the server's reply lines. Only what the server sent (CURLINFO_HEADER_IN) is looked at:
// the client's lines, which carry the AUTH exchange, never are.
int Debug(CURL*, curl_infotype type, char* data, size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN) return 0;
  std::string_view text(data, size);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty()) return 0;
  size_t nl = text.rfind('\n');
  std::string line(nl == std::string_view::npos ? text : text.substr(nl + 1));
  auto* r = static_cast<Replies*>(user);
  if (line.starts_with('4') || line.starts_with('5')) r->refusal = line;
  r->last = std::move(line);
  return 0;
}

struct CurlEasy {
  CURL* h = curl_easy_init();
  curl_slist* rcpt = nullptr;
  ~CurlEasy() {
    if (rcpt != nullptr) curl_slist_free_all(rcpt);
    if (h != nullptr) curl_easy_cleanup(h);
  }
};

std::string FileStamp(Instant t) {
  std::string s = core::IcsDateTime(t);  // 20261201T080000Z
  return s;
}

}  // namespace

std::string_view Name(SmtpTls t) {
  switch (t) {
    case SmtpTls::kNone:
      return "none";
    case SmtpTls::kStartTls:
      return "starttls";
    case SmtpTls::kTls:
      return "tls";
  }
  return "starttls";
}

Result<SmtpTls> ParseSmtpTls(std::string_view s, std::string_view field) {
  for (SmtpTls t : {SmtpTls::kNone, SmtpTls::kStartTls, SmtpTls::kTls}) {
    if (Name(t) == s) return t;
  }
  return Fail(ErrorCode::kInvalidArgument, "must be none, starttls or tls", std::string(field));
}

Status ValidateSmtpConfig(const SmtpConfig& c) {
  if (c.host.empty() || c.host.find_first_of("/ \r\n@") != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "smtp.host must be a host name or address",
                "smtp.host");
  }
  if (c.port < 1 || c.port > 65535) {
    return Fail(ErrorCode::kInvalidArgument, "smtp.port must be 1..65535", "smtp.port");
  }
  if (auto m = ParseMailbox(c.from, "smtp.from"); !m) return std::unexpected(m.error());
  return Ok();
}

SmtpMailer::SmtpMailer(SmtpConfig config) : config_(std::move(config)) {
  if (auto m = ParseMailbox(config_.from); m) from_ = *m;
}

std::string SmtpMailer::Describe() const {
  return std::string(config_.tls == SmtpTls::kTls ? "smtps://" : "smtp://") + config_.host + ":" +
         std::to_string(config_.port) + " (" + std::string(Name(config_.tls)) + ")";
}

Result<SendReceipt> SmtpMailer::Send(const Email& in, Instant now) {
  GlobalInit();
  Email email = in;
  if (email.from.address.empty()) email.from = from_;
  if (!PlausibleAddress(email.from.address)) {
    return Fail(ErrorCode::kInvalidArgument, "no valid sender address (smtp.from)", "smtp.from");
  }
  if (email.to.empty()) return Fail(ErrorCode::kInvalidArgument, "no recipient", "to");
  for (const Mailbox& m : email.to) {
    if (!PlausibleAddress(m.address)) {
      return Fail(ErrorCode::kInvalidArgument, "\"" + m.address + "\" is not an email address",
                  "to");
    }
  }
  SendReceipt receipt{.message_id = NewMessageId(email.from)};
  const std::string wire = BuildMime(email, now, receipt.message_id);

  CurlEasy curl;
  if (curl.h == nullptr) return Fail(ErrorCode::kInternal, "curl_easy_init failed");
  const std::string url = std::string(config_.tls == SmtpTls::kTls ? "smtps://" : "smtp://") +
                          config_.host + ":" + std::to_string(config_.port);
  const std::string mail_from = "<" + email.from.address + ">";
  for (const Mailbox& m : email.to) {
    curl.rcpt = curl_slist_append(curl.rcpt, ("<" + m.address + ">").c_str());
  }
  Upload upload{.data = wire};
  Replies replies;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl.h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl.h, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(curl.h, CURLOPT_MAIL_RCPT, curl.rcpt);
  curl_easy_setopt(curl.h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl.h, CURLOPT_READFUNCTION, ReadBody);
  curl_easy_setopt(curl.h, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl.h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(wire.size()));
  curl_easy_setopt(curl.h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(config_.connect_timeout.count()));
  curl_easy_setopt(curl.h, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count()));
  curl_easy_setopt(curl.h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl.h, CURLOPT_VERBOSE, 1L);  // feeds Debug; nothing is printed
  curl_easy_setopt(curl.h, CURLOPT_DEBUGFUNCTION, Debug);
  curl_easy_setopt(curl.h, CURLOPT_DEBUGDATA, &replies);
  if (config_.tls == SmtpTls::kStartTls) {
    curl_easy_setopt(curl.h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  }
  if (!config_.verify_peer) {
    curl_easy_setopt(curl.h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl.h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!config_.username.empty()) {
    curl_easy_setopt(curl.h, CURLOPT_USERNAME, config_.username.c_str());
    curl_easy_setopt(curl.h, CURLOPT_PASSWORD, config_.password.c_str());
  }

  CURLcode rc = curl_easy_perform(curl.h);
  long code = 0;
  curl_easy_getinfo(curl.h, CURLINFO_RESPONSE_CODE, &code);
  if (rc == CURLE_OK) {
    receipt.reply = replies.last.empty() ? "250" : replies.last;
    return receipt;
  }
  std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc);
  std::string message = "SMTP " + Describe() + ": " + detail;
  const std::string& said = replies.refusal.empty() ? replies.last : replies.refusal;
  if (!said.empty()) message += " (server: " + said + ")";
  if (rc == CURLE_OPERATION_TIMEDOUT) return Fail(ErrorCode::kDeadlineExceeded, message);
  if (code >= 500 && code < 600 && rc != CURLE_LOGIN_DENIED) {
    return Fail(ErrorCode::kInvalidArgument, message);  // permanent: retrying will not help
  }
  return Fail(ErrorCode::kUnavailable, message);
}

FileMailer::FileMailer(std::string dir, Mailbox from) : dir_(std::move(dir)), from_(from) {}

std::string FileMailer::Describe() const { return "files in " + dir_; }

Result<SendReceipt> FileMailer::Send(const Email& in, Instant now) {
  Email email = in;
  if (email.from.address.empty()) email.from = from_;
  if (email.to.empty()) return Fail(ErrorCode::kInvalidArgument, "no recipient", "to");
  std::error_code ec;
  if (std::filesystem::create_directories(dir_, ec)) {
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all, ec);
  }
  if (ec) {
    return Fail(ErrorCode::kUnavailable,
                "cannot create the mail folder " + dir_ + ": " + ec.message());
  }
  SendReceipt receipt{.message_id = NewMessageId(email.from)};
  const std::string wire = BuildMime(email, now, receipt.message_id);
  const std::string name =
      FileStamp(now) + "-" + crypto::HexEncode(crypto::RandomBytes(4)) + ".eml";
  const std::string path = dir_ + "/" + name;
  const std::string tmp = dir_ + "/." + name + ".tmp";
  // 0600: the messages carry patients' names and join links.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(ErrorCode::kUnavailable, "cannot write " + tmp);
  size_t written = 0;
  while (written < wire.size()) {
    ssize_t n = ::write(fd, wire.data() + written, wire.size() - written);
    if (n <= 0) {
      ::close(fd);
      std::filesystem::remove(tmp, ec);
      return Fail(ErrorCode::kUnavailable, "cannot write " + tmp);
    }
    written += static_cast<size_t>(n);
  }
  ::close(fd);
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Fail(ErrorCode::kUnavailable, "cannot rename to " + path + ": " + ec.message());
  receipt.reply = "saved to " + path;
  return receipt;
}

Result<std::unique_ptr<Mailer>> MakeMailer(const SmtpConfig& config, const std::string& mail_dir) {
  if (config.enabled) {
    if (auto s = ValidateSmtpConfig(config); !s) return std::unexpected(s.error());
    return std::make_unique<SmtpMailer>(config);
  }
  Mailbox from{.name = "telemeet", .address = "telemeet@localhost"};
  if (!config.from.empty()) {
    auto m = ParseMailbox(config.from, "smtp.from");
    if (!m) return std::unexpected(m.error());
    from = *m;
  }
  return std::make_unique<FileMailer>(mail_dir, from);
}

}  // namespace telemeet::notify
