#include "opsgate/identity/local/local_auth.h"

#include <algorithm>

#include "opsgate/crypto/hash.h"
#include "opsgate/crypto/random.h"
#include "opsgate/identity/local/qr_svg.h"

namespace opsgate::identity::local {
namespace {

using std::chrono::seconds;

constexpr std::string_view kTotpAadPrefix = "opsgate-totp-v1:";
constexpr size_t kTokenBytes = 32;
// Replay-guard rows outlive the ±window by far; older ones cannot matter.
constexpr std::chrono::minutes kTotpGuardRetention{10};

std::string TotpAad(std::string_view username) {
  return std::string(kTotpAadPrefix) + std::string(username);
}

core::Result<core::Secret> NewToken() {
  auto bytes = crypto::RandomBytes(kTokenBytes);
  if (!bytes) {
    return core::Fail(bytes.error());
  }
  return core::Secret(crypto::Base64UrlEncode(*bytes));
}

// SHA-256 of the token's raw bytes, or nullopt when the text is not base64url of 32 bytes.
std::optional<std::string> TokenHash(const core::Secret& token) {
  if (token.size() != 43) {
    return std::nullopt;
  }
  auto raw = crypto::Base64UrlDecode(token.Reveal());
  if (!raw || raw->size() != kTokenBytes) {
    return std::nullopt;
  }
  const crypto::Digest d = crypto::Sha256(*raw);
  return std::string(crypto::AsStringView(d));
}

std::string RequestHash(std::string_view request_bytes) {
  return crypto::HexEncode(crypto::Sha256(request_bytes));
}

seconds CeilSeconds(core::Clock::WallTime::duration d) {
  auto s = std::chrono::ceil<seconds>(d);
  return std::max(s, seconds(1));
}

core::Error Throttled(seconds retry_after) {
  return core::ResourceExhausted("throttled: too many failed attempts, retry after " +
                                 std::to_string(retry_after.count()) + " s");
}

}  // namespace

core::Result<std::string> NormaliseUsername(std::string_view username) {
  if (username.size() < 3 || username.size() > 64) {
    return core::Fail(core::InvalidArgument("invalid_username: use 3..64 characters"));
  }
  std::string out;
  out.reserve(username.size());
  for (char c : username) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == '-';
    if (!ok) {
      return core::Fail(core::InvalidArgument(
          "invalid_username: use only letters a-z, digits, '.', '_' and '-'"));
    }
    out += c;
  }
  return out;
}

std::string_view LoginRefusalName(LoginRefusal reason) {
  switch (reason) {
    case LoginRefusal::kBadCredentials:
      return "bad_credentials";
    case LoginRefusal::kThrottled:
      return "throttled";
    case LoginRefusal::kTotpRequired:
      return "totp_required";
    case LoginRefusal::kTotpInvalid:
      return "totp_invalid";
    case LoginRefusal::kTotpReused:
      return "totp_reused";
    case LoginRefusal::kAccountDisabled:
      return "account_disabled";
    case LoginRefusal::kEnrolmentIncomplete:
      return "enrolment_incomplete";
  }
  return "unknown";
}

std::string SessionInfo::Principal() const {
  if (!username.empty()) {
    return username;
  }
  return "oidc:" + oidc_issuer + "#" + oidc_subject;
}

core::Status StoreTotpReplayGuard::MarkUsed(std::string_view user, int64_t step) {
  const auto now = clock_.Now();
  auto fresh = store_.MarkTotpStepUsed(user, step, now, now - kTotpGuardRetention);
  if (!fresh) {
    return core::Fail(fresh.error());
  }
  if (!*fresh) {
    return core::Fail(core::Unauthenticated(
        "totp_replayed: this code (or a newer one) was used already; wait for the next code"));
  }
  return core::Ok();
}

LocalAuthenticator::LocalAuthenticator(store::LocalAuthStore& store, crypto::FieldSealer& sealer,
                                       const core::Clock& clock, LocalAuthOptions options)
    : store_(store),
      sealer_(sealer),
      clock_(clock),
      options_(std::move(options)),
      guard_(store, clock),
      dummy_hash_(core::Fail(core::Internal("dummy hash not computed"))) {}

