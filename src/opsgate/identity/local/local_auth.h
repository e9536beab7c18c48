// File: opsgate/identity/local/local_auth.h
//
// Local accounts, browser sessions and MFA for the built-in web chat (issue 5, items 5
// and 6), for single-machine deployments without an OpenID Provider, and TOTP step-ups
// bound to one pending request. The HTTP layer (cookies, forms, routes) sits on top:
//
//   // server start: print a first-admin link while no usable admin exists
//   if (!*auth.HasAnyAdmin()) {
//     auto t = auth.CreateEnrolmentToken(/*is_admin=*/true, 24h, "first-admin");
//     print base_url + "/enrol?t=" + t->Reveal();
//   }
//   // POST /enrol: show provisioning->qr_svg, then POST /enrol/confirm with a code
//   auto e = auth.Enrol(token, username, password);
//   auth.ConfirmTotp(e->username, code);
//   // POST /login
//   auto out = auth.Login(username, password, totp_code, remote_ip);   // Result<LoginOutcome>
//   if (auto* s = std::get_if<Session>(&*out)) { Set-Cookie: og_session=s->token ... }
//   else { refuse with LoginRefusalName(std::get<LoginRefused>(*out).reason) }
//   // every request
//   auto info = auth.ValidateSession(cookie);
//   if (state-changing && !LocalAuthenticator::CheckCsrf(*info, form_csrf)) -> 403
//   // a privileged request waiting for a second factor
//   auto ch = auth.BeginStepUp(info->Principal(), canonical_request_bytes);
//   auth.CompleteStepUp(ch->challenge_id, info->Principal(), code);
//   if (*auth.ConsumeStepUp(info->Principal(), canonical_request_bytes)) run it once;
//
// Secrets: session tokens, CSRF tokens, enrolment tokens, step-up challenge ids and TOTP
// secrets leave this class only as core::Secret. The store holds SHA-256 digests of the
// tokens (the CSRF token excepted: worthless without the cookie) and TOTP secrets sealed
// by the FieldSealer with aad "opsgate-totp-v1:<username>".
//
// Refusals of a login are values (LoginRefused, with a stable snake_case reason) rather
// than errors; a core::Error from any method means the store or crypto failed, and the
// caller must fail closed. Error messages of the other methods start with a stable
// reason ("session_expired: ...").
//
// Ownership: borrows the store, sealer and clock, which must outlive this object.
// Thread-safety: safe to use from any thread; the single-use guarantees (TOTP codes,
// enrolment tokens, step-ups) hold across threads and across replicas sharing the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"
#include "opsgate/crypto/key_provider.h"
#include "opsgate/identity/local/password.h"
#include "opsgate/identity/totp.h"
#include "opsgate/store/local_auth_store.h"

