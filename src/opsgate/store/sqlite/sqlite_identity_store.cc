#include "opsgate/store/sqlite/sqlite_identity_store.h"

#include "opsgate/core/strings.h"

namespace opsgate::store {
namespace {

using sqlite_internal::FromMs;
using sqlite_internal::Ms;

using sqlite_internal::Blob;
using sqlite_internal::Database;
using sqlite_internal::Statement;

core::Status CheckHash(std::string_view hash, std::string_view what) {
  if (hash.size() != 32) {
    return core::Fail(core::InvalidArgument(std::string(what) +
                                            " must be a 32-byte SHA-256 digest"));
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

core::Status CheckAccount(const PlatformAccount& a) {
  OPSGATE_RETURN_IF_ERROR(CheckField(a.platform, "platform", SqliteIdentityStore::kMaxFieldBytes));
  OPSGATE_RETURN_IF_ERROR(
      CheckField(a.workspace, "workspace", SqliteIdentityStore::kMaxFieldBytes));
  return CheckField(a.user_id, "user id", SqliteIdentityStore::kMaxFieldBytes);
}

core::Status CheckPrincipal(const VerifiedPrincipal& who) {
  OPSGATE_RETURN_IF_ERROR(CheckField(who.issuer, "issuer", SqliteIdentityStore::kMaxFieldBytes));
  OPSGATE_RETURN_IF_ERROR(
      CheckField(who.subject, "subject", SqliteIdentityStore::kMaxFieldBytes));
  if (who.email) {
    OPSGATE_RETURN_IF_ERROR(
        CheckField(*who.email, "email", SqliteIdentityStore::kMaxFieldBytes, true));
  }
  if (who.groups.size() > SqliteIdentityStore::kMaxGroups) {
    return core::Fail(core::InvalidArgument("more than " +
                                            std::to_string(SqliteIdentityStore::kMaxGroups) +
                                            " groups"));
  }
  for (const std::string& g : who.groups) {
    OPSGATE_RETURN_IF_ERROR(CheckField(g, "group name", SqliteIdentityStore::kMaxFieldBytes));
  }
  return core::Ok();
}

std::string GroupsJson(const std::vector<std::string>& groups) {
  std::string out = "[";
  for (size_t i = 0; i < groups.size(); ++i) {
    out += i == 0 ? "\"" : ",\"";
    out += core::JsonEscape(groups[i]);
    out += '"';
  }
  out += ']';
  return out;
}

std::string JoinSpace(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values) {
    if (!out.empty()) {
      out += ' ';
    }
    out += v;
  }
  return out;
}

std::vector<std::string> SplitSpace(std::string_view s) {
  std::vector<std::string> out;
  for (std::string_view part : core::Split(s, ' ')) {
    if (!part.empty()) {
      out.emplace_back(part);
    }
  }
  return out;
}

// Runs `st` to completion after binding was done; resets it either way.
core::Result<std::vector<std::vector<std::string>>> Rows(Statement& st, int columns) {
  std::vector<std::vector<std::string>> rows;
  while (true) {
    auto row = st.Step();
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      break;
    }
    std::vector<std::string> r;
    for (int c = 0; c < columns; ++c) {
      r.push_back(st.ColumnText(c));
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

// Reads id, issuer, subject, email, linked_at, last_verified_at, expires_at, mfa_at_ms.
Principal ReadPrincipal(Statement& st, int first = 0) {
  Principal p;
  p.id = st.ColumnInt64(first);
  p.issuer = st.ColumnText(first + 1);
  p.subject = st.ColumnText(first + 2);
  if (!st.ColumnIsNull(first + 3)) {
    p.email = st.ColumnText(first + 3);
  }
  p.linked_at = FromMs(st.ColumnInt64(first + 4));
  p.last_verified_at = FromMs(st.ColumnInt64(first + 5));
  p.expires_at = FromMs(st.ColumnInt64(first + 6));
  if (!st.ColumnIsNull(first + 7)) {
    p.mfa_at = FromMs(st.ColumnInt64(first + 7));
  }
  return p;
}

core::Status LoadGroups(Database& db, Principal& p) {
  auto st = db.Query(
      "SELECT j.value FROM identity_principals p, json_each(p.groups_json) j "
      "WHERE p.id = ?1 ORDER BY j.key",
      p.id);
  if (!st) {
    return core::Fail(st.error());
  }
  auto rows = Rows(*st, 1);
  if (!rows) {
    return core::Fail(rows.error());
  }
  p.groups.clear();
  for (auto& r : *rows) {
    p.groups.push_back(std::move(r[0]));
  }
  return core::Ok();
}

core::Result<std::optional<Principal>> FindPrincipal(Database& db, std::string_view issuer,
                                                     std::string_view subject) {
  auto row = db.QueryRow(
      "SELECT id, issuer, subject, email, linked_at, last_verified_at, expires_at, "
      "mfa_at_ms FROM identity_principals WHERE issuer = ?1 AND subject = ?2",
      issuer, subject);
  if (!row) {
    return core::Fail(row.error());
  }
  if (!*row) {
    return std::optional<Principal>();
  }
  Principal p = ReadPrincipal(**row);
  OPSGATE_RETURN_IF_ERROR((*row)->Reset());
  OPSGATE_RETURN_IF_ERROR(LoadGroups(db, p));
  return std::optional<Principal>(std::move(p));
}

// Creates or refreshes the principal; `create` false makes a missing one kNotFound.
// mfa_at_ms only moves forward: a login without MFA (NULL) or with an older MFA time
// keeps the stored one.
core::Result<Principal> UpsertPrincipal(Database& db, const VerifiedPrincipal& who, int64_t now_ms,
                                        int64_t expires_ms, bool create) {
  const std::optional<int64_t> mfa_ms =
      who.mfa_at ? std::optional<int64_t>(Ms(*who.mfa_at)) : std::nullopt;
  auto changed = db.Execute(
      create ? "INSERT INTO identity_principals (issuer, subject, email, groups_json, linked_at, "
               "last_verified_at, expires_at, mfa_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7) "
               "ON CONFLICT (issuer, subject) DO UPDATE SET email = excluded.email, "
               "groups_json = excluded.groups_json, last_verified_at = excluded.last_verified_at, "
               "expires_at = excluded.expires_at, mfa_at_ms = CASE WHEN excluded.mfa_at_ms IS "
               "NOT NULL AND (identity_principals.mfa_at_ms IS NULL OR excluded.mfa_at_ms > "
               "identity_principals.mfa_at_ms) THEN excluded.mfa_at_ms ELSE "
               "identity_principals.mfa_at_ms END"
             : "UPDATE identity_principals SET email = ?3, groups_json = ?4, "
               "last_verified_at = ?5, expires_at = ?6, mfa_at_ms = CASE WHEN ?7 IS NOT NULL "
               "AND (mfa_at_ms IS NULL OR ?7 > mfa_at_ms) THEN ?7 ELSE mfa_at_ms END "
               "WHERE issuer = ?1 AND subject = ?2",
      who.issuer, who.subject, who.email, GroupsJson(who.groups), now_ms, expires_ms, mfa_ms);
  if (!changed) {
    return core::Fail(changed.error());
  }
  if (!create && *changed == 0) {
    return core::Fail(core::NotFound("no linked identity " + who.subject + " at " + who.issuer));
  }
  auto found = FindPrincipal(db, who.issuer, who.subject);
  if (!found) {
    return core::Fail(found.error());
  }
  if (!*found) {
    return core::Fail(core::Internal("principal vanished inside its own transaction"));
  }
  return std::move(**found);
}

int64_t TtlMs(std::chrono::seconds ttl) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             ttl < std::chrono::seconds(1) ? std::chrono::seconds(1) : ttl)
      .count();
}

}  // namespace

core::Status SqliteIdentityStore::PutLoginState(const PendingLogin& login) {
  OPSGATE_RETURN_IF_ERROR(CheckHash(login.state_hash, "state hash"));
  OPSGATE_RETURN_IF_ERROR(CheckField(login.issuer, "issuer", kMaxFieldBytes));
  OPSGATE_RETURN_IF_ERROR(CheckField(login.redirect_uri, "redirect_uri", kMaxFieldBytes));
  OPSGATE_RETURN_IF_ERROR(CheckField(login.context, "login context", kMaxContextBytes, true));
  OPSGATE_RETURN_IF_ERROR(CheckField(login.state.Reveal(), "state", kMaxFieldBytes));
  OPSGATE_RETURN_IF_ERROR(CheckField(login.nonce.Reveal(), "nonce", kMaxFieldBytes));
  OPSGATE_RETURN_IF_ERROR(
      CheckField(login.code_verifier.Reveal(), "code_verifier", kMaxFieldBytes));
  return store_.WithDatabase([&](Database& db) -> core::Status {
    return db.Run(
        "INSERT INTO oidc_pending_logins (state_hash, state, nonce, code_verifier, issuer, "
        "redirect_uri, max_age, acr_values, prompt, context, created_at, expires_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        Blob{login.state_hash}, login.state.Reveal(), login.nonce.Reveal(),
        login.code_verifier.Reveal(), login.issuer, login.redirect_uri, login.max_age_seconds,
        JoinSpace(login.acr_values), login.prompt, login.context, Ms(login.created_at),
        Ms(login.expires_at));
  });
}

core::Result<std::optional<PendingLogin>> SqliteIdentityStore::TakeLoginState(
    std::string_view state_hash, core::Clock::WallTime) {
  OPSGATE_RETURN_IF_ERROR(CheckHash(state_hash, "state hash"));
  return store_.WithDatabase([&](Database& db) -> core::Result<std::optional<PendingLogin>> {
    // One statement: of two concurrent takes exactly one sees the row.
    auto row = db.QueryRow(
        "DELETE FROM oidc_pending_logins WHERE state_hash = ?1 RETURNING state, nonce, "
        "code_verifier, issuer, redirect_uri, max_age, acr_values, prompt, context, "
        "created_at, expires_at",
        Blob{state_hash});
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return std::optional<PendingLogin>();
    }
    Statement& st = **row;
    PendingLogin p;
    p.state_hash = std::string(state_hash);
    p.state = core::Secret(st.ColumnText(0));
    p.nonce = core::Secret(st.ColumnText(1));
    p.code_verifier = core::Secret(st.ColumnText(2));
    p.issuer = st.ColumnText(3);
    p.redirect_uri = st.ColumnText(4);
    if (!st.ColumnIsNull(5)) {
      p.max_age_seconds = st.ColumnInt64(5);
    }
    p.acr_values = SplitSpace(st.ColumnText(6));
    p.prompt = st.ColumnText(7);
    p.context = st.ColumnText(8);
    p.created_at = FromMs(st.ColumnInt64(9));
    p.expires_at = FromMs(st.ColumnInt64(10));
    // Finish the statement so the delete is complete before the lock is released.
    auto done = st.Step();
    if (!done) {
      return core::Fail(done.error());
    }
    return std::optional<PendingLogin>(std::move(p));
  });
}

core::Result<int64_t> SqliteIdentityStore::PruneLoginStates(core::Clock::WallTime now) {
  return store_.WithDatabase([&](Database& db) -> core::Result<int64_t> {
    return db.Execute("DELETE FROM oidc_pending_logins WHERE expires_at <= ?1", Ms(now));
  });
}

core::Status SqliteIdentityStore::PutLinkToken(const LinkTokenRecord& token) {
  OPSGATE_RETURN_IF_ERROR(CheckHash(token.token_hash, "link token hash"));
  OPSGATE_RETURN_IF_ERROR(CheckAccount(token.account));
  return store_.WithDatabase([&](Database& db) -> core::Status {
    return db.Run(
        "INSERT INTO identity_link_tokens (token_hash, platform, workspace, user_id, "
        "created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        Blob{token.token_hash}, token.account.platform, token.account.workspace,
        token.account.user_id, Ms(token.created_at), Ms(token.expires_at));
  });
}

core::Result<std::optional<LinkTokenRecord>> SqliteIdentityStore::TakeLinkToken(
    std::string_view token_hash, core::Clock::WallTime now) {
  OPSGATE_RETURN_IF_ERROR(CheckHash(token_hash, "link token hash"));
  return store_.WithDatabase([&](Database& db) -> core::Result<std::optional<LinkTokenRecord>> {
    auto row = db.QueryRow(
        "DELETE FROM identity_link_tokens WHERE token_hash = ?1 "
        "RETURNING platform, workspace, user_id, created_at, expires_at",
        Blob{token_hash});
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return std::optional<LinkTokenRecord>();
    }
    Statement& st = **row;
    LinkTokenRecord t;
    t.token_hash = std::string(token_hash);
    t.account = {st.ColumnText(0), st.ColumnText(1), st.ColumnText(2)};
    t.created_at = FromMs(st.ColumnInt64(3));
    t.expires_at = FromMs(st.ColumnInt64(4));
    auto done = st.Step();
    if (!done) {
      return core::Fail(done.error());
    }
    if (Ms(t.expires_at) <= Ms(now)) {
      return std::optional<LinkTokenRecord>();  // expired: deleted, never honoured
    }
    return std::optional<LinkTokenRecord>(std::move(t));
  });
}

