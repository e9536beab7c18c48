#include "opsgate/identity/linking/link_service.h"

#include <utility>

#include "opsgate/core/strings.h"
#include "opsgate/crypto/hash.h"
#include "opsgate/http/cookies.h"
#include "opsgate/identity/oidc/pending_login.h"

namespace opsgate::identity {
namespace {

constexpr char kSep = '\x1f';  // unit separator: never in platform ids (checked)

int64_t UnixMillis(core::Clock::WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A small self-contained page: no scripts, no styles, nothing loaded.
http::Response Page(int status, std::string_view title, std::string_view body_html) {
  http::Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>opsgate: " +
           HtmlEscape(title) + "</title></head><body><h1>" + HtmlEscape(title) + "</h1>" +
           std::string(body_html) + "</body></html>\n";
  r.headers = {{"Content-Security-Policy",
                "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
               {"Cache-Control", "no-store"},
               {"Referrer-Policy", "no-referrer"},
               {"X-Content-Type-Options", "nosniff"},
               {"X-Frame-Options", "DENY"}};
  return r;
}

// The value of query parameter `name` when it consists only of base64url characters
// (link tokens never need %-escapes).
std::optional<std::string_view> TokenParam(std::string_view query, std::string_view name) {
  for (std::string_view pair : core::Split(query, '&')) {
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) {
      continue;
    }
    const std::string_view v = pair.substr(eq + 1);
    if (v.empty() || v.size() > 128) {
      return std::nullopt;
    }
    for (char c : v) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
        return std::nullopt;
      }
    }
    return v;
  }
  return std::nullopt;
}

bool ValidAccountPart(std::string_view s) {
  return !s.empty() && s.size() <= 256 && s.find(kSep) == std::string_view::npos;
}

pipeline::Principal ToPipelinePrincipal(const store::Principal& p) {
  pipeline::Principal out;
  out.issuer = p.issuer;
  out.subject = p.subject;
  out.email = p.email.value_or("");
  out.groups = p.groups;
  out.linked_until = p.expires_at;
  out.mfa_at = p.mfa_at;
  return out;
}

}  // namespace

std::string EncodeLinkContext(const LinkContext& c) {
  return c.purpose + kSep + c.account.platform + kSep + c.account.workspace + kSep +
         c.account.user_id + kSep + c.binding_hash;
}

core::Result<LinkContext> DecodeLinkContext(std::string_view context) {
  const std::vector<std::string_view> parts = core::Split(context, kSep);
  const auto bad = [] { return core::Fail(core::DataLoss("pending login context is malformed")); };
  if (parts.size() != 5 || parts[4].empty()) {
    return bad();
  }
  LinkContext out;
  out.purpose = std::string(parts[0]);
  out.account = {std::string(parts[1]), std::string(parts[2]), std::string(parts[3])};
  out.binding_hash = std::string(parts[4]);
  if (out.purpose == "link") {
    if (!ValidAccountPart(parts[1]) || !ValidAccountPart(parts[2]) || !ValidAccountPart(parts[3])) {
      return bad();
    }
  } else if (out.purpose != "signin" || !parts[1].empty() || !parts[2].empty() ||
             !parts[3].empty()) {
    return bad();
  }
  return out;
}

LinkService::LinkService(LinkServiceOptions options, store::IdentityStore& identities,
                         store::LoginStateStore& logins, oidc::RelyingParty& relying_party,
                         audit::AuditSink& audit, const core::Clock& clock, telemetry::Logger& log)
    : options_(std::move(options)),
      identities_(identities),
      logins_(logins),
      rp_(relying_party),
      audit_(audit),
      clock_(clock),
      log_(log),
      queue_(std::make_unique<core::WorkQueue>("identity", options_.workers, options_.max_pending)) {}

LinkService::~LinkService() { queue_->Shutdown(); }

core::Result<ResolvedIdentity> LinkService::Resolve(const store::PlatformAccount& account) {
  auto found = identities_.Lookup(account, clock_.Now());
  if (!found) {
    return core::Fail(found.error());
  }
  ResolvedIdentity out;
  switch (found->state) {
    case store::LinkLookup::State::kNotLinked:
      out.state = ResolvedIdentity::State::kNotLinked;
      break;
    case store::LinkLookup::State::kExpired:
      out.state = ResolvedIdentity::State::kExpired;
      break;
    case store::LinkLookup::State::kLinked:
      out.state = ResolvedIdentity::State::kLinked;
      out.principal = ToPipelinePrincipal(*found->principal);
      break;
  }
  return out;
}

