#include "opsgate/audit/sealing.h"

#include <array>
#include <utility>

namespace opsgate::audit {
namespace {

struct NamedField {
  std::string_view name;
  Field Record::*field;
};

// Stable names: they are part of the associated data of every sealed blob.
constexpr std::array<NamedField, 4> kSensitive = {{
    {"user_name", &Record::user_name},
    {"text", &Record::text},
    {"slots", &Record::slots},
    {"output", &Record::output},
}};

}  // namespace

std::string SealedFieldAad(uint64_t seq, std::string_view name) {
  std::string aad = "opsgate-audit-v1:seq=";
  aad += std::to_string(seq);
  aad += ":field=";
  aad += name;
  return aad;
}

core::Status SealRecordFields(Record& record, crypto::FieldSealer& sealer) {
  std::array<std::string, kSensitive.size()> sealed;
  for (size_t i = 0; i < kSensitive.size(); ++i) {
    const Field& f = record.*kSensitive[i].field;
    if (f.sealed() || f.empty()) {
      continue;
    }
    auto blob = sealer.Seal(f.bytes, SealedFieldAad(record.seq, kSensitive[i].name));
    if (!blob) {
      core::Error e = blob.error();
      e.message = "sealing audit field " + std::string(kSensitive[i].name) + ": " + e.message;
      return core::Fail(std::move(e));
    }
    sealed[i] = std::move(*blob);
  }
  for (size_t i = 0; i < kSensitive.size(); ++i) {
    Field& f = record.*kSensitive[i].field;
    if (!f.sealed() && !f.empty()) {
      f = Field::Sealed(std::move(sealed[i]));
    }
  }
  return core::Ok();
}

core::Status OpenRecordFields(Record& record, crypto::FieldSealer& sealer) {
  std::array<std::string, kSensitive.size()> opened;
  for (size_t i = 0; i < kSensitive.size(); ++i) {
    const Field& f = record.*kSensitive[i].field;
    if (!f.sealed()) {
      continue;
    }
    auto plain = sealer.Open(f.bytes, SealedFieldAad(record.seq, kSensitive[i].name));
    if (!plain) {
      core::Error e = plain.error();
      e.message = "record " + std::to_string(record.seq) + " field " +
                  std::string(kSensitive[i].name) + ": " + e.message;
      return core::Fail(std::move(e));
    }
    opened[i] = std::move(*plain);
  }
  for (size_t i = 0; i < kSensitive.size(); ++i) {
    Field& f = record.*kSensitive[i].field;
    if (f.sealed()) {
      f = Field::Plain(std::move(opened[i]));
    }
  }
  return core::Ok();
}

}  // namespace opsgate::audit