core::Result<Principal> SqliteIdentityStore::Link(const PlatformAccount& account,
                                                  const VerifiedPrincipal& who,
                                                  core::Clock::WallTime now,
                                                  std::chrono::seconds link_ttl) {
  OPSGATE_RETURN_IF_ERROR(CheckAccount(account));
  OPSGATE_RETURN_IF_ERROR(CheckPrincipal(who));
  const int64_t now_ms = Ms(now);
  return store_.WithDatabase([&](Database& db) -> core::Result<Principal> {
    auto tx = db.BeginImmediate();
    if (!tx) {
      return core::Fail(tx.error());
    }
    auto p = UpsertPrincipal(db, who, now_ms, now_ms + TtlMs(link_ttl), /*create=*/true);
    if (!p) {
      return core::Fail(p.error());
    }
    OPSGATE_RETURN_IF_ERROR(
        db.Run("INSERT INTO identity_platform_links (platform, workspace, user_id, principal_id, "
               "linked_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (platform, workspace, user_id) "
               "DO UPDATE SET principal_id = excluded.principal_id, linked_at = excluded.linked_at",
               account.platform, account.workspace, account.user_id, p->id, now_ms));
    OPSGATE_RETURN_IF_ERROR(tx->Commit());
    return p;
  });
}

core::Result<Principal> SqliteIdentityStore::Reverify(const VerifiedPrincipal& who,
                                                      core::Clock::WallTime now,
                                                      std::chrono::seconds link_ttl) {
  OPSGATE_RETURN_IF_ERROR(CheckPrincipal(who));
  const int64_t now_ms = Ms(now);
  return store_.WithDatabase([&](Database& db) -> core::Result<Principal> {
    auto tx = db.BeginImmediate();
    if (!tx) {
      return core::Fail(tx.error());
    }
    auto p = UpsertPrincipal(db, who, now_ms, now_ms + TtlMs(link_ttl), /*create=*/false);
    if (!p) {
      return core::Fail(p.error());
    }
    OPSGATE_RETURN_IF_ERROR(tx->Commit());
    return p;
  });
}

