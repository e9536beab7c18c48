#include "opsgate/connectors/slack/block_kit.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <string>

namespace opsgate::connectors::slack {
namespace {

namespace json = boost::json;

// Compares JSON by value (key order and whitespace do not matter).
void ExpectJsonEq(const core::Result<std::string>& actual, std::string_view expected) {
  ASSERT_TRUE(actual.has_value()) << actual.error();
  boost::system::error_code ec;
  const json::value a = json::parse(*actual, ec);
  ASSERT_FALSE(ec) << "actual is not JSON: " << *actual;
  const json::value e = json::parse(json::string_view(expected.data(), expected.size()), ec);
  ASSERT_FALSE(ec) << "expected is not JSON (test bug): " << expected;
  EXPECT_EQ(a, e) << "actual:   " << json::serialize(a) << "\nexpected: " << json::serialize(e);
}

json::value Parse(const core::Result<std::string>& r) {
  EXPECT_TRUE(r.has_value()) << r.error();
  return r ? json::parse(*r) : json::value();
}

void ExpectInvalid(const core::Result<std::string>& r, std::string_view part) {
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find(part), std::string::npos) << r.error();
}

TEST(SlackBlockKit, EscapesMrkdwnControlCharacters) {
  EXPECT_EQ(EscapeMrkdwn("a & b <@U123> <!channel> <https://x|y> *bold*"),
            "a &amp; b &lt;@U123&gt; &lt;!channel&gt; &lt;https://x|y&gt; *bold*");
  EXPECT_EQ(EscapeMrkdwn(""), "");
}

TEST(SlackBlockKit, UserMentionOnlyForWellFormedIds) {
  EXPECT_EQ(UserMention("U0LAN0Z89"), "<@U0LAN0Z89>");
  EXPECT_EQ(UserMention("U1> <!channel"), "U1&gt; &lt;!channel");
  EXPECT_EQ(UserMention("u1"), "u1");
  EXPECT_EQ(UserMention(""), "");
}

TEST(SlackBlockKit, PlainTextResponse) {
  ExpectJsonEq(SlackMessage("done <3 & more").ToResponseUrlJson(),
               R"({"response_type":"ephemeral","replace_original":false,
                   "text":"done &lt;3 &amp; more"})");
  ExpectJsonEq(SlackMessage("hi").ToResponseUrlJson({ResponseType::kInChannel, true}),
               R"({"response_type":"in_channel","replace_original":true,"text":"hi"})");
  // A slash command answered in its acknowledgement: no replace_original there.
  ExpectJsonEq(SlackMessage("pong").ToImmediateResponseJson(ResponseType::kEphemeral),
               R"({"response_type":"ephemeral","text":"pong"})");
  ExpectJsonEq(SlackMessage("a & b").ToImmediateResponseJson(ResponseType::kInChannel),
               R"({"response_type":"in_channel","text":"a &amp; b"})");
  EXPECT_FALSE(SlackMessage("").ToImmediateResponseJson(ResponseType::kEphemeral).has_value());
}

TEST(SlackBlockKit, SectionsCodeContextAndDivider) {
  SlackMessage m("Instance i-0abc stopped");
  m.Section("Stopped *i-0abc* for <@U1>")
      .CodeBlock("State: stopped\nowner <root>")
      .Divider()
      .Context("Requested by steve");
  ExpectJsonEq(m.ToResponseUrlJson(), R"({
    "response_type":"ephemeral","replace_original":false,
    "text":"Instance i-0abc stopped",
    "blocks":[
      {"type":"section","text":{"type":"mrkdwn","text":"Stopped *i-0abc* for &lt;@U1&gt;"}},
      {"type":"section","text":{"type":"mrkdwn",
                                "text":"```\nState: stopped\nowner &lt;root&gt;\n```"}},
      {"type":"divider"},
      {"type":"context","elements":[{"type":"mrkdwn","text":"Requested by steve"}]}
    ]})");
}

