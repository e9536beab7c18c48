#include "opsgate/webchat/webchat.h"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cctype>
#include <mutex>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "opsgate/core/strings.h"
#include "opsgate/http/cookies.h"
#include "opsgate/identity/oidc/mfa.h"
#include "opsgate/pipeline/builtins.h"

namespace opsgate::webchat {
namespace json = boost::json;

namespace {

using pipeline::Say;

constexpr size_t kApiBodyLimit = 16 * 1024;
// Close code for "your session ended": the page shows the sign-in form again.
constexpr auto kSessionEnded = static_cast<http::WebSocketCloseCode>(4401);

int64_t UnixMillis(core::Clock::WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

void AddSecurityHeaders(http::Response& r) {
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; script-src 'self'; style-src 'self'; "
                         "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                         "base-uri 'none'; form-action 'self'; object-src 'none'");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
}

http::Response Json(int status, const json::value& v) {
  http::Response r = http::Response::Json(status, json::serialize(v));
  AddSecurityHeaders(r);
  return r;
}

http::Response Error(int status, std::string_view code, std::string_view message) {
  http::Response r = http::Response::Error(status, code, message);
  AddSecurityHeaders(r);
  return r;
}

// The reason word at the start of a local-auth error ("totp_invalid: ...").
std::string ReasonOf(const core::Error& e) {
  const size_t colon = e.message.find(':');
  return colon == std::string::npos ? std::string("error") : e.message.substr(0, colon);
}

// The message without its leading reason word ("totp_invalid: the code ..." -> "the code ...").
std::string MessageOf(const core::Error& e) {
  const size_t colon = e.message.find(": ");
  return colon == std::string::npos ? e.message : e.message.substr(colon + 2);
}

int StatusFor(const core::Error& e) {
  switch (e.code) {
    case core::ErrorCode::kInvalidArgument: return 400;
    case core::ErrorCode::kUnauthenticated: return 401;
    case core::ErrorCode::kNotFound: return 404;
    case core::ErrorCode::kAlreadyExists: return 409;
    case core::ErrorCode::kResourceExhausted: return 429;
    default: return 503;
  }
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

const char* ButtonKind(pipeline::ReplyButton::Kind k) {
  switch (k) {
    case pipeline::ReplyButton::Kind::kConfirm: return "confirm";
    case pipeline::ReplyButton::Kind::kCancel: return "cancel";
    case pipeline::ReplyButton::Kind::kApprove: return "approve";
    case pipeline::ReplyButton::Kind::kDeny: return "deny";
  }
  return "cancel";
}

const char* BlockKind(pipeline::ReplyBlock::Kind k) {
  switch (k) {
    case pipeline::ReplyBlock::Kind::kHeading: return "heading";
    case pipeline::ReplyBlock::Kind::kText: return "text";
    case pipeline::ReplyBlock::Kind::kCode: return "code";
    case pipeline::ReplyBlock::Kind::kFields: return "fields";
    case pipeline::ReplyBlock::Kind::kLink: return "link";
    case pipeline::ReplyBlock::Kind::kNote: return "note";
    case pipeline::ReplyBlock::Kind::kButtons: return "buttons";
  }
  return "text";
}

}  // namespace

// Everything the routes and the chat sessions share; sessions may outlive a request.
struct WebChat::State : std::enable_shared_from_this<WebChat::State> {
  State(WebChatDeps d, WebChatOptions o)
      : deps(d), options(o), queue("webchat", o.workers, o.max_pending) {
    logins = &deps.metrics.AddCounter("opsgate_webchat_logins_total",
                                      "Web chat sign-in attempts by result.", {"result"});
  }

  std::string Redact(std::string_view text) const {
    return deps.redactor != nullptr ? deps.redactor->Redact(text) : std::string(text);
  }

  json::object ReplyJson(const pipeline::Reply& reply) const {
    json::array blocks;
    for (const pipeline::ReplyBlock& b : reply.blocks) {
      json::object o{{"kind", BlockKind(b.kind)}, {"text", Redact(b.text)}};
      if (!b.url.empty()) {
        o["url"] = b.url;
      }
      if (!b.fields.empty()) {
        json::array fields;
        for (const auto& [k, v] : b.fields) {
          fields.push_back(json::array{json::string(Redact(k)), json::string(Redact(v))});
        }
        o["fields"] = std::move(fields);
      }
      if (!b.buttons.empty()) {
        json::array buttons;
        for (const pipeline::ReplyButton& button : b.buttons) {
          buttons.push_back(json::object{{"kind", ButtonKind(button.kind)}, {"value", button.value}});
        }
        o["buttons"] = std::move(buttons);
      }
      blocks.push_back(std::move(o));
    }
    return json::object{{"text", Redact(reply.text)},
                        {"ephemeral", reply.ephemeral},
                        {"blocks", std::move(blocks)}};
  }

  void Audit(audit::Record r, std::function<void(bool durable)> then) {
    r.timestamp_ms = UnixMillis(deps.clock.Now());
    r.platform = "webchat";
    deps.audit.Append(std::move(r), [this, then = std::move(then)](core::Result<uint64_t> seq) {
      if (!seq) {
        deps.log.Error("webchat.audit_failed", {{"error", seq.error().message}});
      }
      if (then) {
        then(seq.has_value());
      }
    });
  }

  // The session behind the request's cookie.
  core::Result<identity::local::SessionInfo> SessionOf(const http::Request& request) {
    const auto cookie = http::CookieValue(request, kSessionCookie);
    if (!cookie || cookie->empty() || cookie->size() > 128) {
      return core::Fail(core::Unauthenticated("session_unknown: not signed in"));
    }
    return deps.auth.ValidateSession(core::Secret(std::string(*cookie)));
  }

  // application/json from this origin: what cross-site forms cannot send.
  std::optional<http::Response> CheckPost(const http::Request& request) {
    const auto type = request.Header("content-type");
    if (!type || type->rfind("application/json", 0) != 0) {
      return Error(415, "unsupported_media_type", "send the request as application/json");
    }
    if (!request.Header("origin") || !http::OriginMatchesHost(request)) {
      return Error(403, "origin_not_allowed",
                   "requests must come from opsgate's own page (Origin must match the host)");
    }
    return std::nullopt;
  }

  core::Result<json::object> Body(const http::Request& request) {
    boost::system::error_code ec;
    json::value v = json::parse(request.body, ec);
    if (ec || !v.is_object()) {
      return core::Fail(core::InvalidArgument("the body is not a JSON object"));
    }
    return std::move(v.as_object());
  }

  http::Response Session(const http::Request& request) {
    auto info = SessionOf(request);
    if (!info) {
      return Json(200, json::object{{"signed_in", false}, {"oidc", options.oidc_sign_in}});
    }
    return Json(200, json::object{{"signed_in", true},
                                  {"username", info->username.empty() ? info->oidc_subject
                                                                      : info->username},
                                  {"principal", info->Principal()},
                                  {"is_admin", info->is_admin},
                                  {"csrf_token", std::string(info->csrf_token.Reveal())}});
  }

  http::Response Login(const http::Request& request) {
    if (auto refused = CheckPost(request)) {
      return *refused;
    }
    auto body = Body(request);
    if (!body) {
      return Error(400, "malformed", body.error().message);
    }
    const std::string username = Str(*body, "username");
    auto out = deps.auth.Login(username, core::Secret(Str(*body, "password")), Str(*body, "totp"),
                               request.remote_address);
    if (!out) {
      logins->With({"error"}).Inc();
      return Error(503, "unavailable", "opsgate cannot check sign-ins right now; try again");
    }
    audit::Record r;
    r.correlation_id = request.correlation_id;
    r.user = core::SanitizeUtf8(username.substr(0, 64));
    r.action = "webchat.login";
    if (auto* refused = std::get_if<identity::local::LoginRefused>(&*out)) {
      const std::string reason(identity::local::LoginRefusalName(refused->reason));
      logins->With({reason}).Inc();
      deps.log.Warn("webchat.login_refused", {{"reason", reason},
                                              {"remote", request.remote_address},
                                              {"correlation_id", request.correlation_id}});
      r.kind = audit::RecordKind::kRejection;
      r.reason = reason;
      const bool throttled = refused->reason == identity::local::LoginRefusal::kThrottled;
      r.result = throttled ? "429" : "401";
      Audit(std::move(r), nullptr);
      http::Response resp = Error(
          throttled ? 429 : 401, reason,
          throttled ? "too many failed sign-ins; wait and try again"
                    : "sign-in refused: check the user name, password and the current code");
      if (throttled) {
        resp.headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(
                                                     1, refused->retry_after.count())));
      }
      return resp;
    }
    const auto& session = std::get<identity::local::Session>(*out);
    logins->With({"ok"}).Inc();
    r.kind = audit::RecordKind::kAdmin;
    r.principal = "local|" + session.username;
    r.result = "ok";
    Audit(std::move(r), nullptr);
    http::Response resp = Json(200, json::object{{"username", session.username},
                                                 {"csrf_token",
                                                  std::string(session.csrf_token.Reveal())}});
    resp.headers.emplace_back(
        "Set-Cookie",
        http::SetCookie(kSessionCookie, session.token.Reveal(),
                        {"/", std::chrono::duration_cast<std::chrono::seconds>(
                                  session.absolute_expires_at - deps.clock.Now()),
                         "Strict"}));
    return resp;
  }