core::Result<std::string> LocalAuthenticator::DummyHash() {
  // Hashed once with the configured parameters, so an unknown user costs what a known
  // one does.
  std::call_once(dummy_once_, [this] {
    dummy_hash_ = HashPassword(core::Secret("opsgate-dummy-password"), options_.scrypt);
  });
  return dummy_hash_;
}

// ---- enrolment

core::Result<bool> LocalAuthenticator::HasAnyAdmin() { return store_.HasUsableAdmin(); }

core::Result<core::Secret> LocalAuthenticator::CreateEnrolmentToken(bool is_admin, seconds ttl,
                                                                    std::string_view purpose) {
  if (ttl < std::chrono::minutes(1) || ttl > std::chrono::hours(24 * 7)) {
    return core::Fail(core::InvalidArgument("enrolment token ttl must be 1 minute .. 7 days"));
  }
  if (purpose != "first-admin" && purpose != "invite") {
    return core::Fail(
        core::InvalidArgument("enrolment token purpose must be \"first-admin\" or \"invite\""));
  }
  auto token = NewToken();
  if (!token) {
    return core::Fail(token.error());
  }
  const auto now = clock_.Now();
  store::EnrolmentToken record;
  record.token_hash = *TokenHash(*token);
  record.purpose = std::string(purpose);
  record.is_admin = is_admin;
  record.created_at = now;
  record.expires_at = now + ttl;
  OPSGATE_RETURN_IF_ERROR(store_.PutEnrolmentToken(record));
  return token;
}

core::Result<Enrolment> LocalAuthenticator::Enrol(const core::Secret& token,
                                                  std::string_view username,
                                                  const core::Secret& password) {
  auto name = NormaliseUsername(username);
  if (!name) {
    return core::Fail(name.error());
  }
  OPSGATE_RETURN_IF_ERROR(CheckPasswordPolicy(password.Reveal()));
  const std::optional<std::string> token_hash = TokenHash(token);
  const core::Error bad_token = core::NotFound(
      "enrolment_token_invalid: the enrolment link is unknown, used or expired; ask an "
      "administrator for a new one");
  if (!token_hash) {
    return core::Fail(bad_token);
  }
  auto phc = HashPassword(password, options_.scrypt);
  if (!phc) {
    return core::Fail(phc.error());
  }
  auto secret = GenerateTotpSecret();
  if (!secret) {
    return core::Fail(secret.error());
  }
  auto sealed = sealer_.Seal(secret->Reveal(), TotpAad(*name));
  if (!sealed) {
    return core::Fail(sealed.error());
  }
  auto uri = OtpauthUri(options_.totp_issuer, *name, *secret, options_.totp);
  if (!uri) {
    return core::Fail(uri.error());
  }
  auto svg = QrCodeSvg(uri->Reveal());
  if (!svg) {
    return core::Fail(svg.error());
  }
  const auto now = clock_.Now();
  store::LocalAccount account;
  account.username = *name;
  account.password_hash = std::move(*phc);
  account.totp_secret_sealed = std::move(*sealed);
  account.created_at = now;
  account.password_changed_at = now;
  auto created = store_.EnrolAccount(*token_hash, account, now);
  if (!created) {
    if (created.error().code == core::ErrorCode::kNotFound) {
      return core::Fail(bad_token);
    }
    if (created.error().code == core::ErrorCode::kAlreadyExists) {
      return core::Fail(core::AlreadyExists("username_taken: choose another username"));
    }
    return core::Fail(created.error());
  }
  Enrolment out;
  out.username = created->username;
  out.is_admin = created->is_admin;
  out.totp.otpauth_uri = std::move(*uri);
  out.totp.base32_secret = core::Secret(Base32Encode(secret->Reveal()));
  out.totp.qr_svg = std::move(*svg);
  return out;
}

core::Result<core::Secret> LocalAuthenticator::OpenTotpSecret(const store::LocalAccount& account) {
  auto opened = sealer_.Open(account.totp_secret_sealed, TotpAad(account.username));
  if (!opened) {
    return core::Fail(opened.error());
  }
  return core::Secret(std::move(*opened));
}