core::Result<bool> SqliteIdentityStore::Unlink(const PlatformAccount& account) {
  OPSGATE_RETURN_IF_ERROR(CheckAccount(account));
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    auto changed = db.Execute(
        "DELETE FROM identity_platform_links WHERE platform = ?1 AND workspace = ?2 AND "
        "user_id = ?3",
        account.platform, account.workspace, account.user_id);
    if (!changed) {
      return core::Fail(changed.error());
    }
    return *changed > 0;
  });
}

core::Result<int64_t> SqliteIdentityStore::Revoke(std::string_view issuer,
                                                  std::string_view subject) {
  return store_.WithDatabase([&](Database& db) -> core::Result<int64_t> {
    auto tx = db.BeginImmediate();
    if (!tx) {
      return core::Fail(tx.error());
    }
    auto found = FindPrincipal(db, issuer, subject);
    if (!found) {
      return core::Fail(found.error());
    }
    if (!*found) {
      return core::Fail(core::NotFound("no linked identity " + std::string(subject) + " at " +
                                       std::string(issuer)));
    }
    auto links =
        db.Execute("DELETE FROM identity_platform_links WHERE principal_id = ?1", (*found)->id);
    if (!links) {
      return core::Fail(links.error());
    }
    OPSGATE_RETURN_IF_ERROR(db.Run("DELETE FROM identity_principals WHERE id = ?1", (*found)->id));
    OPSGATE_RETURN_IF_ERROR(tx->Commit());
    return *links;
  });
}

