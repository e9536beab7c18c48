#include "opsgate/aws/shared_config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>

#include "opsgate/core/strings.h"

namespace opsgate::aws {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && IsSpace(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// A key name short enough and clean enough to quote in an error.
std::string QuoteKey(std::string_view key) {
  if (key.size() > 64) {
    key = key.substr(0, 64);
  }
  return "'" + std::string(key) + "'";
}

class Parser {
 public:
  Parser(std::string_view file_name, SharedFileKind kind, const SharedConfigLimits& limits)
      : file_(file_name), kind_(kind), limits_(limits) {}

  core::Result<Profiles> Run(std::string_view text) {
    if (text.size() > limits_.max_bytes) {
      return core::Fail(core::ResourceExhausted(std::string(file_) + ": larger than " +
                                                std::to_string(limits_.max_bytes) + " bytes"));
    }
    size_t pos = 0;
    while (pos < text.size()) {
      ++line_no_;
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) {
        end = text.size();
      }
      std::string_view line = text.substr(pos, end - pos);
      pos = end + 1;
      if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
      }
      if (line.size() > limits_.max_line_bytes) {
        return Fail(core::ErrorCode::kResourceExhausted,
                    "line longer than " + std::to_string(limits_.max_line_bytes) + " bytes");
      }
      for (char c : line) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) {
          return Fail(core::ErrorCode::kInvalidArgument, "control or NUL byte");
        }
      }
      if (auto st = Line(line); !st) {
        return core::Fail(st.error());
      }
    }
    return std::move(profiles_);
  }

 private:
  core::Unexpected Fail(core::ErrorCode code, std::string what) const {
    return core::Fail(core::Error{
        code, std::string(file_) + ":" + std::to_string(line_no_) + ": " + std::move(what)});
  }

  core::Status Line(std::string_view raw) {
    const bool indented = !raw.empty() && IsSpace(raw.front());
    const std::string_view line = TrimSpaces(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') {
      return core::Ok();
    }
    if (line.front() == '[') {
      nested_parent_.clear();
      return Section(line);
    }
    if (indented && !nested_parent_.empty()) {
      return KeyValue(line, nested_parent_ + ".");
    }
    if (indented) {
      return Fail(core::ErrorCode::kInvalidArgument,
                  "indented line outside a nested section (continuation lines are not "
                  "supported)");
    }
    nested_parent_.clear();
    return KeyValue(line, "");
  }

  core::Status Section(std::string_view line) {
    const size_t close = line.find(']');
    if (close == std::string_view::npos) {
      return Fail(core::ErrorCode::kInvalidArgument, "section header without ']'");
    }
    const std::string_view rest = TrimSpaces(line.substr(close + 1));
    if (!rest.empty() && rest.front() != '#' && rest.front() != ';') {
      return Fail(core::ErrorCode::kInvalidArgument, "text after a section header");
    }
    const std::string_view inner = TrimSpaces(line.substr(1, close - 1));
    if (inner.empty()) {
      return Fail(core::ErrorCode::kInvalidArgument, "empty section name");
    }
    std::string name;
    if (kind_ == SharedFileKind::kCredentials) {
      name = std::string(inner);
    } else if (inner == "default") {
      name = "default";
    } else {
      const size_t sp = inner.find_first_of(" \t");
      const std::string_view type = inner.substr(0, sp);
      const std::string_view rest_name =
          sp == std::string_view::npos ? std::string_view() : TrimSpaces(inner.substr(sp));
      if (type == "profile") {
        if (rest_name.empty()) {
          return Fail(core::ErrorCode::kInvalidArgument, "[profile] without a profile name");
        }
        name = std::string(rest_name);
      } else {
        // [services x], [sso-session x], or anything else: checked for syntax, skipped.
        current_ = nullptr;
        skipping_ = true;
        return core::Ok();
      }
    }
    for (char c : name) {
      if (IsSpace(c) || c == '[' || c == ']') {
        return Fail(core::ErrorCode::kInvalidArgument, "profile name with whitespace or brackets");
      }
    }
    if (profiles_.count(name) != 0) {
      return Fail(core::ErrorCode::kInvalidArgument,
                  "duplicate profile " + QuoteKey(name) + " (first at line " +
                      std::to_string(profiles_.find(name)->second.line) + ")");
    }
    if (profiles_.size() >= limits_.max_profiles) {
      return Fail(core::ErrorCode::kResourceExhausted,
                  "more than " + std::to_string(limits_.max_profiles) + " profiles");
    }
    Profile p;
    p.name = name;
    p.line = line_no_;
    current_ = &profiles_.emplace(name, std::move(p)).first->second;
    skipping_ = false;
    return core::Ok();
  }

  core::Status KeyValue(std::string_view line, const std::string& prefix) {
    size_t sep = line.find_first_of("=:");
    if (sep == std::string_view::npos) {
      return Fail(core::ErrorCode::kInvalidArgument, "expected 'key = value'");
    }
    const std::string_view key_raw = TrimSpaces(line.substr(0, sep));
    const std::string_view value = TrimSpaces(line.substr(sep + 1));
    if (key_raw.empty()) {
      return Fail(core::ErrorCode::kInvalidArgument, "empty key");
    }
    for (char c : key_raw) {
      if (!IsKeyChar(c)) {
        return Fail(core::ErrorCode::kInvalidArgument,
                    "key with a character outside [A-Za-z0-9_.-]");
      }
    }
    if (current_ == nullptr && !skipping_) {
      return Fail(core::ErrorCode::kInvalidArgument, "key before any section header");
    }
    const std::string key = prefix + core::AsciiLower(key_raw);
    if (prefix.empty()) {
      nested_parent_ = value.empty() ? core::AsciiLower(key_raw) : std::string();
    }
    if (skipping_) {
      return core::Ok();
    }
    if (current_->values.count(key) != 0 || current_->secrets.count(key) != 0) {
      return Fail(core::ErrorCode::kInvalidArgument,
                  "duplicate key " + QuoteKey(key) + " in profile " + QuoteKey(current_->name));
    }
    if (current_->values.size() + current_->secrets.size() >= limits_.max_keys_per_profile) {
      return Fail(core::ErrorCode::kResourceExhausted,
                  "more than " + std::to_string(limits_.max_keys_per_profile) +
                      " keys in profile " + QuoteKey(current_->name));
    }
    if (IsSecretKey(key)) {
      current_->secrets.emplace(key, core::Secret(std::string(value)));
    } else {
      current_->values.emplace(key, std::string(value));
    }
    return core::Ok();
  }

  std::string_view file_;
  SharedFileKind kind_;
  const SharedConfigLimits& limits_;
  size_t line_no_ = 0;
  Profiles profiles_;
  Profile* current_ = nullptr;
  bool skipping_ = false;
  std::string nested_parent_;
};

