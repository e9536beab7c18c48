// File: opsgate/webchat/webchat.h
//
// The built-in web chat (docs/webchat.md): the page at / (web/index.html, app.js,
// app.css, embedded at build time), its JSON API for enrolment, sign-in and sign-out
// with local accounts (identity/local), and the chat itself over a WebSocket at
// /api/chat, answered through the same built-in commands (pipeline/builtins.h) and
// audited like every other platform.
//
//   WebChat chat(deps);                          // borrowed pieces, see WebChatDeps
//   OPSGATE_RETURN_IF_ERROR(chat.AddRoutes(router));
//
// Security:
//  - the session cookie (__Host-opsgate_session) is Secure, HttpOnly, SameSite=Strict;
//    only its SHA-256 is stored; idle and absolute expiry (identity/local);
//  - every state-changing POST must be application/json (a cross-site form cannot send
//    it without a CORS preflight, which opsgate never grants) and carry an Origin equal
//    to https://<Host>; signed-in POSTs also need X-CSRF-Token = the session's token;
//  - the WebSocket is accepted only with a valid session and Origin == https://<Host>
//    (cross-site WebSocket hijacking); the session is checked again for every message;
//  - pages carry a strict Content-Security-Policy (no inline script or style), no-store,
//    nosniff, frame-ancestors 'none', no-referrer;
//  - sign-in failures are throttled per user and per IP (identity/local) and audited;
//  - password hashing (scrypt) and store work run on a bounded worker queue, never on
//    an I/O thread;
//  - administrative commands (`revoke ISSUER SUBJECT`) need a fresh TOTP step-up bound
//    to the exact command: opsgate asks for `code NNNNNN`, checks it once (replay guard)
//    and runs that command, and only that one, within the step-up's few minutes.
//
// Thread-safety: routes are called from I/O threads; internal work runs on the queue.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "opsgate/audit/sink.h"
#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/core/work_queue.h"
#include "opsgate/http/router.h"
#include "opsgate/identity/local/local_auth.h"
#include "opsgate/identity/oidc/relying_party.h"
#include "opsgate/pipeline/approvals.h"
#include "opsgate/pipeline/authorizer.h"
#include "opsgate/pipeline/dispatcher.h"
#include "opsgate/redact/redactor.h"
#include "opsgate/telemetry/log.h"
#include "opsgate/telemetry/metrics.h"

namespace opsgate::webchat {

struct WebChatDeps {
  identity::local::LocalAuthenticator& auth;
  audit::AuditSink& audit;
  const core::Clock& clock;
  telemetry::Logger& log;
  telemetry::MetricsRegistry& metrics;
  const redact::Redactor* redactor = nullptr;  // applied to stored text and to replies
  // The administrators' `revoke ISSUER SUBJECT` (identity::LinkService::Revoke): removes
  // every chat-platform link of that principal. Null when identity linking is off.
  std::function<core::Result<int64_t>(const std::string& issuer, const std::string& subject)>
      revoke;
  // Policy (docs/policy.md): commands are understood, decided, audited with the
  // decision, then denied, stepped up (`code NNNNNN`), sent for approval or run. Null
  // authorizer/dispatcher: built-ins only.
  pipeline::Authorizer* authorizer = nullptr;
  pipeline::Dispatcher* dispatcher = nullptr;
  pipeline::ApprovalDesk* approvals = nullptr;  // `approvals`, `approve ID`, `deny ID`
  pipeline::UnderstandEnv understand{};
  // The web chat registers "webchat" here: requesters hear about their approvals.
  pipeline::Notifier* notifier = nullptr;
};

struct WebChatOptions {
  // "Sign in with your company account" (GET /auth/signin) is offered on the page.
  bool oidc_sign_in = false;
  size_t workers = 2;
  size_t max_pending = 256;  // queued sign-ins and chat messages; more get 503 / busy
  size_t max_message_bytes = 4096;
};

class WebChat {
 public:
  static constexpr std::string_view kSessionCookie = "__Host-opsgate_session";

  explicit WebChat(WebChatDeps deps, WebChatOptions options = {});
  ~WebChat();

  [[nodiscard]] core::Status AddRoutes(http::Router& router);

  // Stops the worker queue (runs what is queued). Call before the audit log closes.
  void Shutdown();

  // Enables `revoke ISSUER SUBJECT` (see WebChatDeps::revoke). Call before serving.
  void SetRevoke(std::function<core::Result<int64_t>(const std::string&, const std::string&)> fn);

  // After a verified provider sign-in (identity::LinkService's sign-in handler): a
  // session for issuer+subject (MFA noted when the ID token's amr says so), its cookie,
  // an audit record, and a redirect to the chat page.
  http::Response SignedInThroughProvider(const identity::oidc::Identity& who,
                                         const http::Request& request);

  struct State;  // shared with sessions that may outlive a request

 private:
  std::shared_ptr<State> state_;
};

// The embedded page files (generated from web/ at build time).
struct Asset {
  std::string_view path;          // "/static/app.js"
  std::string_view content_type;
  std::string_view body;
};
const Asset* FindAsset(std::string_view path);

}  // namespace opsgate::webchat