core::Result<std::string> LinkService::StartLink(const store::PlatformAccount& account) {
  if (!ValidAccountPart(account.platform) || !ValidAccountPart(account.workspace) ||
      !ValidAccountPart(account.user_id)) {
    return core::Fail(core::InvalidArgument("platform account has an empty or invalid part"));
  }
  auto token = oidc::NewLinkToken();
  if (!token) {
    return core::Fail(token.error());
  }
  const auto now = clock_.Now();
  store::LinkTokenRecord record;
  record.token_hash = oidc::LinkTokenHash(token->Reveal());
  record.account = account;
  record.created_at = now;
  record.expires_at = now + options_.link_token_ttl;
  OPSGATE_RETURN_IF_ERROR(identities_.PutLinkToken(record));
  return options_.public_url + std::string(kLoginPath) + "?t=" + std::string(token->Reveal());
}

core::Result<bool> LinkService::Unlink(const store::PlatformAccount& account) {
  auto was = identities_.Unlink(account);
  if (was && *was) {
    audit::Record r;
    r.kind = audit::RecordKind::kAdmin;
    r.platform = account.platform;
    r.workspace = account.workspace;
    r.user = account.user_id;
    r.action = "identity.unlink";
    r.result = "ok";
    Audit(std::move(r));
  }
  return was;
}

core::Result<int64_t> LinkService::Revoke(const std::string& issuer, const std::string& subject) {
  auto n = identities_.Revoke(issuer, subject);
  if (n) {
    audit::Record r;
    r.kind = audit::RecordKind::kAdmin;
    r.principal = issuer + "|" + subject;
    r.action = "identity.revoke";
    r.result = std::to_string(*n);
    Audit(std::move(r));
    log_.Info("identity.revoked", {{"principal", r.principal}, {"links", *n}});
  }
  return n;
}

void LinkService::Audit(audit::Record record) {
  record.timestamp_ms = UnixMillis(clock_.Now());
  audit_.Append(std::move(record), [this](core::Result<uint64_t> seq) {
    if (!seq) {
      log_.Error("identity.audit_failed", {{"error", seq.error().message}});
    }
  });
}

http::Response LinkService::Refuse(const http::Request& request, int status,
                                   std::string_view reason, std::string_view message,
                                   const store::PlatformAccount* account) {
  log_.Warn("identity.link_refused", {{"reason", reason},
                                      {"correlation_id", request.correlation_id},
                                      {"remote", request.remote_address}});
  audit::Record r;
  r.kind = audit::RecordKind::kRejection;
  r.correlation_id = request.correlation_id;
  if (account != nullptr) {
    r.platform = account->platform;
    r.workspace = account->workspace;
    r.user = account->user_id;
  }
  r.action = "identity.link";
  r.result = std::to_string(status);
  r.reason = std::string(reason);
  Audit(std::move(r));
  return Page(status, "Account not linked",
              "<p>" + HtmlEscape(message) +
                  "</p><p>Nothing was changed. To try again, send <code>link</code> to opsgate "
                  "in chat for a new link.</p><p>Reference: " +
                  HtmlEscape(request.correlation_id) + "</p>");
}

