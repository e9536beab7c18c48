// File: opsgate/telemetry/log.h
//
// Structured logging: one JSON object per line, e.g.
//   {"ts":"2026-11-26T16:40:00.123Z","level":"info","event":"http.listening",
//    "address":"127.0.0.1","port":8443}
// Fields are typed; a core::Secret field always renders as "[redacted]", so passing a
// secret to a log call cannot leak it. Correlation ids are ordinary fields
// ("correlation_id"), set by whoever owns the request.
//
// Thread-safety: Logger is safe to use from any thread; the sink serialises writes.
// The Clock and the sink must outlive the Logger.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/core/secret.h"

namespace opsgate::telemetry {

enum class LogLevel {
  kDebug,  // detail for developers; off by default
  kInfo,   // normal operation: start, stop, reload, requests
  kWarn,   // something was refused or degraded; the process carries on
  kError,  // something failed that an operator should look at
};

std::string_view LogLevelName(LogLevel level);
std::optional<LogLevel> ParseLogLevel(std::string_view name);

// One key/value pair. Text values are kept raw (the Logger escapes them, after its
// redactor if it has one); every other value is kept JSON-encoded.
class Field {
 public:
  Field(std::string_view key, std::string_view value);
  Field(std::string_view key, const char* value) : Field(key, std::string_view(value)) {}
  Field(std::string_view key, const std::string& value) : Field(key, std::string_view(value)) {}
  Field(std::string_view key, int64_t value);
  Field(std::string_view key, int value) : Field(key, static_cast<int64_t>(value)) {}
  Field(std::string_view key, uint64_t value);
  Field(std::string_view key, unsigned value) : Field(key, static_cast<uint64_t>(value)) {}
  Field(std::string_view key, double value);
  Field(std::string_view key, bool value);
  Field(std::string_view key, const core::Secret& value);

  const std::string& key() const { return key_; }
  // True for string fields, the only ones a Logger redactor rewrites.
  bool is_text() const { return is_text_; }
  // The raw text (is_text()) or the JSON-encoded value (otherwise).
  const std::string& value() const { return value_; }

 private:
  std::string key_;
  std::string value_;
  bool is_text_ = false;
};

// Where finished lines go. Write() receives a line without the trailing newline.
class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void Write(std::string_view line) = 0;
};

// Writes lines to stderr through spdlog (serialised, flushed per line).
std::unique_ptr<LogSink> MakeStderrSink();

// Keeps lines in memory; for tests.
class MemorySink final : public LogSink {
 public:
  void Write(std::string_view line) override;
  std::vector<std::string> Lines() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;  // GUARDED_BY(mu_)
};

class Logger {
 public:
  Logger(LogSink& sink, const core::Clock& clock, LogLevel level = LogLevel::kInfo)
      : sink_(sink), clock_(clock), level_(level) {}

  void SetLevel(LogLevel level) { level_.store(level, std::memory_order_relaxed); }
  LogLevel level() const { return level_.load(std::memory_order_relaxed); }
  bool Enabled(LogLevel level) const { return level >= this->level(); }

  void Log(LogLevel level, std::string_view event, std::initializer_list<Field> fields = {});
  void Debug(std::string_view event, std::initializer_list<Field> fields = {}) {
    Log(LogLevel::kDebug, event, fields);
  }
  void Info(std::string_view event, std::initializer_list<Field> fields = {}) {
    Log(LogLevel::kInfo, event, fields);
  }
  void Warn(std::string_view event, std::initializer_list<Field> fields = {}) {
    Log(LogLevel::kWarn, event, fields);
  }
  void Error(std::string_view event, std::initializer_list<Field> fields = {}) {
    Log(LogLevel::kError, event, fields);
  }

  // Rewrites every string field value (not keys, not the event name, not numbers) before
  // it is encoded, e.g. to strip secrets: app wiring passes
  //   [&r](std::string_view s) { return r.Redact(s); }
  // for a redact::Redactor r that outlives the Logger. telemetry does not depend on
  // redact. An empty function turns redaction off. Not thread-safe: call it while
  // wiring, before the Logger is shared; the function itself must be thread-safe.
  void SetRedactor(std::function<std::string(std::string_view)> redactor) {
    redactor_ = std::move(redactor);
  }

  // The line Log() would write, without writing it.
  std::string Format(LogLevel level, std::string_view event,
                     std::initializer_list<Field> fields) const;

 private:
  LogSink& sink_;
  const core::Clock& clock_;
  std::atomic<LogLevel> level_;
  std::function<std::string(std::string_view)> redactor_;  // set before sharing
};

// RFC 3339 UTC with milliseconds: 2026-11-26T16:40:00.123Z
std::string FormatTimestamp(core::Clock::WallTime t);

}  // namespace opsgate::telemetry
