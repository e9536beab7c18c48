#include "opsgate/audit/export/format.h"

#include <unistd.h>

#include <array>
#include <chrono>

#include "opsgate/core/strings.h"
#include "opsgate/crypto/hash.h"
#include "opsgate/telemetry/log.h"

namespace opsgate::audit::siem {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool IsPrintUsAscii(char c) { return c >= 33 && c <= 126; }

// 1..max printable US-ASCII (RFC 5424 header fields); other bytes become '_', empty
// becomes the NILVALUE "-".
std::string HeaderField(std::string_view s, size_t max) {
  if (s.empty()) {
    return "-";
  }
  std::string out(s.substr(0, max));
  for (char& c : out) {
    if (!IsPrintUsAscii(c)) {
      c = '_';
    }
  }
  return out;
}

std::string DefaultHostname() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') {
    return "-";
  }
  return buf.data();
}

bool ValidSdId(std::string_view id) {
  // SD-NAME is 1*32 PRINTUSASCII except '=', SP, ']', '"'; ours must be name@digits.
  if (id.empty() || id.size() > 32) {
    return false;
  }
  for (char c : id) {
    if (!IsPrintUsAscii(c) || c == '=' || c == ']' || c == '"') {
      return false;
    }
  }
  const size_t at = id.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == id.size() ||
      id.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  for (char c : id.substr(at + 1)) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

std::string Quote(std::string_view s) { return "\"" + core::JsonEscape(s) + "\""; }

}  // namespace

core::Result<ExportFormat> ParseExportFormat(std::string_view name) {
  if (name == "jsonl") {
    return ExportFormat::kJsonLines;
  }
  if (name == "syslog") {
    return ExportFormat::kSyslog;
  }
  return core::Fail(core::InvalidArgument("unknown audit export format '" + std::string(name) +
                                          "': use \"jsonl\" or \"syslog\""));
}

std::string_view ExportFormatName(ExportFormat format) {
  return format == ExportFormat::kSyslog ? "syslog" : "jsonl";
}

core::Result<RecordFormatter> RecordFormatter::Create(redact::Redactor redactor,
                                                      FormatOptions options) {
  if (options.facility < 0 || options.facility > 23) {
    return core::Fail(core::InvalidArgument(
        "syslog facility must be 0..23 (RFC 5424; 13 is \"log audit\", 16..23 are "
        "local0..local7), got " +
        std::to_string(options.facility)));
  }
  if (!ValidSdId(options.sd_id)) {
    return core::Fail(core::InvalidArgument(
        "syslog SD-ID '" + options.sd_id +
        "' is not name@<private enterprise number> of at most 32 printable ASCII "
        "characters without '=', ']', '\"' or spaces (e.g. \"opsgate@32473\")"));
  }
  options.hostname =
      HeaderField(options.hostname.empty() ? DefaultHostname() : options.hostname, 255);
  options.procid =
      HeaderField(options.procid.empty() ? std::to_string(::getpid()) : options.procid, 128);
  return RecordFormatter(std::move(redactor), std::move(options));
}

std::string RecordFormatter::Text(std::string_view s) const { return Quote(redactor_.Redact(s)); }

std::string RecordFormatter::SensitiveJson(uint64_t seq, std::string_view name,
                                           const Field& field) const {
  const bool is_slots = name == "slots";
  std::string plain_storage;
  std::string_view plain = field.bytes;
  if (field.sealed()) {
    std::optional<std::string> opened;
    if (options_.decrypt) {
      opened = options_.decrypt(seq, name, field);
    }
    if (!opened) {
      return "{\"sealed\":true}";
    }
    plain_storage = std::move(*opened);
    plain = plain_storage;
  }
  if (!is_slots) {
    return Text(plain);
  }
  if (plain.empty()) {
    return "{}";
  }
  auto slots = DecodeSlots(plain);
  if (!slots) {
    return "{\"invalid\":true}";
  }
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : *slots) {
    out += first ? "" : ",";
    out += Text(k) + ":" + Text(v);
    first = false;
  }
  return out + "}";
}

