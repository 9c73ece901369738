#include "app/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace telemeet::app {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  std::string WriteToml(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() /
            ("telemeet-config-test-" + std::to_string(::getpid()) + ".toml");
    std::ofstream(path_) << text;
    return path_.string();
  }
  void TearDown() override {
    if (!path_.empty()) std::filesystem::remove(path_);
  }
  std::filesystem::path path_;
};

TEST_F(ConfigTest, DefaultsAreSandboxOnSqlite) {
  auto c = LoadConfig({});
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->sandbox());
  EXPECT_EQ(c->server.port, 8080);
  EXPECT_EQ(c->StorageUrl(), "sqlite:./data/telemeet.db");
  EXPECT_EQ(c->RedirectUri(), "http://127.0.0.1:8080/oauth/google/callback");
}

TEST_F(ConfigTest, FileThenEnvThenFlagsOverride) {
  std::string file = WriteToml(
      "data_dir = \"/var/lib/telemeet\"\n[server]\nport = 9000\naddress = \"192.0.2.10\"\n"
      "public_url = \"https://telemeet.clinic.example/\"\n[log]\nlevel = \"warn\"\n");
  std::string env1 = "TELEMEET_SERVER_PORT=9100";
  std::string env2 = "TELEMEET_LOG_REQUESTS=false";
  std::string unrelated = "HOME=/root";
  char* env[] = {env1.data(), env2.data(), unrelated.data(), nullptr};
  auto c = LoadConfig({.file = file, .env = env, .sets = {"server.port=9200"}});
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->data_dir, "/var/lib/telemeet");
  EXPECT_EQ(c->server.address, "192.0.2.10");
  EXPECT_EQ(c->server.port, 9200);
  EXPECT_EQ(c->log.level, "warn");
  EXPECT_FALSE(c->log.requests);
  EXPECT_EQ(c->PublicUrl(), "https://telemeet.clinic.example");
}

TEST_F(ConfigTest, ANonLoopbackAddressNeedsAPublicUrl) {
  // Emails and patient links would carry http://127.0.0.1, which no patient can open.
  auto c = LoadConfig({.sets = {"server.address=0.0.0.0"}});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().field(), "server.public_url");
  EXPECT_NE(c.error().message().find("not loopback"), std::string::npos) << c.error().message();
  EXPECT_TRUE(LoadConfig({.sets = {"server.address=0.0.0.0",
                                   "server.public_url=https://telemeet.clinic.example"}}));
  EXPECT_TRUE(LoadConfig({.sets = {"server.address=127.0.0.2"}}));
  EXPECT_TRUE(LoadConfig({.sets = {"server.address=::1"}}));
}

TEST_F(ConfigTest, AllowedHostsArePublicUrlsAndTheListedNames) {
  auto c = LoadConfig({.sets = {"server.public_url=https://telemeet.clinic.example:8443/",
                                "server.allowed_hosts=proxy.lan, 10.0.0.5"}});
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->AllowedHosts(),
            (std::vector<std::string>{"proxy.lan", "10.0.0.5", "telemeet.clinic.example"}));
  auto bad = LoadConfig({.sets = {"server.allowed_hosts=https://proxy.lan/"}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field(), "server.allowed_hosts");
  auto v6 = LoadConfig({.sets = {"server.public_url=http://[::1]:8080"}});
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->AllowedHosts(), (std::vector<std::string>{"::1"}));
}

TEST_F(ConfigTest, TheMetricsTokenIsCheckedAndNeverPrinted) {
  EXPECT_FALSE(LoadConfig({.sets = {"ops.metrics_token=short"}}).has_value());
  auto c = LoadConfig({.sets = {"ops.metrics_token=a-long-enough-metrics-token"}});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(ConfigToJson(*c).dump().find("a-long-enough"), std::string::npos);
}

