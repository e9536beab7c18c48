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
// For the common one-shot statement, Database::Query / QueryRow / Run / Execute prepare and
// bind in one call (parameters ?1..?N in argument order, see Statement::BindAll):
//
//   auto row = db.QueryRow("SELECT value FROM kv_meta WHERE key = ?1", "created_at");
//   if (!row) return Fail(row.error());
//   if (*row) created_at = (*row)->ColumnText(0);   // *row: std::optional<Statement>
//
//   auto changed = db.Execute("DELETE FROM t WHERE id = ?1 AND data = ?2", id, Blob{bytes});
//   if (!changed) return Fail(changed.error());     // *changed: rows changed
//   OPSGATE_RETURN_IF_ERROR(db.Run("INSERT INTO t (id) VALUES (?1)", id));  // count unused
//
// Lifetimes: a Statement or Transaction borrows its Database, which must outlive it.
// Thread-safety: none of these types is thread-safe. SqliteStore serialises all use of
// its Database behind a mutex (SqliteStore::WithDatabase); a Transaction spans
// everything run on the connection until Commit, so the lock must be held throughout.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "opsgate/core/clock.h"
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

// A parameter for Statement::BindAll (and Query / QueryRow / Execute) that binds as a
// BLOB; a plain string binds as TEXT. Only a view: the bytes are copied when bound.
//   db.Execute("DELETE FROM sessions WHERE token_hash = ?1", Blob{token_hash});
// Times are stored as Unix milliseconds (sub-millisecond parts are dropped).
inline int64_t Ms(core::Clock::WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline core::Clock::WallTime FromMs(int64_t ms) {
  return core::Clock::WallTime(
      std::chrono::duration_cast<core::Clock::WallTime::duration>(std::chrono::milliseconds(ms)));
}

struct Blob {
  std::string_view bytes;
};

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

  // Binds `args` to parameters 1..N in order, stopping at the first error:
  //   integers (bool as 0/1)      -> BindInt64 (uint64_t is refused at compile time:
  //                                  cast it, after checking it fits)
  //   std::string / string_view /
  //   const char*                 -> BindText
  //   Blob{bytes}                 -> BindBlob
  //   std::nullopt                -> BindNull
  //   std::optional<T>            -> NULL when empty, else as T
  // Any other type does not compile. Errors: kInternal when the statement does not take
  // exactly sizeof...(args) parameters (checked before binding anything), else as the
  // Bind* calls.
  template <class... Args>
  [[nodiscard]] core::Status BindAll(const Args&... args) {
    if (core::Status s = CheckParameterCount(static_cast<int>(sizeof...(Args))); !s) {
      return s;
    }
    core::Status status = core::Ok();
    int index = 0;
    // Left to right, short-circuiting at the first failed bind.
    (void)((status = BindParam(++index, args), status.has_value()) && ...);
    return status;
  }

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
  core::Status CheckParameterCount(int given) const;

  // BindAll's per-argument dispatch.
  template <std::integral T>
  core::Status BindParam(int index, T value) {
    static_assert(!std::is_same_v<T, char>, "a char would bind as a number: pass a string");
    static_assert(sizeof(T) < sizeof(int64_t) || std::is_signed_v<T>,
                  "an unsigned 64-bit value may not fit SQLite's int64: check and cast it");
    return BindInt64(index, static_cast<int64_t>(value));
  }
  core::Status BindParam(int index, std::string_view text) { return BindText(index, text); }
  core::Status BindParam(int index, Blob blob) { return BindBlob(index, blob.bytes); }
  core::Status BindParam(int index, std::nullopt_t) { return BindNull(index); }
  template <class T>
  core::Status BindParam(int index, const std::optional<T>& value) {
    return value ? BindParam(index, *value) : BindNull(index);
  }

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

  // Prepare(sql) then BindAll(args...): a statement ready to Step. Errors: as those two.
  template <class... Args>
  [[nodiscard]] core::Result<Statement> Query(std::string_view sql, const Args&... args);

  // Query(sql, args...) then one Step(): the statement positioned on its first row, or
  // std::nullopt when there is none (the statement is then already finished). The caller
  // reads the row with the Column* getters and may Step() on (e.g. to finish a DELETE ...
  // RETURNING) or Reset(). Errors: as Query and Step.
  template <class... Args>
  [[nodiscard]] core::Result<std::optional<Statement>> QueryRow(std::string_view sql,
                                                                const Args&... args);

  // Query(sql, args...) then Statement::Run(): one INSERT / UPDATE / DELETE whose change
  // count does not matter. Errors: as Query and Statement::Run.
  template <class... Args>
  [[nodiscard]] core::Status Run(std::string_view sql, const Args&... args);

  // Run(sql, args...), returning the number of rows the statement changed (Changes()).
  template <class... Args>
  [[nodiscard]] core::Result<int64_t> Execute(std::string_view sql, const Args&... args);

  // Rows changed by the most recent INSERT / UPDATE / DELETE on this connection
  // (sqlite3_changes).
  int64_t Changes() const;

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

template <class... Args>
core::Result<Statement> Database::Query(std::string_view sql, const Args&... args) {
  auto stmt = Prepare(sql);
  if (!stmt) {
    return core::Fail(stmt.error());
  }
  OPSGATE_RETURN_IF_ERROR(stmt->BindAll(args...));
  return stmt;
}

template <class... Args>
core::Result<std::optional<Statement>> Database::QueryRow(std::string_view sql,
                                                          const Args&... args) {
  auto stmt = Query(sql, args...);
  if (!stmt) {
    return core::Fail(stmt.error());
  }
  auto row = stmt->Step();
  if (!row) {
    return core::Fail(row.error());
  }
  if (!*row) {
    return std::optional<Statement>();
  }
  return std::optional<Statement>(std::move(*stmt));
}

template <class... Args>
core::Status Database::Run(std::string_view sql, const Args&... args) {
  auto stmt = Query(sql, args...);
  if (!stmt) {
    return core::Fail(stmt.error());
  }
  return stmt->Run();
}

template <class... Args>
core::Result<int64_t> Database::Execute(std::string_view sql, const Args&... args) {
  OPSGATE_RETURN_IF_ERROR(Run(sql, args...));
  return Changes();
}

}  // namespace opsgate::store::sqlite_internal