core::Result<std::optional<LoginRefusal>> LocalAuthenticator::CheckTotp(
    const store::LocalAccount& account, std::string_view code) {
  auto secret = OpenTotpSecret(account);
  if (!secret) {
    return core::Fail(secret.error());
  }
  auto step = VerifyTotp(*secret, code, clock_.UnixSeconds(), options_.totp, options_.totp_window);
  if (!step) {
    if (step.error().code == core::ErrorCode::kUnauthenticated) {
      return std::optional<LoginRefusal>(LoginRefusal::kTotpInvalid);
    }
    return core::Fail(step.error());
  }
  auto marked = guard_.MarkUsed(account.username, *step);
  if (!marked) {
    if (marked.error().code == core::ErrorCode::kUnauthenticated) {
      return std::optional<LoginRefusal>(LoginRefusal::kTotpReused);
    }
    return core::Fail(marked.error());
  }
  return std::optional<LoginRefusal>();
}

core::Status LocalAuthenticator::ConfirmTotp(std::string_view username, std::string_view code) {
  const core::Error invalid = core::Unauthenticated(
      "totp_invalid: the code does not match; check the authenticator app and the clock");
  auto name = NormaliseUsername(username);
  if (!name) {
    return core::Fail(invalid);
  }
  const std::string user_key = "user:" + *name;
  auto account = UnthrottledAccount(*name);
  if (!account) {
    return core::Fail(account.error());
  }
  if (!*account || (*account)->totp_secret_sealed.empty()) {
    OPSGATE_RETURN_IF_ERROR(RecordFailure(user_key, ""));
    return core::Fail(invalid);
  }
  auto refusal = CheckTotp(**account, code);
  if (!refusal) {
    return core::Fail(refusal.error());
  }
  if (*refusal) {
    OPSGATE_RETURN_IF_ERROR(RecordFailure(user_key, ""));
    if (**refusal == LoginRefusal::kTotpReused) {
      return core::Fail(core::Unauthenticated(
          "totp_reused: this code was used already; wait for the next code"));
    }
    return core::Fail(invalid);
  }
  if (!(*account)->totp_confirmed) {
    OPSGATE_RETURN_IF_ERROR(store_.SetTotpConfirmed(*name));
  }
  return core::Ok();
}

// ---- throttling

core::Result<std::optional<store::LocalAccount>> LocalAuthenticator::UnthrottledAccount(
    const std::string& name) {
  auto throttled = UserThrottle("user:" + name);
  if (!throttled) {
    return core::Fail(throttled.error());
  }
  if (*throttled) {
    return core::Fail(Throttled(**throttled));
  }
  return store_.GetAccount(name);
}

core::Result<std::optional<seconds>> LocalAuthenticator::UserThrottle(const std::string& key) {
  const auto now = clock_.Now();
  auto stats = store_.LoginFailures(key, now - options_.user_failure_window);
  if (!stats) {
    return core::Fail(stats.error());
  }
  const int64_t limit = options_.user_failures_before_lockout;
  if (stats->count < limit) {
    return std::optional<seconds>();
  }
  // Exponential: base after the limit-th failure, doubling per further failure.
  const int64_t extra = std::min<int64_t>(stats->count - limit, 20);
  seconds lock = options_.lockout_base * (int64_t{1} << extra);
  lock = std::min(lock, options_.lockout_max);
  const auto until = stats->newest + lock;
  if (now >= until) {
    return std::optional<seconds>();
  }
  return std::optional<seconds>(CeilSeconds(until - now));
}

core::Result<std::optional<seconds>> LocalAuthenticator::IpThrottle(const std::string& key) {
  if (key.empty()) {
    return std::optional<seconds>();
  }
  const auto now = clock_.Now();
  auto stats = store_.LoginFailures(key, now - options_.ip_failure_window);
  if (!stats) {
    return core::Fail(stats.error());
  }
  if (stats->count < options_.ip_failures_limit) {
    return std::optional<seconds>();
  }
  return std::optional<seconds>(CeilSeconds(stats->oldest + options_.ip_failure_window - now));
}

core::Status LocalAuthenticator::RecordFailure(const std::string& user_key,
                                               const std::string& ip_key) {
  const auto now = clock_.Now();
  if (!user_key.empty()) {
    OPSGATE_RETURN_IF_ERROR(store_.RecordLoginFailure(user_key, now));
  }
  if (!ip_key.empty()) {
    OPSGATE_RETURN_IF_ERROR(store_.RecordLoginFailure(ip_key, now));
  }
  return core::Ok();
}

// ---- login and sessions

