// File: opsgate/connectors/slack/commands.h
//
// Slack's side of the built-in commands (pipeline/builtins.h): rendering opsgate's
// platform-neutral replies as Block Kit, and the answers to clicks on opsgate's
// standard buttons (confirm/cancel, approve/deny). The connector decides where the
// reply goes.
//
//   SlackReply r = RenderReply(pipeline::AnswerBuiltin(cmd, message, principal, env));
//   body = r.message.ToResponseUrlJson({r.ephemeral ? kEphemeral : kInChannel});
//
// Text typed by users is escaped by SlackMessage (block_kit.h); nothing here builds
// markup from it.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "opsgate/connectors/slack/block_kit.h"
#include "opsgate/connectors/slack/payload.h"
#include "opsgate/pipeline/message.h"
#include "opsgate/pipeline/reply.h"

namespace opsgate::connectors::slack {

struct SlackReply {
  SlackMessage message{""};
  // Only the asker sees it (response_url answers; chat.postMessage ignores it).
  bool ephemeral = true;
  // Replace the message holding the clicked button (response_url answers only).
  bool replace_original = false;
};

// Block Kit for a neutral reply: heading = bold section, text = section, code = code
// block, fields = "*label:* value" lines, link = a section with a <url|label> link,
// note = context, buttons = an actions block of opsgate's standard buttons.
SlackReply RenderReply(const pipeline::Reply& reply);

// The answer to a click on one of opsgate's buttons (block_kit.h action ids): replaces
// the message that held the button with who chose what. Other action ids get an
// ephemeral "not handled" note and leave the message alone.
SlackReply AnswerAction(const BlockActions& actions);

}  // namespace opsgate::connectors::slack
