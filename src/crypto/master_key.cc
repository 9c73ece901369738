#include "crypto/master_key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "base/strings.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace telemeet::crypto {
namespace {

std::string OctalMode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string ErrnoText(int err) { return std::strerror(err); }

// Parses one entry into `ring`. `where` is e.g. "TELEMEET_MASTER_KEY entry 2".
Status AddEntry(KeyRing& ring, std::string_view entry, const std::string& where) {
  std::string id;
  std::string_view encoded = entry;
  if (size_t colon = entry.find(':'); colon != std::string_view::npos) {
    id = std::string(entry.substr(0, colon));
    encoded = entry.substr(colon + 1);
    if (!KeyRing::ValidId(id)) {
      return Fail(ErrorCode::kInvalidArgument,
                  where + ": key id is invalid: use 1 to 64 characters of a-z, 0-9 and '-'");
    }
  }
  auto key = Base64UrlDecode(encoded);
  if (!key) {
    return Fail(ErrorCode::kInvalidArgument, where + ": the key is not valid base64url");
  }
  if (key->size() != KeyRing::kKeyBytes) {
    std::string size = std::to_string(key->size());
    sodium_memzero(key->data(), key->size());
    return Fail(ErrorCode::kInvalidArgument,
                where + ": the key has " + size + " bytes; it must have 32");
  }
  if (id.empty()) id = DerivedKeyId(*key);
  Status added = ring.Add(id, *key);
  sodium_memzero(key->data(), key->size());
  if (!added) return Fail(added.error().code(), where + ": " + added.error().message());
  return Ok();
}

}  // namespace

std::string DerivedKeyId(std::string_view key) {
  return "k" + HexEncode(Sha256("telemeet master key id\n" + std::string(key))).substr(0, 8);
}

Result<KeyRing> ParseMasterKey(std::string_view text, std::string_view source) {
  KeyRing ring;
  size_t index = 0;
  for (std::string_view line : Split(text, '\n')) {
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    // Within a line, entries may be separated by ',' or blanks.
    size_t pos = 0;
    while (pos < line.size()) {
      size_t end = line.find_first_of(", \t", pos);
      if (end == std::string_view::npos) end = line.size();
      std::string_view entry = line.substr(pos, end - pos);
      pos = end + 1;
      if (entry.empty()) continue;
      ++index;
      Status s = AddEntry(ring, entry, std::string(source) + " entry " + std::to_string(index));
      if (!s) return std::unexpected(s.error());
    }
  }
  if (ring.empty()) {
    return Fail(ErrorCode::kInvalidArgument, std::string(source) + " holds no key");
  }
  return ring;
}

Result<KeyRing> ReadKeyFile(const std::filesystem::path& path) {
  const std::string name = path.string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return Fail(ErrorCode::kNotFound, "master key file " + name + " does not exist");
    }
    if (err == ELOOP) {
      return Fail(ErrorCode::kFailedPrecondition,
                  "master key file " + name + " is a symbolic link; point to the file itself");
    }
    return Fail(ErrorCode::kUnavailable,
                "cannot open master key file " + name + ": " + ErrnoText(err));
  }
  // fstat on the open descriptor: the file checked is the file read.
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Fail(ErrorCode::kUnavailable, "cannot stat " + name + ": " + ErrnoText(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Fail(ErrorCode::kFailedPrecondition,
                "master key file " + name + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Fail(ErrorCode::kPermissionDenied,
                "master key file " + name + " has mode " + OctalMode(st.st_mode) +
                    "; it must be readable by its owner only (chmod 600 " + name + ")");
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      sodium_memzero(text.data(), text.size());
      return Fail(ErrorCode::kUnavailable, "cannot read " + name + ": " + ErrnoText(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1 << 20)) {
      ::close(fd);
      sodium_memzero(text.data(), text.size());
      return Fail(ErrorCode::kInvalidArgument, "master key file " + name + " is too large");
    }
  }
  ::close(fd);
  sodium_memzero(buf, sizeof buf);
  auto ring = ParseMasterKey(text, name);
  sodium_memzero(text.data(), text.size());
  return ring;
}

Result<KeyRing> LoadMasterKey(std::string_view env_value, const std::filesystem::path& key_file) {
  if (!Trim(env_value).empty()) return ParseMasterKey(env_value, "TELEMEET_MASTER_KEY");
  if (!key_file.empty()) return ReadKeyFile(key_file);
  return Fail(ErrorCode::kFailedPrecondition,
              "no master key: set TELEMEET_MASTER_KEY or configure a master key file");
}

Status GenerateKeyFile(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::string key = RandomBytes(KeyRing::kKeyBytes);
  std::string contents =
      "# telemeet master keys. The first entry seals; every entry opens. To rotate, put a new\n"
      "# \"<id>:<base64url of 32 random bytes>\" line first and keep the old ones.\n" +
      DerivedKeyId(key) + ":" + Base64UrlEncode(key) + "\n";
  sodium_memzero(key.data(), key.size());
  auto wipe = [&contents] { sodium_memzero(contents.data(), contents.size()); };

  // Write a temporary file in the same directory (0600 from creation), sync it, then link it
  // into place: link() fails with EEXIST instead of replacing an existing key file.
  std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  std::string tmp = (dir / (".telemeet-key-XXXXXX")).string();
  std::vector<char> tmpl(tmp.begin(), tmp.end());
  tmpl.push_back('\0');
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);  // mkostemp creates with mode 0600
  if (fd < 0) {
    int err = errno;
    wipe();
    return Fail(ErrorCode::kUnavailable,
                "cannot create a file in " + dir.string() + ": " + ErrnoText(err));
  }
  std::string tmp_path(tmpl.data());
  auto fail = [&](const std::string& what, int err) -> Status {
    ::close(fd);
    ::unlink(tmp_path.c_str());
    wipe();
    return Fail(ErrorCode::kUnavailable, what + ": " + ErrnoText(err));
  };
  if (::fchmod(fd, 0600) != 0) return fail("cannot chmod " + tmp_path, errno);
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write " + tmp_path, errno);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot sync " + tmp_path, errno);
  if (::link(tmp_path.c_str(), path.c_str()) != 0) {
    int err = errno;
    if (err == EEXIST) {
      ::close(fd);
      ::unlink(tmp_path.c_str());
      wipe();
      return Fail(ErrorCode::kAlreadyExists,
                  "master key file " + name + " already exists; it is never overwritten");
    }
    return fail("cannot create " + name, err);
  }
  ::close(fd);
  ::unlink(tmp_path.c_str());
  wipe();
  // Make the new directory entry durable too.
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return Ok();
}

}  // namespace telemeet::crypto