TEST(SlackBlockKit, RedactTextCoversEveryShownTextAndKeepsStructureAndLimits) {
  const auto redact = [](std::string_view text) {
    std::string out(text);
    for (size_t at; (at = out.find("AKIA")) != std::string::npos;) {
      out.replace(at, 4, "[redacted:aws_access_key]");
    }
    return out;
  };
  SlackMessage m("key AKIA in fallback");
  m.Section("section AKIA")
      .CodeBlock("code AKIA")
      .Context("context AKIA")
      .Actions({ApproveButton("v", ConfirmDialog{"Sure?", "dialog AKIA", "Yes", "No"})});
  m.RedactText(redact);
  const auto body = m.ToResponseUrlJson();
  ASSERT_TRUE(body.has_value()) << body.error();
  EXPECT_EQ(body->find("AKIA"), std::string::npos) << *body;
  const json::value v = Parse(body);
  EXPECT_EQ(v.at("text").as_string(), "key [redacted:aws_access_key] in fallback");
  EXPECT_EQ(v.at("blocks").at(1).at("text").at("text").as_string(),
            "```\ncode [redacted:aws_access_key]\n```");
  EXPECT_EQ(v.at("blocks").at(3).at("elements").at(0).at("confirm").at("text").at("text")
                .as_string(),
            "dialog [redacted:aws_access_key]");

  // A section at its limit stays within it after markers made it longer.
  SlackMessage full("f");
  full.Section(std::string(2996, 'x') + "AKIA");
  full.RedactText(redact);
  const json::value f = Parse(full.ToResponseUrlJson());
  const std::string text(f.at("blocks").at(0).at("text").at("text").as_string());
  EXPECT_EQ(text.find("AKIA"), std::string::npos);
  EXPECT_LE(text.size(), 3000u + 2) << "cut to 3000 characters (the ellipsis is 3 bytes)";
}

TEST(SlackBlockKit, SectionMrkdwnIsNotEscapedAgain) {
  SlackMessage m("x");
  m.SectionMrkdwn(UserMention("U1") + " stopped " + EscapeMrkdwn("<i-1>"));
  const json::value v = Parse(m.ToResponseUrlJson());
  EXPECT_EQ(v.at("blocks").at(0).at("text").at("text").as_string(), "<@U1> stopped &lt;i-1&gt;");
}

TEST(SlackBlockKit, ConfirmCancelButtonsWithDialog) {
  SlackMessage m("Stop i-0abc123?");
  m.Section("Stop *i-0abc123* in eu-west-1?")
      .Actions({ConfirmButton("dlg-42", ButtonStyle::kDanger,
                              ConfirmDialog{"Stop instance?", "This stops <i-0abc123>.", "Stop it",
                                            "Keep it", ButtonStyle::kDanger}),
                CancelButton("dlg-42")},
               "confirm-dlg-42");
  ExpectJsonEq(m.ToResponseUrlJson(), R"({
    "response_type":"ephemeral","replace_original":false,
    "text":"Stop i-0abc123?",
    "blocks":[
      {"type":"section","text":{"type":"mrkdwn","text":"Stop *i-0abc123* in eu-west-1?"}},
      {"type":"actions","block_id":"confirm-dlg-42","elements":[
        {"type":"button","text":{"type":"plain_text","text":"Confirm","emoji":true},
         "action_id":"opsgate.confirm","value":"dlg-42","style":"danger",
         "confirm":{"title":{"type":"plain_text","text":"Stop instance?","emoji":true},
                    "text":{"type":"mrkdwn","text":"This stops &lt;i-0abc123&gt;."},
                    "confirm":{"type":"plain_text","text":"Stop it","emoji":true},
                    "deny":{"type":"plain_text","text":"Keep it","emoji":true},
                    "style":"danger"}},
        {"type":"button","text":{"type":"plain_text","text":"Cancel","emoji":true},
         "action_id":"opsgate.cancel","value":"dlg-42"}
      ]}
    ]})");
}

