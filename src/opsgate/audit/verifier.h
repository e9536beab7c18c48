// File: opsgate/audit/verifier.h
//
// Re-derives everything in a stored audit log and says whether it is intact:
//  - seqs are contiguous from 0 (a deleted record is a gap);
//  - every record decodes strictly and carries the seq it is stored at (a moved or
//    swapped record carries another);
//  - every record's leaf hash, recomputed from its stored bytes, equals the stored one;
//  - the Merkle root recomputed at every tree head's size equals the signed root, and
//    every tree head's Ed25519 signature verifies with the public key;
//  - no tree head is larger than the log.
// It needs no decryption key: hashes cover the stored (sealed) bytes.
//
//   auto report = VerifyAuditLog(store, key);
//   if (!report) ...                       // could not read the store
//   if (!report->ok) std::cerr << report->first_bad_seq << ": " << report->problem;
//
// Limits: records after the last tree head are checked for decoding, order and leaf
// hash only (no signature covers them yet; report->unsigned_records says how many), and
// a log truncated together with its tree heads is only detectable against a tree head
// kept elsewhere (a consistency proof, docs/audit-format.md).
//
// Thread-safety: reads the store only; safe while a writer appends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "opsgate/audit/tree_head.h"
#include "opsgate/core/result.h"
#include "opsgate/store/audit_store.h"

namespace opsgate::audit {

struct VerifyReport {
  bool ok = false;
  uint64_t records = 0;          // records checked (up to the first problem)
  uint64_t tree_heads = 0;       // tree heads whose root and signature were checked
  uint64_t unsigned_records = 0; // records after the last tree head
  std::optional<uint64_t> first_bad_seq;  // when !ok and a record is to blame
  std::string problem;           // when !ok: what is wrong, for a person
};

// Errors: the store's read errors only; a damaged log is a report with ok == false.
[[nodiscard]] core::Result<VerifyReport> VerifyAuditLog(store::AuditStore& store,
                                                        const TreeHeadKey& key);

}  // namespace opsgate::audit
