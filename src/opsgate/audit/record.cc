#include "opsgate/audit/record.h"

#include <array>

#include "opsgate/core/check.h"
#include "opsgate/core/strings.h"
#include "opsgate/crypto/hash.h"

namespace opsgate::audit {
namespace {

void PutU8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }

void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

void PutBytes(std::string& out, std::string_view s) {
  OPSGATE_CHECK(s.size() <= kMaxRecordBytes);
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

void PutField(std::string& out, const Field& f) {
  PutU8(out, static_cast<uint8_t>(f.form));
  PutBytes(out, f.bytes);
}

// A bounds-checked reader over untrusted bytes; every failure names the offset.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  size_t offset() const { return pos_; }
  bool done() const { return pos_ == in_.size(); }

  core::Result<uint8_t> U8(std::string_view what) {
    if (in_.size() - pos_ < 1) {
      return Truncated(what);
    }
    return static_cast<uint8_t>(in_[pos_++]);
  }
  core::Result<uint32_t> U32(std::string_view what) {
    if (in_.size() - pos_ < 4) {
      return Truncated(what);
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      v = (v << 8) | static_cast<uint8_t>(in_[pos_++]);
    }
    return v;
  }
  core::Result<uint64_t> U64(std::string_view what) {
    if (in_.size() - pos_ < 8) {
      return Truncated(what);
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
      v = (v << 8) | static_cast<uint8_t>(in_[pos_++]);
    }
    return v;
  }
  // A length-prefixed field, pointing into the input (Bytes() copies it).
  core::Result<std::string_view> View(std::string_view what) {
    const size_t at = pos_;
    auto len = U32(what);
    if (!len) {
      return core::Fail(len.error());
    }
    if (*len > in_.size() - pos_) {
      return core::Fail(core::DataLoss("audit record: " + std::string(what) + " at offset " +
                                       std::to_string(at) + " claims " + std::to_string(*len) +
                                       " bytes but only " + std::to_string(in_.size() - pos_) +
                                       " remain"));
    }
    std::string_view v = in_.substr(pos_, *len);
    pos_ += *len;
    return v;
  }
  core::Result<std::string> Bytes(std::string_view what) {
    return View(what).transform([](std::string_view v) { return std::string(v); });
  }

 private:
  core::Unexpected Truncated(std::string_view what) const {
    return core::Fail(core::DataLoss("audit record: truncated at offset " + std::to_string(pos_) +
                                     " (reading " + std::string(what) + ")"));
  }

  std::string_view in_;
  size_t pos_ = 0;
};

// The string fields in their fixed wire order.
template <class R>
auto StringFields(R& r) {
  return std::array{&r.correlation_id, &r.platform, &r.workspace, &r.channel,
                    &r.user,           &r.principal, &r.intent,   &r.decision,
                    &r.statement,      &r.action,    &r.resource, &r.result,
                    &r.reason};
}
constexpr std::array<std::string_view, 13> kStringFieldNames = {
    "correlation_id", "platform", "workspace", "channel",  "user",   "principal", "intent",
    "decision",       "statement", "action",   "resource", "result", "reason"};

template <class R>
auto SensitiveFields(R& r) {
  return std::array{&r.user_name, &r.text, &r.slots, &r.output};
}
constexpr std::array<std::string_view, 4> kSensitiveFieldNames = {"user_name", "text", "slots",
                                                                  "output"};

std::string Quote(std::string_view s) { return "\"" + core::JsonEscape(s) + "\""; }

std::string FieldJson(const Field& f, bool slots) {
  if (f.sealed()) {
    return "{\"sealed\":" + Quote(crypto::Base64Encode(f.bytes)) + "}";
  }
  if (slots) {
    auto decoded = DecodeSlots(f.bytes);
    if (!decoded) {
      return "null";
    }
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : *decoded) {
      out += (first ? "" : ",") + Quote(k) + ":" + Quote(v);
      first = false;
    }
    return out + "}";
  }
  return Quote(f.bytes);
}

}  // namespace

