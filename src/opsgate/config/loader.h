// File: opsgate/config/loader.h
//
// Loads the YAML config file into an immutable, validated Config (config.h):
//
//   auto loaded = config::LoadConfigFile("/etc/opsgate/opsgate.yaml");
//   if (!loaded) { std::cerr << loaded.error().message << "\n"; return 2; }
//   for (const auto& w : loaded->warnings) std::cerr << w.ToString() << "\n";
//   std::shared_ptr<const Config> config = loaded->config;
//
// Every problem is collected, not just the first: unknown keys (with a did-you-mean),
// duplicate keys, wrong types, out-of-range values, missing files, literal secrets and
// YAML syntax errors, each located by line, column and key path (diagnostic.h).
//
// The input is treated as semi-trusted (an operator's file, but also fuzzed): texts over
// 1 MiB, nesting deeper than 32 levels, YAML aliases and multiple documents are refused
// before or while parsing, and nothing here throws.
//
// Side effects: reads the file system (stat/access of referenced files) and the
// environment (is an env: secret set?), but never reads secret values.
// Thread-safety: the functions are reentrant; the results are immutable values.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/config/config.h"
#include "opsgate/config/diagnostic.h"
#include "opsgate/core/result.h"

namespace opsgate::config {

// The largest config text accepted.
inline constexpr size_t kMaxConfigBytes = 1024 * 1024;
// The deepest nesting of mappings and lists accepted (the root mapping is level 1).
inline constexpr int kMaxConfigDepth = 32;

struct LoadedConfig {
  std::shared_ptr<const Config> config;  // never null
  std::vector<Diagnostic> warnings;      // for `opsgate check` and the startup log
};

// Every diagnostic, errors and warnings, in file order (unknown positions last).
struct LoadOutcome {
  std::shared_ptr<const Config> config;  // null when any diagnostic is an error
  std::vector<Diagnostic> diagnostics;

  bool ok() const { return config != nullptr; }
};

// Parses `yaml` as if read from `source_path`, which names the file in diagnostics and
// anchors relative paths (data_dir resolves against its directory). Never throws.
LoadOutcome ParseConfig(std::string_view yaml, const std::string& source_path);

// ParseConfig() as a Result. Errors: kInvalidArgument whose message is every error
// diagnostic's ToString(), one per line.
[[nodiscard]] core::Result<LoadedConfig> LoadConfigText(std::string_view yaml,
                                                        const std::string& source_path);

// A listen address: host (IPv6 without brackets) and port (0 = pick a free one).
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};

// Parses "HOST:PORT" ("127.0.0.1:8443", "[::1]:8443", "localhost:0"), as in
// server.listen and `opsgate serve --listen`. Errors: kInvalidArgument saying the form.
[[nodiscard]] core::Result<ListenAddress> ParseListenAddress(std::string_view text);

// Reads `path` (at most kMaxConfigBytes) and loads it. Errors: kNotFound when the file
// does not exist, kFailedPrecondition when it cannot be read, otherwise as LoadConfigText().
[[nodiscard]] core::Result<LoadedConfig> LoadConfigFile(const std::string& path);

}  // namespace opsgate::config
