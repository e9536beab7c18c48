// File: opsgate/identity/linking/link_service.h
//
// Identity linking end to end (docs/identity.md): `link` in chat gets a single-use URL;
// GET /auth/login?t=TOKEN takes the token and sends the browser to the OpenID Provider
// (authorization code + PKCE, state, nonce); GET /auth/callback validates the answer
// and the ID token, stores the link and audits it.
//
//   LinkService links(options, identity_store, login_states, relying_party, audit, clock, log);
//   OPSGATE_RETURN_IF_ERROR(links.AddRoutes(router));
//   deps.linker = &links;                          // chat connectors resolve principals
//
// Login CSRF (linking someone else's chat account to your identity, or yours to
// theirs): /auth/login sets a random, HttpOnly, Secure, SameSite=Lax cookie scoped to
// /auth and stores only its hash with the pending login; the callback must come from
// the browser holding it. An authorization URL forwarded to someone else is refused.
//
// MFA from the provider (docs/identity.md): when the callback's ID token shows MFA
// (oidc::ShowsMfa, identity/oidc/mfa.h), the principal's mfa_at becomes its auth_time
// (oidc::MfaTime) and Resolve hands it on as pipeline::Principal::mfa_at, so a policy's
// mfa_max_age can be met from chat. The link's audit record says whether MFA was shown
// (result "ok_mfa" instead of "ok"). Step-up: `link` by an account that is already linked
// (also when the link expired) sends the browser to the provider with max_age=0, so the
// provider signs the user in afresh and the callback checks auth_time; running `link`
// again is how a chat user refreshes MFA.
//
// Pages are plain HTML with Content-Security-Policy "default-src 'none'", no-store and
// no-referrer (the login URL carries the token). Refusals say what was wrong and that
// `link` in chat starts over; each is audited (rejection, action identity.link) and
// changes nothing. The provider calls run on a bounded worker queue, never on an I/O
// thread; a full queue answers 503.
//
// Thread-safety: all methods from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "opsgate/audit/sink.h"
#include "opsgate/core/clock.h"
#include "opsgate/core/work_queue.h"
#include "opsgate/http/router.h"
#include "opsgate/identity/linking/linker.h"
#include "opsgate/identity/oidc/mfa.h"
#include "opsgate/identity/oidc/relying_party.h"
#include "opsgate/store/identity_store.h"
#include "opsgate/telemetry/log.h"

namespace opsgate::identity {

struct LinkServiceOptions {
  // How browsers reach opsgate, without a trailing '/': the link URLs start with it.
  std::string public_url;
  // A `link` URL works once, for this long.
  std::chrono::seconds link_token_ttl{std::chrono::minutes(10)};
  // A link is trusted this long after the last sign-in; then `link` again.
  std::chrono::seconds link_ttl{std::chrono::hours(24 * 30)};
  // Provider calls in flight or waiting; more get 503.
  size_t max_pending = 64;
  size_t workers = 2;
};

class LinkService final : public Linker {
 public:
  static constexpr std::string_view kLoginPath = "/auth/login";
  static constexpr std::string_view kSignInPath = "/auth/signin";
  static constexpr std::string_view kCallbackPath = "/auth/callback";

  // What a verified sign-in (GET /auth/signin, not a link) turns into: the web chat
  // makes a session and redirects to its page. Runs on the worker queue.
  using SignInHandler =
      std::function<http::Response(const oidc::Identity& who, const http::Request& request)>;
  static constexpr std::string_view kBindingCookie = "__Host-opsgate_link";

  LinkService(LinkServiceOptions options, store::IdentityStore& identities,
              store::LoginStateStore& logins, oidc::RelyingParty& relying_party,
              audit::AuditSink& audit, const core::Clock& clock, telemetry::Logger& log);
  ~LinkService() override;

  // Linker (chat side).
  core::Result<ResolvedIdentity> Resolve(const store::PlatformAccount& account) override;
  core::Result<std::string> StartLink(const store::PlatformAccount& account) override;
  std::chrono::seconds link_token_ttl() const override { return options_.link_token_ttl; }
  core::Result<bool> Unlink(const store::PlatformAccount& account) override;

  // Admin revoke: removes every link of (issuer, subject) and audits it. Returns how
  // many platform accounts lost their link.
  core::Result<int64_t> Revoke(const std::string& issuer, const std::string& subject);

  // GET /auth/login, /auth/signin and /auth/callback, asynchronous (work on the queue).
  [[nodiscard]] core::Status AddRoutes(http::Router& router);

  // Enables GET /auth/signin: "sign in with your company account" for the web chat.
  // Call before AddRoutes' routes serve requests.
  void SetSignInHandler(SignInHandler handler) { sign_in_ = std::move(handler); }

  // The handlers themselves, blocking (tests; the routes run them on the queue).
  http::Response Login(const http::Request& request);
  http::Response SignIn(const http::Request& request);
  http::Response Callback(const http::Request& request);

 private:
  http::Response Refuse(const http::Request& request, int status, std::string_view reason,
                        std::string_view message, const store::PlatformAccount* account);
  void Audit(audit::Record record);

  const LinkServiceOptions options_;
  store::IdentityStore& identities_;
  store::LoginStateStore& logins_;
  oidc::RelyingParty& rp_;
  audit::AuditSink& audit_;
  const core::Clock& clock_;
  telemetry::Logger& log_;
  // Stores the link of a verified callback and audits it.
  http::Response Linked(const http::Request& request, const store::PlatformAccount& account,
                        const oidc::Identity& who);
  // Starts a provider login for `context` (link or sign-in); adds the browser binding.
  // `max_age` (a re-link's 0) is sent to the provider and checked against auth_time.
  http::Response Redirect(const http::Request& request, const std::string& purpose,
                          const store::PlatformAccount* account,
                          std::optional<std::chrono::seconds> max_age = std::nullopt);

  SignInHandler sign_in_;
  std::unique_ptr<core::WorkQueue> queue_;
};

// The pending login's context: its purpose ("link" with the account to link, or
// "signin"), and the browser binding's hash.
struct LinkContext {
  std::string purpose;              // "link" | "signin"
  store::PlatformAccount account;   // for "link"
  std::string binding_hash;
};
std::string EncodeLinkContext(const LinkContext& context);
[[nodiscard]] core::Result<LinkContext> DecodeLinkContext(std::string_view context);

}  // namespace opsgate::identity