core::Result<LinkLookup> SqliteIdentityStore::Lookup(const PlatformAccount& account,
                                                     core::Clock::WallTime now) {
  OPSGATE_RETURN_IF_ERROR(CheckAccount(account));
  return store_.WithDatabase([&](Database& db) -> core::Result<LinkLookup> {
    auto row = db.QueryRow(
        "SELECT p.id, p.issuer, p.subject, p.email, p.linked_at, p.last_verified_at, "
        "p.expires_at, p.mfa_at_ms FROM identity_platform_links l JOIN identity_principals p "
        "ON p.id = l.principal_id WHERE l.platform = ?1 AND l.workspace = ?2 AND "
        "l.user_id = ?3",
        account.platform, account.workspace, account.user_id);
    if (!row) {
      return core::Fail(row.error());
    }
    LinkLookup out;
    if (!*row) {
      return out;
    }
    Principal p = ReadPrincipal(**row);
    OPSGATE_RETURN_IF_ERROR((*row)->Reset());
    OPSGATE_RETURN_IF_ERROR(LoadGroups(db, p));
    out.state = Ms(p.expires_at) <= Ms(now) ? LinkLookup::State::kExpired
                                            : LinkLookup::State::kLinked;
    out.principal = std::move(p);
    return out;
  });
}

