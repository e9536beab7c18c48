// File: opsgate/connectors/slack/web_api.h
//
// What opsgate needs to know about Slack's Web API replies. Web API methods such as
// chat.postMessage answer HTTP 200 even when they fail: the verdict is the JSON body,
// {"ok": true, ...} or {"ok": false, "error": "channel_not_found"}. Rate limiting is
// the exception: HTTP 429 with Retry-After (seconds), which http::RetryingSender
// honours before this function ever sees the body.
//
//   http::OutboundRequest req;
//   req.url = std::string(kChatPostMessageUrl);
//   req.headers = {{"Content-Type", "application/json; charset=utf-8"}};
//   req.body = *message.ToPostMessageJson(channel, thread_ts);
//   req.bearer_token = bot_token;  // xoxb-...
//   ... on delivery: if (r && r->status == 200) { auto ok = CheckWebApiResponse(r->body); }
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "opsgate/core/result.h"

namespace opsgate::connectors::slack {

inline constexpr std::string_view kChatPostMessageUrl = "https://slack.com/api/chat.postMessage";

// Maps a Web API JSON reply to a Status. Errors, with Slack's error code in the message
// ("Slack API error channel_not_found"):
//   kUnauthenticated     invalid_auth, not_authed, account_inactive, token_revoked,
//                        token_expired: the bot token is wrong or revoked.
//   kPermissionDenied    missing_scope, not_in_channel, restricted_action, ekm_access_denied,
//                        not_allowed_token_type, team_access_not_granted.
//   kNotFound            channel_not_found, user_not_found, message_not_found.
//   kInvalidArgument     invalid_blocks, invalid_blocks_format, msg_too_long, no_text,
//                        invalid_arguments, too_many_attachments, invalid_json, and a
//                        reply that is not the documented JSON.
//   kResourceExhausted   ratelimited, rate_limited.
//   kUnavailable         internal_error, fatal_error, service_unavailable, request_timeout.
//   kFailedPrecondition  any other error code.
[[nodiscard]] core::Status CheckWebApiResponse(std::string_view body);

}  // namespace opsgate::connectors::slack
