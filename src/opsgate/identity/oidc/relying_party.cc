#include "opsgate/identity/oidc/relying_party.h"

#include <algorithm>
#include <cctype>

#include "opsgate/core/strings.h"
#include "opsgate/crypto/hash.h"
#include "opsgate/crypto/random.h"
#include "opsgate/identity/internal/json_util.h"
#include "opsgate/identity/jose_error.h"
#include "opsgate/identity/jwt.h"

namespace opsgate::identity::oidc {
namespace {

namespace json = boost::json;

constexpr size_t kMaxQueryBytes = 16 * 1024;
constexpr size_t kMaxContextBytes = 4096;
constexpr size_t kRandomBytes = 32;

struct ReasonEntry {
  OidcReason reason;
  std::string_view name;
};

constexpr ReasonEntry kReasons[] = {
    {OidcReason::kInvalidRequest, "invalid_request"},
    {OidcReason::kStateMismatch, "state_mismatch"},
    {OidcReason::kLoginExpired, "login_expired"},
    {OidcReason::kIssuerMismatch, "issuer_mismatch"},
    {OidcReason::kAccessDenied, "access_denied"},
    {OidcReason::kProviderError, "provider_error"},
    {OidcReason::kMissingCode, "missing_code"},
    {OidcReason::kTokenRejected, "token_rejected"},
    {OidcReason::kTokenEndpointUnavailable, "token_endpoint_unavailable"},
    {OidcReason::kBadTokenResponse, "bad_token_response"},
    {OidcReason::kIdTokenInvalid, "id_token_invalid"},
    {OidcReason::kAzpMismatch, "azp_mismatch"},
    {OidcReason::kAuthTimeMissing, "auth_time_missing"},
    {OidcReason::kAuthTooOld, "auth_too_old"},
    {OidcReason::kAcrNotSatisfied, "acr_not_satisfied"},
    {OidcReason::kDiscoveryFailed, "discovery_failed"},
};

core::Error Refuse(OidcReason reason, std::string_view detail,
                   core::ErrorCode code = core::ErrorCode::kUnauthenticated) {
  return core::Error{code, std::string(OidcReasonName(reason)) + ": " + std::string(detail)};
}

// Provider-supplied text (error codes, descriptions) for messages: printable ASCII only,
// bounded, so a hostile callback cannot forge log lines.
std::string Printable(std::string_view s, size_t max = 200) {
  std::string out;
  for (const char c : s.substr(0, max)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (s.size() > max) {
    out += "...";
  }
  return out;
}


std::optional<std::string> FormDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) {
        return std::nullopt;
      }
      const int hi = core::HexDigitValue(s[i + 1]);
      const int lo = core::HexDigitValue(s[i + 2]);
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool IsToken(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
}

core::Result<core::Secret> RandomToken() {
  auto bytes = crypto::RandomBytes(kRandomBytes);
  if (!bytes) {
    return core::Fail(bytes.error());
  }
  return core::Secret(crypto::Base64UrlEncode(*bytes));
}

int64_t UnixSeconds(core::Clock::WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string_view OidcReasonName(OidcReason reason) {
  for (const ReasonEntry& e : kReasons) {
    if (e.reason == reason) {
      return e.name;
    }
  }
  return "unknown";
}

std::string_view OidcReasonOf(const core::Error& error) {
  const std::string_view msg = error.message;
  const size_t colon = msg.find(": ");
  const std::string_view word = msg.substr(0, colon == std::string_view::npos ? 0 : colon);
  for (const ReasonEntry& e : kReasons) {
    if (e.name == word) {
      return e.name;
    }
  }
  return {};
}

core::Result<CallbackParams> ParseCallbackQuery(std::string_view query) {
  if (query.size() > kMaxQueryBytes) {
    return core::Fail(Refuse(OidcReason::kInvalidRequest, "callback query is too large",
                             core::ErrorCode::kInvalidArgument));
  }
  if (!query.empty() && query.front() == '?') {
    query.remove_prefix(1);
  }
  CallbackParams out;
  for (std::string_view pair : core::Split(query, '&')) {
    if (pair.empty()) {
      continue;
    }
    const size_t eq = pair.find('=');
    auto name = FormDecode(pair.substr(0, eq));
    auto value = FormDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value) {
      return core::Fail(Refuse(OidcReason::kInvalidRequest, "bad %-escape in the callback query",
                               core::ErrorCode::kInvalidArgument));
    }
    std::optional<std::string>* slot = nullptr;
    if (*name == "code") {
      slot = &out.code;
    } else if (*name == "state") {
      slot = &out.state;
    } else if (*name == "iss") {
      slot = &out.iss;
    } else if (*name == "error") {
      slot = &out.error;
    } else if (*name == "error_description") {
      slot = &out.error_description;
    }
    if (slot == nullptr) {
      continue;
    }
    if (*slot) {
      // RFC 6749 §3.1: parameters must not be repeated; two states or codes are an attack.
      return core::Fail(Refuse(OidcReason::kInvalidRequest,
                               "parameter \"" + *name + "\" repeated in the callback query",
                               core::ErrorCode::kInvalidArgument));
    }
    *slot = std::move(*value);
  }
  return out;
}

RelyingParty::RelyingParty(RelyingPartyOptions options, Discovery& discovery,
                           http::HttpClient& http, const core::Clock& clock)
    : options_(std::move(options)), discovery_(discovery), http_(http), clock_(clock) {}

core::Result<std::shared_ptr<const ProviderMetadata>> RelyingParty::Metadata() {
  auto md = discovery_.Get();
  if (!md) {
    return core::Fail(Refuse(OidcReason::kDiscoveryFailed, md.error().message, md.error().code));
  }
  return md;
}

std::shared_ptr<JwksCache> RelyingParty::KeysFor(const std::string& jwks_uri) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!jwks_ || jwks_uri_ != jwks_uri) {
    JwksCacheOptions o = options_.jwks;
    o.jwks_uri = jwks_uri;
    jwks_ = std::make_shared<JwksCache>(std::move(o), http_, clock_);
    jwks_uri_ = jwks_uri;
  }
  return jwks_;
}

