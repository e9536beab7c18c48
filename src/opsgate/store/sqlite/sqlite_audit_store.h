// File: opsgate/store/sqlite/sqlite_audit_store.h
//
// The SQLite AuditStore: tables audit_records and tree_heads (migration 3) in a database
// of its own (audit.path, default <data_dir>/audit.db), so the audit log's fsyncs never
// queue behind, or slow down, the rest of the store.
//
// Open() opens it like SqliteStore (WAL, migrations, mode 0600) and then sets
// synchronous=FULL on its connection: every commit fsyncs the WAL before returning.
//
// Ownership: owns its connection. Thread-safety: safe from any thread (one mutex).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "opsgate/store/audit_store.h"
#include "opsgate/store/sqlite/sqlite_store.h"

namespace opsgate::store {

class SqliteAuditStore final : public AuditStore {
 public:
  // Errors: as SqliteStore::Open.
  [[nodiscard]] static core::Result<std::unique_ptr<SqliteAuditStore>> Open(
      const std::string& path);

  [[nodiscard]] core::Result<uint64_t> RecordCount() override;
  [[nodiscard]] core::Status AppendRecords(std::span<const AuditRow> rows) override;
  [[nodiscard]] core::Status AppendTreeHead(const TreeHeadRow& head) override;
  [[nodiscard]] core::Status ForEachRecord(
      uint64_t from, uint64_t limit, const std::function<bool(const AuditRow&)>& fn) override;
  [[nodiscard]] core::Result<std::vector<std::string>> LeafHashes(uint64_t count) override;
  [[nodiscard]] core::Result<std::vector<TreeHeadRow>> TreeHeads() override;
  [[nodiscard]] core::Result<std::optional<TreeHeadRow>> LatestTreeHead() override;

  // For tests that tamper with the file (verify must catch it): runs raw SQL.
  [[nodiscard]] core::Status ExecForTesting(std::string_view sql);

 private:
  explicit SqliteAuditStore(std::unique_ptr<SqliteStore> db) : db_(std::move(db)) {}

 public:
  ~SqliteAuditStore() override;

 private:
  std::unique_ptr<SqliteStore> db_;
  // The append statement, prepared once (every batch uses it); only under db_'s mutex.
  std::optional<sqlite_internal::Statement> insert_;
};

}  // namespace opsgate::store
