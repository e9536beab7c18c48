// File: opsgate/store/identity_store.h
//
// Persistence for identity linking (issue 5): pending OpenID Connect logins, single-use
// link tokens, principals (enterprise identities) and the platform accounts linked to
// them. The OIDC protocol itself lives in identity/oidc/; this header only stores what
// it produces, so the store module stays free of crypto and JSON dependencies: every
// key that must not be stored in the clear (state, link token) arrives already hashed
// (SHA-256, 32 raw bytes) from the caller.
//
//   // `link` in chat:
//   store.PutLinkToken({.token_hash = sha256(token), .account = {"slack", "T1", "U1"},
//                       .created_at = now, .expires_at = now + 10min});
//   // /auth/login?t=<token>:
//   auto taken = store.TakeLinkToken(sha256(token), now);    // single use
//   store.PutLoginState(pending);                              // keyed by sha256(state)
//   // /auth/callback?state=...&code=...:
//   auto pending = store.TakeLoginState(sha256(state), now);  // single use
//   ... RelyingParty::CompleteLogin ...
//   store.Link(account, verified, now, link_ttl);
//   // every request:
//   auto found = store.Lookup({"slack", "T1", "U1"}, now);    // honours expiry
//
// Single use: TakeLoginState and TakeLinkToken read and delete in one transaction, so
// of two concurrent takes of the same key exactly one gets the record.
//
// Errors (every method): kUnavailable (store busy, I/O), kResourceExhausted (disk full),
// kDataLoss (corruption), kInvalidArgument (a hash that is not 32 bytes, empty account
// fields, oversized values). Callers fail closed.
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"

namespace opsgate::store {

// A login sent to the OpenID Provider and not yet come back (identity/oidc LoginState
// in stored form; identity/oidc/pending_login.h converts).
struct PendingLogin {
  // SHA-256 of `state` (32 raw bytes): the primary key.
  std::string state_hash;
  core::Secret state;
  core::Secret nonce;
  core::Secret code_verifier;
  std::string issuer;
  std::string redirect_uri;
  // Asked of the provider; empty/nullopt when not asked.
  std::optional<int64_t> max_age_seconds;
  std::vector<std::string> acr_values;
  std::string prompt;
  // Opaque to the store: what the login is for (e.g. the link's platform account).
  std::string context;
  core::Clock::WallTime created_at{};
  core::Clock::WallTime expires_at{};
};

// A platform account: (platform, workspace, user id), e.g. ("slack", "T0123", "U0456").
struct PlatformAccount {
  std::string platform;
  std::string workspace;
  std::string user_id;

  friend bool operator==(const PlatformAccount&, const PlatformAccount&) = default;
};

// A single-use link token handed out by `link` in chat.
struct LinkTokenRecord {
  // SHA-256 of the token (32 raw bytes); the token itself is never stored.
  std::string token_hash;
  PlatformAccount account;
  core::Clock::WallTime created_at{};
  core::Clock::WallTime expires_at{};
};

// An enterprise identity as verified by the OpenID Provider.
struct VerifiedPrincipal {
  std::string issuer;
  std::string subject;
  std::optional<std::string> email;
  std::vector<std::string> groups;
  // When this login showed MFA (the ID token's amr named a second factor): its auth_time,
  // or the time of the login. nullopt when the login did not show MFA.
  std::optional<core::Clock::WallTime> mfa_at{};
};

// A stored principal.
struct Principal {
  int64_t id = 0;
  std::string issuer;
  std::string subject;
  std::optional<std::string> email;
  std::vector<std::string> groups;
  core::Clock::WallTime linked_at{};
  // Last successful login at the provider; expires_at = last_verified_at + link TTL.
  core::Clock::WallTime last_verified_at{};
  core::Clock::WallTime expires_at{};
  // Last login whose ID token showed MFA; nullopt when none did. Only ever moves forward:
  // a later login without MFA (or with an older MFA time) leaves it as it was.
  std::optional<core::Clock::WallTime> mfa_at{};
};

struct LinkLookup {
  enum class State {
    kNotLinked,  // no link for this account (never linked, unlinked or revoked)
    kLinked,     // linked and verified recently enough
    kExpired,    // linked, but the principal's verification expired: log in again
  };
  State state = State::kNotLinked;
  // Set for kLinked and kExpired.
  std::optional<Principal> principal;
};

class LoginStateStore {
 public:
  virtual ~LoginStateStore() = default;

  // Stores a pending login. kAlreadyExists if its state_hash is taken (a random
  // 256-bit state never collides; treat as a bug).
  [[nodiscard]] virtual core::Status PutLoginState(const PendingLogin& login) = 0;

  // Reads and deletes the pending login with this state hash. nullopt when there is none
  // (never stored, already taken, or pruned). An expired login is still returned (and
  // deleted) so the caller can say precisely why it is refused; the relying party
  // refuses it (login_expired).
  [[nodiscard]] virtual core::Result<std::optional<PendingLogin>> TakeLoginState(
      std::string_view state_hash, core::Clock::WallTime now) = 0;

  // Deletes pending logins expired at `now`; returns how many.
  [[nodiscard]] virtual core::Result<int64_t> PruneLoginStates(core::Clock::WallTime now) = 0;
};

class IdentityStore {
 public:
  virtual ~IdentityStore() = default;

  // Stores a link token. kAlreadyExists if the hash is taken.
  [[nodiscard]] virtual core::Status PutLinkToken(const LinkTokenRecord& token) = 0;

  // Reads and deletes the token with this hash. nullopt when unknown, already used or
  // expired at `now` (an expired token is deleted too).
  [[nodiscard]] virtual core::Result<std::optional<LinkTokenRecord>> TakeLinkToken(
      std::string_view token_hash, core::Clock::WallTime now) = 0;

  // Records a successful login of `who` and links `account` to it, in one transaction:
  // creates or refreshes the principal (email, groups, last_verified_at = now,
  // expires_at = now + link_ttl; linked_at is kept; mfa_at = who.mfa_at when that is set
  // and later than the stored one, else kept) and points the account at it, replacing
  // any earlier link of that account. Returns the principal.
  [[nodiscard]] virtual core::Result<Principal> Link(const PlatformAccount& account,
                                                     const VerifiedPrincipal& who,
                                                     core::Clock::WallTime now,
                                                     std::chrono::seconds link_ttl) = 0;

  // Refreshes a principal after a re-verification login (step-up, periodic re-check)
  // without touching links; mfa_at as for Link. kNotFound when the principal does not
  // exist.
  [[nodiscard]] virtual core::Result<Principal> Reverify(const VerifiedPrincipal& who,
                                                         core::Clock::WallTime now,
                                                         std::chrono::seconds link_ttl) = 0;

  // Removes the account's link (the user's `unlink`). Returns whether there was one.
  // The principal stays (other accounts may link to it).
  [[nodiscard]] virtual core::Result<bool> Unlink(const PlatformAccount& account) = 0;

  // Admin revoke: deletes the principal and every link to it. Returns the number of
  // platform links removed; kNotFound when there is no such principal.
  [[nodiscard]] virtual core::Result<int64_t> Revoke(std::string_view issuer,
                                                     std::string_view subject) = 0;

  // The principal linked to `account`, honouring expiry at `now`.
  [[nodiscard]] virtual core::Result<LinkLookup> Lookup(const PlatformAccount& account,
                                                        core::Clock::WallTime now) = 0;

  // Every platform account linked to the principal (admin views).
  [[nodiscard]] virtual core::Result<std::vector<PlatformAccount>> LinksOf(
      std::string_view issuer, std::string_view subject) = 0;
};

}  // namespace opsgate::store