  http::Response Logout(const http::Request& request) {
    if (auto refused = CheckPost(request)) {
      return *refused;
    }
    auto info = SessionOf(request);
    if (!info) {
      return Error(401, "not_signed_in", "you are not signed in");
    }
    if (!identity::local::LocalAuthenticator::CheckCsrf(
            *info, request.Header("x-csrf-token").value_or(""))) {
      return Error(403, "csrf_token_mismatch", "reload the page and try again");
    }
    const auto cookie = http::CookieValue(request, kSessionCookie);
    (void)deps.auth.Logout(core::Secret(std::string(*cookie)));
    http::Response resp = Json(200, json::object{});
    resp.headers.emplace_back("Set-Cookie", http::SetCookie(kSessionCookie, "",
                                                            {"/", std::chrono::seconds(-1), "Strict"}));
    return resp;
  }

  http::Response Enrol(const http::Request& request) {
    if (auto refused = CheckPost(request)) {
      return *refused;
    }
    auto body = Body(request);
    if (!body) {
      return Error(400, "malformed", body.error().message);
    }
    auto e = deps.auth.Enrol(core::Secret(Str(*body, "token")), Str(*body, "username"),
                             core::Secret(Str(*body, "password")));
    audit::Record r;
    r.correlation_id = request.correlation_id;
    r.action = "webchat.enrol";
    if (!e) {
      r.kind = audit::RecordKind::kRejection;
      r.reason = ReasonOf(e.error());
      r.result = std::to_string(StatusFor(e.error()));
      Audit(std::move(r), nullptr);
      return Error(StatusFor(e.error()), ReasonOf(e.error()), MessageOf(e.error()));
    }
    r.kind = audit::RecordKind::kAdmin;
    r.principal = "local|" + e->username;
    r.result = e->is_admin ? "admin" : "user";
    Audit(std::move(r), nullptr);
    return Json(200, json::object{{"username", e->username},
                                  {"is_admin", e->is_admin},
                                  {"totp_uri", std::string(e->totp.otpauth_uri.Reveal())},
                                  {"totp_secret", std::string(e->totp.base32_secret.Reveal())},
                                  {"qr_svg", e->totp.qr_svg}});
  }

