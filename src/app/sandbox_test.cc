// The sandbox's demo clinic: random passwords per data dir, kept 0600; retired for good once
// real Google credentials are used on the store.
#include "app/sandbox.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "api/accounts.h"
#include "api/api.h"
#include "crypto/password.h"
#include "store/testing/test_database.h"

namespace telemeet::app {
namespace {

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::testing::TestDatabase::Create("sqlite");
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
    auto opened = store::OpenStore(db_->url(), SystemClock::Instance());
    ASSERT_TRUE(opened.has_value());
    store_ = std::move(*opened);
    ASSERT_TRUE(store_->Migrate().has_value());
    dir_ = std::filesystem::temp_directory_path() /
           ("telemeet-sandbox-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  core::User User(const std::string& email) {
    return *store_->Read([&](store::Tx& tx) { return tx.GetUserByEmail(email); });
  }
  bool Opens(const std::string& email, const std::string& password) {
    return crypto::VerifyPassword(User(email).password_hash, password);
  }

  std::unique_ptr<store::testing::TestDatabase> db_;
  std::unique_ptr<store::Store> store_;
  std::filesystem::path dir_;
};

TEST_F(SandboxTest, DemoPasswordsAreRandomPerDataDirAndKeptPrivately) {
  auto first = SeedDemoClinic(*store_, dir_.string());
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  ASSERT_EQ(first->sign_ins.size(), 3u);
  EXPECT_EQ(first->sign_ins[0].role, "admin");
  EXPECT_NE(first->sign_ins[0].password, first->sign_ins[1].password);
  for (const DemoSignIn& s : first->sign_ins) {
    EXPECT_GE(s.password.size(), 16u);
    EXPECT_TRUE(Opens(s.email, s.password)) << s.email;
  }
  EXPECT_EQ(std::filesystem::status(dir_ / "sandbox-sign-ins").permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // A later start prints the same ones.
  auto again = SeedDemoClinic(*store_, dir_.string());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->sign_ins[0].password, first->sign_ins[0].password);
  EXPECT_EQ(again->sign_ins[2].password, first->sign_ins[2].password);
}

// A demo clinic seeded by an older telemeet had published passwords and no passwords file.
TEST_F(SandboxTest, AnOldDemoClinicWithPublishedPasswordsGetsRandomOnes) {
  ASSERT_TRUE(api::CreateAdmin(*store_, "admin@sandbox.telemeet.test", "sandbox-admin-1",
                               crypto::PasswordLimits::Minimum()));
  for (const auto& a : SandboxAccounts()) {
    auto doctor = store_->Transact(
        [&](store::Tx& tx) { return tx.CreateDoctor({.name = a.name, .email = a.email}); });
    ASSERT_TRUE(doctor.has_value());
    api::NewUser u;
    u.email = a.email;
    u.role = "doctor";
    u.doctor_id = doctor->id;
    u.password = "sandbox-doctor-1";
    ASSERT_TRUE(api::CreateUser(*store_, u, "", crypto::PasswordLimits::Minimum()));
  }
  auto seeded = SeedDemoClinic(*store_, dir_.string());
  ASSERT_TRUE(seeded.has_value()) << seeded.error().ToString();
  ASSERT_EQ(seeded->sign_ins.size(), 3u);
  EXPECT_FALSE(Opens("admin@sandbox.telemeet.test", "sandbox-admin-1"));
  EXPECT_FALSE(Opens("dr.ada.lovelace@sandbox.telemeet.test", "sandbox-doctor-1"));
  for (const DemoSignIn& s : seeded->sign_ins) EXPECT_TRUE(Opens(s.email, s.password));
}

TEST_F(SandboxTest, RealCredentialsRetireTheDemoClinicOnceAndForGood) {
  auto seeded = SeedDemoClinic(*store_, dir_.string());
  ASSERT_TRUE(seeded.has_value());
  // Dr Lovelace had connected her emulated Google account.
  const int64_t ada = User("dr.ada.lovelace@sandbox.telemeet.test").doctor_id;
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) {
    return tx.PutGrant({.doctor_id = ada,
                        .account_email = "dr.ada.lovelace@sandbox.telemeet.test",
                        .sealed_refresh_token = "k.x",
                        .access_token = "k.y"});
  }));
  auto retired = RetireDemoClinic(*store_, dir_.string());
  ASSERT_TRUE(retired.has_value()) << retired.error().ToString();
  EXPECT_TRUE(*retired);
  for (const DemoSignIn& s : seeded->sign_ins) EXPECT_TRUE(User(s.email).disabled) << s.email;
  auto keys = store_->Read([](store::Tx& tx) { return tx.ListApiKeys({}); });
  ASSERT_EQ(keys->items.size(), 1u);
  EXPECT_TRUE(keys->items[0].revoked_at.has_value());
  auto grant = store_->Read([&](store::Tx& tx) { return tx.GetGrant(ada); });
  EXPECT_EQ(grant->status, core::GrantStatus::kDisconnected);
  EXPECT_TRUE(grant->access_token.empty());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "sandbox-sign-ins"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "sandbox-api-key"));

  // Once only; and a later sandbox start neither seeds nor re-enables anything.
  EXPECT_FALSE(*RetireDemoClinic(*store_, dir_.string()));
  auto later = SeedDemoClinic(*store_, dir_.string());
  ASSERT_TRUE(later.has_value());
  EXPECT_TRUE(later->retired);
  EXPECT_TRUE(later->sign_ins.empty());
  for (const DemoSignIn& s : seeded->sign_ins) EXPECT_TRUE(User(s.email).disabled);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "sandbox-sign-ins"));
}

TEST_F(SandboxTest, AStoreThatNeverWasASandboxIsLeftAlone) {
  ASSERT_TRUE(api::CreateAdmin(*store_, "boss@clinic.example", "a long password",
                               crypto::PasswordLimits::Minimum()));
  auto retired = RetireDemoClinic(*store_, dir_.string());
  ASSERT_TRUE(retired.has_value());
  EXPECT_FALSE(*retired);
  EXPECT_FALSE(User("boss@clinic.example").disabled);
}

TEST(LoopbackTest, OnlyLoopbackAddresses) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackAddress("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackAddress("::1"));
  EXPECT_TRUE(IsLoopbackAddress("localhost"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackAddress("::"));
  EXPECT_FALSE(IsLoopbackAddress("192.168.1.10"));
  EXPECT_FALSE(IsLoopbackAddress("127.example.com"));
}

}  // namespace
}  // namespace telemeet::app