namespace opsgate::identity::local {

// Knobs, with the defaults the gateway uses. Config (web_chat.local_accounts) may
// override them; the HTTP layer reads session lifetimes from here for cookie Max-Age.
struct LocalAuthOptions {
  // Password hashing; default ln=14, r=8, p=1 (~65 ms, 16 MiB).
  ScryptParams scrypt{};
  // Issuer shown by authenticator apps (otpauth URI), no ':'.
  std::string totp_issuer = "opsgate";
  // SHA-1, 6 digits, 30 s: what every authenticator app supports.
  TotpParams totp{};
  // Steps accepted either side of now (±1 = ±30 s of clock skew).
  int totp_window = 1;
  // Sessions end after this long without a request...
  std::chrono::seconds session_idle{std::chrono::minutes(30)};
  // ...and this long after login, whatever the activity.
  std::chrono::seconds session_absolute{std::chrono::hours(12)};
  // last_seen_at is written at most this often per session (idle expiry is precise to
  // within this).
  std::chrono::seconds session_touch_interval{std::chrono::seconds(60)};
  // Per-username throttling: this many failures inside the window lock the username for
  // lockout_base, doubling with each further failure, capped at lockout_max.
  int user_failures_before_lockout = 5;
  std::chrono::seconds user_failure_window{std::chrono::minutes(15)};
  std::chrono::seconds lockout_base{std::chrono::minutes(1)};
  std::chrono::seconds lockout_max{std::chrono::minutes(15)};
  // Per-IP throttling: this many failures inside the window refuse the address until
  // the oldest of them leaves the window.
  int ip_failures_limit = 20;
  std::chrono::seconds ip_failure_window{std::chrono::minutes(15)};
  // A step-up challenge must be completed and consumed within this.
  std::chrono::seconds step_up_ttl{std::chrono::minutes(5)};
};

// Lowercases `username` (ASCII) and checks it: 3..64 characters of [a-z0-9._-].
// Errors: kInvalidArgument "invalid_username: ...".
[[nodiscard]] core::Result<std::string> NormaliseUsername(std::string_view username);

// What an authenticator app needs; show once, at enrolment, and never log.
struct TotpProvisioning {
  // otpauth://totp/<issuer>:<username>?secret=...
  core::Secret otpauth_uri;
  // The same secret in base32, for typing in by hand.
  core::Secret base32_secret;
  // The otpauth URI as a QR code: a self-contained SVG document (qr_svg.h). It encodes
  // the secret: serve it with Cache-Control: no-store.
  std::string qr_svg;
};

struct Enrolment {
  std::string username;  // normalised
  bool is_admin = false;
  TotpProvisioning totp;
};

// A new browser session.
struct Session {
  // The cookie value (base64url of 32 random bytes). Set it Secure, HttpOnly,
  // SameSite=Strict, Path=/, Max-Age = options.session_absolute.
  core::Secret token;
  // The anti-CSRF token to embed in forms / send as a header.
  core::Secret csrf_token;
  std::string username;  // empty for OIDC sessions
  core::Clock::WallTime idle_expires_at{};
  core::Clock::WallTime absolute_expires_at{};
};

enum class LoginRefusal {
  kBadCredentials,       // "bad_credentials": unknown user or wrong password (one message)
  kThrottled,            // "throttled": too many failures; see retry_after
  kTotpRequired,         // "totp_required": password right, code missing
  kTotpInvalid,          // "totp_invalid": the code matches no step in ±window
  kTotpReused,           // "totp_reused": the code (or a newer one) was used already
  kAccountDisabled,      // "account_disabled": password right, account disabled
  kEnrolmentIncomplete,  // "enrolment_incomplete": the second factor was never confirmed
};

// Stable snake_case name for responses, logs and metrics.
std::string_view LoginRefusalName(LoginRefusal reason);

struct LoginRefused {
  LoginRefusal reason = LoginRefusal::kBadCredentials;
  // For kThrottled: when to try again (Retry-After); zero otherwise.
  std::chrono::seconds retry_after{0};
};

using LoginOutcome = std::variant<Session, LoginRefused>;

// A validated session.
struct SessionInfo {
  std::string username;  // local sessions
  std::string oidc_issuer;
  std::string oidc_subject;
  bool is_admin = false;  // local accounts only; OIDC sessions get roles elsewhere
  core::Secret csrf_token;
  core::Clock::WallTime created_at{};
  core::Clock::WallTime last_seen_at{};
  core::Clock::WallTime idle_expires_at{};
  core::Clock::WallTime absolute_expires_at{};
  std::optional<core::Clock::WallTime> mfa_verified_at;

