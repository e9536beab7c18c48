// File: opsgate/config/secret_ref.h
//
// A reference to a secret, as written in the config:
//   env:NAME     the environment variable NAME
//   file:PATH    the contents of PATH (one trailing newline stripped); relative paths
//                resolve against the config file's directory
//   anything else is a literal, refused unless the config says `dev: true`.
// ResolveSecret() reads the value when it is needed, so rotating a file or an
// environment (on reload) takes effect without code changes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"

namespace opsgate::config {

struct SecretRef {
  enum class Kind {
    kEnv,      // env:NAME
    kFile,     // file:PATH
    kLiteral,  // only with dev: true
  };
  Kind kind = Kind::kEnv;
  // The variable name, the absolute path, or (kLiteral) the secret itself.
  core::Secret value;

  // "env:NAME", "file:/abs/path" or "literal" (never the literal's value).
  std::string Describe() const;
};

// The largest secret file ResolveSecret() reads.
inline constexpr size_t kMaxSecretFileBytes = 64 * 1024;

// Parses the config text of a secret reference. `base_dir` resolves relative file
// paths. Never fails: text without a known prefix is a literal (the loader decides
// whether literals are allowed).
SecretRef ParseSecretRef(const std::string& text, const std::string& base_dir);

// Reads the secret. Errors: kNotFound (variable unset, file missing),
// kFailedPrecondition (empty value, unreadable file, not a regular file, a file over
// kMaxSecretFileBytes, an invalid variable name), each naming the reference (Describe())
// and never the value.
[[nodiscard]] core::Result<core::Secret> ResolveSecret(const SecretRef& ref);

// True for a POSIX-portable environment variable name: [A-Za-z_][A-Za-z0-9_]*.
bool IsValidEnvName(std::string_view name);

}  // namespace opsgate::config