  http::Response ConfirmTotp(const http::Request& request) {
    if (auto refused = CheckPost(request)) {
      return *refused;
    }
    auto body = Body(request);
    if (!body) {
      return Error(400, "malformed", body.error().message);
    }
    auto st = deps.auth.ConfirmTotp(Str(*body, "username"), Str(*body, "code"));
    if (!st) {
      return Error(StatusFor(st.error()), ReasonOf(st.error()), MessageOf(st.error()));
    }
    return Json(200, json::object{{"confirmed", true}});
  }

  // Runs `handler` on the worker queue and answers through `respond`.
  http::AsyncHandler OnQueue(http::Response (State::*handler)(const http::Request&)) {
    return [self = shared_from_this(), handler](const http::Request& request,
                                                http::Responder respond) {
      auto shared = std::make_shared<http::Responder>(std::move(respond));
      if (!self->queue.Post([self, handler, request, shared] {
            (*shared)(((*self).*handler)(request));
          })) {
        http::Response busy = Error(503, "busy", "opsgate is busy; try again in a few seconds");
        busy.headers.emplace_back("Retry-After", "2");
        (*shared)(std::move(busy));
      }
    };
  }

  // Open chat connections, for notices to people who are not the asker (approvers,
  // requesters whose request was decided).
  struct PeerEntry {
    const void* owner;  // the ChatSession
    std::string user_id;
    std::vector<std::string> groups;
    std::weak_ptr<http::WebSocketPeer> peer;
  };
  void AddPeer(PeerEntry entry) {
    std::lock_guard<std::mutex> lock(peers_mu);
    peers.push_back(std::move(entry));
  }
  void RemovePeer(const void* owner) {
    std::lock_guard<std::mutex> lock(peers_mu);
    std::erase_if(peers, [owner](const PeerEntry& e) { return e.owner == owner; });
  }
  // Sends `frame` to every open connection `pick` selects; returns how many.
  size_t SendTo(const std::function<bool(const PeerEntry&)>& pick, const std::string& frame) {
    std::vector<std::shared_ptr<http::WebSocketPeer>> targets;
    {
      std::lock_guard<std::mutex> lock(peers_mu);
      for (const PeerEntry& e : peers) {
        if (pick(e)) {
          if (auto p = e.peer.lock()) {
            targets.push_back(std::move(p));
          }
        }
      }
    }
    for (const auto& p : targets) {
      p->Send(frame);
    }
    return targets.size();
  }
  std::string ReplyFrame(const pipeline::Reply& reply) const {
    return json::serialize(json::object{{"type", "reply"}, {"reply", ReplyJson(reply)}});
  }