core::Result<std::vector<PlatformAccount>> SqliteIdentityStore::LinksOf(std::string_view issuer,
                                                                        std::string_view subject) {
  return store_.WithDatabase([&](Database& db) -> core::Result<std::vector<PlatformAccount>> {
    auto st = db.Query(
        "SELECT l.platform, l.workspace, l.user_id FROM identity_platform_links l "
        "JOIN identity_principals p ON p.id = l.principal_id "
        "WHERE p.issuer = ?1 AND p.subject = ?2 ORDER BY 1, 2, 3",
        issuer, subject);
    if (!st) {
      return core::Fail(st.error());
    }
    auto rows = Rows(*st, 3);
    if (!rows) {
      return core::Fail(rows.error());
    }
    std::vector<PlatformAccount> out;
    for (auto& r : *rows) {
      out.push_back({std::move(r[0]), std::move(r[1]), std::move(r[2])});
    }
    return out;
  });
}

core::Result<int64_t> SqliteIdentityStore::PruneLinkTokens(core::Clock::WallTime now) {
  return store_.WithDatabase([&](Database& db) -> core::Result<int64_t> {
    return db.Execute("DELETE FROM identity_link_tokens WHERE expires_at <= ?1", Ms(now));
  });
}

}  // namespace opsgate::store
