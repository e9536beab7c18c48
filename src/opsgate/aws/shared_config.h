// File: opsgate/aws/shared_config.h
//
// The AWS shared `credentials` and `config` files (~/.aws/credentials, ~/.aws/config), read
// the way the AWS SDKs read them, but strictly: a malformed line, a duplicate section or a
// duplicate key is an error naming the file and line, never a silent guess.
//
//   EnvLookup env = ProcessEnv();
//   auto shared = LoadSharedConfig(env);            // both files, missing ones are empty
//   if (!shared) { return core::Fail(shared.error()); }
//   auto region = shared->Get(shared->location.profile, "region");
//
// Format (docs/aws.md#credentials):
//   - `[name]` sections in `credentials`; `[default]` and `[profile name]` in `config`
//     (`[profile default]` is "default"). Other sections of `config` (`[services x]`,
//     `[sso-session x]`, ...) are syntax-checked and skipped.
//   - `key = value` (or `key: value`); key names are lower-cased; the value is taken
//     verbatim after trimming (no inline comments: ';' and '#' inside a value are kept).
//   - A key with an empty value followed by indented `sub = value` lines is a nested
//     sub-section, stored as "key.sub" (e.g. "s3.addressing_style").
//   - Lines starting with '#' or ';' (after whitespace) are comments; CRLF is accepted.
//   - Bounded: SharedConfigLimits. NUL and control bytes other than TAB are refused.
//
// Secrets: aws_secret_access_key and aws_session_token (and the legacy aws_security_token)
// are kept as core::Secret in Profile::secrets, never in Profile::values. Error messages
// name the file, the line and at most the key name, never a line's content.
//
// Thread-safety: functions are reentrant; ProcessEnv() reads the process environment,
// which must not be modified concurrently (the usual getenv rule).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"

namespace opsgate::aws {

// Reads one environment variable: nullopt when unset. Injected everywhere so that tests
// never touch the real environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;

// An EnvLookup over the process environment (std::getenv).
EnvLookup ProcessEnv();

enum class SharedFileKind {
  kCredentials,  // sections are `[name]`
  kConfig,       // sections are `[default]` and `[profile name]`
};

struct SharedConfigLimits {
  size_t max_bytes = 1 << 20;    // whole file
  size_t max_line_bytes = 8192;  // one line
  size_t max_profiles = 1024;    // sections kept
  size_t max_keys_per_profile = 256;
};

struct Profile {
  std::string name;
  // 1-based line of the section header.
  size_t line = 0;
  // Every non-secret key, lower-cased; nested sub-section keys as "parent.sub".
  std::map<std::string, std::string, std::less<>> values;
  // aws_secret_access_key, aws_session_token, aws_security_token.
  std::map<std::string, core::Secret, std::less<>> secrets;

  std::optional<std::string> Get(std::string_view key) const;
  const core::Secret* GetSecret(std::string_view key) const;
  bool Has(std::string_view key) const { return Get(key).has_value() || GetSecret(key); }
};

using Profiles = std::map<std::string, Profile, std::less<>>;

// Whether `key` (lower case) is stored in Profile::secrets.
bool IsSecretKey(std::string_view key);

// Parses one file's text. `file_name` only labels errors ("<file_name>:<line>: ...").
// kInvalidArgument on a syntax error, a duplicate section or key, or a NUL/control byte;
// kResourceExhausted when a limit is hit.
[[nodiscard]] core::Result<Profiles> ParseSharedConfig(std::string_view text, SharedFileKind kind,
                                                       std::string_view file_name,
                                                       const SharedConfigLimits& limits = {});

// Where the files are and which profile is selected:
//   credentials: AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials
//   config:      AWS_CONFIG_FILE, else $HOME/.aws/config
//   profile:     AWS_PROFILE, else "default"
// A leading "~/" is expanded with HOME. A path is "" when it cannot be formed (no HOME).
struct SharedConfigLocation {
  std::string credentials_path;
  std::string config_path;
  std::string profile;
  // Whether AWS_PROFILE named the profile (a missing named profile is then an error).
  bool profile_explicit = false;
};
SharedConfigLocation LocateSharedConfig(const EnvLookup& env);

// Reads a regular file of at most `max_bytes`. kNotFound when it does not exist,
// kResourceExhausted when larger, kUnavailable/kFailedPrecondition on other I/O trouble.
[[nodiscard]] core::Result<std::string> ReadBoundedFile(const std::string& path, size_t max_bytes);

struct SharedConfig {
  SharedConfigLocation location;
  Profiles credentials;  // from the credentials file
  Profiles config;       // from the config file

  // The value of `key` in profile `name`: the credentials file first, then the config file.
  std::optional<std::string> Get(std::string_view name, std::string_view key) const;
  // The secret `key` of profile `name`: the credentials file first, then the config file.
  const core::Secret* GetSecret(std::string_view name, std::string_view key) const;
  // Whether either file has a profile `name`.
  bool HasProfile(std::string_view name) const;
};

// Locates and parses both files; a missing file parses as empty.
[[nodiscard]] core::Result<SharedConfig> LoadSharedConfig(const EnvLookup& env,
                                                          const SharedConfigLimits& limits = {});

}  // namespace opsgate::aws