TEST_F(ConfigTest, UnknownKeyInFileIsNamedWithItsLine) {
  std::string file = WriteToml("[server]\nprot = 1\n");
  auto c = LoadConfig({.file = file});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().field(), "server.prot");
  EXPECT_NE(c.error().message().find("server.prot: unknown key"), std::string::npos);
  EXPECT_NE(c.error().message().find(":2)"), std::string::npos) << c.error().message();
}

TEST_F(ConfigTest, WrongTypeAndRangeAreNamed) {
  std::string file = WriteToml("[server]\nport = \"eighty\"\n");
  auto c = LoadConfig({.file = file});
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message().find("server.port: must be an integer, got a string"),
            std::string::npos);

  auto range = LoadConfig({.sets = {"server.port=70000"}});
  ASSERT_FALSE(range.has_value());
  EXPECT_EQ(range.error().message(),
            "config: server.port: must be between 0 and 65535, got 70000 (from --set)");

  std::string bad_env = "TELEMEET_SERVER_IO_THREADS=lots";
  char* env[] = {bad_env.data(), nullptr};
  auto e = LoadConfig({.env = env});
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().message(),
            "config: server.io_threads: must be an integer, got \"lots\" "
            "(from TELEMEET_SERVER_IO_THREADS)");
}

TEST_F(ConfigTest, RetentionHasDefaultsAndAFloorOfOneDay) {
  auto d = LoadConfig({});
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(d->retention.days, 30);
  EXPECT_EQ(d->retention.audit_days, 3650);
  EXPECT_EQ(ConfigToJson(*d)["retention.days"], 30);
  EXPECT_EQ(ConfigToJson(*d)["retention.audit_days"], 3650);

  std::string file = WriteToml("[retention]\ndays = 7\naudit_days = 365\n");
  auto c = LoadConfig({.file = file});
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->retention.days, 7);
  EXPECT_EQ(c->retention.audit_days, 365);

  auto zero = LoadConfig({.sets = {"retention.days=0"}});
  ASSERT_FALSE(zero.has_value());
  EXPECT_EQ(zero.error().message(),
            "config: retention.days: must be between 1 and 36500, got 0 (from --set)");
  std::string bad_env = "TELEMEET_RETENTION_AUDIT_DAYS=0";
  char* env[] = {bad_env.data(), nullptr};
  auto e = LoadConfig({.env = env});
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.error().message().find("retention.audit_days: must be between 1 and 36500"),
            std::string::npos)
      << e.error().message();
}