std::string RecordFormatter::JsonLine(const Record& r, std::string_view leaf_hash) const {
  const auto time =
      telemetry::FormatTimestamp(core::Clock::WallTime(std::chrono::milliseconds(r.timestamp_ms)));
  std::string out;
  out.reserve(512);
  out += "{\"seq\":" + std::to_string(r.seq);
  out += ",\"time\":" + Quote(time);
  out += ",\"kind\":" + Quote(RecordKindName(r.kind));
  out += ",\"correlation_id\":" + Text(r.correlation_id);
  out += ",\"platform\":" + Text(r.platform);
  out += ",\"workspace\":" + Text(r.workspace);
  out += ",\"channel\":" + Text(r.channel);
  out += ",\"user\":" + Text(r.user);
  out += ",\"user_name\":" + SensitiveJson(r.seq, "user_name", r.user_name);
  out += ",\"principal\":" + Text(r.principal);
  out += ",\"intent\":" + Text(r.intent);
  out += ",\"slots\":" + SensitiveJson(r.seq, "slots", r.slots);
  out += ",\"text\":" + SensitiveJson(r.seq, "text", r.text);
  out += ",\"decision\":" + Text(r.decision);
  out += ",\"statement\":" + Text(r.statement);
  out += ",\"action\":" + Text(r.action);
  out += ",\"resource\":" + Text(r.resource);
  out += ",\"result\":" + Text(r.result);
  out += ",\"output\":" + SensitiveJson(r.seq, "output", r.output);
  out += ",\"latency_ms\":" + std::to_string(r.latency_ms);
  out += ",\"reason\":" + Text(r.reason);
  out += ",\"leaf_hash\":" + Quote(crypto::HexEncode(leaf_hash));
  out += "}";
  return out;
}

int SeverityFor(const Record& record) {
  switch (record.kind) {
    case RecordKind::kRejection:
      return 4;  // warning
    case RecordKind::kDecision:
    case RecordKind::kApproval:
    case RecordKind::kAdmin:
      return 5;  // notice
    case RecordKind::kRequest:
    case RecordKind::kOutcome:
      return 6;  // informational
  }
  return 5;
}

std::string EscapeParamValue(std::string_view value) {
  const std::string clean = core::SanitizeUtf8(value);
  std::string out;
  out.reserve(clean.size());
  for (char c : clean) {
    if (c == '"' || c == '\\' || c == ']') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

std::string RecordFormatter::SyslogMessage(const Record& r, std::string_view leaf_hash) const {
  const int pri = options_.facility * 8 + SeverityFor(r);
  const auto time =
      telemetry::FormatTimestamp(core::Clock::WallTime(std::chrono::milliseconds(r.timestamp_ms)));
  std::string out = "<" + std::to_string(pri) + ">1 " + time + " " + options_.hostname + " " +
                    std::string(kAppName) + " " + options_.procid + " " +
                    HeaderField(RecordKindName(r.kind), 32) + " [" + options_.sd_id + " seq=\"" +
                    std::to_string(r.seq) + "\" correlation_id=\"" +
                    EscapeParamValue(redactor_.Redact(r.correlation_id)) + "\" leaf_hash=\"" +
                    crypto::HexEncode(leaf_hash) + "\"] ";
  out += kBom;
  out += JsonLine(r, leaf_hash);
  return out;
}

std::string RecordFormatter::Format(ExportFormat format, const Record& record,
                                    std::string_view leaf_hash) const {
  return format == ExportFormat::kSyslog ? SyslogMessage(record, leaf_hash)
                                         : JsonLine(record, leaf_hash);
}

std::string FrameOctetCounted(std::string_view msg) {
  std::string out = std::to_string(msg.size());
  out += ' ';
  out += msg;
  return out;
}

}  // namespace opsgate::audit::siem
