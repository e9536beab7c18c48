// File: opsgate/store/sqlite/sqlite_export_cursor.h
//
// ExportCursorStore on the SqliteStore's database (table export_cursors, schema
// migration 4: name TEXT PRIMARY KEY, next_seq INTEGER, updated_at INTEGER Unix ms).
//
//   auto store = SqliteStore::Open(config.store.path);
//   SqliteExportCursor cursors(**store, clock);
//   auto next = cursors.Load("syslog");
//
// Save is one auto-committed UPSERT. With the store's WAL and synchronous=NORMAL a saved
// cursor survives a crash of the process; after a power loss it may be one of the last
// values before it, so records are resent (at least once), never skipped.
//
// Ownership: borrows the store and the clock, which must outlive this object.
// Thread-safety: safe from any thread (all work runs inside SqliteStore::WithDatabase).
#pragma once

#include <cstdint>
#include <string_view>

#include "opsgate/core/clock.h"
#include "opsgate/store/export_cursor.h"
#include "opsgate/store/sqlite/sqlite_store.h"

namespace opsgate::store {

class SqliteExportCursor final : public ExportCursorStore {
 public:
  SqliteExportCursor(SqliteStore& store, const core::Clock& clock) : store_(store), clock_(clock) {}
  SqliteExportCursor(const SqliteExportCursor&) = delete;
  SqliteExportCursor& operator=(const SqliteExportCursor&) = delete;

  [[nodiscard]] core::Result<uint64_t> Load(std::string_view name) override;
  [[nodiscard]] core::Status Save(std::string_view name, uint64_t next_seq) override;

 private:
  SqliteStore& store_;
  const core::Clock& clock_;
};

}  // namespace opsgate::store
