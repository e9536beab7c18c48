// File: opsgate/connectors/slack/slack_connector.h
//
// The Slack connector: one route, POST /slack/events, for slash commands, Events API
// callbacks and interactivity (docs/slack.md). Per request, in this order:
//
//   1. signature and timestamp (verifier.h, injected clock)   401 {"error": <reason>}
//   2. parse (payload.h)                                       400 malformed
//   3. url_verification: echo the challenge                    200 {"challenge": ...}
//   4. workspace allow-list (team_ids)                         403 team_not_allowed
//   5. replay and dedupe memory (store::SeenKeys):
//        slash commands and button clicks by signature:        401 replayed
//        events by team:event_id; a Slack retry
//        (X-Slack-Retry-Num) of a seen event                   200, not processed again
//        an event_id seen again without the retry header       401 replayed
//        the store failing                                     503 store_unavailable
//   6. acknowledge at once (200, empty body) and hand the answer to the RetryingSender:
//        slash commands and clicks -> response_url (only Slack's hooks hosts or the
//        configured api_url's host: a forged payload cannot aim opsgate elsewhere);
//        mentions and DMs -> {api_url}/chat.postMessage with the bot token, in a thread.
//
// The team check comes after parsing because the team id is in the body; the
// signature already proved the body came from Slack. Parsing happens before the store
// is touched, so nothing a workspace outside the allow-list sends is written.
//
// Metrics: opsgate_slack_requests_total{kind} for accepted requests (slash_command,
// url_verification, app_mention, direct_message, block_actions, ignored, duplicate);
// opsgate_slack_rejections_total{reason} (verifier reasons, malformed, team_not_allowed,
// replayed, store_unavailable, response_url_not_allowed, queue_full);
// opsgate_slack_replies_total{target,result}. Each rejection is logged with event
// "slack.rejected", reason, team and correlation_id; never a secret, token or body.
//
// Audit (deps.audit, docs/audit-format.md): every rejection above is recorded (kind
// rejection: reason, HTTP status, team; never the body or a secret), without waiting.
// An accepted request is recorded (kind request); only when that record is durable does
// anything act on it and the 200 go out. The route is asynchronous (http::AsyncHandler):
// the I/O thread moves on while the audit log group-commits, and the audit writer's
// completion queues the reply and answers. If the record cannot be made durable the
// answer is 503 audit_unavailable and nothing is done. Each reply's delivery is recorded
// (kind outcome) when the RetryingSender reports.
//
// Thread-safety: Handle() runs concurrently on I/O threads; the settings are
// immutable and the deps are thread-safe. Reply callbacks run on sender workers and
// use only the logger and metrics (which outlive the sender), not the connector.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "opsgate/connectors/connector.h"
#include "opsgate/connectors/slack/commands.h"
#include "opsgate/connectors/slack/payload.h"
#include "opsgate/core/secret.h"
#include "opsgate/identity/linking/linker.h"
#include "opsgate/pipeline/builtins.h"

namespace opsgate::connectors::slack {

inline constexpr std::string_view kEventsPath = "/slack/events";

// Resolved, immutable settings (from config::SlackConfig).
struct SlackSettings {
  core::Secret signing_secret;          // not empty
  std::optional<core::Secret> bot_token;  // none: mentions and DMs get no answer
  std::string api_url = "https://slack.com/api";  // no trailing '/'
  std::unordered_set<std::string> team_ids;       // empty refuses every workspace
  std::chrono::seconds replay_window{300};
  size_t body_bytes = 256 * 1024;
  std::string command = "/ops";
  // Channel id approval requests are posted to (policy.approvals.slack_channel); empty:
  // the channel the request came from.
  std::string approvals_channel;
  // Channel id break-glass starts, ends and reviews are announced in
  // (policy.break_glass.slack_channel); empty: not announced on Slack.
  std::string announce_channel;
};

class SlackConnector final : public Connector {
 public:
  // How long an event_id is remembered: Slack retries up to three times within about
  // five minutes; an hour leaves a wide margin.
  static constexpr std::chrono::seconds kEventMemory{3600};
  // What Slack allows on one response_url: five posts within 30 minutes.
  static constexpr int kResponseUrlPosts = 5;
  static constexpr std::chrono::minutes kResponseUrlLifetime{30};

  // Registers the metric families in deps.metrics (once per registry). `deps` must
  // outlive the connector.
  SlackConnector(SlackSettings settings, ConnectorDeps& deps);

  std::string_view Name() const override { return "slack"; }
  // Adds POST /slack/events with body_limit = settings.body_bytes.
  [[nodiscard]] core::Status RegisterRoutes(http::Router& router) override;

  // The route handler: answers through `respond`, at once for refusals and after the
  // audit record is durable for accepted requests.
  void HandleAsync(const http::Request& request, http::Responder respond);
  // HandleAsync, waiting for the answer (for tests and other synchronous callers).
  http::Response Handle(const http::Request& request);

 private:
  struct Counters;

