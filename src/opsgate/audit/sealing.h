// File: opsgate/audit/sealing.h
//
// Encryption at rest of an audit record's sensitive fields (user name, text, slots,
// output) with envelope encryption (crypto/key_provider.h). The audit writer seals each
// record after giving it its seq and before encoding it, so the Merkle leaf covers the
// sealed bytes and `opsgate audit verify` needs no key; `audit show` and `audit export`
// open them when they have the key.
//
//   record.seq = 42;
//   OPSGATE_RETURN_IF_ERROR(SealRecordFields(record, sealer));   // writer
//   OPSGATE_RETURN_IF_ERROR(OpenRecordFields(record, sealer));   // reader with the key
//
// Each sealed field is bound (AES-GCM associated data) to its record's seq and its field
// name: "opsgate-audit-v1:seq=42:field=text". A sealed blob moved to another record or
// field does not open, besides breaking the record's hash.
//
// Empty fields stay plain (there is nothing to hide; a record's shape is not secret).
//
// Thread-safety: as FieldSealer (safe from any thread); the record is the caller's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "opsgate/audit/record.h"
#include "opsgate/core/result.h"
#include "opsgate/crypto/key_provider.h"

namespace opsgate::audit {

// The associated data binding a sealed field to record `seq` and field `name`.
std::string SealedFieldAad(uint64_t seq, std::string_view name);

// Seals every plain, non-empty sensitive field of `record` (its seq must be final).
// Fields already sealed are left alone. On error the record is unchanged.
// Errors: the sealer's (kUnavailable: key store or random generator).
[[nodiscard]] core::Status SealRecordFields(Record& record, crypto::FieldSealer& sealer);

// Opens every sealed field of `record` in place (they become plain).
// Errors (the message names the field and seq; the record is unchanged): kNotFound when
// the key-encryption key that sealed it is not available; kDataLoss when the blob was
// altered or belongs to another record or field.
[[nodiscard]] core::Status OpenRecordFields(Record& record, crypto::FieldSealer& sealer);

}  // namespace opsgate::audit
