// File: opsgate/config/internal/diagnostics.h
//
// Collects the Diagnostics of one config file while it is parsed, and the position type
// the YAML tree and readers share. Not part of the public API.
//
// Not thread-safe; one collector per load.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/config/diagnostic.h"

namespace opsgate::config::internal {

// A place in the text: 1-based line and column; 0 when unknown.
struct Position {
  int line = 0;
  int column = 0;
};

class Diagnostics {
 public:
  // Past this many, diagnostics are counted but not kept (fuzzed input can hold
  // thousands of errors; an operator reads the first ones).
  static constexpr size_t kMaxKept = 100;

  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void Error(Position at, std::string key_path, std::string message) {
    has_errors_ = true;
    Add(Diagnostic::Severity::kError, at, std::move(key_path), std::move(message));
  }
  void Warning(Position at, std::string key_path, std::string message) {
    Add(Diagnostic::Severity::kWarning, at, std::move(key_path), std::move(message));
  }

  bool has_errors() const { return has_errors_; }
  // False once further diagnostics would only be counted: skip costly messages then.
  bool keeping() const { return list_.size() < kMaxKept; }

  // Everything collected, in file order (unknown positions last, otherwise stable).
  std::vector<Diagnostic> Take();

 private:
  void Add(Diagnostic::Severity severity, Position at, std::string key_path, std::string message);

  std::string file_;
  std::vector<Diagnostic> list_;
  size_t dropped_errors_ = 0;
  size_t dropped_warnings_ = 0;
  bool has_errors_ = false;
};

// `text` made safe to quote in a one-line message: control and non-ASCII bytes become
// \xNN, and text longer than `max_chars` is cut with "...".
std::string Printable(std::string_view text, size_t max_chars = 60);

// "a.b" + "c" -> "a.b.c"; "" + "c" -> "c".
std::string JoinKeyPath(std::string_view parent, std::string_view key);

}  // namespace opsgate::config::internal