core::Result<LoginStart> RelyingParty::BeginLogin(const LoginParams& params) {
  static constexpr std::string_view kPrompts[] = {"none", "login", "consent", "select_account"};
  if (params.prompt) {
    for (std::string_view p : core::Split(*params.prompt, ' ')) {
      if (std::find(std::begin(kPrompts), std::end(kPrompts), p) == std::end(kPrompts)) {
        return core::Fail(Refuse(OidcReason::kInvalidRequest,
                                 "prompt must be none, login, consent or select_account",
                                 core::ErrorCode::kInvalidArgument));
      }
    }
  }
  if (params.max_age && params.max_age->count() < 0) {
    return core::Fail(Refuse(OidcReason::kInvalidRequest, "max_age must not be negative",
                             core::ErrorCode::kInvalidArgument));
  }
  for (const std::string& acr : params.acr_values) {
    if (!IsToken(acr)) {
      return core::Fail(Refuse(OidcReason::kInvalidRequest,
                               "acr_values entries must be non-empty tokens without spaces",
                               core::ErrorCode::kInvalidArgument));
    }
  }
  for (const std::string& scope : options_.extra_scopes) {
    if (!IsToken(scope)) {
      return core::Fail(Refuse(OidcReason::kInvalidRequest, "scopes must be tokens without spaces",
                               core::ErrorCode::kInvalidArgument));
    }
  }
  if (params.context.size() > kMaxContextBytes) {
    return core::Fail(Refuse(OidcReason::kInvalidRequest, "login context is larger than 4 KiB",
                             core::ErrorCode::kInvalidArgument));
  }
  auto md = Metadata();
  if (!md) {
    return core::Fail(md.error());
  }

  LoginStart out;
  LoginState& s = out.state;
  for (core::Secret* field : {&s.state, &s.nonce, &s.code_verifier}) {
    auto token = RandomToken();
    if (!token) {
      return core::Fail(token.error());
    }
    *field = std::move(*token);
  }
  s.issuer = (*md)->issuer;
  s.redirect_uri = options_.redirect_uri;
  s.created_at = clock_.Now();
  s.expires_at = s.created_at + options_.login_ttl;
  s.max_age = params.max_age;
  s.acr_values = params.acr_values;
  s.prompt = params.prompt.value_or("");
  s.context = params.context;

  std::string scope = "openid email profile";
  for (const std::string& extra : options_.extra_scopes) {
    if (extra != "openid" && extra != "email" && extra != "profile") {
      scope += " " + extra;
    }
  }
  const std::string challenge =
      crypto::Base64UrlEncode(crypto::Sha256(s.code_verifier.Reveal()));

  std::string url = (*md)->authorization_endpoint;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "response_type=code&client_id=" + core::PercentEncode(options_.client_id);
  url += "&redirect_uri=" + core::PercentEncode(options_.redirect_uri);
  url += "&scope=" + core::PercentEncode(scope);
  url += "&state=" + core::PercentEncode(s.state.Reveal());
  url += "&nonce=" + core::PercentEncode(s.nonce.Reveal());
  url += "&code_challenge=" + challenge + "&code_challenge_method=S256";
  if (params.prompt) {
    url += "&prompt=" + core::PercentEncode(*params.prompt);
  }
  if (params.max_age) {
    url += "&max_age=" + std::to_string(params.max_age->count());
  }
  if (!params.acr_values.empty()) {
    std::string acr;
    for (const std::string& a : params.acr_values) {
      acr += (acr.empty() ? "" : " ") + a;
    }
    url += "&acr_values=" + core::PercentEncode(acr);
  }
  if (params.login_hint) {
    url += "&login_hint=" + core::PercentEncode(*params.login_hint);
  }
  out.authorization_url = std::move(url);
  return out;
}