core::Result<LoginOutcome> LocalAuthenticator::Login(std::string_view username,
                                                     const core::Secret& password,
                                                     std::string_view totp_code,
                                                     std::string_view remote_ip) {
  auto name = NormaliseUsername(username);
  // A malformed name cannot exist; it still costs a hash and counts against the IP.
  const std::string user_key = name ? "user:" + *name : "";
  const std::string ip_key =
      remote_ip.empty() ? "" : "ip:" + std::string(remote_ip.substr(0, 128));

  auto ip_throttle = IpThrottle(ip_key);
  if (!ip_throttle) {
    return core::Fail(ip_throttle.error());
  }
  if (*ip_throttle) {
    return LoginOutcome(LoginRefused{LoginRefusal::kThrottled, **ip_throttle});
  }
  if (!user_key.empty()) {
    auto user_throttle = UserThrottle(user_key);
    if (!user_throttle) {
      return core::Fail(user_throttle.error());
    }
    if (*user_throttle) {
      return LoginOutcome(LoginRefused{LoginRefusal::kThrottled, **user_throttle});
    }
  }

  auto refuse = [&](LoginRefusal reason) -> core::Result<LoginOutcome> {
    OPSGATE_RETURN_IF_ERROR(RecordFailure(user_key, ip_key));
    return LoginOutcome(LoginRefused{reason, seconds(0)});
  };

  std::optional<store::LocalAccount> account;
  if (name) {
    auto found = store_.GetAccount(*name);
    if (!found) {
      return core::Fail(found.error());
    }
    account = std::move(*found);
  }
  if (!account) {
    auto dummy = DummyHash();
    if (!dummy) {
      return core::Fail(dummy.error());
    }
    auto ignored = VerifyPassword(password, *dummy);
    (void)ignored;
    return refuse(LoginRefusal::kBadCredentials);
  }
  auto ok = VerifyPassword(password, account->password_hash);
  if (!ok) {
    return core::Fail(ok.error());  // a stored hash that does not parse: fail closed
  }
  if (!*ok) {
    return refuse(LoginRefusal::kBadCredentials);
  }
  if (account->disabled) {
    return refuse(LoginRefusal::kAccountDisabled);
  }
  if (!account->totp_confirmed || account->totp_secret_sealed.empty()) {
    return refuse(LoginRefusal::kEnrolmentIncomplete);
  }
  if (totp_code.empty()) {
    return refuse(LoginRefusal::kTotpRequired);
  }
  auto totp = CheckTotp(*account, totp_code);
  if (!totp) {
    return core::Fail(totp.error());
  }
  if (*totp) {
    return refuse(**totp);
  }

  OPSGATE_RETURN_IF_ERROR(store_.ClearLoginFailures(user_key));
  if (NeedsRehash(account->password_hash, options_.scrypt)) {
    // Best effort: the login stands even if the upgrade cannot be written now.
    auto rehashed = HashPassword(password, options_.scrypt);
    if (rehashed) {
      auto ignored = store_.SetPasswordHash(account->username, *rehashed,
                                            account->password_changed_at);
      (void)ignored;
    }
  }
  auto session = NewSession(account->username, "", "", /*mfa_verified=*/true);
  if (!session) {
    return core::Fail(session.error());
  }
  return LoginOutcome(std::move(*session));
}

core::Result<Session> LocalAuthenticator::NewSession(std::string_view username,
                                                     std::string_view issuer,
                                                     std::string_view subject,
                                                     bool mfa_verified) {
  auto token = NewToken();
  if (!token) {
    return core::Fail(token.error());
  }
  auto csrf = NewToken();
  if (!csrf) {
    return core::Fail(csrf.error());
  }
  const auto now = clock_.Now();
  store::LocalSession record;
  record.token_hash = *TokenHash(*token);
  record.username = std::string(username);
  record.oidc_issuer = std::string(issuer);
  record.oidc_subject = std::string(subject);
  record.csrf_token = *csrf;
  record.created_at = now;
  record.last_seen_at = now;
  record.idle_timeout = options_.session_idle;
  record.absolute_expires_at = now + options_.session_absolute;
  if (mfa_verified) {
    record.mfa_verified_at = now;
  }
  OPSGATE_RETURN_IF_ERROR(store_.PutSession(record));
  Session s;
  s.token = std::move(*token);
  s.csrf_token = std::move(*csrf);
  s.username = std::string(username);
  s.idle_expires_at = std::min(now + options_.session_idle, record.absolute_expires_at);
  s.absolute_expires_at = record.absolute_expires_at;
  return s;
}

