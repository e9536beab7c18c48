#include "opsgate/store/sqlite/sqlite_local_auth_store.h"

#include <optional>
#include <utility>

namespace opsgate::store {
namespace {

using sqlite_internal::FromMs;
using sqlite_internal::Ms;

using sqlite_internal::Blob;
using sqlite_internal::Database;
using sqlite_internal::Statement;

// Ms(*t), or NULL when there is no time.
std::optional<int64_t> MsOrNull(const std::optional<core::Clock::WallTime>& t) {
  return t ? std::optional<int64_t>(Ms(*t)) : std::nullopt;
}

core::Status CheckHash(std::string_view hash, std::string_view what) {
  if (hash.size() != 32) {
    return core::Fail(
        core::InvalidArgument(std::string(what) + " must be a 32-byte SHA-256 digest"));
  }
  return core::Ok();
}

core::Status CheckField(std::string_view value, std::string_view what, size_t max,
                        bool allow_empty = false) {
  if ((!allow_empty && value.empty()) || value.size() > max) {
    return core::Fail(core::InvalidArgument(std::string(what) + " must be " +
                                            (allow_empty ? "0" : "1") + ".." +
                                            std::to_string(max) + " bytes"));
  }
  return core::Ok();
}

core::Status CheckUsername(std::string_view username) {
  return CheckField(username, "username", SqliteLocalAuthStore::kMaxUsernameBytes);
}

core::Status RequireOne(core::Result<int64_t> changed, std::string_view username) {
  if (!changed) {
    return core::Fail(changed.error());
  }
  if (*changed == 0) {
    return core::Fail(core::NotFound("no local account " + std::string(username)));
  }
  return core::Ok();
}

constexpr std::string_view kAccountColumns =
    "username, password_hash, totp_secret_sealed, totp_confirmed, is_admin, disabled, "
    "created_at, password_changed_at";

LocalAccount ReadAccount(Statement& st) {
  LocalAccount a;
  a.username = st.ColumnText(0);
  a.password_hash = st.ColumnText(1);
  a.totp_secret_sealed = st.ColumnBlob(2);
  a.totp_confirmed = st.ColumnInt64(3) != 0;
  a.is_admin = st.ColumnInt64(4) != 0;
  a.disabled = st.ColumnInt64(5) != 0;
  a.created_at = FromMs(st.ColumnInt64(6));
  a.password_changed_at = FromMs(st.ColumnInt64(7));
  return a;
}

core::Status CheckAccount(const LocalAccount& a) {
  OPSGATE_RETURN_IF_ERROR(CheckUsername(a.username));
  OPSGATE_RETURN_IF_ERROR(
      CheckField(a.password_hash, "password hash", SqliteLocalAuthStore::kMaxFieldBytes));
  return CheckField(a.totp_secret_sealed, "sealed TOTP secret",
                    SqliteLocalAuthStore::kMaxSealedBytes, /*allow_empty=*/true);
}

core::Status InsertAccount(Database& db, const LocalAccount& a) {
  auto changed = db.Execute(
      "INSERT INTO local_accounts (username, password_hash, totp_secret_sealed, totp_confirmed, "
      "is_admin, disabled, created_at, password_changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
      "?8)",
      a.username, a.password_hash, Blob{a.totp_secret_sealed}, a.totp_confirmed, a.is_admin,
      a.disabled, Ms(a.created_at), Ms(a.password_changed_at));
  if (!changed) {
    if (changed.error().code == core::ErrorCode::kAlreadyExists) {
      return core::Fail(core::AlreadyExists("local account " + a.username + " exists already"));
    }
    return core::Fail(changed.error());
  }
  return core::Ok();
}

core::Result<std::optional<LocalAccount>> FindAccount(Database& db, std::string_view username) {
  auto row = db.QueryRow(
      "SELECT " + std::string(kAccountColumns) + " FROM local_accounts WHERE username = ?1",
      username);
  if (!row) {
    return core::Fail(row.error());
  }
  if (!*row) {
    return std::optional<LocalAccount>();
  }
  return std::optional<LocalAccount>(ReadAccount(**row));
}

StepUpRecord ReadStepUp(Statement& st) {
  StepUpRecord r;
  r.challenge_hash = st.ColumnBlob(0);
  r.principal = st.ColumnText(1);
  r.request_hash = st.ColumnText(2);
  r.created_at = FromMs(st.ColumnInt64(3));
  r.expires_at = FromMs(st.ColumnInt64(4));
  if (!st.ColumnIsNull(5)) {
    r.satisfied_at = FromMs(st.ColumnInt64(5));
  }
  return r;
}

}  // namespace

// ---- accounts

core::Status SqliteLocalAuthStore::CreateAccount(const LocalAccount& account) {
  OPSGATE_RETURN_IF_ERROR(CheckAccount(account));
  return store_.WithDatabase([&](Database& db) { return InsertAccount(db, account); });
}

core::Result<std::optional<LocalAccount>> SqliteLocalAuthStore::GetAccount(
    std::string_view username) {
  OPSGATE_RETURN_IF_ERROR(CheckUsername(username));
  return store_.WithDatabase([&](Database& db) { return FindAccount(db, username); });
}

core::Status SqliteLocalAuthStore::SetTotpConfirmed(std::string_view username) {
  OPSGATE_RETURN_IF_ERROR(CheckUsername(username));
  return store_.WithDatabase([&](Database& db) {
    return RequireOne(
        db.Execute("UPDATE local_accounts SET totp_confirmed = 1 WHERE username = ?1", username),
        username);
  });
}

core::Status SqliteLocalAuthStore::SetPasswordHash(std::string_view username,
                                                   std::string_view password_hash,
                                                   core::Clock::WallTime now) {
  OPSGATE_RETURN_IF_ERROR(CheckUsername(username));
  OPSGATE_RETURN_IF_ERROR(CheckField(password_hash, "password hash", kMaxFieldBytes));
  return store_.WithDatabase([&](Database& db) {
    return RequireOne(db.Execute("UPDATE local_accounts SET password_hash = ?2, "
                                 "password_changed_at = ?3 WHERE username = ?1",
                                 username, password_hash, Ms(now)),
                      username);
  });
}

core::Status SqliteLocalAuthStore::SetTotpSecret(std::string_view username,
                                                 std::string_view sealed) {
  OPSGATE_RETURN_IF_ERROR(CheckUsername(username));
  OPSGATE_RETURN_IF_ERROR(CheckField(sealed, "sealed TOTP secret", kMaxSealedBytes));
  return store_.WithDatabase([&](Database& db) {
    return RequireOne(db.Execute("UPDATE local_accounts SET totp_secret_sealed = ?2, "
                                 "totp_confirmed = 0 WHERE username = ?1",
                                 username, Blob{sealed}),
                      username);
  });
}

core::Status SqliteLocalAuthStore::SetDisabled(std::string_view username, bool disabled) {
  OPSGATE_RETURN_IF_ERROR(CheckUsername(username));
  return store_.WithDatabase([&](Database& db) {
    return RequireOne(db.Execute("UPDATE local_accounts SET disabled = ?2 WHERE username = ?1",
                                 username, disabled),
                      username);
  });
}

core::Result<bool> SqliteLocalAuthStore::DeleteAccount(std::string_view username) {
  OPSGATE_RETURN_IF_ERROR(CheckUsername(username));
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    auto tx = db.BeginImmediate();
    if (!tx) {
      return core::Fail(tx.error());
    }
    // Sessions go by ON DELETE CASCADE; delete them explicitly as well so the outcome
    // does not depend on the connection's foreign_keys setting.
    OPSGATE_RETURN_IF_ERROR(db.Run("DELETE FROM local_sessions WHERE username = ?1", username));
    auto changed = db.Execute("DELETE FROM local_accounts WHERE username = ?1", username);
    if (!changed) {
      return core::Fail(changed.error());
    }
    OPSGATE_RETURN_IF_ERROR(tx->Commit());
    return *changed > 0;
  });
}

