#include "opsgate/connectors/slack/commands.h"

#include <gtest/gtest.h>

namespace opsgate::connectors::slack {
namespace {

pipeline::Message Asked(std::string text) {
  pipeline::Message m;
  m.platform = "slack";
  m.workspace_id = "T0TEAM";
  m.user_id = "U0USER";
  m.user_name = "ada";
  m.text = std::move(text);
  return m;
}

std::string Json(const SlackReply& r) {
  auto body = r.message.ToResponseUrlJson();
  EXPECT_TRUE(body.has_value());
  return body.value_or("");
}

const core::Clock::WallTime kNow{std::chrono::seconds(1'790'000'000)};

TEST(SlackCommands, HelpListsTheCommands) {
  for (const char* text : {"help", "", "  HELP  "}) {
    const std::string json = Json(AnswerCommand(Asked(text), "/ops", kNow));
    EXPECT_NE(json.find("/ops whoami"), std::string::npos) << text;
    EXPECT_NE(json.find("/ops ping"), std::string::npos);
  }
}

TEST(SlackCommands, WhoAmIShowsPlatformIdsAndNoLinkedIdentityYet) {
  const SlackReply r = AnswerCommand(Asked("whoami"), "/ops", kNow);
  EXPECT_TRUE(r.ephemeral);
  const std::string json = Json(r);
  for (const char* want : {"slack", "T0TEAM", "U0USER", "ada", "not linked yet"}) {
    EXPECT_NE(json.find(want), std::string::npos) << want;
  }
}

TEST(SlackCommands, PingAnswersPongWithTheGatewayTime) {
  const std::string json = Json(AnswerCommand(Asked("ping"), "/ops", kNow));
  EXPECT_NE(json.find("pong"), std::string::npos);
  EXPECT_NE(json.find("2026-09-21T"), std::string::npos) << json;
}

TEST(SlackCommands, UnknownTextSaysWhatWasNotUnderstoodWithoutMarkup) {
  const std::string json = Json(AnswerCommand(Asked("stop <!channel> now"), "/ops", kNow));
  EXPECT_NE(json.find("did not understand"), std::string::npos);
  EXPECT_EQ(json.find("<!channel>"), std::string::npos) << json;
  EXPECT_NE(json.find("/ops help"), std::string::npos);
}

TEST(SlackCommands, ClicksOnOurButtonsReplaceTheMessage) {
  BlockActions a;
  a.user_id = "U0USER";
  a.actions.push_back({"button", std::string(kCancelActionId), "b", "dlg-1", "1.0"});
  const SlackReply r = AnswerAction(a);
  EXPECT_TRUE(r.replace_original);
  EXPECT_NE(Json(r).find("cancelled"), std::string::npos);
  a.actions[0].action_id = "someone.else";
  EXPECT_FALSE(AnswerAction(a).replace_original);
}

}  // namespace
}  // namespace opsgate::connectors::slack
