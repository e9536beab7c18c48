// File: opsgate/audit/export/format.h
//
// Audit records as text for a SIEM (docs/siem-export.md):
//  - a JSON line: one JSON object, snake_case field names that never change meaning;
//  - an RFC 5424 syslog message whose MSG is that JSON line;
//  - octet-counting framing for syslog over TCP/TLS (RFC 6587 §3.4.1, RFC 5425 §4.3).
//
//   auto redactor = redact::Redactor::Create(config.redact.extra_patterns);
//   RecordFormatter formatter(*redactor, {.facility = 13, .hostname = "ops1"});
//   std::string line = formatter.JsonLine(record, row.leaf_hash);
//   std::string frame = FrameOctetCounted(formatter.SyslogMessage(record, row.leaf_hash));
//
// Every string that comes from a record goes through the Redactor before it is written,
// as does every decrypted sensitive field. Sealed fields are written as {"sealed":true}
// unless FormatOptions::decrypt returns their plain value.
//
// Thread-safety: a RecordFormatter is immutable after construction; its methods are
// safe to call from any thread if the decrypt callback is.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "opsgate/audit/record.h"
#include "opsgate/core/result.h"
#include "opsgate/redact/redactor.h"

namespace opsgate::audit::siem {

// The SD-ID of the structured-data element (RFC 5424 §6.3.2: name@<private enterprise
// number>). 32473 is the example PEN reserved for documentation (RFC 5612); a deployment
// that owns a PEN may set FormatOptions::sd_id.
inline constexpr std::string_view kDefaultSdId = "opsgate@32473";
// RFC 5424 APP-NAME.
inline constexpr std::string_view kAppName = "opsgate";
// Syslog facility "log audit" (RFC 5424 §6.2.1, code 13).
inline constexpr int kDefaultFacility = 13;

// Plain value of a sealed field, or nullopt to leave it sealed. Must be thread-safe if
// the formatter is shared between threads.
// Opens sealed field `name` ("user_name", "text", "slots", "output") of record `seq`
// (audit/sealing.h binds both); nullopt when it cannot.
using DecryptFn =
    std::function<std::optional<std::string>(uint64_t seq, std::string_view name, const Field&)>;

enum class ExportFormat {
  kJsonLines,  // JsonLine() per record
  kSyslog,     // SyslogMessage() per record
};

// "jsonl" or "syslog". Errors: kInvalidArgument naming the accepted values.
[[nodiscard]] core::Result<ExportFormat> ParseExportFormat(std::string_view name);
std::string_view ExportFormatName(ExportFormat format);

struct FormatOptions {
  // Syslog facility 0..23 (RFC 5424 §6.2.1). Default 13, "log audit"; 16..23 are local0..7.
  int facility = kDefaultFacility;
  // HOSTNAME (1..255 printable US-ASCII, no spaces; other bytes become '_'). Empty: the
  // machine's host name (gethostname), "-" if that fails.
  std::string hostname;
  // PROCID. Empty: this process's pid.
  std::string procid;
  // SD-ID of the structured-data element: name@digits, printable US-ASCII without
  // '=', ' ', ']' or '"'.
  std::string sd_id = std::string(kDefaultSdId);
  // Decrypts sealed fields; empty: sealed fields stay {"sealed":true}.
  DecryptFn decrypt;
};

class RecordFormatter {
 public:
  // Errors: kInvalidArgument for a facility outside 0..23, or an sd_id that is not
  // name@digits of the allowed characters (at most 32 bytes).
  [[nodiscard]] static core::Result<RecordFormatter> Create(redact::Redactor redactor,
                                                            FormatOptions options = {});

  // One JSON object, without a trailing newline, e.g.
  //   {"seq":7,"time":"2023-11-14T22:13:20.123Z","kind":"decision",...,"leaf_hash":"ab12.."}
  // Field list and order in docs/siem-export.md. `leaf_hash` is the raw 32-byte hash
  // from the store (hex-encoded here); empty gives "".
  std::string JsonLine(const Record& record, std::string_view leaf_hash) const;

  // One RFC 5424 message, without framing:
  //   <PRI>1 TIMESTAMP HOSTNAME opsgate PROCID KIND [SD-ID seq="7" correlation_id=".."
  //   leaf_hash=".."] BOM JsonLine(record)
  // PRI = facility * 8 + SeverityFor(record). It holds no line feed (JSON escapes them).
  std::string SyslogMessage(const Record& record, std::string_view leaf_hash) const;

  // Either of the above.
  std::string Format(ExportFormat format, const Record& record, std::string_view leaf_hash) const;

  const FormatOptions& options() const { return options_; }

 private:
  RecordFormatter(redact::Redactor redactor, FormatOptions options)
      : redactor_(std::move(redactor)), options_(std::move(options)) {}

  std::string Text(std::string_view s) const;
  std::string SensitiveJson(uint64_t seq, std::string_view name, const Field& field) const;

  redact::Redactor redactor_;
  FormatOptions options_;
};

// Syslog severity (RFC 5424 §6.2.1) of a record: rejection 4 (warning); decision,
// approval and admin 5 (notice); request and outcome 6 (informational).
int SeverityFor(const Record& record);

// `value` escaped for an SD PARAM-VALUE (RFC 5424 §6.3.3): '"', '\' and ']' get a
// backslash; invalid UTF-8 becomes U+FFFD.
std::string EscapeParamValue(std::string_view value);

// Octet-counting frame for syslog over a stream (RFC 6587 §3.4.1, RFC 5425 §4.3):
// "<decimal length of msg> SP msg".
std::string FrameOctetCounted(std::string_view msg);

}  // namespace opsgate::audit::siem
