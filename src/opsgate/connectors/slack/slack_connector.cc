#include "opsgate/connectors/slack/slack_connector.h"

#include <array>
#include <future>
#include <utility>
#include <variant>

#include "opsgate/config/secret_ref.h"
#include "opsgate/connectors/slack/verifier.h"
#include "opsgate/connectors/slack/web_api.h"
#include "opsgate/core/strings.h"
#include "opsgate/redact/redactor.h"

namespace opsgate::connectors::slack {
namespace {

// How a Slack user refreshes MFA: a fresh sign-in through the link flow.
std::string StepUpHint(std::string_view invocation) {
  return "Run " + std::string(invocation) +
         " link and sign in again with MFA at your identity provider, then send the "
         "command again.";
}

constexpr std::string_view kRequestScope = "slack.request";
constexpr std::string_view kEventScope = "slack.event";

constexpr std::array<std::string_view, 7> kKinds = {
    "slash_command", "url_verification", "app_mention", "direct_message",
    "block_actions", "ignored",          "duplicate"};
constexpr std::array<std::string_view, 13> kReasons = {
    "missing_header",    "bad_timestamp",      "stale_timestamp", "bad_signature_format",
    "signature_mismatch", "misconfigured",     "malformed",       "team_not_allowed",
    "replayed",          "store_unavailable", "response_url_not_allowed", "queue_full",
    "audit_unavailable"};

// What to do about each verifier reason, for the 401 body.
std::string_view VerifyHint(std::string_view reason) {
  if (reason == "missing_header") {
    return "send X-Slack-Request-Timestamp and X-Slack-Signature; only Slack's signed "
           "requests are accepted";
  }
  if (reason == "stale_timestamp") {
    return "the timestamp is outside the replay window; check this host's clock (NTP), "
           "or the request is an old one replayed";
  }
  if (reason == "bad_timestamp" || reason == "bad_signature_format") {
    return "the headers are not in Slack's v0 format";
  }
  if (reason == "signature_mismatch") {
    return "the body was changed or connectors.slack.signing_secret is not this app's "
           "signing secret (Basic Information > App Credentials)";
  }
  return "fix connectors.slack.signing_secret";
}

// The replay memory's key for a signed request: its timestamp, then its signature.
// Keys that start with the (verified, digits-only) timestamp sort by time, so the store
// inserts them next to each other instead of all over its index: a checkpoint writes a
// few pages rather than one per request (those writes stalled the audit log's fsyncs).
std::string ReplayKey(const http::Request& request) {
  return std::string(request.Header("x-slack-request-timestamp").value_or("")) + ":" +
         std::string(request.Header("x-slack-signature").value_or(""));
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

int64_t UnixMillis(core::Clock::WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

struct SlackConnector::Counters {
  std::array<telemetry::Counter*, kKinds.size()> kinds{};
  std::array<telemetry::Counter*, kReasons.size()> reasons{};
  telemetry::Family<telemetry::Counter>* rejections = nullptr;
  telemetry::Family<telemetry::Counter>* replies = nullptr;
  // Answers carried by the acknowledgement itself (target "slack.ack").
  telemetry::Counter* ack_ok = nullptr;
  telemetry::Counter* ack_failed = nullptr;

  telemetry::Counter& Kind(std::string_view kind) {
    for (size_t i = 0; i < kKinds.size(); ++i) {
      if (kKinds[i] == kind) {
        return *kinds[i];
      }
    }
    return *kinds.back();
  }
  telemetry::Counter& Reason(std::string_view reason) {
    for (size_t i = 0; i < kReasons.size(); ++i) {
      if (kReasons[i] == reason) {
        return *reasons[i];
      }
    }
    return rejections->With({reason});
  }
};

SlackConnector::SlackConnector(SlackSettings settings, ConnectorDeps& deps)
    : settings_(std::move(settings)),
      api_origin_(http::RedactUrl(settings_.api_url)),
      deps_(deps),
      counters_(std::make_shared<Counters>()) {
  auto& requests = deps_.metrics.AddCounter(
      "opsgate_slack_requests_total", "Slack requests accepted, by kind.", {"kind"});
  counters_->rejections = &deps_.metrics.AddCounter(
      "opsgate_slack_rejections_total", "Slack requests and replies refused, by reason.",
      {"reason"});
  counters_->replies = &deps_.metrics.AddCounter(
      "opsgate_slack_replies_total", "Slack replies delivered, by target and result.",
      {"target", "result"});
  counters_->ack_ok = &counters_->replies->With({"slack.ack", "ok"});
  counters_->ack_failed = &counters_->replies->With({"slack.ack", "failed"});
  for (size_t i = 0; i < kKinds.size(); ++i) {
    counters_->kinds[i] = &requests.With({kKinds[i]});
  }
  for (size_t i = 0; i < kReasons.size(); ++i) {
    counters_->reasons[i] = &counters_->rejections->With({kReasons[i]});
  }
  if (deps_.notifier != nullptr) {
    // A requester on Slack hears about their approval request, and the result of a slow
    // action (AWS), in the thread or channel they asked in.
    deps_.notifier->Register(
        "slack", [this](const pipeline::PendingAction& to, const pipeline::Reply& reply) {
          pipeline::Message m;
          m.platform = "slack";
          m.workspace_id = to.workspace;
          m.user_id = to.user_id;
          m.reply_to.channel_id = to.channel.empty() ? to.user_id : to.channel;
          m.reply_to.thread_id = to.thread;
          SlackReply rendered = RenderReply(reply);
          if (!settings_.bot_token && !to.response_url.empty()) {
            // Without a bot token the asking command's response_url (valid 30 minutes,
            // five posts) carries the result, seen by the asker as the first answer was.
            // Progress reports beyond the allowance are skipped; the result always fits.
            if (!TakeResponseUrlPost(to.response_url, reply.progress)) {
              deps_.log.Info("slack.progress_skipped",
                             {{"reason",
                               "response_url allows five posts; the last is kept "
                               "for the result"},
                              {"correlation_id", to.correlation_id}});
              return;
            }
            m.reply_to.response_url = to.response_url;
            ReplyToResponseUrl(m, rendered, to.correlation_id);
            return;
          }
          rendered.ephemeral = false;
          PostMessage(m, rendered, to.correlation_id);
        });
    if (!settings_.announce_channel.empty()) {
      deps_.notifier->RegisterAnnouncer([this](const pipeline::Reply& reply) {
        pipeline::Message m;
        m.platform = "slack";
        m.reply_to.channel_id = settings_.announce_channel;
        SlackReply rendered = RenderReply(reply);
        rendered.ephemeral = false;
        PostMessage(m, rendered, "announcement");
      });
    }
  }
}

core::Status SlackConnector::RegisterRoutes(http::Router& router) {
  http::Route route;
  route.method = "POST";
  route.path = std::string(kEventsPath);
  route.name = std::string(kEventsPath);
  route.body_limit = settings_.body_bytes;
  route.async_handler = [this](const http::Request& r, http::Responder respond) {
    HandleAsync(r, std::move(respond));
  };
  return router.Add(std::move(route));
}

http::Response SlackConnector::Reject(int status, std::string_view reason,
                                      std::string_view message, const http::Request& request,
                                      std::string_view team) {
  counters_->Reason(reason).Inc();
  deps_.log.Warn("slack.rejected", {{"reason", reason},
                                    {"status", status},
                                    {"team", team},
                                    {"correlation_id", request.correlation_id},
                                    {"remote", request.remote_address}});
  // Recorded without waiting: nothing acts on a rejected request, and a flood of forged
  // requests must not hold I/O threads. A failed append is logged by the audit log.
  // Under a flood only a sample is recorded (every rejection is still counted above).
  const int64_t now_ms = UnixMillis(deps_.clock.Now());
  if (deps_.rejections != nullptr) {
    const std::optional<uint64_t> admitted = deps_.rejections->Admit();
    if (!admitted) {
      return http::Response::Error(status, reason, message);
    }
    if (*admitted > 0) {
      deps_.audit.Append(audit::MakeSuppressedRecord(*admitted, "slack", now_ms),
                         [](core::Result<uint64_t>) {});
    }
  }
  audit::Record record;
  record.kind = audit::RecordKind::kRejection;
  record.timestamp_ms = now_ms;
  record.correlation_id = request.correlation_id;
  record.platform = "slack";
  record.workspace = std::string(team);
  record.action = std::string(kEventsPath);
  record.result = std::to_string(status);
  record.reason = std::string(reason);
  deps_.audit.Append(std::move(record), [](core::Result<uint64_t>) {});
  return http::Response::Error(status, reason, message);
}

identity::ResolvedIdentity SlackConnector::Resolve(const pipeline::Message& message) {
  if (deps_.linker == nullptr) {
    return {};
  }
  auto who = deps_.linker->Resolve({"slack", message.workspace_id, message.user_id});
  if (!who) {
    deps_.log.Error("slack.identity_unavailable", {{"error", who.error().message},
                                                   {"correlation_id", message.correlation_id}});
    return {};
  }
  return std::move(*who);
}

pipeline::Planned SlackConnector::PlanFor(const pipeline::Message& message,
                                          const identity::ResolvedIdentity& who) const {
  const bool policy_on = deps_.linker != nullptr && deps_.authorizer != nullptr;
  if (const auto vote = pipeline::ParseVoteCommand(message.text);
      vote && deps_.dispatcher != nullptr) {
    // "approve ID" / "deny ID" typed instead of clicked: the dispatcher audits the vote
    // (both principals); the request record names what was asked.
    pipeline::Planned planned;
    planned.understanding.request.action = vote->approve ? "opsgate:Approve" : "opsgate:Deny";
    planned.understanding.request.resource = "opsgate:approval/" + vote->id;
    planned.needs_link = who.state != identity::ResolvedIdentity::State::kLinked || !who.principal;
    return planned;
  }
  return pipeline::Plan(message, who.principal, deps_.understand,
                        policy_on ? deps_.authorizer : nullptr, message.received_at);
}

pipeline::Reply SlackConnector::Answer(const pipeline::Message& message,
                                       std::string_view invocation,
                                       const identity::ResolvedIdentity& who,
                                       const pipeline::Planned& planned) {
  using identity::ResolvedIdentity;
  using Kind = pipeline::Understanding::Kind;
  const pipeline::Understanding& u = planned.understanding;
  const pipeline::BuiltinEnv env{invocation, message.received_at, deps_.linker != nullptr};
  // With identity linking, an unlinked asker gets help and link only (also before a
  // policy is wired, as in connector tests without an authorizer).
  const bool bypass = u.kind == Kind::kBuiltin && pipeline::BuiltinBypassesPolicy(u.builtin);
  const bool linked = who.state == ResolvedIdentity::State::kLinked && who.principal;
  if (planned.needs_link || (deps_.linker != nullptr && !linked && !bypass)) {
    return pipeline::NeedsLinkReply(env, who.state == ResolvedIdentity::State::kExpired);
  }
  if (const auto vote = pipeline::ParseVoteCommand(message.text);
      vote && deps_.dispatcher != nullptr && who.principal) {
    return deps_.dispatcher->Vote(message, vote->id, *who.principal, vote->approve).for_voter;
  }
  switch (u.kind) {
    case Kind::kInvalid:
    case Kind::kMissingSlots:
      return pipeline::CommandProblemReply(u);
    case Kind::kReply:
      return u.reply;
    case Kind::kNotUnderstood:
      return pipeline::AnswerBuiltin(pipeline::ParseBuiltin(message.text), message, who.principal,
                                     env);
    case Kind::kCommand:
      if (!planned.decision || !who.principal || deps_.dispatcher == nullptr) {
        pipeline::Reply r("Commands need identity linking, which is not configured here.");
        r.Text(
            "opsgate runs commands only for people whose identity it knows; this opsgate "
            "has no identity linking (identity.oidc), so it cannot run " +
            u.request.action + ".");
        return r;
      }
      break;
    case Kind::kBuiltin:
      break;
  }
  // Commands, and built-ins the policy did not simply allow, follow the decision.
  if (u.kind == Kind::kCommand ||
      (planned.decision && planned.decision->effect != policy::Decision::Effect::kAllow)) {
    return deps_.dispatcher->Decided(
        message, *who.principal, planned, StepUpHint(invocation),
        [&](const store::ApprovalRequest&, const pipeline::PendingAction&, const policy::Approval&,
            const pipeline::Reply& ask) { return AskApprovers(message, ask); });
  }
  // Parsed again from the live message (a ParsedBuiltin views the text it was given).
  const pipeline::ParsedBuiltin command = pipeline::ParseBuiltin(message.text);
  if (deps_.linker == nullptr) {
    return pipeline::AnswerBuiltin(command, message, std::nullopt, env);
  }
  const store::PlatformAccount account{"slack", message.workspace_id, message.user_id};
  if (command.verb == pipeline::Builtin::kLink) {
    auto url = deps_.linker->StartLink(account);
    if (!url) {
      deps_.log.Error("slack.link_failed", {{"error", url.error().message},
                                            {"correlation_id", message.correlation_id}});
      return pipeline::ServiceErrorReply("start linking");
    }
    return pipeline::LinkReply(*url, deps_.linker->link_token_ttl());
  }
  if (command.verb == pipeline::Builtin::kUnlink) {
    auto was = deps_.linker->Unlink(account);
    if (!was) {
      deps_.log.Error("slack.unlink_failed", {{"error", was.error().message},
                                              {"correlation_id", message.correlation_id}});
      return pipeline::ServiceErrorReply("unlink");
    }
    deps_.log.Info("identity.unlinked", {{"platform", "slack"},
                                         {"team", message.workspace_id},
                                         {"user", message.user_id},
                                         {"was_linked", *was},
                                         {"correlation_id", message.correlation_id}});
    return pipeline::UnlinkReply(*was);
  }
  return pipeline::AnswerBuiltin(command, message, who.principal, env);
}

std::string SlackConnector::AskApprovers(const pipeline::Message& origin,
                                         const pipeline::Reply& ask) {
  if (!settings_.bot_token) {
    return {};
  }
  pipeline::Message to = origin;
  to.reply_to.channel_id = settings_.approvals_channel.empty() ? origin.reply_to.channel_id
                                                               : settings_.approvals_channel;
  to.reply_to.thread_id.clear();
  if (to.reply_to.channel_id.empty()) {
    return {};
  }
  SlackReply rendered = RenderReply(ask);
  rendered.ephemeral = false;
  PostMessage(to, rendered, origin.correlation_id);
  return settings_.approvals_channel.empty() ? "the approvers in this channel"
                                             : "the approvers in <#" + to.reply_to.channel_id + ">";
}

SlackReply SlackConnector::AnswerVote(const pipeline::Message& message, const BlockAction& action,
                                      const identity::ResolvedIdentity& who) {
  const bool approve = action.action_id == kApproveActionId;
  if (deps_.dispatcher == nullptr || deps_.linker == nullptr) {
    pipeline::Reply r("Approvals need identity linking, which is not configured here.");
    r.Text(r.text);
    return RenderReply(r);
  }
  if (who.state != identity::ResolvedIdentity::State::kLinked || !who.principal) {
    const pipeline::BuiltinEnv env{settings_.command, message.received_at, true};
    return RenderReply(
        pipeline::NeedsLinkReply(env, who.state == identity::ResolvedIdentity::State::kExpired));
  }
  pipeline::Dispatcher::VoteOutcome out =
      deps_.dispatcher->Vote(message, action.value, *who.principal, approve);
  SlackReply reply = RenderReply(out.for_voter);
  using VoteOutcome = pipeline::VoteResult::Outcome;
  // The approvers' message keeps its buttons until the request is decided.
  const bool decided =
      out.vote.outcome == VoteOutcome::kApproved || out.vote.outcome == VoteOutcome::kDenied;
  reply.replace_original = decided;
  reply.ephemeral = !decided;
  return reply;
}

void SlackConnector::AuditAccepted(const pipeline::Message& message, std::string_view kind,
                                   std::string_view resource, const http::Request& request,
                                   const identity::ResolvedIdentity& who,
                                   const pipeline::Planned& planned,
                                   std::function<http::Response()> act, http::Responder respond) {
  audit::Record record;
  record.kind = audit::RecordKind::kRequest;
  record.timestamp_ms = UnixMillis(message.received_at);
  record.correlation_id = request.correlation_id;
  record.platform = "slack";
  record.workspace = message.workspace_id;
  record.channel = message.reply_to.channel_id;
  record.user = message.user_id;
  record.action = std::string(kind);
  record.resource = std::string(resource);
  record.result = "accepted";
  if (who.principal) {
    record.principal = who.principal->Id();
  }
  pipeline::DescribeForAudit(planned, record);
  if (planned.decision) {
    record.kind = audit::RecordKind::kDecision;
  }
  // Sensitive fields: the audit log seals them (audit.seal_fields, audit/sealing.h).
  record.user_name = audit::Field::Plain(message.user_name);
  // People paste secrets into chat; the audit log must not become where they leak.
  record.text = audit::Field::Plain(deps_.redactor != nullptr ? deps_.redactor->Redact(message.text)
                                                                : message.text);
  // The completion runs on the audit writer's thread, which only hands `act` on: it runs
  // on the connection's I/O thread, so the writer goes straight back to recording. The
  // completion keeps copies of what the refusal needs, never the request (which belongs
  // to the I/O thread).
  deps_.audit.Append(
      std::move(record),
      [this, act = std::move(act), respond = std::move(respond),
       correlation_id = request.correlation_id, remote = request.remote_address,
       team = message.workspace_id](core::Result<uint64_t> seq) {
        if (seq) {
          respond(http::Response::Deferred(std::move(act)));
          return;
        }
        deps_.log.Error("slack.audit_failed",
                        {{"error", seq.error().message}, {"correlation_id", correlation_id}});
        http::Request about;
        about.correlation_id = correlation_id;
        about.remote_address = remote;
        http::Response refusal = Reject(
            503, "audit_unavailable",
            "opsgate cannot record the request in its audit log right now, so it does not "
            "act on it; try again shortly",
            about, team);
        refusal.headers.emplace_back("Retry-After", "5");
        respond(std::move(refusal));
      });
}

bool SlackConnector::TeamAllowed(std::string_view team) const {
  return settings_.team_ids.count(std::string(team)) != 0;
}

void SlackConnector::Remember(std::string_view scope, std::string key, std::chrono::seconds ttl,
                              std::shared_ptr<const http::Request> request, std::string team,
                              std::function<void(bool first, http::Responder)> next,
                              http::Responder respond) {
  // The replay memory is group-committed by the store's writer thread; the I/O thread
  // moves on, and `next` runs on an I/O thread again once this key's answer is known
  // (deps_.run_on_io), so the writer only writes.
  deps_.seen_keys.MarkSeenAsync(
      std::string(scope), std::move(key), deps_.clock.Now(), ttl,
      [this, request = std::move(request), team = std::move(team), next = std::move(next),
       respond = std::move(respond)](core::Result<bool> first) mutable {
        if (deps_.run_on_io) {
          deps_.run_on_io([this, request, team, next, respond, first]() mutable {
            Remembered(std::move(first), *request, team, next, std::move(respond));
          });
          return;
        }
        Remembered(std::move(first), *request, team, next, std::move(respond));
      });
}

void SlackConnector::Remembered(core::Result<bool> first, const http::Request& request,
                                std::string_view team,
                                const std::function<void(bool first, http::Responder)>& next,
                                http::Responder respond) {
  if (!first) {
    deps_.log.Error("slack.store_failed",
                    {{"error", first.error().message}, {"correlation_id", request.correlation_id}});
    http::Response refusal = Reject(503, "store_unavailable",
                                    "opsgate cannot record the request right now; Slack retries "
                                    "events, for commands try again shortly",
                                    request, team);
    refusal.headers.emplace_back("Retry-After", "5");
    respond(std::move(refusal));
    return;
  }
  next(*first, std::move(respond));
}

http::Response SlackConnector::Handle(const http::Request& request) {
  auto answer = std::make_shared<std::promise<http::Response>>();
  auto future = answer->get_future();
  HandleAsync(request, [answer](http::Response r) { answer->set_value(std::move(r)); });
  http::Response r = future.get();
  // What the server does on the I/O thread for a deferred answer, done here.
  return r.deferred ? r.deferred() : r;
}

void SlackConnector::HandleAsync(const http::Request& request, http::Responder respond) {
  if (Outcome now = Route(request, respond)) {
    respond(std::move(*now));
  }
}

SlackConnector::Outcome SlackConnector::Route(const http::Request& request,
                                              http::Responder& respond) {
  const core::Status verified = VerifySlackSignature(
      request.Header("x-slack-request-timestamp"), request.Header("x-slack-signature"),
      request.body, settings_.signing_secret, deps_.clock.UnixSeconds(),
      settings_.replay_window.count());
  if (!verified) {
    const auto reason = SlackRejectReasonOf(verified.error());
    const std::string_view name = reason ? SlackRejectReasonName(*reason) : "misconfigured";
    return Reject(401, name, verified.error().message + " (" + std::string(VerifyHint(name)) + ")",
                  request, "");
  }

  ParseLimits limits;
  limits.max_body_bytes = settings_.body_bytes;
  auto parsed = ParseSlackPayload(request.Header("content-type").value_or(""), request.body,
                                  limits);
  if (!parsed) {
    // Slack's ssl_check (sent, signed, when a command URL is saved) carries no team or
    // command; it only needs a 200. Checked on the failure path to keep the common one
    // to a single parse.
    if (auto form = ParseFormUrlEncoded(request.body, limits); form) {
      for (const auto& [name, value] : *form) {
        if (name == "ssl_check" && value == "1") {
          counters_->Kind("ignored").Inc();
          return http::Response::Text(200, "");
        }
      }
    }
    return Reject(400, "malformed",
                  parsed.error().message +
                      " (opsgate accepts Slack's slash commands, Events API callbacks and "
                      "interactivity payloads)",
                  request, "");
  }

  return std::visit(
      [&](auto& payload) -> Outcome {
        using T = std::decay_t<decltype(payload)>;
        if constexpr (std::is_same_v<T, UrlVerification>) {
          counters_->Kind("url_verification").Inc();
          return http::Response::Json(
              200, "{\"challenge\":\"" + core::JsonEscape(payload.challenge) + "\"}");
        } else if constexpr (std::is_same_v<T, IgnoredPayload>) {
          counters_->Kind("ignored").Inc();
          return http::Response::Text(200, "");
        } else {
          return Process(request, std::move(payload), respond);
        }
      },
      *parsed);
}

SlackConnector::Outcome SlackConnector::Process(const http::Request& request,
                                                SlashCommand command, http::Responder& respond) {
  if (!TeamAllowed(command.team_id)) {
    return Reject(403, "team_not_allowed",
                  "this workspace is not in connectors.slack.team_ids; add its team id "
                  "(OPSGATE_SLACK_TEAM_IDS) if opsgate should serve it",
                  request, command.team_id);
  }
  auto req = std::make_shared<const http::Request>(request);
  std::string team = command.team_id;
  Remember(
      kRequestScope, ReplayKey(request), 2 * settings_.replay_window, req, team,
      [this, req, command = std::move(command)](bool first, http::Responder answer) {
        if (!first) {
          answer(Reject(401, "replayed",
                         "this exact request was received before; Slack never repeats a "
                         "slash command, so it is refused",
                         *req, command.team_id));
          return;
        }
        counters_->Kind("slash_command").Inc();
        pipeline::Message message = ToMessage(command);
        message.correlation_id = req->correlation_id;
        message.received_at = deps_.clock.Now();
        // Slack's 3-second rule: the answer is the body of the 200, sent once the
        // request is on record (milliseconds); a slow action's result follows later
        // (chat.postMessage, or response_url without a bot token).
        const identity::ResolvedIdentity who = Resolve(message);
        pipeline::Planned planned = PlanFor(message, who);
        AuditAccepted(
            message, "slash_command", settings_.command, *req, who, planned,
            [this, message, who, planned, correlation_id = req->correlation_id] {
              return AnswerInAck(RenderReply(Answer(message, settings_.command, who, planned)),
                                 correlation_id);
            },
            std::move(answer));
      },
      std::move(respond));
  return std::nullopt;
}

SlackConnector::Outcome SlackConnector::Process(const http::Request& request,
                                                EventCallback event, http::Responder& respond) {
  if (!TeamAllowed(event.team_id)) {
    return Reject(403, "team_not_allowed",
                  "this workspace is not in connectors.slack.team_ids; add its team id "
                  "(OPSGATE_SLACK_TEAM_IDS) if opsgate should serve it",
                  request, event.team_id);
  }
  auto req = std::make_shared<const http::Request>(request);
  std::string team = event.team_id;
  std::string key = event.team_id + ":" + event.event_id;
  Remember(
      kEventScope, std::move(key), std::max(kEventMemory, 2 * settings_.replay_window), req,
      team,
      [this, req, event = std::move(event)](bool first, http::Responder answer) {
        if (!first) {
          if (const auto retry = req->Header("x-slack-retry-num")) {
            // Slack retried an event already taken: acknowledge, do not act twice.
            counters_->Kind("duplicate").Inc();
            deps_.log.Info("slack.duplicate_event", {{"team", event.team_id},
                                                     {"event_id", event.event_id},
                                                     {"retry", std::string(*retry)},
                                                     {"correlation_id", req->correlation_id}});
            answer(http::Response::Text(200, ""));
            return;
          }
          answer(Reject(401, "replayed",
                         "this event_id was received before without Slack's "
                         "X-Slack-Retry-Num header; it is refused as a replay",
                         *req, event.team_id));
          return;
        }
        std::optional<pipeline::Message> message = ToMessage(event);
        if (!message) {
          counters_->Kind("ignored").Inc();
          answer(http::Response::Text(200, ""));
          return;
        }
        const bool mention = event.kind == EventKind::kAppMention;
        counters_->Kind(mention ? "app_mention" : "direct_message").Inc();
        message->correlation_id = req->correlation_id;
        message->received_at = deps_.clock.Now();
        const identity::ResolvedIdentity who = Resolve(*message);
        pipeline::Planned planned = PlanFor(*message, who);
        AuditAccepted(
            *message, mention ? "app_mention" : "direct_message", message->reply_to.channel_id,
            *req, who, planned,
            [this, m = *message, who, planned, mention, correlation_id = req->correlation_id] {
              const pipeline::Reply reply = Answer(m, "@opsgate", who, planned);
              const bool is_link = pipeline::ParseBuiltin(m.text).verb == pipeline::Builtin::kLink;
              if (mention && is_link && deps_.linker != nullptr) {
                // A link is for its owner only: to the asker's direct messages, not the
                // channel (chat.postMessage with the user id as channel).
                pipeline::Message direct = m;
                direct.reply_to.channel_id = m.user_id;
                direct.reply_to.thread_id.clear();
                PostMessage(direct, RenderReply(reply), correlation_id);
                pipeline::Reply note("I sent you a direct message with your link.");
                note.Text(note.text);
                PostMessage(m, RenderReply(note), correlation_id);
                return http::Response::Text(200, "");
              }
              PostMessage(m, RenderReply(reply), correlation_id);
              return http::Response::Text(200, "");
            },
            std::move(answer));
      },
      std::move(respond));
  return std::nullopt;
}

SlackConnector::Outcome SlackConnector::Process(const http::Request& request,
                                                BlockActions actions, http::Responder& respond) {
  if (!TeamAllowed(actions.team_id)) {
    return Reject(403, "team_not_allowed",
                  "this workspace is not in connectors.slack.team_ids; add its team id "
                  "(OPSGATE_SLACK_TEAM_IDS) if opsgate should serve it",
                  request, actions.team_id);
  }
  auto req = std::make_shared<const http::Request>(request);
  std::string team = actions.team_id;
  Remember(
      kRequestScope, ReplayKey(request), 2 * settings_.replay_window, req, team,
      [this, req, actions = std::move(actions)](bool first, http::Responder answer) {
        if (!first) {
          answer(Reject(401, "replayed",
                         "this exact request was received before; a click is acted on once",
                         *req, actions.team_id));
          return;
        }
        counters_->Kind("block_actions").Inc();
        pipeline::Message message = ToMessage(actions);
        message.correlation_id = req->correlation_id;
        message.received_at = deps_.clock.Now();
        const identity::ResolvedIdentity who = Resolve(message);
        const BlockAction& clicked = actions.actions.front();
        const bool vote =
            clicked.action_id == kApproveActionId || clicked.action_id == kDenyActionId;
        const bool answer_to_dialog =
            clicked.action_id == kConfirmActionId || clicked.action_id == kCancelActionId;
        pipeline::Planned planned;
        if (answer_to_dialog) {
          // Confirm/Cancel answer the conversation's open question (dialog.h), as if typed.
          message.text = clicked.action_id == kConfirmActionId ? "yes" : "cancel";
          planned = PlanFor(message, who);
        }
        AuditAccepted(
            message, "block_actions", "", *req, who, planned,
            [this, message, who, vote, answer_to_dialog, clicked, planned,
             reply = vote || answer_to_dialog ? SlackReply{} : AnswerAction(actions),
             correlation_id = req->correlation_id] {
              SlackReply out = reply;
              if (vote) {
                out = AnswerVote(message, clicked, who);
              } else if (answer_to_dialog) {
                out = planned.understanding.kind == pipeline::Understanding::Kind::kNotUnderstood
                          ? RenderReply(pipeline::NothingWaitingReply())
                          : RenderReply(Answer(message, settings_.command, who, planned));
                out.replace_original = true;
              }
              ReplyToResponseUrl(message, out, correlation_id);
              return http::Response::Text(200, "");
            },
            std::move(answer));
      },
      std::move(respond));
  return std::nullopt;
}

SlackMessage SlackConnector::Redacted(const SlackMessage& message) const {
  SlackMessage out = message;
  if (deps_.redactor != nullptr) {
    out.RedactText([r = deps_.redactor](std::string_view text) { return r->Redact(text); });
  }
  return out;
}

bool SlackConnector::TakeResponseUrlPost(const std::string& response_url, bool progress) {
  const auto now = deps_.clock.SteadyNow();
  std::lock_guard<std::mutex> lock(response_url_mu_);
  std::erase_if(response_url_posts_,
                [&](const auto& entry) { return now - entry.second.first > kResponseUrlLifetime; });
  auto [it, fresh] = response_url_posts_.try_emplace(response_url);
  if (fresh) {
    it->second.first = now;
  }
  const int limit = progress ? kResponseUrlPosts - 1 : kResponseUrlPosts;
  if (it->second.posts >= limit) {
    return false;
  }
  ++it->second.posts;
  return true;
}

http::Response SlackConnector::AnswerInAck(const SlackReply& reply,
                                           std::string_view correlation_id) {
  auto body = Redacted(reply.message)
                  .ToImmediateResponseJson(reply.ephemeral ? ResponseType::kEphemeral
                                                           : ResponseType::kInChannel);
  if (!body) {
    counters_->ack_failed->Inc();
    deps_.log.Error("slack.reply_failed", {{"target", "slack.ack"},
                                           {"error", body.error().message},
                                           {"correlation_id", correlation_id}});
    return http::Response::Text(200, "");
  }
  counters_->ack_ok->Inc();
  return http::Response::Json(200, std::move(*body));
}

void SlackConnector::ReplyToResponseUrl(const pipeline::Message& message,
                                        const SlackReply& reply,
                                        std::string_view correlation_id) {
  const std::string& url = message.reply_to.response_url;
  if (url.empty()) {
    deps_.log.Info("slack.reply_skipped", {{"reason", "no response_url in the payload"},
                                           {"correlation_id", correlation_id}});
    return;
  }
  // SSRF guard: only Slack's hooks hosts, or the host opsgate already calls (api_url).
  const bool allowed = IsSlackResponseUrl(url) ||
                       (StartsWith(url, "https://") && http::RedactUrl(url) == api_origin_);
  if (!allowed) {
    counters_->Reason("response_url_not_allowed").Inc();
    deps_.log.Warn("slack.rejected",
                   {{"reason", "response_url_not_allowed"},
                    {"host", http::RedactUrl(url)},
                    {"team", message.workspace_id},
                    {"correlation_id", correlation_id},
                    {"action", "reply dropped: response_url must be on hooks.slack.com"}});
    return;
  }
  auto body = Redacted(reply.message).ToResponseUrlJson(
      {reply.ephemeral ? ResponseType::kEphemeral : ResponseType::kInChannel,
       reply.replace_original});
  if (!body) {
    deps_.log.Error("slack.reply_failed", {{"error", body.error().message},
                                           {"correlation_id", correlation_id}});
    return;
  }
  http::OutboundRequest out;
  out.url = url;
  out.headers = {{"Content-Type", "application/json; charset=utf-8"}};
  out.body = std::move(*body);
  Deliver(std::move(out), "slack.response_url", /*web_api=*/false, correlation_id, message);
}

void SlackConnector::PostMessage(const pipeline::Message& message, const SlackReply& reply,
                                 std::string_view correlation_id) {
  if (!settings_.bot_token) {
    deps_.log.Warn("slack.reply_skipped",
                   {{"reason", "no bot token"},
                    {"correlation_id", correlation_id},
                    {"action", "set connectors.slack.bot_token (OPSGATE_SLACK_BOT_TOKEN)"}});
    return;
  }
  auto body = Redacted(reply.message).ToPostMessageJson(message.reply_to.channel_id,
                                                        message.reply_to.thread_id);
  if (!body) {
    deps_.log.Error("slack.reply_failed", {{"error", body.error().message},
                                           {"correlation_id", correlation_id}});
    return;
  }
  http::OutboundRequest out;
  out.url = settings_.api_url + "/chat.postMessage";
  out.headers = {{"Content-Type", "application/json; charset=utf-8"}};
  out.body = std::move(*body);
  out.bearer_token = settings_.bot_token;
  Deliver(std::move(out), "slack.chat_postMessage", /*web_api=*/true, correlation_id, message);
}

void SlackConnector::Deliver(http::OutboundRequest out, std::string_view target, bool web_api,
                             std::string_view request_correlation_id,
                             const pipeline::Message& message) {
  // The callback runs on a sender worker, possibly after this connector is gone: it
  // holds only what outlives the sender (logger, metric families, clock, audit log).
  telemetry::Logger* log = &deps_.log;
  audit::AuditSink* audit_sink = &deps_.audit;
  const core::Clock* clock = &deps_.clock;
  std::shared_ptr<Counters> counters = counters_;
  std::string label(target);
  std::string correlation_id(request_correlation_id);
  std::string team_id = message.workspace_id;
  std::string channel_id = message.reply_to.channel_id;
  const core::Clock::WallTime received_at = message.received_at;
  auto done = [log, audit_sink, clock, counters, label, correlation_id, team_id, channel_id,
               received_at, web_api](core::Result<http::OutboundResponse> r) {
    std::string error;
    // For the audit record: a short code, never an error message (which may quote a
    // response_url, itself a credential).
    std::string audit_reason;
    if (!r) {
      error = r.error().message;
      audit_reason = std::string(core::ErrorCodeName(r.error().code));
    } else if (r->status != 200) {
      error = "HTTP " + std::to_string(r->status);
      audit_reason = error;
    } else if (web_api) {
      if (auto ok = CheckWebApiResponse(r->body); !ok) {
        error = ok.error().message;
        audit_reason = "web_api_error";
      }
    }
    audit::Record record;
    record.kind = audit::RecordKind::kOutcome;
    const auto now = clock->Now();
    record.timestamp_ms = UnixMillis(now);
    record.latency_ms = static_cast<uint64_t>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(now - received_at).count()));
    record.correlation_id = correlation_id;
    record.platform = "slack";
    record.workspace = team_id;
    record.channel = channel_id;
    record.action = label;
    record.result = error.empty() ? "ok" : "failed";
    record.reason = audit_reason;
    audit_sink->Append(std::move(record), [](core::Result<uint64_t>) {});
    counters->replies->With({label, error.empty() ? "ok" : "failed"}).Inc();
    if (error.empty()) {
      log->Debug("slack.replied", {{"target", label}, {"correlation_id", correlation_id}});
    } else {
      log->Error("slack.reply_failed", {{"target", label},
                                        {"error", error},
                                        {"team", team_id},
                                        {"correlation_id", correlation_id}});
    }
  };
  if (auto queued = deps_.sender.Enqueue(std::move(out), std::move(done), target); !queued) {
    counters_->Reason("queue_full").Inc();
    audit::Record record;
    record.kind = audit::RecordKind::kOutcome;
    record.timestamp_ms = UnixMillis(deps_.clock.Now());
    record.correlation_id = correlation_id;
    record.platform = "slack";
    record.workspace = team_id;
    record.channel = channel_id;
    record.action = label;
    record.result = "dropped";
    record.reason = "queue_full";
    deps_.audit.Append(std::move(record), [](core::Result<uint64_t>) {});
    deps_.log.Error("slack.reply_dropped", {{"target", label},
                                            {"error", queued.error().message},
                                            {"team", team_id},
                                            {"correlation_id", correlation_id}});
  }
}

// --- factory ---------------------------------------------------------------------

bool SlackConnectorFactory::Enabled(const config::Config& config) const {
  return config.connectors.slack.has_value() &&
         config.connectors.slack->enabled != config::ConnectorSwitch::kOff;
}

core::Result<std::unique_ptr<Connector>> SlackConnectorFactory::Create(
    const config::Config& config, ConnectorDeps& deps) {
  const config::SlackConfig& c = *config.connectors.slack;
  const bool required = c.enabled == config::ConnectorSwitch::kOn;
  auto off = [&](const std::string& why) -> core::Result<std::unique_ptr<Connector>> {
    if (required) {
      return core::Fail(core::FailedPrecondition(
          why + " (connectors.slack.enabled is true; fix the secret or set enabled: auto)"));
    }
    deps.log.Warn("slack.connector_off",
                  {{"detail", "slack connector off: " + why},
                   {"action", "set the signing secret (OPSGATE_SLACK_SIGNING_SECRET) to turn "
                              "it on, or enabled: false to silence this"}});
    return std::unique_ptr<Connector>();
  };
  if (!c.signing_secret) {
    return off("connectors.slack.signing_secret is not set");
  }
  auto secret = config::ResolveSecret(*c.signing_secret);
  if (!secret) {
    return off("signing secret: " + secret.error().message);
  }
  SlackSettings s;
  s.signing_secret = std::move(*secret);
  if (c.bot_token) {
    auto token = config::ResolveSecret(*c.bot_token);
    if (token) {
      s.bot_token = std::move(*token);
    } else if (required) {
      return core::Fail(core::FailedPrecondition("bot token: " + token.error().message));
    } else {
      deps.log.Warn("slack.no_bot_token",
                    {{"detail", "bot token: " + token.error().message},
                     {"action", "mentions and DMs get no answer until OPSGATE_SLACK_BOT_TOKEN "
                                "is set"}});
    }
  }
  s.api_url = c.api_url;
  s.team_ids.insert(c.team_ids.begin(), c.team_ids.end());
  if (s.team_ids.empty()) {
    deps.log.Warn("slack.no_teams_allowed",
                  {{"detail", "connectors.slack.team_ids is empty: every Slack request is "
                              "refused with 403"},
                   {"action", "set OPSGATE_SLACK_TEAM_IDS to your workspace's team id"}});
  }
  s.replay_window = c.replay_window;
  s.body_bytes = c.body_bytes;
  s.command = c.command;
  s.approvals_channel = config.policy.approvals.slack_channel;
  s.announce_channel = config.policy.break_glass.slack_channel;
  deps.log.Info("slack.connector_on", {{"path", kEventsPath},
                                       {"api", http::RedactUrl(s.api_url)},
                                       {"teams", static_cast<uint64_t>(s.team_ids.size())},
                                       {"bot_token", s.bot_token.has_value()}});
  return std::unique_ptr<Connector>(std::make_unique<SlackConnector>(std::move(s), deps));
}

}  // namespace opsgate::connectors::slack