  WebChatDeps deps;
  const WebChatOptions options;
  core::WorkQueue queue;
  std::mutex peers_mu;
  std::vector<PeerEntry> peers;  // GUARDED_BY(peers_mu)
  telemetry::Family<telemetry::Counter>* logins = nullptr;
};

namespace {

// One browser tab's chat connection.
class ChatSession final : public http::WebSocketSession,
                          public std::enable_shared_from_this<ChatSession> {
 public:
  ChatSession(std::shared_ptr<WebChat::State> state, std::string token,
              identity::local::SessionInfo info)
      : state_(std::move(state)), token_(std::move(token)), info_(std::move(info)) {}

  void OnOpen(std::shared_ptr<http::WebSocketPeer> peer) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      peer_ = peer;
    }
    const pipeline::Principal who = PrincipalOf(info_);
    state_->AddPeer({this, UserIdOf(info_), who.groups, peer});
    peer->Send(json::serialize(json::object{
        {"type", "hello"},
        {"username", info_.username.empty() ? info_.oidc_subject : info_.username}}));
  }

  void OnMessage(std::string text) override {
    if (text.size() > state_->options.max_message_bytes) {
      SendError("too_long", "messages are limited to " +
                                std::to_string(state_->options.max_message_bytes) + " bytes");
      return;
    }
    auto self = shared_from_this();
    if (!state_->queue.Post([self, text = std::move(text)] { self->Handle(text); })) {
      SendError("busy", "opsgate is busy; try again in a few seconds");
    }
  }

  void OnClose() override {
    state_->RemovePeer(this);
    std::lock_guard<std::mutex> lock(mu_);
    peer_.reset();
  }

  ~ChatSession() override { state_->RemovePeer(this); }

  // The peer while the connection is open (workers read it; the strand sets it).
  std::shared_ptr<http::WebSocketPeer> Peer() {
    std::lock_guard<std::mutex> lock(mu_);
    return peer_;
  }

 private:
  void SendError(std::string_view code, std::string_view message) {
    if (auto peer = Peer()) {
      peer->Send(json::serialize(
          json::object{{"type", "error"}, {"error", code}, {"message", message}}));
    }
  }