std::string ExpandHome(const std::string& path, const EnvLookup& env) {
  if (path == "~" || path.rfind("~/", 0) == 0) {
    const auto home = env("HOME");
    if (!home || home->empty()) {
      return "";
    }
    return *home + path.substr(1);
  }
  return path;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const std::string n(name);
    const char* v = std::getenv(n.c_str());
    if (v == nullptr) {
      return std::nullopt;
    }
    return std::string(v);
  };
}

std::optional<std::string> Profile::Get(std::string_view key) const {
  auto it = values.find(key);
  if (it == values.end()) {
    return std::nullopt;
  }
  return it->second;
}

const core::Secret* Profile::GetSecret(std::string_view key) const {
  auto it = secrets.find(key);
  return it == secrets.end() ? nullptr : &it->second;
}

bool IsSecretKey(std::string_view key) {
  return key == "aws_secret_access_key" || key == "aws_session_token" ||
         key == "aws_security_token";
}

core::Result<Profiles> ParseSharedConfig(std::string_view text, SharedFileKind kind,
                                         std::string_view file_name,
                                         const SharedConfigLimits& limits) {
  Parser parser(file_name, kind, limits);
  return parser.Run(text);
}

SharedConfigLocation LocateSharedConfig(const EnvLookup& env) {
  SharedConfigLocation loc;
  const auto creds = env("AWS_SHARED_CREDENTIALS_FILE");
  loc.credentials_path = ExpandHome(creds && !creds->empty() ? *creds : "~/.aws/credentials", env);
  const auto config = env("AWS_CONFIG_FILE");
  loc.config_path = ExpandHome(config && !config->empty() ? *config : "~/.aws/config", env);
  const auto profile = env("AWS_PROFILE");
  if (profile && !profile->empty()) {
    loc.profile = *profile;
    loc.profile_explicit = true;
  } else {
    loc.profile = "default";
  }
  return loc;
}

core::Result<std::string> ReadBoundedFile(const std::string& path, size_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return core::Fail(core::NotFound(path + ": no such file"));
    }
    return core::Fail(core::FailedPrecondition(path + ": " + std::strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    return core::Fail(core::FailedPrecondition(path + ": not a regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::Fail(core::FailedPrecondition(path + ": cannot open for reading"));
  }
  std::string out;
  char buf[8192];
  while (in) {
    in.read(buf, sizeof(buf));
    const auto n = static_cast<size_t>(in.gcount());
    if (out.size() + n > max_bytes) {
      return core::Fail(
          core::ResourceExhausted(path + ": larger than " + std::to_string(max_bytes) + " bytes"));
    }
    out.append(buf, n);
  }
  if (in.bad()) {
    return core::Fail(core::Unavailable(path + ": read error"));
  }
  return out;
}

std::optional<std::string> SharedConfig::Get(std::string_view name, std::string_view key) const {
  if (auto it = credentials.find(name); it != credentials.end()) {
    if (auto v = it->second.Get(key)) {
      return v;
    }
  }
  if (auto it = config.find(name); it != config.end()) {
    return it->second.Get(key);
  }
  return std::nullopt;
}

const core::Secret* SharedConfig::GetSecret(std::string_view name, std::string_view key) const {
  if (auto it = credentials.find(name); it != credentials.end()) {
    if (const core::Secret* s = it->second.GetSecret(key)) {
      return s;
    }
  }
  if (auto it = config.find(name); it != config.end()) {
    return it->second.GetSecret(key);
  }
  return nullptr;
}

bool SharedConfig::HasProfile(std::string_view name) const {
  return credentials.count(name) != 0 || config.count(name) != 0;
}

core::Result<SharedConfig> LoadSharedConfig(const EnvLookup& env,
                                            const SharedConfigLimits& limits) {
  SharedConfig out;
  out.location = LocateSharedConfig(env);
  struct FileSpec {
    const std::string& path;
    SharedFileKind kind;
    Profiles* dest;
  };
  for (const FileSpec& f :
       {FileSpec{out.location.credentials_path, SharedFileKind::kCredentials, &out.credentials},
        FileSpec{out.location.config_path, SharedFileKind::kConfig, &out.config}}) {
    if (f.path.empty()) {
      continue;
    }
    auto text = ReadBoundedFile(f.path, limits.max_bytes);
    if (!text) {
      if (text.error().code == core::ErrorCode::kNotFound) {
        continue;
      }
      return core::Fail(text.error());
    }
    auto parsed = ParseSharedConfig(*text, f.kind, f.path, limits);
    if (!parsed) {
      return core::Fail(parsed.error());
    }
    *f.dest = std::move(*parsed);
  }
  return out;
}

}  // namespace opsgate::aws
