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

#include <string>

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

// Parses the config text of a secret reference. `base_dir` resolves relative file
// paths. Never fails: text without a known prefix is a literal (the loader decides
// whether literals are allowed).
SecretRef ParseSecretRef(const std::string& text, const std::string& base_dir);

// Reads the secret. Errors: kNotFound (variable unset, file missing),
// kFailedPrecondition (empty value, unreadable file), each naming the reference.
[[nodiscard]] core::Result<core::Secret> ResolveSecret(const SecretRef& ref);

}  // namespace opsgate::config
