// File: opsgate/pipeline/message.h
//
// The data that travels the request path (DESIGN.md §1): a Message parsed by a
// connector, then enriched stage by stage in a Context. Plain values, no behaviour.
//
// Thread-safety: value types; a Context belongs to one request at a time.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/pipeline/reply.h"

namespace opsgate::pipeline {

// Where and how an answer goes back. Each connector fills what its platform needs.
struct ReplyTarget {
  std::string channel_id;    // channel / chat / conversation id
  std::string thread_id;     // thread or parent message, if any
  std::string response_url;  // Slack response_url and similar one-shot callbacks
  bool ephemeral = false;    // only the asker should see the answer
};

// One request from a person, as the connector understood it. Everything here came
// from the platform and is untrusted text, except what the connector verified
// (the platform signature vouches for workspace, user and text).
struct Message {
  std::string correlation_id;  // from the edge to the audit record to the AWS call
  std::string platform;        // "slack", "teams", "telegram", "webchat", ...
  std::string workspace_id;    // Slack team_id, Teams tenant, ...
  std::string user_id;         // the platform's user id
  std::string user_name;       // display/handle, for messages only (never for decisions)
  std::string text;            // what the person typed, command prefix removed
  std::string event_id;        // the platform's id for dedupe (event_id, update_id, ...)
  bool is_direct = false;      // a direct message with the bot (Slack IM, the web chat)
  // The platform's word on whether the conversation includes people from outside the
  // workspace (shared channels, guests); nullopt when it did not say. Policy
  // channel_posture reads it.
  std::optional<bool> channel_external;
  core::Clock::WallTime received_at{};
  ReplyTarget reply_to;
};

// Who is asking, once identity resolved the platform user (DESIGN.md §1 "identity").
struct Principal {
  std::string issuer;               // OIDC issuer, or "local" for opsgate's own accounts
  std::string subject;              // enterprise identity (OIDC sub / local user name)
  std::string email;                // if the provider sent one
  std::vector<std::string> groups;  // from the identity provider
  std::vector<std::string> roles;   // opsgate roles ("admin" for local administrators)
  std::optional<core::Clock::WallTime> linked_until;  // link expiry (chat platforms)
  std::optional<core::Clock::WallTime> mfa_at;        // last MFA, if any

  // "issuer|subject": how audit records name the principal.
  std::string Id() const { return issuer + "|" + subject; }
};

// What they want (DESIGN.md §1 "intents").
struct Intent {
  std::string name;                           // "ec2.stop_instance"
  std::map<std::string, std::string> slots;   // "instance_id" -> "i-0abc1234"
  double confidence = 0;                      // 1.0 for deterministic command syntax
};

// Whether they may (DESIGN.md §1 "policy").
struct Decision {
  enum class Effect {
    kAllow,          // go ahead
    kDeny,           // refused; `statement` says by what (or "default deny")
    kNeedsMfa,       // allowed after a fresh MFA step-up
    kNeedsApproval,  // allowed after another person approves (four eyes)
  };
  Effect effect = Effect::kDeny;
  std::string statement;  // the policy statement that decided
  std::string reason;     // human-readable explanation
};

// Everything the stages know about one request.
struct Context {
  Message message;
  std::optional<Principal> principal;
  std::optional<Intent> intent;
  std::optional<Decision> decision;
  std::optional<Reply> reply;
};

}  // namespace opsgate::pipeline