TEST_F(ConfigTest, BookingPolicyAndAvailabilityCache) {
  auto d = LoadConfig({});
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(d->booking.google_busy, "warn");
  EXPECT_EQ(d->availability.cache_ttl_seconds, 60);
  EXPECT_EQ(ConfigToJson(*d)["booking.google_busy"], "warn");
  EXPECT_EQ(ConfigToJson(*d)["availability.cache_max_entries"], 10'000);

  std::string file = WriteToml(
      "[booking]\ngoogle_busy = \"refuse\"\n[availability]\n"
      "cache_ttl_seconds = 5\n");
  auto c = LoadConfig({.file = file});
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->booking.google_busy, "refuse");
  EXPECT_EQ(c->availability.cache_ttl_seconds, 5);

  std::string env_text = "TELEMEET_BOOKING_GOOGLE_BUSY=ignore";
  char* env[] = {env_text.data(), nullptr};
  EXPECT_EQ(LoadConfig({.env = env})->booking.google_busy, "ignore");
  auto bad = LoadConfig({.sets = {"booking.google_busy=block"}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("booking.google_busy: must be one of ignore, warn, refuse"),
            std::string::npos)
      << bad.error().message();
  auto ttl = LoadConfig({.sets = {"availability.cache_ttl_seconds=-1"}});
  ASSERT_FALSE(ttl.has_value());
  EXPECT_EQ(ttl.error().field(), "availability.cache_ttl_seconds");
}

TEST_F(ConfigTest, AttendanceAndAccessTypeKeys) {
  auto d = LoadConfig({});
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->attendance.mode, "off");
  EXPECT_EQ(d->attendance.min_minutes, 5);
  EXPECT_EQ(d->meeting.access_type, "default");
  EXPECT_EQ(d->google.meet_base_url, "https://meet.googleapis.com");
  EXPECT_EQ(ConfigToJson(*d)["attendance.mode"], "off");
  EXPECT_EQ(ConfigToJson(*d)["attendance.poll_interval_minutes"], 10);

  std::string file = WriteToml(
      "[attendance]\nmode = \"complete\"\nmin_minutes = 8\npolls = 4\n[meeting]\n"
      "access_type = \"restricted\"\n");
  auto c = LoadConfig({.file = file});
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->attendance.mode, "complete");
  EXPECT_EQ(c->attendance.min_minutes, 8);
  EXPECT_EQ(c->attendance.polls, 4);
  EXPECT_EQ(c->meeting.access_type, "restricted");
  std::string on = "TELEMEET_ATTENDANCE_MODE=record";
  char* env[] = {on.data(), nullptr};
  auto e = LoadConfig({.env = env});
  ASSERT_TRUE(e.has_value()) << e.error().message();
  EXPECT_EQ(e->attendance.mode, "record");

  for (auto [set, field] : {std::pair{"attendance.mode=always", "attendance.mode"},
                            {"attendance.min_minutes=-1", "attendance.min_minutes"},
                            {"attendance.polls=0", "attendance.polls"},
                            {"meeting.access_type=RESTRICTED", "meeting.access_type"}}) {
    auto bad = LoadConfig({.sets = {set}});
    ASSERT_FALSE(bad.has_value()) << set;
    EXPECT_EQ(bad.error().field(), field);
    EXPECT_NE(bad.error().message().find(field), std::string::npos) << bad.error().message();
  }
}

TEST_F(ConfigTest, MeetingPolicyDefaults) {
  auto d = LoadConfig({});
  ASSERT_TRUE(d.has_value());
  EXPECT_FALSE(d->meeting.invite_patient);
  EXPECT_EQ(d->meeting.event_reminders, "default");
  EXPECT_EQ(ConfigToJson(*d)["meeting.invite_patient"], false);
  EXPECT_EQ(ConfigToJson(*d)["meeting.event_reminders"], "default");

  std::string file =
      WriteToml("[meeting]\ninvite_patient = true\nevent_reminders = \"popup:10,email:60\"\n");
  auto c = LoadConfig({.file = file});
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_TRUE(c->meeting.invite_patient);
  EXPECT_EQ(c->meeting.event_reminders, "popup:10,email:60");
  std::string on = "TELEMEET_MEETING_INVITE_PATIENT=true";
  char* env[] = {on.data(), nullptr};
  auto e = LoadConfig({.env = env});
  ASSERT_TRUE(e.has_value()) << e.error().message();
  EXPECT_TRUE(e->meeting.invite_patient);

  auto bad = LoadConfig({.sets = {"meeting.event_reminders=sms:5"}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field(), "meeting.event_reminders");
  EXPECT_NE(bad.error().message().find("meeting.event_reminders: must be \"default\" or up to 5"),
            std::string::npos)
      << bad.error().message();
}

TEST_F(ConfigTest, GoogleQuotaLoadsFromEverySourceAndIsChecked) {
  auto d = LoadConfig({});
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(d->google.quota.per_user_per_minute, 600);
  EXPECT_EQ(d->google.quota.per_project_per_minute, 10'000);
  EXPECT_EQ(d->google.quota.safety_margin_percent, 95);
  EXPECT_EQ(ConfigToJson(*d)["google.quota.per_project_per_minute"], 10'000);

  std::string file = WriteToml("[google.quota]\nper_user_per_minute = 300\n");
  auto c = LoadConfig({.file = file});
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->google.quota.per_user_per_minute, 300);
  std::string env_text = "TELEMEET_GOOGLE_QUOTA_PER_PROJECT_PER_MINUTE=20000";
  char* env[] = {env_text.data(), nullptr};
  EXPECT_EQ(LoadConfig({.env = env})->google.quota.per_project_per_minute, 20'000);
  EXPECT_EQ(LoadConfig({.sets = {"google.quota.safety_margin_percent=90"}})
                ->google.quota.safety_margin_percent,
            90);

  for (const char* bad :
       {"google.quota.per_user_per_minute=0", "google.quota.per_project_per_minute=-5",
        "google.quota.safety_margin_percent=101"}) {
    auto r = LoadConfig({.sets = {bad}});
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().field(), std::string(bad).substr(0, std::string(bad).find('=')));
  }
}

TEST_F(ConfigTest, StringRulesAreChecked) {
  auto level = LoadConfig({.sets = {"log.level=loud"}});
  ASSERT_FALSE(level.has_value());
  EXPECT_NE(level.error().message().find("log.level: must be one of debug, info, warn, error, off"),
            std::string::npos);
  auto storage = LoadConfig({.sets = {"storage.url=mysql://x"}});
  ASSERT_FALSE(storage.has_value());
  EXPECT_EQ(storage.error().field(), "storage.url");
  auto unknown = LoadConfig({.sets = {"nope=1"}});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().message(), "config: nope: unknown key (from --set)");
}

TEST_F(ConfigTest, MalformedTomlNamesTheLine) {
  std::string file = WriteToml("[server]\nport = = 3\n");
  auto c = LoadConfig({.file = file});
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message().find(".toml:2:"), std::string::npos) << c.error().message();
}

