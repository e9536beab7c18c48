#include "opsgate/connectors/slack/commands.h"

#include <cctype>
#include <string>

#include "opsgate/core/strings.h"
#include "opsgate/telemetry/log.h"

namespace opsgate::connectors::slack {
namespace {

constexpr size_t kMaxEchoedChars = 200;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string CommandList(std::string_view invocation) {
  const std::string p = EscapeMrkdwn(invocation);
  return "`" + p + " help` — this list\n" + "`" + p +
         " whoami` — who opsgate thinks you are (platform ids, linked identity)\n" + "`" + p +
         " ping` — check that opsgate answers, with its clock";
}

SlackReply Help(std::string_view invocation) {
  SlackReply r;
  r.message = SlackMessage("opsgate commands: help, whoami, ping");
  r.message.SectionMrkdwn("*opsgate* understands these commands:")
      .SectionMrkdwn(CommandList(invocation))
      .Context("Operational commands arrive with intents and policy.");
  return r;
}

SlackReply WhoAmI(const pipeline::Message& m) {
  SlackReply r;
  r.message = SlackMessage("You are " + m.user_id + " in workspace " + m.workspace_id);
  r.message.SectionMrkdwn("*Who you are to opsgate*")
      .SectionMrkdwn("*platform:* " + EscapeMrkdwn(m.platform) + "\n*team id:* " +
                     EscapeMrkdwn(m.workspace_id) + "\n*user id:* " + EscapeMrkdwn(m.user_id) +
                     "\n*user name:* " +
                     (m.user_name.empty() ? std::string("(not sent by Slack)")
                                          : EscapeMrkdwn(m.user_name)) +
                     "\n*linked identity:* not linked yet (identity linking arrives with OIDC)");
  return r;
}

SlackReply Ping(core::Clock::WallTime now) {
  SlackReply r;
  const std::string when = telemetry::FormatTimestamp(now);
  r.message = SlackMessage("pong (gateway time " + when + ")");
  r.message.SectionMrkdwn(":white_check_mark: *pong*").Context("gateway time " + when);
  return r;
}

SlackReply NotUnderstood(std::string_view text, std::string_view invocation) {
  std::string shown(text.substr(0, kMaxEchoedChars));
  if (text.size() > kMaxEchoedChars) {
    shown += "…";
  }
  SlackReply r;
  r.message = SlackMessage("I did not understand \"" + shown + "\". Try help.");
  r.message.Section("I did not understand \"" + shown + "\".")
      .SectionMrkdwn(CommandList(invocation));
  return r;
}

}  // namespace

SlackReply AnswerCommand(const pipeline::Message& message, std::string_view invocation,
                         core::Clock::WallTime now) {
  const std::string_view text = core::Trim(message.text);
  const size_t space = text.find_first_of(" \t\n");
  const std::string verb = Lower(text.substr(0, space));
  const std::string_view rest =
      space == std::string_view::npos ? std::string_view() : core::Trim(text.substr(space));
  if (verb.empty() || (verb == "help" && rest.empty())) {
    return Help(invocation);
  }
  if (verb == "whoami" && rest.empty()) {
    return WhoAmI(message);
  }
  if (verb == "ping" && rest.empty()) {
    return Ping(now);
  }
  return NotUnderstood(text, invocation);
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
