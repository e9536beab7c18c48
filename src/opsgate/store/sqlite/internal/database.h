// File: opsgate/store/sqlite/internal/database.h
//
// Internal to the store module: RAII wrappers over the SQLite C API so that repository
// code reads as Prepare / Bind / Step instead of raw sqlite3_* calls, and every failure
// becomes a core::Error naming the database file and quoting SQLite.
//
//   auto stmt = db.Prepare("SELECT value FROM kv_meta WHERE key = ?1");
//   if (!stmt) return Fail(stmt.error());
//   OPSGATE_RETURN_IF_ERROR(stmt->BindText(1, "created_at"));
//   auto row = stmt->Step();              // Result<bool>: true = a row is ready
//   if (!row) return Fail(row.error());
//   if (*row) created_at = stmt->ColumnText(0);
//
// Lifetimes: a Statement or Transaction borrows its Database, which must outlive it.
// Thread-safety: none of these types is thread-safe. SqliteStore serialises all use of
// its Database behind a mutex (SqliteStore::WithDatabase); a Transaction spans
// everything run on the connection until Commit, so the lock must be held throughout.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "opsgate/core/result.h"

// Forward declarations keep <sqlite3.h> out of the module's headers.
struct sqlite3;
struct sqlite3_stmt;

namespace opsgate::store::sqlite_internal {

// The ErrorCode for an SQLite result code (primary or extended):
// BUSY/LOCKED/IOERR -> kUnavailable (retry may help); FULL/NOMEM/TOOBIG ->
// kResourceExhausted; CORRUPT -> kDataLoss; NOTADB/CANTOPEN/PERM/READONLY/AUTH ->
// kFailedPrecondition; CONSTRAINT_UNIQUE/PRIMARYKEY -> kAlreadyExists, other CONSTRAINT ->
// kFailedPrecondition; INTERRUPT -> kCancelled; everything else (SQL errors, misuse) ->
// kInternal, since opsgate's own SQL is wrong.
core::ErrorCode ErrorCodeFor(int sqlite_rc);

class Database;

// One prepared statement. Move-only; finalized on destruction.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds parameter `index` (1-based, as in SQL "?1"). Text and blobs are copied.
  // Errors: kInternal for an index out of range.
  [[nodiscard]] core::Status BindInt64(int index, int64_t value);
  [[nodiscard]] core::Status BindText(int index, std::string_view value);
  [[nodiscard]] core::Status BindBlob(int index, std::string_view bytes);
  [[nodiscard]] core::Status BindNull(int index);

  // Advances to the next row: true when a row is ready for the Column* getters, false
  // when the statement has finished. Errors: see ErrorCodeFor().
  [[nodiscard]] core::Result<bool> Step();

  // Step() for statements that return no rows (INSERT, UPDATE, DDL). A returned row is
  // kInternal.
  [[nodiscard]] core::Status Run();

  // Makes the statement runnable again and clears its bindings.
  [[nodiscard]] core::Status Reset();

  // Column getters for the current row; `col` is 0-based. REQUIRES: the last Step()
  // returned true and col < ColumnCount(). NULL reads as 0 / "".
  int ColumnCount() const;
  bool ColumnIsNull(int col) const;
  int64_t ColumnInt64(int col) const;
  std::string ColumnText(int col) const;
  std::string ColumnBlob(int col) const;

 private:
  friend class Database;
  Statement(const Database* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

  core::Status CheckBind(int rc, int index) const;

  const Database* db_;
  sqlite3_stmt* stmt_;
};

// A write transaction (BEGIN IMMEDIATE), rolled back on destruction unless committed.
// Move-only.
class Transaction {
 public:
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // Errors: see ErrorCodeFor(); kFailedPrecondition if already committed or rolled back.
  [[nodiscard]] core::Status Commit();
  [[nodiscard]] core::Status Rollback();

 private:
  friend class Database;
  explicit Transaction(Database* db) : db_(db) {}

  Database* db_;  // null once committed or rolled back
};

// One SQLite connection. Not copyable or movable (statements point at it).
class Database {
 public:
  // Opens `path` with sqlite3_open_v2 `flags` (SQLITE_OPEN_*), with extended result
  // codes on. Errors: see ErrorCodeFor(); the message names the file.
  [[nodiscard]] static core::Result<std::unique_ptr<Database>> Open(const std::string& path,
                                                                    int flags);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // The file name given to Open, for messages.
  const std::string& path() const { return path_; }

  // Runs one or more ';'-separated statements that return no rows (DDL, PRAGMAs).
  [[nodiscard]] core::Status Exec(std::string_view sql);

  // Prepares exactly one statement. Errors: kInternal for bad SQL or trailing text after
  // the first statement; a schema read failure (e.g. kFailedPrecondition for a file that
  // is not a database) as ErrorCodeFor().
  [[nodiscard]] core::Result<Statement> Prepare(std::string_view sql);

  // BEGIN IMMEDIATE: takes the write lock now (waiting up to busy_timeout) so the
  // transaction cannot fail later with SQLITE_BUSY on its first write.
  [[nodiscard]] core::Result<Transaction> BeginImmediate();

  // An Error for a failed SQLite call on this connection: "sqlite database <path>:
  // <context>: <SQLite's message>". Call right after the failure (before anything else
  // runs on the connection).
  core::Error ErrorFrom(int rc, std::string_view context) const;

  // Escape hatch for the rare call without a wrapper. Owned by this Database.
  sqlite3* handle() const { return db_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
};

}  // namespace opsgate::store::sqlite_internal