  // On the worker queue.
  void Handle(const std::string& text) {
    // The session may have ended (expiry, sign-out in another tab) since the socket opened.
    auto info = state_->deps.auth.ValidateSession(core::Secret(token_));
    if (!info) {
      SendError("session_ended", "your session ended; sign in again");
      if (auto peer = Peer()) {
        peer->Close(kSessionEnded, "session ended");
      }
      return;
    }
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) {
      SendError("malformed", "send {\"type\":\"say\",\"text\":\"...\"}");
      return;
    }
    const json::object& o = v.as_object();
    const std::string type = Str(o, "type");
    pipeline::Message m;
    m.platform = "webchat";
    m.workspace_id = "local";
    m.user_id = UserIdOf(*info);
    m.user_name = m.user_id;
    m.received_at = state_->deps.clock.Now();
    m.is_direct = true;  // a one-to-one conversation with opsgate
    m.reply_to.channel_id = "webchat";
    const pipeline::Principal principal = PrincipalOf(*info);
    audit::Record r;
    r.kind = audit::RecordKind::kRequest;
    r.workspace = "local";
    r.user = m.user_id;
    r.principal = principal.Id();
    r.result = "accepted";
    r.correlation_id = "webchat-" + std::to_string(UnixMillis(m.received_at)) + "-" +
                       std::to_string(sequence_.fetch_add(1));
    m.correlation_id = r.correlation_id;
    // What runs once the request is on record (on the worker queue, never before).
    std::function<pipeline::Reply()> act;
    if (type == "say") {
      m.text = core::SanitizeUtf8(Str(o, "text"));
      r.action = "message";
      // A one-time code is worthless once used, but it has no business in the log.
      const bool code = m.text.rfind("code ", 0) == 0;
      r.text = audit::Field::Plain(code ? std::string("code ******") : state_->Redact(m.text));
      act = Understand(*info, principal, m, r);
    } else if (type == "click") {
      const std::string action = Str(o, "action");
      const std::string value = Str(o, "value");
      r.action = "click";
      r.resource = core::SanitizeUtf8(action.substr(0, 32));
      if ((action == "approve" || action == "deny") && !value.empty()) {
        m.text = action + " " + core::SanitizeUtf8(value.substr(0, 32));
        act = Understand(*info, principal, m, r);
      } else if (action == "confirm" || action == "cancel") {
        // The answer to the open dialog's question (dialog.h), as if typed.
        m.text = action == "confirm" ? "yes" : "cancel";
        act = Understand(*info, principal, m, r);
      } else {
        act = [] {
          pipeline::Reply reply("opsgate does not handle this button.");
          reply.Text(reply.text);
          return reply;
        };
      }
    } else {
      SendError("unknown_type", "type must be say or click");
      return;
    }
    // The answer is worked out and sent only once the request is on record.
    auto self = shared_from_this();
    state_->Audit(std::move(r), [self, act = std::move(act)](bool durable) {
      if (!durable) {
        self->SendError("audit_unavailable",
                        "opsgate cannot record your request right now, so it does not act on it");
        return;
      }
      if (!self->state_->queue.Post([self, act] {
            const pipeline::Reply reply = act();
            if (auto peer = self->Peer()) {
              peer->Send(self->state_->ReplyFrame(reply));
            }
          })) {
        self->SendError("busy", "opsgate is busy; try again in a few seconds");
      }
    });
  }

  static std::string UserIdOf(const identity::local::SessionInfo& info) {
    return info.username.empty() ? info.oidc_subject : info.username;
  }

  // Local accounts have no provider groups: administrators are in group `admins` and
  // have role `admin` (docs/webchat.md#policy).
  static pipeline::Principal PrincipalOf(const identity::local::SessionInfo& info) {
    pipeline::Principal p;
    const bool local = !info.username.empty();
    p.issuer = local ? "local" : info.oidc_issuer;
    p.subject = UserIdOf(info);
    p.mfa_at = info.mfa_verified_at;
    if (local && info.is_admin) {
      p.groups = {"admins"};
      p.roles = {"admin"};
    }
    return p;
  }

  // Reads a typed line, fills the audit record with what it asks and the decision, and
  // returns what to do once the record is durable.
  std::function<pipeline::Reply()> Understand(const identity::local::SessionInfo& info,
                                              const pipeline::Principal& principal,
                                              const pipeline::Message& m, audit::Record& r) {
    auto self = shared_from_this();
    const std::vector<std::string_view> words = core::Words(m.text);
    const std::string first = words.empty() ? std::string() : core::AsciiLower(words[0]);
    if (first == "revoke" || first == "code") {
      return [self, info, text = m.text, principal, m] {
        return self->AdminCommand(info, principal, m, text);
      };
    }
    if ((first == "approve" || first == "deny" || first == "cancel") && words.size() == 2) {
      r.action = first == "approve" ? "opsgate:Approve"
                 : first == "deny"  ? "opsgate:Deny"
                                    : "opsgate:CancelApproval";
      r.resource = "opsgate:approval/" + std::string(words[1]).substr(0, 32);
      return
          [self, info, principal, m, verb = first, id = core::AsciiUpper(words[1].substr(0, 32))] {
            return self->ApprovalCommand(info, principal, m, verb, id);
          };
    }
    if (first == "approvals" && words.size() == 1) {
      r.action = "opsgate:ListApprovals";
      return [self] { return self->ListApprovals(); };
    }
    const pipeline::ParsedBuiltin command = pipeline::ParseBuiltin(m.text);
    if (command.verb == pipeline::Builtin::kLink || command.verb == pipeline::Builtin::kUnlink) {
      return [] {
        pipeline::Reply reply(
            "Your web chat account is your identity here; link and unlink "
            "are for chat platforms such as Slack.");
        reply.Text(reply.text);
        return reply;
      };
    }
    const WebChatDeps& deps = state_->deps;
    pipeline::Planned planned =
        pipeline::Plan(m, principal, deps.understand,
                       deps.dispatcher != nullptr ? deps.authorizer : nullptr, m.received_at);
    pipeline::DescribeForAudit(planned, r);
    if (planned.decision) {
      r.kind = audit::RecordKind::kDecision;
    }
    return [self, info, principal, m, planned = std::move(planned)] {
      return self->Act(info, principal, m, planned);
    };
  }

  pipeline::Reply Act(const identity::local::SessionInfo& info,
                      const pipeline::Principal& principal, const pipeline::Message& m,
                      const pipeline::Planned& planned) {
    using Kind = pipeline::Understanding::Kind;
    const pipeline::Understanding& u = planned.understanding;
    switch (u.kind) {
      case Kind::kInvalid:
      case Kind::kMissingSlots:
        return pipeline::CommandProblemReply(u);
      case Kind::kReply:
        return u.reply;
      case Kind::kNotUnderstood:
        return pipeline::AnswerBuiltin(pipeline::ParseBuiltin(m.text), m, principal,
                                       {"", m.received_at, false});
      case Kind::kBuiltin:
        if (!planned.decision || planned.decision->effect == policy::Decision::Effect::kAllow) {
          return pipeline::AnswerBuiltin(pipeline::ParseBuiltin(m.text), m, principal,
                                         {"", m.received_at, false});
        }
        break;
      case Kind::kCommand:
        if (!planned.decision) {
          return Say("Commands are not available on this opsgate (no policy is loaded).");
        }
        break;
    }
    if (planned.decision->effect == policy::Decision::Effect::kNeedsMfa && !info.username.empty()) {
      // A local account steps up with its authenticator, bound to exactly this request.
      return BeginStepUp(principal, "action\n" + u.request.canonical,
                         pipeline::NeedsMfaReply(*planned.decision, u.request, kCodeHint), u);
    }
    return state_->deps.dispatcher->Decided(
        m, principal, planned,
        info.username.empty() ? "Sign out and sign in again with MFA at your identity provider, "
                                "then send the command again."
                              : kCodeHint,
        [this, &principal](const store::ApprovalRequest&, const pipeline::PendingAction&,
                           const policy::Approval& spec, const pipeline::Reply& ask) {
          return AskApprovers(principal, spec.approver_group, ask);
        });
  }

  // Shows an approval request to every open web chat connection of its approver group
  // (the requester excepted).
  std::string AskApprovers(const pipeline::Principal& requester, const std::string& group,
                           const pipeline::Reply& ask) {
    const std::string frame = state_->ReplyFrame(ask);
    (void)state_->SendTo(
        [&](const WebChat::State::PeerEntry& e) {
          return e.user_id != requester.subject &&
                 std::find(e.groups.begin(), e.groups.end(), group) != e.groups.end();
        },
        frame);
    return "the members of " + group + " (in the web chat they can type `approvals`)";
  }

  pipeline::Reply ApprovalCommand(const identity::local::SessionInfo& info,
                                  const pipeline::Principal& principal, const pipeline::Message& m,
                                  const std::string& verb, const std::string& id) {
    const WebChatDeps& deps = state_->deps;
    if (deps.approvals == nullptr || deps.dispatcher == nullptr) {
      return Say("Approvals are not available on this opsgate (no policy is loaded).");
    }
    if (verb == "cancel") {
      auto cancelled = deps.approvals->Cancel(id, principal);
      if (!cancelled) {
        return Say("opsgate cannot reach its store right now; nothing changed. Try again.");
      }
      return Say(*cancelled ? "Request " + id + " is cancelled; nothing will run."
                            : "You have no pending request " + id + ".");
    }
    const auto max_age = deps.approvals->settings().approver_mfa_max_age;
    const core::Clock::WallTime now = deps.clock.Now();
    const bool fresh = principal.mfa_at && now - *principal.mfa_at <= max_age;
    if (!fresh && !info.username.empty()) {
      return BeginStepUp(principal, verb + "\n" + id,
                         Say("Approvers confirm it is them first. " + std::string(kCodeHint)));
    }
    return Vote(m, principal, verb, id);
  }

  pipeline::Reply Vote(const pipeline::Message& m, const pipeline::Principal& principal,
                       const std::string& verb, const std::string& id) {
    pipeline::Dispatcher::VoteOutcome out =
        state_->deps.dispatcher->Vote(m, id, principal, verb == "approve");
    return out.for_voter;
  }

  pipeline::Reply ListApprovals() {
    const WebChatDeps& deps = state_->deps;
    if (deps.approvals == nullptr) {
      return Say("Approvals are not available on this opsgate (no policy is loaded).");
    }
    auto pending = deps.approvals->Pending(20);
    if (!pending) {
      return Say("opsgate cannot read approvals right now. Try again.");
    }
    if (pending->empty()) {
      return Say("No approval requests are waiting.");
    }
    pipeline::Reply r("Approval requests waiting: " + std::to_string(pending->size()));
    r.Heading("Waiting for approval");
    for (const store::ApprovalRequest& req : *pending) {
      auto action = pipeline::DecodePendingAction(req.payload);
      std::vector<std::pair<std::string, std::string>> fields = {{"request", req.id},
                                                                 {"requested by", req.requester}};
      if (action) {
        fields.emplace_back("action", action->action.action);
        if (!action->action.resource.empty()) {
          fields.emplace_back("resource", action->action.resource);
        }
      }
      r.Fields(std::move(fields))
          .Buttons({{pipeline::ReplyButton::Kind::kApprove, req.id},
                    {pipeline::ReplyButton::Kind::kDeny, req.id}});
    }
    return r;
  }

  // Opens a TOTP step-up for exactly `request` and remembers it for `code NNNNNN` (with
  // the understood command it stands for, when it is one).
  pipeline::Reply BeginStepUp(const pipeline::Principal& principal, const std::string& request,
                              pipeline::Reply ask,
                              std::optional<pipeline::Understanding> understood = std::nullopt) {
    auto challenge = state_->deps.auth.BeginStepUp(principal.subject, request);
    if (!challenge) {
      return Say("opsgate could not start the confirmation; nothing changed. Try again.");
    }
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = Pending{std::move(challenge->challenge_id), request, std::move(understood)};
    return ask;
  }

  static constexpr std::string_view kCodeHint =
      "Send code followed by the 6 digits from your authenticator app, within 5 minutes.";

  // `revoke ISSUER SUBJECT` and `code NNNNNN`; nullopt for anything else.
  // `revoke ISSUER SUBJECT` (administrators) and `code NNNNNN` (whoever a step-up waits
  // for: revoke, a command that needs MFA, an approver's vote).
  pipeline::Reply AdminCommand(const identity::local::SessionInfo& info,
                               const pipeline::Principal& who, const pipeline::Message& m,
                               const std::string& text) {
    const std::vector<std::string_view> words = core::Words(text);
    const std::string principal = info.Principal();
    auto& auth = state_->deps.auth;
    if (words[0] == "revoke") {
      if (!info.is_admin) {
        return Say("Only opsgate administrators may use revoke.");
      }
      if (!state_->deps.revoke) {
        return Say(
            "Identity linking is not configured (identity.oidc), so there is nothing to revoke.");
      }
      if (words.size() != 3) {
        return Say("Usage: revoke ISSUER SUBJECT (the principal whose chat links end).");
      }
      const std::string request = "revoke\n" + std::string(words[1]) + "\n" + std::string(words[2]);
      pipeline::Reply r("Confirm with your authenticator: send code NNNNNN");
      r.Text("Revoking every chat link of " + std::string(words[2]) + " at " +
             std::string(words[1]) + " needs a fresh confirmation.")
          .Text(std::string(kCodeHint))
          .Note("The confirmation covers exactly this command, once.");
      return BeginStepUp(who, request, std::move(r));
    }
    // code NNNNNN
    std::optional<Pending> pending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending.swap(pending_);
    }
    if (!pending) {
      return Say("There is nothing waiting for a code.");
    }
    if (words.size() != 2) {
      return Say("Usage: code NNNNNN");
    }
    if (auto st = auth.CompleteStepUp(pending->challenge, principal, words[1]); !st) {
      return Say("Not confirmed (" + ReasonOf(st.error()) +
                 "); nothing changed. Send the command again.");
    }
    auto consumed = auth.ConsumeStepUp(principal, pending->request);
    if (!consumed || !*consumed) {
      return Say("The confirmation was already used or expired; nothing changed.");
    }
    const std::vector<std::string_view> parts = core::Split(pending->request, '\n');
    if (parts[0] == "revoke") {
      auto revoked = state_->deps.revoke(std::string(parts[1]), std::string(parts[2]));
      if (!revoked) {
        return Say("opsgate could not revoke right now; nothing changed. Try again.");
      }
      return Say("Revoked: " + std::to_string(*revoked) + " chat account link(s) of " +
                 std::string(parts[2]) + " at " + std::string(parts[1]) + " removed.");
    }
    // The confirmed request, exactly as bound, with MFA as of now.
    pipeline::Principal fresh = who;
    fresh.mfa_at = state_->deps.clock.Now();
    if (parts[0] == "approve" || parts[0] == "deny") {
      return Vote(m, fresh, std::string(parts[0]), std::string(parts[1]));
    }
    if (!pending->understood) {
      return Say("The confirmation was for something that can no longer run; send it again.");
    }
    return Redecide(info, fresh, m, *pending->understood);
  }

  // After a step-up: decides the confirmed command again, records that decision (it is
  // what the action runs under), then acts on it. On the worker queue, so it may wait.
  pipeline::Reply Redecide(const identity::local::SessionInfo& info,
                           const pipeline::Principal& principal, const pipeline::Message& m,
                           pipeline::Understanding understood) {
    const WebChatDeps& deps = state_->deps;
    understood.request.needs_confirmation = false;  // confirmed before the step-up
    pipeline::Planned planned = pipeline::Decide(m, principal, std::move(understood),
                                                 deps.understand, *deps.authorizer,
                                                 deps.clock.Now());
    audit::Record r;
    r.kind = audit::RecordKind::kDecision;
    r.timestamp_ms = UnixMillis(deps.clock.Now());
    r.platform = "webchat";
    r.workspace = "local";
    r.user = m.user_id;
    r.principal = principal.Id();
    r.correlation_id = m.correlation_id;
    r.result = "accepted";
    r.reason = "after MFA step-up";
    pipeline::DescribeForAudit(planned, r);
    if (!deps.audit.AppendAndWait(std::move(r))) {
      return Say("opsgate cannot record your request right now, so it does not act on it.");
    }
    if (planned.decision && planned.decision->effect == policy::Decision::Effect::kNeedsMfa) {
      return Say("Still not allowed after the confirmation: " + planned.decision->reason);
    }
    return Act(info, principal, m, planned);
  }

  struct Pending {
    core::Secret challenge;
    std::string request;  // the exact command the step-up is bound to
    std::optional<pipeline::Understanding> understood;  // for "action\n..." step-ups
  };

  std::shared_ptr<WebChat::State> state_;
  std::mutex mu_;
  std::optional<Pending> pending_;  // GUARDED_BY(mu_)
  const std::string token_;
  const identity::local::SessionInfo info_;
  std::shared_ptr<http::WebSocketPeer> peer_;  // GUARDED_BY(mu_)
  static inline std::atomic<uint64_t> sequence_{0};
};

}  // namespace