TEST(SlackBlockKit, ApproveDenyButtons) {
  SlackMessage m("Approval needed");
  m.Actions({ApproveButton("req-7"), DenyButton("req-7")});
  const json::value v = Parse(m.ToResponseUrlJson({ResponseType::kInChannel}));
  const auto& elements = v.at("blocks").at(0).at("elements").as_array();
  ASSERT_EQ(elements.size(), 2u);
  EXPECT_EQ(elements[0].at("action_id").as_string(), kApproveActionId);
  EXPECT_EQ(elements[0].at("style").as_string(), "primary");
  EXPECT_EQ(elements[0].at("value").as_string(), "req-7");
  EXPECT_EQ(elements[1].at("action_id").as_string(), kDenyActionId);
  EXPECT_EQ(elements[1].at("style").as_string(), "danger");
  EXPECT_EQ(v.at("blocks").at(0).as_object().count("block_id"), 0u);
}

TEST(SlackBlockKit, PostMessageEnvelope) {
  SlackMessage m("Payments API is healthy");
  m.Section("Payments API is *healthy*");
  ExpectJsonEq(m.ToPostMessageJson("C123", "1515449522.000016"), R"({
    "channel":"C123","thread_ts":"1515449522.000016",
    "text":"Payments API is healthy",
    "blocks":[{"type":"section","text":{"type":"mrkdwn","text":"Payments API is *healthy*"}}],
    "unfurl_links":false,"unfurl_media":false})");
  ExpectJsonEq(SlackMessage("hi").ToPostMessageJson("D1"),
               R"({"channel":"D1","text":"hi","unfurl_links":false,"unfurl_media":false})");
  ExpectInvalid(SlackMessage("hi").ToPostMessageJson(""), "needs a channel");
}

TEST(SlackBlockKit, DeleteOriginal) {
  ExpectJsonEq(DeleteOriginalJson(), R"({"delete_original":true})");
}

TEST(SlackBlockKit, UserTextCannotBreakJsonOrMarkup) {
  const std::string hostile = "\"}],\"x\":1,\"blocks\":[{ <!here> \\ \n\t\x01 \xff\xfe end";
  SlackMessage m(hostile);
  m.Section(hostile).CodeBlock(hostile).Context(hostile);
  const json::value v = Parse(m.ToResponseUrlJson());
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.as_object().size(), 4u);  // response_type, replace_original, text, blocks
  const std::string text(v.at("text").as_string());
  EXPECT_EQ(text.find("<!here>"), std::string::npos);
  EXPECT_NE(text.find("&lt;!here&gt;"), std::string::npos);
  EXPECT_NE(text.find("\xEF\xBF\xBD"), std::string::npos);  // invalid bytes became U+FFFD
  EXPECT_EQ(v.at("blocks").as_array().size(), 3u);
}

TEST(SlackBlockKit, CodeBlockCannotBeClosedFromInside) {
  SlackMessage m("x");
  m.CodeBlock("before ``` after ```` end");
  const json::value v = Parse(m.ToResponseUrlJson());
  const std::string text(v.at("blocks").at(0).at("text").at("text").as_string());
  ASSERT_GE(text.size(), 8u);
  EXPECT_EQ(text.substr(0, 4), "```\n");
  EXPECT_EQ(text.substr(text.size() - 4), "\n```");
  const std::string inner = text.substr(4, text.size() - 8);
  EXPECT_EQ(inner.find("``"), std::string::npos) << inner;
  EXPECT_NE(inner.find("before `\u200b`\u200b` after"), std::string::npos) << inner;
}

TEST(SlackBlockKit, EmptyCodeBlockStillRenders) {
  SlackMessage m("x");
  m.CodeBlock("");
  const json::value v = Parse(m.ToResponseUrlJson());
  EXPECT_EQ(v.at("blocks").at(0).at("text").at("text").as_string(), "```\n(no output)\n```");
}

size_t CountChars(std::string_view s) {
  size_t n = 0;
  for (const char c : s) {
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }
  return n;
}

