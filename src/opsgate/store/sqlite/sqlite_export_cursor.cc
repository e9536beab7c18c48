#include "opsgate/store/sqlite/sqlite_export_cursor.h"

#include <chrono>
#include <limits>
#include <string>

namespace opsgate::store {
namespace {

using sqlite_internal::Database;
using sqlite_internal::Statement;

constexpr const char* kSelect = "SELECT next_seq FROM export_cursors WHERE name = ?1";
constexpr const char* kUpsert =
    "INSERT INTO export_cursors (name, next_seq, updated_at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (name) DO UPDATE SET next_seq = excluded.next_seq, "
    "updated_at = excluded.updated_at";

core::Status CheckName(std::string_view name) {
  if (name.empty() || name.size() > ExportCursorStore::kMaxNameBytes) {
    return core::Fail(core::InvalidArgument("export cursor name must be 1.." +
                                            std::to_string(ExportCursorStore::kMaxNameBytes) +
                                            " bytes, got " + std::to_string(name.size())));
  }
  return core::Ok();
}

}  // namespace

core::Result<uint64_t> SqliteExportCursor::Load(std::string_view name) {
  OPSGATE_RETURN_IF_ERROR(CheckName(name));
  return store_.WithDatabase([&](Database& db) -> core::Result<uint64_t> {
    auto row = db.QueryRow(kSelect, name);
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return uint64_t{0};
    }
    const Statement& st = **row;
    if (st.ColumnIsNull(0) || st.ColumnInt64(0) < 0) {
      return core::Fail(core::DataLoss(
          "sqlite database " + db.path() + ": export cursor '" + std::string(name) + "' holds " +
          (st.ColumnIsNull(0) ? std::string("NULL") : st.ColumnText(0)) +
          ", not a sequence number; delete the row from export_cursors to re-export "
          "from the start, or set next_seq to the first record to export"));
    }
    return static_cast<uint64_t>(st.ColumnInt64(0));
  });
}

core::Status SqliteExportCursor::Save(std::string_view name, uint64_t next_seq) {
  OPSGATE_RETURN_IF_ERROR(CheckName(name));
  if (next_seq > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return core::Fail(core::InvalidArgument("export cursor '" + std::string(name) + "': next_seq " +
                                            std::to_string(next_seq) +
                                            " does not fit a signed 64-bit integer"));
  }
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch())
          .count();
  return store_.WithDatabase([&](Database& db) -> core::Status {
    return db.Run(kUpsert, name, static_cast<int64_t>(next_seq), now_ms);
  });
}

}  // namespace opsgate::store