WebChat::WebChat(WebChatDeps deps, WebChatOptions options)
    : state_(std::make_shared<State>(deps, options)) {
  if (deps.notifier != nullptr) {
    // A requester hears about their approval request in every open web chat tab.
    deps.notifier->Register(
        "webchat", [weak = std::weak_ptr<State>(state_)](const pipeline::PendingAction& to,
                                                         const pipeline::Reply& reply) {
          if (auto state = weak.lock()) {
            (void)state->SendTo([&](const State::PeerEntry& e) { return e.user_id == to.user_id; },
                                state->ReplyFrame(reply));
          }
        });
    // Announcements (break-glass) reach every open web chat session.
    deps.notifier->RegisterAnnouncer([weak = std::weak_ptr<State>(state_)](
                                         const pipeline::Reply& reply) {
      if (auto state = weak.lock()) {
        (void)state->SendTo([](const State::PeerEntry&) { return true; },
                            state->ReplyFrame(reply));
      }
    });
  }
}

WebChat::~WebChat() { Shutdown(); }

void WebChat::Shutdown() { state_->queue.Shutdown(); }

void WebChat::SetRevoke(
    std::function<core::Result<int64_t>(const std::string&, const std::string&)> fn) {
  state_->deps.revoke = std::move(fn);
}

