// File: opsgate/connectors/slack/payload.h
//
// Parses what Slack POSTs to the app's request URL into typed values, and turns the
// ones a person sent into a pipeline::Message. Three kinds of body arrive:
//
//   1. Slash command: application/x-www-form-urlencoded, fields token, team_id,
//      team_domain, enterprise_id, enterprise_name, channel_id, channel_name, user_id,
//      user_name, command, text, api_app_id, response_url, trigger_id,
//      is_enterprise_install.                                        -> SlashCommand
//   2. Events API: application/json envelope. "url_verification" carries a challenge
//      to echo (-> UrlVerification); "event_callback" wraps an event (-> EventCallback;
//      app_mention and direct messages are actionable, the rest is kIgnored).
//   3. Interactivity: application/x-www-form-urlencoded with one field, `payload`,
//      holding JSON; "block_actions" (button clicks) -> BlockActions; other types
//      (view_submission, shortcut, ...) -> IgnoredPayload.
//
// Call it only after VerifySlackSignature() accepted the raw body: the signature is
// what makes team, user and text trustworthy. Slack's deprecated verification `token`
// field is dropped on purpose (it is a credential; the signature replaces it).
//
// Hostile input is expected even so (a leaked signing secret, a fuzzer): the parser
// never throws or crashes, bounds every size (ParseLimits), decodes form bodies
// strictly (bad %-escapes, invalid UTF-8, NUL, duplicate fields are errors) and
// reports kInvalidArgument with a message naming the field ("missing team_id",
// "payload field is not valid JSON: ..."). Slack's ids are checked to be short and
// made of [A-Za-z0-9._-] only, so they are safe as store keys and log values.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "opsgate/core/result.h"
#include "opsgate/pipeline/message.h"