core::Result<Identity> RelyingParty::CompleteLogin(const LoginState& pending,
                                                   const CallbackParams& callback) {
  // 1. state, in constant time.
  if (!callback.state || pending.state.empty() ||
      !crypto::ConstantTimeEquals(*callback.state, pending.state.Reveal())) {
    return core::Fail(Refuse(OidcReason::kStateMismatch,
                             callback.state ? "the callback's state is not this login's"
                                            : "the callback has no state"));
  }
  // 2. expiry.
  const core::Clock::WallTime now = clock_.Now();
  if (now >= pending.expires_at) {
    return core::Fail(Refuse(OidcReason::kLoginExpired,
                             "the login took longer than " +
                                 std::to_string(options_.login_ttl.count()) +
                                 " s; start again"));
  }
  auto md = Metadata();
  if (!md) {
    return core::Fail(md.error());
  }
  // 3. issuer (mix-up defence, RFC 9207).
  if (pending.issuer != (*md)->issuer) {
    return core::Fail(Refuse(OidcReason::kIssuerMismatch,
                             "the login was started for another issuer"));
  }
  if (callback.iss) {
    if (*callback.iss != (*md)->issuer) {
      return core::Fail(Refuse(OidcReason::kIssuerMismatch,
                               "the callback's iss \"" + Printable(*callback.iss) +
                                   "\" is not the configured issuer"));
    }
  } else if ((*md)->authorization_response_iss_parameter_supported) {
    return core::Fail(Refuse(OidcReason::kIssuerMismatch,
                             "the provider sends iss in callbacks but this one has none"));
  }
  // 4. error responses.
  if (callback.error) {
    const std::string detail =
        Printable(*callback.error) +
        (callback.error_description ? ": " + Printable(*callback.error_description) : "");
    if (*callback.error == "access_denied") {
      return core::Fail(Refuse(OidcReason::kAccessDenied, detail,
                               core::ErrorCode::kPermissionDenied));
    }
    return core::Fail(Refuse(OidcReason::kProviderError, detail));
  }
  // 5. code.
  if (!callback.code || callback.code->empty()) {
    return core::Fail(Refuse(OidcReason::kMissingCode, "the callback has neither code nor error"));
  }

  // 6. token endpoint.
  http::OutboundRequest req;
  req.method = "POST";
  req.url = (*md)->token_endpoint;
  req.timeout = options_.token_timeout;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.body = "grant_type=authorization_code&code=" + core::PercentEncode(*callback.code) +
             "&redirect_uri=" + core::PercentEncode(pending.redirect_uri) +
             "&code_verifier=" + core::PercentEncode(pending.code_verifier.Reveal());
  switch (options_.client_auth) {
    case ClientAuthMethod::kClientSecretBasic:
      // RFC 6749 §2.3.1: both parts form-urlencoded before base64.
      req.headers.emplace_back(
          "Authorization",
          "Basic " + crypto::Base64Encode(core::PercentEncode(options_.client_id) + ":" +
                                          core::PercentEncode(options_.client_secret.Reveal())));
      break;
    case ClientAuthMethod::kClientSecretPost:
      req.body += "&client_id=" + core::PercentEncode(options_.client_id) +
                  "&client_secret=" + core::PercentEncode(options_.client_secret.Reveal());
      break;
    case ClientAuthMethod::kNone:
      req.body += "&client_id=" + core::PercentEncode(options_.client_id);
      break;
  }
  const std::string where = http::RedactUrl(req.url);
  auto resp = http_.Send(req);
  // The request held the code, verifier and client secret; do not keep copies around.
  req.body.assign(req.body.size(), '\0');
  req.headers.clear();
  if (!resp) {
    return core::Fail(Refuse(OidcReason::kTokenEndpointUnavailable,
                             where + ": " + resp.error().message, core::ErrorCode::kUnavailable));
  }
  auto body = internal::ParseUniqueObject(resp->body);
  if (resp->status != 200) {
    std::string detail = "HTTP " + std::to_string(resp->status);
    if (body) {
      auto err = internal::OptionalString(*body, "error");
      auto desc = internal::OptionalString(*body, "error_description");
      if (err && *err) {
        detail = Printable(**err) + (desc && *desc ? ": " + Printable(**desc) : "") + " (" +
                 detail + ")";
      }
    }
    if (resp->status >= 500 || resp->status == 429) {
      return core::Fail(Refuse(OidcReason::kTokenEndpointUnavailable, where + " answered " + detail,
                               core::ErrorCode::kUnavailable));
    }
    return core::Fail(Refuse(OidcReason::kTokenRejected, detail));
  }
  if (!body) {
    return core::Fail(Refuse(OidcReason::kBadTokenResponse,
                             "the token response is not a JSON object"));
  }
  auto token_type = internal::OptionalString(*body, "token_type");
  if (!token_type || (*token_type && !EqualsIgnoreCase(**token_type, "bearer"))) {
    return core::Fail(Refuse(OidcReason::kBadTokenResponse,
                             "token_type must be Bearer"));
  }
  auto id_token = internal::OptionalString(*body, "id_token");
  if (!id_token || !*id_token || (*id_token)->empty()) {
    return core::Fail(Refuse(OidcReason::kBadTokenResponse,
                             "the token response has no id_token (is \"openid\" in scope?)"));
  }

  // 7. the ID token.
  JwtValidationOptions vopts;
  vopts.issuer = (*md)->issuer;
  vopts.audience = options_.client_id;
  vopts.clock_skew = options_.clock_skew;
  vopts.nonce = std::string(pending.nonce.Reveal());
  vopts.groups_claim = options_.groups_claim;
  vopts.require_subject = true;
  vopts.require_issued_at = true;
  vopts.jws.allowed_algs = (*md)->id_token_signing_algs;
  const JwtVerifier verifier(vopts, clock_);
  const std::shared_ptr<JwksCache> keys = KeysFor((*md)->jwks_uri);
  auto claims = verifier.Verify(**id_token, *keys);
  if (!claims) {
    if (claims.error().code == core::ErrorCode::kUnavailable) {
      return core::Fail(Refuse(OidcReason::kIdTokenInvalid,
                               "no keys to verify it: " + claims.error().message,
                               core::ErrorCode::kUnavailable));
    }
    return core::Fail(Refuse(OidcReason::kIdTokenInvalid, claims.error().message));
  }
  auto raw = internal::ParseUniqueObject(claims->raw_json);
  if (!raw) {
    return core::Fail(Refuse(OidcReason::kIdTokenInvalid, "claims are not a JSON object"));
  }

  // 8. azp (OIDC Core §3.1.3.7 items 4 and 5).
  auto azp = internal::OptionalString(*raw, "azp");
  if (!azp) {
    return core::Fail(Refuse(OidcReason::kAzpMismatch, "azp is not a string"));
  }
  if (*azp && **azp != options_.client_id) {
    return core::Fail(Refuse(OidcReason::kAzpMismatch,
                             "azp \"" + Printable(**azp) + "\" is not this client"));
  }
  if (!*azp && claims->aud.size() > 1) {
    return core::Fail(Refuse(OidcReason::kAzpMismatch,
                             "the token has several audiences but no azp"));
  }

  // 9. max_age → auth_time.
  const int64_t now_s = UnixSeconds(now);
  const int64_t skew = std::clamp<int64_t>(options_.clock_skew.count(), 0, 300);
  if (pending.max_age) {
    if (!claims->auth_time) {
      return core::Fail(Refuse(OidcReason::kAuthTimeMissing,
                               "max_age was requested but the ID token has no auth_time"));
    }
    if (now_s - *claims->auth_time > pending.max_age->count() + skew) {
      return core::Fail(Refuse(OidcReason::kAuthTooOld,
                               "the provider authenticated the user " +
                                   std::to_string(now_s - *claims->auth_time) +
                                   " s ago; at most " + std::to_string(pending.max_age->count()) +
                                   " s was asked"));
    }
  }
  // 10. acr_values → acr.
  if (!pending.acr_values.empty()) {
    if (!claims->acr) {
      return core::Fail(Refuse(OidcReason::kAcrNotSatisfied,
                               "acr_values were requested but the ID token has no acr"));
    }
    if (std::find(pending.acr_values.begin(), pending.acr_values.end(), *claims->acr) ==
        pending.acr_values.end()) {
      return core::Fail(Refuse(OidcReason::kAcrNotSatisfied,
                               "acr \"" + Printable(*claims->acr) + "\" is not one requested"));
    }
  }

  Identity who;
  who.issuer = claims->iss;
  who.subject = claims->sub;
  who.email = claims->email;
  who.email_verified = claims->email_verified.value_or(false);
  auto name = internal::OptionalString(*raw, "name");
  if (name && *name) {
    who.name = std::move(**name);
  }
  who.groups = std::move(claims->groups);
  who.amr = std::move(claims->amr);
  who.acr = std::move(claims->acr);
  who.auth_time = claims->auth_time;
  who.context = pending.context;
  return who;
}

}  // namespace opsgate::identity::oidc