  // The key step-ups are bound to: the username for local sessions,
  // "oidc:" + issuer + "#" + subject otherwise (usernames cannot contain ':').
  std::string Principal() const;
};

struct StepUpChallenge {
  // Hand to the browser (form field / URL); only its SHA-256 is stored.
  core::Secret challenge_id;
  core::Clock::WallTime expires_at{};
};

// TotpReplayGuard (identity/totp.h) backed by the store: shared by every replica and
// kept across restarts. Rows are pruned 10 minutes after use (well past the ±1 window).
class StoreTotpReplayGuard final : public TotpReplayGuard {
 public:
  StoreTotpReplayGuard(store::LocalAuthStore& store, const core::Clock& clock)
      : store_(store), clock_(clock) {}
  core::Status MarkUsed(std::string_view user, int64_t step) override;

 private:
  store::LocalAuthStore& store_;
  const core::Clock& clock_;
};

class LocalAuthenticator {
 public:
  LocalAuthenticator(store::LocalAuthStore& store, crypto::FieldSealer& sealer,
                     const core::Clock& clock, LocalAuthOptions options = {});
  LocalAuthenticator(const LocalAuthenticator&) = delete;
  LocalAuthenticator& operator=(const LocalAuthenticator&) = delete;

  const LocalAuthOptions& options() const { return options_; }

  // ---- enrolment

  // Whether an enabled admin with a confirmed second factor exists.
  [[nodiscard]] core::Result<bool> HasAnyAdmin();

  // A single-use enrolment token valid for `ttl` (1 minute .. 7 days); only its hash is
  // stored. `purpose` is "first-admin" or "invite".
  // Errors: kInvalidArgument for a bad ttl or purpose.
  [[nodiscard]] core::Result<core::Secret> CreateEnrolmentToken(
      bool is_admin, std::chrono::seconds ttl, std::string_view purpose = "invite");

  // Creates the account (consuming the token) with a fresh TOTP secret, unconfirmed until
  // ConfirmTotp. Username and password are checked before the token is touched, so a
  // policy refusal leaves the token usable.
  // Errors: kInvalidArgument "invalid_username: ..." / "password_policy: ...";
  // kNotFound "enrolment_token_invalid: ..." (unknown, used or expired);
  // kAlreadyExists "username_taken: ..." (the token stays usable).
  [[nodiscard]] core::Result<Enrolment> Enrol(const core::Secret& token, std::string_view username,
                                              const core::Secret& password);

  // Confirms the second factor with a code from the authenticator (each code once).
  // Already confirmed: verifies the code and succeeds (idempotent).
  // Errors: kUnauthenticated "totp_invalid: ..." (also for an unknown user) or
  // "totp_reused: ..."; kResourceExhausted "throttled: retry after N s".
  [[nodiscard]] core::Status ConfirmTotp(std::string_view username, std::string_view code);

  // ---- login and sessions

  // Checks, in this order: throttling (ip, username), password (unknown users are checked
  // against a dummy hash so timing does not tell), disabled, enrolment complete, TOTP code
  // present, valid, unused. Every refusal but kThrottled counts as a failure for the
  // username and the IP; success clears the username's failures and rehashes the
  // password if the scrypt parameters changed. `remote_ip` may be empty (no IP limit).
  [[nodiscard]] core::Result<LoginOutcome> Login(std::string_view username,
                                                 const core::Secret& password,
                                                 std::string_view totp_code,
                                                 std::string_view remote_ip);

  // A session for a principal verified by the OpenID Provider (identity/oidc).
  [[nodiscard]] core::Result<Session> CreateOidcSession(std::string_view issuer,
                                                        std::string_view subject,
                                                        bool mfa_verified);

  // Looks up the session of a cookie value and refreshes its idle expiry.
  // Errors: kUnauthenticated "session_unknown: ..." (malformed, unknown or logged out),
  // "session_expired: ..." (idle or absolute expiry; the row is deleted),
  // "account_disabled: ..." (the local account was disabled or deleted).
  [[nodiscard]] core::Result<SessionInfo> ValidateSession(const core::Secret& token);

  // Ends the session of this cookie value (no error if there was none).
  [[nodiscard]] core::Status Logout(const core::Secret& token);