TEST_F(ConfigTest, ClientIdWithoutSecretIsRefused) {
  auto c = LoadConfig({.sets = {"google.client_id=abc.apps.googleusercontent.com"}});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().field(), "google.client_secret");
}

TEST_F(ConfigTest, SecretIsNeverPrinted) {
  auto c = LoadConfig({.sets = {"google.client_id=abc", "google.client_secret=s3cr3t-value"}});
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->sandbox());
  std::string dump = ConfigToJson(*c).dump();
  EXPECT_EQ(dump.find("s3cr3t-value"), std::string::npos);
  EXPECT_NE(dump.find("[REDACTED]"), std::string::npos);
}

TEST_F(ConfigTest, StorageUrlPasswordIsNeverPrinted) {
  auto c =
      LoadConfig({.sets = {"storage.url=postgres://telemeet:pg-s3cr3t@db.internal:5432/telemeet"}});
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->StorageUrl(), "postgres://telemeet:pg-s3cr3t@db.internal:5432/telemeet");
  auto json = ConfigToJson(*c);
  EXPECT_EQ(json.dump().find("pg-s3cr3t"), std::string::npos);
  EXPECT_EQ(json["storage.url"], "postgres://telemeet:[REDACTED]@db.internal:5432/telemeet");
}

TEST_F(ConfigTest, SmtpSectionLoadsChecksAndHidesThePassword) {
  auto c =
      LoadConfig({.sets = {"smtp.enabled=true", "smtp.host=mail.clinic.example", "smtp.port=465",
                           "smtp.tls=tls", "smtp.username=telemeet", "smtp.password=mail-s3cr3t",
                           "smtp.from=Clinic <a@clinic.example>"}});
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_TRUE(c->smtp.enabled);
  EXPECT_EQ(c->smtp.port, 465);
  EXPECT_EQ(c->smtp.tls, "tls");
  EXPECT_EQ(c->MailDir(), c->data_dir + "/mail");
  std::string dump = ConfigToJson(*c).dump();
  EXPECT_EQ(dump.find("mail-s3cr3t"), std::string::npos);
  EXPECT_NE(dump.find("smtp.password"), std::string::npos);

  auto bad_tls = LoadConfig({.sets = {"smtp.tls=ssl"}});
  ASSERT_FALSE(bad_tls.has_value());
  EXPECT_EQ(bad_tls.error().field(), "smtp.tls");
  auto no_host = LoadConfig({.sets = {"smtp.enabled=true", "smtp.from=a@clinic.example"}});
  ASSERT_FALSE(no_host.has_value());
  EXPECT_EQ(no_host.error().field(), "smtp.host");
  auto defaults = LoadConfig({});
  ASSERT_TRUE(defaults.has_value());
  EXPECT_FALSE(defaults->smtp.enabled);
}