std::string_view RecordKindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::kRequest:
      return "request";
    case RecordKind::kRejection:
      return "rejection";
    case RecordKind::kDecision:
      return "decision";
    case RecordKind::kApproval:
      return "approval";
    case RecordKind::kOutcome:
      return "outcome";
    case RecordKind::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::string EncodeRecord(const Record& record) {
  std::string out;
  out.reserve(160);
  PutU8(out, kRecordVersion);
  PutU64(out, record.seq);
  PutU64(out, static_cast<uint64_t>(record.timestamp_ms));
  PutU8(out, static_cast<uint8_t>(record.kind));
  PutU64(out, record.latency_ms);
  for (const std::string* s : StringFields(record)) {
    PutBytes(out, *s);
  }
  for (const Field* f : SensitiveFields(record)) {
    PutField(out, *f);
  }
  OPSGATE_CHECK(out.size() <= kMaxRecordBytes);
  return out;
}

core::Result<Record> DecodeRecord(std::string_view bytes) {
  if (bytes.empty()) {
    return core::Fail(core::DataLoss("audit record: empty"));
  }
  if (bytes.size() > kMaxRecordBytes) {
    return core::Fail(core::DataLoss("audit record: " + std::to_string(bytes.size()) +
                                     " bytes is over the limit of " +
                                     std::to_string(kMaxRecordBytes)));
  }
  Reader in(bytes);
  Record r;
  auto version = in.U8("version");
  if (*version != kRecordVersion) {
    return core::Fail(core::DataLoss("audit record: unknown format version " +
                                     std::to_string(*version) + " (this opsgate reads " +
                                     std::to_string(kRecordVersion) + ")"));
  }
  auto seq = in.U64("seq");
  if (!seq) {
    return core::Fail(seq.error());
  }
  r.seq = *seq;
  auto ts = in.U64("timestamp");
  if (!ts) {
    return core::Fail(ts.error());
  }
  r.timestamp_ms = static_cast<int64_t>(*ts);
  const size_t kind_at = in.offset();
  auto kind = in.U8("kind");
  if (!kind) {
    return core::Fail(kind.error());
  }
  if (*kind < 1 || *kind > 6) {
    return core::Fail(core::DataLoss("audit record: unknown kind " + std::to_string(*kind) +
                                     " at offset " + std::to_string(kind_at)));
  }
  r.kind = static_cast<RecordKind>(*kind);
  auto latency = in.U64("latency_ms");
  if (!latency) {
    return core::Fail(latency.error());
  }
  r.latency_ms = *latency;
  auto strings = StringFields(r);
  for (size_t i = 0; i < strings.size(); ++i) {
    auto s = in.Bytes(kStringFieldNames[i]);
    if (!s) {
      return core::Fail(s.error());
    }
    *strings[i] = std::move(*s);
  }
  auto fields = SensitiveFields(r);
  for (size_t i = 0; i < fields.size(); ++i) {
    const size_t at = in.offset();
    auto form = in.U8(kSensitiveFieldNames[i]);
    if (!form) {
      return core::Fail(form.error());
    }
    if (*form > 1) {
      return core::Fail(core::DataLoss("audit record: field " +
                                       std::string(kSensitiveFieldNames[i]) +
                                       " has unknown form " + std::to_string(*form) +
                                       " at offset " + std::to_string(at)));
    }
    auto b = in.Bytes(kSensitiveFieldNames[i]);
    if (!b) {
      return core::Fail(b.error());
    }
    fields[i]->form = static_cast<Field::Form>(*form);
    fields[i]->bytes = std::move(*b);
  }
  if (!in.done()) {
    return core::Fail(core::DataLoss("audit record: " + std::to_string(bytes.size() - in.offset()) +
                                     " trailing bytes at offset " + std::to_string(in.offset())));
  }
  if (!r.slots.sealed() && !r.slots.empty()) {
    if (auto s = DecodeSlots(r.slots.bytes); !s) {
      return core::Fail(s.error());
    }
  }
  return r;
}