  // Ends every session of a local user (password change, disable); returns how many.
  [[nodiscard]] core::Result<int64_t> RevokeAllFor(std::string_view username);

  // Disables (or re-enables) a local account; disabling ends its sessions.
  [[nodiscard]] core::Status SetAccountDisabled(std::string_view username, bool disabled);

  // Constant-time comparison of the presented CSRF token with the session's.
  // False for an empty presented token.
  static bool CheckCsrf(const SessionInfo& session, std::string_view presented);

  // ---- step-up

  // Opens a challenge binding `principal` to SHA-256(request_bytes), the canonical bytes
  // of exactly the pending request; it expires after options.step_up_ttl.
  [[nodiscard]] core::Result<StepUpChallenge> BeginStepUp(std::string_view principal,
                                                          std::string_view request_bytes);

  // Completes a challenge with a TOTP code of the local account `principal`.
  // Errors: kUnauthenticated "step_up_unknown: ..." (unknown, consumed, or not this
  // principal's), "step_up_expired: ...", "totp_invalid: ...", "totp_reused: ...";
  // kFailedPrecondition "enrolment_incomplete: ..." (no confirmed TOTP);
  // kResourceExhausted "throttled: ...".
  [[nodiscard]] core::Status CompleteStepUp(const core::Secret& challenge_id,
                                            std::string_view principal,
                                            std::string_view totp_code);

  // Marks a challenge satisfied after the caller verified a fresh second factor by
  // other means (an OIDC re-login with max_age=0 and an MFA acr/amr). Errors as
  // CompleteStepUp's step_up_* ones.
  [[nodiscard]] core::Status SatisfyStepUpExternally(const core::Secret& challenge_id,
                                                     std::string_view principal);

  // Whether a completed, unexpired step-up of `principal` covers exactly these bytes.
  [[nodiscard]] core::Result<bool> IsStepUpSatisfied(std::string_view principal,
                                                     std::string_view request_bytes);

  // Uses up one completed step-up for exactly these bytes; true at most once per
  // completed challenge. Call it right before executing the request.
  [[nodiscard]] core::Result<bool> ConsumeStepUp(std::string_view principal,
                                                 std::string_view request_bytes);

  // Deletes expired sessions, step-ups and login failures older than the windows
  // (maintenance; run every few minutes). Returns the number of rows deleted.
  [[nodiscard]] core::Result<int64_t> Prune();

 private:
  core::Result<core::Secret> OpenTotpSecret(const store::LocalAccount& account);
  // The retry-after if `key` is throttled now, else nullopt.
  core::Result<std::optional<std::chrono::seconds>> UserThrottle(const std::string& key);
  core::Result<std::optional<std::chrono::seconds>> IpThrottle(const std::string& key);
  // The account of normalised `name` unless "user:<name>" is throttled now (then the
  // Throttled error). Errors: the store's.
  core::Result<std::optional<store::LocalAccount>> UnthrottledAccount(const std::string& name);
  core::Status RecordFailure(const std::string& user_key, const std::string& ip_key);
  core::Result<Session> NewSession(std::string_view username, std::string_view issuer,
                                   std::string_view subject, bool mfa_verified);
  // Verifies the code and marks its step used. nullopt on success, else the refusal.
  core::Result<std::optional<LoginRefusal>> CheckTotp(const store::LocalAccount& account,
                                                      std::string_view code);
  core::Result<std::string> DummyHash();
  core::Status StepUpSatisfy(const core::Secret& challenge_id, std::string_view principal,
                             bool verify_totp, std::string_view totp_code);

  store::LocalAuthStore& store_;
  crypto::FieldSealer& sealer_;
  const core::Clock& clock_;
  const LocalAuthOptions options_;
  StoreTotpReplayGuard guard_;
  std::once_flag dummy_once_;
  core::Result<std::string> dummy_hash_;  // set once under dummy_once_
};

}  // namespace opsgate::identity::local