TEST_F(ConfigTest, NotifySectionLoadsAndBadLeadTimesAreNamed) {
  auto defaults = LoadConfig({});
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->notify.reminders, (std::vector<std::string>{"24h", "1h"}));
  EXPECT_EQ(defaults->notify.clinic_name, "");

  auto file = LoadConfig({.file = WriteToml("[notify]\nclinic_name = \"Example Clinic\"\n"
                                            "reminders = [\"2d\", \"90m\"]\n")});
  ASSERT_TRUE(file.has_value()) << file.error().message();
  EXPECT_EQ(file->notify.clinic_name, "Example Clinic");
  EXPECT_EQ(file->notify.reminders, (std::vector<std::string>{"2d", "90m"}));

  std::string env_entry = "TELEMEET_NOTIFY_REMINDERS=24h, 30m";
  char* env[] = {env_entry.data(), nullptr};
  auto from_env = LoadConfig({.env = env});
  ASSERT_TRUE(from_env.has_value()) << from_env.error().message();
  EXPECT_EQ(from_env->notify.reminders, (std::vector<std::string>{"24h", "30m"}));
  auto none = LoadConfig({.sets = {"notify.reminders="}});
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->notify.reminders.empty());
  nlohmann::json dump = ConfigToJson(*from_env);
  EXPECT_EQ(dump["notify.reminders"], nlohmann::json::array({"24h", "30m"}));
  EXPECT_EQ(dump["notify.clinic_name"], "");

  for (const std::string bad : {"notify.reminders=24h,tomorrow", "notify.reminders=1m",
                                "notify.reminders=31d", "notify.reminders=h"}) {
    auto c = LoadConfig({.sets = {bad}});
    ASSERT_FALSE(c.has_value()) << bad;
    EXPECT_EQ(c.error().field(), "notify.reminders") << bad;
    EXPECT_NE(c.error().message().find("notify.reminders"), std::string::npos)
        << c.error().message();
  }
  auto wrong_type = LoadConfig({.file = WriteToml("[notify]\nreminders = \"24h\"\n")});
  ASSERT_FALSE(wrong_type.has_value());
  EXPECT_EQ(wrong_type.error().field(), "notify.reminders");
  auto too_many = LoadConfig({.sets = {"notify.reminders=1h,2h,3h,4h,5h,6h,7h,8h,9h,10h,11h"}});
  ASSERT_FALSE(too_many.has_value());
  EXPECT_EQ(too_many.error().field(), "notify.reminders");
  EXPECT_NE(too_many.error().message().find("at most 10"), std::string::npos);
}