core::Result<bool> SqliteLocalAuthStore::HasUsableAdmin() {
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    auto row = db.QueryRow(
        "SELECT EXISTS (SELECT 1 FROM local_accounts WHERE is_admin = 1 AND disabled = 0 "
        "AND totp_confirmed = 1)");
    if (!row) {
      return core::Fail(row.error());
    }
    return *row && (*row)->ColumnInt64(0) != 0;
  });
}

// ---- enrolment tokens

core::Status SqliteLocalAuthStore::PutEnrolmentToken(const EnrolmentToken& token) {
  OPSGATE_RETURN_IF_ERROR(CheckHash(token.token_hash, "enrolment token hash"));
  OPSGATE_RETURN_IF_ERROR(CheckField(token.purpose, "enrolment purpose", 32));
  return store_.WithDatabase([&](Database& db) -> core::Status {
    return db.Run(
        "INSERT INTO local_enrolment_tokens (token_hash, purpose, is_admin, created_at, "
        "expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        Blob{token.token_hash}, token.purpose, token.is_admin, Ms(token.created_at),
        Ms(token.expires_at));
  });
}

core::Result<LocalAccount> SqliteLocalAuthStore::EnrolAccount(std::string_view token_hash,
                                                              const LocalAccount& account,
                                                              core::Clock::WallTime now) {
  OPSGATE_RETURN_IF_ERROR(CheckHash(token_hash, "enrolment token hash"));
  OPSGATE_RETURN_IF_ERROR(CheckAccount(account));
  return store_.WithDatabase([&](Database& db) -> core::Result<LocalAccount> {
    auto tx = db.BeginImmediate();
    if (!tx) {
      return core::Fail(tx.error());
    }
    auto row = db.QueryRow(
        "DELETE FROM local_enrolment_tokens WHERE token_hash = ?1 RETURNING is_admin, "
        "expires_at",
        Blob{token_hash});
    if (!row) {
      return core::Fail(row.error());
    }
    const core::Error unusable =
        core::NotFound("enrolment token unknown, used or expired: ask an administrator for a "
                       "new enrolment link");
    if (!*row) {
      return core::Fail(unusable);
    }
    Statement& st = **row;
    const bool is_admin = st.ColumnInt64(0) != 0;
    const int64_t expires_ms = st.ColumnInt64(1);
    auto done = st.Step();
    if (!done) {
      return core::Fail(done.error());
    }
    if (expires_ms <= Ms(now)) {
      // Commit the delete: an expired token is never honoured and need not be kept.
      OPSGATE_RETURN_IF_ERROR(tx->Commit());
      return core::Fail(unusable);
    }
    auto existing = FindAccount(db, account.username);
    if (!existing) {
      return core::Fail(existing.error());
    }
    if (*existing) {
      if ((*existing)->totp_confirmed) {
        // Rolled back by ~Transaction: the token stays usable with another name.
        return core::Fail(
            core::AlreadyExists("local account " + account.username + " exists already"));
      }
      OPSGATE_RETURN_IF_ERROR(
          db.Run("DELETE FROM local_accounts WHERE username = ?1", account.username));
    }
    LocalAccount created = account;
    created.is_admin = is_admin;
    OPSGATE_RETURN_IF_ERROR(InsertAccount(db, created));
    OPSGATE_RETURN_IF_ERROR(tx->Commit());
    return created;
  });
}

