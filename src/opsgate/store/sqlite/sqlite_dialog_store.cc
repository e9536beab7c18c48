#include "opsgate/store/sqlite/sqlite_dialog_store.h"

#include <chrono>
#include <string>

namespace opsgate::store {
namespace {

using sqlite_internal::FromMs;
using sqlite_internal::Ms;

using sqlite_internal::Database;

core::Status CheckKey(std::string_view key) {
  if (key.empty() || key.size() > SqliteDialogStore::kMaxKeyBytes) {
    return core::Fail(core::InvalidArgument("dialog key must be 1.." +
                                            std::to_string(SqliteDialogStore::kMaxKeyBytes) +
                                            " bytes"));
  }
  return core::Ok();
}

}  // namespace

core::Status SqliteDialogStore::Put(const Dialog& dialog) {
  OPSGATE_RETURN_IF_ERROR(CheckKey(dialog.key));
  if (dialog.state.size() > kMaxStateBytes) {
    return core::Fail(core::InvalidArgument("dialog state must be at most " +
                                            std::to_string(kMaxStateBytes) + " bytes"));
  }
  return store_.WithDatabase([&](Database& db) -> core::Status {
    return db.Run(
        "INSERT INTO dialogs (key, state, expires_ms) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (key) DO UPDATE SET state = excluded.state, expires_ms = excluded.expires_ms",
        dialog.key, sqlite_internal::Blob{dialog.state}, Ms(dialog.expires_at));
  });
}

core::Result<std::optional<Dialog>> SqliteDialogStore::Get(std::string_view key,
                                                           core::Clock::WallTime now) const {
  OPSGATE_RETURN_IF_ERROR(CheckKey(key));
  return store_.WithDatabase([&](Database& db) -> core::Result<std::optional<Dialog>> {
    auto row = db.QueryRow(
        "SELECT key, state, expires_ms FROM dialogs WHERE key = ?1 AND expires_ms > ?2", key,
        Ms(now));
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return std::optional<Dialog>();
    }
    Dialog d;
    d.key = (*row)->ColumnText(0);
    d.state = (*row)->ColumnBlob(1);
    d.expires_at = FromMs((*row)->ColumnInt64(2));
    return std::optional<Dialog>(std::move(d));
  });
}

core::Result<bool> SqliteDialogStore::Delete(std::string_view key) {
  OPSGATE_RETURN_IF_ERROR(CheckKey(key));
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    auto changed = db.Execute("DELETE FROM dialogs WHERE key = ?1", key);
    if (!changed) {
      return core::Fail(changed.error());
    }
    return *changed > 0;
  });
}

core::Result<uint64_t> SqliteDialogStore::PruneExpired(core::Clock::WallTime now) {
  return store_.WithDatabase([&](Database& db) -> core::Result<uint64_t> {
    auto changed = db.Execute("DELETE FROM dialogs WHERE expires_ms <= ?1", Ms(now));
    if (!changed) {
      return core::Fail(changed.error());
    }
    return static_cast<uint64_t>(*changed);
  });
}

}  // namespace opsgate::store
