#include "opsgate/telemetry/log.h"

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cmath>
#include <cstdio>
#include <ctime>

#include "opsgate/core/strings.h"

namespace opsgate::telemetry {
namespace {

// Appends rather than `"\"" + std::string`: GCC 12 at -O3 warns (-Wrestrict, a false
// positive) on operator+ with a literal on the left.
std::string Quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  out += core::JsonEscape(s);
  out += '"';
  return out;
}

class SpdlogStderrSink final : public LogSink {
 public:
  SpdlogStderrSink()
      : logger_("opsgate", std::make_shared<spdlog::sinks::stderr_sink_mt>()) {
    logger_.set_pattern("%v");
    logger_.set_level(spdlog::level::trace);
    logger_.flush_on(spdlog::level::trace);
  }
  void Write(std::string_view line) override {
    logger_.log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
  }

 private:
  spdlog::logger logger_;
};

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  for (const LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (LogLevelName(l) == name) {
      return l;
    }
  }
  return std::nullopt;
}

Field::Field(std::string_view key, std::string_view value)
    : key_(key), value_(value), is_text_(true) {}
Field::Field(std::string_view key, int64_t value) : key_(key), value_(std::to_string(value)) {}
Field::Field(std::string_view key, uint64_t value) : key_(key), value_(std::to_string(value)) {}
Field::Field(std::string_view key, double value) : key_(key) {
  if (!std::isfinite(value)) {
    value_ = "null";
    return;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", value);
  value_ = buf;
}
Field::Field(std::string_view key, bool value) : key_(key), value_(value ? "true" : "false") {}
Field::Field(std::string_view key, const core::Secret& value)
    : key_(key), value_(Quote(value.ToString())) {}

std::unique_ptr<LogSink> MakeStderrSink() { return std::make_unique<SpdlogStderrSink>(); }

void MemorySink::Write(std::string_view line) {
  std::lock_guard<std::mutex> lock(mu_);
  lines_.emplace_back(line);
}

std::vector<std::string> MemorySink::Lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

std::string FormatTimestamp(core::Clock::WallTime t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // generous: the compiler cannot bound every %d
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string Logger::Format(LogLevel level, std::string_view event,
                           std::initializer_list<Field> fields) const {
  std::string line = "{\"ts\":\"";
  line += FormatTimestamp(clock_.Now());
  line += "\",\"level\":\"";
  line += LogLevelName(level);
  line += "\",\"event\":";
  line += Quote(event);
  for (const Field& f : fields) {
    line += ',';
    line += Quote(f.key());
    line += ':';
    if (!f.is_text()) {
      line += f.value();
    } else if (redactor_) {
      line += Quote(redactor_(f.value()));
    } else {
      line += Quote(f.value());
    }
  }
  line += '}';
  return line;
}

void Logger::Log(LogLevel level, std::string_view event, std::initializer_list<Field> fields) {
  if (!Enabled(level)) {
    return;
  }
  sink_.Write(Format(level, event, fields));
}

}  // namespace opsgate::telemetry