// ---- sessions

core::Status SqliteLocalAuthStore::PutSession(const LocalSession& s) {
  OPSGATE_RETURN_IF_ERROR(CheckHash(s.token_hash, "session token hash"));
  const bool local = !s.username.empty();
  const bool oidc = !s.oidc_issuer.empty() || !s.oidc_subject.empty();
  if (local == oidc) {
    return core::Fail(core::InvalidArgument(
        "a session belongs to exactly one of a local username or an OIDC principal"));
  }
  if (local) {
    OPSGATE_RETURN_IF_ERROR(CheckUsername(s.username));
  } else {
    OPSGATE_RETURN_IF_ERROR(CheckField(s.oidc_issuer, "OIDC issuer", kMaxFieldBytes));
    OPSGATE_RETURN_IF_ERROR(CheckField(s.oidc_subject, "OIDC subject", kMaxFieldBytes));
  }
  OPSGATE_RETURN_IF_ERROR(CheckField(s.csrf_token.Reveal(), "CSRF token", 256));
  return store_.WithDatabase([&](Database& db) -> core::Status {
    // The session belongs to the username or to the OIDC principal; the other is NULL.
    using Text = std::optional<std::string_view>;
    return db.Run(
        "INSERT INTO local_sessions (token_hash, username, oidc_issuer, oidc_subject, "
        "csrf_token, created_at, last_seen_at, idle_timeout_ms, absolute_expires_at, "
        "mfa_verified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        Blob{s.token_hash}, local ? Text(s.username) : std::nullopt,
        local ? std::nullopt : Text(s.oidc_issuer), local ? std::nullopt : Text(s.oidc_subject),
        s.csrf_token.Reveal(), Ms(s.created_at), Ms(s.last_seen_at),
        std::chrono::duration_cast<std::chrono::milliseconds>(s.idle_timeout).count(),
        Ms(s.absolute_expires_at), MsOrNull(s.mfa_verified_at));
  });
}

