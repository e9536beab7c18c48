#include "opsgate/connectors/slack/commands.h"

#include <cctype>
#include <string>

#include "opsgate/core/strings.h"
#include "opsgate/telemetry/log.h"

namespace opsgate::connectors::slack {
namespace {

// A URL Slack may render as a link: https only, and nothing that would end or break
// the <url|label> markup.
bool LinkableUrl(std::string_view url) {
  if (url.rfind("https://", 0) != 0) {
    return false;
  }
  for (char c : url) {
    if (c == '|' || c == '<' || c == '>' || c == ' ' || static_cast<unsigned char>(c) < 0x21) {
      return false;
    }
  }
  return true;
}

Button ToButton(const pipeline::ReplyButton& b) {
  switch (b.kind) {
    case pipeline::ReplyButton::Kind::kConfirm:
      return ConfirmButton(b.value);
    case pipeline::ReplyButton::Kind::kCancel:
      return CancelButton(b.value);
    case pipeline::ReplyButton::Kind::kApprove:
      return ApproveButton(b.value);
    case pipeline::ReplyButton::Kind::kDeny:
      return DenyButton(b.value);
  }
  return CancelButton(b.value);
}

}  // namespace

SlackReply RenderReply(const pipeline::Reply& reply) {
  SlackReply r;
  r.ephemeral = reply.ephemeral;
  r.replace_original = reply.replace_original;
  r.message = SlackMessage(reply.text);
  for (const pipeline::ReplyBlock& b : reply.blocks) {
    switch (b.kind) {
      case pipeline::ReplyBlock::Kind::kHeading:
        r.message.SectionMrkdwn("*" + EscapeMrkdwn(b.text) + "*");
        break;
      case pipeline::ReplyBlock::Kind::kText:
        r.message.Section(b.text);
        break;
      case pipeline::ReplyBlock::Kind::kCode:
        r.message.CodeBlock(b.text);
        break;
      case pipeline::ReplyBlock::Kind::kFields: {
        std::string lines;
        for (const auto& [label, value] : b.fields) {
          lines += (lines.empty() ? "" : "\n") + ("*" + EscapeMrkdwn(label) + ":* ") +
                   EscapeMrkdwn(value);
        }
        if (!lines.empty()) {
          r.message.SectionMrkdwn(lines);
        }
        break;
      }
      case pipeline::ReplyBlock::Kind::kLink:
        if (LinkableUrl(b.url)) {
          r.message.SectionMrkdwn("<" + b.url + "|" + EscapeMrkdwn(b.text) + ">");
        } else {
          r.message.Section(b.text + ": " + b.url);
        }
        break;
      case pipeline::ReplyBlock::Kind::kNote:
        r.message.Context(b.text);
        break;
      case pipeline::ReplyBlock::Kind::kButtons: {
        std::vector<Button> buttons;
        for (const pipeline::ReplyButton& button : b.buttons) {
          buttons.push_back(ToButton(button));
        }
        r.message.Actions(std::move(buttons));
        break;
      }
    }
  }
  return r;
}

SlackReply AnswerAction(const BlockActions& actions) {
  SlackReply r;
  const BlockAction& a = actions.actions.front();
  const std::string who = UserMention(actions.user_id);
  std::string verdict;
  if (a.action_id == kConfirmActionId) {
    verdict = "confirmed";
  } else if (a.action_id == kCancelActionId) {
    verdict = "cancelled";
  } else if (a.action_id == kApproveActionId) {
    verdict = "approved";
  } else if (a.action_id == kDenyActionId) {
    verdict = "denied";
  }
  if (verdict.empty()) {
    r.message = SlackMessage("opsgate does not handle this button.");
    r.message.Section("opsgate does not handle this button (" + a.action_id + ").");
    return r;
  }
  r.replace_original = true;
  r.ephemeral = actions.is_ephemeral;
  r.message = SlackMessage("Request " + verdict);
  r.message.SectionMrkdwn("Request *" + verdict + "* by " + who + ".")
      .Context("Nothing else runs yet: actions arrive with intents and policy.");
  return r;
}

}  // namespace opsgate::connectors::slack
