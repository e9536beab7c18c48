// File: opsgate/connectors/slack/commands.h
//
// The built-in commands that make the Slack slice useful before intents and policy
// land (issue 3): `help`, `whoami`, `ping`, and the answers to clicks on opsgate's
// standard buttons (confirm/cancel, approve/deny). Pure functions from what was asked
// to the Block Kit reply; the connector decides where the reply goes.
//
//   SlackReply r = AnswerCommand(message, "/ops", clock.Now());
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
#include "opsgate/core/clock.h"
#include "opsgate/pipeline/message.h"

namespace opsgate::connectors::slack {

struct SlackReply {
  SlackMessage message{""};
  // Only the asker sees it (response_url answers; chat.postMessage ignores it).
  bool ephemeral = true;
  // Replace the message holding the clicked button (response_url answers only).
  bool replace_original = false;
};

// The answer to `message.text` (command prefix or leading mention already removed).
// `invocation` is how the user reaches opsgate, for the help text ("/ops" or
// "@opsgate"). Unknown text gets a reply that says what was not understood and lists
// the commands. Every built-in answer is ephemeral: they concern only the asker.
SlackReply AnswerCommand(const pipeline::Message& message, std::string_view invocation,
                         core::Clock::WallTime now);

// The answer to a click on one of opsgate's buttons (block_kit.h action ids): replaces
// the message that held the button with who chose what. Other action ids get an
// ephemeral "not handled" note and leave the message alone.
SlackReply AnswerAction(const BlockActions& actions);

}  // namespace opsgate::connectors::slack