core::Result<std::optional<LocalSession>> SqliteLocalAuthStore::FindSession(
    std::string_view token_hash) {
  OPSGATE_RETURN_IF_ERROR(CheckHash(token_hash, "session token hash"));
  return store_.WithDatabase([&](Database& db) -> core::Result<std::optional<LocalSession>> {
    auto row = db.QueryRow(
        "SELECT username, oidc_issuer, oidc_subject, csrf_token, created_at, last_seen_at, "
        "idle_timeout_ms, absolute_expires_at, mfa_verified_at FROM local_sessions "
        "WHERE token_hash = ?1",
        Blob{token_hash});
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return std::optional<LocalSession>();
    }
    const Statement& st = **row;
    LocalSession s;
    s.token_hash = std::string(token_hash);
    s.username = st.ColumnText(0);
    s.oidc_issuer = st.ColumnText(1);
    s.oidc_subject = st.ColumnText(2);
    s.csrf_token = core::Secret(st.ColumnText(3));
    s.created_at = FromMs(st.ColumnInt64(4));
    s.last_seen_at = FromMs(st.ColumnInt64(5));
    s.idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::milliseconds(st.ColumnInt64(6)));
    s.absolute_expires_at = FromMs(st.ColumnInt64(7));
    if (!st.ColumnIsNull(8)) {
      s.mfa_verified_at = FromMs(st.ColumnInt64(8));
    }
    return std::optional<LocalSession>(std::move(s));
  });
}

core::Result<bool> SqliteLocalAuthStore::TouchSession(std::string_view token_hash,
                                                      core::Clock::WallTime now,
                                                      std::chrono::seconds min_interval) {
  OPSGATE_RETURN_IF_ERROR(CheckHash(token_hash, "session token hash"));
  const int64_t now_ms = Ms(now);
  const int64_t interval_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(min_interval).count();
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    auto changed = db.Execute(
        "UPDATE local_sessions SET last_seen_at = ?2 WHERE token_hash = ?1 "
        "AND last_seen_at <= ?3 AND last_seen_at < ?2",
        Blob{token_hash}, now_ms, now_ms - interval_ms);
    if (!changed) {
      return core::Fail(changed.error());
    }
    return *changed > 0;
  });
}

core::Status SqliteLocalAuthStore::SetSessionMfaVerified(std::string_view token_hash,
                                                         core::Clock::WallTime now) {
  OPSGATE_RETURN_IF_ERROR(CheckHash(token_hash, "session token hash"));
  return store_.WithDatabase([&](Database& db) -> core::Status {
    auto changed =
        db.Execute("UPDATE local_sessions SET mfa_verified_at = ?2 WHERE token_hash = ?1",
                   Blob{token_hash}, Ms(now));
    if (!changed) {
      return core::Fail(changed.error());
    }
    if (*changed == 0) {
      return core::Fail(core::NotFound("no such session"));
    }
    return core::Ok();
  });
}

core::Result<bool> SqliteLocalAuthStore::DeleteSession(std::string_view token_hash) {
  OPSGATE_RETURN_IF_ERROR(CheckHash(token_hash, "session token hash"));
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    auto changed = db.Execute("DELETE FROM local_sessions WHERE token_hash = ?1", Blob{token_hash});
    if (!changed) {
      return core::Fail(changed.error());
    }
    return *changed > 0;
  });
}

