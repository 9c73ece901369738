// Loading the master key ring that seals secrets at rest, from the TELEMEET_MASTER_KEY value or
// from a key file that only its owner can read (mode 0600 or narrower), and creating that file.
//
//   // TELEMEET_MASTER_KEY wins over the file when set and non-empty.
//   const char* env = std::getenv("TELEMEET_MASTER_KEY");
//   Result<KeyRing> ring = crypto::LoadMasterKey(env ? env : "", config.master_key_file);
//
//   // Sandbox mode only: create the file on first run (never overwrites).
//   Status s = crypto::GenerateKeyFile(path);
//
// Format, both for the variable and the file: one or more entries, each either a bare key
// (base64url of 32 bytes, padding optional) or "<id>:<key>" with an id of [a-z0-9-]. In the
// variable, entries are separated by ',' or whitespace; in the file, also by newlines. Lines
// starting with '#' are comments. The FIRST entry is the primary key (it seals); the others only
// open values sealed before a rotation. A bare key gets the id "k" + 8 hex digits of a hash of
// the key, so the same key always has the same id.
//
// Error messages name the entry (by position), the file and its mode, never key material.
// All functions are thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "base/error.h"
#include "crypto/keyring.h"

namespace telemeet::crypto {

// Parses the entries described above. `source` names where they came from in error messages
// ("TELEMEET_MASTER_KEY", a file path). Returns kInvalidArgument for a malformed entry, a key
// that is not 32 bytes, a bad or repeated id, or no entry at all.
Result<KeyRing> ParseMasterKey(std::string_view text, std::string_view source);

// Reads a key file. Returns kNotFound when it does not exist, kPermissionDenied when its mode
// lets the group or others read or write it (the message names the file and the mode),
// kFailedPrecondition when it is not a regular file, and ParseMasterKey's errors.
Result<KeyRing> ReadKeyFile(const std::filesystem::path& path);

// The key ring from `env_value` when it is non-empty, else from `key_file` when that is
// non-empty. Returns kFailedPrecondition when both are empty, plus the errors above.
Result<KeyRing> LoadMasterKey(std::string_view env_value, const std::filesystem::path& key_file);

// Writes a new key file holding one fresh random key, with mode 0600 from the start. The file
// appears atomically and complete or not at all, and an existing file is never replaced:
// returns kAlreadyExists then, and kUnavailable when the file cannot be written.
Status GenerateKeyFile(const std::filesystem::path& path);

// The id a bare 32-byte key gets ("k" + 8 lowercase hex digits).
std::string DerivedKeyId(std::string_view key);

}  // namespace telemeet::crypto