core::Result<Session> LocalAuthenticator::CreateOidcSession(std::string_view issuer,
                                                            std::string_view subject,
                                                            bool mfa_verified) {
  if (issuer.empty() || subject.empty()) {
    return core::Fail(core::InvalidArgument("an OIDC session needs an issuer and a subject"));
  }
  return NewSession("", issuer, subject, mfa_verified);
}

core::Result<SessionInfo> LocalAuthenticator::ValidateSession(const core::Secret& token) {
  const core::Error unknown =
      core::Unauthenticated("session_unknown: not signed in (or signed out); sign in again");
  const std::optional<std::string> hash = TokenHash(token);
  if (!hash) {
    return core::Fail(unknown);
  }
  auto found = store_.FindSession(*hash);
  if (!found) {
    return core::Fail(found.error());
  }
  if (!*found) {
    return core::Fail(unknown);
  }
  store::LocalSession& s = **found;
  const auto now = clock_.Now();
  if (now >= s.absolute_expires_at || now >= s.last_seen_at + s.idle_timeout) {
    auto ignored = store_.DeleteSession(*hash);
    (void)ignored;
    return core::Fail(core::Unauthenticated("session_expired: the session ended; sign in again"));
  }
  SessionInfo info;
  if (!s.username.empty()) {
    auto account = store_.GetAccount(s.username);
    if (!account) {
      return core::Fail(account.error());
    }
    if (!*account || (*account)->disabled) {
      auto ignored = store_.DeleteSession(*hash);
      (void)ignored;
      return core::Fail(
          core::Unauthenticated("account_disabled: this account is disabled or was removed"));
    }
    info.is_admin = (*account)->is_admin;
  }
  auto touched = store_.TouchSession(*hash, now, options_.session_touch_interval);
  if (!touched) {
    return core::Fail(touched.error());
  }
  if (*touched) {
    s.last_seen_at = now;
  }
  info.username = s.username;
  info.oidc_issuer = s.oidc_issuer;
  info.oidc_subject = s.oidc_subject;
  info.csrf_token = s.csrf_token;
  info.created_at = s.created_at;
  info.last_seen_at = s.last_seen_at;
  info.idle_expires_at = std::min(s.last_seen_at + s.idle_timeout, s.absolute_expires_at);
  info.absolute_expires_at = s.absolute_expires_at;
  info.mfa_verified_at = s.mfa_verified_at;
  return info;
}

core::Status LocalAuthenticator::Logout(const core::Secret& token) {
  const std::optional<std::string> hash = TokenHash(token);
  if (!hash) {
    return core::Ok();
  }
  auto deleted = store_.DeleteSession(*hash);
  if (!deleted) {
    return core::Fail(deleted.error());
  }
  return core::Ok();
}

core::Result<int64_t> LocalAuthenticator::RevokeAllFor(std::string_view username) {
  auto name = NormaliseUsername(username);
  if (!name) {
    return core::Fail(name.error());
  }
  return store_.DeleteSessionsOf(*name);
}

core::Status LocalAuthenticator::SetAccountDisabled(std::string_view username, bool disabled) {
  auto name = NormaliseUsername(username);
  if (!name) {
    return core::Fail(name.error());
  }
  OPSGATE_RETURN_IF_ERROR(store_.SetDisabled(*name, disabled));
  if (disabled) {
    auto revoked = store_.DeleteSessionsOf(*name);
    if (!revoked) {
      return core::Fail(revoked.error());
    }
  }
  return core::Ok();
}

bool LocalAuthenticator::CheckCsrf(const SessionInfo& session, std::string_view presented) {
  if (presented.empty() || session.csrf_token.empty()) {
    return false;
  }
  return crypto::ConstantTimeEquals(session.csrf_token.Reveal(), presented);
}

// ---- step-up

