#include "opsgate/store/sqlite/internal/database.h"

#include <sqlite3.h>

#include <utility>

namespace opsgate::store::sqlite_internal {

core::ErrorCode ErrorCodeFor(int sqlite_rc) {
  using core::ErrorCode;
  switch (sqlite_rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return ErrorCode::kAlreadyExists;
    default:
      break;
  }
  switch (sqlite_rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_PROTOCOL:
      return ErrorCode::kUnavailable;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_TOOBIG:
      return ErrorCode::kResourceExhausted;
    case SQLITE_CORRUPT:
      return ErrorCode::kDataLoss;
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
    case SQLITE_CONSTRAINT:
      return ErrorCode::kFailedPrecondition;
    case SQLITE_INTERRUPT:
      return ErrorCode::kCancelled;
    default:
      return ErrorCode::kInternal;
  }
}

// ---- Statement ----

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }  // A no-op on nullptr.

core::Status Statement::CheckBind(int rc, int index) const {
  if (rc != SQLITE_OK) {
    return core::Fail(db_->ErrorFrom(
        rc, "binding parameter " + std::to_string(index) + " of \"" + sqlite3_sql(stmt_) + "\""));
  }
  return core::Ok();
}

core::Status Statement::CheckParameterCount(int given) const {
  const int wanted = sqlite3_bind_parameter_count(stmt_);
  if (given != wanted) {
    return core::Fail(core::Internal(
        "sqlite database " + db_->path() + ": " + std::to_string(given) + " values for the " +
        std::to_string(wanted) + " parameters of \"" + sqlite3_sql(stmt_) + "\""));
  }
  return core::Ok();
}

core::Status Statement::BindInt64(int index, int64_t value) {
  return CheckBind(sqlite3_bind_int64(stmt_, index, value), index);
}

core::Status Statement::BindText(int index, std::string_view value) {
  return CheckBind(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
}

core::Status Statement::BindBlob(int index, std::string_view bytes) {
  // A null pointer would bind NULL rather than an empty blob.
  static constexpr char kEmpty = 0;
  return CheckBind(sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &kEmpty : bytes.data(),
                                       bytes.size(), SQLITE_TRANSIENT),
                   index);
}

core::Status Statement::BindNull(int index) {
  return CheckBind(sqlite3_bind_null(stmt_, index), index);
}

core::Result<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return core::Fail(db_->ErrorFrom(rc, std::string("running \"") + sqlite3_sql(stmt_) + "\""));
}

core::Status Statement::Run() {
  auto row = Step();
  if (!row) {
    return core::Fail(row.error());
  }
  if (*row) {
    return core::Fail(core::Internal(std::string("sqlite database ") + db_->path() +
                                     ": statement expected to return no rows did: \"" +
                                     sqlite3_sql(stmt_) + "\""));
  }
  return core::Ok();
}

core::Status Statement::Reset() {
  // sqlite3_reset repeats the error of the last Step; that was reported already, and the
  // statement is reset either way.
  sqlite3_reset(stmt_);
  const int rc = sqlite3_clear_bindings(stmt_);
  if (rc != SQLITE_OK) {
    return core::Fail(db_->ErrorFrom(rc, "resetting a statement"));
  }
  return core::Ok();
}

int Statement::ColumnCount() const { return sqlite3_column_count(stmt_); }

bool Statement::ColumnIsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

int64_t Statement::ColumnInt64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::ColumnText(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  const int len = sqlite3_column_bytes(stmt_, col);  // After _text, as SQLite requires.
  if (text == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(len));
}

std::string Statement::ColumnBlob(int col) const {
  const void* blob = sqlite3_column_blob(stmt_, col);
  const int len = sqlite3_column_bytes(stmt_, col);
  if (blob == nullptr) {
    return {};
  }
  return std::string(static_cast<const char*>(blob), static_cast<size_t>(len));
}

// ---- Transaction ----

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Transaction::~Transaction() {
  if (db_ != nullptr) {
    // Nothing to report to: a failed ROLLBACK leaves SQLite to roll back when the
    // connection closes or the next transaction starts.
    (void)Rollback();
  }
}

core::Status Transaction::Commit() {
  if (db_ == nullptr) {
    return core::Fail(core::FailedPrecondition("transaction already finished"));
  }
  Database* db = std::exchange(db_, nullptr);
  const core::Status s = db->Exec("COMMIT");
  if (!s && sqlite3_get_autocommit(db->handle()) == 0) {
    // COMMIT failed (e.g. SQLITE_BUSY or a deferred constraint) and the transaction is
    // still open: roll it back so the connection is usable again.
    (void)db->Exec("ROLLBACK");
  }
  return s;
}

core::Status Transaction::Rollback() {
  if (db_ == nullptr) {
    return core::Fail(core::FailedPrecondition("transaction already finished"));
  }
  Database* db = std::exchange(db_, nullptr);
  if (sqlite3_get_autocommit(db->handle()) != 0) {
    return core::Ok();  // SQLite already rolled back (some errors do that).
  }
  return db->Exec("ROLLBACK");
}

// ---- Database ----

core::Result<std::unique_ptr<Database>> Database::Open(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  // Only construct after success: Database's destructor closes the handle.
  if (rc != SQLITE_OK) {
    const std::string msg = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close_v2(raw);
    return core::Fail(
        core::Error{ErrorCodeFor(rc), "sqlite database " + path + ": cannot open: " + msg});
  }
  sqlite3_extended_result_codes(raw, 1);
  return std::unique_ptr<Database>(new Database(raw, path));
}

Database::~Database() { sqlite3_close_v2(db_); }

core::Status Database::Exec(std::string_view sql) {
  const std::string text(sql);  // sqlite3_exec wants a NUL-terminated string.
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return core::Fail(ErrorFrom(rc, "running \"" + text + "\""));
  }
  return core::Ok();
}

core::Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, &tail);
  Statement result(this, stmt);  // Finalizes on every path below.
  if (rc != SQLITE_OK) {
    return core::Fail(ErrorFrom(rc, "preparing \"" + std::string(sql) + "\""));
  }
  if (stmt == nullptr) {
    return core::Fail(core::Internal("sqlite database " + path_ + ": no statement in \"" +
                                     std::string(sql) + "\""));
  }
  const std::string_view rest = sql.substr(static_cast<size_t>(tail - sql.data()));
  if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
    return core::Fail(core::Internal("sqlite database " + path_ +
                                     ": Prepare takes one statement, got trailing \"" +
                                     std::string(rest) + "\""));
  }
  return result;
}

int64_t Database::Changes() const { return sqlite3_changes(db_); }

core::Result<Transaction> Database::BeginImmediate() {
  const core::Status s = Exec("BEGIN IMMEDIATE");
  if (!s) {
    return core::Fail(s.error());
  }
  return Transaction(this);
}

core::Error Database::ErrorFrom(int rc, std::string_view context) const {
  // sqlite3_errmsg describes the most recent failure on this connection, which is more
  // specific ("no such table: x") than the generic text of the code.
  const char* msg = (sqlite3_extended_errcode(db_) & 0xff) == (rc & 0xff) ? sqlite3_errmsg(db_)
                                                                          : sqlite3_errstr(rc);
  return core::Error{ErrorCodeFor(rc), "sqlite database " + path_ + ": " + std::string(context) +
                                           ": " + msg + " (code " + std::to_string(rc) + ")"};
}

}  // namespace opsgate::store::sqlite_internal