TEST(SlackBlockKit, LongTextIsCutAtSlackLimits) {
  SlackMessage m(std::string(5000, 'f'));
  m.Section(std::string(2996, 'a') + "&" + std::string(10, 'z'))
      .Section(std::string(2990, 'a') + "&" + std::string(20, 'b'))
      .CodeBlock(std::string(4000, 'c'))
      .Context(std::string(3100, '\xC3'))  // each byte invalid alone: 3100 x U+FFFD
      .Section(std::string(3500, 'b'));
  const json::value v = Parse(m.ToResponseUrlJson());
  const std::string fallback(v.at("text").as_string());
  EXPECT_EQ(CountChars(fallback), 4000u);
  EXPECT_EQ(fallback.substr(fallback.size() - 3), "\u2026");
  const auto& blocks = v.at("blocks").as_array();
  auto text_of = [&](size_t i) { return std::string(blocks[i].at("text").at("text").as_string()); };
  // The cut would split "&amp;": it goes before the entity instead.
  const std::string s0 = text_of(0);
  EXPECT_EQ(s0, std::string(2996, 'a') + "\u2026");
  // A whole entity before the cut stays.
  const std::string s1 = text_of(1);
  EXPECT_EQ(CountChars(s1), 3000u);
  EXPECT_EQ(s1, std::string(2990, 'a') + "&amp;" + std::string(4, 'b') + "\u2026");
  const std::string s2 = text_of(2);
  EXPECT_EQ(CountChars(s2), 3000u);
  EXPECT_EQ(s2.substr(s2.size() - 4), "\n```");
  EXPECT_EQ(CountChars(std::string(blocks[3].at("elements").at(0).at("text").as_string())), 3000u);
  EXPECT_EQ(CountChars(text_of(4)), 3000u);
}

TEST(SlackBlockKit, LimitsOnValuesOpsgateChoosesAreErrors) {
  {
    SlackMessage m("x");
    m.Actions({Button{std::string(76, 'l'), "a", "", ButtonStyle::kDefault, std::nullopt}});
    ExpectInvalid(m.ToResponseUrlJson(), "button text must be 1..75 characters");
  }
  {
    SlackMessage m("x");
    m.Actions({Button{"ok", std::string(256, 'a'), "", ButtonStyle::kDefault, std::nullopt}});
    ExpectInvalid(m.ToResponseUrlJson(), "button action_id");
  }
  {
    SlackMessage m("x");
    m.Actions({ConfirmButton(std::string(2001, 'v'))});
    ExpectInvalid(m.ToResponseUrlJson(), "button value");
  }
  {
    SlackMessage m("x");
    m.Actions({ConfirmButton("a"), ConfirmButton("b")});
    ExpectInvalid(m.ToResponseUrlJson(), "appears twice");
  }
  {
    SlackMessage m("x");
    m.Actions({});
    ExpectInvalid(m.ToResponseUrlJson(), "1..25 buttons");
  }
  {
    SlackMessage m("x");
    m.Actions({ConfirmButton("a", ButtonStyle::kDanger,
                             ConfirmDialog{"t", std::string(301, 'x'), "y", "n"})});
    ExpectInvalid(m.ToResponseUrlJson(), "confirm dialog text");
  }
  {
    SlackMessage m("x");
    m.Actions({CancelButton("a")}, std::string(256, 'b'));
    ExpectInvalid(m.ToResponseUrlJson(), "block_id");
  }
  {
    SlackMessage m("x");
    for (int i = 0; i < 51; ++i) {
      m.Divider();
    }
    EXPECT_EQ(m.block_count(), 50u);
    ExpectInvalid(m.ToPostMessageJson("C1"), "at most 50 blocks");
  }
  {
    SlackMessage m("x");
    m.Section("");
    ExpectInvalid(m.ToResponseUrlJson(), "section text is empty");
  }
  ExpectInvalid(SlackMessage("").ToResponseUrlJson(), "no text and no blocks");
}

}  // namespace
}  // namespace opsgate::connectors::slack
