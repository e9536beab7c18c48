// File: opsgate/store/sqlite/sqlite_store.h
//
// SqliteStore is the embedded default Store: one SQLite database file in WAL mode,
// created on first use and migrated to the schema this binary knows.
//
//   auto store = SqliteStore::Open(config.store.path);
//   if (!store) return Fail(store.error());   // names the file and SQLite's reason
//
// Open creates missing parent directories (mode 0700) and a new database file with mode
// 0600 (SQLite gives the -wal and -shm files the same mode), then sets per connection:
//  - journal_mode=WAL: readers never block the writer;
//  - synchronous=NORMAL: with WAL a committed transaction survives a crash of the
//    process, but the last transactions before a power loss or OS crash may roll back.
//    That is the right trade for state that can be rebuilt or retried; the audit log
//    will make its own records durable (synchronous=FULL or explicit group commit);
//  - foreign_keys=ON; busy_timeout=5000 ms (another process holding the write lock);
//  - for a new file, page_size (SqliteOptions; 1 KiB by default): the hot table is the
//    replay memory, small rows inserted at random places in its index, and every
//    commit writes each page it touched to the WAL (and a checkpoint copies it back),
//    so small pages write a quarter of what 4 KiB pages do (p99 of the Slack
//    benchmark ~9 ms -> ~7.5 ms). The audit store, append-only, keeps 4 KiB.
// Then it applies, each in its own transaction, the schema migrations newer than the
// database's version, recording each in schema_migrations(version, applied_at).
//
// Ownership: the caller owns the returned store; it closes the database on destruction.
//
// Thread-safety: safe to call from any thread. The connection is opened in SQLite's
// serialized mode, and every use of it goes through WithDatabase(), which holds a mutex
// so that multi-statement work (transactions) is not interleaved with other threads'.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "opsgate/core/result.h"
#include "opsgate/store/sqlite/internal/database.h"
#include "opsgate/store/store.h"

namespace opsgate::store {

struct SqliteOptions {
  // Bytes per page for a new database file (a power of two, 512..65536); an existing
  // file keeps its own.
  int page_size = 1024;
};

class SqliteStore final : public Store {
 public:
  static constexpr std::string_view kDriver = "sqlite";

  // Opens (creating if needed) and migrates the database at `path`. ":memory:" opens a
  // private in-memory database (tests), which has no WAL.
  // Errors (the message names the file and quotes the OS or SQLite):
  //  - kInvalidArgument: empty path;
  //  - kFailedPrecondition: a parent directory or the file cannot be created or opened,
  //    the file is not an SQLite database, WAL cannot be enabled, or the database's schema
  //    version is newer than this binary knows ("... upgrade opsgate");
  //  - kUnavailable: the database stayed locked by another process beyond busy_timeout,
  //    or an I/O error;
  //  - kDataLoss: the file is corrupt.
  // kInvalidArgument too for a page size that is not a power of two in 512..65536.
  [[nodiscard]] static core::Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                                       SqliteOptions options = {});

  ~SqliteStore() override;

  std::string_view Driver() const override { return kDriver; }

  // Runs "SELECT 1". Errors: kUnavailable with SQLite's reason.
  [[nodiscard]] core::Status Ping() override;

  // The schema version of the database after Open's migrations.
  int SchemaVersion() const { return schema_version_; }

  // The newest schema version this binary knows (the last migration).
  static int LatestSchemaVersion();

  // The path given to Open.
  const std::string& path() const { return path_; }

  // For repositories in the store module: runs fn(sqlite_internal::Database&) with
  // exclusive use of the connection and returns what fn returns. The Database reference
  // and any Statement/Transaction made from it must not escape fn. Do not call
  // WithDatabase again from inside fn (the mutex is not recursive).
  template <class Fn>
  auto WithDatabase(Fn&& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    return std::forward<Fn>(fn)(*db_);
  }

 private:
  SqliteStore(std::unique_ptr<sqlite_internal::Database> db, int schema_version);

  const std::string path_;
  const int schema_version_;
  std::mutex mu_;
  std::unique_ptr<sqlite_internal::Database> db_;  // Guarded by mu_.
};

}  // namespace opsgate::store