http::Response WebChat::SignedInThroughProvider(const identity::oidc::Identity& who,
                                                const http::Request& request) {
  State& s = *state_;
  const bool mfa = identity::oidc::ShowsMfa(who);
  auto session = s.deps.auth.CreateOidcSession(who.issuer, who.subject, mfa);
  audit::Record r;
  r.correlation_id = request.correlation_id;
  r.principal = who.issuer + "|" + who.subject;
  r.action = "webchat.login";
  if (!session) {
    s.logins->With({"error"}).Inc();
    r.kind = audit::RecordKind::kRejection;
    r.reason = "store_unavailable";
    s.Audit(std::move(r), nullptr);
    return Error(503, "unavailable", "opsgate cannot start a session right now; try again");
  }
  s.logins->With({"ok"}).Inc();
  r.kind = audit::RecordKind::kAdmin;
  r.result = mfa ? "ok_mfa" : "ok";
  s.Audit(std::move(r), nullptr);
  http::Response resp;
  resp.status = 302;
  resp.headers.emplace_back("Location", "/");
  resp.headers.emplace_back(
      "Set-Cookie",
      http::SetCookie(kSessionCookie, session->token.Reveal(),
                      {"/", std::chrono::duration_cast<std::chrono::seconds>(
                                session->absolute_expires_at - s.deps.clock.Now()),
                       "Strict"}));
  AddSecurityHeaders(resp);
  return resp;
}