core::Result<StepUpChallenge> LocalAuthenticator::BeginStepUp(std::string_view principal,
                                                              std::string_view request_bytes) {
  if (principal.empty()) {
    return core::Fail(core::InvalidArgument("a step-up needs a principal"));
  }
  auto id = NewToken();
  if (!id) {
    return core::Fail(id.error());
  }
  const auto now = clock_.Now();
  store::StepUpRecord record;
  record.challenge_hash = *TokenHash(*id);
  record.principal = std::string(principal);
  record.request_hash = RequestHash(request_bytes);
  record.created_at = now;
  record.expires_at = now + options_.step_up_ttl;
  OPSGATE_RETURN_IF_ERROR(store_.PutStepUp(record));
  return StepUpChallenge{std::move(*id), record.expires_at};
}

core::Status LocalAuthenticator::StepUpSatisfy(const core::Secret& challenge_id,
                                               std::string_view principal, bool verify_totp,
                                               std::string_view totp_code) {
  const core::Error unknown =
      core::Unauthenticated("step_up_unknown: no such pending confirmation; start again");
  const std::optional<std::string> hash = TokenHash(challenge_id);
  if (!hash) {
    return core::Fail(unknown);
  }
  auto record = store_.FindStepUp(*hash);
  if (!record) {
    return core::Fail(record.error());
  }
  if (!*record || (*record)->principal != principal || (*record)->satisfied_at) {
    return core::Fail(unknown);
  }
  const auto now = clock_.Now();
  if (now >= (*record)->expires_at) {
    return core::Fail(core::Unauthenticated(
        "step_up_expired: the confirmation window passed; send the request again"));
  }
  if (verify_totp) {
    auto name = NormaliseUsername(principal);
    if (!name || *name != principal) {
      return core::Fail(core::FailedPrecondition(
          "enrolment_incomplete: this principal has no local second factor"));
    }
    const std::string user_key = "user:" + *name;
    auto account = UnthrottledAccount(*name);
    if (!account) {
      return core::Fail(account.error());
    }
    if (!*account || !(*account)->totp_confirmed || (*account)->disabled) {
      return core::Fail(core::FailedPrecondition(
          "enrolment_incomplete: this account has no confirmed second factor"));
    }
    auto refusal = CheckTotp(**account, totp_code);
    if (!refusal) {
      return core::Fail(refusal.error());
    }
    if (*refusal) {
      OPSGATE_RETURN_IF_ERROR(RecordFailure(user_key, ""));
      return core::Fail(core::Unauthenticated(
          **refusal == LoginRefusal::kTotpReused
              ? "totp_reused: this code was used already; wait for the next code"
              : "totp_invalid: the code does not match"));
    }
  }
  auto satisfied = store_.SatisfyStepUp(*hash, principal, clock_.Now());
  if (!satisfied) {
    return core::Fail(satisfied.error());
  }
  if (!*satisfied) {
    return core::Fail(unknown);  // expired or completed concurrently
  }
  return core::Ok();
}

core::Status LocalAuthenticator::CompleteStepUp(const core::Secret& challenge_id,
                                                std::string_view principal,
                                                std::string_view totp_code) {
  return StepUpSatisfy(challenge_id, principal, /*verify_totp=*/true, totp_code);
}

core::Status LocalAuthenticator::SatisfyStepUpExternally(const core::Secret& challenge_id,
                                                         std::string_view principal) {
  return StepUpSatisfy(challenge_id, principal, /*verify_totp=*/false, "");
}

core::Result<bool> LocalAuthenticator::IsStepUpSatisfied(std::string_view principal,
                                                         std::string_view request_bytes) {
  return store_.HasSatisfiedStepUp(principal, RequestHash(request_bytes), clock_.Now());
}

core::Result<bool> LocalAuthenticator::ConsumeStepUp(std::string_view principal,
                                                     std::string_view request_bytes) {
  return store_.ConsumeStepUp(principal, RequestHash(request_bytes), clock_.Now());
}

core::Result<int64_t> LocalAuthenticator::Prune() {
  const auto now = clock_.Now();
  int64_t total = 0;
  auto sessions = store_.PruneSessions(now);
  if (!sessions) {
    return core::Fail(sessions.error());
  }
  total += *sessions;
  auto step_ups = store_.PruneStepUps(now);
  if (!step_ups) {
    return core::Fail(step_ups.error());
  }
  total += *step_ups;
  auto failures = store_.PruneLoginFailures(
      now - std::max(options_.user_failure_window, options_.ip_failure_window));
  if (!failures) {
    return core::Fail(failures.error());
  }
  total += *failures;
  return total;
}

}  // namespace opsgate::identity::local