core::Result<uint64_t> ValidateRecord(std::string_view bytes) {
  // The fast path of `opsgate audit verify`: the same checks as DecodeRecord, in the
  // same order, without building a Record (the fuzz target checks they agree).
  if (bytes.empty() || bytes.size() > kMaxRecordBytes) {
    return DecodeRecord(bytes).transform([](const Record& r) { return r.seq; });
  }
  Reader in(bytes);
  auto version = in.U8("version");
  auto seq = in.U64("seq");
  auto ts = in.U64("timestamp");
  auto kind = in.U8("kind");
  auto latency = in.U64("latency_ms");
  if (!version || *version != kRecordVersion || !seq || !ts || !kind || *kind < 1 ||
      *kind > 6 || !latency) {
    return DecodeRecord(bytes).transform([](const Record& r) { return r.seq; });
  }
  for (std::string_view name : kStringFieldNames) {
    if (!in.View(name)) {
      return DecodeRecord(bytes).transform([](const Record& r) { return r.seq; });
    }
  }
  std::string_view slots;
  bool slots_plain = false;
  for (size_t i = 0; i < kSensitiveFieldNames.size(); ++i) {
    auto form = in.U8(kSensitiveFieldNames[i]);
    if (!form || *form > 1) {
      return DecodeRecord(bytes).transform([](const Record& r) { return r.seq; });
    }
    auto v = in.View(kSensitiveFieldNames[i]);
    if (!v) {
      return DecodeRecord(bytes).transform([](const Record& r) { return r.seq; });
    }
    if (i == 2) {
      slots = *v;
      slots_plain = *form == 0;
    }
  }
  if (!in.done() || (slots_plain && !slots.empty() && !DecodeSlots(slots))) {
    return DecodeRecord(bytes).transform([](const Record& r) { return r.seq; });
  }
  return *seq;
}

std::string EncodeSlots(const std::map<std::string, std::string>& slots) {
  std::string out;
  PutU32(out, static_cast<uint32_t>(slots.size()));
  for (const auto& [k, v] : slots) {
    PutBytes(out, k);
    PutBytes(out, v);
  }
  return out;
}

core::Result<std::map<std::string, std::string>> DecodeSlots(std::string_view bytes) {
  Reader in(bytes);
  auto count = in.U32("slot count");
  if (!count) {
    return core::Fail(count.error());
  }
  std::map<std::string, std::string> out;
  const std::string* last = nullptr;
  for (uint32_t i = 0; i < *count; ++i) {
    auto k = in.Bytes("slot name");
    if (!k) {
      return core::Fail(k.error());
    }
    auto v = in.Bytes("slot value");
    if (!v) {
      return core::Fail(v.error());
    }
    if (last != nullptr && !(*last < *k)) {
      return core::Fail(core::DataLoss("audit record: slots are not in strictly increasing "
                                       "name order (not canonical)"));
    }
    last = &out.emplace(std::move(*k), std::move(*v)).first->first;
  }
  if (!in.done()) {
    return core::Fail(core::DataLoss("audit record: trailing bytes after the slots"));
  }
  return out;
}

std::string RecordToJson(const Record& r) {
  std::string out = "{\"seq\":" + std::to_string(r.seq) +
                    ",\"timestamp_ms\":" + std::to_string(r.timestamp_ms) +
                    ",\"kind\":" + Quote(RecordKindName(r.kind)) +
                    ",\"latency_ms\":" + std::to_string(r.latency_ms);
  auto strings = StringFields(r);
  for (size_t i = 0; i < strings.size(); ++i) {
    out += ",\"" + std::string(kStringFieldNames[i]) + "\":" + Quote(*strings[i]);
  }
  auto fields = SensitiveFields(r);
  for (size_t i = 0; i < fields.size(); ++i) {
    out += ",\"" + std::string(kSensitiveFieldNames[i]) +
           "\":" + FieldJson(*fields[i], fields[i] == &r.slots);
  }
  return out + "}";
}

}  // namespace opsgate::audit
