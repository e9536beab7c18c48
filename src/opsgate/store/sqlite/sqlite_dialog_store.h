// File: opsgate/store/sqlite/sqlite_dialog_store.h
//
// DialogStore (dialog_store.h) on the SqliteStore's database, schema migration 10:
//   dialogs (key PRIMARY KEY, state, expires_ms)
//
// Ownership: borrows the store, which must outlive it. Thread-safety: any thread.
#pragma once

#include <cstddef>

#include "opsgate/store/dialog_store.h"
#include "opsgate/store/sqlite/sqlite_store.h"

namespace opsgate::store {

class SqliteDialogStore final : public DialogStore {
 public:
  static constexpr size_t kMaxKeyBytes = 512;
  static constexpr size_t kMaxStateBytes = 64 * 1024;

  explicit SqliteDialogStore(SqliteStore& store) : store_(store) {}
  SqliteDialogStore(const SqliteDialogStore&) = delete;
  SqliteDialogStore& operator=(const SqliteDialogStore&) = delete;

  [[nodiscard]] core::Status Put(const Dialog& dialog) override;
  [[nodiscard]] core::Result<std::optional<Dialog>> Get(std::string_view key,
                                                        core::Clock::WallTime now) const override;
  [[nodiscard]] core::Result<bool> Delete(std::string_view key) override;
  [[nodiscard]] core::Result<uint64_t> PruneExpired(core::Clock::WallTime now) override;

 private:
  SqliteStore& store_;
};

}  // namespace opsgate::store