TEST_F(ConfigTest, AllowedReturnOriginsAreExactOriginsFromEveryKindOfSource) {
  auto defaults = LoadConfig({});
  ASSERT_TRUE(defaults.has_value());
  EXPECT_TRUE(defaults->integrations.allowed_return_origins.empty());

  auto file = LoadConfig(
      {.file = WriteToml("[integrations]\nallowed_return_origins = [\"https://clinic.example\", "
                         "\"http://127.0.0.1:8081\", \"http://[::1]:9000\"]\n")});
  ASSERT_TRUE(file.has_value()) << file.error().message();
  EXPECT_EQ(file->integrations.allowed_return_origins,
            (std::vector<std::string>{"https://clinic.example", "http://127.0.0.1:8081",
                                      "http://[::1]:9000"}));
  std::string env_entry = "TELEMEET_INTEGRATIONS_ALLOWED_RETURN_ORIGINS=https://a.example";
  char* env[] = {env_entry.data(), nullptr};
  auto from_env = LoadConfig({.env = env});
  ASSERT_TRUE(from_env.has_value()) << from_env.error().message();
  EXPECT_EQ(ConfigToJson(*from_env)["integrations.allowed_return_origins"],
            nlohmann::json::array({"https://a.example"}));

  for (std::string bad :
       {"clinic.example", "https://clinic.example/", "https://clinic.example/wp",
        "https://user@clinic.example", "javascript://clinic.example", "https://clinic.example:0",
        "https://clinic.example:99999", "https://", "ftp://clinic.example"}) {
    auto refused = LoadConfig({.sets = {"integrations.allowed_return_origins=" + bad}});
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_EQ(refused.error().field(), "integrations.allowed_return_origins") << bad;
  }
}

TEST_F(ConfigTest, WebhookDestinationsLoadFromEveryKindOfSource) {
  auto defaults = LoadConfig({});
  ASSERT_TRUE(defaults.has_value());
  EXPECT_TRUE(defaults->webhooks.allowed_hosts.empty());
  EXPECT_FALSE(defaults->webhooks.allow_http);

  auto file = LoadConfig(
      {.file = WriteToml("[webhooks]\nallowed_hosts = [\"hooks.lan\", \"10.0.0.7\", \"[::1]\"]\n"
                         "allow_http = true\n")});
  ASSERT_TRUE(file.has_value()) << file.error().message();
  EXPECT_EQ(file->webhooks.allowed_hosts,
            (std::vector<std::string>{"hooks.lan", "10.0.0.7", "[::1]"}));
  EXPECT_TRUE(file->webhooks.allow_http);
  EXPECT_TRUE(LoadConfig({.file = WriteToml("[webhooks]\nallowed_hosts = []\n")}).has_value());

  std::string env_entry = "TELEMEET_WEBHOOKS_ALLOWED_HOSTS=a.lan, 127.0.0.1";
  char* env[] = {env_entry.data(), nullptr};
  auto from_env = LoadConfig({.env = env, .sets = {"webhooks.allow_http=true"}});
  ASSERT_TRUE(from_env.has_value()) << from_env.error().message();
  EXPECT_EQ(from_env->webhooks.allowed_hosts, (std::vector<std::string>{"a.lan", "127.0.0.1"}));
  auto flag = LoadConfig({.env = env, .sets = {"webhooks.allowed_hosts="}});
  ASSERT_TRUE(flag.has_value());
  EXPECT_TRUE(flag->webhooks.allowed_hosts.empty());

  nlohmann::json dump = ConfigToJson(*from_env);
  EXPECT_EQ(dump["webhooks.allowed_hosts"], nlohmann::json::array({"a.lan", "127.0.0.1"}));
  EXPECT_EQ(dump["webhooks.allow_http"], true);

  for (std::string bad :
       {"webhooks.allowed_hosts=http://a.lan", "webhooks.allowed_hosts=a.lan:8080",
        "webhooks.allowed_hosts=a.lan/x", "webhooks.allowed_hosts=a.lan,,b.lan"}) {
    auto refused = LoadConfig({.sets = {bad}});
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_EQ(refused.error().field(), "webhooks.allowed_hosts") << bad;
  }
  auto wrong_type = LoadConfig({.file = WriteToml("[webhooks]\nallowed_hosts = \"a.lan\"\n")});
  ASSERT_FALSE(wrong_type.has_value());
  EXPECT_EQ(wrong_type.error().field(), "webhooks.allowed_hosts");
  EXPECT_NE(wrong_type.error().message().find("an array of strings"), std::string::npos);
}

}  // namespace
}  // namespace telemeet::app