core::Status WebChat::AddRoutes(http::Router& router) {
  const auto page = [](std::string_view path) {
    return [path](const http::Request&) {
      const Asset* a = FindAsset(path);
      http::Response r;
      r.status = 200;
      r.content_type = std::string(a->content_type);
      r.body = std::string(a->body);
      AddSecurityHeaders(r);
      return r;
    };
  };
  for (const auto& [route, asset] : {std::pair<std::string, std::string_view>{"/", "/index.html"},
                                     {"/enrol", "/index.html"},
                                     {"/static/app.js", "/static/app.js"},
                                     {"/static/app.css", "/static/app.css"}}) {
    OPSGATE_RETURN_IF_ERROR(router.Add({"GET", route, route, 0, page(asset)}));
  }
  State& s = *state_;
  http::Route session{"GET", "/api/session", "/api/session", 0};
  session.async_handler = s.OnQueue(&State::Session);
  OPSGATE_RETURN_IF_ERROR(router.Add(std::move(session)));
  for (const auto& [path, handler] :
       {std::pair<std::string, http::Response (State::*)(const http::Request&)>{
            "/api/login", &State::Login},
        {"/api/logout", &State::Logout},
        {"/api/enrol", &State::Enrol},
        {"/api/enrol/confirm", &State::ConfirmTotp}}) {
    http::Route r{"POST", path, path, kApiBodyLimit};
    r.async_handler = s.OnQueue(handler);
    OPSGATE_RETURN_IF_ERROR(router.Add(std::move(r)));
  }
  http::WebSocketRoute chat;
  chat.name = "/api/chat";
  chat.options.max_message_bytes = s.options.max_message_bytes;
  chat.accept = [state = state_](const http::Request& request) -> http::WebSocketAcceptResult {
    if (!request.Header("origin") || !http::OriginMatchesHost(request)) {
      return Error(403, "origin_not_allowed", "the chat only accepts opsgate's own page");
    }
    const auto cookie = http::CookieValue(request, WebChat::kSessionCookie);
    if (!cookie) {
      return Error(401, "not_signed_in", "sign in first");
    }
    std::string token(*cookie);
    auto info = state->deps.auth.ValidateSession(core::Secret(token));
    if (!info) {
      return Error(401, "not_signed_in", "your session ended; sign in again");
    }
    return std::make_shared<ChatSession>(state, std::move(token), std::move(*info));
  };
  return router.AddWebSocket("/api/chat", std::move(chat));
}

}  // namespace opsgate::webchat