core::Result<int64_t> SqliteLocalAuthStore::DeleteSessionsOf(std::string_view username) {
  OPSGATE_RETURN_IF_ERROR(CheckUsername(username));
  return store_.WithDatabase([&](Database& db) {
    return db.Execute("DELETE FROM local_sessions WHERE username = ?1", username);
  });
}

core::Result<int64_t> SqliteLocalAuthStore::PruneSessions(core::Clock::WallTime now) {
  return store_.WithDatabase([&](Database& db) {
    return db.Execute(
        "DELETE FROM local_sessions WHERE absolute_expires_at <= ?1 OR "
        "last_seen_at + idle_timeout_ms <= ?1",
        Ms(now));
  });
}

// ---- TOTP replay guard

core::Result<bool> SqliteLocalAuthStore::MarkTotpStepUsed(std::string_view account, int64_t step,
                                                          core::Clock::WallTime now,
                                                          core::Clock::WallTime prune_before) {
  OPSGATE_RETURN_IF_ERROR(CheckField(account, "TOTP account", kMaxFieldBytes));
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    auto tx = db.BeginImmediate();
    if (!tx) {
      return core::Fail(tx.error());
    }
    OPSGATE_RETURN_IF_ERROR(
        db.Run("DELETE FROM local_totp_used WHERE account = ?1 AND used_at < ?2", account,
               Ms(prune_before)));
    auto newer = db.QueryRow(
        "SELECT EXISTS (SELECT 1 FROM local_totp_used WHERE account = ?1 AND step >= ?2)", account,
        step);
    if (!newer) {
      return core::Fail(newer.error());
    }
    const bool refused = *newer && (*newer)->ColumnInt64(0) != 0;
    if (*newer) {
      OPSGATE_RETURN_IF_ERROR((*newer)->Reset());
    }
    if (refused) {
      OPSGATE_RETURN_IF_ERROR(tx->Commit());  // keep the prune
      return false;
    }
    auto inserted =
        db.Execute("INSERT INTO local_totp_used (account, step, used_at) VALUES (?1, ?2, ?3)",
                   account, step, Ms(now));
    if (!inserted) {
      if (inserted.error().code == core::ErrorCode::kAlreadyExists) {
        return false;  // the unique key is the last line of defence
      }
      return core::Fail(inserted.error());
    }
    OPSGATE_RETURN_IF_ERROR(tx->Commit());
    return true;
  });
}

// ---- login throttling

core::Status SqliteLocalAuthStore::RecordLoginFailure(std::string_view key,
                                                      core::Clock::WallTime now) {
  OPSGATE_RETURN_IF_ERROR(CheckField(key, "throttle key", kMaxFieldBytes));
  return store_.WithDatabase([&](Database& db) -> core::Status {
    return db.Run("INSERT INTO local_login_failures (key, at) VALUES (?1, ?2)", key, Ms(now));
  });
}

core::Result<FailureStats> SqliteLocalAuthStore::LoginFailures(std::string_view key,
                                                               core::Clock::WallTime since) {
  OPSGATE_RETURN_IF_ERROR(CheckField(key, "throttle key", kMaxFieldBytes));
  return store_.WithDatabase([&](Database& db) -> core::Result<FailureStats> {
    auto row = db.QueryRow(
        "SELECT COUNT(*), MIN(at), MAX(at) FROM local_login_failures WHERE key = ?1 AND at >= ?2",
        key, Ms(since));
    if (!row) {
      return core::Fail(row.error());
    }
    FailureStats stats;
    if (*row) {
      stats.count = (*row)->ColumnInt64(0);
      stats.oldest = FromMs((*row)->ColumnInt64(1));
      stats.newest = FromMs((*row)->ColumnInt64(2));
    }
    return stats;
  });
}

core::Status SqliteLocalAuthStore::ClearLoginFailures(std::string_view key) {
  OPSGATE_RETURN_IF_ERROR(CheckField(key, "throttle key", kMaxFieldBytes));
  return store_.WithDatabase([&](Database& db) -> core::Status {
    return db.Run("DELETE FROM local_login_failures WHERE key = ?1", key);
  });
}

