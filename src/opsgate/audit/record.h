// File: opsgate/audit/record.h
//
// One audit record and its canonical, versioned binary encoding (docs/audit-format.md).
// The encoding is what the log stores and what the Merkle leaf hash covers:
//
//   Record r;
//   r.kind = RecordKind::kRequest;
//   r.correlation_id = request.correlation_id;
//   r.text = Field::Plain(message.text);      // sensitive: may be sealed later
//   std::string bytes = EncodeRecord(r);       // canonical: one encoding per record
//   auto back = DecodeRecord(bytes);           // strict: rejects anything else
//
// Sensitive fields (user name, message text, slots, output) are `Field`s: either plain
// bytes or sealed bytes (an AES-256-GCM envelope produced by the field-encryption layer,
// opaque here). Hashes cover the stored bytes, so sealed records verify without any key.
//
// Thread-safety: value types and pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "opsgate/core/result.h"

namespace opsgate::audit {

// The format version written by EncodeRecord (first byte of every record).
inline constexpr uint8_t kRecordVersion = 1;
// Upper bound on one encoded record; larger input is refused by both sides.
inline constexpr size_t kMaxRecordBytes = 1 << 20;

enum class RecordKind : uint8_t {
  kRequest = 1,    // a request accepted by a connector (before anything acts on it)
  kRejection = 2,  // a request refused at the edge (signature, replay, team, malformed)
  kDecision = 3,   // a policy decision, naming the deciding statement
  kApproval = 4,   // a second person approved or refused (four eyes)
  kOutcome = 5,    // what happened: the action's result, or the reply's delivery
  kAdmin = 6,      // an administrative event (start, stop, key rotation, config)
};

// Stable lowercase name ("request"); "unknown" for values outside the enum.
std::string_view RecordKindName(RecordKind kind);

// A field that may hold sensitive data: plain bytes, or bytes sealed by the
// field-encryption layer (opaque to this module).
struct Field {
  enum class Form : uint8_t {
    kPlain = 0,   // the bytes are the value (UTF-8 text, or EncodeSlots for slots)
    kSealed = 1,  // the bytes are an encryption envelope; decrypt to get the plain value
  };
  Form form = Form::kPlain;
  std::string bytes;

  static Field Plain(std::string v) { return {Form::kPlain, std::move(v)}; }
  static Field Sealed(std::string v) { return {Form::kSealed, std::move(v)}; }
  bool sealed() const { return form == Form::kSealed; }
  bool empty() const { return bytes.empty(); }

  friend bool operator==(const Field&, const Field&) = default;
};

struct Record {
  uint64_t seq = 0;           // position in the log (0-based); assigned by the writer
  int64_t timestamp_ms = 0;   // UTC, Unix milliseconds; the writer fills 0 with its clock
  RecordKind kind = RecordKind::kRequest;
  uint64_t latency_ms = 0;    // request to this event; 0 when not meaningful
  std::string correlation_id;
  std::string platform;       // "slack"
  std::string workspace;      // platform workspace id (Slack team_id)
  std::string channel;        // platform channel id
  std::string user;           // platform user id
  std::string principal;      // enterprise identity, if linked
  std::string intent;         // intent name ("ec2.stop_instance")
  std::string decision;       // "allow", "deny", "needs_mfa", "needs_approval"
  std::string statement;      // the deciding policy statement
  std::string action;         // what was (to be) done ("ec2:StopInstances", "slack.reply")
  std::string resource;       // on what (ARN or opsgate resource name)
  std::string result;         // "accepted", "ok", "failed", HTTP status, ...
  std::string reason;         // why (rejection reason, error code); never a secret
  Field user_name;            // sensitive: display name
  Field text;                 // sensitive: what the person typed
  Field slots;                // sensitive: EncodeSlots(intent slots) when plain
  Field output;               // sensitive: what the action returned

  friend bool operator==(const Record&, const Record&) = default;
};

// The canonical encoding (docs/audit-format.md §Record). Deterministic: equal records
// give equal bytes. REQUIRES: the record fits kMaxRecordBytes (callers bound their
// inputs; an oversized record is a bug, checked).
std::string EncodeRecord(const Record& record);

// Strict decoder for untrusted bytes. Errors (kDataLoss, the message says what and at
// which offset): empty input, unknown version, unknown kind or field form, a length
// running past the end, trailing bytes, a record larger than kMaxRecordBytes, plain
// slots that are not canonical EncodeSlots output.
[[nodiscard]] core::Result<Record> DecodeRecord(std::string_view bytes);

// Checks `bytes` exactly as DecodeRecord does, without building the Record, and returns
// its seq: for verification, which only needs validity and the seq. Same errors (the
// failure path decodes to produce the same message).
[[nodiscard]] core::Result<uint64_t> ValidateRecord(std::string_view bytes);

// Canonical encoding of intent slots: u32 count, then per slot (in key order) u32 key
// length, key, u32 value length, value (big-endian lengths).
std::string EncodeSlots(const std::map<std::string, std::string>& slots);
// Strict: keys strictly increasing, no trailing bytes. Errors: kDataLoss.
[[nodiscard]] core::Result<std::map<std::string, std::string>> DecodeSlots(std::string_view bytes);

// One JSON object (one line) for `opsgate audit show`: every field, sealed fields as
// {"sealed":"<base64>"}, plain slots as an object.
std::string RecordToJson(const Record& record);

}  // namespace opsgate::audit
