// File: opsgate/store/sqlite/sqlite_identity_store.h
//
// LoginStateStore and IdentityStore (identity_store.h) on the SqliteStore's database,
// schema migrations 5 and 8:
//   oidc_pending_logins      state_hash -> pending login (nonce, PKCE verifier, ...)
//   identity_link_tokens     token_hash -> platform account, expiry
//   identity_principals      (issuer, subject) -> email, groups (JSON array), linked_at,
//                            last_verified_at, expires_at, mfa_at_ms (migration 8; NULL
//                            until a login shows MFA, then only moves forward)
//   identity_platform_links  (platform, workspace, user_id) -> principal (ON DELETE CASCADE)
// Times are Unix milliseconds. Takes are DELETE ... RETURNING inside one statement, so
// they are atomic without an explicit transaction; Link and Revoke use BEGIN IMMEDIATE.
// Groups are encoded with core::JsonEscape and decoded with SQLite's json_each, so the
// store needs no JSON library.
//
// Ownership: borrows the store, which must outlive this object.
// Thread-safety: safe from any thread (all work runs inside SqliteStore::WithDatabase).
#pragma once

#include "opsgate/store/identity_store.h"
#include "opsgate/store/sqlite/sqlite_store.h"

namespace opsgate::store {

class SqliteIdentityStore final : public LoginStateStore, public IdentityStore {
 public:
  // Longest platform/workspace/user id, issuer/subject, email, context accepted.
  static constexpr size_t kMaxFieldBytes = 1024;
  static constexpr size_t kMaxContextBytes = 4096;
  static constexpr size_t kMaxGroups = 1000;

  explicit SqliteIdentityStore(SqliteStore& store) : store_(store) {}
  SqliteIdentityStore(const SqliteIdentityStore&) = delete;
  SqliteIdentityStore& operator=(const SqliteIdentityStore&) = delete;

  // LoginStateStore
  [[nodiscard]] core::Status PutLoginState(const PendingLogin& login) override;
  [[nodiscard]] core::Result<std::optional<PendingLogin>> TakeLoginState(
      std::string_view state_hash, core::Clock::WallTime now) override;
  [[nodiscard]] core::Result<int64_t> PruneLoginStates(core::Clock::WallTime now) override;

  // IdentityStore
  [[nodiscard]] core::Status PutLinkToken(const LinkTokenRecord& token) override;
  [[nodiscard]] core::Result<std::optional<LinkTokenRecord>> TakeLinkToken(
      std::string_view token_hash, core::Clock::WallTime now) override;
  [[nodiscard]] core::Result<Principal> Link(const PlatformAccount& account,
                                             const VerifiedPrincipal& who,
                                             core::Clock::WallTime now,
                                             std::chrono::seconds link_ttl) override;
  [[nodiscard]] core::Result<Principal> Reverify(const VerifiedPrincipal& who,
                                                 core::Clock::WallTime now,
                                                 std::chrono::seconds link_ttl) override;
  [[nodiscard]] core::Result<bool> Unlink(const PlatformAccount& account) override;
  [[nodiscard]] core::Result<int64_t> Revoke(std::string_view issuer,
                                             std::string_view subject) override;
  [[nodiscard]] core::Result<LinkLookup> Lookup(const PlatformAccount& account,
                                                core::Clock::WallTime now) override;
  [[nodiscard]] core::Result<std::vector<PlatformAccount>> LinksOf(
      std::string_view issuer, std::string_view subject) override;

  // Deletes expired link tokens; returns how many (maintenance).
  [[nodiscard]] core::Result<int64_t> PruneLinkTokens(core::Clock::WallTime now);

 private:
  SqliteStore& store_;
};

}  // namespace opsgate::store
