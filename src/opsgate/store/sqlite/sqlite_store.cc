#include "opsgate/store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

namespace opsgate::store {
namespace {

using sqlite_internal::Database;

struct Migration {
  int version;
  const char* sql;
};

// The schema, as an append-only list: never edit a released migration, add a new one.
// Each runs in its own transaction together with its schema_migrations row.
constexpr Migration kMigrations[] = {
    {1, R"sql(
      CREATE TABLE kv_meta (
        key   TEXT PRIMARY KEY,
        value TEXT
      );
      INSERT INTO kv_meta (key, value)
        VALUES ('created_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
    )sql"},
    // SeenKeys (seen_keys.h): replay and dedupe memory. expires_at is Unix milliseconds.
    // One b-tree and no index on expires_at: every insert writes one page less to the
    // WAL (about 1.5x the inserts per second); pruning walks the key order in chunks
    // instead (sqlite_seen_keys.cc).
    {2, R"sql(
      CREATE TABLE seen_keys (
        scope      TEXT    NOT NULL,
        key        TEXT    NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (scope, key)
      ) WITHOUT ROWID;
    )sql"},
    // The audit log (store/audit_store.h, docs/audit-format.md). Used in a database file
    // of its own (audit.path); present, empty, in the main store as well. seq is the
    // rowid, so records are stored and scanned in log order.
    {3, R"sql(
      CREATE TABLE audit_records (
        seq       INTEGER PRIMARY KEY,
        record    BLOB    NOT NULL,
        leaf_hash BLOB    NOT NULL
      );
      CREATE TABLE tree_heads (
        tree_size    INTEGER PRIMARY KEY,
        root         BLOB    NOT NULL,
        timestamp_ms INTEGER NOT NULL,
        signature    BLOB    NOT NULL,
        key_id       TEXT    NOT NULL
      );
    )sql"},
    // Export cursors (audit/export): per exporter, the next audit seq to send. Updated
    // only after the records before it were handed to the receiver (at least once).
    {4, R"sql(
      CREATE TABLE export_cursors (
        name       TEXT    PRIMARY KEY,
        next_seq   INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
    )sql"},
    // Identity linking (issue 5), see sqlite_identity_store.h. Times are Unix ms; state
    // and link tokens are keyed by their SHA-256 (32-byte blobs).
    {5, R"sql(
      CREATE TABLE oidc_pending_logins (
        state_hash    BLOB    PRIMARY KEY,
        state         TEXT    NOT NULL,
        nonce         TEXT    NOT NULL,
        code_verifier TEXT    NOT NULL,
        issuer        TEXT    NOT NULL,
        redirect_uri  TEXT    NOT NULL,
        max_age       INTEGER,
        acr_values    TEXT    NOT NULL,
        prompt        TEXT    NOT NULL,
        context       TEXT    NOT NULL,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE identity_link_tokens (
        token_hash BLOB    PRIMARY KEY,
        platform   TEXT    NOT NULL,
        workspace  TEXT    NOT NULL,
        user_id    TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE identity_principals (
        id               INTEGER PRIMARY KEY,
        issuer           TEXT    NOT NULL,
        subject          TEXT    NOT NULL,
        email            TEXT,
        groups_json      TEXT    NOT NULL DEFAULT '[]',
        linked_at        INTEGER NOT NULL,
        last_verified_at INTEGER NOT NULL,
        expires_at       INTEGER NOT NULL,
        UNIQUE (issuer, subject)
      );
      CREATE TABLE identity_platform_links (
        platform     TEXT    NOT NULL,
        workspace    TEXT    NOT NULL,
        user_id      TEXT    NOT NULL,
        principal_id INTEGER NOT NULL REFERENCES identity_principals (id) ON DELETE CASCADE,
        linked_at    INTEGER NOT NULL,
        PRIMARY KEY (platform, workspace, user_id)
      ) WITHOUT ROWID;
      CREATE INDEX identity_platform_links_by_principal
        ON identity_platform_links (principal_id);
    )sql"},
    // Local accounts, web-chat sessions and MFA (store/local_auth_store.h). Token-like keys
    // are SHA-256 digests; the TOTP secret is a FieldSealer blob; times are Unix ms.
    {6, R"sql(
      CREATE TABLE local_accounts (
        username            TEXT    PRIMARY KEY,
        password_hash       TEXT    NOT NULL,
        totp_secret_sealed  BLOB    NOT NULL DEFAULT x'',
        totp_confirmed      INTEGER NOT NULL DEFAULT 0,
        is_admin            INTEGER NOT NULL DEFAULT 0,
        disabled            INTEGER NOT NULL DEFAULT 0,
        created_at          INTEGER NOT NULL,
        password_changed_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE local_enrolment_tokens (
        token_hash BLOB    PRIMARY KEY,
        purpose    TEXT    NOT NULL,
        is_admin   INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE local_sessions (
        token_hash          BLOB    PRIMARY KEY,
        username            TEXT    REFERENCES local_accounts (username) ON DELETE CASCADE,
        oidc_issuer         TEXT,
        oidc_subject        TEXT,
        csrf_token          TEXT    NOT NULL,
        created_at          INTEGER NOT NULL,
        last_seen_at        INTEGER NOT NULL,
        idle_timeout_ms     INTEGER NOT NULL,
        absolute_expires_at INTEGER NOT NULL,
        mfa_verified_at     INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX local_sessions_by_username ON local_sessions (username);
      CREATE TABLE local_totp_used (
        account TEXT    NOT NULL,
        step    INTEGER NOT NULL,
        used_at INTEGER NOT NULL,
        PRIMARY KEY (account, step)
      ) WITHOUT ROWID;
      CREATE TABLE local_login_failures (
        id  INTEGER PRIMARY KEY,
        key TEXT    NOT NULL,
        at  INTEGER NOT NULL
      );
      CREATE INDEX local_login_failures_by_key ON local_login_failures (key, at);
      CREATE TABLE local_step_ups (
        challenge_hash BLOB    PRIMARY KEY,
        principal      TEXT    NOT NULL,
        request_hash   TEXT    NOT NULL,
        created_at     INTEGER NOT NULL,
        expires_at     INTEGER NOT NULL,
        satisfied_at   INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX local_step_ups_by_request ON local_step_ups (principal, request_hash);
    )sql"},
    // Policy enforcement (store/policy_store.h, sqlite_policy_store.h): uses of rate-capped
    // statements, and four-eyes approval requests with their votes. Times are Unix ms;
    // payload and detail are the caller's opaque bytes (BLOB). Rowid tables so that ties
    // in time keep insertion order.
    {7, R"sql(
      CREATE TABLE policy_rate_events (
        id    INTEGER PRIMARY KEY,
        key   TEXT    NOT NULL,
        at_ms INTEGER NOT NULL
      );
      CREATE INDEX policy_rate_events_by_key ON policy_rate_events (key, at_ms);
      CREATE TABLE approval_requests (
        id          TEXT    NOT NULL PRIMARY KEY,
        action_hash BLOB    NOT NULL CHECK (length(action_hash) = 32),
        requester   TEXT    NOT NULL,
        needed      INTEGER NOT NULL CHECK (needed BETWEEN 1 AND 100),
        payload     BLOB    NOT NULL,
        created_ms  INTEGER NOT NULL,
        expires_ms  INTEGER NOT NULL CHECK (expires_ms > created_ms),
        state       TEXT    NOT NULL
          CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'cancelled')),
        updated_ms  INTEGER NOT NULL
      );
      CREATE INDEX approval_requests_by_state ON approval_requests (state, expires_ms);
      CREATE TABLE approval_votes (
        request_id TEXT    NOT NULL REFERENCES approval_requests (id) ON DELETE CASCADE,
        approver   TEXT    NOT NULL,
        approve    INTEGER NOT NULL CHECK (approve IN (0, 1)),
        detail     BLOB    NOT NULL,
        at_ms      INTEGER NOT NULL,
        PRIMARY KEY (request_id, approver)
      );
    )sql"},
    // MFA from the OpenID Provider (docs/identity.md): the time of the principal's last
    // login whose ID token showed MFA, Unix ms; NULL when none did. Existing rows keep
    // their data and start without one.
    {8, R"sql(
      ALTER TABLE identity_principals ADD COLUMN mfa_at_ms INTEGER;
    )sql"},
    // Break-glass elevations (docs/policy.md#break-glass). ended_ms / reviewed_ms are 0
    // until the elevation ends / is reviewed; review is '' until then.
    {9, R"sql(
      CREATE TABLE break_glass (
        id             TEXT    NOT NULL PRIMARY KEY,
        principal      TEXT    NOT NULL,
        principal_name TEXT    NOT NULL,
        reason         TEXT    NOT NULL,
        correlation_id TEXT    NOT NULL,
        started_ms     INTEGER NOT NULL,
        expires_ms     INTEGER NOT NULL CHECK (expires_ms > started_ms),
        ended_ms       INTEGER NOT NULL DEFAULT 0,
        ended_by       TEXT    NOT NULL DEFAULT '',
        review         TEXT    NOT NULL DEFAULT '' CHECK (review IN ('', 'ok', 'misuse')),
        reviewer       TEXT    NOT NULL DEFAULT '',
        reviewed_ms    INTEGER NOT NULL DEFAULT 0,
        review_note    TEXT    NOT NULL DEFAULT ''
      );
      CREATE INDEX break_glass_by_principal ON break_glass (principal, expires_ms);
      CREATE INDEX break_glass_by_review ON break_glass (review, expires_ms);
    )sql"},
    // Dialog state between messages (docs/intents.md#dialogs): opaque state per
    // conversation, forgotten after expires_ms.
    {10, R"sql(
      CREATE TABLE dialogs (
        key        TEXT    NOT NULL PRIMARY KEY,
        state      BLOB    NOT NULL,
        expires_ms INTEGER NOT NULL
      );
      CREATE INDEX dialogs_by_expiry ON dialogs (expires_ms);
    )sql"},
    // Rephrasings for review (docs/intents.md#learning).
    {11, R"sql(
      CREATE TABLE nlu_candidates (
        id          INTEGER PRIMARY KEY,
        text        TEXT    NOT NULL,
        utterance   TEXT    NOT NULL,
        intent      TEXT    NOT NULL,
        guessed     TEXT    NOT NULL,
        confidence_pm INTEGER NOT NULL,
        principal   TEXT    NOT NULL,
        created_ms  INTEGER NOT NULL,
        state       TEXT    NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
        reviewer    TEXT    NOT NULL DEFAULT '',
        reviewed_ms INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX nlu_candidates_by_state ON nlu_candidates (state, id);
    )sql"},
};

constexpr bool MigrationsAreConsecutive() {
  int expected = 1;
  for (const Migration& m : kMigrations) {
    if (m.version != expected++) {
      return false;
    }
  }
  return true;
}
static_assert(MigrationsAreConsecutive(), "migration versions must be 1, 2, 3, ...");

constexpr int kLatestVersion = static_cast<int>(std::size(kMigrations));

constexpr const char* kFixPath = "set store.path to a file in a directory opsgate can write";

core::Error FsError(std::string what, int err) {
  return core::FailedPrecondition(std::move(what) + ": " + std::strerror(err) + "; " + kFixPath);
}

// Creates the missing directories above `db_path` with mode 0700: the database holds
// identity links and audit records, which are nobody else's business.
core::Status CreateParentDirectories(const std::string& db_path) {
  namespace fs = std::filesystem;
  std::vector<fs::path> missing;
  for (fs::path p = fs::path(db_path).parent_path(); !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        return core::Fail(
            FsError("cannot create the database " + db_path + " under " + p.string(), ENOTDIR));
      }
      break;
    }
    if (errno != ENOENT) {
      return core::Fail(
          FsError("cannot create the database directory " + p.string() + " for " + db_path, errno));
    }
    missing.push_back(p);
    if (p == p.parent_path()) {
      break;
    }
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0) {
      if (errno == EEXIST) {
        continue;  // Created concurrently; Open fails later if it is not a directory.
      }
      return core::Fail(FsError(
          "cannot create the database directory " + it->string() + " for " + db_path, errno));
    }
    // mkdir's mode is filtered by the umask; make it exactly 0700.
    ::chmod(it->c_str(), 0700);
  }
  return core::Ok();
}

// Creates an empty database file with mode 0600 if none exists. SQLite would create it
// with 0644 & ~umask; an empty file is a valid new database to SQLite.
core::Status CreateFileIfMissing(const std::string& db_path) {
  const int fd = ::open(db_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return core::Ok();
    }
    return core::Fail(FsError("cannot create the database file " + db_path, errno));
  }
  ::fchmod(fd, 0600);
  ::close(fd);
  return core::Ok();
}

core::Result<int64_t> QueryInt(Database& db, std::string_view sql) {
  auto stmt = db.Prepare(sql);
  if (!stmt) {
    return core::Fail(stmt.error());
  }
  auto row = stmt->Step();
  if (!row) {
    return core::Fail(row.error());
  }
  if (!*row) {
    return core::Fail(core::Internal("sqlite database " + db.path() + ": no row from \"" +
                                     std::string(sql) + "\""));
  }
  return stmt->ColumnInt64(0);
}

core::Result<std::string> QueryText(Database& db, std::string_view sql) {
  auto stmt = db.Prepare(sql);
  if (!stmt) {
    return core::Fail(stmt.error());
  }
  auto row = stmt->Step();
  if (!row) {
    return core::Fail(row.error());
  }
  return *row ? stmt->ColumnText(0) : std::string();
}

// The highest applied migration, 0 for a new database.
core::Result<int> ReadSchemaVersion(Database& db) {
  // The first statement to read the file: a file that is not a database fails here.
  auto has_table = QueryInt(db,
                            "SELECT count(*) FROM sqlite_master "
                            "WHERE name = 'schema_migrations'");
  if (!has_table) {
    core::Error e = has_table.error();
    if (e.code == core::ErrorCode::kFailedPrecondition) {
      e.message += "; set store.path to an opsgate database, or to a new file";
    }
    return core::Fail(std::move(e));
  }
  if (*has_table == 0) {
    return 0;
  }
  return QueryInt(db, "SELECT coalesce(max(version), 0) FROM schema_migrations")
      .transform([](int64_t v) { return static_cast<int>(v); });
}

core::Status CheckNotNewer(const Database& db, int version) {
  if (version > kLatestVersion) {
    return core::Fail(
        core::FailedPrecondition("sqlite database " + db.path() + ": database schema version " +
                                 std::to_string(version) + " is newer than this opsgate (max " +
                                 std::to_string(kLatestVersion) + "); upgrade opsgate"));
  }
  return core::Ok();
}

core::Status ApplyMigration(Database& db, const Migration& m) {
  auto tx = db.BeginImmediate();
  if (!tx) {
    return core::Fail(tx.error());
  }
  // Another process may have migrated while this one waited for the write lock.
  auto current = ReadSchemaVersion(db);
  if (!current) {
    return core::Fail(current.error());
  }
  OPSGATE_RETURN_IF_ERROR(CheckNotNewer(db, *current));
  if (*current >= m.version) {
    return core::Ok();  // The transaction rolls back; it changed nothing.
  }
  if (auto s = db.Exec(m.sql); !s) {
    core::Error e = s.error();
    e.message = "schema migration " + std::to_string(m.version) + " failed: " + e.message;
    return core::Fail(std::move(e));
  }
  auto record = db.Prepare(
      "INSERT INTO schema_migrations (version, applied_at) "
      "VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
  if (!record) {
    return core::Fail(record.error());
  }
  OPSGATE_RETURN_IF_ERROR(record->BindInt64(1, m.version));
  OPSGATE_RETURN_IF_ERROR(record->Run());
  return tx->Commit();
}

core::Result<int> Configure(Database& db, bool in_memory, int page_size) {
  // busy_timeout first, so that the statements below wait for other processes' locks.
  OPSGATE_RETURN_IF_ERROR(db.Exec("PRAGMA busy_timeout = 5000"));
  OPSGATE_RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = ON"));

  // Refuse a newer schema before changing anything in the file.
  auto version = ReadSchemaVersion(db);
  if (!version) {
    return core::Fail(version.error());
  }
  OPSGATE_RETURN_IF_ERROR(CheckNotNewer(db, *version));

  // Switching a new file to WAL needs an exclusive lock, and SQLite answers BUSY at
  // once (without its busy handler) while another opener is mid-migration: retry
  // within the same 5 s the busy_timeout allows.
  // Takes effect only while the file is still empty (a new database); an existing one
  // keeps the page size it was created with.
  OPSGATE_RETURN_IF_ERROR(db.Exec("PRAGMA page_size = " + std::to_string(page_size)));
  auto mode = QueryText(db, "PRAGMA journal_mode = WAL");
  for (int waited_ms = 0; !mode && mode.error().code == core::ErrorCode::kUnavailable &&
                          waited_ms < 5000;
       waited_ms += 5) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    mode = QueryText(db, "PRAGMA journal_mode = WAL");
  }
  if (!mode) {
    return core::Fail(mode.error());
  }
  if (*mode != "wal" && !in_memory) {
    return core::Fail(core::FailedPrecondition(
        "sqlite database " + db.path() + ": cannot enable WAL journal mode (still \"" + *mode +
        "\"); WAL needs a local filesystem with shared memory (not NFS); " + kFixPath));
  }
  OPSGATE_RETURN_IF_ERROR(db.Exec("PRAGMA synchronous = NORMAL"));

  OPSGATE_RETURN_IF_ERROR(
      db.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
              "version INTEGER PRIMARY KEY, applied_at TEXT)"));
  for (const Migration& m : kMigrations) {
    if (m.version > *version) {
      OPSGATE_RETURN_IF_ERROR(ApplyMigration(db, m));
    }
  }
  return ReadSchemaVersion(db);
}

}  // namespace

core::Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                             SqliteOptions options) {
  if (path.empty()) {
    return core::Fail(core::InvalidArgument("the SQLite store path is empty; set store.path"));
  }
  if (options.page_size < 512 || options.page_size > 65536 ||
      (options.page_size & (options.page_size - 1)) != 0) {
    return core::Fail(
        core::InvalidArgument("SQLite page size must be a power of two in "
                              "512..65536, not " +
                              std::to_string(options.page_size)));
  }
  const bool in_memory = path == ":memory:";
  if (!in_memory) {
    OPSGATE_RETURN_IF_ERROR(CreateParentDirectories(path));
    OPSGATE_RETURN_IF_ERROR(CreateFileIfMissing(path));
  }
  auto db =
      Database::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX);
  if (!db) {
    return core::Fail(db.error());
  }
  auto version = Configure(**db, in_memory, options.page_size);
  if (!version) {
    return core::Fail(version.error());
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(*db), *version));
}

SqliteStore::SqliteStore(std::unique_ptr<Database> db, int schema_version)
    : path_(db->path()), schema_version_(schema_version), db_(std::move(db)) {}

SqliteStore::~SqliteStore() = default;

int SqliteStore::LatestSchemaVersion() { return kLatestVersion; }

core::Status SqliteStore::Ping() {
  return WithDatabase([](Database& db) -> core::Status {
    auto one = QueryInt(db, "SELECT 1");
    if (!one) {
      return core::Fail(core::Unavailable(one.error().message));
    }
    if (*one != 1) {
      return core::Fail(core::Unavailable("sqlite database " + db.path() + ": SELECT 1 returned " +
                                          std::to_string(*one)));
    }
    return core::Ok();
  });
}

}  // namespace opsgate::store
