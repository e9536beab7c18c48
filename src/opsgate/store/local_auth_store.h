// File: opsgate/store/local_auth_store.h
//
// Persistence for local accounts of the built-in web chat and for MFA (issue 5, items 5
// and 6): accounts (scrypt password hash, sealed TOTP secret), browser sessions, the
// TOTP replay guard, single-use enrolment tokens, login-failure counters for throttling
// and step-up challenges. The policy (password hashing, TOTP checks, lockout arithmetic,
// expiries) lives in identity/local/local_auth.h; this header only stores what it
// produces. The store module stays free of crypto: every key that must not be stored in
// the clear (session token, enrolment token, step-up challenge id) arrives already hashed
// (SHA-256, 32 raw bytes), and the TOTP secret arrives sealed (crypto::FieldSealer bytes).
//
//   // enrolment: token made by the server, only its hash stored
//   store.PutEnrolmentToken({.token_hash = sha256(token), .purpose = "first-admin", ...});
//   auto account = store.EnrolAccount(sha256(token), new_account, now);  // single use
//   // login: throttling counters shared by every replica using the same database
//   auto stats = store.LoginFailures("user:alice", now - 15min);
//   ...
//   store.PutSession(session);                  // keyed by sha256(cookie token)
//   auto found = store.FindSession(sha256(cookie));
//
// Usernames reach the store already normalised (lowercase, validated by the caller).
// Single-use operations (EnrolAccount, MarkTotpStepUsed, ConsumeStepUp) are atomic: of two
// concurrent calls with the same key exactly one succeeds.
//
// Errors (every method): kUnavailable (store busy, I/O), kResourceExhausted (disk full),
// kDataLoss (corruption), kInvalidArgument (a hash that is not 32 bytes, empty or
// oversized fields). Callers fail closed.
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"

namespace opsgate::store {

// A local account (single-machine deployments without an OpenID Provider).
struct LocalAccount {
  // Normalised: lowercase, 3..64 of [a-z0-9._-]. Primary key.
  std::string username;
  // PHC string "$scrypt$ln=..,r=..,p=..$<salt>$<hash>" (identity/local/password.h).
  std::string password_hash;
  // The TOTP secret sealed by crypto::FieldSealer with aad "opsgate-totp-v1:<username>";
  // empty when none was issued.
  std::string totp_secret_sealed;
  // True once the user proved, with a code, that the authenticator holds the secret.
  bool totp_confirmed = false;
  bool is_admin = false;
  bool disabled = false;
  core::Clock::WallTime created_at{};
  core::Clock::WallTime password_changed_at{};
};

// A single-use enrolment link ("first-admin" printed by the server, "invite" made by an
// admin).
struct EnrolmentToken {
  // SHA-256 of the token (32 raw bytes); the token itself is never stored.
  std::string token_hash;
  // "first-admin" or "invite" (free text to the store, 1..32 bytes).
  std::string purpose;
  // Whether the account enrolled with it is an administrator.
  bool is_admin = false;
  core::Clock::WallTime created_at{};
  core::Clock::WallTime expires_at{};
};

// A browser session of the web chat.
struct LocalSession {
  // SHA-256 of the cookie token (32 raw bytes): the primary key.
  std::string token_hash;
  // Exactly one of: a local username, or an OIDC principal (issuer + subject).
  std::string username;
  std::string oidc_issuer;
  std::string oidc_subject;
  // The per-session anti-CSRF token (random, base64url). Stored as is: it is worthless
  // without the session cookie, and the page renderer needs it on every request.
  core::Secret csrf_token;
  core::Clock::WallTime created_at{};
  core::Clock::WallTime last_seen_at{};
  // The session ends idle_timeout after last_seen_at, or at absolute_expires_at,
  // whichever comes first.
  std::chrono::seconds idle_timeout{0};
  core::Clock::WallTime absolute_expires_at{};
  // When the user last proved a second factor in this session (login with TOTP).
  std::optional<core::Clock::WallTime> mfa_verified_at;
};

// Failures recorded under one throttle key inside a window.
struct FailureStats {
  int64_t count = 0;
  // Oldest and newest failure inside the window; epoch when count == 0.
  core::Clock::WallTime oldest{};
  core::Clock::WallTime newest{};
};

// A step-up challenge: one privileged pending request, authorised by one fresh second
// factor, once.
struct StepUpRecord {
  // SHA-256 of the challenge id handed to the browser (32 raw bytes).
  std::string challenge_hash;
  // Who must complete it (a local username, or the session's principal key).
  std::string principal;
  // Lowercase hex SHA-256 of the exact pending request's canonical bytes (64 chars).
  std::string request_hash;
  core::Clock::WallTime created_at{};
  core::Clock::WallTime expires_at{};
  std::optional<core::Clock::WallTime> satisfied_at;
};

class LocalAuthStore {
 public:
  virtual ~LocalAuthStore() = default;

  // ---- accounts

  // Creates an account. kAlreadyExists if the username is taken.
  [[nodiscard]] virtual core::Status CreateAccount(const LocalAccount& account) = 0;

  // nullopt when there is no such account.
  [[nodiscard]] virtual core::Result<std::optional<LocalAccount>> GetAccount(
      std::string_view username) = 0;

  // Marks the TOTP secret confirmed. kNotFound when there is no such account.
  [[nodiscard]] virtual core::Status SetTotpConfirmed(std::string_view username) = 0;

  // Replaces the password hash and sets password_changed_at. kNotFound as above.
  [[nodiscard]] virtual core::Status SetPasswordHash(std::string_view username,
                                                     std::string_view password_hash,
                                                     core::Clock::WallTime now) = 0;