core::Result<int64_t> SqliteLocalAuthStore::PruneLoginFailures(core::Clock::WallTime before) {
  return store_.WithDatabase([&](Database& db) {
    return db.Execute("DELETE FROM local_login_failures WHERE at < ?1", Ms(before));
  });
}

// ---- step-ups

core::Status SqliteLocalAuthStore::PutStepUp(const StepUpRecord& r) {
  OPSGATE_RETURN_IF_ERROR(CheckHash(r.challenge_hash, "step-up challenge hash"));
  OPSGATE_RETURN_IF_ERROR(CheckField(r.principal, "step-up principal", kMaxFieldBytes));
  if (r.request_hash.size() != 64) {
    return core::Fail(
        core::InvalidArgument("step-up request hash must be 64 hex characters (SHA-256)"));
  }
  return store_.WithDatabase([&](Database& db) -> core::Status {
    return db.Run(
        "INSERT INTO local_step_ups (challenge_hash, principal, request_hash, created_at, "
        "expires_at, satisfied_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        Blob{r.challenge_hash}, r.principal, r.request_hash, Ms(r.created_at), Ms(r.expires_at),
        MsOrNull(r.satisfied_at));
  });
}

core::Result<std::optional<StepUpRecord>> SqliteLocalAuthStore::FindStepUp(
    std::string_view challenge_hash) {
  OPSGATE_RETURN_IF_ERROR(CheckHash(challenge_hash, "step-up challenge hash"));
  return store_.WithDatabase([&](Database& db) -> core::Result<std::optional<StepUpRecord>> {
    auto row = db.QueryRow(
        "SELECT challenge_hash, principal, request_hash, created_at, expires_at, satisfied_at "
        "FROM local_step_ups WHERE challenge_hash = ?1",
        Blob{challenge_hash});
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return std::optional<StepUpRecord>();
    }
    return std::optional<StepUpRecord>(ReadStepUp(**row));
  });
}

core::Result<bool> SqliteLocalAuthStore::SatisfyStepUp(std::string_view challenge_hash,
                                                       std::string_view principal,
                                                       core::Clock::WallTime now) {
  OPSGATE_RETURN_IF_ERROR(CheckHash(challenge_hash, "step-up challenge hash"));
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    auto changed = db.Execute(
        "UPDATE local_step_ups SET satisfied_at = ?3 WHERE challenge_hash = ?1 "
        "AND principal = ?2 AND expires_at > ?3 AND satisfied_at IS NULL",
        Blob{challenge_hash}, principal, Ms(now));
    if (!changed) {
      return core::Fail(changed.error());
    }
    return *changed > 0;
  });
}

core::Result<bool> SqliteLocalAuthStore::HasSatisfiedStepUp(std::string_view principal,
                                                            std::string_view request_hash,
                                                            core::Clock::WallTime now) {
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    auto row = db.QueryRow(
        "SELECT EXISTS (SELECT 1 FROM local_step_ups WHERE principal = ?1 AND "
        "request_hash = ?2 AND satisfied_at IS NOT NULL AND expires_at > ?3)",
        principal, request_hash, Ms(now));
    if (!row) {
      return core::Fail(row.error());
    }
    return *row && (*row)->ColumnInt64(0) != 0;
  });
}

core::Result<bool> SqliteLocalAuthStore::ConsumeStepUp(std::string_view principal,
                                                       std::string_view request_hash,
                                                       core::Clock::WallTime now) {
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    // One statement: of two concurrent consumers exactly one deletes the row.
    auto changed = db.Execute(
        "DELETE FROM local_step_ups WHERE challenge_hash = (SELECT challenge_hash FROM "
        "local_step_ups WHERE principal = ?1 AND request_hash = ?2 AND satisfied_at IS NOT "
        "NULL AND expires_at > ?3 ORDER BY satisfied_at LIMIT 1)",
        principal, request_hash, Ms(now));
    if (!changed) {
      return core::Fail(changed.error());
    }
    return *changed > 0;
  });
}

core::Result<int64_t> SqliteLocalAuthStore::PruneStepUps(core::Clock::WallTime now) {
  return store_.WithDatabase([&](Database& db) {
    return db.Execute("DELETE FROM local_step_ups WHERE expires_at <= ?1", Ms(now));
  });
}

}  // namespace opsgate::store
