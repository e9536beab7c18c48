// File: opsgate/store/audit_store.h
//
// AuditStore persists the audit log (audit/writer.h): records as the bytes that were
// hashed, with their sequence number and leaf hash, and the signed tree heads. It knows
// nothing about the record format or the Merkle tree: it stores and returns bytes.
//
//   OPSGATE_RETURN_IF_ERROR(store.AppendRecords(rows));   // one durable transaction
//
// Durability: AppendRecords and AppendTreeHead return only once the transaction is on
// stable storage (SQLite WAL with synchronous=FULL: the commit fsyncs the WAL). One call
// is one fsync however many rows it carries: that is what group commit batches.
//
// Append-only: the interface has no update or delete. (A person with the file can still
// edit it; that is what `opsgate audit verify` detects.)
//
// Thread-safety: implementations are safe to call from any thread; the audit writer is
// the only one that appends.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "opsgate/core/result.h"

namespace opsgate::store {

struct AuditRow {
  uint64_t seq = 0;
  std::string record;     // the encoded record, exactly as hashed
  std::string leaf_hash;  // 32 bytes: SHA-256(0x00 || record); a cache, verify recomputes it
};

struct TreeHeadRow {
  uint64_t tree_size = 0;
  std::string root;         // 32 bytes
  int64_t timestamp_ms = 0; // UTC, Unix milliseconds, when signed
  std::string signature;    // Ed25519, 64 bytes, over the tree-head message (audit-format.md)
  std::string key_id;       // hex SHA-256 of the raw public key, first 16 bytes
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;

  // Number of records (their seqs are 0 .. count-1 in a healthy log): max(seq) + 1.
  [[nodiscard]] virtual core::Result<uint64_t> RecordCount() = 0;

  // Appends `rows` in one durable transaction: all or none. Errors: kAlreadyExists for
  // a seq already stored; kUnavailable (busy, I/O); kResourceExhausted (disk full).
  [[nodiscard]] virtual core::Status AppendRecords(std::span<const AuditRow> rows) = 0;

  // Stores a tree head durably. Errors as AppendRecords; kAlreadyExists for a size
  // already signed.
  [[nodiscard]] virtual core::Status AppendTreeHead(const TreeHeadRow& head) = 0;

  // Calls fn for each row with seq >= from, in seq order, at most `limit` rows; stops
  // early when fn returns false. The row is only valid during the call.
  [[nodiscard]] virtual core::Status ForEachRecord(uint64_t from, uint64_t limit,
                                                   const std::function<bool(const AuditRow&)>& fn) = 0;

  // The leaf hashes of seqs 0 .. count-1 in order (32 bytes each). Errors: kDataLoss
  // when a seq is missing or a hash is not 32 bytes.
  [[nodiscard]] virtual core::Result<std::vector<std::string>> LeafHashes(uint64_t count) = 0;

  // Every tree head, by increasing size.
  [[nodiscard]] virtual core::Result<std::vector<TreeHeadRow>> TreeHeads() = 0;
  // The largest tree head, if any.
  [[nodiscard]] virtual core::Result<std::optional<TreeHeadRow>> LatestTreeHead() = 0;
};

}  // namespace opsgate::store
