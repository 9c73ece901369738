#include "crypto/master_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "crypto/encoding.h"
#include "crypto/random.h"

namespace telemeet::crypto {
namespace {

namespace fs = std::filesystem;

class MasterKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "telemeet-crypto-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path WriteFile(const std::string& name, const std::string& text, mode_t mode) {
    fs::path p = dir_ / name;
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
    return p;
  }

  static std::string Read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  fs::path dir_;
  std::string key1_ = RandomBytes(32);
  std::string key2_ = RandomBytes(32);
};

TEST_F(MasterKeyTest, BareKeyGetsStableDerivedId) {
  auto ring = ParseMasterKey(Base64UrlEncode(key1_), "TELEMEET_MASTER_KEY");
  ASSERT_TRUE(ring.has_value()) << ring.error().ToString();
  EXPECT_EQ(ring->primary_id(), DerivedKeyId(key1_));
  EXPECT_EQ(ring->primary_id().size(), 9u);
  EXPECT_TRUE(KeyRing::ValidId(ring->primary_id()));
  EXPECT_NE(DerivedKeyId(key1_), DerivedKeyId(key2_));
  // Padding is accepted; the key seals and a second parse of the same text opens.
  auto again = ParseMasterKey(Base64UrlEncode(key1_) + "=", "TELEMEET_MASTER_KEY").value();
  EXPECT_EQ(again.Open(ring->Seal("s", "a").value(), "a").value(), "s");
}

TEST_F(MasterKeyTest, FirstEntryIsPrimaryOthersOpen) {
  KeyRing old_ring;
  ASSERT_TRUE(old_ring.Add("old", key1_));
  auto old_sealed = old_ring.Seal("secret", "aad").value();

  auto ring = ParseMasterKey("new:" + Base64UrlEncode(key2_) + ", old:" + Base64UrlEncode(key1_),
                             "TELEMEET_MASTER_KEY");
  ASSERT_TRUE(ring.has_value()) << ring.error().ToString();
  EXPECT_EQ(ring->size(), 2u);
  EXPECT_EQ(ring->primary_id(), "new");
  EXPECT_EQ(ring->Open(old_sealed, "aad").value(), "secret");
  EXPECT_TRUE(ring->Seal("x", "aad").value().starts_with("new."));
}

TEST_F(MasterKeyTest, MalformedEntriesAreRejectedWithoutEchoingKeys) {
  std::string short_key = Base64UrlEncode(RandomBytes(31));
  for (const std::string& text : {std::string(""), std::string("  \n# only a comment\n"), short_key,
                                  "Bad_Id:" + Base64UrlEncode(key1_),
                                  "a:" + Base64UrlEncode(key1_) + ",a:" + Base64UrlEncode(key2_),
                                  std::string("k1:not base64!")}) {
    auto ring = ParseMasterKey(text, "TELEMEET_MASTER_KEY");
    ASSERT_FALSE(ring.has_value()) << text;
    const std::string& msg = ring.error().message();
    EXPECT_NE(msg.find("TELEMEET_MASTER_KEY"), std::string::npos) << msg;
    EXPECT_EQ(msg.find(short_key), std::string::npos) << msg;
    EXPECT_EQ(msg.find(Base64UrlEncode(key1_)), std::string::npos) << msg;
  }
  auto wrong = ParseMasterKey(short_key, "TELEMEET_MASTER_KEY");
  EXPECT_EQ(wrong.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(wrong.error().message().find("31 bytes"), std::string::npos);
}

TEST_F(MasterKeyTest, KeyFileWithOwnerOnlyModeLoads) {
  std::string text =
      "# comment\n\nk2:" + Base64UrlEncode(key2_) + "\nk1:" + Base64UrlEncode(key1_) + "\n";
  for (mode_t mode : {0600, 0400}) {
    auto path = WriteFile("key" + std::to_string(mode), text, mode);
    auto ring = ReadKeyFile(path);
    ASSERT_TRUE(ring.has_value()) << ring.error().ToString();
    EXPECT_EQ(ring->primary_id(), "k2");
    EXPECT_TRUE(ring->Contains("k1"));
  }
}

TEST_F(MasterKeyTest, KeyFileWithWiderModeIsRefused) {
  std::string text = Base64UrlEncode(key1_) + "\n";
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
    auto path = WriteFile("wide", text, mode);
    auto ring = ReadKeyFile(path);
    ASSERT_FALSE(ring.has_value()) << std::oct << mode;
    EXPECT_EQ(ring.error().code(), ErrorCode::kPermissionDenied);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    EXPECT_NE(ring.error().message().find(path.string()), std::string::npos);
    EXPECT_NE(ring.error().message().find(octal), std::string::npos) << ring.error().message();
    fs::remove(path);
  }
}

TEST_F(MasterKeyTest, MissingFileSymlinkAndDirectoryAreRefused) {
  EXPECT_EQ(ReadKeyFile(dir_ / "absent").error().code(), ErrorCode::kNotFound);
  auto real = WriteFile("real", Base64UrlEncode(key1_), 0600);
  fs::create_symlink(real, dir_ / "link");
  EXPECT_EQ(ReadKeyFile(dir_ / "link").error().code(), ErrorCode::kFailedPrecondition);
  fs::create_directory(dir_ / "d");
  ::chmod((dir_ / "d").c_str(), 0700);
  EXPECT_EQ(ReadKeyFile(dir_ / "d").error().code(), ErrorCode::kFailedPrecondition);
}

TEST_F(MasterKeyTest, EnvironmentValueWinsOverFile) {
  auto file = WriteFile("key", "file:" + Base64UrlEncode(key1_), 0600);
  EXPECT_EQ(LoadMasterKey("env:" + Base64UrlEncode(key2_), file).value().primary_id(), "env");
  EXPECT_EQ(LoadMasterKey("", file).value().primary_id(), "file");
  EXPECT_EQ(LoadMasterKey("  ", file).value().primary_id(), "file");
  EXPECT_EQ(LoadMasterKey("", "").error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(LoadMasterKey("", dir_ / "absent").error().code(), ErrorCode::kNotFound);
}

TEST_F(MasterKeyTest, GenerateKeyFileIsPrivateLoadableAndNeverOverwrites) {
  mode_t old_umask = ::umask(0);  // even a permissive umask must not widen the file
  fs::path path = dir_ / "master.key";
  Status made = GenerateKeyFile(path);
  ::umask(old_umask);
  ASSERT_TRUE(made.has_value()) << made.error().ToString();

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto ring = ReadKeyFile(path);
  ASSERT_TRUE(ring.has_value()) << ring.error().ToString();
  EXPECT_EQ(ring->size(), 1u);
  auto sealed = ring->Seal("x", "a").value();

  std::string before = Read(path);
  auto again = GenerateKeyFile(path);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(Read(path), before);
  EXPECT_EQ(ReadKeyFile(path)->Open(sealed, "a").value(), "x");

  // No temporary files are left behind, and a second file gets a different key.
  ASSERT_TRUE(GenerateKeyFile(dir_ / "other.key"));
  EXPECT_NE(ReadKeyFile(dir_ / "other.key")->primary_id(), ring->primary_id());
  size_t entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 2u);
}

TEST_F(MasterKeyTest, GenerateKeyFileInMissingDirectoryFails) {
  auto s = GenerateKeyFile(dir_ / "no" / "such" / "dir" / "key");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace telemeet::crypto