namespace opsgate::connectors::slack {

struct ParseLimits {
  // Whole body. The route's body limit should be no larger.
  size_t max_body_bytes = 512 * 1024;
  // Form fields; Slack sends about 15 for a command, 1 for interactivity.
  size_t max_form_fields = 64;
  size_t max_field_name_bytes = 64;
  // One decoded form value; the interactivity `payload` holds whole messages.
  size_t max_field_value_bytes = 512 * 1024;
  // JSON nesting (Block Kit rich text nests about 8 deep).
  size_t max_json_depth = 64;
  // Command or message text, in bytes.
  size_t max_text_bytes = 64 * 1024;
  // Actions in one block_actions payload.
  size_t max_actions = 25;
};

// A slash command ("/opsgate stop i-0abc in eu-west-1").
struct SlashCommand {
  std::string team_id;  // required
  std::string team_domain;
  std::string enterprise_id;  // Enterprise Grid only
  std::string channel_id;     // required
  std::string channel_name;
  std::string user_id;    // required
  std::string user_name;  // deprecated by Slack; display only
  std::string command;    // required, e.g. "/opsgate"
  std::string text;       // after the command; may be empty; Slack-escaped (&amp; &lt; &gt;)
  std::string api_app_id;
  std::string response_url;  // required, https://
  std::string trigger_id;    // required; unique per invocation (used as the event id)
  bool is_enterprise_install = false;
};

// Events API URL verification: answer 200 with `challenge` as the body.
struct UrlVerification {
  std::string challenge;  // 1..1024 printable ASCII characters
};

enum class EventKind {
  // Someone mentioned the app in a channel ("<@U0LAN0Z89> status payments").
  kAppMention,
  // A person's direct message to the app (message event, channel_type "im").
  kDirectMessage,
  // Anything else: other event types, bot messages (our own replies included), edits,
  // deletions, messages in channels. Acknowledge with 200 and do nothing.
  kIgnored,
};

// An Events API event_callback.
struct EventCallback {
  std::string team_id;  // required
  std::string api_app_id;
  std::string event_id;    // required; Slack's id for dedupe ("Ev0123ABCD")
  int64_t event_time = 0;  // Unix seconds, 0 if absent
  std::string event_type;  // event.type: "app_mention", "message", ...
  EventKind kind = EventKind::kIgnored;
  std::string ignore_reason;  // for kIgnored: "event type reaction_added", "bot message", ...
  // The inner event; set for kAppMention and kDirectMessage (best effort otherwise).
  std::string user;
  std::string channel;
  std::string channel_type;
  std::string text;       // as Slack sent it (mention markup and &amp; escapes included)
  std::string ts;         // the message's timestamp id
  std::string thread_ts;  // parent message if the message is in a thread
  std::string subtype;
  std::string bot_id;
  // The envelope's is_ext_shared_channel: true when the event happened in a channel
  // shared with another organization (Slack Connect); nullopt when absent or null.
  // Slack says nothing here about guest accounts in the channel.
  std::optional<bool> is_ext_shared_channel;
};

// One element of a block_actions payload (a button click).
struct BlockAction {
  std::string type;       // "button", "static_select", ...
  std::string action_id;  // required
  std::string block_id;
  std::string value;  // the button's value; empty for elements without one
  std::string action_ts;
};

// An interactivity block_actions payload.
struct BlockActions {
  std::string team_id;  // team.id, or user.team_id for org-wide apps; required
  std::string enterprise_id;
  std::string api_app_id;
  std::string user_id;               // required
  std::string user_name;             // user.username (or user.name)
  std::string channel_id;            // channel.id or container.channel_id; empty in App Home/modals
  std::string response_url;          // empty when Slack sends none (modals, App Home)
  std::string trigger_id;            // required; unique per interaction (used as the event id)
  std::string message_ts;            // container.message_ts: the message holding the buttons
  std::string thread_ts;             // container.thread_ts, if that message is in a thread
  bool is_ephemeral = false;         // container.is_ephemeral
  std::vector<BlockAction> actions;  // at least one
};

// A well-formed payload opsgate does not act on (app_rate_limited, view_submission,
// shortcut, ...). Acknowledge with 200.
struct IgnoredPayload {
  std::string type;
};

using SlackPayload =
    std::variant<SlashCommand, UrlVerification, EventCallback, BlockActions, IgnoredPayload>;

// Parses a Slack request body. `content_type` is the Content-Type header (parameters
// such as charset are ignored; type names are case-insensitive).
// Errors: kInvalidArgument, always (so that the connector answers 400), for an
// unsupported content type, a malformed body, a missing or mistyped required field, or
// a ParseLimits bound exceeded.
[[nodiscard]] core::Result<SlackPayload> ParseSlackPayload(std::string_view content_type,
                                                           std::string_view body,
                                                           const ParseLimits& limits = {});

// Strict application/x-www-form-urlencoded decoding: '&'-separated name=value pairs,
// '+' is a space, %XX escapes (either case). Empty pieces ("a=1&&b=2", a trailing '&')
// are skipped. Errors (kInvalidArgument): a piece without '=', an empty name, a bad
// %-escape, a decoded NUL or invalid UTF-8, a duplicate name, too many fields or an
// oversized name/value.
[[nodiscard]] core::Result<std::vector<std::pair<std::string, std::string>>> ParseFormUrlEncoded(
    std::string_view body, const ParseLimits& limits = {});

// Removes one leading user mention ("<@U0LAN0Z89>" or "<@U0LAN0Z89|opsgate>") and the
// whitespace around it; anything else is returned trimmed but unchanged.
std::string StripLeadingMention(std::string_view text);

// Undoes Slack's message escaping: &amp; &lt; &gt; become & < > (nothing else).
std::string UnescapeSlackText(std::string_view text);

// True if `url` is an https URL on Slack's webhook hosts (hooks.slack.com or
// hooks.slack-gov.com), where response_url points. Check before posting to a
// response_url, so a forged payload cannot turn opsgate into an HTTP client for
// arbitrary hosts.
bool IsSlackResponseUrl(std::string_view url);

// The Message for a payload a person sent: a slash command, an app mention, a direct
// message or a block action; nullopt for UrlVerification, IgnoredPayload and kIgnored
// events. platform "slack", workspace_id = team id, text unescaped (see
// UnescapeSlackText), event_id = Slack's event_id, or "command:<trigger_id>" /
// "action:<trigger_id>" for commands and actions, which have none. correlation_id and
// received_at are left empty for the connector to fill.
//   slash command  text = command text; reply ephemeral via response_url.
//   app mention    text without the leading bot mention; reply in the thread of the
//                  mention (thread_ts, else the message's ts).
//   direct message reply in the DM (in its thread if it has one).
//   channel_external: an event's is_ext_shared_channel; slash commands and block
//   actions do not carry it (nullopt).
//   block action   text = "<action_id> <value>" of the first action (just the
//                  action_id if it has no value); reply via response_url, ephemeral
//                  if the message with the buttons was.
std::optional<pipeline::Message> ToMessage(const SlackPayload& payload);
pipeline::Message ToMessage(const SlashCommand& command);
std::optional<pipeline::Message> ToMessage(const EventCallback& event);
pipeline::Message ToMessage(const BlockActions& actions);

}  // namespace opsgate::connectors::slack