  http::Response Reject(int status, std::string_view reason, std::string_view message,
                        const http::Request& request, std::string_view team);
  // What a request's processing produced: an answer now, or nothing when `respond` will
  // be called once the audit record is durable.
  using Outcome = std::optional<http::Response>;
  // Appends the accepted request's audit record; once durable, answers through
  // `respond` with what `act` returns, `act` running on the connection's I/O thread
  // (http::Response::Deferred), not on the audit writer's; if the append fails, answers
  // 503 and does nothing (nothing may act on an unrecorded request).
  // `who` names the principal in the record (empty when unlinked).
  // `planned` adds intent, slots, action, resource and the policy decision.
  void AuditAccepted(const pipeline::Message& message, std::string_view kind,
                     std::string_view resource, const http::Request& request,
                     const identity::ResolvedIdentity& who, const pipeline::Planned& planned,
                     std::function<http::Response()> act, http::Responder respond);
  // Understands `message` and asks policy about it (on the I/O thread: no network).
  pipeline::Planned PlanFor(const pipeline::Message& message,
                            const identity::ResolvedIdentity& who) const;
  // Who sent `message` (deps_.linker); kNotLinked without linking or on a store error
  // (logged): an unknown asker gets only help and link.
  identity::ResolvedIdentity Resolve(const pipeline::Message& message);
  // The answer to a built-in command from `who`: help and link for everyone, the rest
  // only for linked principals when identity linking is configured; link/unlink do
  // their store work here (on an I/O thread, after the record is durable).
  pipeline::Reply Answer(const pipeline::Message& message, std::string_view invocation,
                         const identity::ResolvedIdentity& who, const pipeline::Planned& planned);
  // An approve/deny button: the clicker's vote on the approval request in its value.
  SlackReply AnswerVote(const pipeline::Message& message, const BlockAction& action,
                        const identity::ResolvedIdentity& who);
  // Posts an approval request to the approvers' channel; returns where (for the
  // requester), empty if it could not be posted.
  std::string AskApprovers(const pipeline::Message& origin, const pipeline::Reply& ask);
  Outcome Process(const http::Request& request, SlashCommand command, http::Responder& respond);
  Outcome Process(const http::Request& request, EventCallback event, http::Responder& respond);
  Outcome Process(const http::Request& request, BlockActions actions, http::Responder& respond);
  // Marks (scope, key) in the replay memory without holding the I/O thread; `next`
  // gets whether this is its first sighting. Fails closed: a store error answers 503.
  void Remember(std::string_view scope, std::string key, std::chrono::seconds ttl,
                std::shared_ptr<const http::Request> request, std::string team,
                std::function<void(bool first, http::Responder)> next, http::Responder respond);
  // Whether a post to `response_url` fits Slack's allowance (kResponseUrlPosts per URL
  // within 30 minutes), counting it if so; progress reports leave the last post for
  // the result.
  bool TakeResponseUrlPost(const std::string& response_url, bool progress);
  // Remember's second half, on an I/O thread: 503 on a store error, else `next`.
  void Remembered(core::Result<bool> first, const http::Request& request, std::string_view team,
                  const std::function<void(bool first, http::Responder)>& next,
                  http::Responder respond);
  bool TeamAllowed(std::string_view team) const;
  // `message` with every shown text passed through the redactor: nothing a reply
  // carries leaves the process unredacted.
  SlackMessage Redacted(const SlackMessage& message) const;
  // A slash command's answer as the body of its 200 acknowledgement (Slack's
  // "immediate response": response_type, text, blocks), so no response_url post is
  // needed; an empty 200 if it cannot be rendered (logged).
  http::Response AnswerInAck(const SlackReply& reply, std::string_view correlation_id);
  // Reply paths run after the request is on record (on an I/O thread, or on the worker
  // that finished a slow action).
  void ReplyToResponseUrl(const pipeline::Message& message, const SlackReply& reply,
                          std::string_view correlation_id);
  void PostMessage(const pipeline::Message& message, const SlackReply& reply,
                   std::string_view correlation_id);
  void Deliver(http::OutboundRequest out, std::string_view target, bool web_api,
               std::string_view correlation_id, const pipeline::Message& message);
  // Verifies, parses and dispatches; an answer now, or nullopt when `respond` was handed on.
  Outcome Route(const http::Request& request, http::Responder& respond);

  const SlackSettings settings_;
  const std::string api_origin_;  // scheme://host[:port] of api_url
  ConnectorDeps& deps_;
  std::shared_ptr<Counters> counters_;
  // Posts made to each response_url of a slow action's asker, and when the first was
  // (entries go after 30 minutes, when Slack's URL expires anyway).
  struct ResponseUrlPosts {
    int posts = 0;
    core::Clock::SteadyTime first{};
  };
  std::mutex response_url_mu_;
  // Guarded by response_url_mu_.
  std::unordered_map<std::string, ResponseUrlPosts> response_url_posts_;
};

class SlackConnectorFactory final : public ConnectorFactory {
 public:
  std::string_view Name() const override { return "slack"; }
  // connectors.slack is present and enabled is not false.
  bool Enabled(const config::Config& config) const override;
  // Resolves the secrets. enabled: true -> an error when the signing secret (or a
  // configured bot token) cannot be resolved; enabled: auto -> a warning log
  // ("slack connector off: <why>") and no connector.
  [[nodiscard]] core::Result<std::unique_ptr<Connector>> Create(const config::Config& config,
                                                                ConnectorDeps& deps) override;
};

}  // namespace opsgate::connectors::slack
