#include "opsgate/config/secret_ref.h"

#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <utility>

#include "opsgate/config/internal/files.h"

namespace opsgate::config {
namespace {

constexpr std::string_view kEnvPrefix = "env:";
constexpr std::string_view kFilePrefix = "file:";

core::Unexpected RefError(core::ErrorCode code, const SecretRef& ref, std::string_view what) {
  return core::Fail({code, "secret " + ref.Describe() + ": " + std::string(what)});
}

core::Result<core::Secret> ResolveEnv(const SecretRef& ref) {
  const std::string name(ref.value.Reveal());
  if (!IsValidEnvName(name)) {
    return RefError(core::ErrorCode::kFailedPrecondition, ref,
                    "not a valid environment variable name (letters, digits and '_', not "
                    "starting with a digit)");
  }
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return RefError(core::ErrorCode::kNotFound, ref,
                    "the environment variable is not set; export it or point the reference "
                    "elsewhere");
  }
  if (*value == '\0') {
    return RefError(core::ErrorCode::kFailedPrecondition, ref,
                    "the environment variable is empty; set it to the secret or point the "
                    "reference elsewhere");
  }
  return core::Secret(std::string(value));
}

core::Result<core::Secret> ResolveFile(const SecretRef& ref) {
  const std::string path(ref.value.Reveal());
  auto bytes = internal::ReadFileAtMost(path, kMaxSecretFileBytes);
  if (!bytes) {
    switch (bytes.error().problem) {
      case internal::FileProblem::kNotFound:
        return RefError(core::ErrorCode::kNotFound, ref,
                        "the file does not exist; create it (mode 600) or point the reference "
                        "elsewhere");
      case internal::FileProblem::kNotRegular:
        return RefError(core::ErrorCode::kFailedPrecondition, ref,
                        "not a regular file; point the reference at a file holding the secret");
      case internal::FileProblem::kTooLarge:
        return RefError(core::ErrorCode::kFailedPrecondition, ref,
                        "the file is larger than 64 KiB; a secret file holds one value");
      case internal::FileProblem::kUnreadable:
        break;
    }
    return RefError(
        core::ErrorCode::kFailedPrecondition, ref,
        "cannot read the file (" + bytes.error().detail + "); check its owner and mode");
  }
  std::string& value = *bytes;
  // Editors and `echo` add one line break; the secret is the text before it.
  if (value.ends_with("\r\n")) {
    value.resize(value.size() - 2);
  } else if (value.ends_with('\n')) {
    value.resize(value.size() - 1);
  }
  if (value.empty()) {
    return RefError(core::ErrorCode::kFailedPrecondition, ref,
                    "the file is empty; write the secret into it");
  }
  return core::Secret(std::move(value));
}

}  // namespace

bool IsValidEnvName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  for (const char c : name) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string SecretRef::Describe() const {
  switch (kind) {
    case Kind::kEnv:
      return std::string(kEnvPrefix) + std::string(value.Reveal());
    case Kind::kFile:
      return std::string(kFilePrefix) + std::string(value.Reveal());
    case Kind::kLiteral:
      break;
  }
  return "literal";
}

SecretRef ParseSecretRef(const std::string& text, const std::string& base_dir) {
  const std::string_view view(text);
  SecretRef ref;
  if (view.starts_with(kEnvPrefix)) {
    ref.kind = SecretRef::Kind::kEnv;
    ref.value = core::Secret(std::string(view.substr(kEnvPrefix.size())));
  } else if (view.starts_with(kFilePrefix)) {
    ref.kind = SecretRef::Kind::kFile;
    std::filesystem::path path(view.substr(kFilePrefix.size()));
    if (!path.empty() && path.is_relative() && !base_dir.empty()) {
      path = std::filesystem::path(base_dir) / path;
    }
    ref.value = core::Secret(path.empty() ? std::string() : path.lexically_normal().string());
  } else {
    ref.kind = SecretRef::Kind::kLiteral;
    ref.value = core::Secret(text);
  }
  return ref;
}

core::Result<core::Secret> ResolveSecret(const SecretRef& ref) {
  switch (ref.kind) {
    case SecretRef::Kind::kEnv:
      return ResolveEnv(ref);
    case SecretRef::Kind::kFile:
      if (ref.value.empty()) {
        return RefError(core::ErrorCode::kFailedPrecondition, ref,
                        "no path after 'file:'; write file:/path/to/secret");
      }
      return ResolveFile(ref);
    case SecretRef::Kind::kLiteral:
      break;
  }
  if (ref.value.empty()) {
    return RefError(core::ErrorCode::kFailedPrecondition, ref,
                    "the literal secret is empty; use env:NAME or file:PATH");
  }
  return core::Secret(std::string(ref.value.Reveal()));
}

}  // namespace opsgate::config
