// File: opsgate/config/diagnostic.h
//
// A Diagnostic is one problem found in a config file, located by file, line, column
// and key path, and phrased as "what is wrong (what would be right)", e.g.
//   /etc/opsgate/opsgate.yaml:3:5: server.lisen: unknown key (did you mean 'listen'?)
// `opsgate check` prints them as they are.
//
// Thread-safety: a value type.
#pragma once

#include <string>

namespace opsgate::config {

struct Diagnostic {
  enum class Severity {
    kError,    // the config is refused
    kWarning,  // the config loads, but an operator should look at this
  };
  Severity severity = Severity::kError;
  std::string file;      // the path as the caller named it
  int line = 0;          // 1-based; 0 if unknown
  int column = 0;        // 1-based; 0 if unknown
  std::string key_path;  // "server.limits.body_bytes"; empty for problems of the text itself
  std::string message;   // "what is wrong (what would be right)"

  // "FILE:LINE:COL: key.path: message"; warnings read "FILE:LINE:COL: warning: key.path: ...".
  // Unknown line or column and an empty key path are left out.
  std::string ToString() const;

  friend bool operator==(const Diagnostic&, const Diagnostic&) = default;
};

}  // namespace opsgate::config