  // Replaces the sealed TOTP secret and clears totp_confirmed (re-enrolment of the second
  // factor). kNotFound as above.
  [[nodiscard]] virtual core::Status SetTotpSecret(std::string_view username,
                                                   std::string_view sealed) = 0;

  // Enables or disables an account. kNotFound as above.
  [[nodiscard]] virtual core::Status SetDisabled(std::string_view username, bool disabled) = 0;

  // Deletes an account with its sessions. Returns whether it existed.
  [[nodiscard]] virtual core::Result<bool> DeleteAccount(std::string_view username) = 0;

  // Whether an enabled administrator with a confirmed second factor exists (the server
  // prints a first-admin enrolment link only while there is none).
  [[nodiscard]] virtual core::Result<bool> HasUsableAdmin() = 0;

  // ---- enrolment tokens

  // Stores an enrolment token. kAlreadyExists if the hash is taken.
  [[nodiscard]] virtual core::Status PutEnrolmentToken(const EnrolmentToken& token) = 0;

  // In one transaction: takes (deletes) the token with this hash and creates `account`
  // with is_admin taken from the token; returns the account as created. An existing
  // account whose second factor was never confirmed is replaced (an abandoned
  // enrolment); a confirmed one is kAlreadyExists and the token stays usable.
  // Errors: kNotFound "enrolment token unknown, used or expired" (an expired token is
  // deleted), kAlreadyExists.
  [[nodiscard]] virtual core::Result<LocalAccount> EnrolAccount(std::string_view token_hash,
                                                                const LocalAccount& account,
                                                                core::Clock::WallTime now) = 0;

  // ---- sessions

  // Stores a new session. kAlreadyExists if the hash is taken.
  [[nodiscard]] virtual core::Status PutSession(const LocalSession& session) = 0;

  // The session with this token hash, expired or not; nullopt when unknown.
  [[nodiscard]] virtual core::Result<std::optional<LocalSession>> FindSession(
      std::string_view token_hash) = 0;

  // Sets last_seen_at = now if it is older than now - min_interval (rate-limits writes
  // on busy sessions). Returns whether it wrote.
  [[nodiscard]] virtual core::Result<bool> TouchSession(std::string_view token_hash,
                                                        core::Clock::WallTime now,
                                                        std::chrono::seconds min_interval) = 0;

  // Records a second factor proved in this session. kNotFound when unknown.
  [[nodiscard]] virtual core::Status SetSessionMfaVerified(std::string_view token_hash,
                                                           core::Clock::WallTime now) = 0;

  // Deletes one session; returns whether it existed.
  [[nodiscard]] virtual core::Result<bool> DeleteSession(std::string_view token_hash) = 0;

  // Deletes every session of a local user; returns how many.
  [[nodiscard]] virtual core::Result<int64_t> DeleteSessionsOf(std::string_view username) = 0;

  // Deletes sessions past their idle or absolute expiry at `now`; returns how many.
  [[nodiscard]] virtual core::Result<int64_t> PruneSessions(core::Clock::WallTime now) = 0;

  // ---- TOTP replay guard

  // Accepts time step `step` for `account` iff no step >= `step` was accepted for it
  // before (unique (account, step), and monotonic so that an older code still inside
  // the ±1 window is refused after a newer one). Returns false when refused. Rows used
  // before `prune_before` are deleted in the same transaction.
  [[nodiscard]] virtual core::Result<bool> MarkTotpStepUsed(
      std::string_view account, int64_t step, core::Clock::WallTime now,
      core::Clock::WallTime prune_before) = 0;

  // ---- login throttling

  // Records one failed attempt under `key` ("user:<name>", "ip:<address>") at `now`.
  [[nodiscard]] virtual core::Status RecordLoginFailure(std::string_view key,
                                                        core::Clock::WallTime now) = 0;

  // Failures under `key` at or after `since`.
  [[nodiscard]] virtual core::Result<FailureStats> LoginFailures(
      std::string_view key, core::Clock::WallTime since) = 0;

  // Forgets every failure under `key` (a successful login resets the username counter).
  [[nodiscard]] virtual core::Status ClearLoginFailures(std::string_view key) = 0;

  // Deletes failures before `before`; returns how many.
  [[nodiscard]] virtual core::Result<int64_t> PruneLoginFailures(core::Clock::WallTime before) = 0;

  // ---- step-ups

  // Stores a new challenge. kAlreadyExists if the hash is taken.
  [[nodiscard]] virtual core::Status PutStepUp(const StepUpRecord& record) = 0;

  // The challenge with this hash (expired or not); nullopt when unknown or consumed.
  [[nodiscard]] virtual core::Result<std::optional<StepUpRecord>> FindStepUp(
      std::string_view challenge_hash) = 0;

  // Sets satisfied_at = now on the challenge iff it belongs to `principal`, is not
  // expired at `now` and not yet satisfied. Returns whether it did.
  [[nodiscard]] virtual core::Result<bool> SatisfyStepUp(std::string_view challenge_hash,
                                                         std::string_view principal,
                                                         core::Clock::WallTime now) = 0;

  // Whether a satisfied, unexpired challenge of `principal` for `request_hash` exists.
  [[nodiscard]] virtual core::Result<bool> HasSatisfiedStepUp(std::string_view principal,
                                                              std::string_view request_hash,
                                                              core::Clock::WallTime now) = 0;

  // Deletes one satisfied, unexpired challenge of `principal` for `request_hash`;
  // returns whether there was one (one step-up authorises one request).
  [[nodiscard]] virtual core::Result<bool> ConsumeStepUp(std::string_view principal,
                                                         std::string_view request_hash,
                                                         core::Clock::WallTime now) = 0;

  // Deletes challenges expired at `now`; returns how many.
  [[nodiscard]] virtual core::Result<int64_t> PruneStepUps(core::Clock::WallTime now) = 0;
};

}  // namespace opsgate::store