http::Response LinkService::Login(const http::Request& request) {
  const auto token = TokenParam(request.query, "t");
  if (!token) {
    return Refuse(request, 400, "missing_token",
                  "This address has no valid link token; open the link opsgate sent you in chat.",
                  nullptr);
  }
  auto taken = identities_.TakeLinkToken(oidc::LinkTokenHash(*token), clock_.Now());
  if (!taken) {
    return Refuse(request, 503, "store_unavailable",
                  "opsgate cannot reach its store right now.", nullptr);
  }
  if (!taken->has_value()) {
    return Refuse(request, 410, "link_token_unknown",
                  "This link was already used, has expired (links work once, for " +
                      std::to_string(options_.link_token_ttl.count() / 60) +
                      " minutes), or never existed.",
                  nullptr);
  }
  const store::PlatformAccount account = (*taken)->account;
  // A re-link (the account is linked, or was until the link expired) is how a chat user
  // refreshes MFA: max_age=0 makes the provider authenticate afresh instead of reusing
  // its session, and the callback then checks that auth_time is now.
  auto existing = identities_.Lookup(account, clock_.Now());
  if (!existing) {
    return Refuse(request, 503, "store_unavailable", "opsgate cannot reach its store right now.",
                  &account);
  }
  std::optional<std::chrono::seconds> max_age;
  if (existing->state != store::LinkLookup::State::kNotLinked) {
    max_age = std::chrono::seconds(0);
  }
  return Redirect(request, "link", &account, max_age);
}

http::Response LinkService::SignIn(const http::Request& request) {
  if (!sign_in_) {
    return Page(404, "Not available", "<p>Sign-in through the identity provider is not enabled.</p>");
  }
  return Redirect(request, "signin", nullptr);
}

http::Response LinkService::Redirect(const http::Request& request, const std::string& purpose,
                                     const store::PlatformAccount* account,
                                     std::optional<std::chrono::seconds> max_age) {
  auto binding = oidc::NewLinkToken();  // 32 random bytes, base64url
  if (!binding) {
    return Refuse(request, 503, "no_randomness", "opsgate could not make a login.", account);
  }
  LinkContext context;
  context.purpose = purpose;
  if (account != nullptr) {
    context.account = *account;
  }
  context.binding_hash = crypto::HexEncode(crypto::Sha256(binding->Reveal()));
  oidc::LoginParams params;
  params.context = EncodeLinkContext(context);
  params.max_age = max_age;
  auto start = rp_.BeginLogin(params);
  if (!start) {
    log_.Error("identity.login_failed", {{"error", start.error().message},
                                         {"correlation_id", request.correlation_id}});
    return Refuse(request, start.error().code == core::ErrorCode::kUnavailable ? 503 : 500,
                  oidc::OidcReasonOf(start.error()),
                  "opsgate could not reach your identity provider.", account);
  }
  if (auto st = logins_.PutLoginState(oidc::ToPendingLogin(start->state)); !st) {
    return Refuse(request, 503, "store_unavailable", "opsgate cannot reach its store right now.",
                  account);
  }
  http::Response r = Page(302, "Signing in", "<p>Continue to your identity provider.</p>");
  r.headers.emplace_back("Location", start->authorization_url);
  r.headers.emplace_back(
      "Set-Cookie",
      http::SetCookie(kBindingCookie, binding->Reveal(),
                      {"/", std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::minutes(15)),
                       "Lax"}));
  return r;
}

http::Response LinkService::Callback(const http::Request& request) {
  auto params = oidc::ParseCallbackQuery(request.query);
  if (!params || !params->state) {
    return Refuse(request, 400, "invalid_request",
                  "The answer from the identity provider is malformed.", nullptr);
  }
  auto taken = logins_.TakeLoginState(oidc::StateHash(*params->state), clock_.Now());
  if (!taken) {
    return Refuse(request, 503, "store_unavailable", "opsgate cannot reach its store right now.",
                  nullptr);
  }
  if (!taken->has_value()) {
    return Refuse(request, 400, "unknown_state",
                  "This sign-in is unknown or was already completed.", nullptr);
  }
  auto context = DecodeLinkContext((*taken)->context);
  if (!context) {
    return Refuse(request, 400, "unknown_state", "This sign-in was not started by opsgate.",
                  nullptr);
  }
  const bool linking = context->purpose == "link";
  const store::PlatformAccount* account = linking ? &context->account : nullptr;
  const auto cookie = http::CookieValue(request, kBindingCookie);
  if (!cookie || !crypto::ConstantTimeEquals(crypto::HexEncode(crypto::Sha256(*cookie)),
                                             context->binding_hash)) {
    return Refuse(request, 403, "browser_mismatch",
                  "This sign-in was started in another browser. Open the link from chat in this "
                  "browser yourself; never follow a sign-in link someone else sent you.",
                  account);
  }
  auto who = rp_.CompleteLogin(oidc::FromPendingLogin(**taken), *params);
  if (!who) {
    const std::string_view reason = oidc::OidcReasonOf(who.error());
    log_.Warn("identity.login_rejected", {{"reason", reason},
                                          {"error", who.error().message},
                                          {"correlation_id", request.correlation_id}});
    const int status = who.error().code == core::ErrorCode::kUnavailable       ? 503
                       : who.error().code == core::ErrorCode::kPermissionDenied ? 403
                                                                                : 401;
    return Refuse(request, status, reason,
                  status == 403 ? "The sign-in was cancelled or refused at the identity provider."
                                : "The identity provider's answer did not check out.",
                  account);
  }
  http::Response done = linking ? Linked(request, *account, *who)
                        : sign_in_ ? sign_in_(*who, request)
                                   : Page(404, "Not available", "<p>Sign-in is not enabled.</p>");
  done.headers.emplace_back("Set-Cookie", http::SetCookie(kBindingCookie, "",
                                                          {"/", std::chrono::seconds(-1), "Lax"}));
  return done;
}

