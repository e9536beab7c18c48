#include "opsgate/connectors/slack/commands.h"

#include <gtest/gtest.h>

#include "opsgate/pipeline/builtins.h"

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

SlackReply Builtin(const std::string& text, bool linking = false) {
  return RenderReply(pipeline::AnswerBuiltin(pipeline::ParseBuiltin(text), Asked(text),
                                             std::nullopt, {"/ops", kNow, linking}));
}

TEST(SlackCommands, HelpListsTheCommands) {
  for (const char* text : {"help", "", "  HELP  "}) {
    const std::string json = Json(Builtin(text));
    EXPECT_NE(json.find("/ops whoami"), std::string::npos) << text;
    EXPECT_NE(json.find("/ops ping"), std::string::npos);
  }
}

TEST(SlackCommands, WhoAmIShowsPlatformIdsAndNoLinkedIdentity) {
  const SlackReply r = Builtin("whoami");
  EXPECT_TRUE(r.ephemeral);
  const std::string json = Json(r);
  for (const char* want : {"slack", "T0TEAM", "U0USER", "ada", "not linked"}) {
    EXPECT_NE(json.find(want), std::string::npos) << want;
  }
}

TEST(SlackCommands, PingAnswersPongWithTheGatewayTime) {
  const std::string json = Json(Builtin("ping"));
  EXPECT_NE(json.find("pong"), std::string::npos);
  EXPECT_NE(json.find("2026-09-21T"), std::string::npos) << json;
}

TEST(SlackCommands, UnknownTextSaysWhatWasNotUnderstoodWithoutMarkup) {
  const std::string json = Json(Builtin("stop <!channel> now"));
  EXPECT_NE(json.find("did not understand"), std::string::npos);
  EXPECT_EQ(json.find("<!channel>"), std::string::npos) << json;
  EXPECT_NE(json.find("/ops help"), std::string::npos);
}

TEST(SlackCommands, RendersEveryReplyBlockKind) {
  pipeline::Reply reply("summary <b>");
  reply.Heading("Head *1*")
      .Text("plain <@U1>")
      .Code("out `x`")
      .Fields({{"k", "v&w"}})
      .Link("Open", "https://gw.example/auth/login?t=abc")
      .Link("Bad", "javascript:alert(1)")
      .Note("small")
      .Buttons({{pipeline::ReplyButton::Kind::kApprove, "req-1"},
                {pipeline::ReplyButton::Kind::kDeny, "req-1"}});
  reply.ephemeral = false;
  const SlackReply r = RenderReply(reply);
  EXPECT_FALSE(r.ephemeral);
  const std::string json = Json(r);
  EXPECT_NE(json.find("summary &lt;b&gt;"), std::string::npos) << json;
  EXPECT_NE(json.find("\"*Head *1**\""), std::string::npos) << json;
  EXPECT_NE(json.find("plain &lt;@U1&gt;"), std::string::npos) << json;
  EXPECT_NE(json.find("*k:* v&amp;w"), std::string::npos) << json;
  EXPECT_NE(json.find("<https://gw.example/auth/login?t=abc|Open>"), std::string::npos) << json;
  EXPECT_EQ(json.find("<javascript:"), std::string::npos) << "only https links: " << json;
  EXPECT_NE(json.find("\"type\":\"context\""), std::string::npos) << json;
  EXPECT_NE(json.find(std::string(kApproveActionId)), std::string::npos) << json;
  EXPECT_NE(json.find(std::string(kDenyActionId)), std::string::npos) << json;
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