http::Response LinkService::Linked(const http::Request& request,
                                   const store::PlatformAccount& account,
                                   const oidc::Identity& who_ref) {
  const oidc::Identity* who = &who_ref;
  const auto now = clock_.Now();
  store::VerifiedPrincipal verified{who->issuer, who->subject, who->email, who->groups};
  verified.mfa_at = oidc::MfaTime(*who, now);
  const bool mfa = verified.mfa_at.has_value();
  auto linked = identities_.Link(account, verified, now, options_.link_ttl);
  if (!linked) {
    return Refuse(request, 503, "store_unavailable", "opsgate cannot reach its store right now.",
                  &account);
  }
  audit::Record r;
  r.kind = audit::RecordKind::kAdmin;
  r.correlation_id = request.correlation_id;
  r.platform = account.platform;
  r.workspace = account.workspace;
  r.user = account.user_id;
  r.principal = who->issuer + "|" + who->subject;
  r.action = "identity.link";
  // As the web chat's sign-in records it: whether the provider showed MFA.
  r.result = mfa ? "ok_mfa" : "ok";
  Audit(std::move(r));
  log_.Info("identity.linked", {{"platform", account.platform},
                                {"team", account.workspace},
                                {"user", account.user_id},
                                {"principal", who->issuer + "|" + who->subject},
                                {"mfa", mfa},
                                {"correlation_id", request.correlation_id}});
  http::Response page = Page(
      200, "Account linked",
      "<p>Your " + HtmlEscape(account.platform) + " account <code>" +
          HtmlEscape(account.user_id) + "</code> is now linked to <strong>" +
          HtmlEscape(who->email.value_or(who->subject)) + "</strong>.</p>" +
          (mfa ? "<p>Your sign-in used multi-factor authentication; requests that need a "
                 "recent MFA can use it for a while.</p>"
               : "") +
          "<p>You can close this tab and go back to chat; <code>whoami</code> shows the "
          "link.</p>");
  return page;
}

core::Status LinkService::AddRoutes(http::Router& router) {
  const auto async = [this](http::Response (LinkService::*handler)(const http::Request&)) {
    return [this, handler](const http::Request& request, http::Responder respond) {
      auto shared = std::make_shared<http::Responder>(std::move(respond));
      if (!queue_->Post([this, handler, request, shared] { (*shared)((this->*handler)(request)); })) {
        http::Response busy = http::Response::Error(
            503, "busy", "too many sign-ins in progress; try again in a few seconds");
        busy.headers.emplace_back("Retry-After", "5");
        (*shared)(std::move(busy));
      }
    };
  };
  for (const auto& [path, handler] :
       {std::pair{kLoginPath, &LinkService::Login}, std::pair{kCallbackPath, &LinkService::Callback},
        std::pair{kSignInPath, &LinkService::SignIn}}) {
    http::Route route;
    route.method = "GET";
    route.path = std::string(path);
    route.body_limit = 0;
    route.async_handler = async(handler);
    OPSGATE_RETURN_IF_ERROR(router.Add(std::move(route)));
  }
  return core::Ok();
}

}  // namespace opsgate::identity
